//! Signed, replayable drill bundles: how a drill an enterprise ran on its own machines reaches
//! the region, and why the region can trust it.
//!
//! `export` writes one file: the drill (scenario source, seed, options), every team's recorded
//! inputs, the event-log hashes, scores, findings and after-action report, signed with the
//! installation's ed25519 key (the key that signs its certificates). `import` checks the
//! signature against the key the registry holds for each enterprise in it, re-runs the drill
//! headless from the scenario, seed and inputs, and accepts it only when the replay gives the
//! same log hashes, scores and findings; the accepted drill is then recorded like one run here,
//! marked as verified, so it counts towards the enterprises' cadence and its findings join the
//! rectification register. A contest's disputes use the same bundles (a drill of this
//! installation's own is signed with its own key).

use std::path::Path;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use icsdrill_engine::{Scenario, SimEvent, TimedInput, hex};
use serde::{Deserialize, Serialize};

use crate::store::{Batch, DrillRecord, Store, TeamRecord};
use crate::{Error, Result};

/// The format a bundle names.
pub const FORMAT: &str = "icsdrill-bundle/1";

/// The largest bundle read (a week of one team's inputs is a few MB).
pub const MAX_BYTES: u64 = 256 << 20;

/// A bundle file: the signed statement and its signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// `icsdrill-bundle/1`.
    pub format: String,
    /// The statement (`Body` as JSON): exactly the bytes signed.
    pub body: String,
    /// The signer's ed25519 public key, hex (empty: unsigned).
    #[serde(default)]
    pub public_key: String,
    /// ed25519 signature over `body`, hex (empty: unsigned).
    #[serde(default)]
    pub signature: String,
}

/// What a bundle states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// The drill as recorded: what a replay needs besides the inputs (never its tokens).
    pub drill: DrillRecord,
    /// Each team's record.
    pub teams: Vec<TeamPart>,
    /// When it was exported (Unix ms).
    pub exported_ms: i64,
}

/// One team of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamPart {
    /// Team (enterprise) id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Every recorded input, by tick.
    pub inputs: Vec<TimedInput>,
    /// The last tick recorded.
    pub last_tick: Option<u64>,
    /// SHA-256 of the event log (what `icsdrill replay` prints).
    pub log_hash: String,
    /// Events in the log.
    pub events: usize,
    /// The score card as stored (JSON), if one was.
    pub card: Option<String>,
    /// The stored score.
    pub score: Option<f64>,
    /// The findings' ids.
    pub findings: Vec<String>,
    /// The after-action report (JSON).
    pub report: serde_json::Value,
}

/// Why a bundle is not accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    /// Not a bundle this version reads.
    #[error("not a drill bundle: {0}")]
    Unreadable(String),
    /// No signature.
    #[error("the bundle is not signed")]
    Unsigned,
    /// The signature does not hold for the bundle's contents: changed after signing.
    #[error("the signature does not match the bundle's contents (changed after it was signed?)")]
    Tampered,
    /// Signed by a key the registry does not hold for this enterprise.
    #[error("signed with key {key}, which is not the installation key registered for enterprise `{enterprise}`{}", if registered.is_empty() { " (it has none: `icsdrill registry key`)".to_string() } else { format!(" ({registered})") })]
    UnknownKey {
        /// The enterprise.
        enterprise: String,
        /// The bundle's key.
        key: String,
        /// The key registered, or empty.
        registered: String,
    },
    /// A team that is not a registered enterprise.
    #[error("team `{0}` is not a registered enterprise")]
    NotRegistered(String),
    /// The replay does not give what the bundle states.
    #[error(
        "team `{team}`: the replay does not reproduce the bundle's {what}: stated {stated}, replayed {replayed}"
    )]
    NotReproduced {
        /// The team.
        team: String,
        /// What differs (`event log`, `score`, `findings`).
        what: &'static str,
        /// As stated.
        stated: String,
        /// As replayed.
        replayed: String,
    },
    /// The replay diverged, and the drill was played by other engine rules than this build's:
    /// this build cannot tell a changed bundle from changed rules.
    #[error("{0}")]
    OtherRules(String),
    /// A drill with this id is on record already.
    #[error("drill `{0}` is on record already")]
    Duplicate(String),
    /// The drill had not ended when it was bundled.
    #[error("drill `{0}` had not ended (phase {1}): only a drill played to its end counts")]
    NotOver(String, String),
}

