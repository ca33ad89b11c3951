//! The application layer of a controlled station (IEC 60870-5-101/104, clause 7): the
//! commands it parses, the confirmations it mirrors back, and the monitoring objects it
//! sends for an interrogation or on a change. Pure: a session decides when; this says how.

use icsdrill_engine::scenario::iec104::types::*;

use super::apci::{DUI_LEN, Dui, IOA_LEN, MAX_ASDU_LEN, ioa};

/// Causes of transmission (IEC 60870-5-101, 7.2.3).
pub mod cot {
    /// Spontaneous.
    pub const SPONTANEOUS: u8 = 3;
    /// Activation.
    pub const ACTIVATION: u8 = 6;
    /// Activation confirmation.
    pub const ACTIVATION_CON: u8 = 7;
    /// Deactivation.
    pub const DEACTIVATION: u8 = 8;
    /// Deactivation confirmation.
    pub const DEACTIVATION_CON: u8 = 9;
    /// Activation termination.
    pub const ACTIVATION_TERM: u8 = 10;
    /// Interrogated by station interrogation.
    pub const INTERROGATED: u8 = 20;
    /// Unknown type identification.
    pub const UNKNOWN_TYPE: u8 = 44;
    /// Unknown cause of transmission.
    pub const UNKNOWN_CAUSE: u8 = 45;
    /// Unknown common address of ASDU.
    pub const UNKNOWN_CA: u8 = 46;
    /// Unknown information object address.
    pub const UNKNOWN_IOA: u8 = 47;
}

/// Qualifier of interrogation: station (global) interrogation.
pub const QOI_STATION: u8 = 20;
/// Common address addressing every station.
pub const GLOBAL_CA: u16 = 0xFFFF;
/// Octets of a CP56Time2a time tag.
pub const TIME_LEN: usize = 7;

/// What a controlling station asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Request {
    /// Interrogation with its qualifier (20: the whole station).
    Interrogation {
        /// Qualifier of interrogation.
        qoi: u8,
    },
    /// Clock synchronisation to this time (milliseconds since the Unix epoch, UTC).
    ClockSync {
        /// The time sent.
        unix_ms: i64,
    },
    /// A command on one object (see `Iec104Def::command` for `value`).
    Command {
        /// Information object address.
        ioa: u32,
        /// State or set point.
        value: f64,
        /// The select of select-before-operate (else execute).
        select: bool,
    },
}

/// Why an ASDU cannot be served, as the negative confirmation's cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A type this station does not serve (COT 44).
    UnknownType,
    /// A cause that the type does not take (COT 45).
    UnknownCause,
    /// Not this station's common address (COT 46).
    UnknownCa,
    /// Malformed objects of a known type: mirrored as a negative activation confirmation.
    Malformed,
}

impl Refusal {
    /// The cause of transmission of its negative confirmation.
    pub fn cause(self) -> u8 {
        match self {
            Refusal::UnknownType => cot::UNKNOWN_TYPE,
            Refusal::UnknownCause => cot::UNKNOWN_CAUSE,
            Refusal::UnknownCa => cot::UNKNOWN_CA,
            Refusal::Malformed => cot::ACTIVATION_CON,
        }
    }
}

/// Octets of one information object (address included) of a control-direction type.
fn object_len(type_id: u8) -> Option<usize> {
    Some(
        IOA_LEN
            + match type_id {
                C_SC_NA_1 | C_DC_NA_1 | C_IC_NA_1 => 1,
                C_SE_NA_1 | C_SE_NB_1 => 3,
                C_SE_NC_1 => 5,
                C_CS_NA_1 => TIME_LEN,
                _ => return None,
            },
    )
}

