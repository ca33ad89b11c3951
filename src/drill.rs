//! A drill: one scenario, many teams, each with its own isolated range (its own simulated
//! plant and Modbus endpoints) in one process, a phase the white cell controls, live scores
//! and the web view.
//!
//! Scores come only from each range's event log: a `TickHook` on every team's sim thread
//! feeds the new events to an `icsdrill_judge::score::Scorer` and publishes the card when it
//! changes; one board task ranks the teams and hands the scoreboard to subscribers through a
//! `watch` channel (each subscriber gets the newest board, never a backlog).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use arc_swap::ArcSwap;
use icsdrill_engine::input::InjectChannel;
use icsdrill_engine::{EventKind, LogHasher, Scenario, Sim, SimEvent, SimInput};
use icsdrill_judge::score::{ScoreCard, Scorer};
use icsdrill_web::EndpointInfo;
use icsdrill_web::drill::{
    ActError, BoardRow, BoxFuture, Control, DrillApi, DrillInfo, Mode, Phase, Role, Scoreboard, TeamInfo,
};
use serde::Serialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::live::{ApplyError, Extras, Live, TickHook};
use crate::range::{self, Range};
use crate::store::{Batch, Database, DrillRecord, RecordSender, Recorder, Store, TeamRecord};

/// Most teams in one drill.
pub const MAX_TEAMS: usize = 200;
/// How long an HTTP action waits for the tick that applies it.
pub const ACT_TIMEOUT: Duration = Duration::from_secs(10);
/// Seconds of simulated time between score refreshes when no event changes it (downtime and
/// the time-based parts move on their own).
const REFRESH_S: u64 = 5;

/// What a drill is made of.
#[derive(Debug, Clone)]
pub struct DrillSpec {
    /// Name shown on the pages.
    pub name: String,
    /// Mode.
    pub mode: Mode,
    /// Scenario every team plays.
    pub scenario: Arc<Scenario>,
    /// Teams, in order.
    pub teams: Vec<TeamInfo>,
    /// Range options shared by every team (seed, bind address, base port, address mode,
    /// clock, limits); each team's endpoints follow the previous team's.
    pub range: range::Options,
    /// Contest: observers and teams see the scoreboard as it was this many simulated
    /// seconds before the end (needs `range.duration_s`).
    pub freeze_s: Option<f64>,
    /// The clock moves only when `step` is called (scripted tests, table-top pacing).
    pub manual_clock: bool,
    /// Record everything in this database.
    pub database: Option<Database>,
    /// The scenario's source text (stored with a recorded drill, so a replay needs nothing
    /// else).
    pub scenario_source: Option<String>,
    /// The scenario was loaded without its attack (`--no-attack`).
    pub no_attack: bool,
    /// An exam: `scenario` is the trainee's variant of the stored scenario for this seed.
    pub variant_seed: Option<u64>,
    /// Client networks by team id, for teams that give their own (see `team_clients` for
    /// the defaults).
    pub clients: std::collections::BTreeMap<String, Vec<ipnet::IpNet>>,
}

/// Drill options kept with the record.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
struct StoredOptions {
    duration_s: Option<f64>,
    freeze_s: Option<f64>,
    #[serde(default)]
    no_attack: bool,
    /// Contest: the secret every team's flags derive from.
    #[serde(default)]
    flag_secret: Option<String>,
    /// Team -> bracket.
    #[serde(default)]
    brackets: std::collections::BTreeMap<String, String>,
    /// An exam's variant seed (replays apply the variant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    variant_seed: Option<u64>,
    /// Client networks given per team (the rest take the defaults).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    clients: std::collections::BTreeMap<String, Vec<ipnet::IpNet>>,
}

/// At most this many flag submissions per team per `FLAG_WINDOW`.
pub const FLAG_LIMIT: usize = 5;
/// The flag rate-limit window.
pub const FLAG_WINDOW: Duration = Duration::from_secs(60);

/// A contest challenge: read the flag from this PLC's device identification (FC 43/14 or
/// FC 17), which differs per team.
#[derive(Debug, Clone)]
struct Challenge {
    id: String,
    plc: usize,
}

/// A team's flag for a challenge: derived from the drill's secret, so it differs per team and
/// cannot be guessed from another team's.
pub fn flag(secret: &str, team: &str, challenge: &str) -> String {
    use sha2::Digest as _;
    let h = sha2::Sha256::digest(format!("{secret}/{team}/{challenge}").as_bytes());
    format!("flag{{{}}}", h.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>())
}

fn challenges(scenario: &Scenario) -> Vec<Challenge> {
    scenario
        .plcs
        .iter()
        .take(2)
        .enumerate()
        .map(|(i, p)| Challenge { id: format!("identity:{}", p.id), plc: i })
        .collect()
}

/// How a team connects from its own network: the networks, a client address in them, and
/// the client commands that bind it (mbpoll cannot choose its source address, so it works
/// only where the team's network includes 127.0.0.1).
pub fn connect_hint(nets: &[ipnet::IpNet], endpoints: &[EndpointInfo]) -> serde_json::Value {
    let first = nets.iter().find_map(|n| match n {
        ipnet::IpNet::V4(v4) if v4.prefix_len() < 32 => v4.hosts().next().map(std::net::IpAddr::V4),
        ipnet::IpNet::V4(v4) => Some(std::net::IpAddr::V4(v4.addr())),
        ipnet::IpNet::V6(v6) => Some(std::net::IpAddr::V6(v6.addr())),
    });
    let local = std::net::IpAddr::from([127, 0, 0, 1]);
    let source = if nets.iter().any(|n| n.contains(&local)) { Some(local) } else { first };
    let e = endpoints.first();
    let (host, port) = e.map_or(("127.0.0.1", 502), |e| (e.address.as_str(), e.port));
    let source_text = source.map(|a| a.to_string()).unwrap_or_default();
    json!({
        "networks": nets.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "source": source,
        "pymodbus": format!(
            "ModbusTcpClient(\"{host}\", port={port}, source_address=(\"{source_text}\", 0))"
        ),
        "nmap": format!("nmap -S {source_text} -e lo -p {port} --script modbus-discover {host}"),
        "mbpoll": (source == Some(local)).then(|| format!("mbpoll -m tcp -a 1 -0 -1 -t 4 -r 0 -c 5 -p {port} {host}")),
    })
}

