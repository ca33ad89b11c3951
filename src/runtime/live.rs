//! The real-time runtime: a job of the simulation pool (`pool`) owns the `Sim` and ticks it
//! from the wall clock; everyone else queues commands and reads the latest `Snapshot`.
//!
//! The tick never waits on a socket: it drains whatever commands are queued (at most
//! `MAX_INPUTS_PER_TICK`), steps, publishes the snapshot and the new events, then answers the
//! writes it applied. Readers never block the tick: they load the snapshot (`ArcSwap`) and
//! read published events under a read lock held only to copy.
//!
//! Everything a range keeps is bounded. Traffic is recorded request by request only within a
//! budget per PLC and per range each tick (`RECORDS_PER_PLC_PER_TICK`,
//! `RECORDS_PER_RANGE_PER_TICK`); the rest is still answered and counted in one
//! `traffic_summary` input per tick, by PLC, source and function code, so the log, detection
//! and replays see a flood without growing with it. Writes have their own budget
//! (`WRITES_PER_PLC_PER_TICK`, `WRITES_PER_RANGE_PER_TICK`): beyond it a PLC answers "busy"
//! (exception 06), as a loaded controller does. The simulation and the published log keep a
//! window of recent events (`LIVE_EVENT_WINDOW`); the whole log is on disk when a store
//! records the range.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use icsdrill_engine::scenario::{HostIdx, PlcIdx};
use icsdrill_engine::systems::attacker::Intent;
use icsdrill_engine::{RejectReason, Scenario, Sim, SimEvent, SimInput, Snapshot};
use tokio::sync::{mpsc, oneshot, watch};

use super::budget::{Budget, CONNECTIONS};
use super::pool::{Job, Next, Pool, Waker};
use super::window::Published;

/// Gives back a range's `Sim` once its job has stopped.
pub struct SimHandle(std::sync::mpsc::Receiver<Sim>);

impl SimHandle {
    /// Waits (blocking) for the simulation to stop; `Err` when its job failed (panicked).
    pub fn join(self) -> Result<Sim, SimFailed> {
        self.0.recv().map_err(|_| SimFailed)
    }
}

/// A simulation's job ended without handing back its `Sim` (it panicked: see the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimFailed;

/// Commands queued between two ticks; beyond this, senders see a full queue.
pub const COMMAND_QUEUE: usize = 65_536;
/// Most inputs one tick applies; the rest wait for the next tick.
pub const MAX_INPUTS_PER_TICK: usize = 20_000;
/// Traffic records one PLC's endpoint sends per tick; beyond, requests are only counted.
pub const RECORDS_PER_PLC_PER_TICK: u32 = 8;
/// Traffic records one range sends per tick over all its PLCs; beyond, requests are only
/// counted.
pub const RECORDS_PER_RANGE_PER_TICK: u32 = 16;
/// Writes (and diagnostics) one PLC takes per tick; beyond, it answers busy (exception 06).
pub const WRITES_PER_PLC_PER_TICK: u32 = 8;
/// Writes (and diagnostics) one range takes per tick over all its PLCs.
pub const WRITES_PER_RANGE_PER_TICK: u32 = 32;
/// Distinct (PLC, source, function) counts one tick's summary holds; more fold into the
/// PLC and source's function-0 entry.
pub const MAX_SUMMARY_ENTRIES: usize = 4_096;
/// Events a live range keeps in memory (its published log: the simulation keeps only the tick
/// being computed, and takes the published window back when it stops), for the consoles and
/// the transaction API; older ones are on disk when a store records the range.
pub const LIVE_EVENT_WINDOW: usize = 20_000;

/// What the runtime's queue carries.
#[derive(Debug)]
pub enum Command {
    /// An input whose outcome nobody waits for (a served read, a connection).
    Record(SimInput),
    /// An input whose outcome is awaited (a Modbus write, a defender action).
    Apply(SimInput, Ticket),
}

