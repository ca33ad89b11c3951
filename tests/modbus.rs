//! Live Modbus endpoints over real loopback sockets: every function, every exception path,
//! malformed frames, listen-only mode, the firewall at connect, limits, and the transaction
//! log. Requests are labelled byte vectors, as rodbus tests its frames.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use icsdrill::runtime::attacker::REQUEST_TIMEOUT;
use icsdrill::runtime::range::{Options, Range};
use icsdrill_engine::input::ModbusTransaction;
use icsdrill_engine::{EventKind, RejectReason, Scenario, SimInput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::util::{builtin, mini};

/// How long a test waits for an answer that should come.
const ANSWER: Duration = Duration::from_secs(5);
/// How long a test waits to be sure no answer comes.
const SILENCE: Duration = Duration::from_millis(400);

/// Starts a range on free ports, ticking 5x faster than real time, without the scenario's
/// attack (protocol tests want a quiet plant).
pub(crate) async fn start(scenario: Arc<Scenario>, edit: impl FnOnce(&mut Options)) -> Range {
    start_with_attack(Arc::new(scenario.without_attack()), edit).await
}

/// Like `start`, attack included (the live attacker joins in).
pub(crate) async fn start_with_attack(scenario: Arc<Scenario>, edit: impl FnOnce(&mut Options)) -> Range {
    let mut opts = Options::new(1);
    opts.modbus_port = 0;
    opts.http_port = 0;
    opts.ticks_per_s = Some(50.0);
    edit(&mut opts);
    Range::start(scenario, opts).await.expect("the range starts")
}

pub(crate) fn endpoint(range: &Range, plc: &str) -> SocketAddr {
    let e = range.endpoints.iter().find(|e| e.plc == plc).expect("PLC has an endpoint");
    SocketAddr::new(e.address.parse().unwrap(), e.port)
}

/// A raw Modbus TCP client.
pub(crate) struct Client {
    stream: TcpStream,
    tid: u16,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> Client {
        Client { stream: TcpStream::connect(addr).await.expect("connects"), tid: 0 }
    }

    /// Connects from a chosen loopback source address; `None` if the server reset the
    /// connection before `connect` returned.
    pub(crate) async fn connect_from(local: IpAddr, addr: SocketAddr) -> Option<Client> {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(local, 0)).unwrap();
        Some(Client { stream: socket.connect(addr).await.ok()?, tid: 0 })
    }

    /// Connects; `None` if the server reset the connection before `connect` returned.
    pub(crate) async fn try_connect(addr: SocketAddr) -> Option<Client> {
        Some(Client { stream: TcpStream::connect(addr).await.ok()?, tid: 0 })
    }

    /// Sends raw bytes.
    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads one whole response ADU, or `None` if nothing comes within `wait` or the server
    /// closed the connection.
    pub(crate) async fn response(&mut self, wait: Duration) -> Option<Vec<u8>> {
        let mut head = [0u8; 7];
        match tokio::time::timeout(wait, self.stream.read_exact(&mut head)).await {
            Ok(Ok(_)) => {}
            _ => return None,
        }
        let len = usize::from(u16::from_be_bytes([head[4], head[5]])) - 1;
        let mut body = vec![0u8; len];
        tokio::time::timeout(wait, self.stream.read_exact(&mut body)).await.ok()?.ok()?;
        Some([&head[..], &body].concat())
    }

    /// Sends a request PDU to `unit` and returns the response PDU (checking the MBAP echo).
    pub(crate) async fn pdu(&mut self, unit: u8, pdu: &[u8]) -> Option<Vec<u8>> {
        self.tid = self.tid.wrapping_add(1);
        let mut adu = self.tid.to_be_bytes().to_vec();
        adu.extend_from_slice(&[0, 0]);
        adu.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
        adu.push(unit);
        adu.extend_from_slice(pdu);
        self.send(&adu).await;
        let r = self.response(ANSWER).await?;
        assert_eq!(&r[..2], &self.tid.to_be_bytes(), "transaction id echoed");
        assert_eq!(&r[2..4], &[0, 0], "protocol id 0");
        assert_eq!(r[6], unit, "unit id echoed");
        Some(r[7..].to_vec())
    }

    /// Whether the server has closed the connection (reads EOF or a reset) within `wait`.
    pub(crate) async fn closed(&mut self, wait: Duration) -> bool {
        let mut b = [0u8; 1];
        matches!(tokio::time::timeout(wait, self.stream.read(&mut b)).await, Ok(Ok(0)) | Ok(Err(_)))
    }
}

