//! The drill API and web view: team consoles, the instructor (white cell) console and the
//! scoreboard, behind one router with role-based access.
//!
//! Who may do what is decided here, in one place (`ROUTES` and the `allow_*` checks); the
//! drill itself (`DrillApi`, implemented by the runtime) trusts its caller. Every route is
//! listed in `ROUTES`, which also generates the OpenAPI document, so the two cannot drift.
//!
//! Credentials: `Authorization: Bearer TOKEN`, or the `icsdrill_token` cookie a page login
//! (`?token=TOKEN`, as Jupyter does) sets. A team's token reaches only its own range; a
//! request for another team's range is 403, for a team that does not exist 404.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use icsdrill_engine::{Scenario, SimEvent, SimInput};
use icsdrill_judge::score::ScoreCard;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use icsdrill_drill::views::{FlagAnswer, Overview, Standings, TeamView};
use icsdrill_drill::{ActError, Control, DrillInfo, Phase, Role, Scoreboard};

use crate::{ApiError, EndpointInfo, MAX_EVENTS_PER_PAGE, ServiceError};

/// Largest request body accepted.
pub const MAX_BODY: usize = crate::server::MAX_BODY_BYTES;

/// A boxed future, for the async parts of `DrillApi`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the web layer needs from a running drill.
pub trait DrillApi: Send + Sync + 'static {
    /// The role a token stands for.
    fn authenticate(&self, token: &str) -> Option<Role>;
    /// The drill as everyone may see it.
    fn info(&self) -> DrillInfo;
    /// The scenario (the mimic diagram and the action forms are drawn from it).
    fn scenario(&self) -> Arc<Scenario>;
    /// Live scoreboard: `full` for instructors, otherwise as observers see it (frozen).
    fn scoreboard(&self, full: bool) -> watch::Receiver<Arc<Scoreboard>>;
    /// Whether the team exists.
    fn has_team(&self, team: &str) -> bool;
    /// What the team console shows: measured values, alarms, endpoints, hints, injects,
    /// its own score. No true values, no attack internals.
    fn team_state(&self, team: &str) -> Option<TeamView>;
    /// The team's endpoint table.
    fn team_endpoints(&self, team: &str) -> Option<Vec<EndpointInfo>>;
    /// Events the team may see (its traffic, alarms, its own actions), `seq >= since`.
    fn team_events(&self, team: &str, since: u64, limit: usize) -> Option<Vec<SimEvent>>;
    /// The team's score card.
    fn team_score(&self, team: &str) -> Option<ScoreCard>;
    /// Applies a team's (or the white cell's) input to the team's range and waits for its
    /// outcome.
    fn act<'a>(&'a self, team: &'a str, input: SimInput) -> BoxFuture<'a, Result<(), ActError>>;
    /// Changes the phase (`Conflict` when the drill cannot go there from where it is).
    fn control(&self, control: Control) -> Result<Phase, ServiceError>;
    /// Resolves when what a team (or, with `None`, the instructor) sees may have changed:
    /// the next tick, or a phase change. The consoles' streams wait on it rather than a timer.
    fn next_change<'a>(&'a self, team: Option<&'a str>) -> BoxFuture<'a, ()>;
    /// The instructor's view: every team's state with true values, the attack timeline and
    /// its progress.
    fn overview(&self) -> Overview;
    /// The team's after-action report so far: `format` is html, md, json or xlsx, `lang` en
    /// or zh: the content type and the bytes.
    fn report(&self, team: &str, format: &str, lang: &str) -> Result<(&'static str, Vec<u8>), ServiceError>;
    /// Contest: judges and records a flag a team submits.
    fn submit_flag<'a>(&'a self, team: &'a str, flag: String) -> BoxFuture<'a, Result<FlagAnswer, ActError>>;
    /// Final standings with each team's replay hash (instructors).
    fn standings(&self) -> Standings;
    /// The standings as CSV (every cell safe to open in a spreadsheet).
    fn standings_csv(&self) -> Result<Vec<u8>, ServiceError>;
}

