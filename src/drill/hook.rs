//! A team's tick hook: on the team's simulation job, after every tick, it records the tick,
//! feeds the new events to the team's `Scorer` and `Track`, keeps the judged events and the
//! log hash, and publishes the card when it changes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use arc_swap::ArcSwap;
use icsdrill_drill::track::Track;
use icsdrill_drill::trends::Historian;
use icsdrill_engine::{LogHasher, Scenario, Sim, SimEvent, SimInput, Snapshot};
use icsdrill_judge::score::{ScoreCard, Scorer};
use tokio::sync::Notify;

use crate::runtime::live::TickHook;
use crate::store::replay::Shown;
use crate::store::{Batch, RecordSender};

/// Seconds of simulated time between score refreshes when no event changes it (downtime and
/// the time-based parts move on their own).
const REFRESH_S: u64 = 5;

/// What a team's hook publishes.
pub(super) struct Published {
    /// The latest score card.
    pub(super) card: ArcSwap<ScoreCard>,
    /// Actions, injects, hints, attack progress.
    pub(super) track: ArcSwap<Track>,
    /// Microseconds since the drill's epoch when the card last changed.
    pub(super) changed_us: AtomicU64,
    /// The judged events of the team's log (everything but plain traffic, see
    /// `EventKind::judged`), for the report and an exam's grade, while they number at most the
    /// drill's `judged_in_memory` (a recorded drill): beyond, they are read from the store.
    /// Appended by the simulation job once per tick; readers hold the lock only to copy.
    pub(super) judged: Mutex<Judged>,
    /// The hash of the team's whole log so far (the replay contract), and the tick of its
    /// last event (how far the record must be on disk to hold it all).
    pub(super) hash: Mutex<(LogHasher, u64)>,
    /// Its card at a contest's freeze tick, once the range has passed it (live or in a
    /// resumed log alike): what the public board shows while frozen, since the live card
    /// would give away later scores.
    pub(super) at_freeze: OnceLock<Arc<ScoreCard>>,
    /// What its operator station showed, and its score, once a second of plant time.
    pub(super) trends: Mutex<Historian>,
    /// A resumed range's totals as its log was read again (tick, total and the total its
    /// team saw, at each change), for the drill's score history; taken once, at the launch.
    pub(super) past_totals: Mutex<Vec<PastTotal>>,
    /// Once the drill is over, its card as its report scores it (`Drill::card_of`), with the
    /// tick it is judged at.
    pub(super) final_card: Mutex<Option<(u64, Arc<ScoreCard>)>>,
    /// While the drill is paused (and after, until the range publishes a later card), its card
    /// judged where its clock holds (`Drill::card_of`).
    pub(super) held_card: Mutex<Option<Arc<ScoreCard>>>,
    /// The tick the range has reached: its clock after the last tick it ran, or, resumed, the
    /// tick its stored card was judged at when that is later (`replay::reached`: the quiet
    /// ticks after the last event are not re-run). Judging takes the log to it, so a drill is
    /// scored at the time it stopped, those ticks counted (an outage's downtime goes on in them).
    pub(super) reached: AtomicU64,
    /// Where a recorded drill's cards go: the final card is recorded too (`Drill::card_of`),
    /// so the stored score is the drill's own at its end.
    pub(super) recording: OnceLock<Recording>,
}

/// A resumed range's score at a tick its log was read again at: the total, and the total its
/// team saw (`ScoreCard::shown_total`).
pub(super) type PastTotal = (u64, f64, f64);

/// At most this many past totals are kept for the score history (past it, every other goes).
const MAX_PAST_TOTALS: usize = 1 << 14;

/// A team's judged events in memory, while they fit.
pub(super) struct Judged {
    pub(super) events: Vec<SimEvent>,
    /// More than `limit` came: they are no longer kept, judging reads them from the store.
    pub(super) spilled: bool,
    /// Most kept (none: all, when nothing records the drill); a recorded drill keeps at most
    /// `MAX_JUDGED_BYTES_IN_MEMORY` of them, as JSON.
    limit: Option<usize>,
    /// Their size as JSON.
    bytes: usize,
}

