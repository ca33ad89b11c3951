//! The scoreboard's fan-out: thousands of viewers of one board stream written by a few plain
//! threads, one `send` a viewer a board, instead of a task woken and an HTTP connection
//! polled per viewer.
//!
//! hyper answers a board stream's request (routing, login, the response head); then the
//! response body asks for the socket ([`Conn::take_over`]) and stays pending, and once hyper
//! has flushed the head the connection's write half moves to the fan-out, so hyper can write
//! nothing more. One of the fan-out's shard threads writes the stream's HTTP chunks: the
//! whole board first, then for each new board the delta from the one the viewer holds. A
//! viewer whose socket is full skips boards (it gets the newest, from what it holds, when it
//! has room; it is tried again at growing intervals) and a chunk it has begun is finished
//! first: one chunk waits per viewer, shared with the others, so a slow viewer costs neither
//! memory nor the other viewers' time. When the client goes (hyper drops the body, or a send
//! fails) the viewer is let go at once; when the drill ends the stream gets its last chunk.
//! Either way the body fails and hyper closes the connection (its slot under the connection
//! cap with it).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures_util::task::AtomicWaker;
use icsdrill_drill::Scoreboard;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
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
type TakeOver = Box<dyn FnOnce(OwnedWriteHalf) + Send>;

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

/// The accepted socket as hyper sees it: its two halves (tokio's), the write half moved to the
/// fan-out at the hand-over, done on flush. After it hyper cannot write (an error ends the
/// connection), so nothing of hyper's can come between the fan-out's chunks.
pub(crate) struct Io {
    read: OwnedReadHalf,
    write: Option<OwnedWriteHalf>,
    conn: Conn,
}

impl Io {
    pub(crate) fn new(stream: tokio::net::TcpStream, conn: Conn) -> Io {
        let (read, write) = stream.into_split();
        Io { read, write: Some(write), conn }
    }

