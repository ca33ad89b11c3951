//! A trainee's variant of an exam scenario: hosts renamed, each PLC's holding registers moved
//! to another base address, the attack's timing shifted and its written values scaled
//! (keeping out-of-range values out of range), and for half the seeds the attack starting from
//! a second office machine beside the foothold (same zone, same conduit policies). Answers
//! cannot be shared; the checks are the same, so every variant is equally hard.

use crate::input::ModbusTransaction;
use std::collections::BTreeMap;

use serde::Serialize;

use super::{HostIdx, PlcIdx, Scenario, Table, Text};
use crate::attack::{Action, Step};
use crate::input::SimInput;

/// How a variant differs from its base scenario (for trainers; trainees discover it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantMap {
    /// The seed.
    pub seed: u64,
    /// Base host id -> variant host id.
    pub hosts: BTreeMap<String, String>,
    /// PLC id -> offset added to its holding register addresses.
    pub holding_offsets: BTreeMap<String, u16>,
    /// Seconds added to the attack's timed triggers.
    pub attack_delay_s: f64,
    /// Factor applied to the values the attack writes.
    pub value_factor: f64,
    /// The host the attack starts from (the path): the base foothold, or a second office
    /// machine beside it.
    pub foothold: String,
}

/// SplitMix64: a few deterministic numbers from the seed (no RNG state to share).
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The variant of `base` for `seed`. The same seed always gives the same variant.
pub fn variant(base: &Scenario, seed: u64) -> (Scenario, VariantMap) {
    let mut s = base.clone();
    let hosts = rename_hosts(base, &mut s, seed);
    let offsets = move_holding_registers(&mut s, seed);
    let delay_s = (mix(seed, 200) % 31) as f64;
    let factor = 1.0 + ((mix(seed, 201) % 11) as f64 - 5.0) / 100.0;
    let delay = (delay_s * f64::from(s.tick_hz)) as u64;
    if let Some(plan) = s.attack.as_mut() {
        for st in &mut plan.steps {
            shift_step(base, st, &offsets, delay, factor);
        }
    }
    for b in &mut s.background {
        move_background(&mut b.input, &offsets, &hosts);
    }
    // What the teams read names the variant's hosts and registers, not the base's.
    s.meta.brief = in_variant(&s.meta.brief, &hosts, &offsets);
    // A certificate is earned unaided: an exam gives no hints (they cost a drill's points,
    // not an exam's, and told the defence outright).
    s.hints.clear();
    let foothold = add_foothold_twin(&mut s, seed);
    // The id says it is a variant, not which: the seed would give the variant away.
    s.id = format!("{}~variant", base.id);
    (
        s,
        VariantMap {
            seed,
            hosts,
            holding_offsets: offsets,
            attack_delay_s: delay_s,
            value_factor: factor,
            foothold,
        },
    )
}

/// `text` (both languages) as the variant has it: each base host id, as a word in any case,
/// is the variant's (in the case it was written in: `EWS-01` stays upper case); a holding
/// register number (or range, `2-3`) after the words "register(s)" or "寄存器" moves by the
/// offset of the PLC named last before it.
fn in_variant(text: &Text, hosts: &BTreeMap<String, String>, offsets: &BTreeMap<String, u16>) -> Text {
    Text::new(variant_words(&text.en, hosts, offsets), variant_words(&text.zh, hosts, offsets))
}

fn variant_words(text: &str, hosts: &BTreeMap<String, String>, offsets: &BTreeMap<String, u16>) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let (mut offset, mut register) = (None, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let len = if word(c) { rest.find(|c: char| !word(c)) } else { rest.find(word) }.unwrap_or(rest.len());
        let (run, tail) = rest.split_at(len);
        rest = tail;
        if !word(c) {
            register = (register && run.trim().is_empty()) || run.trim_end().ends_with("寄存器");
            out.push_str(run);
            continue;
        }
        let lower = run.to_ascii_lowercase();
        if let Some(new) = hosts.get(&lower) {
            let upper = run.chars().any(|c| c.is_ascii_uppercase());
            out.push_str(&if upper { new.to_ascii_uppercase() } else { new.clone() });
        } else if let (true, Some(o)) = (register, offset) {
            let moved: Option<Vec<String>> = run
                .split('-')
                .map(|n| n.parse::<u16>().ok().map(|n| n.saturating_add(o).to_string()))
                .collect();
            out.push_str(&moved.map_or_else(|| run.to_string(), |m| m.join("-")));
        } else {
            out.push_str(run);
        }
        if let Some(&o) = offsets.get(&lower) {
            offset = Some(o);
        }
        register = lower == "register" || lower == "registers";
    }
    out
}

