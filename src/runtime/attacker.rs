//! The live attacker: a real Modbus client (tokio-modbus) that carries out the attack's
//! Modbus actions from its own loopback address, so its traffic crosses the same endpoints,
//! firewall and transaction log the trainees see.
//!
//! The simulation decides what to do and when (`systems::attacker`, `AttackMode::Live`); this
//! task only does it and reports each result back as `SimInput::AttackResult`. Every request
//! goes to a loopback endpoint of this range, is bounded by `REQUEST_TIMEOUT`, and the task
//! ends with the range.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use icsdrill_engine::attack::Action;
use icsdrill_engine::scenario::{PlcIdx, Table};
use icsdrill_engine::systems::attacker::Intent;
use icsdrill_engine::{EventKind, RejectReason, SimInput};
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, watch};
use tokio_modbus::ExceptionCode;
use tokio_modbus::client::{Client, Context, Reader, Writer};
use tokio_modbus::prelude::{Request, Slave};

use crate::runtime::iec104;
use crate::runtime::live::Live;

/// Longest wait for a connection or an answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Ticks the range must also have run before an unanswered request counts as failed (see
/// `within_ticks`).
pub const REQUEST_TICKS: u64 = 10;

/// Where the attacker sends its traffic.
pub struct Target {
    /// Endpoint of each PLC, by `PlcIdx`.
    pub endpoints: Vec<SocketAddr>,
    /// Unit id of each PLC.
    pub units: Vec<u8>,
    /// IEC 104 station of each PLC that has one: address and common address.
    pub stations: Vec<Option<(SocketAddr, u16)>>,
    /// OPC UA server of each PLC that has one.
    pub servers: Vec<Option<SocketAddr>>,
    /// The coil ids of each PLC: the variables written as Booleans.
    pub bits: Vec<Vec<String>>,
    /// The attacker's own source address (loopback).
    pub source: IpAddr,
    /// Simulated seconds per wall second, to time floods in plant time.
    pub speed: f64,
    /// The attacker's connections now open, by their own address: the endpoints give those,
    /// and no other connection from the attacker's address, the slots kept for the range's own
    /// clients (a team binding that address would take them and lock its attacker out).
    pub peers: Arc<crate::runtime::routine::OwnClients>,
}

/// A Modbus connection of the attacker's, its address registered with the endpoints while it
/// is open.
struct Conn {
    ctx: Context,
    _own: crate::runtime::routine::Registered,
}

impl std::ops::Deref for Conn {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Context {
        &mut self.ctx
    }
}

/// A socket bound to the attacker's address, registered with the endpoints before it connects.
fn own_socket(target: &Target) -> Result<(TcpSocket, crate::runtime::routine::Registered), RejectReason> {
    let socket = crate::runtime::routine::bound(target.source).ok_or(RejectReason::NoRoute)?;
    let local = socket.local_addr().map_err(|_| RejectReason::NoRoute)?;
    Ok((socket, target.peers.register(local)))
}

/// Connections a flood opens (more than an endpoint's default cap, so others are locked out).
pub const FLOOD_CONNECTIONS: usize = 48;
/// Longest a flood runs, in wall seconds, whatever the step asks.
pub const FLOOD_MAX: Duration = Duration::from_secs(30);

/// Carries out intents until the channel closes or `shutdown` turns true.
pub async fn run(
    mut intents: mpsc::Receiver<Intent>,
    live: Arc<Live>,
    target: Target,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut floods = tokio::task::JoinSet::new();
    loop {
        let intent = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            intent = intents.recv() => match intent {
                Some(i) => i,
                None => return,
            },
        };
        // Floods that ended are let go; the rest end with the range (the set is dropped).
        while floods.try_join_next().is_some() {}
        let result = execute((&target, &live), &intent.action, &mut floods)
            .await
            .map_err(|r| explained(&live, &intent.action, r));
        tracing::debug!(step = %intent.step, attempt = intent.attempt, ?result, "attack attempt");
        live.record(SimInput::AttackResult {
            step: intent.step,
            attempt: intent.attempt,
            ok: result.is_ok(),
            reason: result.err(),
        });
    }
}

