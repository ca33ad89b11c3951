//! Inputs that reconfigure the plant rather than write its registers: defender actions
//! (firewall rules, isolation, restores, restarts, acknowledgements, reports), engineering
//! commands (mode, restart, program download over FC 90) and spoofed reporting.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;

use crate::event::{EventKind, RejectReason};
use crate::input::{ENGINEERING_FUNCTION, EngineeringCommand, SimInput};
use crate::network::{NetState, Request, check_request};
use crate::program::program_hash;
use crate::scenario::{HostRole, Logic, PlcIdx, Scenario, WriteRange};
use crate::snapshot::{Readings, Screen};
use crate::world::{Entities, FieldBus, Forgeries, Forgery, ForgeryKind, PlcState};

/// Ticks a PLC takes to boot after a restart.
pub const RESTART_S: f64 = 5.0;

/// When each kind of defender action was first taken, for attack triggers.
#[derive(Resource, Debug, Clone, Default)]
pub struct DefenderLog {
    /// Kind tag -> first tick.
    pub first: BTreeMap<&'static str, u64>,
}

type Outcome = Result<Vec<EventKind>, RejectReason>;

fn plc_state<'w>(
    world: &'w mut World,
    s: &Scenario,
    plc: &str,
) -> Result<(PlcIdx, Mut<'w, PlcState>), RejectReason> {
    let idx = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
    let e = world.resource::<Entities>().plcs[idx.ix()];
    Ok((idx, world.get_mut::<PlcState>(e).expect("PLC entities live as long as the world")))
}

/// Puts a PLC's holding registers back to their commissioned values, or (`bypasses`) takes its
/// interlocks' bypasses off.
fn restore(world: &mut World, s: &Scenario, plc: &str, bypasses: bool) -> Outcome {
    let (idx, mut state) = plc_state(world, s, plc)?;
    let def = &s.plcs[idx.ix()];
    if bypasses {
        for a in s.bypass_coils(idx) {
            state.memory.coils[usize::from(a)] = false;
        }
    } else {
        for h in &def.holding_registers {
            h.restore(&mut state.memory.holding);
        }
    }
    Ok(Vec::new())
}

fn conduit(s: &Scenario, id: &str) -> Result<usize, RejectReason> {
    s.conduits.iter().position(|c| c.id == id).ok_or(RejectReason::UnknownTarget)
}

