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

use std::collections::BTreeMap;

use serde::Serialize;

use crate::attack::{Action, technique};
use crate::event::{EventKind, SimEvent};
use crate::input::{PlcMode, SimInput};
use crate::scenario::{Scenario, Text};

/// Points of each part of the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Points {
    /// Detecting every attack step that fired.
    pub detection: f64,
    /// Time from the attack's start to the first credited report.
    pub time_to_detect: f64,
    /// Time from the attack's start to the first containing action.
    pub time_to_contain: f64,
    /// Time from the attack's first effect to the first restore.
    pub time_to_recover: f64,
    /// No safety trip.
    pub trip_avoided: f64,
    /// No equipment damage.
    pub damage_avoided: f64,
    /// Little time with the process outside its window or tripped.
    pub uptime: f64,
    /// The best incident report has every field.
    pub report_quality: f64,
    /// Response plan steps done in time (enterprise drills).
    pub response_plan: f64,
    /// Lost per report that matches nothing that happened.
    pub false_positive: f64,
    /// Lost per destructive action (restarting a PLC, stopping one).
    pub destructive: f64,
    /// Per contest challenge solved (a team's own flag submitted).
    pub flag: f64,
}

impl Default for Points {
    fn default() -> Points {
        Points {
            detection: 300.0,
            time_to_detect: 100.0,
            time_to_contain: 100.0,
            time_to_recover: 100.0,
            trip_avoided: 100.0,
            damage_avoided: 200.0,
            uptime: 100.0,
            report_quality: 100.0,
            response_plan: 100.0,
            false_positive: 25.0,
            destructive: 50.0,
            flag: 100.0,
        }
    }
}

/// One step of the enterprise's emergency response plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStep {
    /// Id.
    pub id: String,
    /// What the plan says to do.
    pub name: Text,
    /// Defender action kinds (`SimInput` tags) that carry the step out; any one will do.
    pub done_by: Vec<String>,
    /// Deadline after the attack's start, in ticks.
    pub within_ticks: u64,
}

/// A hint a team may take; it costs points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hint {
    /// Id.
    pub id: String,
    /// Points it costs.
    pub cost: f64,
    /// What it says.
    pub text: Text,
}

/// The rubric of a scenario (`scoring:` in the file; every part has a default).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rubric {
    /// Points per part.
    pub points: Points,
    /// A report credits a step when filed at most this long after the step's first attempt.
    pub detect_window_ticks: u64,
    /// Time to detect that earns nothing.
    pub detect_target_ticks: u64,
    /// Time to contain that earns nothing.
    pub contain_target_ticks: u64,
    /// Time to recover that earns nothing.
    pub recover_target_ticks: u64,
    /// Downtime that loses every uptime point.
    pub downtime_budget_ticks: u64,
    /// The response plan, in order.
    pub response_plan: Vec<PlanStep>,
}

impl Rubric {
    /// The defaults at `tick_hz`: 15 min window, targets of 10/15/30 min, 10 min downtime.
    pub fn defaults(tick_hz: u32) -> Rubric {
        let t = |s: u64| s * u64::from(tick_hz);
        Rubric {
            points: Points::default(),
            detect_window_ticks: t(900),
            detect_target_ticks: t(600),
            contain_target_ticks: t(900),
            recover_target_ticks: t(1800),
            downtime_budget_ticks: t(600),
            response_plan: Vec::new(),
        }
    }
}

/// Defender action kinds that contain an attack.
pub const CONTAIN_KINDS: [&str; 5] =
    ["block_source", "allow_functions", "restrict_writes", "isolate_host", "enable_range_checks"];
/// Defender action kinds that recover the process.
pub const RECOVER_KINDS: [&str; 2] = ["restore_setpoints", "restore_program"];

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
    techniques: Vec<crate::attack::Technique>,
    /// Ids of the assets it touches.
    assets: Vec<String>,
    /// Succeeding changes the process.
    effect: bool,
}

