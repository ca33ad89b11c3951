//! The recorder: one writer thread that commits the simulation jobs' per-tick batches in group
//! transactions, taking one tick of each team in turn from a bounded queue per team, then
//! advances each team's durable tick; what the database refuses is retried, and nothing is
//! acknowledged meanwhile.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use icsdrill_drill::Phase;

use super::{Batch, ForeignAttempt, Store};

/// Rows (inputs and events) one team may have waiting for the disk. Beyond, its simulation job
/// ticks no more until there is room (`RecordSender::gate`), so its clock holds: a team whose
/// records cannot be written does not play on unrecorded, and memory stays bounded (this and
/// one tick's batch) while the disk is full.
pub const MAX_QUEUED_ROWS: usize = 200_000;
/// Rows one commit takes at most, shared among the teams with work by taking one batch from
/// each in turn: a team with a backlog never holds back another team's next tick.
pub const MAX_COMMIT_ROWS: usize = 20_000;
/// Longest a batch waits for others to share its commit.
const GROUP_WINDOW: Duration = Duration::from_millis(5);
/// Pause between attempts while the database refuses writes.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// How long a stopping recorder keeps retrying what the database still refuses.
const FINAL_RETRIES: u32 = 25;

/// One team's batches waiting for the disk.
#[derive(Default)]
struct TeamQueue {
    batches: std::collections::VecDeque<Batch>,
    /// Rows waiting: changed under the lock, read without it by the team's gate (asked before
    /// every tick of its range).
    rows: Arc<AtomicUsize>,
}

fn rows(b: &Batch) -> usize {
    b.inputs.len() + b.events.len()
}

/// What waits for the recorder thread, under one lock.
#[derive(Default)]
struct Pending {
    teams: Vec<TeamQueue>,
    /// Phases to record, each with when the drill started where it is the start.
    phases: Vec<(Phase, Option<i64>)>,
    /// Each team's latest score card (a newer one replaces a waiting one: the store keeps
    /// only the latest anyway).
    scores: Vec<Option<(u64, f64, String)>>,
    /// The foreign attempts changed since the last commit (at most one entry per address
    /// and target team: the latest).
    foreign: Option<Vec<ForeignAttempt>>,
    /// Every gate is open (the drill is stopping: its last ticks must not hang).
    closing: bool,
    /// No more work comes: write what is queued and stop.
    closed: bool,
}

impl Pending {
    fn idle(&self) -> bool {
        self.teams.iter().all(|t| t.batches.is_empty())
            && self.phases.is_empty()
            && self.scores.iter().all(Option::is_none)
            && self.foreign.is_none()
    }

    /// Up to `MAX_COMMIT_ROWS` rows of batches, one batch from each team in turn (a batch
    /// bigger than the limit goes alone), starting after the team served first last time.
    fn take_fair(&mut self, first: usize) -> Vec<Batch> {
        let n = self.teams.len();
        let mut out = Vec::new();
        let mut taken = 0;
        loop {
            let mut any = false;
            for k in 0..n {
                let t = &mut self.teams[(first + k) % n];
                let Some(b) = t.batches.front() else { continue };
                if taken > 0 && taken + rows(b) > MAX_COMMIT_ROWS {
                    return out;
                }
                let b = t.batches.pop_front().expect("just looked");
                t.rows.fetch_sub(rows(&b), Ordering::Relaxed);
                taken += rows(&b);
                out.push(b);
                any = true;
            }
            if !any {
                return out;
            }
        }
    }

    /// The cards to commit now: each team's latest, unless a batch of its tick or an earlier
    /// one still waits (a card on record then always has its events on record: another node
    /// scores a team's card at a contest's freeze from them).
    fn take_scores(&mut self) -> Vec<Option<(u64, f64, String)>> {
        let Pending { teams, scores, .. } = self;
        scores
            .iter_mut()
            .zip(teams.iter())
            .map(|(s, q)| {
                let behind =
                    matches!((&*s, q.batches.front()), (Some((tick, ..)), Some(b)) if b.tick <= *tick);
                if behind { None } else { s.take() }
            })
            .collect()
    }

    /// Puts batches that could not be committed back at the front of their queues, in order.
    fn put_back(&mut self, batches: Vec<Batch>) {
        for b in batches.into_iter().rev() {
            let t = &mut self.teams[b.team];
            t.rows.fetch_add(rows(&b), Ordering::Relaxed);
            t.batches.push_front(b);
        }
    }
}

