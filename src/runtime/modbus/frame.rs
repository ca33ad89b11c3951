//! Modbus TCP framing and PDU codec: MBAP headers, request decoding with the spec's limits,
//! response encoding. Pure functions over byte slices, no IO.
//!
//! We frame and decode ourselves (tokio-modbus's codec closes the connection on a malformed
//! frame and does not check quantities) so that a simulated PLC answers every malformed but
//! framed request with the exception a real PLC would give, and closes only when framing
//! itself is lost. Function and exception codes are tokio-modbus's types.

use tokio_modbus::{ExceptionCode, FunctionCode};

/// MBAP header length: transaction id, protocol id, length, unit id.
pub const MBAP_HEADER_LEN: usize = 7;
/// Largest PDU (function code + data), from the spec's 256-byte serial ADU.
pub const MAX_PDU_LEN: usize = 253;
/// Largest MBAP length field: the unit id plus the largest PDU.
pub const MAX_MBAP_LENGTH: u16 = 1 + MAX_PDU_LEN as u16;
/// Largest TCP ADU.
pub const MAX_ADU_LEN: usize = MBAP_HEADER_LEN - 1 + MAX_MBAP_LENGTH as usize;
/// Most coils or discrete inputs one read may ask for (FC 1, 2).
pub const MAX_READ_BITS: u16 = 2000;
/// Most registers one read may ask for (FC 3, 4, and the read half of FC 23).
pub const MAX_READ_REGISTERS: u16 = 125;
/// Most coils one write may carry (FC 15).
pub const MAX_WRITE_BITS: u16 = 1968;
/// Most registers one write may carry (FC 16).
pub const MAX_WRITE_REGISTERS: u16 = 123;
/// Most registers the write half of FC 23 may carry.
pub const MAX_RW_WRITE_REGISTERS: u16 = 121;
/// MEI type of Read Device Identification (FC 43).
pub const MEI_READ_DEVICE_ID: u8 = 0x0E;

/// The MBAP header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Transaction id, echoed in the response.
    pub transaction: u16,
    /// Unit id.
    pub unit: u8,
}

/// Why a byte stream can no longer be framed; the connection must close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Protocol id other than 0 (not Modbus).
    ProtocolId(u16),
    /// Length field below 2 (no function code) or above `MAX_MBAP_LENGTH`.
    Length(u16),
}

/// The result of looking for one frame at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole frame: header, PDU, and bytes consumed.
    Complete {
        /// Header.
        header: Header,
        /// Function code and data.
        pdu: &'a [u8],
        /// Bytes of the buffer this frame took.
        len: usize,
    },
    /// More bytes are needed.
    Incomplete,
    /// Framing is lost.
    Invalid(FrameError),
}

/// Finds the first frame in `buf`. Checks the header as soon as it is in, so a bad header is
/// reported without waiting for a body that may never come.
pub fn parse_frame(buf: &[u8]) -> Frame<'_> {
    if buf.len() < MBAP_HEADER_LEN {
        return Frame::Incomplete;
    }
    let transaction = u16::from_be_bytes([buf[0], buf[1]]);
    let protocol = u16::from_be_bytes([buf[2], buf[3]]);
    let length = u16::from_be_bytes([buf[4], buf[5]]);
    if protocol != 0 {
        return Frame::Invalid(FrameError::ProtocolId(protocol));
    }
    if !(2..=MAX_MBAP_LENGTH).contains(&length) {
        return Frame::Invalid(FrameError::Length(length));
    }
    let len = MBAP_HEADER_LEN - 1 + usize::from(length);
    if buf.len() < len {
        return Frame::Incomplete;
    }
    Frame::Complete { header: Header { transaction, unit: buf[6] }, pdu: &buf[MBAP_HEADER_LEN..len], len }
}

