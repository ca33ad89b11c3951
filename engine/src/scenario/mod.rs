//! Scenarios: the file format (`file`), its one validation step (`validate`), and the checked
//! `Scenario` the simulation is built from, with the parts judging reads (`rubric`, `exam`)
//! and a trainee's `variant`.
//!
//! A `Scenario` is immutable once validated and shared as `Arc<Scenario>`. Everything in it
//! refers to other parts by dense index (`VarIdx`, `PlcIdx`, ...), never by name, so the
//! simulation never looks a name up on its hot path and never iterates a hash map.

pub mod exam;
mod file;
pub mod rubric;
pub(crate) mod validate;
pub mod variant;

use std::fmt;

use serde::Serialize;

/// The longest a run may last, in simulated seconds (7 days): scenario files, drill files
/// and command-line durations alike.
pub const MAX_DURATION_S: f64 = 7.0 * 86_400.0;

pub use exam::{ExamSpec, PassRule};
pub use rubric::{Hint, PlanStep, Points, Rubric};
pub use validate::{ScenarioError, ScenarioErrors};

/// Text in both UI languages.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Text {
    /// English.
    pub en: String,
    /// Simplified Chinese.
    pub zh: String,
}

impl Text {
    /// Text from its English and Chinese: the one way every crate builds bilingual text.
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Text {
        Text { en: en.into(), zh: zh.into() }
    }
}

/// The key industries of the Xinjiang drill programme, plus `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Industry {
    /// Petrochemical (石化).
    Petrochemical,
    /// Power (电力).
    Power,
    /// Coal and coal chemical (煤炭及煤化工).
    CoalChemical,
    /// Steel (钢铁).
    Steel,
    /// Nonferrous metals (有色金属).
    Nonferrous,
    /// Equipment manufacturing (装备制造).
    EquipmentManufacturing,
    /// New materials (新材料).
    NewMaterials,
    /// Any other industry.
    Other,
}

impl Industry {
    /// Every industry with its file spelling.
    pub const ALL: [(Industry, &'static str); 8] = [
        (Industry::Petrochemical, "petrochemical"),
        (Industry::Power, "power"),
        (Industry::CoalChemical, "coal_chemical"),
        (Industry::Steel, "steel"),
        (Industry::Nonferrous, "nonferrous"),
        (Industry::EquipmentManufacturing, "equipment_manufacturing"),
        (Industry::NewMaterials, "new_materials"),
        (Industry::Other, "other"),
    ];

    /// The spelling used in scenario files.
    pub fn as_str(self) -> &'static str {
        Industry::ALL.iter().find(|(i, _)| *i == self).map(|(_, s)| *s).unwrap_or("other")
    }
}

impl fmt::Display for Industry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Scenario metadata shown to instructors and trainees.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    /// The industry the plant belongs to.
    pub industry: Industry,
    /// The enterprise security level (1-3) the scenario targets.
    pub level: u8,
    /// Title.
    pub title: Text,
    /// Brief read to the teams.
    pub brief: Text,
    /// Where the plant's figures come from, and which are illustrative.
    pub references: Vec<String>,
}

macro_rules! index_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);
        impl $name {
            /// The index as `usize`, for slices.
            pub fn ix(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

index_type!(
    /// Index of a zone in `Scenario::zones`.
    ZoneIdx,
    /// Index of a host in `Scenario::hosts`.
    HostIdx,
    /// Index of a process variable in `Scenario::vars`.
    VarIdx,
    /// Index of an actuator in `Scenario::actuators`.
    ActuatorIdx,
    /// Index of a sensor in `Scenario::sensors`.
    SensorIdx,
    /// Index of a PLC in `Scenario::plcs`.
    PlcIdx,
    /// Index of a point within one PLC's table.
    PointIdx,
    /// Index of an interlock in `Scenario::interlocks` (all PLCs together).
    InterlockIdx,
    /// Index of an alarm block in `Scenario::alarms` (all PLCs together).
    AlarmIdx,
);

/// Where a zone sits in the Purdue/62443 layering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneLevel {
    /// Enterprise IT.
    Enterprise,
    /// The IT/OT demilitarised zone.
    Dmz,
    /// Supervisory control: HMI, engineering workstation, historian.
    Supervisory,
    /// Basic control: PLCs.
    Control,
    /// Safety instrumented systems.
    Safety,
}

/// A network zone (62443).
#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// Layer.
    pub level: ZoneLevel,
    /// Target security level SL-T (1-4), when set.
    pub security_level: Option<u8>,
}

