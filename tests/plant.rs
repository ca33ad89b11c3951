//! Engine behaviour on a small purpose-built plant: the firewall, range checks, modes, faults,
//! interlock reset, manual mode.

use std::sync::Arc;

use icsdrill_engine::input::FaultSpec;
use icsdrill_engine::{EventKind, PlcMode, RejectReason, Scenario, Sim, SimInput};

use crate::util::story;

const MINI: &str = r#"
id: mini
meta: { industry: other, level: 2, title: Mini, brief: A one-tank plant for tests }
network:
  zones:
    - { id: it, name: IT, level: enterprise }
    - { id: sup, name: Supervisory, level: supervisory }
    - { id: ctl, name: Control, level: control }
  conduits:
    - id: c1
      from: sup
      to: ctl
      allow_sources: [hmi, ews]
      allow_functions: [1, 2, 3, 4, 5, 6, 16]
      write_ranges: [{ plc: plc1, start: 0, end: 1, min: 100, max: 900 }, { plc: plc1, start: 2, end: 3 }]
  hosts:
    - { id: hmi, name: HMI, role: hmi, zone: sup }
    - { id: ews, name: EWS, role: ews, zone: sup }
    - { id: hist, name: Historian, role: historian, zone: sup }
    - { id: office, name: Office, role: it_workstation, zone: it }
    - { id: local, name: Local panel, role: hmi, zone: ctl }
process:
  model: lumped
  variables:
    - { id: level, name: Level, unit: "%", initial: 50, bounds: [0, 100], safe: [5, 95], damage_above: 100,
        terms: [{ gain: 0.5, of: [inlet] }, { gain: -0.25, of: [pump] }] }
  actuators:
    - { id: inlet, name: Inlet, kind: analog, stroke_s: 0, initial: 0.5, fail: 0 }
    - { id: pump, name: Pump, kind: binary, stroke_s: 0, initial: 1, fail: 0 }
  sensors:
    - { id: lit, name: Level, var: level, range: [0, 100] }
    - { id: lshh, name: High switch, var: level, switch_above: 90 }
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: { vendor: V, product: P, revision: "1" }
    range_checks: true
    coils:
      - { id: manual, addr: 0, name: Manual }
      - { id: pump_run, addr: 1, name: Pump run, initial: true }
      - { id: bypass, addr: 2, name: Bypass }
      - { id: reset, addr: 3, name: Reset }
    discrete_inputs:
      - { id: tripped, addr: 0, name: Tripped, tripped: il }
    input_registers:
      - { id: lit_ir, addr: 0, name: Level, sensor: lit }
    holding_registers:
      - { id: sp, addr: 0, name: Set point, initial: 50, range: [20, 80] }
      - { id: out, addr: 1, name: Manual output, initial: 0.2, scale: 1000 }
      - { id: free, addr: 2, name: Unchecked, initial: 0 }
    reserved:
      - { table: holding_registers, start: 10, count: 5 }
    logic:
      - pi: { id: loop, pv: lit, setpoint: sp, kp: 0.05, ki: 0.01, bias: 0.5, output: inlet, manual: manual, manual_output: out }
      - follow: { coil: pump_run, output: pump }
      - interlock: { id: il, pv: lshh, bypass: bypass, reset: reset, actions: [{ actuator: inlet, value: 0 }] }
"#;

fn mini() -> Arc<Scenario> {
    Arc::new(Scenario::from_yaml("mini.yaml", MINI).unwrap_or_else(|e| panic!("{e}")))
}

fn regs(source: &str, addr: u16, values: &[u16]) -> SimInput {
    SimInput::WriteRegisters {
        plc: "plc1".into(),
        source: source.into(),
        addr,
        values: values.to_vec(),
        function: None,
    }
}

/// Applies one input on a fresh plant and returns why it was refused, checking that the
/// outcome event agrees.
fn rejected(input: SimInput) -> Option<RejectReason> {
    let mut sim = Sim::new(mini(), 1);
    let outcome = sim.step_outcomes([input]);
    let event = sim
        .events()
        .iter()
        .find(|e| e.tick == 0 && e.seq > 0)
        .expect("every input leaves an event")
        .kind
        .clone();
    let from_event = match event {
        EventKind::ModbusTransaction { reason, exception, .. } => {
            assert_eq!(exception, reason.and_then(RejectReason::exception_code));
            reason
        }
        EventKind::InputRejected { reason, .. } => Some(reason),
        EventKind::InputApplied { .. } => None,
        other => panic!("unexpected outcome event {other:?}"),
    };
    assert_eq!(outcome, vec![from_event.map_or(Ok(()), Err)]);
    from_event
}

