//! icsdrill's live runtime, as a library for the binary and the integration tests.
//!
//! # Layout
//!
//! - `attacker`: the live attacker, a real Modbus client carrying out the attack's actions.
//! - `cert`: signed (ed25519) exam certificates, JSON and printable HTML.
//! - `dates`: calendar days without a date library (cadence, deadlines, report dates).
//! - `drill`: a drill: a range per team, phases, live scores, the web view.
//! - `exam_run`: running, recording and certifying an exam.
//! - `fds`: the open-files limit, raised at start and shared among endpoints and the web.
//! - `live`: the real-time runtime: the sim thread, snapshots, the command queue.
//! - `modbus`: Modbus TCP endpoints for every simulated PLC.
//! - `rectify`: findings tracked per enterprise across drills, re-tested by the next drill.
//! - `region`: roll-ups from the store for the CLI and the regional web view.
//! - `registry`: enterprises, levels, cadence by level, self-grading, import/export, roll-ups.
//! - `report`: after-action reports (HTML, Markdown, JSON, xlsx; zh/en).
//! - `replay`: rebuilding a recorded drill from its inputs (resume, `icsdrill replay`).
//! - `store`: the drill database (`Store`, SQLite by default) and the `Recorder` thread.
//! - `tabular`: CSV and xlsx tables, every cell safe against formula injection.
//! - `range`: one range: a live simulation, its endpoints and its HTTP API, started and
//!   stopped together.

pub mod attacker;
pub mod cert;
pub mod dates;
pub mod drill;
pub mod exam_run;
pub mod fds;
pub mod live;
pub mod modbus;
pub mod range;
pub mod rectify;
pub mod region;
pub mod registry;
pub mod replay;
pub mod report;
pub mod store;
pub mod tabular;
