//! Zones, conduits and the firewall decision for one Modbus request.
//!
//! `check_request` is a pure function of the scenario and the current conduit policies, so the
//! live Modbus layer can ask it about reads (which never enter the simulation) and the
//! simulation asks it again for writes at the tick they apply.

use crate::event::RejectReason;
use crate::scenario::{FirewallPolicy, HostIdx, PlcIdx, Scenario};

/// One Modbus request, as the firewall sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Host the request comes from.
    pub source: HostIdx,
    /// PLC it goes to.
    pub plc: PlcIdx,
    /// Function code.
    pub function: u8,
    /// First address.
    pub addr: u16,
    /// Holding-register values written (raw); empty for reads and coil writes, which the
    /// conduit filters by function code only.
    pub registers: &'a [u16],
}

/// Decides whether `source` may open a connection to `plc`: the conduit's policy that governs
/// the connection, `None` inside one zone (not filtered), or why it is refused.
pub fn check_connect<'p>(
    scenario: &Scenario,
    policies: &'p [FirewallPolicy],
    source: HostIdx,
    plc: PlcIdx,
) -> Result<Option<&'p FirewallPolicy>, RejectReason> {
    let from = scenario.hosts[source.ix()].zone;
    let to = scenario.plcs[plc.ix()].zone;
    if from == to {
        return Ok(None);
    }
    let Some(i) = scenario.conduits.iter().position(|c| c.from == from && c.to == to) else {
        return Err(RejectReason::NoRoute);
    };
    let policy = &policies[i];
    if !policy.allow_sources.is_empty() && !policy.allow_sources.contains(&source) {
        return Err(RejectReason::SourceNotAllowed);
    }
    Ok(Some(policy))
}

/// Decides whether `req` may pass. `policies` are the conduits' current policies, in
/// `Scenario::conduits` order (defenders change them during a drill).
///
/// Traffic inside a zone is not filtered. Across zones it needs a conduit from the source's
/// zone to the PLC's zone, and that conduit's policy must allow the source host, the function
/// code, and for register writes the address and value windows.
pub fn check_request(
    scenario: &Scenario,
    policies: &[FirewallPolicy],
    req: Request<'_>,
) -> Result<(), RejectReason> {
    let Some(policy) = check_connect(scenario, policies, req.source, req.plc)? else {
        return Ok(());
    };
    if !policy.allow_functions.is_empty() && !policy.allow_functions.contains(&req.function) {
        return Err(RejectReason::FunctionNotAllowed);
    }
    if req.registers.is_empty() {
        return Ok(());
    }
    let windows: Vec<_> = policy.write_ranges.iter().filter(|w| w.plc == req.plc).collect();
    if windows.is_empty() {
        return Ok(());
    }
    for (i, value) in req.registers.iter().enumerate() {
        // Addresses past 65535 cannot be in any window.
        let Some(addr) = u16::try_from(usize::from(req.addr) + i).ok() else {
            return Err(RejectReason::AddressNotAllowed);
        };
        let Some(w) = windows.iter().find(|w| w.start <= addr && addr <= w.end) else {
            return Err(RejectReason::AddressNotAllowed);
        };
        if w.min.is_some_and(|m| *value < m) || w.max.is_some_and(|m| *value > m) {
            return Err(RejectReason::ValueNotAllowed);
        }
    }
    Ok(())
}
