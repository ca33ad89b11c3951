//! The one place a scenario is rejected: `ScenarioFile` -> `Scenario`.
//!
//! Validation keeps going after the first problem and reports every one it finds, each located
//! at the key or value that causes it. Problems that serde finds first (bad YAML, unknown keys,
//! wrong types) stop at the first, because the rest of the document cannot be trusted.
//!
//! This module holds the error types, the validation context and its checks of single values,
//! and the walk over a whole file; each part of the file has a submodule: `network`,
//! `process`, `plc` and `logic`, `background`, `attack` and `scoring`.

use std::collections::BTreeMap;
use std::fmt;

use serde_saphyr::{Location, Spanned};
use sha2::{Digest, Sha256};

use super::file::*;
use super::*;

mod attack;
mod background;
mod iec104;
mod logic;
mod mimic;
mod network;
mod plc;
mod process;
mod scoring;

use attack::AttackNames;
use plc::PlantBuild;

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
    let mut cx = Cx { file, errors: Vec::new(), warnings: Vec::new() };
    let mut scenario = cx.scenario(parsed, source);
    if cx.errors.is_empty() {
        cx.warnings.sort_by_key(|e| (e.line, e.column));
        scenario.warnings = cx.warnings;
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
    /// Traps a designer fell into that still make a valid scenario.
    warnings: Vec<ScenarioError>,
}

/// Ids of one namespace, in file order of first definition.
#[derive(Default, Clone)]
struct Names(BTreeMap<String, u32>);

impl Names {
    fn get(&self, id: &str) -> Option<u32> {
        self.0.get(id).copied()
    }
}

use crate::event::hex;

/// SHA-256 of `data`, in hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

impl Cx<'_> {
    fn warn(&mut self, at: &Location, message: impl Into<String>) {
        self.warnings.push(ScenarioError {
            file: self.file.to_string(),
            line: at.line().max(1),
            column: at.column().max(1),
            message: message.into(),
        });
    }

    /// A text in both languages; one language only is taken for both, with a warning at its
    /// owner (`owner` names what the text belongs to).
    fn text(&mut self, t: &TextFile, owner: &Spanned<String>) -> Text {
        match t {
            TextFile::Same(s) => Text::new(s.clone(), s.clone()),
            TextFile::Both { en: Some(en), zh: Some(zh) } => Text::new(en.clone(), zh.clone()),
            TextFile::Both { en: Some(one), zh: None } | TextFile::Both { en: None, zh: Some(one) } => {
                let (has, lacks) =
                    if matches!(t, TextFile::Both { en: Some(_), .. }) { ("en", "zh") } else { ("zh", "en") };
                self.warn(
                    &owner.referenced,
                    format!(
                        "`{}`: a text with {has} only shows {has} to {lacks} readers: add {lacks}, or give a plain string when both are the same",
                        owner.value
                    ),
                );
                Text::new(one.clone(), one.clone())
            }
            TextFile::Both { en: None, zh: None } => {
                self.err(
                    &owner.referenced,
                    format!("`{}`: a text needs en, zh or a plain string", owner.value),
                );
                Text::new("", "")
            }
        }
    }

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
        plant.plc_names = plc_names.clone();
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
        let (monitoring, ids) =
            self.monitoring(f.monitoring.as_ref(), meta.level, (&host_names, &plc_names), tick_hz);
        let (background, maintenance) =
            self.background((&f.background, &f.maintenance), (&host_names, &plc_names, &plcs), tick_hz);
        let traffic = self.traffic(&f.traffic, &hosts, &host_names, &plc_names, tick_hz);
        let scoring = self.scoring(&f.scoring, tick_hz, &plant.interlocks);
        let hints = self.hints(&f.hints);
        let exam = self.exam(f.exam.as_ref(), tick_hz);
        let attack = self.attack(
            f.attacker.as_ref(),
            &f.attack,
            &AttackNames {
                hosts: &host_names,
                host_roles: &hosts.iter().map(|h| h.role).collect::<Vec<_>>(),
                plcs: &plc_names,
                process: &process,
                plc_files: &f.plcs,
                tick_hz,
            },
        );

        let mut scenario = Scenario {
            warnings: Vec::new(),
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
            reliefs: process.reliefs,
            tables: process.tables,
            plcs,
            alarms: plant.alarms,
            interlocks: plant.interlocks,
            faults,
            monitoring,
            attack,
            background,
            maintenance,
            mimic: Default::default(),
            traffic,
            ids,
            scoring,
            hints,
            exam,
        };
        if let Some(m) = &f.mimic {
            scenario.mimic = self.mimic(m, &scenario);
        }
        scenario
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
            title: self.text(&m.title, &m.industry),
            brief: self.text(&m.brief, &m.industry),
            references: m.references.clone(),
            time_compression: m.time_compression.as_ref().map_or(1.0, |c| {
                let x = self.finite(c, "time_compression");
                if !(1.0..=10_000.0).contains(&x) {
                    self.err(&c.referenced, format!("time_compression {x} is out of range 1..=10000"));
                    return 1.0;
                }
                x
            }),
        }
    }
}
