//! What the white cell sees (`Overview`): every team this node runs with true values next to
//! measured ones, where the other nodes' teams run, the attack timeline and its progress, and
//! the refused cross-team connections.

use icsdrill_engine::scenario::Text;
use icsdrill_engine::{Scenario, Snapshot};
use icsdrill_judge::score::ScoreCard;
use serde::Serialize;

use crate::track::{InjectRec, StepProgress, Track};
use crate::views::{HintView, hint_views};
use crate::vocab::{Mode, Phase, TeamInfo};

/// A process variable's true value next to what its sensor measures (instructors only).
#[derive(Debug, Clone, Serialize)]
pub struct ValueView {
    /// Variable id.
    pub id: String,
    /// Name.
    pub name: Text,
    /// Unit.
    pub unit: String,
    /// True value.
    #[serde(rename = "true")]
    pub truth: f64,
    /// Measured value, where a sensor measures it.
    pub measured: Option<f64>,
    /// What the team's operator screen shows for it: the value its PLC reports (spoofing
    /// shows), a frozen screen's, or none when the screen shows nothing of it (the station
    /// lost it, a blank screen, no sensor).
    pub shown: Option<f64>,
}

/// A team as the white cell sees it.
#[derive(Debug, Clone, Serialize)]
pub struct OverviewTeam {
    /// Team id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Ticks run.
    pub tick: u64,
    /// Simulated seconds.
    pub simulated_s: f64,
    /// Score card.
    pub score: ScoreCard,
    /// Attack progress.
    pub steps: Vec<StepProgress>,
    /// Interlock trips.
    pub trips: usize,
    /// Damage events.
    pub damage: usize,
    /// The host the attacker acts from now.
    pub attacker_host: Option<String>,
    /// The scenario's hints, texts included, and which the team took or was given.
    pub hints: Vec<HintView>,
    /// The white cell's messages to it so far (ticks at `tick_hz`).
    pub injects: Vec<InjectRec>,
    /// Ticks per simulated second.
    pub tick_hz: u32,
    /// True and measured values.
    pub values: Vec<ValueView>,
    /// The PLCs its operator stations cannot read now (`views::operator_reads`): what its
    /// console shows as a communication failure.
    pub comms_lost: Vec<String>,
    /// A contest's flag submissions, whose and when.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<crate::track::FlagRec>,
}

impl OverviewTeam {
    /// The white cell's view of a team's range.
    pub fn build(
        s: &Scenario,
        snap: &Snapshot,
        team: &TeamInfo,
        track: &Track,
        card: &ScoreCard,
    ) -> OverviewTeam {
        let shown = crate::station::shown_values(s, snap, &crate::station::sensor_sources(s));
        // The first sensor of each variable, found in one pass (not a search a variable).
        let mut first_sensor: Vec<Option<usize>> = vec![None; s.vars.len()];
        for (k, d) in s.sensors.iter().enumerate() {
            if let Some(slot) = first_sensor.get_mut(d.var.ix()) {
                slot.get_or_insert(k);
            }
        }
        let sensor_of = |i: usize| first_sensor[i];
        OverviewTeam {
            id: team.id.clone(),
            name: team.name.clone(),
            tick: snap.tick,
            simulated_s: snap.tick as f64 / f64::from(s.tick_hz),
            score: card.clone(),
            steps: track.steps.clone(),
            trips: track.trips,
            damage: track.damage,
            attacker_host: snap.attacker_host.map(|h| s.hosts[h.ix()].id.clone()),
            hints: hint_views(s, &track.hints, true),
            injects: track.injects.clone(),
            tick_hz: s.tick_hz,
            values: s
                .vars
                .iter()
                .enumerate()
                .map(|(i, v)| ValueView {
                    id: v.id.clone(),
                    name: v.name.clone(),
                    unit: v.unit.clone(),
                    truth: snap.vars[i],
                    measured: sensor_of(i).map(|k| snap.field.sensors[k]),
                    shown: sensor_of(i).and_then(|k| shown[k]),
                })
                .collect(),
            comms_lost: crate::views::operator_reads(s, snap)
                .iter()
                .zip(&s.plcs)
                .filter(|(reads, _)| !**reads)
                .map(|(_, p)| p.id.clone())
                .collect(),
            flags: track.flags.clone(),
        }
    }
}

/// An attack step in the white cell's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    /// Step id.
    pub id: String,
    /// Name.
    pub name: Text,
    /// Techniques (v19 ids).
    pub techniques: Vec<&'static str>,
}

