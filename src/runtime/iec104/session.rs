//! One client connection to a PLC's IEC 104 station: the read loop, the link layer's timers,
//! the answer to each ASDU, and spontaneous changes after every tick.
//!
//! A command crosses the layers as a Modbus write does: the endpoint parses it, maps its
//! object (`Iec104Def::command`), passes the conduit firewall with the Modbus write it stands
//! for and takes the tick's write budget; an execute is then applied by the simulation
//! (`Live::apply`) and confirmed when its tick has run, positively (then terminated) or
//! negatively with the plant's reason. A select only checks: it changes nothing.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use icsdrill_engine::network::{Request as FwRequest, check_connect, check_request};
use icsdrill_engine::scenario::iec104::{Iec104Def, Write, equivalent_function, types};
use icsdrill_engine::scenario::{HostIdx, PlcIdx};
use icsdrill_engine::{RejectReason, SimInput};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::apci::{self, MAX_APDU_LEN, Parsed};
use super::asdu::{self, QOI_STATION, Refusal, Request, Value, cot};
use super::link::{Link, Out, Params};
use crate::runtime::live::SnapshotCache;
use crate::runtime::modbus::server::{Context, Pacer, read_draining, reset};
use icsdrill_engine::Iec104Transaction;

/// ASDUs a connection holds for a client that does not acknowledge them; past this it is
/// closed, as a station whose event buffer overflows drops its master.
pub const MAX_QUEUED: usize = 512;
/// A measured value is sent spontaneously at most this often (bits on every change).
pub const MEASURED_INTERVAL: Duration = Duration::from_secs(1);
/// A select not followed by its execute within this long lapses.
pub const SELECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The object of a request as recorded: its address, a command's value, whether a select.
type Object = (u32, Option<f64>, bool);

/// What the conduit firewall made of a request.
enum Gate {
    /// Let through.
    Pass,
    /// Refused and answered negatively.
    Refused,
    /// The host is no longer routed to the PLC: the session is dropped.
    Drop,
}

/// One accepted connection.
struct Station<'a> {
    cx: &'a Context,
    plc: PlcIdx,
    source: HostIdx,
    def: &'a Iec104Def,
    link: Link,
    /// ASDUs waiting for the window (or for STARTDT).
    queue: VecDeque<Vec<u8>>,
    /// The value last reported of each object (`def.points` order), and when.
    last: Vec<(Value, Instant)>,
    /// The object selected for select-before-operate: type, address, when.
    selected: Option<(u8, u32, Instant)>,
    snapshot: SnapshotCache,
    /// The station's clock, as clock synchronisation set it: milliseconds ahead of the host's.
    clock: &'a AtomicI64,
    opened: Instant,
    /// When the last whole APDU arrived: idle time counts from it.
    last_frame: Instant,
    /// One of the range's routine clients (a SCADA master's background work): the simulation
    /// logged and applied its requests already, so they are answered, not recorded or
    /// applied again.
    routine: bool,
}

/// Serves one client connection, in its own span (peer, PLC).
#[tracing::instrument(name = "iec104", level = "info", skip_all, fields(%peer, plc = %cx.live.scenario.plcs[plc.ix()].id))]
pub(crate) async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    plc: PlcIdx,
    cx: &Context,
    (pacer, clock): (&Pacer, &AtomicI64),
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(def) = cx.live.scenario.plcs[plc.ix()].iec104.as_ref() else { return };
    let snapshot = cx.live.snapshot();
    let source = cx.sources.host(peer.ip(), snapshot.attacker_host);
    let refused = check_connect(&cx.live.scenario, &snapshot.net, source, plc).err();
    let mut st = Station {
        cx,
        plc,
        source,
        def,
        link: Link::new(Params::default(), 0),
        queue: VecDeque::new(),
        last: Vec::new(),
        selected: None,
        snapshot: SnapshotCache::new(&cx.live),
        clock,
        opened: Instant::now(),
        last_frame: Instant::now(),
        routine: cx.own_clients.contains(&peer),
    };
    let opened = st.opened;
    st.last = st.values().into_iter().map(|v| (v, opened)).collect();
    drop(snapshot);
    st.record(types::CONNECTION, 0, 0, None, false, refused);
    if refused.is_some() {
        reset(stream);
        return;
    }
    let _ = stream.set_nodelay(true);
    let idle = cx.limits.idle_timeout;
    let mut buf = vec![0u8; 4 * MAX_APDU_LEN];
    let mut filled = 0;
    let mut out = Vec::with_capacity(4 * MAX_APDU_LEN);
    let mut ticks = cx.live.progress();
    let mut stop = pin!(shutdown.wait_for(|stop| *stop));
    let mut timer = pin!(tokio::time::sleep(idle));
    loop {
        let Some(start) = st.frames(&buf[..filled], &mut out, pacer, &mut stop).await else {
            // Whatever was answered before the end goes out first, if the client reads it.
            let _ = tokio::time::timeout(idle, stream.write_all(&out)).await;
            return;
        };
        buf.copy_within(start..filled, 0);
        filled -= start;
        if !st.drain(&mut out) {
            tracing::debug!("closing: the client does not acknowledge what it is sent");
            return;
        }
        if !out.is_empty() {
            let sent = tokio::time::timeout(idle, stream.write_all(&out)).await;
            out.clear();
            if !matches!(sent, Ok(Ok(()))) {
                return;
            }
        }
        let idle_end = st.last_frame + idle;
        let now = Instant::now();
        if idle_end <= now {
            return;
        }
        let link_due = st.opened + Duration::from_millis(st.link.next_deadline());
        timer.as_mut().reset(idle_end.min(link_due).into());
        let started = st.link.started();
        let woke = tokio::select! {
            biased;
            _ = &mut stop => return,
            ready = stream.readable() => Wake::Readable(ready),
            changed = ticks.changed(), if started => Wake::Tick(changed.is_ok()),
            () = &mut timer => Wake::Timer,
        };
        match woke {
            Wake::Readable(ready) => match ready.and_then(|()| read_draining(&stream, &mut buf[filled..])) {
                Ok(n) if n > 0 => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                _ => return,
            },
            Wake::Tick(false) => return,
            Wake::Tick(true) => st.spontaneous(),
            Wake::Timer => {
                let outs = st.link.poll(st.now());
                if !st.act(outs, &mut out).await {
                    return;
                }
            }
        }
    }
}

