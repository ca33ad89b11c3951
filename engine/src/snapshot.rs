//! `Snapshot`: a copy of what the outside world may read of a running plant, taken after a
//! tick. Live Modbus endpoints answer reads from it, so readers never touch the `World` and
//! never hold up the tick.

use std::sync::Arc;

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
    /// Booting after a restart: no answers.
    pub restarting: bool,
    /// Its communications saturated by a flood: no answers.
    pub flooded: bool,
    /// The four Modbus tables as the network sees them (spoofed input registers included).
    pub memory: Memory,
}

impl PlcView {
    /// Why the PLC answers nothing now, if it does not: booting after a restart, or its
    /// communications flooded.
    pub fn silence(&self) -> Option<crate::event::RejectReason> {
        use crate::event::RejectReason;
        if self.restarting {
            Some(RejectReason::Restarting)
        } else if self.flooded {
            Some(RejectReason::Flooded)
        } else {
            None
        }
    }
}

/// What an operator station's displays show.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Live values.
    Live,
    /// Frozen on what it read at one tick (denial of view).
    Frozen(Arc<Readings>),
    /// Nothing (loss of view: wiped, or blanked by malware).
    Blank,
}

/// What an operator station had read when its displays froze.
#[derive(Debug, Clone, PartialEq)]
pub struct Readings {
    /// Tick of the last update.
    pub tick: u64,
    /// Input registers of each PLC as it reported them (spoofs included), by `PlcIdx`.
    pub inputs: Vec<Vec<u16>>,
    /// The field's values then.
    pub field: Arc<Field>,
}

/// The field's values after a tick, as operators see them: measurements, positions, alarms,
/// trips. A snapshot and a frozen display share them.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Measured values, by `SensorIdx` (what operators see; switches as 0 or 1).
    pub sensors: Vec<f64>,
    /// Actuator positions 0..=1, by `ActuatorIdx`.
    pub actuators: Vec<f64>,
    /// Active alarm levels by `AlarmIdx`, one bit per `AlarmLevel::ALL` entry.
    pub alarms: Vec<u8>,
    /// Acknowledged alarms, by `AlarmIdx`.
    pub alarms_acked: Vec<bool>,
    /// Tick each alarm last came on (`None`: never), by `AlarmIdx`.
    pub alarms_since: Vec<Option<u64>>,
    /// Latched interlock trips, by `InterlockIdx`.
    pub tripped: Vec<bool>,
}

impl Field {
    /// The values the field bus carries now.
    pub(crate) fn of(bus: &crate::world::FieldBus) -> Field {
        Field {
            sensors: bus.measured.clone(),
            actuators: bus.actuator_pos.clone(),
            alarms: bus.alarm_active.clone(),
            alarms_acked: bus.alarm_acked.clone(),
            alarms_since: bus.alarm_since.clone(),
            tripped: bus.tripped.clone(),
        }
    }
}

/// The plant as the network sees it after a tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Ticks completed.
    pub tick: u64,
    /// PLCs by `PlcIdx`; a PLC that did not change since the previous snapshot shares its
    /// view with it (`Sim::snapshot_after`).
    pub plcs: Vec<Arc<PlcView>>,
    /// Conduit policies and isolated hosts (defenders change them).
    pub net: NetState,
    /// Length of the event log.
    pub events: u64,
    /// The host the attacker acts from (the live attacker's traffic stands for it).
    pub attacker_host: Option<crate::scenario::HostIdx>,
    /// True values of the process variables, by `VarIdx` (the answer key: instructors only).
    pub vars: Vec<f64>,
    /// The field's values (measurements, positions, alarms, trips).
    pub field: Arc<Field>,
    /// What the operator stations show.
    pub screen: Screen,
    /// Actuators on local control at their field panels (hand position), by `ActuatorIdx`.
    pub local: Vec<Option<f64>>,
}

impl Snapshot {
    /// What the operators read: live values, the values their displays froze on, or nothing.
    pub fn readings(&self) -> Option<Readings> {
        match &self.screen {
            Screen::Live => Some(Readings {
                tick: self.tick,
                inputs: self.plcs.iter().map(|p| p.memory.input.clone()).collect(),
                field: self.field.clone(),
            }),
            Screen::Frozen(r) => Some(Readings::clone(r)),
            Screen::Blank => None,
        }
    }
}
