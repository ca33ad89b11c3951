//! The scoreboard's fan-out: thousands of viewers of one board stream written by a few plain
//! threads, one `write` a viewer a board, instead of a task woken and an HTTP connection
//! polled per viewer.
//!
//! hyper answers a board stream's request (routing, login, the response head); then the
//! response body hands the connection's socket over ([`Conn::take_over`], done once what
//! hyper wrote is flushed) and stays pending. From there one of the fan-out's shard threads
//! writes the stream's HTTP chunks on the socket: the whole board first, then
//! for each new board the delta from the one the viewer holds. A viewer whose socket is full
//! skips boards (it gets the newest, from what it holds, when it has room) and a chunk it
//! has begun is finished first: one chunk waits per viewer, shared with the others, so a
//! slow viewer costs neither memory nor the other viewers' time. When the viewer closes, or
//! the drill ends, the body ends and hyper closes the connection (its slot under the
//! connection cap with it).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures_util::task::AtomicWaker;
use icsdrill_drill::Scoreboard;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

/// An idle stream gets a comment this often, so that proxies keep it open (axum's interval).
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A shard with a viewer behind (its socket full) looks again this often.
const RETRY: Duration = Duration::from_millis(50);
/// A shard with every viewer up to date looks at least this often (keep-alives, closed
/// viewers).
const IDLE: Duration = Duration::from_secs(1);
/// Most shard threads a fan-out runs.
const MAX_SHARDS: usize = 4;

/// What a viewer's socket is handed to once hyper's writes are flushed.
type TakeOver = Box<dyn FnOnce(Arc<tokio::net::TcpStream>) + Send>;

/// One connection as the web server accepted it: a request on it may ask for its socket.
#[derive(Clone, Default)]
pub(crate) struct Conn(Arc<Handoff>);

#[derive(Default)]
struct Handoff {
    wanted: AtomicBool,
    to: Mutex<Option<TakeOver>>,
}

impl Conn {
    /// Hands the socket to `to` once everything hyper has written so far
    /// (the response head) is flushed; hyper must write nothing after it.
    fn take_over(&self, to: TakeOver) {
        *self.0.to.lock().unwrap_or_else(|e| e.into_inner()) = Some(to);
        self.0.wanted.store(true, Ordering::Release);
    }
}

/// The accepted socket as hyper sees it, shared with the fan-out once handed over (no second
/// descriptor: the drill's endpoints need those). Reads and writes wait on readiness and
/// then try, as tokio's own `TcpStream` does; the hand-over is done on flush.
pub(crate) struct Io {
    stream: Arc<tokio::net::TcpStream>,
    conn: Conn,
}

impl Io {
    pub(crate) fn new(stream: tokio::net::TcpStream, conn: Conn) -> Io {
        Io { stream: Arc::new(stream), conn }
    }

