//! The OPC UA part of a capture: every `opcua_transaction` of the window as a client and a
//! PLC's server exchanged it in security mode None, on one TCP connection per host and server
//! opened with a handshake, Hello/Acknowledge and OpenSecureChannel. Reads carry the values of
//! that tick; writes their value and the status answered; subscriptions the monitored item's
//! creation, after the connection's one CreateSubscription. (A signed and encrypted channel
//! would show only its headers, as in Wireshark.)

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use icsdrill_engine::scenario::opcua::services;
use icsdrill_engine::scenario::{HostIdx, PlcIdx};
use icsdrill_engine::{EventKind, Scenario, Sim, Snapshot};
use opcua::types::{
    ActivateSessionRequest, ActivateSessionResponse, AnonymousIdentityToken, AttributeId, BinaryEncodable,
    ByteString, ChannelSecurityToken, ContextOwned, CreateMonitoredItemsRequest,
    CreateMonitoredItemsResponse, CreateSessionRequest, CreateSessionResponse, CreateSubscriptionRequest,
    CreateSubscriptionResponse, DataValue, DateTime, ExtensionObject, MessageInfo, MessageSecurityMode,
    MonitoredItemCreateRequest, MonitoredItemCreateResult, MonitoringMode, MonitoringParameters, NodeId,
    OpenSecureChannelRequest, OpenSecureChannelResponse, ReadRequest, ReadResponse, ReadValueId,
    RequestHeader, ResponseHeader, SecurityTokenRequestType, StatusCode, TimestampsToReturn, Variant,
    WriteRequest, WriteResponse, WriteValue,
};

use super::{Logged, tcp};
use crate::runtime::opcua::nodes::{status_of, variant};
use crate::runtime::placement::Placement;
use icsdrill_engine::OpcUaTransaction;

/// The index of the PLC's namespace on its server (after the standard's and the server's own).
const NS: u16 = 2;
/// The buffer sizes and limits both sides announce (the server's: `proxy::MAX_CHUNK`).
const BUFFER: u32 = 65_536;

/// A connection between a host and a server: TCP sequence numbers and the secure channel's.
pub(super) struct Flow {
    port: u16,
    client_seq: u32,
    server_seq: u32,
    channel: u32,
    /// The next message sequence number (both sides count their own; one counter keeps them
    /// unique and increasing).
    sequence: u32,
    request: u32,
    /// Whether the client created its subscription (id 1) on this connection.
    subscribed: bool,
}

/// The OPC UA requests the log recorded since event `seen`.
pub(super) fn logged<'a>(s: &Scenario, sim: &'a Sim, seen: u64) -> Vec<Logged<'a, OpcUaTransaction>> {
    super::logged_of(
        s,
        sim,
        seen,
        |p| p.opcua.is_some(),
        |kind| match kind {
            EventKind::OpcUaTransaction(t) => Some((t, t.plc.as_str(), t.source.as_str())),
            _ => None,
        },
    )
}

/// The frames of one exchange at `unix_ms`: a handshake, Hello and OpenSecureChannel if its
/// connection is new, the request, the server's answer.
pub(super) fn frames(
    (s, placement): (&Scenario, &Placement),
    snap: &Snapshot,
    flows: &mut BTreeMap<(HostIdx, PlcIdx), Flow>,
    x: &Logged<'_, OpcUaTransaction>,
    unix_ms: i64,
) -> Vec<Vec<u8>> {
    let Some(Some(server)) = placement.servers.get(x.plc.ix()) else { return Vec::new() };
    if x.service == services::CONNECTION && x.reason.is_some() {
        return x.refused(placement, *server);
    }
    let (client, port) = x.client(placement, (30_000, 10_000));
    let time = DateTime::from((unix_ms + 11_644_473_600_000) * 10_000);
    let mut out = Vec::new();
    let channel = 1 + x.host.0 * 1_000 + x.plc.0;
    let flow = flows
        .entry((x.host, x.plc))
        .or_insert_with(|| open(client, *server, (port, channel), time, &mut out));
    let plc = &s.plcs[x.plc.ix()];
    // A request on several variables names none in the log: the capture has it on them all.
    let ids: Vec<NodeId> = if x.node.is_empty() {
        plc.nodes().into_iter().map(|(id, _)| NodeId::new(NS, id)).collect()
    } else {
        vec![NodeId::new(NS, x.node.as_str())]
    };
    if x.service == services::SUBSCRIBE && !flow.subscribed {
        // Monitored items belong to a subscription: the client creates it first, once.
        flow.request += 1;
        let pair = subscription(time, flow.request, flow.channel);
        exchange(&mut out, (client, *server), flow, pair);
        flow.subscribed = true;
    }
    flow.request += 1;
    let Some((request, answer)) = messages(plc, snap, x, &ids, (time, flow.request, flow.channel)) else {
        return out;
    };
    exchange(&mut out, (client, *server), flow, [request, answer]);
    out
}

