//! One client connection to a PLC's OPC UA server, through the range's own listener.
//!
//! The OPC UA stack serves sessions but knows nothing of teams, hosts or paces, so the range
//! puts its listener in front, as an industrial firewall would: `serve` admits the client
//! (its team, the slots, the conduit at connect), then this task relays the bytes to the
//! stack's internal port, chunk by chunk:
//!
//! - each message chunk the client sends takes a token of the endpoint's and the range's pace;
//! - a chunk over `MAX_CHUNK` or a message type OPC UA does not have ends the connection;
//! - the secure channel id the server assigns (in the clear in every chunk header, even
//!   signed and encrypted) is noted with the client's host (`nodes::Channels`), which is how
//!   the node manager knows who reads and writes.

use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use icsdrill_engine::network::check_connect;
use icsdrill_engine::scenario::opcua::services;
use icsdrill_engine::scenario::{HostIdx, PlcIdx};
use icsdrill_engine::{RejectReason, SimInput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::nodes::{Channels, Peer};
use crate::runtime::modbus::server::{Context, Pacer, reset};
use icsdrill_engine::OpcUaTransaction;

/// The largest message chunk either side may send (the stack's receive buffer is the same).
pub const MAX_CHUNK: usize = 64 * 1024;
/// Octets of a chunk header: type (3), chunk type (1), size (4).
const HEADER: usize = 8;
/// Octets before a secure channel id ends (the header, then the id).
const CHANNEL_END: usize = HEADER + 4;

/// Where a side of the relay is in the chunk stream.
#[derive(Debug, Default)]
struct Chunks {
    /// Octets of the current chunk still to pass after those in `head`.
    left: usize,
    /// The current chunk's first octets: its header, then its secure channel id.
    head: Vec<u8>,
}

/// A chunk's message type and the secure channel id it carries.
type Opened = ([u8; 3], u32);

/// What a chunk header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `HEL`, `ACK`, `ERR`, `RHE`, `OPN`, `MSG` or `CLO`.
    pub kind: [u8; 3],
    /// The whole chunk's size, header included.
    pub size: usize,
}

/// Parses a chunk header; `Err` for a type OPC UA does not have or a size out of bounds.
pub fn header(bytes: &[u8; HEADER]) -> Result<Header, &'static str> {
    let kind = [bytes[0], bytes[1], bytes[2]];
    if !matches!(&kind, b"HEL" | b"ACK" | b"ERR" | b"RHE" | b"OPN" | b"MSG" | b"CLO") {
        return Err("not an OPC UA message type");
    }
    if !matches!(bytes[3], b'F' | b'C' | b'A') {
        return Err("not a chunk type");
    }
    let size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    if !(HEADER..=MAX_CHUNK).contains(&size) {
        return Err("chunk size out of bounds");
    }
    Ok(Header { kind, size })
}

impl Chunks {
    /// Follows `data` through the chunk stream: how many chunks start in it, and the type
    /// and secure channel id of each chunk whose id it completes; `Err` when the stream is
    /// not OPC UA.
    fn follow(&mut self, mut data: &[u8]) -> Result<(usize, Vec<Opened>), &'static str> {
        let (mut chunks, mut ids) = (0, Vec::new());
        while !data.is_empty() {
            if self.head.len() < HEADER {
                let n = (HEADER - self.head.len()).min(data.len());
                self.head.extend_from_slice(&data[..n]);
                data = &data[n..];
                if self.head.len() < HEADER {
                    break;
                }
                let h = header(self.head[..HEADER].try_into().expect("eight octets"))?;
                self.left = h.size - HEADER;
                chunks += 1;
            } else {
                let kind = [self.head[0], self.head[1], self.head[2]];
                let want_id = matches!(&kind, b"OPN" | b"MSG" | b"CLO") && self.head.len() < CHANNEL_END;
                let n = if want_id { CHANNEL_END - self.head.len() } else { usize::MAX };
                let n = n.min(self.left).min(data.len());
                if want_id {
                    self.head.extend_from_slice(&data[..n]);
                    if let Some(id) = channel_id(&self.head) {
                        ids.push((kind, id));
                    }
                }
                self.left -= n;
                data = &data[n..];
            }
            if self.head.len() >= HEADER && self.left == 0 {
                self.head.clear();
            }
        }
        Ok((chunks, ids))
    }
}

/// The secure channel id of a chunk whose first octets are `head`, once they are all there.
fn channel_id(head: &[u8]) -> Option<u32> {
    let id = head.get(HEADER..CHANNEL_END)?;
    Some(u32::from_le_bytes(id.try_into().expect("four octets")))
}

