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
