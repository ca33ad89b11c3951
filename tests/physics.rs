//! Process physics on purpose-built plants: relief devices, sensor dead time and lag, damage
//! by time at condition, and hysteresis on limit events.

use std::sync::Arc;

use icsdrill_engine::{EventKind, Scenario, Sim, SimInput};

use crate::util::story;

/// A one-PLC plant around `process` (YAML of the `process:` section's body, indented two
/// spaces) whose PLC `plc1` drives actuator `a` from coil 0 (a `follow` block).
fn plant(process: &str) -> Arc<Scenario> {
    let yaml = format!(
        r#"
id: physics
meta: {{ industry: other, level: 2, title: Physics, brief: A plant for physics tests }}
network:
  zones:
    - {{ id: ctl, name: Control, level: control }}
  hosts:
    - {{ id: local, name: Local panel, role: hmi, zone: ctl }}
process:
  model: lumped
{process}
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: {{ vendor: V, product: P, revision: "1" }}
    coils:
      - {{ id: run, addr: 0, name: Run }}
    logic:
      - follow: {{ coil: run, output: a }}
"#
    );
    Arc::new(Scenario::from_yaml("physics.yaml", &yaml).unwrap_or_else(|e| panic!("{e}")))
}

fn coil(on: bool) -> SimInput {
    SimInput::write_coils("plc1", "local", 0, vec![on])
}

fn count(sim: &Sim, f: impl Fn(&EventKind) -> bool) -> usize {
    sim.events().iter().filter(|e| f(&e.kind)).count()
}

/// A vessel whose feed raises the pressure 0.05 bar/s whatever happens; damage at 12 bar.
fn vessel(reliefs: &str) -> Arc<Scenario> {
    plant(&format!(
        r#"  variables:
    - {{ id: p, name: Pressure, unit: bar, initial: 5, bounds: [0, 20], safe: [0, 10.5], damage_above: 12,
        terms: [{{ gain: 0.05 }}] }}
  actuators:
    - {{ id: a, name: Feed, kind: binary, stroke_s: 0, initial: 1, fail: 1 }}
  sensors:
    - {{ id: pt, name: Pressure, var: p, range: [0, 20] }}
{reliefs}"#
    ))
}

#[test]
fn a_relief_valve_holds_pressure_below_its_damage_limit() {
    let psv = "  reliefs:\n    - { id: psv-1, name: PSV, kind: psv, var: p, set: 11, reseat: 10.4, capacity: 0.2 }\n";
    let mut sim = Sim::new(vessel(psv), 1);
    let mut highest: f64 = 0.0;
    for _ in 0..36_000 {
        sim.step([]);
        highest = highest.max(sim.true_value("p").unwrap());
    }
    assert_eq!(count(&sim, |k| matches!(k, EventKind::Damage { .. })), 0, "{}", story(sim.events()));
    assert!(highest < 11.1, "the PSV caps the pressure near its set value: {highest}");
    let lifts = count(&sim, |k| matches!(k, EventKind::ReliefOpened { relief, .. } if relief == "psv-1"));
    let reseats = count(&sim, |k| matches!(k, EventKind::ReliefClosed { .. }));
    assert!(
        lifts >= 2 && (lifts - reseats) <= 1,
        "the PSV lifts and reseats: {lifts} lifts, {reseats} reseats"
    );

    // Without it the same plant is damaged; with a rupture disc the pressure falls away and
    // the disc stays open.
    let mut bare = Sim::new(vessel(""), 1);
    bare.run_until(36_000, &[]);
    assert_eq!(count(&bare, |k| matches!(k, EventKind::Damage { .. })), 1);
    let disc =
        "  reliefs:\n    - { id: rd-1, name: Disc, kind: rupture_disc, var: p, set: 11.5, capacity: 0.5 }\n";
    let mut sim = Sim::new(vessel(disc), 1);
    sim.run_until(36_000, &[]);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::Damage { .. })), 0);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::ReliefOpened { .. })), 1);
    assert_eq!(count(&sim, |k| matches!(k, EventKind::ReliefClosed { .. })), 0, "a burst disc stays open");
    assert_eq!(sim.true_value("p"), Some(0.0));
}

