//! The words of a score card, in English and Chinese: each part's label and why it earned
//! what it did.

use icsdrill_engine::scenario::Text;

pub(super) fn detection(detected: usize, fired: usize, partial: usize) -> (Text, Text) {
    (
        Text::new("Detection", "检测"),
        Text::new(
            format!(
                "{detected} of {fired} attack steps fired reported with technique and asset, {partial} with asset and tactic only"
            ),
            format!(
                "已发动的 {fired} 个攻击步骤中 {detected} 个报告了正确的技术和资产，{partial} 个仅资产和战术正确"
            ),
        ),
    )
}

/// Detection on a provisional card: only the steps the team's reports matched count.
pub(super) fn detection_reported(detected: usize, partial: usize) -> (Text, Text) {
    (
        Text::new("Detection", "检测"),
        Text::new(
            format!(
                "points so far: your reports have matched {detected} attack {} with technique and asset, {partial} with asset and tactic only; steps not reported count at the hot wash",
                plural(detected, "step", "steps")
            ),
            format!(
                "目前得分：你的报告已命中 {detected} 个攻击步骤（技术和资产正确），{partial} 个仅资产和战术正确；未报告的步骤在复盘时计入"
            ),
        ),
    )
}

/// A provisional card's part that is judged at the hot wash.
pub(super) fn withheld() -> Text {
    Text::new("judged at the hot wash from what the plant really did", "复盘时根据装置的实际情况评定")
}

pub(super) fn time_label(key: &str) -> Text {
    match key {
        "time_to_detect" => Text::new("Time to detect", "检测用时"),
        "time_to_contain" => Text::new("Time to contain", "遏制用时"),
        _ => Text::new("Time to recover", "恢复用时"),
    }
}

/// Why a timed part earned nothing: the step never came.
pub(super) fn never(key: &str) -> Text {
    match key {
        "time_to_detect" => Text::new("no report matched the attack", "没有与攻击相符的报告"),
        "time_to_contain" => Text::new(
            "no containing action (block, allow-list, write window, isolate, range checks)",
            "没有遏制措施（封禁、白名单、写入范围、隔离、范围检查）",
        ),
        _ => Text::new("attack changed the process; nothing restored", "攻击改变了工艺，但未恢复"),
    }
}

pub(super) fn no_attack() -> Text {
    Text::new("no attack yet: nothing to do", "尚无攻击：无需处置")
}

pub(super) fn nothing_to_recover() -> Text {
    Text::new("the attack changed nothing to recover", "攻击未造成需恢复的改变")
}

/// How long a timed part took, and from when: detecting and containing count from the
/// attack's start, recovering from its first change to the process (an auditor read "recovered
/// in 2.7 min, contained in 4.7" as recovered before contained).
pub(super) fn took(key: &str, minutes: f64, target_minutes: f64) -> Text {
    let (from_en, from_zh) = match key {
        "time_to_recover" => ("the attack's first change to the process", "攻击首次改变工艺起"),
        _ => ("the attack's start", "攻击开始起"),
    };
    Text::new(
        format!("after {minutes:.1} min from {from_en} (no points at {target_minutes:.0} min)"),
        format!("自{from_zh}用时 {minutes:.1} 分钟（{target_minutes:.0} 分钟时得分为零）"),
    )
}

pub(super) fn trips(n: usize, damaged: bool, defeated: usize) -> (Text, Text) {
    let detail = if n == 0 && damaged {
        Text::new(
            "no safety trip, but the plant was damaged: a safety function that failed avoided nothing",
            "安全联锁未动作，但设备已损坏：安全功能失效不算避免停车",
        )
    } else if n == 0 && defeated > 0 {
        Text::new(
            format!(
                "no safety trip, but {defeated} interlock demands met a bypass: the plant ran without its protection"
            ),
            format!(
                "安全联锁未动作，但有 {defeated} 次联锁动作条件因旁路未能动作：装置在失去保护的情况下运行"
            ),
        )
    } else {
        Text::new(format!("{n} safety trips"), format!("安全联锁动作 {n} 次"))
    };
    (Text::new("Trip avoided", "避免联锁停车"), detail)
}

