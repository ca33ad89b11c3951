//! Attacks on devices and hosts: a program download that adds malicious logic, firmware that
//! bricks a module until a spare is fitted, and a wiped host.

use std::sync::Arc;

use icsdrill_engine::input::EngineeringCommand;
use icsdrill_engine::{EventKind, RejectReason, Scenario, Sim, SimInput};

use crate::util::story;

/// A tank held between 40 and 60 % by `plc1`, with a safety PLC that shuts the inlet on a
/// high-level switch; the attacker has the engineering workstation.
fn plant(attack: &str) -> Arc<Scenario> {
    let yaml = format!(
        r#"
id: device-attacks
meta: {{ industry: other, level: 2, title: Device attacks, brief: A tank with its controller and SIS }}
network:
  zones:
    - {{ id: sup, name: Supervisory, level: supervisory }}
    - {{ id: ctl, name: Control, level: control }}
  conduits:
    - {{ id: c1, from: sup, to: ctl, allow_sources: [hmi, ews] }}
  hosts:
    - {{ id: hmi, name: HMI, role: hmi, zone: sup }}
    - {{ id: ews, name: EWS, role: ews, zone: sup }}
process:
  model: lumped
  variables:
    - {{ id: level, name: Level, unit: "%", initial: 50, bounds: [0, 100], safe: [5, 95], damage_above: 100,
        terms: [{{ gain: 0.2, of: [inlet] }}, {{ gain: -0.1 }}] }}
  actuators:
    - {{ id: inlet, name: Inlet, kind: binary, stroke_s: 0, initial: 1, fail: 0 }}
  sensors:
    - {{ id: lt-101, name: Level, var: level, range: [0, 100] }}
    - {{ id: lshh, name: High-high switch, var: level, switch_above: 90 }}
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: {{ vendor: V, product: P, revision: "1" }}
    program_backup: true
    input_registers:
      - {{ id: level_ir, addr: 0, name: Level, sensor: lt-101, scale: 100 }}
    logic:
      - on_off: {{ id: fill, pv: lt-101, low: 40, high: 60, output: inlet, action: fill }}
  - id: sis
    name: SIS
    role: safety
    zone: ctl
    unit_id: 2
    device: {{ vendor: V, product: S, revision: "1" }}
    logic:
      - interlock: {{ id: il-hh, pv: lshh, actions: [{{ actuator: inlet, value: 0 }}] }}
{attack}
"#,
        attack = if attack.is_empty() {
            String::new()
        } else {
            format!("attacker:\n  foothold: ews\nattack:\n{attack}")
        }
    );
    Arc::new(Scenario::from_yaml("devices.yaml", &yaml).unwrap_or_else(|e| panic!("{e}")))
}

fn has(sim: &Sim, f: impl Fn(&EventKind) -> bool) -> bool {
    sim.events().iter().any(|e| f(&e.kind))
}

#[test]
fn a_malicious_download_adds_logic_that_trips_the_plant() {
    let attack = r#"  - id: logic-bomb
    name: Append a block that holds the inlet open, armed 60 s after the download
    techniques: [T0843.003, T0831]
    when: { at_s: 30 }
    action: { download: { plc: plc1, add: [{ actuator: inlet, value: 1, after_s: 60 }] } }"#;
    let mut sim = Sim::new(plant(attack), 1);
    sim.run_until(800, &[]);
    assert!(has(
        &sim,
        |k| matches!(k, EventKind::ProgramChanged { plc, matches_backup: false, .. } if plc == "plc1")
    ));
    assert!(!has(&sim, |k| matches!(k, EventKind::InterlockTripped { .. })), "armed, not yet acting");
    sim.run_until(6000, &[]);
    // The added block holds the inlet open against the fill loop: the level climbs to the
    // high-high switch and the SIS trips the plant.
    assert!(
        has(&sim, |k| matches!(k, EventKind::InterlockTripped { interlock, .. } if interlock == "il-hh")),
        "{}",
        story(sim.events())
    );
    assert!(!has(&sim, |k| matches!(k, EventKind::Damage { .. })));

    // Restoring the program from its backup removes the added block.
    let mut sim = Sim::new(plant(attack), 1);
    sim.run_until(400, &[]);
    sim.step([SimInput::RestoreProgram { plc: "plc1".into() }]);
    sim.run_until(6000, &[]);
    assert!(!has(&sim, |k| matches!(k, EventKind::InterlockTripped { .. })), "{}", story(sim.events()));
    assert_eq!(sim.plc("plc1").unwrap().program_hash, sim.scenario().plcs[0].program_hash);
}