/// A conduit: the one path between two zones, and its firewall policy.
#[derive(Debug, Clone, Serialize)]
pub struct Conduit {
    /// Id.
    pub id: String,
    /// Zone that opens connections.
    pub from: ZoneIdx,
    /// Zone that accepts them.
    pub to: ZoneIdx,
    /// What the conduit lets through.
    pub policy: FirewallPolicy,
}

/// A conduit's firewall policy. Empty lists mean "no restriction" of that kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FirewallPolicy {
    /// Hosts allowed to open connections through the conduit.
    pub allow_sources: Vec<HostIdx>,
    /// Hosts refused whatever `allow_sources` says (a defender's block).
    pub deny_sources: Vec<HostIdx>,
    /// Modbus function codes allowed through.
    pub allow_functions: Vec<u8>,
    /// Address (and value) windows that writes must fall in.
    pub write_ranges: Vec<WriteRange>,
}

/// An address window for writes, optionally with a value window (a set-point range check at the
/// conduit, as an industrial firewall with deep packet inspection does it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteRange {
    /// PLC the window applies to.
    pub plc: PlcIdx,
    /// First address, inclusive.
    pub start: u16,
    /// Last address, inclusive.
    pub end: u16,
    /// Smallest raw value allowed.
    pub min: Option<u16>,
    /// Largest raw value allowed.
    pub max: Option<u16>,
}

/// What a host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostRole {
    /// Operator station.
    Hmi,
    /// Engineering workstation.
    Ews,
    /// Process historian.
    Historian,
    /// Office workstation.
    ItWorkstation,
    /// Any other server.
    Server,
}

/// A host of the simulated network.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// Role.
    pub role: HostRole,
    /// Zone it sits in.
    pub zone: ZoneIdx,
}

/// Something that drives a process variable: a variable or an actuator position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Signal {
    /// True value of a process variable.
    Var(VarIdx),
    /// Position of an actuator, 0..=1.
    Actuator(ActuatorIdx),
}

/// One term of a variable's rate of change: `gain` times the product of `of`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Term {
    /// Units of the variable per second (per unit of each factor).
    pub gain: f64,
    /// Factors; empty means the term is the constant `gain`.
    pub of: Vec<Signal>,
}

/// A process variable of the lumped-parameter model:
/// `dx/dt = sum(terms) + (toward - x) / tau_s`, clamped to `bounds`.
#[derive(Debug, Clone, Serialize)]
pub struct VarDef {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// Engineering unit.
    pub unit: String,
    /// Value at tick 0.
    pub initial: f64,
    /// Physical bounds the value cannot leave (an overflowing tank spills at 100 %).
    pub bounds: [f64; 2],
    /// Safe operating window; leaving it is a `limit_exceeded` event.
    pub safe: Option<[f64; 2]>,
    /// Equipment is damaged at or above this value.
    pub damage_above: Option<f64>,
    /// Equipment is damaged at or below this value.
    pub damage_below: Option<f64>,
    /// First-order relaxation `(tau_s, toward)`.
    pub relax: Option<(f64, f64)>,
    /// Driving terms.
    pub terms: Vec<Term>,
}

/// Binary devices (pumps, on/off valves) or analog ones (control valves, heaters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActuatorKind {
    /// Commanded open/closed or on/off; moves at `stroke_s` between 0 and 1.
    Binary,
    /// Commanded anywhere in 0..=1.
    Analog,
}

/// A final element: valve, pump, heater, breaker.
#[derive(Debug, Clone, Serialize)]
pub struct ActuatorDef {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// Binary or analog.
    pub kind: ActuatorKind,
    /// Seconds for a full stroke, 0 to 1.
    pub stroke_s: f64,
    /// Position and command at tick 0.
    pub initial: f64,
    /// Position commanded when the owning PLC stops.
    pub fail: f64,
}

