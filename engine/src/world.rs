//! The ECS data of a running plant: components, resources, and `spawn_plant`, which builds a
//! `World` from a checked `Scenario`.
//!
//! Entities stand for the things a trainee would point at (zones, conduits, hosts, PLCs,
//! sensors, actuators, process variables). Values several systems share every tick live in
//! dense resources indexed like the scenario (`Process` for true values, `FieldBus` for the
//! wiring between PLCs and field devices), so no system looks another entity up by name.

use std::sync::Arc;

use bevy_ecs::prelude::*;
use rand::rngs::ChaCha8Rng;

use crate::event::{EventKind, EventLog, RejectReason, Side};
use crate::input::{PlcMode, SimInput};
use crate::rng::SimRng;
use crate::scenario::*;

/// The scenario the world was built from.
#[derive(Resource, Debug, Clone)]
pub struct Plant(pub Arc<Scenario>);

/// Simulated time. The only clock the simulation knows.
#[derive(Resource, Debug, Clone, Copy)]
pub struct SimClock {
    /// Current tick: the one being computed while systems run.
    pub tick: u64,
    /// Ticks per simulated second.
    pub tick_hz: u32,
    /// Seconds per tick.
    pub dt_s: f64,
}

/// Inputs to apply at the start of the next tick, in arrival order.
#[derive(Resource, Debug, Default)]
pub struct InputQueue {
    /// Pending inputs.
    pub pending: Vec<SimInput>,
    /// The inputs the last tick applied, in order (kept until the next tick, for whoever
    /// records them).
    pub applied: Vec<SimInput>,
}

/// True values of the process variables, by `VarIdx`.
#[derive(Resource, Debug, Clone)]
pub struct Process {
    /// True values.
    pub values: Vec<f64>,
    /// Scratch for rates of change, reused every tick.
    pub(crate) rates: Vec<f64>,
    /// Whether each relief device is open, by its index in the scenario.
    pub relief_open: Vec<bool>,
}

/// The wiring between PLCs and the field, by index.
#[derive(Resource, Debug, Clone)]
pub struct FieldBus {
    /// Actuator positions, 0..=1, by `ActuatorIdx`.
    pub actuator_pos: Vec<f64>,
    /// Positions commanded by control logic.
    pub actuator_cmd: Vec<f64>,
    /// Positions forced by tripped interlocks; they win over `actuator_cmd`.
    pub forced: Vec<Option<f64>>,
    /// Measured values by `SensorIdx` (switches as 0 or 1).
    pub measured: Vec<f64>,
    /// Latched interlock trips, by `InterlockIdx`.
    pub tripped: Vec<bool>,
    /// Interlocks whose trip condition was met while they were bypassed (no trip), by
    /// `InterlockIdx`, until the bypass comes off: one `InterlockDefeated` event a bypass.
    pub defeated: Vec<bool>,
    /// Each interlock's bypass as its program last saw it (`InterlockBypass` on a change).
    pub bypassed: Vec<bool>,
    /// Active alarm levels by `AlarmIdx`, one bit per `AlarmLevel::ALL` entry.
    pub alarm_active: Vec<u8>,
    /// Acknowledged alarms by `AlarmIdx` (cleared when the alarm comes on again).
    pub alarm_acked: Vec<bool>,
    /// Tick each alarm last came on, by `AlarmIdx` (`None`: never). An alarm that cleared
    /// unacknowledged is "returned" (ISA-18.2) until someone acknowledges it.
    pub alarm_since: Vec<Option<u64>>,
    /// Seconds each alarm level's limit has been passed without a break, by `AlarmIdx` (the
    /// on-delay's timer), in `AlarmLevel::ALL` order.
    pub alarm_held_s: Vec<[f64; 4]>,
    /// PLCs whose outputs a tripped interlock de-energises, by `PlcIdx`.
    pub halted: Vec<bool>,
    /// Actuators switched to local at their field panels, with the position set by hand: the
    /// PLCs' commands do not reach them (tripped interlocks still do), by `ActuatorIdx`.
    pub local: Vec<Option<f64>>,
}

