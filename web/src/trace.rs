//! One tracing span per HTTP request: its id, method, route (the pattern, never the raw path),
//! status and latency. The id is answered in `x-request-id` and is what a 500 shows instead
//! of its causes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;
use tracing::field::Empty;

/// The header that carries a request's id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, inside a request.
pub(crate) fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The middleware: every router of this crate runs its requests through it.
pub(crate) async fn layer(req: Request, next: Next) -> Response {
    // The process id keeps ids apart across restarts of a drill server.
    let id = format!("{}-{}", std::process::id(), NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let route = req.extensions().get::<MatchedPath>().map_or("(none)", |p| p.as_str()).to_string();
    let span = tracing::info_span!("http", id = %id, method = %req.method(), route = %route, status = Empty, ms = Empty);
    let start = Instant::now();
    let mut res = REQUEST_ID.scope(id.clone(), next.run(req)).instrument(span.clone()).await;
    let status = res.status();
    span.record("status", status.as_u16());
    span.record("ms", (start.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0);
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!("served");
        } else {
            tracing::debug!("served");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    res
}