/// The snake_case name serde gives an enum value.
fn enum_name(v: impl Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

impl DrillSpec {
    /// A regional drill of `teams` on `scenario` with default range options.
    pub fn new(scenario: Arc<Scenario>, teams: &[&str], mode: Mode) -> DrillSpec {
        DrillSpec {
            name: scenario.meta.title.en.clone(),
            mode,
            scenario,
            teams: teams
                .iter()
                .map(|t| TeamInfo { id: (*t).to_string(), name: (*t).to_string(), bracket: None })
                .collect(),
            range: range::Options::new(1),
            freeze_s: None,
            manual_clock: false,
            database: None,
            scenario_source: None,
            no_attack: false,
            variant_seed: None,
            clients: std::collections::BTreeMap::new(),
        }
    }
}

/// Most distinct (address, team) pairs of refused foreign connections a drill keeps; more
/// are only counted.
pub const MAX_FOREIGN: usize = 1_024;

/// The client networks of each team, in drill order: what the drill gives, else every address
/// for a drill of one team (it has nobody to be kept apart from), else on loopback team `k`'s
/// own `127.10.(k+1).0/24`. Teams of a drill served on another address must be given theirs.
pub fn team_clients(spec: &DrillSpec) -> Result<Vec<Vec<ipnet::IpNet>>> {
    let mut out = Vec::new();
    for (k, t) in spec.teams.iter().enumerate() {
        if let Some(nets) = spec.clients.get(&t.id) {
            if nets.is_empty() {
                bail!("team `{}` has an empty client address list", t.id);
            }
            out.push(nets.clone());
        } else if spec.teams.len() == 1 {
            out.push(crate::modbus::server::Clients::any().nets);
        } else if spec.range.bind.is_loopback() {
            out.push(vec![team_loopback_net(k)]);
        } else {
            bail!(
                "team `{}` needs client addresses: a drill of several teams served on {} must say which \
                 networks each team connects from (`clients:` in the drill file, or --clients {}=CIDR)",
                t.id,
                spec.range.bind,
                t.id
            );
        }
    }
    for u in spec.clients.keys() {
        if !spec.teams.iter().any(|t| t.id == *u) {
            bail!("client addresses are given for `{u}`, which is not a team of this drill");
        }
    }
    Ok(out)
}

/// The address team `k`'s live attacker connects from in a drill of several teams.
pub fn team_attacker_address(k: usize) -> std::net::IpAddr {
    in_team_net(std::net::IpAddr::from([127, 0, 0, 66]), k)
}

/// The address with `ip`'s host part in team `k`'s own loopback network.
pub fn in_team_net(ip: std::net::IpAddr, k: usize) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V4(v4) => {
            std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 10, (k + 1) as u8, v4.octets()[3]))
        }
        v6 => v6,
    }
}

/// Team `k`'s own loopback network in a drill of several teams on one machine.
pub fn team_loopback_net(k: usize) -> ipnet::IpNet {
    ipnet::IpNet::V4(
        ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(127, 10, (k + 1) as u8, 0), 24).expect("a /24 is valid"),
    )
}

/// The refused foreign connections of a drill, for the white cell.
struct ForeignLog {
    /// Team ids and their client networks, in drill order.
    teams: Vec<(String, Vec<ipnet::IpNet>)>,
    /// (address, team index) -> attempt; at most `MAX_FOREIGN`.
    seen: Mutex<ForeignSeen>,
    recorder: Option<RecordSender>,
}

#[derive(Default)]
struct ForeignSeen {
    attempts: std::collections::BTreeMap<(std::net::IpAddr, usize), crate::store::ForeignAttempt>,
    /// Attempts beyond `MAX_FOREIGN` distinct pairs.
    uncounted: u64,
    /// When the list last went to the recorder.
    saved: Option<Instant>,
}

impl ForeignLog {
    fn note(&self, ip: std::net::IpAddr, team: usize, plc: &str) {
        let now_ms = crate::dates::now_ms();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let full = seen.attempts.len() >= MAX_FOREIGN;
        match seen.attempts.get_mut(&(ip, team)) {
            Some(a) => {
                a.count += 1;
                a.last_ms = now_ms;
                a.plc = plc.to_string();
            }
            None if full => seen.uncounted += 1,
            None => {
                let from_team = self
                    .teams
                    .iter()
                    .find(|(_, nets)| nets.iter().any(|n| n.contains(&ip)))
                    .map(|(id, _)| id.clone());
                tracing::warn!(
                    address = %ip,
                    from = from_team.as_deref().unwrap_or("no team"),
                    target = %self.teams[team].0,
                    plc,
                    "refused a connection to another team's range"
                );
                seen.attempts.insert(
                    (ip, team),
                    crate::store::ForeignAttempt {
                        address: ip.to_string(),
                        from_team,
                        team: self.teams[team].0.clone(),
                        plc: plc.to_string(),
                        count: 1,
                        first_ms: now_ms,
                        last_ms: now_ms,
                    },
                );
            }
        }
        if let Some(r) = &self.recorder
            && seen.saved.is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            seen.saved = Some(Instant::now());
            r.foreign(seen.attempts.values().cloned().collect());
        }
    }

    fn list(&self) -> (Vec<crate::store::ForeignAttempt>, u64) {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        (seen.attempts.values().cloned().collect(), seen.uncounted)
    }
}

/// An action the team took, as its console lists it.
#[derive(Debug, Clone, Serialize)]
struct ActionRec {
    tick: u64,
    kind: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// An inject the team received.
#[derive(Debug, Clone, Serialize)]
struct InjectRec {
    tick: u64,
    channel: InjectChannel,
    text: String,
}

/// An attack step's progress in one range (instructors only).
#[derive(Debug, Clone, Serialize)]
struct StepProgress {
    id: String,
    status: String,
    attempts: u32,
    succeeded: bool,
}

/// What the hook keeps of a range's log beyond the score.
#[derive(Debug, Clone, Default, Serialize)]
struct Track {
    actions: Vec<ActionRec>,
    injects: Vec<InjectRec>,
    hints: Vec<String>,
    steps: Vec<StepProgress>,
    trips: usize,
    damage: usize,
}

impl Track {
    /// Reads one event; true when something shown changed.
    fn push(&mut self, e: &SimEvent) -> bool {
        match &e.kind {
            EventKind::InputApplied { input } | EventKind::InputRejected { input, .. } => {
                let reason = match &e.kind {
                    EventKind::InputRejected { reason, .. } => Some(reason_name(*reason)),
                    _ => None,
                };
                let ok = reason.is_none();
                match input {
                    SimInput::Inject {
                        channel: c @ (InjectChannel::Message | InjectChannel::Phone),
                        text,
                        ..
                    } => {
                        self.injects.push(InjectRec { tick: e.tick, channel: *c, text: text.clone() });
                    }
                    SimInput::RevealHint { hint } if ok && !self.hints.contains(hint) => {
                        self.hints.push(hint.clone())
                    }
                    other => match other.defender_kind() {
                        Some(kind) => self.actions.push(ActionRec { tick: e.tick, kind, ok, reason }),
                        None => return false,
                    },
                }
                true
            }
            EventKind::AttackAttempt { step, ok, .. } => {
                if let Some(s) = self.steps.iter_mut().find(|s| s.id == *step) {
                    s.attempts += 1;
                    s.succeeded |= ok;
                    s.status = "active".into();
                }
                true
            }
            EventKind::AttackStepEnded { step, outcome, expired } => {
                if let Some(s) = self.steps.iter_mut().find(|s| s.id == *step) {
                    s.status = if *expired {
                        "expired".into()
                    } else {
                        serde_json::to_value(outcome)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default()
                    };
                }
                true
            }
            EventKind::InterlockTripped { .. } => {
                self.trips += 1;
                true
            }
            EventKind::Damage { .. } => {
                self.damage += 1;
                true
            }
            _ => false,
        }
    }
}

fn reason_name(r: icsdrill_engine::RejectReason) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{r:?}"))
}

