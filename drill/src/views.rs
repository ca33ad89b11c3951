//! Typed views of a drill: what the team console shows (`TeamView`), what the white cell sees
//! (`Overview`, built in `overview`), the final standings, and the answer to a flag. Each is built from the
//! scenario, a snapshot of the plant and what the team's hook published, so the building is
//! pure and the JSON shape is fixed by the types.

use icsdrill_engine::input::PlcMode;
use icsdrill_engine::scenario::{ActuatorIdx, Maintenance, Text};
use icsdrill_engine::snapshot::{Readings, Screen};
use icsdrill_engine::{Scenario, Snapshot};
use icsdrill_judge::score::ScoreCard;
use serde::Serialize;

pub use crate::overview::{
    CrossTeam, ForeignAttempt, Overview, OverviewTeam, StepView, TeamElsewhere, ValueView,
};
pub use crate::station::{hmi_value, operator_reads, sensor_sources, shown_values};
use crate::station::{moves, sensor_seen};
use crate::track::{ActionRec, InjectRec, Track};
use crate::vocab::{EndpointInfo, Phase, TeamInfo};

/// A PLC as the console shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PlcView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: Text,
    /// Operating mode.
    pub mode: PlcMode,
    /// In listen-only mode.
    pub listen_only: bool,
    /// Restarting.
    pub restarting: bool,
    /// The operator station reads it now (false: communication failure, as an HMI flags it:
    /// the PLC answers nothing, flooded, restarting or listen-only, or the station is
    /// isolated or its reads are refused on the conduit; the values it reports are not shown).
    pub comms: bool,
}

/// A sensor's value as the operator station reads it.
#[derive(Debug, Clone, Serialize)]
pub struct SensorView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: Text,
    /// Unit.
    pub unit: String,
    /// Value as read through its PLC (spoofing shows); absent when the operators lost view.
    pub value: Option<f64>,
}

/// A holding register (set point, alarm limit, tuning) as the operator station reads it, in
/// engineering units.
#[derive(Debug, Clone, Serialize)]
pub struct HoldingView {
    /// PLC id.
    pub plc: String,
    /// Register id.
    pub id: String,
    /// Name.
    pub name: Text,
    /// Unit.
    pub unit: String,
    /// Value; absent when the operators' view is not live.
    pub value: Option<f64>,
}

/// An actuator's position.
#[derive(Debug, Clone, Serialize)]
pub struct ActuatorView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: Text,
    /// Position 0..=1; absent when the operators lost view.
    pub position: Option<f64>,
    /// Switched to local at its field panel (the PLC no longer drives it).
    pub local: bool,
}

/// An alarm the operator station lists: active, or returned unacknowledged.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmView {
    /// Alarm id.
    pub id: String,
    /// PLC id.
    pub plc: String,
    /// Levels on (`lolo`, `lo`, `hi`, `hihi`); empty once it returned to normal.
    pub levels: Vec<&'static str>,
    /// Acknowledged.
    pub acked: bool,
    /// ISA-18.2 state: `unacked` (active, unacknowledged), `acked` (active, acknowledged) or
    /// `returned` (back to normal, still unacknowledged).
    pub state: &'static str,
    /// Simulated second it last came on.
    pub since_s: f64,
    /// Priority as ISA-18.2 lists it: `high` for a high-high or low-low level, `medium` for
    /// another active level, `low` once returned to normal.
    pub priority: &'static str,
    /// The tag it watches as the plant names it (`LIT-101`, as the mimic shows it).
    pub tag: String,
    /// The sensor's id (what the console's faceplates and trends key on).
    pub sensor: String,
    /// What that is (its name without the tag).
    pub description: Text,
    /// The value the operator station shows for it.
    pub value: f64,
    /// Its unit.
    pub unit: String,
}

/// An alarm block of the plant.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmDef {
    /// Alarm id.
    pub id: String,
    /// PLC id.
    pub plc: String,
    /// The tag it watches and what that is (`LIT-101 T-101 level`): what a form lists it by.
    pub name: Text,
}

/// A conduit of the plant, named by the zones it joins (`Enterprise IT → Supervisory`).
#[derive(Debug, Clone, Serialize)]
pub struct ConduitView {
    /// Conduit id.
    pub id: String,
    /// The zone that opens its connections, an arrow, the zone that accepts them.
    pub name: Text,
}

