//! The scoreboard: ranked rows (ties go to the team that settled its score first, then to the
//! one that solved its last contest challenge first; teams equal in all three share a rank),
//! ranks within brackets, and
//! the contest freeze (observers and teams see the board as it was when the freeze began,
//! until the hot wash).

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
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
    /// Tick the team solved its last contest challenge, if it solved one. Breaks a tie of
    /// totals settled at the same tick, as flag times do in contests: a part that moves every
    /// team's total together (uptime while plants are down) settles them all at the same tick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag_tick: Option<u64>,
    /// Points per component key (the keys are the scorer's constants: shared, not copied, on
    /// every board).
    pub parts: Vec<(Cow<'static, str>, f64)>,
    /// Bracket, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bracket: Option<String>,
    /// Rank within the bracket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bracket_rank: Option<usize>,
    /// Contest challenges solved and the tick each was (the card's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub solved: Vec<(String, u64)>,
    /// The challenges this team solved first of all the board's teams (一血; teams solving one
    /// at the same tick share it), set by `rank`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_bloods: Vec<String>,
}

/// What a board and a delta to it both carry: its number, the phase, the freeze, the clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoardHead {
    /// Increases with every new board.
    pub seq: u64,
    /// Drill phase.
    pub phase: Phase,
    /// Frozen (contest): observers and teams see the board as it was at the freeze.
    pub frozen: bool,
    /// A blind drill before the hot wash: the rows carry no team's score (each team sees only
    /// its own provisional card, on its console).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
    /// Microseconds since the drill's start at which the newest score change was computed.
    pub changed_us: u64,
    /// The drill's clock, for the clock and the countdowns on the big screen.
    pub clock: Clock,
    /// The most steps of the attack that can fire in one run (its branches exclude each
    /// other): every team's "detected" counts against this one number.
    pub steps: usize,
}

/// The scoreboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scoreboard {
    /// Number, phase, freeze, clock (flattened: one JSON object).
    #[serde(flatten)]
    pub head: BoardHead,
    /// Ranked rows.
    pub rows: Vec<BoardRow>,
    /// This board as a server-sent event (`event: scoreboard`), its data the board's JSON,
    /// encoded once for every subscriber (`Scoreboard::sealed`); empty until sealed.
    #[serde(skip)]
    pub event: Bytes,
    /// What changed since each of the boards published shortly before (`BoardDelta`), as
    /// server-sent events (`event: scoreboard-delta`), by the sequence number of the board it
    /// applies to (`Scoreboard::sealed_after`): a viewer that skipped a few boards still gets a
    /// delta, not the whole board. Every viewer holding the same board is handed the same bytes.
    #[serde(skip)]
    pub deltas: Vec<(u64, Bytes)>,
    /// The teams whose rows changed since the board published just before this one (by its
    /// sequence number), as `sealed_after` found them: deltas from older boards add up these.
    #[serde(skip)]
    pub changed: Option<(u64, Vec<String>)>,
    /// On the public channel after a contest's freeze lifted: the thawed board's number. A
    /// frozen board had a full board's number with other rows, so no delta from a board
    /// before this one is handed to its viewers.
    #[serde(skip)]
    pub delta_floor: u64,
}

/// The event names of the board's stream.
const BOARD_EVENT: &str = "scoreboard";
const DELTA_EVENT: &str = "scoreboard-delta";

/// One server-sent event: `event: NAME`, `data: JSON` (compact JSON has no line breaks).
fn sse(name: &str, json: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

/// The data (JSON) of an event `sse` encoded.
fn data_of<'a>(name: &str, event: &'a [u8]) -> &'a str {
    let json = event.get(name.len() + 14..event.len().saturating_sub(2)).unwrap_or_default();
    std::str::from_utf8(json).unwrap_or_default()
}

/// How many earlier boards a new board carries deltas from.
pub const DELTA_DEPTH: usize = 16;

/// Bytes a second the board's fan-out may write to its viewers. After a board, the next waits
/// until its fan-out fits this rate; changes meanwhile are coalesced into it. A score change
/// moves a row or two (5 000 viewers x 0.5 KB: 12 ms), but when every team's row changes at
/// once (an attack step firing in every range in the same tick) each board is whole, and
/// without a bound boards of 125 KB to thousands of viewers follow each other faster than
/// they can be written, taking the cores from the teams' ranges.
pub const FAN_OUT_BYTES_PER_S: u64 = 200 << 20;

/// How long the board task waits after publishing a board whose fan-out writes `bytes`.
pub fn fan_out_pause(bytes: u64) -> std::time::Duration {
    std::time::Duration::from_secs_f64(bytes as f64 / FAN_OUT_BYTES_PER_S as f64)
}

/// What changed between two boards, for viewers holding the earlier one: the new board's
/// header, the teams in rank order, and only the rows whose content changed (ranks follow from
/// the order). When one team's score moves among hundreds, a tenth of a board or less.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardDelta {
    /// The board this applies to.
    pub base: u64,
    /// The new board's header (flattened).
    #[serde(flatten)]
    pub head: BoardHead,
    /// Team ids in rank order, when moving the changed rows to their new ranks does not give
    /// it (it does whenever the other rows keep their order, as they do when only the changed
    /// rows' scores moved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Vec<String>>,
    /// Rows that are new or whose content (anything but the ranks) changed, with their new ranks.
    pub rows: Vec<BoardRow>,
}

