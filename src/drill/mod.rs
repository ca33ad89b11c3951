//! A drill server: one scenario, many teams, each with its own isolated range (its own
//! simulated plant and Modbus endpoints) in one process, a phase the white cell controls, live
//! scores and the web view. The drill's logic (phases, the board and its freeze, flags,
//! views) is the pure `icsdrill-drill` crate's; this is the glue that runs it.
//!
//! Scores come only from each range's event log: a `TickHook` on every team's simulation job
//! (`hook`) feeds the new events to a `Scorer` and publishes the card when it changes; one
//! board task ranks the teams and hands the scoreboard to subscribers through a `watch`
//! channel (each subscriber gets the newest board, never a backlog).
//!
//! - `launch`: starting (new or resumed) and stopping a drill server.
//! - `hook`: a team's tick hook.
//! - `clients`: each team's client networks and the refused cross-team connections.
//! - `roster`: the teams as given (count, ids, names, contest brackets).
//! - `identity`: a drill's id and tokens, new or as recorded.
//! - `stored`: the options a recorded drill keeps with its record.
//! - `api`: the `DrillApi` the web layer calls.
//! - `changes`: what the consoles' streams wait on (a tick or a phase change past what they saw).
//! - `cluster`: one drill over several nodes sharing a PostgreSQL database (team leases,
//!   takeover, the phase passed on).

mod api;
mod boards;
mod cards;
mod changes;
mod clients;
pub mod cluster;
mod gate;
mod hook;
mod identity;
mod launch;
mod roster;
mod stored;
mod syslog;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use icsdrill_drill::board::{self, Freeze};
use icsdrill_drill::flags::{Challenge, RateLimit};
use icsdrill_drill::history::ScoreHistory;
use icsdrill_drill::{BoardRow, Control, EndpointInfo, Mode, Phase, Scoreboard, TeamInfo};
use icsdrill_engine::{EventKind, Scenario, SimEvent, SimInput};
use icsdrill_judge::score::ScoreCard;
use tokio::sync::{Notify, watch};

pub use clients::{
    MAX_FOREIGN, MAX_FOREIGN_PER_SOURCE, in_team_net, team_attacker_address, team_clients, team_loopback_net,
};
pub use stored::team_placement;
pub use stored::{recorded_challenges, stored_cover, stored_duration, team_scenario};

use crate::runtime::live::Live;
use crate::runtime::range::{self, Range};
use crate::store::{Database, ForeignAttempt, Recorder};

/// Most teams in one drill.
pub const MAX_TEAMS: usize = 500;
/// How long an HTTP action waits for the tick that applies it.
pub const ACT_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// Until the hot wash, each team sees its provisional score (the points earned so far from
    /// what its reports found; process safety judged at the hot wash) and the public board
    /// shows no score, so no score tells a team that, or when, it is attacked. By default for
    /// regional drills, contests and exams (`Mode::blind_by_default`; `--live-scores`).
    pub blind: bool,
    /// How teams with the same total are ranked.
    pub ties: board::Ties,
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
    pub clients: BTreeMap<String, Vec<ipnet::IpNet>>,
    /// Organiser and place, for the reports' cover (and an exam's certificate issuer).
    pub cover: crate::governance::report::Cover,
    /// An exam's cohort (training class): on its result, and the trainers' cohort filter.
    pub cohort: String,
    /// The drill's id when chosen (a drill file's `id:`), else a new random one.
    pub id: Option<String>,
    /// Most judged events a team keeps in memory (`MAX_JUDGED_IN_MEMORY`) when the drill is
    /// recorded; a team with more is judged from the store.
    pub judged_in_memory: usize,
}

/// Judged events (writes, alarms, attack steps, actions, ...) a team keeps in memory for its
/// report, when the drill is recorded: about 10 MB. Beyond, its report and grade read its log
/// from the store (a team writing at its budget, 32 writes a tick, gets there in minutes).
pub const MAX_JUDGED_IN_MEMORY: usize = 50_000;
/// And at most this many bytes of them (as JSON): a team filing its largest reports at its
/// action rate gets there long before `MAX_JUDGED_IN_MEMORY` of them.
pub const MAX_JUDGED_BYTES_IN_MEMORY: usize = 32 << 20;

