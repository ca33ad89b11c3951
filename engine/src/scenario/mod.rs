//! Scenarios: the file format (`file`), its one validation step (`validate`), and the checked
//! `Scenario` the simulation is built from, with the parts judging reads (`rubric`, `exam`)
//! and a trainee's `variant`.
//!
//! A `Scenario` is immutable once validated and shared as `Arc<Scenario>`. Everything in it
//! refers to other parts by dense index (`VarIdx`, `PlcIdx`, ...), never by name, so the
//! simulation never looks a name up on its hot path and never iterates a hash map.
//!
//! The checked types live by part of the plant, all re-exported here: `network` (zones,
//! conduits, hosts), `process` (variables, actuators, sensors, faults) and `plc` (tables,
//! points, logic, alarms, interlocks). This module keeps the whole `Scenario`, its metadata
//! and the index types.

pub mod exam;
pub mod expr;
mod file;
pub mod iec104;
pub mod mimic;
mod network;
pub mod opcua;
mod plc;
mod process;
pub mod rubric;
pub(crate) mod validate;
pub mod variant;
mod writes;

pub use writes::ModbusWrite;

use std::fmt;

use serde::Serialize;

/// The longest a run may last, in simulated seconds (7 days): scenario files, drill files
/// and command-line durations alike.
pub const MAX_DURATION_S: f64 = 7.0 * 86_400.0;

pub use exam::{ExamSpec, PassRule};
pub use network::*;
pub use plc::*;
pub use process::*;
pub use rubric::{Hint, PlanStep, Points, Rubric};
pub use validate::{ScenarioError, ScenarioErrors};

/// Text in both UI languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Text {
    /// English.
    pub en: String,
    /// Simplified Chinese.
    pub zh: String,
}

impl Text {
    /// Text from its English and Chinese: the one way every crate builds bilingual text. The
    /// Chinese is spaced where Han characters meet Latin letters or digits (`到达 T-101 储罐
    /// PLC 并成功`, not `到达T-101 储罐 PLC并成功`), as the texts written by hand are: a name
    /// put into a sentence brings no spaces of its own.
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Text {
        Text { en: en.into(), zh: spaced_zh(zh.into()) }
    }

    /// A device's tag as its plant names it: the first word of its English name when it
    /// looks like one (`LIT-101`), else `id`.
    pub fn tag_or<'a>(&'a self, id: &'a str) -> &'a str {
        match self.en.split_whitespace().next() {
            Some(w) if w.chars().any(|c| c.is_ascii_digit()) && w.len() <= 16 => w,
            _ => id,
        }
    }

    /// The text without `tag` where it begins with it (`LIT-101 T-101 level` -> `T-101 level`),
    /// in each language: what a list with a tag column shows beside it.
    pub fn without_tag(&self, tag: &str) -> Text {
        let strip = |s: &str| {
            s.strip_prefix(tag)
                .and_then(|rest| rest.strip_prefix(' '))
                .filter(|rest| !rest.trim().is_empty())
                .unwrap_or(s)
                .to_string()
        };
        Text { en: strip(&self.en), zh: strip(&self.zh) }
    }
}

/// `zh` with a space wherever a Han character and an ASCII letter or digit meet. Only that:
/// the `pangu` crates also space symbols, arrows and Markdown's markers, which texts here carry
/// as they are (`监控层→控制层`, `40001-40010`).
fn spaced_zh(zh: String) -> String {
    let han =
        |c: char| matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}');
    let meet =
        |a: char, b: char| (han(a) && b.is_ascii_alphanumeric()) || (a.is_ascii_alphanumeric() && han(b));
    let pairs = || zh.chars().zip(zh.chars().skip(1));
    if !pairs().any(|(a, b)| meet(a, b)) {
        return zh;
    }
    let mut out = String::with_capacity(zh.len() + 8);
    let mut last = None;
    for c in zh.chars() {
        if last.is_some_and(|l| meet(l, c)) {
            out.push(' ');
        }
        out.push(c);
        last = Some(c);
    }
    out
}

