//! Routine traffic: what the control network carries when nobody attacks it. Operator
//! stations poll every PLC they supervise each scan cycle, historians poll their tags, and
//! engineering workstations now and then open a session (device identification, a read of the
//! set points; every third session also uploads a program, logged as a transaction of its own).
//! Background work (shift set-point changes, maintenance) is `attacker::run_background`'s; it
//! joins `due` here when a live range puts it on the wire. The schedule is a pure function of
//! the scenario and the seed (`RoutinePlan::due`), so a headless run, a live range (which also puts it on the wire) and a
//! replay see the same requests. Each request meets the network and the PLC as they are now: an
//! isolated operator station's polls fail, a PLC in listen-only mode answers none.
//!
//! The log keeps routine traffic as counts (`routine_traffic`, one event per sample interval),
//! not request by request: an hour of a plant is tens of thousands of polls.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;
use rand::RngExt;
use rand::rngs::ChaCha8Rng;

use crate::event::{EventKind, EventLog};
use crate::input::{ENGINEERING_FUNCTION, EngineeringCommand, SimInput, TrafficCount};
use crate::network::{NetState, Request, check_request};
use crate::rng::SimRng;
use crate::scenario::{HostIdx, HostRole, PlcIdx, Scenario, Table};
use crate::systems::ids::IdsState;
use crate::world::{Entities, Memory, Plant, PlcState, SimClock};

/// Most registers one routine read asks for (Modbus allows 125).
const MAX_REGISTERS: usize = 100;
/// Most coils or discrete inputs one routine read asks for (Modbus allows 2000).
const MAX_BITS: usize = 800;

/// One routine request.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutineRequest {
    /// Host sending it.
    pub host: HostIdx,
    /// PLC it goes to.
    pub plc: PlcIdx,
    /// Function code (1-4 reads, 43 device identification).
    pub function: u8,
    /// First address.
    pub addr: u16,
    /// Quantity.
    pub count: u16,
    /// Values written (writes: 5, 6, 15, 16).
    pub values: Option<std::sync::Arc<[u16]>>,
    /// The log holds this request as its own transaction (background traffic: set-point
    /// changes, maintenance), where polls are only counted.
    pub logged: bool,
    /// A request of the PLC's IEC 104 station or OPC UA server (`function` is then the
    /// Modbus function it stands for).
    pub native: Option<NativeRequest>,
}

/// A routine request of another protocol than Modbus.
#[derive(Debug, Clone, PartialEq)]
pub enum NativeRequest {
    /// To the IEC 104 station: type, object, value.
    Iec104 {
        /// Type identification.
        type_id: u8,
        /// Information object address.
        ioa: u32,
        /// A command's value.
        value: Option<f64>,
    },
    /// To the OPC UA server: service, variable (point id), value.
    OpcUa {
        /// Service (`opcua::services`).
        service: u8,
        /// The point id of the variable.
        node: std::sync::Arc<str>,
        /// A write's value.
        value: Option<f64>,
    },
}

impl RoutineRequest {
    /// A logged request of the PLC's IEC 104 station or OPC UA server, judged as `function`.
    pub fn native(host: HostIdx, plc: PlcIdx, function: u8, native: NativeRequest) -> RoutineRequest {
        let (addr, count, values, logged, native) = (0, 0, None, true, Some(native));
        RoutineRequest { host, plc, function, addr, count, values, logged, native }
    }

    /// A read (or identification) that the log only counts.
    pub fn read(host: HostIdx, plc: PlcIdx, function: u8, addr: u16, count: u16) -> RoutineRequest {
        RoutineRequest { host, plc, function, addr, count, values: None, logged: false, native: None }
    }
}

/// One host polling one PLC.
#[derive(Debug, Clone)]
struct Poll {
    host: HostIdx,
    plc: PlcIdx,
    period: u64,
    phase: u64,
    requests: Vec<RoutineRequest>,
    /// (sent, failed) per request since the last `routine_traffic` event.
    counts: Vec<(u32, u32)>,
}

/// Every how many sessions an engineering workstation also uploads the PLC's program (a
/// backup, or a comparison with the commissioned one).
const UPLOAD_EVERY: u32 = 3;

/// One engineering workstation's sessions.
#[derive(Debug, Clone)]
struct Sessions {
    host: HostIdx,
    mean: u64,
    /// What a session does with each PLC it services (what its conduits let through).
    plcs: Vec<Vec<RoutineRequest>>,
    /// Whether the conduits let the engineering function through to each PLC it services.
    uploads: Vec<bool>,
    /// Sessions held.
    held: u32,
}

