//! Evidence trainees analyse with their own tools: a pcapng of a range's Modbus/TCP traffic,
//! rebuilt by replay, that tshark (Wireshark's own dissectors) decodes as Modbus/TCP with no
//! malformed packet and no TCP sequence problem, the same bytes every time.

use std::path::{Path, PathBuf};
use std::process::Command;

use icsdrill::governance::pcap::{Run, host_address, write_pcap};
use icsdrill_drill::{Control, Mode};
use icsdrill_engine::parse_inputs;
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
    let run = Run { scenario: &s, seed: 1, live_attacker: false, inputs: &inputs };
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
    let hmi = host_address(s.host("hmi-01").unwrap());
    assert!(!tshark(&file, &format!("ip.src == {hmi} && modbus.func_code == 4")).is_empty());
    let ews = host_address(s.host("ews-01").unwrap());
    let writes = tshark(
        &file,
        &format!(
            "ip.src == {ews} && (modbus.func_code == 5 || modbus.func_code == 6 || modbus.func_code == 16)"
        ),
    );
    assert!(!writes.is_empty(), "the attacker's writes are in the window");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_drill_teams_capture_is_rebuilt_by_replay() {
    let dir = temp("drill");
    let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
    let spec = test_spec(builtin(b.id), &["blue"], Mode::Regional, Some((&dir, b.source)));
    let server = icsdrill::drill::DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    drill.step(3000).await;
    let id = drill.id.clone();
    server.shutdown().await.unwrap();
    let pcap = |out: &Path, team: &str| {
        Command::new(env!("CARGO_BIN_EXE_icsdrill"))
            .args(["pcap", &id, "--team", team, "--from", "100", "--to", "250", "--out"])
            .arg(out)
            .arg("--data-dir")
            .arg(&dir)
            .output()
            .unwrap()
    };
    let (one, two) = (dir.join("one.pcapng"), dir.join("two.pcapng"));
    for f in [&one, &two] {
        let o = pcap(f, "blue");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("Modbus requests"));
    }
    assert!(std::fs::read(&one).unwrap() == std::fs::read(&two).unwrap(), "replay gives the same bytes");
    well_formed(&one);
    // The attacker's scan (FC 17 and 43 from the engineering workstation, 120 s in) is there.
    assert!(!tshark(&one, "modbus.func_code == 17").is_empty(), "the scan is in the window");
    // A team that is not in the drill, and a window the wrong way round, are clear errors.
    let o = pcap(&dir.join("x.pcapng"), "red");
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no team `red`"));
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["pcap", "petrochem-tank-farm", "--from", "50", "--to", "10", "--out", "/dev/null"])
        .output()
        .unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--from and --to"));
    let _ = std::fs::remove_dir_all(&dir);
}