/// Why a request the wire gave no answer to failed (`NoRoute`: the connection was refused or
/// nothing came back), as the range knows it: the PLC silent (flooded, restarting), in
/// listen-only mode, or the attacker's host cut off on the way. The attacker on the wire
/// cannot tell these apart; the record (and the report's timeline) should, rather than name
/// every one a missing network path.
fn explained(live: &Live, action: &Action, reason: RejectReason) -> RejectReason {
    let (RejectReason::NoRoute, Some(plc)) = (reason, action.plc()) else { return reason };
    let snap = live.snapshot();
    let view = &snap.plcs[plc.ix()];
    if let Some(silent) = view.silence() {
        return silent;
    }
    if view.listen_only {
        return RejectReason::ListenOnly;
    }
    let Some(host) = snap.attacker_host else { return RejectReason::NoRoute };
    if let Err(cut) = icsdrill_engine::network::check_connect(&live.scenario, &snap.net, host, plc) {
        return cut;
    }
    // The endpoint refused the connection itself (its slots taken: a flood): the log says so.
    let (plc_id, host_id) = (&live.scenario.plcs[plc.ix()].id, &live.scenario.hosts[host.ix()].id);
    let since = snap.tick.saturating_sub(u64::from(live.scenario.tick_hz) * EXPLAIN_S);
    let recent = live.events_since(snap.events.saturating_sub(EXPLAIN_WINDOW), EXPLAIN_WINDOW as usize, |e| {
        e.tick >= since
            && matches!(&e.kind, EventKind::ModbusConnection { plc, source, refused: Some(_) } if plc == plc_id && source == host_id)
    });
    match recent.last().map(|e| &e.kind) {
        Some(EventKind::ModbusConnection { refused: Some(r), .. }) => *r,
        _ => RejectReason::NoRoute,
    }
}

/// How many of the latest events `explained` looks through for the endpoint's refusal, and
/// how many simulated seconds back.
const EXPLAIN_WINDOW: u64 = 512;
const EXPLAIN_S: u64 = 30;

/// Opens a Modbus connection to a PLC from the attacker's address.
async fn connect(target: &Target, plc: PlcIdx) -> Result<Conn, RejectReason> {
    let (socket, own) = own_socket(target)?;
    let stream = tokio::time::timeout(REQUEST_TIMEOUT, socket.connect(target.endpoints[plc.ix()]))
        .await
        .map_err(|_| RejectReason::NoRoute)?
        .map_err(|_| RejectReason::NoRoute)?;
    Ok(Conn {
        ctx: tokio_modbus::client::tcp::attach_slave(stream, Slave(target.units[plc.ix()])),
        _own: own,
    })
}

/// An IEC 104 interrogation or command through the PLC's station, as a master sends it.
async fn iec104((target, live): (&Target, &Live), action: &Action) -> Result<(), RejectReason> {
    match action {
        Action::Iec104Interrogation { plc } => {
            let (mut m, ca, _own) = station(target, *plc).await?;
            let result = match within_ticks(live, m.interrogate(ca)).await {
                Some(Ok(Some(_))) => Ok(()),
                Some(Ok(None)) => Err(RejectReason::FunctionNotAllowed),
                Some(Err(_)) | None => Err(RejectReason::NoRoute),
            };
            m.set_limit(REQUEST_TIMEOUT);
            m.close().await;
            result
        }
        Action::Iec104Command { plc, type_id, ioa, value, select } => {
            let (mut m, ca, _own) = station(target, *plc).await?;
            let mut result = Ok(());
            let steps: &[bool] = if *select { &[true, false] } else { &[false] };
            for &sel in steps {
                let request = iec104::asdu::command(*type_id, ca, *ioa, *value, sel);
                result = match within_ticks(live, m.confirm(&request)).await {
                    Some(Ok(c)) if !c.negative => Ok(()),
                    Some(Ok(c)) => Err(refusal_of(c.cause)),
                    Some(Err(_)) | None => Err(RejectReason::NoRoute),
                };
                if result.is_err() {
                    break;
                }
            }
            m.set_limit(REQUEST_TIMEOUT);
            m.close().await;
            result
        }
        _ => Err(RejectReason::UnknownTarget),
    }
}

