//! What the live benchmarks share: reading this process's own status.

/// A `/proc/self/status` figure in KiB (`VmRSS:`, `VmHWM:`), 0 where there is none.
pub(crate) fn status_kib(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
