//! What the HMI's process diagram is drawn from: the plant's equipment (process variables
//! grouped by the part of their id before the first `_`: `r201_temp` and `r201_pressure` are
//! one vessel, `r201`), which equipment each actuator feeds or draws from (the signs of its
//! terms), and the scenario's optional hand placement (`mimic:`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Scenario, Signal, Text, VarIdx};

/// Largest canvas a `mimic:` section may ask for, either way, in diagram units.
pub const MAX_MIMIC_SIZE: f64 = 10_000.0;

/// Hand placement of the diagram's symbols (`mimic:` in the scenario).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Mimic {
    /// Canvas width and height; generated when absent.
    pub size: Option<[f64; 2]>,
    /// Centre of a symbol by id: an equipment, sensor, actuator or interlock.
    pub place: BTreeMap<String, [f64; 2]>,
}

/// One piece of equipment: a tank, vessel, line or machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equipment {
    /// Id: the part of its variables' ids before the first `_`.
    pub id: String,
    /// Its variables, in scenario order.
    pub vars: Vec<VarIdx>,
}

/// What a diagram calls one piece of equipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquipmentName {
    /// Its tag in each language: `T-101` from the id `t101`, or the tag its variables' names
    /// begin with when no other equipment shares it (`V-202`); else the id in capitals in
    /// English and its name in Chinese (a Chinese page read `DRUM`).
    pub tag: Text,
    /// What it is: what its variables' names share, less the quantity (`Drum`, `汽包` from
    /// `Drum level …` and `汽包水位…`).
    pub name: Text,
}

/// Where an actuator moves material or energy, from the signs of its terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    /// Equipment it draws from (its terms lower a variable there), by index in `equipment()`.
    pub from: Vec<usize>,
    /// Equipment it feeds (its terms raise a variable there).
    pub to: Vec<usize>,
}

/// The equipment id a variable belongs to.
pub fn equipment_id(var_id: &str) -> &str {
    var_id.split('_').next().unwrap_or(var_id)
}

impl Scenario {
    /// The plant's equipment, in the order of their first variable.
    pub fn equipment(&self) -> Vec<Equipment> {
        let mut out: Vec<Equipment> = Vec::new();
        for (i, v) in self.vars.iter().enumerate() {
            let id = equipment_id(&v.id);
            match out.iter_mut().find(|e| e.id == id) {
                Some(e) => e.vars.push(VarIdx(i as u32)),
                None => out.push(Equipment { id: id.to_string(), vars: vec![VarIdx(i as u32)] }),
            }
        }
        out
    }

    /// Where each actuator feeds and draws from, by `ActuatorIdx`, over `equipment`.
    pub fn flows(&self, equipment: &[Equipment]) -> Vec<Flow> {
        let mut flows = vec![Flow::default(); self.actuators.len()];
        for (k, e) in equipment.iter().enumerate() {
            for v in &e.vars {
                for term in &self.vars[v.ix()].terms {
                    for a in term.of.iter().filter_map(|s| match s {
                        Signal::Actuator(a) => Some(*a),
                        Signal::Var(_) => None,
                    }) {
                        let side =
                            if term.gain < 0.0 { &mut flows[a.ix()].from } else { &mut flows[a.ix()].to };
                        if !side.contains(&k) {
                            side.push(k);
                        }
                    }
                }
            }
        }
        flows
    }

    /// What the diagram calls each of `equipment`.
    pub fn equipment_names(&self, equipment: &[Equipment]) -> Vec<EquipmentName> {
        let var_tag =
            |e: &Equipment| e.vars.iter().map(|v| self.vars[v.ix()].name.tag_or("")).find(|t| !t.is_empty());
        let tags: Vec<Option<&str>> = equipment.iter().map(var_tag).collect();
        equipment
            .iter()
            .zip(&tags)
            .map(|(e, tag)| {
                let names: Vec<&Text> = e.vars.iter().map(|v| &self.vars[v.ix()].name).collect();
                let name = Text {
                    en: shared_name(
                        names.iter().map(|n| without_tag(&n.en, *tag)),
                        Tokens::Words,
                        EN_QUANTITIES,
                    ),
                    zh: shared_name(
                        names.iter().map(|n| without_tag(&n.zh, *tag)),
                        Tokens::Chars,
                        ZH_QUANTITIES,
                    ),
                };
                let unique = tag.filter(|t| tags.iter().filter(|o| **o == Some(*t)).count() == 1);
                let tag = match (id_tag(&e.id), unique) {
                    (Some(t), _) => Text { en: t.clone(), zh: t },
                    (None, Some(t)) => Text { en: t.to_string(), zh: t.to_string() },
                    (None, None) => Text { en: e.id.to_uppercase(), zh: name.zh.clone() },
                };
                EquipmentName { tag, name }
            })
            .collect()
    }

    /// Whether `id` names something the diagram draws (what `mimic.place` may name).
    pub fn mimic_symbol(&self, id: &str) -> bool {
        self.vars.iter().any(|v| equipment_id(&v.id) == id)
            || self.sensors.iter().any(|s| s.id == id)
            || self.actuators.iter().any(|a| a.id == id)
            || self.interlocks.iter().any(|i| i.id == id)
    }
}

