//! `icsdrill serve`: the simulation in real time, every PLC a live Modbus TCP endpoint.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use icsdrill::drill::{DrillServer, DrillSpec};
use icsdrill::modbus::server::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, Limits};
use icsdrill::range::{AddressMode, Options, Range};
use icsdrill::store::Database;
use icsdrill_engine::EventKind;
use icsdrill_web::drill::{Control, DrillApi, Mode, Phase, TeamInfo};

use crate::load_scenario_source;
use crate::simulate::write_events;

/// Arguments of `icsdrill serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Built-in scenario id or path to a YAML file.
    #[arg(default_value = icsdrill_scenarios::DEFAULT)]
    scenario: String,
    /// Seed of the run's randomness.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Address to listen on (port mode and HTTP).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// First Modbus port; PLCs count up from it (0: any free port).
    #[arg(long, default_value_t = 5020)]
    modbus_port: u16,
    /// HTTP API port (0: any free port).
    #[arg(long, default_value_t = 8020)]
    http_port: u16,
    /// Ticks per wall second; the scenario's own rate (10) is real time, more runs faster.
    #[arg(long)]
    tick_hz: Option<f64>,
    /// One port per PLC, or one loopback address per PLC on the same port.
    #[arg(long, value_enum, default_value_t = AddressMode::Port)]
    address_mode: AddressMode,
    /// A client address standing for a host of the scenario, e.g. 127.0.0.66=it-ws-01
    /// (repeatable; other addresses are the engineering workstation).
    #[arg(long = "source", value_parser = parse_source)]
    sources: Vec<(IpAddr, String)>,
    /// Stop after this many simulated seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    /// Write the event log here (JSON Lines) when the range stops.
    #[arg(long)]
    events: Option<PathBuf>,
    /// Connections each endpoint serves at once.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Run the plant without the scenario's attack (practice).
    #[arg(long)]
    no_attack: bool,
    /// Seconds a silent connection stays open.
    #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs())]
    idle_timeout: u64,
    /// Run a drill with these teams (comma-separated ids), each on its own range, with the
    /// web view (team consoles, instructor console, scoreboard) on the HTTP port.
    #[arg(long, value_delimiter = ',', conflicts_with = "drill")]
    teams: Vec<String>,
    /// Drill mode: regional, contest or enterprise (scores the response plan).
    #[arg(long, value_parser = parse_mode, default_value = "regional")]
    mode: Mode,
    /// Contest: freeze the public scoreboard this many simulated seconds before the end
    /// (needs --duration).
    #[arg(long)]
    freeze: Option<f64>,
    /// Start the drill at once instead of waiting in briefing for the instructor.
    #[arg(long)]
    start: bool,
    /// A drill file (YAML): name, mode, scenario, seed, teams, duration_s, freeze_s, start.
    #[arg(long)]
    drill: Option<PathBuf>,
    /// Where drills are recorded (SQLite; default: $ICSDRILL_DATA or ~/.local/share/icsdrill).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Resume a recorded drill (the newest when no id is given) after a crash or a stop.
    #[arg(long, num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["teams", "drill"])]
    resume: Option<String>,
}

impl Args {
    /// What `icsdrill` with no arguments runs.
    pub(crate) fn default_drill() -> Args {
        Args {
            scenario: icsdrill_scenarios::DEFAULT.to_string(),
            seed: 1,
            bind: IpAddr::from([127, 0, 0, 1]),
            modbus_port: 5020,
            http_port: 8020,
            tick_hz: None,
            address_mode: AddressMode::Port,
            sources: Vec::new(),
            duration: None,
            events: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT.as_secs(),
            no_attack: false,
            teams: vec!["blue".into()],
            mode: Mode::Regional,
            freeze: None,
            start: true,
            drill: None,
            data_dir: None,
            resume: None,
        }
    }
}

