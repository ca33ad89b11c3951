//! Contest flags: each team's PLCs carry its own flags, in their device identification and
//! in a hidden memory area; a submission is judged against every team's flags (another
//! team's flag scores nothing and is logged), at most `FLAG_LIMIT` submissions a team per
//! `FLAG_WINDOW`.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use icsdrill_engine::scenario::{Reserved, Text};
use icsdrill_engine::{Scenario, SimInput};
use sha2::Digest as _;

/// At most this many flag submissions per team per `FLAG_WINDOW`.
pub const FLAG_LIMIT: usize = 5;
/// The flag rate-limit window.
pub const FLAG_WINDOW: Duration = Duration::from_secs(60);
/// At most this many defender actions and reports (flag submissions included) per team per
/// `ACTION_WINDOW`: five a second on average, far more than people type, and few enough that
/// one team's script cannot fill the range's log and memory with its own inputs.
pub const ACTION_LIMIT: usize = 50;
/// The action rate-limit window.
pub const ACTION_WINDOW: Duration = Duration::from_secs(10);
/// The largest defender action or report, as JSON (a report's three texts of 10 000 bytes
/// fit); a larger one is refused before it reaches the range.
pub const MAX_ACTION_BYTES: usize = 32 << 10;

/// A contest challenge: a per-team flag hidden in one of the team's PLCs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Id (`identity:PLC`, `hidden:PLC`).
    pub id: String,
    /// The PLC carrying it, by index.
    pub plc: usize,
    /// Where in it.
    pub kind: ChallengeKind,
}

/// Where a challenge's flag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// In the PLC's device identification (FC 43/14 or FC 17): reconnaissance.
    Identity,
    /// In input registers at `addr`, a vendor area past the PLC's documented register map, in
    /// ASCII two characters a register (high byte first): found by scanning the address space,
    /// as hidden hazards in devices are (隐患挖掘).
    Hidden {
        /// First register.
        addr: u16,
    },
}

/// Registers the hidden area spans (the flag's 22 characters, the rest 0).
pub const HIDDEN_WORDS: u16 = 16;

/// A team's flag for a challenge: derived from the drill's secret, so it differs per team and
/// cannot be guessed from another team's.
pub fn flag(secret: &str, team: &str, challenge: &str) -> String {
    let h = sha2::Sha256::digest(format!("{secret}/{team}/{challenge}").as_bytes());
    format!("flag{{{}}}", icsdrill_engine::hex(&h[..8]))
}

/// The challenges of a scenario: the identification of its first two PLCs, and a hidden area
/// in the first one's input registers, at the first multiple of 256 past its mapped ones
/// with a free multiple of 256 between (a read of its documented registers never reaches it).
pub fn challenges(scenario: &Scenario) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = scenario
        .plcs
        .iter()
        .take(2)
        .enumerate()
        .map(|(i, p)| Challenge { id: format!("identity:{}", p.id), plc: i, kind: ChallengeKind::Identity })
        .collect();
    if let Some(p) = scenario.plcs.first() {
        let used = p.table_len(icsdrill_engine::scenario::Table::InputRegisters);
        let addr = (used / 256 + 2) * 256;
        if let Ok(addr) = u16::try_from(addr)
            && addr.checked_add(HIDDEN_WORDS).is_some()
        {
            out.push(Challenge {
                id: format!("hidden:{}", p.id),
                plc: 0,
                kind: ChallengeKind::Hidden { addr },
            });
        }
    }
    out
}

/// `text` in registers, two characters each, high byte first, padded with 0 to `HIDDEN_WORDS`.
pub fn ascii_registers(text: &str) -> Vec<u16> {
    let mut words: Vec<u16> = text
        .as_bytes()
        .chunks(2)
        .map(|c| u16::from(c[0]) << 8 | u16::from(*c.get(1).unwrap_or(&0)))
        .collect();
    words.resize(usize::from(HIDDEN_WORDS).max(words.len()), 0);
    words
}

impl Challenge {
    /// As the consoles and the scoreboard show it.
    pub fn view(&self, scenario: &Scenario) -> crate::views::ChallengeView {
        let plc = &scenario.plcs[self.plc].id;
        let name = match self.kind {
            ChallengeKind::Identity => {
                Text::new(format!("device identity of {plc}"), format!("{plc} 设备标识"))
            }
            ChallengeKind::Hidden { .. } => {
                Text::new(format!("hidden memory of {plc}"), format!("{plc} 隐藏存储区"))
            }
        };
        crate::views::ChallengeView { id: self.id.clone(), title: self.title(scenario), name }
    }

