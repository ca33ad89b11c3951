//! The one place a scenario is rejected: `ScenarioFile` -> `Scenario`.
//!
//! Validation keeps going after the first problem and reports every one it finds, each located
//! at the key or value that causes it. Problems that serde finds first (bad YAML, unknown keys,
//! wrong types) stop at the first, because the rest of the document cannot be trusted.

use std::collections::BTreeMap;
use std::fmt;

use serde_saphyr::{Location, Spanned};
use sha2::{Digest, Sha256};

use super::file::*;
use super::*;

mod attack;
mod scoring;

use attack::AttackNames;

/// One problem in a scenario file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// File name as given to `Scenario::from_yaml`.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// What is wrong, without a trailing period.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

/// Every problem found in a scenario file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

pub(super) fn from_yaml(file: &str, source: &str) -> Result<Scenario, ScenarioErrors> {
    let parsed: ScenarioFile = match serde_saphyr::from_str(source) {
        Ok(parsed) => parsed,
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
            let text = e.without_snippet().to_string();
            // The plain rendering ends in " at line N, column M"; the location is ours to print.
            let message = match text.rsplit_once(" at line ") {
                Some((head, _)) => head.to_string(),
                None => text,
            };
            return Err(ScenarioErrors(vec![ScenarioError {
                file: file.to_string(),
                line,
                column,
                message,
            }]));
        }
    };
    let mut cx = Cx { file, errors: Vec::new() };
    let scenario = cx.scenario(parsed, source);
    if cx.errors.is_empty() {
        return Ok(scenario);
    }
    cx.errors.sort_by_key(|e| (e.line, e.column));
    Err(ScenarioErrors(cx.errors))
}

/// Validation context: the file name and the problems found so far. Helpers that find a
/// problem record it and return a placeholder, so validation goes on; the placeholder never
/// escapes because any recorded problem fails the whole scenario.
struct Cx<'a> {
    file: &'a str,
    errors: Vec<ScenarioError>,
}

/// Ids of one namespace, in file order of first definition.
#[derive(Default)]
struct Names(BTreeMap<String, u32>);

impl Names {
    fn get(&self, id: &str) -> Option<u32> {
        self.0.get(id).copied()
    }
}

fn text(t: &TextFile) -> Text {
    match t {
        TextFile::Same(s) => Text::new(s.clone(), s.clone()),
        TextFile::Both { en, zh } => Text::new(en.clone(), zh.clone()),
    }
}

use crate::event::hex;

/// SHA-256 of `data`, in hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

