//! A shard's event loop on io_uring (Linux): the same connections, answered the same way
//! (`Entry::answer`), but a connection's `recv` and `send` are requests in a ring instead of
//! system calls, so one `io_uring_enter` a turn hands the kernel every answer the turn made
//! and every connection's next `recv`, and takes what arrived meanwhile. The epoll loop
//! (`shard::run`) makes a `recv` and a `send` a request, and an `epoll_wait` a turn.
//!
//! The ring's descriptor waits in the runtime's poller beside the shard's other sockets: it
//! turns readable when completions are posted. The kernel writes a `recv`'s bytes into the
//! connection's buffer, and reads a `send`'s from its answers, until the request completes, so
//! a connection leaves the table only when nothing of it is in the ring: closing one shuts its
//! socket down (its `recv` completes at once), and the loop's end waits for every request of
//! its connections (or leaks their buffers, should the kernel never answer).
//!
//! The kernel's part is `unsafe`: it is told where a connection's buffers are, and they must
//! stay there until it is done (`push`); this module is the crate's only `unsafe` code.
//!
//! `--modbus-io epoll` (`ICSDRILL_MODBUS_IO=epoll`) keeps the epoll loop, as does a kernel
//! without io_uring (or one that refuses it, as container sandboxes may).

use std::os::fd::{AsFd, AsRawFd};
use std::pin::pin;
use std::time::{Duration, Instant};

use io_uring::{IoUring, opcode, squeue, types};
use slab::Slab;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::{Accepted, DRAIN, Entry, HOT, SWEEP, Then, leave, look};
use crate::runtime::modbus::server::Stop;
use crate::runtime::modbus::task::Carry;

/// Submission queue entries (a connection has two requests in the ring at most; a full queue
/// is submitted and the push tried again).
const ENTRIES: u32 = 128;

/// Completion queue entries (more completions than fit wait in the kernel, which keeps them).
const COMPLETIONS: u32 = 1024;

/// A request's `user_data`: the connection's key, and which of its requests.
const SEND: u64 = 1 << 32;
/// A cancel's own completion, which nothing waits for.
const CANCEL: u64 = 1 << 33;

/// Tries to queue a request in a full queue before the connection is closed instead.
const PUSH_TRIES: usize = 8;

/// How long the loop's end waits for the ring's last requests.
const SETTLE: Duration = Duration::from_secs(2);

/// A connection in the ring's table.
struct Ringed {
    entry: Entry,
    /// A `recv` into `entry.carry.buf[filled..]` is in the ring.
    receiving: bool,
    /// Answers a `send` in the ring is sending (while `in_send`); those made meanwhile wait in
    /// `carry.out`.
    sending: Vec<u8>,
    in_send: bool,
    /// What becomes of it once nothing of it is in the ring (`Close` or `Leave`).
    end: Option<Then>,
}

/// The loop's ring and connections.
pub(super) struct Ring {
    /// The ring, its descriptor waiting in the runtime's poller.
    ring: AsyncFd<IoUring>,
    conns: Slab<Ringed>,
    /// Requests of `conns` in the ring.
    in_flight: usize,
    /// Completions taken at a turn (kept for its capacity).
    taken: Vec<(u64, i32)>,
    tasks: JoinSet<()>,
    shutdown: watch::Receiver<bool>,
}

impl Ring {
    /// A ring waiting in the current runtime's poller, or why there is none.
    pub(super) fn new(shutdown: watch::Receiver<bool>) -> std::io::Result<Ring> {
        // Not `DEFER_TASKRUN`: its signal of waiting completions comes late (after an RCU
        // grace period), milliseconds a request at a few connections. Without it the kernel
        // makes them as this thread returns from any system call, or interrupts its wait.
        let ring = IoUring::builder().setup_cqsize(COMPLETIONS).setup_submit_all().build(ENTRIES)?;
        // Deprecated for descriptors a type may swap under it; a ring keeps its one for life.
        #[allow(deprecated)]
        let ring = AsyncFd::with_interest(ring, tokio::io::Interest::READABLE)?;
        Ok(Ring {
            ring,
            conns: Slab::new(),
            in_flight: 0,
            taken: Vec::with_capacity(COMPLETIONS as usize),
            tasks: JoinSet::new(),
            shutdown,
        })
    }

