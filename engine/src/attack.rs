//! Scripted attacks: the checked attack plan of a scenario, and the ATT&CK for ICS techniques
//! it may cite (v18 ids and their v19 successors, per DOMAIN.md 3.1).
//!
//! A plan is a list of steps. Each step has a trigger (time, another step's outcome, a process
//! condition, a defender deadline; all must hold), one action with a real effect in the plant,
//! an optional repeat and an expiry. `systems::attacker` runs the plan.

use serde::Serialize;

use crate::input::PlcMode;
use crate::scenario::{HostIdx, PlcIdx, SensorIdx, Table, Text, VarIdx};

/// An ATT&CK for ICS technique, under its v18 id and its v19 id (the same when unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Technique {
    /// Id in ATT&CK v18 (what most trainees and Chinese material use).
    pub v18: &'static str,
    /// Id in ATT&CK v19 (shown in reports).
    pub v19: &'static str,
    /// Name.
    pub name: &'static str,
    /// Tactic.
    pub tactic: &'static str,
}

macro_rules! t {
    ($v18:literal, $v19:literal, $name:literal, $tactic:literal) => {
        Technique { v18: $v18, v19: $v19, name: $name, tactic: $tactic }
    };
}

/// The techniques a scenario may cite.
pub const TECHNIQUES: &[Technique] = &[
    t!("T0846", "T0846", "Remote System Discovery", "discovery"),
    t!("T0888", "T0888", "Remote System Information Discovery", "discovery"),
    t!("T0861", "T0861", "Point & Tag Identification", "collection"),
    t!("T0842", "T0842", "Network Sniffing", "discovery"),
    t!("T0830", "T0830", "Adversary-in-the-Middle", "collection"),
    t!("T0886", "T0886", "Remote Services", "initial-access"),
    t!("T0822", "T0822", "External Remote Services", "initial-access"),
    t!("T0883", "T0883", "Internet Accessible Device", "initial-access"),
    t!("T0812", "T0812", "Default Credentials", "lateral-movement"),
    t!("T0867", "T0867", "Lateral Tool Transfer", "lateral-movement"),
    t!("T0855", "T1692.001", "Unauthorized Message: Command Message", "impair-process-control"),
    t!("T0856", "T1692.002", "Unauthorized Message: Reporting Message", "impair-process-control"),
    t!(
        "T0803",
        "T1691.001",
        "Block Operational Technology Message: Command Message",
        "inhibit-response-function"
    ),
    t!(
        "T0804",
        "T1691.002",
        "Block Operational Technology Message: Reporting Message",
        "inhibit-response-function"
    ),
    t!("T0857", "T1693.001", "Modify Firmware: System Firmware", "inhibit-response-function"),
    t!("T0839", "T1693.002", "Modify Firmware: Module Firmware", "inhibit-response-function"),
    t!("T0836", "T0836", "Modify Parameter", "impair-process-control"),
    t!("T0831", "T0831", "Manipulation of Control", "impact"),
    t!("T0832", "T0832", "Manipulation of View", "impact"),
    t!("T0829", "T0829", "Loss of View", "impact"),
    t!("T0815", "T0815", "Denial of View", "impact"),
    t!("T0813", "T0813", "Denial of Control", "impact"),
    t!("T0814", "T0814", "Denial of Service", "inhibit-response-function"),
    t!("T0858", "T0858", "Change Operating Mode", "execution"),
    t!("T0816", "T0816", "Device Restart/Shutdown", "inhibit-response-function"),
    t!("T0843", "T0843", "Program Download", "lateral-movement"),
    t!("T0843.001", "T0843.001", "Program Download: Download All", "lateral-movement"),
    t!("T0843.002", "T0843.002", "Program Download: Online Edit", "lateral-movement"),
    t!("T0843.003", "T0843.003", "Program Download: Program Append", "lateral-movement"),
    t!("T0878", "T0878", "Alarm Suppression", "inhibit-response-function"),
    t!("T0838", "T0838", "Modify Alarm Settings", "inhibit-response-function"),
    t!("T0835", "T0835", "Manipulate I/O Image", "inhibit-response-function"),
    t!("T0806", "T0806", "Brute Force I/O", "impair-process-control"),
    t!("T0879", "T0879", "Damage to Property", "impact"),
    t!("T0880", "T0880", "Loss of Safety", "impact"),
    t!("T0827", "T0827", "Loss of Control", "impact"),
    t!("T0828", "T0828", "Loss of Productivity and Revenue", "impact"),
];

/// The technique with this v18 or v19 id.
pub fn technique(id: &str) -> Option<Technique> {
    TECHNIQUES.iter().find(|t| t.v18 == id || t.v19 == id).copied()
}

/// How a finished step ended, or which ending a trigger waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

impl Action {
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
            | Action::Spoof { plc, .. } => Some(*plc),
            Action::Scan(_) | Action::Pivot(_) => None,
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
