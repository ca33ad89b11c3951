//! The HMI's process diagram, in the high-performance style operators know (ISA-101): drawn
//! from the scenario in greys, colour kept for abnormal states.
//!
//! Each piece of equipment (`Scenario::equipment`) is a tank (it has a level) or a vessel,
//! with its instruments beside it; each actuator sits on the pipe its terms imply
//! (`Scenario::flows`): between the equipment it draws from and the one it feeds, on a feed
//! into its equipment, or on a draw-off below it. Interlocks are a band of diamonds at the
//! bottom, the PLCs a status strip at the top. A scenario's `mimic:` section places any symbol
//! by hand; pipes follow the symbols wherever they are.
//!
//! The team console fills in values by element id (`v-SENSOR`, `f-SENSOR` level fill,
//! `al-SENSOR` alarm indicator, `sp-SENSOR` set point, `g-ACTUATOR` symbol, `a-ACTUATOR`
//! position, `i-INTERLOCK`, `is-INTERLOCK`, `m-PLC`), and opens a faceplate from a symbol's
//! `data-fp` (what the symbol is, its range, alarm limits and set points, as constants or
//! as the holding registers the HMI reads them from).

use std::fmt::Write as _;

use icsdrill_engine::Scenario;
use icsdrill_engine::scenario::mimic::{Equipment, EquipmentName, Flow};
use icsdrill_engine::scenario::{
    ActuatorIdx, AlarmLevel, Logic, Param, PlcDef, RegisterSource, SensorKind, Text,
};
use serde_json::{Value, json};

use crate::escape_html as esc;

/// Width of an equipment column (its vessel, its instruments with their set points, and the
/// next one's feed valves with their labels).
const CW: f64 = 290.0;
/// Height of a row of equipment.
const RH: f64 = 300.0;
/// Equipment columns before the diagram wraps.
const COLS: usize = 5;
/// Height of the PLC status strip.
const STRIP: f64 = 34.0;
/// Half the width and height of a vessel.
const VW: f64 = 35.0;
const VH: f64 = 60.0;

/// A point on the canvas.
#[derive(Clone, Copy)]
struct Pt(f64, f64);

/// Where an actuator's tag and position go: above and under it (centred), or both under it
/// (a draw-off, its pipe coming down into it), centred or on the side its outflow leaves.
#[derive(Clone, Copy)]
enum Label {
    Above,
    /// Under it, with the text anchor (`middle`, `end` left of it, `start` right of it).
    Under(&'static str),
}

/// Where everything goes.
struct Layout {
    equipment: Vec<Pt>,
    sensors: Vec<Option<Pt>>,
    actuators: Vec<Pt>,
    /// Each actuator's labels, and which way a draw-off's outflow leaves it (-1 left, 1 right).
    labels: Vec<(Label, f64)>,
    interlocks: Vec<Pt>,
    plcs: Vec<Pt>,
    width: f64,
    height: f64,
}

/// The diagram.
pub fn svg(s: &Scenario) -> String {
    let eq = s.equipment();
    let flows = s.flows(&eq);
    let at = layout(s, &eq, &flows);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="hmi" viewBox="0 0 {w} {h}" style="width:100%;max-width:{w}px;height:auto" role="group"{}><defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L8 4 L0 8 Z" class="arrowhead"/></marker></defs><rect class="bg" width="{w}" height="{h}"/>"#,
        aria(&s.meta.title),
        w = at.width,
        h = at.height,
    );
    pipes(&mut out, s, &flows, &at);
    for ((e, name), p) in eq.iter().zip(s.equipment_names(&eq)).zip(&at.equipment) {
        equipment(&mut out, s, e, &name, *p);
    }
    for (i, p) in at.sensors.iter().enumerate() {
        if let Some(p) = p {
            instrument(&mut out, s, i, *p);
        }
    }
    for (i, p) in at.actuators.iter().enumerate() {
        actuator(&mut out, s, i, *p, at.labels[i].0);
    }
    for (i, p) in at.interlocks.iter().enumerate() {
        interlock(&mut out, s, i, *p);
    }
    for (i, p) in at.plcs.iter().enumerate() {
        let _ = write!(
            out,
            r#"<g class="plc"><rect x="{}" y="{}" width="140" height="22" rx="3"/><text id="m-{id}" x="{}" y="{}">{id}</text></g>"#,
            p.0,
            p.1,
            p.0 + 6.0,
            p.1 + 15.0,
            id = esc(&s.plcs[i].id)
        );
    }
    out.push_str("</svg>");
    out
}

