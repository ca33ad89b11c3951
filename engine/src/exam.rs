//! Certification exams: one trainee, one range, a task list spanning the five skill areas of
//! an industrial-security engineer, each task checked from the event log alone; and the
//! per-trainee variant of a scenario.
//!
//! The task list is the same for every scenario and every trainee (it is drawn from what the
//! scenario has: its conduits, the PLCs its attack writes, its hidden hazards), so two
//! trainees' variants are equally hard by construction. The **variant** renames hosts, moves
//! each PLC's holding registers to another base address, shifts the attack's timing, scales
//! the values it writes (keeping out-of-range values out of range) and, for half the seeds,
//! starts the attack from a second office machine beside the foothold (same zone, same
//! conduit policies): answers cannot be shared, the checks are the same.
//!
//! The **safety gate**: a trainee whose own actions cause damage or a loss of safety (setting
//! an interlock bypass, stopping or restarting a PLC shortly before a trip or damage) fails the
//! gated tasks whatever else they did.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::attack::Action;
use crate::event::{EventKind, RejectReason, SimEvent};
use crate::input::{PlcMode, SimInput};
use crate::scenario::{Scenario, Table, Text};

/// The five skill areas.
pub const AREAS: [&str; 5] = ["architecture", "implementation", "operations", "assessment", "response"];

/// Every task, by id, with its skill area.
pub const TASKS: [(&str, &str); 9] = [
    ("cut-path", "architecture"),
    ("protect-sis", "architecture"),
    ("validate-writes", "implementation"),
    ("allow-list", "implementation"),
    ("detect", "operations"),
    ("hazards", "assessment"),
    ("restore", "response"),
    ("report", "response"),
    ("safe", "response"),
];

/// A scenario's exam section (`exam:`; every part has a default).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExamSpec {
    /// Task ids set for the exam, covering all five areas.
    pub tasks: Vec<String>,
    /// The pass rule.
    pub pass: PassRule,
    /// Time limit in ticks (default: the scenario's duration).
    pub time_limit_ticks: Option<u64>,
}

impl Default for ExamSpec {
    fn default() -> ExamSpec {
        ExamSpec {
            tasks: TASKS.iter().map(|(t, _)| (*t).to_string()).collect(),
            pass: PassRule::default(),
            time_limit_ticks: None,
        }
    }
}

/// The pass rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassRule {
    /// Least share of all points.
    pub overall: f64,
    /// Least share of each area's points.
    pub per_area: f64,
}

impl Default for PassRule {
    fn default() -> PassRule {
        PassRule { overall: 0.6, per_area: 0.5 }
    }
}

/// One task's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskResult {
    /// Task id.
    pub id: &'static str,
    /// Skill area.
    pub area: &'static str,
    /// What the trainee had to do.
    pub title: Text,
    /// Points earned.
    pub points: f64,
    /// Most points.
    pub max: f64,
    /// Why.
    pub detail: String,
    /// Failed by the safety gate.
    pub gated: bool,
}

/// An area's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaScore {
    /// Area.
    pub area: &'static str,
    /// Points.
    pub points: f64,
    /// Most points.
    pub max: f64,
}

/// An exam's grade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grade {
    /// Tasks.
    pub tasks: Vec<TaskResult>,
    /// By area.
    pub areas: Vec<AreaScore>,
    /// Total points.
    pub total: f64,
    /// Most points.
    pub max: f64,
    /// Passed the rule and the safety gate.
    pub passed: bool,
    /// What the trainee's own actions did to safety, if anything.
    pub safety_violation: Option<String>,
}

fn t(en: &str, zh: &str) -> Text {
    Text { en: en.into(), zh: zh.into() }
}

/// Reasons a blocked attempt was stopped by a defender's network action.
const BLOCKED_BY_NETWORK: [RejectReason; 6] = [
    RejectReason::SourceNotAllowed,
    RejectReason::FunctionNotAllowed,
    RejectReason::AddressNotAllowed,
    RejectReason::ValueNotAllowed,
    RejectReason::HostIsolated,
    RejectReason::NoRoute,
];

