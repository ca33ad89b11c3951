//! The floor of the board's fan-out on this machine: the least work a server can do to push
//! one change to every viewer (one `write` of the same bytes to each socket, from two plain
//! threads, one a core), measured by the same viewers' process as the drill. What the drill's
//! delay is compared with: the kernel's TCP path on both sides of loopback, on the same cores.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A delta-sized event (the drill's delta of one changed row is about 0.5 KB) whose
/// `changed_us` is `at`.
fn event(seq: u64, at: u64) -> Vec<u8> {
    let row = format!(
        r#"{{"rank":1,"team":"team-{seq:03}","name":"Team {seq}","total":{seq}.0,"detected":0,"fired":0,"settled_tick":{seq},"parts":[["detect",0.0],["impact",0.0],["report",-5.0]]}}"#
    );
    let pad = "x".repeat(200);
    format!(
        "event: scoreboard-delta\ndata: {{\"base\":{},\"seq\":{seq},\"changed_us\":{at},\"pad\":\"{pad}\",\"rows\":[{row}]}}\n\n",
        seq - 1
    )
    .into_bytes()
}

/// Runs the floor: accepts `n` viewers on `listener` and answers each request with the
/// stream's headers and a first board; once `go` says so, every 100 ms for `seconds` writes
/// one new event to every viewer, the viewers split over two threads (the second scoped to
/// each change). Changes are stamped in microseconds since `epoch_us` on the Unix clock (the
/// viewers' epoch). Returns the changes.
pub(crate) fn serve(
    listener: TcpListener,
    n: usize,
    go: mpsc::Receiver<()>,
    seconds: f64,
    epoch_us: u64,
) -> std::thread::JoinHandle<usize> {
    let clock = move || {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        (now.map_or(0, |d| d.as_micros()) as u64).saturating_sub(epoch_us)
    };
    // Viewers are taken in as they come (the acceptor is left waiting when the bench ends);
    // those in by the time `go` comes are served. At most `n` wait: it takes in no more.
    let (accepted, arrivals) = mpsc::sync_channel(n);
    std::thread::spawn(move || {
        let mut request = [0u8; 1024];
        for _ in 0..n {
            let Ok((mut s, _)) = listener.accept() else { continue };
            let _ = s.set_nodelay(true);
            // The viewer sends its request in one write; its bytes are not needed.
            if s.read(&mut request).unwrap_or(0) == 0 {
                continue;
            }
            let head =
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";
            if s.write_all(head).and_then(|()| s.write_all(&event(1, 0))).is_ok() && accepted.send(s).is_err()
            {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        let _ = go.recv();
        let mut viewers: Vec<TcpStream> = arrivals.try_iter().collect();
        let half = viewers.len() / 2;
        let (first, second) = viewers.split_at_mut(half);
        let start = Instant::now();
        let mut seq = 2;
        while start.elapsed().as_secs_f64() < seconds {
            let bytes = event(seq, clock());
            // The two halves written at once, one a core.
            std::thread::scope(|scope| {
                scope.spawn(|| second.iter_mut().for_each(|s| drop(s.write_all(&bytes))));
                first.iter_mut().for_each(|s| drop(s.write_all(&bytes)));
            });
            seq += 1;
            let next = start + Duration::from_millis(100 * (seq - 2));
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        seq as usize - 2
    })
}
