//! Applying `SimInput`s at the start of a tick, and starting and ending faults.
//!
//! Both are exclusive systems: an input may touch any part of the plant, and they run rarely
//! (an empty queue returns at once).

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;

use crate::event::{EventKind, EventLog, RejectReason};
use crate::input::{FaultSpec, SimInput};
use crate::input::{Iec104Transaction, ModbusTransaction, OpcUaTransaction};
use crate::network::{Native, NetState, Request, check_request};
use crate::scenario::iec104::Write;
use crate::scenario::opcua::services;
use crate::scenario::{FaultEffect, Scenario, Table};
use crate::world::{
    ActiveFault, ActiveFaults, ActuatorState, Entities, InputQueue, Outcomes, Plant, PlcState, SensorFault,
    SensorState, SimClock,
};

pub(super) fn apply_inputs(world: &mut World) {
    let pending = std::mem::take(&mut world.resource_mut::<InputQueue>().pending);
    let mut outcomes = Vec::with_capacity(pending.len());
    let tick = world.resource::<SimClock>().tick;
    // Identical read records of this tick fold into one event: record -> seq of its event.
    let mut folded: BTreeMap<RecordKey, u64> = BTreeMap::new();
    for input in &pending {
        let key = record_key(input);
        if let (SimInput::ModbusRequest(ModbusTransaction { reason, repeat: more, .. }), Some(key)) =
            (input, &key)
            && let Some(seq) = folded.get(key)
        {
            outcomes.push(reason.map_or(Ok(()), Err));
            let seq = *seq;
            if let Some(EventKind::ModbusTransaction(ModbusTransaction { repeat, .. })) =
                world.resource_mut::<EventLog>().get_mut(seq).map(|e| &mut e.kind)
            {
                *repeat = repeat.saturating_add(*more);
            }
            continue;
        }
        let result = apply_one(world, tick, input);
        outcomes.push(result.as_ref().map(|_| ()).map_err(|r| *r));
        if let (Ok(_), Some(kind)) = (&result, input.defender_kind()) {
            world.resource_mut::<super::defence::DefenderLog>().first.entry(kind).or_insert(tick);
            let s = world.resource::<crate::world::Plant>().0.clone();
            super::defence::end_cut_off_floods(world, &s, tick);
        }
        let events = outcome_and_alerts(world, tick, input, result);
        let mut log = world.resource_mut::<EventLog>();
        // The seq of its first event (not its place among the retained ones: a live range's
        // log forgets old events).
        let first_seq = log.len();
        for e in events {
            log.push(tick, e);
        }
        if let Some(key) = key {
            folded.insert(key, first_seq);
        }
    }
    world.resource_mut::<Outcomes>().0 = outcomes;
    world.resource_mut::<InputQueue>().applied = pending;
}

/// Applies one input outside the queue (the attacker's actions) and logs its outcome events,
/// exactly as if it had been queued.
pub(crate) fn apply_logged(world: &mut World, tick: u64, input: SimInput) -> Result<(), RejectReason> {
    let result = apply_one(world, tick, &input);
    let outcome = result.as_ref().map(|_| ()).map_err(|r| *r);
    let events = outcome_and_alerts(world, tick, &input, result);
    let mut log = world.resource_mut::<EventLog>();
    for e in events {
        log.push(tick, e);
    }
    outcome
}

/// The outcome events of an input, then the network-monitoring alerts it raises.
fn outcome_and_alerts(
    world: &mut World,
    tick: u64,
    input: &SimInput,
    result: Result<Vec<EventKind>, RejectReason>,
) -> Vec<EventKind> {
    let scenario = world.resource::<Plant>().0.clone();
    let reason = result.as_ref().err().copied();
    let mut events = outcome_events(&scenario, input, result);
    let mut ids = world.resource_mut::<super::ids::IdsState>();
    events.extend(super::ids::alerts(&scenario, &mut ids, tick, input, reason));
    events
}

/// What makes two read records the same transaction.
type RecordKey = (String, String, u8, u16, u16, Option<u8>, Option<RejectReason>, Option<u8>);

fn record_key(input: &SimInput) -> Option<RecordKey> {
    match input {
        SimInput::ModbusRequest(t) => Some((
            t.plc.clone(),
            t.source.clone(),
            t.function,
            t.addr,
            t.count,
            t.exception,
            t.reason,
            t.unit,
        )),
        _ => None,
    }
}

