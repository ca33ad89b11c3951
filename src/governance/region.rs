//! The regional oversight view: roll-ups from the store, for the CLI and the web (region users
//! see every prefecture, prefecture users their own).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use serde::Serialize;

use crate::Result;
use icsdrill_web::ServiceError;
use icsdrill_web::region::{RegionApi, RegionRole};

use crate::governance::dates::{Day, day_of_ms};
use crate::governance::registry::{self, CadenceRules, DrillResult, Rollup};
use crate::governance::report::Report;
use crate::store::{Database, Store};

/// Each enterprise's drills, newest first.
type ByEnterprise = BTreeMap<String, Vec<EnterpriseDrill>>;

/// Every scored drill of each registered enterprise, newest first (drills come newest first),
/// and each drill's date; a drill on record counts for each registered enterprise among its
/// teams as it happens, whether or not someone also entered it by hand (`registry record`).
fn drill_results(
    store: &dyn Store,
    reg: &mut registry::Registry,
) -> Result<(BTreeMap<String, Day>, ByEnterprise)> {
    let drills = store.drills()?;
    let drill_days: BTreeMap<String, Day> =
        drills.iter().map(|d| (d.id.clone(), day_of_ms(d.created_ms))).collect();
    let mut results: BTreeMap<String, Vec<EnterpriseDrill>> = BTreeMap::new();
    for (d, teams) in counted_drills(store, &drills)? {
        let date = day_of_ms(d.created_ms);
        for t in &teams {
            let Some(counted) = note_drill(reg, &t.id, d, date) else { continue };
            let scored = store.score(&d.id, &t.id)?.map(|(score, card)| {
                // The stored card's alert count (cards stored before it was counted have none).
                let alerts = serde_json::from_str::<serde_json::Value>(&card)
                    .ok()
                    .and_then(|c| c["alerts"].as_u64())
                    .map_or(0, |n| n as usize);
                (score, alerts)
            });
            results.entry(t.id.clone()).or_default().push(EnterpriseDrill {
                drill: d.id.clone(),
                name: d.name.clone(),
                // Named after its scenario (the default): the title in both languages.
                title: super::builtin_title(&d.scenario_id).filter(|t| t.en == d.name).cloned(),
                mode: d.mode,
                phase: d.phase,
                date,
                score: scored.map(|s| s.0),
                alerts: scored.map(|s| s.1),
                verified: crate::governance::bundle::verified(d),
                counted,
            });
        }
    }
    Ok((drill_days, results))
}

/// The drills that count for the enterprises among their teams, with the teams: every drill
/// on record past its briefing (one still in its briefing never started).
fn counted_drills<'a>(
    store: &dyn Store,
    drills: &'a [crate::store::DrillRecord],
) -> Result<Vec<(&'a crate::store::DrillRecord, Vec<crate::store::TeamRecord>)>> {
    let mut out = Vec::new();
    for d in drills.iter().filter(|d| d.phase != icsdrill_drill::Phase::Briefing) {
        if let Some((_, teams)) = store.drill(&d.id)? {
            out.push((d, teams));
        }
    }
    Ok(out)
}

/// Notes drill `d` of `date` as a drill activity of `team` when the team is a registered
/// enterprise, the drill is an emergency drill (regional or enterprise: a contest or an exam
/// is listed with the enterprise's drills but is not the drill the policy asks for) played to
/// its end, and nobody entered it by hand already; whether the team is registered.
fn note_drill(
    reg: &mut registry::Registry,
    team: &str,
    d: &crate::store::DrillRecord,
    date: Day,
) -> Option<bool> {
    let e = reg.enterprises.iter().find(|e| e.id == team)?;
    // A drill still running, or stopped before its end (a server killed at 4 s), is listed
    // but is not the drill done that cadence counts; nor is a drill of another plant than the
    // ones the registry says model the enterprise's own (when it names any).
    let other_plant = !e.scenarios.is_empty() && !e.scenarios.contains(&d.scenario_id);
    let drill = d.id.as_str();
    let entry = |a: &registry::Activity| a.enterprise == team && a.kind == "drill" && a.reference == drill;
    if !d.mode.drills_an_enterprise() || !d.phase.is_over() || other_plant {
        // A drill on record is judged by this rule alone: an entry of it (stored by a server
        // that ended it, before the rule was read here, or typed by hand) does not make it
        // count. The registry's plants for the enterprise are what to change.
        reg.activities.retain(|a| !entry(a));
        return Some(false);
    }
    if !reg.activities.iter().any(entry) {
        reg.activities.push(registry::Activity {
            enterprise: team.to_string(),
            kind: "drill".into(),
            date,
            reference: drill.to_string(),
        });
    }
    Some(true)
}

