//! Starting a drill server (new, or resumed from its records) and stopping it.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::{Error, Result};
use icsdrill_drill::flags::{self, Challenge, RateLimit};
use icsdrill_drill::history::ScoreHistory;
use icsdrill_drill::track::Track;
use icsdrill_drill::trends::MAX_SAMPLES;
use icsdrill_drill::{Phase, Scoreboard, TeamInfo};
use icsdrill_engine::{Scenario, Sim};
use icsdrill_judge::score::Scorer;
use icsdrill_web::drill::DrillApi;

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use super::boards::{board_clock, freeze_of};
use super::clients::{self, ForeignLog};
use super::hook::{HookTarget, Published, Recording, score_hook};
use super::identity::Identity;
use super::stored::{StoredOptions, StoredWire};
use super::{Drill, DrillServer, DrillSpec, Here, Team};
use crate::runtime::live::Extras;
use crate::runtime::modbus::server::{Clients, ForeignHook};
use crate::runtime::range::{self, Range};
use crate::store::replay::Shown;
use crate::store::{Batch, Database, DrillRecord, RecordSender, Recorder, Store, TeamRecord};

/// The spec of a recorded drill, served with `range` (its seed, attacker mode and duration
/// are the record's).
pub(super) fn stored_spec(
    record: &DrillRecord,
    teams: &[TeamRecord],
    scenario: Arc<Scenario>,
    range: range::Options,
) -> DrillSpec {
    let options: StoredOptions = serde_json::from_str(&record.options).unwrap_or_default();
    let mut range = range;
    range.seed = record.seed;
    range.live_attacker = record.live_attacker;
    range.duration_s = options.duration_s;
    DrillSpec {
        name: record.name.clone(),
        mode: record.mode,
        scenario,
        teams: teams
            .iter()
            .map(|t| TeamInfo {
                id: t.id.clone(),
                name: t.name.clone(),
                bracket: options.brackets.get(&t.id).cloned(),
            })
            .collect(),
        range,
        freeze_s: options.freeze_s,
        blind: options.blind,
        ties: options.ties,
        manual_clock: false,
        database: None,
        scenario_source: Some(record.scenario_source.clone()),
        no_attack: options.no_attack,
        variant_seed: options.variant_seed,
        clients: options.clients,
        cover: options.cover,
        cohort: options.cohort,
        id: Some(record.id.clone()),
        judged_in_memory: super::MAX_JUDGED_IN_MEMORY,
    }
}

/// What every team's range is started with: kept by the drill, so a node of a drill over
/// several nodes can start a team it takes over.
pub(super) struct Starter {
    spec: DrillSpec,
    nets: Vec<Vec<ipnet::IpNet>>,
    /// The recorder's handle and every team's durable tick.
    recording: Option<(RecordSender, Vec<watch::Receiver<u64>>)>,
    foreign: Arc<ForeignLog>,
    challenges: Vec<Challenge>,
    flag_secret: Option<String>,
    changed: Arc<Notify>,
    epoch: Instant,
    /// Told when the drill stops.
    stop: watch::Receiver<bool>,
    /// The contest's freeze tick: each team's hook keeps its card there.
    freeze: Option<u64>,
}

impl Starter {
    /// Where team `k`'s endpoints are as this server runs them: what its live captures draw
    /// (a drill resumed on other ports has its first ports on record, and its console named
    /// the new ones to decode by).
    pub(super) fn placement(&self, k: usize) -> crate::runtime::placement::Placement {
        crate::runtime::placement::Placement::of(
            &self.spec.scenario,
            &team_range(&self.spec, &self.nets[k], k),
        )
    }

    /// The drill's seed.
    pub(super) fn seed(&self) -> u64 {
        self.spec.range.seed
    }

    /// Team `k`'s durable mark: the first tick not yet known to be on disk (none: the drill
    /// is not recorded).
    pub(super) fn durable(&self, k: usize) -> Option<u64> {
        self.recording.as_ref().map(|(_, d)| *d[k].borrow())
    }
}

impl DrillServer {
    /// Starts every team's range (clock held: the drill starts in briefing), the board task
    /// and the web server on `spec.range.bind:spec.range.http_port`. With `spec.database`,
    /// everything is recorded there.
    pub async fn start(spec: DrillSpec) -> Result<DrillServer> {
        let identity = Identity::fresh(&spec);
        DrillServer::launch(spec, identity, true).await
    }

