//! One simulated PLC as a Modbus TCP server: the accept loop, the connection loop, and the
//! answer to each request.
//!
//! Reads are answered from the latest snapshot and recorded (`Live::record`); writes and
//! diagnostics are queued into the simulation and answered when the tick that applies them
//! has run (`Live::apply`), so the answer carries the plant's verdict and a read after it sees
//! the new value. The conduit firewall is checked at connect (route, source host) and on
//! every request (function code; address and value windows are the simulation's to check).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use icsdrill_engine::network::{Request as FwRequest, check_connect, check_request};
use icsdrill_engine::scenario::{HostIdx, PlcIdx, Table};
use icsdrill_engine::{PlcMode, RejectReason, SimInput, Snapshot};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_modbus::ExceptionCode;

use super::frame::{
    Frame, Header, MAX_ADU_LEN, MEI_READ_DEVICE_ID, Request, ResponseWriter, decode, parse_frame,
    unpack_bits, unpack_registers, write_exception,
};
use crate::runtime::live::Live;

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

/// Which client addresses a range serves: its team's networks and its own attacker.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The team's networks.
    pub nets: Vec<ipnet::IpNet>,
    /// The range's live attacker, whose address may lie outside them.
    pub attacker: Option<IpAddr>,
}

impl Clients {
    /// Every address (a range with no team to keep apart from).
    pub fn any() -> Clients {
        Clients {
            nets: vec!["0.0.0.0/0".parse().expect("valid"), "::/0".parse().expect("valid")],
            attacker: None,
        }
    }