    /// Serves what `inbox` hands it until `shutdown` turns true.
    pub(super) async fn run(mut self, mut inbox: mpsc::Receiver<Accepted>, shutdown: watch::Receiver<bool>) {
        let seen = shutdown.clone();
        let mut shutdown = shutdown;
        let mut stop = Stop { future: pin!(shutdown.wait_for(|stop| *stop)), seen, polled: false };
        let mut timer = pin!(tokio::time::sleep(Duration::from_secs(3600)));
        // Turns in a row that found completions waiting, without a look at the runtime.
        let mut hot = 0;
        loop {
            while self.tasks.try_join_next().is_some() {}
            self.submit();
            // Completions are there at once more often than not (the `send`s just submitted,
            // a `recv` whose bytes came meanwhile): taken without the runtime's poller, for
            // `HOT` turns at most, then the timer and the inbox have theirs.
            let waiting = !self.uring().completion().is_empty();
            if waiting && hot < HOT {
                hot += 1;
                self.take(Instant::now(), timer.as_mut());
                continue;
            }
            hot = 0;
            if waiting {
                // The shard's other tasks, its timers and its poller have their turn.
                tokio::task::yield_now().await;
            }
            tokio::select! {
                biased;
                _ = &mut stop => break,
                a = inbox.recv() => match a {
                    Some(a) => {
                        if let Some(at) = self.add(a)
                            && at < timer.deadline().into_std()
                        {
                            timer.as_mut().reset(at.into());
                        }
                    }
                    None => break,
                },
                guard = self.ring.readable_mut() => match guard {
                    // Nothing posted since the queue was last read: its readiness is spent.
                    Ok(mut guard) => {
                        if guard.get_inner_mut().completion().is_empty() {
                            guard.clear_ready();
                        }
                    }
                    Err(_) => break,
                },
                () = &mut timer, if !self.conns.is_empty() => {
                    let now = Instant::now();
                    let live = self.conns.iter().filter(|(_, r)| r.end.is_none());
                    let (next, idle) = look(live.map(|(k, r)| (k, &r.entry)), now);
                    for key in idle {
                        self.end(key, Then::Close);
                    }
                    timer.as_mut().reset(next.into());
                }
                () = std::future::ready(()), if waiting => self.take(Instant::now(), timer.as_mut()),
            }
        }
        self.settle();
        // Connections that left for tasks get a moment to finish.
        let mut tasks = std::mem::take(&mut self.tasks);
        drop(self);
        if tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
            tasks.abort_all();
        }
    }

    /// The ring itself.
    fn uring(&mut self) -> &mut IoUring {
        self.ring.get_mut()
    }

    /// Hands the kernel what the turn queued (it posts what completes as it returns).
    fn submit(&mut self) {
        if !self.uring().submission().is_empty()
            && let Err(e) = self.uring().submit()
        {
            // Busy (completions to take first) or interrupted: the next turn submits again.
            tracing::trace!(error = %e, "io_uring submit");
        }
    }

    /// Queues `sqe`, submitting first if the queue is full; false if the kernel takes none
    /// (a few tries: it is busy or out of memory), which the caller undoes.
    ///
    /// Safety: what `sqe` points at stays where it is, unused, until its completion is taken.
    unsafe fn push(&mut self, sqe: &squeue::Entry) -> bool {
        for _ in 0..PUSH_TRIES {
            // SAFETY: as the caller promises.
            if unsafe { self.uring().submission().push(sqe) }.is_ok() {
                return true;
            }
            if let Err(e) = self.uring().submit() {
                tracing::debug!(error = %e, "io_uring submit (queue full)");
            }
        }
        false
    }

    /// Takes a connection into the table and asks for its first bytes; returns when the loop
    /// must see to it first.
    fn add(&mut self, a: Accepted) -> Option<Instant> {
        let std = a.stream.into_std().ok()?;
        let stream = mio::net::TcpStream::from_std(std);
        let now = a.conn.fold.woke();
        let (conn, endpoint, slot) = (a.conn, a.endpoint, a.slot);
        let entry = Entry { conn, stream, carry: Carry::new(), endpoint, slot, last_frame: now };
        let deadline = entry.deadline();
        let key = self.conns.insert(Ringed {
            entry,
            receiving: false,
            sending: Vec::new(),
            in_send: false,
            end: None,
        });
        self.recv(key);
        Some(deadline)
    }

    /// Asks for connection `key`'s next bytes, after those it has.
    fn recv(&mut self, key: usize) {
        let r = &mut self.conns[key];
        let Carry { buf, filled, .. } = &mut r.entry.carry;
        let room = &mut buf[*filled..];
        let fd = types::Fd(r.entry.stream.as_raw_fd());
        let sqe = opcode::Recv::new(fd, room.as_mut_ptr(), room.len() as u32).build().user_data(key as u64);
        // SAFETY: the connection stays in the table, its buffer unread and unresized, until this
        // request completes (`receiving`).
        if unsafe { self.push(&sqe) } {
            self.conns[key].receiving = true;
            self.in_flight += 1;
        } else {
            self.end(key, Then::Close);
        }
    }

    /// Sends connection `key`'s answers, unless a `send` of earlier ones is in the ring.
    fn send(&mut self, key: usize) {
        let r = &mut self.conns[key];
        if r.in_send || r.entry.carry.out.is_empty() {
            return;
        }
        std::mem::swap(&mut r.sending, &mut r.entry.carry.out);
        let fd = types::Fd(r.entry.stream.as_raw_fd());
        let flags = rustix::net::SendFlags::NOSIGNAL.bits() as i32;
        let sqe = opcode::Send::new(fd, r.sending.as_ptr(), r.sending.len() as u32)
            .flags(flags)
            .build()
            .user_data(SEND | key as u64);
        // SAFETY: `sending` is neither touched nor moved (its heap buffer) until this request
        // completes (`in_send`).
        if unsafe { self.push(&sqe) } {
            self.conns[key].in_send = true;
            self.in_flight += 1;
        } else {
            self.conns[key].sending.clear();
            self.end(key, Then::Close);
        }
    }

    /// Takes every completion posted and does what each asks.
    fn take(&mut self, now: Instant, mut timer: std::pin::Pin<&mut tokio::time::Sleep>) {
        let mut taken = std::mem::take(&mut self.taken);
        taken.extend(self.uring().completion().map(|c| (c.user_data(), c.result())));
        let mut folding = false;
        for &(data, result) in &taken {
            let Some((key, send)) = self.completed(data) else { continue };
            if send {
                self.sent(key, result);
            } else {
                self.received(key, result, now);
            }
            folding |= self.conns.get(key).is_some_and(|r| r.entry.conn.fold.deadline().is_some());
        }
        taken.clear();
        self.taken = taken;
        // The timer stands at most a sweep away while records are folded.
        let soon = now + SWEEP;
        if folding && timer.deadline().into_std() > soon {
            timer.as_mut().reset(soon.into());
        }
    }

    /// A completion's `user_data` counted off the requests in flight: the connection's key
    /// and whether it was its `send` (none for a cancel's own completion, which nothing
    /// counts or waits for).
    fn completed(&mut self, data: u64) -> Option<(usize, bool)> {
        if data & CANCEL != 0 {
            return None;
        }
        self.in_flight -= 1;
        Some(((data & u64::from(u32::MAX)) as usize, data & SEND != 0))
    }

    /// A `recv` of connection `key` completed with `result` (bytes, or an error).
    fn received(&mut self, key: usize, result: i32, now: Instant) {
        let r = &mut self.conns[key];
        r.receiving = false;
        if let Some(end) = &r.end {
            // Bytes that came before a cancel go with a connection that leaves.
            if result > 0 && matches!(end, Then::Leave(_)) {
                r.entry.carry.filled += result as usize;
            }
            self.finish(key);
            return;
        }
        let got = match result {
            0 => return self.end(key, Then::Close),
            n if n == -(rustix::io::Errno::INTR.raw_os_error())
                || n == -(rustix::io::Errno::AGAIN.raw_os_error()) =>
            {
                return self.recv(key);
            }
            n if n < 0 => return self.end(key, Then::Close),
            n => n as usize,
        };
        r.entry.carry.filled += got;
        r.entry.conn.fold.woke_at(now);
        let then = r.entry.answer(now);
        // Answers made while earlier ones are still being sent: the client sends faster than
        // it takes them (a pipeline, or it does not read). Its task reads no more than it can
        // send; the ring would read on and pile answers up.
        let behind = r.in_send && !r.entry.carry.out.is_empty();
        self.send(key);
        if !self.conns.contains(key) {
            // Its answers could not be queued: it was closed.
            return;
        }
        match then {
            None if behind => self.end(key, Then::Leave(None)),
            None => self.recv(key),
            Some(then) => self.end(key, then),
        }
    }

    /// A `send` of connection `key` completed with `result` (bytes taken, or an error).
    fn sent(&mut self, key: usize, result: i32) {
        let r = &mut self.conns[key];
        r.in_send = false;
        if result < 0 {
            r.sending.clear();
            if r.end.is_none() {
                return self.end(key, Then::Close);
            }
            return self.finish(key);
        }
        r.sending.drain(..(result as usize).min(r.sending.len()));
        if r.end.is_none() && !r.sending.is_empty() {
            // The client does not take its answers now: its task waits for it, a while.
            return self.end(key, Then::Leave(None));
        }
        if r.end.is_some() {
            return self.finish(key);
        }
        self.send(key);
    }

    /// Connection `key` is done here (`Close` or `Leave`): once nothing of it is in the ring
    /// it is closed or moved to a task; its `recv` is hurried (a closed socket's completes,
    /// a leaving one's is cancelled).
    fn end(&mut self, key: usize, then: Then) {
        let r = &mut self.conns[key];
        if r.receiving {
            match then {
                Then::Leave(_) => {
                    let cancel = opcode::AsyncCancel::new(key as u64).build().user_data(CANCEL | key as u64);
                    r.end = Some(then);
                    // SAFETY: a cancel points at nothing.
                    if !unsafe { self.push(&cancel) } {
                        let r = &mut self.conns[key];
                        r.end = Some(Then::Close);
                        let _ =
                            rustix::net::shutdown(r.entry.stream.as_fd(), rustix::net::Shutdown::ReadWrite);
                    }
                    return;
                }
                _ => {
                    let _ = rustix::net::shutdown(r.entry.stream.as_fd(), rustix::net::Shutdown::ReadWrite);
                }
            }
        }
        r.end = Some(then);
        self.finish(key);
    }

    /// Closes or moves connection `key` if it is done and nothing of it is in the ring.
    fn finish(&mut self, key: usize) {
        let r = &self.conns[key];
        if r.receiving || r.in_send {
            return;
        }
        let Some(then) = r.end.as_ref() else { return };
        let wait = match then {
            Then::Leave(wait) => Some(*wait),
            _ => None,
        };
        let Ringed { mut entry, sending, .. } = self.conns.remove(key);
        if let Some(wait) = wait {
            // What the ring did not send goes out first.
            let later = std::mem::replace(&mut entry.carry.out, sending);
            entry.carry.out.extend_from_slice(&later);
            leave(entry, wait, self.shutdown.clone(), &mut self.tasks);
        }
    }

    /// Shuts every connection with a request in the ring down and waits for those requests,
    /// so no buffer the kernel may still use is freed (should they not come, they are leaked).
    fn settle(&mut self) {
        for (_, r) in &self.conns {
            if r.receiving || r.in_send {
                let _ = rustix::net::shutdown(r.entry.stream.as_fd(), rustix::net::Shutdown::ReadWrite);
            }
        }
        let until = Instant::now() + SETTLE;
        while self.in_flight > 0 && Instant::now() < until {
            let ts = types::Timespec::new().nsec(50_000_000);
            let args = types::SubmitArgs::new().timespec(&ts);
            let _ = self.uring().submitter().submit_with_args(1, &args);
            let taken: Vec<u64> = self.uring().completion().map(|c| c.user_data()).collect();
            for data in taken {
                if let Some((key, send)) = self.completed(data)
                    && let Some(r) = self.conns.get_mut(key)
                {
                    if send {
                        r.in_send = false;
                    } else {
                        r.receiving = false;
                    }
                }
            }
        }
        if self.in_flight > 0 {
            tracing::warn!(requests = self.in_flight, "io_uring requests not completed at the loop's end");
            std::mem::forget(std::mem::take(&mut self.conns));
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // A loop dropped mid-turn (its runtime ends) waits for its requests all the same.
        if self.in_flight > 0 {
            self.settle();
        }
    }
}
