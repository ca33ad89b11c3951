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
        println!(
            "{}  {:<10} {:<9} {:<26} seed {:<6} {} team(s)  {}",
            d.id, d.mode, d.phase, d.scenario_id, d.seed, teams, d.name
        );
    }
    // The store cannot tell a drill running now from one whose server was stopped or killed.
    if drills.iter().any(|d| !d.phase.is_over()) {
        eprintln!(
            "a drill not over is running, or its server stopped before its end: `icsdrill serve --resume ID` continues it; \
             its report, findings and bundle come when it ends"
        );
    }
    Ok(ExitCode::SUCCESS)
}
