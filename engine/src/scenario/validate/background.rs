//! Validation of a scenario's benign background traffic: the reads and writes operators and
//! engineers make, turned into the inputs the simulation applies.

use serde_saphyr::Spanned;

use super::super::Background;
use super::super::file::*;
use super::{Cx, Names};

impl Cx<'_> {
    /// Validates the benign background traffic, sorted by tick.
    pub(super) fn background(
        &mut self,
        items: &[BackgroundFile],
        hosts: &Names,
        plcs: &Names,
        tick_hz: u32,
    ) -> Vec<Background> {
        use crate::input::SimInput;
        let mut out: Vec<Background> = items
            .iter()
            .map(|b| {
                let at = self.finite(&b.at_s, "at_s").clamp(0.0, 7.0 * 86_400.0);
                let tick = (at * f64::from(tick_hz)).round() as u64;
                self.resolve(hosts, "host", &b.from);
                let source = b.from.value.clone();
                let int = |cx: &mut Self, v: &Spanned<i64>| cx.int(v, 0, 65535, "value") as u16;
                let input = match &b.action {
                    AttackActionFile::WriteRegisters { plc, addr, values } => {
                        self.resolve(plcs, "PLC", plc);
                        let values = values.iter().map(|v| int(self, v)).collect();
                        SimInput::write_registers(plc.value.clone(), source, int(self, addr), values)
                    }
                    AttackActionFile::WriteCoils { plc, addr, values } => {
                        self.resolve(plcs, "PLC", plc);
                        SimInput::write_coils(plc.value.clone(), source, int(self, addr), values.clone())
                    }
                    AttackActionFile::Read { plc, table, addr, count } => {
                        self.resolve(plcs, "PLC", plc);
                        let function = match table.value.as_str() {
                            "coils" => 1,
                            "discrete_inputs" => 2,
                            "holding_registers" => 3,
                            "input_registers" => 4,
                            other => {
                                self.err(&table.referenced, format!("unknown table `{other}`"));
                                3
                            }
                        };
                        let count = self.int(count, 1, 125, "count") as u16;
                        SimInput::ModbusRequest {
                            plc: plc.value.clone(),
                            source,
                            function,
                            addr: int(self, addr),
                            count,
                            exception: None,
                            reason: None,
                            repeat: 1,
                        }
                    }
                    _ => {
                        self.err(
                            &b.at_s.referenced,
                            "background traffic is write_registers, write_coils or read",
                        );
                        SimInput::ClearFault { id: String::new() }
                    }
                };
                Background { tick, input, note: b.note.as_ref().map(|n| self.text(n, &b.from)) }
            })
            .collect();
        out.sort_by_key(|b| b.tick);
        out
    }
}
