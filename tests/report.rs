//! Findings and after-action reports: for known scripted drills the findings are exactly the
//! expected set (golden files), every finding cites events that exist, every format renders
//! (HTML in headless Chromium, xlsx read back with openpyxl), and rectification tracking
//! verifies a fixed finding in the next drill.

use std::process::Command;

use icsdrill::drill::DrillServer;
use icsdrill::governance::report::{self, Context, Format, Lang};
use icsdrill::store::{SqliteStore, Store as _};
use icsdrill_drill::{Control, Mode};
use icsdrill_engine::{EventKind, SimInput, TimedInput, parse_inputs};
use icsdrill_judge::findings::findings;
use icsdrill_web::drill::DrillApi;

use crate::util::{builtin, run};

pub(crate) fn defence(id: &str) -> Vec<icsdrill_engine::TimedInput> {
    let path = format!("{}/scenarios/defences/{id}.jsonl", env!("CARGO_MANIFEST_DIR"));
    parse_inputs(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The parts of a finding a golden file pins: id, severity, grade, deadline, techniques,
/// mitigations, assets, retest path, and when the team contained it, if it did.
fn summary(f: &icsdrill_judge::findings::Finding) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": f.id,
        "severity": f.assessment.severity,
        "grade": f.assessment.grade.zh,
        "deadline_days": f.assessment.deadline_days,
        "techniques": f.assessment.techniques.iter().map(|t| t.v19).collect::<Vec<_>>(),
        "mitigations": f.assessment.mitigations,
        "assets": f.assessment.assets,
        "retest": f.retest,
    });
    if let Some(c) = &f.assessment.contained {
        v["contained_s"] = c.at_s.into();
    }
    v
}

fn check_golden(name: &str, actual: &serde_json::Value) {
    let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("ICSDRILL_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{path} is missing; run with ICSDRILL_BLESS=1"));
    assert_eq!(
        text, expected,
        "{name}: findings differ from {path} (ICSDRILL_BLESS=1 rewrites it after review)"
    );
}

#[test]
fn a_step_the_score_credits_as_detected_leaves_no_detect_finding() {
    // Each fired step reported at once with its technique and the asset it touched (a PLC, a
    // forged sensor, a wiped or blanked host): full detection credit, and no finding says it
    // went unreported.
    use icsdrill_engine::{EventKind, SimInput, TimedInput};
    for b in icsdrill_scenarios::LIBRARY {
        let s = builtin(b.id);
        let Some(plan) = &s.attack else { continue };
        let secs = s.duration_ticks as f64 / f64::from(s.tick_hz);
        let idle = run(&s, 1, secs, &[]);
        let mut reports = Vec::new();
        for st in &plan.steps {
            let first = idle
                .events()
                .iter()
                .find(|e| matches!(&e.kind, EventKind::AttackAttempt { step, .. } if *step == st.id));
            let asset = match &st.action {
                icsdrill_engine::attack::Action::ForgeSensor { sensor, .. } => {
                    s.sensors[sensor.ix()].id.clone()
                }
                icsdrill_engine::attack::Action::WipeHost(h)
                | icsdrill_engine::attack::Action::DenyView { host: h, .. } => s.hosts[h.ix()].id.clone(),
                _ => continue,
            };
            let Some(first) = first else { continue };
            reports.push((
                st.id.clone(),
                TimedInput {
                    tick: first.tick + 1,
                    input: SimInput::ReportIncident(icsdrill_engine::IncidentReport {
                        technique: st.techniques[0].v18.to_string(),
                        asset,
                        observed_s: Some(first.tick as f64 / f64::from(s.tick_hz)),
                        text: "seen".into(),
                        tactic: Some(st.techniques[0].tactic.to_string()),
                        impact: "view".into(),
                        actions: "isolated".into(),
                    }),
                },
            ));
        }
        if reports.is_empty() {
            continue;
        }
        let inputs: Vec<TimedInput> = reports.iter().map(|(_, r)| r.clone()).collect();
        let sim = run(&s, 1, secs, &inputs);
        let found = findings(&s, sim.events(), s.meta.level);
        for (step, _) in &reports {
            let id = format!("detect:{step}");
            assert!(!found.iter().any(|f| f.id == id), "{}: {id}, though reported at once", b.id);
        }
    }
}

#[test]
fn every_set_point_breach_names_the_attack_steps_that_retest_it_whatever_the_protocol() {
    // Over Modbus, IEC 104 (the substations) or OPC UA (the welding line): a later drill can
    // only verify a rectified range breach by running the steps that made it again, and a
    // write to a PLC across a conduit is at least a high-severity path.
    let mut seen = std::collections::BTreeSet::new();
    for b in icsdrill_scenarios::LIBRARY {
        let s = builtin(b.id);
        let Some(plan) = &s.attack else { continue };
        let sim = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &[]);
        for f in findings(&s, sim.events(), s.meta.level) {
            if f.id.starts_with("range:") {
                assert!(!f.retest.is_empty(), "{}: {} has no retest path", b.id, f.id);
                seen.insert(b.id);
            }
            if let Some(step) =
                f.id.strip_prefix("path:").and_then(|st| plan.steps.iter().find(|x| x.id == st))
                && step.action.changes().is_some()
            {
                assert!(
                    f.assessment.severity <= icsdrill_judge::findings::Severity::High,
                    "{}: {} is {:?}",
                    b.id,
                    f.id,
                    f.assessment.severity
                );
            }
        }
    }
    assert!(seen.contains("equipment-welding-line"), "the OPC UA breach is among them: {seen:?}");
}

#[test]
fn findings_of_scripted_drills_match_their_golden_files_and_cite_real_events() {
    let id = "petrochem-tank-farm";
    let s = builtin(id);
    let secs = s.duration_ticks as f64 / f64::from(s.tick_hz);
    for (name, inputs) in
        [("findings-petrochem-undefended", vec![]), ("findings-petrochem-defended", defence(id))]
    {
        let sim = run(&s, 1, secs, &inputs);
        let found = findings(&s, sim.events(), s.meta.level);
        assert!(!found.is_empty(), "{name}");
        for f in &found {
            assert!(!f.assessment.evidence.is_empty(), "{name}: {} has no evidence", f.id);
            for seq in &f.assessment.evidence {
                assert!(
                    sim.events().iter().any(|e| e.seq == *seq),
                    "{name}: {} cites missing event {seq}",
                    f.id
                );
            }
            assert!(!f.title.zh.is_empty() && !f.title.en.is_empty() && !f.assessment.measure.zh.is_empty());
            assert!(f.assessment.deadline_days > 0, "{}", f.id);
        }
        check_golden(name, &serde_json::Value::Array(found.iter().map(summary).collect()));
    }
    // The defence closes hazards the idle run leaves: damage, the set-point breach.
    let idle = findings(&s, run(&s, 1, secs, &[]).events(), 3);
    let good = findings(&s, run(&s, 1, secs, &defence(id)).events(), 3);
    assert!(idle.iter().any(|f| f.id == "safety:damage"));
    assert!(!good.iter().any(|f| f.id == "safety:damage"));
    assert!(good.len() < idle.len(), "{} vs {}", good.len(), idle.len());
}

