//! Network monitoring: the alerts an OT intrusion-detection system raises on the traffic the
//! plant sees. How much it sees is the scenario's `monitoring` level: `logs` raises nothing
//! (teams have only PLC logs and alarms), `network` watches the OT boundary, `deep` also
//! inspects values, program and mode changes, and reported values.

use std::collections::{BTreeMap, BTreeSet};

use crate::scenario::iec104::types::CONNECTION;
use crate::scenario::opcua::services;
use bevy_ecs::prelude::*;

use crate::attack::Monitoring;
use crate::event::{EventKind, RejectReason};
use crate::input::{ENGINEERING_FUNCTION, EngineeringCommand, SimInput};
use crate::input::{Iec104Transaction, ModbusTransaction, OpcUaTransaction};
use crate::scenario::{HostIdx, HostRole, PlcIdx, Scenario};

/// Exceptions from one source within `BURST_TICKS` that make a burst (a scan).
const BURST_EXCEPTIONS: u32 = 5;
/// Window of an exception burst, in ticks.
const BURST_TICKS: u64 = 100;
/// Quiet time between two burst alerts for one source, in ticks.
const BURST_QUIET_TICKS: u64 = 600;

/// Connections from one source within `BURST_TICKS` that make a flood.
const FLOOD_CONNECTIONS: u32 = 20;

/// Counts one more in `host`'s window; true when the count reaches `threshold` and the
/// source has not been alerted on in the quiet time.
fn count_burst(
    map: &mut BTreeMap<HostIdx, (u64, u32, Option<u64>)>,
    host: HostIdx,
    tick: u64,
    threshold: u32,
) -> bool {
    count_burst_n(map, host, tick, 1, threshold)
}

/// `count_burst` for `n` at once (a traffic summary).
fn count_burst_n(
    map: &mut BTreeMap<HostIdx, (u64, u32, Option<u64>)>,
    host: HostIdx,
    tick: u64,
    n: u32,
    threshold: u32,
) -> bool {
    let entry = map.entry(host).or_insert((tick, 0, None));
    if tick >= entry.0 + BURST_TICKS {
        *entry = (tick, 0, entry.2);
    }
    entry.1 = entry.1.saturating_add(n);
    if entry.1 >= threshold && entry.2.is_none_or(|t| tick >= t + BURST_QUIET_TICKS) {
        entry.2 = Some(tick);
        return true;
    }
    false
}

/// Whether an alert on `host`'s burst is due at `tick` (none within the quiet period before
/// it); marks it raised when it is.
fn alert_due(map: &mut BTreeMap<HostIdx, (u64, u32, Option<u64>)>, host: HostIdx, tick: u64) -> bool {
    let entry = map.entry(host).or_insert((tick, 0, None));
    if entry.2.is_some_and(|t| tick < t + BURST_QUIET_TICKS) {
        return false;
    }
    entry.2 = Some(tick);
    true
}

/// The rule an engineering-protocol request raises, by what it asks: a program read back
/// (T0845) is not a download (T0843), as an ICS monitor decoding the protocol tells them
/// apart; a request it cannot decode is engineering access.
fn engineering_rule(input: &SimInput) -> &'static str {
    match input {
        SimInput::Engineering { command, .. } => match command {
            EngineeringCommand::Upload => "program_upload",
            EngineeringCommand::Download { .. } => "program_download",
            EngineeringCommand::SetMode { .. } => "mode_change",
            EngineeringCommand::Restart => "device_restart",
            EngineeringCommand::ModifyFirmware => "firmware_change",
        },
        _ => "engineering_access",
    }
}

/// The rule a Modbus diagnostics request (FC 8) raises, by its sub-function: forcing
/// listen-only mode silences the PLC (T0814), restarting its communications restarts it; an
/// echo or a counter read only asks (it was a high-severity denial of service too).
fn diagnostics_rule(input: &SimInput) -> &'static str {
    match input {
        SimInput::ModbusDiagnostic { sub_function: 4, .. } => "force_listen_only",
        SimInput::ModbusDiagnostic { sub_function: 1, .. } => "comm_restart",
        SimInput::ModbusDiagnostic { .. } => "diagnostics_query",
        _ => "diagnostics_function",
    }
}

