//! Validation of a scenario's process model (variables, actuators and sensors in one
//! namespace), the lookups of its devices by id, and the scheduled faults on them.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::super::file::*;
use super::super::*;
use super::{Cx, Names};

/// The process part of a scenario, with its namespace (variables, actuators and sensors share
/// one, so a term's factor is unambiguous).
pub(super) struct Process {
    pub(super) names: BTreeMap<String, ProcessRef>,
    pub(super) vars: Vec<VarDef>,
    pub(super) actuators: Vec<ActuatorDef>,
    pub(super) sensors: Vec<SensorDef>,
    pub(super) reliefs: Vec<ReliefDef>,
    pub(super) tables: Vec<crate::scenario::expr::Table1d>,
}

/// What a process id names.
#[derive(Clone, Copy)]
pub(super) enum ProcessRef {
    Var(VarIdx),
    Actuator(ActuatorIdx),
    Sensor(SensorIdx),
}

impl Cx<'_> {
    /// Registers a process id in the shared namespace, reporting an empty or duplicate id.
    fn process_name(&mut self, p: &mut Process, id: &Spanned<String>, r: ProcessRef) {
        if id.value.is_empty() {
            self.err(&id.referenced, "id must not be empty");
        }
        if p.names.insert(id.value.clone(), r).is_some() {
            self.err(
                &id.referenced,
                format!("duplicate process id `{}` (variables, actuators and sensors share ids)", id.value),
            );
        }
    }

    /// Validates the process model: its variables, actuators and sensors.
    pub(super) fn process(&mut self, f: &ProcessFile) -> Process {
        if f.model.value != "lumped" {
            self.err(
                &f.model.referenced,
                format!("unknown process model `{}`, expected lumped", f.model.value),
            );
        }
        let mut p = Process {
            names: BTreeMap::new(),
            vars: Vec::new(),
            actuators: Vec::new(),
            sensors: Vec::new(),
            reliefs: Vec::new(),
            tables: Vec::new(),
        };
        for (i, v) in f.variables.iter().enumerate() {
            self.process_name(&mut p, &v.id, ProcessRef::Var(VarIdx(i as u32)));
        }
        for (i, a) in f.actuators.iter().enumerate() {
            self.process_name(&mut p, &a.id, ProcessRef::Actuator(ActuatorIdx(i as u32)));
        }
        for (i, s) in f.sensors.iter().enumerate() {
            self.process_name(&mut p, &s.id, ProcessRef::Sensor(SensorIdx(i as u32)));
        }
        if f.variables.is_empty() {
            self.err(&f.model.referenced, "a process needs at least one variable");
        }
        p.actuators = f.actuators.iter().map(|a| self.actuator(a)).collect();
        p.tables = self.tables(&f.tables, &p);
        p.vars = f.variables.iter().map(|v| self.var(v, &p)).collect();
        p.sensors = f.sensors.iter().map(|s| self.sensor(s, &p)).collect();
        let mut names = Names::default();
        p.reliefs = f.reliefs.iter().map(|r| self.relief(r, &p, &mut names)).collect();
        p
    }

    /// Validates the lookup tables: unique ids apart from the process names, at least two
    /// points, `x` strictly increasing.
    fn tables(&mut self, tables: &[TableFile], p: &Process) -> Vec<crate::scenario::expr::Table1d> {
        let mut names = Names::default();
        tables
            .iter()
            .map(|t| {
                self.define(&mut names, "table", &t.id);
                if p.names.contains_key(&t.id.value) {
                    self.err(
                        &t.id.referenced,
                        format!("table `{}` has the id of a variable, actuator or sensor", t.id.value),
                    );
                }
                let pts = &t.points.value;
                let finite = pts.iter().flatten().all(|x| x.is_finite());
                let rising = pts.windows(2).all(|w| w[0][0] < w[1][0]);
                if pts.len() < 2 || !finite || !rising {
                    self.err(
                        &t.points.referenced,
                        "a table needs at least two finite [x, y] points with x strictly increasing",
                    );
                }
                crate::scenario::expr::Table1d {
                    id: t.id.value.clone(),
                    points: pts.iter().map(|[x, y]| (*x, *y)).collect(),
                }
            })
            .collect()
    }

    /// Validates one term of a variable's rate: gain, factors, formula.
    fn term(&mut self, t: &TermFile, p: &Process, var: &Spanned<String>) -> Term {
        use crate::scenario::expr::{Name, parse};
        let gain = match (&t.gain, &t.expr) {
            (Some(g), _) => self.finite(g, "gain"),
            (None, Some(_)) => 1.0,
            (None, None) => {
                let at = t.of.first().map_or(var.referenced, |o| o.referenced);
                self.err(&at, format!("a term of `{}` needs `gain`, `expr` or both", var.value));
                0.0
            }
        };
        let of =
            t.of.iter()
                .map(|s| match p.names.get(&s.value) {
                    Some(ProcessRef::Var(i)) => Signal::Var(*i),
                    Some(ProcessRef::Actuator(i)) => Signal::Actuator(*i),
                    Some(ProcessRef::Sensor(_)) => {
                        self.err(
                            &s.referenced,
                            format!(
                                "`{}` is a sensor; terms take true values of variables or actuator positions",
                                s.value
                            ),
                        );
                        Signal::Var(VarIdx(0))
                    }
                    None => {
                        self.err(&s.referenced, format!("unknown variable or actuator `{}`", s.value));
                        Signal::Var(VarIdx(0))
                    }
                })
                .collect();
        let expr = t.expr.as_ref().and_then(|e| {
            let resolve = |name: &str| match p.names.get(name) {
                Some(ProcessRef::Var(i)) => Some(Name::Var(*i)),
                Some(ProcessRef::Actuator(i)) => Some(Name::Actuator(*i)),
                _ => p.tables.iter().position(|t| t.id == name).map(|i| Name::Table(i as u32)),
            };
            match parse(&e.value, &resolve) {
                Ok(x) => Some(x),
                Err(msg) => {
                    self.err(&e.referenced, format!("expr `{}`: {msg}", e.value));
                    None
                }
            }
        });
        Term { gain, of, expr }
    }

    /// Validates one relief device.
    fn relief(&mut self, r: &ReliefFile, p: &Process, names: &mut Names) -> ReliefDef {
        self.define(names, "relief", &r.id);
        let var = match p.names.get(&r.var.value) {
            Some(ProcessRef::Var(i)) => *i,
            _ => {
                self.err(&r.var.referenced, format!("unknown variable `{}`", r.var.value));
                VarIdx(0)
            }
        };
        let set = self.finite(&r.set, "set");
        if let Some(v) = p.vars.get(var.ix())
            && (set <= v.bounds[0] || set >= v.bounds[1])
        {
            self.err(
                &r.set.referenced,
                format!(
                    "set {set} must lie inside the bounds [{}, {}] of `{}`",
                    v.bounds[0], v.bounds[1], v.id
                ),
            );
        }
        let capacity = self.positive(&r.capacity, "capacity");
        let kind = match (r.kind.value.as_str(), &r.reseat) {
            ("psv", Some(reseat)) => {
                let reseat = self.finite(reseat, "reseat");
                if reseat >= set {
                    self.err(
                        &r.id.referenced,
                        format!("relief `{}`: reseat {reseat} must be below set {set}", r.id.value),
                    );
                }
                ReliefKind::Psv { reseat }
            }
            ("psv", None) => {
                self.err(
                    &r.id.referenced,
                    format!("relief `{}`: a psv needs `reseat` (the value it closes at)", r.id.value),
                );
                ReliefKind::Psv { reseat: set }
            }
            ("rupture_disc" | "weir", Some(reseat)) => {
                self.err(
                    &reseat.referenced,
                    "only a psv reseats; a rupture disc stays open and a weir has no reseat",
                );
                ReliefKind::Weir
            }
            ("rupture_disc", None) => ReliefKind::RuptureDisc,
            ("weir", None) => ReliefKind::Weir,
            (other, _) => {
                self.err(
                    &r.kind.referenced,
                    format!("unknown relief kind `{other}`, expected psv, rupture_disc or weir"),
                );
                ReliefKind::Weir
            }
        };
        ReliefDef { id: r.id.value.clone(), name: self.text(&r.name, &r.id), kind, var, set, capacity }
    }

    /// Validates one process variable and its driving terms.
    fn var(&mut self, v: &VarFile, p: &Process) -> VarDef {
        let bounds = self.window(&v.bounds, "bounds");
        let initial = self.finite(&v.initial, "initial");
        if initial < bounds[0] || initial > bounds[1] {
            self.err(
                &v.initial.referenced,
                format!("initial {initial} is outside bounds [{}, {}]", bounds[0], bounds[1]),
            );
        }
        let safe = v.safe.as_ref().map(|s| {
            let w = self.window(s, "safe");
            if w[0] < bounds[0] || w[1] > bounds[1] {
                self.err(
                    &s.referenced,
                    format!(
                        "safe window [{}, {}] is outside bounds [{}, {}]",
                        w[0], w[1], bounds[0], bounds[1]
                    ),
                );
            }
            w
        });
        let damage_above = v.damage_above.as_ref().map(|d| {
            let x = self.finite(d, "damage_above");
            if x > bounds[1] {
                self.err(
                    &d.referenced,
                    format!(
                        "damage_above {x} is above the upper bound {} and can never be reached",
                        bounds[1]
                    ),
                );
            }
            x
        });
        let damage_below = v.damage_below.as_ref().map(|d| {
            let x = self.finite(d, "damage_below");
            if x < bounds[0] {
                self.err(
                    &d.referenced,
                    format!(
                        "damage_below {x} is below the lower bound {} and can never be reached",
                        bounds[0]
                    ),
                );
            }
            x
        });
        let limit_deadband = self.limit_deadband(v, bounds, safe);
        let damage_dose = v.damage_dose.as_ref().map(|d| self.dose(d, bounds));
        let relax =
            v.relax.as_ref().map(|r| (self.positive(&r.tau_s, "tau_s"), self.finite(&r.toward, "toward")));
        let terms = v.terms.iter().map(|t| self.term(t, p, &v.id)).collect();
        VarDef {
            id: v.id.value.clone(),
            name: self.text(&v.name, &v.id),
            unit: v.unit.clone(),
            initial,
            bounds,
            safe,
            damage_above,
            damage_below,
            damage_dose,
            limit_deadband,
            relax,
            terms,
        }
    }

    /// A variable's hysteresis on limit events: given, or half a percent of its range.
    fn limit_deadband(&mut self, v: &VarFile, bounds: [f64; 2], safe: Option<[f64; 2]>) -> f64 {
        match &v.limit_deadband {
            Some(d) => {
                let x = self.finite(d, "limit_deadband");
                let span = safe.map_or(bounds[1] - bounds[0], |w| w[1] - w[0]);
                if x < 0.0 || x >= span {
                    self.err(
                        &d.referenced,
                        format!(
                            "limit_deadband must be at least 0 and less than the safe window's span {span}"
                        ),
                    );
                }
                x
            }
            // Half a percent of the physical range: a value dithering on a limit logs once.
            None => 0.005 * (bounds[1] - bounds[0]),
        }
    }

    /// Validates a variable's damage by time at condition.
    fn dose(&mut self, d: &DoseFile, bounds: [f64; 2]) -> Dose {
        let above = d.above.as_ref().map(|x| self.finite(x, "above"));
        let below = d.below.as_ref().map(|x| self.finite(x, "below"));
        if above.is_none() && below.is_none() {
            self.err(
                &d.for_s.referenced,
                "damage_dose needs `above` or `below` (the condition that accrues the dose)",
            );
        }
        for (x, spanned) in [(above, &d.above), (below, &d.below)] {
            if let (Some(x), Some(sp)) = (x, spanned)
                && (x < bounds[0] || x > bounds[1])
            {
                self.err(
                    &sp.referenced,
                    format!("{x} is outside bounds [{}, {}] and can never be reached", bounds[0], bounds[1]),
                );
            }
        }
        Dose { above, below, for_s: self.positive(&d.for_s, "for_s") }
    }

    /// Validates one actuator.
    fn actuator(&mut self, a: &ActuatorFile) -> ActuatorDef {
        let kind = self.enum_of(
            &a.kind,
            "actuator kind",
            &[(ActuatorKind::Binary, "binary"), (ActuatorKind::Analog, "analog")],
        );
        let stroke_s = self.finite(&a.stroke_s, "stroke_s");
        if stroke_s < 0.0 {
            self.err(&a.stroke_s.referenced, "stroke_s must not be negative");
        }
        let fail = match &a.fail {
            FailFile::Position(x) => Some(*x),
            FailFile::Word(w) if w.value == "hold" => None,
            FailFile::Word(w) => {
                self.err(&w.referenced, format!("fail `{}`: expected a position 0..=1 or `hold`", w.value));
                None
            }
        };
        for (what, x) in [("initial", Some(a.initial)), ("fail", fail)] {
            if let Some(x) = x.filter(|x| !(0.0..=1.0).contains(x)) {
                self.err(&a.id.referenced, format!("actuator `{}`: {what} {x} is outside 0..=1", a.id.value));
            }
        }
        ActuatorDef {
            id: a.id.value.clone(),
            name: self.text(&a.name, &a.id),
            kind,
            stroke_s,
            initial: a.initial,
            fail,
        }
    }

    /// Validates one sensor: the variable it measures and whether it is a transmitter or a switch.
    fn sensor(&mut self, s: &SensorFile, p: &Process) -> SensorDef {
        let var = match p.names.get(&s.var.value) {
            Some(ProcessRef::Var(i)) => *i,
            _ => {
                self.err(&s.var.referenced, format!("unknown variable `{}`", s.var.value));
                VarIdx(0)
            }
        };
        let noise = s.noise.as_ref().map_or(0.0, |n| self.finite(n, "noise"));
        if noise < 0.0 {
            self.err(&s.id.referenced, "noise must not be negative");
        }
        let drift_per_h = s.drift_per_h.as_ref().map_or(0.0, |d| self.finite(d, "drift_per_h"));
        let kind = match (&s.range, &s.switch_above, &s.switch_below) {
            (None, Some(t), None) => SensorKind::SwitchAbove(self.finite(t, "switch_above")),
            (None, None, Some(t)) => SensorKind::SwitchBelow(self.finite(t, "switch_below")),
            (Some(r), None, None) => {
                let [lo, hi] = self.window(r, "range");
                SensorKind::Analog { lo, hi }
            }
            (None, None, None) => {
                let bounds = p.vars.get(var.ix()).map_or([0.0, 1.0], |v| v.bounds);
                SensorKind::Analog { lo: bounds[0], hi: bounds[1] }
            }
            _ => {
                self.err(
                    &s.id.referenced,
                    format!(
                        "sensor `{}`: give either range or one of switch_above, switch_below",
                        s.id.value
                    ),
                );
                SensorKind::Analog { lo: 0.0, hi: 1.0 }
            }
        };
        let mut seconds = |v: &Option<Spanned<f64>>, what: &str, max: f64| {
            v.as_ref().map_or(0.0, |x| {
                let t = self.finite(x, what);
                if !(0.0..=max).contains(&t) {
                    self.err(&x.referenced, format!("{what} must be 0..={max} seconds, got {t}"));
                }
                t.clamp(0.0, max)
            })
        };
        let lag_s = seconds(&s.lag_s, "lag_s", MAX_LAG_S);
        let dead_time_s = seconds(&s.dead_time_s, "dead_time_s", MAX_DEAD_TIME_S);
        SensorDef {
            id: s.id.value.clone(),
            name: self.text(&s.name, &s.id),
            var,
            noise,
            drift_per_h,
            kind,
            lag_s,
            dead_time_s,
        }
    }

    /// Resolves a sensor id.
    pub(super) fn sensor_ref(&mut self, process: &Process, id: &Spanned<String>) -> SensorIdx {
        match process.names.get(&id.value) {
            Some(ProcessRef::Sensor(i)) => *i,
            _ => {
                self.err(&id.referenced, format!("unknown sensor `{}`", id.value));
                SensorIdx(0)
            }
        }
    }

    /// Resolves a sensor id that must name a transmitter.
    pub(super) fn analog_sensor(&mut self, process: &Process, id: &Spanned<String>) -> SensorIdx {
        let i = self.sensor_ref(process, id);
        if let Some(s) = process.sensors.get(i.ix())
            && !matches!(s.kind, SensorKind::Analog { .. })
            && process.names.contains_key(&id.value)
        {
            self.err(
                &id.referenced,
                format!("sensor `{}` is a switch; a transmitter is needed here", id.value),
            );
        }
        i
    }

    /// Resolves a sensor id that must name a switch.
    pub(super) fn switch_sensor(&mut self, process: &Process, id: &Spanned<String>) -> SensorIdx {
        let i = self.sensor_ref(process, id);
        if let Some(s) = process.sensors.get(i.ix())
            && matches!(s.kind, SensorKind::Analog { .. })
            && process.names.contains_key(&id.value)
        {
            self.err(
                &id.referenced,
                format!("sensor `{}` is a transmitter; a switch is needed here", id.value),
            );
        }
        i
    }

    /// Resolves an actuator id.
    pub(super) fn actuator_ref(&mut self, process: &Process, id: &Spanned<String>) -> ActuatorIdx {
        match process.names.get(&id.value) {
            Some(ProcessRef::Actuator(i)) => *i,
            Some(other) => {
                let what =
                    if matches!(other, ProcessRef::Var(_)) { "a process variable" } else { "a sensor" };
                self.err(
                    &id.referenced,
                    format!(
                        "`{}` is {what}, not an actuator: an output drives a valve, pump, heater or breaker (to set another PI loop's set point, use `setpoint: {{ cascade: LOOP, lo, hi }}` there)",
                        id.value
                    ),
                );
                ActuatorIdx(0)
            }
            None => {
                self.err(&id.referenced, format!("unknown actuator `{}`", id.value));
                ActuatorIdx(0)
            }
        }
    }

    /// Validates the scheduled faults.
    pub(super) fn faults(&mut self, faults: &[FaultFile], process: &Process, tick_hz: u32) -> Vec<FaultDef> {
        let mut names = Names::default();
        let ticks = |s: f64| (s * f64::from(tick_hz)).round() as u64;
        faults
            .iter()
            .map(|f| {
                self.define(&mut names, "fault", &f.id);
                let at = self.finite(&f.at_s, "at_s");
                if at < 0.0 {
                    self.err(&f.at_s.referenced, "at_s must not be negative");
                }
                if at > 7.0 * 86_400.0 {
                    self.err(&f.at_s.referenced, "at_s must be within 7 days");
                }
                let start_tick = ticks(at.clamp(0.0, 7.0 * 86_400.0));
                let end_tick =
                    f.duration_s.as_ref().map(|d| start_tick + ticks(self.positive(d, "duration_s")).max(1));
                let effect = match &f.effect {
                    FaultEffectFile::SensorFreeze { sensor } => {
                        FaultEffect::SensorFreeze { sensor: self.sensor_ref(process, sensor) }
                    }
                    FaultEffectFile::SensorDrift { sensor, per_h } => FaultEffect::SensorDrift {
                        sensor: self.sensor_ref(process, sensor),
                        per_h: self.finite(per_h, "per_h"),
                    },
                    FaultEffectFile::SensorNoise { sensor, sd } => FaultEffect::SensorNoise {
                        sensor: self.sensor_ref(process, sensor),
                        sd: self.positive(sd, "sd"),
                    },
                    FaultEffectFile::SensorBias { sensor, bias } => FaultEffect::SensorBias {
                        sensor: self.sensor_ref(process, sensor),
                        bias: self.finite(bias, "bias"),
                    },
                    FaultEffectFile::ActuatorStuck { actuator } => {
                        FaultEffect::ActuatorStuck { actuator: self.actuator_ref(process, actuator) }
                    }
                };
                FaultDef {
                    id: f.id.value.clone(),
                    start_tick,
                    end_tick,
                    note: f.note.as_ref().map(|n| self.text(n, &f.id)),
                    effect,
                }
            })
            .collect()
    }
}