/// The events an input leaves: one `modbus_transaction` or `modbus_connection` for Modbus
/// inputs, `input_applied` or `input_rejected` for the rest, then any consequences.
fn outcome_events(
    s: &Scenario,
    input: &SimInput,
    result: Result<Vec<EventKind>, RejectReason>,
) -> Vec<EventKind> {
    let reason = result.as_ref().err().copied();
    // What a folded read record says beyond its transaction: how many it stands for, the unit.
    let (repeat, unit) = match input {
        SimInput::ModbusRequest(ModbusTransaction { repeat, unit, .. }) => ((*repeat).max(1), *unit),
        _ => (1, None),
    };
    let transaction =
        |plc: &str, source: &str, addr: u16, count: usize, values: Vec<u16>, exception: Option<u8>| {
            EventKind::ModbusTransaction(ModbusTransaction {
                plc: plc.to_string(),
                source: source.to_string(),
                function: input.function_code().unwrap_or(0),
                addr,
                count: u16::try_from(count).unwrap_or(u16::MAX),
                values,
                exception,
                reason,
                repeat,
                unit,
            })
        };
    let known = |plc: &str, source: &str| s.plc(plc).is_some() && s.host(source).is_some();
    let first = match input {
        SimInput::WriteCoils { plc, source, addr, values, .. } if known(plc, source) => {
            let values = values.iter().map(|v| u16::from(*v)).collect();
            transaction(
                plc,
                source,
                *addr,
                input_len(input),
                values,
                reason.and_then(RejectReason::exception_code),
            )
        }
        SimInput::WriteRegisters { plc, source, addr, values, .. } if known(plc, source) => transaction(
            plc,
            source,
            *addr,
            values.len(),
            values.clone(),
            reason.and_then(RejectReason::exception_code),
        ),
        // Recorded as it was sent, with its outcome (the request says it: the endpoint answered).
        SimInput::ModbusRequest(t) if known(&t.plc, &t.source) => {
            EventKind::ModbusTransaction(ModbusTransaction { values: Vec::new(), repeat, ..t.clone() })
        }
        SimInput::ModbusDiagnostic { plc, source, sub_function } if known(plc, source) => transaction(
            plc,
            source,
            *sub_function,
            0,
            Vec::new(),
            reason.and_then(RejectReason::exception_code),
        ),
        SimInput::Engineering { plc, source, .. } if known(plc, source) => {
            transaction(plc, source, 0, 0, Vec::new(), reason.and_then(RejectReason::exception_code))
        }
        SimInput::ModbusConnection { plc, source, refused } if known(plc, source) => {
            EventKind::ModbusConnection { plc: plc.clone(), source: source.clone(), refused: *refused }
        }
        // The record is the request with its outcome.
        SimInput::Iec104(t) if known(&t.plc, &t.source) => {
            EventKind::Iec104Transaction(Iec104Transaction { reason, repeat: t.repeat.max(1), ..t.clone() })
        }
        SimInput::OpcUa(t) if known(&t.plc, &t.source) => {
            EventKind::OpcUaTransaction(OpcUaTransaction { reason, repeat: t.repeat.max(1), ..t.clone() })
        }
        SimInput::TrafficSummary { entries } if reason.is_none() => {
            EventKind::TrafficSummary { entries: entries.clone() }
        }
        _ => match reason {
            None => EventKind::InputApplied { input: input.clone() },
            Some(reason) => EventKind::InputRejected { input: input.clone(), reason },
        },
    };
    std::iter::once(first).chain(result.unwrap_or_default()).collect()
}

fn input_len(input: &SimInput) -> usize {
    match input {
        SimInput::WriteCoils { values, .. } => values.len(),
        SimInput::WriteRegisters { values, .. } => values.len(),
        _ => 0,
    }
}