    /// Whether `ip` may connect.
    pub fn admits(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.attacker == Some(ip) || self.nets.iter().any(|n| n.contains(&ip))
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
}

/// Serves `plc` on `listener` until `shutdown` turns true. Accept errors are logged and
/// retried, never fatal; each connection runs in its own task.
pub async fn serve(
    listener: TcpListener,
    plc: PlcIdx,
    cx: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(cx.limits.max_connections));
    let pacer = Arc::new(Pacer::new(cx.limits.request_rate));
    let mut connections = tokio::task::JoinSet::new();
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
        if !cx.clients.admits(peer.ip()) {
            // Not this range's client (another team's, or nobody's): refused before it can
            // take a slot, and reported to the white cell, never logged as this team's own.
            if let Some(report) = &cx.on_foreign {
                (report.0)(peer.ip(), plc);
            }
            reset(stream);
            continue;
        }
        let slot = slots
            .clone()
            .try_acquire_owned()
            .and_then(|s| Ok((s, cx.range_slots.clone().try_acquire_owned()?)));
        let Ok(slot) = slot else {
            // Over the cap: close at once so a flood cannot hold the backlog, and log it (a
            // flood is evidence).
            let source = cx.sources.host(peer.ip(), cx.live.snapshot_guard().attacker_host);
            let s = &cx.live.scenario;
            cx.live.record_traffic(plc, source, None, 1, true, || SimInput::ModbusConnection {
                plc: s.plcs[plc.ix()].id.clone(),
                source: s.hosts[source.ix()].id.clone(),
                refused: Some(RejectReason::ConnectionLimit),
            });
            reset(stream);
            continue;
        };
        let cx = cx.clone();
        let shutdown = shutdown.clone();
        let pacer = pacer.clone();
        connections.spawn(async move {
            connection(stream, peer, plc, &cx, &pacer, shutdown).await;
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
}

/// Closes with a reset rather than a graceful FIN, as a firewall dropping a session would.
// A zero linger never blocks on drop (the deprecation is about non-zero lingers): the kernel
// discards the socket and sends RST at once.
#[allow(deprecated)]
fn reset(stream: TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// How long a connection folds a client's identical requests (a poll loop) into one record
/// with a repeat count: about a tick, so the log keeps its resolution.
pub const FOLD_WINDOW: Duration = Duration::from_millis(100);

/// A record being folded: (function, address, count, exception, reason), how many, since when.
struct Pending {
    key: (u8, u16, u16, Option<u8>, Option<RejectReason>),
    repeat: u32,
    since: Instant,
}

/// A connection's records: the one being folded.
struct Records {
    pending: Option<Pending>,
}

/// One accepted connection.
struct Conn<'a> {
    cx: &'a Context,
    plc: PlcIdx,
    source: HostIdx,
    /// The record being folded. Never held across an await; only this connection's task
    /// locks it.
    records: Mutex<Records>,
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        self.flush_records();
    }
}

/// What to do after a request.
enum Next {
    Continue,
    Close,
}

/// Serves one client connection, in its own span (peer, PLC).
#[tracing::instrument(name = "modbus", level = "info", skip_all, fields(%peer, plc = %cx.live.scenario.plcs[plc.ix()].id))]
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    plc: PlcIdx,
    cx: &Context,
    pacer: &Pacer,
    mut shutdown: watch::Receiver<bool>,
) {
    let snapshot = cx.live.snapshot();
    let source = cx.sources.host(peer.ip(), snapshot.attacker_host);
    let conn = Conn { cx, plc, source, records: Mutex::new(Records { pending: None }) };
    let refused = check_connect(&cx.live.scenario, &snapshot.net, conn.source, plc).err();
    cx.live.record_traffic(plc, source, None, 1, refused.is_some(), || SimInput::ModbusConnection {
        plc: conn.plc_id(),
        source: conn.source_id(),
        refused,
    });
    if refused.is_some() {
        reset(stream);
        return;
    }
    let _ = stream.set_nodelay(true);
    let idle = cx.limits.idle_timeout;
    let mut buf = vec![0u8; 4 * MAX_ADU_LEN];
    let mut filled = 0;
    let mut out = Vec::with_capacity(2 * MAX_ADU_LEN);
    // Idle time counts from the last whole request, so trickling bytes keeps nothing open.
    let mut last_frame = Instant::now();
    loop {
        let mut start = 0;
        let mut next = Next::Continue;
        loop {
            match parse_frame(&buf[start..filled]) {
                Frame::Complete { header, pdu, len } => {
                    // The endpoint's and the range's pace: a flood waits here, on its own
                    // connection, instead of taking the CPU other ranges need.
                    let wait = pacer.reserve().max(cx.range_pacer.reserve());
                    if !wait.is_zero() {
                        if !out.is_empty() && !flush(&mut stream, &mut out, idle).await {
                            return;
                        }
                        tokio::select! {
                            _ = shutdown.wait_for(|stop| *stop) => return,
                            _ = tokio::time::sleep(wait) => {}
                        }
                    }
                    last_frame = Instant::now();
                    // Answers already made go out before a write waits for its tick.
                    if waits_for_tick(pdu[0]) && !out.is_empty() && !flush(&mut stream, &mut out, idle).await
                    {
                        return;
                    }
                    next = conn.handle(header, pdu, &mut out).await;
                    start += len;
                    if matches!(next, Next::Close) {
                        break;
                    }
                }
                Frame::Incomplete => break,
                Frame::Invalid(e) => {
                    // Framing is lost: nothing after this point can be trusted.
                    tracing::debug!(%peer, error = ?e, "closing: bad MBAP header");
                    conn.record(0, 0, 0, None, Some(RejectReason::Malformed));
                    next = Next::Close;
                    break;
                }
            }
        }
        if !out.is_empty() && !flush(&mut stream, &mut out, idle).await {
            return;
        }
        if matches!(next, Next::Close) {
            return;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        let Some(left) = idle.checked_sub(last_frame.elapsed()) else { return };
        // Wake up for the folded record too, so a quiet client's last poll is logged on time.
        let fold = conn.fold_deadline().map(|d| d.saturating_duration_since(Instant::now()));
        let wait = fold.map_or(left, |f| f.min(left));
        let read = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            read = tokio::time::timeout(wait, stream.read(&mut buf[filled..])) => read,
        };
        match read {
            Ok(Ok(n)) if n > 0 => filled += n,
            Err(_) if fold.is_some_and(|f| f < left) => conn.flush_records(),
            _ => return, // Closed, failed, or idle too long.
        }
    }
}

/// Function codes answered only after a tick: writes, diagnostics.
fn waits_for_tick(function: u8) -> bool {
    matches!(function, 5 | 6 | 8 | 15 | 16 | 23)
}

/// Writes queued answers; a client that does not read them within `limit` is dropped.
async fn flush(stream: &mut TcpStream, out: &mut Vec<u8>, limit: Duration) -> bool {
    let ok = matches!(tokio::time::timeout(limit, stream.write_all(out)).await, Ok(Ok(())));
    out.clear();
    ok
}

/// How a refusal from the simulation is answered.
enum Answer {
    Exception(ExceptionCode),
    Silence,
    Close,
}

fn answer(reason: Option<RejectReason>) -> Answer {
    match reason {
        // The queue was full or the runtime is stopping.
        None => Answer::Exception(ExceptionCode::ServerDeviceBusy),
        Some(RejectReason::ListenOnly | RejectReason::Restarting) => Answer::Silence,
        Some(r) => match r.exception_code() {
            Some(code) => Answer::Exception(ExceptionCode::new(code)),
            // No route, source refused, host isolated: the session is dropped.
            None => Answer::Close,
        },
    }
}

