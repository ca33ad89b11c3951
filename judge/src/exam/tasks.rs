//! Each exam task's share of its points, from the facts of the log and the score card.

use icsdrill_engine::event::SimEvent;
use icsdrill_engine::scenario::{Scenario, Text};

use super::facts::Facts;
use crate::score::ScoreCard;

/// A task as checked, before the safety gate.
pub(super) struct Checked {
    pub(super) id: &'static str,
    pub(super) area: &'static str,
    pub(super) max: f64,
    /// Share of `max` earned (clamped to 0..=1 later).
    pub(super) share: f64,
    pub(super) detail: Text,
    /// Failed whole by the safety gate.
    pub(super) gated: bool,
}

fn task(
    id: &'static str,
    area: &'static str,
    max: f64,
    share: f64,
    (detail, detail_zh): (String, String),
    gated: bool,
) -> Checked {
    Checked { id, area, max, share, detail: Text::new(detail, detail_zh), gated }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 1.0 } else { part as f64 / whole as f64 }
}

/// The tasks only an attack can set: what it wrote to harden against, its steps to detect,
/// the PLCs it changed to restore, the damage it could do.
const FACING_THE_ATTACK: [&str; 4] = ["validate-writes", "detect", "restore", "safe"];

/// Every task, in the order of `TASKS`. An exam that ended before the attack began (the white
/// cell ended it early) earns nothing for the tasks only the attack sets: none of them was
/// done (they earned full marks, "0 of 0 fired steps", and a trainee could pass without
/// facing the attack).
pub(super) fn all(s: &Scenario, events: &[SimEvent], f: &Facts, card: &ScoreCard) -> Vec<Checked> {
    let mut out = Vec::from(architecture(f));
    out.extend(implementation(f));
    out.push(detect(card));
    out.push(hazards(s, events, f));
    out.extend(response(f, card));
    if card.steps_fired == 0 {
        for t in out.iter_mut().filter(|t| FACING_THE_ATTACK.contains(&t.id)) {
            t.share = 0.0;
            t.detail = Text::new(
                "the attack never began before the exam ended: nothing to earn here",
                "考核结束前攻击尚未开始：本项无从得分",
            );
        }
    }
    out
}

fn architecture(f: &Facts) -> [Checked; 2] {
    let cut = f.first_contain.is_some() && f.blocked_after > 0 && f.impact_after == 0;
    [
        task(
            "cut-path",
            "architecture",
            20.0,
            if cut {
                1.0
            } else if f.blocked_after > 0 {
                0.5
            } else {
                0.0
            },
            (
                format!(
                    "{} attack attempts blocked by the network after the first containment, {} still got through",
                    f.blocked_after, f.impact_after
                ),
                format!("首次遏制后网络阻断攻击尝试 {} 次，仍有 {} 次得手", f.blocked_after, f.impact_after),
            ),
            false,
        ),
        task(
            "protect-sis",
            "architecture",
            10.0,
            if f.first_contain.is_some() && f.safety_hits_after == 0 { 1.0 } else { 0.0 },
            (
                format!("{} attack writes reached a safety PLC after containment", f.safety_hits_after),
                format!("遏制后仍有 {} 次攻击写入到达安全 PLC", f.safety_hits_after),
            ),
            false,
        ),
    ]
}

fn implementation(f: &Facts) -> [Checked; 2] {
    let hardened =
        f.attacked_writes.iter().filter(|p| f.range_checked.contains(p) || f.restricted.contains(p)).count();
    [
        task(
            "validate-writes",
            "implementation",
            15.0,
            ratio(hardened, f.attacked_writes.len()),
            (
                format!("{hardened} of {} attacked PLCs hardened", f.attacked_writes.len()),
                format!("{} 台被攻击 PLC 中 {hardened} 台已加固", f.attacked_writes.len()),
            ),
            true,
        ),
        task(
            "allow-list",
            "implementation",
            5.0,
            if f.allow_listed { 1.0 } else { 0.0 },
            if f.allow_listed {
                ("allow-list applied".into(), "已配置白名单".into())
            } else {
                ("no allow-list".into(), "未配置白名单".into())
            },
            true,
        ),
    ]
}

