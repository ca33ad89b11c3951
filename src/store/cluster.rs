//! What the nodes of one drill share in PostgreSQL besides its records: the nodes (a heartbeat
//! each, in the database's clock), the team leases (each claimed by compare-and-set, so two
//! nodes never both win a team), and the channel phase changes are announced on
//! (`LISTEN`/`NOTIFY`), with the injects queued for teams another node runs. The rules for which node should claim what are the pure
//! `icsdrill_drill::leases`.
//!
//! The client blocks, like the store's: call it from plain threads or `spawn_blocking`.

use std::collections::BTreeMap;
use std::time::Duration;

use icsdrill_drill::Phase;
use icsdrill_drill::leases::{LEASE_MS, Lease};
use postgres::{Client, NoTls};

use super::Database;
use crate::{Error, Result};

/// The channel a phase change is announced on (its payload: the drill's id).
pub const CHANNEL: &str = "icsdrill_drill";

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cluster_nodes (
    drill_id TEXT NOT NULL, node TEXT NOT NULL, http TEXT NOT NULL, seen_ms BIGINT NOT NULL,
    PRIMARY KEY (drill_id, node));
ALTER TABLE cluster_nodes ADD COLUMN IF NOT EXISTS tick BIGINT NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS team_leases (
    drill_id TEXT NOT NULL, team TEXT NOT NULL, node TEXT NOT NULL, expires_ms BIGINT NOT NULL,
    endpoints TEXT NOT NULL, PRIMARY KEY (drill_id, team));
CREATE TABLE IF NOT EXISTS cluster_injects (
    id BIGSERIAL PRIMARY KEY, drill_id TEXT NOT NULL, team TEXT NOT NULL, input TEXT NOT NULL,
    done BOOLEAN NOT NULL DEFAULT FALSE);
";

/// Inputs one drill may have queued for other nodes and not yet applied: beyond, queuing is
/// refused (a node that never comes to apply them cannot make the table grow without end).
pub const MAX_QUEUED_INPUTS: i64 = 1_000;

/// A node not seen for this long that holds no lease is forgotten (its row deleted at the next
/// heartbeat of any node of the drill), so nodes that come and go leave no rows behind.
pub const FORGET_MS: i64 = 60_000;

/// Now in the database's clock, in milliseconds: every node's leases are timed by one clock.
const NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// Who holds a team: the lease, the holder's web view and the team's endpoints there (JSON,
/// empty until its range is up).
#[derive(Debug, Clone)]
pub struct Holder {
    /// The lease.
    pub lease: Lease,
    /// The node's web view.
    pub http: String,
    /// The team's endpoint table on it (JSON).
    pub endpoints: String,
}

/// One look at the shared tables.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Now, in the database's clock.
    pub now_ms: i64,
    /// The nodes seen within one lease period.
    pub nodes: Vec<String>,
    /// Every lease, live or not.
    pub holders: Vec<Holder>,
    /// The drill's recorded phase.
    pub phase: Phase,
    /// Each team's latest recorded score card (JSON).
    pub cards: BTreeMap<String, String>,
    /// The furthest tick the other nodes alive said their ranges had run (their heartbeats).
    pub tick: u64,
}

impl Seen {
    /// The lease rows, for the rules.
    pub fn leases(&self) -> Vec<Lease> {
        self.holders.iter().map(|h| h.lease.clone()).collect()
    }
}

/// A node's connection to the shared tables of one drill.
pub struct ClusterStore {
    client: Client,
    drill: String,
    node: String,
}

/// The connection string of a PostgreSQL database; a drill over several nodes needs one.
fn params(db: &Database) -> Result<&str> {
    match db {
        Database::Postgres(p) => Ok(p),
        Database::Sqlite(_) => Err(Error::invalid(
            "a drill over several nodes (--node) shares a PostgreSQL database: give --database postgres://…",
        )),
    }
}

impl ClusterStore {
    /// Connects as node `node` of drill `drill` (creating the tables).
    pub fn connect(db: &Database, drill: &str, node: &str) -> Result<ClusterStore> {
        let mut client = Client::connect(params(db)?, NoTls)?;
        client.batch_execute(SCHEMA)?;
        Ok(ClusterStore { client, drill: drill.to_string(), node: node.to_string() })
    }

    /// Says this node is alive, its web view at `http`, the furthest of its ranges at `tick`.
    pub fn heartbeat(&mut self, http: &str, tick: u64) -> Result<()> {
        let tick = i64::try_from(tick).unwrap_or(i64::MAX);
        self.client.execute(
            &format!(
                "INSERT INTO cluster_nodes (drill_id, node, http, seen_ms, tick) VALUES ($1, $2, $3, {NOW_MS}, $4)
                 ON CONFLICT (drill_id, node) DO UPDATE SET http = $3, seen_ms = {NOW_MS}, tick = $4"
            ),
            &[&self.drill, &self.node, &http, &tick],
        )?;
        self.client.execute(
            &format!(
                "DELETE FROM cluster_nodes n WHERE n.drill_id = $1 AND n.seen_ms < {NOW_MS} - $2
                 AND NOT EXISTS (SELECT 1 FROM team_leases l WHERE l.drill_id = n.drill_id AND l.node = n.node)"
            ),
            &[&self.drill, &FORGET_MS],
        )?;
        Ok(())
    }