#[test]
fn a_sensor_with_dead_time_and_lag_follows_the_true_value_late() {
    // The true value steps from 0 to 10 within a second when the coil turns on (halving the
    // distance every tick).
    let s = plant(
        r#"  variables:
    - { id: x, name: Concentration, unit: "%", initial: 0, bounds: [0, 100], relax: { tau_s: 0.2, toward: 0 },
        terms: [{ gain: 50, of: [a] }] }
  actuators:
    - { id: a, name: Valve, kind: binary, stroke_s: 0, initial: 0, fail: 0 }
  sensors:
    - { id: fast, name: Direct, var: x, range: [0, 100] }
    - { id: slow, name: Analyser, var: x, range: [0, 100], dead_time_s: 5, lag_s: 10 }"#,
    );
    let mut sim = Sim::new(s, 1);
    sim.run_until(100, &[]);
    sim.step([coil(true)]);
    // `sim.tick() - 1` is the tick just computed.
    let start = sim.tick();
    while sim.true_value("x").unwrap() == 0.0 {
        sim.step([]);
        assert!(sim.tick() < start + 20, "the step never came");
    }
    let rise = sim.tick() - 1;
    sim.run_until(rise + 20, &[]);
    assert!((sim.measured("fast").unwrap() - 10.0).abs() < 1e-3, "the direct sensor follows at once");
    // Dead time: nothing for 5 s.
    while sim.tick() - 1 < rise + 50 {
        assert_eq!(sim.measured("slow"), Some(0.0), "tick {}", sim.tick() - 1);
        sim.step([]);
    }
    assert!(sim.measured("slow").unwrap() > 0.0, "the reading moves after the dead time");
    // Then the lag: 63 % of the step one time constant later, all of it after five.
    sim.run_until(rise + 50 + 100 + 1, &[]);
    let one_tau = sim.measured("slow").unwrap();
    assert!((one_tau - 6.32).abs() < 0.35, "one time constant after the dead time: {one_tau}");
    sim.run_until(rise + 50 + 500 + 1, &[]);
    let five_tau = sim.measured("slow").unwrap();
    assert!((five_tau - 10.0).abs() < 0.1, "five time constants: {five_tau}");
}

/// A winding heated to 100 °C while the coil is on, 0 otherwise; damaged after 60 s at or
/// above 80 °C in all, or instantly above 150.
fn winding() -> Arc<Scenario> {
    plant(
        r#"  variables:
    - { id: t, name: Winding temperature, unit: C, initial: 0, bounds: [0, 200], damage_above: 150,
        damage_dose: { above: 80, for_s: 60 }, relax: { tau_s: 0.2, toward: 0 }, terms: [{ gain: 500, of: [a] }] }
  actuators:
    - { id: a, name: Heater, kind: binary, stroke_s: 0, initial: 0, fail: 0 }
  sensors:
    - { id: tt, name: Temperature, var: t, range: [0, 200] }"#,
    )
}

#[test]
fn time_at_condition_damages_and_short_excursions_do_not() {
    let mut sim = Sim::new(winding(), 1);
    let damaged = |sim: &Sim| count(sim, |k| matches!(k, EventKind::Damage { .. }));
    // Two excursions of 20 s: 40 s at condition in all, no damage.
    for _ in 0..2 {
        sim.step([coil(true)]);
        let until = sim.tick() + 200;
        sim.run_until(until, &[]);
        sim.step([coil(false)]);
        let until = sim.tick() + 300;
        sim.run_until(until, &[]);
    }
    assert_eq!(damaged(&sim), 0, "{}", story(sim.events()));
    assert!(sim.true_value("t").unwrap() < 1.0);
    // A third of 30 s: the dose reaches 60 s part way through.
    sim.step([coil(true)]);
    let on = sim.tick();
    sim.run_until(on + 300, &[]);
    assert_eq!(damaged(&sim), 1, "{}", story(sim.events()));
    let e = sim.events().iter().find(|e| matches!(e.kind, EventKind::Damage { .. })).unwrap();
    let EventKind::Damage { limit, dose_s, .. } = &e.kind else { unreachable!() };
    assert_eq!(*limit, 80.0);
    assert!(dose_s.is_some_and(|d| (60.0..60.2).contains(&d)), "{dose_s:?}");
    assert!(
        e.tick > on + 150 && e.tick < on + 250,
        "about 20 s into the third excursion: {} vs {on}",
        e.tick
    );
}