/// FC 3 of `count` registers from `addr`: the register values.
pub(crate) async fn read_holding(c: &mut Client, addr: u16, count: u16) -> Vec<u16> {
    let [a, b] = addr.to_be_bytes();
    let [n, m] = count.to_be_bytes();
    let r = c.pdu(1, &[0x03, a, b, n, m]).await.expect("an answer");
    assert_eq!(r[0], 0x03, "{r:02X?}");
    r[2..].chunks(2).map(|w| u16::from_be_bytes([w[0], w[1]])).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_supported_function_answers_through_the_simulation() {
    let range = start(builtin("petrochem-tank-farm"), |_| {}).await;
    let mut c = Client::connect(endpoint(&range, "plc-t101")).await;
    // FC 3: fill start 40.0 %, fill stop 60.0 %, alarms 85, 90, 15 (raw x10).
    assert_eq!(read_holding(&mut c, 0, 5).await, [400, 600, 850, 900, 150]);
    // FC 4: level, valve and pump positions; one byte count and three words.
    let r = c.pdu(1, &[0x04, 0x00, 0x00, 0x00, 0x03]).await.unwrap();
    assert_eq!((r[0], r[1], r.len()), (0x04, 6, 8));
    // FC 1: manual mode off, manual command off, pump run on -> 0b100.
    assert_eq!(c.pdu(1, &[0x01, 0x00, 0x00, 0x00, 0x03]).await.unwrap(), [0x01, 0x01, 0b100]);
    // FC 2: LSHH off, pump running, no trip, no alarm -> 0b0010.
    assert_eq!(c.pdu(1, &[0x02, 0x00, 0x00, 0x00, 0x04]).await.unwrap(), [0x02, 0x01, 0b0010]);
    // FC 6 echoes, and a read after the answer sees the value.
    assert_eq!(c.pdu(1, &[0x06, 0x00, 0x01, 0x02, 0xBC]).await.unwrap(), [0x06, 0x00, 0x01, 0x02, 0xBC]);
    assert_eq!(read_holding(&mut c, 1, 1).await, [700]);
    // FC 16 answers address and quantity.
    assert_eq!(
        c.pdu(1, &[0x10, 0x00, 0x00, 0x00, 0x02, 0x04, 0x01, 0x90, 0x02, 0x58]).await.unwrap(),
        [0x10, 0, 0, 0, 2]
    );
    assert_eq!(read_holding(&mut c, 0, 2).await, [400, 600]);
    // FC 5 then FC 15 on the manual mode and command coils.
    assert_eq!(c.pdu(1, &[0x05, 0x00, 0x01, 0xFF, 0x00]).await.unwrap(), [0x05, 0x00, 0x01, 0xFF, 0x00]);
    assert_eq!(c.pdu(1, &[0x0F, 0x00, 0x00, 0x00, 0x02, 0x01, 0b11]).await.unwrap(), [0x0F, 0, 0, 0, 2]);
    assert_eq!(c.pdu(1, &[0x01, 0x00, 0x00, 0x00, 0x03]).await.unwrap(), [0x01, 0x01, 0b111]);
    // FC 23 writes first, then reads what it wrote.
    let r =
        c.pdu(1, &[0x17, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0x2C]).await.unwrap();
    assert_eq!(r, [0x17, 4, 0x01, 0x2C, 0x02, 0x58]);
    // FC 43/14 basic identification, stream from object 0.
    let r = c.pdu(1, &[0x2B, 0x0E, 0x01, 0x00]).await.unwrap();
    let text = String::from_utf8_lossy(&r);
    assert_eq!(&r[..6], &[0x2B, 0x0E, 0x01, 0x81, 0x00, 0x00]);
    assert_eq!(r[6], 3, "three objects");
    assert!(
        text.contains("Siemens") && text.contains("S7-1200 CPU 1214C") && text.contains("V4.5"),
        "{text}"
    );
    // FC 43/14 individual access to object 2, and to a missing object.
    let r = c.pdu(1, &[0x2B, 0x0E, 0x04, 0x02]).await.unwrap();
    assert_eq!(&r[6..], &[1, 0x02, 4, b'V', b'4', b'.', b'5']);
    assert_eq!(c.pdu(1, &[0x2B, 0x0E, 0x04, 0x09]).await.unwrap(), [0xAB, 0x02]);
    // FC 17: byte count, server id (unit id and device string), run indicator.
    let r = c.pdu(1, &[0x11]).await.unwrap();
    assert_eq!(&r[..3], &[0x11, (r.len() - 2) as u8, 1]);
    assert_eq!(r.last(), Some(&0xFF), "running");
    assert_eq!(String::from_utf8_lossy(&r[3..r.len() - 1]), "Siemens S7-1200 CPU 1214C V4.5");
    // FC 8 sub-function 0 echoes.
    assert_eq!(c.pdu(1, &[0x08, 0x00, 0x00, 0xA5, 0x37]).await.unwrap(), [0x08, 0x00, 0x00, 0xA5, 0x37]);
    // Unit 0 and 255 mean "this device" too.
    assert_eq!(c.pdu(0xFF, &[0x03, 0x00, 0x01, 0x00, 0x01]).await.unwrap(), [0x03, 2, 0x02, 0x58]);
    range.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_exception_path_answers_the_right_code() {
    let range = start(builtin("petrochem-tank-farm"), |_| {}).await;
    let mut c = Client::connect(endpoint(&range, "plc-t101")).await;
    #[rustfmt::skip]
    let cases: &[(u8, &[u8], &[u8], &str)] = &[
        (1, &[0x03, 0x00, 0x05, 0x00, 0x01], &[0x83, 0x02], "unmapped holding register"),
        (1, &[0x03, 0x00, 0x63, 0x00, 0x02], &[0x83, 0x02], "range runs into the reserved block from a gap"),
        (1, &[0x03, 0x00, 0x95, 0x00, 0x01], &[0x03, 2, 0, 0], "the reserved block reads"),
        (1, &[0x03, 0xFF, 0xFF, 0x00, 0x02], &[0x83, 0x02], "address overflow"),
        (1, &[0x03, 0x00, 0x00, 0x00, 0x00], &[0x83, 0x03], "zero quantity"),
        (1, &[0x03, 0x00, 0x00, 0x00, 0x7E], &[0x83, 0x03], "126 registers"),
        (1, &[0x01, 0x00, 0x00, 0x07, 0xD1], &[0x81, 0x03], "2001 coils"),
        (1, &[0x04, 0x00, 0x03, 0x00, 0x01], &[0x84, 0x02], "unmapped input register"),
        (1, &[0x06, 0x00, 0x05, 0x00, 0x01], &[0x86, 0x02], "write to an unmapped register"),
        (1, &[0x05, 0x00, 0x00, 0x12, 0x34], &[0x85, 0x03], "coil value not 0 or FF00"),
        (1, &[0x05, 0x00, 0x09, 0xFF, 0x00], &[0x85, 0x02], "unmapped coil"),
        (1, &[0x0F, 0x00, 0x00, 0x00, 0x0A, 0x01, 0xFF], &[0x8F, 0x03], "byte count 1 for 10 coils"),
        (1, &[0x10, 0x00, 0x00, 0x00, 0x02, 0x04, 0x00, 0x01], &[0x90, 0x03], "body shorter than its count"),
        (1, &[0x16, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00], &[0x96, 0x01], "mask write is not implemented"),
        (1, &[0x07], &[0x87, 0x01], "read exception status is serial only"),
        (1, &[0x2B, 0x0D, 0x00, 0x00], &[0xAB, 0x01], "MEI type 13"),
        (1, &[0x08, 0x00, 0x0A, 0x00, 0x00], &[0x88, 0x01], "diagnostics sub-function 10"),
        (7, &[0x03, 0x00, 0x00, 0x00, 0x01], &[0x83, 0x0B], "another unit id"),
        (1, &[0x80], &[0x80, 0x01], "function code 0x80"),
    ];
    for (unit, request, expected, what) in cases {
        let r = c.pdu(*unit, request).await.unwrap_or_else(|| panic!("no answer: {what}"));
        assert_eq!(r, *expected, "{what}");
    }
    // The connection survived every one of them.
    assert_eq!(read_holding(&mut c, 0, 1).await, [400]);
    range.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firewall_and_plc_checks_answer_as_the_scenario_says() {
    let range = start(mini(), |o| {
        o.sources = vec![
            ("127.0.0.66".parse().unwrap(), "office".into()),
            ("127.0.0.67".parse().unwrap(), "hist".into()),
        ];
    })
    .await;
    let addr = endpoint(&range, "plc1");
    let mut ews = Client::connect(addr).await;
    #[rustfmt::skip]
    let cases: &[(&[u8], &[u8], &str)] = &[
        (&[0x06, 0x00, 0x00, 0x02, 0x58], &[0x06, 0x00, 0x00, 0x02, 0x58], "600 is inside the window and the range"),
        (&[0x06, 0x00, 0x00, 0x03, 0xB6], &[0x86, 0x03], "950 is outside the conduit's value window"),
        (&[0x06, 0x00, 0x00, 0x03, 0x52], &[0x86, 0x03], "850 passes the conduit but not the PLC's range check"),
        (&[0x10, 0x00, 0x03, 0x00, 0x01, 0x02, 0x00, 0x01], &[0x90, 0x02], "address 3 is outside the write windows"),
        (&[0x0F, 0x00, 0x00, 0x00, 0x02, 0x01, 0x03], &[0x8F, 0x01], "FC 15 is not on the allow-list"),
        (&[0x11], &[0x91, 0x01], "FC 17 is not on the allow-list"),
        (&[0x08, 0x00, 0x04, 0x00, 0x00], &[0x88, 0x01], "FC 8 is not on the allow-list"),
    ];
    for (request, expected, what) in cases {
        assert_eq!(ews.pdu(1, request).await.as_deref(), Some(*expected), "{what}");
    }
    // From the office (no conduit) and the historian (not an allowed source): reset at connect.
    for from in ["127.0.0.66", "127.0.0.67"] {
        if let Some(mut c) = Client::connect_from(from.parse().unwrap(), addr).await {
            assert!(c.closed(ANSWER).await, "a connection from {from} must be refused");
        }
    }
    let sim = range.shutdown().await.unwrap();
    let refused: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ModbusConnection { source, refused: Some(r), .. } => Some((source.clone(), *r)),
            _ => None,
        })
        .collect();
    assert!(refused.contains(&("office".into(), RejectReason::NoRoute)), "{refused:?}");
    assert!(refused.contains(&("hist".into(), RejectReason::SourceNotAllowed)), "{refused:?}");
    let blocked = sim.events().iter().any(|e| {
        matches!(
            &e.kind,
            EventKind::ModbusTransaction(ModbusTransaction {
                function: 15,
                exception: Some(1),
                reason: Some(RejectReason::FunctionNotAllowed),
                ..
            })
        )
    });
    assert!(blocked, "the blocked FC 15 is in the transaction log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_close_only_that_connection() {
    let range = start(builtin("petrochem-tank-farm"), |_| {}).await;
    let addr = endpoint(&range, "plc-t101");
    let mut bystander = Client::connect(addr).await;
    #[rustfmt::skip]
    let fatal: &[(&[u8], &str)] = &[
        //  tid         protocol    length      unit  pdu
        (&[0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01], "protocol id 1"),
        (&[0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01], "length 0"),
        (&[0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01], "length 1: no function code"),
        (&[0x00, 0x01, 0x00, 0x00, 0x01, 0x2C, 0x01, 0x03], "length 300: oversized"),
        (&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "all ones"),
        (b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n", "an HTTP request"),
    ];
    for (bytes, what) in fatal {
        let mut c = Client::connect(addr).await;
        c.send(bytes).await;
        assert!(c.closed(ANSWER).await, "{what}: the server must close");
        // The server stays up: the next connection works.
        assert_eq!(read_holding(&mut Client::connect(addr).await, 0, 1).await, [400], "after {what}");
    }
    // A length field shorter than the PDU sent: the PDU is cut, answered as malformed, and the
    // rest starts a frame that never completes.
    let mut c = Client::connect(addr).await;
    c.send(&[0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01]).await;
    assert_eq!(c.response(ANSWER).await.unwrap(), [0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x03]);
    // A truncated frame, then the client gives up: nothing to answer.
    let mut c = Client::connect(addr).await;
    c.send(&[0x00, 0x08, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03]).await;
    assert_eq!(c.response(SILENCE).await, None);
    drop(c);
    // Two requests in one segment get two answers, in order.
    let mut c = Client::connect(addr).await;
    let req = |tid: u8, reg: u8| [0x00, tid, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, reg, 0x00, 0x01];
    c.send(&[req(1, 0), req(2, 1)].concat()).await;
    assert_eq!(c.response(ANSWER).await.unwrap(), [0, 1, 0, 0, 0, 5, 1, 3, 2, 0x01, 0x90]);
    assert_eq!(c.response(ANSWER).await.unwrap(), [0, 2, 0, 0, 0, 5, 1, 3, 2, 0x02, 0x58]);
    // Through all of it the other connection kept working.
    assert_eq!(read_holding(&mut bystander, 0, 2).await, [400, 600]);
    let sim = range.shutdown().await.unwrap();
    // Logged one by one within the record budget, the rest counted in traffic summaries
    // (malformed frames carry function 0 there).
    let malformed: u32 = sim
        .events()
        .iter()
        .map(|e| match &e.kind {
            EventKind::ModbusTransaction(ModbusTransaction {
                reason: Some(RejectReason::Malformed),
                repeat,
                ..
            }) => *repeat,
            EventKind::TrafficSummary { entries } => {
                entries.iter().filter(|c| c.function == Some(0)).map(|c| c.count).sum()
            }
            _ => 0,
        })
        .sum();
    assert!(malformed as usize > fatal.len(), "every malformed frame is logged ({malformed})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_listen_only_silences_the_plc_until_restart() {
    let range = start(builtin("petrochem-tank-farm"), |_| {}).await;
    let addr = endpoint(&range, "plc-r201");
    let mut c = Client::connect(addr).await;
    // Force listen-only: no answer, then reads go unanswered too, on any connection.
    assert_eq!(c.pdu(1, &[0x08, 0x00, 0x04, 0x00, 0x00]).await, None);
    let mut other = Client::connect(addr).await;
    assert_eq!(other.pdu(1, &[0x03, 0x00, 0x00, 0x00, 0x01]).await, None);
    // Restart communications ends listen-only mode, and (the specification: "no response is
    // returned" in listen-only mode) is not answered itself.
    other.send(&[0x00, 0x09, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x01, 0x00, 0x00]).await;
    assert_eq!(other.response(SILENCE).await, None, "restart from listen-only is silent");
    assert_eq!(read_holding(&mut other, 0, 1).await, [1200]);
    // Out of listen-only mode, restart communications answers with an echo.
    assert_eq!(other.pdu(1, &[0x08, 0x00, 0x01, 0x00, 0x00]).await.unwrap(), [0x08, 0x00, 0x01, 0x00, 0x00]);
    let sim = range.shutdown().await.unwrap();
    let changes: Vec<bool> = sim
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ListenOnlyChanged { listen_only, .. } => Some(listen_only),
            _ => None,
        })
        .collect();
    assert_eq!(changes, [true, false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cap_and_idle_timeout_hold() {
    let range = start(builtin("petrochem-tank-farm"), |o| {
        o.limits.max_connections = 2;
        o.limits.idle_timeout = Duration::from_millis(800);
    })
    .await;
    let addr = endpoint(&range, "plc-t101");
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    assert_eq!(read_holding(&mut a, 0, 1).await, [400]);
    assert_eq!(read_holding(&mut b, 0, 1).await, [400]);
    if let Some(mut third) = Client::try_connect(addr).await {
        assert!(third.closed(ANSWER).await, "a third connection is over the cap");
    }
    // Silent connections are closed after the idle timeout, freeing their slots.
    assert!(a.closed(Duration::from_secs(3)).await);
    assert!(b.closed(Duration::from_secs(3)).await);
    let mut again = Client::connect(addr).await;
    assert_eq!(read_holding(&mut again, 0, 1).await, [400]);
    range.shutdown().await.unwrap();
}

/// A client that shuts its side right after its request (as `nc -N` and socat do; the request
/// and the end in one segment, or both there before the endpoint looks) is answered and then
/// closed at once, not at the idle timeout with its slot held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_shuts_its_side_after_its_request_is_answered_and_closed() {
    let range =
        start(builtin("petrochem-tank-farm"), |o| o.limits.idle_timeout = Duration::from_secs(30)).await;
    let addr = endpoint(&range, "plc-t101");
    let mut clients = tokio::task::JoinSet::new();
    for t in 0..16u8 {
        clients.spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&[0, t, 0, 0, 0, 6, 1, 0x03, 0, 0, 0, 1]).await.unwrap();
            s.shutdown().await.unwrap();
            let mut answer = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut answer)).await;
            assert!(matches!(read, Ok(Ok(11))), "answered, then closed within 3 s: {read:?} {answer:02X?}");
            assert_eq!(answer[..2], [0, t], "its answer");
        });
    }
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    range.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_on_one_plc_does_not_stall_another() {
    let range = start(builtin("petrochem-tank-farm"), |_| {}).await;
    let flooded = endpoint(&range, "plc-t101");
    let quiet = endpoint(&range, "plc-r201");
    // 32 connections hammer one PLC for a bounded number of requests each.
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..32 {
        flood.spawn(async move {
            let mut c = Client::connect(flooded).await;
            for _ in 0..300 {
                if c.pdu(1, &[0x03, 0x00, 0x00, 0x00, 0x7D]).await.is_none() {
                    break;
                }
            }
        });
    }
    let mut c = Client::connect(quiet).await;
    for _ in 0..20 {
        let answer =
            tokio::time::timeout(Duration::from_secs(2), c.pdu(1, &[0x03, 0x00, 0x00, 0x00, 0x01])).await;
        assert!(matches!(answer, Ok(Some(_))), "the quiet PLC must keep answering during the flood");
    }
    while flood.join_next().await.is_some() {}
    range.shutdown().await.unwrap();
}