impl Rejection {
    /// A stable word for the reason (pages show it in the reader's language).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Unreadable(_) => "unreadable",
            Rejection::Unsigned => "unsigned",
            Rejection::Tampered => "tampered",
            Rejection::UnknownKey { .. } => "unknown_key",
            Rejection::NotRegistered(_) => "not_registered",
            Rejection::NotReproduced { .. } => "not_reproduced",
            Rejection::OtherRules(_) => "other_rules",
            Rejection::Duplicate(_) => "duplicate",
            Rejection::NotOver(..) => "not_over",
        }
    }
}

/// Reads a bundle from bytes (an upload, bounded by its server).
pub fn parse(bytes: &[u8]) -> std::result::Result<Bundle, Rejection> {
    serde_json::from_slice(bytes).map_err(|e| Rejection::Unreadable(e.to_string()))
}

/// The bundle of recorded drill `id`, signed with `key`. The record must replay to itself
/// (`icsdrill replay`) first: a bundle states only what its inputs reproduce.
pub fn export(store: &dyn Store, id: &str, key: &SigningKey) -> Result<Bundle> {
    // A drill still running, or killed before it ended, is no drill done: its log stops where
    // it stopped (a drill killed at 4 s was accepted as the year's drill, scored above every
    // drill played to its end).
    if let Some((record, _)) = store.drill(id)? {
        record.require_over("its bundle is exported")?;
    }
    let (record, verdicts) = crate::store::replay::verify(store, id)?;
    if let Some(v) = verdicts.iter().find(|v| !v.matches()) {
        return Err(Error::Invalid(format!(
            "drill {id}: team `{}`'s record does not replay to itself (`icsdrill replay {id}`): not exported",
            v.team
        )));
    }
    let Some((_, teams)) = store.drill(id)? else { return Err(Error::NotFound(format!("no drill `{id}`"))) };
    let loaded = crate::store::replay::load(store, &record, &teams, 0)?;
    let registry = store.registry()?;
    let mut parts = Vec::new();
    for ((t, info), v) in loaded.teams.iter().zip(&teams).zip(&verdicts) {
        let stored = store.score(id, &t.id)?;
        let level = registry.enterprises.iter().find(|e| e.id == t.id).map(|e| e.level);
        let (findings, report) = judged(&loaded.scenario, &record, info, t.judged(), level)?;
        parts.push(TeamPart {
            id: t.id.clone(),
            name: info.name.clone(),
            inputs: t.inputs.clone(),
            last_tick: store.last_tick(id, &t.id)?,
            log_hash: v.stored_hash.clone(),
            events: v.events.0,
            card: stored.as_ref().map(|(_, c)| c.clone()),
            score: stored.map(|(s, _)| s),
            findings,
            report,
        });
    }
    let body = Body {
        // Its tokens are never serialised; they are blanked here too, so none is held.
        drill: DrillRecord {
            instructor_token: String::new(),
            observer_token: String::new(),
            ..record.clone()
        },
        teams: parts,
        exported_ms: crate::governance::dates::now_ms(),
    };
    sign(&body, key)
}

/// A team's findings (ids) and report as judged from its replayed `events`: the ids are the
/// report's own findings, judged once.
fn judged(
    scenario: &Scenario,
    record: &DrillRecord,
    team: &TeamRecord,
    log: (&[SimEvent], u64),
    level: Option<u8>,
) -> Result<(Vec<String>, serde_json::Value)> {
    let level = level.unwrap_or(scenario.meta.level);
    let report = crate::governance::report::recorded(record, team, scenario, log, level, None);
    let findings = report.findings.iter().map(|f| f.id.clone()).collect();
    Ok((findings, serde_json::to_value(&report)?))
}

/// The ids of the findings of `events` judged at `end` in a drill of `mode`, for an enterprise
/// of `level` (the scenario's when not registered), as the exporting drill's report found
/// them: what an import compares, without building a report it would not keep.
fn finding_ids(
    (scenario, mode): (&Scenario, icsdrill_drill::Mode),
    (events, end): (&[SimEvent], u64),
    level: Option<u8>,
) -> Vec<String> {
    let deadlines = icsdrill_judge::findings::Deadlines::for_level(level.unwrap_or(scenario.meta.level));
    let found = icsdrill_judge::findings::findings_until(
        scenario,
        events,
        deadlines,
        (Some(end), mode.scores_plan()),
    );
    found.into_iter().map(|f| f.id).collect()
}

