//! Findings that share a cause, as one: what a report lists. One fix closes them all (a
//! conduit's policy, the team's reporting, alarm handling), so an authority reads one item
//! with its instances, not one per attack step; the rectification register keeps each id.

use icsdrill_engine::scenario::Text;
use serde::Serialize;

use super::{Assessment, Finding, Status};

/// One item of a report: the findings of one cause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Merged {
    /// Its number in the report (`F-01`...).
    pub number: String,
    /// The stable ids it merges (the register's keys, in the report's appendix).
    pub ids: Vec<String>,
    /// The cause (a single finding's own title).
    pub title: Text,
    /// What each instance was.
    pub descriptions: Vec<Text>,
    /// The most severe instance's tier, the techniques, mitigations, assets and evidence of
    /// every instance once each, the cause's measure, the shortest deadline; open while any
    /// instance is.
    #[serde(flatten)]
    pub assessment: Assessment,
}

/// Merges `findings` (sorted most severe first, as `findings` returns them) by cause, in the
/// order each cause first appears, numbered from `F-01`.
pub fn merge(findings: &[Finding]) -> Vec<Merged> {
    let mut out: Vec<(String, Merged)> = Vec::new();
    for f in findings {
        match out.iter_mut().find(|(cause, _)| *cause == f.cause) {
            Some((_, m)) => {
                m.ids.push(f.id.clone());
                m.title = f.cause_title.clone();
                m.descriptions.push(f.description.clone());
                join(&mut m.assessment, &f.assessment);
            }
            None => out.push((
                f.cause.clone(),
                Merged {
                    number: String::new(),
                    ids: vec![f.id.clone()],
                    title: f.title.clone(),
                    descriptions: vec![f.description.clone()],
                    assessment: f.assessment.clone(),
                },
            )),
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, (_, mut m))| {
            m.number = format!("F-{:02}", i + 1);
            m
        })
        .collect()
}

/// Adds one more instance of a cause to what its item says.
fn join(m: &mut Assessment, f: &Assessment) {
    m.severity = m.severity.min(f.severity);
    m.grade = m.severity.grade();
    for t in &f.techniques {
        if !m.techniques.iter().any(|x| x.v18 == t.v18) {
            m.techniques.push(*t);
        }
    }
    extend_once(&mut m.mitigations, &f.mitigations);
    extend_once(&mut m.assets, &f.assets);
    m.evidence.extend(&f.evidence);
    m.evidence.sort_unstable();
    m.evidence.dedup();
    m.deadline_days = m.deadline_days.min(f.deadline_days);
    if f.status == Status::Open {
        m.status = Status::Open;
    }
    // Contained when every instance is, by the last action that closed one.
    m.contained = match (m.contained.take(), &f.contained) {
        (Some(a), Some(b)) => Some(if b.seq > a.seq { b.clone() } else { a }),
        _ => None,
    };
}

fn extend_once<T: Clone + PartialEq>(into: &mut Vec<T>, from: &[T]) {
    for x in from {
        if !into.contains(x) {
            into.push(x.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Severity;

    fn finding(id: &str, cause: &str, severity: Severity, days: u32) -> Finding {
        let mut f = Finding::new(id.into(), severity, "network", "Equipment");
        f.title = Text::new(format!("title {id}"), format!("标题 {id}"));
        f.description = Text::new(format!("what {id}"), format!("描述 {id}"));
        f.cause = cause.into();
        f.cause_title = Text::new(format!("cause {cause}"), format!("原因 {cause}"));
        f.assessment.assets = vec![format!("asset-{id}"), "shared".into()];
        f.assessment.evidence = vec![days.into(), 1];
        f.assessment.deadline_days = days;
        f
    }

    #[test]
    fn findings_of_one_cause_become_one_item_with_every_instance() {
        let fs = [
            finding("path:a", "conduit:it-ot", Severity::Critical, 7),
            finding("range:p", "range:p", Severity::High, 30),
            finding("path:b", "conduit:it-ot", Severity::Medium, 90),
        ];
        let m = merge(&fs);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].number.as_str(), m[1].number.as_str()), ("F-01", "F-02"));
        assert_eq!(m[0].ids, ["path:a", "path:b"]);
        assert_eq!(m[0].title.en, "cause conduit:it-ot", "a merged item is titled by its cause");
        assert_eq!(m[1].title.en, "title range:p", "a single finding keeps its own title");
        assert_eq!(m[0].descriptions.len(), 2);
        assert_eq!((m[0].assessment.severity, m[0].assessment.deadline_days), (Severity::Critical, 7));
        assert_eq!(m[0].assessment.assets, ["asset-path:a", "shared", "asset-path:b"]);
        assert_eq!(m[0].assessment.evidence, [1, 7, 90]);
    }
}
