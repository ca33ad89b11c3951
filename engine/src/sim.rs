//! `Sim`: a plant you can step. The one entry point to the simulation core.
//!
//! `Sim::step` applies the given inputs at the start of the next tick, runs the tick's
//! schedule, and returns the events that tick produced. Nothing else advances time.

use std::collections::BTreeMap;
use std::sync::Arc;

use bevy_ecs::prelude::*;

use crate::event::{EventKind, EventLog, RejectReason, SimEvent};
use crate::input::{SimInput, TimedInput};
use crate::network::NetState;
use crate::scenario::Scenario;
use crate::snapshot::{PlcView, Snapshot};
use crate::systems::attacker::{AttackMode, AttackOutbox, AttackState, Intent};
use crate::systems::routine::{RoutinePlan, RoutineRequest};
use crate::systems::tick_schedule;
use crate::world::{Entities, FieldBus, InputQueue, Outcomes, PlcState, Process, SimClock, spawn_plant};

/// A running simulation.
pub struct Sim {
    world: World,
    schedule: Schedule,
    scenario: Arc<Scenario>,
}

impl Sim {
    /// Builds the plant of `scenario` at tick 0, seeded with `seed`.
    pub fn new(scenario: Arc<Scenario>, seed: u64) -> Sim {
        let world = spawn_plant(scenario.clone(), seed);
        Sim { world, schedule: tick_schedule(), scenario }
    }

    /// Hands the attack's Modbus actions to a live attacker (see `AttackMode::Live`); take
    /// them after each step with `take_attack_intents`.
    pub fn set_live_attacker(&mut self) {
        if self.world.contains_resource::<AttackMode>() {
            self.world.insert_resource(AttackMode::Live);
        }
    }

    /// Keeps each tick's routine requests for a live range to put on the wire
    /// (`routine_due`).
    pub fn set_routine_wire(&mut self) {
        self.world.resource_mut::<RoutinePlan>().wire = true;
    }

    /// The routine requests of the last tick, when `set_routine_wire` was called.
    pub fn routine_due(&self) -> &[RoutineRequest] {
        &self.world.resource::<RoutinePlan>().due
    }

    /// Modbus actions the attacker decided in the last steps, for the live attacker.
    pub fn take_attack_intents(&mut self) -> Vec<Intent> {
        match self.world.get_resource_mut::<AttackOutbox>() {
            Some(mut outbox) => std::mem::take(&mut outbox.intents),
            None => Vec::new(),
        }
    }

    /// After a re-run from records: keeps the intents still waiting for a result (a crash or a
    /// lost node came between the attempt and its recorded result) for the live attacker to
    /// carry out, and drops the rest: they were carried out, and their results are among the
    /// inputs. Without this a resumed drill's step would wait for its result forever.
    pub fn keep_unanswered_intents(&mut self) {
        let (Some(plan), Some(state)) = (&self.scenario.attack, self.world.get_resource::<AttackState>())
        else {
            return;
        };
        let waiting: Vec<bool> = {
            let outbox = self.world.resource::<AttackOutbox>();
            outbox.intents.iter().map(|i| state.awaiting(plan, &i.step, i.attempt).is_some()).collect()
        };
        let mut waiting = waiting.into_iter();
        self.world.resource_mut::<AttackOutbox>().intents.retain(|_| waiting.next().unwrap_or(false));
    }

    /// The host the attacker now acts from, if the scenario has an attack.
    pub fn attacker_host(&self) -> Option<crate::scenario::HostIdx> {
        self.world.get_resource::<AttackState>().map(|a| a.host)
    }

    /// The scenario.
    pub fn scenario(&self) -> &Arc<Scenario> {
        &self.scenario
    }

    /// Ticks completed so far; the next `step` computes this tick.
    pub fn tick(&self) -> u64 {
        self.world.resource::<SimClock>().tick
    }

