//! A minimal IEC 104 controlling station (master), for the live attacker and the benchmark:
//! connect from a chosen address, start data transfer, send requests and read their answers,
//! acknowledging what arrives (every `w` frames) and answering test frames, as a real master
//! does. Every wait is bounded by the caller's limit.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::apci::{self, Apdu, MAX_APDU_LEN, Parsed, UFunction, defaults};
use super::asdu::{self, cot};

/// One connection to a station.
pub struct Master {
    stream: TcpStream,
    /// Next send sequence number.
    vs: u16,
    /// Next receive sequence number, and how many I frames are not yet acknowledged.
    vr: u16,
    unacked: u16,
    buf: Vec<u8>,
    filled: usize,
    /// Longest wait for any one frame.
    limit: Duration,
}

/// How a station confirmed a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmation {
    /// The negative bit.
    pub negative: bool,
    /// Cause of transmission (7, or 44-47 for a refusal).
    pub cause: u8,
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the station did not answer in time")
}

impl Master {
    /// Connects to `to` from `source` (port 0: any) and starts data transfer.
    pub async fn connect(source: Option<IpAddr>, to: SocketAddr, limit: Duration) -> io::Result<Master> {
        let socket = if to.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        if let Some(ip) = source {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        Master::connect_socket(socket, to, limit).await
    }

    /// Connects `socket` (bound already, so its address can be known first) to `to` and
    /// starts data transfer.
    pub async fn connect_socket(socket: TcpSocket, to: SocketAddr, limit: Duration) -> io::Result<Master> {
        let stream = tokio::time::timeout(limit, socket.connect(to)).await.map_err(|_| timed_out())??;
        stream.set_nodelay(true)?;
        let mut m =
            Master { stream, vs: 0, vr: 0, unacked: 0, buf: vec![0; 4 * MAX_APDU_LEN], filled: 0, limit };
        let mut start = Vec::new();
        apci::write_u(&mut start, UFunction::StartDtAct);
        m.stream.write_all(&start).await?;
        loop {
            if let Frame::U(UFunction::StartDtCon) = m.next().await? {
                return Ok(m);
            }
        }
    }

    /// Sends one ASDU in an I frame.
    pub async fn send(&mut self, asdu: &[u8]) -> io::Result<()> {
        let mut out = Vec::with_capacity(asdu.len() + 6);
        apci::write_i(&mut out, self.vs, self.vr, asdu)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "ASDU too long"))?;
        self.vs = (self.vs + 1) % apci::SEQ_MODULO;
        self.unacked = 0;
        self.stream.write_all(&out).await
    }

    /// Sends `request` and waits for its confirmation: the first answer of the same type with
    /// cause 7 (positive or negative) or a refusal's cause (44-47).
    pub async fn confirm(&mut self, request: &[u8]) -> io::Result<Confirmation> {
        self.send(request).await?;
        loop {
            if let Frame::I(a) = self.next().await?
                && a.first() == request.first()
                && let Some((d, _)) = apci::Dui::parse(&a)
                && (d.cause == cot::ACTIVATION_CON
                    || (cot::UNKNOWN_TYPE..=cot::UNKNOWN_IOA).contains(&d.cause))
            {
                return Ok(Confirmation { negative: d.negative, cause: d.cause });
            }
        }
    }

    /// A station interrogation of station `ca`: the objects reported, once it is terminated;
    /// `Ok(None)` when it was refused.
    pub async fn interrogate(&mut self, ca: u16) -> io::Result<Option<usize>> {
        let request = asdu::interrogation(ca);
        if self.confirm(&request).await?.negative {
            return Ok(None);
        }
        let mut objects = 0;
        loop {
            if let Frame::I(a) = self.next().await?
                && let Some((d, _)) = apci::Dui::parse(&a)
            {
                match d.cause {
                    cot::INTERROGATED => objects += usize::from(d.count),
                    cot::ACTIVATION_TERM if d.type_id == request[0] => return Ok(Some(objects)),
                    _ => {}
                }
            }
        }
    }

    /// From now on each frame may take up to `limit` (a caller bounding its waits itself, as
    /// the live attacker does while a clock is held, raises it).
    pub fn set_limit(&mut self, limit: Duration) {
        self.limit = limit;
    }

    /// Sends STOPDT and closes.
    pub async fn close(mut self) {
        let mut stop = Vec::new();
        apci::write_u(&mut stop, UFunction::StopDtAct);
        let _ = tokio::time::timeout(self.limit, self.stream.write_all(&stop)).await;
        let _ = self.stream.shutdown().await;
    }

    /// The next frame, within the limit: I frames acknowledged every `w`, test frames
    /// answered.
    async fn next(&mut self) -> io::Result<Frame> {
        loop {
            match apci::parse(&self.buf[..self.filled]) {
                Parsed::Complete { apdu, len } => {
                    let frame = match apdu {
                        Apdu::I { asdu, .. } => Frame::I(asdu.to_vec()),
                        Apdu::S { .. } => Frame::S,
                        Apdu::U(f) => Frame::U(f),
                    };
                    self.buf.copy_within(len..self.filled, 0);
                    self.filled -= len;
                    self.after(&frame).await?;
                    return Ok(frame);
                }
                Parsed::Incomplete => {}
                Parsed::Invalid(e) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, format!("not an APDU: {e:?}")));
                }
            }
            let read = self.stream.read(&mut self.buf[self.filled..]);
            match tokio::time::timeout(self.limit, read).await.map_err(|_| timed_out())?? {
                0 => return Err(io::ErrorKind::ConnectionReset.into()),
                n => self.filled += n,
            }
        }
    }

    /// What a master owes the station for a frame: an acknowledgement, a test confirmation.
    async fn after(&mut self, frame: &Frame) -> io::Result<()> {
        let mut out = Vec::new();
        match frame {
            Frame::I(_) => {
                self.vr = (self.vr + 1) % apci::SEQ_MODULO;
                self.unacked += 1;
                if self.unacked >= defaults::W {
                    apci::write_s(&mut out, self.vr);
                    self.unacked = 0;
                }
            }
            Frame::U(UFunction::TestFrAct) => apci::write_u(&mut out, UFunction::TestFrCon),
            _ => {}
        }
        if out.is_empty() { Ok(()) } else { self.stream.write_all(&out).await }
    }
}

/// A frame as the master sees it.
enum Frame {
    I(Vec<u8>),
    S,
    U(UFunction),
}
