//! `path`: an attack step succeeded across a conduit that let it through (boundary).

use icsdrill_engine::attack::Action;
use icsdrill_engine::scenario::{PlcRole, Scenario};

use super::evidence::Evidence;
use super::{Contained, Finding, Severity, texts};

/// One finding per attack step that succeeded over a conduit.
pub(super) fn find(s: &Scenario, ev: &Evidence<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for st in &ev.steps {
        let Some(run) = ev.run(&st.id) else { continue };
        if run.ok.is_empty() {
            continue;
        }
        let Some((zone, asset, role)) = target(s, &st.action) else { continue };
        let from_zones: Vec<_> =
            run.hosts.iter().filter_map(|h| s.host(h)).map(|h| s.hosts[h.ix()].zone).collect();
        let Some(conduit) = s.conduits.iter().find(|c| c.to == zone && from_zones.contains(&c.from)) else {
            continue;
        };
        let writes = st.action.changes().is_some();
        let severity = if writes && (role == PlcRole::Safety || !ev.damage.is_empty()) {
            Severity::Critical
        } else if writes {
            Severity::High
        } else {
            Severity::Medium
        };
        let remote = matches!(st.action, Action::Pivot(_));
        let (from, to) = (labels(s, &run.hosts), s.label(&asset));
        let mut f = Finding::new(format!("path:{}", st.id), severity, "network", "Equipment")
            .says(texts::path(&s.label(&conduit.id), &st.name, &from, &to, remote))
            // A remote session and Modbus requests through one conduit are two fixes (remote
            // access, the function allow-list): two items of a report.
            .caused_by(
                &format!("conduit:{}{}", conduit.id, if remote { ":remote" } else { "" }),
                texts::path_cause(&s.label(&conduit.id)),
            );
        f.assessment.techniques = st.techniques.clone();
        // A remote session is closed by segmentation, limiting remote access and a second
        // factor; Modbus requests by filtering and allow-lists.
        f.assessment.mitigations = match (remote, writes) {
            (true, _) => vec!["M0930", "M0935", "M0932"],
            (false, true) => vec!["M0937", "M0807", "M0930", "M0800"],
            (false, false) => vec!["M0930", "M0807"],
        };
        f.assessment.evidence = run.ok.clone();
        f.assessment.contained = match ev.standing.isolated.get(&asset) {
            // A remote session's target cut off.
            Some(&(seq, tick)) => {
                Some(Contained { seq, at_s: s.seconds(tick), how: texts::isolated(&s.label(&asset)) })
            }
            None => contained(s, ev, &conduit.id, &run.hosts),
        };
        f.assessment.assets = vec![asset, conduit.id.clone()];
        f.retest = vec![st.id.clone()];
        out.push(f);
    }
    out
}

/// The path closed by the team's actions still standing at the end: every host the step acted
/// from isolated, or refused on the conduit; by the last of those actions. (Or, before this,
/// the host a remote session reached isolated.)
fn contained(s: &Scenario, ev: &Evidence<'_>, conduit: &str, hosts: &[String]) -> Option<Contained> {
    let mut last: Option<Contained> = None;
    for h in hosts {
        let blocked = ev.standing.blocked.get(&(conduit.to_string(), h.clone()));
        let (&(seq, tick), how) = match (ev.standing.isolated.get(h), blocked) {
            (Some(at), _) => (at, texts::isolated(&s.label(h))),
            (None, Some(at)) => (at, texts::blocked(&s.label(h), &s.label(conduit))),
            (None, None) => return None,
        };
        if last.as_ref().is_none_or(|l| seq > l.seq) {
            last = Some(Contained { seq, at_s: s.seconds(tick), how });
        }
    }
    last
}

/// The names of `ids`, joined as a list is in each language.
fn labels(s: &Scenario, ids: &[String]) -> icsdrill_engine::scenario::Text {
    let names: Vec<_> = ids.iter().map(|id| s.label(id)).collect();
    icsdrill_engine::scenario::Text::new(
        names.iter().map(|n| n.en.as_str()).collect::<Vec<_>>().join(", "),
        names.iter().map(|n| n.zh.as_str()).collect::<Vec<_>>().join("、"),
    )
}

/// The zone, id and role of what an action targets (a host counts as a process asset).
fn target(s: &Scenario, action: &Action) -> Option<(icsdrill_engine::scenario::ZoneIdx, String, PlcRole)> {
    match action {
        Action::Pivot(h) => Some((s.hosts[h.ix()].zone, s.hosts[h.ix()].id.clone(), PlcRole::Process)),
        action => action.plc().map(|plc| {
            let p = &s.plcs[plc.ix()];
            (p.zone, p.id.clone(), p.role)
        }),
    }
}