/// An interlock and whether it has tripped.
#[derive(Debug, Clone, Serialize)]
pub struct InterlockView {
    /// Interlock id.
    pub id: String,
    /// PLC id.
    pub plc: String,
    /// Tripped; absent when the operators lost view.
    pub tripped: Option<bool>,
    /// Its bypass coil is set (the interlock will not trip); absent when the operator
    /// station does not show the plant as it is now.
    pub bypassed: Option<bool>,
}

/// A host and whether it is cut off.
#[derive(Debug, Clone, Serialize)]
pub struct HostView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: Text,
    /// Isolated by the team.
    pub isolated: bool,
}

/// A hint, its text shown once taken.
#[derive(Debug, Clone, Serialize)]
pub struct HintView {
    /// Id.
    pub id: String,
    /// Points it costs.
    pub cost: f64,
    /// Taken.
    pub taken: bool,
    /// Its text, when taken.
    pub text: Option<Text>,
}

/// The address a client binds to act as a host of the plant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostAddress {
    /// The host.
    pub host: String,
    /// Its address.
    pub address: core::net::IpAddr,
}

/// Which host each of a range's client addresses stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostAddresses {
    /// The hosts given an address.
    pub hosts: Vec<HostAddress>,
    /// The host every other address is (the engineering workstation).
    pub default: String,
}

/// Where a team's clients must connect from, and the commands that do.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectHint {
    /// The team's networks (CIDR).
    pub networks: Vec<String>,
    /// A client address in them (127.0.0.1 when it is one).
    pub source: Option<core::net::IpAddr>,
    /// A pymodbus client bound to it.
    pub pymodbus: String,
    /// An nmap scan from it.
    pub nmap: String,
    /// An mbpoll command, where the team's networks include 127.0.0.1 (mbpoll cannot choose
    /// its source address).
    pub mbpoll: Option<String>,
    /// The host `source` stands for.
    pub stands_for: Option<String>,
    /// The addresses in the team's networks that stand for other hosts: a client bound to
    /// one acts as that host (the conduits judge it so, captures show it so).
    pub hosts: Vec<HostAddress>,
}

impl ConnectHint {
    /// How a team connects from `nets` to the first of `endpoints`, and as which host
    /// (`hosts`).
    pub fn new(nets: &[ipnet::IpNet], endpoints: &[EndpointInfo], hosts: &HostAddresses) -> ConnectHint {
        let first = nets.iter().find_map(|n| match n {
            ipnet::IpNet::V4(v4) if v4.prefix_len() < 32 => v4.hosts().next().map(core::net::IpAddr::V4),
            ipnet::IpNet::V4(v4) => Some(core::net::IpAddr::V4(v4.addr())),
            ipnet::IpNet::V6(v6) => Some(core::net::IpAddr::V6(v6.addr())),
        });
        let local = core::net::IpAddr::from([127, 0, 0, 1]);
        let source = if nets.iter().any(|n| n.contains(&local)) { Some(local) } else { first };
        let (host, port) = endpoints.first().map_or(("127.0.0.1", 502), |e| (e.address.as_str(), e.port));
        let from = source.map(|a| a.to_string()).unwrap_or_default();
        let stands_for = source.map(|a| {
            hosts
                .hosts
                .iter()
                .find(|h| h.address == a)
                .map_or_else(|| hosts.default.clone(), |h| h.host.clone())
        });
        ConnectHint {
            networks: nets.iter().map(ToString::to_string).collect(),
            source,
            pymodbus: format!("ModbusTcpClient(\"{host}\", port={port}, source_address=(\"{from}\", 0))"),
            // `+`: modbus-discover runs on any port (by itself only on 502).
            nmap: format!("nmap -Pn -S {from} -e lo -p {port} --script +modbus-discover {host}"),
            mbpoll: (source == Some(local))
                .then(|| format!("mbpoll -m tcp -a 1 -0 -1 -t 4 -r 0 -c 5 -p {port} {host}")),
            hosts: hosts
                .hosts
                .iter()
                .filter(|h| {
                    Some(&h.host) != stands_for.as_ref() && nets.iter().any(|n| n.contains(&h.address))
                })
                .cloned()
                .collect(),
            stands_for,
        }
    }
}