/// Applies one input, returning the events it causes beyond `input_applied`, or why it was
/// refused (then nothing changed).
pub(crate) fn apply_one(
    world: &mut World,
    tick: u64,
    input: &SimInput,
) -> Result<Vec<EventKind>, RejectReason> {
    let scenario = world.resource::<Plant>().0.clone();
    let s = &*scenario;
    match input {
        SimInput::WriteCoils { plc, source, addr, values, .. } => {
            let function = input.function_code().unwrap_or(15);
            write_coils(world, s, At { plc, source, function: (function, None), addr: *addr }, values)
        }
        SimInput::Iec104(_) => iec104_command(world, s, input),
        SimInput::OpcUa(_) => opcua_write(world, s, input),
        SimInput::WriteRegisters { plc, source, addr, values, .. } => {
            let function = input.function_code().unwrap_or(16);
            write_registers(world, s, At { plc, source, function: (function, None), addr: *addr }, values)
        }
        SimInput::ModbusRequest(ModbusTransaction { plc, source, reason, .. }) => {
            s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
            s.host(source).ok_or(RejectReason::UnknownHost)?;
            reason.map_or(Ok(Vec::new()), Err)
        }
        SimInput::ModbusConnection { plc, source, refused } => {
            s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
            s.host(source).ok_or(RejectReason::UnknownHost)?;
            refused.map_or(Ok(Vec::new()), Err)
        }
        SimInput::TrafficSummary { entries } => {
            for c in entries {
                s.plc(&c.plc).ok_or(RejectReason::UnknownPlc)?;
                s.host(&c.source).ok_or(RejectReason::UnknownHost)?;
            }
            Ok(Vec::new())
        }
        SimInput::ModbusDiagnostic { plc, source, sub_function } => {
            diagnostic(world, s, plc, source, *sub_function)
        }
        SimInput::Engineering { .. }
        | SimInput::Flood { .. }
        | SimInput::Spoof { .. }
        | SimInput::ForgeSensor { .. }
        | SimInput::WipeHost { .. }
        | SimInput::DenyView { .. }
        | SimInput::LocalControl { .. }
        | SimInput::ReplaceModule { .. }
        | SimInput::ReimageHost { .. }
        | SimInput::RestoreSensor { .. }
        | SimInput::BlockSource { .. }
        | SimInput::AllowFunctions { .. }
        | SimInput::RestrictWrites { .. }
        | SimInput::ResetConduit { .. }
        | SimInput::IsolateHost { .. }
        | SimInput::RestoreHost { .. }
        | SimInput::RestoreSetpoints { .. }
        | SimInput::ClearBypasses { .. }
        | SimInput::RestoreProgram { .. }
        | SimInput::RestartPlc { .. }
        | SimInput::AcknowledgeAlarm { .. }
        | SimInput::EnableRangeChecks { .. }
        | SimInput::ReportIncident(_)
        | SimInput::Notify { .. }
        | SimInput::DeclareHazard { .. }
        | SimInput::SubmitFlag { .. }
        | SimInput::RevealHint { .. }
        | SimInput::Inject { .. } => super::defence::apply(world, s, tick, input),
        SimInput::AttackResult { step, attempt, ok, reason } => {
            attack_result(world, tick, step, *attempt, *ok, *reason)
        }
        SimInput::SetMode { plc, mode } => {
            let idx = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
            let e = world.resource::<Entities>().plcs[idx.ix()];
            let mut state = world.get_mut::<PlcState>(e).expect("PLC entities live as long as the world");
            let from = state.mode;
            if from == *mode {
                return Ok(Vec::new());
            }
            state.mode = *mode;
            Ok(vec![EventKind::ModeChanged { plc: plc.clone(), from, to: *mode }])
        }
        SimInput::InjectFault { id, fault, duration_s } => {
            inject_fault(world, s, tick, id, fault, *duration_s)
        }
        SimInput::ClearFault { id } => {
            let mut faults = world.resource_mut::<ActiveFaults>();
            let i = faults.list.iter().position(|f| f.id == *id).ok_or(RejectReason::UnknownFault)?;
            faults.list.remove(i);
            refresh_fault_effects(world);
            Ok(vec![EventKind::FaultCleared { fault: id.clone() }])
        }
    }
}

/// An IEC 104 request: a command executed is the write of the point its object maps (see
/// `Iec104Def::command`); anything else changes nothing here.
fn iec104_command(world: &mut World, s: &Scenario, input: &SimInput) -> Result<Vec<EventKind>, RejectReason> {
    let SimInput::Iec104(Iec104Transaction { plc, source, type_id, ioa, value, select, reason, .. }) = input
    else {
        return Ok(Vec::new());
    };
    let idx = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
    s.host(source).ok_or(RejectReason::UnknownHost)?;
    if let Some(r) = reason {
        return Err(*r);
    }
    let (Some(station), Some(value)) = (&s.plcs[idx.ix()].iec104, value) else { return Ok(Vec::new()) };
    if !crate::scenario::iec104::is_command(*type_id) {
        return Ok(Vec::new());
    }
    let write = station.command(&s.plcs[idx.ix()], *type_id, *ioa, *value)?;
    let function = write.function();
    if *select {
        // A select is checked as its execute would be, and changes nothing.
        let host = s.host(source).ok_or(RejectReason::UnknownHost)?;
        let words = match &write {
            Write::Registers { words, .. } => words.as_slice(),
            Write::Coil { .. } => &[],
        };
        let request = Request {
            source: host,
            plc: idx,
            function,
            addr: write.addr(),
            registers: words,
            native: Some(Native::Iec104(*type_id)),
        };
        check_request(s, world.resource::<NetState>(), request)?;
        return Ok(Vec::new());
    }
    apply_write(world, s, (plc, source), Native::Iec104(*type_id), write)
}