impl FieldBus {
    /// Recomputes `forced` from the tripped interlocks (later interlocks win on a shared
    /// actuator, in scenario order).
    pub(crate) fn refresh_forced(&mut self, scenario: &Scenario) {
        self.forced.iter_mut().for_each(|f| *f = None);
        self.halted.iter_mut().for_each(|h| *h = false);
        for (def, _) in scenario.interlocks.iter().zip(&self.tripped).filter(|(_, t)| **t) {
            for (a, v) in &def.actions {
                self.forced[a.ix()] = Some(*v);
            }
            for p in &def.halt {
                self.halted[p.ix()] = true;
            }
        }
    }
}

/// Field signals an attacker manipulates where they enter the PLCs, by `SensorIdx`.
#[derive(Resource, Debug, Clone, Default)]
pub struct Forgeries(pub Vec<Option<Forgery>>);

/// One manipulated field signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Forgery {
    /// Host doing it (isolating it ends the forgery).
    pub by: HostIdx,
    /// The PLC whose modified program does it, when it is done from inside one (restoring
    /// that program ends the forgery).
    pub via: Option<PlcIdx>,
    /// What the PLCs read instead of the sensor.
    pub kind: ForgeryKind,
}

/// What a forged signal reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ForgeryKind {
    /// A constant reading.
    Constant(f64),
    /// Genuine readings being recorded (`len` of them), then looped from `pos`.
    Replay {
        /// Readings recorded so far.
        recorded: Vec<f64>,
        /// How many to record.
        len: usize,
        /// Next one to play back.
        pos: usize,
    },
}

/// A zone entity.
#[derive(Component, Debug, Clone, Copy)]
pub struct ZoneNode {
    /// Index in the scenario.
    pub idx: ZoneIdx,
}

/// A conduit entity. Its current policy is in `NetState`, where the firewall reads it.
#[derive(Component, Debug, Clone, Copy)]
pub struct ConduitNode {
    /// Index in the scenario.
    pub idx: usize,
}

/// A host entity.
#[derive(Component, Debug, Clone, Copy)]
pub struct HostNode {
    /// Index in the scenario.
    pub idx: HostIdx,
}

/// A process variable entity: its alarm-free, physical limit state.
#[derive(Component, Debug, Clone)]
pub struct VarState {
    /// Index in the scenario.
    pub idx: VarIdx,
    /// Outside the safe window, and on which side.
    pub outside: Option<Side>,
    /// Damage already logged, high and low.
    pub damaged: [bool; 2],
    /// Seconds spent at the damage-dose condition, high and low.
    pub dose_s: [f64; 2],
    /// Damage by dose already logged.
    pub dosed: bool,
}

/// What active faults do to one sensor.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SensorFault {
    /// Reports its last value.
    pub frozen: bool,
    /// Extra drift, units per hour.
    pub drift_per_h: f64,
    /// Extra noise standard deviation.
    pub noise: f64,
    /// Constant offset.
    pub bias: f64,
}

/// A sensor entity.
#[derive(Component, Debug)]
pub struct SensorState {
    /// Index in the scenario.
    pub idx: SensorIdx,
    /// Its own noise stream, `sensor:<id>`.
    pub(crate) rng: ChaCha8Rng,
    /// Accumulated drift.
    pub drift: f64,
    /// Current fault effects.
    pub fault: SensorFault,
    /// The sensing element's own reading before noise and faults: the true value delayed and
    /// lagged as the sensor's dead time and lag say.
    pub element: f64,
    /// True values of the last dead-time seconds, oldest first (empty without dead time).
    pub(crate) delay: std::collections::VecDeque<f64>,
}

/// An actuator entity.
#[derive(Component, Debug, Clone, Copy)]
pub struct ActuatorState {
    /// Index in the scenario.
    pub idx: ActuatorIdx,
    /// Stuck by a fault: ignores commands.
    pub stuck: bool,
}

/// A PLC's memory, one dense array per Modbus table, indexed by address. `mapped` says which
/// addresses the PLC answers for.
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    /// Coils.
    pub coils: Vec<bool>,
    /// Discrete inputs.
    pub discrete: Vec<bool>,
    /// Input registers.
    pub input: Vec<u16>,
    /// Holding registers.
    pub holding: Vec<u16>,
    /// Which addresses of each table are mapped, in `Table::ALL` order. Fixed by the scenario,
    /// so shared: snapshots clone the tables every tick, not the map.
    pub mapped: Arc<[Vec<bool>; 4]>,
}

