//! Reports of recorded drills: what `icsdrill report` writes, and the regional view serves to
//! the officials of a drill's enterprise.

use icsdrill_engine::{Scenario, SimEvent};

use super::{Context, Report, build};
use crate::Result;
use crate::store::{DrillRecord, Store, TeamRecord};

/// The report of team `team` of recorded drill `record` from its whole (replayed) log and
/// the tick it is judged at (`LoadedTeam::judged`), for an enterprise of security `level` (the
/// deadlines follow it unless given).
pub fn recorded(
    record: &DrillRecord,
    team: &TeamRecord,
    scenario: &Scenario,
    (events, end): (&[SimEvent], u64),
    level: u8,
    deadlines: Option<icsdrill_judge::findings::Deadlines>,
) -> Report {
    let ctx = Context {
        drill_id: record.id.clone(),
        drill_name: record.name.clone(),
        mode: record.mode,
        team_id: team.id.clone(),
        team_name: team.name.clone(),
        level,
        date: crate::governance::dates::day_of_ms(record.created_ms),
        seed: record.seed,
        cover: crate::drill::stored_cover(record),
        deadlines,
        end_tick: Some(end),
        challenges: crate::drill::recorded_challenges(record, scenario),
        planned_s: crate::drill::stored_duration(record),
    };
    build(scenario, events, record.mode.scores_plan(), ctx)
}

/// The report of `team` in the recorded drill `record`, its log replayed from `store`: a
/// registered enterprise is reported under its full name and judged at its own security level
/// (the deadlines follow it unless given).
pub fn of_team(
    store: &dyn Store,
    record: &DrillRecord,
    team: &TeamRecord,
    deadlines: Option<icsdrill_judge::findings::Deadlines>,
) -> Result<Report> {
    let loaded = crate::store::replay::load(store, record, std::slice::from_ref(team), 0)?;
    let registry = store.registry()?;
    let level = registry.level_of(&team.id, loaded.scenario.meta.level);
    let named = registry
        .enterprises
        .iter()
        .find(|e| e.id == team.id)
        .map(|e| TeamRecord { name: e.name.clone(), ..team.clone() });
    let log = loaded.teams[0].judged();
    let mut r = recorded(record, named.as_ref().unwrap_or(team), &loaded.scenario, log, level, deadlines);
    r.retested = retested(store, &record.id, &team.id)?;
    Ok(r)
}

/// The hidden hazards earlier drills found in `enterprise` that drill `drill` re-tested, from
/// the rectification register (empty until the drill is tracked, at its end): verified fixed
/// first, then those found again, then those the drill did not re-test.
pub fn retested(store: &dyn Store, drill: &str, enterprise: &str) -> Result<Vec<super::Retested>> {
    let order = ["verified", "reopened", "still_open", "not_retested"];
    let mut out = Vec::new();
    for f in store.findings(enterprise)? {
        let checks = f.checks();
        let Some(verdict) = checks
            .iter()
            .find(|c| c.drill == drill)
            .map(|c| c.verdict.clone())
            .filter(|v| order.contains(&v.as_str()))
        else {
            continue;
        };
        // Reopened, its first drill is this one: the one that found it before is the one the
        // history names first.
        let first_drill = match verdict.as_str() {
            "reopened" => checks.first().map_or_else(|| f.first_drill.clone(), |c| c.drill.clone()),
            _ => f.first_drill.clone(),
        };
        out.push(super::Retested { id: f.id.clone(), title: f.title(), first_drill, verdict });
    }
    out.sort_by_key(|r| (order.iter().position(|o| *o == r.verdict), r.id.clone()));
    Ok(out)
}
