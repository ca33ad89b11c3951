//! The scripted attacker: runs the scenario's attack plan, one tick at a time.
//!
//! Each tick, every step not yet over is looked at in file order: a pending step whose
//! trigger holds fires its first attempt; an active step fires again when its repeat is due.
//! An attempt is carried out from the attacker's current host as ordinary inputs
//! (`inputs::apply_logged`), so it meets the same conduits, isolation and PLC checks as any
//! other traffic, and leaves the same transaction events and network alerts. Blocked attempts
//! fail with the reason; later steps can branch on it.

use bevy_ecs::prelude::*;

use crate::attack::{Action, AttackPlan, Outcome, Step, Until, Watched};
use crate::event::{EventKind, EventLog, RejectReason};
use crate::input::{EngineeringCommand, SimInput};
use crate::input::{Iec104Transaction, ModbusTransaction, OpcUaTransaction};
use crate::network::{NetState, Request, check_connect, check_host_route, check_request};
use crate::scenario::{HostIdx, PlcIdx, Scenario, Table};
use crate::systems::defence::DefenderLog;
use crate::systems::inputs::apply_logged;
use crate::systems::routine::{NativeRequest, RoutinePlan, RoutineRequest};
use crate::world::{Entities, FieldBus, Plant, PlcState, Process, SimClock};

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// Waiting for its trigger.
    Pending,
    /// An attempt is out on the real network (live mode); waiting for its result.
    InFlight,
    /// Fired; tries again at `next_tick`.
    Active {
        /// Tick of the next attempt.
        next_tick: u64,
    },
    /// Over.
    Done(Outcome),
}

/// The attacker's progress.
#[derive(Resource, Debug, Clone)]
pub struct AttackState {
    /// The host the attacker acts from.
    pub host: HostIdx,
    /// Each step's status, in plan order.
    pub steps: Vec<StepStatus>,
    /// Attempts made per step.
    pub attempts: Vec<u32>,
    /// Whether any attempt of each step succeeded.
    pub succeeded: Vec<bool>,
    /// Steps the white cell fired by an inject, whatever their trigger says.
    pub forced: Vec<bool>,
}

/// How attack actions reach the plant.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttackMode {
    /// The engine carries every action out itself (headless runs, replays).
    Headless,
    /// The actions `Action::over_the_wire` names (scans, reads, writes, force listen-only,
    /// IEC 104 and OPC UA requests, floods) go out as real traffic from the live attacker,
    /// which reports each result back as `SimInput::AttackResult`; the rest (pivots, spoofing,
    /// engineering commands) the engine carries out itself. A flood is both: once its first
    /// connection gets through, the engine saturates the PLC's communications as a headless
    /// run would, while the attacker's connections fill the endpoint.
    Live,
}

/// A Modbus action the live attacker is to carry out.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// Step id.
    pub step: String,
    /// Attempt number.
    pub attempt: u32,
    /// What to do.
    pub action: Action,
}

/// Actions waiting for the live attacker, taken by the runtime after each tick.
#[derive(Resource, Debug, Clone, Default)]
pub struct AttackOutbox {
    /// Intents in the order they were decided.
    pub intents: Vec<Intent>,
}

impl AttackState {
    /// The state at tick 0.
    pub fn new(plan: &AttackPlan) -> AttackState {
        let n = plan.steps.len();
        AttackState {
            host: plan.foothold,
            steps: vec![StepStatus::Pending; n],
            attempts: vec![0; n],
            succeeded: vec![false; n],
            forced: vec![false; n],
        }
    }

    /// The index of `step` when its attempt `attempt` is out on the real network, waiting for
    /// its result.
    pub(crate) fn awaiting(&self, plan: &AttackPlan, step: &str, attempt: u32) -> Option<usize> {
        let i = plan.steps.iter().position(|st| st.id == step)?;
        (self.steps[i] == StepStatus::InFlight && self.attempts[i] + 1 == attempt).then_some(i)
    }
}

