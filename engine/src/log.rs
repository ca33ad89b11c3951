//! The event log as the simulation keeps it (all of it, or a live range's window) and its hash,
//! the replay contract.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;

use crate::event::{EventKind, SimEvent};

/// The append-only event log. Only the simulation pushes; everyone else reads.
///
/// Headless runs keep every event. A live range keeps a window (`set_window`): the events of
/// the tick being computed are always there, older ones are forgotten once more than twice the
/// window is held (the live runtime has already published and recorded them), so memory stays
/// bounded however long a drill runs. Sequence numbers and the counts `summary` reports cover
/// the whole log either way.
#[derive(Resource, Debug, Default)]
pub struct EventLog {
    /// The retained events: `events[0]` has seq `first_seq`.
    events: Vec<SimEvent>,
    /// Seq of the first retained event (0 unless a window forgot some).
    first_seq: u64,
    /// Keep at least this many recent events; `None`: keep them all.
    window: Option<usize>,
    /// Counts of the forgotten events by kind (for `Sim::summary`).
    forgotten: BTreeMap<&'static str, usize>,
}

impl EventLog {
    /// Appends an event at `tick`.
    pub fn push(&mut self, tick: u64, kind: EventKind) {
        let seq = self.len();
        self.events.push(SimEvent { seq, tick, kind });
    }

    /// The retained events: all of them unless a window was set.
    pub fn events(&self) -> &[SimEvent] {
        &self.events
    }

    /// Number of events logged so far, forgotten ones included: the next event's seq.
    pub fn len(&self) -> u64 {
        self.first_seq + self.events.len() as u64
    }

    /// Whether nothing was logged yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Retained events with `seq >= seq` (the tail of the log from there).
    pub fn since(&self, seq: u64) -> &[SimEvent] {
        let from = usize::try_from(seq.saturating_sub(self.first_seq)).unwrap_or(usize::MAX);
        &self.events[from.min(self.events.len())..]
    }

    /// Keeps about `window` recent events from now on (at most twice that many).
    pub fn set_window(&mut self, window: usize) {
        self.window = Some(window.max(1));
    }

    /// Forgets old events beyond the window. Called between ticks, never during one, so the
    /// events of the tick being computed stay reachable.
    pub(crate) fn trim(&mut self) {
        let Some(window) = self.window else { return };
        if self.events.len() <= 2 * window {
            return;
        }
        let cut = self.events.len() - window;
        for e in self.events.drain(..cut) {
            *self.forgotten.entry(e.kind.name()).or_insert(0) += 1;
        }
        self.first_seq += cut as u64;
    }

    /// Takes `events` (seqs from `first_seq` on, up to the log's end) as the retained log: a
    /// copy of it kept elsewhere, with more of the past than this one retains, handed back.
    /// `false`, and nothing changed, when they are not the log's tail or retain less.
    pub fn adopt(&mut self, first_seq: u64, events: Vec<SimEvent>) -> bool {
        let tail = first_seq + events.len() as u64 == self.len()
            && events.iter().zip(first_seq..).all(|(e, seq)| e.seq == seq);
        if !tail || first_seq > self.first_seq {
            return false;
        }
        // What was forgotten here and is retained again no longer counts as forgotten.
        for e in &events[..(self.first_seq - first_seq) as usize] {
            if let Some(n) = self.forgotten.get_mut(e.kind.name()) {
                *n -= 1;
                if *n == 0 {
                    self.forgotten.remove(e.kind.name());
                }
            }
        }
        self.events = events;
        self.first_seq = first_seq;
        true
    }

    /// Counts of forgotten events by kind.
    pub(crate) fn forgotten(&self) -> &BTreeMap<&'static str, usize> {
        &self.forgotten
    }

    /// An event of the tick being computed, to fold a repeat into it.
    pub(crate) fn get_mut(&mut self, seq: u64) -> Option<&mut SimEvent> {
        let i = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.events.get_mut(i)
    }
}

