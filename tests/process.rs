//! Process behaviour of every built-in plant: an hour without attack stays within limits; a
//! forced bad set point drives it to alarm and then a safety trip, or to damage when the
//! interlock is bypassed.

use std::collections::BTreeSet;

use icsdrill_engine::EventKind;
use icsdrill_engine::scenario::Industry;

use crate::util::{builtin, first, run, story, write_coil, write_reg};

/// How to push one plant over its limits: a set-point write, the bypass coil of the interlock
/// that catches it, and what is expected to fire.
struct Recipe {
    scenario: &'static str,
    /// (PLC, holding register, raw value) of the bad set point.
    write: (&'static str, u16, u16),
    /// (safety PLC, coil) that bypasses the interlock.
    bypass: (&'static str, u16),
    alarm: &'static str,
    interlock: &'static str,
    damaged: &'static str,
}

#[rustfmt::skip]
const RECIPES: &[Recipe] = &[
    Recipe { scenario: "petrochem-tank-farm", write: ("plc-t101", 1, 1200), bypass: ("sis-01", 0), alarm: "al-t101", interlock: "il-101", damaged: "t101_level" },
    Recipe { scenario: "petrochem-triton", write: ("plc-t101", 1, 1200), bypass: ("sis-01", 0), alarm: "al-t101", interlock: "il-101", damaged: "t101_level" },
    Recipe { scenario: "power-drum-boiler", write: ("plc-drum", 0, 0), bypass: ("sis-fsss", 0), alarm: "al-lt101", interlock: "il-101", damaged: "drum_level" },
    Recipe { scenario: "coal-chemical-gasifier", write: ("plc-gasifier", 0, 2000), bypass: ("sis-gasifier", 0), alarm: "al-ffi301", interlock: "il-301", damaged: "gasifier_temp" },
    Recipe { scenario: "steel-bf-cooling", write: ("plc-stave", 0, 0), bypass: ("sis-bf", 0), alarm: "al-ft201", interlock: "il-201", damaged: "stave_temp" },
    Recipe { scenario: "nonferrous-potline", write: ("plc-cell-a", 0, 9000), bypass: ("sis-01", 0), alarm: "al-cell-a-volt", interlock: "il-101", damaged: "bath_a_temp" },
    Recipe { scenario: "equipment-welding-line", write: ("plc-oven", 0, 3000), bypass: ("sis-01", 4), alarm: "al-oven-temp", interlock: "il-601", damaged: "oven_temp" },
    Recipe { scenario: "equipment-stuxnet", write: ("plc-oven", 0, 3000), bypass: ("sis-01", 4), alarm: "al-oven-temp", interlock: "il-601", damaged: "oven_temp" },
    Recipe { scenario: "power-ukraine-substation", write: ("gw-2", 0, 2000), bypass: ("prot-01", 0), alarm: "al-tx-temp", interlock: "il-tx", damaged: "tx_temp" },
    Recipe { scenario: "power-industroyer-substation", write: ("rtu-2", 0, 2000), bypass: ("prot-01", 0), alarm: "al-tx-temp", interlock: "il-tx", damaged: "tx_temp" },
    Recipe { scenario: "newmat-polysilicon-cvd", write: ("plc-power", 0, 14000), bypass: ("sis-01", 0), alarm: "al-rod-temp", interlock: "il-101", damaged: "rod_temp" },
];

/// Simulated seconds a bad set point gets to do its harm.
const ATTACK_S: f64 = 1800.0;

#[test]
fn every_builtin_scenario_has_a_recipe_and_every_key_industry_a_plant() {
    for b in icsdrill_scenarios::LIBRARY {
        assert!(RECIPES.iter().any(|r| r.scenario == b.id), "no process recipe for `{}`", b.id);
    }
    let covered: BTreeSet<&str> =
        icsdrill_scenarios::LIBRARY.iter().map(|b| builtin(b.id).meta.industry.as_str()).collect();
    let missing: Vec<&str> =
        Industry::ALL.iter().map(|(_, s)| *s).filter(|s| *s != "other" && !covered.contains(s)).collect();
    assert!(missing.is_empty(), "key industries without a plant: {missing:?}");
    for b in icsdrill_scenarios::LIBRARY {
        let n = builtin(b.id).plcs.len();
        assert!((3..=8).contains(&n), "`{}` has {n} PLCs, expected 3-8", b.id);
    }
}

#[test]
fn an_hour_without_attack_stays_within_limits() {
    for b in icsdrill_scenarios::LIBRARY {
        let s = std::sync::Arc::new(builtin(b.id).without_attack());
        for seed in [1, 2] {
            let sim = run(&s, seed, 3600.0, &[]);
            let bad = first(sim.events(), |k| {
                matches!(
                    k,
                    EventKind::LimitExceeded { .. }
                        | EventKind::Damage { .. }
                        | EventKind::InterlockTripped { .. }
                        | EventKind::AlarmRaised { .. }
                )
            });
            assert_eq!(bad, None, "{} seed {seed} left its limits:\n{}", b.id, story(sim.events()));
            assert_eq!(sim.tick(), 36_000);
        }
    }
}

#[test]
fn bad_setpoint_raises_alarm_then_trips() {
    for r in RECIPES {
        let s = std::sync::Arc::new(builtin(r.scenario).without_attack());
        let (plc, addr, raw) = r.write;
        let sim = run(&s, 1, ATTACK_S, &[write_reg(100, plc, addr, raw)]);
        let ev = sim.events();
        let alarm = first(ev, |k| matches!(k, EventKind::AlarmRaised { alarm, .. } if alarm == r.alarm));
        let trip = first(
            ev,
            |k| matches!(k, EventKind::InterlockTripped { interlock, .. } if interlock == r.interlock),
        );
        let damage = first(ev, |k| matches!(k, EventKind::Damage { .. }));
        let why = story(ev);
        assert!(alarm.is_some(), "{}: no alarm {}:\n{why}", r.scenario, r.alarm);
        assert!(trip.is_some(), "{}: no trip {}:\n{why}", r.scenario, r.interlock);
        assert!(alarm < trip, "{}: the alarm must come before the trip:\n{why}", r.scenario);
        assert_eq!(damage, None, "{}: the interlock should have prevented damage:\n{why}", r.scenario);
    }
}

#[test]
fn bad_setpoint_with_bypassed_interlock_causes_damage() {
    for r in RECIPES {
        let s = std::sync::Arc::new(builtin(r.scenario).without_attack());
        let (plc, addr, raw) = r.write;
        let (sis, coil) = r.bypass;
        let sim = run(&s, 1, ATTACK_S, &[write_coil(50, sis, coil, true), write_reg(100, plc, addr, raw)]);
        let ev = sim.events();
        let why = story(ev);
        let damage = first(ev, |k| matches!(k, EventKind::Damage { var, .. } if var == r.damaged));
        assert!(damage.is_some(), "{}: no damage to {}:\n{why}", r.scenario, r.damaged);
        let trip = first(
            ev,
            |k| matches!(k, EventKind::InterlockTripped { interlock, .. } if interlock == r.interlock),
        );
        assert_eq!(trip, None, "{}: a bypassed interlock tripped:\n{why}", r.scenario);
        // Its demand met the bypass before the damage: logged once a bypass, and no credit
        // for the trip it did not make.
        let defeated: Vec<u64> = ev
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::InterlockDefeated { interlock, .. } if interlock == r.interlock))
            .map(|e| e.tick)
            .collect();
        assert!(
            defeated.first().is_some_and(|t| Some(*t) <= damage) && defeated.len() == 1,
            "{}: the bypassed interlock's demands {defeated:?} (damage at {damage:?}):\n{why}",
            r.scenario
        );
        let card = icsdrill_judge::score::Scorer::score_log(&s, false, ev);
        let trip = card.components.iter().find(|c| c.key == "trip_avoided").unwrap();
        assert_eq!(trip.points, 0.0, "{}: {:?}", r.scenario, trip.detail);
    }
}