pub(super) fn run_attack(world: &mut World) {
    let scenario = world.resource::<Plant>().0.clone();
    let Some(plan) = &scenario.attack else { return };
    let tick = world.resource::<SimClock>().tick;
    for (i, step) in plan.steps.iter().enumerate() {
        let status = world.resource::<AttackState>().steps[i];
        match status {
            StepStatus::Done(_) | StepStatus::InFlight => {}
            StepStatus::Pending => {
                if step.expire_tick.is_some_and(|t| tick >= t) {
                    finish(world, tick, step, i, Outcome::Failed, true);
                } else if triggered(world, i, step, tick) {
                    attempt(world, &scenario, tick, step, i);
                }
            }
            StepStatus::Active { next_tick } if tick >= next_tick => attempt(world, &scenario, tick, step, i),
            StepStatus::Active { .. } => {}
        }
    }
}

/// Makes a pending attack step fire at this tick (a white-cell inject).
pub(crate) fn force_step(world: &mut World, s: &Scenario, step: &str) -> Result<(), RejectReason> {
    let plan = s.attack.as_ref().ok_or(RejectReason::UnknownTarget)?;
    let i = plan.steps.iter().position(|st| st.id == step).ok_or(RejectReason::UnknownTarget)?;
    let mut state = world.resource_mut::<AttackState>();
    if state.steps[i] != StepStatus::Pending {
        return Err(RejectReason::StepNotPending);
    }
    // Fired now whatever its time, condition or the defenders' moves, but not before the step
    // it follows has finished: the attacker would not be where it runs from.
    if let Some((j, _)) = plan.steps[i].when.after
        && !matches!(state.steps[j], StepStatus::Done(_))
    {
        return Err(RejectReason::StepNotReady);
    }
    state.forced[i] = true;
    Ok(())
}

fn triggered(world: &World, i: usize, step: &Step, tick: u64) -> bool {
    if world.resource::<AttackState>().forced[i] {
        return true;
    }
    let w = &step.when;
    if w.at_tick.is_some_and(|t| tick < t) {
        return false;
    }
    if let Some((j, want)) = w.after {
        match world.resource::<AttackState>().steps[j] {
            StepStatus::Done(got) if want == Outcome::Completed || want == got => {}
            _ => return false,
        }
    }
    if let Some(c) = &w.condition {
        let x = match c.watched {
            Watched::Var(v) => world.resource::<Process>().values[v.ix()],
            Watched::Sensor(sn) => world.resource::<FieldBus>().measured[sn.ix()],
        };
        if c.above.is_some_and(|a| x <= a) || c.below.is_some_and(|b| x >= b) {
            return false;
        }
    }
    if let Some(d) = &w.defender {
        let first = world.resource::<DefenderLog>().first.get(d.action.as_str()).copied();
        let done_in_time = first.is_some_and(|t| t <= d.by_tick);
        let holds = if d.done { done_in_time } else { tick >= d.by_tick && !done_in_time };
        if !holds {
            return false;
        }
    }
    true
}

fn finish(world: &mut World, tick: u64, step: &Step, i: usize, outcome: Outcome, expired: bool) {
    world.resource_mut::<AttackState>().steps[i] = StepStatus::Done(outcome);
    world
        .resource_mut::<EventLog>()
        .push(tick, EventKind::AttackStepEnded { step: step.id.clone(), outcome, expired });
}

fn attempt(world: &mut World, s: &Scenario, tick: u64, step: &Step, i: usize) {
    let host = world.resource::<AttackState>().host;
    let live = world.get_resource::<AttackMode>() == Some(&AttackMode::Live);
    if live && step.action.over_the_wire() {
        let attempt = world.resource::<AttackState>().attempts[i] + 1;
        world.resource_mut::<AttackState>().steps[i] = StepStatus::InFlight;
        let intent = Intent { step: step.id.clone(), attempt, action: step.action.clone() };
        world.resource_mut::<AttackOutbox>().intents.push(intent);
        return;
    }
    let result = act(world, s, tick, host, &step.action);
    conclude(world, s, tick, i, host, result);
}