/// The routine traffic of a scenario: polls and session hosts, fixed for the run.
#[derive(Resource, Debug, Default)]
pub struct RoutinePlan {
    polls: Vec<Poll>,
    /// Polls by the tick they are next due at: each tick visits only its own.
    calendar: BTreeMap<u64, Vec<u32>>,
    sessions: Vec<Sessions>,
    /// Each session host's next session: tick and PLC.
    next: Vec<(u64, usize)>,
    rngs: Vec<ChaCha8Rng>,
    /// Requests this tick made, cleared at the start of the next, when a live range puts
    /// them on the wire (`wire`).
    pub due: Vec<RoutineRequest>,
    /// Fill `due`.
    pub wire: bool,
    /// Session counts since the last `routine_traffic` event: (PLC, host, function) -> (sent,
    /// failed).
    counts: BTreeMap<(PlcIdx, HostIdx, u8), (u32, u32)>,
}

/// Maximal runs of mapped addresses of `table`, cut to `max` each: the blocks a poller reads.
fn runs(memory: &Memory, table: Table, max: usize) -> Vec<(u16, u16)> {
    let map = &memory.mapped[table as usize];
    let mut out = Vec::new();
    let mut a = 0;
    while a < map.len() {
        if !map[a] {
            a += 1;
            continue;
        }
        let start = a;
        while a < map.len() && map[a] && a - start < max {
            a += 1;
        }
        out.push((start as u16, (a - start) as u16));
    }
    out
}

impl RoutinePlan {
    /// The plan of `s` for a run seeded by `rng`.
    pub fn new(s: &Scenario, rng: &SimRng) -> RoutinePlan {
        let net = NetState::new(s);
        let reachable = |host: HostIdx, plcs: &Option<Vec<PlcIdx>>| -> Vec<PlcIdx> {
            let all = (0..s.plcs.len() as u32).map(PlcIdx);
            let listed: Vec<PlcIdx> = plcs.clone().unwrap_or_else(|| all.collect());
            listed.into_iter().filter(|p| crate::network::check_connect(s, &net, host, *p).is_ok()).collect()
        };
        // What a host of each role reads of a PLC, keeping to what its conduit lets through.
        let reads = |host: HostIdx, plc: PlcIdx, tables: &[(Table, u8)]| -> Vec<RoutineRequest> {
            let memory = Memory::new(&s.plcs[plc.ix()]);
            let mut out = Vec::new();
            for (table, function) in tables {
                let max = if matches!(table, Table::Coils | Table::DiscreteInputs) {
                    MAX_BITS
                } else {
                    MAX_REGISTERS
                };
                for (addr, count) in runs(&memory, *table, max) {
                    let req = Request {
                        source: host,
                        plc,
                        function: *function,
                        addr,
                        registers: &[],
                        native: None,
                    };
                    if check_request(s, &net, req).is_ok() {
                        out.push(RoutineRequest::read(host, plc, *function, addr, count));
                    }
                }
            }
            out
        };
        let mut polls = Vec::new();
        let mut sessions = Vec::new();
        for r in &s.traffic {
            let role = s.hosts[r.host.ix()].role;
            let plcs = reachable(r.host, &r.plcs);
            if let Some(period) = r.poll_ticks {
                let tables: &[(Table, u8)] = match role {
                    HostRole::Historian => &[(Table::InputRegisters, 4), (Table::DiscreteInputs, 2)],
                    _ => &[
                        (Table::InputRegisters, 4),
                        (Table::HoldingRegisters, 3),
                        (Table::Coils, 1),
                        (Table::DiscreteInputs, 2),
                    ],
                };
                // A station scans every PLC it supervises in one cycle, back to back, as an
                // HMI's or historian's driver does: one phase per host. (Their requests then
                // reach the wire in one burst per cycle, which wakes each event loop once.)
                let phase =
                    rng.stream(&format!("routine:poll:{}", s.hosts[r.host.ix()].id)).random_range(0..period);
                for p in &plcs {
                    let requests = reads(r.host, *p, tables);
                    if !requests.is_empty() {
                        let counts = vec![(0, 0); requests.len()];
                        polls.push(Poll { host: r.host, plc: *p, period, phase, requests, counts });
                    }
                }
            }
            if let Some(mean) = r.session_ticks
                && let Some(x) = Sessions::of(s, &net, r.host, &plcs, mean)
            {
                sessions.push(x);
            }
        }
        let mut rngs: Vec<ChaCha8Rng> = sessions
            .iter()
            .map(|x| rng.stream(&format!("routine:session:{}", s.hosts[x.host.ix()].id)))
            .collect();
        let next = sessions.iter().zip(&mut rngs).map(|(x, r)| draw(x, r, 0)).collect();
        let mut calendar: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
        for (i, p) in polls.iter().enumerate() {
            // First due at the first tick t with (t + phase) a multiple of the period.
            calendar.entry((p.period - p.phase) % p.period).or_default().push(i as u32);
        }
        RoutinePlan {
            polls,
            calendar,
            sessions,
            next,
            rngs,
            due: Vec::new(),
            wire: false,
            counts: BTreeMap::new(),
        }
    }

