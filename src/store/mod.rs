//! Drill records in a database: drills, teams, the scenario each used (source and hash), seeds,
//! every input by tick, the event log, scores and phase changes.
//!
//! `Store` is the seam for other databases (PostgreSQL for region-wide deployments);
//! `SqliteStore` is the embedded default (one file in `--data-dir`, WAL mode, `synchronous =
//! FULL`). Writes go through one `Recorder` thread that commits the simulation jobs' batches in
//! group transactions and then advances each team's durable tick, so an input is acknowledged
//! (HTTP answer, Modbus write answer) only once it is on disk: a `kill -9` loses nothing
//! anyone was told happened.

use std::path::{Path, PathBuf};

use crate::governance::dates::Day;
use crate::{Error, Result};
use icsdrill_drill::{Mode, Phase};
use icsdrill_engine::{SimEvent, SimInput, TimedInput};
pub use icsdrill_judge::findings::Severity;

use crate::governance::registry::{Activity, Enterprise, LevelChange, MajorChange, Registry};

pub mod cluster;
mod postgres;
mod recorder;
pub mod replay;
mod sqlite;

/// The setting that holds when drill `drill` started (Unix milliseconds): the wall time of its
/// tick 0, which its captures and alerts are stamped from (its creation is the briefing's).
pub fn started_key(drill: &str) -> String {
    format!("drill_started_ms:{drill}")
}

/// When drill `drill` started, if it has and the record kept it (drills recorded before
/// starts were kept count from their creation).
pub fn started_ms(store: &dyn Store, drill: &str) -> Result<Option<i64>> {
    millis(store, &started_key(drill))
}

/// The setting that holds when drill `drill`'s server last stopped before the drill's end
/// (Unix milliseconds; empty while a server runs it): `icsdrill drills` tells a drill left to
/// be resumed from one running now by it. A server killed outright leaves none.
pub fn stopped_key(drill: &str) -> String {
    format!("drill_stopped_ms:{drill}")
}

/// When drill `drill`'s server stopped before its end, if it did and has not served it since.
pub fn stopped_ms(store: &dyn Store, drill: &str) -> Result<Option<i64>> {
    millis(store, &stopped_key(drill))
}

/// A setting that holds Unix milliseconds (none when unset, empty or not a number).
fn millis(store: &dyn Store, key: &str) -> Result<Option<i64>> {
    Ok(store.setting(key)?.and_then(|s| s.parse().ok()))
}

pub use icsdrill_drill::views::ForeignAttempt;

/// A mode or phase as the database spells it (`contest`, `hot_wash`).
fn spelled(v: impl serde::Serialize) -> String {
    icsdrill_drill::vocab::name_of(v)
}

/// A mode or phase from the database's spelling.
fn parsed<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| Error::unreadable(format!("the database holds an unknown {what} `{s}`")))
}
/// The tables holding a drill's records (its id in `drill_id`), and last its own row:
/// what `Store::discard_drill` deletes, in this order.
const DRILL_TABLES: [&str; 7] =
    ["events", "inputs", "scores", "phases", "foreign_clients", "tracked", "teams"];

/// The statements that discard a drill, its id the first parameter (`$1`, which SQLite
/// reads as the first parameter too).
fn discard_statements() -> impl Iterator<Item = String> {
    DRILL_TABLES
        .iter()
        .map(|t| format!("DELETE FROM {t} WHERE drill_id = $1"))
        .chain(std::iter::once("DELETE FROM drills WHERE id = $1".to_string()))
}

/// The tables, one definition for both databases: the type names are PostgreSQL's (`BIGINT`,
/// `DOUBLE PRECISION`), which SQLite reads with the same affinities as its own `INTEGER` and
/// `REAL`, so databases made by earlier versions keep working.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS drills (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, mode TEXT NOT NULL, scenario_id TEXT NOT NULL,
    scenario_hash TEXT NOT NULL, scenario_source TEXT NOT NULL, seed BIGINT NOT NULL,
    live_attacker BIGINT NOT NULL, phase TEXT NOT NULL, instructor_token TEXT NOT NULL,
    observer_token TEXT NOT NULL, options TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS teams (
    drill_id TEXT NOT NULL REFERENCES drills(id), idx BIGINT NOT NULL, id TEXT NOT NULL,
    name TEXT NOT NULL, token TEXT NOT NULL, PRIMARY KEY (drill_id, id));