#[test]
fn firewall_and_plc_checks_decide_every_write() {
    let cases: &[(SimInput, Option<RejectReason>)] = &[
        (regs("ews", 0, &[600]), None),
        (regs("office", 0, &[600]), Some(RejectReason::NoRoute)),
        (regs("hist", 0, &[600]), Some(RejectReason::SourceNotAllowed)),
        (regs("local", 0, &[9999]), Some(RejectReason::OutOfRange)), // Same zone: no firewall, but the PLC checks ranges.
        (regs("ews", 0, &[600, 100]), None),
        (regs("ews", 0, &[950]), Some(RejectReason::ValueNotAllowed)),
        (regs("ews", 0, &[600, 950]), Some(RejectReason::ValueNotAllowed)),
        (regs("ews", 2, &[1]), None),
        (regs("ews", 2, &[1, 2]), Some(RejectReason::IllegalAddress)), // The conduit allows 2..=3; the PLC maps only 2.
        (regs("ews", 3, &[1, 2]), Some(RejectReason::AddressNotAllowed)),
        (regs("local", 3, &[1]), Some(RejectReason::IllegalAddress)),
        (regs("local", 10, &[1, 2, 3, 4, 5]), None),
        (regs("local", 12, &[1, 2, 3, 4]), Some(RejectReason::IllegalAddress)),
        (regs("local", 65535, &[1]), Some(RejectReason::IllegalAddress)),
        (regs("ews", 0, &[]), Some(RejectReason::IllegalValue)),
        (regs("nobody", 0, &[1]), Some(RejectReason::UnknownHost)),
        (
            SimInput::WriteRegisters {
                plc: "plc9".into(),
                source: "ews".into(),
                addr: 0,
                values: vec![1],
                function: None,
            },
            Some(RejectReason::UnknownPlc),
        ),
        (
            SimInput::WriteCoils {
                plc: "plc1".into(),
                source: "hmi".into(),
                addr: 0,
                values: vec![true],
                function: None,
            },
            None,
        ),
        (
            SimInput::WriteCoils {
                plc: "plc1".into(),
                source: "hmi".into(),
                addr: 0,
                values: vec![true, false],
                function: None,
            },
            Some(RejectReason::FunctionNotAllowed),
        ), // FC 15
        (
            SimInput::WriteCoils {
                plc: "plc1".into(),
                source: "local".into(),
                addr: 3,
                values: vec![true, false],
                function: None,
            },
            Some(RejectReason::IllegalAddress),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(rejected(input.clone()), *expected, "{input:?}");
    }
}

#[test]
fn accepted_writes_change_memory_and_the_process() {
    let mut sim = Sim::new(mini(), 1);
    sim.run_until(600, &[]);
    let settled = sim.true_value("level").unwrap();
    assert!((settled - 50.0).abs() < 1.0, "the PI loop holds the set point: {settled}");
    sim.step([regs("ews", 0, &[700])]);
    assert_eq!(sim.plc("plc1").unwrap().memory.holding[0], 700);
    sim.run_until(3000, &[]);
    let moved = sim.true_value("level").unwrap();
    assert!((moved - 70.0).abs() < 1.0, "level follows the new set point: {moved}\n{}", story(sim.events()));
}

#[test]
fn stopped_plc_drives_outputs_to_fail_positions() {
    let mut sim = Sim::new(mini(), 1);
    sim.step([SimInput::SetMode { plc: "plc1".into(), mode: PlcMode::Stop }]);
    sim.run_until(20, &[]);
    assert_eq!(sim.actuator_position("inlet"), Some(0.0));
    assert_eq!(sim.actuator_position("pump"), Some(0.0));
    let modes: Vec<_> =
        sim.events().iter().filter(|e| matches!(e.kind, EventKind::ModeChanged { .. })).collect();
    assert_eq!(modes.len(), 1);
    // Back to run: the loop takes over again.
    sim.step([SimInput::SetMode { plc: "plc1".into(), mode: PlcMode::Run }]);
    sim.run_until(40, &[]);
    assert_eq!(sim.actuator_position("pump"), Some(1.0));
    assert!(sim.actuator_position("inlet").unwrap() > 0.0);
}

#[test]
fn frozen_sensor_hides_the_true_value_until_cleared() {
    let mut sim = Sim::new(mini(), 1);
    let freeze = SimInput::InjectFault {
        id: "f".into(),
        fault: FaultSpec::SensorFreeze { sensor: "lit".into() },
        duration_s: None,
    };
    sim.step([
        freeze.clone(),
        SimInput::WriteCoils {
            plc: "plc1".into(),
            source: "hmi".into(),
            addr: 1,
            values: vec![false],
            function: None,
        },
    ]);
    let frozen = sim.measured("lit").unwrap();
    sim.run_until(300, &[]);
    assert_eq!(sim.measured("lit").unwrap(), frozen, "a frozen sensor keeps its reading");
    assert!(sim.true_value("level").unwrap() > frozen + 5.0, "while the true level rises");
    let again = sim.step([freeze]).to_vec();
    assert!(matches!(again[0].kind, EventKind::InputRejected { reason: RejectReason::DuplicateFault, .. }));
    sim.step([SimInput::ClearFault { id: "f".into() }]);
    sim.step([]);
    assert!((sim.measured("lit").unwrap() - sim.true_value("level").unwrap()).abs() < 1e-9);
}

#[test]
fn interlock_latches_until_reset_and_bypass_disables_it() {
    let mut sim = Sim::new(mini(), 1);
    // Manual mode, valve wide open, pump stopped: the level climbs to the switch.
    let setup = [
        regs("local", 1, &[1000]),
        SimInput::WriteCoils {
            plc: "plc1".into(),
            source: "hmi".into(),
            addr: 0,
            values: vec![true],
            function: None,
        },
        SimInput::WriteCoils {
            plc: "plc1".into(),
            source: "hmi".into(),
            addr: 1,
            values: vec![false],
            function: None,
        },
    ];
    sim.step(setup);
    sim.run_until(1200, &[]);
    let trips = |sim: &Sim| {
        sim.events().iter().filter(|e| matches!(e.kind, EventKind::InterlockTripped { .. })).count()
    };
    assert_eq!(trips(&sim), 1, "{}", story(sim.events()));
    assert_eq!(sim.actuator_position("inlet"), Some(0.0), "the trip closes the inlet");
    assert!(sim.plc("plc1").unwrap().memory.discrete[0], "the trip shows on a discrete input");
    // Reset while the switch is still closed: refused, the coil clears itself.
    sim.step([SimInput::WriteCoils {
        plc: "plc1".into(),
        source: "local".into(),
        addr: 3,
        values: vec![true],
        function: None,
    }]);
    sim.run_until(1210, &[]);
    assert!(!sim.plc("plc1").unwrap().memory.coils[3]);
    assert!(!sim.events().iter().any(|e| matches!(e.kind, EventKind::InterlockReset { .. })));
    // Pump on drains the tank below the switch, then the reset works.
    sim.step([SimInput::WriteCoils {
        plc: "plc1".into(),
        source: "hmi".into(),
        addr: 1,
        values: vec![true],
        function: None,
    }]);
    sim.run_until(1400, &[]);
    sim.step([SimInput::WriteCoils {
        plc: "plc1".into(),
        source: "local".into(),
        addr: 3,
        values: vec![true],
        function: None,
    }]);
    sim.run_until(1420, &[]);
    assert!(
        sim.events().iter().any(|e| matches!(e.kind, EventKind::InterlockReset { .. })),
        "{}",
        story(sim.events())
    );
    // Bypassed, the same conditions overflow the tank.
    sim.step([
        SimInput::WriteCoils {
            plc: "plc1".into(),
            source: "local".into(),
            addr: 2,
            values: vec![true],
            function: None,
        },
        SimInput::WriteCoils {
            plc: "plc1".into(),
            source: "hmi".into(),
            addr: 1,
            values: vec![false],
            function: None,
        },
    ]);
    sim.run_until(3000, &[]);
    assert_eq!(trips(&sim), 1);
    assert!(
        sim.events().iter().any(|e| matches!(e.kind, EventKind::Damage { .. })),
        "{}",
        story(sim.events())
    );
    assert_eq!(sim.true_value("level"), Some(100.0), "the tank spills at its bound");
}
