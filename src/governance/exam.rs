//! Running and certifying an exam: the trainee's variant of the scenario, the run (headless
//! with scripted inputs, or a live exam drill), the grade, the record in the store and the
//! signed certificate.

use std::path::Path;
use std::sync::Arc;

use crate::{Error, Result};
use icsdrill_engine::scenario::variant;
use icsdrill_engine::{Scenario, Sim, TimedInput};
use icsdrill_judge::exam::{self, Grade};
use sha2::{Digest, Sha256};

use crate::governance::cert::{self, CertBody, Certificate};
use crate::governance::dates::Day;
use crate::store::{Batch, DrillRecord, ExamRecord, Store, TeamRecord};

/// A trainee's variant seed for a first sitting: keyed with this installation's signing key
/// (created on first use in `key_dir`), so a trainee cannot work out their own variant from
/// the public code.
pub fn seed_for(trainee: &str, key_dir: &Path) -> Result<u64> {
    seed_for_sitting(trainee, 0, key_dir)
}

/// A trainee's variant seed for their sitting `earlier` (how many of this exam they sat
/// before): a retake is another variant, not the paper they have seen.
pub fn seed_for_sitting(trainee: &str, earlier: u32, key_dir: &Path) -> Result<u64> {
    let key = cert::signing_key(key_dir)?;
    let mut h = Sha256::new();
    h.update(key.to_bytes());
    h.update(b"icsdrill exam variant ");
    h.update(trainee.as_bytes());
    // The first sitting's seed is what it always was.
    if earlier > 0 {
        h.update(b" sitting ");
        h.update(earlier.to_le_bytes());
    }
    let d = h.finalize();
    Ok(u64::from_le_bytes(d[..8].try_into().expect("8 bytes")))
}

/// How many times `trainee` has sat exam `exam` (the base scenario's id) to a certificate or
/// result notice.
pub fn sittings(store: &dyn Store, trainee: &str, exam: &str) -> Result<u32> {
    let sat = store
        .exams(None)?
        .iter()
        .filter(|e| e.trainee == trainee)
        .filter(|e| serde_json::from_str::<Certificate>(&e.certificate).is_ok_and(|c| c.body.exam == exam))
        .count();
    Ok(u32::try_from(sat).unwrap_or(u32::MAX))
}

/// Who sits the exam.
#[derive(Debug, Clone)]
pub struct Trainee {
    /// Id (letters, digits, `-`, `_`).
    pub id: String,
    /// Name on the certificate.
    pub name: String,
    /// Cohort.
    pub cohort: String,
}

/// One graded sitting of an exam: what its certificate names.
#[derive(Debug)]
pub struct Sitting<'a> {
    /// Who sat it.
    pub trainee: &'a Trainee,
    /// The exam's (base scenario's) id.
    pub exam: &'a str,
    /// The trainee's variant seed.
    pub variant_seed: u64,
    /// The day it was sat.
    pub date: Day,
    /// The drill that recorded it.
    pub drill: &'a str,
    /// The hash of the trainee's event log (`icsdrill replay` prints it).
    pub replay_hash: String,
    /// Who issues the certificate (the organiser), if named.
    pub issuer: Option<&'a str>,
    /// The pass rule it was graded by.
    pub rule: icsdrill_engine::scenario::PassRule,
    /// Years a pass is certified for (0: no end).
    pub valid_years: u32,
}

