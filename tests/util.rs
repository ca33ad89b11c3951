//! Shared test helpers: loading scenarios, running them, hashing logs.

use std::sync::Arc;

use icsdrill_engine::input::ModbusTransaction;
use icsdrill_engine::{EventKind, Scenario, Sim, SimEvent, SimInput, TimedInput};

/// Loads a built-in scenario, failing the test with its errors.
#[track_caller]
pub(crate) fn builtin(id: &str) -> Arc<Scenario> {
    let b = icsdrill_scenarios::builtin(id).unwrap_or_else(|| panic!("no built-in scenario `{id}`"));
    b.load().unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `scenario` for `seconds` with `inputs`, returning the simulation.
pub(crate) fn run(scenario: &Arc<Scenario>, seed: u64, seconds: f64, inputs: &[TimedInput]) -> Sim {
    let mut sim = Sim::new(scenario.clone(), seed);
    sim.run_until(scenario.ticks(seconds), inputs);
    sim
}

/// SHA-256 of the log as JSON Lines, in hex (the engine's replay contract).
pub(crate) fn log_hash(sim: &Sim) -> String {
    icsdrill_engine::log_hash(sim.events())
}

/// A register write from the engineering workstation.
pub(crate) fn write_reg(tick: u64, plc: &str, addr: u16, value: u16) -> TimedInput {
    TimedInput { tick, input: SimInput::write_registers(plc, "ews-01", addr, vec![value]) }
}

/// A read of holding registers 0-1 of `plc` from host `source`, answered.
pub(crate) fn read(plc: &str, source: &str) -> SimInput {
    SimInput::ModbusRequest(ModbusTransaction {
        values: Vec::new(),
        plc: plc.into(),
        source: source.into(),
        function: 3,
        addr: 0,
        count: 2,
        exception: None,
        reason: None,
        unit: None,
        repeat: 1,
    })
}

/// A coil write from the engineering workstation.
pub(crate) fn write_coil(tick: u64, plc: &str, addr: u16, value: bool) -> TimedInput {
    TimedInput { tick, input: SimInput::write_coils(plc, "ews-01", addr, vec![value]) }
}

/// Events other than samples, one per line, for failure messages.
pub(crate) fn story(events: &[SimEvent]) -> String {
    events
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Sample { .. }))
        .map(|e| e.to_json())
        .collect::<Vec<_>>()
        .join("\n")
}

/// First tick at which an event matching `f` happened.
pub(crate) fn first(events: &[SimEvent], f: impl Fn(&EventKind) -> bool) -> Option<u64> {
    events.iter().find(|e| f(&e.kind)).map(|e| e.tick)
}

/// A one-tank plant for tests: a conduit with an allow-list of function codes and write
/// windows, a PLC with range checks, a PI loop, a pump and a latching interlock.
pub(crate) const MINI: &str = r#"
id: mini
meta: { industry: other, level: 2, title: Mini, brief: A one-tank plant for tests }
network:
  zones:
    - { id: it, name: IT, level: enterprise }
    - { id: sup, name: Supervisory, level: supervisory }
    - { id: ctl, name: Control, level: control }
  conduits:
    - id: c1
      from: sup
      to: ctl
      allow_sources: [hmi, ews]
      allow_functions: [1, 2, 3, 4, 5, 6, 16]
      write_ranges: [{ plc: plc1, start: 0, end: 1, min: 100, max: 900 }, { plc: plc1, start: 2, end: 3 }]
  hosts:
    - { id: hmi, name: HMI, role: hmi, zone: sup }
    - { id: ews, name: EWS, role: ews, zone: sup }
    - { id: hist, name: Historian, role: historian, zone: sup }
    - { id: office, name: Office, role: it_workstation, zone: it }
    - { id: local, name: Local panel, role: hmi, zone: ctl }
process:
  model: lumped
  variables:
    - { id: level, name: Level, unit: "%", initial: 50, bounds: [0, 100], safe: [5, 95], damage_above: 100,
        terms: [{ gain: 0.5, of: [inlet] }, { gain: -0.25, of: [pump] }] }
  actuators:
    - { id: inlet, name: Inlet, kind: analog, stroke_s: 0, initial: 0.5, fail: 0 }
    - { id: pump, name: Pump, kind: binary, stroke_s: 0, initial: 1, fail: 0 }
  sensors:
    - { id: lit, name: Level, var: level, range: [0, 100] }
    - { id: lshh, name: High switch, var: level, switch_above: 90 }
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: { vendor: V, product: P, revision: "1" }
    range_checks: true
    coils:
      - { id: manual, addr: 0, name: Manual }
      - { id: pump_run, addr: 1, name: Pump run, initial: true }
      - { id: bypass, addr: 2, name: Bypass }
      - { id: reset, addr: 3, name: Reset }
    discrete_inputs:
      - { id: tripped, addr: 0, name: Tripped, tripped: il }
    input_registers:
      - { id: lit_ir, addr: 0, name: Level, sensor: lit }
    holding_registers:
      - { id: sp, addr: 0, name: Set point, initial: 50, range: [20, 80] }
      - { id: out, addr: 1, name: Manual output, initial: 0.2, scale: 1000 }
      - { id: free, addr: 2, name: Unchecked, initial: 0 }
    reserved:
      - { table: holding_registers, start: 10, count: 5 }
    logic:
      - pi: { id: loop, pv: lit, setpoint: sp, kp: 0.05, ki: 0.01, bias: 0.5, output: inlet, manual: manual, manual_output: out }
      - follow: { coil: pump_run, output: pump }
      - interlock: { id: il, pv: lshh, bypass: bypass, reset: reset, actions: [{ actuator: inlet, value: 0 }] }
