//! After-action reports (HSEEP AAR/IP and GB/T 38645 演练报告) per drill and team: overview,
//! executive summary, the timeline of attack steps against the team's actions, capability
//! ratings (P/S/M/U) per objective, strengths, areas for improvement, the findings (安全隐患)
//! and the improvement plan, in HTML (self-contained, prints well), Markdown, JSON or xlsx,
//! in Chinese or English.

use std::fmt::Write as _;

use crate::Result;
use crate::governance::dates::Day;
use icsdrill_engine::scenario::Text;
use icsdrill_engine::{EventKind, Scenario, SimEvent, SimInput};
use icsdrill_judge::findings::Finding;
use icsdrill_judge::score::{ScoreCard, Scorer};
use serde::Serialize;

/// Report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    fn pick(self, t: &Text) -> &str {
        match self {
            Lang::En => &t.en,
            Lang::Zh => &t.zh,
        }
    }

    fn s(self, en: &'static str, zh: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Self-contained HTML.
    Html,
    /// Markdown.
    Md,
    /// JSON (both languages).
    Json,
    /// Excel workbook.
    Xlsx,
}

impl Format {
    /// Parses `html`, `md`, `json`, `xlsx`.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "html" => Format::Html,
            "md" | "markdown" => Format::Md,
            "json" => Format::Json,
            "xlsx" => Format::Xlsx,
            _ => return None,
        })
    }

    /// Its MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Md => "text/markdown; charset=utf-8",
            Format::Json => "application/json",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Who played and when, for the overview.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    /// Drill id.
    pub drill_id: String,
    /// Drill name.
    pub drill_name: String,
    /// Mode.
    pub mode: icsdrill_drill::Mode,
    /// Team (enterprise) id.
    pub team_id: String,
    /// Team name.
    pub team_name: String,
    /// Enterprise security level (deadlines follow it).
    pub level: u8,
    /// Date of the drill, `YYYY-MM-DD`.
    pub date: Day,
    /// Seed.
    pub seed: u64,
    /// Rectification deadlines, when not the level's defaults.
    #[serde(skip)]
    pub deadlines: Option<icsdrill_judge::findings::Deadlines>,
    /// The tick the drill has reached, when the events given are only the judged ones (a
    /// live drill's), so the score is taken where the whole log would end.
    #[serde(skip)]
    pub end_tick: Option<u64>,
}

/// One objective and its rating.
#[derive(Debug, Clone, Serialize)]
pub struct Objective {
    /// Objective.
    pub name: Text,
    /// P, S, M or U.
    pub rating: char,
    /// Score behind it.
    pub basis: Text,
}

/// One line of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// Simulated seconds.
    pub t_s: f64,
    /// `attacker`, `team`, `plant` or `white_cell`.
    pub who: &'static str,
    /// What happened.
    pub what: Text,
    /// Event seq.
    pub seq: u64,
}

/// One row of the improvement plan (HSEEP Appendix A, with the hazard record's fields).
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    /// Finding id.
    pub finding: String,
    /// Issue.
    pub issue: Text,
    /// Corrective action.
    pub action: Text,
    /// POETE element.
    pub element: &'static str,
    /// Responsible role.
    pub owner: Text,
    /// Start date.
    pub start: Day,
    /// Completion due.
    pub due: Day,
    /// 重大 / 一般.
    pub grade: Text,
}

/// An after-action report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Who and when.
    pub context: Context,
    /// Scenario id.
    pub scenario: String,
    /// Scenario title.
    pub title: Text,
    /// Scenario brief.
    pub brief: Text,
    /// Score card at the end.
    pub score: ScoreCard,
    /// Capability ratings.
    pub objectives: Vec<Objective>,
    /// What went well.
    pub strengths: Vec<Text>,
    /// What to improve.
    pub improvements: Vec<Text>,
    /// Attack steps against team actions.
    pub timeline: Vec<Line>,
    /// The hidden hazards.
    pub findings: Vec<Finding>,
    /// The improvement plan.
    pub plan: Vec<PlanRow>,
}