/// The trainee's harm to safety: an interlock bypass set by the trainee, or a PLC the trainee
/// stopped or restarted shortly before a trip or damage.
fn safety_violation(s: &Scenario, events: &[SimEvent], attacker_hosts: &[String]) -> Option<String> {
    let window = 120 * u64::from(s.tick_hz);
    let mut risky: Vec<(u64, String)> = Vec::new();
    for e in events {
        match &e.kind {
            EventKind::ModbusTransaction {
                plc,
                source,
                function: 5 | 15,
                addr,
                values,
                exception: None,
                reason: None,
                ..
            } if !attacker_hosts.contains(source) => {
                let Some(p) = s.plc(plc) else { continue };
                let def = &s.plcs[p.ix()];
                for (i, v) in values.iter().enumerate() {
                    let a = addr.wrapping_add(i as u16);
                    let bypass = s.interlocks.iter().any(|il| {
                        il.bypass.is_some_and(|b| def.coils.get(b.ix()).is_some_and(|c| c.addr == a))
                            && il.plc.ix() == p.ix()
                    });
                    if bypass && *v != 0 {
                        return Some(format!("set the interlock bypass coil {a} of {plc} (loss of safety)"));
                    }
                }
            }
            EventKind::InputApplied { input: SimInput::RestartPlc { plc } } => {
                risky.push((e.tick, format!("restarted {plc}")))
            }
            EventKind::InputApplied { input: SimInput::SetMode { plc, mode } } if *mode != PlcMode::Run => {
                risky.push((e.tick, format!("stopped {plc}")))
            }
            EventKind::Damage { var, .. } => {
                if let Some((_, what)) =
                    risky.iter().rev().find(|(t, _)| e.tick >= *t && e.tick - *t <= window)
                {
                    return Some(format!("{what} shortly before damage to {var}"));
                }
            }
            EventKind::InterlockTripped { interlock, .. } => {
                if let Some((_, what)) =
                    risky.iter().rev().find(|(t, _)| e.tick >= *t && e.tick - *t <= window)
                {
                    return Some(format!("{what} shortly before interlock {interlock} tripped"));
                }
            }
            _ => {}
        }
    }
    None
}

/// Grades an exam from its log.
pub fn grade(s: &Scenario, events: &[SimEvent], rule: PassRule) -> Grade {
    grade_at(s, events, rule, events.last().map_or(0, |e| e.tick))
}