/// Records an attempt's result (from `act`, or reported by the live attacker) and decides
/// whether the step goes on.
pub(crate) fn conclude(
    world: &mut World,
    s: &Scenario,
    tick: u64,
    i: usize,
    host: HostIdx,
    result: Result<(), RejectReason>,
) {
    let plan = s.attack.as_ref().expect("a result implies an attack plan");
    let step = &plan.steps[i];
    let attempt = {
        let mut st = world.resource_mut::<AttackState>();
        st.attempts[i] += 1;
        st.succeeded[i] |= result.is_ok();
        st.attempts[i]
    };
    let e = EventKind::AttackAttempt {
        step: step.id.clone(),
        attempt,
        host: s.hosts[host.ix()].id.clone(),
        techniques: step.techniques.clone(),
        ok: result.is_ok(),
        reason: result.err(),
    };
    world.resource_mut::<EventLog>().push(tick, e);
    let again = match step.repeat {
        None => false,
        Some(r) if attempt >= r.max => false,
        Some(r) => match r.until {
            Until::Success => result.is_err(),
            Until::Failure => result.is_ok(),
            Until::Never => true,
        },
    };
    if again {
        let every = step.repeat.map_or(1, |r| r.every_ticks);
        world.resource_mut::<AttackState>().steps[i] = StepStatus::Active { next_tick: tick + every };
    } else {
        let outcome =
            if world.resource::<AttackState>().succeeded[i] { Outcome::Succeeded } else { Outcome::Failed };
        finish(world, tick, step, i, outcome, false);
    }
}

/// Carries out one action from `host`. `Ok` when it had its effect.
pub(crate) fn act(
    world: &mut World,
    s: &Scenario,
    tick: u64,
    host: HostIdx,
    action: &Action,
) -> Result<(), RejectReason> {
    match action {
        Action::Scan(plcs) => scan(world, s, tick, host, plcs),
        Action::Read { plc, table, addr, count } => {
            let input = read_request(world, s, host, *plc, *table, *addr, *count);
            apply_logged(world, tick, input)
        }
        Action::Iec104Interrogation { plc } => {
            let input = interrogation(world, s, host, *plc);
            apply_logged(world, tick, input)
        }
        Action::Iec104Command { plc, type_id, ioa, value, select } => {
            let command = |select| iec104_input(s, host, *plc, (*type_id, *ioa, Some(*value), select), None);
            if *select {
                apply_logged(world, tick, command(true))?;
            }
            apply_logged(world, tick, command(false))
        }
        Action::OpcUaWrite { plc, node, value } => {
            let input = SimInput::OpcUa(OpcUaTransaction {
                plc: s.plcs[plc.ix()].id.clone(),
                source: s.hosts[host.ix()].id.clone(),
                service: crate::scenario::opcua::services::WRITE,
                node: node.clone(),
                value: Some(*value),
                reason: None,
                repeat: 1,
            });
            apply_logged(world, tick, input)
        }
        Action::Pivot(to) => {
            check_host_route(s, world.resource::<NetState>(), host, *to)?;
            world.resource_mut::<AttackState>().host = *to;
            let e = EventKind::AttackerMoved {
                from: s.hosts[host.ix()].id.clone(),
                to: s.hosts[to.ix()].id.clone(),
            };
            world.resource_mut::<EventLog>().push(tick, e);
            Ok(())
        }
        _ => apply_logged(world, tick, action_input(s, host, action)),
    }
}

