//! Shared test helpers: loading scenarios, running them, hashing logs.

use std::sync::Arc;

use icsdrill_engine::{EventKind, Scenario, Sim, SimEvent, SimInput, TimedInput};
use sha2::{Digest, Sha256};

/// Loads a built-in scenario, failing the test with its errors.
#[track_caller]
pub(crate) fn builtin(id: &str) -> Arc<Scenario> {
    let b = icsdrill_scenarios::builtin(id).unwrap_or_else(|| panic!("no built-in scenario `{id}`"));
    b.load().unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `scenario` for `seconds` with `inputs`, returning the simulation.
pub(crate) fn run(scenario: &Arc<Scenario>, seed: u64, seconds: f64, inputs: &[TimedInput]) -> Sim {
    let mut sim = Sim::new(scenario.clone(), seed);
    sim.run_until(scenario.ticks(seconds), inputs);
    sim
}

/// SHA-256 of the log as JSON Lines, in hex.
pub(crate) fn log_hash(sim: &Sim) -> String {
    Sha256::digest(sim.events_jsonl().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A register write from the engineering workstation.
pub(crate) fn write_reg(tick: u64, plc: &str, addr: u16, value: u16) -> TimedInput {
    TimedInput {
        tick,
        input: SimInput::WriteRegisters {
            plc: plc.into(),
            source: "ews-01".into(),
            addr,
            values: vec![value],
            function: None,
        },
    }
}

/// A coil write from the engineering workstation.
pub(crate) fn write_coil(tick: u64, plc: &str, addr: u16, value: bool) -> TimedInput {
    TimedInput {
        tick,
        input: SimInput::WriteCoils {
            plc: plc.into(),
            source: "ews-01".into(),
            addr,
            values: vec![value],
            function: None,
        },
    }
}

/// Events other than samples, one per line, for failure messages.
pub(crate) fn story(events: &[SimEvent]) -> String {
    events
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Sample { .. }))
        .map(|e| e.to_json())
        .collect::<Vec<_>>()
        .join("\n")
}

/// First tick at which an event matching `f` happened.
pub(crate) fn first(events: &[SimEvent], f: impl Fn(&EventKind) -> bool) -> Option<u64> {
    events.iter().find(|e| f(&e.kind)).map(|e| e.tick)
}
