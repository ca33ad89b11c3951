//! Validation of a scenario's attack plan and monitoring level, and the stability check of
//! its process model.

use serde_saphyr::Spanned;

use super::super::file::*;
use super::super::*;
use super::process::{Process, ProcessRef};
use super::{Cx, Names};

/// What attack validation resolves names against.
pub(super) struct AttackNames<'a> {
    pub(super) hosts: &'a Names,
    pub(super) host_roles: &'a [HostRole],
    pub(super) plcs: &'a Names,
    pub(super) process: &'a Process,
    pub(super) plc_files: &'a [PlcFile],
    pub(super) tick_hz: u32,
}

impl Cx<'_> {
    /// Checks the `kind` tag of a defender action.
    pub(super) fn defender_kind(&mut self, kind: &Spanned<String>) {
        if !crate::input::DEFENDER_KINDS.contains(&kind.value.as_str()) {
            self.err(
                &kind.referenced,
                format!(
                    "unknown defender action `{}`, expected one of {}",
                    kind.value,
                    crate::input::DEFENDER_KINDS.join(", ")
                ),
            );
        }
    }

    /// The teams' network monitoring: its level (as given, or the one the enterprise level
    /// implies), learning window and expected readers and writers.
    pub(super) fn monitoring(
        &mut self,
        m: Option<&MonitoringFile>,
        level: u8,
        n: (&Names, &Names),
        tick_hz: u32,
    ) -> (crate::attack::Monitoring, IdsConfig) {
        use crate::attack::Monitoring;
        const LEVELS: [(Monitoring, &str); 3] =
            [(Monitoring::Logs, "logs"), (Monitoring::Network, "network"), (Monitoring::Deep, "deep")];
        let (given, spec) = match m {
            None => (None, None),
            Some(MonitoringFile::Level(l)) => (Some(l), None),
            Some(MonitoringFile::Full(f)) => (f.level.as_ref(), Some(f)),
        };
        let monitoring = match given {
            Some(m) => self.enum_of(m, "monitoring level", &LEVELS),
            // DOMAIN 1.5: L1 has logs, L2 boundary and OT monitoring, L3 OT monitoring with DPI.
            None => LEVELS[usize::from(level.clamp(1, 3) - 1)].0,
        };
        let (hosts, plcs) = n;
        let mut ids = IdsConfig { learn_ticks: None, expected: vec![None; plcs.0.len()] };
        let Some(spec) = spec else { return (monitoring, ids) };
        ids.learn_ticks = spec.learn_s.as_ref().map(|v| {
            let x = self.positive(v, "learn_s").min(86_400.0);
            (x * f64::from(tick_hz)).round() as u64
        });
        for e in &spec.expected {
            let p = self.resolve(plcs, "PLC", &e.plc) as usize;
            let mut list = |l: &[Spanned<String>]| -> Vec<HostIdx> {
                l.iter().map(|h| HostIdx(self.resolve(hosts, "host", h))).collect()
            };
            let expected = Expected { readers: list(&e.readers), writers: list(&e.writers) };
            if let Some(slot) = ids.expected.get_mut(p) {
                if slot.is_some() {
                    self.err(&e.plc.referenced, format!("PLC `{}` is expected twice", e.plc.value));
                }
                *slot = Some(expected);
            }
        }
        (monitoring, ids)
    }

    /// Validates the attack plan: the attacker's foothold and address, then every step.
    pub(super) fn attack(
        &mut self,
        attacker: Option<&AttackerFile>,
        steps: &[StepFile],
        n: &AttackNames<'_>,
    ) -> Option<crate::attack::AttackPlan> {
        use crate::attack::*;
        let Some(attacker) = attacker else {
            if let Some(first) = steps.first() {
                self.err(
                    &first.id.referenced,
                    "an attack needs an `attacker:` section with the foothold host",
                );
            }
            return None;
        };
        let foothold = HostIdx(self.resolve(n.hosts, "host", &attacker.foothold));
        let address = self.attacker_address(attacker.address.as_ref());
        let mut names = Names::default();
        for st in steps {
            self.define(&mut names, "attack step", &st.id);
        }
        let built: Vec<crate::attack::Step> = steps.iter().map(|st| self.step(st, &names, n)).collect();
        self.warn_after_repeating(steps, &built);
        Some(AttackPlan { foothold, address, steps: built })
    }

    /// Warns about `after:` on a step that repeats until it fails: that step ends only when an
    /// attempt fails (or after its last attempt), so whatever waits for it fires late or never.
    fn warn_after_repeating(&mut self, files: &[StepFile], steps: &[crate::attack::Step]) {
        use crate::attack::{Outcome, Until};
        for (file, st) in files.iter().zip(steps) {
            let (Some((a, outcome)), Some(after)) = (st.when.after, &file.when.after) else { continue };
            let Some(r) = steps.get(a).and_then(|s| s.repeat) else { continue };
            if r.until == Until::Failure && outcome != Outcome::Failed {
                self.warn(
                    &after.referenced,
                    format!(
                        "step `{}` waits for `{}` to end, but `{}` repeats until it fails (up to {} attempts): `{}` fires late or never; trigger it on time or a process condition instead",
                        st.id, after.value, after.value, r.max, st.id
                    ),
                );
            }
        }
    }

    /// The attacker's source address: a loopback address, 127.0.0.66 when not given.
    fn attacker_address(&mut self, address: Option<&Spanned<String>>) -> String {
        match address {
            Some(a) => match a.value.parse::<core::net::Ipv4Addr>() {
                Ok(ip) if ip.is_loopback() => a.value.clone(),
                _ => {
                    self.err(
                        &a.referenced,
                        format!(
                            "attacker address `{}` must be an IPv4 loopback address (127.0.0.0/8)",
                            a.value
                        ),
                    );
                    String::new()
                }
            },
            None => "127.0.0.66".to_string(),
        }
    }

    /// Validates one attack step; `names` holds every step's id.
    fn step(&mut self, st: &StepFile, names: &Names, n: &AttackNames<'_>) -> crate::attack::Step {
        use crate::attack::*;
        let techniques = st
            .techniques
            .iter()
            .filter_map(|t| match technique(&t.value) {
                Some(t) => Some(t),
                None => {
                    let near = suggest(&t.value);
                    let hint = if near.is_empty() {
                        String::from(" (see `icsdrill scenarios techniques`)")
                    } else {
                        format!("; did you mean {}?", near.join(", "))
                    };
                    self.err(&t.referenced, format!("unknown ATT&CK for ICS technique `{}`{hint}", t.value));
                    None
                }
            })
            .collect();
        if st.techniques.is_empty() {
            self.err(&st.id.referenced, format!("attack step `{}` names no technique", st.id.value));
        }
        let when = self.trigger(st, names, n);
        let repeat = st.repeat.as_ref().map(|r| Repeat {
            every_ticks: ticks(self.positive(&r.every_s, "every_s"), n.tick_hz).max(1),
            until: self.enum_of(
                &r.until,
                "until",
                &[(Until::Success, "success"), (Until::Failure, "failure"), (Until::Never, "never")],
            ),
            max: self.int(&r.max, 1, 10_000, "max") as u32,
        });
        let expire_tick = st.expire_s.as_ref().map(|e| ticks(self.positive(e, "expire_s"), n.tick_hz));
        let action = self.action(&st.action, n);
        Step {
            id: st.id.value.clone(),
            name: self.text(&st.name, &st.id),
            techniques,
            when,
            action,
            repeat,
            expire_tick,
        }
    }

    /// Validates a step's trigger (`when`), reporting a step with none.
    fn trigger(&mut self, st: &StepFile, names: &Names, n: &AttackNames<'_>) -> crate::attack::Trigger {
        use crate::attack::*;
        let w = &st.when;
        let at_tick = w.at_s.as_ref().map(|a| {
            let x = self.finite(a, "at_s");
            ticks(x, n.tick_hz)
        });
        let outcome = w.outcome.as_ref().map(|o| {
            self.enum_of(
                o,
                "outcome",
                &[
                    (Outcome::Succeeded, "succeeded"),
                    (Outcome::Failed, "failed"),
                    (Outcome::Completed, "completed"),
                ],
            )
        });
        if outcome.is_some() && w.after.is_none() {
            self.err(&st.id.referenced, format!("attack step `{}`: `outcome` needs `after`", st.id.value));
        }
        let after = w.after.as_ref().map(|a| {
            let i = self.resolve(names, "attack step", a) as usize;
            if a.value == st.id.value {
                self.err(&a.referenced, "a step cannot wait for itself");
            }
            (i, outcome.unwrap_or(Outcome::Completed))
        });
        let condition = w.condition.as_ref().map(|c| self.condition(st, c, n));
        let defender = w.defender.as_ref().map(|d| {
            self.defender_kind(&d.action);
            let by = self.finite(&d.by_s, "by_s");
            DefenderCheck { action: d.action.value.clone(), by_tick: ticks(by, n.tick_hz), done: d.done }
        });
        if at_tick.is_none() && after.is_none() && condition.is_none() && defender.is_none() {
            self.err(
                &st.id.referenced,
                format!(
                    "attack step `{}` has no trigger: give when.at_s, after, condition or defender",
                    st.id.value
                ),
            );
        }
        Trigger { at_tick, after, condition, defender }
    }

    /// Validates a step's process condition: what it watches and its threshold.
    fn condition(
        &mut self,
        st: &StepFile,
        c: &ConditionFile,
        n: &AttackNames<'_>,
    ) -> crate::attack::Condition {
        use crate::attack::*;
        let watched = match (&c.var, &c.sensor) {
            (Some(v), None) => match n.process.names.get(&v.value) {
                Some(ProcessRef::Var(i)) => Watched::Var(*i),
                _ => {
                    self.err(&v.referenced, format!("unknown variable `{}`", v.value));
                    Watched::Var(VarIdx(0))
                }
            },
            (None, Some(sn)) => Watched::Sensor(self.sensor_ref(n.process, sn)),
            _ => {
                self.err(
                    &st.id.referenced,
                    format!("attack step `{}`: a condition watches exactly one of var, sensor", st.id.value),
                );
                Watched::Var(VarIdx(0))
            }
        };
        let above = c.above.as_ref().map(|x| self.finite(x, "above"));
        let below = c.below.as_ref().map(|x| self.finite(x, "below"));
        if above.is_none() && below.is_none() {
            self.err(
                &st.id.referenced,
                format!("attack step `{}`: a condition needs above or below", st.id.value),
            );
        }
        Condition { watched, above, below }
    }

    /// A PLC with an IEC 104 station.
    fn station(&mut self, p: &Spanned<String>, n: &AttackNames<'_>) -> PlcIdx {
        let idx = PlcIdx(self.resolve(n.plcs, "PLC", p));
        if n.plc_files.get(idx.ix()).is_some_and(|f| f.iec104.is_none()) {
            self.err(&p.referenced, format!("PLC `{}` has no IEC 104 station (give it `iec104:`)", p.value));
        }
        idx
    }

    /// An OPC UA write step: a PLC with a server, one of its writable points (a coil or a
    /// holding register).
    fn opcua_write(
        &mut self,
        n: &AttackNames<'_>,
        p: &Spanned<String>,
        node: &Spanned<String>,
        value: &Spanned<f64>,
    ) -> crate::attack::Action {
        let plc = PlcIdx(self.resolve(n.plcs, "PLC", p));
        if let Some(f) = n.plc_files.get(plc.ix()) {
            if f.opcua.is_none() {
                self.err(&p.referenced, format!("PLC `{}` has no OPC UA server (give it `opcua:`)", p.value));
            }
            let writable =
                f.coils.iter().map(|c| &c.id.value).chain(f.holding_registers.iter().map(|h| &h.id.value));
            if !writable.into_iter().any(|id| *id == node.value) {
                let message =
                    format!("PLC `{}` has no coil or holding register `{}` to write", p.value, node.value);
                self.err(&node.referenced, message);
            }
        }
        crate::attack::Action::OpcUaWrite {
            plc,
            node: node.value.clone(),
            value: self.finite(value, "value"),
        }
    }

    /// An IEC 104 command step: the PLC's station, the command type by its standard name.
    fn iec104_command(
        &mut self,
        n: &AttackNames<'_>,
        (p, ioa, type_id, value): (&Spanned<String>, &Spanned<i64>, &Spanned<String>, &Spanned<f64>),
        select: bool,
    ) -> crate::attack::Action {
        let commands = crate::scenario::iec104::COMMANDS;
        crate::attack::Action::Iec104Command {
            plc: self.station(p, n),
            type_id: self.enum_of(type_id, "IEC 104 command type", commands),
            ioa: self.int(ioa, 1, 0xFF_FFFF, "information object address") as u32,
            value: self.finite(value, "value"),
            select,
        }
    }

    /// Validates a step's action.
    fn action(&mut self, a: &AttackActionFile, n: &AttackNames<'_>) -> crate::attack::Action {
        use crate::attack::Action;
        let plc = |cx: &mut Self, p: &Spanned<String>| PlcIdx(cx.resolve(n.plcs, "PLC", p));
        let addr = |cx: &mut Self, a: &Spanned<i64>| cx.int(a, 0, 65535, "address") as u16;
        match a {
            AttackActionFile::Scan { plcs } => Action::Scan(plcs.iter().map(|p| plc(self, p)).collect()),
            AttackActionFile::Read { plc: p, table, addr: a, count } => {
                let tables = [
                    (Table::Coils, "coils"),
                    (Table::DiscreteInputs, "discrete_inputs"),
                    (Table::InputRegisters, "input_registers"),
                    (Table::HoldingRegisters, "holding_registers"),
                ];
                let table = self.enum_of(table, "table", &tables);
                let max = if matches!(table, Table::Coils | Table::DiscreteInputs) { 2000 } else { 125 };
                Action::Read {
                    plc: plc(self, p),
                    table,
                    addr: addr(self, a),
                    count: self.int(count, 1, max, "count") as u16,
                }
            }
            AttackActionFile::WriteRegisters { plc: p, addr: a, values } => {
                if values.is_empty() || values.len() > 123 {
                    self.err(&a.referenced, "write 1 to 123 registers");
                }
                let values = values.iter().map(|v| self.int(v, 0, 65535, "register value") as u16).collect();
                Action::WriteRegisters { plc: plc(self, p), addr: addr(self, a), values }
            }
            AttackActionFile::WriteCoils { plc: p, addr: a, values } => {
                if values.is_empty() || values.len() > 1968 {
                    self.err(&a.referenced, "write 1 to 1968 coils");
                }
                Action::WriteCoils { plc: plc(self, p), addr: addr(self, a), values: values.clone() }
            }
            AttackActionFile::SetMode { plc: p, mode } => {
                use crate::input::PlcMode;
                let mode = self.enum_of(
                    mode,
                    "PLC mode",
                    &[(PlcMode::Run, "run"), (PlcMode::Stop, "stop"), (PlcMode::Program, "program")],
                );
                Action::SetMode { plc: plc(self, p), mode }
            }
            AttackActionFile::Restart { plc: p } => Action::Restart { plc: plc(self, p) },
            AttackActionFile::ModifyFirmware { plc: p } => Action::ModifyFirmware { plc: plc(self, p) },
            AttackActionFile::WipeHost { host } => {
                Action::WipeHost(HostIdx(self.resolve(n.hosts, "host", host)))
            }
            AttackActionFile::DenyView { host, blank } => {
                let h = self.resolve(n.hosts, "host", host);
                if n.host_roles.get(h as usize).is_some_and(|r| *r != HostRole::Hmi) {
                    self.err(
                        &host.referenced,
                        format!("`{}` is not an operator station (role hmi)", host.value),
                    );
                }
                Action::DenyView { host: HostIdx(h), blank: *blank }
            }
            AttackActionFile::ForgeSensor { sensor, value, replay_s } => {
                self.forge(sensor, value, replay_s, n)
            }
            AttackActionFile::ListenOnly { plc: p } => Action::ListenOnly { plc: plc(self, p) },
            AttackActionFile::Iec104Interrogation { plc: p } => {
                Action::Iec104Interrogation { plc: self.station(p, n) }
            }
            AttackActionFile::Iec104Command { plc: p, ioa, type_id, value, select } => {
                self.iec104_command(n, (p, ioa, type_id, value), *select)
            }
            AttackActionFile::OpcUaWrite { plc: p, node, value } => self.opcua_write(n, p, node, value),
            AttackActionFile::Flood { plc: p, seconds } => {
                let s = self.positive(seconds, "seconds");
                if s > 600.0 {
                    self.err(&seconds.referenced, "a flood lasts at most 600 s");
                }
                Action::Flood { plc: plc(self, p), seconds: s.min(600.0) }
            }
            AttackActionFile::Pivot { host } => Action::Pivot(HostIdx(self.resolve(n.hosts, "host", host))),
            AttackActionFile::Spoof { plc: p, addr: a, value } => {
                let value = value.as_ref().map(|v| self.int(v, 0, 65535, "value") as u16);
                Action::Spoof { plc: plc(self, p), addr: addr(self, a), value }
            }
            AttackActionFile::Download { plc: p, disable, add } => {
                let idx = plc(self, p);
                self.download(idx, p, disable, add, n)
            }
        }
    }

    /// Validates a `forge_sensor` action.
    fn forge(
        &mut self,
        sensor: &Spanned<String>,
        value: &Option<Spanned<f64>>,
        replay_s: &Option<Spanned<f64>>,
        n: &AttackNames<'_>,
    ) -> crate::attack::Action {
        use crate::attack::Action;
        let value = value.as_ref().map(|v| self.finite(v, "value"));
        let replay_ticks = replay_s.as_ref().map(|r| {
            let s = self.positive(r, "replay_s");
            if s > crate::attack::MAX_REPLAY_S {
                self.err(
                    &r.referenced,
                    format!("a replay records at most {} s", crate::attack::MAX_REPLAY_S),
                );
            }
            ticks(s.min(crate::attack::MAX_REPLAY_S), n.tick_hz).max(1)
        });
        if let (Some(_), Some(r)) = (value, replay_s) {
            self.err(&r.referenced, "give either value (forge) or replay_s (record and replay), not both");
        }
        Action::ForgeSensor { sensor: self.sensor_ref(n.process, sensor), value, replay_ticks }
    }

    /// Validates a `download` action: the blocks it leaves out and the blocks it appends.
    fn download(
        &mut self,
        idx: PlcIdx,
        p: &Spanned<String>,
        disable: &[Spanned<String>],
        add: &[ImplantFile],
        n: &AttackNames<'_>,
    ) -> crate::attack::Action {
        use crate::attack::Action;
        let file = n.plc_files.iter().find(|f| f.id.value == p.value);
        let disable: Vec<usize> = disable
            .iter()
            .filter_map(|b| {
                let found =
                    file.and_then(|f| f.logic.iter().position(|l| logic_id(l) == Some(b.value.as_str())));
                if found.is_none() && file.is_some() {
                    self.err(&b.referenced, format!("no logic block `{}` in PLC `{}`", b.value, p.value));
                }
                found
            })
            .collect();
        let add: Vec<(ActuatorIdx, f64, u64)> = add
            .iter()
            .map(|a| {
                let actuator = self.actuator_ref(n.process, &a.actuator);
                let value = self.finite(&a.value, "value");
                if !(0.0..=1.0).contains(&value) {
                    self.err(&a.value.referenced, format!("actuator position {value} is outside 0..=1"));
                }
                let after = a.after_s.as_ref().map_or(0.0, |x| {
                    let t = self.finite(x, "after_s");
                    if t < 0.0 {
                        self.err(&x.referenced, "after_s must not be negative");
                    }
                    t.max(0.0)
                });
                (actuator, value, ticks(after, n.tick_hz))
            })
            .collect();
        if disable.is_empty() && add.is_empty() {
            self.err(&p.referenced, "a download changes something: give disable, add or both");
        }
        Action::Download { plc: idx, disable, add }
    }
}

