//! The ATT&CK for ICS catalogue: every technique of v18.1 with its tactics and mitigations,
//! read once from the MITRE table (`engine/data/ics-attack-18.1.json`, a copy of
//! `shared/attack`), and the v19 ids of the techniques v19 renumbered (DOMAIN.md 3.1).
//!
//! A technique keeps one primary tactic for scoring (`tactic`, the first of its tactics unless
//! an older icsdrill picked another one of them); an event logs only v18, v19, name and
//! primary tactic, so logs recorded before the whole catalogue was taken in replay the same.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::scenario::Text;

/// The MITRE table, as shipped.
const TABLE: &str = include_str!("../../data/ics-attack-18.1.json");

/// An ATT&CK for ICS technique, under its v18 id and its v19 id (the same when unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Technique {
    /// Id in ATT&CK v18 (what most trainees and Chinese material use).
    pub v18: &'static str,
    /// Id in ATT&CK v19 (shown in reports).
    pub v19: &'static str,
    /// Name (the v19 name of a renumbered technique).
    pub name: &'static str,
    /// Primary tactic, for scoring a report's tactic.
    pub tactic: &'static str,
    /// Every tactic the technique serves.
    #[serde(skip)]
    pub tactics: &'static [&'static str],
    /// Mitigations the table says mitigate it.
    #[serde(skip)]
    pub mitigations: &'static [&'static str],
}

/// An ATT&CK for ICS mitigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mitigation {
    /// Id (M08xx, M09xx).
    pub id: &'static str,
    /// Name.
    pub name: &'static str,
}

/// v18 techniques v19 renumbered, with their v19 ids and names, and the primary tactic an
/// earlier icsdrill gave them where it is not the table's first.
const RENUMBERED: &[(&str, &str, &str, Option<&str>)] = &[
    ("T0855", "T1692.001", "Unauthorized Message: Command Message", None),
    ("T0856", "T1692.002", "Unauthorized Message: Reporting Message", Some("impair-process-control")),
    ("T0803", "T1691.001", "Block Operational Technology Message: Command Message", None),
    ("T0804", "T1691.002", "Block Operational Technology Message: Reporting Message", None),
    ("T0857", "T1693.001", "Modify Firmware: System Firmware", Some("inhibit-response-function")),
    ("T0839", "T1693.002", "Modify Firmware: Module Firmware", Some("impair-process-control")),
    ("T0805", "T1695.001", "Block Communications: Serial COM", None),
];

/// Sub-techniques new in v19 (no v18 id): id, name, tactic, the v18 technique whose
/// mitigations they share.
const NEW_IN_V19: &[(&str, &str, &str, &str)] = &[
    ("T0843.001", "Program Download: Download All", "lateral-movement", "T0843"),
    ("T0843.002", "Program Download: Online Edit", "lateral-movement", "T0843"),
    ("T0843.003", "Program Download: Program Append", "lateral-movement", "T0843"),
    ("T1695.002", "Block Communications: Ethernet", "inhibit-response-function", "T0805"),
    ("T1695.003", "Block Communications: Wi-Fi", "inhibit-response-function", "T0805"),
];

#[derive(Deserialize)]
struct Table<'a> {
    #[serde(borrow)]
    techniques: Vec<Entry<'a>>,
    #[serde(borrow)]
    mitigations: Vec<MitigationEntry<'a>>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(borrow)]
    tactics: Vec<&'a str>,
    deprecated: bool,
    #[serde(borrow)]
    mitigations: Vec<&'a str>,
}

#[derive(Deserialize)]
struct MitigationEntry<'a> {
    id: &'a str,
    name: &'a str,
    deprecated: bool,
}

