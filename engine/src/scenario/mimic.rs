//! What the HMI's process diagram is drawn from: the plant's equipment (process variables
//! grouped by the part of their id before the first `_`: `r201_temp` and `r201_pressure` are
//! one vessel, `r201`), which equipment each actuator feeds or draws from (the signs of its
//! terms), and the scenario's optional hand placement (`mimic:`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Scenario, Signal, VarIdx};

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

    /// Whether `id` names something the diagram draws (what `mimic.place` may name).
    pub fn mimic_symbol(&self, id: &str) -> bool {
        self.vars.iter().any(|v| equipment_id(&v.id) == id)
            || self.sensors.iter().any(|s| s.id == id)
            || self.actuators.iter().any(|a| a.id == id)
            || self.interlocks.iter().any(|i| i.id == id)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn equipment_is_the_id_before_the_first_underscore() {
        assert_eq!(super::equipment_id("r201_temp"), "r201");
        assert_eq!(super::equipment_id("flow"), "flow");
    }
}