/// An OPC UA request: a write is the write of the point its node maps (see
/// `PlcDef::opcua_write`); anything else changes nothing here.
fn opcua_write(world: &mut World, s: &Scenario, input: &SimInput) -> Result<Vec<EventKind>, RejectReason> {
    let SimInput::OpcUa(OpcUaTransaction { plc, source, service, node, value, reason, .. }) = input else {
        return Ok(Vec::new());
    };
    let idx = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
    s.host(source).ok_or(RejectReason::UnknownHost)?;
    if let Some(r) = reason {
        return Err(*r);
    }
    let def = &s.plcs[idx.ix()];
    let (Some(_), Some(value), services::WRITE) = (&def.opcua, value, *service) else {
        return Ok(Vec::new());
    };
    let write = def.opcua_write(node, *value)?;
    apply_write(world, s, (plc, source), Native::OpcUa(*service), write)
}

/// Applies the Modbus write a request of another protocol stands for.
fn apply_write(
    world: &mut World,
    s: &Scenario,
    (plc, source): (&str, &str),
    native: Native,
    write: Write,
) -> Result<Vec<EventKind>, RejectReason> {
    let function = (write.function(), Some(native));
    match write {
        Write::Coil { addr, value } => write_coils(world, s, At { plc, source, function, addr }, &[value]),
        Write::Registers { addr, words } => {
            write_registers(world, s, At { plc, source, function, addr }, &words)
        }
    }
}

/// Writes coils through the write checks.
fn write_coils(
    world: &mut World,
    s: &Scenario,
    at: At<'_>,
    values: &[bool],
) -> Result<Vec<EventKind>, RejectReason> {
    let mut state = checked_write(world, s, at, &[], values.len(), Table::Coils)?;
    let start = usize::from(at.addr);
    state.memory.coils[start..start + values.len()].copy_from_slice(values);
    Ok(Vec::new())
}

/// Writes holding registers through the write checks, and, where the PLC checks ranges,
/// refuses a value outside a register's declared range.
fn write_registers(
    world: &mut World,
    s: &Scenario,
    at: At<'_>,
    values: &[u16],
) -> Result<Vec<EventKind>, RejectReason> {
    let mut state = checked_write(world, s, at, values, values.len(), Table::HoldingRegisters)?;
    let addr = at.addr;
    let def = &s.plcs[state.idx.ix()];
    if state.range_checks {
        // A 32-bit value is judged whole: the words written over the ones it holds.
        let outside = def
            .written(addr, values, Some(&state.memory.holding))
            .any(|(h, v)| h.range.is_some_and(|[lo, hi]| v < lo || v > hi || v.is_nan()));
        if outside {
            return Err(RejectReason::OutOfRange);
        }
    }
    let start = usize::from(addr);
    state.memory.holding[start..start + values.len()].copy_from_slice(values);
    Ok(Vec::new())
}

/// A Modbus diagnostic (FC 8): restart communications (sub-function 1), return query data
/// (0) or force listen-only mode (4).
fn diagnostic(
    world: &mut World,
    s: &Scenario,
    plc: &str,
    source: &str,
    sub_function: u16,
) -> Result<Vec<EventKind>, RejectReason> {
    let plc_idx = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
    let host = s.host(source).ok_or(RejectReason::UnknownHost)?;
    check_request(
        s,
        world.resource::<NetState>(),
        Request { source: host, plc: plc_idx, function: 8, addr: 0, registers: &[], native: None },
    )?;
    let e = world.resource::<Entities>().plcs[plc_idx.ix()];
    let mut state = world.get_mut::<PlcState>(e).expect("PLC entities live as long as the world");
    let listen_only = match (sub_function, state.listen_only) {
        (1, _) => false,
        (_, true) => return Err(RejectReason::ListenOnly),
        (0, _) => return Ok(Vec::new()),
        (4, _) => true,
        _ => return Err(RejectReason::IllegalFunction),
    };
    if state.listen_only == listen_only {
        return Ok(Vec::new());
    }
    state.listen_only = listen_only;
    Ok(vec![EventKind::ListenOnlyChanged { plc: plc.to_string(), listen_only }])
}

