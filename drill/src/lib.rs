//! The drill core: what a drill is and how it moves, with no IO, no clock and no runtime
//! (like `icsdrill-engine` for the plant). The runtime and the web layer both speak it.
//!
//! # Layout
//!
//! - `alerts`: a team's monitoring alerts enriched (technique, severity) and written as JSON,
//!   CEF or RFC 5424 syslog.
//! - `vocab`: the drill's words: `Mode`, `Phase`, `Control`, `Role`, `TeamInfo`,
//!   `DrillInfo`, `EndpointInfo`, `ActError`, team ids.
//! - `phase`: the phase machine (briefing → live ⇄ paused → hot wash → ended).
//! - `board`: `BoardRow` and `Scoreboard`, ranking with brackets and ties, the contest
//!   freeze.
//! - `exam`: a certification exam on the trainee's console: the tasks set, the pass rule and
//!   the time limit, and the grade once it is over.
//! - `flags`: contest flags: per-team flags, the challenges, judging a submission, and its
//!   rate limit (time passed in).
//! - `history`: each team's total over plant time, bounded, cut at a contest's freeze.
//! - `leases`: which node runs which team of a drill spread over several nodes (pure rules
//!   over the lease table, time passed in; not yet wired to a table).
//! - `track`: what a team's log shows its console besides the score: actions, injects,
//!   hints, attack progress.
//! - `trends`: a team's historian: what its operator station showed, and its score, once a
//!   second of plant time, bounded.
//! - `views`: typed views: the team console's state, the instructor's overview, standings.
//!
//! Tests step these pure parts and assert, with no sleeps and no sockets.

pub mod alerts;
pub mod board;
pub mod exam;
pub mod flags;
pub mod history;
pub mod leases;
pub mod overview;
pub mod phase;
pub mod station;
pub mod track;
pub mod trends;
pub mod views;
pub mod vocab;

pub use board::{BoardRow, Scoreboard};
pub use phase::{PhaseError, Seen};
pub use vocab::{ActError, Control, DrillInfo, EndpointInfo, Mode, Phase, Role, TeamInfo};
