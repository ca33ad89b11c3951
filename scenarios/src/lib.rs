//! The scenario library that ships inside the icsdrill binary.
//!
//! Every file in `scenarios/library/` is embedded with `include_str!` and listed in `LIBRARY`,
//! in the order `icsdrill scenarios list` prints them. `DEFAULT` is what `icsdrill` runs with
//! no arguments. `synthetic` generates plants of any size for benchmarks.

use std::sync::Arc;

use icsdrill_engine::{Scenario, ScenarioErrors};

mod synthetic;

pub use synthetic::synthetic_yaml;

/// A scenario file embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Scenario id (the file stem, and the `id:` inside).
    pub id: &'static str,
    /// The YAML source.
    pub source: &'static str,
}

impl Builtin {
    /// The name errors are reported against.
    pub fn file_name(&self) -> String {
        format!("scenarios/library/{}.yaml", self.id)
    }

    /// Parses and validates the scenario.
    pub fn load(&self) -> Result<Arc<Scenario>, ScenarioErrors> {
        Scenario::from_yaml(&self.file_name(), self.source).map(Arc::new)
    }
}

macro_rules! library {
    ($($id:literal),* $(,)?) => {
        /// Every built-in scenario.
        pub const LIBRARY: &[Builtin] = &[
            $(Builtin { id: $id, source: include_str!(concat!("../library/", $id, ".yaml")) }),*
        ];
    };
}

library![
    "petrochem-tank-farm",
    "power-drum-boiler",
    "coal-chemical-gasifier",
    "steel-bf-cooling",
    "nonferrous-potline",
    "equipment-welding-line",
    "newmat-polysilicon-cvd",
    "petrochem-triton",
    "equipment-stuxnet",
    "power-ukraine-substation",
    "power-industroyer-substation",
];

/// The scenario `icsdrill` runs with no arguments.
pub const DEFAULT: &str = "petrochem-tank-farm";

/// The built-in scenario with this id.
pub fn builtin(id: &str) -> Option<&'static Builtin> {
    LIBRARY.iter().find(|b| b.id == id)
}
