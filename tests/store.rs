//! The same store tests against SQLite and PostgreSQL (`ICSDRILL_TEST_POSTGRES`, which
//! `scripts/test` sets after starting a real server; `ICSDRILL_REQUIRE_POSTGRES=1` makes its
//! absence a failure, as on CI). Ids carry a random prefix, so runs against one PostgreSQL
//! database never collide.

use icsdrill::drill::{DrillServer, DrillSpec, new_token};
use icsdrill::governance::registry::{Activity, Enterprise, MajorChange};
use icsdrill::store::{Batch, Database, DrillRecord, Store, TeamRecord, TrackedFinding};
use icsdrill_drill::{Control, Mode};
use icsdrill_engine::{Sim, SimInput};
use icsdrill_web::drill::DrillApi;

use crate::util::builtin;

/// The databases to test: SQLite always, PostgreSQL when configured.
fn databases(name: &str) -> Vec<Database> {
    let dir = std::env::temp_dir().join(format!("icsdrill-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut out = vec![Database::Sqlite(dir)];
    if let Some(url) = crate::util::test_postgres("the PostgreSQL store is") {
        out.push(Database::Postgres(url));
    }
    out
}

fn exercise(store: &mut dyn Store, p: &str) {
    // Drills, teams, batches (inputs in order, events by seq), scores, phases.
    let drill = format!("{p}-d");
    let record = DrillRecord {
        id: drill.clone(),
        name: "测试演练".into(),
        mode: icsdrill_drill::Mode::Enterprise,
        scenario_id: "petrochem-tank-farm".into(),
        scenario_hash: "h".into(),
        scenario_source: "src: 1\n".into(),
        seed: u64::MAX / 3,
        live_attacker: true,
        phase: icsdrill_drill::Phase::Briefing,
        instructor_token: "i".into(),
        observer_token: "o".into(),
        options: "{}".into(),
        created_ms: 1_780_000_000_000,
    };
    let teams = vec![
        TeamRecord { id: "a".into(), name: "甲".into(), token: "ta".into() },
        TeamRecord { id: "b".into(), name: "乙".into(), token: "tb".into() },
    ];
    store.create_drill(&record, &teams).unwrap();
    assert!(store.create_drill(&record, &teams).is_err(), "a drill id is unique");
    let (got, got_teams) = store.drill(&drill).unwrap().unwrap();
    assert_eq!(got, record);
    assert_eq!(got_teams, teams);
    assert!(store.drills().unwrap().iter().any(|d| d.id == drill));
    assert!(store.drill(&format!("{p}-none")).unwrap().is_none());

    let scenario = builtin("petrochem-tank-farm");
    let mut sim = Sim::new(scenario, 1);
    let names = vec!["a".to_string(), "b".to_string()];
    let mut batches = vec![Batch { team: 0, tick: 0, inputs: vec![], events: sim.events().to_vec() }];
    for tick in 0..30u64 {
        let inputs = if tick % 10 == 5 {
            vec![
                SimInput::Notify { to: "duty_officer".into(), text: format!("t{tick}") },
                SimInput::RevealHint { hint: "h1".into(), white_cell: false },
            ]
        } else {
            vec![]
        };
        let before = sim.events().len();
        sim.step(inputs.clone());
        batches.push(Batch { team: 0, tick, inputs, events: sim.events()[before..].to_vec() });
    }
    store.append(&drill, &names, &batches[..10]).unwrap();
    store.append(&drill, &names, &batches[10..]).unwrap();
    // A batch replayed twice (a retried commit) adds no duplicate events.
    store.append(&drill, &names, &batches[..1]).unwrap();
    let inputs = store.inputs(&drill, "a").unwrap();
    assert_eq!(inputs.len(), 6);
    assert_eq!(inputs.iter().map(|i| i.tick).collect::<Vec<_>>(), [5, 5, 15, 15, 25, 25]);
    assert!(matches!(&inputs[2].input, SimInput::Notify { text, .. } if text == "t15"));
    let events = store.events(&drill, "a").unwrap();
    let expected: Vec<String> = sim.events().iter().map(|e| e.to_json()).collect();
    assert_eq!(events, expected);
    // The judged ones read back as events (plain traffic is left out: `persist` shows it).
    let judged: Vec<_> = sim.events().iter().filter(|e| e.kind.judged()).cloned().collect();
    assert!(!judged.is_empty());
    assert_eq!(store.judged_events(&drill, "a").unwrap(), judged);
    // The last tick that left an input or an event (ticks 26-29 left nothing).
    assert_eq!(store.last_tick(&drill, "a").unwrap(), Some(25));
    assert_eq!(store.last_tick(&drill, "b").unwrap(), None);
    assert!(store.inputs(&drill, "b").unwrap().is_empty());

    store.save_score(&drill, "a", 10, 512.5, "{\"total\":512.5}").unwrap();
    store.save_score(&drill, "a", 20, 600.0, "{\"total\":600}").unwrap();
    assert_eq!(store.score(&drill, "a").unwrap(), Some((600.0, "{\"total\":600}".into())));
    assert_eq!(store.score(&drill, "b").unwrap(), None);
    store.set_phase(&drill, icsdrill_drill::Phase::Live).unwrap();
    assert_eq!(store.drill(&drill).unwrap().unwrap().0.phase, icsdrill_drill::Phase::Live);
    // A drill that never got going (its server failed to start) is discarded whole; the
    // others stay.
    let failed = format!("{drill}-failed");
    store.create_drill(&DrillRecord { id: failed.clone(), ..record.clone() }, &teams).unwrap();
    store.append(&failed, &names, &batches[..3]).unwrap();
    store.save_score(&failed, "a", 1, 1.0, "{}").unwrap();
    store.discard_drill(&failed).unwrap();
    assert!(store.drill(&failed).unwrap().is_none());
    assert!(store.events(&failed, "a").unwrap().is_empty() && store.score(&failed, "a").unwrap().is_none());
    assert_eq!(store.events(&drill, "a").unwrap(), expected, "the other drill is whole");

    // Findings tracking.
    let ent = format!("{p}-e");
    let f = TrackedFinding {
        enterprise: ent.clone(),
        id: "range:plc-t101".into(),
        status: "open".parse().unwrap(),
        severity: icsdrill::store::Severity::High,
        first_drill: drill.clone(),
        last_drill: drill.clone(),
        finding: "{}".into(),
        history: "[]".into(),
    };
    assert!(!store.tracked(&drill, &ent).unwrap());
    store.track(&drill, &ent, std::slice::from_ref(&f)).unwrap();
    assert!(store.tracked(&drill, &ent).unwrap());
    store
        .track(&drill, &ent, &[TrackedFinding { status: "verified".parse().unwrap(), ..f.clone() }])
        .unwrap();
    let fs = store.findings(&ent).unwrap();
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0].status, "verified");
    assert!(store.all_findings().unwrap().iter().any(|x| x.enterprise == ent));

    // Registry: import (new, then a level change), activities, major changes, users.
    let e = Enterprise {
        id: format!("{p}-ent"),
        name: "独山子石化".into(),
        prefecture: "karamay".into(),
        industry: "petrochemical".into(),
        class: "networked_industrial".into(),
        level: 2,
        verified_by: "prefecture".into(),
        verified_on: "2025-01-01".parse().unwrap(),
        contact: "王工".into(),
        phone: String::new(),
        security_officer: String::new(),
        scenarios: vec!["petrochem-tank-farm".into()],
        installation_key: String::new(),
    };
    assert_eq!(store.import_enterprises(std::slice::from_ref(&e), "2025-01-01".parse().unwrap()).unwrap(), 1);
    let up = Enterprise { level: 3, verified_by: "region".into(), ..e.clone() };
    assert_eq!(
        store.import_enterprises(std::slice::from_ref(&up), "2026-01-01".parse().unwrap()).unwrap(),
        0
    );
    store
        .add_activity(&Activity {
            enterprise: e.id.clone(),
            kind: "drill".into(),
            date: "2026-03-01".parse().unwrap(),
            reference: drill.clone(),
        })
        .unwrap();
    store
        .add_major_change(&MajorChange {
            enterprise: e.id.clone(),
            date: "2026-05-01".parse().unwrap(),
            note: "新装置".into(),
        })
        .unwrap();
    let reg = store.registry().unwrap();
    assert_eq!(reg.enterprises.iter().find(|x| x.id == e.id), Some(&up));
    let changes: Vec<(u8, u8)> =
        reg.level_changes.iter().filter(|c| c.enterprise == e.id).map(|c| (c.from, c.to)).collect();
    assert_eq!(changes, [(0, 2), (2, 3)]);
    assert_eq!(reg.activities.iter().filter(|a| a.enterprise == e.id).count(), 1);
    assert_eq!(reg.major_changes.iter().filter(|m| m.enterprise == e.id).count(), 1);
    // Re-grading at the same level is recorded too.
    store
        .regrade(
            &up,
            &icsdrill::governance::registry::LevelChange {
                enterprise: e.id.clone(),
                date: "2026-06-01".parse().unwrap(),
                from: 3,
                to: 3,
                reason: "复核".into(),
            },
        )
        .unwrap();
    let changes = store.registry().unwrap().level_changes.iter().filter(|c| c.enterprise == e.id).count();
    assert_eq!(changes, 3);
    let token = format!("{p}-tok");
    store.add_user(&token, "prefecture", Some("karamay")).unwrap();
    assert_eq!(store.user(&token).unwrap(), Some(("prefecture".into(), Some("karamay".into()))));
    assert_eq!(store.user(&format!("{p}-nope")).unwrap(), None);
    // A registry setting is set, read back, and set again.
    let key = format!("{p}-setting");
    assert_eq!(store.setting(&key).unwrap(), None);
    store.set_setting(&key, "period: calendar\n").unwrap();
    store.set_setting(&key, "周期: 日历年\n").unwrap();
    assert_eq!(store.setting(&key).unwrap().as_deref(), Some("周期: 日历年\n"));
    // An exam result: found by its drill (no scan of them all), and once only.
    let exam = icsdrill::store::ExamRecord {
        drill: drill.clone(),
        trainee: format!("{p}-t"),
        name: "学员".into(),
        cohort: format!("{p}-c"),
        date: "2026-06-02".parse().unwrap(),
        total: 72.5,
        max: 100.0,
        passed: true,
        certificate: "{}".into(),
    };
    assert_eq!(store.exam(&drill).unwrap(), None);
    store.save_exam(&exam).unwrap();
    assert!(store.save_exam(&exam).is_err(), "one result a drill");
    assert_eq!(store.exam(&drill).unwrap(), Some(exam.clone()));
    assert_eq!(store.exam(&format!("{p}-none")).unwrap(), None);
    assert_eq!(store.exams(Some(&exam.cohort)).unwrap(), [exam]);
}

