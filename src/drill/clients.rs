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

/// Most distinct (address, team) pairs of refused foreign connections a drill keeps; more
/// are only counted.
pub const MAX_FOREIGN: usize = 1_024;

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
    Ok(out)
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
    /// Attempts beyond `MAX_FOREIGN` distinct pairs.
    uncounted: u64,
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
        let full = seen.attempts.len() >= MAX_FOREIGN;
        match seen.attempts.get_mut(&(ip, team)) {
            Some(a) => {
                a.count += 1;
                a.last_ms = now_ms;
                a.plc = plc.to_string();
                seen.changed.insert((ip, team));
            }
            None if full => seen.uncounted += 1,
            None => {
                let from_team = self
                    .teams
                    .iter()
                    .find(|(_, nets)| nets.iter().any(|n| n.contains(&ip)))
                    .map(|(id, _)| id.clone());
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
        if let Some(r) = &self.recorder
            && seen.saved.is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            seen.saved = Some(Instant::now());
            r.foreign(seen.take_changed());
        }
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
    fn the_foreign_log_keeps_a_bounded_list_and_counts_the_rest() {
        let log = ForeignLog {
            teams: vec![
                ("red".into(), vec![team_loopback_net(0)]),
                ("blue".into(), vec![team_loopback_net(1)]),
            ],
            seen: Mutex::new(ForeignSeen::default()),
            recorder: None,
        };
        for i in 0..(MAX_FOREIGN + 100) as u32 {
            let ip = std::net::IpAddr::from(std::net::Ipv4Addr::from(0x7f0a_0000 + 256 + i));
            log.note(ip, 1, "plc-t101");
            log.note(ip, 1, "plc-t101");
        }
        let (list, uncounted) = log.list();
        assert_eq!(list.len(), MAX_FOREIGN);
        assert_eq!(uncounted, 200);
        assert!(list.iter().all(|a| a.count == 2 && a.team == "blue"));
        assert_eq!(list[0].from_team.as_deref(), Some("red"), "127.10.1.x is red's network");
        // What goes to the recorder is what changed since it last went, not the whole list.
        let mut seen = log.seen.lock().unwrap();
        assert_eq!(seen.take_changed().len(), MAX_FOREIGN);
        assert!(seen.take_changed().is_empty());
        drop(seen);
        let again = std::net::IpAddr::from(std::net::Ipv4Addr::from(0x7f0a_0000 + 256));
        log.note(again, 1, "plc-t101");
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
