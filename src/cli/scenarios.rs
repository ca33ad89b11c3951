//! `icsdrill scenarios list|show|validate`.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use icsdrill_engine::Scenario;
use icsdrill_engine::scenario::iec104::Iec104Def;
use icsdrill_engine::scenario::{DiscreteSource, Param, RegisterSource, SensorKind, Table, Text};

use super::{Lang, load_scenario};

#[tracing::instrument(name = "scenarios list", skip_all)]
pub(crate) fn list() -> Result<ExitCode> {
    for b in icsdrill_scenarios::LIBRARY {
        let s = b.load().map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "{}\t{}\tlevel {}\t{} PLCs\t{} / {}",
            s.id,
            s.meta.industry,
            s.meta.level,
            s.plcs.len(),
            s.meta.title.en,
            s.meta.title.zh
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[tracing::instrument(name = "scenarios validate", skip_all)]
pub(crate) fn validate(paths: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for path in paths {
        let name = path.display().to_string();
        let source = match std::fs::read(path) {
            Ok(bytes) => match Scenario::text(&name, &bytes) {
                Ok(s) => s,
                Err(errors) => {
                    eprintln!("{errors}");
                    failed = true;
                    continue;
                }
            },
            Err(e) => {
                eprintln!("{name}: cannot read: {e}");
                failed = true;
                continue;
            }
        };
        match Scenario::from_yaml(&name, &source) {
            Ok(s) => {
                for w in &s.warnings {
                    eprintln!("{}:{}:{}: warning: {}", w.file, w.line, w.column, w.message);
                }
                let warned = match s.warnings.len() {
                    0 => String::new(),
                    n => format!(", {n} warning(s)"),
                };
                println!("ok {name} ({}, {} PLCs{warned})", s.id, s.plcs.len());
            }
            Err(errors) => {
                failed = true;
                eprintln!("{errors}");
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

#[tracing::instrument(name = "scenarios show", skip_all)]
pub(crate) fn show(arg: &str, lang: Lang, techniques: bool) -> Result<ExitCode> {
    let s = load_scenario(arg)?;
    if techniques {
        print!("{}", describe_attack(&s, lang));
    } else {
        print!("{}", describe(&s, lang));
    }
    Ok(ExitCode::SUCCESS)
}

/// `icsdrill scenarios techniques`: the catalogue a scenario's steps may cite.
pub(crate) fn techniques() -> Result<ExitCode> {
    let mut o = String::new();
    for t in icsdrill_engine::attack::techniques() {
        let ids = if t.v18 == t.v19 { t.v18.to_string() } else { format!("{} ({})", t.v18, t.v19) };
        let _ =
            writeln!(o, "{ids:<21} {:<55} {:<48} {}", t.name, t.tactics.join(","), t.mitigations.join(","));
    }
    print!("{o}");
    Ok(ExitCode::SUCCESS)
}

/// The attack plan and its techniques: the answer key.
fn describe_attack(s: &Scenario, lang: Lang) -> String {
    let mut o = String::new();
    let Some(plan) = &s.attack else {
        let _ = writeln!(o, "{}: no attack in this scenario", s.id);
        return o;
    };
    let _ = writeln!(
        o,
        "{}  attack from {} (live source {}), monitoring {:?}",
        s.id,
        s.hosts[plan.foothold.ix()].id,
        plan.address,
        s.monitoring
    );
    let mut all: Vec<&icsdrill_engine::attack::Technique> = Vec::new();
    for st in &plan.steps {
        let ids: Vec<String> = st
            .techniques
            .iter()
            .map(|t| if t.v18 == t.v19 { t.v19.to_string() } else { format!("{} ({})", t.v19, t.v18) })
            .collect();
        let _ = writeln!(o, "  {:<22} {:<40} {}", st.id, ids.join(", "), t(&st.name, lang));
        for tq in &st.techniques {
            if !all.iter().any(|x| x.v19 == tq.v19) {
                all.push(tq);
            }
        }
    }
    all.sort_by_key(|t| t.v19);
    let _ = writeln!(o, "techniques exercised:");
    for tq in all {
        let v18 = if tq.v18 == tq.v19 { String::new() } else { format!(" (v18 {})", tq.v18) };
        let _ = writeln!(o, "  {:<10} {}{v18}  [{}]", tq.v19, tq.name, tq.tactic);
    }
    o
}

fn t(text: &Text, lang: Lang) -> &str {
    match lang {
        Lang::En => &text.en,
        Lang::Zh => &text.zh,
    }
}

/// Zones, conduits and hosts.
fn describe_network(o: &mut String, s: &Scenario, lang: Lang) {
    let _ = writeln!(o, "zones:");
    for z in &s.zones {
        let sl = z.security_level.map(|l| format!(" SL-T {l}")).unwrap_or_default();
        let _ = writeln!(o, "  {:<14} {:?}{sl}  {}", z.id, z.level, t(&z.name, lang));
    }
    let _ = writeln!(o, "conduits:");
    for c in &s.conduits {
        let p = &c.policy;
        let sources = if p.allow_sources.is_empty() {
            "any".to_string()
        } else {
            p.allow_sources.iter().map(|h| s.hosts[h.ix()].id.as_str()).collect::<Vec<_>>().join(",")
        };
        let fcs = if p.allow_functions.is_empty() {
            "any".to_string()
        } else {
            p.allow_functions.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
        };
        let _ = writeln!(
            o,
            "  {:<14} {} -> {}  sources: {sources}  functions: {fcs}  write windows: {}",
            c.id,
            s.zones[c.from.ix()].id,
            s.zones[c.to.ix()].id,
            p.write_ranges.len()
        );
    }
    let _ = writeln!(o, "hosts:");
    for h in &s.hosts {
        let _ =
            writeln!(o, "  {:<14} {:?} in {}  {}", h.id, h.role, s.zones[h.zone.ix()].id, t(&h.name, lang));
    }
}

/// One PLC: its device and its memory map with what each address stands for.
fn describe_plc(o: &mut String, s: &Scenario, p: &icsdrill_engine::scenario::PlcDef, lang: Lang) {
    let _ = writeln!(
        o,
        "\nPLC {}  {}  ({:?}, zone {}, unit {}, {} {} {}, scan {} ms, range checks {}, program {})",
        p.id,
        t(&p.name, lang),
        p.role,
        s.zones[p.zone.ix()].id,
        p.unit_id,
        p.device.vendor,
        p.device.product,
        p.device.revision,
        p.scan_ticks * 1000 / u64::from(s.tick_hz),
        if p.range_checks { "on" } else { "off" },
        &p.program_hash[..12]
    );
    for c in &p.coils {
        let _ = writeln!(o, "  coil {:>5}  {:<18} {}", c.addr, c.id, t(&c.name, lang));
    }
    for d in &p.discrete_inputs {
        let src = match d.source {
            DiscreteSource::Switch(i) => format!("switch {}", s.sensors[i.ix()].id),
            DiscreteSource::Running(i) => format!("running {}", s.actuators[i.ix()].id),
            DiscreteSource::Tripped(i) => format!("tripped {}", s.interlocks[i.ix()].id),
            DiscreteSource::Alarm(i) => format!("alarm {}", s.alarms[i.ix()].id),
        };
        let _ = writeln!(o, "  di   {:>5}  {:<18} {}  [{src}]", d.addr, d.id, t(&d.name, lang));
    }
    for r in &p.input_registers {
        let src = match r.source {
            RegisterSource::Sensor(i) => s.sensors[i.ix()].id.as_str(),
            RegisterSource::Actuator(i) => s.actuators[i.ix()].id.as_str(),
        };
        let _ = writeln!(
            o,
            "  ir   {:>5}  {:<18} {}  [{src}, raw = value x {}{}]",
            r.addr,
            r.id,
            t(&r.name, lang),
            r.codec.scaling.scale,
            format_note(r.codec)
        );
    }
    for h in &p.holding_registers {
        let range = h.range.map(|[lo, hi]| format!(", range {lo}..{hi}")).unwrap_or_default();
        let _ = writeln!(
            o,
            "  hr   {:>5}  {:<18} {} = {} {}  [raw {} = value x {}{range}{}]",
            h.addr,
            h.id,
            t(&h.name, lang),
            h.initial(),
            h.unit,
            h.initial_words[..h.codec.words()].iter().map(u16::to_string).collect::<Vec<_>>().join(" "),
            h.codec.scaling.scale,
            format_note(h.codec)
        );
    }
    for r in &p.reserved {
        let _ = writeln!(
            o,
            "  {:<4} {:>5}+ {} words reserved  {}",
            r.table.as_str(),
            r.start,
            r.count,
            r.note.as_deref().unwrap_or("")
        );
    }
    if let Some(station) = &p.iec104 {
        describe_station(o, p, station);
    }
    if let Some(server) = &p.opcua {
        let modes: Vec<&str> = server
            .security
            .iter()
            .map(|m| match m {
                icsdrill_engine::scenario::opcua::Security::None => "None",
                icsdrill_engine::scenario::opcua::Security::SignAndEncrypt => "Basic256Sha256 Sign&Encrypt",
            })
            .collect();
        let _ = writeln!(
            o,
            "  OPC UA server ({}): a variable per point, nsu={};s=<point id>; coils and holding registers writable",
            modes.join(", "),
            icsdrill::runtime::opcua::nodes::NAMESPACE
        );
    }
}

/// A PLC's IEC 104 station: each object's address, what it reports and which command it takes.
fn describe_station(o: &mut String, p: &icsdrill_engine::scenario::PlcDef, station: &Iec104Def) {
    let _ = writeln!(o, "  IEC 104 station, common address {}:", station.common_address);
    for x in &station.points {
        let i = x.point.ix();
        let (id, report, command) = match x.table {
            Table::Coils if x.double => (&p.coils[i].id, "M_DP", "C_DC_NA_1 (1 off, 2 on)"),
            Table::Coils => (&p.coils[i].id, "M_SP", "C_SC_NA_1"),
            Table::DiscreteInputs if x.double => (&p.discrete_inputs[i].id, "M_DP", "-"),
            Table::DiscreteInputs => (&p.discrete_inputs[i].id, "M_SP", "-"),
            Table::InputRegisters => (&p.input_registers[i].id, "M_ME_NC", "-"),
            Table::HoldingRegisters => (&p.holding_registers[i].id, "M_ME_NC", "C_SE_NA/NB/NC_1"),
        };
        let _ = writeln!(o, "  ioa {:>8}  {:<18} {:<8} {command}", x.ioa, id, report);
    }
}

/// A plain-text description of the plant, for trainees and instructors alike (no attack
/// timeline: that is the answer key).
fn describe(s: &Scenario, lang: Lang) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}  {}", s.id, t(&s.meta.title, lang));
    let _ = writeln!(
        o,
        "industry: {}   enterprise level: {}   tick: {} Hz   duration: {} s   time compression: {}x",
        s.meta.industry,
        s.meta.level,
        s.tick_hz,
        s.duration_ticks / u64::from(s.tick_hz),
        s.meta.time_compression
    );
    let _ = writeln!(o, "\n{}\n", t(&s.meta.brief, lang));
    describe_network(&mut o, s, lang);
    let _ = writeln!(o, "process variables:");
    for v in &s.vars {
        let safe = v.safe.map(|[lo, hi]| format!(" safe {lo}..{hi}")).unwrap_or_default();
        let dmg = v.damage_above.map(|d| format!(" damage >= {d}")).unwrap_or_default();
        let _ = writeln!(o, "  {:<16} {} {}{safe}{dmg}  {}", v.id, v.initial, v.unit, t(&v.name, lang));
    }
    for p in &s.plcs {
        describe_plc(&mut o, s, p, lang);
    }
    let _ = writeln!(o, "\nsafety interlocks:");
    for il in &s.interlocks {
        let sensor = &s.sensors[il.pv.ix()];
        let cond = match (sensor.kind, il.above, il.below) {
            (SensorKind::Analog { .. }, Some(p), _) => {
                format!("{} >= {}", sensor.id, param(s, il.plc.ix(), p))
            }
            (SensorKind::Analog { .. }, None, Some(p)) => {
                format!("{} <= {}", sensor.id, param(s, il.plc.ix(), p))
            }
            _ => format!("{} closed", sensor.id),
        };
        let _ = writeln!(o, "  {:<10} in {:<10} trips when {cond}", il.id, s.plcs[il.plc.ix()].id);
    }
    o
}

/// `, int32 low word first` and the like; nothing for a plain uint16.
fn format_note(c: icsdrill_engine::scenario::Codec) -> String {
    use icsdrill_engine::scenario::{Format, WordOrder};
    let name = Format::ALL.iter().find(|f| f.0 == c.format).map_or("", |f| f.1);
    match (c.format, c.order) {
        (Format::Uint16, _) => String::new(),
        (Format::Int16, _) | (_, WordOrder::HighFirst) => format!(", {name}"),
        (_, WordOrder::LowFirst) => format!(", {name} low word first"),
    }
}

fn param(s: &Scenario, plc: usize, p: Param) -> String {
    match p {
        Param::Const(x) => x.to_string(),
        Param::Holding(i) => {
            let h = &s.plcs[plc].holding_registers[i.ix()];
            format!("hr {} ({})", h.addr, h.initial())
        }
        Param::Cascade { block, lo, hi } => {
            let outer = match &s.plcs[plc].logic[block as usize] {
                icsdrill_engine::scenario::Logic::Pi { id, .. } => id.as_str(),
                _ => "?",
            };
            format!("{outer} output scaled to {lo}..{hi}")
        }
    }
}
