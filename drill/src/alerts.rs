//! A team's monitoring alerts as its own security-monitoring platform takes them: each with
//! the ATT&CK for ICS technique the rule watches for, the asset, the source, the time and a
//! severity, as JSON, as a CEF line, or as an RFC 5424 syslog message.

use icsdrill_engine::{EventKind, Scenario, SimEvent};
use serde::Serialize;

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Suspicious.
    Medium,
    /// Likely an attack.
    High,
    /// An attack on control or safety.
    Critical,
}

impl Severity {
    /// CEF severity, 0-10.
    fn cef(self) -> u8 {
        match self {
            Severity::Low => 3,
            Severity::Medium => 5,
            Severity::High => 8,
            Severity::Critical => 10,
        }
    }

    /// RFC 5424 severity (warning, error, critical, alert).
    fn syslog(self) -> u8 {
        match self {
            Severity::Low => 4,
            Severity::Medium => 3,
            Severity::High => 2,
            Severity::Critical => 1,
        }
    }
}

/// What each monitoring rule watches for: the technique (v18 id) and how bad it is.
pub fn rule_info(rule: &str) -> (&'static str, Severity) {
    match rule {
        "write_from_unexpected_host" => ("T0855", Severity::High),
        "unexpected_reader" => ("T0801", Severity::Medium),
        "device_identification" => ("T0888", Severity::Medium),
        "diagnostics_function" => ("T0814", Severity::High),
        "force_listen_only" => ("T0814", Severity::High),
        "comm_restart" => ("T0816", Severity::High),
        "diagnostics_query" => ("T0888", Severity::Medium),
        "engineering_access" => ("T0871", Severity::Medium),
        "program_upload" => ("T0845", Severity::Medium),
        "program_download" => ("T0843", Severity::Critical),
        "mode_change" => ("T0858", Severity::High),
        "device_restart" => ("T0816", Severity::High),
        "firmware_change" => ("T0857", Severity::Critical),
        "setpoint_out_of_range" => ("T0836", Severity::Critical),
        "safety_bypass" => ("T0880", Severity::Critical),
        "reporting_anomaly" => ("T0856", Severity::High),
        "connection_flood" => ("T0814", Severity::High),
        "exception_burst" => ("T0846", Severity::Medium),
        "blocked_connection" => ("T0886", Severity::Low),
        "baseline_deviation" => ("T0869", Severity::Low),
        _ => ("T0801", Severity::Low),
    }
}

/// One alert, enriched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The number of its event in the team's own event list.
    pub seq: u64,
    /// Tick it was raised at.
    pub tick: u64,
    /// Simulated seconds.
    pub time_s: f64,
    /// When it was raised on the drill's clock, ms since 1970: the drill's start plus plant
    /// time, the clock its captures are stamped with (so an alert and its packets line up in
    /// a SIEM and in Wireshark alike).
    pub at_ms: u64,
    /// Monitoring rule.
    pub rule: String,
    /// ATT&CK for ICS technique the rule watches for (v18 id: what SIEM exports carry).
    pub technique: &'static str,
    /// The same in v19, as reports and the white cell's timeline name it (`T1692.001` for
    /// `T0855`).
    pub technique_v19: &'static str,
    /// Its name.
    pub technique_name: &'static str,
    /// Its name in Chinese, the English beside it (`修改参数（Modify Parameter）`).
    pub technique_name_zh: String,
    /// Severity.
    pub severity: Severity,
    /// The PLC concerned.
    pub asset: String,
    /// The host the traffic came from.
    pub source: String,
    /// Modbus function code.
    pub function: u8,
}