/// Parses a request addressed to station `ca`. A deactivation (COT 8) parses like its
/// activation; the caller reads the cause in `dui`.
pub fn parse(asdu: &[u8], ca: u16) -> (Option<Dui>, Result<Request, Refusal>) {
    let Some((dui, objects)) = Dui::parse(asdu) else { return (None, Err(Refusal::Malformed)) };
    let Some(len) = object_len(dui.type_id) else { return (Some(dui), Err(Refusal::UnknownType)) };
    let broadcast = matches!(dui.type_id, C_IC_NA_1 | C_CS_NA_1) && dui.common_address == GLOBAL_CA;
    if dui.common_address != ca && !broadcast {
        return (Some(dui), Err(Refusal::UnknownCa));
    }
    let cause_ok = match dui.type_id {
        C_CS_NA_1 => dui.cause == cot::ACTIVATION,
        _ => matches!(dui.cause, cot::ACTIVATION | cot::DEACTIVATION),
    };
    if !cause_ok {
        return (Some(dui), Err(Refusal::UnknownCause));
    }
    if dui.sequence || dui.count != 1 || objects.len() != len {
        return (Some(dui), Err(Refusal::Malformed));
    }
    let address = ioa(objects).unwrap_or(0);
    let e = &objects[IOA_LEN..];
    let i16_at = |k: usize| f64::from(i16::from_le_bytes([e[k], e[k + 1]]));
    let request = match dui.type_id {
        C_IC_NA_1 => Request::Interrogation { qoi: e[0] },
        C_CS_NA_1 => match cp56_to_unix_ms(&e[..TIME_LEN]) {
            Some(unix_ms) => Request::ClockSync { unix_ms },
            None => return (Some(dui), Err(Refusal::Malformed)),
        },
        C_SC_NA_1 => Request::Command { ioa: address, value: f64::from(e[0] & 1), select: e[0] & 0x80 != 0 },
        C_DC_NA_1 => Request::Command { ioa: address, value: f64::from(e[0] & 3), select: e[0] & 0x80 != 0 },
        C_SE_NA_1 => Request::Command { ioa: address, value: i16_at(0) / 32768.0, select: e[2] & 0x80 != 0 },
        C_SE_NB_1 => Request::Command { ioa: address, value: i16_at(0), select: e[2] & 0x80 != 0 },
        _ => {
            let v = f32::from_le_bytes([e[0], e[1], e[2], e[3]]);
            Request::Command { ioa: address, value: f64::from(v), select: e[4] & 0x80 != 0 }
        }
    };
    (Some(dui), Ok(request))
}

/// A station interrogation (cause 6, qualifier 20) to station `ca`: what a master sends.
pub fn interrogation(ca: u16) -> Vec<u8> {
    request(C_IC_NA_1, ca, 0, &[QOI_STATION])
}