/// Applies an input this module owns (see `inputs::apply_one`).
pub(super) fn apply(world: &mut World, s: &Scenario, tick: u64, input: &SimInput) -> Outcome {
    match input {
        SimInput::Engineering { plc, source, command } => engineering(world, s, tick, plc, source, command),
        SimInput::Spoof { plc, source, addr, value } => spoof(world, s, plc, source, *addr, *value),
        SimInput::ForgeSensor { sensor, source, value, replay_s } => {
            forge(world, s, sensor, source, *value, *replay_s)
        }
        SimInput::RestoreSensor { sensor } => {
            let i = s.sensor(sensor).ok_or(RejectReason::UnknownTarget)?;
            match world.resource_mut::<Forgeries>().0[i.ix()].take() {
                Some(_) => Ok(vec![EventKind::SensorRestored { sensor: sensor.clone() }]),
                None => Ok(Vec::new()),
            }
        }
        SimInput::Flood { plc, source, seconds } => flood(world, s, tick, plc, source, *seconds),
        SimInput::BlockSource { .. }
        | SimInput::AllowFunctions { .. }
        | SimInput::RestrictWrites { .. }
        | SimInput::ResetConduit { .. } => firewall(world, s, input),
        SimInput::IsolateHost { host } | SimInput::RestoreHost { host } => {
            isolate(world, s, host, matches!(input, SimInput::IsolateHost { .. }))
        }
        SimInput::RestoreSetpoints { plc } | SimInput::ClearBypasses { plc } => {
            restore(world, s, plc, matches!(input, SimInput::ClearBypasses { .. }))
        }
        SimInput::RestoreProgram { plc } => restore_program(world, s, plc),
        SimInput::ReplaceModule { plc } => replace_module(world, s, tick, plc),
        SimInput::WipeHost { host, source } => {
            let (h, from) = (
                s.host(host).ok_or(RejectReason::UnknownHost)?,
                s.host(source).ok_or(RejectReason::UnknownHost)?,
            );
            if from != h {
                crate::network::check_host_route(s, world.resource::<NetState>(), from, h)?;
            }
            let wiped = &mut world.resource_mut::<NetState>().into_inner().wiped[h.ix()];
            if *wiped {
                return Ok(Vec::new());
            }
            *wiped = true;
            Ok(vec![EventKind::HostWiped { host: host.clone() }])
        }
        SimInput::DenyView { host, source, blank } => deny_view(world, s, tick, host, source, *blank),
        SimInput::LocalControl { actuator, position } => {
            let a = s.actuator(actuator).ok_or(RejectReason::UnknownTarget)?;
            if position.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
                return Err(RejectReason::IllegalValue);
            }
            let local = &mut world.resource_mut::<FieldBus>().into_inner().local[a.ix()];
            if *local == *position {
                return Ok(Vec::new());
            }
            *local = *position;
            Ok(vec![EventKind::LocalControl { actuator: actuator.clone(), position: *position }])
        }
        SimInput::ReimageHost { host } => {
            let h = s.host(host).ok_or(RejectReason::UnknownHost)?;
            let net = world.resource_mut::<NetState>().into_inner();
            if !net.wiped[h.ix()] && net.screens[h.ix()] == Screen::Live {
                return Ok(Vec::new());
            }
            net.wiped[h.ix()] = false;
            net.screens[h.ix()] = Screen::Live;
            Ok(vec![EventKind::HostReimaged { host: host.clone() }])
        }
        SimInput::RestartPlc { plc } => restart(world, s, tick, plc),
        SimInput::AcknowledgeAlarm { plc, alarm } => acknowledge_alarm(world, s, plc, alarm),
        SimInput::EnableRangeChecks { plc } => {
            let (_, mut state) = plc_state(world, s, plc)?;
            state.range_checks = true;
            Ok(Vec::new())
        }
        SimInput::ReportIncident(_)
        | SimInput::Notify { .. }
        | SimInput::SubmitFlag { .. }
        | SimInput::DeclareHazard { .. }
        | SimInput::RevealHint { .. } => report(s, input),
        SimInput::Inject { channel, text, step } => {
            use crate::input::InjectChannel;
            if text.len() > 10_000 {
                return Err(RejectReason::IllegalValue);
            }
            match (channel, step) {
                (InjectChannel::Step, Some(step)) => super::attacker::force_step(world, s, step)?,
                (InjectChannel::Step, None) | (_, Some(_)) => return Err(RejectReason::IllegalValue),
                _ => {}
            }
            Ok(Vec::new())
        }
        other => unreachable!("`defence::apply` got an input it does not own: {other:?}"),
    }
}

/// Freezes (or blanks) an operator station's displays, from a host that reaches it.
fn deny_view(world: &mut World, s: &Scenario, tick: u64, host: &str, source: &str, blank: bool) -> Outcome {
    let (h, from) =
        (s.host(host).ok_or(RejectReason::UnknownHost)?, s.host(source).ok_or(RejectReason::UnknownHost)?);
    if s.hosts[h.ix()].role != HostRole::Hmi {
        return Err(RejectReason::UnknownTarget);
    }
    if from != h {
        crate::network::check_host_route(s, world.resource::<NetState>(), from, h)?;
    }
    let screen = if blank {
        Screen::Blank
    } else {
        let entities = world.resource::<Entities>().plcs.clone();
        let inputs = entities
            .iter()
            .map(|e| {
                let p = world.get::<PlcState>(*e).expect("PLC entities live as long as the world");
                let mut input = p.memory.input.clone();
                p.spoof_into(&mut input);
                input
            })
            .collect();
        let bus = world.resource::<FieldBus>();
        Screen::Frozen(std::sync::Arc::new(Readings {
            tick,
            inputs,
            field: std::sync::Arc::new(crate::snapshot::Field::of(bus)),
        }))
    };
    let current = &mut world.resource_mut::<NetState>().into_inner().screens[h.ix()];
    // A frozen display stays on what it froze on; blanking wins over freezing.
    if *current == Screen::Blank || (!blank && matches!(current, Screen::Frozen(_))) {
        return Ok(Vec::new());
    }
    *current = screen;
    Ok(vec![EventKind::ViewDenied { host: host.to_string(), blank }])
}

