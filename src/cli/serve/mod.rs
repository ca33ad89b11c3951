//! `icsdrill serve`: the simulation in real time, every PLC a live Modbus TCP endpoint.
//!
//! - `args`: the flags and their checks;
//! - here: a practice range without a drill, and what a drill is served with;
//! - `drill`: a drill of one range per team (new, or resumed from the store);
//! - `events`: `--events FILE`, the log streamed to a file as it happens.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use icsdrill::drill::DrillSpec;
use icsdrill::runtime::modbus::server::Limits;
use icsdrill::runtime::range::{Options, Range};
use icsdrill::store::Database;
use icsdrill_drill::{Mode, TeamInfo};
use icsdrill_engine::Scenario;

use super::load_scenario_source;

mod args;
mod drill;
mod events;
mod exam;

pub(crate) use args::Args;
use args::{check_node_url, check_numbers, parse_net};
use drill::{Launch, run_drill};
use events::EventsFile;
use exam::exam_setup;

/// A drill file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DrillFile {
    name: Option<String>,
    mode: Option<Mode>,
    scenario: Option<String>,
    seed: Option<u64>,
    teams: Vec<DrillTeam>,
    duration_s: Option<f64>,
    freeze_s: Option<f64>,
    #[serde(default)]
    live_scores: bool,
    ties: Option<icsdrill_drill::board::Ties>,
    #[serde(default)]
    start: bool,
    organiser: Option<String>,
    place: Option<String>,
    id: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum DrillTeam {
    Id(String),
    Named {
        id: String,
        name: Option<String>,
        bracket: Option<String>,
        /// Client networks (CIDR).
        #[serde(default)]
        clients: Vec<String>,
    },
}

// The scenario and seed are the drill file's where it sets them, a resumed drill's its record's:
// recorded once known.
#[tracing::instrument(name = "serve", skip_all, fields(scenario = tracing::field::Empty, seed = tracing::field::Empty))]
pub(crate) fn run(mut args: Args, database: Option<&str>) -> Result<ExitCode> {
    let (name, mut teams) = teams_and_drill_file(&mut args)?;
    let (mut scenario, source) = load_scenario_source(&args.scenario)?;
    if args.no_attack {
        scenario = std::sync::Arc::new(scenario.without_attack());
    }
    check_numbers(&args)?;
    let mut opts = range_options(&args);
    let db = Database::resolve(args.data_dir.as_deref(), database)?;
    if let Some(id) = &args.resume {
        return run_drill(Launch::Resume { id: id.clone(), range: Box::new(opts) }, &args, db);
    }
    if let Some(id) = &args.drill_id {
        if !icsdrill_drill::vocab::valid_team_id(id) {
            bail!("drill id `{id}` must be 1-32 letters, digits, `-` or `_`");
        }
        if let Some(node) = &args.node
            && !icsdrill_drill::vocab::valid_team_id(node)
        {
            bail!("node name `{node}` must be 1-32 letters, digits, `-` or `_`");
        }
        // On record already (a restart): resumed, with its tokens, where it was. A node of a
        // drill over several nodes joins it instead.
        let fresh = args.node.is_some()
            || matches!(&db, Database::Sqlite(dir) if !icsdrill::store::db_path(dir).exists());
        if !fresh && db.open()?.drill(id)?.is_some() {
            return run_drill(Launch::Resume { id: id.clone(), range: Box::new(opts) }, &args, db);
        }
    }
    // A resumed drill's span is given its record's scenario and seed as it resumes.
    let span = tracing::Span::current();
    span.record("scenario", tracing::field::display(&args.scenario));
    span.record("seed", args.seed.unwrap_or(1));
    if !teams.is_empty() {
        // A drill writes a file a team into a directory: a file's name made a directory of it.
        if let Some(p) =
            args.events.as_ref().filter(|p| p.extension().is_some_and(|e| e == "jsonl") || p.is_file())
        {
            bail!("--events {} names a file: a drill writes one a team, give a directory", p.display());
        }
        if args.mode != Mode::Exam {
            registered_names(&db, &mut teams)?;
        }
        let (scenario, variant_seed) = exam_setup(&args, &db, &mut teams, scenario, &mut opts)?;
        let mut spec = DrillSpec::new(scenario, &[], args.mode);
        spec.variant_seed = variant_seed;
        spec.name = name.unwrap_or_else(|| spec.name.clone());
        spec.teams = teams;
        spec.range = opts;
        spec.freeze_s = args.freeze;
        spec.blind &= !args.live_scores;
        spec.ties = args.ties.unwrap_or_default();
        spec.database = Some(db.clone());
        spec.scenario_source = Some(source);
        spec.no_attack = args.no_attack;
        spec.clients = args.clients.iter().cloned().collect();
        spec.id = args.drill_id.clone();
        spec.cohort = args.cohort.clone().unwrap_or_default().trim().to_string();
        spec.cover = icsdrill::governance::report::Cover {
            organiser: args.organiser.clone().filter(|s| !s.trim().is_empty()),
            place: args.place.clone().filter(|s| !s.trim().is_empty()),
        };
        if let Some(node) = args.node.clone() {
            if args.drill_id.is_none() {
                bail!(
                    "every node of a drill over several nodes needs the same drill id: give --drill-id (or `id:` in the drill file)"
                );
            }
            let url = args.node_url.as_deref().map(check_node_url).transpose()?;
            if !matches!(db, Database::Postgres(_)) {
                bail!(
                    "a drill over several nodes (--node) shares a PostgreSQL database: give --database postgres://…"
                );
            }
            return run_drill(Launch::Join { spec: Box::new(spec), node, url }, &args, db);
        }
        return run_drill(Launch::New(Box::new(spec)), &args, db);
    }
    if args.freeze.is_some() || args.start || args.node.is_some() {
        bail!("--freeze, --start and --node are for drills: give --teams or --drill");
    }
    refuse_drill_flags(&args)?;
    serve_range(&args, scenario, opts)
}