    /// The nodes alive, the leases, the phase and the cards, as they stand now.
    pub fn look(&mut self) -> Result<Seen> {
        let now_ms: i64 = self.client.query_one(&format!("SELECT {NOW_MS}"), &[])?.get(0);
        let alive = self.client.query(
            "SELECT node, tick FROM cluster_nodes WHERE drill_id = $1 AND seen_ms > $2 ORDER BY node",
            &[&self.drill, &(now_ms - LEASE_MS)],
        )?;
        let nodes = alive.iter().map(|r| r.get(0)).collect();
        let others = alive.iter().filter(|r| r.get::<_, &str>(0) != self.node);
        let tick = others.map(|r| r.get::<_, i64>(1)).max().unwrap_or(0).max(0) as u64;
        let holders = self
            .client
            .query(
                "SELECT l.team, l.node, l.expires_ms, COALESCE(n.http, ''), l.endpoints FROM team_leases l
                 LEFT JOIN cluster_nodes n ON n.drill_id = l.drill_id AND n.node = l.node
                 WHERE l.drill_id = $1 ORDER BY l.team",
                &[&self.drill],
            )?
            .iter()
            .map(|r| Holder {
                lease: Lease { team: r.get(0), node: r.get(1), expires_ms: r.get(2) },
                http: r.get(3),
                endpoints: r.get(4),
            })
            .collect();
        let phase: String =
            self.client.query_one("SELECT phase FROM drills WHERE id = $1", &[&self.drill])?.get(0);
        let cards = self
            .client
            .query("SELECT team, card FROM scores WHERE drill_id = $1", &[&self.drill])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok(Seen { now_ms, nodes, holders, phase: super::parsed("phase", &phase)?, cards, tick })
    }

    /// Claims or renews team `team` for one lease period, with its endpoint table (JSON):
    /// whether this node holds it now. A live lease of another node is never taken.
    pub fn claim(&mut self, team: &str, endpoints: &str) -> Result<bool> {
        let won = self.client.query_opt(
            &format!(
                "INSERT INTO team_leases (drill_id, team, node, expires_ms, endpoints)
                 VALUES ($1, $2, $3, {NOW_MS} + $4, $5)
                 ON CONFLICT (drill_id, team) DO UPDATE
                 SET node = EXCLUDED.node, expires_ms = EXCLUDED.expires_ms, endpoints = EXCLUDED.endpoints
                 WHERE team_leases.node = EXCLUDED.node OR team_leases.expires_ms <= {NOW_MS}
                 RETURNING team"
            ),
            &[&self.drill, &team, &self.node, &LEASE_MS, &endpoints],
        )?;
        Ok(won.is_some())
    }

    /// Hands team `team` back (its range here has stopped), if this node holds it.
    pub fn release(&mut self, team: &str) -> Result<()> {
        self.client.execute(
            "DELETE FROM team_leases WHERE drill_id = $1 AND team = $2 AND node = $3",
            &[&self.drill, &team, &self.node],
        )?;
        Ok(())
    }
}

impl ClusterStore {
    /// Queues an input (an inject, JSON) for team `team`, which another node runs, and wakes
    /// the nodes: whichever runs the team applies it.
    pub fn post_input(&mut self, team: &str, input: &str) -> Result<()> {
        let mut tx = self.client.transaction()?;
        let waiting: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM cluster_injects WHERE drill_id = $1 AND NOT done",
                &[&self.drill],
            )?
            .get(0);
        if waiting >= MAX_QUEUED_INPUTS {
            return Err(Error::Failed(format!(
                "{waiting} inputs already wait for other nodes to apply them (at most {MAX_QUEUED_INPUTS}): try again once they have"
            )));
        }
        tx.execute(
            "INSERT INTO cluster_injects (drill_id, team, input) VALUES ($1, $2, $3)",
            &[&self.drill, &team, &input],
        )?;
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &self.drill])?;
        tx.commit()?;
        Ok(())
    }

    /// The queued inputs not applied yet for these teams: (row id, team, input JSON), oldest
    /// first.
    pub fn queued_inputs(&mut self, teams: &[String]) -> Result<Vec<(i64, String, String)>> {
        let rows = self.client.query(
            "SELECT id, team, input FROM cluster_injects WHERE drill_id = $1 AND NOT done AND team = ANY($2)
             ORDER BY id",
            &[&self.drill, &teams],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    /// Takes an applied input off the queue (it is in the team's recorded inputs now).
    pub fn applied(&mut self, id: i64) -> Result<()> {
        self.client.execute("DELETE FROM cluster_injects WHERE id = $1", &[&id])?;
        Ok(())
    }
}

/// Listens for phase changes and queued inputs of drill `drill` on a connection of its own and
/// calls `wake` on each; checks `stop` at least every `poll` and returns once it says so (or the connection
/// fails: the caller's periodic look still catches every change, later).
pub fn listen(
    db: &Database,
    drill: &str,
    poll: Duration,
    stop: &dyn Fn() -> bool,
    wake: &dyn Fn(),
) -> Result<()> {
    let mut client = Client::connect(params(db)?, NoTls)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    while !stop() {
        let mut notes = client.notifications();
        let mut it = notes.timeout_iter(poll);
        while let Some(n) = postgres::fallible_iterator::FallibleIterator::next(&mut it)? {
            if n.payload() == drill {
                wake();
            }
        }
    }
    Ok(())
}
