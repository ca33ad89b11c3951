//! What routine traffic costs: a live drill of 100 teams x 20 PLCs (2000 Modbus endpoints; 200
//! teams need more open files than this machine's hard limit of 20 000 allows) in one process, ticking in real time, measured with the routine traffic on the wire and with
//! it kept off (the log counts it either way), alternately, twice each. Reports the cores the
//! process keeps busy and the routine requests per second. Target (issue 15): routine traffic
//! costs under 0.2 cores at 200 teams (twice the cost measured here).
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

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    icsdrill::runtime::fds::raise_nofile_limit();
    let (teams, seconds) = if quick { (3, 1.0) } else { (100, 15.0) };
    let yaml = icsdrill_scenarios::synthetic_yaml(20);
    let scenario = Arc::new(Scenario::from_yaml("synthetic", &yaml).unwrap_or_else(|e| panic!("{e}")));
    let plan =
        icsdrill_engine::systems::routine::RoutinePlan::new(&scenario, &icsdrill_engine::rng::SimRng::new(1));
    let per_team = plan.polls_per_s(scenario.tick_hz);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let mut on = Vec::new();
        let mut off = Vec::new();
        for _ in 0..2 {
            on.push(cores(&scenario, teams, seconds, true).await);
            off.push(cores(&scenario, teams, seconds, false).await);
        }
        println!(
            "routine traffic: {teams} teams x 20 PLCs, {:.0} routine requests/s on the wire in all ({per_team:.0} per team)",
            per_team * teams as f64
        );
        for (i, (a, b)) in on.iter().zip(&off).enumerate() {
            println!("run {}: cores busy with routine traffic on the wire {a:.2}, off {b:.2}: it costs {:.2}", i + 1, a - b);
        }
        let cost = on.iter().zip(&off).map(|(a, b)| a - b).fold(f64::MIN, f64::max) * 200.0 / teams as f64;
        println!("at 200 teams: {cost:.2} cores; target < 0.2 cores: {}", if cost < 0.2 { "met" } else { "not met" });
    });
}
