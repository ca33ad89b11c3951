//! `SimEvent`: everything that happens in the plant, typed (the log that holds them is in
//! `log.rs`).
//!
//! Scoring, findings and golden tests read this log, never tracing output. Events are
//! serialized as one JSON object per line with `seq`, `tick` and `kind` first; maps inside
//! events are `BTreeMap`s so the bytes never depend on hash order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::input::{Iec104Transaction, ModbusTransaction, OpcUaTransaction};
use crate::input::{PlcMode, SimInput};
pub use crate::log::{EventLog, LogHasher, hex, log_hash};
pub use crate::reject::RejectReason;
use crate::scenario::AlarmLevel;

/// Which side of a limit a value crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Above the high limit.
    High,
    /// Below the low limit.
    Low,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// First event of every log.
    SimStarted {
        /// Scenario id.
        scenario: String,
        /// SHA-256 of the scenario source.
        scenario_hash: String,
        /// Seed.
        seed: u64,
        /// Ticks per second.
        tick_hz: u32,
    },
    /// An input took effect.
    InputApplied {
        /// The input.
        input: SimInput,
    },
    /// An input was refused; the plant is unchanged.
    InputRejected {
        /// The input.
        input: SimInput,
        /// Why.
        reason: RejectReason,
    },
    /// A Modbus request to a PLC: a read answered by its endpoint, or a write with its
    /// outcome. Identical requests recorded in one tick are one event with `repeat`.
    ModbusTransaction(crate::input::ModbusTransaction),
    /// An IEC 60870-5-104 request to a PLC's station, with its outcome (see
    /// `SimInput::Iec104`): type 0 is the TCP connection.
    Iec104Transaction(crate::input::Iec104Transaction),
    /// An OPC UA request to a PLC's server, with its outcome (see `SimInput::OpcUa`):
    /// service 0 is the TCP connection.
    #[serde(rename = "opcua_transaction")]
    OpcUaTransaction(crate::input::OpcUaTransaction),
    /// A TCP connection to a PLC endpoint, accepted or refused by the conduit.
    ModbusConnection {
        /// PLC id.
        plc: String,
        /// Host id.
        source: String,
        /// Why it was refused, if it was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refused: Option<RejectReason>,
    },
    /// The Modbus traffic of one tick beyond what the range records request by request (its
    /// record budget): counted by PLC, source and function code, so a flood stays visible to
    /// the transaction log, detection and replays without growing the log with the flood.
    TrafficSummary {
        /// Counts, in (PLC, source, function) order.
        entries: Vec<crate::input::TrafficCount>,
    },
    /// Routine traffic since the previous such event (operator stations' and historians' polls,
    /// engineering sessions), counted by PLC, source and function code; `exceptions` counts
    /// the requests that got no proper answer.
    RoutineTraffic {
        /// Counts, in (PLC, source, function) order.
        entries: Vec<crate::input::TrafficCount>,
    },
    /// A PLC's communications entered or left listen-only mode (FC 8).
    ListenOnlyChanged {
        /// PLC id.
        plc: String,
        /// Now in listen-only mode.
        listen_only: bool,
    },
    /// A PLC changed operating mode.
    ModeChanged {
        /// PLC id.
        plc: String,
        /// Previous mode.
        from: PlcMode,
        /// New mode.
        to: PlcMode,
    },
    /// An operator alarm came on.
    AlarmRaised {
        /// PLC id.
        plc: String,
        /// Alarm block id.
        alarm: String,
        /// Level.
        level: AlarmLevel,
        /// Measured value.
        value: f64,
        /// Limit.
        limit: f64,
    },
    /// An operator alarm went off.
    AlarmCleared {
        /// PLC id.
        plc: String,
        /// Alarm block id.
        alarm: String,
        /// Level.
        level: AlarmLevel,
        /// Measured value.
        value: f64,
    },
    /// A safety interlock tripped (the process is shut down).
    InterlockTripped {
        /// PLC id.
        plc: String,
        /// Interlock id.
        interlock: String,
        /// Measured value that tripped it.
        value: f64,
    },
    /// An interlock's trip condition was met while it was bypassed: no trip, the process went
    /// on without its protection (once a bypass, until the bypass comes off).
    InterlockDefeated {
        /// PLC id.
        plc: String,
        /// Interlock id.
        interlock: String,
        /// Measured value that would have tripped it.
        value: f64,
    },
    /// An interlock's bypass coil was set (`on`) or cleared: while it is set the interlock
    /// trips nothing. Said when the running program sees it change.
    InterlockBypass {
        /// PLC id.
        plc: String,
        /// Interlock id.
        interlock: String,
        /// Set (true) or cleared.
        on: bool,
    },
    /// A tripped interlock was reset.
    InterlockReset {
        /// PLC id.
        plc: String,
        /// Interlock id.
        interlock: String,
    },
    /// A true value left its safe operating window.
    LimitExceeded {
        /// Variable id.
        var: String,
        /// Side.
        side: Side,
        /// True value.
        value: f64,
        /// Limit crossed.
        limit: f64,
    },
    /// A true value came back into its safe window.
    LimitCleared {
        /// Variable id.
        var: String,
        /// True value.
        value: f64,
    },
    /// Equipment damage: a true value reached a damage limit. Logged once per variable and side.
    Damage {
        /// Variable id.
        var: String,
        /// Side.
        side: Side,
        /// True value.
        value: f64,
        /// Limit reached (for damage by dose: the condition's threshold).
        limit: f64,
        /// Damage by time at condition: the seconds spent beyond `limit`, in all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dose_s: Option<f64>,
    },
    /// A field signal is forged where it enters the PLCs (or recorded for replay).
    SensorForged {
        /// Sensor id.
        sensor: String,
        /// Recorded for replay rather than forged to a value.
        replay: bool,
    },
    /// A forged field signal is genuine again.
    SensorRestored {
        /// Sensor id.
        sensor: String,
    },
    /// A PLC's firmware was overwritten: the module is bricked.
    FirmwareModified {
        /// PLC id.
        plc: String,
    },
    /// A spare module was fitted and the program loaded from the backup.
    ModuleReplaced {
        /// PLC id.
        plc: String,
    },
    /// A host's disks were wiped (data destruction).
    HostWiped {
        /// Host id.
        host: String,
    },
    /// The displays of an operator station froze (denial of view) or went blank (loss of view).
    ViewDenied {
        /// Host id.
        host: String,
        /// Blank rather than frozen.
        blank: bool,
    },
    /// An actuator was switched to local at its field panel (`position` set by hand), or back
    /// to remote (`position` absent).
    LocalControl {
        /// Actuator id.
        actuator: String,
        /// Position set by hand.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<f64>,
    },
    /// A wiped host was re-imaged.
    HostReimaged {
        /// Host id.
        host: String,
    },
    /// A sequence moved to a step (or started at its first).
    SequenceStep {
        /// PLC id.
        plc: String,
        /// Sequence id.
        sequence: String,
        /// Step id.
        step: String,
    },
    /// A sequence finished its last step.
    SequenceEnded {
        /// PLC id.
        plc: String,
        /// Sequence id.
        sequence: String,
    },
    /// A relief device opened (a PSV lifted, a rupture disc burst, a weir overflowed).
    ReliefOpened {
        /// Relief id.
        relief: String,
        /// True value of its variable.
        value: f64,
    },
    /// A relief device closed (a PSV reseated, a weir stopped overflowing).
    ReliefClosed {
        /// Relief id.
        relief: String,
        /// True value of its variable.
        value: f64,
    },
    /// A physical fault started.
    FaultStarted {
        /// Fault id.
        fault: String,
        /// Sensor or actuator affected.
        device: String,
        /// Effect name.
        effect: String,
    },
    /// A physical fault ended.
    FaultCleared {
        /// Fault id.
        fault: String,
    },
    /// An attack step fired an attempt.
    AttackAttempt {
        /// Step id.
        step: String,
        /// Attempt number, from 1.
        attempt: u32,
        /// Host the attacker acted from.
        host: String,
        /// Techniques, v18 and v19 ids.
        techniques: Vec<crate::attack::Technique>,
        /// Whether it had its effect.
        ok: bool,
        /// Why not, when blocked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RejectReason>,
    },
    /// An attack step is over.
    AttackStepEnded {
        /// Step id.
        step: String,
        /// How it ended.
        outcome: crate::attack::Outcome,
        /// It never fired: its trigger did not hold before it expired.
        expired: bool,
    },
    /// The attacker now acts from another host.
    AttackerMoved {
        /// Host left.
        from: String,
        /// Host reached.
        to: String,
    },
    /// A network-monitoring alert (how many depends on the scenario's monitoring level).
    IdsAlert {
        /// Rule that fired.
        rule: String,
        /// PLC concerned.
        plc: String,
        /// Host the traffic came from.
        source: String,
        /// Function code.
        function: u8,
    },
    /// A PLC's program changed (download) or was restored; its integrity hash now.
    ProgramChanged {
        /// PLC id.
        plc: String,
        /// SHA-256 of the program now loaded.
        hash: String,
        /// Matches the backup (commissioned program).
        matches_backup: bool,
    },
    /// A PLC's communications are saturated by a flood.
    CommsFlooded {
        /// PLC id.
        plc: String,
        /// Until this tick.
        until_tick: u64,
    },
    /// A PLC restarted.
    PlcRestarted {
        /// PLC id.
        plc: String,
    },
    /// Values an input register reports are now spoofed.
    ReportingSpoofed {
        /// PLC id.
        plc: String,
        /// Input register address.
        addr: u16,
    },
    /// An operator acknowledged an alarm.
    AlarmAcknowledged {
        /// PLC id.
        plc: String,
        /// Alarm id.
        alarm: String,
    },
    /// A team filed an incident report.
    IncidentReported(crate::input::IncidentReport),
    /// Periodic record of true and measured values.
    Sample {
        /// True value of every variable.
        vars: BTreeMap<String, f64>,
        /// Measured value of every sensor (switches as 0 or 1).
        sensors: BTreeMap<String, f64>,
    },
}

