//! The PostgreSQL store, for a region-wide deployment (`--database postgres://...`). Same
//! tables and semantics as the SQLite store; integers are BIGINT, reals DOUBLE PRECISION.
//!
//! The client is the blocking `postgres` crate, which runs its own small runtime: call it
//! only from plain threads (the recorder) or `spawn_blocking`, never from async code.

use std::cell::{RefCell, RefMut};

use crate::governance::dates::Day;
use crate::{Error, Result};
use icsdrill_engine::{SimInput, TimedInput};
use postgres::{Client, NoTls};

use icsdrill_drill::Phase;

use super::{
    Batch, DrillRecord, EXAM_COLUMNS, ExamRecord, ForeignAttempt, SCHEMA, Store, TeamRecord, TrackedFinding,
};
use crate::governance::registry::{Activity, Enterprise, LevelChange, MajorChange, Registry};

/// The PostgreSQL store.
pub struct PgStore {
    /// Reads take `&self` in `Store`; the client needs `&mut` for every call.
    client: RefCell<Client>,
    /// How to connect again after the server dropped the connection.
    params: String,
    /// The node whose leases the writes are fenced by (a drill over several nodes).
    fence: Option<String>,
    /// The teams the last `append` left out.
    fenced: Vec<usize>,
}

impl PgStore {
    /// Connects (a `postgres://` URL or a `key=value` string) and creates the schema.
    pub fn connect(params: &str) -> Result<PgStore> {
        let mut client = Client::connect(params, NoTls)?;
        client.batch_execute(SCHEMA)?;
        Ok(PgStore {
            client: RefCell::new(client),
            params: params.to_string(),
            fence: None,
            fenced: Vec::new(),
        })
    }

    /// The client, connected again if the server dropped the connection (a restart, a
    /// network blip): the recorder keeps retrying through it.
    fn writer(&mut self) -> Result<&mut Client> {
        if self.client.get_mut().is_closed() {
            let client = Client::connect(&self.params, NoTls)?;
            *self.client.get_mut() = client;
        }
        Ok(self.client.get_mut())
    }

    fn client_ref(&self) -> RefMut<'_, Client> {
        self.client.borrow_mut()
    }

    fn record(row: &postgres::Row) -> Result<DrillRecord> {
        Ok(DrillRecord {
            id: row.get(0),
            name: row.get(1),
            mode: super::parsed("mode", row.get(2))?,
            scenario_id: row.get(3),
            scenario_hash: row.get(4),
            scenario_source: row.get(5),
            seed: row.get::<_, i64>(6) as u64,
            live_attacker: row.get::<_, i64>(7) != 0,
            phase: super::parsed("phase", row.get(8))?,
            instructor_token: row.get(9),
            observer_token: row.get(10),
            options: row.get(11),
            created_ms: row.get(12),
        })
    }

    fn finding(r: &postgres::Row) -> Result<TrackedFinding> {
        Ok(TrackedFinding {
            enterprise: r.get(0),
            id: r.get(1),
            status: super::parsed("finding status", r.get(2))?,
            severity: super::parsed("severity", r.get(3))?,
            first_drill: r.get(4),
            last_drill: r.get(5),
            finding: r.get(6),
            history: r.get(7),
        })
    }
}

use super::sqlite::DRILL_COLUMNS;