/// What a sensor reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum SensorKind {
    /// A transmitter: the measured value, clamped to its range.
    Analog {
        /// Lowest value the transmitter reports.
        lo: f64,
        /// Highest value the transmitter reports.
        hi: f64,
    },
    /// A switch that closes at or above the threshold.
    SwitchAbove(f64),
    /// A switch that closes at or below the threshold.
    SwitchBelow(f64),
}

/// A field sensor measuring one variable.
#[derive(Debug, Clone, Serialize)]
pub struct SensorDef {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// The variable it measures.
    pub var: VarIdx,
    /// Standard deviation of the measurement noise.
    pub noise: f64,
    /// Drift, in units per hour.
    pub drift_per_h: f64,
    /// Transmitter or switch.
    pub kind: SensorKind,
}

/// A PLC's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlcRole {
    /// Basic process control.
    Process,
    /// Safety instrumented system.
    Safety,
}

/// Identification answered to Modbus FC 43/14.
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    /// Vendor name.
    pub vendor: String,
    /// Product code.
    pub product: String,
    /// Firmware revision.
    pub revision: String,
}

/// The four Modbus tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// Read/write bits.
    Coils,
    /// Read-only bits.
    DiscreteInputs,
    /// Read-only registers.
    InputRegisters,
    /// Read/write registers.
    HoldingRegisters,
}

impl Table {
    /// All tables, in address-map order.
    pub const ALL: [Table; 4] =
        [Table::Coils, Table::DiscreteInputs, Table::InputRegisters, Table::HoldingRegisters];

    /// The spelling used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Coils => "coils",
            Table::DiscreteInputs => "discrete_inputs",
            Table::InputRegisters => "input_registers",
            Table::HoldingRegisters => "holding_registers",
        }
    }
}

/// A coil: a bit the logic reads and anyone may write.
#[derive(Debug, Clone, Serialize)]
pub struct CoilDef {
    /// Id.
    pub id: String,
    /// Address.
    pub addr: u16,
    /// Display name.
    pub name: Text,
    /// Value at tick 0.
    pub initial: bool,
}

/// Where a discrete input's bit comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum DiscreteSource {
    /// A switch sensor.
    Switch(SensorIdx),
    /// An actuator's position above one half.
    Running(ActuatorIdx),
    /// An interlock's tripped state.
    Tripped(InterlockIdx),
    /// Any level of an alarm block active.
    Alarm(AlarmIdx),
}

/// A discrete input.
#[derive(Debug, Clone, Serialize)]
pub struct DiscreteDef {
    /// Id.
    pub id: String,
    /// Address.
    pub addr: u16,
    /// Display name.
    pub name: Text,
    /// Source of the bit.
    pub source: DiscreteSource,
}

/// Where an input register's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum RegisterSource {
    /// A sensor's measured value.
    Sensor(SensorIdx),
    /// An actuator's position feedback.
    Actuator(ActuatorIdx),
}

/// Linear scaling between engineering values and raw 16-bit registers:
/// `raw = round((value - offset) * scale)`, saturated to `0..=65535`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scaling {
    /// Raw counts per engineering unit.
    pub scale: f64,
    /// Engineering value of raw 0.
    pub offset: f64,
}

impl Scaling {
    /// Engineering value to raw register, saturating.
    pub fn to_raw(self, value: f64) -> u16 {
        let raw = ((value - self.offset) * self.scale).round();
        if raw.is_nan() {
            return 0;
        }
        raw.clamp(0.0, f64::from(u16::MAX)) as u16
    }

    /// Raw register to engineering value.
    pub fn to_value(self, raw: u16) -> f64 {
        f64::from(raw) / self.scale + self.offset
    }
}

/// An input register.
#[derive(Debug, Clone, Serialize)]
pub struct InputRegDef {
    /// Id.
    pub id: String,
    /// Address.
    pub addr: u16,
    /// Display name.
    pub name: Text,
    /// Source.
    pub source: RegisterSource,
    /// Scaling to raw.
    pub scaling: Scaling,
}

