//! A live range's published log: a window of its recent events, with indexes of its traffic
//! and its alerts (what the web view, alert streams and syslog follow).

use icsdrill_engine::SimEvent;

use super::live::LIVE_EVENT_WINDOW;

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
}

impl Published {
    pub(super) fn extend(&mut self, new: &[SimEvent]) {
        for e in new {
            if e.kind.is_traffic() {
                self.traffic.push(e.seq);
            } else if matches!(e.kind, icsdrill_engine::EventKind::IdsAlert { .. }) {
                self.alerts.push(e.seq);
            }
            self.events.push(e.clone());
        }
        if self.events.len() > 2 * LIVE_EVENT_WINDOW {
            let cut = self.events.len() - LIVE_EVENT_WINDOW;
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