/// A drill behind the API.
pub type Drill = Arc<dyn DrillApi>;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anybody.
    Public,
    /// Any credential.
    Any,
    /// The team named in the path, or an instructor.
    TeamOrInstructor,
    /// The team named in the path only.
    OwnTeam,
    /// Instructors only.
    Instructor,
}

/// A route of the drill API: method, path (axum syntax), access, summary, request body.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path, `{team}` for the team id.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub summary: &'static str,
    /// Example request body, for POSTs.
    pub body: Option<&'static str>,
}

/// Every API route. The router, the OpenAPI document and the authorisation tests read it.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "GET",
        path: "/api/health",
        access: Access::Public,
        summary: "Liveness and phase",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/openapi.json",
        access: Access::Public,
        summary: "This document",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/drill",
        access: Access::Any,
        summary: "Drill name, mode, phase, scenario, teams",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/scoreboard",
        access: Access::Any,
        summary: "Ranked scores (frozen for non-instructors in a contest's last minutes)",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/scoreboard/stream",
        access: Access::Any,
        summary: "Scoreboard as server-sent events",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/teams/{team}/state",
        access: Access::TeamOrInstructor,
        summary: "Team console: measured values, alarms, endpoints, hints, injects, score",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/teams/{team}/stream",
        access: Access::TeamOrInstructor,
        summary: "Team console state as server-sent events",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/teams/{team}/endpoints",
        access: Access::TeamOrInstructor,
        summary: "The team's Modbus endpoints",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/teams/{team}/events",
        access: Access::TeamOrInstructor,
        summary: "Events the team may see (?since=&limit=)",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/teams/{team}/score",
        access: Access::TeamOrInstructor,
        summary: "Score card with the breakdown",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/teams/{team}/mimic.svg",
        access: Access::TeamOrInstructor,
        summary: "Mimic diagram of the plant (SVG; ids v-SENSOR, a-ACTUATOR, i-INTERLOCK)",
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/teams/{team}/actions",
        access: Access::OwnTeam,
        summary: "A defender action",
        body: Some(r#"{"kind":"block_source","conduit":"it-ot","host":"it-ws-01"}"#),
    },
    RouteDoc {
        method: "POST",
        path: "/api/teams/{team}/reports",
        access: Access::OwnTeam,
        summary: "An incident report",
        body: Some(
            r#"{"technique":"T0836","asset":"plc-tank","tactic":"Impair Process Control","observed_s":620,"impact":"...","actions":"...","text":"..."}"#,
        ),
    },
    RouteDoc {
        method: "POST",
        path: "/api/teams/{team}/hints",
        access: Access::TeamOrInstructor,
        summary: "Take (team) or reveal (instructor) a hint; it costs points",
        body: Some(r#"{"hint":"h1"}"#),
    },
    RouteDoc {
        method: "POST",
        path: "/api/teams/{team}/flags",
        access: Access::OwnTeam,
        summary: "Contest: submit a flag (at most 5 a minute)",
        body: Some(r#"{"flag":"flag{0123456789abcdef}"}"#),
    },
    RouteDoc {
        method: "GET",
        path: "/api/drill/standings",
        access: Access::Instructor,
        summary: "Final standings with each team's replay hash (?format=json|csv)",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/teams/{team}/report",
        access: Access::TeamOrInstructor,
        summary: "After-action report with findings and improvement plan (?format=html|md|json|xlsx&lang=zh|en)",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/instructor/overview",
        access: Access::Instructor,
        summary: "All teams: true vs measured values, attack timeline and progress, scores",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/instructor/stream",
        access: Access::Instructor,
        summary: "Overview as server-sent events",
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/drill/control",
        access: Access::Instructor,
        summary: "start, pause, resume, hot_wash, end",
        body: Some(r#"{"action":"start"}"#),
    },
    RouteDoc {
        method: "POST",
        path: "/api/drill/injects",
        access: Access::Instructor,
        summary: "An inject to some or all teams: message, phone call, or an attack step fired now",
        body: Some(r#"{"teams":["a"],"channel":"phone","text":"Operations reports the tank level is odd"}"#),
    },
];

/// Defender action kinds a team may post to `/actions`: every defender input but the incident
/// report, which has its own route and checks.
pub fn team_actions() -> impl Iterator<Item = &'static str> {
    icsdrill_engine::input::DEFENDER_KINDS.into_iter().filter(|k| *k != "report_incident")
}

const COOKIE: &str = "icsdrill_token";

/// The handler of a documented route.
///
/// # Panics
///
/// When `ROUTES` lists a route this has no handler for: the router is built from `ROUTES`,
/// so the API serves exactly what is documented (and authorised) there.
fn handler(r: &RouteDoc) -> MethodRouter<Drill> {
    match (r.method, r.path) {
        ("GET", "/api/health") => get(health),
        ("GET", "/api/openapi.json") => get(openapi),
        ("GET", "/api/drill") => get(info),
        ("GET", "/api/scoreboard") => get(scoreboard),
        ("GET", "/api/scoreboard/stream") => get(scoreboard_stream),
        ("GET", "/api/teams/{team}/state") => get(team_state),
        ("GET", "/api/teams/{team}/stream") => get(team_stream),
        ("GET", "/api/teams/{team}/endpoints") => get(team_endpoints),
        ("GET", "/api/teams/{team}/events") => get(team_events),
        ("GET", "/api/teams/{team}/score") => get(team_score),
        ("GET", "/api/teams/{team}/mimic.svg") => get(team_mimic),
        ("POST", "/api/teams/{team}/actions") => post(team_action),
        ("POST", "/api/teams/{team}/reports") => post(team_report),
        ("POST", "/api/teams/{team}/hints") => post(team_hint),
        ("GET", "/api/teams/{team}/report") => get(team_report_doc),
        ("POST", "/api/teams/{team}/flags") => post(team_flag),
        ("GET", "/api/drill/standings") => get(standings),
        ("GET", "/api/instructor/overview") => get(overview),
        ("GET", "/api/instructor/stream") => get(overview_stream),
        ("POST", "/api/drill/control") => post(control),
        ("POST", "/api/drill/injects") => post(inject),
        (method, path) => panic!("ROUTES lists {method} {path}, which has no handler"),
    }
}

/// The pages and assets (HTML, JS, CSS), apart from the API.
const PAGES: &[&str] = &["/", "/team/{team}", "/instructor", "/assets/app.js", "/assets/app.css"];

/// The drill's router: the API routes of `ROUTES` and nothing else under `/api`, then the
/// pages and assets.
pub fn router(drill: Drill) -> Router {
    let api = ROUTES.iter().fold(Router::new(), |router, r| router.route(r.path, handler(r)));
    let pages: [MethodRouter<Drill>; 5] = [
        get(page_scoreboard),
        get(page_team),
        get(page_instructor),
        get(|| asset("text/javascript; charset=utf-8", crate::pages::APP_JS)),
        get(|| asset("text/css; charset=utf-8", crate::pages::APP_CSS)),
    ];
    PAGES
        .iter()
        .zip(pages)
        .fold(api, |router, (path, page)| router.route(path, page))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such resource") })
        .layer(axum::middleware::from_fn(crate::trace::layer))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(drill)
}

/// Serves the drill on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    drill: Drill,
    limits: crate::server::HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::server::serve(listener, router(drill), limits, shutdown).await
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // Login URLs carry the token: never leak it to another site.
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'",
        ),
    );
    res
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// The token a request carries: bearer header first, then the cookie.
pub(crate) fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_string())
        })
}

