//! A minimal OPC UA client (anonymous, security mode None) on a PLC's points: what the live
//! attacker writes with (from its own address), the benchmark reads with and the tests use.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opcua::client::transport::{
    Connector, OutgoingMessage, SecureChannelState, StreamConnection, StreamConnector, TcpTransport,
    TransportConfiguration,
};
use opcua::client::{Client, ClientBuilder, ConnectionSource, IdentityToken, Session};
use opcua::core::comms::tcp_codec::TcpCodec;
use opcua::crypto::SecurityPolicy;
use opcua::types::{
    AttributeId, DataValue, DecodingOptions, EndpointDescription, Error, MessageSecurityMode, NodeId,
    ReadValueId, StatusCode, TimestampsToReturn, UserTokenPolicy, UserTokenType, Variant, WriteValue,
};
use tokio::net::TcpSocket;
use tokio_util::codec::FramedRead;

use super::nodes::NAMESPACE;

/// How long connecting, and each request, may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long each request of a session opened by `connect_from` may take: the live attacker's
/// write waits out a held clock (its own bound gives up on it once the clock has run).
pub const PATIENT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The anonymous token's policy id on the range's servers.
const ANONYMOUS_POLICY: &str = "anonymous";

/// A session with one PLC's server.
pub struct UaClient {
    session: Arc<Session>,
    /// The index of the PLC's namespace on that server.
    pub ns: u16,
    event_loop: tokio::task::JoinHandle<StatusCode>,
}

impl UaClient {
    /// Opens a session with the server listening at `addr`, as a client that knows only its
    /// URL does: it asks for the server's endpoints first (GetEndpoints, one connection).
    pub async fn connect(addr: SocketAddr) -> Result<UaClient, String> {
        let mut client = client(TIMEOUT)?;
        let url = format!("opc.tcp://{addr}/");
        let endpoint = (url.as_str(), SecurityPolicy::None.to_str(), MessageSecurityMode::None);
        let connecting = client.connect_to_matching_endpoint(endpoint, IdentityToken::Anonymous);
        let (session, event_loop) = tokio::time::timeout(TIMEOUT, connecting)
            .await
            .map_err(|_| format!("{addr} does not answer"))?
            .map_err(|e| e.to_string())?;
        UaClient::started(addr, session, event_loop.spawn()).await
    }

    /// Opens a session with the server at `addr` from local address `from` (the attacker's
    /// own), straight to its anonymous endpoint: one connection, from `from`. Its requests
    /// may take up to `PATIENT_TIMEOUT`: the caller bounds them.
    pub async fn connect_from(from: IpAddr, addr: SocketAddr) -> Result<UaClient, String> {
        let bound = Bound { from, to: addr, socket: Default::default() };
        UaClient::connect_bound(bound, PATIENT_TIMEOUT).await
    }

    /// `connect_from`, on `socket` (bound already: a routine client registers its address
    /// with the endpoints before it connects).
    pub async fn connect_socket(socket: TcpSocket, addr: SocketAddr) -> Result<UaClient, String> {
        UaClient::on_socket(socket, addr, TIMEOUT).await
    }

    /// `connect_socket`, waiting on the server as `connect_from` does (the live attacker's,
    /// whose address is registered before it connects).
    pub async fn connect_socket_patient(socket: TcpSocket, addr: SocketAddr) -> Result<UaClient, String> {
        UaClient::on_socket(socket, addr, PATIENT_TIMEOUT).await
    }

    async fn on_socket(socket: TcpSocket, addr: SocketAddr, timeout: Duration) -> Result<UaClient, String> {
        let from = socket.local_addr().map_err(|e| e.to_string())?.ip();
        let bound = Bound { from, to: addr, socket: Arc::new(Mutex::new(Some(socket))) };
        UaClient::connect_bound(bound, timeout).await
    }

    async fn connect_bound(bound: Bound, request_timeout: Duration) -> Result<UaClient, String> {
        let addr = bound.to;
        let client = client(request_timeout)?;
        let endpoint = EndpointDescription {
            endpoint_url: format!("opc.tcp://{addr}/").into(),
            security_mode: MessageSecurityMode::None,
            security_policy_uri: SecurityPolicy::None.to_uri().into(),
            user_identity_tokens: Some(vec![UserTokenPolicy {
                policy_id: ANONYMOUS_POLICY.into(),
                token_type: UserTokenType::Anonymous,
                ..Default::default()
            }]),
            ..Default::default()
        };
        let (session, event_loop) = client
            .session_builder()
            .with_connector(bound)
            .connect_to_endpoint_directly(endpoint)
            .map_err(|e| e.to_string())?
            .user_identity_token(IdentityToken::Anonymous)
            .build(client.certificate_store().clone())
            .map_err(|e| e.to_string())?;
        UaClient::started(addr, session, event_loop.spawn()).await
    }