/// The teams in `prev`'s order with `changed` moved to their (new) ranks: the changed rows
/// taken out, then put back at their ranks, lowest first, each after the rows it ties with
/// whose team ids come first.
fn moved<'a>(prev: &'a [BoardRow], changed: &'a [BoardRow]) -> Vec<&'a str> {
    let mut rows: std::collections::BTreeMap<&str, &BoardRow> =
        prev.iter().map(|r| (r.team.as_str(), r)).collect();
    let moving: std::collections::BTreeSet<&str> = changed.iter().map(|r| r.team.as_str()).collect();
    let mut order: Vec<&str> = prev.iter().map(|r| r.team.as_str()).filter(|t| !moving.contains(t)).collect();
    let mut by_rank: Vec<&BoardRow> = changed.iter().collect();
    by_rank.sort_by(|a, b| a.rank.cmp(&b.rank).then(a.team.cmp(&b.team)));
    for r in by_rank {
        rows.insert(r.team.as_str(), r);
        let mut at = (r.rank.max(1) - 1).min(order.len());
        while order.get(at).is_some_and(|t| *t < r.team.as_str() && rows.get(t).is_some_and(|o| tie(o, r))) {
            at += 1;
        }
        order.insert(at, r.team.as_str());
    }
    order
}

/// Whether two rows differ in anything but their ranks.
fn same_content(a: &BoardRow, b: &BoardRow) -> bool {
    a.team == b.team
        && a.name == b.name
        && a.total.to_bits() == b.total.to_bits()
        && a.detected == b.detected
        && a.fired == b.fired
        && a.settled_tick == b.settled_tick
        && a.flag_tick == b.flag_tick
        && a.parts == b.parts
        && a.bracket == b.bracket
        && a.solved == b.solved
        && a.first_bloods == b.first_bloods
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
    /// How equal totals rank, for the page to say so.
    #[serde(default)]
    pub ties: Ties,
}

impl Scoreboard {
    /// The board before anything is ranked.
    pub fn empty() -> Scoreboard {
        Scoreboard {
            head: BoardHead {
                seq: 0,
                phase: Phase::Briefing,
                frozen: false,
                provisional: false,
                changed_us: 0,
                clock: Clock::default(),
                steps: 0,
            },
            rows: Vec::new(),
            event: Bytes::new(),
            deltas: Vec::new(),
            changed: None,
            delta_floor: 0,
        }
    }

