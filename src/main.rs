//! The `icsdrill` command line: the arguments, parsed here and handed to the command in
//! `cli/` (one file per command; the library in `lib.rs` does the work).

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::{Lang, Location, bundle, exam, registry, scenarios, serve, simulate};

/// icsdrill: a cyber range for industrial-control emergency drills (工控安全应急演练靶场).
///
/// With no command, serves the default scenario live: every PLC a Modbus TCP endpoint on
/// 127.0.0.1 from port 5020, the HTTP API on port 8020.
#[derive(Parser, Debug)]
#[command(
    name = "icsdrill",
    version,
    about = "Cyber range for industrial-control emergency drills (工控安全应急演练靶场)",
    long_about = None,
    after_help = "Each command's own options: `icsdrill COMMAND --help`; the README has the whole guide.\n各命令的选项：`icsdrill 命令 --help`；完整说明见 README。"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A PostgreSQL database for drills and the registry (postgres://user:password@host/db;
    /// also $ICSDRILL_DATABASE) instead of SQLite in the data directory
    /// (存放演练与企业登记的 PostgreSQL 数据库，代替数据目录中的 SQLite；也可用
    /// $ICSDRILL_DATABASE 指定).
    #[arg(long, global = true)]
    database: Option<String>,
    /// How the log (standard error) is written: `text` for people, `json` (one object per
    /// line, with the request's or connection's span) for log shippers
    /// (日志（标准错误输出）格式：`text` 供人阅读，`json` 每行一个 JSON 对象并附请求或连接的
    /// span，供日志采集程序使用).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// The log's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines (供人阅读的文本行).
    Text,
    /// JSON lines (每行一个 JSON 对象).
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List, show and validate scenarios (列出、查看、校验场景).
    #[command(subcommand)]
    Scenarios(ScenariosCmd),
    /// Run a scenario in real time with a live Modbus TCP endpoint per PLC: a drill, a contest,
    /// an exam (实时运行场景，每台 PLC 一个在线 Modbus TCP 端点：演练、竞赛、考核).
    Serve(Box<serve::Args>),
    /// Run a scenario headless, as fast as possible, and write its event log
    /// (无界面快速运行场景，写出事件日志).
    Simulate(simulate::Args),
    /// Write a pcapng of a team's (or a scenario run's) Modbus/TCP, IEC 104 and OPC UA traffic
    /// for a window of simulated time, rebuilt by replay: open it in Wireshark or tshark
    /// (导出一段仿真时间内的流量抓包 pcapng，可用 Wireshark 或 tshark 打开).
    Pcap(cli::pcap::Args),
    /// Re-run a recorded drill from its stored scenario, seed and inputs, and check the event
    /// log and scores are identical, exit 1 if not (复演已记录的演练，核对事件日志与得分).
    Replay {
        /// Drill id (see `icsdrill drills`) (演练编号，见 `icsdrill drills`).
        drill: String,
        /// Where the drill database is (default: $ICSDRILL_DATA or ~/.local/share/icsdrill)
        /// (演练数据库所在目录，默认为 $ICSDRILL_DATA 或 ~/.local/share/icsdrill).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Write the after-action report of a recorded drill: findings, timeline, ratings and the
    /// improvement plan (生成演练总结报告：安全隐患、时间线、评级、整改计划).
    Report {
        /// Drill id (see `icsdrill drills`) (演练编号，见 `icsdrill drills`).
        drill: String,
        /// Only this team (default: every team) (仅输出此队伍，默认为全部队伍).
        #[arg(long)]
        team: Option<String>,
        /// html, md, json or xlsx (报告格式).
        #[arg(long, default_value = "html")]
        format: String,
        /// Language (报告语言).
        #[arg(long, value_enum, default_value_t = Lang::Zh)]
        lang: Lang,
        /// Output file (one team) or directory (every team); standard output when absent
        /// (not for xlsx) (输出文件（单个队伍）或目录（全部队伍）；省略时写到标准输出，xlsx 除外).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Rectification deadlines in days, critical,high,medium,low (default by level: level
        /// 3 7,30,90,180; level 2 15,60,180,365; level 1 30,90,365,365)
        /// (整改期限天数，依次对应严重、高、中、低级隐患；默认值随安全等级而定).
        #[arg(long, value_parser = icsdrill_judge::findings::Deadlines::parse)]
        deadlines: Option<icsdrill_judge::findings::Deadlines>,
        /// Where the drill database is (演练数据库所在目录).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Track a recorded drill's findings per enterprise (team): new ones open, earlier open
    /// ones re-tested (verified fixed, or still open with new evidence); print the register
    /// (按企业跟踪安全隐患：新隐患立项，旧隐患复核；输出隐患台账).
    Findings {
        /// Drill id (演练编号).
        drill: String,
        /// Rectification deadlines in days, critical,high,medium,low (default by level)
        /// (整改期限天数，依次对应严重、高、中、低级隐患；默认值随安全等级而定).
        #[arg(long, value_parser = icsdrill_judge::findings::Deadlines::parse)]
        deadlines: Option<icsdrill_judge::findings::Deadlines>,
        /// Where the drill database is (演练数据库所在目录).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The enterprise registry: import/export, cadence, self-grading, the yearly plan
    /// (企业名录：导入导出、演练周期、自评定级、年度计划).
    Registry {
        #[command(subcommand)]
        cmd: registry::RegistryCmd,
        /// Where the database is (数据库所在目录).
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// The regional oversight view: roll-ups, users, the web view (区域监管：汇总、用户、网页视图).
    Region {
        #[command(subcommand)]
        cmd: registry::RegionCmd,
        /// Where the database is (数据库所在目录).
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// Certification exams: run and certify, variants, cohort results
    /// (认证考核：考试与发证、变体、批次成绩).
    Exam {
        #[command(subcommand)]
        cmd: exam::ExamCmd,
        /// Where the database and the signing key are (数据库与签名密钥所在目录).
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// Exam certificates (考核证书).
    #[command(subcommand)]
    Cert(CertCmd),
    /// Signed, replayable drill bundles: an enterprise's drill to the region
    /// (签名、可复演的演练包：企业向区域报送).
    Bundle {
        #[command(subcommand)]
        cmd: bundle::BundleCmd,
        /// Where the database and the installation key are (数据库与安装密钥所在目录).
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// List recorded drills (列出已记录的演练).
    Drills {
        /// Where the drill database is (演练数据库所在目录).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum CertCmd {
    /// Check a certificate's signature; with --data-dir (or --database), also that it was signed by
    /// this installation and that the exam replays to the certified hash (核验证书签名).
    Verify {
        /// certificate.json (证书文件).
        file: PathBuf,
        /// Where the database and the signing key are (enables the replay check)
        /// (数据库与签名密钥所在目录；指定后同时进行复演核验).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The issuing installation's public key (hex), when not checking against a data
        /// directory's own key: the key its issuer publishes (`icsdrill cert key`), never one
        /// copied from the certificate itself
        /// (签发方的公钥（十六进制），不以数据目录自身密钥核验时使用：须为签发方用
        /// `icsdrill cert key` 公布的公钥，切勿取自证书本身).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Print this installation's public signing key (hex): what an issuer publishes so that others
    /// can verify its certificates with `cert verify --public-key` (输出本安装的签名公钥).
    Key {
        /// Where the signing key is (签名密钥所在目录).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ScenariosCmd {
    /// One built-in scenario per line: id, industry, level, PLCs, title
    /// (每行一个内置场景：编号、行业、等级、PLC 数、标题).
    List,
    /// Describe a scenario: plant, network, PLC register maps (查看场景：工艺装置、网络、PLC
    /// 寄存器映射).
    Show {
        /// Built-in id or path to a YAML file (内置场景编号或 YAML 文件路径).
        scenario: String,
        /// Language of names and text (名称与文本的语言).
        #[arg(long, value_enum, default_value_t = Lang::En)]
        lang: Lang,
        /// List the attack's steps and the ATT&CK for ICS techniques they exercise (the
        /// answer key: for instructors)
        /// (列出攻击步骤及其涉及的 ATT&CK for ICS 技术；即参考答案，供导调组使用).
        #[arg(long)]
        techniques: bool,
    },
    /// The ATT&CK for ICS techniques a scenario may cite (v18.1 and v19 ids, tactics, mitigations),
    /// one per line (场景可引用的 ATT&CK for ICS 技术，每行一个).
    Techniques,
    /// Print a generated plant of N identical tank units (for load tests and benchmarks).
    #[command(hide = true)]
    Synthetic {
        /// Number of PLCs (PLC 数量).
        plcs: usize,
    },
    /// Validate scenario files; exits 1 and prints FILE:LINE:COL: message for each problem
    /// (校验场景文件，逐条输出问题所在的文件、行、列).
    Validate {
        /// Files to check (待校验的场景文件).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    // `icsdrill drills | head`: a closed pipe ends the program quietly, as with any Unix tool,
    // rather than with a panic message (println! panics when stdout is gone).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
    let cli = Cli::parse();
    // The OPC UA stack's certificate store warns once per client certificate it files away:
    // a line per session, which a client churning sessions would turn into a flood. Its codec,
    // transport and session controller log every connection a client breaks (a bad hello, a
    // dropped channel) as an error: a fuzzing client would write hundreds of lines a second.
    // The range's own listener records each such connection in the team's log instead.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        [
            "icsdrill=info,opcua_crypto=error,opcua_core::comms=off,opcua_types::encoding=off",
            "opcua_server::transport=off,opcua_server::session::controller=off,opcua_server::info=error,warn",
        ]
        .join(",")
        .into()
    });
    let log = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => log.init(),
        LogFormat::Json => log.json().with_current_span(true).with_span_list(true).init(),
    }
    let result = match cli.command {
        None => serve::run(serve::Args::default_drill(), cli.database.as_deref()),
        Some(Command::Serve(args)) => serve::run(*args, cli.database.as_deref()),
        Some(Command::Simulate(args)) => simulate::run(args),
        Some(Command::Pcap(args)) => cli::pcap::run(args, &cli.database),
        Some(Command::Replay { drill, data_dir }) => {
            cli::replay::run(&drill, &Location::new(data_dir, &cli.database))
        }
        Some(Command::Drills { data_dir }) => cli::drills::run(&Location::new(data_dir, &cli.database)),
        Some(Command::Exam { cmd, data_dir }) => exam::exam(cmd, &Location::new(data_dir, &cli.database)),
        Some(Command::Bundle { cmd, data_dir }) => bundle::run(cmd, &Location::new(data_dir, &cli.database)),
        Some(Command::Cert(CertCmd::Verify { file, data_dir, public_key })) => {
            let with_store = data_dir.is_some() || cli.database.is_some();
            exam::verify(&file, with_store, public_key.as_deref(), &Location::new(data_dir, &cli.database))
        }
        Some(Command::Cert(CertCmd::Key { data_dir })) => exam::key(&Location::new(data_dir, &cli.database)),
        Some(Command::Registry { cmd, data_dir }) => {
            registry::registry(cmd, &Location::new(data_dir, &cli.database))
        }
        Some(Command::Region { cmd, data_dir }) => {
            registry::region(cmd, &Location::new(data_dir, &cli.database))
        }
        Some(Command::Findings { drill, deadlines, data_dir }) => {
            cli::findings::run(&drill, deadlines, &Location::new(data_dir, &cli.database))
        }
        Some(Command::Report { drill, team, format, lang, out, deadlines, data_dir }) => cli::report::run(
            &drill,
            team.as_deref(),
            &format,
            lang,
            out.as_deref(),
            deadlines,
            &Location::new(data_dir, &cli.database),
        ),
        Some(Command::Scenarios(ScenariosCmd::List)) => scenarios::list(),
        Some(Command::Scenarios(ScenariosCmd::Show { scenario, lang, techniques })) => {
            scenarios::show(&scenario, lang, techniques)
        }
        Some(Command::Scenarios(ScenariosCmd::Techniques)) => scenarios::techniques(),
        Some(Command::Scenarios(ScenariosCmd::Validate { paths })) => scenarios::validate(&paths),
        Some(Command::Scenarios(ScenariosCmd::Synthetic { plcs })) => {
            print!("{}", icsdrill_scenarios::synthetic_yaml(plcs));
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) if cli.log_format == LogFormat::Json => {
            tracing::error!(error = %format!("{err:#}"), "failed");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
