//! The IEC 60870-5-104 link layer of a controlled station (the RTU side), as a state machine
//! without IO or clock: the caller hands it each received APDU and the time (milliseconds on
//! any monotonic clock), and sends what it returns. STARTDT/STOPDT/TESTFR, the k and w windows,
//! sequence-number checks and the t1, t2 and t3 timers follow IEC 60870-5-104 clause 5.

use super::apci::{self, Apdu, UFunction, defaults};

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Send these octets.
    Send(Vec<u8>),
    /// An ASDU the master sent (data transfer is started): the application's to answer.
    Deliver(Vec<u8>),
    /// Close the connection: the reason, for the log.
    Close(&'static str),
}

/// Window sizes and timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Most I frames sent and not acknowledged.
    pub k: u16,
    /// Most I frames received before acknowledging them.
    pub w: u16,
    /// Waiting for an acknowledgement (ms).
    pub t1_ms: u64,
    /// Acknowledging received frames when nothing else goes out (ms).
    pub t2_ms: u64,
    /// Testing an idle connection (ms).
    pub t3_ms: u64,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            k: defaults::K,
            w: defaults::W,
            t1_ms: defaults::T1_S * 1000,
            t2_ms: defaults::T2_S * 1000,
            t3_ms: defaults::T3_S * 1000,
        }
    }
}

/// Sending an ASDU now would exceed a window or data transfer is stopped: keep it for later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// STARTDT has not been received (or STOPDT was).
    Stopped,
    /// `k` frames are waiting for their acknowledgement.
    Window,
}

/// One connection's link state.
#[derive(Debug, Clone)]
pub struct Link {
    p: Params,
    started: bool,
    /// V(S): the next send sequence number.
    vs: u16,
    /// V(R): the next receive sequence number expected.
    vr: u16,
    /// The oldest sent I frame not yet acknowledged.
    acked: u16,
    /// When each unacknowledged sent frame went out (oldest first), for t1.
    sent_at: std::collections::VecDeque<u64>,
    /// Received I frames not yet acknowledged, and when the first of them arrived (t2).
    unacked: u16,
    unacked_since: Option<u64>,
    /// A TESTFR act we sent, waiting for its confirmation (t1).
    test_sent: Option<u64>,
    /// When anything last arrived (t3).
    last_rx: u64,
    /// STOPDT act taken while sent I frames were not yet acknowledged: it is confirmed once
    /// they are (IEC 60870-5-104, 5.3).
    stop_pending: bool,
}

impl Link {
    /// A new connection at `now`.
    pub fn new(p: Params, now: u64) -> Link {
        Link {
            p,
            started: false,
            vs: 0,
            vr: 0,
            acked: 0,
            sent_at: Default::default(),
            unacked: 0,
            unacked_since: None,
            test_sent: None,
            last_rx: now,
            stop_pending: false,
        }
    }

    /// Whether data transfer is started.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Handles a received APDU.
    pub fn receive(&mut self, apdu: Apdu<'_>, now: u64) -> Vec<Out> {
        self.last_rx = now;
        let mut out = Vec::new();
        match apdu {
            Apdu::U(f) => {
                let answer = match f {
                    UFunction::StartDtAct => {
                        self.started = true;
                        self.stop_pending = false;
                        Some(UFunction::StartDtCon)
                    }
                    UFunction::StopDtAct => {
                        // Outstanding received frames are acknowledged before the confirmation;
                        // nothing more is sent, and the confirmation waits for the master to
                        // acknowledge what was.
                        self.flush_ack(&mut out);
                        self.started = false;
                        self.stop_pending = !self.sent_at.is_empty();
                        (!self.stop_pending).then_some(UFunction::StopDtCon)
                    }
                    UFunction::TestFrAct => Some(UFunction::TestFrCon),
                    UFunction::TestFrCon => {
                        self.test_sent = None;
                        None
                    }
                    // A controlled station does not get confirmations of its own.
                    UFunction::StartDtCon | UFunction::StopDtCon => {
                        return vec![Out::Close("unexpected STARTDT/STOPDT confirmation")];
                    }
                };
                if let Some(a) = answer {
                    let mut b = Vec::new();
                    apci::write_u(&mut b, a);
                    out.push(Out::Send(b));
                }
            }
            Apdu::S { recv } => {
                if let Err(why) = self.acknowledge(recv) {
                    return vec![Out::Close(why)];
                }
                if self.stop_pending && self.sent_at.is_empty() {
                    self.stop_pending = false;
                    let mut b = Vec::new();
                    apci::write_u(&mut b, UFunction::StopDtCon);
                    out.push(Out::Send(b));
                }
            }
            Apdu::I { send, recv, asdu } => {
                if !self.started {
                    return vec![Out::Close("I frame before STARTDT")];
                }
                if send != self.vr {
                    return vec![Out::Close("send sequence number out of order")];
                }
                if let Err(why) = self.acknowledge(recv) {
                    return vec![Out::Close(why)];
                }
                self.vr = (self.vr + 1) % apci::SEQ_MODULO;
                self.unacked += 1;
                self.unacked_since.get_or_insert(now);
                out.push(Out::Deliver(asdu.to_vec()));
                if self.unacked >= self.p.w {
                    self.flush_ack(&mut out);
                }
            }
        }
        out
    }

