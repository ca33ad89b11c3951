//! The flags of `icsdrill serve`, their parsers, and the checks run before anything starts.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Result, bail};
use icsdrill::runtime::modbus::server::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
use icsdrill::runtime::range::AddressMode;
use icsdrill_drill::Mode;

/// How the Modbus event loops do their IO (`--modbus-io`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ModbusIo {
    /// io_uring where the kernel allows it, else epoll.
    IoUring,
    /// epoll, even where io_uring is there.
    Epoll,
}

/// Arguments of `icsdrill serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Built-in scenario id or path to a YAML file (内置场景编号或 YAML 文件路径).
    #[arg(default_value = icsdrill_scenarios::DEFAULT)]
    pub(crate) scenario: String,
    /// Seed of the run's randomness (运行的随机数种子) [default: 1] (an exam's is the trainee's
    /// variant's).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Address to listen on (port mode and HTTP) (监听地址，用于端口模式与 HTTP).
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) bind: IpAddr,
    /// First Modbus port; PLCs count up from it (0: any free port)
    /// (起始 Modbus 端口，各 PLC 依次递增；0 表示任意空闲端口).
    #[arg(long, default_value_t = 5020)]
    pub(crate) modbus_port: u16,
    /// IEC 60870-5-104 port of the PLCs with a station: the first in port mode (PLCs count up
    /// from it), every station's in loopback mode
    /// (带子站 PLC 的 IEC 104 端口：端口模式下为起始端口，各 PLC
    /// 依次递增；回环模式下各子站均使用此端口).
    #[arg(long, default_value_t = icsdrill::runtime::range::IEC104_PORT)]
    pub(crate) iec104_port: u16,
    /// OPC UA port of the PLCs with a server, placed as the IEC 104 port is
    /// (带 OPC UA 服务器的 PLC 所用端口，分配方式同 IEC 104 端口).
    #[arg(long, default_value_t = icsdrill::runtime::range::OPCUA_PORT)]
    pub(crate) opcua_port: u16,
    /// HTTP API port (0: any free port) (HTTP API 端口，0 表示任意空闲端口).
    #[arg(long, default_value_t = 8020)]
    pub(crate) http_port: u16,
    /// Ticks per wall second; the scenario's own rate (10) is real time, more runs faster
    /// (每秒实际时间内的仿真步数；场景自身速率（10）即实时，更高则加速运行).
    #[arg(long)]
    pub(crate) tick_hz: Option<f64>,
    /// One port per PLC, or one loopback address per PLC on the same port
    /// (地址分配方式：每台 PLC 一个端口，或每台 PLC 一个回环地址、共用同一端口).
    #[arg(long, value_enum, default_value_t = AddressMode::Port)]
    pub(crate) address_mode: AddressMode,
    /// A client address standing for a host of the scenario, e.g. 127.0.0.66=it-ws-01
    /// (repeatable; other addresses are the engineering workstation)
    /// (代表场景中某台主机的客户端地址，可重复指定；其他地址均视为工程师站).
    #[arg(long = "source", value_parser = parse_source)]
    pub(crate) sources: Vec<(IpAddr, String)>,
    /// Stop after this many simulated seconds (default: run until Ctrl-C)
    /// (运行到指定的仿真秒数后停止，默认一直运行到 Ctrl-C).
    #[arg(long)]
    pub(crate) duration: Option<f64>,
    /// Write the event log here (JSON Lines) when the range stops; in a drill, a directory
    /// holding one file a team (`TEAM.jsonl`) (靶场停止时将事件日志以 JSON Lines
    /// 写到此处；演练时为目录，每支队伍一个文件).
    #[arg(long)]
    pub(crate) events: Option<PathBuf>,
    /// Connections each endpoint serves at once (每个端点同时服务的最大连接数).
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub(crate) max_connections: usize,
    /// Connections each team's range holds at once, over all its endpoints (default: a fair
    /// share of the open-files limit); a node with many teams and many scoreboard viewers sets
    /// it low, and the web server gets what is left
    /// (每支队伍靶场全部端点合计的最大并发连接数，默认按打开文件数上限 ulimit -n
    /// 公平分配；队伍与排行榜观看者多的节点宜调低，余量留给 Web 服务器).
    #[arg(long)]
    pub(crate) team_connections: Option<usize>,
    /// Run the plant without the scenario's attack (practice)
    /// (只运行工艺装置，不含场景中的攻击，用于练习).
    #[arg(long)]
    pub(crate) no_attack: bool,
    /// Keep the routine traffic (operator stations' and historians' polls, engineering
    /// sessions) off the wire; the log still counts it (protocol benchmarks)
    /// (例行流量（操作员站与历史库的轮询、工程会话）不实际发送，日志仍计入；用于协议基准测试).
    #[arg(long)]
    pub(crate) no_routine_traffic: bool,
    /// Seconds a silent connection stays open (无数据往来的连接保持打开的秒数).
    #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs())]
    pub(crate) idle_timeout: u64,
    /// Run a drill with these teams (comma-separated ids), each on its own range, with the
    /// web view (team consoles, instructor console, scoreboard) on the HTTP port
    /// (以这些队伍开展演练（编号以逗号分隔），每队独立靶场，并在 HTTP
    /// 端口提供网页视图（队伍控制台、导调台、排行榜）).
    #[arg(long, value_delimiter = ',', conflicts_with = "drill")]
    pub(crate) teams: Vec<String>,
    /// Drill mode: regional, contest, enterprise (scores the response plan) or exam (one
    /// trainee, certified) (演练模式：regional 实网应急演练、contest 安全竞赛、enterprise
    /// 企业演练（评估应急预案）或 exam 能力考核（单名学员，颁发证书）).
    #[arg(long, value_parser = named::<Mode>("mode", "regional, contest, enterprise or exam"), default_value = "regional")]
    pub(crate) mode: Mode,
    /// Contest: freeze the public scoreboard this many simulated seconds before the end
    /// (needs --duration) (安全竞赛：于结束前指定的仿真秒数冻结公开排行榜，需配合 --duration).
    #[arg(long)]
    pub(crate) freeze: Option<f64>,
    /// Show teams and the public board the true scores as the drill goes
    /// (演练进行中向各队伍和公开排行榜显示真实得分). By default only an enterprise drill does: in a
    /// regional drill, a contest or an exam each team sees, until the hot wash, a provisional
    /// score that counts only the attack steps its reports found (a score that moved when the
    /// attack did would tell the team it is attacked).
    #[arg(long)]
    pub(crate) live_scores: bool,
    /// How teams with the same total rank: first_settled (who reached it first ranks first,
    /// then whose last flag came first; the default) or shared (they share the rank)
    /// (同分队伍如何排名：first_settled 先达到该分者在前，再比最后一个旗标的先后，为默认值；或
    /// shared 名次并列).
    #[arg(long, value_parser = named::<icsdrill_drill::board::Ties>("tie rule", "first_settled or shared"))]
    pub(crate) ties: Option<icsdrill_drill::board::Ties>,
    /// Start the drill at once instead of waiting in briefing for the instructor
    /// (立即开始演练，不在简报阶段等待导调组).
    #[arg(long)]
    pub(crate) start: bool,
    /// A drill file (YAML): id, name, mode, scenario, seed, teams, duration_s, freeze_s,
    /// live_scores, ties, start, organiser, place (演练文件（YAML），可含上列字段).
    #[arg(long)]
    pub(crate) drill: Option<PathBuf>,
    /// Who organises the drill (主办单位): on the reports' cover, and the issuer of an exam's
    /// certificate (演练主办单位：印在报告封面上，也是能力考核证书的签发单位).
    #[arg(long)]
    pub(crate) organiser: Option<String>,
    /// Where the drill takes place, for the reports' cover (演练地点，印在报告封面上).
    #[arg(long)]
    pub(crate) place: Option<String>,
    /// An exam's cohort (training class, e.g. 2026-B): on the trainee's result and
    /// certificate, and what the trainers' view filters by (能力考核的批次，即培训班次，如
    /// 2026-B：显示在学员的成绩和证书上，也是培训考核视图的筛选依据).
    #[arg(long)]
    pub(crate) cohort: Option<String>,
    /// An exam's trainee's name as the certificate gives it (default: the trainee id):
    /// `--mode exam --teams TRAINEE_ID --trainee-name "张伟"`
    /// (证书上所写的考核学员姓名，默认为学员编号).
    #[arg(long)]
    pub(crate) trainee_name: Option<String>,
    /// The drill's id (1-32 letters, digits, `-`, `_`): when a drill with this id is on record,
    /// `serve` resumes it instead of starting another (a restarted container picks its drill
    /// up again) (演练编号（1-32 个字母、数字、`-` 或 `_`）：已有此编号的演练记录时，`serve`
    /// 恢复该演练而不另开新演练，容器重启后可借此接续原演练). Default: a new random id.
    #[arg(long, conflicts_with = "resume")]
    pub(crate) drill_id: Option<String>,
    /// Join a drill over several nodes as this node (1-32 letters, digits, `-`, `_`): every
    /// node is given the same drill, `--drill-id` and `--database postgres://…`, and the teams
    /// are shared among the nodes alive (a dead node's teams are taken over by the others)
    /// (以此节点名加入多节点演练（1-32 个字母、数字、`-` 或 `_`）：各节点使用相同的演练与
    /// `--drill-id`、`--database postgres://…`，队伍由存活节点分担，失效节点的队伍由其他节点接管).
    #[arg(long, conflicts_with = "resume")]
    pub(crate) node: Option<String>,
    /// With --node: where the other nodes and the teams reach this node's web view, e.g.
    /// http://node-2.example:8020 (default: the address it listens on)
    /// (配合 --node：其他节点和各队伍访问本节点网页视图的地址，默认为其监听地址). A team's
    /// requests to another node are redirected here, and its host stands for an endpoint bound
    /// to every address (--bind 0.0.0.0) in the teams' endpoint tables.
    #[arg(long, requires = "node")]
    pub(crate) node_url: Option<String>,
    /// Where drills are recorded (SQLite; default: $ICSDRILL_DATA or ~/.local/share/icsdrill)
    /// (记录演练的数据目录（SQLite），默认为 $ICSDRILL_DATA 或 ~/.local/share/icsdrill).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Resume a recorded drill (the newest when no id is given) after a crash or a stop
    /// (在崩溃或停止后恢复已记录的演练，未给出编号时恢复最近的一次).
    #[arg(long, num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["teams", "drill"])]
    pub(crate) resume: Option<String>,
    /// The networks a team's clients connect from, e.g. red=10.1.0.0/16,10.9.0.0/24
    /// (repeatable) (队伍客户端的来源网段，可重复指定). Other addresses are refused at that
    /// team's endpoints. Default: any address for a drill of one team; team N's own
    /// 127.10.N.0/24 for several teams on loopback.
    #[arg(long = "clients", value_parser = parse_clients)]
    pub(crate) clients: Vec<(String, Vec<ipnet::IpNet>)>,
    /// Modbus requests each endpoint answers per second (its range four times that); more
    /// wait their turn (每个端点每秒应答的 Modbus 请求数，其靶场合计为四倍；超出的请求排队等候).
    /// 0: no limit (for raw speed benchmarks).
    #[arg(long, default_value_t = icsdrill::runtime::modbus::server::DEFAULT_REQUEST_RATE)]
    pub(crate) request_rate: u32,
    /// Event-loop threads each team's range serves its Modbus endpoints on, at most 8 (0: the
    /// cores shared out among the teams, at least one each); fewer leave more of a shared host
    /// to its other work, at some cost in throughput under load
    /// (每支队伍靶场服务 Modbus 端点的事件循环线程数，至多 8；0 表示按 CPU 核数在队伍间平均分配，每队至少一个；
    /// 调低可为同机其他负载留出算力，但高负载下吞吐会降低).
    #[arg(long, default_value_t = 0)]
    pub(crate) event_loops: usize,
    /// How the event loops take their Modbus connections' requests: `io-uring` where the kernel
    /// allows it (else epoll), or `epoll`
    /// (事件循环收发 Modbus 请求的方式：内核允许时用 io-uring（否则 epoll），或 epoll).
    #[arg(long, value_enum, env = "ICSDRILL_MODBUS_IO", default_value_t = ModbusIo::IoUring)]
    pub(crate) modbus_io: ModbusIo,
    /// Web connections served at once (more are answered 503)
    /// (Web 最大并发连接数，超出的返回 503).
    #[arg(long, default_value_t = icsdrill_web::server::DEFAULT_MAX_CONNECTIONS)]
    pub(crate) http_max_connections: usize,
    /// Web connections one client address holds at once (more from it are answered 503), so
    /// one team's flood leaves the server to the others
    /// (单个客户端地址的 Web 最大并发连接数，超出的返回
    /// 503，以免一支队伍的洪泛影响其他队伍). Default: a quarter of --http-max-connections.
    #[arg(long)]
    pub(crate) http_max_connections_per_client: Option<usize>,
    /// Seconds a web connection may stay idle, or take to send a request's headers or body
    /// (Web 连接可空闲的秒数，也是发送请求头或请求体的时限).
    #[arg(long, default_value_t = icsdrill_web::server::DEFAULT_IDLE_TIMEOUT.as_secs())]
    pub(crate) http_idle_timeout: u64,
}

