//! Scenario validation: every problem located as FILE:LINE:COL, and no input panics.

use icsdrill_engine::Scenario;
use icsdrill_engine::rng::SimRng;
use rand::RngExt;

/// Validates `yaml` (a broken copy of the tank farm) and returns the rendered errors.
#[track_caller]
fn errors(yaml: &str) -> String {
    match Scenario::from_yaml("broken.yaml", yaml) {
        Ok(_) => panic!("a broken scenario validated"),
        Err(e) => e.to_string(),
    }
}

fn tank_farm() -> &'static str {
    icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().source
}

/// The tank farm with `from` replaced by `to` (exactly once).
#[track_caller]
fn broken(from: &str, to: &str) -> String {
    let src = tank_farm();
    assert_eq!(src.matches(from).count(), 1, "`{from}` must occur once");
    src.replacen(from, to, 1)
}

/// Line (1-based) of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

#[track_caller]
fn check(from: &str, to: &str, message: &str) {
    let yaml = broken(from, to);
    let out = errors(&yaml);
    let line = line_of(&yaml, to.lines().next().unwrap());
    let located = format!("broken.yaml:{line}:");
    assert!(out.contains(&located), "expected an error at {located} for `{to}`, got:\n{out}");
    assert!(out.contains(message), "expected `{message}`, got:\n{out}");
}

#[test]
fn every_kind_of_problem_is_located() {
    // Unknown keys, at the key.
    check(
        "    coils:\n      - { id: xv101_manual",
        "    colis: []\n    coils:\n      - { id: xv101_manual",
        "unknown field `colis`",
    );
    // Dangling references.
    check("var: t101_level, noise: 0.1", "var: t101_levle, noise: 0.1", "unknown variable `t101_levle`");
    check("sensor: lit101, scale: 10 }", "sensor: lit1O1, scale: 10 }", "unknown sensor `lit1O1`");
    check("zone: safety\n    unit_id", "zone: safty\n    unit_id", "unknown zone `safty`");
    check("allow_sources: [ews-01, hmi-01]", "allow_sources: [ews-01, hmi-02]", "unknown host `hmi-02`");
    check(
        "low: t101_sp_low, high",
        "low: t101_sp_lo, high",
        "`t101_sp_lo` is not a holding register of PLC `plc-t101`",
    );
    check(
        "il101_state, addr: 0, name: { en: IL-101 tripped, zh: IL-101 已联锁 }, tripped: il-101 }",
        "il101_state, addr: 0, name: { en: IL-101 tripped, zh: IL-101 已联锁 }, tripped: il-909 }",
        "unknown interlock `il-909`",
    );
    // Overlapping register ranges.
    check("{ id: t101_al_lo, addr: 4,", "{ id: t101_al_lo, addr: 3,", "overlaps `t101_al_hihi`");
    check("start: 100, count: 50", "start: 4, count: 50", "overlaps");
    // Out-of-range values.
    check("level: 3\n", "level: 4\n", "enterprise level 4 is out of range 1..=3");
    check(
        "unit_id: 1\n    device: { vendor: HIMA",
        "unit_id: 300\n    device: { vendor: HIMA",
        "unit_id 300 is out of range",
    );
    check(
        "initial: 120\n      bounds: [0, 400]",
        "initial: 500\n      bounds: [0, 400]",
        "initial 500 is outside bounds",
    );
    check(
        "initial: 2700, scale: 10, range",
        "initial: 7000, scale: 10, range",
        "does not fit a 16-bit register",
    );
    check("damage_above: 3300", "damage_above: 5000", "can never be reached");
    check("tick_hz: 10", "tick_hz: 0", "tick_hz 0 is out of range");
    check(
        "time_limit_s: 1800",
        "valid_years: 2.5\n  time_limit_s: 1800",
        "valid_years must be a whole number of years from 0 (no end) to 10, got 2.5",
    );
    check("time_limit_s: 1800", "valid_years: 11\n  time_limit_s: 1800", "got 11");
    // Duplicates and double drivers.
    check("id: plc-t102\n", "id: plc-t101 \n", "duplicate PLC id `plc-t101`");
    check(
        "follow: { coil: p101_run, output: p101 }",
        "follow: { coil: p101_run, output: xv101 }",
        "already driven by `t101-fill`",
    );
    // A response-plan step waiting for a bypass to come off names an interlock with one.
    check(
        "done_by: [\"bypass_off:il-101\", \"restore_setpoints",
        "done_by: [\"bypass_off:il-909\", \"restore_setpoints",
        "`bypass_off:il-909` names no interlock of the plant",
    );
    // Wrong types and bad YAML.
    check(
        "scan_ms: 100\n    coils:\n      - { id: h201_manual",
        "scan_ms: fast\n    coils:\n      - { id: h201_manual",
        "",
    );
    check("  tick_hz: 10", "  tick_hz: [10", "");
    // ... and one with a bypass coil: said at the step's entry.
    let yaml = broken("id: il-101, pv: lshh101, bypass: il101_bypass, ", "id: il-101, pv: lshh101, ");
    let out = errors(&yaml);
    let at = format!("broken.yaml:{}:", line_of(&yaml, "\"bypass_off:il-101\""));
    assert!(out.contains(&at) && out.contains("interlock `il-101` has no bypass coil to take off"), "{out}");
}

