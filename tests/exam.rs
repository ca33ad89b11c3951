//! Certification exams: per-trainee variants differ yet carry the same tasks and checks; a
//! scripted exam passes, the same exam with a trainee-made loss of safety fails the gate; the
//! signed certificate verifies, and a tampered one does not.

use icsdrill_engine::scenario::PassRule;
use icsdrill_engine::scenario::variant::{self, VariantMap};
use icsdrill_engine::{EventKind, SimInput, TimedInput, parse_inputs};
use icsdrill_judge::exam;

use crate::util::{builtin, run};

/// The recorded correct defence of the tank farm, in a variant's names and addresses, plus
/// what an exam also asks: declared hazards and a complete report.
pub(crate) fn defence_for(map: &VariantMap) -> Vec<TimedInput> {
    let path = format!("{}/scenarios/defences/petrochem-tank-farm.jsonl", env!("CARGO_MANIFEST_DIR"));
    let mut inputs = parse_inputs(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
    let host = |h: &mut String| *h = map.hosts[h.as_str()].clone();
    for i in &mut inputs {
        match &mut i.input {
            SimInput::IsolateHost { host: h } | SimInput::BlockSource { host: h, .. } => host(h),
            SimInput::WriteCoils { source, .. } => host(source),
            SimInput::WriteRegisters { source, plc, addr, .. } => {
                host(source);
                *addr += map.holding_offsets[plc.as_str()];
            }
            SimInput::ReportIncident(icsdrill_engine::IncidentReport { tactic, impact, actions, .. }) => {
                *tactic = Some("impair-process-control".into());
                *impact = "fill stop level raised above the tank".into();
                *actions = "isolated the EWS, restored set points".into();
            }
            _ => {}
        }
    }
    for id in ["range:plc-t101", "path:bypass-sis", "path:overfill"] {
        inputs.push(TimedInput { tick: 2700, input: SimInput::DeclareHazard { id: id.into() } });
    }
    // A thorough trainee: every attacked PLC hardened and restored, every step seen reported.
    let base = builtin("petrochem-tank-farm");
    let plan = base.attack.as_ref().unwrap();
    for (k, st) in plan.steps.iter().enumerate() {
        use icsdrill_engine::attack::Action;
        let asset = match &st.action {
            Action::Pivot(h) => map.hosts[&base.hosts[h.ix()].id].clone(),
            Action::Scan(p) => base.plcs[p.first().map_or(0, |p| p.ix())].id.clone(),
            action => base.plcs[action.plc().expect("one PLC").ix()].id.clone(),
        };
        if let Action::WriteRegisters { plc, .. } | Action::WriteCoils { plc, .. } = &st.action {
            let plc = base.plcs[plc.ix()].id.clone();
            inputs.push(TimedInput { tick: 2455, input: SimInput::RestoreSetpoints { plc: plc.clone() } });
            inputs.push(TimedInput { tick: 2465, input: SimInput::EnableRangeChecks { plc } });
        }
        if k < 6 {
            inputs.push(TimedInput {
                tick: 2610 + k as u64,
                input: SimInput::ReportIncident(icsdrill_engine::IncidentReport {
                    technique: st.techniques[0].v18.into(),
                    asset,
                    observed_s: Some(240.0),
                    text: st.name.en.clone(),
                    tactic: Some(st.techniques[0].tactic.into()),
                    impact: "see the step".into(),
                    actions: "contained".into(),
                }),
            });
        }
    }
    inputs.sort_by_key(|i| i.tick);
    inputs
}

#[test]
fn variants_differ_but_carry_the_same_tasks_and_checks() {
    let base = builtin("petrochem-tank-farm");
    let (a, ma) = variant::variant(&base, 11);
    let (b, mb) = variant::variant(&base, 12);
    assert_eq!(variant::variant(&base, 11).1, ma, "a seed always gives the same variant");
    assert_ne!(ma.hosts, mb.hosts, "host names differ");
    assert_ne!(ma.holding_offsets, mb.holding_offsets, "register addresses differ");
    assert!(ma.attack_delay_s != mb.attack_delay_s || ma.value_factor != mb.value_factor, "{ma:?} {mb:?}");
    // The attack path: some seeds start from a second office machine.
    let footholds: std::collections::BTreeSet<String> = (0..8)
        .map(|seed| variant::variant(&base, seed).1.foothold.rsplit_once('-').unwrap().1.to_string())
        .collect();
    assert!(footholds.len() > 1, "{footholds:?}");
    let twin = (0..16)
        .find(|seed| variant::variant(&base, *seed).0.hosts.len() > base.hosts.len())
        .expect("a seed with a second machine");
    let (tv, tm) = variant::variant(&base, twin);
    assert!(!tm.hosts.values().any(|h| *h == tm.foothold), "the attack starts from the new machine: {tm:?}");
    let tv = std::sync::Arc::new(tv);
    let idle = run(&tv, 1, base.duration_ticks as f64 / f64::from(base.tick_hz), &[]);
    let from_twin = idle
        .events()
        .iter()
        .any(|e| matches!(&e.kind, EventKind::AttackAttempt { host, .. } if *host == tm.foothold));
    assert!(from_twin, "the attack runs from {}", tm.foothold);
    let addr = |s: &icsdrill_engine::Scenario| s.plcs[0].holding_registers[0].addr;
    assert_ne!(addr(&a), addr(&b));
    // Both variants are whole plants: undefended, the attack still reaches its impact; the
    // same task list grades both.
    let secs = base.duration_ticks as f64 / f64::from(base.tick_hz);
    for (s, m) in [(std::sync::Arc::new(a), &ma), (std::sync::Arc::new(b), &mb)] {
        let idle = run(&s, 1, secs, &[]);
        assert!(idle.events().iter().any(|e| matches!(e.kind, EventKind::Damage { .. })), "{}", s.id);
        let g = exam::grade(&s, idle.events(), PassRule::default());
        assert!(!g.passed);
        let good = run(&s, 1, secs, &defence_for(m));
        let g2 = exam::grade(&s, good.events(), PassRule::default());
        assert!(g2.passed, "{}: {g2:#?}", s.id);
        assert_eq!(
            g.tasks.iter().map(|t| (t.id, t.max)).collect::<Vec<_>>(),
            g2.tasks.iter().map(|t| (t.id, t.max)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_bypass_the_trainee_sets_from_the_host_the_attacker_holds_is_still_the_trainees() {
    // Trainee clients come from the engineering workstation by default, the host the attack
    // pivots to: the attack's own bypass write is not the trainee's, another one is.
    let base = builtin("petrochem-tank-farm");
    let (s, map) = variant::variant(&base, 21);
    let s = std::sync::Arc::new(s);
    let secs = s.duration_ticks as f64 / f64::from(s.tick_hz);
    let ews = map.hosts["ews-01"].clone();
    let idle = exam::grade(&s, run(&s, 1, secs, &[]).events(), PassRule::default());
    assert!(idle.safety_violation.is_none(), "the attacker's own bypass is not the trainee's: {idle:#?}");
    let coil = TimedInput { tick: 3000, input: SimInput::write_coils("sis-01", ews, 1, vec![true]) };
    let g = exam::grade(&s, run(&s, 1, secs, &[coil]).events(), PassRule::default());
    assert!(g.safety_violation.as_ref().is_some_and(|v| v.en.contains("bypass coil 1")), "{g:#?}");
    // A Chinese certificate says it in Chinese.
    assert_eq!(
        g.safety_violation.as_ref().map(|v| v.zh.as_str()),
        Some("置位了 sis-01 的联锁旁路线圈 1（失去安全保护）")
    );
    let dir = std::env::temp_dir().join(format!("icsdrill-gate-zh-{}", std::process::id()));
    let trainee =
        icsdrill::governance::exam::Trainee { id: "t".into(), name: "张三".into(), cohort: String::new() };
    let sitting = icsdrill::governance::exam::Sitting {
        trainee: &trainee,
        exam: "petrochem-tank-farm",
        variant_seed: 21,
        date: "2026-12-05".parse().unwrap(),
        drill: "d",
        replay_hash: String::new(),
        issuer: None,
        rule: Default::default(),
        valid_years: 3,
    };
    let (cert, _) = icsdrill::governance::exam::certificate(&sitting, &g, &dir).unwrap();
    let html = icsdrill::governance::cert::html(&cert, true);
    assert!(
        html.contains("安全门槛：置位了 sis-01 的联锁旁路线圈 1") && !html.contains("loss of safety"),
        "{html}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_pass_is_certified_for_the_exams_years_and_verifies_as_expired_after() {
    let dir = std::env::temp_dir().join(format!("icsdrill-cert-expiry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let trainee =
        icsdrill::governance::exam::Trainee { id: "t".into(), name: "王芳".into(), cohort: String::new() };
    let grade = |passed| icsdrill_judge::exam::Grade {
        tasks: Vec::new(),
        areas: Vec::new(),
        total: if passed { 90.0 } else { 20.0 },
        max: 110.0,
        passed,
        safety_violation: None,
    };
    let sign = |date: &str, years, passed, name: &str| {
        let sitting = icsdrill::governance::exam::Sitting {
            trainee: &trainee,
            exam: "petrochem-tank-farm",
            variant_seed: 21,
            date: date.parse().unwrap(),
            drill: "d",
            replay_hash: String::new(),
            issuer: None,
            rule: Default::default(),
            valid_years: years,
        };
        let (cert, _) = icsdrill::governance::exam::certificate(&sitting, &grade(passed), &dir).unwrap();
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string(&cert).unwrap()).unwrap();
        (cert, path)
    };
    let (old, old_path) = sign("2020-01-15", 3, true, "old");
    assert_eq!(old.body.valid_until.map(|d| d.to_string()), Some("2023-01-15".into()));
    let today = icsdrill::governance::dates::today();
    let (new, new_path) = sign(&today.to_string(), 3, true, "new");
    let (_, lifelong) = sign("2020-01-15", 0, true, "lifelong");
    let (notice, notice_path) = sign("2020-01-15", 3, false, "notice");
    assert_eq!(notice.body.valid_until, None, "a result notice certifies nothing");
    // Printed on the certificate.
    let html = icsdrill::governance::cert::html(&new, true);
    assert!(html.contains(&format!("有效期至</td><td class=\"valid\">{}", today.add_months(36))), "{html}");
    assert!(!icsdrill::governance::cert::html(&notice, false).contains("Valid until"));
    // Verified: authentic either way, but an expired pass fails the check and says so.
    let (_, key) = icsdrill(&["cert", "key", "--data-dir", dir.to_str().unwrap()]);
    let verify = |path: &std::path::Path| {
        icsdrill(&["cert", "verify", path.to_str().unwrap(), "--public-key", key.trim()])
    };
    let (ok, out) = verify(&old_path);
    assert!(!ok && out.starts_with("EXPIRED: ") && out.contains("valid until 2023-01-15 (today is"), "{out}");
    assert!(out.contains("signature valid"), "{out}");
    let (ok, out) = verify(&new_path);
    assert!(
        ok && out.starts_with("valid: ") && out.contains(&format!("valid until {}", today.add_months(36))),
        "{out}"
    );
    for path in [&lifelong, &notice_path] {
        let (ok, out) = verify(path);
        assert!(ok && out.starts_with("valid: ") && !out.contains("valid until"), "{out}");
    }
    // The validity is signed: moved on, the certificate no longer verifies.
    let mut forged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&old_path).unwrap()).unwrap();
    forged["body"]["valid_until"] = serde_json::json!("2099-01-15");
    std::fs::write(&old_path, forged.to_string()).unwrap();
    let (ok, out) = verify(&old_path);
    assert!(!ok && out.contains("INVALID"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_trainee_made_loss_of_safety_fails_the_gate() {
    let base = builtin("petrochem-tank-farm");
    let (s, map) = variant::variant(&base, 21);
    let s = std::sync::Arc::new(s);
    let secs = s.duration_ticks as f64 / f64::from(s.tick_hz);
    let mut inputs = defence_for(&map);
    // After a correct defence, the trainee "tests" the SIS by setting its bypass from the HMI.
    inputs.push(TimedInput {
        tick: 3000,
        input: SimInput::write_coils("sis-01", map.hosts["hmi-01"].clone(), 0, vec![true]),
    });
    let sim = run(&s, 1, secs, &inputs);
    let g = exam::grade(&s, sim.events(), PassRule::default());
    assert!(!g.passed, "{g:#?}");
    assert!(g.safety_violation.as_ref().is_some_and(|v| v.en.contains("bypass")), "{g:#?}");
    assert!(
        g.tasks.iter().filter(|t| t.gated).all(|t| t.points == 0.0 && t.detail.en.starts_with("safety gate"))
    );
    assert!(g.tasks.iter().any(|t| t.gated));
    // The non-gated tasks keep their marks.
    assert!(g.tasks.iter().find(|t| t.id == "detect").unwrap().points > 0.0, "{g:#?}");
}

/// An exam run to its own time limit keeps its pages, as one the white cell ends does: the
/// trainee's console then links to the signed result (the server closed with the time limit,
/// the link never came).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exam_run_to_its_time_limit_keeps_its_pages_for_the_trainees_result() {
    let dir = std::env::temp_dir().join(format!("icsdrill-exam-limit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap().to_string();
    // No --duration: the scenario's time limit (at 2000 ticks a second, seconds of wall time).
    let ((served, _, lines), addr, token) =
        crate::util::served_exam("t3", &d, &["--tick-hz", "2000", "--start"]);
    let token = token.as_str();
    let printed = crate::util::printed_once_ended(lines).await;
    assert!(printed.iter().any(|l| l.starts_with("exam ") && l.contains("certificate")), "{printed:?}");
    let (s, exam) = crate::drill::http(addr, "GET", "/api/teams/t3/exam", Some(token), None).await;
    assert!(s == 200 && exam.contains(r#""certified":true"#), "{s}: {exam}");
    let (s, page) =
        crate::drill::http(addr, "GET", "/api/teams/t3/certificate?lang=en", Some(token), None).await;
    assert!(s == 200 && page.contains("result notice"), "{s}: {page}");
    drop(served);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An exam ended before its attack began earns nothing for the tasks only the attack sets
/// (they earned full marks: "0 of 0 fired steps reported", "0 of 0 changed PLCs restored",
/// "no damage"), whatever the trainee did meanwhile; what it did to the plant's design still
/// counts.
#[test]
fn an_exam_ended_before_its_attack_began_earns_nothing_for_facing_it() {
    let base = builtin("petrochem-tank-farm");
    let (s, map) = variant::variant(&base, 21);
    let s = std::sync::Arc::new(s);
    // The defence's own first moves, in the first ten seconds; the attack begins later.
    let early: Vec<TimedInput> = defence_for(&map).into_iter().filter(|i| i.tick < s.ticks(10.0)).collect();
    let sim = run(&s, 1, 10.0, &early);
    let g = exam::grade(&s, sim.events(), PassRule::default());
    let points = |id: &str| g.tasks.iter().find(|t| t.id == id).map(|t| (t.points, t.detail.en.clone()));
    for id in ["validate-writes", "detect", "restore", "safe"] {
        let (p, why) = points(id).unwrap_or_default();
        assert!(p == 0.0 && why.starts_with("the attack never began"), "{id}: {p} ({why})");
    }
    assert!(!g.passed, "{g:#?}");
    // A full run of the same defence earns them.
    let full = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &defence_for(&map));
    let g = exam::grade(&s, full.events(), PassRule::default());
    assert!(
        ["detect", "safe"].iter().all(|id| g.tasks.iter().any(|t| t.id == *id && t.points > 0.0)),
        "{g:#?}"
    );
}

/// The tasks judge the plant as the trainee left it and what the attack actually did: an
/// interlock bypass written back from the HMI restores the safety PLC (restoring its set points
/// with the bypass still set does not); the PLCs to harden are those the fired steps wrote (an
/// escalation the containment forestalled sets nothing); a hazard is declared by its cause, a
/// conduit a trainee can see, not by an attack step's id nobody sees; an exam gives no hints.
#[test]
fn an_exam_judges_the_plant_as_left_and_the_attack_as_it_ran() {
    let base = builtin("petrochem-tank-farm");
    let (s, map) = variant::variant(&base, 21);
    let s = std::sync::Arc::new(s);
    let secs = s.duration_ticks as f64 / f64::from(s.tick_hz);
    let task = |inputs: &[TimedInput], id: &str| {
        let sim = run(&s, 1, secs, inputs);
        let g = exam::grade(&s, sim.events(), PassRule::default());
        let t = g.tasks.iter().find(|t| t.id == id).unwrap();
        (t.points, t.detail.en.clone(), sim)
    };
    let defence = defence_for(&map);
    // Restoring: the defence writes the bypass coil back and restores the set points.
    let (restored, why, sim) = task(&defence, "restore");
    assert_eq!(restored, 10.0, "{why}");
    let fired = |step: &str| {
        sim.events()
            .iter()
            .any(|e| matches!(&e.kind, EventKind::AttackAttempt { step: st, .. } if st == step))
    };
    assert!(fired("bypass-sis") && !fired("escalate-reactor"), "the defence contains the attack in time");
    let no_coil: Vec<TimedInput> =
        defence.iter().filter(|i| !matches!(i.input, SimInput::WriteCoils { .. })).cloned().collect();
    let (restored, why, _) = task(&no_coil, "restore");
    assert!(restored < 10.0 && why.contains("1 of 2"), "set points restored, the bypass still set: {why}");
    // The console's own way: the bypass switches back to normal at the safety PLC.
    let cleared: Vec<TimedInput> = defence
        .iter()
        .map(|i| match &i.input {
            SimInput::WriteCoils { plc, .. } => {
                TimedInput { tick: i.tick, input: SimInput::ClearBypasses { plc: plc.clone() } }
            }
            _ => i.clone(),
        })
        .collect();
    let (restored, why, _) = task(&cleared, "restore");
    assert_eq!(restored, 10.0, "bypasses cleared from the console: {why}");
    // Hardening: the reactor's PLC, written only by the escalation that never fired, need not be.
    let unhardened: Vec<TimedInput> = defence
        .iter()
        .filter(|i| !matches!(&i.input, SimInput::EnableRangeChecks { plc } if plc == "plc-r201"))
        .cloned()
        .collect();
    let (hardened, why, _) = task(&unhardened, "validate-writes");
    assert_eq!(hardened, 15.0, "{why}");
    assert!(why.contains("2 of 2"), "{why}");
    // Hazards: the conduits whose policies let the attack through, by their visible ids.
    let declare = |ids: &[&str]| -> Vec<TimedInput> {
        let others = defence.iter().filter(|i| !matches!(i.input, SimInput::DeclareHazard { .. })).cloned();
        let declared = ids
            .iter()
            .map(|id| TimedInput { tick: 2700, input: SimInput::DeclareHazard { id: (*id).into() } });
        others.chain(declared).collect()
    };
    let (hazards, why, _) =
        task(&declare(&["range:plc-t101", "conduit:c-sup-ctl", "conduit:c-sup-sis"]), "hazards");
    assert_eq!(hazards, 15.0, "{why}");
    // Two steps through one conduit are one cause: declaring both is one right answer.
    let (_, why, _) = task(&declare(&["path:overfill", "path:tag-id"]), "hazards");
    assert!(why.starts_with("1 correct, 0 wrong"), "two paths through c-sup-ctl: {why}");
    // A PLC the plan writes with no range checks is a hazard of the design, though the
    // containment kept the escalation that writes it from firing.
    let (_, why, _) = task(&declare(&["range:plc-r201"]), "hazards");
    assert!(why.starts_with("1 correct, 0 wrong"), "{why}");
    // No hints: taking one is refused.
    assert!(s.hints.is_empty());
    let hint =
        [TimedInput { tick: 10, input: SimInput::RevealHint { hint: "h1".into(), white_cell: false } }];
    let sim = run(&s, 1, 2.0, &hint);
    assert!(
        sim.events()
            .iter()
            .any(|e| matches!(&e.kind, EventKind::InputRejected { input: SimInput::RevealHint { .. }, .. })),
        "a hint in an exam is refused"
    );
}

/// An exam is sat on the trainee's variant and in its own time: `--seed` and a `--duration`
/// past the time limit are refused in words (they were taken silently: the seed ignored, the
/// time limit replaced), a shorter one ends it early.
#[test]
fn an_exam_refuses_another_seed_and_more_time() {
    let dir = std::env::temp_dir().join(format!("icsdrill-exam-flags-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    let exam = [
        "serve",
        "--mode",
        "exam",
        "--teams",
        "t1",
        "--data-dir",
        d,
        "--http-port",
        "0",
        "--modbus-port",
        "0",
    ];
    let (ok, out) = icsdrill(&[&exam[..], &["--seed", "5"]].concat());
    assert!(!ok && out.contains("an exam's seed is its trainee's variant's"), "{out}");
    let (ok, out) = icsdrill(&[&exam[..], &["--duration", "2400"]].concat());
    assert!(!ok && out.contains("past the exam's time limit of 1800 s"), "{out}");
    // Answers written for the base scenario: graded as given, and said to be misnamed.
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/defences/petrochem-tank-farm.jsonl");
    let out_dir = dir.join("t9");
    let args = [
        "exam",
        "run",
        "--trainee",
        "t9",
        "--inputs",
        base,
        "--out",
        out_dir.to_str().unwrap(),
        "--data-dir",
        d,
    ];
    let (ok, out) = icsdrill(&args);
    assert!(
        ok && out.contains("answers named a PLC, host or point this trainee's variant does not have"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn icsdrill(args: &[&str]) -> (bool, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_icsdrill")).args(args).output().unwrap();
    (
        o.status.success(),
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
    )
}

fn write_inputs(path: &std::path::Path, inputs: &[TimedInput]) {
    let text: String = inputs.iter().map(|i| serde_json::to_string(i).unwrap() + "\n").collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn exams_are_certified_and_certificates_verify_but_not_when_tampered() {
    let dir = std::env::temp_dir().join(format!("icsdrill-exam-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let base = builtin("petrochem-tank-farm");
    // Trainee 1 defends well; trainee 2 as well, but then sets the SIS bypass.
    let (_, m1) = variant::variant(&base, icsdrill::governance::exam::seed_for("t1", &dir).unwrap());
    write_inputs(&dir.join("t1.jsonl"), &defence_for(&m1));
    let (_, m2) = variant::variant(&base, icsdrill::governance::exam::seed_for("t2", &dir).unwrap());
    let mut bad = defence_for(&m2);
    bad.push(TimedInput {
        tick: 3000,
        input: SimInput::write_coils("sis-01", m2.hosts["hmi-01"].clone(), 0, vec![true]),
    });
    write_inputs(&dir.join("t2.jsonl"), &bad);
    assert_ne!(m1.hosts, m2.hosts);

    let run = |t: &str, name: &str| {
        let inputs = dir.join(format!("{t}.jsonl"));
        let out = dir.join(t);
        icsdrill(&[
            "exam",
            "run",
            "--trainee",
            t,
            "--name",
            name,
            "--cohort",
            "2026-A",
            "--inputs",
            inputs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--data-dir",
            d,
        ])
    };
    // The verdict and the task table in the certificate's language (Chinese by default).
    let (ok, out) = run("t1", "张三");
    assert!(ok && out.contains("\n通过：") && !out.contains("未通过"), "{out}");
    let (ok, out) = run("t2", "李四");
    assert!(ok && out.contains("\n未通过：") && out.contains("安全否决"), "{out}");

    let cert1 = dir.join("t1/certificate.json");
    let (ok, out) = icsdrill(&["cert", "verify", cert1.to_str().unwrap(), "--data-dir", d]);
    assert!(ok, "{out}");
    assert!(
        out.contains("signature valid") && out.contains("replay matches") && out.contains("pass"),
        "{out}"
    );
    let (ok, out) =
        icsdrill(&["cert", "verify", dir.join("t2/certificate.json").to_str().unwrap(), "--data-dir", d]);
    assert!(ok && out.contains("fail"), "{out}");
    // The key an issuer publishes, and a verification by it alone (no data directory).
    let (ok, key) = icsdrill(&["cert", "key", "--data-dir", d]);
    let key = key.trim().to_string();
    assert!(ok && key.len() == 64, "{key}");
    let (ok, out) = icsdrill(&["cert", "verify", cert1.to_str().unwrap(), "--public-key", &key]);
    assert!(ok && out.contains("signed by the trusted key"), "{out}");
    // An auditor re-grades the exam from its record: task by task, beside the certificate.
    let signed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cert1).unwrap()).unwrap();
    let (ok, out) = icsdrill(&["replay", signed["body"]["drill"].as_str().unwrap(), "--data-dir", d]);
    let total = signed["body"]["total"].as_f64().unwrap();
    assert!(ok && out.contains(&format!("replayed grade {total:.1} / 110, passed")), "{out}");
    assert!(out.contains("Cut the attacker's path into the control network"), "{out}");
    assert!(out.contains(&format!("certified {total:.1} / 110, passed: the same")), "{out}");
    // The exam's after-action report gives its grade task by task (it gave the drill score).
    let (ok, md) = icsdrill(&[
        "report",
        signed["body"]["drill"].as_str().unwrap(),
        "--lang",
        "zh",
        "--format",
        "md",
        "--data-dir",
        d,
    ]);
    assert!(ok && md.contains(&format!("| 考核成绩 | {total:.1} / 110（通过） |")), "{md}");
    // Played for its whole time limit: its duration says so, not "ended early" against the
    // scenario's hour.
    let duration = md.lines().find(|l| l.starts_with("| 演练时长 |")).unwrap_or_default();
    assert!(!duration.is_empty() && !duration.contains("提前结束"), "{duration}");
    assert!(
        md.contains("| 安全架构 | 切断攻击者进入控制网络的路径") && md.contains("演练评分（仅供参考"),
        "{md}"
    );
    let html = std::fs::read_to_string(dir.join("t1/certificate.html")).unwrap();
    assert!(html.contains("证书") && html.contains("张三") && html.contains("通过"));
    assert!(html.contains("name=\"viewport\"") && html.contains("icsdrill cert verify"), "{html}");
    // The printed copy carries the fingerprint `cert verify` prints, as text and as a QR code.
    let (_, verified) = icsdrill(&["cert", "verify", cert1.to_str().unwrap(), "--data-dir", d]);
    let fp =
        verified.split("certificate sha256 ").nth(1).map(|t| t[..64].to_string()).expect("a fingerprint");
    assert!(html.contains(&format!("sha256 {fp}")) && html.contains("<svg"), "{html}");
    // A fail is not certified: the same signed record, as a result notice.
    let notice = std::fs::read_to_string(dir.join("t2/certificate.html")).unwrap();
    assert!(
        notice.contains("结果通知") && !notice.contains("能力考核证书") && notice.contains("未通过"),
        "{notice}"
    );
    // The notice's fingerprint is the notice's, not a certificate's; both name the exam by its
    // scenario's title.
    assert!(notice.contains("通知指纹") && !notice.contains("证书指纹"), "{notice}");
    // It says what decided it: the rule, and each area under its pass mark (from its record).
    assert!(
        notice.contains("通过条件：总分不低于满分的 60%，且每个能力领域不低于该领域满分的 50%"),
        "{notice}"
    );
    let signed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("t2/certificate.json")).unwrap()).unwrap();
    let below = signed["body"]["areas"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a[1].as_f64().unwrap() < 0.5 * a[2].as_f64().unwrap())
        .count();
    assert!(below > 0 && notice.matches("低于该领域及格线").count() == below, "{below}: {notice}");
    assert_eq!(signed["body"]["pass_rule"], serde_json::json!([0.6, 0.5]));
    assert!(html.contains("储罐区与进料反应器 (petrochem-tank-farm)"), "{html}");

    // Tampered: a better score, another trainee's name, or a claim added beside what was
    // signed (it verified: the field was dropped before the signature was checked).
    let original = std::fs::read_to_string(&cert1).unwrap();
    let mut cert: serde_json::Value = serde_json::from_str(&original).unwrap();
    for (field, value) in [
        ("total", serde_json::json!(100.0)),
        ("name", serde_json::json!("王五")),
        ("expires", serde_json::json!("2099-01-01")),
    ] {
        let mut forged = cert.clone();
        forged["body"][field] = value;
        let path = dir.join(format!("forged-{field}.json"));
        std::fs::write(&path, forged.to_string()).unwrap();
        let (ok, out) = icsdrill(&["cert", "verify", path.to_str().unwrap(), "--data-dir", d]);
        assert!(!ok && out.contains("INVALID"), "{field}: {out}");
    }
    // Re-signed with another key: the signature is fine, but not this installation's.
    let other = dir.join("other-installation");
    let (ok, _) = icsdrill(&[
        "exam",
        "run",
        "--trainee",
        "t1",
        "--inputs",
        dir.join("t1.jsonl").to_str().unwrap(),
        "--out",
        other.join("out").to_str().unwrap(),
        "--data-dir",
        other.to_str().unwrap(),
    ]);
    assert!(ok);
    let (ok, out) =
        icsdrill(&["cert", "verify", other.join("out/certificate.json").to_str().unwrap(), "--data-dir", d]);
    assert!(!ok && out.contains("another key"), "{out}");
    // The key is kept private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("keys/exam-signing.ed25519")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key mode {mode:o}");
    }
    cert["signature"] = serde_json::json!("00".repeat(64));
    std::fs::write(dir.join("zero.json"), cert.to_string()).unwrap();
    assert!(!icsdrill(&["cert", "verify", dir.join("zero.json").to_str().unwrap(), "--data-dir", d]).0);
    // Without a data directory, the trusted key is given explicitly; a certificate cannot
    // vouch for itself.
    let key = original.split("\"public_key\": \"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (ok, out) = icsdrill(&["cert", "verify", cert1.to_str().unwrap(), "--public-key", &key]);
    assert!(ok && out.contains("signed by the trusted key"), "{out}");
    let other_cert = other.join("out/certificate.json");
    let (ok, out) = icsdrill(&["cert", "verify", other_cert.to_str().unwrap(), "--public-key", &key]);
    assert!(!ok && out.contains("another key"), "{out}");

    // The trainer's cohort view.
    let (ok, csv) = icsdrill(&["exam", "cohort", "2026-A", "--data-dir", d]);
    assert!(ok, "{csv}");
    assert!(
        csv.contains("2026-A,t1,张三")
            && csv.contains(",pass,")
            && csv.contains("2026-A,t2,李四")
            && csv.contains(",fail,"),
        "{csv}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_live_exam_drill_ends_at_its_time_limit_with_a_verifiable_certificate() {
    let dir = std::env::temp_dir().join(format!("icsdrill-live-exam-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let (ok, out) = icsdrill(&[
        "serve",
        "--mode",
        "exam",
        "--teams",
        "t9",
        "--data-dir",
        d,
        "--modbus-port",
        "0",
        "--http-port",
        "0",
        "--tick-hz",
        "1000",
        "--duration",
        "300",
        "--start",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("as a exam drill") || out.contains("as an exam drill") || out.contains("exam drill"),
        "{out}"
    );
    // The trainee's own variant: host names differ from the base scenario's.
    let (_, map) = variant::variant(
        &builtin("petrochem-tank-farm"),
        icsdrill::governance::exam::seed_for("t9", &dir).unwrap(),
    );
    assert!(map.hosts.iter().all(|(a, b)| a != b), "{map:?}");
    assert!(out.contains("exam NOT PASSED"), "an idle trainee does not pass:\n{out}");
    let cert = out.lines().find_map(|l| l.split("certificate ").nth(1)).unwrap().trim().to_string();
    let (ok, verified) = icsdrill(&["cert", "verify", &cert, "--data-dir", d]);
    assert!(ok && verified.contains("replay matches"), "{verified}");
    let (ok, csv) = icsdrill(&["exam", "cohort", "--data-dir", d]);
    assert!(ok && csv.contains(",t9,t9,") && csv.contains(",fail,"), "{csv}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_live_exams_cohort_and_trainee_name_are_on_its_result() {
    let dir = std::env::temp_dir().join(format!("icsdrill-cohort-exam-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let args = ["serve", "--mode", "exam", "--teams", "t7", "--cohort", "2026-C", "--data-dir", d];
    let fast = ["--modbus-port", "0", "--http-port", "0", "--tick-hz", "2000", "--duration", "60", "--start"];
    // The trainee's name, as the certificate gives it, is the exam's only.
    let named = ["--trainee-name", "张伟 Zhang Wei"];
    let (ok, out) = icsdrill(&[&args[..], &named[..], &fast[..]].concat());
    assert!(ok && out.contains("exam NOT PASSED"), "{out}");
    // Its result is the grade: the stop line gives no drill score beside it.
    assert!(out.contains("team t7: ") && !out.contains("team t7: score"), "{out}");
    let (ok, csv) = icsdrill(&["exam", "cohort", "2026-C", "--data-dir", d]);
    assert!(ok && csv.contains("2026-C,t7,张伟 Zhang Wei,"), "{csv}");
    let regional = ["serve", "--teams", "t9", "--trainee-name", "x", "--data-dir", d];
    let (ok, err) = icsdrill(&[&regional[..], &fast[..]].concat());
    assert!(!ok && err.contains("--trainee-name is an exam's"), "{err}");
    let bad = ["--trainee-name", "a\u{7}b"];
    let (ok, err) = icsdrill(&[&args[..], &bad[..], &fast[..]].concat());
    assert!(!ok && err.contains("--trainee-name must be"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_exam_in_progress_is_listed_under_its_cohort() {
    use icsdrill_web::region::RegionApi as _;
    let (dir, mut spec) = crate::util::recorded_tank_farm("cohort-live", &["t8"], icsdrill_drill::Mode::Exam);
    spec.cohort = "2026-C".into();
    let server = icsdrill::drill::DrillServer::start(spec).await.unwrap();
    let id = server.drill.id.clone();
    let region = std::sync::Arc::new(icsdrill::governance::region::RegionService::new(
        icsdrill::store::Database::Sqlite(dir.clone()),
    ));
    let listed = |cohort: &'static str| {
        let region = region.clone();
        async move {
            let v = tokio::task::spawn_blocking(move || region.exams(Some(cohort)).unwrap()).await.unwrap();
            v["in_progress"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["drill"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("2026-C").await, [id], "in progress under its cohort");
    assert!(listed("2026-D").await.is_empty(), "and under no other");
    // With who sits it, its cohort and the day it began, as the results list them.
    let r = region.clone();
    let v = tokio::task::spawn_blocking(move || r.exams(Some("2026-C")).unwrap()).await.unwrap();
    let e = &v["in_progress"][0];
    let today = icsdrill::governance::dates::today().to_string();
    assert_eq!(
        (&e["trainee"], &e["name"], &e["cohort"], &e["date"]),
        (&"t8".into(), &"t8".into(), &"2026-C".into(), &today.into()),
        "{v}"
    );
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trainer_view_lists_a_cohort_and_exports_it_and_only_trainers_see_it() {
    use axum::body::Body;
    use axum::http::Request;
    use icsdrill::store::Database;
    use tower::ServiceExt;
    let dir = std::env::temp_dir().join(format!("icsdrill-trainer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = Database::Sqlite(dir.clone());
    let base = builtin("petrochem-tank-farm");
    let source = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().source;
    let (key_dir, db2) = (dir.clone(), db.clone());
    tokio::task::spawn_blocking(move || {
        let mut store = db2.open().unwrap();
        for (id, name, good) in [("s1", "王芳", true), ("s2", "刘强", false)] {
            let seed = icsdrill::governance::exam::seed_for(id, &key_dir).unwrap();
            let inputs = if good { defence_for(&variant::variant(&base, seed).1) } else { vec![] };
            let t = icsdrill::governance::exam::Trainee {
                id: id.into(),
                name: name.into(),
                cohort: "2026-B".into(),
            };
            icsdrill::governance::exam::run_headless(
                &mut *store,
                &key_dir,
                icsdrill::governance::exam::Exam { base: &base, source, issuer: None },
                &t,
                seed,
                &inputs,
            )
            .unwrap();
        }
        // s2 retakes: another variant (not the paper it has seen), and passes.
        use icsdrill::governance::exam::{seed_for, seed_for_sitting, sittings};
        assert_eq!(sittings(&*store, "s2", "petrochem-tank-farm").unwrap(), 1);
        let seed = seed_for_sitting("s2", 1, &key_dir).unwrap();
        assert_ne!(seed, seed_for("s2", &key_dir).unwrap(), "a retake is another variant");
        let t = icsdrill::governance::exam::Trainee {
            id: "s2".into(),
            name: "刘强".into(),
            cohort: "2026-B".into(),
        };
        let inputs = defence_for(&variant::variant(&base, seed).1);
        let exam = icsdrill::governance::exam::Exam { base: &base, source, issuer: None };
        icsdrill::governance::exam::run_headless(&mut *store, &key_dir, exam, &t, seed, &inputs).unwrap();
        store.add_user("trainer-token", "trainer", None).unwrap();
        store.add_user("kashgar-token", "prefecture", Some("kashgar")).unwrap();
    })
    .await
    .unwrap();
    let api: std::sync::Arc<dyn icsdrill_web::region::RegionApi> =
        std::sync::Arc::new(icsdrill::governance::region::RegionService::new(db));
    let call = |path: &'static str, token: &'static str| {
        let api = api.clone();
        async move {
            let req = Request::builder()
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let res = icsdrill_web::region::router(api).oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (s, body) = call("/api/trainer/exams?cohort=2026-B", "trainer-token").await;
    assert_eq!(s, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    // Three sittings of two trainees, both passed in the end (they counted sittings: 2 of 3).
    assert_eq!(v["results"].as_array().unwrap().len(), 3);
    assert_eq!((&v["passed"], &v["trainees"]), (&2.into(), &2.into()), "{v}");
    let s2: Vec<_> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["trainee"] == "s2")
        .map(|r| (r["sitting"].clone(), r["passed"].clone()))
        .collect();
    assert_eq!(s2, [(1.into(), false.into()), (2.into(), true.into())], "{v}");
    // Per-area scores as certified, the cohorts for the picker, and each result's printable
    // certificate (or result notice) for the trainer.
    assert_eq!(v["cohorts"], serde_json::json!(["2026-B"]));
    let r = v["results"].as_array().unwrap().iter().find(|r| r["trainee"] == "s1").unwrap().clone();
    assert_eq!(r["areas"].as_array().map(Vec::len), Some(5), "{r}");
    let path: &'static str = Box::leak(
        format!("/api/trainer/certificates/{}?lang=zh", r["drill"].as_str().unwrap()).into_boxed_str(),
    );
    let (s, html) = call(path, "trainer-token").await;
    assert!(s == 200 && html.contains("王芳") && html.contains("能力考核证书"), "{s}: {html}");
    assert_eq!(call(path, "kashgar-token").await.0, 403, "prefecture users see no certificates");
    // The signed file itself, as the certificate tells its holder to verify it.
    let json_path: &'static str = Box::leak(
        format!("/api/trainer/certificates/{}?format=json", r["drill"].as_str().unwrap()).into_boxed_str(),
    );
    let (s, json) = call(json_path, "trainer-token").await;
    assert_eq!(s, 200, "{json}");
    let file = dir.join("downloaded.json");
    std::fs::write(&file, &json).unwrap();
    let (ok, verified) =
        icsdrill(&["cert", "verify", file.to_str().unwrap(), "--data-dir", dir.to_str().unwrap()]);
    assert!(ok && verified.contains("signature valid"), "{verified}");
    let bad: &'static str = Box::leak(format!("{json_path}&format=pdf").into_boxed_str());
    assert_eq!(call(bad, "trainer-token").await.0, 400);
    assert_eq!(call("/api/trainer/certificates/nope", "trainer-token").await.0, 404);
    let (s, csv) = call("/api/trainer/export?cohort=2026-B&format=csv", "trainer-token").await;
    assert_eq!(s, 200);
    assert!(csv.contains("2026-B,s1,王芳") && csv.contains("2026-B,s2,刘强"), "{csv}");
    // Each skill area's points as certified, one column an area.
    let header: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().next().unwrap().split(',').collect();
    assert_eq!(header[8..13], ["architecture", "implementation", "operations", "assessment", "response"]);
    let s1: Vec<&str> = csv.lines().find(|l| l.contains(",s1,")).unwrap().split(',').collect();
    assert!(s1[8..13].iter().all(|p| p.parse::<f64>().is_ok()), "{s1:?}");
    // Then the last day a pass is certified for (none for a fail).
    assert_eq!(header[13], "valid_until");
    let s2: Vec<&str> = csv.lines().find(|l| l.contains(",s2,")).unwrap().split(',').collect();
    let until = |row: &[&str]| row[13].trim().to_string();
    assert_eq!(until(&s1), icsdrill::governance::dates::today().add_months(36).to_string(), "{s1:?}");
    assert_eq!(until(&s2), "", "{s2:?}");
    assert_eq!(
        call("/api/trainer/exams", "kashgar-token").await.0,
        403,
        "prefecture users do not see cohorts"
    );
    assert_eq!(call("/api/region/rollup", "trainer-token").await.0, 403, "trainers do not see the roll-up");
    let (s, xlsx) = call("/api/trainer/export?format=xlsx", "trainer-token").await;
    assert_eq!(s, 200);
    assert!(xlsx.starts_with("PK"), "an xlsx (zip) file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_exam_section_is_validated_with_locations() {
    let source = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().source;
    let s = builtin("petrochem-tank-farm");
    assert_eq!(s.exam.tasks.len(), 9);
    assert_eq!(s.exam.time_limit_ticks, Some(18_000));
    let bad = source.replace(
        "  tasks: [cut-path, protect-sis, validate-writes, allow-list, detect, hazards, restore, report, safe]",
        "  tasks: [cut-path, detect, hazards, restore, fly-a-kite]",
    );
    let bad = bad.replace("  pass_overall: 0.6", "  pass_overall: 1.6");
    let err = icsdrill_engine::Scenario::from_yaml("exam.yaml", &bad).unwrap_err().to_string();
    for needle in [
        "unknown exam task `fly-a-kite`",
        "none for `implementation`",
        "pass_overall must be a share between 0 and 1",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in:\n{err}");
    }
    assert!(err.lines().all(|l| l.starts_with("exam.yaml:")), "{err}");
}

/// An exam the white cell ends is graded and certified then, while its pages stay up (before,
/// the trainer saw no result until the process was stopped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exam_the_white_cell_ends_is_certified_at_once() {
    let dir = std::env::temp_dir().join(format!("icsdrill-ended-exam-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap().to_string();
    let args = ["serve", "--mode", "exam", "--teams", "t6", "--cohort", "2026-E", "--data-dir", &d];
    let fast = ["--modbus-port", "0", "--http-port", "0", "--tick-hz", "100", "--start"];
    let (served, banner, lines) = crate::util::spawn_served(&[&args[..], &fast[..]].concat(), None);
    let url = banner.iter().find_map(|l| l.split("Instructor (white cell / 导调组): ").nth(1)).unwrap();
    let (base, token) = url.split_once("/instructor?token=").unwrap();
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let trainee = banner.iter().find_map(|l| l.split("/team/t6?token=").nth(1)).unwrap().trim().to_string();
    let get = |path: &'static str, who: String| async move {
        crate::drill::http(addr, "GET", path, Some(&who), None).await
    };
    // No certificate while the exam runs.
    let (s, answer) = get("/api/teams/t6/certificate", trainee.clone()).await;
    assert_eq!(s, 404, "{answer}");
    let (_, exam) = get("/api/teams/t6/exam", trainee.clone()).await;
    assert!(exam.contains(r#""certified":false"#), "{exam}");
    // No hints in an exam, and said so (it answered `no hint h1` for a hint the drill has).
    let (s, answer) =
        crate::drill::http(addr, "POST", "/api/teams/t6/hints", Some(&trainee), Some(r#"{"hint":"h1"}"#))
            .await;
    assert!(
        s == 409 && answer.contains("an exam gives no hints") && answer.contains("考核不提供提示"),
        "{s}: {answer}"
    );
    let body = r#"{"action":"end"}"#;
    let (s, answer) = crate::drill::http(addr, "POST", "/api/drill/control", Some(token), Some(body)).await;
    assert_eq!(s, 200, "{answer}");
    // The certificate line comes while the server still serves.
    let printed = crate::util::printed_once_ended(lines).await;
    assert!(printed.iter().any(|l| l.starts_with("exam ") && l.contains("certificate")), "{printed:?}");
    let (s, _) = crate::drill::http(addr, "GET", "/api/drill", Some(token), None).await;
    assert_eq!(s, 200, "the pages are still served");
    // The trainee's console links to the signed result: the page in either language, and
    // the JSON that `cert verify` checks.
    let (_, exam) = get("/api/teams/t6/exam", trainee.clone()).await;
    assert!(exam.contains(r#""certified":true"#), "{exam}");
    let (s, page) = get("/api/teams/t6/certificate?lang=en", trainee.clone()).await;
    assert!(s == 200 && page.contains("result notice") && page.contains("t6"), "{s}: {page}");
    let (s, page) = get("/api/teams/t6/certificate", trainee.clone()).await;
    assert!(s == 200 && page.contains("考核结果通知"), "{s}: {page}");
    let (s, json) = get("/api/teams/t6/certificate?format=json", trainee.clone()).await;
    assert_eq!(s, 200, "{json}");
    let file = dir.join("from-console.json");
    std::fs::write(&file, &json).unwrap();
    let (s, _) = get("/api/teams/t6/certificate?format=pdf", trainee.clone()).await;
    assert_eq!(s, 400);
    let (ok, csv) = icsdrill(&["exam", "cohort", "2026-E", "--data-dir", &d]);
    assert!(ok && csv.contains("2026-E,t6,t6,"), "{csv}");
    drop(served);
    // Ended before its first tick, it replays to the certified log all the same (the replay
    // stepped a tick the range never did).
    let (ok, verified) = icsdrill(&["cert", "verify", file.to_str().unwrap(), "--data-dir", &d]);
    assert!(ok && verified.contains("replay matches"), "{verified}");
    // Resumed to bring its pages back, the ended exam serves them (the result with them) until
    // stopped, certified once: it tried to record the exam again, failed and left at once.
    let signed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let id = signed["body"]["drill"].as_str().unwrap().to_string();
    let resume = ["serve", "--resume", &id, "--data-dir", &d, "--modbus-port", "0", "--http-port", "0"];
    let (mut again, banner, lines) = crate::util::spawn_served(&resume, None);
    let url = banner.iter().find_map(|l| l.split("Instructor (white cell / 导调组): ").nth(1)).unwrap();
    let addr: std::net::SocketAddr =
        url.split_once("/instructor?token=").unwrap().0.trim_start_matches("http://").parse().unwrap();
    let printed = crate::util::printed_once_ended(lines).await;
    assert!(printed.iter().any(|l| l.starts_with("exam certified when it ended")), "{printed:?}");
    let (s, page) =
        crate::drill::http(addr, "GET", "/api/teams/t6/certificate?lang=en", Some(&trainee), None).await;
    assert!(s == 200 && page.contains("result notice"), "{s}: {page}");
    std::process::Command::new("kill").args(["-TERM", &again.id().to_string()]).status().unwrap();
    assert!(again.wait().unwrap().success());
    let (ok, csv) = icsdrill(&["exam", "cohort", "2026-E", "--data-dir", &d]);
    assert!(ok && csv.matches("2026-E,t6,t6,").count() == 1, "{csv}");
    let _ = std::fs::remove_dir_all(&dir);
}
