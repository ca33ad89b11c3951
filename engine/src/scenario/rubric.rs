//! A scenario's scoring rubric (`scoring:` and `hints:` in the file): the data the judge
//! scores a team's log with. Validated by `validate/scoring.rs`; the scorer itself is in the
//! `icsdrill-judge` crate.

use serde::Serialize;

use super::Text;

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
    /// Defender actions that carry the step out: an action kind (`SimInput` tag), or a kind
    /// and what it acts on (`isolate_host:ews-01`, `notify:management`,
    /// `block_source:c-sup-ctl/ews-01`: `SimInput::target`), or an interlock's bypass coming
    /// off however it is done (`bypass_off:il-101`: from an HMI, or `clear_bypasses`); any one
    /// will do, or with `all`, every one.
    pub done_by: Vec<String>,
    /// Whether the step takes every action of `done_by` (done when the last is), not one.
    pub all: bool,
    /// Deadline after the attack's start, in ticks.
    pub within_ticks: u64,
}

impl PlanStep {
    /// The `done_by` kind an interlock's bypass coming off carries out: `bypass_off:<interlock>`.
    pub const BYPASS_OFF: &str = "bypass_off";

    /// Whether `input` is the action `entry` of a `done_by` list names.
    pub fn done_by_input(entry: &str, input: &crate::input::SimInput) -> bool {
        let (kind, target) = entry.split_once(':').map_or((entry, None), |(k, t)| (k, Some(t)));
        input.defender_kind() == Some(kind) && target.is_none_or(|t| input.target().as_deref() == Some(t))
    }

    /// Whether the event `kind` is what `entry` names: an action applied, or for
    /// `bypass_off:<interlock>` that interlock's bypass coming off (however it was done).
    pub fn done_by_event(entry: &str, kind: &crate::event::EventKind) -> bool {
        use crate::event::EventKind;
        match kind {
            EventKind::InputApplied { input } => Self::done_by_input(entry, input),
            EventKind::InterlockBypass { interlock, on: false, .. } => {
                entry.split_once(':') == Some((Self::BYPASS_OFF, interlock.as_str()))
            }
            _ => false,
        }
    }

    /// When the step was done, from when each entry of `done_by` was first done (in its
    /// order): the first of them, or with `all` the last, once every one is.
    pub fn done_at(&self, first: &[Option<u64>]) -> Option<u64> {
        if self.all {
            first.iter().copied().collect::<Option<Vec<u64>>>()?.into_iter().max()
        } else {
            first.iter().flatten().copied().min()
        }
    }
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
