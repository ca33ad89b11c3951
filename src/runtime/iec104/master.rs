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
    /// When the oldest unacknowledged I frame was read between requests (`idle`'s t2).
    unacked_since: Option<tokio::time::Instant>,
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
        let mut m = Master {
            stream,
            vs: 0,
            vr: 0,
            unacked: 0,
            unacked_since: None,
            buf: vec![0; 4 * MAX_APDU_LEN],
            filled: 0,
            limit,
        };
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

    /// Sends STOPDT, waits for its confirmation, and closes. What the station sent is
    /// acknowledged, with the STOPDT and as it still comes (a station confirms once its frames
    /// are); a station that does not confirm within the limit is closed on all the same.
    pub async fn close(mut self) {
        let mut stop = Vec::new();
        if self.unacked > 0 {
            self.ack_into(&mut stop);
        }
        apci::write_u(&mut stop, UFunction::StopDtAct);
        let limit = self.limit;
        if matches!(tokio::time::timeout(limit, self.stream.write_all(&stop)).await, Ok(Ok(()))) {
            let confirmed = async {
                loop {
                    match self.next().await? {
                        Frame::U(UFunction::StopDtCon) => return io::Result::Ok(()),
                        Frame::I(_) if self.unacked > 0 => {
                            let mut ack = Vec::new();
                            self.ack_into(&mut ack);
                            self.stream.write_all(&ack).await?;
                        }
                        _ => {}
                    }
                }
            };
            let _ = tokio::time::timeout(limit, confirmed).await;
        }
        let _ = self.stream.shutdown().await;
    }

    /// Between requests: reads what the station sends of its own accord (spontaneous
    /// transmissions, test frames), acknowledging I frames every `w` and the rest within `t2`
    /// and answering test frames, as a master that keeps its connection open does. Runs until
    /// the connection fails (`Err`); cancel-safe (a frame half read stays buffered, and what
    /// it sends goes in one non-blocking write).
    pub async fn idle(&mut self, t2: Duration) -> io::Result<()> {
        loop {
            if let Some(frame) = self.take_frame()? {
                let owed = self.owed(&frame);
                if !owed.is_empty() {
                    self.write_now(&owed)?;
                }
                continue;
            }
            // t2 counts from the oldest frame not yet acknowledged, not from the last read.
            if self.unacked > 0 && self.unacked_since.is_none() {
                self.unacked_since = Some(tokio::time::Instant::now());
            }
            let read = self.stream.read(&mut self.buf[self.filled..]);
            let n = if let Some(since) = self.unacked_since.filter(|_| self.unacked > 0) {
                match tokio::time::timeout_at(since + t2, read).await {
                    Ok(n) => n?,
                    // t2: nothing more came; what did is acknowledged now.
                    Err(_) => {
                        self.acknowledge_now()?;
                        continue;
                    }
                }
            } else {
                read.await?
            };
            match n {
                0 => return Err(io::ErrorKind::ConnectionReset.into()),
                n => self.filled += n,
            }
        }
    }

    /// An S frame acknowledging everything received, written at once.
    fn acknowledge_now(&mut self) -> io::Result<()> {
        let mut s = Vec::new();
        self.ack_into(&mut s);
        self.write_now(&s)
    }

    /// Appends an S frame acknowledging everything received: nothing is owed after it.
    fn ack_into(&mut self, out: &mut Vec<u8>) {
        apci::write_s(out, self.vr);
        self.unacked = 0;
        self.unacked_since = None;
    }

    /// Writes a short frame in one non-blocking write (a socket's buffer always has room for
    /// six bytes of a master's own; if not, the connection is given up).
    fn write_now(&self, frame: &[u8]) -> io::Result<()> {
        match self.stream.try_write(frame) {
            Ok(n) if n == frame.len() => Ok(()),
            Ok(_) => Err(io::Error::new(io::ErrorKind::WriteZero, "a control frame half written")),
            Err(e) => Err(e),
        }
    }

    /// The next frame, within the limit: I frames acknowledged every `w`, test frames
    /// answered.
    async fn next(&mut self) -> io::Result<Frame> {
        loop {
            if let Some(frame) = self.take_frame()? {
                let owed = self.owed(&frame);
                if !owed.is_empty() {
                    self.stream.write_all(&owed).await?;
                }
                return Ok(frame);
            }
            let read = self.stream.read(&mut self.buf[self.filled..]);
            match tokio::time::timeout(self.limit, read).await.map_err(|_| timed_out())?? {
                0 => return Err(io::ErrorKind::ConnectionReset.into()),
                n => self.filled += n,
            }
        }
    }

    /// The whole frame at the head of the buffer, taken out of it (`None`: not all read yet).
    fn take_frame(&mut self) -> io::Result<Option<Frame>> {
        match apci::parse(&self.buf[..self.filled]) {
            Parsed::Complete { apdu, len } => {
                let frame = match apdu {
                    Apdu::I { asdu, .. } => Frame::I(asdu.to_vec()),
                    Apdu::S { .. } => Frame::S,
                    Apdu::U(f) => Frame::U(f),
                };
                self.buf.copy_within(len..self.filled, 0);
                self.filled -= len;
                Ok(Some(frame))
            }
            Parsed::Incomplete => Ok(None),
            Parsed::Invalid(e) => {
                Err(io::Error::new(io::ErrorKind::InvalidData, format!("not an APDU: {e:?}")))
            }
        }
    }

    /// What a master owes the station for a frame it read (empty: nothing): an acknowledgement
    /// every `w` I frames, a test confirmation.
    fn owed(&mut self, frame: &Frame) -> Vec<u8> {
        let mut out = Vec::new();
        match frame {
            Frame::I(_) => {
                self.vr = (self.vr + 1) % apci::SEQ_MODULO;
                self.unacked += 1;
                if self.unacked >= defaults::W {
                    self.ack_into(&mut out);
                }
            }
            Frame::U(UFunction::TestFrAct) => apci::write_u(&mut out, UFunction::TestFrCon),
            _ => {}
        }
        out
    }
}