/// The alert an event is, if it is one, on the clock of a drill begun at `epoch_ms`.
pub fn alert_of(s: &Scenario, e: &SimEvent, epoch_ms: u64) -> Option<Alert> {
    let EventKind::IdsAlert { rule, plc, source, function } = &e.kind else { return None };
    let (technique, severity) = rule_info(rule);
    let known = icsdrill_engine::attack::technique(technique);
    let technique_name = known.map_or("", |t| t.name);
    let technique_name_zh = known.map_or_else(String::new, |t| t.names().zh);
    Some(Alert {
        seq: e.seq,
        tick: e.tick,
        time_s: e.tick as f64 / f64::from(s.tick_hz),
        at_ms: epoch_ms.saturating_add(e.tick.saturating_mul(1000) / u64::from(s.tick_hz.max(1))),
        rule: rule.clone(),
        technique,
        technique_v19: known.map_or(technique, |t| t.v19),
        technique_name,
        technique_name_zh,
        severity,
        asset: plc.clone(),
        source: source.clone(),
        function: *function,
    })
}

/// Escapes a CEF header field (`|` and `\`).
fn cef_header(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// Escapes a CEF extension value (`=`, `\` and line breaks).
fn cef_value(s: &str) -> String {
    s.replace('\\', "\\\\").replace('=', "\\=").replace('\r', "\\r").replace('\n', "\\n")
}

/// A syslog header field: printable ASCII without spaces, at most `max` characters (RFC 5424 6:
/// MSGID 32, HOSTNAME 255), `-` when empty.
fn token(s: &str, max: usize) -> String {
    let t: String = s.chars().filter(|c| c.is_ascii_graphic()).take(max).collect();
    if t.is_empty() { "-".into() } else { t }
}

impl Alert {
    /// The alert as a CEF line (ArcSight Common Event Format).
    pub fn cef(&self, team: &str) -> String {
        format!(
            "CEF:0|icsdrill|icsdrill|{}|{}|{}|{}|rt={} cs1Label=technique cs1={} cs2Label=team cs2={} dvchost={} shost={} cn1Label=function cn1={}",
            env!("CARGO_PKG_VERSION"),
            cef_header(&self.rule),
            cef_header(&format!("{} ({})", self.technique_name, self.technique)),
            self.severity.cef(),
            self.at_ms,
            cef_value(self.technique),
            cef_value(team),
            cef_value(&self.asset),
            cef_value(&self.source),
            self.function,
        )
    }

    /// The CEF line carried in an RFC 5424 message (as SIEMs take CEF over syslog).
    pub fn syslog_cef(&self, team: &str, host: &str, timestamp: &str) -> String {
        let pri = 20 * 8 + u16::from(self.severity.syslog());
        format!(
            "<{pri}>1 {} {} icsdrill - {} - {}",
            token(timestamp, 64),
            token(host, 255),
            token(&self.rule, 32),
            self.cef(team)
        )
    }

    /// The alert as an RFC 5424 message: facility local4, `timestamp` the sender's clock (RFC
    /// 3339), `host` the range's name; the simulated time and the details in structured data.
    pub fn rfc5424(&self, team: &str, host: &str, timestamp: &str) -> String {
        let pri = 20 * 8 + u16::from(self.severity.syslog());
        // PARAM-VALUE escapes `"`, `\` and `]` (RFC 5424 6.3.3); names are ASCII without spaces.
        let v = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace(']', "\\]");
        format!(
            "<{pri}>1 {} {} icsdrill - {} [icsdrill@32473 team=\"{}\" technique=\"{}\" severity=\"{}\" asset=\"{}\" source=\"{}\" function=\"{}\" sim_s=\"{}\"] {} ({}) on {} from {}",
            token(timestamp, 64),
            token(host, 255),
            token(&self.rule, 32),
            v(team),
            v(self.technique),
            v(&format!("{:?}", self.severity).to_ascii_lowercase()),
            v(&self.asset),
            v(&self.source),
            self.function,
            self.time_s,
            self.technique_name,
            self.technique,
            self.asset.replace(['\r', '\n'], " "),
            self.source.replace(['\r', '\n'], " "),
        )
    }
}

/// Where a team's alerts are pushed: its own syslog receiver.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogTarget {
    /// The receiver's address: loopback only (the range sends nothing anywhere else).
    pub address: core::net::SocketAddr,
    /// `udp`, or `tcp` (octet-counted framing, RFC 6587).
    #[serde(default = "udp")]
    pub protocol: String,
    /// `rfc5424`, or `cef` (the CEF line as the message).
    #[serde(default = "rfc5424")]
    pub format: String,
}