/// Connections refused because they came from an address a range does not serve (another
/// team's, or nobody's): recorded for the white cell, never in a team's own log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignAttempt {
    /// Client address.
    pub address: String,
    /// The team whose networks hold the address, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_team: Option<String>,
    /// The team whose range it tried.
    pub team: String,
    /// The PLCs it tried, `, `-separated in the order first tried (at most eight named, then
    /// `…`).
    pub plc: String,
    /// Attempts.
    pub count: u64,
    /// Unix milliseconds of the first and the last attempt.
    pub first_ms: i64,
    /// See `first_ms`.
    pub last_ms: i64,
}

/// The refused cross-team connections.
#[derive(Debug, Clone, Serialize)]
pub struct CrossTeam {
    /// By address and team tried.
    pub attempts: Vec<ForeignAttempt>,
    /// Attempts beyond the kept list.
    pub uncounted: u64,
}

/// What the white cell sees: every team with true values, the attack timeline, cross-team
/// attempts.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// Drill phase.
    pub phase: Phase,
    /// The controls that apply in it.
    pub controls: Vec<crate::vocab::Control>,
    /// Mode.
    pub mode: Mode,
    /// The drill's database refuses writes now.
    pub records_failing: bool,
    /// Refused cross-team connections.
    pub cross_team: CrossTeam,
    /// The attack's steps, when there is an attack.
    pub attack: Option<Vec<StepView>>,
    /// The rest of the white cell's script: physical faults and distractors, and the plant's
    /// own routine work (which the teams' monitoring may flag), with the instructors' notes.
    pub script: Vec<ScriptLine>,
    /// Teams (on a node of a drill over several nodes, those this node runs).
    pub teams: Vec<OverviewTeam>,
    /// The teams other nodes of the drill run, and where: their full view is on that node.
    pub elsewhere: Vec<TeamElsewhere>,
}

/// One line of the white cell's script besides the attack.
#[derive(Debug, Clone, Serialize)]
pub struct ScriptLine {
    /// When, in simulated seconds from the start.
    pub at_s: f64,
    /// `fault` (a physical fault or distractor) or `work` (an operator's or engineer's
    /// legitimate action).
    pub kind: &'static str,
    /// The fault's id, or the host the work is done from.
    pub who: String,
    /// What it is (the input's kind for work: `write_registers`, ...; empty for a fault).
    pub what: String,
    /// The instructors' note, if the scenario has one.
    pub note: Option<Text>,
}

/// A team another node of the drill runs.
#[derive(Debug, Clone, Serialize)]
pub struct TeamElsewhere {
    /// Team id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The node.
    pub node: String,
    /// Its web view.
    pub http: String,
    /// The team's total as last recorded.
    pub total: f64,
    /// The scenario's hints, texts included, and which the team took as last recorded (the
    /// white cell reveals one from here: the input is queued for that node).
    pub hints: Vec<HintView>,
}

impl Overview {
    /// The white cell's script besides the attack, in time order: what comes before the
    /// drill's end (`end_s`, when it has one).
    pub fn script(s: &Scenario, end_s: Option<f64>) -> Vec<ScriptLine> {
        let hz = f64::from(s.tick_hz);
        let faults = s.faults.iter().map(|f| ScriptLine {
            at_s: f.start_tick as f64 / hz,
            kind: "fault",
            who: f.id.clone(),
            what: String::new(),
            note: f.note.clone(),
        });
        let work = s.background.iter().map(|b| ScriptLine {
            at_s: b.tick as f64 / hz,
            kind: "work",
            who: b.input.source().unwrap_or_default().to_string(),
            // The input's `kind` tag, as the inputs file spells it.
            what: serde_json::to_value(&b.input)
                .ok()
                .and_then(|v| v["kind"].as_str().map(str::to_string))
                .unwrap_or_default(),
            note: b.note.clone(),
        });
        let mut out: Vec<ScriptLine> =
            faults.chain(work).filter(|l| end_s.is_none_or(|e| l.at_s < e)).collect();
        out.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        out
    }

    /// The attack timeline of a scenario.
    pub fn attack(s: &Scenario) -> Option<Vec<StepView>> {
        s.attack.as_ref().map(|p| {
            p.steps
                .iter()
                .map(|st| StepView {
                    id: st.id.clone(),
                    name: st.name.clone(),
                    techniques: st.techniques.iter().map(|t| t.v19).collect(),
                })
                .collect()
        })
    }
}