/// A frame as the master sees it.
enum Frame {
    I(Vec<u8>),
    S,
    U(UFunction),
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    /// The next frame a fake station reads from the master.
    async fn frame_from(s: &mut (impl AsyncReadExt + Unpin)) -> Vec<u8> {
        let mut head = [0u8; 2];
        s.read_exact(&mut head).await.unwrap();
        let mut rest = vec![0u8; usize::from(head[1])];
        s.read_exact(&mut rest).await.unwrap();
        [head.to_vec(), rest].concat()
    }

    fn parsed(f: &[u8]) -> Apdu<'_> {
        match apci::parse(f) {
            Parsed::Complete { apdu, .. } => apdu,
            other => panic!("not a frame: {other:?}"),
        }
    }

    /// A station that confirms STARTDT: its address, and its side of the connection.
    async fn station() -> (SocketAddr, tokio::task::JoinHandle<TcpStream>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            assert_eq!(parsed(&frame_from(&mut s).await), Apdu::U(UFunction::StartDtAct));
            let mut con = Vec::new();
            apci::write_u(&mut con, UFunction::StartDtCon);
            s.write_all(&con).await.unwrap();
            s
        });
        (addr, task)
    }

    #[tokio::test]
    async fn between_requests_a_master_acknowledges_what_the_station_sends_and_answers_its_tests() {
        let (addr, accepted) = station().await;
        let bound = Duration::from_secs(10);
        let mut m = Master::connect(None, addr, bound).await.unwrap();
        let mut s = accepted.await.unwrap();
        let side = tokio::spawn(async move {
            // Ten spontaneous frames: acknowledged at w = 8, the last two within t2.
            let asdu = asdu::interrogation(1);
            let mut out = Vec::new();
            for n in 0..10 {
                apci::write_i(&mut out, n, 0, &asdu).unwrap();
            }
            s.write_all(&out).await.unwrap();
            let first = frame_from(&mut s).await;
            assert_eq!(parsed(&first), Apdu::S { recv: 8 }, "at w");
            let sent = std::time::Instant::now();
            let second = frame_from(&mut s).await;
            assert_eq!(parsed(&second), Apdu::S { recv: 10 }, "within t2");
            assert!(sent.elapsed() >= Duration::from_millis(200), "not before t2");
            // Frames trickling in, each sooner than t2 after the last: acknowledged t2 after
            // the first of them all the same.
            let started = std::time::Instant::now();
            let (mut rd, mut wr) = s.into_split();
            let reader = tokio::spawn(async move {
                let f = frame_from(&mut rd).await;
                (rd, f)
            });
            let mut out = Vec::new();
            for n in 10u16..40 {
                out.clear();
                apci::write_i(&mut out, n, 0, &asdu).unwrap();
                wr.write_all(&out).await.unwrap();
                if reader.is_finished() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let (rd, ack) = reader.await.unwrap();
            let mut s = rd.reunite(wr).unwrap();
            assert!(matches!(parsed(&ack), Apdu::S { .. }), "{ack:?}");
            assert!(
                started.elapsed() < Duration::from_millis(600),
                "t2 from the first: {:?}",
                started.elapsed()
            );
            // A test frame is confirmed.
            let mut test = Vec::new();
            apci::write_u(&mut test, UFunction::TestFrAct);
            s.write_all(&test).await.unwrap();
            assert_eq!(parsed(&frame_from(&mut s).await), Apdu::U(UFunction::TestFrCon));
            // Gone: the idle master hears it.
        });
        let ended = tokio::time::timeout(bound, m.idle(Duration::from_millis(300))).await;
        side.await.unwrap();
        assert!(matches!(ended, Ok(Err(ref e)) if e.kind() == io::ErrorKind::ConnectionReset), "{ended:?}");
    }

    #[tokio::test]
    async fn a_master_closes_after_the_station_confirms_stopdt() {
        let (addr, accepted) = station().await;
        let bound = Duration::from_secs(10);
        let m = Master::connect(None, addr, bound).await.unwrap();
        let mut s = accepted.await.unwrap();
        let side = tokio::spawn(async move {
            assert_eq!(parsed(&frame_from(&mut s).await), Apdu::U(UFunction::StopDtAct));
            // A frame sent as the STOPDT crossed it, then the confirmation, a while later.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut out = Vec::new();
            apci::write_i(&mut out, 0, 0, &asdu::interrogation(1)).unwrap();
            apci::write_u(&mut out, UFunction::StopDtCon);
            s.write_all(&out).await.unwrap();
            // The frame is acknowledged, and only then the master closes: nothing more comes.
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            rest
        });
        let asked = std::time::Instant::now();
        tokio::time::timeout(bound, m.close()).await.expect("closed once confirmed");
        assert!(asked.elapsed() >= Duration::from_millis(200), "closed before the confirmation");
        let rest = side.await.unwrap();
        assert_eq!(parsed(&rest), Apdu::S { recv: 1 }, "{rest:?}");
        assert_eq!(rest.len(), 6, "{rest:?}");
    }
}