/// A bypass alone, with no demand on its interlock, costs no credit for trips avoided (a
/// maintenance bypass is no failure); a demand it defeats does.
#[test]
fn a_bypass_alone_costs_no_trip_credit_but_a_demand_it_defeated_does() {
    let r = &RECIPES[0];
    let s = std::sync::Arc::new(builtin(r.scenario).without_attack());
    let (sis, coil) = r.bypass;
    // Scored just after the demand met the bypass (before any damage), or at the end.
    let trip_points = |inputs: &[icsdrill_engine::TimedInput]| {
        let sim = run(&s, 1, ATTACK_S, inputs);
        let ev = sim.events();
        let upto = ev
            .iter()
            .position(|e| matches!(e.kind, EventKind::InterlockDefeated { .. }))
            .map_or(ev.len(), |i| i + 1);
        let card = icsdrill_judge::score::Scorer::score_log_at(&s, false, &ev[..upto], ev[upto - 1].tick);
        let c = card.components.iter().find(|c| c.key == "trip_avoided").unwrap().clone();
        (c.points, c.max, c.detail.en)
    };
    let (points, max, detail) = trip_points(&[write_coil(50, sis, coil, true)]);
    assert_eq!(points, max, "a bypass with no demand: {detail}");
    let (plc, addr, raw) = r.write;
    let (points, _, detail) = trip_points(&[write_coil(50, sis, coil, true), write_reg(100, plc, addr, raw)]);
    assert_eq!(points, 0.0, "{detail}");
    assert!(detail.contains("met a bypass"), "{detail}");
}