impl Cx<'_> {
    fn err(&mut self, at: &Location, message: impl Into<String>) {
        self.errors.push(ScenarioError {
            file: self.file.to_string(),
            line: at.line().max(1),
            column: at.column().max(1),
            message: message.into(),
        });
    }

    /// Registers `id` in `names`, reporting a duplicate.
    fn define(&mut self, names: &mut Names, what: &str, id: &Spanned<String>) {
        let next = names.0.len() as u32;
        if id.value.is_empty() {
            self.err(&id.referenced, format!("{what} id must not be empty"));
        }
        if names.0.contains_key(&id.value) {
            self.err(&id.referenced, format!("duplicate {what} id `{}`", id.value));
            return;
        }
        names.0.insert(id.value.clone(), next);
    }

    fn resolve(&mut self, names: &Names, what: &str, id: &Spanned<String>) -> u32 {
        match names.get(&id.value) {
            Some(i) => i,
            None => {
                self.err(&id.referenced, format!("unknown {what} `{}`", id.value));
                0
            }
        }
    }

    fn int(&mut self, v: &Spanned<i64>, lo: i64, hi: i64, what: &str) -> i64 {
        if v.value < lo || v.value > hi {
            self.err(&v.referenced, format!("{what} {} is out of range {lo}..={hi}", v.value));
            return lo;
        }
        v.value
    }

    fn finite(&mut self, v: &Spanned<f64>, what: &str) -> f64 {
        if !v.value.is_finite() {
            self.err(&v.referenced, format!("{what} must be a finite number"));
            return 0.0;
        }
        v.value
    }

    /// A number without a span of its own, reported at the id of what it belongs to.
    fn finite_plain(&mut self, x: f64, owner: &Spanned<String>, what: &str) -> f64 {
        if !x.is_finite() {
            self.err(&owner.referenced, format!("`{}`: {what} must be a finite number", owner.value));
            return 0.0;
        }
        x
    }

    fn positive(&mut self, v: &Spanned<f64>, what: &str) -> f64 {
        let x = self.finite(v, what);
        if x <= 0.0 && v.value.is_finite() {
            self.err(&v.referenced, format!("{what} must be greater than 0, got {x}"));
            return 1.0;
        }
        x
    }

    fn window(&mut self, v: &Spanned<[f64; 2]>, what: &str) -> [f64; 2] {
        let [lo, hi] = v.value;
        if !lo.is_finite() || !hi.is_finite() || lo >= hi {
            self.err(&v.referenced, format!("{what} must be [low, high] with low < high, got [{lo}, {hi}]"));
            return [0.0, 1.0];
        }
        [lo, hi]
    }

    fn enum_of<T: Copy>(&mut self, v: &Spanned<String>, what: &str, choices: &[(T, &str)]) -> T {
        if let Some((t, _)) = choices.iter().find(|(_, s)| *s == v.value) {
            return *t;
        }
        let names: Vec<&str> = choices.iter().map(|(_, s)| *s).collect();
        self.err(
            &v.referenced,
            format!("unknown {what} `{}`, expected one of {}", v.value, names.join(", ")),
        );
        choices[0].0
    }

    fn scenario(&mut self, f: ScenarioFile, source: &str) -> Scenario {
        let meta = self.meta(&f.meta);
        let tick_hz = self.int(&f.sim.tick_hz, 1, 1000, "tick_hz") as u32;
        let per_tick = |s: f64| (s * f64::from(tick_hz)).round().max(1.0) as u64;
        let sample_ticks = per_tick(self.positive(&f.sim.sample_interval_s, "sample_interval_s"));
        let duration_s = self.positive(&f.sim.duration_s, "duration_s");
        if duration_s > super::MAX_DURATION_S {
            self.err(&f.sim.duration_s.referenced, "duration_s must be at most 7 days");
        }
        let duration_ticks = per_tick(duration_s);

        let mut zone_names = Names::default();
        let zones = self.zones(&f.network.zones, &mut zone_names);
        let mut host_names = Names::default();
        let hosts = self.hosts(&f.network.hosts, &zone_names, &mut host_names);
        let mut plc_names = Names::default();
        for p in &f.plcs {
            self.define(&mut plc_names, "PLC", &p.id);
        }
        let conduits = self.conduits(&f.network.conduits, &zone_names, &host_names, &plc_names);

        let process = self.process(&f.process);
        self.check_stability(&f.process, &process, tick_hz);
        let mut plant = PlantBuild::default();
        // Alarm and interlock ids are global, so discrete inputs of one PLC can mirror a trip
        // evaluated in another (a safety PLC's status shown in the process PLC).
        for p in &f.plcs {
            for block in &p.logic {
                match block {
                    LogicFile::Alarm(a) => self.define(&mut plant.alarm_names, "alarm", &a.id),
                    LogicFile::Interlock(i) => self.define(&mut plant.interlock_names, "interlock", &i.id),
                    _ => {}
                }
            }
        }
        let plcs: Vec<PlcDef> = f
            .plcs
            .iter()
            .enumerate()
            .map(|(i, p)| self.plc(PlcIdx(i as u32), p, tick_hz, &zone_names, &process, &mut plant))
            .collect();
        let faults = self.faults(&f.faults, &process, tick_hz);
        let monitoring = self.monitoring(f.monitoring.as_ref(), meta.level);
        let background = self.background(&f.background, &host_names, &plc_names, tick_hz);
        let scoring = self.scoring(&f.scoring, tick_hz);
        let hints = self.hints(&f.hints);
        let exam = self.exam(f.exam.as_ref(), tick_hz);
        let attack = self.attack(
            f.attacker.as_ref(),
            &f.attack,
            &AttackNames {
                hosts: &host_names,
                plcs: &plc_names,
                process: &process,
                plc_files: &f.plcs,
                tick_hz,
            },
        );

        Scenario {
            id: self.scenario_id(&f.id),
            source_hash: sha256_hex(source.as_bytes()),
            meta,
            tick_hz,
            sample_ticks,
            duration_ticks,
            zones,
            conduits,
            hosts,
            vars: process.vars,
            actuators: process.actuators,
            sensors: process.sensors,
            plcs,
            alarms: plant.alarms,
            interlocks: plant.interlocks,
            faults,
            monitoring,
            attack,
            background,
            scoring,
            hints,
            exam,
        }
    }

    fn scenario_id(&mut self, id: &Spanned<String>) -> String {
        let ok = !id.value.is_empty()
            && id.value.len() <= 64
            && id
                .value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            self.err(
                &id.referenced,
                format!("scenario id `{}` must be 1-64 characters of a-z, 0-9, - and _", id.value),
            );
        }
        id.value.clone()
    }

    fn meta(&mut self, m: &MetaFile) -> Meta {
        let industry = self.enum_of(&m.industry, "industry", &Industry::ALL);
        let level = self.int(&m.level, 1, 3, "enterprise level") as u8;
        Meta {
            industry,
            level,
            title: text(&m.title),
            brief: text(&m.brief),
            references: m.references.clone(),
        }
    }

    fn zones(&mut self, zones: &[ZoneFile], names: &mut Names) -> Vec<Zone> {
        const LEVELS: [(ZoneLevel, &str); 5] = [
            (ZoneLevel::Enterprise, "enterprise"),
            (ZoneLevel::Dmz, "dmz"),
            (ZoneLevel::Supervisory, "supervisory"),
            (ZoneLevel::Control, "control"),
            (ZoneLevel::Safety, "safety"),
        ];
        zones
            .iter()
            .map(|z| {
                self.define(names, "zone", &z.id);
                let level = self.enum_of(&z.level, "zone level", &LEVELS);
                let security_level =
                    z.security_level.as_ref().map(|s| self.int(s, 1, 4, "security_level") as u8);
                Zone { id: z.id.value.clone(), name: text(&z.name), level, security_level }
            })
            .collect()
    }

    fn hosts(&mut self, hosts: &[HostFile], zones: &Names, names: &mut Names) -> Vec<Host> {
        const ROLES: [(HostRole, &str); 5] = [
            (HostRole::Hmi, "hmi"),
            (HostRole::Ews, "ews"),
            (HostRole::Historian, "historian"),
            (HostRole::ItWorkstation, "it_workstation"),
            (HostRole::Server, "server"),
        ];
        hosts
            .iter()
            .map(|h| {
                self.define(names, "host", &h.id);
                let role = self.enum_of(&h.role, "host role", &ROLES);
                let zone = ZoneIdx(self.resolve(zones, "zone", &h.zone));
                Host { id: h.id.value.clone(), name: text(&h.name), role, zone }
            })
            .collect()
    }

    fn conduits(
        &mut self,
        conduits: &[ConduitFile],
        zones: &Names,
        hosts: &Names,
        plcs: &Names,
    ) -> Vec<Conduit> {
        let mut names = Names::default();
        let mut pairs = BTreeMap::new();
        conduits
            .iter()
            .map(|c| {
                self.define(&mut names, "conduit", &c.id);
                let from = ZoneIdx(self.resolve(zones, "zone", &c.from));
                let to = ZoneIdx(self.resolve(zones, "zone", &c.to));
                if c.from.value == c.to.value {
                    self.err(&c.to.referenced, "a conduit must join two different zones");
                }
                if let Some(other) =
                    pairs.insert((c.from.value.clone(), c.to.value.clone()), c.id.value.clone())
                {
                    self.err(
                        &c.id.referenced,
                        format!("conduit `{other}` already joins `{}` to `{}`", c.from.value, c.to.value),
                    );
                }
                let allow_sources =
                    c.allow_sources.iter().map(|h| HostIdx(self.resolve(hosts, "host", h))).collect();
                let allow_functions =
                    c.allow_functions.iter().map(|f| self.int(f, 1, 127, "function code") as u8).collect();
                let write_ranges = c
                    .write_ranges
                    .iter()
                    .map(|w| {
                        let plc = PlcIdx(self.resolve(plcs, "PLC", &w.plc));
                        let start = self.int(&w.start, 0, 65535, "start address") as u16;
                        let end = self.int(&w.end, 0, 65535, "end address") as u16;
                        if end < start {
                            self.err(
                                &w.end.referenced,
                                format!("end address {end} is below start address {start}"),
                            );
                        }
                        let min = w.min.as_ref().map(|v| self.int(v, 0, 65535, "min") as u16);
                        let max = w.max.as_ref().map(|v| self.int(v, 0, 65535, "max") as u16);
                        if let (Some(lo), Some(hi), Some(at)) = (min, max, w.max.as_ref())
                            && hi < lo
                        {
                            self.err(&at.referenced, format!("max {hi} is below min {lo}"));
                        }
                        WriteRange { plc, start, end, min, max }
                    })
                    .collect();
                Conduit {
                    id: c.id.value.clone(),
                    from,
                    to,
                    policy: FirewallPolicy {
                        allow_sources,
                        deny_sources: Vec::new(),
                        allow_functions,
                        write_ranges,
                    },
                }
            })
            .collect()
    }
}

