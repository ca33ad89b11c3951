//! Pushes a team's monitoring alerts to the syslog receiver the team names (its own
//! security-monitoring platform): RFC 5424 messages (or CEF lines) over UDP, or over TCP with
//! octet-counted framing (RFC 6587). Loopback receivers only. One task per team, following the
//! team's published log; a receiver that is down or slow loses alerts (counted), never holds
//! up the range.

use std::sync::Arc;
use std::time::Duration;

use icsdrill_drill::alerts::{SyslogTarget, alert_of};
use icsdrill_engine::Scenario;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::watch;

use crate::runtime::live::Live;

/// Longest message sent (UDP datagrams stay well under a loopback MTU).
const MAX_MESSAGE: usize = 4096;
/// How long one send may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Starts forwarding `team`'s alerts from event `since` on, until `stop` turns true or the
/// range stops.
pub(super) fn spawn(
    (live, scenario, epoch): (Arc<Live>, Arc<Scenario>, Arc<std::sync::atomic::AtomicI64>),
    team: String,
    target: SyslogTarget,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut since = 0;
        let mut tcp: Option<TcpStream> = None;
        let udp = if target.protocol == "udp" { UdpSocket::bind(("127.0.0.1", 0)).await.ok() } else { None };
        let host = format!("icsdrill-{team}");
        let mut lost = 0u64;
        while !*stop.borrow() && !live.stopped() {
            let events = live.alerts_since(since, 100);
            let Some(last) = events.last() else {
                let next = live.snapshot().tick + 1;
                tokio::select! {
                    () = live.wait_for_tick(next) => {}
                    _ = stop.changed() => {}
                }
                continue;
            };
            since = last.seq + 1;
            for e in &events {
                // Read at each alert: forwarding set up in the briefing stamps from the start.
                let epoch_ms = u64::try_from(epoch.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(0);
                let Some(alert) = alert_of(&scenario, e, epoch_ms) else { continue };
                let now = icsdrill_web::syslog_time(alert.at_ms);
                let mut line = if target.format == "cef" {
                    alert.syslog_cef(&team, &host, &now)
                } else {
                    alert.rfc5424(&team, &host, &now)
                };
                line.truncate(line.floor_char_boundary(MAX_MESSAGE));
                let sent = match &udp {
                    Some(sock) => {
                        matches!(
                            tokio::time::timeout(SEND_TIMEOUT, sock.send_to(line.as_bytes(), target.address))
                                .await,
                            Ok(Ok(_))
                        )
                    }
                    None => send_tcp(&mut tcp, target.address, &line).await,
                };
                if !sent {
                    lost += 1;
                    tracing::debug!(team = %team, lost, "an alert did not reach the team's syslog receiver");
                }
            }
        }
    });
}

/// Sends one octet-counted message, connecting first if need be; `false` (and the connection
/// dropped) when it fails.
async fn send_tcp(conn: &mut Option<TcpStream>, to: std::net::SocketAddr, line: &str) -> bool {
    if conn.is_none() {
        *conn = match tokio::time::timeout(SEND_TIMEOUT, TcpStream::connect(to)).await {
            Ok(Ok(s)) => Some(s),
            _ => return false,
        };
    }
    let Some(stream) = conn.as_mut() else { return false };
    let framed = format!("{} {line}", line.len());
    let ok =
        matches!(tokio::time::timeout(SEND_TIMEOUT, stream.write_all(framed.as_bytes())).await, Ok(Ok(())));
    if !ok {
        *conn = None;
    }
    ok
}

impl super::Drill {
    /// What of the drill's own listens at `address` (its web view, a PLC's endpoint), if
    /// anything: alerts forwarded there would reach no receiver.
    pub(super) fn listening_at(&self, address: std::net::SocketAddr) -> Option<String> {
        let same = |ip: std::net::IpAddr, port: u16| {
            port == address.port() && (ip == address.ip() || ip.is_unspecified())
        };
        if self.web.get().is_some_and(|w| same(w.ip(), w.port())) {
            return Some("this drill's own web view".into());
        }
        let endpoints = self.teams.iter().flat_map(|t| self.endpoints_of(t));
        endpoints.into_iter().find_map(|e| {
            // An endpoint shown by a node's host name listens on every address.
            let ip = e.address.parse().unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            let ports = [Some(e.port), e.iec104_port, e.opcua_port];
            ports.into_iter().flatten().any(|p| same(ip, p)).then(|| format!("PLC {}'s endpoint", e.plc))
        })
    }
}