    fn writer(&mut self) -> std::io::Result<Pin<&mut OwnedWriteHalf>> {
        match &mut self.write {
            Some(w) => Ok(Pin::new(w)),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the board's fan-out writes this stream",
            )),
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.writer()?.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.writer()?.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.write.as_ref().is_some_and(AsyncWrite::is_write_vectored)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // hyper flushes on every turn of its loop, with nothing buffered too: after the
        // hand-over there is nothing of hyper's to flush (an error here would end the stream).
        let Some(write) = &mut self.write else { return Poll::Ready(Ok(())) };
        std::task::ready!(Pin::new(write).poll_flush(cx))?;
        // hyper flushes after it has written all it buffered: the head is out, so the stream's
        // chunks may follow from another thread.
        // A load first: every response on every connection flushes here.
        if self.conn.0.wanted.load(Ordering::Acquire) && self.conn.0.wanted.swap(false, Ordering::AcqRel) {
            let to = self.conn.0.to.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let (Some(to), Some(write)) = (to, self.write.take()) {
                to(write);
            }
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.write {
            Some(w) => Pin::new(w).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

/// How a viewer's stream stands, shared by its response body and its shard.
#[derive(Default)]
struct End {
    /// `LIVE`, `ENDED` (by the fan-out: the drill ended or the socket failed; the body fails,
    /// and hyper closes the connection) or `GONE` (hyper dropped the body: the connection is
    /// closed).
    state: AtomicU8,
    waker: AtomicWaker,
}

const LIVE: u8 = 0;
const ENDED: u8 = 1;
const GONE: u8 = 2;

impl End {
    fn end(&self, state: u8) {
        if self.state.compare_exchange(LIVE, state, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.waker.wake();
        }
    }
}

/// The response body of a stream the fan-out writes: pending until the stream ends. Its first
/// poll (hyper has buffered the head) asks for the socket; dropped, it wakes its shard, which
/// lets the viewer (and the socket) go at once.
struct Body {
    end: Arc<End>,
    start: Option<(Conn, TakeOver)>,
    shard: Option<Arc<Shard>>,
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
            _ => Poll::Ready(Some(Err(std::io::Error::other("the board stream ended")))),
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.end.end(GONE);
        if let Some(shard) = &self.shard {
            shard.post(|p| p.gone = true);
        }
    }
}

/// One viewer, as its shard holds it.
struct Viewer {
    socket: OwnedWriteHalf,
    /// The board it holds (`None`: none yet).
    held: Option<u64>,
    /// The rest of a chunk begun, and the board the viewer holds once it is written.
    pending: Option<(Bytes, Option<u64>)>,
    /// When it was last written to.
    sent: Instant,
    /// A full socket is tried again no sooner than this, at growing intervals (`RETRY` to
    /// `IDLE`): a viewer that never reads costs a few calls a second, not one a pass.
    retry: Option<(Instant, Duration)>,
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
        if self.retry.is_some_and(|(at, _)| now < at) {
            return Left::Behind;
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
        let chunk = if self.held != Some(board.head.seq) {
            frames.chunk(board, self.held)
        } else if now.duration_since(self.sent) >= KEEP_ALIVE {
            Bytes::from_static(b"3\r\n:\n\n\r\n")
        } else {
            return Left::UpToDate;
        };
        let then = Some(board.head.seq);
        self.write(chunk, then, now)
    }

    /// Writes `chunk`, after which the viewer holds `then`; the rest of it, if the socket
    /// takes only part, waits. Nothing written (a full socket): a newer board replaces it.
    fn write(&mut self, chunk: Bytes, then: Option<u64>, now: Instant) -> Left {
        // A plain `send`, not tokio's `try_write`: that one waits for the reactor to have seen
        // the socket writable, and nothing here waits on the reactor (the shard retries).
        match socket2::SockRef::from(self.socket.as_ref()).send(&chunk) {
            Ok(n) if n == chunk.len() => {
                (self.held, self.sent, self.retry) = (then, now, None);
                Left::UpToDate
            }
            Ok(n) if n > 0 => {
                self.pending = Some((chunk.slice(n..), then));
                self.retry = None;
                Left::Behind
            }
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) =>
            {
                let wait = self.retry.map_or(RETRY, |(_, wait)| (wait * 2).min(IDLE));
                self.retry = Some((now + wait, wait));
                Left::Behind
            }
            _ => {
                self.end.end(ENDED);
                Left::Gone
            }
        }
    }

    /// Ends the stream: its last chunk if none is begun (best effort), then the body fails
    /// and hyper closes the connection.
    fn close(&self) {
        if self.pending.is_none() {
            let _ = socket2::SockRef::from(self.socket.as_ref()).send(b"0\r\n\r\n");
        }
        self.end.end(ENDED);
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
        if self.seq != board.head.seq {
            (self.seq, self.chunks) = (board.head.seq, Vec::new());
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
    /// A viewer's body was dropped: its connection is closed, let it go now.
    gone: bool,
    /// The channel closed (the drill ended) or the fan-out was dropped.
    closed: bool,
}

impl Posted {
    /// Whether the shard has something to do, having written board `seq` last.
    fn due(&self, seq: Option<u64>) -> bool {
        self.closed || self.gone || !self.new.is_empty() || self.board.as_ref().map(|b| b.head.seq) != seq
    }
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
        let (e, counted, s) = (end.clone(), Some(self.rx.clone()), shard.clone());
        let to: TakeOver = Box::new(move |socket| {
            let sent = Instant::now();
            let viewer =
                Viewer { socket, held: None, pending: None, sent, retry: None, end: e, _counted: counted };
            // A fan-out that has closed (its drill ended) ends a late viewer at once.
            s.post(|p| if p.closed { viewer.close() } else { p.new.push(viewer) });
        });
        axum::body::Body::from_stream(Body { end, start: Some((conn, to)), shard: Some(shard) })
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
            if !p.due(seq) {
                let wait = if behind { RETRY } else { IDLE };
                p = shard
                    .posted
                    .wait_timeout_while(p, wait, |p| !p.due(seq))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            p.gone = false;
            viewers.append(&mut p.new);
            if p.closed {
                for v in &viewers {
                    v.close();
                }
                return;
            }
            p.board.clone()
        };
        let Some(board) = board else { continue };
        seq = Some(board.head.seq);
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
    use icsdrill_drill::board::BoardHead;
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
                    flag_tick: None,
                    parts: vec![("detect".into(), 0.0)],
                    bracket: None,
                    bracket_rank: None,
                    solved: Vec::new(),
                    first_bloods: Vec::new(),
                })
                .collect()
        });
        let row = rows.iter_mut().find(|r| r.team == format!("team-{}", seq % 6)).expect("six teams");
        (row.total, row.settled_tick) = (seq as f64, seq);
        let b = Scoreboard {
            head: BoardHead { seq, changed_us: seq, ..Scoreboard::empty().head },
            rows: rank(rows),
            ..Scoreboard::empty()
        };
        b.sealed_after(recent.iter().rev())
    }

    /// A served socket (its write half; the read half kept with it) and its client, each
    /// side's buffer as small as the kernel allows.
    async fn pair() -> ((OwnedWriteHalf, OwnedReadHalf), std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        client.set_recv_buffer_size(1024).unwrap();
        client.connect(&listener.local_addr().unwrap().into()).unwrap();
        let (served, _) = listener.accept().unwrap();
        socket2::SockRef::from(&served).set_send_buffer_size(1024).unwrap();
        served.set_nonblocking(true).unwrap();
        client.set_nonblocking(true).unwrap();
        let (read, write) = tokio::net::TcpStream::from_std(served).unwrap().into_split();
        ((write, read), client.into())
    }

    fn viewer((socket, _): (OwnedWriteHalf, OwnedReadHalf)) -> Viewer {
        let end = Arc::new(End::default());
        Viewer { socket, held: None, pending: None, sent: Instant::now(), retry: None, end, _counted: None }
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
        // A full socket is tried again at growing intervals, up to `IDLE`.
        let (last, mut now) = (recent.back().expect("a board").clone(), Instant::now());
        for _ in 0..10 {
            now += IDLE;
            assert!(v.serve(&last, &mut frames, now) == Left::Behind);
        }
        assert_eq!(v.retry.map(|(_, wait)| wait), Some(IDLE), "backed off");
        // It reads again: brought to the newest board (the shard's passes a second apart, the
        // longest a full socket waits to be tried again).
        let newest = recent.back().expect("a board").clone();
        let mut raw = Vec::new();
        for _ in 0..10_000 {
            drain(&mut client, &mut raw);
            now += IDLE;
            if v.serve(&newest, &mut frames, now) == Left::UpToDate && v.held == Some(newest.head.seq) {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(v.held, Some(newest.head.seq), "caught up");
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
                        .unwrap_or_else(|| panic!("a delta for the board held ({}): {json}", h.head.seq))
                }
                (name, held) => panic!("{name} after {:?}", held.map(|h| h.head.seq)),
            });
        }
        let held = held.expect("events");
        assert_eq!((held.head.seq, &held.rows), (newest.head.seq, &newest.rows), "the newest board, rebuilt");
    }

    /// A viewer is let go when its connection is gone: hyper dropped its body, or the client
    /// closed (a write fails).
    #[tokio::test]
    async fn a_viewer_whose_connection_is_gone_is_let_go() {
        let recent = std::collections::VecDeque::new();
        let (socket, _client) = pair().await;
        let mut v = viewer(socket);
        let shard = Arc::new(Shard::default());
        let body = Body { end: v.end.clone(), start: None, shard: Some(shard.clone()) };
        assert!(!shard.state.lock().unwrap().due(None), "nothing to do");
        drop(body);
        assert!(shard.state.lock().unwrap().due(None), "a dropped body wakes its shard at once");
        assert!(v.serve(&board(1, &recent), &mut Frames::default(), Instant::now()) == Left::Gone);

        let (socket, client) = pair().await;
        let mut v = viewer(socket);
        drop(client);
        let mut frames = Frames::default();
        let gone =
            (1..1_000).any(|seq| v.serve(&board(seq, &recent), &mut frames, Instant::now()) == Left::Gone);
        assert!(gone, "writes to a closed client fail");
        assert_eq!(v.end.state.load(Ordering::Acquire), ENDED);

        // The drill ends: the stream's last chunk, then the body fails (hyper closes).
        let (socket, mut client) = pair().await;
        let v = viewer(socket);
        v.close();
        assert_eq!(v.end.state.load(Ordering::Acquire), ENDED);
        let mut raw = Vec::new();
        drain(&mut client, &mut raw);
        assert_eq!(raw, b"0\r\n\r\n");
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
        let socket: OwnedWriteHalf = got.lock().unwrap().take().expect("handed over");
        assert!(io.write.is_none(), "the write half moved to the fan-out");
        let e = futures_util::future::poll_fn(|cx| Pin::new(&mut io).poll_write(cx, b"x")).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "hyper cannot write after the hand-over");
        // It still flushes (nothing) on every turn of its loop: that is no error.
        futures_util::future::poll_fn(|cx| Pin::new(&mut io).poll_flush(cx)).await.unwrap();
        drop(socket);
    }
}
