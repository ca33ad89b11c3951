//! The registry of industrial-internet enterprises: who they are, where (prefecture), which
//! industry and class, their security level and who verified it; their drills, compliance
//! tests and risk assessments; the cadence those are due at by level; a self-grading helper;
//! CSV and xlsx import (all rows valid or nothing imported) and export; and the roll-ups
//! from enterprise to prefecture to region.
//!
//! Rules are data (`data/*.yaml`, embedded; the cadence can be overridden by a file), and the
//! grading rules say on every result that they are illustrative.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::governance::dates::{self, Day};
use crate::store::TrackedFinding;

/// A prefecture-level division (地州市).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prefecture {
    /// Code used in files (`kashgar`).
    pub code: String,
    /// English name.
    pub en: String,
    /// Chinese name.
    pub zh: String,
}

/// Xinjiang's prefectures and the XPCC.
pub fn prefectures() -> &'static [Prefecture] {
    static P: OnceLock<Vec<Prefecture>> = OnceLock::new();
    P.get_or_init(|| {
        serde_saphyr::from_str(include_str!("../../../data/prefectures.yaml"))
            .expect("data/prefectures.yaml parses")
    })
}

/// Industries: the seven key industries of the Xinjiang programme, and the rest.
pub const INDUSTRIES: [&str; 8] = [
    "petrochemical",
    "power",
    "coal_chemical",
    "steel",
    "nonferrous",
    "equipment_manufacturing",
    "new_materials",
    "other",
];

/// An industry's name (`INDUSTRIES`), in Chinese or English; an unknown code as it is.
pub fn industry_name(code: &str, zh: bool) -> &str {
    let (en, cn) = match code {
        "petrochemical" => ("Petrochemical", "石化"),
        "power" => ("Power", "电力"),
        "coal_chemical" => ("Coal chemical", "煤化工"),
        "steel" => ("Steel", "钢铁"),
        "nonferrous" => ("Nonferrous metals", "有色金属"),
        "equipment_manufacturing" => ("Equipment manufacturing", "装备制造"),
        "new_materials" => ("New materials", "新材料"),
        "other" => ("Other", "其他"),
        _ => return code,
    };
    if zh { cn } else { en }
}

/// Enterprise classes (the three types of the 办法).
pub const CLASSES: [&str; 3] = ["networked_industrial", "platform", "identifier_resolution"];

/// Obligations the cadence tracks.
pub const ACTIVITIES: [&str; 3] = ["drill", "compliance_test", "risk_assessment"];

/// An enterprise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enterprise {
    /// Id (letters, digits, `-`, `_`); a drill's team id names the enterprise.
    pub id: String,
    /// Name.
    pub name: String,
    /// Prefecture code.
    pub prefecture: String,
    /// Industry (one of `INDUSTRIES`).
    pub industry: String,
    /// Class (one of `CLASSES`).
    pub class: String,
    /// Security level 1-3.
    pub level: u8,
    /// `region` (level 3) or `prefecture` (levels 1-2).
    pub verified_by: String,
    /// When the level was verified.
    pub verified_on: Day,
    /// Contact person.
    pub contact: String,
    /// Contact phone.
    pub phone: String,
    /// Security officer.
    pub security_officer: String,
    /// Scenario ids modelling its plant.
    pub scenarios: Vec<String>,
    /// The ed25519 public key (hex) of the icsdrill installation it runs its own drills on:
    /// the region accepts its drill bundles signed with this key only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub installation_key: String,
}

/// A drill, compliance test or risk assessment done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Enterprise id.
    pub enterprise: String,
    /// One of `ACTIVITIES`.
    pub kind: String,
    /// Date.
    pub date: Day,
    /// A drill id, a report number...
    pub reference: String,
}

/// A recorded level change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelChange {
    /// Enterprise id.
    pub enterprise: String,
    /// Date.
    pub date: Day,
    /// Level before (0: newly registered).
    pub from: u8,
    /// Level after.
    pub to: u8,
    /// Why.
    pub reason: String,
}

/// A major change of an enterprise (re-grading is due within 30 working days).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MajorChange {
    /// Enterprise id.
    pub enterprise: String,
    /// Date.
    pub date: Day,
    /// What changed.
    pub note: String,
}

/// Everything the registry holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    /// Enterprises, by id.
    pub enterprises: Vec<Enterprise>,
    /// Activities.
    pub activities: Vec<Activity>,
    /// Level changes.
    pub level_changes: Vec<LevelChange>,
    /// Major changes.
    pub major_changes: Vec<MajorChange>,
}

impl Registry {
    /// The security level a drill's team is judged at: its registered enterprise's, else the
    /// scenario's `level` (a team that is no registered enterprise). Rectification deadlines
    /// and a report's 安全等级 follow it.
    pub fn level_of(&self, team: &str, level: u8) -> u8 {
        self.enterprises.iter().find(|e| e.id == team).map_or(level, |e| e.level)
    }
}

mod cadence;
mod grading;
mod import;
mod rollup;

pub use cadence::*;
pub use grading::*;
pub use import::*;
pub use rollup::*;
