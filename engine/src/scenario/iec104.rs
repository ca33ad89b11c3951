//! A PLC's IEC 60870-5-104 (DL/T 634.5104) station: its common address and the information
//! objects it maps onto the PLC's points, and what a command on one of them writes.
//!
//! A command is the write of the Modbus table behind its object, so it passes the same
//! conduit firewall, write budget, range checks and logic as the Modbus write would (the
//! conduit's rules judge it as that write: FC 5 for a single or double command, FC 6 or 16
//! for a set point). Monitoring objects report the same memory a Modbus read returns.

use serde::Serialize;

use super::{PlcDef, PointIdx, Table};
use crate::input::Iec104Transaction;
use crate::{RejectReason, SimInput};

/// Type identifications used here (IEC 60870-5-101, 7.2.1.1).
pub mod types {
    /// Single-point information.
    pub const M_SP_NA_1: u8 = 1;
    /// Double-point information.
    pub const M_DP_NA_1: u8 = 3;
    /// Measured value, short floating point.
    pub const M_ME_NC_1: u8 = 13;
    /// Single-point information with time tag CP56Time2a.
    pub const M_SP_TB_1: u8 = 30;
    /// Double-point information with time tag CP56Time2a.
    pub const M_DP_TB_1: u8 = 31;
    /// Measured value, short floating point, with time tag CP56Time2a.
    pub const M_ME_TF_1: u8 = 36;
    /// Single command.
    pub const C_SC_NA_1: u8 = 45;
    /// Double command.
    pub const C_DC_NA_1: u8 = 46;
    /// Set-point command, normalised value.
    pub const C_SE_NA_1: u8 = 48;
    /// Set-point command, scaled value.
    pub const C_SE_NB_1: u8 = 49;
    /// Set-point command, short floating point.
    pub const C_SE_NC_1: u8 = 50;
    /// End of initialisation.
    pub const M_EI_NA_1: u8 = 70;
    /// Interrogation command.
    pub const C_IC_NA_1: u8 = 100;
    /// Clock synchronisation command.
    pub const C_CS_NA_1: u8 = 103;
    /// Not a type: the record of the TCP connection itself.
    pub const CONNECTION: u8 = 0;
}

/// The information objects of a station: `points` sorted by address, one object each.
#[derive(Debug, Clone, Serialize)]
pub struct Iec104Def {
    /// Common address of the ASDU (the station address), 1-65534.
    pub common_address: u16,
    /// Objects, by address.
    pub points: Vec<IecPoint>,
}

/// One information object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IecPoint {
    /// Information object address, 1-16777215.
    pub ioa: u32,
    /// The point behind it.
    pub table: Table,
    /// Its index in that table of the PLC.
    pub point: PointIdx,
    /// A bit reported as a double point (breaker positions: 1 open, 2 closed) and commanded
    /// by double commands.
    pub double: bool,
}

/// What a command writes: the Modbus write it stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// One coil.
    Coil {
        /// Address.
        addr: u16,
        /// Value.
        value: bool,
    },
    /// The words of one holding register.
    Registers {
        /// Address.
        addr: u16,
        /// Words (one or two).
        words: Vec<u16>,
    },
}

impl Write {
    /// The Modbus function the conduit's rules judge it as.
    pub fn function(&self) -> u8 {
        match self {
            Write::Coil { .. } => 5,
            Write::Registers { words, .. } if words.len() == 1 => 6,
            Write::Registers { .. } => 16,
        }
    }

    /// Its first address.
    pub fn addr(&self) -> u16 {
        match self {
            Write::Coil { addr, .. } | Write::Registers { addr, .. } => *addr,
        }
    }

    /// The values written as a Modbus transaction logs them (a coil as 0 or 1).
    pub fn values(&self) -> Vec<u16> {
        match self {
            Write::Coil { value, .. } => vec![u16::from(*value)],
            Write::Registers { words, .. } => words.clone(),
        }
    }
}

impl SimInput {
    /// An IEC 104 request from `source` (activation, no select): an interrogation or a command.
    pub fn iec104(
        plc: impl Into<String>,
        source: impl Into<String>,
        type_id: u8,
        ioa: u32,
        value: Option<f64>,
    ) -> SimInput {
        let (plc, source) = (plc.into(), source.into());
        SimInput::Iec104(Iec104Transaction {
            plc,
            source,
            type_id,
            cause: 6,
            ioa,
            value,
            select: false,
            reason: None,
            repeat: 1,
        })
    }
}

impl super::Scenario {
    /// The endpoints a range of this scenario listens on: a Modbus endpoint per PLC, an IEC
    /// 104 station and an OPC UA server per PLC that has one (what its open files are shared
    /// out by).
    pub fn endpoints(&self) -> usize {
        let native = |p: &&PlcDef| usize::from(p.iec104.is_some()) + usize::from(p.opcua.is_some());
        self.plcs.len() + self.plcs.iter().map(|p| native(&p)).sum::<usize>()
    }