CREATE TABLE IF NOT EXISTS inputs (
    drill_id TEXT NOT NULL, team TEXT NOT NULL, seq BIGINT NOT NULL, tick BIGINT NOT NULL,
    input TEXT NOT NULL, PRIMARY KEY (drill_id, team, seq));
CREATE TABLE IF NOT EXISTS events (
    drill_id TEXT NOT NULL, team TEXT NOT NULL, seq BIGINT NOT NULL, tick BIGINT NOT NULL,
    kind TEXT NOT NULL, event TEXT NOT NULL, PRIMARY KEY (drill_id, team, seq));
CREATE TABLE IF NOT EXISTS scores (
    drill_id TEXT NOT NULL, team TEXT NOT NULL, tick BIGINT NOT NULL, total DOUBLE PRECISION NOT NULL,
    card TEXT NOT NULL, PRIMARY KEY (drill_id, team));
CREATE TABLE IF NOT EXISTS phases (drill_id TEXT NOT NULL, at_ms BIGINT NOT NULL, phase TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
    enterprise TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
    first_drill TEXT NOT NULL, last_drill TEXT NOT NULL, finding TEXT NOT NULL, history TEXT NOT NULL,
    PRIMARY KEY (enterprise, id));
CREATE TABLE IF NOT EXISTS tracked (drill_id TEXT NOT NULL, team TEXT NOT NULL, PRIMARY KEY (drill_id, team));
CREATE TABLE IF NOT EXISTS enterprises (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS activities (
    enterprise TEXT NOT NULL, kind TEXT NOT NULL, date TEXT NOT NULL, reference TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS level_changes (
    enterprise TEXT NOT NULL, date TEXT NOT NULL, from_level BIGINT NOT NULL, to_level BIGINT NOT NULL,
    reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS major_changes (enterprise TEXT NOT NULL, date TEXT NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (token TEXT PRIMARY KEY, role TEXT NOT NULL, prefecture TEXT);
CREATE TABLE IF NOT EXISTS exams (
    drill_id TEXT PRIMARY KEY, trainee TEXT NOT NULL, name TEXT NOT NULL, cohort TEXT NOT NULL, date TEXT NOT NULL,
    total DOUBLE PRECISION NOT NULL, max DOUBLE PRECISION NOT NULL, passed BIGINT NOT NULL, certificate TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS foreign_clients (
    drill_id TEXT NOT NULL, address TEXT NOT NULL, team TEXT NOT NULL, from_team TEXT, plc TEXT NOT NULL,
    count BIGINT NOT NULL, first_ms BIGINT NOT NULL, last_ms BIGINT NOT NULL,
    PRIMARY KEY (drill_id, address, team));
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// The columns an `ExamRecord` is read from, in its fields' order (`e` the exams table).
const EXAM_COLUMNS: &str =
    "e.drill_id, e.trainee, e.name, e.cohort, e.date, e.total, e.max, e.passed, e.certificate";

pub use postgres::PgStore;
pub use recorder::{MAX_COMMIT_ROWS, MAX_QUEUED_ROWS, RecordSender, Recorder};
pub use sqlite::{SqliteStore, db_path};

/// Where a tracked finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// Found, not yet shown fixed.
    Open,
    /// A later drill ran the attack path that exposed it, and the hazard did not show.
    Verified,
}

impl FindingStatus {
    /// The word for it, as records and reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Verified => "verified",
        }
    }
}

impl std::fmt::Display for FindingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for FindingStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::str::FromStr for FindingStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parsed("finding status", s)
    }
}

