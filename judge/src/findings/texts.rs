//! The words of findings, in English and Chinese: titles, descriptions and corrective
//! measures of each rule, requirement families and owners. The rules decide; this says it.

use icsdrill_engine::scenario::Text;

/// A title, a description and a corrective measure.
pub(super) type Says = (Text, Text, Text);

/// The requirement family (DOMAIN 1.5) of a key.
pub(super) fn family(key: &str) -> Text {
    match key {
        "network" => Text::new(
            "Technical protection: network (zoning, boundary)",
            "技术防护：网络（分区分域、边界防护）",
        ),
        "controller" => Text::new(
            "Technical protection: controllers (input validation, integrity)",
            "技术防护：控制器（输入校验、完整性）",
        ),
        "data" => Text::new(
            "Technical protection: data (backup and restore of logic)",
            "技术防护：数据（程序与组态备份恢复）",
        ),
        "safety" => Text::new(
            "Technical protection: safety systems (SIS independence)",
            "技术防护：安全仪表系统（独立性）",
        ),
        "monitoring" => Text::new("Security operations: monitoring", "安全运营：安全监测"),
        _ => Text::new(
            "Security operations: emergency response (plans, drills, reporting)",
            "安全运营：应急处置（预案、演练、报告）",
        ),
    }
}

/// Who owns the fix, by family key.
pub(super) fn owner(key: &str) -> Text {
    match key {
        "network" => Text::new("Network and security administrator", "网络安全管理员"),
        "controller" | "data" => Text::new("Control system engineer", "控制系统工程师"),
        "safety" => Text::new("SIS / process safety engineer", "安全仪表系统工程师"),
        "monitoring" => Text::new("Operations shift supervisor", "生产运行值班长"),
        _ => Text::new("Emergency response lead", "应急响应负责人"),
    }
}

/// `path`: the conduit `conduit` (named by its zones) let step `name` through from `from` to
/// `asset`: Modbus requests to a PLC, or (`remote`) a remote session to a host.
pub(super) fn path(conduit: &Text, name: &Text, from: &Text, asset: &Text, remote: bool) -> Says {
    let (allows_en, allows_zh) = if remote {
        ("its policy allows remote sessions from this source", "该通道策略放行了来自此来源的远程会话")
    } else {
        ("its policy allows this source and function", "该通道策略放行了此来源和功能码")
    };
    let measure = if remote {
        Text::new(
            format!(
                "Close the {} conduit to remote sessions (RDP, SSH, VNC) except from a jump host with multi-factor authentication, and log them; keep office and DMZ hosts out of the control zone.",
                conduit.en
            ),
            format!(
                "关闭{}通道上的远程会话（RDP、SSH、VNC），仅允许经多因素认证的跳板机访问并留存日志；办公区和隔离区主机不得进入控制区。",
                conduit.zh
            ),
        )
    } else {
        Text::new(
            format!(
                "Restrict the {} conduit to the listed masters and function codes (FC allow-list, write address and value windows); keep office and DMZ hosts out of the control zone.",
                conduit.en
            ),
            format!(
                "收紧{}通道策略：仅允许登记的主站和功能码（功能码白名单、写地址与数值范围），办公区和隔离区主机不得进入控制区。",
                conduit.zh
            ),
        )
    };
    (
        Text::new(
            format!("The {} conduit let “{}” through", conduit.en, name.en),
            format!("{}通道未阻断“{}”", conduit.zh, name.zh),
        ),
        Text::new(
            format!(
                "{} succeeded from {} to {} across the {} conduit: {allows_en}.",
                name.en, from.en, asset.en, conduit.en
            ),
            format!(
                "{}：攻击者从{}经{}通道到达{}并成功，{allows_zh}。",
                name.zh, from.zh, conduit.zh, asset.zh
            ),
        ),
        measure,
    )
}

/// The cause a `path` finding shares with others through the same conduit.
pub(super) fn path_cause(conduit: &Text) -> Text {
    Text::new(
        format!("The {} conduit lets attack steps through", conduit.en),
        format!("{}通道未阻断攻击", conduit.zh),
    )
}