    /// The board with its JSON filled in, and its deltas from the `earlier` boards published
    /// before it on the same channel, newest first (the newest `DELTA_DEPTH` of them; none that
    /// would be half the board or more). Rows are compared with the newest earlier board only:
    /// the teams changed since an older one are those changed since the newest plus what each
    /// board in between recorded in `changed`.
    pub fn sealed_after<'a>(self, earlier: impl IntoIterator<Item = &'a Scoreboard>) -> Scoreboard {
        let mut board = self.sealed();
        let mut since: Option<std::collections::BTreeSet<String>> = None;
        let mut newer: Option<&Scoreboard> = None;
        for prev in earlier.into_iter().filter(|p| p.head.seq < board.head.seq && !p.event.is_empty()) {
            if board.deltas.len() == DELTA_DEPTH {
                break;
            }
            let chained = newer.and_then(|n| n.changed.as_ref()).filter(|(base, _)| *base == prev.head.seq);
            let delta = match (since.as_mut(), chained) {
                (None, _) => {
                    let delta = board.delta_from(prev);
                    let teams: Vec<String> = delta.rows.iter().map(|r| r.team.clone()).collect();
                    since = Some(teams.iter().cloned().collect());
                    board.changed = Some((prev.head.seq, teams));
                    delta
                }
                (Some(set), Some((_, teams))) => {
                    set.extend(teams.iter().cloned());
                    let rows = board.rows.iter().filter(|r| set.contains(&r.team)).cloned().collect();
                    board.delta_with(prev, rows)
                }
                // Boards in between are missing: no delta from further back.
                (Some(_), None) => break,
            };
            newer = Some(prev);
            let delta = serde_json::to_string(&delta).unwrap_or_default();
            // A delta about as large as the board is no saving: such a viewer gets the board.
            if delta.len() < board.event.len() / 2 {
                board.deltas.push((prev.head.seq, sse(DELTA_EVENT, &delta)));
            }
        }
        board
    }

    /// The delta (JSON) for a viewer holding board `seq`, if this board carries one.
    pub fn delta_for(&self, seq: u64) -> Option<&str> {
        self.delta_event(seq).map(|e| data_of(DELTA_EVENT, e))
    }

    fn delta_event(&self, seq: u64) -> Option<&Bytes> {
        self.deltas.iter().find(|(base, _)| *base == seq).map(|(_, d)| d)
    }

    /// Bytes this board costs a viewer holding board `held`: its delta from it, or the whole
    /// board.
    pub fn bytes_after(&self, held: u64) -> usize {
        self.delta_event(held).map_or(self.event.len(), Bytes::len)
    }

    /// This board's JSON, as sealed (empty if it is not).
    pub fn json(&self) -> &str {
        data_of(BOARD_EVENT, &self.event)
    }

    /// The next event for a viewer holding board `held` (none: a new viewer): the delta from
    /// it if this board carries one, else the whole board. Sealed boards hand out shared bytes.
    pub fn event_for(&self, held: Option<u64>) -> Bytes {
        match held.and_then(|seq| self.delta_event(seq)) {
            Some(delta) => delta.clone(),
            None if !self.event.is_empty() => self.event.clone(),
            None => sse(BOARD_EVENT, &serde_json::to_string(self).unwrap_or_default()),
        }
    }

    /// What changed from `prev` to this board.
    pub fn delta_from(&self, prev: &Scoreboard) -> BoardDelta {
        let before: std::collections::BTreeMap<&str, &BoardRow> =
            prev.rows.iter().map(|r| (r.team.as_str(), r)).collect();
        let rows: Vec<BoardRow> = self
            .rows
            .iter()
            .filter(|r| before.get(r.team.as_str()).is_none_or(|p| !same_content(p, r)))
            .cloned()
            .collect();
        self.delta_with(prev, rows)
    }

    /// The delta from `prev` carrying `rows` (this board's rows of the teams changed since).
    fn delta_with(&self, prev: &Scoreboard, rows: Vec<BoardRow>) -> BoardDelta {
        let order = self.rows.iter().map(|r| r.team.as_str());
        let implied = moved(&prev.rows, &rows).into_iter().eq(order);
        BoardDelta {
            base: prev.head.seq,
            head: self.head,
            order: (!implied).then(|| self.rows.iter().map(|r| r.team.clone()).collect()),
            rows,
        }
    }

    /// This board with `delta` applied (what a viewer's page does); `None` when the delta is
    /// not for this board or names a team it has no row for.
    pub fn apply(&self, delta: &BoardDelta) -> Option<Scoreboard> {
        if delta.base != self.head.seq {
            return None;
        }
        let mut by_team: std::collections::BTreeMap<&str, &BoardRow> =
            self.rows.iter().map(|r| (r.team.as_str(), r)).collect();
        for r in &delta.rows {
            by_team.insert(r.team.as_str(), r);
        }
        let order = match &delta.order {
            Some(order) => order.iter().map(String::as_str).collect(),
            None => moved(&self.rows, &delta.rows),
        };
        let rows = order.iter().map(|t| by_team.get(t).map(|r| (*r).clone())).collect::<Option<_>>()?;
        Some(Scoreboard { head: delta.head, rows: number(rows), ..Scoreboard::empty() })
    }

    /// The board with its event (its JSON) filled in.
    pub fn sealed(mut self) -> Scoreboard {
        self.event = sse(BOARD_EVENT, &serde_json::to_string(&self).unwrap_or_default());
        self
    }
}

/// How teams with the same total are ranked: the organisers' choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ties {
    /// The team that settled its total first ranks first (teams that settled it at the same
    /// tick share a rank): the contest custom where scores only rise.
    #[default]
    FirstSettled,
    /// Teams with the same total share a rank, whenever they reached it: where scores also
    /// fall, settling first may mean losing points first. Rows then carry no settled tick.
    Shared,
}

/// `rank` under the `ties` rule.
pub fn rank_by(mut rows: Vec<BoardRow>, ties: Ties) -> Vec<BoardRow> {
    if ties == Ties::Shared {
        // The page ranks its patches by the rows it is sent: no tick, no tie-break.
        rows.iter_mut().for_each(|r| (r.settled_tick, r.flag_tick) = (0, None));
    }
    rank(rows)
}

/// Ranks rows: by total, then the earlier settled tick, then the earlier last flag (teams
/// equal in all three share a rank, listed by team id); ranks within each bracket too.
pub fn rank(mut rows: Vec<BoardRow>) -> Vec<BoardRow> {
    rows.sort_by(|a, b| {
        b.total
            .total_cmp(&a.total)
            .then(a.settled_tick.cmp(&b.settled_tick))
            .then(a.flag_tick.cmp(&b.flag_tick))
            .then(a.team.cmp(&b.team))
    });
    first_bloods(&mut rows);
    number(rows)
}

/// Marks each challenge's first solvers among `rows`: the earliest tick it was solved at
/// (every team that solved it then), in the order each team solved them.
fn first_bloods(rows: &mut [BoardRow]) {
    let mut first: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for (challenge, tick) in rows.iter().flat_map(|r| &r.solved) {
        let at = first.entry(challenge.as_str()).or_insert(*tick);
        *at = (*at).min(*tick);
    }
    let bloods: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.solved
                .iter()
                .filter(|(c, t)| first.get(c.as_str()) == Some(t))
                .map(|(c, _)| c.clone())
                .collect()
        })
        .collect();
    for (row, bloods) in rows.iter_mut().zip(bloods) {
        row.first_bloods = bloods;
    }
}

/// Whether two rows tie: the same total, settled at the same tick, the last flag at the same
/// tick (the team id only orders them on the page).
fn tie(a: &BoardRow, b: &BoardRow) -> bool {
    a.total.to_bits() == b.total.to_bits() && a.settled_tick == b.settled_tick && a.flag_tick == b.flag_tick
}