    /// Frames an ASDU to send now, or says why it must wait.
    pub fn send(&mut self, asdu: &[u8], now: u64) -> Result<Vec<u8>, Hold> {
        if !self.started {
            return Err(Hold::Stopped);
        }
        if apci::seq_distance(self.acked, self.vs) >= self.p.k {
            return Err(Hold::Window);
        }
        let mut b = Vec::new();
        // An I frame acknowledges what was received, so t2 has nothing left to do.
        if apci::write_i(&mut b, self.vs, self.vr, asdu).is_none() {
            return Err(Hold::Window);
        }
        self.unacked = 0;
        self.unacked_since = None;
        self.vs = (self.vs + 1) % apci::SEQ_MODULO;
        self.sent_at.push_back(now);
        Ok(b)
    }

    /// What the timers call for at `now`: an acknowledgement (t2), a test frame (t3), or the
    /// end of the connection (t1: the master did not acknowledge in time).
    pub fn poll(&mut self, now: u64) -> Vec<Out> {
        let overdue = |since: u64, t: u64| now.saturating_sub(since) >= t;
        if self.sent_at.front().is_some_and(|&t| overdue(t, self.p.t1_ms)) {
            return vec![Out::Close("t1: sent frames not acknowledged")];
        }
        if self.test_sent.is_some_and(|t| overdue(t, self.p.t1_ms)) {
            return vec![Out::Close("t1: test frame not confirmed")];
        }
        let mut out = Vec::new();
        if self.unacked_since.is_some_and(|t| overdue(t, self.p.t2_ms)) {
            self.flush_ack(&mut out);
        }
        if self.test_sent.is_none() && overdue(self.last_rx, self.p.t3_ms) {
            let mut b = Vec::new();
            apci::write_u(&mut b, UFunction::TestFrAct);
            out.push(Out::Send(b));
            self.test_sent = Some(now);
        }
        out
    }

    /// When `poll` next has something to do (milliseconds on the caller's clock).
    pub fn next_deadline(&self) -> u64 {
        let t1 = self.sent_at.front().into_iter().chain(self.test_sent.as_ref()).map(|t| t + self.p.t1_ms);
        let t2 = self.unacked_since.map(|t| t + self.p.t2_ms);
        let t3 = self.test_sent.is_none().then_some(self.last_rx + self.p.t3_ms);
        t1.chain(t2).chain(t3).min().unwrap_or(u64::MAX)
    }