/// An OPC UA write through the PLC's server, from the attacker's address, in the variable's
/// own type (a Boolean for a bit, a Double for a register).
async fn opcua_write(
    (target, live): (&Target, &Live),
    plc: PlcIdx,
    node: &str,
    value: f64,
) -> Result<(), RejectReason> {
    use opcua::types::{StatusCode, Variant};
    let addr = target.servers.get(plc.ix()).copied().flatten().ok_or(RejectReason::UnknownTarget)?;
    let (socket, _own) = own_socket(target)?;
    let client = tokio::time::timeout(
        REQUEST_TIMEOUT,
        crate::runtime::opcua::client::UaClient::connect_socket_patient(socket, addr),
    )
    .await
    .map_err(|_| RejectReason::NoRoute)?
    .map_err(|_| RejectReason::NoRoute)?;
    let bit = target.bits.get(plc.ix()).is_some_and(|b| b.iter().any(|p| p == node));
    let variant = if bit { Variant::Boolean(value != 0.0) } else { Variant::Double(value) };
    let status = within_ticks(live, client.write(node, variant)).await;
    client.close().await;
    match status {
        Some(Ok(StatusCode::Good)) => Ok(()),
        Some(Ok(StatusCode::BadUserAccessDenied)) => Err(RejectReason::FunctionNotAllowed),
        Some(Ok(StatusCode::BadOutOfRange | StatusCode::BadTypeMismatch)) => {
            Err(RejectReason::ValueNotAllowed)
        }
        Some(Ok(StatusCode::BadNodeIdUnknown)) => Err(RejectReason::IllegalAddress),
        Some(Ok(_)) => Err(RejectReason::UnknownTarget),
        Some(Err(_)) | None => Err(RejectReason::NoRoute),
    }
}

/// Connects to a PLC's IEC 104 station from the attacker's address, data transfer started;
/// its answers wait as long as `within_ticks` lets them (set back before it closes).
async fn station(
    target: &Target,
    plc: PlcIdx,
) -> Result<(iec104::master::Master, u16, crate::runtime::routine::Registered), RejectReason> {
    let (addr, ca) = target.stations.get(plc.ix()).copied().flatten().ok_or(RejectReason::UnknownTarget)?;
    let (socket, own) = own_socket(target)?;
    let mut m = iec104::master::Master::connect_socket(socket, addr, REQUEST_TIMEOUT)
        .await
        .map_err(|_| RejectReason::NoRoute)?;
    m.set_limit(crate::runtime::opcua::client::PATIENT_TIMEOUT);
    Ok((m, ca, own))
}

/// What a negative IEC 104 confirmation tells the attacker.
fn refusal_of(cause: u8) -> RejectReason {
    match cause {
        iec104::asdu::cot::UNKNOWN_IOA => RejectReason::IllegalAddress,
        iec104::asdu::cot::UNKNOWN_TYPE => RejectReason::FunctionNotAllowed,
        iec104::asdu::cot::UNKNOWN_CA => RejectReason::UnknownTarget,
        _ => RejectReason::ValueNotAllowed,
    }
}

/// What an exception answer tells the attacker about why it failed.
fn reason_of(e: ExceptionCode) -> RejectReason {
    match e {
        ExceptionCode::IllegalFunction => RejectReason::FunctionNotAllowed,
        ExceptionCode::IllegalDataAddress => RejectReason::IllegalAddress,
        ExceptionCode::IllegalDataValue => RejectReason::ValueNotAllowed,
        _ => RejectReason::UnknownTarget,
    }
}

