//! A big live drill in one process: 50 teams x 20 PLCs (1000 Modbus endpoints) ticking in
//! real time, 500 scoreboard subscribers on server-sent events, and score changes arriving
//! (incident reports over the HTTP API). Reports memory (RSS), CPU (cores busy) and the delay
//! from a score change (computed on a team's sim thread) to its arrival at each subscriber:
//! p50, p99, max. Target (issue 5): p99 under 100 ms.
//!
//! `cargo bench --bench drill`; `cargo test --benches` runs a small quick version.
//! `ICSDRILL_BENCH_TEAMS=N` sets the number of teams; `ICSDRILL_BENCH_POSTGRES=<connection>`
//! records to that PostgreSQL database instead of SQLite and reports what it saw during the
//! run: transactions, rows written and WAL bytes a second, in all and per team.

use std::sync::Arc;
use std::time::{Duration, Instant};

use icsdrill::drill::{DrillServer, DrillSpec};
use icsdrill_drill::{Control, Mode};
use icsdrill_engine::Scenario;
use icsdrill_web::drill::DrillApi;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

mod common;
use common::{cpu_s, status_kib};

/// One SSE subscriber: returns the delays (us) of the score changes it saw.
/// Follows the scoreboard stream until `stop`; `ready` is told once the first board came.
async fn subscribe(
    addr: std::net::SocketAddr,
    token: String,
    epoch: Instant,
    stop: Instant,
    ready: tokio::sync::mpsc::Sender<()>,
) -> Vec<u64> {
    let mut ready = Some(ready);
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "GET /api/scoreboard/stream HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("request");
    let mut lines = BufReader::new(s).lines();
    let mut last = 0;
    let mut delays = Vec::new();
    loop {
        let left = stop.saturating_duration_since(Instant::now());
        let Ok(Ok(Some(line))) = tokio::time::timeout(left, lines.next_line()).await else { break };
        let Some(data) = line.strip_prefix("data: ") else { continue };
        if let Some(r) = ready.take() {
            let _ = r.try_send(());
        }
        let now = epoch.elapsed().as_micros() as u64;
        // Only the one number is needed: find it rather than parse the whole board, so the
        // clients (on the same cores) add little to the delay they measure.
        let Some(at) = data.find("\"changed_us\":") else { continue };
        let digits: String = data[at + 13..].chars().take_while(char::is_ascii_digit).collect();
        let changed: u64 = digits.parse().unwrap_or(0);
        if changed > last {
            if last != 0 {
                delays.push(now.saturating_sub(changed));
            }
            last = changed;
        }
    }
    delays
}

async fn post(addr: std::net::SocketAddr, path: &str, token: &str, body: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect(addr).await else { return 0 };
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return 0;
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    String::from_utf8_lossy(&raw).get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// The teams (`ICSDRILL_BENCH_TEAMS`, else `teams`) and the PostgreSQL database to record to
/// (`ICSDRILL_BENCH_POSTGRES`, else SQLite).
fn bench_options(teams: usize) -> (usize, Option<String>) {
    let var = |name: &str| std::env::var(name).ok();
    (
        var("ICSDRILL_BENCH_TEAMS").and_then(|t| t.parse().ok()).unwrap_or(teams),
        var("ICSDRILL_BENCH_POSTGRES"),
    )
}

/// Transactions committed, rows inserted, rows updated, WAL position in bytes.
type Counters = (i64, i64, i64, i64);

/// PostgreSQL's counters for the current database: (transactions committed, rows inserted,
/// rows updated, WAL position in bytes). Read from a plain thread (the client is blocking).
fn pg_counters(conn: &str) -> Counters {
    let conn = conn.to_string();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&conn, postgres::NoTls).expect("PostgreSQL answers");
        // Statistics reach the shared counters when each backend reports (at most 1 s late).
        let row = c
            .query_one(
                "SELECT xact_commit, tup_inserted, tup_updated,
                        pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint
                 FROM pg_stat_database WHERE datname = current_database()",
                &[],
            )
            .expect("counters");
        (row.get(0), row.get(1), row.get(2), row.get(3))
    })
    .join()
    .expect("the counter thread")
}

