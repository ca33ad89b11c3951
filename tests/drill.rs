//! Drills: isolated team ranges, phases, the role-based API (through the router and over a
//! real socket), invalid input, and scores that move with defender actions and reports.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use icsdrill::drill::{Drill, DrillServer, DrillSpec};
use icsdrill_drill::{Control, Mode};
use icsdrill_engine::input::ModbusTransaction;
use icsdrill_engine::{SimInput, parse_inputs};
use icsdrill_judge::score::{ScoreCard, Scorer};
use icsdrill_web::drill::{Access, DrillApi, ROUTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use crate::util::{builtin, run};

/// A drill on `scenario` with `teams`, all ports chosen by the OS, clock moved by the test.
pub(crate) async fn start_drill(scenario: &str, teams: &[&str], mode: Mode) -> DrillServer {
    let mut spec = DrillSpec::new(builtin(scenario), teams, mode);
    spec.range.modbus_port = 0;
    spec.range.http_port = 0;
    spec.range.live_attacker = false;
    spec.range.sources = vec![("127.0.0.77".parse().unwrap(), "hmi-01".into())];
    spec.manual_clock = true;
    DrillServer::start(spec).await.unwrap()
}

/// Steps the drill's clock in the background whenever an input is queued to a team's range (a
/// manually clocked drill applies queued actions only when it ticks), until the returned
/// handle is aborted.
pub(crate) fn keep_ticking(drill: Arc<Drill>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut steppers = tokio::task::JoinSet::new();
        let teams: Vec<String> = drill.teams().map(|(t, _, _)| t.id.clone()).collect();
        for team in teams {
            let drill = drill.clone();
            steppers.spawn(async move {
                let live = drill.live(&team).unwrap().clone();
                loop {
                    live.input_queued().await;
                    drill.step(1).await;
                }
            });
        }
        // Aborting this task drops the set, which aborts the steppers.
        while steppers.join_next().await.is_some() {}
    })
}

/// One HTTP/1.1 request over a fresh connection: status and body. Streams (SSE) are cut after
/// their headers.
pub(crate) async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    http_try(addr, method, path, token, body).await.expect("an HTTP answer within 20 s")
}

/// `http`, with `None` when the server is gone (refused, reset, no whole answer in 20 s).
pub(crate) async fn http_try(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Option<(u16, String)> {
    http_raw(addr, method, path, token, body).await.map(|(status, _, body)| (status, body))
}

/// `http_try` with the response's head too (lower-cased), for its headers.
pub(crate) async fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: icsdrill\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    s.write_all(req.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            let n = s.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw);
            if text.contains("text/event-stream") && text.contains("\r\n\r\n") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read).await.ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.get(9..12)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let head = head.to_ascii_lowercase();
    let body = if head.contains("text/event-stream") {
        String::new()
    } else if head.contains("transfer-encoding: chunked") {
        crate::modbus::dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, head, body))
}

/// Drill `id` recorded in `dir` resumed (a restarted container), its ports chosen by the OS.
async fn resume_from(dir: &std::path::Path, id: &str) -> DrillServer {
    let mut opts = icsdrill::runtime::range::Options::new(1);
    (opts.modbus_port, opts.http_port) = (0, 0);
    let db = icsdrill::store::Database::Sqlite(dir.to_path_buf());
    DrillServer::resume(&db, id, opts).await.unwrap()
}

/// A request through the router, no socket.
async fn call(drill: &Arc<Drill>, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> u16 {
    let api: Arc<dyn DrillApi> = drill.clone();
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(Body::from(body.unwrap_or("").to_string())).unwrap();
    let res = icsdrill_web::drill::router(api).oneshot(req).await.unwrap();
    res.status().as_u16()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Anonymous,
    Observer,
    OwnTeam,
    OtherTeam,
    Instructor,
}

const WHO: [Who; 5] = [Who::Anonymous, Who::Observer, Who::OwnTeam, Who::OtherTeam, Who::Instructor];

/// Whether `who` may call a route with this access level for team `a`.
fn allowed(access: Access, who: Who) -> bool {
    match access {
        Access::Public => true,
        Access::Any => who != Who::Anonymous,
        Access::TeamOrInstructor => matches!(who, Who::OwnTeam | Who::Instructor),
        Access::OwnTeam => who == Who::OwnTeam,
        Access::Instructor => who == Who::Instructor,
    }
}

/// Bodies that pass validation, so an allowed call reaches the drill.
fn good_body(path: &str) -> Option<&'static str> {
    Some(match path {
        p if p.ends_with("/actions") => r#"{"kind":"notify","to":"duty_officer","text":"test"}"#,
        p if p.ends_with("/reports") => r#"{"technique":"T0836","asset":"plc-t101"}"#,
        p if p.ends_with("/hints") => r#"{"hint":"h1"}"#,
        p if p.ends_with("/flags") => r#"{"flag":"flag{not-a-real-flag}"}"#,
        p if p.ends_with("/alerts/syslog") => r#"{"off":true}"#,
        "/api/drill/control" => r#"{"action":"pause"}"#,
        "/api/drill/injects" => r#"{"channel":"message","text":"Operations: level reading looks stuck"}"#,
        _ => return None,
    })
}