#[test]
fn a_download_may_drive_only_outputs_its_plc_is_wired_to() {
    let mut sim = Sim::new(plant(""), 1);
    let add = |actuator: &str| SimInput::Engineering {
        plc: "sis".into(),
        source: "ews".into(),
        command: EngineeringCommand::Download {
            disable: Vec::new(),
            add: vec![icsdrill_engine::input::Implant {
                actuator: actuator.into(),
                value: 1.0,
                after_s: 0.0,
            }],
        },
    };
    assert_eq!(sim.step_outcomes([add("inlet")]), [Ok(())]);
    let mut sim = Sim::new(plant(""), 1);
    assert_eq!(sim.step_outcomes([add("nowhere")]), [Err(RejectReason::UnknownTarget)]);
}

#[test]
fn corrupt_firmware_bricks_a_module_until_a_spare_is_fitted() {
    let attack = r#"  - id: brick
    name: Flash corrupt firmware to the level controller
    techniques: [T0857]
    when: { at_s: 10 }
    action: { modify_firmware: { plc: plc1 } }"#;
    let mut sim = Sim::new(plant(attack), 1);
    sim.run_until(300, &[]);
    assert!(has(&sim, |k| matches!(k, EventKind::FirmwareModified { plc } if plc == "plc1")));
    assert!(sim.snapshot().plcs[0].restarting, "a bricked PLC answers nobody");
    // A restart does not help; its outputs sit at their fail positions and the tank drains.
    assert_eq!(
        sim.step_outcomes([SimInput::RestartPlc { plc: "plc1".into() }]),
        [Err(RejectReason::ModuleFailed)]
    );
    sim.run_until(3000, &[]);
    assert!(sim.true_value("level").unwrap() < 30.0);
    // A spare module boots with the backed-up program and takes control again.
    sim.step([SimInput::ReplaceModule { plc: "plc1".into() }]);
    sim.run_until(9000, &[]);
    assert!(has(&sim, |k| matches!(k, EventKind::ModuleReplaced { .. })));
    assert!(!sim.snapshot().plcs[0].restarting);
    assert!((39.0..61.0).contains(&sim.true_value("level").unwrap()), "{}", sim.true_value("level").unwrap());
}

#[test]
fn a_wiped_host_sends_nothing_until_it_is_re_imaged() {
    let attack = r#"  - id: wipe
    name: Wipe the HMI's disks
    techniques: [T0809]
    when: { at_s: 10 }
    action: { wipe_host: { host: hmi } }"#;
    let mut sim = Sim::new(plant(attack), 1);
    sim.run_until(200, &[]);
    assert!(has(&sim, |k| matches!(k, EventKind::HostWiped { host } if host == "hmi")));
    let write = SimInput::write_registers("plc1", "hmi", 0, vec![1]);
    assert_eq!(sim.step_outcomes([write.clone()]), [Err(RejectReason::HostWiped)]);
    sim.step([SimInput::ReimageHost { host: "hmi".into() }]);
    assert!(has(&sim, |k| matches!(k, EventKind::HostReimaged { .. })));
    assert_ne!(sim.step_outcomes([write]), [Err(RejectReason::HostWiped)]);
}

#[test]
fn a_modified_program_can_falsify_its_own_inputs_until_it_is_restored() {
    let mut sim = Sim::new(plant(""), 1);
    let forge = SimInput::ForgeSensor {
        sensor: "lt-101".into(),
        source: "ews".into(),
        value: None,
        replay_s: Some(20.0),
    };
    // From the supervisory zone the field signal is out of reach...
    assert_eq!(sim.step_outcomes([forge.clone()]), [Err(RejectReason::NotOnPath)]);
    // ...until the PLC runs a program the attacker changed (Stuxnet's way).
    let download = SimInput::Engineering {
        plc: "plc1".into(),
        source: "ews".into(),
        command: EngineeringCommand::Download {
            disable: Vec::new(),
            add: vec![icsdrill_engine::input::Implant {
                actuator: "inlet".into(),
                value: 1.0,
                after_s: 3600.0,
            }],
        },
    };
    assert_eq!(sim.step_outcomes([download, forge]), [Ok(()), Ok(())]);
    sim.run_until(3000, &[]);
    assert!(has(&sim, |k| matches!(k, EventKind::SensorForged { replay: true, .. })));
    assert!(!has(&sim, |k| matches!(k, EventKind::SensorRestored { .. })));
    // Restoring the program ends the replay with it.
    sim.step([SimInput::RestoreProgram { plc: "plc1".into() }]);
    assert!(has(&sim, |k| matches!(k, EventKind::SensorRestored { sensor } if sensor == "lt-101")));
    sim.step([]);
    assert!((sim.measured("lt-101").unwrap() - sim.true_value("level").unwrap()).abs() < 1e-9);
}

