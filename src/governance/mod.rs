//! What drills leave for the authority and the enterprise.
//!
//! - `report`: after-action reports (HTML, Markdown, JSON, xlsx; zh/en).
//! - `rectify`: findings tracked per enterprise across drills, re-tested by the next drill.
//! - `registry`: enterprises, levels, cadence by level, self-grading, import/export, roll-ups.
//! - `region`: roll-ups from the store for the CLI and the regional web view.
//! - `exam`: running, recording and certifying an exam.
//! - `cert`: signed (ed25519) exam certificates, JSON and printable HTML.
//! - `bundle`: signed, replayable drill bundles (enterprise -> region), checked by replay.
//! - `tabular`: CSV and xlsx tables, every cell safe against formula injection.
//! - `dates`: calendar days.

pub mod bundle;
pub mod cert;
pub mod dates;
pub mod exam;
pub mod pcap;
pub mod rectify;
pub mod region;
pub mod registry;
pub mod report;
pub mod tabular;
