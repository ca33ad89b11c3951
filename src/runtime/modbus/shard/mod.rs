//! A shard's event loop for its endpoints' Modbus connections: on io_uring where the kernel
//! has it (`uring`: a turn's `recv`s and `send`s are requests in one ring), else on epoll
//! (here).
//!
//! A client that polls (reads, identification: everything the endpoint answers from its
//! snapshot at once) is served here, with the other such clients of the shard, by one task:
//! on epoll one readiness event, one `recv`, the answers, one `send`, as the
//! one-process-per-core servers do, without a task woken and polled for each request. Once a
//! connection sends a request that waits (a write or a diagnostic for its tick, a request over
//! the endpoint's pace) or does not take its answers at once, it leaves for a task of its own
//! (`task`), carrying what it has received and not yet sent; it does not come back.
//!
//! Every connection here holds one of its endpoint's and its range's connection slots, so the
//! table is as bounded as they are; the inbox holds at most `INBOX`. Idle connections are
//! closed and folded records sent on time by the loop's one timer, set to the earliest of
//! their deadlines.

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use icsdrill_engine::RejectReason;
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use tokio::io::unix::AsyncFd;
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tokio::task::JoinSet;

use super::frame::{Frame, parse_frame};
use super::server::{Endpoint, Stop};
use super::session::{Conn, Next, waits_for_tick};
use super::task::{self, Carry};

#[allow(unsafe_code)]
mod uring;

/// Readiness events taken from the loop's poller at a time.
const EVENTS: usize = 256;

/// How often the loop looks at its connections while they fold records: a record goes out
/// within this of its window's end. (The timer is not set per request: that read every
/// connection's deadline at every request.)
const SWEEP: Duration = Duration::from_millis(20);

/// Full reads one connection gets at a turn (each up to four frames' worth): a client that
/// keeps its socket full waits for the others after this many.
const TURN: usize = 16;

/// Turns in a row the loop asks its own poller again while it has events, before it lets the
/// runtime's poller, its timer (idle connections, folded records) and the rest have a turn.
const HOT: usize = 8;

/// How long connections that left for tasks of their own get to finish when the range stops.
const DRAIN: Duration = Duration::from_secs(2);

/// The connection slots an accepted connection holds: its endpoint's, and (unless it is one
/// of the range's own clients) the range's.
pub(super) type Slot = (OwnedSemaphorePermit, Option<OwnedSemaphorePermit>);

/// A connection admitted for a shard's loop.
pub(super) struct Accepted {
    pub(super) conn: Conn,
    pub(super) stream: tokio::net::TcpStream,
    pub(super) endpoint: Arc<Endpoint>,
    pub(super) slot: Slot,
}

/// Connections a shard's endpoints may have handed its loop and it has not yet taken: it takes
/// them before its connections' data, so only a burst of connects (a flood) fills it; more are
/// refused as over the endpoint's cap.
pub(super) const INBOX: usize = 1024;

/// Where a shard's endpoints hand their admitted Modbus connections to its loop.
#[derive(Clone)]
pub struct Inbox(Handoff<Accepted>);

impl Inbox {
    /// An inbox and the loop that serves what it is handed, to run on the shard (until
    /// `shutdown` turns true): on io_uring where the kernel has it, unless `epoll_only`.
    pub fn new(
        shutdown: watch::Receiver<bool>,
        epoll_only: bool,
    ) -> (Inbox, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = mpsc::channel(INBOX);
        (Inbox(Handoff(tx)), run(rx, shutdown, epoll_only))
    }

    /// Whether the loop has no room for another connection now.
    pub(super) fn is_full(&self) -> bool {
        self.0.is_full()
    }

    /// Hands a connection to the loop. Callers check `is_full` first (the endpoints share the
    /// loop's thread, so there is room then); one that finds no room, or no loop (the range
    /// stops), is closed, its slots freed.
    pub(super) fn send(&self, accepted: Accepted) {
        let _ = self.0.send(accepted);
    }
}

/// The inbox's channel, bounded at `INBOX`.
struct Handoff<T>(mpsc::Sender<T>);

impl<T> Clone for Handoff<T> {
    fn clone(&self) -> Self {
        Handoff(self.0.clone())
    }
}

impl<T> Handoff<T> {
    fn is_full(&self) -> bool {
        self.0.capacity() == 0
    }

    /// Sends `item`, or gives it back when the channel is full (a closed one drops it).
    fn send(&self, item: T) -> Result<(), T> {
        match self.0.try_send(item) {
            Err(mpsc::error::TrySendError::Full(back)) => Err(back),
            _ => Ok(()),
        }
    }
}

