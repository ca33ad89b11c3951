//! `icsdrill simulate`: a headless run as fast as the machine allows.
//!
//! The event log is written to `OUT.tmp` and renamed to `OUT` only when the run completes, so
//! a file at `OUT` is always a whole log.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use icsdrill_engine::{EventKind, Sim, TimedInput, parse_inputs};

use super::load_scenario;

/// Arguments of `icsdrill simulate`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Built-in scenario id or path to a YAML file (内置场景编号或 YAML 文件路径).
    scenario: String,
    /// Seed of the run's randomness (运行的随机数种子).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated seconds to run (default: the scenario's duration)
    /// (运行的仿真秒数，默认为场景时长).
    #[arg(long)]
    duration: Option<f64>,
    /// JSON Lines file of timed inputs (`{"tick": N, "kind": ..., ...}`)
    /// (定时输入的 JSON Lines 文件).
    #[arg(long)]
    inputs: Option<PathBuf>,
    /// Where to write the event log, as JSON Lines (事件日志的输出路径，JSON Lines 格式).
    #[arg(long)]
    events: Option<PathBuf>,
    /// Print the summary as JSON (以 JSON 格式输出摘要).
    #[arg(long)]
    json: bool,
    /// Run the plant without the scenario's attack (只运行工艺装置，不含场景中的攻击).
    #[arg(long)]
    no_attack: bool,
}

#[tracing::instrument(name = "simulate", skip_all)]
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let mut scenario = load_scenario(&args.scenario)?;
    if args.no_attack {
        scenario = std::sync::Arc::new(scenario.without_attack());
    }
    let ticks = match args.duration {
        Some(d) if !(d > 0.0 && d <= icsdrill_engine::scenario::MAX_DURATION_S) => {
            bail!("--duration must be more than 0 and at most 604800 s (7 days), got {}", super::shown(d))
        }
        Some(d) => scenario.ticks(d),
        None => scenario.duration_ticks,
    };
    let inputs: Vec<TimedInput> = match &args.inputs {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            parse_inputs(&path.display().to_string(), &text)?
        }
        None => Vec::new(),
    };
    let mut out = match &args.events {
        Some(path) => {
            let tmp = tmp_path(path);
            let file =
                std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
            Some((BufWriter::new(file), tmp, path.clone()))
        }
        None => None,
    };

    let mut sim = Sim::new(scenario.clone(), args.seed);
    let progress = std::io::stderr().is_terminal() && !args.json;
    let started = Instant::now();
    let mut last_report = started;
    let mut written = 0;
    // Run in slices so the log streams to disk and the progress line stays current.
    let slice = u64::from(scenario.tick_hz) * 60;
    while sim.tick() < ticks {
        let end = (sim.tick() + slice).min(ticks);
        sim.run_until(end, &inputs);
        if let Some((w, tmp, _)) = out.as_mut() {
            for e in &sim.events()[written..] {
                writeln!(w, "{}", e.to_json()).with_context(|| format!("cannot write {}", tmp.display()))?;
            }
            written = sim.events().len();
        }
        if progress && last_report.elapsed() > Duration::from_millis(250) {
            last_report = Instant::now();
            eprint!(
                "\r  simulating {}: {:>5.1}% ({} of {} s)",
                scenario.id,
                100.0 * sim.tick() as f64 / ticks as f64,
                sim.tick() / u64::from(scenario.tick_hz),
                ticks / u64::from(scenario.tick_hz)
            );
        }
    }
    if progress {
        eprint!("\r{:70}\r", "");
    }
    let wall = started.elapsed();
    if let Some((mut w, tmp, path)) = out {
        if sim.tick() == 0 {
            writeln!(w, "{}", sim.events()[0].to_json())?;
        }
        w.flush().with_context(|| format!("cannot write {}", tmp.display()))?;
        drop(w);
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    }

    let summary = sim.summary();
    let sim_s = summary.ticks as f64 / f64::from(scenario.tick_hz);
    if args.json {
        let v = serde_json::json!({
            "scenario": scenario.id, "seed": args.seed, "summary": summary,
            "simulated_s": sim_s, "wall_s": wall.as_secs_f64(),
        });
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    print_summary(&sim, &args, wall);
    if let Some(path) = &args.events {
        println!("event log  {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The run in plain text: counts, then trips, damage, refusals and attack attempts in time
/// order.
fn print_summary(sim: &Sim, args: &Args, wall: Duration) {
    let scenario = sim.scenario();
    let summary = sim.summary();
    let sim_s = summary.ticks as f64 / f64::from(scenario.tick_hz);
    println!("scenario   {} (seed {})", scenario.id, args.seed);
    println!("ticks      {} ({sim_s} simulated s at {} Hz)", summary.ticks, scenario.tick_hz);
    println!(
        "wall time  {:.3} s ({:.0}x real time)",
        wall.as_secs_f64(),
        sim_s / wall.as_secs_f64().max(1e-9)
    );
    println!("events     {}", summary.events);
    for (kind, n) in &summary.by_kind {
        println!("  {kind:<18} {n}");
    }
    println!("trips      {}", summary.trips);
    println!("damage     {}", summary.damage);
    for e in sim.events() {
        let line = match &e.kind {
            EventKind::InterlockTripped { plc, interlock, value } => {
                format!("trip    {interlock} in {plc} at {value}")
            }
            EventKind::Damage { var, value, .. } => format!("DAMAGE  {var} reached {value}"),
            EventKind::InputRejected { input, reason } => {
                format!("refused {} ({reason:?})", serde_json::to_string(input).unwrap_or_default())
            }
            EventKind::AttackAttempt { step, attempt, ok, reason, .. } if *attempt == 1 || !*ok => {
                match reason {
                    Some(r) => format!("attack  {step} #{attempt} blocked ({r:?})"),
                    None => format!("attack  {step} #{attempt}"),
                }
            }
            _ => continue,
        };
        println!("  t={:>7.1}s  {line}", e.tick as f64 / f64::from(scenario.tick_hz));
    }
}

/// Writes a whole event log to `path`, through `path.tmp` and a rename, so `path` is never a
/// partial log.
/// Writes event lines (JSON, as `SimEvent::to_json` gives them) to `path` through
/// `path.tmp`, so `path` is always a whole log.
pub(crate) fn write_lines(path: &std::path::Path, lines: &[String]) -> Result<()> {
    let tmp = tmp_path(path);
    let file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut w = BufWriter::new(file);
    for l in lines {
        writeln!(w, "{l}").with_context(|| format!("cannot write {}", tmp.display()))?;
    }
    w.flush().with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(w);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

pub(crate) fn tmp_path(path: &std::path::Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}