struct Catalogue {
    techniques: Vec<Technique>,
    mitigations: Vec<Mitigation>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    let table: Table<'static> =
        serde_json::from_str(TABLE).expect("the shipped ATT&CK table parses (a unit test checks it)");
    let mut techniques = Vec::with_capacity(table.techniques.len() + NEW_IN_V19.len());
    for e in table.techniques.into_iter().filter(|e| !e.deprecated) {
        let renumbered = RENUMBERED.iter().find(|r| r.0 == e.id);
        let tactics: &'static [&'static str] = e.tactics.leak();
        let tactic = renumbered.and_then(|r| r.3).or(tactics.first().copied()).unwrap_or("impact");
        techniques.push(Technique {
            v18: e.id,
            v19: renumbered.map_or(e.id, |r| r.1),
            name: renumbered.map_or(e.name, |r| r.2),
            tactic,
            tactics,
            mitigations: e.mitigations.leak(),
        });
    }
    for &(id, name, tactic, parent) in NEW_IN_V19 {
        let mitigations = techniques.iter().find(|t| t.v18 == parent).map_or(&[][..], |t| t.mitigations);
        let tactics: &'static [&'static str] = vec![tactic].leak();
        techniques.push(Technique { v18: id, v19: id, name, tactic, tactics, mitigations });
    }
    let mitigations = table
        .mitigations
        .into_iter()
        .filter(|m| !m.deprecated)
        .map(|m| Mitigation { id: m.id, name: m.name })
        .collect();
    Catalogue { techniques, mitigations }
});

/// A name in English and in Chinese, the English beside the Chinese (`修改参数（Modify
/// Parameter）`): MITRE publishes no Chinese edition, so a Chinese reader can look it up.
fn both(en: &'static str, zh: Option<&'static str>) -> Text {
    match zh {
        Some(zh) => Text::new(en, format!("{zh}（{en}）")),
        None => Text::new(en, en),
    }
}

impl Technique {
    /// Its name in both languages (`super::zh`).
    pub fn names(&self) -> Text {
        both(self.name, super::zh::technique(self.v19))
    }
}

impl Mitigation {
    /// Its name in both languages (`super::zh`).
    pub fn names(&self) -> Text {
        both(self.name, super::zh::mitigation(self.id))
    }
}

/// Every technique a scenario may cite: the whole v18.1 catalogue and the v19 sub-techniques.
pub fn techniques() -> &'static [Technique] {
    &CATALOGUE.techniques
}

/// A technique as an event names it (its ids; the rest is the catalogue's): what a log read
/// back from the store holds.
impl<'de> Deserialize<'de> for Technique {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Technique, D::Error> {
        #[derive(Deserialize)]
        struct Ids {
            v18: String,
            v19: String,
        }
        let ids = Ids::deserialize(d)?;
        techniques()
            .iter()
            .find(|t| t.v18 == ids.v18 && t.v19 == ids.v19)
            .copied()
            .ok_or_else(|| serde::de::Error::custom(format!("no technique {} / {}", ids.v18, ids.v19)))
    }
}

/// The technique with this v18 or v19 id (any case, spaces around ignored).
pub fn technique(id: &str) -> Option<Technique> {
    let id = id.trim();
    techniques().iter().find(|t| t.v18.eq_ignore_ascii_case(id) || t.v19.eq_ignore_ascii_case(id)).copied()
}

/// The mitigation with this id.
pub fn mitigation(id: &str) -> Option<Mitigation> {
    CATALOGUE.mitigations.iter().find(|m| m.id.eq_ignore_ascii_case(id.trim())).copied()
}