/// Signs the certificate of a graded sitting with the key in `key_dir`; returns it with the
/// exam's record for the store.
pub fn certificate(s: &Sitting<'_>, grade: &Grade, key_dir: &Path) -> Result<(Certificate, ExamRecord)> {
    let body = CertBody {
        version: 1,
        trainee: s.trainee.id.clone(),
        name: s.trainee.name.clone(),
        cohort: s.trainee.cohort.clone(),
        exam: s.exam.to_string(),
        variant_seed: s.variant_seed,
        date: s.date,
        areas: grade.areas.iter().map(|a| (a.area.to_string(), a.points, a.max)).collect(),
        total: grade.total,
        max: grade.max,
        result: if grade.passed { "pass" } else { "fail" }.into(),
        safety_violation: grade.safety_violation.as_ref().map(|v| v.en.clone()),
        safety_violation_zh: grade.safety_violation.as_ref().map(|v| v.zh.clone()),
        drill: s.drill.to_string(),
        replay_hash: s.replay_hash.clone(),
        issuer: s.issuer.map(str::to_string),
        pass_rule: Some([s.rule.overall, s.rule.per_area]),
        // A pass is certified for the exam's years; a result notice certifies nothing.
        valid_until: (grade.passed && s.valid_years > 0)
            .then(|| s.date.add_months(12 * i64::from(s.valid_years))),
    };
    let cert = cert::sign(body, &cert::signing_key(key_dir)?)?;
    let record = ExamRecord {
        drill: s.drill.to_string(),
        trainee: s.trainee.id.clone(),
        name: s.trainee.name.clone(),
        cohort: s.trainee.cohort.clone(),
        date: s.date,
        total: grade.total,
        max: grade.max,
        passed: grade.passed,
        certificate: serde_json::to_string(&cert)?,
    };
    Ok((cert, record))
}

/// SHA-256 of a headless run's whole event log (the hash `icsdrill replay` prints).
pub fn log_hash(sim: &Sim) -> String {
    icsdrill_engine::log_hash(sim.events())
}

/// An exam as set: its base scenario, that scenario's source (recorded, so the sitting
/// replays), and who issues its certificates.
#[derive(Debug, Clone, Copy)]
pub struct Exam<'a> {
    /// The base scenario (each trainee sits a variant of it).
    pub base: &'a Arc<Scenario>,
    /// Its source text.
    pub source: &'a str,
    /// The issuer named on the certificates (the organiser), if any.
    pub issuer: Option<&'a str>,
}

/// Runs an exam headless: the trainee's `inputs` (in the variant's names) against the variant
/// of the exam's base scenario for `seed`, for the scenario's duration; records it as a drill
/// in `store`, grades it and signs the certificate with the key in `key_dir`.
pub fn run_headless(
    store: &mut dyn Store,
    key_dir: &Path,
    exam: Exam<'_>,
    trainee: &Trainee,
    seed: u64,
    inputs: &[TimedInput],
) -> Result<(Grade, Certificate)> {
    let Exam { base, source: base_source, issuer } = exam;
    let (variant, _) = variant::variant(base, seed);
    let variant = Arc::new(variant);
    let mut sim = Sim::new(variant.clone(), seed);
    let id = crate::drill::new_token()[..8].to_string();
    let now_ms = crate::governance::dates::now_ms();
    store.create_drill(
        &DrillRecord {
            id: id.clone(),
            name: format!("exam {} ({})", trainee.id, base.id),
            mode: icsdrill_drill::Mode::Exam,
            scenario_id: base.id.clone(),
            scenario_hash: base.source_hash.clone(),
            scenario_source: base_source.to_string(),
            seed,
            live_attacker: false,
            phase: icsdrill_drill::Phase::Ended,
            instructor_token: crate::drill::new_token(),
            observer_token: crate::drill::new_token(),
            options:
                serde_json::json!({ "variant_seed": seed, "trainee": trainee.id, "cohort": trainee.cohort,
                    "rules": icsdrill_engine::RULES })
                .to_string(),
            created_ms: now_ms,
        },
        &[TeamRecord {
            id: trainee.id.clone(),
            name: trainee.name.clone(),
            token: crate::drill::new_token(),
        }],
    )?;
    let mut batches = vec![Batch { team: 0, tick: 0, inputs: vec![], events: sim.events().to_vec() }];
    let end = variant.exam.time_limit_ticks.unwrap_or(variant.duration_ticks);
    let mut next = 0;
    let teams = vec![trainee.id.clone()];
    while sim.tick() < end {
        let t = sim.tick();
        let start = next;
        while next < inputs.len() && inputs[next].tick <= t {
            next += 1;
        }
        let now: Vec<_> = inputs[start..next].iter().map(|i| i.input.clone()).collect();
        let before = sim.events().len();
        sim.step(now.clone());
        if !now.is_empty() || sim.events().len() > before {
            batches.push(Batch { team: 0, tick: t, inputs: now, events: sim.events()[before..].to_vec() });
        }
        if batches.len() >= 2000 {
            store.append(&id, &teams, &batches)?;
            batches.clear();
        }
    }
    store.append(&id, &teams, &batches)?;
    let grade = exam::grade(&variant, sim.events(), variant.exam.pass);
    let sitting = Sitting {
        trainee,
        exam: &base.id,
        variant_seed: seed,
        date: crate::governance::dates::day_of_ms(now_ms),
        drill: &id,
        replay_hash: log_hash(&sim),
        issuer,
        rule: variant.exam.pass,
        valid_years: variant.exam.valid_years,
    };
    let (cert, record) = certificate(&sitting, &grade, key_dir)?;
    store.save_exam(&record)?;
    Ok((grade, cert))
}