/// A decoded request. Quantities and address ranges are already checked against the spec.
/// Fields follow the spec's names: `addr` is the first address, `count` the quantity.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// FC 1.
    ReadCoils { addr: u16, count: u16 },
    /// FC 2.
    ReadDiscreteInputs { addr: u16, count: u16 },
    /// FC 3.
    ReadHoldingRegisters { addr: u16, count: u16 },
    /// FC 4.
    ReadInputRegisters { addr: u16, count: u16 },
    /// FC 5.
    WriteSingleCoil { addr: u16, value: bool },
    /// FC 6.
    WriteSingleRegister { addr: u16, value: u16 },
    /// FC 15; `bits` packed LSB first.
    WriteMultipleCoils { addr: u16, count: u16, bits: &'a [u8] },
    /// FC 16; `bytes` big-endian registers.
    WriteMultipleRegisters { addr: u16, count: u16, bytes: &'a [u8] },
    /// FC 23: write first, then read.
    ReadWriteMultipleRegisters {
        read_addr: u16,
        read_count: u16,
        write_addr: u16,
        write_count: u16,
        bytes: &'a [u8],
    },
    /// FC 8: the sub-function and its data (two bytes, or any length for return query data,
    /// which is echoed).
    Diagnostics { sub_function: u16, data: &'a [u8] },
    /// FC 17.
    ReportServerId,
    /// FC 43 / MEI 14.
    ReadDeviceId { code: u8, object: u8 },
}

/// A request that cannot be served as sent: its function code and the exception to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Function code as received.
    pub function: u8,
    /// Exception to answer.
    pub exception: ExceptionCode,
}

impl Request<'_> {
    /// The function code.
    pub fn function(&self) -> FunctionCode {
        match self {
            Request::ReadCoils { .. } => FunctionCode::ReadCoils,
            Request::ReadDiscreteInputs { .. } => FunctionCode::ReadDiscreteInputs,
            Request::ReadHoldingRegisters { .. } => FunctionCode::ReadHoldingRegisters,
            Request::ReadInputRegisters { .. } => FunctionCode::ReadInputRegisters,
            Request::WriteSingleCoil { .. } => FunctionCode::WriteSingleCoil,
            Request::WriteSingleRegister { .. } => FunctionCode::WriteSingleRegister,
            Request::WriteMultipleCoils { .. } => FunctionCode::WriteMultipleCoils,
            Request::WriteMultipleRegisters { .. } => FunctionCode::WriteMultipleRegisters,
            Request::ReadWriteMultipleRegisters { .. } => FunctionCode::ReadWriteMultipleRegisters,
            Request::Diagnostics { .. } => FunctionCode::Diagnostics,
            Request::ReportServerId => FunctionCode::ReportServerId,
            Request::ReadDeviceId { .. } => FunctionCode::EncapsulatedInterfaceTransport,
        }
    }

    /// First address and quantity, as the transaction log records them.
    pub fn span(&self) -> (u16, u16) {
        match *self {
            Request::ReadCoils { addr, count }
            | Request::ReadDiscreteInputs { addr, count }
            | Request::ReadHoldingRegisters { addr, count }
            | Request::ReadInputRegisters { addr, count }
            | Request::WriteMultipleCoils { addr, count, .. }
            | Request::WriteMultipleRegisters { addr, count, .. } => (addr, count),
            Request::WriteSingleCoil { addr, .. } | Request::WriteSingleRegister { addr, .. } => (addr, 1),
            Request::ReadWriteMultipleRegisters { read_addr, read_count, .. } => (read_addr, read_count),
            Request::Diagnostics { sub_function, .. } => (sub_function, 0),
            Request::ReportServerId => (0, 0),
            Request::ReadDeviceId { object, .. } => (u16::from(object), 0),
        }
    }
}

fn u16_at(data: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([data[i], data[i + 1]])
}

/// FC 8's request: sub-function 0 (return query data) echoes data of any length (the spec's
/// "N x 2 bytes", and more in practice); the others carry two bytes.
fn diagnostics(data: &[u8]) -> Option<Request<'_>> {
    let sub_function = u16_at(data.get(..2)?, 0);
    (sub_function == 0 || data.len() == 4).then(|| Request::Diagnostics { sub_function, data: &data[2..] })
}

/// Checks a quantity and that `addr + count - 1` stays within the 16-bit address space.
fn range(function: u8, addr: u16, count: u16, max: u16) -> Result<(), Refused> {
    if count == 0 || count > max {
        return Err(Refused { function, exception: ExceptionCode::IllegalDataValue });
    }
    if u32::from(addr) + u32::from(count) > 0x1_0000 {
        return Err(Refused { function, exception: ExceptionCode::IllegalDataAddress });
    }
    Ok(())
}

