//! The record budget of a live range: how many requests a tick records one by one (per PLC
//! and per range), and the counts of what went over it, which become the tick's traffic
//! summary.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use icsdrill_engine::input::TrafficCount;
use icsdrill_engine::scenario::{HostIdx, PlcIdx};
use icsdrill_engine::{Scenario, SimInput};

use super::live::MAX_SUMMARY_ENTRIES;

/// Where a tick of traffic stands against the budgets, and what went over them.
pub(super) struct Budget {
    pub(super) plc_records: Vec<AtomicU32>,
    pub(super) range_records: AtomicU32,
    pub(super) plc_writes: Vec<AtomicU32>,
    pub(super) range_writes: AtomicU32,
    /// (PLC, source, function or `CONNECTIONS`) -> (count, exceptions), over budget this
    /// tick. Locked only to add or to take the whole map.
    over: Mutex<BTreeMap<OverKey, (u32, u32)>>,
}

/// A summary count's key: PLC index, source host index, function code (or `CONNECTIONS`).
type OverKey = (u32, u32, u16);

/// The summary key of connection attempts.
pub(super) const CONNECTIONS: u16 = 256;

impl Budget {
    pub(super) fn new(plcs: usize) -> Budget {
        Budget {
            plc_records: (0..plcs).map(|_| AtomicU32::new(0)).collect(),
            range_records: AtomicU32::new(0),
            plc_writes: (0..plcs).map(|_| AtomicU32::new(0)).collect(),
            range_writes: AtomicU32::new(0),
            over: Mutex::new(BTreeMap::new()),
        }
    }

    /// Takes one from a PLC's and the range's allowance, if both have one left.
    pub(super) fn take(plc: &AtomicU32, plc_limit: u32, range: &AtomicU32, range_limit: u32) -> bool {
        plc.fetch_add(1, Ordering::Relaxed) < plc_limit && range.fetch_add(1, Ordering::Relaxed) < range_limit
    }

    pub(super) fn count_over(&self, plc: PlcIdx, source: HostIdx, function: u16, n: u32, exceptions: u32) {
        let mut over = self.over.lock().unwrap_or_else(|e| e.into_inner());
        let key = if over.len() >= MAX_SUMMARY_ENTRIES && !over.contains_key(&(plc.0, source.0, function)) {
            (plc.0, source.0, 0)
        } else {
            (plc.0, source.0, function)
        };
        let entry = over.entry(key).or_insert((0, 0));
        entry.0 = entry.0.saturating_add(n);
        entry.1 = entry.1.saturating_add(exceptions);
    }

    /// Whether traffic went over the budget since the last tick.
    pub(super) fn has_over(&self) -> bool {
        !self.over.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// Starts a new tick: the allowances refill, and what went over the last one becomes its
    /// summary input.
    pub(super) fn next_tick(&self, s: &Scenario) -> Option<SimInput> {
        for c in self.plc_records.iter().chain(&self.plc_writes) {
            c.store(0, Ordering::Relaxed);
        }
        self.range_records.store(0, Ordering::Relaxed);
        self.range_writes.store(0, Ordering::Relaxed);
        let over = std::mem::take(&mut *self.over.lock().unwrap_or_else(|e| e.into_inner()));
        if over.is_empty() {
            return None;
        }
        let entries = over
            .into_iter()
            .map(|((plc, source, function), (count, exceptions))| TrafficCount {
                plc: s.plcs[plc as usize].id.clone(),
                source: s.hosts[source as usize].id.clone(),
                function: u8::try_from(function).ok(),
                count,
                exceptions,
            })
            .collect();
        Some(SimInput::TrafficSummary { entries })
    }
}