    /// Resumes drill `id` from `database` after a crash or a stop: every team's range is
    /// rebuilt by replaying its recorded inputs, the tokens stay valid, and a drill that was
    /// live comes back paused. `range` gives the addresses and clock to serve with.
    pub async fn resume(database: &Database, id: &str, range: range::Options) -> Result<DrillServer> {
        let db = database.clone();
        let wanted = id.to_string();
        let (record, team_records, loaded) = tokio::task::spawn_blocking(move || -> Result<_> {
            let store = db.open()?;
            let Some((record, team_records)) = store.drill(&wanted)? else {
                return Err(Error::not_found(format!("no drill `{wanted}` in {}", db.describe())));
            };
            crate::store::replay::playable_here(&record)?;
            let loaded = crate::store::replay::load(&*store, &record, &team_records, MAX_SAMPLES)?;
            let started = crate::store::started_ms(&*store, &wanted)?;
            Ok((record, team_records, (loaded, started)))
        })
        .await??;
        let (loaded, started_ms) = loaded;
        let mut spec = stored_spec(&record, &team_records, loaded.scenario.clone(), range);
        spec.database = Some(database.clone());
        let mut identity = Identity { started_ms, ..Identity::recorded(&record, &team_records) };
        if identity.phase == Phase::Live {
            identity.phase = Phase::Paused;
        }
        identity.sims = loaded
            .teams
            .into_iter()
            .map(|t| {
                Some(Resumed { recorded: t.stored_events.len(), sim: t.sim, shown: t.shown, reached: t.end })
            })
            .collect();
        DrillServer::launch(spec, identity, false).await
    }

    async fn launch(spec: DrillSpec, identity: Identity, new: bool) -> Result<DrillServer> {
        let (drill, sims, shutdown) = Drill::build(spec, identity, new, None).await?;
        let started = async {
            for (k, sim) in sims.into_iter().enumerate() {
                drill.start_here(k, sim).await?;
            }
            // Resumed, each range stands after its own last recorded tick: held, the quiet
            // ones catch up with the furthest, so all come back at one tick.
            drill.run_clocks(drill.phase());
            // A held clock's catch-up runs before the drill is served (its pages show that).
            if !drill.phase().clock_runs() {
                for h in drill.teams.iter().filter_map(Team::here) {
                    h.live.settled().await;
                }
            }
            drill.seed_history();
            Ok(())
        };
        let served = match started.await {
            Ok(()) => DrillServer::serve(drill.clone(), shutdown).await,
            Err(e) => {
                let _ = shutdown.send(true);
                Err(e)
            }
        };
        if served.is_err() && new {
            discard(&drill).await;
        }
        served
    }

    /// Serves `drill`: its board task and its web view.
    pub(super) async fn serve(drill: Arc<Drill>, shutdown: watch::Sender<bool>) -> Result<DrillServer> {
        let _ = drill.publish_board(1);
        let spec = &drill.starter.spec;
        let http = SocketAddr::new(spec.range.bind, spec.range.http_port);
        let http = TcpListener::bind(http).await.map_err(|cause| Error::Bind {
            what: "the web view".into(),
            addr: http,
            cause,
            hint: " (pick another with --http-port)",
        })?;
        let http_local =
            http.local_addr().map_err(|e| Error::Failed(format!("the web view has no address: {e}")))?;
        let _ = drill.web.set(http_local);
        let stop = drill.starter.stop.clone();
        let mut tasks = tokio::task::JoinSet::new();
        spawn_board(&mut tasks, &drill, stop.clone());
        let api: Arc<dyn DrillApi> = drill.clone();
        let limits = spec.range.http;
        let mut stop_http = stop;
        tasks.spawn(async move {
            let graceful = async move {
                let _ = stop_http.wait_for(|s| *s).await;
            };
            if let Err(e) = icsdrill_web::drill::serve(http, api, limits, graceful).await {
                tracing::error!(error = %e, "web server failed");
            }
        });
        Ok(DrillServer { drill, http: http_local, shutdown, tasks })
    }

