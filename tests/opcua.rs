//! OPC UA servers of the welding line's cell PLC: a real client (`asyncua`) browsing, reading,
//! writing, subscribing and signing and encrypting; the conduit firewall and its OPC UA rules;
//! judging; and a fuzz of the endpoint that leaves other sessions unaffected.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use icsdrill::runtime::opcua::client::UaClient;
use icsdrill::runtime::range::Range;
use icsdrill_engine::scenario::opcua::services::*;
use icsdrill_engine::{EventKind, RejectReason, Scenario, SimInput, TimedInput};
use opcua::types::{StatusCode, Variant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::clients::{run, text};
use crate::modbus::start;
use crate::util::builtin;
use icsdrill_engine::OpcUaTransaction;

const PLC: &str = "plc-weld";

fn server(range: &Range) -> SocketAddr {
    let e = range.endpoints.iter().find(|e| e.plc == PLC).expect("PLC has an endpoint");
    SocketAddr::new(e.address.parse().unwrap(), e.opcua_port.expect("the PLC has an OPC UA server"))
}

/// Every OPC UA record of a log: (service, node, value, reason).
fn records(events: &[icsdrill_engine::SimEvent]) -> Vec<(u8, String, Option<f64>, Option<RejectReason>)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::OpcUaTransaction(OpcUaTransaction { service, node, value, reason, .. }) => {
                Some((*service, node.clone(), *value, *reason))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncua_browses_reads_writes_subscribes_and_signs_and_encrypts() {
    let range = start(builtin("equipment-welding-line"), |_| {}).await;
    let url = format!("opc.tcp://{}/", server(&range));
    let work = tempfile_dir("asyncua");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/opcua_client.py");
    let o = run("python3", vec![script.into(), url, work.display().to_string()]).await;
    assert!(o.status.success() && text(&o).contains("all checks passed"), "{}", text(&o));
    // The plant holds what was written last, over the encrypted channel (0.1 A counts).
    let snapshot = range.live.snapshot();
    let plc = range.live.scenario.plc(PLC).unwrap();
    assert_eq!(snapshot.plcs[plc.ix()].memory.holding[0], 3400);
    let sim = range.shutdown().await.unwrap();
    let log = records(sim.events());
    let writes: Vec<_> = log.iter().filter(|r| r.0 == WRITE).cloned().collect();
    assert_eq!(
        writes,
        [
            (WRITE, "weld_sp".into(), Some(330.0), None),
            (WRITE, "weld_sp".into(), Some(1.0e9), Some(RejectReason::IllegalValue)),
            (WRITE, "ct201_ir".into(), Some(100.0), Some(RejectReason::IllegalFunction)),
            (WRITE, "weld_sp".into(), None, Some(RejectReason::IllegalValue)),
            (WRITE, "weld_sp".into(), Some(340.0), None),
        ],
        "{log:?}"
    );
    assert!(log.iter().any(|r| r.0 == SUBSCRIBE && r.1 == "ct201_ir" && r.3.is_none()), "{log:?}");
    assert!(log.iter().any(|r| r.0 == READ && r.1 == "weld_sp"), "{log:?}");
    // One connection per security mode, and one more asyncua opens to learn the server's
    // certificate before it signs and encrypts.
    assert_eq!(log.iter().filter(|r| r.0 == CONNECTION).count(), 3, "{log:?}");
    let _ = std::fs::remove_dir_all(work);
}

/// A fresh directory for a client's files.
fn tempfile_dir(what: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("icsdrill-test-{what}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conduit_judges_opc_ua_as_modbus_or_by_its_own_rules() {
    // The supervisory-to-control conduit as a DPI firewall would have it: the historian may
    // only read and subscribe over OPC UA; the engineering workstation anything.
    let base = icsdrill_scenarios::builtin("equipment-welding-line").unwrap().source;
    let from = "      allow_sources: [hmi-01, ews-01, hist-01]\n";
    let to = "      rules:\n        - { source: hist-01, opcua: [Read, CreateMonitoredItems] }\n        - { source: ews-01 }\n";
    assert_eq!(base.matches(from).count(), 1);
    let s =
        Arc::new(Scenario::from_yaml("ruled.yaml", &base.replacen(from, to, 1)).unwrap().without_attack());
    let range = start(s.clone(), |o| {
        o.sources = vec![
            ("127.0.0.1".parse().unwrap(), "hist-01".into()),
            ("127.0.0.2".parse().unwrap(), "it-ws-01".into()),
        ];
    })
    .await;
    let addr = server(&range);
    let historian = UaClient::connect(addr).await.expect("the historian connects");
    let values = historian.read(&["weld_sp", "ct201_ir"]).await.unwrap();
    assert_eq!(values[0].value, Some(Variant::Double(320.0)));
    assert!(values[0].status.is_none_or(|s| s.is_good()), "a read passes");
    let refused = historian.write("weld_sp", Variant::Double(300.0)).await.unwrap();
    assert_eq!(refused, StatusCode::BadUserAccessDenied, "a write does not");
    historian.close().await;
    // The office workstation has no route to the control zone: its connection is reset at once.
    let office = tokio::net::TcpSocket::new_v4().unwrap();
    office.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    // (The reset may come before `connect` returns, or after.)
    let mut buf = [0u8; 16];
    let closed = match office.connect(addr).await {
        Ok(mut stream) => {
            tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await.expect("closed in time")
        }
        Err(e) => Err(e),
    };
    assert!(!matches!(closed, Ok(n) if n > 0), "no answer: {closed:?}");
    let sim = range.shutdown().await.unwrap();
    let by = |source: &str| {
        sim.events()
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::OpcUaTransaction(OpcUaTransaction { source: s, service, reason, .. })
                    if s == source =>
                {
                    Some((*service, *reason))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert!(by("hist-01").contains(&(WRITE, Some(RejectReason::FunctionNotAllowed))), "{:?}", by("hist-01"));
    assert!(by("hist-01").contains(&(READ, None)));
    assert_eq!(by("it-ws-01"), [(CONNECTION, Some(RejectReason::NoRoute))]);
    assert_eq!(sim.snapshot().plcs[s.plc(PLC).unwrap().ix()].memory.holding[0], 3200, "nothing written");
}

#[test]
fn opc_ua_writes_are_judged_as_the_writes_they_stand_for() {
    // An out-of-range set point written over OPC UA is the range finding's evidence, and the
    // IDS sees a write from a host that never writes, as for Modbus.
    let s = builtin("equipment-welding-line");
    let s = Arc::new(s.without_attack());
    let write = |tick, source: &str, node: &str, value| TimedInput {
        tick,
        input: SimInput::opcua(PLC, source, WRITE, node, Some(value)),
    };
    let sim = crate::util::run(
        &s,
        1,
        30.0,
        &[write(100, "ews-01", "weld_sp", 450.0), write(120, "hmi-01", "weld_sp", 330.0)],
    );
    let applied: Vec<_> = records(sim.events()).into_iter().filter(|r| r.0 == WRITE).collect();
    assert_eq!(applied.len(), 2);
    assert!(applied.iter().all(|r| r.3.is_none()), "{applied:?}");
    let plc = s.plc(PLC).unwrap();
    assert_eq!(sim.snapshot().plcs[plc.ix()].memory.holding[0], 3300);
    let findings = icsdrill_judge::findings::findings(&s, sim.events(), 2);
    let range = findings.iter().find(|f| f.assessment.evidence.iter().any(|seq| {
        matches!(&sim.events()[*seq as usize].kind, EventKind::OpcUaTransaction(OpcUaTransaction { value: Some(v), .. }) if *v == 450.0)
    }));
    assert!(range.is_some(), "the out-of-range set point is a finding's evidence: {findings:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fuzz_of_the_endpoint_leaves_other_sessions_unaffected() {
    let range = start(builtin("equipment-welding-line"), |_| {}).await;
    let addr = server(&range);
    let before = UaClient::connect(addr).await.expect("a session before the fuzz");
    // A deterministic generator (xorshift), so a failure can be replayed.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let chunk = |kind: &[u8], body: Vec<u8>| [kind, &((8 + body.len()) as u32).to_le_bytes(), &body].concat();
    for case in 0..300 {
        let mut body = |max: u64| -> Vec<u8> { (0..next() % max).map(|_| next() as u8).collect() };
        let bytes = match case % 5 {
            // Arbitrary bytes.
            0 => body(200),
            // A hello whose size lies.
            1 => [b"HELF".as_slice(), &(next() as u32).to_le_bytes(), &[0; 24]].concat(),
            // A well-framed hello with an arbitrary body.
            2 => chunk(b"HELF", body(64)),
            // A secure channel request with an arbitrary body, before any hello.
            3 => chunk(b"OPNF", body(300)),
            // A message on a channel that does not exist.
            _ => chunk(b"MSGF", body(300)),
        };
        let mut s = TcpStream::connect(addr).await.expect("the endpoint accepts");
        let _ = s.write_all(&bytes).await;
        let _ = s.shutdown().await;
        // The endpoint answers with an error or closes; it never hangs once the peer is gone.
        let mut buf = [0u8; 512];
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(n @ 1..) = s.read(&mut buf).await {
                let _ = n;
            }
        });
        assert!(closed.await.is_ok(), "case {case}: {bytes:02x?}");
    }
    // The session opened before still reads, and a new one opens.
    let values = before.read(&["weld_sp"]).await.expect("the earlier session still reads");
    assert_eq!(values[0].value, Some(Variant::Double(320.0)));
    let after = UaClient::connect(addr).await.expect("a session after the fuzz");
    assert_eq!(after.read(&["weld_sp"]).await.unwrap()[0].value, Some(Variant::Double(320.0)));
    before.close().await;
    after.close().await;
    range.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_attacker_writes_the_weld_set_point_over_opc_ua_on_the_wire() {
    // 1000 ticks per second: the set point step (300 s after the online edit) goes out within
    // a few wall seconds.
    let range = crate::modbus::start_with_attack(builtin("equipment-welding-line"), |o| {
        o.ticks_per_s = Some(1000.0);
    })
    .await;
    let done = crate::util::wait_for_event(
        &range.live,
        Duration::from_secs(60),
        |e| matches!(&e.kind, EventKind::AttackStepEnded { step, .. } if step == "weld-overcurrent"),
    )
    .await;
    assert!(done, "the attack reached its OPC UA step");
    let sim = range.shutdown().await.unwrap();
    let ev = sim.events();
    // The write crossed the cell's real server from the attacker's address, which stands for
    // the engineering workstation it had pivoted to, and the step's result came back from it.
    let log = records(ev);
    let from_ews: Vec<_> = ev
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::OpcUaTransaction(OpcUaTransaction {
                source, service, node, value, reason, ..
            }) if source == "ews-01" => Some((*service, node.clone(), *value, *reason)),
            _ => None,
        })
        .collect();
    assert!(from_ews.contains(&(CONNECTION, String::new(), None, None)), "{log:?}");
    assert!(from_ews.contains(&(WRITE, "weld_sp".into(), Some(430.0), None)), "{log:?}");
    let ended = ev.iter().find_map(|e| match &e.kind {
        EventKind::AttackStepEnded { step, outcome, .. } if step == "weld-overcurrent" => Some(*outcome),
        _ => None,
    });
    assert_eq!(ended.map(|o| format!("{o:?}")).as_deref(), Some("Succeeded"), "{}", crate::util::story(ev));
    let plc = sim.scenario().plc(PLC).unwrap();
    assert_eq!(sim.snapshot().plcs[plc.ix()].memory.holding[0], 4300, "430 A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_opc_ua_work_goes_on_the_wire_and_is_logged_once() {
    // 100x real time: the operator station selects weld program 22 over OPC UA at 900 s.
    let s = Arc::new(builtin("equipment-welding-line").without_attack());
    let range = start(s.clone(), |o| o.ticks_per_s = Some(1000.0)).await;
    let hmi = std::net::Ipv4Addr::new(127, 0, 0, 200 + s.host("hmi-01").unwrap().ix() as u8);
    let to = server(&range);
    let written = crate::util::wait_for_event(&range.live, Duration::from_secs(30), |e| {
        matches!(&e.kind, EventKind::OpcUaTransaction(OpcUaTransaction { source, service: WRITE, node, .. }) if source == "hmi-01" && node == "weld_prog_no")
    })
    .await;
    assert!(written, "the program change is in the log");
    // It went out on the wire, from the operator station's own address, to the cell's server.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while crate::traffic::connections_from(hmi.into(), to) != 1 && std::time::Instant::now() < deadline {
        range.live.wait_for_tick(range.live.snapshot().tick + 50).await;
    }
    assert_eq!(crate::traffic::connections_from(hmi.into(), to), 1, "one OPC UA connection from the HMI");
    let tick = range.live.snapshot().tick;
    range.live.wait_for_tick(tick + 500).await;
    let sim = range.shutdown().await.unwrap();
    // Logged once by the simulation, never again by the server: no connection record, one
    // write, applied once.
    let from_hmi: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::OpcUaTransaction(OpcUaTransaction { source, service, node, .. })
                if source == "hmi-01" =>
            {
                Some((*service, node.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(from_hmi, [(WRITE, "weld_prog_no".to_string())]);
    assert_eq!(sim.snapshot().plcs[s.plc(PLC).unwrap().ix()].memory.holding[5], 22);
}

#[test]
fn an_opc_ua_write_raises_the_alerts_its_modbus_write_would() {
    // The historian never writes: its set-point write raises the same alerts over OPC UA as
    // over Modbus, and moves the plant the same way.
    let s = Arc::new(builtin("equipment-welding-line").without_attack());
    let alerts = |input: SimInput| {
        let sim = crate::util::run(&s, 1, 20.0, &[TimedInput { tick: 100, input }]);
        let rules: Vec<(String, String)> = sim
            .events()
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::IdsAlert { rule, source, .. } if e.tick == 100 => {
                    Some((rule.clone(), source.clone()))
                }
                _ => None,
            })
            .collect();
        (rules, sim.snapshot().plcs[s.plc(PLC).unwrap().ix()].memory.holding[0])
    };
    let over_opcua = alerts(SimInput::opcua(PLC, "hist-01", WRITE, "weld_sp", Some(330.0)));
    let over_modbus = alerts(SimInput::write_registers(PLC, "hist-01", 0, vec![3300]));
    assert!(
        over_opcua.0.contains(&("write_from_unexpected_host".into(), "hist-01".into())),
        "{over_opcua:?}"
    );
    assert_eq!(over_opcua, over_modbus);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_going_round_the_ranges_listener_gets_no_value() {
    let range = start(builtin("equipment-welding-line"), |_| {}).await;
    // Through the range's listener: served.
    let through = UaClient::connect(server(&range)).await.expect("a session through the listener");
    assert_eq!(through.read(&["weld_sp"]).await.unwrap()[0].value, Some(Variant::Double(320.0)));
    // Straight to the stack's own loopback port (as a port scan would find it): the stack
    // answers, but not with the plant.
    let stack = range.opcua_stack(PLC).expect("the stack runs");
    let round = UaClient::connect_from("127.0.0.1".parse().unwrap(), stack).await.expect("the stack accepts");
    let read = round.read(&["weld_sp"]).await.unwrap();
    assert_eq!((read[0].value.clone(), read[0].status), (None, Some(StatusCode::BadUserAccessDenied)));
    let wrote = round.write("weld_sp", Variant::Double(380.0)).await.unwrap();
    assert_eq!(wrote, StatusCode::BadUserAccessDenied);
    round.close().await;
    through.close().await;
    let sim = range.shutdown().await.unwrap();
    assert_eq!(sim.snapshot().plcs[sim.scenario().plc(PLC).unwrap().ix()].memory.holding[0], 3200);
}

/// Clients that break their OPC UA connections (a fuzz of bad hellos and channels) do not
/// flood the program's log: the stack's per-connection errors stay out of it (each such
/// connection is in the team's log), and the range keeps serving.
#[test]
fn broken_opc_ua_connections_do_not_flood_the_log() {
    use std::io::{Read as _, Write as _};
    let dir = tempfile_dir("opcua-log");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("stderr.log");
    let stderr = std::fs::File::create(&log).unwrap();
    let args = ["serve", "equipment-welding-line", "--modbus-port", "0", "--http-port", "0", "--data-dir"];
    let (served, banner, _) =
        crate::util::spawn_served_with(&[&args[..], &[dir.to_str().unwrap()]].concat(), None, |c| {
            c.stderr(stderr);
        });
    let port: u16 = banner
        .iter()
        .find_map(|l| l.split("opc.tcp://").nth(1))
        .and_then(|t| t.split(':').nth(1))
        .and_then(|t| t.trim_end_matches(|c: char| !c.is_ascii_digit()).parse().ok())
        .expect("an OPC UA endpoint in the banner");
    for case in 0..40u8 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let bytes: Vec<u8> = match case % 3 {
            0 => [b"HELF".as_slice(), &40u32.to_le_bytes(), &[case; 32]].concat(),
            1 => [b"OPNF".as_slice(), &40u32.to_le_bytes(), &[case; 32]].concat(),
            _ => [b"MSGF".as_slice(), &16u32.to_le_bytes(), &[case; 8]].concat(),
        };
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    // Still serving: a Modbus-free check that the process answers its web view.
    assert!(banner.iter().any(|l| l.contains("Press Ctrl-C")));
    drop(served);
    let text = std::fs::read_to_string(&log).unwrap();
    let errors = text.lines().filter(|l| l.contains("ERROR")).count();
    assert!(errors == 0, "{errors} error lines for 40 broken connections:\n{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