/// One connection in the loop.
struct Entry {
    conn: Conn,
    stream: MioStream,
    carry: Carry,
    endpoint: Arc<Endpoint>,
    slot: Slot,
    /// When it last sent a whole request: idle time counts from there.
    last_frame: Instant,
}

/// What the loop does with a connection after serving it.
enum Then {
    Keep,
    /// It has more to read than one turn takes: again at the next turn, after the others.
    More,
    Close,
    /// To a task of its own, with the first request's turn if it was reserved.
    Leave(Option<Duration>),
}

/// What woke the loop.
enum Woke {
    Stop,
    New(Box<Accepted>),
    Ready,
    Timer,
    /// Connections that had more to read than one turn takes.
    Again,
}

/// The loop's connections, and those it started for connections that left it.
struct Table {
    conns: Slab<Entry>,
    /// Connections to serve again at the next turn: they had more to read.
    again: Vec<usize>,
    tasks: JoinSet<()>,
    shutdown: watch::Receiver<bool>,
}

async fn run(inbox: mpsc::Receiver<Accepted>, shutdown: watch::Receiver<bool>, epoll_only: bool) {
    if !epoll_only {
        match uring::Ring::new(shutdown.clone()) {
            Ok(ring) => return ring.run(inbox, shutdown).await,
            Err(e) => tracing::debug!(error = %e, "no io_uring: Modbus connections on epoll"),
        }
    }
    epoll(inbox, shutdown).await;
}

/// The loop on the shard's own epoll poller (`uring` is the other).
async fn epoll(mut inbox: mpsc::Receiver<Accepted>, mut shutdown: watch::Receiver<bool>) {
    // Deprecated for descriptors a type may swap under it; a poller keeps its one for life.
    #[allow(deprecated)]
    let poller = Poll::new().and_then(|p| AsyncFd::with_interest(p, tokio::io::Interest::READABLE));
    let poller = match poller {
        Ok(p) => p,
        Err(e) => {
            // No loop: every connection gets a task of its own, as before there was one.
            tracing::warn!(error = %e, "no event loop for Modbus connections: serving each in a task");
            while let Some(a) = inbox.recv().await {
                tokio::spawn(alone(a, Carry::new(), shutdown.clone()));
            }
            return;
        }
    };
    let mut poller = poller;
    let mut events = Events::with_capacity(EVENTS);
    let seen = shutdown.clone();
    let mut table =
        Table { conns: Slab::new(), again: Vec::new(), tasks: JoinSet::new(), shutdown: seen.clone() };
    let mut stop = Stop { future: pin!(shutdown.wait_for(|stop| *stop)), seen, polled: false };
    let mut timer = pin!(tokio::time::sleep(Duration::from_secs(3600)));
    // Turns in a row the loop's poller had events and was asked again at once.
    let mut hot = 0;
    loop {
        while table.tasks.try_join_next().is_some() {}
        let woke = tokio::select! {
            biased;
            _ = &mut stop => Woke::Stop,
            a = inbox.recv() => a.map_or(Woke::Stop, |a| Woke::New(Box::new(a))),
            guard = poller.readable_mut() => match guard {
                Ok(mut guard) => {
                    let poll = guard.get_inner_mut();
                    let taken = poll.poll(&mut events, Some(Duration::ZERO));
                    // Nothing left: the poller's readiness is spent until its next event. While
                    // it gives events, the loop asks it again before the runtime's poller (one
                    // system call a turn, not two: a busy loop's turns come back to back), for
                    // `HOT` turns at most: then the timer and the loop's other work get theirs.
                    // A full batch leaves events behind, which only its readiness recalls.
                    let spent = events.is_empty() || hot >= HOT;
                    if taken.is_ok() && spent && events.iter().count() < EVENTS {
                        guard.clear_ready();
                        hot = 0;
                    } else {
                        hot += 1;
                    }
                    Woke::Ready
                }
                Err(_) => Woke::Stop,
            },
            () = &mut timer, if !table.conns.is_empty() => Woke::Timer,
            () = std::future::ready(()), if !table.again.is_empty() => Woke::Again,
        };
        let registry = poller.get_ref().registry();
        match woke {
            Woke::Stop => break,
            Woke::New(a) => {
                if let Some(at) = add(&mut table, registry, *a)
                    && at < timer.deadline().into_std()
                {
                    timer.as_mut().reset(at.into());
                }
            }
            Woke::Ready => {
                // One clock read for the wake: the time every request it brings came by.
                let now = Instant::now();
                for event in events.iter() {
                    let key = event.token().0;
                    settle(&mut table, registry, (key, event.is_read_closed()), now, timer.as_mut());
                }
            }
            Woke::Again => {
                // The shard's other tasks take their turn before a long pipeline goes on.
                tokio::task::yield_now().await;
                let now = Instant::now();
                for key in std::mem::take(&mut table.again) {
                    settle(&mut table, poller.get_ref().registry(), (key, false), now, timer.as_mut());
                }
            }
            Woke::Timer => {
                let next = sweep(&mut table.conns, Instant::now());
                timer.as_mut().reset(next.into());
            }
        }
    }
    // Connections still here end with the loop; those in tasks get a moment to finish.
    let Table { conns, mut tasks, .. } = table;
    drop(conns);
    if tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
        tasks.abort_all();
    }
}