#[test]
fn the_store_behaves_the_same_on_sqlite_and_postgresql() {
    for db in databases("conformance") {
        let mut store = db.open().unwrap_or_else(|e| panic!("{}: {e:#}", db.describe()));
        exercise(&mut *store, &new_token()[..10]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_recorded_in_either_database_replays_identically() {
    for db in databases("drill") {
        let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
        let mut spec = DrillSpec::new(builtin(b.id), &["a", "b"], Mode::Enterprise);
        spec.range.modbus_port = 0;
        spec.range.http_port = 0;
        spec.range.live_attacker = false;
        spec.manual_clock = true;
        spec.database = Some(db.clone());
        spec.scenario_source = Some(b.source.to_string());
        let server = DrillServer::start(spec).await.unwrap();
        let drill = server.drill.clone();
        drill.control(Control::Start).unwrap();
        let live = drill.live("a").unwrap().clone();
        drill.step(100).await;
        let apply = tokio::spawn(async move {
            live.apply(SimInput::Notify { to: "authority".into(), text: "x".into() }).await
        });
        while !apply.is_finished() {
            drill.step(1).await;
        }
        apply.await.unwrap().unwrap();
        drill.step(2000).await;
        let id = drill.id.clone();
        server.shutdown().await.unwrap();
        let verdicts = tokio::task::spawn_blocking(move || {
            let store = db.open().unwrap();
            icsdrill::store::replay::verify(&*store, &id).unwrap().1
        })
        .await
        .unwrap();
        assert_eq!(verdicts.len(), 2);
        for v in verdicts {
            assert!(v.matches(), "{v:?}");
            assert!(v.events.0 > 10);
        }
    }
}