    /// Requests a session of `host` makes of `plc`: identify the device, read its set points.
    fn session(s: &Scenario, host: HostIdx, plc: PlcIdx) -> Vec<RoutineRequest> {
        let memory = Memory::new(&s.plcs[plc.ix()]);
        let mut out = vec![RoutineRequest::read(host, plc, 43, 0, 0)];
        out.extend(
            runs(&memory, Table::HoldingRegisters, MAX_REGISTERS)
                .into_iter()
                .map(|(addr, count)| RoutineRequest::read(host, plc, 3, addr, count)),
        );
        out
    }

    /// Every (host, PLC) pair the plan makes talk, polls and sessions.
    pub fn talkers(&self) -> impl Iterator<Item = (HostIdx, PlcIdx)> + '_ {
        let polls = self.polls.iter().map(|p| (p.host, p.plc));
        polls.chain(
            self.sessions
                .iter()
                .flat_map(|x| x.plcs.iter().filter_map(move |r| Some((x.host, r.first()?.plc)))),
        )
    }

    /// Polls per simulated second the plan makes (sessions aside).
    pub fn polls_per_s(&self, tick_hz: u32) -> f64 {
        self.polls.iter().map(|p| p.requests.len() as f64 * f64::from(tick_hz) / p.period as f64).sum()
    }
}

impl Sessions {
    /// The sessions `host` holds with `plcs` every `mean` ticks or so: what of a session its
    /// conduits let through to each, and whether they let an upload through; none when they
    /// let nothing through.
    fn of(s: &Scenario, net: &NetState, host: HostIdx, plcs: &[PlcIdx], mean: u64) -> Option<Sessions> {
        let allowed = |plc: PlcIdx, function: u8, addr: u16| {
            check_request(s, net, Request { source: host, plc, function, addr, registers: &[], native: None })
                .is_ok()
        };
        let serviced: Vec<Vec<RoutineRequest>> = plcs
            .iter()
            .map(|p| {
                let all = RoutinePlan::session(s, host, *p);
                all.into_iter().filter(|q| allowed(q.plc, q.function, q.addr)).collect::<Vec<_>>()
            })
            .filter(|reqs| !reqs.is_empty())
            .collect();
        let uploads = serviced.iter().map(|reqs| allowed(reqs[0].plc, ENGINEERING_FUNCTION, 0)).collect();
        (!serviced.is_empty()).then_some(Sessions { host, mean, plcs: serviced, uploads, held: 0 })
    }
}

/// The next session after `after`: an exponential gap around the mean (at least a minute of
/// ticks apart is the validator's business), to a PLC picked at random (its index).
fn draw(x: &Sessions, rng: &mut ChaCha8Rng, after: u64) -> (u64, usize) {
    let u = 1.0 - rng.random::<f64>();
    let gap = (-libm::log(u) * x.mean as f64).clamp(1.0, 10.0 * x.mean as f64) as u64;
    (after + gap, rng.random_range(0..x.plcs.len()))
}

