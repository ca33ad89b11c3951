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

/// Linear scaling between engineering values and raw register numbers:
/// `raw = (value - offset) * scale` (rounded and saturated by the point's `Codec`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scaling {
    /// Raw counts per engineering unit.
    pub scale: f64,
    /// Engineering value of raw 0.
    pub offset: f64,
}

/// How a register point's value is laid out in 16-bit words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One word, unsigned.
    Uint16,
    /// One word, two's complement.
    Int16,
    /// Two words, unsigned.
    Uint32,
    /// Two words, two's complement.
    Int32,
    /// Two words, IEEE 754 single precision.
    Float32,
}

impl Format {
    /// Words a value takes.
    pub fn words(self) -> usize {
        match self {
            Format::Uint16 | Format::Int16 => 1,
            Format::Uint32 | Format::Int32 | Format::Float32 => 2,
        }
    }

    /// Every format with its spelling in scenario files.
    pub const ALL: [(Format, &'static str); 5] = [
        (Format::Uint16, "uint16"),
        (Format::Int16, "int16"),
        (Format::Uint32, "uint32"),
        (Format::Int32, "int32"),
        (Format::Float32, "float32"),
    ];
}

/// Order of the two words of a 32-bit value, per device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WordOrder {
    /// High word at the lower address (Modicon convention, "big endian").
    HighFirst,
    /// Low word at the lower address (many Siemens and Schneider gateways, "word swap").
    LowFirst,
}

/// Engineering value to register words and back: scaling, format, word order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Codec {
    /// Linear scaling to the raw number.
    pub scaling: Scaling,
    /// Layout of the raw number.
    pub format: Format,
    /// Order of two words.
    pub order: WordOrder,
}

impl Codec {
    /// A plain 16-bit unsigned codec (the Modbus default).
    pub fn uint16(scaling: Scaling) -> Codec {
        Codec { scaling, format: Format::Uint16, order: WordOrder::HighFirst }
    }

    /// Words taken.
    pub fn words(self) -> usize {
        self.format.words()
    }

    /// The raw number `value` is stored as, saturated to the format (`None`: not a number).
    fn raw(self, value: f64) -> Option<f64> {
        let x = (value - self.scaling.offset) * self.scaling.scale;
        if x.is_nan() {
            return None;
        }
        Some(match self.format {
            Format::Uint16 => x.round().clamp(0.0, f64::from(u16::MAX)),
            Format::Int16 => x.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)),
            Format::Uint32 => x.round().clamp(0.0, f64::from(u32::MAX)),
            Format::Int32 => x.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)),
            Format::Float32 => x,
        })
    }

    /// Whether `value` fits the format without saturating.
    pub fn fits(self, value: f64) -> bool {
        let x = (value - self.scaling.offset) * self.scaling.scale;
        match self.format {
            Format::Float32 => x.is_finite() && x.abs() <= f64::from(f32::MAX),
            _ => self.raw(value).is_some_and(|r| (r - x.round()).abs() < 0.5),
        }
    }

    /// Engineering value to words (the second unused for a 16-bit format), saturating.
    pub fn encode(self, value: f64) -> [u16; 2] {
        let Some(raw) = self.raw(value) else { return [0, 0] };
        let bits: u32 = match self.format {
            Format::Uint16 => return [raw as u16, 0],
            Format::Int16 => return [(raw as i16) as u16, 0],
            Format::Uint32 => raw as u32,
            Format::Int32 => (raw as i32) as u32,
            Format::Float32 => (raw as f32).to_bits(),
        };
        let (hi, lo) = ((bits >> 16) as u16, bits as u16);
        match self.order {
            WordOrder::HighFirst => [hi, lo],
            WordOrder::LowFirst => [lo, hi],
        }
    }

    /// Words to the engineering value (`words` holds at least `self.words()`).
    pub fn decode(self, words: &[u16]) -> f64 {
        let joined = || {
            let (a, b) = (u32::from(words[0]), u32::from(words[1]));
            match self.order {
                WordOrder::HighFirst => (a << 16) | b,
                WordOrder::LowFirst => (b << 16) | a,
            }
        };
        let raw = match self.format {
            Format::Uint16 => f64::from(words[0]),
            Format::Int16 => f64::from(words[0] as i16),
            Format::Uint32 => f64::from(joined()),
            Format::Int32 => f64::from(joined() as i32),
            Format::Float32 => f64::from(f32::from_bits(joined())),
        };
        raw / self.scaling.scale + self.scaling.offset
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
    /// Scaling, format and word order.
    pub codec: Codec,
}

impl InputRegDef {
    /// Stores `value` in its words of the input table.
    pub fn store(&self, table: &mut [u16], value: f64) {
        let words = self.codec.encode(value);
        let a = usize::from(self.addr);
        table[a..a + self.codec.words()].copy_from_slice(&words[..self.codec.words()]);
    }

