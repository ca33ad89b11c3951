//! Scripted attacks, headless: without defence each library attack reaches its physical
//! impact and logs every step with its techniques; with the scenario's recorded correct
//! defence (`scenarios/defences/ID.jsonl`) the impact is prevented, blocked steps fail with
//! their reason, and a branch on the defenders' action is taken.

use icsdrill_engine::attack::Outcome;
use icsdrill_engine::input::ModbusTransaction;
use icsdrill_engine::{EventKind, Sim, SimEvent, SimInput, parse_inputs};

use crate::util::{builtin, run, story};

fn attempts(events: &[SimEvent]) -> Vec<(&str, bool, usize)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AttackAttempt { step, ok, techniques, .. } => {
                Some((step.as_str(), *ok, techniques.len()))
            }
            _ => None,
        })
        .collect()
}

pub(crate) fn defence(id: &str) -> Option<Vec<icsdrill_engine::TimedInput>> {
    let path = format!("{}/scenarios/defences/{id}.jsonl", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).ok()?;
    Some(parse_inputs(&path, &text).unwrap_or_else(|e| panic!("{e}")))
}

/// Scenarios with an attack (and so a recorded defence).
fn attacked() -> Vec<&'static str> {
    icsdrill_scenarios::LIBRARY.iter().filter(|b| builtin(b.id).attack.is_some()).map(|b| b.id).collect()
}

/// Asserts the steps a run fired are no more than its plan says can fire in one run.
fn within_the_most_that_can_fire(s: &icsdrill_engine::Scenario, tried: &[(&str, bool, usize)]) {
    let fired: std::collections::BTreeSet<&str> = tried.iter().map(|t| t.0).collect();
    let most = s.attack.as_ref().unwrap().most_that_can_fire();
    assert!(fired.len() <= most, "`{}`: {} steps fired, of at most {most}: {fired:?}", s.id, fired.len());
}

#[test]
fn a_plans_branches_lower_the_steps_one_run_can_fire() {
    let most = |id: &str| {
        let plan = builtin(id).attack.clone().unwrap();
        (plan.most_that_can_fire(), plan.steps.len())
    };
    for id in attacked() {
        let (most, all) = most(id);
        assert!(most <= all && most > 0, "`{id}`: {most} of {all}");
    }
    // The Triton attack's overpressure follows the implant's success, its coming back the
    // implant's failure: never both.
    assert_eq!(most("petrochem-triton"), (6, 7));
    assert_eq!(most("power-industroyer-substation"), (7, 8));
    // The tank farm's two branches on isolation both fire when the isolation comes between
    // their deadlines.
    assert_eq!(most("petrochem-tank-farm"), (12, 12));
}

#[test]
fn every_library_plant_has_an_attack_and_a_defence() {
    let ids = attacked();
    assert_eq!(ids.len(), icsdrill_scenarios::LIBRARY.len(), "every library plant has an attack");
    let with_distractor = ids.iter().filter(|id| !builtin(id).faults.is_empty()).count();
    assert!(with_distractor >= 2, "at least two attacked plants pair the attack with a physical distractor");
    for id in ids {
        assert!(defence(id).is_some(), "`{id}` has an attack but no scenarios/defences/{id}.jsonl");
        let plan = builtin(id).attack.clone().unwrap();
        let kinds: Vec<&str> =
            plan.steps.iter().flat_map(|s| s.techniques.iter().map(|t| t.tactic)).collect();
        for tactic in ["discovery", "impair-process-control"] {
            assert!(kinds.contains(&tactic), "`{id}`: no {tactic} step (recon -> access -> impact)");
        }
    }
}

