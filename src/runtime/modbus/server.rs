//! One simulated PLC as a Modbus TCP server: the accept loop, the limits every endpoint
//! enforces (connections, idle time, pace), and which clients a range serves.
//!
//! A connection is admitted in three steps before it costs anything: its address must be one
//! of the range's clients (another team's is refused and reported), the endpoint and the range
//! must have a slot free, and the conduit firewall must route its host to the PLC. An admitted
//! Modbus connection then goes to its shard's event loop (`shard`); any other runs in its own
//! task.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use icsdrill_engine::scenario::{HostIdx, PlcIdx};
use icsdrill_engine::{RejectReason, SimInput};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::session::Conn;
use super::shard::{Accepted, Inbox};
use crate::runtime::live::Live;
use icsdrill_engine::Iec104Transaction;

/// Connections one endpoint serves at once; more are accepted and closed at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 32;
/// A connection that sends nothing for this long is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause after a failed `accept` (such as running out of file descriptors) before retrying.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Requests one endpoint answers per second by default, whatever its clients send: a fast
/// real controller's pace. More are answered too, only later (their connection waits), so a
/// flood cannot take the CPU every other team's range needs.
pub const DEFAULT_REQUEST_RATE: u32 = 2_000;
/// A range answers at most this many times its endpoints' rate over all of them.
pub const RANGE_RATE_PLCS: u32 = 4;

/// Limits every endpoint enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections per endpoint.
    pub max_connections: usize,
    /// Idle time before a connection is closed.
    pub idle_timeout: Duration,
    /// Requests per second each endpoint answers (the range: `RANGE_RATE_PLCS` times it);
    /// 0 for no limit (raw speed benchmarks).
    pub request_rate: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            request_rate: DEFAULT_REQUEST_RATE,
        }
    }
}

/// Paces requests to a rate: each takes a token, and a request with none left waits for its
/// turn (reserved, so waiters are served in order and none starves).
#[derive(Debug)]
pub struct Pacer {
    /// Tokens per second; 0: unlimited.
    rate: f64,
    /// Tokens available (negative: reserved by waiters) and when they were counted. Never held
    /// across an await.
    state: Mutex<(f64, Instant)>,
}

impl Pacer {
    /// A pacer of `rate` requests per second (0: unlimited), allowing bursts of a tenth of a
    /// second's worth.
    pub fn new(rate: u32) -> Pacer {
        Pacer { rate: f64::from(rate), state: Mutex::new((f64::from(rate) / 10.0, Instant::now())) }
    }

    /// How long the next request must wait for its turn (zero when a token is free).
    pub fn reserve(&self) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let burst = (self.rate / 10.0).max(1.0);
        st.0 = (st.0 + now.duration_since(st.1).as_secs_f64() * self.rate).min(burst);
        st.1 = now;
        st.0 -= 1.0;
        if st.0 >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-st.0 / self.rate) }
    }
}

/// Which simulated host a real peer address stands for.
#[derive(Debug, Clone)]
pub struct SourceMap {
    /// Explicit mappings.
    pub map: Vec<(IpAddr, HostIdx)>,
    /// The live attacker's address: it stands for whatever host the attacker is on now.
    pub attacker: Option<IpAddr>,
    /// Host for every other address (the team's engineering workstation).
    pub default: HostIdx,
}

impl SourceMap {
    /// The host `ip` stands for, given where the attacker is (`attacker_host`).
    pub fn host(&self, ip: IpAddr, attacker_host: Option<HostIdx>) -> HostIdx {
        if let (Some(a), Some(h)) = (self.attacker, attacker_host)
            && a == ip
        {
            return h;
        }
        self.map.iter().find(|(a, _)| *a == ip).map_or(self.default, |(_, h)| *h)
    }
}

/// Which client addresses a range serves: its team's networks and its own simulated clients.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The team's networks.
    pub nets: Vec<ipnet::IpNet>,
    /// The range's own simulated clients (its live attacker, its hosts' routine traffic),
    /// whose addresses may lie outside them.
    pub own: Vec<IpAddr>,
}

impl Clients {
    /// The range's first IPv4 loopback network, if it serves one.
    pub fn loopback_net(&self) -> Option<std::net::Ipv4Addr> {
        self.nets.iter().find_map(|n| match n {
            ipnet::IpNet::V4(v4) if v4.network().is_loopback() => Some(v4.network()),
            _ => None,
        })
    }