/// A command of `type_id` on object `ioa` of station `ca` (cause 6): a single or double
/// command's state, or a set point (normalised -1 to 1, scaled, or floating point), with the
/// select bit of select-before-operate. What a master sends.
pub fn command(type_id: u8, ca: u16, ioa: u32, value: f64, select: bool) -> Vec<u8> {
    let se = if select { 0x80 } else { 0 };
    let element: Vec<u8> = match type_id {
        C_SC_NA_1 => vec![se | (value as u8 & 1)],
        C_DC_NA_1 => vec![se | (value as u8 & 3)],
        C_SE_NA_1 => [((value.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes().as_slice(), &[se]].concat(),
        C_SE_NB_1 => [(value as i16).to_le_bytes().as_slice(), &[se]].concat(),
        _ => [(value as f32).to_le_bytes().as_slice(), &[se]].concat(),
    };
    request(type_id, ca, ioa, &element)
}

fn request(type_id: u8, ca: u16, ioa: u32, element: &[u8]) -> Vec<u8> {
    one_object(type_id, cot::ACTIVATION, ca, &[&ioa.to_le_bytes()[..IOA_LEN], element].concat())
}

/// An ASDU of one information object (`object`: its address, then its elements) of type
/// `type_id` with `cause`, to or from station `ca`.
pub fn one_object(type_id: u8, cause: u8, ca: u16, object: &[u8]) -> Vec<u8> {
    with_dui(type_id, 1, cause, ca, object)
}

/// An ASDU of `count` information objects (`objects`, one after the other) of type `type_id`
/// with `cause`, to or from station `ca`.
fn with_dui(type_id: u8, count: u8, cause: u8, ca: u16, objects: &[u8]) -> Vec<u8> {
    let dui = Dui {
        type_id,
        sequence: false,
        count,
        cause,
        negative: false,
        test: false,
        originator: 0,
        common_address: ca,
    };
    let mut out = Vec::with_capacity(DUI_LEN + objects.len());
    dui.write(&mut out);
    out.extend_from_slice(objects);
    out
}

/// A clock synchronisation to `unix_ms` (cause 6) of station `ca`: what a master sends.
pub fn clock_sync(ca: u16, unix_ms: i64) -> Vec<u8> {
    request(C_CS_NA_1, ca, 0, &cp56(unix_ms))
}

/// The request sent back with another cause (and the negative bit): a confirmation,
/// termination or refusal mirrors what it answers.
pub fn mirror(asdu: &[u8], cause: u8, negative: bool) -> Vec<u8> {
    let mut out = asdu.to_vec();
    if out.len() > 2 {
        out[2] = (out[2] & 0x80) | u8::from(negative) << 6 | (cause & 0x3F);
    }
    out
}

/// A monitored value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// Single point.
    Single(bool),
    /// Double point (on: closed).
    Double(bool),
    /// Measured value, short floating point.
    Float(f32),
}

impl Value {
    /// Its type identification, with a time tag or without.
    fn type_id(self, timed: bool) -> u8 {
        match (self, timed) {
            (Value::Single(_), false) => M_SP_NA_1,
            (Value::Single(_), true) => M_SP_TB_1,
            (Value::Double(_), false) => M_DP_NA_1,
            (Value::Double(_), true) => M_DP_TB_1,
            (Value::Float(_), false) => M_ME_NC_1,
            (Value::Float(_), true) => M_ME_TF_1,
        }
    }

    /// Its information element (the quality descriptors all good).
    fn write(self, out: &mut Vec<u8>) {
        match self {
            Value::Single(on) => out.push(u8::from(on)),
            Value::Double(on) => out.push(if on { 2 } else { 1 }),
            Value::Float(v) => {
                out.extend_from_slice(&v.to_le_bytes());
                out.push(0);
            }
        }
    }
}

/// The value of every object of `station` (in its order) in `memory` of `plc`: what an
/// interrogation reports.
pub fn values(
    plc: &icsdrill_engine::scenario::PlcDef,
    station: &icsdrill_engine::scenario::iec104::Iec104Def,
    memory: &icsdrill_engine::world::Memory,
) -> Vec<Value> {
    use icsdrill_engine::scenario::Table;
    let bit = |double: bool, on: bool| if double { Value::Double(on) } else { Value::Single(on) };
    station
        .points
        .iter()
        .map(|p| match p.table {
            Table::Coils => bit(p.double, memory.coils[usize::from(plc.coils[p.point.ix()].addr)]),
            Table::DiscreteInputs => {
                bit(p.double, memory.discrete[usize::from(plc.discrete_inputs[p.point.ix()].addr)])
            }
            Table::InputRegisters => {
                Value::Float(plc.input_registers[p.point.ix()].value(&memory.input) as f32)
            }
            Table::HoldingRegisters => {
                Value::Float(plc.holding_registers[p.point.ix()].value(&memory.holding) as f32)
            }
        })
        .collect()
}

/// Packs `objects` (address, value) into as few ASDUs as fit, each of one type, with `cause`;
/// with `time` (a CP56Time2a) every object carries it.
pub fn monitoring(
    ca: u16,
    cause: u8,
    objects: &[(u32, Value)],
    time: Option<[u8; TIME_LEN]>,
) -> Vec<Vec<u8>> {
    let mut asdus: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<(u8, Vec<u8>, u8)> = None;
    for &(address, value) in objects {
        let type_id = value.type_id(time.is_some());
        let mut object = Vec::with_capacity(IOA_LEN + 5 + TIME_LEN);
        object.extend_from_slice(&address.to_le_bytes()[..IOA_LEN]);
        value.write(&mut object);
        if let Some(t) = time {
            object.extend_from_slice(&t);
        }
        let fits = current.as_ref().is_some_and(|(t, body, n)| {
            *t == type_id && *n < 127 && DUI_LEN + body.len() + object.len() <= MAX_ASDU_LEN
        });
        if !fits && let Some(done) = current.take() {
            asdus.push(finish(ca, cause, done));
        }
        let entry = current.get_or_insert_with(|| (type_id, Vec::new(), 0));
        entry.1.extend_from_slice(&object);
        entry.2 += 1;
    }
    asdus.extend(current.map(|done| finish(ca, cause, done)));
    asdus
}

fn finish(ca: u16, cause: u8, (type_id, body, count): (u8, Vec<u8>, u8)) -> Vec<u8> {
    with_dui(type_id, count, cause, ca, &body)
}

/// The zone of the station's clock: Beijing time, as DL/T 634.5104 stations keep local time.
fn zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Asia/Shanghai").unwrap_or(jiff::tz::TimeZone::UTC)
}