/// What a team's hook publishes.
struct Published {
    card: ArcSwap<ScoreCard>,
    track: ArcSwap<Track>,
    /// Microseconds since the drill's epoch when the card last changed.
    changed_us: AtomicU64,
    /// The judged events of the team's log (everything but plain traffic, see
    /// `EventKind::judged`), for the report and an exam's grade: the whole log is on disk, and
    /// in memory only its recent window. Appended by the sim thread once per tick; readers
    /// hold the lock only to copy.
    judged: Mutex<Vec<SimEvent>>,
    /// The hash of the team's whole log so far (the replay contract), and the tick of its
    /// last event (where judging takes the log to end).
    hash: Mutex<(LogHasher, u64)>,
}

impl Published {
    fn new(card: ScoreCard) -> Published {
        Published {
            card: ArcSwap::from_pointee(card),
            track: ArcSwap::from_pointee(Track::default()),
            changed_us: AtomicU64::new(0),
            judged: Mutex::new(Vec::new()),
            hash: Mutex::new((LogHasher::default(), 0)),
        }
    }

    /// Takes in new events of the team's log.
    fn log(&self, events: &[SimEvent]) {
        let Some(last) = events.last() else { return };
        let judged: Vec<SimEvent> = events.iter().filter(|e| e.kind.judged()).cloned().collect();
        if !judged.is_empty() {
            self.judged.lock().unwrap_or_else(|e| e.into_inner()).extend(judged);
        }
        let mut hash = self.hash.lock().unwrap_or_else(|e| e.into_inner());
        for e in events {
            hash.0.push(e);
        }
        hash.1 = last.tick;
    }
}

/// One team's range.
struct Team {
    info: TeamInfo,
    token: String,
    live: Arc<Live>,
    endpoints: Vec<EndpointInfo>,
    published: Arc<Published>,
    /// The networks the team's clients connect from.
    clients: Vec<ipnet::IpNet>,
}

/// A running drill (shared by the web layer and the runtime).
pub struct Drill {
    /// Drill id.
    pub id: String,
    name: String,
    mode: Mode,
    scenario: Arc<Scenario>,
    epoch: Instant,
    teams: Vec<Team>,
    phase: Mutex<Phase>,
    instructor_token: String,
    observer_token: String,
    manual_clock: bool,
    freeze_tick: Option<u64>,
    /// Records the drill, when it has a data directory.
    recorder: Mutex<Option<Recorder>>,
    /// Refused connections from other teams' (or nobody's) addresses.
    foreign: Arc<ForeignLog>,
    /// Contest: the flag secret and the challenges.
    flag_secret: Option<String>,
    /// Exam: the trainee's variant seed.
    variant_seed: Option<u64>,
    challenges: Vec<Challenge>,
    /// Recent flag submissions per team, for the rate limit.
    flag_times: Mutex<std::collections::BTreeMap<String, std::collections::VecDeque<Instant>>>,
    board_full: watch::Sender<Arc<Scoreboard>>,
    board_public: watch::Sender<Arc<Scoreboard>>,
    changed: Arc<Notify>,
}

