//! What a team's log shows its console besides the score: its defender actions, the white
//! cell's messages, hints taken, and (for instructors) the attack's progress, read event by
//! event like the scorer.

use icsdrill_engine::input::InjectChannel;
use icsdrill_engine::{EventKind, RejectReason, Scenario, SimEvent, SimInput};
use serde::Serialize;

/// An action the team took, as its console lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRec {
    /// Tick applied (or refused).
    pub tick: u64,
    /// Defender action kind.
    pub kind: &'static str,
    /// Applied.
    pub ok: bool,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The same in words, in both languages (what the console says).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<icsdrill_engine::scenario::Text>,
    /// What it acted on (`c-sup-ctl / hist-01`): two blocks on two conduits read the same.
    pub target: String,
    /// A restored reading forged again, and when: the restore "applied" while the attacker,
    /// still holding its foothold, froze the reading again at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undone_tick: Option<u64>,
}

/// What a defender action acts on: its conduit, PLC, host, actuator, sensor, alarm, hazard or
/// addressee, in that order, as the input names them.
fn target_of(input: &SimInput) -> String {
    const FIELDS: [&str; 8] = ["conduit", "plc", "host", "actuator", "sensor", "alarm", "id", "to"];
    // Tagged by `kind`: its fields beside it.
    let value = serde_json::to_value(input).unwrap_or_default();
    let Some(fields) = value.as_object() else { return String::new() };
    FIELDS.iter().filter_map(|f| fields.get(*f).and_then(|v| v.as_str())).collect::<Vec<_>>().join(" / ")
}

/// An inject the team received.
#[derive(Debug, Clone, Serialize)]
pub struct InjectRec {
    /// Tick received.
    pub tick: u64,
    /// Message or phone call.
    pub channel: InjectChannel,
    /// What it says.
    pub text: String,
}

/// An attack step's progress in one range (instructors only).
#[derive(Debug, Clone, Serialize)]
pub struct StepProgress {
    /// Step id.
    pub id: String,
    /// `pending`, `active`, an outcome or `expired`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Whether one succeeded.
    pub succeeded: bool,
}

/// Defender actions a track lists at most (the latest): a team sending actions without end
/// costs its hook, which copies the track when it changes, a bounded copy. Its views show the
/// last few; the whole list is in its log and its report.
pub const MAX_TRACKED_ACTIONS: usize = 256;

/// What the hook keeps of a range's log beyond the score.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Track {
    /// The latest defender actions (at most twice `MAX_TRACKED_ACTIONS`).
    pub actions: Vec<ActionRec>,
    /// Messages and calls from the white cell.
    pub injects: Vec<InjectRec>,
    /// Hints taken, by id.
    pub hints: Vec<String>,
    /// Attack steps (instructors only).
    pub steps: Vec<StepProgress>,
    /// Interlock trips.
    pub trips: usize,
    /// Damage events.
    pub damage: usize,
    /// A contest's flag submissions (the white cell's: whose flag a team sent is a sign of one
    /// team reaching another's range, or being handed its flags), the latest at most twice
    /// `MAX_TRACKED_ACTIONS`.
    pub flags: Vec<FlagRec>,
}

/// A flag submission as the white cell sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagRec {
    /// Tick it was judged at.
    pub tick: u64,
    /// The challenge it solved (the team's own flag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// The team whose flag it was, when another team's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl Track {
    /// Reads one event; true when something shown changed.
    pub fn push(&mut self, e: &SimEvent) -> bool {
        match &e.kind {
            EventKind::InputApplied { input } | EventKind::InputRejected { input, .. } => {
                let rejected = match &e.kind {
                    EventKind::InputRejected { reason, .. } => Some(*reason),
                    _ => None,
                };
                let (reason, why) = (rejected.map(reason_name), rejected.map(RejectReason::words));
                let ok = reason.is_none();
                match input {
                    SimInput::Inject {
                        channel: c @ (InjectChannel::Message | InjectChannel::Phone),
                        text,
                        ..
                    } => {
                        self.injects.push(InjectRec { tick: e.tick, channel: *c, text: text.clone() });
                    }
                    SimInput::RevealHint { hint, .. } if ok && !self.hints.contains(hint) => {
                        self.hints.push(hint.clone())
                    }
                    SimInput::SubmitFlag { challenge, valid, owner, .. } => {
                        let some = |s: &String| (!s.is_empty()).then(|| s.clone());
                        let challenge = if *valid { some(challenge) } else { None };
                        self.flags.push(FlagRec { tick: e.tick, challenge, owner: some(owner) });
                        if self.flags.len() > 2 * MAX_TRACKED_ACTIONS {
                            self.flags.drain(..MAX_TRACKED_ACTIONS);
                        }
                    }
                    other => match other.defender_kind() {
                        Some(kind) => {
                            let target = target_of(other);
                            let undone_tick = None;
                            self.actions.push(ActionRec {
                                tick: e.tick,
                                kind,
                                ok,
                                reason,
                                why,
                                target,
                                undone_tick,
                            });
                            if self.actions.len() > 2 * MAX_TRACKED_ACTIONS {
                                self.actions.drain(..MAX_TRACKED_ACTIONS);
                            }
                        }
                        None => return false,
                    },
                }
                true
            }
            EventKind::AttackAttempt { step, ok, .. } => {
                if let Some(s) = self.steps.iter_mut().find(|s| s.id == *step) {
                    s.attempts += 1;
                    s.succeeded |= ok;
                    s.status = "active".into();
                }
                true
            }
            EventKind::AttackStepEnded { step, outcome, expired } => {
                if let Some(s) = self.steps.iter_mut().find(|s| s.id == *step) {
                    s.status = if *expired { "expired".into() } else { crate::vocab::name_of(outcome) };
                }
                true
            }
            EventKind::InterlockTripped { .. } => {
                self.trips += 1;
                true
            }
            EventKind::SensorForged { sensor, .. } => {
                let restored = self
                    .actions
                    .iter_mut()
                    .rev()
                    .find(|a| a.kind == "restore_sensor" && a.ok && a.target == *sensor);
                match restored.filter(|a| a.undone_tick.is_none()) {
                    Some(a) => a.undone_tick = Some(e.tick),
                    None => return false,
                }
                true
            }
            EventKind::Damage { .. } => {
                self.damage += 1;
                true
            }
            _ => false,
        }
    }
}