/// Scans PLCs (all of them when `plcs` is empty): connects, then asks each for its
/// identification (FC 17 and 43). `Ok` when any PLC answered.
fn scan(
    world: &mut World,
    s: &Scenario,
    tick: u64,
    host: HostIdx,
    plcs: &[PlcIdx],
) -> Result<(), RejectReason> {
    let source = s.hosts[host.ix()].id.clone();
    let plc_id = |p: PlcIdx| s.plcs[p.ix()].id.clone();
    let targets: Vec<_> =
        if plcs.is_empty() { (0..s.plcs.len()).map(|i| PlcIdx(i as u32)).collect() } else { plcs.to_vec() };
    let mut answered = Err(RejectReason::NoRoute);
    for p in targets {
        let refused = check_connect(s, world.resource::<NetState>(), host, p).err();
        let _ = apply_logged(
            world,
            tick,
            SimInput::ModbusConnection { plc: plc_id(p), source: source.clone(), refused },
        );
        if let Some(r) = refused {
            // One refusal does not undo another PLC's answer.
            if answered.is_err() {
                answered = Err(r);
            }
            continue;
        }
        for function in [17, 43] {
            let req = Request { source: host, plc: p, function, addr: 0, registers: &[], native: None };
            let reason = check_request(s, world.resource::<NetState>(), req).err();
            let exception = reason.and_then(RejectReason::exception_code);
            let input = SimInput::ModbusRequest(ModbusTransaction {
                values: Vec::new(),
                plc: plc_id(p),
                source: source.clone(),
                function,
                addr: 0,
                count: 0,
                exception,
                reason,
                unit: None,
                repeat: 1,
            });
            if apply_logged(world, tick, input).is_ok() {
                answered = Ok(());
            } else if answered.is_err() {
                answered = Err(reason.unwrap_or(RejectReason::FunctionNotAllowed));
            }
        }
    }
    answered
}

/// An IEC 104 request from `host`: (type, object, value, select), refused for `reason`.
fn iec104_input(
    s: &Scenario,
    host: HostIdx,
    plc: PlcIdx,
    (type_id, ioa, value, select): (u8, u32, Option<f64>, bool),
    reason: Option<RejectReason>,
) -> SimInput {
    SimInput::Iec104(Iec104Transaction {
        plc: s.plcs[plc.ix()].id.clone(),
        source: s.hosts[host.ix()].id.clone(),
        type_id,
        cause: 6,
        ioa,
        value,
        select,
        reason,
        repeat: 1,
    })
}

/// The record of a station interrogation from `host`, refused as the station would refuse it:
/// no station, no connection through the conduits, or a conduit that lets no read through.
fn interrogation(world: &World, s: &Scenario, host: HostIdx, plc: PlcIdx) -> SimInput {
    let net = world.resource::<NetState>();
    let reason = if s.plcs[plc.ix()].iec104.is_none() {
        Some(RejectReason::UnknownTarget)
    } else {
        check_connect(s, net, host, plc)
            .and_then(|_| {
                let t = crate::scenario::iec104::types::C_IC_NA_1;
                check_request(
                    s,
                    net,
                    Request {
                        source: host,
                        plc,
                        function: 3,
                        addr: 0,
                        registers: &[],
                        native: Some(crate::network::Native::Iec104(t)),
                    },
                )
            })
            .err()
    };
    iec104_input(s, host, plc, (crate::scenario::iec104::types::C_IC_NA_1, 0, None, false), reason)
}

/// The record of a read from `host`, with the answer the PLC would give: refused by the
/// network, an illegal address, or the data.
fn read_request(
    world: &World,
    s: &Scenario,
    host: HostIdx,
    plc: PlcIdx,
    table: Table,
    addr: u16,
    count: u16,
) -> SimInput {
    let function = match table {
        Table::Coils => 1,
        Table::DiscreteInputs => 2,
        Table::HoldingRegisters => 3,
        Table::InputRegisters => 4,
    };
    let mut reason = check_request(
        s,
        world.resource::<NetState>(),
        Request { source: host, plc, function, addr, registers: &[], native: None },
    )
    .err();
    if reason.is_none() {
        let e = world.resource::<Entities>().plcs[plc.ix()];
        let state = world.get::<PlcState>(e).expect("PLC entities live as long as the world");
        if !state.memory.is_mapped(table, addr, usize::from(count)) {
            reason = Some(RejectReason::IllegalAddress);
        }
    }
    let exception = reason.and_then(RejectReason::exception_code);
    SimInput::ModbusRequest(ModbusTransaction {
        values: Vec::new(),
        plc: s.plcs[plc.ix()].id.clone(),
        source: s.hosts[host.ix()].id.clone(),
        function,
        addr,
        count,
        exception,
        reason,
        unit: None,
        repeat: 1,
    })
}

