//! A live range's published log: a window of its recent events, with indexes of its traffic
//! and its alerts (what the web view, alert streams and syslog follow), and of the events a
//! team's console shows, which it numbers on its own (`Published::shown_since`).

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
    /// Which events a team's console shows (a drill's range; none: no such numbering).
    shows: Option<fn(&SimEvent) -> bool>,
    /// Seqs of the events among them a team's console shows.
    pub(super) shown: Vec<u64>,
    /// How many shown events came before `shown[0]`: the team's number of `shown[0]`.
    shown_before: u64,
    /// `action_bytes` of the events held.
    action_bytes: usize,
}

impl Published {
    /// An empty window whose first event will be `first_seq`; `shows` picks the events a
    /// team's console shows (numbered apart, `shown_since`). Events before `first_seq` (a
    /// resumed log not held) count as shown.
    pub(super) fn starting_at(first_seq: u64, shows: Option<fn(&SimEvent) -> bool>) -> Published {
        Published { first_seq, shows, shown_before: first_seq, ..Published::default() }
    }

    pub(super) fn extend(&mut self, new: &[SimEvent]) {
        for e in new {
            if e.kind.is_traffic() {
                self.traffic.push(e.seq);
            } else if matches!(e.kind, EventKind::IdsAlert { .. }) {
                self.alerts.push(e.seq);
            }
            if self.shows.is_some_and(|shows| shows(e)) {
                self.shown.push(e.seq);
            }
            self.action_bytes += action_bytes(e);
            self.events.push(e.clone());
        }
        let mut cut = self.count_cut();
        let len = self.events.len();
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
            let gone = self.shown.partition_point(|s| *s < first);
            self.shown.drain(..gone);
            self.shown_before += gone as u64;
        }
    }

    /// How many of the oldest events to let go by count. A range whose team is shown only some
    /// events is cut by the count of those (down to `LIVE_EVENT_WINDOW` of them), so when its
    /// first number moves on tells it nothing of how many it is not shown (an attack's steps);
    /// by the count of all only past twice as many again (memory's bound, which a team's own
    /// events never reach first unless hidden ones outnumber them two to one). Any other range
    /// is cut by the count of all, down to `LIVE_EVENT_WINDOW`.
    fn count_cut(&self) -> usize {
        let len = self.events.len();
        let all = if len > 2 * LIVE_EVENT_WINDOW { len - LIVE_EVENT_WINDOW } else { 0 };
        if self.shows.is_none() {
            return all;
        }
        let cap = if len > 4 * LIVE_EVENT_WINDOW { len - 2 * LIVE_EVENT_WINDOW } else { 0 };
        let shown = match self.shown.len() {
            n if n > 2 * LIVE_EVENT_WINDOW => (self.shown[n - LIVE_EVENT_WINDOW] - self.first_seq) as usize,
            _ => 0,
        };
        shown.max(cap)
    }

    /// The events an index names with `seq >= since`, at most `limit`: a binary search, not a
    /// scan of the window under the lock.
    pub(super) fn indexed(&self, index: &[u64], since: u64, limit: usize) -> Vec<SimEvent> {
        let from = index.partition_point(|s| *s < since);
        index[from..].iter().take(limit).map(|s| self.events[(s - self.first_seq) as usize].clone()).collect()
    }

    /// The events a team's console shows from its number `since` on, at most `limit`, each
    /// carrying its team number as its `seq`: numbered with no gap where the log has an event
    /// the team does not see (a gap would tell it that one came: an attack step, a limit
    /// crossed). Before the window: from its start.
    pub(super) fn shown_since(&self, since: u64, limit: usize) -> Vec<SimEvent> {
        let from = usize::try_from(since.saturating_sub(self.shown_before)).unwrap_or(usize::MAX);
        (from.min(self.shown.len())..self.shown.len()).take(limit).map(|k| self.numbered(k)).collect()
    }

    /// The `k`th shown event of the window, carrying its team number as its `seq`.
    fn numbered(&self, k: usize) -> SimEvent {
        let e = &self.events[(self.shown[k] - self.first_seq) as usize];
        SimEvent { seq: self.shown_before + k as u64, ..e.clone() }
    }

    /// The alerts (all of which a team's console shows) from team number `since` on, at most
    /// `limit`, numbered as `shown_since` numbers them.
    pub(super) fn shown_alerts_since(&self, since: u64, limit: usize) -> Vec<SimEvent> {
        let from = usize::try_from(since.saturating_sub(self.shown_before)).unwrap_or(usize::MAX);
        let Some(&seq) = self.shown.get(from) else { return Vec::new() };
        let alerts = &self.alerts[self.alerts.partition_point(|s| *s < seq)..];
        alerts
            .iter()
            .take(limit)
            .filter_map(|a| self.shown.binary_search(a).ok())
            .map(|k| self.numbered(k))
            .collect()
    }

    pub(super) fn len(&self) -> u64 {
        self.first_seq + self.events.len() as u64
    }
}

