//! `SimEvent` and the append-only `EventLog`: everything that happens in the plant, typed.
//!
//! Scoring, findings and golden tests read this log, never tracing output. Events are
//! serialized as one JSON object per line with `seq`, `tick` and `kind` first; maps inside
//! events are `BTreeMap`s so the bytes never depend on hash order.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

use crate::input::{PlcMode, SimInput};
use crate::scenario::AlarmLevel;

/// Which side of a limit a value crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Above the high limit.
    High,
    /// Below the low limit.
    Low,
}

/// Why an input was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// No PLC with that id.
    UnknownPlc,
    /// No host with that id.
    UnknownHost,
    /// No sensor or actuator with that id.
    UnknownDevice,
    /// No active fault with that id.
    UnknownFault,
    /// A fault with that id is already active.
    DuplicateFault,
    /// Address not mapped in the PLC (Modbus exception 0x02).
    IllegalAddress,
    /// Empty write, or a parameter that is not a finite number.
    IllegalValue,
    /// Outside the register's declared range, and the PLC checks ranges (M0818).
    OutOfRange,
    /// No conduit between the source's zone and the PLC's zone.
    NoRoute,
    /// The conduit does not allow this source host.
    SourceNotAllowed,
    /// The conduit does not allow this function code.
    FunctionNotAllowed,
    /// The conduit does not allow writes to this address.
    AddressNotAllowed,
    /// The conduit does not allow this value.
    ValueNotAllowed,
    /// Function code the PLC does not implement (Modbus exception 0x01).
    IllegalFunction,
    /// A malformed request: bad quantity, byte count or coil value (Modbus exception 0x03).
    Malformed,
    /// Unit id not served by this endpoint.
    WrongUnit,
    /// The PLC is in listen-only mode and does not answer.
    ListenOnly,
    /// The source or target host is isolated from the network.
    HostIsolated,
    /// No program backup to restore from.
    NoBackup,
    /// The PLC is restarting and answers nothing.
    Restarting,
    /// No conduit, block or alarm with that id, or a bad parameter for a defender action.
    UnknownTarget,
    /// The spoofing host is not on the path between the operators and the PLC.
    NotOnPath,
    /// The endpoint already serves its maximum number of connections.
    ConnectionLimit,
}

impl RejectReason {
    /// The Modbus exception a refused request is answered with; `None` when there is no
    /// answer (listen-only mode, or a connection-level refusal).
    pub fn exception_code(self) -> Option<u8> {
        match self {
            RejectReason::IllegalFunction | RejectReason::FunctionNotAllowed => Some(0x01),
            RejectReason::IllegalAddress | RejectReason::AddressNotAllowed => Some(0x02),
            RejectReason::IllegalValue
            | RejectReason::OutOfRange
            | RejectReason::ValueNotAllowed
            | RejectReason::Malformed => Some(0x03),
            RejectReason::WrongUnit => Some(0x0B),
            RejectReason::UnknownPlc | RejectReason::UnknownHost => Some(0x04),
            RejectReason::NoRoute
            | RejectReason::SourceNotAllowed
            | RejectReason::ListenOnly
            | RejectReason::HostIsolated
            | RejectReason::Restarting => None,
            RejectReason::NoBackup => Some(0x04),
            RejectReason::UnknownDevice
            | RejectReason::UnknownFault
            | RejectReason::DuplicateFault
            | RejectReason::UnknownTarget
            | RejectReason::NotOnPath
            | RejectReason::ConnectionLimit => None,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    ModbusTransaction {
        /// PLC id.
        plc: String,
        /// Host id the request came from.
        source: String,
        /// Function code.
        function: u8,
        /// First address.
        addr: u16,
        /// Quantity.
        count: u16,
        /// Values written (raw; coils as 0 or 1).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        values: Vec<u16>,
        /// Exception answered, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        exception: Option<u8>,
        /// Why the request was refused or not answered, if it was.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<RejectReason>,
        /// How many identical requests this event stands for.
        #[serde(skip_serializing_if = "is_one")]
        repeat: u32,
    },
    /// A TCP connection to a PLC endpoint, accepted or refused by the conduit.
    ModbusConnection {
        /// PLC id.
        plc: String,
        /// Host id.
        source: String,
        /// Why it was refused, if it was.
        #[serde(skip_serializing_if = "Option::is_none")]
        refused: Option<RejectReason>,
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
        /// Limit reached.
        limit: f64,
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
        #[serde(skip_serializing_if = "Option::is_none")]
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
    IncidentReported {
        /// Technique as reported.
        technique: String,
        /// Asset as reported.
        asset: String,
        /// When they saw it (simulated seconds).
        #[serde(skip_serializing_if = "Option::is_none")]
        observed_s: Option<f64>,
        /// Free text.
        text: String,
        /// Tactic as reported.
        #[serde(skip_serializing_if = "Option::is_none")]
        tactic: Option<String>,
        /// Impact as reported.
        #[serde(skip_serializing_if = "String::is_empty")]
        impact: String,
        /// Actions taken, as reported.
        #[serde(skip_serializing_if = "String::is_empty")]
        actions: String,
    },
    /// Periodic record of true and measured values.
    Sample {
        /// True value of every variable.
        vars: BTreeMap<String, f64>,
        /// Measured value of every sensor (switches as 0 or 1).
        sensors: BTreeMap<String, f64>,
    },
}

impl EventKind {
    /// The `kind` tag, as serialized.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::SimStarted { .. } => "sim_started",
            EventKind::InputApplied { .. } => "input_applied",
            EventKind::InputRejected { .. } => "input_rejected",
            EventKind::ModbusTransaction { .. } => "modbus_transaction",
            EventKind::ModbusConnection { .. } => "modbus_connection",
            EventKind::ListenOnlyChanged { .. } => "listen_only_changed",
            EventKind::ModeChanged { .. } => "mode_changed",
            EventKind::AlarmRaised { .. } => "alarm_raised",
            EventKind::AlarmCleared { .. } => "alarm_cleared",
            EventKind::InterlockTripped { .. } => "interlock_tripped",
            EventKind::InterlockReset { .. } => "interlock_reset",
            EventKind::LimitExceeded { .. } => "limit_exceeded",
            EventKind::LimitCleared { .. } => "limit_cleared",
            EventKind::Damage { .. } => "damage",
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
            EventKind::IncidentReported { .. } => "incident_reported",
        }
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

/// The append-only event log. Only the simulation pushes; everyone else reads.
#[derive(Resource, Debug, Default)]
pub struct EventLog {
    events: Vec<SimEvent>,
}

impl EventLog {
    /// Appends an event at `tick`.
    pub fn push(&mut self, tick: u64, kind: EventKind) {
        let seq = self.events.len() as u64;
        self.events.push(SimEvent { seq, tick, kind });
    }

    /// All events so far.
    pub fn events(&self) -> &[SimEvent] {
        &self.events
    }

    /// An event of the tick being computed, to fold a repeat into it.
    pub(crate) fn get_mut(&mut self, seq: u64) -> Option<&mut SimEvent> {
        self.events.get_mut(usize::try_from(seq).ok()?)
    }
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// Rounds a value for the log, so logs stay short and readable (to 1e-4).
pub(crate) fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
