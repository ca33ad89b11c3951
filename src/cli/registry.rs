//! `icsdrill registry ...` and `icsdrill region ...`: the enterprise registry, cadence,
//! self-grading, import/export and the regional roll-up on the command line, and the regional
//! web view.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use icsdrill::governance::dates;
use icsdrill::governance::registry::{self, Activity, CadenceRules, GradingRules, MajorChange};
use icsdrill::store::Store;

use super::Location;

/// `icsdrill registry ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum RegistryCmd {
    /// Import enterprises from CSV or xlsx (columns: id, name, prefecture, industry, class, level,
    /// verified_by, verified_on, contact, phone, security_officer, scenarios, installation_key).
    /// Every row must be valid, or nothing is imported (从 CSV 或 xlsx 导入企业).
    Import {
        /// The file (.csv or .xlsx) (导入文件，.csv 或 .xlsx).
        file: PathBuf,
        /// Date the level changes take effect (default: today) (等级变更的生效日期，默认为当天).
        #[arg(long)]
        date: Option<String>,
    },
    /// Export the registry as CSV or xlsx (以 CSV 或 xlsx 导出企业名录).
    Export {
        /// csv or xlsx (输出格式).
        #[arg(long, default_value = "csv")]
        format: String,
        /// Output file (standard output for CSV when absent) (输出文件，省略时 CSV 写到标准输出).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List enterprises with their level and what is due (列出企业及其安全等级与到期事项).
    List {
        /// Only this prefecture (仅此地州市).
        #[arg(long)]
        prefecture: Option<String>,
        /// Only enterprises with something overdue (仅列出有逾期事项的企业).
        #[arg(long)]
        overdue: bool,
        /// As of this date (default: today) (以此日期为准，默认为当天).
        #[arg(long)]
        today: Option<String>,
    },
    /// Record a drill, compliance test or risk assessment done
    /// (登记已开展的演练、符合性评测或风险评估).
    Record {
        /// Enterprise id (企业编号).
        enterprise: String,
        /// drill, compliance_test or risk_assessment (记录类型：演练、符合性评测或风险评估).
        kind: String,
        /// Date (default: today) (日期，默认为当天).
        #[arg(long)]
        date: Option<String>,
        /// A reference (report number, drill id) (参考编号，如报告编号、演练编号).
        #[arg(long, default_value = "")]
        reference: String,
    },
    /// Re-grade an enterprise: its level (1-3) after a review or major change, with who verified it
    /// (the region for level 3, the prefecture otherwise) (重新定级).
    Level {
        /// Enterprise id (企业编号).
        enterprise: String,
        /// New level (may be the same: the re-grading is recorded)
        /// (新的安全等级；可与原等级相同，定级照样记录).
        level: u8,
        /// Date (default: today) (日期，默认为当天).
        #[arg(long)]
        date: Option<String>,
        /// Why (原因).
        #[arg(long, default_value = "re-graded")]
        reason: String,
    },
    /// Register the public key of the installation an enterprise runs its own drills on (`icsdrill
    /// bundle key` prints it there): its drill bundles are accepted signed with it only
    /// (登记企业自主演练所用安装的公钥).
    Key {
        /// Enterprise id (企业编号).
        enterprise: String,
        /// The ed25519 public key, 64 hex digits (ed25519 公钥，64 位十六进制).
        key: String,
    },
    /// Record a major change of an enterprise (re-grading due within 30 working days)
    /// (登记企业重大变更).
    Change {
        /// Enterprise id (企业编号).
        enterprise: String,
        /// What changed (变更内容).
        note: String,
        /// Date (default: today) (日期，默认为当天).
        #[arg(long)]
        date: Option<String>,
    },
    /// Record an enterprise's declaration that it rectified an open finding (整改完成): it stays
    /// open until its next drill re-tests it (登记企业的隐患整改完成申报).
    Rectified {
        /// Enterprise id (企业编号).
        enterprise: String,
        /// Finding id (as `findings DRILL` and the regional view list them)
        /// (安全隐患编号，见 `findings DRILL` 与区域监管视图的列表).
        finding: String,
        /// What was done (整改措施).
        note: String,
        /// Date (default: today) (日期，默认为当天).
        #[arg(long)]
        date: Option<String>,
    },
    /// Propose a level from industry, scale and risk answers (ILLUSTRATIVE rules)
    /// (按行业、规模与风险问答建议安全等级).
    Grade {
        /// Industry key (see data/grading.yaml) (行业代码，见 data/grading.yaml).
        #[arg(long)]
        industry: String,
        /// micro, small, medium or large (企业规模：微型、小型、中型或大型).
        #[arg(long)]
        scale: String,
        /// Risk questions answered yes (ids, comma-separated) (答“是”的风险问题编号，逗号分隔).
        #[arg(long, value_delimiter = ',')]
        yes: Vec<String>,
    },
    /// Plan the region's yearly live-network drill: which enterprises are due in YEAR and the
    /// scenario for each (编制全区年度实网应急演练计划).
    Plan {
        /// Year (年份).
        year: i64,
    },
    /// Print the cadence rules the registry follows, or adopt the rules of FILE (a YAML file like
    /// data/cadence.yaml, e.g. with `period: calendar` for once in every calendar year)
    /// (输出企业名录所依据的演练周期规则，或采用 FILE 中的规则).
    Cadence {
        /// The rules to adopt (checked first; nothing changes if they are not valid)
        /// (要采用的周期规则；先行校验，无效则不做任何更改).
        file: Option<PathBuf>,
    },
}

