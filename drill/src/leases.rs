//! Which node runs which team when one drill is spread over several nodes: pure rules over the
//! rows of a lease table, with time passed in. The table and each node's lease task that
//! acts on these rules are the drill server's (`icsdrill::drill::cluster`).
//!
//! A node holds a team while its lease is live; it renews its leases every `RENEW_MS`, and a
//! lease it stops renewing (the node died) expires after `LEASE_MS`, when the live nodes share
//! its teams. Each node aims at its fair share, the teams divided by the live nodes rounded up,
//! and starts looking for free teams at its own offset, so nodes claiming at once mostly want
//! different teams; the database's compare-and-set claim settles the rest. A node keeps what
//! it holds (a running team never moves while its node lives), so a node that joins later
//! takes only teams that come free.

/// How long a lease lasts unless renewed (a dead node's teams are served again after this).
pub const LEASE_MS: i64 = 4_000;
/// How often a node renews its leases (four tries within one lease).
pub const RENEW_MS: i64 = 1_000;

/// One row of the lease table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Team id.
    pub team: String,
    /// The node holding it.
    pub node: String,
    /// When it expires, in milliseconds of the shared clock (the database's).
    pub expires_ms: i64,
}

impl Lease {
    /// Whether it still holds at `now_ms`.
    pub fn live(&self, now_ms: i64) -> bool {
        self.expires_ms > now_ms
    }
}

/// The nodes alive, `me` among them, sorted and each once.
fn alive<'a>(nodes: &'a [String], me: &'a str) -> Vec<&'a str> {
    let mut alive: Vec<&str> = nodes.iter().map(String::as_str).chain([me]).collect();
    alive.sort_unstable();
    alive.dedup();
    alive
}

/// The teams node `me` should claim or renew at `now_ms`: those it holds, then free ones (never
/// leased, or expired) up to its fair share of `teams` among the `nodes` alive (it included),
/// looked for from its own offset in the team list. In the order of `teams`.
pub fn to_claim<'a>(
    teams: &'a [String],
    leases: &[Lease],
    nodes: &[String],
    me: &str,
    now_ms: i64,
) -> Vec<&'a str> {
    let holder =
        |team: &str| leases.iter().find(|l| l.team == team && l.live(now_ms)).map(|l| l.node.as_str());
    let alive = alive(nodes, me);
    let share = teams.len().div_ceil(alive.len());
    let mut mine: Vec<usize> = (0..teams.len()).filter(|&i| holder(&teams[i]) == Some(me)).collect();
    if !teams.is_empty() {
        let rank = alive.iter().position(|n| *n == me).unwrap_or(0);
        let start = rank * teams.len() / alive.len();
        for k in 0..teams.len() {
            if mine.len() >= share {
                break;
            }
            let i = (start + k) % teams.len();
            if holder(&teams[i]).is_none() {
                mine.push(i);
            }
        }
    }
    mine.sort_unstable();
    mine.into_iter().map(|i| teams[i].as_str()).collect()
}

