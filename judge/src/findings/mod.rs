//! Findings: the hidden hazards (安全隐患) a drill exposed, derived from one team's event log
//! and the scenario alone, so the same log always gives the same findings.
//!
//! Each rule looks for one kind of hazard and cites the events that show it:
//! - `path`: an attack step succeeded across a conduit that let it through (boundary);
//! - `range`: a PLC accepted a set point outside its declared range (no M0818);
//! - `backup`: a PLC's program was changed and it has no backup to restore from;
//! - `safety`: equipment damage or a bypassed safety function (Loss of Safety / Damage);
//! - `alarm`: an alarm nobody acknowledged;
//! - `detect`: an attack step that fired and was never reported in time;
//! - `plan`: a response-plan step done late or not at all.
//!
//! Ids are stable across drills (`path:STEP`, `range:PLC`, ...), which is what rectification
//! tracking keys on; `retest` names the attack steps whose path re-tests the finding.

mod alarm;
mod backup;
mod detect;
mod evidence;
mod merge;
mod path;
mod plan;
mod range;
mod safety;
mod texts;

use icsdrill_engine::attack::Technique;
use icsdrill_engine::event::SimEvent;
use icsdrill_engine::scenario::{Scenario, Text};
use serde::Serialize;

use evidence::Evidence;
pub use merge::{Merged, merge};

/// Severity tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A credible path to damage, loss of safety or loss of control.
    Critical,
    /// An attack step that succeeded, or response that failed.
    High,
    /// A weakness the drill showed without harm.
    Medium,
    /// Worth fixing.
    Low,
}

impl Severity {
    /// The word for it (`critical`, `high`, `medium`, `low`), as records and reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    /// The hazard grade of Chinese safety-production practice: 重大 (major) for critical and
    /// high, 一般 (general) otherwise.
    pub fn grade(self) -> Text {
        match self {
            Severity::Critical | Severity::High => Text { en: "major".into(), zh: "重大".into() },
            Severity::Medium | Severity::Low => Text { en: "general".into(), zh: "一般".into() },
        }
    }
}

/// Days to rectify, by severity, for one enterprise level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Deadlines {
    /// Critical.
    pub critical: u32,
    /// High.
    pub high: u32,
    /// Medium.
    pub medium: u32,
    /// Low.
    pub low: u32,
}

/// Rectification deadlines that are not four day counts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlinesError {
    /// A count that is not a number.
    #[error("`{0}` is not a number of days")]
    NotANumber(String),
    /// Not four positive counts.
    #[error("give four day counts, critical,high,medium,low (each at least 1), e.g. 7,30,90,180; got `{0}`")]
    Shape(String),
}

impl Deadlines {
    /// Defaults by enterprise level: level 3 drills yearly and rectifies fastest.
    pub fn for_level(level: u8) -> Deadlines {
        match level {
            3 => Deadlines { critical: 7, high: 30, medium: 90, low: 180 },
            2 => Deadlines { critical: 15, high: 60, medium: 180, low: 365 },
            _ => Deadlines { critical: 30, high: 90, medium: 365, low: 365 },
        }
    }

    /// Parses `CRITICAL,HIGH,MEDIUM,LOW` days, e.g. `7,30,90,180`.
    pub fn parse(s: &str) -> Result<Deadlines, DeadlinesError> {
        let days: Vec<u32> = s
            .split(',')
            .map(|d| d.trim().parse::<u32>().map_err(|_| DeadlinesError::NotANumber(d.to_string())))
            .collect::<Result<_, _>>()?;
        match days[..] {
            [critical, high, medium, low] if days.iter().all(|d| *d > 0) => {
                Ok(Deadlines { critical, high, medium, low })
            }
            _ => Err(DeadlinesError::Shape(s.to_string())),
        }
    }

    /// Days for a severity.
    pub fn days(&self, s: Severity) -> u32 {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }
}

/// Where a finding stands in rectification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Found, not fixed.
    Open,
    /// The enterprise says it is fixed; not re-tested yet.
    Fixed,
    /// A later drill re-ran the path and the hazard was gone.
    Verified,
}

/// One hidden hazard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id (`path:overfill`, `range:plc-t101`, ...).
    pub id: String,
    /// Title.
    pub title: Text,
    /// What happened.
    pub description: Text,
    /// How severe it is, what it touched and who fixes it by when (the fields a merged report
    /// item shares; flattened, so the JSON is one object).
    #[serde(flatten)]
    pub assessment: Assessment,
    /// Attack steps whose path re-tests this finding in a later drill.
    pub retest: Vec<String>,
    /// What it shares with other findings of the same cause (one fix closes them all), e.g.
    /// `conduit:it-ot`; its own id when nothing else shares it. Reports merge by it.
    pub cause: String,
    /// That cause in words (the title of a merged finding).
    pub cause_title: Text,
}

