//! The real-time runtime: one OS thread owns the `Sim` and ticks it from the wall clock;
//! everyone else queues commands and reads the latest `Snapshot`.
//!
//! The tick never waits on a socket: it drains whatever commands are queued (at most
//! `MAX_INPUTS_PER_TICK`), steps, publishes the snapshot and the new events, then answers the
//! writes it applied. Readers never block the tick: they load the snapshot (`ArcSwap`) and
//! read published events under a read lock held only to copy.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use icsdrill_engine::systems::attacker::Intent;
use icsdrill_engine::{EventKind, RejectReason, Scenario, Sim, SimEvent, SimInput, Snapshot};
use tokio::sync::{mpsc, oneshot, watch};

/// Commands queued between two ticks; beyond this, senders see a full queue.
pub const COMMAND_QUEUE: usize = 65_536;
/// Most inputs one tick applies; the rest wait for the next tick.
pub const MAX_INPUTS_PER_TICK: usize = 20_000;

/// What the runtime's queue carries.
#[derive(Debug)]
pub enum Command {
    /// An input whose outcome nobody waits for (a served read, a connection).
    Record(SimInput),
    /// An input whose outcome is awaited (a Modbus write), answered with the tick it was
    /// applied at.
    Apply(SimInput, oneshot::Sender<(Result<(), RejectReason>, u64)>),
}

/// How to run the clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Ticks per wall second (the scenario's own rate is real time).
    pub ticks_per_s: f64,
    /// Stop after this many ticks.
    pub end_tick: Option<u64>,
}

/// Called on the sim thread after every tick with the simulation, the tick the inputs were
/// applied at, those inputs in order, and the tick's new events (scoring and recording hang
/// off it). Keep it short: the next tick waits for it.
pub type TickHook = Box<dyn FnMut(&Sim, u64, Vec<SimInput>, &[SimEvent]) + Send>;

/// How to start a `Live` beyond the scenario, seed and clock.
#[derive(Default)]
pub struct Extras {
    /// Start with the clock held (a drill in briefing).
    pub held: bool,
    /// Called after every tick.
    pub hook: Option<TickHook>,
    /// The first tick not yet on disk (earlier ones are): a write is answered only once the
    /// tick that applied it is on disk.
    pub durable: Option<watch::Receiver<u64>>,
    /// Continue this simulation (a resumed drill) instead of a new one.
    pub sim: Option<Sim>,
}

/// The published log.
#[derive(Default)]
struct Published {
    events: Vec<SimEvent>,
    transactions: Vec<usize>,
}

impl Published {
    fn extend(&mut self, new: &[SimEvent]) {
        for e in new {
            if matches!(e.kind, EventKind::ModbusTransaction { .. } | EventKind::ModbusConnection { .. }) {
                self.transactions.push(self.events.len());
            }
            self.events.push(e.clone());
        }
    }
}

/// A running simulation, shared by endpoints and the HTTP API.
pub struct Live {
    /// The scenario.
    pub scenario: Arc<Scenario>,
    /// Seed of the run.
    pub seed: u64,
    /// The latest snapshot; replaced after every tick.
    snapshot: ArcSwap<Snapshot>,
    /// Every event so far, in log order, and the positions of the Modbus transaction and
    /// connection events among them. Appended once per tick by the sim thread; readers hold
    /// the lock only to copy.
    events: RwLock<Published>,
    /// Queue into the sim thread.
    tx: mpsc::Sender<Command>,
    /// Records dropped because the queue was full (a flood); they never reach the log.
    dropped: AtomicU64,
    /// Set to stop the sim thread.
    stop: AtomicBool,
    /// The clock runs (a drill's `live` phase); otherwise the plant holds still.
    running: AtomicBool,
    /// Ticks to run while the clock is held (an instructor stepping a paused drill).
    steps: AtomicU64,
    /// The durable tick, when a store records this range.
    durable: Option<watch::Receiver<u64>>,
    /// When the runtime started.
    started: Instant,
}