    /// The Modbus write an IEC 104 command on PLC `plc` stands for (`None`: no such PLC,
    /// station or object, or not a command the object takes): how judging reads the commands
    /// of a log as the writes they are.
    pub fn iec104_write(&self, plc: &str, type_id: u8, ioa: u32, value: f64) -> Option<Write> {
        let def = &self.plcs[self.plc(plc)?.ix()];
        def.iec104.as_ref()?.command(def, type_id, ioa, value).ok()
    }
}

/// Every type a station takes from a master, with its standard name, as conduit rules spell them.
pub const TYPES: [(u8, &str); 7] = [
    (types::C_SC_NA_1, "C_SC_NA_1"),
    (types::C_DC_NA_1, "C_DC_NA_1"),
    (types::C_SE_NA_1, "C_SE_NA_1"),
    (types::C_SE_NB_1, "C_SE_NB_1"),
    (types::C_SE_NC_1, "C_SE_NC_1"),
    (types::C_IC_NA_1, "C_IC_NA_1"),
    (types::C_CS_NA_1, "C_CS_NA_1"),
];

/// The command types (the first of `TYPES`), as scenario files spell them.
pub const COMMANDS: &[(u8, &str)] = TYPES.split_at(5).0;

/// Whether a type identification is a command that changes a point.
pub fn is_command(type_id: u8) -> bool {
    matches!(
        type_id,
        types::C_SC_NA_1 | types::C_DC_NA_1 | types::C_SE_NA_1 | types::C_SE_NB_1 | types::C_SE_NC_1
    )
}

/// The Modbus function a request is judged as by the conduit's rules and by detection: 5, 6 or
/// 16 for commands (`Write::function`), 3 for what reads (interrogation), 8 for clock
/// synchronisation (it changes the device, not the plant), 0 for the connection.
pub fn equivalent_function(type_id: u8) -> u8 {
    match type_id {
        types::C_SC_NA_1 | types::C_DC_NA_1 => 5,
        types::C_SE_NA_1 | types::C_SE_NB_1 | types::C_SE_NC_1 => 6,
        types::C_CS_NA_1 => 8,
        types::CONNECTION => 0,
        _ => 3,
    }
}

impl Iec104Def {
    /// The object at `ioa`.
    pub fn point(&self, ioa: u32) -> Option<&IecPoint> {
        self.points.binary_search_by_key(&ioa, |p| p.ioa).ok().map(|i| &self.points[i])
    }

    /// What command `type_id` with `value` on object `ioa` of `plc` writes. Values: a single
    /// command's state 0 or 1; a double command's 1 (off) or 2 (on); a set point's normalised
    /// value (-1 to 1 over the register's declared range), scaled value (the register's raw
    /// count) or floating-point value (engineering units).
    ///
    /// Refused: an address with no object (`IllegalAddress`), a type the object does not take
    /// (`IllegalFunction`), a value the type does not have (`IllegalValue`).
    pub fn command(&self, plc: &PlcDef, type_id: u8, ioa: u32, value: f64) -> Result<Write, RejectReason> {
        let p = self.point(ioa).ok_or(RejectReason::IllegalAddress)?;
        match (type_id, p.table) {
            (types::C_SC_NA_1, Table::Coils) if !p.double => {
                let value = bit(value, 0.0, 1.0)?;
                Ok(Write::Coil { addr: plc.coils[p.point.ix()].addr, value })
            }
            (types::C_DC_NA_1, Table::Coils) if p.double => {
                let value = bit(value, 1.0, 2.0)?;
                Ok(Write::Coil { addr: plc.coils[p.point.ix()].addr, value })
            }
            (types::C_SE_NA_1 | types::C_SE_NB_1 | types::C_SE_NC_1, Table::HoldingRegisters) => {
                let h = &plc.holding_registers[p.point.ix()];
                let engineering = match type_id {
                    types::C_SE_NA_1 => {
                        let [lo, hi] = h.range.ok_or(RejectReason::IllegalFunction)?;
                        lo + (value.clamp(-1.0, 1.0) + 1.0) / 2.0 * (hi - lo)
                    }
                    types::C_SE_NB_1 => value / h.codec.scaling.scale + h.codec.scaling.offset,
                    _ => value,
                };
                if !engineering.is_finite() || !h.codec.fits(engineering) {
                    return Err(RejectReason::IllegalValue);
                }
                let words = h.codec.encode(engineering)[..h.codec.words()].to_vec();
                Ok(Write::Registers { addr: h.addr, words })
            }
            _ => Err(RejectReason::IllegalFunction),
        }
    }
}

/// A command's state: `off` or `on`, nothing else.
fn bit(value: f64, off: f64, on: f64) -> Result<bool, RejectReason> {
    if value == off {
        Ok(false)
    } else if value == on {
        Ok(true)
    } else {
        Err(RejectReason::IllegalValue)
    }
}

/// The base of each table's objects when a PLC maps every point (`iec104:` without `points`):
/// the object address is the base plus the Modbus address, as in the 0x/1x/3x/4x references
/// engineers know (coil 5 is object 100005, holding register 12 is object 400012).
pub fn default_base(table: Table) -> u32 {
    match table {
        Table::Coils => 100_000,
        Table::DiscreteInputs => 200_000,
        Table::InputRegisters => 300_000,
        Table::HoldingRegisters => 400_000,
    }
}
