//! A bound on how many of a costly thing (a team's after-action report) are built at once:
//! those past it wait their turn, for a while, rather than take every core from the drill.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// At most `limit` passes out at once.
pub(super) struct Gate {
    limit: usize,
    busy: Mutex<usize>,
    freed: Condvar,
}

/// Held while the costly thing is built; dropping it lets the next one in.
pub(super) struct Pass<'a>(&'a Gate);

impl Gate {
    pub(super) fn new(limit: usize) -> Gate {
        Gate { limit: limit.max(1), busy: Mutex::new(0), freed: Condvar::new() }
    }

    /// A pass once fewer than `limit` are out, waiting at most `within`; `None` past that.
    pub(super) fn enter(&self, within: Duration) -> Option<Pass<'_>> {
        let busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let (mut busy, _) = self
            .freed
            .wait_timeout_while(busy, within, |b| *b >= self.limit)
            .unwrap_or_else(|e| e.into_inner());
        if *busy >= self.limit {
            return None;
        }
        *busy += 1;
        Some(Pass(self))
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two at once: a third waits its bound and is refused; one let go, a waiting third
    /// gets in, woken rather than timed out.
    #[test]
    fn a_gate_lets_in_its_limit_and_the_next_when_one_leaves() {
        let gate = std::sync::Arc::new(Gate::new(2));
        let first = gate.enter(Duration::ZERO).expect("the first");
        let second = gate.enter(Duration::ZERO).expect("the second");
        assert!(gate.enter(Duration::from_millis(20)).is_none(), "a third waits, then is refused");
        let waiting = std::thread::spawn({
            let gate = gate.clone();
            move || gate.enter(Duration::from_secs(30)).is_some()
        });
        drop(first);
        assert!(waiting.join().expect("the waiter"), "let in when one left");
        drop(second);
        assert!(gate.enter(Duration::ZERO).is_some(), "and again, all passes back");
    }
}