/// `grade` of a log that ends at tick `end` (the judged events of a log are enough: see
/// `EventKind::judged`).
pub fn grade_at(s: &Scenario, events: &[SimEvent], rule: PassRule, end: u64) -> Grade {
    let steps = s.attack.as_ref().map(|p| p.steps.as_slice()).unwrap_or_default();
    let mut attacker_hosts: Vec<String> = Vec::new();
    let mut first_contain: Option<u64> = None;
    let mut blocked_after = 0;
    let mut impact_after = 0;
    let mut safety_hits_after = 0;
    let mut attacked_writes: Vec<String> = Vec::new();
    let mut effect_plcs: Vec<String> = Vec::new();
    let mut range_checked: Vec<String> = Vec::new();
    let mut restricted: Vec<String> = Vec::new();
    let mut allow_listed = false;
    let mut restored: Vec<String> = Vec::new();
    let mut declared: Vec<String> = Vec::new();
    let mut damage = false;
    for st in steps {
        if let Action::WriteRegisters { plc, .. }
        | Action::WriteCoils { plc, .. }
        | Action::Download { plc, .. } = &st.action
        {
            let id = s.plcs[plc.ix()].id.clone();
            if !attacked_writes.contains(&id) {
                attacked_writes.push(id);
            }
        }
    }
    for e in events {
        match &e.kind {
            EventKind::AttackAttempt { step, host, ok, reason, .. } => {
                if !attacker_hosts.contains(host) {
                    attacker_hosts.push(host.clone());
                }
                let st = steps.iter().find(|x| x.id == *step);
                let target = st.and_then(|st| match &st.action {
                    Action::WriteRegisters { plc, .. }
                    | Action::WriteCoils { plc, .. }
                    | Action::Download { plc, .. }
                    | Action::SetMode { plc, .. }
                    | Action::Restart { plc } => Some(*plc),
                    _ => None,
                });
                if *ok && let Some(p) = target {
                    let id = s.plcs[p.ix()].id.clone();
                    if !effect_plcs.contains(&id) {
                        effect_plcs.push(id);
                    }
                }
                if first_contain.is_some_and(|c| e.tick >= c) {
                    if !ok && reason.is_some_and(|r| BLOCKED_BY_NETWORK.contains(&r)) {
                        blocked_after += 1;
                    }
                    if *ok && target.is_some() {
                        impact_after += 1;
                        if target.is_some_and(|p| s.plcs[p.ix()].role == crate::scenario::PlcRole::Safety) {
                            safety_hits_after += 1;
                        }
                    }
                }
            }
            EventKind::InputApplied { input } => match input {
                SimInput::BlockSource { .. }
                | SimInput::IsolateHost { .. }
                | SimInput::AllowFunctions { .. }
                | SimInput::RestrictWrites { .. } => {
                    first_contain.get_or_insert(e.tick);
                    match input {
                        SimInput::AllowFunctions { .. } => allow_listed = true,
                        SimInput::RestrictWrites { plc, .. } => restricted.push(plc.clone()),
                        _ => {}
                    }
                }
                SimInput::EnableRangeChecks { plc } => range_checked.push(plc.clone()),
                SimInput::RestoreSetpoints { plc } | SimInput::RestoreProgram { plc } => {
                    restored.push(plc.clone())
                }
                SimInput::DeclareHazard { id } if !declared.contains(id) => declared.push(id.clone()),
                _ => {}
            },
            EventKind::Damage { .. } => damage = true,
            _ => {}
        }
    }
    let violation = safety_violation(s, events, &attacker_hosts);
    let card = crate::score::Scorer::score_log_at(s, false, events, end);
    let mut tasks = Vec::new();
    let mut task = |id: &'static str,
                    area: &'static str,
                    title: Text,
                    max: f64,
                    share: f64,
                    detail: String,
                    gated: bool| {
        let failed_gate = gated && violation.is_some();
        let share = if failed_gate { 0.0 } else { share.clamp(0.0, 1.0) };
        tasks.push(TaskResult {
            id,
            area,
            title,
            points: (max * share * 10.0).round() / 10.0,
            max,
            detail: if failed_gate {
                format!("safety gate: {}", violation.clone().unwrap_or_default())
            } else {
                detail
            },
            gated: failed_gate,
        });
    };

    // Architecture.
    let cut = first_contain.is_some() && blocked_after > 0 && impact_after == 0;
    task(
        "cut-path",
        "architecture",
        t(
            "Cut the attacker's path into the control network (conduit policy or isolation)",
            "切断攻击者进入控制网络的路径（通道策略或隔离）",
        ),
        20.0,
        if cut {
            1.0
        } else if blocked_after > 0 {
            0.5
        } else {
            0.0
        },
        format!(
            "{blocked_after} attack attempts blocked by the network after the first containment, {impact_after} still got through"
        ),
        false,
    );
    task(
        "protect-sis",
        "architecture",
        t(
            "Keep the safety system out of the attacker's reach once contained",
            "遏制后使安全仪表系统不受攻击者影响",
        ),
        10.0,
        if first_contain.is_some() && safety_hits_after == 0 { 1.0 } else { 0.0 },
        format!("{safety_hits_after} attack writes reached a safety PLC after containment"),
        false,
    );
    // Implementation.
    let hardened =
        attacked_writes.iter().filter(|p| range_checked.contains(p) || restricted.contains(p)).count();
    task(
        "validate-writes",
        "implementation",
        t(
            "Enforce set-point range checks or write windows on the attacked PLCs (M0818)",
            "在被攻击 PLC 上启用设定值范围检查或写入范围（M0818）",
        ),
        15.0,
        if attacked_writes.is_empty() { 1.0 } else { hardened as f64 / attacked_writes.len() as f64 },
        format!("{hardened} of {} attacked PLCs hardened", attacked_writes.len()),
        true,
    );
    task(
        "allow-list",
        "implementation",
        t("Put a function-code allow-list on a conduit (M0937)", "在通道上配置功能码白名单（M0937）"),
        5.0,
        if allow_listed { 1.0 } else { 0.0 },
        if allow_listed { "allow-list applied".into() } else { "no allow-list".into() },
        true,
    );
    // Operations and monitoring.
    task(
        "detect",
        "operations",
        t(
            "Detect the attack steps and report them with the right ATT&CK for ICS ids",
            "发现攻击步骤并以正确的 ATT&CK for ICS 编号报告",
        ),
        20.0,
        if card.steps_fired == 0 {
            1.0
        } else {
            (card.steps_detected as f64 / card.steps_fired as f64 * 2.0).min(1.0)
        },
        format!(
            "{} of {} fired steps reported with technique and asset (half of them earns full marks)",
            card.steps_detected, card.steps_fired
        ),
        false,
    );
    // Assessment: the hazards this run exposed, plus what the plant has by design.
    let mut expected: Vec<String> = crate::findings::findings(s, events, s.meta.level)
        .into_iter()
        .filter(|f| !f.id.starts_with("detect:") && !f.id.starts_with("plan:") && !f.id.starts_with("alarm:"))
        .map(|f| f.id)
        .collect();
    for p in &s.plcs {
        if !p.range_checks
            && attacked_writes.contains(&p.id)
            && !expected.contains(&format!("range:{}", p.id))
        {
            expected.push(format!("range:{}", p.id));
        }
    }
    let right = declared.iter().filter(|d| expected.contains(d)).count();
    let wrong = declared.len() - right;
    let need = expected.len().clamp(1, 3);
    task(
        "hazards",
        "assessment",
        t(
            "Find the plant's hidden hazards (declare them by finding id)",
            "找出工厂的安全隐患（按隐患编号申报）",
        ),
        15.0,
        (right as f64 - 0.5 * wrong as f64) / need as f64,
        format!("{right} correct, {wrong} wrong of {} exposed (3 earn full marks)", expected.len()),
        false,
    );
    // Incident response.
    let restored_ok = effect_plcs.iter().filter(|p| restored.contains(p)).count();
    task(
        "restore",
        "response",
        t(
            "Restore set points and logic of every PLC the attack changed",
            "恢复被攻击改变的所有 PLC 的设定值和程序",
        ),
        10.0,
        if effect_plcs.is_empty() { 1.0 } else { restored_ok as f64 / effect_plcs.len() as f64 },
        format!("{restored_ok} of {} changed PLCs restored", effect_plcs.len()),
        true,
    );
    let quality = card
        .components
        .iter()
        .find(|c| c.key == "report_quality")
        .map_or(0.0, |c| if c.max > 0.0 { c.points / c.max } else { 0.0 });
    task(
        "report",
        "response",
        t(
            "File an incident report that credits the attack, with impact and actions",
            "提交与攻击相符、包含影响和处置措施的事件报告",
        ),
        5.0,
        if card.steps_detected > 0 { quality } else { 0.0 },
        format!("report quality {:.0} %", quality * 100.0),
        false,
    );
    task(
        "safe",
        "response",
        t("Contain without damage or loss of safety", "在不造成设备损坏或安全功能丧失的前提下完成处置"),
        10.0,
        if damage { 0.0 } else { 1.0 },
        if damage { "equipment was damaged".into() } else { "no damage".into() },
        true,
    );

    tasks.retain(|tr| s.exam.tasks.iter().any(|t| t == tr.id));
    let mut by: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for tr in &tasks {
        let e = by.entry(tr.area).or_default();
        e.0 += tr.points;
        e.1 += tr.max;
    }
    let areas: Vec<AreaScore> =
        AREAS.iter().map(|a| AreaScore { area: a, points: by[a].0, max: by[a].1 }).collect();
    let total: f64 = areas.iter().map(|a| a.points).sum();
    let max: f64 = areas.iter().map(|a| a.max).sum();
    let passed =
        total >= rule.overall * max && areas.iter().all(|a| a.points >= rule.per_area * a.max) && max > 0.0;
    Grade { tasks, areas, total: (total * 10.0).round() / 10.0, max, passed, safety_violation: violation }
}

