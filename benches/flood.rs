//! One team flooded, the other playing: a two-team drill recorded in SQLite as `icsdrill serve`
//! records it (WAL, synchronous=FULL), ticking in real time, first quiet and then with red's
//! PLCs flooded by 96 connections of distinct cheap reads from red's own network (a separate
//! process, so the flood does not share the drill's runtime). Both teams' operator stations
//! write a set point ten times a second throughout; each write is answered only once its tick
//! is on disk.
//!
//! Reports, per phase: each team's acknowledgement latency (p50, p99, max), the flood's
//! request rate, memory (RSS) and the database's growth per minute. Targets (issue 12): under
//! the flood, blue's p99 under 250 ms, RSS under 200 MiB, the database growing by less than
//! 5 MB per minute.
//!
//! `cargo bench --bench flood`; `cargo test --benches` runs a short version.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use icsdrill::drill::{DrillServer, DrillSpec, in_team_net};
use icsdrill_drill::{Control, Mode};
use icsdrill_web::drill::DrillApi;

mod common;
use common::status_kib;

/// The bytes the drill database holds: its write-ahead log checkpointed into the file first,
/// so the WAL's reused space does not count as growth.
fn db_bytes(dir: &std::path::Path) -> u64 {
    let path = icsdrill::store::db_path(dir);
    if let Ok(c) = rusqlite::Connection::open(&path) {
        let _ = c.busy_timeout(Duration::from_secs(5));
        let _ = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
    std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
}

/// A blocking Modbus request: the answer's PDU, or `None` when the connection failed.
fn request(s: &mut TcpStream, tid: u16, pdu: &[u8]) -> Option<Vec<u8>> {
    let mut adu = tid.to_be_bytes().to_vec();
    adu.extend_from_slice(&[0, 0]);
    adu.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
    adu.push(1);
    adu.extend_from_slice(pdu);
    s.write_all(&adu).ok()?;
    let mut head = [0u8; 7];
    s.read_exact(&mut head).ok()?;
    let len = usize::from(u16::from_be_bytes([head[4], head[5]])).checked_sub(1)?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some(body)
}

fn connect_from(from: IpAddr, to: SocketAddr) -> Option<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    socket.bind(&SocketAddr::new(from, 0).into()).ok()?;
    socket.connect_timeout(&to.into(), Duration::from_secs(3)).ok()?;
    let s: TcpStream = socket.into();
    s.set_nodelay(true).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    Some(s)
}

