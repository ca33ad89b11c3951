//! The web view in a real browser (headless Debian Chromium, driven by Selenium): a team logs
//! in with its URL, sees live values change, takes a defender action and files a report
//! through the forms, and an observer sees the new score on the scoreboard. Screenshots go to
//! `target/artifacts/`.

use icsdrill::drill::{DrillServer, DrillSpec};
use icsdrill_drill::{Control, Mode};
use icsdrill_engine::{EventKind, SimInput};
use icsdrill_web::drill::DrillApi;

use crate::clients::{run, text};
use crate::util::builtin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_team_console_action_report_and_scoreboard() {
    let mut spec = DrillSpec::new(builtin("petrochem-tank-farm"), &["red-team", "blue"], Mode::Contest);
    spec.range.modbus_port = 0;
    spec.range.http_port = 0;
    // 10x real time: the attack's first steps come within seconds.
    spec.range.ticks_per_s = Some(100.0);
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    // Let the attack's first step (a remote login at 30 s) happen before the team reports it.
    drill.live("red-team").unwrap().wait_for_tick(builtin("petrochem-tank-farm").ticks(35.0)).await;
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    std::fs::create_dir_all(&out).unwrap();
    let (team, token, _) = drill.teams().next().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/browser.py");
    let o = run(
        "python3",
        vec![
            script.into(),
            format!("http://{}", server.http),
            team.id.clone(),
            token.to_string(),
            drill.observer_token().to_string(),
            out.display().to_string(),
        ],
    )
    .await;
    assert!(o.status.success(), "{}", text(&o));
    let seen: serde_json::Value = serde_json::from_str(text(&o).lines().last().unwrap()).unwrap();
    accessible(&seen["axe"]);
    // Live values: the tick moved on while the page was open, and the page shows it.
    assert!(seen["ticks"][1].as_u64() > seen["ticks"][0].as_u64(), "{seen}");
    // The report earned detection and report-quality points on the console; the scoreboard
    // shows the team ahead of the idle one.
    assert!(seen["parts"]["detection"].as_f64().unwrap() > 0.0, "{seen}");
    assert!(seen["parts"]["report_quality"].as_f64().unwrap() > 0.0, "{seen}");
    assert!(
        seen["board"]["red-team"].as_f64().unwrap() > seen["board"]["blue"].as_f64().unwrap() + 100.0,
        "{seen}"
    );
    assert_eq!(seen["zh"], "事件报告");
    assert_eq!(seen["untranslated"], serde_json::json!([]), "English left on the zh console: {seen}");
    // Trends: both charts drawn from what streamed in, nothing loaded from elsewhere.
    assert!(seen["trend"]["points"].as_u64() > Some(5), "{seen}");
    assert_eq!(seen["trend"]["canvases"], 2, "{seen}");
    assert_eq!(seen["trend"]["scripts"], 0, "{seen}");
    assert_eq!(seen["hint_button_kept"], true, "the hint button was rebuilt by an update: {seen}");
    // The HMI: LIT-101's faceplate shows its value, its three alarm limits and the fill loop's
    // set points as numbers read from the PLC, and a trend; updates left it in place.
    let fp = &seen["faceplate"];
    assert!(fp["title"].as_str().is_some_and(|t| t.starts_with("LIT-101")), "{seen}");
    assert!(
        fp["value"]
            .as_str()
            .is_some_and(|v| v.ends_with('%') && v.trim_end_matches(" %").parse::<f64>().is_ok()),
        "{seen}"
    );
    let rows = fp["rows"].as_array().unwrap();
    let number = |label: &str| {
        rows.iter()
            .filter(|r| r[0].as_str().is_some_and(|l| l.starts_with(label)))
            .filter(|r| r[1].as_str().unwrap().parse::<f64>().is_ok())
            .count()
    };
    assert_eq!(number("Alarm limit"), 3, "{seen}");
    assert_eq!(number("Set point"), 2, "{seen}");
    assert_eq!(seen["faceplate_kept"], true, "the faceplate was rebuilt by an update: {seen}");
    assert!(
        seen["pump"]["rows"].as_array().unwrap().iter().any(|r| r[0] == "Type" && r[1] == "pump"),
        "{seen}"
    );
    assert_eq!(seen["faceplate_zh"], "量程", "{seen}");
    assert_eq!(
        seen["alarm_columns"],
        serde_json::json!(["priority", "time", "tag", "description", "value", "level", "state"])
    );
    // A phone (390 px): no horizontal scrolling, and every column of the console is usable.
    let phone = &seen["phone"];
    assert!(phone["scroll"].as_f64() <= phone["inner"].as_f64(), "{seen}");
    assert!(phone["narrowest"].as_f64().unwrap() > 300.0, "{seen}");
    assert_eq!(
        seen["board_untranslated"],
        serde_json::json!([]),
        "English left on the zh scoreboard: {seen}"
    );
    assert!(seen["history"]["points"].as_u64() >= Some(2) && seen["history"]["canvases"] == 1, "{seen}");
    assert!(seen["clock"].as_str().is_some_and(|c| c.len() == 8 && c.as_bytes()[2] == b':'), "{seen}");
    let steps = builtin("petrochem-tank-farm").attack.as_ref().unwrap().steps.len();
    assert_eq!(seen["denominators"], serde_json::json!([steps.to_string()]), "{seen}");
    for shot in ["team-console.png", "team-console-phone.png", "scoreboard.png"] {
        let len = std::fs::metadata(out.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{shot}: {len} bytes");
    }
    // What the browser did reached the team's own plant, and not the other team's.
    let sims = server.shutdown().await.unwrap();
    let log = |team: &str| sims.iter().find(|(t, _)| t == team).unwrap().1.events().to_vec();
    let isolated = |events: &[icsdrill_engine::SimEvent]| {
        events.iter().any(|e| matches!(&e.kind, EventKind::InputApplied { input: SimInput::IsolateHost { host } } if host == "ews-01"))
    };
    let red = log("red-team");
    assert!(isolated(&red));
    assert!(
        red.iter().any(
            |e| matches!(&e.kind, EventKind::IncidentReported { technique, .. } if technique == "T0886")
        )
    );
    assert!(!isolated(&log("blue")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_white_cell_controls_follow_the_phase_and_reveal_a_hint() {
    let mut spec = DrillSpec::new(builtin("petrochem-tank-farm"), &["red-team", "blue"], Mode::Regional);
    spec.range.modbus_port = 0;
    spec.range.http_port = 0;
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    std::fs::create_dir_all(&out).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/instructor.py");
    let args = vec![
        script.into(),
        format!("http://{}", server.http),
        drill.instructor_token().to_string(),
        "blue".into(),
        out.display().to_string(),
    ];
    // The script says when it is done with the live drill; the drill then stops under it.
    let mut child = std::process::Command::new("python3")
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    // Selenium's own waits bound the script: it prints `ready` or fails and exits.
    let (ready, mut lines) = tokio::task::spawn_blocking(move || (lines.next(), lines)).await.unwrap();
    let stderr = |child: std::process::Child| {
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr).into_owned()
    };
    if !matches!(&ready, Some(Ok(l)) if l == "ready") {
        panic!("{ready:?}: {}", stderr(child));
    }
    assert_eq!(drill.phase(), icsdrill_drill::Phase::Live, "the dismissed End ended nothing");
    let sims = server.shutdown().await.unwrap();
    let last = tokio::task::spawn_blocking(move || lines.next()).await.unwrap();
    let Some(Ok(last)) = last else { panic!("{last:?}: {}", stderr(child)) };
    assert!(child.wait().unwrap().success());
    let seen: serde_json::Value = serde_json::from_str(&last).unwrap();
    accessible(&seen["axe"]);
    assert_eq!(seen["briefing"], serde_json::json!(["start", "end"]), "{seen}");
    assert_eq!(seen["live"], serde_json::json!(["pause", "hot_wash", "end"]), "{seen}");
    assert!(seen["confirm"].as_str().is_some_and(|t| t.contains("End the drill")), "{seen}");
    // With the drill gone the page says so, to screen readers too, and keeps retrying.
    // (The page is in Chinese by then.)
    assert!(seen["banner"].as_str().is_some_and(|t| t.contains("连接已断开")), "{seen}");
    assert_eq!(seen["banner_live"], "polite");
    assert_eq!(
        seen["untranslated"],
        serde_json::json!([]),
        "English left on the zh white-cell console: {seen}"
    );
    // The hint reached blue's log, not red's.
    let hint = seen["hint"].as_str().unwrap().to_string();
    let revealed = |team: &str| {
        sims.iter().find(|(t, _)| t == team).unwrap().1.events().iter().any(|e| {
            matches!(&e.kind, EventKind::InputApplied { input: SimInput::RevealHint { hint: h } } if *h == hint)
        })
    };
    assert!(revealed("blue") && !revealed("red-team"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_regional_view_in_chinese_on_a_desk_and_a_phone() {
    let dir = std::env::temp_dir().join(format!("icsdrill-region-browser-{}", std::process::id()));
    let mut store = crate::registry::seeded_store(&dir);
    icsdrill::store::Store::add_user(&mut store, "region-token", "region", None).unwrap();
    drop(store);
    let api: std::sync::Arc<dyn icsdrill_web::region::RegionApi> = std::sync::Arc::new(
        icsdrill::governance::region::RegionService::new(icsdrill::store::Database::Sqlite(dir.clone())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(icsdrill_web::region::serve(listener, api, Default::default(), async {
        let _ = stopped.await;
    }));
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    std::fs::create_dir_all(&out).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/region.py");
    let o = run(
        "python3",
        vec![script.into(), format!("http://{addr}"), "region-token".into(), out.display().to_string()],
    )
    .await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(o.status.success(), "{}", text(&o));
    let seen: serde_json::Value = serde_json::from_str(text(&o).lines().last().unwrap()).unwrap();
    accessible(&seen["axe"]);
    // The seeded drills: two in 2025, two in 2026.
    let year = |y: &str| seen["years"].as_array().unwrap().iter().find(|r| r[0] == y).map(|r| r[1].clone());
    assert_eq!((year("2025"), year("2026")), (Some("2".into()), Some("2".into())), "{seen}");
    // Enterprise a: Karamay, petrochemical, last drill 800.0 with 12 monitoring alerts.
    let a = seen["enterprises"].as_array().unwrap().iter().find(|r| r[0] == "a").unwrap().clone();
    assert_eq!((a[2].as_str(), a[3].as_str()), (Some("克拉玛依市"), Some("石化")), "{a}");
    assert_eq!((a[7].as_str(), a[8].as_str()), (Some("800.0"), Some("12")), "{a}");
    assert_eq!(seen["scope"], "全区");
    assert_eq!(seen["filtered"], serde_json::json!(["a", "b"]), "{seen}");
    assert_eq!(seen["by_score"][0], "a", "highest score first: {seen}");
    assert_eq!(
        (seen["by_score_up"][2].as_str(), seen["aria_sort"].as_str()),
        (Some("a"), Some("ascending")),
        "{seen}"
    );
    assert_eq!(seen["untranslated"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["trainer_untranslated"], serde_json::json!([]), "{seen}");
    assert!(seen["phone"]["scroll"].as_f64() <= seen["phone"]["inner"].as_f64(), "{seen}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every page a browser script checked with axe-core has no serious or critical WCAG 2.1 A/AA
/// violation (`axe` is a page's list, or pages by name).
#[track_caller]
fn accessible(axe: &serde_json::Value) {
    let pages: Vec<(String, &serde_json::Value)> = match axe {
        serde_json::Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        other => vec![("page".into(), other)],
    };
    assert!(!pages.is_empty() && pages.iter().all(|(_, v)| v.is_array()), "axe did not run: {axe}");
    for (page, violations) in pages {
        assert_eq!(violations, &serde_json::json!([]), "{page}: WCAG violations");
    }
}
