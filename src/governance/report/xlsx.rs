//! The xlsx workbook of an after-action report: overview (with the ratings and the score),
//! timeline, findings and plan sheets.

use rust_xlsxwriter::{Format as Cell, Workbook, Worksheet};

use super::{Lang, Report, overview_rows, words};
use crate::Result;
use crate::governance::tabular::{bold, cell, header_row, text};

/// The report as an xlsx workbook, one sheet per part.
pub(super) fn xlsx(r: &Report, l: Lang) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let heading = Cell::new().set_bold();
    overview(&mut wb, r, l, &heading)?;
    summary(&mut wb, r, l, &heading)?;
    timeline(&mut wb, r, l, &heading)?;
    findings(&mut wb, r, l, &heading)?;
    plan(&mut wb, r, l, &heading)?;
    if let Some(t) = super::tables::response_plan(r, l) {
        let s = wb.add_worksheet().set_name(l.s("Response plan", "预案执行"))?;
        table(s, 0, &t, &heading)?;
        s.set_column_width(0, 40)?;
        s.set_column_width(1, 40)?;
    }
    if let Some(t) = super::tables::retested(r, l) {
        let s = wb.add_worksheet().set_name(l.s("Re-test", "既往隐患复核"))?;
        table(s, 0, &t, &heading)?;
        s.set_column_width(0, 50)?;
        s.set_column_width(2, 50)?;
    }
    Ok(wb.save_to_buffer()?)
}

/// The overview sheet: the report's overview, the capability ratings and the score.
fn overview(wb: &mut Workbook, r: &Report, l: Lang, heading: &Cell) -> Result<()> {
    let w = words(l);
    let s = wb.add_worksheet().set_name(l.s("Overview", "概况"))?;
    bold(s, 0, 0, w.title, heading)?;
    let rows = overview_rows(r, l);
    let below = rows.len() as u32 + 2;
    for (i, (k, v)) in rows.into_iter().enumerate() {
        bold(s, i as u32 + 1, 0, k, heading)?;
        // A count or a level as a number (a security level and a seed were text).
        cell(s, i as u32 + 1, 1, &v)?;
    }
    // Below the overview, however many rows it has (a cover's organiser and place took it to
    // eleven, and the ratings' heads were written over its score).
    let ratings = super::tables::objectives(r, l);
    let below_ratings = below + ratings.rows.len() as u32 + 2;
    table(s, below, &ratings, heading)?;
    let score = super::tables::score(r, l);
    let below_score = below_ratings + score.rows.len() as u32 + 2;
    table(s, below_ratings, &score, heading)?;
    if let Some(exam) = super::tables::exam(r, l) {
        table(s, below_score, &exam, heading)?;
    }
    s.set_column_width(0, 28)?;
    s.set_column_width(1, 50)?;
    Ok(())
}

/// The executive summary sheet: strengths, then what to improve (the other formats open with
/// it; the workbook had none).
fn summary(wb: &mut Workbook, r: &Report, l: Lang, heading: &Cell) -> Result<()> {
    let w = words(l);
    let s = wb.add_worksheet().set_name(l.s("Summary", "总体评价"))?;
    let mut row = 0;
    for (head, items) in [(w.strengths, &r.strengths), (w.improvements, &r.improvements)] {
        bold(s, row, 0, head, heading)?;
        for item in items {
            row += 1;
            text(s, row, 0, l.pick(item))?;
        }
        row += 2;
    }
    s.set_column_width(0, 120)?;
    Ok(())
}

/// The timeline sheet.
fn timeline(wb: &mut Workbook, r: &Report, l: Lang, heading: &Cell) -> Result<()> {
    let s = wb.add_worksheet().set_name(l.s("Timeline", "时间线"))?;
    header_row(
        s,
        0,
        &["t (s)", l.s("Who", "角色"), l.s("What", "事件"), l.s("Event no.", "事件序号")],
        heading,
    )?;
    for (i, line) in r.timeline.iter().enumerate() {
        let row = i as u32 + 1;
        s.write_number(row, 0, line.t_s)?;
        text(s, row, 1, super::who_word(line.who, l))?;
        text(s, row, 2, l.pick(&line.what))?;
        s.write_number(row, 3, line.seq as f64)?;
    }
    s.set_column_width(2, 80)?;
    Ok(())
}

