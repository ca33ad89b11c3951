//! Validation of a PLC's IEC 104 station: its common address, and each information object's
//! address (unique, in the standard's range) and the point behind it; and of its OPC UA
//! server's security modes.

use serde_saphyr::Spanned;

use super::super::file::{Iec104File, IecPointFile, OpcUaFile};
use super::super::iec104::{Iec104Def, IecPoint, default_base};
use super::super::opcua::{OpcUaDef, Security};
use super::super::{PlcDef, PointIdx, Table};
use super::Cx;

/// Highest information object address (three octets).
const MAX_IOA: i64 = 0xFF_FFFF;

impl Cx<'_> {
    /// The station of `plc` as its file describes it: every point at its default address, or
    /// the objects listed.
    pub(super) fn iec104(&mut self, f: &Iec104File, id: &Spanned<String>, plc: &PlcDef) -> Iec104Def {
        // 0 is not an address; 65535 is the global (broadcast) address.
        let common_address = self.int(&f.common_address, 1, 65534, "common_address") as u16;
        let mut points: Vec<IecPoint> = match &f.points {
            None => every_point(plc),
            Some(list) => {
                let mut seen = std::collections::BTreeSet::new();
                let mut points = Vec::with_capacity(list.len());
                for o in list {
                    if !seen.insert(o.ioa.value) {
                        let message = format!(
                            "`{}`: information object address {} is used twice",
                            id.value, o.ioa.value
                        );
                        self.err(&o.ioa.referenced, message);
                    }
                    points.extend(self.object(o, plc));
                }
                points
            }
        };
        points.sort_by_key(|p| p.ioa);
        points.dedup_by_key(|p| p.ioa);
        Iec104Def { common_address, points }
    }

    /// One listed object.
    fn object(&mut self, o: &IecPointFile, plc: &PlcDef) -> Option<IecPoint> {
        let ioa = self.int(&o.ioa, 1, MAX_IOA, "information object address") as u32;
        let Some((table, point)) = plc.point_by_id(&o.point.value).map(|n| (n.table, n.point)) else {
            self.err(&o.point.referenced, format!("unknown point `{}` in PLC `{}`", o.point.value, plc.id));
            return None;
        };
        let bit = matches!(table, Table::Coils | Table::DiscreteInputs);
        if o.double && !bit {
            self.err(
                &o.point.referenced,
                format!("`{}`: a double point is a coil or a discrete input, not a register", o.point.value),
            );
        }
        Some(IecPoint { ioa, table, point, double: o.double && bit })
    }
}

/// Every point of `plc` at its table's base plus its Modbus address.
fn every_point(plc: &PlcDef) -> Vec<IecPoint> {
    let at = |table: Table, i: usize, addr: u16| IecPoint {
        ioa: default_base(table) + u32::from(addr),
        table,
        point: PointIdx(i as u32),
        double: false,
    };
    let coils = plc.coils.iter().enumerate().map(|(i, p)| at(Table::Coils, i, p.addr));
    let discrete = plc.discrete_inputs.iter().enumerate().map(|(i, p)| at(Table::DiscreteInputs, i, p.addr));
    let input = plc.input_registers.iter().enumerate().map(|(i, p)| at(Table::InputRegisters, i, p.addr));
    let holding =
        plc.holding_registers.iter().enumerate().map(|(i, p)| at(Table::HoldingRegisters, i, p.addr));
    coils.chain(discrete).chain(input).chain(holding).collect()
}

impl Cx<'_> {
    /// A PLC's OPC UA server: its security modes, each once (default: None and
    /// Sign&Encrypt).
    pub(super) fn opcua(&mut self, f: &OpcUaFile, id: &Spanned<String>) -> OpcUaDef {
        const MODES: [(Security, &str); 2] =
            [(Security::None, "none"), (Security::SignAndEncrypt, "sign_encrypt")];
        let Some(list) = &f.security else {
            return OpcUaDef { security: vec![Security::None, Security::SignAndEncrypt] };
        };
        let mut security = Vec::new();
        for m in list {
            let mode = self.enum_of(m, "security mode", &MODES);
            if security.contains(&mode) {
                self.err(
                    &m.referenced,
                    format!("`{}`: security mode `{}` is listed twice", id.value, m.value),
                );
            }
            security.push(mode);
        }
        if security.is_empty() {
            self.err(&id.referenced, format!("`{}`: an OPC UA server needs a security mode", id.value));
        }
        security.dedup();
        OpcUaDef { security }
    }
}
