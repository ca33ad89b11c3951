//! Findings that share a cause, as one: what a report lists. One fix closes them all (a
//! conduit's policy, the team's reporting, alarm handling), so an authority reads one item
//! with its instances, not one per attack step; the rectification register keeps each id.

use icsdrill_engine::attack::Technique;
use icsdrill_engine::scenario::Text;
use serde::Serialize;

use super::{Finding, Severity, Status};

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
    /// The most severe instance's tier.
    pub severity: Severity,
    /// 重大 / 一般.
    pub grade: Text,
    /// ATT&CK techniques of every instance, once each.
    pub techniques: Vec<Technique>,
    /// Mitigation ids, once each.
    pub mitigations: Vec<&'static str>,
    /// Asset ids, once each.
    pub assets: Vec<String>,
    /// Event `seq`s, in order.
    pub evidence: Vec<u64>,
    /// Requirement family.
    pub family: Text,
    /// POETE element.
    pub capability: &'static str,
    /// The corrective measure (the cause's).
    pub measure: Text,
    /// Who owns the fix.
    pub owner: Text,
    /// Days to rectify: the shortest of its instances'.
    pub deadline_days: u32,
    /// Open while any instance is.
    pub status: Status,
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
            }
            None => out.push((
                f.cause.clone(),
                Merged {
                    number: String::new(),
                    ids: vec![f.id.clone()],
                    title: f.title.clone(),
                    descriptions: vec![f.description.clone()],
                    severity: f.severity,
                    grade: f.grade.clone(),
                    techniques: f.techniques.clone(),
                    mitigations: f.mitigations.clone(),
                    assets: f.assets.clone(),
                    evidence: f.evidence.clone(),
                    family: f.family.clone(),
                    capability: f.capability,
                    measure: f.measure.clone(),
                    owner: f.owner.clone(),
                    deadline_days: f.deadline_days,
                    status: f.status,
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

    fn finding(id: &str, cause: &str, severity: Severity, days: u32) -> Finding {
        let mut f = Finding::new(id.into(), severity, "network", "Equipment");
        f.title = Text::new(format!("title {id}"), format!("标题 {id}"));
        f.description = Text::new(format!("what {id}"), format!("描述 {id}"));
        f.cause = cause.into();
        f.cause_title = Text::new(format!("cause {cause}"), format!("原因 {cause}"));
        f.assets = vec![format!("asset-{id}"), "shared".into()];
        f.evidence = vec![days.into(), 1];
        f.deadline_days = days;
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
        assert_eq!((m[0].severity, m[0].deadline_days), (Severity::Critical, 7));
        assert_eq!(m[0].assets, ["asset-path:a", "shared", "asset-path:b"]);
        assert_eq!(m[0].evidence, [1, 7, 90]);
    }
}
