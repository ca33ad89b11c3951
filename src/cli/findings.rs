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
    let tracked = icsdrill::governance::rectify::track_drill(&mut *store, drill, deadlines)?;
    if tracked.is_empty() {
        // A contest's or an exam's teams are no enterprises: nothing goes on a register.
        if let Some(mode) = store.drill(drill)?.map(|(r, _)| r.mode).filter(|m| !m.drills_an_enterprise()) {
            println!(
                "{drill} ({mode}): its teams are not enterprises, so no hidden hazards go on a register (its report lists what it found)"
            );
        }
    }
    for (team, outcomes) in tracked {
        println!("enterprise {team}:");
        // The server tracks a drill's findings as it ends: listed again here, they change
        // nothing (a first run of this command printed `already_tracked` unexplained).
        let again = icsdrill::governance::rectify::Verdict::AlreadyTracked;
        if !outcomes.is_empty() && outcomes.iter().all(|o| o.verdict == again) {
            println!("  tracked already (when the drill ended): the register is unchanged; as it stands:");
        }
        let tracked = store.findings(&team)?;
        for o in &outcomes {
            // What it is, not only its id: its tier and title in both languages.
            let about = tracked.iter().find(|f| f.id == o.id).map_or_else(String::new, |f| {
                let v: serde_json::Value = serde_json::from_str(&f.finding).unwrap_or_default();
                let title = f.title();
                // Found in which drill, and due when (open ones): what the register is for.
                let found = store
                    .drill(&f.first_drill)
                    .ok()
                    .flatten()
                    .map(|(d, _)| icsdrill::governance::dates::day_of_ms(d.created_ms));
                let due = match (f.status, found, v["deadline_days"].as_i64()) {
                    (icsdrill::store::FindingStatus::Open, Some(day), Some(n)) => {
                        format!(", due {}", day.add_days(n))
                    }
                    _ => String::new(),
                };
                let found = found.map_or_else(String::new, |d| format!(" on {d}"));
                let owner = |l: &str| v["owner"][l].as_str().unwrap_or("—").to_string();
                format!(
                    "  [{}] {} / {}  (found in {}{found}{due}; owner: {} / {})",
                    f.severity.as_str(),
                    title.en,
                    title.zh,
                    f.first_drill,
                    owner("en"),
                    owner("zh")
                )
            });
            println!("  {:<28} {:<15} -> {}{about}", o.id, o.verdict, o.status);
            if let Some(c) = tracked.iter().find(|f| f.id == o.id).and_then(|f| contained(f, drill)) {
                println!("  {:<28} {c}", "");
            }
        }
        let open = tracked.iter().filter(|f| f.status == icsdrill::store::FindingStatus::Open).count();
        println!("  {open} open finding(s) for {team}");
    }
    Ok(ExitCode::SUCCESS)
}

/// How the team contained an open finding in drill `drill`, in both languages (it stays on
/// the register: a stopgap is not a rectification); none where it did not, or that drill did
/// not find it.
fn contained(f: &icsdrill::store::TrackedFinding, drill: &str) -> Option<String> {
    let (_, c) = f.contained().filter(|(by, _)| by.drill == drill)?;
    Some(format!(
        "contained during the drill at t {:.0} s: {} / 演练中已于第 {:.0} 秒临时控制：{}",
        c.at_s, c.how.en, c.at_s, c.how.zh
    ))
}