/// Spoofs what a PLC reports at one input register, from a host on the operators' path.
fn spoof(world: &mut World, s: &Scenario, plc: &str, source: &str, addr: u16, value: Option<u16>) -> Outcome {
    let host = s.host(source).ok_or(RejectReason::UnknownHost)?;
    let idx = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
    if world.resource::<NetState>().isolated[host.ix()] {
        return Err(RejectReason::HostIsolated);
    }
    // On the path: in the PLC's zone, or in a zone where an operator station polls it.
    let zone = s.hosts[host.ix()].zone;
    let on_path =
        zone == s.plcs[idx.ix()].zone || s.hosts.iter().any(|h| h.role == HostRole::Hmi && h.zone == zone);
    if !on_path {
        return Err(RejectReason::NotOnPath);
    }
    let (_, mut state) = plc_state(world, s, plc)?;
    if !state.memory.is_mapped(crate::scenario::Table::InputRegisters, addr, 1) {
        return Err(RejectReason::IllegalAddress);
    }
    let raw = value.unwrap_or(state.memory.input[usize::from(addr)]);
    state.spoofs.retain(|(a, _, _)| *a != addr);
    state.spoofs.push((addr, raw, host));
    Ok(vec![EventKind::ReportingSpoofed { plc: plc.to_string(), addr }])
}

/// Manipulates a field signal where it enters the PLCs: from a host in the zone of a PLC that
/// reads it (the field network: remote I/O, a serial gateway, the junction box), or through
/// the engineering access to a PLC whose program the attacker has already changed (Stuxnet's
/// way: the modified program falsifies its own I/O image, T0835).
fn forge(
    world: &mut World,
    s: &Scenario,
    sensor: &str,
    source: &str,
    value: Option<f64>,
    replay_s: Option<f64>,
) -> Outcome {
    let host = s.host(source).ok_or(RejectReason::UnknownHost)?;
    let i = s.sensor(sensor).ok_or(RejectReason::UnknownTarget)?;
    if world.resource::<NetState>().isolated[host.ix()] {
        return Err(RejectReason::HostIsolated);
    }
    let zone = s.hosts[host.ix()].zone;
    let entities = world.resource::<Entities>().plcs.clone();
    let readers: Vec<PlcIdx> =
        (0..s.plcs.len()).map(|p| PlcIdx(p as u32)).filter(|p| s.reads_sensor(*p, i)).collect();
    let via = if readers.iter().any(|p| s.plcs[p.ix()].zone == zone) {
        None
    } else {
        let subverted = readers.iter().copied().find(|p| {
            let changed = world
                .get::<PlcState>(entities[p.ix()])
                .is_some_and(|st| st.program_hash != s.plcs[p.ix()].program_hash);
            let engineering = Request {
                source: host,
                plc: *p,
                function: ENGINEERING_FUNCTION,
                addr: 0,
                registers: &[],
                native: None,
            };
            changed && check_request(s, world.resource::<NetState>(), engineering).is_ok()
        });
        match subverted {
            Some(p) => Some(p),
            None => return Err(RejectReason::NotOnPath),
        }
    };
    let kind = match (value, replay_s) {
        (Some(v), None) if v.is_finite() => ForgeryKind::Constant(v),
        (None, None) => ForgeryKind::Constant(world.resource::<FieldBus>().measured[i.ix()]),
        (None, Some(r)) if r.is_finite() && r > 0.0 && r <= crate::attack::MAX_REPLAY_S => {
            let len = s.ticks(r).max(1) as usize;
            ForgeryKind::Replay { recorded: Vec::with_capacity(len), len, pos: 0 }
        }
        _ => return Err(RejectReason::IllegalValue),
    };
    world.resource_mut::<Forgeries>().0[i.ix()] = Some(Forgery { by: host, via, kind });
    Ok(vec![EventKind::SensorForged { sensor: sensor.to_string(), replay: replay_s.is_some() }])
}