fn role(drill: &Drill, headers: &HeaderMap) -> Result<Role, ApiError> {
    let Some(t) = token(headers) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "log in: open your login URL, or send Authorization: Bearer TOKEN",
        ));
    };
    drill.authenticate(&t).ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unknown or expired token"))
}

use icsdrill_drill::vocab::valid_team_id;

/// Checks a team-scoped route: 401 without a credential, 404 for a team that does not exist,
/// 403 for another team's range or a role the route is not for.
fn allow_team(drill: &Drill, headers: &HeaderMap, team: &str, access: Access) -> Result<Role, ApiError> {
    let role = role(drill, headers)?;
    if !valid_team_id(team) || !drill.has_team(team) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no team `{}`", team.escape_debug())));
    }
    let ok = match (&role, access) {
        (Role::Team(own), Access::TeamOrInstructor | Access::OwnTeam) => own == team,
        (Role::Instructor, Access::TeamOrInstructor) => true,
        _ => false,
    };
    if !ok {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("not allowed to reach team `{team}`'s range"),
        ));
    }
    Ok(role)
}

fn allow_instructor(drill: &Drill, headers: &HeaderMap) -> Result<(), ApiError> {
    match role(drill, headers)? {
        Role::Instructor => Ok(()),
        _ => Err(ApiError::new(StatusCode::FORBIDDEN, "instructors only")),
    }
}

