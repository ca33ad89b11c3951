//! One client connection to a simulated PLC: its admission and the answer to each request.
//!
//! A request crosses each layer once. Its frame is parsed in place; one snapshot load
//! answers everything the endpoint decides alone (listen-only for reads, unit, decoding, the
//! conduit firewall with the values written, and reads themselves); writes and diagnostics
//! that pass are queued into the simulation (`Live::apply`) and answered when the tick that
//! applies them has run, so the answer carries the plant's verdict and a read after it sees
//! the new value. Who reads the socket is apart: the shard's event loop (`shard`) while a
//! client only reads, a task of the connection's own (`task`) once it waits for something.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use icsdrill_engine::input::ModbusTransaction;
use icsdrill_engine::network::{Request as FwRequest, check_connect, check_request};
use icsdrill_engine::scenario::{HostIdx, PlcIdx, Table};
use icsdrill_engine::{PlcMode, RejectReason, SimInput, Snapshot};
use tokio::net::TcpStream;
use tokio_modbus::ExceptionCode;

use super::fold::{Fold, Pending};
use super::frame::{
    Header, Refused, Request, ResponseWriter, decode, unpack_bits, unpack_registers, write_exception,
};
use super::server::{Context, reset};
use crate::runtime::live::SnapshotCache;

/// One accepted connection.
pub(super) struct Conn {
    pub(super) cx: Arc<Context>,
    plc: PlcIdx,
    source: HostIdx,
    /// The record being folded, and the clock it folds by.
    pub(super) fold: Fold,
    /// One of the range's routine clients: the simulation counted its requests already.
    pub(super) routine: bool,
    /// The range's snapshot as this connection last saw it. Never held across an await.
    snapshot: Mutex<SnapshotCache>,
    /// The connection's span (peer, PLC), which its events name as their parent. It is not
    /// entered on every request: that cost a few per cent of a request's CPU.
    pub(super) span: tracing::Span,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.flush_records();
    }
}

/// What to do after a request.
pub(super) enum Next {
    Continue,
    Close,
}

/// What the endpoint decided about a request on its own.
enum Admitted<'p> {
    /// Answered (or refused) already.
    Done(Next),
    /// Answered from the snapshot now: reads and identification.
    Now(Request<'p>),
    /// For the simulation to apply at its next tick (listen-only mode as it was; the register
    /// values written, unpacked once for the firewall).
    AfterTick(Request<'p>, bool, Vec<u16>),
}

/// A request admitted for the simulation's next tick: the request, listen-only mode as it
/// was, the register values written.
pub(super) type ForTick<'p> = (Request<'p>, bool, Vec<u16>);

/// Function codes answered only after a tick: writes, diagnostics.
pub(super) fn waits_for_tick(function: u8) -> bool {
    matches!(function, 5 | 6 | 8 | 15 | 16 | 23)
}

/// How a refusal from the simulation is answered.
enum Answer {
    Exception(ExceptionCode),
    Silence,
    Close,
}

fn answer(reason: Option<RejectReason>) -> Answer {
    match reason {
        // The queue was full or the runtime is stopping.
        None => Answer::Exception(ExceptionCode::ServerDeviceBusy),
        Some(RejectReason::ListenOnly | RejectReason::Restarting | RejectReason::Flooded) => Answer::Silence,
        Some(r) => match r.exception_code() {
            Some(code) => Answer::Exception(ExceptionCode::new(code)),
            // No route, source refused, host isolated: the session is dropped.
            None => Answer::Close,
        },
    }
}

impl Conn {
    /// Admits an accepted connection: the conduit must route its host to the PLC (logged
    /// either way, unless it is one of the range's own clients). `None`: refused, with a reset.
    pub(super) fn open(
        stream: TcpStream,
        peer: SocketAddr,
        plc: PlcIdx,
        cx: Arc<Context>,
    ) -> Option<(Conn, TcpStream)> {
        let span = tracing::info_span!("modbus", %peer, plc = %cx.live.scenario.plcs[plc.ix()].id);
        let snapshot = cx.live.snapshot();
        let source = cx.sources.host(peer.ip(), snapshot.attacker_host);
        let routine = cx.own_clients.contains(&peer);
        let refused = check_connect(&cx.live.scenario, &snapshot.net, source, plc).err();
        drop(snapshot);
        let cache = Mutex::new(SnapshotCache::new(&cx.live));
        let conn = Conn { cx, plc, source, fold: Fold::new(), routine, snapshot: cache, span };
        if !routine {
            conn.cx.live.record_traffic(plc, source, None, 1, refused.is_some(), || {
                SimInput::ModbusConnection { plc: conn.plc_id(), source: conn.source_id(), refused }
            });
        }
        if refused.is_some() {
            reset(stream);
            return None;
        }
        let _ = stream.set_nodelay(true);
        Some((conn, stream))
    }

