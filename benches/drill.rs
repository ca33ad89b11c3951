//! A big live drill in one process: by default 50 teams x 20 PLCs (1000 Modbus endpoints)
//! ticking in real time, 500 scoreboard viewers on server-sent events, and score changes
//! arriving (incident reports over the HTTP API). Reports readiness (the drill's setup time),
//! memory (RSS), CPU (cores busy, idle and while scores change) and the delay from a score
//! change (computed by a team's simulation job) to its arrival at each viewer: p50, p99, max.
//! Targets: p99 under 100 ms (issue 5); at 500 teams, ready under 2 s, RSS under 500 MB, an
//! idle drill under one core and p99 under 50 ms for 5 000 viewers (issue 17).
//!
//! The viewers run in a second process (this bench started again with `ICSDRILL_BENCH_VIEWER`),
//! so the drill's own figures are the server's alone and both sides have their own open-files
//! limit.
//!
//! `cargo bench --bench drill`; `cargo test --benches` runs a small quick version.
//! - `ICSDRILL_BENCH_TEAMS=N`, `ICSDRILL_BENCH_VIEWERS=N`: teams and viewers;
//! - `ICSDRILL_BENCH_TEAM_CONNECTIONS=N`: Modbus connections per team (`serve
//!   --team-connections`), so that 500 teams x 20 PLCs and 5 000 viewers fit an open-files
//!   limit of 20 000;
//! - `ICSDRILL_BENCH_BURST=1`: every 5 s, every team's score changes at once (as when an
//!   attack step fires in every range in the same tick), besides one change every 100 ms;
//! - `ICSDRILL_BENCH_NO_ROUTINE_WIRE=1`: the HMI's routine polls only logged, not sent (each
//!   is a client and a server descriptor in this process: 20 000 more at 500 teams);
//! - `ICSDRILL_BENCH_POSTGRES=<connection>` records to that PostgreSQL database instead of
//!   SQLite and reports what it saw during the run: transactions, rows written and WAL bytes a
//!   second, in all and per team.

use std::sync::Arc;
use std::time::{Duration, Instant};

use icsdrill::drill::{DrillServer, DrillSpec};
use icsdrill_drill::board::Scoreboard;
use icsdrill_drill::{Control, Mode};
use icsdrill_engine::Scenario;
use icsdrill_web::drill::DrillApi;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

mod common;
mod fanout_floor;
use common::{cpu_s, cpu_s_of, status_kib};