/// The kinds of event judging never reads, whatever they hold (`EventKind::judged`; a store
/// leaves them out of the query for a team's judged events).
pub const NEVER_JUDGED: [&str; 3] = ["modbus_connection", "traffic_summary", "routine_traffic"];

impl EventKind {
    /// The `kind` tag, as serialized.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::SimStarted { .. } => "sim_started",
            EventKind::InputApplied { .. } => "input_applied",
            EventKind::InputRejected { .. } => "input_rejected",
            EventKind::ModbusTransaction(_) => "modbus_transaction",
            EventKind::ModbusConnection { .. } => "modbus_connection",
            EventKind::Iec104Transaction(_) => "iec104_transaction",
            EventKind::OpcUaTransaction(_) => "opcua_transaction",
            EventKind::TrafficSummary { .. } => "traffic_summary",
            EventKind::RoutineTraffic { .. } => "routine_traffic",
            EventKind::ListenOnlyChanged { .. } => "listen_only_changed",
            EventKind::ModeChanged { .. } => "mode_changed",
            EventKind::AlarmRaised { .. } => "alarm_raised",
            EventKind::AlarmCleared { .. } => "alarm_cleared",
            EventKind::InterlockTripped { .. } => "interlock_tripped",
            EventKind::InterlockDefeated { .. } => "interlock_defeated",
            EventKind::InterlockBypass { .. } => "interlock_bypass",
            EventKind::InterlockReset { .. } => "interlock_reset",
            EventKind::LimitExceeded { .. } => "limit_exceeded",
            EventKind::LimitCleared { .. } => "limit_cleared",
            EventKind::Damage { .. } => "damage",
            EventKind::ReliefOpened { .. } => "relief_opened",
            EventKind::SensorForged { .. } => "sensor_forged",
            EventKind::SequenceStep { .. } => "sequence_step",
            EventKind::SequenceEnded { .. } => "sequence_ended",
            EventKind::FirmwareModified { .. } => "firmware_modified",
            EventKind::ModuleReplaced { .. } => "module_replaced",
            EventKind::HostWiped { .. } => "host_wiped",
            EventKind::HostReimaged { .. } => "host_reimaged",
            EventKind::ViewDenied { .. } => "view_denied",
            EventKind::LocalControl { .. } => "local_control",
            EventKind::SensorRestored { .. } => "sensor_restored",
            EventKind::ReliefClosed { .. } => "relief_closed",
            EventKind::FaultStarted { .. } => "fault_started",
            EventKind::FaultCleared { .. } => "fault_cleared",
            EventKind::Sample { .. } => "sample",
            EventKind::AttackAttempt { .. } => "attack_attempt",
            EventKind::AttackStepEnded { .. } => "attack_step_ended",
            EventKind::AttackerMoved { .. } => "attacker_moved",
            EventKind::IdsAlert { .. } => "ids_alert",
            EventKind::ProgramChanged { .. } => "program_changed",
            EventKind::PlcRestarted { .. } => "plc_restarted",
            EventKind::CommsFlooded { .. } => "comms_flooded",
            EventKind::ReportingSpoofed { .. } => "reporting_spoofed",
            EventKind::AlarmAcknowledged { .. } => "alarm_acknowledged",
            EventKind::IncidentReported(_) => "incident_reported",
        }
    }
}

