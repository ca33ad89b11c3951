//! What the consoles' streams wait on: a tick or a phase change past what they last saw.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::watch;

use super::{Drill, Here, Team};
use crate::runtime::live::Progress;

impl Drill {
    /// Where what a team (or, with `None`, the instructor) sees stands: the phase changes so
    /// far, then the ticks its ranges have published (the team's; every range here for the
    /// instructor, summed). A tick counts once its hook has run: its card and alerts are out.
    pub(crate) fn seen(&self, team: Option<&str>) -> icsdrill_drill::Seen {
        let phases = self.phase_changes.load(Ordering::SeqCst);
        let tick = self.watched(team).iter().map(|h| h.live.progress().borrow().tick).sum();
        icsdrill_drill::Seen { phases, tick }
    }

    /// Resolves when what a team (or, with `None`, the instructor) sees may have changed since
    /// `seen`: a tick of one of its ranges past it, or a phase change (at once if one came
    /// since). Never while held clocks and the phase stand still.
    pub(crate) async fn next_change(&self, team: Option<&str>, seen: icsdrill_drill::Seen) {
        // Subscribed before the counts are read: a change after the reads wakes a watch.
        let mut phase = self.phase_watch.subscribe();
        let mut ranges: Vec<watch::Receiver<Progress>> =
            self.watched(team).iter().map(|h| h.live.progress()).collect();
        let ticks: u64 = ranges.iter().map(|p| p.borrow().tick).sum();
        if self.phase_changes.load(Ordering::SeqCst) != seen.phases || ticks != seen.tick {
            return;
        }
        // A catch-up tick of any range here wakes the instructor's view (not only the first's).
        let tick = async {
            let waits = ranges.iter_mut().map(|p| {
                Box::pin(async move {
                    if p.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                })
            });
            let mut waits: Vec<_> = waits.collect();
            // Whichever comes first (none: never).
            std::future::poll_fn(|cx| {
                let ready = waits.iter_mut().any(|w| w.as_mut().poll(cx).is_ready());
                if ready { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
            })
            .await;
        };
        tokio::select! {
            () = tick => {}
            changed = phase.changed() => if changed.is_err() { std::future::pending::<()>().await },
        }
    }

    /// The ranges a team's (or, with `None`, the instructor's) views follow here.
    fn watched(&self, team: Option<&str>) -> Vec<Arc<Here>> {
        match team {
            Some(t) => self.team(t).and_then(Team::here).into_iter().collect(),
            None => self.teams.iter().filter_map(Team::here).collect(),
        }
    }
}