/// The registry with every drill on record played to its end (run here, or imported as a
/// verified bundle) counted as a drill of each registered enterprise among its teams, as the
/// regional view counts them: what the command line's cadence and plan read too.
pub fn registry_with_drills(store: &dyn Store) -> Result<registry::Registry> {
    let mut reg = store.registry()?;
    let drills = store.drills()?;
    for (d, teams) in counted_drills(store, &drills)? {
        for t in &teams {
            note_drill(&mut reg, &t.id, d, day_of_ms(d.created_ms));
        }
    }
    Ok(reg)
}

/// The cadence rules the registry adopted (`icsdrill registry cadence FILE`), else the
/// defaults of `data/cadence.yaml`.
pub fn cadence_rules(store: &dyn Store) -> Result<CadenceRules> {
    store
        .setting(CADENCE_SETTING)?
        .map_or_else(|| Ok(CadenceRules::defaults()), |text| CadenceRules::parse(&text))
}

/// The setting that holds the adopted cadence rules (their YAML).
pub const CADENCE_SETTING: &str = "cadence";

/// The roll-up on `today`, for one prefecture or the whole region.
pub fn rollup_from(store: &dyn Store, today: Day, scope: Option<&str>) -> Result<Rollup> {
    let mut reg = store.registry()?;
    let mut findings = store.all_findings()?;
    let (mut drill_days, mut all) = drill_results(store, &mut reg)?;
    as_of(today, &mut reg, &mut findings, &mut drill_days, &mut all);
    let results: BTreeMap<String, DrillResult> =
        all.iter().filter_map(|(ent, drills)| Some((ent.clone(), latest_result(drills)?))).collect();
    Ok(registry::rollup(&reg, &findings, &drill_days, &results, &cadence_rules(store)?, today, scope))
}

/// An enterprise's latest result (of `drills`, newest first): its latest drill that counts (an
/// emergency drill of its own plant played to its end) with a stored score. A contest's or an
/// exam's score, a drill stopped at 4 s and a drill of another plant are listed with its
/// drills, and are no measure of it.
fn latest_result(drills: &[EnterpriseDrill]) -> Option<DrillResult> {
    let d = drills.iter().find(|d| d.counted && d.score.is_some())?;
    Some(DrillResult {
        drill: d.drill.clone(),
        date: d.date,
        score: d.score.unwrap_or(0.0),
        alerts: d.alerts.unwrap_or(0),
        verified: d.verified,
    })
}

/// What was on record on `today`: a roll-up of a past day (`--today 2025-12-31`, a year's
/// report) counts no drill, activity or finding after it, and a finding verified after it as
/// still open. On the real today nothing is after it.
fn as_of(
    today: Day,
    reg: &mut registry::Registry,
    findings: &mut Vec<crate::store::TrackedFinding>,
    drill_days: &mut BTreeMap<String, Day>,
    all: &mut ByEnterprise,
) {
    let after = |drill: &str, days: &BTreeMap<String, Day>| days.get(drill).is_some_and(|d| *d > today);
    findings.retain(|f| !after(&f.first_drill, drill_days));
    for f in findings.iter_mut().filter(|f| f.status == crate::store::FindingStatus::Verified) {
        let verified_then =
            f.checks().iter().any(|c| c.verdict == "verified" && !after(&c.drill, drill_days));
        if !verified_then {
            f.status = crate::store::FindingStatus::Open;
        }
    }
    reg.activities.retain(|a| a.date <= today);
    reg.level_changes.retain(|c| c.date <= today);
    reg.major_changes.retain(|m| m.date <= today);
    for drills in all.values_mut() {
        drills.retain(|d| d.date <= today);
    }
    drill_days.retain(|_, d| *d <= today);
}

