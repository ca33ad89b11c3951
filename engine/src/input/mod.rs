//! `SimInput`: the closed list of ways the outside world changes the plant.
//!
//! Modbus endpoints, defender actions, instructors and `--inputs` files all end up here. An
//! input is applied at the start of the tick it is queued for; inputs refer to plant objects by
//! id (not index) so recorded input files stay readable and survive scenario edits that only
//! reorder things.

use serde::{Deserialize, Serialize};

use crate::event::RejectReason;

mod file;
mod report;
mod traffic;

pub use file::{InputsError, TimedInput, parse_inputs};
pub use report::IncidentReport;

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn is_zero_u8(n: &u8) -> bool {
    *n == 0
}

/// The `kind` tags of the defender inputs (`SimInput::defender_kind`): what a scenario's
/// `defender:` trigger and response plan may name, and what teams may take.
pub const DEFENDER_KINDS: [&str; 20] = [
    "block_source",
    "allow_functions",
    "restrict_writes",
    "reset_conduit",
    "isolate_host",
    "restore_host",
    "set_mode",
    "restore_setpoints",
    "clear_bypasses",
    "restore_sensor",
    "replace_module",
    "reimage_host",
    "local_control",
    "restore_program",
    "restart_plc",
    "acknowledge_alarm",
    "enable_range_checks",
    "report_incident",
    "notify",
    "declare_hazard",
];

/// The function code engineering commands travel under (Schneider's UMAS uses 90).
pub const ENGINEERING_FUNCTION: u8 = 90;

/// A PLC operating mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlcMode {
    /// Executing its program.
    Run,
    /// Halted; outputs at their fail positions.
    Stop,
    /// Halted for program changes; outputs at their fail positions.
    Program,
}

/// A fault effect named by ids, as an instructor or input file gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultSpec {
    /// The sensor keeps its last value.
    SensorFreeze {
        /// Sensor id.
        sensor: String,
    },
    /// The sensor drifts.
    SensorDrift {
        /// Sensor id.
        sensor: String,
        /// Units per hour.
        per_h: f64,
    },
    /// Extra noise on the sensor.
    SensorNoise {
        /// Sensor id.
        sensor: String,
        /// Standard deviation.
        sd: f64,
    },
    /// A constant offset on the sensor.
    SensorBias {
        /// Sensor id.
        sensor: String,
        /// Offset.
        bias: f64,
    },
    /// The actuator stays put.
    ActuatorStuck {
        /// Actuator id.
        actuator: String,
    },
}

/// A Modbus request to a PLC and its outcome: queued as an input when the endpoint answered it
/// from its snapshot (`SimInput::ModbusRequest`, no values), recorded as it went
/// (`EventKind::ModbusTransaction`, with the values a write wrote). Identical requests recorded
/// in one tick are one record with `repeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusTransaction {
    /// PLC id.
    pub plc: String,
    /// Host id the request came from.
    pub source: String,
    /// Function code.
    pub function: u8,
    /// First address (0 where the function has none).
    pub addr: u16,
    /// Quantity (0 where the function has none).
    pub count: u16,
    /// Values written (raw; coils as 0 or 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<u16>,
    /// Exception code answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<u8>,
    /// Why the request was refused or not answered, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
    /// The unit id the request named when it was not the PLC's (refused `wrong_unit`), so a
    /// capture draws it as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<u8>,
    /// How many identical requests this record stands for (an endpoint folds a client's
    /// repeated polls).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub repeat: u32,
}

/// An IEC 60870-5-104 request to a PLC's station (`scenario::iec104`) and its outcome: queued
/// as an input (`SimInput::Iec104`), recorded as it went (`EventKind::Iec104Transaction`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Iec104Transaction {
    /// PLC id.
    pub plc: String,
    /// Host id the request came from.
    pub source: String,
    /// Type identification (0: the connection).
    pub type_id: u8,
    /// Cause of transmission as sent.
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub cause: u8,
    /// Information object address (0 where there is none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ioa: u32,
    /// A command's value (see `Iec104Def::command`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The select of a select-before-operate command: checked, nothing changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub select: bool,
    /// Why the endpoint refused it, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
    /// How many identical requests this record stands for.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub repeat: u32,
}