/// After-action reports built at once, one per team: every team at the hot wash waits its
/// turn, at most `REPORT_WAIT`, rather than taking every core from the drill; a team asking
/// again while its own is built is refused at once (503), so it never holds the others' turns.
pub const MAX_REPORT_BUILDS: usize = 2;
/// How long a report waits for its turn before it is refused (503, try again).
pub const REPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

impl DrillSpec {
    /// A drill of `teams` on `scenario` with default range options.
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
            blind: mode.blind_by_default(),
            ties: board::Ties::default(),
            manual_clock: false,
            database: None,
            scenario_source: None,
            no_attack: false,
            variant_seed: None,
            clients: BTreeMap::new(),
            cover: Default::default(),
            cohort: String::new(),
            id: None,
            judged_in_memory: MAX_JUDGED_IN_MEMORY,
        }
    }
}

/// One team of the drill.
struct Team {
    info: TeamInfo,
    token: String,
    /// The networks the team's clients connect from.
    clients: Vec<ipnet::IpNet>,
    /// Its range, while this node runs it.
    here: ArcSwapOption<Here>,
    /// Where it runs while another node of the drill does (`cluster`).
    away: ArcSwapOption<Away>,
    /// Its card at a contest's freeze tick while another node runs it, scored here from the
    /// shared records (`hook::card_at_freeze`) once its range has passed the freeze.
    away_at_freeze: std::sync::OnceLock<Arc<ScoreCard>>,
}

impl Team {
    fn here(&self) -> Option<Arc<Here>> {
        self.here.load_full()
    }
}

/// A team's range on this node.
struct Here {
    live: Arc<Live>,
    endpoints: Vec<EndpointInfo>,
    /// Which host each client address stands for.
    hosts: icsdrill_drill::views::HostAddresses,
    published: Arc<hook::Published>,
}

/// A team another node of the drill runs: that node, its web view's address, the team's
/// endpoints there and its row of the board.
#[derive(Debug, Clone)]
pub struct Away {
    /// The node's name.
    pub node: String,
    /// Its web view, e.g. `http://127.0.0.1:8021`.
    pub http: String,
    /// The team's endpoints on it.
    pub endpoints: Vec<EndpointInfo>,
    /// The team's row of the board, from its latest card in the shared records.
    pub row: BoardRow,
    /// The hints it has taken, from that card.
    pub hints: Vec<String>,
}

/// Longest window of one capture download, in simulated seconds.
pub const MAX_PCAP_WINDOW_S: f64 = 600.0;

/// Captures built at once (each replays a team's range from its start), one a team: a team
/// asking again and again holds one, never all.
pub const MAX_PCAP_BUILDS: usize = 2;

