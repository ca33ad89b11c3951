//! `range`: a PLC accepted a set point outside its declared range (no M0818).

use icsdrill_engine::attack::Action;
use icsdrill_engine::scenario::Scenario;

use super::evidence::Evidence;
use super::{Finding, Severity, texts};

/// One finding per PLC that accepted out-of-range writes.
pub(super) fn find(s: &Scenario, ev: &Evidence<'_>) -> Vec<Finding> {
    ev.range_breaches
        .iter()
        .map(|(plc, seqs)| {
            let severity = if ev.damage.is_empty() { Severity::High } else { Severity::Critical };
            let mut f = Finding::new(format!("range:{plc}"), severity, "controller", "Equipment")
                .says(texts::range(&s.label(plc)));
            f.techniques = icsdrill_engine::attack::technique("T0836").into_iter().collect();
            f.mitigations = vec!["M0818", "M0800"];
            f.assets = vec![plc.clone()];
            f.evidence = seqs.clone();
            f.retest = ev
                .steps
                .iter()
                .filter(|st| match &st.action {
                    Action::WriteRegisters { plc: p, .. } => s.plcs[p.ix()].id == *plc,
                    // A set point over IEC 104.
                    Action::Iec104Command { plc: p, type_id: 48..=50, .. } => s.plcs[p.ix()].id == *plc,
                    // A register written over OPC UA.
                    Action::OpcUaWrite { plc: p, node, value } => {
                        s.plcs[p.ix()].id == *plc
                            && s.opcua_write(plc, node, *value)
                                .is_some_and(|w| matches!(w.function(), 6 | 16))
                    }
                    _ => false,
                })
                .map(|st| st.id.clone())
                .collect();
            f
        })
        .collect()
}
