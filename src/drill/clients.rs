//! Each team's network: the client addresses its endpoints accept (given per team, or
//! defaults on loopback), the addresses of its live attacker and of hosts given by loopback
//! address, and the log of connections refused because they came from another team's (or
//! nobody's) address.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Result;
use crate::error::bail_invalid;

use super::DrillSpec;
use crate::store::{ForeignAttempt, RecordSender};

/// Most PLCs an attempt names (a scan of a team's whole plant names the first of them, then
/// `…`): its length stays bounded whatever the plant.
pub(super) const MAX_FOREIGN_PLCS: usize = 8;

/// Adds `plc` to an attempt's PLCs (`, `-separated, in the order first tried), up to
/// `MAX_FOREIGN_PLCS`: a scan of four PLCs shows as four, not as the last one tried.
fn add_plc(plcs: &mut String, plc: &str) {
    let named = plcs.split(", ").count();
    if plcs.split(", ").any(|p| p == plc || p == "…") {
        return;
    }
    let next = if named >= MAX_FOREIGN_PLCS { "…" } else { plc };
    plcs.push_str(", ");
    plcs.push_str(next);
}

/// Most distinct (address, team) pairs of refused foreign connections a drill keeps; more
/// are only counted.
pub const MAX_FOREIGN: usize = 1_024;
/// Most of them from one source (a team's networks, or none of them): one team probing
/// every other from all its addresses leaves room for the attempts of the rest.
pub const MAX_FOREIGN_PER_SOURCE: usize = 128;

/// The client networks of each team, in drill order: what the drill gives, else every address
/// for a drill of one team (it has nobody to be kept apart from), else on loopback team `k`'s
/// own /24 (`team_loopback_net`: 127.10.1.0/24 for the first). Teams of a drill served on
/// another address must be given theirs.
pub fn team_clients(spec: &DrillSpec) -> Result<Vec<Vec<ipnet::IpNet>>> {
    let mut out = Vec::new();
    for (k, t) in spec.teams.iter().enumerate() {
        if let Some(nets) = spec.clients.get(&t.id) {
            if nets.is_empty() {
                bail_invalid!("team `{}` has an empty client address list", t.id);
            }
            out.push(nets.clone());
        } else if spec.teams.len() == 1 {
            out.push(crate::runtime::modbus::server::Clients::any().nets);
        } else if spec.range.bind.is_loopback() {
            out.push(vec![team_loopback_net(k)]);
        } else {
            bail_invalid!(
                "team `{}` needs client addresses: a drill of several teams served on {} must say which \
                 networks each team connects from (`clients:` in the drill file, or --clients {}=CIDR)",
                t.id,
                spec.range.bind,
                t.id
            );
        }
    }
    for u in spec.clients.keys() {
        if !spec.teams.iter().any(|t| t.id == *u) {
            bail_invalid!("client addresses are given for `{u}`, which is not a team of this drill");
        }
    }
    // An address two teams' networks share would reach both teams' PLCs.
    for (i, a) in out.iter().enumerate() {
        for (j, b) in out.iter().enumerate().skip(i + 1) {
            if let Some((x, y)) =
                a.iter().flat_map(|x| b.iter().map(move |y| (x, y))).find(|(x, y)| overlap(x, y))
            {
                bail_invalid!(
                    "the client networks of teams `{}` ({x}) and `{}` ({y}) overlap: each team connects from networks of its own",
                    spec.teams[i].id,
                    spec.teams[j].id
                );
            }
        }
    }
    Ok(out)
}

/// Whether two networks share an address (one holds the other's first address, or the
/// other way round: networks nest or are apart).
fn overlap(a: &ipnet::IpNet, b: &ipnet::IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The address team `k`'s live attacker connects from in a drill of several teams.
pub fn team_attacker_address(k: usize) -> std::net::IpAddr {
    in_team_net(std::net::IpAddr::from([127, 0, 0, 66]), k)
}

/// The address with `ip`'s host part in team `k`'s own loopback network.
pub fn in_team_net(ip: std::net::IpAddr, k: usize) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V4(v4) => std::net::IpAddr::V4(std::net::Ipv4Addr::from(
            u32::from(team_base(k)) | u32::from(v4.octets()[3]),
        )),
        v6 => v6,
    }
}