impl Memory {
    pub(crate) fn new(def: &PlcDef) -> Memory {
        let len = |t| def.table_len(t);
        let mut mapped = Table::ALL.map(|t| vec![false; len(t)]);
        let mut mark = |t: Table, addr: u16| mapped[t as usize][usize::from(addr)] = true;
        def.coils.iter().for_each(|p| mark(Table::Coils, p.addr));
        def.discrete_inputs.iter().for_each(|p| mark(Table::DiscreteInputs, p.addr));
        def.input_registers
            .iter()
            .for_each(|p| (0..p.codec.words() as u16).for_each(|k| mark(Table::InputRegisters, p.addr + k)));
        def.holding_registers
            .iter()
            .for_each(|p| p.span().for_each(|a| mark(Table::HoldingRegisters, a as u16)));
        for r in &def.reserved {
            let start = usize::from(r.start);
            mapped[r.table as usize][start..start + r.count as usize].iter_mut().for_each(|m| *m = true);
        }
        let mut m = Memory {
            coils: vec![false; len(Table::Coils)],
            discrete: vec![false; len(Table::DiscreteInputs)],
            input: vec![0; len(Table::InputRegisters)],
            holding: vec![0; len(Table::HoldingRegisters)],
            mapped: Arc::new(mapped),
        };
        def.coils.iter().for_each(|p| m.coils[usize::from(p.addr)] = p.initial);
        def.holding_registers.iter().for_each(|p| p.restore(&mut m.holding));
        m
    }

    /// Whether `count` addresses from `addr` of `table` are all mapped.
    pub fn is_mapped(&self, table: Table, addr: u16, count: usize) -> bool {
        let map = &self.mapped[table as usize];
        let start = usize::from(addr);
        count > 0
            && start
                .checked_add(count)
                .is_some_and(|end| end <= map.len() && map[start..end].iter().all(|m| *m))
    }

    /// The registers a read of `count` from `addr` answers: this memory's where they are
    /// mapped, else a preset area of the PLC's definition `def` (a contest team's hidden area,
    /// which its copy of the scenario holds and the plant every team shares does not); `None`
    /// where neither is (an illegal address). Its endpoint and a capture answer by this one rule.
    pub fn registers<'a>(
        &'a self,
        def: &'a PlcDef,
        table: Table,
        addr: u16,
        count: u16,
    ) -> Option<&'a [u16]> {
        let regs = match table {
            Table::InputRegisters => &self.input,
            Table::HoldingRegisters => &self.holding,
            Table::Coils | Table::DiscreteInputs => return None,
        };
        if self.is_mapped(table, addr, usize::from(count)) {
            let start = usize::from(addr);
            return Some(&regs[start..start + usize::from(count)]);
        }
        def.preset(table, addr, count)
    }
}

/// A PLC entity: mode, memory and the state its program keeps between scans.
#[derive(Component, Debug, Clone)]
pub struct PlcState {
    /// Index in the scenario.
    pub idx: PlcIdx,
    /// Operating mode.
    pub mode: PlcMode,
    /// Communications in listen-only mode (Modbus FC 8 sub-function 4): requests are not
    /// answered until a restart-communications request.
    pub listen_only: bool,
    /// Memory.
    pub memory: Memory,
    /// Hash of the program now loaded.
    pub program_hash: String,
    /// Logic blocks left out by a downloaded program, by block index.
    pub disabled: Vec<bool>,
    /// Set-point range checks on (M0818); starts as the scenario says.
    pub range_checks: bool,
    /// Input registers whose reported value is spoofed: (address, raw value reported, host
    /// doing it). Isolating that host ends its spoofing.
    pub spoofs: Vec<(u16, u16, HostIdx)>,
    /// Booting after a restart until this tick: outputs at fail positions, no answers.
    pub restart_until: Option<u64>,
    /// Communications saturated by a flood until this tick: no answers.
    pub flooded_until: Option<u64>,
    /// The host flooding it: cut off from the PLC (blocked, isolated), the flood ends.
    pub flooded_by: Option<crate::scenario::HostIdx>,
    /// On/off loop states, by logic block index.
    pub(crate) onoff_on: Vec<bool>,
    /// PI integrator states, by logic block index.
    pub(crate) pi_integral: Vec<f64>,
    /// Seconds a block's condition has held (an interlock's trip delay), by block index.
    pub(crate) held_s: Vec<f64>,
    /// Firmware corrupt: never boots until a spare module is fitted.
    pub bricked: bool,
    /// Active step of each sequence block, by block index.
    pub(crate) seq_step: Vec<Option<usize>>,
    /// Last output of each PI block (0..=1), by block index: a cascade's inner set point.
    pub(crate) pi_out: Vec<f64>,
    /// Blocks a download added: (actuator, position, first tick it acts).
    pub implants: Vec<(ActuatorIdx, f64, u64)>,
}

