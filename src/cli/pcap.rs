//! `icsdrill pcap`: a pcapng of a run's Modbus/TCP traffic for a window of simulated time,
//! rebuilt by replay: of a recorded drill's team (`--team`), or of a scenario run headless
//! with a seed and inputs.

use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use icsdrill::governance::pcap::{Run, write_pcap};
use icsdrill::runtime::placement::Placement;
use icsdrill_engine::{TimedInput, parse_inputs};

use super::{Location, load_scenario, open_store};

/// Arguments of `icsdrill pcap`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// A recorded drill's id (with `--team`), or a built-in scenario id or YAML file
    /// (已记录演练的编号（配合 `--team`），或内置场景编号、YAML 文件).
    source: String,
    /// The team whose range to capture (the source is then a drill)
    /// (要抓包的队伍靶场，此时来源为演练).
    #[arg(long)]
    team: Option<String>,
    /// First simulated second of the window (时间窗口的起始仿真秒).
    #[arg(long, default_value_t = 0.0)]
    from: f64,
    /// Simulated second the window ends at (时间窗口的结束仿真秒).
    #[arg(long)]
    to: f64,
    /// Where to write the capture (pcapng) (抓包文件（pcapng）的输出路径).
    #[arg(long)]
    out: PathBuf,
    /// Seed of a scenario run (场景运行的随机数种子).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed inputs of a scenario run (JSON Lines) (场景运行的定时输入，JSON Lines 格式).
    #[arg(long)]
    inputs: Option<PathBuf>,
    /// Wall-clock time plant time 0 of a scenario run stands for, in Beijing time
    /// (`YYYY-MM-DDTHH:MM`; default: today at 09:00) (场景运行中仿真时间
    /// 0 对应的北京时间，默认为当天 09:00). A drill's capture is stamped from its start.
    #[arg(long)]
    start: Option<String>,
    /// Where the drill database is (default: $ICSDRILL_DATA or ~/.local/share/icsdrill)
    /// (演练数据库所在目录，默认为 $ICSDRILL_DATA 或 ~/.local/share/icsdrill).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[tracing::instrument(name = "pcap", skip_all)]
