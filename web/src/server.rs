//! The HTTP server every web view runs on (practice range, drill, regional view), with the
//! limits a public-facing drill needs: a connection cap, a share of it per client address,
//! idle and slow-request timeouts, a request body limit, and one log line (not one per
//! connection) when a cap is hit.
//!
//! Over a cap a connection is answered `503` at once and closed, without reading it, so a
//! flood of idle connections can neither exhaust the process's file descriptors (the Modbus
//! endpoints keep theirs) nor hold the accept backlog; and since one address holds at most its
//! share, one team's flood leaves the others' pages served. Nor can idle or trickling
//! connections from many addresses hold the server: full, it closes the one quiet longest
//! (`quiet`) for a new connection.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::ApiError;
use crate::quiet::{InHand, Quiet, Tracked};

/// Connections the web server serves at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1_024;
/// Connections one client address holds at once by default: a quarter of the server's.
pub const DEFAULT_MAX_PER_CLIENT: usize = DEFAULT_MAX_CONNECTIONS / 4;
/// A connection that sends no request (its headers) for this long is closed: an idle
/// keep-alive connection, or a client trickling its headers.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a request body may take to arrive.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body read: every route takes less (a report, an action); with the
/// connection cap it bounds what bodies can hold in memory (64 MiB at 1,024 connections).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest request head (request line and headers).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Pause after a failed accept (out of descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The limits a web server enforces.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Connections one client address holds at once; more from it are answered 503.
    pub max_per_client: usize,
    /// Idle time (no request, or headers not complete) before a connection is closed.
    pub idle_timeout: Duration,
    /// Longest a request body may take.
    pub body_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_per_client: DEFAULT_MAX_PER_CLIENT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// What every connection is answered with over the cap.
