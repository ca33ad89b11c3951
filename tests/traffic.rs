//! Routine traffic: operator stations, historians and engineering workstations at work on the
//! control network, deterministic from the seed, counted in the log, and judged against the
//! network and the PLCs as they are at each tick.

use std::collections::BTreeMap;
use std::sync::Arc;

use icsdrill_engine::input::ModbusTransaction;
use icsdrill_engine::{EventKind, Scenario, Sim, SimEvent, SimInput};

use crate::util::{builtin, run};

/// Routine requests by (source, PLC, function): (sent, failed).
fn routine(events: &[SimEvent]) -> BTreeMap<(String, String, u8), (u64, u64)> {
    let mut out: BTreeMap<(String, String, u8), (u64, u64)> = BTreeMap::new();
    for e in events {
        if let EventKind::RoutineTraffic { entries } = &e.kind {
            for c in entries {
                let k = (c.source.clone(), c.plc.clone(), c.function.unwrap_or(0));
                let v = out.entry(k).or_default();
                v.0 += u64::from(c.count);
                v.1 += u64::from(c.exceptions);
            }
        }
    }
    out
}

/// Requests sent by `source` with `function`, to any PLC.
fn sent(map: &BTreeMap<(String, String, u8), (u64, u64)>, source: &str, function: u8) -> u64 {
    map.iter().filter(|((s, _, f), _)| s == source && *f == function).map(|(_, v)| v.0).sum()
}

#[test]
fn the_hmi_polls_every_second_the_historian_every_five_and_the_ews_opens_sessions() {
    let s = Arc::new(builtin("petrochem-tank-farm").without_attack());
    let sim = run(&s, 1, 3600.0, &[]);
    let map = routine(sim.events());
    // The operator station reads every table of each of the four PLCs it supervises, once a
    // second: 3590 or 3591 polls of each block up to the last count (tick 35 900), by phase.
    let plcs: std::collections::BTreeSet<&str> =
        map.keys().filter(|(s, _, _)| s == "hmi-01").map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(plcs.len(), 4, "{plcs:?}");
    for ((source, plc, function), (n, failed)) in &map {
        assert_eq!(*failed, 0, "{source} -> {plc} FC {function}: nothing fails on a quiet plant");
        if source == "hmi-01" {
            assert!(
                n % 3590 == 0 || n % 3591 == 0,
                "{plc} FC {function}: {n} is not a whole number of blocks a second"
            );
        }
    }
    // The historian reads the same input registers every 5 s.
    let t101 = |source: &str| map[&(source.to_string(), "plc-t101".to_string(), 4)].0 as f64;
    let (hist, hmi) = (t101("hist-01"), t101("hmi-01"));
    assert!((hist * 5.0 / hmi - 1.0).abs() < 0.01, "historian {hist}, operator station {hmi}");
    // Engineering sessions: identification and a set-point read, every twenty minutes or so.
    let sessions = sent(&map, "ews-01", 43);
    assert!((1..=10).contains(&sessions), "{sessions} sessions in an hour");
    assert!(sent(&map, "ews-01", 3) >= sessions);
    // Office PCs make no control-network traffic.
    assert_eq!(map.keys().filter(|(s, _, _)| s == "it-ws-01").count(), 0);
}

#[test]
fn a_quiet_hour_of_every_library_plant_is_almost_all_routine() {
    for b in icsdrill_scenarios::LIBRARY {
        let s = Arc::new(builtin(b.id).without_attack());
        let sim = run(&s, 1, 3600.0, &[]);
        let routine: u64 = routine(sim.events()).values().map(|v| v.0).sum();
        let other: u64 = sim
            .events()
            .iter()
            .map(|e| match &e.kind {
                EventKind::ModbusTransaction(ModbusTransaction { repeat, .. }) => u64::from(*repeat),
                EventKind::TrafficSummary { entries } => entries.iter().map(|c| u64::from(c.count)).sum(),
                _ => 0,
            })
            .sum();
        let share = routine as f64 / (routine + other) as f64;
        assert!(
            share >= 0.95,
            "{}: routine traffic is {:.1} % of {} requests",
            b.id,
            100.0 * share,
            routine + other
        );
    }
}

