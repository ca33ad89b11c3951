//! `icsdrill drills`: the recorded drills, newest first.

use std::process::ExitCode;

use anyhow::Result;

use super::{Location, open_store};

#[tracing::instrument(name = "drills", skip_all)]
pub(crate) fn run(at: &Location) -> Result<ExitCode> {
    let store = open_store(at)?;
    let drills = store.drills()?;
    for d in &drills {
        let teams = store.drill(&d.id)?.map(|(_, t)| t.len()).unwrap_or(0);
        // When, in Beijing time: an official tells one year's drill from the next by it.
        let mut when = match icsdrill::store::started_ms(&*store, &d.id)? {
            Some(ms) => format!("started {}", minute(ms)),
            None => format!("created {}", minute(d.created_ms)),
        };
        // Not over, and its server stopped (Ctrl-C, SIGTERM): left to be resumed.
        let stopped = icsdrill::store::stopped_ms(&*store, &d.id)?.filter(|_| !d.phase.is_over());
        if let Some(ms) = stopped {
            when.push_str(&format!(", server stopped {}", minute(ms)));
        }
        println!(
            "{}  {:<10} {:<9} {:<26} seed {:<6} {} team(s)  {when}  {}",
            d.id, d.mode, d.phase, d.scenario_id, d.seed, teams, d.name
        );
    }
    // A drill not over whose server stopped says so; one with no such mark runs now, or its
    // server was killed outright.
    if drills.iter().any(|d| !d.phase.is_over()) {
        eprintln!(
            "a drill not over runs now, or its server stopped before its end (\"server stopped\") or was killed: \
             `icsdrill serve --resume ID` continues it; its report, findings and bundle come when it ends"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Unix milliseconds as the organiser's date and time to the minute (`2026-09-15 09:00`).
fn minute(ms: i64) -> String {
    let mut t = icsdrill::governance::dates::format_ms(ms);
    t.truncate(16);
    t
}