/// A team named by its id takes its enterprise's registered name: the banner, the consoles and
/// the boards named it `xjpower` while its reports named 新疆天山热电有限责任公司.
fn registered_names(db: &Database, teams: &mut [TeamInfo]) -> Result<()> {
    let fresh = matches!(db, Database::Sqlite(dir) if !icsdrill::store::db_path(dir).exists());
    if fresh || teams.iter().all(|t| t.name != t.id) {
        return Ok(());
    }
    let registry = db.open()?.registry()?;
    for t in teams.iter_mut().filter(|t| t.name == t.id) {
        if let Some(e) = registry.enterprises.iter().find(|e| e.id == t.id)
            && icsdrill_drill::vocab::valid_team_name(&e.name)
        {
            t.name = e.name.trim().to_string();
        }
    }
    Ok(())
}

/// A practice range (no teams) refuses the flags only a drill reads, rather than drop them.
fn refuse_drill_flags(args: &Args) -> Result<()> {
    let drill_only = [
        ("--clients", !args.clients.is_empty()),
        ("--mode", args.mode != Mode::Regional),
        ("--organiser", args.organiser.is_some()),
        ("--place", args.place.is_some()),
        ("--cohort", args.cohort.is_some()),
        ("--trainee-name", args.trainee_name.is_some()),
        ("--ties", args.ties.is_some()),
    ];
    match drill_only.iter().find(|(_, given)| *given) {
        Some((flag, _)) => bail!(
            "{flag} is for drills (a practice range records nothing and has no teams): give --teams or --drill"
        ),
        None => Ok(()),
    }
}

/// The drill's name and teams, from `--teams` or the drill file (whose settings override
/// the command line's).
fn teams_and_drill_file(args: &mut Args) -> Result<(Option<String>, Vec<TeamInfo>)> {
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
    let Some(path) = args.drill.clone() else { return Ok((None, teams)) };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let f: DrillFile =
        serde_saphyr::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let Some(s) = f.scenario {
        args.scenario = s;
    }
    args.seed = f.seed.or(args.seed);
    args.mode = f.mode.unwrap_or(args.mode);
    args.duration = f.duration_s.or(args.duration);
    args.freeze = f.freeze_s.or(args.freeze);
    args.live_scores |= f.live_scores;
    args.ties = f.ties.or(args.ties);
    args.start |= f.start;
    args.organiser = f.organiser.or(args.organiser.take());
    args.place = f.place.or(args.place.take());
    args.drill_id = f.id.or(args.drill_id.take());
    teams = Vec::new();
    for t in f.teams {
        match t {
            DrillTeam::Id(id) => teams.push(TeamInfo { name: id.clone(), id, bracket: None }),
            DrillTeam::Named { id, name, bracket, clients } => {
                if !clients.is_empty() {
                    let nets = clients
                        .iter()
                        .map(|n| parse_net(n.trim()))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| anyhow::anyhow!("{}: team `{id}`: clients: {e}", path.display()))?;
                    args.clients.push((id.clone(), nets));
                }
                teams.push(TeamInfo { name: name.unwrap_or_else(|| id.clone()), id, bracket });
            }
        }
    }
    if teams.is_empty() {
        bail!("{}: a drill needs at least one team", path.display());
    }
    Ok((f.name, teams))
}

