//! Each team's total over plant time: the big screen's chart from the drill's start, not
//! from the moment a page opened. Kept by the board task as it publishes boards; bounded
//! (past the bound every other point goes, the first and the newest stay, and later points
//! come no closer together than the kept ones: the points stay spread evenly over the whole
//! drill, at half the resolution each time); cut at the freeze for viewers of a contest's
//! board.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::board::BoardRow;

/// At most this many points are kept (fewer than the page's chart keeps).
pub const MAX_POINTS: usize = 512;
/// At most this many totals (points × teams) are kept: a drill of many teams keeps fewer
/// points (never fewer than `MIN_POINTS`).
pub const MAX_CELLS: usize = 1 << 18;
/// The fewest points a drill of many teams keeps.
pub const MIN_POINTS: usize = 64;

/// The totals published so far.
#[derive(Debug, Clone)]
pub struct ScoreHistory {
    teams: Vec<String>,
    index: BTreeMap<String, usize>,
    at_s: Vec<f64>,
    /// One row a point, in `teams` order.
    totals: Vec<Vec<f64>>,
    cap: usize,
    /// The plant time kept points are apart at least (0 until the first thinning).
    min_gap: f64,
}

/// The chart as the API serves it: column-wise, as the chart library takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryView {
    /// Team ids, in the drill's order.
    pub teams: Vec<String>,
    /// Plant time of each point (s).
    pub at_s: Vec<f64>,
    /// A series a team (in `teams` order): its total at each point.
    pub totals: Vec<Vec<f64>>,
    /// The board is frozen for this viewer (as `Scoreboard::frozen`): the chart ends at the
    /// freeze. (A contest's viewers never get points past the freeze, frozen yet or not.)
    pub frozen: bool,
}

impl ScoreHistory {
    /// An empty history of `teams`.
    pub fn new(teams: Vec<String>) -> Self {
        let index = teams.iter().enumerate().map(|(i, t)| (t.clone(), i)).collect();
        let cap = (MAX_CELLS / teams.len().max(1)).clamp(MIN_POINTS, MAX_POINTS);
        ScoreHistory { teams, index, at_s: Vec::new(), totals: Vec::new(), cap, min_gap: 0.0 }
    }

    /// How many points it keeps at most.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// How many points it holds.
    pub fn len(&self) -> usize {
        self.at_s.len()
    }

    /// Whether it holds no point.
    pub fn is_empty(&self) -> bool {
        self.at_s.is_empty()
    }

    /// Records the totals of a board published at plant time `at_s`. Totals equal to the
    /// newest point's add nothing (the chart's step holds); a board at the same plant time
    /// as the newest point (a pause), or closer to the point before it than kept points are
    /// apart, replaces it; a board from earlier is ignored.
    pub fn record(&mut self, at_s: f64, rows: &[BoardRow]) {
        self.record_totals(at_s, rows.iter().map(|r| (r.team.as_str(), r.total)));
    }

    /// `record`, from each team's total (teams not named keep theirs).
    pub fn record_totals<'a>(&mut self, at_s: f64, teams: impl IntoIterator<Item = (&'a str, f64)>) {
        let last = self.totals.last();
        let mut totals = last.cloned().unwrap_or_else(|| vec![0.0; self.teams.len()]);
        for (team, total) in teams {
            if let Some(&i) = self.index.get(team) {
                totals[i] = total;
            }
        }
        let newest = self.at_s.last().copied();
        if newest.is_some_and(|t| at_s < t) || last == Some(&totals) {
            return;
        }
        let n = self.at_s.len();
        if newest == Some(at_s) || (n >= 2 && at_s - self.at_s[n - 2] < self.min_gap) {
            self.at_s[n - 1] = at_s;
            self.totals[n - 1] = totals;
            return;
        }
        if self.at_s.len() == self.cap {
            self.thin();
        }
        self.at_s.push(at_s);
        self.totals.push(totals);
    }

    /// Keeps every other point, the first and the newest among them; later points come no
    /// closer together than these are on average.
    fn thin(&mut self) {
        self.at_s = every_other(std::mem::take(&mut self.at_s));
        self.totals = every_other(std::mem::take(&mut self.totals));
        if let (Some(first), Some(last)) = (self.at_s.first(), self.at_s.last()) {
            self.min_gap = (last - first) / (self.at_s.len().max(2) - 1) as f64;
        }
    }

    /// The chart up to plant time `until_s` (a contest board's viewers before the hot wash:
    /// the freeze), or all of it.
    pub fn view(&self, until_s: Option<f64>) -> HistoryView {
        let n = until_s.map_or(self.at_s.len(), |u| self.at_s.partition_point(|&t| t <= u));
        HistoryView {
            teams: self.teams.clone(),
            at_s: self.at_s[..n].to_vec(),
            totals: (0..self.teams.len()).map(|i| self.totals[..n].iter().map(|p| p[i]).collect()).collect(),
            frozen: false,
        }
    }
}

