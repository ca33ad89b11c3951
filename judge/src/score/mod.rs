//! Scoring: a team's score computed from its event log alone, with the rubric of the
//! scenario.
//!
//! `Scorer` reads events in log order and keeps what the rubric needs; `Scorer::card` turns
//! that into a `ScoreCard` at a given tick (the time-based parts depend on "now"). The same
//! log always gives the same card, so a replay re-scores a drill exactly.
//!
//! The parts: detection (each attack step that fired, credited by an incident report naming
//! its technique and asset within the window; half for the right asset and tactic), time to
//! detect, contain and recover (full marks at once, none at the target), process safety (no
//! trip, no damage, little downtime), report quality, and penalties for false-positive
//! reports, destructive actions and hints. With `plan`, the response plan's steps are marked
//! done, late or missed and scored too (enterprise drills).

mod card;
mod texts;

use std::collections::BTreeMap;

use serde::Serialize;

use icsdrill_engine::attack::{Action, technique};
use icsdrill_engine::event::{EventKind, SimEvent};
use icsdrill_engine::input::{PlcMode, SimInput};
use icsdrill_engine::scenario::{Rubric, Scenario, Text};

/// Defender action kinds that contain an attack.
pub const CONTAIN_KINDS: [&str; 5] =
    ["block_source", "allow_functions", "restrict_writes", "isolate_host", "enable_range_checks"];
/// Defender action kinds that recover the process: its set points or program restored, a
/// sensor or module put right, a host rebuilt, or the plant run by hand from the field.
pub const RECOVER_KINDS: [&str; 7] = [
    "restore_setpoints",
    "clear_bypasses",
    "restore_program",
    "restore_sensor",
    "replace_module",
    "reimage_host",
    "local_control",
];

/// One part of a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// Stable key (`detection`, `time_to_detect`, ...).
    pub key: &'static str,
    /// Name.
    pub label: Text,
    /// Points earned (negative for penalties).
    pub points: f64,
    /// Most points it can earn (0 for penalties).
    pub max: f64,
    /// Why, in both languages.
    pub detail: Text,
    /// Not judged on this card (a provisional card's process safety, judged at the hot wash):
    /// `points` is 0 and counts for nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

/// Where a response-plan step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Deadline not reached, not done yet.
    Pending,
    /// Done in time.
    Done,
    /// Done after the deadline.
    Late,
    /// Not done by the deadline.
    Missed,
}

/// A response-plan step and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanMark {
    /// Step id.
    pub id: String,
    /// Step name.
    pub name: Text,
    /// Status.
    pub status: PlanStatus,
    /// Tick it was done, if it was.
    pub done_tick: Option<u64>,
    /// Deadline tick (none before the attack starts).
    pub deadline_tick: Option<u64>,
}

/// A team's score at one tick.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreCard {
    /// Tick it was computed at.
    pub tick: u64,
    /// Sum of the components, rounded to 0.1.
    pub total: f64,
    /// The parts.
    pub components: Vec<Component>,
    /// The response plan, when it is scored.
    pub plan: Vec<PlanMark>,
    /// Tick of the last event that changed the total (ties go to the earlier).
    pub settled_tick: u64,
    /// Attack steps fired and detected.
    pub steps_fired: usize,
    /// Attack steps credited by a report.
    pub steps_detected: usize,
    /// Alerts the team's network monitoring raised (what the region's situational-awareness
    /// roll-up counts per enterprise).
    pub alerts: usize,
    /// The hints taken, in the order they were (what another node's white cell shows of a
    /// team it does not run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// The contest challenges solved and the tick each was, in the order they were (the
    /// board's first bloods are the earliest of each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub solved: Vec<(String, u64)>,
    /// Of a blind drill's card: what the team sees of it until the hot wash,
    /// `Scorer::provisional_card`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisional: Option<Box<ScoreCard>>,
}

impl ScoreCard {
    /// The total a team sees: its provisional card's in a blind drill (`provisional`), else
    /// this card's.
    pub fn shown_total(&self) -> f64 {
        self.provisional.as_ref().map_or(self.total, |p| p.total)
    }

    /// The card a team sees: while `provisional` (a blind drill before the hot wash), the
    /// provisional card this one carries, if any; else this card as it is.
    pub fn as_seen(&self, provisional: bool) -> &ScoreCard {
        match &self.provisional {
            Some(p) if provisional => p,
            _ => self,
        }
    }
}

/// A filed report, as the scorer keeps it.
#[derive(Debug, Clone)]
struct Report {
    tick: u64,
    technique: String,
    asset: String,
    tactic: Option<String>,
    fields: usize,
}

