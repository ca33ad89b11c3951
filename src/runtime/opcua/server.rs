//! One PLC's OPC UA server: the stack (`async-opcua`) configured for the drill, on an internal
//! loopback port only the range's listener relays to, and kept current after every tick.
//!
//! Each server makes its own key pair and self-signed certificate when it starts, in a PKI
//! directory of its own that is removed when it stops: certificates are per drill, never
//! shipped. Client certificates are trusted on first use (a trainee's client works at once);
//! the directory is pruned so a client making a new certificate per connection cannot fill
//! the disk.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use icsdrill_engine::scenario::PlcIdx;
use icsdrill_engine::scenario::opcua::Security;
use opcua::crypto::SecurityPolicy;
use opcua::server::node_manager::memory::{InMemoryNodeManager, InMemoryNodeManagerBuilder};
use opcua::server::{ANONYMOUS_USER_TOKEN_ID, ServerBuilder, ServerHandle};
use opcua::types::MessageSecurityMode;
use tokio::net::TcpListener;

use super::nodes::{Channels, PlcNodes, PlcNodesBuilder};
use super::proxy::MAX_CHUNK;
use crate::runtime::modbus::server::Context;

/// Certificates a server keeps of clients it has seen (trusted and rejected, each); past
/// this the oldest go.
pub const MAX_CLIENT_CERTS: usize = 64;
/// Channels opened between two prunings of the client certificates: the folders hold at most
/// `MAX_CLIENT_CERTS` and the certificates of the sessions of these many channels.
pub const PRUNE_EVERY: u64 = 16;
/// Monitored items one subscription may hold.
pub const MAX_MONITORED_ITEMS: usize = 1_000;
/// Subscriptions one session may hold.
pub const MAX_SUBSCRIPTIONS: usize = 10;

/// A running server.
pub struct Server {
    /// Where the stack listens (loopback, an ephemeral port).
    pub internal: SocketAddr,
    /// The listener's secure channels.
    pub channels: Arc<Channels>,
    handle: ServerHandle,
    nodes: Arc<InMemoryNodeManager<PlcNodes>>,
    pki: PathBuf,
}

/// Tells servers' PKI directories apart within one process.
static SERVERS: AtomicU64 = AtomicU64::new(0);

impl Server {
    /// Starts PLC `plc`'s server, advertising `public` (the range's listener) as its endpoint.
    pub async fn start(cx: Arc<Context>, plc: PlcIdx, public: SocketAddr) -> std::io::Result<Server> {
        let def = &cx.live.scenario.plcs[plc.ix()];
        let security = def.opcua.as_ref().map(|o| o.security.clone()).unwrap_or_default();
        let pki = std::env::temp_dir().join(format!(
            "icsdrill-opcua-{}-{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::Relaxed)
        ));
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let internal = listener.local_addr()?;
        let channels = Arc::new(Channels::default());
        let nodes = PlcNodesBuilder { cx: cx.clone(), plc, channels: channels.clone() };
        let (max_sessions, dir) = (cx.limits.max_connections, pki.clone());
        // Building makes the server's RSA key pair: off the event loop, which serves the
        // range's other endpoints meanwhile.
        let built = tokio::task::spawn_blocking(move || {
            configure(nodes, public, &dir, max_sessions, &security).build()
        })
        .await
        .map_err(std::io::Error::other)?;
        let (server, handle) = built.map_err(std::io::Error::other)?;
        let nodes = handle
            .node_managers()
            .get_of_type::<InMemoryNodeManager<PlcNodes>>()
            .ok_or_else(|| std::io::Error::other("the PLC's node manager is missing"))?;
        let mut run = Box::pin(async move {
            if let Err(e) = server.run_with(listener).await {
                tracing::warn!(error = %e, "OPC UA server stopped");
            }
        });
        // Polled once here, the stack initialises and notes its own port for its endpoint
        // URLs; the range's listener's port then replaces it, before any client can ask.
        std::future::poll_fn(|cx| {
            let _ = run.as_mut().poll(cx);
            std::task::Poll::Ready(())
        })
        .await;
        handle.info().port.store(public.port(), Ordering::Relaxed);
        tokio::spawn(run);
        Ok(Server { internal, channels, handle, nodes, pki })
    }