/// A CP56Time2a time tag (IEC 60870-5-4, 6.8) of `unix_ms`, in the station's local time.
pub fn cp56(unix_ms: i64) -> [u8; TIME_LEN] {
    let ts = jiff::Timestamp::from_millisecond(unix_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let t = ts.to_zoned(zone()).datetime();
    let ms = (t.second() as u16) * 1000 + (t.subsec_nanosecond() / 1_000_000) as u16;
    let weekday = t.weekday().to_monday_one_offset() as u8;
    let [lo, hi] = ms.to_le_bytes();
    [
        lo,
        hi,
        t.minute() as u8 & 0x3F,
        t.hour() as u8 & 0x1F,
        (weekday << 5) | (t.day() as u8 & 0x1F),
        t.month() as u8 & 0x0F,
        (t.year().rem_euclid(100)) as u8 & 0x7F,
    ]
}

/// The time a CP56Time2a tag stands for (years 2000-2099), or `None` if it is no date.
pub fn cp56_to_unix_ms(b: &[u8]) -> Option<i64> {
    let b = b.get(..TIME_LEN)?;
    let ms = u16::from_le_bytes([b[0], b[1]]);
    let dt = jiff::civil::DateTime::new(
        2000 + i16::from(b[6] & 0x7F),
        (b[5] & 0x0F) as i8,
        (b[4] & 0x1F) as i8,
        (b[3] & 0x1F) as i8,
        (b[2] & 0x3F) as i8,
        (ms / 1000) as i8,
        i32::from(ms % 1000) * 1_000_000,
    )
    .ok()?;
    Some(dt.to_zoned(zone()).ok()?.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_select_and_value_and_refusals_name_their_cause() {
        // Single command, select, ON, at IOA 0x000102.
        let sc = one_object(C_SC_NA_1, cot::ACTIVATION, 1, &[2, 1, 0, 0x81]);
        assert_eq!(parse(&sc, 1).1, Ok(Request::Command { ioa: 0x102, value: 1.0, select: true }));
        // Double command, execute, OFF (1).
        let dc = one_object(C_DC_NA_1, cot::ACTIVATION, 1, &[5, 0, 0, 0x01]);
        assert_eq!(parse(&dc, 1).1, Ok(Request::Command { ioa: 5, value: 1.0, select: false }));
        // Set point, short float 42.5, execute.
        let mut obj = vec![7, 0, 0];
        obj.extend_from_slice(&42.5f32.to_le_bytes());
        obj.push(0);
        let se = one_object(C_SE_NC_1, cot::ACTIVATION, 1, &obj);
        assert_eq!(parse(&se, 1).1, Ok(Request::Command { ioa: 7, value: 42.5, select: false }));
        // Scaled -300 and normalised -0.5.
        let nb = one_object(C_SE_NB_1, cot::ACTIVATION, 1, &[7, 0, 0, 0xD4, 0xFE, 0]);
        assert_eq!(parse(&nb, 1).1, Ok(Request::Command { ioa: 7, value: -300.0, select: false }));
        let na = one_object(C_SE_NA_1, cot::ACTIVATION, 1, &[7, 0, 0, 0x00, 0xC0, 0x80]);
        assert_eq!(parse(&na, 1).1, Ok(Request::Command { ioa: 7, value: -0.5, select: true }));
        // Interrogation to the global address.
        let gi = one_object(C_IC_NA_1, cot::ACTIVATION, GLOBAL_CA, &[0, 0, 0, 20]);
        assert_eq!(parse(&gi, 1).1, Ok(Request::Interrogation { qoi: 20 }));
        // Refusals.
        assert_eq!(
            parse(&one_object(C_SC_NA_1, cot::ACTIVATION, 2, &[1, 0, 0, 1]), 1).1,
            Err(Refusal::UnknownCa)
        );
        assert_eq!(
            parse(&one_object(C_SC_NA_1, cot::ACTIVATION, GLOBAL_CA, &[1, 0, 0, 1]), 1).1,
            Err(Refusal::UnknownCa)
        );
        assert_eq!(
            parse(&one_object(C_SC_NA_1, cot::SPONTANEOUS, 1, &[1, 0, 0, 1]), 1).1,
            Err(Refusal::UnknownCause)
        );
        assert_eq!(parse(&one_object(99, cot::ACTIVATION, 1, &[1, 0, 0, 1]), 1).1, Err(Refusal::UnknownType));
        assert_eq!(
            parse(&one_object(C_SC_NA_1, cot::ACTIVATION, 1, &[1, 0, 0]), 1).1,
            Err(Refusal::Malformed)
        );
        assert_eq!(parse(&[45, 1], 1), (None, Err(Refusal::Malformed)));
        // A negative mirror keeps the type, objects and test bit.
        let m = mirror(&sc, cot::UNKNOWN_IOA, true);
        assert_eq!((m[0], m[2], &m[3..]), (C_SC_NA_1, 0x40 | 47, &sc[3..]));
    }

    #[test]
    fn what_a_master_sends_parses_back_as_sent() {
        for (type_id, value, select) in [
            (C_SC_NA_1, 1.0, true),
            (C_DC_NA_1, 2.0, false),
            (C_SE_NA_1, -0.5, true),
            (C_SE_NB_1, 650.0, false),
            (C_SE_NC_1, 72.5, true),
        ] {
            let a = command(type_id, 3, 0x0A_0B0C, value, select);
            let (dui, parsed) = parse(&a, 3);
            assert_eq!(dui.map(|d| d.type_id), Some(type_id));
            let Ok(Request::Command { ioa, value: v, select: s }) = parsed else { panic!("{parsed:?}") };
            assert_eq!((ioa, s), (0x0A_0B0C, select));
            assert!((v - value).abs() < 1e-3, "{type_id}: {v} for {value}");
        }
        assert_eq!(parse(&interrogation(3), 3).1, Ok(Request::Interrogation { qoi: QOI_STATION }));
    }

    #[test]
    fn monitoring_objects_pack_into_asdus_within_the_limit() {
        let objects: Vec<(u32, Value)> = (0..100).map(|i| (1000 + i, Value::Float(i as f32))).collect();
        let asdus = monitoring(1, cot::INTERROGATED, &objects, None);
        assert!(asdus.iter().all(|a| a.len() <= MAX_ASDU_LEN));
        let total: usize = asdus.iter().map(|a| usize::from(a[1] & 0x7F)).sum();
        assert_eq!(total, 100);
        assert_eq!((asdus[0][0], asdus[0][2], asdus[0][4]), (M_ME_NC_1, cot::INTERROGATED, 1));
        // Types are never mixed in one ASDU; the time tag picks the timed type.
        let mixed = [(1, Value::Single(true)), (2, Value::Double(false)), (3, Value::Single(false))];
        let a = monitoring(1, cot::SPONTANEOUS, &mixed, Some(cp56(0)));
        assert_eq!(a.iter().map(|x| x[0]).collect::<Vec<_>>(), [M_SP_TB_1, M_DP_TB_1, M_SP_TB_1]);
        assert_eq!(a[1][DUI_LEN + IOA_LEN], 1, "a double point off is 1");
    }

    #[test]
    fn time_tags_round_trip_in_beijing_time() {
        // 2026-12-03 08:15:30.250 UTC is 16:15:30.250 in Beijing, a Thursday.
        let ms = 1_796_285_730_250;
        let t = cp56(ms);
        assert_eq!(
            (u16::from_le_bytes([t[0], t[1]]), t[2], t[3], t[4] & 0x1F, t[4] >> 5, t[5], t[6]),
            (30_250, 15, 16, 3, 4, 12, 26)
        );
        assert_eq!(cp56_to_unix_ms(&t), Some(ms));
        assert_eq!(cp56_to_unix_ms(&[0, 0, 0, 0, 0, 13, 26]), None, "month 13");
        assert_eq!(cp56_to_unix_ms(&[0, 0, 0, 25, 1, 1, 26]), None, "hour 25");
    }
}