#[test]
fn polls_fail_while_the_network_or_the_plc_refuses_them() {
    let s = Arc::new(builtin("petrochem-tank-farm").without_attack());
    let mut sim = Sim::new(s.clone(), 1);
    sim.run_until(1000, &[]);
    sim.step([SimInput::IsolateHost { host: "hmi-01".into() }]);
    sim.run_until(1500, &[]);
    sim.step([SimInput::RestoreHost { host: "hmi-01".into() }]);
    sim.run_until(2000, &[]);
    let windows: Vec<(u64, u64, u64)> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::RoutineTraffic { entries } => {
                let hmi = entries.iter().filter(|c| c.source == "hmi-01");
                let (n, failed) =
                    hmi.fold((0, 0), |(n, f), c| (n + u64::from(c.count), f + u64::from(c.exceptions)));
                Some((e.tick, n, failed))
            }
            _ => None,
        })
        .collect();
    let at =
        |tick: u64| windows.iter().find(|w| w.0 == tick).copied().unwrap_or_else(|| panic!("{windows:?}"));
    assert_eq!(at(900).2, 0, "before: every poll answered");
    let cut = at(1400);
    assert!(cut.1 > 0 && cut.2 == cut.1, "isolated: every poll fails ({cut:?})");
    assert_eq!(at(1900).2, 0, "reconnected: answered again");
}

#[test]
fn routine_traffic_is_the_same_for_the_same_seed_and_shifts_with_another() {
    let s = Arc::new(builtin("power-drum-boiler").without_attack());
    let a = run(&s, 3, 7200.0, &[]);
    let b = run(&s, 3, 7200.0, &[]);
    assert_eq!(a.events_jsonl(), b.events_jsonl());
    let c = run(&s, 4, 7200.0, &[]);
    // When the engineering sessions happen (the windows they fall in).
    let sessions = |sim: &Sim| -> Vec<u64> {
        sim.events()
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::RoutineTraffic { entries } if entries.iter().any(|c| c.function == Some(43))))
            .map(|e| e.tick)
            .collect()
    };
    assert!(sessions(&a).len() >= 2, "{:?}", sessions(&a));
    assert_ne!(sessions(&a), sessions(&c), "another seed, other session times");
}

/// The tank farm with `traffic` as its `traffic:` section.
fn with_traffic(traffic: &str) -> Result<Scenario, String> {
    let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
    let yaml = format!("{}\ntraffic:\n{traffic}\n", b.source);
    Scenario::from_yaml("traffic.yaml", &yaml).map_err(|e| e.to_string())
}

#[test]
fn the_traffic_section_overrides_the_defaults_host_by_host() {
    let s = Arc::new(
        with_traffic(
            "  - { host: hmi-01, poll_s: 2, plcs: [plc-t101] }\n  - { host: hist-01, off: true }\n  - { host: ews-01, session_every_s: 120 }",
        )
        .unwrap()
        .without_attack(),
    );
    let map = routine(run(&s, 1, 1200.0, &[]).events());
    let hmi: Vec<&String> = map.keys().filter(|(s, _, _)| s == "hmi-01").map(|(_, p, _)| p).collect();
    assert!(hmi.iter().all(|p| *p == "plc-t101") && !hmi.is_empty(), "{hmi:?}");
    assert!((590..=610).contains(&sent(&map, "hmi-01", 4)), "every 2 s: {map:?}");
    assert_eq!(sent(&map, "hist-01", 4), 0);
    assert!(sent(&map, "ews-01", 43) >= 4, "{map:?}");
    for (bad, want) in [
        ("  - { host: nobody }", "unknown host `nobody`"),
        ("  - { host: hmi-01, poll_s: 0.01 }", "poll_s 0.01 is out of range"),
        ("  - { host: hmi-01 }\n  - { host: hmi-01 }", "two traffic entries"),
        ("  - { host: hmi-01, plcs: [plc-x] }", "unknown PLC `plc-x`"),
        ("  - { host: hmi-01, poll: 1 }", "unknown field `poll`"),
    ] {
        let err = with_traffic(bad).unwrap_err();
        assert!(err.contains(want), "{bad}: {err}");
    }
}