/// The key industries of the Xinjiang drill programme, plus `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Industry {
    /// Petrochemical (石化).
    Petrochemical,
    /// Power (电力).
    Power,
    /// Coal and coal chemical (煤炭及煤化工).
    CoalChemical,
    /// Steel (钢铁).
    Steel,
    /// Nonferrous metals (有色金属).
    Nonferrous,
    /// Equipment manufacturing (装备制造).
    EquipmentManufacturing,
    /// New materials (新材料).
    NewMaterials,
    /// Any other industry.
    Other,
}

impl Industry {
    /// Every industry with its file spelling.
    pub const ALL: [(Industry, &'static str); 8] = [
        (Industry::Petrochemical, "petrochemical"),
        (Industry::Power, "power"),
        (Industry::CoalChemical, "coal_chemical"),
        (Industry::Steel, "steel"),
        (Industry::Nonferrous, "nonferrous"),
        (Industry::EquipmentManufacturing, "equipment_manufacturing"),
        (Industry::NewMaterials, "new_materials"),
        (Industry::Other, "other"),
    ];

    /// The spelling used in scenario files.
    pub fn as_str(self) -> &'static str {
        Industry::ALL.iter().find(|(i, _)| *i == self).map(|(_, s)| *s).unwrap_or("other")
    }
}

impl fmt::Display for Industry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Scenario metadata shown to instructors and trainees.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    /// The industry the plant belongs to.
    pub industry: Industry,
    /// The enterprise security level (1-3) the scenario targets.
    pub level: u8,
    /// Title.
    pub title: Text,
    /// Brief read to the teams.
    pub brief: Text,
    /// Where the plant's figures come from, and which are illustrative.
    pub references: Vec<String>,
    /// How many times faster than the real plant its dynamics run (1 = real time): drills
    /// compress hours of a real process into minutes, and operators must be told by how much.
    pub time_compression: f64,
}

macro_rules! index_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);
        impl $name {
            /// The index as `usize`, for slices.
            pub fn ix(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

index_type!(
    /// Index of a zone in `Scenario::zones`.
    ZoneIdx,
    /// Index of a host in `Scenario::hosts`.
    HostIdx,
    /// Index of a process variable in `Scenario::vars`.
    VarIdx,
    /// Index of an actuator in `Scenario::actuators`.
    ActuatorIdx,
    /// Index of a sensor in `Scenario::sensors`.
    SensorIdx,
    /// Index of a PLC in `Scenario::plcs`.
    PlcIdx,
    /// Index of a point within one PLC's table.
    PointIdx,
    /// Index of an interlock in `Scenario::interlocks` (all PLCs together).
    InterlockIdx,
    /// Index of an alarm block in `Scenario::alarms` (all PLCs together).
    AlarmIdx,
);

/// A validated scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Id.
    pub id: String,
    /// SHA-256 of the source text, hex.
    pub source_hash: String,
    /// Metadata.
    pub meta: Meta,
    /// Ticks per simulated second.
    pub tick_hz: u32,
    /// Ticks between `sample` events.
    pub sample_ticks: u64,
    /// Default run length in ticks.
    pub duration_ticks: u64,
    /// Zones.
    pub zones: Vec<Zone>,
    /// Conduits.
    pub conduits: Vec<Conduit>,
    /// Hosts.
    pub hosts: Vec<Host>,
    /// Process variables.
    pub vars: Vec<VarDef>,
    /// Actuators.
    pub actuators: Vec<ActuatorDef>,
    /// Sensors.
    pub sensors: Vec<SensorDef>,
    /// Relief devices (PSVs, rupture discs, weirs).
    pub reliefs: Vec<ReliefDef>,
    /// Piecewise-linear lookup tables formulas call (pump curves, valve characteristics).
    pub tables: Vec<expr::Table1d>,
    /// PLCs.
    pub plcs: Vec<PlcDef>,
    /// Alarm blocks of every PLC.
    pub alarms: Vec<AlarmDef>,
    /// Interlocks of every PLC.
    pub interlocks: Vec<InterlockDef>,
    /// Scheduled faults.
    pub faults: Vec<FaultDef>,
    /// What the teams' network monitoring sees.
    pub monitoring: crate::attack::Monitoring,
    /// The attack, if the scenario has one.
    pub attack: Option<crate::attack::AttackPlan>,
    /// Benign background traffic, by first tick (operators and engineers at work).
    pub background: Vec<Background>,
    /// Scheduled maintenance windows.
    pub maintenance: Vec<Maintenance>,
    /// Hand placement on the HMI's process diagram.
    pub mimic: mimic::Mimic,
    /// Routine traffic of each host that makes some (polls and engineering sessions).
    pub traffic: Vec<RoutineHost>,
    /// What the monitoring expects: a learning window, readers and writers per PLC.
    pub ids: IdsConfig,
    /// How teams are scored.
    pub scoring: Rubric,
    /// Hints teams may take.
    pub hints: Vec<Hint>,
    /// The exam section: tasks, pass rule, time limit.
    pub exam: ExamSpec,
    /// Traps the validator found in a valid scenario (`scenarios validate` prints them).
    #[serde(skip)]
    pub warnings: Vec<ScenarioError>,
}

/// What the teams' monitoring expects of the traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IdsConfig {
    /// Ticks the monitoring learns the traffic's baseline for; afterwards any (source, PLC,
    /// function) not seen while learning alerts.
    pub learn_ticks: Option<u64>,
    /// Hosts expected to read and write each PLC, where the scenario says (others: derived
    /// from the routine traffic), by `PlcIdx`.
    pub expected: Vec<Option<Expected>>,
}

