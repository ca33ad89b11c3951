//! The report's charts, drawn on the server as SVG so the page stays self-contained and prints
//! as it shows: each process variable's trend (true value, from the log's samples) with the
//! attack's and the team's moments marked, and the attack-versus-response timeline. Every text
//! in them is escaped.

use std::fmt::Write as _;

use icsdrill_engine::scenario::Text;
use icsdrill_engine::{EventKind, Scenario, SimEvent};
use icsdrill_web::escape_html as esc;
use serde::Serialize;

use super::{Lang, Line};

/// Most points a trend keeps (samples are thinned evenly beyond).
const MAX_POINTS: usize = 240;
/// Chart width, in SVG units.
const W: f64 = 800.0;
/// Left margin (values and lane names).
const LEFT: f64 = 56.0;
/// Right margin.
const RIGHT: f64 = 28.0;

/// One process variable over the drill.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    /// Variable id.
    pub id: String,
    /// Its name.
    pub name: Text,
    /// Unit.
    pub unit: String,
    /// (simulated s, true value), in time order.
    pub points: Vec<(f64, f64)>,
}

/// Every variable's trend from the log's samples.
pub(super) fn trends(s: &Scenario, events: &[SimEvent]) -> Vec<Trend> {
    let hz = f64::from(s.tick_hz);
    let samples: Vec<(f64, &std::collections::BTreeMap<String, f64>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Sample { vars, .. } => Some((e.tick as f64 / hz, vars)),
            _ => None,
        })
        .collect();
    let step = samples.len().div_ceil(MAX_POINTS).max(1);
    s.vars
        .iter()
        .map(|v| Trend {
            id: v.id.clone(),
            name: v.name.clone(),
            unit: v.unit.clone(),
            points: samples
                .iter()
                .step_by(step)
                .filter_map(|(t, vars)| Some((*t, *vars.get(&v.id)?)))
                .collect(),
        })
        .filter(|t| t.points.len() > 1)
        .collect()
}

/// The x position of simulated second `t` in a chart ending at `end`.
fn x(t: f64, end: f64) -> f64 {
    LEFT + (W - LEFT - RIGHT) * (t / end.max(1.0)).clamp(0.0, 1.0)
}

/// Ticks of the time axis: five, at round seconds.
fn time_axis(o: &mut String, end: f64, y: f64) {
    for i in 0..=5 {
        let t = (end * f64::from(i) / 5.0).round();
        let _ = write!(
            o,
            "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{2}\" stroke=\"#c5d2dc\"/><text x=\"{0:.1}\" y=\"{3}\" text-anchor=\"middle\" font-size=\"10\">{t:.0} s</text>",
            x(t, end),
            y - 4.0,
            y,
            y + 12.0
        );
    }
}

/// One trend with the attack's (red) and the team's (blue) moments as vertical marks.
pub(super) fn trend_svg(t: &Trend, lines: &[Line], end: f64, l: Lang) -> String {
    let (h, top, bottom) = (150.0, 18.0, 122.0);
    let (lo, hi) = t.points.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, v)| (a.min(*v), b.max(*v)));
    let pad = ((hi - lo) * 0.1).max(1e-6);
    let (lo, hi) = (lo - pad, hi + pad);
    let y = |v: f64| bottom - (bottom - top) * (v - lo) / (hi - lo);
    let mut o = String::new();
    let title = format!("{} ({})", l.pick(&t.name), t.unit);
    let _ = write!(
        o,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" width=\"100%\" role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\"><text x=\"{LEFT}\" y=\"12\" font-size=\"12\" font-weight=\"bold\">{}</text>",
        esc(&title),
        esc(&title)
    );
    for v in [hi - pad, lo + pad] {
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\">{:.1}</text>",
            LEFT - 4.0,
            y(v) + 3.0,
            v
        );
    }
    for line in lines.iter().filter(|l| matches!(l.who, "attacker" | "team")) {
        let colour = if line.who == "attacker" { "#b00020" } else { "#1d5c8a" };
        let _ = write!(
            o,
            "<line x1=\"{0:.1}\" y1=\"{top}\" x2=\"{0:.1}\" y2=\"{bottom}\" stroke=\"{colour}\" stroke-dasharray=\"3 2\" stroke-width=\"1\"><title>{1:.0} s: {2}</title></line>",
            x(line.t_s, end),
            line.t_s,
            esc(l.pick(&line.what))
        );
    }
    let path: Vec<String> = t.points.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t, end), y(*v))).collect();
    let _ = write!(
        o,
        "<polyline fill=\"none\" stroke=\"#1b2733\" stroke-width=\"1.5\" points=\"{}\"/><line x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#8a9aa8\"/>",
        path.join(" "),
        W - RIGHT
    );
    time_axis(&mut o, end, bottom + 8.0);
    o.push_str("</svg>");
    o
}

/// The attack against the response: one lane each for the attacker, the team and the plant,
/// a dot per moment (its text as the dot's title).
pub(super) fn timeline_svg(lines: &[Line], end: f64, l: Lang) -> String {
    let lanes = [
        ("attacker", l.s("Attacker", "攻击方"), "#b00020"),
        ("team", l.s("Team", "队伍"), "#1d5c8a"),
        ("plant", l.s("Plant", "工艺"), "#a16207"),
    ];
    let h = 40.0 + 30.0 * lanes.len() as f64;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" width=\"100%\" role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\">",
        esc(l.s("Attack versus response", "攻击与处置对照"))
    );
    for (i, (who, name, colour)) in lanes.iter().enumerate() {
        let y = 20.0 + 30.0 * i as f64;
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{}</text><line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#e2e8ee\"/>",
            LEFT - 6.0,
            y + 4.0,
            esc(name),
            W - RIGHT
        );
        for line in lines.iter().filter(|x| x.who == *who) {
            let _ = write!(
                o,
                "<circle cx=\"{:.1}\" cy=\"{y}\" r=\"4\" fill=\"{colour}\"><title>{:.0} s: {}</title></circle>",
                x(line.t_s, end),
                line.t_s,
                esc(l.pick(&line.what))
            );
        }
    }
    time_axis(&mut o, end, h - 12.0);
    o.push_str("</svg>");
    o
}