/// An attack step as seen in the log.
#[derive(Debug, Clone, Default)]
struct StepSeen {
    first_tick: Option<u64>,
    hosts: Vec<String>,
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
    defender_first: BTreeMap<&'static str, u64>,
    first_contain: Option<u64>,
    first_recover_after_effect: Option<u64>,
    trips: usize,
    damage: usize,
    destructive: usize,
    hints: Vec<String>,
    hint_cost: f64,
    /// Contest challenges offered (0: no flags component).
    challenges: usize,
    solved: Vec<String>,
    foreign_flags: usize,
    /// Tripped interlocks and out-of-window variables now; downtime accrues while any is.
    tripped_now: usize,
    outside_now: usize,
    down_since: Option<u64>,
    downtime: u64,
    last_tick: u64,
    last_total: f64,
    settled_tick: u64,
}

fn text(en: impl Into<String>, zh: impl Into<String>) -> Text {
    Text { en: en.into(), zh: zh.into() }
}

/// Rounds to 0.1 (and turns -0 into 0).
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0 + 0.0
}

/// Full marks at 0, none at `target`, linear between.
fn decay(points: f64, elapsed: u64, target: u64) -> f64 {
    if target == 0 {
        return if elapsed == 0 { points } else { 0.0 };
    }
    points * (1.0 - elapsed as f64 / target as f64).clamp(0.0, 1.0)
}

/// The ids of the assets an attack action touches.
fn action_assets(s: &Scenario, action: &Action) -> Vec<String> {
    let plc = |p: &crate::scenario::PlcIdx| s.plcs[p.ix()].id.clone();
    match action {
        Action::Scan(plcs) => plcs.iter().map(plc).collect(),
        Action::Read { plc: p, .. }
        | Action::WriteRegisters { plc: p, .. }
        | Action::WriteCoils { plc: p, .. }
        | Action::SetMode { plc: p, .. }
        | Action::Restart { plc: p }
        | Action::Download { plc: p, .. }
        | Action::Spoof { plc: p, .. }
        | Action::ListenOnly { plc: p }
        | Action::Flood { plc: p, .. } => vec![plc(p)],
        Action::Pivot(h) => vec![s.hosts[h.ix()].id.clone()],
    }
}