fn rating(points: f64, max: f64) -> char {
    let f = if max > 0.0 { points / max } else { 1.0 };
    match f {
        f if f >= 0.9 => 'P',
        f if f >= 0.6 => 'S',
        f if f >= 0.3 => 'M',
        _ => 'U',
    }
}

fn timeline(s: &Scenario, events: &[SimEvent]) -> Vec<Line> {
    let hz = f64::from(s.tick_hz);
    let mut out = Vec::new();
    let mut seen_attempt: Vec<String> = Vec::new();
    for e in events {
        let (who, what) = match &e.kind {
            EventKind::AttackAttempt { step, host, ok, reason, .. } => {
                if seen_attempt.contains(step) && *ok {
                    continue;
                }
                seen_attempt.push(step.clone());
                let name = s
                    .attack
                    .as_ref()
                    .and_then(|p| p.steps.iter().find(|x| x.id == *step))
                    .map(|x| x.name.clone());
                let name = name.unwrap_or_else(|| Text::new(step.clone(), step.clone()));
                let r = reason.map(|r| format!(" ({r:?})")).unwrap_or_default();
                (
                    "attacker",
                    Text::new(
                        format!("{} from {host}: {}{r}", name.en, if *ok { "succeeded" } else { "blocked" }),
                        format!("{}（来自 {host}）：{}{r}", name.zh, if *ok { "成功" } else { "被阻断" }),
                    ),
                )
            }
            EventKind::InputApplied { input } | EventKind::InputRejected { input, .. } => {
                let ok = matches!(e.kind, EventKind::InputApplied { .. });
                match input {
                    SimInput::Inject { text, .. } if !text.is_empty() => {
                        ("white_cell", Text::new(format!("Inject: {text}"), format!("注入：{text}")))
                    }
                    SimInput::RevealHint { hint } => {
                        ("team", Text::new(format!("Took hint {hint}"), format!("使用提示 {hint}")))
                    }
                    SimInput::ReportIncident { technique, asset, .. } => (
                        "team",
                        Text::new(
                            format!("Incident report: {technique} on {asset}"),
                            format!("事件报告：{asset} 遭受 {technique}"),
                        ),
                    ),
                    i => match i.defender_kind() {
                        Some(kind) => {
                            let detail = serde_json::to_value(i).ok().map(|v| {
                                v.as_object()
                                    .map(|o| {
                                        o.iter()
                                            .filter(|(k, _)| *k != "kind")
                                            .map(|(k, v)| format!("{k}={v}"))
                                            .collect::<Vec<_>>()
                                            .join(" ")
                                    })
                                    .unwrap_or_default()
                            });
                            let d = detail.unwrap_or_default().replace('"', "");
                            (
                                "team",
                                Text::new(
                                    format!("{kind} {d}{}", if ok { "" } else { " (refused)" }),
                                    format!("{kind} {d}{}", if ok { "" } else { "（被拒绝）" }),
                                ),
                            )
                        }
                        None => continue,
                    },
                }
            }
            EventKind::InterlockTripped { interlock, .. } => (
                "plant",
                Text::new(format!("Interlock {interlock} tripped"), format!("联锁 {interlock} 动作")),
            ),
            EventKind::Damage { var, .. } => {
                ("plant", Text::new(format!("Damage: {var}"), format!("设备损坏：{var}")))
            }
            EventKind::AlarmRaised { alarm, level, .. } => {
                ("plant", Text::new(format!("Alarm {alarm} {level:?}"), format!("报警 {alarm} {level:?}")))
            }
            _ => continue,
        };
        out.push(Line { t_s: e.tick as f64 / hz, who, what, seq: e.seq });
    }
    out
}