/// `range`: PLC `plc` accepted set points outside their range.
pub(super) fn range(plc: &Text) -> Says {
    (
        Text::new(
            format!("{} accepts set points outside their range", plc.en),
            format!("{}接受超出范围的设定值", plc.zh),
        ),
        Text::new(
            format!(
                "{} applied register writes outside the declared engineering range: set-point range checks (M0818) are off.",
                plc.en
            ),
            format!("{}接受了超出工程量程的寄存器写入：未启用设定值范围检查（M0818）。", plc.zh),
        ),
        Text::new(
            format!(
                "Turn on set-point range checks in {} and clamp to a safe value on violation; log and alarm rejected writes.",
                plc.en
            ),
            format!("在{}中启用设定值范围检查，越限时钳位到安全值，并记录和报警被拒绝的写入。", plc.zh),
        ),
    )
}

/// `safety`: interlock `il` of `plc` was still bypassed when the drill ended.
pub(super) fn bypass_left(il: &Text, plc: &Text) -> Says {
    (
        Text::new(format!("{} left bypassed", il.en), format!("{}旁路未解除", il.zh)),
        Text::new(
            format!(
                "The bypass of {} in {} was still set when the drill ended: the interlock trips nothing until it is taken off.",
                il.en, plc.en
            ),
            format!("演练结束时{}（{}）的旁路仍处于投入状态：解除旁路前该联锁不会动作。", il.zh, plc.zh),
        ),
        Text::new(
            format!(
                "Take the bypass of {} off and confirm it on the safety system; allow bypasses only under a written permit, from the safety system's own station, with an alarm while one is set.",
                il.en
            ),
            format!(
                "解除{}的旁路并在安全系统上确认；旁路须凭书面许可、仅能从安全系统自身工作站投入，投入期间应持续报警。",
                il.zh
            ),
        ),
    )
}

/// How a team contained a `range` hazard in the drill.
pub(super) fn range_contained(plc: &Text) -> Text {
    Text::new(
        format!("set-point range checks turned on in {}", plc.en),
        format!("已在{}中启用设定值范围检查", plc.zh),
    )
}

/// How a team contained a `path` hazard in the drill: the host the attack came from cut off.
pub(super) fn isolated(host: &Text) -> Text {
    Text::new(format!("{} isolated from the network", host.en), format!("已隔离{}", host.zh))
}

/// How a team contained a `path` hazard in the drill: the host refused on the conduit.
pub(super) fn blocked(host: &Text, conduit: &Text) -> Text {
    Text::new(
        format!("{} blocked on {}", host.en, conduit.en),
        format!("已在{}上阻断{}", conduit.zh, host.zh),
    )
}

/// `backup`: PLC `plc`'s program changed with no backup.
pub(super) fn backup(plc: &Text) -> Says {
    (
        Text::new(format!("No program backup for {}", plc.en), format!("{}无程序备份", plc.zh)),
        Text::new(
            format!(
                "The program of {} changed during the drill and there is no backup to restore it from.",
                plc.en
            ),
            format!("演练中{}的程序被修改，且没有可用于恢复的备份。", plc.zh),
        ),
        Text::new(
            format!(
                "Keep a verified offline backup of {}'s program and configuration; compare the running program's hash with it daily.",
                plc.en
            ),
            format!("为{}的程序和组态保留经校验的离线备份，并每日比对运行程序哈希。", plc.zh),
        ),
    )
}

/// `safety`: equipment damaged (the variables that reached a limit, by name).
pub(super) fn damage(vars: &[Text]) -> Says {
    let en: Vec<&str> = vars.iter().map(|v| v.en.as_str()).collect();
    let zh: Vec<&str> = vars.iter().map(|v| v.zh.as_str()).collect();
    (
        Text::new("Equipment damaged", "设备损坏"),
        Text::new(
            format!(
                "The process reached a damage limit ({}): the safety layers did not hold.",
                en.join(", ")
            ),
            format!("工艺达到损坏限值（{}）：安全防护层未能守住。", zh.join("、")),
        ),
        Text::new(
            "Make the safety instrumented system independent of the control network (no remote writes to bypass coils) and back it with mechanical protection.",
            "使安全仪表系统独立于控制网络（禁止远程写入旁路线圈），并配置机械保护层。",
        ),
    )
}