#[test]
fn a_scenario_brief_is_inert_in_every_text_format() {
    // A scenario arrives in an imported bundle: its brief is as untrusted as team text.
    let mut s = icsdrill_engine::Scenario::clone(&builtin("petrochem-tank-farm"));
    let payload = "<script>alert(1)</script> [x](javascript:alert(1)) | cell";
    // An ampersand that would begin a character reference stays text in Markdown too.
    s.meta.brief = icsdrill_engine::scenario::Text::new(payload, format!("{payload} &lt;b&gt; &#60;i&#62;"));
    let sim = run(&std::sync::Arc::new(s.clone()), 1, 60.0, &[]);
    let r = report::build(&s, sim.events(), false, plain_context("t"));
    for format in [Format::Md, Format::Html] {
        let text = String::from_utf8(report::render(&r, format, Lang::Zh).unwrap()).unwrap();
        assert!(!text.contains(" &lt;b&gt; &#60;i&#62;"), "{format:?}: {text}");
        // A minute of an hour's scenario: the report says how long it was played.
        assert!(text.contains(" 分钟（场景设计 60 分钟，提前结束）"), "{format:?}: {text}");
        assert!(!text.contains("<script>"), "{format:?}: {text}");
        // A Markdown link would be live in a viewer; in HTML the same text is only text.
        assert!(format != Format::Md || !text.contains("[x](javascript:"), "{text}");
        assert!(text.contains("&lt;script&gt;"), "{format:?}: the brief is shown, escaped");
    }
}

#[test]
fn a_drill_given_its_own_length_is_measured_against_it() {
    let s = builtin("petrochem-tank-farm");
    let ctx = Context { planned_s: Some(2400.0), ..plain_context("t") };
    let text = |secs: f64, lang| {
        let r = report::build(&s, run(&s, 1, secs, &[]).events(), false, ctx.clone());
        assert_eq!(r.planned_s, 2400.0);
        String::from_utf8(report::render(&r, Format::Md, lang).unwrap()).unwrap()
    };
    // A minute of a 40-minute drill on an hour's scenario: ended early against the drill's 40.
    let early = text(60.0, Lang::En);
    assert!(early.contains(" min of the drill's planned 40 (ended early)"), "{early}");
    // Its form named as a reader says it, not by its command-line id.
    assert!(early.contains("| Regional live drill |"), "{early}");
    let zh = text(60.0, Lang::Zh);
    assert!(zh.contains(" 分钟（演练计划 40 分钟，提前结束）"), "{zh}");
    // Played to its own end, it did not end early, whatever the scenario's length.
    let full = text(2400.0, Lang::En);
    let played = full.lines().find(|l| l.starts_with("| Duration | ")).unwrap_or_default();
    assert!(played.ends_with(" min |") && !played.contains("ended early"), "{full}");
}

#[test]
fn response_plan_steps_are_findings_only_where_the_plan_is_scored() {
    let s = builtin("petrochem-tank-farm");
    // An idle team: every step of the response plan missed.
    let sim = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &[]);
    let plan_ids = |scored| {
        let r = report::build(&s, sim.events(), scored, plain_context("t"));
        let ids: Vec<String> =
            r.findings.iter().map(|f| f.id.clone()).filter(|id| id.starts_with("plan:")).collect();
        (ids, r.score.components.iter().any(|c| c.key == "response_plan" && c.max > 0.0))
    };
    // An enterprise rehearsing its plan is scored on it, and told what it missed.
    let (ids, scored) = plan_ids(true);
    assert!(scored && !ids.is_empty(), "{ids:?}");
    // A regional drill's, a contest's or an exam's team was never asked to follow it: no
    // corrective action for a plan step (a contest report listed them, owners and deadlines).
    let (ids, scored) = plan_ids(false);
    assert!(!scored && ids.is_empty(), "{ids:?}");
    for mode in [Mode::Regional, Mode::Contest, Mode::Exam] {
        assert!(!mode.scores_plan(), "{mode:?}");
    }
    assert!(Mode::Enterprise.scores_plan());
}

#[test]
fn a_late_plan_step_cites_the_action_that_did_it() {
    let s = builtin("petrochem-tank-farm");
    // The duty officer told at 724 s, past the plan's 10 minutes from the attack's start.
    let notify = icsdrill_engine::TimedInput {
        tick: s.ticks(724.0),
        input: icsdrill_engine::SimInput::Notify { to: "duty_officer".into(), text: "intrusion".into() },
    };
    let sim = run(&s, 1, 1000.0, &[notify]);
    let applied = sim
        .events()
        .iter()
        .find(|e| matches!(&e.kind, EventKind::InputApplied { input } if input.defender_kind() == Some("notify")))
        .map(|e| e.seq)
        .unwrap();
    let r = report::build(&s, sim.events(), true, plain_context("t"));
    let late = r.findings.iter().find(|f| f.id == "plan:notify").unwrap();
    // It cites the late notice (the first three attack events crowded it out), and the attack.
    assert!(late.assessment.evidence.contains(&applied), "{:?}", late.assessment.evidence);
    assert!(late.assessment.evidence.len() >= 2, "{:?}", late.assessment.evidence);
}

/// An enterprise drill's report shows its response plan step by step: what it asked by when,
/// when the team did it, and how that stands (it had only the plan's score and its findings).
/// A drill that does not score the plan shows none.
#[test]
fn the_report_tables_the_response_plan_where_the_drill_scores_it() {
    let s = builtin("petrochem-tank-farm");
    let notify = |to: &str| icsdrill_engine::TimedInput {
        tick: s.ticks(724.0),
        input: icsdrill_engine::SimInput::Notify { to: to.into(), text: "intrusion".into() },
    };
    let sim = run(&s, 1, 1000.0, &[notify("duty_officer"), notify("management")]);
    let r = report::build(&s, sim.events(), true, plain_context("t"));
    let step = r.response_plan.iter().find(|p| p.id == "notify").expect("the notify step");
    assert_eq!(step.done_s, Some(724.0));
    assert_eq!(step.status, icsdrill_judge::score::PlanStatus::Late);
    let due = step.due_s.expect("the attack started");
    assert!(due < 724.0, "{due}");
    assert_eq!(r.response_plan.len(), s.scoring.response_plan.len());
    let md =
        |r: &report::Report, lang| String::from_utf8(report::render(r, Format::Md, lang).unwrap()).unwrap();
    let en = md(&r, Lang::En);
    let row = format!(
        "| {} | within {:.0} min of the attack's start (t {due:.0} s) | t 724 s | late |",
        step.name.en, step.within_min
    );
    assert!(en.contains("### Response plan") && en.contains(&row), "{row}\n{en}");
    // The incident not yet reported to the authority when the drill ended, due after: said so
    // (it read "not due yet" in a report of a drill over).
    let report = r.response_plan.iter().find(|p| p.id == "report").unwrap();
    assert_eq!(report.status, icsdrill_judge::score::PlanStatus::Pending);
    assert!(en.contains("| — | not done when the drill ended (due after its end) |"), "{en}");
    // The timeline's columns are named (they were blank in Markdown).
    assert!(en.contains("| t (s) | Who | What |"), "{en}");
    let zh = md(&r, Lang::Zh);
    let row = format!(
        "| {} | 攻击开始后 {:.0} 分钟内（第 {due:.0} 秒） | 第 724 秒 | 超时完成 |",
        step.name.zh, step.within_min
    );
    assert!(zh.contains("### 应急预案执行情况") && zh.contains(&row), "{row}\n{zh}");
    let html = String::from_utf8(report::render(&r, Format::Html, Lang::En).unwrap()).unwrap();
    assert!(html.contains("<h3>Response plan</h3>"), "the HTML report too");
    // Not scored: no table, in any format.
    let regional = report::build(&s, sim.events(), false, plain_context("t"));
    assert!(regional.response_plan.is_empty());
    assert!(!md(&regional, Lang::En).contains("Response plan"));
}