/// What a team console shows: values as the HMI reads them, alarms, its endpoints and
/// networks, hints, messages, its actions and score. No true values, no attack internals.
#[derive(Debug, Clone, Serialize)]
pub struct TeamView {
    /// The team.
    pub team: TeamInfo,
    /// Drill phase.
    pub phase: Phase,
    /// Ticks run.
    pub tick: u64,
    /// What the operators' displays show (values, alarms and trips are what they show).
    pub view: ViewState,
    /// Ticks per simulated second.
    pub tick_hz: u32,
    /// Simulated seconds.
    pub simulated_s: f64,
    /// PLCs.
    pub plcs: Vec<PlcView>,
    /// Sensors.
    pub sensors: Vec<SensorView>,
    /// Actuators.
    pub actuators: Vec<ActuatorView>,
    /// Active alarms, and returned ones not yet acknowledged.
    pub alarms: Vec<AlarmView>,
    /// Holding registers (set points, alarm limits) as the HMI reads them.
    pub holding: Vec<HoldingView>,
    /// Every alarm block.
    pub alarm_defs: Vec<AlarmDef>,
    /// Interlocks.
    pub interlocks: Vec<InterlockView>,
    /// Conduits.
    pub conduits: Vec<ConduitView>,
    /// Hosts.
    pub hosts: Vec<HostView>,
    /// Endpoints.
    pub endpoints: Vec<EndpointInfo>,
    /// Where its clients connect from.
    pub clients: ConnectHint,
    /// The drill's database refuses writes now.
    pub records_failing: bool,
    /// Hints.
    pub hints: Vec<HintView>,
    /// Scheduled maintenance windows (permits to work): legitimate work the monitoring may
    /// flag.
    pub maintenance: Vec<Maintenance>,
    /// Messages from the white cell.
    pub injects: Vec<InjectRec>,
    /// Its defender actions.
    pub actions: Vec<ActionRec>,
    /// Its score.
    pub score: ScoreCard,
    /// The web views of the drill's other live nodes (a drill over several nodes): where the
    /// console looks for the team when this node stops answering.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// A contest's challenges, what each asks (the card's `solved` says which are done).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub challenges: Vec<ChallengeView>,
}

/// A contest challenge as a team console lists it and the scoreboard names it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ChallengeView {
    /// Id (`identity:PLC`, `hidden:PLC`): what `solved` and `first_bloods` name.
    pub id: String,
    /// What it asks.
    pub title: Text,
    /// Its short name (a first blood's tooltip).
    pub name: Text,
}

/// What a team view is built from besides the scenario and the snapshot.
#[derive(Debug, Clone)]
pub struct TeamParts<'a> {
    /// The team.
    pub team: &'a TeamInfo,
    /// Drill phase.
    pub phase: Phase,
    /// Its endpoints.
    pub endpoints: &'a [EndpointInfo],
    /// Its client networks.
    pub clients: &'a [ipnet::IpNet],
    /// Which host its client addresses stand for.
    pub hosts: &'a HostAddresses,
    /// The drill's database refuses writes now.
    pub records_failing: bool,
    /// What its hook published.
    pub track: &'a Track,
    /// Its score card.
    pub card: &'a ScoreCard,
}

/// What the operators' displays show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewState {
    /// Live values.
    Live,
    /// Frozen on old values (denial of view): nothing on screen moves.
    Frozen,
    /// Blank (loss of view).
    Lost,
}

/// The alarm levels set in an alarm's bits.
fn levels(bits: u8) -> Vec<&'static str> {
    ["lolo", "lo", "hi", "hihi"]
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// The scenario's hints, those in `taken` marked; their texts once taken, or always for the
/// white cell (`all_texts`).
pub fn hint_views(s: &Scenario, taken: &[String], all_texts: bool) -> Vec<HintView> {
    s.hints
        .iter()
        .map(|h| {
            let taken = taken.contains(&h.id);
            HintView {
                id: h.id.clone(),
                cost: h.cost,
                taken,
                text: (taken || all_texts).then(|| h.text.clone()),
            }
        })
        .collect()
}

