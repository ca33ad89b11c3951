//! `Snapshot`: a copy of what the outside world may read of a running plant, taken after a
//! tick. Live Modbus endpoints answer reads from it, so readers never touch the `World` and
//! never hold up the tick.

use crate::input::PlcMode;
use crate::scenario::FirewallPolicy;
use crate::world::Memory;

/// What one PLC shows on the network.
#[derive(Debug, Clone, PartialEq)]
pub struct PlcView {
    /// Operating mode.
    pub mode: PlcMode,
    /// Listen-only communications (FC 8): no answers.
    pub listen_only: bool,
    /// The four Modbus tables.
    pub memory: Memory,
}

/// The plant as the network sees it after a tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Ticks completed.
    pub tick: u64,
    /// PLCs by `PlcIdx`.
    pub plcs: Vec<PlcView>,
    /// Conduit policies in scenario order (defenders change them).
    pub policies: Vec<FirewallPolicy>,
    /// Length of the event log.
    pub events: usize,
}
