//! Routine traffic on the wire: the operator stations', historians' and engineering
//! workstations' requests the simulation schedules each tick (`RoutinePlan::due`: polls,
//! sessions, background reads and writes), sent as real Modbus TCP from each host's own
//! loopback address, so trainees capturing on the loopback interface find the attacker inside
//! ordinary traffic, as on a real control network.
//!
//! The simulation already counts these requests in the log (`routine_traffic`); the endpoints
//! know the routine clients by their socket address (`OwnClients`) and do not record them a
//! second time. One connection per host and PLC, each its own task with a short queue: a PLC
//! that stops answering delays only its own polls, and a lagging lane drops polls rather than
//! queueing them.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use icsdrill_engine::scenario::{HostIdx, PlcIdx};
use icsdrill_engine::systems::routine::{NativeRequest, RoutineRequest};
use opcua::types::Variant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::runtime::modbus::frame::{Header, MAX_ADU_LEN, write_request};

/// The address a team's client binds to act as host `host` in the network starting at `base`:
/// `.100 + host index`, for the first 100 hosts (`None` beyond). Apart from the routine
/// traffic's (`host_address`), which is the range's own client and has slots of its own.
pub fn team_host_address(base: std::net::Ipv4Addr, host: HostIdx) -> Option<std::net::Ipv4Addr> {
    nth_address(base, 100..200, host)
}

/// The loopback address a host sends its routine traffic from in the network starting at
/// `base`: `.200 + host index`, for the first 55 hosts (`None` beyond).
pub fn host_address(base: std::net::Ipv4Addr, host: HostIdx) -> Option<std::net::Ipv4Addr> {
    nth_address(base, 200..255, host)
}

/// Host `host`'s address in the block `last` of the network starting at `base` (`None` when
/// the block has no room for it).
fn nth_address(
    base: std::net::Ipv4Addr,
    last: std::ops::Range<u32>,
    host: HostIdx,
) -> Option<std::net::Ipv4Addr> {
    let at = u32::try_from(host.ix()).ok()?.checked_add(last.start).filter(|a| last.contains(a))?;
    Some(std::net::Ipv4Addr::from(u32::from(base) + at))
}

/// Batches (one per tick) waiting for the sender.
pub const ROUTINE_QUEUE: usize = 64;
/// Groups of requests waiting on one host-PLC lane.
const LANE_QUEUE: usize = 8;
/// Room for the answers being read: a few whole frames.
const ANSWER_BUFFER: usize = 4 * MAX_ADU_LEN;
/// How long a routine request waits for its answer before the connection is dropped.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(1500);

/// A socket address registered with an `OwnClients` set while it lives.
#[derive(Debug)]
pub struct Registered(Arc<OwnClients>, SocketAddr);

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.own().live.remove(&self.1);
    }
}

/// Socket addresses of the range's own clients now connected: its routine clients (`true`),
/// whose requests the endpoints leave out of the log (the simulation counted them), and its
/// live attacker's connections (`false`). Only these get the slots kept for the range's own
/// clients: not another connection from their addresses (a team binding one).
///
/// The last `ROUTINE_GONE_KEPT` routine addresses stay known as routine after their client let
/// go: a connection a routine client gave up on before the endpoint accepted it (its opening
/// timed out under load) is accepted later, and was recorded as another client's from the
/// routine host's address.
#[derive(Debug, Default)]
pub struct OwnClients(Mutex<Own>);

/// The addresses `OwnClients` knows.
#[derive(Debug, Default)]
struct Own {
    /// Connected now: routine (`true`) or the attacker's.
    live: HashMap<SocketAddr, bool>,
    /// Routine clients' addresses let go, oldest first.
    gone: std::collections::VecDeque<SocketAddr>,
}

/// How many routine addresses let go are still known as routine.
const ROUTINE_GONE_KEPT: usize = 256;

impl OwnClients {
    fn own(&self) -> std::sync::MutexGuard<'_, Own> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `peer` is a routine client (or was, lately).
    pub fn contains(&self, peer: &SocketAddr) -> bool {
        let own = self.own();
        own.live.get(peer) == Some(&true) || own.gone.contains(peer)
    }

    /// Whether `peer` is one of the range's own clients now (routine or the attacker's).
    pub fn is_own(&self, peer: &SocketAddr) -> bool {
        self.own().live.contains_key(peer)
    }

    /// Registers `peer` as a connection of the live attacker's until the guard is dropped.
    pub fn register(self: &Arc<Self>, peer: SocketAddr) -> Registered {
        self.own().live.insert(peer, false);
        Registered(self.clone(), peer)
    }

