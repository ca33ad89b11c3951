//! icsdrill's HTTP API and web view (axum).
//!
//! - `router` (this file): the open API of a single practice range (health, endpoints, the
//!   Modbus transaction log), behind the `RangeApi` trait.
//! - `drill`: a drill's API and pages (team consoles, instructor console, scoreboard) with
//!   role-based access, behind the `DrillApi` trait.
//! - `region`: the regional oversight view behind `RegionApi` (region and prefecture users).
//! - `openapi`, `mimic`, `pages`: the OpenAPI document, the SVG mimic diagram, the built-in
//!   HTML/JS/CSS.
//! - `server`: the HTTP server all of them run on, with connection caps and timeouts;
//!   `fanout`: the scoreboard streams' writers, which take the sockets over from it.
//!
//! This crate knows nothing of how a range runs; tests drive the routers with `oneshot`, no
//! socket.

pub mod drill;
mod error;
mod fanout;
mod login;
pub mod mimic;
pub mod openapi;
pub mod pages;
mod quiet;
pub mod region;
pub mod server;
mod trace;

pub use error::{ApiError, ServiceError, chain};
pub use trace::REQUEST_ID_HEADER;

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use axum::routing::get;
use axum::{Json, Router};
pub use icsdrill_drill::vocab::EndpointInfo;
use icsdrill_engine::SimEvent;
use serde::{Deserialize, Serialize};

/// `ms` since 1970 as an RFC 5424 TIMESTAMP (UTC, milliseconds), for the alerts sent as
/// syslog lines, streamed or forwarded: each stamped with its time on the drill's clock
/// (`Alert::at_ms`), not when it was sent (a backlog stamped all at once, as it came).
pub fn syslog_time(ms: u64) -> String {
    let at = jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A spreadsheet to download (`text/csv` or xlsx), named `STEM.csv` or `STEM.xlsx` (see
/// `attachment`).
pub(crate) fn download(content_type: &'static str, bytes: Vec<u8>, stem: &str) -> axum::response::Response {
    let ext = if content_type.starts_with("text/csv") { "csv" } else { "xlsx" };
    attachment(content_type, bytes, stem, ext)
}

/// A file to download, named `STEM.EXT` after the safe characters of `stem` (a browser
/// otherwise names it after the route: `export`).
pub(crate) fn attachment(
    content_type: &'static str,
    bytes: Vec<u8>,
    stem: &str,
    ext: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let stem: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(80).collect();
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_string()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{stem}.{ext}\"")),
        ],
        bytes,
    )
        .into_response()
}

/// Text for HTML, as element content or a quoted attribute: `&`, `<`, `>`, `"` and `'` as
/// entities. Every page, report and certificate icsdrill writes escapes through this.
pub fn escape_html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        push_html_char(&mut o, c);
    }
    o
}

/// Appends `c` to `o`, as its entity where HTML gives it a meaning (`escape_html`'s table).
pub fn push_html_char(o: &mut String, c: char) {
    match c {
        '&' => o.push_str("&amp;"),
        '<' => o.push_str("&lt;"),
        '>' => o.push_str("&gt;"),
        '"' => o.push_str("&quot;"),
        '\'' => o.push_str("&#39;"),
        c => o.push(c),
    }
}

/// Most events one `GET /api/transactions` returns.
pub const MAX_EVENTS_PER_PAGE: usize = 10_000;

/// The state of a range, for `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` while ticking, `stopped` after.
    pub status: String,
    /// Scenario id.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Ticks completed.
    pub tick: u64,
    /// Simulated seconds.
    pub simulated_s: f64,
    /// Wall seconds since start.
    pub uptime_s: f64,
    /// Events logged.
    pub events: u64,
    /// Records dropped because the range's queue was full (0 unless it stalled).
    pub dropped_records: u64,
    /// Requests beyond the record budget, counted in traffic summaries rather than logged one
    /// by one.
    pub summarised_requests: u64,
    /// Number of Modbus endpoints.
    pub endpoints: usize,
}

/// What the API needs from a running range.
pub trait RangeApi: Send + Sync + 'static {
    /// Current state.
    fn health(&self) -> Health;
    /// The endpoint table.
    fn endpoints(&self) -> Vec<EndpointInfo>;
    /// Modbus transaction and connection events with `seq >= since`, at most `limit`.
    fn transactions(&self, since: u64, limit: usize) -> Vec<SimEvent>;
}

/// A range behind the API.
pub type Api = Arc<dyn RangeApi>;

/// The HTTP API of one range.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/endpoints", get(endpoints))
        .route("/api/transactions", get(transactions))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such resource") })
        .layer(axum::middleware::from_fn(crate::trace::layer))
        .with_state(api)
}

/// Serves the API on `listener` within `limits` until `shutdown` resolves, then lets open
/// requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Api,
    limits: server::HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve(listener, router(api), limits, shutdown).await
}

async fn health(State(api): State<Api>) -> Json<Health> {
    Json(api.health())
}

async fn endpoints(State(api): State<Api>) -> Json<Vec<EndpointInfo>> {
    Json(api.endpoints())
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

/// A page of the transaction log.
#[derive(Debug, Serialize, Deserialize)]
pub struct Transactions {
    /// Modbus transactions and connections, in log order.
    pub events: Vec<serde_json::Value>,
    /// `since` for the next page.
    pub next: u64,
}

async fn transactions(
    State(api): State<Api>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<Transactions>, ApiError> {
    let Query(page) = page.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    if page.limit == 0 || page.limit > MAX_EVENTS_PER_PAGE {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be 1..={MAX_EVENTS_PER_PAGE}"),
        ));
    }
    let events = api.transactions(page.since, page.limit);
    let next = events.last().map_or(page.since, |e| e.seq + 1);
    let events = events.iter().map(|e| serde_json::to_value(e).unwrap_or_default()).collect();
    Ok(Json(Transactions { events, next }))
}
