//! Validation of the logic blocks of a PLC program: on/off and PI loops, coil-following
//! outputs, and the alarm and interlock blocks the PLCs build together.

use serde_saphyr::Spanned;

use super::super::file::*;
use super::super::*;
use super::Cx;
use super::plc::{PlantBuild, Points};
use super::process::{Process, ProcessRef};

impl Cx<'_> {
    /// Validates one logic block of PLC `plc`, adding alarm and interlock blocks to `plant`.
    pub(super) fn logic(
        &mut self,
        plc: PlcIdx,
        b: &LogicFile,
        process: &Process,
        points: &Points,
        plant: &mut PlantBuild,
    ) -> Logic {
        match b {
            LogicFile::OnOff(o) => self.on_off(o, process, points, plant),
            LogicFile::Pi(o) => self.pi(o, process, points, plant),
            LogicFile::Follow(o) => Logic::Follow {
                coil: self.point(points, &o.coil, Table::Coils),
                output: self.drive(
                    plant,
                    process,
                    &o.output,
                    format!("coil `{}` in PLC `{}`", o.coil.value, points.plc),
                ),
                permit: o.permit.as_ref().map(|p| self.permit(p, process, points)).unwrap_or_default(),
                on_delay_s: self.delay(&o.on_delay_s, "on_delay_s"),
                off_delay_s: self.delay(&o.off_delay_s, "off_delay_s"),
            },
            LogicFile::Alarm(a) => self.alarm(plc, a, process, points, plant),
            LogicFile::Interlock(i) => self.interlock(plc, i, process, points, plant),
            LogicFile::Sequence(q) => self.sequence(q, process, points, plant),
            LogicFile::Select(q) => {
                let low = self.enum_of(&q.mode, "select mode", &[(true, "min"), (false, "max")]);
                if q.from.len() < 2 {
                    self.err(&q.id.referenced, format!("select `{}` needs at least two loops", q.id.value));
                }
                let from = q
                    .from
                    .iter()
                    .map(|l| match points.loops.get(&l.value) {
                        Some(i) => *i as u32,
                        None => {
                            self.err(
                                &l.referenced,
                                format!("no PI block `{}` in PLC `{}`", l.value, points.plc),
                            );
                            0
                        }
                    })
                    .collect();
                let by = format!("select `{}` in PLC `{}`", q.id.value, points.plc);
                Logic::Select {
                    id: q.id.value.clone(),
                    low,
                    from,
                    output: self.drive(plant, process, &q.output, by),
                }
            }
        }
    }

    /// Validates permissives.
    fn permit(&mut self, p: &PermitFile, process: &Process, points: &Points) -> Permit {
        let cond = |cx: &mut Self, c: &CondFile| match (&c.sensor, &c.above, &c.below, &c.coil) {
            (Some(s), Some(x), None, None) => {
                Cond::Sensor(cx.analog_sensor(process, s), true, cx.finite(x, "above"))
            }
            (Some(s), None, Some(x), None) => {
                Cond::Sensor(cx.analog_sensor(process, s), false, cx.finite(x, "below"))
            }
            (None, None, None, Some(coil)) => Cond::Coil(cx.point(points, coil, Table::Coils)),
            _ => {
                let at = c.sensor.as_ref().or(c.coil.as_ref()).map(|s| s.referenced);
                let message = "a permissive is { sensor, above } or { sensor, below } or { coil }";
                match at {
                    Some(at) => cx.err(&at, message),
                    None => cx.err(&serde_saphyr::Location::UNKNOWN, message),
                }
                Cond::Coil(PointIdx(0))
            }
        };
        Permit {
            all: p.all.iter().map(|c| cond(self, c)).collect(),
            any: p.any.iter().map(|c| cond(self, c)).collect(),
        }
    }

    /// A timer's delay: 0..=86400 seconds, 0 when not given.
    fn delay(&mut self, d: &Option<Spanned<f64>>, what: &str) -> f64 {
        d.as_ref().map_or(0.0, |x| {
            let t = self.finite(x, what);
            if !(0.0..=86_400.0).contains(&t) {
                self.err(&x.referenced, format!("{what} must be 0..=86400 seconds"));
            }
            t.clamp(0.0, 86_400.0)
        })
    }

    /// Resolves an optional coil of the PLC (a manual-mode, bypass or reset switch).
    fn optional_coil(&mut self, points: &Points, c: &Option<Spanned<String>>) -> Option<PointIdx> {
        c.as_ref().map(|c| self.point(points, c, Table::Coils))
    }

    /// Validates a two-position control block.
    fn on_off(&mut self, o: &OnOffFile, process: &Process, points: &Points, plant: &mut PlantBuild) -> Logic {
        let action =
            self.enum_of(&o.action, "action", &[(OnOffAction::Fill, "fill"), (OnOffAction::Drain, "drain")]);
        self.warn_band_overrides_initial(o, action, process);
        Logic::OnOff {
            id: o.id.value.clone(),
            pv: self.analog_sensor(process, &o.pv),
            low: self.param(points, &o.low),
            high: self.param(points, &o.high),
            output: self.drive(
                plant,
                process,
                &o.output,
                format!("`{}` in PLC `{}`", o.id.value, points.plc),
            ),
            action,
            manual: self.optional_coil(points, &o.manual),
            manual_command: self.optional_coil(points, &o.manual_command),
        }
    }

    /// Warns when an on/off block turns its output the other way from the actuator's
    /// `initial` at its first scan (the variable starts inside the band with the output on,
    /// say): the initial state the designer wrote silently does not hold.
    fn warn_band_overrides_initial(&mut self, o: &OnOffFile, action: OnOffAction, process: &Process) {
        let (Some(ProcessRef::Sensor(sn)), Some(ProcessRef::Actuator(a))) =
            (process.names.get(&o.pv.value), process.names.get(&o.output.value))
        else {
            return;
        };
        let (ParamFile::Const(low), ParamFile::Const(high)) = (&o.low.value, &o.high.value) else { return };
        let (Some(sensor), Some(act)) = (process.sensors.get(sn.ix()), process.actuators.get(a.ix())) else {
            return;
        };
        let Some(x) = process.vars.get(sensor.var.ix()).map(|v| v.initial) else { return };
        let on = match action {
            OnOffAction::Fill => x <= *low,
            OnOffAction::Drain => x >= *high,
        };
        if on != (act.initial > 0.5) {
            self.warn(
                &o.output.referenced,
                format!(
                    "`{}`: the value starts at {x}, so the block turns `{}` {} at its first scan although its initial is {}; make the initial agree, or start the value outside the band",
                    o.id.value,
                    o.output.value,
                    if on { "on" } else { "off" },
                    act.initial
                ),
            );
        }
    }

    /// Validates a proportional-integral control block.
    fn pi(&mut self, o: &PiFile, process: &Process, points: &Points, plant: &mut PlantBuild) -> Logic {
        Logic::Pi {
            id: o.id.value.clone(),
            pv: self.analog_sensor(process, &o.pv),
            setpoint: self.param(points, &o.setpoint),
            kp: self.param(points, &o.kp),
            ki: self.param(points, &o.ki),
            bias: self.finite_plain(o.bias, &o.id, "bias"),
            output: o.output.as_ref().map(|out| {
                self.drive(plant, process, out, format!("`{}` in PLC `{}`", o.id.value, points.plc))
            }),
            reverse: o.reverse,
            manual: self.optional_coil(points, &o.manual),
            manual_output: o.manual_output.as_ref().map(|m| self.param(points, m)),
            split: o
                .split
                .iter()
                .map(|sp| {
                    if !(sp.from.is_finite() && sp.to.is_finite() && sp.from != sp.to) {
                        self.err(
                            &sp.actuator.referenced,
                            "split range: from and to must be different numbers",
                        );
                    }
                    let by = format!("split range of `{}` in PLC `{}`", o.id.value, points.plc);
                    (self.drive(plant, process, &sp.actuator, by), sp.from, sp.to)
                })
                .collect(),
            feedforward: o.feedforward.as_ref().map(|f| {
                if !f.gain.is_finite() || !f.reference.is_finite() {
                    self.err(&f.sensor.referenced, "feedforward: gain and reference must be finite numbers");
                }
                (self.analog_sensor(process, &f.sensor), f.gain, f.reference)
            }),
        }
    }

    /// Validates an alarm block and adds it to the plant's alarm table.
    fn alarm(
        &mut self,
        plc: PlcIdx,
        a: &AlarmFile,
        process: &Process,
        points: &Points,
        plant: &mut PlantBuild,
    ) -> Logic {
        let pv = self.analog_sensor(process, &a.pv);
        let limits = [&a.lo_lo, &a.lo, &a.hi, &a.hi_hi].map(|l| l.as_ref().map(|l| self.param(points, l)));
        if limits.iter().all(Option::is_none) {
            self.err(
                &a.id.referenced,
                format!("alarm `{}` has no limit: give hi, hi_hi, lo or lo_lo", a.id.value),
            );
        }
        if !a.deadband.is_finite() || a.deadband < 0.0 {
            self.err(
                &a.id.referenced,
                format!("alarm `{}`: deadband must be a non-negative number", a.id.value),
            );
        }
        if !(0.0..=3600.0).contains(&a.on_delay_s) {
            self.err(
                &a.id.referenced,
                format!("alarm `{}`: on_delay_s must be from 0 to 3600 seconds", a.id.value),
            );
        }
        Logic::Alarm(AlarmIdx(add(
            &mut plant.alarms,
            AlarmDef {
                id: a.id.value.clone(),
                plc,
                pv,
                limits,
                deadband: a.deadband,
                on_delay_s: a.on_delay_s,
            },
        )))
    }

    /// Validates an interlock block and adds it to the plant's interlock table.
    fn interlock(
        &mut self,
        plc: PlcIdx,
        i: &InterlockFile,
        process: &Process,
        points: &Points,
        plant: &mut PlantBuild,
    ) -> Logic {
        let pv = self.sensor_ref(process, &i.pv);
        let is_switch =
            process.sensors.get(pv.ix()).is_some_and(|s| !matches!(s.kind, SensorKind::Analog { .. }));
        let above = i.above.as_ref().map(|x| self.param(points, x));
        let below = i.below.as_ref().map(|x| self.param(points, x));
        if is_switch && (above.is_some() || below.is_some()) {
            self.err(
                &i.id.referenced,
                format!("interlock `{}` watches a switch; drop above/below", i.id.value),
            );
        }
        if !is_switch && above.is_none() && below.is_none() && process.names.contains_key(&i.pv.value) {
            self.err(
                &i.id.referenced,
                format!("interlock `{}` watches a transmitter; give above or below", i.id.value),
            );
        }
        if i.actions.is_empty() && i.set_coils.is_empty() && i.halt.is_empty() {
            self.err(&i.id.referenced, format!("interlock `{}` has no actions", i.id.value));
        }
        let set_coils =
            i.set_coils.iter().map(|c| (self.point(points, &c.coil, Table::Coils), c.value)).collect();
        let halt = i.halt.iter().map(|p| PlcIdx(self.resolve(&plant.plc_names, "PLC", p))).collect();
        let actions = i.actions.iter().map(|a| self.interlock_action(process, a)).collect();
        let (voters, need) = self.voting(i, pv, process);
        let delay_s = i.delay_s.as_ref().map_or(0.0, |d| {
            let x = self.finite(d, "delay_s");
            if !(0.0..=3600.0).contains(&x) {
                self.err(&d.referenced, "delay_s must be 0..=3600 seconds");
            }
            x
        });
        Logic::Interlock(InterlockIdx(add(
            &mut plant.interlocks,
            InterlockDef {
                id: i.id.value.clone(),
                plc,
                pv,
                voters,
                need,
                delay_s,
                set_coils,
                halt,
                above,
                below,
                bypass: self.optional_coil(points, &i.bypass),
                reset: self.optional_coil(points, &i.reset),
                actions,
            },
        )))
    }

    /// Validates a sequence: its start coil, and each step's outputs and transition.
    fn sequence(
        &mut self,
        q: &SequenceFile,
        process: &Process,
        points: &Points,
        plant: &mut PlantBuild,
    ) -> Logic {
        if q.steps.is_empty() {
            self.err(&q.id.referenced, format!("sequence `{}` has no steps", q.id.value));
        }
        let by = format!("sequence `{}` in PLC `{}`", q.id.value, points.plc);
        let mut driven: Vec<String> = Vec::new();
        let steps = q
            .steps
            .iter()
            .map(|st| {
                let set = st
                    .set
                    .iter()
                    .map(|a| {
                        // Steps of one sequence share their outputs; other blocks may not.
                        if !driven.contains(&a.actuator.value) {
                            driven.push(a.actuator.value.clone());
                            self.drive(plant, process, &a.actuator, by.clone());
                        }
                        self.interlock_action(process, a)
                    })
                    .collect();
                let after_s = st.after_s.as_ref().map_or(0.0, |x| {
                    let t = self.finite(x, "after_s");
                    if t < 0.0 {
                        self.err(&x.referenced, "after_s must not be negative");
                    }
                    t.max(0.0)
                });
                let until = st.until.as_ref().map(|u| {
                    let sensor = self.analog_sensor(process, &u.sensor);
                    match (&u.above, &u.below) {
                        (Some(x), None) => (sensor, true, self.finite(x, "above")),
                        (None, Some(x)) => (sensor, false, self.finite(x, "below")),
                        _ => {
                            self.err(&u.sensor.referenced, "until: give one of above, below");
                            (sensor, true, 0.0)
                        }
                    }
                });
                if st.after_s.is_none() && until.is_none() {
                    self.err(
                        &st.id.referenced,
                        format!("step `{}` never moves on: give after_s, until or both", st.id.value),
                    );
                }
                SeqStep { id: st.id.value.clone(), set, after_s, until }
            })
            .collect();
        Logic::Sequence { id: q.id.value.clone(), start: self.point(points, &q.start, Table::Coils), steps }
    }

    /// An interlock's voters (redundant sensors of pv's kind) and the votes that trip it.
    fn voting(&mut self, i: &InterlockFile, pv: SensorIdx, process: &Process) -> (Vec<SensorIdx>, usize) {
        let voters: Vec<SensorIdx> = i
            .voters
            .iter()
            .map(|v| {
                let s = self.sensor_ref(process, v);
                let same_kind = match (process.sensors.get(s.ix()), process.sensors.get(pv.ix())) {
                    (Some(a), Some(b)) => {
                        matches!(a.kind, SensorKind::Analog { .. })
                            == matches!(b.kind, SensorKind::Analog { .. })
                    }
                    _ => true,
                };
                if !same_kind {
                    self.err(
                        &v.referenced,
                        format!("voter `{}` must be the same kind of sensor as pv", v.value),
                    );
                }
                s
            })
            .collect();
        let n = 1 + voters.len();
        let need = match &i.vote {
            None if voters.is_empty() => 1,
            None => {
                self.err(
                    &i.id.referenced,
                    format!("interlock `{}` has voters: say how they vote (`vote: 2oo{n}`)", i.id.value),
                );
                1
            }
            Some(v) => {
                match v.value.split_once("oo").map(|(m, of)| (m.parse::<usize>(), of.parse::<usize>())) {
                    Some((Ok(m), Ok(of))) if of == n && (1..=n).contains(&m) => m,
                    _ => {
                        self.err(
                        &v.referenced,
                        format!("vote `{}`: expected MooN with N = {n} (pv and {} voter(s)) and 1 <= M <= N, e.g. {}oo{n}", v.value, n - 1, n.div_ceil(2).max(1)),
                    );
                        1
                    }
                }
            }
        };
        (voters, need)
    }

    /// Validates one forced actuator position of an interlock.
    fn interlock_action(&mut self, process: &Process, a: &ActionFile) -> (ActuatorIdx, f64) {
        let act = self.actuator_ref(process, &a.actuator);
        let v = self.finite(&a.value, "value");
        if !(0.0..=1.0).contains(&v) {
            self.err(&a.value.referenced, format!("actuator position {v} is outside 0..=1"));
        }
        (act, v)
    }
}
/// Adds `def` to a plant's table, returning its index there.
fn add<T>(table: &mut Vec<T>, def: T) -> u32 {
    table.push(def);
    (table.len() - 1) as u32
}
