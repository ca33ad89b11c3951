//! The integrity hash of a program as loaded in a PLC.

use crate::scenario::validate::sha256_hex;

/// SHA-256 of a program: the commissioned program's hash when nothing is left out, otherwise
/// a hash of it and the blocks left out.
pub(crate) fn program_hash(commissioned: &str, disabled: &[bool]) -> String {
    if !disabled.iter().any(|d| *d) {
        return commissioned.to_string();
    }
    let marks: String = disabled.iter().map(|d| if *d { '1' } else { '0' }).collect();
    sha256_hex(format!("{commissioned}:{marks}").as_bytes())
}