#[test]
fn undefended_attacks_reach_their_impact_and_log_every_step() {
    for id in attacked() {
        let s = builtin(id);
        let sim = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &[]);
        let ev = sim.events();
        let impact = ev.iter().any(|e| {
            matches!(
                e.kind,
                EventKind::Damage { .. }
                    | EventKind::InterlockTripped { .. }
                    | EventKind::ReportingSpoofed { .. }
            )
        });
        assert!(impact, "`{id}`: the attack had no physical impact:\n{}", story(ev));
        // A damaged plant avoided no trip, whether or not its interlock tripped (the attack
        // bypassed it: an idle team scored full marks for trips avoided).
        if ev.iter().any(|e| matches!(e.kind, EventKind::Damage { .. })) {
            let card = icsdrill_judge::score::Scorer::score_log(&s, false, ev);
            let trip = card.components.iter().find(|c| c.key == "trip_avoided").unwrap();
            assert_eq!(trip.points, 0.0, "`{id}`: {trip:?}");
        }
        let tried = attempts(ev);
        assert!(tried.iter().all(|(_, _, n)| *n > 0), "every attempt carries its techniques");
        within_the_most_that_can_fire(&s, &tried);
        // Every step that fired ended or is still repeating; none fired without a log line.
        let plan = s.attack.as_ref().unwrap();
        let fired: Vec<&str> = tried.iter().map(|(s, _, _)| *s).collect();
        for step in &plan.steps {
            let ended = ev.iter().any(|e| matches!(&e.kind, EventKind::AttackStepEnded { step: s, expired: false, .. } if *s == step.id));
            assert!(
                !ended || fired.contains(&step.id.as_str()),
                "`{id}`: {} ended without an attempt",
                step.id
            );
        }
    }
}

#[test]
fn the_recorded_defence_prevents_the_impact_and_takes_a_branch() {
    for id in attacked() {
        let s = builtin(id);
        let inputs = defence(id).unwrap();
        let sim = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &inputs);
        let ev = sim.events();
        let why = story(ev);
        assert!(
            !ev.iter().any(|e| matches!(e.kind, EventKind::Damage { .. })),
            "`{id}`: damage despite the defence:\n{why}"
        );
        let tried = attempts(ev);
        within_the_most_that_can_fire(&s, &tried);
        assert!(tried.iter().any(|(_, ok, _)| !ok), "`{id}`: no step was blocked:\n{why}");
        // The defence's own inputs (an attacker's blocked forgery is refused too, rightly).
        let rejected = ev
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::InputRejected { input, .. } if inputs.iter().any(|t| t.input == *input)))
            .count();
        assert_eq!(rejected, 0, "`{id}`: the recorded defence has inputs the plant refuses:\n{why}");
        // A branch on the defenders: a step waiting on a defender action, or on another step
        // failing, fired.
        let plan = s.attack.as_ref().unwrap();
        let branch = plan
            .steps
            .iter()
            .filter(|st| st.when.defender.is_some() || matches!(st.when.after, Some((_, Outcome::Failed))));
        let taken: Vec<&str> =
            branch.map(|st| st.id.as_str()).filter(|b| tried.iter().any(|(s, _, _)| s == b)).collect();
        assert!(!taken.is_empty(), "`{id}`: no branch on the defence was taken:\n{why}");
    }
}

#[test]
fn the_recorded_defence_earns_its_recovery_time() {
    // Every recorded defence brings the process back (set points, program, a sensor, a module,
    // a host, the breakers by hand): time to recover earns points in every plant.
    let mut never = Vec::new();
    for id in attacked() {
        let s = builtin(id);
        let sim = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &defence(id).unwrap());
        let card = icsdrill_judge::score::Scorer::score_log(&s, true, sim.events());
        let recover = card.components.iter().find(|c| c.key == "time_to_recover").expect("a part");
        if recover.points <= 0.0 {
            never.push(format!("{id}: {}", recover.detail.en));
        }
    }
    assert!(never.is_empty(), "defences whose recovery does not count: {never:#?}");
}

#[test]
fn attacks_replay_byte_for_byte() {
    for id in attacked() {
        let s = builtin(id);
        let inputs = defence(id).unwrap();
        let a = run(&s, 5, 1800.0, &inputs);
        let b = run(&s, 5, 1800.0, &inputs);
        assert_eq!(a.events_jsonl(), b.events_jsonl(), "`{id}`");
        assert!(a.events().iter().any(|e| matches!(e.kind, EventKind::AttackAttempt { .. })));
    }
}

