//! `plan`: a response-plan step done late or not at all.

use icsdrill_engine::event::EventKind;
use icsdrill_engine::scenario::{PlanStep, Scenario};

use super::evidence::Evidence;
use super::{Finding, Severity, texts};
use crate::score::{PlanStatus, Scorer};

/// One finding per response-plan step the scorer marks late or missed.
pub(super) fn find(s: &Scenario, ev: &Evidence<'_>) -> Vec<Finding> {
    let card = Scorer::score_log_at(s, true, ev.events, ev.end);
    let mut out = Vec::new();
    for m in &card.plan {
        // A plan step missed is a deficiency of management (一般隐患), not a major hazard
        // (重大隐患: an SIS the office can reach): Medium, and Low when only late.
        let severity = match m.status {
            PlanStatus::Missed => Severity::Medium,
            PlanStatus::Late => Severity::Low,
            _ => continue,
        };
        let step = s.scoring.response_plan.iter().find(|p| p.id == m.id);
        let minutes = step.map_or(0, |p| p.within_ticks / u64::from(s.tick_hz) / 60);
        let late = m.status == PlanStatus::Late;
        let mut f = Finding::new(format!("plan:{}", m.id), severity, "response", "Planning")
            .says(texts::plan(&m.name, minutes, late));
        // What the team did for the step (late), then the attack the plan answers: the first
        // three attack events used to crowd out the late action itself.
        let did = ev
            .events
            .iter()
            .filter(|e| step.is_some_and(|p| p.done_by.iter().any(|d| PlanStep::done_by_event(d, &e.kind))));
        let attack = ev.events.iter().filter(|e| matches!(e.kind, EventKind::AttackAttempt { .. }));
        f.assessment.evidence = did.take(2).chain(attack).map(|e| e.seq).take(3).collect();
        out.push(f);
    }
    out
}