/// The input an action other than a scan, read or pivot is carried out as, from `host`.
fn action_input(s: &Scenario, host: HostIdx, action: &Action) -> SimInput {
    let source = s.hosts[host.ix()].id.clone();
    let plc_id = |p: PlcIdx| s.plcs[p.ix()].id.clone();
    match action {
        Action::WriteRegisters { plc, addr, values } => {
            SimInput::write_registers(plc_id(*plc), source, *addr, values.clone())
        }
        Action::WriteCoils { plc, addr, values } => {
            SimInput::write_coils(plc_id(*plc), source, *addr, values.clone())
        }
        Action::SetMode { plc, mode } => SimInput::Engineering {
            plc: plc_id(*plc),
            source,
            command: EngineeringCommand::SetMode { mode: *mode },
        },
        Action::Restart { plc } => {
            SimInput::Engineering { plc: plc_id(*plc), source, command: EngineeringCommand::Restart }
        }
        Action::Download { plc, disable, add } => {
            let def = &s.plcs[plc.ix()];
            let disable = disable
                .iter()
                .filter_map(|b| super::defence::logic_id(s, &def.logic[*b]).map(String::from))
                .collect();
            SimInput::Engineering {
                plc: plc_id(*plc),
                source,
                command: EngineeringCommand::Download {
                    disable,
                    add: add
                        .iter()
                        .map(|(a, value, after)| crate::input::Implant {
                            actuator: s.actuators[a.ix()].id.clone(),
                            value: *value,
                            after_s: *after as f64 / f64::from(s.tick_hz),
                        })
                        .collect(),
                },
            }
        }
        Action::Spoof { plc, addr, value } => {
            SimInput::Spoof { plc: plc_id(*plc), source, addr: *addr, value: *value }
        }
        Action::ModifyFirmware { plc } => {
            SimInput::Engineering { plc: plc_id(*plc), source, command: EngineeringCommand::ModifyFirmware }
        }
        Action::WipeHost(host) => SimInput::WipeHost { host: s.hosts[host.ix()].id.clone(), source },
        Action::DenyView { host, blank } => {
            SimInput::DenyView { host: s.hosts[host.ix()].id.clone(), source, blank: *blank }
        }
        Action::ForgeSensor { sensor, value, replay_ticks } => SimInput::ForgeSensor {
            sensor: s.sensors[sensor.ix()].id.clone(),
            source,
            value: *value,
            replay_s: replay_ticks.map(|t| t as f64 / f64::from(s.tick_hz)),
        },
        Action::ListenOnly { plc } => {
            SimInput::ModbusDiagnostic { plc: plc_id(*plc), source, sub_function: 4 }
        }
        Action::Flood { plc, seconds } => SimInput::Flood { plc: plc_id(*plc), source, seconds: *seconds },
        Action::Scan(_)
        | Action::Read { .. }
        | Action::Pivot(_)
        | Action::Iec104Interrogation { .. }
        | Action::Iec104Command { .. }
        | Action::OpcUaWrite { .. } => {
            unreachable!("`act` carries out scans, reads, pivots, IEC 104 and OPC UA requests itself")
        }
    }
}

