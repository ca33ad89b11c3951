//! The simulations' worker pool: a few threads (one per core) tick every range's simulation,
//! each when its next tick is due, instead of one sleeping OS thread per team.
//!
//! A job is a state machine stepped by `Job::run`, which does at most one tick and says when
//! the job next wants to run (`Next::At`), that it waits until woken (`Next::Wait`: a held
//! clock), or that it is done. The pool keeps the jobs' deadlines in one heap and runs the
//! earliest first, so when the workers cannot keep up every range slows alike and none starves.
//! A `Waker` (a stop, a start, a step) makes a waiting job due at once, or, when a worker is
//! running it, as soon as that run returns: a wake is never lost.
//!
//! The workers live as long as the process (as a runtime's blocking pool does) and sleep on a
//! condition variable while nothing is due: an idle drill costs no wake-ups.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

/// Most worker threads the pool runs, whatever the number of cores.
pub const MAX_WORKERS: usize = 16;

/// How early a job may run: a worker awake runs every job due within this much, rather than
/// sleeping again for each (hundreds of ranges ticking at 10 Hz would otherwise cost a wake-up
/// and a context switch per tick). A job's next deadline counts from its own, not from when it
/// ran, so running early never drifts its clock.
pub const SLACK: std::time::Duration = std::time::Duration::from_millis(1);

/// What a job wants after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Run again at this instant (or at once when it is past).
    At(Instant),
    /// Run again only when woken.
    Wait,
    /// Finished: the pool drops the job.
    Done,
}

/// A piece of work the pool steps until it is done.
pub trait Job: Send + 'static {
    /// Does one step of work (keep it short: other jobs wait for this worker) and says when to
    /// run next.
    fn run(&mut self) -> Next;
}

/// Where a job is.
enum Slot {
    /// Waiting for its deadline (`key` names its entry in the heap) or, with no key, a wake.
    Idle { job: Box<dyn Job>, key: Option<u64> },
    /// A worker runs it; `woken` when a wake came meanwhile.
    Running { woken: bool },
}

#[derive(Default)]
struct State {
    /// Deadlines, earliest first: (due, key, job). An entry whose key is no longer its job's
    /// is stale and skipped.
    heap: BinaryHeap<Reverse<(Instant, u64, u64)>>,
    jobs: HashMap<u64, Slot>,
    /// The next job id and heap key (both only grow, so none is ever reused).
    next_id: u64,
    next_key: u64,
    /// Workers waiting on the condition variable: a notification with none costs a system call
    /// for nothing.
    sleeping: usize,
}

impl State {
    /// Schedules idle job `id` at `due`.
    fn schedule(&mut self, id: u64, job: Box<dyn Job>, due: Option<Instant>) -> bool {
        let key = due.map(|due| {
            self.next_key += 1;
            self.heap.push(Reverse((due, self.next_key, id)));
            self.next_key
        });
        self.jobs.insert(id, Slot::Idle { job, key });
        // The workers must look again when this became the earliest deadline.
        key.is_some() && self.heap.peek().is_some_and(|Reverse((_, k, _))| Some(*k) == key)
    }
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when an earlier deadline is set (or a job became due).
    due: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A pool of worker threads running jobs by deadline.
pub struct Pool {
    shared: Arc<Shared>,
    workers: usize,
}

/// Wakes one job of the pool (cheap to clone; waking a finished job does nothing).
#[derive(Clone)]
pub struct Waker {
    shared: Arc<Shared>,
    id: u64,
}

impl Waker {
    /// Makes the job due now (after its current run, if a worker is running it).
    pub fn wake(&self) {
        let mut st = self.shared.lock();
        let notify = match st.jobs.remove(&self.id) {
            Some(Slot::Idle { job, .. }) => st.schedule(self.id, job, Some(Instant::now())),
            Some(Slot::Running { .. }) => {
                st.jobs.insert(self.id, Slot::Running { woken: true });
                false
            }
            None => false,
        };
        drop(st);
        if notify {
            self.shared.due.notify_one();
        }
    }
}

impl Pool {
    /// Starts `workers` threads named `name-N`.
    pub fn start(name: &str, workers: usize) -> std::io::Result<Pool> {
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), due: Condvar::new() });
        let workers = workers.clamp(1, MAX_WORKERS);
        for i in 0..workers {
            let shared = shared.clone();
            std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || work(&shared))?;
        }
        Ok(Pool { shared, workers })
    }

    /// The process's pool for simulations: one worker per core, at least two (a tick hook that
    /// waits for the database holds its worker), at most `MAX_WORKERS`.
    pub fn sims() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            Pool::start("icsdrill-sim", cores.max(2)).expect("the OS starts the simulation workers")
        })
    }

    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Jobs not yet done.
    pub fn jobs(&self) -> usize {
        self.shared.lock().jobs.len()
    }

    /// Adds `job`, first run at once; its waker makes it due again.
    pub fn spawn(&self, job: Box<dyn Job>) -> Waker {
        let mut st = self.shared.lock();
        st.next_id += 1;
        let id = st.next_id;
        let notify = st.schedule(id, job, Some(Instant::now()));
        drop(st);
        if notify {
            self.shared.due.notify_one();
        }
        Waker { shared: self.shared.clone(), id }
    }
}

