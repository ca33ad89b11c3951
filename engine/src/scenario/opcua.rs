//! A PLC's OPC UA server: every point of the PLC as a variable node, and what a write of one
//! stands for.
//!
//! As for IEC 104 (`scenario::iec104`), a write is the write of the Modbus table behind its
//! node (FC 5 for a bit, 6 or 16 for a register), so it passes the same conduit firewall,
//! write budget, range checks and logic as that Modbus write would. Reads, browsing and
//! subscriptions are judged as the Modbus reads they stand for (FC 3). Conduit rules may
//! instead name OPC UA services (`opcua: [Read, Write, CreateMonitoredItems]`).

use serde::Serialize;

use super::iec104::Write;
use super::{PlcDef, PointIdx, Scenario, Table};
use crate::input::OpcUaTransaction;
use crate::{RejectReason, SimInput};

/// OPC UA services as recorded and as conduit rules name them. Browsing is not judged: it
/// shows the scenario's own tag list, which every trainee has.
pub mod services {
    /// Not a service: the record of the TCP connection (and its secure channel) itself.
    pub const CONNECTION: u8 = 0;
    /// Read of attribute values.
    pub const READ: u8 = 1;
    /// Write of a variable's value.
    pub const WRITE: u8 = 2;
    /// Monitored items created in a subscription.
    pub const SUBSCRIBE: u8 = 4;
}

/// Every service a rule may name, with its standard name.
pub const SERVICES: [(u8, &str); 3] =
    [(services::READ, "Read"), (services::WRITE, "Write"), (services::SUBSCRIBE, "CreateMonitoredItems")];

/// The standard name of a service (`"connection"` for the connection itself).
pub fn service_name(service: u8) -> &'static str {
    SERVICES.iter().find(|(s, _)| *s == service).map_or("connection", |(_, n)| n)
}

/// Security modes a server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// No signing, no encryption (`SecurityPolicy#None`).
    None,
    /// Basic256Sha256, signed and encrypted, with certificates generated for the drill.
    SignAndEncrypt,
}

/// A PLC's OPC UA server.
#[derive(Debug, Clone, Serialize)]
pub struct OpcUaDef {
    /// The endpoints' security modes, each at most once, at least one.
    pub security: Vec<Security>,
}

/// One variable node: a point of the PLC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// The table of the point.
    pub table: Table,
    /// Its index in that table.
    pub point: PointIdx,
}

impl Node {
    /// Whether the node takes writes (coils and holding registers; the conduit decides who).
    pub fn writable(self) -> bool {
        matches!(self.table, Table::Coils | Table::HoldingRegisters)
    }

    /// Whether the node is a bit (Boolean) rather than a value (Double).
    pub fn bit(self) -> bool {
        matches!(self.table, Table::Coils | Table::DiscreteInputs)
    }
}

/// The Modbus function a service is judged as by the conduit's rules and by detection: a
/// write's own (5, 6 or 16, see `Write::function`), else 3 for what reads, 0 for the
/// connection.
pub fn equivalent_function(service: u8) -> u8 {
    match service {
        services::WRITE => 6,
        services::CONNECTION => 0,
        _ => 3,
    }
}

impl PlcDef {
    /// The point whose id is `id`, in whichever table it is.
    pub fn point_by_id(&self, id: &str) -> Option<Node> {
        let tables = [
            (Table::Coils, self.coils.iter().position(|p| p.id == id)),
            (Table::DiscreteInputs, self.discrete_inputs.iter().position(|p| p.id == id)),
            (Table::InputRegisters, self.input_registers.iter().position(|p| p.id == id)),
            (Table::HoldingRegisters, self.holding_registers.iter().position(|p| p.id == id)),
        ];
        tables.into_iter().find_map(|(table, i)| Some(Node { table, point: PointIdx(i? as u32) }))
    }

    /// Every point, in table order: the nodes of the PLC's OPC UA server.
    pub fn nodes(&self) -> Vec<(String, Node)> {
        let mut nodes = Vec::new();
        let mut add = |table: Table, ids: Vec<&String>| {
            for (i, id) in ids.into_iter().enumerate() {
                nodes.push((id.clone(), Node { table, point: PointIdx(i as u32) }));
            }
        };
        add(Table::Coils, self.coils.iter().map(|p| &p.id).collect());
        add(Table::DiscreteInputs, self.discrete_inputs.iter().map(|p| &p.id).collect());
        add(Table::InputRegisters, self.input_registers.iter().map(|p| &p.id).collect());
        add(Table::HoldingRegisters, self.holding_registers.iter().map(|p| &p.id).collect());
        nodes
    }