"#;

pub(crate) fn mini() -> Arc<Scenario> {
    Arc::new(Scenario::from_yaml("mini.yaml", MINI).unwrap_or_else(|e| panic!("{e}")))
}

/// The banner's lines read so far, and the rest of the program's output to come.
pub(crate) type Banner = (Served, Vec<String>, std::io::Lines<std::io::BufReader<std::process::ChildStdout>>);

/// A live exam of trainee `team` served by the command line, recording in `data`, with the
/// flags `more`: the served process, its banner and the rest of its output, and its web
/// address and the trainee's token from the banner.
pub(crate) fn served_exam(team: &str, data: &str, more: &[&str]) -> (Banner, std::net::SocketAddr, String) {
    let args = [
        "serve",
        "--mode",
        "exam",
        "--teams",
        team,
        "--data-dir",
        data,
        "--modbus-port",
        "0",
        "--http-port",
        "0",
    ];
    let banner = spawn_served(&[&args[..], more].concat(), None);
    let console = banner.1.iter().find_map(|l| l.split("console / 队伍控制台: ").nth(1)).unwrap().trim();
    let (base, token) = console.split_once(&format!("/team/{team}?token=")).unwrap();
    let addr = base.trim_start_matches("http://").parse().unwrap();
    let token = token.to_string();
    (banner, addr, token)
}

/// What a drill the white cell ended prints after its banner, up to its last line (it prints
/// nothing after it while its pages stay, so the pipe may close then), within 60 s.
pub(crate) async fn printed_once_ended(
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) -> Vec<String> {
    let printed = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for line in lines.map_while(Result::ok) {
            let done = line.contains("pages and reports stay here");
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    });
    tokio::time::timeout(std::time::Duration::from_secs(60), printed).await.unwrap().unwrap()
}

/// A served `icsdrill` child process, killed (and reaped) when dropped: a test that fails
/// half-way leaves no server behind.
pub(crate) struct Served(pub(crate) std::process::Child);