const OVER_CAP: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
Retry-After: 5\r\nConnection: close\r\nContent-Length: 59\r\n\r\n\
{\"error\":\"too many connections to this server; retry soon\"}";

/// Serves `router` on `listener` within `limits` until `shutdown` resolves; then stops
/// accepting and lets open requests finish (the caller bounds how long it waits: dropping
/// this future closes the connections still open).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router
        .layer(axum::middleware::from_fn(crate::login::scope_layer))
        .layer(axum::middleware::from_fn_with_state(limits, read_body));
    let door = Door {
        slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
        shares: Shares::new(limits.max_per_client.min(limits.max_connections), limits.max_connections.max(1)),
        quiet: Arc::new(Quiet::default()),
        waiting: Arc::new(Semaphore::new(MAX_WAITING)),
        capped: AtomicBool::new(false),
        cap: limits.max_connections,
    };
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Set as the server stops: a live stream (server-sent events) ends then, so the stop waits
    // only for requests in hand (with four consoles open it waited out its whole grace).
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    // Whether the descriptor limit was reported in this episode: once, until accepting works.
    let starved = AtomicBool::new(false);
    let mut next_id = 0u64;
    tokio::pin!(shutdown);
    // The connections are this task's: when the caller gives up waiting and drops it, every
    // connection still open (a live stream never finishes by itself) closes with it.
    let mut conns = tokio::task::JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => {
                starved.store(false, Ordering::Relaxed);
                conn
            }
            Err(e) => {
                if !starved.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "the web server cannot accept connections (out of file descriptors?)");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Some((admit, share)) = door.admit(&stream, peer.ip()) else { continue };
        let _ = stream.set_nodelay(true);
        let (id, close) = (next_id, Arc::new(tokio::sync::Notify::new()));
        next_id += 1;
        // Each request knows its connection: a board stream takes the socket over from hyper
        // (`fanout`).
        let handle = crate::fanout::Conn::default();
        let io = TokioIo::new(crate::fanout::Io::new(stream, handle.clone()));
        let tower = TowerToHyperService::new(router.clone());
        let (q, c, stopping) = (door.quiet.clone(), close.clone(), stopping.clone());
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(handle.clone());
            // In hand until its answer is written whole (a board stream: while it lasts).
            let in_hand = InHand::new(&q, id, &c);
            let answer = tower.call(req);
            let stopping = stopping.clone();
            async move {
                let res = answer.await?;
                let live = res
                    .headers()
                    .get(axum::http::header::CONTENT_TYPE)
                    .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
                Ok::<_, std::convert::Infallible>(res.map(|body| {
                    let body = if live { until_stopping(body, stopping) } else { body };
                    Body::new(Tracked { body, _in_hand: in_hand })
                }))
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.idle_timeout)
            .max_buf_size(MAX_HEAD_BYTES.max(8192))
            .serve_connection(io, service);
        let conn = graceful.watch(conn);
        let (slots, quiet) = (door.slots.clone(), door.quiet.clone());
        conns.spawn(async move {
            let Some(permit) = admit.place(&slots).await else { return };
            quiet.quiet(id, std::time::Instant::now(), &close);
            tokio::select! {
                _ = conn => {}
                () = close.notified() => {}
            }
            quiet.busy(id);
            drop((permit, share));
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    graceful.shutdown().await;
    Ok(())
}

/// How long a live stream goes on once the server stops: time for the last view it holds
/// (the end of a drill whose time ran out) to go out, its streams sending at most every
/// 500 ms.
const LAST_VIEW: Duration = Duration::from_secs(1);

/// A live stream's body, ended `LAST_VIEW` after the server stops.
fn until_stopping(body: Body, mut stopping: tokio::sync::watch::Receiver<bool>) -> Body {
    use futures_util::StreamExt as _;
    let stopped = async move {
        let _ = stopping.wait_for(|s| *s).await;
        tokio::time::sleep(LAST_VIEW).await;
    };
    Body::from_stream(body.into_data_stream().take_until(stopped))
}

/// What a new connection must get past: its address's share, then a place under the cap,
/// or the place of the connection quiet longest (`quiet`), closed for it.
struct Door {
    slots: Arc<Semaphore>,
    shares: Arc<Shares>,
    /// Connections with no request in hand.
    quiet: Arc<Quiet>,
    /// Places to wait in for a place being freed.
    waiting: Arc<Semaphore>,
    /// Whether the cap was reported in this episode: once, until the server has room again.
    capped: AtomicBool,
    cap: usize,
}

impl Door {
    /// The new connection's share and place; `None` once it is answered 503 (and closed).
    fn admit(&self, stream: &tokio::net::TcpStream, ip: IpAddr) -> Option<(Admit, Share)> {
        let share = match self.shares.take(ip) {
            Ok(share) => share,
            Err(first) => {
                // Once an episode for each address (until it holds less than its share).
                if first {
                    tracing::warn!(
                        client = %ip,
                        share = self.shares.cap,
                        "a client address is at its connection cap: its new connections are answered 503 until some close"
                    );
                }
                let _ = stream.try_write(OVER_CAP);
                return None;
            }
        };
        // Full: the connection quiet longest makes room (it closes; its place comes back a
        // moment later, which this one waits for on its own task).
        let admit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => Admit::Now(permit),
            Err(_) => match self.waiting.clone().try_acquire_owned() {
                Ok(wait) if self.quiet.evict(std::time::Instant::now()) => Admit::After(wait),
                _ => {
                    if !self.capped.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            cap = self.cap,
                            "the web server is at its connection cap: new connections are answered 503 until some close"
                        );
                    }
                    let _ = stream.try_write(OVER_CAP);
                    return None;
                }
            },
        };
        if self.slots.available_permits() >= self.cap / 2 {
            self.capped.store(false, Ordering::Relaxed);
        }
        Some((admit, share))
    }
}

/// A connection's place under the cap: taken, or to be taken once the connection closed
/// for it has gone (holding one of the `MAX_WAITING` places to wait in).
enum Admit {
    Now(tokio::sync::OwnedSemaphorePermit),
    After(tokio::sync::OwnedSemaphorePermit),
}

impl Admit {
    /// The place, once it is free (none if it is not within `EVICT_WAIT`).
    async fn place(self, slots: &Arc<Semaphore>) -> Option<tokio::sync::OwnedSemaphorePermit> {
        match self {
            Admit::Now(permit) => Some(permit),
            Admit::After(_wait) => {
                tokio::time::timeout(EVICT_WAIT, slots.clone().acquire_owned()).await.ok()?.ok()
            }
        }
    }
}

