//! Rectification tracking (安全整改): findings persist per enterprise (a drill's team id), and
//! each later drill of the same enterprise re-tests the open ones.
//!
//! For every finding still open from an earlier drill: if this drill produced it again, it
//! stays open with the new evidence; if this drill ran the attack path that exposed it (one of
//! its `retest` steps fired) and the hazard did not show, it is verified fixed; otherwise it
//! stays open, not re-tested. New findings are recorded open.

use crate::{Error, Result};
use icsdrill_engine::{EventKind, RejectReason, SimEvent};
use icsdrill_judge::findings::Finding;
use serde_json::json;

use crate::store::{FindingStatus, Store, TrackedFinding};

/// What one drill made of one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Found for the first time.
    New,
    /// Found again after it had been verified fixed.
    Reopened,
    /// Open, and found again.
    StillOpen,
    /// Open; the drill did not run the attack path that exposed it.
    NotRetested,
    /// Open before; the drill ran its attack path and the hazard did not show.
    Verified,
    /// This drill was tracked already (running it twice changes nothing).
    AlreadyTracked,
}

impl Verdict {
    /// The word for it, as the command line prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::New => "new",
            Verdict::Reopened => "reopened",
            Verdict::StillOpen => "still_open",
            Verdict::NotRetested => "not_retested",
            Verdict::Verified => "verified",
            Verdict::AlreadyTracked => "already_tracked",
        }
    }
}

impl PartialEq<&str> for Verdict {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one finding in one drill.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Finding id.
    pub id: String,
    /// What the drill made of it.
    pub verdict: Verdict,
    /// Status after this drill.
    pub status: FindingStatus,
}

/// Tracks one team's drill: `findings` were generated from `events`. Running it twice for the
/// same drill and team changes nothing.
pub fn track(
    store: &mut dyn Store,
    (drill, scenario): (&str, &icsdrill_engine::Scenario),
    enterprise: &str,
    findings: &[Finding],
    events: &[SimEvent],
) -> Result<Vec<Outcome>> {
    if store.tracked(drill, enterprise)? {
        return Ok(store
            .findings(enterprise)?
            .into_iter()
            .map(|f| Outcome { id: f.id, verdict: Verdict::AlreadyTracked, status: f.status })
            .collect());
    }
    // Each attack step's attempts: whether it had its effect, and why not.
    let attempts: Vec<(&str, bool, Option<RejectReason>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AttackAttempt { step, ok, reason, .. } => Some((step.as_str(), *ok, *reason)),
            _ => None,
        })
        .collect();
    let known = store.findings(enterprise)?;
    let mut rows = Vec::new();
    let mut out = Vec::new();
    for old in known.iter().filter(|f| f.status != FindingStatus::Verified) {
        let mut history = old.history_entries();
        let (verdict, status, finding) = match findings.iter().find(|f| f.id == old.id) {
            Some(f) => (Verdict::StillOpen, FindingStatus::Open, still_open(f, old)?),
            None => {
                let prior: serde_json::Value = serde_json::from_str(&old.finding).unwrap_or_default();
                let retest: Vec<String> = prior["retest"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
                    .unwrap_or_default();
                if retests(scenario, &old.id, &retest, &attempts) {
                    (Verdict::Verified, FindingStatus::Verified, old.finding.clone())
                } else {
                    (Verdict::NotRetested, old.status, old.finding.clone())
                }
            }
        };
        let found = findings.iter().find(|f| f.id == old.id);
        let evidence = found.map(|f| f.assessment.evidence.clone()).unwrap_or_default();
        history.push(json!({"drill": drill, "verdict": verdict.as_str(), "evidence": evidence}));
        rows.push(TrackedFinding {
            enterprise: enterprise.to_string(),
            id: old.id.clone(),
            status,
            // Still open: as this drill judged it, but never less severe than before.
            severity: found.map_or(old.severity, |f| f.assessment.severity.min(old.severity)),
            first_drill: old.first_drill.clone(),
            last_drill: drill.to_string(),
            finding,
            history: serde_json::to_string(&history)?,
        });
        out.push(Outcome { id: old.id.clone(), verdict, status });
    }
    for f in findings {
        let reopened = known.iter().find(|k| k.id == f.id && k.status == FindingStatus::Verified);
        if known.iter().any(|k| k.id == f.id && k.status != FindingStatus::Verified) {
            continue;
        }
        let mut history = reopened.map(TrackedFinding::history_entries).unwrap_or_default();
        let verdict = if reopened.is_some() { Verdict::Reopened } else { Verdict::New };
        history.push(json!({"drill": drill, "verdict": verdict.as_str(), "evidence": f.assessment.evidence}));
        rows.push(TrackedFinding {
            enterprise: enterprise.to_string(),
            id: f.id.clone(),
            status: FindingStatus::Open,
            severity: f.assessment.severity,
            // Reopened, its deadline runs from this drill: the earlier ones are in its history.
            first_drill: drill.to_string(),
            last_drill: drill.to_string(),
            finding: serde_json::to_string(f)?,
            history: serde_json::to_string(&history)?,
        });
        out.push(Outcome { id: f.id.clone(), verdict, status: FindingStatus::Open });
    }
    store.track(drill, enterprise, &rows)?;
    Ok(out)
}

