//! `icsdrill exam ...` and `icsdrill cert verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use icsdrill::governance::exam::{self, Trainee};

use super::{Location, load_scenario_source};

/// `icsdrill exam ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum ExamCmd {
    /// Run an exam headless from a trainee's scripted inputs (JSON Lines, in the variant's names),
    /// record it, grade it and write the signed certificate
    /// (按学员的脚本输入无界面运行考核，记录、评分并生成签名证书).
    Run {
        /// Trainee id (学员编号).
        #[arg(long)]
        trainee: String,
        /// Name on the certificate (证书上的姓名).
        #[arg(long)]
        name: Option<String>,
        /// Cohort (批次).
        #[arg(long, default_value = "")]
        cohort: String,
        /// Exam scenario (考核场景).
        #[arg(long, default_value = icsdrill_scenarios::DEFAULT)]
        scenario: String,
        /// Variant seed (default: from the trainee id) (变体的随机数种子，默认由学员编号得出).
        #[arg(long)]
        seed: Option<u64>,
        /// The trainee's inputs (学员的输入).
        #[arg(long)]
        inputs: PathBuf,
        /// Directory for certificate.json and certificate.html
        /// (certificate.json 与 certificate.html 的输出目录).
        #[arg(long)]
        out: PathBuf,
        /// The language of the certificate and of the task table printed
        /// (证书及所打印任务表的语言).
        #[arg(long, value_enum, default_value_t = super::Lang::Zh)]
        lang: super::Lang,
        /// Who issues the certificate (the organiser), printed in its issuer block
        /// (证书签发单位，即主办单位，印在签发栏中).
        #[arg(long)]
        organiser: Option<String>,
    },
    /// Print a trainee's variant (host names, register offsets, attack timing): for trainers
    /// (输出学员的考核变体，供培训教师使用).
    Variant {
        /// Trainee id (学员编号).
        #[arg(long)]
        trainee: String,
        /// Exam scenario (考核场景).
        #[arg(long, default_value = icsdrill_scenarios::DEFAULT)]
        scenario: String,
        /// Variant seed (default: from the trainee id and the sitting)
        /// (变体的随机数种子，默认由学员编号与考核次序得出).
        #[arg(long)]
        seed: Option<u64>,
        /// Which sitting, from 1 (default: the trainee's next; a retake is another variant)
        /// (第几次考核，从 1 起；默认为该学员的下一次，补考使用另一变体).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
        sitting: Option<u32>,
    },
    /// A cohort's results: trainee, date, score, result (csv, xlsx or json)
    /// (批次成绩：学员、日期、得分、结果，csv、xlsx 或 json).
    Cohort {
        /// Cohort (all when absent) (批次，省略时为全部批次).
        cohort: Option<String>,
        /// csv, xlsx or json (输出格式).
        #[arg(long, default_value = "csv")]
        format: String,
        /// Output file (standard output when absent; not for xlsx)
        /// (输出文件，省略时写到标准输出，xlsx 除外).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn key_dir(at: &Location) -> Result<PathBuf> {
    Ok(icsdrill::store::data_dir(at.data_dir.as_deref())?)
}

