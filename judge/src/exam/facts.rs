//! What an exam's log shows, gathered in one pass, and the safety gate.

use std::collections::BTreeMap;

use icsdrill_engine::attack::{Action, Step};
use icsdrill_engine::event::{EventKind, RejectReason, SimEvent};
use icsdrill_engine::input::ModbusTransaction;
use icsdrill_engine::input::{PlcMode, SimInput};
use icsdrill_engine::scenario::{PlcIdx, PlcRole, Scenario, Text};
use icsdrill_engine::{Iec104Transaction, OpcUaTransaction};

/// What the tasks are checked against.
#[derive(Debug, Default)]
pub(super) struct Facts {
    /// Hosts the attacker acted from.
    pub(super) attacker_hosts: Vec<String>,
    /// The first containing action's tick.
    pub(super) first_contain: Option<u64>,
    /// Attack attempts the network blocked after the first containment.
    pub(super) blocked_after: u32,
    /// Attack attempts with an effect after the first containment.
    pub(super) impact_after: u32,
    /// Of those, on a safety PLC.
    pub(super) safety_hits_after: u32,
    /// PLCs the attack's steps that fired write (a step that never fired sets nothing to
    /// harden against: an escalation the trainee's containment forestalled).
    pub(super) attacked_writes: Vec<String>,
    /// PLCs the attack plan writes, fired or not: a PLC it targets with no range checks is a
    /// hazard of the plant's design whether or not the trainee let it get that far.
    pub(super) planned_writes: Vec<String>,
    /// PLCs the attack changed.
    pub(super) effect_plcs: Vec<String>,
    /// What the attack wrote, by PLC: each coil (`true`) or holding word it set, and whether
    /// that address holds other than its commissioned value now.
    pub(super) tampered: BTreeMap<String, BTreeMap<(bool, u16), bool>>,
    /// PLCs whose logic the attack changed (a download), and whether it is still changed.
    pub(super) program_changed: BTreeMap<String, bool>,
    /// PLCs the attack stopped or restarted, and whether they are still out of their run.
    pub(super) mode_changed: BTreeMap<String, bool>,
    /// PLCs the trainee turned range checks on for.
    pub(super) range_checked: Vec<String>,
    /// PLCs the trainee put a write window on.
    pub(super) restricted: Vec<String>,
    /// A function-code allow-list was applied.
    pub(super) allow_listed: bool,
    /// Hazards declared, by finding id or cause.
    pub(super) declared: Vec<String>,
    /// Equipment was damaged.
    pub(super) damage: bool,
}

/// The PLC an attack step changes in a way a restore puts right, if any (a PLC forced into
/// listen-only is restarted, not restored).
fn target(st: &Step) -> Option<PlcIdx> {
    match &st.action {
        Action::ListenOnly { .. } => None,
        action => action.changes(),
    }
}

/// The PLC an attack step writes to (registers, coils, a command, a write, a download).
fn written_plc(st: &Step) -> Option<PlcIdx> {
    match &st.action {
        Action::WriteRegisters { plc, .. }
        | Action::WriteCoils { plc, .. }
        | Action::Iec104Command { plc, .. }
        | Action::OpcUaWrite { plc, .. }
        | Action::Download { plc, .. } => Some(*plc),
        _ => None,
    }
}

fn push_new(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|x| x == id) {
        list.push(id.to_string());
    }
}

impl Facts {
    /// Reads the log once.
    pub(super) fn gather(s: &Scenario, events: &[SimEvent]) -> Facts {
        let steps = s.attack.as_ref().map(|p| p.steps.as_slice()).unwrap_or_default();
        let mut f = Facts::default();
        for st in steps {
            if let Some(p) = written_plc(st) {
                push_new(&mut f.planned_writes, &s.plcs[p.ix()].id);
            }
        }
        for e in events {
            match &e.kind {
                EventKind::AttackAttempt { step, host, ok, reason, .. } => {
                    push_new(&mut f.attacker_hosts, host);
                    let Some(st) = steps.iter().find(|x| x.id == *step) else { continue };
                    if let Some(p) = written_plc(st) {
                        push_new(&mut f.attacked_writes, &s.plcs[p.ix()].id);
                    }
                    f.attempt(s, e.tick, target(st), *ok, *reason);
                    if *ok {
                        f.attack_changed(s, st);
                    }
                }
                // A write over any protocol: what it wrote, as Modbus.
                EventKind::ModbusTransaction(_)
                | EventKind::Iec104Transaction(_)
                | EventKind::OpcUaTransaction(_) => {
                    if let Some((plc, w)) = s.write_of_transaction(&e.kind) {
                        f.written(s, plc, w.to_coils(), w.addr, &w.values, false);
                    }
                }
                EventKind::InputApplied { input } => f.applied(s, e.tick, input),
                EventKind::Damage { .. } => f.damage = true,
                _ => {}
            }
        }
        f
    }