/// Established TCP connections to `to` from `source` (as `ss` lists them). The address counts
/// as well as the port: another test's range may serve the same port number at another
/// loopback address, to clients of the same host addresses.
pub(crate) fn connections_from(source: std::net::IpAddr, to: std::net::SocketAddr) -> usize {
    let port = to.port();
    let out = std::process::Command::new("ss")
        .args(["-Htn", "state", "established", &format!("( dport = :{port} )")])
        .output()
        .expect("ss runs");
    let (from, to) = (format!("{source}:"), to.to_string());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.iter().any(|c| c.starts_with(&from)) && cols.contains(&to.as_str())
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_range_puts_routine_traffic_on_the_wire_from_each_hosts_address_and_logs_it_once() {
    let s = Arc::new(builtin("petrochem-tank-farm").without_attack());
    let range = crate::modbus::start(s.clone(), |_| {}).await;
    let t101 = crate::modbus::endpoint(&range, "plc-t101");
    let address = |host: &str| -> std::net::IpAddr {
        std::net::Ipv4Addr::new(127, 0, 0, 200 + s.host(host).unwrap().ix() as u8).into()
    };
    // The operator station and the historian connect from their own loopback addresses.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = (0, 0);
    while std::time::Instant::now() < deadline {
        seen = (connections_from(address("hmi-01"), t101), connections_from(address("hist-01"), t101));
        if seen.0 > 0 && seen.1 > 0 {
            break;
        }
        range.live.wait_for_tick(range.live.snapshot().tick + 5).await;
    }
    assert!(seen.0 == 1 && seen.1 == 1, "one connection each from the HMI and the historian: {seen:?}");
    // The simulation counts them; the endpoints do not record them a second time.
    let counted = crate::util::wait_for_event(&range.live, std::time::Duration::from_secs(10), |e| {
        matches!(&e.kind, EventKind::RoutineTraffic { entries } if entries.iter().any(|c| c.source == "hmi-01" && c.exceptions == 0))
    })
    .await;
    assert!(counted, "routine traffic is in the log");
    let twice = range.live.events_since(0, 10, |e| match &e.kind {
        EventKind::ModbusTransaction(ModbusTransaction { source, .. })
        | EventKind::ModbusConnection { source, .. } => source == "hmi-01" || source == "hist-01",
        _ => false,
    });
    assert!(twice.is_empty(), "routine requests recorded twice: {twice:?}");
    range.shutdown().await.expect("the range stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_writes_go_on_the_wire_from_their_host_and_apply_once() {
    // The operator's T-102 set-point change, moved to the second second; the operator station
    // polls nothing, so its only connection to T-102 is the write's.
    let mut s = builtin("petrochem-tank-farm").without_attack();
    let hmi = s.host("hmi-01").unwrap();
    s.traffic.retain(|r| r.host != hmi);
    s.background.truncate(1);
    s.background[0].tick = 2 * u64::from(s.tick_hz);
    let s = Arc::new(s);
    let range = crate::modbus::start(s.clone(), |_| {}).await;
    let t102 = crate::modbus::endpoint(&range, "plc-t102");
    let from = std::net::IpAddr::from(std::net::Ipv4Addr::new(127, 0, 0, 200 + hmi.ix() as u8));
    let written = crate::util::wait_for_event(&range.live, std::time::Duration::from_secs(10), |e| {
        matches!(&e.kind, EventKind::ModbusTransaction(ModbusTransaction { source, plc, function: 6, .. }) if source == "hmi-01" && plc == "plc-t102")
    })
    .await;
    assert!(written, "the set-point change is in the log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while connections_from(from, t102) == 0 && std::time::Instant::now() < deadline {
        range.live.wait_for_tick(range.live.snapshot().tick + 5).await;
    }
    assert_eq!(connections_from(from, t102), 1, "the write went out from the operator station");
    // Five more seconds: the endpoint answered the write without applying it again.
    range.live.wait_for_tick(range.live.snapshot().tick + 5 * u64::from(s.tick_hz)).await;
    let writes = range.live.events_since(
        0,
        10,
        |e| matches!(&e.kind, EventKind::ModbusTransaction(ModbusTransaction { source, function: 6, .. }) if source == "hmi-01"),
    );
    assert_eq!(writes.len(), 1, "{writes:?}");
    let mut c = crate::modbus::Client::connect(t102).await;
    assert_eq!(crate::modbus::read_holding(&mut c, 1, 1).await, [720]);
    range.shutdown().await.expect("the range stops");
}

/// A tank PLC behind a conduit with a rule table: the operator station may read and write the
/// level set point within its range, the engineering workstation anything; the office PC on
/// the same network nothing.
fn ruled_plant() -> Arc<Scenario> {
    let yaml = r#"
id: rules
meta: { industry: other, level: 2, title: Rules, brief: A conduit with a rule table }
network:
  zones:
    - { id: sup, name: Supervisory, level: supervisory }
    - { id: ctl, name: Control, level: control }
  conduits:
    - id: c1
      from: sup
      to: ctl
      rules:
        - { source: hmi, functions: [1, 2, 3, 4, 6, 16], plc: plc1, start: 0, end: 1, min: 100, max: 800 }
        - { source: ews }
  hosts:
    - { id: hmi, name: HMI, role: hmi, zone: sup }
    - { id: ews, name: EWS, role: ews, zone: sup }
    - { id: office, name: Office PC, role: it_workstation, zone: sup }
process:
  model: lumped
  variables:
    - { id: level, name: Level, unit: "%", initial: 50, bounds: [0, 100], terms: [{ gain: 0.1, of: [inlet] }, { gain: -0.05 }] }
  actuators:
    - { id: inlet, name: Inlet, kind: binary, stroke_s: 0, initial: 1, fail: 0 }
  sensors:
    - { id: lt, name: Level, var: level, range: [0, 100] }
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: { vendor: V, product: P, revision: "1" }
    coils:
      - { id: run, addr: 0, name: Run }
    input_registers:
      - { id: level_ir, addr: 0, name: Level, sensor: lt, scale: 10 }
    holding_registers:
      - { id: sp_low, addr: 0, name: Low, initial: 40, scale: 10, range: [10, 80] }
      - { id: sp_high, addr: 1, name: High, initial: 60, scale: 10, range: [20, 90] }
    logic:
      - on_off: { id: fill, pv: lt, low: sp_low, high: sp_high, output: inlet, action: fill }
"#;
    Arc::new(Scenario::from_yaml("rules.yaml", yaml).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn a_rule_table_admits_the_hmis_writes_and_blocks_the_same_write_from_the_office() {
    use icsdrill_engine::RejectReason;
    let mut sim = Sim::new(ruled_plant(), 1);
    let write =
        |from: &str, addr: u16, value: u16| SimInput::write_registers("plc1", from, addr, vec![value]);
    let coil = |from: &str| SimInput::write_coils("plc1", from, 0, vec![true]);
    assert_eq!(sim.step_outcomes([write("hmi", 0, 450)]), [Ok(())], "the operator's set-point change passes");
    assert_eq!(sim.step_outcomes([write("office", 0, 450)]), [Err(RejectReason::SourceNotAllowed)]);
    assert_eq!(sim.step_outcomes([write("hmi", 0, 900)]), [Err(RejectReason::ValueNotAllowed)]);
    assert_eq!(sim.step_outcomes([write("hmi", 5, 450)]), [Err(RejectReason::AddressNotAllowed)]);
    assert_eq!(sim.step_outcomes([coil("hmi")]), [Err(RejectReason::FunctionNotAllowed)]);
    assert_eq!(sim.step_outcomes([coil("ews"), write("ews", 1, 900)]), [Ok(()), Ok(())]);
    // Routine traffic keeps to the rules too: the operator station polls what its rule lets
    // it (input and holding registers, coils), the office PC makes none.
    sim.run_until(300, &[]);
    let map = routine(sim.events());
    assert!(map.values().all(|(_, failed)| *failed == 0), "{map:?}");
    assert!(sent(&map, "hmi", 4) > 0 && sent(&map, "hmi", 1) > 0);
}

#[test]
fn rules_are_validated_where_they_stand() {
    let plant = |rule: &str| {
        let yaml = format!(
            "id: r\nmeta: {{ industry: other, level: 1, title: R, brief: R }}\nnetwork:\n  zones:\n    - {{ id: a, name: A, level: supervisory }}\n    - {{ id: b, name: B, level: control }}\n  conduits:\n    - {{ id: c, from: a, to: b, rules: [{rule}] }}\n  hosts:\n    - {{ id: h, name: H, role: hmi, zone: a }}\nprocess:\n  model: lumped\n  variables: []\nplcs: []\n"
        );
        Scenario::from_yaml("r.yaml", &yaml).map(|_| ()).map_err(|e| e.to_string())
    };
    for (rule, want) in [
        ("{ source: nobody }", "unknown host `nobody`"),
        ("{ functions: [200] }", "function code 200 is out of range"),
        ("{ start: 10, end: 5 }", "end address 5 is below start address 10"),
        ("{ min: 9, max: 1 }", "max 1 is below min 9"),
        ("{ port: 502 }", "unknown field `port`"),
    ] {
        let err = plant(rule).unwrap_err();
        assert!(err.contains(want), "{rule}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plc_that_stops_answering_delays_only_its_own_polls() {
    use icsdrill::runtime::routine::{OwnClients, ROUTINE_QUEUE, Wire, run};
    use icsdrill_engine::scenario::{HostIdx, PlcIdx};
    use icsdrill_engine::systems::routine::RoutineRequest;
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // PLC 0 accepts connections and never answers; PLC 1 answers every read.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let talker = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoints = vec![silent.local_addr().unwrap(), talker.local_addr().unwrap()];
    let held = tokio::spawn(async move {
        let (s, _) = silent.accept().await.unwrap();
        std::future::pending::<()>().await;
        drop(s);
    });
    let answered = Arc::new(AtomicU64::new(0));
    let count = answered.clone();
    let responder = tokio::spawn(async move {
        let (mut s, _) = talker.accept().await.unwrap();
        let mut req = [0u8; 12];
        while s.read_exact(&mut req).await.is_ok() {
            // FC 4, one register: transaction id echoed, length 5, unit, function, 2 bytes, 0.
            let answer = [req[0], req[1], 0, 0, 0, 5, req[6], 4, 2, 0, 0];
            s.write_all(&answer).await.unwrap();
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    let wire = Arc::new(Wire {
        endpoints,
        units: vec![1, 1],
        stations: vec![None, None],
        servers: vec![None, None],
        bits: Vec::new(),
        hosts: [(HostIdx(0), "127.0.0.1".parse().unwrap())].into_iter().collect(),
        peers: Arc::new(OwnClients::default()),
        skipped: AtomicU64::new(0),
        loops: Vec::new(),
    });
    let (tx, rx) = tokio::sync::mpsc::channel(ROUTINE_QUEUE);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(run(rx, wire.clone(), stop));
    let poll = |plc: u32| RoutineRequest::read(HostIdx(0), PlcIdx(plc), 4, 0, 1);
    // Each tick's batch polls both; the answering PLC answers every one while the silent one
    // still holds its first poll (it waits 1.5 s for an answer).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    for i in 0..20 {
        tx.send(vec![poll(0), poll(1)]).await.unwrap();
        while answered.load(Ordering::Relaxed) <= i && tokio::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(answered.load(Ordering::Relaxed), 20, "the answering PLC waited on the silent one");
    // The silent PLC's lane holds 8 waiting polls at most: the rest were skipped, not queued.
    assert!(wire.skipped.load(Ordering::Relaxed) >= 20 - 1 - 8, "{}", wire.skipped.load(Ordering::Relaxed));
    stop_tx.send(true).unwrap();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), sender).await;
    held.abort();
    responder.abort();
}

#[test]
fn shift_changes_repeat_and_maintenance_work_is_published_and_looks_like_an_attack() {
    let s = builtin("power-drum-boiler");
    // The permit to work is published with the plant (teams see it on their console).
    let m = &s.maintenance[0];
    assert_eq!(
        (m.id.as_str(), m.host.as_str(), m.plcs.as_slice()),
        ("ptw-0412", "ews-01", &["plc-drum".to_string()][..])
    );
    let s = Arc::new(s.without_attack());
    let sim = run(&s, 1, 4300.0, &[]);
    let hz = u64::from(s.tick_hz);
    let writes = |source: &str, plc: &str| -> Vec<(u64, Vec<u16>)> {
        sim.events()
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ModbusTransaction(ModbusTransaction {
                    source: s,
                    plc: p,
                    function: 6 | 16,
                    values,
                    ..
                }) if s == source && p == plc => Some((e.tick / hz, values.clone())),
                _ => None,
            })
            .collect()
    };
    // Load following every half hour, both ways.
    assert_eq!(
        writes("hmi-01", "plc-fire"),
        [(600, vec![1650]), (1500, vec![1670]), (2400, vec![1650]), (3300, vec![1670]), (4200, vec![1650])]
    );
    // The loop check's download, once, inside its window, leaves the gains as they were...
    assert_eq!(writes("ews-01", "plc-drum"), [(1860, vec![200, 40])]);
    let drum = s.plc("plc-drum").unwrap().ix();
    assert_eq!(sim.snapshot().plcs[drum].memory.holding[1..3], [200, 40]);
    // ...and is a write the monitoring never saw from there: it alerts, as an attack would.
    let flagged = sim.events().iter().any(|e| {
        matches!(&e.kind, EventKind::IdsAlert { source, plc, .. } if source == "ews-01" && plc == "plc-drum")
            && e.tick / hz == 1860
    });
    assert!(flagged, "the maintenance write raises an alert");
}

#[test]
fn maintenance_windows_and_repeats_are_validated_where_they_stand() {
    let base = icsdrill_scenarios::builtin("power-drum-boiler").unwrap().source;
    let errors = |from: &str, to: &str| -> String {
        assert!(base.contains(from), "{from}");
        match Scenario::from_yaml("edited.yaml", &base.replacen(from, to, 1)) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    };
    assert!(errors("window: ptw-0412", "window: ptw-9999").contains("unknown maintenance window `ptw-9999`"));
    let outside = errors("  - at_s: 1860\n    from: ews-01", "  - at_s: 2500\n    from: ews-01");
    assert!(outside.contains("must come from `ews-01` within it"), "{outside}");
    let wrong_host = errors("    host: ews-01\n    from_s: 1800", "    host: hmi-01\n    from_s: 1800");
    assert!(wrong_host.contains("must come from `hmi-01` within it"), "{wrong_host}");
    let backwards = errors("to_s: 2100", "to_s: 1700");
    assert!(backwards.contains("0 <= from_s < to_s"), "{backwards}");
    assert!(errors("every_s: 1800", "every_s: 5").contains("more often than once a minute"));
    assert!(errors("window: ptw-0412", "until_s: 3000").contains("until_s needs every_s"));
}
