//! An exam's setup: the trainee's variant (another for each retake), its seed and time limit,
//! and the flags that are an exam's only.

use anyhow::{Result, bail};
use icsdrill::runtime::range::Options;
use icsdrill::store::Database;
use icsdrill_drill::{Mode, TeamInfo};
use icsdrill_engine::Scenario;

use super::Args;

/// An exam: the trainee's own variant of the scenario (and its seed), time-limited, the
/// trainee named as `--trainee-name` gives it. Any other drill: the scenario as it is, and
/// the exam's own flags refused.
pub(super) fn exam_setup(
    args: &Args,
    db: &Database,
    teams: &mut [TeamInfo],
    scenario: std::sync::Arc<Scenario>,
    opts: &mut Options,
) -> Result<(std::sync::Arc<Scenario>, Option<u64>)> {
    if args.cohort.is_some() && args.mode != Mode::Exam {
        bail!("--cohort is an exam's: --mode exam --teams TRAINEE_ID --cohort CLASS");
    }
    if let Some(name) = &args.trainee_name {
        if args.mode != Mode::Exam {
            bail!("--trainee-name is an exam's: --mode exam --teams TRAINEE_ID --trainee-name NAME");
        }
        if !icsdrill_drill::vocab::valid_team_name(name) {
            bail!("--trainee-name must be 1-64 characters, none of them control characters");
        }
        if let [trainee] = &mut *teams {
            trainee.name = name.trim().to_string();
        }
    }
    if args.mode != Mode::Exam {
        return Ok((scenario, None));
    }
    let [trainee] = &*teams else { bail!("an exam has one trainee: --mode exam --teams TRAINEE_ID") };
    if args.seed.is_some() {
        bail!(
            "an exam's seed is its trainee's variant's, not --seed (`icsdrill exam variant --trainee {}` shows it)",
            trainee.id
        );
    }
    // A retake sits another variant.
    let earlier = icsdrill::governance::exam::sittings(&*db.open()?, &trainee.id, &scenario.id)?;
    let seed = icsdrill::governance::exam::seed_for_sitting(
        &trainee.id,
        earlier,
        &icsdrill::store::data_dir(args.data_dir.as_deref())?,
    )?;
    let scenario = std::sync::Arc::new(icsdrill_engine::scenario::variant::variant(&scenario, seed).0);
    opts.seed = seed;
    let limit_s = scenario.exam.time_limit_ticks.unwrap_or(scenario.duration_ticks) as f64
        / f64::from(scenario.tick_hz);
    // `--duration` ends an exam early; it does not give a trainee more time than the others.
    if let Some(d) = args.duration.filter(|d| *d > limit_s) {
        bail!("--duration {d} is past the exam's time limit of {limit_s} s: an exam is sat in its own time");
    }
    opts.duration_s = Some(args.duration.unwrap_or(limit_s));
    tracing::Span::current().record("seed", seed);
    Ok((scenario, Some(seed)))
}