    /// `op` once the socket is ready for `write` (else read): tried again, on readiness,
    /// while it would block.
    fn poll_io<T>(
        &self,
        cx: &mut Context<'_>,
        write: bool,
        mut op: impl FnMut(&tokio::net::TcpStream) -> std::io::Result<T>,
    ) -> Poll<std::io::Result<T>> {
        loop {
            let ready =
                if write { self.stream.poll_write_ready(cx) } else { self.stream.poll_read_ready(cx) };
            std::task::ready!(ready)?;
            match op(&self.stream) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                done => return Poll::Ready(done),
            }
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = std::task::ready!(self.poll_io(cx, false, |s| s.try_read(buf.initialize_unfilled())))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Io {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.poll_io(cx, true, |s| s.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.poll_io(cx, true, |s| s.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // hyper flushes after it has written all it buffered: the head is out, so the stream's
        // chunks may follow from another thread.
        if self.conn.0.wanted.swap(false, Ordering::AcqRel) {
            let to = self.conn.0.to.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(to) = to {
                to(self.stream.clone());
            }
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&*self.stream).shutdown(std::net::Shutdown::Write))
    }
}

/// How a viewer's stream stands, shared by its response body and its shard.
#[derive(Default)]
struct End {
    /// `LIVE`, `DONE` (ended between chunks), `BROKEN` (ended in a chunk, or the socket
    /// failed) or `GONE` (hyper dropped the body: the connection is closed).
    state: AtomicU8,
    waker: AtomicWaker,
}

const LIVE: u8 = 0;
const DONE: u8 = 1;
const BROKEN: u8 = 2;
const GONE: u8 = 3;

impl End {
    fn end(&self, state: u8) {
        if self.state.compare_exchange(LIVE, state, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.waker.wake();
        }
    }
}

/// The response body of a stream the fan-out writes: pending until the stream ends. Its first
/// poll (hyper has buffered the head) asks for the socket.
struct Body {
    end: Arc<End>,
    start: Option<(Conn, TakeOver)>,
}

impl futures_util::Stream for Body {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some((conn, to)) = self.start.take() {
            conn.take_over(to);
        }
        self.end.waker.register(cx.waker());
        match self.end.state.load(Ordering::Acquire) {
            LIVE => Poll::Pending,
            DONE => Poll::Ready(None),
            _ => Poll::Ready(Some(Err(std::io::Error::other("the board stream ended within a chunk")))),
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.end.end(GONE);
    }
}

/// One viewer, as its shard holds it.
struct Viewer {
    socket: Arc<tokio::net::TcpStream>,
    /// The board it holds (`None`: none yet).
    held: Option<u64>,
    /// The rest of a chunk begun, and the board the viewer holds once it is written.
    pending: Option<(Bytes, Option<u64>)>,
    /// When it was last written to.
    sent: Instant,
    end: Arc<End>,
    /// A receiver of the board channel, never read: the drill counts its viewers by them (it
    /// paces its boards by the bytes they cost).
    _counted: Option<watch::Receiver<Arc<Scoreboard>>>,
}

/// What one write pass left a viewer as.
#[derive(PartialEq)]
enum Left {
    UpToDate,
    Behind,
    Gone,
}

impl Viewer {
    /// Writes what it is owed of `board` (or a keep-alive), as far as its socket takes.
    fn serve(&mut self, board: &Scoreboard, frames: &mut Frames, now: Instant) -> Left {
        if self.end.state.load(Ordering::Acquire) != LIVE {
            return Left::Gone;
        }
        if let Some((rest, then)) = self.pending.take() {
            match self.write(rest.clone(), then, now) {
                Left::UpToDate => {}
                Left::Behind => {
                    // Not a byte more taken: the chunk begun still waits.
                    self.pending.get_or_insert((rest, then));
                    return Left::Behind;
                }
                Left::Gone => return Left::Gone,
            }
        }
        let chunk = if self.held != Some(board.seq) {
            frames.chunk(board, self.held)
        } else if now.duration_since(self.sent) >= KEEP_ALIVE {
            Bytes::from_static(b"3\r\n:\n\n\r\n")
        } else {
            return Left::UpToDate;
        };
        let then = Some(board.seq);
        self.write(chunk, then, now)
    }

    /// Writes `chunk`, after which the viewer holds `then`; the rest of it, if the socket
    /// takes only part, waits. Nothing written (a full socket): a newer board replaces it.
    fn write(&mut self, chunk: Bytes, then: Option<u64>, now: Instant) -> Left {
        // A plain `send`, not tokio's `try_write`: that one waits for the reactor to have seen
        // the socket writable, and nothing here waits on the reactor (the shard retries).
        match socket2::SockRef::from(&*self.socket).send(&chunk) {
            Ok(n) if n == chunk.len() => {
                (self.held, self.sent) = (then, now);
                Left::UpToDate
            }
            Ok(n) if n > 0 => {
                self.pending = Some((chunk.slice(n..), then));
                Left::Behind
            }
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) =>
            {
                Left::Behind
            }
            _ => {
                self.end.end(BROKEN);
                Left::Gone
            }
        }
    }
}

/// The chunks of one board, framed once per distinct event in a pass.
#[derive(Default)]
struct Frames {
    seq: u64,
    chunks: Vec<(Option<u64>, Bytes)>,
}

impl Frames {
    fn chunk(&mut self, board: &Scoreboard, held: Option<u64>) -> Bytes {
        if self.seq != board.seq {
            (self.seq, self.chunks) = (board.seq, Vec::new());
        }
        // Every viewer the board has no delta for gets the same whole board: one chunk for
        // them all, whatever they hold (at most `DELTA_DEPTH` + 1 chunks a board).
        let held = held.filter(|h| board.delta_for(*h).is_some());
        if let Some((_, c)) = self.chunks.iter().find(|(h, _)| *h == held) {
            return c.clone();
        }
        let event = board.event_for(held);
        let mut chunk = Vec::with_capacity(event.len() + 12);
        chunk.extend_from_slice(format!("{:x}\r\n", event.len()).as_bytes());
        chunk.extend_from_slice(&event);
        chunk.extend_from_slice(b"\r\n");
        let chunk = Bytes::from(chunk);
        self.chunks.push((held, chunk.clone()));
        chunk
    }
}

/// One shard: its thread writes the viewers handed to it.
#[derive(Default)]
struct Shard {
    state: Mutex<Posted>,
    posted: Condvar,
}

/// What waits for a shard's thread.
#[derive(Default)]
struct Posted {
    board: Option<Arc<Scoreboard>>,
    new: Vec<Viewer>,
    /// The channel closed (the drill ended) or the fan-out was dropped.
    closed: bool,
}

impl Shard {
    fn post(&self, f: impl FnOnce(&mut Posted)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
        self.posted.notify_one();
    }
}

/// Closes the shards when the task following the channel ends (or is aborted).
struct CloseOnDrop(Vec<Arc<Shard>>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        for s in &self.0 {
            s.post(|p| p.closed = true);
        }
    }
}