    /// Waits for a built session to connect, and learns the PLC's namespace.
    async fn started(
        addr: SocketAddr,
        session: Arc<Session>,
        event_loop: tokio::task::JoinHandle<StatusCode>,
    ) -> Result<UaClient, String> {
        let connected = tokio::time::timeout(TIMEOUT, session.wait_for_connection()).await;
        if !matches!(connected, Ok(true)) {
            event_loop.abort();
            let status = event_loop.await.map_or_else(|e| e.to_string(), |s| s.to_string());
            return Err(format!("no session with {addr}: {status}"));
        }
        let ns = match tokio::time::timeout(TIMEOUT, session.get_namespace_index(NAMESPACE)).await {
            Ok(Ok(ns)) => ns,
            _ => {
                event_loop.abort();
                return Err(format!("{addr} has no {NAMESPACE} namespace"));
            }
        };
        Ok(UaClient { session, ns, event_loop })
    }

    /// The node of point `point`.
    pub fn node(&self, point: &str) -> NodeId {
        NodeId::new(self.ns, point)
    }

    /// Reads the values of `points` in one request.
    pub async fn read(&self, points: &[&str]) -> Result<Vec<DataValue>, String> {
        let ids: Vec<ReadValueId> = points
            .iter()
            .map(|p| ReadValueId {
                node_id: self.node(p),
                attribute_id: AttributeId::Value as u32,
                ..Default::default()
            })
            .collect();
        self.session.read(&ids, TimestampsToReturn::Neither, 0.0).await.map_err(|e| e.to_string())
    }

    /// Writes `value` to point `point`: the status the server answers.
    pub async fn write(&self, point: &str, value: Variant) -> Result<StatusCode, String> {
        let w = WriteValue {
            node_id: self.node(point),
            attribute_id: AttributeId::Value as u32,
            value: DataValue::value_only(value),
            ..Default::default()
        };
        let statuses = self.session.write(&[w]).await.map_err(|e| e.to_string())?;
        statuses.first().copied().ok_or_else(|| "no status".into())
    }

    /// Closes the session.
    pub async fn close(self) {
        let _ = tokio::time::timeout(TIMEOUT, self.session.disconnect()).await;
        self.event_loop.abort();
    }
}

/// A client configured for the range: no certificate of its own (security mode None), each
/// request given up on after `request_timeout`.
fn client(request_timeout: Duration) -> Result<Client, String> {
    ClientBuilder::new()
        .application_name("icsdrill client")
        .application_uri("urn:icsdrill:client")
        .product_uri("urn:icsdrill")
        .create_sample_keypair(false)
        .trust_server_certs(true)
        .session_retry_limit(0)
        .request_timeout(request_timeout)
        .pki_dir(std::env::temp_dir().join("icsdrill-opcua-client"))
        .client()
        .map_err(|e| e.join("; "))
}

/// Connections from a chosen local address to one server: the first on `socket` when one is
/// given.
#[derive(Debug, Clone)]
struct Bound {
    from: IpAddr,
    to: SocketAddr,
    socket: Arc<Mutex<Option<TcpSocket>>>,
}

impl ConnectionSource for Bound {
    type Builder = Bound;

    fn get_connector(&self, _endpoint: &EndpointDescription) -> Result<Bound, Error> {
        Ok(self.clone())
    }
}

impl Connector for Bound {
    type Transport = TcpTransport;

    async fn connect(
        &self,
        channel: Arc<SecureChannelState>,
        outgoing_recv: tokio::sync::mpsc::Receiver<OutgoingMessage>,
        config: TransportConfiguration,
    ) -> Result<TcpTransport, Error> {
        let (from, to) = (self.from, self.to);
        let given = self.socket.clone();
        let open = move |url: String, options: DecodingOptions| {
            let given = given.lock().unwrap_or_else(|e| e.into_inner()).take();
            async move {
                let fail = |e: std::io::Error| Error::new(StatusCode::BadCommunicationError, e.to_string());
                let socket = match given {
                    Some(socket) => socket,
                    None => {
                        let socket = match from {
                            IpAddr::V4(_) => TcpSocket::new_v4(),
                            IpAddr::V6(_) => TcpSocket::new_v6(),
                        }
                        .map_err(fail)?;
                        socket.bind(SocketAddr::new(from, 0)).map_err(fail)?;
                        socket
                    }
                };
                let stream = socket.connect(to).await.map_err(fail)?;
                let (reader, writer) = tokio::io::split(stream);
                Ok(StreamConnection::new(FramedRead::new(reader, TcpCodec::new(options)), writer, url))
            }
        };
        StreamConnector::new(open, format!("opc.tcp://{to}/")).connect(channel, outgoing_recv, config).await
    }

    fn default_endpoint(&self) -> EndpointDescription {
        EndpointDescription::from(format!("opc.tcp://{}/", self.to).as_str())
    }
}
