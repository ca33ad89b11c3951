//! `alarm`: an alarm nobody acknowledged.

use icsdrill_engine::scenario::Scenario;

use super::evidence::Evidence;
use super::{Finding, Severity, texts};

/// One finding per alarm raised and never acknowledged.
pub(super) fn find(s: &Scenario, ev: &Evidence<'_>) -> Vec<Finding> {
    ev.alarms
        .iter()
        .filter(|(_, (raised, acked))| !*acked && !raised.is_empty())
        .map(|((plc, alarm), (raised, _))| {
            let mut f = Finding::new(format!("alarm:{alarm}"), Severity::Medium, "monitoring", "Training")
                .says(texts::alarm(&s.label(plc), &s.label(alarm), raised.len()))
                .caused_by("alarm", texts::alarm_cause());
            f.assessment.assets = vec![plc.clone()];
            f.assessment.evidence = raised.clone();
            f
        })
        .collect()
}