/// `icsdrill region ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum RegionCmd {
    /// Roll drill results and findings up: enterprise -> prefecture -> region
    /// (逐级汇总演练结果与隐患).
    Rollup {
        /// Only this prefecture (仅此地州市).
        #[arg(long)]
        prefecture: Option<String>,
        /// json, csv or xlsx (输出格式).
        #[arg(long, default_value = "json")]
        format: String,
        /// Output file (standard output when absent; not for xlsx)
        /// (输出文件，省略时写到标准输出，xlsx 除外).
        #[arg(long)]
        out: Option<PathBuf>,
        /// As of this date (default: today): a past day counts only what was on record then
        /// (drills, activities and findings up to it; a finding verified later as open)
        /// (统计截至此日，默认当天：过去的日期只计当时已有的记录，日后才复核整改的隐患计为未整改).
        #[arg(long)]
        today: Option<String>,
    },
    /// Add a regional-view user (region, prefecture or trainer) and print its login token
    /// (添加区域视图用户并输出其登录令牌).
    User {
        /// region (the whole region), prefecture (one prefecture) or trainer (exams and
        /// certificates) (用户角色：region 全区域、prefecture 单个地州市或 trainer 考核与证书).
        #[arg(long)]
        role: String,
        /// The prefecture a prefecture user sees (地州市用户可查看的地州市).
        #[arg(long)]
        prefecture: Option<String>,
    },
    /// Serve the regional view (web) on loopback (在回环地址上提供区域视图（网页）).
    Serve {
        /// Address (监听地址).
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Port (HTTP 端口).
        #[arg(long, default_value_t = 8030)]
        http_port: u16,
    },
}

fn open(at: &Location) -> Result<Box<dyn Store>> {
    at.create()
}

fn day(arg: Option<&str>) -> Result<dates::Day> {
    match arg {
        Some(d) => Ok(dates::parse(d)?),
        None => Ok(dates::today()),
    }
}

/// The date something was done (`--date`, default today): not after today, or a record of a
/// test in 2031 would keep an enterprise on time until 2033.
fn done_on(arg: Option<&str>) -> Result<dates::Day> {
    let date = day(arg)?;
    let today = dates::today();
    if date > today {
        bail!("{date} is after today ({today}): the registry records what was done, and when");
    }
    Ok(date)
}