/// The tick of the last of `solved` (a row's `flag_tick`).
pub fn last_solved(solved: &[(String, u64)]) -> Option<u64> {
    solved.iter().map(|(_, t)| *t).max()
}

/// Numbers rows in their order, as competitions do ("1, 2, 2, 4"): a row that ties the one
/// before it shares its rank; ranks within each bracket likewise.
fn number(mut rows: Vec<BoardRow>) -> Vec<BoardRow> {
    // Per bracket: rows seen, and the last one's index.
    let mut in_bracket: std::collections::BTreeMap<String, (usize, usize)> =
        std::collections::BTreeMap::new();
    for i in 0..rows.len() {
        let rank = match i.checked_sub(1) {
            Some(p) if tie(&rows[p], &rows[i]) => rows[p].rank,
            _ => i + 1,
        };
        let bracket_rank = rows[i].bracket.clone().map(|b| {
            let (seen, last) = in_bracket.get(&b).copied().unwrap_or((0, usize::MAX));
            in_bracket.insert(b, (seen + 1, i));
            match rows.get(last) {
                Some(prev) if tie(prev, &rows[i]) => prev.bracket_rank.unwrap_or(seen + 1),
                _ => seen + 1,
            }
        });
        rows[i].rank = rank;
        rows[i].bracket_rank = bracket_rank;
    }
    rows
}

/// What the public board shows in place of the full board's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hidden {
    /// Past a contest's freeze: the cards at the freeze.
    pub frozen: bool,
    /// A blind drill: no team's score.
    pub provisional: bool,
}

impl Hidden {
    /// Whether the public board shows other rows than the full one.
    pub fn any(self) -> bool {
        self.frozen || self.provisional
    }
}

impl Scoreboard {
    /// What this board hides.
    pub fn hidden(&self) -> Hidden {
        Hidden { frozen: self.head.frozen, provisional: self.head.provisional }
    }
}

/// What observers and teams see of the scores before the hot wash: a contest's board frozen
/// from `tick` on, and a blind drill's, which shows no score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Freeze {
    /// The tick the freeze begins; none: never frozen.
    pub tick: Option<u64>,
    /// A blind drill: until the hot wash, the public board shows no team's score (each team
    /// sees its own provisional card, `Scorer::provisional_card`), so no score tells a team it
    /// is attacked.
    pub blind: bool,
}

impl Freeze {
    /// Whether the public board is frozen when the furthest range has reached `max_tick`.
    pub fn frozen(&self, max_tick: u64, phase: Phase) -> bool {
        let Some(f) = self.tick else { return false };
        max_tick >= f && !phase.is_over()
    }

    /// Whether the scores are hidden in `phase` (teams see only their provisional cards).
    pub fn provisional(&self, phase: Phase) -> bool {
        self.blind && !phase.is_over()
    }

    /// What the public board hides when the furthest range has reached `max_tick`.
    pub fn hidden(&self, max_tick: u64, phase: Phase) -> Hidden {
        Hidden { frozen: self.frozen(max_tick, phase), provisional: self.provisional(phase) }
    }