/// New connections waiting at once for the place of a connection closed for them; more are
/// answered 503.
const MAX_WAITING: usize = 64;
/// How long a new connection waits for that place.
const EVICT_WAIT: Duration = Duration::from_secs(2);

/// Connections open per client address, each at most its share; and the last quarter of the
/// server kept for light clients, so that a few addresses at their shares cannot fill it.
struct Shares {
    open: Mutex<Open>,
    /// The most one address holds.
    cap: usize,
    /// Past this many open in all, only an address holding fewer than `LIGHT` gets more.
    heavy_until: usize,
}

/// Connections open, by address (with whether its refusal was logged in this episode) and
/// in all.
#[derive(Default)]
struct Open {
    by_ip: HashMap<IpAddr, (usize, bool)>,
    total: usize,
}

/// An address holding fewer connections than this is light: a browser opens six to a server.
const LIGHT: usize = 8;

/// One connection's place in its address's share, given back when dropped.
struct Share(Arc<Shares>, IpAddr);

impl Shares {
    /// Shares of a server of `max_connections`, each at most `cap`.
    fn new(cap: usize, max_connections: usize) -> Arc<Shares> {
        let heavy_until = max_connections - max_connections / 4;
        Arc::new(Shares { open: Mutex::default(), cap: cap.max(1), heavy_until })
    }

    /// A place for one more connection from `ip`, unless it holds its share already, or
    /// holds `LIGHT` or more while the server is three quarters full; then whether this is
    /// the first refusal of the episode. An IPv4 address counts however it came; an IPv6 one
    /// by its /64, the least a site is given, so one host cannot take more by changing its
    /// interface identifier.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Result<Share, bool> {
        let ip = match ip.to_canonical() {
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
            v4 => v4,
        };
        let mut guard = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let open = &mut *guard;
        let (n, warned) = open.by_ip.entry(ip).or_default();
        if *n >= self.cap || (*n >= LIGHT && open.total >= self.heavy_until) {
            return Err(!std::mem::replace(warned, true));
        }
        *n += 1;
        open.total += 1;
        Ok(Share(self.clone(), ip))
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut guard = self.0.open.lock().unwrap_or_else(|e| e.into_inner());
        let open = &mut *guard;
        if let Some((n, warned)) = open.by_ip.get_mut(&self.1) {
            *n -= 1;
            *warned = false;
            if *n == 0 {
                open.by_ip.remove(&self.1);
            }
            open.total -= 1;
        }
    }
}

/// Uploads larger than `MAX_BODY_BYTES` (drill bundles) read at the same time, at most: they
/// keep the memory bodies can hold bounded.
static LARGE_UPLOADS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(LARGE_UPLOAD_SLOTS);
/// How many.
pub const LARGE_UPLOAD_SLOTS: usize = 2;

/// Woken whenever a large upload takes a slot.
static LARGE_UPLOAD_TAKEN: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Large uploads being read (or checked) now, in this process.
pub fn large_uploads() -> usize {
    LARGE_UPLOAD_SLOTS - LARGE_UPLOADS.available_permits()
}

/// Resolves once at least `n` large uploads are being read (woken as each takes its slot).
pub async fn large_uploads_reach(n: usize) {
    loop {
        let taken = LARGE_UPLOAD_TAKEN.notified();
        let mut taken = std::pin::pin!(taken);
        taken.as_mut().enable();
        if large_uploads() >= n {
            return;
        }
        taken.await;
    }
}

/// The body timeout a large upload is read within, handed by `read_body` to `read_large`.
#[derive(Debug, Clone, Copy)]
struct LargeBody(std::time::Duration);

/// Reads the whole request body within the time and size limits before the handler runs:
/// 408 for a body that trickles, 413 for one too large. A drill bundle upload is left unread
/// here: its route reads it with `read_large`, once its sender is known to be allowed to.
async fn read_body(State(limits): State<HttpLimits>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == crate::region::BUNDLES_PATH {
        req.extensions_mut().insert(LargeBody(limits.body_timeout));
        return next.run(req).await;
    }
    read_within(req, next, MAX_BODY_BYTES, limits.body_timeout).await
}