/// Takes a connection into the loop; returns when the loop must see to it first (or `None`:
/// it could not be registered, and got a task of its own).
fn add(table: &mut Table, registry: &mio::Registry, a: Accepted) -> Option<Instant> {
    let std = a.stream.into_std().ok()?;
    let entry = table.conns.vacant_entry();
    let mut stream = MioStream::from_std(std);
    if registry.register(&mut stream, Token(entry.key()), Interest::READABLE).is_err() {
        if let Ok(stream) = tokio::net::TcpStream::from_std(stream.into()) {
            table.tasks.spawn(alone(Accepted { stream, ..a }, Carry::new(), table.shutdown.clone()));
        }
        return None;
    }
    let now = a.conn.fold.woke();
    let (conn, endpoint, slot) = (a.conn, a.endpoint, a.slot);
    let entry = entry.insert(Entry { conn, stream, carry: Carry::new(), endpoint, slot, last_frame: now });
    Some(entry.deadline())
}

/// Serves connection `key` (if it is still here) and does what it then needs; `closed`: its
/// client has shut its side (the event said so).
fn settle(
    table: &mut Table,
    registry: &mio::Registry,
    (key, closed): (usize, bool),
    now: Instant,
    mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
) {
    let Some(entry) = table.conns.get_mut(key) else { return };
    match serve(entry, now, closed) {
        then @ (Then::Keep | Then::More) => {
            // The timer stands at most a sweep away while records are folded.
            let soon = now + SWEEP;
            if timer.deadline().into_std() > soon && entry.conn.fold.deadline().is_some() {
                timer.as_mut().reset(soon.into());
            }
            if matches!(then, Then::More) {
                table.again.push(key);
            }
        }
        Then::Close => drop(table.conns.remove(key)),
        Then::Leave(wait) => {
            let mut entry = table.conns.remove(key);
            let _ = registry.deregister(&mut entry.stream);
            leave(entry, wait, table.shutdown.clone(), &mut table.tasks);
        }
    }
}

/// Closes the connections idle too long and sends the folded records whose window has ended;
/// returns when to look again.
fn sweep(conns: &mut Slab<Entry>, now: Instant) -> Instant {
    let (next, idle) = look(conns.iter(), now);
    for key in idle {
        conns.remove(key);
    }
    next
}

/// Sends the folded records of `conns` whose window has ended; returns when to look again,
/// and the connections idle too long.
fn look<'a>(conns: impl Iterator<Item = (usize, &'a Entry)>, now: Instant) -> (Instant, Vec<usize>) {
    let mut next = now + Duration::from_secs(3600);
    let mut folding = false;
    let mut idle = Vec::new();
    for (key, e) in conns {
        if e.last_frame + e.conn.cx.limits.idle_timeout <= now {
            idle.push(key);
            continue;
        }
        if e.conn.fold.deadline().is_some_and(|f| f <= now) {
            e.conn.flush_records();
        }
        folding |= e.conn.fold.deadline().is_some();
        next = next.min(e.deadline());
    }
    // While records are folded the loop looks every sweep at least, so one started since is
    // seen without a look at the timer per request.
    if folding {
        next = next.min(now + SWEEP);
    }
    (next.max(now + Duration::from_millis(1)), idle)
}

impl Entry {
    /// When the loop must see to this connection next: its folded record going out, or its
    /// idle time running out.
    fn deadline(&self) -> Instant {
        let idle = self.last_frame + self.conn.cx.limits.idle_timeout;
        self.conn.fold.deadline().map_or(idle, |f| f.min(idle))
    }
}

