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

/// `path`: conduit `conduit` let step `step` (named `name`) through from `from` to `asset`.
pub(super) fn path(conduit: &str, step: &str, name: &Text, from: &str, asset: &str) -> Says {
    (
        Text::new(
            format!("Conduit {conduit} let the attack step `{step}` through"),
            format!("通道 {conduit} 未阻断攻击步骤“{step}”"),
        ),
        Text::new(
            format!(
                "{} succeeded from {from} to {asset} across conduit {conduit}: its policy allows this source and function.",
                name.en
            ),
            format!(
                "{}：攻击者从 {from} 经通道 {conduit} 到达 {asset} 并成功，该通道策略放行了此来源和功能码。",
                name.zh
            ),
        ),
        Text::new(
            format!(
                "Restrict conduit {conduit} to the listed masters and function codes (FC allow-list, write address and value windows); keep office and DMZ hosts out of the control zone."
            ),
            format!(
                "收紧通道 {conduit} 策略：仅允许登记的主站和功能码（功能码白名单、写地址与数值范围），办公区和隔离区主机不得进入控制区。"
            ),
        ),
    )
}

/// `range`: PLC `plc` accepted set points outside their range.
pub(super) fn range(plc: &str) -> Says {
    (
        Text::new(
            format!("{plc} accepts set points outside their range"),
            format!("{plc} 接受超出范围的设定值"),
        ),
        Text::new(
            format!(
                "{plc} applied register writes outside the declared engineering range: set-point range checks (M0818) are off."
            ),
            format!("{plc} 接受了超出工程量程的寄存器写入：未启用设定值范围检查（M0818）。"),
        ),
        Text::new(
            format!(
                "Turn on set-point range checks in {plc} and clamp to a safe value on violation; log and alarm rejected writes."
            ),
            format!("在 {plc} 中启用设定值范围检查，越限时钳位到安全值，并记录和报警被拒绝的写入。"),
        ),
    )
}

/// `backup`: PLC `plc`'s program changed with no backup.
pub(super) fn backup(plc: &str) -> Says {
    (
        Text::new(format!("No program backup for {plc}"), format!("{plc} 无程序备份")),
        Text::new(
            format!(
                "The program of {plc} changed during the drill and there is no backup to restore it from."
            ),
            format!("演练中 {plc} 的程序被修改，且没有可用于恢复的备份。"),
        ),
        Text::new(
            format!(
                "Keep a verified offline backup of {plc}'s program and configuration; compare the running program's hash with it daily."
            ),
            format!("为 {plc} 的程序和组态保留经校验的离线备份，并每日比对运行程序哈希。"),
        ),
    )
}

/// `safety`: equipment damaged (the variables that reached a limit).
pub(super) fn damage(vars: &[String]) -> Says {
    (
        Text::new("Equipment damaged", "设备损坏"),
        Text::new(
            format!(
                "The process reached a damage limit ({}): the safety layers did not hold.",
                vars.join(", ")
            ),
            format!("工艺达到损坏限值（{}）：安全防护层未能守住。", vars.join("、")),
        ),
        Text::new(
            "Make the safety instrumented system independent of the control network (no remote writes to bypass coils) and back it with mechanical protection.",
            "使安全仪表系统独立于控制网络（禁止远程写入旁路线圈），并配置机械保护层。",
        ),
    )
}

/// `alarm`: alarm `alarm` on `plc` raised `times` times, never acknowledged.
pub(super) fn alarm(plc: &str, alarm: &str, times: usize) -> Says {
    (
        Text::new(format!("Alarm {alarm} was never acknowledged"), format!("报警 {alarm} 未被确认")),
        Text::new(
            format!("Alarm {alarm} on {plc} came on {times} time(s) and nobody acknowledged it."),
            format!("{plc} 上的报警 {alarm} 出现 {times} 次，无人确认。"),
        ),
        Text::new(
            "Train operators to acknowledge and act on alarms; review alarm rationalisation for this tag.",
            "培训操作人员确认并处置报警；复核该位号的报警设置。",
        ),
    )
}

/// `detect`: step `step` (named `name`, techniques `techniques`) not reported within
/// `minutes`.
pub(super) fn detect(step: &str, name: &Text, techniques: &[&str], minutes: u64) -> Says {
    (
        Text::new(format!("Attack step `{step}` went unreported"), format!("攻击步骤“{step}”未被报告")),
        Text::new(
            format!(
                "{} ({}) was not reported with its asset and technique within {minutes} min of its first attempt.",
                name.en,
                techniques.join(", ")
            ),
            format!(
                "{}（{}）在首次出现后 {minutes} 分钟内未被报告（资产与技术）。",
                name.zh,
                techniques.join("、")
            ),
        ),
        Text::new(
            "Watch the Modbus transaction log and monitoring alerts for this pattern; drill the team on reporting technique, asset and time.",
            "监视 Modbus 通信记录和监测告警中的此类特征；训练团队报告技术、资产和时间。",
        ),
    )
}

/// `plan`: response-plan step `id` (named `name`, due within `minutes`) done late or missed.
pub(super) fn plan(id: &str, name: &Text, minutes: u64, late: bool) -> Says {
    (
        Text::new(
            format!("Response plan step `{id}` {}", if late { "done late" } else { "missed" }),
            format!("应急预案步骤“{id}”{}", if late { "超时完成" } else { "未执行" }),
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
            format!("Rehearse `{id}` in the plan's playbook; name who does it and by when."),
            format!("在预案处置卡中演练“{id}”步骤，明确责任人和时限。"),
        ),
    )
}
