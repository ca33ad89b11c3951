//! The registry of industrial-internet enterprises: who they are, where (prefecture), which
//! industry and class, their security level and who verified it; their drills, compliance
//! tests and risk assessments; the cadence those are due at by level; a self-grading helper;
//! CSV and xlsx import (all rows valid or nothing imported) and export; and the roll-ups
//! from enterprise to prefecture to region.
//!
//! Rules are data (`data/*.yaml`, embedded; the cadence can be overridden by a file), and the
//! grading rules say on every result that they are illustrative.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::governance::dates::{self, Day};
use crate::store::TrackedFinding;

/// A prefecture-level division (地州市).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prefecture {
    /// Code used in files (`kashgar`).
    pub code: String,
    /// English name.
    pub en: String,
    /// Chinese name.
    pub zh: String,
}

/// Xinjiang's prefectures and the XPCC.
pub fn prefectures() -> &'static [Prefecture] {
    static P: OnceLock<Vec<Prefecture>> = OnceLock::new();
    P.get_or_init(|| {
        serde_saphyr::from_str(include_str!("../../data/prefectures.yaml"))
            .expect("data/prefectures.yaml parses")
    })
}

/// Industries: the seven key industries of the Xinjiang programme, and the rest.
pub const INDUSTRIES: [&str; 8] = [
    "petrochemical",
    "power",
    "coal_chemical",
    "steel",
    "nonferrous",
    "equipment_manufacturing",
    "new_materials",
    "other",
];

/// Enterprise classes (the three types of the 办法).
pub const CLASSES: [&str; 3] = ["networked_industrial", "platform", "identifier_resolution"];

/// Obligations the cadence tracks.
pub const ACTIVITIES: [&str; 3] = ["drill", "compliance_test", "risk_assessment"];

/// An enterprise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enterprise {
    /// Id (letters, digits, `-`, `_`); a drill's team id names the enterprise.
    pub id: String,
    /// Name.
    pub name: String,
    /// Prefecture code.
    pub prefecture: String,
    /// Industry (one of `INDUSTRIES`).
    pub industry: String,
    /// Class (one of `CLASSES`).
    pub class: String,
    /// Security level 1-3.
    pub level: u8,
    /// `region` (level 3) or `prefecture` (levels 1-2).
    pub verified_by: String,
    /// When the level was verified.
    pub verified_on: Day,
    /// Contact person.
    pub contact: String,
    /// Contact phone.
    pub phone: String,
    /// Security officer.
    pub security_officer: String,
    /// Scenario ids modelling its plant.
    pub scenarios: Vec<String>,
}

/// A drill, compliance test or risk assessment done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Enterprise id.
    pub enterprise: String,
    /// One of `ACTIVITIES`.
    pub kind: String,
    /// Date.
    pub date: Day,
    /// A drill id, a report number...
    pub reference: String,
}

/// A recorded level change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelChange {
    /// Enterprise id.
    pub enterprise: String,
    /// Date.
    pub date: Day,
    /// Level before (0: newly registered).
    pub from: u8,
    /// Level after.
    pub to: u8,
    /// Why.
    pub reason: String,
}

/// A major change of an enterprise (re-grading is due within 30 working days).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MajorChange {
    /// Enterprise id.
    pub enterprise: String,
    /// Date.
    pub date: Day,
    /// What changed.
    pub note: String,
}

/// Everything the registry holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    /// Enterprises, by id.
    pub enterprises: Vec<Enterprise>,
    /// Activities.
    pub activities: Vec<Activity>,
    /// Level changes.
    pub level_changes: Vec<LevelChange>,
    /// Major changes.
    pub major_changes: Vec<MajorChange>,
}

/// The columns of a registry file, in order.
pub const COLUMNS: [&str; 12] = [
    "id",
    "name",
    "prefecture",
    "industry",
    "class",
    "level",
    "verified_by",
    "verified_on",
    "contact",
    "phone",
    "security_officer",
    "scenarios",
];

/// One bad cell of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based row in the file (the header is row 1).
    pub row: usize,
    /// Column name.
    pub column: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}, column {}: {}", self.row, self.column, self.message)
    }
}

