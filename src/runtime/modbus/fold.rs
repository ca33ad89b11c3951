//! A connection's fold of a client's identical requests (a poll loop) into one record with a
//! repeat count, and the clock it folds by: read once each time the connection wakes, so one
//! read serves every request that wake brings.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use icsdrill_engine::RejectReason;

/// How long a connection folds a client's identical requests into one record: about a tick,
/// so the log keeps its resolution.
pub const FOLD_WINDOW: Duration = Duration::from_millis(100);

/// What makes two requests the same record: function, address, count, exception, reason, the
/// unit named when not the PLC's.
pub(super) type Key = (u8, u16, u16, Option<u8>, Option<RejectReason>, Option<u8>);

/// A record being folded: its key, how many it stands for, since when.
pub(super) struct Pending {
    pub(super) key: Key,
    pub(super) repeat: u32,
    since: Instant,
}

/// The record being folded and the time the connection last woke. Never held across an
/// await; only its connection's task locks it.
pub(super) struct Fold(Mutex<State>);

struct State {
    pending: Option<Pending>,
    now: Instant,
}

impl Fold {
    pub(super) fn new() -> Fold {
        Fold(Mutex::new(State { pending: None, now: Instant::now() }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Folds a request into the record being folded when it is the same one and its window
    /// is open; otherwise starts a new record and returns the finished one, to send.
    pub(super) fn add(&self, key: Key) -> Option<Pending> {
        let mut s = self.state();
        let now = s.now;
        if let Some(p) = &mut s.pending
            && p.key == key
            && now.saturating_duration_since(p.since) < FOLD_WINDOW
        {
            p.repeat += 1;
            return None;
        }
        s.pending.replace(Pending { key, repeat: 1, since: now })
    }

    /// The record being folded, taken out to send.
    pub(super) fn take(&self) -> Option<Pending> {
        self.state().pending.take()
    }

    /// When the record being folded must go out.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.state().pending.as_ref().map(|p| p.since + FOLD_WINDOW)
    }

    /// Reads the clock for what the connection does until it next waits; returns it.
    pub(super) fn woke(&self) -> Instant {
        self.woke_at(Instant::now())
    }

    /// Sets the clock for what the connection does until it next waits to `now`, read once
    /// for every connection an event loop serves at one wake; returns it.
    pub(super) fn woke_at(&self, now: Instant) -> Instant {
        self.state().now = now;
        now
    }
}
