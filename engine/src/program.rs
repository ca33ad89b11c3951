//! The integrity hash of a program as loaded in a PLC.

use crate::scenario::validate::sha256_hex;

/// SHA-256 of a program: the commissioned program's hash when nothing is left out or added,
/// otherwise a hash of it, the blocks left out and the blocks added.
pub(crate) fn program_hash(
    commissioned: &str,
    disabled: &[bool],
    added: &[(crate::scenario::ActuatorIdx, f64, u64)],
) -> String {
    if !disabled.iter().any(|d| *d) && added.is_empty() {
        return commissioned.to_string();
    }
    let marks: String = disabled.iter().map(|d| if *d { '1' } else { '0' }).collect();
    if added.is_empty() {
        return sha256_hex(format!("{commissioned}:{marks}").as_bytes());
    }
    let added: String = added.iter().map(|(a, v, from)| format!("{}={v}@{from};", a.ix())).collect();
    sha256_hex(format!("{commissioned}:{marks}:{added}").as_bytes())
}