#[derive(Serialize)]
struct HealthBody {
    status: &'static str,
    phase: Phase,
}

async fn health(State(drill): State<Drill>) -> Json<HealthBody> {
    Json(HealthBody { status: "ok", phase: drill.info().phase })
}

async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

async fn info(State(drill): State<Drill>, headers: HeaderMap) -> Result<Json<DrillInfo>, ApiError> {
    role(&drill, &headers)?;
    Ok(Json(drill.info()))
}

fn board_rx(drill: &Drill, headers: &HeaderMap) -> Result<watch::Receiver<Arc<Scoreboard>>, ApiError> {
    let full = role(drill, headers)? == Role::Instructor;
    Ok(drill.scoreboard(full))
}

async fn scoreboard(State(drill): State<Drill>, headers: HeaderMap) -> Result<Json<Scoreboard>, ApiError> {
    let rx = board_rx(&drill, &headers)?;
    let board = rx.borrow().clone();
    Ok(Json((*board).clone()))
}

async fn scoreboard_stream(State(drill): State<Drill>, headers: HeaderMap) -> Result<Response, ApiError> {
    let rx = board_rx(&drill, &headers)?;
    let stream = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let board = rx.borrow_and_update().clone();
        let data = if board.json.is_empty() {
            serde_json::to_string(&*board).unwrap_or_default()
        } else {
            board.json.clone()
        };
        Some((
            Ok::<_, std::convert::Infallible>(Event::default().event("scoreboard").data(data)),
            (rx, false),
        ))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// A stream of `make()`, sent at once and then whenever it changed: it wakes when the drill
/// says the view may have changed (`DrillApi::next_change`), at most once every `period`.
fn watched_stream<T: Serialize + 'static>(
    name: &'static str,
    period: Duration,
    drill: Drill,
    team: Option<String>,
    make: impl Fn(&Drill) -> Option<T> + Send + Sync + 'static,
) -> Response {
    let start = (drill, make, String::new(), None::<tokio::time::Instant>);
    let stream = futures_util::stream::unfold(start, move |(drill, make, last, sent)| {
        let team = team.clone();
        async move {
            let mut sent = sent;
            loop {
                if let Some(at) = sent {
                    drill.next_change(team.as_deref()).await;
                    // A rate limit after a change, not a poll: a held clock sleeps here never.
                    tokio::time::sleep_until(at + period).await;
                }
                sent = Some(tokio::time::Instant::now());
                let value = make(&drill)?;
                let data = serde_json::to_string(&value).unwrap_or_default();
                if data != last {
                    let event = Event::default().event(name).data(data.clone());
                    return Some((Ok::<_, std::convert::Infallible>(event), (drill, make, data, sent)));
                }
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

async fn team_state(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
) -> Result<Json<TeamView>, ApiError> {
    allow_team(&drill, &headers, &team, Access::TeamOrInstructor)?;
    drill.team_state(&team).map(Json).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such team"))
}

async fn team_stream(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    allow_team(&drill, &headers, &team, Access::TeamOrInstructor)?;
    let watched = Some(team.clone());
    Ok(watched_stream("state", Duration::from_millis(250), drill, watched, move |d| d.team_state(&team)))
}

async fn team_endpoints(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<EndpointInfo>>, ApiError> {
    allow_team(&drill, &headers, &team, Access::TeamOrInstructor)?;
    drill.team_endpoints(&team).map(Json).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such team"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    #[serde(default)]
    since: u64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    1000
}

async fn team_events(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<crate::Transactions>, ApiError> {
    allow_team(&drill, &headers, &team, Access::TeamOrInstructor)?;
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

async fn team_score(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ScoreCard>, ApiError> {
    allow_team(&drill, &headers, &team, Access::TeamOrInstructor)?;
    drill.team_score(&team).map(Json).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such team"))
}

async fn team_mimic(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    allow_team(&drill, &headers, &team, Access::TeamOrInstructor)?;
    let svg = crate::mimic::svg(&drill.scenario());
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// Whether a `Content-Type` value is JSON: the media type `application/json` exactly (any
/// case), parameters such as `charset` allowed; `application/jsonp` and the like are not.
fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case("application/json")
}

/// Parses a JSON body with a clear message on failure.
fn parse_json<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json);
    if !json {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send Content-Type: application/json"));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
}

fn act_error(e: ActError) -> ApiError {
    match e {
        ActError::NotApplied => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not applied: the range was paused or busy, so the action was withdrawn; nothing was done, send it again",
        )
        .retry_after(2),
        ActError::NotRecorded => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "applied to the plant but not yet on disk (the drill database refuses writes): it is recorded when \
             writes work again and lost if the drill stops before; check the action list before sending it again",
        )
        .retry_after(10),
        ActError::RecordsFailing => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the drill database refuses writes (disk full?): nothing was done; try again when the white cell has fixed it",
        )
        .retry_after(10),
        ActError::RateLimited(after) => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, format!("too many flag submissions: wait {after} s"))
        }
        ActError::Rejected(reason) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("the plant refused it: {reason}"))
        }
        ActError::NotLive(phase) => ApiError::new(
            StatusCode::CONFLICT,
            format!("the drill is {}: actions are taken only while it is live", phase_name(phase)),
        ),
        ActError::Unavailable => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the range is busy or stopped; try again")
        }
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Briefing => "in briefing",
        Phase::Live => "live",
        Phase::Paused => "paused",
        Phase::HotWash => "in hot wash",
        Phase::Ended => "ended",
    }
}