    /// Its value in the input table.
    pub fn value(&self, table: &[u16]) -> f64 {
        let a = usize::from(self.addr);
        self.codec.decode(&table[a..a + self.codec.words()])
    }
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
    /// Words at tick 0.
    pub initial_words: [u16; 2],
    /// Scaling, format and word order.
    pub codec: Codec,
    /// Declared range in engineering units: writes outside it are rejected when the PLC has
    /// range checks on (M0818).
    pub range: Option<[f64; 2]>,
}

impl HoldingDef {
    /// Addresses it takes, from `addr`.
    pub fn span(&self) -> std::ops::Range<usize> {
        usize::from(self.addr)..usize::from(self.addr) + self.codec.words()
    }

    /// Its value in the holding table.
    pub fn value(&self, table: &[u16]) -> f64 {
        self.codec.decode(&table[self.span()])
    }

    /// Its commissioned value.
    pub fn initial(&self) -> f64 {
        self.codec.decode(&self.initial_words)
    }

    /// Puts its commissioned words back into the holding table.
    pub fn restore(&self, table: &mut [u16]) {
        let span = self.span();
        let n = span.len();
        table[span].copy_from_slice(&self.initial_words[..n]);
    }

    /// Its value once `values` are written from `addr`, the words not written taken from
    /// `current` (or from its commissioned value when there is no memory to read); `None`
    /// when the write does not touch it.
    pub fn after_write(&self, addr: u16, values: &[u16], current: Option<&[u16]>) -> Option<f64> {
        let span = self.span();
        let (w0, w1) = (usize::from(addr), usize::from(addr) + values.len());
        if w1 <= span.start || w0 >= span.end {
            return None;
        }
        let mut words = [0u16; 2];
        for (k, a) in span.enumerate() {
            words[k] = if (w0..w1).contains(&a) {
                values[a - w0]
            } else {
                current.map_or(self.initial_words[k], |t| t[a])
            };
        }
        Some(self.codec.decode(&words))
    }
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
    /// What it holds, from its first address (registers): a contest team's hidden area, set
    /// by the program in the team's copy of the scenario, never by a scenario file. The team's
    /// endpoint answers reads of it, as it answers the team's identification; the plant's
    /// memory, the same in every team's simulation, has no such block (`PlcDef::preset`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<u16>,
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
        /// Split range: each actuator strokes 0 -> 1 while the output goes from `.1` to `.2`.
        split: Vec<(ActuatorIdx, f64, f64)>,
        /// Feed-forward: `gain * (measured - reference)` of a sensor added to the output.
        feedforward: Option<(SensorIdx, f64, f64)>,
    },
    /// An actuator follows a coil (an operator's start/stop command).
    Follow {
        /// Coil.
        coil: PointIdx,
        /// Actuator.
        output: ActuatorIdx,
        /// Conditions the output needs besides the coil (permissives).
        permit: Permit,
        /// Seconds the demand must hold before the output turns on (on-delay timer).
        on_delay_s: f64,
        /// Seconds the output stays on after the demand drops (off-delay timer).
        off_delay_s: f64,
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
    /// The least (`low: true`) or greatest of several PI outputs drives an actuator.
    Select {
        /// Id.
        id: String,
        /// Low select (least output wins) or high select.
        low: bool,
        /// Indices of the PI blocks selected among, in the program.
        from: Vec<u32>,
        /// Actuator driven.
        output: ActuatorIdx,
    },
    /// Operator alarms on a measured value.
    Alarm(AlarmIdx),
    /// A latching safety trip.
    Interlock(InterlockIdx),
}

/// Permissives: every condition of `all`, and at least one of `any` when it has any.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Permit {
    /// AND.
    pub all: Vec<Cond>,
    /// OR.
    pub any: Vec<Cond>,
}

/// One condition of a permissive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Cond {
    /// A transmitter at or above (`true`) or at or below (`false`) a value.
    Sensor(SensorIdx, bool, f64),
    /// A coil of the same PLC set.
    Coil(PointIdx),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
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
    /// Seconds a limit must stay passed before its alarm comes on (ISA-18.2 on-delay: a noisy
    /// reading at its limit does not chatter); 0: at once.
    pub on_delay_s: f64,
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
    /// Coils of its PLC set to these values when it trips (a latched ESD flag, a run command
    /// dropped so the equipment stays down after the reset).
    pub set_coils: Vec<(PointIdx, bool)>,
    /// PLCs whose outputs are de-energised while it is tripped (a hardwired run permissive).
    pub halt: Vec<PlcIdx>,
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
    /// Its IEC 60870-5-104 station, if it has one.
    pub iec104: Option<super::iec104::Iec104Def>,
    /// Its OPC UA server, if it has one.
    pub opcua: Option<super::opcua::OpcUaDef>,
}

impl PlcDef {
    /// The address of coil `c` (a point of this PLC's coil table).
    pub fn coil_addr(&self, c: PointIdx) -> usize {
        usize::from(self.coils[c.ix()].addr)
    }