/// What an applied input comes back as: its outcome and the tick that applied it.
type Outcome = oneshot::Receiver<(Result<(), RejectReason>, u64)>;

/// The waiting side's claim on an `Apply`: the simulation job takes it (and then applies the
/// input and answers with the tick) unless the waiter cancelled it first.
#[derive(Debug)]
pub struct Ticket {
    state: Arc<AtomicU8>,
    reply: oneshot::Sender<(Result<(), RejectReason>, u64)>,
}

const PENDING: u8 = 0;
const TAKEN: u8 = 1;
const CANCELLED: u8 = 2;

/// Why an input given to `apply_within` has no plain outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyError {
    /// The simulation refused it (the plant is unchanged).
    Rejected(RejectReason),
    /// The queue was full or the range has stopped: nothing was done.
    Unavailable,
    /// Not applied in time (the clock is held or the range busy) and withdrawn: nothing was
    /// done, so sending it again is safe.
    NotApplied,
    /// Applied to the plant, but its tick is not on disk yet (the database refuses writes):
    /// it is recorded once the database accepts writes again, and lost if the program dies
    /// before that.
    NotRecorded,
}

/// How to run the clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Ticks per wall second (the scenario's own rate is real time).
    pub ticks_per_s: f64,
    /// Stop after this many ticks.
    pub end_tick: Option<u64>,
}

/// Called by the simulation job after every tick with the simulation, the tick the inputs were
/// applied at, those inputs in order, and the tick's new events (scoring and recording hang
/// off it). Keep it short: the next tick waits for it.
pub type TickHook = Box<dyn FnMut(&Sim, &Snapshot, u64, Vec<SimInput>, &[SimEvent]) + Send>;

/// Asked by the simulation job before every tick: whether the range may tick now. While it says
/// no (the team's records have no room), the range's clock holds and the worker goes on with
/// the other ranges: one team's backlog never holds a shared thread.
pub type TickGate = Box<dyn Fn() -> bool + Send>;

/// How to start a `Live` beyond the scenario, seed and clock.
#[derive(Default)]
pub struct Extras {
    /// Start with the clock held (a drill in briefing).
    pub held: bool,
    /// Called after every tick.
    pub hook: Option<TickHook>,
    /// Asked before every tick (see `TickGate`).
    pub gate: Option<TickGate>,
    /// The first tick not yet on disk (earlier ones are): a write is answered only once the
    /// tick that applied it is on disk.
    pub durable: Option<watch::Receiver<u64>>,
    /// Continue this simulation (a resumed drill) instead of a new one.
    pub sim: Option<Sim>,
    /// Where each tick's routine requests go to be put on the wire.
    pub routine: Option<mpsc::Sender<Vec<icsdrill_engine::systems::routine::RoutineRequest>>>,
    /// Which events a team's console shows: numbered apart (`shown_since`).
    pub shows: Option<fn(&SimEvent) -> bool>,
}

/// Where the simulation job is: published after every tick, so waiters need not poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Ticks completed.
    pub tick: u64,
    /// The simulation job has stopped or is stopping.
    pub stopped: bool,
}

/// One reader's copy of a range's latest snapshot (a Modbus connection's): refreshed only when
/// a newer one was published, so a request costs one atomic load rather than a lock and a
/// reference count shared with every other connection.
pub struct SnapshotCache {
    version: u64,
    snapshot: Arc<Snapshot>,
}

impl SnapshotCache {
    /// A copy of `live`'s latest snapshot.
    pub fn new(live: &Live) -> SnapshotCache {
        SnapshotCache { version: live.version.load(Ordering::Acquire), snapshot: live.snapshot() }
    }

    /// `live`'s latest snapshot (taken again only if a newer one was published since).
    pub fn get(&mut self, live: &Live) -> &Snapshot {
        let version = live.version.load(Ordering::Acquire);
        if version != self.version {
            self.snapshot = live.snapshot();
            self.version = version;
        }
        &self.snapshot
    }
}

