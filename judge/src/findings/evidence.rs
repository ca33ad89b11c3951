//! One pass through a team's log gathering what every findings rule looks at.

use std::collections::BTreeMap;

use icsdrill_engine::attack::Step;
use icsdrill_engine::event::{EventKind, RejectReason, SimEvent};
use icsdrill_engine::input::SimInput;
use icsdrill_engine::scenario::Scenario;

/// What the rules need to know about one attack step as it ran.
#[derive(Debug, Default, Clone)]
pub(super) struct StepRun {
    /// Seqs of its attempts.
    pub(super) attempts: Vec<u64>,
    /// Seqs of its successful attempts.
    pub(super) ok: Vec<u64>,
    /// Hosts it acted from.
    pub(super) hosts: Vec<String>,
}

/// What the log shows, for the rules.
pub(super) struct Evidence<'a> {
    /// The log (or its judged events).
    pub(super) events: &'a [SimEvent],
    /// The attack's steps, in plan order.
    pub(super) steps: Vec<&'a Step>,
    /// Each step's attempts, by id.
    pub(super) runs: BTreeMap<&'a str, StepRun>,
    /// Damage events.
    pub(super) damage: Vec<&'a SimEvent>,
    /// PLC id -> seqs of accepted writes outside a register's range, while unchecked.
    pub(super) range_breaches: BTreeMap<String, Vec<u64>>,
    /// PLC id -> seqs of program changes away from the backup.
    pub(super) changed_programs: BTreeMap<String, Vec<u64>>,
    /// PLC id -> seqs of refused restores (no backup).
    pub(super) no_backup: BTreeMap<String, Vec<u64>>,
    /// (PLC id, alarm id) -> (seqs raised, acknowledged at all).
    pub(super) alarms: BTreeMap<(String, String), (Vec<u64>, bool)>,
    /// Interlock id -> (PLC id, seqs of its bypass set and cleared, set at the last of them).
    pub(super) bypasses: BTreeMap<String, (String, Vec<u64>, bool)>,
    /// Incident reports: the event, technique, asset.
    pub(super) reports: Vec<(&'a SimEvent, String, String)>,
    /// The tick the drill ended at (at least its last event's).
    pub(super) end: u64,
    /// What the team's actions left standing at the end, each by the (seq, tick) of the action
    /// that did it: PLCs whose range checks it turned on, hosts it isolated, and (conduit, host)
    /// pairs it blocked.
    pub(super) standing: Standing,
}

/// Defences the team put up during the drill that still stood at its end, each by the (seq,
/// tick) of the input that put it up.
#[derive(Debug, Default)]
pub(super) struct Standing {
    /// PLC id -> range checks turned on (M0818).
    pub(super) range_checks: BTreeMap<String, (u64, u64)>,
    /// Host id -> cut off the network.
    pub(super) isolated: BTreeMap<String, (u64, u64)>,
    /// (Conduit id, host id) -> host refused on the conduit.
    pub(super) blocked: BTreeMap<(String, String), (u64, u64)>,
}