fn udp() -> String {
    "udp".into()
}

fn rfc5424() -> String {
    "rfc5424".into()
}

impl SyslogTarget {
    /// Why the target cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if !self.address.ip().is_loopback() {
            return Err(format!(
                "{} is not a loopback address: alerts go to 127.0.0.0/8 or ::1 only",
                self.address.ip()
            ));
        }
        if self.address.port() == 0 {
            return Err(
                "port 0 is no receiver's: give the port the receiver listens on (514 by custom)".into()
            );
        }
        if !matches!(self.protocol.as_str(), "udp" | "tcp") {
            return Err("protocol must be udp or tcp".into());
        }
        if !matches!(self.format.as_str(), "rfc5424" | "cef") {
            return Err("format must be rfc5424 or cef".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert {
            seq: 7,
            tick: 1234,
            time_s: 123.4,
            at_ms: 1_796_000_123_400,
            rule: "write_from_unexpected_host".into(),
            technique: "T0855",
            technique_v19: "T1692.001",
            technique_name: "Unauthorized Command Message",
            technique_name_zh: "未授权命令消息（Unauthorized Command Message）".into(),
            severity: Severity::High,
            asset: "plc|t=101".into(),
            source: "it-ws-01".into(),
            function: 6,
        }
    }

    #[test]
    fn cef_escapes_its_separators() {
        let line = alert().cef("blue\nteam");
        assert!(line.starts_with("CEF:0|icsdrill|icsdrill|"), "{line}");
        assert!(
            line.contains("|write_from_unexpected_host|Unauthorized Command Message (T0855)|8|"),
            "{line}"
        );
        assert!(line.contains("dvchost=plc|t\\=101") && line.contains("cs2=blue\\nteam"), "{line}");
        // Receipt time: the alert's time on the drill's clock, ms since 1970 (plant seconds
        // alone read as January 1970 in a SIEM).
        assert!(line.contains("|rt=1796000123400 "), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn rfc5424_has_its_header_and_structured_data() {
        let line = alert().rfc5424("bl\"ue]", "range 1", "2026-12-02T10:00:00.000+08:00");
        assert!(line.starts_with("<162>1 2026-12-02T10:00:00.000+08:00 range1 icsdrill - write_from_unexpected_host [icsdrill@32473 "), "{line}");
        assert!(line.contains(r#"team="bl\"ue\]""#) && line.contains(r#"technique="T0855""#), "{line}");
        assert!(line.contains(r#"sim_s="123.4""#) && line.contains(r#"severity="high""#), "{line}");
    }

    #[test]
    fn every_rule_names_a_real_technique() {
        for rule in [
            "write_from_unexpected_host",
            "unexpected_reader",
            "device_identification",
            "diagnostics_function",
            "force_listen_only",
            "comm_restart",
            "diagnostics_query",
            "engineering_access",
            "program_upload",
            "program_download",
            "mode_change",
            "device_restart",
            "firmware_change",
            "setpoint_out_of_range",
            "safety_bypass",
            "reporting_anomaly",
            "connection_flood",
            "exception_burst",
            "blocked_connection",
            "baseline_deviation",
        ] {
            let (t, _) = rule_info(rule);
            assert!(icsdrill_engine::attack::technique(t).is_some(), "{rule}: {t}");
        }
    }

    #[test]
    fn an_alert_names_its_technique_as_the_reports_do_too() {
        let s = icsdrill_engine::Scenario::from_yaml(
            "t.yaml",
            include_str!("../../scenarios/library/petrochem-tank-farm.yaml"),
        )
        .unwrap();
        let kind = EventKind::IdsAlert {
            rule: "write_from_unexpected_host".into(),
            plc: "plc-t101".into(),
            source: "ews-01".into(),
            function: 6,
        };
        let a = alert_of(&s, &SimEvent { seq: 1, tick: 10, kind }, 0).unwrap();
        assert_eq!((a.technique, a.technique_v19), ("T0855", "T1692.001"));
    }
}
