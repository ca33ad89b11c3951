//! One drill over several nodes sharing a PostgreSQL database (`serve --node NAME`).
//!
//! Every node serves the whole drill's web view from the shared records and runs the teams it
//! holds a lease on (`store::cluster`, rules in `icsdrill_drill::leases`). Each node's lease
//! task, once a renewal period or when a phase change is announced:
//! - says the node is alive and renews its leases, claiming free teams up to its fair share;
//! - starts the teams it won from their recorded inputs (the resume path: a team whose node
//!   died comes back where its records end, with the same tokens and endpoints);
//! - stops a team whose lease it lost, and in the briefing hands back teams over its share;
//! - takes on the phase another node set, and the other nodes' teams' cards for the board.
//!
//! A node's own requests for a team it does not run are redirected to the node that does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use icsdrill_drill::leases::{self, RENEW_MS};
use icsdrill_drill::trends::MAX_SAMPLES;
use icsdrill_drill::{ActError, BoardRow, EndpointInfo, Phase};
use icsdrill_engine::SimInput;
use icsdrill_web::drill::DrillApi;
use tokio::sync::{Notify, watch};

use super::identity::Identity;
use super::launch::Resumed;
use super::{Away, Drill, DrillServer, DrillSpec};
use crate::store::cluster::{ClusterStore, Seen};
use crate::store::{Database, DrillRecord};
use crate::{Error, Result};

/// How often a node renews its leases and looks at the others'.
const RENEW: Duration = Duration::from_millis(RENEW_MS as u64);

impl DrillServer {
    /// Joins drill `spec.id` in `spec.database` (PostgreSQL) as node `node`: records the drill
    /// when no node has yet (else takes the record's tokens, seed and options), serves its web
    /// view, and runs the lease task that shares the teams among the nodes alive.
    /// `url` is where the other nodes and the teams reach this node's web view (default: the
    /// address it listens on); its host also stands for an endpoint bound to every address.
    pub async fn join(spec: DrillSpec, node: String, url: Option<String>) -> Result<DrillServer> {
        let db = spec
            .database
            .clone()
            .ok_or_else(|| Error::invalid("a drill over several nodes needs --database"))?;
        if spec.id.is_none() {
            return Err(Error::invalid("every node of a drill over several nodes needs the same --drill-id"));
        }
        let (record, identity, spec) = join_record(spec).await?;
        let (drill, _, shutdown) = Drill::build(spec, identity, false, Some(node.clone())).await?;
        let mut server = DrillServer::serve(drill.clone(), shutdown).await?;
        let http = url.unwrap_or_else(|| format!("http://{}", server.http));
        let host = http.split("://").nth(1).and_then(|r| r.split(['/', ':']).next()).unwrap_or_default();
        let _ = drill.advertised.set(host.to_string());
        let stop = server.shutdown.subscribe();
        server.tasks.spawn(run(drill, db, record, node, http, stop));
        Ok(server)
    }
}