/// Signs `body`.
pub fn sign(body: &Body, key: &SigningKey) -> Result<Bundle> {
    let body = serde_json::to_string(body)?;
    let signature = key.sign(body.as_bytes());
    Ok(Bundle {
        format: FORMAT.into(),
        body,
        public_key: hex(key.verifying_key().as_bytes()),
        signature: hex(&signature.to_bytes()),
    })
}

/// Reads a bundle file of at most `MAX_BYTES`.
pub fn read(path: &Path) -> Result<std::result::Result<Bundle, Rejection>> {
    read_at_most(path, MAX_BYTES)
}

/// Reads a bundle file of at most `max` bytes: a larger one is rejected unread.
pub fn read_at_most(path: &Path, max: u64) -> Result<std::result::Result<Bundle, Rejection>> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).map_err(Error::file("open", path))?;
    let mut bytes = Vec::new();
    f.take(max + 1).read_to_end(&mut bytes).map_err(Error::file("read", path))?;
    if bytes.len() as u64 > max {
        return Ok(Err(Rejection::Unreadable(format!("larger than {max} bytes"))));
    }
    Ok(serde_json::from_slice(&bytes).map_err(|e| Rejection::Unreadable(e.to_string())))
}

/// The statement of a bundle whose signature holds, and the key that signed it.
fn checked(b: &Bundle) -> std::result::Result<(Body, String), Rejection> {
    if b.format != FORMAT {
        return Err(Rejection::Unreadable(format!("format `{}`, expected `{FORMAT}`", b.format)));
    }
    if b.signature.is_empty() || b.public_key.is_empty() {
        return Err(Rejection::Unsigned);
    }
    let key = unhex::<32>(&b.public_key)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .filter(|k| !k.is_weak())
        .ok_or_else(|| Rejection::Unreadable("the public key is not an ed25519 key".into()))?;
    let signature = unhex::<64>(&b.signature)
        .map(|s| Signature::from_bytes(&s))
        .ok_or_else(|| Rejection::Unreadable("the signature is not an ed25519 signature".into()))?;
    key.verify_strict(b.body.as_bytes(), &signature).map_err(|_| Rejection::Tampered)?;
    let body: Body = serde_json::from_str(&b.body).map_err(|e| Rejection::Unreadable(e.to_string()))?;
    Ok((body, b.public_key.clone()))
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// What an accepted bundle added.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The drill id.
    pub drill: String,
    /// Its teams (enterprises).
    pub teams: Vec<String>,
    /// Each team's log hash, as stated and replayed.
    pub hashes: Vec<String>,
}

