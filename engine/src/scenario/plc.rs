//! The PLCs of a scenario: their Modbus tables and points, the logic blocks of their
//! programs, and the alarm and interlock blocks those programs evaluate.

use serde::Serialize;

use super::{ActuatorIdx, AlarmIdx, InterlockIdx, PlcIdx, PointIdx, SensorIdx, Text, ZoneIdx};

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
    /// The output (0..=1) of the PI block at this index of the same PLC's program, scaled to
    /// `lo..=hi`: the set point of a cascade's inner loop.
    Cascade {
        /// Index of the outer PI block in the program.
        block: u32,
        /// Value at output 0.
        lo: f64,
        /// Value at output 1.
        hi: f64,
    },
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
        /// Actuator driven; none for the outer loop of a cascade, whose output only sets the
        /// inner loop's set point.
        output: Option<ActuatorIdx>,
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
    /// A sequence of steps (start-up, backwash, an ESD sequence): started by a pushbutton
    /// coil, each step sets outputs and moves on when its transition holds.
    Sequence {
        /// Id.
        id: String,
        /// Coil that starts it (self-clearing, like a pushbutton).
        start: PointIdx,
        /// Steps, in order.
        steps: Vec<SeqStep>,
    },
    /// Operator alarms on a measured value.
    Alarm(AlarmIdx),
    /// A latching safety trip.
    Interlock(InterlockIdx),
}

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeqStep {
    /// Id.
    pub id: String,
    /// Outputs set while the step is active: (actuator, position).
    pub set: Vec<(ActuatorIdx, f64)>,
    /// Least time in the step before it may move on, seconds.
    pub after_s: f64,
    /// Condition that moves it on: (sensor, `true` for at or above, value).
    pub until: Option<(SensorIdx, bool, f64)>,
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
    /// Further sensors voting with `pv` (redundant transmitters), same kind and limits.
    pub voters: Vec<SensorIdx>,
    /// Votes that trip it: M of the `1 + voters.len()` sensors (1oo1 without voters).
    pub need: usize,
    /// Seconds the trip condition must hold before the interlock trips.
    pub delay_s: f64,
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