/// The valid ids nearest to one that is not (at most three, nearest first): ids a typo or two
/// away, or techniques whose name contains the words given.
pub fn suggest(unknown: &str) -> Vec<&'static str> {
    let given = unknown.trim().to_ascii_uppercase();
    let mut scored: Vec<(usize, &'static str)> = Vec::new();
    for t in techniques() {
        for id in [t.v18, t.v19] {
            let d = strsim::levenshtein(&given, id);
            if d <= 2 && !scored.iter().any(|(_, x)| *x == id) {
                scored.push((d, id));
            }
        }
        if given.len() >= 4 && t.name.to_ascii_uppercase().contains(&given) {
            scored.push((0, t.v18));
        }
    }
    scored.sort();
    scored.dedup_by_key(|(_, id)| *id);
    scored.into_iter().take(3).map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tactic_typed_by_its_id_or_its_english_or_chinese_name_is_known() {
        use super::super::{tactic_id, tactic_zh};
        for t in techniques() {
            for typed in [t.tactic.to_string(), t.tactic.replace('-', " ").to_uppercase()] {
                assert_eq!(tactic_id(&typed), Some(t.tactic), "{typed}");
            }
            assert_eq!(tactic_zh(t.tactic).and_then(tactic_id), Some(t.tactic));
        }
        assert_eq!(tactic_id(" Impair Process Control "), Some("impair-process-control"));
        assert_eq!(tactic_id("破坏过程控制"), Some("impair-process-control"));
        assert_eq!(tactic_id("sabotage"), None);
    }

    #[test]
    fn every_technique_tactic_and_mitigation_has_a_chinese_name_beside_its_english_one() {
        let chinese = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        for t in techniques() {
            let names = t.names();
            assert_eq!(names.en, t.name);
            assert!(
                chinese(&names.zh) && names.zh.ends_with(&format!("（{}）", t.name)),
                "{}: {names:?}",
                t.v19
            );
            for tactic in t.tactics {
                assert!(super::super::tactic_zh(tactic).is_some_and(chinese), "{tactic}");
            }
        }
        for m in &CATALOGUE.mitigations {
            let names = m.names();
            assert!(chinese(&names.zh) && names.zh.contains(m.name), "{}: {names:?}", m.id);
        }
        assert_eq!(
            technique("T0855").unwrap().names().zh,
            "未授权消息：命令消息（Unauthorized Message: Command Message）"
        );
    }

    #[test]
    fn every_v18_1_technique_is_known_with_its_tactics_and_mitigations() {
        let table: serde_json::Value = serde_json::from_str(TABLE).unwrap();
        let rows = table["techniques"].as_array().unwrap();
        assert_eq!(rows.len(), 83);
        for row in rows {
            let id = row["id"].as_str().unwrap();
            let t = technique(id).unwrap_or_else(|| panic!("{id} is not accepted"));
            let tactics: Vec<&str> =
                row["tactics"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
            assert_eq!(t.tactics, tactics.as_slice(), "{id}");
            assert!(t.tactics.contains(&t.tactic), "{id}: primary tactic {} is one of its own", t.tactic);
            for m in t.mitigations {
                assert!(mitigation(m).is_some(), "{id}: mitigation {m} is in the table");
            }
        }
        assert_eq!(techniques().len(), 83 + NEW_IN_V19.len());
    }

    #[test]
    fn renumbered_techniques_answer_to_both_ids() {
        let t = technique("T0855").unwrap();
        assert_eq!((t.v18, t.v19), ("T0855", "T1692.001"));
        assert_eq!(technique("t1692.001"), Some(t));
        assert_eq!(technique("T0843.002").unwrap().mitigations, technique("T0843").unwrap().mitigations);
        assert_eq!(mitigation("M0818").unwrap().name, "Validate Program Inputs");
    }

    #[test]
    fn an_unknown_id_gets_the_nearest_valid_ones() {
        assert!(technique("T0870").is_none());
        let near = suggest("T0870");
        assert!(!near.is_empty() && near.len() <= 3, "{near:?}");
        assert!(near.iter().all(|id| technique(id).is_some()), "{near:?}");
        assert!(near.iter().all(|id| strsim::levenshtein("T0870", id) <= 1), "{near:?}");
        assert_eq!(suggest("T0836x").first(), Some(&"T0836"));
        assert_eq!(suggest("valid accounts"), ["T0859"]);
        assert!(suggest("zzzzzzzz").is_empty());
    }
}
