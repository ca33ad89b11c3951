//! What a recorded drill keeps of its options (`drills.options`, JSON): read back to resume
//! it, replay it, report on it and rebuild its captures.

use std::collections::BTreeMap;

use icsdrill_drill::flags;
use icsdrill_engine::Scenario;
use serde::{Deserialize, Serialize};

use crate::runtime::range;
use crate::store::DrillRecord;

/// Drill options kept with the record.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct StoredOptions {
    pub(super) duration_s: Option<f64>,
    pub(super) freeze_s: Option<f64>,
    /// Teams saw provisional scores until the hot wash (a drill recorded before this was
    /// kept showed true ones).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) blind: bool,
    /// How teams with the same total are ranked (the default when not kept).
    #[serde(default, skip_serializing_if = "is_first_settled")]
    pub(super) ties: icsdrill_drill::board::Ties,
    #[serde(default)]
    pub(super) no_attack: bool,
    /// Contest: the secret every team's flags derive from.
    pub(super) flag_secret: Option<String>,
    /// Team -> bracket.
    #[serde(default)]
    pub(super) brackets: BTreeMap<String, String>,
    /// An exam's variant seed (replays apply the variant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) variant_seed: Option<u64>,
    /// Client networks given per team (the rest take the defaults).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) clients: BTreeMap<String, Vec<ipnet::IpNet>>,
    /// Where the ranges were served when the drill began (captures rebuilt later carry these
    /// addresses); records from before it was kept are placed as `Placement::canonical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) wire: Option<StoredWire>,
    /// Organiser and place.
    #[serde(default, skip_serializing_if = "crate::governance::report::Cover::is_empty")]
    pub(super) cover: crate::governance::report::Cover,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) cohort: String,
    /// The engine rules the drill was played by (`icsdrill_engine::RULES`; 0: from before
    /// they were kept).
    #[serde(default)]
    pub(super) rules: u32,
}

/// The organiser and place a recorded drill was given.
pub fn stored_cover(record: &DrillRecord) -> crate::governance::report::Cover {
    serde_json::from_str::<StoredOptions>(&record.options).unwrap_or_default().cover
}

/// The length a recorded drill was given (`serve --duration`), in plant seconds.
pub fn stored_duration(record: &DrillRecord) -> Option<f64> {
    serde_json::from_str::<StoredOptions>(&record.options).unwrap_or_default().duration_s
}

/// The address options of a drill's ranges.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredWire {
    pub(super) address_mode: range::AddressMode,
    pub(super) modbus_port: u16,
    #[serde(default = "iec104_port")]
    pub(super) iec104_port: u16,
    #[serde(default = "opcua_port")]
    pub(super) opcua_port: u16,
    pub(super) bind: std::net::IpAddr,
    #[serde(default)]
    pub(super) sources: Vec<(std::net::IpAddr, String)>,
}

fn iec104_port() -> u16 {
    range::IEC104_PORT
}

fn opcua_port() -> u16 {
    range::OPCUA_PORT
}

/// The scenario `team`'s endpoints answered by in a recorded drill: a contest team's has its
/// own flags in it (`flags::with_flags`), what its captures show.
pub fn team_scenario(
    record: &DrillRecord,
    scenario: std::sync::Arc<Scenario>,
    team: &str,
) -> std::sync::Arc<Scenario> {
    let options: StoredOptions = serde_json::from_str(&record.options).unwrap_or_default();
    match options.flag_secret {
        Some(secret) => {
            std::sync::Arc::new(flags::with_flags(&scenario, &secret, team, &flags::challenges(&scenario)))
        }
        None => scenario,
    }
}

/// How many contest flag challenges a recorded drill offered (none outside a contest): what
/// its scores count, on the board and in its reports alike.
pub fn recorded_challenges(record: &DrillRecord, scenario: &Scenario) -> usize {
    let options: StoredOptions = serde_json::from_str(&record.options).unwrap_or_default();
    if options.flag_secret.is_some() { flags::challenges(scenario).len() } else { 0 }
}

fn is_first_settled(t: &icsdrill_drill::board::Ties) -> bool {
    *t == icsdrill_drill::board::Ties::FirstSettled
}

/// Where team `team`'s range of a recorded drill put its hosts and PLCs when the drill began:
/// what its captures carry.
pub fn team_placement(
    record: &DrillRecord,
    teams: &[crate::store::TeamRecord],
    scenario: &std::sync::Arc<Scenario>,
    team: &str,
) -> crate::Result<crate::runtime::placement::Placement> {
    use crate::runtime::placement::Placement;
    let options: StoredOptions = serde_json::from_str(&record.options).unwrap_or_default();
    let Some(wire) = options.wire else { return Ok(Placement::canonical(scenario)) };
    let mut range = range::Options::new(record.seed);
    (range.address_mode, range.modbus_port, range.iec104_port, range.opcua_port, range.bind, range.sources) =
        (wire.address_mode, wire.modbus_port, wire.iec104_port, wire.opcua_port, wire.bind, wire.sources);
    let spec = super::launch::stored_spec(record, teams, scenario.clone(), range);
    let nets = super::clients::team_clients(&spec)?;
    let k = teams
        .iter()
        .position(|t| t.id == team)
        .ok_or_else(|| crate::Error::not_found(format!("drill `{}` has no team `{team}`", record.id)))?;
    Ok(Placement::of(scenario, &super::launch::team_range(&spec, &nets[k], k)))
}
