//! IEC 60870-5-104 framing (DL/T 634.5104): the APCI of every APDU (start octet, length, the
//! four control octets of I, S and U frames) and the ASDU's data unit identifier, with the
//! standard's limits as constants. Pure functions over byte slices, no IO, as the Modbus
//! framing is: a session decides what a frame means; this only says what it is, or exactly
//! why it is not one.

/// Start octet of every APDU.
pub const START: u8 = 0x68;
/// Octets of the control field.
pub const CONTROL_LEN: usize = 4;
/// Largest APDU length octet: the control field and the largest ASDU (IEC 60870-5-104, 5.1).
pub const MAX_APDU_LENGTH: usize = 253;
/// Largest ASDU.
pub const MAX_ASDU_LEN: usize = MAX_APDU_LENGTH - CONTROL_LEN;
/// Largest APDU on the wire: start octet, length octet and the rest.
pub const MAX_APDU_LEN: usize = 2 + MAX_APDU_LENGTH;
/// Sequence numbers count modulo 2^15.
pub const SEQ_MODULO: u16 = 1 << 15;
/// Data unit identifier: type id, variable structure qualifier, two octets of cause of
/// transmission (with the originator address) and two of common address.
pub const DUI_LEN: usize = 6;
/// Octets of an information object address.
pub const IOA_LEN: usize = 3;

/// The standard's defaults (IEC 60870-5-104, 9.6): most I frames sent unacknowledged (`k`),
/// received before acknowledging (`w`), and the timeouts in seconds.
pub mod defaults {
    /// Most I frames outstanding before the sender stops.
    pub const K: u16 = 12;
    /// Most I frames received before an S frame acknowledges them.
    pub const W: u16 = 8;
    /// Connection establishment.
    pub const T0_S: u64 = 30;
    /// Waiting for an acknowledgement of a sent frame.
    pub const T1_S: u64 = 15;
    /// Acknowledging received frames when there is nothing to send.
    pub const T2_S: u64 = 10;
    /// Sending a test frame on an idle connection.
    pub const T3_S: u64 = 20;
}

/// An unnumbered (U format) function: one of the six, exactly one per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UFunction {
    /// Start data transfer, activation.
    StartDtAct,
    /// Start data transfer, confirmation.
    StartDtCon,
    /// Stop data transfer, activation.
    StopDtAct,
    /// Stop data transfer, confirmation.
    StopDtCon,
    /// Test frame, activation.
    TestFrAct,
    /// Test frame, confirmation.
    TestFrCon,
}

impl UFunction {
    const ALL: [(UFunction, u8); 6] = [
        (UFunction::StartDtAct, 0x07),
        (UFunction::StartDtCon, 0x0B),
        (UFunction::StopDtAct, 0x13),
        (UFunction::StopDtCon, 0x23),
        (UFunction::TestFrAct, 0x43),
        (UFunction::TestFrCon, 0x83),
    ];

    /// Its first control octet.
    pub fn octet(self) -> u8 {
        Self::ALL.iter().find(|(f, _)| *f == self).map_or(0, |(_, o)| *o)
    }

    fn of(octet: u8) -> Option<UFunction> {
        Self::ALL.iter().find(|(_, o)| *o == octet).map(|(f, _)| *f)
    }
}

/// One APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apdu<'a> {
    /// Information transfer: numbered, carrying an ASDU.
    I {
        /// Send sequence number N(S).
        send: u16,
        /// Receive sequence number N(R): every frame before it is acknowledged.
        recv: u16,
        /// The ASDU.
        asdu: &'a [u8],
    },
    /// Supervisory: acknowledges every I frame before `recv`.
    S {
        /// Receive sequence number N(R).
        recv: u16,
    },
    /// Unnumbered control.
    U(UFunction),
}

