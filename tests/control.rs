//! Control logic on purpose-built plants: voting interlocks and trip delays.

use std::sync::Arc;

use icsdrill_engine::input::FaultSpec;
use icsdrill_engine::{EventKind, Scenario, Sim, SimInput};

use crate::util::story;

/// A tank that fills at 0.1 %/s while its inlet is open, with three level transmitters and a
/// high-level interlock voting `vote` over them that shuts the inlet.
fn tank(vote: &str) -> Arc<Scenario> {
    Arc::new(Scenario::from_yaml("voting.yaml", &tank_yaml(vote)).unwrap_or_else(|e| panic!("{e}")))
}

fn tank_yaml(vote: &str) -> String {
    format!(
        r#"
id: voting
meta: {{ industry: other, level: 2, title: Voting, brief: A tank with redundant transmitters }}
network:
  zones:
    - {{ id: ctl, name: Control, level: control }}
  hosts:
    - {{ id: local, name: Local panel, role: hmi, zone: ctl }}
process:
  model: lumped
  variables:
    - {{ id: level, name: Level, unit: "%", initial: 50, bounds: [0, 100], terms: [{{ gain: 0.1, of: [inlet] }}] }}
  actuators:
    - {{ id: inlet, name: Inlet, kind: binary, stroke_s: 0, initial: 1, fail: 0 }}
  sensors:
    - {{ id: lt-a, name: Level A, var: level, range: [0, 100] }}
    - {{ id: lt-b, name: Level B, var: level, range: [0, 100] }}
    - {{ id: lt-c, name: Level C, var: level, range: [0, 100] }}
plcs:
  - id: sis
    name: SIS
    role: safety
    zone: ctl
    device: {{ vendor: V, product: P, revision: "1" }}
    logic:
      - interlock: {{ id: lshh, pv: lt-a, above: 80, {vote} actions: [{{ actuator: inlet, value: 0 }}] }}
"#
    )
}

fn fault(id: &str, fault: FaultSpec) -> SimInput {
    SimInput::InjectFault { id: id.into(), fault, duration_s: None }
}

/// The tick the interlock tripped, if it did.
fn tripped(sim: &Sim) -> Option<u64> {
    sim.events().iter().find(|e| matches!(e.kind, EventKind::InterlockTripped { .. })).map(|e| e.tick)
}

#[test]
fn two_out_of_three_trips_on_two_transmitters_and_ignores_one_failed_one() {
    let vote = "voters: [lt-b, lt-c], vote: 2oo3,";
    // One transmitter failed high (a burnt-out loop reads full scale): no trip on its own.
    let mut sim = Sim::new(tank(vote), 1);
    sim.step([fault("f1", FaultSpec::SensorBias { sensor: "lt-c".into(), bias: 60.0 })]);
    sim.run_until(600, &[]);
    assert!(sim.measured("lt-c").unwrap() >= 100.0);
    assert_eq!(
        tripped(&sim),
        None,
        "one failed transmitter does not trip a 2oo3 vote\n{}",
        story(sim.events())
    );

    // The level really rises: lt-a and lt-b agree at 80 % and the vote trips, although lt-c
    // is frozen low (failed the other way).
    let mut sim = Sim::new(tank(vote), 1);
    sim.step([fault("f2", FaultSpec::SensorFreeze { sensor: "lt-c".into() })]);
    sim.run_until(6000, &[]);
    let trip = tripped(&sim).expect("two of three transmitters trip it");
    let at = trip as f64 / 10.0;
    assert!((295.0..=305.0).contains(&at), "tripped when the level reached 80 %, at {at} s");
    assert!(sim.true_value("level").unwrap() < 81.0, "the inlet shut");

    // The same failure against a 1oo1 on lt-c alone would never trip: the vote is what saves it.
    let mut sim = Sim::new(tank(""), 1);
    sim.step([fault("f3", FaultSpec::SensorFreeze { sensor: "lt-a".into() })]);
    sim.run_until(6000, &[]);
    assert_eq!(tripped(&sim), None);
    assert_eq!(sim.true_value("level"), Some(100.0), "without the vote the tank overflows");
}