/// A finding as tracked for an enterprise across drills.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedFinding {
    /// Enterprise (team) id.
    pub enterprise: String,
    /// Finding id (stable across drills).
    pub id: String,
    /// Open, or verified fixed.
    pub status: FindingStatus,
    /// Severity tier.
    pub severity: Severity,
    /// Drill that first exposed it.
    pub first_drill: String,
    /// Drill that last looked at it.
    pub last_drill: String,
    /// The finding as last generated (JSON).
    pub finding: String,
    /// One entry per drill that looked at it (JSON array).
    pub history: String,
}

/// One drill's look at a tracked finding, as its history records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The drill.
    pub drill: String,
    /// What it made of the finding (`new`, `still_open`, `not_retested`, `verified`,
    /// `reopened`: `rectify::Verdict`'s words).
    pub verdict: String,
}

impl TrackedFinding {
    /// Its history's entries, oldest first (empty where the record's is unreadable).
    pub fn history_entries(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.history).unwrap_or_default()
    }

    /// Each drill's look at it, oldest first.
    pub fn checks(&self) -> Vec<Check> {
        self.history_entries()
            .iter()
            .filter_map(|h| {
                Some(Check {
                    drill: h["drill"].as_str()?.to_string(),
                    verdict: h["verdict"].as_str()?.to_string(),
                })
            })
            .collect()
    }

    /// The enterprise's latest declaration that it rectified it (整改完成: date and what it
    /// did), unless a drill looked at it since (its verdict then speaks for it).
    pub fn declared(&self) -> Option<(Day, String)> {
        let history = self.history_entries();
        let last = history.last()?;
        (last["verdict"] == "declared").then(|| {
            let date = last["date"].as_str()?.parse().ok()?;
            Some((date, last["note"].as_str().unwrap_or_default().to_string()))
        })?
    }

    /// How the team contained it in the drill that last found it (临时控制: when, how), with
    /// that drill's look at it; none where it did not, or it is verified fixed. A stopgap in a
    /// drill leaves it open.
    pub fn contained(&self) -> Option<(Check, icsdrill_judge::findings::Contained)> {
        if self.status == FindingStatus::Verified {
            return None;
        }
        // The record is the finding as the last drill that found it made it.
        let by = self
            .checks()
            .into_iter()
            .rev()
            .find(|c| matches!(c.verdict.as_str(), "new" | "still_open" | "reopened"))?;
        let finding: serde_json::Value = serde_json::from_str(&self.finding).ok()?;
        Some((by, serde_json::from_value(finding["contained"].clone()).ok()?))
    }

    /// Its title in both languages, as last generated (its id where the record has none).
    pub fn title(&self) -> icsdrill_engine::scenario::Text {
        let finding: serde_json::Value = serde_json::from_str(&self.finding).unwrap_or_default();
        serde_json::from_value(finding["title"].clone())
            .unwrap_or_else(|_| icsdrill_engine::scenario::Text::new(&self.id, &self.id))
    }
}

/// An exam result, for the trainer's cohort view.
#[derive(Debug, Clone, PartialEq)]
pub struct ExamRecord {
    /// The exam's drill id.
    pub drill: String,
    /// Trainee id.
    pub trainee: String,
    /// Trainee name.
    pub name: String,
    /// Cohort.
    pub cohort: String,
    /// Date.
    pub date: Day,
    /// Points.
    pub total: f64,
    /// Most points.
    pub max: f64,
    /// Passed.
    pub passed: bool,
    /// The signed certificate (JSON).
    pub certificate: String,
}

impl DrillRecord {
    /// Refuses a drill still running or stopped before its end (a killed server): `what`
    /// (its report, its findings, its bundle) comes when it ends.
    pub fn require_over(&self, what: &str) -> Result<()> {
        if self.phase.is_over() {
            return Ok(());
        }
        Err(Error::Invalid(format!(
            "drill {id} is not over (phase {}): {what} when it ends (`icsdrill serve --resume {id}` continues a drill that was stopped)",
            self.phase,
            id = self.id
        )))
    }
}