    /// Stops the web view and every range, then writes what is queued to the store; returns
    /// each team's simulation (with the recent tail of its log).
    pub async fn shutdown(mut self) -> Result<Vec<(String, Sim)>> {
        if let Some(r) = &*self.drill.recorder.lock().unwrap_or_else(|e| e.into_inner()) {
            // The ranges' last ticks must not wait for room in a full queue.
            r.closing();
        }
        let _ = self.shutdown.send(true);
        let drained = tokio::time::timeout(range::SHUTDOWN_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.tasks.abort_all();
        }
        let ranges: Vec<Option<Range>> =
            std::mem::take(&mut *self.drill.ranges.lock().unwrap_or_else(|e| e.into_inner()));
        let (mut out, mut failed) = (Vec::new(), None);
        for (team, range) in self.drill.teams.iter().zip(ranges) {
            // Every range stops, whichever failed. `here` stays: what the team published (its
            // judged log, its hash) is read after the drill stops (an exam's certificate).
            if let Some(range) = range {
                match range.shutdown().await {
                    Ok(sim) => out.push((team.info.id.clone(), sim)),
                    Err(e) => failed = failed.or(Some(e)),
                }
            }
        }
        self.drill.foreign.flush();
        let recorder = self.drill.recorder.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(r) = recorder {
            // Each team's card where its range stopped goes on record last, whatever the board
            // recorded before (a range that caught up after the white cell's end, a stop before
            // it): the stored score is the one the stop summary prints. A blind drill's before its
            // hot wash keeps carrying the provisional card its team was last shown.
            let provisional = self.drill.freeze.provisional(self.drill.phase());
            for (k, t) in self.drill.teams.iter().enumerate() {
                let Some(h) = t.here() else { continue };
                if let Some((end, mut card)) = self.drill.card_reached(&h) {
                    if provisional {
                        card.provisional = h.published.card.load().provisional.clone();
                    }
                    r.score(k, end, card.total, serde_json::to_string(&card).unwrap_or_default());
                }
            }
            tokio::task::spawn_blocking(move || r.finish()).await?;
        }
        failed.map_or(Ok(out), Err)
    }
}

impl Drill {
    /// The drill of `spec` as `identity`, with no team's range started yet (its board empty
    /// until one starts): returns it with the teams' resumed simulations, when resumed, and
    /// the sender that stops it.
    pub(super) async fn build(
        mut spec: DrillSpec,
        identity: Identity,
        new: bool,
        node: Option<String>,
    ) -> Result<(Arc<Drill>, Vec<Option<Resumed>>, watch::Sender<bool>)> {
        super::roster::check_teams(&spec.teams, new)?;
        let freeze = freeze_of(&spec)?;
        let nets = clients::team_clients(&spec)?;
        share_descriptors(&mut spec)?;
        let epoch = Instant::now();
        let changed = Arc::new(Notify::new());
        let scenario = spec.scenario.clone();
        let recorder = open_recorder(&spec, &identity, new, node.as_deref()).await?;
        let foreign = Arc::new(ForeignLog::new(
            spec.teams.iter().map(|t| t.id.clone()).zip(nets.iter().cloned()).collect(),
            recorder.as_ref().map(Recorder::sender),
        ));
        let challenges =
            if identity.flag_secret.is_some() { flags::challenges(&scenario) } else { Vec::new() };
        let challenge_views = challenges.iter().map(|c| c.view(&scenario)).collect();
        let (shutdown, stop) = watch::channel(false);
        let n = spec.teams.len();
        let teams = teams_of(&spec, &identity, &nets);
        let starter = Starter {
            recording: recorder.as_ref().map(|r| (r.sender(), (0..n).map(|k| r.durable(k)).collect())),
            nets,
            foreign: foreign.clone(),
            challenges: challenges.clone(),
            flag_secret: identity.flag_secret.clone(),
            changed: changed.clone(),
            epoch,
            stop,
            freeze: freeze.tick,
            spec: spec.clone(),
        };
        let plan = spec.mode.scores_plan();
        let empty = Arc::new(Scoreboard::empty().sealed());
        let history = ScoreHistory::new(spec.teams.iter().map(|t| t.id.clone()).collect());
        let drill = Arc::new(Drill {
            id: identity.id,
            name: spec.name.clone(),
            mode: spec.mode,
            blank_card: Arc::new(super::hook::blank_card(&scenario, (plan, challenges.len(), spec.blind))),
            attack_steps: scenario.attack.as_ref().map_or(0, |a| a.most_that_can_fire()),
            ties: spec.ties,
            scenario,
            epoch,
            teams,
            ranges: Mutex::new((0..n).map(|_| None).collect()),
            starter,
            node,
            advertised: std::sync::OnceLock::new(),
            web: std::sync::OnceLock::new(),
            phase: Mutex::new(identity.phase),
            phase_watch: watch::Sender::new(identity.phase),
            phase_changes: AtomicU64::new(0),
            instructor_token: identity.instructor_token,
            observer_token: identity.observer_token,
            recorder: Mutex::new(recorder),
            database: spec.database.clone(),
            pcaps: super::gate::Gate::new(super::MAX_PCAP_BUILDS),
            reports: super::gate::Gate::new(super::MAX_REPORT_BUILDS),
            syslog: Mutex::new(Vec::new()),
            foreign,
            others: Mutex::default(),
            exam_grades: Mutex::default(),
            seed: spec.range.seed,
            remote_tick: AtomicU64::new(0),
            flag_secret: identity.flag_secret,
            created_ms: identity.created_ms,
            tick0_ms: Arc::new(identity.started_ms.unwrap_or(identity.created_ms).into()),
            challenge_views,
            challenges,
            variant_seed: spec.variant_seed,
            cover: spec.cover.clone(),
            cohort: spec.cohort.clone(),
            flag_times: Mutex::new(RateLimit::flags()),
            action_times: Mutex::new(RateLimit::actions()),
            manual_clock: spec.manual_clock,
            clock: board_clock(&spec, freeze),
            freeze,
            board_full: watch::Sender::new(empty.clone()),
            board_public: watch::Sender::new(empty),
            board_recent: Mutex::default(),
            history: Mutex::new(history),
            changed,
        });
        Ok((drill, identity.sims, shutdown))
    }