    /// Whether the attack's changes to `plc` are all undone: every coil and word it wrote
    /// holds its commissioned value again (a restore action, or the operator writing it back
    /// from the HMI), and its logic is the commissioned one.
    pub(super) fn restored(&self, plc: &str) -> bool {
        self.tampered.get(plc).is_none_or(|a| a.values().all(|changed| !changed))
            && !self.program_changed.get(plc).copied().unwrap_or(false)
            && !self.mode_changed.get(plc).copied().unwrap_or(false)
    }

    /// A successful attack step's change: the addresses it wrote, or the logic it replaced.
    fn attack_changed(&mut self, s: &Scenario, st: &Step) {
        match s.write_of_action(&st.action) {
            Some((p, w)) => self.written(s, &s.plcs[p.ix()].id, w.to_coils(), w.addr, &w.values, true),
            None => {
                let Some(p) = target(st) else { return };
                let changed = match st.action {
                    Action::Download { .. } => &mut self.program_changed,
                    _ => &mut self.mode_changed,
                };
                changed.insert(s.plcs[p.ix()].id.clone(), true);
            }
        }
    }

    /// A write to `plc` took effect: the addresses the attack set are changed or back to
    /// their commissioned values (`by_attack`: these are the attack's own).
    fn written(&mut self, s: &Scenario, plc: &str, coils: bool, addr: u16, values: &[u16], by_attack: bool) {
        let Some(p) = s.plc(plc) else { return };
        let def = &s.plcs[p.ix()];
        // Only what the attack wrote is followed: another write to a PLC it left alone (the
        // operator station's routine writes) costs nothing.
        let tampered = match (self.tampered.get_mut(plc), by_attack) {
            (Some(t), _) => t,
            (None, true) => self.tampered.entry(plc.to_string()).or_default(),
            (None, false) => return,
        };
        for (i, v) in values.iter().enumerate() {
            let a = addr.wrapping_add(i as u16);
            let commissioned = if coils {
                def.coils.iter().find(|c| c.addr == a).map(|c| u16::from(c.initial))
            } else {
                def.holding_at(a).map(|(_, h)| h.initial_words[usize::from(a - h.addr)])
            };
            let Some(commissioned) = commissioned else { continue };
            if by_attack || tampered.contains_key(&(coils, a)) {
                tampered.insert((coils, a), *v != commissioned);
            }
        }
    }

    fn attempt(
        &mut self,
        s: &Scenario,
        tick: u64,
        target: Option<PlcIdx>,
        ok: bool,
        reason: Option<RejectReason>,
    ) {
        if ok && let Some(p) = target {
            push_new(&mut self.effect_plcs, &s.plcs[p.ix()].id);
        }
        if self.first_contain.is_some_and(|c| tick >= c) {
            if !ok && reason.is_some_and(RejectReason::by_network) {
                self.blocked_after += 1;
            }
            if ok && let Some(p) = target {
                self.impact_after += 1;
                if s.plcs[p.ix()].role == PlcRole::Safety {
                    self.safety_hits_after += 1;
                }
            }
        }
    }

    fn applied(&mut self, s: &Scenario, tick: u64, input: &SimInput) {
        match input {
            SimInput::BlockSource { .. }
            | SimInput::IsolateHost { .. }
            | SimInput::AllowFunctions { .. }
            | SimInput::RestrictWrites { .. } => {
                self.first_contain.get_or_insert(tick);
                match input {
                    SimInput::AllowFunctions { .. } => self.allow_listed = true,
                    SimInput::RestrictWrites { plc, .. } => self.restricted.push(plc.clone()),
                    _ => {}
                }
            }
            SimInput::EnableRangeChecks { plc } => self.range_checked.push(plc.clone()),
            // The commissioned set points back (coils stay as they are: an interlock bypass is
            // taken off by writing its coil).
            SimInput::RestoreSetpoints { plc } => {
                self.mode_changed.remove(plc.as_str());
                if let (Some(p), Some(tampered)) = (s.plc(plc), self.tampered.get_mut(plc.as_str())) {
                    let def = &s.plcs[p.ix()];
                    for ((coil, a), changed) in tampered.iter_mut() {
                        if !*coil && def.holding_at(*a).is_some() {
                            *changed = false;
                        }
                    }
                }
            }
            // The interlock bypasses off: their coils hold their commissioned value again.
            SimInput::ClearBypasses { plc } => {
                if let (Some(p), Some(tampered)) = (s.plc(plc), self.tampered.get_mut(plc.as_str())) {
                    let bypasses: Vec<u16> = s.bypass_coils(p).collect();
                    for ((coil, a), changed) in tampered.iter_mut() {
                        if *coil && bypasses.contains(a) {
                            *changed = false;
                        }
                    }
                }
            }
            SimInput::RestoreProgram { plc } | SimInput::ReplaceModule { plc } => {
                self.program_changed.remove(plc.as_str());
                self.mode_changed.remove(plc.as_str());
            }
            // Back in run (a restart, or the mode set by hand).
            SimInput::RestartPlc { plc } | SimInput::SetMode { plc, mode: PlcMode::Run } => {
                self.mode_changed.remove(plc.as_str());
            }
            SimInput::DeclareHazard { id } => push_new(&mut self.declared, id),
            _ => {}
        }
    }
}