/// A drill as stored; as serialised (a bundle's drill) it never holds its tokens.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DrillRecord {
    /// Drill id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Mode.
    pub mode: Mode,
    /// Scenario id.
    pub scenario_id: String,
    /// SHA-256 of the scenario source.
    pub scenario_hash: String,
    /// The scenario source itself, so a replay needs nothing else.
    pub scenario_source: String,
    /// Seed of every team's range.
    pub seed: u64,
    /// Whether the attack ran as a live attacker (replays run the same mode).
    pub live_attacker: bool,
    /// Phase.
    pub phase: Phase,
    /// Instructor token.
    #[serde(skip)]
    pub instructor_token: String,
    /// Observer token.
    #[serde(skip)]
    pub observer_token: String,
    /// Drill options as JSON (freeze, duration...).
    pub options: String,
    /// Unix milliseconds of creation.
    pub created_ms: i64,
}

/// A team as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamRecord {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Login token.
    pub token: String,
}

/// What one tick of one team's range leaves: the inputs applied at `tick`, in order, and the
/// events the tick logged.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Team index in the drill.
    pub team: usize,
    /// Tick the inputs were applied at.
    pub tick: u64,
    /// Inputs, in the order applied.
    pub inputs: Vec<SimInput>,
    /// Events logged by the tick.
    pub events: Vec<SimEvent>,
}