#[test]
fn a_frozen_display_hides_a_real_change_and_a_blank_one_shows_nothing_until_re_imaged() {
    use icsdrill_engine::snapshot::Screen;
    let attack = r#"  - id: freeze
    name: Freeze the operator station's displays
    techniques: [T0815]
    when: { at_s: 10 }
    action: { deny_view: { host: hmi } }
  - id: blank
    name: Then blank them
    techniques: [T0829]
    when: { at_s: 200 }
    action: { deny_view: { host: hmi, blank: true } }"#;
    let mut sim = Sim::new(plant(attack), 1);
    sim.run_until(150, &[]);
    assert!(has(&sim, |k| matches!(k, EventKind::ViewDenied { host, blank: false } if host == "hmi")));
    let frozen = sim.snapshot().readings().expect("a frozen display still shows something");
    assert_eq!(frozen.tick, 100, "the displays froze when the step ran");
    // The plant moves on (the on/off loop cycles the inlet) while the screen stays put.
    sim.run_until(1500, &[]);
    let later = sim.snapshot();
    assert_eq!(later.readings().unwrap(), frozen, "nothing on a frozen screen moves");
    assert_ne!(later.field.sensors, frozen.field.sensors, "the plant itself moved on");
    // Blanking: the operators see nothing at all.
    sim.run_until(2100, &[]);
    assert_eq!(sim.snapshot().screen, Screen::Blank);
    assert_eq!(sim.snapshot().readings(), None);
    // Re-imaging the station brings the live view back.
    sim.step([SimInput::ReimageHost { host: "hmi".into() }]);
    assert!(has(&sim, |k| matches!(k, EventKind::HostReimaged { host } if host == "hmi")));
    assert_eq!(sim.snapshot().screen, Screen::Live);
    // Only operator stations have displays to deny.
    let deny = |host: &str| SimInput::DenyView { host: host.into(), source: "ews".into(), blank: false };
    assert_eq!(sim.step_outcomes([deny("ews")]), [Err(RejectReason::UnknownTarget)]);
    assert_eq!(sim.step_outcomes([deny("hmi")]), [Ok(())]);
}

#[test]
fn a_wiped_operator_station_is_a_loss_of_view() {
    let mut sim = Sim::new(plant(""), 1);
    sim.step([SimInput::WipeHost { host: "hmi".into(), source: "ews".into() }]);
    assert_eq!(sim.snapshot().readings(), None);
    sim.step([SimInput::ReimageHost { host: "hmi".into() }]);
    assert!(sim.snapshot().readings().is_some());
}

#[test]
fn local_control_at_the_field_panel_runs_a_bricked_plcs_actuator_but_not_against_a_trip() {
    let local = |p: Option<f64>| SimInput::LocalControl { actuator: "inlet".into(), position: p };
    let mut sim = Sim::new(plant(""), 1);
    // The controller is bricked: its outputs fall to their fail positions and the tank drains.
    sim.step([SimInput::Engineering {
        plc: "plc1".into(),
        source: "ews".into(),
        command: EngineeringCommand::ModifyFirmware,
    }]);
    sim.run_until(600, &[]);
    assert_eq!(sim.snapshot().field.actuators[0], 0.0);
    // An operator at the field panel opens the inlet by hand: the level rises again.
    assert_eq!(sim.step_outcomes([local(Some(1.0))]), [Ok(())]);
    assert!(has(
        &sim,
        |k| matches!(k, EventKind::LocalControl { actuator, position: Some(p) } if actuator == "inlet" && *p == 1.0)
    ));
    let before = sim.true_value("level").unwrap();
    sim.run_until(1200, &[]);
    assert!(sim.true_value("level").unwrap() > before + 5.0);
    assert_eq!(sim.snapshot().local[0], Some(1.0));
    // Left open by hand the tank fills up to the high-high switch: the trip still closes it.
    sim.run_until(6000, &[]);
    assert!(has(
        &sim,
        |k| matches!(k, EventKind::InterlockTripped { interlock, .. } if interlock == "il-hh")
    ));
    assert_eq!(sim.snapshot().field.actuators[0], 0.0, "a tripped interlock wins over the field panel");
    assert!(!has(&sim, |k| matches!(k, EventKind::Damage { .. })), "{}", story(sim.events()));
    // Bad positions are refused; back to remote hands it to the PLC again.
    assert_eq!(sim.step_outcomes([local(Some(1.5))]), [Err(RejectReason::IllegalValue)]);
    assert_eq!(sim.step_outcomes([local(None)]), [Ok(())]);
    assert_eq!(sim.snapshot().local[0], None);
}