impl Conn<'_> {
    fn plc_id(&self) -> String {
        self.cx.live.scenario.plcs[self.plc.ix()].id.clone()
    }

    fn source_id(&self) -> String {
        self.cx.live.scenario.hosts[self.source.ix()].id.clone()
    }

    fn record(
        &self,
        function: u8,
        addr: u16,
        count: u16,
        exception: Option<ExceptionCode>,
        reason: Option<RejectReason>,
    ) {
        let key = (function, addr, count, exception.map(u8::from), reason);
        let done = {
            let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = &mut records.pending
                && p.key == key
                && p.since.elapsed() < FOLD_WINDOW
            {
                p.repeat += 1;
                return;
            }
            records.pending.replace(Pending { key, repeat: 1, since: Instant::now() })
        };
        if let Some(p) = done {
            self.send(p);
        }
    }

    /// Sends the record being folded, if any.
    fn flush_records(&self) {
        let pending = self.records.lock().unwrap_or_else(|e| e.into_inner()).pending.take();
        if let Some(p) = pending {
            self.send(p);
        }
    }

    /// When the record being folded must go out.
    fn fold_deadline(&self) -> Option<Instant> {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).pending.as_ref().map(|p| p.since + FOLD_WINDOW)
    }

    /// Records a folded request, within the range's record budget, or counts it for the
    /// tick's traffic summary.
    fn send(&self, p: Pending) {
        let (function, addr, count, exception, reason) = p.key;
        let refused = exception.is_some() || reason.is_some();
        self.cx.live.record_traffic(self.plc, self.source, Some(function), p.repeat, refused, || {
            SimInput::ModbusRequest {
                plc: self.plc_id(),
                source: self.source_id(),
                function,
                addr,
                count,
                exception,
                reason,
                repeat: p.repeat,
            }
        });
    }

    /// Answers one request into `out` (or not at all, in listen-only mode).
    async fn handle(&self, header: Header, pdu: &[u8], out: &mut Vec<u8>) -> Next {
        let function = pdu[0];
        let def = &self.cx.live.scenario.plcs[self.plc.ix()];
        let decoded = decode(pdu);
        // What this request needs from the snapshot, taken at once: the guard is not held
        // while a write waits for its tick.
        let (listen_only, restarting, running, firewall) = {
            let snapshot = self.cx.live.snapshot_guard();
            let view = &snapshot.plcs[self.plc.ix()];
            let (addr, _) = decoded.map_or((0, 0), |r| r.span());
            let fw = FwRequest { source: self.source, plc: self.plc, function, addr, registers: &[] };
            let firewall = check_request(&self.cx.live.scenario, &snapshot.net, fw);
            (view.listen_only, view.restarting, view.mode == PlcMode::Run, firewall)
        };
        if restarting || (listen_only && !matches!(decoded, Ok(Request::Diagnostics { sub_function: 1, .. })))
        {
            let (addr, count) = decoded.map_or((0, 0), |r| r.span());
            let reason = if restarting { RejectReason::Restarting } else { RejectReason::ListenOnly };
            self.record(function, addr, count, None, Some(reason));
            return Next::Continue;
        }
        // Unit 0 and 255 address "this device" on TCP; any other id is not served here.
        if header.unit != def.unit_id && header.unit != 0 && header.unit != 0xFF {
            let e = ExceptionCode::GatewayTargetDevice;
            write_exception(out, header, function, e);
            self.record(function, 0, 0, Some(e), Some(RejectReason::WrongUnit));
            return Next::Continue;
        }
        let request = match decoded {
            Ok(r) => r,
            Err(refused) => {
                write_exception(out, header, function, refused.exception);
                let reason = match refused.exception {
                    ExceptionCode::IllegalFunction => RejectReason::IllegalFunction,
                    _ => RejectReason::Malformed,
                };
                self.record(function, 0, 0, Some(refused.exception), Some(reason));
                return Next::Continue;
            }
        };
        let (addr, count) = request.span();
        if let Err(reason) = firewall {
            let Some(code) = reason.exception_code() else {
                // The conduit no longer admits this host at all: drop the session.
                self.record(function, addr, count, None, Some(reason));
                return Next::Close;
            };
            let e = ExceptionCode::new(code);
            write_exception(out, header, function, e);
            self.record(function, addr, count, Some(e), Some(reason));
            return Next::Continue;
        }
        if waits_for_tick(function) && !self.cx.live.take_write(self.plc, self.source, function) {
            // Over this tick's write budget: busy, as a loaded controller answers. Counted in
            // the tick's traffic summary.
            write_exception(out, header, function, ExceptionCode::ServerDeviceBusy);
            return Next::Continue;
        }
        match request {
            Request::ReadCoils { addr, count } => self.read(Table::Coils, header, function, addr, count, out),
            Request::ReadDiscreteInputs { addr, count } => {
                self.read(Table::DiscreteInputs, header, function, addr, count, out)
            }
            Request::ReadHoldingRegisters { addr, count } => {
                self.read(Table::HoldingRegisters, header, function, addr, count, out)
            }
            Request::ReadInputRegisters { addr, count } => {
                self.read(Table::InputRegisters, header, function, addr, count, out)
            }
            Request::WriteSingleCoil { addr, value } => {
                self.write(header, function, out, self.coils(function, addr, vec![value]), |w| {
                    w.bytes(&pdu[1..5]);
                })
                .await
            }
            Request::WriteSingleRegister { addr, value } => {
                self.write(header, function, out, self.registers(function, addr, vec![value]), |w| {
                    w.bytes(&pdu[1..5]);
                })
                .await
            }
            Request::WriteMultipleCoils { addr, count, bits } => {
                let input = self.coils(function, addr, unpack_bits(bits, count));
                self.write(header, function, out, input, |w| {
                    w.u16(addr).u16(count);
                })
                .await
            }
            Request::WriteMultipleRegisters { addr, count, bytes } => {
                let input = self.registers(function, addr, unpack_registers(bytes));
                self.write(header, function, out, input, |w| {
                    w.u16(addr).u16(count);
                })
                .await
            }
            Request::ReadWriteMultipleRegisters { read_addr, read_count, write_addr, bytes, .. } => {
                // Refuse before writing anything if the read half cannot be served.
                if registers_of(
                    &self.cx.live.snapshot_guard(),
                    self.plc,
                    Table::HoldingRegisters,
                    read_addr,
                    read_count,
                )
                .is_none()
                {
                    return self.illegal_address(header, function, read_addr, read_count, out);
                }
                // The write happens first; the read then sees the snapshot of the tick that
                // applied it.
                let write = self.registers(function, write_addr, unpack_registers(bytes));
                if let Err(reason) = self.cx.live.apply(write).await {
                    return self.refuse(header, function, reason, out);
                }
                let snapshot = self.cx.live.snapshot_guard();
                match registers_of(&snapshot, self.plc, Table::HoldingRegisters, read_addr, read_count) {
                    Some(regs) => {
                        let mut w = ResponseWriter::new(out, header, function);
                        w.registers(regs);
                        w.finish();
                    }
                    None => write_exception(out, header, function, ExceptionCode::IllegalDataAddress),
                }
                Next::Continue
            }
            Request::Diagnostics { sub_function, data } => {
                let input =
                    SimInput::ModbusDiagnostic { plc: self.plc_id(), source: self.source_id(), sub_function };
                match self.cx.live.apply(input).await {
                    // Force listen-only is never answered; nor is a restart of communications
                    // that ends listen-only mode (the specification: "no response").
                    Ok(()) if sub_function == 4 || (sub_function == 1 && listen_only) => {}
                    Ok(()) => {
                        let mut w = ResponseWriter::new(out, header, function);
                        w.u16(sub_function).u16(data);
                        w.finish();
                    }
                    Err(reason) => return self.refuse(header, function, reason, out),
                }
                Next::Continue
            }
            Request::ReportServerId => {
                let text = format!("{} {} {}", def.device.vendor, def.device.product, def.device.revision);
                let text = &text.as_bytes()[..text.len().min(200)];
                // The server id is device specific: ours is the unit id and the device string.
                // The run indicator follows it, as the last byte (where pymodbus reads it).
                let mut w = ResponseWriter::new(out, header, function);
                let run = if running { 0xFF } else { 0x00 };
                w.u8((2 + text.len()) as u8).u8(def.unit_id).bytes(text).u8(run);
                w.finish();
                self.record(function, 0, 0, None, None);
                Next::Continue
            }
            Request::ReadDeviceId { code, object } => {
                let objects = [&def.device.vendor, &def.device.product, &def.device.revision];
                let (first, last) = match code {
                    4 if usize::from(object) < objects.len() => (usize::from(object), usize::from(object)),
                    4 => {
                        write_exception(out, header, function, ExceptionCode::IllegalDataAddress);
                        self.record(
                            function,
                            addr,
                            0,
                            Some(ExceptionCode::IllegalDataAddress),
                            Some(RejectReason::IllegalAddress),
                        );
                        return Next::Continue;
                    }
                    // Streams start at the requested object, or at 0 if there is no such object.
                    _ => (
                        if usize::from(object) < objects.len() { usize::from(object) } else { 0 },
                        objects.len() - 1,
                    ),
                };
                let mut w = ResponseWriter::new(out, header, function);
                // Conformity 0x81: basic identification, stream and individual access.
                w.u8(MEI_READ_DEVICE_ID).u8(code).u8(0x81).u8(0).u8(0).u8((last - first + 1) as u8);
                for (id, value) in objects.iter().enumerate().take(last + 1).skip(first) {
                    let v = &value.as_bytes()[..value.len().min(60)];
                    w.u8(id as u8).u8(v.len() as u8).bytes(v);
                }
                w.finish();
                self.record(function, addr, 0, None, None);
                Next::Continue
            }
        }
    }

    /// Answers a read from the latest snapshot.
    fn read(
        &self,
        table: Table,
        header: Header,
        function: u8,
        addr: u16,
        count: u16,
        out: &mut Vec<u8>,
    ) -> Next {
        let snapshot = self.cx.live.snapshot_guard();
        let memory = &snapshot.plcs[self.plc.ix()].memory;
        if !memory.is_mapped(table, addr, usize::from(count)) {
            return self.illegal_address(header, function, addr, count, out);
        }
        let range = usize::from(addr)..usize::from(addr) + usize::from(count);
        let mut w = ResponseWriter::new(out, header, function);
        match table {
            Table::Coils => w.bits(&memory.coils[range]),
            Table::DiscreteInputs => w.bits(&memory.discrete[range]),
            Table::InputRegisters => w.registers(&memory.input[range]),
            Table::HoldingRegisters => w.registers(&memory.holding[range]),
        };
        w.finish();
        self.record(function, addr, count, None, None);
        Next::Continue
    }

    fn illegal_address(
        &self,
        header: Header,
        function: u8,
        addr: u16,
        count: u16,
        out: &mut Vec<u8>,
    ) -> Next {
        let e = ExceptionCode::IllegalDataAddress;
        write_exception(out, header, function, e);
        self.record(function, addr, count, Some(e), Some(RejectReason::IllegalAddress));
        Next::Continue
    }

    fn coils(&self, function: u8, addr: u16, values: Vec<bool>) -> SimInput {
        SimInput::WriteCoils {
            plc: self.plc_id(),
            source: self.source_id(),
            addr,
            values,
            function: Some(function),
        }
    }

    fn registers(&self, function: u8, addr: u16, values: Vec<u16>) -> SimInput {
        SimInput::WriteRegisters {
            plc: self.plc_id(),
            source: self.source_id(),
            addr,
            values,
            function: Some(function),
        }
    }

    /// Queues a write, waits for its tick, and answers: `body` fills a normal answer.
    async fn write(
        &self,
        header: Header,
        function: u8,
        out: &mut Vec<u8>,
        input: SimInput,
        body: impl FnOnce(&mut ResponseWriter<'_>),
    ) -> Next {
        match self.cx.live.apply(input).await {
            Ok(()) => {
                let mut w = ResponseWriter::new(out, header, function);
                body(&mut w);
                w.finish();
                Next::Continue
            }
            Err(reason) => self.refuse(header, function, reason, out),
        }
    }

    /// Answers a refusal from the simulation (`None`: it could not be asked).
    fn refuse(&self, header: Header, function: u8, reason: Option<RejectReason>, out: &mut Vec<u8>) -> Next {
        match answer(reason) {
            Answer::Exception(e) => {
                write_exception(out, header, function, e);
                Next::Continue
            }
            Answer::Silence => Next::Continue,
            Answer::Close => Next::Close,
        }
    }
}

/// Registers `addr..addr + count` of a table, if all are mapped.
fn registers_of(snapshot: &Snapshot, plc: PlcIdx, table: Table, addr: u16, count: u16) -> Option<&[u16]> {
    let memory = &snapshot.plcs[plc.ix()].memory;
    if !memory.is_mapped(table, addr, usize::from(count)) {
        return None;
    }
    let regs = match table {
        Table::InputRegisters => &memory.input,
        _ => &memory.holding,
    };
    let start = usize::from(addr);
    Some(&regs[start..start + usize::from(count)])
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