    /// What writing `value` to the node of point `id` writes: a bit's 0 or 1, a holding
    /// register's engineering value. Refused: no such point (`IllegalAddress`), a point that
    /// takes no writes (`IllegalFunction`), a value the point cannot hold (`IllegalValue`).
    pub fn opcua_write(&self, id: &str, value: f64) -> Result<Write, RejectReason> {
        let node = self.point_by_id(id).ok_or(RejectReason::IllegalAddress)?;
        match node.table {
            Table::Coils => {
                let value = match value {
                    0.0 => false,
                    1.0 => true,
                    _ => return Err(RejectReason::IllegalValue),
                };
                Ok(Write::Coil { addr: self.coils[node.point.ix()].addr, value })
            }
            Table::HoldingRegisters => {
                let h = &self.holding_registers[node.point.ix()];
                if !value.is_finite() || !h.codec.fits(value) {
                    return Err(RejectReason::IllegalValue);
                }
                let words = h.codec.encode(value)[..h.codec.words()].to_vec();
                Ok(Write::Registers { addr: h.addr, words })
            }
            Table::DiscreteInputs | Table::InputRegisters => Err(RejectReason::IllegalFunction),
        }
    }
}

impl Scenario {
    /// The engineering unit of a register point (empty for bits and unknown points).
    pub fn unit_of<'a>(&'a self, plc: &'a PlcDef, node: Node) -> &'a str {
        match node.table {
            Table::HoldingRegisters => &plc.holding_registers[node.point.ix()].unit,
            Table::InputRegisters => match plc.input_registers[node.point.ix()].source {
                super::RegisterSource::Sensor(s) => &self.vars[self.sensors[s.ix()].var.ix()].unit,
                super::RegisterSource::Actuator(_) => "%",
            },
            _ => "",
        }
    }

    /// The Modbus write an OPC UA write on PLC `plc` stands for (`None`: no such PLC, server
    /// or writable node, or a value it cannot hold): how judging reads the writes of a log.
    pub fn opcua_write(&self, plc: &str, node: &str, value: f64) -> Option<Write> {
        let def = &self.plcs[self.plc(plc)?.ix()];
        def.opcua.as_ref()?;
        def.opcua_write(node, value).ok()
    }
}

impl SimInput {
    /// An OPC UA request from `source` on the node of point `node` (empty for none).
    pub fn opcua(
        plc: impl Into<String>,
        source: impl Into<String>,
        service: u8,
        node: impl Into<String>,
        value: Option<f64>,
    ) -> SimInput {
        SimInput::OpcUa(OpcUaTransaction {
            plc: plc.into(),
            source: source.into(),
            service,
            node: node.into(),
            value,
            reason: None,
            repeat: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_judged_as_the_modbus_requests_they_stand_for() {
        assert_eq!(equivalent_function(services::READ), 3);
        assert_eq!(equivalent_function(services::SUBSCRIBE), 3);
        assert_eq!(equivalent_function(services::WRITE), 6);
        assert_eq!(equivalent_function(services::CONNECTION), 0);
        assert_eq!(service_name(services::SUBSCRIBE), "CreateMonitoredItems");
        assert_eq!(service_name(services::CONNECTION), "connection");
    }

    #[test]
    fn requests_are_spelled_opcua_in_input_files_and_logs() {
        let input = SimInput::opcua("plc-1", "ews-01", services::WRITE, "sp", Some(1.5));
        let json = serde_json::to_value(&input).unwrap();
        assert_eq!(json["kind"], "opcua");
        let back: SimInput = serde_json::from_value(json).unwrap();
        assert_eq!(back, input);
        let event = crate::EventKind::OpcUaTransaction(OpcUaTransaction {
            plc: "plc-1".into(),
            source: "ews-01".into(),
            service: services::WRITE,
            node: "sp".into(),
            value: Some(1.5),
            reason: None,
            repeat: 1,
        });
        assert_eq!(serde_json::to_value(&event).unwrap()["kind"], event.name());
    }
}