/// How a variant differs from its base scenario (for trainers; trainees discover it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantMap {
    /// The seed.
    pub seed: u64,
    /// Base host id -> variant host id.
    pub hosts: BTreeMap<String, String>,
    /// PLC id -> offset added to its holding register addresses.
    pub holding_offsets: BTreeMap<String, u16>,
    /// Seconds added to the attack's timed triggers.
    pub attack_delay_s: f64,
    /// Factor applied to the values the attack writes.
    pub value_factor: f64,
    /// The host the attack starts from (the path): the base foothold, or a second office
    /// machine beside it.
    pub foothold: String,
}

/// SplitMix64: a few deterministic numbers from the seed (no RNG state to share).
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The variant of `base` for `seed`. The same seed always gives the same variant.
pub fn variant(base: &Scenario, seed: u64) -> (Scenario, VariantMap) {
    let mut s = base.clone();
    let mut hosts = BTreeMap::new();
    for (i, h) in s.hosts.iter_mut().enumerate() {
        let n = mix(seed, i as u64) % 90 + 10;
        let stem = h.id.rsplit_once('-').map_or(h.id.as_str(), |(a, _)| a).to_string();
        let new = format!("{stem}-{n:02}");
        hosts.insert(h.id.clone(), new.clone());
        h.id = new;
    }
    // Hosts must stay distinct.
    let mut seen: Vec<String> = Vec::new();
    for h in s.hosts.iter_mut() {
        while seen.contains(&h.id) {
            h.id.push('x');
        }
        seen.push(h.id.clone());
    }
    for (old, h) in base.hosts.iter().zip(&s.hosts) {
        hosts.insert(old.id.clone(), h.id.clone());
    }
    let mut offsets = BTreeMap::new();
    for (i, p) in s.plcs.iter_mut().enumerate() {
        let offset = ((mix(seed, 100 + i as u64) % 8) as u16 + 1) * 100;
        offsets.insert(p.id.clone(), offset);
        for h in &mut p.holding_registers {
            h.addr += offset;
        }
        for r in p.reserved.iter_mut().filter(|r| r.table == Table::HoldingRegisters) {
            r.start += offset;
        }
    }
    let offset_of = |s: &Scenario, plc: &crate::scenario::PlcIdx| offsets[&s.plcs[plc.ix()].id];
    for c in 0..s.conduits.len() {
        for w in 0..s.conduits[c].policy.write_ranges.len() {
            let o = offset_of(&s, &s.conduits[c].policy.write_ranges[w].plc);
            let wr = &mut s.conduits[c].policy.write_ranges[w];
            wr.start += o;
            wr.end += o;
        }
    }
    let delay_s = (mix(seed, 200) % 31) as f64;
    let factor = 1.0 + ((mix(seed, 201) % 11) as f64 - 5.0) / 100.0;
    let delay = (delay_s * f64::from(s.tick_hz)) as u64;
    if let Some(plan) = s.attack.as_mut() {
        for st in &mut plan.steps {
            if let Some(t) = st.when.at_tick.as_mut() {
                *t += delay;
            }
            if let Some(t) = st.expire_tick.as_mut() {
                *t += delay;
            }
            if let Some(d) = st.when.defender.as_mut() {
                d.by_tick += delay;
            }
            match &mut st.action {
                Action::WriteRegisters { plc, addr, values } => {
                    let def = &base.plcs[plc.ix()];
                    for (i, v) in values.iter_mut().enumerate() {
                        // Scale the value, but keep an out-of-range value out of range (and an
                        // in-range one in range): the step stays what it was.
                        if let Some((_, h)) = def.holding_at(*addr + i as u16) {
                            let scaled = (f64::from(*v) * factor).round().clamp(0.0, 65_535.0) as u16;
                            let inside = |raw: u16| {
                                h.range.is_none_or(|[lo, hi]| (lo..=hi).contains(&h.scaling.to_value(raw)))
                            };
                            if inside(*v) == inside(scaled) {
                                *v = scaled;
                            }
                        }
                    }
                    *addr += offsets[&base.plcs[plc.ix()].id];
                }
                Action::Read { plc, table: Table::HoldingRegisters, addr, .. } => {
                    *addr += offsets[&base.plcs[plc.ix()].id];
                }
                _ => {}
            }
        }
    }
    for b in &mut s.background {
        match &mut b.input {
            SimInput::WriteRegisters { plc, addr, source, .. }
            | SimInput::ModbusRequest { plc, addr, source, function: 3 | 6 | 16 | 23, .. } => {
                if let Some(o) = offsets.get(plc.as_str()) {
                    *addr += o;
                }
                if let Some(n) = hosts.get(source.as_str()) {
                    *source = n.clone();
                }
            }
            SimInput::WriteCoils { source, .. } | SimInput::ModbusRequest { source, .. } => {
                if let Some(n) = hosts.get(source.as_str()) {
                    *source = n.clone();
                }
            }
            _ => {}
        }
    }
    // The path: half the seeds start the attack on a second machine beside the foothold, in
    // the same zone and under the same conduit policies.
    let mut foothold = String::new();
    if let Some(plan) = s.attack.as_mut() {
        let f = plan.foothold;
        foothold = s.hosts[f.ix()].id.clone();
        if mix(seed, 300) % 2 == 1 {
            let mut twin = s.hosts[f.ix()].clone();
            let stem = twin.id.rsplit_once('-').map_or(twin.id.clone(), |(a, _)| a.to_string());
            let mut n = mix(seed, 301) % 90 + 10;
            while s.hosts.iter().any(|h| h.id == format!("{stem}-{n:02}")) {
                n = (n + 1) % 90 + 10;
            }
            twin.id = format!("{stem}-{n:02}");
            twin.name =
                Text { en: format!("{} (2)", twin.name.en), zh: format!("{}（二）", twin.name.zh) };
            let idx = crate::scenario::HostIdx(s.hosts.len() as u32);
            foothold = twin.id.clone();
            s.hosts.push(twin);
            plan.foothold = idx;
            for c in &mut s.conduits {
                if c.policy.allow_sources.contains(&f) {
                    c.policy.allow_sources.push(idx);
                }
                if c.policy.deny_sources.contains(&f) {
                    c.policy.deny_sources.push(idx);
                }
            }
        }
    }
    // The id says it is a variant, not which: the seed would give the variant away.
    s.id = format!("{}~variant", base.id);
    (
        s,
        VariantMap {
            seed,
            hosts,
            holding_offsets: offsets,
            attack_delay_s: delay_s,
            value_factor: factor,
            foothold,
        },
    )
}