/// The live attacker's report of an attempt in flight: concludes that attempt.
fn attack_result(
    world: &mut World,
    tick: u64,
    step: &str,
    attempt: u32,
    ok: bool,
    reason: Option<RejectReason>,
) -> Result<Vec<EventKind>, RejectReason> {
    let scenario = world.resource::<Plant>().0.clone();
    let plan = scenario.attack.as_ref().ok_or(RejectReason::UnknownTarget)?;
    let state = world.get_resource::<super::attacker::AttackState>().ok_or(RejectReason::UnknownTarget)?;
    let i = state.awaiting(plan, step, attempt).ok_or(RejectReason::UnknownTarget)?;
    let host = state.host;
    let result = match (ok, &plan.steps[i].action) {
        // The attacker got through: the flood's saturation is the engine's (`AttackMode::Live`).
        (true, action @ crate::attack::Action::Flood { .. }) => {
            super::attacker::act(world, &scenario, tick, host, action)
        }
        (true, _) => Ok(()),
        (false, _) => Err(reason.unwrap_or(RejectReason::NoRoute)),
    };
    super::attacker::conclude(world, &scenario, tick, i, host, result);
    Ok(Vec::new())
}

/// Starts a fault injected by an input, for `duration_s` or until cleared.
fn inject_fault(
    world: &mut World,
    s: &Scenario,
    tick: u64,
    id: &str,
    fault: &FaultSpec,
    duration_s: Option<f64>,
) -> Result<Vec<EventKind>, RejectReason> {
    let effect = resolve_fault(s, fault).ok_or(RejectReason::UnknownDevice)?;
    let end_tick = match duration_s {
        Some(d) if !d.is_finite() || d <= 0.0 => return Err(RejectReason::IllegalValue),
        Some(d) => Some(tick.saturating_add(s.ticks(d).max(1))),
        None => None,
    };
    if world.resource::<ActiveFaults>().list.iter().any(|f| f.id == *id) {
        return Err(RejectReason::DuplicateFault);
    }
    world.resource_mut::<ActiveFaults>().list.push(ActiveFault { id: id.to_string(), effect, end_tick });
    refresh_fault_effects(world);
    Ok(vec![fault_started(s, id, &effect)])
}

/// The Modbus function of a write, and the IEC 104 type or OPC UA service when it is one.
type Function = (u8, Option<Native>);

/// Where a write goes: the PLC, the host it comes from, its function code (and the request
/// of another protocol it stands for), and its first address.
#[derive(Clone, Copy)]
struct At<'a> {
    plc: &'a str,
    source: &'a str,
    function: Function,
    addr: u16,
}

/// The checks every Modbus write passes, in the order a network then a PLC makes them:
/// known PLC and host, non-empty, conduit policy, mapped addresses. Returns the PLC's state.
fn checked_write<'w>(
    world: &'w mut World,
    s: &Scenario,
    At { plc, source, function: (function, native), addr }: At<'_>,
    registers: &[u16],
    count: usize,
    table: Table,
) -> Result<Mut<'w, PlcState>, RejectReason> {
    let plc_idx = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
    let source = s.host(source).ok_or(RejectReason::UnknownHost)?;
    if count == 0 {
        return Err(RejectReason::IllegalValue);
    }
    check_request(
        s,
        world.resource::<NetState>(),
        Request { source, plc: plc_idx, function, addr, registers, native },
    )?;
    let e = world.resource::<Entities>().plcs[plc_idx.ix()];
    let state = world.get_mut::<PlcState>(e).expect("PLC entities live as long as the world");
    if state.listen_only {
        return Err(RejectReason::ListenOnly);
    }
    if !state.memory.is_mapped(table, addr, count) {
        return Err(RejectReason::IllegalAddress);
    }
    Ok(state)
}

/// Largest fault magnitude accepted from an input: beyond it, sums of faults could overflow.
const MAX_FAULT: f64 = 1e9;