/// The lease task of node `node`, until `stop`.
async fn run(
    drill: Arc<Drill>,
    db: Database,
    record: DrillRecord,
    node: String,
    http: String,
    mut stop: watch::Receiver<bool>,
) {
    let wake = Arc::new(Notify::new());
    let stopping = Arc::new(AtomicBool::new(false));
    let listener = {
        let (db, id, wake, stopping) = (db.clone(), drill.id.clone(), wake.clone(), stopping.clone());
        std::thread::spawn(move || {
            let done = || stopping.load(Ordering::Relaxed);
            if let Err(e) = crate::store::cluster::listen(&db, &id, RENEW, &done, &|| wake.notify_one()) {
                tracing::warn!(error = %e, "not listening for phase changes; they arrive with each lease renewal");
            }
        })
    };
    let mut node_state = NodeState { store: None, phase_seen: None, applying: Arc::default() };
    loop {
        if let Err(e) = node_state.round(&drill, &db, &record, &node, &http).await {
            tracing::warn!(error = %e, "lease renewal failed; retrying");
            close(node_state.store.take());
        }
        tokio::select! {
            () = tokio::time::sleep(RENEW) => {}
            () = wake.notified() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    stopping.store(true, Ordering::Relaxed);
    close(node_state.store.take());
    let _ = tokio::task::spawn_blocking(move || listener.join()).await;
}

/// Closes a connection off the async runtime (the blocking client's drop runs a runtime of
/// its own, which must not start inside this one).
fn close(store: Option<ClusterStore>) {
    if let Some(s) = store {
        drop(tokio::task::spawn_blocking(move || drop(s)));
    }
}

/// What a node's lease task keeps between rounds.
struct NodeState {
    store: Option<ClusterStore>,
    /// The recorded phase at the last look: a change there is another node's (or this one's)
    /// control, taken on once.
    phase_seen: Option<Phase>,
    /// The queued inputs are being applied (by a task of their own).
    applying: Arc<AtomicBool>,
}

/// What one round decided, in the database.
struct Decided {
    seen: Seen,
    held: Vec<String>,
    released: Vec<String>,
}

impl NodeState {
    async fn round(
        &mut self,
        drill: &Arc<Drill>,
        db: &Database,
        record: &DrillRecord,
        node: &str,
        http: &str,
    ) -> Result<()> {
        let teams: Vec<String> = drill.teams.iter().map(|t| t.info.id.clone()).collect();
        let endpoints: Vec<String> = drill
            .teams
            .iter()
            .map(|t| {
                t.here().map(|h| serde_json::to_string(&h.endpoints).unwrap_or_default()).unwrap_or_default()
            })
            .collect();
        let (db2, id, me, http2) = (db.clone(), drill.id.clone(), node.to_string(), http.to_string());
        let tick = drill.tick_here();
        let store = self.store.take();
        let (store, decided) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut store = match store {
                Some(s) => s,
                None => ClusterStore::connect(&db2, &id, &me)?,
            };
            let decided = decide(&mut store, &teams, &endpoints, &me, &http2, tick)?;
            Ok((store, decided))
        })
        .await??;
        self.store = Some(store);
        let Decided { seen, held, released } = decided;
        if self.phase_seen != Some(seen.phase) {
            self.phase_seen = Some(seen.phase);
            drill.adopt_phase(seen.phase);
        }
        for team in &released {
            drill.stop_here(drill.index(team)).await?;
            let t = team.clone();
            self.with_store(move |s| s.release(&t)).await?;
            tracing::info!(team, "handed back to share the teams among the nodes");
        }
        self.take_over(drill, db, record, &held).await;
        self.apply_queued(drill, db, &held);
        for (k, t) in drill.teams.iter().enumerate() {
            if t.here().is_some() && !held.contains(&t.info.id) && !released.contains(&t.info.id) {
                tracing::warn!(team = %t.info.id, "lost its lease to another node: stopping it here");
                drill.stop_here(k).await?;
            }
        }
        // Before the rows of the other nodes' teams change: a card past the freeze is never
        // shown without the one at the freeze to stand in for it.
        score_away_at_freeze(drill, db, &seen).await;
        note_away(drill, node, &seen);
        Ok(())
    }

    /// Runs `f` on the store off the async runtime (the client blocks).
    async fn with_store<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut ClusterStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let mut store =
            self.store.take().ok_or_else(|| Error::Failed("no connection to the database".into()))?;
        let (store, out) = tokio::task::spawn_blocking(move || {
            let out = f(&mut store);
            (store, out)
        })
        .await?;
        self.store = Some(store);
        out
    }

    /// Applies, in a task of its own, the inputs other nodes queued for the teams this node
    /// runs (each waits for its tick: the lease task must not). One that cannot be applied
    /// yet (the drill is not live, the team's records fail) waits for a later round.
    fn apply_queued(&self, drill: &Arc<Drill>, db: &Database, held: &[String]) {
        if held.is_empty() || self.applying.swap(true, Ordering::AcqRel) {
            return;
        }
        let (drill, db, teams, applying) = (drill.clone(), db.clone(), held.to_vec(), self.applying.clone());
        let node = drill.node().unwrap_or_default().to_string();
        let rt = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = apply(&drill, &db, &node, &teams, &rt) {
                tracing::warn!(error = %e, "queued inputs not applied this round");
            }
            applying.store(false, Ordering::Release);
        });
    }

    /// Starts the teams this node now holds and does not run yet, for one renewal period at
    /// most (the rest next round: its leases must be renewed meanwhile).
    async fn take_over(&mut self, drill: &Arc<Drill>, db: &Database, record: &DrillRecord, held: &[String]) {
        // A team this node holds is no longer elsewhere, even before it runs here: until now
        // this node sent its requests to the team's old node, which, seeing the new lease,
        // sends them here (the two would send a browser back and forth while the team starts).
        for team in held {
            let t = &drill.teams[drill.index(team)];
            if t.here().is_none() {
                t.away.store(None);
            }
        }
        let until = tokio::time::Instant::now() + RENEW;
        for team in held {
            if tokio::time::Instant::now() >= until {
                break;
            }
            let k = drill.index(team);
            if drill.teams[k].here().is_some() {
                continue;
            }
            let started = async {
                let sim = resumed(db, record, drill, team).await?;
                drill.start_here(k, sim).await
            };
            match started.await {
                Ok(()) => {
                    let endpoints = drill.teams[k].here().map(|h| h.endpoints.clone()).unwrap_or_default();
                    let shown: Vec<String> =
                        endpoints.iter().map(|e| format!("{} {}:{}", e.plc, e.address, e.port)).collect();
                    // Like the banner, on stdout; a closed stdout is no reason to stop.
                    let node = drill.node().unwrap_or_default();
                    let line = format!("icsdrill: node {node} now runs team {team}: {}\n", shown.join(", "));
                    let _ = std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes());
                    tracing::info!(team, "took the team");
                }
                Err(e) => {
                    tracing::error!(team, error = %e, "could not start the team here; handing it back");
                    let t = team.clone();
                    let _ = self.with_store(move |s| s.release(&t)).await;
                }
            }
        }
    }
}