impl<'a> Evidence<'a> {
    /// Reads the log once.
    pub(super) fn gather(s: &'a Scenario, events: &'a [SimEvent]) -> Evidence<'a> {
        let mut ev = Evidence {
            events,
            steps: s.attack.as_ref().map(|p| p.steps.iter().collect()).unwrap_or_default(),
            runs: BTreeMap::new(),
            damage: Vec::new(),
            range_breaches: BTreeMap::new(),
            changed_programs: BTreeMap::new(),
            no_backup: BTreeMap::new(),
            alarms: BTreeMap::new(),
            bypasses: BTreeMap::new(),
            reports: Vec::new(),
            end: events.last().map_or(0, |e| e.tick),
            standing: Standing::default(),
        };
        let mut range_checked: Vec<String> =
            s.plcs.iter().filter(|p| p.range_checks).map(|p| p.id.clone()).collect();
        for e in events {
            match &e.kind {
                EventKind::AttackAttempt { step, host, ok, .. } => {
                    let r = ev.runs.entry(step.as_str()).or_default();
                    r.attempts.push(e.seq);
                    if *ok {
                        r.ok.push(e.seq);
                    }
                    if !r.hosts.contains(host) {
                        r.hosts.push(host.clone());
                    }
                }
                EventKind::Damage { .. } => ev.damage.push(e),
                // A set point over any protocol (over IEC 104 or OPC UA, the register write it
                // stands for).
                EventKind::ModbusTransaction(_)
                | EventKind::Iec104Transaction(_)
                | EventKind::OpcUaTransaction(_) => {
                    if let Some((plc, w)) = s.write_of_transaction(&e.kind)
                        && !range_checked.iter().any(|p| p == plc)
                        && w.to_registers()
                        && outside_range(s, plc, w.addr, &w.values)
                    {
                        ev.range_breaches.entry(plc.to_string()).or_default().push(e.seq);
                    }
                }
                EventKind::ProgramChanged { plc, matches_backup: false, .. } => {
                    ev.changed_programs.entry(plc.clone()).or_default().push(e.seq);
                }
                EventKind::InputRejected { input: SimInput::RestoreProgram { plc }, reason }
                    if *reason == RejectReason::NoBackup =>
                {
                    ev.no_backup.entry(plc.clone()).or_default().push(e.seq);
                }
                EventKind::InputApplied { input: SimInput::EnableRangeChecks { plc } }
                    if !range_checked.contains(plc) =>
                {
                    range_checked.push(plc.clone());
                    ev.standing.range_checks.insert(plc.clone(), (e.seq, e.tick));
                }
                EventKind::InputApplied { input } => ev.standing.apply(input, (e.seq, e.tick)),
                EventKind::InterlockBypass { plc, interlock, on } => {
                    let b = ev
                        .bypasses
                        .entry(interlock.clone())
                        .or_insert_with(|| (plc.clone(), Vec::new(), false));
                    b.1.push(e.seq);
                    b.2 = *on;
                }
                EventKind::AlarmRaised { plc, alarm, .. } => {
                    ev.alarms.entry((plc.clone(), alarm.clone())).or_default().0.push(e.seq);
                }
                EventKind::AlarmAcknowledged { plc, alarm } => {
                    ev.alarms.entry((plc.clone(), alarm.clone())).or_default().1 = true;
                }
                EventKind::IncidentReported(icsdrill_engine::IncidentReport { technique, asset, .. }) => {
                    ev.reports.push((e, technique.clone(), asset.clone()))
                }
                _ => {}
            }
        }
        ev
    }

    /// The attack step `id` as it ran, if it ran.
    pub(super) fn run(&self, id: &str) -> Option<&StepRun> {
        self.runs.get(id)
    }
}

impl Standing {
    /// A defender's network action applied at `at`: isolating or restoring a host, blocking a
    /// host on a conduit, or putting a conduit's policy back as the scenario had it.
    fn apply(&mut self, input: &SimInput, at: (u64, u64)) {
        match input {
            SimInput::IsolateHost { host } => {
                self.isolated.entry(host.clone()).or_insert(at);
            }
            SimInput::RestoreHost { host } => {
                self.isolated.remove(host);
            }
            SimInput::BlockSource { conduit, host } => {
                self.blocked.entry((conduit.clone(), host.clone())).or_insert(at);
            }
            SimInput::ResetConduit { conduit } => self.blocked.retain(|(c, _), _| c != conduit),
            _ => {}
        }
    }
}

/// Whether a write of `values` from `addr` to PLC `plc` puts a register outside its range.
fn outside_range(s: &Scenario, plc: &str, addr: u16, values: &[u16]) -> bool {
    let Some(p) = s.plc(plc) else { return false };
    let def = &s.plcs[p.ix()];
    def.written(addr, values, None).any(|(h, v)| h.range.is_some_and(|[lo, hi]| v < lo || v > hi))
}