#[test]
fn all_problems_are_reported_at_once() {
    let yaml = broken("var: t101_level, noise: 0.1", "var: nope, noise: 0.1").replacen(
        "level: 3\n",
        "level: 9\n",
        1,
    );
    let out = errors(&yaml);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().all(|l| l.starts_with("broken.yaml:")), "{out}");
}

#[test]
fn mutated_scenarios_never_panic_and_errors_are_located() {
    let rng = SimRng::new(20261124);
    for b in icsdrill_scenarios::LIBRARY {
        let mut r = rng.stream(b.id);
        let lines: Vec<&str> = b.source.lines().collect();
        for case in 0..300 {
            let mut m: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            for _ in 0..r.random_range(1..4) {
                let i = r.random_range(0..m.len());
                match r.random_range(0..7) {
                    0 => {
                        m.remove(i);
                    }
                    1 => {
                        let l = m[i].clone();
                        m.insert(i, l);
                    }
                    2 => m[i] = m[i].replacen(|c: char| c.is_ascii_digit(), "9", 1),
                    3 => m[i] = m[i].replacen(':', "", 1),
                    4 => {
                        let n = m[i].chars().count();
                        let at = m[i]
                            .char_indices()
                            .map(|(p, _)| p)
                            .chain([m[i].len()])
                            .nth(r.random_range(0..=n))
                            .unwrap();
                        m[i].insert(at, ['{', '[', '"', '-', '\t', '\u{0}'][r.random_range(0..6)]);
                    }
                    5 => m[i] = m[i].replacen(|c: char| c.is_ascii_lowercase(), "q", 1),
                    _ => m[i] = format!("{}  ", m[i].replacen(' ', "", 2)),
                }
            }
            let yaml = m.join("\n");
            // A mutation may keep the file valid (a changed digit in a comment); that is fine.
            if let Err(errs) = Scenario::from_yaml("m.yaml", &yaml) {
                assert!(!errs.0.is_empty(), "{} case {case}: an error without problems", b.id);
                for e in &errs.0 {
                    assert!(e.line >= 1 && e.column >= 1, "{} case {case}: unlocated {e}", b.id);
                    assert!(
                        e.line as usize <= yaml.lines().count() + 1,
                        "{} case {case}: line past the end: {e}",
                        b.id
                    );
                    assert!(!e.message.is_empty(), "{} case {case}: empty message", b.id);
                    assert!(e.to_string().starts_with(&format!("m.yaml:{}:{}: ", e.line, e.column)));
                }
            }
        }
    }
}

#[test]
fn hostile_inputs_are_errors_not_panics() {
    for yaml in [
        "",
        "~",
        "[]",
        "id: x",
        "\u{0}",
        "id: &a [*a]",
        "a: &a [*a, *a, *a]\nb: *a",
        &"- ".repeat(10_000),
        &"[".repeat(10_000),
    ] {
        let _ = Scenario::from_yaml("h.yaml", yaml).expect_err("not a scenario");
    }
}

