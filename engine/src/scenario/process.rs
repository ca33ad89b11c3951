//! The physical part of a scenario: the lumped-parameter process model (variables and their
//! driving terms), its actuators and sensors, and the faults scheduled on them.

use serde::Serialize;

use super::{ActuatorIdx, SensorIdx, Text, VarIdx};

/// Something that drives a process variable: a variable or an actuator position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Signal {
    /// True value of a process variable.
    Var(VarIdx),
    /// Position of an actuator, 0..=1.
    Actuator(ActuatorIdx),
}

/// One term of a variable's rate of change: `gain` times the product of `of`, times `expr`
/// when there is one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Term {
    /// Units of the variable per second (per unit of each factor).
    pub gain: f64,
    /// Factors; empty means the term is the constant `gain`.
    pub of: Vec<Signal>,
    /// A formula of true values and actuator positions (`0.8 * sqrt(max(p_in - p, 0)) *
    /// valve_cv(xv1)`).
    pub expr: Option<super::expr::Expr>,
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
    /// How far back inside the safe window a value must come before `limit_cleared`
    /// (hysteresis: a value dithering on a limit logs one excursion, not a storm).
    pub limit_deadband: f64,
    /// Equipment is damaged at or above this value.
    pub damage_above: Option<f64>,
    /// Equipment is damaged at or below this value.
    pub damage_below: Option<f64>,
    /// Damage by time at condition: equipment is damaged once the value has spent this long
    /// beyond a threshold in all (cumulative, not necessarily at once).
    pub damage_dose: Option<Dose>,
    /// First-order relaxation `(tau_s, toward)`.
    pub relax: Option<(f64, f64)>,
    /// Driving terms.
    pub terms: Vec<Term>,
}

/// Time at condition that damages equipment (creep, fatigue, overheating of windings).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Dose {
    /// The condition: the value at or above this.
    pub above: Option<f64>,
    /// The condition: the value at or below this.
    pub below: Option<f64>,
    /// Seconds at condition, summed over every excursion, that damage the equipment.
    pub for_s: f64,
}

/// How a relief device acts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ReliefKind {
    /// A pressure safety valve: lifts at its set value, reseats at `reseat` (blowdown).
    Psv {
        /// Value at which it closes again.
        reseat: f64,
    },
    /// A rupture disc: bursts at its set value and stays open (until replaced).
    RuptureDisc,
    /// An overflow weir: passes `capacity` per unit of value above its crest (`set`).
    Weir,
}

/// A relief device on a process variable: it acts on the true value, needs no PLC and cannot
/// be written over the network (the last layer of protection).
#[derive(Debug, Clone, Serialize)]
pub struct ReliefDef {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: Text,
    /// Psv, rupture disc or weir.
    pub kind: ReliefKind,
    /// Variable it relieves.
    pub var: VarIdx,
    /// Set (lift, burst) value, or the weir's crest.
    pub set: f64,
    /// Rate of fall of the variable while open, units per second (a weir: per second per
    /// unit above the crest).
    pub capacity: f64,
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
    /// Position commanded when the owning PLC stops; `None` holds the last position (a
    /// latching device such as a circuit breaker).
    pub fail: Option<f64>,
}

/// Longest dead time a sensor may have: its delay line holds that many seconds of readings.
pub const MAX_DEAD_TIME_S: f64 = 300.0;
/// Longest sensor lag (time constant).
pub const MAX_LAG_S: f64 = 3600.0;

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
    /// First-order lag (time constant), seconds: an analyser, a thermowell.
    pub lag_s: f64,
    /// Dead time, seconds: transport to an analyser, a sample line.
    pub dead_time_s: f64,
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