/// Per-source exception and connection counting, the hosts expected to talk to each PLC,
/// and the learnt baseline.
#[derive(Resource, Debug, Clone, Default)]
pub struct IdsState {
    /// Hosts expected to read each PLC, by `PlcIdx`.
    readers: Vec<BTreeSet<HostIdx>>,
    /// Hosts expected to write each PLC, by `PlcIdx`.
    writers: Vec<BTreeSet<HostIdx>>,
    /// The learning window ends at this tick.
    learn_until: Option<u64>,
    /// (Source, PLC, function) seen while learning.
    baseline: BTreeSet<(HostIdx, PlcIdx, u8)>,
    /// Deviations already alerted on.
    deviated: BTreeSet<(HostIdx, PlcIdx, u8)>,
    /// Source -> (window start, exceptions in window, tick of the last burst alert).
    bursts: BTreeMap<HostIdx, (u64, u32, Option<u64>)>,
    /// Source -> (window start, connections in window, tick of the last flood alert).
    connections: BTreeMap<HostIdx, (u64, u32, Option<u64>)>,
    /// (Rule, source) -> tick of the last alert raised from a traffic summary: a sustained
    /// flood raises each rule once per quiet time, not once per tick.
    summarised: BTreeMap<(&'static str, HostIdx), u64>,
}

impl IdsState {
    /// The monitoring of `s`: expected readers and writers as the scenario says, else derived
    /// from the routine traffic (`talkers`): every host that polls or services a PLC reads
    /// it, and those of them that are operator stations or engineering workstations write
    /// it. A plant without routine traffic expects its operator stations, engineering
    /// workstations and historians to read and the first two to write.
    pub fn new(s: &Scenario, talkers: impl Iterator<Item = (HostIdx, PlcIdx)>) -> IdsState {
        let n = s.plcs.len();
        let (mut readers, mut writers) = (vec![BTreeSet::new(); n], vec![BTreeSet::new(); n]);
        let writes = |h: HostIdx| matches!(s.hosts[h.ix()].role, HostRole::Hmi | HostRole::Ews);
        if s.traffic.is_empty() {
            for (i, h) in s.hosts.iter().enumerate() {
                let host = HostIdx(i as u32);
                if matches!(h.role, HostRole::Hmi | HostRole::Ews | HostRole::Historian) {
                    readers.iter_mut().for_each(|r| _ = r.insert(host));
                }
                if writes(host) {
                    writers.iter_mut().for_each(|w| _ = w.insert(host));
                }
            }
        }
        for (host, plc) in talkers {
            readers[plc.ix()].insert(host);
            if writes(host) {
                writers[plc.ix()].insert(host);
            }
        }
        for (p, e) in s.ids.expected.iter().enumerate() {
            if let Some(e) = e {
                readers[p] = e.readers.iter().copied().collect();
                writers[p] = e.writers.iter().copied().collect();
            }
        }
        IdsState { readers, writers, learn_until: s.ids.learn_ticks, ..IdsState::default() }
    }

    /// Whether the monitoring is still learning its baseline at `tick`.
    pub fn learning(&self, tick: u64) -> bool {
        self.learn_until.is_some_and(|t| tick < t)
    }

    /// Adds one (source, PLC, function) to the baseline.
    pub(crate) fn learn(&mut self, host: HostIdx, plc: PlcIdx, function: u8) {
        self.baseline.insert((host, plc, function));
    }

    /// Learns a request while learning; afterwards, whether it deviates from the baseline
    /// for the first time.
    fn deviates(&mut self, tick: u64, key: (HostIdx, PlcIdx, u8)) -> bool {
        match self.learn_until {
            None => false,
            Some(t) if tick < t => {
                self.baseline.insert(key);
                false
            }
            Some(_) => !self.baseline.contains(&key) && self.deviated.insert(key),
        }
    }