/// A board channel's fan-out: a task that follows the channel and shard threads that write
/// its viewers. It ends when the channel's sender is dropped (the drill ended) or it is.
pub(crate) struct FanOut {
    shards: Vec<Arc<Shard>>,
    next: AtomicUsize,
    follow: tokio::task::JoinHandle<()>,
    rx: watch::Receiver<Arc<Scoreboard>>,
}

impl FanOut {
    /// Starts shard threads (one per core, at most `MAX_SHARDS`) and the task that hands them
    /// each board of `rx`, newest only (a shard still writing the last one skips to it).
    pub(crate) fn start(mut rx: watch::Receiver<Arc<Scoreboard>>) -> std::io::Result<FanOut> {
        let n = std::thread::available_parallelism().map_or(1, usize::from).clamp(1, MAX_SHARDS);
        // Closes the shards started so far if one fails to start, and else when the task
        // following the channel ends.
        let mut close = CloseOnDrop(Vec::with_capacity(n));
        for i in 0..n {
            let shard = Arc::new(Shard::default());
            let s = shard.clone();
            std::thread::Builder::new().name(format!("icsdrill-board-{i}")).spawn(move || run(&s))?;
            close.0.push(shard);
        }
        let shards = close.0.clone();
        let counted = rx.clone();
        let follow = tokio::spawn(async move {
            loop {
                let board = rx.borrow_and_update().clone();
                for s in &close.0 {
                    s.post(|p| p.board = Some(board.clone()));
                }
                if rx.changed().await.is_err() {
                    break;
                }
            }
        });
        Ok(FanOut { shards, next: AtomicUsize::new(0), follow, rx: counted })
    }

    /// The response body of a new viewer on `conn`: the fan-out writes its stream once hyper
    /// has sent the head.
    pub(crate) fn body(&self, conn: Conn) -> axum::body::Body {
        let end = Arc::new(End::default());
        let shard = self.shards[self.next.fetch_add(1, Ordering::Relaxed) % self.shards.len()].clone();
        let (e, counted) = (end.clone(), Some(self.rx.clone()));
        let to: TakeOver = Box::new(move |socket| {
            let viewer =
                Viewer { socket, held: None, pending: None, sent: Instant::now(), end: e, _counted: counted };
            shard.post(|p| p.new.push(viewer));
        });
        axum::body::Body::from_stream(Body { end, start: Some((conn, to)) })
    }
}

impl Drop for FanOut {
    fn drop(&mut self) {
        // The task's end closes the shards.
        self.follow.abort();
    }
}

