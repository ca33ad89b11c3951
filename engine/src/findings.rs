//! Findings: the hidden hazards (安全隐患) a drill exposed, derived from one team's event log
//! and the scenario alone, so the same log always gives the same findings.
//!
//! Each rule looks for one kind of hazard and cites the events that show it:
//! - `path`: an attack step succeeded across a conduit that let it through (boundary);
//! - `range`: a PLC accepted a set point outside its declared range (no M0818);
//! - `backup`: a PLC's program was changed and it has no backup to restore from;
//! - `safety`: equipment damage or a bypassed safety function (Loss of Safety / Damage);
//! - `alarm`: an alarm nobody acknowledged;
//! - `detect`: an attack step that fired and was never reported in time;
//! - `plan`: a response-plan step done late or not at all.
//!
//! Ids are stable across drills (`path:STEP`, `range:PLC`, ...), which is what rectification
//! tracking keys on; `retest` names the attack steps whose path re-tests the finding.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::attack::{Action, Technique};
use crate::event::{EventKind, SimEvent};
use crate::input::SimInput;
use crate::scenario::{Scenario, Text};
use crate::score::{PlanStatus, Scorer};

/// Severity tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A credible path to damage, loss of safety or loss of control.
    Critical,
    /// An attack step that succeeded, or response that failed.
    High,
    /// A weakness the drill showed without harm.
    Medium,
    /// Worth fixing.
    Low,
}

impl Severity {
    /// The hazard grade of Chinese safety-production practice: 重大 (major) for critical and
    /// high, 一般 (general) otherwise.
    pub fn grade(self) -> Text {
        match self {
            Severity::Critical | Severity::High => Text { en: "major".into(), zh: "重大".into() },
            Severity::Medium | Severity::Low => Text { en: "general".into(), zh: "一般".into() },
        }
    }
}

/// Days to rectify, by severity, for one enterprise level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Deadlines {
    /// Critical.
    pub critical: u32,
    /// High.
    pub high: u32,
    /// Medium.
    pub medium: u32,
    /// Low.
    pub low: u32,
}

impl Deadlines {
    /// Defaults by enterprise level: level 3 drills yearly and rectifies fastest.
    pub fn for_level(level: u8) -> Deadlines {
        match level {
            3 => Deadlines { critical: 7, high: 30, medium: 90, low: 180 },
            2 => Deadlines { critical: 15, high: 60, medium: 180, low: 365 },
            _ => Deadlines { critical: 30, high: 90, medium: 365, low: 365 },
        }
    }

    /// Parses `CRITICAL,HIGH,MEDIUM,LOW` days, e.g. `7,30,90,180`.
    pub fn parse(s: &str) -> Result<Deadlines, String> {
        let days: Vec<u32> = s
            .split(',')
            .map(|d| d.trim().parse::<u32>().map_err(|_| format!("`{d}` is not a number of days")))
            .collect::<Result<_, _>>()?;
        match days[..] {
            [critical, high, medium, low] if days.iter().all(|d| *d > 0) => {
                Ok(Deadlines { critical, high, medium, low })
            }
            _ => Err(format!(
                "give four day counts, critical,high,medium,low (each at least 1), e.g. 7,30,90,180; got `{s}`"
            )),
        }
    }

    /// Days for a severity.
    pub fn days(&self, s: Severity) -> u32 {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }
}

/// Where a finding stands in rectification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Found, not fixed.
    Open,
    /// The enterprise says it is fixed; not re-tested yet.
    Fixed,
    /// A later drill re-ran the path and the hazard was gone.
    Verified,
}

/// One hidden hazard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id (`path:overfill`, `range:plc-t101`, ...).
    pub id: String,
    /// Title.
    pub title: Text,
    /// What happened.
    pub description: Text,
    /// Tier.
    pub severity: Severity,
    /// 重大 / 一般.
    pub grade: Text,
    /// ATT&CK for ICS techniques (v18 and v19 ids).
    pub techniques: Vec<Technique>,
    /// Mitigation ids that close it (M08xx/M09xx).
    pub mitigations: Vec<&'static str>,
    /// Asset ids.
    pub assets: Vec<String>,
    /// Event `seq`s that show it.
    pub evidence: Vec<u64>,
    /// Requirement family (DOMAIN 1.5).
    pub family: Text,
    /// POETE capability element.
    pub capability: &'static str,
    /// Recommended corrective measure.
    pub measure: Text,
    /// Who owns the fix.
    pub owner: Text,
    /// Days to rectify.
    pub deadline_days: u32,
    /// Rectification status.
    pub status: Status,
    /// Attack steps whose path re-tests this finding in a later drill.
    pub retest: Vec<String>,
}

