//! Re-running a recorded drill headless from its stored scenario, seed and inputs: to resume
//! it after a crash, and to check (`icsdrill replay`) that the stored event log and scores are
//! exactly what the inputs produce.

use std::sync::Arc;

use crate::{Error, Result};
use icsdrill_engine::{Scenario, Sim, SimEvent, TimedInput};
use icsdrill_judge::score::Scorer;

use crate::store::{DrillRecord, Store, TeamRecord};

/// A team's range rebuilt from the store.
pub struct LoadedTeam {
    /// Team id.
    pub id: String,
    /// The simulation after the last recorded tick.
    pub sim: Sim,
    /// The recorded inputs.
    pub inputs: Vec<TimedInput>,
    /// The stored event log, JSON lines.
    pub stored_events: Vec<String>,
    /// What its operator station showed over the seconds `load` was asked for.
    pub shown: Vec<Shown>,
    /// The tick the team's range had reached, as the drill judged it (`reached`).
    pub end: u64,
}

impl LoadedTeam {
    /// The team's log and the tick it is judged at, as the drill judged it live: what its
    /// report, findings and score are computed from.
    pub fn judged(&self) -> (&[icsdrill_engine::SimEvent], u64) {
        (self.sim.events(), self.end)
    }
}

/// A drill rebuilt from the store.
pub struct Loaded {
    /// The scenario as stored (re-validated).
    pub scenario: Arc<Scenario>,
    /// Teams, in drill order.
    pub teams: Vec<LoadedTeam>,
}

/// What replays read of a record's stored options (the drill keeps the rest: `drill::stored`),
/// parsed once; a field absent reads as its default.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RecordOptions {
    /// `icsdrill_engine::RULES` when recorded (0: from before they were kept).
    rules: u32,
    /// The scenario ran without its attack.
    no_attack: bool,
    /// An exam's variant seed.
    variant_seed: Option<u64>,
}

fn options_of(record: &DrillRecord) -> RecordOptions {
    serde_json::from_str(&record.options).unwrap_or_default()
}

/// The engine rules a recorded drill was played by (`icsdrill_engine::RULES`; 0 for a record
/// from before they were kept).
pub fn rules_of(record: &DrillRecord) -> u32 {
    options_of(record).rules
}

/// Why a replay that diverged may have: the record was played by other engine rules than
/// this build's (`None`: the same rules, so the record or the build is at fault).
pub fn other_rules(record: &DrillRecord) -> Option<String> {
    let recorded = rules_of(record);
    (recorded != icsdrill_engine::RULES).then(|| {
        let when =
            if recorded == 0 { "from before rules were numbered".to_string() } else { format!("{recorded}") };
        format!(
            "the drill was played by engine rules {when}, this build plays by rules {}: a replay here \
             cannot tell a changed record from changed rules (replay it with a build of its rules)",
            icsdrill_engine::RULES
        )
    })
}

/// Refuses to play on a drill recorded under other engine rules than this build's (a resume, a
/// node joining): a record played under two versions would replay under neither.
pub fn playable_here(record: &DrillRecord) -> Result<()> {
    match other_rules(record) {
        Some(why) => Err(Error::invalid(format!("drill `{}` cannot go on here: {why}", record.id))),
        None => Ok(()),
    }
}

/// The scenario a recorded drill ran: the stored source, re-validated and checked against its
/// hash, without its attack or as the trainee's variant when the drill ran it so.
pub fn stored_scenario(record: &DrillRecord) -> Result<Arc<Scenario>> {
    let file = format!("{} (stored with drill {})", record.scenario_id, record.id);
    let mut scenario = Scenario::from_yaml(&file, &record.scenario_source)
        .map_err(|e| Error::unreadable(format!("the stored scenario no longer validates:\n{e}")))?;
    if scenario.source_hash != record.scenario_hash {
        return Err(Error::unreadable(format!(
            "the stored scenario's hash {} is not the recorded {}",
            scenario.source_hash, record.scenario_hash
        )));
    }
    let options = options_of(record);
    if options.no_attack {
        scenario = scenario.without_attack();
    }
    // An exam ran the trainee's variant of the scenario.
    if let Some(seed) = options.variant_seed {
        scenario = icsdrill_engine::scenario::variant::variant(&scenario, seed).0;
    }
    Ok(Arc::new(scenario))
}

/// One team's simulation of drill `record` re-run from its `inputs` up to its `last` recorded
/// tick.
pub fn rerun(
    scenario: &Arc<Scenario>,
    record: &DrillRecord,
    inputs: &[TimedInput],
    last: Option<u64>,
) -> Sim {
    rerun_showing(scenario, record, inputs, last, 0).0
}

