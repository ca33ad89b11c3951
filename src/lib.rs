//! icsdrill's runtime, as a library for the binary and the integration tests. The pure parts
//! live in their own crates: the plant (`icsdrill-engine`), judging (`icsdrill-judge`), the
//! drill's vocabulary and logic (`icsdrill-drill`); this crate runs them live, records them
//! and files what they produce.
//!
//! # Layout
//!
//! - `runtime`: the live runtime: the simulation job (`live`), a range with its Modbus
//!   endpoints (`range`, `modbus`), the live attacker, the open-files budget.
//! - `drill`: a drill server: a range per team, the score hooks, the board task, team
//!   networks, and the `DrillApi` the web layer calls.
//! - `store`: the drill database (SQLite or PostgreSQL, one schema), the recorder thread,
//!   replaying a recorded drill.
//! - `governance`: what a drill leaves for the authority and the enterprise: reports,
//!   rectification, the registry and its cadence, regional roll-ups, exams and certificates,
//!   tabular exports, dates.

pub mod drill;
pub mod error;
pub mod governance;
pub mod runtime;
pub mod store;

pub use error::{Error, Result};
