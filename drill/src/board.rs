//! The scoreboard: ranked rows (ties go to the team that settled its score first, then by
//! id), ranks within brackets, and the contest freeze (observers and teams see the board as it
//! was when the freeze began, until the hot wash).

use serde::{Deserialize, Serialize};

use crate::vocab::Phase;

/// One line of the scoreboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardRow {
    /// 1-based rank.
    pub rank: usize,
    /// Team id.
    pub team: String,
    /// Team name.
    pub name: String,
    /// Total score.
    pub total: f64,
    /// Attack steps detected / fired.
    pub detected: usize,
    /// Attack steps fired.
    pub fired: usize,
    /// Tick the total last changed (earlier wins a tie).
    pub settled_tick: u64,
    /// Points per component key.
    pub parts: Vec<(String, f64)>,
    /// Bracket, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bracket: Option<String>,
    /// Rank within the bracket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bracket_rank: Option<usize>,
}

/// The scoreboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scoreboard {
    /// Increases with every new board.
    pub seq: u64,
    /// Drill phase.
    pub phase: Phase,
    /// Frozen (contest): observers and teams see the board as it was at the freeze.
    pub frozen: bool,
    /// Microseconds since the drill's start at which the newest score change was computed.
    pub changed_us: u64,
    /// Ranked rows.
    pub rows: Vec<BoardRow>,
    /// The drill's clock, for the clock and the countdowns on the big screen.
    pub clock: Clock,
    /// Steps of the attack: every team's "detected" counts against this one number.
    pub steps: usize,
    /// This board as JSON, serialised once for every subscriber (`Scoreboard::sealed`).
    #[serde(skip)]
    pub json: String,
}

/// Where the drill's plant time stands when a board is built; a page runs it on at `speed`
/// while the drill is live, between boards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    /// Simulated seconds of the furthest range.
    pub at_s: f64,
    /// Simulated seconds per wall second while live (0: a manual clock).
    pub speed: f64,
    /// The simulated second the drill ends at, if it has a duration.
    pub end_s: Option<f64>,
    /// The simulated second the contest board freezes at, if it does.
    pub freeze_s: Option<f64>,
}

impl Scoreboard {
    /// The board before anything is ranked.
    pub fn empty() -> Scoreboard {
        Scoreboard {
            seq: 0,
            phase: Phase::Briefing,
            frozen: false,
            changed_us: 0,
            rows: Vec::new(),
            clock: Clock::default(),
            steps: 0,
            json: String::new(),
        }
    }

    /// The board with its JSON filled in.
    pub fn sealed(mut self) -> Scoreboard {
        self.json = serde_json::to_string(&self).unwrap_or_default();
        self
    }
}

/// Ranks rows: by total, then the earlier settled tick, then team id; ranks within each
/// bracket too.
pub fn rank(mut rows: Vec<BoardRow>) -> Vec<BoardRow> {
    rows.sort_by(|a, b| {
        b.total.total_cmp(&a.total).then(a.settled_tick.cmp(&b.settled_tick)).then(a.team.cmp(&b.team))
    });
    let mut in_bracket: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
        if let Some(b) = &r.bracket {
            let n = in_bracket.entry(b.clone()).or_default();
            *n += 1;
            r.bracket_rank = Some(*n);
        }
    }
    rows
}

/// A contest's scoreboard freeze: from `tick` on, before the hot wash, observers and teams
/// see the board as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freeze {
    /// The tick the freeze begins; none: never frozen.
    pub tick: Option<u64>,
}

impl Freeze {
    /// Whether the public board is frozen when the furthest range has reached `max_tick`.
    pub fn frozen(&self, max_tick: u64, phase: Phase) -> bool {
        let Some(f) = self.tick else { return false };
        max_tick >= f && !matches!(phase, Phase::HotWash | Phase::Ended)
    }

    /// The public board to publish after `full`, given the one published before: the full
    /// board when not frozen; while frozen the earlier board marked frozen (the full board if
    /// nothing was published before the freeze, as after a resume), or `None` when the
    /// published one already is.
    pub fn public(&self, frozen: bool, published: &Scoreboard, full: &Scoreboard) -> Option<Scoreboard> {
        if !frozen {
            return Some(full.clone());
        }
        let mut public = published.clone();
        if public.rows.is_empty() {
            public.rows = full.rows.clone();
            public.changed_us = full.changed_us;
            public.frozen = false;
        }
        if public.frozen && public.phase == full.phase {
            return None;
        }
        public.frozen = true;
        public.phase = full.phase;
        public.seq = full.seq;
        // The clock runs on while the scores stand still.
        public.clock = full.clock;
        Some(public.sealed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(team: &str, total: f64, settled_tick: u64, bracket: Option<&str>) -> BoardRow {
        BoardRow {
            rank: 0,
            team: team.into(),
            name: team.into(),
            total,
            detected: 0,
            fired: 0,
            settled_tick,
            parts: Vec::new(),
            bracket: bracket.map(Into::into),
            bracket_rank: None,
        }
    }

    #[test]
    fn ties_go_to_the_earlier_settled_score_and_brackets_rank_apart() {
        let rows = rank(vec![
            row("c", 500.0, 10, Some("student")),
            row("a", 700.0, 90, Some("pro")),
            row("b", 700.0, 40, Some("pro")),
        ]);
        let order: Vec<(&str, usize, Option<usize>)> =
            rows.iter().map(|r| (r.team.as_str(), r.rank, r.bracket_rank)).collect();
        assert_eq!(order, [("b", 1, Some(1)), ("a", 2, Some(2)), ("c", 3, Some(1))]);
    }

    #[test]
    fn a_frozen_board_keeps_its_rows_until_the_hot_wash() {
        let freeze = Freeze { tick: Some(100) };
        assert!(!freeze.frozen(99, Phase::Live));
        assert!(freeze.frozen(100, Phase::Live) && freeze.frozen(150, Phase::Paused));
        assert!(!freeze.frozen(150, Phase::HotWash), "the hot wash shows the real board");
        let board = |seq, total| Scoreboard {
            seq,
            phase: Phase::Live,
            frozen: false,
            changed_us: seq,
            rows: vec![row("a", total, 0, None)],
            clock: Clock::default(),
            steps: 0,
            json: String::new(),
        };
        let before = board(1, 100.0);
        let frozen = freeze.public(true, &before, &board(2, 300.0)).unwrap();
        assert_eq!((frozen.rows[0].total, frozen.frozen, frozen.seq), (100.0, true, 2));
        assert!(freeze.public(true, &frozen, &board(3, 400.0)).is_none(), "nothing new to publish");
        assert_eq!(freeze.public(false, &frozen, &board(4, 400.0)).unwrap().rows[0].total, 400.0);
        let empty = Scoreboard { rows: Vec::new(), ..board(0, 0.0) };
        assert_eq!(
            freeze.public(true, &empty, &board(5, 250.0)).unwrap().rows[0].total,
            250.0,
            "resumed past the freeze"
        );
    }
}
