//! The scenario file as written: plain serde structs that mirror the YAML, with no logic.
//!
//! Every struct denies unknown keys, and every value that validation may complain about is
//! `Spanned`, so `validate` can point at `FILE:LINE:COL`. Externally tagged enums keep their
//! spans; internally tagged and untagged ones would lose them (serde buffers their content), so
//! the only untagged types here are leaves (`TextFile`, `ParamFile`) wrapped whole in `Spanned`.

use serde::Deserialize;
use serde_saphyr::Spanned;

mod logic;
mod process;
mod protocols;

pub(crate) use logic::*;
pub(crate) use process::*;
pub(crate) use protocols::*;

/// A string located in the file.
pub(crate) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScenarioFile {
    pub(crate) id: S<String>,
    pub(crate) meta: MetaFile,
    #[serde(default)]
    pub(crate) sim: SimFile,
    pub(crate) network: NetworkFile,
    pub(crate) process: ProcessFile,
    pub(crate) plcs: Vec<PlcFile>,
    #[serde(default)]
    pub(crate) faults: Vec<FaultFile>,
    pub(crate) monitoring: Option<MonitoringFile>,
    pub(crate) attacker: Option<AttackerFile>,
    #[serde(default)]
    pub(crate) attack: Vec<StepFile>,
    #[serde(default)]
    pub(crate) background: Vec<BackgroundFile>,
    #[serde(default)]
    pub(crate) traffic: Vec<TrafficFile>,
    #[serde(default)]
    pub(crate) maintenance: Vec<MaintenanceFile>,
    #[serde(default)]
    pub(crate) scoring: ScoringFile,
    #[serde(default)]
    pub(crate) hints: Vec<HintFile>,
    pub(crate) exam: Option<ExamFile>,
    pub(crate) mimic: Option<MimicFile>,
}

/// Hand placement on the HMI's process diagram: canvas size and symbol centres by id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MimicFile {
    pub(crate) size: Option<S<[f64; 2]>>,
    #[serde(default)]
    pub(crate) place: std::collections::BTreeMap<String, S<[f64; 2]>>,
}

/// The teams' monitoring: a level, or a level with a learning window and the expected readers
/// and writers of PLCs.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum MonitoringFile {
    Level(S<String>),
    Full(MonitoringSpecFile),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MonitoringSpecFile {
    pub(crate) level: Option<S<String>>,
    pub(crate) learn_s: Option<S<f64>>,
    #[serde(default)]
    pub(crate) expected: Vec<ExpectedFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectedFile {
    pub(crate) plc: S<String>,
    #[serde(default)]
    pub(crate) readers: Vec<S<String>>,
    #[serde(default)]
    pub(crate) writers: Vec<S<String>>,
}

/// One host's routine traffic (overrides the defaults of its role).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrafficFile {
    pub(crate) host: S<String>,
    pub(crate) poll_s: Option<S<f64>>,
    pub(crate) session_every_s: Option<S<f64>>,
    pub(crate) plcs: Option<Vec<S<String>>>,
    #[serde(default)]
    pub(crate) off: bool,
}

/// The exam section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExamFile {
    pub(crate) tasks: Option<S<Vec<String>>>,
    pub(crate) pass_overall: Option<S<f64>>,
    pub(crate) pass_per_area: Option<S<f64>>,
    pub(crate) time_limit_s: Option<S<f64>>,
    pub(crate) valid_years: Option<S<f64>>,
}