/// Validates the rows of a registry file (first row: the header, any column order).
pub fn validate_rows(rows: &[Vec<String>]) -> Result<Vec<Enterprise>, Vec<RowError>> {
    let mut errors = Vec::new();
    let Some(header) = rows.first() else {
        return Err(vec![RowError { row: 1, column: "-".into(), message: "the file is empty".into() }]);
    };
    let mut index = BTreeMap::new();
    for c in COLUMNS {
        match header.iter().position(|h| h.trim().eq_ignore_ascii_case(c)) {
            Some(i) => {
                index.insert(c, i);
            }
            None if c == "scenarios" || c == "contact" || c == "phone" || c == "security_officer" => {}
            None => errors.push(RowError { row: 1, column: c.into(), message: "missing column".into() }),
        }
    }
    for (i, h) in header.iter().enumerate() {
        if !COLUMNS.iter().any(|c| h.trim().eq_ignore_ascii_case(c)) {
            errors.push(RowError {
                row: 1,
                column: format!("{} ({h})", i + 1),
                message: format!("unknown column `{h}`"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out: Vec<Enterprise> = Vec::new();
    for (r, row) in rows.iter().enumerate().skip(1) {
        let rownum = r + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |c: &str| {
            index.get(c).and_then(|i| row.get(*i)).map(|v| v.trim().to_string()).unwrap_or_default()
        };
        let mut err =
            |c: &str, m: String| errors.push(RowError { row: rownum, column: c.into(), message: m });
        let id = cell("id");
        if !icsdrill_drill::vocab::valid_team_id(&id) {
            err("id", format!("`{id}` must be 1-32 letters, digits, `-` or `_`"));
        } else if out.iter().any(|e| e.id == id) {
            err("id", format!("duplicate id `{id}`"));
        }
        let name = cell("name");
        if name.is_empty() {
            err("name", "empty".into());
        }
        let prefecture = cell("prefecture");
        if !prefectures().iter().any(|p| p.code == prefecture || p.zh == prefecture) {
            err("prefecture", format!("unknown prefecture `{prefecture}`"));
        }
        let prefecture =
            prefectures().iter().find(|p| p.zh == prefecture).map_or(prefecture.clone(), |p| p.code.clone());
        let industry = cell("industry");
        if !INDUSTRIES.contains(&industry.as_str()) {
            err("industry", format!("unknown industry `{industry}` (one of {})", INDUSTRIES.join(", ")));
        }
        let class = cell("class");
        if !CLASSES.contains(&class.as_str()) {
            err("class", format!("unknown class `{class}` (one of {})", CLASSES.join(", ")));
        }
        let level_text = cell("level");
        let level = match level_text.parse::<u8>() {
            Ok(l @ 1..=3) => l,
            _ => {
                err("level", format!("`{level_text}` is not a security level (1-3)"));
                0
            }
        };
        let verified_by = cell("verified_by");
        let expected = if level == 3 { "region" } else { "prefecture" };
        if level != 0 && verified_by != expected {
            err(
                "verified_by",
                format!("a level {level} enterprise is verified by the {expected}, not `{verified_by}`"),
            );
        }
        let verified_on = match dates::parse(&cell("verified_on")) {
            Ok(d) => d,
            Err(e) => {
                err("verified_on", e.to_string());
                dates::today()
            }
        };
        let scenarios: Vec<String> = cell("scenarios")
            .split([';', ','])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for s in &scenarios {
            if icsdrill_scenarios::builtin(s).is_none() {
                err("scenarios", format!("unknown scenario `{s}`"));
            }
        }
        out.push(Enterprise {
            id,
            name,
            prefecture,
            industry,
            class,
            level,
            verified_by,
            verified_on,
            contact: cell("contact"),
            phone: cell("phone"),
            security_officer: cell("security_officer"),
            scenarios,
        });
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// Reads CSV rows.
pub fn csv_rows(text: &str) -> Result<Vec<Vec<String>>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| Error::invalid(format!("row {}: not valid CSV: {e}", i + 1)))?;
        // A cell our export neutralised ('=...) reads back as it was written.
        rows.push(rec.iter().map(|c| crate::governance::tabular::from_csv_cell(c).to_string()).collect());
    }
    Ok(rows)
}

/// Reads the first sheet of an xlsx workbook as rows of text.
pub fn xlsx_rows(bytes: &[u8]) -> Result<Vec<Vec<String>>> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec()))
        .map_err(|e| Error::invalid(format!("not an xlsx workbook: {e}")))?;
    let Some(Ok(range)) = wb.worksheet_range_at(0) else {
        return Err(Error::invalid("the workbook has no sheet"));
    };
    Ok(range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    calamine::Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect())
}

fn row_of(e: &Enterprise) -> Vec<String> {
    vec![
        e.id.clone(),
        e.name.clone(),
        e.prefecture.clone(),
        e.industry.clone(),
        e.class.clone(),
        e.level.to_string(),
        e.verified_by.clone(),
        e.verified_on.to_string(),
        e.contact.clone(),
        e.phone.clone(),
        e.security_officer.clone(),
        e.scenarios.join(";"),
    ]
}

pub use crate::governance::tabular::{to_csv, to_xlsx};

/// The registry as rows (`COLUMNS`).
pub fn export_rows(enterprises: &[Enterprise]) -> Vec<Vec<String>> {
    enterprises.iter().map(row_of).collect()
}

/// Cadence rules by level.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CadenceRules {
    /// Months between each obligation, by level.
    pub levels: BTreeMap<u8, LevelRule>,
    /// Working days to re-grade after a major change.
    pub regrade_working_days: i64,
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
        CadenceRules::parse(include_str!("../../data/cadence.yaml")).expect("data/cadence.yaml parses")
    }

    /// Parses a cadence file.
    pub fn parse(text: &str) -> Result<CadenceRules> {
        let r: CadenceRules =
            serde_saphyr::from_str(text).map_err(|e| Error::invalid(format!("cadence rules: {e}")))?;
        for l in 1..=3u8 {
            let Some(rule) = r.levels.get(&l) else {
                return Err(Error::invalid(format!("cadence rules: no rule for level {l}")));
            };
            if [rule.drill, rule.compliance_test, rule.risk_assessment].iter().any(|m| *m < 1) {
                return Err(Error::invalid(format!("cadence rules: level {l}: months must be at least 1")));
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
        let next = last.unwrap_or(verified).add_months(months);
        out.push(Due {
            enterprise: e.id.clone(),
            kind: kind.into(),
            last,
            next_due: next,
            overdue: today > next,
            binding,
        });
    }
    // Re-grading after the latest major change, unless a level change was recorded since.
    if let Some(m) = reg.major_changes.iter().filter(|m| m.enterprise == e.id).map(|m| m.date).max() {
        let regraded = reg.level_changes.iter().filter(|c| c.enterprise == e.id).any(|c| c.date >= m);
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

/// The self-grading rules (illustrative).
#[derive(Debug, Clone, Deserialize)]
pub struct GradingRules {
    /// Always true: the official table is not public.
    pub illustrative: bool,
    /// What to show with every result.
    pub notice: icsdrill_engine::scenario::Text,
    /// Industry -> class 1-3.
    pub industry_class: BTreeMap<String, u8>,
    /// Points by factor.
    pub points: GradingPoints,
    /// Risk questions.
    pub risk_questions: Vec<RiskQuestion>,
    /// Level -> least score.
    pub cutoffs: BTreeMap<u8, i64>,
    /// Least level of a class-III industry at large scale.
    pub floor_large_class3: u8,
}

/// Points of the industry class and the scale.
#[derive(Debug, Clone, Deserialize)]
pub struct GradingPoints {
    /// By class.
    pub industry_class: BTreeMap<u8, i64>,
    /// By scale (micro, small, medium, large).
    pub scale: BTreeMap<String, i64>,
}

/// A yes/no risk question.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RiskQuestion {
    /// Id.
    pub id: String,
    /// Points for yes.
    pub points: i64,
    /// English.
    pub en: String,
    /// Chinese.
    pub zh: String,
}

/// A proposed level.
#[derive(Debug, Clone, Serialize)]
pub struct Grade {
    /// Proposed level.
    pub level: u8,
    /// Score.
    pub score: i64,
    /// Industry class.
    pub industry_class: u8,
    /// Points by factor.
    pub breakdown: Vec<(String, i64)>,
    /// The rules are illustrative.
    pub illustrative: bool,
    /// What that means.
    pub notice: icsdrill_engine::scenario::Text,
}

impl GradingRules {
    /// The rules shipped in `data/grading.yaml`.
    pub fn defaults() -> GradingRules {
        serde_saphyr::from_str(include_str!("../../data/grading.yaml")).expect("data/grading.yaml parses")
    }

    /// Proposes a level from the industry, scale and the ids of the risk questions answered yes.
    pub fn grade(&self, industry: &str, scale: &str, yes: &[String]) -> Result<Grade> {
        let class = *self.industry_class.get(industry).ok_or_else(|| {
            Error::invalid(format!(
                "unknown industry `{industry}` (one of {})",
                self.industry_class.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let scale_points = *self.points.scale.get(scale).ok_or_else(|| {
            Error::invalid(format!("unknown scale `{scale}`: micro, small, medium or large"))
        })?;
        let mut breakdown = vec![
            ("industry_class".to_string(), self.points.industry_class[&class]),
            ("scale".to_string(), scale_points),
        ];
        for y in yes {
            let q = self.risk_questions.iter().find(|q| q.id == *y).ok_or_else(|| {
                Error::invalid(format!(
                    "unknown risk question `{y}` (one of {})",
                    self.risk_questions.iter().map(|q| q.id.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            breakdown.push((q.id.clone(), q.points));
        }
        let score: i64 = breakdown.iter().map(|(_, p)| p).sum();
        let mut level = 1;
        for (l, cut) in &self.cutoffs {
            if score >= *cut {
                level = level.max(*l);
            }
        }
        if class == 3 && scale == "large" {
            level = level.max(self.floor_large_class3);
        }
        Ok(Grade {
            level,
            score,
            industry_class: class,
            breakdown,
            illustrative: self.illustrative,
            notice: self.notice.clone(),
        })
    }
}

/// Counts for one scope of the roll-up.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Enterprises.
    pub enterprises: usize,
    /// By level 1, 2, 3.
    pub by_level: [usize; 3],
    /// Enterprises with a binding drill obligation.
    pub drills_due: usize,
    /// ... whose drill is not overdue.
    pub drills_on_time: usize,
    /// Open findings by severity: critical, high, medium, low.
    pub open_findings: [usize; 4],
    /// Open findings past their rectification deadline.
    pub overdue_rectifications: usize,
    /// Findings verified fixed.
    pub verified_findings: usize,
    /// Enterprises with a scored drill.
    pub scored: usize,
    /// Sum of their latest drill scores (mean = score_sum / scored).
    pub score_sum: f64,
}

/// An enterprise's latest drill result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillResult {
    /// Drill id.
    pub drill: String,
    /// Date.
    pub date: Day,
    /// Score.
    pub score: f64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.enterprises += o.enterprises;
        for i in 0..3 {
            self.by_level[i] += o.by_level[i];
        }
        self.drills_due += o.drills_due;
        self.drills_on_time += o.drills_on_time;
        for i in 0..4 {
            self.open_findings[i] += o.open_findings[i];
        }
        self.overdue_rectifications += o.overdue_rectifications;
        self.verified_findings += o.verified_findings;
        self.scored += o.scored;
        self.score_sum += o.score_sum;
    }
}

/// One enterprise in the roll-up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnterpriseRow {
    /// The enterprise.
    pub enterprise: Enterprise,
    /// Its counts.
    pub totals: Totals,
    /// Its obligations.
    pub due: Vec<Due>,
    /// Its latest drill result.
    pub last_drill: Option<DrillResult>,
}

/// A prefecture in the roll-up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrefectureRow {
    /// The prefecture.
    pub prefecture: Prefecture,
    /// Its counts.
    pub totals: Totals,
    /// By industry.
    pub industries: BTreeMap<String, Totals>,
}

/// One year of the trend.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct YearRow {
    /// Drills held.
    pub drills: usize,
    /// Findings first exposed.
    pub findings: usize,
    /// Findings verified fixed.
    pub verified: usize,
}

/// Enterprise -> prefecture -> region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollup {
    /// As of.
    pub today: Day,
    /// The scope: a prefecture code, or the region.
    pub scope: String,
    /// Region (or scope) totals.
    pub totals: Totals,
    /// Prefectures with at least one enterprise.
    pub prefectures: Vec<PrefectureRow>,
    /// Enterprises.
    pub enterprises: Vec<EnterpriseRow>,
    /// By year.
    pub years: BTreeMap<i64, YearRow>,
}

fn severity_index(s: &str) -> usize {
    match s {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        _ => 3,
    }
}

/// Rolls the registry up on `today`; `drill_days` gives each drill id's date,
/// `results` each enterprise's latest drill result; `scope` limits it to one prefecture.
pub fn rollup(
    reg: &Registry,
    findings: &[TrackedFinding],
    drill_days: &BTreeMap<String, Day>,
    results: &BTreeMap<String, DrillResult>,
    rules: &CadenceRules,
    today: Day,
    scope: Option<&str>,
) -> Rollup {
    let mut enterprises = Vec::new();
    let mut years: BTreeMap<i64, YearRow> = BTreeMap::new();
    for e in reg.enterprises.iter().filter(|e| scope.is_none_or(|p| e.prefecture == p)) {
        let due = cadence(e, reg, rules, today);
        let mut t = Totals { enterprises: 1, ..Totals::default() };
        t.by_level[usize::from(e.level.clamp(1, 3) - 1)] = 1;
        if let Some(d) = due.iter().find(|d| d.kind == "drill" && d.binding) {
            t.drills_due = 1;
            t.drills_on_time = usize::from(!d.overdue);
        }
        for a in reg.activities.iter().filter(|a| a.enterprise == e.id && a.kind == "drill") {
            years.entry(i64::from(a.date.year())).or_default().drills += 1;
        }
        for f in findings.iter().filter(|f| f.enterprise == e.id) {
            let first = drill_days.get(&f.first_drill).copied();
            if let Some(d) = first {
                years.entry(i64::from(d.year())).or_default().findings += 1;
            }
            if f.status == "verified" {
                t.verified_findings += 1;
                if let Some(d) = drill_days.get(&f.last_drill) {
                    years.entry(i64::from(d.year())).or_default().verified += 1;
                }
                continue;
            }
            t.open_findings[severity_index(&f.severity)] += 1;
            let days: i64 = serde_json::from_str::<serde_json::Value>(&f.finding)
                .ok()
                .and_then(|v| v["deadline_days"].as_i64())
                .unwrap_or(0);
            if first.is_some_and(|d| today > d.add_days(days)) {
                t.overdue_rectifications += 1;
            }
        }
        let last_drill = results.get(&e.id).cloned();
        if let Some(r) = &last_drill {
            t.scored = 1;
            t.score_sum = r.score;
        }
        enterprises.push(EnterpriseRow { enterprise: e.clone(), totals: t, due, last_drill });
    }
    let mut prefectures = Vec::new();
    let mut totals = Totals::default();
    for p in prefectures_list() {
        let rows: Vec<&EnterpriseRow> =
            enterprises.iter().filter(|r| r.enterprise.prefecture == p.code).collect();
        if rows.is_empty() {
            continue;
        }
        let mut pt = Totals::default();
        let mut industries: BTreeMap<String, Totals> = BTreeMap::new();
        for r in rows {
            pt.add(&r.totals);
            industries.entry(r.enterprise.industry.clone()).or_default().add(&r.totals);
        }
        totals.add(&pt);
        prefectures.push(PrefectureRow { prefecture: p.clone(), totals: pt, industries });
    }
    Rollup { today, scope: scope.unwrap_or("region").to_string(), totals, prefectures, enterprises, years }
}

fn prefectures_list() -> &'static [Prefecture] {
    prefectures()
}

/// The roll-up's prefecture table as rows, for CSV and xlsx.
pub fn rollup_rows(r: &Rollup) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "prefecture",
        "industry",
        "enterprises",
        "level_1",
        "level_2",
        "level_3",
        "drills_due",
        "drills_on_time",
        "open_critical",
        "open_high",
        "open_medium",
        "open_low",
        "overdue_rectifications",
        "verified_findings",
        "mean_drill_score",
    ];
    let row = |p: &str, i: &str, t: &Totals| {
        let mut v = vec![p.to_string(), i.to_string(), t.enterprises.to_string()];
        v.extend(t.by_level.iter().map(usize::to_string));
        v.push(t.drills_due.to_string());
        v.push(t.drills_on_time.to_string());
        v.extend(t.open_findings.iter().map(usize::to_string));
        v.push(t.overdue_rectifications.to_string());
        v.push(t.verified_findings.to_string());
        v.push(if t.scored > 0 { format!("{:.1}", t.score_sum / t.scored as f64) } else { String::new() });
        v
    };
    let mut rows = Vec::new();
    for p in &r.prefectures {
        rows.push(row(&p.prefecture.code, "*", &p.totals));
        for (i, t) in &p.industries {
            rows.push(row(&p.prefecture.code, i, t));
        }
    }
    rows.push(row(&r.scope, "*", &r.totals));
    (header, rows)
}
