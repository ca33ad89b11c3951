//! `serve --teams`/`--drill`/`--resume`: a drill of one range per team, its banner, and what
//! a drill leaves behind when it ends (summaries, event logs, findings, a certificate).

use std::process::ExitCode;

use anyhow::{Context, Result};
use icsdrill::drill::{Drill, DrillServer, DrillSpec};
use icsdrill::runtime::range::Options;
use icsdrill::store::Database;
use icsdrill_drill::views::ConnectHint;
use icsdrill_drill::{Control, Mode, Phase};
use icsdrill_engine::Sim;
use icsdrill_web::drill::DrillApi;

use super::super::simulate::write_lines;
use super::{Args, stop_signal};

/// A drill to run: new, or resumed from the store.
pub(super) enum Launch {
    New(Box<DrillSpec>),
    Resume {
        id: String,
        range: Box<Options>,
    },
    /// A node of a drill over several nodes.
    Join {
        spec: Box<DrillSpec>,
        node: String,
        url: Option<String>,
    },
}

/// Runs a drill until Ctrl-C or its end, then reports and records what it found.
pub(super) fn run_drill(launch: Launch, args: &Args, db: Database) -> Result<ExitCode> {
    let runtime = crate::cli::async_runtime()?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let server = start(launch, &db).await?;
        let stop = stop_signal()?;
        let drill = server.drill.clone();
        // Served now: no longer a drill whose server stopped.
        mark_stopped(&db, &drill, None).await?;
        if args.start {
            match drill.phase() {
                Phase::Briefing => drill.control(Control::Start).map_err(|e| anyhow::anyhow!(e))?,
                Phase::Paused => drill.control(Control::Resume).map_err(|e| anyhow::anyhow!(e))?,
                _ => drill.phase(),
            };
        }
        banner(&drill, args, &db, &server.http.to_string(), started)?;
        let scenario = drill.scenario();
        let end = args.duration.map(|d| scenario.ticks(d));
        let mut stop = std::pin::pin!(stop);
        // An ended drill resumed (to bring its pages back) has both ended and run its time:
        // it keeps its pages, as one the white cell ends does.
        let ended_here = tokio::select! {
            biased;
            _ = &mut stop => {
                tracing::info!("stopping");
                false
            }
            () = until_white_cell_ends(&drill), if drill.node().is_none() => true,
            () = until_ranges_end(&drill, end) => false,
        };
        // Over: the white cell ended it (hot wash, end) or its time ran out. A stop before that
        // (Ctrl-C, SIGTERM) leaves it to be resumed.
        let over = drill.phase().is_over() || ranges_ended(&drill, end);
        if over && !drill.phase().is_over() {
            time_is_up(&drill).await;
        }
        let mut concluded = None;
        // An exam run to its own time limit keeps its pages as one the white cell ends does: the
        // trainee opens the signed result from the console (`--duration` closes it as any drill).
        let exam_time_up = over
            && !ended_here
            && drill.info().mode == Mode::Exam
            && args.duration.is_none()
            && drill.node().is_none();
        if ended_here || exam_time_up {
            // Ended by the white cell (or an exam's time limit), the drill keeps its pages until
            // Ctrl-C; its certificate and findings come now, once its logs are on disk (they
            // wait for the stop when the database lags behind).
            if tokio::time::timeout(RECORDS_WAIT, drill.all_recorded()).await.is_ok() {
                let here = drill.teams().filter(|(t, _, _)| drill.live(&t.id).is_some());
                let here = here.map(|(t, _, _)| t.id.clone()).collect();
                concluded = Some(conclude(&db, args, &drill, here).await?);
            }
            println!("icsdrill: drill {} ended; its pages and reports stay here until Ctrl-C", drill.id);
            stop.await;
        }
        let sims = server.shutdown().await?;
        for (team, sim) in &sims {
            let (d, t) = (drill.clone(), team.clone());
            let total = tokio::task::spawn_blocking(move || d.final_score(&t)).await??.unwrap_or(0.0);
            stopped(&drill, args, &db, team, sim, total).await?;
        }
        if over {
            // Its pages close with the server: the white cell can bring them back.
            println!(
                "icsdrill: drill {id} is over: `icsdrill serve --resume {id}` brings its pages back (the final board, the reports)",
                id = drill.id
            );
            print_standings(&drill);
        }
        if !over {
            mark_stopped(&db, &drill, Some(icsdrill::governance::dates::now_ms())).await?;
            println!(
                "icsdrill: drill {id} stopped before its end: `icsdrill serve --resume {id}` continues it; \
                 its findings, its report and any certificate come when it ends",
                id = drill.id
            );
            return Ok(ExitCode::SUCCESS);
        }
        match concluded {
            Some(code) => Ok(code),
            None => conclude(&db, args, &drill, sims.into_iter().map(|(t, _)| t).collect()).await,
        }
    })
}