/// The recorder's state shared with the simulation jobs and the drill.
struct Shared {
    pending: Mutex<Pending>,
    /// The recorder waits on it for work.
    work: Condvar,
    /// The database refuses writes now.
    failing: AtomicBool,
    /// Rows a team may have waiting (`MAX_QUEUED_ROWS`).
    max_rows: usize,
    /// Each team's `TeamQueue::rows`.
    queued: Vec<Arc<AtomicUsize>>,
    /// Phase changes queued so far.
    phases_queued: AtomicU64,
    /// Phase changes on disk so far (in the order queued).
    phases_written: watch::Sender<u64>,
}

impl Shared {
    /// Nothing waiting yet for `n` teams, each holding at most `max_rows` rows.
    fn new(n: usize, max_rows: usize) -> Shared {
        let teams: Vec<TeamQueue> = (0..n).map(|_| TeamQueue::default()).collect();
        let queued = teams.iter().map(|t| t.rows.clone()).collect();
        Shared {
            pending: Mutex::new(Pending { teams, scores: vec![None; n], ..Pending::default() }),
            work: Condvar::new(),
            failing: AtomicBool::new(false),
            max_rows,
            queued,
            phases_queued: AtomicU64::new(0),
            phases_written: watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a tick's batch. It never waits: the team's gate keeps it from ticking while its
    /// queue is full.
    fn push(&self, batch: Batch) {
        let mut p = self.lock();
        let t = &mut p.teams[batch.team];
        t.rows.fetch_add(rows(&batch), Ordering::Relaxed);
        t.batches.push_back(batch);
        drop(p);
        self.work.notify_one();
    }

    /// Whether team `team` may tick: its queue has room, or the drill is stopping.
    fn has_room(&self, team: usize) -> bool {
        // The lock only when the queue is full (the drill may be closing): not on every tick.
        self.queued[team].load(Ordering::Relaxed) < self.max_rows || self.lock().closing
    }

    fn score(&self, team: usize, tick: u64, total: f64, card: String) {
        self.lock().scores[team] = Some((tick, total, card));
        self.work.notify_one();
    }
}

/// The drill's writer: one thread, group commits shared fairly among teams, a durable tick
/// per team.
pub struct Recorder {
    shared: Arc<Shared>,
    durable: Vec<watch::Receiver<u64>>,
    /// The durable marks' senders (the writer's, and `on_disk_before`'s).
    marks: Arc<[watch::Sender<u64>]>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts the writer for `drill` with these team ids (in drill order).
    pub fn start(store: Box<dyn Store>, drill: String, teams: Vec<String>) -> Recorder {
        let n = teams.len();
        let shared = Arc::new(Shared::new(n, MAX_QUEUED_ROWS));
        // A team's durable mark is the first tick not yet known to be on disk: every batch of
        // an earlier tick is committed. It starts at 0: nothing is durable yet (a resumed
        // drill's stored log is marked so as it resumes, `RecordSender::on_disk_before`).
        let (senders, durable): (Vec<_>, Vec<_>) = teams.iter().map(|_| watch::channel(0u64)).unzip();
        let marks: Arc<[watch::Sender<u64>]> = senders.into();
        let (thread_shared, thread_marks) = (shared.clone(), marks.clone());
        let thread = std::thread::Builder::new()
            .name("icsdrill-store".into())
            .spawn(move || write_loop(store, &drill, &teams, &thread_shared, &thread_marks))
            .expect("the OS starts a thread");
        Recorder { shared, durable, marks, thread: Some(thread) }
    }

    /// Queues a tick's batch.
    pub fn record(&self, batch: Batch) {
        self.shared.push(batch);
    }

    /// Queues a phase change (with the wall time of the start, for the start).
    pub fn phase(&self, phase: Phase, started_ms: Option<i64>) {
        let mut p = self.shared.lock();
        p.phases.push((phase, started_ms));
        self.shared.phases_queued.fetch_add(1, Ordering::SeqCst);
        drop(p);
        self.shared.work.notify_one();
    }

    /// Resolves once every phase change queued so far is on disk (an ended drill's findings
    /// read its phase there).
    pub fn phases_recorded(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let want = self.shared.phases_queued.load(Ordering::SeqCst);
        let mut written = self.shared.phases_written.subscribe();
        async move {
            let _ = written.wait_for(|n| *n >= want).await;
        }
    }

    /// Queues a team's score card.
    pub fn score(&self, team: usize, tick: u64, total: f64, card: String) {
        self.shared.score(team, tick, total, card);
    }

    /// A sender for the simulation jobs.
    pub fn sender(&self) -> RecordSender {
        RecordSender(self.shared.clone(), self.marks.clone())
    }

    /// Team `i`'s durable mark: the first tick not yet known to be on disk (every batch of an
    /// earlier tick is).
    pub fn durable(&self, team: usize) -> watch::Receiver<u64> {
        self.durable[team].clone()
    }

    /// Whether the database refuses writes now (nothing new gets acknowledged).
    pub fn failing(&self) -> bool {
        self.shared.failing.load(Ordering::Relaxed)
    }

    /// From now on every gate is open: the drill is stopping, and its last ticks must not hang
    /// on a full queue.
    pub fn closing(&self) {
        self.shared.lock().closing = true;
    }

    /// Writes what is queued and stops the thread.
    pub fn finish(mut self) {
        {
            let mut p = self.shared.lock();
            p.closing = true;
            p.closed = true;
        }
        self.shared.work.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The recorder thread: waits for work, commits it fairly, advances the durable marks, and
/// retries what the database refuses (acknowledging nothing meanwhile).
fn write_loop(
    mut store: Box<dyn Store>,
    drill: &str,
    teams: &[String],
    shared: &Shared,
    senders: &[watch::Sender<u64>],
) {
    let mut first = 0;
    let mut final_failures = 0;
    // Teams another node took over (a drill over several nodes), told once each.
    let mut gone = vec![false; teams.len()];
    loop {
        let mut p = shared.lock();
        while p.idle() && !p.closed {
            p = shared.work.wait(p).unwrap_or_else(|e| e.into_inner());
        }
        if p.idle() && p.closed {
            return;
        }
        if !p.closed {
            // Gather what arrives within the group window into one commit.
            drop(p);
            std::thread::sleep(GROUP_WINDOW);
            p = shared.lock();
        }
        let batches = p.take_fair(first);
        first = (first + 1) % teams.len().max(1);
        let phases = std::mem::take(&mut p.phases);
        let scores = p.take_scores();
        let foreign = p.foreign.take();
        let closed = p.closed;
        drop(p);
        // Batches first (they carry acknowledgements), then phases, scores and foreign
        // attempts; what fails goes back in the queue and is retried, and nothing is
        // acknowledged meanwhile.
        let mut refused = Pending { scores: vec![None; teams.len()], ..Pending::default() };
        let mut error = None;
        match store.append(drill, teams, &batches) {
            Ok(()) => {
                let fenced = store.take_fenced();
                for &k in &fenced {
                    if !gone[k] {
                        gone[k] = true;
                        tracing::warn!(
                            team = %teams[k],
                            "another node runs this team now: what this node still had for it is not recorded or acknowledged"
                        );
                    }
                }
                for b in batches.iter().filter(|b| !fenced.contains(&b.team)) {
                    advance(&senders[b.team], b.tick + 1);
                }
                for (ph, started) in phases {
                    // In order: one refused, the later ones wait behind it.
                    if !refused.phases.is_empty() {
                        refused.phases.push((ph, started));
                        continue;
                    }
                    let set = store.set_phase(drill, ph).and_then(|()| match started {
                        Some(ms) => store.set_setting(&super::started_key(drill), &ms.to_string()),
                        None => Ok(()),
                    });
                    match set {
                        Err(e) => {
                            error = Some(e);
                            refused.phases.push((ph, started));
                        }
                        Ok(()) => shared.phases_written.send_modify(|n| *n += 1),
                    }
                }
                for (team, s) in scores.into_iter().enumerate() {
                    let Some((tick, total, card)) = s else { continue };
                    if let Err(e) = store.save_score(drill, &teams[team], tick, total, &card) {
                        error = Some(e);
                        refused.scores[team] = Some((tick, total, card));
                    }
                }
                if let Some(f) = foreign
                    && let Err(e) = store.save_foreign(drill, &f)
                {
                    error = Some(e);
                    refused.foreign = Some(f);
                }
            }
            Err(e) => {
                error = Some(e);
                refused.teams = batches
                    .into_iter()
                    .map(|b| TeamQueue { rows: Arc::default(), batches: [b].into() })
                    .collect();
                refused.phases = phases;
                refused.scores = scores;
                refused.foreign = foreign;
            }
        }
        let Some(e) = error else {
            if shared.failing.swap(false, Ordering::Relaxed) {
                tracing::warn!("drill records are written again");
            }
            continue;
        };
        if !shared.failing.swap(true, Ordering::Relaxed) {
            tracing::error!(
                error = %format!("{e:#}"),
                "cannot commit drill records (disk full?): retrying; nothing new is acknowledged meanwhile"
            );
        }
        let mut p = shared.lock();
        p.put_back(refused.teams.into_iter().flat_map(|t| t.batches).collect());
        refused.phases.append(&mut p.phases);
        p.phases = refused.phases;
        for (team, s) in refused.scores.into_iter().enumerate() {
            if p.scores[team].is_none() {
                p.scores[team] = s;
            }
        }
        let newer = p.foreign.take();
        p.foreign = merge_foreign(refused.foreign, newer);
        if closed {
            final_failures += 1;
            if final_failures > FINAL_RETRIES {
                tracing::error!(
                    "the drill has stopped and the database still refuses its last records: they are lost \
                     (nothing in them was acknowledged)"
                );
                return;
            }
        }
        drop(p);
        std::thread::sleep(RETRY_PAUSE);
    }
}

/// Two lists of foreign attempts to save as one: the newer entry of an (address, team) wins.
fn merge_foreign(
    older: Option<Vec<ForeignAttempt>>,
    newer: Option<Vec<ForeignAttempt>>,
) -> Option<Vec<ForeignAttempt>> {
    let (older, newer) = match (older, newer) {
        (Some(o), Some(n)) => (o, n),
        (o, n) => return n.or(o),
    };
    let mut by_key = std::collections::BTreeMap::new();
    for a in older.into_iter().chain(newer) {
        by_key.insert((a.address.clone(), a.team.clone()), a);
    }
    Some(by_key.into_values().collect())
}

/// Moves a durable mark on to `tick` (never back), waking its waiters only when it moved.
fn advance(mark: &watch::Sender<u64>, tick: u64) {
    mark.send_if_modified(|t| {
        let moved = tick > *t;
        *t = (*t).max(tick);
        moved
    });
}

/// A handle the simulation jobs record through.
#[derive(Clone)]
pub struct RecordSender(Arc<Shared>, Arc<[watch::Sender<u64>]>);

impl RecordSender {
    /// Marks team `team`'s log before `tick` durable: it was on disk before this writer
    /// started (a resumed drill's stored events). Without it, a resumed drill with nothing
    /// new to write waited on its durable mark for ever (an ended drill resumed took the 30 s
    /// wait for its records before it showed its end).
    pub fn on_disk_before(&self, team: usize, tick: u64) {
        advance(&self.1[team], tick);
    }

    /// Queues a tick's batch.
    pub fn record(&self, batch: Batch) {
        self.0.push(batch);
    }

    /// Team `team`'s tick gate: open while its queue has room.
    pub fn gate(&self, team: usize) -> Box<dyn Fn() -> bool + Send> {
        let shared = self.0.clone();
        Box::new(move || shared.has_room(team))
    }

    /// Queues a team's score card.
    pub fn score(&self, team: usize, tick: u64, total: f64, card: String) {
        self.0.score(team, tick, total, card);
    }

    /// Queues refused foreign connections that changed (merged with those waiting: an entry
    /// replaces the waiting one of its address and team only).
    pub fn foreign(&self, attempts: Vec<ForeignAttempt>) {
        let mut p = self.0.lock();
        let older = p.foreign.take();
        p.foreign = merge_foreign(older, Some(attempts));
        drop(p);
        self.0.work.notify_one();
    }
}

#[cfg(test)]
mod tests {

    use icsdrill_engine::SimInput;

    use super::*;

    fn batch(team: usize, tick: u64, rows: usize) -> Batch {
        let input = SimInput::RevealHint { hint: "h".into(), white_cell: false };
        Batch { team, tick, inputs: vec![input; rows], events: Vec::new() }
    }

    fn shared(teams: usize, max_rows: usize) -> Arc<Shared> {
        Arc::new(Shared::new(teams, max_rows))
    }

    #[test]
    fn a_full_team_queue_closes_that_teams_gate_until_the_writer_takes_a_batch() {
        let q = shared(2, 10);
        let sender = RecordSender(q.clone(), Arc::from(Vec::new()));
        let (gate0, gate1) = (sender.gate(0), sender.gate(1));
        assert!(gate0() && gate1());
        // A push never waits: the batch that fills the queue is taken, and the gate shuts.
        sender.record(batch(0, 1, 10));
        assert!(!gate0(), "team 0's queue is full: it ticks no more");
        // The other team is not held by team 0's full queue.
        assert!(gate1());
        sender.record(batch(1, 1, 1));
        let taken = q.lock().take_fair(0);
        assert_eq!(taken.iter().map(|b| (b.team, b.tick)).collect::<Vec<_>>(), [(0, 1), (1, 1)]);
        assert!(gate0(), "room made, team 0 ticks again");
        assert_eq!(q.lock().teams[0].rows.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_commit_takes_one_tick_of_each_team_in_turn_and_stops_at_its_size() {
        let q = shared(3, usize::MAX);
        for t in 0..5 {
            q.push(batch(0, t, MAX_COMMIT_ROWS / 4));
        }
        q.push(batch(1, 0, 1));
        q.push(batch(2, 0, 1));
        let first = q.lock().take_fair(0);
        let order: Vec<(usize, u64)> = first.iter().map(|b| (b.team, b.tick)).collect();
        assert_eq!(&order[..3], &[(0, 0), (1, 0), (2, 0)], "a tick of each team before team 0's second");
        assert!(first.iter().map(rows).sum::<usize>() <= MAX_COMMIT_ROWS);
        // What is put back comes first again, in order.
        q.lock().put_back(first);
        assert_eq!(q.lock().teams[0].batches.front().map(|b| b.tick), Some(0));
    }

    #[test]
    fn foreign_attempts_sent_before_a_commit_are_all_saved_the_latest_of_each_winning() {
        let q = shared(1, 10);
        let sender = RecordSender(q.clone(), Arc::from(Vec::new()));
        let attempt = |address: &str, count| ForeignAttempt {
            address: address.into(),
            from_team: None,
            team: "blue".into(),
            plc: "plc-t101".into(),
            count,
            first_ms: 0,
            last_ms: 0,
        };
        sender.foreign(vec![attempt("127.0.0.9", 1), attempt("127.0.0.10", 1)]);
        sender.foreign(vec![attempt("127.0.0.9", 2)]);
        let waiting = q.lock().foreign.take().unwrap();
        let counts: Vec<(&str, u64)> = waiting.iter().map(|a| (a.address.as_str(), a.count)).collect();
        assert_eq!(counts, [("127.0.0.10", 1), ("127.0.0.9", 2)]);
        // Refused by the database, then put back under a newer one: still one of each.
        let merged = merge_foreign(Some(waiting), Some(vec![attempt("127.0.0.10", 5)])).unwrap();
        let counts: Vec<(&str, u64)> = merged.iter().map(|a| (a.address.as_str(), a.count)).collect();
        assert_eq!(counts, [("127.0.0.10", 5), ("127.0.0.9", 2)]);
    }

    #[test]
    fn a_card_is_committed_only_with_the_batches_of_its_ticks() {
        let q = shared(1, usize::MAX);
        for t in 0..3 {
            q.push(batch(0, t, MAX_COMMIT_ROWS / 2 + 1));
        }
        q.score(0, 2, 10.0, "{}".into());
        // The first commit takes tick 0's batch alone (the next would exceed it): the card of
        // tick 2 waits.
        let mut p = q.lock();
        assert_eq!(p.take_fair(0).len(), 1);
        assert_eq!(p.take_scores(), [None]);
        assert_eq!(p.take_fair(0).len(), 1);
        assert_eq!(p.take_scores(), [None]);
        assert_eq!(p.take_fair(0).len(), 1);
        assert!(matches!(&p.take_scores()[..], [Some((2, ..))]), "all its batches out: it goes too");
    }

    #[test]
    fn closing_opens_the_gate_of_a_full_queue() {
        let q = shared(1, 1);
        let gate = RecordSender(q.clone(), Arc::from(Vec::new())).gate(0);
        q.push(batch(0, 1, 1));
        assert!(!gate());
        q.lock().closing = true;
        assert!(gate(), "a stopping drill's last ticks do not hang");
        q.push(batch(0, 2, 1));
        assert_eq!(q.lock().teams[0].batches.len(), 2);
    }
}