/// Waits for a request's answer (`None`: given up on). It is given up on only once the range
/// has run `REQUEST_TICKS` ticks since it was sent (or stopped) and `REQUEST_TIMEOUT` has
/// passed after that: a held clock (a pause, the briefing, a team held by its records) applies
/// no write yet, and one given up on then would still land when the clock ran again, in a log
/// that said the attack failed; and a clock run fast, or stepped, still leaves the answer its
/// time on the wire.
async fn within_ticks<T>(live: &Live, f: impl std::future::Future<Output = T>) -> Option<T> {
    let mut f = std::pin::pin!(f);
    let sent = live.snapshot().tick;
    tokio::select! {
        biased;
        v = &mut f => return Some(v),
        () = live.wait_for_tick(sent + REQUEST_TICKS) => {}
    }
    tokio::select! {
        biased;
        v = &mut f => Some(v),
        () = tokio::time::sleep(REQUEST_TIMEOUT) => None,
    }
}

/// Runs one Modbus request (`within_ticks`); a dropped or reset connection means the firewall
/// (or isolation) stopped it.
async fn ask<T>(
    live: &Live,
    f: impl std::future::Future<Output = tokio_modbus::Result<T>>,
) -> Result<T, RejectReason> {
    match within_ticks(live, f).await {
        Some(Ok(Ok(v))) => Ok(v),
        Some(Ok(Err(e))) => Err(reason_of(e)),
        Some(Err(_)) | None => Err(RejectReason::NoRoute),
    }
}

/// Like `ask`, for discovery: any answer the client could not parse still proves a device is
/// there and talking.
async fn answered<T>(
    f: impl std::future::Future<Output = tokio_modbus::Result<T>>,
) -> Result<(), RejectReason> {
    match tokio::time::timeout(REQUEST_TIMEOUT, f).await {
        Ok(Ok(Ok(_))) | Ok(Err(tokio_modbus::Error::Protocol(_))) => Ok(()),
        Ok(Err(tokio_modbus::Error::Transport(e))) if e.kind() == std::io::ErrorKind::InvalidData => Ok(()),
        Ok(Ok(Err(e))) => Err(reason_of(e)),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "discovery request failed");
            Err(RejectReason::NoRoute)
        }
        Err(_) => Err(RejectReason::NoRoute),
    }
}

