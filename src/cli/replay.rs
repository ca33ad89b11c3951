//! `icsdrill replay DRILL`: re-runs a recorded drill headless and compares logs and scores.

use std::process::ExitCode;

use anyhow::Result;

use super::{Location, open_store};

#[tracing::instrument(name = "replay", skip_all, fields(drill = %drill))]
pub(crate) fn run(drill: &str, at: &Location) -> Result<ExitCode> {
    let store = open_store(at)?;
    let (record, verdicts, loaded) = icsdrill::store::replay::verify_loaded(&*store, drill)?;
    println!(
        "drill {} ({}, {}), scenario {} {}, seed {}, engine rules {}",
        record.id,
        record.name,
        record.mode,
        record.scenario_id,
        &record.scenario_hash[..12],
        record.seed,
        icsdrill::store::replay::rules_of(&record)
    );
    // A drill stopped before its end replays to itself as far as it went: say how far.
    if !record.phase.is_over() {
        let reached: Vec<String> = loaded
            .teams
            .iter()
            .map(|t| format!("{} t = {:.0} s", t.id, t.end as f64 / f64::from(loaded.scenario.tick_hz)))
            .collect();
        println!(
            "the drill is not over (phase {}): its record stops at {}; `icsdrill serve --resume {}` continues it",
            record.phase,
            reached.join(", "),
            record.id
        );
    }
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
    if !ok && let Some(why) = icsdrill::store::replay::other_rules(&record) {
        println!("note: {why}");
    }
    if record.mode == icsdrill_drill::Mode::Exam {
        ok &= regrade(&*store, &record, &loaded)?;
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// An exam graded again from its replayed log, task by task, beside what its certificate
/// states: an auditor's re-grading (the console's task table is gone with its server).
fn regrade(
    store: &dyn icsdrill::store::Store,
    record: &icsdrill::store::DrillRecord,
    loaded: &icsdrill::store::replay::Loaded,
) -> Result<bool> {
    let Some(trainee) = loaded.teams.first() else { return Ok(true) };
    let (events, end) = trainee.judged();
    let s = &loaded.scenario;
    let grade = icsdrill_judge::exam::grade_at(s, events, s.exam.pass, end);
    let verdict = |passed: bool| if passed { "passed" } else { "not passed" };
    println!(
        "exam of {}: replayed grade {:.1} / {:.0}, {}",
        trainee.id,
        grade.total,
        grade.max,
        verdict(grade.passed)
    );
    for t in &grade.tasks {
        println!("  {:>5.1} / {:<4} {}: {}", t.points, t.max, t.title.en, t.detail.en);
    }
    let certified = store.exam(&record.id)?;
    Ok(match certified {
        Some(c) => {
            let same = c.passed == grade.passed && (c.total - grade.total).abs() < 0.05;
            println!(
                "  certified {:.1} / {:.0}, {}: {}",
                c.total,
                c.max,
                verdict(c.passed),
                if same {
                    "the same"
                } else {
                    "DIFFERS (graded under other rules, or the record was changed)"
                }
            );
            same
        }
        None => {
            println!("  not certified yet (the exam has not ended)");
            true
        }
    })
}