/// Records that `drill`'s server stopped before its end (`at`), or that one serves it again
/// (`None`), for `icsdrill drills`. A node of a drill over several nodes leaves it to the
/// coordinator.
async fn mark_stopped(db: &Database, drill: &Drill, at: Option<i64>) -> Result<()> {
    if drill.node().is_some() {
        return Ok(());
    }
    let (db, key) = (db.clone(), icsdrill::store::stopped_key(&drill.id));
    let value = at.map(|ms| ms.to_string()).unwrap_or_default();
    tokio::task::spawn_blocking(move || db.open()?.set_setting(&key, &value))
        .await?
        .context("cannot record the drill's server stop")
}

/// How long a drill the white cell ended waits for its logs to be on disk before it leaves
/// its certificate and findings to the stop.
const RECORDS_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Resolves when the white cell ends the drill (the hot wash or the end).
async fn until_white_cell_ends(drill: &Drill) {
    loop {
        let seen = DrillApi::seen(drill, None);
        if drill.phase().is_over() {
            return;
        }
        DrillApi::next_change(drill, None, seen).await;
    }
}

/// What an ended drill leaves behind: an exam's certificate (its trainee the first of `teams`,
/// those run here), and its findings in the enterprises' registers.
async fn conclude(db: &Database, args: &Args, drill: &Drill, teams: Vec<String>) -> Result<ExitCode> {
    if drill.info().mode == Mode::Exam
        && let Some(trainee) = teams.first()
    {
        certify(db, args, drill, trainee).await?;
    }
    record_findings(db.clone(), drill.id.clone()).await
}

/// Starts a new drill or resumes a recorded one (the newest when `id` is empty).
async fn start(launch: Launch, db: &Database) -> Result<DrillServer> {
    Ok(match launch {
        Launch::New(spec) => DrillServer::start(*spec).await?,
        Launch::Join { spec, node, url } => DrillServer::join(*spec, node, url).await?,
        Launch::Resume { id, range } => {
            let id = if id.is_empty() {
                let d = db.clone();
                let newest =
                    tokio::task::spawn_blocking(move || d.open()?.drills()).await??.into_iter().next();
                newest.map(|d| d.id).with_context(|| format!("no recorded drill in {}", db.describe()))?
            } else {
                id
            };
            let server = DrillServer::resume(db, &id, *range).await?;
            // The log's span names the record's scenario and seed, not the flags'.
            let span = tracing::Span::current();
            span.record("scenario", tracing::field::display(&server.drill.scenario().id));
            span.record("seed", server.drill.seed());
            println!("icsdrill: resumed drill {id} from {}", db.describe());
            server
        }
    })
}

