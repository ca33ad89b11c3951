//! A minimal OPC UA client (anonymous, security mode None) on a PLC's points: what the
//! benchmark reads with and the tests write with.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use opcua::client::{ClientBuilder, IdentityToken, Session};
use opcua::crypto::SecurityPolicy;
use opcua::types::{
    AttributeId, DataValue, MessageSecurityMode, NodeId, ReadValueId, StatusCode, TimestampsToReturn,
    Variant, WriteValue,
};

use super::nodes::NAMESPACE;

/// How long connecting, and each request, may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A session with one PLC's server.
pub struct UaClient {
    session: Arc<Session>,
    /// The index of the PLC's namespace on that server.
    pub ns: u16,
    event_loop: tokio::task::JoinHandle<StatusCode>,
}

impl UaClient {
    /// Opens a session with the server listening at `addr`.
    pub async fn connect(addr: SocketAddr) -> Result<UaClient, String> {
        let mut client = ClientBuilder::new()
            .application_name("icsdrill client")
            .application_uri("urn:icsdrill:client")
            .product_uri("urn:icsdrill")
            .create_sample_keypair(false)
            .trust_server_certs(true)
            .session_retry_limit(0)
            .request_timeout(TIMEOUT)
            .pki_dir(std::env::temp_dir().join("icsdrill-opcua-client"))
            .client()
            .map_err(|e| e.join("; "))?;
        let url = format!("opc.tcp://{addr}/");
        let endpoint = (url.as_str(), SecurityPolicy::None.to_str(), MessageSecurityMode::None);
        // The server's own endpoint description (found with GetEndpoints): it names the
        // anonymous token the session then uses.
        let connecting = client.connect_to_matching_endpoint(endpoint, IdentityToken::Anonymous);
        let (session, event_loop) = tokio::time::timeout(TIMEOUT, connecting)
            .await
            .map_err(|_| format!("{addr} does not answer"))?
            .map_err(|e| e.to_string())?;
        let event_loop = event_loop.spawn();
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