#[test]
fn tank_farm_attack_path_is_the_expected_one() {
    let s = builtin("petrochem-tank-farm");
    let sim = run(&s, 1, 3000.0, &[]);
    let moved: Vec<(String, String)> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AttackerMoved { from, to } => Some((from.clone(), to.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(moved, [("it-ws-01".into(), "hist-dmz-01".into()), ("hist-dmz-01".into(), "ews-01".into())]);
    // The SIS bypass went out as an FC 5 from the engineering workstation, logged as such.
    let bypass = sim.events().iter().any(|e| {
        matches!(&e.kind, EventKind::ModbusTransaction(ModbusTransaction { plc, source, function: 5, values, .. }) if plc == "sis-01" && source == "ews-01" && values == &[1])
    });
    assert!(bypass);
    // Unchallenged, the attacker escalated to the reactor's safety program.
    assert!(sim.events().iter().any(
        |e| matches!(&e.kind, EventKind::ProgramChanged { plc, matches_backup: false, .. } if plc == "sis-01")
    ));
    // As the tank topped out, the attacker flooded its PLC and the monitoring saw it.
    assert!(
        sim.events()
            .iter()
            .any(|e| matches!(&e.kind, EventKind::CommsFlooded { plc, .. } if plc == "plc-t101"))
    );
    assert!(
        sim.events()
            .iter()
            .any(|e| matches!(&e.kind, EventKind::IdsAlert { rule, .. } if rule == "connection_flood"))
    );
    // Deep monitoring saw the out-of-range set point.
    assert!(
        sim.events()
            .iter()
            .any(|e| matches!(&e.kind, EventKind::IdsAlert { rule, .. } if rule == "setpoint_out_of_range"))
    );
    let _ = Sim::new(s.clone(), 1);
}

#[test]
fn background_traffic_is_logged_and_raises_no_alert() {
    let s = std::sync::Arc::new(builtin("petrochem-tank-farm").without_attack());
    assert!(!s.background.is_empty());
    let sim = run(&s, 1, 3600.0, &[]);
    let ev = sim.events();
    let benign: Vec<(&str, u8)> =
        ev.iter()
            .filter_map(|e| match &e.kind {
                // The engineer's program uploads are routine work of their own (tests/evidence.rs).
                EventKind::ModbusTransaction(ModbusTransaction {
                    source, function, exception: None, ..
                }) if *function != 90 => Some((source.as_str(), *function)),
                _ => None,
            })
            .collect();
    assert_eq!(benign, [("hmi-01", 6), ("ews-01", 3), ("hmi-01", 6)]);
    assert!(
        !ev.iter().any(|e| matches!(&e.kind, EventKind::IdsAlert { function, .. } if *function != 90)),
        "routine work raised an alert:\n{}",
        story(ev)
    );
}

#[test]
fn ukraine_2015_breakers_open_from_the_hijacked_hmi_and_power_comes_back_only_by_hand() {
    let s = builtin("power-ukraine-substation");
    let has = |sim: &Sim, f: &dyn Fn(&EventKind) -> bool| sim.events().iter().any(|e| f(&e.kind));
    // Undefended: the breakers are opened from the operator station, the gateways bricked and
    // the station wiped; the operators see nothing and the feeders stay dark.
    let sim = run(&s, 1, 1500.0, &[]);
    for plc in ["gw-1", "gw-2"] {
        assert!(has(&sim, &|k| matches!(k, EventKind::FirmwareModified { plc: p } if p == plc)), "{plc}");
    }
    assert!(has(&sim, &|k| matches!(k, EventKind::HostWiped { host } if host == "hmi-01")));
    let snap = sim.snapshot();
    assert_eq!(snap.readings(), None, "loss of view: the only operator station is wiped");
    assert_eq!(snap.field.actuators[..3], [0.0, 0.0, 0.0], "every feeder breaker is open");
    assert!(snap.plcs[..2].iter().all(|p| p.restarting), "both gateways are bricked");
    // A restart of a bricked gateway does not bring remote control back; closing by hand does.
    let mut sim = sim;
    let close = |a: &str| SimInput::LocalControl { actuator: a.into(), position: Some(1.0) };
    assert_eq!(
        sim.step_outcomes([SimInput::RestartPlc { plc: "gw-1".into() }]),
        [Err(icsdrill_engine::RejectReason::ModuleFailed)]
    );
    sim.step([close("brk1"), close("brk2"), close("brk3")]);
    sim.run_until(sim.tick() + 300, &[]);
    assert!(sim.true_value("f1_load").unwrap() > 5.0, "feeder 1 is supplied again");
    // The attacker's attempt to open them again from the station fails (it is wiped).
    assert!(has(
        &sim,
        &|k| matches!(k, EventKind::AttackAttempt { step, ok: false, .. } if step == "re-open")
    ));
}

#[test]
fn a_defence_ready_before_the_attack_never_hands_the_attacker_a_move() {
    // A team that contains before the attack begins (its recorded defence taken at once) is
    // the best prepared: no step may fire on that defence as if it answered an attack under
    // way. The tank farm's "come back through the historian" step fired at 10 s on an early
    // isolation, "succeeded" before the attack had begun, and put the attacker in the DMZ.
    for id in attacked() {
        let s = builtin(id);
        let early: Vec<_> = defence(id)
            .unwrap()
            .into_iter()
            .map(|mut t| {
                t.tick = 10;
                t
            })
            .collect();
        let sim = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &early);
        let ev = sim.events();
        let why = story(ev);
        let vacuous =
            ev.iter().find(|e| matches!(&e.kind, EventKind::AttackerMoved { from, to } if from == to));
        assert!(vacuous.is_none(), "`{id}`: a pivot to the host the attacker holds: {vacuous:?}\n{why}");
        let plan = s.attack.as_ref().unwrap();
        // Every answer to a defence names the attack step it answers.
        for st in plan.steps.iter().filter(|st| st.when.defender.as_ref().is_some_and(|d| d.done)) {
            assert!(st.when.after.is_some(), "`{id}`: `{}` answers a defence but no attack step", st.id);
        }
        let first_timed = plan.steps.iter().filter_map(|st| st.when.at_tick).min().unwrap_or(0);
        let answered = ev.iter().find(|e| {
            e.tick < first_timed
                && matches!(&e.kind, EventKind::AttackAttempt { step, .. }
                    if plan.steps.iter().any(|st| st.id == *step && st.when.defender.is_some()))
        });
        assert!(
            answered.is_none(),
            "`{id}`: a step answering the defence before the attack began: {answered:?}\n{why}"
        );
    }
}

/// The first attempt of attack step `step` in `live`'s log, waiting (at most a minute) for it.
async fn first_attempt(live: &icsdrill::runtime::live::Live, step: &str) -> SimEvent {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let found = live.events_since(
            0,
            usize::MAX,
            |e| matches!(&e.kind, EventKind::AttackAttempt { step: s, .. } if s == step),
        );
        if let Some(e) = found.into_iter().next() {
            return e;
        }
        assert!(std::time::Instant::now() < deadline, "no {step} attempt");
        live.wait_for_tick(live.snapshot().tick + 10).await;
    }
}

