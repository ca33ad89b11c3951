//! What the traffic view of an input is: the host it comes from and the Modbus function it
//! is judged as (IEC 104 and OPC UA requests by the Modbus requests they stand for).

use super::{ENGINEERING_FUNCTION, SimInput};
use crate::input::{Iec104Transaction, ModbusTransaction, OpcUaTransaction};

impl SimInput {
    /// The host a Modbus input comes from (reads, writes, diagnostics, engineering).
    pub fn source(&self) -> Option<&str> {
        match self {
            SimInput::WriteCoils { source, .. }
            | SimInput::WriteRegisters { source, .. }
            | SimInput::ModbusRequest(ModbusTransaction { source, .. })
            | SimInput::ModbusDiagnostic { source, .. }
            | SimInput::Iec104(Iec104Transaction { source, .. })
            | SimInput::OpcUa(OpcUaTransaction { source, .. })
            | SimInput::Engineering { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The Modbus function code of a Modbus input.
    pub fn function_code(&self) -> Option<u8> {
        match self {
            SimInput::WriteCoils { values, function, .. } => {
                Some(function.unwrap_or(if values.len() == 1 { 5 } else { 15 }))
            }
            SimInput::WriteRegisters { values, function, .. } => {
                Some(function.unwrap_or(if values.len() == 1 { 6 } else { 16 }))
            }
            SimInput::ModbusRequest(ModbusTransaction { function, .. }) => Some(*function),
            SimInput::ModbusDiagnostic { .. } => Some(8),
            SimInput::Engineering { .. } => Some(ENGINEERING_FUNCTION),
            // Judged as the Modbus request it stands for (`iec104::equivalent_function`).
            SimInput::Iec104(Iec104Transaction { type_id, .. }) => {
                Some(crate::scenario::iec104::equivalent_function(*type_id))
            }
            SimInput::OpcUa(OpcUaTransaction { service, .. }) => {
                Some(crate::scenario::opcua::equivalent_function(*service))
            }
            _ => None,
        }
    }
}
