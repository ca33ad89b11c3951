//! The Markdown rendering of an after-action report.

use std::fmt::Write as _;

use super::{Lang, Report, Words, overview_rows, words};

/// Text for Markdown, on one line: HTML markup becomes entities (no raw HTML reaches a
/// renderer), and Markdown's own marks (emphasis, links, code, table bars) are escaped, so
/// team-written text (notifications, injects, ids, names) shows as written and does nothing.
fn md_cell(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        match c {
            // An ampersand reads as one (`Point & Tag`, not `Point &amp; Tag` in the file);
            // only where it would start a character reference is it escaped.
            '&' if !entity_at(&s[i + 1..]) => o.push('&'),
            '&' => o.push_str("\\&"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '!' | '#' | '~' => {
                o.push('\\');
                o.push(c);
            }
            '\n' | '\r' | '\t' => o.push(' '),
            // Quotes mean nothing in element content: kept as written, for readers of the file.
            '"' | '\'' => o.push(c),
            c => icsdrill_web::push_html_char(&mut o, c),
        }
    }
    o
}

/// Whether text after an `&` would make it a character reference (`amp;`, `#60;`, `#x3c;`).
fn entity_at(rest: &str) -> bool {
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '#').collect();
    !name.is_empty() && rest[name.len()..].starts_with(';')
}

/// The report in Markdown (GitHub tables; every text escaped).
pub(super) fn markdown(r: &Report, l: Lang) -> String {
    let w = words(l);
    let mut o = String::new();
    md_overview(&mut o, r, l, &w);
    md_capabilities(&mut o, r, l, &w);
    md_findings(&mut o, r, l, &w);
    if let Some(t) = super::tables::retested(r, l) {
        let _ = writeln!(o, "\n### {}\n", w.retest);
        md_table(&mut o, &t);
        o.push('\n');
    }
    md_plan(&mut o, r, l, &w);
    md_ids(&mut o, r, l, &w);
    let _ = writeln!(o);
    let lines: Vec<String> = super::sign_off(l).iter().map(|who| format!("{who}：________")).collect();
    let _ = writeln!(o, "{}", lines.join("　"));
    o
}

/// Overview and executive summary.
fn md_overview(o: &mut String, r: &Report, l: Lang, w: &Words) {
    let _ = writeln!(o, "# {} — {}\n", w.title, md_cell(&r.context.team_name));
    let _ = writeln!(o, "## {}\n", w.overview);
    let _ = writeln!(o, "| | |\n|---|---|");
    for (k, v) in overview_rows(r, l) {
        let _ = writeln!(o, "| {} | {} |", md_cell(k), md_cell(&v));
    }
    let _ = writeln!(o, "\n{}\n", md_cell(l.pick(&r.brief)));
    let _ = writeln!(o, "## {}\n\n### {}\n", w.summary, w.strengths);
    for s in &r.strengths {
        let _ = writeln!(o, "- {}", md_cell(l.pick(s)));
    }
    let _ = writeln!(o, "\n### {}\n", w.improvements);
    for s in &r.improvements {
        let _ = writeln!(o, "- {}", md_cell(l.pick(s)));
    }
}

/// Capability ratings and the score.
fn md_capabilities(o: &mut String, r: &Report, l: Lang, w: &Words) {
    let _ = writeln!(o, "\n## {}\n", w.capabilities);
    md_table(o, &super::tables::objectives(r, l));
    let legend: Vec<String> = super::rating_legend(l).iter().map(|(k, t)| format!("{k} = {t}")).collect();
    let _ = writeln!(o, "\n{}\n", legend.join(l.list()));
    let _ = writeln!(o, "### {}\n", super::score_title(r, l, w));
    md_table(o, &super::tables::score(r, l));
    if let Some(t) = super::tables::exam(r, l) {
        let _ = writeln!(o, "\n### {}\n", l.s("Exam result", "考核成绩"));
        md_table(o, &t);
    }
    if let Some(t) = super::tables::response_plan(r, l) {
        let _ = writeln!(o, "\n### {}\n", l.s("Response plan", "应急预案执行情况"));
        md_table(o, &t);
    }
}