/// The hosts expected to talk to one PLC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expected {
    /// Hosts that read it.
    pub readers: Vec<HostIdx>,
    /// Hosts that write it.
    pub writers: Vec<HostIdx>,
}

/// A host's routine traffic: what an operator station, historian or engineering workstation
/// does all day on the control network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutineHost {
    /// The host.
    pub host: HostIdx,
    /// Ticks between two polls of each of its PLCs (operator stations 1 s, historians 5 s).
    pub poll_ticks: Option<u64>,
    /// Mean ticks between two engineering sessions (engineering workstations: 20 minutes).
    pub session_ticks: Option<u64>,
    /// The PLCs it talks to; `None`: every PLC the network lets it reach.
    pub plcs: Option<Vec<PlcIdx>>,
}

/// One piece of benign traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Background {
    /// Tick it happens at.
    pub tick: u64,
    /// The request, from the host doing it.
    pub input: crate::input::SimInput,
    /// What it is, for instructors.
    pub note: Option<Text>,
    /// Ticks between repeats (a shift schedule), if it repeats.
    pub every: Option<u64>,
    /// Last tick a repeat may fall on.
    pub until: u64,
    /// The maintenance window it belongs to (its id).
    pub window: Option<String>,
}

impl Background {
    /// Whether it happens at `tick`.
    pub fn due(&self, tick: u64) -> bool {
        match self.every {
            None => tick == self.tick,
            Some(every) => {
                tick >= self.tick && tick <= self.until && (tick - self.tick).is_multiple_of(every)
            }
        }
    }
}

/// A scheduled maintenance window: work on PLCs from one host, published to the teams (a
/// permit to work), whose writes the monitoring has never seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Maintenance {
    /// Id.
    pub id: String,
    /// Host the work is done from.
    pub host: String,
    /// PLCs worked on.
    pub plcs: Vec<String>,
    /// First tick.
    pub from_tick: u64,
    /// Last tick.
    pub to_tick: u64,
    /// What is done.
    pub note: Option<Text>,
}

impl Scenario {
    /// Parses and validates a scenario. `file` names the source in error messages.
    pub fn from_yaml(file: &str, source: &str) -> Result<Scenario, ScenarioErrors> {
        validate::from_yaml(file, source)
    }

