//! The `icsdrill` command line.
//!
//! # Layout
//!
//! - `main.rs`: argument definitions and dispatch.
//! - `scenarios_cmd.rs`: `icsdrill scenarios list|show|validate`.
//! - `simulate.rs`: `icsdrill simulate`, headless runs with a progress line and a summary.
//! - `serve.rs`: `icsdrill serve`, the live range (library code in `lib.rs`).

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
    /// List recorded drills.
    Drills {
        /// Where the drill database is.
        #[arg(long)]
        data_dir: Option<PathBuf>,
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
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "icsdrill=info,warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let result = match cli.command {
        None => serve::run(serve::Args::default_drill()),
        Some(Command::Serve(args)) => serve::run(args),
        Some(Command::Simulate(args)) => simulate::run(args),
        Some(Command::Replay { drill, data_dir }) => replay_cmd(&drill, data_dir.as_deref()),
        Some(Command::Drills { data_dir }) => drills_cmd(data_dir.as_deref()),
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
    let source = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let s = Scenario::from_yaml(arg, &source).map(Arc::new).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((s, source))
}

fn open_store(data_dir: Option<&std::path::Path>) -> Result<icsdrill::store::SqliteStore> {
    let dir = icsdrill::store::data_dir(data_dir)?;
    if !icsdrill::store::db_path(&dir).exists() {
        bail!("no drill database in {} (give --data-dir)", dir.display());
    }
    icsdrill::store::SqliteStore::open(&dir)
}

fn drills_cmd(data_dir: Option<&std::path::Path>) -> Result<ExitCode> {
    use icsdrill::store::Store as _;
    let store = open_store(data_dir)?;
    for d in store.drills()? {
        let teams = store.drill(&d.id)?.map(|(_, t)| t.len()).unwrap_or(0);
        println!(
            "{}  {:<10} {:<9} {:<26} seed {:<6} {} team(s)  {}",
            d.id, d.mode, d.phase, d.scenario_id, d.seed, teams, d.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn replay_cmd(drill: &str, data_dir: Option<&std::path::Path>) -> Result<ExitCode> {
    let store = open_store(data_dir)?;
    let (record, verdicts) = icsdrill::replay::verify(&store, drill)?;
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
