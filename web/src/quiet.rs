//! The web server's quiet connections: those with no request in hand (waiting for the next
//! one, or for the rest of a head trickled in slowly), by when they went quiet. A full server
//! closes the one quiet longest to take a new connection, so idle or trickling connections
//! from however many addresses cannot keep the pages from anybody else; a connection with a
//! request in hand (a board stream included) is never closed for another.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use tokio::sync::Notify;

/// A connection is closed for a new one only once it has been quiet this long: a browser's
/// request follows its connection within milliseconds.
pub(crate) const EVICT_AFTER: Duration = Duration::from_secs(1);

/// The quiet connections of one server, by id: since when, and how to close each.
#[derive(Default)]
pub(crate) struct Quiet(Mutex<HashMap<u64, (Instant, Arc<Notify>)>>);

impl Quiet {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (Instant, Arc<Notify>)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connection `id` is quiet from `since` (accepted, or its last answer finished); `close`
    /// ends it.
    pub(crate) fn quiet(&self, id: u64, since: Instant, close: &Arc<Notify>) {
        self.map().insert(id, (since, close.clone()));
    }

    /// Connection `id` has a request in hand, or is gone.
    pub(crate) fn busy(&self, id: u64) {
        self.map().remove(&id);
    }

    /// Closes the connection quiet longest, if one has been quiet `EVICT_AFTER` by `now`:
    /// whether one was.
    pub(crate) fn evict(&self, now: Instant) -> bool {
        let mut map = self.map();
        let oldest =
            map.iter().min_by_key(|(id, (since, _))| (*since, **id)).map(|(id, (since, _))| (*id, *since));
        match oldest {
            Some((id, since)) if now.saturating_duration_since(since) >= EVICT_AFTER => {
                if let Some((_, close)) = map.remove(&id) {
                    close.notify_one();
                }
                true
            }
            _ => false,
        }
    }
}

/// A request in hand on connection `id`: quiet again (from then) once its answer is written
/// whole, or given up.
pub(crate) struct InHand {
    quiet: Arc<Quiet>,
    id: u64,
    close: Arc<Notify>,
}

impl InHand {
    pub(crate) fn new(quiet: &Arc<Quiet>, id: u64, close: &Arc<Notify>) -> InHand {
        quiet.busy(id);
        InHand { quiet: quiet.clone(), id, close: close.clone() }
    }
}

impl Drop for InHand {
    fn drop(&mut self) {
        self.quiet.quiet(self.id, Instant::now(), &self.close);
    }
}

/// An answer's body that keeps its request in hand until it is written whole or dropped.
pub(crate) struct Tracked {
    pub(crate) body: Body,
    pub(crate) _in_hand: InHand,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_quiet_longest_goes_first_and_none_in_hand_or_just_quiet() {
        let quiet = Arc::new(Quiet::default());
        // A timeline from ten seconds ago, so that "now" is later than all of it.
        let t0 = Instant::now().checked_sub(Duration::from_secs(10)).expect("the clock runs");
        let closers: Vec<Arc<Notify>> = (0..3).map(|_| Arc::new(Notify::new())).collect();
        quiet.quiet(0, t0, &closers[0]);
        quiet.quiet(1, t0 + Duration::from_millis(10), &closers[1]);
        quiet.quiet(2, t0 + Duration::from_millis(20), &closers[2]);
        // Connection 0 takes a request: it is not closed for another while it is in hand.
        let in_hand = InHand::new(&quiet, 0, &closers[0]);
        assert!(!quiet.evict(t0 + Duration::from_millis(500)), "none quiet long enough yet");
        assert!(quiet.evict(t0 + EVICT_AFTER + Duration::from_millis(15)));
        assert!(quiet.map().contains_key(&2) && !quiet.map().contains_key(&1), "1 went, the oldest quiet");
        // Its answer written, 0 is quiet again from now: 2 goes next.
        drop(in_hand);
        assert!(quiet.evict(Instant::now()));
        assert_eq!(quiet.map().keys().copied().collect::<Vec<_>>(), [0]);
        quiet.busy(0);
        assert!(!quiet.evict(t0 + EVICT_AFTER * 10), "nothing quiet");
    }
}
