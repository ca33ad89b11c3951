//! The HTML rendering of an after-action report: self-contained, prints well; every text
//! from the log or the scenario is escaped.

use std::fmt::Write as _;

use icsdrill_web::escape_html as esc;

use super::{Lang, Report, Words, overview_rows, words};

const CSS: &str = "body{font:14px/1.5 system-ui,'Noto Sans CJK SC','WenQuanYi Zen Hei','Microsoft YaHei',sans-serif;margin:2rem auto;max-width:1100px;color:#1b2733;padding:0 1rem}
h1{font-size:1.6rem;border-bottom:3px solid #1d5c8a;padding-bottom:.3rem;overflow-wrap:anywhere}h2{font-size:1.25rem;color:#1d5c8a;margin-top:2rem}h3{font-size:1.05rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #c5d2dc;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#eaf1f6}
.num{text-align:right}.sev-critical{color:#b00020;font-weight:bold}.sev-high{color:#c2410c;font-weight:bold}.sev-medium{color:#a16207}.sev-low{color:#4b5563}
.rating{font-weight:bold;text-align:center}.who-attacker{color:#b00020}.who-team{color:#1d5c8a}.who-plant{color:#a16207}
figure{margin:1rem 0}.legend{font-size:.85rem;color:#4b5563}.signoff{margin-top:3rem}.signoff td{border:0;border-bottom:1px solid #1b2733;height:3rem;width:25%;vertical-align:bottom}figcaption{font-size:.85rem;color:#4b5563}svg.chart{display:block;margin:.5rem 0;break-inside:avoid}
code{font-size:.9em}.noprint{color:#4b5563;font-size:.85rem}
@media (max-width:700px){body{margin:1rem auto;padding:0 .5rem}table{table-layout:fixed}th,td{overflow-wrap:anywhere;padding:.2rem}.wide{overflow-x:auto}.wide table{table-layout:auto;min-width:44rem}.wide th,.wide td{overflow-wrap:normal}}
@media screen and (max-width:700px){figure{overflow-x:auto}svg.chart{min-width:760px}}
.finding{border:1px solid #c5d2dc;border-left:4px solid #1d5c8a;padding:.5rem 1rem;margin:1rem 0;break-inside:avoid}
@media print{.noprint{display:none}body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}}";

/// The report as one self-contained HTML page.
pub(super) fn html(r: &Report, l: Lang) -> String {
    let w = words(l);
    let mut o = String::new();
    let lang = if l == Lang::Zh { "zh-CN" } else { "en" };
    let _ = write!(
        o,
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><link rel=\"icon\" href=\"data:,\"><title>{} — {}</title><style>{CSS}</style></head><body>",
        esc(w.title),
        esc(&r.context.team_name)
    );
    html_overview(&mut o, r, l, &w);
    html_capabilities(&mut o, r, l, &w);
    html_findings(&mut o, r, l, &w);
    if let Some(t) = super::tables::retested(r, l) {
        let _ = write!(o, "<h3>{}</h3>", esc(w.retest));
        html_table(&mut o, &t, None);
    }
    html_plan(&mut o, r, l, &w);
    html_ids(&mut o, r, l, &w);
    o.push_str("<table class=\"signoff\"><tr>");
    for who in super::sign_off(l) {
        let _ = write!(o, "<td>{}：</td>", esc(who));
    }
    o.push_str("</tr></table></body></html>");
    o
}

/// Overview and executive summary.
fn html_overview(o: &mut String, r: &Report, l: Lang, w: &Words) {
    let _ = write!(
        o,
        "<h1>{} — {}</h1><h2>{}</h2><p class=\"noprint\">{}</p><table class=\"overview\">",
        esc(w.title),
        esc(&r.context.team_name),
        esc(w.overview),
        esc(l.s(
            "To file it as a PDF: print this page (Ctrl+P) and choose “Save as PDF”; the print layout has no page furniture.",
            "如需 PDF 存档：打印本页（Ctrl+P），选择“另存为 PDF”；打印版式不含页面装饰。"
        ))
    );
    for (k, v) in overview_rows(r, l) {
        let _ = write!(o, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    let _ = write!(o, "</table><p>{}</p>", esc(l.pick(&r.brief)));
    let _ = write!(o, "<h2>{}</h2><h3>{}</h3><ul>", esc(w.summary), esc(w.strengths));
    for s in &r.strengths {
        let _ = write!(o, "<li>{}</li>", esc(l.pick(s)));
    }
    let _ = write!(o, "</ul><h3>{}</h3><ul>", esc(w.improvements));
    for s in &r.improvements {
        let _ = write!(o, "<li>{}</li>", esc(l.pick(s)));
    }
}

/// Capability ratings and the score.
fn html_capabilities(o: &mut String, r: &Report, l: Lang, w: &Words) {
    let _ = write!(o, "</ul><h2>{}</h2>", esc(w.capabilities));
    html_table(o, &super::tables::objectives(r, l), Some((1, "rating")));
    let _ = write!(o, "<p class=\"legend\">");
    for (k, text) in super::rating_legend(l) {
        let _ = write!(o, "<b>{k}</b> {} · ", esc(text));
    }
    let _ = write!(o, "</p><h3>{}{}{:.1}</h3>", esc(super::score_title(r, l, w)), l.colon(), r.score.total);
    html_table(o, &super::tables::score(r, l), Some((1, "num")));
    if let Some(t) = super::tables::exam(r, l) {
        let _ = write!(o, "<h3>{}</h3>", esc(l.s("Exam result", "考核成绩")));
        html_table(o, &t, Some((2, "num")));
    }
    if let Some(t) = super::tables::response_plan(r, l) {
        let _ = write!(o, "<h3>{}</h3>", esc(l.s("Response plan", "应急预案执行情况")));
        html_table(o, &t, None);
    }
}

/// Timeline and findings.
fn html_findings(o: &mut String, r: &Report, l: Lang, w: &Words) {
    let _ = write!(
        o,
        "<h2>{}</h2><figure tabindex=\"0\">{}",
        esc(w.timeline),
        super::charts::timeline_svg(&r.timeline, r.end_s, l)
    );
    let _ = write!(o, "<figcaption>{}</figcaption>", esc(w.charts));
    for t in &r.trends {
        o.push_str(&super::charts::trend_svg(t, &r.timeline, r.end_s, l));
    }
    let _ = write!(
        o,
        "</figure><table><tr><th>t (s)</th><th>{}</th><th>{}</th></tr>",
        l.s("Who", "主体"),
        l.s("What", "事件")
    );
    for line in &r.timeline {
        let who = super::who_word(line.who, l);
        let _ = write!(
            o,
            "<tr><td class=\"num\">{:.0}</td><td class=\"who-{}\">{}</td><td>{}</td></tr>",
            line.t_s,
            line.who,
            who,
            esc(l.pick(&line.what))
        );
    }
    let _ = write!(o, "</table><h2>{}</h2>", esc(w.findings));
    for f in &r.merged {
        html_finding(o, r, l, f);
    }
}

/// One finding (the findings of one cause): what happened, in words; ids go to Appendix B.
fn html_finding(o: &mut String, r: &Report, l: Lang, f: &icsdrill_judge::findings::Merged) {
    let sev = f.assessment.severity.as_str();
    let techniques = super::technique_labels(f, l);
    let assets: Vec<String> = f.assessment.assets.iter().map(|a| r.asset(a, l)).collect();
    let _ = write!(
        o,
        "<div class=\"finding\" id=\"{}\"><h3>{} {} <span class=\"sev-{sev}\">{} / {}</span></h3><ul>",
        esc(&f.number),
        esc(&f.number),
        esc(l.pick(&f.title)),
        super::severity_word(f.assessment.severity, l),
        esc(l.pick(&f.assessment.grade)),
    );
    for d in &f.descriptions {
        let _ = write!(o, "<li>{}</li>", esc(l.pick(d)));
    }
    let _ = write!(
        o,
        "</ul><table><tr><th>ATT&amp;CK</th><td class=\"ref\">{}</td></tr><tr><th>{}</th><td class=\"ref\">{}</td></tr><tr><th>{}</th><td>{}</td></tr>\
         <tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr>\
         <tr><th>{}</th><td>{}{}</td></tr><tr><th>{}</th><td>{}</td></tr></table></div>",
        esc(&or_dash(techniques.join(l.list()))),
        l.s("Mitigations", "缓解措施"),
        esc(&or_dash(super::mitigation_labels(&f.assessment.mitigations, l).join(l.list()))),
        l.s("Assets", "资产"),
        esc(&or_dash(assets.join(l.s(", ", "、")))),
        l.s("Requirement family", "要求类别"),
        esc(l.pick(&f.assessment.family)),
        l.s("Evidence (event log entries)", "证据（事件日志序号）"),
        r.evidence_list(&f.assessment.evidence, l),
        l.s("Corrective measure", "整改措施"),
        esc(l.pick(&f.assessment.measure)),
        l.s("Owner, deadline", "责任人、期限"),
        esc(l.pick(&f.assessment.owner)),
        l.paren(&format!("{} {}", f.assessment.deadline_days, l.s("days", "天"))),
        l.s("Status", "状态"),
        esc(&super::status_text(&f.assessment, l))
    );
}

/// `text`, or a dash when there is none (a plan step's finding has no technique or asset).
fn or_dash(text: String) -> String {
    if text.is_empty() { "—".into() } else { text }
}

/// Appendix B: the identifiers behind the words, for the record and for re-tests.
fn html_ids(o: &mut String, r: &Report, l: Lang, w: &Words) {
    let _ = write!(
        o,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(w.ids),
        l.s("Finding", "隐患编号"),
        l.s("Hazard ids (rectification register)", "隐患标识（整改台账）"),
        l.s("Asset ids", "资产标识")
    );
    for f in &r.merged {
        let ids: Vec<String> =
            f.ids.iter().map(|id| format!("<code id=\"{0}\">{0}</code>", esc(id))).collect();
        let assets: Vec<String> =
            f.assessment.assets.iter().map(|a| format!("{} = {}", esc(a), esc(&r.asset(a, l)))).collect();
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.number),
            ids.join("<br>"),
            assets.join("<br>")
        );
    }
    o.push_str("</table>");
}

/// The improvement plan.
fn html_plan(o: &mut String, r: &Report, l: Lang, w: &Words) {
    // Eight columns: scrolled sideways on a phone rather than wrapped a character a line.
    let _ = write!(o, "<h2>{}</h2><div class=\"wide\" tabindex=\"0\">", esc(w.plan));
    html_table(o, &super::tables::plan(r, l), None);
    o.push_str("</div>");
}

/// `t` as an HTML table, every cell escaped; the cells of column `class.0` get class `class.1`.
fn html_table(o: &mut String, t: &super::tables::Table, class: Option<(usize, &str)>) {
    o.push_str("<table><tr>");
    for h in &t.heads {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr>");
    for row in &t.rows {
        o.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            match class {
                Some((k, name)) if k == i => drop(write!(o, "<td class=\"{name}\">{}</td>", esc(cell))),
                _ => drop(write!(o, "<td>{}</td>", esc(cell))),
            }
        }
        o.push_str("</tr>");
    }
    o.push_str("</table>");
}