/// One drill of an enterprise, for its page.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseDrill {
    /// Drill id.
    pub drill: String,
    /// Drill name.
    pub name: String,
    /// Its scenario's title in both languages, when the drill is named after it (the default
    /// name is the English title): the page shows it in its own language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<icsdrill_engine::scenario::Text>,
    /// Mode.
    pub mode: icsdrill_drill::Mode,
    /// Phase (a drill still running has no final score).
    pub phase: icsdrill_drill::Phase,
    /// Date.
    pub date: Day,
    /// Its score, once stored.
    pub score: Option<f64>,
    /// Monitoring alerts its range raised.
    pub alerts: Option<usize>,
    /// It arrived as a bundle whose signature and replay held.
    pub verified: bool,
    /// It counts for the enterprise's drill cadence: a regional or enterprise drill played to
    /// its end, of one of the plants the registry says model the enterprise's own.
    pub counted: bool,
}

/// One finding on an enterprise's page: where its rectification stands.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseFinding {
    /// Stable id.
    pub id: String,
    /// Title, both languages.
    pub title: icsdrill_engine::scenario::Text,
    /// Severity.
    pub severity: icsdrill_judge::findings::Severity,
    /// Open, fixed or verified.
    pub status: crate::store::FindingStatus,
    /// The drill that first exposed it, and its date.
    pub first_drill: String,
    /// Date of that drill.
    pub found: Option<Day>,
    /// Rectification due.
    pub due: Option<Day>,
    /// Open past its due date.
    pub overdue: bool,
    /// Verified fixed: the date of the drill that verified it (关闭日期).
    pub closed: Option<Day>,
    /// Each drill that looked at it, oldest first: what it made of it (复核结果).
    pub checks: Vec<FindingCheck>,
    /// The enterprise's declaration that it rectified it (整改完成), awaiting a drill's re-test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<Declared>,
    /// Still open, and contained by the team in the drill that last found it (临时控制): a
    /// stopgap, not a rectification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contained: Option<ContainedIn>,
}

/// The drill in which a team contained an open finding, and when and how.
#[derive(Debug, Clone, Serialize)]
pub struct ContainedIn {
    /// The drill that last found it.
    pub drill: String,
    /// Its date.
    pub date: Option<Day>,
    /// When, how, and the log entry.
    #[serde(flatten)]
    pub contained: icsdrill_judge::findings::Contained,
}

/// An enterprise's declaration that it rectified a finding.
#[derive(Debug, Clone, Serialize)]
pub struct Declared {
    /// When.
    pub date: Day,
    /// What it did.
    pub note: String,
}

/// One drill's look at a finding.
#[derive(Debug, Clone, Serialize)]
pub struct FindingCheck {
    /// The drill.
    pub drill: String,
    /// Its date.
    pub date: Option<Day>,
    /// `new`, `still_open`, `not_retested`, `verified` or `reopened`.
    pub verdict: String,
}

/// An enterprise's page: its roll-up row, its drills (oldest first, for the score trend) and
/// its findings with their rectification status and due dates.
#[derive(Debug, Clone, Serialize)]
pub struct EnterprisePage {
    /// As of.
    pub today: Day,
    /// The enterprise, its counts, obligations and latest result.
    pub row: registry::EnterpriseRow,
    /// Its drills, oldest first.
    pub drills: Vec<EnterpriseDrill>,
    /// Its findings, most severe first.
    pub findings: Vec<EnterpriseFinding>,
    /// What was entered in the registry by hand (drills run elsewhere, compliance tests, risk
    /// assessments), newest first, but for drills on record (listed in `drills`): they count
    /// for its cadence as the drills on record do.
    pub entered: Vec<registry::Activity>,
}

