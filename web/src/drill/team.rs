//! A team's console API: its range's state and events, its score, actions, reports, hints,
//! flags and its after-action report.

use super::*;

/// Whether `role` sees provisional scores now: a team, in a blind drill before the hot wash.
fn sees_provisional(drill: &Drill, role: &Role) -> bool {
    matches!(role, Role::Team(_)) && drill.provisional()
}

/// The team's console as `role` sees it: a team sees its provisional card while the drill
/// hides the scores.
fn state_for(drill: &Drill, team: &str, role: &Role) -> Option<TeamView> {
    let mut view = drill.team_state(team)?;
    if sees_provisional(drill, role) {
        view.score = view.score.as_seen(true).clone();
    }
    Some(view)
}

pub(super) async fn team_state(
    State(drill): State<Drill>,
    TeamPath { id: team, role }: TeamPath<false>,
) -> Result<Json<TeamView>, ApiError> {
    state_for(&drill, &team, &role)
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such team"))
}

pub(super) async fn team_stream(
    State(drill): State<Drill>,
    TeamPath { id: team, role }: TeamPath<false>,
) -> Result<Response, ApiError> {
    let watched = Some(team.clone());
    Ok(watched_stream("state", Duration::from_millis(250), drill, watched, move |d| {
        state_for(d, &team, &role)
    }))
}

pub(super) async fn team_endpoints(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<false>,
) -> Result<Json<Vec<EndpointInfo>>, ApiError> {
    drill.team_endpoints(&team).map(Json).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such team"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Page {
    #[serde(default)]
    since: u64,
    #[serde(default = "default_limit")]
    limit: usize,
}

pub(super) fn default_limit() -> usize {
    1000
}

pub(super) async fn team_events(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<false>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<crate::Transactions>, ApiError> {
    let Query(page) = page.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    if page.limit == 0 || page.limit > MAX_EVENTS_PER_PAGE {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be 1..={MAX_EVENTS_PER_PAGE}"),
        ));
    }
    let events = drill
        .team_events(&team, page.since, page.limit)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such team"))?;
    let next = events.last().map_or(page.since, |e| e.seq + 1);
    let events = events.iter().map(|e| serde_json::to_value(e).unwrap_or_default()).collect();
    Ok(Json(crate::Transactions { events, next }))
}

pub(super) async fn team_score(
    State(drill): State<Drill>,
    TeamPath { id: team, role }: TeamPath<false>,
) -> Result<Json<ScoreCard>, ApiError> {
    let card = drill.team_score(&team).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such team"))?;
    Ok(Json(if sees_provisional(&drill, &role) { card.as_seen(true).clone() } else { card }))
}

pub(super) async fn team_trends(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<false>,
) -> Result<Json<TrendsView>, ApiError> {
    drill
        .team_trends(&team)
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such team here"))
}

pub(super) async fn team_exam(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<false>,
) -> Result<Json<ExamView>, ApiError> {
    // Blocking: the grade reads the judged log, and whether it is certified the database.
    Ok(Json(tokio::task::spawn_blocking(move || drill.team_exam(&team)).await??))
}

/// A trainee's certificate or result notice, as the trainers' view serves it.
pub(super) async fn team_certificate(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<false>,
    q: Result<Query<crate::region::CertQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let form = crate::region::CertQuery::form(q)?;
    let (d, t) = (drill.clone(), team.clone());
    let text = tokio::task::spawn_blocking(move || d.team_certificate(&t, form)).await??;
    Ok(crate::region::cert_response(form, &format!("{}-{team}", drill.info().id), text))
}

pub(super) async fn team_mimic(State(drill): State<Drill>, _: TeamPath<false>) -> Result<Response, ApiError> {
    let svg = crate::mimic::svg(&drill.scenario());
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// Whether a `Content-Type` value is JSON: the media type `application/json` exactly (any
/// case), parameters such as `charset` allowed; `application/jsonp` and the like are not.
pub(super) fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case("application/json")
}

/// Parses a JSON body with a clear message on failure.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json);
    if !json {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send Content-Type: application/json"));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
}

