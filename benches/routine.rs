//! What routine traffic costs: 200 teams x 20 PLCs (4000 Modbus endpoints) live and ticking in
//! real time, as two processes of 100 teams running at once (one process of 200 needs more
//! open files than this machine's hard limit of 20 000), measured with the routine traffic on
//! the wire and with it kept off (the log counts it either way), alternately, twice each.
//! Reports the cores the processes keep busy and the routine requests per second. Target
//! (issue 15): routine traffic costs under 0.2 cores at 200 teams.
//!
//! `cargo bench --bench routine`; `cargo test --benches` runs a small quick version.

use std::sync::Arc;
use std::time::{Duration, Instant};

use icsdrill::drill::{DrillServer, DrillSpec};
use icsdrill_drill::{Control, Mode};
use icsdrill_engine::Scenario;
use icsdrill_web::drill::DrillApi;

mod common;
use common::cpu_s;

/// Cores busy over `seconds` of a drill of `teams` ranges, routine traffic on the wire or not.
async fn cores(scenario: &Arc<Scenario>, teams: usize, seconds: f64, wire: bool) -> f64 {
    let ids: Vec<String> = (0..teams).map(|i| format!("team-{i:03}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut spec = DrillSpec::new(scenario.clone(), &refs, Mode::Regional);
    spec.range.modbus_port = 0;
    spec.range.http_port = 0;
    spec.range.routine_traffic = wire;
    let server = DrillServer::start(spec).await.expect("drill starts");
    let drill = server.drill.clone();
    drill.control(Control::Start).expect("start");
    // Let every range connect its routine clients before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, t0) = (cpu_s(), Instant::now());
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let busy = (cpu_s() - cpu0) / t0.elapsed().as_secs_f64();
    server.shutdown().await.expect("drill stops");
    busy
}

/// What one process of the measurement prints: the cores it kept busy.
fn child(teams: usize, seconds: f64, wire: bool) {
    let yaml = icsdrill_scenarios::synthetic_yaml(20);
    let scenario = Arc::new(Scenario::from_yaml("synthetic", &yaml).unwrap_or_else(|e| panic!("{e}")));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let busy = runtime.block_on(cores(&scenario, teams, seconds, wire));
    println!("busy {busy}");
}

/// Cores busy in all over `procs` processes of `teams` teams each, running at once.
fn together(procs: usize, teams: usize, seconds: f64, wire: bool) -> f64 {
    let me = std::env::current_exe().expect("the bench's own path");
    let children: Vec<_> = (0..procs)
        .map(|_| {
            std::process::Command::new(&me)
                .args(["--child", &teams.to_string(), &seconds.to_string(), if wire { "on" } else { "off" }])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("the bench starts itself")
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("a measuring process ends");
            let text = String::from_utf8_lossy(&out.stdout);
            text.lines()
                .find_map(|l| l.strip_prefix("busy "))
                .and_then(|b| b.parse::<f64>().ok())
                .expect("it measured")
        })
        .sum()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let n = |k: usize| args.get(i + k).expect("--child TEAMS SECONDS on|off");
        child(n(1).parse().expect("teams"), n(2).parse().expect("seconds"), n(3) == "on");
        return;
    }
    let quick = !args.iter().any(|a| a == "--bench");
    icsdrill::runtime::fds::raise_nofile_limit();
    // 200 teams as two processes of 100 (one process of 200 needs more open files than the hard
    // limit here), both running at once; quick: one small process.
    let (procs, teams, seconds) = if quick { (1, 3, 1.0) } else { (2, 100, 15.0) };
    let yaml = icsdrill_scenarios::synthetic_yaml(20);
    let scenario = Arc::new(Scenario::from_yaml("synthetic", &yaml).unwrap_or_else(|e| panic!("{e}")));
    let plan =
        icsdrill_engine::systems::routine::RoutinePlan::new(&scenario, &icsdrill_engine::rng::SimRng::new(1));
    let per_team = plan.polls_per_s(scenario.tick_hz);
    let all = procs * teams;
    println!(
        "routine traffic: {all} teams x 20 PLCs ({procs} process(es) of {teams}), {:.0} routine requests/s on the wire in all ({per_team:.0} per team)",
        per_team * all as f64
    );
    let mut worst = f64::MIN;
    for i in 0..2 {
        let on = together(procs, teams, seconds, true);
        let off = together(procs, teams, seconds, false);
        println!(
            "run {}: cores busy with routine traffic on the wire {on:.2}, off {off:.2}: it costs {:.2}",
            i + 1,
            on - off
        );
        worst = worst.max(on - off);
    }
    println!(
        "at {all} teams: {worst:.2} cores (the costlier run); target < 0.2 cores at 200 teams: {}",
        if all < 200 {
            "(quick run)"
        } else if worst < 0.2 {
            "met"
        } else {
            "not met"
        }
    );
}