/// Checks bundle `b` and, when it holds, records its drill in `store` as verified and adds
/// its findings to the register. `own_key` is this installation's public key (hex): a bundle
/// it signed itself (a contest's dispute) needs no registered enterprise.
pub fn import(
    store: &mut dyn Store,
    b: &Bundle,
    own_key: Option<&str>,
) -> Result<std::result::Result<Imported, Rejection>> {
    let (body, key) = match checked(b) {
        Ok(x) => x,
        Err(r) => return Ok(Err(r)),
    };
    if own_key != Some(key.as_str()) {
        let registry = store.registry()?;
        for t in &body.teams {
            let Some(e) = registry.enterprises.iter().find(|e| e.id == t.id) else {
                return Ok(Err(Rejection::NotRegistered(t.id.clone())));
            };
            if e.installation_key != key {
                return Ok(Err(Rejection::UnknownKey {
                    enterprise: e.id.clone(),
                    key,
                    registered: e.installation_key.clone(),
                }));
            }
        }
    }
    if !body.drill.phase.is_over() {
        return Ok(Err(Rejection::NotOver(body.drill.id.clone(), body.drill.phase.to_string())));
    }
    if store.drill(&body.drill.id)?.is_some() {
        return Ok(Err(Rejection::Duplicate(body.drill.id.clone())));
    }
    let record = record_of(&body.drill, &key);
    let scenario = match crate::store::replay::stored_scenario(&record) {
        Ok(s) => s,
        Err(e) => return Ok(Err(Rejection::Unreadable(e.to_string()))),
    };
    let registry = store.registry()?;
    // A signature says who sent a bundle, not that it is sane: no replay past the longest
    // drill (a tick near u64::MAX would run for ever), nor an input after the log's end.
    let longest = scenario.ticks(icsdrill_engine::scenario::MAX_DURATION_S);
    for t in &body.teams {
        let last = t.last_tick.unwrap_or(0);
        if last > longest || t.inputs.iter().any(|i| t.last_tick.is_none_or(|l| i.tick > l)) {
            return Ok(Err(Rejection::Unreadable(format!(
                "team `{}`: its log ends at tick {last} (at most {longest}: seven days) or has inputs after its end",
                t.id
            ))));
        }
    }
    let mut replays = Vec::new();
    for t in &body.teams {
        let sim = crate::store::replay::rerun(&scenario, &record, &t.inputs, t.last_tick);
        let lines: Vec<String> = sim.events().iter().map(|e| e.to_json()).collect();
        let hash = crate::store::replay::hash_lines(lines.iter().map(String::as_str));
        let differs = |what, stated: String, replayed: String| {
            Err(match crate::store::replay::other_rules(&record) {
                Some(why) => {
                    Rejection::OtherRules(format!("team `{}`: the replay gives another {what}: {why}", t.id))
                }
                None => Rejection::NotReproduced { team: t.id.clone(), what, stated, replayed },
            })
        };
        if hash != t.log_hash {
            return Ok(differs("event log", t.log_hash.clone(), hash));
        }
        if let Some(card) = &t.card {
            let replayed = crate::store::replay::score_at(&scenario, &record, sim.events(), card)?;
            if Some(replayed) != t.score {
                return Ok(differs("score", format!("{:?}", t.score), format!("{replayed:?}")));
            }
        }
        let level = registry.enterprises.iter().find(|e| e.id == t.id).map(|e| e.level);
        // Judged where the exporting drill judged it (its report's findings).
        let end = crate::store::replay::reached_by(t.card.as_deref(), &sim);
        let findings = finding_ids((&scenario, record.mode), (sim.events(), end), level);
        if findings != t.findings {
            return Ok(differs("findings", t.findings.join(","), findings.join(",")));
        }
        replays.push(sim);
    }
    // Accepted: recorded as if run here (replays and reports read it like any drill).
    let teams: Vec<TeamRecord> = body
        .teams
        .iter()
        .map(|t| TeamRecord { id: t.id.clone(), name: t.name.clone(), token: crate::drill::new_token() })
        .collect();
    store.create_drill(&record, &teams)?;
    let ids: Vec<String> = teams.iter().map(|t| t.id.clone()).collect();
    for (i, (t, sim)) in body.teams.iter().zip(&replays).enumerate() {
        store.append(&record.id, &ids, &batches(i, &t.inputs, sim.events()))?;
        if let (Some(card), Some(score)) = (&t.card, t.score) {
            let tick = serde_json::from_str::<serde_json::Value>(card)?["tick"].as_u64().unwrap_or(0);
            store.save_score(&record.id, &t.id, tick, score, card)?;
        }
    }
    crate::governance::rectify::track_drill(store, &record.id, None)?;
    Ok(Ok(Imported {
        drill: record.id.clone(),
        teams: ids,
        hashes: body.teams.iter().map(|t| t.log_hash.clone()).collect(),
    }))
}

/// The drill record of an accepted bundle: as stated, with who signed it and when it arrived
/// in its options (the regional view shows such drills as verified).
fn record_of(d: &DrillRecord, key: &str) -> DrillRecord {
    let mut options: serde_json::Value =
        serde_json::from_str(&d.options).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(o) = options.as_object_mut() {
        o.insert(
            "bundle".into(),
            serde_json::json!({ "public_key": key, "imported_ms": crate::governance::dates::now_ms() }),
        );
    }
    DrillRecord {
        instructor_token: crate::drill::new_token(),
        observer_token: crate::drill::new_token(),
        options: options.to_string(),
        ..d.clone()
    }
}

/// Whether a recorded drill arrived as a verified bundle.
pub fn verified(record: &DrillRecord) -> bool {
    serde_json::from_str::<serde_json::Value>(&record.options).is_ok_and(|o| o["bundle"].is_object())
}

/// One team's inputs and events as the store's batches, by tick.
fn batches(team: usize, inputs: &[TimedInput], events: &[SimEvent]) -> Vec<Batch> {
    use std::collections::BTreeMap;
    fn at(by_tick: &mut BTreeMap<u64, Batch>, team: usize, tick: u64) -> &mut Batch {
        by_tick.entry(tick).or_insert_with(|| Batch { team, tick, inputs: Vec::new(), events: Vec::new() })
    }
    let mut by_tick = BTreeMap::new();
    for i in inputs {
        at(&mut by_tick, team, i.tick).inputs.push(i.input.clone());
    }
    for e in events {
        at(&mut by_tick, team, e.tick).events.push(e.clone());
    }
    by_tick.into_values().collect()
}
