//! The drill's words, shared by the runtime and the web layer.

use serde::{Deserialize, Serialize};

/// One PLC's Modbus endpoint, as trainees connect to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointInfo {
    /// PLC id.
    pub plc: String,
    /// Display name.
    pub name: icsdrill_engine::scenario::Text,
    /// `process` or `safety`.
    pub role: String,
    /// IP address it listens on.
    pub address: String,
    /// TCP port.
    pub port: u16,
    /// Modbus unit id.
    pub unit_id: u8,
    /// Vendor, product and revision, as FC 43/14 reports them.
    pub device: String,
    /// The IEC 60870-5-104 port on the same address, for a PLC with a station.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iec104_port: Option<u16>,
    /// The station's common address (ASDU address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iec104_address: Option<u16>,
    /// The OPC UA port on the same address, for a PLC with a server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opcua_port: Option<u16>,
}

impl EndpointInfo {
    /// Its IEC 104 station and OPC UA server for a banner (empty when it has neither):
    /// `  [IEC 104 port 2404, CA 1]  [OPC UA opc.tcp://127.0.0.1:4840/]`.
    pub fn protocols_note(&self) -> String {
        let mut note = match (self.iec104_port, self.iec104_address) {
            (Some(port), Some(ca)) => format!("  [IEC 104 port {port}, CA {ca}]"),
            _ => String::new(),
        };
        if let Some(port) = self.opcua_port {
            note.push_str(&format!("  [OPC UA opc.tcp://{}:{port}/]", self.address));
        }
        note
    }
}

/// A drill's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The yearly live-network drill across many enterprises' teams.
    Regional,
    /// A security contest: leaderboard, optional freeze, ties broken by time.
    Contest,
    /// One enterprise rehearsing its response plan (the plan is scored).
    Enterprise,
    /// A certification exam: one trainee, their own variant of the scenario, a time limit.
    Exam,
}

impl Mode {
    /// Whether teams see provisional scores until the hot wash unless the drill says
    /// otherwise: a drill that ranks or certifies must not tell a team it is attacked. An
    /// enterprise rehearsing its own plan sees its true score as it goes.
    pub fn blind_by_default(self) -> bool {
        self != Mode::Enterprise
    }

    /// Whether it drills the enterprises' own plants (a regional drill, an enterprise's): its
    /// findings join their rectification registers and it counts for their drill cadence. A
    /// contest's and an exam's plant is the organisers'.
    pub fn drills_an_enterprise(self) -> bool {
        matches!(self, Mode::Regional | Mode::Enterprise)
    }

    /// Whether teams are judged on the scenario's response plan: scored, and a step missed or
    /// late a finding. Only an enterprise rehearsing its own plan is; a regional drill's,
    /// a contest's and an exam's teams were never asked to follow it.
    pub fn scores_plan(self) -> bool {
        self == Mode::Enterprise
    }
}

/// Where a drill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Teams read the brief; the plant holds still.
    Briefing,
    /// The clock runs.
    Live,
    /// The white cell holds the clock.
    Paused,
    /// Play is over; teams and instructors review (scores final, scoreboard unfrozen).
    HotWash,
    /// Closed.
    Ended,
}

/// An instructor's control of the drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Briefing -> live.
    Start,
    /// Live -> paused.
    Pause,
    /// Paused -> live.
    Resume,
    /// Live or paused -> hot wash.
    HotWash,
    /// Any -> ended.
    End,
}

impl Control {
    /// The control in Chinese, as the white cell's buttons say it.
    pub fn zh(self) -> &'static str {
        match self {
            Control::Start => "开始演练",
            Control::Pause => "暂停演练",
            Control::Resume => "继续演练",
            Control::HotWash => "进入复盘讲评",
            Control::End => "结束演练",
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The white cell: everything, including the answer key.
    Instructor,
    /// Observers: the drill overview and the scoreboard.
    Observer,
    /// A team: its own range and the scoreboard.
    Team(String),
}

/// A drill as everyone may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillInfo {
    /// Drill id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Mode.
    pub mode: Mode,
    /// Phase.
    pub phase: Phase,
    /// Scenario id.
    pub scenario: String,
    /// Scenario title, en and zh.
    pub title: icsdrill_engine::scenario::Text,
    /// Brief read to the teams, en and zh.
    pub brief: icsdrill_engine::scenario::Text,
    /// Teams (id, name).
    pub teams: Vec<TeamInfo>,
    /// Simulated seconds of the furthest range as this was asked: a page opened long after the
    /// last board was published runs its clock on from here rather than from that board's.
    #[serde(default)]
    pub at_s: f64,
    /// Until the hot wash, teams see only their own provisional scores and observers none
    /// (`DrillSpec::blind`).
    #[serde(default)]
    pub blind: bool,
    /// The drill's clock at t = 0, Unix milliseconds: what packet captures and alerts stamp
    /// times on (start + plant time), so a page can say how a capture's times read.
    #[serde(default)]
    pub epoch_ms: u64,
    /// A contest's challenges, which first bloods name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub challenges: Vec<crate::views::ChallengeView>,
    /// Why the range refuses a connection or a request, in words (en and zh), by the reason
    /// the team's events name (`host_isolated`): what a console's transaction log says.
    #[serde(default)]
    pub reasons: std::collections::BTreeMap<icsdrill_engine::RejectReason, icsdrill_engine::scenario::Text>,
}

/// A team's id and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamInfo {
    /// Id (letters, digits, `-`, `_`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Contest bracket (ranked separately as well), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bracket: Option<String>,
}

/// Why a team's action was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActError {
    /// Too many flag submissions: 429, retry after this many seconds.
    RateLimited(u64),
    /// Too many actions and reports: 429, retry after this many seconds.
    TooFast(u64),
    /// Larger than `MAX_ACTION_BYTES` (its size): 413.
    TooLarge(usize),
    /// Not applied in time (the clock is held or the range busy) and withdrawn: 503; nothing
    /// was done, so it may be sent again.
    NotApplied,
    /// Applied to the plant, but not on disk within the time limit (the database refuses
    /// writes): 503. It is recorded when the database accepts writes again, and lost if the
    /// drill stops before that, so the client must look at the action list, not assume.
    NotRecorded,
    /// The drill cannot record anything now (the database refuses writes): 503; nothing was
    /// done.
    RecordsFailing,
    /// The plant refused it (unknown target, not allowed...): 422 with the reason, in words
    /// (and its code name, where it has one).
    Rejected(icsdrill_engine::scenario::Text),
    /// The drill is not live: 409.
    NotLive(Phase),
    /// The range is overloaded or stopped: 503.
    Unavailable,
}

/// The name a mode or phase goes by in files and URLs (`contest`, `hot_wash`).
pub fn name_of(v: impl Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// Whether `id` can name a team: 1-32 letters, digits, `-` or `_` (it goes into paths, file
/// names and database keys).
pub fn valid_team_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `name` may stand for a team on the boards: 1-64 characters, not blank, and none
/// a control or a bidirectional formatting character (a right-to-left override would make a
/// name read as another team's on the scoreboard).
pub fn valid_team_name(name: &str) -> bool {
    let bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    !name.trim().is_empty() && name.chars().count() <= 64 && !name.chars().any(|c| c.is_control() || bidi(c))
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&name_of(self))
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&name_of(self))
    }
}
