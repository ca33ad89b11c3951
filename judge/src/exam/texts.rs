//! The words of the exam: each task's title in English and Chinese.

use icsdrill_engine::scenario::Text;

/// What the trainee had to do for task `id`.
pub(super) fn title(id: &str) -> Text {
    let (en, zh) = match id {
        "cut-path" => (
            "Cut the attacker's path into the control network (conduit policy or isolation)",
            "切断攻击者进入控制网络的路径（通道策略或隔离）",
        ),
        "protect-sis" => (
            "Keep the safety system out of the attacker's reach once contained",
            "遏制后使安全仪表系统不受攻击者影响",
        ),
        "validate-writes" => (
            "Enforce set-point range checks or write windows on the attacked PLCs (M0818)",
            "在被攻击 PLC 上启用设定值范围检查或写入范围（M0818）",
        ),
        "allow-list" => {
            ("Put a function-code allow-list on a conduit (M0937)", "在通道上配置功能码白名单（M0937）")
        }
        "detect" => (
            "Detect the attack steps and report them with the right ATT&CK for ICS ids",
            "发现攻击步骤并以正确的 ATT&CK for ICS 编号报告",
        ),
        "hazards" => (
            "Find the plant's hidden hazards (declare each by its cause: conduit:ID, range:PLC, backup:PLC, safety:damage)",
            "找出工厂的安全隐患（按成因申报：conduit:通道、range:PLC、backup:PLC、safety:damage）",
        ),
        "restore" => (
            "Undo what the attack changed on every PLC: set points, interlock bypasses, logic",
            "撤销攻击对各 PLC 的改动：设定值、联锁旁路与程序",
        ),
        "report" => (
            "File an incident report that credits the attack, with impact and actions",
            "提交与攻击相符、包含影响和处置措施的事件报告",
        ),
        _ => ("Contain without damage or loss of safety", "在不造成设备损坏或安全功能丧失的前提下完成处置"),
    };
    Text::new(en, zh)
}