    /// Starts team `k`'s range here (`sim` resumed from the records, or new), its clock as
    /// the phase says.
    pub(super) async fn start_here(&self, k: usize, sim: Option<Resumed>) -> Result<()> {
        let team = &self.teams[k];
        let (range, mut here) = start_team(&self.starter, k, &team.info, sim).await?;
        if let Some(host) = self.advertised.get().filter(|h| !h.is_empty()) {
            for e in &mut here.endpoints {
                if e.address.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_unspecified()) {
                    e.address.clone_from(host);
                }
            }
        }
        if let Some(freeze) = self.freeze.tick {
            let (live, changed, mut stop) =
                (here.live.clone(), self.changed.clone(), self.starter.stop.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = live.wait_for_tick(freeze) => changed.notify_one(),
                    _ = stop.wait_for(|s| *s) => {}
                }
            });
        }
        let run = self.phase().clock_runs() && !self.manual_clock;
        here.live.set_running(run);
        self.ranges.lock().unwrap_or_else(|e| e.into_inner())[k] = Some(range);
        team.here.store(Some(Arc::new(here)));
        team.away.store(None);
        self.changed.notify_one();
        Ok(())
    }

    /// Stops team `k`'s range here (another node of the drill runs it from now on); returns
    /// its simulation.
    pub(super) async fn stop_here(&self, k: usize) -> Result<Option<Sim>> {
        let range = self.ranges.lock().unwrap_or_else(|e| e.into_inner())[k].take();
        self.teams[k].here.store(None);
        self.changed.notify_one();
        match range {
            Some(r) => Ok(Some(r.shutdown().await?)),
            None => Ok(None),
        }
    }
}

/// Every team's endpoints and the web view draw on one open-files limit: share it out so no
/// team, and no flood of web connections, can starve another team's endpoints.
fn share_descriptors(spec: &mut DrillSpec) -> Result<()> {
    let budget = crate::runtime::fds::budget(
        crate::runtime::fds::raise_nofile_limit(),
        crate::runtime::range::demand(&spec.scenario, &spec.range, spec.teams.len()),
    )?;
    spec.range.http.max_connections = budget.http;
    spec.range.range_connections = budget.per_range;
    tracing::info!(http = budget.http, per_team = budget.per_range, "connection budget");
    Ok(())
}