/// The quantities a variable's name ends with, left out of its equipment's name.
const EN_QUANTITIES: &[&str] =
    &["level", "pressure", "temperature", "flow", "speed", "current", "voltage", "concentration", "load"];
const ZH_QUANTITIES: &[&str] =
    &["液位", "水位", "料位", "压力", "温度", "炉温", "流量", "转速", "速度", "电流", "电压", "浓度", "煤量"];

/// An id's tag when it has a number: `t101` -> `T-101`.
fn id_tag(id: &str) -> Option<String> {
    let split = id.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = id.split_at(split);
    Some(if letters.is_empty() {
        id.to_uppercase()
    } else {
        format!("{}-{}", letters.to_uppercase(), digits.to_uppercase())
    })
}

/// `name` without the `tag` it begins with and anything from a bracket on.
fn without_tag<'a>(name: &'a str, tag: Option<&str>) -> &'a str {
    let name = tag.and_then(|t| name.strip_prefix(t)).unwrap_or(name).trim_start();
    name.split(['(', '（']).next().unwrap_or(name).trim()
}

/// What a name is compared by: English by its words, Chinese by its characters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tokens {
    Words,
    Chars,
}

/// The longest run of tokens the names share, the earliest in the first when several are as
/// long, without the quantity it ends with; the first name so trimmed when they share nothing
/// more.
fn shared_name<'a>(names: impl Iterator<Item = &'a str>, by: Tokens, quantities: &[&str]) -> String {
    let split = |s: &'a str| -> Vec<&'a str> {
        match by {
            Tokens::Chars => s.char_indices().map(|(i, c)| &s[i..i + c.len_utf8()]).collect(),
            Tokens::Words => s.split(' ').filter(|w| !w.is_empty()).collect(),
        }
    };
    let names: Vec<Vec<&str>> = names.map(split).collect();
    let Some(first) = names.first() else { return String::new() };
    let join = |w: &[&str]| w.join(if by == Tokens::Chars { "" } else { " " });
    let trim = |w: &[&str]| {
        let mut s = join(w).trim().to_string();
        for q in quantities {
            if let Some(rest) = s.strip_suffix(q) {
                s = rest.trim_end().to_string();
                break;
            }
        }
        s
    };
    let shares = |w: &[&str]| names[1..].iter().all(|n| n.windows(w.len()).any(|x| x == w));
    let min = if by == Tokens::Chars { 2 } else { 1 };
    let mut best: &[&str] = &[];
    for i in 0..first.len() {
        for j in (i + best.len() + 1).max(i + min)..=first.len() {
            if shares(&first[i..j]) {
                best = &first[i..j];
            }
        }
    }
    let shared = trim(best);
    let name = if shared.is_empty() { trim(first) } else { shared };
    let mut chars = name.chars();
    chars.next().map_or(String::new(), |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn equipment_is_the_id_before_the_first_underscore() {
        assert_eq!(super::equipment_id("r201_temp"), "r201");
        assert_eq!(super::equipment_id("flow"), "flow");
    }

    #[test]
    fn equipment_is_named_by_its_tag_or_what_its_variables_share() {
        let names = |file: &str| {
            let source = match file {
                "power-drum-boiler.yaml" => include_str!("../../../scenarios/library/power-drum-boiler.yaml"),
                "coal-chemical-gasifier.yaml" => {
                    include_str!("../../../scenarios/library/coal-chemical-gasifier.yaml")
                }
                "nonferrous-potline.yaml" => {
                    include_str!("../../../scenarios/library/nonferrous-potline.yaml")
                }
                _ => include_str!("../../../scenarios/library/petrochem-tank-farm.yaml"),
            };
            let s = crate::Scenario::from_yaml(file, source).unwrap();
            let eq = s.equipment();
            let named = s.equipment_names(&eq);
            eq.into_iter()
                .zip(named)
                .map(|(e, n)| (e.id, [n.tag.en, n.tag.zh, n.name.en, n.name.zh]))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let boiler = names("power-drum-boiler.yaml");
        assert_eq!(boiler["drum"], ["DRUM", "汽包", "Drum", "汽包"]);
        assert_eq!(boiler["steam"], ["STEAM", "主蒸汽", "Main-steam", "主蒸汽"]);
        assert_eq!(boiler["da"], ["DA", "除氧器水箱", "Deaerator storage tank", "除氧器水箱"]);
        let gasifier = names("coal-chemical-gasifier.yaml");
        // Four pieces of R-301 share its tag: each goes by its name.
        assert_eq!(gasifier["jacket"], ["JACKET", "水夹套", "Water-jacket", "水夹套"]);
        assert_eq!(gasifier["gasifier"][1], "气化炉");
        assert_eq!(gasifier["bunker"][..2], ["V-202", "V-202"]);
        let potline = names("nonferrous-potline.yaml");
        assert_eq!(potline["cell"], ["CELL", "槽组平均槽", "Mean cell", "槽组平均槽"]);
        let tanks = names("petrochem-tank-farm.yaml");
        assert_eq!(tanks["t101"][..2], ["T-101", "T-101"]);
    }
}