#[test]
fn a_trip_delay_rides_through_a_spike_and_trips_on_a_sustained_condition() {
    let vote = "voters: [lt-b], vote: 1oo2, delay_s: 5,";
    let mut sim = Sim::new(tank(vote), 1);
    // A 3 s spike on one transmitter: under the delay, no trip.
    sim.step([SimInput::InjectFault {
        id: "spike".into(),
        fault: FaultSpec::SensorBias { sensor: "lt-b".into(), bias: 40.0 },
        duration_s: Some(3.0),
    }]);
    sim.run_until(200, &[]);
    assert_eq!(tripped(&sim), None, "{}", story(sim.events()));
    // Held for longer than the delay: trips about 5 s after the condition began.
    sim.step([SimInput::InjectFault {
        id: "long".into(),
        fault: FaultSpec::SensorBias { sensor: "lt-b".into(), bias: 40.0 },
        duration_s: None,
    }]);
    let began = sim.tick() - 1;
    sim.run_until(began + 200, &[]);
    let trip = tripped(&sim).expect("a sustained condition trips");
    assert!((began + 49..=began + 52).contains(&trip), "tripped at {trip}, condition from {began}");
}

#[test]
fn a_vote_that_does_not_match_its_voters_is_rejected() {
    for (vote, message) in [
        ("voters: [lt-b, lt-c],", "say how they vote"),
        ("voters: [lt-b, lt-c], vote: 2oo2,", "expected MooN with N = 3"),
        ("voters: [lt-b], vote: 3oo2,", "expected MooN with N = 2"),
        ("delay_s: -1,", "delay_s must be"),
    ] {
        let err =
            Scenario::from_yaml("v.yaml", &tank_yaml(vote)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(message), "{vote}: {err}");
    }
}

