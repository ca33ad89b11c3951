//! A scenario's exam section (`exam:`): the task list, the pass rule and the time limit a
//! certification exam on it uses. Grading is the `icsdrill-judge` crate's.

use serde::Serialize;

/// The five skill areas.
pub const AREAS: [&str; 5] = ["architecture", "implementation", "operations", "assessment", "response"];

/// Every task, by id, with its skill area.
pub const TASKS: [(&str, &str); 9] = [
    ("cut-path", "architecture"),
    ("protect-sis", "architecture"),
    ("validate-writes", "implementation"),
    ("allow-list", "implementation"),
    ("detect", "operations"),
    ("hazards", "assessment"),
    ("restore", "response"),
    ("report", "response"),
    ("safe", "response"),
];

/// A scenario's exam section (`exam:`; every part has a default).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExamSpec {
    /// Task ids set for the exam, covering all five areas.
    pub tasks: Vec<String>,
    /// The pass rule.
    pub pass: PassRule,
    /// Time limit in ticks (default: the scenario's duration).
    pub time_limit_ticks: Option<u64>,
    /// Years a certificate earned on it is valid (`VALID_YEARS` by default; 0: no end).
    pub valid_years: u32,
}

/// How long a certificate is valid by default, in years (as a CISAW or GIAC credential is
/// renewed every three or four).
pub const VALID_YEARS: u32 = 3;

/// The most years an exam may make its certificates valid for.
pub const MAX_VALID_YEARS: u32 = 10;

impl Default for ExamSpec {
    fn default() -> ExamSpec {
        ExamSpec {
            tasks: TASKS.iter().map(|(t, _)| (*t).to_string()).collect(),
            pass: PassRule::default(),
            time_limit_ticks: None,
            valid_years: VALID_YEARS,
        }
    }
}

/// The pass rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassRule {
    /// Least share of all points.
    pub overall: f64,
    /// Least share of each area's points.
    pub per_area: f64,
}

impl PassRule {
    /// Whether an area's `points` of `max` are under the rule's least share of it (which
    /// fails the exam whatever the total).
    pub fn area_below(&self, points: f64, max: f64) -> bool {
        points < self.per_area * max
    }
}

impl Default for PassRule {
    fn default() -> PassRule {
        PassRule { overall: 0.6, per_area: 0.5 }
    }
}
