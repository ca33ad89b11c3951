//! `SimEvent` and the append-only `EventLog`: everything that happens in the plant, typed.
//!
//! Scoring, findings and golden tests read this log, never tracing output. Events are
//! serialized as one JSON object per line with `seq`, `tick` and `kind` first; maps inside
//! events are `BTreeMap`s so the bytes never depend on hash order.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;
use serde::Serialize;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

/// Rounds a value for the log, so logs stay short and readable (to 1e-4).
pub(crate) fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