/// An OPC UA request to a PLC's server (`scenario::opcua`) and its outcome: queued as an input
/// (`SimInput::OpcUa`), recorded as it went (`EventKind::OpcUaTransaction`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpcUaTransaction {
    /// PLC id.
    pub plc: String,
    /// Host id the request came from.
    pub source: String,
    /// Service (`opcua::services`; 0: the connection).
    pub service: u8,
    /// The point id of the node (empty where there is none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    /// A write's value (a bit's 0 or 1, a register's engineering value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Why the endpoint refused it, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
    /// How many identical requests this record stands for.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub repeat: u32,
}

/// Everything that can change the simulated plant from outside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SimInput {
    /// Modbus FC 5 (one value) or FC 15 (several) from a host of the simulated network.
    WriteCoils {
        /// PLC id.
        plc: String,
        /// Host id the request comes from.
        source: String,
        /// First coil address.
        addr: u16,
        /// Values, from `addr` upwards.
        values: Vec<bool>,
        /// Function code as sent; by default 5 for one value, 15 for several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        function: Option<u8>,
    },
    /// Modbus FC 6 (one value), FC 16 (several) or the write half of FC 23, from a host of the
    /// simulated network.
    WriteRegisters {
        /// PLC id.
        plc: String,
        /// Host id the request comes from.
        source: String,
        /// First holding register address.
        addr: u16,
        /// Raw values, from `addr` upwards.
        values: Vec<u16>,
        /// Function code as sent; by default 6 for one value, 16 for several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        function: Option<u8>,
    },
    /// A Modbus request that a live endpoint answered from the last snapshot without changing
    /// the plant (reads, identification, malformed or refused requests). Recorded so the
    /// transaction log, detection and replays see it.
    ModbusRequest(ModbusTransaction),
    /// Modbus FC 8 (diagnostics): sub-function 0 echoes, 1 restarts communications (leaving
    /// listen-only mode), 4 forces listen-only mode.
    ModbusDiagnostic {
        /// PLC id.
        plc: String,
        /// Host id the request came from.
        source: String,
        /// Sub-function.
        sub_function: u16,
    },
    /// A TCP connection to a PLC's endpoint, accepted or refused at connect.
    ModbusConnection {
        /// PLC id.
        plc: String,
        /// Host id the connection came from.
        source: String,
        /// Why it was refused, if it was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refused: Option<RejectReason>,
    },
    /// An IEC 60870-5-104 request to a PLC's station (`scenario::iec104`): a command,
    /// applied to the point its object maps through the checks a Modbus write passes; an
    /// interrogation or clock synchronisation, answered by the endpoint; a refused request;
    /// or (type 0) the TCP connection itself.
    Iec104(Iec104Transaction),
    /// An OPC UA request to a PLC's server (`scenario::opcua`): a write, applied to the
    /// point its node maps through the checks a Modbus write passes; a read, browse or
    /// subscription, answered by the endpoint; a refused request; or (service 0) the TCP
    /// connection itself.
    #[serde(rename = "opcua")]
    OpcUa(OpcUaTransaction),
    /// The Modbus traffic of one tick beyond the range's record budget, counted (see
    /// `EventKind::TrafficSummary`). The live runtime queues one per tick when there is any.
    TrafficSummary {
        /// Counts, in (PLC, source, function) order.
        entries: Vec<TrafficCount>,
    },
    /// Switch a PLC's operating mode (the key switch, or an engineering command).
    SetMode {
        /// PLC id.
        plc: String,
        /// New mode.
        mode: PlcMode,
    },
    /// Start a physical fault now.
    InjectFault {
        /// Id for the fault, used to clear it.
        id: String,
        /// What it does.
        fault: FaultSpec,
        /// Seconds until it clears by itself.
        duration_s: Option<f64>,
    },
    /// End a fault early.
    ClearFault {
        /// Fault id.
        id: String,
    },
    /// An engineering-protocol command (Modbus FC 90, as Schneider UMAS): mode change,
    /// restart or program download. Passes the conduit firewall as function 90.
    Engineering {
        /// PLC id.
        plc: String,
        /// Host id it comes from.
        source: String,
        /// What it asks for.
        command: EngineeringCommand,
    },
    /// From a position between the operators and the PLC, report a false value (or freeze the
    /// current one) of an input register. The PLC itself still sees the truth.
    Spoof {
        /// PLC id.
        plc: String,
        /// Host id doing it.
        source: String,
        /// Input register address.
        addr: u16,
        /// Raw value reported; absent freezes the current value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<u16>,
    },
    /// Manipulate a field signal where it enters the PLCs: the logic and the HMI see the
    /// forged reading. From a host in the zone of a PLC that reads the sensor.
    ForgeSensor {
        /// Sensor id.
        sensor: String,
        /// Host id doing it.
        source: String,
        /// Value reported; absent freezes the reading (or replays, with `replay_s`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        /// Seconds of genuine readings to record, then play back in a loop.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replay_s: Option<f64>,
    },
    /// A connection and request flood on a PLC's endpoint (headless stand-in for the live
    /// attacker's real flood): the PLC answers nobody for `seconds`.
    Flood {
        /// PLC id.
        plc: String,
        /// Host id flooding.
        source: String,
        /// Simulated seconds.
        seconds: f64,
    },
    /// The live attacker's report on an attempt it carried out over the network.
    AttackResult {
        /// Step id.
        step: String,
        /// Attempt number.
        attempt: u32,
        /// Whether it had its effect.
        ok: bool,
        /// Why not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RejectReason>,
    },
    /// Defender: refuse a host on a conduit.
    BlockSource {
        /// Conduit id.
        conduit: String,
        /// Host id.
        host: String,
    },
    /// Defender: only these function codes pass the conduit.
    AllowFunctions {
        /// Conduit id.
        conduit: String,
        /// Function codes.
        functions: Vec<u8>,
    },
    /// Defender: register writes to this PLC must fall in this window.
    RestrictWrites {
        /// Conduit id.
        conduit: String,
        /// PLC id.
        plc: String,
        /// First address.
        start: u16,
        /// Last address.
        end: u16,
        /// Smallest raw value.
        min: Option<u16>,
        /// Largest raw value.
        max: Option<u16>,
    },
    /// Defender: put a conduit's policy back as the scenario had it.
    ResetConduit {
        /// Conduit id.
        conduit: String,
    },
    /// Defender: cut a host off the network.
    IsolateHost {
        /// Host id.
        host: String,
    },
    /// Defender: reconnect an isolated host.
    RestoreHost {
        /// Host id.
        host: String,
    },
    /// Wipe a host's disks (T0809 data destruction), from a host that reaches it.
    WipeHost {
        /// Host wiped.
        host: String,
        /// Host doing it.
        source: String,
    },
    /// Deny or take away the operators' view at an operator station (T0815 denial of view:
    /// the displays freeze on the last values; T0829 loss of view with `blank`: they go blank),
    /// from a host that reaches it. Ends when the station is re-imaged.
    DenyView {
        /// Operator station.
        host: String,
        /// Host doing it.
        source: String,
        /// Blank screens rather than frozen ones.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        blank: bool,
    },
    /// Defender: switch an actuator to local at its field panel and drive it by hand: the
    /// PLC's commands no longer reach it (a tripped interlock still does); `position` absent
    /// hands it back to the PLC (remote).
    LocalControl {
        /// Actuator id.
        actuator: String,
        /// Position 0..=1 set by hand; absent returns the actuator to remote.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<f64>,
    },
    /// Defender: fit a spare module to a bricked PLC and load its program from the backup.
    ReplaceModule {
        /// PLC id.
        plc: String,
    },
    /// Defender: re-image a wiped host (or an operator station whose view was denied) from
    /// its golden image.
    ReimageHost {
        /// Host id.
        host: String,
    },
    /// Defender: check a field signal at its junction box and re-terminate it (or fit a
    /// spare transmitter): a forged or replayed reading ends.
    RestoreSensor {
        /// Sensor id.
        sensor: String,
    },
    /// Defender: put every holding register of a PLC back to its commissioned value.
    RestoreSetpoints {
        /// PLC id.
        plc: String,
    },
    /// Defender: take every interlock bypass of a PLC off (the bypass key switches back to
    /// normal at the safety system's panel): its interlocks guard again.
    ClearBypasses {
        /// PLC id.
        plc: String,
    },
    /// Defender: reload the PLC's program from its backup.
    RestoreProgram {
        /// PLC id.
        plc: String,
    },
    /// Defender: restart a PLC (outputs fail-safe while it boots; communications reset).
    RestartPlc {
        /// PLC id.
        plc: String,
    },
    /// Defender: acknowledge an alarm.
    AcknowledgeAlarm {
        /// PLC id.
        plc: String,
        /// Alarm block id.
        alarm: String,
    },
    /// Defender: turn on set-point range checks (M0818) in a PLC.
    EnableRangeChecks {
        /// PLC id.
        plc: String,
    },
    /// Defender: file an incident report (written with `observed_s` even when there is none,
    /// as recorded logs have it: their hashes are the replay contract).
    #[serde(serialize_with = "IncidentReport::serialize_as_input")]
    ReportIncident(IncidentReport),
    /// Defender: notify someone outside the team (duty officer, management, the authority),
    /// as a response plan asks.
    Notify {
        /// Who: `duty_officer`, `management`, `authority`, ... (free, short).
        to: String,
        /// Message.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        text: String,
    },
    /// Defender (exam assessment): declare a hidden hazard of the plant, by finding id
    /// (`range:plc-t101`, `path:overfill`, `backup:plc-r201`, ...).
    DeclareHazard {
        /// Finding id.
        id: String,
    },
    /// Contest: a team submitted a flag; the drill judged it (the flag itself is not logged,
    /// only a digest).
    SubmitFlag {
        /// Challenge the flag solves, when it is one of the team's own flags.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        challenge: String,
        /// Whether it is the team's own flag.
        valid: bool,
        /// The team whose flag it is, when it is another team's.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        owner: String,
        /// SHA-256 prefix of what was submitted.
        digest: String,
    },
    /// A team takes a hint (or the white cell reveals it); it costs the hint's points.
    RevealHint {
        /// Hint id.
        hint: String,
        /// Revealed by the white cell, not asked for by the team (it costs the team all the
        /// same).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        white_cell: bool,
    },
    /// White cell: an inject, a message or phone call to the team, or an attack step fired
    /// now whatever its trigger says.
    Inject {
        /// How it reaches the team.
        channel: InjectChannel,
        /// What it says.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        text: String,
        /// Attack step to fire (channel `step`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
    },
}