    /// Every address (a range with no team to keep apart from).
    pub fn any() -> Clients {
        Clients {
            nets: vec!["0.0.0.0/0".parse().expect("valid"), "::/0".parse().expect("valid")],
            own: Vec::new(),
        }
    }

    /// Whether `peer` may connect (none: it may not), and whether as one of the range's own
    /// simulated clients (`Some(true)`: they take slots of their own). Only a connection
    /// `registered` as one of them is: another from one of their addresses (a team binding its
    /// attacker's) is the team's when the address is in its networks, else nobody's.
    pub fn admits(&self, peer: SocketAddr, registered: impl Fn(&SocketAddr) -> bool) -> Option<bool> {
        let ip = peer.ip().to_canonical();
        if self.own.contains(&ip) && registered(&peer) {
            Some(true)
        } else {
            self.nets.iter().any(|n| n.contains(&ip)).then_some(false)
        }
    }
}

/// Told of a connection from an address the range does not serve (another team's, or
/// nobody's): the client address and the PLC it tried.
#[derive(Clone)]
pub struct ForeignHook(pub Arc<dyn Fn(IpAddr, PlcIdx) + Send + Sync>);

impl std::fmt::Debug for ForeignHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignHook")
    }
}

/// What every endpoint of a range shares.
pub struct Context {
    /// The running simulation.
    pub live: Arc<Live>,
    /// Peer address to simulated host.
    pub sources: SourceMap,
    /// Limits.
    pub limits: Limits,
    /// Client addresses served; others are refused before they take a connection slot.
    pub clients: Clients,
    /// Connections open over all the range's endpoints: one team cannot hold more
    /// descriptors than its share, whatever its endpoints' own caps add up to.
    pub range_slots: Arc<Semaphore>,
    /// Where refused foreign clients are reported (a drill's cross-team log).
    pub on_foreign: Option<ForeignHook>,
    /// Paces the requests of all the range's endpoints together.
    pub range_pacer: Pacer,
    /// The range's own routine clients (their requests are in the log already).
    pub own_clients: Arc<crate::runtime::routine::OwnClients>,
    /// Where each running OPC UA stack listens behind its PLC's listener (at most one per
    /// PLC): for diagnostics, and the test that nobody gets a value by going round the range.
    pub opcua_stacks: Mutex<Vec<(PlcIdx, std::net::SocketAddr)>>,
}

/// What an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Modbus TCP (`session`).
    Modbus,
    /// IEC 60870-5-104 (`iec104::session`), for a PLC with a station.
    Iec104,
    /// OPC UA (`opcua::proxy` in front of the PLC's `opcua::server`), for a PLC with one.
    OpcUa,
}

/// What one endpoint's connections share: its pace and (IEC 104) its clock.
pub(super) struct Endpoint {
    pub(super) pacer: Pacer,
    /// Milliseconds the station's clock is ahead of the host's, as clock synchronisation set it.
    clock: std::sync::atomic::AtomicI64,
}