/// A drill and what runs it: ranges, the board task and the web server.
pub struct DrillServer {
    /// The drill.
    pub drill: Arc<Drill>,
    /// Where the web view and API listen.
    pub http: SocketAddr,
    ranges: Vec<Range>,
    shutdown: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

/// A fresh random token (128 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS provides randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without an early exit, so response times do not leak how much of a token matched.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn valid_team_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A sensor's value as an operator station reads it: from the input register a PLC maps it
/// to (spoofed values included), scaled; the field value for a sensor no PLC reports.
fn hmi_value(s: &Scenario, snap: &icsdrill_engine::Snapshot, sensor: usize) -> f64 {
    use icsdrill_engine::scenario::{RegisterSource, SensorIdx};
    for (p, plc) in s.plcs.iter().enumerate() {
        for ir in &plc.input_registers {
            if ir.source == RegisterSource::Sensor(SensorIdx(sensor as u32)) {
                return ir.scaling.to_value(snap.plcs[p].memory.input[usize::from(ir.addr)]);
            }
        }
    }
    snap.sensors[sensor]
}

fn same_score(a: &ScoreCard, b: &ScoreCard) -> bool {
    a.total == b.total && a.components == b.components && a.plan == b.plan
}

/// What a team's tick hook reports to besides the drill: the recorder, as team `index`.
struct Recording {
    sender: RecordSender,
    index: usize,
}

/// What a team's scoring hook reports to and how it scores.
struct HookTarget {
    /// The response plan is scored (enterprise drills).
    plan: bool,
    /// Contest flag challenges offered.
    challenges: usize,
    published: Arc<Published>,
    changed: Arc<Notify>,
    epoch: Instant,
}

/// The hook that scores (and records) one team's range after every tick. `past` is the log of
/// a resumed range so far.
fn score_hook(
    scenario: &Arc<Scenario>,
    target: HookTarget,
    past: &[SimEvent],
    recording: Option<Recording>,
) -> TickHook {
    let HookTarget { plan, challenges, published, changed, epoch } = target;
    let mut scorer = Scorer::new(scenario, plan);
    scorer.set_challenges(challenges);
    let mut track = Track {
        steps: scenario
            .attack
            .iter()
            .flat_map(|p| &p.steps)
            .map(|s| StepProgress {
                id: s.id.clone(),
                status: "pending".into(),
                attempts: 0,
                succeeded: false,
            })
            .collect(),
        ..Track::default()
    };
    let refresh = REFRESH_S * u64::from(scenario.tick_hz);
    // A resumed range: read its log tick by tick, scoring when the live hook would have, so the
    // scorer (tie-break tick included) is where it was before the stop.
    if let Some(last) = past.last() {
        let mut next = 0;
        for tick in 1..=last.tick + 1 {
            let mut relevant = false;
            while next < past.len() && past[next].tick < tick {
                scorer.push(&past[next]);
                track.push(&past[next]);
                relevant |= Scorer::relevant(&past[next].kind);
                next += 1;
            }
            if relevant || tick.is_multiple_of(refresh) {
                let _ = scorer.card(tick);
            }
        }
        published.card.store(Arc::new(scorer.card(last.tick + 1)));
        published.track.store(Arc::new(track.clone()));
        published.log(past);
    }
    Box::new(move |sim: &Sim, applied: u64, inputs: Vec<SimInput>, new: &[SimEvent]| {
        if let Some(r) = &recording
            && (!inputs.is_empty() || !new.is_empty())
        {
            r.sender.record(Batch { team: r.index, tick: applied, inputs, events: new.to_vec() });
        }
        published.log(new);
        let mut relevant = false;
        let mut shown = false;
        for e in new {
            scorer.push(e);
            relevant |= Scorer::relevant(&e.kind);
            shown |= track.push(e);
        }
        if shown {
            published.track.store(Arc::new(track.clone()));
        }
        let tick = sim.tick();
        if relevant || tick.is_multiple_of(refresh) {
            let card = scorer.card(tick);
            if !same_score(&card, &published.card.load()) {
                if let Some(r) = &recording {
                    r.sender.score(
                        r.index,
                        tick,
                        card.total,
                        serde_json::to_string(&card).unwrap_or_default(),
                    );
                }
                published.card.store(Arc::new(card));
                published.changed_us.store(epoch.elapsed().as_micros() as u64, Ordering::Release);
                changed.notify_one();
            } else if tick.is_multiple_of(refresh) {
                // Keep the tick of the card current for the console.
                published.card.store(Arc::new(card));
            }
        }
    })
}

/// Who a drill is when it launches: new, or resumed from the store.
struct Identity {
    id: String,
    instructor_token: String,
    observer_token: String,
    team_tokens: Vec<String>,
    phase: Phase,
    /// Each team's simulation so far (resumed), or none (new).
    sims: Vec<Option<Sim>>,
    /// Contest flag secret.
    flag_secret: Option<String>,
}

impl DrillServer {
    /// Starts every team's range (clock held: the drill starts in briefing), the board task
    /// and the web server on `spec.range.bind:spec.range.http_port`. With `spec.data_dir`,
    /// everything is recorded in the store there.
    pub async fn start(spec: DrillSpec) -> Result<DrillServer> {
        let n = spec.teams.len();
        let identity = Identity {
            id: new_token()[..8].to_string(),
            instructor_token: new_token(),
            observer_token: new_token(),
            team_tokens: (0..n).map(|_| new_token()).collect(),
            phase: Phase::Briefing,
            sims: (0..n).map(|_| None).collect(),
            flag_secret: (spec.mode == Mode::Contest).then(new_token),
        };
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
                bail!("no drill `{wanted}` in {}", db.describe());
            };
            let loaded = crate::replay::load(&*store, &record, &team_records)?;
            Ok((record, team_records, loaded))
        })
        .await??;
        let options: StoredOptions = serde_json::from_str(&record.options).unwrap_or_default();
        let mode: Mode = serde_json::from_value(serde_json::Value::String(record.mode.clone()))
            .with_context(|| format!("stored mode `{}`", record.mode))?;
        let phase: Phase = serde_json::from_value(serde_json::Value::String(record.phase.clone()))
            .with_context(|| format!("stored phase `{}`", record.phase))?;
        let mut range = range;
        range.seed = record.seed;
        range.live_attacker = record.live_attacker;
        range.duration_s = options.duration_s;
        let spec = DrillSpec {
            name: record.name.clone(),
            mode,
            scenario: loaded.scenario.clone(),
            teams: team_records
                .iter()
                .map(|t| TeamInfo {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    bracket: options.brackets.get(&t.id).cloned(),
                })
                .collect(),
            range,
            freeze_s: options.freeze_s,
            manual_clock: false,
            database: Some(database.clone()),
            scenario_source: Some(record.scenario_source.clone()),
            no_attack: options.no_attack,
            variant_seed: options.variant_seed,
            clients: options.clients.clone(),
        };
        let identity = Identity {
            id: record.id.clone(),
            instructor_token: record.instructor_token.clone(),
            observer_token: record.observer_token.clone(),
            team_tokens: team_records.iter().map(|t| t.token.clone()).collect(),
            phase: if phase == Phase::Live { Phase::Paused } else { phase },
            sims: loaded.teams.into_iter().map(|t| Some(t.sim)).collect(),
            flag_secret: options.flag_secret.clone(),
        };
        DrillServer::launch(spec, identity, false).await
    }

    async fn launch(spec: DrillSpec, identity: Identity, new: bool) -> Result<DrillServer> {
        if spec.teams.is_empty() {
            bail!("a drill needs at least one team");
        }
        if spec.teams.len() > MAX_TEAMS {
            bail!("at most {MAX_TEAMS} teams per drill, got {}", spec.teams.len());
        }
        for (i, t) in spec.teams.iter().enumerate() {
            if !valid_team_id(&t.id) {
                bail!("team id `{}` must be 1-32 letters, digits, `-` or `_`", t.id.escape_debug());
            }
            if spec.teams[..i].iter().any(|u| u.id == t.id) {
                bail!("team `{}` is listed twice", t.id);
            }
        }
        let freeze_tick = match (spec.mode, spec.freeze_s, spec.range.duration_s) {
            (Mode::Contest, Some(f), Some(d)) if f > 0.0 && f < d => Some(spec.scenario.ticks(d - f)),
            (_, Some(_), None) => bail!("a scoreboard freeze needs a drill duration (--duration)"),
            (Mode::Contest, Some(f), Some(d)) => bail!("freeze {f} s must be within the drill's {d} s"),
            (_, Some(_), Some(_)) => bail!("a scoreboard freeze is for contests (--mode contest)"),
            _ => None,
        };
        let epoch = Instant::now();
        let changed = Arc::new(Notify::new());
        let plan = spec.mode == Mode::Enterprise;
        let scenario = spec.scenario.clone();
        let recorder = match &spec.database {
            Some(db) => {
                let db = db.clone();
                let create = if new {
                    let source =
                        spec.scenario_source.clone().context("a recorded drill needs its scenario source")?;
                    let options = StoredOptions {
                        duration_s: spec.range.duration_s,
                        freeze_s: spec.freeze_s,
                        no_attack: spec.no_attack,
                        flag_secret: identity.flag_secret.clone(),
                        brackets: spec
                            .teams
                            .iter()
                            .filter_map(|t| t.bracket.clone().map(|b| (t.id.clone(), b)))
                            .collect(),
                        variant_seed: spec.variant_seed,
                        clients: spec.clients.clone(),
                    };
                    let record = DrillRecord {
                        id: identity.id.clone(),
                        name: spec.name.clone(),
                        mode: enum_name(spec.mode),
                        scenario_id: scenario.id.clone(),
                        scenario_hash: scenario.source_hash.clone(),
                        scenario_source: source,
                        seed: spec.range.seed,
                        live_attacker: spec.range.live_attacker && scenario.attack.is_some(),
                        phase: enum_name(identity.phase),
                        instructor_token: identity.instructor_token.clone(),
                        observer_token: identity.observer_token.clone(),
                        options: serde_json::to_string(&options)?,
                        created_ms: crate::dates::now_ms(),
                    };
                    let teams: Vec<TeamRecord> = spec
                        .teams
                        .iter()
                        .zip(&identity.team_tokens)
                        .map(|(t, token)| TeamRecord {
                            id: t.id.clone(),
                            name: t.name.clone(),
                            token: token.clone(),
                        })
                        .collect();
                    Some((record, teams))
                } else {
                    None
                };
                // The PostgreSQL client blocks: open and write off the async runtime.
                let store = tokio::task::spawn_blocking(move || -> Result<Box<dyn Store>> {
                    let mut store = db.open()?;
                    if let Some((record, teams)) = create {
                        store.create_drill(&record, &teams)?;
                    }
                    Ok(store)
                })
                .await??;
                Some(Recorder::start(
                    store,
                    identity.id.clone(),
                    spec.teams.iter().map(|t| t.id.clone()).collect(),
                ))
            }
            None => None,
        };
        let nets = team_clients(&spec)?;
        // Every team's endpoints and the web view draw on one open-files limit: share it out
        // so no team, and no flood of web connections, can starve another team's endpoints.
        let budget = crate::fds::budget(
            crate::fds::raise_nofile_limit(),
            spec.teams.len(),
            scenario.plcs.len(),
            spec.range.limits.max_connections,
            spec.range.http.max_connections,
        )?;
        let mut spec = spec;
        spec.range.http.max_connections = budget.http;
        spec.range.range_connections = budget.per_range;
        tracing::info!(http = budget.http, per_team = budget.per_range, "connection budget");
        let foreign = Arc::new(ForeignLog {
            teams: spec.teams.iter().map(|t| t.id.clone()).zip(nets.iter().cloned()).collect(),
            seen: Mutex::new(ForeignSeen::default()),
            recorder: recorder.as_ref().map(Recorder::sender),
        });
        let mut sims = identity.sims;
        let contest_challenges =
            if identity.flag_secret.is_some() { challenges(&scenario) } else { Vec::new() };
        let mut ranges = Vec::new();
        let mut teams = Vec::new();
        for (k, info) in spec.teams.iter().enumerate() {
            let mut opts = spec.range.clone();
            opts.serve_http = false;
            opts.running = false;
            opts.first_endpoint = k * scenario.plcs.len();
            opts.clients = crate::modbus::server::Clients { nets: nets[k].clone(), attacker: None };
            if nets[k] == [team_loopback_net(k)] {
                // A host given by its loopback address (127.0.0.77=hmi-01) is that host in
                // every team's own network (127.10.N.77).
                opts.sources =
                    spec.range.sources.iter().map(|(ip, h)| (in_team_net(*ip, k), h.clone())).collect();
            }
            if spec.teams.len() > 1 {
                // Each team's attacker comes from the team's own loopback network, so no team
                // can stand in for another's attacker.
                opts.attacker_address = Some(team_attacker_address(k));
            }
            let log = foreign.clone();
            let plc_ids: Vec<String> = scenario.plcs.iter().map(|p| p.id.clone()).collect();
            opts.on_foreign = Some(crate::modbus::server::ForeignHook(Arc::new(move |ip, plc| {
                log.note(ip, k, &plc_ids[plc.ix()]);
            })));
            let published = Arc::new(Published::new(Scorer::new(&scenario, plan).card(0)));
            let sim = match sims[k].take() {
                Some(sim) => sim,
                None => {
                    // A new range: its first events (`sim_started`) come before any tick.
                    let sim = Sim::new(scenario.clone(), spec.range.seed);
                    if let Some(r) = &recorder {
                        r.record(Batch {
                            team: k,
                            tick: 0,
                            inputs: Vec::new(),
                            events: sim.events().to_vec(),
                        });
                    }
                    published.log(sim.events());
                    sim
                }
            };
            let past = if new { &[][..] } else { sim.events() };
            let recording = recorder.as_ref().map(|r| Recording { sender: r.sender(), index: k });
            let target = HookTarget {
                plan,
                challenges: contest_challenges.len(),
                published: published.clone(),
                changed: changed.clone(),
                epoch,
            };
            let hook = score_hook(&scenario, target, past, recording);
            let extras = Extras {
                held: true,
                hook: Some(hook),
                durable: recorder.as_ref().map(|r| r.durable(k)),
                sim: Some(sim),
            };
            // Contest: this team's flags in its own PLCs' identification strings.
            let team_scenario = match &identity.flag_secret {
                Some(secret) => {
                    let mut s = (*scenario).clone();
                    for c in &contest_challenges {
                        let rev = &mut s.plcs[c.plc].device.revision;
                        *rev = format!("{rev} {}", flag(secret, &info.id, &c.id));
                    }
                    Arc::new(s)
                }
                None => scenario.clone(),
            };
            let range = Range::start_with(team_scenario, opts, extras)
                .await
                .with_context(|| format!("starting team `{}`'s range", info.id))?;
            // The endpoint table shows the device as the base scenario has it: a contest flag
            // is read over Modbus, not off the console.
            let mut endpoints = range.endpoints.clone();
            for (e, p) in endpoints.iter_mut().zip(&scenario.plcs) {
                e.device = format!("{} {} {}", p.device.vendor, p.device.product, p.device.revision);
            }
            teams.push(Team {
                info: info.clone(),
                token: identity.team_tokens[k].clone(),
                live: range.live.clone(),
                endpoints,
                published,
                clients: nets[k].clone(),
            });
            ranges.push(range);
        }
        let empty = Arc::new(
            Scoreboard {
                seq: 0,
                phase: Phase::Briefing,
                frozen: false,
                changed_us: 0,
                rows: vec![],
                json: String::new(),
            }
            .sealed(),
        );
        let drill = Arc::new(Drill {
            id: identity.id,
            name: spec.name.clone(),
            mode: spec.mode,
            scenario,
            epoch,
            teams,
            phase: Mutex::new(identity.phase),
            instructor_token: identity.instructor_token,
            observer_token: identity.observer_token,
            recorder: Mutex::new(recorder),
            foreign,
            flag_secret: identity.flag_secret.clone(),
            variant_seed: spec.variant_seed,
            challenges: contest_challenges.clone(),
            flag_times: Mutex::new(std::collections::BTreeMap::new()),
            manual_clock: spec.manual_clock,
            freeze_tick,
            board_full: watch::Sender::new(empty.clone()),
            board_public: watch::Sender::new(empty),
            changed,
        });
        drill.publish_board(1);

        let http_addr = SocketAddr::new(spec.range.bind, spec.range.http_port);
        let http = TcpListener::bind(http_addr).await.with_context(|| {
            format!("cannot bind the web view to {http_addr} (pick another with --http-port)")
        })?;
        let http_local = http.local_addr()?;
        let (shutdown, stop) = watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        let board = drill.clone();
        let mut stop_board = stop.clone();
        tasks.spawn(async move {
            let mut seq = 1;
            loop {
                tokio::select! {
                    _ = board.changed.notified() => {}
                    // The freeze starts at a tick, not at a score change: look now and then.
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {
                        if board.frozen_now() == board.board_public.borrow().frozen {
                            continue;
                        }
                    }
                    _ = stop_board.wait_for(|s| *s) => break,
                }
                seq += 1;
                board.publish_board(seq);
            }
        });
        let api: Arc<dyn DrillApi> = drill.clone();
        let http_limits = spec.range.http;
        let mut stop_http = stop.clone();
        tasks.spawn(async move {
            let graceful = async move {
                let _ = stop_http.wait_for(|s| *s).await;
            };
            if let Err(e) = icsdrill_web::drill::serve(http, api, http_limits, graceful).await {
                tracing::error!(error = %e, "web server failed");
            }
        });
        Ok(DrillServer { drill, http: http_local, ranges, shutdown, tasks })
    }

    /// Stops the web view and every range, then writes what is queued to the store; returns
    /// each team's simulation with its log.
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
        let mut out = Vec::new();
        for (team, range) in self.drill.teams.iter().zip(self.ranges) {
            out.push((team.info.id.clone(), range.shutdown().await?));
        }
        let recorder = self.drill.recorder.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(r) = recorder {
            tokio::task::spawn_blocking(move || r.finish()).await?;
        }
        Ok(out)
    }
}

