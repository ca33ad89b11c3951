//! The file form of a PLC's protocols beside Modbus: its IEC 104 station and its OPC UA
//! server.

use serde::Deserialize;

use super::{S, default_unit_id};

/// A PLC's OPC UA server: its security modes (default: both).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpcUaFile {
    pub(crate) security: Option<Vec<S<String>>>,
}

/// A PLC's IEC 104 station: every point mapped by default, or the objects listed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Iec104File {
    #[serde(default = "default_unit_id")]
    pub(crate) common_address: S<i64>,
    pub(crate) points: Option<Vec<IecPointFile>>,
}

/// One information object: its address and the PLC point behind it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IecPointFile {
    pub(crate) ioa: S<i64>,
    pub(crate) point: S<String>,
    #[serde(default)]
    pub(crate) double: bool,
}