/// Verifies a certificate: its signature; that the signer is `trusted` (an installation's
/// public key, hex); and with a store, that the exam's range replays to the certified hash.
pub fn verify(cert: &Certificate, trusted: &str, store: Option<&dyn Store>) -> Result<Vec<String>> {
    cert::verify_signature(cert)?;
    let mut notes =
        vec!["signature valid".to_string(), format!("certificate sha256 {}", cert::fingerprint(cert))];
    if !trusted.eq_ignore_ascii_case(&cert.public_key) {
        return Err(Error::Refused(format!("signed by another key than the trusted one ({trusted})")));
    }
    notes.push("signed by the trusted key".into());
    if let Some(store) = store {
        let (_, verdicts) = crate::store::replay::verify(store, &cert.body.drill)?;
        let v = verdicts.first().ok_or_else(|| Error::unreadable("the exam drill has no trainee"))?;
        if !v.matches() || v.replayed_hash != cert.body.replay_hash {
            return Err(Error::Refused(format!(
                "the exam no longer replays to the certified log: certified {}, replayed {}",
                cert.body.replay_hash, v.replayed_hash
            )));
        }
        notes.push(format!("replay matches {}", v.replayed_hash));
    }
    Ok(notes)
}

/// This installation's public key (hex), if it has made one.
pub fn installation_key(key_dir: &Path) -> Option<String> {
    if !key_dir.join("keys/exam-signing.ed25519").exists() {
        return None;
    }
    let key = cert::signing_key(key_dir).ok()?;
    Some(icsdrill_engine::hex(key.verifying_key().as_bytes()))
}

/// A cohort's results as table rows (for CSV, xlsx and the trainer view's export): each
/// trainee's total, result, and points in each skill area as certified.
pub fn cohort_rows(store: &dyn Store, cohort: Option<&str>) -> Result<(Vec<&'static str>, Vec<Vec<String>>)> {
    use icsdrill_engine::scenario::exam::AREAS;
    let mut header = vec!["cohort", "trainee", "name", "date", "total", "max", "result", "drill"];
    header.extend(AREAS);
    header.push("valid_until");
    let rows = store
        .exams(cohort)?
        .into_iter()
        .map(|e| {
            let (areas, valid_until) = serde_json::from_str::<cert::Certificate>(&e.certificate)
                .map(|c| (c.body.areas, c.body.valid_until))
                .unwrap_or_default();
            let mut row = vec![
                e.cohort,
                e.trainee,
                e.name,
                e.date.to_string(),
                format!("{:.1}", e.total),
                format!("{:.0}", e.max),
                if e.passed { "pass" } else { "fail" }.into(),
                e.drill,
            ];
            row.extend(AREAS.iter().map(|a| {
                areas
                    .iter()
                    .find(|(name, ..)| name == a)
                    .map_or_else(String::new, |(_, p, _)| format!("{p:.1}"))
            }));
            row.push(valid_until.map_or_else(String::new, |d| d.to_string()));
            row
        })
        .collect();
    Ok((header, rows))
}