/// A running simulation, shared by endpoints and the HTTP API.
pub struct Live {
    /// The scenario.
    pub scenario: Arc<Scenario>,
    /// Seed of the run.
    pub seed: u64,
    /// The latest snapshot; replaced after every tick. A lock held only to clone or replace
    /// the `Arc`: unlike `arc_swap`, whose every store visits every thread that ever loaded
    /// (a hundred ranges' threads made that a quarter of their CPU), replacing costs the same
    /// however many threads read.
    snapshot: RwLock<Arc<Snapshot>>,
    /// Counts the snapshots published: a `SnapshotCache` takes the lock only when it moved.
    version: AtomicU64,
    /// A window of recent events, in log order. Appended once per tick by the simulation job;
    /// readers hold the lock only to copy.
    pub(super) events: RwLock<Published>,
    /// Queue into the simulation job.
    tx: mpsc::Sender<Command>,
    /// This tick's traffic against the record and write budgets.
    budget: Budget,
    /// Records dropped because the queue was full; they never reach the log. Budgets keep
    /// traffic far below the queue's size, so this stays 0 unless the simulation job stalls.
    dropped: AtomicU64,
    /// Requests counted in traffic summaries rather than recorded one by one.
    summarised: AtomicU64,
    /// Set to stop the simulation job.
    stop: AtomicBool,
    /// The clock runs (a drill's `live` phase); otherwise the plant holds still.
    running: AtomicBool,
    /// Ticks to run while the clock is held (an instructor stepping a paused drill).
    steps: AtomicU64,
    /// A held clock still runs up to this tick (`catch_up_to`).
    until: AtomicU64,
    /// Counts what was asked of a held clock (a hold, a step, a catch-up): `settled` waits
    /// for the simulation job to have seen the latest and run out of ticks to do.
    asked: AtomicU64,
    /// The last `asked` the job found nothing left to do at (its clock held).
    idle: watch::Sender<u64>,
    /// The durable tick, when a store records this range.
    durable: Option<watch::Receiver<u64>>,
    /// Progress of the simulation job.
    progress: watch::Sender<Progress>,
    /// Wakes the simulation's job (a stop, a start, a step).
    waker: OnceLock<Waker>,
    /// Notified whenever an input is queued to apply (for whoever steps a held clock).
    queued: tokio::sync::Notify,
    /// When the runtime started.
    started: Instant,
}

impl Live {
    /// Starts the simulation on the pool. `Live` is returned at once; the handle gives back the
    /// `Sim` (with the recent tail of its log) when it stops.
    /// With `attacker`, the attack's Modbus actions go to that channel for the live attacker
    /// instead of being carried out inside the simulation.
    pub fn start(
        scenario: Arc<Scenario>,
        seed: u64,
        clock: Clock,
        attacker: Option<mpsc::Sender<Intent>>,
    ) -> (Arc<Live>, SimHandle) {
        Live::start_with(scenario, seed, clock, attacker, Extras::default())
    }

