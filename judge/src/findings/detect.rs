//! `detect`: an attack step that fired and was never reported in time.

use icsdrill_engine::attack::Step;
use icsdrill_engine::scenario::Scenario;

use super::evidence::{Evidence, StepRun};
use super::{Finding, Severity, texts};

/// One finding per fired step no report credited within the detection window.
pub(super) fn find(s: &Scenario, ev: &Evidence<'_>) -> Vec<Finding> {
    let window = s.scoring.detect_window_ticks;
    let mut out = Vec::new();
    for st in &ev.steps {
        let Some(run) = ev.run(&st.id) else { continue };
        let Some(&first_seq) = run.attempts.first() else { continue };
        let first_tick = ev.events.iter().find(|e| e.seq == first_seq).map_or(0, |e| e.tick);
        let assets = assets(s, st, run);
        let detected = ev.reports.iter().any(|(e, tech, asset)| {
            e.tick >= first_tick
                && e.tick <= first_tick + window
                && assets.iter().any(|a| a.eq_ignore_ascii_case(asset))
                && icsdrill_engine::attack::technique(tech)
                    .is_some_and(|t| st.techniques.iter().any(|x| x.v18 == t.v18 || x.tactic == t.tactic))
        });
        if detected {
            continue;
        }
        let severity = if run.ok.is_empty() { Severity::Low } else { Severity::High };
        let techniques: Vec<&str> = st.techniques.iter().map(|t| t.v19).collect();
        // The drill may have ended (or, live, reached) before the window did: the team had
        // only until then.
        let ended = (first_tick + window > ev.end).then(|| (ev.end - first_tick) / u64::from(s.tick_hz));
        let minutes = window / u64::from(s.tick_hz) / 60;
        let mut f = Finding::new(format!("detect:{}", st.id), severity, "monitoring", "Training")
            .says(texts::detect(&st.name, &techniques, minutes, ended))
            .caused_by("detect", texts::detect_cause());
        f.assessment.techniques = st.techniques.clone();
        // Signatures that see the attack on the wire (M0931), and people who know what they
        // are looking at (M0917). Not M0810, an out-of-band channel, which is the response
        // plan's means of reporting, not of noticing.
        f.assessment.mitigations = vec!["M0931", "M0917"];
        f.assessment.assets = assets.into_iter().take(3).collect();
        f.assessment.evidence = run.attempts.clone();
        f.retest = vec![st.id.clone()];
        out.push(f);
    }
    out
}

/// The assets a report may name for a step: what it touches, as the scorer credits them (a
/// PLC, a forged sensor, a wiped or blanked host), and the hosts it came from; for a scan, which
/// may touch every PLC, the hosts first (the finding lists three).
fn assets(s: &Scenario, st: &Step, run: &StepRun) -> Vec<String> {
    let touched = crate::score::action_assets(s, &st.action);
    let hosts = run.hosts.iter().cloned();
    match st.action {
        icsdrill_engine::attack::Action::Scan(_) => hosts.chain(touched).collect(),
        _ => touched.into_iter().chain(hosts).collect(),
    }
}