#[test]
fn a_boiler_whose_drum_runs_dry_makes_no_steam() {
    // Feed water to its lowest and the low-low MFT bypassed: the drum boils down. While water
    // covers the tubes the furnace keeps the pressure; once the water walls run dry the heat
    // goes into bare metal and the pressure and the steam flow fall with the level.
    let s = std::sync::Arc::new(builtin("power-drum-boiler").without_attack());
    let sim = run(&s, 1, 900.0, &[write_coil(50, "sis-fsss", 0, true), write_reg(100, "plc-drum", 0, 0)]);
    let samples: Vec<(f64, f64, f64)> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Sample { vars, .. } => {
                Some((vars["drum_level"], vars["steam_pressure"], vars["steam_flow"]))
            }
            _ => None,
        })
        .collect();
    let why = story(sim.events());
    let wet = samples.iter().filter(|(level, ..)| (-250.0..-150.0).contains(level)).collect::<Vec<_>>();
    assert!(!wet.is_empty(), "the drum never fell past the low-low level:\n{why}");
    assert!(
        wet.iter().all(|(_, p, _)| *p > 15.5),
        "the pressure fell while water covered the tubes: {wet:?}"
    );
    let dry = samples.iter().find(|(level, ..)| *level < -470.0);
    let Some((_, pressure, flow)) = dry else { panic!("the drum never ran dry:\n{why}") };
    assert!(*pressure < 14.0, "a dry drum still holds {pressure} MPa");
    assert!(*flow < 800.0, "a dry drum still makes {flow} t/h of steam");
}