    /// Takes an acknowledgement N(R) of our sent frames.
    fn acknowledge(&mut self, recv: u16) -> Result<(), &'static str> {
        if !apci::valid_ack(recv, self.acked, self.vs) {
            return Err("acknowledgement outside the window");
        }
        for _ in 0..apci::seq_distance(self.acked, recv) {
            self.sent_at.pop_front();
        }
        self.acked = recv;
        Ok(())
    }

    /// An S frame acknowledging every received frame.
    fn flush_ack(&mut self, out: &mut Vec<Out>) {
        if self.unacked > 0 {
            let mut b = Vec::new();
            apci::write_s(&mut b, self.vr);
            out.push(Out::Send(b));
            self.unacked = 0;
            self.unacked_since = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::iec104::apci::{Parsed, parse};

    fn frame(out: &Out) -> Apdu<'_> {
        match out {
            Out::Send(b) => match parse(b) {
                Parsed::Complete { apdu, .. } => apdu,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    const ASDU: &[u8] = &[100, 1, 6, 0, 1, 0, 0, 0, 0, 20];

    fn i(send: u16, recv: u16) -> Apdu<'static> {
        Apdu::I { send, recv, asdu: ASDU }
    }

    #[test]
    fn data_transfer_starts_stops_and_answers_tests() {
        let mut l = Link::new(Params::default(), 0);
        assert_eq!(l.send(ASDU, 0), Err(Hold::Stopped));
        assert_eq!(l.receive(i(0, 0), 1), vec![Out::Close("I frame before STARTDT")]);
        let mut l = Link::new(Params::default(), 0);
        let out = l.receive(Apdu::U(UFunction::StartDtAct), 1);
        assert_eq!(frame(&out[0]), Apdu::U(UFunction::StartDtCon));
        assert!(l.started());
        let out = l.receive(Apdu::U(UFunction::TestFrAct), 2);
        assert_eq!(frame(&out[0]), Apdu::U(UFunction::TestFrCon));
        // A received frame is delivered; STOPDT acknowledges it before confirming.
        assert_eq!(l.receive(i(0, 0), 3), vec![Out::Deliver(ASDU.to_vec())]);
        let out = l.receive(Apdu::U(UFunction::StopDtAct), 4);
        assert_eq!((frame(&out[0]), frame(&out[1])), (Apdu::S { recv: 1 }, Apdu::U(UFunction::StopDtCon)));
        assert!(!l.started());
    }

    #[test]
    fn stopdt_is_confirmed_once_the_master_acknowledges_what_was_sent() {
        let mut l = Link::new(Params::default(), 0);
        l.receive(Apdu::U(UFunction::StartDtAct), 0);
        l.send(ASDU, 1).unwrap();
        l.send(ASDU, 1).unwrap();
        // Two frames out: no confirmation yet, and nothing more goes.
        assert!(l.receive(Apdu::U(UFunction::StopDtAct), 2).is_empty());
        assert_eq!(l.send(ASDU, 3), Err(Hold::Stopped));
        assert!(l.receive(Apdu::S { recv: 1 }, 4).is_empty(), "one still out");
        let out = l.receive(Apdu::S { recv: 2 }, 5);
        assert_eq!(out.len(), 1);
        assert_eq!(frame(&out[0]), Apdu::U(UFunction::StopDtCon));
    }

    #[test]
    fn windows_hold_the_sender_and_acknowledge_the_receiver() {
        let p = Params { k: 3, w: 2, ..Params::default() };
        let mut l = Link::new(p, 0);
        l.receive(Apdu::U(UFunction::StartDtAct), 0);
        for n in 0..3 {
            let b = l.send(ASDU, 10).unwrap();
            assert!(
                matches!(parse(&b), Parsed::Complete { apdu: Apdu::I { send, recv: 0, .. }, .. } if send == n)
            );
        }
        assert_eq!(l.send(ASDU, 10), Err(Hold::Window), "k frames outstanding");
        assert!(l.receive(Apdu::S { recv: 2 }, 11).is_empty());
        assert!(l.send(ASDU, 12).is_ok(), "two acknowledged: room again");
        // w received frames bring an S frame at once.
        assert_eq!(l.receive(i(0, 2), 13), vec![Out::Deliver(ASDU.to_vec())]);
        let out = l.receive(i(1, 2), 14);
        assert_eq!(frame(&out[1]), Apdu::S { recv: 2 });
    }

    #[test]
    fn protocol_errors_close_the_connection() {
        let mut l = Link::new(Params::default(), 0);
        l.receive(Apdu::U(UFunction::StartDtAct), 0);
        assert_eq!(l.receive(i(1, 0), 1), vec![Out::Close("send sequence number out of order")]);
        let mut l = Link::new(Params::default(), 0);
        l.receive(Apdu::U(UFunction::StartDtAct), 0);
        assert_eq!(l.receive(Apdu::S { recv: 5 }, 1), vec![Out::Close("acknowledgement outside the window")]);
        let mut l = Link::new(Params::default(), 0);
        assert_eq!(
            l.receive(Apdu::U(UFunction::StartDtCon), 1),
            vec![Out::Close("unexpected STARTDT/STOPDT confirmation")]
        );
    }

    #[test]
    fn timers_acknowledge_test_and_give_up() {
        let p = Params::default();
        let mut l = Link::new(p, 0);
        l.receive(Apdu::U(UFunction::StartDtAct), 0);
        l.receive(i(0, 0), 100);
        assert!(l.poll(100 + p.t2_ms - 1).is_empty());
        // t2: the received frame is acknowledged when nothing else went out.
        assert_eq!(frame(&l.poll(100 + p.t2_ms)[0]), Apdu::S { recv: 1 });
        // t3: an idle connection is tested; t1: an unconfirmed test ends it.
        let idle = 100 + p.t3_ms;
        assert_eq!(frame(&l.poll(idle)[0]), Apdu::U(UFunction::TestFrAct));
        assert!(l.poll(idle + 1).is_empty(), "one test at a time");
        assert_eq!(l.poll(idle + p.t1_ms), vec![Out::Close("t1: test frame not confirmed")]);
        // t1: a sent frame the master never acknowledges.
        let mut l = Link::new(p, 0);
        l.receive(Apdu::U(UFunction::StartDtAct), 0);
        l.send(ASDU, 50).unwrap();
        l.receive(Apdu::U(UFunction::TestFrAct), 60);
        assert_eq!(l.poll(50 + p.t1_ms), vec![Out::Close("t1: sent frames not acknowledged")]);
        // Acknowledged in time: nothing to do.
        let mut l = Link::new(p, 0);
        l.receive(Apdu::U(UFunction::StartDtAct), 0);
        l.send(ASDU, 50).unwrap();
        l.receive(Apdu::S { recv: 1 }, 60);
        assert!(l.poll(50 + p.t1_ms).is_empty());
    }
}
