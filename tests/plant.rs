//! Engine behaviour on a small purpose-built plant: the firewall, range checks, modes, faults,
//! interlock reset, manual mode.

use icsdrill_engine::input::FaultSpec;
use icsdrill_engine::input::ModbusTransaction;
use icsdrill_engine::{EventKind, PlcMode, RejectReason, Sim, SimInput};

use crate::util::{mini, story};

fn regs(source: &str, addr: u16, values: &[u16]) -> SimInput {
    SimInput::write_registers("plc1", source, addr, values.to_vec())
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
        EventKind::ModbusTransaction(ModbusTransaction { reason, exception, .. }) => {
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
        (SimInput::write_registers("plc9", "ews", 0, vec![1]), Some(RejectReason::UnknownPlc)),
        (SimInput::write_coils("plc1", "hmi", 0, vec![true]), None),
        (SimInput::write_coils("plc1", "hmi", 0, vec![true, false]), Some(RejectReason::FunctionNotAllowed)), // FC 15
        (SimInput::write_coils("plc1", "local", 3, vec![true, false]), Some(RejectReason::IllegalAddress)),
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
    sim.step([freeze.clone(), SimInput::write_coils("plc1", "hmi", 1, vec![false])]);
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
        SimInput::write_coils("plc1", "hmi", 0, vec![true]),
        SimInput::write_coils("plc1", "hmi", 1, vec![false]),
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
    sim.step([SimInput::write_coils("plc1", "local", 3, vec![true])]);
    sim.run_until(1210, &[]);
    assert!(!sim.plc("plc1").unwrap().memory.coils[3]);
    assert!(!sim.events().iter().any(|e| matches!(e.kind, EventKind::InterlockReset { .. })));
    // Pump on drains the tank below the switch, then the reset works.
    sim.step([SimInput::write_coils("plc1", "hmi", 1, vec![true])]);
    sim.run_until(1400, &[]);
    sim.step([SimInput::write_coils("plc1", "local", 3, vec![true])]);
    sim.run_until(1420, &[]);
    assert!(
        sim.events().iter().any(|e| matches!(e.kind, EventKind::InterlockReset { .. })),
        "{}",
        story(sim.events())
    );
    // Bypassed, the same conditions overflow the tank.
    sim.step([
        SimInput::write_coils("plc1", "local", 2, vec![true]),
        SimInput::write_coils("plc1", "hmi", 1, vec![false]),
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

#[test]
fn read_records_fold_and_every_input_gets_its_outcome() {
    let mut sim = Sim::new(mini(), 1);
    let read = |addr: u16, exception: Option<u8>, reason: Option<RejectReason>| {
        SimInput::ModbusRequest(ModbusTransaction {
            values: Vec::new(),
            plc: "plc1".into(),
            source: "hmi".into(),
            function: 3,
            addr,
            count: 1,
            exception,
            reason,
            unit: None,
            repeat: 1,
        })
    };
    let outcomes = sim.step_outcomes([
        read(0, None, None),
        read(0, None, None),
        regs("local", 5, &[1]),
        read(0, None, None),
        read(9, Some(2), Some(RejectReason::IllegalAddress)),
        SimInput::ModbusDiagnostic { plc: "plc1".into(), source: "local".into(), sub_function: 4 },
    ]);
    assert_eq!(
        outcomes,
        [
            Ok(()),
            Ok(()),
            Err(RejectReason::IllegalAddress),
            Ok(()),
            Err(RejectReason::IllegalAddress),
            Ok(())
        ]
    );
    let transactions: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ModbusTransaction(ModbusTransaction { function, addr, repeat, exception, .. }) => {
                Some((*function, *addr, *repeat, *exception))
            }
            _ => None,
        })
        .collect();
    assert_eq!(transactions, [(3, 0, 3, None), (6, 5, 1, Some(2)), (3, 9, 1, Some(2)), (8, 4, 1, None)]);
    assert!(sim.plc("plc1").unwrap().listen_only);
    // In listen-only mode the PLC ignores writes until communications restart.
    assert_eq!(sim.step_outcomes([regs("local", 0, &[500])]), [Err(RejectReason::ListenOnly)]);
    let restart = SimInput::ModbusDiagnostic { plc: "plc1".into(), source: "local".into(), sub_function: 1 };
    assert_eq!(sim.step_outcomes([restart, regs("local", 0, &[500])]), [Ok(()), Ok(())]);
}

#[test]
fn defender_actions_change_what_passes() {
    let mut sim = Sim::new(mini(), 1);
    let write = |source: &str, value: u16| regs(source, 0, &[value]);
    let step = |sim: &mut Sim, input: SimInput| sim.step_outcomes([input]).remove(0);
    // Block the HMI on the conduit: its writes are refused, the EWS's still pass.
    assert_eq!(step(&mut sim, SimInput::BlockSource { conduit: "c1".into(), host: "hmi".into() }), Ok(()));
    assert_eq!(step(&mut sim, write("hmi", 500)), Err(RejectReason::SourceNotAllowed));
    assert_eq!(step(&mut sim, write("ews", 500)), Ok(()));
    // Only reads through the conduit from now on.
    assert_eq!(
        step(&mut sim, SimInput::AllowFunctions { conduit: "c1".into(), functions: vec![3, 4] }),
        Ok(())
    );
    assert_eq!(step(&mut sim, write("ews", 500)), Err(RejectReason::FunctionNotAllowed));
    // Back to the scenario's policy.
    assert_eq!(step(&mut sim, SimInput::ResetConduit { conduit: "c1".into() }), Ok(()));
    assert_eq!(step(&mut sim, write("hmi", 500)), Ok(()));
    // A tighter value window.
    let restrict = SimInput::RestrictWrites {
        conduit: "c1".into(),
        plc: "plc1".into(),
        start: 0,
        end: 0,
        min: Some(400),
        max: Some(600),
    };
    assert_eq!(step(&mut sim, restrict), Ok(()));
    assert_eq!(step(&mut sim, write("ews", 700)), Err(RejectReason::ValueNotAllowed));
    // Isolation cuts a host off whatever the conduit says, until restored.
    assert_eq!(step(&mut sim, SimInput::IsolateHost { host: "ews".into() }), Ok(()));
    assert_eq!(step(&mut sim, write("ews", 500)), Err(RejectReason::HostIsolated));
    assert_eq!(step(&mut sim, SimInput::RestoreHost { host: "ews".into() }), Ok(()));
    assert_eq!(step(&mut sim, write("ews", 500)), Ok(()));
    // Restore the commissioned set points.
    assert_eq!(step(&mut sim, SimInput::RestoreSetpoints { plc: "plc1".into() }), Ok(()));
    assert_eq!(sim.plc("plc1").unwrap().memory.holding[0], 500, "the set point is back to 50.0");
    // Unknown targets are refused, not ignored.
    assert_eq!(
        step(&mut sim, SimInput::BlockSource { conduit: "nope".into(), host: "hmi".into() }),
        Err(RejectReason::UnknownTarget)
    );
    assert_eq!(step(&mut sim, SimInput::IsolateHost { host: "nope".into() }), Err(RejectReason::UnknownHost));
}

#[test]
fn downloads_restarts_and_restores_act_on_the_program() {
    use icsdrill_engine::input::EngineeringCommand;
    let s = mini();
    let mut sim = Sim::new(s.clone(), 1);
    let commissioned = s.plcs[0].program_hash.clone();
    // A download from the EWS that leaves the interlock out changes the integrity hash.
    let download = SimInput::Engineering {
        plc: "plc1".into(),
        source: "ews".into(),
        command: EngineeringCommand::Download { disable: vec!["il".into()], add: Vec::new() },
    };
    // FC 90 is not on the conduit's allow-list; from the local panel (same zone) it passes.
    assert_eq!(sim.step_outcomes([download.clone()]), [Err(RejectReason::FunctionNotAllowed)]);
    let local = SimInput::Engineering {
        plc: "plc1".into(),
        source: "local".into(),
        command: EngineeringCommand::Download { disable: vec!["il".into()], add: Vec::new() },
    };
    assert_eq!(sim.step_outcomes([local]), [Ok(())]);
    assert_ne!(sim.plc("plc1").unwrap().program_hash, commissioned);
    // Restore from backup.
    assert_eq!(sim.step_outcomes([SimInput::RestoreProgram { plc: "plc1".into() }]), [Ok(())]);
    assert_eq!(sim.plc("plc1").unwrap().program_hash, commissioned);
    // A restart drives outputs to their fail positions while the PLC boots.
    assert_eq!(sim.step_outcomes([SimInput::RestartPlc { plc: "plc1".into() }]), [Ok(())]);
    sim.run_until(sim.tick() + 20, &[]);
    assert_eq!(sim.actuator_position("pump"), Some(0.0));
    sim.run_until(sim.tick() + 60, &[]);
    assert_eq!(sim.actuator_position("pump"), Some(1.0), "running again after the boot time");
    // Range checks switched on at run time; reports are logged.
    assert_eq!(sim.step_outcomes([SimInput::EnableRangeChecks { plc: "plc1".into() }]), [Ok(())]);
    let report = SimInput::ReportIncident(icsdrill_engine::IncidentReport {
        technique: "T0836".into(),
        asset: "plc1".into(),
        observed_s: Some(12.0),
        text: "set point changed".into(),
        tactic: None,
        impact: String::new(),
        actions: String::new(),
    });
    assert_eq!(sim.step_outcomes([report]), [Ok(())]);
    assert!(
        sim.events().iter().any(
            |e| matches!(&e.kind, EventKind::IncidentReported(icsdrill_engine::IncidentReport { technique, .. }) if technique == "T0836")
        )
    );
}

#[test]
fn signed_and_32_bit_registers_carry_their_values_whole() {
    let yaml = crate::util::MINI
        .replace(
            "      - { id: lit_ir, addr: 0, name: Level, sensor: lit }",
            "      - { id: lit_ir, addr: 0, name: Level, sensor: lit }\n      - { id: lit_f, addr: 4, name: Level (float), sensor: lit, format: float32 }",
        )
        .replace(
            "      - { id: free, addr: 2, name: Unchecked, initial: 0 }",
            "      - { id: free, addr: 2, name: Unchecked, initial: 0 }\n      - { id: bias, addr: 20, name: Bias, initial: -12.5, format: int16, range: [-50, 50] }\n      - { id: total, addr: 22, name: Totaliser, initial: 100000, scale: 1, format: uint32 }\n      - { id: trim, addr: 24, name: Trim, initial: -2, scale: 1, format: int32, range: [-10, 10] }",
        )
        .replace("    range_checks: true\n", "    range_checks: true\n    word_order: low_first\n")
        .replace("start: 10, count: 5", "start: 30, count: 5");
    let s = std::sync::Arc::new(
        icsdrill_engine::Scenario::from_yaml("fmt.yaml", &yaml).unwrap_or_else(|e| panic!("{e}")),
    );
    let mut sim = Sim::new(s, 1);
    sim.step([]);
    let m = sim.plc("plc1").unwrap().memory.clone();
    // float32, low word first: the level (50 %) as IEEE single precision.
    let bits = (u32::from(m.input[5]) << 16) | u32::from(m.input[4]);
    assert_eq!(f32::from_bits(bits), sim.measured("lit").unwrap() as f32);
    // int16: -12.5 x 10 = -125 in two's complement.
    assert_eq!(m.holding[20] as i16, -125);
    // uint32 low word first: 100000 = 0x0001_86A0.
    assert_eq!((m.holding[22], m.holding[23]), (0x86A0, 0x0001));
    // int32: -2.
    assert_eq!((u32::from(m.holding[25]) << 16 | u32::from(m.holding[24])) as i32, -2);
    // Range checks judge the whole 32-bit value: 7 is in range, written as two words...
    let w = |addr: u16, values: &[u16]| SimInput::write_registers("plc1", "local", addr, values.to_vec());
    assert_eq!(sim.step_outcomes([w(24, &[7, 0])]), [Ok(())]);
    // ...-20 is not, and neither is a half write that would make it 0x0001_0007.
    assert_eq!(
        sim.step_outcomes([w(24, &[(-20i32 as u32) as u16, 0xFFFF])]),
        [Err(RejectReason::OutOfRange)]
    );
    assert_eq!(sim.step_outcomes([w(25, &[1])]), [Err(RejectReason::OutOfRange)]);
    // A negative int16 set point inside its range is accepted; one below it is not.
    assert_eq!(sim.step_outcomes([w(20, &[(-400i16) as u16])]), [Ok(())]);
    assert_eq!(sim.step_outcomes([w(20, &[(-600i16) as u16])]), [Err(RejectReason::OutOfRange)]);
    // Restoring the set points puts every word back.
    sim.step([SimInput::RestoreSetpoints { plc: "plc1".into() }]);
    let m = &sim.plc("plc1").unwrap().memory;
    assert_eq!((m.holding[20] as i16, m.holding[24], m.holding[25]), (-125, 0xFFFE, 0xFFFF));
    // A 32-bit point overlapping the next one is an error at its address.
    let overlap = yaml.replace("addr: 24, name: Trim", "addr: 23, name: Trim");
    let err = icsdrill_engine::Scenario::from_yaml("o.yaml", &overlap)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("overlap"), "{err}");
}

#[test]
fn a_snapshot_after_another_shares_only_what_did_not_change() {
    // The tank farm: four PLCs scanning at different rates, one written now and then.
    let s = crate::util::builtin("petrochem-tank-farm");
    let mut sim = Sim::new(s.clone(), 5);
    let mut previous = sim.snapshot();
    let (mut shared, mut fresh) = (0, 0);
    for tick in 0..200u16 {
        let input =
            (tick % 25 == 0).then(|| SimInput::write_registers("plc-t101", "ews-01", 0, vec![400 + tick]));
        sim.step(input);
        let next = sim.snapshot_after(&previous);
        // The same content as a snapshot made from scratch, PLC by PLC.
        assert_eq!(next, sim.snapshot(), "tick {tick}");
        for (old, new) in previous.plcs.iter().zip(&next.plcs) {
            if std::sync::Arc::ptr_eq(old, new) {
                shared += 1;
            } else {
                fresh += 1;
                assert_ne!(**old, **new, "tick {tick}: an unchanged PLC view was copied");
            }
        }
        previous = next;
    }
    assert!(shared > 100 && fresh > 100, "shared {shared}, fresh {fresh}");
}

#[test]
fn an_alarms_on_delay_keeps_a_noisy_reading_at_its_limit_from_chattering() {
    // The level held at 50 % by its loop, read with 3 % of noise, against a high alarm at 50:
    // without an on-delay the alarm comes and goes with the noise; with 5 s it stays quiet until
    // the level really is above (the set point moved to 70), then comes on.
    let with_delay = |delay: &str| {
        let yaml = crate::util::MINI
            .replace(
                "    - { id: lit, name: Level, var: level, range: [0, 100] }",
                "    - { id: lit, name: Level, var: level, range: [0, 100], noise: 3 }",
            )
            .replace(
                "      - follow: { coil: pump_run, output: pump }",
                &format!(
                    "      - follow: {{ coil: pump_run, output: pump }}\n      - alarm: {{ id: al, pv: lit, hi: 50, deadband: 1{delay} }}"
                ),
            );
        icsdrill_engine::Scenario::from_yaml("alarm.yaml", &yaml).map(std::sync::Arc::new)
    };
    let raised = |s: std::sync::Arc<icsdrill_engine::Scenario>| {
        let mut sim = Sim::new(s.clone(), 1);
        let raise_sp = icsdrill_engine::TimedInput { tick: s.ticks(60.0), input: regs("local", 0, &[700]) };
        sim.run_until(s.ticks(120.0), &[raise_sp]);
        let at: Vec<u64> = sim
            .events()
            .iter()
            .filter(|e| matches!(e.kind, EventKind::AlarmRaised { .. }))
            .map(|e| e.tick)
            .collect();
        (at, s.ticks(60.0))
    };
    let (chatter, _) = raised(with_delay("").unwrap());
    assert!(chatter.len() > 5, "noise at the limit raised the alarm only {} times", chatter.len());
    let (at, moved) = raised(with_delay(", on_delay_s: 5").unwrap());
    assert!(
        !at.is_empty() && at.iter().all(|t| *t > moved),
        "raised at ticks {at:?} (the level rose at {moved})"
    );
    assert!(at.len() * 5 < chatter.len(), "{} raises with the on-delay, {} without", at.len(), chatter.len());
    // An on-delay outside 0 to 3600 s is an error at its place.
    let err = with_delay(", on_delay_s: -1").unwrap_err().to_string();
    assert!(err.contains("on_delay_s") && err.contains("alarm `al`"), "{err}");
}
