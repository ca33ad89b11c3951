//! Certification exams: one trainee, one range, a task list spanning the five skill areas of
//! an industrial-security engineer, each task checked from the event log alone (the exam
//! section and a trainee's variant of the scenario are the engine's: `scenario::exam`,
//! `scenario::variant`).
//!
//! The task list is the same for every scenario and every trainee (it is drawn from what the
//! scenario has: its conduits, the PLCs its attack writes, its hidden hazards), so two
//! trainees' variants are equally hard by construction. The **variant** renames hosts, moves
//! each PLC's holding registers to another base address, shifts the attack's timing, scales
//! the values it writes (keeping out-of-range values out of range) and, for half the seeds,
//! starts the attack from a second office machine beside the foothold (same zone, same
//! conduit policies): answers cannot be shared, the checks are the same.
//!
//! The **safety gate**: a trainee whose own actions cause damage or a loss of safety (setting
//! an interlock bypass, stopping or restarting a PLC shortly before a trip or damage) fails the
//! gated tasks whatever else they did.

mod facts;
mod tasks;
mod texts;

pub use facts::attack_bypassed;

use std::collections::BTreeMap;

use icsdrill_engine::event::SimEvent;
use icsdrill_engine::scenario::exam::AREAS;
use icsdrill_engine::scenario::{PassRule, Scenario, Text};
use serde::Serialize;

use crate::score::Scorer;

/// One task's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskResult {
    /// Task id.
    pub id: &'static str,
    /// Skill area.
    pub area: &'static str,
    /// What the trainee had to do.
    pub title: Text,
    /// Points earned.
    pub points: f64,
    /// Most points.
    pub max: f64,
    /// Why.
    pub detail: Text,
    /// Failed by the safety gate.
    pub gated: bool,
}

/// An area's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaScore {
    /// Area.
    pub area: &'static str,
    /// Points.
    pub points: f64,
    /// Most points.
    pub max: f64,
}

/// An exam's grade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grade {
    /// Tasks.
    pub tasks: Vec<TaskResult>,
    /// By area.
    pub areas: Vec<AreaScore>,
    /// Total points.
    pub total: f64,
    /// Most points.
    pub max: f64,
    /// Passed the rule and the safety gate.
    pub passed: bool,
    /// What the trainee's own actions did to safety, if anything.
    pub safety_violation: Option<Text>,
}

/// Grades an exam from its log.
pub fn grade(s: &Scenario, events: &[SimEvent], rule: PassRule) -> Grade {
    grade_at(s, events, rule, events.last().map_or(0, |e| e.tick))
}

/// `grade` of a log that ends at tick `end` (the judged events of a log are enough: see
/// `EventKind::judged`).
pub fn grade_at(s: &Scenario, events: &[SimEvent], rule: PassRule, end: u64) -> Grade {
    let f = facts::Facts::gather(s, events);
    let violation = facts::safety_violation(s, events, &f.attacker_hosts);
    let card = Scorer::score_log_at(s, false, events, end);
    let mut tasks: Vec<TaskResult> = tasks::all(s, events, &f, &card)
        .into_iter()
        .map(|t| {
            let failed_gate = t.gated && violation.is_some();
            let share = if failed_gate { 0.0 } else { t.share.clamp(0.0, 1.0) };
            TaskResult {
                id: t.id,
                area: t.area,
                title: texts::title(t.id),
                points: (t.max * share * 10.0).round() / 10.0,
                max: t.max,
                detail: match &violation {
                    Some(v) if failed_gate => {
                        Text::new(format!("safety gate: {}", v.en), format!("安全否决：{}", v.zh))
                    }
                    _ => t.detail,
                },
                gated: failed_gate,
            }
        })
        .collect();
    tasks.retain(|tr| s.exam.tasks.iter().any(|t| t == tr.id));
    let mut by: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for tr in &tasks {
        let e = by.entry(tr.area).or_default();
        e.0 += tr.points;
        e.1 += tr.max;
    }
    let areas: Vec<AreaScore> =
        AREAS.iter().map(|a| AreaScore { area: a, points: by[a].0, max: by[a].1 }).collect();
    let total: f64 = areas.iter().map(|a| a.points).sum();
    let max: f64 = areas.iter().map(|a| a.max).sum();
    let passed =
        total >= rule.overall * max && !areas.iter().any(|a| rule.area_below(a.points, a.max)) && max > 0.0;
    Grade { tasks, areas, total: (total * 10.0).round() / 10.0, max, passed, safety_violation: violation }
}