/// Makes this tick's routine requests, judges each against the network and the PLC as they
/// are now, and logs the counts once per sample interval.
pub(super) fn run_routine(world: &mut World) {
    let scenario = world.resource::<Plant>().0.clone();
    if scenario.traffic.is_empty() {
        return;
    }
    let tick = world.resource::<SimClock>().tick;
    // `due` was cleared by the background traffic, which runs first.
    // Taken out for the tick (the judge reads the world meanwhile) by a swap, not a removal:
    // a resource is a component of its own entity, and removing and inserting it moved that
    // entity between archetypes every tick.
    let mut plan = std::mem::take(&mut *world.resource_mut::<RoutinePlan>());
    // While the monitoring learns its baseline, it sees this tick's requests.
    let learning = world.resource::<IdsState>().learning(tick);
    let wire = plan.wire || learning;
    let due = match plan.calendar.first_key_value() {
        Some((t, _)) if *t <= tick => plan.calendar.pop_first().map(|(_, d)| d).unwrap_or_default(),
        _ => Vec::new(),
    };
    for &i in &due {
        let p = &mut plan.polls[i as usize];
        plan.calendar.entry(tick + p.period).or_default().push(i);
        let judge = Judge::new(world, &scenario, p.host, p.plc, tick);
        for (r, c) in p.requests.iter().zip(&mut p.counts) {
            c.0 = c.0.saturating_add(1);
            c.1 = c.1.saturating_add(u32::from(!judge.answers(r.function)));
        }
        if wire {
            plan.due.extend_from_slice(&p.requests);
        }
    }
    for k in 0..plan.sessions.len() {
        let (at, which) = plan.next[k];
        if tick < at {
            continue;
        }
        let requests = plan.sessions[k].plcs[which].clone();
        let judge = Judge::new(world, &scenario, requests[0].host, requests[0].plc, tick);
        for r in requests {
            let c = plan.counts.entry((r.plc, r.host, r.function)).or_default();
            c.0 = c.0.saturating_add(1);
            c.1 = c.1.saturating_add(u32::from(!judge.answers(r.function)));
            if wire {
                plan.due.push(r);
            }
        }
        // Now and then the engineer also uploads the program: logged as a transaction of its
        // own, which the monitoring may flag like an attacker's.
        let x = &mut plan.sessions[k];
        x.held += 1;
        if x.held.is_multiple_of(UPLOAD_EVERY) && x.uploads[which] {
            let (host, plc) = (x.host, x.plcs[which][0].plc);
            let input = SimInput::Engineering {
                plc: scenario.plcs[plc.ix()].id.clone(),
                source: scenario.hosts[host.ix()].id.clone(),
                command: EngineeringCommand::Upload,
            };
            // Like the attacker's engineering commands, it stays off the wire: its framing is
            // the vendor's (the captures leave function 90 out too).
            let _ = crate::systems::inputs::apply_logged(world, tick, input);
        }
        plan.next[k] = draw(&plan.sessions[k], &mut plan.rngs[k], tick);
    }
    if learning {
        let mut ids = world.resource_mut::<IdsState>();
        // Background traffic meets the monitoring as its own transactions.
        for r in plan.due.iter().filter(|r| !r.logged) {
            ids.learn(r.host, r.plc, r.function);
        }
        if !plan.wire {
            plan.due.clear();
        }
    }
    if tick.is_multiple_of(scenario.sample_ticks) {
        let mut counts = std::mem::take(&mut plan.counts);
        for p in &mut plan.polls {
            for (r, c) in p.requests.iter().zip(&mut p.counts) {
                if c.0 > 0 {
                    let e = counts.entry((r.plc, r.host, r.function)).or_default();
                    (e.0, e.1) = (e.0.saturating_add(c.0), e.1.saturating_add(c.1));
                    *c = (0, 0);
                }
            }
        }
        if !counts.is_empty() {
            let entries = counts
                .into_iter()
                .map(|((plc, host, function), (count, exceptions))| TrafficCount {
                    plc: scenario.plcs[plc.ix()].id.clone(),
                    source: scenario.hosts[host.ix()].id.clone(),
                    function: Some(function),
                    count,
                    exceptions,
                })
                .collect();
            world.resource_mut::<EventLog>().push(tick, EventKind::RoutineTraffic { entries });
        }
    }
    *world.resource_mut::<RoutinePlan>() = plan;
}

/// Whether one host's requests to one PLC get answers this tick: the network lets them through
/// (the conduit's functions judged per request) and the PLC talks.
struct Judge<'a> {
    route: Result<Option<&'a crate::scenario::FirewallPolicy>, crate::event::RejectReason>,
    talks: bool,
}

impl<'a> Judge<'a> {
    fn new(world: &'a World, s: &Scenario, host: HostIdx, plc: PlcIdx, tick: u64) -> Judge<'a> {
        let route = crate::network::check_connect(s, world.resource::<NetState>(), host, plc);
        let e = world.resource::<Entities>().plcs[plc.ix()];
        let state = world.get::<PlcState>(e).expect("PLC entities live as long as the world");
        let talks = !state.listen_only && state.restart_until.is_none() && !state.flooded(tick);
        Judge { route, talks }
    }

    fn answers(&self, function: u8) -> bool {
        self.talks
            && match self.route {
                Ok(None) => true,
                Ok(Some(p)) => p.allow_functions.is_empty() || p.allow_functions.contains(&function),
                Err(_) => false,
            }
    }
}