/// A holding register: a set point, limit, gain or manual output.
#[derive(Debug, Clone, Serialize)]
pub struct HoldingDef {
    /// Id.
    pub id: String,
    /// Address.
    pub addr: u16,
    /// Display name.
    pub name: Text,
    /// Engineering unit.
    pub unit: String,
    /// Raw value at tick 0.
    pub initial_raw: u16,
    /// Scaling to raw.
    pub scaling: Scaling,
    /// Declared range in engineering units: writes outside it are rejected when the PLC has
    /// range checks on (M0818).
    pub range: Option<[f64; 2]>,
}

/// A block of addresses that is mapped (readable, writable where the table is) but drives
/// nothing: scratch memory, spare words, vendor areas.
#[derive(Debug, Clone, Serialize)]
pub struct Reserved {
    /// Table.
    pub table: Table,
    /// First address.
    pub start: u16,
    /// Number of addresses (up to 65536).
    pub count: u32,
    /// What the block is for.
    pub note: Option<String>,
}

/// A logic parameter: a constant or a holding register of the same PLC.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Param {
    /// Fixed in the program.
    Const(f64),
    /// Read from a holding register every scan (so Modbus writes change it).
    Holding(PointIdx),
}

/// Direction of an on/off loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnOffAction {
    /// Output on below `low`, off above `high` (fill a tank).
    Fill,
    /// Output on above `high`, off below `low` (drain a tank, cool a vessel).
    Drain,
}

/// One block of a PLC program, executed in order every scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Logic {
    /// Two-position control with hysteresis.
    OnOff {
        /// Id.
        id: String,
        /// Measured variable.
        pv: SensorIdx,
        /// Low threshold.
        low: Param,
        /// High threshold.
        high: Param,
        /// Actuator driven.
        output: ActuatorIdx,
        /// Fill or drain.
        action: OnOffAction,
        /// Coil that selects manual mode.
        manual: Option<PointIdx>,
        /// Coil that commands the output in manual mode.
        manual_command: Option<PointIdx>,
    },
    /// Proportional-integral control, output 0..=1.
    Pi {
        /// Id.
        id: String,
        /// Measured variable.
        pv: SensorIdx,
        /// Set point.
        setpoint: Param,
        /// Proportional gain, output per unit of error.
        kp: Param,
        /// Integral gain, output per unit of error per second.
        ki: Param,
        /// Output at zero error.
        bias: f64,
        /// Actuator driven.
        output: ActuatorIdx,
        /// Reverse acting: output rises when the value is above the set point.
        reverse: bool,
        /// Coil that selects manual mode.
        manual: Option<PointIdx>,
        /// Output in manual mode.
        manual_output: Option<Param>,
    },
    /// An actuator follows a coil (an operator's start/stop command).
    Follow {
        /// Coil.
        coil: PointIdx,
        /// Actuator.
        output: ActuatorIdx,
    },
    /// Operator alarms on a measured value.
    Alarm(AlarmIdx),
    /// A latching safety trip.
    Interlock(InterlockIdx),
}

/// Alarm levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmLevel {
    /// Low-low.
    LoLo,
    /// Low.
    Lo,
    /// High.
    Hi,
    /// High-high.
    HiHi,
}

impl AlarmLevel {
    /// All levels.
    pub const ALL: [AlarmLevel; 4] = [AlarmLevel::LoLo, AlarmLevel::Lo, AlarmLevel::Hi, AlarmLevel::HiHi];
}

/// An alarm block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmDef {
    /// Id.
    pub id: String,
    /// PLC that evaluates it.
    pub plc: PlcIdx,
    /// Measured variable.
    pub pv: SensorIdx,
    /// Limits by level, in `AlarmLevel::ALL` order.
    pub limits: [Option<Param>; 4],
    /// Hysteresis before an alarm clears.
    pub deadband: f64,
}