/// Every other item, the first and the last among them: how a bounded series halves its
/// resolution and still spans all it held.
pub fn every_other<T>(items: Vec<T>) -> Vec<T> {
    let n = items.len();
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i.is_multiple_of(2) || *i + 1 == n)
        .map(|(_, t)| t)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(totals: &[(&str, f64)]) -> Vec<BoardRow> {
        totals
            .iter()
            .map(|&(team, total)| BoardRow {
                rank: 1,
                team: team.into(),
                name: team.into(),
                total,
                detected: 0,
                fired: 0,
                settled_tick: 0,
                flag_tick: None,
                parts: Vec::new(),
                bracket: None,
                bracket_rank: None,
                solved: Vec::new(),
                first_bloods: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn a_point_is_kept_each_time_a_total_changes() {
        let mut h = ScoreHistory::new(vec!["a".into(), "b".into()]);
        h.record(0.0, &rows(&[("b", 0.0), ("a", 0.0)]));
        h.record(1.0, &rows(&[("b", 0.0), ("a", 0.0)]));
        h.record(2.0, &rows(&[("b", 10.0), ("a", 0.0)]));
        // A pause: the same plant time, a new total (a hint taken) replaces the point.
        h.record(2.0, &rows(&[("b", 8.0), ("a", 0.0)]));
        // A board from before the newest point (a late node) is not history.
        h.record(1.5, &rows(&[("b", 99.0), ("a", 99.0)]));
        h.record(3.0, &rows(&[("a", 5.0), ("b", 8.0)]));
        let v = h.view(None);
        assert_eq!(v.teams, ["a", "b"]);
        assert_eq!(v.at_s, [0.0, 2.0, 3.0]);
        assert_eq!(v.totals, [vec![0.0, 0.0, 5.0], vec![0.0, 8.0, 8.0]]);
    }

    #[test]
    fn a_frozen_boards_viewers_see_the_chart_up_to_the_freeze() {
        let mut h = ScoreHistory::new(vec!["a".into()]);
        for t in 0..10 {
            h.record(f64::from(t), &rows(&[("a", f64::from(t))]));
        }
        let v = h.view(Some(4.0));
        assert_eq!((v.at_s.len(), v.totals[0].last()), (5, Some(&4.0)));
        assert_eq!(h.view(None).at_s.len(), 10);
    }

    #[test]
    fn past_its_bound_it_keeps_every_other_point_and_the_newest() {
        let mut h = ScoreHistory::new(vec!["a".into()]);
        assert_eq!(h.cap(), MAX_POINTS);
        for t in 0..(3 * MAX_POINTS) {
            h.record(t as f64, &rows(&[("a", t as f64)]));
            assert!(h.len() <= MAX_POINTS);
        }
        let v = h.view(None);
        assert_eq!(v.at_s.first(), Some(&0.0), "the chart still starts at the drill's start");
        assert_eq!(v.at_s.last(), Some(&((3 * MAX_POINTS - 1) as f64)));
        assert!(v.at_s.windows(2).all(|w| w[0] < w[1]));
        // A long drill: its points stay spread over all of it, the first half as well.
        let changes = 60 * MAX_POINTS;
        for t in 3 * MAX_POINTS..changes {
            h.record(t as f64, &rows(&[("a", t as f64)]));
        }
        let v = h.view(None);
        let first_half = v.at_s.iter().filter(|&&t| t < (changes / 2) as f64).count();
        assert!(first_half * 3 >= v.at_s.len(), "{first_half} of {} points", v.at_s.len());
        assert!(v.at_s.len() >= MAX_POINTS / 2, "{}", v.at_s.len());
        // Many teams keep fewer points: the totals kept stay under the bound.
        let many = ScoreHistory::new((0..2000).map(|i| format!("t{i}")).collect());
        assert_eq!(many.cap(), (MAX_CELLS / 2000).max(MIN_POINTS));
        assert!(many.cap() * 2000 <= MAX_CELLS);
    }
}