impl PlcState {
    /// Whether a flood saturates its communications at `tick`.
    pub fn flooded(&self, tick: u64) -> bool {
        self.flooded_until.is_some_and(|t| tick < t)
    }

    /// Puts the spoofed values into `input` (a copy of the input registers): what the PLC
    /// reports on the network.
    pub fn spoof_into(&self, input: &mut [u16]) {
        for (addr, raw, _) in &self.spoofs {
            input[usize::from(*addr)] = *raw;
        }
    }
}

/// Entities by scenario index, so systems that must visit things in a fixed order can.
#[derive(Resource, Debug, Clone, Default)]
pub struct Entities {
    /// PLC entities by `PlcIdx`.
    pub plcs: Vec<Entity>,
    /// Sensor entities by `SensorIdx`.
    pub sensors: Vec<Entity>,
    /// Actuator entities by `ActuatorIdx`.
    pub actuators: Vec<Entity>,
    /// Conduit entities in scenario order.
    pub conduits: Vec<Entity>,
}

/// A fault in effect.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveFault {
    /// Id.
    pub id: String,
    /// Effect.
    pub effect: FaultEffect,
    /// Tick it ends, if it does.
    pub end_tick: Option<u64>,
}

/// The outcome of each input of the last tick, in queue order.
#[derive(Resource, Debug, Clone, Default)]
pub struct Outcomes(pub Vec<Result<(), RejectReason>>);

/// Faults in effect, in the order they started.
#[derive(Resource, Debug, Clone, Default)]
pub struct ActiveFaults {
    /// The faults.
    pub list: Vec<ActiveFault>,
}

/// Builds the world for `scenario` and `seed` at tick 0, with the `sim_started` event logged.
pub fn spawn_plant(scenario: Arc<Scenario>, seed: u64) -> World {
    let mut world = World::new();
    let s = &*scenario;
    let rng = SimRng::new(seed);
    let mut entities = Entities::default();
    spawn_field(&mut world, s, &rng, &mut entities);
    let values: Vec<f64> = s.vars.iter().map(|v| v.initial).collect();
    world.insert_resource(field_bus(s, &values));
    spawn_plcs(&mut world, s, &mut entities);
    world.insert_resource(Process {
        rates: vec![0.0; values.len()],
        values,
        relief_open: vec![false; s.reliefs.len()],
    });
    world.insert_resource(Forgeries(vec![None; s.sensors.len()]));
    world.insert_resource(SimClock { tick: 0, tick_hz: s.tick_hz, dt_s: 1.0 / f64::from(s.tick_hz) });
    world.insert_resource(crate::network::NetState::new(s));
    world.insert_resource(InputQueue::default());
    world.insert_resource(crate::systems::defence::DefenderLog::default());
    let plan = crate::systems::routine::RoutinePlan::new(s, &rng);
    world.insert_resource(crate::systems::ids::IdsState::new(s, plan.talkers()));
    world.insert_resource(plan);
    if let Some(plan) = &s.attack {
        world.insert_resource(crate::systems::attacker::AttackState::new(plan));
        world.insert_resource(crate::systems::attacker::AttackMode::Headless);
        world.insert_resource(crate::systems::attacker::AttackOutbox::default());
    }
    world.insert_resource(Outcomes::default());
    world.insert_resource(ActiveFaults::default());
    world.insert_resource(entities);
    world.insert_resource(rng);
    let mut log = EventLog::default();
    log.push(
        0,
        EventKind::SimStarted {
            scenario: s.id.clone(),
            scenario_hash: s.source_hash.clone(),
            seed,
            tick_hz: s.tick_hz,
        },
    );
    world.insert_resource(log);
    world.insert_resource(Plant(scenario));
    world
}