    /// The public board to publish after `full`, given the one published before: the full
    /// board when nothing is hidden (shared, not copied); otherwise `full` with the rows
    /// `shown` gives (while frozen, each team's card at the freeze tick, or now for a team
    /// not there yet; in a blind drill, no scores), marked as what it hides, or `None`
    /// when the published one already shows them. A board that hides the scores is numbered
    /// on from the one published before it, not as the full board (whose numbers count every
    /// change of the hidden scores), and counts the attack's `steps` (the most one run can
    /// fire) from its own rows.
    pub fn public(
        &self,
        hidden: Hidden,
        published: &Scoreboard,
        (full, steps): (&Arc<Scoreboard>, usize),
        shown: impl FnOnce() -> Vec<BoardRow>,
    ) -> Option<Arc<Scoreboard>> {
        let floor = published.delta_floor;
        if !hidden.any() && !published.hidden().any() {
            // Past a thaw, deltas from frozen boards' numbers are left out (a viewer holding
            // one gets the whole board) until the full board carries none.
            if full.deltas.iter().all(|(base, _)| *base >= floor) {
                return Some(full.clone());
            }
            let deltas = full.deltas.iter().filter(|(base, _)| *base >= floor).cloned().collect();
            return Some(Arc::new(Scoreboard { deltas, delta_floor: floor, ..(**full).clone() }));
        }
        if !hidden.any() {
            // The freeze lifts (the hot wash): viewers hold the rows at the freeze, not the
            // full board of the same number, so the delta is from those.
            let public =
                Scoreboard { event: Bytes::new(), deltas: Vec::new(), changed: None, ..(**full).clone() };
            let thawed = public.sealed_after(std::iter::once(published));
            return Some(Arc::new(Scoreboard { delta_floor: thawed.head.seq, ..thawed }));
        }
        let rows = shown();
        if published.hidden() == hidden && published.head.phase == full.head.phase && published.rows == rows {
            return None;
        }
        // The clock runs on while the scores stand still. Its delta is from the public board
        // before it (never the full board's, whose rows are the live scores).
        let moved = published.rows != rows;
        let head = BoardHead {
            seq: published.head.seq + 1,
            changed_us: if moved { full.head.changed_us } else { published.head.changed_us },
            steps: rows.iter().map(|r| r.fired).fold(steps, usize::max),
            frozen: hidden.frozen,
            provisional: hidden.provisional,
            ..full.head
        };
        let public =
            Scoreboard { head, rows, event: Bytes::new(), deltas: Vec::new(), changed: None, delta_floor: 0 };
        Some(Arc::new(public.sealed_after(std::iter::once(published))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROZEN: Hidden = Hidden { frozen: true, provisional: false };

    #[test]
    fn the_first_to_solve_a_challenge_has_its_first_blood_and_a_tie_shares_it() {
        let solved = |team: &str, total: f64, solves: &[(&str, u64)]| BoardRow {
            solved: solves.iter().map(|(c, t)| (c.to_string(), *t)).collect(),
            ..row(team, total, 0, None)
        };
        let rows = rank(vec![
            solved("a", 200.0, &[("x", 50), ("y", 90)]),
            solved("b", 300.0, &[("y", 40), ("x", 70), ("z", 80)]),
            solved("c", 100.0, &[("z", 80)]),
            solved("d", 0.0, &[]),
        ]);
        let bloods: Vec<(&str, Vec<String>)> =
            rows.iter().map(|r| (r.team.as_str(), r.first_bloods.clone())).collect();
        let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            bloods,
            [("b", want(&["y", "z"])), ("a", want(&["x"])), ("c", want(&["z"])), ("d", want(&[]))],
            "the earliest of each, in the order each team solved them; z at the same tick is both's"
        );
    }

    fn row(team: &str, total: f64, settled_tick: u64, bracket: Option<&str>) -> BoardRow {
        BoardRow {
            rank: 0,
            team: team.into(),
            name: team.into(),
            total,
            detected: 0,
            fired: 0,
            settled_tick,
            flag_tick: None,
            parts: Vec::new(),
            bracket: bracket.map(Into::into),
            bracket_rank: None,
            solved: Vec::new(),
            first_bloods: Vec::new(),
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
    fn under_shared_ties_equal_totals_share_a_rank_whenever_they_were_reached() {
        let rows = || vec![row("c", 500.0, 10, None), row("a", 700.0, 90, None), row("b", 700.0, 40, None)];
        let order = |rows: Vec<BoardRow>| -> Vec<(String, usize)> {
            rows.into_iter().map(|r| (r.team, r.rank)).collect()
        };
        let first = rank_by(rows(), Ties::FirstSettled);
        assert_eq!(order(first), [("b".into(), 1), ("a".into(), 2), ("c".into(), 3)]);
        let shared = rank_by(rows(), Ties::Shared);
        assert!(shared.iter().all(|r| r.settled_tick == 0), "no tick for the page to break ties by");
        assert_eq!(order(shared), [("a".into(), 1), ("b".into(), 1), ("c".into(), 3)]);
    }

    #[test]
    fn totals_settled_together_go_to_the_team_whose_last_flag_came_first() {
        // Uptime falling in every range moves all totals each tick: they settle together.
        let flagged = |team: &str, ticks: &[u64]| {
            let solved: Vec<(String, u64)> = ticks.iter().map(|t| (format!("ch{t}"), *t)).collect();
            BoardRow { flag_tick: last_solved(&solved), solved, ..row(team, 640.0, 900, None) }
        };
        let rows = || vec![flagged("a", &[300, 120]), flagged("b", &[80, 200]), flagged("c", &[200, 10])];
        let order = |rows: Vec<BoardRow>| -> Vec<(String, usize)> {
            rows.into_iter().map(|r| (r.team, r.rank)).collect()
        };
        assert_eq!(
            order(rank_by(rows(), Ties::FirstSettled)),
            [("b".into(), 1), ("c".into(), 1), ("a".into(), 3)],
            "b and c solved their last at 200, a at 300"
        );
        let shared = rank_by(rows(), Ties::Shared);
        assert!(shared.iter().all(|r| r.flag_tick.is_none()), "no flag time for the page to break ties by");
        assert_eq!(order(shared), [("a".into(), 1), ("b".into(), 1), ("c".into(), 1)]);
        // The board's JSON carries it only where there is one.
        let json = serde_json::to_value(&rows()[0]).unwrap();
        assert_eq!(json["flag_tick"], 300);
        assert!(serde_json::to_value(row("d", 0.0, 0, None)).unwrap().get("flag_tick").is_none());
    }

    #[test]
    fn teams_equal_in_total_and_settled_tick_share_a_rank_through_deltas_too() {
        let rows = rank(vec![
            row("d", 100.0, 5, Some("pro")),
            row("b", 300.0, 20, Some("pro")),
            row("a", 300.0, 20, Some("student")),
            row("c", 300.0, 20, Some("pro")),
        ]);
        let order: Vec<(&str, usize, Option<usize>)> =
            rows.iter().map(|r| (r.team.as_str(), r.rank, r.bracket_rank)).collect();
        assert_eq!(order, [("a", 1, Some(1)), ("b", 1, Some(1)), ("c", 1, Some(1)), ("d", 4, Some(3))]);
        // Every team at 0 before anything happens: all first.
        let teams = |scored: Option<usize>| -> Vec<BoardRow> {
            (0..10)
                .map(|i| row(&format!("t{i}"), if Some(i) == scored { 50.0 } else { 0.0 }, 0, None))
                .collect()
        };
        let start = rank(teams(None));
        assert!(start.iter().all(|r| r.rank == 1));
        // A viewer rebuilding the boards from deltas gets the same shared ranks.
        let before = Scoreboard {
            head: BoardHead { seq: 1, ..Scoreboard::empty().head },
            rows: start,
            ..Scoreboard::empty()
        }
        .sealed();
        let after = Scoreboard {
            head: BoardHead { seq: 2, ..Scoreboard::empty().head },
            rows: rank(teams(Some(6))),
            ..Scoreboard::empty()
        }
        .sealed_after([&before]);
        let delta: BoardDelta = serde_json::from_str(after.delta_for(1).expect("a delta")).unwrap();
        assert_eq!(delta.rows.len(), 1, "only the team that scored changed");
        let rebuilt = before.apply(&delta).unwrap();
        assert_eq!(rebuilt.rows, after.rows);
        let ranks: Vec<usize> = rebuilt.rows.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [1, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn a_frozen_board_shows_the_cards_at_the_freeze_until_the_hot_wash() {
        let freeze = Freeze { tick: Some(100), blind: false };
        assert!(!freeze.frozen(99, Phase::Live));
        assert!(freeze.frozen(100, Phase::Live) && freeze.frozen(150, Phase::Paused));
        assert!(!freeze.frozen(150, Phase::HotWash), "the hot wash shows the real board");
        let board = |seq, total| Scoreboard {
            head: BoardHead {
                seq,
                phase: Phase::Live,
                frozen: false,
                changed_us: seq,
                clock: Clock::default(),
                steps: 0,
                ..Scoreboard::empty().head
            },
            rows: vec![row("a", total, 0, None)],
            ..Scoreboard::empty()
        };
        let at = |total| move || vec![row("a", total, 0, None)];
        let before = board(1, 100.0);
        // The rows at the freeze, whatever the full board says now.
        let frozen = freeze.public(FROZEN, &before, (&Arc::new(board(2, 300.0)), 0), at(100.0)).unwrap();
        assert_eq!((frozen.rows[0].total, frozen.head.frozen, frozen.head.seq), (100.0, true, 2));
        let same = freeze.public(FROZEN, &frozen, (&Arc::new(board(3, 400.0)), 0), at(100.0));
        assert!(same.is_none(), "nothing new to publish");
        // A range that reached the freeze later brings its card there.
        let later = freeze.public(FROZEN, &frozen, (&Arc::new(board(4, 400.0)), 0), at(150.0)).unwrap();
        // Numbered on from the frozen board before it (2), not as the full board (4): the gap
        // would count the hidden changes.
        assert_eq!((later.rows[0].total, later.head.seq), (150.0, 3));
        assert_eq!(
            freeze
                .public(Hidden::default(), &later, (&Arc::new(board(5, 400.0)), 0), at(150.0))
                .unwrap()
                .rows[0]
                .total,
            400.0
        );
        // Viewers hold the last full board as the freeze comes (unfrozen, the public board is
        // the full one): what they are sent next is the board at the freeze, marked frozen,
        // never the full board's delta with the live scores.
        let rows = |first: f64| {
            (0..20).map(move |k| row(&format!("t{k}"), if k == 0 { first } else { 50.0 }, 0, None))
        };
        let many = |seq, first| Scoreboard { rows: rank(rows(first).collect()), ..board(seq, 0.0) };
        let shown = many(6, 100.0).sealed();
        let full = Arc::new(many(7, 900.0).sealed_after([&shown]));
        assert!(full.delta_for(6).is_some(), "the full board has its delta");
        let public = freeze.public(FROZEN, &shown, (&full, 0), || rank(rows(100.0).collect())).unwrap();
        let next = public.event_for(Some(6));
        let data = std::str::from_utf8(&next).unwrap().split_once("data: ").unwrap().1.trim().to_string();
        let json: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(json["frozen"], true, "{json}");
        assert!(json["rows"].as_array().unwrap().iter().all(|r| r["total"] != 900.0), "{json}");
        // The hot wash from a pause: the full board is as it was, but viewers holding the
        // frozen rows are sent the live ones.
        let still = Arc::new(many(8, 900.0).sealed_after([&*full]));
        let thawed =
            freeze.public(Hidden::default(), &public, (&still, 0), || unreachable!("not frozen")).unwrap();
        let held = Scoreboard { event: Bytes::new(), ..(*public).clone() };
        let delta: BoardDelta = serde_json::from_str(thawed.delta_for(public.head.seq).unwrap()).unwrap();
        let seen = held.apply(&delta).unwrap();
        assert_eq!(
            (seen.head.frozen, seen.rows),
            (false, still.rows.clone()),
            "the viewer's page shows the live board"
        );
        // A viewer that skipped the thawed board (a slow one): the next board carries no delta
        // from the frozen board's number (the full board's is from its own board 7), so it
        // gets the whole board.
        let next = Arc::new(many(9, 900.0).sealed_after([&*still, &*full]));
        assert!(next.delta_for(public.head.seq).is_some(), "the full channel's delta from its board 7");
        let after =
            freeze.public(Hidden::default(), &thawed, (&next, 0), || unreachable!("not frozen")).unwrap();
        assert!(after.delta_for(public.head.seq).is_none() && after.delta_for(thawed.head.seq).is_some());
        assert_eq!(&after.event_for(Some(public.head.seq))[..], &next.event[..], "the whole board");
    }

    #[test]
    fn a_blind_drills_public_board_shows_provisional_rows_until_the_hot_wash() {
        let blind = Freeze { tick: None, blind: true };
        assert!(blind.provisional(Phase::Briefing) && blind.provisional(Phase::Paused));
        assert!(!blind.provisional(Phase::HotWash) && !blind.provisional(Phase::Ended));
        assert_eq!(blind.hidden(10, Phase::Live), Hidden { frozen: false, provisional: true });
        assert!(!Freeze::default().hidden(10, Phase::Live).any());
        // Team a and 19 others at 200.
        let rows = |a: f64| {
            let others = (0..19).map(|k| row(&format!("t{k:02}"), 200.0, 0, None));
            rank(std::iter::once(row("a", a, 0, None)).chain(others).collect())
        };
        let board = |seq, total| Scoreboard {
            head: BoardHead { seq, phase: Phase::Live, ..Scoreboard::empty().head },
            rows: rows(total),
            ..Scoreboard::empty()
        };
        let hidden = blind.hidden(10, Phase::Live);
        let before = board(1, 100.0).sealed();
        let provisional = || rows(100.0);
        // The true board says a lost points (its attack fired): the public one does not, nor
        // does its number, its change time or its count of the attack's steps.
        let with_head = |mut b: Scoreboard, head: fn(&mut BoardHead)| {
            head(&mut b.head);
            b
        };
        let full = Arc::new(
            with_head(board(9, 50.0), |h| (h.changed_us, h.steps) = (77, 7)).sealed_after([&before]),
        );
        let public = blind.public(hidden, &before, (&full, 6), provisional).unwrap();
        assert_eq!((public.head.seq, public.head.steps), (2, 6));
        assert!(public.head.provisional && !public.head.frozen);
        assert_eq!(public.rows.last().map(|r| (r.team.as_str(), r.total)), Some(("a", 100.0)));
        let json: serde_json::Value =
            serde_json::from_str(data_of(BOARD_EVENT, &public.event_for(None))).unwrap();
        assert_eq!(json["provisional"], true, "{json}");
        assert!(json["rows"].as_array().unwrap().iter().all(|r| r["total"] != 50.0), "{json}");
        // Nothing new to show: nothing published.
        let full = Arc::new(board(3, 40.0).sealed_after([&*full]));
        assert!(blind.public(hidden, &public, (&full, 0), provisional).is_none());
        // The provisional rows move (a report matched a step): a delta from the public board.
        let moved = || rows(300.0);
        let next = blind.public(hidden, &public, (&full, 0), moved).unwrap();
        let delta: BoardDelta = serde_json::from_str(next.delta_for(public.head.seq).unwrap()).unwrap();
        let seen = public.apply(&delta).unwrap();
        assert_eq!((seen.head.provisional, seen.rows.clone()), (true, next.rows.clone()));
        // The hot wash: viewers are sent the true board, unmarked.
        let still = Arc::new(with_head(board(4, 40.0), |h| h.phase = Phase::HotWash).sealed_after([&*full]));
        let shown =
            blind.public(blind.hidden(10, Phase::HotWash), &next, (&still, 0), || unreachable!()).unwrap();
        let delta: BoardDelta = serde_json::from_str(shown.delta_for(next.head.seq).unwrap()).unwrap();
        let seen = next.apply(&delta).unwrap();
        assert_eq!((seen.head.provisional, seen.rows), (false, still.rows.clone()));
    }

    #[test]
    fn a_delta_carries_only_the_changed_rows_and_rebuilds_the_next_board() {
        let teams = 300;
        let board = |seq: u64, totals: &dyn Fn(usize) -> f64| Scoreboard {
            head: BoardHead { seq, phase: Phase::Live, changed_us: seq * 10, ..Scoreboard::empty().head },
            rows: rank(
                (0..teams)
                    .map(|i| row(&format!("t{i:03}"), totals(i), 0, (i % 3 == 0).then_some("student")))
                    .collect(),
            ),
            ..Scoreboard::empty()
        };
        let before = board(1, &|_| 100.0).sealed();
        // One team loses points: it falls from first to last, every other rank moves.
        let after = board(2, &|i| if i == 0 { 90.0 } else { 100.0 }).sealed_after([&before]);
        let delta: BoardDelta = serde_json::from_str(after.delta_for(1).unwrap()).unwrap();
        assert_eq!(delta.rows.len(), 1, "only the team whose score changed");
        assert!(delta.order.is_none(), "the order follows from the changed row's new rank");
        assert!(
            after.deltas[0].1.len() * 50 < after.json().len(),
            "{:?} vs {}",
            after.deltas,
            after.json().len()
        );
        // On the wire: a viewer holding board 1 gets the delta, a new one or one holding a
        // board this one has no delta from gets the whole board, each one server-sent event.
        assert_eq!(
            &after.event_for(Some(1))[..],
            format!("event: scoreboard-delta\ndata: {}\n\n", after.delta_for(1).unwrap()).as_bytes()
        );
        assert_eq!(after.event_for(None), after.event_for(Some(7)));
        assert_eq!(
            &after.event_for(None)[..],
            format!("event: scoreboard\ndata: {}\n\n", after.json()).as_bytes()
        );
        assert_eq!(serde_json::from_str::<Scoreboard>(after.json()).unwrap().rows, after.rows);
        let rebuilt = before.apply(&delta).unwrap();
        assert_eq!(rebuilt.rows, after.rows, "ranks and bracket ranks follow from the order");
        assert_eq!((rebuilt.head.seq, rebuilt.head.changed_us), (2, 20));
        // A delta for another board, or naming an unknown team, is refused.
        assert!(after.apply(&delta).is_none());
        let mut bad = delta.clone();
        bad.order = Some(vec!["nobody".into()]);
        assert!(before.apply(&bad).is_none());
        // A board whose other rows changed order carries the order.
        let mut shuffled = after.clone();
        shuffled.head.seq = 3;
        shuffled.rows.reverse();
        let d = shuffled.delta_from(&after);
        assert!(d.rows.is_empty() && d.order.is_some());
        let teams = |b: &Scoreboard| b.rows.iter().map(|r| r.team.clone()).collect::<Vec<_>>();
        assert_eq!(teams(&after.apply(&d).unwrap()), teams(&shuffled));
        // No delta without an earlier board.
        assert!(board(3, &|_| 1.0).sealed_after([&Scoreboard::empty()]).deltas.is_empty());
        // A viewer that skipped a board gets one delta over both changes.
        let third = board(3, &|i| if i < 2 { 90.0 } else { 100.0 }).sealed_after([&after, &before]);
        let skip: BoardDelta = serde_json::from_str(third.delta_for(1).unwrap()).unwrap();
        assert_eq!(skip.rows.len(), 2);
        assert_eq!(before.apply(&skip).unwrap().rows, third.rows);
        assert!(third.delta_for(0).is_none(), "none from a board it was not given");
        // When every score moved, the whole board is sent instead.
        let all = board(4, &|i| i as f64).sealed_after([&third]);
        assert!(all.deltas.is_empty(), "a delta of every row is no saving");
        // What the fan-out pays a viewer, and the pause it earns the board task.
        assert_eq!(third.bytes_after(2), third.delta_event(2).unwrap().len());
        assert_eq!(all.bytes_after(3), all.event.len());
        let small = fan_out_pause(5_000 * third.bytes_after(2) as u64);
        let whole = fan_out_pause(5_000 * all.bytes_after(3) as u64);
        assert!(small < std::time::Duration::from_millis(20), "{small:?}");
        assert!(whole > 20 * small, "{whole:?} vs {small:?}");
        assert_eq!(fan_out_pause(FAN_OUT_BYTES_PER_S), std::time::Duration::from_secs(1));
    }

    #[test]
    fn deltas_added_up_over_the_boards_in_between_rebuild_every_later_board() {
        let teams = 200;
        // Two teams lose a point on each board.
        let hit = |i: usize, s: u64| (s as usize) % teams == i || (s as usize * 3) % teams == i;
        let total = |i: usize, seq: u64| 100.0 - (1..=seq).filter(|s| hit(i, *s)).count() as f64;
        let board = |seq: u64| Scoreboard {
            head: BoardHead { seq, phase: Phase::Live, changed_us: seq, ..Scoreboard::empty().head },
            rows: rank((0..teams).map(|i| row(&format!("t{i:03}"), total(i, seq), 0, None)).collect()),
            ..Scoreboard::empty()
        };
        let mut published: Vec<Scoreboard> = vec![board(1).sealed()];
        for seq in 2..=24 {
            let new = board(seq).sealed_after(published.iter().rev());
            assert_eq!(new.changed.as_ref().map(|(base, _)| *base), Some(seq - 1));
            for prev in published.iter().rev().take(DELTA_DEPTH) {
                let json = new
                    .delta_for(prev.head.seq)
                    .unwrap_or_else(|| panic!("board {seq}: no delta from {}", prev.head.seq));
                let delta: BoardDelta = serde_json::from_str(json).unwrap();
                assert_eq!(prev.apply(&delta).unwrap().rows, new.rows, "board {seq} from {}", prev.head.seq);
                assert!(delta.rows.len() <= 2 * (seq - prev.head.seq) as usize, "only the teams hit since");
            }
            assert!(seq <= DELTA_DEPTH as u64 + 1 || new.delta_for(seq - DELTA_DEPTH as u64 - 1).is_none());
            published.push(new);
        }
        // A board missing among the earlier ones: no delta from beyond the gap.
        let (b22, b24) = (&published[21], &published[23]);
        let next = board(25).sealed_after([b24, b22]);
        assert!(next.delta_for(24).is_some());
        assert!(next.delta_for(22).is_none(), "board 23 is missing: its changes are unknown");
    }
}