/// Floods a PLC's communications from a host for `seconds`.
fn flood(world: &mut World, s: &Scenario, tick: u64, plc: &str, source: &str, seconds: f64) -> Outcome {
    let idx = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
    let host = s.host(source).ok_or(RejectReason::UnknownHost)?;
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 600.0 {
        return Err(RejectReason::IllegalValue);
    }
    crate::network::check_connect(s, world.resource::<NetState>(), host, idx)?;
    let until = tick + s.ticks(seconds).max(1);
    let (_, mut state) = plc_state(world, s, plc)?;
    (state.flooded_until, state.flooded_by) = (Some(until), Some(host));
    Ok(vec![EventKind::CommsFlooded { plc: plc.to_string(), until_tick: until }])
}

/// Ends at `tick` every flood whose host can no longer reach its PLC (the defenders blocked
/// or isolated it): the PLC talks again, as a real one does once the flood stops arriving.
pub(super) fn end_cut_off_floods(world: &mut World, s: &Scenario, tick: u64) {
    let net = world.resource::<NetState>();
    let cut: Vec<Entity> = world
        .resource::<Entities>()
        .plcs
        .iter()
        .copied()
        .filter(|e| {
            let state = world.get::<PlcState>(*e).expect("PLC entities live as long as the world");
            state.flooded(tick)
                && state
                    .flooded_by
                    .is_some_and(|by| crate::network::check_connect(s, net, by, state.idx).is_err())
        })
        .collect();
    for e in cut {
        let mut state = world.get_mut::<PlcState>(e).expect("PLC entities live as long as the world");
        (state.flooded_until, state.flooded_by) = (Some(tick), None);
    }
}

/// Changes a conduit's firewall policy: blocks a source, restricts function codes or write
/// windows, or resets the policy to the scenario's.
fn firewall(world: &mut World, s: &Scenario, input: &SimInput) -> Outcome {
    match input {
        SimInput::BlockSource { conduit: c, host } => {
            let i = conduit(s, c)?;
            let h = s.host(host).ok_or(RejectReason::UnknownHost)?;
            let policy = &mut world.resource_mut::<NetState>().into_inner().policies[i];
            if !policy.deny_sources.contains(&h) {
                policy.deny_sources.push(h);
            }
        }
        SimInput::AllowFunctions { conduit: c, functions } => {
            let i = conduit(s, c)?;
            if functions.is_empty() || functions.iter().any(|f| *f == 0 || *f > 127) {
                return Err(RejectReason::IllegalValue);
            }
            world.resource_mut::<NetState>().policies[i].allow_functions = functions.clone();
        }
        SimInput::RestrictWrites { conduit: c, plc, start, end, min, max } => {
            let i = conduit(s, c)?;
            let plc = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
            if end < start || matches!((min, max), (Some(lo), Some(hi)) if hi < lo) {
                return Err(RejectReason::IllegalValue);
            }
            let w = WriteRange { plc, start: *start, end: *end, min: *min, max: *max };
            world.resource_mut::<NetState>().policies[i].write_ranges.push(w);
        }
        SimInput::ResetConduit { conduit: c } => {
            let i = conduit(s, c)?;
            world.resource_mut::<NetState>().policies[i] = s.conduits[i].policy.clone();
        }
        other => unreachable!("`defence::firewall` got an input that is no firewall change: {other:?}"),
    }
    Ok(Vec::new())
}

/// Isolates a host from the network, or restores it. Cut off, the host is no longer between
/// the operators and any PLC, so its spoofs end.
fn isolate(world: &mut World, s: &Scenario, host: &str, isolate: bool) -> Outcome {
    let h = s.host(host).ok_or(RejectReason::UnknownHost)?;
    world.resource_mut::<NetState>().isolated[h.ix()] = isolate;
    let mut events = Vec::new();
    if isolate {
        events = end_forgeries(world, s, |f| f.by == h);
        let plcs = world.resource::<Entities>().plcs.clone();
        for e in plcs {
            let mut state = world.get_mut::<PlcState>(e).expect("PLC entities live as long as the world");
            if state.spoofs.iter().any(|(_, _, by)| *by == h) {
                state.spoofs.retain(|(_, _, by)| *by != h);
            }
        }
    }
    Ok(events)
}

