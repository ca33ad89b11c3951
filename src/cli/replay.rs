//! `icsdrill replay DRILL`: re-runs a recorded drill headless and compares logs and scores.

use std::process::ExitCode;

use anyhow::Result;

use super::{Location, open_store};

#[tracing::instrument(name = "replay", skip_all, fields(drill = %drill))]
pub(crate) fn run(drill: &str, at: &Location) -> Result<ExitCode> {
    let store = open_store(at)?;
    let (record, verdicts) = icsdrill::store::replay::verify(&*store, drill)?;
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
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