impl Published {
    /// Nothing published yet but this card and an empty track. A team's judged events are
    /// kept in memory up to `judged_limit` (when the drill records them on disk).
    pub(super) fn new(card: ScoreCard, track: Track, judged_limit: Option<usize>) -> Published {
        Published {
            card: ArcSwap::from_pointee(card),
            track: ArcSwap::from_pointee(track),
            changed_us: AtomicU64::new(0),
            judged: Mutex::new(Judged { events: Vec::new(), spilled: false, limit: judged_limit, bytes: 0 }),
            hash: Mutex::new((LogHasher::default(), 0)),
            at_freeze: OnceLock::new(),
            final_card: Mutex::new(None),
            held_card: Mutex::new(None),
            trends: Mutex::default(),
            past_totals: Mutex::default(),
            reached: AtomicU64::new(0),
            recording: OnceLock::new(),
        }
    }

    /// Takes in new events of the team's log.
    pub(super) fn log(&self, events: &[SimEvent]) {
        let Some(last) = events.last() else { return };
        // Each event as JSON once: what the log hash takes, and what a judged one weighs.
        let lines: Vec<String> = events.iter().map(SimEvent::to_json).collect();
        let mut judged = self.judged.lock().unwrap_or_else(|e| e.into_inner());
        if !judged.spilled {
            for (e, line) in events.iter().zip(&lines).filter(|(e, _)| e.kind.judged()) {
                judged.bytes += line.len();
                judged.events.push(e.clone());
            }
            let too_many = judged.limit.is_some_and(|n| judged.events.len() > n);
            let too_large = judged.limit.is_some() && judged.bytes > super::MAX_JUDGED_BYTES_IN_MEMORY;
            if too_many || too_large {
                // A team writing at its budget for hours would hold hundreds of MB: from
                // here on its judging reads the log on disk.
                judged.events = Vec::new();
                judged.spilled = true;
                tracing::info!("a team's judged events outgrew memory: it is judged from the store");
            }
        }
        drop(judged);
        let mut hash = self.hash.lock().unwrap_or_else(|e| e.into_inner());
        for line in &lines {
            hash.0.push_line(line);
        }
        hash.1 = last.tick;
    }

    /// A resumed range's historian, from what its operator station showed before the stop
    /// (`replay::rerun_showing`) and its totals as its log was read again: the score a sample
    /// carries is the card published before its tick, as the live hook's is.
    pub(super) fn seed_trends(&self, shown: &[Shown], tick_hz: u32) {
        let totals = self.past_totals.lock().unwrap_or_else(|e| e.into_inner());
        let mut trends = self.trends.lock().unwrap_or_else(|e| e.into_inner());
        for s in shown {
            let before = totals.partition_point(|&(t, _, _)| t < s.tick);
            let score =
                totals.get(before.wrapping_sub(1)).map_or(self.card.load().shown_total(), |&(_, _, t)| t);
            trends.record(s.tick as f64 / f64::from(tick_hz), score, &s.values);
        }
    }
}

/// What a team's tick hook reports to besides the drill: the recorder, as team `index`.
pub(super) struct Recording {
    pub(super) sender: RecordSender,
    pub(super) index: usize,
}

/// What a team's scoring hook reports to and how it scores.
pub(super) struct HookTarget {
    /// The response plan is scored (enterprise drills).
    pub(super) plan: bool,
    /// Contest flag challenges offered.
    pub(super) challenges: usize,
    pub(super) published: Arc<Published>,
    /// Told when the card changes (the board task ranks again).
    pub(super) changed: Arc<Notify>,
    pub(super) epoch: Instant,
    /// The contest's freeze tick, if any.
    pub(super) freeze: Option<u64>,
    /// A blind drill: each card carries the team's provisional card too.
    pub(super) blind: bool,
    /// The tick the range's clock starts at (a resumed range's: its log is read up to it).
    pub(super) from_tick: u64,
}