impl Drill {
    /// The instructor's token.
    pub fn instructor_token(&self) -> &str {
        &self.instructor_token
    }

    /// The observers' token.
    pub fn observer_token(&self) -> &str {
        &self.observer_token
    }

    /// Team ids, names, tokens and endpoint tables, in order.
    pub fn teams(&self) -> impl Iterator<Item = (&TeamInfo, &str, &[EndpointInfo])> {
        self.teams.iter().map(|t| (&t.info, t.token.as_str(), t.endpoints.as_slice()))
    }

    /// The networks a team's clients must connect from.
    pub fn team_clients(&self, team: &str) -> Option<&[ipnet::IpNet]> {
        self.team(team).map(|t| t.clients.as_slice())
    }

    /// Connections refused because they came from another team's (or nobody's) address, and
    /// how many more there were beyond the kept list.
    pub fn foreign_attempts(&self) -> (Vec<crate::store::ForeignAttempt>, u64) {
        self.foreign.list()
    }

    /// A team's running simulation.
    pub fn live(&self, team: &str) -> Option<&Arc<Live>> {
        self.team(team).map(|t| &t.live)
    }

    /// When the drill started (the scoreboard's `changed_us` counts from here).
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// An exam's variant seed.
    pub fn variant_seed(&self) -> Option<u64> {
        self.variant_seed
    }