/// Builds the report of one team's drill from its log.
pub fn build(scenario: &Scenario, events: &[SimEvent], plan_scored: bool, ctx: Context) -> Report {
    let card = match ctx.end_tick {
        Some(end) => Scorer::score_log_at(scenario, plan_scored, events, end),
        None => Scorer::score_log(scenario, plan_scored, events),
    };
    let deadlines =
        ctx.deadlines.unwrap_or_else(|| icsdrill_judge::findings::Deadlines::for_level(ctx.level));
    let findings = icsdrill_judge::findings::findings_with(scenario, events, deadlines);
    let part =
        |k: &str| card.components.iter().find(|c| c.key == k).map_or((0.0, 0.0), |c| (c.points, c.max));
    let sum = |keys: &[&str]| keys.iter().map(|k| part(k)).fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    let objective = |en: &str, zh: &str, keys: &[&str]| {
        let (p, m) = sum(keys);
        Objective {
            name: Text::new(en, zh),
            rating: rating(p, m),
            basis: Text::new(format!("{p:.0} of {m:.0} points"), format!("{p:.0} / {m:.0} 分")),
        }
    };
    let mut objectives = vec![
        objective(
            "Detect and report the attack",
            "发现并报告攻击",
            &["detection", "time_to_detect", "report_quality"],
        ),
        objective("Contain the attack", "遏制攻击", &["time_to_contain"]),
        objective("Recover the process", "恢复生产", &["time_to_recover"]),
        objective("Keep the process safe", "保障工艺安全", &["trip_avoided", "damage_avoided", "uptime"]),
    ];
    if plan_scored {
        objectives.push(objective("Follow the emergency response plan", "执行应急预案", &["response_plan"]));
    }
    let strengths = card
        .components
        .iter()
        .filter(|c| c.max > 0.0 && c.points >= c.max * 0.9)
        .map(|c| {
            Text::new(format!("{}: {}", c.label.en, c.detail.en), format!("{}：{}", c.label.zh, c.detail.zh))
        })
        .collect();
    let mut improvements: Vec<Text> = card
        .components
        .iter()
        .filter(|c| (c.max > 0.0 && c.points < c.max * 0.6) || c.points < 0.0)
        .map(|c| {
            Text::new(format!("{}: {}", c.label.en, c.detail.en), format!("{}：{}", c.label.zh, c.detail.zh))
        })
        .collect();
    improvements.extend(
        findings
            .iter()
            .filter(|f| f.severity <= icsdrill_judge::findings::Severity::High)
            .map(|f| f.title.clone()),
    );
    let plan = findings
        .iter()
        .map(|f| PlanRow {
            finding: f.id.clone(),
            issue: f.title.clone(),
            action: f.measure.clone(),
            element: f.capability,
            owner: f.owner.clone(),
            start: ctx.date,
            due: ctx.date.add_days(i64::from(f.deadline_days)),
            grade: f.grade.clone(),
        })
        .collect();
    Report {
        scenario: scenario.id.clone(),
        title: scenario.meta.title.clone(),
        brief: scenario.meta.brief.clone(),
        timeline: timeline(scenario, events),
        score: card,
        objectives,
        strengths,
        improvements,
        findings,
        plan,
        context: ctx,
    }
}

/// Renders a report.
pub fn render(r: &Report, format: Format, lang: Lang) -> Result<Vec<u8>> {
    Ok(match format {
        Format::Json => serde_json::to_vec_pretty(r)?,
        Format::Md => markdown(r, lang).into_bytes(),
        Format::Html => html(r, lang).into_bytes(),
        Format::Xlsx => xlsx(r, lang)?,
    })
}

use icsdrill_web::escape_html as esc;