/// A client that keeps its socket full (requests pipelined as fast as it can send them, its
/// answers read as fast as they come, no pace to make it wait) has its event loop a turn at a
/// time: another client of the same loop is answered all along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelining_client_does_not_hold_its_event_loop() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let range = start(builtin("petrochem-tank-farm"), |o| {
        o.limits.request_rate = 0;
        o.event_loops = 1;
    })
    .await;
    // Plain threads, blocking, so the client keeps up whatever the test's runtime does.
    let stream = std::net::TcpStream::connect(endpoint(&range, "plc-t101")).unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut rx, mut tx) = (stream.try_clone().unwrap(), stream);
    let done = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    // 1,000 reads of 125 registers in each write.
    let batch: Vec<u8> = (0..1_000u16)
        .flat_map(|t| {
            let [a, b] = t.to_be_bytes();
            [a, b, 0, 0, 0, 6, 1, 0x03, 0, 0, 0, 125]
        })
        .collect();
    let writer = std::thread::spawn({
        let done = done.clone();
        move || while !done.load(Ordering::Relaxed) && std::io::Write::write_all(&mut tx, &batch).is_ok() {}
    });
    let reader = std::thread::spawn({
        let (done, answered) = (done.clone(), answered.clone());
        move || {
            let mut buf = vec![0u8; 1 << 16];
            while !done.load(Ordering::Relaxed) {
                match std::io::Read::read(&mut rx, &mut buf) {
                    // Each answer: 7 bytes of header, function, byte count, 125 registers.
                    Ok(n) if n > 0 => answered.fetch_add(n, Ordering::Relaxed),
                    _ => break,
                };
            }
        }
    });
    let flowing = tokio::time::timeout(ANSWER, async {
        while answered.load(Ordering::Relaxed) < 259 * 10_000 {
            tokio::task::yield_now().await;
        }
    });
    assert!(flowing.await.is_ok(), "the pipeline is answered");
    let mut quiet = Client::connect(endpoint(&range, "plc-r201")).await;
    for _ in 0..20 {
        let answer =
            tokio::time::timeout(Duration::from_secs(2), quiet.pdu(1, &[0x03, 0x00, 0x00, 0x00, 0x01])).await;
        assert!(matches!(answer, Ok(Some(_))), "the other client of the loop is answered");
    }
    let before = answered.load(Ordering::Relaxed);
    tokio::time::timeout(ANSWER, async {
        while answered.load(Ordering::Relaxed) < before + 259 * 1_000 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the pipeline is still answered");
    done.store(true, Ordering::Relaxed);
    drop(quiet);
    // The range's shutdown closes the connection, which ends both threads.
    range.shutdown().await.unwrap();
    writer.join().unwrap();
    reader.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_events_and_served_over_http() {
    let range = start(builtin("petrochem-tank-farm"), |_| {}).await;
    let mut c = Client::connect(endpoint(&range, "plc-t101")).await;
    read_holding(&mut c, 0, 5).await;
    c.pdu(1, &[0x06, 0x00, 0x01, 0x02, 0xBC]).await.unwrap();
    c.pdu(1, &[0x03, 0x00, 0x09, 0x00, 0x01]).await.unwrap();
    // The records of reads reach the log within a tick or two (the last, once its poll
    // window closes).
    let logged = crate::util::wait_for_event(&range.live, Duration::from_secs(10), |e| {
        matches!(e.kind, EventKind::ModbusTransaction(ModbusTransaction { function: 3, addr: 9, .. }))
    })
    .await;
    assert!(logged, "the last read is logged");
    let body = http_get(range.http.expect("serve_http is on"), "/api/transactions?since=0&limit=100").await;
    let v: serde_json::Value = serde_json::from_str(&body.1).unwrap();
    let events = v["events"].as_array().unwrap();
    let find = |f: &dyn Fn(&serde_json::Value) -> bool| events.iter().find(|e| f(e)).cloned();
    let read = find(&|e| e["function"] == 3 && e["addr"] == 0).expect("the read is logged");
    assert_eq!(
        (read["plc"].as_str(), read["source"].as_str(), read["count"].as_u64()),
        (Some("plc-t101"), Some("ews-01"), Some(5))
    );
    let write = find(&|e| e["function"] == 6).expect("the write is logged");
    assert_eq!(write["values"], serde_json::json!([700]));
    let bad = find(&|e| e["function"] == 3 && e["addr"] == 9).expect("the failed read is logged");
    assert_eq!((bad["exception"].as_u64(), bad["reason"].as_str()), (Some(2), Some("illegal_address")));
    assert!(find(&|e| e["kind"] == "modbus_connection").is_some());
    let next = v["next"].as_u64().unwrap();
    let later: serde_json::Value = serde_json::from_str(
        &http_get(range.http.expect("serve_http is on"), &format!("/api/transactions?since={next}")).await.1,
    )
    .unwrap();
    assert!(later["events"].as_array().unwrap().iter().all(|e| e["seq"].as_u64().unwrap() >= next));
    range.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_reports_health_endpoints_and_clear_errors() {
    let range = start(builtin("petrochem-tank-farm"), |_| {}).await;
    let (status, body) = http_get(range.http.expect("serve_http is on"), "/api/health").await;
    assert_eq!(status, 200);
    let health: icsdrill_web::Health = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (health.scenario.as_str(), health.status.as_str(), health.endpoints),
        ("petrochem-tank-farm", "ok", 4)
    );
    let (status, body) = http_get(range.http.expect("serve_http is on"), "/api/endpoints").await;
    assert_eq!(status, 200);
    let endpoints: Vec<icsdrill_web::EndpointInfo> = serde_json::from_str(&body).unwrap();
    assert_eq!(endpoints, range.endpoints);
    for (path, code) in [
        ("/api/transactions?limit=0", 400),
        ("/api/transactions?since=abc", 400),
        ("/api/transactions?bogus=1", 400),
        ("/nope", 404),
    ] {
        let (status, body) = http_get(range.http.expect("serve_http is on"), path).await;
        assert_eq!(status, code, "{path}");
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: not JSON: {body}"));
        assert!(v["error"].as_str().is_some_and(|m| !m.is_empty()), "{path}: {body}");
    }
    range.shutdown().await.unwrap();
}

/// A minimal HTTP/1.1 GET: status code and body.
pub(crate) async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: icsdrill\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(ANSWER, s.read_to_end(&mut raw)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

/// A whole chunked body's data.
pub(crate) fn dechunk(s: &str) -> String {
    let (data, _, _) = chunks(s.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&data).into_owned()
}

/// The whole chunks at the front of `raw` (HTTP/1.1 chunked coding): their data, the bytes
/// they took, and whether the last chunk (size 0) came among them. `Err` at a chunk whose
/// framing is broken: its size line, or no CRLF after its data.
pub(crate) fn chunks(raw: &[u8]) -> Result<(Vec<u8>, usize, bool), String> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (mut data, mut at) = (Vec::new(), 0);
    while let Some(line) = raw[at..].windows(2).position(|w| w == b"\r\n") {
        let size = &raw[at..at + line];
        let len = usize::from_str_radix(text(size).trim(), 16)
            .map_err(|_| format!("a chunk's size: {:?}", text(&size[..line.min(40)])))?;
        let start = at + line + 2;
        if len == 0 {
            return Ok((data, start, true));
        }
        if raw.len() < start + len + 2 {
            break;
        }
        if &raw[start + len..start + len + 2] != b"\r\n" {
            return Err("a chunk ends in CRLF".into());
        }
        data.extend_from_slice(&raw[start..start + len]);
        at = start + len + 2;
    }
    Ok((data, at, false))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_loop_is_folded_into_few_records_with_every_request_counted() {
    let range = start(builtin("petrochem-tank-farm"), |_| {}).await;
    let mut c = Client::connect(endpoint(&range, "plc-t101")).await;
    for _ in 0..50 {
        read_holding(&mut c, 0, 2).await;
    }
    // A different request ends the fold; so does the connection closing.
    c.pdu(1, &[0x04, 0x00, 0x00, 0x00, 0x01]).await.unwrap();
    drop(c);
    let logged = crate::util::wait_for_event(&range.live, Duration::from_secs(10), |e| {
        matches!(e.kind, EventKind::ModbusTransaction(ModbusTransaction { function: 4, .. }))
    })
    .await;
    assert!(logged, "the request that ended the fold is logged");
    let sim = range.shutdown().await.unwrap();
    let polls: Vec<u32> = sim
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ModbusTransaction(ModbusTransaction {
                function: 3,
                addr: 0,
                count: 2,
                repeat,
                ..
            }) => Some(repeat),
            _ => None,
        })
        .collect();
    assert_eq!(polls.iter().sum::<u32>(), 50, "every poll counted: {polls:?}");
    assert!(polls.len() < 50, "polls folded: {polls:?}");
    assert!(
        sim.events()
            .iter()
            .any(|e| matches!(e.kind, EventKind::ModbusTransaction(ModbusTransaction { function: 4, .. })))
    );
}

/// A connection's requests go on record in the order it sent them: reads folded before a write
/// are logged before it, so the log (and a capture drawn from it) shows no read after the write
/// it came before, answered with the written value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connections_reads_are_logged_before_the_write_that_follows_them() {
    let range = start(builtin("petrochem-tank-farm"), |_| {}).await;
    let mut c = Client::connect(endpoint(&range, "plc-t101")).await;
    read_holding(&mut c, 2, 3).await;
    assert_eq!(c.pdu(1, &[0x06, 0x00, 0x01, 0x02, 0xBC]).await.unwrap(), [0x06, 0x00, 0x01, 0x02, 0xBC]);
    assert_eq!(read_holding(&mut c, 1, 1).await, [700]);
    assert_eq!(c.pdu(1, &[0x06, 0x00, 0x01, 0x02, 0x58]).await.unwrap(), [0x06, 0x00, 0x01, 0x02, 0x58]);
    drop(c);
    let logged = crate::util::wait_for_event(&range.live, Duration::from_secs(10), |e| {
        matches!(e.kind, EventKind::ModbusTransaction(ModbusTransaction { function: 6, addr: 1, ref values, .. }) if values == &[600])
    })
    .await;
    assert!(logged, "the last write is logged");
    let sim = range.shutdown().await.unwrap();
    let order: Vec<String> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ModbusTransaction(ModbusTransaction { function: 3, addr, .. }) => {
                Some(format!("read {addr}"))
            }
            EventKind::ModbusTransaction(ModbusTransaction { function: 6, values, .. }) => {
                Some(format!("write {values:?}"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(order, ["read 2", "write [700]", "read 1", "write [600]"]);
}

/// A request to another unit id is refused (gateway target failed) and logged as it was sent:
/// its unit, address and count (the log said unit 1, address 0, count 0, and so did the
/// capture drawn from it: a unit scan read as a scan of nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_to_another_unit_is_logged_as_it_was_sent() {
    let range = start(builtin("petrochem-tank-farm"), |_| {}).await;
    let mut c = Client::connect(endpoint(&range, "plc-t101")).await;
    assert_eq!(c.pdu(7, &[0x03, 0x00, 0x02, 0x00, 0x0A]).await.unwrap(), [0x83, 0x0B]);
    drop(c);
    let logged = crate::util::wait_for_event(&range.live, Duration::from_secs(10), |e| {
        matches!(
            e.kind,
            EventKind::ModbusTransaction(ModbusTransaction { reason: Some(RejectReason::WrongUnit), .. })
        )
    })
    .await;
    assert!(logged, "the request is logged");
    let sim = range.shutdown().await.unwrap();
    let wrong: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ModbusTransaction(ModbusTransaction {
                function,
                addr,
                count,
                exception,
                reason: Some(RejectReason::WrongUnit),
                unit,
                ..
            }) => Some((*function, *addr, *count, *exception, *unit)),
            _ => None,
        })
        .collect();
    assert_eq!(wrong, [(3, 2, 10, Some(0x0B), Some(7))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_plc_answers_nobody_until_the_defenders_cut_the_flood_off() {
    // The operator station floods T-101 for a minute: the endpoint is as silent to the
    // engineering workstation's client as the engine's routine polls find it. Blocked at the
    // conduit, the flood stops arriving and the PLC talks again, long before the minute ends.
    let s = builtin("petrochem-tank-farm");
    let i = s.plc("plc-t101").unwrap().ix();
    let range = start(s, |_| {}).await;
    let t101 = endpoint(&range, "plc-t101");
    let mut c = Client::connect(t101).await;
    read_holding(&mut c, 0, 1).await;
    let next_tick = |range: &Range| {
        let (live, now) = (range.live.clone(), range.live.snapshot().tick);
        async move { live.wait_for_tick(now + 1).await }
    };
    let flood = SimInput::Flood { plc: "plc-t101".into(), source: "hmi-01".into(), seconds: 60.0 };
    range.live.apply(flood).await.expect("the flood starts");
    next_tick(&range).await;
    assert!(range.live.snapshot().plcs[i].flooded, "flooded now");
    c.send(&[0, 9, 0, 0, 0, 6, 1, 0x03, 0x00, 0x00, 0x00, 0x01]).await;
    assert!(c.response(Duration::from_secs(1)).await.is_none(), "no answer while flooded");
    let block = SimInput::BlockSource { conduit: "c-sup-ctl".into(), host: "hmi-01".into() };
    range.live.apply(block).await.expect("the defenders block the flooding host");
    next_tick(&range).await;
    assert!(!range.live.snapshot().plcs[i].flooded, "the flood ended with the block");
    assert_eq!(read_holding(&mut c, 0, 1).await.len(), 1, "answered again");
    let sim = range.shutdown().await.unwrap();
    let silent = sim.events().iter().any(|e| {
        matches!(&e.kind, EventKind::ModbusTransaction(ModbusTransaction { plc, reason: Some(RejectReason::Flooded), .. }) if plc == "plc-t101")
    });
    assert!(silent, "the unanswered read is in the log, as flooded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attack_write_held_by_a_paused_clock_is_not_logged_as_blocked() {
    // The attacker reaches the engineering workstation at once and writes T-101's fill stop
    // level half a plant second in.
    let attack = "
  - { id: in, name: { en: In, zh: 进入 }, techniques: [T0886], when: { at_s: 0.1 }, action: { pivot: { host: hist-dmz-01 } } }
  - { id: ews, name: { en: EWS, zh: 工程师站 }, techniques: [T0886], when: { after: in, outcome: succeeded, at_s: 0.2 }, action: { pivot: { host: ews-01 } } }
  - { id: write, name: { en: Write, zh: 写入 }, techniques: [T0836], when: { after: ews, outcome: succeeded, at_s: 0.5 }, action: { write_registers: { plc: plc-t101, addr: 1, values: [900] } } }";
    a_held_attack_write_succeeds("petrochem-tank-farm", attack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iec104_command_held_by_a_paused_clock_is_not_logged_as_blocked() {
    // From the backdoored SCADA server, QF1 opened half a plant second in.
    let attack = "
  - { id: write, name: { en: Open QF1, zh: 断开 QF1 }, techniques: [T0855], when: { at_s: 0.5 }, action: { iec104_command: { plc: rtu-1, ioa: 2001, type: C_DC_NA_1, value: 1 } } }";
    a_held_attack_write_succeeds("power-industroyer-substation", attack).await;
}

/// Scenario `id` with `attack` (whose step `write` writes): the clock is held with the write on
/// the wire for longer than the attacker's request timeout. When it runs again the write
/// lands, and the log must say the attack step succeeded (not failed, with its write applied).
async fn a_held_attack_write_succeeds(id: &str, attack: &str) {
    let range = start_with_attack(with_attack(id, attack), |o| o.running = false).await;
    let live = range.live.clone();
    live.step(10);
    live.wait_for_tick(10).await;
    // Held: no tick comes, for longer than the attacker's timeout.
    let held = tokio::time::timeout(REQUEST_TIMEOUT + Duration::from_secs(1), live.wait_for_tick(11)).await;
    assert!(held.is_err(), "the clock is held");
    let result = |e: &icsdrill_engine::SimEvent| matches!(&e.kind, EventKind::InputApplied { input: SimInput::AttackResult { step, .. } } if step == "write");
    let mut ticks = 10;
    while live.events_since(0, 1, result).is_empty() && ticks < 100 {
        ticks += 1;
        live.step(1);
        live.wait_for_tick(ticks).await;
    }
    let results = live.events_since(0, 10, result);
    assert!(
        matches!(&results[..], [e] if matches!(&e.kind, EventKind::InputApplied { input: SimInput::AttackResult { ok: true, .. } })),
        "one result, a success: {results:?}"
    );
    range.shutdown().await.unwrap();
}

/// Built-in scenario `id` with its attack replaced by `attack` (steps in YAML flow style).
fn with_attack(id: &str, attack: &str) -> Arc<Scenario> {
    let source = icsdrill_scenarios::builtin(id).unwrap().source;
    let (head, rest) = source.split_once("\nattack:\n").unwrap();
    let tail = &rest[rest.find("\nscoring:").unwrap()..];
    let yaml = format!("{head}\nattack:{attack}{tail}");
    Arc::new(Scenario::from_yaml("attack.yaml", &yaml).unwrap_or_else(|e| panic!("{e}")))
}

/// A team that holds every slot of its PLC's endpoint (the connection cap) does not lock its
/// attacker out: the range's own clients have slots of their own, so the attack lands as it
/// would on a team that left the slots free (a team that held them saw every step fail and
/// outscored the teams that defended).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_holding_its_endpoints_slots_does_not_lock_its_attacker_out() {
    let attack = "
  - { id: in, name: { en: In, zh: 进入 }, techniques: [T0886], when: { at_s: 0.1 }, action: { pivot: { host: hist-dmz-01 } } }
  - { id: ews, name: { en: EWS, zh: 工程师站 }, techniques: [T0886], when: { after: in, outcome: succeeded, at_s: 0.2 }, action: { pivot: { host: ews-01 } } }
  - { id: write, name: { en: Write, zh: 写入 }, techniques: [T0836], when: { after: ews, outcome: succeeded, at_s: 2 }, action: { write_registers: { plc: plc-t101, addr: 1, values: [900] } } }";
    let range = start_with_attack(with_attack("petrochem-tank-farm", attack), |o| {
        o.limits.max_connections = 2;
        o.running = false;
    })
    .await;
    let plc = endpoint(&range, "plc-t101");
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = Client::connect(plc).await;
        assert_eq!(read_holding(&mut c, 0, 1).await.len(), 1, "the team's connection is served");
        held.push(c);
    }
    // A third is refused (reset at once, or closed unanswered).
    if let Some(mut third) = Client::connect_from("127.0.0.1".parse().unwrap(), plc).await {
        let _ = third.stream.write_all(&[0, 9, 0, 0, 0, 6, 1, 0x03, 0x00, 0x00, 0x00, 0x01]).await;
        assert!(third.response(Duration::from_secs(1)).await.is_none(), "the endpoint's slots are all held");
    }
    range.live.set_running(true);
    let result = |e: &icsdrill_engine::SimEvent| matches!(&e.kind, EventKind::InputApplied { input: SimInput::AttackResult { step, .. } } if step == "write");
    assert!(
        crate::util::wait_for_event(&range.live, Duration::from_secs(30), result).await,
        "the write's result"
    );
    let results = range.live.events_since(0, 10, result);
    assert!(
        matches!(&results[..], [e] if matches!(&e.kind, EventKind::InputApplied { input: SimInput::AttackResult { ok: true, .. } })),
        "the attacker's write went through the held endpoint: {results:?}"
    );
    drop(held);
    range.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_attackers_flood_is_on_the_wire_and_saturates_the_plc() {
    // The tank farm's flood, moved to just after the attacker reaches the engineering
    // workstation; 1000 ticks a second, so its 120 plant seconds are about a wall second.
    let source = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().source;
    let from = "when: { condition: { var: t101_level, above: 85 }, at_s: 200 }\n    action: { flood:";
    assert_eq!(source.matches(from).count(), 1);
    let yaml = source
        .replace(from, "when: { after: pivot-ews, outcome: succeeded, at_s: 95 }\n    action: { flood:");
    let s = Arc::new(Scenario::from_yaml("flood.yaml", &yaml).unwrap_or_else(|e| panic!("{e}")));
    let within = s.ticks(10.0);
    let range = start_with_attack(s, |o| o.ticks_per_s = Some(1000.0)).await;
    let flooded = |e: &icsdrill_engine::SimEvent| matches!(&e.kind, EventKind::CommsFlooded { plc, .. } if plc == "plc-t101");
    assert!(
        crate::util::wait_for_event(&range.live, Duration::from_secs(60), flooded).await,
        "plc-t101 flooded"
    );
    // Ten plant seconds of the flood (the attack's later writes connect too: not counted).
    let at = range.live.events_since(0, 1, flooded)[0].tick;
    let waited = tokio::time::timeout(Duration::from_secs(30), range.live.wait_for_tick(at + within)).await;
    assert!(waited.is_ok(), "the range ticks on");
    let sim = range.shutdown().await.unwrap();
    let ev: Vec<&icsdrill_engine::SimEvent> = sim.events().iter().filter(|e| e.tick <= at + within).collect();
    let from_ews = |e: &&&icsdrill_engine::SimEvent| matches!(&e.kind, EventKind::ModbusConnection { plc, source, .. } if plc == "plc-t101" && source == "ews-01");
    let refused = ev.iter().filter(from_ews).filter(|e| {
        matches!(&e.kind, EventKind::ModbusConnection { refused: Some(RejectReason::ConnectionLimit), .. })
    });
    // Beyond the range's record budget, connections are counted in its traffic summaries.
    let counted: (u32, u32) = ev
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TrafficSummary { entries } => Some(entries),
            _ => None,
        })
        .flatten()
        .filter(|c| c.plc == "plc-t101" && c.source == "ews-01" && c.function.is_none())
        .map(|c| (c.count, c.exceptions))
        .fold((0, 0), |a, c| (a.0 + c.0, a.1 + c.1));
    let connections = ev.iter().filter(from_ews).count() + counted.0 as usize;
    assert!(connections > 32, "the attacker's connections fill the endpoint's 32 slots: {connections}");
    let over_cap = refused.count() + counted.1 as usize;
    assert!(over_cap > 0, "connections over the cap are refused and logged");
    // The result came back from the wire, and the saturation is the engine's, as headless.
    assert!(ev.iter().any(|e| matches!(
        &e.kind,
        EventKind::AttackStepEnded { step, outcome: icsdrill_engine::attack::Outcome::Succeeded, .. } if step == "deny-view"
    )));
    assert!(
        ev.iter().any(|e| matches!(&e.kind, EventKind::IdsAlert { rule, .. } if rule == "connection_flood"))
    );
}

/// Refusals of another team's connections take turns with the range's own sessions: a storm
/// of them on a range's ports cannot hold its event loop. The endpoint is held in its first
/// refusal while 100 more foreign connections queue and the team's client asks; once let go,
/// every later refusal waits (2 s at most) for the team to have its answer, which it can have
/// only if the endpoint's loop served the team between two refusals (before, the loop refused
/// the whole queue in one turn first: a storm added milliseconds to the victim's answers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_teams_connection_storm_takes_turns_with_the_teams_requests() {
    use std::sync::{Condvar, Mutex};
    const STORM: usize = 100;
    #[derive(Default)]
    struct Storm {
        refused: usize,
        answered: bool,
        starved: bool,
    }
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let gate = Mutex::new(Some((held_tx, go_rx)));
    let state: Arc<(Mutex<Storm>, Condvar)> = Arc::default();
    let all = Arc::new(tokio::sync::Notify::new());
    let (hook_state, done) = (state.clone(), all.clone());
    let hook = move |_: IpAddr, _| {
        if let Some((held, go)) = gate.lock().unwrap().take() {
            let _ = held.send(());
            let _ = go.recv_timeout(Duration::from_secs(10));
        } else {
            let (lock, answered) = &*hook_state;
            let st = lock.lock().unwrap();
            if !st.starved {
                let (mut st, wait) =
                    answered.wait_timeout_while(st, Duration::from_secs(2), |s| !s.answered).unwrap();
                st.starved = wait.timed_out();
            }
        }
        let mut st = hook_state.0.lock().unwrap();
        st.refused += 1;
        if st.refused == STORM + 1 {
            done.notify_one();
        }
    };
    let range = start(builtin("petrochem-tank-farm"), |o| {
        o.clients.nets = vec!["127.10.2.0/24".parse().unwrap()];
        o.on_foreign = Some(icsdrill::runtime::modbus::server::ForeignHook(Arc::new(hook)));
        o.routine_traffic = false;
    })
    .await;
    let plc = endpoint(&range, "plc-t101");
    let mut team = Client::connect_from("127.10.2.5".parse().unwrap(), plc).await.expect("the team connects");
    assert_eq!(read_holding(&mut team, 0, 1).await.len(), 1);
    let foreign = |k: usize| Client::connect_from(IpAddr::from([127, 10, 1, 1 + (k % 200) as u8]), plc);
    let first = foreign(0).await;
    let held = tokio::task::spawn_blocking(move || held_rx.recv_timeout(Duration::from_secs(10)));
    assert!(matches!(held.await, Ok(Ok(()))), "the first foreign connection is being refused");
    // The storm queues in the listener's backlog (the handshake is the kernel's) while the
    // endpoint is held, and the team asks.
    let mut storm = vec![first];
    for k in 1..=STORM {
        storm.push(foreign(k).await);
    }
    team.send(&[0, 77, 0, 0, 0, 6, 1, 0x03, 0x00, 0x00, 0x00, 0x01]).await;
    go_tx.send(()).unwrap();
    let answer = team.response(ANSWER).await;
    state.0.lock().unwrap().answered = true;
    state.1.notify_all();
    assert!(answer.is_some_and(|r| r[..2] == [0, 77]), "the team is answered");
    let _ = tokio::time::timeout(ANSWER, all.notified()).await;
    let (refused, starved) = {
        let st = state.0.lock().unwrap();
        (st.refused, st.starved)
    };
    assert_eq!(refused, STORM + 1, "every foreign connection is refused and reported");
    assert!(!starved, "the team waited for the storm to be refused first");
    drop(storm);
    range.shutdown().await.unwrap();
}

/// The two event loops a shard may serve Modbus connections on (io_uring where the kernel has
/// it, epoll where not) answer alike: reads, a pipelined batch in one segment, a write (which
/// leaves the loop for a task), a request split over two segments, a client that shuts its
/// side after its request, and a bad header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_epoll_loop_answers_as_the_io_uring_loop_does() {
    let mut seen = Vec::new();
    for epoll_only in [false, true] {
        let range = start(builtin("petrochem-tank-farm"), |o| {
            o.epoll_only = epoll_only;
            o.event_loops = 1;
            o.limits.request_rate = 0;
        })
        .await;
        let addr = endpoint(&range, "plc-t101");
        let mut answers = Vec::new();
        let mut c = Client::connect(addr).await;
        answers.push(read_holding(&mut c, 0, 4).await);
        // 50 reads in one write: 50 answers, in order.
        let batch: Vec<u8> =
            (1..=50u16).flat_map(|t| [(t >> 8) as u8, t as u8, 0, 0, 0, 6, 1, 3, 0, 0, 0, 4]).collect();
        c.send(&batch).await;
        for t in 1..=50u16 {
            let r = c.response(ANSWER).await.expect("a pipelined answer");
            assert_eq!(r[..2], t.to_be_bytes(), "epoll {epoll_only}: in order");
            answers.push(r[9..].chunks(2).map(|w| u16::from_be_bytes([w[0], w[1]])).collect());
        }
        // A write waits for its tick (in a task of its own), then the connection goes on.
        let w = c.pdu(1, &[0x06, 0, 1, 0x02, 0x58]).await.expect("the write's answer");
        assert_eq!(w, [0x06, 0, 1, 0x02, 0x58], "epoll {epoll_only}");
        answers.push(read_holding(&mut c, 0, 4).await);
        // One request over two segments.
        let mut split = Client::connect(addr).await;
        split.send(&[0, 9, 0, 0, 0, 6]).await;
        tokio::task::yield_now().await;
        split.send(&[1, 3, 0, 0, 0, 2]).await;
        let r = split.response(ANSWER).await.expect("the split request's answer");
        answers.push(r[9..].chunks(2).map(|w| u16::from_be_bytes([w[0], w[1]])).collect());
        // Shut after the request: answered, then closed.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&[0, 7, 0, 0, 0, 6, 1, 0x03, 0, 0, 0, 1]).await.unwrap();
        s.shutdown().await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(ANSWER, s.read_to_end(&mut answer)).await;
        assert!(matches!(read, Ok(Ok(11))), "epoll {epoll_only}: answered, then closed: {read:?}");
        // A bad header closes that connection only.
        let mut bad = Client::connect(addr).await;
        bad.send(&[0, 1, 0, 9, 0, 6, 1, 3, 0, 0, 0, 1]).await;
        assert!(bad.closed(ANSWER).await, "epoll {epoll_only}: a bad protocol id closes");
        answers.push(read_holding(&mut c, 1, 1).await);
        seen.push(answers);
        range.shutdown().await.unwrap();
    }
    assert_eq!(seen[0].len(), 54);
    assert_eq!(seen[0], seen[1], "io_uring and epoll answer alike");
    assert_eq!(seen[0][51][1], 600, "the write took");
}

/// `icsdrill serve` serves its Modbus connections on io_uring where the kernel allows it (a
/// ring's descriptor a loop), on epoll where it does not, or where told: `--modbus-io epoll`,
/// or `ICSDRILL_MODBUS_IO=epoll` in its environment.
#[test]
fn a_served_range_is_on_io_uring_where_the_kernel_allows_it_and_on_epoll_when_told() {
    let rings = |pid: u32| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|l| l.to_string_lossy() == "anon_inode:[io_uring]")
            .count()
    };
    let allowed =
        std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").is_ok_and(|v| v.trim() == "0");
    let args =
        ["serve", "--event-loops", "1", "--modbus-port", "0", "--http-port", "0", "--no-routine-traffic"];
    for told in [None, Some("flag"), Some("environment")] {
        let epoll = told.is_some();
        let flag = [&args[..], &["--modbus-io", "epoll"]].concat();
        let args = if told == Some("flag") { &flag[..] } else { &args[..] };
        let (served, banner, _) = crate::util::spawn_served_with(args, None, |cmd| {
            if told == Some("environment") {
                cmd.env("ICSDRILL_MODBUS_IO", "epoll");
            }
        });
        // A request answered: the range's one loop is running (on whichever it is).
        let line = banner.iter().find(|l| l.starts_with("plc-t101")).expect("the PLC's line");
        let port: u16 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        std::io::Write::write_all(&mut c, &[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1]).unwrap();
        c.set_read_timeout(Some(ANSWER)).unwrap();
        let mut answer = [0u8; 11];
        std::io::Read::read_exact(&mut c, &mut answer).expect("an answer");
        let want = usize::from(allowed && !epoll);
        assert_eq!(rings(served.id()), want, "epoll {told:?}, io_uring allowed {allowed}: {banner:?}");
    }
}