/// Simulated seconds to ticks, rounded to the nearest tick.
fn ticks(s: f64, tick_hz: u32) -> u64 {
    (s * f64::from(tick_hz)).round().max(0.0) as u64
}

/// The id of a logic block, where it has one.
fn logic_id(l: &LogicFile) -> Option<&str> {
    match l {
        LogicFile::OnOff(o) => Some(&o.id.value),
        LogicFile::Pi(o) => Some(&o.id.value),
        LogicFile::Alarm(a) => Some(&a.id.value),
        LogicFile::Interlock(i) => Some(&i.id.value),
        LogicFile::Sequence(q) => Some(&q.id.value),
        LogicFile::Select(q) => Some(&q.id.value),
        LogicFile::Follow(_) => None,
    }
}

impl Cx<'_> {
    /// Rejects process models the fixed-step integration cannot run: relaxations faster than
    /// two ticks (explicit Euler goes unstable) and terms whose rate can overflow.
    pub(super) fn check_stability(&mut self, f: &ProcessFile, p: &Process, tick_hz: u32) {
        let dt = 1.0 / f64::from(tick_hz);
        for (vf, v) in f.variables.iter().zip(&p.vars) {
            if let (Some(rf), Some((tau, _))) = (&vf.relax, v.relax)
                && tau < 2.0 * dt
            {
                self.err(
                    &rf.tau_s.referenced,
                    format!(
                        "tau_s {tau} is shorter than two ticks ({}) and would make the integration unstable",
                        2.0 * dt
                    ),
                );
            }
            let mut bound = v
                .relax
                .map_or(0.0, |(tau, toward)| (toward.abs() + v.bounds[0].abs().max(v.bounds[1].abs())) / tau);
            for t in &v.terms {
                let mut m = t.gain.abs();
                for s in &t.of {
                    m *= match s {
                        Signal::Var(j) => {
                            p.vars.get(j.ix()).map_or(1.0, |w| w.bounds[0].abs().max(w.bounds[1].abs()))
                        }
                        Signal::Actuator(_) => 1.0,
                    };
                }
                bound += m;
            }
            if !(bound * dt).is_finite() || bound * dt > 1e12 {
                self.err(
                    &vf.id.referenced,
                    format!(
                        "variable `{}` can change by more than 1e12 per tick; check its gains and bounds",
                        v.id
                    ),
                );
            }
        }
    }
}