/// Decodes a request PDU (never empty: framing guarantees a function code).
pub fn decode(pdu: &[u8]) -> Result<Request<'_>, Refused> {
    let function = pdu[0];
    let data = &pdu[1..];
    let malformed = Refused { function, exception: ExceptionCode::IllegalDataValue };
    let need = |n: usize| if data.len() == n { Ok(()) } else { Err(malformed) };
    match FunctionCode::new(function) {
        FunctionCode::ReadCoils | FunctionCode::ReadDiscreteInputs => {
            need(4)?;
            let (addr, count) = (u16_at(data, 0), u16_at(data, 2));
            range(function, addr, count, MAX_READ_BITS)?;
            Ok(if function == 1 {
                Request::ReadCoils { addr, count }
            } else {
                Request::ReadDiscreteInputs { addr, count }
            })
        }
        FunctionCode::ReadHoldingRegisters | FunctionCode::ReadInputRegisters => {
            need(4)?;
            let (addr, count) = (u16_at(data, 0), u16_at(data, 2));
            range(function, addr, count, MAX_READ_REGISTERS)?;
            Ok(if function == 3 {
                Request::ReadHoldingRegisters { addr, count }
            } else {
                Request::ReadInputRegisters { addr, count }
            })
        }
        FunctionCode::WriteSingleCoil => {
            need(4)?;
            let value = match u16_at(data, 2) {
                0xFF00 => true,
                0x0000 => false,
                _ => return Err(malformed),
            };
            Ok(Request::WriteSingleCoil { addr: u16_at(data, 0), value })
        }
        FunctionCode::WriteSingleRegister => {
            need(4)?;
            Ok(Request::WriteSingleRegister { addr: u16_at(data, 0), value: u16_at(data, 2) })
        }
        FunctionCode::WriteMultipleCoils => {
            if data.len() < 5 {
                return Err(malformed);
            }
            let (addr, count, n) = (u16_at(data, 0), u16_at(data, 2), usize::from(data[4]));
            range(function, addr, count, MAX_WRITE_BITS)?;
            if n != usize::from(count).div_ceil(8) || data.len() != 5 + n {
                return Err(malformed);
            }
            Ok(Request::WriteMultipleCoils { addr, count, bits: &data[5..] })
        }
        FunctionCode::WriteMultipleRegisters => {
            if data.len() < 5 {
                return Err(malformed);
            }
            let (addr, count, n) = (u16_at(data, 0), u16_at(data, 2), usize::from(data[4]));
            range(function, addr, count, MAX_WRITE_REGISTERS)?;
            if n != 2 * usize::from(count) || data.len() != 5 + n {
                return Err(malformed);
            }
            Ok(Request::WriteMultipleRegisters { addr, count, bytes: &data[5..] })
        }
        FunctionCode::ReadWriteMultipleRegisters => {
            if data.len() < 9 {
                return Err(malformed);
            }
            let (read_addr, read_count) = (u16_at(data, 0), u16_at(data, 2));
            let (write_addr, write_count, n) = (u16_at(data, 4), u16_at(data, 6), usize::from(data[8]));
            range(function, read_addr, read_count, MAX_READ_REGISTERS)?;
            range(function, write_addr, write_count, MAX_RW_WRITE_REGISTERS)?;
            if n != 2 * usize::from(write_count) || data.len() != 9 + n {
                return Err(malformed);
            }
            Ok(Request::ReadWriteMultipleRegisters {
                read_addr,
                read_count,
                write_addr,
                write_count,
                bytes: &data[9..],
            })
        }
        FunctionCode::Diagnostics => diagnostics(data).ok_or(malformed),
        FunctionCode::ReportServerId => {
            need(0)?;
            Ok(Request::ReportServerId)
        }
        FunctionCode::EncapsulatedInterfaceTransport => {
            if data.first() != Some(&MEI_READ_DEVICE_ID) {
                return Err(Refused { function, exception: ExceptionCode::IllegalFunction });
            }
            need(3)?;
            let (code, object) = (data[1], data[2]);
            if !(1..=4).contains(&code) {
                return Err(malformed);
            }
            Ok(Request::ReadDeviceId { code, object })
        }
        _ => Err(Refused { function, exception: ExceptionCode::IllegalFunction }),
    }
}

/// Unpacks `count` bits, LSB first.
pub fn unpack_bits(bits: &[u8], count: u16) -> Vec<bool> {
    (0..usize::from(count)).map(|i| bits[i / 8] & (1 << (i % 8)) != 0).collect()
}