/// A client that sends requests and reads none of its answers is read no further than its
/// answers go out (on either loop): its socket stops taking requests, the server holds a
/// bounded backlog of answers, and the client is not served from an ever-growing buffer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_no_answers_is_read_no_further_than_they_go_out() {
    for epoll_only in [false, true] {
        let range = start(builtin("petrochem-tank-farm"), |o| {
            o.epoll_only = epoll_only;
            o.event_loops = 1;
            o.limits.request_rate = 0;
            o.limits.idle_timeout = Duration::from_secs(60);
        })
        .await;
        let s = TcpStream::connect(endpoint(&range, "plc-t101")).await.unwrap();
        // 4096 reads of 125 registers a write: 48 KiB of requests, 1 MiB of answers.
        let batch: Vec<u8> = (0..4096u16)
            .flat_map(|t| {
                let [a, b] = t.to_be_bytes();
                [a, b, 0, 0, 0, 6, 1, 0x03, 0, 0, 0, 125]
            })
            .collect();
        let mut written = 0usize;
        let stalled = loop {
            assert!(written < 64 << 20, "epoll {epoll_only}: 64 MiB of requests taken, no answer read");
            match s.try_write(&batch) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    // Full: the server either reads on (the socket soon takes more) or waits
                    // for its answers to be read (it does not).
                    if tokio::time::timeout(Duration::from_millis(500), s.writable()).await.is_err() {
                        break true;
                    }
                }
                Err(e) => panic!("epoll {epoll_only}: {e}"),
            }
        };
        assert!(stalled);
        range.shutdown().await.unwrap();
    }
}