/// Finding `f`, open before as `old` and found again: as this drill judged it (its evidence,
/// its words), but never less severe, nor due later, than before. An unrectified hazard gets
/// no more time because the attack went less far this time (a high finding due in 30 days
/// became a low one due in 180).
fn still_open(f: &Finding, old: &TrackedFinding) -> Result<String> {
    let mut now = serde_json::to_value(f)?;
    let before: serde_json::Value = serde_json::from_str(&old.finding).unwrap_or_default();
    if old.severity < f.assessment.severity {
        for k in ["severity", "grade"] {
            if let Some(v) = before.get(k) {
                now[k] = v.clone();
            }
        }
    }
    if let Some(days) = before["deadline_days"].as_u64() {
        now["deadline_days"] = days.min(u64::from(f.assessment.deadline_days)).into();
    }
    Ok(serde_json::to_string(&now)?)
}

/// Whether a drill's attack `attempts` (step, had its effect, why not) re-tested finding `id`,
/// whose re-test steps are `retest`.
fn retests(
    scenario: &icsdrill_engine::Scenario,
    id: &str,
    retest: &[String],
    attempts: &[(&str, bool, Option<RejectReason>)],
) -> bool {
    // A re-test counts only if the path reached what the finding is about: a set-point breach
    // is re-tested by a write the PLC itself judged (applied, or refused as out of range), a
    // PLC without a program backup by a download that reached it, not by attempts a firewall
    // stopped on the way; a boundary finding by an attempt the network stopped.
    let retested = |step: &str| {
        attempts.iter().filter(|(s, _, _)| *s == step).any(|(_, ok, reason)| {
            if *ok {
                return true;
            }
            match id.split(':').next() {
                Some("range") => {
                    matches!(reason, Some(RejectReason::OutOfRange | RejectReason::IllegalValue))
                }
                Some("path") => reason.is_some_and(RejectReason::by_network),
                Some("backup") => reason.is_some_and(|r| !r.by_network()),
                _ => true,
            }
        })
    };
    // The response (plan) and alarm-handling findings are about the whole attack: re-tested by
    // a drill in which the attack ran again, with that plan step or alarm in its scenario.
    let attack_ran = !attempts.is_empty();
    let whole_attack = attack_ran
        && match id.split_once(':') {
            Some(("plan", p)) => scenario.scoring.response_plan.iter().any(|x| x.id == p),
            Some(("alarm", a)) => scenario.alarms.iter().any(|x| x.id == a),
            _ => false,
        };
    whole_attack || retest.iter().any(|s| retested(s))
}

/// Tracks every team of a recorded drill (rebuilt from the store); `deadlines` overrides the
/// level's defaults.
pub fn track_drill(
    store: &mut dyn Store,
    drill: &str,
    deadlines: Option<icsdrill_judge::findings::Deadlines>,
) -> Result<Vec<(String, Vec<Outcome>)>> {
    let Some((record, teams)) = store.drill(drill)? else {
        return Err(Error::not_found(format!("no drill `{drill}` in the store (see `icsdrill drills`)")));
    };
    // A contest's or an exam's plant is the organisers', not an enterprise's: its findings are
    // no enterprise's hidden hazards (a contest team named as a registered enterprise got the
    // contest plant's findings in its register).
    if !record.mode.drills_an_enterprise() {
        return Ok(Vec::new());
    }
    // Tracked once, at its end: tracking a drill midway re-tested the earlier findings against
    // half a log and the drill's own end then found them tracked already.
    record.require_over("its findings are tracked")?;
    let loaded = crate::store::replay::load(&*store, &record, &teams, 0)?;
    let registry = store.registry()?;
    let mut out = Vec::new();
    for t in &loaded.teams {
        let level = registry.level_of(&t.id, loaded.scenario.meta.level);
        let deadlines = deadlines.unwrap_or_else(|| icsdrill_judge::findings::Deadlines::for_level(level));
        let (events, end) = t.judged();
        let findings = icsdrill_judge::findings::findings_until(
            &loaded.scenario,
            events,
            deadlines,
            (Some(end), record.mode.scores_plan()),
        );
        let outcomes = track(store, (drill, &loaded.scenario), &t.id, &findings, t.sim.events())?;
        out.push((t.id.clone(), outcomes));
    }
    Ok(out)
}

/// Longest account of a rectification (`declare`).
pub const MAX_NOTE_CHARS: usize = 500;

