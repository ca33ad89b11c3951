//! The icsdrill simulation core: a deterministic, IO-free model of an industrial plant.
//!
//! One seed + one scenario + the same inputs give a byte-identical event log. Judging that
//! log (scores, findings, exams) is the `icsdrill-judge` crate's. This crate reads
//! no clock, opens no file or socket, uses no thread RNG and never lets hash order reach
//! output; the live runtime (Modbus, web, storage) only queues `SimInput`s and reads state.
//!
//! # Layout
//!
//! - `attack`: attack plans (steps, triggers, actions) and the ATT&CK for ICS technique table.
//! - `scenario`: the YAML format, its validation into a checked `Scenario`, the model types,
//!   the rubric and exam section judging reads, and exam variants.
//! - `world`: ECS components and resources, and `spawn_plant`.
//! - `systems`: the systems of one tick and the schedule chaining them.
//! - `sim`: `Sim`, the stepping API.
//! - `snapshot`: `Snapshot`, the copy of PLC memories live endpoints read.
//! - `input`: `SimInput`, the closed list of ways to change the plant, and input files.
//! - `event`: `SimEvent` and the append-only `EventLog`.
//! - `network`: the conduit firewall decision.
//! - `rng`: `SimRng`, named random sub-streams of the run seed.

pub mod attack;
pub mod event;
pub mod input;
mod log;
pub mod network;
mod program;
mod reject;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod snapshot;
pub mod systems;
pub mod world;

pub use event::{EventKind, EventLog, LogHasher, RejectReason, SimEvent, hex, log_hash};
pub use input::{
    Iec104Transaction, IncidentReport, OpcUaTransaction, PlcMode, SimInput, TimedInput, TrafficCount,
    parse_inputs,
};
pub use scenario::{Scenario, ScenarioError, ScenarioErrors};

/// The version of the rules a plant is played and judged by: raised whenever a change makes a
/// recorded scenario, seed and input log give another event log (a step refused that once
/// fired, a process that moves otherwise), or the judge another score, other findings or
/// another exam grade. Records keep the version they were made under, so a replay that
/// diverges says whether it was made under other rules rather than calling a record forged.
/// Records from before versions were kept read as 0. The determinism tests pin every built-in
/// scenario's log, score, findings and exam grade to it (`tests/golden/rules.json`).
///
/// 2: an exam's variant gives no hints; exam tasks judge hardening against the PLCs the fired
/// steps wrote, restoring by what the PLC holds (a bypass coil written back counts, set points
/// restored with the coil still set do not), and hazards by cause; a drill that damaged the
/// plant earns nothing for trips avoided (the interlock was bypassed, not spared); a missed
/// response-plan step is a general hazard (一般, medium), a late one low.
///
/// 3: an interlock whose trip condition is met while it is bypassed logs `interlock_defeated`
/// (once a bypass), and a drill with one earns nothing for trips avoided (a team that let
/// the attacker bypass the interlock out-scored one that kept it and took the trip).
///
/// 4: monitoring names an engineering request by what it asks (`program_upload` T0845,
/// `program_download`, `mode_change`, `device_restart`, `firmware_change`; it flagged each,
/// an engineer's backup too, as `engineering_access`, T0843 Program Download), a diagnostics
/// request by its sub-function (`force_listen_only`, `comm_restart`, `diagnostics_query`: an
/// echo was a denial of service too), and a flood's intent and its connections raise one
/// `connection_flood` a quiet period, not two.
///
/// 5: deep monitoring flags a write that sets a safety interlock's bypass coil
/// (`safety_bypass`, T0880), from whichever host (a TRITON sets it from the engineering
/// workstation, an expected writer that raised nothing); a contest offers a third challenge,
/// a hidden input-register area in the first PLC, which answers reads there (exception 02
/// before) and counts in the flags component's maximum.
///
/// 6: a drill that does not judge its teams on the response plan (a regional drill, a
/// contest, an exam: `Mode::scores_plan`) reports no response-plan step as a finding; its
/// reports, registers and bundles listed them though the score left the plan out.
///
/// 7: a report naming any PLC that a scan of every PLC (`scan: {}`) reached matches the scan
/// step (only its source host did: a report of the scan naming a scanned PLC was scored a
/// false positive).
///
/// 8: a finding the team closed in the live plant during the drill, and left closed, says so
/// (`contained`: range checks turned on; a path's sources, or a remote session's target,
/// isolated or blocked on the conduit). It stays open for rectification.
///
/// 9: a response-plan step may name what its actions act on (`isolate_host:ews-01`) and need
/// every one of them (`all`): the tank farm's "isolate and block" and "tell the duty officer
/// and the manager" counted any one action of the kinds, on anything; a notice to the
/// authority reports the incident to it.
///
/// 10: an interlock a downloaded program left out is demanded as a bypassed one is (its trip
/// condition met logs `interlock_defeated`, and the drill earns nothing for trips avoided):
/// the tank farm's idle team kept full marks while the reactor went to its relief valve.
///
/// 11: an interlock's bypass set or taken off is logged (`interlock_bypass`) as the running
/// program sees it, and one still set when the drill ends is a finding (`safety:bypass:*`):
/// a team that never took the attacker's bypass off had no hazard for it in its report.
pub const RULES: u32 = 11;
pub use sim::{Sim, Summary};
pub use snapshot::{PlcView, Snapshot};