/// Opens the drill's database (recording a new drill in it) and starts its recorder.
async fn open_recorder(
    spec: &DrillSpec,
    identity: &Identity,
    new: bool,
    node: Option<&str>,
) -> Result<Option<Recorder>> {
    let Some(db) = spec.database.clone() else { return Ok(None) };
    let node = node.map(str::to_string);
    let create = if new { Some(new_record(spec, identity)?) } else { None };
    // The PostgreSQL client blocks: open and write off the async runtime.
    let store = tokio::task::spawn_blocking(move || -> Result<Box<dyn Store>> {
        let mut store = db.open()?;
        if let Some((record, teams)) = create {
            store.create_drill(&record, &teams)?;
        }
        if let Some(node) = node {
            store.fence(&node)?;
        }
        Ok(store)
    })
    .await??;
    Ok(Some(Recorder::start(store, identity.id.clone(), spec.teams.iter().map(|t| t.id.clone()).collect())))
}

/// The drill's teams as given, with their tokens and client networks, none running yet.
fn teams_of(spec: &DrillSpec, identity: &Identity, nets: &[Vec<ipnet::IpNet>]) -> Vec<Team> {
    let tokens = spec.teams.iter().zip(&identity.team_tokens).zip(nets);
    tokens
        .map(|((info, token), nets)| Team {
            info: info.clone(),
            token: token.clone(),
            clients: nets.clone(),
            here: Default::default(),
            away: Default::default(),
            away_at_freeze: Default::default(),
        })
        .collect()
}

/// A new drill whose server failed to start (a port taken): its recorder stopped and its
/// records deleted, so no drill nobody ran stays "in briefing" in the lists.
async fn discard(drill: &Drill) {
    let recorder = drill.recorder.lock().unwrap_or_else(|e| e.into_inner()).take();
    let (Some(recorder), Some(db)) = (recorder, drill.database.clone()) else { return };
    let id = drill.id.clone();
    let discarded = tokio::task::spawn_blocking(move || -> Result<()> {
        recorder.finish();
        db.open()?.discard_drill(&id)
    });
    if let Ok(Err(e)) = discarded.await {
        tracing::warn!(error = %e, "the records of a drill that failed to start are left in the database");
    }
}

/// The record of a new drill and its teams.
pub(super) fn new_record(spec: &DrillSpec, identity: &Identity) -> Result<(DrillRecord, Vec<TeamRecord>)> {
    let scenario = &spec.scenario;
    let source = spec
        .scenario_source
        .clone()
        .ok_or_else(|| Error::invalid("a recorded drill needs its scenario source"))?;
    let options = StoredOptions {
        duration_s: spec.range.duration_s,
        freeze_s: spec.freeze_s,
        blind: spec.blind,
        ties: spec.ties,
        no_attack: spec.no_attack,
        flag_secret: identity.flag_secret.clone(),
        brackets: spec.teams.iter().filter_map(|t| t.bracket.clone().map(|b| (t.id.clone(), b))).collect(),
        variant_seed: spec.variant_seed,
        clients: spec.clients.clone(),
        cover: spec.cover.clone(),
        cohort: spec.cohort.clone(),
        rules: icsdrill_engine::RULES,
        wire: Some(StoredWire {
            address_mode: spec.range.address_mode,
            modbus_port: spec.range.modbus_port,
            iec104_port: spec.range.iec104_port,
            opcua_port: spec.range.opcua_port,
            bind: spec.range.bind,
            sources: spec.range.sources.clone(),
        }),
    };
    let record = DrillRecord {
        id: identity.id.clone(),
        name: spec.name.clone(),
        mode: spec.mode,
        scenario_id: scenario.id.clone(),
        scenario_hash: scenario.source_hash.clone(),
        scenario_source: source,
        seed: spec.range.seed,
        live_attacker: spec.range.live_attacker && scenario.attack.is_some(),
        phase: identity.phase,
        instructor_token: identity.instructor_token.clone(),
        observer_token: identity.observer_token.clone(),
        options: serde_json::to_string(&options)?,
        created_ms: identity.created_ms,
    };
    let teams = spec
        .teams
        .iter()
        .zip(&identity.team_tokens)
        .map(|(t, token)| TeamRecord { id: t.id.clone(), name: t.name.clone(), token: token.clone() })
        .collect();
    Ok((record, teams))
}

