//! Validation of the HMI diagram's hand placement (`mimic:`).

use super::super::Scenario;
use super::super::file::MimicFile;
use super::super::mimic::{MAX_MIMIC_SIZE, Mimic};
use super::Cx;

impl Cx<'_> {
    /// The placement: a canvas of sensible size, and centres on it for symbols the diagram
    /// draws (checked against the built scenario: equipment ids come from its variables).
    pub(super) fn mimic(&mut self, f: &MimicFile, s: &Scenario) -> Mimic {
        let within = |xy: [f64; 2], size: [f64; 2]| {
            xy.iter().zip(size).all(|(v, m)| v.is_finite() && (0.0..=m).contains(v))
        };
        let size = f.size.as_ref().map(|v| {
            if !within(v.value, [MAX_MIMIC_SIZE; 2]) || v.value.iter().any(|x| *x < 100.0) {
                self.err(&v.referenced, format!("mimic size must be 100..={MAX_MIMIC_SIZE} each way"));
            }
            v.value
        });
        let bounds = size.unwrap_or([MAX_MIMIC_SIZE; 2]);
        let mut place = std::collections::BTreeMap::new();
        for (id, at) in &f.place {
            if !s.mimic_symbol(id) {
                self.err(
                    &at.referenced,
                    format!("mimic places `{id}`, which is no equipment, sensor, actuator or interlock"),
                );
            }
            if !within(at.value, bounds) {
                self.err(&at.referenced, format!("`{id}` is placed off the canvas"));
            }
            place.insert(id.clone(), at.value);
        }
        Mimic { size, place }
    }
}