/// What the web view, alert streams and syslog read of a live range's published log.
impl super::live::Live {
    /// Published events with `seq >= since` (within the window), at most `limit`, that
    /// `keep` accepts.
    pub fn events_since(&self, since: u64, limit: usize, keep: impl Fn(&SimEvent) -> bool) -> Vec<SimEvent> {
        let published = self.events.read().unwrap_or_else(|e| e.into_inner());
        let start = usize::try_from(since.saturating_sub(published.first_seq)).unwrap_or(usize::MAX);
        let start = start.min(published.events.len());
        published.events[start..].iter().filter(|e| keep(e)).take(limit).cloned().collect()
    }

    /// The events a team's console shows (`Extras::shows`) from its number `since` on (within
    /// the window), at most `limit`, each with its team number as its `seq`: one after
    /// another, with no gap where the log has events the team does not see.
    pub fn shown_since(&self, since: u64, limit: usize) -> Vec<SimEvent> {
        self.events.read().unwrap_or_else(|e| e.into_inner()).shown_since(since, limit)
    }

    /// The alerts among them from team number `since` on, at most `limit`, numbered alike.
    pub fn shown_alerts_since(&self, since: u64, limit: usize) -> Vec<SimEvent> {
        self.events.read().unwrap_or_else(|e| e.into_inner()).shown_alerts_since(since, limit)
    }

    /// Modbus traffic events (transactions, connections, summaries) with `seq >= since`
    /// (within the window), at most `limit`: found through an index, so a long log costs a
    /// binary search, not a scan under the lock.
    pub fn transactions_since(&self, since: u64, limit: usize) -> Vec<SimEvent> {
        let published = self.events.read().unwrap_or_else(|e| e.into_inner());
        published.indexed(&published.traffic, since, limit)
    }