/// What a team's operator station showed after a tick of whole plant seconds: each sensor's
/// value (none where it showed nothing), as the live hook samples it for the historian.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The tick the range had reached (a multiple of the scenario's tick rate).
    pub tick: u64,
    /// Each sensor's value, in the scenario's order.
    pub values: Vec<Option<f64>>,
}

/// `rerun`, noting what the operator station showed at each of the last `seconds` whole
/// seconds of plant time, so a resumed range's trends reach back before the stop.
pub fn rerun_showing(
    scenario: &Arc<Scenario>,
    record: &DrillRecord,
    inputs: &[TimedInput],
    last: Option<u64>,
    seconds: usize,
) -> (Sim, Vec<Shown>) {
    let mut sim = Sim::new(scenario.clone(), record.seed);
    if record.live_attacker {
        sim.set_live_attacker();
    }
    let Some(last) = last else { return (sim, Vec::new()) };
    let (end, hz) = (last + 1, u64::from(scenario.tick_hz));
    let from = end.saturating_sub(seconds as u64 * hz);
    let sources = icsdrill_drill::views::sensor_sources(scenario);
    let mut shown = Vec::with_capacity(seconds);
    let mut previous = None;
    // The live hook samples after each tick that ends a whole second (never at tick 0).
    let mut tick = (from / hz + 1) * hz;
    while seconds > 0 && tick <= end {
        sim.run_until(tick, inputs);
        let snapshot = previous.as_ref().map_or_else(|| sim.snapshot(), |p| sim.snapshot_after(p));
        shown
            .push(Shown { tick, values: icsdrill_drill::views::shown_values(scenario, &snapshot, &sources) });
        previous = Some(snapshot);
        tick += hz;
    }
    sim.run_until(end, inputs);
    sim.keep_unanswered_intents();
    (sim, shown)
}

/// The tick team `team`'s range had reached, its simulation `sim` re-run from the record: the
/// tick of its stored card where that is later (the drill records its card at its end, and the
/// quiet ticks after the last event leave nothing else behind), else where the re-run stands.
/// What the drill judged it at, and a resumed drill goes on judging it at.
pub fn reached(store: &dyn Store, drill: &str, team: &str, sim: &Sim) -> Result<u64> {
    Ok(reached_by(store.score(drill, team)?.map(|(_, card)| card).as_deref(), sim))
}

/// `reached` from the team's stored card (JSON), if any: what a bundle carries too.
pub fn reached_by(card: Option<&str>, sim: &Sim) -> u64 {
    let scored =
        card.and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok().and_then(|c| c["tick"].as_u64()));
    scored.map_or(sim.tick(), |at| at.max(sim.tick()))
}

/// Rebuilds every team's simulation from the stored inputs, noting what each operator station
/// showed over the last `seconds` seconds (`rerun_showing`; 0 where no one asks).
pub fn load(store: &dyn Store, record: &DrillRecord, teams: &[TeamRecord], seconds: usize) -> Result<Loaded> {
    let scenario = stored_scenario(record)?;
    let mut out = Vec::new();
    for t in teams {
        let inputs = store.inputs(&record.id, &t.id)?;
        let stored_events = store.events(&record.id, &t.id)?;
        let last = store.last_tick(&record.id, &t.id)?;
        let (sim, shown) = rerun_showing(&scenario, record, &inputs, last, seconds);
        let end = reached(store, &record.id, &t.id, &sim)?;
        out.push(LoadedTeam { id: t.id.clone(), sim, inputs, stored_events, shown, end });
    }
    Ok(Loaded { scenario, teams: out })
}

/// The score of `events` as the stored card `card` (JSON) took it: at the card's tick, from
/// the events before it.
pub fn score_at(scenario: &Scenario, record: &DrillRecord, events: &[SimEvent], card: &str) -> Result<f64> {
    let card: serde_json::Value = serde_json::from_str(card)
        .map_err(|e| Error::unreadable(format!("a stored score card is unreadable: {e}")))?;
    Ok(score_before(scenario, record, events, card["tick"].as_u64().unwrap_or(0)))
}

/// As the drill scored it: its response plan, and a contest's challenges (flags solved score).
fn score_before(scenario: &Scenario, record: &DrillRecord, events: &[SimEvent], at: u64) -> f64 {
    let plan = record.mode.scores_plan();
    let challenges = crate::drill::recorded_challenges(record, scenario);
    let before = &events[..events.partition_point(|e| e.tick < at)];
    Scorer::score_contest_log_at(scenario, (plan, challenges), before, at).total
}

/// The event-log hash (the replay contract) of a log's JSON lines.
pub fn hash_lines<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut h = icsdrill_engine::LogHasher::default();
    for l in lines {
        h.push_line(l);
    }
    h.hex()
}