/// Whether two cards show the same (whatever their tick): the board's fired and detected
/// counts, the region's alerts and another node's hints are on the card too.
fn same_score(a: &ScoreCard, b: &ScoreCard) -> bool {
    a.total == b.total
        && a.components == b.components
        && a.plan == b.plan
        && a.settled_tick == b.settled_tick
        && (a.steps_fired, a.steps_detected, a.alerts) == (b.steps_fired, b.steps_detected, b.alerts)
        && a.hints == b.hints
        && a.solved == b.solved
        && match (&a.provisional, &b.provisional) {
            (Some(a), Some(b)) => same_score(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
}

/// The card at `tick`, with the provisional one inside in a blind drill. Both are scored at
/// the same ticks live, resumed and on another node, so their tie-break ticks agree.
fn card_at(scorer: &mut Scorer, tick: u64, blind: bool) -> ScoreCard {
    let mut card = scorer.card(tick);
    if blind {
        card.provisional = Some(Box::new(scorer.provisional_card(tick)));
    }
    card
}

/// A team's card before it has played (a blind drill's with its provisional card).
pub(super) fn blank_card(scenario: &Scenario, (plan, challenges, blind): (bool, usize, bool)) -> ScoreCard {
    card_at(&mut Scorer::for_drill(scenario, (plan, challenges)), 0, blind)
}

/// What the hook keeps between ticks.
struct HookState {
    scorer: Scorer,
    track: Track,
    refresh: u64,
    freeze: Option<u64>,
    blind: bool,
}

impl HookState {
    fn card(&mut self, tick: u64) -> ScoreCard {
        card_at(&mut self.scorer, tick, self.blind)
    }

    /// Reads events; whether one can change the score, and whether the track changed.
    fn read(&mut self, events: &[SimEvent]) -> (bool, bool) {
        let (mut relevant, mut shown) = (false, false);
        for e in events {
            self.scorer.push(e);
            relevant |= Scorer::relevant(&e.kind);
            shown |= self.track.push(e);
        }
        (relevant, shown)
    }

    /// Once the range's clock has reached the freeze tick (everything before it read), keeps
    /// the card there. Scored on a copy: the live scorer's tie-break tick stays as it would be
    /// without a freeze, so a contest's scores do not depend on whether it freezes.
    fn note_freeze(&self, tick: u64, published: &Published) {
        if let Some(freeze) = self.freeze
            && tick >= freeze
            && published.at_freeze.get().is_none()
        {
            let _ = published.at_freeze.set(Arc::new(card_at(&mut self.scorer.clone(), freeze, self.blind)));
        }
    }

    /// A resumed range: reads its log tick by tick, scoring when the live hook would have, so
    /// the scorer (tie-break tick included) is where it was before the stop, and its card at
    /// the freeze is the one the live hook kept.
    fn catch_up(&mut self, past: &[SimEvent], published: &Published, start: &ScoreCard) {
        let Some(last) = past.last() else { return };
        let mut next = 0;
        let mut totals = vec![(0, start.total, start.shown_total())];
        for tick in 1..=last.tick + 1 {
            let from = next;
            while next < past.len() && past[next].tick < tick {
                next += 1;
            }
            let (relevant, _) = self.read(&past[from..next]);
            if relevant || tick.is_multiple_of(self.refresh) {
                let card = self.card(tick);
                let total = (tick, card.total, card.shown_total());
                if totals.last().is_some_and(|&(_, t, s)| (t, s) != (total.1, total.2)) {
                    totals.push(total);
                }
                if totals.len() > MAX_PAST_TOTALS {
                    totals = icsdrill_drill::history::every_other(totals);
                }
            }
            self.note_freeze(tick, published);
        }
        *published.past_totals.lock().unwrap_or_else(|e| e.into_inner()) = totals;
        published.card.store(Arc::new(self.card(last.tick + 1)));
        published.track.store(Arc::new(self.track.clone()));
        published.log(past);
    }
}

/// A team's card at the contest's freeze tick from its judged events before it, scored as its
/// hook scores it live (a card at every tick with a relevant event and every refresh, then
/// the freeze's on a copy): what another node shows of a team it does not run.
pub(super) fn card_at_freeze(
    scenario: &Scenario,
    (plan, challenges, blind): (bool, usize, bool),
    before: &[SimEvent],
    freeze: u64,
) -> ScoreCard {
    let mut scorer = Scorer::for_drill(scenario, (plan, challenges));
    let refresh = REFRESH_S * u64::from(scenario.tick_hz);
    let _ = card_at(&mut scorer, 0, blind);
    let mut next = 0;
    for tick in 1..=freeze {
        let from = next;
        while next < before.len() && before[next].tick < tick {
            next += 1;
        }
        let mut relevant = false;
        for e in &before[from..next] {
            scorer.push(e);
            relevant |= Scorer::relevant(&e.kind);
        }
        if relevant || tick.is_multiple_of(refresh) {
            let _ = card_at(&mut scorer, tick, blind);
        }
    }
    card_at(&mut scorer, freeze, blind)
}

/// The hook that scores (and records) one team's range after every tick. `past` is the log of
/// a resumed range so far.
pub(super) fn score_hook(
    scenario: &Arc<Scenario>,
    target: HookTarget,
    past: &[SimEvent],
    recording: Option<Recording>,
) -> TickHook {
    let HookTarget { plan, challenges, published, changed, epoch, freeze, blind, from_tick } = target;
    if let Some(r) = recording {
        // The one copy: the hook records through it, and the drill's end records the final card.
        let _ = published.recording.set(r);
    }
    let mut state = HookState {
        scorer: Scorer::for_drill(scenario, (plan, challenges)),
        track: Track::for_scenario(scenario),
        refresh: REFRESH_S * u64::from(scenario.tick_hz),
        freeze,
        blind,
    };
    // The card at tick 0 is where the score starts (live and resumed alike): the first refresh
    // then finds nothing changed, rather than every team's row changing at once.
    let start = state.card(0);
    state.catch_up(past, &published, &start);
    if past.is_empty() {
        published.card.store(Arc::new(start));
    }
    // Resumed past the freeze with no events since it: everything read is before it.
    state.note_freeze(from_tick, &published);
    let scenario = scenario.clone();
    let sources = icsdrill_drill::views::sensor_sources(&scenario);
    Box::new(move |sim: &Sim, snapshot: &Snapshot, applied: u64, inputs: Vec<SimInput>, new: &[SimEvent]| {
        if let Some(r) = published.recording.get()
            && (!inputs.is_empty() || !new.is_empty())
        {
            r.sender.record(Batch { team: r.index, tick: applied, inputs, events: new.to_vec() });
        }
        published.log(new);
        // Never lowered: a resumed range re-run to its last event stands before the tick the
        // drill had reached (its stored card's), and catching up to the others must not
        // judge it earlier than it was.
        published.reached.fetch_max(sim.tick(), Ordering::AcqRel);
        let (relevant, shown) = state.read(new);
        if shown {
            published.track.store(Arc::new(state.track.clone()));
        }
        let tick = sim.tick();
        if tick.is_multiple_of(u64::from(scenario.tick_hz)) {
            let values = icsdrill_drill::views::shown_values(&scenario, snapshot, &sources);
            let at_s = tick as f64 / f64::from(scenario.tick_hz);
            // A reader copying the samples holds the lock a moment: this second is skipped
            // rather than the plant held.
            if let Ok(mut trends) = published.trends.try_lock() {
                trends.record(at_s, published.card.load().shown_total(), &values);
            }
        }
        state.note_freeze(tick, &published);
        if !(relevant || tick.is_multiple_of(state.refresh)) {
            return;
        }
        let mut card = state.card(tick);
        let last = published.card.load();
        // A blind drill's provisional card keeps its tick until it changes or the refresh
        // comes: a card stored because the true one changed (an attack step firing) must not
        // tell the team so by its tick.
        if let (Some(new), Some(old)) = (&card.provisional, &last.provisional)
            && same_score(new, old)
            && !tick.is_multiple_of(state.refresh)
        {
            card.provisional = Some(old.clone());
        }
        let moved = !same_score(&card, &last);
        drop(last);
        if moved {
            if let Some(r) = published.recording.get() {
                r.sender.score(r.index, tick, card.total, serde_json::to_string(&card).unwrap_or_default());
            }
            published.card.store(Arc::new(card));
            published.changed_us.store(epoch.elapsed().as_micros() as u64, Ordering::Release);
            changed.notify_one();
        } else if tick.is_multiple_of(state.refresh) {
            // Keep the tick of the card current for the console.
            published.card.store(Arc::new(card));
        }
    })
}

#[cfg(test)]
mod tests {
    use icsdrill_engine::EventKind;

    use super::*;

    #[test]
    fn a_recorded_teams_judged_events_spill_to_the_store_past_their_bytes() {
        let s = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().load().unwrap();
        let card = Scorer::new(&s, false).card(0);
        let p = Published::new(card, Track::default(), Some(usize::MAX));
        let text = "x".repeat(10_000);
        let mut seq = 0;
        while !p.judged.lock().unwrap().spilled {
            let input = SimInput::ReportIncident(icsdrill_engine::IncidentReport {
                technique: "T0836".into(),
                asset: "plc-t101".into(),
                observed_s: None,
                text: text.clone(),
                tactic: None,
                impact: String::new(),
                actions: String::new(),
            });
            p.log(&[SimEvent { seq, tick: seq, kind: EventKind::InputApplied { input } }]);
            seq += 1;
            assert!(seq < 10_000, "never spilled");
        }
        // About 32 MiB of reports, far fewer than the count limit would allow.
        assert!((3_000..4_000).contains(&seq), "{seq}");
        assert!(p.judged.lock().unwrap().events.is_empty(), "let go of");
        assert_eq!(p.hash.lock().unwrap().1, seq - 1, "the log hash goes on");
    }

    /// Another node scores a team's card at the freeze from the shared records as the team's
    /// own hook kept it live.
    #[test]
    fn the_card_at_the_freeze_from_the_records_is_the_one_the_hook_kept() {
        let s = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().load().unwrap();
        // Past the attack's first steps (at 30 s), before its end.
        let freeze = s.ticks(400.0);
        let card = Scorer::new(&s, false).card(0);
        let published = Arc::new(Published::new(card, Track::default(), None));
        let target = HookTarget {
            plan: false,
            challenges: 1,
            published: published.clone(),
            changed: Arc::new(Notify::new()),
            epoch: Instant::now(),
            freeze: Some(freeze),
            blind: true,
            from_tick: 0,
        };
        let mut hook = score_hook(&s, target, &[], None);
        let mut sim = Sim::new(s.clone(), 7);
        let mut log = sim.events().to_vec();
        published.log(&log);
        while sim.tick() < freeze + 50 {
            let (tick, before) = (sim.tick(), sim.event_count());
            sim.step([]);
            let new = sim.events_since(before).to_vec();
            hook(&sim, &sim.snapshot(), tick, Vec::new(), &new);
            log.extend(new);
        }
        let kept = published.at_freeze.get().expect("kept as the range passed the freeze").clone();
        let judged: Vec<SimEvent> = log.into_iter().filter(|e| e.kind.judged() && e.tick < freeze).collect();
        let scored = card_at_freeze(&s, (false, 1, true), &judged, freeze);
        assert!(kept.steps_fired > 0, "the attack had begun: {kept:?}");
        assert_eq!(
            (scored.total, &scored.components, scored.settled_tick, scored.tick),
            (kept.total, &kept.components, kept.settled_tick, freeze)
        );
        // A blind drill's provisional card at the freeze too, scored alike:
        // nothing reported, so no step counts.
        let (kept, scored) = (kept.provisional.as_ref().unwrap(), scored.provisional.as_ref().unwrap());
        assert_eq!(kept.steps_fired, 0, "{kept:?}");
        assert_eq!(
            (scored.total, &scored.components, scored.settled_tick),
            (kept.total, &kept.components, kept.settled_tick)
        );
    }

    #[tokio::test]
    async fn a_card_is_published_when_only_its_alerts_change() {
        let s = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().load().unwrap();
        let published = Arc::new(Published::new(Scorer::new(&s, false).card(0), Track::default(), None));
        let changed = Arc::new(Notify::new());
        let target = HookTarget {
            plan: false,
            challenges: 0,
            published: published.clone(),
            changed: changed.clone(),
            epoch: Instant::now(),
            freeze: None,
            blind: false,
            from_tick: 0,
        };
        let mut hook = score_hook(&s, target, &[], None);
        let sim = Sim::new(s.clone(), 1);
        let before = published.card.load_full();
        let kind =
            EventKind::IdsAlert { rule: "r".into(), plc: "plc-t101".into(), source: "x".into(), function: 6 };
        hook(&sim, &sim.snapshot(), 0, Vec::new(), &[SimEvent { seq: 9, tick: 0, kind }]);
        let after = published.card.load_full();
        assert_eq!(after.total, before.total, "an alert alone scores nothing");
        assert_eq!(after.alerts, 1, "the card the board and the region read counts it");
        let told = tokio::time::timeout(std::time::Duration::from_secs(5), changed.notified()).await;
        assert!(told.is_ok(), "the board task is told");
    }
}