/// The flood (a child process): `flood SECONDS CONNECTIONS ENDPOINT...` from team 0's
/// network; prints the requests answered.
fn flood(args: &[String]) {
    let secs: f64 = args[0].parse().unwrap();
    let conns: usize = args[1].parse().unwrap();
    let targets: Vec<SocketAddr> = args[2..].iter().map(|a| a.parse().unwrap()).collect();
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let threads: Vec<_> = (0..conns)
        .map(|i| {
            let to = targets[i % targets.len()];
            std::thread::spawn(move || {
                let from = in_team_net(IpAddr::from([127, 0, 0, (10 + i % 200) as u8]), 0);
                let mut n = 0u64;
                while Instant::now() < stop {
                    let Some(mut s) = connect_from(from, to) else { continue };
                    while Instant::now() < stop {
                        // Distinct cheap reads: start address and count change every time.
                        let k = (i as u64 + n) % 15;
                        let pdu = [0x03, 0, (k % 5) as u8, 0, (1 + k / 5) as u8];
                        if request(&mut s, n as u16, &pdu).is_none() {
                            break;
                        }
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    println!("{total}");
}

/// Latency percentiles in ms.
fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

/// A team's operator station: writes a set point every 100 ms until `stop`; the write round
/// trips, sorted, and the writes refused.
fn operator(k: usize, to: SocketAddr, stop: Instant) -> (Vec<Duration>, u32) {
    let mut s = connect_from(in_team_net(IpAddr::from([127, 0, 0, 77]), k), to)
        .expect("the operator station connects");
    let mut acks = Vec::new();
    let mut refused = 0;
    let mut next = Instant::now();
    let mut i = 0u16;
    while Instant::now() < stop {
        next += Duration::from_millis(100);
        let value = 500 + i % 50;
        let sent = Instant::now();
        match request(&mut s, i, &[0x06, 0, 0, (value >> 8) as u8, value as u8]) {
            Some(r) if r[0] == 0x06 => acks.push(sent.elapsed()),
            Some(_) => refused += 1,
            None => panic!("the operator station lost its connection"),
        }
        i = i.wrapping_add(1);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    acks.sort();
    (acks, refused)
}

struct Phase {
    name: &'static str,
    acks: Vec<(Vec<Duration>, u32)>,
    flood_req_per_s: f64,
    rss_mib: f64,
    db_mib_per_min: f64,
    summarised: u64,
}

/// The phases side by side: flood rate, each team's acknowledgement latency, memory, disk.
fn print_table(phases: &[Phase], secs: f64, conns: usize) {
    println!(
        "flood: two teams on petrochem-tank-farm (4 PLCs each), recorded in SQLite (WAL, synchronous=FULL), real time"
    );
    println!(
        "each phase {secs} s; flood: {conns} connections of distinct FC 3 reads from red's network, in a separate process"
    );
    println!(
        "{:<12} {:>12} {:>22} {:>22} {:>9} {:>14} {:>12}",
        "phase",
        "flood req/s",
        "red ack p50/p99/max",
        "blue ack p50/p99/max",
        "RSS MiB",
        "DB MiB/min",
        "summarised"
    );
    for p in phases {
        let team = |i: usize| {
            let (a, refused) = &p.acks[i];
            format!(
                "{:.0}/{:.0}/{:.0} ms{}",
                pct(a, 0.5),
                pct(a, 0.99),
                pct(a, 1.0),
                if *refused > 0 { format!(" ({refused} busy)") } else { String::new() }
            )
        };
        println!(
            "{:<12} {:>12.0} {:>22} {:>22} {:>9.0} {:>14.2} {:>12}",
            p.name,
            p.flood_req_per_s,
            team(0),
            team(1),
            p.rss_mib,
            p.db_mib_per_min,
            p.summarised
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("flood") {
        flood(&args[2..]);
        return;
    }
    let quick = !args.iter().any(|a| a == "--bench");
    let (secs, conns) = if quick { (3.0, 16) } else { (30.0, 96) };
    let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
    let scenario = Arc::new(b.load().unwrap().without_attack());
    let data = std::env::temp_dir().join(format!("icsdrill-bench-flood-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (server, endpoints) = runtime.block_on(async {
        let mut spec = DrillSpec::new(scenario, &["red", "blue"], Mode::Regional);
        spec.range.modbus_port = 0;
        spec.range.http_port = 0;
        spec.range.live_attacker = false;
        spec.no_attack = true;
        spec.database = Some(icsdrill::store::Database::Sqlite(data.clone()));
        spec.scenario_source = Some(b.source.to_string());
        let server = DrillServer::start(spec).await.expect("the drill starts");
        server.drill.control(Control::Start).unwrap();
        let endpoints: Vec<Vec<SocketAddr>> = server
            .drill
            .teams()
            .map(|(_, _, e)| e.iter().map(|e| SocketAddr::new(e.address.parse().unwrap(), e.port)).collect())
            .collect();
        (server, endpoints)
    });
    let red = server.drill.live("red").unwrap().clone();
    let mut phases = Vec::new();
    for (name, flooded) in [("quiet", false), ("red flooded", true)] {
        let (rss0, db0, sum0) = (status_kib("VmRSS:"), db_bytes(&data), red.summarised());
        let started = Instant::now();
        let stop = started + Duration::from_secs_f64(secs);
        let child = flooded.then(|| {
            let mut c = std::process::Command::new(std::env::current_exe().unwrap());
            c.arg("flood").arg(secs.to_string()).arg(conns.to_string());
            c.args(endpoints[0].iter().map(ToString::to_string));
            c.stdout(std::process::Stdio::piped()).spawn().expect("the flood starts")
        });
        let writers: Vec<_> = [0, 1]
            .into_iter()
            .map(|k| {
                let to = endpoints[k][0];
                std::thread::spawn(move || operator(k, to, stop))
            })
            .collect();
        let acks: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        let flood_total: u64 = child
            .map(|c| {
                String::from_utf8_lossy(&c.wait_with_output().unwrap().stdout).trim().parse().unwrap_or(0)
            })
            .unwrap_or(0);
        let wall = started.elapsed().as_secs_f64();
        let db = db_bytes(&data).saturating_sub(db0);
        phases.push(Phase {
            name,
            acks,
            flood_req_per_s: flood_total as f64 / wall,
            rss_mib: status_kib("VmRSS:").max(rss0) as f64 / 1024.0,
            db_mib_per_min: db as f64 / 1048576.0 * 60.0 / wall,
            summarised: red.summarised() - sum0,
        });
    }
    runtime.block_on(async { server.shutdown().await.unwrap() });
    let _ = std::fs::remove_dir_all(&data);

    print_table(&phases, secs, conns);
    let flooded = &phases[1];
    let blue_p99 = pct(&flooded.acks[1].0, 0.99);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("target blue p99 < 250 ms under red's flood: {}", verdict(blue_p99 < 250.0));
    println!("target RSS < 200 MiB: {}", verdict(flooded.rss_mib < 200.0));
    println!(
        "target database growth < 5 MB per minute of flood: {}",
        verdict(flooded.db_mib_per_min * 1.048576 < 5.0)
    );
    assert!(flooded.flood_req_per_s > 0.0 && flooded.summarised > 0, "the flood ran and was summarised");
    assert!(blue_p99 < 1000.0, "blue's acknowledgements under the flood: p99 {blue_p99:.0} ms");
    assert_eq!(flooded.acks[1].1, 0, "blue's writes were never refused");
}