    /// A team's judged events so far (its log without plain traffic, see
    /// `EventKind::judged`) and the tick of the log's last event: what scores, findings,
    /// reports and exam grades are computed from.
    pub fn judged_log(&self, team: &str) -> Option<(Vec<SimEvent>, u64)> {
        let t = self.team(team)?;
        let events = t.published.judged.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let end = t.published.hash.lock().unwrap_or_else(|e| e.into_inner()).1;
        Some((events, end))
    }

    /// The SHA-256 of a team's whole event log so far, as `icsdrill replay` prints it.
    pub fn log_hash(&self, team: &str) -> Option<String> {
        let t = self.team(team)?;
        Some(t.published.hash.lock().unwrap_or_else(|e| e.into_inner()).0.hex())
    }

    /// Whether the drill's database refuses writes now (nothing new can be acknowledged).
    pub fn records_failing(&self) -> bool {
        self.recorder.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(Recorder::failing)
    }

    /// The phase.
    pub fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// With a manual clock, runs every range `n` ticks and waits for them.
    pub async fn step(&self, n: u64) {
        let targets: Vec<u64> = self.teams.iter().map(|t| t.live.snapshot_guard().tick + n).collect();
        for t in &self.teams {
            t.live.step(n);
        }
        for (t, target) in self.teams.iter().zip(targets) {
            t.live.wait_for_tick(target).await;
        }
    }

    fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.info.id == id)
    }

    /// Ranks the teams and publishes the boards (the public one stays put while frozen).
    fn publish_board(&self, seq: u64) {
        let phase = self.phase();
        let mut rows: Vec<BoardRow> = self
            .teams
            .iter()
            .map(|t| {
                let c = t.published.card.load();
                BoardRow {
                    rank: 0,
                    team: t.info.id.clone(),
                    name: t.info.name.clone(),
                    total: c.total,
                    detected: c.steps_detected,
                    fired: c.steps_fired,
                    settled_tick: c.settled_tick,
                    parts: c.components.iter().map(|p| (p.key.to_string(), p.points)).collect(),
                    bracket: t.info.bracket.clone(),
                    bracket_rank: None,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.total.total_cmp(&a.total).then(a.settled_tick.cmp(&b.settled_tick)).then(a.team.cmp(&b.team))
        });
        let mut in_bracket: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for (i, r) in rows.iter_mut().enumerate() {
            r.rank = i + 1;
            if let Some(b) = &r.bracket {
                let n = in_bracket.entry(b.clone()).or_default();
                *n += 1;
                r.bracket_rank = Some(*n);
            }
        }
        let changed_us =
            self.teams.iter().map(|t| t.published.changed_us.load(Ordering::Acquire)).max().unwrap_or(0);
        let board = Arc::new(
            Scoreboard { seq, phase, frozen: false, changed_us, rows, json: String::new() }.sealed(),
        );
        if self.frozen_now() {
            let mut public = (**self.board_public.borrow()).clone();
            // Resumed past the freeze, nothing was published before it: show the board as it is.
            if public.rows.is_empty() {
                public.rows = board.rows.clone();
                public.changed_us = board.changed_us;
                public.frozen = false;
            }
            if !public.frozen || public.phase != phase {
                public.frozen = true;
                public.phase = phase;
                public.seq = seq;
                self.board_public.send_replace(Arc::new(public.sealed()));
            }
        } else {
            self.board_public.send_replace(board.clone());
        }
        self.board_full.send_replace(board);
    }

    /// Whether observers and teams should see the frozen board: a contest past its freeze
    /// tick, before the hot wash.
    fn frozen_now(&self) -> bool {
        let Some(f) = self.freeze_tick else { return false };
        let max_tick = self.teams.iter().map(|t| t.live.snapshot_guard().tick).max().unwrap_or(0);
        max_tick >= f && !matches!(self.phase(), Phase::HotWash | Phase::Ended)
    }

    fn set_phase(&self, control: Control) -> Result<Phase, String> {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        let next = match (control, *phase) {
            (Control::Start, Phase::Briefing) => Phase::Live,
            (Control::Pause, Phase::Live) => Phase::Paused,
            (Control::Resume, Phase::Paused) => Phase::Live,
            (Control::HotWash, Phase::Live | Phase::Paused) => Phase::HotWash,
            (Control::End, p) if p != Phase::Ended => Phase::Ended,
            (c, p) => {
                return Err(format!(
                    "cannot {} a drill that is {}",
                    serde_json::to_value(c)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    serde_json::to_value(p)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                ));
            }
        };
        *phase = next;
        if let Some(r) = &*self.recorder.lock().unwrap_or_else(|e| e.into_inner()) {
            r.phase(&enum_name(next));
        }
        let run = next == Phase::Live && !self.manual_clock;
        for t in &self.teams {
            t.live.set_running(run);
        }
        Ok(next)
    }

    fn visible_to_team(e: &SimEvent) -> bool {
        match &e.kind {
            EventKind::ModbusTransaction { .. }
            | EventKind::ModbusConnection { .. }
            | EventKind::ListenOnlyChanged { .. }
            | EventKind::ModeChanged { .. }
            | EventKind::AlarmRaised { .. }
            | EventKind::AlarmCleared { .. }
            | EventKind::InterlockTripped { .. }
            | EventKind::InterlockReset { .. }
            | EventKind::IdsAlert { .. }
            | EventKind::ProgramChanged { .. }
            | EventKind::CommsFlooded { .. }
            | EventKind::PlcRestarted { .. }
            | EventKind::AlarmAcknowledged { .. }
            | EventKind::IncidentReported { .. } => true,
            EventKind::InputApplied { input } | EventKind::InputRejected { input, .. } => {
                input.defender_kind().is_some()
                    || matches!(input, SimInput::RevealHint { .. })
                    || matches!(
                        input,
                        SimInput::Inject { channel: InjectChannel::Message | InjectChannel::Phone, .. }
                    )
            }
            _ => false,
        }
    }
}

