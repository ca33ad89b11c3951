//! PLC programs as written: logic blocks, their parameters, alarms, interlocks, sequences.

use serde::Deserialize;

use super::S;

/// A parameter: a constant or the id of one of the PLC's holding registers.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum ParamFile {
    Const(f64),
    Register(String),
    Cascade(CascadeFile),
}

/// Another PI loop's output (0..=1) scaled to `lo..=hi`: the set point of a cascade's inner
/// loop.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CascadeFile {
    pub(crate) cascade: String,
    pub(crate) lo: f64,
    pub(crate) hi: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum LogicFile {
    OnOff(OnOffFile),
    Pi(PiFile),
    Follow(FollowFile),
    Alarm(AlarmFile),
    Interlock(InterlockFile),
    Sequence(SequenceFile),
    Select(SelectFile),
}

/// A selector: the least (or greatest) of several PI outputs drives one actuator (an override:
/// a pressure loop takes over a flow loop's valve when the pressure nears its limit).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SelectFile {
    pub(crate) id: S<String>,
    pub(crate) mode: S<String>,
    pub(crate) from: Vec<S<String>>,
    pub(crate) output: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SequenceFile {
    pub(crate) id: S<String>,
    pub(crate) start: S<String>,
    pub(crate) steps: Vec<SeqStepFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeqStepFile {
    pub(crate) id: S<String>,
    #[serde(default)]
    pub(crate) set: Vec<ActionFile>,
    pub(crate) after_s: Option<S<f64>>,
    pub(crate) until: Option<UntilFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UntilFile {
    pub(crate) sensor: S<String>,
    pub(crate) above: Option<S<f64>>,
    pub(crate) below: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OnOffFile {
    pub(crate) id: S<String>,
    pub(crate) pv: S<String>,
    pub(crate) low: S<ParamFile>,
    pub(crate) high: S<ParamFile>,
    pub(crate) output: S<String>,
    pub(crate) action: S<String>,
    pub(crate) manual: Option<S<String>>,
    pub(crate) manual_command: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PiFile {
    pub(crate) id: S<String>,
    pub(crate) pv: S<String>,
    pub(crate) setpoint: S<ParamFile>,
    pub(crate) kp: S<ParamFile>,
    pub(crate) ki: S<ParamFile>,
    #[serde(default)]
    pub(crate) bias: f64,
    pub(crate) output: Option<S<String>>,
    #[serde(default)]
    pub(crate) reverse: bool,
    pub(crate) manual: Option<S<String>>,
    pub(crate) manual_output: Option<S<ParamFile>>,
    #[serde(default)]
    pub(crate) split: Vec<SplitFile>,
    pub(crate) feedforward: Option<FeedforwardFile>,
}

/// One actuator of a split-range output: it strokes 0 -> 1 while the output goes from `from`
/// to `to` (`from > to` for one that closes as the output rises).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SplitFile {
    pub(crate) actuator: S<String>,
    pub(crate) from: f64,
    pub(crate) to: f64,
}

/// A measured disturbance added to a PI output: `gain * (value - reference)`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedforwardFile {
    pub(crate) sensor: S<String>,
    pub(crate) gain: f64,
    #[serde(default)]
    pub(crate) reference: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FollowFile {
    pub(crate) coil: S<String>,
    pub(crate) output: S<String>,
    pub(crate) permit: Option<PermitFile>,
    pub(crate) on_delay_s: Option<S<f64>>,
    pub(crate) off_delay_s: Option<S<f64>>,
}

/// Conditions that must hold for an output to run: all of `all`, and one of `any` if given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PermitFile {
    #[serde(default)]
    pub(crate) all: Vec<CondFile>,
    #[serde(default)]
    pub(crate) any: Vec<CondFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CondFile {
    pub(crate) sensor: Option<S<String>>,
    pub(crate) above: Option<S<f64>>,
    pub(crate) below: Option<S<f64>>,
    pub(crate) coil: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlarmFile {
    pub(crate) id: S<String>,
    pub(crate) pv: S<String>,
    pub(crate) hi: Option<S<ParamFile>>,
    pub(crate) hi_hi: Option<S<ParamFile>>,
    pub(crate) lo: Option<S<ParamFile>>,
    pub(crate) lo_lo: Option<S<ParamFile>>,
    #[serde(default)]
    pub(crate) deadband: f64,
    /// Seconds a limit must be passed before the alarm comes on (ISA-18.2 on-delay).
    #[serde(default)]
    pub(crate) on_delay_s: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InterlockFile {
    pub(crate) id: S<String>,
    pub(crate) pv: S<String>,
    #[serde(default)]
    pub(crate) voters: Vec<S<String>>,
    pub(crate) vote: Option<S<String>>,
    pub(crate) delay_s: Option<S<f64>>,
    pub(crate) above: Option<S<ParamFile>>,
    pub(crate) below: Option<S<ParamFile>>,
    pub(crate) bypass: Option<S<String>>,
    pub(crate) reset: Option<S<String>>,
    #[serde(default)]
    pub(crate) actions: Vec<ActionFile>,
    #[serde(default)]
    pub(crate) set_coils: Vec<CoilSetFile>,
    #[serde(default)]
    pub(crate) halt: Vec<S<String>>,
}

/// A coil an interlock sets (or clears) when it trips.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CoilSetFile {
    pub(crate) coil: S<String>,
    pub(crate) value: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionFile {
    pub(crate) actuator: S<String>,
    pub(crate) value: S<f64>,
}