/// The process part of a scenario, with its namespace (variables, actuators and sensors share
/// one, so a term's factor is unambiguous).
struct Process {
    names: BTreeMap<String, ProcessRef>,
    vars: Vec<VarDef>,
    actuators: Vec<ActuatorDef>,
    sensors: Vec<SensorDef>,
}

#[derive(Clone, Copy)]
enum ProcessRef {
    Var(VarIdx),
    Actuator(ActuatorIdx),
    Sensor(SensorIdx),
}

impl Cx<'_> {
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

    fn process(&mut self, f: &ProcessFile) -> Process {
        if f.model.value != "lumped" {
            self.err(
                &f.model.referenced,
                format!("unknown process model `{}`, expected lumped", f.model.value),
            );
        }
        let mut p =
            Process { names: BTreeMap::new(), vars: Vec::new(), actuators: Vec::new(), sensors: Vec::new() };
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
        p.vars = f.variables.iter().map(|v| self.var(v, &p)).collect();
        p.sensors = f.sensors.iter().map(|s| self.sensor(s, &p)).collect();
        p
    }

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
        let relax =
            v.relax.as_ref().map(|r| (self.positive(&r.tau_s, "tau_s"), self.finite(&r.toward, "toward")));
        let terms = v
            .terms
            .iter()
            .map(|t| {
                let gain = self.finite(&t.gain, "gain");
                let of = t
                    .of
                    .iter()
                    .map(|s| match p.names.get(&s.value) {
                        Some(ProcessRef::Var(i)) => Signal::Var(*i),
                        Some(ProcessRef::Actuator(i)) => Signal::Actuator(*i),
                        Some(ProcessRef::Sensor(_)) => {
                            self.err(&s.referenced, format!("`{}` is a sensor; terms take true values of variables or actuator positions", s.value));
                            Signal::Var(VarIdx(0))
                        }
                        None => {
                            self.err(&s.referenced, format!("unknown variable or actuator `{}`", s.value));
                            Signal::Var(VarIdx(0))
                        }
                    })
                    .collect();
                Term { gain, of }
            })
            .collect();
        VarDef {
            id: v.id.value.clone(),
            name: text(&v.name),
            unit: v.unit.clone(),
            initial,
            bounds,
            safe,
            damage_above,
            damage_below,
            relax,
            terms,
        }
    }

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
        for (what, x) in [("initial", a.initial), ("fail", a.fail)] {
            if !(0.0..=1.0).contains(&x) {
                self.err(&a.id.referenced, format!("actuator `{}`: {what} {x} is outside 0..=1", a.id.value));
            }
        }
        ActuatorDef {
            id: a.id.value.clone(),
            name: text(&a.name),
            kind,
            stroke_s,
            initial: a.initial,
            fail: a.fail,
        }
    }

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
        SensorDef { id: s.id.value.clone(), name: text(&s.name), var, noise, drift_per_h, kind }
    }
}

