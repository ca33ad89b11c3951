//! The regional roll-up: drills, findings and rectification by enterprise, prefecture and
//! year.

use super::*;

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
    /// Alerts their monitoring raised in their latest drills (the situational-awareness
    /// roll-up).
    pub alerts: usize,
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
    /// Alerts the enterprise's monitoring raised.
    pub alerts: usize,
    /// The drill arrived as a bundle whose signature and replay held (`bundle import`).
    pub verified: bool,
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
        self.alerts += o.alerts;
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
    /// How their due dates are counted (the registry's cadence rules).
    pub period: Period,
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
    /// Its trend by year.
    pub years: BTreeMap<i64, YearRow>,
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

impl YearRow {
    fn add(&mut self, o: &YearRow) {
        self.drills += o.drills;
        self.findings += o.findings;
        self.verified += o.verified;
    }
}

/// Adds one scope's years into another's.
fn add_years(into: &mut BTreeMap<i64, YearRow>, from: &BTreeMap<i64, YearRow>) {
    for (y, row) in from {
        into.entry(*y).or_default().add(row);
    }
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
    /// Every industry code and its names (the page names industries with these: one table).
    pub industries: Vec<IndustryName>,
}

/// An industry code and its names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndustryName {
    /// As the registry keeps it (`petrochemical`).
    pub code: &'static str,
    /// English.
    pub en: &'static str,
    /// Chinese.
    pub zh: &'static str,
}

/// Every industry of `INDUSTRIES` with its names.
fn industry_names() -> Vec<IndustryName> {
    super::INDUSTRIES
        .iter()
        .map(|&code| IndustryName {
            code,
            en: super::industry_name(code, false),
            zh: super::industry_name(code, true),
        })
        .collect()
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
    let mut ent_years: BTreeMap<&str, BTreeMap<i64, YearRow>> = BTreeMap::new();
    for e in reg.enterprises.iter().filter(|e| scope.is_none_or(|p| e.prefecture == p)) {
        let due = cadence(e, reg, rules, today);
        let mut t = Totals { enterprises: 1, ..Totals::default() };
        t.by_level[usize::from(e.level.clamp(1, 3) - 1)] = 1;
        let years = ent_years.entry(&e.id).or_default();
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
            if f.status == crate::store::FindingStatus::Verified {
                t.verified_findings += 1;
                if let Some(d) = drill_days.get(&f.last_drill) {
                    years.entry(i64::from(d.year())).or_default().verified += 1;
                }
                continue;
            }
            t.open_findings[f.severity as usize] += 1;
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
            t.alerts = r.alerts;
        }
        enterprises.push(EnterpriseRow {
            enterprise: e.clone(),
            totals: t,
            due,
            period: rules.period,
            last_drill,
        });
    }
    let mut prefectures = Vec::new();
    let mut totals = Totals::default();
    let mut years: BTreeMap<i64, YearRow> = BTreeMap::new();
    for p in prefectures_list() {
        let rows: Vec<&EnterpriseRow> =
            enterprises.iter().filter(|r| r.enterprise.prefecture == p.code).collect();
        if rows.is_empty() {
            continue;
        }
        let mut pt = Totals::default();
        let mut industries: BTreeMap<String, Totals> = BTreeMap::new();
        let mut p_years: BTreeMap<i64, YearRow> = BTreeMap::new();
        for r in rows {
            pt.add(&r.totals);
            if let Some(y) = ent_years.get(r.enterprise.id.as_str()) {
                add_years(&mut p_years, y);
            }
            industries.entry(r.enterprise.industry.clone()).or_default().add(&r.totals);
        }
        totals.add(&pt);
        add_years(&mut years, &p_years);
        prefectures.push(PrefectureRow { prefecture: p.clone(), totals: pt, industries, years: p_years });
    }
    Rollup {
        today,
        scope: scope.unwrap_or("region").to_string(),
        totals,
        prefectures,
        enterprises,
        years,
        industries: industry_names(),
    }
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
        "monitoring_alerts",
    ];
    (header, rollup_table(r, str::to_string, |i| i.unwrap_or("*").to_string()))
}

/// The roll-up's prefecture table: a row for each prefecture's total and each of its
/// industries, then the scope's total unless the scope is one prefecture (its row says it
/// already); places named by `place` (from their codes, the scope's too), industries by
/// `industry` (`None`: all of them).
fn rollup_table(
    r: &Rollup,
    place: impl Fn(&str) -> String,
    industry: impl Fn(Option<&str>) -> String,
) -> Vec<Vec<String>> {
    let row = |p: &str, i: Option<&str>, t: &Totals| {
        let mut v = vec![place(p), industry(i), t.enterprises.to_string()];
        v.extend(t.by_level.iter().map(usize::to_string));
        v.push(t.drills_due.to_string());
        v.push(t.drills_on_time.to_string());
        v.extend(t.open_findings.iter().map(usize::to_string));
        v.push(t.overdue_rectifications.to_string());
        v.push(t.verified_findings.to_string());
        v.push(if t.scored > 0 { format!("{:.1}", t.score_sum / t.scored as f64) } else { String::new() });
        v.push(t.alerts.to_string());
        v
    };
    let mut rows = Vec::new();
    for p in &r.prefectures {
        rows.push(row(&p.prefecture.code, None, &p.totals));
        for (i, t) in &p.industries {
            rows.push(row(&p.prefecture.code, Some(i), t));
        }
    }
    if !r.prefectures.iter().any(|p| p.prefecture.code == r.scope) {
        rows.push(row(&r.scope, None, &r.totals));
    }
    rows
}

