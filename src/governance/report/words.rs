//! The report's words in each language: section titles, the overview's rows, the names of
//! tiers, statuses, roles and ATT&CK techniques, and the rating legend.

use icsdrill_judge::findings::{Merged, Status};

use super::{Lang, Report};

/// Who did a timeline line, in words.
pub(crate) fn who_word(who: &str, l: Lang) -> &'static str {
    match who {
        "attacker" => l.s("attacker", "攻击方"),
        "team" => l.s("team", "队伍"),
        "plant" => l.s("plant", "工艺"),
        _ => l.s("white cell", "导调组"),
    }
}

/// A POETE capability element (HSEEP: planning, organization, equipment, training,
/// exercises) in words.
pub(crate) fn element_word(e: &str, l: Lang) -> &str {
    match e {
        "Planning" => l.s("Planning", "规划"),
        "Organization" => l.s("Organization", "组织"),
        "Equipment" => l.s("Equipment", "装备"),
        "Training" => l.s("Training", "培训"),
        "Exercises" => l.s("Exercises", "演练"),
        other => other,
    }
}

/// A finding's techniques as a report names them, `T1692.001 name (T0855)`, the name in the
/// report's language (a Chinese report's with the English beside it).
pub(super) fn technique_labels(f: &Merged, l: Lang) -> Vec<String> {
    f.assessment
        .techniques
        .iter()
        .map(|t| {
            // The v18 id only where v19 renumbered it (`T0836 Modify Parameter (T0836)` said it twice).
            let was = if t.v18 == t.v19 { String::new() } else { l.paren(t.v18) };
            format!("{} {}{was}", t.v19, l.pick(&t.names()))
        })
        .collect()
}

/// A finding's mitigations as a report names them, in its language.
pub(super) fn mitigation_labels(ids: &[&str], l: Lang) -> Vec<String> {
    icsdrill_judge::findings::mitigation_names(ids).iter().map(|m| l.pick(m).to_string()).collect()
}

/// A severity tier in words.
pub(crate) fn severity_word(sev: icsdrill_judge::findings::Severity, l: Lang) -> &'static str {
    use icsdrill_judge::findings::Severity as S;
    match sev {
        S::Critical => l.s("critical", "严重"),
        S::High => l.s("high", "高"),
        S::Medium => l.s("medium", "中"),
        S::Low => l.s("low", "低"),
    }
}

/// A rectification status in words.
pub(crate) fn status_word(st: Status, l: Lang) -> &'static str {
    match st {
        Status::Open => l.s("open", "未整改"),
        Status::Fixed => l.s("fixed, to be verified", "已整改待复核"),
        Status::Verified => l.s("verified fixed", "已复核整改"),
    }
}

/// A finding's rectification status as the report prints it, and, when the team contained
/// it during the drill, when and how (it stays open: a stopgap in the drill is not a
/// verified rectification).
pub(crate) fn status_text(a: &icsdrill_judge::findings::Assessment, l: Lang) -> String {
    let word = status_word(a.status, l);
    match &a.contained {
        None => word.to_string(),
        Some(c) => match l {
            Lang::En => format!(
                "{word}; contained during the drill at t {:.0} s: {} (entry {})",
                c.at_s, c.how.en, c.seq
            ),
            Lang::Zh => {
                format!("{word}；演练中已于第 {:.0} 秒临时控制：{}（日志序号 {}）", c.at_s, c.how.zh, c.seq)
            }
        },
    }
}

/// Section titles.
pub(crate) struct Words {
    pub(crate) title: &'static str,
    pub(crate) overview: &'static str,
    pub(crate) summary: &'static str,
    pub(crate) capabilities: &'static str,
    pub(crate) strengths: &'static str,
    pub(crate) improvements: &'static str,
    pub(crate) timeline: &'static str,
    pub(crate) charts: &'static str,
    pub(crate) findings: &'static str,
    pub(crate) plan: &'static str,
    /// The heading of the re-test of earlier drills' findings.
    pub(crate) retest: &'static str,
    pub(crate) ids: &'static str,
    pub(crate) score: &'static str,
}

pub(crate) fn words(l: Lang) -> Words {
    Words {
        title: l.s("After-action report and improvement plan", "演练总结报告与整改计划"),
        overview: l.s("1. Overview", "一、演练概况"),
        summary: l.s("2. Executive summary", "二、总体评价"),
        capabilities: l.s("3. Capability analysis", "三、能力评估"),
        strengths: l.s("Strengths", "优势"),
        improvements: l.s("Areas for improvement", "待改进项"),
        timeline: l.s("4. Timeline: attack steps and team actions", "四、时间线：攻击步骤与队伍处置"),
        charts: l.s(
            "The attack against the response, and the process (dashed: attack in red, team actions in blue)",
            "攻击与处置对照及工艺趋势（虚线：红色为攻击，蓝色为队伍处置）",
        ),
        findings: l.s("5. Findings (hidden hazards)", "五、发现的安全隐患"),
        plan: l.s("Appendix A. Improvement plan", "附录A 整改计划"),
        retest: l.s("Re-test of earlier hidden hazards", "既往隐患复核"),
        ids: l.s("Appendix B. Identifiers", "附录B 标识对照"),
        score: l.s("Score", "得分"),
    }
}

/// The report's document number: the drill and the team, so a filed copy names its source.
pub(crate) fn document_number(r: &Report) -> String {
    format!("ICSD-{}-{}", r.context.drill_id, r.context.team_id)
}

