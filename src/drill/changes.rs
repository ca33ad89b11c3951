//! What the consoles' streams wait on: a tick or a phase change past what they last saw.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Drill, Here, Team};

impl Drill {
    /// Where what a team (or, with `None`, the instructor) sees stands: the phase changes so
    /// far, then the range's tick.
    pub(crate) fn seen(&self, team: Option<&str>) -> icsdrill_drill::Seen {
        let phases = self.phase_changes.load(Ordering::SeqCst);
        let tick = self.watched(team).map_or(0, |h| h.live.snapshot().tick);
        icsdrill_drill::Seen { phases, tick }
    }

    /// Resolves when what a team (or, with `None`, the instructor) sees may have changed since
    /// `seen`: a tick past it, or a phase change (at once if one came since). Never while a
    /// held clock and the phase stand still.
    pub(crate) async fn next_change(&self, team: Option<&str>, seen: icsdrill_drill::Seen) {
        // Subscribed before the count is read: a change after the read wakes the watch.
        let mut phase = self.phase_watch.subscribe();
        if self.phase_changes.load(Ordering::SeqCst) != seen.phases {
            return;
        }
        let live = self.watched(team).map(|h| h.live.clone());
        let tick = async {
            match live {
                Some(live) if !live.stopped() => live.wait_for_tick(seen.tick + 1).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tick => {}
            changed = phase.changed() => if changed.is_err() { std::future::pending::<()>().await },
        }
    }

    /// The range a team's (or, with `None`, the instructor's) views follow here.
    fn watched(&self, team: Option<&str>) -> Option<Arc<Here>> {
        match team {
            Some(t) => self.team(t).and_then(Team::here),
            None => self.teams.iter().find_map(Team::here),
        }
    }
}