#[derive(Serialize)]
struct Applied {
    applied: bool,
    kind: String,
}

async fn team_action(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Applied>, ApiError> {
    allow_team(&drill, &headers, &team, Access::OwnTeam)?;
    let input: SimInput = parse_json(&headers, &body)?;
    let kind = input.defender_kind().filter(|k| team_actions().any(|t| t == *k)).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "not a defender action; `kind` must be one of {}",
                team_actions().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    drill.act(&team, input).await.map_err(act_error)?;
    Ok(Json(Applied { applied: true, kind: kind.to_string() }))
}

/// An incident report as the form sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    technique: String,
    asset: String,
    #[serde(default)]
    tactic: Option<String>,
    #[serde(default)]
    observed_s: Option<f64>,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    text: String,
}

async fn team_report(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Applied>, ApiError> {
    allow_team(&drill, &headers, &team, Access::OwnTeam)?;
    let r: ReportBody = parse_json(&headers, &body)?;
    let technique = r.technique.trim().to_ascii_uppercase();
    if icsdrill_engine::attack::technique(&technique).is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown ATT&CK for ICS technique `{}` (give an id such as T0836)",
                r.technique.escape_debug()
            ),
        ));
    }
    let scenario = drill.scenario();
    let asset = r.asset.trim().to_string();
    if scenario.plc(&asset).is_none() && scenario.host(&asset).is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("unknown asset `{}`: give a PLC or host id of the plant", asset.escape_debug()),
        ));
    }
    if r.observed_s.is_some_and(|t| !t.is_finite() || t < 0.0) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "observed_s must be a time in seconds, at least 0",
        ));
    }
    let input = SimInput::ReportIncident {
        technique,
        asset,
        observed_s: r.observed_s,
        text: r.text,
        tactic: r.tactic.filter(|t| !t.trim().is_empty()),
        impact: r.impact,
        actions: r.actions,
    };
    drill.act(&team, input).await.map_err(act_error)?;
    Ok(Json(Applied { applied: true, kind: "report_incident".into() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HintBody {
    hint: String,
}

async fn team_hint(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Applied>, ApiError> {
    allow_team(&drill, &headers, &team, Access::TeamOrInstructor)?;
    let h: HintBody = parse_json(&headers, &body)?;
    if !drill.scenario().hints.iter().any(|x| x.id == h.hint) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, format!("no hint `{}`", h.hint.escape_debug())));
    }
    drill.act(&team, SimInput::RevealHint { hint: h.hint }).await.map_err(act_error)?;
    Ok(Json(Applied { applied: true, kind: "reveal_hint".into() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagBody {
    flag: String,
}

async fn team_flag(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<FlagAnswer>, ApiError> {
    allow_team(&drill, &headers, &team, Access::OwnTeam)?;
    let f: FlagBody = parse_json(&headers, &body)?;
    if f.flag.is_empty() || f.flag.len() > 128 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "a flag is 1-128 characters"));
    }
    drill.submit_flag(&team, f.flag).await.map(Json).map_err(act_error)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StandingsQuery {
    #[serde(default)]
    format: Option<String>,
}

async fn standings(
    State(drill): State<Drill>,
    headers: HeaderMap,
    q: Result<Query<StandingsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    allow_instructor(&drill, &headers)?;
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let format = q.format.unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "csv") {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "format must be json or csv"));
    }
    let d = drill.clone();
    if format == "csv" {
        let csv = tokio::task::spawn_blocking(move || d.standings_csv()).await??;
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response());
    }
    let v = tokio::task::spawn_blocking(move || d.standings()).await?;
    Ok(Json(v).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    #[serde(default = "default_format")]
    format: String,
    #[serde(default = "default_lang")]
    lang: String,
}

fn default_format() -> String {
    "html".into()
}

fn default_lang() -> String {
    "zh".into()
}

async fn team_report_doc(
    State(drill): State<Drill>,
    Path(team): Path<String>,
    headers: HeaderMap,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let role = allow_team(&drill, &headers, &team, Access::TeamOrInstructor)?;
    // The report names the attack's steps and the findings: the answer key, for a team only
    // once play is over.
    let phase = drill.info().phase;
    if matches!(role, Role::Team(_)) && !matches!(phase, Phase::HotWash | Phase::Ended) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("the report opens to teams at the hot wash; the drill is {}", phase_name(phase)),
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

async fn overview(State(drill): State<Drill>, headers: HeaderMap) -> Result<Json<Overview>, ApiError> {
    allow_instructor(&drill, &headers)?;
    Ok(Json(drill.overview()))
}

async fn overview_stream(State(drill): State<Drill>, headers: HeaderMap) -> Result<Response, ApiError> {
    allow_instructor(&drill, &headers)?;
    Ok(watched_stream("overview", Duration::from_millis(500), drill, None, |d| Some(d.overview())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlBody {
    action: Control,
}

#[derive(Serialize)]
struct PhaseBody {
    phase: Phase,
}

async fn control(
    State(drill): State<Drill>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PhaseBody>, ApiError> {
    allow_instructor(&drill, &headers)?;
    let c: ControlBody = parse_json(&headers, &body)?;
    let phase = drill.control(c.action)?;
    Ok(Json(PhaseBody { phase }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectBody {
    /// Teams to send it to; all when absent.
    #[serde(default)]
    teams: Option<Vec<String>>,
    channel: icsdrill_engine::input::InjectChannel,
    #[serde(default)]
    text: String,
    #[serde(default)]
    step: Option<String>,
}

#[derive(Serialize)]
struct InjectResult {
    team: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn inject(
    State(drill): State<Drill>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Vec<InjectResult>>, ApiError> {
    allow_instructor(&drill, &headers)?;
    let b: InjectBody = parse_json(&headers, &body)?;
    use icsdrill_engine::input::InjectChannel;
    match (b.channel, &b.step) {
        (InjectChannel::Step, None) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "channel `step` needs `step`: the attack step id",
            ));
        }
        (InjectChannel::Message | InjectChannel::Phone, Some(_)) => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "`step` goes with channel `step` only"));
        }
        (InjectChannel::Message | InjectChannel::Phone, None) if b.text.trim().is_empty() => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "a message or phone inject needs `text`"));
        }
        _ => {}
    }
    let teams = match b.teams {
        Some(t) => {
            for id in &t {
                if !drill.has_team(id) {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("no team `{}`", id.escape_debug()),
                    ));
                }
            }
            t
        }
        None => drill.info().teams.into_iter().map(|t| t.id).collect(),
    };
    let mut out = Vec::new();
    for team in teams {
        let input = SimInput::Inject { channel: b.channel, text: b.text.clone(), step: b.step.clone() };
        let r = drill.act(&team, input).await;
        out.push(InjectResult { team, ok: r.is_ok(), error: r.err().map(|e| act_error(e).message) });
    }
    Ok(Json(out))
}

