//! `backup`: a PLC's program was changed and it has no backup to restore from.

use icsdrill_engine::attack::Action;
use icsdrill_engine::scenario::Scenario;

use super::evidence::Evidence;
use super::{Finding, Severity, texts};

/// One finding per PLC without a backup whose program changed (or could not be restored).
pub(super) fn find(s: &Scenario, ev: &Evidence<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, plc) in s.plcs.iter().enumerate() {
        let changed = ev.changed_programs.get(&plc.id);
        let refused = ev.no_backup.get(&plc.id);
        if plc.program_backup || (changed.is_none() && refused.is_none()) {
            continue;
        }
        let mut f = Finding::new(format!("backup:{}", plc.id), Severity::High, "data", "Planning")
            .says(texts::backup(&plc.name));
        f.assessment.techniques = icsdrill_engine::attack::technique("T0843").into_iter().collect();
        f.assessment.mitigations = vec!["M0953", "M0947"];
        f.assessment.assets = vec![plc.id.clone()];
        f.assessment.evidence = changed.cloned().unwrap_or_default();
        f.assessment.evidence.extend(refused.cloned().unwrap_or_default());
        f.retest = ev
            .steps
            .iter()
            .filter(|st| matches!(&st.action, Action::Download { plc: p, .. } if p.ix() == i))
            .map(|st| st.id.clone())
            .collect();
        out.push(f);
    }
    out
}