#[test]
fn every_att_ck_for_ics_v18_1_technique_validates_and_a_bogus_one_gets_a_suggestion() {
    let table: serde_json::Value =
        serde_json::from_str(include_str!("../engine/data/ics-attack-18.1.json")).unwrap();
    let ids: Vec<&str> =
        table["techniques"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 83);
    let all = format!("techniques: [{}]", ids.join(", "));
    let yaml = broken("techniques: [T0846, T0888]", &all);
    let s = Scenario::from_yaml("all.yaml", &yaml).unwrap_or_else(|e| panic!("{e}"));
    let cited = s.attack.as_ref().unwrap().steps.iter().map(|st| st.techniques.len()).max().unwrap();
    assert_eq!(cited, 83);
    // v19 ids are accepted alongside.
    Scenario::from_yaml(
        "v19.yaml",
        &broken("techniques: [T0846, T0888]", "techniques: [T1692.001, T0843.003]"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    check(
        "techniques: [T0846, T0888]",
        "techniques: [T0846, T0870]",
        "unknown ATT&CK for ICS technique `T0870`; did you mean",
    );
}

#[test]
fn traps_a_designer_falls_into_are_warnings_at_their_place() {
    let yaml = r#"
id: traps
meta: { industry: other, level: 2, title: { en: Traps }, brief: A plant with the usual traps }
network:
  zones:
    - { id: ctl, name: Control, level: control }
  hosts:
    - { id: ews, name: EWS, role: ews, zone: ctl }
process:
  model: lumped
  variables:
    - { id: level, name: Level, unit: "%", initial: 50, bounds: [0, 100], terms: [{ gain: 0.1, of: [inlet] }, { gain: -0.05 }] }
  actuators:
    - { id: inlet, name: Inlet, kind: binary, stroke_s: 0, initial: 1, fail: 0 }
  sensors:
    - { id: lt, name: Level, var: level, range: [0, 100] }
plcs:
  - id: plc1
    name: PLC 1
    zone: ctl
    device: { vendor: V, product: P, revision: "1" }
    scan_ms: 20
    holding_registers:
      - { id: sp, addr: 0, name: Set point, initial: 50 }
    logic:
      - on_off: { id: fill, pv: lt, low: 40, high: 60, output: inlet, action: fill }
attacker:
  foothold: ews
attack:
  - id: hammer
    name: Keep writing the set point
    techniques: [T0836]
    when: { at_s: 10 }
    action: { write_registers: { plc: plc1, addr: 0, values: [90] } }
    repeat: { every_s: 10, until: failure, max: 20 }
  - id: next
    name: Then scan
    techniques: [T0846]
    when: { after: hammer, outcome: succeeded }
    action: { scan: {} }
"#;
    let s = Scenario::from_yaml("traps.yaml", yaml).unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
    let expect = [
        (
            line_of(yaml, "title: { en: Traps }"),
            "a text with en only shows en to zh readers: add zh, or give a plain string",
        ),
        (line_of(yaml, "scan_ms: 20"), "scan_ms 20 is faster than the tick (100 ms)"),
        (line_of(yaml, "- on_off:"), "turns `inlet` off at its first scan although its initial is 1"),
        (line_of(yaml, "when: { after: hammer"), "`hammer` repeats until it fails (up to 20 attempts)"),
    ];
    assert_eq!(warnings.len(), expect.len(), "{warnings:#?}");
    for (line, message) in expect {
        assert!(
            warnings.iter().any(|w| w.starts_with(&format!("traps.yaml:{line}:")) && w.contains(message)),
            "no warning `{message}` at line {line}: {warnings:#?}"
        );
    }
    // The library itself falls into none of them.
    for b in icsdrill_scenarios::LIBRARY {
        let s = b.load().unwrap();
        assert!(s.warnings.is_empty(), "{}: {:?}", b.id, s.warnings);
    }
    // A PI output that is not an actuator says what it is instead.
    check(
        "bias: 0.27, output: h201,",
        "bias: 0.27, output: r201_temp,",
        "`r201_temp` is a process variable, not an actuator",
    );
}

#[test]
fn the_hmi_placement_names_what_the_diagram_draws_on_its_canvas() {
    let with = |mimic: &str| format!("{}\nmimic:\n{mimic}", tank_farm());
    // Equipment (t101), sensors, actuators and interlocks may be placed.
    let ok = with(
        "  size: [900, 600]\n  place:\n    t101: [100, 200]\n    lit101: [200, 150]\n    p101: [300, 90]\n    il-101: [40, 560]\n",
    );
    let s = Scenario::from_yaml("ok.yaml", &ok).unwrap();
    assert_eq!(s.mimic.place["p101"], [300.0, 90.0]);
    assert_eq!(s.mimic.size, Some([900.0, 600.0]));
    let bad = with("  size: [900, 600]\n  place:\n    t999: [100, 200]\n    p101: [1000, 90]\n");
    let out = errors(&bad);
    assert!(out.contains("mimic places `t999`, which is no equipment"), "{out}");
    assert!(out.contains("`p101` is placed off the canvas"), "{out}");
    let line = line_of(&bad, "    p101: [1000");
    assert!(out.contains(&format!("broken.yaml:{line}:")), "{out}");
    assert!(errors(&with("  size: [20, 1e9]\n")).contains("mimic size must be"));
}

#[test]
fn an_iec104_station_is_checked_object_by_object() {
    let src = icsdrill_scenarios::builtin("power-industroyer-substation").unwrap().source;
    let cases = [
        (
            "{ ioa: 1002, point: qf2_closed, double: true }",
            "{ ioa: 1001, point: qf2_closed, double: true }",
            "information object address 1001 is used twice",
        ),
        (
            "{ ioa: 3002, point: f2_ir }",
            "{ ioa: 3002, point: f2_ri }",
            "unknown point `f2_ri` in PLC `rtu-1`",
        ),
        (
            "{ ioa: 3002, point: f2_ir }",
            "{ ioa: 3002, point: f2_ir, double: true }",
            "a double point is a coil or a discrete input",
        ),
        (
            "{ ioa: 3002, point: f2_ir }",
            "{ ioa: 16777216, point: f2_ir }",
            "information object address 16777216 is out of range 1..=16777215",
        ),
        (
            "iec104: { common_address: 3 }",
            "iec104: { common_address: 65535 }",
            "common_address 65535 is out of range 1..=65534",
        ),
        ("iec104: { common_address: 3 }", "iec104: { common_adress: 3 }", "unknown field `common_adress`"),
        (
            "      allow_sources: [scada-01, ews-01]",
            "      rules: [{ source: scada-01, iec104: [C_XX_NA_1] }]",
            "C_XX_NA_1",
        ),
        ("ioa: 2001, type: C_DC_NA_1", "ioa: 2001, type: C_DC_NA_2", "C_DC_NA_2"),
    ];
    each_error_located(src, &cases);
    // The default mapping: every point at its table's base plus its address.
    let s = Scenario::from_yaml("s.yaml", src).unwrap();
    let prot = &s.plcs[s.plc("prot-01").unwrap().ix()];
    let ioas: Vec<u32> = prot.iec104.as_ref().unwrap().points.iter().map(|p| p.ioa).collect();
    assert_eq!(ioas, [100_000, 100_008, 200_000, 300_000, 400_000]);
    // Three PLCs, three stations: six endpoints to share the open files among.
    assert_eq!(s.endpoints(), 6);
}

#[test]
fn an_opcua_server_its_rules_and_its_writes_are_checked_where_they_stand() {
    let src = icsdrill_scenarios::builtin("equipment-welding-line").unwrap().source;
    let cases = [
        ("opcua: {}", "opcua: { security: [none, none] }", "security mode `none` is listed twice"),
        ("opcua: {}", "opcua: { security: [tls] }", "unknown security mode `tls`"),
        (
            "node: weld_sp, value: 430",
            "node: weld_ir, value: 430",
            "has no coil or holding register `weld_ir`",
        ),
        (
            "node: weld_prog_no, value: 22",
            "node: ct201_ir, value: 22",
            "`ct201_ir` is not a coil or holding register",
        ),
        (
            "node: weld_prog_no, value: 22",
            "node: weld_prog_no, value: 1.0e9",
            "`weld_prog_no` cannot hold this value",
        ),
        (
            "      allow_sources: [hmi-01, ews-01, hist-01]",
            "      rules: [{ source: hist-01, opcua: [Browse] }]",
            "unknown OPC UA service `Browse`",
        ),
    ];
    each_error_located(src, &cases);
    // A Modbus endpoint per PLC, and the cell's OPC UA server: six endpoints.
    let s = Scenario::from_yaml("s.yaml", src).unwrap();
    assert_eq!(s.endpoints(), s.plcs.len() + 1);
}

/// For each case (`from` in `src`, once, replaced by `to`): the file's errors hold `message`,
/// located at the line of `to`.
fn each_error_located(src: &str, cases: &[(&str, &str, &str)]) {
    for (from, to, message) in cases {
        assert_eq!(src.matches(from).count(), 1, "`{from}` must occur once");
        let yaml = src.replacen(from, to, 1);
        let out = errors(&yaml);
        let located = format!("broken.yaml:{}:", line_of(&yaml, to));
        assert!(
            out.contains(&located) && out.contains(message),
            "`{to}`: expected `{message}` at {located}, got:\n{out}"
        );
    }
}