/// What the PLCs build together: alarm and interlock tables and which block drives each
/// actuator (an actuator has one controller).
#[derive(Default)]
struct PlantBuild {
    alarm_names: Names,
    interlock_names: Names,
    alarms: Vec<AlarmDef>,
    interlocks: Vec<InterlockDef>,
    drivers: BTreeMap<u32, String>,
}

/// One PLC's point namespace.
struct Points {
    plc: String,
    names: BTreeMap<String, (Table, PointIdx)>,
}

impl Points {
    fn get(&self, id: &str, table: Table) -> Option<PointIdx> {
        match self.names.get(id) {
            Some((t, i)) if *t == table => Some(*i),
            _ => None,
        }
    }
}

impl Cx<'_> {
    fn plc(
        &mut self,
        idx: PlcIdx,
        p: &PlcFile,
        tick_hz: u32,
        zones: &Names,
        process: &Process,
        plant: &mut PlantBuild,
    ) -> PlcDef {
        let role =
            self.enum_of(&p.role, "PLC role", &[(PlcRole::Process, "process"), (PlcRole::Safety, "safety")]);
        let zone = ZoneIdx(self.resolve(zones, "zone", &p.zone));
        let unit_id = self.int(&p.unit_id, 0, 255, "unit_id") as u8;
        let scan_ms = self.int(&p.scan_ms, 1, 10_000, "scan_ms");
        // A scan never runs more often than the simulation ticks.
        let scan_ticks = ((scan_ms as f64) * f64::from(tick_hz) / 1000.0).round().max(1.0) as u64;
        let mut points = Points { plc: p.id.value.clone(), names: BTreeMap::new() };
        let mut spans: BTreeMap<Table, Vec<(u32, u32, String, Location)>> = BTreeMap::new();
        let mut add_point =
            |cx: &mut Self, table: Table, i: usize, id: &Spanned<String>, addr: &Spanned<i64>| -> u16 {
                if points.names.insert(id.value.clone(), (table, PointIdx(i as u32))).is_some() {
                    cx.err(
                        &id.referenced,
                        format!("duplicate point id `{}` in PLC `{}`", id.value, p.id.value),
                    );
                }
                let a = cx.int(addr, 0, 65535, "address") as u16;
                spans.entry(table).or_default().push((
                    u32::from(a),
                    u32::from(a) + 1,
                    format!("`{}`", id.value),
                    addr.referenced,
                ));
                a
            };
        let coils: Vec<CoilDef> = p
            .coils
            .iter()
            .enumerate()
            .map(|(i, c)| CoilDef {
                id: c.id.value.clone(),
                addr: add_point(self, Table::Coils, i, &c.id, &c.addr),
                name: text(&c.name),
                initial: c.initial,
            })
            .collect();
        let di_addrs: Vec<u16> = p
            .discrete_inputs
            .iter()
            .enumerate()
            .map(|(i, d)| add_point(self, Table::DiscreteInputs, i, &d.id, &d.addr))
            .collect();
        let ir_addrs: Vec<u16> = p
            .input_registers
            .iter()
            .enumerate()
            .map(|(i, r)| add_point(self, Table::InputRegisters, i, &r.id, &r.addr))
            .collect();
        let hr_addrs: Vec<u16> = p
            .holding_registers
            .iter()
            .enumerate()
            .map(|(i, h)| add_point(self, Table::HoldingRegisters, i, &h.id, &h.addr))
            .collect();
        let tables: [(Table, &str); 4] = [
            (Table::Coils, "coils"),
            (Table::DiscreteInputs, "discrete_inputs"),
            (Table::InputRegisters, "input_registers"),
            (Table::HoldingRegisters, "holding_registers"),
        ];
        let reserved: Vec<Reserved> = p
            .reserved
            .iter()
            .map(|r| {
                let table = self.enum_of(&r.table, "table", &tables);
                let start = self.int(&r.start, 0, 65535, "start address") as u16;
                let count = self.int(&r.count, 1, 65536 - i64::from(start), "count") as u32;
                let label = format!("reserved block {start}..{}", u32::from(start) + count - 1);
                spans.entry(table).or_default().push((
                    u32::from(start),
                    u32::from(start) + count,
                    label,
                    r.start.referenced,
                ));
                Reserved { table, start, count, note: r.note.clone() }
            })
            .collect();
        for (table, mut list) in spans {
            list.sort_by_key(|(start, end, _, at)| (*start, *end, at.line(), at.column()));
            for pair in list.windows(2) {
                let (a_start, a_end, a_label, _) = &pair[0];
                let (b_start, _, b_label, b_at) = &pair[1];
                if b_start < a_end {
                    let msg = format!(
                        "{} {b_label} at address {b_start} overlaps {a_label} ({a_start}..{})",
                        table.as_str(),
                        a_end - 1
                    );
                    self.err(b_at, msg);
                }
            }
        }

        let holding_registers: Vec<HoldingDef> =
            p.holding_registers.iter().zip(hr_addrs).map(|(h, addr)| self.holding(h, addr)).collect();
        let input_registers: Vec<InputRegDef> = p
            .input_registers
            .iter()
            .zip(ir_addrs)
            .map(|(r, addr)| {
                let source = match (&r.sensor, &r.actuator) {
                    (Some(s), None) => RegisterSource::Sensor(self.analog_sensor(process, s)),
                    (None, Some(a)) => RegisterSource::Actuator(self.actuator_ref(process, a)),
                    _ => {
                        self.err(
                            &r.id.referenced,
                            format!("input register `{}`: give exactly one of sensor, actuator", r.id.value),
                        );
                        RegisterSource::Sensor(SensorIdx(0))
                    }
                };
                let scale = self.positive(&r.scale, "scale");
                InputRegDef {
                    id: r.id.value.clone(),
                    addr,
                    name: text(&r.name),
                    source,
                    scaling: Scaling { scale, offset: r.offset },
                }
            })
            .collect();
        let discrete_inputs: Vec<DiscreteDef> = p
            .discrete_inputs
            .iter()
            .zip(di_addrs)
            .map(|(d, addr)| {
                let source = match (&d.switch, &d.running, &d.tripped, &d.alarm) {
                    (Some(s), None, None, None) => DiscreteSource::Switch(self.switch_sensor(process, s)),
                    (None, Some(a), None, None) => DiscreteSource::Running(self.actuator_ref(process, a)),
                    (None, None, Some(i), None) => DiscreteSource::Tripped(InterlockIdx(self.resolve(
                        &plant.interlock_names,
                        "interlock",
                        i,
                    ))),
                    (None, None, None, Some(a)) => {
                        DiscreteSource::Alarm(AlarmIdx(self.resolve(&plant.alarm_names, "alarm", a)))
                    }
                    _ => {
                        self.err(
                            &d.id.referenced,
                            format!(
                                "discrete input `{}`: give exactly one of switch, running, tripped, alarm",
                                d.id.value
                            ),
                        );
                        DiscreteSource::Running(ActuatorIdx(0))
                    }
                };
                DiscreteDef { id: d.id.value.clone(), addr, name: text(&d.name), source }
            })
            .collect();

        let logic: Vec<Logic> = p.logic.iter().map(|b| self.logic(idx, b, process, &points, plant)).collect();
        // The program is the logic and the blocks it owns; its hash is what an engineer compares
        // with the backup to see whether the program was changed.
        let mut program = format!("{logic:?}");
        for a in plant.alarms.iter().filter(|a| a.plc == idx) {
            program.push_str(&format!("{a:?}"));
        }
        for i in plant.interlocks.iter().filter(|i| i.plc == idx) {
            program.push_str(&format!("{i:?}"));
        }
        PlcDef {
            id: p.id.value.clone(),
            name: text(&p.name),
            role,
            zone,
            unit_id,
            device: Device {
                vendor: p.device.vendor.clone(),
                product: p.device.product.clone(),
                revision: p.device.revision.clone(),
            },
            scan_ticks,
            range_checks: p.range_checks,
            program_backup: p.program_backup,
            coils,
            discrete_inputs,
            input_registers,
            holding_registers,
            reserved,
            logic,
            program_hash: sha256_hex(program.as_bytes()),
        }
    }

    fn holding(&mut self, h: &HoldingFile, addr: u16) -> HoldingDef {
        let scale = self.positive(&h.scale, "scale");
        let scaling = Scaling { scale, offset: self.finite_plain(h.offset, &h.id, "offset") };
        let initial = self.finite(&h.initial, "initial");
        let representable = |x: f64| {
            let raw = ((x - h.offset) * scale).round();
            (0.0..=65535.0).contains(&raw)
        };
        if !representable(initial) {
            self.err(
                &h.initial.referenced,
                format!(
                    "initial {initial} does not fit a 16-bit register with scale {scale} and offset {}",
                    h.offset
                ),
            );
        }
        let range = h.range.as_ref().map(|r| {
            let w = self.window(r, "range");
            if !representable(w[0]) || !representable(w[1]) {
                self.err(
                    &r.referenced,
                    format!(
                        "range [{}, {}] does not fit a 16-bit register with scale {scale} and offset {}",
                        w[0], w[1], h.offset
                    ),
                );
            }
            if initial < w[0] || initial > w[1] {
                self.err(
                    &h.initial.referenced,
                    format!("initial {initial} is outside the declared range [{}, {}]", w[0], w[1]),
                );
            }
            w
        });
        HoldingDef {
            id: h.id.value.clone(),
            addr,
            name: text(&h.name),
            unit: h.unit.clone(),
            initial_raw: scaling.to_raw(initial),
            scaling,
            range,
        }
    }

    fn sensor_ref(&mut self, process: &Process, id: &Spanned<String>) -> SensorIdx {
        match process.names.get(&id.value) {
            Some(ProcessRef::Sensor(i)) => *i,
            _ => {
                self.err(&id.referenced, format!("unknown sensor `{}`", id.value));
                SensorIdx(0)
            }
        }
    }

    fn analog_sensor(&mut self, process: &Process, id: &Spanned<String>) -> SensorIdx {
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

    fn switch_sensor(&mut self, process: &Process, id: &Spanned<String>) -> SensorIdx {
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

    fn actuator_ref(&mut self, process: &Process, id: &Spanned<String>) -> ActuatorIdx {
        match process.names.get(&id.value) {
            Some(ProcessRef::Actuator(i)) => *i,
            _ => {
                self.err(&id.referenced, format!("unknown actuator `{}`", id.value));
                ActuatorIdx(0)
            }
        }
    }

    /// Claims an actuator for one controlling block.
    fn drive(
        &mut self,
        plant: &mut PlantBuild,
        process: &Process,
        output: &Spanned<String>,
        by: String,
    ) -> ActuatorIdx {
        let a = self.actuator_ref(process, output);
        if process.names.contains_key(&output.value)
            && let Some(other) = plant.drivers.insert(a.0, by)
        {
            self.err(&output.referenced, format!("actuator `{}` is already driven by {other}", output.value));
        }
        a
    }

    fn point(&mut self, points: &Points, id: &Spanned<String>, table: Table) -> PointIdx {
        match points.get(&id.value, table) {
            Some(i) => i,
            None => {
                let what = match table {
                    Table::Coils => "coil",
                    Table::DiscreteInputs => "discrete input",
                    Table::InputRegisters => "input register",
                    Table::HoldingRegisters => "holding register",
                };
                self.err(&id.referenced, format!("`{}` is not a {what} of PLC `{}`", id.value, points.plc));
                PointIdx(0)
            }
        }
    }

    fn param(&mut self, points: &Points, p: &Spanned<ParamFile>) -> Param {
        match &p.value {
            ParamFile::Const(x) if x.is_finite() => Param::Const(*x),
            ParamFile::Const(_) => {
                self.err(&p.referenced, "parameter must be a finite number or a holding register id");
                Param::Const(0.0)
            }
            ParamFile::Register(id) => {
                let spanned = Spanned { value: id.clone(), referenced: p.referenced, defined: p.defined };
                Param::Holding(self.point(points, &spanned, Table::HoldingRegisters))
            }
        }
    }

    fn logic(
        &mut self,
        plc: PlcIdx,
        b: &LogicFile,
        process: &Process,
        points: &Points,
        plant: &mut PlantBuild,
    ) -> Logic {
        let coil = |cx: &mut Self, c: &Option<Spanned<String>>| {
            c.as_ref().map(|c| cx.point(points, c, Table::Coils))
        };
        match b {
            LogicFile::OnOff(o) => {
                let action = self.enum_of(
                    &o.action,
                    "action",
                    &[(OnOffAction::Fill, "fill"), (OnOffAction::Drain, "drain")],
                );
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
                    manual: coil(self, &o.manual),
                    manual_command: coil(self, &o.manual_command),
                }
            }
            LogicFile::Pi(o) => Logic::Pi {
                id: o.id.value.clone(),
                pv: self.analog_sensor(process, &o.pv),
                setpoint: self.param(points, &o.setpoint),
                kp: self.param(points, &o.kp),
                ki: self.param(points, &o.ki),
                bias: self.finite_plain(o.bias, &o.id, "bias"),
                output: self.drive(
                    plant,
                    process,
                    &o.output,
                    format!("`{}` in PLC `{}`", o.id.value, points.plc),
                ),
                reverse: o.reverse,
                manual: coil(self, &o.manual),
                manual_output: o.manual_output.as_ref().map(|m| self.param(points, m)),
            },
            LogicFile::Follow(o) => Logic::Follow {
                coil: self.point(points, &o.coil, Table::Coils),
                output: self.drive(
                    plant,
                    process,
                    &o.output,
                    format!("coil `{}` in PLC `{}`", o.coil.value, points.plc),
                ),
            },
            LogicFile::Alarm(a) => {
                let pv = self.analog_sensor(process, &a.pv);
                let limits =
                    [&a.lo_lo, &a.lo, &a.hi, &a.hi_hi].map(|l| l.as_ref().map(|l| self.param(points, l)));
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
                let idx = AlarmIdx(plant.alarms.len() as u32);
                plant.alarms.push(AlarmDef { id: a.id.value.clone(), plc, pv, limits, deadband: a.deadband });
                Logic::Alarm(idx)
            }
            LogicFile::Interlock(i) => {
                let pv = self.sensor_ref(process, &i.pv);
                let is_switch = process
                    .sensors
                    .get(pv.ix())
                    .is_some_and(|s| !matches!(s.kind, SensorKind::Analog { .. }));
                let above = i.above.as_ref().map(|x| self.param(points, x));
                let below = i.below.as_ref().map(|x| self.param(points, x));
                if is_switch && (above.is_some() || below.is_some()) {
                    self.err(
                        &i.id.referenced,
                        format!("interlock `{}` watches a switch; drop above/below", i.id.value),
                    );
                }
                if !is_switch && above.is_none() && below.is_none() && process.names.contains_key(&i.pv.value)
                {
                    self.err(
                        &i.id.referenced,
                        format!("interlock `{}` watches a transmitter; give above or below", i.id.value),
                    );
                }
                if i.actions.is_empty() {
                    self.err(&i.id.referenced, format!("interlock `{}` has no actions", i.id.value));
                }
                let actions = i
                    .actions
                    .iter()
                    .map(|a| {
                        let act = self.actuator_ref(process, &a.actuator);
                        let v = self.finite(&a.value, "value");
                        if !(0.0..=1.0).contains(&v) {
                            self.err(&a.value.referenced, format!("actuator position {v} is outside 0..=1"));
                        }
                        (act, v)
                    })
                    .collect();
                let idx = InterlockIdx(plant.interlocks.len() as u32);
                plant.interlocks.push(InterlockDef {
                    id: i.id.value.clone(),
                    plc,
                    pv,
                    above,
                    below,
                    bypass: coil(self, &i.bypass),
                    reset: coil(self, &i.reset),
                    actions,
                });
                Logic::Interlock(idx)
            }
        }
    }

    fn faults(&mut self, faults: &[FaultFile], process: &Process, tick_hz: u32) -> Vec<FaultDef> {
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
                    note: f.note.as_ref().map(text),
                    effect,
                }
            })
            .collect()
    }
}

