//! The teams' monitoring with the granularity real products have: the readers and writers it
//! expects of each PLC (derived from the routine traffic, or as the scenario says), and a
//! learning window after which anything outside the baseline alerts.

use std::sync::Arc;

use icsdrill_engine::OpcUaTransaction;
use icsdrill_engine::{EventKind, Scenario, Sim, SimInput};

/// Alerts of `rule` in the log, as (source, PLC).
fn alerts(sim: &Sim, rule: &str) -> Vec<(String, String)> {
    sim.events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::IdsAlert { rule: r, source, plc, .. } if r == rule => {
                Some((source.clone(), plc.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The tank farm with `monitoring` as its monitoring section, without its attack.
fn tank_farm(monitoring: Option<&str>) -> Arc<Scenario> {
    let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
    let yaml = match monitoring {
        Some(m) => format!("{}\nmonitoring:\n{m}\n", b.source),
        None => b.source.to_string(),
    };
    Arc::new(Scenario::from_yaml("monitoring.yaml", &yaml).unwrap_or_else(|e| panic!("{e}")).without_attack())
}

use crate::util::read;

#[test]
fn readers_are_derived_from_the_routine_traffic() {
    let mut sim = Sim::new(tank_farm(None), 1);
    // The historian polls plc-t101: its reads are expected. The DMZ replica never reads the
    // control PLCs: a read from it (were the conduit to let it) is not.
    sim.step([read("plc-t101", "hist-01"), read("plc-t101", "hmi-01"), read("plc-t101", "it-ws-01")]);
    let got = alerts(&sim, "unexpected_reader");
    assert_eq!(got, [("it-ws-01".to_string(), "plc-t101".to_string())], "{got:?}");
    // The historian reads but does not write: its write alerts, the operator station's does not.
    sim.step([
        SimInput::write_registers("plc-t101", "hist-01", 1, vec![700]),
        SimInput::write_registers("plc-t101", "hmi-01", 1, vec![700]),
    ]);
    let writes = alerts(&sim, "write_from_unexpected_host");
    assert_eq!(writes, [("hist-01".to_string(), "plc-t101".to_string())], "{writes:?}");
}

#[test]
fn the_scenario_can_say_who_reads_and_writes_a_plc() {
    let mut sim = Sim::new(
        tank_farm(Some(
            "  level: network\n  expected:\n    - { plc: plc-t101, readers: [hmi-01], writers: [] }",
        )),
        1,
    );
    sim.step([read("plc-t101", "hist-01"), SimInput::write_registers("plc-t101", "hmi-01", 1, vec![700])]);
    assert_eq!(alerts(&sim, "unexpected_reader"), [("hist-01".to_string(), "plc-t101".to_string())]);
    assert_eq!(alerts(&sim, "write_from_unexpected_host"), [("hmi-01".to_string(), "plc-t101".to_string())]);
    for (bad, want) in [
        ("  expected:\n    - { plc: nowhere }", "unknown PLC `nowhere`"),
        ("  expected:\n    - { plc: plc-t101, readers: [nobody] }", "unknown host `nobody`"),
        ("  expected:\n    - { plc: plc-t101 }\n    - { plc: plc-t101 }", "expected twice"),
        ("  learn_s: -5", "learn_s must be greater than 0"),
        ("  level: loud", "monitoring level"),
    ] {
        let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
        let err = Scenario::from_yaml("m.yaml", &format!("{}\nmonitoring:\n{bad}\n", b.source))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{bad}: {err}");
    }
}

#[test]
fn after_the_learning_window_what_was_never_seen_alerts_once() {
    let mut sim = Sim::new(tank_farm(Some("  level: network\n  learn_s: 60")), 1);
    // While learning, the operator station writes a set point: that becomes normal.
    sim.run_until(100, &[]);
    sim.step([SimInput::write_registers("plc-t101", "hmi-01", 1, vec![700])]);
    sim.run_until(700, &[]);
    assert!(alerts(&sim, "baseline_deviation").is_empty(), "nothing deviates while learning");
    // Afterwards the same write is normal; a write to another PLC is not, and alerts once.
    sim.step([SimInput::write_registers("plc-t101", "hmi-01", 1, vec![700])]);
    assert!(alerts(&sim, "baseline_deviation").is_empty());
    for _ in 0..3 {
        sim.step([SimInput::write_registers("plc-r201", "hmi-01", 3, vec![2000])]);
    }
    assert_eq!(alerts(&sim, "baseline_deviation"), [("hmi-01".to_string(), "plc-r201".to_string())]);
    // The routine polls seen while learning are the baseline: an hour of them raises nothing
    // more. What the short window never saw does: the shift's legitimate T-102 set-point
    // change (background traffic at 600 s) and engineering sessions, false positives a team
    // must learn to tell from the attacker.
    sim.run_until(36_000, &[]);
    let all = alerts(&sim, "baseline_deviation");
    let others: Vec<_> = all.iter().filter(|(s, _)| s != "ews-01").collect();
    let want =
        [("hmi-01".to_string(), "plc-r201".to_string()), ("hmi-01".to_string(), "plc-t102".to_string())];
    assert_eq!(others, want.iter().collect::<Vec<_>>(), "{all:?}");
    assert!(
        !alerts(&sim, "baseline_deviation").iter().any(|(s, _)| s == "hist-01"),
        "historian polls are baseline"
    );
}

#[test]
fn a_report_of_a_scan_of_every_plc_may_name_any_plc_it_reached() {
    use icsdrill_judge::score::Scorer;
    // The tank farm's recon step scans every PLC (`scan: {}`) from the engineering workstation
    // at 120 s: a team that sees plc-t101 scanned reports it on plc-t101.
    let s = Arc::new(Scenario::clone(&crate::util::builtin("petrochem-tank-farm")));
    let run = |asset: &str| {
        let mut sim = Sim::new(s.clone(), 1);
        sim.run_until(1300, &[]);
        sim.step(vec![SimInput::ReportIncident(icsdrill_engine::IncidentReport {
            technique: "T0846".into(),
            asset: asset.into(),
            observed_s: Some(120.0),
            text: "FC 43 device identification sweep".into(),
            tactic: None,
            impact: String::new(),
            actions: String::new(),
        })]);
        Scorer::score_log(&s, false, sim.events())
    };
    for asset in ["plc-t101", "sis-01", "ews-01"] {
        let card = run(asset);
        let fp = card.components.iter().find(|c| c.key == "false_positives").map_or(0.0, |c| c.points);
        assert_eq!(fp, 0.0, "{asset}: {:?}", card.components);
        assert_eq!(card.steps_detected, 1, "{asset}: {:?}", card.components);
    }
}

#[test]
fn a_report_on_the_legitimate_maintenance_write_is_a_false_positive() {
    use icsdrill_judge::score::Scorer;
    // The tank farm's day shift raises the T-102 loading start level from the operator station
    // at 600 s (background traffic): it looks like a set-point attack in the transaction log.
    let s = Arc::new(Scenario::clone(&crate::util::builtin("petrochem-tank-farm")));
    let report = |asset: &str, technique: &str| {
        SimInput::ReportIncident(icsdrill_engine::IncidentReport {
            technique: technique.into(),
            asset: asset.into(),
            observed_s: Some(600.0),
            text: "Set point changed from the HMI".into(),
            tactic: None,
            impact: String::new(),
            actions: String::new(),
        })
    };
    let run = |inputs: Vec<SimInput>| {
        let mut sim = Sim::new(s.clone(), 1);
        sim.run_until(6100, &[]);
        sim.step(inputs);
        Scorer::score_log(&s, false, sim.events())
    };
    let points = |card: &icsdrill_judge::score::ScoreCard, key: &str| {
        card.components.iter().find(|c| c.key == key).map_or(0.0, |c| c.points)
    };
    let quiet = run(Vec::new());
    let wrong = run(vec![report("plc-t102", "T0836")]);
    assert!(points(&wrong, "false_positives") < 0.0, "{:?}", wrong.components);
    assert!(
        wrong.total < quiet.total,
        "a false positive costs points: {:?} vs {:?}",
        wrong.components,
        quiet.components
    );
    assert_eq!(wrong.steps_detected, 0);
}

/// Reads server-sent `alert` events from `path` (with the `headers` lines given, each ending
/// in CRLF) until `n` came (or 20 s passed): their data.
async fn alerts_over_sse(
    addr: std::net::SocketAddr,
    (path, headers): (&str, &str),
    token: &str,
    n: usize,
    drill: &icsdrill::drill::Drill,
) -> Vec<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req =
        format!("GET {path} HTTP/1.1\r\nHost: icsdrill\r\nAuthorization: Bearer {token}\r\n{headers}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let data = |t: &str| -> Vec<String> {
        t.split("\n\n")
            .filter(|b| b.contains("event: alert"))
            .filter_map(|b| b.lines().find_map(|l| l.strip_prefix("data: ")).map(str::to_string))
            .collect()
    };
    let mut stepped = false;
    while data(&text).len() < n {
        // The stream is open: now the attack happens, live.
        if !stepped && text.contains("text/event-stream") {
            drill.step(2200).await;
            stepped = true;
        }
        let read = tokio::time::timeout_at(deadline, s.read(&mut buf)).await;
        let Ok(Ok(k)) = read else { break };
        if k == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..k]));
    }
    data(&text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_alerts_stream_to_its_monitoring_platform_with_technique_and_severity() {
    use icsdrill_web::drill::DrillApi as _;
    let server =
        crate::drill::start_drill("petrochem-tank-farm", &["a", "b"], icsdrill_drill::Mode::Regional).await;
    let drill = server.drill.clone();
    drill.control(icsdrill_drill::Control::Start).unwrap();
    let tokens: Vec<String> = drill.teams().map(|(_, t, _)| t.to_string()).collect();
    // Subscribed before the attack: the SIS bypass at 180 s and the set-point writes at 200 s
    // arrive as they happen.
    let got = alerts_over_sse(server.http, ("/api/teams/a/alerts", ""), &tokens[0], 3, &drill).await;
    assert!(got.len() >= 3, "{got:?}");
    let bypass: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(
        (bypass["rule"].as_str(), bypass["technique"].as_str(), bypass["severity"].as_str()),
        (Some("safety_bypass"), Some("T0880"), Some("critical")),
        "{bypass}"
    );
    assert!(bypass["time_s"].as_f64().unwrap() >= 179.0, "{bypass}");
    let first: serde_json::Value = serde_json::from_str(&got[1]).unwrap();
    assert_eq!(first["rule"], "setpoint_out_of_range");
    assert_eq!(first["technique"], "T0836");
    assert_eq!(first["severity"], "critical");
    assert_eq!((first["asset"].as_str(), first["source"].as_str()), (Some("plc-t101"), Some("ews-01")));
    assert!(first["time_s"].as_f64().unwrap() >= 199.0, "{first}");
    // The same alerts as CEF lines and as RFC 5424 messages, from the start of the log.
    let cef =
        alerts_over_sse(server.http, ("/api/teams/a/alerts?format=cef", ""), &tokens[0], 1, &drill).await;
    assert!(cef[0].starts_with("CEF:0|icsdrill|icsdrill|") && cef[0].contains("cs1=T0880"), "{cef:?}");
    let syslog =
        alerts_over_sse(server.http, ("/api/teams/a/alerts?format=syslog", ""), &tokens[0], 1, &drill).await;
    assert!(
        syslog[0].starts_with("<161>1 ") && syslog[0].contains("[icsdrill@32473 team=\"a\""),
        "{syslog:?}"
    );
    // Stamped (RFC 5424 TIMESTAMP, CEF receipt time) with the alert's time on the drill's
    // clock, its start plus plant time, as its captures are: not when it was sent (a backlog
    // stamped all at once), nor plant seconds alone (January 1970 in a SIEM).
    let at_ms = bypass["at_ms"].as_u64().unwrap();
    let stamp: jiff::Timestamp = syslog[0].split(' ').nth(1).unwrap().parse().unwrap();
    assert_eq!(stamp.as_millisecond() as u64, at_ms, "{syslog:?}");
    assert!(cef[0].contains(&format!("rt={at_ms} ")), "{cef:?}");
    let started = at_ms - (bypass["time_s"].as_f64().unwrap() * 1000.0).round() as u64;
    let age = jiff::Timestamp::now().as_millisecond() as u64 - started;
    assert!(age < 600_000, "the drill began {age} ms ago: {bypass}");
    // A client reconnecting with the id of the last alert it got (as a browser's EventSource
    // does) goes on from the next one, its `?since` notwithstanding.
    let second: serde_json::Value = serde_json::from_str(&got[2]).unwrap();
    let header = format!("Last-Event-ID: {}\r\n", first["seq"]);
    let resumed =
        alerts_over_sse(server.http, ("/api/teams/a/alerts?since=0", &header), &tokens[0], 1, &drill).await;
    let resumed: serde_json::Value = serde_json::from_str(&resumed[0]).unwrap();
    assert_eq!(resumed["seq"], second["seq"], "{resumed}");
    // Another team sees none of them; a bad format is a clear error.
    let (status, _) =
        crate::drill::http(server.http, "GET", "/api/teams/a/alerts", Some(&tokens[1]), None).await;
    assert_eq!(status, 403);
    let (status, body) =
        crate::drill::http(server.http, "GET", "/api/teams/a/alerts?format=xml", Some(&tokens[0]), None)
            .await;
    assert_eq!(status, 400, "{body}");
    server.shutdown().await.unwrap();
}

/// A real rsyslog listening on loopback UDP and TCP ports, writing what it receives to a file.
struct Rsyslog {
    child: std::process::Child,
    dir: std::path::PathBuf,
    udp: u16,
    tcp: u16,
}

impl Rsyslog {
    fn start() -> Rsyslog {
        let dir = std::env::temp_dir().join(format!("icsdrill-rsyslog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (udp, tcp) = (free(), free());
        let conf = format!(
            "global(workDirectory=\"{d}\")\nmodule(load=\"imudp\")\nmodule(load=\"imtcp\")\n\
             input(type=\"imudp\" address=\"127.0.0.1\" port=\"{udp}\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{tcp}\")\n\
             *.* action(type=\"omfile\" file=\"{d}/received.log\" template=\"RSYSLOG_SyslogProtocol23Format\")\n",
            d = dir.display()
        );
        std::fs::write(dir.join("rsyslog.conf"), conf).unwrap();
        let child = std::process::Command::new("rsyslogd")
            .args(["-n", "-f"])
            .arg(dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(dir.join("rsyslog.pid"))
            .spawn()
            .expect("rsyslogd runs (scripts/test installs rsyslog)");
        // No wait for it here: the test steps the drill until the alerts (the attack repeats its
        // writes every minute) have reached the file, so alerts sent before it listens are
        // followed by others.
        Rsyslog { child, dir, udp, tcp }
    }

    /// What it has written so far.
    fn received(&self) -> String {
        std::fs::read_to_string(self.dir.join("received.log")).unwrap_or_default()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_a_real_rsyslog_over_udp_and_tcp() {
    use icsdrill_web::drill::DrillApi as _;
    let rs = Rsyslog::start();
    let server =
        crate::drill::start_drill("petrochem-tank-farm", &["a", "b"], icsdrill_drill::Mode::Regional).await;
    let drill = server.drill.clone();
    drill.control(icsdrill_drill::Control::Start).unwrap();
    let tokens: Vec<String> = drill.teams().map(|(_, t, _)| t.to_string()).collect();
    let post = |team: &str, token: &str, body: String| {
        let path = format!("/api/teams/{team}/alerts/syslog");
        let token = token.to_string();
        async move { crate::drill::http(server.http, "POST", &path, Some(&token), Some(&body)).await }
    };
    let udp = format!(r#"{{"address":"127.0.0.1:{}","protocol":"udp","format":"rfc5424"}}"#, rs.udp);
    let tcp = format!(r#"{{"address":"127.0.0.1:{}","protocol":"tcp","format":"cef"}}"#, rs.tcp);
    assert_eq!(post("a", &tokens[0], udp).await.0, 200);
    assert_eq!(post("b", &tokens[1], tcp).await.0, 200);
    // Only loopback receivers, known protocols and formats.
    for bad in [
        r#"{"address":"10.0.0.5:514"}"#,
        r#"{"address":"127.0.0.1:514","protocol":"sctp"}"#,
        r#"{"address":"127.0.0.1:514","format":"leef"}"#,
        r#"{"address":"nowhere"}"#,
        r#"{"address":"127.0.0.1:0"}"#,
        r#"{"off":false}"#,
    ] {
        let (status, body) = post("a", &tokens[0], bad.to_string()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // Said in words: a host name where an address goes, a port nobody listens on.
    let (_, body) = post("a", &tokens[0], r#"{"address":"localhost:514"}"#.to_string()).await;
    assert!(body.contains("`localhost:514` is not IP:PORT"), "{body}");
    let (_, body) = post("a", &tokens[0], r#"{"address":"127.0.0.1:0"}"#.to_string()).await;
    assert!(body.contains("port 0"), "{body}");
    // The drill's own web view and a PLC's endpoint are no receivers.
    let web = format!(r#"{{"address":"{}","protocol":"tcp"}}"#, server.http);
    let (status, body) = post("a", &tokens[0], web).await;
    assert!(status == 400 && body.contains("this drill's own web view"), "{status} {body}");
    let plc = drill.teams().next().unwrap().2.into_iter().next().unwrap();
    let endpoint = format!(r#"{{"address":"{}:{}"}}"#, plc.address, plc.port);
    let (status, body) = post("a", &tokens[0], endpoint).await;
    assert!(status == 400 && body.contains(&format!("PLC {}'s endpoint", plc.plc)), "{status} {body}");
    // A bad request leaves the forwarding as it was; the attack's set-point writes come at 200 s.
    drill.step(2200).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let done = |t: &str| t.contains(r#"team="a""#) && t.contains("CEF:0|icsdrill|icsdrill|");
    while !done(&rs.received()) && std::time::Instant::now() < deadline {
        drill.step(1).await;
        tokio::task::yield_now().await;
    }
    let got = rs.received();
    // rsyslog parsed the RFC 5424 message: its structured data comes out as sent.
    let line = got.lines().find(|l| l.contains(r#"team="a""#)).unwrap_or_else(|| panic!("{got}"));
    assert!(
        line.starts_with("<161>1 ") && line.contains(" icsdrill-a icsdrill - safety_bypass "),
        "the SIS bypass at 180 s comes first: {line}"
    );
    assert!(
        line.contains(r#"technique="T0880""#)
            && line.contains(r#"source="ews-01""#)
            && line.contains(r#"asset="sis-01""#),
        "{line}"
    );
    // Team b's alerts came over TCP as CEF lines, and only to b's receiver.
    let cef = got.lines().find(|l| l.contains("CEF:0|")).unwrap_or_else(|| panic!("{got}"));
    assert!(cef.contains("cs2=b") && cef.contains("cs1=T0880"), "{cef}");
    assert!(!got.lines().any(|l| l.contains("CEF:0|") && l.contains("cs2=a")), "{got}");
    // The team can switch its forwarding off again.
    assert_eq!(post("a", &tokens[0], r#"{"off":true}"#.to_string()).await.0, 200);
    server.shutdown().await.unwrap();
}

#[test]
fn deep_inspection_flags_an_out_of_range_set_point_over_opc_ua_too() {
    // The welding line's current set point (200-380 A) written as 430 A over OPC UA, then as
    // 350 A: deep inspection reads the value whatever the protocol, network monitoring does not.
    let write = |value: f64| {
        SimInput::OpcUa(OpcUaTransaction {
            plc: "plc-weld".into(),
            source: "hmi-01".into(),
            service: icsdrill_engine::scenario::opcua::services::WRITE,
            node: "weld_sp".into(),
            value: Some(value),
            reason: None,
            repeat: 1,
        })
    };
    for (level, flagged) in
        [(icsdrill_engine::attack::Monitoring::Deep, 1), (icsdrill_engine::attack::Monitoring::Network, 0)]
    {
        let mut s =
            icsdrill_scenarios::builtin("equipment-welding-line").unwrap().load().unwrap().without_attack();
        s.monitoring = level;
        let mut sim = Sim::new(Arc::new(s), 1);
        sim.step([write(430.0)]);
        sim.step([write(350.0)]);
        let out_of_range = alerts(&sim, "setpoint_out_of_range");
        assert_eq!(out_of_range.len(), flagged, "{level:?}: {out_of_range:?}");
        if flagged > 0 {
            assert_eq!(out_of_range[0], ("hmi-01".to_string(), "plc-weld".to_string()));
        }
    }
}

/// Deep monitoring flags a safety interlock's bypass being set, from the engineering
/// workstation too (an expected writer of the safety PLC: nothing else flags it), and only
/// setting it: clearing a bypass or resetting an interlock raises nothing. At `network` it
/// goes unflagged, as the README says.
#[test]
fn deep_monitoring_flags_a_safety_bypass_set_from_the_engineering_workstation() {
    for (level, flagged) in
        [(icsdrill_engine::attack::Monitoring::Deep, 2), (icsdrill_engine::attack::Monitoring::Network, 0)]
    {
        let mut s = icsdrill_scenarios::builtin("petrochem-triton").unwrap().load().unwrap().without_attack();
        s.monitoring = level;
        let mut sim = Sim::new(Arc::new(s), 1);
        sim.run_until(20, &[]);
        // IL-102's bypass (coil 1) set with IL-101's left clear, in one FC 15; cleared again;
        // IL-101's reset (coil 8); IL-201's bypass (coil 2) alone, FC 5.
        for (addr, values) in [(0, vec![false, true]), (1, vec![false]), (8, vec![true]), (2, vec![true])] {
            sim.step([SimInput::write_coils("sis-01", "ews-01", addr, values)]);
        }
        let bypass = alerts(&sim, "safety_bypass");
        assert_eq!(bypass.len(), flagged, "{level:?}: {bypass:?}");
        assert!(bypass.iter().all(|a| *a == ("ews-01".to_string(), "sis-01".to_string())), "{bypass:?}");
        assert!(alerts(&sim, "write_from_unexpected_host").is_empty(), "the EWS is an expected writer");
    }
}

#[test]
fn a_flood_alerts_once_and_engineering_requests_are_named_by_what_they_ask() {
    use icsdrill_engine::PlcMode;
    use icsdrill_engine::input::EngineeringCommand;
    let mut sim = Sim::new(tank_farm(None), 1);
    sim.run_until(100, &[]);
    // A live attacker's flood: its intent and the connections it opened, in one tick. One
    // flood, one alert (it raised two).
    let (plc, source) = ("plc-t101".to_string(), "ews-01".to_string());
    let connection =
        || SimInput::ModbusConnection { plc: plc.clone(), source: source.clone(), refused: None };
    let mut flood = vec![SimInput::Flood { plc: plc.clone(), source: source.clone(), seconds: 10.0 }];
    flood.extend(std::iter::repeat_with(connection).take(30));
    sim.step(flood);
    sim.step(std::iter::repeat_with(connection).take(30));
    assert_eq!(alerts(&sim, "connection_flood").len(), 1, "{:?}", alerts(&sim, "connection_flood"));
    // Deep inspection decodes the engineering protocol: a program read back is no download.
    let commands = [
        (EngineeringCommand::Upload, "program_upload"),
        (EngineeringCommand::Download { disable: vec![], add: vec![] }, "program_download"),
        (EngineeringCommand::SetMode { mode: PlcMode::Program }, "mode_change"),
        (EngineeringCommand::Restart, "device_restart"),
    ];
    for (command, rule) in commands {
        let before = alerts(&sim, rule).len();
        sim.step([SimInput::Engineering { plc: plc.clone(), source: source.clone(), command }]);
        assert_eq!(alerts(&sim, rule).len(), before + 1, "{rule}");
    }
    assert!(alerts(&sim, "engineering_access").is_empty(), "every request was decoded");
    // Likewise diagnostics: an echo only asks; forcing listen-only mode silences the PLC.
    for (sub_function, rule) in [(0, "diagnostics_query"), (4, "force_listen_only"), (1, "comm_restart")] {
        let before = alerts(&sim, rule).len();
        sim.step([SimInput::ModbusDiagnostic { plc: plc.clone(), source: source.clone(), sub_function }]);
        assert_eq!(alerts(&sim, rule).len(), before + 1, "{rule}");
    }
    let severity = |rule| icsdrill_drill::alerts::rule_info(rule);
    assert_eq!(severity("diagnostics_query").0, "T0888", "an echo is no denial of service");
    assert_eq!(severity("force_listen_only").0, "T0814");
    let (technique, _) = icsdrill_drill::alerts::rule_info("program_upload");
    assert_eq!(technique, "T0845", "Program Upload");
}