/// Serves `plc` on `listener` until `shutdown` turns true. Accept errors are logged and
/// retried, never fatal; a Modbus connection goes to the shard's event loop (`inbox`), any
/// other runs in its own task. Admission (clients, slots, the conduit at connect) is the same
/// whatever the `protocol`.
pub async fn serve(
    listener: TcpListener,
    plc: PlcIdx,
    cx: Arc<Context>,
    (protocol, inbox): (Protocol, Inbox),
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(cx.limits.max_connections));
    // The range's own simulated clients (its attacker, its routine traffic) have slots of
    // their own: a team holding its endpoints' slots must not lock its attacker out (a team
    // that did saw every attack step fail and outscored the teams that defended).
    let own_slots = Arc::new(Semaphore::new(cx.limits.max_connections));
    let endpoint =
        Arc::new(Endpoint { pacer: Pacer::new(cx.limits.request_rate), clock: Default::default() });
    let mut connections = tokio::task::JoinSet::new();
    let opcua = match protocol {
        Protocol::OpcUa => match opcua_server(&listener, plc, &cx).await {
            Some(server) => Some(server),
            None => return,
        },
        _ => None,
    };
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(plc = %cx.live.scenario.plcs[plc.ix()].id, error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Some(own) = cx.clients.admits(peer, |p| cx.own_clients.is_own(p)) else {
            // Not this range's client (another team's, or nobody's): refused before it can
            // take a slot, and reported to the white cell, never logged as this team's own.
            if let Some(report) = &cx.on_foreign {
                (report.0)(peer.ip(), plc);
            }
            refuse(stream).await;
            continue;
        };
        // An OPC UA connection holds three descriptors (the client's, the relay's to the stack,
        // the stack's end of it), so three of the range's slots.
        let descriptors = if protocol == Protocol::OpcUa { 3 } else { 1 };
        let slot = if own {
            own_slots.clone().try_acquire_owned().map(|s| (s, None))
        } else {
            slots
                .clone()
                .try_acquire_owned()
                .and_then(|s| Ok((s, Some(cx.range_slots.clone().try_acquire_many_owned(descriptors)?))))
        };
        let Ok(slot) = slot else {
            // Over the cap: close at once so a flood cannot hold the backlog, and log it (a
            // flood is evidence).
            refuse_over_cap(&cx, plc, peer.ip(), protocol);
            refuse(stream).await;
            continue;
        };
        if protocol == Protocol::Modbus {
            // The loop is behind a burst of connects (its inbox full): refused as over the cap.
            // Its endpoints share its thread, so the inbox has room for this one if not now.
            if inbox.is_full() {
                refuse_over_cap(&cx, plc, peer.ip(), protocol);
                refuse(stream).await;
                continue;
            }
            if let Some((conn, stream)) = Conn::open(stream, peer, plc, cx.clone()) {
                inbox.send(Accepted { conn, stream, endpoint: endpoint.clone(), slot });
            }
            continue;
        }
        let cx = cx.clone();
        let shutdown = shutdown.clone();
        let endpoint = endpoint.clone();
        let opcua = opcua.clone();
        connections.spawn(async move {
            match protocol {
                // Handed to the shard's event loop above.
                Protocol::Modbus => {}
                Protocol::Iec104 => {
                    let shared = (&endpoint.pacer, &endpoint.clock);
                    crate::runtime::iec104::session::connection(stream, peer, plc, &cx, shared, shutdown)
                        .await;
                }
                Protocol::OpcUa => {
                    let Some(server) = opcua else { return };
                    let relay = (&endpoint.pacer, server.internal, &*server.channels);
                    crate::runtime::opcua::proxy::connection(stream, peer, plc, &cx, relay, shutdown).await;
                }
            }
            drop(slot);
        });
    }
    // Connections see the same shutdown signal; give them a moment to finish their request.
    let drained = tokio::time::timeout(Duration::from_secs(2), async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        connections.abort_all();
    }
    if let Some(server) = opcua {
        server.stop();
    }
}

/// Refuses an accepted connection with a reset, then lets the endpoint's other tasks run: a
/// storm of refused connections takes turns with the range's sessions instead of holding
/// their event loop for a whole scheduling budget (128 connections) at a time, the team's
/// requests waiting behind all of them.
async fn refuse(stream: TcpStream) {
    reset(stream);
    tokio::task::yield_now().await;
}

/// Records a connection refused because the endpoint or the range has no slot free.
fn refuse_over_cap(cx: &Context, plc: PlcIdx, peer: IpAddr, protocol: Protocol) {
    let source = cx.sources.host(peer, cx.live.snapshot().attacker_host);
    let s = &cx.live.scenario;
    let (plc_id, source_id) = (s.plcs[plc.ix()].id.clone(), s.hosts[source.ix()].id.clone());
    let refused = Some(RejectReason::ConnectionLimit);
    cx.live.record_traffic(plc, source, None, 1, true, || match protocol {
        Protocol::Modbus => SimInput::ModbusConnection { plc: plc_id, source: source_id, refused },
        Protocol::OpcUa => crate::runtime::opcua::proxy::connection_input(cx, plc, source, refused),
        Protocol::Iec104 => SimInput::Iec104(Iec104Transaction {
            plc: plc_id,
            source: source_id,
            type_id: icsdrill_engine::scenario::iec104::types::CONNECTION,
            cause: 0,
            ioa: 0,
            value: None,
            select: false,
            reason: refused,
            repeat: 1,
        }),
    });
}