/// A request and its answer on the secure channel (MSG chunks, token 1).
fn exchange(out: &mut Vec<Vec<u8>>, ends: (Ipv4Addr, SocketAddrV4), flow: &mut Flow, messages: [Vec<u8>; 2]) {
    for (payload, from_client) in messages.into_iter().zip([true, false]) {
        flow.sequence += 1;
        let chunk = chunk(b"MSG", &[&flow.channel.to_le_bytes(), &1u32.to_le_bytes()], flow, &payload);
        push(out, ends, flow, from_client, &chunk);
    }
}

/// The request and the server's answer of one exchange, encoded (`None` for the connection).
fn messages(
    plc: &icsdrill_engine::scenario::PlcDef,
    snap: &Snapshot,
    x: &Logged<'_, OpcUaTransaction>,
    ids: &[NodeId],
    (time, handle, channel): (DateTime, u32, u32),
) -> Option<(Vec<u8>, Vec<u8>)> {
    let status = x.reason.map_or(StatusCode::Good, status_of);
    Some(match x.service {
        services::CONNECTION => return None,
        services::WRITE => {
            let value = match (plc.point_by_id(&x.node), x.value) {
                (Some(n), Some(v)) if n.bit() => Variant::Boolean(v != 0.0),
                (_, Some(v)) => Variant::Double(v),
                (_, None) => Variant::String("?".into()),
            };
            let nodes_to_write = ids
                .iter()
                .map(|id| WriteValue {
                    node_id: id.clone(),
                    attribute_id: AttributeId::Value as u32,
                    value: DataValue::value_only(value.clone()),
                    ..Default::default()
                })
                .collect();
            let req = WriteRequest {
                request_header: session_header(time, handle, channel),
                nodes_to_write: Some(nodes_to_write),
            };
            let res = WriteResponse {
                response_header: response_header(time, handle),
                results: Some(vec![status; ids.len()]),
                diagnostic_infos: None,
            };
            (body(&req), body(&res))
        }
        services::SUBSCRIBE => {
            let items = ids
                .iter()
                .enumerate()
                .map(|(i, id)| MonitoredItemCreateRequest {
                    item_to_monitor: read_value_id(id),
                    monitoring_mode: MonitoringMode::Reporting,
                    requested_parameters: MonitoringParameters {
                        client_handle: i as u32 + 1,
                        sampling_interval: 100.0,
                        queue_size: 1,
                        discard_oldest: true,
                        ..Default::default()
                    },
                })
                .collect();
            let req = CreateMonitoredItemsRequest {
                request_header: session_header(time, handle, channel),
                subscription_id: 1,
                timestamps_to_return: TimestampsToReturn::Both,
                items_to_create: Some(items),
            };
            let results = (0..ids.len())
                .map(|i| MonitoredItemCreateResult {
                    status_code: status,
                    monitored_item_id: i as u32 + 1,
                    revised_sampling_interval: 100.0,
                    revised_queue_size: 1,
                    ..Default::default()
                })
                .collect();
            let res = CreateMonitoredItemsResponse {
                response_header: response_header(time, handle),
                results: Some(results),
                diagnostic_infos: None,
            };
            (body(&req), body(&res))
        }
        _ => {
            let req = ReadRequest {
                request_header: session_header(time, handle, channel),
                max_age: 0.0,
                timestamps_to_return: TimestampsToReturn::Neither,
                nodes_to_read: Some(ids.iter().map(read_value_id).collect()),
            };
            let results = ids
                .iter()
                .map(|id| match (x.reason, point_of(id).and_then(|p| plc.point_by_id(p))) {
                    (None, Some(n)) => DataValue::value_only(variant(plc, &snap.plcs[x.plc.ix()].memory, n)),
                    _ => DataValue { status: Some(status), ..Default::default() },
                })
                .collect();
            let res = ReadResponse {
                response_header: response_header(time, handle),
                results: Some(results),
                diagnostic_infos: None,
            };
            (body(&req), body(&res))
        }
    })
}