fn resolve_fault(s: &Scenario, spec: &FaultSpec) -> Option<FaultEffect> {
    let ok = |x: &f64| x.is_finite() && x.abs() <= MAX_FAULT;
    Some(match spec {
        FaultSpec::SensorFreeze { sensor } => FaultEffect::SensorFreeze { sensor: s.sensor(sensor)? },
        FaultSpec::SensorDrift { sensor, per_h } if ok(per_h) => {
            FaultEffect::SensorDrift { sensor: s.sensor(sensor)?, per_h: *per_h }
        }
        FaultSpec::SensorNoise { sensor, sd } if ok(sd) && *sd >= 0.0 => {
            FaultEffect::SensorNoise { sensor: s.sensor(sensor)?, sd: *sd }
        }
        FaultSpec::SensorBias { sensor, bias } if ok(bias) => {
            FaultEffect::SensorBias { sensor: s.sensor(sensor)?, bias: *bias }
        }
        FaultSpec::ActuatorStuck { actuator } => {
            FaultEffect::ActuatorStuck { actuator: s.actuator(actuator)? }
        }
        _ => return None,
    })
}

fn fault_started(s: &Scenario, id: &str, effect: &FaultEffect) -> EventKind {
    let (device, name) = match effect {
        FaultEffect::SensorFreeze { sensor } => (&s.sensors[sensor.ix()].id, "sensor_freeze"),
        FaultEffect::SensorDrift { sensor, .. } => (&s.sensors[sensor.ix()].id, "sensor_drift"),
        FaultEffect::SensorNoise { sensor, .. } => (&s.sensors[sensor.ix()].id, "sensor_noise"),
        FaultEffect::SensorBias { sensor, .. } => (&s.sensors[sensor.ix()].id, "sensor_bias"),
        FaultEffect::ActuatorStuck { actuator } => (&s.actuators[actuator.ix()].id, "actuator_stuck"),
    };
    EventKind::FaultStarted { fault: id.to_string(), device: device.clone(), effect: name.to_string() }
}

/// Recomputes every sensor's and actuator's fault state from the active faults.
fn refresh_fault_effects(world: &mut World) {
    let faults = world.resource::<ActiveFaults>().list.clone();
    let entities = world.resource::<Entities>().clone();
    let mut sensor_faults = vec![SensorFault::default(); entities.sensors.len()];
    let mut stuck = vec![false; entities.actuators.len()];
    for f in &faults {
        match f.effect {
            FaultEffect::SensorFreeze { sensor } => sensor_faults[sensor.ix()].frozen = true,
            FaultEffect::SensorDrift { sensor, per_h } => sensor_faults[sensor.ix()].drift_per_h += per_h,
            FaultEffect::SensorNoise { sensor, sd } => sensor_faults[sensor.ix()].noise += sd,
            FaultEffect::SensorBias { sensor, bias } => sensor_faults[sensor.ix()].bias += bias,
            FaultEffect::ActuatorStuck { actuator } => stuck[actuator.ix()] = true,
        }
    }
    for (e, f) in entities.sensors.iter().zip(sensor_faults) {
        world.get_mut::<SensorState>(*e).expect("sensor entities live as long as the world").fault = f;
    }
    for (e, st) in entities.actuators.iter().zip(stuck) {
        world.get_mut::<ActuatorState>(*e).expect("actuator entities live as long as the world").stuck = st;
    }
}

/// Starts the scenario's scheduled faults and ends faults whose time is up.
pub(super) fn run_faults(world: &mut World) {
    let tick = world.resource::<SimClock>().tick;
    let scenario = world.resource::<Plant>().0.clone();
    let mut events = Vec::new();
    let mut faults = world.resource_mut::<ActiveFaults>();
    let before = faults.list.len();
    faults.list.retain(|f| {
        let done = f.end_tick.is_some_and(|t| t <= tick);
        if done {
            events.push(EventKind::FaultCleared { fault: f.id.clone() });
        }
        !done
    });
    let mut changed = faults.list.len() != before;
    for def in scenario.faults.iter().filter(|f| f.start_tick == tick) {
        if faults.list.iter().any(|f| f.id == def.id) {
            continue;
        }
        faults.list.push(ActiveFault { id: def.id.clone(), effect: def.effect, end_tick: def.end_tick });
        events.push(fault_started(&scenario, &def.id, &def.effect));
        changed = true;
    }
    if changed {
        refresh_fault_effects(world);
    }
    let mut log = world.resource_mut::<EventLog>();
    for e in events {
        log.push(tick, e);
    }
}
