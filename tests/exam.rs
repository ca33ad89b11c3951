//! Certification exams: per-trainee variants differ yet carry the same tasks and checks; a
//! scripted exam passes, the same exam with a trainee-made loss of safety fails the gate; the
//! signed certificate verifies, and a tampered one does not.

use icsdrill_engine::exam::{self, PassRule, VariantMap};
use icsdrill_engine::{EventKind, SimInput, TimedInput, parse_inputs};

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
            SimInput::ReportIncident { tactic, impact, actions, .. } => {
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
            Action::Read { plc, .. }
            | Action::WriteRegisters { plc, .. }
            | Action::WriteCoils { plc, .. }
            | Action::SetMode { plc, .. }
            | Action::Restart { plc }
            | Action::Download { plc, .. }
            | Action::Spoof { plc, .. }
            | Action::ListenOnly { plc }
            | Action::Flood { plc, .. } => base.plcs[plc.ix()].id.clone(),
        };
        if let Action::WriteRegisters { plc, .. } | Action::WriteCoils { plc, .. } = &st.action {
            let plc = base.plcs[plc.ix()].id.clone();
            inputs.push(TimedInput { tick: 2455, input: SimInput::RestoreSetpoints { plc: plc.clone() } });
            inputs.push(TimedInput { tick: 2465, input: SimInput::EnableRangeChecks { plc } });
        }
        if k < 6 {
            inputs.push(TimedInput {
                tick: 2610 + k as u64,
                input: SimInput::ReportIncident {
                    technique: st.techniques[0].v18.into(),
                    asset,
                    observed_s: Some(240.0),
                    text: st.name.en.clone(),
                    tactic: Some(st.techniques[0].tactic.into()),
                    impact: "see the step".into(),
                    actions: "contained".into(),
                },
            });
        }
    }
    inputs.sort_by_key(|i| i.tick);
    inputs
}

#[test]
fn variants_differ_but_carry_the_same_tasks_and_checks() {
    let base = builtin("petrochem-tank-farm");
    let (a, ma) = exam::variant(&base, 11);
    let (b, mb) = exam::variant(&base, 12);
    assert_eq!(exam::variant(&base, 11).1, ma, "a seed always gives the same variant");
    assert_ne!(ma.hosts, mb.hosts, "host names differ");
    assert_ne!(ma.holding_offsets, mb.holding_offsets, "register addresses differ");
    assert!(ma.attack_delay_s != mb.attack_delay_s || ma.value_factor != mb.value_factor, "{ma:?} {mb:?}");
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
fn a_trainee_made_loss_of_safety_fails_the_gate() {
    let base = builtin("petrochem-tank-farm");
    let (s, map) = exam::variant(&base, 21);
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
    assert!(g.safety_violation.as_deref().is_some_and(|v| v.contains("bypass")), "{g:#?}");
    assert!(
        g.tasks.iter().filter(|t| t.gated).all(|t| t.points == 0.0 && t.detail.starts_with("safety gate"))
    );
    assert!(g.tasks.iter().any(|t| t.gated));
    // The non-gated tasks keep their marks.
    assert!(g.tasks.iter().find(|t| t.id == "detect").unwrap().points > 0.0, "{g:#?}");
}