/// The range options of team `k`: its endpoints after the previous teams', its client
/// networks, its attacker's and its hosts' addresses in its own network.
fn team_options(sh: &Starter, k: usize) -> range::Options {
    let mut opts = team_range(&sh.spec, &sh.nets[k], k);
    let log = sh.foreign.clone();
    let plc_ids: Vec<String> = sh.spec.scenario.plcs.iter().map(|p| p.id.clone()).collect();
    opts.on_foreign = Some(ForeignHook(Arc::new(move |ip, plc| log.note(ip, k, &plc_ids[plc.ix()]))));
    opts
}

/// Team `k`'s range options (`team_options` without the live hooks): what places its
/// endpoints and hosts.
pub(super) fn team_range(spec: &DrillSpec, nets: &[ipnet::IpNet], k: usize) -> range::Options {
    let mut opts = spec.range.clone();
    opts.serve_http = false;
    opts.running = false;
    opts.first_endpoint = k * spec.scenario.plcs.len();
    opts.event_loops = range::event_loops(&spec.range, spec.teams.len());
    opts.clients = Clients { nets: nets.to_vec(), own: Vec::new() };
    if nets == [clients::team_loopback_net(k)] {
        // A host given by its loopback address (127.0.0.77=hmi-01) is that host in every
        // team's own network (127.10.N.77).
        opts.sources =
            spec.range.sources.iter().map(|(ip, h)| (clients::in_team_net(*ip, k), h.clone())).collect();
    }
    if spec.teams.len() > 1 {
        // Each team's attacker and hosts come from the team's own loopback network (whatever
        // networks its trainees connect from), so no team can stand in for another's.
        opts.attacker_address = Some(clients::team_attacker_address(k));
        opts.host_net = match clients::team_loopback_net(k) {
            ipnet::IpNet::V4(net) => Some(net.network()),
            ipnet::IpNet::V6(_) => None,
        };
    }
    opts
}

/// A team's simulation rebuilt from its records.
pub(super) struct Resumed {
    /// Re-run up to its last recorded tick.
    pub(super) sim: Sim,
    /// How many of its events are on record: the re-run's events beyond them (a tick the
    /// records began but never finished: a range started in the briefing, whose first tick
    /// never ran) are recorded now.
    pub(super) recorded: usize,
    /// What its operator station showed over the last minutes on record, for its historian.
    pub(super) shown: Vec<Shown>,
    /// The tick the range had reached (`replay::reached`).
    pub(super) reached: u64,
}