/// Why bytes are not an APDU. Framing is lost after any of these: the session closes the
/// connection, as the standard has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The first octet is not 0x68.
    Start(u8),
    /// A length octet under 4 or over 253.
    Length(u8),
    /// An S frame with its reserved bits set.
    Supervisory,
    /// A U frame that is not exactly one of the six functions, or has its other octets set.
    Unnumbered(u8),
    /// An I frame whose ASDU is shorter than its data unit identifier.
    ShortAsdu(usize),
    /// A U or S frame longer than its control field.
    Trailing(usize),
}

/// What the start of a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A whole APDU of `len` octets.
    Complete {
        /// The APDU.
        apdu: Apdu<'a>,
        /// Octets it took.
        len: usize,
    },
    /// Not all of it has arrived.
    Incomplete,
    /// Not an APDU.
    Invalid(Malformed),
}

/// Parses the APDU at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    let Some(&start) = buf.first() else { return Parsed::Incomplete };
    if start != START {
        return Parsed::Invalid(Malformed::Start(start));
    }
    let Some(&length) = buf.get(1) else { return Parsed::Incomplete };
    if !(CONTROL_LEN..=MAX_APDU_LENGTH).contains(&usize::from(length)) {
        return Parsed::Invalid(Malformed::Length(length));
    }
    let len = 2 + usize::from(length);
    let Some(frame) = buf.get(..len) else { return Parsed::Incomplete };
    let c = &frame[2..6];
    let rest = &frame[6..];
    let seq = |lo: u8, hi: u8| (u16::from(lo) >> 1) | (u16::from(hi) << 7);
    let apdu = if c[0] & 0x01 == 0 {
        if rest.len() < DUI_LEN {
            return Parsed::Invalid(Malformed::ShortAsdu(rest.len()));
        }
        Apdu::I { send: seq(c[0], c[1]), recv: seq(c[2], c[3]), asdu: rest }
    } else if c[0] & 0x03 == 0x01 {
        if c[0] != 0x01 || c[1] != 0 || c[2] & 0x01 != 0 {
            return Parsed::Invalid(Malformed::Supervisory);
        }
        if !rest.is_empty() {
            return Parsed::Invalid(Malformed::Trailing(rest.len()));
        }
        Apdu::S { recv: seq(c[2], c[3]) }
    } else {
        let Some(f) = UFunction::of(c[0]).filter(|_| c[1..] == [0, 0, 0]) else {
            return Parsed::Invalid(Malformed::Unnumbered(c[0]));
        };
        if !rest.is_empty() {
            return Parsed::Invalid(Malformed::Trailing(rest.len()));
        }
        Apdu::U(f)
    };
    Parsed::Complete { apdu, len }
}

fn seq_octets(n: u16) -> [u8; 2] {
    let n = n % SEQ_MODULO;
    [((n << 1) & 0xFF) as u8, (n >> 7) as u8]
}

/// Appends an I frame; `None` (nothing written) when the ASDU is empty or too long.
pub fn write_i(out: &mut Vec<u8>, send: u16, recv: u16, asdu: &[u8]) -> Option<()> {
    if asdu.len() < DUI_LEN || asdu.len() > MAX_ASDU_LEN {
        return None;
    }
    out.extend_from_slice(&[START, (CONTROL_LEN + asdu.len()) as u8]);
    out.extend_from_slice(&seq_octets(send));
    out.extend_from_slice(&seq_octets(recv));
    out.extend_from_slice(asdu);
    Some(())
}

/// Appends an S frame acknowledging every I frame before `recv`.
pub fn write_s(out: &mut Vec<u8>, recv: u16) {
    let [lo, hi] = seq_octets(recv);
    out.extend_from_slice(&[START, CONTROL_LEN as u8, 0x01, 0x00, lo, hi]);
}

/// Appends a U frame.
pub fn write_u(out: &mut Vec<u8>, f: UFunction) {
    out.extend_from_slice(&[START, CONTROL_LEN as u8, f.octet(), 0, 0, 0]);
}

/// How many frames `later` is ahead of `earlier`, modulo 2^15.
pub fn seq_distance(earlier: u16, later: u16) -> u16 {
    (later % SEQ_MODULO + SEQ_MODULO - earlier % SEQ_MODULO) % SEQ_MODULO
}