impl Cx<'_> {
    fn background(
        &mut self,
        items: &[BackgroundFile],
        hosts: &Names,
        plcs: &Names,
        tick_hz: u32,
    ) -> Vec<Background> {
        use crate::input::SimInput;
        let mut out: Vec<Background> = items
            .iter()
            .map(|b| {
                let at = self.finite(&b.at_s, "at_s").clamp(0.0, 7.0 * 86_400.0);
                let tick = (at * f64::from(tick_hz)).round() as u64;
                self.resolve(hosts, "host", &b.from);
                let source = b.from.value.clone();
                let int = |cx: &mut Self, v: &Spanned<i64>| cx.int(v, 0, 65535, "value") as u16;
                let input = match &b.action {
                    AttackActionFile::WriteRegisters { plc, addr, values } => {
                        self.resolve(plcs, "PLC", plc);
                        let values = values.iter().map(|v| int(self, v)).collect();
                        SimInput::write_registers(plc.value.clone(), source, int(self, addr), values)
                    }
                    AttackActionFile::WriteCoils { plc, addr, values } => {
                        self.resolve(plcs, "PLC", plc);
                        SimInput::write_coils(plc.value.clone(), source, int(self, addr), values.clone())
                    }
                    AttackActionFile::Read { plc, table, addr, count } => {
                        self.resolve(plcs, "PLC", plc);
                        let function = match table.value.as_str() {
                            "coils" => 1,
                            "discrete_inputs" => 2,
                            "holding_registers" => 3,
                            "input_registers" => 4,
                            other => {
                                self.err(&table.referenced, format!("unknown table `{other}`"));
                                3
                            }
                        };
                        let count = self.int(count, 1, 125, "count") as u16;
                        SimInput::ModbusRequest {
                            plc: plc.value.clone(),
                            source,
                            function,
                            addr: int(self, addr),
                            count,
                            exception: None,
                            reason: None,
                            repeat: 1,
                        }
                    }
                    _ => {
                        self.err(
                            &b.at_s.referenced,
                            "background traffic is write_registers, write_coils or read",
                        );
                        SimInput::ClearFault { id: String::new() }
                    }
                };
                Background { tick, input, note: b.note.as_ref().map(text) }
            })
            .collect();
        out.sort_by_key(|b| b.tick);
        out
    }
}
