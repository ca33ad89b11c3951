//! Routine traffic on the wire: the operator stations', historians' and engineering
//! workstations' requests the simulation schedules each tick (`RoutinePlan::due`), sent as
//! real Modbus TCP from each host's own loopback address, so trainees capturing on the
//! loopback interface find the attacker inside ordinary traffic, as on a real control network.
//!
//! The simulation already counts these requests in the log (`routine_traffic`); the endpoints
//! know the routine clients by their socket address (`RoutinePeers`) and do not record them a
//! second time. One connection per host and PLC, each its own task with a short queue: a PLC
//! that stops answering delays only its own polls, and a lagging lane drops polls rather than
//! queueing them.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use icsdrill_engine::scenario::{HostIdx, PlcIdx};
use icsdrill_engine::systems::routine::RoutineRequest;
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, watch};
use tokio_modbus::client::{Context, Reader};
use tokio_modbus::prelude::*;

/// The loopback address a host sends its routine traffic from in the network starting at
/// `base`: `.200 + host index`, for the first 55 hosts (`None` beyond).
pub fn host_address(base: std::net::Ipv4Addr, host: HostIdx) -> Option<std::net::Ipv4Addr> {
    let last = u32::try_from(200 + host.ix()).ok().filter(|l| *l <= 254)?;
    Some(std::net::Ipv4Addr::from(u32::from(base) + last))
}

/// Batches (one per tick) waiting for the sender.
pub const ROUTINE_QUEUE: usize = 64;
/// Requests waiting on one host-PLC lane.
const LANE_QUEUE: usize = 8;
/// How long a routine request waits for its answer before the connection is dropped.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(1500);

/// Socket addresses of the routine clients now connected: the endpoints leave their requests
/// out of the log (the simulation counted them).
#[derive(Debug, Default)]
pub struct RoutinePeers(Mutex<HashSet<SocketAddr>>);

impl RoutinePeers {
    /// Whether `peer` is a routine client.
    pub fn contains(&self, peer: &SocketAddr) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).contains(peer)
    }

    fn set(&self, peer: SocketAddr, on: bool) {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if on {
            set.insert(peer);
        } else {
            set.remove(&peer);
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
    /// Source address of each host that makes routine traffic.
    pub hosts: BTreeMap<HostIdx, IpAddr>,
    /// The routine clients' socket addresses, shared with the endpoints.
    pub peers: Arc<RoutinePeers>,
    /// Requests skipped because their lane was still busy (a PLC not answering).
    pub skipped: std::sync::atomic::AtomicU64,
}

/// Sends each tick's batch until `stop`.
pub async fn run(
    mut rx: mpsc::Receiver<Vec<RoutineRequest>>,
    wire: Arc<Wire>,
    mut stop: watch::Receiver<bool>,
) {
    let mut lanes: BTreeMap<(HostIdx, PlcIdx), mpsc::Sender<RoutineRequest>> = BTreeMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let batch = tokio::select! {
            batch = rx.recv() => batch,
            _ = stop.wait_for(|s| *s) => None,
        };
        let Some(batch) = batch else { break };
        for r in batch {
            let Some(source) = wire.hosts.get(&r.host).copied() else { continue };
            let lane = lanes.entry((r.host, r.plc)).or_insert_with(|| {
                let (tx, rx) = mpsc::channel(LANE_QUEUE);
                tasks.spawn(lane(rx, wire.clone(), source, r.plc, stop.clone()));
                tx
            });
            // A lane still busy with older polls skips this one, as a real HMI's driver does.
            if lane.try_send(r).is_err() {
                wire.skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    drop(lanes);
    while tasks.join_next().await.is_some() {}
}

/// One host's connection to one PLC: sends its requests in turn, reconnecting after a failure.
async fn lane(
    mut rx: mpsc::Receiver<RoutineRequest>,
    wire: Arc<Wire>,
    source: IpAddr,
    plc: PlcIdx,
    mut stop: watch::Receiver<bool>,
) {
    let mut conn: Option<(Context, SocketAddr)> = None;
    loop {
        let r = tokio::select! {
            r = rx.recv() => r,
            _ = stop.wait_for(|s| *s) => None,
        };
        let Some(r) = r else { break };
        if conn.is_none() {
            conn = connect(&wire, source, plc).await;
        }
        let Some((ctx, local)) = &mut conn else { continue };
        let answered = tokio::time::timeout(ANSWER_TIMEOUT, ask(ctx, &r)).await;
        if !matches!(answered, Ok(Ok(()))) {
            wire.peers.set(*local, false);
            conn = None;
        }
    }
    if let Some((_, local)) = conn {
        wire.peers.set(local, false);
    }
}

/// Opens a connection from `source`, its address registered before the endpoint sees it.
async fn connect(wire: &Wire, source: IpAddr, plc: PlcIdx) -> Option<(Context, SocketAddr)> {
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    }
    .ok()?;
    socket.bind(SocketAddr::new(source, 0)).ok()?;
    let local = socket.local_addr().ok()?;
    wire.peers.set(local, true);
    match tokio::time::timeout(ANSWER_TIMEOUT, socket.connect(wire.endpoints[plc.ix()])).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Some((tokio_modbus::client::tcp::attach_slave(stream, Slave(wire.units[plc.ix()])), local))
        }
        _ => {
            wire.peers.set(local, false);
            None
        }
    }
}

/// One request; an exception answer is an answer (the connection stays), a dead connection is
/// an error.
async fn ask(ctx: &mut Context, r: &RoutineRequest) -> std::io::Result<()> {
    let io = |e: tokio_modbus::Error| std::io::Error::other(e.to_string());
    match r.function {
        1 => ctx.read_coils(r.addr, r.count).await.map_err(io).map(drop),
        2 => ctx.read_discrete_inputs(r.addr, r.count).await.map_err(io).map(drop),
        3 => ctx.read_holding_registers(r.addr, r.count).await.map_err(io).map(drop),
        4 => ctx.read_input_registers(r.addr, r.count).await.map_err(io).map(drop),
        _ => {
            // FC 43/14 basic device identification (tokio-modbus has no reader for it).
            let identify = Request::Custom(0x2B, std::borrow::Cow::Owned(vec![0x0E, 0x01, 0x00]));
            ctx.call(identify).await.map_err(io).map(drop)
        }
    }
}
