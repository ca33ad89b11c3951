//! Zones, conduits and the firewall decision for one Modbus request.
//!
//! `check_request` is a pure function of the scenario and the current conduit policies, so the
//! live Modbus layer can ask it about reads (which never enter the simulation) and the
//! simulation asks it again for writes at the tick they apply.

use bevy_ecs::prelude::*;

use crate::event::RejectReason;
use crate::scenario::{FirewallPolicy, HostIdx, HostRole, PlcIdx, Scenario};
use crate::snapshot::Screen;

/// The network as defenders have left it: conduit policies (scenario order) and isolated
/// hosts. Starts as the scenario says.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct NetState {
    /// Current policy of each conduit, in `Scenario::conduits` order.
    pub policies: Vec<FirewallPolicy>,
    /// Hosts cut off the network, by `HostIdx`.
    pub isolated: Vec<bool>,
    /// Hosts whose disks were wiped, by `HostIdx`: they send nothing until re-imaged.
    pub wiped: Vec<bool>,
    /// What each host's displays show, by `HostIdx` (operator stations can be frozen or blanked).
    pub screens: Vec<Screen>,
}

impl NetState {
    /// The network of a freshly started scenario.
    pub fn new(scenario: &Scenario) -> NetState {
        NetState {
            policies: scenario.conduits.iter().map(|c| c.policy.clone()).collect(),
            isolated: vec![false; scenario.hosts.len()],
            wiped: vec![false; scenario.hosts.len()],
            screens: vec![Screen::Live; scenario.hosts.len()],
        }
    }

    /// What the operators see: the best of the operator stations (a live one if any is, else a
    /// frozen one, else blank); live in a plant without operator stations. A wiped station is
    /// blank.
    pub fn operator_screen(&self, scenario: &Scenario) -> Screen {
        let rank = |s: &Screen| match s {
            Screen::Live => 0,
            Screen::Frozen(_) => 1,
            Screen::Blank => 2,
        };
        scenario
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.role == HostRole::Hmi)
            .map(|(i, _)| if self.wiped[i] { Screen::Blank } else { self.screens[i].clone() })
            .min_by_key(rank)
            .unwrap_or(Screen::Live)
    }
}

impl NetState {
    /// Whether an operator station (any `hmi` host) reaches PLC `plc` with its polls now: one
    /// of its reads (FC 4, 3, 1, 2 of the first point of each table the PLC maps) passes the
    /// conduits. True in a plant with no operator station.
    pub fn station_reaches(&self, scenario: &Scenario, plc: PlcIdx) -> bool {
        let def = &scenario.plcs[plc.ix()];
        let reads = [
            (4, def.input_registers.first().map(|r| r.addr)),
            (3, def.holding_registers.first().map(|r| r.addr)),
            (1, def.coils.first().map(|r| r.addr)),
            (2, def.discrete_inputs.first().map(|r| r.addr)),
        ];
        let mut stations =
            scenario.hosts.iter().enumerate().filter(|(_, h)| h.role == HostRole::Hmi).peekable();
        if stations.peek().is_none() {
            return true;
        }
        stations.any(|(h, _)| {
            reads.iter().filter_map(|&(function, addr)| Some((function, addr?))).any(|(function, addr)| {
                let source = HostIdx(h as u32);
                let read = Request { source, plc, function, addr, registers: &[], native: None };
                check_request(scenario, self, read).is_ok()
            })
        })
    }
}

/// One Modbus request, as the firewall sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Host the request comes from.
    pub source: HostIdx,
    /// PLC it goes to.
    pub plc: PlcIdx,
    /// Function code.
    pub function: u8,
    /// First address.
    pub addr: u16,
    /// Holding-register values written (raw); empty for reads and coil writes, which the
    /// conduit filters by function code only.
    pub registers: &'a [u16],
    /// The IEC 104 type or OPC UA service of the request, when it is one of those protocols'
    /// (`function` is then the Modbus function it stands for): their rules judge it by this.
    pub native: Option<Native>,
}

/// A request of another protocol than Modbus, as its own rules name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    /// An IEC 104 type identification.
    Iec104(u8),
    /// An OPC UA service (`scenario::opcua::services`).
    OpcUa(u8),
}

impl<'a> Request<'a> {
    /// A Modbus request.
    pub fn modbus(
        source: HostIdx,
        plc: PlcIdx,
        function: u8,
        addr: u16,
        registers: &'a [u16],
    ) -> Request<'a> {
        Request { source, plc, function, addr, registers, native: None }
    }
}

/// Decides whether `source` may open a connection to `plc`: the conduit's policy that governs
/// the connection, `None` inside one zone (not filtered), or why it is refused. An isolated
/// host reaches nothing.
pub fn check_connect<'p>(
    scenario: &Scenario,
    net: &'p NetState,
    source: HostIdx,
    plc: PlcIdx,
) -> Result<Option<&'p FirewallPolicy>, RejectReason> {
    if net.isolated[source.ix()] {
        return Err(RejectReason::HostIsolated);
    }
    if net.wiped[source.ix()] {
        return Err(RejectReason::HostWiped);
    }
    conduit_between(scenario, net, source, scenario.plcs[plc.ix()].zone)
}