/// What woke a connection.
enum Wake {
    Readable(std::io::Result<()>),
    /// A tick was published (`false`: the simulation is gone).
    Tick(bool),
    Timer,
}

impl Station<'_> {
    /// Handles every whole APDU at the start of `buf`, each at the endpoint's and the range's
    /// pace: the octets taken, or `None` when the connection must close.
    async fn frames<S: std::future::Future + Unpin>(
        &mut self,
        buf: &[u8],
        out: &mut Vec<u8>,
        pacer: &Pacer,
        stop: &mut S,
    ) -> Option<usize> {
        let mut start = 0;
        loop {
            match apci::parse(&buf[start..]) {
                Parsed::Complete { apdu, len } => {
                    let wait = pacer.reserve().max(self.cx.range_pacer.reserve());
                    if !wait.is_zero() {
                        tokio::select! {
                            biased;
                            _ = &mut *stop => return None,
                            () = tokio::time::sleep(wait) => {}
                        }
                    }
                    self.last_frame = Instant::now();
                    let outs = self.link.receive(apdu, self.now());
                    if !self.act(outs, out).await {
                        return None;
                    }
                    start += len;
                }
                Parsed::Incomplete => return Some(start),
                Parsed::Invalid(e) => {
                    // Framing is lost: the standard closes the connection.
                    tracing::debug!(error = ?e, "closing: bad APCI");
                    self.record(0, 0, 0, None, false, Some(RejectReason::Malformed));
                    return None;
                }
            }
        }
    }

    /// Milliseconds since the connection opened: the link layer's clock.
    fn now(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    /// Does what the link layer asks; `false` when the connection must close.
    async fn act(&mut self, outs: Vec<Out>, out: &mut Vec<u8>) -> bool {
        for o in outs {
            match o {
                Out::Send(bytes) => out.extend_from_slice(&bytes),
                Out::Deliver(asdu) => {
                    if !self.serve(&asdu).await {
                        return false;
                    }
                }
                Out::Close(why) => {
                    tracing::debug!(why, "closing");
                    self.record(0, 0, 0, None, false, Some(RejectReason::Malformed));
                    return false;
                }
            }
        }
        true
    }

    /// Frames what the window lets through; `false` when the queue overflowed.
    fn drain(&mut self, out: &mut Vec<u8>) -> bool {
        while let Some(asdu) = self.queue.front() {
            let now = self.now();
            match self.link.send(asdu, now) {
                Ok(frame) => {
                    out.extend_from_slice(&frame);
                    self.queue.pop_front();
                }
                Err(_) => break,
            }
        }
        self.queue.len() <= MAX_QUEUED
    }

    /// Answers one ASDU; `false` when the connection must close (the conduit no longer routes
    /// this host).
    async fn serve(&mut self, asdu: &[u8]) -> bool {
        let silence = self.snapshot.get(&self.cx.live).plcs[self.plc.ix()].silence();
        let (dui, parsed) = asdu::parse(asdu, self.def.common_address);
        let Some(dui) = dui else { return true };
        if let Some(reason) = silence {
            // A restarting or flooded device answers nothing.
            self.record(dui.type_id, dui.cause, 0, None, false, Some(reason));
            return true;
        }
        match parsed {
            Err(refusal) => {
                self.queue.push_back(asdu::mirror(asdu, refusal.cause(), true));
                let reason = match refusal {
                    Refusal::UnknownType => RejectReason::IllegalFunction,
                    Refusal::UnknownCa => RejectReason::WrongUnit,
                    Refusal::UnknownCause | Refusal::Malformed => RejectReason::Malformed,
                };
                self.record(dui.type_id, dui.cause, 0, None, false, Some(reason));
                true
            }
            Ok(Request::Interrogation { qoi }) => self.interrogation(asdu, dui.cause, qoi),
            Ok(Request::ClockSync { unix_ms }) => {
                match self.admitted(asdu, types::C_CS_NA_1, dui.cause, None) {
                    Gate::Pass => {}
                    Gate::Refused => return true,
                    Gate::Drop => return false,
                }
                self.clock.store(unix_ms - jiff::Timestamp::now().as_millisecond(), Ordering::Relaxed);
                self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_CON, false));
                self.record(types::C_CS_NA_1, dui.cause, 0, None, false, None);
                true
            }
            Ok(Request::Command { ioa, value, select }) => {
                self.command(asdu, (dui.type_id, dui.cause), ioa, value, select).await
            }
        }
    }

    /// A station interrogation: confirmed, every object with cause 20, terminated.
    fn interrogation(&mut self, asdu: &[u8], cause: u8, qoi: u8) -> bool {
        if cause == cot::DEACTIVATION {
            self.queue.push_back(asdu::mirror(asdu, cot::DEACTIVATION_CON, false));
            self.record(types::C_IC_NA_1, cause, 0, None, false, None);
            return true;
        }
        match self.admitted(asdu, types::C_IC_NA_1, cause, None) {
            Gate::Pass => {}
            Gate::Refused => return true,
            Gate::Drop => return false,
        }
        if qoi != QOI_STATION {
            // Groups are not configured: only the station interrogation is served.
            self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_CON, true));
            self.record(types::C_IC_NA_1, cause, 0, None, false, Some(RejectReason::IllegalValue));
            return true;
        }
        self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_CON, false));
        let values = self.values();
        let objects: Vec<(u32, Value)> =
            self.def.points.iter().map(|p| p.ioa).zip(values.iter().copied()).collect();
        let now = Instant::now();
        self.last = values.into_iter().map(|v| (v, now)).collect();
        self.queue.extend(asdu::monitoring(self.def.common_address, cot::INTERROGATED, &objects, None));
        self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_TERM, false));
        self.record(types::C_IC_NA_1, cause, 0, None, false, None);
        true
    }

    /// A single, double or set-point command: deactivated, selected or executed.
    async fn command(
        &mut self,
        asdu: &[u8],
        (type_id, cause): (u8, u8),
        ioa: u32,
        value: f64,
        select: bool,
    ) -> bool {
        let plc = &self.cx.live.scenario.plcs[self.plc.ix()];
        if cause == cot::DEACTIVATION {
            self.selected = None;
            self.queue.push_back(asdu::mirror(asdu, cot::DEACTIVATION_CON, false));
            self.record(type_id, cause, ioa, Some(value), select, None);
            return true;
        }
        let write = match self.def.command(plc, type_id, ioa, value) {
            Ok(w) => w,
            Err(reason) => {
                let c = if reason == RejectReason::IllegalAddress {
                    cot::UNKNOWN_IOA
                } else {
                    cot::ACTIVATION_CON
                };
                self.queue.push_back(asdu::mirror(asdu, c, true));
                self.record(type_id, cause, ioa, Some(value), select, Some(reason));
                return true;
            }
        };
        let at = (ioa, Some(value), select);
        match self.admitted(asdu, type_id, cause, Some((&write, at))) {
            Gate::Pass => {}
            Gate::Refused => return true,
            Gate::Drop => return false,
        }
        if select {
            self.selected = Some((type_id, ioa, Instant::now()));
            self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_CON, false));
            self.record(type_id, cause, ioa, Some(value), true, None);
            return true;
        }
        // An execute after a select must be for what was selected, before the select lapses.
        if let Some((t, a, when)) = self.selected.take()
            && a == ioa
            && (t != type_id || when.elapsed() > SELECT_TIMEOUT)
        {
            self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_CON, true));
            self.record(type_id, cause, ioa, Some(value), false, Some(RejectReason::IllegalValue));
            return true;
        }
        if self.routine {
            // Applied by the simulation at the tick that sent it: confirmed only.
            self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_CON, false));
            self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_TERM, false));
            return true;
        }
        if !self.cx.live.take_write(self.plc, self.source, write.function()) {
            // Over this tick's write budget: refused, counted in the tick's traffic summary.
            self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_CON, true));
            return true;
        }
        let input = self.input(type_id, cause, at, None);
        match self.cx.live.apply(input).await {
            Ok(()) => {
                self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_CON, false));
                self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_TERM, false));
                true
            }
            // No route, source refused, host isolated: the session is dropped.
            Err(Some(r)) if r.exception_code().is_none() && r != RejectReason::ListenOnly => false,
            Err(_) => {
                self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_CON, true));
                true
            }
        }
    }

    /// The conduit firewall, as for the Modbus request this one stands for (`write` for a
    /// command, else a read or diagnostic); refused requests are answered negatively and
    /// recorded.
    fn admitted(&mut self, asdu: &[u8], type_id: u8, cause: u8, write: Option<(&Write, Object)>) -> Gate {
        let (function, addr, registers) = match write {
            Some((Write::Coil { addr, .. }, _)) => (5, *addr, Vec::new()),
            Some((w @ Write::Registers { addr, words }, _)) => (w.function(), *addr, words.clone()),
            None => (equivalent_function(type_id), 0, Vec::new()),
        };
        let net = &self.snapshot.get(&self.cx.live).net;
        let fw = FwRequest {
            source: self.source,
            plc: self.plc,
            function,
            addr,
            registers: &registers,
            native: Some(icsdrill_engine::network::Native::Iec104(type_id)),
        };
        let Err(reason) = check_request(&self.cx.live.scenario, net, fw) else { return Gate::Pass };
        let (ioa, value, select) = write.map_or((0, None, false), |(_, at)| at);
        self.record(type_id, cause, ioa, value, select, Some(reason));
        if reason.exception_code().is_none() {
            // The conduit no longer admits this host at all.
            return Gate::Drop;
        }
        self.queue.push_back(asdu::mirror(asdu, cot::ACTIVATION_CON, true));
        Gate::Refused
    }

    /// The values of every object now (this connection's copy of the latest snapshot).
    fn values(&mut self) -> Vec<Value> {
        let plc = &self.cx.live.scenario.plcs[self.plc.ix()];
        let snapshot = self.snapshot.get(&self.cx.live);
        asdu::values(plc, self.def, &snapshot.plcs[self.plc.ix()].memory)
    }

    /// Queues the objects that changed since they were last reported, time-tagged: bits on
    /// any change, measured values when they move by more than 1% (at least 0.01 units), at
    /// most once per `MEASURED_INTERVAL`, as a station's deadband and reporting cycle keep
    /// process noise off the line.
    fn spontaneous(&mut self) {
        let values = self.values();
        let now = Instant::now();
        let mut changed = Vec::new();
        for ((p, last), new) in self.def.points.iter().zip(self.last.iter_mut()).zip(values) {
            let moved = match (last.0, new) {
                (Value::Float(a), Value::Float(b)) => {
                    (b - a).abs() > 0.01 * a.abs().max(1.0) && now.duration_since(last.1) >= MEASURED_INTERVAL
                }
                (a, b) => a != b,
            };
            if moved {
                *last = (new, now);
                changed.push((p.ioa, new));
            }
        }
        if !changed.is_empty() {
            let time =
                asdu::cp56(jiff::Timestamp::now().as_millisecond() + self.clock.load(Ordering::Relaxed));
            self.queue.extend(asdu::monitoring(
                self.def.common_address,
                cot::SPONTANEOUS,
                &changed,
                Some(time),
            ));
        }
    }

    fn input(
        &self,
        type_id: u8,
        cause: u8,
        (ioa, value, select): Object,
        reason: Option<RejectReason>,
    ) -> SimInput {
        let s = &self.cx.live.scenario;
        SimInput::Iec104(Iec104Transaction {
            plc: s.plcs[self.plc.ix()].id.clone(),
            source: s.hosts[self.source.ix()].id.clone(),
            type_id,
            cause,
            ioa,
            value,
            select,
            reason,
            repeat: 1,
        })
    }

    /// Records a request the endpoint answered alone, within the range's record budget.
    fn record(
        &self,
        type_id: u8,
        cause: u8,
        ioa: u32,
        value: Option<f64>,
        select: bool,
        reason: Option<RejectReason>,
    ) {
        // A routine client's requests are in the log already.
        if self.routine {
            return;
        }
        let function = (type_id != types::CONNECTION).then(|| equivalent_function(type_id));
        self.cx.live.record_traffic(self.plc, self.source, function, 1, reason.is_some(), || {
            self.input(type_id, cause, (ioa, value, select), reason)
        });
    }
}