fn t(en: impl Into<String>, zh: impl Into<String>) -> Text {
    Text { en: en.into(), zh: zh.into() }
}

fn family(key: &str) -> Text {
    match key {
        "network" => {
            t("Technical protection: network (zoning, boundary)", "技术防护：网络（分区分域、边界防护）")
        }
        "controller" => t(
            "Technical protection: controllers (input validation, integrity)",
            "技术防护：控制器（输入校验、完整性）",
        ),
        "data" => t(
            "Technical protection: data (backup and restore of logic)",
            "技术防护：数据（程序与组态备份恢复）",
        ),
        "safety" => {
            t("Technical protection: safety systems (SIS independence)", "技术防护：安全仪表系统（独立性）")
        }
        "monitoring" => t("Security operations: monitoring", "安全运营：安全监测"),
        _ => t(
            "Security operations: emergency response (plans, drills, reporting)",
            "安全运营：应急处置（预案、演练、报告）",
        ),
    }
}

fn owner(key: &str) -> Text {
    match key {
        "network" => t("Network and security administrator", "网络安全管理员"),
        "controller" | "data" => t("Control system engineer", "控制系统工程师"),
        "safety" => t("SIS / process safety engineer", "安全仪表系统工程师"),
        "monitoring" => t("Operations shift supervisor", "生产运行值班长"),
        _ => t("Emergency response lead", "应急响应负责人"),
    }
}

/// What the rules need to know about one attack step as it ran.
#[derive(Debug, Default, Clone)]
struct StepRun {
    attempts: Vec<u64>,
    ok: Vec<u64>,
    hosts: Vec<String>,
}

/// Derives the findings of one team's drill: `events` is its whole log, `level` the
/// enterprise's security level (the default deadlines follow it).
pub fn findings(scenario: &Scenario, events: &[SimEvent], level: u8) -> Vec<Finding> {
    findings_with(scenario, events, Deadlines::for_level(level))
}