    /// `start`, with `extras`: the clock held, a hook after every tick, durable answers, a
    /// simulation to continue.
    pub fn start_with(
        scenario: Arc<Scenario>,
        seed: u64,
        clock: Clock,
        attacker: Option<mpsc::Sender<Intent>>,
        extras: Extras,
    ) -> (Arc<Live>, SimHandle) {
        let Extras { held, hook, gate, durable, sim, routine, shows } = extras;
        assert!(
            clock.ticks_per_s.is_finite() && clock.ticks_per_s > 0.0,
            "ticks per second must be positive"
        );
        let mut sim = sim.unwrap_or_else(|| Sim::new(scenario.clone(), seed));
        // One log in memory: the published one. The simulation keeps the tick it computes.
        sim.set_event_window(1);
        if attacker.is_some() {
            sim.set_live_attacker();
        }
        if routine.is_some() {
            sim.set_routine_wire();
        }
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let mut published = Published::starting_at(sim.event_count() - sim.events().len() as u64, shows);
        published.extend(sim.events());
        let live = Arc::new(Live {
            budget: Budget::new(scenario.plcs.len()),
            scenario,
            seed,
            snapshot: RwLock::new(Arc::new(sim.snapshot())),
            version: AtomicU64::new(0),
            events: RwLock::new(published),
            tx,
            dropped: AtomicU64::new(0),
            summarised: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            running: AtomicBool::new(!held),
            steps: AtomicU64::new(0),
            until: AtomicU64::new(0),
            asked: AtomicU64::new(1),
            idle: watch::Sender::new(0),
            durable,
            progress: watch::Sender::new(Progress { tick: sim.tick(), stopped: false }),
            waker: OnceLock::new(),
            queued: tokio::sync::Notify::new(),
            started: Instant::now(),
        });
        let (done, handle) = std::sync::mpsc::sync_channel(1);
        let runner = Runner {
            sim: Some(sim),
            live: live.clone(),
            rx,
            clock,
            period: Duration::from_secs_f64(1.0 / clock.ticks_per_s),
            next: Instant::now(),
            out: Outboxes { attacker, routine },
            hook,
            gate,
            done,
        };
        let _ = live.waker.set(Pool::sims().spawn(Box::new(runner)));
        (live, SimHandle(handle))
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Queues an input without waiting (one that must reach the log: an attack result);
    /// counts it as dropped when the queue is full.
    pub fn record(&self, input: SimInput) {
        // Closed: the range has ended, and what comes after is not the drill's.
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(Command::Record(input)) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records Modbus traffic (`repeat` requests, or connection attempts when `function` is
    /// `None`) from `source` to `plc`: as the input `make` builds when this tick's budgets
    /// allow one more record, otherwise only counted for the tick's traffic summary.
    pub fn record_traffic(
        &self,
        plc: PlcIdx,
        source: HostIdx,
        function: Option<u8>,
        repeat: u32,
        exception: bool,
        make: impl FnOnce() -> SimInput,
    ) {
        let b = &self.budget;
        if Budget::take(
            &b.plc_records[plc.ix()],
            RECORDS_PER_PLC_PER_TICK,
            &b.range_records,
            RECORDS_PER_RANGE_PER_TICK,
        ) {
            self.record(make());
            return;
        }
        let key = function.map_or(CONNECTIONS, u16::from);
        b.count_over(plc, source, key, repeat, if exception { repeat } else { 0 });
        self.summarised.fetch_add(u64::from(repeat), Ordering::Relaxed);
    }

    /// Takes one write from this tick's write budget of `plc`; `false` when it is spent (the
    /// write is then counted as answered busy).
    pub fn take_write(&self, plc: PlcIdx, source: HostIdx, function: u8) -> bool {
        let b = &self.budget;
        if Budget::take(
            &b.plc_writes[plc.ix()],
            WRITES_PER_PLC_PER_TICK,
            &b.range_writes,
            WRITES_PER_RANGE_PER_TICK,
        ) {
            return true;
        }
        b.count_over(plc, source, u16::from(function), 1, 1);
        self.summarised.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Queues an input and waits for the tick that applies it (and, when a store records the
    /// range, until that tick is on disk). `Err(None)` when the queue is full or the runtime
    /// has stopped.
    pub async fn apply(&self, input: SimInput) -> Result<(), Option<RejectReason>> {
        let (_, outcome) = self.queue(input).map_err(|()| None)?;
        let Ok((result, tick)) = outcome.await else { return Err(None) };
        if let Some(durable) = &self.durable {
            // Answered only once the tick that applied it is on disk.
            durable.clone().wait_for(|t| *t > tick).await.map_err(|_| None)?;
        }
        result.map_err(Some)
    }

    /// `apply`, but gives up after `limit`: an input not yet taken by the simulation job is
    /// withdrawn (`NotApplied`: nothing happened), one applied but not yet on disk after
    /// another `limit` is `NotRecorded`.
    pub async fn apply_within(&self, input: SimInput, limit: Duration) -> Result<(), ApplyError> {
        let (state, mut outcome) = self.queue(input).map_err(|()| ApplyError::Unavailable)?;
        let (result, tick) = match tokio::time::timeout(limit, &mut outcome).await {
            Ok(Ok(o)) => o,
            Ok(Err(_)) => return Err(ApplyError::Unavailable),
            Err(_) => {
                if state.compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                    return Err(ApplyError::NotApplied);
                }
                // Taken just now: its outcome comes with this tick.
                match outcome.await {
                    Ok(o) => o,
                    Err(_) => return Err(ApplyError::Unavailable),
                }
            }
        };
        if let Some(durable) = &self.durable {
            let mut durable = durable.clone();
            match tokio::time::timeout(limit, durable.wait_for(|t| *t > tick)).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return Err(ApplyError::Unavailable),
                Err(_) => return Err(ApplyError::NotRecorded),
            }
        }
        result.map_err(ApplyError::Rejected)
    }

    /// Queues an input to apply; returns its ticket's state and the outcome to wait for, or
    /// `Err` when the queue is full or closed.
    fn queue(&self, input: SimInput) -> Result<(Arc<AtomicU8>, Outcome), ()> {
        let (reply, outcome) = oneshot::channel();
        let state = Arc::new(AtomicU8::new(PENDING));
        self.tx.try_send(Command::Apply(input, Ticket { state: state.clone(), reply })).map_err(|_| ())?;
        self.queued.notify_one();
        Ok((state, outcome))
    }

    /// Number of events so far (the whole log, not only the window).
    pub fn event_count(&self) -> u64 {
        self.events.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Requests counted in traffic summaries instead of recorded one by one.
    pub fn summarised(&self) -> u64 {
        self.summarised.load(Ordering::Relaxed)
    }

    /// Wall time since start.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Asks the simulation job to stop after its current tick (at once if it is waiting for the
    /// next one).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.progress.send_modify(|p| p.stopped = true);
        self.wake();
    }

    /// Runs or holds the clock (a paused drill holds it; queued inputs wait).
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::SeqCst);
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.wake();
    }

    /// Whether the clock runs.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    /// While the clock is held, runs `n` more ticks (as fast as they go).
    pub fn step(&self, n: u64) {
        self.steps.fetch_add(n, Ordering::SeqCst);
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.wake();
    }

    /// Runs a held clock on until the range reaches tick `tick` (none if it has): a range
    /// that fell behind the others catches up when the drill pauses or ends.
    pub fn catch_up_to(&self, tick: u64) {
        self.until.fetch_max(tick, Ordering::SeqCst);
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.wake();
    }

    /// Resolves once a held clock has run every tick asked of it so far (the tick it may
    /// have been finishing as it was held, its steps, its catch-up), its hook included, or
    /// the job stopped: what the range has published then stays until its clock runs again.
    /// Never while the clock runs.
    pub async fn settled(&self) {
        let asked = self.asked.load(Ordering::SeqCst);
        let mut idle = self.idle.subscribe();
        let mut progress = self.progress.subscribe();
        tokio::select! {
            _ = idle.wait_for(|&seen| seen >= asked) => {}
            _ = progress.wait_for(|p| p.stopped) => {}
        }
    }

    /// Resolves when an input has been queued to apply since the last call (a white cell
    /// stepping a held clock steps when there is something to apply).
    pub async fn input_queued(&self) {
        self.queued.notified().await;
    }

    /// Follows the simulation job's progress (tick by tick).
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// Waits until the published snapshot reaches `tick` or the runtime stops.
    pub async fn wait_for_tick(&self, tick: u64) {
        let mut progress = self.progress.subscribe();
        let _ = progress.wait_for(|p| p.tick >= tick || p.stopped).await;
    }

    /// Resolves when the simulation job has stopped (by `stop` or at its end tick).
    pub async fn finished(&self) {
        let mut progress = self.progress.subscribe();
        let _ = progress.wait_for(|p| p.stopped).await;
    }

    /// Whether the simulation job was asked to stop or reached its end tick.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn wake(&self) {
        if let Some(w) = self.waker.get() {
            w.wake();
        }
    }
}

