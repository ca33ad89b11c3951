//! The card a team is shown by, and judged by at the drill's end: its range's last published
//! card while the drill runs, its judged log scored where the clock holds while paused and at
//! the end once over.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use icsdrill_drill::Phase;
use icsdrill_engine::SimEvent;
use icsdrill_judge::score::ScoreCard;

use super::{Drill, Here};

impl Drill {
    /// A team's judged log (up to `end`) scored at `end`, as its report scores it, its total
    /// settled where the live board saw it settle: at the tick of its hook's last card `live`
    /// when that card has the same total, else at `end`. Scored once here, every team's total
    /// would settle at `end` and undo a contest's tie-breaks; re-scoring the log card by card
    /// as the hook did costs a card every 5 s of plant time (121,000 over a 7-day drill).
    pub(super) fn card_at_end(&self, events: &[SimEvent], end: u64, live: Option<&ScoreCard>) -> ScoreCard {
        let plan = (self.mode.scores_plan(), self.challenges.len());
        let mut card = icsdrill_judge::score::Scorer::score_contest_log_at(&self.scenario, plan, events, end);
        if let Some(live) = live
            && live.total == card.total
        {
            card.settled_tick = live.settled_tick.min(end);
        }
        card
    }

    /// The card a team here is shown by: the last its range published while the drill runs;
    /// paused, its judged log scored where its clock holds, and after, until its range
    /// publishes a later card; once it is over, its judged log scored at its end, as its
    /// report, the board and the summary all score it (the last published card may be a
    /// refresh behind, and the time its timed parts count to with it). A team judged from the
    /// store keeps its last card while the drill runs (reading the store is no work for the
    /// board's task), and is read back once at the end.
    pub(super) fn card_of(&self, h: &Here) -> Arc<ScoreCard> {
        let phase = self.phase();
        if phase.is_over() {
            return self.card_over(h);
        }
        let live = h.published.card.load_full();
        let mut held = h.published.held_card.lock().unwrap_or_else(|e| e.into_inner());
        if phase == Phase::Paused
            && held.as_ref().is_none_or(|c| c.tick != h.published.reached.load(Ordering::Acquire))
            && let Some((_, mut card)) = self.card_reached(h)
        {
            // A blind drill's team keeps the provisional card it was last shown, as a stop
            // stores it.
            card.provisional = live.provisional.clone();
            *held = Some(Arc::new(card));
        }
        match &*held {
            Some(card) if card.tick > live.tick => card.clone(),
            _ => live,
        }
    }

    /// A drill over: the team's card at its end, recorded as its last.
    fn card_over(&self, h: &Here) -> Arc<ScoreCard> {
        let end = h.published.reached.load(Ordering::Acquire);
        let mut last = h.published.final_card.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, card)) = &*last
            && *at == end
        {
            return card.clone();
        }
        let reached = end;
        let Some((end, card)) = self.card_reached(h).or_else(|| self.card_from_store(h)) else {
            return h.published.card.load_full();
        };
        let card = Arc::new(card);
        // Recorded as the drill's last card: the stored score (the regional view's, a
        // replay's) is this one.
        if let Some(r) = h.published.recording.get() {
            r.sender.score(r.index, end, card.total, serde_json::to_string(&*card).unwrap_or_default());
        }
        // Kept for the tick the range reached: a team judged from the store is read once.
        *last = Some((reached, card.clone()));
        card
    }

    /// A team judged from the store, its drill over: its judged log read back and scored at
    /// its end, as its report scores it (its last published card may be a refresh behind).
    fn card_from_store(&self, h: &Here) -> Option<(u64, ScoreCard)> {
        let team =
            self.teams.iter().find(|t| t.here().is_some_and(|x| Arc::ptr_eq(&x.published, &h.published)))?;
        match self.judged_log(&team.info.id) {
            Ok(judged) => judged
                .map(|(events, end)| (end, self.card_at_end(&events, end, Some(&h.published.card.load())))),
            Err(e) => {
                tracing::warn!(team = %team.info.id, error = %e, "cannot read the judged log back: its last card stands");
                None
            }
        }
    }

    /// A team's card judged at the tick its range has reached, from its judged events in
    /// memory (none for a team whose events spilled to the store: `judged_log` reads those).
    pub(super) fn card_reached(&self, h: &Here) -> Option<(u64, ScoreCard)> {
        let end = h.published.reached.load(Ordering::Acquire);
        let mut events = {
            let judged = h.published.judged.lock().unwrap_or_else(|e| e.into_inner());
            if judged.spilled {
                return None;
            }
            judged.events.clone()
        };
        events.retain(|e| e.tick < end);
        Some((end, self.card_at_end(&events, end, Some(&h.published.card.load()))))
    }

    /// Once the clocks a phase holds have run out of ticks to do (a pause's catch-up, a step
    /// under way), ranks the teams again, so the board shows each card where its clock holds.
    /// Bounded: a range that does not settle within `SETTLE` is ranked as it stands.
    pub(super) fn rank_when_held(&self, phase: Phase) {
        if phase.clock_runs() || phase == Phase::Briefing {
            return;
        }
        let lives: Vec<_> = self.teams.iter().filter_map(|t| t.here().map(|h| h.live.clone())).collect();
        let changed = self.changed.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(async move {
            let settled = async {
                for live in &lives {
                    live.settled().await;
                }
            };
            let _ = tokio::time::timeout(SETTLE, settled).await;
            changed.notify_one();
        });
    }
}

/// How long a held drill's board waits for its ranges to settle before it is ranked again.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(5);