/// A running drill (shared by the web layer and the runtime).
pub struct Drill {
    /// Drill id.
    pub id: String,
    name: String,
    mode: Mode,
    scenario: Arc<Scenario>,
    epoch: Instant,
    teams: Vec<Team>,
    /// Each team's range while this node runs it, by team index.
    ranges: Mutex<Vec<Option<Range>>>,
    /// What starts a team's range here (at launch, or when this node takes it over).
    starter: launch::Starter,
    /// A team's card before it has played (a team whose node is not known yet).
    blank_card: Arc<ScoreCard>,
    /// The most attack steps that can fire in one run: every team's detections count
    /// against it on the board.
    attack_steps: usize,
    /// How teams with the same total are ranked.
    ties: board::Ties,
    /// This node's name in a drill over several nodes.
    node: Option<String>,
    /// The host the teams reach this node at (a drill over several nodes): it stands for an
    /// endpoint bound to every address in the endpoint tables.
    advertised: std::sync::OnceLock<String>,
    /// Where this node's web view listens, once it does.
    web: std::sync::OnceLock<SocketAddr>,
    phase: Mutex<Phase>,
    /// The phase as watched (the consoles' streams wake on it); set under `phase`'s lock.
    phase_watch: watch::Sender<Phase>,
    /// Phase changes made (counted before each is sent on `phase_watch`), for `seen`.
    phase_changes: AtomicU64,
    instructor_token: String,
    observer_token: String,
    manual_clock: bool,
    freeze: Freeze,
    /// The clock's fixed parts (speed, end, freeze) for the boards.
    clock: icsdrill_drill::board::Clock,
    /// Records the drill, when it has a data directory.
    recorder: Mutex<Option<Recorder>>,
    /// Where it is recorded (captures are rebuilt from it).
    database: Option<Database>,
    /// The captures being built: at most `MAX_PCAP_BUILDS`, one a team.
    pcaps: gate::Gate,
    /// After-action reports built at once (`MAX_REPORT_BUILDS`); more wait their turn.
    reports: gate::Gate,
    /// Each team's alert forwarder to its syslog receiver, by team index: stopping it.
    syslog: Mutex<Vec<Option<watch::Sender<bool>>>>,
    /// An exam's final grade per team, once its certificate is issued (the log is final then):
    /// the console's polls after the end read it instead of grading the whole log again.
    exam_grades: Mutex<std::collections::BTreeMap<String, icsdrill_judge::exam::Grade>>,
    /// Refused connections from other teams' (or nobody's) addresses.
    foreign: Arc<clients::ForeignLog>,
    /// The web views of the drill's other live nodes (a drill over several nodes), sorted.
    others: Mutex<Vec<String>>,
    /// The furthest tick the other nodes said their ranges had run at the last look (their
    /// heartbeats, every lease renewal): a node running none of the teams keeps the drill's
    /// clock by it. Not by the ticks of the cards recorded, which are recorded as true scores
    /// move and would tell a blind drill's public board when they moved.
    pub(crate) remote_tick: AtomicU64,
    /// Contest: the flag secret.
    flag_secret: Option<String>,
    /// When the drill was created (Unix milliseconds): its reports are dated on that day, in
    /// the organiser's zone, as the ones built later from its records are.
    created_ms: i64,
    /// The wall time (Unix ms) of tick 0: the start, once started (captures, alerts).
    tick0_ms: Arc<std::sync::atomic::AtomicI64>,
    /// Contest: the challenges.
    challenges: Vec<Challenge>,
    /// The same as team consoles list them (made once: their words never change).
    challenge_views: Vec<icsdrill_drill::views::ChallengeView>,
    /// The seed of every team's range (a resumed drill's is its record's).
    seed: u64,
    /// Exam: the trainee's variant seed.
    variant_seed: Option<u64>,
    /// Organiser and place, for the reports.
    cover: crate::governance::report::Cover,
    /// An exam's cohort.
    cohort: String,
    /// Recent flag submissions per team (times since `epoch`), for the rate limit.
    flag_times: Mutex<RateLimit>,
    /// Each team's recent actions and reports (`RateLimit::actions`).
    action_times: Mutex<RateLimit>,
    board_full: watch::Sender<Arc<Scoreboard>>,
    board_public: watch::Sender<Arc<Scoreboard>>,
    /// The newest full boards, oldest first: a new one carries deltas from each.
    board_recent: Mutex<std::collections::VecDeque<Arc<Scoreboard>>>,
    /// Each team's total over plant time, as the boards were published.
    history: Mutex<ScoreHistory>,
    /// Told when a card or the phase changes, or the freeze begins: the board task ranks
    /// again.
    changed: Arc<Notify>,
}

/// A drill and what runs it: ranges, the board task and the web server.
pub struct DrillServer {
    /// The drill.
    pub drill: Arc<Drill>,
    /// Where the web view and API listen.
    pub http: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

/// A fresh random token (128 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS provides randomness");
    icsdrill_engine::hex(&bytes)
}