/// The findings sheet.
fn findings(wb: &mut Workbook, r: &Report, l: Lang, heading: &Cell) -> Result<()> {
    let s = wb.add_worksheet().set_name(l.s("Findings", "安全隐患"))?;
    let heads = [
        // The register's key, as the report's appendix B heads it (隐患编号 is the report's
        // F-number there, the last column here).
        l.s("Hazard id (rectification register)", "隐患标识（整改台账）"),
        l.s("Title", "描述"),
        l.s("Severity", "严重程度"),
        l.s("Grade", "等级"),
        "ATT&CK",
        l.s("Mitigations", "缓解措施"),
        l.s("Assets", "资产"),
        l.s("Family", "要求类别"),
        l.s("Evidence", "证据"),
        l.s("Corrective measure", "整改措施"),
        l.s("Owner", "责任部门/责任人"),
        l.s("Deadline (days)", "整改期限（天）"),
        l.s("Status", "状态"),
        l.s("Finding (report item)", "隐患编号（报告条目）"),
    ];
    header_row(s, 0, &heads, heading)?;
    for (i, f) in r.findings.iter().enumerate() {
        let row = i as u32 + 1;
        text(s, row, 0, &f.id)?;
        text(s, row, 1, l.pick(&f.title))?;
        text(s, row, 2, super::severity_word(f.assessment.severity, l))?;
        text(s, row, 3, l.pick(&f.assessment.grade))?;
        text(s, row, 4, f.assessment.techniques.iter().map(|t| t.v19).collect::<Vec<_>>().join(", "))?;
        text(s, row, 5, super::mitigation_labels(&f.assessment.mitigations, l).join(", "))?;
        // Named as the other formats name them, with the id a register keys them by.
        let assets: Vec<String> =
            f.assessment.assets.iter().map(|a| format!("{a} = {}", r.asset(a, l))).collect();
        text(s, row, 6, assets.join(l.list()))?;
        text(s, row, 7, l.pick(&f.assessment.family))?;
        text(s, row, 8, r.evidence_list(&f.assessment.evidence, l))?;
        text(s, row, 9, l.pick(&f.assessment.measure))?;
        text(s, row, 10, l.pick(&f.assessment.owner))?;
        s.write_number(row, 11, f64::from(f.assessment.deadline_days))?;
        text(s, row, 12, super::status_text(&f.assessment, l))?;
        let item = r.merged.iter().find(|m| m.ids.contains(&f.id)).map_or("", |m| m.number.as_str());
        text(s, row, 13, item)?;
    }
    s.set_column_width(1, 50)?;
    s.set_column_width(9, 60)?;
    Ok(())
}

/// The improvement plan sheet.
fn plan(wb: &mut Workbook, r: &Report, l: Lang, heading: &Cell) -> Result<()> {
    let s = wb.add_worksheet().set_name(l.s("Improvement plan", "整改计划"))?;
    table(s, 0, &super::tables::plan(r, l), heading)?;
    s.set_column_width(1, 40)?;
    s.set_column_width(2, 60)?;
    Ok(())
}

/// Writes `t` from row `at` down: the heads in bold, the cells as text.
fn table(s: &mut Worksheet, at: u32, t: &super::tables::Table, heading: &Cell) -> Result<()> {
    header_row(s, at, &t.heads, heading)?;
    for (i, row) in t.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            // A number (a score's points) as a number, so a sheet can add it up.
            cell(s, at + 1 + i as u32, c as u16, v)?;
        }
    }
    Ok(())
}