/// Enterprise `id` if it is registered within `scope` (a prefecture; `None`: the region):
/// what a prefecture user may see of it, its page and its reports.
fn registered_within<'a>(
    reg: &'a registry::Registry,
    id: &str,
    scope: Option<&str>,
) -> Option<&'a registry::Enterprise> {
    reg.enterprises.iter().find(|e| e.id == id && scope.is_none_or(|p| e.prefecture == p))
}

/// The page of enterprise `id` on `today`, if it is registered within `scope`.
pub fn enterprise_from(
    store: &dyn Store,
    today: Day,
    scope: Option<&str>,
    id: &str,
) -> Result<Option<EnterprisePage>> {
    let mut reg = store.registry()?;
    if registered_within(&reg, id, scope).is_none() {
        return Ok(None);
    }
    let findings = store.findings(id)?;
    // Entered by hand: what the registry holds before the drills on record are noted in it.
    let mut entered: Vec<registry::Activity> =
        reg.activities.iter().filter(|a| a.enterprise == id).cloned().collect();
    entered.sort_by(|a, b| b.date.cmp(&a.date).then(a.kind.cmp(&b.kind)));
    let (drill_days, mut all) = drill_results(store, &mut reg)?;
    // A drill entered with its id on record is listed with the drills already.
    entered.retain(|a| !(a.kind == "drill" && drill_days.contains_key(&a.reference)));
    let mut drills = all.remove(id).unwrap_or_default();
    let results: BTreeMap<String, DrillResult> =
        latest_result(&drills).into_iter().map(|r| (id.to_string(), r)).collect();
    reg.enterprises.retain(|e| e.id == id);
    let rules = cadence_rules(store)?;
    let rollup = registry::rollup(&reg, &findings, &drill_days, &results, &rules, today, None);
    let Some(row) = rollup.enterprises.into_iter().next() else { return Ok(None) };
    drills.reverse();
    let mut rows: Vec<EnterpriseFinding> = findings
        .iter()
        .map(|f| {
            let v: serde_json::Value = serde_json::from_str(&f.finding).unwrap_or_default();
            let found = drill_days.get(&f.first_drill).copied();
            let due = found.map(|d| d.add_days(v["deadline_days"].as_i64().unwrap_or(0)));
            let checks: Vec<FindingCheck> = f
                .checks()
                .into_iter()
                .map(|c| FindingCheck {
                    date: drill_days.get(&c.drill).copied(),
                    drill: c.drill,
                    verdict: c.verdict,
                })
                .collect();
            let closed = (f.status == crate::store::FindingStatus::Verified)
                .then(|| checks.iter().rev().find(|c| c.verdict == "verified").and_then(|c| c.date))
                .flatten();
            let declared = f.declared().map(|(date, note)| Declared { date, note });
            let contained = f.contained().map(|(by, contained)| ContainedIn {
                date: drill_days.get(&by.drill).copied(),
                drill: by.drill,
                contained,
            });
            // Rectified on time by the enterprise's own account: not overdue while it waits for
            // its re-test.
            let declared_by_due = declared.as_ref().is_some_and(|d| due.is_none_or(|due| d.date <= due));
            EnterpriseFinding {
                id: f.id.clone(),
                title: f.title(),
                severity: f.severity,
                status: f.status,
                first_drill: f.first_drill.clone(),
                found,
                due,
                overdue: f.status != crate::store::FindingStatus::Verified
                    && !declared_by_due
                    && due.is_some_and(|d| today > d),
                closed,
                checks,
                declared,
                contained,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.id.cmp(&b.id)));
    Ok(Some(EnterprisePage { today, row, drills, findings: rows, entered }))
}

/// The regional view over a database.
pub struct RegionService {
    db: Database,
    /// The after-action reports last asked for, so that reading one in the other language or
    /// format does not replay the whole drill again.
    reports: Mutex<LruCache<ReportKey, Arc<Report>>>,
}

/// Most reports kept: a report is a few hundred KiB at most; its replay is seconds of CPU.
pub const REPORTS_KEPT: usize = 8;

/// What a stored report depends on: a drill that is over never changes, but its enterprise's
/// registered name and level (which the report is written under) can, and its findings are
/// tracked just after it ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ReportKey {
    drill: String,
    team: String,
    name: String,
    level: u8,
    /// Whether its findings were tracked (the report's re-test of earlier findings comes then).
    tracked: bool,
}