/// Applies the inputs queued for `teams` (which node `node` runs), oldest first, and marks each
/// applied. Runs on a blocking thread (the client blocks), each input applied through the
/// runtime.
fn apply(
    drill: &Drill,
    db: &Database,
    node: &str,
    teams: &[String],
    rt: &tokio::runtime::Handle,
) -> Result<()> {
    let mut store = ClusterStore::connect(db, &drill.id, node)?;
    for (row, team, input) in store.queued_inputs(teams)? {
        let input: SimInput = serde_json::from_str(&input)
            .map_err(|e| Error::unreadable(format!("a queued input for team {team} is unreadable: {e}")))?;
        match rt.block_on(DrillApi::act(drill, &team, input)) {
            Err(
                ActError::NotLive(_)
                | ActError::Unavailable
                | ActError::NotRecorded
                | ActError::RecordsFailing,
            ) => {
                continue;
            }
            Err(e) => tracing::warn!(team, error = ?e, "a queued input was refused"),
            Ok(()) => {}
        }
        store.applied(row)?;
    }
    Ok(())
}

/// Renews and claims this node's leases (`endpoints` by team, empty for a team not running
/// here) and decides what to hand back.
fn decide(
    store: &mut ClusterStore,
    teams: &[String],
    endpoints: &[String],
    me: &str,
    http: &str,
    tick: u64,
) -> Result<Decided> {
    store.heartbeat(http, tick)?;
    let seen = store.look()?;
    let rows = seen.leases();
    let briefing = seen.phase == Phase::Briefing;
    let released: Vec<String> = leases::to_release(teams, &rows, &seen.nodes, me, seen.now_ms, briefing)
        .into_iter()
        .map(String::from)
        .collect();
    let mut held = Vec::new();
    for team in leases::to_claim(teams, &rows, &seen.nodes, me, seen.now_ms) {
        if released.iter().any(|r| r == team) {
            continue;
        }
        let k = teams.iter().position(|t| t == team).expect("one of the teams");
        if store.claim(team, &endpoints[k])? {
            held.push(team.to_string());
        }
    }
    let seen = if held.is_empty() { seen } else { store.look()? };
    Ok(Decided { seen, held, released })
}