/// Restores a PLC's program from its backup, re-enabling every block.
fn restore_program(world: &mut World, s: &Scenario, plc: &str) -> Outcome {
    let (idx, mut state) = plc_state(world, s, plc)?;
    let def = &s.plcs[idx.ix()];
    if !def.program_backup {
        return Err(RejectReason::NoBackup);
    }
    state.disabled.iter_mut().for_each(|d| *d = false);
    state.implants.clear();
    state.program_hash = def.program_hash.clone();
    let mut events = vec![EventKind::ProgramChanged {
        plc: plc.to_string(),
        hash: def.program_hash.clone(),
        matches_backup: true,
    }];
    events.extend(end_forgeries(world, s, |f| f.via == Some(idx)));
    Ok(events)
}

/// Ends the forgeries `which` picks (the host doing them was cut off, the program doing them
/// was restored), one `sensor_restored` each.
fn end_forgeries(world: &mut World, s: &Scenario, which: impl Fn(&Forgery) -> bool) -> Vec<EventKind> {
    let mut events = Vec::new();
    for (i, f) in world.resource_mut::<Forgeries>().0.iter_mut().enumerate() {
        if f.as_ref().is_some_and(&which) {
            *f = None;
            events.push(EventKind::SensorRestored { sensor: s.sensors[i].id.clone() });
        }
    }
    events
}

/// Acknowledges an unacknowledged alarm of a PLC: active, or returned (cleared before anyone
/// acknowledged it, ISA-18.2's "returned unacknowledged").
fn acknowledge_alarm(world: &mut World, s: &Scenario, plc: &str, alarm: &str) -> Outcome {
    let idx = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
    let a =
        s.alarms.iter().position(|a| a.id == *alarm && a.plc == idx).ok_or(RejectReason::UnknownTarget)?;
    let mut bus = world.resource_mut::<FieldBus>();
    if bus.alarm_since[a].is_none() || bus.alarm_acked[a] {
        return Err(RejectReason::UnknownTarget);
    }
    bus.alarm_acked[a] = true;
    Ok(vec![EventKind::AlarmAcknowledged { plc: plc.to_string(), alarm: alarm.to_string() }])
}

/// Checks what teams report or declare (incident reports, notifications, flags, hazards,
/// hint requests), which changes nothing in the plant.
fn report(s: &Scenario, input: &SimInput) -> Outcome {
    match input {
        SimInput::ReportIncident(r) => {
            if r.observed_s.is_some_and(|t| !t.is_finite() || t < 0.0)
                || r.text.len() > 10_000
                || r.technique.len() > 32
                || r.asset.len() > 64
                || r.tactic.as_ref().is_some_and(|t| t.len() > 64)
                || r.impact.len() > 10_000
                || r.actions.len() > 10_000
            {
                return Err(RejectReason::IllegalValue);
            }
            Ok(vec![EventKind::IncidentReported(r.clone())])
        }
        SimInput::Notify { to, text } => {
            if to.trim().is_empty() || to.len() > 64 || text.len() > 10_000 {
                return Err(RejectReason::IllegalValue);
            }
            Ok(Vec::new())
        }
        SimInput::SubmitFlag { challenge, owner, digest, .. } => {
            if challenge.len() > 64 || owner.len() > 64 || digest.len() > 64 {
                return Err(RejectReason::IllegalValue);
            }
            Ok(Vec::new())
        }
        SimInput::DeclareHazard { id } => {
            if id.is_empty() || id.len() > 96 {
                return Err(RejectReason::IllegalValue);
            }
            Ok(Vec::new())
        }
        SimInput::RevealHint { hint, .. } => {
            if !s.hints.iter().any(|h| h.id == *hint) {
                return Err(RejectReason::UnknownTarget);
            }
            Ok(Vec::new())
        }
        other => unreachable!("`defence::report` got an input that is no report: {other:?}"),
    }
}

/// Fits a spare module to a bricked PLC: it boots for `RESTART_S` with the program from the
/// backup (without a backup, the commissioned program as the vendor's engineer reloads it).
fn replace_module(world: &mut World, s: &Scenario, tick: u64, plc: &str) -> Outcome {
    let (idx, mut state) = plc_state(world, s, plc)?;
    if !state.bricked {
        return Err(RejectReason::IllegalValue);
    }
    state.bricked = false;
    state.disabled.iter_mut().for_each(|d| *d = false);
    state.implants.clear();
    state.program_hash = s.plcs[idx.ix()].program_hash.clone();
    let mut events = restart(world, s, tick, plc)?;
    events.insert(0, EventKind::ModuleReplaced { plc: plc.to_string() });
    events.extend(end_forgeries(world, s, |f| f.via == Some(idx)));
    Ok(events)
}

