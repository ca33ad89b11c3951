//! Scripted attacks: the checked attack plan of a scenario, and the ATT&CK for ICS techniques
//! it may cite (v18 ids and their v19 successors, per DOMAIN.md 3.1).
//!
//! A plan is a list of steps. Each step has a trigger (time, another step's outcome, a process
//! condition, a defender deadline; all must hold), one action with a real effect in the plant,
//! an optional repeat and an expiry. `systems::attacker` runs the plan.

use serde::{Deserialize, Serialize};

use crate::input::PlcMode;
use crate::scenario::{ActuatorIdx, HostIdx, PlcIdx, SensorIdx, Table, Text, VarIdx};

mod catalogue;
mod reach;
mod zh;

pub use catalogue::{Mitigation, Technique, mitigation, suggest, technique, techniques};
pub use zh::{tactic as tactic_zh, tactic_id};

/// Longest recording a replay attack plays back.
pub const MAX_REPLAY_S: f64 = 600.0;

/// How a finished step ended, or which ending a trigger waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// At least one attempt had its effect.
    Succeeded,
    /// Every attempt was blocked, or the step expired unstarted.
    Failed,
    /// Either (triggers only).
    Completed,
}

/// A condition on the process.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Watched {
    /// A variable's true value.
    Var(VarIdx),
    /// A sensor's measured value.
    Sensor(SensorIdx),
}

/// `watched > above` and/or `watched < below`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Condition {
    /// What is watched.
    pub watched: Watched,
    /// Holds above this.
    pub above: Option<f64>,
    /// Holds below this.
    pub below: Option<f64>,
}

/// "The defenders did (or did not) take this kind of action by this time."
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DefenderCheck {
    /// The `kind` tag of the defender input, e.g. `block_source`.
    pub action: String,
    /// Deadline.
    pub by_tick: u64,
    /// `true`: holds once the action happened before the deadline. `false`: holds at the
    /// deadline if it did not.
    pub done: bool,
}

/// When a step fires: every given part must hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    /// Not before this tick.
    pub at_tick: Option<u64>,
    /// After another step (by index) ended this way.
    pub after: Option<(usize, Outcome)>,
    /// While the process is in this state.
    pub condition: Option<Condition>,
    /// Depending on the defenders.
    pub defender: Option<DefenderCheck>,
}

/// What a step does. Every action is carried out from the attacker's current host, through
/// the same firewall and PLC checks as any other traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Action {
    /// Connect to each PLC and ask for its identity (FC 17 and 43/14).
    Scan(Vec<PlcIdx>),
    /// Read a block of a table.
    Read {
        /// PLC.
        plc: PlcIdx,
        /// Table.
        table: Table,
        /// First address.
        addr: u16,
        /// Quantity.
        count: u16,
    },
    /// Write holding registers (FC 6 or 16).
    WriteRegisters {
        /// PLC.
        plc: PlcIdx,
        /// First address.
        addr: u16,
        /// Raw values.
        values: Vec<u16>,
    },
    /// Write coils (FC 5 or 15).
    WriteCoils {
        /// PLC.
        plc: PlcIdx,
        /// First address.
        addr: u16,
        /// Values.
        values: Vec<bool>,
    },
    /// Change the operating mode over the engineering protocol (FC 90).
    SetMode {
        /// PLC.
        plc: PlcIdx,
        /// Mode.
        mode: PlcMode,
    },
    /// Restart the PLC over the engineering protocol (FC 90).
    Restart {
        /// PLC.
        plc: PlcIdx,
    },
    /// Download a program with these logic blocks removed (FC 90).
    Download {
        /// PLC.
        plc: PlcIdx,
        /// Indices into the PLC's logic.
        disable: Vec<usize>,
        /// Blocks added: (actuator, position, ticks from the download until it acts).
        add: Vec<(ActuatorIdx, f64, u64)>,
    },
    /// From a position between the operators and the PLC, report a false (or frozen) value of
    /// an input register.
    Spoof {
        /// PLC.
        plc: PlcIdx,
        /// Input register address.
        addr: u16,
        /// Raw value reported; `None` freezes the current value.
        value: Option<u16>,
    },
    /// Manipulate a field signal where it enters the PLCs (a hijacked remote I/O, a serial
    /// gateway, a tapped 4-20 mA loop): the PLC logic and the HMI both see the forged
    /// reading while the true value goes its own way (SWaT-style false data; T0832/T0856).
    ForgeSensor {
        /// Sensor.
        sensor: SensorIdx,
        /// Value reported. Absent: the reading freezes (or, with `replay_ticks`, loops).
        value: Option<f64>,
        /// Record this many ticks of genuine readings, then play them back in a loop
        /// (Stuxnet-style replay).
        replay_ticks: Option<u64>,
    },
    /// Overwrite the PLC's firmware with a corrupt image over the engineering protocol
    /// (T0857 / T1693.001): the module is bricked until a spare is fitted.
    ModifyFirmware {
        /// PLC.
        plc: PlcIdx,
    },
    /// Wipe a host's disks (T0809 data destruction): an HMI or engineering workstation
    /// becomes unusable until re-imaged.
    WipeHost(HostIdx),
    /// Freeze an operator station's displays (T0815 denial of view) or blank them (T0829
    /// loss of view) until it is re-imaged.
    DenyView {
        /// Operator station.
        host: HostIdx,
        /// Blank rather than frozen.
        blank: bool,
    },
    /// FC 8 force listen-only mode.
    ListenOnly {
        /// PLC.
        plc: PlcIdx,
    },
    /// Flood the PLC's endpoint with connections and requests, so operators lose view.
    Flood {
        /// PLC.
        plc: PlcIdx,
        /// How long, in simulated seconds.
        seconds: f64,
    },
    /// Move to another host.
    Pivot(HostIdx),
    /// An IEC 104 station interrogation of the PLC's station (T0846, T0861): it learns every
    /// object and its value.
    Iec104Interrogation {
        /// PLC.
        plc: PlcIdx,
    },
    /// An IEC 104 command on one of the station's objects (T0855), as a master sends it:
    /// select first, then execute, when `select`.
    Iec104Command {
        /// PLC.
        plc: PlcIdx,
        /// Type identification (45, 46, 48-50).
        type_id: u8,
        /// Information object address.
        ioa: u32,
        /// State or set point (see `Iec104Def::command`).
        value: f64,
        /// Select before operate.
        select: bool,
    },
    /// An OPC UA write of one of the PLC's variables through its server (T0855, T0836): a set
    /// point or a command bit.
    OpcUaWrite {
        /// PLC.
        plc: PlcIdx,
        /// The point id of the variable.
        node: String,
        /// A bit's 0 or 1, a register's engineering value.
        value: f64,
    },
}

