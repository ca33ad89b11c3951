//! Attacks at the I/O level: false field data the PLC logic acts on, and replayed readings
//! that hide a real change from the HMI.

use std::sync::Arc;

use icsdrill_engine::{EventKind, Scenario, Sim, SimInput};

use crate::util::story;

/// A tank held between 40 and 60 % by an on/off fill loop on `lt-101`, with an independent
/// level switch the loop does not use; the attacker sits on the control zone's field network
/// (`rio-gw`, a remote I/O gateway) and runs `attack`.
fn tank(attack: &str) -> Arc<Scenario> {
    let yaml = format!(
        r#"
id: io-attacks
meta: {{ industry: other, level: 2, title: I/O attacks, brief: A tank whose level transmitter is forged }}
network:
  zones:
    - {{ id: sup, name: Supervisory, level: supervisory }}
    - {{ id: ctl, name: Control, level: control }}
  conduits:
    - {{ id: c1, from: sup, to: ctl, allow_sources: [hmi], allow_functions: [3, 4] }}
  hosts:
    - {{ id: hmi, name: HMI, role: hmi, zone: sup }}
    - {{ id: rio-gw, name: Remote I/O gateway, role: server, zone: ctl }}
process:
  model: lumped
  variables:
    - {{ id: level, name: Level, unit: "%", initial: 50, bounds: [0, 100], safe: [5, 95], damage_above: 100,
        terms: [{{ gain: 0.2, of: [inlet] }}, {{ gain: -0.1 }}] }}
  actuators:
    - {{ id: inlet, name: Inlet, kind: binary, stroke_s: 0, initial: 1, fail: 0 }}
  sensors:
    - {{ id: lt-101, name: Level, var: level, range: [0, 100] }}
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: {{ vendor: V, product: P, revision: "1" }}
    input_registers:
      - {{ id: level_ir, addr: 0, name: Level, sensor: lt-101, scale: 100 }}
    logic:
      - on_off: {{ id: fill, pv: lt-101, low: 40, high: 60, output: inlet, action: fill }}
{attack}
"#,
        attack = if attack.is_empty() {
            String::new()
        } else {
            format!("attacker:\n  foothold: rio-gw\nattack:\n{attack}")
        }
    );
    Arc::new(Scenario::from_yaml("io.yaml", &yaml).unwrap_or_else(|e| panic!("{e}")))
}

fn damaged(sim: &Sim) -> bool {
    sim.events().iter().any(|e| matches!(e.kind, EventKind::Damage { .. }))
}

/// The level the HMI reads from the PLC's input register.
fn hmi_level(sim: &Sim) -> f64 {
    f64::from(sim.plc("plc1").unwrap().memory.input[0]) / 100.0
}

#[test]
fn forged_field_data_makes_the_plc_act_wrongly_while_the_tank_overflows() {
    let forge = r#"  - id: forge-level
    name: Report the tank nearly empty at the remote I/O
    techniques: [T0856, T0832]
    when: { at_s: 60 }
    action: { forge_sensor: { sensor: lt-101, value: 30 } }"#;
    // Unforged, the loop holds the level.
    let mut calm = Sim::new(tank(""), 1);
    calm.run_until(36_000, &[]);
    assert!(!damaged(&calm));
    assert!((39.0..61.0).contains(&calm.true_value("level").unwrap()));

    let mut sim = Sim::new(tank(forge), 1);
    sim.run_until(10_000, &[]);
    // The PLC logic reads 30 %: below its low limit, it keeps filling...
    assert_eq!(sim.measured("lt-101"), Some(30.0));
    assert!(
        sim.events().iter().any(
            |e| matches!(&e.kind, EventKind::SensorForged { sensor, replay: false } if sensor == "lt-101")
        )
    );
    // ...and the HMI reads the same 30 % from the PLC, while the true level overflows.
    assert!((hmi_level(&sim) - 30.0).abs() < 0.01, "{}", hmi_level(&sim));
    assert_eq!(sim.true_value("level"), Some(100.0));
    assert!(damaged(&sim), "{}", story(sim.events()));
}

#[test]
fn isolating_the_forging_host_or_restoring_the_signal_ends_the_forgery() {
    let forge = r#"  - id: forge-level
    name: Report the tank half empty
    techniques: [T0856]
    when: { at_s: 10 }
    action: { forge_sensor: { sensor: lt-101, value: 45 } }"#;
    for defence in
        [SimInput::IsolateHost { host: "rio-gw".into() }, SimInput::RestoreSensor { sensor: "lt-101".into() }]
    {
        let mut sim = Sim::new(tank(forge), 1);
        sim.run_until(300, &[]);
        assert_eq!(sim.measured("lt-101"), Some(45.0));
        sim.step([defence.clone()]);
        sim.run_until(3000, &[]);
        assert!(
            (sim.measured("lt-101").unwrap() - sim.true_value("level").unwrap()).abs() < 1e-9,
            "{defence:?}"
        );
        assert!(
            sim.events().iter().any(|e| matches!(e.kind, EventKind::SensorRestored { .. })),
            "{defence:?}"
        );
        assert!(!damaged(&sim), "{defence:?}");
    }
}

#[test]
fn a_forgery_needs_a_foothold_on_the_field_network() {
    let mut sim = Sim::new(tank(""), 1);
    let from_hmi = SimInput::ForgeSensor {
        sensor: "lt-101".into(),
        source: "hmi".into(),
        value: Some(1.0),
        replay_s: None,
    };
    let out = sim.step_outcomes([from_hmi]);
    assert_eq!(out, [Err(icsdrill_engine::RejectReason::NotOnPath)]);
}

#[test]
fn replayed_readings_hide_a_real_change_from_the_hmi() {
    // Record 20 s of normal readings, then loop them while the inlet is driven open (a
    // forced write from the engineering side is not needed: the replay alone blinds the loop
    // and the operators, and the loop sees a level that never reaches its high limit).
    let replay = r#"  - id: record-and-replay
    name: Record the level for 20 s, then play it back
    techniques: [T0856]
    when: { at_s: 30 }
    action: { forge_sensor: { sensor: lt-101, replay_s: 20 } }"#;
    let mut sim = Sim::new(tank(replay), 1);
    sim.run_until(300 + 200, &[]);
    // While recording the readings pass through.
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for _ in 0..2000 {
        sim.step([]);
        let seen = hmi_level(&sim);
        lo = lo.min(seen);
        hi = hi.max(seen);
    }
    let truth = sim.true_value("level").unwrap();
    assert!(sim.events().iter().any(|e| matches!(&e.kind, EventKind::SensorForged { replay: true, .. })));
    // The HMI keeps showing the recorded band (what the level did in the recorded 20 s)...
    assert!(hi - lo < 5.0 && hi < 61.0 && lo > 39.0, "HMI showed {lo}..{hi}");
    // ...while the true level has left it.
    assert!(truth > hi + 10.0 || truth < lo - 10.0, "true {truth}, HMI {lo}..{hi}\n{}", story(sim.events()));
}