pub(super) fn act_error(e: ActError) -> ApiError {
    match e {
        ActError::NotApplied => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not applied: the range was paused or busy, so the action was withdrawn; nothing was done, send it again",
        )
        .zh("未执行：靶场暂停或繁忙，该操作已撤回，未做任何改变，请重新提交")
        .retry_after(2),
        ActError::NotRecorded => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "applied to the plant but not yet on disk (the drill database refuses writes): it is recorded when \
             writes work again and lost if the drill stops before; check the action list before sending it again",
        )
        .zh("已作用于工艺系统但尚未写入磁盘（演练数据库拒绝写入）：恢复写入后会记录，若演练先停止则丢失；重新提交前请先查看操作列表")
        .retry_after(10),
        ActError::RecordsFailing => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the drill database refuses writes (disk full?): nothing was done; try again when the white cell has fixed it",
        )
        .zh("演练数据库拒绝写入（磁盘已满？）：未做任何改变；请在导调组修复后重试")
        .retry_after(10),
        ActError::RateLimited(after) => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, format!("too many flag submissions: wait {after} s"))
                .zh(format!("旗标提交过于频繁：请等待 {after} 秒"))
                .retry_after(after)
        }
        ActError::TooFast(after) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many actions and reports (at most {} in {} s): wait {after} s",
                icsdrill_drill::flags::ACTION_LIMIT,
                icsdrill_drill::flags::ACTION_WINDOW.as_secs()
            ),
        )
        .zh(format!(
            "操作和报告过于频繁（{} 秒内至多 {} 次）：请等待 {after} 秒",
            icsdrill_drill::flags::ACTION_WINDOW.as_secs(),
            icsdrill_drill::flags::ACTION_LIMIT
        ))
        .retry_after(after),
        ActError::TooLarge(size) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the action is {size} bytes; at most {}", icsdrill_drill::flags::MAX_ACTION_BYTES),
        )
        .zh(format!("该操作有 {size} 字节，至多 {} 字节", icsdrill_drill::flags::MAX_ACTION_BYTES)),
        ActError::Rejected(reason) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("the plant refused it: {}", reason.en))
                .zh(format!("工艺系统拒绝了该操作：{}", reason.zh))
        }
        ActError::NotLive(phase) => ApiError::new(
            StatusCode::CONFLICT,
            format!("the drill is {}: actions are taken only while it is live", phase.said()),
        )
        .zh(format!("演练当前{}：仅在演练进行中可执行操作", phase.said_zh())),
        ActError::Unavailable => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the range is busy or stopped; try again")
                .zh("靶场繁忙或已停止，请重试")
        }
    }
}

#[derive(Serialize)]
pub(super) struct Applied {
    applied: bool,
    kind: String,
    /// The node it was queued for, when another node runs the team.
    #[serde(skip_serializing_if = "Option::is_none")]
    queued: Option<String>,
}

pub(super) async fn team_action(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<true>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Applied>, ApiError> {
    let not_an_action = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "not a defender action; `kind` must be one of {}",
                team_actions().collect::<Vec<_>>().join(", ")
            ),
        )
    };
    // The kind first: what is not a team's action is refused by name, without the fields
    // of the simulation's other inputs in the message.
    #[derive(Deserialize)]
    struct Kind {
        kind: String,
    }
    let Kind { kind } = parse_json(&headers, &body)?;
    if !team_actions().any(|t| t == kind) {
        return Err(not_an_action());
    }
    let input: SimInput = parse_json(&headers, &body)?;
    // A team action's kind, checked above, is a defender's.
    let kind = input.defender_kind().ok_or_else(not_an_action)?;
    drill.act(&team, input).await.map_err(act_error)?;
    Ok(Json(Applied { applied: true, kind: kind.to_string(), queued: None }))
}

/// How far past the team's plant clock a report's observed time may be.
const OBSERVED_GRACE_S: f64 = 60.0;

/// An incident report as the form sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportBody {
    technique: String,
    asset: String,
    tactic: Option<String>,
    observed_s: Option<f64>,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    text: String,
}