/// Whether an acknowledgement N(R) = `ack` is possible when `unacked` is the oldest frame sent
/// and not yet acknowledged and `next` the next to send: it must lie between them. Anything
/// else is a protocol error (the standard closes the connection).
pub fn valid_ack(ack: u16, unacked: u16, next: u16) -> bool {
    seq_distance(unacked, ack) <= seq_distance(unacked, next)
}

/// The data unit identifier at the start of an ASDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dui {
    /// Type identification (e.g. 100 interrogation, 45 single command).
    pub type_id: u8,
    /// Objects as a sequence (one address, consecutive objects).
    pub sequence: bool,
    /// Number of information objects (or elements), 0-127.
    pub count: u8,
    /// Cause of transmission, 0-63.
    pub cause: u8,
    /// Negative confirmation.
    pub negative: bool,
    /// Test.
    pub test: bool,
    /// Originator address.
    pub originator: u8,
    /// Common address of the ASDU (the station).
    pub common_address: u16,
}

impl Dui {
    /// Reads the identifier of `asdu`; its information objects follow.
    pub fn parse(asdu: &[u8]) -> Option<(Dui, &[u8])> {
        let d = asdu.get(..DUI_LEN)?;
        let dui = Dui {
            type_id: d[0],
            sequence: d[1] & 0x80 != 0,
            count: d[1] & 0x7F,
            cause: d[2] & 0x3F,
            negative: d[2] & 0x40 != 0,
            test: d[2] & 0x80 != 0,
            originator: d[3],
            common_address: u16::from_le_bytes([d[4], d[5]]),
        };
        Some((dui, &asdu[DUI_LEN..]))
    }

    /// Appends it.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(self.type_id);
        out.push(u8::from(self.sequence) << 7 | (self.count & 0x7F));
        out.push(u8::from(self.test) << 7 | u8::from(self.negative) << 6 | (self.cause & 0x3F));
        out.push(self.originator);
        out.extend_from_slice(&self.common_address.to_le_bytes());
    }
}