/// Requests (or connections) from one source to one PLC in one tick, beyond the record
/// budget.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficCount {
    /// PLC id.
    pub plc: String,
    /// Host id the traffic came from.
    pub source: String,
    /// Function code; absent for connection attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<u8>,
    /// How many requests (connection attempts).
    pub count: u32,
    /// How many of them were answered with an exception (connections: refused).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub exceptions: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How an inject reaches a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InjectChannel {
    /// A written message (email, ticket, chat).
    Message,
    /// A phone call (from operations, the vendor, the authority).
    Phone,
    /// Fire an attack step now.
    Step,
}

/// What an engineering-protocol command asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum EngineeringCommand {
    /// Switch the operating mode.
    SetMode {
        /// New mode.
        mode: PlcMode,
    },
    /// Restart the CPU.
    Restart,
    /// Overwrite the firmware with a corrupt image (T0857): the module never boots again.
    ModifyFirmware,
    /// Read the program back (T0845 Program Upload): it changes nothing in the PLC; an
    /// engineer's backup or comparison, or an attacker's collection.
    Upload,
    /// Download a program without these logic blocks (by id), and with these blocks added.
    Download {
        /// Logic block ids left out.
        disable: Vec<String>,
        /// Logic added (T0843.003 program append: TRITON's payload, a logic bomb).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        add: Vec<Implant>,
    },
}

