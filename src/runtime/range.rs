//! A range: one live simulation, a Modbus endpoint per PLC, and the HTTP API, started and
//! stopped together.
//!
//! Endpoints bind one port per PLC from a base port (`AddressMode::Port`), or one loopback
//! address per PLC on the same port (`AddressMode::Loopback`: the whole 127.0.0.0/8 is local,
//! so every PLC can sit on the standard port 502). Port 0 asks the OS for a free port, which
//! tests use; the endpoint table always shows what was bound.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::{Error, Result};
use icsdrill_engine::scenario::{PlcIdx, PlcRole};
use icsdrill_engine::{Scenario, Sim, SimEvent};
use icsdrill_web::{EndpointInfo, Health, RangeApi};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::runtime::live::{Clock, Extras, Live};
use crate::runtime::modbus::server::{Clients, Context, ForeignHook, Limits, Protocol, SourceMap, serve};
use crate::runtime::modbus::shard::Inbox;
use crate::runtime::shards::Shards;

/// The slowest clock a range runs (a tick every 10 wall seconds).
pub const MIN_TICKS_PER_S: f64 = 0.1;
/// The fastest clock a range runs.
pub const MAX_TICKS_PER_S: f64 = 100_000.0;

/// Attack actions queued for the live attacker; beyond, an attempt fails at once.
pub const ATTACK_QUEUE: usize = 256;

/// How long a shutdown waits for open connections before aborting them.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// How PLC endpoints get their addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressMode {
    /// One port per PLC on the bind address, counting up from the base port (每台 PLC
    /// 在监听地址上占一个端口，自起始端口依次递增).
    Port,
    /// One loopback address per PLC (127.1.x.y), all on the base port (每台 PLC
    /// 一个回环地址，均使用起始端口).
    Loopback,
}

/// How to start a range.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seed of the simulation.
    pub seed: u64,
    /// Address for port mode and for the HTTP API.
    pub bind: IpAddr,
    /// First Modbus port (0: any free port for each PLC).
    pub modbus_port: u16,
    /// IEC 104 port of the PLCs with a station: in port mode the first (one per PLC, like
    /// Modbus; any free port when `modbus_port` is 0), in loopback mode every PLC's.
    pub iec104_port: u16,
    /// OPC UA port of the PLCs with a server, placed as `iec104_port` is.
    pub opcua_port: u16,
    /// HTTP port (0: any free port).
    pub http_port: u16,
    /// Port or loopback address per PLC.
    pub address_mode: AddressMode,
    /// Ticks per wall second (default: the scenario's rate, real time).
    pub ticks_per_s: Option<f64>,
    /// Stop after this many simulated seconds.
    pub duration_s: Option<f64>,
    /// Peer addresses standing for hosts of the scenario (host ids).
    pub sources: Vec<(IpAddr, String)>,
    /// Connection limits.
    pub limits: Limits,
    /// Carry out the attack's Modbus actions as real traffic from the attacker's address
    /// (otherwise the simulation does them internally, as headless).
    pub live_attacker: bool,
    /// Serve the range's own open HTTP API (a drill serves one authenticated API instead).
    pub serve_http: bool,
    /// Endpoints count from this PLC number (ports and loopback addresses), so the ranges
    /// of a drill's teams do not overlap.
    pub first_endpoint: usize,
    /// Start with the clock running (a drill holds it until the instructor starts).
    pub running: bool,
    /// Client addresses served (the team's networks); others are refused at accept. A
    /// single range serves everyone.
    pub clients: Clients,
    /// The live attacker's source address, when not the scenario's (a drill gives each
    /// team's attacker an address in that team's network).
    pub attacker_address: Option<IpAddr>,
    /// The loopback network the scenario's hosts send their routine traffic from (`.200 +
    /// host index`; a drill gives each team its own); else the first loopback network of
    /// `clients`, else 127.0.0.0.
    pub host_net: Option<Ipv4Addr>,
    /// Connections open at once over all the range's endpoints (0: the endpoints' caps add
    /// up).
    pub range_connections: usize,
    /// Told of refused foreign clients.
    pub on_foreign: Option<ForeignHook>,
    /// The web server's connection cap and timeouts.
    pub http: icsdrill_web::server::HttpLimits,
    /// Put the scenario's routine traffic (operator stations' and historians' polls,
    /// engineering sessions) on the wire from the hosts' loopback addresses.
    pub routine_traffic: bool,
    /// Event-loop threads for the endpoints (0: one per core, at most `shards::MAX_SHARDS`). A
    /// drill of many teams gives each range fewer: the cores are shared among ranges anyway,
    /// and every loop costs a thread, its memory and two descriptors.
    pub event_loops: usize,
    /// Serve Modbus connections on the epoll loop even where io_uring is there (the loop a
    /// kernel without io_uring gets: `modbus::shard`); `--modbus-io epoll` on the command line.
    pub epoll_only: bool,
}

