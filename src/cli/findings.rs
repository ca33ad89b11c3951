//! `icsdrill findings DRILL`: tracks a recorded drill's findings per enterprise.

use std::process::ExitCode;

use anyhow::Result;

use super::{Location, open_store};

#[tracing::instrument(name = "findings", skip_all, fields(drill = %drill))]
pub(crate) fn run(
    drill: &str,
    deadlines: Option<icsdrill_judge::findings::Deadlines>,
    at: &Location,
) -> Result<ExitCode> {
    let mut store = open_store(at)?;
    for (team, outcomes) in icsdrill::governance::rectify::track_drill(&mut *store, drill, deadlines)? {
        println!("enterprise {team}:");
        for o in &outcomes {
            println!("  {:<28} {:<15} -> {}", o.id, o.verdict, o.status);
        }
        let open = store
            .findings(&team)?
            .iter()
            .filter(|f| f.status == icsdrill::store::FindingStatus::Open)
            .count();
        println!("  {open} open finding(s) for {team}");
    }
    Ok(ExitCode::SUCCESS)
}