pub(super) async fn team_report(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<true>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Applied>, ApiError> {
    let r: ReportBody = parse_json(&headers, &body)?;
    let technique = r.technique.trim().to_ascii_uppercase();
    if icsdrill_engine::attack::technique(&technique).is_none() {
        let near = icsdrill_engine::attack::suggest(&r.technique);
        let (hint, hint_zh) = match near.as_slice() {
            [] => ("give an id such as T0836".to_string(), "请填写如 T0836 的编号".to_string()),
            near => (format!("did you mean {}?", near.join(", ")), format!("是否为 {}？", near.join("、"))),
        };
        let typed = r.technique.escape_debug();
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("unknown ATT&CK for ICS technique `{typed}` ({hint})"),
        )
        .zh(format!("未知的 ATT&CK for ICS 技术编号 `{typed}`（{hint_zh}）")));
    }
    let scenario = drill.scenario();
    let asset = r.asset.trim().to_string();
    if scenario.plc(&asset).is_none() && scenario.host(&asset).is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("unknown asset `{}`: give a PLC or host id of the plant", asset.escape_debug()),
        )
        .zh(format!("未知资产 `{}`：请填写本厂的 PLC 或主机编号", asset.escape_debug())));
    }
    if r.observed_s.is_some_and(|t| !t.is_finite() || t < 0.0) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "observed_s must be a time in seconds, at least 0",
        )
        .zh("发现时间须为不小于 0 的秒数"));
    }
    // Nothing is observed before it happens: a time past the team's plant clock (with a
    // minute's grace for a trainee rounding up) is a typing error, said as one.
    let now_s = drill.team_clock_s(&team).unwrap_or(f64::INFINITY);
    if let Some(t) = r.observed_s.filter(|t| *t > now_s + OBSERVED_GRACE_S) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("observed_s {t} is after the plant's clock ({now_s:.0} s): give the simulated second you saw it"),
        )
        .zh(format!("发现时间 {t} 秒晚于当前仿真时间（{now_s:.0} 秒）：请填写发现时的仿真秒数")));
    }
    let input = SimInput::ReportIncident(icsdrill_engine::IncidentReport {
        technique,
        asset,
        observed_s: r.observed_s,
        text: r.text,
        tactic: r.tactic.filter(|t| !t.trim().is_empty()),
        impact: r.impact,
        actions: r.actions,
    });
    drill.act(&team, input).await.map_err(act_error)?;
    Ok(Json(Applied { applied: true, kind: "report_incident".into(), queued: None }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HintBody {
    hint: String,
}

pub(super) async fn team_hint(
    State(drill): State<Drill>,
    TeamPath { id: team, role }: TeamPath<false>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Applied>, ApiError> {
    let h: HintBody = parse_json(&headers, &body)?;
    // A certificate is earned unaided: said as such, not as a hint that does not exist.
    if drill.info().mode == icsdrill_drill::Mode::Exam {
        return Err(ApiError::new(StatusCode::CONFLICT, "an exam gives no hints").zh("考核不提供提示"));
    }
    if !drill.scenario().hints.iter().any(|x| x.id == h.hint) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, format!("no hint `{}`", h.hint.escape_debug())));
    }
    let input = SimInput::RevealHint { hint: h.hint, white_cell: role == Role::Instructor };
    // The white cell, for a team another node runs (the request was not sent there): queued
    // for that node, as an inject is.
    if role == Role::Instructor && drill.team_elsewhere(&team).is_some() {
        let node = drill.queue_for(&team, input).await.map_err(act_error)?;
        return Ok(Json(Applied { applied: false, kind: "reveal_hint".into(), queued: Some(node) }));
    }
    drill.act(&team, input).await.map_err(act_error)?;
    Ok(Json(Applied { applied: true, kind: "reveal_hint".into(), queued: None }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FlagBody {
    flag: String,
}

pub(super) async fn team_flag(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<true>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<FlagAnswer>, ApiError> {
    let f: FlagBody = parse_json(&headers, &body)?;
    if f.flag.is_empty() || f.flag.len() > 128 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "a flag is 1-128 characters"));
    }
    drill.submit_flag(&team, f.flag).await.map(Json).map_err(act_error)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportQuery {
    #[serde(default = "default_format")]
    format: String,
    #[serde(default = "default_lang")]
    lang: String,
}

pub(super) fn default_format() -> String {
    "html".into()
}

pub(super) fn default_lang() -> String {
    "zh".into()
}

pub(super) async fn team_report_doc(
    State(drill): State<Drill>,
    TeamPath { id: team, role }: TeamPath<false>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    // The report names the attack's steps and the findings: the answer key, for a team only
    // once play is over.
    let phase = drill.info().phase;
    if matches!(role, Role::Team(_)) && !phase.is_over() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("the report opens to teams at the hot wash; the drill is {}", phase.said()),
        ));
    }
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    if q.lang != "zh" && q.lang != "en" {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "lang must be zh or en"));
    }
    let d = drill.clone();
    let (content_type, bytes) =
        tokio::task::spawn_blocking(move || d.report(&team, &q.format, &q.lang)).await??;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// The window of a capture.
#[derive(Debug, Deserialize)]
pub(super) struct PcapQuery {
    from: Option<f64>,
    to: Option<f64>,
}

