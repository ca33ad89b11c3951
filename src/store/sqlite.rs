//! The embedded default store: SQLite in `--data-dir`, WAL mode, `synchronous = FULL`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::governance::dates::Day;
use crate::{Error, Result};
use icsdrill_engine::{SimInput, TimedInput};
use rusqlite::{Connection, OptionalExtension, params};

use icsdrill_drill::Phase;

use super::{
    Batch, DrillRecord, EXAM_COLUMNS, ExamRecord, ForeignAttempt, SCHEMA, Store, TeamRecord, TrackedFinding,
};
use crate::governance::registry::{Activity, Enterprise, LevelChange, MajorChange, Registry};

/// The SQLite store.
pub struct SqliteStore {
    conn: Connection,
}

/// The database file in a data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("icsdrill.sqlite3")
}

pub(super) use crate::governance::dates::now_ms;

/// Creates a directory (and its parents) that only its owner may enter, when it does not
/// exist yet.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Creates an empty file only its owner may read, when it does not exist yet; an existing one
/// readable by others is made private (SQLite gives its WAL and shared-memory files the same
/// mode).
fn create_private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl SqliteStore {
    fn finding_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TrackedFinding> {
        Ok(TrackedFinding {
            enterprise: r.get(0)?,
            id: r.get(1)?,
            status: text_enum(r, 2, "finding status")?,
            severity: text_enum(r, 3, "severity")?,
            first_drill: r.get(4)?,
            last_drill: r.get(5)?,
            finding: r.get(6)?,
            history: r.get(7)?,
        })
    }

    /// Opens (creating it if needed) the database in `data_dir`. The directory is created
    /// mode 0700 and the database file 0600 (it holds the drills' login tokens); a database
    /// that cannot be written is an error now, not a drill that hangs on its first write.
    pub fn open(data_dir: &Path) -> Result<SqliteStore> {
        create_private_dir(data_dir).map_err(Error::file("create the data directory", data_dir))?;
        let path = db_path(data_dir);
        create_private_file(&path).map_err(Error::file("create", &path))?;
        let conn = Connection::open(&path)
            .map_err(|e| Error::invalid(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true);
        // Taking the write lock proves the file and its directory (WAL, shared memory) are
        // writable.
        let writable = !read_only && conn.execute_batch("BEGIN IMMEDIATE; COMMIT;").is_ok();
        if !writable {
            return Err(Error::invalid(format!(
                "the database {} cannot be written (a read-only data directory or file?): give a writable --data-dir",
                path.display()
            )));
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore { conn })
    }

    fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<DrillRecord> {
        Ok(DrillRecord {
            id: row.get(0)?,
            name: row.get(1)?,
            mode: text_enum(row, 2, "mode")?,
            scenario_id: row.get(3)?,
            scenario_hash: row.get(4)?,
            scenario_source: row.get(5)?,
            seed: row.get::<_, i64>(6)? as u64,
            live_attacker: row.get::<_, i64>(7)? != 0,
            phase: text_enum(row, 8, "phase")?,
            instructor_token: row.get(9)?,
            observer_token: row.get(10)?,
            options: row.get(11)?,
            created_ms: row.get(12)?,
        })
    }
}

/// A column spelling an enum (mode, phase, status...).
fn text_enum<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    i: usize,
    what: &str,
) -> rusqlite::Result<T> {
    let s: String = row.get(i)?;
    super::parsed(what, &s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into()))
}

pub(super) const DRILL_COLUMNS: &str = "id, name, mode, scenario_id, scenario_hash, scenario_source, seed, live_attacker, \
     phase, instructor_token, observer_token, options, created_ms";