    /// A routine client's address connecting (`on`), or let go.
    fn set(&self, peer: SocketAddr, on: bool) {
        let mut own = self.own();
        if on {
            own.live.insert(peer, true);
            own.gone.retain(|p| *p != peer);
        } else if own.live.remove(&peer) == Some(true) {
            if own.gone.len() == ROUTINE_GONE_KEPT {
                own.gone.pop_front();
            }
            own.gone.push_back(peer);
        }
    }
}

/// Where the routine clients connect to and from.
#[derive(Debug)]
pub struct Wire {
    /// Endpoint of each PLC.
    pub endpoints: Vec<SocketAddr>,
    /// Unit id of each PLC.
    pub units: Vec<u8>,
    /// IEC 104 station of each PLC that has one: address and common address.
    pub stations: Vec<Option<(SocketAddr, u16)>>,
    /// OPC UA server of each PLC that has one.
    pub servers: Vec<Option<SocketAddr>>,
    /// The coil ids of each PLC: the OPC UA variables written as Booleans.
    pub bits: Vec<Vec<String>>,
    /// Source address of each host that makes routine traffic.
    pub hosts: BTreeMap<HostIdx, IpAddr>,
    /// The routine clients' socket addresses, shared with the endpoints.
    pub peers: Arc<OwnClients>,
    /// Requests skipped because their lane was still busy (a PLC not answering).
    pub skipped: std::sync::atomic::AtomicU64,
    /// The event loops the endpoints run on (PLC `i` on loop `i % len`): a lane runs on its
    /// PLC's, so a poll and its answer wake nothing on another thread. Empty: the caller's
    /// runtime.
    pub loops: Vec<tokio::runtime::Handle>,
}

/// Sends each tick's batch until `stop`: one host's requests to one PLC go out together on
/// their lane.
pub async fn run(
    mut rx: mpsc::Receiver<Vec<RoutineRequest>>,
    wire: Arc<Wire>,
    mut stop: watch::Receiver<bool>,
) {
    // A lane per host, PLC and protocol (IEC 104 requests go to the PLC's station, OPC UA
    // ones to its server).
    let mut lanes: BTreeMap<(HostIdx, PlcIdx, Kind), mpsc::Sender<Vec<RoutineRequest>>> = BTreeMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let batch = tokio::select! {
            batch = rx.recv() => batch,
            _ = stop.wait_for(|s| *s) => None,
        };
        let Some(batch) = batch else { break };
        let mut rest = &batch[..];
        while let Some(first) = rest.first() {
            let key = |r: &RoutineRequest| (r.host, r.plc, Kind::of(r));
            let n = rest.iter().take_while(|r| key(r) == key(first)).count();
            let (group, tail) = rest.split_at(n);
            rest = tail;
            let Some(source) = wire.hosts.get(&first.host).copied() else { continue };
            let lane = lanes.entry(key(first)).or_insert_with(|| {
                let (tx, rx) = mpsc::channel(LANE_QUEUE);
                let task = lane(rx, wire.clone(), source, (first.plc, Kind::of(first)), stop.clone());
                match wire.loops.get(first.plc.ix() % wire.loops.len().max(1)) {
                    Some(on) => tasks.spawn_on(task, on),
                    None => tasks.spawn(task),
                };
                tx
            });
            // A lane still busy with older polls skips these, as a real HMI's driver does.
            if lane.try_send(group.to_vec()).is_err() {
                wire.skipped.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    drop(lanes);
    while tasks.join_next().await.is_some() {}
}

/// Which of a PLC's endpoints a lane speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Modbus,
    Iec104,
    OpcUa,
}

impl Kind {
    fn of(r: &RoutineRequest) -> Kind {
        match r.native {
            None => Kind::Modbus,
            Some(NativeRequest::Iec104 { .. }) => Kind::Iec104,
            Some(NativeRequest::OpcUa { .. }) => Kind::OpcUa,
        }
    }
}

/// What a lane speaks: how it connects to its PLC and sends a group of requests.
trait Protocol: Send {
    /// An open connection.
    type Conn: Send;
    /// Connects `socket` (bound to the host's address) to the PLC.
    fn open(&mut self, socket: TcpSocket) -> impl Future<Output = Option<Self::Conn>> + Send;
    /// Sends `group` and reads its answers: `false` when the connection failed.
    fn exchange(&mut self, c: &mut Self::Conn, group: &[RoutineRequest])
    -> impl Future<Output = bool> + Send;
    /// Between groups: what the connection needs while nothing is asked (IEC 104: reading and
    /// acknowledging what the station sends of its own accord). Resolves only when the
    /// connection failed; cancel-safe. By default, nothing.
    fn idle(&mut self, _c: &mut Self::Conn) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }
}

/// Modbus/TCP: each group of requests sent pipelined (several outstanding transactions; one
/// write, the answers read as they come).
struct Modbus {
    client: Client,
    to: SocketAddr,
}