fn detect(card: &ScoreCard) -> Checked {
    task(
        "detect",
        "operations",
        20.0,
        // None fired: nothing detected (`all` says why).
        if card.steps_fired == 0 {
            0.0
        } else {
            (card.steps_detected as f64 / card.steps_fired as f64 * 2.0).min(1.0)
        },
        (
            format!(
                "{} of {} fired steps reported with technique and asset (half of them earns full marks)",
                card.steps_detected, card.steps_fired
            ),
            format!(
                "已发动的 {} 个攻击步骤中 {} 个报告了正确的技术和资产（报告一半即得满分）",
                card.steps_fired, card.steps_detected
            ),
        ),
        false,
    )
}

/// Assessment: the hazards this run exposed, plus what the plant has by design, each cause
/// once: a trainee declares a finding's id or its cause (`conduit:c-sup-ctl`: the conduit whose
/// policy let the attack through, one fix for every path through it), both of which name
/// only what the plant shows (a path's own id names an attack step, which no trainee sees).
fn hazards(s: &Scenario, events: &[SimEvent], f: &Facts) -> Checked {
    let mut causes: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |cause: String, id: String| match causes.iter_mut().find(|(c, _)| *c == cause) {
        Some((_, ids)) => ids.push(id),
        None => causes.push((cause, vec![id])),
    };
    for found in crate::findings::findings(s, events, s.meta.level) {
        if !["detect:", "plan:", "alarm:"].iter().any(|k| found.id.starts_with(k)) {
            add(found.cause, found.id);
        }
    }
    for p in &s.plcs {
        let id = format!("range:{}", p.id);
        if !p.range_checks && f.planned_writes.contains(&p.id) {
            add(id.clone(), id);
        }
    }
    // A remote session's cause is its conduit's too (`conduit:c-dmz-sup:remote`).
    let names = |d: &str, (cause, ids): &(String, Vec<String>)| {
        d == cause || ids.iter().any(|i| i == d) || cause.strip_suffix(":remote") == Some(d)
    };
    let right = causes.iter().filter(|c| f.declared.iter().any(|d| names(d, c))).count();
    let wrong = f.declared.iter().filter(|d| !causes.iter().any(|c| names(d, c))).count();
    let need = causes.len().clamp(1, 3);
    task(
        "hazards",
        "assessment",
        15.0,
        (right as f64 - 0.5 * wrong as f64) / need as f64,
        (
            format!("{right} correct, {wrong} wrong of {} exposed ({need} earn full marks)", causes.len()),
            format!(
                "暴露的 {} 项隐患中申报正确 {right} 项、错误 {wrong} 项（正确 {need} 项即得满分）",
                causes.len()
            ),
        ),
        false,
    )
}

fn response(f: &Facts, card: &ScoreCard) -> [Checked; 3] {
    let restored_ok = f.effect_plcs.iter().filter(|p| f.restored(p)).count();
    let quality = card
        .components
        .iter()
        .find(|c| c.key == "report_quality")
        .map_or(0.0, |c| if c.max > 0.0 { c.points / c.max } else { 0.0 });
    [
        task(
            "restore",
            "response",
            10.0,
            ratio(restored_ok, f.effect_plcs.len()),
            (
                format!("{restored_ok} of {} changed PLCs restored", f.effect_plcs.len()),
                format!("{} 台被改动的 PLC 中 {restored_ok} 台已恢复", f.effect_plcs.len()),
            ),
            true,
        ),
        task(
            "report",
            "response",
            5.0,
            if card.steps_detected > 0 { quality } else { 0.0 },
            (format!("report quality {:.0} %", quality * 100.0), format!("报告质量 {:.0}%", quality * 100.0)),
            false,
        ),
        task(
            "safe",
            "response",
            10.0,
            if f.damage { 0.0 } else { 1.0 },
            if f.damage {
                ("equipment was damaged".into(), "设备已损坏".into())
            } else {
                ("no damage".into(), "无设备损坏".into())
            },
            true,
        ),
    ]
}