pub(crate) fn run(args: Args, database: &Option<String>) -> Result<ExitCode> {
    if !(args.from >= 0.0 && args.to > args.from && args.to <= icsdrill_engine::scenario::MAX_DURATION_S) {
        bail!("--from and --to must satisfy 0 <= from < to <= 604800 simulated seconds");
    }
    if args.team.is_some() && args.start.is_some() {
        bail!("--start is for a scenario run: a drill's capture is stamped from the drill's start");
    }
    let Source { scenario, answering, seed, live_attacker, inputs, placement, epoch_ms } = match &args.team {
        Some(team) => of_drill(&args, database, team)?,
        None => of_scenario(&args, database)?,
    };
    let window = (scenario.ticks(args.from), scenario.ticks(args.to));
    let tmp = args.out.with_extension("pcapng.tmp");
    let file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let run = Run {
        scenario: &scenario,
        answering: &answering,
        seed,
        live_attacker,
        inputs: &inputs,
        placement: &placement,
        epoch_ms,
    };
    let cap = write_pcap(run, window, BufWriter::new(file))?;
    std::fs::rename(&tmp, &args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "{}: {} requests (Modbus, IEC 104 and OPC UA), {} packets, simulated {} s to {} s{}; t = 0 is {} (Beijing time)",
        args.out.display(),
        cap.requests,
        cap.packets,
        args.from,
        args.to,
        if cap.truncated { " (cut at the packet limit)" } else { "" },
        icsdrill::governance::dates::format_ms(i64::try_from(epoch_ms).unwrap_or(i64::MAX)),
    );
    if cap.summarised > 0 {
        println!(
            "{} Modbus requests were over the range's record budget (a scan or a flood): counted in the log's traffic summaries, not in the capture; packet comments mark where",
            cap.summarised
        );
    }
    if cap.read_writes > 0 {
        println!(
            "{} FC 23 (read/write multiple registers) requests are not drawn: the record keeps what they wrote (the log's modbus_transaction events, function 23), not what they read; packet comments mark where",
            cap.read_writes
        );
    }
    if cap.engineering > 0 {
        println!(
            "{} engineering requests (FC 90: program upload or download, mode change, restart) are not drawn: the record keeps what they asked (the log's modbus_transaction events, function 90), not the vendor protocol's bytes; packet comments mark where",
            cap.engineering
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What a capture is rebuilt from, owned.
struct Source {
    scenario: std::sync::Arc<icsdrill_engine::Scenario>,
    /// The scenario the endpoints answered by (a contest team's flags in it): what the capture
    /// shows them answer.
    answering: std::sync::Arc<icsdrill_engine::Scenario>,
    seed: u64,
    live_attacker: bool,
    inputs: Vec<TimedInput>,
    placement: Placement,
    epoch_ms: u64,
}

/// A recorded drill's team's range, up to what is on record.
fn of_drill(args: &Args, database: &Option<String>, team: &str) -> Result<Source> {
    let store = open_store(&Location::new(args.data_dir.clone(), database))?;
    let (record, teams) =
        store.drill(&args.source)?.with_context(|| format!("no drill `{}`", args.source))?;
    if !teams.iter().any(|t| t.id == *team) {
        let ids: Vec<&str> = teams.iter().map(|t| t.id.as_str()).collect();
        bail!("drill `{}` has no team `{team}` (teams: {})", record.id, ids.join(", "));
    }
    let scenario = icsdrill::store::replay::stored_scenario(&record)?;
    // The capture is of what happened: not past the team's last tick on record.
    let end = store.last_tick(&record.id, team)?.map_or(0, |t| t + 1);
    if end == 0 {
        bail!("team `{team}`'s range in drill `{}` has nothing on record yet: it has not started", record.id);
    }
    if scenario.ticks(args.to) > end {
        bail!(
            "team `{team}`'s log of drill `{}` ends at {} s: --to must be at most that",
            record.id,
            end as f64 / f64::from(scenario.tick_hz)
        );
    }
    let placement = icsdrill::drill::team_placement(&record, &teams, &scenario, team)?;
    // Tick 0 is the start, not the creation (a briefing before it); a record from before
    // starts were kept counts from its creation, as it did then.
    let started = icsdrill::store::started_ms(&*store, &record.id)?;
    let epoch = u64::try_from(started.unwrap_or(record.created_ms)).unwrap_or(0);
    let answering = icsdrill::drill::team_scenario(&record, scenario.clone(), team);
    let inputs = store.inputs(&record.id, team)?;
    Ok(Source {
        scenario,
        answering,
        seed: record.seed,
        live_attacker: record.live_attacker,
        inputs,
        placement,
        epoch_ms: epoch,
    })
}

/// A scenario run headless with the arguments' seed and inputs.
fn of_scenario(args: &Args, database: &Option<String>) -> Result<Source> {
    let scenario = load_scenario(&args.source).map_err(|e| {
        // A drill's id without --team: said so, with its teams.
        let drill = open_store(&Location::new(args.data_dir.clone(), database))
            .ok()
            .and_then(|store| store.drill(&args.source).ok().flatten());
        match drill {
            Some((record, teams)) => {
                let ids: Vec<&str> = teams.iter().map(|t| t.id.as_str()).collect();
                anyhow::anyhow!(
                    "`{}` is a drill: give the team whose range to capture, --team TEAM (its teams: {})",
                    record.id,
                    ids.join(", ")
                )
            }
            None => e,
        }
    })?;
    let inputs = match &args.inputs {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            parse_inputs(&path.display().to_string(), &text)?
        }
        None => Vec::new(),
    };
    let placement = Placement::canonical(&scenario);
    let start = start_ms(args.start.as_deref())?;
    Ok(Source {
        scenario: scenario.clone(),
        answering: scenario,
        seed: args.seed,
        live_attacker: false,
        inputs,
        placement,
        epoch_ms: start,
    })
}

/// Unix milliseconds of `--start` (Beijing time), or of today at 09:00 there.
fn start_ms(start: Option<&str>) -> Result<u64> {
    let civil = match start {
        Some(text) => text
            .trim()
            .parse::<jiff::civil::DateTime>()
            .ok()
            .filter(|t| (1970..=2999).contains(&t.year()))
            .with_context(|| {
                format!(
                    "--start `{text}` is not a time: YYYY-MM-DDTHH:MM in Beijing time, e.g. 2026-09-15T09:00"
                )
            })?,
        None => icsdrill::governance::dates::today().0.at(9, 0, 0, 0),
    };
    let ms = icsdrill::governance::dates::zoned_ms(civil).context("--start is not a time in Beijing")?;
    u64::try_from(ms).context("--start is before 1970")
}