/// Text for Markdown, on one line: HTML markup becomes entities (no raw HTML reaches a
/// renderer), and Markdown's own marks (emphasis, links, code, table bars) are escaped, so
/// team-written text (notifications, injects, ids, names) shows as written and does nothing.
fn md_cell(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '!' | '#' | '~' => {
                o.push('\\');
                o.push(c);
            }
            '\n' | '\r' | '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Section titles.
struct Words {
    title: &'static str,
    overview: &'static str,
    summary: &'static str,
    capabilities: &'static str,
    strengths: &'static str,
    improvements: &'static str,
    timeline: &'static str,
    findings: &'static str,
    plan: &'static str,
    score: &'static str,
}

fn words(l: Lang) -> Words {
    Words {
        title: l.s("After-action report and improvement plan", "演练总结报告与整改计划"),
        overview: l.s("1. Overview", "一、演练概况"),
        summary: l.s("2. Executive summary", "二、总体评价"),
        capabilities: l.s("3. Capability analysis", "三、能力评估"),
        strengths: l.s("Strengths", "优势"),
        improvements: l.s("Areas for improvement", "待改进项"),
        timeline: l.s("4. Timeline: attack steps and team actions", "四、时间线：攻击步骤与队伍处置"),
        findings: l.s("5. Findings (hidden hazards)", "五、发现的安全隐患"),
        plan: l.s("Appendix A. Improvement plan", "附录A 整改计划"),
        score: l.s("Score", "得分"),
    }
}

fn overview_rows(r: &Report, l: Lang) -> Vec<(&'static str, String)> {
    let c = &r.context;
    vec![
        (l.s("Drill", "演练"), format!("{} ({})", c.drill_name, c.drill_id)),
        (l.s("Mode", "形式"), c.mode.to_string()),
        (l.s("Date", "日期"), c.date.to_string()),
        (l.s("Scenario", "场景"), format!("{} ({})", l.pick(&r.title), r.scenario)),
        (l.s("Team / enterprise", "队伍/企业"), format!("{} ({})", c.team_name, c.team_id)),
        (l.s("Security level", "安全等级"), format!("{}", c.level)),
        (l.s("Seed", "随机种子"), c.seed.to_string()),
        (l.s("Score", "得分"), format!("{:.1}", r.score.total)),
    ]
}

fn markdown(r: &Report, l: Lang) -> String {
    let w = words(l);
    let mut o = String::new();
    let _ = writeln!(o, "# {} — {}\n", w.title, md_cell(&r.context.team_name));
    let _ = writeln!(o, "## {}\n", w.overview);
    let _ = writeln!(o, "| | |\n|---|---|");
    for (k, v) in overview_rows(r, l) {
        let _ = writeln!(o, "| {} | {} |", md_cell(k), md_cell(&v));
    }
    let _ = writeln!(o, "\n{}\n", l.pick(&r.brief));
    let _ = writeln!(o, "## {}\n\n### {}\n", w.summary, w.strengths);
    for s in &r.strengths {
        let _ = writeln!(o, "- {}", md_cell(l.pick(s)));
    }
    let _ = writeln!(o, "\n### {}\n", w.improvements);
    for s in &r.improvements {
        let _ = writeln!(o, "- {}", md_cell(l.pick(s)));
    }
    let _ = writeln!(
        o,
        "\n## {}\n\n| {} | {} | {} |\n|---|---|---|",
        w.capabilities,
        l.s("Objective", "目标"),
        l.s("Rating", "评级"),
        l.s("Basis", "依据")
    );
    for ob in &r.objectives {
        let _ =
            writeln!(o, "| {} | {} | {} |", md_cell(l.pick(&ob.name)), ob.rating, md_cell(l.pick(&ob.basis)));
    }
    let _ = writeln!(
        o,
        "\nP = {}; S = {}; M = {}; U = {}.\n",
        l.s("performed without challenges", "顺利完成"),
        l.s("with some challenges", "存在一些问题"),
        l.s("with major challenges", "存在重大问题"),
        l.s("unable to be performed", "未能完成")
    );
    let _ = writeln!(o, "### {}\n\n| | | |\n|---|---:|---|", w.score);
    for c in &r.score.components {
        let _ = writeln!(
            o,
            "| {} | {:.1} | {} |",
            md_cell(l.pick(&c.label)),
            c.points,
            md_cell(l.pick(&c.detail))
        );
    }
    let _ = writeln!(o, "\n## {}\n\n| t (s) | | |\n|---:|---|---|", w.timeline);
    for line in &r.timeline {
        let _ = writeln!(o, "| {:.0} | {} | {} |", line.t_s, line.who, md_cell(l.pick(&line.what)));
    }
    let _ = writeln!(o, "\n## {}\n", w.findings);
    for f in &r.findings {
        let _ = writeln!(
            o,
            "### {} — {} ({:?}, {})\n",
            md_cell(&f.id),
            md_cell(l.pick(&f.title)),
            f.severity,
            md_cell(l.pick(&f.grade))
        );
        let _ = writeln!(o, "{}\n", md_cell(l.pick(&f.description)));
        let techniques: Vec<String> = f.techniques.iter().map(|t| format!("{} ({})", t.v19, t.v18)).collect();
        let _ = writeln!(
            o,
            "- ATT&CK: {}",
            if techniques.is_empty() { "—".into() } else { md_cell(&techniques.join(", ")) }
        );
        let _ = writeln!(
            o,
            "- {}: {}",
            l.s("Mitigations", "缓解措施"),
            if f.mitigations.is_empty() { "—".into() } else { md_cell(&f.mitigations.join(", ")) }
        );
        let _ = writeln!(o, "- {}: {}", l.s("Assets", "资产"), md_cell(&f.assets.join(", ")));
        let _ = writeln!(o, "- {}: {}", l.s("Requirement family", "要求类别"), md_cell(l.pick(&f.family)));
        let _ = writeln!(
            o,
            "- {}: {}",
            l.s("Evidence (event seq)", "证据（事件序号）"),
            f.evidence.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        );
        let _ = writeln!(o, "- {}: {}", l.s("Corrective measure", "整改措施"), md_cell(l.pick(&f.measure)));
        let _ = writeln!(
            o,
            "- {}: {}; {} {} {}",
            l.s("Owner", "责任人"),
            md_cell(l.pick(&f.owner)),
            l.s("deadline", "期限"),
            f.deadline_days,
            l.s("days", "天")
        );
        let _ = writeln!(o, "- {}: {:?}\n", l.s("Status", "状态"), f.status);
    }
    let _ = writeln!(
        o,
        "## {}\n\n| {} | {} | {} | POETE | {} | {} | {} | {} |\n|---|---|---|---|---|---|---|---|",
        w.plan,
        l.s("Finding", "隐患编号"),
        l.s("Issue", "问题"),
        l.s("Corrective action", "整改措施"),
        l.s("Owner", "责任部门/人"),
        l.s("Grade", "等级"),
        l.s("Start", "开始"),
        l.s("Due", "整改期限")
    );
    for p in &r.plan {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&p.finding),
            md_cell(l.pick(&p.issue)),
            md_cell(l.pick(&p.action)),
            p.element,
            md_cell(l.pick(&p.owner)),
            md_cell(l.pick(&p.grade)),
            p.start,
            p.due
        );
    }
    o
}

