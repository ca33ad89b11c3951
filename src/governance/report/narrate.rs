//! The timeline in words: what the attacker, the team and the plant did, named as people name
//! things (the PLC's, host's and conduit's names), never as input kinds or ids.

use icsdrill_engine::scenario::{AlarmLevel, Scenario, Text};
use icsdrill_engine::{PlcMode, SimInput};

/// A name put into an English sentence: a common noun capitalised as a title loses its
/// capital (`from office workstation`, not `from Office workstation`); a tag or an acronym
/// keeps it (`DMZ historian replica`, `T-101 tank PLC`). Chinese is as it is.
pub(super) fn mid_sentence(name: Text) -> Text {
    let mut c = name.en.chars();
    let en = match (c.next(), c.next()) {
        (Some(first), Some(second)) if first.is_ascii_uppercase() && second.is_ascii_lowercase() => {
            format!("{}{}", first.to_ascii_lowercase(), &name.en[1..])
        }
        _ => name.en,
    };
    Text { en, zh: name.zh }
}

/// An alarm level in words.
pub(super) fn level(l: AlarmLevel) -> Text {
    match l {
        AlarmLevel::LoLo => Text::new("low-low", "低低"),
        AlarmLevel::Lo => Text::new("low", "低"),
        AlarmLevel::Hi => Text::new("high", "高"),
        AlarmLevel::HiHi => Text::new("high-high", "高高"),
    }
}

/// A team's action in words (`None`: not a defender action). A host's name runs inside the
/// sentence (`mid_sentence`); a conduit's (`Supervisory → Control`) is a name.
pub(super) fn action(s: &Scenario, input: &SimInput) -> Option<Text> {
    let (l, host) = (|id: &str| s.label(id), |id: &str| mid_sentence(s.label(id)));
    let t = |en: String, zh: String| Some(Text::new(en, zh));
    if let Some((plc, [en, en_after, zh, zh_after])) = on_plc(input) {
        let p = l(plc);
        return t(format!("{en}{}{en_after}", p.en), format!("{zh}{}{zh_after}", p.zh));
    }
    match input {
        SimInput::BlockSource { conduit, host: id } => {
            let (c, h) = (l(conduit), host(id));
            t(format!("Blocked {} on the {} conduit", h.en, c.en), format!("在{}通道阻断{}", c.zh, h.zh))
        }
        SimInput::AllowFunctions { conduit, functions } => {
            let c = l(conduit);
            let fcs = functions.iter().map(u8::to_string).collect::<Vec<_>>().join(", ");
            t(
                format!("Allowed only function codes {fcs} on the {} conduit", c.en),
                format!("{}通道仅允许功能码 {fcs}", c.zh),
            )
        }
        SimInput::RestrictWrites { conduit, plc, start, end, .. } => {
            let (c, p) = (l(conduit), l(plc));
            t(
                format!("Restricted writes to {} registers {start}-{end} on the {} conduit", p.en, c.en),
                format!("在{}通道限制对{}寄存器 {start}-{end} 的写入", c.zh, p.zh),
            )
        }
        SimInput::ResetConduit { conduit } => {
            let c = l(conduit);
            t(format!("Reset the {} conduit's rules", c.en), format!("恢复{}通道策略", c.zh))
        }
        SimInput::IsolateHost { host: id } => {
            let h = host(id);
            t(format!("Isolated {} from the network", h.en), format!("将{}隔离出网络", h.zh))
        }
        SimInput::RestoreHost { host: id } => {
            let h = host(id);
            t(format!("Reconnected {}", h.en), format!("恢复{}网络连接", h.zh))
        }
        SimInput::ReimageHost { host: id } => {
            let h = host(id);
            t(format!("Re-imaged {}", h.en), format!("重装{}系统", h.zh))
        }
        SimInput::SetMode { plc, mode } => {
            let p = l(plc);
            let (en, zh) = match mode {
                PlcMode::Run => ("RUN", "运行"),
                PlcMode::Stop => ("STOP", "停止"),
                PlcMode::Program => ("PROGRAM", "编程"),
            };
            t(format!("Put {} in {en} mode", p.en), format!("将{}切换到{zh}模式", p.zh))
        }
        SimInput::RestoreSensor { sensor } => {
            let x = l(sensor);
            t(format!("Restored {}", x.en), format!("恢复{}", x.zh))
        }
        SimInput::LocalControl { actuator, position } => {
            let a = l(actuator);
            let at = position.map(|p| format!(" ({:.0} %)", p * 100.0)).unwrap_or_default();
            t(format!("Took {} into local control{at}", a.en), format!("将{}切至就地控制{at}", a.zh))
        }
        SimInput::AcknowledgeAlarm { alarm, .. } => {
            let a = l(alarm);
            t(format!("Acknowledged the {}", a.en), format!("确认{}", a.zh))
        }
        SimInput::Notify { to, .. } => {
            // The usual addressees in words; any other as written.
            let (en, zh) = match to.as_str() {
                "duty_officer" => ("the duty officer", "值班人员"),
                "management" => ("management", "管理层"),
                "authority" => ("the authority", "主管部门"),
                other => return Some(verbatim(format!("Notified {other}"), format!("通知：{other}"))),
            };
            t(format!("Notified {en}"), format!("通知{zh}"))
        }
        SimInput::DeclareHazard { id } => {
            Some(verbatim(format!("Declared a hidden hazard ({id})"), format!("申报安全隐患（{id}）")))
        }
        _ => None,
    }
}