/// Records an enterprise's own declaration that it has rectified the open finding `id` (整改完成,
/// with what it did): the finding stays open, awaiting the re-test of its next drill (a drill
/// that runs its attack path without the hazard verifies it; one that finds it again leaves it
/// open). Refused for a finding not on record or verified already.
pub fn declare(
    store: &mut dyn Store,
    enterprise: &str,
    id: &str,
    date: crate::governance::dates::Day,
    note: &str,
) -> Result<TrackedFinding> {
    let note = note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE_CHARS || note.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "say what was done in 1 to {MAX_NOTE_CHARS} characters, on one line"
        )));
    }
    let Some(mut f) = store.findings(enterprise)?.into_iter().find(|f| f.id == id) else {
        return Err(Error::not_found(format!(
            "no finding `{id}` on record for `{enterprise}` (`icsdrill findings DRILL` tracks a drill's)"
        )));
    };
    if f.status == FindingStatus::Verified {
        return Err(Error::invalid(format!("`{id}` of `{enterprise}` is verified fixed already")));
    }
    let mut history = f.history_entries();
    history.push(json!({"verdict": "declared", "date": date.to_string(), "note": note}));
    f.history = serde_json::to_string(&history)?;
    // Its last drill is tracked already: recording it again changes nothing else.
    let drill = f.last_drill.clone();
    store.track(&drill, enterprise, std::slice::from_ref(&f))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use icsdrill_judge::findings::Severity;

    fn attempt(step: &str, reason: RejectReason) -> SimEvent {
        let kind = EventKind::AttackAttempt {
            step: step.into(),
            attempt: 1,
            host: "ews-01".into(),
            techniques: Vec::new(),
            ok: false,
            reason: Some(reason),
        };
        SimEvent { seq: 0, tick: 1, kind }
    }

    #[test]
    fn a_finding_is_verified_only_by_an_attempt_that_reached_what_it_is_about() {
        let dir = std::env::temp_dir().join(format!("icsdrill-retest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut store = crate::store::SqliteStore::open(&dir).expect("a store");
        let s = icsdrill_scenarios::builtin("petrochem-tank-farm").expect("built in").load().expect("loads");
        let mut sim = icsdrill_engine::Sim::new(s.clone(), 1);
        sim.run_until(s.duration_ticks, &[]);
        let found = icsdrill_judge::findings::findings(&s, sim.events(), 3);
        track(&mut store, ("d1", &s), "e", &found, sim.events()).expect("tracked");
        // Drill 2 finds none of them; its attempts: the overfill write refused by the PLC
        // itself (range checks on: the conduit still let it through), the SIS bypass stopped
        // at the conduit.
        let events = [
            attempt("overfill", RejectReason::OutOfRange),
            attempt("bypass-sis", RejectReason::SourceNotAllowed),
        ];
        let out = track(&mut store, ("d2", &s), "e", &[], &events).expect("tracked");
        let verdict = |id: &str| out.iter().find(|o| o.id == id).map(|o| o.verdict);
        assert_eq!(verdict("range:plc-t101"), Some(Verdict::Verified));
        assert_eq!(verdict("path:overfill"), Some(Verdict::NotRetested), "the conduit let the write through");
        assert_eq!(verdict("path:bypass-sis"), Some(Verdict::Verified));
        // The attack ran again and no response step or alarm was missed.
        assert_eq!(verdict("plan:notify"), Some(Verdict::Verified));
        assert_eq!(verdict("alarm:al-t101"), Some(Verdict::Verified));
        // Drill 3 finds the set-point breach again: reopened, due from drill 3.
        let again: Vec<_> = found.iter().filter(|f| f.id == "range:plc-t101").cloned().collect();
        let out = track(&mut store, ("d3", &s), "e", &again, &[]).expect("tracked");
        assert!(out.iter().any(|o| o.id == "range:plc-t101" && o.verdict == Verdict::Reopened), "{out:?}");
        let row =
            store.findings("e").expect("read").into_iter().find(|f| f.id == "range:plc-t101").expect("kept");
        assert_eq!((row.first_drill.as_str(), row.status), ("d3", FindingStatus::Open));
        let history: serde_json::Value = serde_json::from_str(&row.history).expect("json");
        assert_eq!(history.as_array().map(Vec::len), Some(3), "d1, d2 and d3 in its history");
        // Drill 4 finds it again, less severe and with more time: it keeps its tier and its
        // due date, with drill 4's evidence.
        let mut milder = again[0].clone();
        let (tier, days) = (milder.assessment.severity, milder.assessment.deadline_days);
        assert!(tier < Severity::Low && days > 0, "{tier:?} in {days} days");
        (milder.assessment.severity, milder.assessment.deadline_days, milder.assessment.evidence) =
            (Severity::Low, days * 6, vec![42]);
        let out = track(&mut store, ("d4", &s), "e", &[milder], &[]).expect("tracked");
        assert!(out.iter().any(|o| o.id == "range:plc-t101" && o.verdict == Verdict::StillOpen), "{out:?}");
        let row =
            store.findings("e").expect("read").into_iter().find(|f| f.id == "range:plc-t101").expect("kept");
        let kept: serde_json::Value = serde_json::from_str(&row.finding).expect("json");
        assert_eq!(row.severity, tier);
        assert_eq!(
            (kept["severity"].as_str(), kept["deadline_days"].as_u64()),
            (Some(tier.as_str()), Some(u64::from(days)))
        );
        assert_eq!((kept["evidence"][0].as_u64(), row.first_drill.as_str()), (Some(42), "d3"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
