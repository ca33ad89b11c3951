//! The boards a drill publishes: every team's row ranked for the white cell, and the public
//! board observers and teams see (the same, or while the scores are hidden, a contest's rows
//! at its freeze, or a blind drill's teams with no score).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use icsdrill_drill::board::{self, Freeze};
use icsdrill_drill::{BoardRow, Mode, Scoreboard, TeamInfo};
use icsdrill_judge::score::ScoreCard;

use super::{Drill, DrillSpec, Here, Team};
use crate::Result;
use crate::error::bail_invalid;

/// A team's row of the board (unranked) from its card.
pub(super) fn row_of(info: &TeamInfo, c: &ScoreCard) -> BoardRow {
    BoardRow {
        rank: 0,
        team: info.id.clone(),
        name: info.name.clone(),
        total: c.total,
        detected: c.steps_detected,
        fired: c.steps_fired,
        settled_tick: c.settled_tick,
        flag_tick: board::last_solved(&c.solved),
        parts: c.components.iter().map(|p| (p.key.into(), p.points)).collect(),
        bracket: info.bracket.clone(),
        bracket_rank: None,
        solved: c.solved.clone(),
        first_bloods: Vec::new(),
    }
}

impl Drill {
    /// The rows of the public board while it hides the scores (`board::Hidden`). A blind
    /// drill's show no team's score until the hot wash: every team plays the same attack at
    /// the same time, so another team's score rising when its report matched a step would tell
    /// a team that, and when, the attack came. While frozen, each team's card at the freeze
    /// tick (kept by its hook), or its card now while its range has not reached the freeze.
    fn shown_rows(
        &self,
        heres: &[Option<Arc<Here>>],
        full: &Scoreboard,
        hidden: board::Hidden,
    ) -> Vec<BoardRow> {
        let rows = self
            .teams
            .iter()
            .zip(heres)
            .map(|(t, here)| {
                if hidden.provisional {
                    return BoardRow { total: 0.0, parts: Vec::new(), ..row_of(&t.info, &self.blank_card) };
                }
                let at_freeze = match here {
                    Some(h) => h.published.at_freeze.get(),
                    None => t.away_at_freeze.get(),
                };
                match at_freeze {
                    Some(card) => row_of(&t.info, card),
                    None => full
                        .rows
                        .iter()
                        .find(|r| r.team == t.info.id)
                        .cloned()
                        .unwrap_or_else(|| row_of(&t.info, &self.blank_card)),
                }
            })
            .collect();
        board::rank_by(rows, self.ties)
    }

    /// Ranks the teams and publishes the boards (the public one stays put while frozen).
    /// Returns about how many bytes their viewers are written (`board::fan_out_pause`).
    pub(super) fn publish_board(&self, seq: u64) -> u64 {
        let phase = self.phase();
        let heres: Vec<Option<Arc<Here>>> = self.teams.iter().map(Team::here).collect();
        let rows: Vec<BoardRow> = self
            .teams
            .iter()
            .zip(&heres)
            .map(|(t, here)| {
                let c = match (here, t.away.load_full()) {
                    (Some(h), _) => self.card_of(h),
                    (None, Some(a)) => return BoardRow { bracket: t.info.bracket.clone(), ..a.row.clone() },
                    (None, None) => self.blank_card.clone(),
                };
                row_of(&t.info, &c)
            })
            .collect();
        let here = heres.iter().flatten();
        let changed_us =
            here.clone().map(|h| h.published.changed_us.load(Ordering::Acquire)).max().unwrap_or(0);
        let rows = board::rank_by(rows, self.ties);
        let max_tick = self.furthest_tick_of(&heres);
        let clock = board::Clock { at_s: max_tick as f64 / f64::from(self.scenario.tick_hz), ..self.clock };
        // A step the white cell forces fires whatever its branch: no team shows more than all.
        let steps = rows.iter().map(|r| r.fired).fold(self.attack_steps, usize::max);
        self.history.lock().unwrap_or_else(|e| e.into_inner()).record(clock.at_s, &rows);
        let head =
            board::BoardHead { seq, phase, frozen: false, provisional: false, changed_us, clock, steps };
        let full = Scoreboard { head, rows, ..Scoreboard::empty() };
        let (held, full, oldest) = {
            let mut recent = self.board_recent.lock().unwrap_or_else(|e| e.into_inner());
            let held = recent.back().map(|b| b.head.seq);
            let full = Arc::new(full.sealed_after(recent.iter().rev().map(|b| &**b)));
            // Freed once the new board is out, not before.
            let oldest = if recent.len() == board::DELTA_DEPTH { recent.pop_front() } else { None };
            recent.push_back(full.clone());
            (held, full, oldest)
        };
        let published = self.board_public.borrow().clone();
        // Observers and teams see the frozen board in a contest past its freeze tick, and no
        // scores of a blind drill, before the hot wash.
        let hidden = self.freeze.hidden(max_tick, phase);
        let rows = || self.shown_rows(&heres, &full, hidden);
        if let Some(public) = self.freeze.public(hidden, &published, (&full, self.attack_steps), rows) {
            self.board_public.send_replace(public);
        }
        let per_viewer = held.map_or(full.event.len(), |seq| full.bytes_after(seq)) as u64;
        let viewers = (self.board_full.receiver_count() + self.board_public.receiver_count()) as u64;
        self.board_full.send_replace(full);
        drop(oldest);
        per_viewer * viewers
    }
}

/// The clock's fixed parts for the boards: how fast plant time runs, when the drill ends and
/// the board freezes, in simulated seconds.
pub(super) fn board_clock(spec: &DrillSpec, freeze: Freeze) -> icsdrill_drill::board::Clock {
    let hz = f64::from(spec.scenario.tick_hz);
    let speed = if spec.manual_clock { 0.0 } else { spec.range.ticks_per_s.unwrap_or(hz) / hz };
    icsdrill_drill::board::Clock {
        at_s: 0.0,
        speed,
        end_s: spec.range.duration_s,
        freeze_s: freeze.tick.map(|t| t as f64 / hz),
        ties: spec.ties,
    }
}

/// The contest freeze a spec asks for.
pub(super) fn freeze_of(spec: &DrillSpec) -> Result<Freeze> {
    let tick = match (spec.mode, spec.freeze_s, spec.range.duration_s) {
        (Mode::Contest, Some(f), Some(d)) if f > 0.0 && f < d => Some(spec.scenario.ticks(d - f)),
        (_, Some(_), None) => bail_invalid!("a scoreboard freeze needs a drill duration (--duration)"),
        (Mode::Contest, Some(f), Some(d)) => bail_invalid!("freeze {f} s must be within the drill's {d} s"),
        (_, Some(_), Some(_)) => bail_invalid!("a scoreboard freeze is for contests (--mode contest)"),
        _ => None,
    };
    if tick.is_some() && spec.blind {
        bail_invalid!(
            "--freeze holds the scores a board shows, and a blind contest's shows none until the hot wash: \
             add --live-scores (a drill file's live_scores: true) to freeze a live board"
        );
    }
    Ok(Freeze { tick, blind: spec.blind })
}