/// A database of drills.
pub trait Store: Send {
    /// Records a new drill and its teams.
    fn create_drill(&mut self, drill: &DrillRecord, teams: &[TeamRecord]) -> Result<()>;
    /// Deletes everything on record of a drill that never got going (its server failed to
    /// start): it is no drill anyone ran.
    fn discard_drill(&mut self, drill: &str) -> Result<()>;
    /// Appends batches (inputs and events) of `drill`'s teams in one transaction.
    fn append(&mut self, drill: &str, teams: &[String], batches: &[Batch]) -> Result<()>;
    /// From now on writes records only for the teams node `node` holds, or no node has
    /// claimed: in a drill over several nodes, a node that lost a team's lease (cut off from
    /// the database for longer than a lease) writes nothing more for it. Only PostgreSQL
    /// serves several nodes; elsewhere every team is the store's.
    fn fence(&mut self, _node: &str) -> Result<()> {
        Ok(())
    }
    /// The teams (indices) whose batches the last `append` left out, held by another node:
    /// nothing in them may be acknowledged.
    fn take_fenced(&mut self) -> Vec<usize> {
        Vec::new()
    }
    /// Records a phase change.
    fn set_phase(&mut self, drill: &str, phase: Phase) -> Result<()>;
    /// Records a team's latest score card (JSON).
    fn save_score(&mut self, drill: &str, team: &str, tick: u64, total: f64, card: &str) -> Result<()>;
    /// Every drill, newest first.
    fn drills(&self) -> Result<Vec<DrillRecord>>;
    /// One drill and its teams.
    fn drill(&self, id: &str) -> Result<Option<(DrillRecord, Vec<TeamRecord>)>>;
    /// A team's inputs by tick, in the order applied.
    fn inputs(&self, drill: &str, team: &str) -> Result<Vec<TimedInput>>;
    /// A team's event log as JSON lines, in order.
    fn events(&self, drill: &str, team: &str) -> Result<Vec<String>>;
    /// A team's judged events (`EventKind::judged`: its log without plain traffic), in order,
    /// read one at a time.
    fn judged_events(&self, drill: &str, team: &str) -> Result<Vec<SimEvent>>;
    /// How many events a team's log holds (a resumed range records what its re-run has
    /// beyond them), without reading the log.
    fn event_count(&self, drill: &str, team: &str) -> Result<usize>;
    /// A team's latest stored score card (JSON) and its total.
    fn score(&self, drill: &str, team: &str) -> Result<Option<(f64, String)>>;
    /// The last tick a team's range ran, as its record shows it (inputs or events; the
    /// range's start, `sim_started`, is before its first tick: none if nothing came after it,
    /// so a replay steps no tick where the range stepped none).
    fn last_tick(&self, drill: &str, team: &str) -> Result<Option<u64>>;
    /// An enterprise's tracked findings.
    fn findings(&self, enterprise: &str) -> Result<Vec<TrackedFinding>>;
    /// Records the findings tracking of one team's drill in one transaction (insert or
    /// update each), and marks the drill tracked for that team.
    fn track(&mut self, drill: &str, team: &str, findings: &[TrackedFinding]) -> Result<()>;
    /// Whether a team's drill has been tracked already.
    fn tracked(&self, drill: &str, team: &str) -> Result<bool>;
    /// Every enterprise's tracked findings.
    fn all_findings(&self) -> Result<Vec<TrackedFinding>>;
    /// The whole registry.
    fn registry(&self) -> Result<Registry>;
    /// Inserts or updates enterprises in one transaction; a new enterprise or a changed level
    /// records a level change dated `date`. Returns how many were new.
    fn import_enterprises(&mut self, list: &[Enterprise], date: Day) -> Result<usize>;
    /// Records a drill, compliance test or risk assessment.
    fn add_activity(&mut self, a: &Activity) -> Result<()>;
    /// Re-grades an enterprise: sets its level and who verified it, and records the level
    /// change (also when the level stays the same: the re-grading is done).
    fn regrade(&mut self, e: &Enterprise, change: &LevelChange) -> Result<()>;
    /// Records a major change (re-grading becomes due).
    fn add_major_change(&mut self, m: &MajorChange) -> Result<()>;
    /// A setting of the registry (`cadence`: the cadence rules adopted), if set.
    fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Sets a setting of the registry.
    fn set_setting(&mut self, key: &str, value: &str) -> Result<()>;
    /// Adds a regional-view user: `region`, or `prefecture` with its code.
    fn add_user(&mut self, token: &str, role: &str, prefecture: Option<&str>) -> Result<()>;
    /// A regional-view user's role and prefecture.
    fn user(&self, token: &str) -> Result<Option<(String, Option<String>)>>;
    /// Records an exam result.
    fn save_exam(&mut self, e: &ExamRecord) -> Result<()>;
    /// Exam results, of one cohort or all, oldest first.
    fn exams(&self, cohort: Option<&str>) -> Result<Vec<ExamRecord>>;
    /// The exam result of drill `drill`, if it is certified (the table's key: no scan).
    fn exam(&self, drill: &str) -> Result<Option<ExamRecord>>;
    /// Records the refused foreign connections of a drill (each row replaced by its newer
    /// count).
    fn save_foreign(&mut self, drill: &str, attempts: &[ForeignAttempt]) -> Result<()>;
    /// A drill's refused foreign connections, by address and team.
    fn foreign(&self, drill: &str) -> Result<Vec<ForeignAttempt>>;
}

/// Where drills and the registry are kept: SQLite in a data directory (the default), or a
/// PostgreSQL server (`--database postgres://...` or `$ICSDRILL_DATABASE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The SQLite file in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (URL or `key=value` form).
    Postgres(String),
}

impl Database {
    /// `--database` (or `$ICSDRILL_DATABASE`) when given, else SQLite in the data directory.
    pub fn resolve(data_dir: Option<&Path>, database: Option<&str>) -> Result<Database> {
        let env = std::env::var("ICSDRILL_DATABASE").ok();
        match database.or(env.as_deref()).filter(|d| !d.is_empty()) {
            Some(d)
                if d.starts_with("postgres://") || d.starts_with("postgresql://") || d.contains("host=") =>
            {
                Ok(Database::Postgres(d.to_string()))
            }
            Some(d) => Err(Error::invalid(format!(
                "--database must be a PostgreSQL URL (postgres://user:password@host/db); for SQLite give --data-dir, not `{d}`"
            ))),
            None => Ok(Database::Sqlite(data_dir_or_default(data_dir)?)),
        }
    }