/// A range's simulation as a job of the pool: each run does at most one tick.
struct Runner {
    /// Taken when the job is done (handed back through `done`).
    sim: Option<Sim>,
    live: Arc<Live>,
    rx: mpsc::Receiver<Command>,
    clock: Clock,
    period: Duration,
    /// When the next tick is due while the clock runs.
    next: Instant,
    out: Outboxes,
    hook: Option<TickHook>,
    gate: Option<TickGate>,
    done: std::sync::mpsc::SyncSender<Sim>,
}

impl Drop for Runner {
    /// Marks the runtime stopped when the job ends, also by a panic, so nobody waits for
    /// ticks that will never come.
    fn drop(&mut self) {
        self.live.stop();
    }
}

impl Job for Runner {
    fn run(&mut self) -> Next {
        let Runner { sim: slot, live, rx, hook, .. } = self;
        let Some(sim) = slot.as_mut() else { return Next::Done };
        // Read before the clock's state: a hold asked after this is seen by the next run.
        let asked = live.asked.load(Ordering::SeqCst);
        if live.stopped() {
            // Whatever was queued or counted before the stop still reaches the log. A timed
            // end's last tick took it all: what slipped in as the queue closed is refused (a
            // write's waiter hears the range stopped), reads counted since are past the end.
            rx.close();
            if self.clock.end_tick.is_some_and(|end| sim.tick() >= end) {
                while rx.try_recv().is_ok() {}
            } else {
                while !rx.is_empty() || live.budget.has_over() {
                    tick(sim, live, rx, hook, false);
                }
            }
            let window = live.events.read().unwrap_or_else(|e| e.into_inner());
            sim.adopt_events(window.first_seq, window.events.clone());
            drop(window);
            let _ = self.done.send(slot.take().expect("taken only here"));
            return Next::Done;
        }
        let now = Instant::now();
        if self.gate.as_ref().is_some_and(|may_tick| !may_tick()) {
            // Held by its records (a step waits too): looked at again a period later.
            return Next::At(now + self.period);
        }
        if !live.running.load(Ordering::SeqCst) {
            // Held: behind the others it catches up at once, else it ticks only when stepped.
            let behind = sim.tick() < live.until.load(Ordering::SeqCst);
            if !behind
                && live.steps.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err()
            {
                // Nothing until a start, a step or a stop wakes the job.
                live.idle.send_if_modified(|seen| std::mem::replace(seen, asked) != asked);
                self.next = now + self.period;
                return Next::Wait;
            }
        } else {
            // The pool runs a job up to its slack early: that is its tick, not a spin.
            if now + super::pool::SLACK < self.next {
                return Next::At(self.next);
            }
            self.next += self.period;
            // After a long stall (a debugger, a suspended laptop, an overloaded pool) run on
            // from now rather than racing to catch up.
            if now > self.next + 10 * self.period {
                self.next = now + self.period;
            }
        }
        // A timed end's last tick takes everything queued before it and closes the queue:
        // a write still in flight lands before the end or is refused, never applied after it.
        let last = self.clock.end_tick.is_some_and(|end| sim.tick() + 1 >= end);
        if last {
            rx.close();
        }
        tick(sim, live, rx, hook, last);
        self.out.hand_over(sim, live);
        if self.clock.end_tick.is_some_and(|end| sim.tick() >= end) {
            live.stop();
        }
        if live.running() { Next::At(self.next) } else { Next::At(now) }
    }
}

