//! After-action reports (HSEEP AAR/IP and GB/T 38645 演练报告) per drill and team: overview,
//! executive summary, the timeline of attack steps against the team's actions, capability
//! ratings (P/S/M/U) per objective, strengths, areas for improvement, the findings (安全隐患)
//! and the improvement plan, in HTML (self-contained, prints well), Markdown, JSON or xlsx,
//! in Chinese or English.

use crate::Result;
use crate::governance::dates::Day;
use icsdrill_engine::scenario::Text;
use icsdrill_engine::{EventKind, RejectReason, Scenario, SimEvent, SimInput};
use icsdrill_judge::findings::{Finding, Merged};
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

    /// What separates the items of a list of phrases: `; `, or full width in Chinese.
    fn list(self) -> &'static str {
        self.s("; ", "；")
    }

    /// What follows a label: `: `, or full width in Chinese.
    fn colon(self) -> &'static str {
        self.s(": ", "：")
    }

    /// `text` in brackets after what it qualifies: ` (text)`, or full width in Chinese.
    fn paren(self, text: &str) -> String {
        match self {
            Lang::En => format!(" ({text})"),
            Lang::Zh => format!("（{text}）"),
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

/// What a filed copy names besides the drill: who organised it and where it took place
/// (`serve --organiser --place`, or a drill file's `organiser:`, `place:`). The organiser also
/// issues an exam's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Cover {
    /// The organiser (主办单位), e.g. the regional department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organiser: Option<String>,
    /// Where it took place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
}

impl Cover {
    /// Neither given.
    pub fn is_empty(&self) -> bool {
        self.organiser.is_none() && self.place.is_none()
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
    /// Organiser and place.
    pub cover: Cover,
    /// Rectification deadlines, when not the level's defaults.
    #[serde(skip)]
    pub deadlines: Option<icsdrill_judge::findings::Deadlines>,
    /// The tick the drill has reached, when the events given are only the judged ones (a
    /// live drill's), so the score is taken where the whole log would end.
    #[serde(skip)]
    pub end_tick: Option<u64>,
    /// Contest flag challenges offered (their points count, as on the board).
    #[serde(skip)]
    pub challenges: usize,
    /// The drill's own length in plant seconds (`serve --duration`), when it was given one:
    /// the length the report measures the drill against, instead of the scenario's.
    #[serde(skip)]
    pub planned_s: Option<f64>,
}

/// A hidden hazard an earlier drill found, as this drill re-tested it.
#[derive(Debug, Clone, Serialize)]
pub struct Retested {
    /// Finding id.
    pub id: String,
    /// Its title.
    pub title: Text,
    /// The drill that found it (again, when it was reopened).
    pub first_drill: String,
    /// What this drill made of it: `verified`, `still_open`, `not_retested` or `reopened`.
    pub verdict: String,
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

/// One step of the response plan as the team carried it out (an enterprise drill, which
/// scores its plan).
#[derive(Debug, Clone, Serialize)]
pub struct ResponseStep {
    /// Step id.
    pub id: String,
    /// What the plan says to do.
    pub name: Text,
    /// Minutes after the attack's start it is due within.
    pub within_min: f64,
    /// When it was due (none if the attack never started).
    pub due_s: Option<f64>,
    /// When the team did it, if it did.
    pub done_s: Option<f64>,
    /// In time, late, missed, or not due yet.
    pub status: icsdrill_judge::score::PlanStatus,
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
    /// Each process variable over the drill (for the charts).
    pub trends: Vec<charts::Trend>,
    /// The simulated second the report ends at.
    pub end_s: f64,
    /// The scenario's length in simulated seconds (a drill ended early stops before it).
    pub planned_s: f64,
    /// Earlier drills' hidden hazards of this enterprise as this drill re-tested them (复核),
    /// from the rectification register: filled in for a recorded drill (`of_team`).
    pub retested: Vec<Retested>,
    /// The hidden hazards, one per stable id (as the rectification register keeps them).
    pub findings: Vec<Finding>,
    /// The same, merged by cause: what the report lists.
    pub merged: Vec<Merged>,
    /// The names of the assets the findings cite, by id.
    pub assets: std::collections::BTreeMap<String, Text>,
    /// The simulated second of each event the merged findings cite as evidence, by seq: a
    /// reader finds it beside the timeline and in the capture by its time.
    pub evidence_s: std::collections::BTreeMap<u64, f64>,
    /// The response plan, step by step, where the drill scores it (empty elsewhere).
    pub response_plan: Vec<ResponseStep>,
    /// The improvement plan.
    pub plan: Vec<PlanRow>,
    /// An exam's grade, task by task, as its certificate states it (an exam's result is this,
    /// not the drill score).
    pub exam: Option<icsdrill_judge::exam::Grade>,
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

/// A request refused: its source, its PLC and why.
fn refusal(kind: &EventKind) -> Option<(&str, &str, RejectReason)> {
    match kind {
        EventKind::ModbusTransaction(t) => Some((t.source.as_str(), t.plc.as_str(), t.reason?)),
        EventKind::Iec104Transaction(t) => Some((t.source.as_str(), t.plc.as_str(), t.reason?)),
        EventKind::OpcUaTransaction(t) => Some((t.source.as_str(), t.plc.as_str(), t.reason?)),
        _ => None,
    }
}

fn timeline(s: &Scenario, events: &[SimEvent]) -> Vec<Line> {
    let hz = f64::from(s.tick_hz);
    let mut out = Vec::new();
    let mut seen_attempt: Vec<String> = Vec::new();
    // The last refusal of each source's requests to each PLC, and when: a live attacker knows
    // only the answer it got (an exception 3 from a range check reads as the firewall's), the
    // log knows why.
    let mut refused: std::collections::BTreeMap<(&str, &str), (u64, RejectReason)> = Default::default();
    for e in events {
        if let Some((source, plc, reason)) = refusal(&e.kind) {
            refused.insert((source, plc), (e.tick, reason));
        }
        let (who, what) = match &e.kind {
            EventKind::AttackAttempt { step, host, ok, reason, .. } => {
                if seen_attempt.contains(step) && *ok {
                    continue;
                }
                seen_attempt.push(step.clone());
                let def = s.attack.as_ref().and_then(|p| p.steps.iter().find(|x| x.id == *step));
                let name = def.map(|x| x.name.clone());
                let target = def.and_then(|x| x.action.plc()).map(|p| s.plcs[p.ix()].id.as_str());
                let seen = target.and_then(|plc| refused.get(&(host.as_str(), plc)));
                let reason = match seen {
                    Some(&(tick, why)) if !*ok && e.tick.saturating_sub(tick) <= u64::from(s.tick_hz) * 5 => {
                        Some(why)
                    }
                    _ => *reason,
                };
                let name = name.unwrap_or_else(|| Text::new(step.clone(), step.clone()));
                let from = narrate::mid_sentence(s.label(host));
                let why = reason.map(icsdrill_engine::RejectReason::words);
                (
                    "attacker",
                    Text::new(
                        // Where the attacker was, apart from the step's name (which may say
                        // "from" already: "... from the office PC ... from office workstation").
                        format!(
                            "{} (attacker's host: {}): {}{}",
                            name.en,
                            from.en,
                            if *ok { "succeeded" } else { "blocked" },
                            why.as_ref().map(|w| format!(" ({})", w.en)).unwrap_or_default()
                        ),
                        format!(
                            "{}（来自{}）：{}{}",
                            name.zh,
                            from.zh,
                            if *ok { "成功" } else { "被阻断" },
                            why.as_ref().map(|w| format!("（{}）", w.zh)).unwrap_or_default()
                        ),
                    ),
                )
            }
            EventKind::InputApplied { input } | EventKind::InputRejected { input, .. } => {
                let refused = match &e.kind {
                    EventKind::InputRejected { reason, .. } => Some(*reason),
                    _ => None,
                };
                match input_line(s, input, refused) {
                    Some(line) => line,
                    None => continue,
                }
            }
            EventKind::InterlockTripped { interlock, .. } => {
                let i = s.label(interlock);
                ("plant", Text::new(format!("{} tripped", i.en), format!("{}动作", i.zh)))
            }
            EventKind::InterlockDefeated { interlock, .. } => {
                let i = s.label(interlock);
                (
                    "plant",
                    Text::new(
                        format!("{}: trip condition met, but bypassed: no trip", i.en),
                        format!("{}：已达联锁动作条件，但因旁路未动作", i.zh),
                    ),
                )
            }
            EventKind::InterlockBypass { interlock, on, .. } => {
                let i = s.label(interlock);
                let (en, zh) =
                    if *on { ("bypass set", "旁路投入") } else { ("bypass taken off", "旁路解除") };
                ("plant", Text::new(format!("{}: {en}", i.en), format!("{}：{zh}", i.zh)))
            }
            EventKind::Damage { var, .. } => {
                let v = s.label(var);
                ("plant", Text::new(format!("Damage: {}", v.en), format!("设备损坏：{}", v.zh)))
            }
            EventKind::AlarmRaised { alarm, level, .. } => {
                let (a, lv) = (s.label(alarm), narrate::level(*level));
                ("plant", Text::new(format!("{} ({})", a.en, lv.en), format!("{}（{}）", a.zh, lv.zh)))
            }
            _ => continue,
        };
        out.push(Line { t_s: e.tick as f64 / hz, who, what, seq: e.seq });
    }
    out
}

/// A team's or the white cell's input as a timeline line (who, what), if it is one.
fn input_line(s: &Scenario, input: &SimInput, refused: Option<RejectReason>) -> Option<(&'static str, Text)> {
    let line = match input {
        // A step the white cell fired by hand: the attack's lines after it follow
        // from it, not from the attack's own course.
        SimInput::Inject { step: Some(step), .. } => {
            let name = s.attack.as_ref().and_then(|p| p.steps.iter().find(|x| x.id == *step));
            let name = name.map_or_else(|| Text::new(step.clone(), step.clone()), |x| x.name.clone());
            // Refused (fired already, or before the step it follows finished): nothing happened.
            let (en, zh) = refused.map_or((String::new(), String::new()), |r| {
                let why = r.words();
                (format!(" (refused: {})", why.en), format!("（未执行：{}）", why.zh))
            });
            (
                "white_cell",
                Text::new(
                    format!("Fired the attack step “{}” by hand{en}", name.en),
                    format!("手动触发攻击步骤“{}”{zh}", name.zh),
                ),
            )
        }
        SimInput::Inject { text, .. } if !text.is_empty() => {
            ("white_cell", narrate::verbatim(format!("Inject: {text}"), format!("注入：{text}")))
        }
        // A hint costs the team its points whoever revealed it; the timeline says who did.
        SimInput::RevealHint { hint, white_cell: true } => (
            "white_cell",
            Text::new(
                format!("Revealed hint {hint} to the team (its cost is the team's)"),
                format!("向队伍发放提示 {hint}（扣分计入该队）"),
            ),
        ),
        SimInput::RevealHint { hint, .. } => {
            ("team", Text::new(format!("Took hint {hint}"), format!("使用提示 {hint}")))
        }
        SimInput::ReportIncident(icsdrill_engine::IncidentReport { technique, asset, .. }) => {
            let (t, a) =
                (icsdrill_engine::attack::technique(technique), narrate::mid_sentence(s.label(asset)));
            let t = t.map_or_else(
                || Text::new(technique.clone(), technique.clone()),
                |t| {
                    let names = t.names();
                    Text::new(format!("{} {}", t.v19, names.en), format!("{} {}", t.v19, names.zh))
                },
            );
            (
                "team",
                Text::new(
                    format!("Incident report: {} on {}", t.en, a.en),
                    format!("事件报告：{}遭受 {}", a.zh, t.zh),
                ),
            )
        }
        i => match narrate::action(s, i) {
            // A refused action with why, as the console said it.
            Some(what) => {
                let (en, zh) = refused.map_or((String::new(), String::new()), |r| {
                    let why = r.words();
                    (format!(" (refused: {})", why.en), format!("（被拒绝：{}）", why.zh))
                });
                ("team", Text::new(format!("{}{en}", what.en), format!("{}{zh}", what.zh)))
            }
            None => return None,
        },
    };
    Some(line)
}

/// Builds the report of one team's drill from its log.
pub fn build(scenario: &Scenario, events: &[SimEvent], plan_scored: bool, ctx: Context) -> Report {
    // Scored as the drill scored it: the console's and the board's number.
    let end = ctx.end_tick.unwrap_or_else(|| events.last().map_or(0, |e| e.tick));
    let card = Scorer::score_contest_log_at(scenario, (plan_scored, ctx.challenges), events, end);
    let deadlines =
        ctx.deadlines.unwrap_or_else(|| icsdrill_judge::findings::Deadlines::for_level(ctx.level));
    let findings =
        icsdrill_judge::findings::findings_until(scenario, events, deadlines, (Some(end), plan_scored));
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
    let (strengths, mut improvements) = summary(scenario, events, &card);
    let merged = icsdrill_judge::findings::merge(&findings);
    improvements.extend(
        merged
            .iter()
            .filter(|f| f.assessment.severity <= icsdrill_judge::findings::Severity::High)
            .map(|f| f.title.clone()),
    );
    let plan = merged
        .iter()
        .map(|f| PlanRow {
            finding: f.number.clone(),
            issue: f.title.clone(),
            action: f.assessment.measure.clone(),
            element: f.assessment.capability,
            owner: f.assessment.owner.clone(),
            start: ctx.date,
            due: ctx.date.add_days(i64::from(f.assessment.deadline_days)),
            grade: f.assessment.grade.clone(),
        })
        .collect();
    let response_plan = if plan_scored { response_steps(scenario, &card) } else { Vec::new() };
    let exam = (ctx.mode == icsdrill_drill::Mode::Exam)
        .then(|| icsdrill_judge::exam::grade_at(scenario, events, scenario.exam.pass, end));
    let exam_limit = exam.as_ref().and(scenario.exam.time_limit_ticks);
    Report {
        exam,
        scenario: scenario.id.clone(),
        title: scenario.meta.title.clone(),
        brief: scenario.meta.brief.clone(),
        timeline: timeline(scenario, events),
        trends: charts::trends(scenario, events),
        end_s: end as f64 / f64::from(scenario.tick_hz),
        // An exam is planned for its time limit, a drill given a length for that length, not
        // the scenario's.
        planned_s: exam_limit
            .map(|t| t as f64 / f64::from(scenario.tick_hz))
            .or(ctx.planned_s)
            .unwrap_or(scenario.duration_ticks as f64 / f64::from(scenario.tick_hz)),
        retested: Vec::new(),
        score: card,
        objectives,
        strengths,
        improvements,
        assets: asset_names(scenario, &merged),
        evidence_s: evidence_times(scenario, events, &merged),
        findings,
        merged,
        response_plan,
        plan,
        context: ctx,
    }
}

/// The response plan's steps as the score card marks them, in seconds.
fn response_steps(scenario: &Scenario, card: &ScoreCard) -> Vec<ResponseStep> {
    let within =
        |id: &str| scenario.scoring.response_plan.iter().find(|p| p.id == id).map_or(0, |p| p.within_ticks);
    card.plan
        .iter()
        .map(|m| ResponseStep {
            id: m.id.clone(),
            name: m.name.clone(),
            within_min: scenario.seconds(within(&m.id)) / 60.0,
            due_s: m.deadline_tick.map(|t| scenario.seconds(t)),
            done_s: m.done_tick.map(|t| scenario.seconds(t)),
            status: m.status,
        })
        .collect()
}

/// The executive summary: each scored part a strength or something to improve. No trip is no
/// strength where the attacker had bypassed the interlocks that would have tripped: the plant
/// ran without its protection (said first among the improvements instead).
fn summary(scenario: &Scenario, events: &[SimEvent], card: &ScoreCard) -> (Vec<Text>, Vec<Text>) {
    let bypassed = icsdrill_judge::exam::attack_bypassed(scenario, events);
    let unprotected = |c: &icsdrill_judge::score::Component| c.key == "trip_avoided" && !bypassed.is_empty();
    let said = |c: &icsdrill_judge::score::Component| {
        Text::new(format!("{}: {}", c.label.en, c.detail.en), format!("{}：{}", c.label.zh, c.detail.zh))
    };
    let strong = |c: &icsdrill_judge::score::Component| c.max > 0.0 && c.points >= c.max * 0.9;
    let strengths = card.components.iter().filter(|c| strong(c) && !unprotected(c)).map(said).collect();
    // Every scored part short of a strength is something to improve (a part at 67 % was in
    // neither list).
    let mut improvements: Vec<Text> =
        card.components.iter().filter(|c| (c.max > 0.0 && !strong(c)) || c.points < 0.0).map(said).collect();
    // Full marks kept with a bypass set (no demand came): said with why it is no strength. A
    // bypass a demand met has cost the points already, and is listed as such.
    // The safety PLCs by name, as the rest of the report names them (the Chinese said `sis-01`).
    if let Some(c) = card.components.iter().find(|c| unprotected(c) && strong(c)) {
        let (en, zh): (Vec<String>, Vec<String>) = bypassed
            .iter()
            .map(|p| {
                let t = narrate::mid_sentence(scenario.label(p));
                (format!("the {} ({p})", t.en), format!("{}（{p}）", t.zh))
            })
            .unzip();
        let s = said(c);
        improvements.insert(
            0,
            Text::new(
                format!(
                    "{}, only because no demand came: the attacker had bypassed the safety interlocks of {}, and the plant ran without its protection",
                    s.en,
                    en.join(", ")
                ),
                format!("{}，仅因未出现联锁动作条件：攻击者已旁路{}的安全联锁，装置在失去保护的情况下运行", s.zh, zh.join("、")),
            ),
        );
    }
    (strengths, improvements)
}

/// The names of every asset the merged findings cite.
fn asset_names(s: &Scenario, merged: &[Merged]) -> std::collections::BTreeMap<String, Text> {
    merged.iter().flat_map(|m| &m.assessment.assets).map(|a| (a.clone(), s.label(a))).collect()
}

/// The simulated second of every event the merged findings cite (`events` in seq order).
fn evidence_times(
    s: &Scenario,
    events: &[SimEvent],
    merged: &[Merged],
) -> std::collections::BTreeMap<u64, f64> {
    let hz = f64::from(s.tick_hz);
    // Every one cited (the workbook lists each finding's first ones, not the merged item's).
    let cited = merged.iter().flat_map(|m| m.assessment.evidence.iter());
    cited
        .filter_map(|&seq| {
            let at = events.binary_search_by_key(&seq, |e| e.seq).ok()?;
            Some((seq, events[at].tick as f64 / hz))
        })
        .collect()
}

/// Evidence entries a report prints of a finding (the JSON report and the register keep
/// every one).
const EVIDENCE_SHOWN: usize = 8;

impl Report {
    /// An asset's name in `l` (its id when the scenario does not name it).
    pub(crate) fn asset(&self, id: &str, l: Lang) -> String {
        self.assets.get(id).map_or_else(|| id.to_string(), |t| l.pick(t).to_string())
    }

    /// A finding's evidence as the report prints it: the first event-log entries, each with
    /// its simulated second (`1234 (t 312 s)`), and how many there are in all.
    pub(crate) fn evidence_list(&self, seqs: &[u64], l: Lang) -> String {
        let first: Vec<String> = seqs
            .iter()
            .take(EVIDENCE_SHOWN)
            .map(|seq| match self.evidence_s.get(seq) {
                Some(t) => match l {
                    Lang::En => format!("{seq} (t {t:.0} s)"),
                    Lang::Zh => format!("{seq}（第 {t:.0} 秒）"),
                },
                None => seq.to_string(),
            })
            .collect();
        let sep = l.s(", ", "、");
        if seqs.len() <= EVIDENCE_SHOWN {
            return first.join(sep);
        }
        match l {
            Lang::En => format!("{} … ({} in all)", first.join(sep), seqs.len()),
            Lang::Zh => format!("{} …（共 {} 条）", first.join(sep), seqs.len()),
        }
    }
}

mod charts;
mod html;
mod markdown;
mod narrate;
mod stored;
mod tables;
mod words;
mod xlsx;

pub use stored::{of_team, recorded, retested};
pub(crate) use words::{
    Words, element_word, overview_rows, rating_legend, score_title, severity_word, sign_off, status_text,
    who_word, words,
};
use words::{mitigation_labels, technique_labels};

/// Renders a report.
pub fn render(r: &Report, format: Format, lang: Lang) -> Result<Vec<u8>> {
    Ok(match format {
        Format::Json => serde_json::to_vec_pretty(r)?,
        Format::Md => markdown::markdown(r, lang).into_bytes(),
        Format::Html => html::html(r, lang).into_bytes(),
        Format::Xlsx => xlsx::xlsx(r, lang)?,
    })
}