/// The alarms as the operator station lists them: active ones, and those that returned to
/// normal before anyone acknowledged them (they stay until acknowledged).
fn alarm_views(s: &Scenario, r: &Readings, sources: &[Option<(usize, usize)>]) -> Vec<AlarmView> {
    let plc_id = |i: usize| s.plcs[i].id.clone();
    s.alarms
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let since = r.field.alarms_since[i]?;
            let acked = r.field.alarms_acked[i];
            let state = match (r.field.alarms[i] != 0, acked) {
                (true, false) => "unacked",
                (true, true) => "acked",
                (false, false) => "returned",
                (false, true) => return None,
            };
            Some((i, a, since, acked, state))
        })
        .map(|(i, a, since, acked, state)| {
            let levels = levels(r.field.alarms[i]);
            let sensor = &s.sensors[a.pv.ix()];
            let tag = sensor.name.tag_or(&sensor.id);
            AlarmView {
                id: a.id.clone(),
                plc: plc_id(a.plc.ix()),
                // A returned alarm needs no action but an acknowledgement: low priority.
                priority: if levels.is_empty() {
                    "low"
                } else if levels.iter().any(|l| matches!(*l, "hihi" | "lolo")) {
                    "high"
                } else {
                    "medium"
                },
                levels,
                acked,
                state,
                since_s: since as f64 / f64::from(s.tick_hz),
                tag: tag.to_string(),
                sensor: sensor.id.clone(),
                description: sensor.name.without_tag(tag),
                value: hmi_value(s, r, a.pv.ix(), sources),
                unit: s.vars[sensor.var.ix()].unit.clone(),
            }
        })
        .collect()
}

/// The holding registers in engineering units, read live (none on a frozen or blank screen).
fn holding_views(s: &Scenario, snap: &Snapshot, reads: &[bool]) -> Vec<HoldingView> {
    let live = matches!(snap.screen, Screen::Live);
    s.plcs
        .iter()
        .zip(&snap.plcs)
        .zip(reads)
        .flat_map(|((p, v), reads)| {
            p.holding_registers.iter().map(move |h| HoldingView {
                plc: p.id.clone(),
                id: h.id.clone(),
                name: h.name.clone(),
                unit: h.unit.clone(),
                value: (live && *reads).then(|| h.value(&v.memory.holding)),
            })
        })
        .collect()
}

/// The interlocks: tripped as the operator station shows it, bypassed as the plant is now.
fn interlock_views(
    s: &Scenario,
    snap: &Snapshot,
    seen: Option<&Readings>,
    reads: &[bool],
) -> Vec<InterlockView> {
    s.interlocks
        .iter()
        .enumerate()
        .map(|(i, d)| InterlockView {
            id: d.id.clone(),
            plc: s.plcs[d.plc.ix()].id.clone(),
            tripped: seen.filter(|_| reads[d.plc.ix()]).map(|r| r.field.tripped[i]),
            bypassed: (matches!(snap.screen, Screen::Live) && reads[d.plc.ix()]).then(|| {
                let (def, memory) = (&s.plcs[d.plc.ix()], &snap.plcs[d.plc.ix()].memory);
                d.bypass.is_some_and(|b| memory.coils[def.coil_addr(b)])
            }),
        })
        .collect()
}