/// The teams node `me` should hand back at `now_ms`: while the drill is still in its briefing
/// (nothing played yet, so a team moves at no cost), those it holds beyond its fair share, the
/// last in team order first, so a node that joins after the first one took everything gets
/// its share. Never once the drill has begun: a running team moves only when its node dies.
pub fn to_release<'a>(
    teams: &'a [String],
    leases: &[Lease],
    nodes: &[String],
    me: &str,
    now_ms: i64,
    briefing: bool,
) -> Vec<&'a str> {
    if !briefing || teams.is_empty() {
        return Vec::new();
    }
    let share = teams.len().div_ceil(alive(nodes, me).len());
    let mine: Vec<&str> = teams
        .iter()
        .map(String::as_str)
        .filter(|t| leases.iter().any(|l| l.team == *t && l.node == me && l.live(now_ms)))
        .collect();
    mine[mine.len().min(share)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node claims in turn, each claim a compare-and-set on the table (as the database
    /// does it): a team goes to whoever claims it first while it is free.
    fn round(teams: &[String], leases: &mut Vec<Lease>, nodes: &[String], now: i64) {
        for me in nodes {
            for team in to_claim(teams, leases, nodes, me, now) {
                match leases.iter_mut().find(|l| l.team == team) {
                    Some(l) if l.live(now) && l.node != *me => {}
                    Some(l) => *l = Lease { team: team.into(), node: me.clone(), expires_ms: now + LEASE_MS },
                    None => {
                        leases.push(Lease { team: team.into(), node: me.clone(), expires_ms: now + LEASE_MS })
                    }
                }
            }
        }
    }

    fn held(leases: &[Lease], node: &str, now: i64) -> usize {
        leases.iter().filter(|l| l.node == node && l.live(now)).count()
    }

    #[test]
    fn thirty_teams_spread_over_three_nodes_and_a_dead_nodes_teams_are_taken_over() {
        let teams: Vec<String> = (0..30).map(|i| format!("t{i:02}")).collect();
        let nodes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let mut leases = Vec::new();
        round(&teams, &mut leases, &nodes, 0);
        assert_eq!(leases.len(), 30, "every team is served");
        for n in &nodes {
            assert_eq!(held(&leases, n, 0), 10, "{n}: {leases:?}");
        }
        // Renewals keep every team where it is.
        let before = leases.clone();
        round(&teams, &mut leases, &nodes, RENEW_MS);
        assert!(leases.iter().zip(&before).all(|(a, b)| a.node == b.node && a.expires_ms > b.expires_ms));
        // `c` dies: it renews no more. Until its leases expire nobody takes its teams.
        let survivors = &nodes[..2];
        let mut now = 2 * RENEW_MS;
        round(&teams, &mut leases, survivors, now);
        assert_eq!(held(&leases, "c", now), 10, "a live lease is never taken");
        // Once they expire, the survivors share them, within one renewal period.
        now = RENEW_MS + LEASE_MS + 1;
        round(&teams, &mut leases, survivors, now);
        assert_eq!(held(&leases, "a", now) + held(&leases, "b", now), 30, "{leases:?}");
        assert_eq!((held(&leases, "a", now), held(&leases, "b", now)), (15, 15));
    }

    #[test]
    fn a_node_claims_nothing_of_a_full_table_and_a_lone_node_takes_all() {
        let teams: Vec<String> = (0..4).map(|i| format!("t{i}")).collect();
        let taken: Vec<Lease> =
            teams.iter().map(|t| Lease { team: t.clone(), node: "a".into(), expires_ms: 100 }).collect();
        let nodes = ["a".to_string(), "b".to_string()];
        assert!(to_claim(&teams, &taken, &nodes, "b", 50).is_empty());
        assert_eq!(to_claim(&teams, &taken, &nodes, "a", 50).len(), 4, "its own are renewed");
        assert_eq!(to_claim(&teams, &[], &[], "solo", 0), ["t0", "t1", "t2", "t3"]);
        assert!(to_claim(&[], &[], &nodes, "a", 0).is_empty());
    }

    #[test]
    fn in_the_briefing_a_node_hands_back_what_is_over_its_share_and_never_after() {
        let teams: Vec<String> = (0..30).map(|i| format!("t{i:02}")).collect();
        let mut leases = Vec::new();
        // `a` came first and took everything.
        round(&teams, &mut leases, &["a".to_string()], 0);
        assert_eq!(held(&leases, "a", 0), 30);
        let nodes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert!(to_release(&teams, &leases, &nodes, "a", 10, false).is_empty(), "never once begun");
        let back = to_release(&teams, &leases, &nodes, "a", 10, true);
        assert_eq!(back.len(), 20);
        assert_eq!(back[0], "t10", "the last in team order go");
        leases.retain(|l| !back.contains(&l.team.as_str()));
        round(&teams, &mut leases, &nodes, 20);
        for n in &nodes {
            assert_eq!(held(&leases, n, 20), 10, "{n}");
            assert!(to_release(&teams, &leases, &nodes, n, 20, true).is_empty());
        }
    }
}