    /// A scenario file's bytes as text: YAML is UTF-8, and a file that is not is located at
    /// its first bad byte (`FILE:LINE:COL`, the column counted in characters).
    pub fn text(file: &str, bytes: &[u8]) -> Result<String, ScenarioErrors> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => {
                let good = std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid up to here");
                let line = good.matches('\n').count() as u64 + 1;
                let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
                let byte = bytes[e.valid_up_to()];
                Err(ScenarioErrors(vec![ScenarioError {
                    file: file.to_string(),
                    line,
                    column,
                    message: format!("not UTF-8 text (byte 0x{byte:02X}): save the scenario as UTF-8"),
                }]))
            }
        }
    }

    /// Whether PLC `plc` reads sensor `sensor` (into a register or bit, or in its logic).
    pub fn reads_sensor(&self, plc: PlcIdx, sensor: SensorIdx) -> bool {
        let def = &self.plcs[plc.ix()];
        def.input_registers.iter().any(|r| r.source == RegisterSource::Sensor(sensor))
            || def.discrete_inputs.iter().any(|d| d.source == DiscreteSource::Switch(sensor))
            || def.logic.iter().any(|l| match l {
                Logic::OnOff { pv, .. } => *pv == sensor,
                Logic::Pi { pv, feedforward, .. } => {
                    *pv == sensor || feedforward.is_some_and(|f| f.0 == sensor)
                }
                Logic::Alarm(a) => self.alarms[a.ix()].pv == sensor,
                Logic::Interlock(i) => {
                    let il = &self.interlocks[i.ix()];
                    il.pv == sensor || il.voters.contains(&sensor)
                }
                Logic::Sequence { steps, .. } => {
                    steps.iter().any(|st| st.until.is_some_and(|(sn, _, _)| sn == sensor))
                }
                Logic::Follow { .. } | Logic::Select { .. } => false,
            })
    }

    /// Whether PLC `plc` is wired to actuator `a` (its logic or its interlocks drive it).
    pub fn drives_actuator(&self, plc: PlcIdx, a: ActuatorIdx) -> bool {
        self.plcs[plc.ix()].logic.iter().any(|l| match l {
            Logic::OnOff { output, .. } | Logic::Follow { output, .. } => *output == a,
            Logic::Pi { output, split, .. } => *output == Some(a) || split.iter().any(|(x, _, _)| *x == a),
            Logic::Interlock(i) => self.interlocks[i.ix()].actions.iter().any(|(x, _)| *x == a),
            Logic::Sequence { steps, .. } => steps.iter().any(|st| st.set.iter().any(|(x, _)| *x == a)),
            Logic::Select { output, .. } => *output == a,
            Logic::Alarm(_) => false,
        })
    }

    /// The same plant with no attack: for practice, and for checking the plant alone.
    pub fn without_attack(&self) -> Scenario {
        Scenario { attack: None, ..self.clone() }
    }

    /// The PLC with this id.
    pub fn plc(&self, id: &str) -> Option<PlcIdx> {
        self.plcs.iter().position(|p| p.id == id).map(|i| PlcIdx(i as u32))
    }

    /// The coil addresses of `plc`'s interlock bypasses.
    pub fn bypass_coils(&self, plc: PlcIdx) -> impl Iterator<Item = u16> + '_ {
        let def = &self.plcs[plc.ix()];
        self.interlocks
            .iter()
            .filter(move |i| i.plc == plc)
            .filter_map(|i| Some(def.coils[i.bypass?.ix()].addr))
    }

    /// The host with this id.
    pub fn host(&self, id: &str) -> Option<HostIdx> {
        self.hosts.iter().position(|h| h.id == id).map(|i| HostIdx(i as u32))
    }

    /// The sensor with this id.
    pub fn sensor(&self, id: &str) -> Option<SensorIdx> {
        self.sensors.iter().position(|s| s.id == id).map(|i| SensorIdx(i as u32))
    }

    /// The actuator with this id.
    pub fn actuator(&self, id: &str) -> Option<ActuatorIdx> {
        self.actuators.iter().position(|a| a.id == id).map(|i| ActuatorIdx(i as u32))
    }

    /// The variable with this id.
    pub fn var(&self, id: &str) -> Option<VarIdx> {
        self.vars.iter().position(|v| v.id == id).map(|i| VarIdx(i as u32))
    }

    /// What a person calls the thing with this id, in both languages: a PLC, host, zone,
    /// sensor, actuator or variable by its display name, a conduit by the zones it joins
    /// (`Office → Control`), an alarm or interlock by what it watches; anything else by its id.
    /// Reports write these instead of ids.
    pub fn label(&self, id: &str) -> Text {
        let found = self
            .plcs
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .or_else(|| self.hosts.iter().find(|h| h.id == id).map(|h| h.name.clone()))
            .or_else(|| self.zones.iter().find(|z| z.id == id).map(|z| z.name.clone()))
            .or_else(|| self.sensors.iter().find(|x| x.id == id).map(|x| x.name.clone()))
            .or_else(|| self.actuators.iter().find(|x| x.id == id).map(|x| x.name.clone()))
            .or_else(|| self.vars.iter().find(|x| x.id == id).map(|x| x.name.clone()))
            .or_else(|| {
                self.conduits.iter().find(|c| c.id == id).map(|c| {
                    let (a, b) = (&self.zones[c.from.ix()].name, &self.zones[c.to.ix()].name);
                    Text::new(format!("{} → {}", a.en, b.en), format!("{}→{}", a.zh, b.zh))
                })
            })
            .or_else(|| {
                self.alarms.iter().find(|a| a.id == id).map(|a| {
                    let n = &self.sensors[a.pv.ix()].name;
                    Text::new(format!("{} alarm", n.en), format!("{}报警", n.zh))
                })
            })
            .or_else(|| {
                self.interlocks.iter().find(|i| i.id == id).map(|i| {
                    let n = &self.sensors[i.pv.ix()].name;
                    Text::new(format!("{} interlock", n.en), format!("{}联锁", n.zh))
                })
            });
        found.unwrap_or_else(|| Text::new(id, id))
    }

    /// Simulated seconds to ticks, rounded to the nearest tick.
    pub fn ticks(&self, seconds: f64) -> u64 {
        (seconds * f64::from(self.tick_hz)).round().max(0.0) as u64
    }

    /// Ticks to simulated seconds.
    pub fn seconds(&self, ticks: u64) -> f64 {
        ticks as f64 / f64::from(self.tick_hz)
    }
}