/// A worker: takes the earliest due job, runs it outside the lock, puts it back as it asks.
fn work(shared: &Shared) {
    let mut st = shared.lock();
    loop {
        let Some(&Reverse((due, key, id))) = st.heap.peek() else {
            st.sleeping += 1;
            st = shared.due.wait(st).unwrap_or_else(|e| e.into_inner());
            st.sleeping -= 1;
            continue;
        };
        if !matches!(st.jobs.get(&id), Some(Slot::Idle { key: Some(k), .. }) if *k == key) {
            st.heap.pop();
            continue;
        }
        let now = Instant::now();
        if due > now + SLACK {
            st.sleeping += 1;
            st = shared.due.wait_timeout(st, due - now).unwrap_or_else(|e| e.into_inner()).0;
            st.sleeping -= 1;
            continue;
        }
        st.heap.pop();
        let Some(Slot::Idle { mut job, .. }) = st.jobs.insert(id, Slot::Running { woken: false }) else {
            unreachable!("checked idle above")
        };
        // Another job due too: a sibling asleep runs it while this one runs. (One not yet due
        // is its timed wait's; waking it for that, or notifying with none asleep, would cost
        // system calls a tick: thousands a second with hundreds of ranges.)
        let sibling =
            st.sleeping > 0 && st.heap.peek().is_some_and(|Reverse((next, ..))| *next <= now + SLACK);
        drop(st);
        if sibling {
            // After the lock is let go, so the sibling does not wake into a held lock.
            shared.due.notify_one();
        }
        let next = std::panic::catch_unwind(AssertUnwindSafe(|| job.run())).unwrap_or_else(|_| {
            tracing::error!("a simulation job panicked: it is stopped");
            Next::Done
        });
        st = shared.lock();
        let woken = matches!(st.jobs.get(&id), Some(Slot::Running { woken: true }));
        let due = match next {
            Next::Done => {
                st.jobs.remove(&id);
                drop(st);
                // Dropped outside the lock: a job's drop may wake (itself or another).
                drop(job);
                st = shared.lock();
                continue;
            }
            _ if woken => Some(Instant::now()),
            Next::At(t) => Some(t),
            Next::Wait => None,
        };
        if st.schedule(id, job, due) && st.sleeping > 0 {
            drop(st);
            shared.due.notify_one();
            st = shared.lock();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// Counts its runs; waits after every `every`-th; reports each run.
    struct Counter {
        runs: Arc<AtomicU64>,
        wait_every: u64,
        until: u64,
        period: Duration,
        seen: mpsc::SyncSender<u64>,
    }

    impl Job for Counter {
        fn run(&mut self) -> Next {
            let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
            let _ = self.seen.try_send(n);
            if n >= self.until {
                Next::Done
            } else if n.is_multiple_of(self.wait_every) {
                Next::Wait
            } else {
                Next::At(Instant::now() + self.period)
            }
        }
    }

    fn counter(
        wait_every: u64,
        until: u64,
        period: Duration,
    ) -> (Box<Counter>, Arc<AtomicU64>, mpsc::Receiver<u64>) {
        let runs = Arc::new(AtomicU64::new(0));
        // Bounded above the runs a job makes, so a send never waits.
        let (seen, rx) = mpsc::sync_channel(64);
        (Box::new(Counter { runs: runs.clone(), wait_every, until, period, seen }), runs, rx)
    }

    const BOUND: Duration = Duration::from_secs(10);

    #[test]
    fn a_waiting_job_runs_again_only_when_woken_and_a_done_job_leaves() {
        let pool = Pool::start("test-pool", 2).unwrap();
        let (job, runs, seen) = counter(3, 6, Duration::from_millis(1));
        let waker = pool.spawn(job);
        for want in 1..=3 {
            assert_eq!(seen.recv_timeout(BOUND).unwrap(), want);
        }
        // Waiting: no run comes by itself.
        assert!(seen.recv_timeout(Duration::from_millis(50)).is_err());
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        waker.wake();
        for want in 4..=6 {
            assert_eq!(seen.recv_timeout(BOUND).unwrap(), want);
        }
        // Done at 6: gone from the pool, and a later wake does nothing.
        let deadline = Instant::now() + BOUND;
        while pool.jobs() > 0 {
            assert!(Instant::now() < deadline, "the done job leaves the pool");
            std::thread::yield_now();
        }
        waker.wake();
        assert!(seen.recv_timeout(Duration::from_millis(50)).is_err());
    }

    /// Wakes itself during its run (as a range stopping itself does): the wake is kept.
    struct SelfWaking {
        waker: Arc<OnceLock<Waker>>,
        runs: u64,
        seen: mpsc::SyncSender<u64>,
    }

    impl Job for SelfWaking {
        fn run(&mut self) -> Next {
            self.runs += 1;
            let _ = self.seen.try_send(self.runs);
            if self.runs == 1 {
                // Woken while running: runs again although it asks to wait.
                self.waker.get().expect("set before the first run ends").wake();
                return Next::Wait;
            }
            Next::Done
        }
    }

    #[test]
    fn a_wake_during_a_run_is_not_lost() {
        let pool = Pool::start("test-pool", 1).unwrap();
        let (seen, rx) = mpsc::sync_channel(8);
        let cell = Arc::new(OnceLock::new());
        // One worker, held busy until the waker is set, so the first run sees it.
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        struct Gate(Option<mpsc::Receiver<()>>);
        impl Job for Gate {
            fn run(&mut self) -> Next {
                if let Some(rx) = self.0.take() {
                    let _ = rx.recv_timeout(BOUND);
                }
                Next::Done
            }
        }
        pool.spawn(Box::new(Gate(Some(gate_rx))));
        let waker = pool.spawn(Box::new(SelfWaking { waker: cell.clone(), runs: 0, seen }));
        let _ = cell.set(waker);
        gate_tx.send(()).unwrap();
        assert_eq!(rx.recv_timeout(BOUND).unwrap(), 1);
        assert_eq!(rx.recv_timeout(BOUND).unwrap(), 2);
    }

    #[test]
    fn many_periodic_jobs_share_two_workers_evenly() {
        let pool = Pool::start("test-pool", 2).unwrap();
        let jobs: Vec<_> = (0..200).map(|_| counter(u64::MAX, 20, Duration::from_millis(2))).collect();
        let mut counts = Vec::new();
        for (job, runs, seen) in jobs {
            pool.spawn(job);
            counts.push((runs, seen));
        }
        // Every job reaches its 20 runs: none starves while the others run.
        for (runs, seen) in &counts {
            while runs.load(Ordering::SeqCst) < 20 {
                seen.recv_timeout(BOUND).expect("every job keeps running");
            }
        }
        assert_eq!(pool.workers(), 2);
    }

    #[test]
    fn a_panicking_job_is_dropped_and_the_worker_goes_on() {
        struct Panics;
        impl Job for Panics {
            fn run(&mut self) -> Next {
                panic!("a job's bug");
            }
        }
        let pool = Pool::start("test-pool", 1).unwrap();
        pool.spawn(Box::new(Panics));
        let (job, _, seen) = counter(u64::MAX, 3, Duration::from_millis(1));
        pool.spawn(job);
        for want in 1..=3 {
            assert_eq!(seen.recv_timeout(BOUND).unwrap(), want, "the one worker survived the panic");
        }
    }
}
