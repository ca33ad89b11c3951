//! Drill records in a database: drills, teams, the scenario each used (source and hash), seeds,
//! every input by tick, the event log, scores and phase changes.
//!
//! `Store` is the seam for other databases (PostgreSQL for region-wide deployments);
//! `SqliteStore` is the embedded default (one file in `--data-dir`, WAL mode, `synchronous =
//! FULL`). Writes go through one `Recorder` thread that commits the sim threads' batches in
//! group transactions and then advances each team's durable tick, so an input is acknowledged
//! (HTTP answer, Modbus write answer) only once it is on disk: a `kill -9` loses nothing
//! anyone was told happened.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Result, bail};
use icsdrill_engine::{SimEvent, SimInput, TimedInput};
use tokio::sync::watch;

use crate::registry::{Activity, Enterprise, LevelChange, MajorChange, Registry};

mod postgres;
mod sqlite;

pub use postgres::PgStore;
pub use sqlite::{SqliteStore, db_path};

/// A finding as tracked for an enterprise across drills.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedFinding {
    /// Enterprise (team) id.
    pub enterprise: String,
    /// Finding id (stable across drills).
    pub id: String,
    /// `open`, `fixed` or `verified`.
    pub status: String,
    /// Severity tier.
    pub severity: String,
    /// Drill that first exposed it.
    pub first_drill: String,
    /// Drill that last looked at it.
    pub last_drill: String,
    /// The finding as last generated (JSON).
    pub finding: String,
    /// One entry per drill that looked at it (JSON array).
    pub history: String,
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
    pub date: String,
    /// Points.
    pub total: f64,
    /// Most points.
    pub max: f64,
    /// Passed.
    pub passed: bool,
    /// The signed certificate (JSON).
    pub certificate: String,
}

/// A drill as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillRecord {
    /// Drill id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `regional`, `contest` or `enterprise`.
    pub mode: String,
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
    pub phase: String,
    /// Instructor token.
    pub instructor_token: String,
    /// Observer token.
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
    /// Appends batches (inputs and events) of `drill`'s teams in one transaction.
    fn append(&mut self, drill: &str, teams: &[String], batches: &[Batch]) -> Result<()>;
    /// Records a phase change.
    fn set_phase(&mut self, drill: &str, phase: &str) -> Result<()>;
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
    /// A team's latest stored score card (JSON) and its total.
    fn score(&self, drill: &str, team: &str) -> Result<Option<(f64, String)>>;
    /// The last tick recorded for a team (inputs or events), if any.
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
    fn import_enterprises(&mut self, list: &[Enterprise], date: &str) -> Result<usize>;
    /// Records a drill, compliance test or risk assessment.
    fn add_activity(&mut self, a: &Activity) -> Result<()>;
    /// Re-grades an enterprise: sets its level and who verified it, and records the level
    /// change (also when the level stays the same: the re-grading is done).
    fn regrade(&mut self, e: &Enterprise, change: &LevelChange) -> Result<()>;
    /// Records a major change (re-grading becomes due).
    fn add_major_change(&mut self, m: &MajorChange) -> Result<()>;
    /// Adds a regional-view user: `region`, or `prefecture` with its code.
    fn add_user(&mut self, token: &str, role: &str, prefecture: Option<&str>) -> Result<()>;
    /// A regional-view user's role and prefecture.
    fn user(&self, token: &str) -> Result<Option<(String, Option<String>)>>;
    /// Records an exam result.
    fn save_exam(&mut self, e: &ExamRecord) -> Result<()>;
    /// Exam results, of one cohort or all, oldest first.
    fn exams(&self, cohort: Option<&str>) -> Result<Vec<ExamRecord>>;
}

/// What the recorder thread is asked to do.
enum Msg {
    Batch(Batch),
    Phase(String),
    Score { team: usize, tick: u64, total: f64, card: String },
}

/// The drill's writer: one thread, group commits, a durable tick per team.
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    durable: Vec<watch::Receiver<u64>>,
    thread: Option<JoinHandle<()>>,
}

fn push(m: Msg, batches: &mut Vec<Batch>, others: &mut Vec<Msg>) {
    match m {
        Msg::Batch(b) => batches.push(b),
        other => others.push(other),
    }
}

/// Longest a batch waits for others to share its commit.
const GROUP_WINDOW: Duration = Duration::from_millis(5);