/// A logic block a malicious download adds: every scan, once `after_s` seconds have passed
/// since the download, it drives an actuator the PLC controls to a position (last in the
/// program, so it wins over the PLC's own logic; a tripped interlock still wins over it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Implant {
    /// Actuator id.
    pub actuator: String,
    /// Position, 0..=1.
    pub value: f64,
    /// Seconds from the download until it acts.
    #[serde(default)]
    pub after_s: f64,
}

impl SimInput {
    /// A write of coils from `source`, function code from the count (FC 5 or 15).
    pub fn write_coils(
        plc: impl Into<String>,
        source: impl Into<String>,
        addr: u16,
        values: Vec<bool>,
    ) -> SimInput {
        SimInput::WriteCoils { plc: plc.into(), source: source.into(), addr, values, function: None }
    }

    /// A write of holding registers from `source`, function code from the count (FC 6 or 16).
    pub fn write_registers(
        plc: impl Into<String>,
        source: impl Into<String>,
        addr: u16,
        values: Vec<u16>,
    ) -> SimInput {
        SimInput::WriteRegisters { plc: plc.into(), source: source.into(), addr, values, function: None }
    }

    /// For defender actions, the `kind` tag an attack's `defender:` trigger waits for.
    pub fn defender_kind(&self) -> Option<&'static str> {
        Some(match self {
            SimInput::BlockSource { .. } => "block_source",
            SimInput::AllowFunctions { .. } => "allow_functions",
            SimInput::RestrictWrites { .. } => "restrict_writes",
            SimInput::ResetConduit { .. } => "reset_conduit",
            SimInput::IsolateHost { .. } => "isolate_host",
            SimInput::RestoreHost { .. } => "restore_host",
            SimInput::SetMode { .. } => "set_mode",
            SimInput::RestoreSetpoints { .. } => "restore_setpoints",
            SimInput::ClearBypasses { .. } => "clear_bypasses",
            SimInput::RestoreSensor { .. } => "restore_sensor",
            SimInput::ReplaceModule { .. } => "replace_module",
            SimInput::ReimageHost { .. } => "reimage_host",
            SimInput::LocalControl { .. } => "local_control",
            SimInput::RestoreProgram { .. } => "restore_program",
            SimInput::RestartPlc { .. } => "restart_plc",
            SimInput::AcknowledgeAlarm { .. } => "acknowledge_alarm",
            SimInput::EnableRangeChecks { .. } => "enable_range_checks",
            SimInput::ReportIncident(_) => "report_incident",
            SimInput::Notify { .. } => "notify",
            SimInput::DeclareHazard { .. } => "declare_hazard",
            _ => return None,
        })
    }

    /// What a defender action acts on, as a response plan's `done_by` names it after its kind:
    /// the host, PLC, conduit, actuator or sensor; `conduit/host` for a block; the addressee
    /// of a notice; `plc/alarm` for an acknowledgement. `None` for other inputs.
    pub fn target(&self) -> Option<String> {
        Some(match self {
            SimInput::BlockSource { conduit, host } => format!("{conduit}/{host}"),
            SimInput::AllowFunctions { conduit, .. }
            | SimInput::RestrictWrites { conduit, .. }
            | SimInput::ResetConduit { conduit } => conduit.clone(),
            SimInput::IsolateHost { host }
            | SimInput::RestoreHost { host }
            | SimInput::ReimageHost { host } => host.clone(),
            SimInput::SetMode { plc, .. }
            | SimInput::RestoreSetpoints { plc }
            | SimInput::ClearBypasses { plc }
            | SimInput::ReplaceModule { plc }
            | SimInput::RestoreProgram { plc }
            | SimInput::RestartPlc { plc }
            | SimInput::EnableRangeChecks { plc } => plc.clone(),
            SimInput::RestoreSensor { sensor } => sensor.clone(),
            SimInput::LocalControl { actuator, .. } => actuator.clone(),
            SimInput::AcknowledgeAlarm { plc, alarm } => format!("{plc}/{alarm}"),
            SimInput::Notify { to, .. } => to.clone(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_defender_kind_is_an_input() {
        for kind in DEFENDER_KINDS {
            let err = serde_json::from_str::<SimInput>(&format!(r#"{{"kind":"{kind}"}}"#)).err();
            let unknown = err.as_ref().is_some_and(|e| e.to_string().contains("unknown variant"));
            assert!(!unknown, "`{kind}` is not a SimInput: {err:?}");
        }
        let notify = SimInput::Notify { to: "duty_officer".into(), text: String::new() };
        assert!(DEFENDER_KINDS.contains(&notify.defender_kind().unwrap()));
        assert!(SimInput::write_registers("p", "h", 0, vec![1]).defender_kind().is_none());
    }
}