/// The defender actions done to one PLC, said the same way: the PLC and the words around its
/// name, in English and in Chinese.
fn on_plc(input: &SimInput) -> Option<(&str, [&'static str; 4])> {
    Some(match input {
        SimInput::RestoreSetpoints { plc } => (plc, ["Restored the set points of ", "", "恢复", "的设定值"]),
        SimInput::ClearBypasses { plc } => {
            (plc, ["Took the interlock bypasses of ", " off", "解除", "的联锁旁路"])
        }
        SimInput::ReplaceModule { plc } => (plc, ["Fitted a spare module in ", "", "为", "更换备用模块"]),
        SimInput::RestoreProgram { plc } => {
            (plc, ["Restored the program of ", " from backup", "从备份恢复", "的程序"])
        }
        SimInput::RestartPlc { plc } => (plc, ["Restarted ", "", "重启", ""]),
        SimInput::EnableRangeChecks { plc } => {
            (plc, ["Turned on set-point range checks in ", "", "启用", "的设定值范围检查"])
        }
        _ => return None,
    })
}

/// Text that quotes what somebody typed, kept as typed (`Text::new` would space its Chinese
/// where it meets Latin letters, and the quote would no longer be what was sent).
pub(super) fn verbatim(en: String, zh: String) -> Text {
    Text { en, zh }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_somebody_typed_is_quoted_as_typed() {
        let s = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().load().unwrap();
        let notify = SimInput::Notify { to: "安监局值班室A组".into(), text: String::new() };
        assert_eq!(action(&s, &notify).unwrap().zh, "通知：安监局值班室A组");
        let declared = SimInput::DeclareHazard { id: "path:overfill储罐".into() };
        assert_eq!(action(&s, &declared).unwrap().zh, "申报安全隐患（path:overfill储罐）");
    }

    #[test]
    fn actions_name_things_as_people_do() {
        let s = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().load().unwrap();
        let host = &s.hosts[0];
        let a = action(&s, &SimInput::IsolateHost { host: host.id.clone() }).unwrap();
        // By its name, as written inside a sentence (`office workstation`).
        assert!(a.en.contains(&mid_sentence(host.name.clone()).en) && !a.en.contains(&host.id), "{a:?}");
        assert!(a.zh.contains(&host.name.zh), "{a:?}");
        let c = &s.conduits[0];
        let b = action(&s, &SimInput::ResetConduit { conduit: c.id.clone() }).unwrap();
        assert!(b.en.contains('→') && !b.en.contains(&c.id), "{b:?}");
    }
}