impl Track {
    /// An empty track with the scenario's attack steps pending.
    pub fn for_scenario(scenario: &Scenario) -> Track {
        Track {
            steps: scenario
                .attack
                .iter()
                .flat_map(|p| &p.steps)
                .map(|s| StepProgress {
                    id: s.id.clone(),
                    status: "pending".into(),
                    attempts: 0,
                    succeeded: false,
                })
                .collect(),
            ..Track::default()
        }
    }
}

/// A refusal's name, as the log spells it (`source_not_allowed`).
pub fn reason_name(r: RejectReason) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{r:?}"))
}

/// Whether a team's console may show an event: its traffic, its PLCs' alarms, modes and
/// trips, its own actions, hints and the white cell's messages. Never true values or the
/// attacker's internals.
pub fn visible_to_team(e: &SimEvent) -> bool {
    match &e.kind {
        traffic if traffic.is_traffic() => true,
        EventKind::ListenOnlyChanged { .. }
        | EventKind::ModeChanged { .. }
        | EventKind::AlarmRaised { .. }
        | EventKind::AlarmCleared { .. }
        | EventKind::InterlockTripped { .. }
        | EventKind::InterlockDefeated { .. }
        | EventKind::InterlockBypass { .. }
        | EventKind::InterlockReset { .. }
        | EventKind::IdsAlert { .. }
        | EventKind::ProgramChanged { .. }
        | EventKind::CommsFlooded { .. }
        | EventKind::PlcRestarted { .. }
        | EventKind::AlarmAcknowledged { .. }
        | EventKind::IncidentReported(_) => true,
        EventKind::InputApplied { input } | EventKind::InputRejected { input, .. } => {
            input.defender_kind().is_some()
                || matches!(input, SimInput::RevealHint { .. })
                || matches!(
                    input,
                    SimInput::Inject { channel: InjectChannel::Message | InjectChannel::Phone, .. }
                )
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_action_says_what_it_acted_on() {
        let block = SimInput::BlockSource { conduit: "c-sup-ctl".into(), host: "hist-01".into() };
        assert_eq!(super::target_of(&block), "c-sup-ctl / hist-01");
        assert_eq!(super::target_of(&SimInput::RestartPlc { plc: "plc-t101".into() }), "plc-t101");
    }

    use super::*;

    #[test]
    fn a_track_keeps_each_flag_sent_whose_it_was_and_what_it_solved() {
        let sent = |tick, challenge: &str, valid, owner: &str| SimEvent {
            seq: tick,
            tick,
            kind: EventKind::InputApplied {
                input: SimInput::SubmitFlag {
                    challenge: challenge.into(),
                    valid,
                    owner: owner.into(),
                    digest: "00".into(),
                },
            },
        };
        let mut t = Track::default();
        for e in [sent(5, "hidden:p", true, ""), sent(7, "", false, "blue"), sent(9, "", false, "")] {
            assert!(t.push(&e), "a flag sent changes what the white cell sees");
        }
        let want = |tick, challenge: Option<&str>, owner: Option<&str>| FlagRec {
            tick,
            challenge: challenge.map(Into::into),
            owner: owner.map(Into::into),
        };
        assert_eq!(
            t.flags,
            [want(5, Some("hidden:p"), None), want(7, None, Some("blue")), want(9, None, None)]
        );
    }

    #[test]
    fn a_track_lists_a_bounded_number_of_the_latest_actions() {
        let mut t = Track::default();
        let n = 10 * MAX_TRACKED_ACTIONS as u64;
        for tick in 0..n {
            let input = SimInput::RestoreHost { host: "hmi-01".into() };
            assert!(t.push(&SimEvent { seq: tick, tick, kind: EventKind::InputApplied { input } }));
            assert!(t.actions.len() <= 2 * MAX_TRACKED_ACTIONS);
        }
        assert!(t.actions.len() >= MAX_TRACKED_ACTIONS);
        assert_eq!(t.actions.last().map(|a| (a.tick, a.kind)), Some((n - 1, "restore_host")));
        assert!(t.actions.windows(2).all(|w| w[0].tick + 1 == w[1].tick), "the latest, in order");
    }

    #[test]
    fn a_restored_reading_forged_again_says_so() {
        let mut t = Track::default();
        let forged = |tick, sensor: &str| SimEvent {
            seq: tick,
            tick,
            kind: EventKind::SensorForged { sensor: sensor.into(), replay: false },
        };
        assert!(!t.push(&forged(5, "lt101")), "nothing restored yet");
        let restore = SimInput::RestoreSensor { sensor: "lt101".into() };
        t.push(&SimEvent { seq: 10, tick: 10, kind: EventKind::InputApplied { input: restore } });
        assert!(!t.push(&forged(11, "lt102")), "another reading");
        assert!(t.push(&forged(12, "lt101")));
        assert!(!t.push(&forged(30, "lt101")), "said once");
        assert_eq!(t.actions[0].undone_tick, Some(12));
    }
}
