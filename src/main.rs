//! The `icsdrill` command line.
//!
//! # Layout
//!
//! - `main.rs`: argument definitions and dispatch.
//! - `scenarios_cmd.rs`: `icsdrill scenarios list|show|validate`.
//! - `simulate.rs`: `icsdrill simulate`, headless runs with a progress line and a summary.
//! - `serve.rs`: `icsdrill serve`, the live range (library code in `lib.rs`).

mod exam_cmd;
mod registry_cmd;
mod scenarios_cmd;
mod serve;
mod simulate;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use icsdrill_engine::Scenario;

/// icsdrill: a cyber range for industrial-control emergency drills (工控安全应急演练靶场).
///
/// With no command, serves the default scenario live: every PLC a Modbus TCP endpoint on
/// 127.0.0.1 from port 5020, the HTTP API on port 8020.
#[derive(Parser, Debug)]
#[command(name = "icsdrill", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A PostgreSQL database for drills and the registry (postgres://user:password@host/db;
    /// also $ICSDRILL_DATABASE) instead of SQLite in the data directory.
    #[arg(long, global = true)]
    database: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List, show and validate scenarios.
    #[command(subcommand)]
    Scenarios(ScenariosCmd),
    /// Run a scenario in real time with a live Modbus TCP endpoint per PLC.
    Serve(serve::Args),
    /// Run a scenario headless, as fast as possible, and write its event log.
    Simulate(simulate::Args),
    /// Re-run a recorded drill from its stored scenario, seed and inputs, and check the event
    /// log and scores are identical (exit 1 if not).
    Replay {
        /// Drill id (see `icsdrill drills`).
        drill: String,
        /// Where the drill database is (default: $ICSDRILL_DATA or ~/.local/share/icsdrill).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Write the after-action report of a recorded drill: findings, timeline, ratings and the
    /// improvement plan.
    Report {
        /// Drill id (see `icsdrill drills`).
        drill: String,
        /// Only this team (default: every team).
        #[arg(long)]
        team: Option<String>,
        /// html, md, json or xlsx.
        #[arg(long, default_value = "html")]
        format: String,
        /// Language.
        #[arg(long, value_enum, default_value_t = Lang::Zh)]
        lang: Lang,
        /// Output file (one team) or directory (every team); standard output when absent
        /// (not for xlsx).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Rectification deadlines in days, critical,high,medium,low (default by level: level
        /// 3 7,30,90,180; level 2 15,60,180,365; level 1 30,90,365,365).
        #[arg(long, value_parser = icsdrill_judge::findings::Deadlines::parse)]
        deadlines: Option<icsdrill_judge::findings::Deadlines>,
        /// Where the drill database is.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Track a recorded drill's findings per enterprise (team): new ones open, earlier open
    /// ones re-tested (verified fixed, or still open with new evidence); print the register.
    Findings {
        /// Drill id.
        drill: String,
        /// Rectification deadlines in days, critical,high,medium,low (default by level).
        #[arg(long, value_parser = icsdrill_judge::findings::Deadlines::parse)]
        deadlines: Option<icsdrill_judge::findings::Deadlines>,
        /// Where the drill database is.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The enterprise registry: import/export, cadence, self-grading, the yearly plan.
    Registry {
        #[command(subcommand)]
        cmd: registry_cmd::RegistryCmd,
        /// Where the database is.
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// The regional oversight view: roll-ups, users, the web view.
    Region {
        #[command(subcommand)]
        cmd: registry_cmd::RegionCmd,
        /// Where the database is.
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// Certification exams: run and certify, variants, cohort results.
    Exam {
        #[command(subcommand)]
        cmd: exam_cmd::ExamCmd,
        /// Where the database and the signing key are.
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// Exam certificates.
    #[command(subcommand)]
    Cert(CertCmd),
    /// List recorded drills.
    Drills {
        /// Where the drill database is.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum CertCmd {
    /// Check a certificate's signature; with --data-dir (or --database), also that it was
    /// signed by this installation and that the exam replays to the certified hash.
    Verify {
        /// certificate.json.
        file: PathBuf,
        /// Where the database and the signing key are (enables the replay check).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The issuing installation's public key (hex), when not checking against a data
        /// directory's own key.
        #[arg(long)]
        public_key: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum ScenariosCmd {
    /// One built-in scenario per line: id, industry, level, PLCs, title.
    List,
    /// Describe a scenario: plant, network, PLC register maps.
    Show {
        /// Built-in id or path to a YAML file.
        scenario: String,
        /// Language of names and text.
        #[arg(long, value_enum, default_value_t = Lang::En)]
        lang: Lang,
        /// List the attack's steps and the ATT&CK for ICS techniques they exercise (the
        /// answer key: for instructors).
        #[arg(long)]
        techniques: bool,
    },
    /// Print a generated plant of N identical tank units (for load tests and benchmarks).
    #[command(hide = true)]
    Synthetic {
        /// Number of PLCs.
        plcs: usize,
    },
    /// Validate scenario files; exits 1 and prints FILE:LINE:COL: message for each problem.
    Validate {
        /// Files to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

/// UI language.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    Zh,
}

fn main() -> ExitCode {
    // `icsdrill drills | head`: a closed pipe ends the program quietly, as with any Unix tool,
    // rather than with a panic message (println! panics when stdout is gone).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "icsdrill=info,warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let result = match cli.command {
        None => serve::run(serve::Args::default_drill(), cli.database.as_deref()),
        Some(Command::Serve(args)) => serve::run(args, cli.database.as_deref()),
        Some(Command::Simulate(args)) => simulate::run(args),
        Some(Command::Replay { drill, data_dir }) => {
            replay_cmd(&drill, &Location::new(data_dir, &cli.database))
        }
        Some(Command::Drills { data_dir }) => drills_cmd(&Location::new(data_dir, &cli.database)),
        Some(Command::Exam { cmd, data_dir }) => exam_cmd::exam(cmd, &Location::new(data_dir, &cli.database)),
        Some(Command::Cert(CertCmd::Verify { file, data_dir, public_key })) => {
            let with_store = data_dir.is_some() || cli.database.is_some();
            exam_cmd::verify(
                &file,
                with_store,
                public_key.as_deref(),
                &Location::new(data_dir, &cli.database),
            )
        }
        Some(Command::Registry { cmd, data_dir }) => {
            registry_cmd::registry(cmd, &Location::new(data_dir, &cli.database))
        }
        Some(Command::Region { cmd, data_dir }) => {
            registry_cmd::region(cmd, &Location::new(data_dir, &cli.database))
        }
        Some(Command::Findings { drill, deadlines, data_dir }) => {
            findings_cmd(&drill, deadlines, &Location::new(data_dir, &cli.database))
        }
        Some(Command::Report { drill, team, format, lang, out, deadlines, data_dir }) => report_cmd(
            &drill,
            team.as_deref(),
            &format,
            lang,
            out.as_deref(),
            deadlines,
            &Location::new(data_dir, &cli.database),
        ),
        Some(Command::Scenarios(ScenariosCmd::List)) => scenarios_cmd::list(),
        Some(Command::Scenarios(ScenariosCmd::Show { scenario, lang, techniques })) => {
            scenarios_cmd::show(&scenario, lang, techniques)
        }
        Some(Command::Scenarios(ScenariosCmd::Validate { paths })) => scenarios_cmd::validate(&paths),
        Some(Command::Scenarios(ScenariosCmd::Synthetic { plcs })) => {
            print!("{}", icsdrill_scenarios::synthetic_yaml(plcs));
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// A number as a person typed it, short: `1e308`, not 309 digits.
pub(crate) fn shown(x: f64) -> String {
    if x != 0.0 && !(1e-3..1e9).contains(&x.abs()) { format!("{x:e}") } else { format!("{x}") }
}

/// Loads a scenario given as a built-in id or a path.
pub(crate) fn load_scenario(arg: &str) -> Result<Arc<Scenario>> {
    load_scenario_source(arg).map(|(s, _)| s)
}

/// Loads a scenario given as a built-in id or a path, with its source text.
pub(crate) fn load_scenario_source(arg: &str) -> Result<(Arc<Scenario>, String)> {
    if let Some(b) = icsdrill_scenarios::builtin(arg) {
        let s = b.load().map_err(|e| anyhow::anyhow!("built-in scenario `{arg}` is invalid:\n{e}"))?;
        return Ok((s, b.source.to_string()));
    }
    let path = PathBuf::from(arg);
    if !path.exists() {
        bail!("no built-in scenario or file named `{arg}` (see `icsdrill scenarios list`)");
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let source = Scenario::text(arg, &bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let s = Scenario::from_yaml(arg, &source).map(Arc::new).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((s, source))
}

/// Where a command finds the database: `--data-dir` and the global `--database`.
pub(crate) struct Location {
    pub(crate) data_dir: Option<PathBuf>,
    database: Option<String>,
}

impl Location {
    fn new(data_dir: Option<PathBuf>, database: &Option<String>) -> Location {
        Location { data_dir, database: database.clone() }
    }

    /// The database.
    pub(crate) fn database(&self) -> Result<icsdrill::store::Database> {
        icsdrill::store::Database::resolve(self.data_dir.as_deref(), self.database.as_deref())
    }

    /// Opens it, creating it if needed.
    pub(crate) fn create(&self) -> Result<Box<dyn icsdrill::store::Store>> {
        self.database()?.open()
    }
}

/// Opens an existing database (an SQLite file that is not there is an error, not a new one).
fn open_store(at: &Location) -> Result<Box<dyn icsdrill::store::Store>> {
    let db = at.database()?;
    if let icsdrill::store::Database::Sqlite(dir) = &db
        && !icsdrill::store::db_path(dir).exists()
    {
        bail!("no drill database in {} (give --data-dir or --database)", dir.display());
    }
    db.open()
}

fn drills_cmd(at: &Location) -> Result<ExitCode> {
    let store = open_store(at)?;
    for d in store.drills()? {
        let teams = store.drill(&d.id)?.map(|(_, t)| t.len()).unwrap_or(0);
        println!(
            "{}  {:<10} {:<9} {:<26} seed {:<6} {} team(s)  {}",
            d.id, d.mode, d.phase, d.scenario_id, d.seed, teams, d.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn replay_cmd(drill: &str, at: &Location) -> Result<ExitCode> {
    let store = open_store(at)?;
    let (record, verdicts) = icsdrill::replay::verify(&*store, drill)?;
    println!(
        "drill {} ({}, {}), scenario {} {}, seed {}",
        record.id,
        record.name,
        record.mode,
        record.scenario_id,
        &record.scenario_hash[..12],
        record.seed
    );
    let mut ok = true;
    for v in &verdicts {
        println!(
            "team {}: {} inputs; events stored {} replayed {}; log sha256 stored {} replayed {}; score stored {:.1} replayed {:.1}: {}",
            v.team,
            v.inputs,
            v.events.0,
            v.events.1,
            v.stored_hash,
            v.replayed_hash,
            v.scores.0,
            v.scores.1,
            if v.matches() { "identical" } else { "DIVERGED" }
        );
        if let Some(i) = v.first_difference {
            println!("  first difference at event {i}");
        }
        ok &= v.matches();
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn report_cmd(
    drill: &str,
    team: Option<&str>,
    format: &str,
    lang: Lang,
    out: Option<&std::path::Path>,
    deadlines: Option<icsdrill_judge::findings::Deadlines>,
    at: &Location,
) -> Result<ExitCode> {
    use icsdrill::report::{self, Format};
    let format = Format::parse(format)
        .with_context(|| format!("unknown format `{format}`: html, md, json or xlsx"))?;
    let store = open_store(at)?;
    let Some((record, teams)) = store.drill(drill)? else {
        bail!("no drill `{drill}` in the store (see `icsdrill drills`)");
    };
    if let Some(t) = team
        && !teams.iter().any(|x| x.id == t)
    {
        let ids: Vec<&str> = teams.iter().map(|t| t.id.as_str()).collect();
        bail!("drill {drill} has no team `{t}` (teams: {})", ids.join(", "));
    }
    let loaded = icsdrill::replay::load(&*store, &record, &teams)?;
    let lang = match lang {
        Lang::En => report::Lang::En,
        Lang::Zh => report::Lang::Zh,
    };
    let selected: Vec<_> =
        loaded.teams.iter().zip(&teams).filter(|(t, _)| team.is_none_or(|x| x == t.id)).collect();
    if format == Format::Xlsx && out.is_none() {
        bail!("xlsx needs --out FILE (or a directory for every team)");
    }
    let ext = match format {
        Format::Html => "html",
        Format::Md => "md",
        Format::Json => "json",
        Format::Xlsx => "xlsx",
    };
    for (t, info) in &selected {
        let ctx = report::Context {
            drill_id: record.id.clone(),
            drill_name: record.name.clone(),
            mode: record.mode.clone(),
            team_id: info.id.clone(),
            team_name: info.name.clone(),
            level: loaded.scenario.meta.level,
            date: report::civil(report::day_of_ms(record.created_ms)),
            seed: record.seed,
            deadlines,
            end_tick: None,
        };
        let r = report::build(&loaded.scenario, t.sim.events(), record.mode == "enterprise", ctx);
        let bytes = report::render(&r, format, lang)?;
        match out {
            None => {
                use std::io::Write as _;
                std::io::stdout().write_all(&bytes)?;
            }
            Some(path) if team.is_some() || selected.len() == 1 && !path.is_dir() => {
                write_atomic(path, &bytes)?;
                eprintln!("{}: {} findings -> {}", info.id, r.findings.len(), path.display());
            }
            Some(dir) => {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                let path = dir.join(format!("{}-{}.{ext}", record.id, info.id));
                write_atomic(&path, &bytes)?;
                eprintln!("{}: {} findings -> {}", info.id, r.findings.len(), path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `FILE.tmp`, then renames it: a reader never sees half a report.
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn findings_cmd(
    drill: &str,
    deadlines: Option<icsdrill_judge::findings::Deadlines>,
    at: &Location,
) -> Result<ExitCode> {
    let mut store = open_store(at)?;
    for (team, outcomes) in icsdrill::rectify::track_drill(&mut *store, drill, deadlines)? {
        println!("enterprise {team}:");
        for o in &outcomes {
            println!("  {:<28} {:<15} -> {}", o.id, o.verdict, o.status);
        }
        let open = store.findings(&team)?.iter().filter(|f| f.status == "open").count();
        println!("  {open} open finding(s) for {team}");
    }
    Ok(ExitCode::SUCCESS)
}
