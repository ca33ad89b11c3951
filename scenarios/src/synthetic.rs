//! Synthetic plants of any size, built from one repeated tank unit, for benchmarks and load
//! tests. They go through the same YAML parser and validator as every library scenario.

use std::fmt::Write;

/// YAML for a plant of `n_plcs` identical tank units: each unit is one PLC with a level loop,
/// a pump, an alarm block and an interlock, plus its tank in the process model.
pub fn synthetic_yaml(n_plcs: usize) -> String {
    let mut y = String::new();
    let _ = write!(
        y,
        "id: synthetic-{n_plcs}
meta:
  industry: other
  level: 2
  title: {{ en: Synthetic plant of {n_plcs} tank units, zh: {n_plcs} 个储罐单元的合成工厂 }}
  brief: {{ en: Generated for benchmarks, zh: 为基准测试生成 }}
network:
  zones:
    - {{ id: supervisory, name: Supervisory, level: supervisory }}
    - {{ id: control, name: Control, level: control }}
  conduits:
    - {{ id: c-sup-ctl, from: supervisory, to: control, allow_sources: [hmi-01, ews-01] }}
  hosts:
    - {{ id: hmi-01, name: HMI, role: hmi, zone: supervisory }}
    - {{ id: ews-01, name: EWS, role: ews, zone: supervisory }}
process:
  model: lumped
  variables:
"
    );
    for i in 0..n_plcs {
        let _ = writeln!(
            y,
            "    - {{ id: level{i}, name: Tank {i} level, unit: \"%\", initial: {init}, bounds: [0, 100], safe: [8, 92], damage_above: 100,
        terms: [{{ gain: 0.1, of: [inlet{i}] }}, {{ gain: -0.05, of: [pump{i}] }}] }}",
            init = 40 + (i % 20)
        );
    }
    y.push_str("  actuators:\n");
    for i in 0..n_plcs {
        let _ = writeln!(y, "    - {{ id: inlet{i}, name: Inlet {i}, kind: binary, stroke_s: 10 }}");
        let _ = writeln!(y, "    - {{ id: pump{i}, name: Pump {i}, kind: binary, stroke_s: 3, initial: 1 }}");
    }
    y.push_str("  sensors:\n");
    for i in 0..n_plcs {
        let _ = writeln!(
            y,
            "    - {{ id: lit{i}, name: Level {i}, var: level{i}, noise: 0.1, range: [0, 100] }}"
        );
        let _ =
            writeln!(y, "    - {{ id: lshh{i}, name: Level switch {i}, var: level{i}, switch_above: 95 }}");
    }
    y.push_str("plcs:\n");
    for i in 0..n_plcs {
        let _ = writeln!(
            y,
            "  - id: plc-{i}
    name: Tank PLC {i}
    zone: control
    device: {{ vendor: icsdrill, product: synthetic, revision: \"1\" }}
    scan_ms: 200
    coils:
      - {{ id: pump_run, addr: 0, name: Pump run, initial: true }}
      - {{ id: bypass, addr: 1, name: Interlock bypass }}
    discrete_inputs:
      - {{ id: lshh, addr: 0, name: High-high switch, switch: lshh{i} }}
    input_registers:
      - {{ id: level, addr: 0, name: Level, sensor: lit{i} }}
    holding_registers:
      - {{ id: sp_low, addr: 0, name: Fill start, initial: 40, range: [10, 80] }}
      - {{ id: sp_high, addr: 1, name: Fill stop, initial: 60, range: [20, 85] }}
      - {{ id: al_hi, addr: 2, name: High alarm, initial: 85 }}
    reserved:
      - {{ table: holding_registers, start: 3, count: 97, note: recipe area }}
    logic:
      - on_off: {{ id: fill{i}, pv: lit{i}, low: sp_low, high: sp_high, output: inlet{i}, action: fill }}
      - follow: {{ coil: pump_run, output: pump{i} }}
      - alarm: {{ id: al{i}, pv: lit{i}, hi: al_hi, deadband: 1 }}
      - interlock: {{ id: il{i}, pv: lshh{i}, bypass: bypass, actions: [{{ actuator: inlet{i}, value: 0 }}] }}"
        );
    }
    y
}