/// A reactor cooled by a jacket: the outer loop holds the temperature by setting the inner
/// loop's coolant flow set point (0-100 m³/h), and the inner loop moves the valve.
fn cascade(outer_sp: f64) -> Arc<Scenario> {
    let yaml = format!(
        r#"
id: cascade
meta: {{ industry: other, level: 2, title: Cascade, brief: A jacketed reactor in cascade control }}
network:
  zones:
    - {{ id: ctl, name: Control, level: control }}
  hosts:
    - {{ id: local, name: Local panel, role: hmi, zone: ctl }}
process:
  model: lumped
  variables:
    - {{ id: temp, name: Temperature, unit: C, initial: 70, bounds: [0, 200], terms: [{{ gain: 1.0 }}, {{ gain: -0.02, of: [flow] }}] }}
    - {{ id: flow, name: Coolant flow, unit: m3/h, initial: 20, bounds: [0, 100], relax: {{ tau_s: 2, toward: 0 }}, terms: [{{ gain: 50, of: [valve] }}] }}
  actuators:
    - {{ id: valve, name: Coolant valve, kind: analog, stroke_s: 5, initial: 0.2, fail: 1 }}
  sensors:
    - {{ id: tt, name: Temperature, var: temp, range: [0, 200] }}
    - {{ id: ft, name: Coolant flow, var: flow, range: [0, 100] }}
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: {{ vendor: V, product: P, revision: "1" }}
    logic:
      - pi: {{ id: tc, pv: tt, setpoint: {outer_sp}, kp: 0.1, ki: 0.002, bias: 0.2, reverse: true }}
      - pi: {{ id: fc, pv: ft, setpoint: {{ cascade: tc, lo: 0, hi: 100 }}, kp: 0.005, ki: 0.02, bias: 0.2, output: valve }}
"#
    );
    Arc::new(Scenario::from_yaml("cascade.yaml", &yaml).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn a_cascade_settles_within_tolerance() {
    let mut sim = Sim::new(cascade(60.0), 1);
    sim.run_until(18_000, &[]);
    let (t, f) = (sim.true_value("temp").unwrap(), sim.true_value("flow").unwrap());
    assert!((t - 60.0).abs() < 0.5, "the outer loop holds the temperature: {t}");
    assert!((f - 50.0).abs() < 2.0, "the inner loop delivers the flow that balances the heat: {f}");
    // Held there: no oscillation over the next ten minutes.
    let mut worst: f64 = 0.0;
    for _ in 0..6000 {
        sim.step([]);
        worst = worst.max((sim.true_value("temp").unwrap() - 60.0).abs());
    }
    assert!(worst < 0.5, "settled, not oscillating: {worst}");

    // An outer loop that drives nothing and is no set point is an error.
    let orphan = tank_yaml("").replace(
        "    logic:\n",
        "    logic:\n      - pi: { id: lone, pv: lt-a, setpoint: 50, kp: 1, ki: 0 }\n",
    );
    let err = Scenario::from_yaml("o.yaml", &orphan).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("PI `lone` drives nothing"), "{err}");
}

#[test]
fn a_sequence_runs_its_steps() {
    let yaml = r#"
id: backwash
meta: { industry: other, level: 2, title: Backwash, brief: A filter backwash sequence }
network:
  zones:
    - { id: ctl, name: Control, level: control }
  hosts:
    - { id: local, name: Local panel, role: hmi, zone: ctl }
process:
  model: lumped
  variables:
    - { id: level, name: Filter level, unit: "%", initial: 50, bounds: [0, 100],
        terms: [{ gain: 0.5, of: [inlet] }, { gain: -0.5, of: [drain] }, { gain: 0.2, of: [bw_pump] }] }
  actuators:
    - { id: inlet, name: Inlet, kind: binary, stroke_s: 0, initial: 0, fail: 0 }
    - { id: drain, name: Drain, kind: binary, stroke_s: 0, initial: 0, fail: 0 }
    - { id: bw_pump, name: Backwash pump, kind: binary, stroke_s: 0, initial: 0, fail: 0 }
  sensors:
    - { id: lt, name: Level, var: level, range: [0, 100] }
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: { vendor: V, product: P, revision: "1" }
    coils:
      - { id: bw_start, addr: 0, name: Start backwash }
    logic:
      - sequence:
          id: backwash
          start: bw_start
          steps:
            - { id: drain, set: [{ actuator: inlet, value: 0 }, { actuator: drain, value: 1 }], until: { sensor: lt, below: 10 } }
            - { id: wash, set: [{ actuator: bw_pump, value: 1 }], after_s: 30 }
            - { id: refill, set: [{ actuator: bw_pump, value: 0 }, { actuator: drain, value: 0 }, { actuator: inlet, value: 1 }], until: { sensor: lt, above: 50 } }
            - { id: close, set: [{ actuator: inlet, value: 0 }], after_s: 1 }
"#;
    let s = Arc::new(Scenario::from_yaml("bw.yaml", yaml).unwrap_or_else(|e| panic!("{e}")));
    let mut sim = Sim::new(s, 1);
    sim.run_until(100, &[]);
    assert_eq!(sim.true_value("level"), Some(50.0), "idle: nothing moves");
    sim.step([SimInput::write_coils("plc1", "local", 0, vec![true])]);
    sim.run_until(6000, &[]);
    let steps: Vec<(u64, String)> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::SequenceStep { step, .. } => Some((e.tick, step.clone())),
            EventKind::SequenceEnded { .. } => Some((e.tick, "end".into())),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = steps.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(names, ["drain", "wash", "refill", "close", "end"], "{}", story(sim.events()));
    let at = |name: &str| steps.iter().find(|(_, s)| s == name).unwrap().0 as f64 / 10.0;
    // Draining 40 % at 0.5 %/s takes 80 s; the wash 30 s.
    assert!((at("wash") - at("drain") - 80.0).abs() < 1.0, "{steps:?}");
    assert!((at("refill") - at("wash") - 30.0).abs() < 0.5, "{steps:?}");
    assert!(!sim.plc("plc1").unwrap().memory.coils[0], "the start pushbutton clears itself");
    let level = sim.true_value("level").unwrap();
    assert!((50.0..51.5).contains(&level), "refilled and closed: {level}");
}

#[test]
fn permissives_and_delay_timers_gate_an_output() {
    let yaml = r#"
id: permit
meta: { industry: other, level: 2, title: Permissives, brief: A transfer pump with permissives and timers }
network:
  zones:
    - { id: ctl, name: Control, level: control }
  hosts:
    - { id: local, name: Local panel, role: hmi, zone: ctl }
process:
  model: lumped
  variables:
    - { id: level, name: Suction tank level, unit: "%", initial: 30, bounds: [0, 100], terms: [{ gain: -0.5, of: [pump] }] }
  actuators:
    - { id: pump, name: Transfer pump, kind: binary, stroke_s: 0, initial: 0, fail: 0 }
  sensors:
    - { id: lt, name: Level, var: level, range: [0, 100] }
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: { vendor: V, product: P, revision: "1" }
    coils:
      - { id: run, addr: 0, name: Run }
      - { id: valve_a, addr: 1, name: Discharge A open }
      - { id: valve_b, addr: 2, name: Discharge B open }
    logic:
      - follow: { coil: run, output: pump, on_delay_s: 5, off_delay_s: 3,
                  permit: { all: [{ sensor: lt, above: 10 }], any: [{ coil: valve_a }, { coil: valve_b }] } }
"#;
    let s = Arc::new(Scenario::from_yaml("permit.yaml", yaml).unwrap_or_else(|e| panic!("{e}")));
    let mut sim = Sim::new(s, 1);
    let coil = |addr: u16, on: bool| SimInput::write_coils("plc1", "local", addr, vec![on]);
    // Run, but no discharge path open: the OR permissive holds the pump off.
    sim.step([coil(0, true)]);
    sim.run_until(200, &[]);
    assert_eq!(sim.true_value("level"), Some(30.0), "no discharge valve open: no start");
    // Valve B opens: the pump starts after its 5 s on-delay.
    sim.step([coil(2, true)]);
    let opened = sim.tick() - 1;
    let mut started = None;
    for _ in 0..100 {
        sim.step([]);
        if started.is_none() && sim.true_value("level").unwrap() < 30.0 {
            started = Some(sim.tick() - 1);
        }
    }
    let started = started.expect("the pump starts");
    assert!((started - opened).abs_diff(50) <= 2, "on-delay of 5 s: {opened} -> {started}");
    // The level falls to the low permissive (10 %) and the pump stops 3 s later.
    sim.run_until(2000, &[]);
    let level = sim.true_value("level").unwrap();
    assert!((8.0..10.0).contains(&level), "the pump ran about 3 s past 10 %: {level}");
    // The run coil alone does not override the permissive.
    sim.run_until(2500, &[]);
    assert_eq!(sim.true_value("level"), Some(level));
}

#[test]
fn an_interlock_halts_another_plc_and_latches_a_coil() {
    let yaml = r#"
id: halt
meta: { industry: other, level: 2, title: Halt, brief: An SIS cutting a process PLC's outputs }
network:
  zones:
    - { id: ctl, name: Control, level: control }
  hosts:
    - { id: local, name: Local panel, role: hmi, zone: ctl }
process:
  model: lumped
  variables:
    - { id: level, name: Level, unit: "%", initial: 50, bounds: [0, 100], terms: [{ gain: 0.2, of: [inlet] }, { gain: -0.1 }] }
  actuators:
    - { id: inlet, name: Inlet pump, kind: binary, stroke_s: 0, initial: 1, fail: 0 }
  sensors:
    - { id: lshh, name: High-high switch, var: level, switch_above: 80 }
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: { vendor: V, product: P, revision: "1" }
    coils:
      - { id: run, addr: 0, name: Run, initial: true }
    logic:
      - follow: { coil: run, output: inlet }
  - id: sis
    name: SIS
    role: safety
    zone: ctl
    unit_id: 2
    device: { vendor: V, product: S, revision: "1" }
    coils:
      - { id: esd, addr: 0, name: ESD active }
      - { id: reset, addr: 1, name: Reset }
    logic:
      - interlock: { id: il-hh, pv: lshh, reset: reset, halt: [plc1], set_coils: [{ coil: esd, value: true }] }
"#;
    let s = Arc::new(Scenario::from_yaml("halt.yaml", yaml).unwrap_or_else(|e| panic!("{e}")));
    let mut sim = Sim::new(s, 1);
    sim.run_until(6000, &[]);
    let trip =
        sim.events().iter().find(|e| matches!(e.kind, EventKind::InterlockTripped { .. })).map(|e| e.tick);
    assert!(trip.is_some_and(|t| (2990..=3010).contains(&t)), "tripped at 80 %: {trip:?}");
    // plc1 still runs and still commands the pump, but its outputs are cut: the level falls.
    assert_eq!(sim.plc("plc1").unwrap().mode, icsdrill_engine::PlcMode::Run);
    assert!(sim.true_value("level").unwrap() < 60.0);
    assert!(sim.plc("sis").unwrap().memory.coils[0], "the ESD flag latched");
    // Reset (the condition has cleared): plc1's outputs are live again and the pump refills.
    sim.step([SimInput::write_coils("sis", "local", 1, vec![true])]);
    let low = sim.true_value("level").unwrap();
    sim.run_until(6500, &[]);
    assert!(sim.true_value("level").unwrap() > low + 3.0, "{}", story(sim.events()));
}

#[test]
fn a_split_range_output_heats_or_cools_and_feedforward_rejects_a_disturbance() {
    let yaml = |ff: &str| {
        format!(
            r#"
id: split
meta: {{ industry: other, level: 2, title: Split range, brief: A jacket heated or cooled by one loop }}
network:
  zones:
    - {{ id: ctl, name: Control, level: control }}
  hosts:
    - {{ id: local, name: Local panel, role: hmi, zone: ctl }}
process:
  model: lumped
  variables:
    - {{ id: temp, name: Temperature, unit: C, initial: 20, bounds: [-50, 200], relax: {{ tau_s: 100, toward: 20 }},
        terms: [{{ gain: 1.0, of: [heat] }}, {{ gain: -1.0, of: [cool] }}, {{ gain: 0.01, of: [load] }}] }}
    - {{ id: load, name: Heat load, unit: kW, initial: 0, bounds: [0, 100], relax: {{ tau_s: 2, toward: 0 }},
        terms: [{{ gain: 25, of: [feed] }}] }}
  actuators:
    - {{ id: heat, name: Steam valve, kind: analog, stroke_s: 0, initial: 0, fail: 0 }}
    - {{ id: cool, name: Cooling water valve, kind: analog, stroke_s: 0, initial: 0, fail: 1 }}
    - {{ id: feed, name: Exothermic feed, kind: binary, stroke_s: 0, initial: 0, fail: 0 }}
  sensors:
    - {{ id: tt, name: Temperature, var: temp, range: [-50, 200] }}
    - {{ id: jt, name: Heat load, var: load, range: [0, 100] }}
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: {{ vendor: V, product: P, revision: "1" }}
    coils:
      - {{ id: feed_on, addr: 0, name: Feed on }}
    holding_registers:
      - {{ id: sp, addr: 0, name: Set point, initial: 40, scale: 10, offset: -50 }}
    logic:
      - follow: {{ coil: feed_on, output: feed }}
      - pi: {{ id: tc, pv: tt, setpoint: sp, kp: 0.05, ki: 0.002, bias: 0.5, reverse: true,
              split: [{{ actuator: heat, from: 0.5, to: 0 }}, {{ actuator: cool, from: 0.5, to: 1 }}] {ff} }}
"#
        )
    };
    let s = Arc::new(Scenario::from_yaml("split.yaml", &yaml("")).unwrap_or_else(|e| panic!("{e}")));
    let mut sim = Sim::new(s, 1);
    sim.run_until(30_000, &[]);
    let t = sim.true_value("temp").unwrap();
    assert!((t - 40.0).abs() < 0.5, "heats to 40: {t}");
    assert!(sim.actuator_position("heat").unwrap() > 0.1 && sim.actuator_position("cool") == Some(0.0));
    // Set point 10, below ambient: the same loop now cools.
    sim.step([SimInput::write_registers("plc1", "local", 0, vec![600])]);
    sim.run_until(60_000, &[]);
    let t = sim.true_value("temp").unwrap();
    assert!((t - 10.0).abs() < 0.5, "cools to 10: {t}");
    assert!(sim.actuator_position("cool").unwrap() > 0.05 && sim.actuator_position("heat") == Some(0.0));

    // The exothermic feed starts (50 kW of heat): feed-forward on the measured load opens the
    // cooling at once, and the temperature strays far less than on feedback alone.
    let worst = |ff: &str| {
        let s = Arc::new(Scenario::from_yaml("ff.yaml", &yaml(ff)).unwrap_or_else(|e| panic!("{e}")));
        let mut sim = Sim::new(s, 1);
        sim.run_until(30_000, &[]);
        sim.step([SimInput::write_coils("plc1", "local", 0, vec![true])]);
        let mut worst: f64 = 0.0;
        for _ in 0..6000 {
            sim.step([]);
            worst = worst.max((sim.true_value("temp").unwrap() - 40.0).abs());
        }
        worst
    };
    let (without, with) = (worst(""), worst(", feedforward: { sensor: jt, gain: 0.005 }"));
    assert!(without > 2.0, "feedback alone lets the temperature stray: {without}");
    assert!(with < without / 2.0, "feed-forward halves the excursion at least: {with} vs {without}");
}

#[test]
fn a_low_select_override_caps_the_flow_until_the_level_loop_takes_over() {
    let yaml = r#"
id: select
meta: { industry: other, level: 2, title: Override, brief: A fill valve shared by a level loop and a flow limit }
network:
  zones:
    - { id: ctl, name: Control, level: control }
  hosts:
    - { id: local, name: Local panel, role: hmi, zone: ctl }
process:
  model: lumped
  variables:
    - { id: flow, name: Inflow, unit: m3/h, initial: 0, bounds: [0, 100], relax: { tau_s: 1, toward: 0 }, terms: [{ gain: 50, of: [valve] }] }
    - { id: level, name: Level, unit: "%", initial: 20, bounds: [0, 100], terms: [{ gain: 0.01, of: [flow] }, { gain: -0.1 }] }
  actuators:
    - { id: valve, name: Fill valve, kind: analog, stroke_s: 0, initial: 0, fail: 0 }
  sensors:
    - { id: ft, name: Inflow, var: flow, range: [0, 100] }
    - { id: lt, name: Level, var: level, range: [0, 100] }
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: { vendor: V, product: P, revision: "1" }
    logic:
      - pi: { id: lc, pv: lt, setpoint: 80, kp: 0.5, ki: 0.005, bias: 0.2 }
      - pi: { id: flow-limit, pv: ft, setpoint: 30, kp: 0.02, ki: 0.02, bias: 0.6 }
      - select: { id: fill, mode: min, from: [lc, flow-limit], output: valve }
"#;
    let s = Arc::new(Scenario::from_yaml("select.yaml", yaml).unwrap_or_else(|e| panic!("{e}")));
    let mut sim = Sim::new(s, 1);
    // Filling from 20 %: the level loop asks for a wide-open valve; the flow limit holds 30.
    sim.run_until(1200, &[]);
    let f = sim.true_value("flow").unwrap();
    assert!((f - 30.0).abs() < 1.5, "the override caps the inflow: {f}");
    assert!(sim.true_value("level").unwrap() < 75.0);
    // At the set point the level loop takes the valve back: 10 m3/h balances the outflow.
    sim.run_until(12_000, &[]);
    let (l, f) = (sim.true_value("level").unwrap(), sim.true_value("flow").unwrap());
    assert!((l - 80.0).abs() < 1.0 && (f - 10.0).abs() < 1.5, "level {l}, flow {f}");
}