/// Where the simulation job hands what the live range carries out on the wire.
struct Outboxes {
    attacker: Option<mpsc::Sender<Intent>>,
    routine: Option<mpsc::Sender<Vec<icsdrill_engine::systems::routine::RoutineRequest>>>,
}

impl Outboxes {
    /// Hands the tick's routine requests and attack intents to the wire.
    fn hand_over(&self, sim: &mut Sim, live: &Live) {
        if let Some(routine) = &self.routine
            && !sim.routine_due().is_empty()
        {
            // The log has these already; the wire is best effort: a sender far behind skips a
            // tick's polls rather than queueing them.
            let _ = routine.try_send(sim.routine_due().to_vec());
        }
        for intent in sim.take_attack_intents() {
            if let Some(attacker) = &self.attacker
                && let Err(e) = attacker.try_send(intent)
            {
                // The attacker is far behind (or gone): the attempt fails rather than waits.
                let intent = match e {
                    mpsc::error::TrySendError::Full(i) | mpsc::error::TrySendError::Closed(i) => i,
                };
                tracing::warn!(step = %intent.step, "the live attacker is not keeping up: attempt failed");
                live.record(SimInput::AttackResult {
                    step: intent.step,
                    attempt: intent.attempt,
                    ok: false,
                    reason: Some(RejectReason::ConnectionLimit),
                });
            }
        }
    }
}