/// A latching interlock: trips when its condition holds (unless bypassed), drives its actions
/// until reset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterlockDef {
    /// Id.
    pub id: String,
    /// PLC that evaluates it.
    pub plc: PlcIdx,
    /// Sensor watched: a transmitter compared with `above`/`below`, or a switch.
    pub pv: SensorIdx,
    /// Trip at or above.
    pub above: Option<Param>,
    /// Trip at or below.
    pub below: Option<Param>,
    /// Coil that bypasses the interlock while set.
    pub bypass: Option<PointIdx>,
    /// Coil that resets the latch (self-clearing).
    pub reset: Option<PointIdx>,
    /// Actuator positions forced while tripped.
    pub actions: Vec<(ActuatorIdx, f64)>,
}

/// A PLC.
#[derive(Debug, Clone, Serialize)]
pub struct PlcDef {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// Process control or safety.
    pub role: PlcRole,
    /// Zone it sits in.
    pub zone: ZoneIdx,
    /// Modbus unit id.
    pub unit_id: u8,
    /// Identification.
    pub device: Device,
    /// Scan period in ticks (at least 1).
    pub scan_ticks: u64,
    /// Whether writes outside a holding register's declared range are rejected.
    pub range_checks: bool,
    /// Whether a backup of the program exists.
    pub program_backup: bool,
    /// Coils.
    pub coils: Vec<CoilDef>,
    /// Discrete inputs.
    pub discrete_inputs: Vec<DiscreteDef>,
    /// Input registers.
    pub input_registers: Vec<InputRegDef>,
    /// Holding registers.
    pub holding_registers: Vec<HoldingDef>,
    /// Reserved blocks.
    pub reserved: Vec<Reserved>,
    /// The program.
    pub logic: Vec<Logic>,
    /// SHA-256 of the program, hex.
    pub program_hash: String,
}

impl PlcDef {
    /// One past the highest mapped address of a table (0 when the table is empty).
    pub fn table_len(&self, table: Table) -> usize {
        let points = match table {
            Table::Coils => self.coils.iter().map(|p| p.addr).max(),
            Table::DiscreteInputs => self.discrete_inputs.iter().map(|p| p.addr).max(),
            Table::InputRegisters => self.input_registers.iter().map(|p| p.addr).max(),
            Table::HoldingRegisters => self.holding_registers.iter().map(|p| p.addr).max(),
        };
        let points = points.map_or(0, |a| usize::from(a) + 1);
        let reserved = self
            .reserved
            .iter()
            .filter(|r| r.table == table)
            .map(|r| usize::from(r.start) + r.count as usize)
            .max()
            .unwrap_or(0);
        points.max(reserved)
    }

    /// The holding register with this address.
    pub fn holding_at(&self, addr: u16) -> Option<(PointIdx, &HoldingDef)> {
        let i = self.holding_registers.iter().position(|p| p.addr == addr)?;
        Some((PointIdx(i as u32), &self.holding_registers[i]))
    }
}

/// What a fault does while active.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum FaultEffect {
    /// The sensor keeps reporting its last value.
    SensorFreeze {
        /// Sensor.
        sensor: SensorIdx,
    },
    /// The sensor drifts.
    SensorDrift {
        /// Sensor.
        sensor: SensorIdx,
        /// Units per hour.
        per_h: f64,
    },
    /// Extra noise.
    SensorNoise {
        /// Sensor.
        sensor: SensorIdx,
        /// Standard deviation.
        sd: f64,
    },
    /// A constant offset.
    SensorBias {
        /// Sensor.
        sensor: SensorIdx,
        /// Offset.
        bias: f64,
    },
    /// The actuator stays where it is, whatever it is commanded.
    ActuatorStuck {
        /// Actuator.
        actuator: ActuatorIdx,
    },
}

/// A scheduled physical fault or distractor.
#[derive(Debug, Clone, Serialize)]
pub struct FaultDef {
    /// Id.
    pub id: String,
    /// Tick it starts.
    pub start_tick: u64,
    /// Tick it ends, if it does.
    pub end_tick: Option<u64>,
    /// What an instructor reads about it.
    pub note: Option<Text>,
    /// Effect.
    pub effect: FaultEffect,
}