/// Relays one admitted client to the stack at `internal`, until either side closes, the
/// client idles past the limit, the range shuts down, or the stream is not OPC UA.
#[tracing::instrument(name = "opcua", level = "info", skip_all, fields(%peer, plc = %cx.live.scenario.plcs[plc.ix()].id))]
pub(crate) async fn connection(
    mut client: TcpStream,
    peer: SocketAddr,
    plc: PlcIdx,
    cx: &Context,
    (pacer, internal, channels): (&Pacer, SocketAddr, &Channels),
    mut shutdown: watch::Receiver<bool>,
) {
    let snapshot = cx.live.snapshot();
    let source = cx.sources.host(peer.ip(), snapshot.attacker_host);
    let refused = check_connect(&cx.live.scenario, &snapshot.net, source, plc).err();
    drop(snapshot);
    let routine = cx.own_clients.contains(&peer);
    if !routine {
        record(cx, plc, source, refused);
    }
    if refused.is_some() {
        reset(client);
        return;
    }
    let Ok(Ok(mut server)) = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(internal)).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let idle = cx.limits.idle_timeout;
    let (mut up, mut down) = (Chunks::default(), Chunks::default());
    let (mut from_client, mut from_server) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let mut opened: Vec<u32> = Vec::new();
    let mut stop = pin!(async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    });
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            read = tokio::time::timeout(idle, client.read(&mut from_client)) => {
                let Ok(Ok(n @ 1..)) = read else { break };
                let Ok((chunks, _)) = up.follow(&from_client[..n]) else {
                    tracing::debug!("closing: not OPC UA");
                    break;
                };
                for _ in 0..chunks {
                    let wait = pacer.reserve().max(cx.range_pacer.reserve());
                    if !wait.is_zero() {
                        tokio::select! {
                            biased;
                            _ = &mut stop => return,
                            () = tokio::time::sleep(wait) => {}
                        }
                    }
                }
                if server.write_all(&from_client[..n]).await.is_err() {
                    break;
                }
            }
            read = server.read(&mut from_server) => {
                let Ok(n @ 1..) = read else { break };
                let Ok((_, ids)) = down.follow(&from_server[..n]) else { break };
                for (kind, id) in ids {
                    if &kind == b"OPN" && !opened.contains(&id) {
                        channels.open(id, Peer { host: source, routine });
                        opened.push(id);
                    }
                }
                let sent = tokio::time::timeout(idle, client.write_all(&from_server[..n])).await;
                if !matches!(sent, Ok(Ok(()))) {
                    break;
                }
            }
        }
    }
    for id in opened {
        channels.close(id);
    }
}

/// Records the connection (refused or not), within the range's record budget.
fn record(cx: &Context, plc: PlcIdx, source: HostIdx, reason: Option<RejectReason>) {
    cx.live
        .record_traffic(plc, source, None, 1, reason.is_some(), || connection_input(cx, plc, source, reason));
}

/// The record of a connection to `plc`'s OPC UA server from `source`.
pub(crate) fn connection_input(
    cx: &Context,
    plc: PlcIdx,
    source: HostIdx,
    reason: Option<RejectReason>,
) -> SimInput {
    let s = &cx.live.scenario;
    SimInput::OpcUa(OpcUaTransaction {
        plc: s.plcs[plc.ix()].id.clone(),
        source: s.hosts[source.ix()].id.clone(),
        service: services::CONNECTION,
        node: String::new(),
        value: None,
        reason,
        repeat: 1,
    })
}

/// How long a relay waits for the stack to accept before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 3], channel: u32, body: usize) -> Vec<u8> {
        let size = (CHANNEL_END + body) as u32;
        let mut c = kind.to_vec();
        c.push(b'F');
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&channel.to_le_bytes());
        c.extend(std::iter::repeat_n(0xAB, body));
        c
    }

    #[test]
    fn chunks_are_followed_across_every_cut_and_their_channel_ids_read() {
        let mut stream = b"HELF\x0c\0\0\0\0\0\0\0".to_vec();
        stream.extend(chunk(b"OPN", 7, 30));
        stream.extend(chunk(b"MSG", 7, 100));
        stream.extend(chunk(b"MSG", 9, 0));
        for cut in 0..stream.len() {
            for cut2 in cut..stream.len() {
                let mut c = Chunks::default();
                let (mut chunks, mut ids) = (0, Vec::new());
                for part in [&stream[..cut], &stream[cut..cut2], &stream[cut2..]] {
                    let (n, i) = c.follow(part).expect("OPC UA");
                    chunks += n;
                    ids.extend(i);
                }
                assert_eq!(chunks, 4, "cut at {cut}, {cut2}");
                assert_eq!(ids, [(*b"OPN", 7), (*b"MSG", 7), (*b"MSG", 9)], "cut at {cut}, {cut2}");
                assert_eq!((c.left, c.head.len()), (0, 0));
            }
        }
    }

    #[test]
    fn what_is_not_opc_ua_is_refused() {
        assert!(header(b"GET / HT").is_err(), "an HTTP request");
        assert!(header(b"MSGX\x10\0\0\0").is_err(), "a bad chunk type");
        assert!(header(b"MSGF\x04\0\0\0").is_err(), "shorter than its header");
        let too_big = ((MAX_CHUNK + 1) as u32).to_le_bytes();
        let mut h = *b"MSGF\0\0\0\0";
        h[4..].copy_from_slice(&too_big);
        assert!(header(&h).is_err(), "over the chunk limit");
        assert!(Chunks::default().follow(b"HELF\x08\0\0\0GET / HTTP/1.1").is_err());
    }
}
