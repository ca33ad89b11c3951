//! A team's incident report: the one type of the input that files it and of the event that
//! records it, written each as recorded logs have them (their hashes are the replay contract).

use serde::{Deserialize, Serialize};

/// A team's incident report: filed as an input (`SimInput::ReportIncident`), recorded as it
/// was filed (`EventKind::IncidentReported`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentReport {
    /// ATT&CK for ICS technique id (v18 or v19).
    pub technique: String,
    /// Affected asset (PLC or host id).
    pub asset: String,
    /// When the team saw it, in simulated seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_s: Option<f64>,
    /// Free text.
    #[serde(default)]
    pub text: String,
    /// ATT&CK for ICS tactic, e.g. `Impair Process Control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tactic: Option<String>,
    /// Impact on the process as the team sees it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub impact: String,
    /// Actions taken so far.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actions: String,
}

impl IncidentReport {
    /// Writes a report as an input is written: `observed_s` always there (`null` when not
    /// given), where its record leaves it out.
    pub(super) fn serialize_as_input<S: serde::Serializer>(
        r: &IncidentReport,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct AsInput<'a> {
            technique: &'a str,
            asset: &'a str,
            observed_s: Option<f64>,
            text: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            tactic: &'a Option<String>,
            #[serde(skip_serializing_if = "str::is_empty")]
            impact: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            actions: &'a str,
        }
        AsInput {
            technique: &r.technique,
            asset: &r.asset,
            observed_s: r.observed_s,
            text: &r.text,
            tactic: &r.tactic,
            impact: &r.impact,
            actions: &r.actions,
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use crate::{EventKind, SimInput};

    #[test]
    fn a_report_is_written_as_logs_recorded_before_it_was_one_type() {
        // Lines as drills recorded them, the input with `observed_s` even when null, the
        // record without it: parsed and written again, byte for byte.
        for line in [
            r#"{"kind":"report_incident","technique":"T0836","asset":"plc-t101","observed_s":null,"text":"x"}"#,
            r#"{"kind":"report_incident","technique":"T0836","asset":"plc-t101","observed_s":12.5,"text":"x","tactic":"Impair Process Control","impact":"i","actions":"a"}"#,
        ] {
            let input: SimInput = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&input).unwrap(), line);
        }
        let line = r#"{"kind":"incident_reported","technique":"T0836","asset":"plc-t101","text":"x"}"#;
        let event: EventKind = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&event).unwrap(), line);
        // A rejected report carries the input as an input is written.
        let rejected = format!(
            r#"{{"kind":"input_rejected","input":{},"reason":"illegal_value"}}"#,
            r#"{"kind":"report_incident","technique":"T0836","asset":"plc-t101","observed_s":null,"text":"x"}"#
        );
        let event: EventKind = serde_json::from_str(&rejected).unwrap();
        assert_eq!(serde_json::to_string(&event).unwrap(), rejected);
    }
}