/// What `replay` found for one team.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamVerdict {
    /// Team id.
    pub team: String,
    /// Inputs replayed.
    pub inputs: usize,
    /// SHA-256 of the stored event log.
    pub stored_hash: String,
    /// SHA-256 of the replayed event log.
    pub replayed_hash: String,
    /// Events stored / replayed.
    pub events: (usize, usize),
    /// The stored score card's total and the replayed log's score at the same tick (the same
    /// number twice when no card was stored).
    pub scores: (f64, f64),
    /// First differing event (1-based), if any.
    pub first_difference: Option<usize>,
}

impl TeamVerdict {
    /// The replay matches the record.
    pub fn matches(&self) -> bool {
        self.stored_hash == self.replayed_hash && self.scores.0 == self.scores.1
    }
}

/// Replays every team of drill `id` and compares with the record.
pub fn verify(store: &dyn Store, id: &str) -> Result<(DrillRecord, Vec<TeamVerdict>)> {
    verify_loaded(store, id).map(|(record, verdicts, _)| (record, verdicts))
}

/// `verify`, and the drill as replayed (what a caller judges further reads it, rather than
/// replaying it again).
pub fn verify_loaded(store: &dyn Store, id: &str) -> Result<(DrillRecord, Vec<TeamVerdict>, Loaded)> {
    let Some((record, teams)) = store.drill(id)? else {
        let known: Vec<String> = store.drills()?.into_iter().map(|d| d.id).collect();
        return Err(Error::not_found(format!(
            "no drill `{id}` in the store (drills: {})",
            if known.is_empty() { "none".into() } else { known.join(", ") }
        )));
    };
    let loaded = load(store, &record, &teams, 0)?;
    let mut out = Vec::new();
    for t in &loaded.teams {
        let replayed: Vec<String> = t.sim.events().iter().map(|e| e.to_json()).collect();
        let first_difference = t
            .stored_events
            .iter()
            .zip(&replayed)
            .position(|(a, b)| a != b)
            .or((t.stored_events.len() != replayed.len()).then(|| t.stored_events.len().min(replayed.len())))
            .map(|i| i + 1);
        // The stored card was computed live at its tick from the events before it: score the
        // replayed log the same way.
        let (stored_score, replayed_score) = match store.score(&record.id, &t.id)? {
            Some((total, card)) => (Some(total), score_at(&loaded.scenario, &record, t.sim.events(), &card)?),
            None => (None, score_before(&loaded.scenario, &record, t.sim.events(), t.sim.tick())),
        };
        out.push(TeamVerdict {
            team: t.id.clone(),
            inputs: t.inputs.len(),
            stored_hash: hash_lines(t.stored_events.iter().map(String::as_str)),
            replayed_hash: hash_lines(replayed.iter().map(String::as_str)),
            events: (t.stored_events.len(), replayed.len()),
            scores: (stored_score.unwrap_or(replayed_score), replayed_score),
            first_difference,
        });
    }
    Ok((record, out, loaded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use icsdrill_engine::SimInput;

    #[test]
    fn a_resumed_drill_sends_again_the_attempts_whose_results_were_never_recorded() {
        let scenario =
            icsdrill_scenarios::builtin("petrochem-tank-farm").expect("built in").load().expect("loads");
        let record = DrillRecord {
            id: "d".into(),
            name: "d".into(),
            mode: icsdrill_drill::Mode::Regional,
            scenario_id: scenario.id.clone(),
            scenario_hash: String::new(),
            scenario_source: String::new(),
            seed: 7,
            live_attacker: true,
            phase: icsdrill_drill::Phase::Live,
            instructor_token: String::new(),
            observer_token: String::new(),
            options: "{}".into(),
            created_ms: 0,
        };
        let mut sim = Sim::new(scenario.clone(), record.seed);
        sim.set_live_attacker();
        let intent = loop {
            assert!(sim.tick() < 100_000, "the attack goes on the wire");
            sim.step(std::iter::empty());
            if let Some(first) = sim.take_attack_intents().into_iter().next() {
                break first;
            }
        };
        let decided = sim.tick() - 1;
        // On record up to the tick that decided the attempt; its result never was (the node
        // died with the attempt on the wire): the resumed range carries it out again.
        let mut resumed = rerun(&scenario, &record, &[], Some(decided));
        assert_eq!(resumed.take_attack_intents(), vec![intent.clone()]);
        // With its result on record, it is not carried out twice.
        let result = TimedInput {
            tick: decided + 1,
            input: SimInput::AttackResult {
                step: intent.step.clone(),
                attempt: intent.attempt,
                ok: true,
                reason: None,
            },
        };
        let mut resumed = rerun(&scenario, &record, &[result], Some(decided + 1));
        assert!(!resumed.take_attack_intents().contains(&intent));
    }
}