/// Prints where everyone connects: the consoles with their tokens, each team's endpoints and
/// the client addresses it connects from.
fn banner(drill: &Drill, args: &Args, db: &Database, http: &str, started: std::time::Instant) -> Result<()> {
    let scenario = drill.scenario();
    let rate = args.tick_hz.unwrap_or(f64::from(scenario.tick_hz));
    let base = format!("http://{http}");
    println!("Drill {} recorded in {}", drill.id, db.describe());
    println!(
        "icsdrill: serving {} ({} / {}) as {} drill with {} team(s), seed {}, {} ticks per second, started in {} ms",
        scenario.id,
        scenario.meta.title.en,
        scenario.meta.title.zh,
        match drill.info().mode {
            Mode::Regional => "a regional",
            Mode::Contest => "a contest",
            Mode::Enterprise => "an enterprise",
            Mode::Exam => "an exam",
        },
        drill.teams().count(),
        drill.seed(),
        rate,
        started.elapsed().as_millis()
    );
    let loopback_teams = drill.teams().filter(|(t, _, _)| {
        drill.team_clients(&t.id).is_some_and(|nets| nets.iter().all(|n| n.network().is_loopback()))
    });
    if args.bind.is_loopback() && loopback_teams.count() > 1 {
        // Fair only while nobody can bind another team's address: said where the white cell
        // starts a drill, not only in the README.
        println!(
            "note: the teams are kept apart by their loopback addresses, and any process on this host can \
             bind another team's: trainees must have no shell here (a contest between teams with shells of \
             their own is served on a real address with --bind and --clients) / 注意：各队仅以回环地址区分，\
             本机任何进程都可绑定其他队伍的地址：参赛人员不得登录本机（参赛人员各有终端时，请用 --bind 与 --clients 在真实地址上开展）"
        );
        // A client must come from its team's address: mbpoll cannot choose one, and is refused.
        println!(
            "note: each team's clients connect from its own loopback address (its console gives it): \
             mbpoll cannot bind one and is refused; use pymodbus (source_address), nmap -S or a client \
             bound to it / 注意：各队客户端须从本队回环地址连接（见队伍控制台）：mbpoll 无法指定源地址，\
             连接会被拒绝；请用 pymodbus（source_address）、nmap -S 或可绑定源地址的客户端"
        );
    }
    println!("Scoreboard (observers / 观察员):  {base}/?token={}", drill.observer_token());
    println!("Instructor (white cell / 导调组): {base}/instructor?token={}", drill.instructor_token());
    if let Some(node) = drill.node() {
        println!(
            "Node {node}: the teams are shared among the drill's nodes; each prints the teams it runs, \
             and any node's console redirects to the team's node"
        );
    }
    for (team, token, endpoints) in drill.teams() {
        println!();
        // A contest's bracket beside the name: the white cell hands out logins by bracket.
        // The name where it is not the id ("Team a (a)" said nothing twice).
        let mut about: Vec<String> = Vec::new();
        if team.name != team.id {
            about.push(team.name.clone());
        }
        if let Some(b) = &team.bracket {
            about.push(format!("bracket {b} / 组别 {b}"));
        }
        let about = if about.is_empty() { String::new() } else { format!(" ({})", about.join(", ")) };
        println!("Team {}{about} console / 队伍控制台: {base}/team/{}?token={token}", team.id, team.id);
        super::print_endpoints("  ", &endpoints);
        let nets = drill.team_clients(&team.id).unwrap_or_default();
        // A team another node runs: that node's banner says which host its addresses are.
        let hosts = drill.team_hosts(&team.id);
        let hint = ConnectHint::new(nets, &endpoints, hosts.as_ref().unwrap_or(&Default::default()));
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        println!("  clients / 客户端地址: {}", shown.join(", "));
        if let (Some(from), Some(host), Some(_)) = (hint.source, &hint.stands_for, &hosts) {
            let others: Vec<String> =
                hint.hosts.iter().map(|h| format!("{} {}", h.host, h.address)).collect();
            println!(
                "  a client at {from} acts as {host} / 客户端代表主机 {host}; bound to act as another: {}",
                others.join(", ")
            );
        }
        if hint.mbpoll.is_none() {
            println!("  connect from there, e.g. pymodbus: {}", hint.pymodbus);
            println!("                     or nmap: {}", hint.nmap);
        }
    }
    println!();
    println!("API: {base}/api/openapi.json (Authorization: Bearer TOKEN)");
    match drill.phase() {
        Phase::Briefing => println!("Phase: briefing; start the drill from the instructor console."),
        p => println!("Phase: {}", serde_json::to_value(p)?.as_str().unwrap_or_default()),
    }
    // The plant stands still once the white cell ends the drill: its time never runs out then.
    println!(
        "Press Ctrl-C to stop. Ended by the white cell, the drill keeps its pages and reports here until then."
    );
    Ok(())
}