/// Big-endian registers.
pub fn unpack_registers(bytes: &[u8]) -> Vec<u16> {
    bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect()
}

/// Appends the request ADU a client sends: reads (1-4) of `count` from `addr`, single writes
/// (5, 6) of `values[0]`, multiple writes (15, 16) of `values` (coils: non-zero is on), a
/// diagnostic (8, sub-function `addr`), basic device identification (43). The range's own
/// clients and its captures build requests here, the endpoint parses them (`decode`).
pub fn write_request(out: &mut Vec<u8>, header: Header, function: u8, addr: u16, count: u16, values: &[u16]) {
    let mut w = ResponseWriter::new(out, header, function);
    match function {
        1..=4 => {
            w.u16(addr).u16(count);
        }
        5 => {
            w.u16(addr).u16(if values.first().copied().unwrap_or(0) != 0 { 0xFF00 } else { 0 });
        }
        6 => {
            w.u16(addr).u16(values.first().copied().unwrap_or(0));
        }
        15 => {
            let bits: Vec<bool> = values.iter().map(|v| *v != 0).collect();
            w.u16(addr).u16(bits.len() as u16).bits(&bits);
        }
        16 => {
            w.u16(addr).u16(values.len() as u16).registers(values);
        }
        8 => {
            w.u16(addr).u16(0);
        }
        43 => {
            w.u8(MEI_READ_DEVICE_ID).u8(1).u8(0);
        }
        _ => {}
    }
    w.finish();
}

/// Builds one response ADU at the end of `out` (several may queue up before one write).
pub struct ResponseWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> ResponseWriter<'a> {
    /// Starts a response to `header` with function code `function`.
    pub fn new(out: &'a mut Vec<u8>, header: Header, function: u8) -> ResponseWriter<'a> {
        let start = out.len();
        out.extend_from_slice(&header.transaction.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, header.unit, function]);
        ResponseWriter { out, start }
    }

    /// Appends one byte.
    pub fn u8(&mut self, b: u8) -> &mut Self {
        self.out.push(b);
        self
    }

    /// Appends a big-endian word.
    pub fn u16(&mut self, w: u16) -> &mut Self {
        self.out.extend_from_slice(&w.to_be_bytes());
        self
    }

    /// Appends bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }

    /// Appends a byte count and the registers.
    pub fn registers(&mut self, regs: &[u16]) -> &mut Self {
        self.u8((regs.len() * 2) as u8);
        for r in regs {
            self.u16(*r);
        }
        self
    }

    /// Appends a byte count and the bits packed LSB first.
    pub fn bits(&mut self, bits: &[bool]) -> &mut Self {
        let n = bits.len().div_ceil(8);
        self.u8(n as u8);
        let at = self.out.len();
        self.out.resize(at + n, 0);
        for (i, b) in bits.iter().enumerate() {
            if *b {
                self.out[at + i / 8] |= 1 << (i % 8);
            }
        }
        self
    }

    /// Fills in the length field.
    pub fn finish(self) {
        let length = (self.out.len() - self.start - (MBAP_HEADER_LEN - 1)) as u16;
        self.out[self.start + 4..self.start + 6].copy_from_slice(&length.to_be_bytes());
    }
}

impl ResponseWriter<'_> {
    /// The body of a Report Server ID answer (FC 17): byte count, unit id, the device string
    /// (at most 200 bytes), then the run indicator as the last byte (where pymodbus reads it).
    pub fn server_id(&mut self, unit: u8, device: &str, running: bool) -> &mut Self {
        let text = &device.as_bytes()[..device.len().min(200)];
        self.u8((2 + text.len()) as u8).u8(unit).bytes(text).u8(if running { 0xFF } else { 0x00 })
    }

    /// The body of a Read Device Identification answer (FC 43 / MEI 14) with `objects`
    /// (vendor, product, revision) `first..=last`, each at most 60 bytes. Conformity 0x81:
    /// basic identification, stream and individual access.
    pub fn device_id(&mut self, code: u8, objects: [&str; 3], first: usize, last: usize) -> &mut Self {
        self.u8(MEI_READ_DEVICE_ID).u8(code).u8(0x81).u8(0).u8(0).u8((last - first + 1) as u8);
        for (id, value) in objects.iter().enumerate().take(last + 1).skip(first) {
            let v = &value.as_bytes()[..value.len().min(60)];
            self.u8(id as u8).u8(v.len() as u8).bytes(v);
        }
        self
    }
}