/// Starts team `k`'s range: its simulation (new, or `sim` resumed), its hook, its endpoints.
async fn start_team(sh: &Starter, k: usize, info: &TeamInfo, sim: Option<Resumed>) -> Result<(Range, Here)> {
    let (scenario, plan) = (&sh.spec.scenario, sh.spec.mode.scores_plan());
    let limit = sh.recording.is_some().then_some(sh.spec.judged_in_memory);
    let published = Arc::new(Published::new(Scorer::new(scenario, plan).card(0), Track::default(), limit));
    let (sim, new, shown) = match sim {
        Some(Resumed { sim, recorded, shown, reached }) => {
            published.reached.store(reached, std::sync::atomic::Ordering::Release);
            if let Some((r, _)) = &sh.recording {
                // What the store holds is durable: to its last event's tick, not past what is not.
                if let Some(last) = recorded.checked_sub(1).and_then(|i| sim.events().get(i)) {
                    let next = sim.events().get(recorded).map_or(u64::MAX, |e| e.tick);
                    r.on_disk_before(k, (last.tick + 1).min(next));
                }
                let unrecorded = sim.events().get(recorded..).unwrap_or_default();
                for chunk in unrecorded.chunk_by(|a, b| a.tick == b.tick) {
                    r.record(Batch {
                        team: k,
                        tick: chunk[0].tick,
                        inputs: Vec::new(),
                        events: chunk.to_vec(),
                    });
                }
            }
            (sim, false, shown)
        }
        None => {
            // A new range: its first events (`sim_started`) come before any tick.
            let sim = Sim::new(scenario.clone(), sh.spec.range.seed);
            if let Some((r, _)) = &sh.recording {
                r.record(Batch { team: k, tick: 0, inputs: Vec::new(), events: sim.events().to_vec() });
            }
            published.log(sim.events());
            (sim, true, Vec::new())
        }
    };
    let past = if new { &[][..] } else { sim.events() };
    let recording = sh.recording.as_ref().map(|(r, _)| Recording { sender: r.clone(), index: k });
    let target = HookTarget {
        plan,
        challenges: sh.challenges.len(),
        published: published.clone(),
        changed: sh.changed.clone(),
        epoch: sh.epoch,
        freeze: sh.freeze,
        blind: sh.spec.blind,
        from_tick: sim.tick(),
    };
    let hook = score_hook(scenario, target, past, recording);
    published.seed_trends(&shown, scenario.tick_hz);
    let extras = Extras {
        held: true,
        hook: Some(hook),
        gate: sh.recording.as_ref().map(|(r, _)| r.gate(k)),
        durable: sh.recording.as_ref().map(|(_, d)| d[k].clone()),
        sim: Some(sim),
        routine: None,
        shows: Some(icsdrill_drill::track::visible_to_team),
    };
    // Contest: this team's flags in its own PLCs' identification strings.
    let team_scenario = match &sh.flag_secret {
        Some(secret) => Arc::new(flags::with_flags(scenario, secret, &info.id, &sh.challenges)),
        None => scenario.clone(),
    };
    let range = Range::start_with(team_scenario, team_options(sh, k), extras)
        .await
        .map_err(|e| Error::Team { team: info.id.clone(), error: Box::new(e) })?;
    // The endpoint table shows the device as the base scenario has it: a contest flag is read
    // over Modbus, not off the console.
    let mut endpoints = range.endpoints.clone();
    for (e, p) in endpoints.iter_mut().zip(&scenario.plcs) {
        e.device = format!("{} {} {}", p.device.vendor, p.device.product, p.device.revision);
    }
    let here = Here { live: range.live.clone(), endpoints, hosts: range.host_addresses(), published };
    Ok((range, here))
}

/// The board task: ranks the teams whenever a card or the phase changes, and when the freeze
/// begins (each range wakes it as it reaches the freeze tick).
fn spawn_board(tasks: &mut tokio::task::JoinSet<()>, drill: &Arc<Drill>, mut stop: watch::Receiver<bool>) {
    let board = drill.clone();
    tasks.spawn(async move {
        let mut seq = 1;
        loop {
            tokio::select! {
                _ = board.changed.notified() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            seq += 1;
            // Boards go out no faster than their viewers can be written: changes that come
            // during the pause are coalesced into the next board.
            let pause = icsdrill_drill::board::fan_out_pause(board.publish_board(seq));
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_drill_places_every_team_where_its_range_served() {
        // Every address option off its default: a capture rebuilt from the record must carry
        // the ports and addresses the live ranges used.
        let builtin = icsdrill_scenarios::builtin("equipment-welding-line").expect("built in");
        let scenario = builtin.load().expect("loads");
        assert!(scenario.plcs.iter().any(|p| p.opcua.is_some()), "an OPC UA server to place");
        let mut spec = DrillSpec::new(scenario.clone(), &["red", "blue"], icsdrill_drill::Mode::Regional);
        spec.scenario_source = Some(builtin.source.to_string());
        (spec.range.modbus_port, spec.range.iec104_port, spec.range.opcua_port) = (6100, 6300, 6500);
        spec.range.sources = vec![("127.0.0.77".parse().expect("an address"), "hmi-01".into())];
        let (record, teams) = new_record(&spec, &Identity::fresh(&spec)).expect("a record");
        let nets = clients::team_clients(&spec).expect("networks");
        for (k, t) in teams.iter().enumerate() {
            let live = crate::runtime::placement::Placement::of(&scenario, &team_range(&spec, &nets[k], k));
            let recorded =
                super::super::stored::team_placement(&record, &teams, &scenario, &t.id).expect("placed");
            assert_eq!(recorded.plcs, live.plcs, "{}", t.id);
            assert_eq!(recorded.stations, live.stations, "{}", t.id);
            assert_eq!(recorded.servers, live.servers, "{}: OPC UA servers", t.id);
            assert_eq!(recorded.hosts, live.hosts, "{}", t.id);
        }
    }
}