impl Options {
    /// Loopback, base port 5020, HTTP 8020, real time, no end.
    pub fn new(seed: u64) -> Options {
        Options {
            seed,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            modbus_port: 5020,
            iec104_port: IEC104_PORT,
            opcua_port: OPCUA_PORT,
            http_port: 8020,
            address_mode: AddressMode::Port,
            ticks_per_s: None,
            duration_s: None,
            sources: Vec::new(),
            limits: Limits::default(),
            live_attacker: true,
            serve_http: true,
            first_endpoint: 0,
            running: true,
            clients: Clients::any(),
            attacker_address: None,
            host_net: None,
            range_connections: 0,
            on_foreign: None,
            http: icsdrill_web::server::HttpLimits::default(),
            routine_traffic: true,
            event_loops: 0,
            epoll_only: false,
        }
    }

    /// The loopback network the scenario's hosts are placed in (`host_net`).
    pub fn host_base(&self) -> Ipv4Addr {
        self.host_net.or_else(|| self.clients.loopback_net()).unwrap_or(Ipv4Addr::new(127, 0, 0, 0))
    }
}

/// A running range.
pub struct Range {
    /// The simulation.
    pub live: Arc<Live>,
    /// Endpoint table, in PLC order.
    pub endpoints: Vec<EndpointInfo>,
    /// Where the HTTP API listens (none when `serve_http` is off).
    pub http: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    sim: crate::runtime::live::SimHandle,
    /// The event loops the endpoints run on.
    shards: Shards,
    /// What the endpoints share.
    cx: Arc<Context>,
}

/// The IEC 104 standard port (IEC 60870-5-104, 10.3).
pub const IEC104_PORT: u16 = 2404;
/// The OPC UA standard port (IANA `opcua-tcp`).
pub const OPCUA_PORT: u16 = 4840;

/// The loopback address of PLC `i` in loopback mode: 127.1.0.1, 127.1.0.2, ... 127.1.0.250,
/// 127.1.1.1, ...
pub fn loopback_address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8)
}

impl Range {
    /// Binds every endpoint and the HTTP API, then starts the clock.
    pub async fn start(scenario: Arc<Scenario>, opts: Options) -> Result<Range> {
        Range::start_with(scenario, opts, Extras::default()).await
    }