/// Places every symbol: generated, then the scenario's hand placement on top.
fn layout(s: &Scenario, eq: &[Equipment], flows: &[Flow]) -> Layout {
    let place = |id: &str, p: Pt| s.mimic.place.get(id).map_or(p, |xy| Pt(xy[0], xy[1]));
    let strip_lines = (s.plcs.len() * 150).div_ceil((COLS.min(eq.len().max(1)) as f64 * CW) as usize).max(1);
    let top = 10.0 + strip_lines as f64 * STRIP;
    let rows = eq.len().div_ceil(COLS).max(1);
    let equipment: Vec<Pt> = eq
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let (col, row) = ((k % COLS) as f64, (k / COLS) as f64);
            // Room on the left for the first column's feed valves and their labels.
            place(&e.id, Pt(20.0 + col * CW + 90.0, top + row * RH + 170.0))
        })
        .collect();
    // Instruments to the right of their equipment, one row each.
    let mut next = vec![0.0; eq.len()];
    let sensors = s
        .sensors
        .iter()
        .map(|sn| {
            let k = eq.iter().position(|e| e.vars.contains(&sn.var))?;
            let Pt(x, y) = equipment[k];
            // Clear of the vessel by the alarm indicator's width (it sits left of the bubble).
            let p = Pt(x + VW + 28.0, y - VH + 10.0 + next[k] * 30.0);
            next[k] += 1.0;
            Some(place(&sn.id, p))
        })
        .collect();
    let bottom = top + rows as f64 * RH;
    let (actuators, labels, others) = place_actuators(s, flows, &equipment, bottom);
    // Under the draw-offs' labels (and the actuators on no pipe).
    let sis_y = bottom + if others > 0.0 { 105.0 } else { 40.0 };
    let interlocks: Vec<Pt> = s
        .interlocks
        .iter()
        .enumerate()
        .map(|(i, il)| place(&il.id, Pt(30.0 + (i % 6) as f64 * 170.0, sis_y + (i / 6) as f64 * 36.0)))
        .collect();
    let per_line = ((COLS.min(eq.len().max(1)) as f64 * CW) / 150.0).floor().max(1.0) as usize;
    let plcs = (0..s.plcs.len())
        .map(|i| Pt(20.0 + (i % per_line) as f64 * 150.0, 8.0 + (i / per_line) as f64 * STRIP))
        .collect();
    let generated = Pt(
        (50.0 + COLS.min(eq.len().max(1)) as f64 * CW).max(40.0 + s.interlocks.len().min(6) as f64 * 170.0),
        sis_y + s.interlocks.len().div_ceil(6) as f64 * 36.0 + 10.0,
    );
    let [width, height] = s.mimic.size.unwrap_or([generated.0, generated.1]);
    Layout { equipment, sensors, actuators, labels, interlocks, plcs, width, height }
}