impl RegionService {
    /// Serves `db`.
    pub fn new(db: Database) -> RegionService {
        let kept = std::num::NonZeroUsize::new(REPORTS_KEPT).expect("a report kept");
        RegionService { db, reports: Mutex::new(LruCache::new(kept)) }
    }

    /// How many replayed reports are kept (at most `REPORTS_KEPT`).
    pub fn reports_kept(&self) -> usize {
        self.reports.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The report of `team` in the drill `record` (over), kept or replayed; whether it was kept.
    fn team_report(
        &self,
        store: &dyn Store,
        enterprise: &registry::Enterprise,
        record: &crate::store::DrillRecord,
        team: &crate::store::TeamRecord,
    ) -> Result<(Arc<Report>, bool)> {
        let key = ReportKey {
            drill: record.id.clone(),
            team: team.id.clone(),
            name: enterprise.name.clone(),
            level: enterprise.level,
            tracked: store.tracked(&record.id, &team.id)?,
        };
        let kept = self.reports.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        if let Some(r) = kept {
            return Ok((r, true));
        }
        // Replayed without the lock: another report can be read meanwhile.
        let r = Arc::new(crate::governance::report::of_team(store, record, team, None)?);
        self.reports.lock().unwrap_or_else(|e| e.into_inner()).put(key, r.clone());
        Ok((r, false))
    }

    fn store(&self) -> Result<Box<dyn Store>> {
        self.db.open()
    }
}

/// Everything the regional view asks of the store is the server's to answer: a failure is
/// an internal error (logged with the request id, not shown), whatever its kind.
impl RegionApi for RegionService {
    fn authenticate(&self, token: &str) -> Option<RegionRole> {
        let (role, prefecture) = self.store().ok()?.user(token).ok()??;
        match (role.as_str(), prefecture) {
            ("region", _) => Some(RegionRole::Region),
            ("prefecture", Some(p)) => Some(RegionRole::Prefecture(p)),
            ("trainer", _) => Some(RegionRole::Trainer),
            _ => None,
        }
    }

    fn is_prefecture(&self, code: &str) -> bool {
        registry::prefectures().iter().any(|p| p.code == code)
    }

    fn rollup(&self, scope: Option<&str>) -> Result<serde_json::Value, ServiceError> {
        let run = || -> Result<serde_json::Value> {
            let store = self.store()?;
            let r = rollup_from(&*store, crate::governance::dates::today(), scope)?;
            Ok(serde_json::to_value(&r)?)
        };
        run().map_err(ServiceError::internal)
    }

    fn enterprise(&self, id: &str, scope: Option<&str>) -> Result<serde_json::Value, ServiceError> {
        let store = self.store().map_err(ServiceError::internal)?;
        let page = enterprise_from(&*store, crate::governance::dates::today(), scope, id)
            .map_err(ServiceError::internal)?
            .ok_or_else(|| ServiceError::NotFound(format!("no enterprise `{}` here", id.escape_debug())))?;
        serde_json::to_value(&page).map_err(ServiceError::internal)
    }