    /// `start`, with the runtime's `extras` (a hook after every tick, durable answers, a
    /// simulation to continue); `opts.running` false holds the clock.
    pub async fn start_with(scenario: Arc<Scenario>, opts: Options, mut extras: Extras) -> Result<Range> {
        let mut sources = source_map(&scenario, &opts.sources)?;
        let routine_hosts = routine_addresses(&scenario, &mut sources, opts.host_base());
        let listeners = bind_endpoints(&scenario, &opts).await?;
        let stations = bind_native(&scenario, &opts, Protocol::Iec104).await?;
        let servers = bind_native(&scenario, &opts, Protocol::OpcUa).await?;
        let endpoints = endpoint_table(&scenario, &listeners, (&stations, &servers))?;
        let http = if opts.serve_http {
            let http_addr = SocketAddr::new(opts.bind, opts.http_port);
            Some(TcpListener::bind(http_addr).await.map_err(|cause| Error::Bind {
                what: "the HTTP API".into(),
                addr: http_addr,
                cause,
                hint: " (pick another with --http-port)",
            })?)
        } else {
            None
        };
        let http_local = http
            .as_ref()
            .map(|h| h.local_addr())
            .transpose()
            .map_err(|e| Error::Failed(format!("a listener has no address: {e}")))?;

        let clock = clock(&scenario, &opts)?;
        let ticks_per_s = clock.ticks_per_s;
        let (attacker_tx, attacker_rx) = tokio::sync::mpsc::channel(ATTACK_QUEUE);
        let (routine_tx, routine_rx) = tokio::sync::mpsc::channel(crate::runtime::routine::ROUTINE_QUEUE);
        let routine = opts.routine_traffic && !routine_hosts.is_empty();
        if routine {
            extras.routine = Some(routine_tx);
        }
        let attacker_address = attacker_address(&scenario, &opts)?;
        // Started before the clock, so a failure here leaves no simulation running.
        let shards = Shards::start("icsdrill-modbus", opts.event_loops)
            .map_err(|e| Error::Failed(format!("cannot start the Modbus event loops: {e}")))?;
        let (live, sim) =
            Live::start_with(scenario.clone(), opts.seed, clock, attacker_address.map(|_| attacker_tx), {
                extras.held |= !opts.running;
                extras
            });
        let (shutdown, stop) = watch::channel(false);
        sources.attacker = attacker_address;
        let own_clients = Arc::new(crate::runtime::routine::OwnClients::default());
        let range_connections = match opts.range_connections {
            0 => opts.limits.max_connections.saturating_mul(scenario.plcs.len()),
            n => n,
        };
        // The range's own simulated clients, inside the team's networks or not.
        let own = attacker_address.into_iter().chain(routine_hosts.values().copied());
        let clients = Clients { own: own.collect(), ..opts.clients.clone() };
        let cx = Arc::new(Context {
            live: live.clone(),
            sources,
            limits: opts.limits,
            clients,
            range_slots: Arc::new(tokio::sync::Semaphore::new(
                range_connections.clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
            )),
            on_foreign: opts.on_foreign.clone(),
            own_clients: own_clients.clone(),
            opcua_stacks: Default::default(),
            range_pacer: crate::runtime::modbus::server::Pacer::new(
                opts.limits.request_rate.saturating_mul(crate::runtime::modbus::server::RANGE_RATE_PLCS),
            ),
        });
        let mut tasks = JoinSet::new();
        spawn_endpoints(&shards, &mut tasks, (listeners, stations, servers), &cx, (&stop, opts.epoll_only));
        if let Some(address) = attacker_address {
            let target = attack_target(&scenario, &endpoints, (address, cx.own_clients.clone()), ticks_per_s);
            tasks.spawn(crate::runtime::attacker::run(attacker_rx, live.clone(), target, stop.clone()));
        }
        if routine {
            let wire = crate::runtime::routine::Wire {
                endpoints: endpoint_addrs(&endpoints),
                units: scenario.plcs.iter().map(|p| p.unit_id).collect(),
                stations: station_addrs(&endpoints),
                servers: server_addrs(&endpoints),
                bits: coil_ids(&scenario),
                hosts: routine_hosts,
                peers: own_clients,
                skipped: Default::default(),
                loops: shards.handles(),
            };
            tasks.spawn(crate::runtime::routine::run(routine_rx, Arc::new(wire), stop.clone()));
        }
        if let Some(http) = http {
            let api: Arc<dyn RangeApi> = Arc::new(Api { live: live.clone(), endpoints: endpoints.clone() });
            let mut stop_http = stop.clone();
            tasks.spawn(async move {
                let graceful = async move {
                    let _ = stop_http.wait_for(|s| *s).await;
                };
                if let Err(e) = icsdrill_web::serve(http, api, opts.http, graceful).await {
                    tracing::error!(error = %e, "HTTP server failed");
                }
            });
        }
        Ok(Range { live, endpoints, http: http_local, shutdown, tasks, sim, shards, cx })
    }

    /// Where PLC `plc`'s OPC UA stack listens behind the range's listener, once it runs: a
    /// loopback port clients are not meant to use (diagnostics and tests).
    pub fn opcua_stack(&self, plc: &str) -> Option<SocketAddr> {
        let plc = self.live.scenario.plc(plc)?;
        let stacks = self.cx.opcua_stacks.lock().unwrap_or_else(|e| e.into_inner());
        stacks.iter().find(|(p, _)| *p == plc).map(|(_, a)| *a)
    }