/// What the scorer needs of an attack step.
#[derive(Debug, Clone)]
struct StepDef {
    techniques: Vec<icsdrill_engine::attack::Technique>,
    /// Ids of the assets it touches.
    assets: Vec<String>,
    /// Succeeding changes the process.
    effect: bool,
}

/// An attack step as seen in the log.
#[derive(Debug, Clone, Default)]
struct StepSeen {
    first_tick: Option<u64>,
    /// The hosts it came from, each with the tick it first did.
    hosts: Vec<(String, u64)>,
}

/// Reads a team's event log and scores it.
#[derive(Debug, Clone)]
pub struct Scorer {
    rubric: Rubric,
    tick_hz: u32,
    plan_scored: bool,
    /// Per attack step (plan order), from the scenario.
    step_defs: Vec<StepDef>,
    step_index: BTreeMap<String, usize>,
    steps: Vec<StepSeen>,
    hint_costs: BTreeMap<String, f64>,
    attack_start: Option<u64>,
    first_effect: Option<u64>,
    reports: Vec<Report>,
    /// When each action of each response-plan step's `done_by` was first done (rubric order).
    plan_first: Vec<Vec<Option<u64>>>,
    first_contain: Option<u64>,
    first_recover_after_effect: Option<u64>,
    trips: usize,
    /// Interlock demands a bypass defeated (`InterlockDefeated`).
    defeated: usize,
    damage: usize,
    destructive: usize,
    hints: Vec<String>,
    hint_cost: f64,
    /// Contest challenges offered (0: no flags component).
    challenges: usize,
    /// The most attack steps one run can fire (a provisional card's detection counts
    /// against it).
    most_steps: usize,
    solved: Vec<(String, u64)>,
    foreign_flags: usize,
    alerts: usize,
    /// Tripped interlocks and out-of-window variables now; downtime accrues while any is.
    tripped_now: usize,
    outside_now: usize,
    down_since: Option<u64>,
    downtime: u64,
    last_tick: u64,
    last_total: f64,
    settled_tick: u64,
    /// The same for the provisional card.
    provisional_total: f64,
    provisional_settled: u64,
}

/// The ids of the assets an attack action touches: what a report naming it may name.
pub(crate) fn action_assets(s: &Scenario, action: &Action) -> Vec<String> {
    let plc = |p: &icsdrill_engine::scenario::PlcIdx| s.plcs[p.ix()].id.clone();
    match action {
        // A scan that names none scans every PLC (`systems::attacker::scan`): a report may name
        // any of them (one naming the PLC the log shows scanned was a false positive).
        Action::Scan(plcs) if plcs.is_empty() => s.plcs.iter().map(|p| p.id.clone()).collect(),
        Action::Scan(plcs) => plcs.iter().map(plc).collect(),
        Action::Read { plc: p, .. }
        | Action::WriteRegisters { plc: p, .. }
        | Action::WriteCoils { plc: p, .. }
        | Action::SetMode { plc: p, .. }
        | Action::Restart { plc: p }
        | Action::Download { plc: p, .. }
        | Action::Spoof { plc: p, .. }
        | Action::ListenOnly { plc: p }
        | Action::Iec104Interrogation { plc: p }
        | Action::Iec104Command { plc: p, .. }
        | Action::OpcUaWrite { plc: p, .. }
        | Action::Flood { plc: p, .. } => vec![plc(p)],
        Action::Pivot(h) => vec![s.hosts[h.ix()].id.clone()],
        Action::ForgeSensor { sensor, .. } => vec![s.sensors[sensor.ix()].id.clone()],
        Action::ModifyFirmware { plc: p } => vec![plc(p)],
        Action::WipeHost(h) | Action::DenyView { host: h, .. } => vec![s.hosts[h.ix()].id.clone()],
    }
}

/// Whether an attack action changes the process (so there is something to recover): all but
/// looking and moving.
fn has_effect(action: &Action) -> bool {
    !matches!(
        action,
        Action::Scan(_) | Action::Read { .. } | Action::Iec104Interrogation { .. } | Action::Pivot(_)
    )
}

