//! Validation of a scenario's benign background traffic: the reads and writes operators and
//! engineers make, turned into the inputs the simulation applies.

use crate::input::ModbusTransaction;
use serde_saphyr::Spanned;

use super::super::file::*;
use super::super::{Background, Host, HostIdx, HostRole, Maintenance, PlcIdx, RoutineHost};
use super::{Cx, Names};

impl Cx<'_> {
    /// Validates the benign background traffic (sorted by first tick) and the maintenance
    /// windows it may be done under.
    pub(super) fn background(
        &mut self,
        (items, windows): (&[BackgroundFile], &[MaintenanceFile]),
        (hosts, plcs, defs): (&Names, &Names, &[crate::scenario::PlcDef]),
        tick_hz: u32,
    ) -> (Vec<Background>, Vec<Maintenance>) {
        let tick_of =
            |s: f64| (s.clamp(0.0, crate::scenario::MAX_DURATION_S) * f64::from(tick_hz)).round() as u64;
        let maintenance = self.maintenance(windows, (hosts, plcs), tick_of);
        let mut out: Vec<Background> = Vec::with_capacity(items.len());
        for b in items {
            let tick = tick_of(self.finite(&b.at_s, "at_s"));
            self.resolve(hosts, "host", &b.from);
            let input = self.background_input(b, plcs, defs);
            let every = b.every_s.as_ref().map(|v| {
                let x = self.positive(v, "every_s");
                if x < 60.0 {
                    self.err(&v.referenced, format!("every_s {x} repeats more often than once a minute"));
                }
                tick_of(x.max(60.0)).max(1)
            });
            let until = b.until_s.as_ref().map_or(u64::MAX, |v| tick_of(self.finite(v, "until_s")));
            if b.until_s.is_some() && every.is_none() {
                self.err(&b.at_s.referenced, "until_s needs every_s");
            }
            let window = b.window.as_ref().and_then(|w| {
                let Some(m) = maintenance.iter().find(|m| m.id == w.value) else {
                    self.err(&w.referenced, format!("unknown maintenance window `{}`", w.value));
                    return None;
                };
                // A repeat must end inside its window.
                let last = if every.is_some() { until } else { tick };
                if m.host != b.from.value || tick < m.from_tick || last > m.to_tick {
                    self.err(
                        &w.referenced,
                        format!("work under window `{}` must come from `{}` within it", m.id, m.host),
                    );
                }
                Some(m.id.clone())
            });
            let note = b.note.as_ref().map(|n| self.text(n, &b.from));
            out.push(Background { tick, input, note, every, until, window });
        }
        out.sort_by_key(|b| b.tick);
        (out, maintenance)
    }

    /// The maintenance windows: unique ids, a known host and PLCs, a window forwards in time.
    fn maintenance(
        &mut self,
        windows: &[MaintenanceFile],
        (hosts, plcs): (&Names, &Names),
        tick_of: impl Fn(f64) -> u64,
    ) -> Vec<Maintenance> {
        let mut ids = Names::default();
        windows
            .iter()
            .map(|m| {
                self.define(&mut ids, "maintenance window", &m.id);
                self.resolve(hosts, "host", &m.host);
                for p in &m.plcs {
                    self.resolve(plcs, "PLC", p);
                }
                let (from, to) = (self.finite(&m.from_s, "from_s"), self.finite(&m.to_s, "to_s"));
                if !(0.0 <= from && from < to) {
                    self.err(&m.to_s.referenced, "a maintenance window needs 0 <= from_s < to_s");
                }
                Maintenance {
                    id: m.id.value.clone(),
                    host: m.host.value.clone(),
                    plcs: m.plcs.iter().map(|p| p.value.clone()).collect(),
                    from_tick: tick_of(from),
                    to_tick: tick_of(to),
                    note: m.note.as_ref().map(|n| self.text(n, &m.id)),
                }
            })
            .collect()
    }

    /// The input one background entry makes.
    fn background_input(
        &mut self,
        b: &BackgroundFile,
        plcs: &Names,
        defs: &[crate::scenario::PlcDef],
    ) -> crate::input::SimInput {
        use crate::input::SimInput;
        let source = b.from.value.clone();
        let int = |cx: &mut Self, v: &Spanned<i64>| cx.int(v, 0, 65535, "value") as u16;
        match &b.action {
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
                SimInput::ModbusRequest(ModbusTransaction {
                    values: Vec::new(),
                    plc: plc.value.clone(),
                    source,
                    function,
                    addr: int(self, addr),
                    count,
                    exception: None,
                    reason: None,
                    unit: None,
                    repeat: 1,
                })
            }
            // IEC 104: a SCADA master's interrogations, an operator's commands.
            AttackActionFile::Iec104Interrogation { plc } => {
                self.resolve(plcs, "PLC", plc);
                SimInput::iec104(
                    plc.value.clone(),
                    source,
                    crate::scenario::iec104::types::C_IC_NA_1,
                    0,
                    None,
                )
            }
            // The log keeps the execute that changes the plant (a select before it changes
            // nothing), so `select` makes no difference here.
            AttackActionFile::Iec104Command { plc, ioa, type_id, value, select: _ } => {
                self.resolve(plcs, "PLC", plc);
                let commands = crate::scenario::iec104::COMMANDS;
                let type_id = self.enum_of(type_id, "IEC 104 command type", commands);
                let ioa = self.int(ioa, 1, 0xFF_FFFF, "information object address") as u32;
                SimInput::iec104(plc.value.clone(), source, type_id, ioa, Some(self.finite(value, "value")))
            }
            // OPC UA: a line's MES changing a set point through the PLC's server.
            AttackActionFile::OpcUaWrite { plc, node, value } => {
                let def = defs.get(self.resolve(plcs, "PLC", plc) as usize);
                let value = self.finite(value, "value");
                match def.map(|d| (d.opcua.is_some(), d.opcua_write(&node.value, value))) {
                    Some((false, _)) => {
                        let message = format!("PLC `{}` has no OPC UA server (give it `opcua:`)", plc.value);
                        self.err(&plc.referenced, message);
                    }
                    Some((true, Err(reason))) => {
                        let why = match reason {
                            crate::RejectReason::IllegalAddress => "is not a point of the PLC",
                            crate::RejectReason::IllegalFunction => "is not a coil or holding register",
                            _ => "cannot hold this value",
                        };
                        self.err(&node.referenced, format!("`{}` {why}", node.value));
                    }
                    _ => {}
                }
                let value = Some(value);
                let write = crate::scenario::opcua::services::WRITE;
                SimInput::opcua(plc.value.clone(), source, write, node.value.clone(), value)
            }
            _ => {
                self.err(
                    &b.at_s.referenced,
                    "background traffic is write_registers, write_coils, read, iec104_interrogation, iec104_command or opcua_write",
                );
                SimInput::ClearFault { id: String::new() }
            }
        }
    }
}