/// `alarm`: alarm `alarm` on `plc` raised `times` times, never acknowledged.
pub(super) fn alarm(plc: &Text, alarm: &Text, times: usize) -> Says {
    (
        Text::new(format!("{} was never acknowledged", alarm.en), format!("{}未被确认", alarm.zh)),
        Text::new(
            format!("{} on {} came on {times} time(s) and nobody acknowledged it.", alarm.en, plc.en),
            format!("{}上的{}出现 {times} 次，无人确认。", plc.zh, alarm.zh),
        ),
        Text::new(
            "Train operators to acknowledge and act on alarms; review alarm rationalisation for these tags.",
            "培训操作人员确认并处置报警；复核相关位号的报警设置。",
        ),
    )
}

/// The cause unacknowledged alarms share.
pub(super) fn alarm_cause() -> Text {
    Text::new("Alarms were left unacknowledged", "报警未被确认处置")
}

/// `detect`: step `name` (techniques `techniques`) not reported within `minutes`.
/// `ended`: the seconds the drill ran after the step's first attempt, when it has ended (or
/// has reached, while it runs) before the detection window (`minutes`) did.
pub(super) fn detect(name: &Text, techniques: &[&str], minutes: u64, ended: Option<u64>) -> Says {
    let (en, zh) = (techniques.join(", "), techniques.join("、"));
    let detail = match ended {
        None => Text::new(
            format!(
                "{} ({en}) was not reported with its asset and technique within {minutes} min of its first attempt.",
                name.en
            ),
            format!("{}（{zh}）在首次出现后 {minutes} 分钟内未被报告（资产与技术）。", name.zh),
        ),
        Some(s) => {
            let s = s.max(1);
            let (t_en, t_zh) = if s < 60 {
                (format!("{s} s"), format!("{s} 秒"))
            } else {
                (format!("{} min", s / 60), format!("{} 分钟", s / 60))
            };
            Text::new(
                format!(
                    "{} ({en}) was not reported with its asset and technique in the {t_en} the drill ran after its first attempt (the detection window is {minutes} min).",
                    name.en
                ),
                format!(
                    "{}（{zh}）首次出现后演练进行的 {t_zh}内未被报告（资产与技术；发现时限为 {minutes} 分钟）。",
                    name.zh
                ),
            )
        }
    };
    (
        Text::new(format!("“{}” went unreported", name.en), format!("攻击步骤“{}”未被报告", name.zh)),
        detail,
        Text::new(
            "Watch the Modbus transaction log and monitoring alerts for these patterns; drill the team on reporting technique, asset and time.",
            "监视 Modbus 通信记录和监测告警中的此类特征；训练团队报告技术、资产和时间。",
        ),
    )
}

/// The cause unreported attack steps share.
pub(super) fn detect_cause() -> Text {
    Text::new("Attack steps went unreported", "攻击步骤未被发现和报告")
}

/// `plan`: response-plan step `name`, due within `minutes`, done late or missed.
pub(super) fn plan(name: &Text, minutes: u64, late: bool) -> Says {
    (
        Text::new(
            format!("Response plan step “{}” {}", name.en, if late { "done late" } else { "missed" }),
            format!("应急预案步骤“{}”{}", name.zh, if late { "超时完成" } else { "未执行" }),
        ),
        Text::new(
            format!(
                "{}: due within {minutes} min of the attack's start, {}.",
                name.en,
                if late { "done after the deadline" } else { "not done" }
            ),
            format!(
                "{}：应在攻击开始后 {minutes} 分钟内完成，{}。",
                name.zh,
                if late { "实际超时完成" } else { "实际未执行" }
            ),
        ),
        Text::new(
            format!("Rehearse “{}” in the plan's playbook; name who does it and by when.", name.en),
            format!("在预案处置卡中演练“{}”步骤，明确责任人和时限。", name.zh),
        ),
    )
}