/// A validated scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Id.
    pub id: String,
    /// SHA-256 of the source text, hex.
    pub source_hash: String,
    /// Metadata.
    pub meta: Meta,
    /// Ticks per simulated second.
    pub tick_hz: u32,
    /// Ticks between `sample` events.
    pub sample_ticks: u64,
    /// Default run length in ticks.
    pub duration_ticks: u64,
    /// Zones.
    pub zones: Vec<Zone>,
    /// Conduits.
    pub conduits: Vec<Conduit>,
    /// Hosts.
    pub hosts: Vec<Host>,
    /// Process variables.
    pub vars: Vec<VarDef>,
    /// Actuators.
    pub actuators: Vec<ActuatorDef>,
    /// Sensors.
    pub sensors: Vec<SensorDef>,
    /// PLCs.
    pub plcs: Vec<PlcDef>,
    /// Alarm blocks of every PLC.
    pub alarms: Vec<AlarmDef>,
    /// Interlocks of every PLC.
    pub interlocks: Vec<InterlockDef>,
    /// Scheduled faults.
    pub faults: Vec<FaultDef>,
    /// What the teams' network monitoring sees.
    pub monitoring: crate::attack::Monitoring,
    /// The attack, if the scenario has one.
    pub attack: Option<crate::attack::AttackPlan>,
    /// Benign background traffic, by tick (operators and engineers at work).
    pub background: Vec<Background>,
    /// How teams are scored.
    pub scoring: Rubric,
    /// Hints teams may take.
    pub hints: Vec<Hint>,
    /// The exam section: tasks, pass rule, time limit.
    pub exam: ExamSpec,
}

/// One piece of benign traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Background {
    /// Tick it happens at.
    pub tick: u64,
    /// The request, from the host doing it.
    pub input: crate::input::SimInput,
    /// What it is, for instructors.
    pub note: Option<Text>,
}

impl Scenario {
    /// Parses and validates a scenario. `file` names the source in error messages.
    pub fn from_yaml(file: &str, source: &str) -> Result<Scenario, ScenarioErrors> {
        validate::from_yaml(file, source)
    }

    /// A scenario file's bytes as text: YAML is UTF-8, and a file that is not is located at
    /// its first bad byte (`FILE:LINE:COL`, the column counted in characters).
    pub fn text(file: &str, bytes: &[u8]) -> Result<String, ScenarioErrors> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => {
                let good = std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid up to here");
                let line = good.matches('\n').count() as u64 + 1;
                let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
                let byte = bytes[e.valid_up_to()];
                Err(ScenarioErrors(vec![ScenarioError {
                    file: file.to_string(),
                    line,
                    column,
                    message: format!("not UTF-8 text (byte 0x{byte:02X}): save the scenario as UTF-8"),
                }]))
            }
        }
    }

    /// The same plant with no attack: for practice, and for checking the plant alone.
    pub fn without_attack(&self) -> Scenario {
        Scenario { attack: None, ..self.clone() }
    }

    /// The PLC with this id.
    pub fn plc(&self, id: &str) -> Option<PlcIdx> {
        self.plcs.iter().position(|p| p.id == id).map(|i| PlcIdx(i as u32))
    }

    /// The host with this id.
    pub fn host(&self, id: &str) -> Option<HostIdx> {
        self.hosts.iter().position(|h| h.id == id).map(|i| HostIdx(i as u32))
    }

    /// The sensor with this id.
    pub fn sensor(&self, id: &str) -> Option<SensorIdx> {
        self.sensors.iter().position(|s| s.id == id).map(|i| SensorIdx(i as u32))
    }

    /// The actuator with this id.
    pub fn actuator(&self, id: &str) -> Option<ActuatorIdx> {
        self.actuators.iter().position(|a| a.id == id).map(|i| ActuatorIdx(i as u32))
    }

    /// The variable with this id.
    pub fn var(&self, id: &str) -> Option<VarIdx> {
        self.vars.iter().position(|v| v.id == id).map(|i| VarIdx(i as u32))
    }

    /// Simulated seconds to ticks, rounded to the nearest tick.
    pub fn ticks(&self, seconds: f64) -> u64 {
        (seconds * f64::from(self.tick_hz)).round().max(0.0) as u64
    }
}
