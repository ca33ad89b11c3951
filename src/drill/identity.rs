//! Who a drill is when it launches: its id and tokens, new or as recorded (start, resume and
//! joining a drill over several nodes share them).

use icsdrill_drill::{Mode, Phase};

use super::launch::Resumed;
use super::{DrillSpec, new_token};
use crate::store::{DrillRecord, TeamRecord};

/// Who a drill is when it launches: new, or resumed from the store.
pub(super) struct Identity {
    pub(super) id: String,
    pub(super) instructor_token: String,
    pub(super) observer_token: String,
    pub(super) team_tokens: Vec<String>,
    pub(super) phase: Phase,
    /// Each team's simulation so far (resumed), or none (new).
    pub(super) sims: Vec<Option<Resumed>>,
    /// Contest flag secret.
    pub(super) flag_secret: Option<String>,
    /// When it was created (Unix milliseconds): the date of its reports and of its place in
    /// the cadence, whenever they are made.
    pub(super) created_ms: i64,
    /// When it started (Unix milliseconds), once it has: the wall time of its tick 0.
    pub(super) started_ms: Option<i64>,
}

impl Identity {
    /// A new drill's: new tokens (and a contest's flag secret), in its briefing.
    pub(super) fn fresh(spec: &DrillSpec) -> Identity {
        let n = spec.teams.len();
        Identity {
            id: spec.id.clone().unwrap_or_else(|| new_token()[..8].to_string()),
            instructor_token: new_token(),
            observer_token: new_token(),
            team_tokens: (0..n).map(|_| new_token()).collect(),
            phase: Phase::Briefing,
            sims: (0..n).map(|_| None).collect(),
            flag_secret: (spec.mode == Mode::Contest).then(new_token),
            created_ms: crate::governance::dates::now_ms(),
            started_ms: None,
        }
    }

    /// A recorded drill's: its tokens, phase and flag secret; no simulation yet.
    pub(super) fn recorded(record: &DrillRecord, teams: &[TeamRecord]) -> Identity {
        let options: serde_json::Value = serde_json::from_str(&record.options).unwrap_or_default();
        Identity {
            id: record.id.clone(),
            instructor_token: record.instructor_token.clone(),
            observer_token: record.observer_token.clone(),
            team_tokens: teams.iter().map(|t| t.token.clone()).collect(),
            phase: record.phase,
            sims: teams.iter().map(|_| None).collect(),
            flag_secret: options["flag_secret"].as_str().map(str::to_string),
            created_ms: record.created_ms,
            started_ms: None,
        }
    }
}