/// Checks every numeric flag against its documented range.
pub(super) fn check_numbers(args: &Args) -> Result<()> {
    use icsdrill::runtime::range::{MAX_TICKS_PER_S, MIN_TICKS_PER_S};
    use icsdrill_engine::scenario::MAX_DURATION_S;
    if let Some(t) = args.tick_hz
        && !(MIN_TICKS_PER_S..=MAX_TICKS_PER_S).contains(&t)
    {
        bail!(
            "--tick-hz must be between {MIN_TICKS_PER_S} and {MAX_TICKS_PER_S} ticks per second, got {}",
            super::super::shown(t)
        );
    }
    if let Some(d) = args.duration
        && !(d > 0.0 && d <= MAX_DURATION_S)
    {
        bail!(
            "--duration (a drill file's duration_s) must be more than 0 and at most {MAX_DURATION_S} s (7 days), got {}",
            super::super::shown(d)
        );
    }
    if let Some(f) = args.freeze
        && !(f > 0.0 && f < args.duration.unwrap_or(MAX_DURATION_S))
    {
        bail!(
            "--freeze must be more than 0 s and less than the drill's duration, got {}",
            super::super::shown(f)
        );
    }
    if !(1..=1024).contains(&args.max_connections) {
        bail!("--max-connections must be between 1 and 1024, got {}", args.max_connections);
    }
    if let Some(n) = args.team_connections
        && !(1..=1_000_000).contains(&n)
    {
        bail!("--team-connections must be between 1 and 1000000, got {n}");
    }
    if !(1..=86_400).contains(&args.idle_timeout) {
        bail!("--idle-timeout must be between 1 and 86400 s, got {}", args.idle_timeout);
    }
    if args.event_loops > icsdrill::runtime::shards::MAX_SHARDS {
        bail!(
            "--event-loops must be between 0 and {} (0: one a core), got {}",
            icsdrill::runtime::shards::MAX_SHARDS,
            args.event_loops
        );
    }
    if args.request_rate > 1_000_000 {
        bail!(
            "--request-rate must be at most 1000000 requests per second (0: no limit), got {}",
            args.request_rate
        );
    }
    if !(1..=65_536).contains(&args.http_max_connections) {
        bail!("--http-max-connections must be between 1 and 65536, got {}", args.http_max_connections);
    }
    if let Some(n) = args.http_max_connections_per_client.filter(|n| !(1..=65_536).contains(n)) {
        bail!("--http-max-connections-per-client must be between 1 and 65536, got {n}");
    }
    if !(1..=3_600).contains(&args.http_idle_timeout) {
        bail!("--http-idle-timeout must be between 1 and 3600 s, got {}", args.http_idle_timeout);
    }
    Ok(())
}