/// Restarts a PLC: it boots for `RESTART_S`, with its loops reset. A bricked one does not.
fn restart(world: &mut World, s: &Scenario, tick: u64, plc: &str) -> Outcome {
    let (_, mut state) = plc_state(world, s, plc)?;
    if state.bricked {
        return Err(RejectReason::ModuleFailed);
    }
    state.restart_until = Some(tick + s.ticks(RESTART_S).max(1));
    state.listen_only = false;
    state.onoff_on.iter_mut().for_each(|o| *o = false);
    state.pi_integral.iter_mut().for_each(|i| *i = 0.0);
    Ok(vec![EventKind::PlcRestarted { plc: plc.to_string() }])
}

fn engineering(
    world: &mut World,
    s: &Scenario,
    tick: u64,
    plc: &str,
    source: &str,
    command: &EngineeringCommand,
) -> Outcome {
    let idx = s.plc(plc).ok_or(RejectReason::UnknownPlc)?;
    let host = s.host(source).ok_or(RejectReason::UnknownHost)?;
    check_request(
        s,
        world.resource::<NetState>(),
        Request {
            source: host,
            plc: idx,
            function: ENGINEERING_FUNCTION,
            addr: 0,
            registers: &[],
            native: None,
        },
    )?;
    match command {
        EngineeringCommand::SetMode { mode } => {
            let (_, mut state) = plc_state(world, s, plc)?;
            let from = state.mode;
            if from == *mode {
                return Ok(Vec::new());
            }
            state.mode = *mode;
            Ok(vec![EventKind::ModeChanged { plc: plc.to_string(), from, to: *mode }])
        }
        EngineeringCommand::Restart => restart(world, s, tick, plc),
        EngineeringCommand::Upload => Ok(Vec::new()),
        EngineeringCommand::ModifyFirmware => {
            let (_, mut state) = plc_state(world, s, plc)?;
            if state.bricked {
                return Ok(Vec::new());
            }
            state.bricked = true;
            // It never finishes booting: outputs at their fail positions, silent on the network.
            state.restart_until = Some(u64::MAX);
            Ok(vec![EventKind::FirmwareModified { plc: plc.to_string() }])
        }
        EngineeringCommand::Download { disable, add } => {
            let def = &s.plcs[idx.ix()];
            let mut blocks = Vec::new();
            for id in disable {
                let b = def
                    .logic
                    .iter()
                    .position(|l| logic_id(s, l) == Some(id.as_str()))
                    .ok_or(RejectReason::UnknownTarget)?;
                blocks.push(b);
            }
            let mut implants = Vec::new();
            for i in add {
                let a = s.actuator(&i.actuator).ok_or(RejectReason::UnknownTarget)?;
                // A program drives only the outputs its PLC is wired to.
                if !s.drives_actuator(idx, a)
                    || !(0.0..=1.0).contains(&i.value)
                    || !(0.0..=86_400.0).contains(&i.after_s)
                {
                    return Err(RejectReason::IllegalValue);
                }
                implants.push((a, i.value, tick + s.ticks(i.after_s)));
            }
            let (_, mut state) = plc_state(world, s, plc)?;
            // Accepted in any mode: an online edit (T0843.002) needs no stop.
            for b in blocks {
                state.disabled[b] = true;
            }
            state.implants.extend(implants);
            let hash = program_hash(&def.program_hash, &state.disabled, &state.implants);
            state.program_hash = hash.clone();
            let matches_backup = hash == def.program_hash;
            Ok(vec![EventKind::ProgramChanged { plc: plc.to_string(), hash, matches_backup }])
        }
    }
}

/// The id of a logic block, where it has one.
pub(crate) fn logic_id<'a>(s: &'a Scenario, l: &'a Logic) -> Option<&'a str> {
    match l {
        Logic::OnOff { id, .. }
        | Logic::Pi { id, .. }
        | Logic::Sequence { id, .. }
        | Logic::Select { id, .. } => Some(id),
        Logic::Alarm(a) => Some(&s.alarms[a.ix()].id),
        Logic::Interlock(i) => Some(&s.interlocks[i.ix()].id),
        Logic::Follow { .. } => None,
    }
}
