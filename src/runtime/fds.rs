//! File descriptors, shared out so no part of a range can starve another: the Modbus
//! endpoints of every team, the web server, the database and the live attackers all draw on
//! one process limit (`ulimit -n`).
//!
//! At start the soft limit is raised to the hard one. Then a reserve is set aside (database,
//! logs, each team's live attacker), the web server gets at most a quarter of the rest, and
//! each team an equal share of what remains for its Modbus connections, so a flood of idle
//! web connections, or one team's connections, can never make another team's endpoints fail
//! to accept.

use crate::{Error, Result};

/// Descriptors kept back for the database, logs, the runtime and anything else.
pub const RESERVE: u64 = 128;
/// Descriptors kept back per team for its live attacker (its flood opens 48 connections).
pub const ATTACKER_FDS: u64 = 64;

/// Raises the soft limit on open files to the hard limit; returns the limit now in force.
pub fn raise_nofile_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return 1024 };
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => return hard,
            Err(e) => tracing::warn!(error = %e, soft, hard, "cannot raise the open-files limit"),
        }
    }
    soft
}

/// How the descriptors are shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Connections the web server serves at once.
    pub http: usize,
    /// Modbus connections each team's range holds at once, over all its endpoints.
    pub per_range: usize,
}

/// Shares `nofile` descriptors among `ranges` ranges of `plcs` endpoints each
/// (`Scenario::endpoints`: IEC 104 stations count too), each endpoint capped at
/// `per_endpoint` connections, and a web server that wants `http_wanted`.
pub fn budget(
    nofile: u64,
    ranges: usize,
    plcs: usize,
    per_endpoint: usize,
    http_wanted: usize,
) -> Result<Budget> {
    let ranges_u = ranges.max(1) as u64;
    let listeners = ranges_u * plcs as u64 + 1;
    let kept = RESERVE + ranges_u * ATTACKER_FDS + listeners;
    let Some(avail) = nofile.checked_sub(kept) else {
        return Err(Error::invalid(format!(
            "the open-files limit ({nofile}) is too low for {ranges} range(s) of {plcs} PLCs: raise it (ulimit -n) to at least {}",
            kept + 64 + ranges_u * plcs as u64
        )));
    };
    let http = (http_wanted as u64).min(avail / 4).max(1);
    let per_range_max = per_endpoint.saturating_mul(plcs) as u64;
    let per_range = ((avail - http) / ranges_u).min(per_range_max);
    if per_range < plcs as u64 {
        return Err(Error::invalid(format!(
            "the open-files limit ({nofile}) leaves under one Modbus connection per PLC: raise it (ulimit -n) to at least {}",
            kept + http + ranges_u * plcs as u64 * 4
        )));
    }
    Ok(Budget { http: http as usize, per_range: per_range as usize })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_limit_is_shared_and_a_tiny_one_refused() {
        let b = budget(1024, 1, 4, 32, 1024).unwrap();
        assert_eq!(b.per_range, 128, "the endpoints' own caps fit");
        assert!(b.http < 1024 && b.http >= 100, "{b:?}");
        assert!(b.http as u64 + b.per_range as u64 + RESERVE + ATTACKER_FDS + 5 <= 1024);
        let many = budget(4096, 10, 20, 32, 1024).unwrap();
        assert!(many.per_range * 10 + many.http + 128 + 640 + 201 <= 4096, "{many:?}");
        assert!(many.per_range >= 20 && many.per_range < 640, "{many:?}");
        assert!(budget(1024, 10, 20, 32, 1024).is_err(), "under one connection per PLC");
        assert!(budget(200, 2, 4, 32, 1024).is_err());
        assert!(budget(1_048_576, 50, 20, 32, 1024).unwrap() == Budget { http: 1024, per_range: 640 });
    }
}