/// A node's URL: http(s), a host, at most 256 characters, nothing that could break a header.
pub(super) fn check_node_url(url: &str) -> Result<String> {
    let url = url.trim_end_matches('/');
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    let host = rest.and_then(|r| r.split(['/', ':']).next()).unwrap_or_default();
    if url.len() > 256 || host.is_empty() || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        bail!(
            "--node-url must be an http:// or https:// URL of this node's web view, e.g. http://node-2.example:8020, got `{}`",
            url.escape_debug()
        );
    }
    Ok(url.to_string())
}

fn parse_clients(s: &str) -> Result<(String, Vec<ipnet::IpNet>), String> {
    let (team, nets) = s.split_once('=').ok_or("expected TEAM=CIDR[,CIDR...], e.g. red=10.1.0.0/16")?;
    if team.is_empty() {
        return Err("the team id before `=` is empty".into());
    }
    let nets = nets.split(',').map(|n| parse_net(n.trim())).collect::<Result<Vec<_>, _>>()?;
    Ok((team.to_string(), nets))
}

/// A network in CIDR form; a bare address is a /32 (or /128).
pub(super) fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    if let Ok(n) = s.parse::<ipnet::IpNet>() {
        return Ok(n);
    }
    s.parse::<IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| format!("`{s}` is not a network (CIDR, e.g. 10.1.0.0/16) or an address"))
}