impl Cx<'_> {
    /// Each host's routine traffic: the defaults of its role (operator stations poll every PLC
    /// they reach each second, historians every 5 s, engineering workstations open a session
    /// every 20 minutes or so), overridden host by host by the `traffic:` section.
    pub(super) fn traffic(
        &mut self,
        items: &[TrafficFile],
        hosts: &[Host],
        host_names: &Names,
        plcs: &Names,
        tick_hz: u32,
    ) -> Vec<RoutineHost> {
        let ticks = |s: f64| ((s * f64::from(tick_hz)).round() as u64).max(1);
        let mut out: Vec<RoutineHost> = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let (poll, session) = match h.role {
                    HostRole::Hmi => (Some(1.0), None),
                    HostRole::Historian => (Some(5.0), None),
                    HostRole::Ews => (None, Some(1200.0)),
                    HostRole::ItWorkstation | HostRole::Server => (None, None),
                };
                RoutineHost {
                    host: HostIdx(i as u32),
                    poll_ticks: poll.map(ticks),
                    session_ticks: session.map(ticks),
                    plcs: None,
                }
            })
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for t in items {
            let h = self.resolve(host_names, "host", &t.host) as usize;
            if !seen.insert(h) {
                self.err(&t.host.referenced, format!("host `{}` has two traffic entries", t.host.value));
            }
            let Some(r) = out.get_mut(h) else { continue };
            if t.off {
                (r.poll_ticks, r.session_ticks) = (None, None);
            }
            let mut period = |v: &Option<Spanned<f64>>, what: &str, lo: f64| {
                v.as_ref().map(|v| {
                    let x = self.positive(v, what);
                    if !(lo..=86_400.0).contains(&x) {
                        self.err(&v.referenced, format!("{what} {x} is out of range {lo}..=86400"));
                    }
                    ticks(x.clamp(lo, 86_400.0))
                })
            };
            if let Some(p) = period(&t.poll_s, "poll_s", 0.1) {
                r.poll_ticks = Some(p);
            }
            if let Some(p) = period(&t.session_every_s, "session_every_s", 60.0) {
                r.session_ticks = Some(p);
            }
            if let Some(list) = &t.plcs {
                r.plcs = Some(list.iter().map(|p| PlcIdx(self.resolve(plcs, "PLC", p))).collect());
            }
        }
        out.retain(|r| r.poll_ticks.is_some() || r.session_ticks.is_some());
        out
    }
}
