//! `Snapshot`: a copy of what the outside world may read of a running plant, taken after a
//! tick. Live Modbus endpoints answer reads from it, so readers never touch the `World` and
//! never hold up the tick.

use crate::input::PlcMode;
use crate::network::NetState;
use crate::world::Memory;

/// What one PLC shows on the network.
#[derive(Debug, Clone, PartialEq)]
pub struct PlcView {
    /// Operating mode.
    pub mode: PlcMode,
    /// Listen-only communications (FC 8): no answers.
    pub listen_only: bool,
    /// Booting after a restart, or flooded: no answers.
    pub restarting: bool,
    /// The four Modbus tables as the network sees them (spoofed input registers included).
    pub memory: Memory,
}

/// The plant as the network sees it after a tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Ticks completed.
    pub tick: u64,
    /// PLCs by `PlcIdx`.
    pub plcs: Vec<PlcView>,
    /// Conduit policies and isolated hosts (defenders change them).
    pub net: NetState,
    /// Length of the event log.
    pub events: u64,
    /// The host the attacker acts from (the live attacker's traffic stands for it).
    pub attacker_host: Option<crate::scenario::HostIdx>,
    /// True values of the process variables, by `VarIdx` (the answer key: instructors only).
    pub vars: Vec<f64>,
    /// Measured values, by `SensorIdx` (what operators see; switches as 0 or 1).
    pub sensors: Vec<f64>,
    /// Actuator positions 0..=1, by `ActuatorIdx`.
    pub actuators: Vec<f64>,
    /// Active alarm levels by `AlarmIdx`, one bit per `AlarmLevel::ALL` entry.
    pub alarms: Vec<u8>,
    /// Acknowledged alarms, by `AlarmIdx`.
    pub alarms_acked: Vec<bool>,
    /// Latched interlock trips, by `InterlockIdx`.
    pub tripped: Vec<bool>,
}