/// Spawns the network nodes (zones, conduits, hosts) and the field devices (variables,
/// actuators, sensors with their noise streams), in that order.
fn spawn_field(world: &mut World, s: &Scenario, rng: &SimRng, entities: &mut Entities) {
    for i in 0..s.zones.len() {
        world.spawn(ZoneNode { idx: ZoneIdx(i as u32) });
    }
    for i in 0..s.conduits.len() {
        entities.conduits.push(world.spawn(ConduitNode { idx: i }).id());
    }
    for i in 0..s.hosts.len() {
        world.spawn(HostNode { idx: HostIdx(i as u32) });
    }
    for i in 0..s.vars.len() {
        world.spawn(VarState {
            idx: VarIdx(i as u32),
            outside: None,
            damaged: [false; 2],
            dose_s: [0.0; 2],
            dosed: false,
        });
    }
    for i in 0..s.actuators.len() {
        entities.actuators.push(world.spawn(ActuatorState { idx: ActuatorIdx(i as u32), stuck: false }).id());
    }
    for (i, d) in s.sensors.iter().enumerate() {
        let state = SensorState {
            idx: SensorIdx(i as u32),
            rng: rng.stream(&format!("sensor:{}", d.id)),
            drift: 0.0,
            fault: SensorFault::default(),
            element: s.vars[d.var.ix()].initial,
            // Dead time as whole ticks: the readings of that many ticks ago come out next.
            delay: std::iter::repeat_n(s.vars[d.var.ix()].initial, s.ticks(d.dead_time_s) as usize).collect(),
        };
        entities.sensors.push(world.spawn(state).id());
    }
}

/// The field bus at tick 0: actuators at their initial positions, sensors reading the
/// initial values, nothing tripped or alarmed.
fn field_bus(s: &Scenario, values: &[f64]) -> FieldBus {
    let measured = s
        .sensors
        .iter()
        .map(|d| {
            let v = values[d.var.ix()];
            match d.kind {
                SensorKind::Analog { lo, hi } => v.clamp(lo, hi),
                SensorKind::SwitchAbove(t) => f64::from(u8::from(v >= t)),
                SensorKind::SwitchBelow(t) => f64::from(u8::from(v <= t)),
            }
        })
        .collect();
    let actuator_pos: Vec<f64> = s.actuators.iter().map(|a| a.initial).collect();
    FieldBus {
        actuator_cmd: actuator_pos.clone(),
        actuator_pos,
        forced: vec![None; s.actuators.len()],
        measured,
        tripped: vec![false; s.interlocks.len()],
        defeated: vec![false; s.interlocks.len()],
        bypassed: vec![false; s.interlocks.len()],
        alarm_active: vec![0; s.alarms.len()],
        alarm_acked: vec![false; s.alarms.len()],
        alarm_since: vec![None; s.alarms.len()],
        alarm_held_s: vec![[0.0; 4]; s.alarms.len()],
        halted: vec![false; s.plcs.len()],
        local: vec![None; s.actuators.len()],
    }
}

/// Spawns the PLCs in run mode, each with its input image read, as after a first scan at
/// power-up.
fn spawn_plcs(world: &mut World, s: &Scenario, entities: &mut Entities) {
    for (i, p) in s.plcs.iter().enumerate() {
        let mut memory = Memory::new(p);
        crate::systems::plc::read_inputs(p, world.resource::<FieldBus>(), &mut memory);
        let state = PlcState {
            idx: PlcIdx(i as u32),
            mode: PlcMode::Run,
            listen_only: false,
            memory,
            program_hash: p.program_hash.clone(),
            disabled: vec![false; p.logic.len()],
            range_checks: p.range_checks,
            spoofs: Vec::new(),
            restart_until: None,
            flooded_until: None,
            flooded_by: None,
            onoff_on: vec![false; p.logic.len()],
            pi_integral: vec![0.0; p.logic.len()],
            held_s: vec![0.0; p.logic.len()],
            seq_step: vec![None; p.logic.len()],
            pi_out: p
                .logic
                .iter()
                .map(|l| match l {
                    Logic::Pi { bias, .. } => bias.clamp(0.0, 1.0),
                    _ => 0.0,
                })
                .collect(),
            implants: Vec::new(),
            bricked: false,
        };
        entities.plcs.push(world.spawn(state).id());
    }
}