    fn report(
        &self,
        id: &str,
        drill: &str,
        scope: Option<&str>,
        form: icsdrill_web::region::ReportForm<'_>,
    ) -> Result<(&'static str, Vec<u8>), ServiceError> {
        use crate::governance::report::{self, Format, Lang};
        let format = Format::parse(form.format)
            .filter(|f| *f != Format::Json)
            .ok_or_else(|| ServiceError::BadRequest("format must be html, md or xlsx".into()))?;
        let store = self.store().map_err(ServiceError::internal)?;
        let registry = store.registry().map_err(ServiceError::internal)?;
        let Some(enterprise) = registered_within(&registry, id, scope) else {
            return Err(ServiceError::NotFound(format!("no enterprise `{}` here", id.escape_debug())));
        };
        // A drill of the enterprise's (an exam is a trainee's, not an enterprise's).
        let found = store.drill(drill).map_err(ServiceError::internal)?;
        let Some((record, team)) = found
            .filter(|(r, _)| r.mode != icsdrill_drill::Mode::Exam)
            .and_then(|(r, teams)| teams.into_iter().find(|t| t.id == id).map(|t| (r, t)))
        else {
            return Err(ServiceError::NotFound(format!(
                "no drill `{}` of enterprise `{}` on record",
                drill.escape_debug(),
                id.escape_debug()
            )));
        };
        // Its report names the attack's steps: written once play is over.
        if !record.phase.is_over() {
            return Err(ServiceError::Conflict {
                en: "the drill is still running: its report is written when it is over".into(),
                zh: "该演练仍在进行：演练结束后方可生成总结报告".into(),
            });
        }
        let (r, _) = self.team_report(&*store, enterprise, &record, &team).map_err(ServiceError::internal)?;
        let lang = if form.zh { Lang::Zh } else { Lang::En };
        let bytes = report::render(&r, format, lang).map_err(ServiceError::internal)?;
        Ok((format.content_type(), bytes))
    }

    fn import_bundle(&self, bytes: &[u8]) -> Result<serde_json::Value, ServiceError> {
        use crate::governance::bundle;
        let rejected = |r: bundle::Rejection| serde_json::json!({ "accepted": false, "code": r.code(), "reason": r.to_string() });
        let b = match bundle::parse(bytes) {
            Ok(b) => b,
            Err(r) => return Ok(rejected(r)),
        };
        let mut store = self.store().map_err(ServiceError::internal)?;
        // A store that fails is the server's problem (500), not a verdict on the bundle.
        let checked = bundle::import(&mut *store, &b, None).map_err(ServiceError::internal)?;
        Ok(match checked {
            Ok(i) => serde_json::json!({ "accepted": true, "drill": i.drill, "teams": i.teams }),
            Err(r) => rejected(r),
        })
    }

    fn export(
        &self,
        scope: Option<&str>,
        what: icsdrill_web::region::Export<'_>,
    ) -> Result<(&'static str, Vec<u8>), ServiceError> {
        let format = what.format;
        spreadsheet_format(format)?;
        let build = || -> Result<(&'static str, Vec<u8>)> {
            let store = self.store()?;
            let r = rollup_from(&*store, crate::governance::dates::today(), scope)?;
            let (header, rows) = match what.table {
                Some("enterprises") => registry::enterprise_rows(&r, what.zh),
                Some(_) => registry::rollup_rows_named(&r, what.zh),
                None => registry::rollup_rows(&r),
            };
            Ok(if format == "csv" {
                ("text/csv; charset=utf-8", crate::governance::tabular::to_csv_for_excel(&header, &rows)?)
            } else {
                (
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    registry::to_xlsx(what.table.unwrap_or("rollup"), &header, &rows)?,
                )
            })
        };
        build().map_err(ServiceError::internal)
    }