/// Renames every host of `s` (a copy of `base`) with a new number, keeping ids distinct.
/// Returns base id -> variant id.
fn rename_hosts(base: &Scenario, s: &mut Scenario, seed: u64) -> BTreeMap<String, String> {
    let mut hosts = BTreeMap::new();
    for (i, h) in s.hosts.iter_mut().enumerate() {
        let n = mix(seed, i as u64) % 90 + 10;
        let stem = h.id.rsplit_once('-').map_or(h.id.as_str(), |(a, _)| a).to_string();
        let new = format!("{stem}-{n:02}");
        hosts.insert(h.id.clone(), new.clone());
        h.id = new;
    }
    // Hosts must stay distinct.
    let mut seen: Vec<String> = Vec::new();
    for h in s.hosts.iter_mut() {
        while seen.contains(&h.id) {
            h.id.push('x');
        }
        seen.push(h.id.clone());
    }
    for (old, h) in base.hosts.iter().zip(&s.hosts) {
        hosts.insert(old.id.clone(), h.id.clone());
    }
    hosts
}

/// Moves each PLC's holding registers (and reserved holding blocks, and the conduits' write
/// windows on them) to another base address. Returns PLC id -> offset.
fn move_holding_registers(s: &mut Scenario, seed: u64) -> BTreeMap<String, u16> {
    let mut offsets = BTreeMap::new();
    for (i, p) in s.plcs.iter_mut().enumerate() {
        let offset = ((mix(seed, 100 + i as u64) % 8) as u16 + 1) * 100;
        offsets.insert(p.id.clone(), offset);
        for h in &mut p.holding_registers {
            h.addr += offset;
        }
        for r in p.reserved.iter_mut().filter(|r| r.table == Table::HoldingRegisters) {
            r.start += offset;
        }
    }
    let offset_of = |s: &Scenario, plc: &PlcIdx| offsets[&s.plcs[plc.ix()].id];
    for c in 0..s.conduits.len() {
        for w in 0..s.conduits[c].policy.write_ranges.len() {
            let o = offset_of(s, &s.conduits[c].policy.write_ranges[w].plc);
            let wr = &mut s.conduits[c].policy.write_ranges[w];
            wr.start += o;
            wr.end += o;
        }
    }
    offsets
}

/// Delays an attack step's timed triggers by `delay` ticks, scales the values it writes by
/// `factor` and moves its holding-register addresses by the PLC's offset.
fn shift_step(base: &Scenario, st: &mut Step, offsets: &BTreeMap<String, u16>, delay: u64, factor: f64) {
    if let Some(t) = st.when.at_tick.as_mut() {
        *t += delay;
    }
    if let Some(t) = st.expire_tick.as_mut() {
        *t += delay;
    }
    if let Some(d) = st.when.defender.as_mut() {
        d.by_tick += delay;
    }
    match &mut st.action {
        Action::WriteRegisters { plc, addr, values } => {
            let def = &base.plcs[plc.ix()];
            for (i, v) in values.iter_mut().enumerate() {
                // Scale the value, but keep an out-of-range value out of range (and an
                // in-range one in range): the step stays what it was.
                if let Some((_, h)) = def.holding_at(*addr + i as u16)
                    && h.codec.words() == 1
                {
                    let scaled = (f64::from(*v) * factor).round().clamp(0.0, 65_535.0) as u16;
                    let inside =
                        |raw: u16| h.range.is_none_or(|[lo, hi]| (lo..=hi).contains(&h.codec.decode(&[raw])));
                    if inside(*v) == inside(scaled) {
                        *v = scaled;
                    }
                }
            }
            *addr += offsets[&base.plcs[plc.ix()].id];
        }
        Action::Read { plc, table: Table::HoldingRegisters, addr, .. } => {
            *addr += offsets[&base.plcs[plc.ix()].id];
        }
        _ => {}
    }
}