/// Appends an exception response.
pub fn write_exception(out: &mut Vec<u8>, header: Header, function: u8, exception: ExceptionCode) {
    let mut w = ResponseWriter::new(out, header, function | 0x80);
    w.u8(u8::from(exception));
    w.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Request PDUs labelled field by field, and what they decode to.
    #[test]
    fn decodes_every_supported_function() {
        #[rustfmt::skip]
        let cases: &[(&[u8], Request<'_>)] = &[
            // fc,   addr,       count
            (&[0x01, 0x00, 0x10, 0x00, 0x08], Request::ReadCoils { addr: 16, count: 8 }),
            (&[0x02, 0x00, 0x00, 0x07, 0xD0], Request::ReadDiscreteInputs { addr: 0, count: 2000 }),
            (&[0x03, 0xFF, 0x83, 0x00, 0x7D], Request::ReadHoldingRegisters { addr: 0xFF83, count: 125 }),
            (&[0x04, 0x00, 0x01, 0x00, 0x02], Request::ReadInputRegisters { addr: 1, count: 2 }),
            // fc,   addr,       value
            (&[0x05, 0x00, 0x02, 0xFF, 0x00], Request::WriteSingleCoil { addr: 2, value: true }),
            (&[0x05, 0x00, 0x02, 0x00, 0x00], Request::WriteSingleCoil { addr: 2, value: false }),
            (&[0x06, 0x00, 0x01, 0x03, 0xE8], Request::WriteSingleRegister { addr: 1, value: 1000 }),
            // fc,   addr,       count,      bytes, data
            (&[0x0F, 0x00, 0x00, 0x00, 0x0A, 0x02, 0xCD, 0x01], Request::WriteMultipleCoils { addr: 0, count: 10, bits: &[0xCD, 0x01] }),
            (&[0x10, 0x00, 0x03, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02], Request::WriteMultipleRegisters { addr: 3, count: 2, bytes: &[0x00, 0x0A, 0x01, 0x02] }),
            // fc,   read addr,  read count, write addr, write count, bytes, data
            (&[0x17, 0x00, 0x00, 0x00, 0x02, 0x00, 0x05, 0x00, 0x01, 0x02, 0x12, 0x34], Request::ReadWriteMultipleRegisters { read_addr: 0, read_count: 2, write_addr: 5, write_count: 1, bytes: &[0x12, 0x34] }),
            // fc,   sub-function, data
            (&[0x08, 0x00, 0x04, 0x00, 0x00], Request::Diagnostics { sub_function: 4, data: &[0, 0] }),
            (&[0x08, 0x00, 0x00, 0xA5], Request::Diagnostics { sub_function: 0, data: &[0xA5] }),
            (&[0x08, 0x00, 0x00], Request::Diagnostics { sub_function: 0, data: &[] }),
            (&[0x11], Request::ReportServerId),
            // fc,   MEI,  code, object
            (&[0x2B, 0x0E, 0x01, 0x00], Request::ReadDeviceId { code: 1, object: 0 }),
        ];
        for (pdu, expected) in cases {
            assert_eq!(decode(pdu), Ok(*expected), "{pdu:02X?}");
        }
    }

    #[test]
    fn refuses_with_the_exception_a_plc_gives() {
        use ExceptionCode::*;
        #[rustfmt::skip]
        let cases: &[(&[u8], ExceptionCode)] = &[
            (&[0x07], IllegalFunction),                                  // read exception status: serial only
            (&[0x16, 0, 0, 0, 0, 0, 0], IllegalFunction),                // mask write: not implemented
            (&[0x81, 0, 0, 0, 1], IllegalFunction),                      // an exception code as a request
            (&[0x2B, 0x0D, 0x01, 0x00], IllegalFunction),                // MEI other than 14
            (&[0x03, 0x00, 0x00, 0x00, 0x00], IllegalDataValue),         // zero registers
            (&[0x03, 0x00, 0x00, 0x00, 0x7E], IllegalDataValue),         // 126 registers
            (&[0x01, 0x00, 0x00, 0x07, 0xD1], IllegalDataValue),         // 2001 coils
            (&[0x03, 0xFF, 0xFF, 0x00, 0x02], IllegalDataAddress),       // 65535 + 2 runs off the end
            (&[0x03, 0x00, 0x00, 0x00], IllegalDataValue),               // truncated PDU
            (&[0x03, 0x00, 0x00, 0x00, 0x01, 0x00], IllegalDataValue),   // trailing byte
            (&[0x05, 0x00, 0x00, 0x12, 0x34], IllegalDataValue),         // coil value not 0 or FF00
            (&[0x0F, 0x00, 0x00, 0x00, 0x0A, 0x01, 0xFF], IllegalDataValue), // byte count 1 for 10 coils
            (&[0x0F, 0x00, 0x00, 0x07, 0xB1, 0xF7], IllegalDataValue),   // 1969 coils
            (&[0x10, 0x00, 0x00, 0x00, 0x02, 0x04, 0x00, 0x01], IllegalDataValue), // body shorter than count
            (&[0x10, 0x00, 0x00, 0x00, 0x7C, 0xF8], IllegalDataValue),   // 124 registers
            (&[0x10, 0xFF, 0xFF, 0x00, 0x02, 0x04, 0, 1, 0, 2], IllegalDataAddress),
            (&[0x17, 0, 0, 0, 1, 0, 0, 0, 0x7A, 0xF4], IllegalDataValue), // write half 122 registers
            (&[0x11, 0x00], IllegalDataValue),
            (&[0x2B, 0x0E, 0x05, 0x00], IllegalDataValue),               // device id code 5
        ];
        for (pdu, exception) in cases {
            assert_eq!(decode(pdu), Err(Refused { function: pdu[0], exception: *exception }), "{pdu:02X?}");
        }
    }

    #[test]
    fn frames_and_rejects_bad_headers() {
        // tid 0x0001, protocol 0, length 6, unit 1, FC 3 addr 0 count 1
        let frame = [0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01];
        let Frame::Complete { header, pdu, len } = parse_frame(&frame) else { panic!("a whole frame") };
        assert_eq!((header, pdu, len), (Header { transaction: 1, unit: 1 }, &frame[7..], 12));
        // Two frames back to back: the first is returned with its length.
        let two = [&frame[..], &frame[..]].concat();
        assert!(matches!(parse_frame(&two), Frame::Complete { len: 12, .. }));
        for cut in 0..frame.len() {
            assert_eq!(parse_frame(&frame[..cut]), Frame::Incomplete, "cut at {cut}");
        }
        assert_eq!(parse_frame(&[0, 1, 0, 1, 0, 6, 1]), Frame::Invalid(FrameError::ProtocolId(1)));
        assert_eq!(parse_frame(&[0, 1, 0, 0, 0, 1, 1]), Frame::Invalid(FrameError::Length(1)));
        assert_eq!(parse_frame(&[0, 1, 0, 0, 0, 0, 1]), Frame::Invalid(FrameError::Length(0)));
        assert_eq!(parse_frame(&[0, 1, 0, 0, 0x01, 0x00, 1]), Frame::Invalid(FrameError::Length(256)));
        assert_eq!(parse_frame(&[0, 1, 0, 0, 0xFF, 0xFF, 1]), Frame::Invalid(FrameError::Length(0xFFFF)));
    }

    #[test]
    fn encodes_responses() {
        let h = Header { transaction: 0xBEEF, unit: 7 };
        let mut out = vec![];
        let mut w = ResponseWriter::new(&mut out, h, 3);
        w.registers(&[0x0102, 0x0304]);
        w.finish();
        assert_eq!(out, [0xBE, 0xEF, 0, 0, 0, 7, 7, 3, 4, 1, 2, 3, 4]);
        out.clear();
        let mut w = ResponseWriter::new(&mut out, h, 1);
        w.bits(&[true, false, true, true, false, false, true, true, true]);
        w.finish();
        assert_eq!(out, [0xBE, 0xEF, 0, 0, 0, 5, 7, 1, 2, 0xCD, 0x01]);
        out.clear();
        write_exception(&mut out, h, 3, ExceptionCode::IllegalDataAddress);
        assert_eq!(out, [0xBE, 0xEF, 0, 0, 0, 3, 7, 0x83, 0x02]);
        assert_eq!(
            unpack_bits(&[0xCD, 0x01], 10),
            [true, false, true, true, false, false, true, true, true, false]
        );
        assert_eq!(unpack_registers(&[0, 10, 1, 2]), [10, 0x0102]);
    }
}