/// Reads a drill bundle upload (up to `MAX_BUNDLE` bytes), two at a time in this process (503
/// for a third). Layered inside the check of who sends it: a client without the right token
/// never holds one of the two slots.
pub(crate) async fn read_large(req: Request, next: Next) -> Response {
    let within = req.extensions().get::<LargeBody>().map_or(HttpLimits::default().body_timeout, |l| l.0);
    let Ok(_permit) = LARGE_UPLOADS.try_acquire() else {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "other uploads are being read: send it again")
            .retry_after(5)
            .into_response();
    };
    LARGE_UPLOAD_TAKEN.notify_waiters();
    read_within(req, next, crate::region::MAX_BUNDLE, within).await
}

/// Reads `req`'s body, at most `max` bytes within `within`, then runs the rest.
async fn read_within(req: Request, next: Next, max: usize, within: std::time::Duration) -> Response {
    let (parts, body) = req.into_parts();
    // A body declared too large is refused before a byte of it is asked for (a client that
    // sent `Expect: 100-continue` is told at once, not after the body timeout).
    let declared = parts.headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if declared.and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|n| n > max as u64) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is too large (at most {max} bytes)"),
        )
        .into_response();
    }
    match tokio::time::timeout(within, axum::body::to_bytes(body, max)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(Err(_)) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is too large (at most {max} bytes) or broken"),
        )
        .into_response(),
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body took longer than {} s to arrive", within.as_secs()),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_its_share_counted_by_ipv4_or_ipv6_64_and_logs_once_an_episode() {
        let shares = Shares::new(2, 64);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a = [shares.take(ip("10.0.0.1")), shares.take(ip("::ffff:10.0.0.1"))];
        assert!(a.iter().all(Result::is_ok), "an IPv4 address however it came");
        assert_eq!(shares.take(ip("10.0.0.1")).err(), Some(true), "the first refusal is logged");
        assert_eq!(shares.take(ip("10.0.0.1")).err(), Some(false), "the next is not");
        assert!(shares.take(ip("10.0.0.2")).is_ok(), "another address has its own share");
        // A host changing its interface identifier stays in its /64.
        let v6 = [shares.take(ip("2001:db8:1:2::1")), shares.take(ip("2001:db8:1:2::abcd"))];
        assert!(v6.iter().all(Result::is_ok));
        assert!(shares.take(ip("2001:db8:1:2:ffff::9")).is_err());
        assert!(shares.take(ip("2001:db8:1:3::1")).is_ok(), "the next /64 is another site");
        // A connection closed gives its place back and ends the episode.
        drop(a);
        let again = shares.take(ip("10.0.0.1"));
        assert!(again.is_ok());
        let open = shares.open.lock().unwrap();
        assert_eq!(open.by_ip.get(&ip("10.0.0.1")), Some(&(1, false)));
        assert_eq!(open.total, 3, "a, held twice, dropped; again; two in 2001:db8:1:2::/64");
    }

    #[test]
    fn the_last_quarter_of_the_server_is_kept_for_light_clients() {
        let shares = Shares::new(16, 64);
        let ip = |k: u8| IpAddr::from([10, 0, 0, k]);
        // Three addresses at their shares: three quarters of the server.
        let mut held: Vec<Share> =
            (1..=3).flat_map(|k| (0..16).map(move |_| k)).map(|k| shares.take(ip(k)).unwrap()).collect();
        // A fourth gets what a light client holds, and no more.
        held.extend((0..LIGHT).map(|_| shares.take(ip(4)).unwrap()));
        assert!(shares.take(ip(4)).is_err(), "a fourth heavy address cannot fill the server");
        // A browser still gets its connections.
        held.extend((0..6).map(|_| shares.take(ip(5)).unwrap()));
        // Below three quarters again (the first address closed its connections), a heavy
        // address may grow.
        held.drain(..16);
        assert!(shares.take(ip(4)).is_ok());
    }
}
