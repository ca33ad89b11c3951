//! A live range's published log: a window of its recent events, with indexes of its traffic
//! and its alerts (what the web view, alert streams and syslog follow).

use icsdrill_engine::{EventKind, SimEvent, SimInput};

use super::live::LIVE_EVENT_WINDOW;

/// Bytes (as JSON) of a team's own actions, reports and flags the window holds at most: each
/// may be 32 KiB, and a window of them would be a gigabyte. Past it the oldest events go
/// first, whatever their count.
pub(super) const MAX_WINDOW_ACTION_BYTES: usize = 16 << 20;

/// The size, as JSON, of a team's own input the event carries (applied or refused), else 0:
/// what the team chooses the size of (the rest of the log is of bounded sizes).
fn action_bytes(e: &SimEvent) -> usize {
    match &e.kind {
        EventKind::InputApplied { input } | EventKind::InputRejected { input, .. }
            if input.defender_kind().is_some() || matches!(input, SimInput::SubmitFlag { .. }) =>
        {
            e.to_json().len()
        }
        _ => 0,
    }
}

/// The published log: a window of recent events.
#[derive(Default)]
pub(super) struct Published {
    /// Seq of `events[0]`.
    pub(super) first_seq: u64,
    pub(super) events: Vec<SimEvent>,
    /// Seqs of the Modbus traffic events (transactions, connections, summaries) among them.
    pub(super) traffic: Vec<u64>,
    /// Seqs of the monitoring's alerts among them (what alert streams and syslog follow).
    pub(super) alerts: Vec<u64>,
    /// `action_bytes` of the events held.
    action_bytes: usize,
}

impl Published {
    /// An empty window whose first event will be `first_seq`.
    pub(super) fn starting_at(first_seq: u64) -> Published {
        Published { first_seq, ..Published::default() }
    }

    pub(super) fn extend(&mut self, new: &[SimEvent]) {
        for e in new {
            if e.kind.is_traffic() {
                self.traffic.push(e.seq);
            } else if matches!(e.kind, EventKind::IdsAlert { .. }) {
                self.alerts.push(e.seq);
            }
            self.action_bytes += action_bytes(e);
            self.events.push(e.clone());
        }
        let len = self.events.len();
        let mut cut = if len > 2 * LIVE_EVENT_WINDOW { len - LIVE_EVENT_WINDOW } else { 0 };
        let mut freed: usize = self.events[..cut].iter().map(action_bytes).sum();
        if self.action_bytes > MAX_WINDOW_ACTION_BYTES {
            // Down to half, so a team at its limit does not cost a cut every tick.
            while cut < len && self.action_bytes - freed > MAX_WINDOW_ACTION_BYTES / 2 {
                freed += action_bytes(&self.events[cut]);
                cut += 1;
            }
        }
        if cut > 0 {
            self.action_bytes -= freed;
            self.events.drain(..cut);
            self.first_seq += cut as u64;
            let first = self.first_seq;
            for index in [&mut self.traffic, &mut self.alerts] {
                let keep = index.partition_point(|s| *s < first);
                index.drain(..keep);
            }
        }
    }

    /// The events an index names with `seq >= since`, at most `limit`: a binary search, not a
    /// scan of the window under the lock.
    pub(super) fn indexed(&self, index: &[u64], since: u64, limit: usize) -> Vec<SimEvent> {
        let from = index.partition_point(|s| *s < since);
        index[from..].iter().take(limit).map(|s| self.events[(s - self.first_seq) as usize].clone()).collect()
    }

    pub(super) fn len(&self) -> u64 {
        self.first_seq + self.events.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icsdrill_engine::EventKind;

    fn event(seq: u64, traffic: bool) -> SimEvent {
        let kind = if traffic {
            EventKind::TrafficSummary { entries: Vec::new() }
        } else {
            EventKind::FaultCleared { fault: "f".into() }
        };
        SimEvent { seq, tick: seq, kind }
    }

    #[test]
    fn a_teams_large_actions_hold_a_bounded_share_of_the_window() {
        let mut p = Published::default();
        let text = "x".repeat(30_000);
        let n = 2 * MAX_WINDOW_ACTION_BYTES as u64 / 30_000;
        for i in 0..n {
            let input = SimInput::Notify { to: "duty_officer".into(), text: text.clone() };
            let kind =
                EventKind::InputRejected { input, reason: icsdrill_engine::RejectReason::IllegalValue };
            p.extend(&[SimEvent { seq: 2 * i, tick: i, kind }, event(2 * i + 1, true)]);
            assert!(p.action_bytes <= MAX_WINDOW_ACTION_BYTES, "{}", p.action_bytes);
        }
        assert_eq!(p.action_bytes, p.events.iter().map(action_bytes).sum::<usize>(), "counted as held");
        assert!(p.events.len() < 2 * LIVE_EVENT_WINDOW);
        assert_eq!(p.len(), 2 * n, "the count covers the whole log");
        assert!(p.traffic.iter().all(|s| *s >= p.first_seq));
    }

    #[test]
    fn alerts_are_found_through_their_index_in_the_window() {
        let mut p = Published::default();
        let n = 5 * LIVE_EVENT_WINDOW as u64;
        for seq in 0..n {
            let kind = if seq % 1000 == 7 {
                EventKind::IdsAlert { rule: "r".into(), plc: "p".into(), source: "h".into(), function: 6 }
            } else {
                event(seq, seq % 3 == 0).kind
            };
            p.extend(&[SimEvent { seq, tick: seq, kind }]);
        }
        assert!(p.alerts.iter().all(|s| *s >= p.first_seq && s % 1000 == 7));
        let want: Vec<u64> = (p.first_seq..n).filter(|s| s % 1000 == 7).collect();
        let found: Vec<u64> = p.indexed(&p.alerts, 0, usize::MAX).iter().map(|e| e.seq).collect();
        assert_eq!(found, want);
        assert!(found.len() > 2);
        let after: Vec<u64> = p.indexed(&p.alerts, found[1], 1).iter().map(|e| e.seq).collect();
        assert_eq!(after, [found[1]], "from a seq on, at most the limit");
    }

    #[test]
    fn the_published_log_keeps_a_bounded_window_with_its_seqs() {
        let mut p = Published::default();
        let n = 5 * LIVE_EVENT_WINDOW as u64;
        for seq in 0..n {
            p.extend(&[event(seq, seq % 3 == 0)]);
            assert!(p.events.len() <= 2 * LIVE_EVENT_WINDOW, "the window is bounded");
        }
        assert_eq!(p.len(), n, "the count covers the whole log");
        assert_eq!(p.events[0].seq, p.first_seq);
        assert!(p.first_seq >= n - 2 * LIVE_EVENT_WINDOW as u64);
        assert!(p.traffic.iter().all(|s| *s >= p.first_seq && s % 3 == 0));
        assert_eq!(p.traffic.len(), p.events.iter().filter(|e| e.seq % 3 == 0).count());
    }
}