/// Resolves when every team's range has stopped by itself or reached tick `end`: woken by
/// their ticks, not a timer.
async fn until_ranges_end(drill: &Drill, end: Option<u64>) {
    if drill.node().is_some() {
        // A node of a drill over several nodes: its teams come and go; it runs until the
        // white cell ends the drill (or it is stopped).
        return until_white_cell_ends(drill).await;
    }
    let lives: Vec<_> = drill.teams().filter_map(|(t, _, _)| drill.live(&t.id)).collect();
    for live in lives {
        match end {
            Some(end) => live.wait_for_tick(end).await,
            None => live.finished().await,
        }
    }
}

/// How long a drill whose time ran out waits for its pages to be shown the end.
const END_SHOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A drill whose time ran out ends for every team: the phase is recorded, and the boards
/// published with it before the server closes, so the pages keep the final view (not a lost
/// connection) and a resume finds it ended.
async fn time_is_up(drill: &Drill) {
    if let Err(e) = DrillApi::control(drill, Control::End) {
        tracing::warn!(error = %e, "could not end the drill");
        return;
    }
    let mut public = drill.scoreboard(false);
    let shown = tokio::time::timeout(END_SHOWN_WAIT, public.wait_for(|b| b.head.phase == Phase::Ended)).await;
    if !matches!(shown, Ok(Ok(_))) {
        tracing::warn!("the ended board was not published in time; the pages may show a lost connection");
    }
}

/// Whether every team's range has stopped by itself (only at its duration's end) or reached
/// tick `end`.
fn ranges_ended(drill: &Drill, end: Option<u64>) -> bool {
    drill.teams().all(|(t, _, _)| {
        drill.live(&t.id).is_some_and(|l| l.stopped() || end.is_some_and(|e| l.snapshot().tick >= e))
    })
}

/// Prints the final standings of an ended drill of several teams (not an exam): the white cell
/// has them when the server closes with its time, as the pages had them (`GET
/// /api/drill/standings` while it runs).
fn print_standings(drill: &Drill) {
    let standings = DrillApi::standings(drill);
    if drill.info().mode == Mode::Exam || standings.rows.len() < 2 {
        return;
    }
    println!("final standings ({}):", standings.phase);
    for r in &standings.rows {
        let bracket = match (&r.bracket, r.bracket_rank) {
            (Some(b), Some(k)) => format!(" ({b}: {k})"),
            _ => String::new(),
        };
        let settled = r.settled_s.map(|s| format!(", settled at {s:.1} s")).unwrap_or_default();
        let flag = r.last_flag_s.map(|s| format!(", last flag at {s:.1} s")).unwrap_or_default();
        let bloods = match r.first_bloods.as_slice() {
            [] => String::new(),
            b => format!("; first blood: {}", b.join(", ")),
        };
        println!("  {:>3}. {}{bracket}: {:.1}{settled}{flag}{bloods}", r.rank, r.team, r.total);
    }
}

/// Prints a team's summary and, with `--events DIR`, writes its whole log from the store.
async fn stopped(drill: &Drill, args: &Args, db: &Database, team: &str, sim: &Sim, total: f64) -> Result<()> {
    let summary = sim.summary();
    // An exam's result is its grade (printed with its certificate), not a drill score.
    let score = if drill.info().mode == Mode::Exam { String::new() } else { format!("score {total:.1}, ") };
    println!(
        "icsdrill: stopped at tick {} ({} simulated s): team {team}: {score}{} events, {} trips, {} damage",
        summary.ticks,
        summary.ticks / u64::from(sim.scenario().tick_hz),
        summary.events,
        summary.trips,
        summary.damage
    );
    if let Some(dir) = &args.events {
        // The whole log is in the store (memory kept only a window of it).
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{team}.jsonl"));
        let (d, id, t) = (db.clone(), drill.id.clone(), team.to_string());
        let lines = tokio::task::spawn_blocking(move || d.open()?.events(&id, &t)).await??;
        write_lines(&path, &lines)?;
        println!("event log  {}", path.display());
    }
    Ok(())
}

