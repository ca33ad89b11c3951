//! A bound on how many of a costly thing (a team's after-action report, its capture) are
//! built at once: one per team, and those past the bound wait their turn, for a while (or not
//! at all), rather than take every core from the drill. A team asking again while its own is
//! built is refused at once, so one team's requests never hold the turns (nor the waiting
//! threads) of the others.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// At most `limit` passes out at once, one per key.
pub(super) struct Gate {
    limit: usize,
    /// The keys holding a pass.
    busy: Mutex<BTreeSet<String>>,
    freed: Condvar,
}

/// Held while the costly thing is built; dropping it lets the next one in.
pub(super) struct Pass<'a> {
    gate: &'a Gate,
    key: String,
}

/// Why no pass was given.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// The key holds one already.
    Own,
    /// `limit` others held theirs for as long as it waited.
    Full,
}

impl Gate {
    pub(super) fn new(limit: usize) -> Gate {
        Gate { limit: limit.max(1), busy: Mutex::default(), freed: Condvar::new() }
    }

    /// A pass for `key` once fewer than `limit` are out, waiting at most `within`; refused at
    /// once while `key` holds one.
    pub(super) fn enter(&self, key: &str, within: Duration) -> Result<Pass<'_>, Refused> {
        let busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        if busy.contains(key) {
            return Err(Refused::Own);
        }
        let (mut busy, _) = self
            .freed
            .wait_timeout_while(busy, within, |b| b.len() >= self.limit && !b.contains(key))
            .unwrap_or_else(|e| e.into_inner());
        if busy.contains(key) {
            // Another request of the key got in meanwhile.
            return Err(Refused::Own);
        }
        if busy.len() >= self.limit {
            return Err(Refused::Full);
        }
        busy.insert(key.to_string());
        Ok(Pass { gate: self, key: key.to_string() })
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        self.gate.busy.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.key);
        self.gate.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two at once: a third waits its bound and is refused; one let go, a waiting third
    /// gets in, woken rather than timed out. A key asking again while it holds one is refused
    /// at once.
    #[test]
    fn a_gate_lets_in_its_limit_one_per_key_and_the_next_when_one_leaves() {
        let gate = std::sync::Arc::new(Gate::new(2));
        let first = gate.enter("a", Duration::ZERO).expect("the first");
        let started = std::time::Instant::now();
        assert_eq!(gate.enter("a", Duration::from_secs(30)).err(), Some(Refused::Own));
        assert!(started.elapsed() < Duration::from_secs(10), "at once, not after the wait");
        let second = gate.enter("b", Duration::ZERO).expect("the second");
        assert_eq!(gate.enter("c", Duration::from_millis(20)).err(), Some(Refused::Full), "a third waits");
        let waiting = std::thread::spawn({
            let gate = gate.clone();
            move || gate.enter("c", Duration::from_secs(30)).is_ok()
        });
        drop(first);
        assert!(waiting.join().expect("the waiter"), "let in when one left");
        drop(second);
        assert!(gate.enter("a", Duration::ZERO).is_ok(), "and again, all passes back");
    }
}