pub(super) fn damage(n: usize) -> (Text, Text) {
    (
        Text::new("Damage avoided", "避免设备损坏"),
        Text::new(format!("{n} damage events"), format!("设备损坏 {n} 次")),
    )
}

pub(super) fn uptime(minutes: f64) -> (Text, Text) {
    (
        Text::new("Uptime", "运行时间"),
        Text::new(
            format!("{minutes:.1} min tripped or outside the safe window"),
            format!("联锁停车或超出安全范围 {minutes:.1} 分钟"),
        ),
    )
}

pub(super) fn report_quality(best: usize) -> (Text, Text) {
    (
        Text::new("Report quality", "报告质量"),
        Text::new(
            format!(
                "best report matching the attack has {best} of 6 fields (technique, asset, time, tactic, impact, actions)"
            ),
            format!("与攻击相符的最佳报告包含 6 项中的 {best} 项（技术、资产、时间、战术、影响、处置措施）"),
        ),
    )
}

pub(super) fn plan(done: usize, n: usize, late: usize) -> (Text, Text) {
    (
        Text::new("Response plan", "应急预案执行"),
        Text::new(
            format!("{done} of {n} plan steps done in time, {late} late"),
            format!("预案 {n} 个步骤中 {done} 个按时完成，{late} 个超时"),
        ),
    )
}

pub(super) fn flags(solved: usize, offered: usize, foreign: usize) -> (Text, Text) {
    (
        Text::new("Contest flags", "夺旗"),
        Text::new(
            format!(
                "{solved} of {offered} {} solved; {foreign} {} of other teams submitted (no points)",
                plural(offered, "challenge", "challenges"),
                plural(foreign, "flag", "flags")
            ),
            format!("{offered} 个挑战中解出 {solved} 个；提交其他队伍的旗标 {foreign} 次（不得分）"),
        ),
    )
}

pub(super) fn false_positives(n: usize) -> (Text, Text) {
    (
        Text::new("False-positive reports", "误报"),
        Text::new(
            format!("{n} {} matched no attack step", plural(n, "report", "reports")),
            format!("{n} 份报告与攻击步骤不符"),
        ),
    )
}

pub(super) fn destructive(n: usize) -> (Text, Text) {
    (
        Text::new("Destructive actions", "破坏性操作"),
        Text::new(
            format!("{n} PLC {}", plural(n, "restart or stop", "restarts or stops")),
            format!("重启或停止 PLC {n} 次"),
        ),
    )
}

pub(super) fn hints(n: usize) -> (Text, Text) {
    (
        Text::new("Hints", "提示"),
        Text::new(format!("{n} {} taken", plural(n, "hint", "hints")), format!("使用提示 {n} 条")),
    )
}

/// `one` for one of a thing, `many` for any other count ("1 hint", "0 hints").
fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_as_english() {
        assert_eq!(super::hints(1).1.en, "1 hint taken");
        assert_eq!(super::hints(0).1.en, "0 hints taken");
        assert_eq!(super::destructive(1).1.en, "1 PLC restart or stop");
        assert_eq!(super::destructive(2).1.en, "2 PLC restarts or stops");
        assert_eq!(
            super::flags(1, 1, 1).1.en,
            "1 of 1 challenge solved; 1 flag of other teams submitted (no points)"
        );
        assert!(super::flags(0, 2, 0).1.zh.contains("其他队伍的旗标 0 次"));
        // Each timed part says what it counts from.
        assert!(super::took("time_to_recover", 2.7, 15.0).en.contains("from the attack's first change"));
        assert!(super::took("time_to_contain", 4.7, 15.0).zh.starts_with("自攻击开始起用时 4.7 分钟"));
        // A trainee's walk read "matched 1 attack steps".
        assert!(super::detection_reported(1, 0).1.en.contains("matched 1 attack step with"));
        assert!(super::detection_reported(2, 0).1.en.contains("matched 2 attack steps with"));
    }
}