/// What a finding and a report item of merged findings both say of a hazard: its tier, the
/// techniques and mitigations, the assets and evidence, the requirement it fails, the measure,
/// who owns it, by when, and whether it is open.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// Tier.
    pub severity: Severity,
    /// 重大 / 一般.
    pub grade: Text,
    /// ATT&CK for ICS techniques (v18 and v19 ids).
    pub techniques: Vec<Technique>,
    /// Mitigation ids that close it (M08xx/M09xx).
    pub mitigations: Vec<&'static str>,
    /// Asset ids.
    pub assets: Vec<String>,
    /// Event `seq`s that show it, in order.
    pub evidence: Vec<u64>,
    /// Requirement family (DOMAIN 1.5).
    pub family: Text,
    /// POETE capability element.
    pub capability: &'static str,
    /// Recommended corrective measure.
    pub measure: Text,
    /// Who owns the fix.
    pub owner: Text,
    /// Days to rectify.
    pub deadline_days: u32,
    /// Rectification status.
    pub status: Status,
    /// What the team did during the drill that closed the hazard in the live plant, if it
    /// stood at the end: the finding stays open (a drill's stopgap is not a rectification
    /// the authority has verified), but the report says it was contained, when and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contained: Option<Contained>,
}

/// A team's action during the drill that closed a hazard in the live plant until its end.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Contained {
    /// The event of the action (the input applied).
    pub seq: u64,
    /// Its simulated second.
    pub at_s: f64,
    /// What it did, in words.
    pub how: Text,
}

impl Finding {
    /// An open finding of `severity`, owned and filed under the requirement family `family`
    /// (`network`, `controller`, `data`, `safety`, `monitoring`, `response`); the grade and
    /// deadline are set when it is added.
    fn new(id: String, severity: Severity, family: &str, capability: &'static str) -> Finding {
        Finding {
            id,
            title: Text::new("", ""),
            description: Text::new("", ""),
            assessment: Assessment {
                severity,
                grade: severity.grade(),
                techniques: Vec::new(),
                mitigations: Vec::new(),
                assets: Vec::new(),
                evidence: Vec::new(),
                family: texts::family(family),
                capability,
                measure: Text::new("", ""),
                owner: texts::owner(family),
                deadline_days: 0,
                status: Status::Open,
                contained: None,
            },
            retest: Vec::new(),
            cause: String::new(),
            cause_title: Text::new("", ""),
        }
    }

    /// Title, description and corrective measure.
    fn says(mut self, (title, description, measure): (Text, Text, Text)) -> Finding {
        self.title = title;
        self.description = description;
        self.assessment.measure = measure;
        self
    }

    /// Files it under a cause other findings may share.
    fn caused_by(mut self, cause: &str, title: Text) -> Finding {
        self.cause = cause.to_string();
        self.cause_title = title;
        self
    }
}

/// Mitigation ids with their names from the ATT&CK table (`M0818 Validate Program Inputs`,
/// `M0818 验证程序输入（Validate Program Inputs）`).
pub fn mitigation_names(ids: &[&str]) -> Vec<Text> {
    ids.iter()
        .map(|id| match icsdrill_engine::attack::mitigation(id) {
            Some(m) => {
                let names = m.names();
                Text::new(format!("{} {}", m.id, names.en), format!("{} {}", m.id, names.zh))
            }
            None => Text::new(*id, *id),
        })
        .collect()
}

/// Derives the findings of one team's drill: `events` is its whole log (or its judged
/// events), `level` the enterprise's security level (the default deadlines follow it).
pub fn findings(scenario: &Scenario, events: &[SimEvent], level: u8) -> Vec<Finding> {
    findings_with(scenario, events, Deadlines::for_level(level))
}

/// `findings` with other deadlines than the level's defaults.
pub fn findings_with(scenario: &Scenario, events: &[SimEvent], deadlines: Deadlines) -> Vec<Finding> {
    findings_until(scenario, events, deadlines, (None, true))
}

/// `findings_with` of a drill that ran until tick `end` (when later than its last event): a
/// step the drill ended too soon after to be reported in time is said so. `plan`: whether the
/// drill judged its teams on the response plan (`Mode::scores_plan`); if not, a plan step
/// missed is no finding.
pub fn findings_until(
    scenario: &Scenario,
    events: &[SimEvent],
    deadlines: Deadlines,
    (end, plan): (Option<u64>, bool),
) -> Vec<Finding> {
    let mut ev = Evidence::gather(scenario, events);
    ev.end = ev.end.max(end.unwrap_or(0));
    let rules: [fn(&Scenario, &Evidence<'_>) -> Vec<Finding>; 8] = [
        path::find,
        range::find,
        backup::find,
        safety::find,
        safety::bypass,
        alarm::find,
        detect::find,
        plan::find,
    ];
    // A drill that does not judge the plan runs every rule but the plan's (the last).
    let rules = if plan { &rules[..] } else { &rules[..rules.len() - 1] };
    let mut out: Vec<Finding> = rules
        .iter()
        .flat_map(|rule| rule(scenario, &ev))
        .map(|mut f| {
            f.assessment.grade = f.assessment.severity.grade();
            debug_assert!(
                f.assessment.mitigations.iter().all(|m| icsdrill_engine::attack::mitigation(m).is_some()),
                "{}: every mitigation comes from the ATT&CK table: {:?}",
                f.id,
                f.assessment.mitigations
            );
            f.assessment.deadline_days = deadlines.days(f.assessment.severity);
            f.assessment.evidence.sort_unstable();
            f.assessment.evidence.dedup();
            if f.cause.is_empty() {
                f.cause = f.id.clone();
                f.cause_title = f.title.clone();
            }
            f
        })
        .collect();
    out.sort_by(|a, b| a.assessment.severity.cmp(&b.assessment.severity).then(a.id.cmp(&b.id)));
    out
}