    /// Applies `inputs` (in order) and runs one tick. Returns the events of that tick.
    pub fn step(&mut self, inputs: impl IntoIterator<Item = SimInput>) -> &[SimEvent] {
        self.world.resource_mut::<EventLog>().trim();
        let before = self.event_count();
        self.world.resource_mut::<InputQueue>().pending.extend(inputs);
        self.schedule.run(&mut self.world);
        self.world.resource::<EventLog>().since(before)
    }

    /// Keeps only about `window` recent events in memory from now on (a live range, whose log
    /// is published and recorded tick by tick); `events` then returns that tail. Headless runs
    /// keep the whole log.
    pub fn set_event_window(&mut self, window: usize) {
        self.world.resource_mut::<EventLog>().set_window(window);
    }

    /// Takes a copy of the log's tail kept elsewhere as the retained log (a live range keeps
    /// one window of events, the published one, and hands it back when it stops). `false`,
    /// and nothing changed, when `events` (seqs from `first_seq`) are not the log's tail.
    pub fn adopt_events(&mut self, first_seq: u64, events: Vec<SimEvent>) -> bool {
        self.world.resource_mut::<EventLog>().adopt(first_seq, events)
    }

    /// Retained events with `seq >= seq`: after a `step`, `events_since(count before it)` is
    /// that tick's events.
    pub fn events_since(&self, seq: u64) -> &[SimEvent] {
        self.world.resource::<EventLog>().since(seq)
    }

    /// Events logged so far, including any a window has forgotten: the next event's seq.
    pub fn event_count(&self) -> u64 {
        self.world.resource::<EventLog>().len()
    }

    /// Like `step`, but returns what became of each input, in order: applied, or refused and
    /// why. The live runtime answers Modbus writes from this.
    pub fn step_outcomes(
        &mut self,
        inputs: impl IntoIterator<Item = SimInput>,
    ) -> Vec<Result<(), RejectReason>> {
        self.step(inputs);
        std::mem::take(&mut self.world.resource_mut::<Outcomes>().0)
    }

    /// `step_outcomes`, also handing back the inputs it applied, in order (for a recorder:
    /// no copy of them is made).
    pub fn step_recorded(
        &mut self,
        inputs: impl IntoIterator<Item = SimInput>,
    ) -> (Vec<Result<(), RejectReason>>, Vec<SimInput>) {
        let outcomes = self.step_outcomes(inputs);
        (outcomes, std::mem::take(&mut self.world.resource_mut::<InputQueue>().applied))
    }