    fn writer(&self, host: HostIdx, plc: PlcIdx) -> bool {
        self.writers.get(plc.ix()).is_some_and(|w| w.contains(&host))
    }

    fn reader(&self, host: HostIdx, plc: PlcIdx) -> bool {
        self.readers.get(plc.ix()).is_some_and(|r| r.contains(&host))
    }
}

/// The alerts a tick's traffic summary raises: the rules per-request traffic would raise, at
/// most once per rule and source in `BURST_QUIET_TICKS`, and the bursts and floods its counts
/// make.
fn summary_alerts(
    s: &Scenario,
    ids: &mut IdsState,
    tick: u64,
    entries: &[crate::input::TrafficCount],
) -> Vec<EventKind> {
    let mut out = Vec::new();
    for c in entries {
        let (Some(host), Some(plc)) = (s.host(&c.source), s.plc(&c.plc)) else { continue };
        let role = s.hosts[host.ix()].role;
        let mut rules: Vec<&'static str> = Vec::new();
        match c.function {
            None => {
                if count_burst_n(&mut ids.connections, host, tick, c.count, FLOOD_CONNECTIONS) {
                    rules.push("connection_flood");
                }
            }
            Some(function) => {
                let (writer, reader) = (ids.writer(host, plc), ids.reader(host, plc));
                let mut quiet = |rule: &'static str| {
                    let last = ids.summarised.get(&(rule, host)).copied();
                    if last.is_none_or(|t| tick >= t + BURST_QUIET_TICKS) {
                        ids.summarised.insert((rule, host), tick);
                        return Some(rule);
                    }
                    None
                };
                if matches!(function, 5 | 6 | 15 | 16 | 23) && !writer {
                    rules.extend(quiet("write_from_unexpected_host"));
                }
                if (1..=4).contains(&function) && !reader {
                    rules.extend(quiet("unexpected_reader"));
                }
                if matches!(function, 17 | 43) && role != HostRole::Ews {
                    rules.extend(quiet("device_identification"));
                }
                if function == 8 {
                    rules.extend(quiet("diagnostics_function"));
                }
                if c.exceptions > 0
                    && count_burst_n(&mut ids.bursts, host, tick, c.exceptions, BURST_EXCEPTIONS)
                {
                    rules.push("exception_burst");
                }
            }
        }
        out.extend(rules.into_iter().map(|rule| EventKind::IdsAlert {
            rule: rule.to_string(),
            plc: c.plc.clone(),
            source: c.source.clone(),
            function: c.function.unwrap_or(0),
        }));
    }
    out
}