impl Recorder {
    /// Starts the writer for `drill` with these team ids (in drill order). `first_durable[i]`
    /// is team i's durable tick already on disk (a resumed drill), or 0.
    pub fn start(mut store: Box<dyn Store>, drill: String, teams: Vec<String>) -> Recorder {
        let (tx, rx) = mpsc::channel::<Msg>();
        // A team's durable mark is the first tick not yet known to be on disk: every batch of
        // an earlier tick is committed. It starts at 0: nothing is durable yet.
        let (senders, durable): (Vec<_>, Vec<_>) = teams.iter().map(|_| watch::channel(0u64)).unzip();
        let thread = std::thread::Builder::new()
            .name("icsdrill-store".into())
            .spawn(move || {
                let mut failing = false;
                let mut batches: Vec<Batch> = Vec::new();
                let mut others: Vec<Msg> = Vec::new();
                let mut open = true;
                while open || !batches.is_empty() || !others.is_empty() {
                    if batches.is_empty() && others.is_empty() {
                        match rx.recv() {
                            Ok(m) => push(m, &mut batches, &mut others),
                            Err(_) => break,
                        }
                    }
                    // Gather what arrives within the group window into one commit.
                    let until = std::time::Instant::now() + GROUP_WINDOW;
                    while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
                        match rx.recv_timeout(left) {
                            Ok(m) => push(m, &mut batches, &mut others),
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => {
                                open = false;
                                break;
                            }
                        }
                    }
                    // Batches first (they carry acknowledgements), then phases and scores; what
                    // fails stays queued and is retried, and nothing is acknowledged meanwhile.
                    let mut result = store.append(&drill, &teams, &batches);
                    if result.is_ok() {
                        for b in batches.drain(..) {
                            senders[b.team].send_if_modified(|t| {
                                let moved = b.tick + 1 > *t;
                                *t = (*t).max(b.tick + 1);
                                moved
                            });
                        }
                        let mut kept = Vec::new();
                        for m in others.drain(..) {
                            let r = match &m {
                                Msg::Phase(p) => store.set_phase(&drill, p),
                                Msg::Score { team, tick, total, card } => {
                                    store.save_score(&drill, &teams[*team], *tick, *total, card)
                                }
                                Msg::Batch(_) => Ok(()),
                            };
                            if let Err(e) = r {
                                result = Err(e);
                                kept.push(m);
                            }
                        }
                        others = kept;
                    }
                    match result {
                        Ok(()) if failing => {
                            tracing::warn!("database writes work again");
                            failing = false;
                        }
                        Ok(()) => {}
                        Err(e) => {
                            if !failing {
                                tracing::error!(error = %format!("{e:#}"), "cannot commit drill records; retrying");
                                failing = true;
                            }
                            if !open {
                                tracing::error!(
                                    batches = batches.len(),
                                    others = others.len(),
                                    "the drill has stopped and the database still refuses its last records: they are lost"
                                );
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(200));
                        }
                    }
                }
            })
            .expect("the OS starts a thread");
        Recorder { tx, durable, thread: Some(thread) }
    }

    /// Queues a tick's batch (never blocks the sim thread).
    pub fn record(&self, batch: Batch) {
        let _ = self.tx.send(Msg::Batch(batch));
    }

    /// Queues a phase change.
    pub fn phase(&self, phase: &str) {
        let _ = self.tx.send(Msg::Phase(phase.to_string()));
    }

    /// Queues a team's score card.
    pub fn score(&self, team: usize, tick: u64, total: f64, card: String) {
        let _ = self.tx.send(Msg::Score { team, tick, total, card });
    }

    /// A sender for the sim threads.
    pub fn sender(&self) -> RecordSender {
        RecordSender(self.tx.clone())
    }

    /// Team `i`'s durable mark: the first tick not yet known to be on disk (every batch of an
    /// earlier tick is).
    pub fn durable(&self, team: usize) -> watch::Receiver<u64> {
        self.durable[team].clone()
    }

    /// Writes what is queued and stops the thread.
    pub fn finish(mut self) {
        let (tx, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A handle the sim threads record through.
#[derive(Clone)]
pub struct RecordSender(mpsc::Sender<Msg>);

impl RecordSender {
    /// Queues a tick's batch.
    pub fn record(&self, batch: Batch) {
        let _ = self.0.send(Msg::Batch(batch));
    }

    /// Queues a team's score card.
    pub fn score(&self, team: usize, tick: u64, total: f64, card: String) {
        let _ = self.0.send(Msg::Score { team, tick, total, card });
    }
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
            Some(d) => bail!(
                "--database must be a PostgreSQL URL (postgres://user:password@host/db); for SQLite give --data-dir, not `{d}`"
            ),
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
        None => bail!("no --data-dir given and no HOME to put the data in"),
    }
}