    /// Which host each client address a team may bind stands for: the hosts given one (in host
    /// order, the first of each that is not the range's own client's), and the host every
    /// other address is.
    pub fn host_addresses(&self) -> icsdrill_drill::views::HostAddresses {
        let s = &self.live.scenario;
        let sources = &self.cx.sources;
        // The range's own clients' addresses (routine traffic, the attacker) are not a team's
        // to bind: they have slots of their own.
        let own = |ip: &IpAddr| self.cx.clients.own.contains(ip);
        let hosts = (0..s.hosts.len())
            .filter_map(|i| {
                let (ip, _) = sources.map.iter().find(|(ip, h)| h.ix() == i && !own(ip))?;
                Some(icsdrill_drill::views::HostAddress { host: s.hosts[i].id.clone(), address: *ip })
            })
            .collect();
        icsdrill_drill::views::HostAddresses { hosts, default: s.hosts[sources.default.ix()].id.clone() }
    }

    /// Resolves when the simulation has stopped by itself (its duration ran out).
    pub async fn finished(&self) {
        self.live.finished().await;
    }

    /// Stops endpoints, connections and the HTTP API (waiting at most `SHUTDOWN_GRACE` for
    /// them), then the clock; returns the simulation with its whole event log.
    pub async fn shutdown(mut self) -> Result<Sim> {
        let _ = self.shutdown.send(true);
        let drained =
            tokio::time::timeout(SHUTDOWN_GRACE, async { while self.tasks.join_next().await.is_some() {} })
                .await;
        if drained.is_err() {
            tracing::warn!("endpoints or HTTP clients still open after {SHUTDOWN_GRACE:?}: aborting them");
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
        self.live.stop();
        let (sim, shards) = (self.sim, self.shards);
        match tokio::task::spawn_blocking(move || {
            shards.join();
            sim.join()
        })
        .await
        {
            Ok(Ok(sim)) => Ok(sim),
            _ => Err(Error::Failed("the simulation thread failed; see the log above".into())),
        }
    }
}

/// Binds one listener per PLC, as `opts` places them.
/// Serves every Modbus endpoint, IEC 104 station and OPC UA server, each on its PLC's event
/// loop.
fn spawn_endpoints(
    shards: &Shards,
    tasks: &mut JoinSet<()>,
    (listeners, stations, servers): (Vec<TcpListener>, Native, Native),
    cx: &Arc<Context>,
    (stop, epoll_only): (&watch::Receiver<bool>, bool),
) {
    let modbus = listeners.into_iter().enumerate().map(|(i, l)| (PlcIdx(i as u32), l, Protocol::Modbus));
    let iec104 = stations.into_iter().map(|(plc, l)| (plc, l, Protocol::Iec104));
    let opcua = servers.into_iter().map(|(plc, l)| (plc, l, Protocol::OpcUa));
    // One event loop for Modbus connections on each shard, beside its endpoints' listeners.
    let inboxes: Vec<Inbox> = (0..shards.len())
        .map(|i| {
            let (inbox, serving) = Inbox::new(stop.clone(), epoll_only);
            shards.spawn(tasks, i, serving);
            inbox
        })
        .collect();
    for (plc, listener, protocol) in modbus.chain(iec104).chain(opcua) {
        let inbox = inboxes[plc.ix() % inboxes.len()].clone();
        shards.spawn(tasks, plc.ix(), serve(listener, plc, cx.clone(), (protocol, inbox), stop.clone()));
    }
}

async fn bind_endpoints(scenario: &Scenario, opts: &Options) -> Result<Vec<TcpListener>> {
    if opts.address_mode == AddressMode::Loopback && opts.first_endpoint + scenario.plcs.len() > 250 * 250 {
        return Err(Error::invalid("loopback mode serves at most 62500 PLCs"));
    }
    let mut listeners = Vec::with_capacity(scenario.plcs.len());
    for (i, plc) in scenario.plcs.iter().enumerate() {
        let i = opts.first_endpoint + i;
        let addr = match opts.address_mode {
            AddressMode::Port if opts.modbus_port == 0 => SocketAddr::new(opts.bind, 0),
            AddressMode::Port => {
                let port = u16::try_from(usize::from(opts.modbus_port) + i).map_err(|_| {
                    Error::invalid(format!(
                        "{} PLCs from port {} run past port 65535",
                        opts.first_endpoint + scenario.plcs.len(),
                        opts.modbus_port
                    ))
                })?;
                SocketAddr::new(opts.bind, port)
            }
            AddressMode::Loopback => SocketAddr::new(loopback_address(i).into(), opts.modbus_port),
        };
        let listener = TcpListener::bind(addr).await.map_err(|cause| Error::Bind {
            what: format!("PLC {}", plc.id),
            addr,
            cause,
            hint: " (pick another base with --modbus-port; ports below 1024 need root)",
        })?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// The endpoint table: what each PLC's listener is bound to.
/// Listeners of one protocol beside Modbus, with their PLCs.
type Native = Vec<(PlcIdx, TcpListener)>;

/// Binds a listener of `protocol` (IEC 104 or OPC UA) for every PLC that speaks it, on its
/// Modbus endpoint's address.
async fn bind_native(scenario: &Scenario, opts: &Options, protocol: Protocol) -> Result<Native> {
    let (base, what, hint) = match protocol {
        Protocol::OpcUa => (opts.opcua_port, "OPC UA server", " (pick another base with --opcua-port)"),
        _ => (opts.iec104_port, "IEC 104 station", " (pick another base with --iec104-port)"),
    };
    let speaks = |p: &icsdrill_engine::scenario::PlcDef| match protocol {
        Protocol::OpcUa => p.opcua.is_some(),
        _ => p.iec104.is_some(),
    };
    let mut listeners = Vec::new();
    for (i, plc) in scenario.plcs.iter().enumerate().filter(|(_, p)| speaks(p)) {
        let n = opts.first_endpoint + i;
        let addr = match opts.address_mode {
            AddressMode::Port if opts.modbus_port == 0 => SocketAddr::new(opts.bind, 0),
            AddressMode::Port => {
                let port = u16::try_from(usize::from(base) + n)
                    .map_err(|_| Error::invalid(format!("{what}s from port {base} run past port 65535")))?;
                SocketAddr::new(opts.bind, port)
            }
            AddressMode::Loopback => SocketAddr::new(loopback_address(n).into(), base),
        };
        let listener = TcpListener::bind(addr).await.map_err(|cause| Error::Bind {
            what: format!("the {what} of PLC {}", plc.id),
            addr,
            cause,
            hint,
        })?;
        listeners.push((PlcIdx(i as u32), listener));
    }
    Ok(listeners)
}

fn endpoint_table(
    scenario: &Scenario,
    listeners: &[TcpListener],
    (stations, servers): (&Native, &Native),
) -> Result<Vec<EndpointInfo>> {
    let mut endpoints = Vec::with_capacity(listeners.len());
    let port_of = |l: &TcpListener| {
        l.local_addr().map_err(|e| Error::Failed(format!("a listener has no address: {e}")))
    };
    for (i, (plc, listener)) in scenario.plcs.iter().zip(listeners).enumerate() {
        let local = port_of(listener)?;
        let station = stations.iter().find(|(p, _)| p.ix() == i).map(|(_, l)| port_of(l)).transpose()?;
        let server = servers.iter().find(|(p, _)| p.ix() == i).map(|(_, l)| port_of(l)).transpose()?;
        endpoints.push(EndpointInfo {
            plc: plc.id.clone(),
            name: plc.name.clone(),
            role: match plc.role {
                PlcRole::Process => "process".into(),
                PlcRole::Safety => "safety".into(),
            },
            address: local.ip().to_string(),
            port: local.port(),
            unit_id: plc.unit_id,
            device: format!("{} {} {}", plc.device.vendor, plc.device.product, plc.device.revision),
            iec104_port: station.map(|a| a.port()),
            iec104_address: plc.iec104.as_ref().map(|s| s.common_address),
            opcua_port: server.map(|a| a.port()),
        });
    }
    Ok(endpoints)
}

/// The clock `opts` ask for, checked.
fn clock(scenario: &Scenario, opts: &Options) -> Result<Clock> {
    let ticks_per_s = opts.ticks_per_s.unwrap_or(f64::from(scenario.tick_hz));
    if !(MIN_TICKS_PER_S..=MAX_TICKS_PER_S).contains(&ticks_per_s) {
        return Err(Error::invalid(format!(
            "ticks per second must be in [{MIN_TICKS_PER_S}, {MAX_TICKS_PER_S}], got {ticks_per_s}"
        )));
    }
    if opts.duration_s.is_some_and(|d| !(d > 0.0 && d <= icsdrill_engine::scenario::MAX_DURATION_S)) {
        return Err(Error::invalid("a range's duration must be in (0, 7 days]"));
    }
    let end_tick = opts.duration_s.map(|d| scenario.ticks(d));
    Ok(Clock { ticks_per_s, end_tick })
}

/// Where the live attacker connects from, if the range has one.
fn attacker_address(scenario: &Scenario, opts: &Options) -> Result<Option<IpAddr>> {
    Ok(match &scenario.attack {
        Some(plan) if opts.live_attacker => Some(match opts.attacker_address {
            Some(a) => a,
            None => plan
                .address
                .parse::<IpAddr>()
                .map_err(|e| Error::invalid(format!("attacker address `{}`: {e}", plan.address)))?,
        }),
        _ => None,
    })
}

/// The socket address of each endpoint, in PLC order.
/// Where the live attacker sends its traffic: every endpoint and station of the range.
fn attack_target(
    scenario: &Scenario,
    endpoints: &[EndpointInfo],
    (address, peers): (IpAddr, Arc<crate::runtime::routine::OwnClients>),
    ticks_per_s: f64,
) -> crate::runtime::attacker::Target {
    crate::runtime::attacker::Target {
        endpoints: endpoint_addrs(endpoints),
        units: scenario.plcs.iter().map(|p| p.unit_id).collect(),
        stations: station_addrs(endpoints),
        servers: server_addrs(endpoints),
        bits: coil_ids(scenario),
        source: address,
        speed: ticks_per_s / f64::from(scenario.tick_hz),
        peers,
    }
}

/// Each PLC's IEC 104 station, if it has one: address and common address.
fn station_addrs(endpoints: &[EndpointInfo]) -> Vec<Option<(SocketAddr, u16)>> {
    endpoints
        .iter()
        .map(|e| Some((SocketAddr::new(e.address.parse().ok()?, e.iec104_port?), e.iec104_address?)))
        .collect()
}

/// Each PLC's OPC UA server, if it has one.
fn server_addrs(endpoints: &[EndpointInfo]) -> Vec<Option<SocketAddr>> {
    endpoints.iter().map(|e| Some(SocketAddr::new(e.address.parse().ok()?, e.opcua_port?))).collect()
}

/// Each PLC's coil ids: the OPC UA variables that take Booleans.
fn coil_ids(scenario: &Scenario) -> Vec<Vec<String>> {
    scenario.plcs.iter().map(|p| p.coils.iter().map(|c| c.id.clone()).collect()).collect()
}

fn endpoint_addrs(endpoints: &[EndpointInfo]) -> Vec<SocketAddr> {
    endpoints.iter().map(|e| SocketAddr::new(e.address.parse().expect("we formatted it"), e.port)).collect()
}

/// Hosts that poll, and hosts with background reads and writes: the routine client's.
fn routine_hosts(scenario: &Scenario) -> std::collections::BTreeSet<icsdrill_engine::scenario::HostIdx> {
    let background = scenario.background.iter().filter_map(|b| scenario.host(b.input.source()?));
    scenario.traffic.iter().map(|r| r.host).chain(background).collect()
}

/// The event loops each of `ranges` ranges runs with `opts`: as set, else the cores shared out
/// among the ranges, at least one each.
pub fn event_loops(opts: &Options, ranges: usize) -> usize {
    let n = match opts.event_loops {
        0 => std::thread::available_parallelism().map_or(1, usize::from) / ranges.max(1),
        n => n,
    };
    n.clamp(1, crate::runtime::shards::MAX_SHARDS)
}

/// What `ranges` ranges of `scenario` run with `opts` ask of the open-files limit.
pub fn demand(scenario: &Scenario, opts: &Options, ranges: usize) -> crate::runtime::fds::Demand {
    crate::runtime::fds::Demand {
        ranges,
        endpoints: scenario.endpoints(),
        per_endpoint: opts.limits.max_connections,
        http: opts.http.max_connections,
        per_range: opts.range_connections,
        attacker: opts.live_attacker && scenario.attack.is_some(),
        loops: event_loops(opts, ranges),
        // At most one connection from each routine host to each endpoint.
        routine: if opts.routine_traffic { routine_hosts(scenario).len() * scenario.endpoints() } else { 0 },
    }
}

/// The loopback address each host with routine traffic sends it from: its `--source` address,
/// or `.200 + host index` in `base` (`Options::host_base`), added to the source map so the
/// endpoints know it; then every host's address for teams (`place_hosts`).
fn routine_addresses(
    scenario: &Scenario,
    sources: &mut SourceMap,
    base: Ipv4Addr,
) -> std::collections::BTreeMap<icsdrill_engine::scenario::HostIdx, IpAddr> {
    let mut out = std::collections::BTreeMap::new();
    for host in routine_hosts(scenario) {
        if let Some((ip, _)) = sources.map.iter().find(|(_, h)| *h == host) {
            out.insert(host, *ip);
            continue;
        }
        let Some(ip) = crate::runtime::routine::host_address(base, host).map(IpAddr::V4) else { continue };
        sources.map.push((ip, host));
        out.insert(host, ip);
    }
    // Then the addresses teams bind to act as the hosts (after the routine ones: a host's
    // routine traffic keeps its own address).
    place_hosts(scenario, sources, base);
    out
}

/// Gives every host an address a team's client binds to act as it (`.100 + host index` in
/// `base`, `routine::team_host_address`): the operator station's, say, to take an interlock's
/// bypass off once the engineering workstation is isolated. Not the routine traffic's address
/// (`.200 +`), which is the range's own client with slots of its own, nor an address
/// `--source` gave another host. Any other address is the engineering workstation.
fn place_hosts(scenario: &Scenario, sources: &mut SourceMap, base: Ipv4Addr) {
    for i in 0..scenario.hosts.len() {
        let host = icsdrill_engine::scenario::HostIdx(i as u32);
        let Some(ip) = crate::runtime::routine::team_host_address(base, host).map(IpAddr::V4) else {
            continue;
        };
        if !sources.map.iter().any(|(a, _)| *a == ip) {
            sources.map.push((ip, host));
        }
    }
}

/// Maps `--source ADDR=HOST` pairs; everything else is the first engineering workstation (or
/// the first host when there is none).
fn source_map(scenario: &Scenario, pairs: &[(IpAddr, String)]) -> Result<SourceMap> {
    let default =
        scenario.hosts.iter().position(|h| h.role == icsdrill_engine::scenario::HostRole::Ews).unwrap_or(0);
    if scenario.hosts.is_empty() {
        return Err(Error::invalid(format!(
            "scenario `{}` has no hosts to stand for Modbus clients",
            scenario.id
        )));
    }
    let mut map = Vec::new();
    for (ip, host) in pairs {
        let Some(h) = scenario.host(host) else {
            let known: Vec<&str> = scenario.hosts.iter().map(|h| h.id.as_str()).collect();
            return Err(Error::invalid(format!(
                "--source {ip}={host}: no host `{host}` in scenario `{}` (hosts: {})",
                scenario.id,
                known.join(", ")
            )));
        };
        map.push((*ip, h));
    }
    Ok(SourceMap { map, attacker: None, default: icsdrill_engine::scenario::HostIdx(default as u32) })
}

/// The range as the HTTP API sees it.
struct Api {
    live: Arc<Live>,
    endpoints: Vec<EndpointInfo>,
}

impl RangeApi for Api {
    fn health(&self) -> Health {
        let snapshot = self.live.snapshot();
        Health {
            status: if self.live.stopped() { "stopped" } else { "ok" }.into(),
            scenario: self.live.scenario.id.clone(),
            seed: self.live.seed,
            tick: snapshot.tick,
            simulated_s: snapshot.tick as f64 / f64::from(self.live.scenario.tick_hz),
            uptime_s: self.live.uptime().as_secs_f64(),
            events: self.live.event_count(),
            dropped_records: self.live.dropped(),
            summarised_requests: self.live.summarised(),
            endpoints: self.endpoints.len(),
        }
    }

    fn endpoints(&self) -> Vec<EndpointInfo> {
        self.endpoints.clone()
    }

    fn transactions(&self, since: u64, limit: usize) -> Vec<SimEvent> {
        self.live.transactions_since(since, limit)
    }
}
