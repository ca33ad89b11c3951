//! `icsdrill report DRILL`: after-action reports of a recorded drill, written atomically.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::{Lang, Location, open_store, write_atomic};

#[tracing::instrument(name = "report", skip_all, fields(drill = %drill))]
pub(crate) fn run(
    drill: &str,
    team: Option<&str>,
    format: &str,
    lang: Lang,
    out: Option<&std::path::Path>,
    deadlines: Option<icsdrill_judge::findings::Deadlines>,
    at: &Location,
) -> Result<ExitCode> {
    use icsdrill::governance::report::{self, Format};
    let format = Format::parse(format)
        .with_context(|| format!("unknown format `{format}`: html, md, json or xlsx"))?;
    let store = open_store(at)?;
    let Some((record, teams)) = store.drill(drill)? else {
        bail!("no drill `{drill}` in the store (see `icsdrill drills`)");
    };
    // Its report names every attack step and judges the whole drill: written once it is over
    // (one of a drill killed midway read as a whole drill, with nothing to say it was not).
    record.require_over("its report is written")?;
    if let Some(t) = team
        && !teams.iter().any(|x| x.id == t)
    {
        let ids: Vec<&str> = teams.iter().map(|t| t.id.as_str()).collect();
        bail!("drill {drill} has no team `{t}` (teams: {})", ids.join(", "));
    }
    let lang = match lang {
        Lang::En => report::Lang::En,
        Lang::Zh => report::Lang::Zh,
    };
    let selected: Vec<_> = teams.iter().filter(|t| team.is_none_or(|x| x == t.id)).collect();
    if format == Format::Xlsx && out.is_none() {
        bail!("xlsx needs --out FILE (or a directory for every team)");
    }
    let ext = match format {
        Format::Html => "html",
        Format::Md => "md",
        Format::Json => "json",
        Format::Xlsx => "xlsx",
    };
    for info in &selected {
        let r = report::of_team(&*store, &record, info, deadlines)?;
        let bytes = report::render(&r, format, lang)?;
        match out {
            None => {
                use std::io::Write as _;
                std::io::stdout().write_all(&bytes)?;
            }
            Some(path) if team.is_some() || selected.len() == 1 && !path.is_dir() => {
                write_atomic(path, &bytes)?;
                eprintln!("{}: {} findings -> {}", info.id, r.findings.len(), path.display());
            }
            Some(dir) => {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                let path = dir.join(format!("{}-{}.{ext}", record.id, info.id));
                write_atomic(&path, &bytes)?;
                eprintln!("{}: {} findings -> {}", info.id, r.findings.len(), path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