    /// Opens (and creates the schema of) the database. PostgreSQL's client blocks: call this
    /// off the async runtime.
    pub fn open(&self) -> Result<Box<dyn Store>> {
        Ok(match self {
            Database::Sqlite(dir) => Box::new(SqliteStore::open(dir)?),
            Database::Postgres(url) => Box::new(PgStore::connect(url)?),
        })
    }

    /// For messages: the file, or the server without its password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(dir) => db_path(dir).display().to_string(),
            Database::Postgres(url) => match url.split_once('@') {
                Some((_, host)) => format!("postgres://{host}"),
                None => url
                    .split_whitespace()
                    .filter(|kv| !kv.starts_with("password"))
                    .collect::<Vec<_>>()
                    .join(" "),
            },
        }
    }
}

/// The data directory: `--data-dir`, else `$ICSDRILL_DATA`, else `~/.local/share/icsdrill`.
pub fn data_dir_or_default(arg: Option<&Path>) -> Result<PathBuf> {
    data_dir(arg)
}

/// The data directory: `--data-dir`, else `$ICSDRILL_DATA`, else `~/.local/share/icsdrill`.
pub fn data_dir(arg: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = arg {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("ICSDRILL_DATA") {
        return Ok(PathBuf::from(p));
    }
    match std::env::var_os("HOME") {
        Some(h) => Ok(PathBuf::from(h).join(".local/share/icsdrill")),
        None => Err(Error::invalid("no --data-dir given and no HOME to put the data in")),
    }
}

/// What importing enterprises asks of a backend, inside one transaction.
trait ImportTx {
    /// The enterprise stored under `id`, as stored.
    fn stored(&mut self, id: &str) -> Result<Option<String>>;
    /// Stores `e` under its id, over what is there.
    fn put(&mut self, e: &Enterprise) -> Result<()>;
    /// Logs a change of level.
    fn level_change(&mut self, c: &LevelChange) -> Result<()>;
}

/// Imports `list` through `tx` on `date`: every enterprise stored over its old record, each
/// change of level logged. Returns how many are new.
fn import_into(tx: &mut impl ImportTx, list: &[Enterprise], date: Day) -> Result<usize> {
    let mut new = 0;
    for e in list {
        let old = tx.stored(&e.id)?;
        let (is_new, change) = imported(e, old.as_deref(), date);
        new += usize::from(is_new);
        if let Some(c) = change {
            tx.level_change(&c)?;
        }
        tx.put(e)?;
    }
    Ok(new)
}

/// What importing `e` over what the registry holds under its id (`old`, as stored) changes:
/// whether the enterprise is new, and the change of level to log (from 0 for a new one).
fn imported(e: &Enterprise, old: Option<&str>, date: Day) -> (bool, Option<LevelChange>) {
    let from = old.map_or(0, |d| serde_json::from_str::<Enterprise>(d).map_or(0, |o| o.level));
    let change = (from != e.level).then(|| LevelChange {
        enterprise: e.id.clone(),
        date,
        from,
        to: e.level,
        reason: if old.is_none() { "registered" } else { "import" }.to_string(),
    });
    (old.is_none(), change)
}

/// The condition that leaves out the kinds of event never judged (`NEVER_JUDGED`) from the query
/// that reads a team's judged events; the rest are parsed and judged one by one.
fn not_judged_sql() -> String {
    let kinds: Vec<String> = icsdrill_engine::event::NEVER_JUDGED.iter().map(|k| format!("'{k}'")).collect();
    format!("kind NOT IN ({})", kinds.join(", "))
}

/// A stored event line, if it is a judged event.
fn judged_line(line: &str) -> Result<Option<SimEvent>> {
    let e = SimEvent::from_json(line)
        .map_err(|e| Error::Failed(format!("a stored event does not read back: {e}")))?;
    Ok(e.kind.judged().then_some(e))
}