/// CreateSubscription and its answer: subscription 1, publishing every 100 ms as asked.
fn subscription(time: DateTime, handle: u32, channel: u32) -> [Vec<u8>; 2] {
    let req = CreateSubscriptionRequest {
        request_header: session_header(time, handle, channel),
        requested_publishing_interval: 100.0,
        requested_lifetime_count: 60,
        requested_max_keep_alive_count: 20,
        max_notifications_per_publish: 0,
        publishing_enabled: true,
        priority: 0,
    };
    let res = CreateSubscriptionResponse {
        response_header: response_header(time, handle),
        subscription_id: 1,
        revised_publishing_interval: 100.0,
        revised_lifetime_count: 60,
        revised_max_keep_alive_count: 20,
    };
    [body(&req), body(&res)]
}

/// A new connection: the TCP handshake, Hello and Acknowledge, OpenSecureChannel (None).
fn open(
    client: Ipv4Addr,
    server: SocketAddrV4,
    (port, channel): (u16, u32),
    time: DateTime,
    out: &mut Vec<Vec<u8>>,
) -> Flow {
    let isn = u32::from(port).wrapping_mul(2_654_435_761) ^ u32::from(client);
    let (c, sv) = super::handshake(client, server, port, (isn, isn.rotate_left(13)), out);
    let mut flow =
        Flow { port, client_seq: c, server_seq: sv, channel, sequence: 0, request: 0, subscribed: false };
    let limits = [0u32, BUFFER, BUFFER, BUFFER * 4, 4];
    let limits: Vec<u8> = limits.iter().flat_map(|v| v.to_le_bytes()).collect();
    let url = format!("opc.tcp://{server}/");
    let hello = [limits.as_slice(), &(url.len() as i32).to_le_bytes(), url.as_bytes()].concat();
    push(out, (client, server), &mut flow, true, &frame(b"HEL", &hello));
    push(out, (client, server), &mut flow, false, &frame(b"ACK", &limits));
    // The asymmetric security header of policy None: its URI, no certificate, no thumbprint.
    let policy = "http://opcfoundation.org/UA/SecurityPolicy#None";
    let asymmetric = [
        &(policy.len() as i32).to_le_bytes()[..],
        policy.as_bytes(),
        &(-1i32).to_le_bytes(),
        &(-1i32).to_le_bytes(),
    ]
    .concat();
    flow.request += 1;
    let req = OpenSecureChannelRequest {
        request_header: request_header(time, flow.request),
        client_protocol_version: 0,
        request_type: SecurityTokenRequestType::Issue,
        security_mode: MessageSecurityMode::None,
        client_nonce: ByteString::null(),
        requested_lifetime: 3_600_000,
    };
    let res = OpenSecureChannelResponse {
        response_header: response_header(time, flow.request),
        server_protocol_version: 0,
        security_token: ChannelSecurityToken {
            channel_id: channel,
            token_id: 1,
            created_at: time,
            revised_lifetime: 3_600_000,
        },
        server_nonce: ByteString::null(),
    };
    for (payload, from_client, id) in [(body(&req), true, 0u32), (body(&res), false, channel)] {
        flow.sequence += 1;
        let c = chunk(b"OPN", &[&id.to_le_bytes(), &asymmetric], &flow, &payload);
        push(out, (client, server), &mut flow, from_client, &c);
    }
    // The session every service request names: created, then activated anonymously.
    flow.request += 1;
    let create = CreateSessionRequest {
        request_header: request_header(time, flow.request),
        endpoint_url: url.as_str().into(),
        session_name: "icsdrill".into(),
        requested_session_timeout: 60_000.0,
        max_response_message_size: BUFFER * 4,
        ..Default::default()
    };
    let created = CreateSessionResponse {
        response_header: response_header(time, flow.request),
        session_id: NodeId::new(1, channel),
        authentication_token: session_token(channel),
        revised_session_timeout: 60_000.0,
        max_request_message_size: BUFFER * 4,
        ..Default::default()
    };
    exchange(out, (client, server), &mut flow, [body(&create), body(&created)]);
    flow.request += 1;
    let activate = ActivateSessionRequest {
        request_header: session_header(time, flow.request, channel),
        user_identity_token: ExtensionObject::from_message(AnonymousIdentityToken {
            policy_id: "anonymous".into(),
        }),
        ..Default::default()
    };
    let activated = ActivateSessionResponse {
        response_header: response_header(time, flow.request),
        ..Default::default()
    };
    exchange(out, (client, server), &mut flow, [body(&activate), body(&activated)]);
    flow
}