/// A live attack step that failed because the PLC was flooded says so in the record (and the
/// report's timeline), not "no network path": the attacker on the wire sees only a refused
/// connection, the range knows why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_step_refused_by_a_flooded_plc_is_recorded_with_that_reason() {
    let s = crate::util::builtin("petrochem-tank-farm");
    // 20x real time: the overfill step's first write (200 s) comes within seconds.
    let server = crate::util::live_tank_farm("a", 200.0).await;
    let drill = server.drill.clone();
    let live = drill.live("a").unwrap().clone();
    // Well before the overfill step's first write (200 s), the white cell floods plc-t101 for
    // 120 s of plant time (6 s of wall time: the write comes inside it however busy the
    // machine; the flood holds the endpoint's connections for that long).
    live.wait_for_tick(s.ticks(150.0)).await;
    let inject = r#"{"channel":"step","step":"deny-view"}"#;
    let (st, body) = crate::drill::http(
        server.http,
        "POST",
        "/api/drill/injects",
        Some(drill.instructor_token()),
        Some(inject),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let attempt = first_attempt(&live, "overfill").await;
    let EventKind::AttackAttempt { ok, reason, .. } = &attempt.kind else { unreachable!() };
    assert!(!ok, "the flood keeps the attacker's own write out: {attempt:?}");
    assert_ne!(*reason, Some(icsdrill_engine::RejectReason::NoRoute), "{attempt:?}");
    assert!(
        matches!(
            reason,
            Some(icsdrill_engine::RejectReason::Flooded | icsdrill_engine::RejectReason::ConnectionLimit)
        ),
        "{attempt:?}"
    );
    server.shutdown().await.unwrap();
}