impl Store for SqliteStore {
    fn create_drill(&mut self, d: &DrillRecord, teams: &[TeamRecord]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            &format!("INSERT INTO drills ({DRILL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
            params![
                d.id,
                d.name,
                super::spelled(d.mode),
                d.scenario_id,
                d.scenario_hash,
                d.scenario_source,
                d.seed as i64,
                d.live_attacker as i64,
                super::spelled(d.phase),
                d.instructor_token,
                d.observer_token,
                d.options,
                d.created_ms
            ],
        )?;
        for (i, t) in teams.iter().enumerate() {
            tx.execute(
                "INSERT INTO teams (drill_id, idx, id, name, token) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![d.id, i as i64, t.id, t.name, t.token],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn discard_drill(&mut self, drill: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        for statement in super::discard_statements() {
            tx.execute(&statement, [drill])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn append(&mut self, drill: &str, teams: &[String], batches: &[Batch]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut next_input = std::collections::BTreeMap::<usize, i64>::new();
            let mut seq_of = tx.prepare_cached(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM inputs WHERE drill_id = ?1 AND team = ?2",
            )?;
            let mut input = tx.prepare_cached(
                "INSERT INTO inputs (drill_id, team, seq, tick, input) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut event = tx.prepare_cached(
                "INSERT OR IGNORE INTO events (drill_id, team, seq, tick, kind, event) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for b in batches {
                let team = &teams[b.team];
                let seq = match next_input.entry(b.team) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(seq_of.query_row(params![drill, team], |r| r.get::<_, i64>(0))?)
                    }
                };
                for i in &b.inputs {
                    input.execute(params![drill, team, *seq, b.tick as i64, serde_json::to_string(i)?])?;
                    *seq += 1;
                }
                for e in &b.events {
                    event.execute(params![
                        drill,
                        team,
                        e.seq as i64,
                        e.tick as i64,
                        e.kind.name(),
                        e.to_json()
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn set_phase(&mut self, drill: &str, phase: Phase) -> Result<()> {
        let phase = super::spelled(phase);
        let tx = self.conn.transaction()?;
        tx.execute("UPDATE drills SET phase = ?2 WHERE id = ?1", params![drill, phase])?;
        tx.execute(
            "INSERT INTO phases (drill_id, at_ms, phase) VALUES (?1, ?2, ?3)",
            params![drill, now_ms(), phase],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn save_score(&mut self, drill: &str, team: &str, tick: u64, total: f64, card: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO scores (drill_id, team, tick, total, card) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (drill_id, team) DO UPDATE SET tick = ?3, total = ?4, card = ?5",
            params![drill, team, tick as i64, total, card],
        )?;
        Ok(())
    }

    fn drills(&self) -> Result<Vec<DrillRecord>> {
        let mut q =
            self.conn.prepare(&format!("SELECT {DRILL_COLUMNS} FROM drills ORDER BY created_ms DESC, id"))?;
        let rows = q.query_map([], SqliteStore::record)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn drill(&self, id: &str) -> Result<Option<(DrillRecord, Vec<TeamRecord>)>> {
        let d = self
            .conn
            .query_row(
                &format!("SELECT {DRILL_COLUMNS} FROM drills WHERE id = ?1"),
                [id],
                SqliteStore::record,
            )
            .optional()?;
        let Some(d) = d else { return Ok(None) };
        let mut q =
            self.conn.prepare("SELECT id, name, token FROM teams WHERE drill_id = ?1 ORDER BY idx")?;
        let teams = q
            .query_map([id], |r| Ok(TeamRecord { id: r.get(0)?, name: r.get(1)?, token: r.get(2)? }))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some((d, teams)))
    }

    fn inputs(&self, drill: &str, team: &str) -> Result<Vec<TimedInput>> {
        let mut q = self
            .conn
            .prepare("SELECT tick, input FROM inputs WHERE drill_id = ?1 AND team = ?2 ORDER BY seq")?;
        let rows =
            q.query_map(params![drill, team], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (tick, json) = row?;
            let input: SimInput = serde_json::from_str(&json)
                .map_err(|e| Error::unreadable(format!("stored input of team {team} is unreadable: {e}")))?;
            out.push(TimedInput { tick: tick as u64, input });
        }
        Ok(out)
    }

    fn events(&self, drill: &str, team: &str) -> Result<Vec<String>> {
        let mut q =
            self.conn.prepare("SELECT event FROM events WHERE drill_id = ?1 AND team = ?2 ORDER BY seq")?;
        let rows = q.query_map(params![drill, team], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn judged_events(&self, drill: &str, team: &str) -> Result<Vec<icsdrill_engine::SimEvent>> {
        let sql = format!(
            "SELECT event FROM events WHERE drill_id = ?1 AND team = ?2 AND {} ORDER BY seq",
            super::not_judged_sql()
        );
        let mut q = self.conn.prepare(&sql)?;
        let mut rows = q.query(params![drill, team])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.extend(super::judged_line(r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?)?);
        }
        Ok(out)
    }

    fn event_count(&self, drill: &str, team: &str) -> Result<usize> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM events WHERE drill_id = ?1 AND team = ?2",
            params![drill, team],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    fn score(&self, drill: &str, team: &str) -> Result<Option<(f64, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT total, card FROM scores WHERE drill_id = ?1 AND team = ?2",
                params![drill, team],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn last_tick(&self, drill: &str, team: &str) -> Result<Option<u64>> {
        let t: Option<i64> = self.conn.query_row(
            "SELECT MAX(t) FROM (SELECT MAX(tick) AS t FROM events WHERE drill_id = ?1 AND team = ?2 AND kind <> 'sim_started'
             UNION ALL SELECT MAX(tick) FROM inputs WHERE drill_id = ?1 AND team = ?2)",
            params![drill, team],
            |r| r.get(0),
        )?;
        Ok(t.map(|t| t as u64))
    }

    fn findings(&self, enterprise: &str) -> Result<Vec<TrackedFinding>> {
        let mut q = self.conn.prepare(
            "SELECT enterprise, id, status, severity, first_drill, last_drill, finding, history FROM findings
             WHERE enterprise = ?1 ORDER BY id",
        )?;
        let rows = q.query_map([enterprise], SqliteStore::finding_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn track(&mut self, drill: &str, team: &str, findings: &[TrackedFinding]) -> Result<()> {
        let tx = self.conn.transaction()?;
        for f in findings {
            tx.execute(
                "INSERT INTO findings (enterprise, id, status, severity, first_drill, last_drill, finding, history)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (enterprise, id) DO UPDATE SET status = ?3, severity = ?4, first_drill = ?5, last_drill = ?6, finding = ?7, history = ?8",
                params![f.enterprise, f.id, f.status.as_str(), f.severity.as_str(), f.first_drill, f.last_drill, f.finding, f.history],
            )?;
        }
        tx.execute("INSERT OR IGNORE INTO tracked (drill_id, team) VALUES (?1, ?2)", params![drill, team])?;
        tx.commit()?;
        Ok(())
    }

    fn tracked(&self, drill: &str, team: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM tracked WHERE drill_id = ?1 AND team = ?2",
                params![drill, team],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn all_findings(&self) -> Result<Vec<TrackedFinding>> {
        let mut q = self.conn.prepare(
            "SELECT enterprise, id, status, severity, first_drill, last_drill, finding, history FROM findings
             ORDER BY enterprise, id",
        )?;
        let rows = q.query_map([], SqliteStore::finding_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn registry(&self) -> Result<Registry> {
        let mut reg = Registry::default();
        let mut q = self.conn.prepare("SELECT data FROM enterprises ORDER BY id")?;
        for data in q.query_map([], |r| r.get::<_, String>(0))? {
            reg.enterprises.push(
                serde_json::from_str(&data?)
                    .map_err(|e| Error::unreadable(format!("a stored enterprise is unreadable: {e}")))?,
            );
        }
        let mut q = self
            .conn
            .prepare("SELECT enterprise, kind, date, reference FROM activities ORDER BY date, enterprise")?;
        reg.activities = q
            .query_map([], |r| {
                Ok(Activity { enterprise: r.get(0)?, kind: r.get(1)?, date: r.get(2)?, reference: r.get(3)? })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut q = self
            .conn
            .prepare("SELECT enterprise, date, from_level, to_level, reason FROM level_changes ORDER BY date, enterprise")?;
        reg.level_changes = q
            .query_map([], |r| {
                Ok(LevelChange {
                    enterprise: r.get(0)?,
                    date: r.get(1)?,
                    from: r.get::<_, i64>(2)? as u8,
                    to: r.get::<_, i64>(3)? as u8,
                    reason: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut q = self
            .conn
            .prepare("SELECT enterprise, date, note FROM major_changes ORDER BY date, enterprise")?;
        reg.major_changes = q
            .query_map([], |r| Ok(MajorChange { enterprise: r.get(0)?, date: r.get(1)?, note: r.get(2)? }))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(reg)
    }

    fn import_enterprises(&mut self, list: &[Enterprise], date: Day) -> Result<usize> {
        let mut tx = self.conn.transaction()?;
        let new = super::import_into(&mut tx, list, date)?;
        tx.commit()?;
        Ok(new)
    }

    fn regrade(&mut self, e: &Enterprise, c: &LevelChange) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE enterprises SET data = ?2 WHERE id = ?1",
            params![e.id, serde_json::to_string(e)?],
        )?;
        level_change(&tx, c)?;
        tx.commit()?;
        Ok(())
    }

    fn add_activity(&mut self, a: &Activity) -> Result<()> {
        self.conn.execute(
            "INSERT INTO activities (enterprise, kind, date, reference) VALUES (?1, ?2, ?3, ?4)",
            params![a.enterprise, a.kind, a.date, a.reference],
        )?;
        Ok(())
    }

    fn add_major_change(&mut self, m: &MajorChange) -> Result<()> {
        self.conn.execute(
            "INSERT INTO major_changes (enterprise, date, note) VALUES (?1, ?2, ?3)",
            params![m.enterprise, m.date, m.note],
        )?;
        Ok(())
    }

    fn add_user(&mut self, token: &str, role: &str, prefecture: Option<&str>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO users (token, role, prefecture) VALUES (?1, ?2, ?3)",
            params![token, role, prefecture],
        )?;
        Ok(())
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
            params![key, value],
        )?;
        Ok(())
    }

    fn user(&self, token: &str) -> Result<Option<(String, Option<String>)>> {
        Ok(self
            .conn
            .query_row("SELECT role, prefecture FROM users WHERE token = ?1", [token], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    fn save_exam(&mut self, e: &ExamRecord) -> Result<()> {
        self.conn.execute(
            "INSERT INTO exams (drill_id, trainee, name, cohort, date, total, max, passed, certificate)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                e.drill,
                e.trainee,
                e.name,
                e.cohort,
                e.date,
                e.total,
                e.max,
                e.passed as i64,
                e.certificate
            ],
        )?;
        Ok(())
    }

    fn exams(&self, cohort: Option<&str>) -> Result<Vec<ExamRecord>> {
        let mut q = self.conn.prepare(&format!(
            // Sittings in the order they were sat (a retake the same day after the first).
            "SELECT {EXAM_COLUMNS} FROM exams e LEFT JOIN drills d ON d.id = e.drill_id
             WHERE ?1 IS NULL OR e.cohort = ?1 ORDER BY e.date, e.trainee, d.created_ms, e.drill_id",
        ))?;
        let rows = q.query_map([cohort], exam_record)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn exam(&self, drill: &str) -> Result<Option<ExamRecord>> {
        let q = format!("SELECT {EXAM_COLUMNS} FROM exams e WHERE e.drill_id = ?1");
        Ok(self.conn.query_row(&q, [drill], exam_record).optional()?)
    }

    fn save_foreign(&mut self, drill: &str, attempts: &[ForeignAttempt]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO foreign_clients (drill_id, address, team, from_team, plc, count, first_ms, last_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (drill_id, address, team) DO UPDATE SET \
                 from_team = excluded.from_team, plc = excluded.plc, count = excluded.count, last_ms = excluded.last_ms",
            )?;
            for a in attempts {
                upsert.execute(params![
                    drill,
                    a.address,
                    a.team,
                    a.from_team,
                    a.plc,
                    a.count as i64,
                    a.first_ms,
                    a.last_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn foreign(&self, drill: &str) -> Result<Vec<ForeignAttempt>> {
        let mut q = self.conn.prepare(
            "SELECT address, from_team, team, plc, count, first_ms, last_ms FROM foreign_clients \
             WHERE drill_id = ?1 ORDER BY team, address",
        )?;
        let rows = q.query_map(params![drill], |r| {
            Ok(ForeignAttempt {
                address: r.get(0)?,
                from_team: r.get(1)?,
                team: r.get(2)?,
                plc: r.get(3)?,
                count: r.get::<_, i64>(4)? as u64,
                first_ms: r.get(5)?,
                last_ms: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl super::ImportTx for rusqlite::Transaction<'_> {
    fn stored(&mut self, id: &str) -> Result<Option<String>> {
        Ok(self.query_row("SELECT data FROM enterprises WHERE id = ?1", [id], |r| r.get(0)).optional()?)
    }

    fn put(&mut self, e: &Enterprise) -> Result<()> {
        self.execute(
            "INSERT INTO enterprises (id, data) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET data = ?2",
            params![e.id, serde_json::to_string(e)?],
        )?;
        Ok(())
    }

    fn level_change(&mut self, c: &LevelChange) -> Result<()> {
        level_change(self, c)
    }
}

/// Logs a change of an enterprise's level.
fn level_change(tx: &rusqlite::Transaction<'_>, c: &LevelChange) -> Result<()> {
    tx.execute(
        "INSERT INTO level_changes (enterprise, date, from_level, to_level, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![c.enterprise, c.date, i64::from(c.from), i64::from(c.to), c.reason],
    )?;
    Ok(())
}

/// An exam result from a row of `EXAM_COLUMNS`.
fn exam_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExamRecord> {
    Ok(ExamRecord {
        drill: r.get(0)?,
        trainee: r.get(1)?,
        name: r.get(2)?,
        cohort: r.get(3)?,
        date: r.get(4)?,
        total: r.get(5)?,
        max: r.get(6)?,
        passed: r.get::<_, i64>(7)? != 0,
        certificate: r.get(8)?,
    })
}