impl DrillApi for Drill {
    fn authenticate(&self, token: &str) -> Option<Role> {
        let mut role = None;
        // Check every token, so the time taken does not say which kind matched.
        if same_token(token, &self.instructor_token) {
            role = Some(Role::Instructor);
        }
        if same_token(token, &self.observer_token) {
            role = Some(Role::Observer);
        }
        for t in &self.teams {
            if same_token(token, &t.token) {
                role = Some(Role::Team(t.info.id.clone()));
            }
        }
        role
    }

    fn info(&self) -> DrillInfo {
        DrillInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            mode: self.mode,
            phase: self.phase(),
            scenario: self.scenario.id.clone(),
            title: self.scenario.meta.title.clone(),
            brief: self.scenario.meta.brief.clone(),
            teams: self.teams.iter().map(|t| t.info.clone()).collect(),
        }
    }

    fn scenario(&self) -> Arc<Scenario> {
        self.scenario.clone()
    }

    fn scoreboard(&self, full: bool) -> watch::Receiver<Arc<Scoreboard>> {
        if full { self.board_full.subscribe() } else { self.board_public.subscribe() }
    }

    fn has_team(&self, team: &str) -> bool {
        self.team(team).is_some()
    }

    fn team_state(&self, team: &str) -> Option<serde_json::Value> {
        let t = self.team(team)?;
        let s = &*self.scenario;
        let snap = t.live.snapshot();
        let track = t.published.track.load();
        let card = t.published.card.load();
        let levels = |bits: u8| -> Vec<&'static str> {
            ["lolo", "lo", "hi", "hihi"]
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, n)| *n)
                .collect()
        };
        Some(json!({
            "team": t.info,
            "phase": self.phase(),
            "tick": snap.tick,
            "tick_hz": s.tick_hz,
            "simulated_s": snap.tick as f64 / f64::from(s.tick_hz),
            "plcs": s.plcs.iter().zip(&snap.plcs).map(|(p, v)| json!({
                "id": p.id, "name": p.name, "mode": v.mode, "listen_only": v.listen_only, "restarting": v.restarting,
            })).collect::<Vec<_>>(),
            "sensors": s.sensors.iter().enumerate().map(|(i, d)| json!({
                "id": d.id, "name": d.name, "unit": s.vars[d.var.ix()].unit, "value": hmi_value(s, &snap, i),
            })).collect::<Vec<_>>(),
            "actuators": s.actuators.iter().zip(&snap.actuators).map(|(d, v)| json!({
                "id": d.id, "name": d.name, "position": v,
            })).collect::<Vec<_>>(),
            "alarms": s.alarms.iter().enumerate().filter(|(i, _)| snap.alarms[*i] != 0).map(|(i, a)| json!({
                "id": a.id, "plc": s.plcs[a.plc.ix()].id, "levels": levels(snap.alarms[i]), "acked": snap.alarms_acked[i],
            })).collect::<Vec<_>>(),
            "alarm_defs": s.alarms.iter().map(|a| json!({"id": a.id, "plc": s.plcs[a.plc.ix()].id})).collect::<Vec<_>>(),
            "interlocks": s.interlocks.iter().zip(&snap.tripped).map(|(d, tr)| json!({
                "id": d.id, "plc": s.plcs[d.plc.ix()].id, "tripped": tr,
            })).collect::<Vec<_>>(),
            "conduits": s.conduits.iter().map(|c| &c.id).collect::<Vec<_>>(),
            "hosts": s.hosts.iter().zip(&snap.net.isolated).map(|(h, iso)| json!({
                "id": h.id, "name": h.name, "isolated": iso,
            })).collect::<Vec<_>>(),
            "endpoints": t.endpoints,
            "clients": connect_hint(&t.clients, &t.endpoints),
            "records_failing": self.records_failing(),
            "hints": s.hints.iter().map(|h| {
                let taken = track.hints.contains(&h.id);
                json!({"id": h.id, "cost": h.cost, "taken": taken, "text": if taken { json!(h.text) } else { json!(null) }})
            }).collect::<Vec<_>>(),
            "injects": track.injects,
            "actions": track.actions,
            "score": &**card,
        }))
    }

    fn team_endpoints(&self, team: &str) -> Option<Vec<EndpointInfo>> {
        self.team(team).map(|t| t.endpoints.clone())
    }

    fn team_events(&self, team: &str, since: u64, limit: usize) -> Option<Vec<SimEvent>> {
        let t = self.team(team)?;
        Some(t.live.events_since(since, limit, Drill::visible_to_team))
    }

    fn team_score(&self, team: &str) -> Option<ScoreCard> {
        self.team(team).map(|t| (**t.published.card.load()).clone())
    }

    fn act<'a>(&'a self, team: &'a str, input: SimInput) -> BoxFuture<'a, Result<(), ActError>> {
        Box::pin(async move {
            let phase = self.phase();
            if phase != Phase::Live {
                return Err(ActError::NotLive(phase));
            }
            let Some(t) = self.team(team) else { return Err(ActError::Unavailable) };
            if self.records_failing() {
                // Nothing could be acknowledged: refuse now rather than queue it.
                return Err(ActError::RecordsFailing);
            }
            match t.live.apply_within(input, ACT_TIMEOUT).await {
                Ok(()) => Ok(()),
                Err(ApplyError::Rejected(reason)) => Err(ActError::Rejected(reason_name(reason))),
                Err(ApplyError::Unavailable) => Err(ActError::Unavailable),
                Err(ApplyError::NotApplied) => Err(ActError::NotApplied),
                Err(ApplyError::NotRecorded) => Err(ActError::NotRecorded),
            }
        })
    }

    fn control(&self, control: Control) -> Result<Phase, String> {
        let phase = self.set_phase(control)?;
        self.changed.notify_one();
        Ok(phase)
    }

    fn report(
        &self,
        team: &str,
        format: &str,
        lang: &str,
    ) -> Option<Result<(&'static str, Vec<u8>), String>> {
        let format = crate::report::Format::parse(format)?;
        let lang = if lang == "en" { crate::report::Lang::En } else { crate::report::Lang::Zh };
        let t = self.team(team)?;
        let (events, end) = self.judged_log(team)?;
        let now_ms = crate::dates::now_ms();
        let ctx = crate::report::Context {
            drill_id: self.id.clone(),
            drill_name: self.name.clone(),
            mode: enum_name(self.mode),
            team_id: t.info.id.clone(),
            team_name: t.info.name.clone(),
            level: self.scenario.meta.level,
            date: crate::report::civil(crate::report::day_of_ms(now_ms)),
            seed: t.live.seed,
            deadlines: None,
            end_tick: Some(end),
        };
        let r = crate::report::build(&self.scenario, &events, self.mode == Mode::Enterprise, ctx);
        Some(
            crate::report::render(&r, format, lang)
                .map(|b| (format.content_type(), b))
                .map_err(|e| format!("{e:#}")),
        )
    }

    fn submit_flag<'a>(
        &'a self,
        team: &'a str,
        submitted: String,
    ) -> BoxFuture<'a, Result<serde_json::Value, ActError>> {
        Box::pin(async move {
            let Some(secret) = &self.flag_secret else {
                return Err(ActError::Rejected("this drill has no flags (contest mode only)".into()));
            };
            {
                let mut times = self.flag_times.lock().unwrap_or_else(|e| e.into_inner());
                let q = times.entry(team.to_string()).or_default();
                let now = Instant::now();
                while q.front().is_some_and(|t| now.duration_since(*t) > FLAG_WINDOW) {
                    q.pop_front();
                }
                if q.len() >= FLAG_LIMIT {
                    let wait = FLAG_WINDOW.saturating_sub(now.duration_since(q[0])).as_secs().max(1);
                    return Err(ActError::RateLimited(wait));
                }
                q.push_back(now);
            }
            let submitted = submitted.trim();
            let mut owner = String::new();
            let mut challenge = String::new();
            for t in &self.teams {
                for c in &self.challenges {
                    if flag(secret, &t.info.id, &c.id) == submitted {
                        if t.info.id == team {
                            challenge = c.id.clone();
                        } else {
                            owner = t.info.id.clone();
                        }
                    }
                }
            }
            let valid = !challenge.is_empty();
            let digest = {
                use sha2::Digest as _;
                sha2::Sha256::digest(submitted.as_bytes())
                    .iter()
                    .take(8)
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            };
            if !owner.is_empty() {
                tracing::warn!(team, owner = %owner, "a team submitted another team's flag");
            }
            let input =
                SimInput::SubmitFlag { challenge: challenge.clone(), valid, owner: owner.clone(), digest };
            self.act(team, input).await?;
            Ok(json!({
                "valid": valid,
                "challenge": (!challenge.is_empty()).then_some(challenge),
                "message": if valid { "correct flag" } else if !owner.is_empty() { "not your flag: no points (logged)" } else { "wrong flag" },
            }))
        })
    }

    fn standings(&self) -> serde_json::Value {
        let board = self.board_full.borrow().clone();
        let rows: Vec<_> = board
            .rows
            .iter()
            .map(|r| {
                let hash = self.log_hash(&r.team).unwrap_or_default();
                json!({
                    "rank": r.rank,
                    "team": r.team,
                    "name": r.name,
                    "bracket": r.bracket,
                    "bracket_rank": r.bracket_rank,
                    "total": r.total,
                    "settled_tick": r.settled_tick,
                    "replay_sha256": hash,
                })
            })
            .collect();
        json!({ "drill": self.id, "phase": self.phase(), "rows": rows })
    }

    fn standings_csv(&self) -> Result<Vec<u8>, String> {
        const COLUMNS: [&str; 8] =
            ["rank", "team", "name", "bracket", "bracket_rank", "total", "settled_tick", "replay_sha256"];
        let v = self.standings();
        let rows: Vec<Vec<String>> = v["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                COLUMNS
                    .iter()
                    .map(|k| match &r[k] {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect();
        crate::tabular::to_csv(&COLUMNS, &rows).map_err(|e| format!("{e:#}"))
    }

    fn overview(&self) -> serde_json::Value {
        let s = &*self.scenario;
        let teams: Vec<_> = self
            .teams
            .iter()
            .map(|t| {
                let snap = t.live.snapshot();
                let track = t.published.track.load();
                json!({
                    "id": t.info.id,
                    "name": t.info.name,
                    "tick": snap.tick,
                    "simulated_s": snap.tick as f64 / f64::from(s.tick_hz),
                    "score": &**t.published.card.load(),
                    "steps": track.steps,
                    "trips": track.trips,
                    "damage": track.damage,
                    "attacker_host": snap.attacker_host.map(|h| s.hosts[h.ix()].id.clone()),
                    "values": s.vars.iter().enumerate().map(|(i, v)| {
                        let measured = s.sensors.iter().position(|d| d.var.ix() == i).map(|k| snap.sensors[k]);
                        json!({"id": v.id, "name": v.name, "unit": v.unit, "true": snap.vars[i], "measured": measured})
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        let (foreign, uncounted) = self.foreign.list();
        json!({
            "phase": self.phase(),
            "mode": self.mode,
            "records_failing": self.records_failing(),
            "cross_team": { "attempts": foreign, "uncounted": uncounted },
            "attack": s.attack.as_ref().map(|p| p.steps.iter().map(|st| json!({
                "id": st.id,
                "name": st.name,
                "techniques": st.techniques.iter().map(|t| t.v19).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()),
            "teams": teams,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_foreign_log_keeps_a_bounded_list_and_counts_the_rest() {
        let log = ForeignLog {
            teams: vec![
                ("red".into(), vec![team_loopback_net(0)]),
                ("blue".into(), vec![team_loopback_net(1)]),
            ],
            seen: Mutex::new(ForeignSeen::default()),
            recorder: None,
        };
        for i in 0..(MAX_FOREIGN + 100) as u32 {
            let ip = std::net::IpAddr::from(std::net::Ipv4Addr::from(0x7f0a_0000 + 256 + i));
            log.note(ip, 1, "plc-t101");
            log.note(ip, 1, "plc-t101");
        }
        let (list, uncounted) = log.list();
        assert_eq!(list.len(), MAX_FOREIGN);
        assert_eq!(uncounted, 200);
        assert!(list.iter().all(|a| a.count == 2 && a.team == "blue"));
        assert_eq!(list[0].from_team.as_deref(), Some("red"), "127.10.1.x is red's network");
    }
}