    fn plc_id(&self) -> String {
        self.cx.live.scenario.plcs[self.plc.ix()].id.clone()
    }

    fn source_id(&self) -> String {
        self.cx.live.scenario.hosts[self.source.ix()].id.clone()
    }

    pub(super) fn record(
        &self,
        function: u8,
        addr: u16,
        count: u16,
        exception: Option<ExceptionCode>,
        reason: Option<RejectReason>,
    ) {
        self.record_to(None, (function, addr, count), exception, reason);
    }

    /// Records a request as `record` does, naming the unit it was sent to when that is not
    /// the PLC's.
    fn record_to(
        &self,
        unit: Option<u8>,
        (function, addr, count): (u8, u16, u16),
        exception: Option<ExceptionCode>,
        reason: Option<RejectReason>,
    ) {
        if self.routine {
            return;
        }
        if let Some(done) = self.fold.add((function, addr, count, exception.map(u8::from), reason, unit)) {
            self.send(done);
        }
    }

    /// Sends the record being folded, if any.
    pub(super) fn flush_records(&self) {
        if let Some(p) = self.fold.take() {
            self.send(p);
        }
    }

    /// Records a folded request, within the range's record budget, or counts it for the
    /// tick's traffic summary.
    fn send(&self, p: Pending) {
        let (function, addr, count, exception, reason, unit) = p.key;
        let refused = exception.is_some() || reason.is_some();
        self.cx.live.record_traffic(self.plc, self.source, Some(function), p.repeat, refused, || {
            SimInput::ModbusRequest(ModbusTransaction {
                values: Vec::new(),
                plc: self.plc_id(),
                source: self.source_id(),
                function,
                addr,
                count,
                exception,
                reason,
                unit,
                repeat: p.repeat,
            })
        });
    }

    /// Answers one request into `out` (or not at all, in listen-only mode).
    pub(super) async fn handle(&self, header: Header, pdu: &[u8], out: &mut Vec<u8>) -> Next {
        match self.respond(header, pdu, out) {
            Ok(next) => next,
            Err(admitted) => self.answer_after_tick(header, pdu[0], admitted, pdu, out).await,
        }
    }