fn parse_source(s: &str) -> Result<(IpAddr, String), String> {
    let (addr, host) = s.split_once('=').ok_or("expected ADDRESS=HOST, e.g. 127.0.0.66=it-ws-01")?;
    let addr: IpAddr = addr.parse().map_err(|e| format!("`{addr}` is not an IP address: {e}"))?;
    if host.is_empty() {
        return Err("the host id after `=` is empty".into());
    }
    Ok((addr, host.to_string()))
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| format!("unknown mode `{s}`: regional, contest, enterprise or exam"))
}

/// A drill file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DrillFile {
    name: Option<String>,
    #[serde(default)]
    mode: Option<Mode>,
    scenario: Option<String>,
    seed: Option<u64>,
    teams: Vec<DrillTeam>,
    duration_s: Option<f64>,
    freeze_s: Option<f64>,
    #[serde(default)]
    start: bool,
}

#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum DrillTeam {
    Id(String),
    Named {
        id: String,
        name: String,
        #[serde(default)]
        bracket: Option<String>,
    },
}

pub(crate) fn run(mut args: Args, database: Option<&str>) -> Result<ExitCode> {
    let mut name = None;
    let mut teams: Vec<TeamInfo> = args
        .teams
        .iter()
        .map(|t| {
            // `id:bracket` puts a team in a contest bracket.
            let (id, bracket) = match t.trim().split_once(':') {
                Some((id, b)) => (id.to_string(), Some(b.to_string())),
                None => (t.trim().to_string(), None),
            };
            TeamInfo { name: id.clone(), id, bracket }
        })
        .collect();
    if let Some(path) = &args.drill {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let f: DrillFile =
            serde_saphyr::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if let Some(s) = f.scenario {
            args.scenario = s;
        }
        args.seed = f.seed.unwrap_or(args.seed);
        args.mode = f.mode.unwrap_or(args.mode);
        args.duration = f.duration_s.or(args.duration);
        args.freeze = f.freeze_s.or(args.freeze);
        args.start |= f.start;
        name = f.name;
        teams = f
            .teams
            .into_iter()
            .map(|t| match t {
                DrillTeam::Id(id) => TeamInfo { name: id.clone(), id, bracket: None },
                DrillTeam::Named { id, name, bracket } => TeamInfo { id, name, bracket },
            })
            .collect();
        if teams.is_empty() {
            bail!("{}: a drill needs at least one team", path.display());
        }
    }
    let (mut scenario, source) = load_scenario_source(&args.scenario)?;
    if args.no_attack {
        scenario = std::sync::Arc::new(scenario.without_attack());
    }
    if args.tick_hz.is_some_and(|t| !(t.is_finite() && t > 0.0 && t <= 100_000.0)) {
        bail!("--tick-hz must be a number in (0, 100000]");
    }
    if args.duration.is_some_and(|d| !(d.is_finite() && d > 0.0)) {
        bail!("--duration must be a positive number of seconds");
    }
    if args.max_connections == 0 || args.idle_timeout == 0 {
        bail!("--max-connections and --idle-timeout must be at least 1");
    }
    let mut opts = Options {
        seed: args.seed,
        bind: args.bind,
        modbus_port: args.modbus_port,
        http_port: args.http_port,
        address_mode: args.address_mode,
        ticks_per_s: args.tick_hz,
        duration_s: args.duration,
        sources: args.sources.clone(),
        limits: Limits {
            max_connections: args.max_connections,
            idle_timeout: Duration::from_secs(args.idle_timeout),
        },
        live_attacker: true,
        serve_http: true,
        first_endpoint: 0,
        running: true,
    };
    let db = Database::resolve(args.data_dir.as_deref(), database)?;
    if let Some(id) = &args.resume {
        return run_drill(Launch::Resume { id: id.clone(), range: opts }, &args, db);
    }
    if !teams.is_empty() {
        // An exam: the trainee's own variant of the scenario, time-limited.
        let mut variant_seed = None;
        let mut scenario = scenario;
        if args.mode == Mode::Exam {
            if teams.len() != 1 {
                bail!("an exam has one trainee: --mode exam --teams TRAINEE_ID");
            }
            let seed = icsdrill::exam_run::seed_for(
                &teams[0].id,
                &icsdrill::store::data_dir(args.data_dir.as_deref())?,
            )?;
            scenario = std::sync::Arc::new(icsdrill_engine::exam::variant(&scenario, seed).0);
            opts.seed = seed;
            opts.duration_s = Some(args.duration.unwrap_or(
                scenario.exam.time_limit_ticks.unwrap_or(scenario.duration_ticks) as f64
                    / f64::from(scenario.tick_hz),
            ));
            variant_seed = Some(seed);
        }
        let mut spec = DrillSpec::new(scenario, &[], args.mode);
        spec.variant_seed = variant_seed;
        spec.name = name.unwrap_or_else(|| spec.name.clone());
        spec.teams = teams;
        spec.range = opts;
        spec.freeze_s = args.freeze;
        spec.database = Some(db.clone());
        spec.scenario_source = Some(source);
        spec.no_attack = args.no_attack;
        return run_drill(Launch::New(spec), &args, db);
    }
    if args.freeze.is_some() || args.start {
        bail!("--freeze and --start are for drills: give --teams or --drill");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let range = Range::start(scenario.clone(), opts).await?;
        let stop = stop_signal()?;
        let rate = args.tick_hz.unwrap_or(f64::from(scenario.tick_hz));
        println!(
            "icsdrill: serving {} ({} / {}), seed {}, {} ticks per second, started in {} ms",
            scenario.id,
            scenario.meta.title.en,
            scenario.meta.title.zh,
            args.seed,
            rate,
            started.elapsed().as_millis()
        );
        println!("{:<16} {:<8} {:<15} {:>6} {:>5}  DEVICE", "PLC", "ROLE", "ADDRESS", "PORT", "UNIT");
        for e in &range.endpoints {
            println!("{:<16} {:<8} {:<15} {:>6} {:>5}  {}", e.plc, e.role, e.address, e.port, e.unit_id, e.device);
        }
        println!("HTTP API: http://{}/api/endpoints  (health: /api/health, transactions: /api/transactions)", range.http.expect("serve_http is on"));
        println!("Press Ctrl-C to stop.");
        tokio::select! {
            _ = stop => eprintln!("\nicsdrill: stopping"),
            _ = range.finished() => {}
        }
        let sim = range.shutdown().await?;
        let summary = sim.summary();
        let transactions = sim.events().iter().filter(|e| matches!(e.kind, EventKind::ModbusTransaction { .. })).count();
        println!(
            "icsdrill: stopped at tick {} ({} simulated s): {} events, {} Modbus transactions, {} trips, {} damage",
            summary.ticks,
            summary.ticks / u64::from(scenario.tick_hz),
            summary.events,
            transactions,
            summary.trips,
            summary.damage
        );
        if let Some(path) = &args.events {
            write_events(path, sim.events())?;
            println!("event log  {}", path.display());
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// A drill to run: new, or resumed from the store.
enum Launch {
    New(DrillSpec),
    Resume { id: String, range: Options },
}

fn run_drill(launch: Launch, args: &Args, db: Database) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let server = match launch {
            Launch::New(spec) => DrillServer::start(spec).await?,
            Launch::Resume { id, range } => {
                let id = if id.is_empty() {
                    let d = db.clone();
                    let newest = tokio::task::spawn_blocking(move || d.open()?.drills()).await??.into_iter().next();
                    newest.map(|d| d.id).with_context(|| format!("no recorded drill in {}", db.describe()))?
                } else {
                    id
                };
                let server = DrillServer::resume(&db, &id, range).await?;
                println!("icsdrill: resumed drill {id} from {}", db.describe());
                server
            }
        };
        let scenario = server.drill.scenario();
        let mode = server.drill.info().mode;
        let stop = stop_signal()?;
        let drill = server.drill.clone();
        if args.start {
            match drill.phase() {
                Phase::Briefing => drill.control(Control::Start).map_err(|e| anyhow::anyhow!(e))?,
                Phase::Paused => drill.control(Control::Resume).map_err(|e| anyhow::anyhow!(e))?,
                _ => drill.phase(),
            };
        }
        let rate = args.tick_hz.unwrap_or(f64::from(scenario.tick_hz));
        let base = format!("http://{}", server.http);
        println!("Drill {} recorded in {}", drill.id, db.describe());
        println!(
            "icsdrill: serving {} ({} / {}) as {} drill with {} team(s), seed {}, {} ticks per second, started in {} ms",
            scenario.id,
            scenario.meta.title.en,
            scenario.meta.title.zh,
            match mode {
                Mode::Regional => "a regional",
                Mode::Contest => "a contest",
                Mode::Enterprise => "an enterprise",
                Mode::Exam => "an exam",
            },
            drill.teams().count(),
            args.seed,
            rate,
            started.elapsed().as_millis()
        );
        println!("Scoreboard (observers / 观察员):  {base}/?token={}", drill.observer_token());
        println!("Instructor (white cell / 导调组): {base}/instructor?token={}", drill.instructor_token());
        for (team, token, endpoints) in drill.teams() {
            println!();
            println!("Team {} ({}) console / 队伍控制台: {base}/team/{}?token={token}", team.id, team.name, team.id);
            println!("  {:<16} {:<8} {:<15} {:>6} {:>5}  DEVICE", "PLC", "ROLE", "ADDRESS", "PORT", "UNIT");
            for e in endpoints {
                println!("  {:<16} {:<8} {:<15} {:>6} {:>5}  {}", e.plc, e.role, e.address, e.port, e.unit_id, e.device);
            }
        }
        println!();
        println!("API: {base}/api/openapi.json (Authorization: Bearer TOKEN)");
        match drill.phase() {
            Phase::Briefing => println!("Phase: briefing; start the drill from the instructor console."),
            p => println!("Phase: {}", serde_json::to_value(p)?.as_str().unwrap_or_default()),
        }
        println!("Press Ctrl-C to stop.");
        let end = args.duration.map(|d| scenario.ticks(d));
        let finished = async {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let done = drill.teams().all(|(t, _, _)| {
                    let live = drill.live(&t.id).expect("listed team");
                    live.stopped() || end.is_some_and(|e| live.snapshot_guard().tick >= e)
                });
                if done {
                    break;
                }
            }
        };
        tokio::select! {
            _ = stop => eprintln!("\nicsdrill: stopping"),
            _ = finished => {}
        }
        let boards = drill.scoreboard(true);
        let board = boards.borrow().clone();
        let drill_id = drill.id.clone();
        // Over: the white cell ended it (hot wash, end) or its time ran out. A stop before that
        // (Ctrl-C, SIGTERM) leaves it to be resumed.
        let over = matches!(drill.phase(), Phase::HotWash | Phase::Ended)
            || drill.teams().all(|(t, _, _)| {
                // A range stops by itself only at its duration's end.
                drill.live(&t.id).is_some_and(|l| l.stopped() || end.is_some_and(|e| l.snapshot_guard().tick >= e))
            });
        let sims = server.shutdown().await?;
        for (team, sim) in &sims {
            let summary = sim.summary();
            let total = board.rows.iter().find(|r| r.team == *team).map_or(0.0, |r| r.total);
            println!(
                "icsdrill: stopped at tick {} ({} simulated s): team {team}: score {total:.1}, {} events, {} trips, {} damage",
                summary.ticks,
                summary.ticks / u64::from(scenario.tick_hz),
                summary.events,
                summary.trips,
                summary.damage
            );
            if let Some(dir) = &args.events {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                let path = dir.join(format!("{team}.jsonl"));
                write_events(&path, sim.events())?;
                println!("event log  {}", path.display());
            }
        }
        // The findings of this drill join each enterprise's rectification register, and the
        // drill counts for the registered enterprises' cadence.
        if !over {
            println!(
                "icsdrill: drill {drill_id} stopped before its end: `icsdrill serve --resume {drill_id}` continues it; \
                 its findings and any certificate come when it ends (`icsdrill findings {drill_id}` records the findings now)"
            );
            return Ok(ExitCode::SUCCESS);
        }
        if mode == Mode::Exam
            && let Some((trainee, sim)) = sims.first()
        {
            certify(&db, args, &drill, trainee, sim).await?;
        }
        let teams: Vec<String> = sims.iter().map(|(t, _)| t.clone()).collect();
        let id = drill_id.clone();
        // The store may block (PostgreSQL): off the async runtime.
        let tracked = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut store = db.open()?;
            let registered: Vec<String> = store.registry()?.enterprises.into_iter().map(|e| e.id).collect();
            for team in teams.iter().filter(|t| registered.contains(t)) {
                store.add_activity(&icsdrill::registry::Activity {
                    enterprise: team.clone(),
                    kind: "drill".into(),
                    date: icsdrill::dates::civil(icsdrill::dates::today()),
                    reference: id.clone(),
                })?;
            }
            icsdrill::rectify::track_drill(&mut *store, &id, None)
        })
        .await?;
        match tracked {
            Ok(teams) => {
                for (team, outcomes) in teams {
                    let count = |v: &str| outcomes.iter().filter(|o| o.verdict == v).count();
                    println!(
                        "findings of team {team}: {} new, {} still open, {} verified fixed (icsdrill report {drill_id} --team {team})",
                        count("new") + count("reopened"),
                        count("still_open") + count("not_retested"),
                        count("verified")
                    );
                }
            }
            Err(e) => eprintln!("icsdrill: cannot record the findings: {e:#}"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Grades a finished exam drill, signs its certificate, records it and writes it next to the
/// database.
async fn certify(
    db: &Database,
    args: &Args,
    drill: &icsdrill::drill::Drill,
    trainee: &str,
    sim: &icsdrill_engine::Sim,
) -> Result<()> {
    let scenario = sim.scenario().clone();
    let grade = icsdrill_engine::exam::grade(&scenario, sim.events(), scenario.exam.pass);
    let info = drill.info();
    let name = info.teams.first().map_or(trainee.to_string(), |t| t.name.clone());
    let body = icsdrill::cert::CertBody {
        version: 1,
        trainee: trainee.to_string(),
        name: name.clone(),
        cohort: String::new(),
        exam: info.scenario.split('~').next().unwrap_or_default().to_string(),
        variant_seed: drill.variant_seed().unwrap_or_default(),
        date: icsdrill::dates::civil(icsdrill::dates::today()),
        areas: grade.areas.iter().map(|a| (a.area.to_string(), a.points, a.max)).collect(),
        total: grade.total,
        max: grade.max,
        result: if grade.passed { "pass" } else { "fail" }.into(),
        safety_violation: grade.safety_violation.clone(),
        drill: drill.id.clone(),
        replay_hash: icsdrill::exam_run::log_hash(sim),
    };
    let key_dir = icsdrill::store::data_dir(args.data_dir.as_deref())?;
    let cert = icsdrill::cert::sign(body, &icsdrill::cert::signing_key(&key_dir)?)?;
    let record = icsdrill::store::ExamRecord {
        drill: drill.id.clone(),
        trainee: trainee.to_string(),
        name,
        cohort: String::new(),
        date: cert.body.date.clone(),
        total: grade.total,
        max: grade.max,
        passed: grade.passed,
        certificate: serde_json::to_string(&cert)?,
    };
    // Recorded first: an exam already certified is not certified again (nor its files
    // overwritten).
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.open()?.save_exam(&record))
        .await?
        .context("cannot record the exam (was it certified already?)")?;
    let out = key_dir.join("certificates");
    std::fs::create_dir_all(&out)?;
    let stem = out.join(format!("{}-{trainee}", drill.id));
    std::fs::write(stem.with_extension("json"), serde_json::to_vec_pretty(&cert)?)?;
    std::fs::write(stem.with_extension("html"), icsdrill::cert::html(&cert, true))?;
    println!(
        "exam {}: {:.1} of {:.0}; certificate {}",
        if grade.passed { "PASSED" } else { "NOT PASSED" },
        grade.total,
        grade.max,
        stem.with_extension("json").display()
    );
    Ok(())
}

/// Ctrl-C, or SIGTERM where there is one (service managers stop programs with it). The
/// handlers are installed when this is called, so call it before telling anyone to signal.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