/// Whether an attack action changes the process (so there is something to recover).
fn has_effect(action: &Action) -> bool {
    matches!(
        action,
        Action::WriteRegisters { .. }
            | Action::WriteCoils { .. }
            | Action::SetMode { .. }
            | Action::Restart { .. }
            | Action::Download { .. }
            | Action::Spoof { .. }
            | Action::ListenOnly { .. }
            | Action::Flood { .. }
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
            defender_first: BTreeMap::new(),
            first_contain: None,
            first_recover_after_effect: None,
            trips: 0,
            damage: 0,
            destructive: 0,
            hints: Vec::new(),
            hint_cost: 0.0,
            challenges: 0,
            solved: Vec::new(),
            foreign_flags: 0,
            tripped_now: 0,
            outside_now: 0,
            down_since: None,
            downtime: 0,
            last_tick: 0,
            last_total: f64::NAN,
            settled_tick: 0,
        }
    }

    /// A contest offers `n` flag challenges: solved ones score.
    pub fn set_challenges(&mut self, n: usize) {
        self.challenges = n;
    }

    /// Scores a whole log at its last tick.
    pub fn score_log(scenario: &Scenario, plan: bool, events: &[SimEvent]) -> ScoreCard {
        let end = events.last().map_or(0, |e| e.tick);
        Scorer::score_log_at(scenario, plan, events, end)
    }

    /// Scores a log at tick `end` (the judged events of a log are enough: the rest changes no
    /// score).
    pub fn score_log_at(scenario: &Scenario, plan: bool, events: &[SimEvent], end: u64) -> ScoreCard {
        let mut scorer = Scorer::new(scenario, plan);
        for e in events {
            scorer.push(e);
        }
        scorer.card(end)
    }

    /// Whether an event can change the score (everything but samples and plain traffic).
    pub fn relevant(kind: &EventKind) -> bool {
        !matches!(
            kind,
            EventKind::Sample { .. }
                | EventKind::ModbusTransaction { .. }
                | EventKind::ModbusConnection { .. }
                | EventKind::TrafficSummary { .. }
        )
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
        match &e.kind {
            EventKind::AttackAttempt { step, host, ok, .. } => {
                self.attack_start.get_or_insert(tick);
                if let Some(i) = self.step_index.get(step).copied() {
                    let seen = &mut self.steps[i];
                    seen.first_tick.get_or_insert(tick);
                    if !seen.hosts.contains(host) {
                        seen.hosts.push(host.clone());
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
            _ => {}
        }
    }

    fn applied(&mut self, tick: u64, input: &SimInput) {
        if let SimInput::AttackResult { .. } = input {
            return;
        }
        if let SimInput::SubmitFlag { challenge, valid, owner, .. } = input {
            if *valid && !challenge.is_empty() && !self.solved.contains(challenge) {
                self.solved.push(challenge.clone());
            } else if !owner.is_empty() {
                self.foreign_flags += 1;
            }
            return;
        }
        if let SimInput::RevealHint { hint } = input {
            if !self.hints.contains(hint) {
                self.hints.push(hint.clone());
                self.hint_cost += self.hint_costs.get(hint).copied().unwrap_or(0.0);
            }
            return;
        }
        let Some(kind) = input.defender_kind() else { return };
        self.defender_first.entry(kind).or_insert(tick);
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
            SimInput::ReportIncident { technique, asset, observed_s, tactic, impact, actions, .. } => {
                let fields = [
                    crate::attack::technique(technique).is_some(),
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
    fn credit(&self, r: &Report, i: usize) -> f64 {
        let Some(first) = self.steps[i].first_tick else { return 0.0 };
        if r.tick < first || r.tick > first + self.rubric.detect_window_ticks {
            return 0.0;
        }
        let StepDef { techniques, assets, .. } = &self.step_defs[i];
        let asset_ok = assets.iter().any(|a| a.eq_ignore_ascii_case(&r.asset))
            || self.steps[i].hosts.iter().any(|h| h.eq_ignore_ascii_case(&r.asset));
        if !asset_ok {
            return 0.0;
        }
        let reported = technique(&r.technique);
        if reported.is_some_and(|t| techniques.iter().any(|s| s.v18 == t.v18)) {
            return 1.0;
        }
        let tactic = r.tactic.clone().or(reported.map(|t| t.tactic.to_string()));
        match tactic {
            Some(tc) if techniques.iter().any(|s| s.tactic.eq_ignore_ascii_case(tc.trim())) => 0.5,
            _ => 0.0,
        }
    }

    /// The card at tick `now`.
    pub fn card(&mut self, now: u64) -> ScoreCard {
        let r = &self.rubric;
        let p = &r.points;
        let hz = f64::from(self.tick_hz);
        let mins = |ticks: u64| ticks as f64 / hz / 60.0;
        let mut components = Vec::new();

        // Detection: each fired step's best credit.
        let fired: Vec<usize> =
            (0..self.steps.len()).filter(|i| self.steps[*i].first_tick.is_some()).collect();
        let mut credits = vec![0.0f64; self.steps.len()];
        let mut first_detect: Option<u64> = None;
        let mut useful = vec![false; self.reports.len()];
        for &i in &fired {
            for (k, rep) in self.reports.iter().enumerate() {
                let c = self.credit(rep, i);
                if c > 0.0 {
                    useful[k] = true;
                    credits[i] = credits[i].max(c);
                    first_detect = Some(first_detect.map_or(rep.tick, |t: u64| t.min(rep.tick)));
                }
            }
        }
        let detected = fired.iter().filter(|i| credits[**i] >= 1.0).count();
        let partial = fired.iter().filter(|i| credits[**i] > 0.0 && credits[**i] < 1.0).count();
        let detection = if fired.is_empty() {
            p.detection
        } else {
            p.detection * fired.iter().map(|i| credits[*i]).sum::<f64>() / fired.len() as f64
        };
        components.push(Component {
            key: "detection",
            label: text("Detection", "检测"),
            points: detection,
            max: p.detection,
            detail: text(
                format!(
                    "{detected} of {} attack steps reported with technique and asset, {partial} with asset and tactic only",
                    fired.len()
                ),
                format!("{} 个攻击步骤中 {detected} 个报告了正确的技术和资产，{partial} 个仅资产和战术正确", fired.len()),
            ),
        });

        let start = self.attack_start;
        let timed = |key: &'static str,
                     label: Text,
                     points: f64,
                     from: Option<u64>,
                     at: Option<u64>,
                     target: u64,
                     none: Text|
         -> Component {
            let (earned, detail) = match (from, at) {
                (None, _) => (points, text("no attack yet: nothing to do", "尚无攻击：无需处置")),
                (Some(f), Some(a)) => {
                    let dt = a.saturating_sub(f);
                    (
                        decay(points, dt, target),
                        text(
                            format!("after {:.1} min (no points at {:.0} min)", mins(dt), mins(target)),
                            format!("用时 {:.1} 分钟（{:.0} 分钟时得分为零）", mins(dt), mins(target)),
                        ),
                    )
                }
                (Some(_), None) => (0.0, none),
            };
            Component { key, label, points: earned, max: points, detail }
        };
        components.push(timed(
            "time_to_detect",
            text("Time to detect", "检测用时"),
            p.time_to_detect,
            start,
            first_detect,
            r.detect_target_ticks,
            text("no report matched the attack", "没有与攻击相符的报告"),
        ));
        components.push(timed(
            "time_to_contain",
            text("Time to contain", "遏制用时"),
            p.time_to_contain,
            start,
            self.first_contain.map(|c| c.max(start.unwrap_or(0))),
            r.contain_target_ticks,
            text(
                "no containing action (block, allow-list, write window, isolate, range checks)",
                "没有遏制措施（封禁、白名单、写入范围、隔离、范围检查）",
            ),
        ));
        let recover = if self.first_effect.is_some() {
            timed(
                "time_to_recover",
                text("Time to recover", "恢复用时"),
                p.time_to_recover,
                self.first_effect,
                self.first_recover_after_effect,
                r.recover_target_ticks,
                text("attack changed the process; nothing restored", "攻击改变了工艺，但未恢复"),
            )
        } else {
            Component {
                key: "time_to_recover",
                label: text("Time to recover", "恢复用时"),
                points: p.time_to_recover,
                max: p.time_to_recover,
                detail: text("the attack changed nothing to recover", "攻击未造成需恢复的改变"),
            }
        };
        components.push(recover);

        components.push(Component {
            key: "trip_avoided",
            label: text("Trip avoided", "避免联锁停车"),
            points: if self.trips == 0 { p.trip_avoided } else { 0.0 },
            max: p.trip_avoided,
            detail: text(format!("{} safety trips", self.trips), format!("安全联锁动作 {} 次", self.trips)),
        });
        components.push(Component {
            key: "damage_avoided",
            label: text("Damage avoided", "避免设备损坏"),
            points: if self.damage == 0 { p.damage_avoided } else { 0.0 },
            max: p.damage_avoided,
            detail: text(format!("{} damage events", self.damage), format!("设备损坏 {} 次", self.damage)),
        });
        let downtime = self.downtime + self.down_since.map_or(0, |s| now.saturating_sub(s));
        components.push(Component {
            key: "uptime",
            label: text("Uptime", "运行时间"),
            points: decay(p.uptime, downtime, r.downtime_budget_ticks),
            max: p.uptime,
            detail: text(
                format!("{:.1} min tripped or outside the safe window", mins(downtime)),
                format!("联锁停车或超出安全范围 {:.1} 分钟", mins(downtime)),
            ),
        });
        let best = self.reports.iter().map(|r| r.fields).max().unwrap_or(0);
        components.push(Component {
            key: "report_quality",
            label: text("Report quality", "报告质量"),
            points: p.report_quality * best as f64 / 6.0,
            max: p.report_quality,
            detail: text(
                format!(
                    "best report has {best} of 6 fields (technique, asset, time, tactic, impact, actions)"
                ),
                format!("最佳报告包含 6 项中的 {best} 项（技术、资产、时间、战术、影响、处置措施）"),
            ),
        });

        let mut plan = Vec::new();
        if self.plan_scored {
            let mut earned = 0.0;
            for st in &r.response_plan {
                let done =
                    st.done_by.iter().filter_map(|k| self.defender_first.get(k.as_str()).copied()).min();
                let deadline = start.map(|s| s + st.within_ticks);
                let status = match (done, deadline) {
                    (Some(d), Some(dl)) if d <= dl => PlanStatus::Done,
                    (Some(_), Some(_)) => PlanStatus::Late,
                    (Some(_), None) => PlanStatus::Done,
                    (None, Some(dl)) if now > dl => PlanStatus::Missed,
                    (None, _) => PlanStatus::Pending,
                };
                earned += match status {
                    PlanStatus::Done => 1.0,
                    PlanStatus::Late => 0.5,
                    _ => 0.0,
                };
                plan.push(PlanMark {
                    id: st.id.clone(),
                    name: st.name.clone(),
                    status,
                    done_tick: done,
                    deadline_tick: deadline,
                });
            }
            let n = r.response_plan.len();
            let done = plan.iter().filter(|m| m.status == PlanStatus::Done).count();
            let late = plan.iter().filter(|m| m.status == PlanStatus::Late).count();
            components.push(Component {
                key: "response_plan",
                label: text("Response plan", "应急预案执行"),
                points: if n == 0 { p.response_plan } else { p.response_plan * earned / n as f64 },
                max: p.response_plan,
                detail: text(
                    format!("{done} of {n} plan steps done in time, {late} late"),
                    format!("预案 {n} 个步骤中 {done} 个按时完成，{late} 个超时"),
                ),
            });
        }

        if self.challenges > 0 {
            let n = self.challenges as f64;
            components.push(Component {
                key: "flags",
                label: text("Contest flags", "夺旗"),
                points: p.flag * self.solved.len() as f64,
                max: p.flag * n,
                detail: text(
                    format!(
                        "{} of {} challenges solved; {} other teams' flags submitted (no points)",
                        self.solved.len(),
                        self.challenges,
                        self.foreign_flags
                    ),
                    format!(
                        "{} 个挑战中解出 {} 个；提交其他队伍的 flag {} 次（不得分）",
                        self.challenges,
                        self.solved.len(),
                        self.foreign_flags
                    ),
                ),
            });
        }
        let false_positives = useful.iter().filter(|u| !**u).count();
        components.push(Component {
            key: "false_positives",
            label: text("False-positive reports", "误报"),
            points: -(false_positives as f64) * p.false_positive,
            max: 0.0,
            detail: text(
                format!("{false_positives} reports matched no attack step"),
                format!("{false_positives} 份报告与攻击步骤不符"),
            ),
        });
        components.push(Component {
            key: "destructive",
            label: text("Destructive actions", "破坏性操作"),
            points: -(self.destructive as f64) * p.destructive,
            max: 0.0,
            detail: text(
                format!("{} PLC restarts or stops", self.destructive),
                format!("重启或停止 PLC {} 次", self.destructive),
            ),
        });
        components.push(Component {
            key: "hints",
            label: text("Hints", "提示"),
            points: -self.hint_cost,
            max: 0.0,
            detail: text(
                format!("{} hints taken", self.hints.len()),
                format!("使用提示 {} 条", self.hints.len()),
            ),
        });

        for c in &mut components {
            c.points = round1(c.points);
        }
        let total = round1(components.iter().map(|c| c.points).sum());
        if total != self.last_total {
            self.last_total = total;
            self.settled_tick = now;
        }
        ScoreCard {
            tick: now,
            total,
            components,
            plan,
            settled_tick: self.settled_tick,
            steps_fired: fired.len(),
            steps_detected: detected,
        }
    }
}