impl TeamView {
    /// The console's view of a team's range.
    pub fn build(s: &Scenario, snap: &Snapshot, parts: TeamParts<'_>) -> TeamView {
        let readings = snap.readings();
        let seen = readings.as_ref();
        // A frozen or blank screen shows what it shows; a live one loses what it cannot read:
        // what a PLC it cannot read reports or drives.
        let reads = operator_reads(s, snap);
        let all_read = reads.iter().all(|r| *r);
        let sources = sensor_sources(s);
        let driven_seen =
            |a: usize| all_read || (0..s.plcs.len()).all(|p| reads[p] || !moves(s, p, ActuatorIdx(a as u32)));
        TeamView {
            view: match snap.screen {
                Screen::Live => ViewState::Live,
                Screen::Frozen(_) => ViewState::Frozen,
                Screen::Blank => ViewState::Lost,
            },
            team: parts.team.clone(),
            phase: parts.phase,
            tick: snap.tick,
            tick_hz: s.tick_hz,
            simulated_s: snap.tick as f64 / f64::from(s.tick_hz),
            plcs: s
                .plcs
                .iter()
                .zip(&snap.plcs)
                .zip(&reads)
                .map(|((p, v), reads)| PlcView {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    mode: v.mode,
                    listen_only: v.listen_only,
                    restarting: v.restarting,
                    comms: *reads,
                })
                .collect(),
            sensors: s
                .sensors
                .iter()
                .enumerate()
                .map(|(i, d)| SensorView {
                    id: d.id.clone(),
                    name: d.name.clone(),
                    unit: s.vars[d.var.ix()].unit.clone(),
                    value: seen
                        .filter(|_| all_read || sensor_seen(s, i, sources[i], &reads))
                        .map(|r| hmi_value(s, r, i, &sources)),
                })
                .collect(),
            actuators: s
                .actuators
                .iter()
                .enumerate()
                .map(|(i, d)| ActuatorView {
                    id: d.id.clone(),
                    name: d.name.clone(),
                    position: seen.filter(|_| driven_seen(i)).map(|r| r.field.actuators[i]),
                    local: snap.local[i].is_some(),
                })
                .collect(),
            alarms: seen.map_or_else(Vec::new, |r| alarm_views(s, r, &sources)),
            holding: holding_views(s, snap, &reads),
            alarm_defs: alarm_defs(s),
            interlocks: interlock_views(s, snap, seen, &reads),
            conduits: conduit_views(s),
            hosts: s
                .hosts
                .iter()
                .zip(&snap.net.isolated)
                .map(|(h, iso)| HostView { id: h.id.clone(), name: h.name.clone(), isolated: *iso })
                .collect(),
            endpoints: parts.endpoints.to_vec(),
            clients: ConnectHint::new(parts.clients, parts.endpoints, parts.hosts),
            records_failing: parts.records_failing,
            hints: hint_views(s, &parts.track.hints, false),
            maintenance: s.maintenance.clone(),
            injects: parts.track.injects.clone(),
            actions: parts.track.actions.clone(),
            score: parts.card.clone(),
            nodes: Vec::new(),
            challenges: Vec::new(),
        }
    }
}

/// One team in the final standings.
#[derive(Debug, Clone, Serialize)]
pub struct StandingsRow {
    /// Rank.
    pub rank: usize,
    /// Team id.
    pub team: String,
    /// Name.
    pub name: String,
    /// Bracket.
    pub bracket: Option<String>,
    /// Rank in the bracket.
    pub bracket_rank: Option<usize>,
    /// Total.
    pub total: f64,
    /// Tick the total settled, where it breaks ties (`Ties::FirstSettled`); none where equal
    /// totals share a rank and the tick decides nothing.
    pub settled_tick: Option<u64>,
    /// The same in plant seconds (what a reader compares; ticks depend on the tick rate).
    pub settled_s: Option<f64>,
    /// When the team solved its last contest challenge, in plant seconds: the next tie-break
    /// (`Ties::FirstSettled`); none (`null`) without a challenge solved, or where totals share a
    /// rank. Every row has every key, so a reader's columns line up.
    pub last_flag_s: Option<f64>,
    /// SHA-256 of the team's whole event log (what `icsdrill replay` reproduces).
    pub replay_sha256: String,
    /// The contest challenges the team solved first (一血), as the board shows them (`[]` for
    /// none).
    pub first_bloods: Vec<String>,
}

impl StandingsRow {
    /// The columns, in order (CSV). The last says the drill's phase when they were taken: final
    /// once it reads `hot_wash` or `ended`.
    pub const COLUMNS: [&'static str; 12] = [
        "rank",
        "team",
        "name",
        "bracket",
        "bracket_rank",
        "total",
        "settled_tick",
        "replay_sha256",
        "settled_s",
        "last_flag_s",
        "first_bloods",
        "phase",
    ];

    /// The row's cells, in `COLUMNS` order, taken in `phase`.
    pub fn cells(&self, phase: Phase) -> Vec<String> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            self.rank.to_string(),
            self.team.clone(),
            self.name.clone(),
            opt(&self.bracket),
            self.bracket_rank.map(|r| r.to_string()).unwrap_or_default(),
            serde_json::to_string(&self.total).unwrap_or_default(),
            self.settled_tick.map(|t| t.to_string()).unwrap_or_default(),
            self.replay_sha256.clone(),
            self.settled_s.map(|s| format!("{s:.1}")).unwrap_or_default(),
            self.last_flag_s.map(|s| format!("{s:.1}")).unwrap_or_default(),
            self.first_bloods.join(" "),
            phase.to_string(),
        ]
    }
}