/// One tick: drain the queue (`all` of it: a timed end's last tick, else at most
/// `MAX_INPUTS_PER_TICK`), step, publish, answer the writes.
fn tick(
    sim: &mut Sim,
    live: &Live,
    rx: &mut mpsc::Receiver<Command>,
    hook: &mut Option<TickHook>,
    all: bool,
) {
    let mut inputs = Vec::new();
    let mut replies = Vec::new();
    while all || inputs.len() < MAX_INPUTS_PER_TICK {
        match rx.try_recv() {
            Ok(Command::Record(input)) => inputs.push(input),
            Ok(Command::Apply(input, ticket)) => {
                // Withdrawn by a waiter that gave up: never applied, never recorded.
                if ticket.state.compare_exchange(PENDING, TAKEN, Ordering::AcqRel, Ordering::Acquire).is_ok()
                {
                    replies.push((inputs.len(), ticket.reply));
                    inputs.push(input);
                }
            }
            Err(_) => break,
        }
    }
    if let Some(summary) = live.budget.next_tick(&live.scenario) {
        inputs.push(summary);
    }
    let tick = sim.tick();
    let before = sim.event_count();
    let (outcomes, recorded) = sim.step_recorded(inputs);
    let new = sim.events_since(before);
    let next = Arc::new(sim.snapshot_after(&live.snapshot()));
    // The old one is dropped after the lock is let go: readers never wait on a free.
    let old = std::mem::replace(&mut *live.snapshot.write().unwrap_or_else(|e| e.into_inner()), next.clone());
    live.version.fetch_add(1, Ordering::Release);
    drop(old);
    live.events.write().unwrap_or_else(|e| e.into_inner()).extend(new);
    if let Some(hook) = hook {
        hook(sim, &next, tick, recorded, new);
    }
    live.progress.send_modify(|p| p.tick = sim.tick());
    // Answer only once the snapshot shows the write, so a read after the answer sees it.
    for (i, reply) in replies {
        let _ = reply.send((outcomes[i], tick));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_has_a_bounded_number_of_entries() {
        let s = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().load().unwrap();
        let b = Budget::new(s.plcs.len());
        // More distinct (PLC, source, function) keys than a summary holds.
        for f in 0..=255u16 {
            for plc in 0..s.plcs.len() as u32 {
                for host in 0..s.hosts.len() as u32 {
                    b.count_over(PlcIdx(plc), HostIdx(host), f, 2, 1);
                }
            }
        }
        let n = 256 * s.plcs.len() * s.hosts.len();
        assert!(n > MAX_SUMMARY_ENTRIES);
        let Some(SimInput::TrafficSummary { entries }) = b.next_tick(&s) else { panic!("a summary") };
        assert!(entries.len() <= MAX_SUMMARY_ENTRIES);
        assert_eq!(
            entries.iter().map(|c| u64::from(c.count)).sum::<u64>(),
            2 * n as u64,
            "nothing uncounted"
        );
        assert!(b.next_tick(&s).is_none(), "a new tick starts empty");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_timed_end_takes_all_that_was_queued_before_it_and_nothing_after() {
        let s = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().load().unwrap();
        let clock = Clock { ticks_per_s: 200.0, end_tick: Some(10) };
        let (live, handle) = Live::start_with(s, 1, clock, None, Extras { held: true, ..Extras::default() });
        let bound = Duration::from_secs(20);
        live.step(9);
        tokio::time::timeout(bound, live.wait_for_tick(9)).await.expect("stepped");
        // More than a tick takes, and a write queued behind them all.
        for attempt in 0..=MAX_INPUTS_PER_TICK as u32 {
            live.record(SimInput::AttackResult { step: "none".into(), attempt, ok: false, reason: None });
        }
        let write = SimInput::AttackResult { step: "none".into(), attempt: 0, ok: true, reason: None };
        let (_, outcome) = live.queue(write.clone()).expect("queued before the end");
        live.step(1);
        let (_, tick) = tokio::time::timeout(bound, outcome).await.expect("answered").expect("applied");
        assert_eq!(tick, 9, "the write went into the last tick");
        tokio::time::timeout(bound, live.finished()).await.expect("the range ends by itself");
        assert!(live.queue(write).is_err(), "after the end, inputs are refused");
        let sim = tokio::task::spawn_blocking(move || handle.join()).await.unwrap().unwrap();
        assert_eq!(sim.tick(), 10, "no tick past the end");
        assert_eq!(live.dropped(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_held_clock_settles_only_after_every_tick_asked_of_it_and_its_hook() {
        let s = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().load().unwrap();
        // A fast clock, held while it runs: the tick in flight as it is held, then the ticks
        // a catch-up asks for, each hooked before `settled` resolves.
        let clock = Clock { ticks_per_s: 2_000.0, end_tick: None };
        let hooked = Arc::new(AtomicU64::new(0));
        let hook = {
            let hooked = hooked.clone();
            Box::new(move |sim: &Sim, _: &Snapshot, _: u64, _: Vec<SimInput>, _: &[SimEvent]| {
                std::thread::yield_now();
                hooked.store(sim.tick(), Ordering::SeqCst);
            }) as TickHook
        };
        let (live, _h) =
            Live::start_with(s, 1, clock, None, Extras { hook: Some(hook), ..Extras::default() });
        let bound = Duration::from_secs(20);
        for round in 1..=20u64 {
            tokio::time::timeout(bound, live.wait_for_tick(round * 10)).await.expect("it ticks");
            live.set_running(false);
            live.catch_up_to(live.snapshot().tick + 3);
            tokio::time::timeout(bound, live.settled()).await.expect("a held clock settles");
            let tick = live.snapshot().tick;
            assert_eq!(hooked.load(Ordering::SeqCst), tick, "round {round}: the last tick's hook ran");
            assert!(tick >= round * 10 + 3, "round {round}: caught up ({tick})");
            live.set_running(true);
        }
        live.stop();
    }

    #[tokio::test]
    async fn a_closed_gate_holds_its_own_ranges_clock_only() {
        let s = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().load().unwrap();
        let clock = Clock { ticks_per_s: 200.0, end_tick: None };
        let open = Arc::new(AtomicBool::new(false));
        let gate = {
            let open = open.clone();
            Box::new(move || open.load(Ordering::Relaxed)) as TickGate
        };
        let (gated, _g) =
            Live::start_with(s.clone(), 1, clock, None, Extras { gate: Some(gate), ..Extras::default() });
        let (free, _f) = Live::start(s, 1, clock, None);
        let bound = Duration::from_secs(20);
        tokio::time::timeout(bound, free.wait_for_tick(40)).await.expect("the other range ticks on");
        assert_eq!(gated.snapshot().tick, 0, "the gated range has not ticked");
        open.store(true, Ordering::Relaxed);
        tokio::time::timeout(bound, gated.wait_for_tick(5)).await.expect("the gate opened: it ticks");
        gated.stop();
        free.stop();
    }
}