/// The range options the flags give.
fn range_options(args: &Args) -> Options {
    let mut opts = Options::new(args.seed.unwrap_or(1));
    opts.bind = args.bind;
    opts.modbus_port = args.modbus_port;
    opts.iec104_port = args.iec104_port;
    opts.opcua_port = args.opcua_port;
    opts.http_port = args.http_port;
    opts.address_mode = args.address_mode;
    opts.ticks_per_s = args.tick_hz;
    opts.duration_s = args.duration;
    opts.sources = args.sources.clone();
    opts.routine_traffic = !args.no_routine_traffic;
    opts.range_connections = args.team_connections.unwrap_or(0);
    opts.event_loops = args.event_loops;
    opts.epoll_only = args.modbus_io == args::ModbusIo::Epoll;
    opts.limits = Limits {
        max_connections: args.max_connections,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        request_rate: args.request_rate,
    };
    opts.http = icsdrill_web::server::HttpLimits {
        max_connections: args.http_max_connections,
        max_per_client: args
            .http_max_connections_per_client
            .unwrap_or((args.http_max_connections / 4).max(1)),
        idle_timeout: Duration::from_secs(args.http_idle_timeout),
        body_timeout: Duration::from_secs(args.http_idle_timeout),
    };
    opts
}

/// A practice range without a drill: one simulation, its endpoints and its HTTP API, until
/// Ctrl-C or its duration's end.
fn serve_range(args: &Args, scenario: std::sync::Arc<Scenario>, mut opts: Options) -> Result<ExitCode> {
    let runtime = crate::cli::async_runtime()?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        // Every part of the range draws on one open-files limit: share it out now.
        let budget = icsdrill::runtime::fds::budget(
            icsdrill::runtime::fds::raise_nofile_limit(),
            icsdrill::runtime::range::demand(&scenario, &opts, 1),
        )?;
        opts.http.max_connections = budget.http;
        opts.range_connections = budget.per_range;
        // With --events the log streams to its file as it happens: the range itself keeps
        // only a window of it in memory.
        let mut extras = icsdrill::runtime::live::Extras::default();
        let events_file = match &args.events {
            Some(path) => {
                let sim = icsdrill_engine::Sim::new(scenario.clone(), opts.seed);
                let file = EventsFile::create(path, sim.events())?;
                extras.hook = Some(file.hook());
                extras.sim = Some(sim);
                Some(file)
            }
            None => None,
        };
        let range = Range::start_with(scenario.clone(), opts, extras).await?;
        let stop = stop_signal()?;
        range_banner(args, &scenario, &range, started);
        tokio::select! {
            _ = stop => tracing::info!("stopping"),
            _ = range.finished() => {}
        }
        let sim = range.shutdown().await?;
        let summary = sim.summary();
        let transactions = summary.by_kind.get("modbus_transaction").copied().unwrap_or(0);
        println!(
            "icsdrill: stopped at tick {} ({} simulated s): {} events, {} Modbus transactions, {} trips, {} damage",
            summary.ticks,
            summary.ticks / u64::from(scenario.tick_hz),
            summary.events,
            transactions,
            summary.trips,
            summary.damage
        );
        if let (Some(file), Some(path)) = (events_file, &args.events) {
            file.finish()?;
            println!("event log  {}", path.display());
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Prints a practice range's endpoints and API.
fn range_banner(args: &Args, scenario: &Scenario, range: &Range, started: std::time::Instant) {
    let rate = args.tick_hz.unwrap_or(f64::from(scenario.tick_hz));
    println!(
        "icsdrill: serving {} ({} / {}), seed {}, {} ticks per second, started in {} ms",
        scenario.id,
        scenario.meta.title.en,
        scenario.meta.title.zh,
        args.seed.unwrap_or(1),
        rate,
        started.elapsed().as_millis()
    );
    print_endpoints("", &range.endpoints);
    println!(
        "HTTP API: http://{}/api/endpoints  (health: /api/health, transactions: /api/transactions)",
        range.http.expect("serve_http is on")
    );
    println!("Press Ctrl-C to stop.");
}

/// The endpoint table of a banner, each line after `indent`: PLC, role, address, port, unit,
/// device and IEC 104 station.
fn print_endpoints(indent: &str, endpoints: &[icsdrill_web::EndpointInfo]) {
    println!("{indent}{:<16} {:<8} {:<15} {:>6} {:>5}  DEVICE", "PLC", "ROLE", "ADDRESS", "PORT", "UNIT");
    for e in endpoints {
        println!(
            "{indent}{:<16} {:<8} {:<15} {:>6} {:>5}  {}{}",
            e.plc,
            e.role,
            e.address,
            e.port,
            e.unit_id,
            e.device,
            e.protocols_note()
        );
    }
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
