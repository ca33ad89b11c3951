//! A connection served in a task of its own: once a client sends a write or a diagnostic
//! (answered after the tick that applies it), or its requests must wait for their turn (the
//! endpoint's pace), or it does not take its answers at once, its connection leaves the
//! shard's event loop (`shard`) for a task that can wait.

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use icsdrill_engine::RejectReason;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::frame::{Frame, MAX_ADU_LEN, parse_frame};
use super::server::{Pacer, Stop};
use super::session::{Conn, Next, waits_for_tick};

/// What a connection brings along from the shard's event loop.
pub(super) struct Carry {
    /// Bytes received, from the first request not yet answered.
    pub(super) buf: Vec<u8>,
    /// How many of `buf` hold them.
    pub(super) filled: usize,
    /// Answers not yet sent.
    pub(super) out: Vec<u8>,
    /// The first request's turn, reserved already: how long it waits.
    pub(super) wait: Option<Duration>,
}

impl Carry {
    /// A connection's buffers, empty.
    pub(super) fn new() -> Carry {
        Carry {
            buf: vec![0u8; 4 * MAX_ADU_LEN],
            filled: 0,
            out: Vec::with_capacity(2 * MAX_ADU_LEN),
            wait: None,
        }
    }
}

/// Serves an admitted connection until it closes, fails, idles out or the range stops.
pub(super) async fn run(
    conn: Conn,
    mut stream: TcpStream,
    pacer: &Pacer,
    mut shutdown: watch::Receiver<bool>,
    carry: Carry,
) {
    let cx = Arc::clone(&conn.cx);
    let Carry { mut buf, mut filled, mut out, wait: mut reserved } = carry;
    let idle = cx.limits.idle_timeout;
    // One shutdown future and one timer for the connection's life: moving a timer's deadline
    // later costs an atomic store, where a timer per read costs a trip through the wheel.
    let seen = shutdown.clone();
    let mut stop = Stop { future: pin!(shutdown.wait_for(|stop| *stop)), seen, polled: false };
    let mut timer = pin!(tokio::time::sleep(idle));
    // Idle time counts from the last whole request, so trickling bytes keeps nothing open.
    let mut now = Instant::now();
    let mut last_frame = now;
    loop {
        let mut start = 0;
        let mut next = Next::Continue;
        loop {
            match parse_frame(&buf[start..filled]) {
                Frame::Complete { header, pdu, len } => {
                    // The endpoint's and the range's pace: a flood waits here, on its own
                    // connection, instead of taking the CPU other ranges need.
                    // The range's own routine clients keep to the simulation's schedule.
                    let wait = if let Some(wait) = reserved.take() {
                        wait
                    } else if conn.routine {
                        Duration::ZERO
                    } else {
                        pacer.reserve().max(cx.range_pacer.reserve())
                    };
                    if !wait.is_zero()
                        && !pace(wait, &mut stream, &mut out, idle, timer.as_mut(), &mut stop).await
                    {
                        return;
                    }
                    last_frame = if wait.is_zero() { now } else { conn.fold.woke() };
                    // Answers already made go out before a write waits for its tick.
                    let after_tick = waits_for_tick(pdu[0]);
                    if after_tick && !out.is_empty() && !flush(&mut stream, &mut out, idle).await {
                        return;
                    }
                    next = conn.handle(header, pdu, &mut out).await;
                    if after_tick {
                        // It waited for a tick: the clock moved on.
                        now = conn.fold.woke();
                    }
                    start += len;
                    if matches!(next, Next::Close) {
                        break;
                    }
                }
                Frame::Incomplete => break,
                Frame::Invalid(e) => {
                    // Framing is lost: nothing after this point can be trusted.
                    tracing::debug!(parent: &conn.span, error = ?e, "closing: bad MBAP header");
                    conn.record(0, 0, 0, None, Some(RejectReason::Malformed));
                    next = Next::Close;
                    break;
                }
            }
        }
        if !out.is_empty() && !flush(&mut stream, &mut out, idle).await {
            return;
        }
        if matches!(next, Next::Close) {
            return;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        let idle_end = last_frame + idle;
        if idle_end <= now {
            return;
        }
        // Wake up for the folded record too, so a quiet client's last poll is logged on time.
        let fold = conn.fold.deadline();
        let wake = fold.map_or(idle_end, |f| f.min(idle_end));
        if timer.deadline() != wake.into() {
            timer.as_mut().reset(wake.into());
        }
        let ready = tokio::select! {
            biased;
            ready = stream.readable() => Some(ready),
            _ = &mut stop => return,
            () = &mut timer => None,
        };
        now = conn.fold.woke();
        match ready.map(|r| r.and_then(|()| super::server::read_draining(&stream, &mut buf[filled..]))) {
            Some(Ok(n)) if n > 0 => filled += n,
            Some(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {} // Spurious wake-up.
            None if fold.is_some_and(|f| f < idle_end) => conn.flush_records(),
            None => {}   // Idle too long: the next turn sees it.
            _ => return, // Closed or failed.
        }
    }
}

/// Waits `wait` for the connection's turn, answers already made sent first; `false` when the
/// connection must end (the client stopped reading, or shutdown).
async fn pace<S: std::future::Future + Unpin>(
    wait: Duration,
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
    idle: Duration,
    mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
    stop: &mut S,
) -> bool {
    if !out.is_empty() && !flush(stream, out, idle).await {
        return false;
    }
    timer.as_mut().reset((Instant::now() + wait).into());
    tokio::select! {
        biased;
        _ = stop => false,
        () = timer => true,
    }
}

/// Writes queued answers; a client that does not read them within `limit` is dropped.
async fn flush(stream: &mut TcpStream, out: &mut Vec<u8>, limit: Duration) -> bool {
    // Mostly the socket takes it all at once: no timer then.
    let sent = match super::server::try_send(stream, out) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
        Err(_) => {
            out.clear();
            return false;
        }
    };
    let ok = sent == out.len()
        || matches!(tokio::time::timeout(limit, stream.write_all(&out[sent..])).await, Ok(Ok(())));
    out.clear();
    ok
}