    /// The monitoring's alerts with `seq >= since` (within the window), at most `limit`,
    /// found through an index as `transactions_since` finds traffic: a team's alert streams
    /// cost nothing while no alert comes, however long its log.
    pub fn alerts_since(&self, since: u64, limit: usize) -> Vec<SimEvent> {
        let published = self.events.read().unwrap_or_else(|e| e.into_inner());
        published.indexed(&published.alerts, since, limit)
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

    /// Fills `p` with five windows of events: every 1000th from 7 an alert, every third of
    /// the rest traffic. Returns how many.
    fn alerting_log(p: &mut Published) -> u64 {
        let n = 5 * LIVE_EVENT_WINDOW as u64;
        for seq in 0..n {
            let kind = if seq % 1000 == 7 {
                EventKind::IdsAlert { rule: "r".into(), plc: "p".into(), source: "h".into(), function: 6 }
            } else {
                event(seq, seq % 3 == 0).kind
            };
            p.extend(&[SimEvent { seq, tick: seq, kind }]);
        }
        n
    }

    #[test]
    fn alerts_are_found_through_their_index_in_the_window() {
        let mut p = Published::default();
        let n = alerting_log(&mut p);
        assert!(p.alerts.iter().all(|s| *s >= p.first_seq && s % 1000 == 7));
        let want: Vec<u64> = (p.first_seq..n).filter(|s| s % 1000 == 7).collect();
        let found: Vec<u64> = p.indexed(&p.alerts, 0, usize::MAX).iter().map(|e| e.seq).collect();
        assert_eq!(found, want);
        assert!(found.len() > 2);
        let after: Vec<u64> = p.indexed(&p.alerts, found[1], 1).iter().map(|e| e.seq).collect();
        assert_eq!(after, [found[1]], "from a seq on, at most the limit");
    }

    #[test]
    fn a_team_numbers_the_events_it_sees_with_no_gap_for_the_ones_it_does_not() {
        // Every third event traffic (shown), every 1000th from 7 an alert (shown), the rest
        // hidden; long enough for the window to slide.
        fn shows(e: &SimEvent) -> bool {
            e.kind.is_traffic() || matches!(e.kind, EventKind::IdsAlert { .. })
        }
        let mut p = Published::starting_at(0, Some(shows));
        alerting_log(&mut p);
        let all = p.shown_since(0, usize::MAX);
        assert!(all.len() < p.events.len() && p.shown_before > 0, "the window slid");
        let numbers: Vec<u64> = all.iter().map(|e| e.seq).collect();
        let want: Vec<u64> = (p.shown_before..p.shown_before + all.len() as u64).collect();
        assert_eq!(numbers, want, "numbered one after another");
        assert!(all.iter().all(shows));
        // Paging on from a number gives the next ones.
        let page = p.shown_since(numbers[10], 5);
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), &numbers[10..15]);
        // Alerts carry the same numbers as in the whole list.
        let alerts = p.shown_alerts_since(numbers[0], usize::MAX);
        assert!(alerts.len() > 2);
        for a in &alerts {
            assert!(matches!(a.kind, EventKind::IdsAlert { .. }));
            assert_eq!(all[(a.seq - p.shown_before) as usize].tick, a.tick);
        }
        let later = p.shown_alerts_since(alerts[1].seq, 1);
        assert_eq!(later.iter().map(|e| e.seq).collect::<Vec<_>>(), [alerts[1].seq]);
        assert!(p.shown_since(u64::MAX, 10).is_empty() && p.shown_alerts_since(u64::MAX, 10).is_empty());
    }

    #[test]
    fn when_a_teams_window_moves_on_tells_nothing_of_the_events_it_is_not_shown() {
        // Two logs with the same events shown, one with a few hundred more it does not show
        // (an attack's steps): the team's window holds the same shown events after every
        // event, its first number moving on at the same moments.
        fn shows(e: &SimEvent) -> bool {
            e.kind.is_traffic()
        }
        let (mut plain, mut attacked) =
            (Published::starting_at(0, Some(shows)), Published::starting_at(0, Some(shows)));
        let mut seq_a = 0;
        for i in 0..(4 * LIVE_EVENT_WINDOW as u64) {
            // Two events in three shown (traffic), the rest samples; the attacked log has an
            // attack event every 97th.
            let kind = |seq| if i % 3 != 0 { event(seq, true).kind } else { event(seq, false).kind };
            plain.extend(&[SimEvent { seq: i, tick: i, kind: kind(i) }]);
            attacked.extend(&[SimEvent { seq: seq_a, tick: i, kind: kind(seq_a) }]);
            seq_a += 1;
            if i % 97 == 0 {
                attacked.extend(&[event(seq_a, false)]);
                seq_a += 1;
            }
            let seen = |p: &Published| (p.shown_before, p.shown.len());
            assert_eq!(seen(&plain), seen(&attacked), "after event {i}");
            assert!(attacked.events.len() <= 4 * LIVE_EVENT_WINDOW);
        }
        assert!(plain.shown_before > 0, "the windows moved on");
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