    /// What a team is told of it, in English and Chinese.
    pub fn title(&self, scenario: &Scenario) -> Text {
        let plc = &scenario.plcs[self.plc];
        let (en, zh) = (&plc.name.en, &plc.name.zh);
        match self.kind {
            ChallengeKind::Identity => Text::new(
                format!("Device identity of {en} ({}): read what it says it is", plc.id),
                format!("{zh}（{}）设备标识：读取其自报的设备信息", plc.id),
            ),
            ChallengeKind::Hidden { .. } => Text::new(
                format!("Hidden memory of {en} ({}): past its documented register map", plc.id),
                format!("{zh}（{}）隐藏存储区：位于其寄存器文档范围之外", plc.id),
            ),
        }
    }
}

/// The scenario a team plays in a contest: its own flags appended to the revision string of
/// each identity challenge's PLC, and written into each hidden area.
pub fn with_flags(scenario: &Scenario, secret: &str, team: &str, challenges: &[Challenge]) -> Scenario {
    let mut s = scenario.clone();
    for c in challenges {
        let flag = flag(secret, team, &c.id);
        let plc = &mut s.plcs[c.plc];
        match c.kind {
            ChallengeKind::Identity => plc.device.revision = format!("{} {flag}", plc.device.revision),
            ChallengeKind::Hidden { addr } => plc.reserved.push(Reserved {
                table: icsdrill_engine::scenario::Table::InputRegisters,
                start: addr,
                count: u32::from(HIDDEN_WORDS),
                note: None,
                values: ascii_registers(&flag),
            }),
        }
    }
    s
}

/// A judged submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The challenge it solves, when it is one of the submitting team's own flags.
    pub challenge: Option<String>,
    /// The team whose flag it is, when it is another team's.
    pub owner: Option<String>,
}

impl Verdict {
    /// The input that records it in the team's log (the flag itself is not logged, only a
    /// digest).
    pub fn input(&self, submitted: &str) -> SimInput {
        SimInput::SubmitFlag {
            challenge: self.challenge.clone().unwrap_or_default(),
            valid: self.challenge.is_some(),
            owner: self.owner.clone().unwrap_or_default(),
            digest: icsdrill_engine::hex(&sha2::Sha256::digest(submitted.as_bytes())[..8]),
        }
    }

    /// What the team is told, in English and Chinese (`again`: it solved this one before, and
    /// scores nothing more for it).
    pub fn message(&self, again: bool) -> (&'static str, &'static str) {
        match (&self.challenge, &self.owner) {
            (Some(_), _) if again => {
                ("correct flag, solved already: no more points", "旗标正确，但本队此前已提交过：不再得分")
            }
            (Some(_), _) => ("correct flag", "旗标正确"),
            (None, Some(_)) => ("not your flag: no points (logged)", "不是本队的旗标：不得分（已记录）"),
            (None, None) => ("wrong flag", "旗标错误"),
        }
    }
}

/// Judges `submitted` (trimmed) from `team` against every team's flags.
pub fn judge(secret: &str, teams: &[&str], challenges: &[Challenge], team: &str, submitted: &str) -> Verdict {
    // Flags are lower-case hex: one typed in capitals is the same flag.
    let submitted = submitted.trim().to_ascii_lowercase();
    let mut v = Verdict { challenge: None, owner: None };
    for t in teams {
        for c in challenges {
            if flag(secret, t, &c.id) == submitted {
                if *t == team {
                    v.challenge = Some(c.id.clone());
                } else {
                    v.owner = Some((*t).to_string());
                }
            }
        }
    }
    v
}

/// A rate limit per team: each team's recent submission times (since any fixed epoch), at
/// most `limit` in any `window`.
#[derive(Debug)]
pub struct RateLimit {
    limit: usize,
    window: Duration,
    recent: BTreeMap<String, VecDeque<Duration>>,
}

impl RateLimit {
    /// Flag submissions: `FLAG_LIMIT` per `FLAG_WINDOW`.
    pub fn flags() -> RateLimit {
        RateLimit { limit: FLAG_LIMIT, window: FLAG_WINDOW, recent: BTreeMap::new() }
    }