/// An information object address (three octets, little-endian).
pub fn ioa(bytes: &[u8]) -> Option<u32> {
    let b = bytes.get(..IOA_LEN)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(buf: &[u8]) -> (Apdu<'_>, usize) {
        match parse(buf) {
            Parsed::Complete { apdu, len } => (apdu, len),
            other => panic!("{other:?}: {buf:02x?}"),
        }
    }

    #[test]
    fn frames_round_trip_with_their_sequence_numbers() {
        let dui = Dui {
            type_id: 100,
            sequence: false,
            count: 1,
            cause: 6,
            negative: false,
            test: false,
            originator: 0,
            common_address: 1,
        };
        let mut asdu = Vec::new();
        dui.write(&mut asdu);
        asdu.extend_from_slice(&[0, 0, 0, 20]);
        let mut out = Vec::new();
        for (send, recv) in [(0, 0), (1, 2), (SEQ_MODULO - 1, 12345)] {
            out.clear();
            write_i(&mut out, send, recv, &asdu).unwrap();
            let (apdu, len) = whole(&out);
            assert_eq!((apdu, len), (Apdu::I { send, recv, asdu: &asdu }, out.len()));
            let Apdu::I { asdu: got, .. } = apdu else { unreachable!() };
            let (back, objects) = Dui::parse(got).unwrap();
            assert_eq!((back, ioa(objects), objects[3]), (dui, Some(0), 20));
        }
        // The sequence numbers wrap modulo 2^15.
        out.clear();
        write_i(&mut out, SEQ_MODULO, SEQ_MODULO + 3, &asdu).unwrap();
        assert!(matches!(whole(&out).0, Apdu::I { send: 0, recv: 3, .. }));
        out.clear();
        write_s(&mut out, 777);
        assert_eq!(whole(&out), (Apdu::S { recv: 777 }, 6));
        for f in UFunction::ALL.map(|(f, _)| f) {
            out.clear();
            write_u(&mut out, f);
            assert_eq!(whole(&out), (Apdu::U(f), 6));
        }
        // STARTDT act as every master sends it.
        assert_eq!(whole(&[0x68, 0x04, 0x07, 0x00, 0x00, 0x00]).0, Apdu::U(UFunction::StartDtAct));
    }

    #[test]
    fn what_is_not_a_frame_says_why() {
        let bad: [(&[u8], Malformed); 8] = [
            (&[0x67, 4, 7, 0, 0, 0], Malformed::Start(0x67)),
            (&[0x68, 3, 7, 0, 0], Malformed::Length(3)),
            (&[0x68, 254], Malformed::Length(254)),
            (&[0x68, 4, 0x01, 0x01, 0, 0], Malformed::Supervisory),
            (&[0x68, 4, 0x0F, 0, 0, 0], Malformed::Unnumbered(0x0F)),
            (&[0x68, 4, 0x07, 0, 1, 0], Malformed::Unnumbered(0x07)),
            (&[0x68, 6, 0x07, 0, 0, 0, 1, 2], Malformed::Trailing(2)),
            (&[0x68, 7, 0, 0, 0, 0, 100, 1, 6], Malformed::ShortAsdu(3)),
        ];
        for (bytes, why) in bad {
            assert_eq!(parse(bytes), Parsed::Invalid(why), "{bytes:02x?}");
        }
        assert_eq!(parse(&[0x68, 4, 7, 0]), Parsed::Incomplete);
        assert_eq!(parse(&[]), Parsed::Incomplete);
        // An ASDU that does not fit is not written.
        assert_eq!(write_i(&mut Vec::new(), 0, 0, &[0; MAX_ASDU_LEN + 1]), None);
        assert_eq!(write_i(&mut Vec::new(), 0, 0, &[0; 3]), None);
    }

    #[test]
    fn a_stream_parses_the_same_however_it_is_cut() {
        let mut stream = Vec::new();
        write_u(&mut stream, UFunction::StartDtAct);
        write_i(&mut stream, 5, 9, &[45, 1, 6, 0, 1, 0, 0x10, 0x27, 0, 0x81]).unwrap();
        write_s(&mut stream, 6);
        write_u(&mut stream, UFunction::TestFrCon);
        let frames = |cut: usize| {
            let mut seen = Vec::new();
            let (mut buf, mut fed) = (Vec::new(), 0);
            while fed < stream.len() || !buf.is_empty() {
                let take = cut.min(stream.len() - fed);
                buf.extend_from_slice(&stream[fed..fed + take]);
                fed += take;
                match parse(&buf) {
                    Parsed::Complete { apdu, len } => {
                        seen.push(format!("{apdu:?}"));
                        buf.drain(..len);
                    }
                    Parsed::Incomplete if fed == stream.len() => panic!("left over: {buf:02x?}"),
                    Parsed::Incomplete => {}
                    Parsed::Invalid(e) => panic!("{e:?}"),
                }
            }
            seen
        };
        let all = frames(stream.len());
        assert_eq!(all.len(), 4);
        for cut in 1..stream.len() {
            assert_eq!(frames(cut), all, "cut every {cut} octets");
        }
    }

    /// Any bytes: a frame, not yet one, or why not; never a panic, never a length beyond the
    /// buffer or the standard's largest APDU.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = (next() % 300) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if next() % 2 == 0 && !buf.is_empty() {
                buf[0] = START;
            }
            if let Parsed::Complete { len, .. } = parse(&buf) {
                assert!(len <= buf.len() && len <= MAX_APDU_LEN);
            }
        }
    }

    #[test]
    fn acknowledgements_must_lie_within_the_window() {
        assert!(valid_ack(5, 5, 9) && valid_ack(9, 5, 9) && valid_ack(7, 5, 9));
        assert!(!valid_ack(4, 5, 9) && !valid_ack(10, 5, 9));
        // Across the wrap.
        assert!(valid_ack(1, SEQ_MODULO - 2, 3) && !valid_ack(4, SEQ_MODULO - 2, 3));
        assert_eq!(seq_distance(SEQ_MODULO - 1, 0), 1);
    }
}
