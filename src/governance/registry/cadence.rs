//! Cadence: which drills, compliance tests and risk assessments an enterprise owes, and when,
//! by its security level.

use super::*;

/// The default rules' file, `data/cadence.yaml`.
pub const DEFAULT_CADENCE: &str = include_str!("../../../data/cadence.yaml");

/// Cadence rules by level.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CadenceRules {
    /// How the months between obligations are counted.
    #[serde(default)]
    pub period: Period,
    /// Months between each obligation, by level.
    pub levels: BTreeMap<u8, LevelRule>,
    /// Working days to re-grade after a major change.
    pub regrade_working_days: i64,
}

/// How "yearly" is read: the policy's 每年至少一次 ("at least once a year") may mean within
/// twelve months of the last time, or once in every calendar year; the regional authority
/// chooses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Due the given months after the last time (or after the level was verified).
    #[default]
    Rolling,
    /// Due by the end of the calendar year the given years (months / 12) after the year of
    /// the last time (or of the verification): a level 3 drill in 2026 makes the next due by
    /// 31 December 2027.
    Calendar,
}

/// One level's cadence.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LevelRule {
    /// Months between drills.
    pub drill: i64,
    /// Months between compliance tests.
    pub compliance_test: i64,
    /// Months between risk assessments.
    pub risk_assessment: i64,
    /// An obligation (levels 2-3) or guidance (level 1).
    pub binding: bool,
}

impl CadenceRules {
    /// The defaults shipped in `data/cadence.yaml`.
    pub fn defaults() -> CadenceRules {
        CadenceRules::parse(DEFAULT_CADENCE).expect("data/cadence.yaml parses")
    }

    /// Parses a cadence file.
    pub fn parse(text: &str) -> Result<CadenceRules> {
        let r: CadenceRules = serde_saphyr::from_str(text).map_err(|e| {
            // The YAML reader's message starts "error:" itself.
            let e = e.to_string();
            Error::invalid(format!("cadence rules: {}", e.trim_start_matches("error: ")))
        })?;
        for l in 1..=3u8 {
            let Some(rule) = r.levels.get(&l) else {
                return Err(Error::invalid(format!("cadence rules: no rule for level {l}")));
            };
            let months = [rule.drill, rule.compliance_test, rule.risk_assessment];
            if months.iter().any(|m| !(1..=120).contains(m)) {
                return Err(Error::invalid(format!("cadence rules: level {l}: months must be 1 to 120")));
            }
            if r.period == Period::Calendar && months.iter().any(|m| m % 12 != 0) {
                return Err(Error::invalid(format!(
                    "cadence rules: level {l}: calendar periods are whole years (12, 24, ... months)"
                )));
            }
        }
        Ok(r)
    }

    fn months(&self, level: u8, kind: &str) -> (i64, bool) {
        let r = &self.levels[&level.clamp(1, 3)];
        let m = match kind {
            "drill" => r.drill,
            "compliance_test" => r.compliance_test,
            _ => r.risk_assessment,
        };
        (m, r.binding)
    }

    /// When an obligation every `months` is next due, counted from `base`.
    fn next_due(&self, base: Day, months: i64) -> Day {
        match self.period {
            Period::Rolling => base.add_months(months),
            Period::Calendar => {
                let year = i64::from(base.year()) + months / 12;
                let year = i16::try_from(year.min(9999)).unwrap_or(i16::MAX);
                Day::ymd(year, 12, 31).unwrap_or(base)
            }
        }
    }
}

/// Where one obligation of one enterprise stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Due {
    /// Enterprise id.
    pub enterprise: String,
    /// `drill`, `compliance_test`, `risk_assessment` or `regrade`.
    pub kind: String,
    /// Last done.
    pub last: Option<Day>,
    /// Next due.
    pub next_due: Day,
    /// Past due today.
    pub overdue: bool,
    /// An obligation (false: guidance for level 1).
    pub binding: bool,
}

/// Each obligation of `e` on `today`: last done, next due, overdue. Never done counts from
/// the date the level was verified.
pub fn cadence(e: &Enterprise, reg: &Registry, rules: &CadenceRules, today: Day) -> Vec<Due> {
    let verified = e.verified_on;
    let mut out = Vec::new();
    for kind in ACTIVITIES {
        let last =
            reg.activities.iter().filter(|a| a.enterprise == e.id && a.kind == kind).map(|a| a.date).max();
        let (months, binding) = rules.months(e.level, kind);
        let next = rules.next_due(last.unwrap_or(verified), months);
        out.push(Due {
            enterprise: e.id.clone(),
            kind: kind.into(),
            last,
            next_due: next,
            overdue: today > next,
            binding,
        });
    }
    // Re-grading after the latest major change, unless a level was verified since (a
    // registration, from level 0, re-grades nothing: registered and changed on one day, the
    // change still wants its re-grading).
    if let Some(m) = reg.major_changes.iter().filter(|m| m.enterprise == e.id).map(|m| m.date).max() {
        let regraded =
            reg.level_changes.iter().filter(|c| c.enterprise == e.id && c.from != 0).any(|c| c.date >= m);
        if !regraded {
            let due = m.add_working_days(rules.regrade_working_days);
            out.push(Due {
                enterprise: e.id.clone(),
                kind: "regrade".into(),
                last: None,
                next_due: due,
                overdue: today > due,
                binding: true,
            });
        }
    }
    out
}