/// Timeline and findings.
fn md_findings(o: &mut String, r: &Report, l: Lang, w: &Words) {
    let _ = writeln!(
        o,
        "\n## {}\n\n| t (s) | {} | {} |\n|---:|---|---|",
        w.timeline,
        l.s("Who", "主体"),
        l.s("What", "事件")
    );
    for line in &r.timeline {
        let _ = writeln!(
            o,
            "| {:.0} | {} | {} |",
            line.t_s,
            super::who_word(line.who, l),
            md_cell(l.pick(&line.what))
        );
    }
    let _ = writeln!(o, "\n## {}\n", w.findings);
    for f in &r.merged {
        let tier = format!(
            "{}{}{}",
            super::severity_word(f.assessment.severity, l),
            l.s(", ", "，"),
            l.pick(&f.assessment.grade)
        );
        let _ = writeln!(
            o,
            "### {} {}{}\n",
            md_cell(&f.number),
            md_cell(l.pick(&f.title)),
            md_cell(&l.paren(&tier))
        );
        for d in &f.descriptions {
            let _ = writeln!(o, "- {}", md_cell(l.pick(d)));
        }
        let techniques = super::technique_labels(f, l);
        let assets: Vec<String> = f.assessment.assets.iter().map(|a| r.asset(a, l)).collect();
        // A label, then what it says (a dash for nothing), in the report's punctuation.
        let item = |o: &mut String, label: &str, value: &str| {
            let value = if value.is_empty() { "—" } else { value };
            let _ = writeln!(o, "- {label}{}{value}", l.colon());
        };
        o.push('\n');
        item(o, "ATT&CK", &md_cell(&techniques.join(l.list())));
        item(
            o,
            l.s("Mitigations", "缓解措施"),
            &md_cell(&super::mitigation_labels(&f.assessment.mitigations, l).join(l.list())),
        );
        item(o, l.s("Assets", "资产"), &md_cell(&assets.join(l.s(", ", "、"))));
        item(o, l.s("Requirement family", "要求类别"), &md_cell(l.pick(&f.assessment.family)));
        item(
            o,
            l.s("Evidence (event log entries)", "证据（事件日志序号）"),
            &r.evidence_list(&f.assessment.evidence, l),
        );
        item(o, l.s("Corrective measure", "整改措施"), &md_cell(l.pick(&f.assessment.measure)));
        let deadline =
            format!("{} {} {}", l.s("deadline", "期限"), f.assessment.deadline_days, l.s("days", "天"));
        item(
            o,
            l.s("Owner", "责任人"),
            &format!("{}{}{deadline}", md_cell(l.pick(&f.assessment.owner)), l.list()),
        );
        item(o, l.s("Status", "状态"), &md_cell(&super::status_text(&f.assessment, l)));
        o.push('\n');
    }
}

/// Appendix B: the identifiers behind the words.
fn md_ids(o: &mut String, r: &Report, l: Lang, w: &Words) {
    let _ = writeln!(
        o,
        "\n## {}\n\n| {} | {} | {} |\n|---|---|---|",
        w.ids,
        l.s("Finding", "隐患编号"),
        l.s("Hazard ids (rectification register)", "隐患标识（整改台账）"),
        l.s("Asset ids", "资产标识")
    );
    for f in &r.merged {
        let assets: Vec<String> =
            f.assessment.assets.iter().map(|a| format!("{a} = {}", r.asset(a, l))).collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            md_cell(&f.number),
            md_cell(&f.ids.join(", ")),
            md_cell(&assets.join(l.list()))
        );
    }
}

/// The improvement plan.
fn md_plan(o: &mut String, r: &Report, l: Lang, w: &Words) {
    let _ = writeln!(o, "## {}\n", w.plan);
    md_table(o, &super::tables::plan(r, l));
}

/// `t` as a Markdown table, every cell escaped.
fn md_table(o: &mut String, t: &super::tables::Table) {
    let _ = writeln!(o, "| {} |\n|{}", t.heads.join(" | "), "---|".repeat(t.heads.len()));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
}
