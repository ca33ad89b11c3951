//! A drill's teams as given: how many, their ids, names and contest brackets.

use icsdrill_drill::TeamInfo;
use icsdrill_drill::vocab::{valid_team_id, valid_team_name};

use super::MAX_TEAMS;
use crate::Result;
use crate::error::bail_invalid;

/// Teams: at least one, at most `MAX_TEAMS`, valid and distinct ids; a new drill's brackets
/// as `check_brackets` wants them (a recorded drill resumes with the teams it has).
pub(super) fn check_teams(teams: &[TeamInfo], new: bool) -> Result<()> {
    if teams.is_empty() {
        bail_invalid!("a drill needs at least one team");
    }
    if teams.len() > MAX_TEAMS {
        bail_invalid!("at most {MAX_TEAMS} teams per drill, got {}", teams.len());
    }
    for (i, t) in teams.iter().enumerate() {
        if !valid_team_id(&t.id) {
            bail_invalid!("team id `{}` must be 1-32 letters, digits, `-` or `_`", t.id.escape_debug());
        }
        if let Some(u) = teams[..i].iter().find(|u| u.id.eq_ignore_ascii_case(&t.id)) {
            if u.id == t.id {
                bail_invalid!("team `{}` is listed twice", t.id);
            }
            bail_invalid!(
                "team `{}` is listed twice (as `{}`: team ids are the same whatever their case)",
                t.id,
                u.id
            );
        }
        if !valid_team_name(&t.name) {
            bail_invalid!(
                "team `{}`'s name {:?} must be 1-64 characters, with no control or text-direction characters",
                t.id,
                t.name.chars().take(80).collect::<String>()
            );
        }
        if let Some(b) = &t.bracket
            && !valid_team_name(b)
        {
            bail_invalid!(
                "team `{}`'s bracket {:?} must be 1-64 characters, with no control or text-direction characters",
                t.id,
                b.chars().take(80).collect::<String>()
            );
        }
    }
    if new { check_brackets(teams) } else { Ok(()) }
}

/// Brackets: every team in one when any is (a team in none is ranked in none, and looks last
/// of nothing), and no two that differ only in case (`Pro` and `pro` would rank apart).
fn check_brackets(teams: &[TeamInfo]) -> Result<()> {
    let Some(placed) = teams.iter().find(|t| t.bracket.is_some()) else { return Ok(()) };
    if let Some(t) = teams.iter().find(|t| t.bracket.is_none()) {
        bail_invalid!(
            "team `{}` is in no bracket while `{}` is: give every team one (`{}:BRACKET`)",
            t.id,
            placed.id,
            t.id
        );
    }
    let brackets: Vec<&str> = teams.iter().filter_map(|t| t.bracket.as_deref()).collect();
    for (i, b) in brackets.iter().enumerate() {
        if let Some(c) = brackets[..i].iter().find(|c| *c != b && c.eq_ignore_ascii_case(b)) {
            bail_invalid!("brackets `{c}` and `{b}` differ only in case: name each bracket one way");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drill_takes_up_to_max_teams_and_refuses_one_more() {
        let teams = |n: usize| -> Vec<TeamInfo> {
            (0..n)
                .map(|i| TeamInfo { id: format!("team-{i}"), name: format!("Team {i}"), bracket: None })
                .collect()
        };
        assert!(check_teams(&teams(MAX_TEAMS), true).is_ok());
        let e = check_teams(&teams(MAX_TEAMS + 1), true).unwrap_err().to_string();
        assert!(e.contains(&format!("at most {MAX_TEAMS} teams")), "{e}");
        assert!(check_teams(&teams(0), true).is_err());
    }

    #[test]
    fn a_new_contest_puts_every_team_in_a_bracket_named_one_way() {
        let team = |id: &str, bracket: Option<&str>| TeamInfo {
            id: id.into(),
            name: id.into(),
            bracket: bracket.map(Into::into),
        };
        let partial = [team("a", Some("pro")), team("b", None)];
        let e = check_teams(&partial, true).unwrap_err().to_string();
        assert!(e.contains("team `b` is in no bracket"), "{e}");
        // A recorded drill resumes with the teams it has.
        assert!(check_teams(&partial, false).is_ok());
        let cased = [team("a", Some("Pro")), team("b", Some("pro"))];
        assert!(check_teams(&cased, true).unwrap_err().to_string().contains("differ only in case"));
        assert!(check_teams(&[team("a", Some(""))], true).is_err(), "an empty bracket");
        assert!(check_teams(&[team("a", Some("pro")), team("b", Some("student"))], true).is_ok());
    }
}