    /// Answers a request the endpoint answers alone (everything but the writes and
    /// diagnostics it admits, which are returned for their tick).
    pub(super) fn respond<'p>(
        &self,
        header: Header,
        pdu: &'p [u8],
        out: &mut Vec<u8>,
    ) -> Result<Next, ForTick<'p>> {
        let function = pdu[0];
        // One snapshot answers all the endpoint decides alone; it is let go before a write
        // waits for its tick.
        let mut cache = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        let snapshot = cache.get(&self.cx.live);
        match self.admit(snapshot, header, function, decode(pdu), out) {
            Admitted::Done(next) => Ok(next),
            Admitted::Now(request) => Ok(self.answer_now(snapshot, header, function, request, out)),
            // The simulation applied the range's own background writes at the tick that sent
            // them: the endpoint only answers.
            Admitted::AfterTick(_, listen_only, _) if self.routine && matches!(function, 5 | 6 | 15 | 16) => {
                if !listen_only {
                    let mut w = ResponseWriter::new(out, header, function);
                    w.bytes(&pdu[1..5]);
                    w.finish();
                }
                Ok(Next::Continue)
            }
            Admitted::AfterTick(request, listen_only, written) => Err((request, listen_only, written)),
        }
    }

    /// What the endpoint decides alone: silence while restarting (and to reads in listen-only
    /// mode), the unit id, malformed requests, the conduit firewall, the tick's write budget.
    fn admit<'p>(
        &self,
        snapshot: &Snapshot,
        header: Header,
        function: u8,
        decoded: Result<Request<'p>, Refused>,
        out: &mut Vec<u8>,
    ) -> Admitted<'p> {
        let view = &snapshot.plcs[self.plc.ix()];
        let def = &self.cx.live.scenario.plcs[self.plc.ix()];
        // Writes and diagnostics are the plant's to judge (listen-only, the values written, the
        // memory map), at their tick. A device in listen-only mode answers nothing else.
        let unit_ok = header.unit == def.unit_id || header.unit == 0 || header.unit == 0xFF;
        let for_plant = waits_for_tick(function) && unit_ok && decoded.is_ok();
        if let Some(reason) =
            view.silence().or((view.listen_only && !for_plant).then_some(RejectReason::ListenOnly))
        {
            let (addr, count) = decoded.map_or((0, 0), |r| r.span());
            self.record(function, addr, count, None, Some(reason));
            return Admitted::Done(Next::Continue);
        }
        // Unit 0 and 255 address "this device" on TCP; any other id is not served here.
        if !unit_ok {
            let e = ExceptionCode::GatewayTargetDevice;
            write_exception(out, header, function, e);
            // As sent: a unit scan reads in the log and its capture as the client made it.
            let (addr, count) = decoded.map_or((0, 0), |r| r.span());
            self.record_to(
                Some(header.unit),
                (function, addr, count),
                Some(e),
                Some(RejectReason::WrongUnit),
            );
            return Admitted::Done(Next::Continue);
        }
        let request = match decoded {
            Ok(r) => r,
            Err(refused) => {
                write_exception(out, header, function, refused.exception);
                let reason = match refused.exception {
                    ExceptionCode::IllegalFunction => RejectReason::IllegalFunction,
                    _ => RejectReason::Malformed,
                };
                self.record(function, 0, 0, Some(refused.exception), Some(reason));
                return Admitted::Done(Next::Continue);
            }
        };
        // The conduit firewall is the network's, so it stands in front of the endpoint for
        // writes too: a write it blocks never reaches the PLC, nor spends the PLC's write
        // budget (the plant judges a write again with its values, as it does every input that
        // does not come through an endpoint).
        let (addr, count) = request.span();
        // Register writes go through with their values, so address and value windows apply
        // here too (coils and the rest are filtered by function code); FC 23's write is judged
        // where it writes, not where it reads.
        let (fw_addr, written) = match &request {
            Request::WriteSingleRegister { value, .. } => (addr, vec![*value]),
            Request::WriteMultipleRegisters { bytes, .. } => (addr, unpack_registers(bytes)),
            Request::ReadWriteMultipleRegisters { write_addr, bytes, .. } => {
                (*write_addr, unpack_registers(bytes))
            }
            _ => (addr, Vec::new()),
        };
        let fw = FwRequest::modbus(self.source, self.plc, function, fw_addr, &written);
        if let Err(reason) = check_request(&self.cx.live.scenario, &snapshot.net, fw) {
            let Some(code) = reason.exception_code() else {
                // The conduit no longer admits this host at all: drop the session.
                self.record(function, addr, count, None, Some(reason));
                return Admitted::Done(Next::Close);
            };
            let e = ExceptionCode::new(code);
            write_exception(out, header, function, e);
            self.record(function, addr, count, Some(e), Some(reason));
            return Admitted::Done(Next::Continue);
        }
        if !for_plant {
            return Admitted::Now(request);
        }
        if !self.cx.live.take_write(self.plc, self.source, function) {
            // Over this tick's write budget: busy, as a loaded controller answers. Counted in
            // the tick's traffic summary.
            write_exception(out, header, function, ExceptionCode::ServerDeviceBusy);
            return Admitted::Done(Next::Continue);
        }
        Admitted::AfterTick(request, view.listen_only, written)
    }

    /// Answers what the snapshot alone answers: reads and identification.
    fn answer_now(
        &self,
        snapshot: &Snapshot,
        header: Header,
        function: u8,
        request: Request<'_>,
        out: &mut Vec<u8>,
    ) -> Next {
        let def = &self.cx.live.scenario.plcs[self.plc.ix()];
        match request {
            Request::ReadCoils { addr, count } => {
                self.read(snapshot, Table::Coils, header, function, addr, count, out)
            }
            Request::ReadDiscreteInputs { addr, count } => {
                self.read(snapshot, Table::DiscreteInputs, header, function, addr, count, out)
            }
            Request::ReadHoldingRegisters { addr, count } => {
                self.read(snapshot, Table::HoldingRegisters, header, function, addr, count, out)
            }
            Request::ReadInputRegisters { addr, count } => {
                self.read(snapshot, Table::InputRegisters, header, function, addr, count, out)
            }
            Request::ReportServerId => {
                // The server id is device specific: ours is the unit id and the device string.
                let text = format!("{} {} {}", def.device.vendor, def.device.product, def.device.revision);
                let mut w = ResponseWriter::new(out, header, function);
                w.server_id(def.unit_id, &text, snapshot.plcs[self.plc.ix()].mode == PlcMode::Run);
                w.finish();
                self.record(function, 0, 0, None, None);
                Next::Continue
            }
            Request::ReadDeviceId { code, object } => self.device_id(header, function, code, object, out),
            // Writes and diagnostics wait for their tick (`answer_after_tick`).
            _ => {
                write_exception(out, header, function, ExceptionCode::ServerDeviceFailure);
                Next::Continue
            }
        }
    }

    /// Read Device Identification (FC 43 / MEI 14): vendor, product, revision.
    fn device_id(&self, header: Header, function: u8, code: u8, object: u8, out: &mut Vec<u8>) -> Next {
        let def = &self.cx.live.scenario.plcs[self.plc.ix()];
        let objects = [def.device.vendor.as_str(), &def.device.product, &def.device.revision];
        let (first, last) = match code {
            4 if usize::from(object) < objects.len() => (usize::from(object), usize::from(object)),
            4 => {
                let e = ExceptionCode::IllegalDataAddress;
                write_exception(out, header, function, e);
                self.record(function, u16::from(object), 0, Some(e), Some(RejectReason::IllegalAddress));
                return Next::Continue;
            }
            // Streams start at the requested object, or at 0 if there is no such object.
            _ => {
                (if usize::from(object) < objects.len() { usize::from(object) } else { 0 }, objects.len() - 1)
            }
        };
        let mut w = ResponseWriter::new(out, header, function);
        w.device_id(code, objects, first, last);
        w.finish();
        self.record(function, u16::from(object), 0, None, None);
        Next::Continue
    }

    /// Queues a write or diagnostic for the next tick and answers with its outcome.
    async fn answer_after_tick(
        &self,
        header: Header,
        function: u8,
        (request, listen_only, written): ForTick<'_>,
        pdu: &[u8],
        out: &mut Vec<u8>,
    ) -> Next {
        // The requests before it go on record before it: a folded record waits for its window
        // to end, and the log would show them after the write (a read's answer drawn from the
        // plant after the write, a read refused in listen-only mode after the restart).
        self.flush_records();
        match request {
            Request::WriteSingleCoil { addr, value } => {
                let input = self.coils(function, addr, vec![value]);
                self.write(header, function, out, input, |w| {
                    w.bytes(&pdu[1..5]);
                })
                .await
            }
            Request::WriteSingleRegister { addr, .. } => {
                let input = self.registers(function, addr, written);
                self.write(header, function, out, input, |w| {
                    w.bytes(&pdu[1..5]);
                })
                .await
            }
            Request::WriteMultipleCoils { addr, count, bits } => {
                let input = self.coils(function, addr, unpack_bits(bits, count));
                self.write(header, function, out, input, |w| {
                    w.u16(addr).u16(count);
                })
                .await
            }
            Request::WriteMultipleRegisters { addr, count, .. } => {
                let input = self.registers(function, addr, written);
                self.write(header, function, out, input, |w| {
                    w.u16(addr).u16(count);
                })
                .await
            }
            Request::ReadWriteMultipleRegisters { read_addr, read_count, write_addr, .. } => {
                self.read_write(header, function, (read_addr, read_count), write_addr, written, out).await
            }
            Request::Diagnostics { sub_function, data } => {
                let input =
                    SimInput::ModbusDiagnostic { plc: self.plc_id(), source: self.source_id(), sub_function };
                match self.cx.live.apply(input).await {
                    // Force listen-only is never answered; nor is a restart of communications
                    // that ends listen-only mode (the specification: "no response").
                    Ok(()) if sub_function == 4 || (sub_function == 1 && listen_only) => {}
                    Ok(()) => {
                        let mut w = ResponseWriter::new(out, header, function);
                        w.u16(sub_function).bytes(data);
                        w.finish();
                    }
                    Err(reason) => return self.refuse(header, function, reason, out),
                }
                Next::Continue
            }
            // Reads and identification are answered at once (`answer_now`).
            _ => {
                write_exception(out, header, function, ExceptionCode::ServerDeviceFailure);
                Next::Continue
            }
        }
    }

    /// FC 23: the write happens first; the read then sees the snapshot of the tick that
    /// applied it. Refused before writing anything if the read half cannot be served.
    async fn read_write(
        &self,
        header: Header,
        function: u8,
        (read_addr, read_count): (u16, u16),
        write_addr: u16,
        written: Vec<u16>,
        out: &mut Vec<u8>,
    ) -> Next {
        let def = &self.cx.live.scenario.plcs[self.plc.ix()];
        let read_half = |snapshot: &Snapshot| {
            let memory = &snapshot.plcs[self.plc.ix()].memory;
            memory.registers(def, Table::HoldingRegisters, read_addr, read_count).map(<[u16]>::to_vec)
        };
        if read_half(&self.cx.live.snapshot()).is_none() {
            return self.illegal_address(header, function, (read_addr, read_count), out);
        }
        let write = self.registers(function, write_addr, written);
        if let Err(reason) = self.cx.live.apply(write).await {
            return self.refuse(header, function, reason, out);
        }
        match read_half(&self.cx.live.snapshot()) {
            Some(regs) => {
                let mut w = ResponseWriter::new(out, header, function);
                w.registers(&regs);
                w.finish();
            }
            None => write_exception(out, header, function, ExceptionCode::IllegalDataAddress),
        }
        Next::Continue
    }

    /// Answers a read from the snapshot.
    #[allow(clippy::too_many_arguments)]
    fn read(
        &self,
        snapshot: &Snapshot,
        table: Table,
        header: Header,
        function: u8,
        addr: u16,
        count: u16,
        out: &mut Vec<u8>,
    ) -> Next {
        let memory = &snapshot.plcs[self.plc.ix()].memory;
        let def = &self.cx.live.scenario.plcs[self.plc.ix()];
        let range = usize::from(addr)..usize::from(addr) + usize::from(count);
        let mapped = || memory.is_mapped(table, addr, usize::from(count));
        let (words, bits) = match table {
            Table::InputRegisters | Table::HoldingRegisters => {
                (memory.registers(def, table, addr, count), None)
            }
            Table::Coils if mapped() => (None, Some(&memory.coils[range])),
            Table::DiscreteInputs if mapped() => (None, Some(&memory.discrete[range])),
            Table::Coils | Table::DiscreteInputs => (None, None),
        };
        if words.is_none() && bits.is_none() {
            return self.illegal_address(header, function, (addr, count), out);
        }
        let mut w = ResponseWriter::new(out, header, function);
        if let Some(words) = words {
            w.registers(words);
        }
        if let Some(bits) = bits {
            w.bits(bits);
        }
        w.finish();
        self.record(function, addr, count, None, None);
        Next::Continue
    }

    /// Answers exception 02 to a request for `at.1` items from address `at.0`, and records it.
    fn illegal_address(&self, header: Header, fc: u8, at: (u16, u16), out: &mut Vec<u8>) -> Next {
        let e = ExceptionCode::IllegalDataAddress;
        write_exception(out, header, fc, e);
        self.record(fc, at.0, at.1, Some(e), Some(RejectReason::IllegalAddress));
        Next::Continue
    }

    fn coils(&self, function: u8, addr: u16, values: Vec<bool>) -> SimInput {
        SimInput::WriteCoils {
            plc: self.plc_id(),
            source: self.source_id(),
            addr,
            values,
            function: Some(function),
        }
    }

    fn registers(&self, function: u8, addr: u16, values: Vec<u16>) -> SimInput {
        SimInput::WriteRegisters {
            plc: self.plc_id(),
            source: self.source_id(),
            addr,
            values,
            function: Some(function),
        }
    }

    /// Queues a write, waits for its tick, and answers: `body` fills a normal answer.
    async fn write(
        &self,
        header: Header,
        function: u8,
        out: &mut Vec<u8>,
        input: SimInput,
        body: impl FnOnce(&mut ResponseWriter<'_>),
    ) -> Next {
        match self.cx.live.apply(input).await {
            Ok(()) => {
                let mut w = ResponseWriter::new(out, header, function);
                body(&mut w);
                w.finish();
                Next::Continue
            }
            Err(reason) => self.refuse(header, function, reason, out),
        }
    }

    /// Answers a refusal from the simulation (`None`: it could not be asked).
    fn refuse(&self, header: Header, function: u8, reason: Option<RejectReason>, out: &mut Vec<u8>) -> Next {
        match answer(reason) {
            Answer::Exception(e) => {
                write_exception(out, header, function, e);
                Next::Continue
            }
            Answer::Silence => Next::Continue,
            Answer::Close => Next::Close,
        }
    }
}