const CSS: &str = "body{font:14px/1.5 system-ui,'Noto Sans CJK SC','WenQuanYi Zen Hei','Microsoft YaHei',sans-serif;margin:2rem auto;max-width:1100px;color:#1b2733;padding:0 1rem}
h1{font-size:1.6rem;border-bottom:3px solid #1d5c8a;padding-bottom:.3rem}h2{font-size:1.25rem;color:#1d5c8a;margin-top:2rem}h3{font-size:1.05rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #c5d2dc;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#eaf1f6}
.num{text-align:right}.sev-critical{color:#b00020;font-weight:bold}.sev-high{color:#c2410c;font-weight:bold}.sev-medium{color:#a16207}.sev-low{color:#4b5563}
.rating{font-weight:bold;text-align:center}.who-attacker{color:#b00020}.who-team{color:#1d5c8a}.who-plant{color:#a16207}
.finding{border:1px solid #c5d2dc;border-left:4px solid #1d5c8a;padding:.5rem 1rem;margin:1rem 0;break-inside:avoid}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}}";

fn html(r: &Report, l: Lang) -> String {
    let w = words(l);
    let mut o = String::new();
    let lang = if l == Lang::Zh { "zh-CN" } else { "en" };
    let _ = write!(
        o,
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{} — {}</title><style>{CSS}</style></head><body>",
        esc(w.title),
        esc(&r.context.team_name)
    );
    let _ = write!(
        o,
        "<h1>{} — {}</h1><h2>{}</h2><table>",
        esc(w.title),
        esc(&r.context.team_name),
        esc(w.overview)
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
    let _ = write!(
        o,
        "</ul><h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(w.capabilities),
        l.s("Objective", "目标"),
        l.s("Rating", "评级"),
        l.s("Basis", "依据")
    );
    for ob in &r.objectives {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"rating\">{}</td><td>{}</td></tr>",
            esc(l.pick(&ob.name)),
            ob.rating,
            esc(l.pick(&ob.basis))
        );
    }
    let _ = write!(o, "</table><h3>{}: {:.1}</h3><table>", esc(w.score), r.score.total);
    for c in &r.score.components {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{:.1}</td><td>{}</td></tr>",
            esc(l.pick(&c.label)),
            c.points,
            esc(l.pick(&c.detail))
        );
    }
    let _ = write!(o, "</table><h2>{}</h2><table><tr><th>t (s)</th><th></th><th></th></tr>", esc(w.timeline));
    for line in &r.timeline {
        let _ = write!(
            o,
            "<tr><td class=\"num\">{:.0}</td><td class=\"who-{}\">{}</td><td>{}</td></tr>",
            line.t_s,
            line.who,
            line.who,
            esc(l.pick(&line.what))
        );
    }
    let _ = write!(o, "</table><h2>{}</h2>", esc(w.findings));
    for f in &r.findings {
        let sev = format!("{:?}", f.severity).to_lowercase();
        let techniques: Vec<String> = f.techniques.iter().map(|t| format!("{} ({})", t.v19, t.v18)).collect();
        let _ = write!(
            o,
            "<div class=\"finding\" id=\"{}\"><h3>{} — {} <span class=\"sev-{sev}\">{sev} / {}</span></h3><p>{}</p><table>\
             <tr><th>ATT&amp;CK</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr>\
             <tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr>\
             <tr><th>{}</th><td>{} ({} {})</td></tr><tr><th>{}</th><td>{:?}</td></tr></table></div>",
            esc(&f.id),
            esc(&f.id),
            esc(l.pick(&f.title)),
            esc(l.pick(&f.grade)),
            esc(l.pick(&f.description)),
            esc(&techniques.join(", ")),
            l.s("Mitigations", "缓解措施"),
            esc(&f.mitigations.join(", ")),
            l.s("Assets", "资产"),
            esc(&f.assets.join(", ")),
            l.s("Requirement family", "要求类别"),
            esc(l.pick(&f.family)),
            l.s("Evidence (event seq)", "证据（事件序号）"),
            f.evidence.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
            l.s("Corrective measure", "整改措施"),
            esc(l.pick(&f.measure)),
            l.s("Owner, deadline", "责任人、期限"),
            esc(l.pick(&f.owner)),
            f.deadline_days,
            l.s("days", "天"),
            l.s("Status", "状态"),
            f.status
        );
    }
    let _ = write!(
        o,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>POETE</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(w.plan),
        l.s("Finding", "隐患编号"),
        l.s("Issue", "问题"),
        l.s("Corrective action", "整改措施"),
        l.s("Owner", "责任部门/人"),
        l.s("Grade", "等级"),
        l.s("Start", "开始"),
        l.s("Due", "整改期限")
    );
    for p in &r.plan {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.finding),
            esc(l.pick(&p.issue)),
            esc(l.pick(&p.action)),
            p.element,
            esc(l.pick(&p.owner)),
            esc(l.pick(&p.grade)),
            p.start,
            p.due
        );
    }
    o.push_str("</table></body></html>");
    o
}

pub(crate) use crate::governance::tabular::header_row;

fn xlsx(r: &Report, l: Lang) -> Result<Vec<u8>> {
    use crate::governance::tabular::{bold, text};
    use rust_xlsxwriter::{Format as Cell, Workbook};
    let mut wb = Workbook::new();
    let heading = Cell::new().set_bold();
    let w = words(l);
    {
        let s = wb.add_worksheet().set_name(l.s("Overview", "概况"))?;
        bold(s, 0, 0, w.title, &heading)?;
        for (i, (k, v)) in overview_rows(r, l).into_iter().enumerate() {
            bold(s, i as u32 + 1, 0, k, &heading)?;
            text(s, i as u32 + 1, 1, v)?;
        }
        let mut row = 11;
        bold(s, row, 0, l.s("Objective", "目标"), &heading)?;
        bold(s, row, 1, l.s("Rating", "评级"), &heading)?;
        bold(s, row, 2, l.s("Basis", "依据"), &heading)?;
        for ob in &r.objectives {
            row += 1;
            text(s, row, 0, l.pick(&ob.name))?;
            text(s, row, 1, ob.rating.to_string())?;
            text(s, row, 2, l.pick(&ob.basis))?;
        }
        s.set_column_width(0, 28)?;
        s.set_column_width(1, 50)?;
    }
    {
        let s = wb.add_worksheet().set_name(l.s("Timeline", "时间线"))?;
        header_row(s, &["t (s)", l.s("Who", "角色"), l.s("What", "事件"), "seq"], &heading)?;
        for (i, line) in r.timeline.iter().enumerate() {
            let row = i as u32 + 1;
            s.write_number(row, 0, line.t_s)?;
            text(s, row, 1, line.who)?;
            text(s, row, 2, l.pick(&line.what))?;
            s.write_number(row, 3, line.seq as f64)?;
        }
        s.set_column_width(2, 80)?;
    }
    {
        let s = wb.add_worksheet().set_name(l.s("Findings", "安全隐患"))?;
        let heads = [
            l.s("Id", "隐患编号"),
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
        ];
        header_row(s, &heads, &heading)?;
        for (i, f) in r.findings.iter().enumerate() {
            let row = i as u32 + 1;
            text(s, row, 0, &f.id)?;
            text(s, row, 1, l.pick(&f.title))?;
            text(s, row, 2, format!("{:?}", f.severity).to_lowercase())?;
            text(s, row, 3, l.pick(&f.grade))?;
            text(s, row, 4, f.techniques.iter().map(|t| t.v19).collect::<Vec<_>>().join(", "))?;
            text(s, row, 5, f.mitigations.join(", "))?;
            text(s, row, 6, f.assets.join(", "))?;
            text(s, row, 7, l.pick(&f.family))?;
            text(s, row, 8, f.evidence.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))?;
            text(s, row, 9, l.pick(&f.measure))?;
            text(s, row, 10, l.pick(&f.owner))?;
            s.write_number(row, 11, f64::from(f.deadline_days))?;
            text(s, row, 12, format!("{:?}", f.status).to_lowercase())?;
        }
        s.set_column_width(1, 50)?;
        s.set_column_width(9, 60)?;
    }
    {
        let s = wb.add_worksheet().set_name(l.s("Improvement plan", "整改计划"))?;
        let heads = [
            l.s("Finding", "隐患编号"),
            l.s("Issue", "问题"),
            l.s("Corrective action", "整改措施"),
            "POETE",
            l.s("Owner", "责任部门/人"),
            l.s("Grade", "等级"),
            l.s("Start", "开始"),
            l.s("Due", "整改期限"),
        ];
        header_row(s, &heads, &heading)?;
        for (i, p) in r.plan.iter().enumerate() {
            let row = i as u32 + 1;
            text(s, row, 0, &p.finding)?;
            text(s, row, 1, l.pick(&p.issue))?;
            text(s, row, 2, l.pick(&p.action))?;
            text(s, row, 3, p.element)?;
            text(s, row, 4, l.pick(&p.owner))?;
            text(s, row, 5, l.pick(&p.grade))?;
            text(s, row, 6, p.start.to_string())?;
            text(s, row, 7, p.due.to_string())?;
        }
        s.set_column_width(1, 40)?;
        s.set_column_width(2, 60)?;
    }
    Ok(wb.save_to_buffer()?)
}