impl Live {
    /// Starts the sim thread. `Live` is returned at once; the join handle gives back the
    /// `Sim` (with its whole log) when the thread stops.
    /// With `attacker`, the attack's Modbus actions go to that channel for the live attacker
    /// instead of being carried out inside the simulation.
    pub fn start(
        scenario: Arc<Scenario>,
        seed: u64,
        clock: Clock,
        attacker: Option<mpsc::UnboundedSender<Intent>>,
    ) -> (Arc<Live>, JoinHandle<Sim>) {
        Live::start_with(scenario, seed, clock, attacker, Extras::default())
    }

    /// `start`, with `extras`: the clock held, a hook after every tick, durable answers, a
    /// simulation to continue.
    pub fn start_with(
        scenario: Arc<Scenario>,
        seed: u64,
        clock: Clock,
        attacker: Option<mpsc::UnboundedSender<Intent>>,
        extras: Extras,
    ) -> (Arc<Live>, JoinHandle<Sim>) {
        let Extras { held, hook, durable, sim } = extras;
        assert!(
            clock.ticks_per_s.is_finite() && clock.ticks_per_s > 0.0,
            "ticks per second must be positive"
        );
        let mut sim = sim.unwrap_or_else(|| Sim::new(scenario.clone(), seed));
        if attacker.is_some() {
            sim.set_live_attacker();
        }
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let live = Arc::new(Live {
            scenario,
            seed,
            snapshot: ArcSwap::from_pointee(sim.snapshot()),
            events: RwLock::new({
                let mut p = Published::default();
                p.extend(sim.events());
                p
            }),
            tx,
            dropped: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            running: AtomicBool::new(!held),
            steps: AtomicU64::new(0),
            durable,
            started: Instant::now(),
        });
        let shared = live.clone();
        let handle = std::thread::Builder::new()
            .name("icsdrill-sim".into())
            .spawn(move || run(sim, &shared, rx, clock, attacker, hook))
            .expect("the OS starts a thread");
        (live, handle)
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The latest snapshot, borrowed: cheaper than `snapshot` on a hot path, but hold it only
    /// for the duration of one request.
    pub fn snapshot_guard(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// Queues an input without waiting; counts it as dropped when the queue is full.
    pub fn record(&self, input: SimInput) {
        if self.tx.try_send(Command::Record(input)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a record that was not even queued (over a connection's budget).
    pub fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Queues an input and waits for the tick that applies it (and, when a store records the
    /// range, until that tick is on disk). `Err(None)` when the queue is full or the runtime
    /// has stopped.
    pub async fn apply(&self, input: SimInput) -> Result<(), Option<RejectReason>> {
        let (reply, outcome) = oneshot::channel();
        self.tx.try_send(Command::Apply(input, reply)).map_err(|_| None)?;
        let Ok((result, tick)) = outcome.await else { return Err(None) };
        if let Some(durable) = &self.durable {
            // Answered only once the tick that applied it is on disk.
            durable.clone().wait_for(|t| *t > tick).await.map_err(|_| None)?;
        }
        result.map_err(Some)
    }

    /// Events with `seq >= since`, at most `limit`, that `keep` accepts.
    pub fn events_since(&self, since: u64, limit: usize, keep: impl Fn(&SimEvent) -> bool) -> Vec<SimEvent> {
        let published = self.events.read().unwrap_or_else(|e| e.into_inner());
        let start = usize::try_from(since).unwrap_or(usize::MAX).min(published.events.len());
        published.events[start..].iter().filter(|e| keep(e)).take(limit).cloned().collect()
    }

    /// Modbus transaction and connection events with `seq >= since`, at most `limit`: found
    /// through an index, so a long log costs a binary search, not a scan under the lock.
    pub fn transactions_since(&self, since: u64, limit: usize) -> Vec<SimEvent> {
        let published = self.events.read().unwrap_or_else(|e| e.into_inner());
        let since = usize::try_from(since).unwrap_or(usize::MAX);
        let from = published.transactions.partition_point(|i| *i < since);
        published.transactions[from..].iter().take(limit).map(|i| published.events[*i].clone()).collect()
    }

    /// Number of events so far.
    pub fn event_count(&self) -> usize {
        self.events.read().unwrap_or_else(|e| e.into_inner()).events.len()
    }

    /// Records dropped under flood.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Wall time since start.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Asks the sim thread to stop after its current tick.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Runs or holds the clock (a paused drill holds it; queued inputs wait).
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Relaxed);
    }

    /// Whether the clock runs.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    /// While the clock is held, runs `n` more ticks (as fast as they go).
    pub fn step(&self, n: u64) {
        self.steps.fetch_add(n, Ordering::Relaxed);
    }

    /// Waits until the published snapshot reaches `tick` or the runtime stops.
    pub async fn wait_for_tick(&self, tick: u64) {
        while self.snapshot_guard().tick < tick && !self.stopped() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Whether the sim thread was asked to stop or reached its end tick.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Marks the runtime stopped when the sim thread ends, also by a panic, so nobody waits for
/// ticks that will never come.
struct StopOnExit<'a>(&'a Live);

impl Drop for StopOnExit<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The sim thread's loop.
fn run(
    mut sim: Sim,
    live: &Live,
    mut rx: mpsc::Receiver<Command>,
    clock: Clock,
    attacker: Option<mpsc::UnboundedSender<Intent>>,
    mut hook: Option<TickHook>,
) -> Sim {
    let _stop = StopOnExit(live);
    let period = Duration::from_secs_f64(1.0 / clock.ticks_per_s);
    let mut next = Instant::now() + period;
    while !live.stopped() {
        if !live.running() {
            let stepped = live.steps.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            if stepped.is_err() {
                std::thread::sleep(Duration::from_millis(10).min(period));
                next = Instant::now() + period;
                continue;
            }
        } else {
            let now = Instant::now();
            if now < next {
                std::thread::sleep(next - now);
            }
            next += period;
            // After a long stall (a debugger, a suspended laptop) run on from now rather than
            // racing to catch up.
            if Instant::now() > next + 10 * period {
                next = Instant::now() + period;
            }
        }
        tick(&mut sim, live, &mut rx, &mut hook);
        for intent in sim.take_attack_intents() {
            if let Some(attacker) = &attacker {
                let _ = attacker.send(intent);
            }
        }
        if clock.end_tick.is_some_and(|end| sim.tick() >= end) {
            live.stop();
        }
    }
    // Whatever was queued before the stop still reaches the log: nothing recorded is lost.
    rx.close();
    while !rx.is_empty() {
        tick(&mut sim, live, &mut rx, &mut hook);
    }
    sim
}

/// One tick: drain the queue, step, publish, answer the writes.
fn tick(sim: &mut Sim, live: &Live, rx: &mut mpsc::Receiver<Command>, hook: &mut Option<TickHook>) {
    let mut inputs = Vec::new();
    let mut replies = Vec::new();
    while inputs.len() < MAX_INPUTS_PER_TICK {
        match rx.try_recv() {
            Ok(Command::Record(input)) => inputs.push(input),
            Ok(Command::Apply(input, reply)) => {
                replies.push((inputs.len(), reply));
                inputs.push(input);
            }
            Err(_) => break,
        }
    }
    let before = sim.events().len();
    let tick = sim.tick();
    let recorded = if hook.is_some() { inputs.clone() } else { Vec::new() };
    let outcomes = sim.step_outcomes(inputs);
    live.snapshot.store(Arc::new(sim.snapshot()));
    live.events.write().unwrap_or_else(|e| e.into_inner()).extend(&sim.events()[before..]);
    if let Some(hook) = hook {
        hook(sim, tick, recorded, &sim.events()[before..]);
    }
    // Answer only once the snapshot shows the write, so a read after the answer sees it.
    for (i, reply) in replies {
        let _ = reply.send((outcomes[i], tick));
    }
}