/// Moves a background request's holding-register address by its PLC's offset and renames
/// the host it comes from.
fn move_background(input: &mut SimInput, offsets: &BTreeMap<String, u16>, hosts: &BTreeMap<String, String>) {
    match input {
        SimInput::WriteRegisters { plc, addr, source, .. }
        | SimInput::ModbusRequest(ModbusTransaction {
            plc, addr, source, function: 3 | 6 | 16 | 23, ..
        }) => {
            if let Some(o) = offsets.get(plc.as_str()) {
                *addr += o;
            }
            if let Some(n) = hosts.get(source.as_str()) {
                *source = n.clone();
            }
        }
        SimInput::WriteCoils { source, .. } | SimInput::ModbusRequest(ModbusTransaction { source, .. }) => {
            if let Some(n) = hosts.get(source.as_str()) {
                *source = n.clone();
            }
        }
        _ => {}
    }
}

/// The path: half the seeds start the attack on a second machine beside the foothold, in
/// the same zone and under the same conduit policies. Returns the id of the host the attack
/// starts from (empty without an attack).
fn add_foothold_twin(s: &mut Scenario, seed: u64) -> String {
    let mut foothold = String::new();
    if let Some(plan) = s.attack.as_mut() {
        let f = plan.foothold;
        foothold = s.hosts[f.ix()].id.clone();
        if mix(seed, 300) % 2 == 1 {
            let mut twin = s.hosts[f.ix()].clone();
            let stem = twin.id.rsplit_once('-').map_or(twin.id.clone(), |(a, _)| a.to_string());
            let mut n = mix(seed, 301) % 90 + 10;
            while s.hosts.iter().any(|h| h.id == format!("{stem}-{n:02}")) {
                n = (n + 1) % 90 + 10;
            }
            twin.id = format!("{stem}-{n:02}");
            twin.name =
                Text { en: format!("{} (2)", twin.name.en), zh: format!("{}（二）", twin.name.zh) };
            let idx = HostIdx(s.hosts.len() as u32);
            foothold = twin.id.clone();
            s.hosts.push(twin);
            plan.foothold = idx;
            for c in &mut s.conduits {
                if c.policy.allow_sources.contains(&f) {
                    c.policy.allow_sources.push(idx);
                }
                if c.policy.deny_sources.contains(&f) {
                    c.policy.deny_sources.push(idx);
                }
            }
        }
    }
    foothold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_teams_read_names_the_variants_hosts_and_registers() {
        let hosts = BTreeMap::from([
            ("ews-01".to_string(), "ews-97".to_string()),
            ("hmi-01".into(), "hmi-52".into()),
        ]);
        let offsets = BTreeMap::from([("plc-t101".to_string(), 500u16), ("sis-01".into(), 300)]);
        let words = |t: &str| variant_words(t, &hosts, &offsets);
        assert_eq!(
            words(
                "ews-01 set (sis-01 coil 0) and writes 1200 to plc-t101 holding register 1, with registers 2-3 raised."
            ),
            "ews-97 set (sis-01 coil 0) and writes 1200 to plc-t101 holding register 501, with registers 502-503 raised."
        );
        assert_eq!(
            words("Operators run HMI-01; engineers EWS-01."),
            "Operators run HMI-52; engineers EWS-97."
        );
        assert_eq!(
            words("向 plc-t101 保持寄存器 1 写入，寄存器 2-3 的报警值"),
            "向 plc-t101 保持寄存器 501 写入，寄存器 502-503 的报警值"
        );
        // No PLC named before it: a register number stays; a longer word holding a host id too.
        assert_eq!(words("register 4 of ews-01x"), "register 4 of ews-01x");

        let text = include_str!("../../../scenarios/library/petrochem-tank-farm.yaml");
        let base = Scenario::from_yaml("tank-farm.yaml", text).expect("valid");
        let (v, map) = variant(&base, 7);
        // An exam gives no hints; its brief names the variant's hosts.
        assert!(v.hints.is_empty() && !base.hints.is_empty());
        let ews = &map.hosts["ews-01"];
        assert!(v.meta.brief.en.contains(&ews.to_ascii_uppercase()), "{}", v.meta.brief.en);
    }
}