/// `findings` with other deadlines than the level's defaults.
pub fn findings_with(scenario: &Scenario, events: &[SimEvent], deadlines: Deadlines) -> Vec<Finding> {
    let s = scenario;
    let mut out: Vec<Finding> = Vec::new();
    let mut add = |mut f: Finding| {
        f.grade = f.severity.grade();
        f.deadline_days = deadlines.days(f.severity);
        f.evidence.sort_unstable();
        f.evidence.dedup();
        out.push(f);
    };
    let plan = s.attack.as_ref();
    let steps: Vec<&crate::attack::Step> = plan.map(|p| p.steps.iter().collect()).unwrap_or_default();
    let mut runs: BTreeMap<&str, StepRun> = BTreeMap::new();
    let mut damage: Vec<&SimEvent> = Vec::new();
    let mut range_breaches: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut changed_programs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut no_backup: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    // Alarm id -> (raised seqs, acknowledged?)
    let mut alarms: BTreeMap<(String, String), (Vec<u64>, bool)> = BTreeMap::new();
    let mut reports: Vec<(&SimEvent, String, String)> = Vec::new();
    let mut range_checked: Vec<String> =
        s.plcs.iter().filter(|p| p.range_checks).map(|p| p.id.clone()).collect();

    for e in events {
        match &e.kind {
            EventKind::AttackAttempt { step, host, ok, .. } => {
                let r = runs.entry(step.as_str()).or_default();
                r.attempts.push(e.seq);
                if *ok {
                    r.ok.push(e.seq);
                }
                if !r.hosts.contains(host) {
                    r.hosts.push(host.clone());
                }
            }
            EventKind::Damage { .. } => damage.push(e),
            EventKind::ModbusTransaction {
                plc,
                function,
                addr,
                values,
                exception: None,
                reason: None,
                ..
            } if matches!(function, 6 | 16 | 23) && !range_checked.contains(plc) => {
                if let Some(p) = s.plc(plc) {
                    let def = &s.plcs[p.ix()];
                    let outside = values.iter().enumerate().any(|(i, raw)| {
                        def.holding_at(addr.wrapping_add(i as u16)).is_some_and(|(_, h)| {
                            h.range.is_some_and(|[lo, hi]| {
                                let v = h.scaling.to_value(*raw);
                                v < lo || v > hi
                            })
                        })
                    });
                    if outside {
                        range_breaches.entry(plc.clone()).or_default().push(e.seq);
                    }
                }
            }
            EventKind::ProgramChanged { plc, matches_backup: false, .. } => {
                changed_programs.entry(plc.clone()).or_default().push(e.seq);
            }
            EventKind::InputRejected { input: SimInput::RestoreProgram { plc }, reason }
                if *reason == crate::event::RejectReason::NoBackup =>
            {
                no_backup.entry(plc.clone()).or_default().push(e.seq);
            }
            EventKind::InputApplied { input: SimInput::EnableRangeChecks { plc } }
                if !range_checked.contains(plc) =>
            {
                range_checked.push(plc.clone());
            }
            EventKind::AlarmRaised { plc, alarm, .. } => {
                alarms.entry((plc.clone(), alarm.clone())).or_default().0.push(e.seq);
            }
            EventKind::AlarmAcknowledged { plc, alarm } => {
                alarms.entry((plc.clone(), alarm.clone())).or_default().1 = true;
            }
            EventKind::IncidentReported { technique, asset, .. } => {
                reports.push((e, technique.clone(), asset.clone()))
            }
            _ => {}
        }
    }

    // Boundary: attack steps that succeeded over the network.
    for st in &steps {
        let Some(run) = runs.get(st.id.as_str()) else { continue };
        if run.ok.is_empty() {
            continue;
        }
        let target_zone = match &st.action {
            Action::Read { plc, .. }
            | Action::WriteRegisters { plc, .. }
            | Action::WriteCoils { plc, .. }
            | Action::SetMode { plc, .. }
            | Action::Restart { plc }
            | Action::Download { plc, .. }
            | Action::ListenOnly { plc }
            | Action::Flood { plc, .. }
            | Action::Spoof { plc, .. } => {
                Some((s.plcs[plc.ix()].zone, s.plcs[plc.ix()].id.clone(), s.plcs[plc.ix()].role))
            }
            Action::Pivot(h) => {
                Some((s.hosts[h.ix()].zone, s.hosts[h.ix()].id.clone(), crate::scenario::PlcRole::Process))
            }
            Action::Scan(_) => None,
        };
        let Some((zone, asset, role)) = target_zone else { continue };
        let from_zones: Vec<_> =
            run.hosts.iter().filter_map(|h| s.host(h)).map(|h| s.hosts[h.ix()].zone).collect();
        let conduit = s.conduits.iter().find(|c| c.to == zone && from_zones.contains(&c.from));
        let Some(conduit) = conduit else { continue };
        let writes = matches!(
            st.action,
            Action::WriteRegisters { .. }
                | Action::WriteCoils { .. }
                | Action::SetMode { .. }
                | Action::Restart { .. }
                | Action::Download { .. }
                | Action::ListenOnly { .. }
        );
        let safety = role == crate::scenario::PlcRole::Safety;
        let severity = if writes && (safety || !damage.is_empty()) {
            Severity::Critical
        } else if writes {
            Severity::High
        } else {
            Severity::Medium
        };
        let from = run.hosts.join(", ");
        add(Finding {
            id: format!("path:{}", st.id),
            title: t(
                format!("Conduit {} let the attack step `{}` through", conduit.id, st.id),
                format!("通道 {} 未阻断攻击步骤“{}”", conduit.id, st.id),
            ),
            description: t(
                format!(
                    "{} succeeded from {from} to {asset} across conduit {}: its policy allows this source and function.",
                    st.name.en, conduit.id
                ),
                format!(
                    "{}：攻击者从 {from} 经通道 {} 到达 {asset} 并成功，该通道策略放行了此来源和功能码。",
                    st.name.zh, conduit.id
                ),
            ),
            severity,
            grade: t("", ""),
            techniques: st.techniques.clone(),
            mitigations: if writes {
                vec!["M0937", "M0807", "M0930", "M0800"]
            } else {
                vec!["M0930", "M0807"]
            },
            assets: vec![asset, conduit.id.clone()],
            evidence: run.ok.clone(),
            family: family("network"),
            capability: "Equipment",
            measure: t(
                format!(
                    "Restrict conduit {} to the listed masters and function codes (FC allow-list, write address and value windows); keep office and DMZ hosts out of the control zone.",
                    conduit.id
                ),
                format!(
                    "收紧通道 {} 策略：仅允许登记的主站和功能码（功能码白名单、写地址与数值范围），办公区和隔离区主机不得进入控制区。",
                    conduit.id
                ),
            ),
            owner: owner("network"),
            deadline_days: 0,
            status: Status::Open,
            retest: vec![st.id.clone()],
        });
    }

    // Controllers: set points accepted outside their range.
    for (plc, seqs) in &range_breaches {
        let retest: Vec<String> = steps
            .iter()
            .filter(
                |st| matches!(&st.action, Action::WriteRegisters { plc: p, .. } if s.plcs[p.ix()].id == *plc),
            )
            .map(|st| st.id.clone())
            .collect();
        add(Finding {
            id: format!("range:{plc}"),
            title: t(
                format!("{plc} accepts set points outside their range"),
                format!("{plc} 接受超出范围的设定值"),
            ),
            description: t(
                format!(
                    "{plc} applied register writes outside the declared engineering range: set-point range checks (M0818) are off."
                ),
                format!("{plc} 接受了超出工程量程的寄存器写入：未启用设定值范围检查（M0818）。"),
            ),
            severity: if damage.is_empty() { Severity::High } else { Severity::Critical },
            grade: t("", ""),
            techniques: crate::attack::technique("T0836").into_iter().collect(),
            mitigations: vec!["M0818", "M0800"],
            assets: vec![plc.clone()],
            evidence: seqs.clone(),
            family: family("controller"),
            capability: "Equipment",
            measure: t(
                format!(
                    "Turn on set-point range checks in {plc} and clamp to a safe value on violation; log and alarm rejected writes."
                ),
                format!("在 {plc} 中启用设定值范围检查，越限时钳位到安全值，并记录和报警被拒绝的写入。"),
            ),
            owner: owner("controller"),
            deadline_days: 0,
            status: Status::Open,
            retest,
        });
    }

    // Data: program changed with no backup.
    for (i, plc) in s.plcs.iter().enumerate() {
        let changed = changed_programs.get(&plc.id);
        let refused = no_backup.get(&plc.id);
        if plc.program_backup || (changed.is_none() && refused.is_none()) {
            continue;
        }
        let mut evidence: Vec<u64> = changed.cloned().unwrap_or_default();
        evidence.extend(refused.cloned().unwrap_or_default());
        let retest = steps
            .iter()
            .filter(|st| matches!(&st.action, Action::Download { plc: p, .. } if p.ix() == i))
            .map(|st| st.id.clone())
            .collect();
        add(Finding {
            id: format!("backup:{}", plc.id),
            title: t(format!("No program backup for {}", plc.id), format!("{} 无程序备份", plc.id)),
            description: t(
                format!(
                    "The program of {} changed during the drill and there is no backup to restore it from.",
                    plc.id
                ),
                format!("演练中 {} 的程序被修改，且没有可用于恢复的备份。", plc.id),
            ),
            severity: Severity::High,
            grade: t("", ""),
            techniques: crate::attack::technique("T0843").into_iter().collect(),
            mitigations: vec!["M0953", "M0947"],
            assets: vec![plc.id.clone()],
            evidence,
            family: family("data"),
            capability: "Planning",
            measure: t(
                format!(
                    "Keep a verified offline backup of {}'s program and configuration; compare the running program's hash with it daily.",
                    plc.id
                ),
                format!("为 {} 的程序和组态保留经校验的离线备份，并每日比对运行程序哈希。", plc.id),
            ),
            owner: owner("data"),
            deadline_days: 0,
            status: Status::Open,
            retest,
        });
    }

    // Safety: damage, and a safety function bypassed by a write.
    if !damage.is_empty() {
        let vars: Vec<String> = damage
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Damage { var, .. } => Some(var.clone()),
                _ => None,
            })
            .collect();
        let retest = steps
            .iter()
            .filter(|st| runs.get(st.id.as_str()).is_some_and(|r| !r.ok.is_empty()))
            .map(|st| st.id.clone())
            .collect();
        add(Finding {
            id: "safety:damage".into(),
            title: t("Equipment damaged", "设备损坏"),
            description: t(
                format!(
                    "The process reached a damage limit ({}): the safety layers did not hold.",
                    vars.join(", ")
                ),
                format!("工艺达到损坏限值（{}）：安全防护层未能守住。", vars.join("、")),
            ),
            severity: Severity::Critical,
            grade: t("", ""),
            techniques: ["T0879", "T0880"].iter().filter_map(|id| crate::attack::technique(id)).collect(),
            mitigations: vec!["M0805", "M0812"],
            assets: vars,
            evidence: damage.iter().map(|e| e.seq).collect(),
            family: family("safety"),
            capability: "Equipment",
            measure: t(
                "Make the safety instrumented system independent of the control network (no remote writes to bypass coils) and back it with mechanical protection.",
                "使安全仪表系统独立于控制网络（禁止远程写入旁路线圈），并配置机械保护层。",
            ),
            owner: owner("safety"),
            deadline_days: 0,
            status: Status::Open,
            retest,
        });
    }

    // Monitoring: alarms nobody acknowledged.
    for ((plc, alarm), (raised, acked)) in &alarms {
        if *acked || raised.is_empty() {
            continue;
        }
        add(Finding {
            id: format!("alarm:{alarm}"),
            title: t(format!("Alarm {alarm} was never acknowledged"), format!("报警 {alarm} 未被确认")),
            description: t(
                format!(
                    "Alarm {alarm} on {plc} came on {} time(s) and nobody acknowledged it.",
                    raised.len()
                ),
                format!("{plc} 上的报警 {alarm} 出现 {} 次，无人确认。", raised.len()),
            ),
            severity: Severity::Medium,
            grade: t("", ""),
            techniques: Vec::new(),
            mitigations: Vec::new(),
            assets: vec![plc.clone()],
            evidence: raised.clone(),
            family: family("monitoring"),
            capability: "Training",
            measure: t(
                "Train operators to acknowledge and act on alarms; review alarm rationalisation for this tag.",
                "培训操作人员确认并处置报警；复核该位号的报警设置。",
            ),
            owner: owner("monitoring"),
            deadline_days: 0,
            status: Status::Open,
            retest: Vec::new(),
        });
    }

    // Detection: steps that fired and were not reported within the window.
    let window = s.scoring.detect_window_ticks;
    for st in &steps {
        let Some(run) = runs.get(st.id.as_str()) else { continue };
        let Some(&first_seq) = run.attempts.first() else { continue };
        let first_tick = events.iter().find(|e| e.seq == first_seq).map_or(0, |e| e.tick);
        let assets = {
            let mut a: Vec<String> = match &st.action {
                Action::Scan(p) => p.iter().map(|p| s.plcs[p.ix()].id.clone()).collect(),
                Action::Pivot(h) => vec![s.hosts[h.ix()].id.clone()],
                Action::Read { plc, .. }
                | Action::WriteRegisters { plc, .. }
                | Action::WriteCoils { plc, .. }
                | Action::SetMode { plc, .. }
                | Action::Restart { plc }
                | Action::Download { plc, .. }
                | Action::ListenOnly { plc }
                | Action::Flood { plc, .. }
                | Action::Spoof { plc, .. } => vec![s.plcs[plc.ix()].id.clone()],
            };
            a.extend(run.hosts.iter().cloned());
            a
        };
        let detected = reports.iter().any(|(e, tech, asset)| {
            e.tick >= first_tick
                && e.tick <= first_tick + window
                && assets.iter().any(|a| a.eq_ignore_ascii_case(asset))
                && crate::attack::technique(tech)
                    .is_some_and(|t| st.techniques.iter().any(|x| x.v18 == t.v18 || x.tactic == t.tactic))
        });
        if detected {
            continue;
        }
        let succeeded = !run.ok.is_empty();
        add(Finding {
            id: format!("detect:{}", st.id),
            title: t(
                format!("Attack step `{}` went unreported", st.id),
                format!("攻击步骤“{}”未被报告", st.id),
            ),
            description: t(
                format!(
                    "{} ({}) was not reported with its asset and technique within {} min of its first attempt.",
                    st.name.en,
                    st.techniques.iter().map(|t| t.v19).collect::<Vec<_>>().join(", "),
                    window / u64::from(s.tick_hz) / 60
                ),
                format!(
                    "{}（{}）在首次出现后 {} 分钟内未被报告（资产与技术）。",
                    st.name.zh,
                    st.techniques.iter().map(|t| t.v19).collect::<Vec<_>>().join("、"),
                    window / u64::from(s.tick_hz) / 60
                ),
            ),
            severity: if succeeded { Severity::High } else { Severity::Low },
            grade: t("", ""),
            techniques: st.techniques.clone(),
            mitigations: vec!["M0810"],
            assets: assets.into_iter().take(3).collect(),
            evidence: run.attempts.clone(),
            family: family("monitoring"),
            capability: "Training",
            measure: t(
                "Watch the Modbus transaction log and monitoring alerts for this pattern; drill the team on reporting technique, asset and time.",
                "监视 Modbus 通信记录和监测告警中的此类特征；训练团队报告技术、资产和时间。",
            ),
            owner: owner("monitoring"),
            deadline_days: 0,
            status: Status::Open,
            retest: vec![st.id.clone()],
        });
    }

    // Response plan.
    let card = Scorer::score_log(s, true, events);
    for m in &card.plan {
        let severity = match m.status {
            PlanStatus::Missed => Severity::High,
            PlanStatus::Late => Severity::Medium,
            _ => continue,
        };
        let step = s.scoring.response_plan.iter().find(|p| p.id == m.id);
        let minutes = step.map_or(0, |p| p.within_ticks / u64::from(s.tick_hz) / 60);
        let evidence: Vec<u64> = events
            .iter()
            .filter(|e| match &e.kind {
                EventKind::InputApplied { input } => input
                    .defender_kind()
                    .is_some_and(|k| step.is_some_and(|p| p.done_by.iter().any(|d| d == k))),
                EventKind::AttackAttempt { .. } => true,
                _ => false,
            })
            .map(|e| e.seq)
            .take(3)
            .collect();
        let late = m.status == PlanStatus::Late;
        add(Finding {
            id: format!("plan:{}", m.id),
            title: t(
                format!("Response plan step `{}` {}", m.id, if late { "done late" } else { "missed" }),
                format!("应急预案步骤“{}”{}", m.id, if late { "超时完成" } else { "未执行" }),
            ),
            description: t(
                format!(
                    "{}: due within {minutes} min of the attack's start, {}.",
                    m.name.en,
                    if late { "done after the deadline" } else { "not done" }
                ),
                format!(
                    "{}：应在攻击开始后 {minutes} 分钟内完成，{}。",
                    m.name.zh,
                    if late { "实际超时完成" } else { "实际未执行" }
                ),
            ),
            severity,
            grade: t("", ""),
            techniques: Vec::new(),
            mitigations: Vec::new(),
            assets: Vec::new(),
            evidence,
            family: family("response"),
            capability: "Planning",
            measure: t(
                format!("Rehearse `{}` in the plan's playbook; name who does it and by when.", m.id),
                format!("在预案处置卡中演练“{}”步骤，明确责任人和时限。", m.id),
            ),
            owner: owner("response"),
            deadline_days: 0,
            status: Status::Open,
            retest: Vec::new(),
        });
    }
    out.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.id.cmp(&b.id)));
    out
}