impl std::ops::Deref for Served {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `icsdrill` with `args` (and `ICSDRILL_DATA=data`, when given) and reads its banner up
/// to "Press Ctrl-C".
pub(crate) fn spawn_served(args: &[&str], data: Option<&std::path::Path>) -> Banner {
    spawn_served_with(args, data, |_| {})
}

/// `spawn_served`, with the command adjusted first (environment, where the log goes).
pub(crate) fn spawn_served_with(
    args: &[&str],
    data: Option<&std::path::Path>,
    adjust: impl FnOnce(&mut std::process::Command),
) -> Banner {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_icsdrill"));
    cmd.args(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
    if let Some(d) = data {
        cmd.env("ICSDRILL_DATA", d);
    }
    adjust(&mut cmd);
    read_banner(cmd.spawn().unwrap())
}

/// Reads a started `icsdrill`'s banner (its stdout piped) up to "Press Ctrl-C"; the child is
/// killed when the returned `Served` is dropped.
pub(crate) fn read_banner(mut child: std::process::Child) -> Banner {
    use std::io::BufRead as _;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("Press Ctrl-C");
        seen.push(line);
        if done {
            break;
        }
    }
    (Served(child), seen, lines)
}

/// The id of the drill a banner announces ("Drill ID recorded in ...").
pub(crate) fn drill_id(banner: &[String]) -> String {
    banner
        .iter()
        .find_map(|l| l.strip_prefix("Drill "))
        .expect("the banner names the drill")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A drill spec for tests: OS-chosen ports, the attack inside the simulation, a manual clock,
/// and, with `record`, the scenario's `source` recorded in SQLite in that directory.
pub(crate) fn test_spec(
    scenario: Arc<Scenario>,
    teams: &[&str],
    mode: icsdrill_drill::Mode,
    record: Option<(&std::path::Path, &str)>,
) -> icsdrill::drill::DrillSpec {
    let mut spec = icsdrill::drill::DrillSpec::new(scenario, teams, mode);
    spec.range.modbus_port = 0;
    spec.range.http_port = 0;
    spec.range.live_attacker = false;
    spec.manual_clock = true;
    if let Some((dir, source)) = record {
        spec.database = Some(icsdrill::store::Database::Sqlite(dir.to_path_buf()));
        spec.scenario_source = Some(source.to_string());
    }
    spec
}

/// A one-team enterprise drill of the tank farm on OS-chosen ports, its live attacker on the
/// wire and its clock at `ticks_per_s` (real time: 10), started.
pub(crate) async fn live_tank_farm(team: &str, ticks_per_s: f64) -> icsdrill::drill::DrillServer {
    use icsdrill_web::drill::DrillApi as _;
    let mut spec = icsdrill::drill::DrillSpec::new(
        builtin("petrochem-tank-farm"),
        &[team],
        icsdrill_drill::Mode::Enterprise,
    );
    (spec.range.modbus_port, spec.range.http_port) = (0, 0);
    spec.range.ticks_per_s = Some(ticks_per_s);
    let server = icsdrill::drill::DrillServer::start(spec).await.expect("the drill starts");
    server.drill.control(icsdrill_drill::Control::Start).expect("it starts");
    server
}

/// A fresh data directory (`icsdrill-NAME-PID` in the temporary directory) and a `test_spec`
/// of the tank farm recorded in it.
pub(crate) fn recorded_tank_farm(
    name: &str,
    teams: &[&str],
    mode: icsdrill_drill::Mode,
) -> (std::path::PathBuf, icsdrill::drill::DrillSpec) {
    let dir = std::env::temp_dir().join(format!("icsdrill-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let source = icsdrill_scenarios::builtin("petrochem-tank-farm").expect("built in").source;
    let spec = test_spec(builtin("petrochem-tank-farm"), teams, mode, Some((&dir, source)));
    (dir, spec)
}

/// Waits, at most `bound`, until `live`'s published log holds an event `found` accepts,
/// looking again at every tick (no timer): whether one showed.
pub(crate) async fn wait_for_event(
    live: &icsdrill::runtime::live::Live,
    bound: std::time::Duration,
    found: impl Fn(&SimEvent) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if !live.events_since(0, 1, &found).is_empty() {
            return true;
        }
        let next = live.snapshot().tick + 1;
        if tokio::time::timeout_at(deadline, live.wait_for_tick(next)).await.is_err() || live.stopped() {
            return !live.events_since(0, 1, &found).is_empty();
        }
    }
}

/// Waits, at most ten seconds, until the board `rx` watches satisfies `ok`: the board as
/// then published.
pub(crate) async fn board_where(
    mut rx: tokio::sync::watch::Receiver<Arc<icsdrill_drill::Scoreboard>>,
    what: &str,
    ok: impl Fn(&icsdrill_drill::Scoreboard) -> bool,
) -> Arc<icsdrill_drill::Scoreboard> {
    let seen = match tokio::time::timeout(std::time::Duration::from_secs(10), rx.wait_for(|b| ok(b))).await {
        Ok(Ok(b)) => Some(b.clone()),
        _ => None,
    };
    seen.unwrap_or_else(|| panic!("the board never showed {what}: {:?}", rx.borrow().rows))
}

/// The instructor's board once it shows every team's current score card.
pub(crate) async fn board_caught_up(drill: &icsdrill::drill::Drill) -> Arc<icsdrill_drill::Scoreboard> {
    use icsdrill_web::drill::DrillApi as _;
    let cards: Vec<(String, f64)> =
        drill.teams().map(|(t, _, _)| (t.id.clone(), drill.team_score(&t.id).unwrap().total)).collect();
    board_where(drill.scoreboard(true), "every team's current card", |b| {
        cards.iter().all(|(team, total)| b.rows.iter().any(|r| r.team == *team && r.total == *total))
    })
    .await
}

/// Serves the regional view of the registry in `dir` on an ephemeral loopback port: its
/// address, the sender that stops it, and the server's task.
pub(crate) async fn serve_region(
    dir: &std::path::Path,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
    let api: std::sync::Arc<dyn icsdrill_web::region::RegionApi> =
        std::sync::Arc::new(icsdrill::governance::region::RegionService::new(
            icsdrill::store::Database::Sqlite(dir.to_path_buf()),
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(icsdrill_web::region::serve(listener, api, Default::default(), async {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

/// The PostgreSQL database `scripts/test` starts (`ICSDRILL_TEST_POSTGRES`), or `None` with a
/// note that `what` is not tested here; its absence fails under `ICSDRILL_REQUIRE_POSTGRES`
/// (as on CI).
pub(crate) fn test_postgres(what: &str) -> Option<String> {
    match std::env::var("ICSDRILL_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("ICSDRILL_REQUIRE_POSTGRES").is_none(),
                "ICSDRILL_REQUIRE_POSTGRES is set but ICSDRILL_TEST_POSTGRES is not"
            );
            eprintln!("note: ICSDRILL_TEST_POSTGRES not set: {what} not tested here");
            None
        }
    }
}