/// Team `team`'s simulation rebuilt from its records (none when it has none yet: a new one).
async fn resumed(db: &Database, record: &DrillRecord, drill: &Drill, team: &str) -> Result<Option<Resumed>> {
    let (db, record, team, scenario) = (db.clone(), record.clone(), team.to_string(), drill.scenario.clone());
    tokio::task::spawn_blocking(move || -> Result<Option<Resumed>> {
        let store = db.open()?;
        // A range that started has its start on record (`sim_started`), ticks run or not.
        let recorded = store.event_count(&record.id, &team)?;
        if recorded == 0 {
            return Ok(None);
        }
        let last = store.last_tick(&record.id, &team)?;
        let inputs = store.inputs(&record.id, &team)?;
        let (sim, shown) =
            crate::store::replay::rerun_showing(&scenario, &record, &inputs, last, MAX_SAMPLES);
        let reached = crate::store::replay::reached(&*store, &record.id, &team, &sim)?;
        Ok(Some(Resumed { sim, recorded, shown, reached }))
    })
    .await?
}

/// Queues `input` for team `team`, which node `away.node` runs: that node applies it at its
/// next round (woken at once by the notification). Answers once the input is in the database.
pub(super) async fn queue(drill: &Drill, team: &str, input: &SimInput) -> Result<()> {
    let (Some(db), Some(node)) = (drill.database.clone(), drill.node.clone()) else {
        return Err(Error::Failed("this drill runs on one node".into()));
    };
    let (id, team, input) = (drill.id.clone(), team.to_string(), serde_json::to_string(input)?);
    tokio::task::spawn_blocking(move || ClusterStore::connect(&db, &id, &node)?.post_input(&team, &input))
        .await?
}

/// Scores, from the shared records, the card at the contest's freeze of each team another
/// node runs whose recorded card has passed it: what this node's public board shows of it
/// while frozen. (Its events before the freeze are on record: a node commits a tick's
/// events before its card.)
async fn score_away_at_freeze(drill: &Arc<Drill>, db: &Database, seen: &Seen) {
    let Some(freeze) = drill.freeze.tick else { return };
    for t in &drill.teams {
        let card = seen.cards.get(&t.info.id).and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
        let passed = card.is_some_and(|c| c["tick"].as_u64().is_some_and(|tick| tick >= freeze));
        if !passed || t.here().is_some() || t.away_at_freeze.get().is_some() {
            continue;
        }
        let (db, id, team) = (db.clone(), drill.id.clone(), t.info.id.clone());
        let events = tokio::task::spawn_blocking(move || db.open()?.judged_events(&id, &team)).await;
        let events = match events {
            Ok(Ok(events)) => events,
            Ok(Err(e)) => return tracing::warn!(team = %t.info.id, "its card at the freeze: {e}"),
            Err(e) => return tracing::warn!(team = %t.info.id, "its card at the freeze: {e}"),
        };
        let before = &events[..events.partition_point(|e| e.tick < freeze)];
        let plan = (drill.mode.scores_plan(), drill.challenges.len(), drill.freeze.blind);
        let card = super::hook::card_at_freeze(&drill.scenario, plan, before, freeze);
        let _ = t.away_at_freeze.set(Arc::new(card));
        drill.changed.notify_one();
    }
}