/// The alerts `input` raises, given how it ended.
pub(crate) fn alerts(
    s: &Scenario,
    ids: &mut IdsState,
    tick: u64,
    input: &SimInput,
    reason: Option<RejectReason>,
) -> Vec<EventKind> {
    if s.monitoring == Monitoring::Logs {
        return Vec::new();
    }
    if let SimInput::TrafficSummary { entries } = input {
        return if reason.is_none() { summary_alerts(s, ids, tick, entries) } else { Vec::new() };
    }
    let deep = s.monitoring == Monitoring::Deep;
    let (plc, source) = match input {
        SimInput::WriteCoils { plc, source, .. }
        | SimInput::WriteRegisters { plc, source, .. }
        | SimInput::ModbusRequest(ModbusTransaction { plc, source, .. })
        | SimInput::ModbusDiagnostic { plc, source, .. }
        | SimInput::ModbusConnection { plc, source, .. }
        | SimInput::Iec104(Iec104Transaction { plc, source, .. })
        | SimInput::OpcUa(OpcUaTransaction { plc, source, .. })
        | SimInput::Engineering { plc, source, .. }
        | SimInput::Flood { plc, source, .. }
        | SimInput::Spoof { plc, source, .. } => (plc, source),
        _ => return Vec::new(),
    };
    let (Some(host), Some(plc_idx)) = (s.host(source), s.plc(plc)) else { return Vec::new() };
    let role = s.hosts[host.ix()].role;
    let function = input.function_code().unwrap_or(0);
    let mut rules: Vec<&str> = Vec::new();
    match input {
        SimInput::ModbusConnection { refused: Some(r), .. }
        | SimInput::Iec104(Iec104Transaction { type_id: CONNECTION, reason: Some(r), .. })
        | SimInput::OpcUa(OpcUaTransaction { service: services::CONNECTION, reason: Some(r), .. })
            if *r != RejectReason::ConnectionLimit =>
        {
            rules.push("blocked_connection")
        }
        SimInput::Spoof { .. } if deep => rules.push("reporting_anomaly"),
        // One flood, one alert: its intent and the connections a live attacker makes for it
        // share the source's quiet period (it raised two in the same tick).
        SimInput::Flood { .. } if alert_due(&mut ids.connections, host, tick) => {
            rules.push("connection_flood")
        }
        _ => {}
    }
    let write = matches!(function, 5 | 6 | 15 | 16 | 23);
    if write && !ids.writer(host, plc_idx) {
        rules.push("write_from_unexpected_host");
    }
    if (1..=4).contains(&function) && !ids.reader(host, plc_idx) {
        rules.push("unexpected_reader");
    }
    if function != 0 && ids.deviates(tick, (host, plc_idx, function)) {
        rules.push("baseline_deviation");
    }
    if matches!(function, 17 | 43) && role != HostRole::Ews {
        rules.push("device_identification");
    }
    if function == 8 {
        rules.push(diagnostics_rule(input));
    }
    if function == ENGINEERING_FUNCTION && (deep || role != HostRole::Ews) {
        rules.push(engineering_rule(input));
    }
    if deep {
        rules.extend(inspected(s, plc_idx, input));
    }
    let connection = matches!(
        input,
        SimInput::ModbusConnection { .. }
            | SimInput::Iec104(Iec104Transaction { type_id: CONNECTION, .. })
            | SimInput::OpcUa(OpcUaTransaction { service: services::CONNECTION, .. })
    );
    if connection && count_burst(&mut ids.connections, host, tick, FLOOD_CONNECTIONS) {
        rules.push("connection_flood");
    }
    if (reason.and_then(RejectReason::exception_code).is_some()
        || matches!(input, SimInput::ModbusRequest(ModbusTransaction { exception: Some(_), .. })))
        && count_burst(&mut ids.bursts, host, tick, BURST_EXCEPTIONS)
    {
        rules.push("exception_burst");
    }
    rules
        .into_iter()
        .map(|rule| EventKind::IdsAlert {
            rule: rule.to_string(),
            plc: plc.clone(),
            source: source.clone(),
            function,
        })
        .collect()
}

/// What deep inspection of the write `input` makes, over whichever protocol (a Modbus write,
/// an IEC 104 command, an OPC UA write), finds in its values: one of the PLC's interlock
/// bypass coils set (the first step of a TRITON, from the engineering workstation too;
/// clearing one raises nothing), a set point out of its range.
fn inspected(s: &Scenario, plc: PlcIdx, input: &SimInput) -> Option<&'static str> {
    let w = s.write_of_input(input)?;
    if w.to_coils() {
        let sets = s.bypass_coils(plc).any(|coil| {
            coil.checked_sub(w.addr).and_then(|i| w.values.get(usize::from(i))).is_some_and(|v| *v != 0)
        });
        sets.then_some("safety_bypass")
    } else {
        let outside = w.to_registers()
            && s.plcs[plc.ix()]
                .written(w.addr, &w.values, None)
                .any(|(h, v)| h.range.is_some_and(|[lo, hi]| !(lo..=hi).contains(&v)));
        outside.then_some("setpoint_out_of_range")
    }
}