/// A team holding an endpoint's every slot from its live attacker's address (the README names
/// it) does not lock its attacker out: only the attacker's own connections (and the routine
/// clients') get the slots kept for the range's own clients; a team's, from whatever address,
/// take the team's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_on_its_attackers_address_does_not_take_the_attackers_slots() {
    let s = crate::util::builtin("petrochem-tank-farm");
    let server = crate::util::live_tank_farm("a", 200.0).await;
    let drill = server.drill.clone();
    let live = drill.live("a").unwrap().clone();
    let attacker: std::net::IpAddr = s.attack.as_ref().unwrap().address.parse().unwrap();
    let (_, _, endpoints) = drill.teams().next().unwrap();
    let e = endpoints.iter().find(|e| e.plc == "plc-t101").unwrap();
    let at = std::net::SocketAddr::new(e.address.parse().unwrap(), e.port);
    // Once the attacker is on the engineering workstation (which the control conduit lets
    // through: its address stands for the host the attacker is on), more connections than an
    // endpoint has slots, from the attacker's address, held open.
    live.wait_for_tick(s.ticks(150.0)).await;
    let mut held = Vec::new();
    for _ in 0..40 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(std::net::SocketAddr::new(attacker, 0)).unwrap();
        if let Ok(stream) = socket.connect(at).await {
            held.push(stream);
        }
    }
    // The overfill step's first write (200 s) still reaches the PLC.
    let attempt = first_attempt(&live, "overfill").await;
    assert!(matches!(attempt.kind, EventKind::AttackAttempt { ok: true, .. }), "{attempt:?}");
    drop(held);
    server.shutdown().await.unwrap();
}

#[test]
fn no_alarm_chatters_in_an_hour_of_any_library_plant() {
    // An alarm raised again and again by a reading's noise (or a value hovering at its limit)
    // floods the operator and the count a report gives: the gasifier's TT-301 high alarm was
    // raised 10 times in its defended hour (2 °C of noise against a 5 °C deadband), the
    // potline's bath A alarm 5 times. Each alarm level is raised at most twice an hour, with the
    // attack alone or with the recorded defence.
    for id in attacked() {
        let s = builtin(id);
        let hour = s.duration_ticks as f64 / f64::from(s.tick_hz);
        for (run_name, inputs) in [("attacked", Vec::new()), ("defended", defence(id).unwrap())] {
            let sim = run(&s, 1, hour, &inputs);
            let mut raised = std::collections::BTreeMap::new();
            for e in sim.events() {
                if let EventKind::AlarmRaised { alarm, level, .. } = &e.kind {
                    *raised.entry((alarm.clone(), format!("{level:?}"))).or_insert(0) += 1;
                }
            }
            let chatter: Vec<_> = raised.iter().filter(|(_, n)| **n > 2).collect();
            assert!(chatter.is_empty(), "`{id}` ({run_name}): alarms raised again and again: {chatter:?}");
        }
    }
}