/// A value that alternates between about 49.97 and 50.03 every tick, on a safe limit of 50.
fn dither(deadband: &str) -> Arc<Scenario> {
    plant(&format!(
        r#"  variables:
    - {{ id: x, name: X, unit: "%", initial: 49.9, bounds: [0, 100], safe: [0, 50], {deadband}
        relax: {{ tau_s: 0.2, toward: 49.9 }}, terms: [{{ gain: 1, of: [a] }}] }}
  actuators:
    - {{ id: a, name: A, kind: binary, stroke_s: 0, initial: 0, fail: 0 }}
  sensors:
    - {{ id: xt, name: X, var: x, range: [0, 100] }}"#
    ))
}

#[test]
fn a_value_dithering_on_a_limit_logs_one_excursion_not_a_storm() {
    let limit_events = |deadband: &str| {
        let mut sim = Sim::new(dither(deadband), 1);
        for i in 0..400 {
            sim.step([coil(i % 2 == 0)]);
        }
        let (mut above, mut below) = (false, false);
        for _ in 0..10 {
            sim.step([]);
            let x = sim.true_value("x").unwrap();
            above |= x > 50.0;
            below |= x < 50.0;
        }
        assert!(above || below);
        (
            count(&sim, |k| matches!(k, EventKind::LimitExceeded { .. })),
            count(&sim, |k| matches!(k, EventKind::LimitCleared { .. })),
        )
    };
    // The default deadband (0.5 % of the range) holds the excursion open while it dithers.
    assert_eq!(limit_events(""), (1, 0));
    // Without hysteresis the same signal is a storm.
    let (exceeded, cleared) = limit_events("limit_deadband: 0,");
    assert!(exceeded > 50 && cleared > 50, "{exceeded} {cleared}");
}

#[test]
fn formulas_and_lookup_tables_drive_the_process() {
    // A tank draining through a valve: outflow ~ sqrt(head) times the valve's installed
    // characteristic (equal percentage, from a table). Torricelli: sqrt(h) falls linearly, so
    // from 100 % to 25 % takes 2 (10 - 5) / k seconds, 200 s for k = 0.05.
    let s = plant(
        r#"  tables:
    - { id: cv, points: [[0, 0], [0.5, 0.2], [1, 1]] }
  variables:
    - { id: level, name: Level, unit: "%", initial: 100, bounds: [0, 100], terms: [{ gain: -0.05, expr: "sqrt(level) * cv(b)" }] }
  actuators:
    - { id: a, name: Spare, kind: binary, stroke_s: 0, initial: 0, fail: 0 }
    - { id: b, name: Outlet valve, kind: analog, stroke_s: 0, initial: 1, fail: 1 }
  sensors:
    - { id: lt, name: Level, var: level, range: [0, 100] }"#,
    );
    let mut sim = Sim::new(s, 1);
    let mut t25 = None;
    for _ in 0..4000 {
        sim.step([]);
        if t25.is_none() && sim.true_value("level").unwrap() <= 25.0 {
            t25 = Some(sim.tick() as f64 / 10.0);
        }
    }
    let t25 = t25.expect("the tank drains");
    assert!((t25 - 200.0).abs() < 2.0, "Torricelli: 200 s, got {t25}");

    // Errors in a formula are located and say what is wrong.
    let bad = r#"  variables:
    - { id: level, name: Level, unit: "%", initial: 100, bounds: [0, 100], terms: [{ expr: "sqrt(level) * nope(a)" }] }
  actuators:
    - { id: a, name: Valve, kind: analog, stroke_s: 0, initial: 1, fail: 1 }"#;
    let yaml = format!(
        "id: x\nmeta: {{ industry: other, level: 2, title: X, brief: X }}\nnetwork:\n  zones: [{{ id: ctl, name: C, level: control }}]\n  hosts: []\nprocess:\n  model: lumped\n{bad}\nplcs: []\n"
    );
    let err = Scenario::from_yaml("bad.yaml", &yaml).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("bad.yaml:") && err.contains("unknown function `nope`"), "{err}");
}