/// Places the actuators on their pipes (`bottom`: under the equipment rows), with their
/// labels; also how many sit on no pipe (a row of their own under the equipment).
fn place_actuators(
    s: &Scenario,
    flows: &[Flow],
    equipment: &[Pt],
    bottom: f64,
) -> (Vec<Pt>, Vec<(Label, f64)>, f64) {
    let eq_len = equipment.len();
    // Actuators on their pipes: between two pieces of equipment (header lanes above them), on
    // a feed (left of what they feed) or on a draw-off (below what they draw from).
    let mut spans: Vec<(f64, f64)> = Vec::new();
    let (mut feeds, mut draws) = (vec![0.0; eq_len], vec![0.0; eq_len]);
    let mut labels = vec![(Label::Above, 1.0); flows.len()];
    // Draw-offs per equipment: one sits under it; two go out either side, their labels on
    // their own sides.
    let (mut draw_count, mut feed_count) = (vec![0usize; eq_len], vec![0usize; eq_len]);
    for f in flows {
        match route(f) {
            Route::Draw(a) => draw_count[a] += 1,
            Route::Feed(b) => feed_count[b] += 1,
            _ => {}
        }
    }
    let mut others = 0.0;
    let actuators = flows
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let p = match route(f) {
                Route::Between(a, b) => {
                    let (xa, xb) = (equipment[a].0, equipment[b].0);
                    let span = (xa.min(xb), xa.max(xb));
                    let lane = spans.iter().filter(|(l, r)| *l <= span.1 && span.0 <= *r).count() as f64;
                    spans.push(span);
                    let y = equipment[a].1.min(equipment[b].1) - VH - 26.0 - lane * 50.0;
                    Pt((xa + xb) / 2.0, y)
                }
                Route::Feed(b) => {
                    // 50 apart (a tag above each, its position under it), into the vessel's side.
                    let Pt(x, y) = equipment[b];
                    feeds[b] += 1.0;
                    let n = feed_count[b] as f64;
                    let (first, step) = if n <= 2.0 { (-20.0, 50.0) } else { (-50.0, 100.0 / (n - 1.0)) };
                    Pt(x - VW - 40.0, y + first + (feeds[b] - 1.0) * step)
                }
                Route::Draw(a) => {
                    let Pt(x, y) = equipment[a];
                    draws[a] += 1.0;
                    let k = draws[a] - 1.0;
                    let (dx, label, out) = match (draw_count[a], k as usize) {
                        (1, _) => (-10.0, "middle", 1.0),
                        (_, 0) => (-22.0, "end", -1.0),
                        _ => (22.0 + (k - 1.0) * 80.0, "start", 1.0),
                    };
                    labels[i] = (Label::Under(label), out);
                    Pt(x + dx, y + VH + 50.0)
                }
                Route::None => {
                    others += 1.0;
                    Pt(40.0 + (others - 1.0) * 90.0, bottom + 45.0)
                }
            };
            s.mimic.place.get(&s.actuators[i].id).map_or(p, |xy| Pt(xy[0], xy[1]))
        })
        .collect();
    (actuators, labels, others)
}

/// Which pipe an actuator sits on.
enum Route {
    Between(usize, usize),
    Feed(usize),
    Draw(usize),
    None,
}

fn route(f: &Flow) -> Route {
    match (f.from.first(), f.to.iter().find(|b| Some(*b) != f.from.first())) {
        (Some(&a), Some(&b)) => Route::Between(a, b),
        (_, _) if !f.to.is_empty() => Route::Feed(f.to[0]),
        (Some(&a), None) => Route::Draw(a),
        (None, _) => Route::None,
    }
}