impl Store for PgStore {
    fn create_drill(&mut self, d: &DrillRecord, teams: &[TeamRecord]) -> Result<()> {
        let mut tx = self.writer()?.transaction()?;
        tx.execute(
            &format!("INSERT INTO drills ({DRILL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"),
            &[
                &d.id,
                &d.name,
                &super::spelled(d.mode),
                &d.scenario_id,
                &d.scenario_hash,
                &d.scenario_source,
                &(d.seed as i64),
                &(d.live_attacker as i64),
                &super::spelled(d.phase),
                &d.instructor_token,
                &d.observer_token,
                &d.options,
                &d.created_ms,
            ],
        )?;
        for (i, t) in teams.iter().enumerate() {
            tx.execute(
                "INSERT INTO teams (drill_id, idx, id, name, token) VALUES ($1, $2, $3, $4, $5)",
                &[&d.id, &(i as i64), &t.id, &t.name, &t.token],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn fence(&mut self, node: &str) -> Result<()> {
        self.writer()?.batch_execute(super::cluster::SCHEMA)?;
        self.fence = Some(node.to_string());
        Ok(())
    }

    fn take_fenced(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.fenced)
    }

    fn discard_drill(&mut self, drill: &str) -> Result<()> {
        let mut tx = self.writer()?.transaction()?;
        for statement in super::discard_statements() {
            tx.execute(&statement, &[&drill])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn append(&mut self, drill: &str, teams: &[String], batches: &[Batch]) -> Result<()> {
        let fence = self.fence.clone();
        self.fenced.clear();
        let mut tx = self.writer()?.transaction()?;
        // A drill over several nodes: the teams' lease rows are read under a share lock, so a
        // node claiming one of them waits for this commit (and then resumes the team from
        // records that include it), or this sees the team held by another and leaves it out.
        let mut fenced = Vec::new();
        if let Some(me) = &fence {
            let mut names: Vec<&str> = batches.iter().map(|b| teams[b.team].as_str()).collect();
            names.sort_unstable();
            names.dedup();
            for r in tx.query(
                "SELECT team, node FROM team_leases WHERE drill_id = $1 AND team = ANY($2) ORDER BY team FOR SHARE",
                &[&drill, &names],
            )? {
                let (team, node): (String, String) = (r.get(0), r.get(1));
                if node != *me
                    && let Some(k) = teams.iter().position(|t| *t == team)
                {
                    fenced.push(k);
                }
            }
        }
        let mut next = std::collections::BTreeMap::<usize, i64>::new();
        let input =
            tx.prepare("INSERT INTO inputs (drill_id, team, seq, tick, input) VALUES ($1, $2, $3, $4, $5)")?;
        let event = tx.prepare(
            "INSERT INTO events (drill_id, team, seq, tick, kind, event) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT DO NOTHING",
        )?;
        for b in batches.iter().filter(|b| !fenced.contains(&b.team)) {
            let team = &teams[b.team];
            let seq = match next.entry(b.team) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => v.insert(
                    tx.query_one(
                        "SELECT COALESCE(MAX(seq) + 1, 0) FROM inputs WHERE drill_id = $1 AND team = $2",
                        &[&drill, team],
                    )?
                    .get::<_, i64>(0),
                ),
            };
            for i in &b.inputs {
                tx.execute(&input, &[&drill, team, &*seq, &(b.tick as i64), &serde_json::to_string(i)?])?;
                *seq += 1;
            }
            for e in &b.events {
                tx.execute(
                    &event,
                    &[&drill, team, &(e.seq as i64), &(e.tick as i64), &e.kind.name(), &e.to_json()],
                )?;
            }
        }
        tx.commit()?;
        self.fenced = fenced;
        Ok(())
    }

    fn set_phase(&mut self, drill: &str, phase: Phase) -> Result<()> {
        let phase = super::spelled(phase);
        let mut tx = self.writer()?.transaction()?;
        tx.execute("UPDATE drills SET phase = $2 WHERE id = $1", &[&drill, &phase])?;
        tx.execute(
            "INSERT INTO phases (drill_id, at_ms, phase) VALUES ($1, $2, $3)",
            &[&drill, &super::sqlite::now_ms(), &phase],
        )?;
        // The other nodes of a drill over several nodes hear of it when this commits.
        tx.execute("SELECT pg_notify($1, $2)", &[&super::cluster::CHANNEL, &drill])?;
        tx.commit()?;
        Ok(())
    }

    fn save_score(&mut self, drill: &str, team: &str, tick: u64, total: f64, card: &str) -> Result<()> {
        let Some(me) = self.fence.clone() else {
            self.writer()?.execute(
                "INSERT INTO scores (drill_id, team, tick, total, card) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (drill_id, team) DO UPDATE SET tick = $3, total = $4, card = $5",
                &[&drill, &team, &(tick as i64), &total, &card],
            )?;
            return Ok(());
        };
        // Fenced: never over the card of a team another node holds.
        self.writer()?.execute(
            "INSERT INTO scores (drill_id, team, tick, total, card)
             SELECT $1::TEXT, $2::TEXT, $3::BIGINT, $4::DOUBLE PRECISION, $5::TEXT
             WHERE NOT EXISTS (SELECT 1 FROM team_leases WHERE drill_id = $1 AND team = $2 AND node <> $6)
             ON CONFLICT (drill_id, team) DO UPDATE SET tick = $3, total = $4, card = $5",
            &[&drill, &team, &(tick as i64), &total, &card, &me],
        )?;
        Ok(())
    }

    fn drills(&self) -> Result<Vec<DrillRecord>> {
        let mut c = self.client_ref();
        let rows =
            c.query(&format!("SELECT {DRILL_COLUMNS} FROM drills ORDER BY created_ms DESC, id"), &[])?;
        rows.iter().map(PgStore::record).collect()
    }

    fn drill(&self, id: &str) -> Result<Option<(DrillRecord, Vec<TeamRecord>)>> {
        let mut c = self.client_ref();
        let Some(row) = c.query_opt(&format!("SELECT {DRILL_COLUMNS} FROM drills WHERE id = $1"), &[&id])?
        else {
            return Ok(None);
        };
        let teams = c
            .query("SELECT id, name, token FROM teams WHERE drill_id = $1 ORDER BY idx", &[&id])?
            .iter()
            .map(|r| TeamRecord { id: r.get(0), name: r.get(1), token: r.get(2) })
            .collect();
        Ok(Some((PgStore::record(&row)?, teams)))
    }

    fn inputs(&self, drill: &str, team: &str) -> Result<Vec<TimedInput>> {
        let mut c = self.client_ref();
        let rows = c.query(
            "SELECT tick, input FROM inputs WHERE drill_id = $1 AND team = $2 ORDER BY seq",
            &[&drill, &team],
        )?;
        rows.iter()
            .map(|r| {
                let input: SimInput = serde_json::from_str(r.get::<_, &str>(1)).map_err(|e| {
                    Error::unreadable(format!("stored input of team {team} is unreadable: {e}"))
                })?;
                Ok(TimedInput { tick: r.get::<_, i64>(0) as u64, input })
            })
            .collect()
    }

    fn judged_events(&self, drill: &str, team: &str) -> Result<Vec<icsdrill_engine::SimEvent>> {
        use postgres::fallible_iterator::FallibleIterator as _;
        let sql = format!(
            "SELECT event FROM events WHERE drill_id = $1 AND team = $2 AND {} ORDER BY seq",
            super::not_judged_sql()
        );
        let mut c = self.client_ref();
        let mut rows = c.query_raw(sql.as_str(), [&drill, &team])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.extend(super::judged_line(r.get::<_, &str>(0))?);
        }
        Ok(out)
    }

    fn events(&self, drill: &str, team: &str) -> Result<Vec<String>> {
        let mut c = self.client_ref();
        Ok(c.query(
            "SELECT event FROM events WHERE drill_id = $1 AND team = $2 ORDER BY seq",
            &[&drill, &team],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
    }

    fn event_count(&self, drill: &str, team: &str) -> Result<usize> {
        let mut c = self.client_ref();
        let n: i64 = c
            .query_one("SELECT COUNT(*) FROM events WHERE drill_id = $1 AND team = $2", &[&drill, &team])?
            .get(0);
        Ok(n as usize)
    }

    fn score(&self, drill: &str, team: &str) -> Result<Option<(f64, String)>> {
        let mut c = self.client_ref();
        Ok(c.query_opt("SELECT total, card FROM scores WHERE drill_id = $1 AND team = $2", &[&drill, &team])?
            .map(|r| (r.get(0), r.get(1))))
    }

    fn last_tick(&self, drill: &str, team: &str) -> Result<Option<u64>> {
        let mut c = self.client_ref();
        let t: Option<i64> = c
            .query_one(
                "SELECT MAX(t) FROM (SELECT MAX(tick) AS t FROM events WHERE drill_id = $1 AND team = $2 AND kind <> 'sim_started'
                 UNION ALL SELECT MAX(tick) FROM inputs WHERE drill_id = $1 AND team = $2) AS u",
                &[&drill, &team],
            )?
            .get(0);
        Ok(t.map(|t| t as u64))
    }

    fn findings(&self, enterprise: &str) -> Result<Vec<TrackedFinding>> {
        let mut c = self.client_ref();
        c.query(
            "SELECT enterprise, id, status, severity, first_drill, last_drill, finding, history FROM findings
             WHERE enterprise = $1 ORDER BY id",
            &[&enterprise],
        )?
        .iter()
        .map(PgStore::finding)
        .collect()
    }

    fn track(&mut self, drill: &str, team: &str, findings: &[TrackedFinding]) -> Result<()> {
        let mut tx = self.writer()?.transaction()?;
        for f in findings {
            tx.execute(
                "INSERT INTO findings (enterprise, id, status, severity, first_drill, last_drill, finding, history)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (enterprise, id) DO UPDATE SET status = $3, severity = $4, first_drill = $5, last_drill = $6, finding = $7, history = $8",
                &[&f.enterprise, &f.id, &f.status.as_str(), &f.severity.as_str(), &f.first_drill, &f.last_drill, &f.finding, &f.history],
            )?;
        }
        tx.execute(
            "INSERT INTO tracked (drill_id, team) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&drill, &team],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn tracked(&self, drill: &str, team: &str) -> Result<bool> {
        let mut c = self.client_ref();
        Ok(c.query_opt("SELECT 1 FROM tracked WHERE drill_id = $1 AND team = $2", &[&drill, &team])?
            .is_some())
    }

    fn all_findings(&self) -> Result<Vec<TrackedFinding>> {
        let mut c = self.client_ref();
        c.query(
            "SELECT enterprise, id, status, severity, first_drill, last_drill, finding, history FROM findings
             ORDER BY enterprise, id",
            &[],
        )?
        .iter()
        .map(PgStore::finding)
        .collect()
    }

    fn registry(&self) -> Result<Registry> {
        let mut c = self.client_ref();
        let mut reg = Registry::default();
        for r in c.query("SELECT data FROM enterprises ORDER BY id", &[])? {
            reg.enterprises.push(
                serde_json::from_str(r.get::<_, &str>(0))
                    .map_err(|e| Error::unreadable(format!("a stored enterprise is unreadable: {e}")))?,
            );
        }
        reg.activities = c
            .query("SELECT enterprise, kind, date, reference FROM activities ORDER BY date, enterprise", &[])?
            .iter()
            .map(|r| Activity { enterprise: r.get(0), kind: r.get(1), date: r.get(2), reference: r.get(3) })
            .collect();
        reg.level_changes = c
            .query("SELECT enterprise, date, from_level, to_level, reason FROM level_changes ORDER BY date, enterprise", &[])?
            .iter()
            .map(|r| LevelChange {
                enterprise: r.get(0),
                date: r.get(1),
                from: r.get::<_, i64>(2) as u8,
                to: r.get::<_, i64>(3) as u8,
                reason: r.get(4),
            })
            .collect();
        reg.major_changes = c
            .query("SELECT enterprise, date, note FROM major_changes ORDER BY date, enterprise", &[])?
            .iter()
            .map(|r| MajorChange { enterprise: r.get(0), date: r.get(1), note: r.get(2) })
            .collect();
        Ok(reg)
    }

    fn import_enterprises(&mut self, list: &[Enterprise], date: Day) -> Result<usize> {
        let mut tx = self.writer()?.transaction()?;
        let new = super::import_into(&mut tx, list, date)?;
        tx.commit()?;
        Ok(new)
    }

    fn regrade(&mut self, e: &Enterprise, c: &LevelChange) -> Result<()> {
        let mut tx = self.writer()?.transaction()?;
        tx.execute("UPDATE enterprises SET data = $2 WHERE id = $1", &[&e.id, &serde_json::to_string(e)?])?;
        level_change(&mut tx, c)?;
        tx.commit()?;
        Ok(())
    }

    fn add_activity(&mut self, a: &Activity) -> Result<()> {
        self.writer()?.execute(
            "INSERT INTO activities (enterprise, kind, date, reference) VALUES ($1, $2, $3, $4)",
            &[&a.enterprise, &a.kind, &a.date, &a.reference],
        )?;
        Ok(())
    }

    fn add_major_change(&mut self, m: &MajorChange) -> Result<()> {
        self.writer()?.execute(
            "INSERT INTO major_changes (enterprise, date, note) VALUES ($1, $2, $3)",
            &[&m.enterprise, &m.date, &m.note],
        )?;
        Ok(())
    }

    fn add_user(&mut self, token: &str, role: &str, prefecture: Option<&str>) -> Result<()> {
        self.writer()?.execute(
            "INSERT INTO users (token, role, prefecture) VALUES ($1, $2, $3)",
            &[&token, &role, &prefecture],
        )?;
        Ok(())
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        let mut c = self.client_ref();
        Ok(c.query_opt("SELECT value FROM settings WHERE key = $1", &[&key])?.map(|r| r.get(0)))
    }

    fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.writer()?.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn user(&self, token: &str) -> Result<Option<(String, Option<String>)>> {
        let mut c = self.client_ref();
        Ok(c.query_opt("SELECT role, prefecture FROM users WHERE token = $1", &[&token])?
            .map(|r| (r.get(0), r.get(1))))
    }

    fn save_exam(&mut self, e: &ExamRecord) -> Result<()> {
        self.writer()?.execute(
            "INSERT INTO exams (drill_id, trainee, name, cohort, date, total, max, passed, certificate)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &e.drill,
                &e.trainee,
                &e.name,
                &e.cohort,
                &e.date,
                &e.total,
                &e.max,
                &(e.passed as i64),
                &e.certificate,
            ],
        )?;
        Ok(())
    }

    fn exams(&self, cohort: Option<&str>) -> Result<Vec<ExamRecord>> {
        let mut c = self.client_ref();
        let rows = c.query(
            // Sittings in the order they were sat (a retake the same day after the first).
            &format!(
                "SELECT {EXAM_COLUMNS} FROM exams e LEFT JOIN drills d ON d.id = e.drill_id
                 WHERE $1::TEXT IS NULL OR e.cohort = $1 ORDER BY e.date, e.trainee, d.created_ms, e.drill_id"
            ),
            &[&cohort],
        )?;
        Ok(rows.iter().map(exam_record).collect())
    }

    fn exam(&self, drill: &str) -> Result<Option<ExamRecord>> {
        let mut c = self.client_ref();
        let q = format!("SELECT {EXAM_COLUMNS} FROM exams e WHERE e.drill_id = $1");
        Ok(c.query_opt(&q, &[&drill])?.as_ref().map(exam_record))
    }

    fn save_foreign(&mut self, drill: &str, attempts: &[ForeignAttempt]) -> Result<()> {
        let mut tx = self.writer()?.transaction()?;
        for a in attempts {
            tx.execute(
                "INSERT INTO foreign_clients (drill_id, address, team, from_team, plc, count, first_ms, last_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (drill_id, address, team) DO UPDATE SET \
                 from_team = excluded.from_team, plc = excluded.plc, count = excluded.count, last_ms = excluded.last_ms",
                &[&drill, &a.address, &a.team, &a.from_team, &a.plc, &(a.count as i64), &a.first_ms, &a.last_ms],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn foreign(&self, drill: &str) -> Result<Vec<ForeignAttempt>> {
        let rows = self.client_ref().query(
            "SELECT address, from_team, team, plc, count, first_ms, last_ms FROM foreign_clients \
             WHERE drill_id = $1 ORDER BY team, address",
            &[&drill],
        )?;
        Ok(rows
            .iter()
            .map(|r| ForeignAttempt {
                address: r.get(0),
                from_team: r.get(1),
                team: r.get(2),
                plc: r.get(3),
                count: r.get::<_, i64>(4) as u64,
                first_ms: r.get(5),
                last_ms: r.get(6),
            })
            .collect())
    }
}

impl super::ImportTx for postgres::Transaction<'_> {
    fn stored(&mut self, id: &str) -> Result<Option<String>> {
        Ok(self.query_opt("SELECT data FROM enterprises WHERE id = $1", &[&id])?.map(|r| r.get(0)))
    }

    fn put(&mut self, e: &Enterprise) -> Result<()> {
        self.execute(
            "INSERT INTO enterprises (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = $2",
            &[&e.id, &serde_json::to_string(e)?],
        )?;
        Ok(())
    }

    fn level_change(&mut self, c: &LevelChange) -> Result<()> {
        level_change(self, c)
    }
}

/// Logs a change of an enterprise's level.
fn level_change(tx: &mut postgres::Transaction<'_>, c: &LevelChange) -> Result<()> {
    tx.execute(
        "INSERT INTO level_changes (enterprise, date, from_level, to_level, reason) VALUES ($1, $2, $3, $4, $5)",
        &[&c.enterprise, &c.date, &i64::from(c.from), &i64::from(c.to), &c.reason],
    )?;
    Ok(())
}

/// An exam result from a row of `EXAM_COLUMNS`.
fn exam_record(r: &postgres::Row) -> ExamRecord {
    ExamRecord {
        drill: r.get(0),
        trainee: r.get(1),
        name: r.get(2),
        cohort: r.get(3),
        date: r.get(4),
        total: r.get(5),
        max: r.get(6),
        passed: r.get::<_, i64>(7) != 0,
        certificate: r.get(8),
    }
}