/// Notes where the teams other nodes run are, and their cards, for the board and redirects.
fn note_away(drill: &Drill, me: &str, seen: &Seen) {
    let others: std::collections::BTreeSet<&String> = seen
        .holders
        .iter()
        .filter(|h| h.lease.node != me && h.lease.live(seen.now_ms) && !h.http.is_empty())
        .map(|h| &h.http)
        .collect();
    *drill.others.lock().unwrap_or_else(|e| e.into_inner()) = others.into_iter().cloned().collect();
    drill.remote_tick.fetch_max(seen.tick, std::sync::atomic::Ordering::AcqRel);
    let mut moved = false;
    for t in &drill.teams {
        let holder = seen.holders.iter().find(|h| h.lease.team == t.info.id && h.lease.live(seen.now_ms));
        let away = match holder {
            Some(h) if h.lease.node != me && t.here().is_none() => {
                let endpoints: Vec<EndpointInfo> = serde_json::from_str(&h.endpoints).unwrap_or_default();
                let card: serde_json::Value =
                    seen.cards.get(&t.info.id).and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
                let row = if card.is_object() {
                    row_of_card(&t.info, &card)
                } else {
                    super::boards::row_of(&t.info, &drill.blank_card)
                };
                let hints = card["hints"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                Some(Away { node: h.lease.node.clone(), http: h.http.clone(), endpoints, row, hints })
            }
            _ => None,
        };
        let old = t.away.load_full();
        let same = match (&old, &away) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.node == b.node && a.row == b.row && a.endpoints == b.endpoints && a.hints == b.hints
            }
            _ => false,
        };
        if !same {
            t.away.store(away.map(Arc::new));
            moved = true;
        }
    }
    if moved {
        drill.changed.notify_one();
    }
}

/// A board row from a card as recorded (JSON).
fn row_of_card(info: &icsdrill_drill::TeamInfo, v: &serde_json::Value) -> BoardRow {
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    let row = BoardRow {
        rank: 0,
        team: info.id.clone(),
        name: info.name.clone(),
        total: v["total"].as_f64().unwrap_or(0.0),
        detected: n("steps_detected") as usize,
        fired: n("steps_fired") as usize,
        settled_tick: n("settled_tick"),
        flag_tick: None,
        parts: v["components"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            c["key"].as_str().unwrap_or_default().to_string().into(),
                            c["points"].as_f64().unwrap_or(0.0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        bracket: info.bracket.clone(),
        bracket_rank: None,
        solved: serde_json::from_value(v["solved"].clone()).unwrap_or_default(),
        first_bloods: Vec::new(),
    };
    BoardRow { flag_tick: icsdrill_drill::board::last_solved(&row.solved), ..row }
}

/// The record of the drill a node of a drill over several nodes joins: recorded now when no
/// node has yet, else the one on record (which must be the same scenario and teams). Returns
/// it with the identity and spec every node then shares.
async fn join_record(given: DrillSpec) -> Result<(DrillRecord, Identity, DrillSpec)> {
    let fresh = Identity::fresh(&given);
    let (mine, my_teams) = super::launch::new_record(&given, &fresh)?;
    let db = given
        .database
        .clone()
        .ok_or_else(|| Error::invalid("a drill over several nodes needs --database"))?;
    let (record, teams) = tokio::task::spawn_blocking(move || -> Result<_> {
        let mut store = db.open()?;
        if store.drill(&mine.id)?.is_none()
            && let Err(e) = store.create_drill(&mine, &my_teams)
            // Another node recorded it at the same moment.
            && store.drill(&mine.id)?.is_none()
        {
            return Err(e);
        }
        let (record, teams) =
            store.drill(&mine.id)?.ok_or_else(|| Error::Failed(format!("drill {} vanished", mine.id)))?;
        if record.scenario_hash != mine.scenario_hash
            || teams.iter().map(|t| &t.id).ne(given.teams.iter().map(|t| &t.id))
        {
            return Err(Error::invalid(format!(
                "drill {} on record runs scenario {} with teams {}: every node must be given the same",
                record.id,
                record.scenario_id,
                teams.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(",")
            )));
        }
        Ok((record, teams))
    })
    .await??;
    crate::store::replay::playable_here(&record)?;
    let scenario = crate::store::replay::stored_scenario(&record)?;
    let mut spec = super::launch::stored_spec(&record, &teams, scenario, given.range.clone());
    spec.database = given.database.clone();
    let identity = Identity::recorded(&record, &teams);
    Ok((record, identity, spec))
}