/// Compares in constant time, so response times do not leak how much of a token matched.
fn same_token(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
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

    /// Team ids, names, tokens and endpoint tables (where the team runs now; empty while no
    /// node does), in order.
    pub fn teams(&self) -> impl Iterator<Item = (&TeamInfo, &str, Vec<EndpointInfo>)> {
        self.teams.iter().map(|t| (&t.info, t.token.as_str(), self.endpoints_of(t)))
    }

    fn endpoints_of(&self, t: &Team) -> Vec<EndpointInfo> {
        match (t.here(), t.away.load_full()) {
            (Some(h), _) => h.endpoints.clone(),
            (None, Some(a)) => a.endpoints.clone(),
            (None, None) => Vec::new(),
        }
    }

    /// This node's name, in a drill over several nodes.
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// The networks a team's clients must connect from.
    pub fn team_clients(&self, team: &str) -> Option<&[ipnet::IpNet]> {
        self.team(team).map(|t| t.clients.as_slice())
    }

    /// Which host each of team `team`'s client addresses stands for (its range runs here).
    pub fn team_hosts(&self, team: &str) -> Option<icsdrill_drill::views::HostAddresses> {
        self.team(team)?.here().map(|h| h.hosts.clone())
    }

    /// Connections refused because they came from another team's (or nobody's) address, and
    /// how many more there were beyond the kept list.
    pub fn foreign_attempts(&self) -> (Vec<ForeignAttempt>, u64) {
        self.foreign.list()
    }

    /// A team's running simulation (when this node runs it).
    pub fn live(&self, team: &str) -> Option<Arc<Live>> {
        self.team(team).and_then(Team::here).map(|h| h.live.clone())
    }

    /// When the drill started (the scoreboard's `changed_us` counts from here).
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Its organiser and place.
    pub fn cover(&self) -> &crate::governance::report::Cover {
        &self.cover
    }

    /// An exam's cohort (empty when none was given).
    pub fn cohort(&self) -> &str {
        &self.cohort
    }

    /// The seed of every team's range.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// An exam's variant seed.
    pub fn variant_seed(&self) -> Option<u64> {
        self.variant_seed
    }

    /// A team's judged events so far (its log without plain traffic, see
    /// `EventKind::judged`) and the tick they are judged at, the one its range has reached
    /// (`Published::reached`): what scores, findings, reports and exam grades are computed
    /// from. A team whose judged events outgrew memory (`MAX_JUDGED_IN_MEMORY`) is read from
    /// the store: as far as the recorder has committed (within a second of now; all of it once
    /// the drill stopped), and judged at the first tick not on disk while some are not. Either
    /// way the events are those before the tick returned: none of a tick the range has not
    /// finished, nor of one the store has not. `Ok(None)`: no such team here.
    pub fn judged_log(&self, team: &str) -> crate::Result<Option<(Vec<SimEvent>, u64)>> {
        let Some(k) = self.teams.iter().position(|t| t.info.id == team) else { return Ok(None) };
        let Some(h) = self.teams[k].here() else { return Ok(None) };
        let mut end = h.published.reached.load(Ordering::Acquire);
        let mut events = {
            let judged = h.published.judged.lock().unwrap_or_else(|e| e.into_inner());
            if judged.spilled { None } else { Some(judged.events.clone()) }
        };
        if events.is_none() {
            let db = self
                .database
                .as_ref()
                .ok_or_else(|| crate::Error::Failed("the drill is not recorded".into()))?;
            // Judged as far as its events are on disk: to the tick reached once they all are.
            let last_event = h.published.hash.lock().unwrap_or_else(|e| e.into_inner()).1;
            if let Some(durable) = self.starter.durable(k)
                && durable <= last_event
            {
                end = end.min(durable);
            }
            events = Some(db.open()?.judged_events(&self.id, team)?);
        }
        let mut events = events.unwrap_or_default();
        events.retain(|e| e.tick < end);
        Ok(Some((events, end)))
    }

    /// A team's score as its after-action report gives it: its judged log scored at its end
    /// (what the command line prints as the drill stops, rather than the last board's row,
    /// which may be a card behind).
    pub fn final_score(&self, team: &str) -> crate::Result<Option<f64>> {
        let Some((events, end)) = self.judged_log(team)? else { return Ok(None) };
        Ok(Some(self.card_at_end(&events, end, None).total))
    }

    /// Whether team `team` (here) solved flag challenge `challenge` before (from its judged
    /// events in memory; a team judged from the store is told as for a first solve).
    fn solved_before(&self, team: &str, challenge: &str) -> bool {
        let Some(h) = self.team(team).and_then(Team::here) else { return false };
        let judged = h.published.judged.lock().unwrap_or_else(|e| e.into_inner());
        judged.events.iter().any(|e| {
            matches!(&e.kind, EventKind::InputApplied { input: SimInput::SubmitFlag { challenge: c, valid: true, .. } } if c == challenge)
        })
    }

    /// How many of a team's judged events are in memory, and whether they outgrew it.
    pub fn judged_in_memory(&self, team: &str) -> Option<(usize, bool)> {
        let h = self.team(team)?.here()?;
        let judged = h.published.judged.lock().unwrap_or_else(|e| e.into_inner());
        Some((judged.events.len(), judged.spilled))
    }

    /// The SHA-256 of a team's whole event log so far, as `icsdrill replay` prints it.
    pub fn log_hash(&self, team: &str) -> Option<String> {
        let h = self.team(team)?.here()?;
        Some(h.published.hash.lock().unwrap_or_else(|e| e.into_inner()).0.hex())
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
        let lives: Vec<Arc<Live>> =
            self.teams.iter().filter_map(Team::here).map(|h| h.live.clone()).collect();
        let targets: Vec<u64> = lives.iter().map(|l| l.snapshot().tick + n).collect();
        for l in &lives {
            l.step(n);
        }
        for (l, target) in lives.iter().zip(targets) {
            l.wait_for_tick(target).await;
        }
    }

    /// Resolves once team `team`'s record on disk reaches `tick` (at once for a drill that keeps
    /// no record, or a team it does not know).
    pub async fn recorded(&self, team: &str, tick: u64) {
        let Some(k) = self.teams.iter().position(|t| t.info.id == team) else { return };
        let durable = self.recorder.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|r| r.durable(k));
        if let Some(mut durable) = durable {
            let _ = durable.wait_for(|t| *t >= tick).await;
        }
    }

    /// A turn to build a report or grade for `team` (one at a time a team, a few at once).
    fn report_turn(&self, team: &str) -> Result<gate::Pass<'_>, icsdrill_web::ServiceError> {
        self.reports.enter(team, REPORT_WAIT).map_err(|refused| {
            let message = match refused {
                gate::Refused::Own => "this team's report is being built already; try again in a moment",
                gate::Refused::Full => "other reports are being built; try again in a moment",
            };
            icsdrill_web::ServiceError::Unavailable { message: message.into(), retry_after_s: 2 }
        })
    }

    /// Resolves once every team's log here is on disk to its last event (at once for a drill
    /// that keeps no record): what judging from the store needs of a drill that has ended.
    pub async fn all_recorded(&self) {
        for t in &self.teams {
            let Some(h) = t.here() else { continue };
            // The tick a range may have been finishing as the drill ended is in its log first.
            h.live.settled().await;
            let last = h.published.hash.lock().unwrap_or_else(|e| e.into_inner()).1;
            self.recorded(&t.info.id, last + 1).await;
        }
        // And the phase that ended it: the findings read it from the store.
        let phases =
            self.recorder.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(Recorder::phases_recorded);
        if let Some(phases) = phases {
            phases.await;
        }
    }

    /// Team `id`'s index (it must be one of the drill's).
    fn index(&self, id: &str) -> usize {
        self.teams.iter().position(|t| t.info.id == id).expect("one of the drill's teams")
    }

    fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.info.id == id)
    }

    /// The furthest range's tick, here or on another node (a node running none of the teams
    /// past the freeze still freezes its board).
    pub(crate) fn furthest_tick(&self) -> u64 {
        self.furthest_tick_of(&self.teams.iter().map(Team::here).collect::<Vec<_>>())
    }

    /// The furthest tick of the ranges this node runs (0: none), what its heartbeat tells the
    /// other nodes.
    pub(crate) fn tick_here(&self) -> u64 {
        self.teams.iter().filter_map(Team::here).map(|h| h.live.snapshot().tick).max().unwrap_or(0)
    }

    /// `furthest_tick`, given the ranges here (`Team::here` of each team).
    fn furthest_tick_of(&self, heres: &[Option<Arc<Here>>]) -> u64 {
        let here = heres.iter().flatten().map(|h| h.live.snapshot().tick);
        here.max().unwrap_or(0).max(self.remote_tick.load(Ordering::Acquire))
    }

    /// A resumed drill's score history from its teams' logs as their hooks read them again
    /// (a new drill's is empty): the chart starts at the drill's start, not the resume.
    fn seed_history(&self) {
        let mut changes: Vec<(u64, usize, f64)> = Vec::new();
        for (k, t) in self.teams.iter().enumerate() {
            if let Some(h) = t.here() {
                let past =
                    std::mem::take(&mut *h.published.past_totals.lock().unwrap_or_else(|e| e.into_inner()));
                changes.extend(past.into_iter().map(|(tick, total, _)| (tick, k, total)));
            }
        }
        changes.sort_by_key(|&(tick, k, _)| (tick, k));
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        for at in changes.chunk_by(|a, b| a.0 == b.0) {
            let at_s = at[0].0 as f64 / f64::from(self.scenario.tick_hz);
            history
                .record_totals(at_s, at.iter().map(|&(_, k, total)| (self.teams[k].info.id.as_str(), total)));
        }
    }

    /// Applies a control: the next phase, recorded, and every range's clock run or held.
    fn set_phase(&self, control: Control) -> Result<Phase, icsdrill_drill::PhaseError> {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        let next = phase.after(control)?;
        *phase = next;
        self.phase_changes.fetch_add(1, Ordering::SeqCst);
        self.phase_watch.send_replace(next);
        let started = (control == Control::Start).then(crate::governance::dates::now_ms);
        started.inspect(|ms| self.tick0_ms.store(*ms, Ordering::Relaxed));
        if let Some(r) = &*self.recorder.lock().unwrap_or_else(|e| e.into_inner()) {
            r.phase(next, started);
        }
        self.run_clocks(next);
        Ok(next)
    }

    /// Takes on a phase another node of the drill set (it recorded it already).
    fn adopt_phase(&self, next: Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        if *phase == next {
            return;
        }
        if *phase == Phase::Briefing {
            self.tick0_ms.store(crate::governance::dates::now_ms(), Ordering::Relaxed);
        }
        *phase = next;
        self.phase_changes.fetch_add(1, Ordering::SeqCst);
        self.phase_watch.send_replace(next);
        self.run_clocks(next);
        drop(phase);
        self.changed.notify_one();
    }

    /// Runs or holds every range's clock here as `phase` says. Held by a pause or the end,
    /// every range first runs on to the furthest one's tick: a range that fell behind (a
    /// stall, a team held by its records) is paused, judged and ranked at the same tick as the
    /// others (give or take the tick a range may be finishing as it is held).
    pub(super) fn run_clocks(&self, phase: Phase) {
        let run = phase.clock_runs() && !self.manual_clock;
        let heres: Vec<_> = self.teams.iter().filter_map(Team::here).collect();
        for h in &heres {
            h.live.set_running(run);
        }
        if !phase.clock_runs() && phase != Phase::Briefing {
            // Resumed, a range stands after its last recorded event, and its run had reached
            // further where its last seconds logged nothing (its stored card says how far):
            // those ticks run again, as they ran, so its clock says where the run stopped.
            let furthest = heres
                .iter()
                .map(|h| h.live.snapshot().tick.max(h.published.reached.load(Ordering::Acquire)))
                .max()
                .unwrap_or(0);
            for h in &heres {
                h.live.catch_up_to(furthest);
            }
        }
    }
}