impl EventKind {
    /// Whether this is protocol traffic as a sniffer logs it: a Modbus, IEC 104 or OPC UA
    /// transaction, a Modbus connection, or a traffic summary (not the routine traffic's own
    /// record).
    pub fn is_traffic(&self) -> bool {
        matches!(
            self,
            EventKind::ModbusTransaction(_)
                | EventKind::ModbusConnection { .. }
                | EventKind::Iec104Transaction(_)
                | EventKind::OpcUaTransaction(_)
                | EventKind::TrafficSummary { .. }
        )
    }

    /// Whether judging (scores, findings, exams, reports) reads this event. Plain traffic does
    /// not: reads, connections and traffic summaries change no score, finding or grade (writes
    /// and engineering commands do, and the alerts traffic raises are events of their own).
    /// A live drill keeps the judged events of a team's log in memory and nothing else.
    pub fn judged(&self) -> bool {
        match self {
            EventKind::ModbusTransaction(ModbusTransaction { function, .. }) => {
                matches!(*function, 5 | 6 | 8 | 15 | 16 | 23 | crate::input::ENGINEERING_FUNCTION)
            }
            EventKind::Iec104Transaction(Iec104Transaction { type_id, .. }) => {
                crate::scenario::iec104::is_command(*type_id)
                    || *type_id == crate::scenario::iec104::types::C_CS_NA_1
            }
            EventKind::OpcUaTransaction(OpcUaTransaction { service, .. }) => {
                *service == crate::scenario::opcua::services::WRITE
            }
            kind => !NEVER_JUDGED.contains(&kind.name()),
        }
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimEvent {
    /// Position in the log, from 0; findings cite events by it.
    pub seq: u64,
    /// Tick it happened at.
    pub tick: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl SimEvent {
    /// The event as one line of JSON (no newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .expect("events serialize: no maps with non-string keys, no non-finite floats")
    }

    /// An event read back from its `to_json` line (a log on disk): equal to the one written.
    pub fn from_json(line: &str) -> Result<SimEvent, String> {
        serde_json::from_str(line).map_err(|e| e.to_string())
    }
}

/// Rounds a value for the log, so logs stay short and readable (to 1e-4).
pub(crate) fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
