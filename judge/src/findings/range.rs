//! `range`: a PLC accepted a set point outside its declared range (no M0818).

use icsdrill_engine::scenario::Scenario;

use super::evidence::Evidence;
use super::{Contained, Finding, Severity, texts};

/// One finding per PLC that accepted out-of-range writes.
pub(super) fn find(s: &Scenario, ev: &Evidence<'_>) -> Vec<Finding> {
    ev.range_breaches
        .iter()
        .map(|(plc, seqs)| {
            let severity = if ev.damage.is_empty() { Severity::High } else { Severity::Critical };
            let mut f = Finding::new(format!("range:{plc}"), severity, "controller", "Equipment")
                .says(texts::range(&s.label(plc)));
            f.assessment.techniques = icsdrill_engine::attack::technique("T0836").into_iter().collect();
            f.assessment.mitigations = vec!["M0818", "M0800"];
            f.assessment.assets = vec![plc.clone()];
            f.assessment.evidence = seqs.clone();
            f.assessment.contained = ev.standing.range_checks.get(plc).map(|&(seq, tick)| Contained {
                seq,
                at_s: s.seconds(tick),
                how: texts::range_contained(&s.label(plc)),
            });
            f.retest = ev
                .steps
                .iter()
                // A register written, over whichever protocol.
                .filter(|st| {
                    s.write_of_action(&st.action)
                        .is_some_and(|(p, w)| s.plcs[p.ix()].id == *plc && w.to_registers())
                })
                .map(|st| st.id.clone())
                .collect();
            f
        })
        .collect()
}