    /// Keeps the address space current after every tick until the simulation is gone or the
    /// server stops, and the client certificates pruned every `PRUNE_EVERY` channels opened
    /// (a held clock included: sessions open in the briefing too).
    pub async fn update(&self, cx: &Context) {
        let mut ticks = cx.live.progress();
        let mut last = Vec::new();
        let subscriptions = self.handle.subscriptions().clone();
        let mut pruned_at = 0u64;
        loop {
            PlcNodes::update(&self.nodes, &subscriptions, &mut last);
            // The endpoint URLs name the range's listener, not the stack's own port, which
            // the stack sets when it starts.
            self.handle.info().port.store(self.port(), Ordering::Relaxed);
            ticks.borrow_and_update();
            loop {
                tokio::select! {
                    changed = ticks.changed() => if changed.is_err() { return } else { break },
                    () = self.channels.next_open() => {
                        // The certificate of a session is written as it is created, after
                        // its channel opened: prune those of earlier channels.
                        if self.channels.opened() >= pruned_at + PRUNE_EVERY {
                            prune(&self.pki);
                            pruned_at = self.channels.opened();
                        }
                    }
                    () = self.handle.token().cancelled() => return,
                }
            }
        }
    }

    /// The port the server advertises.
    fn port(&self) -> u16 {
        self.handle.info().config.tcp_config.port
    }

    /// Stops the stack and removes its PKI directory.
    pub fn stop(&self) {
        self.handle.cancel();
        let _ = std::fs::remove_dir_all(&self.pki);
    }
}

/// The stack's configuration for one PLC: its identity, endpoints (`security`), limits, and
/// the PLC's node manager.
fn configure(
    nodes: PlcNodesBuilder,
    public: SocketAddr,
    pki: &Path,
    max_sessions: usize,
    security: &[Security],
) -> ServerBuilder {
    let id = nodes.cx.live.scenario.plcs[nodes.plc.ix()].id.clone();
    let anonymous = [ANONYMOUS_USER_TOKEN_ID];
    let mut b = ServerBuilder::new()
        .application_name(format!("icsdrill {id}"))
        .application_uri(format!("urn:icsdrill:{id}"))
        .product_uri("urn:icsdrill")
        .create_sample_keypair(true)
        .pki_dir(pki)
        .trust_client_certs(true)
        .host(public.ip().to_string())
        .port(public.port())
        .discovery_urls(vec![format!("opc.tcp://{public}/")])
        .max_sessions(max_sessions)
        .max_message_size(MAX_CHUNK * 4)
        .max_chunk_count(4)
        .receive_buffer_size(MAX_CHUNK)
        .send_buffer_size(MAX_CHUNK)
        .with_node_manager(InMemoryNodeManagerBuilder::new(nodes));
    for mode in security {
        b = match mode {
            Security::None => b.add_endpoint(
                "none",
                ("/", SecurityPolicy::None, MessageSecurityMode::None, &anonymous as &[&str]),
            ),
            Security::SignAndEncrypt => b.add_endpoint(
                "basic256sha256_sign_encrypt",
                (
                    "/",
                    SecurityPolicy::Basic256Sha256,
                    MessageSecurityMode::SignAndEncrypt,
                    &anonymous as &[&str],
                ),
            ),
        };
    }
    let limits = b.limits_mut();
    limits.subscriptions.max_monitored_items_per_sub = MAX_MONITORED_ITEMS;
    limits.subscriptions.max_subscriptions_per_session = MAX_SUBSCRIPTIONS;
    b
}

/// Keeps at most `MAX_CLIENT_CERTS` client certificates in each of the PKI's client folders.
pub fn prune(pki: &Path) {
    for folder in ["trusted", "rejected"] {
        let Ok(entries) = std::fs::read_dir(pki.join(folder)) else { continue };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .filter(|(_, p)| p.is_file())
            .collect();
        if files.len() <= MAX_CLIENT_CERTS {
            continue;
        }
        files.sort();
        for (_, p) in &files[..files.len() - MAX_CLIENT_CERTS] {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_certificates_are_pruned_to_the_newest_few() {
        let pki = std::env::temp_dir().join(format!("icsdrill-prune-{}", std::process::id()));
        let trusted = pki.join("trusted");
        std::fs::create_dir_all(&trusted).unwrap();
        let t0 = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        for i in 0..MAX_CLIENT_CERTS + 6 {
            let f = std::fs::File::create(trusted.join(format!("client-{i:03}.der"))).unwrap();
            f.set_modified(t0 + std::time::Duration::from_secs(i as u64)).unwrap();
        }
        prune(&pki);
        let mut left: Vec<String> = std::fs::read_dir(&trusted)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left.len(), MAX_CLIENT_CERTS);
        assert_eq!(left[0], "client-006.der", "the oldest went first");
        let _ = std::fs::remove_dir_all(&pki);
    }
}