/// The legend of the capability ratings (HSEEP's four levels).
pub(crate) fn rating_legend(l: Lang) -> [(char, &'static str); 4] {
    [
        (
            'P',
            l.s(
                "Performed without challenges (90 % or more of the points)",
                "完全胜任：顺利完成（得分率 ≥ 90%）",
            ),
        ),
        ('S', l.s("Performed with some challenges (60-90 %)", "基本胜任：完成但存在一些问题（60%-90%）")),
        ('M', l.s("Performed with major challenges (30-60 %)", "部分胜任：完成但存在重大问题（30%-60%）")),
        ('U', l.s("Unable to be performed (under 30 %)", "不胜任：未能完成（< 30%）")),
    ]
}

/// The sign-off lines of a filed copy.
pub(crate) fn sign_off(l: Lang) -> [&'static str; 4] {
    [l.s("Prepared by", "编制"), l.s("Reviewed by", "审核"), l.s("Approved by", "批准"), l.s("Date", "日期")]
}

pub(crate) fn overview_rows(r: &Report, l: Lang) -> Vec<(&'static str, String)> {
    let c = &r.context;
    // Named as a reader says them, not as the command line's ids (`contest` read as one).
    let mode = match c.mode {
        icsdrill_drill::Mode::Regional => l.s("Regional live drill", "实网应急演练"),
        icsdrill_drill::Mode::Enterprise => l.s("Enterprise drill", "企业自主演练"),
        icsdrill_drill::Mode::Contest => l.s("Security contest", "安全竞赛"),
        icsdrill_drill::Mode::Exam => l.s("Certification exam", "能力考核"),
    };
    let mut rows = vec![
        (l.s("Document No.", "文件编号"), document_number(r)),
        // A drill named after its scenario (the default) is called by its title in the
        // report's language.
        (
            l.s("Drill", "演练"),
            format!(
                "{}{}",
                if c.drill_name == r.title.en { l.pick(&r.title) } else { &c.drill_name },
                l.paren(&c.drill_id)
            ),
        ),
        (l.s("Mode", "形式"), mode.to_string()),
    ];
    if let Some(o) = &c.cover.organiser {
        rows.push((l.s("Organiser", "主办单位"), o.clone()));
    }
    rows.push((l.s("Date", "日期"), c.date.to_string()));
    if let Some(p) = &c.cover.place {
        rows.push((l.s("Place", "地点"), p.clone()));
    }
    rows.extend([
        (l.s("Scenario", "场景"), format!("{}{}", l.pick(&r.title), l.paren(&r.scenario))),
        // A team named by its id (`--teams blue`) once: it read `blue (blue)`.
        (
            l.s("Team / enterprise", "队伍/企业"),
            if c.team_name == c.team_id {
                c.team_id.clone()
            } else {
                format!("{}{}", c.team_name, l.paren(&c.team_id))
            },
        ),
        (l.s("Security level", "安全等级"), format!("{}", c.level)),
        (l.s("Seed", "随机种子"), c.seed.to_string()),
        // How long it was played: a drill ended early is judged over what it ran.
        (l.s("Duration", "演练时长"), played(r, l)),
        // An exam's result is its grade.
        match &r.exam {
            Some(g) => (
                l.s("Exam result", "考核成绩"),
                format!(
                    "{:.1} / {:.0}{}",
                    g.total,
                    g.max,
                    l.paren(if g.passed { l.s("passed", "通过") } else { l.s("not passed", "未通过") })
                ),
            ),
            // Out of what every scored part could give (a contest's flags, a penalty aside).
            None => (
                l.s("Score", "得分"),
                format!(
                    "{:.1} / {:.0}",
                    r.score.total,
                    r.score.components.iter().map(|c| c.max.max(0.0)).sum::<f64>()
                ),
            ),
        },
    ]);
    rows
}

/// How long the drill was played, in minutes of plant time, and of how long it was planned
/// when it ended early.
fn played(r: &Report, l: Lang) -> String {
    let min = |s: f64| {
        let m = s / 60.0;
        if (m - m.round()).abs() < 0.05 { format!("{m:.0}") } else { format!("{m:.1}") }
    };
    let (end, planned) = (min(r.end_s), min(r.planned_s));
    // A record ends at its last event, up to a sample interval (10 s) before the clock did: half
    // a minute short is played in full.
    if r.end_s + 30.0 < r.planned_s {
        // Measured against what `build` planned it for: an exam's time limit, else the
        // drill's own length, else the scenario's.
        let of = match (r.exam.is_some(), r.context.planned_s.is_some()) {
            (true, _) => l.s("the exam's", "考核时限"),
            (false, true) => l.s("the drill's planned", "演练计划"),
            (false, false) => l.s("the scenario's", "场景设计"),
        };
        match l {
            Lang::En => format!("{end} min of {of} {planned} (ended early)"),
            Lang::Zh => format!("{end} 分钟（{of} {planned} 分钟，提前结束）"),
        }
    } else {
        match l {
            Lang::En => format!("{end} min"),
            Lang::Zh => format!("{end} 分钟"),
        }
    }
}

/// The drill score's heading: beside an exam's grade, it is for reference only.
pub(crate) fn score_title(r: &Report, l: Lang, w: &Words) -> &'static str {
    if r.exam.is_some() {
        l.s(
            "Drill score (for reference; the exam's result is its grade)",
            "演练评分（仅供参考，考核以考核成绩为准）",
        )
    } else {
        w.score
    }
}
