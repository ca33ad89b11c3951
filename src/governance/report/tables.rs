//! The report's tables as plain text, each defined once for every format: the HTML page
//! escapes the cells, the Markdown makes them table cells, the workbook writes them as text.

use super::{Lang, Report};

/// Column heads and rows of plain text.
pub(super) struct Table {
    /// Column heads.
    pub(super) heads: Vec<&'static str>,
    /// Rows, a cell a column.
    pub(super) rows: Vec<Vec<String>>,
}

/// The capability ratings: an objective, its rating (P/S/M/U) and its basis.
pub(super) fn objectives(r: &Report, l: Lang) -> Table {
    Table {
        heads: vec![l.s("Objective", "目标"), l.s("Rating", "评级"), l.s("Basis", "依据")],
        rows: r
            .objectives
            .iter()
            .map(|ob| {
                vec![l.pick(&ob.name).to_string(), ob.rating.to_string(), l.pick(&ob.basis).to_string()]
            })
            .collect(),
    }
}

/// The score: each part's points and what earned them, the total last.
pub(super) fn score(r: &Report, l: Lang) -> Table {
    let mut rows: Vec<Vec<String>> = r
        .score
        .components
        .iter()
        .map(|c| {
            vec![l.pick(&c.label).to_string(), format!("{:.1}", c.points), l.pick(&c.detail).to_string()]
        })
        .collect();
    rows.push(vec![l.s("Total", "总分").to_string(), format!("{:.1}", r.score.total), String::new()]);
    Table { heads: vec![l.s("Part", "评分项"), l.s("Points", "得分"), l.s("Basis", "依据")], rows }
}

/// The improvement plan: a corrective action a row.
pub(super) fn plan(r: &Report, l: Lang) -> Table {
    Table {
        heads: vec![
            l.s("Finding", "隐患编号"),
            l.s("Issue", "问题"),
            l.s("Corrective action", "整改措施"),
            l.s("POETE element", "能力要素（POETE）"),
            l.s("Owner", "责任部门/人"),
            l.s("Grade", "等级"),
            l.s("Start", "开始"),
            l.s("Due", "整改期限"),
        ],
        rows: r
            .plan
            .iter()
            .map(|p| {
                vec![
                    p.finding.clone(),
                    l.pick(&p.issue).to_string(),
                    l.pick(&p.action).to_string(),
                    super::element_word(p.element, l).to_string(),
                    l.pick(&p.owner).to_string(),
                    l.pick(&p.grade).to_string(),
                    p.start.to_string(),
                    p.due.to_string(),
                ]
            })
            .collect(),
    }
}

/// The response plan, step by step: what it asks by when, when the team did it, and how that
/// stands; where the drill scores the plan.
pub(super) fn response_plan(r: &Report, l: Lang) -> Option<Table> {
    use icsdrill_judge::score::PlanStatus;
    if r.response_plan.is_empty() {
        return None;
    }
    let at = |t: f64| match l {
        Lang::En => format!("t {t:.0} s"),
        Lang::Zh => format!("第 {t:.0} 秒"),
    };
    let rows = r
        .response_plan
        .iter()
        .map(|p| {
            let within = match l {
                Lang::En => format!("within {:.0} min of the attack's start", p.within_min),
                Lang::Zh => format!("攻击开始后 {:.0} 分钟内", p.within_min),
            };
            let status = match p.status {
                PlanStatus::Done => l.s("in time", "按时完成"),
                PlanStatus::Late => l.s("late", "超时完成"),
                PlanStatus::Missed => l.s("missed", "未完成"),
                // A report is of a drill over (or in its hot wash): due after its end.
                PlanStatus::Pending => l.s(
                    "not done when the drill ended (due after its end)",
                    "演练结束时未完成（期限在演练结束之后）",
                ),
            };
            vec![
                l.pick(&p.name).to_string(),
                match p.due_s {
                    Some(due) => format!("{within}{}", l.paren(&at(due))),
                    None => within,
                },
                p.done_s.map_or_else(|| "—".to_string(), at),
                status.to_string(),
            ]
        })
        .collect();
    Some(Table {
        heads: vec![
            l.s("Plan step", "预案步骤"),
            l.s("Required", "要求时限"),
            l.s("Done", "完成时间"),
            l.s("Status", "执行情况"),
        ],
        rows,
    })
}

/// An exam's grade: each task's area, what it asked, its points and why, the total last.
pub(super) fn exam(r: &Report, l: Lang) -> Option<Table> {
    let g = r.exam.as_ref()?;
    let area = |a: &str| match a {
        "architecture" => l.s("Architecture", "安全架构"),
        "implementation" => l.s("Implementation", "安全实施"),
        "operations" => l.s("Operations", "运行监测"),
        "assessment" => l.s("Assessment", "安全评估"),
        _ => l.s("Response", "应急处置"),
    };
    let mut rows: Vec<Vec<String>> = g
        .tasks
        .iter()
        .map(|t| {
            vec![
                area(t.area).to_string(),
                l.pick(&t.title).to_string(),
                format!("{:.1} / {:.0}", t.points, t.max),
                l.pick(&t.detail).to_string(),
            ]
        })
        .collect();
    let verdict = if g.passed { l.s("passed", "通过") } else { l.s("not passed", "未通过") };
    rows.push(vec![
        l.s("Total", "总分").to_string(),
        String::new(),
        format!("{:.1} / {:.0}", g.total, g.max),
        verdict.to_string(),
    ]);
    Some(Table {
        heads: vec![
            l.s("Area", "能力领域"),
            l.s("Task", "考核任务"),
            l.s("Points", "得分"),
            l.s("Basis", "依据"),
        ],
        rows,
    })
}

/// Earlier drills' hidden hazards as this drill re-tested them (复核), when there are any.
pub(super) fn retested(r: &Report, l: Lang) -> Option<Table> {
    if r.retested.is_empty() {
        return None;
    }
    let verdict = |v: &str| match v {
        "verified" => l.s(
            "verified fixed: the attack path ran and the hazard did not show",
            "已复核整改：攻击路径再次执行，隐患未再出现",
        ),
        "reopened" => {
            l.s("found again after it had been verified fixed: reopened", "整改复核后再次出现：重新打开")
        }
        "still_open" => l.s("found again: still open", "再次发现：仍未整改"),
        _ => l.s(
            "not re-tested (its attack path did not run): still open",
            "未复核（攻击路径未执行）：仍未整改",
        ),
    };
    Some(Table {
        heads: vec![
            l.s("Finding", "隐患"),
            l.s("Found in drill", "发现于演练"),
            l.s("This drill", "本次演练复核结果"),
        ],
        rows: r
            .retested
            .iter()
            .map(|x| {
                vec![
                    format!("{}{}", l.pick(&x.title), l.paren(&x.id)),
                    x.first_drill.clone(),
                    verdict(&x.verdict).to_string(),
                ]
            })
            .collect(),
    })
}