/// The pipes, under the symbols; arrows show which way the material goes.
fn pipes(out: &mut String, s: &Scenario, flows: &[Flow], at: &Layout) {
    for (i, f) in flows.iter().enumerate() {
        let Pt(x, y) = at.actuators[i];
        let id = esc(&s.actuators[i].id);
        let d = match route(f) {
            Route::Between(a, b) => {
                let (Pt(xa, ya), Pt(xb, yb)) = (at.equipment[a], at.equipment[b]);
                // An end in a lower row joins the lane by a trunk left of its vessel (between
                // it and its feed valves), not through the equipment above it.
                let top = ya.min(yb);
                let trunk = |xe: f64| xe - VW - 6.0;
                let from = if ya > top {
                    format!("M{} {ya} H{t} V{y}", xa - VW, t = trunk(xa))
                } else {
                    format!("M{xa} {} V{y}", ya - VH)
                };
                let to = if yb > top {
                    format!("H{t} V{yb} H{}", xb - VW, t = trunk(xb))
                } else {
                    format!("H{xb} V{}", yb - VH)
                };
                format!("{from} H{x} M{x} {y} {to}")
            }
            Route::Feed(b) => {
                let Pt(xb, _) = at.equipment[b];
                // A short stub: the instruments of the equipment to the left end near it.
                format!("M{} {y} H{x} M{x} {y} H{}", x - 18.0, xb - VW)
            }
            Route::Draw(a) => {
                let Pt(xa, ya) = at.equipment[a];
                let xv = x.clamp(xa - VW + 8.0, xa + VW - 8.0);
                format!("M{xv} {} V{y} H{x} M{x} {y} H{}", ya + VH, x + 45.0 * at.labels[i].1)
            }
            Route::None => continue,
        };
        let _ = write!(out, r#"<path class="pipe" data-for="{id}" d="{d}" marker-end="url(#arrow)"/>"#);
    }
}

/// A tank (it has a level: its level sensor fills it) or a vessel, with its tag on it in the
/// page's language.
fn equipment(out: &mut String, s: &Scenario, e: &Equipment, name: &EquipmentName, Pt(x, y): Pt) {
    let level = e.vars.iter().find(|v| {
        let d = &s.vars[v.ix()];
        d.id.contains("level") || d.name.en.to_lowercase().contains("level") || d.name.zh.contains("液位")
    });
    let gauge = level.and_then(|v| {
        s.sensors.iter().find(|sn| sn.var == *v && matches!(sn.kind, SensorKind::Analog { .. }))
    });
    // The faceplate lists its instruments by tag.
    let sensors: Vec<[&str; 2]> = s
        .sensors
        .iter()
        .filter(|sn| e.vars.contains(&sn.var))
        .map(|sn| [sn.id.as_str(), sn.name.tag_or(&sn.id)])
        .collect();
    let fp = json!({"k": "e", "id": e.id, "tag": name.tag, "name": name.name, "sensors": sensors});
    let (top, left) = (y - VH, x - VW);
    let _ = write!(
        out,
        r#"<g class="equip" data-fp="{}" tabindex="0" role="button"{}>"#,
        esc(&fp.to_string()),
        aria(&tagged(&name.tag, &name.name))
    );
    match gauge {
        Some(g) => {
            let (lo, hi) = analog_range(g.kind);
            let _ = write!(
                out,
                r#"<rect class="vessel" x="{left}" y="{top}" width="{w}" height="{h}" rx="2"/><rect id="f-{id}" class="fill" x="{left}" y="{bottom}" width="{w}" height="0" data-top="{top}" data-h="{h}" data-lo="{lo}" data-hi="{hi}"/>"#,
                w = 2.0 * VW,
                h = 2.0 * VH,
                bottom = y + VH,
                id = esc(&g.id),
            );
        }
        None => {
            let _ = write!(
                out,
                r#"<rect class="vessel" x="{left}" y="{top}" width="{}" height="{}" rx="{}"/>"#,
                2.0 * VW,
                2.0 * VH,
                VW * 0.8
            );
        }
    }
    // One label a language when they differ (the page shows its own), squeezed into the vessel
    // when it would be wider.
    let label = |out: &mut String, text: &str, lang: &str| {
        let wide = text.chars().map(|c| if c.is_ascii() { 8.0 } else { 12.5 }).sum::<f64>();
        let fit = if wide > 2.0 * VW - 4.0 {
            format!(r#" textLength="{}" lengthAdjust="spacingAndGlyphs""#, 2.0 * VW - 4.0)
        } else {
            String::new()
        };
        let _ = write!(
            out,
            r#"<text class="etag"{lang} x="{x}" y="{}" text-anchor="middle"{fit}>{}</text>"#,
            y + 4.0,
            esc(text)
        );
    };
    if name.tag.en == name.tag.zh {
        label(out, &name.tag.en, "");
    } else {
        label(out, &name.tag.en, r#" lang="en""#);
        label(out, &name.tag.zh, r#" lang="zh""#);
    }
    out.push_str("</g>");
}

/// An instrument bubble: tag, value as the HMI reads it, set point, alarm indicator.
fn instrument(out: &mut String, s: &Scenario, i: usize, Pt(x, y): Pt) {
    let sn = &s.sensors[i];
    let id = esc(&sn.id);
    let fp = sensor_faceplate(s, i);
    let _ = write!(
        out,
        r#"<g class="inst" data-fp="{}" tabindex="0" role="button"{label}><rect class="hit" x="{}" y="{}" width="150" height="30"/><circle cx="{x}" cy="{y}" r="9"/><rect id="al-{id}" class="alm" x="{}" y="{}" width="14" height="14" visibility="hidden"/><text id="alt-{id}" class="almt" x="{}" y="{}" text-anchor="middle"></text><text class="tag" x="{}" y="{}">{tag}</text><text id="v-{id}" class="value" x="{}" y="{}">–</text><text class="unit" x="{}" y="{}">{unit}</text><text id="sp-{id}" class="sp" x="{}" y="{}"></text></g>"#,
        esc(&fp.to_string()),
        x - 12.0,
        y - 14.0,
        x - 26.0,
        y - 7.0,
        x - 19.0,
        y + 4.0,
        x + 14.0,
        y - 2.0,
        x + 14.0,
        y + 11.0,
        x + 68.0,
        y + 11.0,
        x + 60.0,
        y - 2.0,
        label = aria(&tagged(&same(&tag_of_name(&sn.name, &sn.id)), &sn.name)),
        tag = esc(&tag_of_name(&sn.name, &sn.id)),
        // A switch shows ON or OFF, in no unit.
        unit = match sn.kind {
            icsdrill_engine::scenario::SensorKind::Analog { .. } => esc(&s.vars[sn.var.ix()].unit),
            _ => String::new(),
        },
    );
}

/// A valve (bow tie), pump (circle with a triangle) or breaker (square); filled when open or
/// running, hollow when closed or stopped (the console sets the class). Its tag and position
/// go as `label` says.
fn actuator(out: &mut String, s: &Scenario, i: usize, Pt(x, y): Pt, label: Label) {
    let a = &s.actuators[i];
    let lower = a.name.en.to_lowercase();
    let (kind, shape) = if lower.contains("pump") || lower.contains("fan") || lower.contains("compressor") {
        (
            "pump",
            format!(
                r#"<circle cx="{x}" cy="{y}" r="11"/><path d="M{} {} L{} {y} L{} {} Z" class="inner"/>"#,
                x - 5.0,
                y - 6.0,
                x + 7.0,
                x - 5.0,
                y + 6.0
            ),
        )
    } else if lower.contains("breaker") || lower.contains("switch") {
        ("breaker", format!(r#"<rect x="{}" y="{}" width="18" height="18"/>"#, x - 9.0, y - 9.0))
    } else {
        (
            "valve",
            format!(
                r#"<path d="M{l} {t} L{r} {b} L{r} {t} L{l} {b} Z"/>"#,
                l = x - 12.0,
                r = x + 12.0,
                t = y - 8.0,
                b = y + 8.0
            ),
        )
    };
    let driver = s.plcs.iter().find(|p| p.drives(ActuatorIdx(i as u32))).map(|p| p.id.as_str());
    let (below, anchor) = match label {
        Label::Above => (false, "middle"),
        Label::Under(anchor) => (true, anchor),
    };
    // A label on one side starts at the symbol's edge.
    let tx = match anchor {
        "end" => x + 12.0,
        "start" => x - 12.0,
        _ => x,
    };
    // One with no tag in its name goes by its id as a tag: `conv_vfd` -> `CONV-VFD`.
    let tag = match a.name.tag_or("") {
        "" => a.id.to_uppercase().replace('_', "-"),
        t => t.to_string(),
    };
    let fp = json!({"k": "a", "id": a.id, "tag": tag, "name": a.name, "kind": kind,
        "fail": a.fail, "plc": driver, "stroke_s": a.stroke_s});
    let _ = write!(
        out,
        r#"<g id="g-{id}" class="act {kind}" data-fp="{}" tabindex="0" role="button"{label}><rect class="hit" x="{}" y="{}" width="50" height="50"/>{shape}<text class="tag" x="{tx}" y="{}" text-anchor="{anchor}">{tag}</text><text id="a-{id}" class="pos" x="{tx}" y="{}" text-anchor="{anchor}">–</text></g>"#,
        esc(&fp.to_string()),
        x - 25.0,
        y - 25.0,
        if below { y + 24.0 } else { y - 15.0 },
        if below { y + 37.0 } else { y + 21.0 },
        id = esc(&a.id),
        label = aria(&tagged(&same(&tag), &a.name)),
        tag = esc(&tag),
    );
}

/// An interlock: a diamond, its id and its state in words.
fn interlock(out: &mut String, s: &Scenario, i: usize, Pt(x, y): Pt) {
    let il = &s.interlocks[i];
    let plc = &s.plcs[il.plc.ix()];
    // Titled by its tag and what it guards, its process value by the sensor's tag: the
    // faceplate said "undefined —" and the sensor's id.
    let pv = &s.sensors[il.pv.ix()];
    let pv_tag = tag_of_name(&pv.name, &pv.id);
    // Which way it trips: a drum's low-low and high-high interlocks on one transmitter read
    // the same ("LT-102 联锁" twice).
    let (en, zh) = match (il.below.is_some(), il.above.is_some()) {
        (true, false) => (" low-low", "低低"),
        (false, true) => (" high-high", "高高"),
        _ => ("", ""),
    };
    let name = Text::new(format!("interlock on {pv_tag}{en}"), format!("{pv_tag} {zh}联锁"));
    let fp = json!({"k": "i", "id": il.id, "tag": il.id.to_uppercase(), "name": name, "plc": plc.id, "pv": pv_tag,
        "above": il.above.map(|p| param(plc, p)), "below": il.below.map(|p| param(plc, p)),
        "need": il.need, "voters": il.voters.len().max(1), "delay_s": il.delay_s});
    let _ = write!(
        out,
        r#"<g class="sis" data-fp="{}" tabindex="0" role="button"{label}><rect class="hit" x="{}" y="{}" width="150" height="24"/><path id="i-{id}" class="ok" d="M{x} {} L{} {y} L{x} {} L{} {y} Z"/><text class="tag" x="{}" y="{}">{tag}</text><text id="is-{id}" class="state" x="{}" y="{}"></text></g>"#,
        esc(&fp.to_string()),
        x - 12.0,
        y - 12.0,
        y - 10.0,
        x + 10.0,
        y + 10.0,
        x - 10.0,
        x + 16.0,
        y + 4.0,
        x + 80.0,
        y + 4.0,
        id = esc(&il.id),
        label = aria(&tagged(&same(&il.id.to_uppercase()), &name)),
        tag = esc(&il.id.to_uppercase()),
    );
}

/// A sensor's faceplate data: range, the PLC that reads it, its alarm limits and the set
/// points of the loops it controls.
fn sensor_faceplate(s: &Scenario, i: usize) -> Value {
    let sn = &s.sensors[i];
    let plc = s.plcs.iter().find(|p| {
        p.input_registers
            .iter()
            .any(|r| r.source == RegisterSource::Sensor(icsdrill_engine::scenario::SensorIdx(i as u32)))
    });
    let mut limits = Vec::new();
    for a in s.alarms.iter().filter(|a| a.pv.ix() == i) {
        let def = &s.plcs[a.plc.ix()];
        for (k, level) in AlarmLevel::ALL.iter().enumerate() {
            if let Some(p) = a.limits[k] {
                limits.push(json!([level, param(def, p)]));
            }
        }
    }
    // A set point an operator changes is named as the register holding it (`Fill stop
    // level`); a fixed one by its block, the direction it switches marked.
    let named = |p: &PlcDef, param: Param, fixed: String| match param {
        Param::Holding(h) => json!(p.holding_registers[h.ix()].name),
        _ => json!(fixed),
    };
    let mut sp = Vec::new();
    for p in &s.plcs {
        for block in &p.logic {
            match block {
                Logic::Pi { id, pv, setpoint, .. } if pv.ix() == i => {
                    sp.push(json!([named(p, *setpoint, id.clone()), param(p, *setpoint)]))
                }
                Logic::OnOff { id, pv, low, high, .. } if pv.ix() == i => {
                    sp.push(json!([named(p, *low, format!("{id} ▼")), param(p, *low)]));
                    sp.push(json!([named(p, *high, format!("{id} ▲")), param(p, *high)]));
                }
                _ => {}
            }
        }
    }
    let (lo, hi) = analog_range(sn.kind);
    json!({"k": "s", "id": sn.id, "tag": tag_of_name(&sn.name, &sn.id), "name": sn.name,
        "unit": s.vars[sn.var.ix()].unit, "lo": lo, "hi": hi, "plc": plc.map(|p| &p.id),
        "switch": !matches!(sn.kind, SensorKind::Analog { .. }), "limits": limits, "sp": sp})
}

/// A logic parameter as the faceplate reads it: a constant, or the holding register
/// (`PLC|register`) the HMI reads it from.
fn param(plc: &PlcDef, p: Param) -> Value {
    match p {
        Param::Const(c) => json!({"c": c}),
        Param::Holding(h) => json!({"r": format!("{}|{}", plc.id, plc.holding_registers[h.ix()].id)}),
        Param::Cascade { block, .. } => json!({"cascade": block}),
    }
}

fn analog_range(k: SensorKind) -> (f64, f64) {
    match k {
        SensorKind::Analog { lo, hi } => (lo, hi),
        _ => (0.0, 1.0),
    }
}

/// A device's tag (`Text::tag_or`).
fn tag_of_name(name: &Text, id: &str) -> String {
    name.tag_or(id).to_string()
}

/// What a symbol is called, in each language: its tag, then its name where the name does not
/// begin with the tag already (`FWP-101 feed-water pump`, `T-101 储罐`; `汽包` alone where the
/// Chinese tag is the name).
fn tagged(tag: &Text, name: &Text) -> Text {
    let one = |tag: &str, name: &str| match (tag, name) {
        (tag, "") => tag.to_string(),
        (tag, name) if name.starts_with(tag) => name.to_string(),
        (tag, name) => format!("{tag} {name}"),
    };
    Text { en: one(&tag.en, &name.en), zh: one(&tag.zh, &name.zh) }
}

/// A tag, the same in both languages.
fn same(tag: &str) -> Text {
    Text { en: tag.to_string(), zh: tag.to_string() }
}

/// A symbol's accessible name in the page's language: English as served, each language's in
/// `data-label-*` for the page to switch to (`applyLang`).
fn aria(t: &Text) -> String {
    format!(r#" aria-label="{en}" data-label-en="{en}" data-label-zh="{}""#, esc(&t.zh), en = esc(&t.en))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        let text = include_str!("../../scenarios/library/petrochem-tank-farm.yaml");
        icsdrill_engine::Scenario::from_yaml("tank-farm.yaml", &format!("{text}\n{extra}")).unwrap()
    }

    #[test]
    fn the_diagram_draws_equipment_instruments_and_actuators_on_their_pipes() {
        let svg = svg(&scenario(""));
        // Tanks fill from their level transmitters; the reactor is a vessel.
        assert!(svg.contains(r#"id="f-lit101""#) && svg.contains(r#"id="f-lit102""#), "{svg}");
        assert_eq!(svg.matches(r#"class="equip""#).count(), 3);
        // The feed pump draws from T-101 and feeds the reactor: a pipe between them.
        assert!(svg.contains(r#"class="act pump""#) && svg.contains(r#"class="act valve""#));
        assert!(svg.contains(r#"data-for="p101""#));
        // Every sensor has a value and an alarm indicator; every interlock a state.
        for id in ["lit101", "tit201", "pit201", "lit102"] {
            assert!(
                svg.contains(&format!(r#"id="v-{id}""#)) && svg.contains(&format!(r#"id="al-{id}""#)),
                "{id}"
            );
        }
        assert!(svg.contains(r#"id="i-il-101""#) && svg.contains(r#"id="is-il-101""#));
        // The faceplate of LIT-101 names its alarm limits as the holding registers they live in.
        assert!(svg.contains("plc-t101|t101_al_hihi"), "{svg}");
        // A transmitter shows its unit; a switch shows ON or OFF, in none.
        let unit_after = |id: &str| {
            let at = svg.find(&format!(r#"id="v-{id}""#)).expect("a value");
            let unit = &svg[at..][svg[at..].find(r#"class="unit""#).expect("a unit")..];
            unit[unit.find('>').unwrap() + 1..unit.find("</text>").unwrap()].to_string()
        };
        assert_eq!(unit_after("lit101"), "%");
        assert_eq!(unit_after("lshh101"), "", "{svg}");
    }

    #[test]
    fn hand_placement_moves_a_symbol_and_its_pipe_follows() {
        let placed = svg(&scenario("mimic:\n  size: [900, 700]\n  place:\n    p101: [444, 333]\n"));
        assert!(placed.contains(r#"viewBox="0 0 900 700""#), "{placed}");
        assert!(placed.contains(r#"cx="444" cy="333" r="11""#), "{placed}");
        let pipe = placed.split(r#"data-for="p101" d=""#).nth(1).unwrap();
        assert!(pipe.split('"').next().unwrap().contains("H444"), "{pipe}");
    }
}
