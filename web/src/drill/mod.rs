//! The drill API and web view: team consoles, the instructor (white cell) console and the
//! scoreboard, behind one router with role-based access.
//!
//! Who may do what is decided here, in one place (`ROUTES` and the `allow_*` checks); the
//! drill itself (`DrillApi`, implemented by the runtime) trusts its caller. Every route is
//! listed in `ROUTES`, which also generates the OpenAPI document, so the two cannot drift.
//!
//! Credentials: `Authorization: Bearer TOKEN`, or the cookie a page login (`?token=TOKEN`, as
//! Jupyter does) sets, one per kind of login (`login`; `icsdrill_token` is still read). A
//! team's token reaches only its own range; a request for another team's range is 403, for a
//! team that does not exist 404.
//!
//! Here: the routes, access and pages; the handlers by audience in `team` (a team's console),
//! `board` (scoreboard, standings, overview) and `instructor` (phase and injects).

use icsdrill_drill::Seen;
use icsdrill_drill::alerts::{Alert, SyslogTarget};
use icsdrill_drill::exam::ExamView;
use icsdrill_drill::history::HistoryView;
use icsdrill_drill::trends::TrendsView;
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

mod board;
mod instructor;
mod team;

use board::*;
use instructor::*;
use team::*;

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
    /// Each team's total over plant time since the drill's start: `full` for instructors,
    /// otherwise cut at a contest's freeze until the hot wash (and none of a blind drill's).
    fn score_history(&self, full: bool) -> HistoryView;
    /// Whether teams see provisional scores now (a blind drill before the hot wash): the
    /// cards on a team's own console are then the provisional ones its true cards carry.
    fn provisional(&self) -> bool {
        false
    }
    /// Whether the team exists.
    fn has_team(&self, team: &str) -> bool;
    /// The web view of the node that runs the team, when another node of a drill over
    /// several nodes does (e.g. `http://10.0.0.2:8020`): its console and API are there.
    fn team_elsewhere(&self, _team: &str) -> Option<String> {
        None
    }
    /// The web views of the drill's other live nodes (a drill over several nodes), e.g.
    /// `http://10.0.0.2:8020`: a team console whose node stops answering looks for its team
    /// there.
    fn other_nodes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Queues an instructor's input for a team another node runs (`team_elsewhere`); answers
    /// the node's name once the input is in the shared database (that node applies it).
    fn queue_for<'a>(&'a self, _team: &'a str, _input: SimInput) -> BoxFuture<'a, Result<String, ActError>> {
        Box::pin(async { Err(ActError::Unavailable) })
    }
    /// The simulated second team `team`'s range has reached (none: not run here).
    fn team_clock_s(&self, _team: &str) -> Option<f64> {
        None
    }
    /// What the team console shows: measured values, alarms, endpoints, hints, injects,
    /// its own score. No true values, no attack internals.
    fn team_state(&self, team: &str) -> Option<TeamView>;
    /// The team's endpoint table.
    fn team_endpoints(&self, team: &str) -> Option<Vec<EndpointInfo>>;
    /// Events the team may see (its traffic, alarms, its own actions), numbered in the team's
    /// own list from `since` on (one after another: no gap where the log has events it is not
    /// shown), each with its number as its `seq`.
    fn team_events(&self, team: &str, since: u64, limit: usize) -> Option<Vec<SimEvent>>;
    /// The team's score card (as the white cell sees it: a blind drill's carries the
    /// provisional card its team sees, `ScoreCard::as_seen`).
    fn team_score(&self, team: &str) -> Option<ScoreCard>;
    /// The team's historian: its operator station's values and its score, once a second of
    /// plant time (none: no such team here).
    fn team_trends(&self, team: &str) -> Option<TrendsView>;
    /// A certification exam on the trainee's console: the tasks, the pass rule and the time
    /// limit, and the grade once it is over (`NotFound` for a drill that is no exam).
    fn team_exam(&self, team: &str) -> Result<ExamView, ServiceError>;
    /// An exam's signed certificate (a pass) or result notice (a fail), once issued at the
    /// exam's end (`ExamView::certified`), in the form asked for (`NotFound` before, or for a
    /// drill that is no exam or is not recorded).
    fn team_certificate(&self, _team: &str, _form: crate::region::CertForm) -> Result<String, ServiceError> {
        Err(ServiceError::NotFound("no certificate here".into()))
    }
    /// Applies a team's (or the white cell's) input to the team's range and waits for its
    /// outcome.
    fn act<'a>(&'a self, team: &'a str, input: SimInput) -> BoxFuture<'a, Result<(), ActError>>;
    /// Changes the phase (`Conflict` when the drill cannot go there from where it is).
    fn control(&self, control: Control) -> Result<Phase, ServiceError>;
    /// Where what a team (or, with `None`, the instructor) sees stands now: take it before
    /// making a view, and wait on `next_change` with it.
    fn seen(&self, team: Option<&str>) -> Seen;
    /// Resolves when what a team (or, with `None`, the instructor) sees may have changed
    /// since `seen`: a tick past it, or a phase change (at once when one came since). The
    /// consoles' streams wait on it rather than a timer.
    fn next_change<'a>(&'a self, team: Option<&'a str>, seen: Seen) -> BoxFuture<'a, ()>;
    /// The instructor's view: every team's state with true values, the attack timeline and
    /// its progress.
    fn overview(&self) -> Overview;
    /// The team's after-action report so far: `format` is html, md, json or xlsx, `lang` en
    /// or zh: the content type and the bytes.
    fn report(&self, team: &str, format: &str, lang: &str) -> Result<(&'static str, Vec<u8>), ServiceError>;
    /// The team's monitoring alerts from number `since` on in the team's event list (at most
    /// `limit`), each with that number as its `seq`.
    fn team_alerts(&self, team: &str, since: u64, limit: usize) -> Option<Vec<Alert>>;
    /// Pushes the team's alerts to its own syslog receiver from now on (`None`: stops).
    fn team_syslog(&self, team: &str, target: Option<SyslogTarget>) -> Result<(), ServiceError>;
    /// A pcapng of the team's Modbus/TCP traffic between simulated seconds `from` and `to`
    /// (default: the last 300 s on record), rebuilt from its recorded inputs (identical to
    /// `icsdrill pcap` for the same window).
    fn team_pcap(&self, team: &str, from: Option<f64>, to: Option<f64>) -> Result<Vec<u8>, ServiceError>;
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
        path: "/api/techniques",
        access: Access::Public,
        summary: "ATT&CK for ICS techniques a report may name (v18 id, v19 id, name in en and zh)",
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
        summary: "Ranked scores (for non-instructors until the hot wash: frozen in a contest's last minutes, none in a blind drill)",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/scoreboard/history",
        access: Access::Any,
        summary: "Each team's total over plant time (for non-instructors until the hot wash: up to a contest's freeze, none in a blind drill)",
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
        path: "/api/teams/{team}/trends",
        access: Access::TeamOrInstructor,
        summary: "The console's trends: each sensor as the operator station showed it, and the score, once a second of plant time (the last 15 minutes)",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/teams/{team}/exam",
        access: Access::TeamOrInstructor,
        summary: "An exam's tasks, pass rule and time limit; its grade once it is over (404: no exam)",
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/teams/{team}/certificate",
        access: Access::TeamOrInstructor,
        summary: "An exam's signed certificate or result notice once issued (?lang=zh|en, ?format=html|json; 404 before)",
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
        path: "/api/teams/{team}/alerts",
        access: Access::TeamOrInstructor,
        summary: "The team's monitoring alerts as server-sent events, each with technique, severity, asset, source and time (?since=N&format=json|cef|syslog, N the number of the event in the team's list; Last-Event-ID resumes)",
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/teams/{team}/alerts/syslog",
        access: Access::TeamOrInstructor,
        summary: "Push the team's alerts to its own syslog receiver (loopback): RFC 5424 or CEF over UDP or TCP (octet counting); {\"off\": true} stops",
        body: Some(r#"{"address":"127.0.0.1:5514","protocol":"udp","format":"rfc5424"}"#),
    },
    RouteDoc {
        method: "GET",
        path: "/api/teams/{team}/pcap",
        access: Access::TeamOrInstructor,
        summary: "The team's Modbus/TCP traffic as pcapng, rebuilt by replay (?from=S&to=S simulated seconds, at most 600 s; default the last 300 s on record)",
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
        ("GET", "/api/techniques") => get(team::techniques),
        ("GET", "/api/drill") => get(info),
        ("GET", "/api/scoreboard") => get(scoreboard),
        ("GET", "/api/scoreboard/history") => get(score_history),
        ("GET", "/api/scoreboard/stream") => get(scoreboard_stream),
        ("GET", "/api/teams/{team}/state") => get(team_state),
        ("GET", "/api/teams/{team}/stream") => get(team_stream),
        ("GET", "/api/teams/{team}/endpoints") => get(team_endpoints),
        ("GET", "/api/teams/{team}/events") => get(team_events),
        ("GET", "/api/teams/{team}/score") => get(team_score),
        ("GET", "/api/teams/{team}/trends") => get(team_trends),
        ("GET", "/api/teams/{team}/exam") => get(team_exam),
        ("GET", "/api/teams/{team}/certificate") => get(team::team_certificate),
        ("GET", "/api/teams/{team}/mimic.svg") => get(team_mimic),
        ("POST", "/api/teams/{team}/actions") => post(team_action),
        ("POST", "/api/teams/{team}/reports") => post(team_report),
        ("POST", "/api/teams/{team}/hints") => post(team_hint),
        ("GET", "/api/teams/{team}/report") => get(team_report_doc),
        ("GET", "/api/teams/{team}/pcap") => get(team::team_pcap),
        ("GET", "/api/teams/{team}/alerts") => get(team::team_alerts),
        ("POST", "/api/teams/{team}/alerts/syslog") => post(team::team_syslog),
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
const PAGES: &[&str] = &[
    "/",
    "/team/{team}",
    "/instructor",
    "/assets/app.js",
    "/assets/team.js",
    "/assets/instructor.js",
    "/assets/app.css",
    "/assets/uplot.js",
    "/assets/uplot.css",
    "/favicon.svg",
];

/// The drill's router: the API routes of `ROUTES` and nothing else under `/api`, then the
/// pages and assets.
pub fn router(drill: Drill) -> Router {
    let api = ROUTES.iter().fold(Router::new(), |router, r| router.route(r.path, handler(r)));
    let pages: [MethodRouter<Drill>; 10] = [
        get(page_scoreboard),
        get(page_team),
        get(page_instructor),
        get(|| asset("text/javascript; charset=utf-8", crate::pages::APP_JS)),
        get(|| asset("text/javascript; charset=utf-8", crate::pages::TEAM_JS)),
        get(|| asset("text/javascript; charset=utf-8", crate::pages::INSTRUCTOR_JS)),
        get(|| asset("text/css; charset=utf-8", crate::pages::APP_CSS)),
        get(|| asset("text/javascript; charset=utf-8", crate::pages::UPLOT_JS)),
        get(|| asset("text/css; charset=utf-8", crate::pages::UPLOT_CSS)),
        get(|| asset("image/svg+xml", crate::pages::FAVICON)),
    ];
    PAGES
        .iter()
        .zip(pages)
        .fold(api, |router, (path, page)| router.route(path, page))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such resource") })
        .layer(axum::middleware::from_fn_with_state(drill.clone(), to_the_teams_node))
        .layer(axum::middleware::from_fn(crate::trace::layer))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::Extension(Arc::new(FanOuts::default())))
        .with_state(drill)
}

/// A team's console and API requests, when another node of the drill runs the team: sent
/// there (307, so a POST stays a POST with its body).
async fn to_the_teams_node(
    axum::extract::State(drill): axum::extract::State<Drill>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path();
    let team = path
        .strip_prefix("/team/")
        .or_else(|| path.strip_prefix("/api/teams/"))
        .map(|rest| rest.split('/').next().unwrap_or_default());
    // The white cell revealing a hint from its own node's page stays here: it is queued for
    // the team's node (a redirect to another origin would not be followed by the page).
    let instructor_hint = req.method() == axum::http::Method::POST
        && path.ends_with("/hints")
        && token(req.headers()).and_then(|t| drill.authenticate(&t)) == Some(Role::Instructor);
    if let Some(team) = team.filter(|t| valid_team_id(t))
        && !instructor_hint
        && let Some(base) = drill.team_elsewhere(team)
    {
        let target = format!("{base}{}", req.uri().path_and_query().map_or(path, |p| p.as_str()));
        if let Ok(location) = HeaderValue::from_str(&target) {
            return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)]).into_response();
        }
    }
    next.run(req).await
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

