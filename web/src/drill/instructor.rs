//! The white cell's controls: the drill's phase, and injects into teams' ranges.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ControlBody {
    action: Control,
}

#[derive(Serialize)]
pub(super) struct PhaseBody {
    phase: Phase,
}

pub(super) async fn control(
    State(drill): State<Drill>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PhaseBody>, ApiError> {
    allow_instructor(&drill, &headers)?;
    let c: ControlBody = parse_json(&headers, &body)?;
    let phase = drill.control(c.action)?;
    Ok(Json(PhaseBody { phase }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InjectBody {
    /// Teams to send it to; all when absent.
    teams: Option<Vec<String>>,
    channel: icsdrill_engine::input::InjectChannel,
    #[serde(default)]
    text: String,
    step: Option<String>,
}

#[derive(Serialize)]
pub(super) struct InjectResult {
    team: String,
    ok: bool,
    /// The node it was queued for, when another node runs the team.
    #[serde(skip_serializing_if = "Option::is_none")]
    queued: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The refusal in Chinese (its own words where it has them, else the general words and the
    /// English detail).
    #[serde(skip_serializing_if = "Option::is_none")]
    error_zh: Option<String>,
}

pub(super) async fn inject(
    State(drill): State<Drill>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Vec<InjectResult>>, ApiError> {
    allow_instructor(&drill, &headers)?;
    let b: InjectBody = parse_json(&headers, &body)?;
    use icsdrill_engine::input::InjectChannel;
    match (b.channel, &b.step) {
        (InjectChannel::Step, None) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "channel `step` needs `step`: the attack step id",
            ));
        }
        (InjectChannel::Message | InjectChannel::Phone, Some(_)) => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "`step` goes with channel `step` only"));
        }
        (InjectChannel::Message | InjectChannel::Phone, None) if b.text.trim().is_empty() => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "a message or phone inject needs `text`"));
        }
        _ => {}
    }
    let teams = match b.teams {
        Some(t) => {
            for id in &t {
                if !drill.has_team(id) {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("no team `{}`", id.escape_debug()),
                    ));
                }
            }
            t
        }
        None => drill.info().teams.into_iter().map(|t| t.id).collect(),
    };
    let mut out = Vec::new();
    for team in teams {
        let input = SimInput::Inject { channel: b.channel, text: b.text.clone(), step: b.step.clone() };
        let r = match drill.team_elsewhere(&team) {
            Some(_) => drill.queue_for(&team, input).await.map(Some),
            None => drill.act(&team, input).await.map(|()| None),
        };
        let queued = r.as_ref().ok().cloned().flatten();
        let refused = r.err().map(act_error);
        out.push(InjectResult {
            team,
            ok: refused.is_none(),
            queued,
            error_zh: refused.as_ref().map(ApiError::in_chinese),
            error: refused.map(|e| e.message),
        });
    }
    Ok(Json(out))
}