impl Protocol for Modbus {
    type Conn = TcpStream;

    async fn open(&mut self, socket: TcpSocket) -> Option<TcpStream> {
        let stream = tokio::time::timeout(ANSWER_TIMEOUT, socket.connect(self.to)).await.ok()?.ok()?;
        let _ = stream.set_nodelay(true);
        Some(stream)
    }

    async fn exchange(&mut self, stream: &mut TcpStream, group: &[RoutineRequest]) -> bool {
        matches!(tokio::time::timeout(ANSWER_TIMEOUT, self.client.exchange(stream, group)).await, Ok(Ok(())))
    }
}

/// IEC 104 to the PLC's station: interrogations and commands, each awaited in turn.
struct Station {
    to: SocketAddr,
    ca: u16,
}

impl Protocol for Station {
    type Conn = crate::runtime::iec104::master::Master;

    async fn open(&mut self, socket: TcpSocket) -> Option<Self::Conn> {
        Self::Conn::connect_socket(socket, self.to, ANSWER_TIMEOUT).await.ok()
    }

    async fn idle(&mut self, m: &mut Self::Conn) {
        let t2 = Duration::from_secs(crate::runtime::iec104::apci::defaults::T2_S);
        let _ = m.idle(t2).await;
    }

    async fn exchange(&mut self, m: &mut Self::Conn, group: &[RoutineRequest]) -> bool {
        use crate::runtime::iec104::asdu;
        let mut ok = true;
        for r in group {
            let Some(NativeRequest::Iec104 { type_id, ioa, value }) = r.native else { continue };
            let done = match type_id {
                icsdrill_engine::scenario::iec104::types::C_IC_NA_1 => m.interrogate(self.ca).await.map(drop),
                t => m.confirm(&asdu::command(t, self.ca, ioa, value.unwrap_or(0.0), false)).await.map(drop),
            };
            ok &= done.is_ok();
        }
        ok
    }
}

/// OPC UA to the PLC's server: writes (a MES's set-point changes), each awaited in turn.
struct Server {
    to: SocketAddr,
    /// The PLC's coils (Boolean variables).
    bits: Vec<String>,
}

impl Protocol for Server {
    type Conn = crate::runtime::opcua::client::UaClient;

    async fn open(&mut self, socket: TcpSocket) -> Option<Self::Conn> {
        let connecting = Self::Conn::connect_socket(socket, self.to);
        tokio::time::timeout(ANSWER_TIMEOUT, connecting).await.ok()?.ok()
    }

    async fn exchange(&mut self, c: &mut Self::Conn, group: &[RoutineRequest]) -> bool {
        let mut ok = true;
        for r in group {
            let Some(NativeRequest::OpcUa { node, value: Some(v), .. }) = &r.native else { continue };
            let bit = self.bits.iter().any(|b| **b == **node);
            let value = if bit { Variant::Boolean(*v != 0.0) } else { Variant::Double(*v) };
            ok &= matches!(tokio::time::timeout(ANSWER_TIMEOUT, c.write(node, value)).await, Ok(Ok(_)));
        }
        ok
    }
}

/// One host's connection to one PLC (its Modbus endpoint, its IEC 104 station or its OPC UA
/// server), reconnecting after a failure.
async fn lane(
    rx: mpsc::Receiver<Vec<RoutineRequest>>,
    wire: Arc<Wire>,
    source: IpAddr,
    (plc, kind): (PlcIdx, Kind),
    stop: watch::Receiver<bool>,
) {
    if kind == Kind::OpcUa {
        if let Some(to) = wire.servers.get(plc.ix()).copied().flatten() {
            let bits = wire.bits.get(plc.ix()).cloned().unwrap_or_default();
            drive(rx, &wire, source, stop, Server { to, bits }).await;
        }
    } else if kind == Kind::Modbus {
        let client = Client {
            unit: wire.units[plc.ix()],
            transaction: 0,
            out: Vec::new(),
            buf: vec![0; ANSWER_BUFFER],
        };
        let modbus = Modbus { client, to: wire.endpoints[plc.ix()] };
        drive(rx, &wire, source, stop, modbus).await;
    } else if let Some((to, ca)) = wire.stations.get(plc.ix()).copied().flatten() {
        drive(rx, &wire, source, stop, Station { to, ca }).await;
    }
}