impl Scorer {
    /// A scorer for `scenario`'s rubric; `plan` scores its response plan too.
    pub fn new(scenario: &Scenario, plan: bool) -> Scorer {
        let (step_defs, step_index) = match &scenario.attack {
            Some(p) => (
                p.steps
                    .iter()
                    .map(|st| StepDef {
                        techniques: st.techniques.clone(),
                        assets: action_assets(scenario, &st.action),
                        effect: has_effect(&st.action),
                    })
                    .collect(),
                p.steps.iter().enumerate().map(|(i, st)| (st.id.clone(), i)).collect(),
            ),
            None => (Vec::new(), BTreeMap::new()),
        };
        let n = step_defs.len();
        Scorer {
            rubric: scenario.scoring.clone(),
            tick_hz: scenario.tick_hz,
            plan_scored: plan,
            step_defs,
            step_index,
            steps: vec![StepSeen::default(); n],
            hint_costs: scenario.hints.iter().map(|h| (h.id.clone(), h.cost)).collect(),
            attack_start: None,
            first_effect: None,
            reports: Vec::new(),
            plan_first: scenario.scoring.response_plan.iter().map(|p| vec![None; p.done_by.len()]).collect(),
            first_contain: None,
            first_recover_after_effect: None,
            trips: 0,
            defeated: 0,
            damage: 0,
            destructive: 0,
            hints: Vec::new(),
            hint_cost: 0.0,
            challenges: 0,
            most_steps: scenario.attack.as_ref().map_or(0, |a| a.most_that_can_fire()),
            solved: Vec::new(),
            foreign_flags: 0,
            alerts: 0,
            tripped_now: 0,
            outside_now: 0,
            down_since: None,
            downtime: 0,
            last_tick: 0,
            last_total: f64::NAN,
            settled_tick: 0,
            provisional_total: f64::NAN,
            provisional_settled: 0,
        }
    }

    /// A contest offers `n` flag challenges: solved ones score.
    pub fn set_challenges(&mut self, n: usize) {
        self.challenges = n;
    }

    /// A scorer as a drill scores: the response plan scored or not, and the contest
    /// challenges it offers.
    pub fn for_drill(scenario: &Scenario, (plan, challenges): (bool, usize)) -> Scorer {
        let mut scorer = Scorer::new(scenario, plan);
        scorer.set_challenges(challenges);
        scorer
    }

    /// Scores a whole log at its last tick.
    pub fn score_log(scenario: &Scenario, plan: bool, events: &[SimEvent]) -> ScoreCard {
        let end = events.last().map_or(0, |e| e.tick);
        Scorer::score_log_at(scenario, plan, events, end)
    }

    /// Scores a log at tick `end` (the judged events of a log are enough: the rest changes no
    /// score).
    pub fn score_log_at(scenario: &Scenario, plan: bool, events: &[SimEvent], end: u64) -> ScoreCard {
        Scorer::score_contest_log_at(scenario, (plan, 0), events, end)
    }

    /// Scores a log at tick `end` as a drill scores it: response plan or not, and the contest
    /// challenges it offers (flags solved score). The console, the board and the report all
    /// give this number.
    pub fn score_contest_log_at(
        scenario: &Scenario,
        drill: (bool, usize),
        events: &[SimEvent],
        end: u64,
    ) -> ScoreCard {
        let mut scorer = Scorer::for_drill(scenario, drill);
        for e in events {
            scorer.push(e);
        }
        scorer.card(end)
    }

    /// Whether an event can change the score (everything but samples and plain traffic).
    pub fn relevant(kind: &EventKind) -> bool {
        !(kind.is_traffic() || matches!(kind, EventKind::Sample { .. }))
    }

    /// Hints taken so far, in order.
    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    fn set_down(&mut self, tick: u64) {
        let down = self.tripped_now > 0 || self.outside_now > 0;
        match (down, self.down_since) {
            (true, None) => self.down_since = Some(tick),
            (false, Some(since)) => {
                self.downtime += tick.saturating_sub(since);
                self.down_since = None;
            }
            _ => {}
        }
    }

    /// Reads the next event of the log.
    pub fn push(&mut self, e: &SimEvent) {
        self.last_tick = self.last_tick.max(e.tick);
        let tick = e.tick;
        // Only what a plan step can name: a defender's action, a bypass coming off (not the
        // Modbus writes a flood applies by the thousand).
        let plan_step = match &e.kind {
            EventKind::InputApplied { input } => input.defender_kind().is_some(),
            EventKind::InterlockBypass { on, .. } => !on,
            _ => false,
        };
        if plan_step {
            self.plan_done(tick, &e.kind);
        }
        match &e.kind {
            EventKind::AttackAttempt { step, host, ok, .. } => {
                self.attack_start.get_or_insert(tick);
                if let Some(i) = self.step_index.get(step).copied() {
                    let seen = &mut self.steps[i];
                    seen.first_tick.get_or_insert(tick);
                    if !seen.hosts.iter().any(|(h, _)| h == host) {
                        seen.hosts.push((host.clone(), tick));
                    }
                    if *ok && self.step_defs[i].effect {
                        self.first_effect.get_or_insert(tick);
                    }
                }
            }
            EventKind::AttackStepEnded { .. } => {}
            EventKind::InputApplied { input } => self.applied(tick, input),
            EventKind::InterlockTripped { .. } => {
                self.trips += 1;
                self.tripped_now += 1;
                self.set_down(tick);
            }
            EventKind::InterlockDefeated { .. } => self.defeated += 1,
            EventKind::InterlockReset { .. } => {
                self.tripped_now = self.tripped_now.saturating_sub(1);
                self.set_down(tick);
            }
            EventKind::LimitExceeded { .. } => {
                self.outside_now += 1;
                self.set_down(tick);
            }
            EventKind::LimitCleared { .. } => {
                self.outside_now = self.outside_now.saturating_sub(1);
                self.set_down(tick);
            }
            EventKind::Damage { .. } => self.damage += 1,
            EventKind::IdsAlert { .. } => self.alerts += 1,
            _ => {}
        }
    }

