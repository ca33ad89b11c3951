//! The scoreboard, the standings and the instructor's overview, each also as a stream that
//! wakes on ticks and phase changes.

use super::*;

/// The board channel the request's role sees, and whether it is the full one (instructors).
pub(super) fn board_rx(
    drill: &Drill,
    headers: &HeaderMap,
) -> Result<(watch::Receiver<Arc<Scoreboard>>, bool), ApiError> {
    let full = role(drill, headers)? == Role::Instructor;
    Ok((drill.scoreboard(full), full))
}

pub(super) async fn scoreboard(
    State(drill): State<Drill>,
    headers: HeaderMap,
) -> Result<Json<Scoreboard>, ApiError> {
    let (rx, _) = board_rx(&drill, &headers)?;
    let board = rx.borrow().clone();
    Ok(Json((*board).clone()))
}

pub(super) async fn score_history(
    State(drill): State<Drill>,
    headers: HeaderMap,
) -> Result<Json<HistoryView>, ApiError> {
    let full = role(&drill, &headers)? == Role::Instructor;
    Ok(Json(drill.score_history(full)))
}

/// The fan-outs of a drill's two board channels (the instructors' and everyone else's),
/// started at their first viewer.
#[derive(Default)]
pub(super) struct FanOuts {
    full: std::sync::OnceLock<Option<crate::fanout::FanOut>>,
    public: std::sync::OnceLock<Option<crate::fanout::FanOut>>,
}

pub(super) async fn scoreboard_stream(
    State(drill): State<Drill>,
    axum::Extension(fan_outs): axum::Extension<Arc<FanOuts>>,
    conn: Option<axum::Extension<crate::fanout::Conn>>,
    version: axum::http::Version,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (rx, full) = board_rx(&drill, &headers)?;
    // An HTTP/1.1 viewer is written by the fan-out's threads in chunks, once hyper has sent
    // the head (an HTTP/1.0 one, whose body ends with the connection, and a request with no
    // connection of its own stay with hyper, below).
    if let Some(axum::Extension(conn)) = conn.filter(|_| version == axum::http::Version::HTTP_11) {
        let cell = if full { &fan_outs.full } else { &fan_outs.public };
        let start = || {
            crate::fanout::FanOut::start(rx.clone())
                .inspect_err(|e| tracing::warn!(error = %e, "the board's fan-out threads did not start: hyper writes its streams"))
                .ok()
        };
        if let Some(fan_out) = cell.get_or_init(start) {
            let headers = [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
                (header::TRANSFER_ENCODING, "chunked"),
            ];
            return Ok((headers, fan_out.body(conn)).into_response());
        }
    }
    // The first event is the whole board; after it, the delta from the board the viewer holds
    // (`scoreboard-delta`), or the whole board when it is too far behind for one. Each event is
    // the board's own bytes, encoded once when it was published: thousands of viewers cost a
    // write each, not a copy and an encoding each.
    let stream = futures_util::stream::unfold((rx, None), |(mut rx, held)| async move {
        if held.is_some() {
            match tokio::time::timeout(crate::fanout::KEEP_ALIVE, rx.changed()).await {
                Err(_) => return Some((Ok(Bytes::from_static(b":\n\n")), (rx, held))),
                Ok(Err(_)) => return None,
                Ok(Ok(())) => {}
            }
        }
        let board = rx.borrow_and_update().clone();
        let event = board.event_for(held);
        Some((Ok::<_, std::convert::Infallible>(event), (rx, Some(board.head.seq))))
    });
    let headers = [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")];
    Ok((headers, axum::body::Body::from_stream(stream)).into_response())
}

/// A stream of `make()`, sent at once and then whenever it changed: it wakes when the drill
/// says the view may have changed (`DrillApi::next_change`), at most once every `period`.
pub(super) fn watched_stream<T: Serialize + 'static>(
    name: &'static str,
    period: Duration,
    drill: Drill,
    team: Option<String>,
    make: impl Fn(&Drill) -> Option<T> + Send + Sync + 'static,
) -> Response {
    let start = (drill, make, String::new(), None::<(tokio::time::Instant, icsdrill_drill::Seen)>);
    let stream = futures_util::stream::unfold(start, move |(drill, make, last, sent)| {
        let team = team.clone();
        async move {
            let mut sent = sent;
            loop {
                if let Some((at, seen)) = sent {
                    drill.next_change(team.as_deref(), seen).await;
                    // A rate limit after a change, not a poll: a held clock sleeps here never.
                    tokio::time::sleep_until(at + period).await;
                }
                // Where the drill stood before the view is made: a change while it is sent
                // wakes the next turn.
                sent = Some((tokio::time::Instant::now(), drill.seen(team.as_deref())));
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StandingsQuery {
    format: Option<String>,
}

pub(super) async fn standings(
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
        let stem = format!("standings-{}", drill.info().id);
        let csv = tokio::task::spawn_blocking(move || d.standings_csv()).await??;
        return Ok(crate::download("text/csv; charset=utf-8", csv, &stem));
    }
    let v = tokio::task::spawn_blocking(move || d.standings()).await?;
    Ok(Json(v).into_response())
}

pub(super) async fn overview(
    State(drill): State<Drill>,
    headers: HeaderMap,
) -> Result<Json<Overview>, ApiError> {
    allow_instructor(&drill, &headers)?;
    Ok(Json(drill.overview()))
}

pub(super) async fn overview_stream(
    State(drill): State<Drill>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    allow_instructor(&drill, &headers)?;
    Ok(watched_stream("overview", Duration::from_millis(500), drill, None, |d| Some(d.overview())))
}
