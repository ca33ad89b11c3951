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
    if let Some(b) = icsdrill_scenarios::builtin(arg) {
        return b.load().map_err(|e| anyhow::anyhow!("built-in scenario `{arg}` is invalid:\n{e}"));
    }
    let path = PathBuf::from(arg);
    if !path.exists() {
        bail!("no built-in scenario or file named `{arg}` (see `icsdrill scenarios list`)");
    }
    let source = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Scenario::from_yaml(arg, &source).map(Arc::new).map_err(|e| anyhow::anyhow!("{e}"))
}