/// A shard thread: waits for a board, a new viewer or its timer, then writes every viewer
/// what it is owed; ends the viewers' streams when the fan-out closes.
fn run(shard: &Shard) {
    let mut viewers: Vec<Viewer> = Vec::new();
    let mut frames = Frames::default();
    let (mut behind, mut seq) = (false, None);
    loop {
        let board = {
            let mut p = shard.state.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = |p: &Posted| p.closed || !p.new.is_empty() || p.board.as_ref().map(|b| b.seq) != seq;
            if !fresh(&p) {
                let wait = if behind { RETRY } else { IDLE };
                p = shard
                    .posted
                    .wait_timeout_while(p, wait, |p| !fresh(p))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            viewers.append(&mut p.new);
            if p.closed {
                for v in &viewers {
                    v.end.end(if v.pending.is_some() { BROKEN } else { DONE });
                }
                return;
            }
            p.board.clone()
        };
        let Some(board) = board else { continue };
        seq = Some(board.seq);
        let now = Instant::now();
        behind = false;
        viewers.retain_mut(|v| match v.serve(&board, &mut frames, now) {
            Left::UpToDate => true,
            Left::Behind => {
                behind = true;
                true
            }
            Left::Gone => false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icsdrill_drill::board::{BoardDelta, BoardRow, rank};

    /// Board `seq` of six teams, team `seq % 6` scoring `seq` (so each board moves one row),
    /// sealed with its deltas from `recent` (newest last).
    fn board(seq: u64, recent: &std::collections::VecDeque<Scoreboard>) -> Scoreboard {
        let mut rows: Vec<BoardRow> = recent.back().map(|b| b.rows.clone()).unwrap_or_else(|| {
            (0..6)
                .map(|i| BoardRow {
                    rank: 0,
                    team: format!("team-{i}"),
                    name: format!("Team {i}"),
                    total: 0.0,
                    detected: 0,
                    fired: 0,
                    settled_tick: 0,
                    parts: vec![("detect".into(), 0.0)],
                    bracket: None,
                    bracket_rank: None,
                })
                .collect()
        });
        let row = rows.iter_mut().find(|r| r.team == format!("team-{}", seq % 6)).expect("six teams");
        (row.total, row.settled_tick) = (seq as f64, seq);
        let b = Scoreboard { seq, changed_us: seq, rows: rank(rows), ..Scoreboard::empty() };
        b.sealed_after(recent.iter().rev())
    }

    /// A served socket and its client, each side's buffer as small as the kernel allows.
    async fn pair() -> (Arc<tokio::net::TcpStream>, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        client.set_recv_buffer_size(1024).unwrap();
        client.connect(&listener.local_addr().unwrap().into()).unwrap();
        let (served, _) = listener.accept().unwrap();
        socket2::SockRef::from(&served).set_send_buffer_size(1024).unwrap();
        served.set_nonblocking(true).unwrap();
        client.set_nonblocking(true).unwrap();
        (Arc::new(tokio::net::TcpStream::from_std(served).unwrap()), client.into())
    }

    fn viewer(socket: Arc<tokio::net::TcpStream>) -> Viewer {
        Viewer {
            socket,
            held: None,
            pending: None,
            sent: Instant::now(),
            end: Arc::new(End::default()),
            _counted: None,
        }
    }

    /// Reads what the client has been sent so far.
    fn drain(client: &mut std::net::TcpStream, into: &mut Vec<u8>) {
        use std::io::Read;
        let mut buf = [0u8; 65536];
        loop {
            match client.read(&mut buf) {
                Ok(0) => panic!("the stream closed"),
                Ok(n) => into.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// The events (name, data) in `raw`, chunk by chunk: each chunk's size line and its CRLF
    /// checked, each chunk one whole event.
    fn events(raw: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = raw;
        while !rest.is_empty() {
            let line = rest.windows(2).position(|w| w == b"\r\n").expect("a chunk's size line");
            let len = usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap(), 16).expect("hex");
            let data = std::str::from_utf8(&rest[line + 2..line + 2 + len]).expect("UTF-8");
            assert_eq!(&rest[line + 2 + len..line + 4 + len], b"\r\n", "a chunk ends in CRLF");
            let field = |k: &str| data.lines().find_map(|l| l.strip_prefix(k)).map(str::to_string);
            assert!(data.ends_with("\n\n"), "one whole event a chunk: {data:?}");
            if let (Some(name), Some(json)) = (field("event: "), field("data: ")) {
                out.push((name, json));
            }
            rest = &rest[line + 4 + len..];
        }
        out
    }

    /// A viewer that stops reading falls behind without holding anything up: the chunk begun
    /// waits, boards in between are skipped, and once it reads again it is brought to the
    /// newest board (from the one it holds) with every chunk whole.
    #[tokio::test]
    async fn a_viewer_that_stops_reading_skips_to_the_newest_board_with_its_chunks_whole() {
        let (socket, mut client) = pair().await;
        let mut v = viewer(socket);
        let (mut frames, mut recent) = (Frames::default(), std::collections::VecDeque::new());
        // Boards while the client reads nothing: its socket fills up, and the viewer falls
        // behind (the kernel may still take a little more as the window settles).
        let mut behind = 0;
        for seq in 1..=500 {
            let b = board(seq, &recent);
            behind += usize::from(v.serve(&b, &mut frames, Instant::now()) == Left::Behind);
            recent.push_back(b);
            if recent.len() > icsdrill_drill::board::DELTA_DEPTH {
                recent.pop_front();
            }
        }
        assert!(behind > 400, "a socket that is not read fills up: behind {behind} times in 500");
        let seq = 500;
        // It reads again: brought to the newest board.
        let newest = recent.back().expect("a board").clone();
        let mut raw = Vec::new();
        for _ in 0..10_000 {
            drain(&mut client, &mut raw);
            if v.serve(&newest, &mut frames, Instant::now()) == Left::UpToDate && v.held == Some(newest.seq) {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(v.held, Some(newest.seq), "caught up");
        drain(&mut client, &mut raw);
        let events = events(&raw);
        assert!(events.len() < seq as usize, "{} events for {seq} boards: some skipped", events.len());
        let mut held: Option<Scoreboard> = None;
        for (name, json) in &events {
            held = Some(match (name.as_str(), held) {
                ("scoreboard", _) => serde_json::from_str(json).unwrap(),
                ("scoreboard-delta", Some(h)) => {
                    let delta: BoardDelta = serde_json::from_str(json).unwrap();
                    h.apply(&delta)
                        .unwrap_or_else(|| panic!("a delta for the board held ({}): {json}", h.seq))
                }
                (name, held) => panic!("{name} after {:?}", held.map(|h| h.seq)),
            });
        }
        let held = held.expect("events");
        assert_eq!((held.seq, &held.rows), (newest.seq, &newest.rows), "the newest board, rebuilt");
    }

    /// A viewer is let go when its connection is gone: hyper dropped its body, or the client
    /// closed (a write fails).
    #[tokio::test]
    async fn a_viewer_whose_connection_is_gone_is_let_go() {
        let recent = std::collections::VecDeque::new();
        let (socket, _client) = pair().await;
        let mut v = viewer(socket);
        let body = Body { end: v.end.clone(), start: None };
        drop(body);
        assert!(v.serve(&board(1, &recent), &mut Frames::default(), Instant::now()) == Left::Gone);

        let (socket, client) = pair().await;
        let mut v = viewer(socket);
        drop(client);
        let mut frames = Frames::default();
        let gone =
            (1..1_000).any(|seq| v.serve(&board(seq, &recent), &mut frames, Instant::now()) == Left::Gone);
        assert!(gone, "writes to a closed client fail");
        assert_eq!(v.end.state.load(Ordering::Acquire), BROKEN);
    }

    /// The socket is handed over on the first flush after it is asked for, not before.
    #[tokio::test]
    async fn the_socket_is_handed_over_on_the_flush_after_it_is_asked_for() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let conn = Conn::default();
        let mut io = Io::new(listener.accept().await.unwrap().0, conn.clone());
        let got = Arc::new(Mutex::new(None));
        futures_util::future::poll_fn(|cx| Pin::new(&mut io).poll_flush(cx)).await.unwrap();
        let g = got.clone();
        conn.take_over(Box::new(move |s| *g.lock().unwrap() = Some(s)));
        assert!(got.lock().unwrap().is_none(), "not before the flush");
        futures_util::future::poll_fn(|cx| Pin::new(&mut io).poll_flush(cx)).await.unwrap();
        let socket = got.lock().unwrap().take().expect("handed over");
        assert!(Arc::ptr_eq(&socket, &io.stream), "the same socket, not a second descriptor");
    }
}