    /// One past the highest mapped address of a table (0 when the table is empty).
    pub fn table_len(&self, table: Table) -> usize {
        // One past the last address of each point (a 32-bit one takes two).
        let points = match table {
            Table::Coils => self.coils.iter().map(|p| usize::from(p.addr) + 1).max(),
            Table::DiscreteInputs => self.discrete_inputs.iter().map(|p| usize::from(p.addr) + 1).max(),
            Table::InputRegisters => {
                self.input_registers.iter().map(|p| usize::from(p.addr) + p.codec.words()).max()
            }
            Table::HoldingRegisters => self.holding_registers.iter().map(|p| p.span().end).max(),
        };
        let points = points.unwrap_or(0);
        let reserved = self
            .reserved
            .iter()
            .filter(|r| r.table == table)
            .map(|r| usize::from(r.start) + r.count as usize)
            .max()
            .unwrap_or(0);
        points.max(reserved)
    }

    /// The values of `count` registers of `table` from `addr` when they all lie in one
    /// reserved block that holds values (a contest team's hidden area).
    pub fn preset(&self, table: Table, addr: u16, count: u16) -> Option<&[u16]> {
        self.reserved.iter().filter(|r| r.table == table && !r.values.is_empty()).find_map(|r| {
            let from = usize::from(addr.checked_sub(r.start)?);
            r.values.get(from..from + usize::from(count)).filter(|w| !w.is_empty())
        })
    }

    /// Whether its program drives actuator `actuator` (an output of one of its blocks).
    pub fn drives(&self, actuator: ActuatorIdx) -> bool {
        let a = actuator.ix();
        self.logic.iter().any(|b| match b {
            Logic::OnOff { output, .. } | Logic::Follow { output, .. } | Logic::Select { output, .. } => {
                output.ix() == a
            }
            Logic::Pi { output, split, .. } => {
                output.is_some_and(|o| o.ix() == a) || split.iter().any(|(o, ..)| o.ix() == a)
            }
            Logic::Sequence { steps, .. } => steps.iter().any(|st| st.set.iter().any(|(o, _)| o.ix() == a)),
            Logic::Alarm(_) | Logic::Interlock(_) => false,
        })
    }

    /// The holding register at this address (a 32-bit one at either of its words).
    pub fn holding_at(&self, addr: u16) -> Option<(PointIdx, &HoldingDef)> {
        let i = self.holding_registers.iter().position(|p| p.span().contains(&usize::from(addr)))?;
        Some((PointIdx(i as u32), &self.holding_registers[i]))
    }

    /// The holding registers a write of `values` from `addr` touches, with their values after
    /// it (see `HoldingDef::after_write`).
    pub fn written<'a>(
        &'a self,
        addr: u16,
        values: &'a [u16],
        current: Option<&'a [u16]>,
    ) -> impl Iterator<Item = (&'a HoldingDef, f64)> + 'a {
        self.holding_registers
            .iter()
            .filter_map(move |h| h.after_write(addr, values, current).map(|v| (h, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(format: Format, order: WordOrder, scale: f64) -> Codec {
        Codec { scaling: Scaling { scale, offset: 0.0 }, format, order }
    }

    #[test]
    fn every_format_round_trips_in_both_word_orders_and_saturates() {
        for order in [WordOrder::HighFirst, WordOrder::LowFirst] {
            for (format, value, scale) in [
                (Format::Uint16, 123.4, 10.0),
                (Format::Int16, -123.4, 10.0),
                (Format::Uint32, 4_000_000.5, 10.0),
                (Format::Int32, -4_000_000.5, 10.0),
                (Format::Float32, 3.25, 1.0),
            ] {
                let c = codec(format, order, scale);
                assert!(c.fits(value), "{format:?}");
                let back = c.decode(&c.encode(value));
                assert!((back - value).abs() <= 0.5 / scale, "{format:?} {order:?}: {value} -> {back}");
            }
        }
        let c = codec(Format::Uint32, WordOrder::HighFirst, 1.0);
        assert_eq!(c.encode(65_536.0), [1, 0]);
        assert_eq!(codec(Format::Uint32, WordOrder::LowFirst, 1.0).encode(65_536.0), [0, 1]);
        assert_eq!(codec(Format::Int16, WordOrder::HighFirst, 1.0).encode(-1e9), [0x8000, 0]);
        assert_eq!(codec(Format::Uint16, WordOrder::HighFirst, 1.0).encode(f64::NAN), [0, 0]);
        assert!(!codec(Format::Uint16, WordOrder::HighFirst, 1.0).fits(-1.0));
        assert!(!codec(Format::Int16, WordOrder::HighFirst, 1.0).fits(40_000.0));
        assert_eq!(
            codec(Format::Float32, WordOrder::HighFirst, 1.0).decode(&[0x4049, 0x0FDB]) as f32,
            std::f32::consts::PI
        );
    }
}