/// Final standings with each team's replay hash.
#[derive(Debug, Clone, Serialize)]
pub struct Standings {
    /// Drill id.
    pub drill: String,
    /// Phase.
    pub phase: Phase,
    /// Ranked.
    pub rows: Vec<StandingsRow>,
}

/// The answer to a flag submission.
#[derive(Debug, Clone, Serialize)]
pub struct FlagAnswer {
    /// It is the team's own flag.
    pub valid: bool,
    /// The challenge it solves.
    pub challenge: Option<String>,
    /// What the team is told.
    pub message: &'static str,
    /// The same in Chinese.
    pub message_zh: &'static str,
}

/// Every alarm block, named by the tag it watches (what a form lists it by).
fn alarm_defs(s: &Scenario) -> Vec<AlarmDef> {
    s.alarms
        .iter()
        .map(|a| {
            let sensor = &s.sensors[a.pv.ix()];
            let tag = sensor.name.tag_or(&sensor.id);
            let what = sensor.name.without_tag(tag);
            let name = Text { en: format!("{tag} {}", what.en), zh: format!("{tag} {}", what.zh) };
            AlarmDef { id: a.id.clone(), plc: s.plcs[a.plc.ix()].id.clone(), name }
        })
        .collect()
}

/// Every conduit, named by the zones it joins.
fn conduit_views(s: &Scenario) -> Vec<ConduitView> {
    s.conduits
        .iter()
        .map(|c| {
            let (from, to) = (&s.zones[c.from.ix()].name, &s.zones[c.to.ix()].name);
            let name =
                Text { en: format!("{} → {}", from.en, to.en), zh: format!("{} → {}", from.zh, to.zh) };
            ConduitView { id: c.id.clone(), name }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use icsdrill_engine::{Scenario, Sim, SimInput};

    use super::alarm_views;

    /// The T-101 high level alarm's state as the console lists it (empty: not listed).
    fn listed(s: &Scenario, sim: &Sim) -> Vec<&'static str> {
        let r = sim.snapshot().readings().expect("a live view");
        alarm_views(s, &r, &super::sensor_sources(s))
            .into_iter()
            .filter(|a| a.id == "al-t101")
            .map(|a| a.state)
            .collect()
    }

    fn run(sim: &mut Sim, s: &Scenario, input: Option<SimInput>) {
        sim.step(input);
        for _ in 0..s.ticks(3.0) {
            sim.step([]);
        }
    }

    #[test]
    fn an_alarm_that_clears_unacknowledged_stays_listed_as_returned_until_acknowledged() {
        let text = include_str!("../../scenarios/library/petrochem-tank-farm.yaml");
        let s = Arc::new(Scenario::from_yaml("tank-farm.yaml", text).unwrap());
        let mut sim = Sim::new(s.clone(), 7);
        let limit = |raw: u16| Some(SimInput::write_registers("plc-t101", "ews-01", 2, vec![raw]));
        let ack = || Some(SimInput::AcknowledgeAlarm { plc: "plc-t101".into(), alarm: "al-t101".into() });
        assert!(listed(&s, &sim).is_empty());
        // The high limit written under the level (50 %): the alarm comes on.
        run(&mut sim, &s, limit(300));
        assert_eq!(listed(&s, &sim), ["unacked"]);
        // The limit back over the level: the alarm returns to normal but stays listed.
        run(&mut sim, &s, limit(850));
        assert_eq!(listed(&s, &sim), ["returned"]);
        // Acknowledged, it leaves the list.
        run(&mut sim, &s, ack());
        assert!(listed(&s, &sim).is_empty());
        // On again and acknowledged while active: listed as acknowledged until it clears.
        run(&mut sim, &s, limit(300));
        run(&mut sim, &s, ack());
        assert_eq!(listed(&s, &sim), ["acked"]);
        run(&mut sim, &s, limit(850));
        assert!(listed(&s, &sim).is_empty());
    }
}