/// The findings of an ended drill join each enterprise's rectification register. (Whether the
/// drill counts for a registered enterprise's cadence is read from the record where cadence
/// is: `governance::region`, one rule; an activity stored here counted a drill of another
/// plant that the rule does not.)
async fn record_findings(db: Database, drill_id: String) -> Result<ExitCode> {
    let id = drill_id.clone();
    // The store may block (PostgreSQL): off the async runtime.
    let tracked = tokio::task::spawn_blocking(move || -> Result<_> {
        let mut store = db.open()?;
        Ok(icsdrill::governance::rectify::track_drill(&mut *store, &id, None)?)
    })
    .await?;
    match tracked {
        Ok(teams) => {
            for (team, outcomes) in teams {
                use icsdrill::governance::rectify::Verdict;
                let count = |v: Verdict| outcomes.iter().filter(|o| o.verdict == v).count();
                let again = count(Verdict::AlreadyTracked);
                if again > 0 && again == outcomes.len() {
                    // An ended drill resumed: its findings joined the register when it ended
                    // (it said "0 new, 0 still open" of a register holding them all).
                    println!(
                        "findings of team {team}: {again} on the register already, since the drill ended (icsdrill findings {drill_id} lists them)"
                    );
                    continue;
                }
                println!(
                    "findings of team {team}: {} new, {} still open, {} verified fixed on its rectification register, one a hazard id (the report groups them into its items: icsdrill report {drill_id} --team {team})",
                    count(Verdict::New) + count(Verdict::Reopened),
                    count(Verdict::StillOpen) + count(Verdict::NotRetested),
                    count(Verdict::Verified)
                );
            }
        }
        Err(e) => tracing::error!(error = %format!("{e:#}"), "cannot record the findings"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Grades a finished exam drill, signs its certificate, records it and writes it next to the
/// database.
async fn certify(db: &Database, args: &Args, drill: &Drill, trainee: &str) -> Result<()> {
    let key_dir = icsdrill::store::data_dir(args.data_dir.as_deref())?;
    let stem = key_dir.join("certificates").join(format!("{}-{trainee}", drill.id));
    // An ended exam resumed to bring its pages back was certified when it ended: once only
    // (the second record used to fail, and the server left before serving the pages).
    let (d, id) = (db.clone(), drill.id.clone());
    let certified =
        tokio::task::spawn_blocking(move || -> Result<bool> { Ok(d.open()?.exam(&id)?.is_some()) }).await??;
    if certified {
        println!("exam certified when it ended; certificate {}", stem.with_extension("json").display());
        return Ok(());
    }
    // The exam's scenario: the trainee's variant, which the drill ran.
    let scenario = drill.scenario();
    // Graded from the judged events of the trainee's whole log (memory keeps only those and a
    // window of the rest), at the tick the exam ended.
    let (events, end) = drill.judged_log(trainee)?.context("the exam's trainee has no range")?;
    let grade = icsdrill_judge::exam::grade_at(&scenario, &events, scenario.exam.pass, end);
    let info = drill.info();
    let candidate = icsdrill::governance::exam::Trainee {
        id: trainee.to_string(),
        name: info.teams.first().map_or(trainee.to_string(), |t| t.name.clone()),
        cohort: drill.cohort().to_string(),
    };
    let sitting = icsdrill::governance::exam::Sitting {
        trainee: &candidate,
        exam: info.scenario.split('~').next().unwrap_or_default(),
        variant_seed: drill.variant_seed().unwrap_or_default(),
        date: icsdrill::governance::dates::today(),
        drill: &drill.id,
        replay_hash: drill.log_hash(trainee).unwrap_or_default(),
        issuer: drill.cover().organiser.as_deref(),
        rule: scenario.exam.pass,
        valid_years: scenario.exam.valid_years,
    };
    let (cert, record) = icsdrill::governance::exam::certificate(&sitting, &grade, &key_dir)?;
    // Recorded first: an exam already certified is not certified again (nor its files
    // overwritten).
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.open()?.save_exam(&record))
        .await?
        .context("cannot record the exam (was it certified already?)")?;
    std::fs::create_dir_all(key_dir.join("certificates"))?;
    std::fs::write(stem.with_extension("json"), serde_json::to_vec_pretty(&cert)?)?;
    std::fs::write(stem.with_extension("html"), icsdrill::governance::cert::html(&cert, true))?;
    println!(
        "exam {}: {:.1} of {:.0}; certificate {}",
        if grade.passed { "PASSED" } else { "NOT PASSED" },
        grade.total,
        grade.max,
        stem.with_extension("json").display()
    );
    Ok(())
}
