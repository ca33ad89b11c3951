//! The Modbus write a request stands for, whichever protocol carries it: an attack step, an
//! input or a logged transaction over Modbus, IEC 104 or OPC UA. Judging reads writes this
//! one way (range breaches, interlock bypasses, retest paths, deep inspection).

use crate::attack::Action;
use crate::event::EventKind;
use crate::input::SimInput;

use super::{PlcIdx, Scenario};
use crate::input::{Iec104Transaction, ModbusTransaction, OpcUaTransaction};

/// A Modbus write: its function (5, 6, 15, 16, or 23 for its write half), first address and
/// values (a coil as 0 or 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModbusWrite {
    /// Function code.
    pub function: u8,
    /// First address.
    pub addr: u16,
    /// Values written.
    pub values: Vec<u16>,
}

impl ModbusWrite {
    fn coils(addr: u16, values: &[bool]) -> ModbusWrite {
        let function = if values.len() == 1 { 5 } else { 15 };
        ModbusWrite { function, addr, values: values.iter().map(|v| u16::from(*v)).collect() }
    }

    fn registers(addr: u16, values: &[u16]) -> ModbusWrite {
        let function = if values.len() == 1 { 6 } else { 16 };
        ModbusWrite { function, addr, values: values.to_vec() }
    }

    fn of(w: &super::iec104::Write) -> ModbusWrite {
        ModbusWrite { function: w.function(), addr: w.addr(), values: w.values() }
    }

    /// Whether it writes holding registers (functions 6, 16 and 23).
    pub fn to_registers(&self) -> bool {
        matches!(self.function, 6 | 16 | 23)
    }

    /// Whether it writes coils (functions 5 and 15).
    pub fn to_coils(&self) -> bool {
        matches!(self.function, 5 | 15)
    }
}

impl Scenario {
    /// The PLC and the write an attack step's action makes, if it writes (an IEC 104 command
    /// or OPC UA write the PLC does not take: none).
    pub fn write_of_action(&self, action: &Action) -> Option<(PlcIdx, ModbusWrite)> {
        let id = |p: &PlcIdx| &self.plcs[p.ix()].id;
        match action {
            Action::WriteRegisters { plc, addr, values } => {
                Some((*plc, ModbusWrite::registers(*addr, values)))
            }
            Action::WriteCoils { plc, addr, values } => Some((*plc, ModbusWrite::coils(*addr, values))),
            Action::Iec104Command { plc, type_id, ioa, value, .. } => {
                self.iec104_write(id(plc), *type_id, *ioa, *value).map(|w| (*plc, ModbusWrite::of(&w)))
            }
            Action::OpcUaWrite { plc, node, value } => {
                self.opcua_write(id(plc), node, *value).map(|w| (*plc, ModbusWrite::of(&w)))
            }
            _ => None,
        }
    }

    /// The write an input makes on its PLC, if it writes: a Modbus write, an IEC 104 command
    /// (its execution, not its select) or an OPC UA write.
    pub fn write_of_input(&self, input: &SimInput) -> Option<ModbusWrite> {
        match input {
            SimInput::WriteRegisters { addr, values, .. } => Some(ModbusWrite::registers(*addr, values)),
            SimInput::WriteCoils { addr, values, .. } => Some(ModbusWrite::coils(*addr, values)),
            SimInput::Iec104(t) => self.iec104_write_of(t),
            SimInput::OpcUa(t) => self.opcua_write_of(t),
            _ => None,
        }
    }

    /// The PLC and the write a logged transaction made, if it wrote and nothing refused it: a
    /// Modbus write (function 5, 6, 15, 16, or 23's write half), an executed IEC 104 command
    /// or an OPC UA write.
    pub fn write_of_transaction<'e>(&self, kind: &'e EventKind) -> Option<(&'e str, ModbusWrite)> {
        match kind {
            EventKind::ModbusTransaction(ModbusTransaction {
                plc,
                function: function @ (5 | 6 | 15 | 16 | 23),
                addr,
                values,
                exception: None,
                reason: None,
                ..
            }) => {
                Some((plc.as_str(), ModbusWrite { function: *function, addr: *addr, values: values.clone() }))
            }
            EventKind::Iec104Transaction(t) if t.reason.is_none() => {
                self.iec104_write_of(t).map(|w| (t.plc.as_str(), w))
            }
            EventKind::OpcUaTransaction(t) if t.reason.is_none() => {
                self.opcua_write_of(t).map(|w| (t.plc.as_str(), w))
            }
            _ => None,
        }
    }

    /// The write an IEC 104 command makes when executed (a select, or no value: none).
    fn iec104_write_of(&self, t: &Iec104Transaction) -> Option<ModbusWrite> {
        let value = t.value.filter(|_| !t.select)?;
        self.iec104_write(&t.plc, t.type_id, t.ioa, value).map(|w| ModbusWrite::of(&w))
    }

    /// The write an OPC UA write makes (no value: none).
    fn opcua_write_of(&self, t: &OpcUaTransaction) -> Option<ModbusWrite> {
        self.opcua_write(&t.plc, &t.node, t.value?).map(|w| ModbusWrite::of(&w))
    }
}