/// Team `k`'s own loopback network in a drill of several teams on one machine: the `k + 1`th
/// /24 from 127.10.0.0 (127.10.1.0/24 for the first team, 127.11.0.0/24 for the 256th).
pub fn team_loopback_net(k: usize) -> ipnet::IpNet {
    ipnet::IpNet::V4(ipnet::Ipv4Net::new(team_base(k), 24).expect("a /24 is valid"))
}

/// The network address of team `k`'s loopback /24 (`super::MAX_TEAMS` of them fit far below
/// 127.255.255.0).
fn team_base(k: usize) -> std::net::Ipv4Addr {
    // The last /24 below 127.255.255.255: far more than any drill has teams.
    const LAST: u32 = (255 - 10) * 256 + 255;
    let n = u32::try_from(k + 1).unwrap_or(u32::MAX).min(LAST);
    std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(127, 10, 0, 0)) + (n << 8))
}

/// The refused foreign connections of a drill, for the white cell.
pub(super) struct ForeignLog {
    /// Team ids and their client networks, in drill order.
    pub(super) teams: Vec<(String, Vec<ipnet::IpNet>)>,
    /// (address, team index) -> attempt; at most `MAX_FOREIGN`.
    pub(super) seen: Mutex<ForeignSeen>,
    /// Where the list is saved (at most once a second).
    pub(super) recorder: Option<RecordSender>,
}

#[derive(Default)]
pub(super) struct ForeignSeen {
    attempts: std::collections::BTreeMap<(std::net::IpAddr, usize), ForeignAttempt>,
    /// Attempts beyond `MAX_FOREIGN` distinct pairs, or `MAX_FOREIGN_PER_SOURCE` of a source.
    uncounted: u64,
    /// Pairs kept by source: a team's index, or none for an address in no team's networks.
    per_source: std::collections::BTreeMap<Option<usize>, usize>,
    /// When the list last went to the recorder.
    saved: Option<Instant>,
    /// The attempts changed since: all the recorder is sent (it upserts), so a flood from
    /// many addresses costs the shared writer the addresses that moved, not the whole list.
    changed: std::collections::BTreeSet<(std::net::IpAddr, usize)>,
}

impl ForeignSeen {
    /// The attempts changed since the last call.
    fn take_changed(&mut self) -> Vec<ForeignAttempt> {
        let keys = std::mem::take(&mut self.changed);
        keys.iter().filter_map(|k| self.attempts.get(k).cloned()).collect()
    }
}

impl ForeignLog {
    /// An empty log for these teams (ids and networks, in drill order).
    pub(super) fn new(teams: Vec<(String, Vec<ipnet::IpNet>)>, recorder: Option<RecordSender>) -> ForeignLog {
        ForeignLog { teams, seen: Mutex::new(ForeignSeen::default()), recorder }
    }