    /// A copy of what the network may read: PLC memories and modes, conduit policies.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_sharing(None)
    }

    /// A snapshot that shares with `previous` the view of every PLC that did not change since
    /// (mode, communications and all four tables as the network sees them): a live range
    /// publishes one every tick, and most PLCs' memory is the same tick to tick.
    pub fn snapshot_after(&self, previous: &Snapshot) -> Snapshot {
        self.snapshot_sharing(Some(previous))
    }

    fn snapshot_sharing(&self, previous: Option<&Snapshot>) -> Snapshot {
        let entities = self.world.resource::<Entities>();
        let tick = self.tick();
        let plcs = entities
            .plcs
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let p = self.world.get::<PlcState>(*e).expect("PLC entities live as long as the world");
                let flooded = p.flooded(tick);
                let flags = (p.mode, p.listen_only, p.restart_until.is_some(), flooded);
                if let Some(old) = previous.and_then(|s| s.plcs.get(i))
                    && (old.mode, old.listen_only, old.restarting, old.flooded) == flags
                    && p.spoofs.is_empty()
                    && same_tables(&old.memory, &p.memory)
                {
                    return old.clone();
                }
                let mut memory = p.memory.clone();
                p.spoof_into(&mut memory.input);
                Arc::new(PlcView {
                    mode: flags.0,
                    listen_only: flags.1,
                    restarting: flags.2,
                    flooded,
                    memory,
                })
            })
            .collect();
        let net = self.world.resource::<NetState>().clone();
        let net_screen = net.operator_screen(&self.world.resource::<crate::world::Plant>().0);
        let bus = self.world.resource::<FieldBus>();
        Snapshot {
            tick: self.tick(),
            plcs,
            net,
            events: self.event_count(),
            attacker_host: self.attacker_host(),
            vars: self.world.resource::<Process>().values.clone(),
            field: Arc::new(crate::snapshot::Field::of(bus)),
            screen: net_screen,
            local: bus.local.clone(),
        }
    }

    /// Runs until `tick() == end`, applying each of `inputs` whose tick is in
    /// `tick()..end` at the start of that tick. `inputs` must be sorted by tick (as
    /// `parse_inputs` guarantees); inputs before `tick()` count as already applied, so a long
    /// run can be done in slices over the same list.
    pub fn run_until(&mut self, end: u64, inputs: &[TimedInput]) {
        let mut next = inputs.partition_point(|i| i.tick < self.tick());
        while self.tick() < end {
            let t = self.tick();
            let start = next;
            while next < inputs.len() && inputs[next].tick == t {
                next += 1;
            }
            self.step(inputs[start..next].iter().map(|i| i.input.clone()));
        }
    }

    /// The event log: the whole of it, or its recent tail when a window was set
    /// (`set_event_window`).
    pub fn events(&self) -> &[SimEvent] {
        self.world.resource::<EventLog>().events()
    }

    /// The event log as JSON Lines, one event per line, each line ending in `\n`.
    pub fn events_jsonl(&self) -> String {
        let mut out = String::new();
        for e in self.events() {
            out.push_str(&e.to_json());
            out.push('\n');
        }
        out
    }

    /// True value of a process variable.
    pub fn true_value(&self, var: &str) -> Option<f64> {
        let i = self.scenario.var(var)?;
        Some(self.world.resource::<Process>().values[i.ix()])
    }

    /// Measured value of a sensor (switches as 0 or 1).
    pub fn measured(&self, sensor: &str) -> Option<f64> {
        let i = self.scenario.sensor(sensor)?;
        Some(self.world.resource::<FieldBus>().measured[i.ix()])
    }

    /// Position of an actuator, 0..=1.
    pub fn actuator_position(&self, actuator: &str) -> Option<f64> {
        let i = self.scenario.actuator(actuator)?;
        Some(self.world.resource::<FieldBus>().actuator_pos[i.ix()])
    }

    /// A PLC's mode, memory and program state.
    pub fn plc(&self, id: &str) -> Option<&PlcState> {
        let i = self.scenario.plc(id)?;
        let e = self.world.resource::<Entities>().plcs[i.ix()];
        self.world.get::<PlcState>(e)
    }

    /// Read access to the world, for snapshots.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Counts of the log's events by kind, and the totals a drill cares about.
    pub fn summary(&self) -> Summary {
        let log = self.world.resource::<EventLog>();
        let mut by_kind = log.forgotten().clone();
        let mut trips = by_kind.get("interlock_tripped").copied().unwrap_or(0);
        let mut damage = by_kind.get("damage").copied().unwrap_or(0);
        for e in self.events() {
            *by_kind.entry(e.kind.name()).or_insert(0) += 1;
            match e.kind {
                EventKind::InterlockTripped { .. } => trips += 1,
                EventKind::Damage { .. } => damage += 1,
                _ => {}
            }
        }
        Summary { ticks: self.tick(), events: log.len() as usize, by_kind, trips, damage }
    }
}

/// What a run did, in numbers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Ticks run.
    pub ticks: u64,
    /// Events logged.
    pub events: usize,
    /// Events by kind.
    pub by_kind: BTreeMap<&'static str, usize>,
    /// Interlock trips.
    pub trips: usize,
    /// Damage events.
    pub damage: usize,
}

/// Whether two PLC memories hold the same values (the address map is fixed by the scenario
/// and shared, so compared by pointer).
fn same_tables(a: &crate::world::Memory, b: &crate::world::Memory) -> bool {
    // Input registers first: they follow the measurements, so they are what changes most
    // ticks, and a difference found there spares comparing the rest.
    Arc::ptr_eq(&a.mapped, &b.mapped)
        && a.input == b.input
        && a.holding == b.holding
        && a.coils == b.coils
        && a.discrete == b.discrete
}