#[cfg(test)]
mod tests {
    use super::Text;

    #[test]
    fn chinese_is_spaced_where_a_name_meets_a_sentence() {
        let plc = Text::new("T-101 tank PLC", "T-101 储罐 PLC");
        let t = Text::new("", format!("攻击者到达{}并成功，第181秒（T0880）", plc.zh));
        assert_eq!(t.zh, "攻击者到达 T-101 储罐 PLC 并成功，第 181 秒（T0880）");
        // Punctuation, symbols and text already spaced stay as they are.
        let t = Text::new("", "监控层→控制层：寄存器 40001-40010、功能码 3");
        assert_eq!(t.zh, "监控层→控制层：寄存器 40001-40010、功能码 3");
        assert_eq!(Text::new("a", "").zh, "");
    }

    #[test]
    fn a_tag_is_the_first_word_of_a_name_that_looks_like_one() {
        let name = Text::new("LIT-101 T-101 level", "LIT-101 T-101 液位");
        assert_eq!(name.tag_or("lit101"), "LIT-101");
        assert_eq!(name.without_tag("LIT-101"), Text::new("T-101 level", "T-101 液位"));
        let plain = Text::new("Feed pump", "进料泵");
        assert_eq!(plain.tag_or("p101"), "p101");
        assert_eq!(plain.without_tag("p101"), plain);
    }
}