/// A lane's life: each group of requests sent on its connection (opened from `source` when
/// there is none, its address registered with the endpoints first), the connection dropped
/// when an exchange fails, until the channel closes or `stop`.
async fn drive<P: Protocol>(
    mut rx: mpsc::Receiver<Vec<RoutineRequest>>,
    wire: &Wire,
    source: IpAddr,
    mut stop: watch::Receiver<bool>,
    mut protocol: P,
) {
    let mut conn: Option<(P::Conn, SocketAddr)> = None;
    loop {
        // Waiting for the next group, an open connection is kept as its protocol wants (an
        // IEC 104 station's spontaneous frames acknowledged within t2, its test frames
        // answered); a connection that fails meanwhile is dropped.
        let idle = async {
            match &mut conn {
                Some((c, _)) => protocol.idle(c).await,
                None => std::future::pending().await,
            }
        };
        let group = tokio::select! {
            g = rx.recv() => Some(g),
            _ = stop.wait_for(|s| *s) => Some(None),
            () = idle => None,
        };
        let group = match group {
            Some(g) => g,
            None => {
                if let Some((_, local)) = conn.take() {
                    wire.peers.set(local, false);
                }
                continue;
            }
        };
        let Some(group) = group else { break };
        if conn.is_none() {
            conn = connect(wire, source, &mut protocol).await;
        }
        let Some((c, local)) = &mut conn else { continue };
        if !protocol.exchange(c, &group).await {
            wire.peers.set(*local, false);
            conn = None;
        }
    }
    if let Some((_, local)) = conn {
        wire.peers.set(local, false);
    }
}

/// A socket bound to `source` (any port).
pub(crate) fn bound(source: IpAddr) -> Option<TcpSocket> {
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    }
    .ok()?;
    socket.bind(SocketAddr::new(source, 0)).ok()?;
    Some(socket)
}

/// Opens a connection from `source`, its address registered before the endpoint sees it.
async fn connect<P: Protocol>(
    wire: &Wire,
    source: IpAddr,
    protocol: &mut P,
) -> Option<(P::Conn, SocketAddr)> {
    let socket = bound(source)?;
    let local = socket.local_addr().ok()?;
    wire.peers.set(local, true);
    let opened = protocol.open(socket).await;
    if opened.is_none() {
        wire.peers.set(local, false);
    }
    Some((opened?, local))
}

/// A minimal pipelining Modbus/TCP client: the range's own, since it only needs to send what
/// the simulation already decided and count the answers (an exception is an answer; the
/// endpoint's framing is checked by the tests of the endpoint).
struct Client {
    unit: u8,
    transaction: u16,
    out: Vec<u8>,
    buf: Vec<u8>,
}

impl Client {
    /// Sends `group` in one write and reads until every request has its answer.
    async fn exchange(&mut self, stream: &mut TcpStream, group: &[RoutineRequest]) -> std::io::Result<()> {
        self.out.clear();
        for r in group {
            self.transaction = self.transaction.wrapping_add(1);
            let header = Header { transaction: self.transaction, unit: self.unit };
            write_request(
                &mut self.out,
                header,
                r.function,
                r.addr,
                r.count,
                r.values.as_deref().unwrap_or_default(),
            );
        }
        stream.write_all(&self.out).await?;
        let (mut filled, mut answers) = (0, 0);
        while answers < group.len() {
            if filled == self.buf.len() {
                return Err(std::io::Error::other("an answer larger than any Modbus frame"));
            }
            let n = stream.read(&mut self.buf[filled..]).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            filled += n;
            let mut start = 0;
            while let Some(len) =
                self.buf.get(start + 4..start + 6).map(|l| 6 + usize::from(u16::from_be_bytes([l[0], l[1]])))
                && filled - start >= len
            {
                start += len;
                answers += 1;
            }
            self.buf.copy_within(start..filled, 0);
            filled -= start;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A routine address let go is still routine (a connection its client gave up on may be
    /// accepted later), with no slot kept for it; the last `ROUTINE_GONE_KEPT` are, no more.
    /// The attacker's addresses are never routine.
    #[test]
    fn a_routine_address_let_go_stays_routine_for_a_while() {
        let own = Arc::new(OwnClients::default());
        let a: SocketAddr = "127.0.0.101:40000".parse().unwrap();
        own.set(a, true);
        assert!(own.contains(&a) && own.is_own(&a));
        own.set(a, false);
        assert!(own.contains(&a), "accepted after its client gave up: still routine");
        assert!(!own.is_own(&a), "no slot kept for it");
        for port in 0..ROUTINE_GONE_KEPT as u16 {
            let p = SocketAddr::new(a.ip(), 50000 + port);
            own.set(p, true);
            own.set(p, false);
        }
        assert!(!own.contains(&a), "the oldest is forgotten");
        assert_eq!(own.own().gone.len(), ROUTINE_GONE_KEPT);
        let b: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        let guard = own.register(b);
        assert!(own.is_own(&b) && !own.contains(&b));
        drop(guard);
        assert!(!own.is_own(&b) && !own.contains(&b));
    }
}
