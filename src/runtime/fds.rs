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

/// What the descriptors must serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    /// Ranges (teams).
    pub ranges: usize,
    /// Endpoints of each range (`Scenario::endpoints`: IEC 104 stations and OPC UA servers
    /// count too), one listener each.
    pub endpoints: usize,
    /// Connections each endpoint serves at most.
    pub per_endpoint: usize,
    /// Connections the web server would like.
    pub http: usize,
    /// Connections each range should hold (`serve --team-connections`); 0 for a fair share of
    /// what is left, at least one per endpoint.
    pub per_range: usize,
    /// Each range runs a live attacker (`ATTACKER_FDS` kept back for it).
    pub attacker: bool,
    /// Event loops of each range (three descriptors each: its runtime's poller and waker, its
    /// Modbus connections' poller).
    pub loops: usize,
    /// Client connections each range's routine traffic opens (its side of them).
    pub routine: usize,
}

/// Shares `nofile` descriptors out as `d` asks.
///
/// By default the web server gets at most a quarter of what the listeners and reserves leave,
/// and each range an equal share of the rest, refused when under one connection per endpoint.
/// With a per-range wish, ranges get exactly that (refused when it does not fit) and the web
/// server may have the rest: a big contest's node serving thousands of scoreboard viewers and
/// few trainee tools per team.
pub fn budget(nofile: u64, d: Demand) -> Result<Budget> {
    let ranges_u = d.ranges.max(1) as u64;
    let plcs = d.endpoints as u64;
    let listeners = ranges_u * plcs + 1;
    let attacker = if d.attacker { ATTACKER_FDS } else { 0 };
    let kept = RESERVE + ranges_u * (attacker + d.routine as u64 + 3 * d.loops as u64) + listeners;
    let Some(avail) = nofile.checked_sub(kept) else {
        return Err(Error::invalid(format!(
            "the open-files limit ({nofile}) is too low for {} range(s) of {plcs} endpoints: raise it (ulimit -n) to at least {}",
            d.ranges,
            kept + 64 + ranges_u * plcs
        )));
    };
    let per_range_max = d.per_endpoint.saturating_mul(d.endpoints) as u64;
    let (per_range_max, http_cap) = match d.per_range as u64 {
        0 => (per_range_max, avail / 4),
        wish => {
            let wish = wish.min(per_range_max);
            (wish, (avail / 4).max(avail.saturating_sub(ranges_u * wish)))
        }
    };
    let http = (d.http as u64).min(http_cap).max(1);
    let per_range = (avail.saturating_sub(http) / ranges_u).min(per_range_max);
    if d.per_range > 0 && per_range < per_range_max {
        return Err(Error::invalid(format!(
            "the open-files limit ({nofile}) leaves {per_range} connections per team, fewer than the {per_range_max} asked (--team-connections): raise it (ulimit -n) to at least {}",
            kept + http + ranges_u * per_range_max
        )));
    }
    if per_range < plcs.min(per_range_max) {
        return Err(Error::invalid(format!(
            "the open-files limit ({nofile}) leaves under one Modbus connection per PLC: raise it (ulimit -n) to at least {}",
            kept + http + ranges_u * plcs * 4
        )));
    }
    Ok(Budget { http: http as usize, per_range: per_range as usize })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_limit_is_shared_and_a_tiny_one_refused() {
        let d = |ranges, endpoints, per_endpoint, http| Demand {
            ranges,
            endpoints,
            per_endpoint,
            http,
            per_range: 0,
            attacker: true,
            routine: 0,
            loops: 0,
        };
        let budget = |nofile, ranges, endpoints, per_endpoint, http| {
            budget(nofile, d(ranges, endpoints, per_endpoint, http))
        };
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

    #[test]
    fn a_big_contest_node_gives_each_team_what_it_asks_and_the_web_the_rest() {
        // 500 teams x 20 PLCs under a 20 000 open-files limit: 10 001 listeners, an event loop a
        // team, no attacker.
        let d = Demand {
            ranges: 500,
            endpoints: 20,
            per_endpoint: 32,
            http: 5_000,
            per_range: 4,
            attacker: false,
            routine: 0,
            loops: 1,
        };
        let b = budget(20_000, d).unwrap();
        assert_eq!(b, Budget { http: 5_000, per_range: 4 });
        // A fair share (no wish) is under one connection per PLC there: refused.
        assert!(budget(20_000, Demand { per_range: 0, ..d }).is_err());
        // A wish that does not fit is refused, naming it.
        let e = budget(20_000, Demand { per_range: 20, ..d }).unwrap_err().to_string();
        assert!(e.contains("--team-connections") && e.contains("20 asked"), "{e}");
        // Live attackers and routine clients take their descriptors first.
        assert!(budget(20_000, Demand { attacker: true, ..d }).is_err());
        let with_routine = budget(20_000, Demand { routine: 10, ..d }).unwrap();
        assert_eq!(with_routine.per_range, 4, "the teams still get what they asked");
        assert!(with_routine.http < 5_000, "the web server gets less: {with_routine:?}");
        assert!(budget(20_000, Demand { routine: 20, ..d }).is_err());
        assert!(budget(40_000, Demand { routine: 20, ..d }).is_ok());
    }
}
