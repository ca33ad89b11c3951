//! Judging: a team's score, the hidden hazards its drill exposed, and an exam's grade, each a
//! pure function of the scenario and the team's event log. No IO, no clock: the same log
//! always gives the same judgement, so a replay re-judges a drill exactly.
//!
//! # Layout
//!
//! - `score`: `Scorer`, reading a log in order into a `ScoreCard` at any tick (`card.rs` the
//!   parts, `texts.rs` their words in both languages).
//! - `findings`: the hazards (安全隐患), one rule per file (`path`, `range`, `backup`,
//!   `safety`, `alarm`, `detect`, `plan`) over one pass through the log (`Evidence`).
//! - `exam`: the certification exam's tasks in five skill areas, the pass rule and the
//!   safety gate.
//!
//! Judging reads only what `EventKind::judged` keeps: plain traffic (reads, connections,
//! traffic summaries) changes no score, finding or grade.

pub mod exam;
pub mod findings;
pub mod score;