/// Samples of `vars` from a run's log, in order.
fn sampled(events: &[icsdrill_engine::SimEvent], vars: &[&str]) -> Vec<Vec<f64>> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Sample { vars: v, .. } => Some(vars.iter().map(|k| v[*k]).collect()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_pump_whose_tank_runs_dry_pumps_nothing() {
    // T-101's inlet valve held shut by hand: the tank drains through P-101 into the reactor and
    // on to T-102. Once T-101 is empty P-101 has lost suction and nothing more comes in: T-102
    // falls at what P-102 takes out alone (6 % a minute), not 2 % a minute (it took in the
    // empty tank's 4 % a minute for the rest of the hour).
    let s = std::sync::Arc::new(builtin("petrochem-tank-farm").without_attack());
    let hold_shut = icsdrill_engine::TimedInput {
        tick: 100,
        input: icsdrill_engine::SimInput::write_coils("plc-t101", "hmi-01", 0, vec![true, false]),
    };
    let sim = run(&s, 1, 2400.0, &[hold_shut]);
    let samples = sampled(sim.events(), &["t101_level", "t102_level"]);
    let empty = samples.iter().position(|v| v[0] < 0.5);
    let Some(empty) = empty else { panic!("T-101 never ran dry:\n{}", story(sim.events())) };
    // Every 10 s sample while P-102 still runs (it stops at 30 %).
    let falls: Vec<f64> =
        samples[empty..].windows(2).take_while(|w| w[1][1] > 31.0).map(|w| w[0][1] - w[1][1]).collect();
    assert!(falls.len() >= 5, "T-102 emptied too soon to judge: {falls:?}");
    assert!(falls.iter().all(|f| *f > 0.5), "T-102 still takes in feed from an empty T-101: {falls:?}");
}

#[test]
fn a_reactor_boxed_in_without_feed_makes_no_gas() {
    // P-101 stopped and the vent shut by hand at 10 s: R-201 keeps its temperature (the heating
    // loop runs on) but nothing feeds the reaction, so its pressure stays where it was. It rose
    // 6 kPa a second from the temperature alone, and the relief lifted within minutes.
    for plant in ["petrochem-tank-farm", "petrochem-triton"] {
        boxed_in_without_feed(plant);
    }
}

fn boxed_in_without_feed(plant: &str) {
    let s = std::sync::Arc::new(builtin(plant).without_attack());
    let stop = [
        write_coil(100, "plc-t101", 2, false), // P-101 run command off
        write_coil(100, "plc-r201", 1, true),  // PV-201 in manual
        write_reg(100, "plc-r201", 11, 0),     // ... and shut
    ];
    let sim = run(&s, 1, 900.0, &stop);
    let samples = sampled(sim.events(), &["r201_pressure", "r201_temp"]);
    // From 30 s on (the pump and the vent have stroked): 87 samples 10 s apart.
    let after = &samples[3..];
    let p0 = after[0][0];
    assert!(
        after.iter().all(|v| (v[0] - p0).abs() < 30.0 && v[1] > 100.0),
        "{plant}: the boxed-in reactor's pressure moved without feed (or it cooled): {:?}",
        after.iter().map(|v| (v[0].round(), v[1].round())).collect::<Vec<_>>()
    );
}

#[test]
fn a_tripped_gasifier_stays_hot_for_hours() {
    // The oxygen shut off by hand at 100 s: the flame goes out but the refractory lining holds
    // its heat, so the gasifier is still above 1000 °C twenty minutes on and cools over hours
    // (it fell from 1,350 to 270 °C in those twenty minutes). At full oxygen nothing changed.
    let s = std::sync::Arc::new(builtin("coal-chemical-gasifier").without_attack());
    let steady = sampled(run(&s, 1, 100.0, &[]).events(), &["gasifier_temp"]);
    assert!(steady.iter().all(|v| (v[0] - 1350.0).abs() < 15.0), "the running gasifier moved: {steady:?}");
    let sim = run(&s, 1, 1500.0, &[write_coil(1000, "plc-gasifier", 2, false)]);
    let samples = sampled(sim.events(), &["gasifier_temp"]);
    let after = |s: f64| samples[(s / 10.0) as usize][0];
    assert!(
        after(1400.0) > 1000.0,
        "cooled too fast: {:?}",
        samples.iter().map(|v| v[0].round()).collect::<Vec<_>>()
    );
    assert!(after(1400.0) < after(300.0) && after(300.0) < 1350.0, "it cools all the same");
}

#[test]
fn the_over_pressure_mft_trips_the_turbine_and_boxes_the_boiler_in_at_pressure() {
    // The firing's pressure set point raised to 20 MPa: the over-pressure MFT trips at 18.2.
    // A real MFT trips the turbine too, and the electromatic relief opens on pressure alone: the
    // boiler is boxed in at pressure, not blown down to nothing (the ERV was held open by
    // the latched trip and took the drum from 18 to 0.3 MPa while the turbine ran on).
    let s = std::sync::Arc::new(builtin("power-drum-boiler").without_attack());
    let sim = run(&s, 1, 1500.0, &[write_reg(1000, "plc-fire", 0, 2000)]);
    let why = story(sim.events());
    let Some(trip) = first(
        sim.events(),
        |k| matches!(k, EventKind::InterlockTripped { interlock, .. } if interlock == "il-103"),
    ) else {
        panic!("the over-pressure MFT never tripped:\n{why}")
    };
    let samples = sampled(sim.events(), &["steam_pressure", "steam_flow"]);
    let after: Vec<&Vec<f64>> = samples.iter().skip((trip / 100 + 6) as usize).collect();
    assert!(after.len() > 60, "tripped too late to judge:\n{why}");
    assert!(after.iter().all(|v| v[1] < 5.0), "the turbine still draws steam after the MFT:\n{why}");
    assert!(
        after.iter().all(|v| (15.0..18.9).contains(&v[0])),
        "the boiler was not held at pressure after the trip: {:?}",
        after.iter().map(|v| v[0]).collect::<Vec<_>>()
    );
}

#[test]
fn a_cooked_bell_jar_seal_leaks_hydrogen_until_the_leak_trip() {
    // The polysilicon attack, undefended: the jacket runs dry, the bell-jar wall passes 350 °C
    // and the base seal starts to leak hydrogen into the hall. The leak alarm comes first, then
    // the leak trip cuts the feeds (the hydrogen detector never moved: IL-103 could not trip).
    let s = std::sync::Arc::new(builtin("newmat-polysilicon-cvd"));
    let sim = run(&s, 1, 3600.0, &[]);
    let why = story(sim.events());
    let ev = sim.events();
    let alarm = first(ev, |k| matches!(k, EventKind::AlarmRaised { alarm, .. } if alarm == "al-h2-leak"));
    let trip =
        first(ev, |k| matches!(k, EventKind::InterlockTripped { interlock, .. } if interlock == "il-103"));
    let (Some(alarm), Some(trip)) = (alarm, trip) else { panic!("no hydrogen leak alarm and trip:\n{why}") };
    assert!(alarm < trip, "the leak tripped before its alarm:\n{why}");
    // No leak in a quiet hour.
    let quiet = run(&std::sync::Arc::new(builtin("newmat-polysilicon-cvd").without_attack()), 1, 3600.0, &[]);
    assert!(
        first(quiet.events(), |k| matches!(k, EventKind::AlarmRaised { .. })).is_none(),
        "{}",
        story(quiet.events())
    );
}

#[test]
fn clearing_the_bypasses_puts_the_interlocks_back_on_guard() {
    // The attacker bypasses the boiler's low-low MFT and starves the drum. Taking the FSSS's
    // bypasses off (the console's action, as the bypass switches at the panel) lets the MFT
    // trip on the low level it would otherwise have ignored; its other coils are left alone.
    let s = std::sync::Arc::new(builtin("power-drum-boiler").without_attack());
    let clear = icsdrill_engine::TimedInput {
        tick: 1500,
        input: icsdrill_engine::SimInput::ClearBypasses { plc: "sis-fsss".into() },
    };
    let attack = [write_coil(50, "sis-fsss", 0, true), write_reg(100, "plc-drum", 0, 0)];
    let bypassed = run(&s, 1, 600.0, &attack);
    let defeated =
        |k: &EventKind| matches!(k, EventKind::InterlockDefeated { interlock, .. } if interlock == "il-101");
    let tripped =
        |k: &EventKind| matches!(k, EventKind::InterlockTripped { interlock, .. } if interlock == "il-101");
    let Some(demand) = first(bypassed.events(), defeated) else {
        panic!("the bypassed MFT met no demand:\n{}", story(bypassed.events()))
    };
    assert!(first(bypassed.events(), tripped).is_none(), "a bypassed MFT tripped");
    assert!(demand < 1500, "the demand came after the bypass was to be cleared: tick {demand}");
    let mut inputs = attack.to_vec();
    inputs.push(clear);
    let cleared = run(&s, 1, 600.0, &inputs);
    let trip = first(cleared.events(), tripped);
    assert!(trip.is_some_and(|t| t >= 1500), "no trip once the bypass was off:\n{}", story(cleared.events()));
    let coils = &cleared.snapshot().plcs[s.plc("sis-fsss").unwrap().ix()].memory.coils;
    assert!(!coils[0], "the IL-101 bypass is still set");
}

#[test]
fn a_stave_without_water_heats_ever_more_slowly_towards_the_furnace() {
    // The blast furnace's cooling lost: the stave heats from the furnace's hot face, less the
    // hotter it gets. It passed its damage limit, but did not climb at a constant 38 °C a minute
    // to the model's 1,200 °C bound and sit there.
    let s = std::sync::Arc::new(builtin("steel-bf-cooling"));
    let sim = run(&s, 1, 3600.0, &[]);
    let stave: Vec<f64> = sampled(sim.events(), &["stave_temp"]).into_iter().map(|v| v[0]).collect();
    let why = story(sim.events());
    let hot =
        stave.iter().position(|t| *t > 400.0).unwrap_or_else(|| panic!("the stave never overheated:\n{why}"));
    let rise = |i: usize| stave[i + 6] - stave[i];
    let (early, late) = (rise(hot), rise(stave.len() - 7));
    assert!(late > 0.0 && late < early / 2.0, "a minute's rise at 400 °C {early:.1}, at the end {late:.1}");
    assert!(stave.iter().all(|t| *t < 1200.0), "the stave reached the model's bound");
}