/// Prints how the drill was recorded (the SQLite files in `data`) and, on PostgreSQL, what the
/// database saw (`db`: its counters before and after the run, `wall` seconds apart).
fn recording(
    record: bool,
    postgres: bool,
    data: &std::path::Path,
    db: Option<(Counters, Counters)>,
    (wall, teams): (f64, usize),
) {
    let files = std::fs::read_dir(data).into_iter().flatten().filter_map(|e| e.ok()?.metadata().ok());
    let db_size: u64 = files.map(|m| m.len()).sum();
    println!(
        "recording: {}",
        match (record, postgres) {
            (false, _) => "off".into(),
            (true, true) => "PostgreSQL".to_string(),
            (true, false) =>
                format!("SQLite, WAL, synchronous=FULL ({:.1} MiB written)", db_size as f64 / 1048576.0),
        }
    );
    if let Some((a, b)) = db {
        let per_s = |x: i64, y: i64| (y - x) as f64 / wall;
        let (tx, rows, updates, wal) = (per_s(a.0, b.0), per_s(a.1, b.1), per_s(a.2, b.2), per_s(a.3, b.3));
        println!(
            "database load: {tx:.0} transactions/s, {rows:.0} rows inserted/s, {updates:.0} rows updated/s, {:.2} MiB WAL/s; per team: {:.1} transactions/s, {:.0} rows/s, {:.1} KiB WAL/s",
            wal / 1_048_576.0,
            tx / teams as f64,
            (rows + updates) / teams as f64,
            wal / 1024.0 / teams as f64
        );
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    // As `icsdrill serve` runs a drill: every input and event recorded in SQLite (WAL, FULL
    // sync), actions answered once on disk. `ICSDRILL_BENCH_NO_STORE=1` measures without.
    let record = std::env::var_os("ICSDRILL_BENCH_NO_STORE").is_none();
    let quick = !std::env::args().any(|a| a == "--bench");
    let (teams, plcs, subscribers, seconds) = if quick { (5, 20, 50, 3.0) } else { (50, 20, 500, 20.0) };
    let (teams, postgres) = bench_options(teams);
    let yaml = icsdrill_scenarios::synthetic_yaml(plcs);
    let scenario = Arc::new(Scenario::from_yaml("synthetic", &yaml).unwrap_or_else(|e| panic!("{e}")));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let ids: Vec<String> = (0..teams).map(|i| format!("team-{i:02}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut spec = DrillSpec::new(scenario.clone(), &refs, Mode::Contest);
        spec.range.modbus_port = 0;
        spec.range.http_port = 0;
        let data = std::env::temp_dir().join(format!("icsdrill-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        if record {
            let sqlite = || icsdrill::store::Database::Sqlite(data.clone());
            spec.database = Some(postgres.clone().map_or_else(sqlite, icsdrill::store::Database::Postgres));
            spec.scenario_source = Some(yaml.clone());
        }
        let rss_before = status_kib("VmRSS:");
        let started = Instant::now();
        let server = DrillServer::start(spec).await.expect("drill starts");
        let setup = started.elapsed();
        let drill = server.drill.clone();
        drill.control(Control::Start).expect("start");
        let endpoints: usize = drill.teams().map(|(_, _, e)| e.len()).sum();
        let tokens: Vec<(String, String)> = drill.teams().map(|(t, k, _)| (t.id.clone(), k.to_string())).collect();
        let addr = server.http;
        let epoch = drill.epoch();
        let stop = Instant::now() + Duration::from_secs_f64(seconds + 1.0);
        let (ready, mut readied) = tokio::sync::mpsc::channel(subscribers.max(1));
        let subs: Vec<_> = (0..subscribers)
            .map(|_| tokio::spawn(subscribe(addr, drill.observer_token().to_string(), epoch, stop, ready.clone())))
            .collect();
        drop(ready);
        // Every subscriber has its first board (or has given up) before the clock starts.
        for _ in 0..subscribers {
            if tokio::time::timeout(Duration::from_secs(30), readied.recv()).await.ok().flatten().is_none() {
                break;
            }
        }
        let db0 = postgres.as_deref().filter(|_| record).map(pg_counters);
        let (cpu0, wall0) = (cpu_s(), Instant::now());
        // Score changes: a report to one team after another, 10 per second. The synthetic
        // plant has no attack, so each is a false positive and costs points: the score moves.
        let mut sent = 0;
        let mut ok = 0;
        let mut pace = tokio::time::interval(Duration::from_millis(100));
        let body = r#"{"technique":"T0836","asset":"plc-0","impact":"test","actions":"none"}"#;
        while wall0.elapsed().as_secs_f64() < seconds {
            pace.tick().await;
            let (team, token) = &tokens[sent % tokens.len()];
            if post(addr, &format!("/api/teams/{team}/reports"), token, body).await == 200 {
                ok += 1;
            }
            sent += 1;
        }
        let (cpu, wall) = (cpu_s() - cpu0, wall0.elapsed().as_secs_f64());
        let db1 = postgres.as_deref().filter(|_| record).map(pg_counters);
        let rss = status_kib("VmRSS:");
        let mut delays = Vec::new();
        let mut quiet = 0;
        for s in subs {
            let d = s.await.expect("subscriber");
            if d.is_empty() {
                quiet += 1;
            }
            delays.extend(d);
        }
        delays.sort_unstable();
        let ticks: Vec<u64> = drill.teams().map(|(t, _, _)| drill.live(&t.id).unwrap().snapshot().tick).collect();
        let board = drill.scoreboard(true).borrow().clone();
        server.shutdown().await.expect("shutdown");

        let p99 = percentile(&delays, 0.99);
        println!("drill: {teams} teams x {plcs} PLCs = {endpoints} Modbus endpoints, {subscribers} scoreboard subscribers, {seconds} s");
        recording(record, postgres.is_some(), &data, db0.zip(db1), (wall, teams));
        let _ = std::fs::remove_dir_all(&data);
        println!("setup {:.2} s; ticks per team after the run: min {} max {}", setup.as_secs_f64(), ticks.iter().min().unwrap(), ticks.iter().max().unwrap());
        println!("reports sent {sent} (accepted {ok}); scoreboard seq {}", board.seq);
        println!("memory: RSS {:.0} MiB (before the drill {:.0} MiB)", rss as f64 / 1024.0, rss_before as f64 / 1024.0);
        println!("CPU: {:.2} cores busy on average ({cpu:.1} CPU s in {wall:.1} s)", cpu / wall);
        println!(
            "score change -> subscriber delay over {} deliveries: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} subscribers saw none)",
            delays.len(),
            percentile(&delays, 0.5),
            p99,
            percentile(&delays, 1.0),
            quiet
        );
        let verdict = if p99 < 100.0 { "met" } else { "MISSED" };
        println!("target p99 < 100 ms: {verdict}");
        assert!(ok > 0 && !delays.is_empty(), "score changes reached subscribers");
        assert_eq!(quiet, 0, "every subscriber saw score changes");
    });
}