/// The trainee's harm to safety: an interlock bypass set by the trainee, or a PLC the trainee
/// stopped or restarted shortly before a trip or damage.
pub(super) fn safety_violation(s: &Scenario, events: &[SimEvent], attacker_hosts: &[String]) -> Option<Text> {
    let window = 120 * u64::from(s.tick_hz);
    // The attacker's own bypass writes come from its hosts, which may be the trainee's too (an
    // engineering workstation): as many writes of a coil as the attack tried are its.
    let mut attackers = attack_bypass_writes(s, events);
    let mut trainee_sets = |source: &str, plc: &str, coil: Option<u16>| -> Option<Text> {
        let a = coil?;
        let budget = attackers.get_mut(&(plc.to_string(), a)).filter(|n| **n > 0);
        match budget {
            Some(n) if attacker_hosts.iter().any(|h| h == source) => {
                *n -= 1;
                None
            }
            _ => Some(Text::new(
                format!("set the interlock bypass coil {a} of {plc} (loss of safety)"),
                format!("置位了 {plc} 的联锁旁路线圈 {a}（失去安全保护）"),
            )),
        }
    };
    let mut risky: Vec<(u64, Text)> = Vec::new();
    let recent = |risky: &[(u64, Text)], tick: u64| {
        risky.iter().rev().find(|(t, _)| tick >= *t && tick - *t <= window).map(|(_, what)| what.clone())
    };
    for e in events {
        match &e.kind {
            // A coil write over any protocol (a command over IEC 104 or a write over OPC UA
            // is the coil write it stands for).
            EventKind::ModbusTransaction(ModbusTransaction { plc, source, .. })
            | EventKind::Iec104Transaction(Iec104Transaction { plc, source, .. })
            | EventKind::OpcUaTransaction(OpcUaTransaction { plc, source, .. }) => {
                let bypass = s
                    .write_of_transaction(&e.kind)
                    .filter(|(_, w)| w.to_coils())
                    .and_then(|(_, w)| bypass_set(s, plc, w.addr, &w.values));
                if let Some(v) = trainee_sets(source, plc, bypass) {
                    return Some(v);
                }
            }
            EventKind::InputApplied { input: SimInput::RestartPlc { plc } } => {
                risky.push((e.tick, Text::new(format!("restarted {plc}"), format!("重启了 {plc}"))))
            }
            EventKind::InputApplied { input: SimInput::SetMode { plc, mode } } if *mode != PlcMode::Run => {
                risky.push((e.tick, Text::new(format!("stopped {plc}"), format!("停止了 {plc}"))))
            }
            EventKind::Damage { var, .. } => {
                if let Some(what) = recent(&risky, e.tick) {
                    return Some(Text::new(
                        format!("{} shortly before damage to {var}", what.en),
                        format!("{}后不久 {var} 设备损坏", what.zh),
                    ));
                }
            }
            EventKind::InterlockTripped { interlock, .. } => {
                if let Some(what) = recent(&risky, e.tick) {
                    return Some(Text::new(
                        format!("{} shortly before interlock {interlock} tripped", what.en),
                        format!("{}后不久联锁 {interlock} 动作", what.zh),
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// The safety PLCs whose interlock bypass the attack set, once each (what a report says of a
/// drill in which no interlock tripped because the attacker had disabled it).
pub fn attack_bypassed(s: &Scenario, events: &[SimEvent]) -> Vec<String> {
    let mut plcs: Vec<String> = attack_bypass_writes(s, events).into_keys().map(|(plc, _)| plc).collect();
    plcs.dedup();
    plcs
}

/// How many times the attack set each interlock bypass coil, by (PLC id, address).
fn attack_bypass_writes(s: &Scenario, events: &[SimEvent]) -> std::collections::BTreeMap<(String, u16), u32> {
    let mut out = std::collections::BTreeMap::new();
    let Some(plan) = &s.attack else { return out };
    for e in events {
        let EventKind::AttackAttempt { step, ok: true, .. } = &e.kind else { continue };
        let Some(st) = plan.steps.iter().find(|st| st.id == *step) else { continue };
        if let Some((plc, w)) = s.write_of_action(&st.action).filter(|(_, w)| w.to_coils())
            && let Some(a) = bypass_set(s, &s.plcs[plc.ix()].id, w.addr, &w.values)
        {
            *out.entry((s.plcs[plc.ix()].id.clone(), a)).or_insert(0) += 1;
        }
    }
    out
}

/// The address of an interlock bypass coil a coil write to `plc` sets, if it sets one.
fn bypass_set(s: &Scenario, plc: &str, addr: u16, values: &[u16]) -> Option<u16> {
    let bypasses: Vec<u16> = s.bypass_coils(s.plc(plc)?).collect();
    values.iter().enumerate().find_map(|(i, v)| {
        let a = addr.wrapping_add(i as u16);
        (bypasses.contains(&a) && *v != 0).then_some(a)
    })
}