/// The authentication token of the session on channel `channel` (one session a connection).
fn session_token(channel: u32) -> NodeId {
    NodeId::new(0, ByteString::from(channel.to_be_bytes().repeat(4)))
}

/// One TCP segment of `payload` in the flow, either way, the sequence numbers advanced.
fn push(
    out: &mut Vec<Vec<u8>>,
    (client, server): (Ipv4Addr, SocketAddrV4),
    flow: &mut Flow,
    from_client: bool,
    payload: &[u8],
) {
    let (sv_ip, sport) = (*server.ip(), server.port());
    if from_client {
        out.push(tcp(
            client,
            sv_ip,
            flow.port,
            sport,
            flow.client_seq,
            Some(flow.server_seq),
            false,
            payload,
        ));
        flow.client_seq = flow.client_seq.wrapping_add(payload.len() as u32);
    } else {
        out.push(tcp(
            sv_ip,
            client,
            sport,
            flow.port,
            flow.server_seq,
            Some(flow.client_seq),
            false,
            payload,
        ));
        flow.server_seq = flow.server_seq.wrapping_add(payload.len() as u32);
    }
}

/// A Hello or Acknowledge: the type, a final chunk, the size, the body.
fn frame(kind: &[u8; 3], body: &[u8]) -> Vec<u8> {
    let size = (8 + body.len()) as u32;
    [&kind[..], b"F", &size.to_le_bytes(), body].concat()
}

/// A secure conversation chunk: the header (type, final, size), `headers` (the channel id and
/// the security header), the sequence header (sequence number, request id), the message.
fn chunk(kind: &[u8; 3], headers: &[&[u8]], flow: &Flow, message: &[u8]) -> Vec<u8> {
    let mut rest: Vec<u8> = headers.concat();
    rest.extend_from_slice(&flow.sequence.to_le_bytes());
    rest.extend_from_slice(&flow.request.to_le_bytes());
    rest.extend_from_slice(message);
    frame(kind, &rest)
}

/// A service message as it travels: the node id of its binary encoding, then the message.
fn body<T: BinaryEncodable + MessageInfo>(message: &T) -> Vec<u8> {
    let owned = ContextOwned::default();
    let ctx = owned.context();
    let mut out = NodeId::from(message.type_id()).encode_to_vec(&ctx);
    out.extend(message.encode_to_vec(&ctx));
    out
}

/// A service request's header on the session of channel `channel`.
fn session_header(time: DateTime, handle: u32, channel: u32) -> RequestHeader {
    RequestHeader { authentication_token: session_token(channel), ..request_header(time, handle) }
}

fn request_header(timestamp: DateTime, handle: u32) -> RequestHeader {
    RequestHeader { timestamp, request_handle: handle, timeout_hint: 10_000, ..Default::default() }
}

fn response_header(timestamp: DateTime, handle: u32) -> ResponseHeader {
    ResponseHeader { timestamp, request_handle: handle, ..ResponseHeader::null() }
}

fn read_value_id(id: &NodeId) -> ReadValueId {
    ReadValueId { node_id: id.clone(), attribute_id: AttributeId::Value as u32, ..Default::default() }
}

/// The point id of one of the PLC's nodes.
fn point_of(id: &NodeId) -> Option<&str> {
    match &id.identifier {
        opcua::types::Identifier::String(s) => s.value().as_deref(),
        _ => None,
    }
}