    fn exams(&self, cohort: Option<&str>) -> Result<serde_json::Value, ServiceError> {
        let run = || -> Result<serde_json::Value> {
            let store = self.store()?;
            // One read: the cohort's results, and every cohort on record for the picker.
            let all = store.exams(None)?;
            let cohorts: std::collections::BTreeSet<&str> =
                all.iter().map(|e| e.cohort.as_str()).filter(|c| !c.is_empty()).collect();
            let results: Vec<_> = all.iter().filter(|e| cohort.is_none_or(|c| e.cohort == c)).collect();
            let done: Vec<&str> = results.iter().map(|e| e.drill.as_str()).collect();
            let mut in_progress = Vec::new();
            for d in store.drills()? {
                if d.mode != icsdrill_drill::Mode::Exam || done.contains(&d.id.as_str()) {
                    continue;
                }
                let options: serde_json::Value = serde_json::from_str(&d.options).unwrap_or_default();
                if cohort.is_some_and(|c| options["cohort"].as_str().unwrap_or("") != c) {
                    continue;
                }
                let (trainee, name) = store
                    .drill(&d.id)?
                    .and_then(|(_, t)| t.first().map(|t| (t.id.clone(), t.name.clone())))
                    .unwrap_or_default();
                in_progress.push(serde_json::json!({
                    "drill": d.id, "trainee": trainee, "name": name, "cohort": options["cohort"],
                    "date": crate::governance::dates::day_of_ms(d.created_ms), "phase": d.phase,
                }));
            }
            // Trainees, not sittings: a retake passed is one trainee passed.
            let trainees: std::collections::BTreeSet<&str> =
                results.iter().map(|e| e.trainee.as_str()).collect();
            let passed: std::collections::BTreeSet<&str> =
                results.iter().filter(|e| e.passed).map(|e| e.trainee.as_str()).collect();
            let today = crate::governance::dates::today();
            // Each sitting numbered per trainee and exam, in the order they were sat.
            let mut sat: BTreeMap<(String, String), u32> = BTreeMap::new();
            let mut rows: Vec<_> = all
                .iter()
                .map(|e| {
                    // Per-area scores, as the signed certificate states them.
                    let body = serde_json::from_str::<crate::governance::cert::Certificate>(&e.certificate)
                        .map(|c| c.body)
                        .ok();
                    let exam = body.as_ref().map(|b| b.exam.clone()).unwrap_or_default();
                    let n = sat.entry((e.trainee.clone(), exam)).or_default();
                    *n += 1;
                    let valid_until = body.as_ref().and_then(|b| b.valid_until);
                    let expired = body.as_ref().is_some_and(|b| b.expired(today));
                    let areas = body.map(|b| b.areas).unwrap_or_default();
                    serde_json::json!({
                        "drill": e.drill, "trainee": e.trainee, "name": e.name, "cohort": e.cohort,
                        "date": e.date, "total": e.total, "max": e.max, "passed": e.passed, "areas": areas,
                        "sitting": *n, "valid_until": valid_until, "expired": expired,
                    })
                })
                .collect();
            rows.retain(|r| cohort.is_none_or(|c| r["cohort"] == c));
            Ok(serde_json::json!({
                "cohort": cohort, "cohorts": cohorts, "results": rows, "passed": passed.len(),
                "trainees": trainees.len(), "in_progress": in_progress,
            }))
        };
        run().map_err(ServiceError::internal)
    }

    fn exams_export(
        &self,
        cohort: Option<&str>,
        format: &str,
    ) -> Result<(&'static str, Vec<u8>), ServiceError> {
        spreadsheet_format(format)?;
        let build = || -> Result<(&'static str, Vec<u8>)> {
            let store = self.store()?;
            let (header, rows) = crate::governance::exam::cohort_rows(&*store, cohort)?;
            Ok(if format == "csv" {
                ("text/csv; charset=utf-8", crate::governance::tabular::to_csv_for_excel(&header, &rows)?)
            } else {
                (
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    registry::to_xlsx("cohort", &header, &rows)?,
                )
            })
        };
        build().map_err(ServiceError::internal)
    }

    fn certificate(&self, drill: &str, form: icsdrill_web::region::CertForm) -> Result<String, ServiceError> {
        let store = self.store().map_err(ServiceError::internal)?;
        let e = store.exam(drill).map_err(ServiceError::internal)?.ok_or_else(|| {
            ServiceError::NotFound(format!("no exam result for drill `{}`", drill.escape_debug()))
        })?;
        crate::governance::cert::render(&e.certificate, form)
    }
}

/// A spreadsheet export's format: `csv` or `xlsx`.
fn spreadsheet_format(format: &str) -> Result<(), ServiceError> {
    match format {
        "csv" | "xlsx" => Ok(()),
        _ => Err(ServiceError::BadRequest("format must be csv or xlsx".into())),
    }
}
