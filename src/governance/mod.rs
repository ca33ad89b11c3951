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

/// A built-in scenario's title (both languages), read once: what a drill named after its
/// scenario (the default name, the English title) or an exam is called in either language.
pub fn builtin_title(id: &str) -> Option<&'static icsdrill_engine::scenario::Text> {
    static TITLES: std::sync::OnceLock<
        std::collections::BTreeMap<&'static str, icsdrill_engine::scenario::Text>,
    > = std::sync::OnceLock::new();
    TITLES
        .get_or_init(|| {
            icsdrill_scenarios::LIBRARY
                .iter()
                .filter_map(|b| Some((b.id, b.load().ok()?.meta.title.clone())))
                .collect()
        })
        .get(id)
}