async fn authz_matrix(drill: &Arc<Drill>, socket: Option<SocketAddr>) {
    let token = |who: Who| -> Option<String> {
        let teams: Vec<_> = drill.teams().map(|(_, t, _)| t.to_string()).collect();
        match who {
            Who::Anonymous => None,
            Who::Observer => Some(drill.observer_token().to_string()),
            Who::OwnTeam => Some(teams[0].clone()),
            Who::OtherTeam => Some(teams[1].clone()),
            Who::Instructor => Some(drill.instructor_token().to_string()),
        }
    };
    let mut checked = 0;
    for route in ROUTES {
        for who in WHO {
            for (team, exists) in [("a", true), ("zz", false)] {
                if !route.path.contains("{team}") && !exists {
                    continue;
                }
                let path = route.path.replace("{team}", team);
                let body = if route.method == "POST" { good_body(&path) } else { None };
                let t = token(who);
                let status = match socket {
                    None => call(drill, route.method, &path, t.as_deref(), body).await,
                    Some(addr) => http(addr, route.method, &path, t.as_deref(), body).await.0,
                };
                // Resume after a pause, so the next calls find the drill live.
                if path == "/api/drill/control" && status == 200 {
                    drill.control(Control::Resume).unwrap();
                }
                let expected: &[u16] = if path.ends_with("/report") && who == Who::OwnTeam && exists {
                    // The report is the answer key: a team gets it from the hot wash on.
                    &[409]
                } else if path.ends_with("/pcap") && exists && allowed(route.access, who) {
                    // This drill keeps no record, so there is no capture to rebuild.
                    &[409]
                } else if (path.ends_with("/exam") || path.ends_with("/certificate"))
                    && exists
                    && allowed(route.access, who)
                {
                    // A contest is no exam, nor has a certificate.
                    &[404]
                } else if route.access == Access::Public {
                    &[200]
                } else if who == Who::Anonymous {
                    &[401]
                } else if !exists {
                    &[404]
                } else if allowed(route.access, who) {
                    &[200]
                } else {
                    &[403]
                };
                assert!(
                    expected.contains(&status),
                    "{} {path} as {who:?}: got {status}, expected {expected:?} ({})",
                    route.method,
                    if socket.is_some() { "socket" } else { "router" }
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= ROUTES.len() * 5, "checked {checked} combinations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authz_matrix_through_the_router_and_over_a_socket() {
    let server = start_drill("petrochem-tank-farm", &["a", "b"], Mode::Contest).await;
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let ticking = keep_ticking(drill.clone());
    authz_matrix(&drill, None).await;
    authz_matrix(&drill, Some(server.http)).await;
    ticking.abort();

    // Teams' ranges are isolated: distinct endpoints.
    let tables: Vec<Vec<_>> = drill.teams().map(|(_, _, e)| e.iter().map(|x| x.port).collect()).collect();
    assert!(tables[0].iter().all(|p| !tables[1].contains(p)), "{tables:?}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_actions_reach_only_their_own_range() {
    let server = start_drill("petrochem-tank-farm", &["a", "b"], Mode::Regional).await;
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let ticking = keep_ticking(drill.clone());
    let (_, b_token, _) = drill.teams().nth(1).unwrap();
    let (status, body) = http(
        server.http,
        "POST",
        "/api/teams/b/actions",
        Some(b_token),
        Some(r#"{"kind":"isolate_host","host":"ews-01"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let ews = drill.scenario().host("ews-01").unwrap().ix();
    assert!(drill.live("b").unwrap().snapshot().net.isolated[ews]);
    assert!(!drill.live("a").unwrap().snapshot().net.isolated[ews], "team a's plant is untouched");
    ticking.abort();
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_behind_the_others_catches_up_when_the_drill_pauses() {
    let server = start_drill("petrochem-tank-farm", &["a", "b"], Mode::Regional).await;
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let (a, b) = (drill.live("a").unwrap().clone(), drill.live("b").unwrap().clone());
    // Team a's range alone runs on 30 ticks, as if b's had stalled.
    a.step(30);
    let bound = Duration::from_secs(20);
    tokio::time::timeout(bound, a.wait_for_tick(30)).await.expect("a ticks");
    assert_eq!(b.snapshot().tick, 0);
    drill.control(Control::Pause).unwrap();
    tokio::time::timeout(bound, b.wait_for_tick(30)).await.expect("b catches up as the drill pauses");
    assert_eq!((a.snapshot().tick, b.snapshot().tick), (30, 30), "both held at the same tick");
    // Started and ended at once: nobody is behind, nobody moves.
    drill.control(Control::Resume).unwrap();
    drill.control(Control::HotWash).unwrap();
    assert_eq!((a.snapshot().tick, b.snapshot().tick), (30, 30));
    server.shutdown().await.unwrap();
}

/// Paused, a team's card and its row on the white cell's board stand where the clock holds,
/// scored as a stop there would store them: the card its range last published may be a
/// refresh (5 s of plant time) behind. Resumed, that card stands until a later one comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_drill_shows_each_card_where_its_clock_holds() {
    let server = start_drill("petrochem-tank-farm", &["a"], Mode::Regional).await;
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    // Past the attack's first step, between two refreshes.
    let first_attack = drill.scenario().attack.as_ref().unwrap().steps[0].when.at_tick.unwrap_or(0);
    let hold = first_attack + 50 * u64::from(drill.scenario().tick_hz) + 7;
    drill.step(hold).await;
    let live = drill.live("a").unwrap().clone();
    tokio::time::timeout(Duration::from_secs(60), live.wait_for_tick(hold)).await.expect("the range ticks");
    drill.control(Control::Pause).unwrap();
    let card = drill.team_score("a").unwrap();
    assert_eq!(card.tick, hold, "the card where the clock holds");
    let stored = drill.final_score("a").unwrap().unwrap();
    assert_eq!(card.total, stored, "as a stop would store it");
    assert!(card.provisional.is_some(), "a blind drill's team keeps its provisional card");
    crate::util::board_where(drill.scoreboard(true), "team a's card where the clock holds", |b| {
        b.rows.iter().any(|r| r.team == "a" && r.total == stored)
    })
    .await;
    drill.control(Control::Resume).unwrap();
    assert_eq!(drill.team_score("a").unwrap().tick, hold, "resumed, until a later card");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_actions_are_bounded_in_size_and_rate() {
    use icsdrill_drill::ActError;
    use icsdrill_drill::flags::{ACTION_LIMIT, ACTION_WINDOW};
    let server = start_drill("petrochem-tank-farm", &["a", "b"], Mode::Regional).await;
    let drill = server.drill.clone();
    let b_token = drill.teams().find(|(t, _, _)| t.id == "b").unwrap().1.to_string();
    drill.control(Control::Start).unwrap();
    let ticking = keep_ticking(drill.clone());
    let notify: SimInput =
        serde_json::from_str(r#"{"kind":"notify","to":"duty_officer","text":"t"}"#).unwrap();
    let sent: Vec<_> = (0..ACTION_LIMIT)
        .map(|_| {
            let (drill, notify) = (drill.clone(), notify.clone());
            tokio::spawn(async move { drill.act("a", notify).await })
        })
        .collect();
    for s in sent {
        assert!(s.await.unwrap().is_ok());
    }
    // One more within the window: refused before the range sees it, with when to retry.
    match drill.act("a", notify.clone()).await {
        Err(ActError::TooFast(after)) => assert!((1..=ACTION_WINDOW.as_secs()).contains(&after), "{after}"),
        other => panic!("{other:?}"),
    }
    assert!(drill.act("b", notify.clone()).await.is_ok(), "another team's budget is its own");
    // A report larger than an action may be: 413, and nothing in the log.
    let before = drill.live("b").unwrap().event_count();
    let big = "x".repeat(11_000);
    let body = format!(
        r#"{{"technique":"T0836","asset":"plc-t101","text":"{big}","impact":"{big}","actions":"{big}"}}"#
    );
    let (s, b) = http(server.http, "POST", "/api/teams/b/reports", Some(&b_token), Some(&body)).await;
    assert_eq!(s, 413, "{b}");
    assert!(b.contains("bytes"), "{b}");
    drill.step(2).await;
    let rejected = drill.live("b").unwrap().events_since(before, 100, |e| {
        matches!(
            &e.kind,
            icsdrill_engine::EventKind::InputRejected { input: SimInput::ReportIncident(_), .. }
        )
    });
    assert!(rejected.is_empty(), "{rejected:?}");
    ticking.abort();
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_inputs_get_clear_json_errors() {
    let server = start_drill("petrochem-tank-farm", &["a", "b"], Mode::Regional).await;
    let drill = server.drill.clone();
    let addr = server.http;
    let (_, a, _) = drill.teams().next().unwrap();
    let a = a.to_string();
    let ins = drill.instructor_token().to_string();

    // Before the start, actions are refused with the phase.
    let (s, b) =
        http(addr, "POST", "/api/teams/a/actions", Some(&a), Some(r#"{"kind":"notify","to":"x"}"#)).await;
    assert_eq!((s, b.contains("briefing")), (409, true), "{b}");
    // And in Chinese, for a console in Chinese (it showed general words and the English).
    let zh = |b: &str| {
        serde_json::from_str::<serde_json::Value>(b).unwrap()["message_zh"].as_str().map(String::from)
    };
    assert_eq!(zh(&b).as_deref(), Some("演练当前处于简报阶段：仅在演练进行中可执行操作"), "{b}");
    drill.control(Control::Start).unwrap();
    let ticking = keep_ticking(drill.clone());

    let cases: &[(&str, &str, Option<&str>, u16, &str)] = &[
        ("POST", "/api/teams/a/actions", Some("{not json"), 400, "invalid body"),
        ("POST", "/api/teams/a/actions", Some(r#"{"kind":"launch_missiles"}"#), 400, "not a defender action"),
        // Another input of the simulation's is refused by name, its fields unnamed.
        (
            "POST",
            "/api/teams/a/actions",
            Some(r#"{"kind":"submit_flag","flag":"x"}"#),
            400,
            "must be one of block_source",
        ),
        (
            "POST",
            "/api/teams/a/actions",
            Some(r#"{"kind":"write_registers","plc":"plc-t101","source":"ews-01","addr":0,"values":[1]}"#),
            400,
            "not a defender action",
        ),
        (
            "POST",
            "/api/teams/a/actions",
            Some(r#"{"kind":"block_source","conduit":"nope","host":"ews-01"}"#),
            422,
            "unknown_target",
        ),
        (
            "POST",
            "/api/teams/a/reports",
            Some(r#"{"technique":"T9999","asset":"plc-t101"}"#),
            400,
            "unknown ATT&CK",
        ),
        (
            "POST",
            "/api/teams/a/reports",
            Some(r#"{"technique":"T0836","asset":"the-moon"}"#),
            400,
            "unknown asset",
        ),
        (
            "POST",
            "/api/teams/a/reports",
            Some(r#"{"technique":"T0836","asset":"plc-t101","observed_s":-1}"#),
            400,
            "observed_s",
        ),
        (
            "POST",
            "/api/teams/a/reports",
            Some(r#"{"technique":"T0836","asset":"plc-t101","observed_s":99999}"#),
            400,
            "after the plant's clock",
        ),
        (
            "POST",
            "/api/teams/a/reports",
            Some(r#"{"technique":"T0836","asset":"plc-t101","extra":1}"#),
            400,
            "unknown field",
        ),
        ("POST", "/api/teams/a/hints", Some(r#"{"hint":"h99"}"#), 400, "no hint"),
        ("GET", "/api/teams/a/events?limit=0", None, 400, "limit"),
        ("GET", "/api/teams/a/events?bogus=1", None, 400, "unknown field"),
        ("GET", "/api/teams/a%2F..%2Fb/state", None, 404, "no team"),
    ];
    for (method, path, body, status, needle) in cases {
        let (s, b) = http(addr, method, path, Some(&a), *body).await;
        assert_eq!(s, *status, "{method} {path}: {b}");
        assert!(b.contains(needle), "{method} {path}: `{b}` lacks `{needle}`");
        assert!(!b.contains("digest"), "{method} {path}: an internal field named: {b}");
        let json: serde_json::Value = serde_json::from_str(&b).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(json["error"].is_string(), "{b}");
    }
    for (path, body, want) in [
        (
            "/api/teams/a/actions",
            r#"{"kind":"block_source","conduit":"nope","host":"ews-01"}"#,
            "工艺系统拒绝了该操作：目标不存在",
        ),
        (
            "/api/teams/a/reports",
            r#"{"technique":"T0836","asset":"the-moon"}"#,
            "未知资产 `the-moon`：请填写本厂的 PLC 或主机编号",
        ),
    ] {
        let (_, b) = http(addr, "POST", path, Some(&a), Some(body)).await;
        assert_eq!(zh(&b).as_deref(), Some(want), "{b}");
    }
    let (_, b) = http(
        addr,
        "POST",
        "/api/teams/a/reports",
        Some(&a),
        Some(r#"{"technique":"T0863x","asset":"plc-t101"}"#),
    )
    .await;
    assert!(zh(&b).is_some_and(|m| m.starts_with("未知的 ATT&CK for ICS 技术编号 `T0863x`（")), "{b}");
    let instructor_cases: &[(&str, &str, u16, &str)] = &[
        ("/api/drill/control", r#"{"action":"start"}"#, 409, "cannot start"),
        ("/api/drill/control", r#"{"action":"explode"}"#, 400, "unknown variant"),
        ("/api/drill/injects", r#"{"channel":"step"}"#, 400, "needs `step`"),
        ("/api/drill/injects", r#"{"channel":"phone"}"#, 400, "needs `text`"),
        ("/api/drill/injects", r#"{"channel":"message","text":"x","teams":["nobody"]}"#, 400, "no team"),
    ];
    for (path, body, status, needle) in instructor_cases {
        let (s, b) = http(addr, "POST", path, Some(&ins), Some(body)).await;
        assert_eq!(s, *status, "{path} {body}: {b}");
        assert!(b.contains(needle), "{path}: `{b}` lacks `{needle}`");
    }
    // A control that does not apply is said in Chinese too (the white cell's console in
    // Chinese showed general words and the English).
    let (_, b) = http(addr, "POST", "/api/drill/control", Some(&ins), Some(r#"{"action":"start"}"#)).await;
    assert_eq!(zh(&b).as_deref(), Some("演练当前进行中，无法开始演练"), "{b}");
    // Wrong content type, oversized body, unknown token.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let big = "x".repeat(200_000);
    let req = format!(
        "POST /api/teams/a/reports HTTP/1.1\r\nHost: i\r\nConnection: close\r\nAuthorization: Bearer {a}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{big}",
        big.len()
    );
    let _ = s.write_all(req.as_bytes()).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw)).await;
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&raw[..raw.len().min(200)])
    );
    let (s, _) = http(addr, "GET", "/api/drill", Some("0123456789abcdef0123456789abcdef"), None).await;
    assert_eq!(s, 401);
    let (s, b) = http(addr, "GET", "/team/a?token=wrong", None, None).await;
    assert_eq!(s, 401, "{b}");
    // A login URL sets the session cookie and drops the token from the address bar.
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(format!("GET /team/a?token={a} HTTP/1.1\r\nHost: i\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = String::new();
    c.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 303"), "{raw}");
    assert!(raw.contains(&format!("icsdrill_team_a={a}; Path=/; HttpOnly; SameSite=Strict")), "{raw}");
    assert!(raw.to_ascii_lowercase().contains("location: /team/a\r\n"), "{raw}");
    // Team a's login URL with team b's address opens team a's own console (it opened team b's,
    // whose every request a's login may not make: a page that never loaded).
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(format!("GET /team/b?token={a} HTTP/1.1\r\nHost: i\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = String::new();
    c.read_to_string(&mut raw).await.unwrap();
    assert!(
        raw.starts_with("HTTP/1.1 303") && raw.to_ascii_lowercase().contains("location: /team/a\r\n"),
        "{raw}"
    );
    assert!(raw.contains(&format!("icsdrill_team_a={a};")), "{raw}");
    // A white cell logged in as the instructor opens team a's console in the same browser:
    // each login has its cookie, and each page acts with its own.
    let ins = drill.instructor_token().to_string();
    let jar = format!("icsdrill_instructor={ins}; icsdrill_team_a={a}");
    let with = |path: &str, scope: Option<&str>| {
        let scope = scope.map(|s| format!("X-Icsdrill-As: {s}\r\n")).unwrap_or_default();
        format!("GET {path} HTTP/1.1\r\nHost: i\r\nConnection: close\r\nCookie: {jar}\r\n{scope}\r\n")
    };
    for (path, scope, status) in [
        ("/api/instructor/overview", Some("instructor"), "200"),
        ("/api/instructor/overview", None, "200"),
        ("/api/teams/a/state", Some("team_a"), "200"),
        ("/api/teams/a/state", None, "200"),
        // A stream names its scope in its address.
        ("/api/instructor/overview?as=team_a", None, "403"),
    ] {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(with(path, scope).as_bytes()).await.unwrap();
        let mut raw = String::new();
        c.read_to_string(&mut raw).await.unwrap();
        assert_eq!(raw.split_whitespace().nth(1), Some(status), "{path} {scope:?}: {raw}");
    }
    // The drill survived all of it.
    let (s, _) = http(addr, "GET", "/api/health", None, None).await;
    assert_eq!(s, 200);
    ticking.abort();
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_move_as_defender_actions_and_reports_arrive() {
    let server = start_drill("petrochem-tank-farm", &["a"], Mode::Enterprise).await;
    let drill = server.drill.clone();
    let (_, a, _) = drill.teams().next().unwrap();
    let a = a.to_string();
    drill.control(Control::Start).unwrap();
    let first_attack = drill.scenario().attack.as_ref().unwrap().steps[0].when.at_tick.unwrap_or(0);
    drill.step(first_attack + 50).await;
    let card = |d: &Arc<Drill>| d.team_score("a").unwrap();
    let part = |c: &icsdrill_judge::score::ScoreCard, k: &str| {
        c.components.iter().find(|x| x.key == k).unwrap_or_else(|| panic!("no {k}")).points
    };
    let before = card(&drill);
    assert_eq!(part(&before, "detection"), 0.0, "{before:?}");

    let ticking = keep_ticking(drill.clone());
    let post = |path: &'static str, body: &'static str| {
        let a = a.clone();
        let addr = server.http;
        async move {
            let (s, b) = http(addr, "POST", path, Some(&a), Some(body)).await;
            assert_eq!(s, 200, "{path}: {b}");
        }
    };
    post("/api/teams/a/actions", r#"{"kind":"notify","to":"duty_officer"}"#).await;
    post("/api/teams/a/actions", r#"{"kind":"notify","to":"management"}"#).await;
    // The first step is a remote login from the office PC to the DMZ historian replica.
    let scenario = drill.scenario();
    let step0 = &scenario.attack.as_ref().unwrap().steps[0];
    let report = serde_json::json!({
        "technique": step0.techniques[0].v18,
        "asset": "hist-dmz-01",
        "tactic": step0.techniques[0].tactic,
        "observed_s": 60,
        "impact": "none yet",
        "actions": "watching the historian",
    })
    .to_string();
    let (s, b) = http(server.http, "POST", "/api/teams/a/reports", Some(&a), Some(&report)).await;
    assert_eq!(s, 200, "{b}");
    post("/api/teams/a/hints", r#"{"hint":"h1"}"#).await;
    ticking.abort();
    drill.step(1).await;
    let after = card(&drill);
    assert!(part(&after, "detection") > 0.0, "{after:#?}");
    assert!(part(&after, "report_quality") > part(&before, "report_quality"), "{after:#?}");
    assert!(part(&after, "hints") < 0.0, "hints cost points: {after:#?}");
    let notify = after.plan.iter().find(|p| p.id == "notify").expect("the plan has a notify step");
    assert_eq!(notify.status, icsdrill_judge::score::PlanStatus::Done, "{after:#?}");
    // The board task publishes the card it scored.
    let board = crate::util::board_caught_up(&drill).await;
    assert_eq!(board.rows[0].total, after.total, "{board:?}");
    server.shutdown().await.unwrap();
}

/// Posts a recorded defence input the way a team would: defender actions and reports over the
/// HTTP API, Modbus writes from the operator station over real Modbus TCP.
async fn play(server: &DrillServer, team: &str, token: &str, input: &SimInput) {
    match input {
        SimInput::ReportIncident(icsdrill_engine::IncidentReport {
            technique,
            asset,
            observed_s,
            text,
            ..
        }) => {
            let body = serde_json::json!({"technique": technique, "asset": asset, "observed_s": observed_s, "text": text,
                "tactic": icsdrill_engine::attack::technique(technique).map(|t| t.tactic), "impact": "process set points changed",
                "actions": "isolated the source; restored set points"});
            let (s, b) = http(
                server.http,
                "POST",
                &format!("/api/teams/{team}/reports"),
                Some(token),
                Some(&body.to_string()),
            )
            .await;
            assert_eq!(s, 200, "{b}");
        }
        SimInput::WriteCoils { plc, addr, values, .. } => {
            use tokio_modbus::client::Writer;
            let k = server.drill.teams().position(|(t, _, _)| t.id == team).unwrap();
            let (_, _, endpoints) = server.drill.teams().nth(k).unwrap();
            let e = endpoints.iter().find(|e| e.plc == *plc).unwrap();
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            // The operator station of this team: 127.0.0.77 in the team's own network.
            let hmi = icsdrill::drill::in_team_net("127.0.0.77".parse().unwrap(), k);
            socket.bind(SocketAddr::new(hmi, 0)).unwrap();
            let stream = socket.connect(SocketAddr::new(e.address.parse().unwrap(), e.port)).await.unwrap();
            let mut ctx = tokio_modbus::client::tcp::attach_slave(stream, tokio_modbus::Slave(e.unit_id));
            ctx.write_multiple_coils(*addr, values).await.unwrap().unwrap();
        }
        other => {
            let body = serde_json::to_string(other).unwrap();
            let (s, b) =
                http(server.http, "POST", &format!("/api/teams/{team}/actions"), Some(token), Some(&body))
                    .await;
            assert_eq!(s, 200, "{body}: {b}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_team_drill_the_defending_team_outscores_the_idle_one_and_the_breakdown_says_why() {
    let id = "petrochem-tank-farm";
    let server = start_drill(id, &["a", "b"], Mode::Enterprise).await;
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let path = format!("{}/scenarios/defences/{id}.jsonl", env!("CARGO_MANIFEST_DIR"));
    let defence = parse_inputs(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
    let (_, a_token, _) = drill.teams().next().unwrap();
    let a_token = a_token.to_string();
    for input in &defence {
        let now = drill.live("a").unwrap().snapshot().tick;
        if input.tick > now {
            drill.step(input.tick - now).await;
        }
        // The action waits for the tick that applies it: step while it is in flight.
        let ticking = keep_ticking(drill.clone());
        play(&server, "a", &a_token, &input.input).await;
        ticking.abort();
    }
    let end = builtin(id).duration_ticks;
    let now = drill.live("a").unwrap().snapshot().tick;
    drill.step(end - now).await;
    let a = drill.team_score("a").unwrap();
    let b = drill.team_score("b").unwrap();
    let part = |c: &icsdrill_judge::score::ScoreCard, k: &str| {
        c.components.iter().find(|x| x.key == k).unwrap().clone()
    };
    assert!(a.total > b.total + 300.0, "a {} vs b {}\n{a:#?}\n{b:#?}", a.total, b.total);
    // Why: b detected nothing, contained nothing, and the plant was damaged; a did all three.
    assert_eq!(part(&b, "detection").points, 0.0);
    assert!(part(&b, "detection").detail.en.contains(&format!("0 of {}", b.steps_fired)), "{b:#?}");
    assert!(part(&a, "detection").points > 0.0, "{a:#?}");
    assert_eq!(part(&b, "time_to_contain").points, 0.0);
    assert!(part(&a, "time_to_contain").points > 0.0, "{a:#?}");
    assert_eq!(part(&b, "damage_avoided").points, 0.0, "{b:#?}");
    assert_eq!(part(&a, "damage_avoided").points, part(&a, "damage_avoided").max, "{a:#?}");
    assert!(b.plan.iter().all(|p| p.status == icsdrill_judge::score::PlanStatus::Missed), "{b:#?}");
    assert!(
        a.plan.iter().filter(|p| p.status == icsdrill_judge::score::PlanStatus::Done).count() >= 3,
        "{a:#?}"
    );
    let board = drill.scoreboard(false).borrow().clone();
    assert_eq!(board.rows.iter().map(|r| r.team.as_str()).collect::<Vec<_>>(), ["a", "b"]);

    // The live drill scores exactly as a headless run of its own log does.
    let sims = server.shutdown().await.unwrap();
    for (team, sim) in &sims {
        let rescored = Scorer::score_log(sim.scenario(), true, sim.events());
        let live = if team == "a" { &a } else { &b };
        assert_eq!(rescored.total, live.total, "team {team}");
    }
}

#[test]
fn every_recorded_defence_outscores_doing_nothing() {
    for b in icsdrill_scenarios::LIBRARY {
        let s = builtin(b.id);
        let path = format!("{}/scenarios/defences/{}.jsonl", env!("CARGO_MANIFEST_DIR"), b.id);
        let defence = parse_inputs(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
        let secs = s.duration_ticks as f64 / f64::from(s.tick_hz);
        let idle = run(&s, 1, secs, &[]);
        let defended = run(&s, 1, secs, &defence);
        let idle = Scorer::score_log(&s, true, idle.events());
        let good = Scorer::score_log(&s, true, defended.events());
        assert!(
            good.total > idle.total + 200.0,
            "{}: defended {} vs idle {}\n{good:#?}",
            b.id,
            good.total,
            idle.total
        );
        assert!(good.steps_detected > 0, "{}: the recorded report credits a step\n{good:#?}", b.id);
        assert_eq!(idle.steps_detected, 0, "{}", b.id);
        assert!(
            good.plan.iter().all(|p| p.status != icsdrill_judge::score::PlanStatus::Missed),
            "{}: the recorded defence follows the response plan\n{:#?}",
            b.id,
            good.plan
        );
    }
}

/// Every second's true and provisional card of a log, scored as it grows.
/// Every second's true and provisional card of a log, scored as it grows (as a regional drill
/// scores: no response plan), and whether the team did anything in that second.
fn cards_by_second(
    s: &Arc<icsdrill_engine::Scenario>,
    events: &[icsdrill_engine::SimEvent],
) -> Vec<(ScoreCard, ScoreCard, bool)> {
    let mut scorer = Scorer::new(s, false);
    let mut next = 0;
    let end = events.last().map_or(0, |e| e.tick);
    (0..=end)
        .step_by(s.tick_hz as usize)
        .map(|tick| {
            let mut acted = false;
            while next < events.len() && events[next].tick <= tick {
                acted |= matches!(
                    &events[next].kind,
                    icsdrill_engine::EventKind::InputApplied { input }
                        if !matches!(input, SimInput::AttackResult { .. } | SimInput::Inject { .. })
                );
                scorer.push(&events[next]);
                next += 1;
            }
            (scorer.card(tick), scorer.provisional_card(tick), acted)
        })
        .collect()
}

/// A card's parts and what they say, for comparing two cards (not their ticks).
fn parts(c: &ScoreCard) -> Vec<(&'static str, f64, icsdrill_engine::scenario::Text)> {
    c.components.iter().map(|p| (p.key, p.points, p.detail.clone())).collect()
}

#[test]
fn a_provisional_score_moves_only_with_what_the_team_did_and_found() {
    for b in icsdrill_scenarios::LIBRARY {
        let (id, s) = (b.id, builtin(b.id));
        let path = format!("{}/scenarios/defences/{id}.jsonl", env!("CARGO_MANIFEST_DIR"));
        let defence = parse_inputs(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
        let secs = s.duration_ticks as f64 / f64::from(s.tick_hz);
        // A team that does nothing: the attack fires, the plant suffers, the true score falls.
        // Its provisional score stands still from the first second to the last: nothing on it
        // says that, or when, the attack came.
        let idle = cards_by_second(&s, run(&s, 1, secs, &[]).events());
        let (first_true, first_shown, _) = &idle[0];
        let (last_true, last_shown, _) = idle.last().unwrap();
        assert!(last_true.steps_fired > 0 && last_true.total < first_true.total, "{id}: {last_true:#?}");
        for (_, shown, _) in &idle {
            assert_eq!(
                (shown.total, shown.steps_fired, parts(shown), shown.settled_tick),
                (first_shown.total, 0, parts(first_shown), 0),
                "{id}: at {} s",
                shown.tick / u64::from(s.tick_hz)
            );
        }
        for key in [
            "time_to_detect",
            "time_to_contain",
            "time_to_recover",
            "trip_avoided",
            "damage_avoided",
            "uptime",
        ] {
            let part = last_shown.components.iter().find(|p| p.key == key).unwrap();
            assert!(part.withheld && part.points == 0.0, "{id}: {part:?}");
        }
        // Points so far: nothing earned before a report matches the attack.
        assert_eq!(first_shown.total, 0.0, "{id}: {first_shown:#?}");
        // The recorded defence reports the attack and acts. Its provisional card moves only in
        // a second the team did something (whatever the attacker does meanwhile), and never
        // falls but for its own penalties; at the end it counts what the true card counts, or
        // less (a report is judged by what had happened when it was filed).
        let defended = cards_by_second(&s, run(&s, 1, secs, &defence).events());
        for pair in defended.windows(2) {
            let ((_, before, _), (_, after, acted)) = (&pair[0], &pair[1]);
            let at = after.tick / u64::from(s.tick_hz);
            assert!(*acted || parts(before) == parts(after), "{id}: the card moved at {at} s with no action");
            let gains =
                |c: &ScoreCard| c.components.iter().filter(|p| p.max > 0.0).map(|p| p.points).sum::<f64>();
            assert!(gains(after) >= gains(before), "{id}: earned points fell at {at} s");
        }
        let (end_true, end_shown, _) = defended.last().unwrap();
        assert!(end_shown.steps_fired > 0 && end_shown.total > 0.0, "{id}: {end_shown:#?}");
        assert!(end_shown.steps_fired <= end_true.steps_fired);
        assert!(end_shown.steps_detected <= end_true.steps_detected, "{id}");
        // A step counts from the second a report earns credit for it, not before.
        let first = defended.iter().position(|(_, p, _)| p.steps_fired > 0).expect("a report is credited");
        assert!(defended[first].2, "{id}: counted in a second with no report");
    }
}

#[test]
fn reporting_one_more_step_never_lowers_a_provisional_part() {
    // Two attack steps of the tank farm, reported out of order: the later one first, then the
    // one that came before it. The second report must not move the attack's start back and
    // so lower time to detect or contain on the provisional card.
    let s = builtin("petrochem-tank-farm");
    let secs = s.duration_ticks as f64 / f64::from(s.tick_hz);
    let idle = run(&s, 1, secs, &[]);
    let mut firsts: Vec<(u64, String, String)> = Vec::new();
    for e in idle.events() {
        if let icsdrill_engine::EventKind::AttackAttempt { step, host, .. } = &e.kind
            && !firsts.iter().any(|(_, st, _)| st == step)
        {
            firsts.push((e.tick, step.clone(), host.clone()));
        }
    }
    let plan = s.attack.as_ref().unwrap();
    let technique =
        |step: &str| plan.steps.iter().find(|st| st.id == step).unwrap().techniques[0].v18.to_string();
    let later =
        firsts.iter().find(|(t, _, _)| *t > firsts[0].0 + u64::from(s.tick_hz) * 60).expect("a later step");
    let report = |tick: u64, (step, host): (&str, &str)| icsdrill_engine::TimedInput {
        tick,
        input: SimInput::ReportIncident(icsdrill_engine::IncidentReport {
            technique: technique(step),
            asset: host.into(),
            observed_s: None,
            text: String::new(),
            tactic: None,
            impact: "x".into(),
            actions: "y".into(),
        }),
    };
    let hz = u64::from(s.tick_hz);
    let inputs = [
        report(later.0 + 10 * hz, (&later.1, &later.2)),
        report(later.0 + 60 * hz, (&firsts[0].1, &firsts[0].2)),
    ];
    let cards = cards_by_second(&s, run(&s, 1, secs, &inputs).events());
    let part = |c: &ScoreCard, k: &str| c.components.iter().find(|p| p.key == k).unwrap().points;
    let second = ((later.0 + 60 * hz) / hz) as usize;
    assert!(cards[second + 1].1.steps_fired >= 2, "both reported steps count: {:#?}", cards[second + 1].1);
    for pair in cards.windows(2) {
        for key in ["detection", "time_to_detect", "time_to_contain", "time_to_recover"] {
            assert!(
                part(&pair[1].1, key) >= part(&pair[0].1, key),
                "{key} fell at {} s",
                pair[1].1.tick / hz
            );
        }
    }
}

#[test]
fn filing_a_matched_report_again_tells_nothing_of_what_the_step_did_since() {
    // A set-point write of the tank farm's attack, first blocked, reported, then through: the
    // team files the same report again (it matches, so it costs nothing). Its provisional card
    // must not change: it would tell the team that, and when, the write took effect.
    use icsdrill_engine::attack::Action;
    use icsdrill_engine::{EventKind, SimEvent};
    let s = builtin("petrochem-tank-farm");
    let plan = s.attack.as_ref().unwrap();
    let (step, plc) = plan
        .steps
        .iter()
        .find_map(|st| match &st.action {
            Action::WriteRegisters { plc, .. } => Some((st, s.plcs[plc.ix()].id.clone())),
            _ => None,
        })
        .expect("a set-point write");
    let attempt = |tick: u64, seq: u64, ok: bool| SimEvent {
        seq,
        tick,
        kind: EventKind::AttackAttempt {
            step: step.id.clone(),
            attempt: 1,
            host: "ews-01".into(),
            techniques: step.techniques.clone(),
            ok,
            reason: None,
        },
    };
    let report = |tick: u64, seq: u64| SimEvent {
        seq,
        tick,
        kind: EventKind::InputApplied {
            input: SimInput::ReportIncident(icsdrill_engine::IncidentReport {
                technique: step.techniques[0].v18.to_string(),
                asset: plc.clone(),
                observed_s: None,
                text: String::new(),
                tactic: None,
                impact: "x".into(),
                actions: "y".into(),
            }),
        },
    };
    let mut scorer = Scorer::new(&s, false);
    for e in [attempt(100, 1, false), report(110, 2)] {
        scorer.push(&e);
    }
    let before = scorer.provisional_card(150);
    assert_eq!(before.steps_fired, 1, "{before:#?}");
    for e in [attempt(200, 3, true), report(300, 4)] {
        scorer.push(&e);
    }
    let after = scorer.provisional_card(350);
    assert_eq!(parts(&after), parts(&before), "{after:#?}");
    assert!(scorer.card(350).components.iter().any(|p| p.key == "time_to_recover" && p.points == 0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_drill_shows_teams_and_the_board_only_what_their_reports_found_until_the_hot_wash() {
    let server = start_drill("petrochem-tank-farm", &["a", "b"], Mode::Regional).await;
    let drill = server.drill.clone();
    let (addr, white) = (server.http, drill.instructor_token().to_string());
    let tokens: Vec<String> = drill.teams().map(|(_, t, _)| t.to_string()).collect();
    let json = |(status, body): (u16, String)| -> serde_json::Value {
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let (_, info) = http(addr, "GET", "/api/drill", Some(&tokens[0]), None).await;
    assert!(info.contains(r#""blind":true"#), "a regional drill is blind by default: {info}");
    drill.control(Control::Start).unwrap();
    // Run until the attack has fired on the white cell's card (bounded by the drill's length).
    let s = builtin("petrochem-tank-farm");
    while drill.team_score("a").unwrap().steps_fired == 0 {
        assert!(drill.live("a").unwrap().snapshot().tick < s.duration_ticks, "the attack fires");
        drill.step(u64::from(s.tick_hz) * 30).await;
    }
    let truth = json(http(addr, "GET", "/api/teams/a/score", Some(&white), None).await);
    assert!(truth["steps_fired"].as_u64().unwrap() > 0, "{truth}");
    let seen = json(http(addr, "GET", "/api/teams/a/score", Some(&tokens[0]), None).await);
    assert_eq!(seen, truth["provisional"], "the team sees the provisional card the white cell's carries");
    assert_eq!(seen["steps_fired"], 0, "nothing the team reported fired: {seen}");
    assert!(seen.get("provisional").is_none());
    let withheld: Vec<&str> = seen["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["withheld"] == true)
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    // The response times too: timed from the attack's start they would say when it began.
    let judged_later =
        ["time_to_detect", "time_to_contain", "time_to_recover", "trip_avoided", "damage_avoided", "uptime"];
    assert_eq!(withheld, judged_later, "{seen}");
    let state = json(http(addr, "GET", "/api/teams/a/state", Some(&tokens[0]), None).await);
    assert_eq!(state["score"], seen, "its console shows the same");
    // The public board (teams, observers) shows no team's score (another team's, rising as its
    // report matched a step, would say the attack had come); the white cell's the true ones.
    let mut public = drill.scoreboard(false);
    let board = tokio::time::timeout(
        Duration::from_secs(20),
        public.wait_for(|b| b.rows.len() == 2 && b.head.provisional),
    )
    .await
    .expect("a provisional board within 20 s")
    .unwrap()
    .clone();
    let blank =
        |r: &icsdrill_drill::BoardRow| (r.total, r.fired, r.detected, r.settled_tick) == (0.0, 0, 0, 0);
    assert!(board.rows.iter().all(|r| blank(r) && r.parts.is_empty()), "{:?}", board.rows);
    let mut full = drill.scoreboard(true);
    let full =
        tokio::time::timeout(Duration::from_secs(20), full.wait_for(|b| b.rows.iter().all(|r| r.fired > 0)))
            .await
            .expect("the white cell's board within 20 s")
            .unwrap()
            .clone();
    assert!(!full.head.provisional && board.head.seq < full.head.seq, "numbered on its own");
    let (_, page) = http(addr, "GET", "/api/scoreboard", Some(&tokens[1]), None).await;
    assert!(page.contains(r#""provisional":true"#) && !page.contains(r#""fired":1"#), "{page}");
    let history = json(http(addr, "GET", "/api/scoreboard/history", Some(&tokens[1]), None).await);
    assert_eq!(history["at_s"], serde_json::json!([]), "no totals on the public chart: {history}");
    let history = json(http(addr, "GET", "/api/scoreboard/history", Some(&white), None).await);
    assert_ne!(history["at_s"], serde_json::json!([]), "the white cell's chart: {history}");
    // The hot wash: everyone sees the true scores.
    drill.control(Control::HotWash).unwrap();
    let after = json(http(addr, "GET", "/api/teams/a/score", Some(&tokens[0]), None).await);
    assert_eq!(after["total"], truth["total"]);
    assert!(after["steps_fired"].as_u64().unwrap() > 0, "{after}");
    let board = tokio::time::timeout(Duration::from_secs(20), public.wait_for(|b| !b.head.provisional))
        .await
        .expect("the true board within 20 s")
        .unwrap()
        .clone();
    assert!(board.rows.iter().all(|r| r.fired > 0), "{:?}", board.rows);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phases_hold_and_release_the_clock() {
    let mut spec = DrillSpec::new(builtin("petrochem-tank-farm"), &["a"], Mode::Regional);
    spec.range.modbus_port = 0;
    spec.range.http_port = 0;
    spec.range.live_attacker = false;
    spec.range.ticks_per_s = Some(500.0);
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    let live = drill.live("a").unwrap().clone();
    let tick = || live.snapshot().tick;
    // The clock holds: no tick beyond the one perhaps under way when it was held comes within
    // 150 ms (75 ticks' worth at this speed).
    let still = |what: &'static str| {
        let live = live.clone();
        async move {
            assert!(!live.running(), "the clock is held in {what}");
            let t0 = live.snapshot().tick;
            let moved = tokio::time::timeout(Duration::from_millis(150), live.wait_for_tick(t0 + 2)).await;
            assert!(moved.is_err(), "the clock holds in {what}: {} after {t0}", live.snapshot().tick);
        }
    };
    // The clock runs: 20 more ticks come, within ten seconds.
    let runs = |from: u64| {
        let live = live.clone();
        async move {
            let ran = tokio::time::timeout(Duration::from_secs(10), live.wait_for_tick(from + 20)).await;
            assert!(ran.is_ok(), "the clock runs when live: {} from {from}", live.snapshot().tick);
        }
    };
    still("briefing").await;
    assert_eq!(drill.control(Control::Start).unwrap(), icsdrill_drill::Phase::Live);
    runs(tick()).await;
    let t1 = tick();
    drill.control(Control::Pause).unwrap();
    still("pause").await;
    assert!(drill.control(Control::Pause).is_err(), "cannot pause twice");
    drill.control(Control::Resume).unwrap();
    runs(t1).await;
    drill.control(Control::HotWash).unwrap();
    still("hot wash").await;
    assert!(drill.control(Control::Resume).is_err());
    drill.control(Control::End).unwrap();
    assert!(
        drill.control(Control::End).unwrap_err().to_string().contains("cannot end a drill that is ended")
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injects_hints_and_the_contest_scoreboard_freeze() {
    let mut spec = DrillSpec::new(builtin("petrochem-tank-farm"), &["a", "b"], Mode::Contest);
    spec.range.modbus_port = 0;
    spec.range.http_port = 0;
    spec.range.live_attacker = false;
    spec.range.duration_s = Some(120.0);
    spec.freeze_s = Some(60.0);
    // A frozen live board (`--live-scores`): a blind contest's shows no scores to freeze.
    spec.blind = false;
    spec.manual_clock = true;
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    let addr = server.http;
    let ins = drill.instructor_token().to_string();
    let tokens: Vec<String> = drill.teams().map(|(_, t, _)| t.to_string()).collect();
    // In the briefing an inject is refused for each team, with the reason in both languages.
    let (s, b) =
        http(addr, "POST", "/api/drill/injects", Some(&ins), Some(r#"{"channel":"message","text":"x"}"#))
            .await;
    assert_eq!(s, 200, "{b}");
    let refused: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert!(
        refused.as_array().unwrap().iter().all(|r| r["ok"] == false
            && r["error"].as_str().is_some_and(|e| e.contains("in briefing"))
            && r["error_zh"] == "演练当前处于简报阶段：仅在演练进行中可执行操作"),
        "{refused}"
    );
    drill.control(Control::Start).unwrap();
    let ticking = keep_ticking(drill.clone());

    // A phone call to team a only.
    let (s, b) = http(
        addr,
        "POST",
        "/api/drill/injects",
        Some(&ins),
        Some(r#"{"teams":["a"],"channel":"phone","text":"控制室：T-101 液位读数不动了"}"#),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let state = |team: &'static str, token: String| async move {
        let (s, b) = http(addr, "GET", &format!("/api/teams/{team}/state"), Some(&token), None).await;
        assert_eq!(s, 200, "{b}");
        serde_json::from_str::<serde_json::Value>(&b).unwrap()
    };
    let a = state("a", tokens[0].clone()).await;
    assert_eq!(a["injects"][0]["text"], "控制室：T-101 液位读数不动了", "{a}");
    assert_eq!(a["injects"][0]["channel"], "phone");
    assert_eq!(state("b", tokens[1].clone()).await["injects"], serde_json::json!([]));
    // Team state never carries the answer key.
    assert!(a.get("vars").is_none() && !a.to_string().contains("\"attack\""), "{a}");

    // The white cell fires the deny-view step now, long before its trigger (the tank near
    // its top).
    let (s, b) = http(
        addr,
        "POST",
        "/api/drill/injects",
        Some(&ins),
        Some(r#"{"teams":["b"],"channel":"step","step":"deny-view"}"#),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // Not the overfill: the step it follows (the SIS bypass) has not run, the attacker is not
    // where it runs from (fired, it failed and never ran as scripted). Said so.
    let (s, b) = http(
        addr,
        "POST",
        "/api/drill/injects",
        Some(&ins),
        Some(r#"{"teams":["b"],"channel":"step","step":"overfill"}"#),
    )
    .await;
    assert!(b.contains("the step it follows has not finished yet"), "{s}: {b}");
    drill.step(2).await;
    let overview_now = || async {
        let (s, b) = http(addr, "GET", "/api/instructor/overview", Some(&ins), None).await;
        assert_eq!(s, 200, "{b}");
        serde_json::from_str::<serde_json::Value>(&b).unwrap()
    };
    let overview = overview_now().await;
    let steps = |team: usize| overview["teams"][team]["steps"].as_array().unwrap().clone();
    let step = |team: usize, id: &str| steps(team).into_iter().find(|s| s["id"] == id).unwrap();
    assert_ne!(step(1, "deny-view")["attempts"], 0, "{overview}");
    assert_eq!(step(0, "deny-view")["attempts"], 0, "{overview}");
    // The instructor sees true values next to measured ones, and next to what each team's
    // operator screen shows: b's, frozen by the attack, as b sees it (the white cell saw only
    // the field's numbers, and could not tell a faked screen).
    assert!(overview["teams"][0]["values"][0]["true"].is_number(), "{overview}");
    let plant = builtin("petrochem-tank-farm");
    // The two reads at one tick: the steppers run a tick for each input queued (the fired
    // step's), and may yet while the two are read.
    let mut tries = 0;
    let (overview, seen_by_b) = loop {
        let before = overview_now().await;
        let seen_by_b = state("b", tokens[1].clone()).await;
        let after = overview_now().await;
        let tick = |o: &serde_json::Value| o["teams"][1]["tick"].clone();
        if tick(&before) == seen_by_b["tick"] && tick(&after) == seen_by_b["tick"] {
            break (after, seen_by_b);
        }
        tries += 1;
        assert!(tries < 50, "team b never held still for three reads: {}", seen_by_b["tick"]);
        tokio::task::yield_now().await;
    };
    let mut compared = 0;
    for i in 0..plant.vars.len() {
        let Some(k) = plant.sensors.iter().position(|d| d.var.ix() == i) else { continue };
        let shown = &overview["teams"][1]["values"][i]["shown"];
        assert_eq!(shown, &seen_by_b["sensors"][k]["value"], "{i}: {overview}");
        compared += usize::from(shown.is_number());
    }
    assert!(compared >= 3, "{overview}");
    // The white cell's script holds only what comes before the drill's end (120 s here).
    let whole = icsdrill_drill::overview::Overview::script(&builtin("petrochem-tank-farm"), None);
    assert!(whole.iter().any(|l| l.at_s >= 120.0), "the scenario has work after 120 s");
    let script = overview["script"].as_array().unwrap();
    assert!(script.iter().all(|l| l["at_s"].as_f64().unwrap() < 120.0), "{overview}");
    assert_eq!(script.len(), whole.iter().filter(|l| l.at_s < 120.0).count());

    // The instructor reveals a hint to team b: b sees it and pays for it.
    let (s, b) = http(addr, "POST", "/api/teams/b/hints", Some(&ins), Some(r#"{"hint":"h2"}"#)).await;
    assert_eq!(s, 200, "{b}");
    let bs = state("b", tokens[1].clone()).await;
    let h2 = bs["hints"].as_array().unwrap().iter().find(|h| h["id"] == "h2").unwrap().clone();
    assert_eq!(h2["taken"], true);
    assert!(h2["text"]["zh"].as_str().is_some_and(|t| !t.is_empty()), "{h2}");
    let hints =
        bs["score"]["components"].as_array().unwrap().iter().find(|c| c["key"] == "hints").unwrap().clone();
    assert_eq!(hints["points"], -40.0, "{hints}");
    ticking.abort();

    // The score chart's history: not frozen before the freeze.
    let history = |token: &str| {
        let token = token.to_string();
        async move {
            let (s, b) = http(addr, "GET", "/api/scoreboard/history", Some(&token), None).await;
            assert_eq!(s, 200, "{b}");
            serde_json::from_str::<icsdrill_drill::history::HistoryView>(&b).unwrap()
        }
    };
    assert!(!history(&tokens[1]).await.frozen);

    // Past the freeze (60 s before the 120 s end), observers keep the frozen board while the
    // instructor's moves on.
    let now = drill.live("a").unwrap().snapshot().tick;
    drill.step(650 - now).await;
    // The drill says where its plant time stands now (a page's clock starts from it).
    let info: serde_json::Value =
        serde_json::from_str(&http(addr, "GET", "/api/drill", Some(&tokens[0]), None).await.1).unwrap();
    assert_eq!(info["at_s"].as_f64(), Some(65.0), "{info}");
    let ticking = keep_ticking(drill.clone());
    crate::util::board_where(drill.scoreboard(false), "the freeze", |b| b.head.frozen).await;
    let public_before: serde_json::Value =
        serde_json::from_str(&http(addr, "GET", "/api/scoreboard", Some(&tokens[0]), None).await.1).unwrap();
    assert_eq!(public_before["frozen"], true, "{public_before}");
    let (s, b) = http(
        addr,
        "POST",
        "/api/teams/a/reports",
        Some(&tokens[0]),
        Some(r#"{"technique":"T0855","asset":"sis-01"}"#),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    crate::util::board_caught_up(&drill).await;
    let public: serde_json::Value =
        serde_json::from_str(&http(addr, "GET", "/api/scoreboard", Some(&tokens[1]), None).await.1).unwrap();
    let full: serde_json::Value =
        serde_json::from_str(&http(addr, "GET", "/api/scoreboard", Some(&ins), None).await.1).unwrap();
    let total = |b: &serde_json::Value, team: &str| {
        b["rows"].as_array().unwrap().iter().find(|r| r["team"] == team).unwrap()["total"].as_f64().unwrap()
    };
    assert_eq!(total(&public, "a"), total(&public_before, "a"), "frozen: {public}");
    assert_ne!(total(&full, "a"), total(&public, "a"), "the instructor sees the live score: {full}");
    assert_eq!(full["frozen"], false);
    // The score chart's history: a team sees it up to the freeze (60 s), the instructor past
    // it; both from the drill's start.
    let (seen, all) = (history(&tokens[1]).await, history(&ins).await);
    assert!(seen.frozen && !all.frozen, "{seen:?}");
    assert!(seen.at_s.iter().all(|&t| t <= 60.0) && seen.at_s.len() < all.at_s.len(), "{seen:?}");
    assert!(all.at_s.last() >= Some(&65.0) && all.at_s.first() < Some(&5.0), "{all:?}");
    assert_eq!(all.teams, ["a", "b"]);
    // Hot wash lifts the freeze.
    drill.control(Control::HotWash).unwrap();
    crate::util::board_where(drill.scoreboard(false), "the freeze lifted", |b| !b.head.frozen).await;
    let public: serde_json::Value =
        serde_json::from_str(&http(addr, "GET", "/api/scoreboard", Some(&tokens[1]), None).await.1).unwrap();
    assert_eq!(public["frozen"], false, "{public}");
    assert_eq!(total(&public, "a"), total(&full, "a"));
    // The plant stands still: the chart ends at the board's totals, for everyone.
    let seen = history(&tokens[1]).await;
    assert!(!seen.frozen, "{seen:?}");
    assert_eq!(seen.totals[0].last(), Some(&total(&public, "a")), "{seen:?}");
    ticking.abort();
    server.shutdown().await.unwrap();
}

#[test]
fn the_openapi_document_lists_every_route_with_its_access() {
    let doc = icsdrill_web::openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for r in ROUTES {
        let op = &paths[r.path][r.method.to_ascii_lowercase()];
        assert!(op["summary"].is_string(), "{} {} missing from the OpenAPI document", r.method, r.path);
        assert_eq!(op["security"].is_array(), r.access != Access::Public, "{} {}", r.method, r.path);
        if r.method == "POST" {
            assert!(op["requestBody"]["content"]["application/json"]["example"].is_object(), "{}", r.path);
        }
    }
    let listed: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(listed, ROUTES.len());
}

/// The flag in a PLC's identification (FC 43/14, object 2: revision), read over Modbus from
/// team `k`'s own network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_contest_with_a_solved_flag_replays_to_the_same_score() {
    let (dir, spec) = crate::util::recorded_tank_farm("contest-replay", &["a", "b"], Mode::Contest);
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let ticking = keep_ticking(drill.clone());
    let (_, _, e) = drill.teams().find(|(t, _, _)| t.id == "a").unwrap();
    let flag = identity_flag(SocketAddr::new(e[0].address.parse().unwrap(), e[0].port), 0).await;
    assert!(drill.submit_flag("a", flag).await.unwrap().valid);
    ticking.abort();
    drill.step(20).await;
    let flags = drill.team_score("a").unwrap().components.iter().find(|c| c.key == "flags").map(|c| c.points);
    assert!(flags.is_some_and(|p| p > 0.0), "{flags:?}");
    let id = drill.id.clone();
    server.shutdown().await.unwrap();
    let store = icsdrill::store::SqliteStore::open(&dir).unwrap();
    let (_, verdicts) = icsdrill::store::replay::verify(&store, &id).unwrap();
    for v in verdicts {
        assert!(v.matches(), "the solved flag scores in the replay too: {v:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contest_resumed_past_its_freeze_keeps_the_public_board_frozen() {
    let (dir, mut spec) = crate::util::recorded_tank_farm("freeze-resume", &["a", "b"], Mode::Contest);
    (spec.range.duration_s, spec.freeze_s) = (Some(120.0), Some(60.0));
    // The freeze of true scores (`--live-scores`): a blind contest's public board shows
    // provisional ones, frozen alike.
    spec.blind = false;
    // The engine's attack, not the live attacker's: stepped 650 ticks in a blink, a live
    // attacker's results land whenever its wire work ends, so one team's attack could still be
    // unfired at the freeze and fire after it, and the totals would not be the flag's alone.
    spec.range.live_attacker = false;
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    // Past the freeze (tick 600), team a solves a flag: the instructor's board shows it, the
    // public one does not.
    drill.step(650).await;
    let frozen = crate::util::board_where(drill.scoreboard(false), "the freeze", |b| b.head.frozen).await;
    let before = frozen.rows.iter().find(|r| r.team == "a").unwrap().total;
    let (_, _, e) = drill.teams().find(|(t, _, _)| t.id == "a").unwrap();
    let flag = identity_flag(SocketAddr::new(e[0].address.parse().unwrap(), e[0].port), 0).await;
    // Stepped, not left ticking: the same few ticks every run, so the same scores.
    let submit = {
        let drill = drill.clone();
        tokio::spawn(async move { drill.submit_flag("a", flag).await.map(|a| a.valid) })
    };
    while !submit.is_finished() {
        drill.step(1).await;
    }
    assert!(submit.await.unwrap().unwrap(), "a's own flag");
    drill.step(5).await;
    let after = crate::util::board_caught_up(&drill).await.rows.iter().find(|r| r.team == "a").unwrap().total;
    assert!(after > before, "the flag scores on the instructor's board: {before} -> {after}");
    let id = drill.id.clone();
    server.shutdown().await.unwrap();
    // Resumed (a restarted container): the public board is still the one at the freeze.
    let server = resume_from(&dir, &id).await;
    let drill = server.drill.clone();
    let public = crate::util::board_where(drill.scoreboard(false), "a frozen board", |b| b.head.frozen).await;
    let a = public.rows.iter().find(|r| r.team == "a").unwrap().total;
    assert_eq!(a, before, "teams and observers see the scores at the freeze, not {after}");
    let full =
        crate::util::board_where(drill.scoreboard(true), "team a's card", |b| !b.rows.is_empty()).await;
    assert_eq!(full.rows.iter().find(|r| r.team == "a").unwrap().total, after, "the instructor sees all");
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_events_are_numbered_with_no_gap_where_the_log_has_events_it_does_not_see() {
    let server = start_drill("petrochem-tank-farm", &["a"], Mode::Regional).await;
    let drill = server.drill.clone();
    let token = drill.teams().next().map(|(_, t, _)| t.to_string()).unwrap();
    drill.control(Control::Start).unwrap();
    // The team notifies its duty officer every 30 s while the attack goes on: its own actions
    // are what its console lists, the attack's attempts fall between them.
    let s = builtin("petrochem-tank-farm");
    for _ in 0..12 {
        let act = {
            let drill = drill.clone();
            let notify = SimInput::Notify { to: "duty_officer".into(), text: "status".into() };
            tokio::spawn(async move { drill.act("a", notify).await })
        };
        while !act.is_finished() {
            drill.step(1).await;
        }
        act.await.unwrap().unwrap();
        drill.step(u64::from(s.tick_hz) * 30).await;
    }
    assert!(drill.team_score("a").unwrap().steps_fired > 0, "the attack fired");
    // The log has events the console does not show: the attack's attempts among them.
    let live = drill.live("a").unwrap();
    let hidden = live.events_since(0, usize::MAX, |e| !icsdrill_drill::track::visible_to_team(e));
    assert!(hidden.iter().any(|e| matches!(e.kind, icsdrill_engine::EventKind::AttackAttempt { .. })));
    // Page through the team's events: numbered 0, 1, 2, ... with no gap, none of them hidden.
    let (mut since, mut seen) = (0u64, Vec::new());
    loop {
        let path = format!("/api/teams/a/events?since={since}&limit=500");
        let (status, body) = http(server.http, "GET", &path, Some(&token), None).await;
        assert_eq!(status, 200, "{body}");
        let page: serde_json::Value = serde_json::from_str(&body).unwrap();
        let events = page["events"].as_array().unwrap().clone();
        if events.is_empty() {
            break;
        }
        since = page["next"].as_u64().unwrap();
        seen.extend(events);
        assert!(seen.len() < 1_000_000, "the pages end");
    }
    let numbers: Vec<u64> = seen.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(numbers.len() >= 12, "{}", numbers.len());
    assert_eq!(numbers, (0..numbers.len() as u64).collect::<Vec<_>>(), "no gap");
    assert!(seen.iter().all(|e| !e.to_string().contains("attack_attempt")));
    // Alerts carry the same numbers.
    let alerts = drill.team_alerts("a", 0, 1000).unwrap();
    for a in &alerts {
        assert!(seen[a.seq as usize].to_string().contains("ids_alert"), "{a:?}: {}", seen[a.seq as usize]);
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_drill_resumed_still_hides_the_scores_from_the_public() {
    let (dir, mut spec) = crate::util::recorded_tank_farm("blind-resume", &["a"], Mode::Regional);
    spec.range.live_attacker = false;
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    while drill.team_score("a").unwrap().steps_fired == 0 {
        drill.step(300).await;
    }
    drill.all_recorded().await;
    let id = drill.id.clone();
    server.shutdown().await.unwrap();
    let server = resume_from(&dir, &id).await;
    let drill = server.drill.clone();
    assert!(drill.info().blind, "kept with the record");
    let card = drill.team_score("a").unwrap();
    assert!(
        card.steps_fired > 0 && card.provisional.as_ref().is_some_and(|p| p.steps_fired == 0),
        "{card:#?}"
    );
    let public =
        crate::util::board_where(drill.scoreboard(false), "a provisional board", |b| b.head.provisional)
            .await;
    assert_eq!((public.rows[0].fired, public.rows[0].total), (0, 0.0), "{:?}", public.rows);
    // Its chart: no totals for the public, the whole history, read again, for the white cell.
    assert!(drill.score_history(false).at_s.is_empty());
    assert!(!drill.score_history(true).at_s.is_empty());
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_counts_detections_against_the_steps_one_run_can_fire() {
    // The Triton attack has seven steps, but its overpressure and its coming back follow the
    // implant's success and its failure: six can fire in one run.
    let server = start_drill("petrochem-triton", &["a", "b"], Mode::Regional).await;
    let board =
        crate::util::board_where(server.drill.scoreboard(false), "the teams' rows", |b| b.rows.len() == 2)
            .await;
    assert_eq!(board.head.steps, 6);
    // The white cell forces both branches on team a: its count never exceeds the board's.
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let ins = drill.instructor_token().to_string();
    let ticking = keep_ticking(drill.clone());
    for step in ["pivot-dmz", "pivot-ews", "recon", "upload", "implant", "overpressure", "come-back"] {
        let body = format!(r#"{{"teams":["a"],"channel":"step","step":"{step}"}}"#);
        let (s, b) = http(server.http, "POST", "/api/drill/injects", Some(&ins), Some(&body)).await;
        assert!(s == 200 && b.contains(r#""ok":true"#), "{step}: {b}");
        drill.step(2).await;
    }
    // The white cell's board: a regional drill's public one counts only what a team reported.
    let board = crate::util::board_where(server.drill.scoreboard(true), "team a's seven steps", |b| {
        b.rows.iter().any(|r| r.team == "a" && r.fired == 7)
    })
    .await;
    assert_eq!(board.head.steps, 7, "{:?}", board.rows);
    ticking.abort();
    server.shutdown().await.unwrap();
}

/// A team's historian: once a second of plant time, what its operator station showed and its
/// score, for its own console (and the white cell's), not another team's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_trends_are_kept_a_sample_a_second_for_its_console() {
    let mut spec = DrillSpec::new(builtin("petrochem-tank-farm"), &["a", "b"], Mode::Regional);
    (spec.range.modbus_port, spec.range.http_port, spec.range.live_attacker) = (0, 0, false);
    spec.manual_clock = true;
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    drill.step(300).await;
    let tokens: Vec<String> = drill.teams().map(|(_, t, _)| t.to_string()).collect();
    let (s, b) = http(server.http, "GET", "/api/teams/a/trends", Some(&tokens[0]), None).await;
    assert_eq!(s, 200, "{b}");
    let trends: icsdrill_drill::trends::TrendsView = serde_json::from_str(&b).unwrap();
    let expected: Vec<f64> = (1..=30).map(f64::from).collect();
    assert_eq!(trends.at_s, expected, "a sample a second of plant time");
    assert_eq!(trends.score.len(), 30);
    // The newest sample is what the console shows now.
    let (_, state) = http(server.http, "GET", "/api/teams/a/state", Some(&tokens[0]), None).await;
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    for sensor in state["sensors"].as_array().unwrap() {
        let kept = trends.sensors.iter().find(|t| t.id == sensor["id"].as_str().unwrap()).unwrap();
        // Kept as f32: a transmitter's few digits.
        let (kept, now) = (kept.values.last().copied().flatten().unwrap(), sensor["value"].as_f64().unwrap());
        assert!((kept - now).abs() < 1e-3 * now.abs().max(1.0), "{sensor}: {kept}");
    }
    // Another team's token: refused.
    let (s, _) = http(server.http, "GET", "/api/teams/a/trends", Some(&tokens[1]), None).await;
    assert_eq!(s, 403);
    server.shutdown().await.unwrap();
}

/// Teams a and b file the same false report ten ticks apart: equal totals, settled at
/// different ticks. Their ranks under `ties`, and the standings' settled ticks (CSV).
async fn ranks_of_equal_totals_settled_apart(
    ties: icsdrill_drill::board::Ties,
) -> (Vec<(String, usize)>, Vec<String>) {
    let mut spec = DrillSpec::new(builtin("petrochem-tank-farm"), &["a", "b"], Mode::Contest);
    (spec.range.modbus_port, spec.range.http_port, spec.range.live_attacker) = (0, 0, false);
    spec.manual_clock = true;
    spec.ties = ties;
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let ticking = keep_ticking(drill.clone());
    let wrong: SimInput = serde_json::from_str(
        r#"{"kind":"report_incident","technique":"T0800","asset":"plc-r201","text":"a false alarm"}"#,
    )
    .unwrap();
    drill.act("a", wrong.clone()).await.unwrap();
    drill.step(10).await;
    drill.act("b", wrong).await.unwrap();
    drill.step(1).await;
    let board = crate::util::board_caught_up(&drill).await;
    let (a, b) = (drill.team_score("a").unwrap(), drill.team_score("b").unwrap());
    assert_eq!(a.total, b.total, "the same penalty");
    assert!(a.settled_tick < b.settled_tick, "{} {}", a.settled_tick, b.settled_tick);
    let settled_of = |csv: Vec<u8>| -> Vec<String> {
        let csv = String::from_utf8(csv).unwrap();
        csv.lines().skip(1).map(|l| l.split(',').nth(6).unwrap().to_string()).collect()
    };
    let settled = settled_of(drill.standings_csv().unwrap());
    let ranks = |board: &icsdrill_drill::board::Scoreboard| -> Vec<(String, usize)> {
        board.rows.iter().map(|r| (r.team.clone(), r.rank)).collect()
    };
    // The hot wash and the end judge each log where it stands: the ticks the totals settled
    // at, and so the ranks, stay the ones the live board had (each was the end tick for every
    // team, and equal totals ranked as the server happened to score them).
    for control in [Control::HotWash, Control::End] {
        drill.step(50).await;
        drill.control(control).unwrap();
        let over = crate::util::board_caught_up(&drill).await;
        assert_eq!(ranks(&over), ranks(&board), "{control:?}");
        assert_eq!(settled_of(drill.standings_csv().unwrap()), settled, "{control:?}");
    }
    ticking.abort();
    server.shutdown().await.unwrap();
    (ranks(&board), settled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organisers_choose_whether_equal_totals_share_a_rank() {
    use icsdrill_drill::board::Ties;
    let (first, settled) = ranks_of_equal_totals_settled_apart(Ties::FirstSettled).await;
    assert_eq!(first, [("a".to_string(), 1), ("b".to_string(), 2)], "a reached the total first");
    // The standings say the tick that decided it.
    assert!(settled[0].parse::<u64>().unwrap() < settled[1].parse::<u64>().unwrap(), "{settled:?}");
    let (shared, settled) = ranks_of_equal_totals_settled_apart(Ties::Shared).await;
    assert_eq!(shared, [("a".to_string(), 1), ("b".to_string(), 1)]);
    // A tick that decides nothing is not shown (not as 0 either).
    assert_eq!(settled, ["", ""]);
}

pub(crate) async fn identity_flag(addr: SocketAddr, k: usize) -> String {
    let from = icsdrill::drill::in_team_net("127.0.0.1".parse().unwrap(), k);
    let mut c = crate::modbus::Client::connect_from(from, addr).await.expect("the team's client connects");
    let r = c.pdu(1, &[0x2B, 0x0E, 0x04, 0x02]).await.expect("an answer");
    let text = String::from_utf8_lossy(&r).into_owned();
    let start = text.find("flag{").unwrap_or_else(|| panic!("no flag in {text:?}"));
    text[start..].split('}').next().unwrap().to_string() + "}"
}

/// A contest's third challenge: a hidden memory area past the first PLC's documented input
/// registers. A team scanning its own PLC with pymodbus finds it, decodes its flag and solves
/// the challenge; its console lists the challenges in both languages, this one solved. The
/// documented map answers as before, and the area is no one else's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contest_team_scanning_its_plc_finds_the_hidden_flag() {
    use icsdrill_engine::scenario::Table;
    let documented = builtin("petrochem-tank-farm").plcs[0].table_len(Table::InputRegisters);
    let server = start_drill("petrochem-tank-farm", &["a", "b"], Mode::Contest).await;
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let addr = server.http;
    // Team k's scan of its own T-101 endpoint, from its own network: the flag it printed.
    let scan = |k: usize| {
        let (_, _, endpoints) = drill.teams().nth(k).unwrap();
        let t101 = endpoints.iter().find(|e| e.plc == "plc-t101").unwrap().clone();
        let from = icsdrill::drill::in_team_net("127.0.0.1".parse().unwrap(), k);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/ctf_scan.py");
        let args = [
            script.into(),
            t101.address.clone(),
            t101.port.to_string(),
            from.to_string(),
            documented.to_string(),
        ];
        async move {
            let o = crate::clients::run("python3", args.to_vec()).await;
            assert!(o.status.success(), "{}", crate::clients::text(&o));
            (String::from_utf8_lossy(&o.stdout).trim().to_string(), t101)
        }
    };
    let (found, t101) = scan(0).await;
    assert!(found.starts_with("flag{") && found.ends_with('}'), "{found}");
    let token = drill.teams().next().unwrap().1.to_string();
    assert_ne!(found, identity_flag(SocketAddr::new(t101.address.parse().unwrap(), t101.port), 0).await);
    let body = serde_json::json!({ "flag": found }).to_string();
    let ticking = keep_ticking(drill.clone());
    let (s, answer) = http(addr, "POST", "/api/teams/a/flags", Some(&token), Some(&body)).await;
    ticking.abort();
    assert_eq!(s, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        (answer["valid"].as_bool(), answer["challenge"].as_str()),
        (Some(true), Some("hidden:plc-t101"))
    );
    drill.step(2).await;
    let (s, state) = http(addr, "GET", "/api/teams/a/state", Some(&token), None).await;
    assert_eq!(s, 200);
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let ids: Vec<&str> =
        state["challenges"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["identity:plc-t101", "identity:plc-r201", "hidden:plc-t101"], "{state}");
    assert!(state["challenges"][2]["title"]["zh"].as_str().unwrap().contains("隐藏存储区"), "{state}");
    let solved = state["score"]["solved"].as_array().unwrap();
    assert_eq!(solved.len(), 1, "{state}");
    assert_eq!(solved[0][0], "hidden:plc-t101");
    let flags =
        state["score"]["components"].as_array().unwrap().iter().find(|c| c["key"] == "flags").unwrap();
    assert_eq!(flags["max"].as_f64(), Some(flags["points"].as_f64().unwrap() * 3.0), "{flags}");
    // Team b's own area holds its own flag, worth nothing to a.
    let (b_flag, _) = scan(1).await;
    assert!(b_flag.starts_with("flag{") && b_flag != found, "{b_flag}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contest_flags_differ_per_team_are_not_transferable_and_are_rate_limited() {
    let mut spec = DrillSpec::new(builtin("petrochem-tank-farm"), &[], Mode::Contest);
    spec.teams = ["a:pro", "b:pro", "c:student"]
        .iter()
        .map(|t| {
            let (id, b) = t.split_once(':').unwrap();
            icsdrill_drill::TeamInfo { id: id.into(), name: id.into(), bracket: Some(b.into()) }
        })
        .collect();
    spec.range.modbus_port = 0;
    spec.range.http_port = 0;
    spec.range.live_attacker = false;
    spec.manual_clock = true;
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    let addr = server.http;
    let tokens: std::collections::BTreeMap<String, String> =
        drill.teams().map(|(t, k, _)| (t.id.clone(), k.to_string())).collect();
    let endpoint = |team: &str| {
        let (_, _, e) = drill.teams().find(|(t, _, _)| t.id == team).unwrap();
        SocketAddr::new(e[0].address.parse().unwrap(), e[0].port)
    };
    let flag_a = identity_flag(endpoint("a"), 0).await;
    // The flag is read over Modbus, not off the console's endpoint table.
    let (s, body) = http(addr, "GET", "/api/teams/a/endpoints", Some(&tokens["a"]), None).await;
    assert_eq!(s, 200);
    assert!(!body.contains("flag{"), "{body}");
    let flag_b = identity_flag(endpoint("b"), 1).await;
    assert_ne!(flag_a, flag_b, "flags differ per team");

    let submit = |team: &'static str, flag: String| {
        let token = tokens[team].clone();
        async move {
            http(
                addr,
                "POST",
                &format!("/api/teams/{team}/flags"),
                Some(&token),
                Some(&serde_json::json!({ "flag": flag }).to_string()),
            )
            .await
        }
    };
    // Tries in the briefing are refused without spending the team's tries of the contest.
    for i in 0..5 {
        let (s, body) = submit("c", format!("flag{{early{i}}}")).await;
        assert_eq!(s, 409, "{body}");
    }
    drill.control(Control::Start).unwrap();
    let ticking = keep_ticking(drill.clone());
    let flags_part = |team: &str| {
        drill
            .team_score(team)
            .unwrap()
            .components
            .iter()
            .find(|c| c.key == "flags")
            .map(|c| c.points)
            .unwrap()
    };
    // Team a's own flag scores.
    let (s, body) = submit("a", flag_a.clone()).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("\"valid\":true") && body.contains("identity:plc-t101"), "{body}");
    assert!(body.contains(r#""message_zh":"旗标正确""#), "the answer in Chinese too: {body}");
    drill.step(2).await;
    assert_eq!(flags_part("a"), 100.0);
    // Team b submitting team a's flag scores nothing, and it is logged in b's log.
    let (s, body) = submit("b", flag_a.clone()).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("\"valid\":false") && body.contains("not your flag"), "{body}");
    drill.step(2).await;
    assert_eq!(flags_part("b"), 0.0);
    let logged = drill.live("b").unwrap().events_since(0, usize::MAX, |e| {
        matches!(&e.kind, icsdrill_engine::EventKind::InputApplied { input: icsdrill_engine::SimInput::SubmitFlag { owner, valid: false, .. } } if owner == "a")
    });
    assert_eq!(logged.len(), 1);
    // The white cell sees whose flag b sent, and when (it saw only how many), and a's solve.
    let overview = serde_json::to_value(drill.overview()).unwrap();
    let sent = |team: &str| {
        overview["teams"].as_array().unwrap().iter().find(|t| t["id"] == team).unwrap()["flags"].clone()
    };
    let b_sent = sent("b");
    assert_eq!((b_sent[0]["owner"].as_str(), b_sent[0].get("challenge")), (Some("a"), None), "{overview}");
    assert!(b_sent[0]["tick"].as_u64().is_some(), "{overview}");
    assert_eq!(sent("a")[0]["challenge"], "identity:plc-t101", "{overview}");
    // Submitting it twice does not score twice, and says so (it said "correct flag" again).
    let (s, body) = submit("a", flag_a.clone()).await;
    assert_eq!(s, 200);
    assert!(body.contains("solved already: no more points") && body.contains("此前已提交过"), "{body}");
    drill.step(2).await;
    assert_eq!(flags_part("a"), 100.0);
    // It spent none of a's five tries a minute (a contestant's walk found it did): a has four
    // more guesses, then waits.
    for i in 0..4 {
        let (s, body) = submit("a", format!("flag{{a-guess{i}}}")).await;
        assert_eq!(s, 200, "guess {i}: {body}");
    }
    assert_eq!(submit("a", "flag{a-guess4}".into()).await.0, 429);
    // The rate limit: five a minute.
    for i in 0..5 {
        let (s, body) = submit("c", format!("flag{{guess{i}}}")).await;
        assert_eq!(s, 200, "{body}");
    }
    let (s, body) = submit("c", "flag{guess5}".into()).await;
    assert_eq!(s, 429, "{body}");
    assert!(body.contains("too many flag submissions"), "{body}");
    // Team b solves the same challenge with its own flag, later: team a keeps the first blood.
    let (s, body) = submit("b", flag_b.clone()).await;
    assert!(s == 200 && body.contains("\"valid\":true"), "{body}");
    drill.step(2).await;
    assert_eq!(flags_part("b"), 100.0);

    // The report (the answer key) opens to teams at the hot wash only.
    let (s, body) = http(addr, "GET", "/api/teams/a/report?format=json", Some(&tokens["a"]), None).await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("hot wash"), "{body}");
    let ins = drill.instructor_token().to_string();
    assert_eq!(http(addr, "GET", "/api/teams/a/report?format=json", Some(&ins), None).await.0, 200);
    // Standings: brackets ranked on their own, and each team's replay hash. The manual clock
    // stands still from here.
    ticking.abort();
    drill.step(2).await;
    let board = crate::util::board_caught_up(&drill).await;
    let row = |team: &str| board.rows.iter().find(|r| r.team == team).unwrap();
    let (a, b) = (row("a"), row("b"));
    assert_eq!(a.first_bloods, ["identity:plc-t101"], "{board:?}");
    assert!(b.first_bloods.is_empty() && b.solved.len() == 1 && b.solved[0].1 > a.solved[0].1, "{board:?}");
    let (s, body) = http(addr, "GET", "/api/drill/standings", Some(&ins), None).await;
    assert_eq!(s, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows[0]["team"], "a", "{body}");
    let c = rows.iter().find(|r| r["team"] == "c").unwrap();
    assert_eq!((c["bracket"].as_str(), c["bracket_rank"].as_u64()), (Some("student"), Some(1)));
    assert!(rows.iter().all(|r| r["replay_sha256"].as_str().is_some_and(|h| h.len() == 64)));
    let (s, head, csv) =
        http_raw(addr, "GET", "/api/drill/standings?format=csv", Some(&ins), None).await.unwrap();
    assert_eq!(s, 200);
    // For a spreadsheet: a byte-order mark (Excel reads Chinese names right) and a file name.
    let csv = csv.strip_prefix('\u{feff}').unwrap_or_else(|| panic!("no byte-order mark: {csv}"));
    assert!(csv.starts_with("rank,team,name,bracket") && csv.lines().count() == 4, "{csv}");
    // When each total settled in plant seconds (ticks depend on the rate), and the phase the
    // standings were taken in: these are not final yet.
    assert!(csv.lines().next().unwrap().ends_with(",settled_s,last_flag_s,first_bloods,phase"), "{csv}");
    let a_row: Vec<&str> = csv.lines().find(|l| l.contains(",a,")).unwrap().split(',').collect();
    let tick: f64 = a_row[6].parse().unwrap();
    assert_eq!((a_row[8], a_row[11]), (format!("{:.1}", tick / 10.0).as_str(), "live"), "{csv}");
    // When each team solved its last challenge (the next tie-break), and the challenges each
    // solved first, for the awards.
    assert_eq!(a_row[9], format!("{:.1}", a.solved[0].1 as f64 / 10.0), "{csv}");
    assert_eq!(a_row[10], "identity:plc-t101", "{csv}");
    assert_eq!(rows[0]["last_flag_s"].as_f64(), Some(a.solved[0].1 as f64 / 10.0), "{body}");
    // Every row has every key: a team with no challenge solved first, or none at all, too.
    let c_json = rows.iter().find(|r| r["team"] == "c").unwrap();
    assert_eq!(
        (&c_json["first_bloods"], &c_json["last_flag_s"]),
        (&serde_json::json!([]), &serde_json::Value::Null),
        "{body}"
    );
    let b_row = csv.lines().find(|l| l.contains(",b,")).unwrap();
    assert_eq!(b_row.split(',').nth(10), Some(""), "{csv}");
    let c_row = csv.lines().find(|l| l.contains(",c,")).unwrap();
    assert_eq!(c_row.split(',').nth(9), Some(""), "no challenge solved: no flag time {csv}");
    assert!(
        head.contains(&format!("content-disposition: attachment; filename=\"standings-{}.csv\"", drill.id)),
        "{head}"
    );
    let (_, b_token, _) = drill.teams().nth(1).unwrap();
    assert_eq!(http(addr, "GET", "/api/drill/standings", Some(b_token), None).await.0, 403);
    drill.control(Control::HotWash).unwrap();
    let (s, body) = http(addr, "GET", "/api/teams/a/report?format=json", Some(&tokens["a"]), None).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("\"findings\""), "{body}");
    // Every team's report gives the board's score: flags, hints and penalties included.
    for r in rows {
        let team = r["team"].as_str().unwrap();
        let path = format!("/api/teams/{team}/report?format=json");
        let (s, body) = http(addr, "GET", &path, Some(&ins), None).await;
        assert_eq!(s, 200, "{body}");
        let report: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(report["score"]["total"], r["total"], "{team}: report vs board");
    }
    assert_eq!(
        rows.iter().find(|r| r["team"] == "a").unwrap()["total"].as_f64().map(|t| t >= 100.0),
        Some(true)
    );
    // The hash in the standings is the hash of the team's whole log, as `icsdrill replay` prints.
    let hash = icsdrill_engine::log_hash(&drill.live("a").unwrap().events_since(0, usize::MAX, |_| true));
    assert_eq!(rows.iter().find(|r| r["team"] == "a").unwrap()["replay_sha256"], hash.as_str());
    server.shutdown().await.unwrap();
}

/// A stop ends the pages' live streams at once: a console's state stream and the white
/// cell's get their last chunk, the board's is closed. The server waited out its whole grace
/// (3 s) for them with four pages open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_ends_the_live_streams_at_once() {
    let server = start_drill("petrochem-tank-farm", &["a"], Mode::Regional).await;
    let drill = server.drill.clone();
    let (_, token, _) = drill.teams().next().unwrap();
    let tokens =
        [token.to_string(), drill.instructor_token().to_string(), drill.observer_token().to_string()];
    let paths = ["/api/teams/a/stream", "/api/instructor/stream", "/api/scoreboard/stream"];
    let mut streams = Vec::new();
    for (path, token) in paths.iter().zip(&tokens) {
        let mut s = TcpStream::connect(server.http).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        // Open once its first event came.
        let mut seen = Vec::new();
        let mut buf = [0u8; 65536];
        let first = async {
            while !String::from_utf8_lossy(&seen).contains("data:") {
                let k = s.read(&mut buf).await.unwrap();
                assert!(k > 0, "{path} ended: {}", String::from_utf8_lossy(&seen));
                seen.extend_from_slice(&buf[..k]);
            }
        };
        tokio::time::timeout(Duration::from_secs(10), first).await.expect("a first event");
        streams.push((path, s));
    }
    let started = std::time::Instant::now();
    let stop = tokio::spawn(server.shutdown());
    for (path, mut s) in streams {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "{path} still open");
        if *path != "/api/scoreboard/stream" {
            // Ended as a chunked body ends, not cut off.
            assert!(rest.ends_with(b"0\r\n\r\n"), "{path}: {:?}", String::from_utf8_lossy(&rest));
        }
    }
    stop.await.unwrap().unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "the stop took {took:?}: its whole grace");
}

/// A team console's stream sends the state at once, then wakes on the range's ticks and the
/// phase, not a timer: nothing while the clock is held, an update when it steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_stream_wakes_on_ticks_not_a_timer() {
    let server = start_drill("petrochem-tank-farm", &["a"], Mode::Regional).await;
    let drill = server.drill.clone();
    let (_, token, _) = drill.teams().next().unwrap();
    let mut s = TcpStream::connect(server.http).await.unwrap();
    let req = format!(
        "GET /api/teams/a/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 65536];
    // Reads until `n` state events have come, at most `bound`: whether they did.
    let mut events = async |n: usize, bound: Duration, seen: &mut String| {
        let read = async {
            while seen.matches("event: state").count() < n {
                let k = s.read(&mut buf).await.unwrap();
                assert!(k > 0, "the stream ended: {seen}");
                seen.push_str(&String::from_utf8_lossy(&buf[..k]));
            }
        };
        tokio::time::timeout(bound, read).await.is_ok()
    };
    assert!(events(1, Duration::from_secs(10), &mut seen).await, "the state comes at once: {seen}");
    // A held clock (the briefing, a manual clock): the stream stays quiet.
    assert!(!events(2, Duration::from_millis(600), &mut seen).await, "an update without a change: {seen}");
    // A tick changes what the console shows: the stream sends it.
    drill.step(1).await;
    assert!(events(2, Duration::from_secs(10), &mut seen).await, "no update after a tick: {seen}");
    // So does a phase change.
    drill.control(Control::Start).unwrap();
    assert!(events(3, Duration::from_secs(10), &mut seen).await, "no update after the start: {seen}");
    drop(s);
    server.shutdown().await.unwrap();
}

/// A tick or a phase change that comes between a console's view and its wait for the next
/// change wakes the wait at once, however long the clock is then held: an exam's console,
/// ended as its stream sent a view, waited for its grade for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_between_a_view_and_the_wait_for_the_next_is_not_missed() {
    let server = start_drill("petrochem-tank-farm", &["a", "b"], Mode::Regional).await;
    let drill = server.drill.clone();
    // Whether the wait for a change since `seen` ends within `bound` (the clock is manual).
    let wakes = async |team: Option<&str>, seen, bound: Duration| {
        tokio::time::timeout(bound, DrillApi::next_change(&*drill, team, seen)).await.is_ok()
    };
    let (quiet, bound) = (Duration::from_millis(300), Duration::from_secs(10));
    for team in [Some("a"), None] {
        let seen = DrillApi::seen(&*drill, team);
        assert!(!wakes(team, seen, quiet).await, "{team:?}: nothing moved, yet it woke");
        drill.step(1).await;
        assert!(wakes(team, seen, bound).await, "{team:?}: a tick since the view was missed");
        let seen = DrillApi::seen(&*drill, team);
        assert!(!wakes(team, seen, quiet).await, "{team:?}: woke for a tick it had seen");
        let control = if team.is_some() { Control::Start } else { Control::Pause };
        drill.control(control).unwrap();
        assert!(wakes(team, seen, bound).await, "{team:?}: a phase change since the view was missed");
    }
    // The white cell's view follows every range here: a tick of team b's alone (a range
    // catching up to the others) wakes it, as it does team b's and not team a's.
    let seen = |team| DrillApi::seen(&*drill, team);
    let (all, a, b) = (seen(None), seen(Some("a")), seen(Some("b")));
    let live = drill.live("b").unwrap();
    let next = live.snapshot().tick + 1;
    live.step(1);
    tokio::time::timeout(bound, live.wait_for_tick(next)).await.expect("b ticks");
    assert!(wakes(None, all, bound).await, "the white cell's view missed team b's tick");
    assert!(wakes(Some("b"), b, bound).await, "team b's view missed its tick");
    assert!(!wakes(Some("a"), a, quiet).await, "team a's view woke for team b's tick");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_an_interlock_bypassed_by_the_attacker() {
    let server = start_drill("petrochem-tank-farm", &["a"], Mode::Regional).await;
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let s = builtin("petrochem-tank-farm");
    let il101 = |drill: &Arc<Drill>| {
        let v = drill.team_state("a").unwrap();
        v.interlocks.iter().find(|i| i.id == "il-101").map(|i| (i.tripped, i.bypassed)).unwrap()
    };
    drill.step(s.ticks(60.0)).await;
    assert_eq!(il101(&drill), (Some(false), Some(false)));
    // The attack's bypass-sis step sets sis-01 coil 0 from 180 s on.
    drill.step(s.ticks(300.0)).await;
    assert_eq!(il101(&drill), (Some(false), Some(true)), "il-101 no longer shows green after the bypass");
    // Overfilled, T-101 alarms at high priority, listed as ISA-18.2 lists alarms.
    drill.step(s.ticks(1200.0)).await;
    let v = drill.team_state("a").unwrap();
    let a = v.alarms.iter().find(|a| a.sensor == "lit101").unwrap_or_else(|| panic!("{:?}", v.alarms));
    assert_eq!((a.priority, a.unit.as_str(), a.acked), ("high", "%", false), "{a:?}");
    // Its tag as the mimic and the plant's drawings name it, described without it again.
    assert_eq!((a.tag.as_str(), a.description.en.as_str()), ("LIT-101", "T-101 level"), "{a:?}");
    assert_eq!(a.description.zh, "T-101 液位", "{a:?}");
    // Its value is the operator station's, frozen by the attacker far below the alarm.
    let shown = v.sensors.iter().find(|x| x.id == "lit101").and_then(|x| x.value);
    assert!(a.levels.contains(&"hihi") && Some(a.value) == shown && a.value < 90.0, "{a:?}");
    server.shutdown().await.unwrap();
}

/// Reads server-sent events off a raw HTTP response: (event name, data). An HTTP/1.1 one comes
/// in chunks, each checked for its framing.
struct SseEvents {
    s: TcpStream,
    buf: String,
    /// HTTP/1.1: the bytes not yet unchunked (the head first).
    chunked: Option<Vec<u8>>,
}

impl SseEvents {
    /// Asks for the board stream with `token` over HTTP `version` ("1.0" or "1.1").
    async fn open(http: std::net::SocketAddr, token: &str, version: &str) -> SseEvents {
        let mut s = TcpStream::connect(http).await.unwrap();
        let req = format!(
            "GET /api/scoreboard/stream HTTP/{version}\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        SseEvents { s, buf: String::new(), chunked: (version == "1.1").then(Vec::new) }
    }

    /// The next event, waiting at most 20 s.
    async fn next(&mut self) -> (String, String) {
        let read = async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let block: String = self.buf.drain(..end + 2).collect();
                    let field = |k: &str| block.lines().find_map(|l| l.strip_prefix(k)).map(str::to_string);
                    if let (Some(name), Some(data)) = (field("event: "), field("data: ")) {
                        return (name, data);
                    }
                    continue;
                }
                let mut chunk = vec![0u8; 65536];
                let k = self.s.read(&mut chunk).await.unwrap();
                assert!(k > 0, "the stream ended: {}", self.buf);
                match &mut self.chunked {
                    None => self.buf.push_str(&String::from_utf8_lossy(&chunk[..k])),
                    Some(raw) => {
                        raw.extend_from_slice(&chunk[..k]);
                        self.buf.push_str(&unchunk(raw));
                    }
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), read).await.expect("an event within 20 s")
    }
}

/// Takes the head (checked: 200, chunked) and every whole chunk off `raw`: their data.
fn unchunk(raw: &mut Vec<u8>) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if raw.starts_with(b"HTTP/") {
        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { return String::new() };
        let head = text(&raw[..end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200") && head.contains("transfer-encoding: chunked"), "{head}");
        raw.drain(..end + 4);
    }
    let (data, used, ended) = crate::modbus::chunks(raw).unwrap_or_else(|e| panic!("{e}"));
    assert!(!ended, "the stream ended");
    raw.drain(..used);
    text(&data)
}

/// The scoreboard stream sends the whole board first, then only what changed: deltas that,
/// applied to the board the viewer holds, give the board the drill published (what the page
/// does, and what lets one node push a 500-team board to thousands of viewers). HTTP/1.0
/// viewers are written by hyper; HTTP/1.1 ones by the board's fan-out threads, in chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scoreboard_stream_sends_deltas_that_rebuild_the_board() {
    for version in ["1.0", "1.1"] {
        deltas_rebuild_the_board(version).await;
    }
}

async fn deltas_rebuild_the_board(version: &str) {
    // Six teams: a delta of one or two rows is well under half the board (smaller ones are not
    // worth sending).
    let mut spec =
        DrillSpec::new(builtin("petrochem-tank-farm"), &["a", "b", "c", "d", "e", "f"], Mode::Regional);
    (spec.range.modbus_port, spec.range.http_port, spec.range.live_attacker) = (0, 0, false);
    spec.range.sources = vec![("127.0.0.77".parse().unwrap(), "hmi-01".into())];
    // True scores on the public board (a blind drill's shows none until the hot wash).
    (spec.manual_clock, spec.blind) = (true, false);
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let mut events = SseEvents::open(server.http, drill.observer_token(), version).await;
    let (name, data) = events.next().await;
    assert_eq!(name, "scoreboard", "{data}");
    let mut board: icsdrill_drill::Scoreboard = serde_json::from_str(&data).unwrap();
    // The start of another request wakes hyper's side of the connection, which must not end
    // the stream the fan-out now writes.
    events.s.write_all(b"GET /api/health").await.unwrap();
    let ticking = keep_ticking(drill.clone());
    // A report of something that is not happening costs points: each moves a team's score.
    let tokens: Vec<(String, String)> =
        drill.teams().map(|(t, k, _)| (t.id.clone(), k.to_string())).collect();
    let body = r#"{"technique":"T0836","asset":"plc-t101","impact":"none","actions":"none"}"#;
    for (team, token) in tokens.iter().filter(|(t, _)| t != "a") {
        let (status, b) =
            http(server.http, "POST", &format!("/api/teams/{team}/reports"), Some(token), Some(body)).await;
        assert_eq!(status, 200, "{b}");
    }
    crate::util::board_caught_up(&drill).await;
    ticking.abort();
    // Follow the stream up to the newest board the drill published (one more may come after
    // the reports settle, a card's parts moving on a last tick): each step a delta or a board.
    let mut deltas = 0;
    let published = loop {
        let published = drill.scoreboard(false).borrow().clone();
        if board.head.seq >= published.head.seq {
            break published;
        }
        let (name, data) = events.next().await;
        board = match name.as_str() {
            "scoreboard-delta" => {
                deltas += 1;
                let delta: icsdrill_drill::board::BoardDelta = serde_json::from_str(&data).unwrap();
                board.apply(&delta).unwrap_or_else(|| panic!("the delta is for the board held: {data}"))
            }
            _ => serde_json::from_str(&data).unwrap(),
        };
    };
    assert!(deltas >= 1, "changes come as deltas (HTTP/{version})");
    assert!(!board.head.provisional);
    assert_eq!(board.head.seq, published.head.seq, "the stream sends only boards the drill published");
    assert_eq!(board.rows, published.rows, "the deltas rebuild the published board");
    server.shutdown().await.unwrap();
}

/// A team's client acts as the host of its plant whose address it binds, the addresses its
/// captures show (a trainee's client was always the engineering workstation, the attacker's
/// foothold: isolating it, as the hint says, cut the team off, and the hint's next step, the
/// interlock's bypass off from the operator station, could not be done). The console says
/// which host each address is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_client_acts_as_the_host_whose_address_it_binds() {
    use std::net::IpAddr;
    let s = builtin("petrochem-tank-farm");
    let mut spec = DrillSpec::new(s.clone(), &["a", "b"], Mode::Regional);
    (spec.range.modbus_port, spec.range.http_port, spec.range.live_attacker) = (0, 0, false);
    spec.manual_clock = true;
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let view = drill.team_state("b").unwrap();
    let c = view.clients.clone();
    let net = icsdrill::drill::team_loopback_net(1);
    assert_eq!(c.stands_for.as_deref(), Some("ews-01"), "{c:?}");
    let from = c.source.unwrap();
    assert!(net.contains(&from));
    let hmi = c.hosts.iter().find(|h| h.host == "hmi-01").expect("hmi-01 has an address").address;
    let ix = s.host("hmi-01").unwrap().ix() as u8;
    assert_eq!(hmi, icsdrill::drill::in_team_net(IpAddr::from([127, 0, 0, 100 + ix]), 1));
    assert!(c.hosts.iter().all(|h| net.contains(&h.address) && h.host != "ews-01"), "{c:?}");
    // None of them is the range's own client's (routine traffic from .200 up, the attacker's
    // .66), which has slots of its own a team must not take.
    let last = |a: &IpAddr| match a {
        IpAddr::V4(v4) => v4.octets()[3],
        IpAddr::V6(_) => 0,
    };
    assert!(c.hosts.iter().all(|h| (100..200).contains(&last(&h.address))), "{c:?}");
    let bypassed = |drill: &Arc<Drill>| {
        let v = drill.team_state("b").unwrap();
        v.interlocks.iter().find(|i| i.id == "il-101").and_then(|i| i.bypassed).unwrap()
    };
    // The attack bypasses il-101 from sis-01 coil 0 at 180 s; the team isolates ews-01.
    drill.step(s.ticks(300.0)).await;
    assert!(bypassed(&drill));
    let (_, token, endpoints) = drill.teams().nth(1).unwrap();
    let (token, sis) = (token.to_string(), endpoints.iter().find(|e| e.plc == "sis-01").unwrap().clone());
    let at = SocketAddr::new(sis.address.parse().unwrap(), sis.port);
    let ticking = keep_ticking(drill.clone());
    let isolate = r#"{"kind":"isolate_host","host":"ews-01"}"#;
    let (st, body) = http(server.http, "POST", "/api/teams/b/actions", Some(&token), Some(isolate)).await;
    assert_eq!(st, 200, "{body}");
    // Its default client is the engineering workstation: cut off with it.
    let cut = match crate::modbus::Client::connect_from(from, at).await {
        None => true,
        Some(mut cl) => cl.pdu(sis.unit_id, &[0x01, 0, 0, 0, 1]).await.is_none(),
    };
    assert!(cut, "the isolated workstation still reaches sis-01");
    // From the operator station's address the bypass comes off.
    let mut cl = crate::modbus::Client::connect_from(hmi, at).await.expect("hmi-01 connects");
    assert_eq!(cl.pdu(sis.unit_id, &[0x05, 0, 0, 0, 0]).await.as_deref(), Some(&[0x05, 0, 0, 0, 0][..]));
    ticking.abort();
    drill.step(s.ticks(2.0)).await;
    assert!(!bypassed(&drill), "il-101 is back in service");
    let sims = server.shutdown().await.unwrap();
    let log = sims.iter().find(|(t, _)| t == "b").unwrap().1.events().to_vec();
    assert!(
        log.iter().any(|e| matches!(&e.kind, icsdrill_engine::EventKind::ModbusTransaction(ModbusTransaction { source, plc, function: 5, .. }) if source == "hmi-01" && plc == "sis-01")),
        "the write is logged from hmi-01"
    );
}

/// A PLC the operator station cannot read shows as a communication failure, as an HMI flags
/// it, with none of its values (the deny-view flood left the diagram showing live values and
/// the PLC in RUN while the log said the station's connections were refused); the team's own
/// isolation of the station is one too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plc_the_operator_station_cannot_read_shows_a_communication_failure() {
    let server = start_drill("petrochem-tank-farm", &["a"], Mode::Regional).await;
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let s = builtin("petrochem-tank-farm");
    let ix = s.plcs.iter().position(|p| p.id == "plc-t101").unwrap();
    let t101 = |drill: &Arc<Drill>| {
        let v = drill.team_state("a").unwrap();
        let comms = v.plcs[ix].comms;
        let level = v.sensors.iter().find(|x| x.id == "lit101").unwrap().value;
        let sp = v.holding.iter().find(|h| h.plc == "plc-t101" && h.id == "t101_sp_high").unwrap().value;
        let others = v.plcs.iter().filter(|p| p.id != "plc-t101").all(|p| p.comms);
        (comms, level.is_some(), sp.is_some(), others)
    };
    assert_eq!(t101(&drill), (true, true, true, true));
    // No library plant starts with a PLC its operator station cannot read (one the plant's own
    // conduits keep from the station was never the station's to read).
    for b in icsdrill_scenarios::LIBRARY {
        let other = start_drill(b.id, &["a"], Mode::Regional).await;
        other.drill.control(Control::Start).unwrap();
        other.drill.step(10).await;
        let v = other.drill.team_state("a").unwrap();
        assert!(v.plcs.iter().all(|p| p.comms), "{}: {:?}", b.id, v.plcs);
        other.shutdown().await.unwrap();
    }
    // The attack floods plc-t101 once the tank is above 85 % (deny-view, 120 s).
    let flooded = |drill: &Arc<Drill>| drill.live("a").unwrap().snapshot().plcs[ix].flooded;
    for _ in 0..300 {
        if flooded(&drill) {
            break;
        }
        drill.step(s.ticks(5.0)).await;
    }
    assert!(flooded(&drill), "the deny-view flood came");
    assert_eq!(t101(&drill), (false, false, false, true), "only plc-t101 is lost");
    // The white cell sees it too.
    let overview = drill.overview();
    assert_eq!(overview.teams[0].comms_lost, ["plc-t101"]);
    // What it drives is not seen either, nor is its level in the historian's trend; what the
    // other PLCs report and drive still is.
    let v = drill.team_state("a").unwrap();
    let position = |id: &str| v.actuators.iter().find(|a| a.id == id).unwrap().position;
    assert_eq!(position("xv101"), None);
    assert!(position("xv102").is_some());
    let snap = drill.live("a").unwrap().snapshot();
    let shown = icsdrill_drill::views::shown_values(&s, &snap, &icsdrill_drill::views::sensor_sources(&s));
    let level = |id: &str| shown[s.sensors.iter().position(|x| x.id == id).unwrap()];
    assert_eq!((level("lit101").is_some(), level("lit102").is_some()), (false, true));
    // The flood ends; the station reads it again.
    for _ in 0..60 {
        if !flooded(&drill) {
            break;
        }
        drill.step(s.ticks(5.0)).await;
    }
    assert_eq!(t101(&drill), (true, true, true, true));
    // The team isolates its own operator station: it reads no PLC.
    let (_, token, _) = drill.teams().next().unwrap();
    let token = token.to_string();
    let ticking = keep_ticking(drill.clone());
    let isolate = r#"{"kind":"isolate_host","host":"hmi-01"}"#;
    let (st, body) = http(server.http, "POST", "/api/teams/a/actions", Some(&token), Some(isolate)).await;
    assert_eq!(st, 200, "{body}");
    ticking.abort();
    let v = drill.team_state("a").unwrap();
    assert!(v.plcs.iter().all(|p| !p.comms), "{:?}", v.plcs);
    // Nothing it read is seen: the high-high level switches (discrete inputs of the SIS) and
    // the blowdown valve only the SIS's interlock moves showed on.
    let switches: Vec<_> = v.sensors.iter().filter(|x| x.id.starts_with("lshh")).map(|x| x.value).collect();
    assert_eq!(switches, [None, None], "{:?}", v.sensors);
    let xv202 = v.actuators.iter().find(|a| a.id == "xv202").unwrap();
    assert_eq!(xv202.position, None, "{xv202:?}");
    let snap = drill.live("a").unwrap().snapshot();
    let shown = icsdrill_drill::views::shown_values(&s, &snap, &icsdrill_drill::views::sensor_sources(&s));
    assert!(shown.iter().all(Option::is_none), "the historian's trend has a gap for every sensor: {shown:?}");
    server.shutdown().await.unwrap();
}

/// At the hot wash the board, the team's console and its report give one score: the report
/// judged the log at its last event while the board kept the last card published, a refresh
/// behind, its timed parts counted to another tick (a trainee saw 538.0 in the report and
/// 537.2 on the board).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_hot_wash_the_board_the_console_and_the_report_give_one_score() {
    let server = start_drill("petrochem-tank-farm", &["a"], Mode::Regional).await;
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    let s = builtin("petrochem-tank-farm");
    // Deep into the undefended attack (the process down: parts timed to the end), stopped
    // after a refresh of the card that came after the last event (a sample every 10 s).
    drill.step(s.ticks(1500.0) + 73).await;
    drill.control(Control::HotWash).unwrap();
    let board = crate::util::board_where(drill.scoreboard(true), "the hot wash", |b| {
        b.head.phase == icsdrill_drill::Phase::HotWash
    })
    .await;
    let (_, token, _) = drill.teams().next().unwrap();
    let (st, body) = http(server.http, "GET", "/api/teams/a/report?format=json", Some(token), None).await;
    assert_eq!(st, 200, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    let total = board.rows[0].total;
    assert_eq!(report["score"]["total"].as_f64(), Some(total), "report vs board");
    assert_eq!(drill.team_state("a").unwrap().score.total, total, "console vs board");
    assert_eq!(drill.final_score("a").unwrap(), Some(total), "summary vs board");
    server.shutdown().await.unwrap();
}