fn write_out(out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match out {
        Some(p) => super::write_atomic(p, bytes),
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(bytes)?;
            Ok(())
        }
    }
}

#[tracing::instrument(name = "registry", skip_all)]
pub(crate) fn registry(cmd: RegistryCmd, at: &Location) -> Result<ExitCode> {
    match cmd {
        RegistryCmd::Import { file, date } => import(&file, date.as_deref(), at),
        RegistryCmd::Export { format, out } => {
            let reg = open(at)?.registry()?;
            let rows = registry::export_rows(&reg.enterprises);
            let bytes = match format.as_str() {
                "csv" => registry::to_csv_for_excel(&registry::COLUMNS, &rows)?,
                "xlsx" => {
                    if out.is_none() {
                        bail!("xlsx needs --out FILE");
                    }
                    registry::to_xlsx("registry", &registry::COLUMNS, &rows)?
                }
                f => bail!("unknown format `{f}`: csv or xlsx"),
            };
            write_out(out.as_deref(), &bytes)?;
            Ok(ExitCode::SUCCESS)
        }
        RegistryCmd::List { prefecture, overdue, today } => list(prefecture, overdue, today.as_deref(), at),
        RegistryCmd::Record { enterprise, kind, date, reference } => {
            if !registry::ACTIVITIES.contains(&kind.as_str()) {
                bail!("unknown activity `{kind}`: {}", registry::ACTIVITIES.join(", "));
            }
            let mut store = open(at)?;
            if !store.registry()?.enterprises.iter().any(|e| e.id == enterprise) {
                bail!("no enterprise `{enterprise}` in the registry");
            }
            let date = done_on(date.as_deref())?;
            store.add_activity(&Activity {
                enterprise: enterprise.clone(),
                kind: kind.clone(),
                date,
                reference,
            })?;
            println!("{enterprise}: {kind} on {date} recorded");
            Ok(ExitCode::SUCCESS)
        }
        RegistryCmd::Level { enterprise, level, date, reason } => {
            regrade(enterprise, level, date.as_deref(), reason, at)
        }
        RegistryCmd::Key { enterprise, key } => {
            let key = key.trim().to_ascii_lowercase();
            if !registry::valid_key(&key) {
                bail!(
                    "`{key}` is not an ed25519 public key (64 hex digits; `icsdrill bundle key` prints one)"
                );
            }
            let mut store = open(at)?;
            let reg = store.registry()?;
            let Some(old) = reg.enterprises.iter().find(|e| e.id == enterprise) else {
                bail!("no enterprise `{enterprise}` in the registry");
            };
            // The enterprise as it is, with the key: its level and history stay.
            let e = registry::Enterprise { installation_key: key, ..old.clone() };
            store.import_enterprises(&[e], old.verified_on)?;
            println!("{enterprise}: drill bundles accepted signed with this key");
            Ok(ExitCode::SUCCESS)
        }
        RegistryCmd::Change { enterprise, note, date } => {
            let mut store = open(at)?;
            if !store.registry()?.enterprises.iter().any(|e| e.id == enterprise) {
                bail!("no enterprise `{enterprise}` in the registry");
            }
            let date = done_on(date.as_deref())?;
            let due = date
                .add_working_days(icsdrill::governance::region::cadence_rules(&*store)?.regrade_working_days);
            store.add_major_change(&MajorChange { enterprise: enterprise.clone(), date, note })?;
            println!("{enterprise}: major change on {date} recorded; re-grading due by {due}");
            Ok(ExitCode::SUCCESS)
        }
        RegistryCmd::Rectified { enterprise, finding, note, date } => {
            let mut store = open(at)?;
            let date = done_on(date.as_deref())?;
            icsdrill::governance::rectify::declare(&mut *store, &enterprise, &finding, date, &note)?;
            println!("{enterprise}: {finding} declared rectified on {date}; open until a drill re-tests it");
            Ok(ExitCode::SUCCESS)
        }
        RegistryCmd::Grade { industry, scale, yes } => {
            let rules = GradingRules::defaults();
            let g = rules.grade(&industry, &scale, &yes)?;
            println!("proposed level {} (score {}, industry class {})", g.level, g.score, g.industry_class);
            for (k, p) in &g.breakdown {
                println!("  {k:<20} {p:>4}");
            }
            println!("{}\n{}", g.notice.en, g.notice.zh);
            Ok(ExitCode::SUCCESS)
        }
        RegistryCmd::Plan { year } => plan(year, at),
        RegistryCmd::Cadence { file } => cadence(file.as_deref(), at),
    }
}

