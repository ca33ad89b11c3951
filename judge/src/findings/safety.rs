//! `safety`: equipment damage (a bypassed safety function shows as damage).

use icsdrill_engine::event::EventKind;
use icsdrill_engine::scenario::Scenario;

use super::evidence::Evidence;
use super::{Finding, Severity, texts};

/// One finding when the process reached a damage limit.
pub(super) fn find(s: &Scenario, ev: &Evidence<'_>) -> Vec<Finding> {
    if ev.damage.is_empty() {
        return Vec::new();
    }
    let vars: Vec<String> = ev
        .damage
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Damage { var, .. } => Some(var.clone()),
            _ => None,
        })
        .collect();
    let mut f = Finding::new("safety:damage".into(), Severity::Critical, "safety", "Equipment")
        .says(texts::damage(&vars.iter().map(|v| s.label(v)).collect::<Vec<_>>()));
    f.assessment.techniques =
        ["T0879", "T0880"].iter().filter_map(|id| icsdrill_engine::attack::technique(id)).collect();
    f.assessment.mitigations = vec!["M0805", "M0812"];
    f.assessment.assets = vars;
    f.assessment.evidence = ev.damage.iter().map(|e| e.seq).collect();
    f.retest = ev
        .steps
        .iter()
        .filter(|st| ev.run(&st.id).is_some_and(|r| !r.ok.is_empty()))
        .map(|st| st.id.clone())
        .collect();
    vec![f]
}