/// The rubric; every part has a default (`Rubric::defaults`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScoringFile {
    #[serde(default)]
    pub(crate) points: PointsFile,
    pub(crate) detect_window_s: Option<S<f64>>,
    pub(crate) detect_target_s: Option<S<f64>>,
    pub(crate) contain_target_s: Option<S<f64>>,
    pub(crate) recover_target_s: Option<S<f64>>,
    pub(crate) downtime_budget_s: Option<S<f64>>,
    #[serde(default)]
    pub(crate) response_plan: Vec<PlanStepFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PointsFile {
    pub(crate) detection: Option<S<f64>>,
    pub(crate) time_to_detect: Option<S<f64>>,
    pub(crate) time_to_contain: Option<S<f64>>,
    pub(crate) time_to_recover: Option<S<f64>>,
    pub(crate) trip_avoided: Option<S<f64>>,
    pub(crate) damage_avoided: Option<S<f64>>,
    pub(crate) uptime: Option<S<f64>>,
    pub(crate) report_quality: Option<S<f64>>,
    pub(crate) response_plan: Option<S<f64>>,
    pub(crate) false_positive: Option<S<f64>>,
    pub(crate) destructive: Option<S<f64>>,
    pub(crate) flag: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanStepFile {
    pub(crate) id: S<String>,
    pub(crate) name: TextFile,
    pub(crate) done_by: Vec<S<String>>,
    #[serde(default)]
    pub(crate) all: bool,
    pub(crate) within_s: S<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HintFile {
    pub(crate) id: S<String>,
    pub(crate) cost: S<f64>,
    pub(crate) text: TextFile,
}

/// Benign traffic: what operators and engineers do anyway.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackgroundFile {
    pub(crate) at_s: S<f64>,
    pub(crate) from: S<String>,
    pub(crate) note: Option<TextFile>,
    pub(crate) action: AttackActionFile,
    /// Repeats this often (a shift schedule), from `at_s` on.
    pub(crate) every_s: Option<S<f64>>,
    /// Last second a repeat may fall on (default: none, it repeats for the whole run).
    pub(crate) until_s: Option<S<f64>>,
    /// The maintenance window (its id) this work is done under.
    pub(crate) window: Option<S<String>>,
}

/// A scheduled maintenance window: published to the teams like a permit to work.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MaintenanceFile {
    pub(crate) id: S<String>,
    pub(crate) host: S<String>,
    pub(crate) from_s: S<f64>,
    pub(crate) to_s: S<f64>,
    #[serde(default)]
    pub(crate) plcs: Vec<S<String>>,
    pub(crate) note: Option<TextFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttackerFile {
    pub(crate) foothold: S<String>,
    pub(crate) address: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepFile {
    pub(crate) id: S<String>,
    pub(crate) name: TextFile,
    pub(crate) techniques: Vec<S<String>>,
    #[serde(default)]
    pub(crate) when: WhenFile,
    pub(crate) action: AttackActionFile,
    pub(crate) repeat: Option<RepeatFile>,
    pub(crate) expire_s: Option<S<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WhenFile {
    pub(crate) at_s: Option<S<f64>>,
    pub(crate) after: Option<S<String>>,
    pub(crate) outcome: Option<S<String>>,
    pub(crate) condition: Option<ConditionFile>,
    pub(crate) defender: Option<DefenderFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConditionFile {
    pub(crate) var: Option<S<String>>,
    pub(crate) sensor: Option<S<String>>,
    pub(crate) above: Option<S<f64>>,
    pub(crate) below: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DefenderFile {
    pub(crate) action: S<String>,
    pub(crate) by_s: S<f64>,
    #[serde(default)]
    pub(crate) done: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepeatFile {
    pub(crate) every_s: S<f64>,
    pub(crate) until: S<String>,
    pub(crate) max: S<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum AttackActionFile {
    Scan {
        #[serde(default)]
        plcs: Vec<S<String>>,
    },
    Read {
        plc: S<String>,
        table: S<String>,
        addr: S<i64>,
        count: S<i64>,
    },
    WriteRegisters {
        plc: S<String>,
        addr: S<i64>,
        values: Vec<S<i64>>,
    },
    WriteCoils {
        plc: S<String>,
        addr: S<i64>,
        values: Vec<bool>,
    },
    SetMode {
        plc: S<String>,
        mode: S<String>,
    },
    Restart {
        plc: S<String>,
    },
    Download {
        plc: S<String>,
        #[serde(default)]
        disable: Vec<S<String>>,
        #[serde(default)]
        add: Vec<ImplantFile>,
    },
    Spoof {
        plc: S<String>,
        addr: S<i64>,
        value: Option<S<i64>>,
    },
    ListenOnly {
        plc: S<String>,
    },
    Iec104Interrogation {
        plc: S<String>,
    },
    Iec104Command {
        plc: S<String>,
        ioa: S<i64>,
        #[serde(rename = "type")]
        type_id: S<String>,
        value: S<f64>,
        #[serde(default)]
        select: bool,
    },
    #[serde(rename = "opcua_write")]
    OpcUaWrite {
        plc: S<String>,
        node: S<String>,
        value: S<f64>,
    },
    ModifyFirmware {
        plc: S<String>,
    },
    WipeHost {
        host: S<String>,
    },
    DenyView {
        host: S<String>,
        #[serde(default)]
        blank: bool,
    },
    ForgeSensor {
        sensor: S<String>,
        value: Option<S<f64>>,
        replay_s: Option<S<f64>>,
    },
    Flood {
        plc: S<String>,
        seconds: S<f64>,
    },
    Pivot {
        host: S<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImplantFile {
    pub(crate) actuator: S<String>,
    pub(crate) value: S<f64>,
    pub(crate) after_s: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetaFile {
    pub(crate) industry: S<String>,
    pub(crate) level: S<i64>,
    pub(crate) title: TextFile,
    pub(crate) brief: TextFile,
    #[serde(default)]
    pub(crate) references: Vec<String>,
    pub(crate) time_compression: Option<S<f64>>,
}

/// Text in both UI languages. A plain string means the same text in both.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub(crate) enum TextFile {
    Same(String),
    Both { en: Option<String>, zh: Option<String> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SimFile {
    #[serde(default = "default_tick_hz")]
    pub(crate) tick_hz: S<i64>,
    #[serde(default = "default_sample_interval_s")]
    pub(crate) sample_interval_s: S<f64>,
    #[serde(default = "default_duration_s")]
    pub(crate) duration_s: S<f64>,
}

impl Default for SimFile {
    fn default() -> Self {
        SimFile {
            tick_hz: default_tick_hz(),
            sample_interval_s: default_sample_interval_s(),
            duration_s: default_duration_s(),
        }
    }
}

fn unlocated<T>(value: T) -> S<T> {
    Spanned { value, referenced: serde_saphyr::Location::UNKNOWN, defined: serde_saphyr::Location::UNKNOWN }
}
fn default_tick_hz() -> S<i64> {
    unlocated(10)
}
fn default_sample_interval_s() -> S<f64> {
    unlocated(10.0)
}
fn default_duration_s() -> S<f64> {
    unlocated(3600.0)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NetworkFile {
    pub(crate) zones: Vec<ZoneFile>,
    #[serde(default)]
    pub(crate) conduits: Vec<ConduitFile>,
    pub(crate) hosts: Vec<HostFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ZoneFile {
    pub(crate) id: S<String>,
    pub(crate) name: TextFile,
    pub(crate) level: S<String>,
    pub(crate) security_level: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConduitFile {
    pub(crate) id: S<String>,
    pub(crate) from: S<String>,
    pub(crate) to: S<String>,
    #[serde(default)]
    pub(crate) allow_sources: Vec<S<String>>,
    #[serde(default)]
    pub(crate) allow_functions: Vec<S<i64>>,
    #[serde(default)]
    pub(crate) write_ranges: Vec<WriteRangeFile>,
    #[serde(default)]
    pub(crate) rules: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleFile {
    pub(crate) source: Option<S<String>>,
    #[serde(default)]
    pub(crate) functions: Vec<S<i64>>,
    pub(crate) plc: Option<S<String>>,
    pub(crate) start: Option<S<i64>>,
    pub(crate) end: Option<S<i64>>,
    pub(crate) min: Option<S<i64>>,
    pub(crate) max: Option<S<i64>>,
    #[serde(default)]
    pub(crate) iec104: Vec<S<String>>,
    #[serde(default)]
    pub(crate) opcua: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WriteRangeFile {
    pub(crate) plc: S<String>,
    pub(crate) start: S<i64>,
    pub(crate) end: S<i64>,
    pub(crate) min: Option<S<i64>>,
    pub(crate) max: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostFile {
    pub(crate) id: S<String>,
    pub(crate) name: TextFile,
    pub(crate) role: S<String>,
    pub(crate) zone: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlcFile {
    pub(crate) id: S<String>,
    pub(crate) name: TextFile,
    #[serde(default = "default_role")]
    pub(crate) role: S<String>,
    pub(crate) zone: S<String>,
    #[serde(default = "default_unit_id")]
    pub(crate) unit_id: S<i64>,
    pub(crate) device: DeviceFile,
    #[serde(default = "default_scan_ms")]
    pub(crate) scan_ms: S<i64>,
    #[serde(default)]
    pub(crate) range_checks: bool,
    pub(crate) word_order: Option<S<String>>,
    #[serde(default = "default_true")]
    pub(crate) program_backup: bool,
    #[serde(default)]
    pub(crate) coils: Vec<CoilFile>,
    #[serde(default)]
    pub(crate) discrete_inputs: Vec<DiscreteFile>,
    #[serde(default)]
    pub(crate) input_registers: Vec<InputRegFile>,
    #[serde(default)]
    pub(crate) holding_registers: Vec<HoldingFile>,
    #[serde(default)]
    pub(crate) reserved: Vec<ReservedFile>,
    #[serde(default)]
    pub(crate) logic: Vec<LogicFile>,
    pub(crate) iec104: Option<Iec104File>,
    pub(crate) opcua: Option<OpcUaFile>,
}

fn default_role() -> S<String> {
    unlocated("process".to_string())
}
pub(super) fn default_unit_id() -> S<i64> {
    unlocated(1)
}
fn default_scan_ms() -> S<i64> {
    unlocated(100)
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeviceFile {
    pub(crate) vendor: String,
    pub(crate) product: String,
    pub(crate) revision: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CoilFile {
    pub(crate) id: S<String>,
    pub(crate) addr: S<i64>,
    pub(crate) name: TextFile,
    #[serde(default)]
    pub(crate) initial: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiscreteFile {
    pub(crate) id: S<String>,
    pub(crate) addr: S<i64>,
    pub(crate) name: TextFile,
    pub(crate) switch: Option<S<String>>,
    pub(crate) running: Option<S<String>>,
    pub(crate) tripped: Option<S<String>>,
    pub(crate) alarm: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InputRegFile {
    pub(crate) id: S<String>,
    pub(crate) addr: S<i64>,
    pub(crate) name: TextFile,
    pub(crate) sensor: Option<S<String>>,
    pub(crate) actuator: Option<S<String>>,
    pub(crate) scale: Option<S<f64>>,
    #[serde(default)]
    pub(crate) offset: f64,
    pub(crate) format: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HoldingFile {
    pub(crate) id: S<String>,
    pub(crate) addr: S<i64>,
    pub(crate) name: TextFile,
    #[serde(default)]
    pub(crate) unit: String,
    pub(crate) initial: S<f64>,
    pub(crate) scale: Option<S<f64>>,
    #[serde(default)]
    pub(crate) offset: f64,
    pub(crate) range: Option<S<[f64; 2]>>,
    pub(crate) format: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReservedFile {
    pub(crate) table: S<String>,
    pub(crate) start: S<i64>,
    pub(crate) count: S<i64>,
    pub(crate) note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultFile {
    pub(crate) id: S<String>,
    pub(crate) at_s: S<f64>,
    pub(crate) duration_s: Option<S<f64>>,
    pub(crate) note: Option<TextFile>,
    pub(crate) effect: FaultEffectFile,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum FaultEffectFile {
    SensorFreeze { sensor: S<String> },
    SensorDrift { sensor: S<String>, per_h: S<f64> },
    SensorNoise { sensor: S<String>, sd: S<f64> },
    SensorBias { sensor: S<String>, bias: S<f64> },
    ActuatorStuck { actuator: S<String> },
}