/// A place of the roll-up by name, in Chinese (`zh`) or English: a prefecture, or the whole
/// region (an unknown code as it is).
fn place_name(r: &Rollup, code: &str, zh: bool) -> String {
    match r.prefectures.iter().find(|p| p.prefecture.code == code) {
        Some(p) if zh => p.prefecture.zh.clone(),
        Some(p) => p.prefecture.en.clone(),
        None if code == "region" => (if zh { "全区" } else { "Whole region" }).to_string(),
        None => code.to_string(),
    }
}

/// The roll-up as a reader's table: prefectures and industries by name, headings in Chinese
/// (`zh`) or English, "all industries" for a prefecture's total: what the regional view's
/// prefecture table shows.
pub fn rollup_rows_named(r: &Rollup, zh: bool) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let all = if zh { "全部行业" } else { "All industries" };
    let rows = rollup_table(
        r,
        |code| place_name(r, code, zh),
        |i| i.map_or(all, |code| super::industry_name(code, zh)).to_string(),
    );
    (if zh { ROLLUP_ZH } else { ROLLUP_EN }.to_vec(), rows)
}

const ROLLUP_EN: [&str; 16] = [
    "Prefecture",
    "Industry",
    "Enterprises",
    "Level 1",
    "Level 2",
    "Level 3",
    "Drills due",
    "Drills not overdue",
    "Open critical",
    "Open high",
    "Open medium",
    "Open low",
    "Overdue rectifications",
    "Verified fixed",
    "Mean drill score",
    "Monitoring alerts",
];
const ROLLUP_ZH: [&str; 16] = [
    "地州市",
    "行业",
    "企业数",
    "一级",
    "二级",
    "三级",
    "应演练",
    "演练未逾期",
    "严重隐患",
    "高危隐患",
    "中危隐患",
    "低危隐患",
    "逾期整改",
    "已复核整改",
    "平均演练得分",
    "监测告警数",
];

/// The enterprise list as the regional view shows it, a row an enterprise: its level, when
/// its next drill is due (and whether it is overdue), its open findings, its latest drill's
/// score and alerts; names in Chinese (`zh`) or English.
pub fn enterprise_rows(r: &Rollup, zh: bool) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = if zh {
        vec![
            "编号",
            "名称",
            "地州市",
            "行业",
            "安全等级",
            "下次演练",
            "演练逾期",
            "严重隐患",
            "高危隐患",
            "中危隐患",
            "低危隐患",
            "逾期整改",
            "最近演练",
            "最近演练日期",
            "最近演练得分",
            "监测告警数",
            "最近演练来源",
        ]
    } else {
        vec![
            "ID",
            "Name",
            "Prefecture",
            "Industry",
            "Security level",
            "Next drill",
            "Drill overdue",
            "Open critical",
            "Open high",
            "Open medium",
            "Open low",
            "Overdue rectifications",
            "Last drill",
            "Last drill date",
            "Last drill score",
            "Monitoring alerts",
            "Last drill source",
        ]
    };
    let yes_no = |b: bool| {
        (if b {
            if zh { "是" } else { "yes" }
        } else if zh {
            "否"
        } else {
            "no"
        })
        .to_string()
    };
    let rows = r
        .enterprises
        .iter()
        .map(|e| {
            let drill = e.due.iter().find(|d| d.kind == "drill");
            let mut v = vec![
                e.enterprise.id.clone(),
                e.enterprise.name.clone(),
                place_name(r, &e.enterprise.prefecture, zh),
                super::industry_name(&e.enterprise.industry, zh).to_string(),
                e.enterprise.level.to_string(),
                drill.map_or_else(String::new, |d| d.next_due.to_string()),
                drill.map_or_else(String::new, |d| yes_no(d.overdue && d.binding)),
            ];
            v.extend(e.totals.open_findings.iter().map(usize::to_string));
            v.push(e.totals.overdue_rectifications.to_string());
            match &e.last_drill {
                Some(d) => v.extend([
                    d.drill.clone(),
                    d.date.to_string(),
                    format!("{:.1}", d.score),
                    d.alerts.to_string(),
                    // Where it came from, as the regional view says it (签名核验 否 read as
                    // untrusted for a drill run on this platform).
                    (match (d.verified, zh) {
                        (true, true) => "已核验数据包（签名与重放）",
                        (true, false) => "verified bundle (signature and replay)",
                        (false, true) => "本平台开展",
                        (false, false) => "run on this platform",
                    })
                    .to_string(),
                ]),
                None => v.extend(std::iter::repeat_n(String::new(), 5)),
            }
            v
        })
        .collect();
    (header, rows)
}