/// Reads what a connection has sent and answers every whole request in it, as long as none of
/// them waits; `closed`: the client has shut its side, so it is read to its end.
fn serve(e: &mut Entry, now: Instant, closed: bool) -> Then {
    e.conn.fold.woke_at(now);
    for _ in 0..TURN {
        let Carry { buf, filled, .. } = &mut e.carry;
        let room = buf.len() - *filled;
        let got = match rustix::net::recv(&e.stream, &mut buf[*filled..], rustix::net::RecvFlags::empty()) {
            Ok(0) => return Then::Close,
            Ok(n) => n,
            Err(rustix::io::Errno::AGAIN) => return Then::Keep,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return Then::Close,
        };
        *filled += got;
        let then = e.answer(now);
        if matches!(then, Some(Then::Leave(_))) {
            // The answers made go with it, to go out first.
            return then.unwrap_or(Then::Keep);
        }
        let out = &mut e.carry.out;
        if !out.is_empty() {
            match rustix::net::send(&e.stream, out, rustix::net::SendFlags::NOSIGNAL) {
                Ok(n) if n == out.len() => out.clear(),
                // The client does not take its answers now: its task waits for it, a while.
                Ok(n) => {
                    out.drain(..n);
                    return Then::Leave(None);
                }
                Err(rustix::io::Errno::AGAIN) => return Then::Leave(None),
                Err(_) => return Then::Close,
            }
        }
        if let Some(then) = then {
            return then;
        }
        // A short read drained the socket: its next bytes are a new event, with no `recv`
        // spent to learn it would block (one `recv` a request, as the raw floor does). Not so
        // its end: a client that shut its side with its last request (one segment, or both
        // before the loop woke) gives no event after it, so the next `recv` reads the end.
        if got < room && !closed {
            return Then::Keep;
        }
    }
    Then::More
}

impl Entry {
    /// Answers every whole request received, into `carry.out`, and keeps what follows the
    /// last; stops at one that waits (a write or a diagnostic for its tick, a request over the
    /// pace: `Leave`, the request kept) or that ends the connection (`Close`).
    fn answer(&mut self, now: Instant) -> Option<Then> {
        let Entry { conn, carry, endpoint, last_frame, .. } = self;
        let Carry { buf, filled, out, .. } = carry;
        let mut start = 0;
        let mut then = None;
        loop {
            match parse_frame(&buf[start..*filled]) {
                Frame::Complete { header, pdu, len } => {
                    if waits_for_tick(pdu[0]) {
                        then = Some(Then::Leave(None));
                        break;
                    }
                    // The endpoint's and the range's pace, as the task keeps it.
                    if !conn.routine {
                        let wait = endpoint.pacer.reserve().max(conn.cx.range_pacer.reserve());
                        if !wait.is_zero() {
                            then = Some(Then::Leave(Some(wait)));
                            break;
                        }
                    }
                    *last_frame = now;
                    let next = match conn.respond(header, pdu, out) {
                        Ok(next) => next,
                        // Only writes and diagnostics wait for a tick, and they left above.
                        Err(_) => Next::Close,
                    };
                    start += len;
                    if matches!(next, Next::Close) {
                        then = Some(Then::Close);
                        break;
                    }
                }
                Frame::Incomplete => break,
                Frame::Invalid(error) => {
                    // Framing is lost: nothing after this point can be trusted.
                    tracing::debug!(parent: &conn.span, ?error, "closing: bad MBAP header");
                    conn.record(0, 0, 0, None, Some(RejectReason::Malformed));
                    then = Some(Then::Close);
                    break;
                }
            }
        }
        buf.copy_within(start..*filled, 0);
        *filled -= start;
        then
    }
}

/// Moves a connection to a task of its own.
fn leave(entry: Entry, wait: Option<Duration>, shutdown: watch::Receiver<bool>, tasks: &mut JoinSet<()>) {
    let Entry { conn, stream, mut carry, endpoint, slot, .. } = entry;
    carry.wait = wait;
    match tokio::net::TcpStream::from_std(stream.into()) {
        Ok(stream) => {
            tasks.spawn(alone(Accepted { conn, stream, endpoint, slot }, carry, shutdown));
        }
        Err(e) => tracing::debug!(parent: &conn.span, error = %e, "closing: the connection cannot wait"),
    }
}

/// Serves a connection in a task of its own until it ends, then frees its slots.
async fn alone(a: Accepted, carry: Carry, shutdown: watch::Receiver<bool>) {
    let Accepted { conn, stream, endpoint, slot } = a;
    task::run(conn, stream, &endpoint.pacer, shutdown, carry).await;
    drop(slot);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_inbox_gives_a_connection_back_until_the_loop_takes_one() {
        let (tx, mut rx) = mpsc::channel(INBOX);
        let inbox = Handoff(tx);
        for i in 0..INBOX {
            assert_eq!(inbox.send(i), Ok(()));
        }
        assert!(inbox.is_full());
        assert_eq!(inbox.send(INBOX), Err(INBOX), "over the limit: given back to be refused");
        assert_eq!(rx.try_recv(), Ok(0));
        assert!(!inbox.is_full());
        assert_eq!(inbox.send(INBOX), Ok(()), "room again once the loop took one");
    }
}
