//! How many of a plan's steps can fire in one run: the number a team's detections count
//! against. Branches exclude each other (a step after another's success, one after its
//! failure), and so do defender checks no timing can satisfy together ("not isolated by 15
//! minutes" and "isolated by 10 minutes"); process conditions and times are taken as
//! reachable.

use super::{AttackPlan, Outcome, Step};

/// Steps in conflicts beyond which the most is not searched for (2^16 sets of them at most):
/// every step is counted then.
const MAX_SEARCHED: usize = 16;

/// What must hold for a step to fire.
#[derive(Debug, Clone, Default)]
struct Needs {
    /// Steps that must have ended so (`Succeeded` or `Failed`).
    outcomes: Vec<(usize, Outcome)>,
    /// Defender checks: the action kind, the deadline, done by it or not.
    defender: Vec<(String, u64, bool)>,
}

impl Needs {
    /// Whether no run can meet both.
    fn conflicts(&self, other: &Needs) -> bool {
        let outcomes =
            self.outcomes.iter().any(|(i, a)| other.outcomes.iter().any(|(j, b)| i == j && a != b));
        // Done by `t` rules out not done by any time `>= t`.
        let defender = self.defender.iter().any(|(k, t, done)| {
            other
                .defender
                .iter()
                .any(|(l, u, other_done)| k == l && done != other_done && if *done { t <= u } else { u <= t })
        });
        outcomes || defender
    }
}

impl AttackPlan {
    /// The most steps that can fire together in one run (every step when the plan's
    /// branches are too many to search).
    pub fn most_that_can_fire(&self) -> usize {
        let needs: Vec<Needs> = (0..self.steps.len()).map(|i| needs(&self.steps, i)).collect();
        let n = needs.len();
        let conflict = |i: usize, j: usize| needs[i].conflicts(&needs[j]);
        let torn: Vec<usize> = (0..n).filter(|&i| (0..n).any(|j| conflict(i, j))).collect();
        if torn.len() > MAX_SEARCHED {
            return n;
        }
        // Each torn step's conflicts among the torn, as a mask; then the largest set of torn
        // steps with no two in conflict. A step can conflict with itself (it can never fire),
        // and then is in no set.
        let masks: Vec<u32> = torn
            .iter()
            .map(|&a| (0..torn.len()).filter(|&b| conflict(a, torn[b])).fold(0, |m, b| m | 1 << b))
            .collect();
        let best = (0u32..1 << torn.len())
            .filter(|set| (0..torn.len()).all(|a| set & (1 << a) == 0 || set & masks[a] == 0))
            .map(u32::count_ones)
            .max()
            .unwrap_or(0);
        n - torn.len() + best as usize
    }
}

/// What step `i` needs: its own trigger's, and those of the steps it follows that must have
/// fired for it (a success means the step fired; an ending of a step that cannot expire
/// too), guarding against cycles.
fn needs(steps: &[Step], i: usize) -> Needs {
    let mut out = Needs::default();
    let mut seen = vec![false; steps.len()];
    let mut next = Some(i);
    while let Some(k) = next.filter(|&k| !std::mem::replace(&mut seen[k], true)) {
        let when = &steps[k].when;
        if let Some(d) = &when.defender {
            out.defender.push((d.action.clone(), d.by_tick, d.done));
        }
        next = None;
        if let Some((j, outcome)) = when.after.filter(|(j, _)| *j < steps.len()) {
            if outcome != Outcome::Completed {
                out.outcomes.push((j, outcome));
            }
            let fired = outcome == Outcome::Succeeded || steps[j].expire_tick.is_none();
            next = fired.then_some(j);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::{DefenderCheck, Trigger};

    fn step(after: Option<(usize, Outcome)>, defender: Option<(&str, u64, bool)>) -> Step {
        Step {
            id: String::new(),
            name: crate::scenario::Text { en: String::new(), zh: String::new() },
            techniques: Vec::new(),
            when: Trigger {
                at_tick: None,
                after,
                condition: None,
                defender: defender.map(|(a, t, done)| DefenderCheck { action: a.into(), by_tick: t, done }),
            },
            action: super::super::Action::Scan(Vec::new()),
            repeat: None,
            expire_tick: None,
        }
    }

    fn plan(steps: Vec<Step>) -> AttackPlan {
        AttackPlan { foothold: crate::scenario::HostIdx(0), address: String::new(), steps }
    }

    #[test]
    fn branches_on_one_steps_outcome_exclude_each_other_and_what_follows_them() {
        use Outcome::*;
        let p = plan(vec![
            step(None, None),
            step(Some((0, Succeeded)), None),
            step(Some((1, Completed)), None),
            step(Some((0, Failed)), None),
        ]);
        // Either 1 and 2 (0 succeeded) or 3 (0 failed).
        assert_eq!(p.most_that_can_fire(), 3);
    }

    #[test]
    fn defender_checks_exclude_each_other_only_when_no_timing_meets_both() {
        let p = plan(vec![
            step(None, Some(("isolate_host", 900, false))),
            step(None, Some(("isolate_host", 1800, true))),
        ]);
        assert_eq!(p.most_that_can_fire(), 2, "isolated between 900 and 1800: both");
        let p = plan(vec![
            step(None, Some(("isolate_host", 900, false))),
            step(None, Some(("isolate_host", 600, true))),
            step(None, Some(("block_source", 600, true))),
        ]);
        assert_eq!(p.most_that_can_fire(), 2, "isolated by 600 means isolated by 900");
    }

    #[test]
    fn a_step_after_an_expiring_steps_failure_needs_nothing_of_that_step() {
        use Outcome::*;
        let steps = |expire_tick| {
            let mut first = step(None, Some(("block_source", 100, true)));
            first.expire_tick = expire_tick;
            plan(vec![
                first,
                step(Some((0, Failed)), Some(("block_source", 100, false))),
                step(None, Some(("block_source", 100, false))),
            ])
        };
        // Step 0 may expire unfired, so step 1 needs nothing of it: 1 and 2 fire together.
        assert_eq!(steps(Some(50)).most_that_can_fire(), 2);
        // Without an expiry step 0 failed only by firing, blocked by 100, which step 1's own
        // check rules out: it never fires.
        assert_eq!(steps(None).most_that_can_fire(), 1);
    }
}