/// A page: logs in when the URL carries `?token=` (sets the cookie and redirects to the same
/// page without the token).
fn page(drill: &Drill, raw: Option<String>, path: &str, html: &'static str) -> Response {
    if let Some(q) = raw {
        let token = q.split('&').find_map(|kv| kv.strip_prefix("token="));
        if let Some(t) = token {
            if drill.authenticate(t).is_none() {
                return (StatusCode::UNAUTHORIZED, Html(crate::pages::BAD_TOKEN)).into_response();
            }
            let cookie = format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict");
            let mut res = Redirect::to(path).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            return res;
        }
    }
    Html(html).into_response()
}

async fn page_scoreboard(State(drill): State<Drill>, RawQuery(q): RawQuery) -> Response {
    page(&drill, q, "/", crate::pages::SCOREBOARD)
}

async fn page_team(State(drill): State<Drill>, Path(team): Path<String>, RawQuery(q): RawQuery) -> Response {
    if !valid_team_id(&team) {
        return ApiError::new(StatusCode::NOT_FOUND, "no such team").into_response();
    }
    page(&drill, q, &format!("/team/{team}"), crate::pages::TEAM)
}

async fn page_instructor(State(drill): State<Drill>, RawQuery(q): RawQuery) -> Response {
    page(&drill, q, "/instructor", crate::pages::INSTRUCTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The router is built from `ROUTES`: every documented route has its handler (a route
    /// added to `ROUTES` alone panics here), each once, and nothing else is served under
    /// `/api` (a handler added to the router alone is unreachable: `handler` is the only way
    /// in, and the pages stay outside `/api`).
    #[test]
    fn the_router_serves_exactly_the_documented_routes() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ROUTES {
            let _ = handler(r);
            assert!(seen.insert((r.method, r.path)), "{} {} is listed twice", r.method, r.path);
            assert!(r.path.starts_with("/api/"), "{} is documented but not under /api", r.path);
        }
        assert!(PAGES.iter().all(|p| !p.starts_with("/api")), "a page under /api: {PAGES:?}");
        let undocumented = RouteDoc { method: "GET", path: "/api/secret", ..ROUTES[0] };
        assert!(
            std::panic::catch_unwind(|| handler(&undocumented)).is_err(),
            "an unknown route has no handler"
        );
    }
}