impl Action {
    /// Whether a live attacker carries the action out on the wire (`AttackMode::Live`); the
    /// engine carries out the rest itself.
    pub fn over_the_wire(&self) -> bool {
        matches!(
            self,
            Action::Scan(_)
                | Action::Read { .. }
                | Action::Iec104Interrogation { .. }
                | Action::Iec104Command { .. }
                | Action::OpcUaWrite { .. }
                | Action::WriteRegisters { .. }
                | Action::WriteCoils { .. }
                | Action::ListenOnly { .. }
                | Action::Flood { .. }
        )
    }

    /// The PLC the action changes, if it changes one: a write or command over any protocol, a
    /// program download, a mode change, a restart, forced listen-only.
    pub fn changes(&self) -> Option<PlcIdx> {
        match self {
            Action::WriteRegisters { plc, .. }
            | Action::WriteCoils { plc, .. }
            | Action::Iec104Command { plc, .. }
            | Action::OpcUaWrite { plc, .. }
            | Action::Download { plc, .. }
            | Action::SetMode { plc, .. }
            | Action::Restart { plc }
            | Action::ListenOnly { plc } => Some(*plc),
            _ => None,
        }
    }

    /// The one PLC the action is aimed at (`None` for a scan of several, or a pivot).
    pub fn plc(&self) -> Option<PlcIdx> {
        match self {
            Action::Read { plc, .. }
            | Action::WriteRegisters { plc, .. }
            | Action::WriteCoils { plc, .. }
            | Action::SetMode { plc, .. }
            | Action::Restart { plc }
            | Action::Download { plc, .. }
            | Action::ListenOnly { plc }
            | Action::Flood { plc, .. }
            | Action::Spoof { plc, .. }
            | Action::Iec104Interrogation { plc }
            | Action::Iec104Command { plc, .. }
            | Action::OpcUaWrite { plc, .. }
            | Action::ModifyFirmware { plc } => Some(*plc),
            Action::Scan(_) | Action::Pivot(_) | Action::ForgeSensor { .. } | Action::WipeHost(_) => None,
            Action::DenyView { .. } => None,
        }
    }
}

/// When a step tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Until {
    /// Stop repeating after the first success.
    Success,
    /// Keep re-asserting while attempts succeed.
    Failure,
    /// Repeat `max` times whatever happens.
    Never,
}

/// Repetition of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Repeat {
    /// Ticks between attempts.
    pub every_ticks: u64,
    /// When to stop early.
    pub until: Until,
    /// Most attempts.
    pub max: u32,
}

/// One step of an attack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Id.
    pub id: String,
    /// What the step is, for the answer key and the after-action report.
    pub name: Text,
    /// Techniques it exercises.
    pub techniques: Vec<Technique>,
    /// When it fires.
    pub when: Trigger,
    /// What it does.
    pub action: Action,
    /// Repetition.
    pub repeat: Option<Repeat>,
    /// Gives up (failed) if not fired by this tick.
    pub expire_tick: Option<u64>,
}

/// A scenario's attack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttackPlan {
    /// The host the attacker starts on.
    pub foothold: HostIdx,
    /// Source address of the live attacker's traffic.
    pub address: String,
    /// Steps, in file order.
    pub steps: Vec<Step>,
}

/// How much the teams' network monitoring sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitoring {
    /// PLC logs and alarms only.
    Logs,
    /// Plus network monitoring alerts on the OT boundary.
    Network,
    /// Plus deep inspection: values, program and mode changes.
    Deep,
}
