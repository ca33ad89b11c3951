//! The network part of a scenario: zones, the conduits between them with their firewall
//! policies, and the hosts that sit in them.

use serde::Serialize;

use super::{HostIdx, PlcIdx, Text, ZoneIdx};

/// Where a zone sits in the Purdue/62443 layering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneLevel {
    /// Enterprise IT.
    Enterprise,
    /// The IT/OT demilitarised zone.
    Dmz,
    /// Supervisory control: HMI, engineering workstation, historian.
    Supervisory,
    /// Basic control: PLCs.
    Control,
    /// Safety instrumented systems.
    Safety,
}

/// A network zone (62443).
#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// Layer.
    pub level: ZoneLevel,
    /// Target security level SL-T (1-4), when set.
    pub security_level: Option<u8>,
}

/// A conduit: the one path between two zones, and its firewall policy.
#[derive(Debug, Clone, Serialize)]
pub struct Conduit {
    /// Id.
    pub id: String,
    /// Zone that opens connections.
    pub from: ZoneIdx,
    /// Zone that accepts them.
    pub to: ZoneIdx,
    /// What the conduit lets through.
    pub policy: FirewallPolicy,
}

/// A conduit's firewall policy. Empty lists mean "no restriction" of that kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FirewallPolicy {
    /// Hosts allowed to open connections through the conduit.
    pub allow_sources: Vec<HostIdx>,
    /// Hosts refused whatever `allow_sources` says (a defender's block).
    pub deny_sources: Vec<HostIdx>,
    /// Modbus function codes allowed through.
    pub allow_functions: Vec<u8>,
    /// Address (and value) windows that writes must fall in.
    pub write_ranges: Vec<WriteRange>,
    /// Fine-grained rules, as an industrial firewall's rule table: when there are any, a
    /// request passes only if one of them admits it.
    pub rules: Vec<Rule>,
}

/// One firewall rule: source host x function codes x PLC x address range x value window.
/// Absent or empty parts match anything.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Source host.
    pub source: Option<HostIdx>,
    /// Function codes.
    pub functions: Vec<u8>,
    /// PLC.
    pub plc: Option<PlcIdx>,
    /// First address, inclusive.
    pub start: u16,
    /// Last address, inclusive.
    pub end: u16,
    /// Smallest raw value a register write may carry.
    pub min: Option<u16>,
    /// Largest raw value a register write may carry.
    pub max: Option<u16>,
    /// IEC 104 type identifications this rule lets through. A rule with any is an IEC 104
    /// rule: it judges only IEC 104 requests, by their type (and source and PLC). A rule with
    /// none judges Modbus requests, and IEC 104 ones as the Modbus requests they stand for.
    pub iec104: Vec<u8>,
    /// OPC UA services this rule lets through (`opcua::SERVICES`): an OPC UA rule, as an
    /// IEC 104 rule is for IEC 104.
    pub opcua: Vec<u8>,
}

/// An address window for writes, optionally with a value window (a set-point range check at the
/// conduit, as an industrial firewall with deep packet inspection does it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteRange {
    /// PLC the window applies to.
    pub plc: PlcIdx,
    /// First address, inclusive.
    pub start: u16,
    /// Last address, inclusive.
    pub end: u16,
    /// Smallest raw value allowed.
    pub min: Option<u16>,
    /// Largest raw value allowed.
    pub max: Option<u16>,
}

/// What a host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostRole {
    /// Operator station.
    Hmi,
    /// Engineering workstation.
    Ews,
    /// Process historian.
    Historian,
    /// Office workstation.
    ItWorkstation,
    /// Any other server.
    Server,
}

/// A host of the simulated network.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// Role.
    pub role: HostRole,
    /// Zone it sits in.
    pub zone: ZoneIdx,
}