/// The policy of the conduit `source` must cross to reach zone `to` (`None` inside its own
/// zone), or why there is none for it.
fn conduit_between<'p>(
    scenario: &Scenario,
    net: &'p NetState,
    source: HostIdx,
    to: crate::scenario::ZoneIdx,
) -> Result<Option<&'p FirewallPolicy>, RejectReason> {
    let from = scenario.hosts[source.ix()].zone;
    if from == to {
        return Ok(None);
    }
    let Some(i) = scenario.conduits.iter().position(|c| c.from == from && c.to == to) else {
        return Err(RejectReason::NoRoute);
    };
    let policy = &net.policies[i];
    if policy.deny_sources.contains(&source)
        || (!policy.allow_sources.is_empty() && !policy.allow_sources.contains(&source))
    {
        return Err(RejectReason::SourceNotAllowed);
    }
    Ok(Some(policy))
}

/// Decides whether host `from` can reach host `to` (remote services, file shares: the path
/// an attacker moves along): not isolated, same zone, or a conduit from `from`'s zone to
/// `to`'s zone that admits `from`.
pub fn check_host_route(
    scenario: &Scenario,
    net: &NetState,
    from: HostIdx,
    to: HostIdx,
) -> Result<(), RejectReason> {
    if net.isolated[from.ix()] || net.isolated[to.ix()] {
        return Err(RejectReason::HostIsolated);
    }
    conduit_between(scenario, net, from, scenario.hosts[to.ix()].zone).map(|_| ())
}

/// Whether one of `rules` admits `req`; if none does, the reason of the rule that came
/// closest (matched the source, then the function, then the address).
fn check_rules(rules: &[crate::scenario::Rule], req: &Request<'_>) -> Result<(), RejectReason> {
    let mut best = RejectReason::SourceNotAllowed;
    let rank = |r: RejectReason| match r {
        RejectReason::SourceNotAllowed => 0,
        RejectReason::FunctionNotAllowed => 1,
        RejectReason::AddressNotAllowed => 2,
        _ => 3,
    };
    for rule in rules {
        let verdict =
            if rule.source.is_some_and(|s| s != req.source) || rule.plc.is_some_and(|p| p != req.plc) {
                RejectReason::SourceNotAllowed
            } else if !rule.iec104.is_empty() || !rule.opcua.is_empty() {
                // A rule of another protocol: the request's type or service, whatever it
                // writes (Modbus is not its).
                match req.native {
                    Some(Native::Iec104(t)) if rule.iec104.contains(&t) => return Ok(()),
                    Some(Native::OpcUa(s)) if rule.opcua.contains(&s) => return Ok(()),
                    _ => RejectReason::FunctionNotAllowed,
                }
            } else if !rule.functions.is_empty() && !rule.functions.contains(&req.function) {
                RejectReason::FunctionNotAllowed
            } else {
                let last = usize::from(req.addr) + req.registers.len().max(1) - 1;
                if req.addr < rule.start || last > usize::from(rule.end) {
                    RejectReason::AddressNotAllowed
                } else if req
                    .registers
                    .iter()
                    .any(|v| rule.min.is_some_and(|m| *v < m) || rule.max.is_some_and(|m| *v > m))
                {
                    RejectReason::ValueNotAllowed
                } else {
                    return Ok(());
                }
            };
        if rank(verdict) > rank(best) {
            best = verdict;
        }
    }
    Err(best)
}

/// Decides whether `req` may pass, on the network as it is now (`net`).
///
/// Traffic inside a zone is not filtered. Across zones it needs a conduit from the source's
/// zone to the PLC's zone, and that conduit's policy must allow the source host, the function
/// code, and for register writes the address and value windows.
pub fn check_request(scenario: &Scenario, net: &NetState, req: Request<'_>) -> Result<(), RejectReason> {
    let Some(policy) = check_connect(scenario, net, req.source, req.plc)? else {
        return Ok(());
    };
    if !policy.allow_functions.is_empty() && !policy.allow_functions.contains(&req.function) {
        return Err(RejectReason::FunctionNotAllowed);
    }
    if !policy.rules.is_empty() {
        check_rules(&policy.rules, &req)?;
    }
    if req.registers.is_empty() {
        return Ok(());
    }
    let windows: Vec<_> = policy.write_ranges.iter().filter(|w| w.plc == req.plc).collect();
    if windows.is_empty() {
        return Ok(());
    }
    for (i, value) in req.registers.iter().enumerate() {
        // Addresses past 65535 cannot be in any window.
        let Some(addr) = u16::try_from(usize::from(req.addr) + i).ok() else {
            return Err(RejectReason::AddressNotAllowed);
        };
        // Every window over the address must admit the value (a defender's restriction adds
        // to the scenario's), and at least one must cover it.
        let mut covering = windows.iter().filter(|w| w.start <= addr && addr <= w.end).peekable();
        if covering.peek().is_none() {
            return Err(RejectReason::AddressNotAllowed);
        }
        if covering.any(|w| w.min.is_some_and(|m| *value < m) || w.max.is_some_and(|m| *value > m)) {
            return Err(RejectReason::ValueNotAllowed);
        }
    }
    Ok(())
}