/// What every page may load: its own scripts, styles and images only.
const CSP: &str =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'";

/// The headers every page and answer carries (no sniffing, no referrer, no framing, scripts
/// from this origin only).
pub(crate) async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // Login URLs carry the token: never leak it to another site.
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // A page that widened it (a team console of a drill over several nodes) keeps its own.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    res
}

/// A static asset, revalidated on each load (a new binary serves new assets).
pub(crate) async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

pub(crate) use crate::login::token;

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

/// The team named in the path, once the caller may reach it: that team or an instructor
/// (`TeamPath<false>`), or that team only (`TeamPath<true>`). One extractor for every team
/// route, so none can forget the check.
pub(super) struct TeamPath<const OWN: bool> {
    id: String,
    role: Role,
}

impl<const OWN: bool> axum::extract::FromRequestParts<Drill> for TeamPath<OWN> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        drill: &Drill,
    ) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, drill)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
        let access = if OWN { Access::OwnTeam } else { Access::TeamOrInstructor };
        let role = allow_team(drill, &parts.headers, &id, access)?;
        Ok(TeamPath { id, role })
    }
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

/// A page: logs in when the URL carries `?token=` (sets the cookie and redirects to the same
/// page without the token).
fn page(drill: &Drill, raw: Option<String>, path: &str, html: &'static str) -> Response {
    if let Some(q) = raw {
        let token = q.split('&').find_map(|kv| kv.strip_prefix("token="));
        if let Some(t) = token {
            // A team's login opens its own console whichever team's address it came with (another
            // team's console, all of whose requests it may not make, was a page that never loaded).
            let (scope, path) = match drill.authenticate(t) {
                None => return (StatusCode::UNAUTHORIZED, Html(crate::pages::BAD_TOKEN)).into_response(),
                Some(Role::Instructor) => ("instructor".to_string(), path.to_string()),
                Some(Role::Observer) => ("observer".to_string(), path.to_string()),
                Some(Role::Team(id)) if path.starts_with("/team/") => {
                    (format!("team_{id}"), format!("/team/{id}"))
                }
                Some(Role::Team(id)) => (format!("team_{id}"), path.to_string()),
            };
            let mut res = Redirect::to(&crate::login::keeping_lang(&path, &q)).into_response();
            if let Some(v) = crate::login::cookie(&scope, t) {
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
    let mut res = page(&drill, q, &format!("/team/{team}"), crate::pages::TEAM);
    // The console may ask the drill's other nodes whether they answer (when its own stops).
    let others: Vec<String> = drill.other_nodes().into_iter().filter(|o| web_origin(o)).collect();
    if !others.is_empty()
        && let Ok(v) = HeaderValue::from_str(&format!("{CSP}; connect-src 'self' {}", others.join(" ")))
    {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// Whether `s` is a plain `http://host:port` web view (nothing a policy could be bent by).
fn web_origin(s: &str) -> bool {
    s.strip_prefix("http://").is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    })
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

    /// Only plain web views widen a console's policy: nothing that could end the directive or
    /// add a source of its own.
    #[test]
    fn only_plain_node_addresses_join_the_console_policy() {
        for ok in ["http://127.0.0.1:8021", "http://node-2.icsdrill-nodes:8020", "http://[::1]:8020"] {
            assert!(web_origin(ok), "{ok}");
        }
        for bad in
            ["", "http://", "https://a", "http://a; script-src *", "http://a 'unsafe-inline'", "http://a/x"]
        {
            assert!(!web_origin(bad), "{bad}");
        }
    }
}