    /// Notes a refused connection from `ip` to team `team`'s PLC `plc`.
    pub(super) fn note(&self, ip: std::net::IpAddr, team: usize, plc: &str) {
        let now_ms = crate::governance::dates::now_ms();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let seen = &mut *seen;
        match seen.attempts.get_mut(&(ip, team)) {
            Some(a) => {
                a.count += 1;
                a.last_ms = now_ms;
                add_plc(&mut a.plc, plc);
                seen.changed.insert((ip, team));
            }
            None => {
                let source = self.teams.iter().position(|(_, nets)| nets.iter().any(|n| n.contains(&ip)));
                let kept = seen.per_source.entry(source).or_default();
                if seen.attempts.len() >= MAX_FOREIGN || *kept >= MAX_FOREIGN_PER_SOURCE {
                    seen.uncounted += 1;
                    return;
                }
                *kept += 1;
                let from_team = source.map(|k| self.teams[k].0.clone());
                tracing::warn!(
                    address = %ip,
                    from = from_team.as_deref().unwrap_or("no team"),
                    target = %self.teams[team].0,
                    plc,
                    "refused a connection to another team's range"
                );
                seen.attempts.insert(
                    (ip, team),
                    ForeignAttempt {
                        address: ip.to_string(),
                        from_team,
                        team: self.teams[team].0.clone(),
                        plc: plc.to_string(),
                        count: 1,
                        first_ms: now_ms,
                        last_ms: now_ms,
                    },
                );
                seen.changed.insert((ip, team));
            }
        }
        if seen.saved.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            self.save(seen);
        }
    }

    fn save(&self, seen: &mut ForeignSeen) {
        if let Some(r) = &self.recorder
            && !seen.changed.is_empty()
        {
            seen.saved = Some(Instant::now());
            r.foreign(seen.take_changed());
        }
    }

    /// Sends the recorder what changed since the last save (the drill is stopping: no later
    /// attempt will carry it).
    pub(super) fn flush(&self) {
        self.save(&mut self.seen.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// The attempts kept, and how many more there were.
    pub(super) fn list(&self) -> (Vec<ForeignAttempt>, u64) {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        (seen.attempts.values().cloned().collect(), seen.uncounted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_names_the_plcs_it_tried_up_to_a_bound() {
        let mut plcs = "p0".to_string();
        for i in [1, 0, 2, 1] {
            add_plc(&mut plcs, &format!("p{i}"));
        }
        assert_eq!(plcs, "p0, p1, p2");
        for i in 0..1_000 {
            add_plc(&mut plcs, &format!("q{i}"));
        }
        assert_eq!(plcs.split(", ").count(), MAX_FOREIGN_PLCS + 1, "{plcs}");
        assert!(plcs.ends_with(", q4, …"), "{plcs}");
    }

    #[test]
    fn the_foreign_log_keeps_a_bounded_list_and_counts_the_rest() {
        let teams = 12;
        let log = ForeignLog {
            teams: (0..teams).map(|k| (format!("t{k}"), vec![team_loopback_net(k)])).collect(),
            seen: Mutex::new(ForeignSeen::default()),
            recorder: None,
        };
        let addr = |k: usize, host: u8| in_team_net(std::net::IpAddr::from([127, 0, 0, host]), k);
        // Team 0 probes team 1 from every address of its network: only its share is listed.
        for host in 1..=254 {
            log.note(addr(0, host), 1, "plc-t101");
            log.note(addr(0, host), 1, "plc-t101");
        }
        let (list, uncounted) = log.list();
        assert_eq!(list.len(), MAX_FOREIGN_PER_SOURCE);
        assert_eq!(uncounted, 2 * (254 - MAX_FOREIGN_PER_SOURCE as u64));
        assert!(list.iter().all(|a| a.count == 2 && a.team == "t1" && a.from_team.as_deref() == Some("t0")));
        // Another team's attempt still has room.
        log.note(addr(2, 7), 0, "plc-t101");
        assert!(log.list().0.iter().any(|a| a.from_team.as_deref() == Some("t2") && a.team == "t0"));
        // Every team probing: the whole list stops at its own limit.
        for k in 1..teams {
            for host in 1..=254 {
                log.note(addr(k, host), 0, "plc-t101");
            }
        }
        let (list, _) = log.list();
        assert_eq!(list.len(), MAX_FOREIGN);
        assert!((0..teams).all(|k| {
            let from = format!("t{k}");
            list.iter().filter(|a| a.from_team.as_ref() == Some(&from)).count() <= MAX_FOREIGN_PER_SOURCE
        }));
        // What goes to the recorder is what changed since it last went, not the whole list.
        let mut seen = log.seen.lock().unwrap();
        assert_eq!(seen.take_changed().len(), MAX_FOREIGN);
        assert!(seen.take_changed().is_empty());
        drop(seen);
        log.note(addr(0, 1), 1, "plc-t101");
        let changed = log.seen.lock().unwrap().take_changed();
        assert_eq!((changed.len(), changed[0].count), (1, 3));
    }

    #[test]
    fn every_team_of_the_largest_drill_has_a_loopback_network_of_its_own() {
        let nets: Vec<_> = (0..super::super::MAX_TEAMS).map(team_loopback_net).collect();
        assert_eq!(nets[0].to_string(), "127.10.1.0/24");
        assert_eq!(nets[254].to_string(), "127.10.255.0/24");
        assert_eq!(nets[255].to_string(), "127.11.0.0/24");
        for (k, net) in nets.iter().enumerate() {
            assert!(net.network().is_loopback(), "{net}");
            assert!(net.contains(&team_attacker_address(k)), "team {k}'s attacker is in {net}");
            let ip = in_team_net("127.0.0.77".parse().expect("an address"), k);
            assert!(net.contains(&ip), "{ip} in {net}");
            assert!(nets[k + 1..].iter().all(|other| !other.contains(&net.network())), "{net} shared");
        }
    }
}
