//! `icsdrill drills`: the recorded drills, newest first.

use std::process::ExitCode;

use anyhow::Result;

use super::{Location, open_store};

#[tracing::instrument(name = "drills", skip_all)]
pub(crate) fn run(at: &Location) -> Result<ExitCode> {
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