pub(super) async fn team_pcap(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<false>,
    q: Result<Query<PcapQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let d = drill.clone();
    let name = format!("{team}-capture.pcapng");
    let bytes = tokio::task::spawn_blocking(move || d.team_pcap(&team, q.from, q.to)).await??;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '.', "_")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-pcapng".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// Where an alert stream starts and how its alerts are written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertsQuery {
    #[serde(default)]
    since: u64,
    #[serde(default = "default_alert_format")]
    format: String,
    /// The login scope a stream acts in (`login::scope_of` reads it; a stream cannot carry
    /// the header): accepted here so a console's stream may name it.
    #[serde(default, rename = "as")]
    _scope: Option<String>,
}

fn default_alert_format() -> String {
    "json".into()
}

/// The team's alerts as they come, one server-sent event each (`alert`, its id the number of
/// its event in the team's list): JSON, a CEF line or an RFC 5424 message, for the team's own
/// monitoring platform. From `?since=N` on, or after the `Last-Event-ID` a reconnecting
/// client sends (the stream goes on where it broke off, nothing twice).
pub(super) async fn team_alerts(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<false>,
    headers: HeaderMap,
    q: Result<Query<AlertsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(mut q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if let Some(last) = last {
        q.since = q.since.max(last.saturating_add(1));
    }
    if !matches!(q.format.as_str(), "json" | "cef" | "syslog") {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "format must be json, cef or syslog"));
    }
    let start = (drill, team, q.since, std::collections::VecDeque::<Alert>::new(), q.format);
    let stream =
        futures_util::stream::unfold(start, |(drill, team, mut since, mut queue, format)| async move {
            loop {
                if let Some(a) = queue.pop_front() {
                    let data = match format.as_str() {
                        "cef" => a.cef(&team),
                        // Stamped with its time on the drill's clock, as the range's own syslog
                        // forwarder does and its captures are.
                        "syslog" => a.rfc5424(&team, "icsdrill", &crate::syslog_time(a.at_ms)),
                        _ => serde_json::to_string(&a).unwrap_or_default(),
                    };
                    let event = Event::default().event("alert").id(a.seq.to_string()).data(data);
                    return Some((
                        Ok::<_, std::convert::Infallible>(event),
                        (drill, team, since, queue, format),
                    ));
                }
                let seen = drill.seen(Some(&team));
                let alerts = drill.team_alerts(&team, since, 100)?;
                match alerts.last() {
                    Some(last) => {
                        since = last.seq + 1;
                        queue.extend(alerts);
                    }
                    None => drill.next_change(Some(&team), seen).await,
                }
            }
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// Where the team's alerts go, or `{"off": true}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum SyslogBody {
    Off { off: bool },
    To(icsdrill_drill::alerts::SyslogTarget),
}

pub(super) async fn team_syslog(
    State(drill): State<Drill>,
    TeamPath { id: team, .. }: TeamPath<false>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let parsed: Result<SyslogBody, ApiError> = parse_json(&headers, &body);
    let body = parsed.map_err(|e| {
        // A name for an address (`localhost:514`) said so, not as an unmatched enum variant.
        let address = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("address").and_then(|a| a.as_str()).map(str::to_string));
        match address {
            Some(a) if a.parse::<std::net::SocketAddr>().is_err() => ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("address `{a}` is not IP:PORT: give a loopback address and port, e.g. 127.0.0.1:514"),
            ),
            _ => e,
        }
    })?;
    let target = match body {
        SyslogBody::Off { off: true } => None,
        // Not a target, and not "off": nothing to change, said so rather than guessed.
        SyslogBody::Off { off: false } => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "give a receiver ({\"address\": \"127.0.0.1:514\", ...}) or {\"off\": true}",
            ));
        }
        SyslogBody::To(t) => {
            t.check().map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e))?;
            Some(t)
        }
    };
    let on = target.is_some();
    drill.team_syslog(&team, target)?;
    Ok(Json(serde_json::json!({ "forwarding": on })))
}

/// Every technique a report may name, for the report form's list: the v18 id trainees type,
/// the v19 id and the name in both languages. The public ATT&CK table; built once.
pub(super) async fn techniques() -> Response {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = BODY.get_or_init(|| {
        let list: Vec<serde_json::Value> = icsdrill_engine::attack::techniques()
            .iter()
            .map(|t| serde_json::json!({ "id": t.v18, "v19": t.v19, "name": t.names() }))
            .collect();
        serde_json::Value::from(list).to_string()
    });
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "max-age=3600")], body.as_str())
        .into_response()
}