#[tracing::instrument(name = "exam", skip_all)]
pub(crate) fn exam(cmd: ExamCmd, at: &Location) -> Result<ExitCode> {
    match cmd {
        ExamCmd::Run { trainee, name, cohort, scenario, seed, inputs, out, lang, organiser } => {
            if !icsdrill_drill::vocab::valid_team_id(&trainee) {
                bail!("trainee id `{trainee}` must be 1-32 letters, digits, `-` or `_`");
            }
            let (base, source) = load_scenario_source(&scenario)?;
            let text = std::fs::read_to_string(&inputs)
                .with_context(|| format!("cannot read {}", inputs.display()))?;
            let inputs = icsdrill_engine::parse_inputs(&inputs.display().to_string(), &text)?;
            let mut store = at.create()?;
            // A retake sits another variant.
            let seed = match seed {
                Some(s) => s,
                None => exam::seed_for_sitting(
                    &trainee,
                    exam::sittings(&*store, &trainee, &base.id)?,
                    &key_dir(at)?,
                )?,
            };
            let t = Trainee { name: name.unwrap_or_else(|| trainee.clone()), id: trainee, cohort };
            let (grade, cert) = exam::run_headless(
                &mut *store,
                &key_dir(at)?,
                exam::Exam { base: &base, source: &source, issuer: organiser.as_deref() },
                &t,
                seed,
                &inputs,
            )?;
            warn_misnamed(&*store, &cert.body.drill, &t.id)?;
            std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
            std::fs::write(out.join("certificate.json"), serde_json::to_vec_pretty(&cert)?)?;
            std::fs::write(
                out.join("certificate.html"),
                icsdrill::governance::cert::html(&cert, lang == super::Lang::Zh),
            )?;
            print_grade(&grade, &cert, &out.join("certificate.json"), lang == super::Lang::Zh);
            Ok(ExitCode::SUCCESS)
        }
        ExamCmd::Variant { trainee, scenario, seed, sitting } => {
            let (base, _) = load_scenario_source(&scenario)?;
            let seed = match (seed, sitting) {
                (Some(s), _) => s,
                (None, Some(n)) => exam::seed_for_sitting(&trainee, n - 1, &key_dir(at)?)?,
                (None, None) => {
                    let earlier = exam::sittings(&*at.create()?, &trainee, &base.id)?;
                    exam::seed_for_sitting(&trainee, earlier, &key_dir(at)?)?
                }
            };
            let (_, map) = icsdrill_engine::scenario::variant::variant(&base, seed);
            println!("{}", serde_json::to_string_pretty(&map)?);
            Ok(ExitCode::SUCCESS)
        }
        ExamCmd::Cohort { cohort, format, out } => {
            let store = at.create()?;
            let (header, rows) = exam::cohort_rows(&*store, cohort.as_deref())?;
            let bytes = match format.as_str() {
                "csv" => icsdrill::governance::registry::to_csv_for_excel(&header, &rows)?,
                "json" => serde_json::to_vec_pretty(
                    &rows
                        .iter()
                        .map(|r| header.iter().zip(r).collect::<std::collections::BTreeMap<_, _>>())
                        .collect::<Vec<_>>(),
                )?,
                "xlsx" => {
                    if out.is_none() {
                        bail!("xlsx needs --out FILE");
                    }
                    icsdrill::governance::registry::to_xlsx("cohort", &header, &rows)?
                }
                f => bail!("unknown format `{f}`: csv, xlsx or json"),
            };
            match out {
                Some(p) => {
                    std::fs::write(&p, bytes).with_context(|| format!("cannot write {}", p.display()))?
                }
                None => {
                    use std::io::Write as _;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Warns when a trainee's answers named what their variant does not have: answers written for
/// the base scenario name what the variant renamed, each is refused, and the grade says so
/// only as points not earned.
fn warn_misnamed(store: &dyn icsdrill::store::Store, drill: &str, trainee: &str) -> Result<()> {
    use icsdrill_engine::{EventKind, RejectReason as R};
    let misnamed = store
        .judged_events(drill, trainee)?
        .iter()
        .filter(|e| {
            matches!(e.kind, EventKind::InputRejected { reason: R::UnknownTarget | R::UnknownHost, .. })
        })
        .count();
    if misnamed > 0 {
        eprintln!(
            "warning: {misnamed} of the answers named a PLC, host or point this trainee's variant does not have \
             and were refused: were they written for the base scenario? `icsdrill exam variant --trainee {trainee}` \
             gives the variant's names"
        );
    }
    Ok(())
}

/// The grade task by task and the verdict, in the certificate's language.
fn print_grade(
    grade: &icsdrill_judge::exam::Grade,
    cert: &icsdrill::governance::cert::Certificate,
    file: &std::path::Path,
    zh: bool,
) {
    for tr in &grade.tasks {
        let (title, detail) = if zh { (&tr.title.zh, &tr.detail.zh) } else { (&tr.title.en, &tr.detail.en) };
        println!("{:>5.1} / {:<4} {title}: {detail}", tr.points, tr.max);
    }
    let (total, max, drill) = (grade.total, grade.max, &cert.body.drill);
    if zh {
        let verdict = if grade.passed { "通过" } else { "未通过" };
        println!("{verdict}：{total:.1} / {max:.0}；证书 {}（演练 {drill}）", file.display());
    } else {
        let verdict = if grade.passed { "PASSED" } else { "NOT PASSED" };
        println!("{verdict}: {total:.1} of {max:.0}; certificate {} (drill {drill})", file.display());
    }
}

/// `icsdrill cert key`: this installation's public signing key, created on first use.
pub(crate) fn key(at: &Location) -> Result<ExitCode> {
    let key = icsdrill::governance::cert::signing_key(&key_dir(at)?)?;
    println!("{}", icsdrill_engine::hex(key.verifying_key().as_bytes()));
    Ok(ExitCode::SUCCESS)
}

#[tracing::instrument(name = "cert verify", skip_all)]
pub(crate) fn verify(
    file: &std::path::Path,
    with_store: bool,
    public_key: Option<&str>,
    at: &Location,
) -> Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let cert: icsdrill::governance::cert::Certificate = match serde_json::from_str(&text) {
        Ok(c) => c,
        // A field added after signing is not silently dropped: it would read as signed.
        Err(e) => {
            eprintln!("INVALID: {} is not a certificate as issued: {e}", file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    // Whom to trust: a key given, else this installation's.
    let trusted = match public_key {
        Some(k) => k.to_string(),
        None => match exam::installation_key(&key_dir(at)?) {
            Some(k) => k,
            None => bail!(
                "no trusted key: give --public-key HEX (the issuing installation's) or --data-dir of the installation"
            ),
        },
    };
    let store = if with_store { Some(at.create()?) } else { None };
    match exam::verify(&cert, &trusted, store.as_deref()) {
        Ok(notes) => {
            // Authentic, but a pass is certified only until its validity ends.
            let today = icsdrill::governance::dates::today();
            let expired = cert.body.expired(today);
            println!(
                "{}: {} ({}) {} {} {:.1}/{:.0} on {}{}",
                if expired { "EXPIRED" } else { "valid" },
                cert.body.name,
                cert.body.trainee,
                cert.body.exam,
                cert.body.result,
                cert.body.total,
                cert.body.max,
                cert.body.date,
                match cert.body.valid_until {
                    Some(d) if expired => format!(", valid until {d} (today is {today})"),
                    Some(d) => format!(", valid until {d}"),
                    None => String::new(),
                }
            );
            for n in notes {
                println!("  {n}");
            }
            Ok(if expired { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        Err(e) => {
            eprintln!("INVALID: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}