/// Benign background traffic: operators and engineers at work, through the same checks as
/// everything else, so the transaction log is not only the attacker's.
pub(super) fn run_background(world: &mut World) {
    let scenario = world.resource::<Plant>().0.clone();
    // The tick's wire requests start here: background first, then routine polls.
    let wire = world.get_resource_mut::<RoutinePlan>().is_some_and(|mut plan| {
        plan.due.clear();
        plan.wire
    });
    if scenario.background.is_empty() {
        return;
    }
    let tick = world.resource::<SimClock>().tick;
    // Entries are sorted by first tick; repeating ones stay due after it.
    let started = scenario.background.partition_point(|b| b.tick <= tick);
    for b in scenario.background[..started].iter().filter(|b| b.due(tick)) {
        // A read records what the endpoint would have answered: check it like one.
        let input = match &b.input {
            SimInput::ModbusRequest(ModbusTransaction { plc, source, function, addr, count, .. }) => {
                let (Some(p), Some(h)) = (scenario.plc(plc), scenario.host(source)) else { continue };
                let req = Request {
                    source: h,
                    plc: p,
                    function: *function,
                    addr: *addr,
                    registers: &[],
                    native: None,
                };
                let mut reason = check_request(&scenario, world.resource::<NetState>(), req).err();
                let e = world.resource::<Entities>().plcs[p.ix()];
                let table = match function {
                    1 => Table::Coils,
                    2 => Table::DiscreteInputs,
                    4 => Table::InputRegisters,
                    _ => Table::HoldingRegisters,
                };
                let mapped = world
                    .get::<PlcState>(e)
                    .is_some_and(|st| st.memory.is_mapped(table, *addr, usize::from(*count)));
                if reason.is_none() && !mapped {
                    reason = Some(RejectReason::IllegalAddress);
                }
                let exception = reason.and_then(RejectReason::exception_code);
                SimInput::ModbusRequest(ModbusTransaction {
                    values: Vec::new(),
                    plc: plc.clone(),
                    source: source.clone(),
                    function: *function,
                    addr: *addr,
                    count: *count,
                    exception,
                    reason,
                    unit: None,
                    repeat: 1,
                })
            }
            // An interrogation too (the station answers it; its conduit may refuse it).
            SimInput::Iec104(Iec104Transaction {
                plc,
                source,
                type_id: crate::scenario::iec104::types::C_IC_NA_1,
                ..
            }) => {
                let (Some(p), Some(h)) = (scenario.plc(plc), scenario.host(source)) else { continue };
                interrogation(world, &scenario, h, p)
            }
            other => other.clone(),
        };
        if wire && let Some(r) = on_the_wire(&scenario, &input) {
            world.resource_mut::<RoutinePlan>().due.push(r);
        }
        let _ = apply_logged(world, tick, input);
    }
}

/// A background read or write as its host puts it on the wire.
fn on_the_wire(s: &Scenario, input: &SimInput) -> Option<RoutineRequest> {
    let (plc, source, addr, count, values): (_, _, u16, usize, Vec<u16>) = match input {
        SimInput::ModbusRequest(ModbusTransaction { plc, source, addr, count, .. }) => {
            (plc, source, *addr, usize::from(*count), Vec::new())
        }
        SimInput::WriteRegisters { plc, source, addr, values, .. } => {
            (plc, source, *addr, values.len(), values.clone())
        }
        SimInput::WriteCoils { plc, source, addr, values, .. } => {
            (plc, source, *addr, values.len(), values.iter().map(|v| u16::from(*v)).collect())
        }
        // IEC 104 (an interrogation, a command) to the PLC's station, OPC UA (a write) to
        // its server.
        SimInput::Iec104(Iec104Transaction { plc, source, type_id, ioa, value, reason: None, .. }) => {
            let native = NativeRequest::Iec104 { type_id: *type_id, ioa: *ioa, value: *value };
            return Some(RoutineRequest::native(
                s.host(source)?,
                s.plc(plc)?,
                input.function_code()?,
                native,
            ));
        }
        SimInput::OpcUa(OpcUaTransaction { plc, source, service, node, value, reason: None, .. }) => {
            let native =
                NativeRequest::OpcUa { service: *service, node: node.as_str().into(), value: *value };
            return Some(RoutineRequest::native(
                s.host(source)?,
                s.plc(plc)?,
                input.function_code()?,
                native,
            ));
        }
        _ => return None,
    };
    Some(RoutineRequest {
        host: s.host(source)?,
        plc: s.plc(plc)?,
        function: input.function_code()?,
        addr,
        count: u16::try_from(count).unwrap_or(u16::MAX),
        values: Some(values.into()),
        logged: true,
        native: None,
    })
}