/// `registry import`: enterprises from a CSV or xlsx file, all or none.
fn import(file: &std::path::Path, date: Option<&str>, at: &Location) -> Result<ExitCode> {
    let date = done_on(date)?;
    let size = std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?.len();
    if size > registry::MAX_IMPORT_BYTES {
        bail!(
            "{} is {size} bytes; a registry file is at most {} bytes",
            file.display(),
            registry::MAX_IMPORT_BYTES
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let rows = if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) {
        registry::xlsx_rows(&bytes)?
    } else {
        registry::csv_rows(&String::from_utf8(bytes).context("the CSV file is not UTF-8")?)?
    };
    match registry::validate_rows(&rows, date) {
        Ok(mut list) => {
            let mut store = open(at)?;
            // A file without installation keys keeps the keys on record.
            let old = store.registry()?;
            for e in list.iter_mut().filter(|e| e.installation_key.is_empty()) {
                if let Some(o) = old.enterprises.iter().find(|o| o.id == e.id) {
                    e.installation_key = o.installation_key.clone();
                }
            }
            let new = store.import_enterprises(&list, date)?;
            println!("imported {} enterprises ({new} new, {} updated)", list.len(), list.len() - new);
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", file.display());
            }
            eprintln!("nothing imported: {} problem(s)", errors.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A `--prefecture` by its code or either of its names (克拉玛依市 and Karamay are `karamay`);
/// an unknown one is an error that lists the codes.
fn prefecture_arg(p: Option<String>) -> Result<Option<String>> {
    let Some(p) = p else { return Ok(None) };
    let p = p.trim();
    match registry::prefectures().iter().find(|x| x.code == p || x.zh == p || x.en.eq_ignore_ascii_case(p)) {
        Some(x) => Ok(Some(x.code.clone())),
        None => {
            let known: Vec<String> =
                registry::prefectures().iter().map(|x| format!("{} ({})", x.code, x.zh)).collect();
            bail!("unknown prefecture `{p}`: one of {}", known.join(", "))
        }
    }
}

/// `registry list`: enterprises with what is due next.
fn list(prefecture: Option<String>, overdue: bool, today: Option<&str>, at: &Location) -> Result<ExitCode> {
    // A prefecture no enterprise can be in listed nothing, as if it had none.
    let prefecture = prefecture_arg(prefecture)?;
    let today = day(today)?;
    let store = open(at)?;
    let reg = icsdrill::governance::region::registry_with_drills(&*store)?;
    let rules = icsdrill::governance::region::cadence_rules(&*store)?;
    for e in reg.enterprises.iter().filter(|e| prefecture.as_ref().is_none_or(|p| &e.prefecture == p)) {
        let due = registry::cadence(e, &reg, &rules, today);
        if overdue && !due.iter().any(|d| d.overdue && d.binding) {
            continue;
        }
        // As the regional view marks them: an obligation the level does not bind (guidance
        // only) is never OVERDUE.
        let mark = |d: &registry::Due| match (d.overdue, d.binding) {
            (true, true) => " OVERDUE",
            (true, false) => " overdue, not binding",
            (false, false) => " (not binding)",
            (false, true) => "",
        };
        let shown: Vec<String> =
            due.iter().map(|d| format!("{} {}{}", d.kind, d.next_due, mark(d))).collect();
        println!(
            "{:<16} L{} {:<11} {:<24} {}  {}",
            e.id,
            e.level,
            e.prefecture,
            e.industry,
            e.name,
            shown.join("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `registry level`: a regrading, verified by the prefecture (levels 1-2) or the region (3).
fn regrade(
    enterprise: String,
    level: u8,
    date: Option<&str>,
    reason: String,
    at: &Location,
) -> Result<ExitCode> {
    if !(1..=3).contains(&level) {
        bail!("a security level is 1, 2 or 3, not {level}");
    }
    let mut store = open(at)?;
    let reg = store.registry()?;
    let Some(old) = reg.enterprises.iter().find(|e| e.id == enterprise) else {
        bail!("no enterprise `{enterprise}` in the registry");
    };
    let date = done_on(date)?;
    if date < old.verified_on {
        bail!("{date} is before {enterprise}'s level was last verified ({})", old.verified_on);
    }
    let verified_by = if level == 3 { "region" } else { "prefecture" };
    // The same level verified again is in its history, but its obligations' clock goes on
    // from when the level was first verified: a review does not make an overdue drill on time.
    let verified_on = if level == old.level { old.verified_on } else { date };
    let e = registry::Enterprise { level, verified_by: verified_by.into(), verified_on, ..old.clone() };
    let change =
        registry::LevelChange { enterprise: enterprise.clone(), date, from: old.level, to: level, reason };
    store.regrade(&e, &change)?;
    if level == old.level {
        println!(
            "{enterprise}: level {level} verified again by the {verified_by} on {date}; its obligations count from {verified_on} as before"
        );
    } else {
        println!("{enterprise}: level {} -> {level}, verified by the {verified_by}", old.level);
    }
    Ok(ExitCode::SUCCESS)
}

/// Largest cadence rules file `registry cadence` reads.
const MAX_CADENCE_BYTES: u64 = 64 * 1024;

/// `registry cadence`: prints the rules followed, after adopting those of `file` if given.
fn cadence(file: Option<&Path>, at: &Location) -> Result<ExitCode> {
    // Rules that will not be adopted leave no registry behind.
    let adopted = file.map(read_cadence).transpose()?;
    let mut store = open(at)?;
    if let (Some(file), Some(text)) = (file, adopted) {
        store.set_setting(icsdrill::governance::region::CADENCE_SETTING, &text)?;
        eprintln!("adopted {}: the list, the plan and the regional view follow these rules", file.display());
    }
    // The rules as adopted, comments and all (they are checked whenever they are read).
    let text = store.setting(icsdrill::governance::region::CADENCE_SETTING)?;
    print!("{}", text.as_deref().unwrap_or(registry::DEFAULT_CADENCE));
    Ok(ExitCode::SUCCESS)
}

/// A cadence rules file's text, once it is known to be valid rules.
fn read_cadence(file: &Path) -> Result<String> {
    // A rules file is a few lines: anything much larger is not one.
    let size = std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?.len();
    if size > MAX_CADENCE_BYTES {
        bail!("{} is {size} bytes: a cadence rules file is at most {MAX_CADENCE_BYTES}", file.display());
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    CadenceRules::parse(&text).with_context(|| format!("{} is not adopted", file.display()))?;
    Ok(text)
}

/// `registry plan`: the year's regional drill, enterprises due grouped by scenario.
fn plan(year: i64, at: &Location) -> Result<ExitCode> {
    let store = open(at)?;
    let reg = icsdrill::governance::region::registry_with_drills(&*store)?;
    let rules = icsdrill::governance::region::cadence_rules(&*store)?;
    let year =
        i16::try_from(year).ok().filter(|y| (1900..=2999).contains(y)).context("a year from 1900 to 2999")?;
    let end = dates::Day::ymd(year, 12, 31)?;
    let mut by_scenario: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &reg.enterprises {
        let due = registry::cadence(e, &reg, &rules, end);
        let Some(d) = due.iter().find(|d| d.kind == "drill") else { continue };
        if !d.binding || d.next_due > end {
            continue;
        }
        let scenario =
            e.scenarios.first().cloned().unwrap_or_else(|| default_scenario(&e.industry).to_string());
        by_scenario
            .entry(scenario)
            .or_default()
            .push(format!("{} (L{}, {}, due {})", e.id, e.level, e.prefecture, d.next_due));
    }
    println!(
        "regional live-network drill {year}: {} enterprise(s) due",
        by_scenario.values().map(Vec::len).sum::<usize>()
    );
    for (s, list) in by_scenario {
        println!("{s}:");
        for l in list {
            println!("  {l}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The library scenario of an industry.
pub(crate) fn default_scenario(industry: &str) -> &'static str {
    match industry {
        "power" => "power-drum-boiler",
        "coal_chemical" => "coal-chemical-gasifier",
        "steel" => "steel-bf-cooling",
        "nonferrous" => "nonferrous-potline",
        "equipment_manufacturing" => "equipment-welding-line",
        "new_materials" => "newmat-polysilicon-cvd",
        _ => icsdrill_scenarios::DEFAULT,
    }
}

#[tracing::instrument(name = "region", skip_all)]
pub(crate) fn region(cmd: RegionCmd, at: &Location) -> Result<ExitCode> {
    match cmd {
        RegionCmd::Rollup { prefecture, format, out, today } => {
            let prefecture = prefecture_arg(prefecture)?;
            let store = open(at)?;
            let r = icsdrill::governance::region::rollup_from(
                &*store,
                day(today.as_deref())?,
                prefecture.as_deref(),
            )?;
            let (header, rows) = registry::rollup_rows(&r);
            let bytes = match format.as_str() {
                "json" => serde_json::to_vec_pretty(&r)?,
                "csv" => registry::to_csv_for_excel(&header, &rows)?,
                "xlsx" => {
                    if out.is_none() {
                        bail!("xlsx needs --out FILE");
                    }
                    registry::to_xlsx("rollup", &header, &rows)?
                }
                f => bail!("unknown format `{f}`: json, csv or xlsx"),
            };
            write_out(out.as_deref(), &bytes)?;
            Ok(ExitCode::SUCCESS)
        }
        RegionCmd::User { role, prefecture } => {
            let prefecture = prefecture_arg(prefecture)?;
            match (role.as_str(), &prefecture) {
                ("region" | "trainer", None) | ("prefecture", Some(_)) => {}
                _ => bail!("--role region, --role trainer, or --role prefecture --prefecture CODE"),
            }
            let token = icsdrill::drill::new_token();
            open(at)?.add_user(&token, &role, prefecture.as_deref())?;
            // The token, and where it logs in (`region serve` prints the address).
            let page = if role == "trainer" { "/trainer" } else { "/region" };
            println!("{token}");
            eprintln!(
                "log in at http://ADDRESS{page}?token={token} (the address `icsdrill region serve` prints)"
            );
            Ok(ExitCode::SUCCESS)
        }
        RegionCmd::Serve { bind, http_port } => {
            let db = at.database()?;
            let runtime = crate::cli::async_runtime()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind((bind, http_port))
                    .await
                    .with_context(|| format!("cannot bind {bind}:{http_port}"))?;
                println!(
                    "icsdrill: regional view on http://{0}/region, trainers' on http://{0}/trainer (log in with a token from `icsdrill region user`: ?token=TOKEN)",
                    listener.local_addr()?
                );
                let api = std::sync::Arc::new(icsdrill::governance::region::RegionService::new(db));
                icsdrill_web::region::serve(listener, api, icsdrill_web::server::HttpLimits::default(), async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}
