//! `safety`: equipment damage (a bypassed safety function shows as damage), and an interlock
//! left bypassed at the drill's end.

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

/// One finding per interlock whose bypass was still set when the drill ended (set during it,
/// by anyone: the attacker's bypass the team never took off, or one of its own).
pub(super) fn bypass(s: &Scenario, ev: &Evidence<'_>) -> Vec<Finding> {
    ev.bypasses
        .iter()
        .filter(|(_, (_, _, on))| *on)
        .map(|(il, (plc, seqs, _))| {
            let mut f = Finding::new(format!("safety:bypass:{il}"), Severity::High, "safety", "Equipment")
                .says(texts::bypass_left(&s.label(il), &s.label(plc)));
            f.assessment.techniques = icsdrill_engine::attack::technique("T0880").into_iter().collect();
            f.assessment.mitigations = vec!["M0812", "M0805"];
            f.assessment.assets = vec![plc.clone()];
            f.assessment.evidence = seqs.clone();
            // The steps that write a coil of its PLC (the bypass among them).
            f.retest = ev
                .steps
                .iter()
                .filter(|st| {
                    s.write_of_action(&st.action)
                        .is_some_and(|(p, w)| s.plcs[p.ix()].id == *plc && !w.to_registers())
                })
                .map(|st| st.id.clone())
                .collect();
            f
        })
        .collect()
}
