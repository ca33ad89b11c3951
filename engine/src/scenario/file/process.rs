//! The `process:` section as written: variables, actuators, sensors and relief devices.

use serde::Deserialize;

use super::{S, TextFile, unlocated};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProcessFile {
    pub(crate) model: S<String>,
    pub(crate) variables: Vec<VarFile>,
    #[serde(default)]
    pub(crate) actuators: Vec<ActuatorFile>,
    #[serde(default)]
    pub(crate) sensors: Vec<SensorFile>,
    #[serde(default)]
    pub(crate) reliefs: Vec<ReliefFile>,
    #[serde(default)]
    pub(crate) tables: Vec<TableFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReliefFile {
    pub(crate) id: S<String>,
    pub(crate) name: TextFile,
    pub(crate) kind: S<String>,
    pub(crate) var: S<String>,
    pub(crate) set: S<f64>,
    pub(crate) reseat: Option<S<f64>>,
    pub(crate) capacity: S<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DoseFile {
    pub(crate) above: Option<S<f64>>,
    pub(crate) below: Option<S<f64>>,
    pub(crate) for_s: S<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VarFile {
    pub(crate) id: S<String>,
    pub(crate) name: TextFile,
    pub(crate) unit: String,
    pub(crate) initial: S<f64>,
    pub(crate) bounds: S<[f64; 2]>,
    pub(crate) safe: Option<S<[f64; 2]>>,
    pub(crate) damage_above: Option<S<f64>>,
    pub(crate) damage_below: Option<S<f64>>,
    pub(crate) damage_dose: Option<DoseFile>,
    pub(crate) limit_deadband: Option<S<f64>>,
    pub(crate) relax: Option<RelaxFile>,
    #[serde(default)]
    pub(crate) terms: Vec<TermFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RelaxFile {
    pub(crate) tau_s: S<f64>,
    pub(crate) toward: S<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TermFile {
    pub(crate) gain: Option<S<f64>>,
    #[serde(default)]
    pub(crate) of: Vec<S<String>>,
    pub(crate) expr: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TableFile {
    pub(crate) id: S<String>,
    pub(crate) points: S<Vec<[f64; 2]>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActuatorFile {
    pub(crate) id: S<String>,
    pub(crate) name: TextFile,
    pub(crate) kind: S<String>,
    #[serde(default = "default_stroke_s")]
    pub(crate) stroke_s: S<f64>,
    #[serde(default)]
    pub(crate) initial: f64,
    #[serde(default)]
    pub(crate) fail: FailFile,
}

/// Where an actuator goes when its PLC stops: a position, or `hold` (a latching device: a
/// circuit breaker, a motor-operated valve without spring return).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum FailFile {
    Position(f64),
    Word(S<String>),
}

impl Default for FailFile {
    fn default() -> FailFile {
        FailFile::Position(0.0)
    }
}

fn default_stroke_s() -> S<f64> {
    unlocated(1.0)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SensorFile {
    pub(crate) id: S<String>,
    pub(crate) name: TextFile,
    pub(crate) var: S<String>,
    pub(crate) noise: Option<S<f64>>,
    pub(crate) drift_per_h: Option<S<f64>>,
    pub(crate) range: Option<S<[f64; 2]>>,
    pub(crate) switch_above: Option<S<f64>>,
    pub(crate) switch_below: Option<S<f64>>,
    pub(crate) lag_s: Option<S<f64>>,
    pub(crate) dead_time_s: Option<S<f64>>,
}
