//! Evidence trainees analyse with their own tools: a pcapng of a range's Modbus/TCP traffic,
//! rebuilt by replay, that tshark (Wireshark's own dissectors) decodes as Modbus/TCP with no
//! malformed packet and no TCP sequence problem, the same bytes every time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use icsdrill::governance::pcap::{Run, write_pcap};
use icsdrill::runtime::placement::Placement;
use icsdrill_drill::{Control, Mode};
use icsdrill_engine::input::ModbusTransaction;
use icsdrill_engine::{EventKind, parse_inputs};
use icsdrill_web::drill::DrillApi as _;

use crate::util::{builtin, test_spec};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("icsdrill-evidence-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Frames of `file` tshark shows for display filter `filter`.
fn tshark(file: &Path, filter: &str) -> Vec<String> {
    let o = Command::new("tshark").arg("-r").arg(file).args(["-Y", filter]).output().expect("tshark runs");
    assert!(o.status.success(), "tshark -Y {filter}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

/// The `fields` of each packet of `file` that `filter` shows, a line a packet (tab between
/// fields), as `tshark -T fields` prints them.
pub(crate) fn tshark_fields(file: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args(["-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let o = cmd.output().expect("tshark runs");
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

/// A headless run of scenario `s` with seed 1 and `inputs`, placed at `placement`, its clock
/// from 1970.
fn scenario_run<'a>(
    s: &'a Arc<icsdrill_engine::Scenario>,
    inputs: &'a [icsdrill_engine::TimedInput],
    placement: &'a Placement,
) -> Run<'a> {
    Run { scenario: s, answering: s, seed: 1, live_attacker: false, inputs, placement, epoch_ms: 0 }
}

/// The capture of plant seconds `from..to` of a headless run of `s` with `inputs`, written to
/// a file in a directory of its own (`name`) and checked `well_formed`; with where the run
/// placed hosts and PLCs.
fn captured(
    s: &Arc<icsdrill_engine::Scenario>,
    inputs: &[icsdrill_engine::TimedInput],
    (from, to): (f64, f64),
    name: &str,
) -> (PathBuf, PathBuf, Placement) {
    let placement = Placement::canonical(s);
    let (dir, file) = written(scenario_run(s, inputs, &placement), (s.ticks(from), s.ticks(to)), name);
    (dir, file, placement)
}

/// The capture of ticks `window` of `run`, written to `name.pcapng` in a directory of its own
/// (`name`), checked `well_formed` and not truncated.
fn written(run: Run<'_>, window: (u64, u64), name: &str) -> (PathBuf, PathBuf) {
    let mut bytes = Vec::new();
    let cap = write_pcap(run, window, &mut bytes).unwrap();
    assert!(!cap.truncated, "{cap:?}");
    let dir = temp(name);
    let file = dir.join(format!("{name}.pcapng"));
    std::fs::write(&file, &bytes).unwrap();
    well_formed(&file);
    (dir, file)
}

/// The time of `file`'s first packet, Unix seconds, as tshark reads it.
fn first_packet_s(file: &Path) -> f64 {
    let fields = ["-c", "1", "-T", "fields", "-e", "frame.time_epoch"];
    let o = Command::new("tshark").arg("-r").arg(file).args(fields).output().expect("tshark runs");
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

/// Asserts what every capture must be: decoded, not malformed, TCP consistent.
fn well_formed(file: &Path) {
    for bad in ["_ws.malformed", "_ws.expert.severity >= error", "tcp.analysis.flags"] {
        let hits = tshark(file, bad);
        assert!(hits.is_empty(), "{bad} in {}: {:?}", file.display(), &hits[..hits.len().min(5)]);
    }
}

#[test]
fn a_capture_decodes_as_modbus_tcp_and_is_the_same_every_time() {
    let s = builtin("petrochem-tank-farm");
    let path = format!("{}/scenarios/defences/petrochem-tank-farm.jsonl", env!("CARGO_MANIFEST_DIR"));
    let inputs = parse_inputs(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
    let placement = Placement::canonical(&s);
    let run = scenario_run(&s, &inputs, &placement);
    let window = (s.ticks(150.0), s.ticks(300.0));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let cap = write_pcap(run, window, &mut a).unwrap();
    write_pcap(run, window, &mut b).unwrap();
    assert!(a == b, "the same window gives the same bytes");
    assert!(cap.requests > 1000 && !cap.truncated, "{cap:?}");
    let dir = temp("defence");
    let file = dir.join("window.pcapng");
    std::fs::write(&file, &a).unwrap();
    well_formed(&file);
    // Every request and answer is a Modbus/TCP frame; the handshakes are the rest.
    let modbus = tshark(&file, "mbtcp").len();
    assert!(modbus >= cap.requests && modbus <= 2 * cap.requests, "{modbus} frames, {cap:?}");
    // Each connection opens with a three-way handshake in the window.
    let syns = tshark(&file, "tcp.flags.syn == 1 && tcp.flags.ack == 0").len();
    assert_eq!(3 * syns, cap.packets - modbus, "{cap:?}");
    // The operator station polls from its own address; the attacker's writes from the
    // engineering workstation (it is on ews-01 by then) are in the same capture.
    let hmi = placement.hosts[s.host("hmi-01").unwrap().ix()];
    assert!(!tshark(&file, &format!("ip.src == {hmi} && modbus.func_code == 4")).is_empty());
    let ews = placement.hosts[s.host("ews-01").unwrap().ix()];
    let writes = tshark(
        &file,
        &format!(
            "ip.src == {ews} && (modbus.func_code == 5 || modbus.func_code == 6 || modbus.func_code == 16)"
        ),
    );
    assert!(!writes.is_empty(), "the attacker's writes are in the window");
    let _ = std::fs::remove_dir_all(&dir);
}

/// GET `path` with `token`: status and body bytes (the body may be binary).
async fn get_bytes(addr: std::net::SocketAddr, path: &str, token: &str) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: icsdrill\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut raw)).await.unwrap().unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(!head.contains("transfer-encoding: chunked"), "{head}");
    (head[9..12].parse().unwrap(), raw[split + 4..].to_vec())
}

/// A drill stopped in its briefing has nothing on record to capture: the command line says
/// so, rather than that the window is past the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_of_a_drill_never_started_is_refused_with_why() {
    let dir = temp("briefing");
    let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
    let spec = test_spec(builtin(b.id), &["blue"], Mode::Regional, Some((&dir, b.source)));
    let server = icsdrill::drill::DrillServer::start(spec).await.unwrap();
    let id = server.drill.id.clone();
    server.shutdown().await.unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["pcap", &id, "--team", "blue", "--to", "10", "--out"])
        .arg(dir.join("none.pcapng"))
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("nothing on record yet: it has not started"), "{err}");
    assert!(!dir.join("none.pcapng").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_live_capture_equals_the_one_rebuilt_after_the_drill() {
    let dir = temp("drill");
    let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
    let spec = test_spec(builtin(b.id), &["blue", "red"], Mode::Regional, Some((&dir, b.source)));
    let server = icsdrill::drill::DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    let tokens: Vec<String> = drill.teams().map(|(_, t, _)| t.to_string()).collect();
    // In the briefing nothing is on record: said so (it was refused as a bad window).
    let (status, body) = get_bytes(server.http, "/api/teams/blue/pcap", &tokens[0]).await;
    let body = String::from_utf8_lossy(&body);
    assert!(
        status == 409 && body.contains("nothing of team `blue`'s range is on record yet"),
        "{status} {body}"
    );
    drill.control(Control::Start).unwrap();
    drill.step(3000).await;
    // A capture is rebuilt from what is on disk: wait (bounded) for the record to reach 250 s.
    let on_disk = tokio::time::timeout(std::time::Duration::from_secs(60), drill.recorded("blue", 2500));
    on_disk.await.expect("blue's record reaches 250 s");
    // Downloaded live with the team's own token.
    let url = "/api/teams/blue/pcap?from=100&to=250";
    let (status, live) = get_bytes(server.http, url, &tokens[0]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&live));
    // Without a window: the last 300 s on record.
    let (status, recent) = get_bytes(server.http, "/api/teams/blue/pcap", &tokens[0]).await;
    assert_eq!(status, 200);
    assert!(recent.len() > live.len(), "300 s hold more than 150 s");
    // A window past the record (the console asks up to the plant's clock) ends where it does.
    let (status, past) = get_bytes(server.http, "/api/teams/blue/pcap?from=100&to=400", &tokens[0]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&past));
    assert!(past.len() > live.len(), "100-300 s hold more than 100-250 s");
    // Another team's token sees nothing of it; windows too long, backwards or not yet
    // recorded are clear errors.
    assert_ne!(get_bytes(server.http, url, &tokens[1]).await.0, 200);
    for (bad, want) in
        [("from=0&to=900", 400), ("from=200&to=100", 400), ("from=0&to=", 400), ("from=350&to=400", 409)]
    {
        let (status, body) = get_bytes(server.http, &format!("/api/teams/blue/pcap?{bad}"), &tokens[0]).await;
        assert_eq!(status, want, "{bad}: {}", String::from_utf8_lossy(&body));
        if want == 409 {
            // Said in Chinese too, for a console in Chinese.
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(v["message_zh"].as_str().is_some_and(|m| m.starts_with("记录目前只到")), "{v}");
        }
    }
    let id = drill.id.clone();
    server.shutdown().await.unwrap();
    // Rebuilt after the drill by `icsdrill pcap`: the same bytes.
    let pcap = |out: &Path, team: &str| {
        Command::new(env!("CARGO_BIN_EXE_icsdrill"))
            .args(["pcap", &id, "--team", team, "--from", "100", "--to", "250", "--out"])
            .arg(out)
            .arg("--data-dir")
            .arg(&dir)
            .output()
            .unwrap()
    };
    let rebuilt = dir.join("rebuilt.pcapng");
    let o = pcap(&rebuilt, "blue");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("requests (Modbus, IEC 104 and OPC UA)"));
    assert!(std::fs::read(&rebuilt).unwrap() == live, "the live download and the rebuilt capture differ");
    well_formed(&rebuilt);
    // Its clock is the drill's (created moments ago) plus plant time, not 1970's.
    let first = first_packet_s(&rebuilt);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!(first > now - 3600.0 && first < now + 3600.0, "the capture starts at {first}, now is {now}");
    // The attacker's scan (FC 17 and 43 from the engineering workstation, 120 s in) is there.
    assert!(!tshark(&rebuilt, "modbus.func_code == 17").is_empty(), "the scan is in the window");
    // A team that is not in the drill, and a window the wrong way round, are clear errors.
    let o = pcap(&dir.join("x.pcapng"), "green");
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no team `green`"));
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["pcap", "petrochem-tank-farm", "--from", "50", "--to", "10", "--out", "/dev/null"])
        .output()
        .unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--from and --to"));
    // A drill's id without the team: said so, with its teams.
    let in_drill = |args: &[&str], out: &str| {
        Command::new(env!("CARGO_BIN_EXE_icsdrill"))
            .args(args)
            .arg("--out")
            .arg(dir.join(out))
            .arg("--data-dir")
            .arg(&dir)
            .output()
            .unwrap()
    };
    let o = in_drill(&["pcap", &id, "--to", "100"], "noteam.pcapng");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("is a drill: give the team") && err.contains("blue, red"),
        "{err}"
    );
    // Nor is a window past the team's record: replay would make up what never happened.
    let o = in_drill(&["pcap", &id, "--team", "blue", "--from", "100", "--to", "4000"], "past.pcapng");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("ends at") && err.contains("--to"), "{err}");
    assert!(!dir.join("past.pcapng").exists());
    // A scenario run's clock starts when --start says (Beijing time), not in 1970.
    let run = |start: &str, out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_icsdrill"))
            .args(["pcap", "petrochem-tank-farm", "--from", "120", "--to", "130", "--start", start, "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    let headless = dir.join("headless.pcapng");
    let o = run("2026-09-15T09:00", &headless);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("t = 0 is 2026-09-15 09:00:00.000 (Beijing time)"));
    let first = first_packet_s(&headless);
    // 2026-09-15 01:00 UTC, plus 120 s of plant time.
    let t0 = 1_789_434_000.0;
    assert!(first >= t0 + 120.0 && first < t0 + 130.0, "the capture starts at {first}");
    let o = run("15/09/2026", &dir.join("bad.pcapng"));
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("YYYY-MM-DDTHH:MM"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_engineers_program_uploads_are_logged_flagged_and_captured() {
    // Two quiet hours of the tank farm (level 3: deep monitoring): every third engineering
    // session also uploads a PLC's program.
    let s = Arc::new(builtin("petrochem-tank-farm").without_attack());
    let sim = crate::util::run(&s, 1, 7200.0, &[]);
    let from_ews = |f: u8| -> Vec<u64> {
        sim.events()
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ModbusTransaction(ModbusTransaction { source, function, .. })
                    if source == "ews-01" && *function == f =>
                {
                    Some(e.tick)
                }
                _ => None,
            })
            .collect()
    };
    let sessions: u32 = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::RoutineTraffic { entries } => Some(
                entries
                    .iter()
                    .filter(|c| c.source == "ews-01" && c.function == Some(43))
                    .map(|c| c.count)
                    .sum::<u32>(),
            ),
            _ => None,
        })
        .sum();
    let uploads = from_ews(90);
    assert!(sessions >= 3, "{sessions} sessions in two hours");
    assert_eq!(uploads.len() as u32, sessions / 3, "{sessions} sessions");
    // Deep monitoring flags engineering access, the engineer's as an attacker's, by what it
    // asks: a program read back, not a download.
    let flagged = sim.events().iter().any(|e| {
        matches!(&e.kind, EventKind::IdsAlert { rule, source, .. } if rule == "program_upload" && source == "ews-01")
            && e.tick == uploads[0]
    });
    assert!(flagged, "the upload raises an alert");
    // Its framing is the vendor's: the capture around it leaves it out and stays well formed.
    let placement = Placement::canonical(&s);
    let run = scenario_run(&s, &[], &placement);
    let mut bytes = Vec::new();
    write_pcap(run, (uploads[0].saturating_sub(10), uploads[0] + 10), &mut bytes).unwrap();
    let dir = temp("upload");
    let file = dir.join("upload.pcapng");
    std::fs::write(&file, &bytes).unwrap();
    well_formed(&file);
    assert!(tshark(&file, "modbus.func_code == 90").is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn iec104_commands_decode_in_the_capture_as_wireshark_shows_them() {
    // The Industroyer-style attack, undefended: the interrogations at 120 and 130 s, then the
    // protection's soft link and the three breakers at 580-604 s.
    let s = builtin("power-industroyer-substation");
    let placement = Placement::canonical(&s);
    let run = scenario_run(&s, &[], &placement);
    let window = (s.ticks(100.0), s.ticks(620.0));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let cap = write_pcap(run, window, &mut a).unwrap();
    write_pcap(run, window, &mut b).unwrap();
    assert!(a == b && !cap.truncated, "the same window gives the same bytes");
    let dir = temp("iec104");
    let file = dir.join("industroyer.pcapng");
    std::fs::write(&file, &a).unwrap();
    well_formed(&file);
    let scada = placement.hosts[s.host("scada-01").unwrap().ix()];
    let rtu1 = placement.stations[s.plc("rtu-1").unwrap().ix()].unwrap();
    assert_eq!(rtu1.port(), 2404, "a station listens on the standard port");
    let from_scada = |filter: &str| tshark(&file, &format!("ip.src == {scada} && {filter}")).len();
    let to_scada = |filter: &str| tshark(&file, &format!("ip.dst == {scada} && {filter}")).len();
    // Interrogations (the attacker's two among the front end's cyclic ones): each requested,
    // confirmed, answered with the objects, terminated.
    let interrogations = from_scada("iec60870_asdu.typeid == 100");
    assert!(interrogations > 2, "{interrogations}");
    assert_eq!(to_scada("iec60870_asdu.typeid == 100 && iec60870_asdu.causetx == 10"), interrogations);
    assert!(to_scada("iec60870_asdu.causetx == 20 && iec60870_asdu.typeid == 3") >= 2);
    // Three breakers, each selected then executed (S/E bit), confirmed, the executes terminated.
    assert_eq!(from_scada("iec60870_asdu.typeid == 46"), 6);
    assert_eq!(from_scada("iec60870_asdu.typeid == 46 && iec60870_asdu.ioa == 2001"), 2);
    assert_eq!(
        to_scada("iec60870_asdu.typeid == 46 && iec60870_asdu.causetx == 7 && iec60870_asdu.nega == 0"),
        6
    );
    assert_eq!(to_scada("iec60870_asdu.typeid == 46 && iec60870_asdu.causetx == 10"), 3);
    // The relay's soft link: a single command to object 100000 of PROT-01.
    assert_eq!(from_scada("iec60870_asdu.typeid == 45 && iec60870_asdu.ioa == 100000"), 2);
    // STARTDT opens each of the three stations' connections.
    assert_eq!(tshark(&file, "iec60870_104.utype == 0x01").len(), 3, "STARTDT act");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_refused_station_connection_shows_as_a_syn_answered_by_a_reset() {
    // The substation's front end is refused twice at connect (its range was full) before
    // its cyclic interrogations get through.
    let s = builtin("power-industroyer-substation");
    let refused = |tick| icsdrill_engine::TimedInput {
        tick,
        input: icsdrill_engine::SimInput::Iec104(icsdrill_engine::Iec104Transaction {
            plc: "rtu-1".into(),
            source: "scada-01".into(),
            type_id: 0,
            cause: 0,
            ioa: 0,
            value: None,
            select: false,
            reason: Some(icsdrill_engine::RejectReason::ConnectionLimit),
            repeat: 1,
        }),
    };
    let inputs = [refused(s.ticks(101.0)), refused(s.ticks(103.0))];
    let (dir, file, placement) = captured(&s, &inputs, (100.0, 140.0), "refused");
    let scada = placement.hosts[s.host("scada-01").unwrap().ix()];
    let rtu1 = placement.stations[s.plc("rtu-1").unwrap().ix()].unwrap();
    let resets = tshark(&file, &format!("ip.dst == {scada} && tcp.flags.reset == 1 && tcp.flags.ack == 1"));
    assert_eq!(resets.len(), 2, "{resets:?}");
    // Each reset answers a SYN the station never accepted, from a port of its own.
    let to_rtu1 = format!("ip.src == {scada} && ip.dst == {} && tcp.dstport == {}", rtu1.ip(), rtu1.port());
    let syns = tshark(&file, &format!("{to_rtu1} && tcp.flags.syn == 1 && tcp.flags.ack == 0"));
    let accepted = tshark(&file, &format!("ip.dst == {scada} && tcp.flags.syn == 1 && tcp.flags.ack == 1"));
    assert_eq!(syns.len(), 3, "two refused, then the one accepted: {syns:?}");
    // Each from a port of its own: no 4-tuple reused.
    let ports: std::collections::BTreeSet<&str> =
        syns.iter().filter_map(|l| l.split(" → ").nth(1)?.split_whitespace().last()).collect();
    assert_eq!(ports.len(), 3, "{syns:?}");
    assert!(!accepted.is_empty(), "the front end's interrogations got through");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_refused_modbus_connection_shows_as_a_syn_answered_by_a_reset() {
    // The tank farm's engineering station is refused twice at connect to PLC-T101 (its
    // endpoint was full), then reads it.
    let s = builtin("petrochem-tank-farm");
    let at = |t: f64, input| icsdrill_engine::TimedInput { tick: s.ticks(t), input };
    let refused = |t| {
        at(
            t,
            icsdrill_engine::SimInput::ModbusConnection {
                plc: "plc-t101".into(),
                source: "ews-01".into(),
                refused: Some(icsdrill_engine::RejectReason::ConnectionLimit),
            },
        )
    };
    let inputs = [refused(101.0), refused(101.0), at(103.0, crate::util::read("plc-t101", "ews-01"))];
    let (dir, file, placement) = captured(&s, &inputs, (100.0, 110.0), "refused-modbus");
    let ews = placement.hosts[s.host("ews-01").unwrap().ix()];
    let plc = placement.plcs[s.plc("plc-t101").unwrap().ix()];
    let to_plc = format!("ip.src == {ews} && ip.dst == {} && tcp.dstport == {}", plc.ip(), plc.port());
    let syns = tshark(&file, &format!("{to_plc} && tcp.flags.syn == 1 && tcp.flags.ack == 0"));
    let resets = tshark(&file, &format!("ip.dst == {ews} && tcp.flags.reset == 1 && tcp.flags.ack == 1"));
    assert_eq!(resets.len(), 2, "{resets:?}");
    assert_eq!(syns.len(), 3, "two refused, then the one accepted: {syns:?}");
    let ports: std::collections::BTreeSet<&str> =
        syns.iter().filter_map(|l| l.split(" → ").nth(1)?.split_whitespace().last()).collect();
    assert_eq!(ports.len(), 3, "each from a port of its own: {syns:?}");
    assert_eq!(tshark(&file, &format!("{to_plc} && mbtcp && modbus.func_code == 3")).len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_flooded_plc_answers_its_routine_pollers_nothing_in_the_capture() {
    // The undefended tank farm: the attack floods PLC-T101 as T-101 tops out (deny-view).
    let s = builtin("petrochem-tank-farm");
    let sim = crate::util::run(&s, 1, 1800.0, &[]);
    let (from, until) = sim
        .events()
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::CommsFlooded { plc, until_tick } if plc == "plc-t101" => Some((e.tick, *until_tick)),
            _ => None,
        })
        .expect("the deny-view flood comes undefended");
    let secs = |t: u64| t as f64 / f64::from(s.tick_hz);
    assert!(until > from + s.ticks(40.0), "a flood of more than 40 s");
    let (dir, file, placement) = captured(&s, &[], (secs(from) + 5.0, secs(from) + 35.0), "flooded");
    let hmi = placement.hosts[s.host("hmi-01").unwrap().ix()];
    let count = |plc: &str| {
        let at = placement.plcs[s.plc(plc).unwrap().ix()];
        let asked = tshark(
            &file,
            &format!("mbtcp && ip.src == {hmi} && ip.dst == {} && tcp.dstport == {}", at.ip(), at.port()),
        );
        let answered = tshark(
            &file,
            &format!("mbtcp && ip.dst == {hmi} && ip.src == {} && tcp.srcport == {}", at.ip(), at.port()),
        );
        (asked.len(), answered.len())
    };
    let (asked, answered) = count("plc-t101");
    assert!(asked > 10 && answered == 0, "the flooded PLC: {asked} polls, {answered} answers");
    let (asked, answered) = count("plc-t102");
    assert!(asked > 10 && answered == asked, "another PLC: {asked} polls, {answered} answers");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_opc_ua_clients_monitored_items_follow_its_subscription_in_the_capture() {
    // The operator station subscribes to the weld current twice on one connection: the
    // capture creates its subscription once, before the first monitored item (a capture with
    // items and no subscription is no client's).
    let s = builtin("equipment-welding-line").without_attack();
    let s = Arc::new(s);
    let subscribe = |tick: u64, node: &str| icsdrill_engine::TimedInput {
        tick,
        input: icsdrill_engine::SimInput::OpcUa(icsdrill_engine::OpcUaTransaction {
            plc: "plc-weld".into(),
            source: "hmi-01".into(),
            service: icsdrill_engine::scenario::opcua::services::SUBSCRIBE,
            node: node.into(),
            value: None,
            reason: None,
            repeat: 1,
        }),
    };
    let inputs = [subscribe(s.ticks(10.0), "weld_sp"), subscribe(s.ticks(12.0), "weld_sp")];
    let placement = Placement::canonical(&s);
    let run = scenario_run(&s, &inputs, &placement);
    let (dir, file) = written(run, (s.ticks(5.0), s.ticks(20.0)), "opcua-subscription");
    let hmi = placement.hosts[s.host("hmi-01").unwrap().ix()];
    let frames = |filter: &str| tshark(&file, &format!("ip.addr == {hmi} && {filter}"));
    let (created, answered) =
        (frames("opcua.servicenodeid.numeric == 787"), frames("opcua.servicenodeid.numeric == 790"));
    let items = frames("opcua.servicenodeid.numeric == 751");
    assert_eq!((created.len(), answered.len(), items.len()), (1, 1, 2), "{created:?} {items:?}");
    let number = |line: &str| line.split_whitespace().next().and_then(|n| n.parse::<u32>().ok()).unwrap();
    assert!(number(&answered[0]) < number(&items[0]), "the subscription comes first: {answered:?} {items:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn opc_ua_writes_decode_in_the_capture_as_wireshark_shows_them() {
    // The welding line's attack, undefended: the weld set point written over the cell's OPC UA
    // server 5 minutes in.
    let s = builtin("equipment-welding-line");
    let placement = Placement::canonical(&s);
    let run = scenario_run(&s, &[], &placement);
    let window = (s.ticks(280.0), s.ticks(320.0));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let cap = write_pcap(run, window, &mut a).unwrap();
    write_pcap(run, window, &mut b).unwrap();
    assert!(a == b && !cap.truncated, "the same window gives the same bytes");
    let dir = temp("opcua");
    let file = dir.join("welding.pcapng");
    std::fs::write(&file, &a).unwrap();
    well_formed(&file);
    let ews = placement.hosts[s.host("ews-01").unwrap().ix()];
    let server = placement.servers[s.plc("plc-weld").unwrap().ix()].unwrap();
    assert_eq!(server.port(), 4840, "a server listens on the standard port");
    let from_ews = |filter: &str| tshark(&file, &format!("ip.src == {ews} && {filter}")).len();
    let to_ews = |filter: &str| tshark(&file, &format!("ip.dst == {ews} && {filter}")).len();
    // The connection opens as a client's does: Hello, then a secure channel (None).
    assert_eq!(from_ews("opcua.transport.type == \"HEL\""), 1);
    assert_eq!(to_ews("opcua.transport.type == \"ACK\""), 1);
    assert_eq!(from_ews("opcua.servicenodeid.numeric == 446"), 1, "OpenSecureChannelRequest");
    assert_eq!(to_ews("opcua.servicenodeid.numeric == 449"), 1, "OpenSecureChannelResponse");
    // Then a session, created and activated (anonymously), as every client's is.
    assert_eq!(from_ews("opcua.servicenodeid.numeric == 461"), 1, "CreateSessionRequest");
    assert_eq!(to_ews("opcua.servicenodeid.numeric == 464"), 1, "CreateSessionResponse");
    assert_eq!(from_ews("opcua.servicenodeid.numeric == 467"), 1, "ActivateSessionRequest");
    assert_eq!(to_ews("opcua.servicenodeid.numeric == 470"), 1, "ActivateSessionResponse");
    // The write: WriteRequest (673) of 430 A to weld_sp, answered Good (WriteResponse, 676).
    assert_eq!(
        from_ews(
            "opcua.servicenodeid.numeric == 673 && opcua.nodeid.string == \"weld_sp\" && opcua.Double == 430"
        ),
        1
    );
    assert_eq!(to_ews("opcua.servicenodeid.numeric == 676 && opcua.Results == 0"), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A contest team's read of its PLC's hidden area shows in its capture as its endpoint
/// answered it: the flag's registers, decoded by tshark (the plant's memory, every team's
/// simulation alike, has no such block: an empty answer before). The simulation replayed is
/// the shared plant's: no routine poll reads the area (a replay of the team's copy had the
/// operator station poll it every second, the flag in each answer).
#[test]
fn a_contest_teams_hidden_flag_read_shows_in_its_capture_as_answered() {
    use icsdrill_drill::flags::{ChallengeKind, HIDDEN_WORDS, ascii_registers, challenges, flag, with_flags};
    let base = builtin("petrochem-tank-farm");
    let ch = challenges(&base);
    let ChallengeKind::Hidden { addr } = ch[2].kind else { panic!("{ch:?}") };
    let team = with_flags(&base, "secret", "red", &ch);
    let read = icsdrill_engine::SimInput::ModbusRequest(ModbusTransaction {
        values: Vec::new(),
        plc: "plc-t101".into(),
        source: "ews-01".into(),
        function: 4,
        addr,
        count: HIDDEN_WORDS,
        exception: None,
        reason: None,
        unit: None,
        repeat: 1,
    });
    let inputs = [icsdrill_engine::TimedInput { tick: team.ticks(10.0), input: read }];
    let placement = Placement::canonical(&base);
    let run = Run { answering: &team, ..scenario_run(&base, &inputs, &placement) };
    let (dir, file) = written(run, (base.ticks(5.0), base.ticks(20.0)), "hidden");
    assert_eq!(tshark(&file, &format!("modbus.reference_num == {addr}")).len(), 1, "the team's read alone");
    let answers = format!("modbus.func_code == 4 && modbus.byte_cnt == {}", 2 * HIDDEN_WORDS);
    let got = tshark_fields(&file, &answers, &["modbus.regval_uint16"]);
    let want: Vec<String> =
        ascii_registers(&flag("secret", "red", &ch[2].id)).iter().map(u16::to_string).collect();
    assert_eq!(got, [want.join(",")], "one answer, the flag's registers");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Requests the log counts only in a traffic summary (over the record budget: a team's scan)
/// cannot be drawn, and the capture says so where they were: the next packet carries a
/// comment Wireshark shows, and the count comes back with the capture.
#[test]
fn requests_over_the_record_budget_are_marked_in_the_capture() {
    use icsdrill_engine::input::TrafficCount;
    let s = builtin("petrochem-tank-farm");
    let count = |function, count| TrafficCount {
        plc: "plc-t101".into(),
        source: "ews-01".into(),
        function,
        count,
        exceptions: count,
    };
    let summary =
        icsdrill_engine::SimInput::TrafficSummary { entries: vec![count(Some(4), 300), count(None, 2)] };
    let inputs = [icsdrill_engine::TimedInput { tick: s.ticks(10.0), input: summary }];
    let placement = Placement::canonical(&s);
    let mut bytes = Vec::new();
    let cap =
        write_pcap(scenario_run(&s, &inputs, &placement), (s.ticks(5.0), s.ticks(20.0)), &mut bytes).unwrap();
    assert_eq!(cap.summarised, 300, "requests, not connection attempts: {cap:?}");
    let dir = temp("summarised");
    let file = dir.join("summarised.pcapng");
    std::fs::write(&file, &bytes).unwrap();
    well_formed(&file);
    let lines = tshark_fields(&file, "frame.comment", &["frame.time_relative", "frame.comment"]);
    assert_eq!(lines.len(), 1, "one comment, on the next packet: {lines:?}");
    assert!(
        lines[0].contains("300 Modbus requests since t = 10.0 s were over the range's record budget"),
        "{lines:?}"
    );
    let at: f64 = lines[0].split('\t').next().unwrap().parse().unwrap();
    assert!((5.0..6.1).contains(&at), "the first packet after t = 10 s (5 s into the window): {at}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A function the endpoint does not serve is drawn as its code and the exception it got (a
/// trainee's probe of FC 66 was missing); FC 23, whose read half the record does not keep, is
/// not drawn, and the next packet says so, as the capture's count does.
#[test]
fn unserved_functions_are_drawn_and_read_writes_are_marked_in_the_capture() {
    use icsdrill_engine::{RejectReason, SimInput, TimedInput};
    let s = builtin("petrochem-tank-farm");
    let probe = SimInput::ModbusRequest(ModbusTransaction {
        values: Vec::new(),
        plc: "plc-t101".into(),
        source: "ews-01".into(),
        function: 66,
        addr: 0,
        count: 0,
        exception: Some(1),
        reason: Some(RejectReason::IllegalFunction),
        unit: None,
        repeat: 1,
    });
    let read_write = SimInput::WriteRegisters {
        plc: "plc-t101".into(),
        source: "ews-01".into(),
        addr: 1,
        values: vec![700],
        function: Some(23),
    };
    let inputs = [
        TimedInput { tick: s.ticks(10.0), input: probe },
        TimedInput { tick: s.ticks(12.0), input: read_write },
    ];
    let placement = Placement::canonical(&s);
    let mut bytes = Vec::new();
    let cap =
        write_pcap(scenario_run(&s, &inputs, &placement), (s.ticks(5.0), s.ticks(20.0)), &mut bytes).unwrap();
    assert_eq!(cap.read_writes, 1, "{cap:?}");
    let dir = temp("unserved");
    let file = dir.join("unserved.pcapng");
    std::fs::write(&file, &bytes).unwrap();
    well_formed(&file);
    let fields = |filter: &str, field: &str| tshark_fields(&file, filter, &[field]);
    assert_eq!(fields("modbus.func_code == 66", "modbus.func_code").len(), 2, "the probe and its answer");
    assert_eq!(fields("modbus.func_code == 66 && modbus.exception_code", "modbus.exception_code"), ["1"]);
    assert!(fields("modbus.func_code == 23", "modbus.func_code").is_empty(), "FC 23 is not drawn");
    let comments = fields("frame.comment", "frame.comment");
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0]
            .contains("1 FC 23 (read/write multiple registers) requests since t = 12.0 s are not drawn"),
        "{comments:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An engineering request (FC 90: here a program upload, T0845) is not drawn, its bytes not on
/// record: the next packet says so, as the capture's count does (the capture left it out
/// without a word while the log and the alerts had it).
#[test]
fn engineering_requests_are_marked_in_the_capture() {
    use icsdrill_engine::input::EngineeringCommand;
    use icsdrill_engine::{SimInput, TimedInput};
    let s = builtin("petrochem-tank-farm");
    let upload = SimInput::Engineering {
        plc: "plc-t101".into(),
        source: "ews-01".into(),
        command: EngineeringCommand::Upload,
    };
    let inputs = [TimedInput { tick: s.ticks(12.0), input: upload }];
    let placement = Placement::canonical(&s);
    let mut bytes = Vec::new();
    let cap =
        write_pcap(scenario_run(&s, &inputs, &placement), (s.ticks(5.0), s.ticks(20.0)), &mut bytes).unwrap();
    assert_eq!(cap.engineering, 1, "{cap:?}");
    let dir = temp("engineering");
    let file = dir.join("engineering.pcapng");
    std::fs::write(&file, &bytes).unwrap();
    well_formed(&file);
    let comments = tshark_fields(&file, "frame.comment", &["frame.comment"]);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].contains("1 engineering requests (FC 90: program upload or download"),
        "{comments:?}"
    );
    assert!(comments[0].contains("since t = 12.0 s are not drawn"), "{comments:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A request to another unit id is drawn to that unit, with what it asked and the exception
/// it got (it was drawn to the PLC's unit, for no registers).
#[test]
fn a_request_to_another_unit_is_drawn_to_that_unit() {
    use icsdrill_engine::{RejectReason, SimInput, TimedInput};
    let s = builtin("petrochem-tank-farm");
    let scan = SimInput::ModbusRequest(ModbusTransaction {
        values: Vec::new(),
        plc: "plc-t101".into(),
        source: "ews-01".into(),
        function: 3,
        addr: 2,
        count: 10,
        exception: Some(0x0B),
        reason: Some(RejectReason::WrongUnit),
        unit: Some(7),
        repeat: 1,
    });
    let inputs = [TimedInput { tick: s.ticks(10.0), input: scan }];
    let placement = Placement::canonical(&s);
    let mut bytes = Vec::new();
    write_pcap(scenario_run(&s, &inputs, &placement), (s.ticks(9.0), s.ticks(11.0)), &mut bytes).unwrap();
    let dir = temp("wrong-unit");
    let file = dir.join("wrong-unit.pcapng");
    std::fs::write(&file, &bytes).unwrap();
    well_formed(&file);
    let rows = tshark_fields(
        &file,
        "mbtcp.unit_id != 1 || modbus.exception_code",
        &["mbtcp.unit_id", "modbus.word_cnt", "modbus.exception_code"],
    );
    assert_eq!(
        rows,
        ["7\t10\t", "7\t\t11"],
        "the request to unit 7 for 10 registers, its exception (the routine polls go to unit 1)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A drill resumed on other ports: its console names the ports it serves now to decode by,
/// and its live capture draws the PLCs there (it drew them where the drill was recorded:
/// with the console's ports, `tshark -Y modbus` found nothing). `icsdrill pcap`, from the
/// record alone, keeps the recorded ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_resumed_on_other_ports_captures_its_plcs_where_the_console_says() {
    let dir = temp("resumed-ports");
    let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
    let spec = test_spec(builtin(b.id), &["blue"], Mode::Regional, Some((&dir, b.source)));
    let server = icsdrill::drill::DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    drill.step(2600).await;
    let on_disk = tokio::time::timeout(std::time::Duration::from_secs(60), drill.recorded("blue", 2500));
    on_disk.await.expect("blue's record reaches 250 s");
    let id = drill.id.clone();
    server.shutdown().await.unwrap();
    // Resumed with its endpoints from a base port of its own: consecutive ports free now.
    let plcs = builtin(b.id).plcs.len() as u16;
    let base = (0..50)
        .find_map(|_| {
            let first = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
            let p = first.local_addr().ok()?.port();
            let rest: Option<Vec<_>> = (1..plcs)
                .map(|i| std::net::TcpListener::bind(("127.0.0.1", p.checked_add(i)?)).ok())
                .collect();
            rest.map(|_| p)
        })
        .expect("free ports");
    let mut opts = icsdrill::runtime::range::Options::new(1);
    (opts.modbus_port, opts.http_port) = (base, 0);
    let db = icsdrill::store::Database::Sqlite(dir.clone());
    let server = icsdrill::drill::DrillServer::resume(&db, &id, opts).await.unwrap();
    let (_, token, endpoints) = server.drill.teams().next().unwrap();
    let served: std::collections::BTreeSet<String> = endpoints.iter().map(|e| e.port.to_string()).collect();
    assert!(served.contains(&base.to_string()), "{served:?}");
    let (status, live) = get_bytes(server.http, "/api/teams/blue/pcap?from=100&to=250", token).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&live));
    let file = dir.join("resumed.pcapng");
    std::fs::write(&file, &live).unwrap();
    let ports: std::collections::BTreeSet<String> =
        tshark_fields(&file, "tcp.flags.syn == 1 && tcp.flags.ack == 0", &["tcp.dstport"])
            .into_iter()
            .collect();
    assert!(!ports.is_empty() && ports.is_subset(&served), "captured {ports:?}, served {served:?}");
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