/// Starts PLC `plc`'s OPC UA server behind `listener`, and the task keeping it current;
/// `None` (logged) when it cannot start.
async fn opcua_server(
    listener: &TcpListener,
    plc: PlcIdx,
    cx: &Arc<Context>,
) -> Option<Arc<crate::runtime::opcua::server::Server>> {
    let public = listener.local_addr().ok()?;
    match crate::runtime::opcua::server::Server::start(cx.clone(), plc, public).await {
        Ok(server) => {
            cx.opcua_stacks.lock().unwrap_or_else(|e| e.into_inner()).push((plc, server.internal));
            let server = Arc::new(server);
            let (s, cx) = (server.clone(), cx.clone());
            tokio::spawn(async move { s.update(&cx).await });
            Some(server)
        }
        Err(e) => {
            tracing::error!(plc = %cx.live.scenario.plcs[plc.ix()].id, error = %e, "the OPC UA server cannot start");
            None
        }
    }
}

/// The shutdown signal as a connection waits on it between requests. Polling a shutdown
/// future that waits takes the channel's lock, which every connection of the range shares
/// across its event loops: this one is polled once (so it holds the task's waker, which a
/// shutdown wakes) and again only when the channel has changed since, so the wait for each
/// request costs an atomic load instead of a lock the other event loops contend for.
pub(super) struct Stop<'a, F> {
    /// The shutdown future.
    pub(super) future: std::pin::Pin<&'a mut F>,
    /// The same channel, to see whether it has changed.
    pub(super) seen: watch::Receiver<bool>,
    /// Whether it was polled once.
    pub(super) polled: bool,
}

impl<F: std::future::Future> std::future::Future for Stop<'_, F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = &mut *self;
        // A closed channel counts as changed: the future then ends.
        if this.polled && !this.seen.has_changed().unwrap_or(true) {
            return std::task::Poll::Pending;
        }
        this.polled = true;
        this.seen.mark_unchanged();
        this.future.as_mut().poll(cx)
    }
}

/// Closes with a reset rather than a graceful FIN, as a firewall dropping a session would.
// A zero linger never blocks on drop (the deprecation is about non-zero lingers): the kernel
// discards the socket and sends RST at once.
#[allow(deprecated)]
pub(crate) fn reset(stream: TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// One `recv`. A short read drained the socket, so the stream's read readiness is cleared with
/// it and the next wait goes to the reactor instead of spending a second system call to learn
/// it would block: one `recv` per request, as the raw floor does. The readiness cleared is the
/// one seen before the `recv`, so bytes arriving after it still wake the connection.
///
/// The system call is made directly (rustix), not through the C library's `recv`: that one is
/// a cancellation point, which costs two more calls into the thread library per request.
pub(crate) fn read_draining(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    let room = buf.len();
    let mut got = None;
    let result = stream.try_io(tokio::io::Interest::READABLE, || {
        let n = rustix::net::recv(stream, buf, rustix::net::RecvFlags::empty())?;
        got = Some(n);
        if n > 0 && n < room { Err(std::io::ErrorKind::WouldBlock.into()) } else { Ok(n) }
    });
    match (result, got) {
        (Err(e), Some(n)) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(n),
        (result, _) => result,
    }
}

/// One `send` of what the socket takes now (`WouldBlock` when it takes nothing), made directly
/// as `read_draining`'s `recv` is.
pub(crate) fn try_send(stream: &TcpStream, bytes: &[u8]) -> std::io::Result<usize> {
    stream.try_io(tokio::io::Interest::WRITABLE, || {
        Ok(rustix::net::send(stream, bytes, rustix::net::SendFlags::NOSIGNAL)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pacer_lets_a_burst_through_then_spaces_requests_at_its_rate() {
        let p = Pacer::new(1_000);
        let waits: Vec<Duration> = (0..1_100).map(|_| p.reserve()).collect();
        assert!(waits[..99].iter().all(Duration::is_zero), "a tenth of a second's burst");
        // The last of 1,000 requests beyond the burst waits its turn, about a second.
        let last = waits[1_099].as_secs_f64();
        assert!((0.9..1.1).contains(&last), "{last}");
        assert!(waits.windows(2).skip(100).all(|w| w[1] >= w[0]), "in order");
        assert!(Pacer::new(0).reserve().is_zero(), "0: no limit");
    }
}