/// The SHA-256 of an event log as JSON Lines (each event's `to_json` and a newline): the
/// replay contract. A replay, a resumed drill, the standings and an exam certificate all name
/// a log by it; feed events in order, as many times as they come.
#[derive(Debug, Clone, Default)]
pub struct LogHasher {
    hasher: sha2::Sha256,
    events: u64,
}

impl LogHasher {
    /// Adds one event.
    pub fn push(&mut self, e: &SimEvent) {
        self.push_line(&e.to_json());
    }

    /// Adds one event already serialized with `to_json` (a stored log line).
    pub fn push_line(&mut self, line: &str) {
        use sha2::Digest as _;
        self.hasher.update(line.as_bytes());
        self.hasher.update(b"\n");
        self.events += 1;
    }

    /// Events hashed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The hash of the events so far, as lowercase hex.
    pub fn hex(&self) -> String {
        use sha2::Digest as _;
        hex(&self.hasher.clone().finalize())
    }
}

/// The hash `LogHasher` gives a whole log.
pub fn log_hash<'a>(events: impl IntoIterator<Item = &'a SimEvent>) -> String {
    let mut h = LogHasher::default();
    for e in events {
        h.push(e);
    }
    h.hex()
}

/// Lowercase hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * bytes.len());
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_windowed_log_forgets_old_events_but_keeps_seqs_counts_and_the_tick() {
        let mut log = EventLog::default();
        log.set_window(10);
        for t in 0..100u64 {
            log.trim();
            log.push(t, EventKind::FaultCleared { fault: "a".into() });
            log.push(t, EventKind::FaultCleared { fault: "b".into() });
            // The tick's own events are always there.
            assert_eq!(log.since(2 * t).len(), 2);
            assert!(log.events().len() <= 22);
        }
        assert_eq!(log.len(), 200);
        assert_eq!(log.events().last().map(|e| e.seq), Some(199));
        let forgotten: usize = log.forgotten().values().sum();
        assert_eq!(forgotten + log.events().len(), 200);
        assert!(log.get_mut(0).is_none(), "a forgotten event cannot be folded into");
        assert!(log.get_mut(199).is_some());
    }

    /// A log that keeps only the tick being computed takes back a longer copy of its tail, and
    /// counts the events it retains again as retained; a copy that is not its tail is refused.
    #[test]
    fn a_log_adopts_a_longer_copy_of_its_tail() {
        let (mut log, mut copy) = (EventLog::default(), Vec::new());
        log.set_window(1);
        for t in 0..50u64 {
            log.trim();
            let before = log.len();
            log.push(t, EventKind::FaultCleared { fault: format!("f{t}") });
            copy.extend_from_slice(log.since(before));
        }
        assert!(log.events().len() <= 3);
        let kept = copy.split_off(20);
        let mut gap = kept.clone();
        gap.remove(5);
        assert!(!log.adopt(21, gap), "a copy with a gap is refused");
        assert!(!log.adopt(20, kept[..29].to_vec()), "a copy short of the log's end is refused");
        assert!(log.adopt(20, kept.clone()));
        assert_eq!(log.events(), &kept[..]);
        assert_eq!(log.forgotten().values().sum::<usize>(), 20);
        assert!(!log.adopt(30, kept[10..].to_vec()), "a copy retaining less is refused");
        assert_eq!(log.len(), 50);
    }

    #[test]
    fn the_log_hash_is_the_hash_of_the_json_lines() {
        use sha2::Digest as _;
        let events = vec![SimEvent { seq: 0, tick: 0, kind: EventKind::FaultCleared { fault: "x".into() } }];
        let lines = format!("{}\n", events[0].to_json());
        assert_eq!(log_hash(&events), hex(&sha2::Sha256::digest(lines.as_bytes())));
        assert_eq!(hex(&[0x00, 0xAB, 0xFF]), "00abff");
    }
}