impl Args {
    /// What `icsdrill` with no arguments runs.
    pub(crate) fn default_drill() -> Args {
        Args {
            scenario: icsdrill_scenarios::DEFAULT.to_string(),
            seed: None,
            bind: IpAddr::from([127, 0, 0, 1]),
            modbus_port: 5020,
            iec104_port: icsdrill::runtime::range::IEC104_PORT,
            opcua_port: icsdrill::runtime::range::OPCUA_PORT,
            http_port: 8020,
            tick_hz: None,
            address_mode: AddressMode::Port,
            sources: Vec::new(),
            duration: None,
            events: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT.as_secs(),
            no_attack: false,
            no_routine_traffic: false,
            teams: vec!["blue".into()],
            mode: Mode::Regional,
            freeze: None,
            live_scores: false,
            ties: None,
            start: true,
            drill: None,
            organiser: None,
            place: None,
            cohort: None,
            trainee_name: None,
            drill_id: None,
            node: None,
            node_url: None,
            data_dir: None,
            resume: None,
            clients: Vec::new(),
            request_rate: icsdrill::runtime::modbus::server::DEFAULT_REQUEST_RATE,
            event_loops: 0,
            modbus_io: ModbusIo::IoUring,
            http_max_connections: icsdrill_web::server::DEFAULT_MAX_CONNECTIONS,
            http_max_connections_per_client: None,
            team_connections: None,
            http_idle_timeout: icsdrill_web::server::DEFAULT_IDLE_TIMEOUT.as_secs(),
        }
    }
}

fn parse_source(s: &str) -> Result<(IpAddr, String), String> {
    let (addr, host) = s.split_once('=').ok_or("expected ADDRESS=HOST, e.g. 127.0.0.66=it-ws-01")?;
    let addr: IpAddr = addr.parse().map_err(|e| format!("`{addr}` is not an IP address: {e}"))?;
    if host.is_empty() {
        return Err("the host id after `=` is empty".into());
    }
    Ok((addr, host.to_string()))
}

/// A flag's value read as its type's serde name (`what`, one of `choices`, says a bad one).
fn named<T: serde::de::DeserializeOwned>(
    what: &'static str,
    choices: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone {
    move |s| {
        serde_json::from_value(serde_json::Value::String(s.into()))
            .map_err(|_| format!("unknown {what} `{s}`: {choices}"))
    }
}