    /// Marks the response-plan entries the event carries out first done at `tick`.
    fn plan_done(&mut self, tick: u64, kind: &EventKind) {
        for (step, first) in self.rubric.response_plan.iter().zip(&mut self.plan_first) {
            for (entry, at) in step.done_by.iter().zip(first.iter_mut()) {
                if at.is_none() && icsdrill_engine::scenario::PlanStep::done_by_event(entry, kind) {
                    *at = Some(tick);
                }
            }
        }
    }

    fn applied(&mut self, tick: u64, input: &SimInput) {
        if let SimInput::AttackResult { .. } = input {
            return;
        }
        if let SimInput::SubmitFlag { challenge, valid, owner, .. } = input {
            if *valid && !challenge.is_empty() && !self.solved.iter().any(|(c, _)| c == challenge) {
                self.solved.push((challenge.clone(), tick));
            } else if !owner.is_empty() {
                self.foreign_flags += 1;
            }
            return;
        }
        if let SimInput::RevealHint { hint, .. } = input {
            if !self.hints.contains(hint) {
                self.hints.push(hint.clone());
                self.hint_cost += self.hint_costs.get(hint).copied().unwrap_or(0.0);
            }
            return;
        }
        let Some(kind) = input.defender_kind() else { return };
        if CONTAIN_KINDS.contains(&kind) && self.first_contain.is_none() {
            self.first_contain = Some(tick);
        }
        if RECOVER_KINDS.contains(&kind)
            && self.first_effect.is_some()
            && self.first_recover_after_effect.is_none()
        {
            self.first_recover_after_effect = Some(tick);
        }
        match input {
            SimInput::RestartPlc { .. } => self.destructive += 1,
            SimInput::SetMode { mode, .. } if *mode != PlcMode::Run => self.destructive += 1,
            SimInput::ReportIncident(icsdrill_engine::IncidentReport {
                technique,
                asset,
                observed_s,
                tactic,
                impact,
                actions,
                ..
            }) => {
                let fields = [
                    icsdrill_engine::attack::technique(technique).is_some(),
                    !asset.is_empty(),
                    observed_s.is_some(),
                    tactic.as_ref().is_some_and(|t| !t.trim().is_empty()),
                    !impact.trim().is_empty(),
                    !actions.trim().is_empty(),
                ]
                .iter()
                .filter(|f| **f)
                .count();
                self.reports.push(Report {
                    tick,
                    technique: technique.clone(),
                    asset: asset.clone(),
                    tactic: tactic.clone(),
                    fields,
                });
            }
            _ => {}
        }
    }

    /// Credit a report earns for step `i`: 1 for technique and asset, 0.5 for asset and tactic.
    /// A host the step came from counts as its asset once it has (`as_filed`: only the hosts
    /// it had come from when the report was filed, as a provisional card counts them, so a
    /// later attempt never changes what it shows).
    fn credit(&self, r: &Report, i: usize, as_filed: bool) -> f64 {
        let Some(first) = self.steps[i].first_tick else { return 0.0 };
        if r.tick < first || r.tick > first + self.rubric.detect_window_ticks {
            return 0.0;
        }
        let StepDef { techniques, assets, .. } = &self.step_defs[i];
        let asset_ok = assets.iter().any(|a| a.eq_ignore_ascii_case(&r.asset))
            || self.steps[i]
                .hosts
                .iter()
                .any(|(h, at)| h.eq_ignore_ascii_case(&r.asset) && (!as_filed || *at <= r.tick));
        if !asset_ok {
            return 0.0;
        }
        let reported = technique(&r.technique);
        if reported.is_some_and(|t| techniques.iter().any(|s| s.v18 == t.v18)) {
            return 1.0;
        }
        // The tactic as typed (its id, English or Chinese name), else the reported technique's:
        // a tactic typed in words the table does not know costs the report nothing.
        let typed = r.tactic.as_deref().and_then(icsdrill_engine::attack::tactic_id);
        match typed.or(reported.map(|t| t.tactic)) {
            Some(tc) if techniques.iter().flat_map(|s| s.tactics).any(|s| s.eq_ignore_ascii_case(tc)) => 0.5,
            _ => 0.0,
        }
    }
}