/// Carries out one action; a flood's connections go on in `floods` after its result.
async fn execute(
    (target, live): (&Target, &Live),
    action: &Action,
    floods: &mut tokio::task::JoinSet<()>,
) -> Result<(), RejectReason> {
    match action {
        Action::Scan(plcs) => {
            let all: Vec<PlcIdx> = (0..target.endpoints.len()).map(|i| PlcIdx(i as u32)).collect();
            let plcs = if plcs.is_empty() { &all } else { plcs };
            let mut result = Err(RejectReason::NoRoute);
            for plc in plcs {
                let mut ctx = match connect(target, *plc).await {
                    Ok(ctx) => ctx,
                    Err(r) => {
                        if result.is_err() {
                            result = Err(r);
                        }
                        continue;
                    }
                };
                // FC 17, then FC 43/14 basic identification (tokio-modbus does not export its
                // read-code type, so the latter goes as a raw PDU).
                let identify = Request::Custom(0x2B, std::borrow::Cow::Owned(vec![0x0E, 0x01, 0x00]));
                for request in [Request::ReportServerId, identify] {
                    match answered(ctx.call(request)).await {
                        Ok(_) => result = Ok(()),
                        Err(r) if result.is_err() => result = Err(r),
                        Err(_) => {}
                    }
                }
                let _ = ctx.disconnect().await;
            }
            result
        }
        Action::Read { plc, table, addr, count } => {
            let mut ctx = connect(target, *plc).await?;
            let (a, n) = (*addr, *count);
            let result = match table {
                Table::Coils => ask(live, ctx.read_coils(a, n)).await.map(drop),
                Table::DiscreteInputs => ask(live, ctx.read_discrete_inputs(a, n)).await.map(drop),
                Table::HoldingRegisters => ask(live, ctx.read_holding_registers(a, n)).await.map(drop),
                Table::InputRegisters => ask(live, ctx.read_input_registers(a, n)).await.map(drop),
            };
            let _ = ctx.disconnect().await;
            result
        }
        Action::WriteRegisters { plc, addr, values } => {
            let mut ctx = connect(target, *plc).await?;
            let result = match values.as_slice() {
                [one] => ask(live, ctx.write_single_register(*addr, *one)).await,
                many => ask(live, ctx.write_multiple_registers(*addr, many)).await,
            };
            let _ = ctx.disconnect().await;
            result
        }
        Action::WriteCoils { plc, addr, values } => {
            let mut ctx = connect(target, *plc).await?;
            let result = match values.as_slice() {
                [one] => ask(live, ctx.write_single_coil(*addr, *one)).await,
                many => ask(live, ctx.write_multiple_coils(*addr, many)).await,
            };
            let _ = ctx.disconnect().await;
            result
        }
        Action::ListenOnly { plc } => {
            let mut ctx = connect(target, *plc).await?;
            // Force listen-only is never answered: silence until the timeout is success, a
            // refusal is an exception or a reset.
            let request = Request::Custom(8, std::borrow::Cow::Owned(vec![0x00, 0x04, 0x00, 0x00]));
            let result = match tokio::time::timeout(Duration::from_millis(500), ctx.call(request)).await {
                Err(_) => Ok(()),
                Ok(Ok(Ok(_))) => Ok(()),
                Ok(Ok(Err(e))) => Err(reason_of(e)),
                Ok(Err(_)) => Err(RejectReason::NoRoute),
            };
            let _ = ctx.disconnect().await;
            result
        }
        Action::Flood { plc, seconds } => {
            // The first connection shows whether the conduit lets the attacker in at all.
            let first = connect(target, *plc).await?;
            drop(first);
            let wall = Duration::from_secs_f64((seconds / target.speed.max(1e-3)).max(0.1)).min(FLOOD_MAX);
            let deadline = tokio::time::Instant::now() + wall;
            // The result goes back now: the engine saturates the PLC's communications from
            // this tick (`SimInput::Flood`), while the connections below put the flood on the
            // wire, where the endpoint's cap and the monitoring see it.
            for _ in 0..FLOOD_CONNECTIONS {
                let (source, endpoint, unit, peers) =
                    (target.source, target.endpoints[plc.ix()], target.units[plc.ix()], target.peers.clone());
                floods.spawn(async move {
                    let one = Target {
                        endpoints: vec![endpoint],
                        units: vec![unit],
                        stations: vec![],
                        servers: vec![],
                        bits: vec![],
                        source,
                        speed: 1.0,
                        peers,
                    };
                    let Ok(mut ctx) = connect(&one, PlcIdx(0)).await else { return };
                    while tokio::time::Instant::now() < deadline {
                        if !matches!(
                            tokio::time::timeout(REQUEST_TIMEOUT, ctx.read_holding_registers(0, 1)).await,
                            Ok(Ok(_))
                        ) {
                            break;
                        }
                    }
                    // Hold the slot until the end even if the requests stopped working.
                    tokio::time::sleep_until(deadline).await;
                });
            }
            Ok(())
        }
        Action::Iec104Interrogation { .. } | Action::Iec104Command { .. } => {
            iec104((target, live), action).await
        }
        Action::OpcUaWrite { plc, node, value } => opcua_write((target, live), *plc, node, *value).await,
        // The engine carries these out itself (see `AttackMode::Live`).
        Action::SetMode { .. }
        | Action::Restart { .. }
        | Action::Download { .. }
        | Action::Spoof { .. }
        | Action::ForgeSensor { .. }
        | Action::ModifyFirmware { .. }
        | Action::WipeHost(_)
        | Action::DenyView { .. }
        | Action::Pivot(_) => Err(RejectReason::UnknownTarget),
    }
}
