//! Crash-safe drill records: `kill -9` in the middle of a live drill loses no acknowledged
//! input, the drill resumes with the same tokens, and `icsdrill replay` reproduces every
//! team's event log and score from the stored scenario, seed and inputs, for every library
//! scenario with its recorded defence too.

use std::process::Command;
use std::time::Duration;

use icsdrill::drill::DrillServer;
use icsdrill::store::{SqliteStore, Store};
use icsdrill_drill::{Control, Mode};
use icsdrill_engine::parse_inputs;
use icsdrill_web::drill::DrillApi;

use crate::drill::http;
use crate::util::{builtin, test_spec};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("icsdrill-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spawn(args: &[&str]) -> crate::util::Banner {
    crate::util::spawn_served(args, None)
}

/// The last word of the first banner line starting with `prefix`.
fn word(seen: &[String], prefix: &str) -> String {
    let line =
        seen.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no `{prefix}` in {seen:#?}"));
    line.split_whitespace().last().unwrap().to_string()
}

fn url_parts(url: &str) -> (std::net::SocketAddr, String) {
    let rest = url.trim_start_matches("http://");
    let (host, token) = rest.split_once('/').unwrap();
    (host.parse().unwrap(), token.split_once("token=").unwrap().1.to_string())
}

fn replay(dir: &std::path::Path, id: &str) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["replay", id, "--data-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    (
        o.status.success(),
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_input_and_the_drill_resumes_and_replays() {
    let dir = temp_dir("kill");
    let d = dir.to_str().unwrap();
    let args = [
        "serve",
        "--teams",
        "a,b",
        "--data-dir",
        d,
        "--modbus-port",
        "0",
        "--http-port",
        "0",
        "--tick-hz",
        "100",
        "--start",
    ];
    let (mut child, seen, _lines) = spawn(&args);
    let id = crate::util::drill_id(&seen);
    let (addr, a_token) = url_parts(&word(&seen, "Team a"));
    let (_, instructor) = url_parts(&word(&seen, "Instructor"));
    // Team b's first PLC endpoint, from its table.
    let b_table = seen.iter().skip_while(|l| !l.starts_with("Team b")).nth(2).unwrap().clone();
    let b_port: u16 = b_table.split_whitespace().nth(3).unwrap().parse().unwrap();
    let b_plc = b_table.split_whitespace().next().unwrap().to_string();

    // Inputs flow: team a's notifications over HTTP, team b's set-point writes over Modbus,
    // each remembered once acknowledged; the process is killed while they flow.
    let acked_http = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let acked_modbus = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u16>::new()));
    // Told of every acknowledgement.
    let progress = std::sync::Arc::new(tokio::sync::Notify::new());
    let http_task = {
        let acked = acked_http.clone();
        let progress = progress.clone();
        let token = a_token.clone();
        tokio::spawn(async move {
            for i in 0..10_000 {
                let text = format!("message {i}");
                let body =
                    serde_json::json!({"kind": "notify", "to": "duty_officer", "text": text}).to_string();
                match crate::drill::http_try(addr, "POST", "/api/teams/a/actions", Some(&token), Some(&body))
                    .await
                {
                    Some((200, _)) => {
                        acked.lock().unwrap().push(text);
                        progress.notify_one();
                    }
                    Some(_) => {}
                    None => break,
                }
            }
        })
    };
    let modbus_task = {
        let acked = acked_modbus.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            use tokio_modbus::client::Writer;
            // From team b's own network (teams of a drill on loopback each have one).
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket
                .bind(std::net::SocketAddr::new(icsdrill::drill::in_team_net([127, 0, 0, 1].into(), 1), 0))
                .unwrap();
            let Ok(stream) = socket.connect(([127, 0, 0, 1], b_port).into()).await else { return };
            let mut ctx = tokio_modbus::client::tcp::attach_slave(stream, tokio_modbus::Slave(1));
            for v in 0..10_000u16 {
                // T-101's first set point, nudged around its value.
                match tokio::time::timeout(
                    Duration::from_secs(5),
                    ctx.write_single_register(0, 500 + v % 100),
                )
                .await
                {
                    Ok(Ok(Ok(()))) => {
                        acked.lock().unwrap().push(v);
                        progress.notify_one();
                    }
                    Ok(Ok(Err(_))) => {}
                    _ => break,
                }
            }
        })
    };
    // Let some inputs land, then kill -9.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acked_http.lock().unwrap().len() < 20 || acked_modbus.lock().unwrap().len() < 20 {
        let told = tokio::time::timeout_at(deadline, progress.notified()).await;
        assert!(told.is_ok(), "inputs were not acknowledged within a minute");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = tokio::join!(http_task, modbus_task);
    let acked_http = acked_http.lock().unwrap().clone();
    let acked_modbus = acked_modbus.lock().unwrap().len();

    // Every acknowledged input is in the store.
    let store = SqliteStore::open(&dir).unwrap();
    let a_inputs = store.inputs(&id, "a").unwrap();
    for text in &acked_http {
        assert!(
            a_inputs
                .iter()
                .any(|i| matches!(&i.input, icsdrill_engine::SimInput::Notify { text: t, .. } if t == text)),
            "acknowledged `{text}` is missing after kill -9"
        );
    }
    let b_writes = store
        .inputs(&id, "b")
        .unwrap()
        .iter()
        .filter(
            |i| matches!(&i.input, icsdrill_engine::SimInput::WriteRegisters { plc, .. } if *plc == b_plc),
        )
        .count();
    assert!(b_writes >= acked_modbus, "{b_writes} writes stored, {acked_modbus} acknowledged");
    drop(store);
    let (ok, out) = replay(&dir, &id);
    assert!(ok, "{out}");
    assert_eq!(out.matches("identical").count(), 2, "{out}");
    // It replays as far as it went, and says it went no further.
    assert!(out.contains("the drill is not over (phase live): its record stops at a t = "), "{out}");
    // A killed drill is no drill done: no report, no findings tracked (a re-test against half
    // a log), no bundle for the region, until it is resumed and ends.
    let cli = |args: &[&str]| {
        let o =
            Command::new(env!("CARGO_BIN_EXE_icsdrill")).args(args).args(["--data-dir", d]).output().unwrap();
        (
            o.status.success(),
            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        )
    };
    let bundle = dir.join("killed.bundle.json");
    let bundle = bundle.to_str().unwrap();
    for args in [vec!["report", &id], vec!["findings", &id], vec!["bundle", "export", &id, "--out", bundle]] {
        let (ok, out) = cli(&args);
        assert!(
            !ok && out.contains("is not over (phase live)") && out.contains("--resume"),
            "{args:?}: {out}"
        );
    }
    let (ok, out) = cli(&["drills"]);
    assert!(ok && out.contains("its server stopped before its end"), "{out}");
    // Killed outright, its server left no mark of a stop.
    assert!(!out.contains(", server stopped 20"), "{out}");

    // Restart: the drill resumes paused, with the same tokens and everything it had.
    let resume = [
        "serve",
        "--resume",
        &id,
        "--data-dir",
        d,
        "--modbus-port",
        "0",
        "--http-port",
        "0",
        "--tick-hz",
        "100",
    ];
    let (mut child, seen, lines) = spawn(&resume);
    assert!(seen.iter().any(|l| l.contains(&format!("resumed drill {id}"))), "{seen:#?}");
    assert!(seen.iter().any(|l| l == "Phase: paused"), "{seen:#?}");
    let (addr, token) = url_parts(&word(&seen, "Team a"));
    assert_eq!(token, a_token, "team tokens survive the restart");
    let (s, state) = http(addr, "GET", "/api/teams/a/state", Some(&a_token), None).await;
    assert_eq!(s, 200, "{state}");
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert!(state["actions"].as_array().unwrap().len() >= acked_http.len(), "{state}");
    let (s, _) =
        http(addr, "POST", "/api/drill/control", Some(&instructor), Some(r#"{"action":"resume"}"#)).await;
    assert_eq!(s, 200);
    let (s, b) = http(
        addr,
        "POST",
        "/api/teams/a/actions",
        Some(&a_token),
        Some(r#"{"kind":"notify","to":"management","text":"after the restart"}"#),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success(), "{rest:?}");
    let printed =
        rest.iter().find_map(|l| l.split_once("team a: score ")).map(|(_, r)| r.split(',').next().unwrap());
    let (ok, out) = replay(&dir, &id);
    assert!(ok, "{out}");
    // The stored score is the one printed as it stopped (its card recorded where the range
    // stood, whatever the board had recorded before).
    let printed_score = printed.expect("the stop summary's score");
    assert!(out.contains(&format!("score stored {printed_score} ")), "{printed_score}: {out}");
    let store = SqliteStore::open(&dir).unwrap();
    // The score printed as it stopped is the one its report gives, judged as `icsdrill
    // report` judges it (the replayed log, at the tick the range had reached).
    let (record, teams) = store.drill(&id).unwrap().unwrap();
    let loaded = icsdrill::store::replay::load(&store, &record, &teams, 0).unwrap();
    let a = loaded.teams.iter().find(|t| t.id == "a").unwrap();
    let team = teams.iter().find(|t| t.id == "a").unwrap();
    let log = a.judged();
    let report = icsdrill::governance::report::recorded(&record, team, &loaded.scenario, log, 2, None);
    assert_eq!(printed, Some(format!("{:.1}", report.score.total).as_str()), "{rest:?}");
    assert!(store.inputs(&id, "a").unwrap().iter().any(
        |i| matches!(&i.input, icsdrill_engine::SimInput::Notify { text, .. } if text == "after the restart")
    ));
    drop(store);
    // Stopped by SIGTERM, it is listed as a drill left to resume, with when its server stopped
    // (it was listed `live` like one running now); served again, it is not.
    let (ok, out) = cli(&["drills"]);
    let line = out.lines().find(|l| l.starts_with(id.as_str())).unwrap_or_default();
    assert!(ok && line.contains(" live ") && line.contains(", server stopped 20"), "{out}");
    let (again, seen, _) = spawn(&resume);
    assert!(seen.iter().any(|l| l.contains(&format!("resumed drill {id}"))), "{seen:#?}");
    let (_, out) = cli(&["drills"]);
    assert!(out.contains(&id) && !out.contains(", server stopped 20"), "{out}");
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A drill whose time ran out while its plant was down: `icsdrill report` scores it as the
/// drill did at its end (the stop summary, the stored card, the regional view), not at its
/// last recorded event ten seconds earlier, which left ten seconds of downtime uncounted
/// (169.3 against 167.6 on the coal gasifier).
#[test]
fn a_recorded_drills_report_scores_it_at_its_end_as_the_drill_did() {
    let dir = temp_dir("report-end");
    let d = dir.to_str().unwrap();
    let cli = |args: &[&str]| {
        let o =
            Command::new(env!("CARGO_BIN_EXE_icsdrill")).args(args).args(["--data-dir", d]).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let fast =
        ["--duration", "600", "--tick-hz", "2000", "--start", "--modbus-port", "0", "--http-port", "0"];
    let stopped = cli(&[&["serve", "coal-chemical-gasifier", "--teams", "a"][..], &fast[..]].concat());
    let id = cli(&["drills"]).split_whitespace().next().unwrap().to_string();
    let report: serde_json::Value = serde_json::from_str(&cli(&["report", &id, "--format", "json"])).unwrap();
    let report = if report.is_array() { report[0].clone() } else { report };
    let total = report["score"]["total"].as_f64().unwrap();
    let replayed = cli(&["replay", &id]);
    assert!(
        replayed.contains(&format!("score stored {total:.1} replayed {total:.1}")),
        "{total}: {replayed}"
    );
    assert!(stopped.contains(&format!("score {total:.1}")), "{total}: {stopped}");
    // The drill keeps the engine rules it was played by.
    let rules = format!("engine rules {}", icsdrill_engine::RULES);
    assert!(replayed.contains(&rules) && !replayed.contains("note:"), "{replayed}");
    // The plant was down at the end, and its last events came before it.
    let store = SqliteStore::open(&dir).unwrap();
    let last = store.last_tick(&id, "a").unwrap().unwrap();
    let (_, card) = store.score(&id, "a").unwrap().unwrap();
    let card: serde_json::Value = serde_json::from_str(&card).unwrap();
    assert!(card["tick"].as_u64().unwrap() > last + 10, "{last}: {card}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_library_drill_with_its_recorded_defence_replays_identically() {
    let dir = temp_dir("library");
    let mut ids = Vec::new();
    for b in icsdrill_scenarios::LIBRARY {
        let spec = test_spec(builtin(b.id), &["defender", "idle"], Mode::Enterprise, Some((&dir, b.source)));
        let server = DrillServer::start(spec).await.unwrap();
        let drill = server.drill.clone();
        drill.control(Control::Start).unwrap();
        let path = format!("{}/scenarios/defences/{}.jsonl", env!("CARGO_MANIFEST_DIR"), b.id);
        let defence = parse_inputs(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
        let live = drill.live("defender").unwrap().clone();
        for input in defence {
            let now = live.snapshot().tick;
            if input.tick > now {
                drill.step(input.tick - now).await;
            }
            let apply = tokio::spawn({
                let live = live.clone();
                async move { live.apply(input.input).await }
            });
            while !apply.is_finished() {
                drill.step(1).await;
            }
        }
        let end = builtin(b.id).duration_ticks;
        let now = live.snapshot().tick;
        drill.step(end.saturating_sub(now)).await;
        let scores: Vec<f64> =
            ["defender", "idle"].iter().map(|t| drill.team_score(t).unwrap().total).collect();
        assert!(scores[0] > scores[1], "{}: {scores:?}", b.id);
        ids.push((b.id, drill.id.clone(), scores));
        server.shutdown().await.unwrap();
    }
    let store = SqliteStore::open(&dir).unwrap();
    for (scenario, id, scores) in ids {
        let (_, verdicts) = icsdrill::store::replay::verify(&store, &id).unwrap();
        for v in verdicts {
            assert!(v.matches(), "{scenario} team {}: {v:?}", v.team);
            assert!(v.events.0 > 100, "{scenario}: {v:?}");
        }
        // The report of the recorded drill scores each team as the drill did at its end (it
        // scored at the last recorded event: the quiet ticks after it left nothing behind).
        let (record, teams) = store.drill(&id).unwrap().unwrap();
        let loaded = icsdrill::store::replay::load(&store, &record, &teams, 0).unwrap();
        for (t, info) in loaded.teams.iter().zip(&teams) {
            let report =
                icsdrill::governance::report::recorded(&record, info, &loaded.scenario, t.judged(), 2, None);
            let live = scores[usize::from(t.id == "idle")];
            assert_eq!(report.score.total, live, "{scenario} team {}", t.id);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_exits_1_on_a_tampered_log_and_reports_take_configured_deadlines() {
    let dir = temp_dir("tamper");
    let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
    let spec = test_spec(builtin(b.id), &["a"], Mode::Regional, Some((&dir, b.source)));
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    drill.step(3000).await;
    drill.control(Control::End).unwrap();
    let id = drill.id.clone();
    server.shutdown().await.unwrap();
    let (ok, out) = replay(&dir, &id);
    assert!(ok, "{out}");

    // A report with the enterprise's own deadlines.
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args([
            "report",
            &id,
            "--format",
            "json",
            "--deadlines",
            "1,2,3,4",
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let days: Vec<u64> =
        report["findings"].as_array().unwrap().iter().map(|f| f["deadline_days"].as_u64().unwrap()).collect();
    assert!(!days.is_empty() && days.iter().all(|d| (1..=4).contains(d)), "{days:?}");

    // Someone edits one stored event: the replay no longer matches, and says where.
    let conn = rusqlite::Connection::open(icsdrill::store::db_path(&dir)).unwrap();
    let changed = conn
        .execute("UPDATE events SET event = replace(event, '\"tick\":', '\"tick\": ') WHERE drill_id = ?1 AND seq = 7", [&id])
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let (ok, out) = replay(&dir, &id);
    assert!(!ok, "{out}");
    assert!(out.contains("DIVERGED") && out.contains("first difference at event 8"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A team whose judged events outgrow memory is judged from the store: they leave memory, its
/// report (whose score is the board's) and its judged log read the same events back from
/// disk, every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_whose_judged_events_outgrow_memory_is_judged_from_the_store() {
    let dir = temp_dir("judged");
    let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
    let mut spec = test_spec(builtin(b.id), &["writer"], Mode::Regional, Some((&dir, b.source)));
    spec.judged_in_memory = 20;
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let live = drill.live("writer").unwrap().clone();
    assert_eq!(drill.judged_in_memory("writer"), Some((1, false)), "the drill's start only");
    // Forty set-point writes, each acknowledged (on disk) at its tick.
    for v in 0..40u16 {
        let write = icsdrill_engine::SimInput::write_registers("plc-t101", "hmi-01", 0, vec![400 + v]);
        let apply = tokio::spawn({
            let live = live.clone();
            async move { live.apply(write).await }
        });
        while !apply.is_finished() {
            drill.step(1).await;
        }
    }
    assert_eq!(drill.judged_in_memory("writer"), Some((0, true)), "over 20: none kept in memory");
    drill.step(3000).await;
    let sims = server.shutdown().await.unwrap();
    let sim = &sims.iter().find(|(t, _)| t == "writer").unwrap().1;
    let judged: Vec<_> = sim.events().iter().filter(|e| e.kind.judged()).cloned().collect();
    let (from_disk, end) = drill.judged_log("writer").unwrap().unwrap();
    assert!(judged.len() > 40, "{}", judged.len());
    assert_eq!(from_disk, judged, "the store gives back every judged event");
    // Judged at the tick the range reached, the quiet ticks after its last event counted.
    assert_eq!(end, sim.tick());
    let (_, json) = drill.report("writer", "json", "en").unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json).unwrap();
    // The board's card while the drill runs is its last published one (a refresh behind at
    // most); once the drill is over, it is the report's, read back from the store.
    drill.control(Control::End).unwrap();
    assert_eq!(report["score"]["total"], drill.team_score("writer").unwrap().total, "report vs board");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_drills_live_report_is_dated_on_the_day_it_was_created() {
    let (dir, spec) = crate::util::recorded_tank_farm("report-date", &["a"], Mode::Regional);
    let server = DrillServer::start(spec).await.unwrap();
    let id = server.drill.id.clone();
    server.shutdown().await.unwrap();
    // Created at 23:30 on 15 January 2026, the organiser's time (UTC+8): the report, built
    // live days later or from the records, is dated that day.
    let created: jiff::Timestamp = "2026-01-15T15:30:00Z".parse().unwrap();
    let db = rusqlite::Connection::open(dir.join("icsdrill.sqlite3")).unwrap();
    let n = db
        .execute("UPDATE drills SET created_ms = ?1 WHERE id = ?2", (created.as_millisecond(), &id))
        .unwrap();
    assert_eq!(n, 1);
    drop(db);
    let server = resume_in(&dir, &id).await;
    let (_, json) = server.drill.report("a", "json", "en").unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let date = report["context"]["date"].as_str().or(report["date"].as_str()).map(str::to_string);
    assert_eq!(date.as_deref(), Some("2026-01-15"), "{report}");
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A resumed drill's score chart starts at the drill's start, not at the resume: its teams'
/// logs, read again, give the changes where they happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_drills_score_history_starts_at_its_start() {
    let (dir, server) = started_tank_farm("history", &["a", "b"]).await;
    let drill = server.drill.clone();
    let id = drill.id.clone();
    drill.step(50).await;
    let wrong: icsdrill_engine::SimInput = serde_json::from_str(
        r#"{"kind":"report_incident","technique":"T0800","asset":"plc-r201","text":"a false alarm"}"#,
    )
    .unwrap();
    let ticking = crate::drill::keep_ticking(drill.clone());
    drill.act("a", wrong).await.unwrap();
    ticking.abort();
    drill.step(100).await;
    crate::util::board_caught_up(&drill).await;
    let before = DrillApi::score_history(&*drill, true);
    server.shutdown().await.unwrap();
    let server = resume_in(&dir, &id).await;
    let after = DrillApi::score_history(&*server.drill, true);
    // Team a's first total below its start: the false report's penalty.
    let fell = |h: &icsdrill_drill::history::HistoryView| {
        h.at_s.iter().zip(&h.totals[0]).find(|&(_, &t)| t < h.totals[0][0]).map(|(&at, _)| at)
    };
    assert_eq!(after.at_s.first(), Some(&0.0), "{after:?}");
    let (was, is) = (fell(&before).expect("the penalty"), fell(&after).expect("the penalty, resumed"));
    let resumed_at = DrillApi::info(&*server.drill).at_s;
    assert!(is <= was && is < resumed_at, "at {is} s resumed, {was} s live: {after:?}");
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A resumed range's trends reach back before the stop, as its operator station showed them:
/// re-run from the records, the same samples, values and scores the live hook took.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_ranges_trends_reach_back_before_the_stop() {
    let (dir, server) = started_tank_farm("trends", &["a"]).await;
    let drill = server.drill.clone();
    let id = drill.id.clone();
    let hz = u64::from(drill.scenario().tick_hz);
    drill.step(12 * hz).await;
    let before = DrillApi::team_trends(&*drill, "a").unwrap();
    assert!(before.at_s.len() >= 10, "{:?}", before.at_s);
    server.shutdown().await.unwrap();
    let server = resume_in(&dir, &id).await;
    let after = DrillApi::team_trends(&*server.drill, "a").unwrap();
    // The range resumes after its last recorded tick: every whole second up to there.
    let resumed_at = DrillApi::info(&*server.drill).at_s;
    let n = after.at_s.len();
    assert!(n >= 5 && after.at_s[n - 1] == resumed_at.floor(), "{:?} resumed at {resumed_at}", after.at_s);
    assert_eq!(after.at_s, before.at_s[..n], "the samples before the stop");
    assert_eq!(after.score, before.score[..n]);
    for (a, b) in after.sensors.iter().zip(&before.sensors) {
        assert_eq!((&a.id, &a.values[..]), (&b.id, &b.values[..n]));
    }
    assert!(after.sensors.iter().any(|s| s.values.iter().flatten().any(|&v| v != 0.0)), "{after:?}");
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A resumed drill's ranges come back at one tick: each is re-run to its last recorded tick,
/// and a range quiet for the last seconds before the stop catches up with the furthest (as a
/// pause aligns them), so no team runs behind the others for the rest of the drill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_drills_ranges_come_back_at_one_tick() {
    let (dir, server) = started_tank_farm("one-tick", &["a", "b"]).await;
    let drill = server.drill.clone();
    let id = drill.id.clone();
    drill.step(12 * u64::from(drill.scenario().tick_hz)).await;
    // Team b's report is the last event on record: team a's log ends seconds earlier.
    let report: icsdrill_engine::SimInput = serde_json::from_str(
        r#"{"kind":"report_incident","technique":"T0800","asset":"plc-r201","text":"late"}"#,
    )
    .unwrap();
    let ticking = crate::drill::keep_ticking(drill.clone());
    drill.act("b", report).await.unwrap();
    ticking.abort();
    server.shutdown().await.unwrap();
    let server = resume_in(&dir, &id).await;
    let (a, b) = (server.drill.live("a").unwrap().clone(), server.drill.live("b").unwrap().clone());
    let furthest = b.snapshot().tick;
    let caught_up = tokio::time::timeout(Duration::from_secs(20), a.wait_for_tick(furthest)).await;
    assert!(
        caught_up.is_ok() && a.snapshot().tick == furthest,
        "a at {}, b at {furthest}",
        a.snapshot().tick
    );
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Resumes drill `id` from the SQLite records in `dir`, on ephemeral loopback ports.
async fn resume_in(dir: &std::path::Path, id: &str) -> DrillServer {
    let mut opts = icsdrill::runtime::range::Options::new(1);
    (opts.modbus_port, opts.http_port) = (0, 0);
    DrillServer::resume(&icsdrill::store::Database::Sqlite(dir.to_path_buf()), id, opts).await.unwrap()
}

/// A tank farm drill of `teams` recorded in SQLite (its directory returned), started, its
/// clock stepped by the test.
async fn started_tank_farm(name: &str, teams: &[&str]) -> (std::path::PathBuf, DrillServer) {
    let (dir, mut spec) = crate::util::recorded_tank_farm(name, teams, Mode::Regional);
    spec.manual_clock = true;
    let server = DrillServer::start(spec).await.unwrap();
    server.drill.control(Control::Start).unwrap();
    (dir, server)
}

/// A drill recorded under other engine rules (here: from before they were numbered) does not
/// play on under this build's: its record would hold a log of two rule versions and replay
/// under neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_recorded_under_other_rules_is_not_resumed() {
    let dir = temp_dir("other-rules");
    let mut store = SqliteStore::open(&dir).unwrap();
    let record =
        icsdrill::store::DrillRecord { options: "{}".into(), ..crate::registry::drill_record("old1") };
    let team = icsdrill::store::TeamRecord { id: "a".into(), name: "a".into(), token: "t".into() };
    store.create_drill(&record, &[team]).unwrap();
    drop(store);
    let db = icsdrill::store::Database::Sqlite(dir.clone());
    let Err(e) = DrillServer::resume(&db, "old1", icsdrill::runtime::range::Options::new(1)).await else {
        panic!("resumed a drill of other rules")
    };
    let e = e.to_string();
    assert!(e.contains("cannot go on here") && e.contains("before rules were numbered"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A drill's clock starts when the drill does, not when it was created: its captures and
/// alerts are stamped from the start (they were early by the whole briefing), and a resumed
/// drill keeps that start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drills_clock_starts_at_its_start_not_its_briefing_and_survives_a_resume() {
    use icsdrill::governance::dates::now_ms;
    let (dir, mut spec) = crate::util::recorded_tank_farm("clock-zero", &["a"], Mode::Regional);
    spec.manual_clock = true;
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    let id = drill.id.clone();
    let briefed = drill.info().epoch_ms;
    // The briefing lasts: the start comes at a later millisecond (bounded: a clock moves).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while now_ms() <= i64::try_from(briefed).unwrap() + 2 {
        assert!(std::time::Instant::now() < deadline, "the wall clock stood still");
        std::hint::spin_loop();
    }
    let before = u64::try_from(now_ms()).unwrap();
    drill.control(Control::Start).unwrap();
    let after = u64::try_from(now_ms()).unwrap();
    let started = drill.info().epoch_ms;
    assert!(started > briefed && (before..=after).contains(&started), "{briefed} {before} {started} {after}");
    drill.step(10).await;
    server.shutdown().await.unwrap();
    let store = SqliteStore::open(&dir).unwrap();
    let kept = store.setting(&icsdrill::store::started_key(&id)).unwrap();
    assert_eq!(kept, Some(started.to_string()));
    drop(store);
    let server = resume_in(&dir, &id).await;
    assert_eq!(server.drill.info().epoch_ms, started, "a resumed drill keeps its start");
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A drill the white cell ends is over on disk once its logs are: the phase that ended it is
/// written with them (its findings read it there; they were refused as "not over" when the
/// events of its last tick committed before the phase).
#[tokio::test]
async fn a_recorders_phases_are_on_disk_once_it_says_so() {
    let dir = temp_dir("phases");
    let db = icsdrill::store::Database::Sqlite(dir.clone());
    let record = crate::registry::drill_record("dphase");
    let team = icsdrill::store::TeamRecord { id: "a".into(), name: "a".into(), token: "t".into() };
    let mut store = db.open().unwrap();
    store.create_drill(&record, &[team]).unwrap();
    let recorder = icsdrill::store::Recorder::start(store, "dphase".into(), vec!["a".into()]);
    let mut durable = recorder.durable(0);
    for round in 0..20u64 {
        // A tick's events, then the end, queued together as a drill ends.
        let input = icsdrill_engine::SimInput::Notify { to: "duty_officer".into(), text: "t".into() };
        recorder.record(icsdrill::store::Batch {
            team: 0,
            tick: round,
            inputs: vec![input],
            events: Vec::new(),
        });
        let phase = if round % 2 == 0 { icsdrill_drill::Phase::Ended } else { icsdrill_drill::Phase::Live };
        let bound = Duration::from_secs(10);
        // The phase queued with the tick's batch, or once the writer has taken the batch
        // (the ranges' last tick finishing as the white cell ends the drill).
        if round % 4 < 2 {
            recorder.phase(phase, None);
        }
        tokio::time::timeout(bound, durable.wait_for(|t| *t > round)).await.unwrap().unwrap();
        if round % 4 >= 2 {
            recorder.phase(phase, None);
        }
        tokio::time::timeout(bound, recorder.phases_recorded()).await.expect("the phases are written");
        let on_disk = db.open().unwrap().drill("dphase").unwrap().unwrap().0.phase;
        assert_eq!(on_disk, phase, "round {round}");
    }
    tokio::task::spawn_blocking(move || recorder.finish()).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// An ended drill resumed (its pages and reports back) shows its end at once, its clock where
/// its run stopped. It waited its whole records timeout (30 s) for events that were on disk
/// already, and stood at the tick after its last recorded event (17901 of a run of 18000).
#[test]
fn an_ended_drill_resumed_shows_its_end_at_once_and_the_tick_its_run_reached() {
    let dir = temp_dir("ended-resumed");
    let d = dir.to_str().unwrap();
    let ports = ["--modbus-port", "0", "--http-port", "0"];
    let run = Command::new("timeout")
        .arg("60")
        .arg(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["serve", "--teams", "blue", "--data-dir", d, "--start"])
        .args(["--duration", "300", "--tick-hz", "1000"])
        .args(ports)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "{out}");
    let stopped_at = |lines: &[String]| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix("icsdrill: stopped at tick ")?.split(' ').next().map(str::to_owned))
    };
    let ran: Vec<String> = out.lines().map(str::to_owned).collect();
    assert_eq!(stopped_at(&ran).as_deref(), Some("3000"), "{out}");
    assert!(out.contains("findings of team blue: ") && !out.contains("team blue: 0 new"), "{out}");

    let (mut child, seen, lines) = spawn(&[&["serve", "--resume", "--data-dir", d][..], &ports[..]].concat());
    assert!(seen.iter().any(|l| l == "Phase: ended"), "{seen:#?}");
    // The rest of its output, read on a thread so each wait has a bound.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut rest = Vec::new();
    let shown = loop {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(l) if l.contains("ended; its pages and reports stay here") => break true,
            Ok(l) => rest.push(l),
            Err(_) => break false,
        }
    };
    assert!(shown, "the end not shown within 10 s: {rest:#?}");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
    rest.extend(rx.iter());
    assert_eq!(stopped_at(&rest).as_deref(), Some("3000"), "{rest:#?}");
    // Its findings joined the register as it ended, and it says so (it said "0 new, 0 still
    // open" of a register holding them all); so does `findings` (it said `already_tracked`).
    assert!(rest.iter().any(|l| l.contains("on the register already, since the drill ended")), "{rest:#?}");
    // The ticks run again to get there logged what they logged the first time (nothing): the
    // record replays as it did.
    let id = out.split("icsdrill report ").nth(1).and_then(|r| r.split(' ').next()).unwrap().to_string();
    let (ok, replayed) = replay(&dir, &id);
    assert!(ok && replayed.contains("identical"), "{replayed}");
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["findings", &id, "--data-dir", d])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&o.stdout);
    assert!(listed.contains("tracked already (when the drill ended): the register is unchanged"), "{listed}");
    let _ = std::fs::remove_dir_all(&dir);
}