#[test]
fn every_format_renders_html_in_chromium_and_xlsx_reads_back() {
    let id = "petrochem-tank-farm";
    let s = builtin(id);
    let sim = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &[]);
    let ctx = Context {
        drill_id: "test".into(),
        drill_name: "2026 区域实网应急演练".into(),
        mode: icsdrill_drill::Mode::Enterprise,
        team_id: "dushanzi".into(),
        team_name: "独山子石化".into(),
        level: 3,
        date: "2026-11-26".parse().unwrap(),
        seed: 1,
        cover: report::Cover {
            organiser: Some("新疆维吾尔自治区工业和信息化厅".into()),
            place: Some("克拉玛依".into()),
        },
        deadlines: None,
        end_tick: None,
        challenges: 0,
        planned_s: None,
    };
    let r = report::build(&s, sim.events(), true, ctx.clone());
    // A defending team's actions read as what they did, not as input kinds and ids.
    let defended = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &defence(id));
    let rd = report::build(&s, defended.events(), true, ctx.clone());
    // The executive summary leaves no scored part out: each is a strength or something to
    // improve (a part at two thirds was in neither).
    for report in [&r, &rd] {
        for c in report.score.components.iter().filter(|c| c.max > 0.0) {
            let line = format!("{}: {}", c.label.en, c.detail.en);
            let listed = report.strengths.iter().chain(&report.improvements).any(|t| t.en.starts_with(&line));
            assert!(listed, "`{line}` ({} of {}) in neither list", c.points, c.max);
        }
    }
    // No trip is no strength when the attacker had bypassed the interlock (the idle team's
    // plant ran without its protection): said among the improvements, once.
    assert!(!r.strengths.iter().any(|t| t.en.starts_with("Trip avoided")), "{:?}", r.strengths);
    let trip: Vec<&icsdrill_engine::scenario::Text> =
        r.improvements.iter().filter(|t| t.en.starts_with("Trip avoided")).collect();
    assert_eq!(trip.len(), 1, "{trip:?}");
    // Scored up to before its interlock's demand, the points kept, the caveat says whose.
    let demand =
        sim.events().iter().position(|e| matches!(e.kind, EventKind::InterlockDefeated { .. })).unwrap();
    let before = report::build(&s, &sim.events()[..demand], true, ctx.clone());
    let first = &before.improvements[0];
    assert!(
        first.en.contains("the attacker had bypassed the safety interlocks of the safety PLC (sis-01)"),
        "{:?}",
        before.improvements
    );
    // By name, as the rest of the report names it (the Chinese said `sis-01` alone).
    assert!(first.zh.contains("攻击者已旁路安全仪表 PLC（sis-01）的安全联锁"), "{:?}", before.improvements);
    let html = String::from_utf8(report::render(&rd, Format::Html, Lang::En).unwrap()).unwrap();
    let mut kinds = 0;
    for e in defended.events() {
        if let icsdrill_engine::EventKind::InputApplied { input } = &e.kind
            && let Some(kind) = input.defender_kind()
        {
            kinds += 1;
            assert!(!html.contains(kind), "{kind}: an input kind in the report");
        }
    }
    // A host named inside a sentence, as one writes it (it read "Isolated Engineering workstation").
    assert!(kinds > 3 && html.contains("Isolated engineering workstation"), "{html}");
    // Whom the team told, in words, not as an id.
    let zh = String::from_utf8(report::render(&rd, Format::Html, Lang::Zh).unwrap()).unwrap();
    assert!(html.contains("Notified the duty officer") && !html.contains("duty_officer"), "{html}");
    assert!(zh.contains("通知值班人员") && !zh.contains("duty_officer"), "{zh}");
    // ATT&CK names in Chinese in a Chinese report, the English beside them (MITRE has no
    // Chinese edition); the English report keeps the English alone.
    let (md_zh, md_en) = (report::render(&r, Format::Md, Lang::Zh), report::render(&r, Format::Md, Lang::En));
    let (md_zh, md_en) =
        (String::from_utf8(md_zh.unwrap()).unwrap(), String::from_utf8(md_en.unwrap()).unwrap());
    let techniques: Vec<_> = r.merged.iter().flat_map(|m| &m.assessment.techniques).collect();
    assert!(!techniques.is_empty());
    for t in techniques {
        // As Markdown writes it: `&` as it is (`Point & Tag`; it read `Point &amp; Tag`).
        let names = t.names();
        assert!(!md_en.contains("&amp;"), "{md_en}");
        // The v18 id beside only where v19 renumbered the technique.
        let was = |open: &str, close: &str| {
            if t.v18 == t.v19 { String::new() } else { format!("{open}{}{close}", t.v18) }
        };
        assert!(md_zh.contains(&format!("{} {}{}", t.v19, names.zh, was("（", "）"))), "{}: {md_zh}", t.v19);
        assert!(
            md_en.contains(&format!("{} {}{}", t.v19, names.en, was(" (", ")")))
                && !md_en.contains(&names.zh)
        );
    }
    // Names put into Chinese sentences are spaced from them as the hand-written texts are
    // (`到达 T-101 储罐 PLC 并成功`): no Han character touches a Latin letter or digit, bar
    // the appendices' letters (`附录A`, as GB/T 1.1 writes them).
    let han = |c: char| ('\u{4E00}'..='\u{9FFF}').contains(&c);
    let chars: Vec<char> = md_zh.chars().collect();
    let touching: Vec<String> = chars
        .windows(2)
        .enumerate()
        .filter(|(_, w)| {
            (han(w[0]) && w[1].is_ascii_alphanumeric()) || (w[0].is_ascii_alphanumeric() && han(w[1]))
        })
        .map(|(i, _)| chars[i.saturating_sub(6)..(i + 6).min(chars.len())].iter().collect())
        .filter(|s: &String| !s.contains("附录"))
        .collect();
    assert!(touching.is_empty(), "{touching:?}");
    // Chinese punctuation after Chinese words: `资产：`, `网络安全管理员；期限 7 天`,
    // `（严重，重大）` (they read `资产: `, `; ` and ` (严重, 重大)`).
    let half: Vec<String> = chars
        .windows(3)
        .enumerate()
        .filter(|(_, w)| han(w[0]) && matches!((w[1], w[2]), (':' | ';' | ',', ' ') | (' ', '(')))
        .map(|(i, _)| chars[i.saturating_sub(6)..(i + 8).min(chars.len())].iter().collect())
        .collect();
    assert!(half.is_empty(), "{half:?}");
    let m0 = r.merged.iter().flat_map(|m| &m.assessment.mitigations).next().expect("a mitigation");
    let m = icsdrill_engine::attack::mitigation(m0).unwrap().names();
    assert!(md_zh.contains(&m.zh) && md_en.contains(&m.en) && !md_en.contains(&m.zh), "{m:?}");
    // The timeline names the technique a report named, in Chinese too.
    let reported = defended.events().iter().find_map(|e| match &e.kind {
        EventKind::InputApplied { input: icsdrill_engine::SimInput::ReportIncident(r) } => {
            Some(r.technique.clone())
        }
        _ => None,
    });
    let reported = icsdrill_engine::attack::technique(&reported.expect("the defence reports")).unwrap();
    assert!(zh.contains(&reported.names().zh.replace('&', "&amp;")), "{zh}");
    assert!(r.objectives.iter().any(|o| o.rating == 'U'), "the idle team fails an objective");
    assert_eq!(r.plan.len(), r.merged.len(), "one plan row per finding, merged by cause");
    assert!(
        r.merged.len() < r.findings.len(),
        "the idle team's unreported steps share a cause: {:?}",
        r.merged
    );
    assert!(r.plan.iter().all(|p| p.due.to_string().as_str() > "2026-11-26"), "{:?}", r.plan);
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    std::fs::create_dir_all(&out).unwrap();
    for lang in [Lang::Zh, Lang::En] {
        let md = String::from_utf8(report::render(&r, Format::Md, lang).unwrap()).unwrap();
        let html = String::from_utf8(report::render(&r, Format::Html, lang).unwrap()).unwrap();
        for f in &r.findings {
            assert!(md.contains(&f.id) && html.contains(&format!("id=\"{}\"", f.id)), "{}", f.id);
        }
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "self-contained: no external resources"
        );
        let heading = if lang == Lang::Zh {
            "演练总结报告与整改计划"
        } else {
            "After-action report and improvement plan"
        };
        assert!(md.contains(heading) && html.contains(heading));
        // Ready to file: document number, organiser and place, the rating legend, sign-off
        // lines; plain words in the body, the ids in Appendix B.
        assert!(html.contains("ICSD-test-dushanzi") && md.contains("ICSD-test-dushanzi"));
        assert!(html.contains("新疆维吾尔自治区工业和信息化厅") && md.contains("克拉玛依"));
        let (appendix, organiser) = if lang == Lang::Zh {
            ("附录B 标识对照", "主办单位")
        } else {
            ("Appendix B. Identifiers", "Organiser")
        };
        assert!(html.contains(appendix) && md.contains(appendix) && html.contains(organiser));
        let body = &html[..html.find(appendix).unwrap()];
        for f in &r.findings {
            assert!(!body.contains(&f.id), "{} named by its id before the appendix", f.id);
        }

        let (legend, approved) = if lang == Lang::Zh {
            ("完全胜任", "批准")
        } else {
            ("Performed without challenges", "Approved by")
        };
        assert!(
            html.contains(legend) && md.contains(legend) && html.contains(approved) && md.contains(approved)
        );
        // Charts drawn on the server: the attack against the response, and every variable's
        // trend with the attack's moments marked.
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 1 + r.trends.len());
        assert!(
            html.contains("<circle") && html.contains("<polyline") && html.contains("stroke=\"#b00020\"")
        );
    }
    assert_eq!(r.trends.len(), s.vars.len());
    assert!(r.trends.iter().all(|t| t.points.len() > 10 && t.points.len() <= 240), "bounded trends");
    let json: serde_json::Value =
        serde_json::from_slice(&report::render(&r, Format::Json, Lang::Zh).unwrap()).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), r.findings.len());

    // HTML in headless Chromium: a screenshot of the printed page.
    let html_path = out.join("report.html");
    std::fs::write(&html_path, report::render(&r, Format::Html, Lang::Zh).unwrap()).unwrap();
    let shot = out.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let profile = std::env::temp_dir().join(format!("icsdrill-chromium-{}", std::process::id()));
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.display()),
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1800",
            &format!("file://{}", html_path.display()),
        ])
        .output()
        .expect("chromium (scripts/test installs it)");
    let len = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(len > 20_000, "screenshot {len} bytes: {}", String::from_utf8_lossy(&o.stderr));

    // xlsx read back with openpyxl.
    let xlsx_path = out.join("report.xlsx");
    std::fs::write(&xlsx_path, report::render(&r, Format::Xlsx, Lang::Zh).unwrap()).unwrap();
    let script = "import sys, json, openpyxl\nwb = openpyxl.load_workbook(sys.argv[1])\nprint(json.dumps({ws.title: [[c for c in row] for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}, default=str))";
    let o = Command::new("python3").args(["-c", script, xlsx_path.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let book: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sheets: Vec<&str> = book.as_object().unwrap().keys().map(String::as_str).collect();
    for name in ["概况", "时间线", "安全隐患", "整改计划"] {
        assert!(sheets.contains(&name), "{sheets:?}");
    }
    let rows = book["安全隐患"].as_array().unwrap();
    assert_eq!(rows.len(), r.findings.len() + 1, "a header and one row per finding");
    assert_eq!(rows[1][0], r.findings[0].id);
    // Headed as the other formats head the same things: the register's hazard id, and the
    // report's F-number (隐患编号) it falls under.
    assert_eq!(
        (rows[0][0].as_str(), rows[0][13].as_str()),
        (Some("隐患标识（整改台账）"), Some("隐患编号（报告条目）"))
    );
    assert!(rows[1][13].as_str().is_some_and(|n| n.starts_with("F-")), "{}", rows[1][13]);
    // Its evidence with each event's simulated second, as the other formats give it.
    assert!(
        rows[1][8].as_str().is_some_and(|e| e.contains("（第 ") && e.contains(" 秒）")),
        "{}",
        rows[1][8]
    );
    assert_eq!(book["整改计划"].as_array().unwrap().len(), r.plan.len() + 1);
    // The overview holds the score (with an organiser and a place on the cover, the ratings'
    // heads were written over it) and its parts, the total as the other formats have it.
    let overview = book["概况"].as_array().unwrap();
    let row =
        |k: &str| overview.iter().find(|row| row[0] == k).unwrap_or_else(|| panic!("{k}: {overview:?}"));
    let total = format!("{:.1}", r.score.total);
    // Out of what the parts could give (it gave the total alone).
    let max: f64 = r.score.components.iter().map(|c| c.max.max(0.0)).sum();
    assert_eq!(row("得分")[1], format!("{total} / {max:.0}"));
    // The score table's points are numbers a sheet can add up.
    let number = |v: &serde_json::Value| v.as_f64().map(|n| format!("{n:.1}"));
    assert_eq!(number(&row("总分")[1]).as_deref(), Some(total.as_str()));
    for c in &r.score.components {
        assert_eq!(number(&row(&c.label.zh)[1]), Some(format!("{:.1}", c.points)), "{}", c.label.zh);
    }
    assert!(overview.iter().any(|row| row[0] == "目标"), "the ratings are there too");
    // The seed is a number, as a sheet reads one (it was text).
    let seeds: Vec<&serde_json::Value> =
        overview.iter().filter(|row| row[0] == "随机种子").map(|row| &row[1]).collect();
    assert!(seeds.iter().all(|v| v.is_number()) && !seeds.is_empty(), "{overview:?}");
    // The executive summary, as the other formats open with it (the workbook had none).
    let summary = book["总体评价"].as_array().unwrap_or_else(|| panic!("{sheets:?}"));
    assert_eq!(summary[0][0], "优势", "{summary:?}");
    assert_eq!(summary.len(), r.strengths.len() + r.improvements.len() + 3, "{summary:?}");
    // Assets by name as well as id, as the other formats name them.
    let asset = rows[1][6].as_str().unwrap_or_default();
    let first = &r.findings[0].assessment.assets[0];
    assert!(asset.starts_with(&format!("{first} = ")) && asset.len() > first.len() + 3, "{asset}");
    let _ = std::fs::remove_dir_all(&profile);
}

/// Runs one recorded drill of `source` for `team` to the scenario's end, with no defence.
async fn recorded_drill(dir: &std::path::Path, source: &str, team: &str) -> String {
    recorded_in_mode(dir, source, team, Mode::Enterprise).await
}

/// `recorded_drill` in `mode`.
async fn recorded_in_mode(dir: &std::path::Path, source: &str, team: &str, mode: Mode) -> String {
    let scenario = std::sync::Arc::new(icsdrill_engine::Scenario::from_yaml("fixed.yaml", source).unwrap());
    let end = scenario.duration_ticks;
    let spec = crate::util::test_spec(scenario, &[team], mode, Some((dir, source)));
    let server = DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(Control::Start).unwrap();
    drill.step(end).await;
    // Ended, as its time running out ends it live: a drill is reported and tracked once over.
    if !drill.phase().is_over() {
        drill.control(Control::End).unwrap();
    }
    let id = drill.id.clone();
    server.shutdown().await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_enterprise_is_judged_at_its_own_level_and_named_as_registered() {
    // A level-2 enterprise drilled on the tank farm (a level-3 plant): its deadlines are
    // level 2's, and its report says level 2 under its registered name.
    let dir = std::env::temp_dir().join(format!("icsdrill-level-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = SqliteStore::open(&dir).unwrap();
    let mut e = crate::registry::enterprise("shihezi-chem", "shihezi", "petrochemical", 2);
    e.name = "石河子某化工有限公司".into();
    store.import_enterprises(&[e], "2026-01-05".parse().unwrap()).unwrap();
    let source = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().source;
    let drill = recorded_drill(&dir, source, "shihezi-chem").await;
    icsdrill::governance::rectify::track_drill(&mut store, &drill, None).unwrap();
    let tracked = store.findings("shihezi-chem").unwrap();
    let critical = tracked
        .iter()
        .find(|f| f.severity == icsdrill::store::Severity::Critical)
        .expect("a critical finding");
    let f: serde_json::Value = serde_json::from_str(&critical.finding).unwrap();
    assert_eq!(f["deadline_days"], 15, "level 2's deadline for {}", critical.id);
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["report", &drill, "--format", "md", "--lang", "zh", "--data-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(md.contains("石河子某化工有限公司") && md.contains("| 安全等级 | 2 |"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rectification_a_fixed_finding_is_verified_by_the_next_drill() {
    let dir = std::env::temp_dir().join(format!("icsdrill-rectify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let original = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().source;
    // Drill 1: the tank PLC takes an out-of-range fill stop level.
    let first = recorded_drill(&dir, original, "dushanzi").await;
    let mut store = SqliteStore::open(&dir).unwrap();
    let tracked = icsdrill::governance::rectify::track_drill(&mut store, &first, None).unwrap();
    assert!(tracked[0].1.iter().any(|o| o.id == "range:plc-t101" && o.verdict == "new"), "{tracked:?}");
    // Tracking twice changes nothing.
    let again = icsdrill::governance::rectify::track_drill(&mut store, &first, None).unwrap();
    assert!(again[0].1.iter().all(|o| o.verdict == "already_tracked"));
    let open = |store: &SqliteStore, id: &str| {
        store.findings("dushanzi").unwrap().into_iter().find(|f| f.id == id).map(|f| f.status.to_string())
    };
    assert_eq!(open(&store, "range:plc-t101").as_deref(), Some("open"));
    // A contest (or an exam) on a plant of the organisers' adds nothing to the register, even
    // for a team named as the enterprise.
    let count = |store: &SqliteStore| store.findings("dushanzi").unwrap().len();
    let before = count(&store);
    for mode in [Mode::Contest, Mode::Exam] {
        let other = recorded_in_mode(&dir, original, "dushanzi", mode).await;
        let tracked = icsdrill::governance::rectify::track_drill(&mut store, &other, None).unwrap();
        assert!(tracked.is_empty(), "{mode:?}: {tracked:?}");
    }
    assert_eq!(count(&store), before);

    // The enterprise fixes it: range checks on in T-101's PLC for the next drill.
    let fixed = original.replacen("    scan_ms: 200\n", "    scan_ms: 200\n    range_checks: true\n", 1);
    assert_ne!(fixed, original);
    let second = recorded_drill(&dir, &fixed, "dushanzi").await;
    let tracked = icsdrill::governance::rectify::track_drill(&mut store, &second, None).unwrap();
    let verdict = |id: &str| tracked[0].1.iter().find(|o| o.id == id).map(|o| o.verdict.as_str());
    assert_eq!(verdict("range:plc-t101"), Some("verified"), "{tracked:?}");
    assert_eq!(open(&store, "range:plc-t101").as_deref(), Some("verified"));
    // What was not fixed is still open, with new evidence from drill 2.
    assert_eq!(verdict("detect:overfill"), Some("still_open"), "{tracked:?}");
    let f = store.findings("dushanzi").unwrap().into_iter().find(|f| f.id == "detect:overfill").unwrap();
    let history: serde_json::Value = serde_json::from_str(&f.history).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    assert_eq!(history[1]["drill"], second.as_str());
    assert!(!history[1]["evidence"].as_array().unwrap().is_empty());
    // The second drill's report says what it re-tested of the first's (it listed its own
    // findings alone: an official read two hazards where eleven were open).
    let (record, teams) = store.drill(&second).unwrap().unwrap();
    let r = icsdrill::governance::report::of_team(&store, &record, &teams[0], None).unwrap();
    let of = |id: &str| {
        r.retested.iter().find(|x| x.id == id).map(|x| (x.verdict.as_str(), x.first_drill.as_str()))
    };
    assert_eq!(of("range:plc-t101"), Some(("verified", first.as_str())), "{:?}", r.retested);
    assert_eq!(of("detect:overfill"), Some(("still_open", first.as_str())), "{:?}", r.retested);
    assert_eq!(r.retested[0].verdict, "verified", "fixed ones first");
    let md = String::from_utf8(report::render(&r, Format::Md, Lang::Zh).unwrap()).unwrap();
    assert!(md.contains("### 既往隐患复核") && md.contains("（range:plc-t101） | "), "{md}");
    assert!(md.contains("已复核整改：攻击路径再次执行，隐患未再出现"), "{md}");
    // The register on the command line: each finding with the drill and day that found it,
    // when it is due, and who owns the fix.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["findings", &second, "--data-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out.lines().find(|l| l.trim_start().starts_with("detect:overfill")).unwrap_or_default();
    assert!(
        line.contains(&format!("(found in {first} on "))
            && line.contains(", due ")
            && line.contains("; owner: "),
        "{out}"
    );
    let line = out.lines().find(|l| l.trim_start().starts_with("range:plc-t101")).unwrap_or_default();
    assert!(line.contains("verified") && !line.contains(", due "), "a closed finding is due no more: {out}");
    // The first drill's report re-tested nothing.
    let (record, teams) = store.drill(&first).unwrap().unwrap();
    let r = icsdrill::governance::report::of_team(&store, &record, &teams[0], None).unwrap();
    assert!(r.retested.is_empty(), "{:?}", r.retested);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A drill named after its scenario (the default name: the English title) is called by the
/// title in the report's language; a name of its own is kept in both.
#[test]
fn a_drill_named_after_its_scenario_is_titled_in_the_reports_language() {
    let s = builtin("petrochem-tank-farm");
    let sim = run(&s, 1, 60.0, &[]);
    let md = |name: &str, lang| {
        let r = report::build(&s, sim.events(), false, plain_context(name));
        String::from_utf8(report::render(&r, Format::Md, lang).unwrap()).unwrap()
    };
    assert!(md(&s.meta.title.en, Lang::Zh).contains("储罐区与进料反应器（t）"));
    assert!(md(&s.meta.title.en, Lang::En).contains("Tank farm and feed reactor (t)"));
    assert!(md("2026 区域演练", Lang::En).contains("2026 区域演练 (t)"));
}

/// A regional drill `t` of team `t`, named `drill_name`, with nothing else set.
fn plain_context(drill_name: &str) -> Context {
    Context {
        drill_id: "t".into(),
        drill_name: drill_name.into(),
        mode: icsdrill_drill::Mode::Regional,
        team_id: "t".into(),
        team_name: "t".into(),
        level: 3,
        date: "2026-11-26".parse().unwrap(),
        seed: 1,
        cover: report::Cover::default(),
        deadlines: None,
        end_tick: None,
        challenges: 0,
        planned_s: None,
    }
}

#[test]
fn an_unreported_step_the_drill_ended_soon_after_says_how_long_the_team_had() {
    // A detection finding used to say "not reported within 15 min of its first attempt" of a
    // step the drill ended two minutes after: the team had two minutes, and it says so.
    let s = builtin("petrochem-tank-farm");
    let full = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &[]);
    let first = full.events().iter().find(|e| matches!(e.kind, EventKind::AttackAttempt { .. })).unwrap();
    let end = first.tick + 2 * 60 * u64::from(s.tick_hz);
    let window = s.scoring.detect_window_ticks / u64::from(s.tick_hz) / 60;
    let detect = |found: Vec<icsdrill_judge::findings::Finding>| {
        found
            .into_iter()
            .find(|f| f.id.starts_with("detect:") && f.assessment.evidence.contains(&first.seq))
            .unwrap()
    };
    let deadlines = icsdrill_judge::findings::Deadlines::for_level(s.meta.level);
    let cut: Vec<_> = full.events().iter().filter(|e| e.tick <= end).cloned().collect();
    let early = detect(icsdrill_judge::findings::findings_until(&s, &cut, deadlines, (Some(end), true)));
    assert!(
        early.description.en.contains("in the 2 min the drill ran after its first attempt"),
        "{:?}",
        early.description
    );
    assert!(
        early.description.zh.contains("首次出现后演练进行的 2 分钟内未被报告"),
        "{:?}",
        early.description
    );
    assert!(!early.description.en.contains(&format!("within {window} min")), "{:?}", early.description);
    let whole = detect(findings(&s, full.events(), s.meta.level));
    assert!(
        whole.description.en.contains(&format!("within {window} min of its first attempt")),
        "{:?}",
        whole.description
    );
    assert_eq!(early.id, whole.id, "the same hazard, tracked under one id");
}

#[test]
fn a_findings_evidence_says_when_each_event_it_cites_happened() {
    // Bare log numbers sent a reader to a log the report does not hold; each now carries its
    // simulated second, to be found beside the timeline and in the capture.
    let s = builtin("petrochem-tank-farm");
    let sim = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &[]);
    let r = report::build(&s, sim.events(), false, plain_context("t"));
    let f = r.merged.iter().find(|f| f.assessment.evidence.len() > 1).expect("a finding with evidence");
    let md = |lang| String::from_utf8(report::render(&r, Format::Md, lang).unwrap()).unwrap();
    let (en, zh) = (md(Lang::En), md(Lang::Zh));
    for seq in f.assessment.evidence.iter().take(2) {
        let e = sim.events().iter().find(|e| e.seq == *seq).unwrap();
        let t = (e.tick as f64 / f64::from(s.tick_hz)).round();
        assert!(en.contains(&format!("{seq} (t {t} s)")), "{seq} at {t} s:\n{en}");
        assert!(zh.contains(&format!("{seq}（第 {t} 秒）")), "{seq} at {t} s:\n{zh}");
    }
    let html = String::from_utf8(report::render(&r, Format::Html, Lang::En).unwrap()).unwrap();
    assert!(html.contains(&format!("{} (t ", f.assessment.evidence[0])), "the HTML report too");
}

#[test]
fn a_conduit_finding_names_what_it_let_through_a_remote_session_or_modbus_requests() {
    // A remote login across a conduit was described as a source and function code the policy
    // allowed, with a Modbus allow-list for its fix.
    let s = builtin("petrochem-tank-farm");
    let sim = run(&s, 1, s.duration_ticks as f64 / f64::from(s.tick_hz), &[]);
    let found = findings(&s, sim.events(), s.meta.level);
    let ends =
        |t: &icsdrill_engine::scenario::Text, en: &str, zh: &str| t.en.ends_with(en) && t.zh.ends_with(zh);
    let pivot = found.iter().find(|f| f.id == "path:pivot-ews").expect("the pivot went through");
    let (en, zh) =
        ("its policy allows remote sessions from this source.", "该通道策略放行了来自此来源的远程会话。");
    assert!(ends(&pivot.description, en, zh), "{:?}", pivot.description);
    assert!(
        pivot.assessment.measure.en.contains("remote sessions (RDP, SSH, VNC)")
            && pivot.assessment.mitigations.contains(&"M0932")
    );
    let write = found.iter().find(|f| f.id.starts_with("path:") && !f.id.starts_with("path:pivot"));
    let write = write.expect("a Modbus step went through");
    let (en, zh) = ("its policy allows this source and function.", "该通道策略放行了此来源和功能码。");
    assert!(ends(&write.description, en, zh), "{:?}", write.description);
    assert!(write.assessment.measure.en.contains("FC allow-list"), "{:?}", write.assessment.measure);
}

#[test]
fn the_timeline_marks_a_step_the_white_cell_fired_by_hand() {
    let s = builtin("petrochem-tank-farm");
    let fire = |at: f64| icsdrill_engine::TimedInput {
        tick: s.ticks(at),
        input: icsdrill_engine::SimInput::Inject {
            channel: icsdrill_engine::input::InjectChannel::Step,
            text: String::new(),
            step: Some("deny-view".into()),
        },
    };
    // Fired twice: the second time the step is no longer pending, and the engine refuses it.
    // The overfill, fired at 20 s before the step it follows (the SIS bypass) has run, is
    // refused too, and still runs as scripted (it was used up: fired, it failed, the attacker
    // not there yet, and never ran).
    let overfill = icsdrill_engine::TimedInput {
        tick: s.ticks(20.0),
        input: icsdrill_engine::SimInput::Inject {
            channel: icsdrill_engine::input::InjectChannel::Step,
            text: String::new(),
            step: Some("overfill".into()),
        },
    };
    let sim = run(&s, 1, 400.0, &[overfill, fire(100.0), fire(120.0)]);
    let r = report::build(&s, sim.events(), false, plain_context("t"));
    let lines: Vec<_> = r.timeline.iter().filter(|l| l.who == "white_cell").collect();
    let [early, line, again] = lines[..] else { panic!("three white cell lines: {lines:?}") };
    assert!(
        early.what.en.ends_with("by hand (refused: the step it follows has not finished yet)"),
        "{early:?}"
    );
    assert!(early.what.zh.ends_with("（未执行：其前置攻击步骤尚未完成）"), "{early:?}");
    let overfill_ran = sim.events().iter().any(|e| {
        matches!(&e.kind, icsdrill_engine::EventKind::AttackAttempt { step, ok: true, .. } if step == "overfill")
    });
    assert!(overfill_ran, "the overfill ran as scripted");
    assert_eq!(line.t_s, 100.0);
    assert_eq!(
        line.what.en,
        "Fired the attack step “Flood the T-101 PLC so the operators lose view as the tank tops out” by hand"
    );
    assert!(line.what.zh.starts_with("手动触发攻击步骤“液位接近罐顶时泛洪攻击"), "{:?}", line.what);
    assert_eq!(again.t_s, 120.0);
    assert!(
        again.what.en.ends_with("by hand (refused: not pending: it has fired already)"),
        "{:?}",
        again.what
    );
    assert!(again.what.zh.ends_with("（未执行：该步骤已触发，不在待触发状态）"), "{:?}", again.what);
}

/// A hazard the team closed in the live plant during the drill, and left closed, is reported
/// as contained, when and how, though it stays open for rectification (a report listed range
/// checks turned on at t = 534 s as a plain open hazard). A path is contained only where every
/// host it came from was cut off.
#[test]
fn a_hazard_the_team_contained_in_the_drill_says_when_and_how() {
    use icsdrill_engine::{SimInput, TimedInput};
    let s = builtin("petrochem-tank-farm");
    let at = |t: f64, input| TimedInput { tick: s.ticks(t), input };
    let inputs = [
        at(534.0, SimInput::EnableRangeChecks { plc: "plc-t101".into() }),
        at(600.0, SimInput::IsolateHost { host: "ews-01".into() }),
    ];
    let sim = run(&s, 1, 900.0, &inputs);
    let applied = |kind: &str| {
        sim.events()
            .iter()
            .find(|e| matches!(&e.kind, EventKind::InputApplied { input } if input.defender_kind() == Some(kind)))
            .map(|e| e.seq)
            .unwrap()
    };
    let r = report::build(&s, sim.events(), true, plain_context("t"));
    let range = r.findings.iter().find(|f| f.id == "range:plc-t101").expect("the breach");
    let c = range.assessment.contained.as_ref().expect("contained");
    assert_eq!((c.seq, c.at_s), (applied("enable_range_checks"), 534.0));
    assert_eq!(c.how.en, "set-point range checks turned on in T-101 tank PLC");
    assert_eq!(range.assessment.status, icsdrill_judge::findings::Status::Open, "still to rectify");
    // The workstation the attack wrote from isolated: its paths to the PLCs are contained, and
    // so is the remote session into it. The session into the DMZ historian came from the IT
    // network, which still reaches it: open, nothing said.
    let contained = |id: &str| r.findings.iter().find(|f| f.id == id).unwrap().assessment.contained.clone();
    for id in ["path:overfill", "path:pivot-ews"] {
        let c = contained(id).expect(id);
        assert_eq!(
            (c.seq, c.at_s, c.how.en.as_str()),
            (applied("isolate_host"), 600.0, "Engineering workstation isolated from the network"),
            "{id}"
        );
    }
    assert_eq!(contained("path:pivot-dmz"), None);
    // The report says so, in both languages, beside the status; an item of merged findings
    // only when each of them was contained.
    let md = |lang| String::from_utf8(report::render(&r, Format::Md, lang).unwrap()).unwrap();
    let (en, zh) = (md(Lang::En), md(Lang::Zh));
    let seq = applied("enable_range_checks");
    assert!(en.contains(&format!("open; contained during the drill at t 534 s: set-point range checks turned on in T-101 tank PLC (entry {seq})")), "{en}");
    assert!(
        zh.contains(&format!(
            "未整改；演练中已于第 534 秒临时控制：已在 T-101 储罐 PLC 中启用设定值范围检查（日志序号 {seq}）"
        )),
        "{zh}"
    );
    let conduit = r.merged.iter().find(|m| m.ids.contains(&"path:overfill".to_string())).unwrap();
    assert!(conduit.assessment.contained.is_some(), "{:?}", conduit.ids);
    let html = String::from_utf8(report::render(&r, Format::Html, Lang::En).unwrap()).unwrap();
    assert!(html.contains("contained during the drill at t 534 s"), "the HTML report too");
}

/// A live attacker knows only the answer it got: an exception 3 from the PLC's own range check
/// read to it as the firewall's. The timeline says why the log says it was refused (it blamed
/// a firewall the team never set).
#[test]
fn the_timeline_says_why_a_live_attack_step_was_refused_as_the_log_knows_it() {
    use icsdrill_engine::{RejectReason, SimInput, TimedInput};
    let s = builtin("petrochem-tank-farm");
    let checks =
        TimedInput { tick: s.ticks(100.0), input: SimInput::EnableRangeChecks { plc: "plc-t101".into() } };
    let mut events = run(&s, 1, 900.0, &[checks]).events().to_vec();
    let at = events
        .iter()
        .position(
            |e| matches!(&e.kind, EventKind::AttackAttempt { step, ok: false, .. } if step == "overfill"),
        )
        .expect("the overfill write refused");
    let EventKind::AttackAttempt { host, reason, .. } = &mut events[at].kind else { unreachable!() };
    assert_eq!(*reason, Some(RejectReason::OutOfRange));
    // As the live attacker reports it, after the endpoint logged its request.
    *reason = Some(RejectReason::ValueNotAllowed);
    let request = icsdrill_engine::input::ModbusTransaction {
        plc: "plc-t101".into(),
        source: host.clone(),
        function: 6,
        addr: 0,
        count: 1,
        values: vec![1200],
        exception: Some(3),
        reason: Some(RejectReason::OutOfRange),
        unit: None,
        repeat: 1,
    };
    let tick = events[at].tick;
    events
        .insert(at, icsdrill_engine::SimEvent { seq: 0, tick, kind: EventKind::ModbusTransaction(request) });
    for (i, e) in events.iter_mut().enumerate() {
        e.seq = i as u64;
    }
    let r = report::build(&s, &events, false, plain_context("t"));
    let line = r.timeline.iter().find(|l| l.seq == at as u64 + 1).expect("the attempt's line");
    assert!(line.what.en.ends_with("blocked (outside the set-point range)"), "{:?}", line.what);
    assert!(line.what.zh.ends_with("被阻断（超出设定值范围）"), "{:?}", line.what);
}

/// A response-plan step done by several actions is done when the last of them is, and by the
/// actions it names, on what it names: a notice to the duty officer alone does not tell the
/// plant manager, blocking the office PC is not blocking the workstation, and an isolation
/// without the block is half the step (each counted it done). Restoring another PLC's set
/// points would not restore T-101's, and restoring T-101's leaves the step half done while the
/// attacker's bypass is on. A notice to the authority reports the incident to it.
#[test]
fn a_plan_step_is_done_by_every_action_it_names_on_what_it_names() {
    use icsdrill_engine::{SimInput, TimedInput};
    let s = builtin("petrochem-tank-farm");
    let at = |t: f64, input| TimedInput { tick: s.ticks(t), input };
    let notify = |to: &str| SimInput::Notify { to: to.into(), text: "intrusion".into() };
    let inputs = [
        at(200.0, notify("duty_officer")),
        at(210.0, SimInput::BlockSource { conduit: "c-ent-dmz".into(), host: "it-ws-01".into() }),
        at(220.0, SimInput::IsolateHost { host: "ews-01".into() }),
        at(230.0, SimInput::RestoreSetpoints { plc: "plc-t101".into() }),
        at(300.0, notify("management")),
        at(320.0, notify("authority")),
    ];
    let sim = run(&s, 1, 1000.0, &inputs);
    let r = report::build(&s, sim.events(), true, plain_context("t"));
    let step = |id: &str| r.response_plan.iter().find(|p| p.id == id).unwrap().clone();
    assert_eq!(step("notify").done_s, Some(300.0), "told both once the manager was");
    assert_eq!(step("isolate").done_s, None, "isolated, never blocked on the control conduit");
    assert_eq!(step("restore").done_s, None, "T-101's set points restored, its bypass left on");
    assert_eq!(step("report").done_s, Some(320.0));
    // Each scenario's plan names actions on what its plant has.
    for b in icsdrill_scenarios::LIBRARY {
        let s = builtin(b.id);
        for p in &s.scoring.response_plan {
            for entry in &p.done_by {
                let Some((kind, target)) = entry.split_once(':') else { continue };
                let known = |id: &str| {
                    s.host(id).is_some() || s.plc(id).is_some() || s.conduits.iter().any(|c| c.id == id)
                };
                let ok = match kind {
                    "notify" => ["duty_officer", "management", "authority"].contains(&target),
                    "bypass_off" => s.interlocks.iter().any(|i| i.id == target && i.bypass.is_some()),
                    _ => target.split('/').all(known),
                };
                assert!(ok, "{}: {} names `{entry}`", s.id, p.id);
            }
        }
    }
}

/// An interlock the attack's program download left out of the safety PLC trips nothing when
/// its condition comes, as a bypassed one: the demand is logged (`interlock_defeated`) and the
/// drill earns nothing for trips avoided (an idle team got full marks while the reactor's
/// pressure went to its relief valve).
#[test]
fn an_interlock_a_download_removed_is_demanded_all_the_same() {
    let s = builtin("petrochem-tank-farm");
    let sim = run(&s, 1, 1200.0, &[]);
    let downloaded = sim
        .events()
        .iter()
        .position(|e| matches!(&e.kind, EventKind::ProgramChanged { matches_backup: false, .. }))
        .expect("the attack downloads a program");
    let defeated: Vec<&icsdrill_engine::SimEvent> = sim
        .events()
        .iter()
        .skip(downloaded)
        .filter(|e| matches!(&e.kind, EventKind::InterlockDefeated { .. }))
        .collect();
    assert!(!defeated.is_empty(), "the removed trip's demand is logged");
    let card = icsdrill_judge::score::Scorer::score_log(&s, false, sim.events());
    let trip = card.components.iter().find(|c| c.key == "trip_avoided").unwrap();
    assert_eq!(trip.points, 0.0, "{trip:?}");
}

/// The attacker's bypass of the tank's high-high interlock, never taken off, is a hazard of
/// its own (the interlock trips nothing until it is); taken off during the drill, it is not.
#[test]
fn an_interlock_left_bypassed_at_the_end_is_a_finding_and_one_taken_off_is_not() {
    let s = builtin("petrochem-tank-farm");
    let idle = run(&s, 1, 1200.0, &[]);
    let set = idle
        .events()
        .iter()
        .find(|e| matches!(&e.kind, EventKind::InterlockBypass { on: true, .. }))
        .expect("the attack sets a bypass");
    let found = findings(&s, idle.events(), 3);
    let f = found.iter().find(|f| f.id.starts_with("safety:bypass:")).expect("a finding for it");
    assert!(f.assessment.evidence.contains(&set.seq), "{f:?}");
    assert_eq!(f.assessment.assets, ["sis-01"]);
    assert!(f.retest.contains(&"bypass-sis".to_string()), "{:?}", f.retest);
    assert!(f.title.zh.contains("旁路未解除") && f.title.en.contains("left bypassed"), "{:?}", f.title);
    // Taken off a minute after it was set.
    let clear = TimedInput { tick: set.tick + 600, input: SimInput::ClearBypasses { plc: "sis-01".into() } };
    let cleared = run(&s, 1, 1200.0, &[clear]);
    let last = cleared.events().iter().rev().find_map(|e| match &e.kind {
        EventKind::InterlockBypass { on, .. } => Some(*on),
        _ => None,
    });
    assert_eq!(last, Some(false), "the bypass came off and stayed off");
    let after = findings(&s, cleared.events(), 3);
    assert!(
        !after.iter().any(|f| f.id.starts_with("safety:bypass:")),
        "{:?}",
        after.iter().map(|f| &f.id).collect::<Vec<_>>()
    );
}

/// The tank farm's restore step takes the attacker's bypass off as well as T-101's set points
/// back, and the bypass counts however it comes off: written off from the operator station
/// (as the hint says, and as operators do) or by `clear_bypasses`. Either way the step is done
/// when the later of the two is; a write that leaves the bypass on does nothing for it.
#[test]
fn a_bypass_taken_off_from_the_hmi_or_by_the_action_carries_out_the_restore_step() {
    use icsdrill_engine::scenario::PlanStep;
    let s = builtin("petrochem-tank-farm");
    let plan = &s.scoring.response_plan.iter().find(|p| p.id == "restore").unwrap();
    assert!(plan.all && plan.done_by.contains(&"bypass_off:il-101".to_string()), "{plan:?}");
    let idle = run(&s, 1, 1200.0, &[]);
    let set = idle
        .events()
        .iter()
        .find(|e| matches!(&e.kind, EventKind::InterlockBypass { on: true, .. }))
        .expect("the attack sets the bypass")
        .tick;
    let restore =
        TimedInput { tick: set + 300, input: SimInput::RestoreSetpoints { plc: "plc-t101".into() } };
    let restore_s = s.seconds(set + 300);
    let done = |clear: SimInput| {
        let sim = run(&s, 1, 1200.0, &[restore.clone(), TimedInput { tick: set + 600, input: clear }]);
        let off = sim.events().iter().find(|e| {
            e.tick > set && matches!(&e.kind, EventKind::InterlockBypass { interlock, on: false, .. } if interlock == "il-101")
        });
        let r = report::build(&s, sim.events(), true, plain_context("t"));
        let step = r.response_plan.iter().find(|p| p.id == "restore").unwrap().clone();
        // The plan finding's evidence names the bypass coming off.
        let f = findings(&s, sim.events(), 3);
        let late = f.iter().find(|f| f.id == "plan:restore");
        (off.map(|e| (e.tick, e.seq)), step, late.map(|f| f.assessment.evidence.clone()))
    };
    let hmi = done(SimInput::write_coils("sis-01", "hmi-01", 0, vec![false]));
    let action = done(SimInput::ClearBypasses { plc: "sis-01".into() });
    for (how, (off, step, evidence)) in [("from hmi-01", hmi), ("by clear_bypasses", action)] {
        let (tick, seq) = off.unwrap_or_else(|| panic!("{how}: the bypass came off"));
        assert!(tick >= set + 600, "{how}: {tick}");
        assert_eq!(
            step.done_s,
            Some(s.seconds(tick)),
            "{how}: done when the bypass came off, not at {restore_s}"
        );
        if let Some(evidence) = evidence {
            assert!(evidence.contains(&seq), "{how}: the late step's evidence names it: {evidence:?}");
        }
    }
    // A write of another coil (IL-102's bypass, already off) leaves the step undone.
    let other = done(SimInput::write_coils("sis-01", "hmi-01", 1, vec![false]));
    assert_eq!(other.0, None);
    assert_eq!(other.1.done_s, None, "{:?}", other.1);
    // The entry is matched on the event alone, whoever wrote the coil.
    let off = EventKind::InterlockBypass { plc: "sis-01".into(), interlock: "il-101".into(), on: false };
    assert!(PlanStep::done_by_event("bypass_off:il-101", &off));
    assert!(!PlanStep::done_by_event("bypass_off:il-102", &off));
    let on = EventKind::InterlockBypass { plc: "sis-01".into(), interlock: "il-101".into(), on: true };
    assert!(!PlanStep::done_by_event("bypass_off:il-101", &on));
}

/// A hint the white cell reveals to a team costs the team as one it takes, and the timeline
/// says who revealed it (it said the team took it).
#[test]
fn the_timeline_tells_a_hint_the_white_cell_revealed_from_one_the_team_took() {
    let s = builtin("petrochem-tank-farm");
    let at = |t: f64, input| TimedInput { tick: s.ticks(t), input };
    let inputs = [
        at(100.0, SimInput::RevealHint { hint: "h1".into(), white_cell: true }),
        at(120.0, SimInput::RevealHint { hint: "h2".into(), white_cell: false }),
    ];
    let sim = run(&s, 1, 300.0, &inputs);
    let r = report::build(&s, sim.events(), true, plain_context("t"));
    let line = |hint: &str| {
        r.timeline.iter().find(|l| l.what.en.contains(&format!("hint {hint}"))).expect(hint).clone()
    };
    let (white, team) = (line("h1"), line("h2"));
    assert_eq!((white.who, white.what.zh.as_str()), ("white_cell", "向队伍发放提示 h1（扣分计入该队）"));
    assert_eq!((team.who, team.what.en.as_str()), ("team", "Took hint h2"));
    let hints = r.score.components.iter().find(|c| c.key == "hints").unwrap();
    assert_eq!(hints.points, -60.0, "both cost the team: {hints:?}");
    // A team's own hint is logged as before (no `white_cell` field), so older logs replay.
    let logged = serde_json::to_string(&inputs[1].input).unwrap();
    assert!(!logged.contains("white_cell"), "{logged}");
}

/// A drill that does not judge its teams on the response plan (a regional drill, a contest,
/// an exam) has every other finding of the same log: detection, the bypass left set.
#[test]
fn a_drill_not_judged_on_the_plan_has_every_other_finding() {
    let s = builtin("petrochem-tank-farm");
    let idle = run(&s, 1, 1200.0, &[]);
    let deadlines = icsdrill_judge::findings::Deadlines::for_level(3);
    let ids = |plan: bool| -> Vec<String> {
        icsdrill_judge::findings::findings_until(&s, idle.events(), deadlines, (None, plan))
            .into_iter()
            .map(|f| f.id)
            .collect()
    };
    let (with_plan, without) = (ids(true), ids(false));
    assert!(with_plan.iter().any(|id| id.starts_with("plan:")), "{with_plan:?}");
    let others: Vec<&String> = with_plan.iter().filter(|id| !id.starts_with("plan:")).collect();
    assert_eq!(without.iter().collect::<Vec<_>>(), others);
    for kind in ["detect:", "safety:bypass:"] {
        assert!(without.iter().any(|id| id.starts_with(kind)), "{kind}: {without:?}");
    }
}