    /// Defender actions and reports: `ACTION_LIMIT` per `ACTION_WINDOW`.
    pub fn actions() -> RateLimit {
        RateLimit { limit: ACTION_LIMIT, window: ACTION_WINDOW, recent: BTreeMap::new() }
    }

    /// Counts a submission by `team` at `now`; `Err(seconds to wait)` when over the limit
    /// (the submission is not counted then).
    pub fn take(&mut self, team: &str, now: Duration) -> Result<(), u64> {
        let q = self.recent.entry(team.to_string()).or_default();
        while q.front().is_some_and(|t| now.saturating_sub(*t) > self.window) {
            q.pop_front();
        }
        if q.len() >= self.limit {
            return Err(self.window.saturating_sub(now.saturating_sub(q[0])).as_secs().max(1));
        }
        q.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hidden_area_lies_past_the_documented_map_and_holds_the_teams_own_flag() {
        use icsdrill_engine::scenario::Table;
        let s =
            Scenario::from_yaml("t.yaml", include_str!("../../scenarios/library/petrochem-tank-farm.yaml"))
                .unwrap();
        let ch = challenges(&s);
        let ids: Vec<&str> = ch.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["identity:plc-t101", "identity:plc-r201", "hidden:plc-t101"]);
        let ChallengeKind::Hidden { addr } = ch[2].kind else { panic!("{ch:?}") };
        let used = s.plcs[0].table_len(Table::InputRegisters);
        assert!(usize::from(addr) >= used + 256 && addr % 256 == 0, "{addr} past {used}");
        let team = with_flags(&s, "k", "a", &ch);
        let plc = &team.plcs[0];
        let text: String = plc
            .preset(Table::InputRegisters, addr, HIDDEN_WORDS)
            .unwrap()
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .take_while(|b| *b != 0)
            .map(char::from)
            .collect();
        assert_eq!(text, flag("k", "a", "hidden:plc-t101"));
        assert_eq!(plc.preset(Table::InputRegisters, addr + 4, 2).map(<[u16]>::len), Some(2), "part of it");
        assert!(plc.preset(Table::InputRegisters, addr - 1, 2).is_none(), "from before it");
        assert!(plc.preset(Table::InputRegisters, addr + 8, HIDDEN_WORDS).is_none(), "past its end");
        assert!(plc.preset(Table::HoldingRegisters, addr, 1).is_none(), "another table");
        let start = usize::from(addr);
        // The base scenario has no such area, another team's has its own flag.
        assert!(s.plcs[0].table_len(Table::InputRegisters) < start);
        let b = with_flags(&s, "k", "b", &ch);
        assert_eq!(
            b.plcs[0].reserved.last().unwrap().values,
            ascii_registers(&flag("k", "b", "hidden:plc-t101"))
        );
        assert!(ch[2].title(&s).zh.contains("隐藏存储区") && ch[0].title(&s).en.contains("plc-t101"));
    }

    #[test]
    fn a_flag_scores_only_for_its_team_and_submissions_are_rate_limited() {
        let ch = vec![Challenge { id: "identity:p".into(), plc: 0, kind: ChallengeKind::Identity }];
        let a = flag("s", "a", "identity:p");
        assert_ne!(a, flag("s", "b", "identity:p"));
        assert_eq!(
            judge("s", &["a", "b"], &ch, "a", &format!(" {a} ")).challenge.as_deref(),
            Some("identity:p")
        );
        let stolen = judge("s", &["a", "b"], &ch, "b", &a);
        assert_eq!((stolen.challenge, stolen.owner.as_deref()), (None, Some("a")));
        assert_eq!(judge("s", &["a"], &ch, "a", "flag{0}").message(false).0, "wrong flag");
        let shouted = a.to_ascii_uppercase();
        assert_eq!(
            judge("s", &["a"], &ch, "a", &shouted).challenge.as_deref(),
            Some("identity:p"),
            "{shouted}"
        );
        let mut limit = RateLimit::flags();
        let at = |s: u64| Duration::from_secs(s);
        for i in 0..FLAG_LIMIT as u64 {
            assert!(limit.take("a", at(i)).is_ok());
        }
        assert_eq!(limit.take("a", at(10)), Err(50), "wait for the first to leave the window");
        assert!(limit.take("b", at(10)).is_ok(), "per team");
        assert!(limit.take("a", at(61)).is_ok(), "a minute on");
    }
}
