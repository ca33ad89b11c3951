//! icsdrill's live runtime, as a library for the binary and the integration tests.
//!
//! # Layout
//!
//! - `attacker`: the live attacker, a real Modbus client carrying out the attack's actions.
//! - `drill`: a drill: a range per team, phases, live scores, the web view.
//! - `live`: the real-time runtime: the sim thread, snapshots, the command queue.
//! - `modbus`: Modbus TCP endpoints for every simulated PLC.
//! - `rectify`: findings tracked per enterprise across drills, re-tested by the next drill.
//! - `report`: after-action reports (HTML, Markdown, JSON, xlsx; zh/en).
//! - `replay`: rebuilding a recorded drill from its inputs (resume, `icsdrill replay`).
//! - `store`: the drill database (`Store`, SQLite by default) and the `Recorder` thread.
//! - `range`: one range: a live simulation, its endpoints and its HTTP API, started and
//!   stopped together.

pub mod attacker;
pub mod drill;
pub mod live;
pub mod modbus;
pub mod range;
pub mod rectify;
pub mod replay;
pub mod report;
pub mod store;
