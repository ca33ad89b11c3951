//! Headless simulation speed: simulated seconds per wall second for a 20-PLC plant, a
//! 1000-PLC plant and the default library scenario. Run with `cargo bench --bench sim`.
//!
//! Target (issue 2): one simulated hour of the 20-PLC plant in under one wall second.

use std::sync::Arc;
use std::time::Instant;

use icsdrill_engine::{Scenario, Sim};

fn plant(n_plcs: usize) -> Arc<Scenario> {
    let yaml = icsdrill_scenarios::synthetic_yaml(n_plcs);
    Arc::new(Scenario::from_yaml(&format!("synthetic-{n_plcs}"), &yaml).unwrap_or_else(|e| panic!("{e}")))
}

/// Runs `simulated_s` of `scenario` `reps` times and returns the best wall time in seconds.
fn best_of(scenario: &Arc<Scenario>, simulated_s: f64, reps: usize) -> f64 {
    (0..reps)
        .map(|_| {
            let mut sim = Sim::new(scenario.clone(), 1);
            let started = Instant::now();
            sim.run_until(scenario.ticks(simulated_s), &[]);
            let wall = started.elapsed().as_secs_f64();
            assert!(sim.events().len() > 1);
            wall
        })
        .fold(f64::INFINITY, f64::min)
}

/// A live range's tick on `scenario`: microseconds per tick of the step alone and of the step
/// with the snapshot a live range publishes after it (sharing what did not change), best of
/// `reps` runs of `ticks` ticks each.
fn live_tick_us(scenario: &Arc<Scenario>, ticks: u64, reps: usize) -> (f64, f64) {
    let run = |publish: bool| {
        (0..reps)
            .map(|_| {
                let mut sim = Sim::new(scenario.clone(), 1);
                let mut published = Arc::new(sim.snapshot());
                let started = Instant::now();
                for _ in 0..ticks {
                    sim.step(Vec::new());
                    if publish {
                        published = Arc::new(sim.snapshot_after(&published));
                    }
                }
                let wall = started.elapsed().as_secs_f64();
                assert_eq!(published.tick, if publish { ticks } else { 0 });
                wall / ticks as f64 * 1e6
            })
            .fold(f64::INFINITY, f64::min)
    };
    (run(false), run(true))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and wants a quick run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (hour, reps) = if quick { (60.0, 1) } else { (3600.0, 3) };
    println!("{:<28} {:>10} {:>10} {:>14} {:>12}", "plant", "sim s", "wall s", "sim s / wall s", "us / tick");
    let cases: Vec<(String, Arc<Scenario>, f64)> = vec![
        ("synthetic, 20 PLCs".into(), plant(20), hour),
        ("synthetic, 1000 PLCs".into(), plant(1000), if quick { 10.0 } else { 300.0 }),
        (
            format!("{} (4 PLCs)", icsdrill_scenarios::DEFAULT),
            icsdrill_scenarios::builtin(icsdrill_scenarios::DEFAULT).unwrap().load().unwrap(),
            hour,
        ),
    ];
    let mut hour_of_20 = None;
    for (name, scenario, simulated_s) in &cases {
        let wall = best_of(scenario, *simulated_s, reps);
        let ticks = scenario.ticks(*simulated_s) as f64;
        println!(
            "{name:<28} {simulated_s:>10.0} {wall:>10.3} {:>14.0} {:>12.2}",
            simulated_s / wall,
            wall / ticks * 1e6
        );
        if name.contains("20 PLCs") {
            hour_of_20 = Some(wall * 3600.0 / simulated_s);
        }
    }
    // A 500-team node ticks 5 000 of these a second: the snapshot is most of the live cost.
    for (name, scenario, _) in [&cases[0], &cases[2]] {
        let (step, published) = live_tick_us(scenario, if quick { 100 } else { 3_000 }, reps);
        println!(
            "live tick, {name}: step {step:.1} us, with the published snapshot {published:.1} us ({:.1} us the snapshot)",
            published - step
        );
    }
    let h = hour_of_20.expect("the 20-PLC case ran");
    let verdict = if h < 1.0 { "met" } else { "MISSED" };
    println!("one simulated hour of the 20-PLC plant: {h:.3} s wall (target < 1 s: {verdict})");
}
