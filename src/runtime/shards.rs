//! The threads a range's Modbus endpoints run on: single-threaded runtimes (one per core, or
//! fewer when a drill's teams share the cores), each with its own event loop, the endpoints
//! dealt out among them.
//!
//! A request/response server on a work-stealing runtime pays for its balance: every event
//! that wakes a task wakes an idle sibling worker too (a futex call and a context switch per
//! request), which on a loaded machine costs more than the request itself. Endpoints on their
//! own event loops pay none of that, as the one-process-per-core servers do. Each range gets
//! its own threads, so the operating system shares the cores fairly between teams whatever
//! one of them is sent.

use std::future::Future;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinSet};

/// Most event-loop threads one range runs.
pub const MAX_SHARDS: usize = 8;

/// Single-threaded runtimes serving a range's endpoints; they stop when this is dropped.
pub struct Shards {
    handles: Vec<Handle>,
    threads: Vec<JoinHandle<()>>,
    /// Dropped (or set) to stop the threads.
    stop: watch::Sender<bool>,
}

impl Shards {
    /// `n` runtimes (0: one per core), at most `MAX_SHARDS`, named `name` and their number;
    /// returns once each thread runs (named: a thread takes its name when it first runs).
    pub fn start(name: &str, n: usize) -> std::io::Result<Shards> {
        let n = match n {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
        .clamp(1, MAX_SHARDS);
        let (stop, _) = watch::channel(false);
        let mut handles = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        let (running, started) = std::sync::mpsc::sync_channel(n);
        for i in 0..n {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            handles.push(runtime.handle().clone());
            let mut stopped = stop.subscribe();
            let running = running.clone();
            threads.push(std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
                let _ = running.send(());
                runtime.block_on(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                });
                // Tasks still running end here, with the runtime.
            })?);
        }
        for _ in 0..n {
            let _ = started.recv();
        }
        Ok(Shards { handles, threads, stop })
    }

    /// Spawns `task` into `set` on shard `i` (dealt round-robin).
    pub fn spawn<F>(&self, set: &mut JoinSet<()>, i: usize, task: F) -> AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        set.spawn_on(task, &self.handles[i % self.handles.len()])
    }

    /// The event loops' handles, in order (shard `i` of `spawn` is `i % len`).
    pub fn handles(&self) -> Vec<Handle> {
        self.handles.clone()
    }

    /// Number of event loops.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether there are none (never: at least one is started).
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Stops the threads and waits for them (blocking: call it off the async runtime).
    pub fn join(mut self) {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut self.threads) {
            let _ = t.join();
        }
    }
}

impl Drop for Shards {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_on_their_shard_and_the_threads_end_with_it() {
        let shards = Shards::start("test-shard", 0).unwrap();
        assert_eq!(Shards::start("test-one", 1).unwrap().len(), 1);
        let outer = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let names = outer.block_on(async {
            let mut set = JoinSet::new();
            let (tx, mut rx) = tokio::sync::mpsc::channel(16);
            for i in 0..shards.len() * 2 {
                let tx = tx.clone();
                shards.spawn(&mut set, i, async move {
                    let name = std::thread::current().name().unwrap_or_default().to_owned();
                    tx.send(name).await.unwrap();
                });
            }
            drop(tx);
            while set.join_next().await.is_some() {}
            let mut names = Vec::new();
            while let Some(n) = rx.recv().await {
                names.push(n);
            }
            names
        });
        assert_eq!(names.len(), shards.len() * 2);
        for i in 0..shards.len() {
            assert_eq!(names.iter().filter(|n| **n == format!("test-shard-{i}")).count(), 2, "{names:?}");
        }
        shards.join();
    }
}