/// Microseconds since the Unix epoch (the two processes share the wall clock).
fn unix_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// One SSE viewer: returns the delays (us) of the score changes it saw and how many whole
/// boards came after the first (the rest were deltas). Follows the
/// scoreboard stream until `stop`; `ready` is told once the first board came. `epoch_us` is
/// the drill's epoch on the wall clock (`changed_us` counts from it).
async fn subscribe(
    addr: std::net::SocketAddr,
    token: String,
    epoch_us: u64,
    mut stop: tokio::sync::watch::Receiver<bool>,
    (ready, connecting): (tokio::sync::mpsc::Sender<()>, Arc<tokio::sync::Semaphore>),
) -> (Vec<u64>, usize) {
    let mut ready = Some(ready);
    // A few hundred connect at a time, as viewers arrive over a minute rather than in one
    // burst: 5 000 at once overflow the listen backlog, and the kernel's SYN retries then
    // stretch the start by tens of seconds.
    let mut permit = Some(connecting.acquire_owned().await.expect("never closed"));
    let Ok(mut s) = TcpStream::connect(addr).await else { return (Vec::new(), 0) };
    let req = format!(
        "GET /api/scoreboard/stream HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return (Vec::new(), 0);
    }
    // Raw reads into one buffer, events cut at their blank line: a viewer as lean as it can
    // be, since it shares the cores with the drill whose delay it measures.
    let (mut buf, mut chunk, mut scanned) = (Vec::with_capacity(8192), vec![0u8; 16384], 0);
    let (mut last, mut wholes) = (0, 0);
    let mut delays = Vec::new();
    // One wait for the stop for the whole stream, not one a read.
    let stopped = stop.wait_for(|s| *s);
    tokio::pin!(stopped);
    loop {
        // The stop first: what is read after it (while the process winds down) is not a delay
        // of the drill's.
        let n = tokio::select! {
            biased;
            _ = &mut stopped => break,
            r = s.read(&mut chunk) => match r { Ok(n) if n > 0 => n, _ => break },
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        while let Some(end) = find(&buf[scanned.max(start)..], b"\n\n").map(|e| e + scanned.max(start)) {
            let event = &buf[start..end];
            start = end + 2;
            if find(event, b"data: ").is_none() {
                continue;
            }
            if let Some(r) = ready.take() {
                let _ = r.try_send(());
                drop(permit.take());
            } else if find(event, b"event: scoreboard\n").is_some() {
                wholes += 1;
            }
            let now = unix_us().saturating_sub(epoch_us);
            let Some(at) = find(event, b"\"changed_us\":") else { continue };
            let digits = event[at + 13..].iter().take_while(|b| b.is_ascii_digit());
            let changed = digits.fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            if changed > last {
                if last != 0 {
                    delays.push(now.saturating_sub(changed));
                }
                last = changed;
            }
        }
        buf.drain(..start);
        scanned = buf.len().saturating_sub(1);
    }
    (delays, wholes)
}

/// Where `needle` first stands in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The viewers' process: `ICSDRILL_BENCH_VIEWER="ADDR TOKEN N EPOCH_US"`. Prints `ready K` once
/// K viewers have their first board, then follows the streams until its standard input closes
/// and prints `result DELIVERIES P50_MS P99_MS MAX_MS QUIET`.
fn viewers(spec: &str) {
    let f: Vec<&str> = spec.split_whitespace().collect();
    let addr: std::net::SocketAddr = f[0].parse().expect("address");
    let (token, n, epoch_us) =
        (f[1].to_string(), f[2].parse().expect("viewers"), f[3].parse().expect("epoch"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        std::thread::spawn(move || {
            // The drill process closes our standard input when it is done.
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            let _ = stop_tx.send(true);
        });
        let (ready, mut readied) = tokio::sync::mpsc::channel(n);
        let connecting = Arc::new(tokio::sync::Semaphore::new(256));
        let subs: Vec<_> = (0..n)
            .map(|_| {
                let ready = (ready.clone(), connecting.clone());
                tokio::spawn(subscribe(addr, token.clone(), epoch_us, stop.clone(), ready))
            })
            .collect();
        drop(ready);
        let mut k = 0;
        while k < n
            && tokio::time::timeout(Duration::from_secs(60), readied.recv()).await.ok().flatten().is_some()
        {
            k += 1;
        }
        println!("ready {k}");
        let (mut delays, mut quiet, mut wholes) = (Vec::new(), 0, 0);
        for s in subs {
            let d = s.await.expect("viewer");
            quiet += usize::from(d.0.is_empty());
            delays.extend(d.0);
            wholes += d.1;
        }
        delays.sort_unstable();
        let p = |q| percentile(&delays, q);
        let wholes = wholes as f64 / n.max(1) as f64;
        println!("result {} {:.1} {:.1} {:.1} {quiet} {wholes:.1}", delays.len(), p(0.5), p(0.99), p(1.0));
    });
}

/// The viewers' process seen from the drill: started, waited for until its viewers are in.
struct Viewers {
    child: std::process::Child,
    out: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Viewers {
    fn start(addr: std::net::SocketAddr, token: &str, n: usize, epoch_us: u64) -> Viewers {
        let mut child = std::process::Command::new(std::env::current_exe().expect("this bench"))
            .env("ICSDRILL_BENCH_VIEWER", format!("{addr} {token} {n} {epoch_us}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the viewers' process starts");
        use std::io::BufRead;
        let out = std::io::BufReader::new(child.stdout.take().expect("piped")).lines();
        Viewers { child, out }
    }

    /// The next line the viewers print that starts with `key`, split after it.
    fn line(&mut self, key: &str) -> Vec<f64> {
        for line in self.out.by_ref().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(key) {
                return rest.split_whitespace().filter_map(|v| v.parse().ok()).collect();
            }
        }
        panic!("the viewers' process ended without `{key}`");
    }

    /// Stops the viewers; their delays: (deliveries, p50, p99, max in ms, viewers that saw none,
    /// whole boards a viewer after its first).
    fn finish(mut self) -> Vec<f64> {
        drop(self.child.stdin.take());
        let result = self.line("result ");
        let _ = self.child.wait();
        result
    }
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

/// What a run measures.
struct Config {
    teams: usize,
    plcs: usize,
    viewers: usize,
    /// Seconds of score changes; before them, `idle` seconds of a quiet drill.
    seconds: f64,
    idle: f64,
    /// Modbus connections per team (0: a fair share of the open-files limit).
    team_connections: usize,
    postgres: Option<String>,
    record: bool,
    /// Routine traffic on the wire (off: the simulation still logs it).
    routine_wire: bool,
    /// Every 5 s, every team's score changes at once (as when a scripted attack step fires
    /// in every team's range in the same tick), besides the one change every 100 ms.
    burst: bool,
}

impl Config {
    fn from_env() -> Config {
        // As `icsdrill serve` runs a drill: every input and event recorded in SQLite (WAL, FULL
        // sync), actions answered once on disk. `ICSDRILL_BENCH_NO_STORE=1` measures without.
        let record = std::env::var_os("ICSDRILL_BENCH_NO_STORE").is_none();
        let quick = !std::env::args().any(|a| a == "--bench");
        let (teams, viewers, seconds, idle) = if quick { (5, 50, 3.0, 1.0) } else { (50, 500, 20.0, 5.0) };
        let (teams, postgres) = bench_options(teams);
        let var = |name: &str, default: usize| {
            std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
        };
        Config {
            teams,
            plcs: 20,
            viewers: var("ICSDRILL_BENCH_VIEWERS", viewers),
            seconds,
            idle,
            team_connections: var("ICSDRILL_BENCH_TEAM_CONNECTIONS", 0),
            postgres,
            record,
            routine_wire: std::env::var_os("ICSDRILL_BENCH_NO_ROUTINE_WIRE").is_none(),
            burst: std::env::var_os("ICSDRILL_BENCH_BURST").is_some(),
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var("ICSDRILL_BENCH_VIEWER") {
        return viewers(&spec);
    }
    let cfg = Config::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(cfg));
}

/// The fan-out floor (`fanout_floor`) for `n` viewers over `seconds`: the changes it sent and
/// what the viewers saw (as `Viewers::finish`).
fn floor(n: usize, seconds: f64) -> (usize, Vec<f64>) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind");
    socket.listen(4096).expect("listen");
    let listener: std::net::TcpListener = socket.into();
    let addr = listener.local_addr().expect("address");
    let epoch_us = unix_us();
    let (go, started) = std::sync::mpsc::sync_channel(1);
    let server = fanout_floor::serve(listener, n, started, seconds, epoch_us);
    let mut viewers = Viewers::start(addr, "floor", n, epoch_us);
    viewers.line("ready ");
    let _ = go.send(());
    let changes = server.join().expect("the floor's server");
    (changes, viewers.finish())
}

/// Prints the floor's figures (`floor`'s result) beside the drill's p99, and the targets.
fn print_floor((changes, seen): &(usize, Vec<f64>), p99: f64) {
    println!(
        "floor (one write a viewer, two threads, no drill): {changes} changes, delay over {} deliveries: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; drill / floor p99 {:.2}x",
        seen[0],
        seen[1],
        seen[2],
        seen[3],
        p99 / seen[2]
    );
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("target p99 < 100 ms: {}", verdict(p99 < 100.0));
    println!("target p99 < 50 ms: {}", verdict(p99 < 50.0));
}

/// What the score changes of a run measured.
struct Changes {
    /// Reports sent and accepted.
    sent: usize,
    ok: usize,
    /// The drill's CPU seconds over `wall` seconds, and the viewers' process's.
    cpu: f64,
    wall: f64,
    viewers_cpu: f64,
    /// How long after its change each board was published (us).
    published: Vec<u64>,
}

/// Sends the run's score changes (`score_changes`), measuring the CPU of the drill and of the
/// viewers' process (`viewers_pid`), and the first part of each change's delay: until its board
/// is published (ranked, framed) on the channel the viewers follow.
async fn changes(
    drill: &Arc<icsdrill::drill::Drill>,
    addr: std::net::SocketAddr,
    tokens: &[(String, String)],
    cfg: &Config,
    viewers_pid: u32,
) -> Changes {
    let viewers_pid = viewers_pid.to_string();
    let viewers_cpu0 = cpu_s_of(&viewers_pid);
    let (stop_following, stop) = tokio::sync::oneshot::channel();
    let published = tokio::spawn(published_delays(drill.scoreboard(false), drill.epoch(), stop));
    let (cpu0, wall0) = (cpu_s(), Instant::now());
    let (sent, ok) = score_changes(addr, tokens, cfg.seconds, cfg.burst).await;
    let (cpu, wall) = (cpu_s() - cpu0, wall0.elapsed().as_secs_f64());
    let viewers_cpu = cpu_s_of(&viewers_pid) - viewers_cpu0;
    let _ = stop_following.send(());
    let published = published.await.expect("the board follower");
    Changes { sent, ok, cpu, wall, viewers_cpu, published }
}

/// How long after its score change each board was published (us), until `stop` is sent.
async fn published_delays(
    mut rx: watch::Receiver<Arc<Scoreboard>>,
    epoch: Instant,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> Vec<u64> {
    let (mut delays, mut last) = (Vec::new(), 0);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            r = rx.changed() => if r.is_err() { break },
        }
        let changed = rx.borrow_and_update().head.changed_us;
        if changed > last {
            if last != 0 {
                delays.push((epoch.elapsed().as_micros() as u64).saturating_sub(changed));
            }
            last = changed;
        }
    }
    delays
}

/// Sends a report to one team after another, 10 a second, for `seconds`: the synthetic plant
/// has no attack, so each is a false positive and costs points (the score moves). With
/// `burst`, every 50th round sends one to every team at once (64 at a time). Returns (sent,
/// accepted).
async fn score_changes(
    addr: std::net::SocketAddr,
    tokens: &[(String, String)],
    seconds: f64,
    burst: bool,
) -> (usize, usize) {
    let (mut sent, mut ok) = (0, 0);
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    let body = r#"{"technique":"T0836","asset":"plc-0","impact":"test","actions":"none"}"#;
    let start = Instant::now();
    let mut round = 0;
    while start.elapsed().as_secs_f64() < seconds {
        pace.tick().await;
        round += 1;
        if burst && round % 50 == 0 {
            let (n, accepted) = to_every_team(addr, tokens, body).await;
            (sent, ok) = (sent + n, ok + accepted);
            continue;
        }
        let (team, token) = &tokens[sent % tokens.len()];
        if post(addr, &format!("/api/teams/{team}/reports"), token, body).await == 200 {
            ok += 1;
        }
        sent += 1;
    }
    (sent, ok)
}

/// One report to every team, 64 in flight at a time: (sent, accepted).
async fn to_every_team(
    addr: std::net::SocketAddr,
    tokens: &[(String, String)],
    body: &'static str,
) -> (usize, usize) {
    let slots = Arc::new(tokio::sync::Semaphore::new(64));
    let mut posts = tokio::task::JoinSet::new();
    for (team, token) in tokens {
        let (team, token) = (team.clone(), token.clone());
        let slot = slots.clone().acquire_owned().await.expect("never closed");
        posts.spawn(async move {
            let _slot = slot;
            post(addr, &format!("/api/teams/{team}/reports"), &token, body).await == 200
        });
    }
    let accepted = posts.join_all().await.into_iter().filter(|ok| *ok).count();
    (tokens.len(), accepted)
}

/// The drill a run serves: `cfg`'s teams on the synthetic plant, recorded under `data` (or in
/// PostgreSQL) unless told not to.
fn drill_spec(cfg: &Config, data: &std::path::Path) -> DrillSpec {
    let yaml = icsdrill_scenarios::synthetic_yaml(cfg.plcs);
    let scenario = Arc::new(Scenario::from_yaml("synthetic", &yaml).unwrap_or_else(|e| panic!("{e}")));
    let ids: Vec<String> = (0..cfg.teams).map(|i| format!("team-{i:03}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut spec = DrillSpec::new(scenario, &refs, Mode::Contest);
    // The live board's fan-out is measured: true scores on it (`--live-scores`; a blind
    // contest's public board shows none until the hot wash, so nothing would change).
    spec.blind = false;
    // As `serve --modbus-port` places them: each team's endpoints on ports counting up from a
    // base (binding 10 000 listeners on kernel-chosen ports costs seconds in the kernel's
    // search for free ones).
    spec.range.modbus_port = 21_000;
    spec.range.http_port = 0;
    spec.range.range_connections = cfg.team_connections;
    spec.range.routine_traffic = cfg.routine_wire;
    spec.range.http.max_connections = cfg.viewers + 256;
    // The viewers all come from 127.0.0.1.
    spec.range.http.max_per_client = cfg.viewers + 256;
    if cfg.record {
        let sqlite = || icsdrill::store::Database::Sqlite(data.to_path_buf());
        spec.database = Some(cfg.postgres.clone().map_or_else(sqlite, icsdrill::store::Database::Postgres));
        spec.scenario_source = Some(yaml);
    }
    spec
}

async fn run(cfg: Config) {
    let data = std::env::temp_dir().join(format!("icsdrill-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let spec = drill_spec(&cfg, &data);
    let rss_before = status_kib("VmRSS:");
    let started = Instant::now();
    let server = DrillServer::start(spec).await.expect("drill starts");
    let setup = started.elapsed();
    // Threads are bounded: the simulations share one pool, and each range has its share of the
    // cores as event loops (one each when the teams outnumber the cores).
    let threads = status_kib("Threads:");
    let loops = icsdrill::runtime::range::event_loops(&icsdrill::runtime::range::Options::new(0), cfg.teams);
    let bound = cfg.teams * loops + icsdrill::runtime::pool::MAX_WORKERS + 16;
    assert!(threads as usize <= bound, "{threads} threads for {} teams (bound {bound})", cfg.teams);
    let drill = server.drill.clone();
    drill.control(Control::Start).expect("start");
    let endpoints: usize = drill.teams().map(|(_, _, e)| e.len()).sum();
    let tokens: Vec<(String, String)> =
        drill.teams().map(|(t, k, _)| (t.id.clone(), k.to_string())).collect();
    let addr = server.http;
    let epoch_us = unix_us() - drill.epoch().elapsed().as_micros() as u64;
    let connecting = Instant::now();
    let mut viewers = Viewers::start(addr, drill.observer_token(), cfg.viewers, epoch_us);
    // Every viewer has its first board (or has given up) before the clock starts.
    let (viewers, ready) = tokio::task::spawn_blocking(move || {
        let r = viewers.line("ready ");
        (viewers, r)
    })
    .await
    .expect("the viewers report");
    let connected = connecting.elapsed();
    let (cpu0, wall0) = (cpu_s(), Instant::now());
    tokio::time::sleep(Duration::from_secs_f64(cfg.idle)).await;
    let (idle_cpu, idle_wall) = (cpu_s() - cpu0, wall0.elapsed().as_secs_f64());
    let db0 = cfg.postgres.as_deref().filter(|_| cfg.record).map(pg_counters);
    let Changes { sent, ok, cpu, wall, viewers_cpu, mut published } =
        changes(&drill, addr, &tokens, &cfg, viewers.child.id()).await;
    let db1 = cfg.postgres.as_deref().filter(|_| cfg.record).map(pg_counters);
    let rss = status_kib("VmRSS:");
    let seen = tokio::task::spawn_blocking(move || viewers.finish()).await.expect("the viewers' result");
    let ticks: Vec<u64> = drill.teams().map(|(t, _, _)| drill.live(&t.id).unwrap().snapshot().tick).collect();
    let board = drill.scoreboard(true).borrow().clone();
    server.shutdown().await.expect("shutdown");

    let (teams, plcs, n) = (cfg.teams, cfg.plcs, cfg.viewers);
    let wire = if cfg.routine_wire { "on the wire" } else { "logged, not on the wire" };
    println!(
        "drill: {teams} teams x {plcs} PLCs = {endpoints} Modbus endpoints, {n} scoreboard viewers (another process), {} s, routine traffic {wire}",
        cfg.seconds
    );
    recording(cfg.record, cfg.postgres.is_some(), &data, db0.zip(db1), (wall, teams));
    let _ = std::fs::remove_dir_all(&data);
    println!(
        "ready: setup {:.2} s; {} of {n} viewers had their first board after {:.1} s; ticks per team after the run: min {} max {}",
        setup.as_secs_f64(),
        ready[0],
        connected.as_secs_f64(),
        ticks.iter().min().unwrap(),
        ticks.iter().max().unwrap()
    );
    println!("reports sent {sent} (accepted {ok}); scoreboard seq {}; {threads} threads", board.head.seq);
    println!(
        "memory: RSS {:.0} MiB (before the drill {:.0} MiB)",
        rss as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    println!(
        "CPU: idle drill {:.2} cores ({idle_wall:.1} s); {:.2} cores while scores change ({cpu:.1} CPU s in {wall:.1} s); the viewers' process {:.2} cores meanwhile",
        idle_cpu / idle_wall,
        cpu / wall,
        viewers_cpu / wall
    );
    let (deliveries, p50, p99, max, quiet) = (seen[0], seen[1], seen[2], seen[3], seen[4]);
    println!(
        "score change -> viewer delay over {deliveries} deliveries: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms ({quiet} viewers saw none; {:.1} whole boards a viewer after its first, the rest deltas)",
        seen[5]
    );
    published.sort_unstable();
    let ms = |q| percentile(&published, q);
    println!(
        "of which score change -> board published (ranked, framed; the fan-out starts): p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms over {} boards",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        published.len()
    );
    // The floor in the same run, the drill stopped.
    let floor = tokio::task::spawn_blocking(move || floor(n, cfg.seconds)).await.expect("the floor");
    print_floor(&floor, p99);
    assert!(ok > 0 && deliveries > 0.0, "score changes reached viewers");
    assert_eq!(quiet, 0.0, "every viewer saw score changes");
}
