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
    // At least 2 % of the value's size high: a steady variable's noise (±0.05 on 120 °C)
    // stays a flat line near the middle rather than filling the chart.
    let (mid, half) = ((lo + hi) / 2.0, ((hi - lo) / 2.0).max(((lo + hi) / 2.0).abs() * 0.01).max(1e-3));
    let (shown_lo, shown_hi) = (mid - half, mid + half);
    let pad = half * 0.2;
    let (lo, hi) = (shown_lo - pad, shown_hi + pad);
    let y = |v: f64| bottom - (bottom - top) * (v - lo) / (hi - lo);
    // The two labels differ: as many decimals as the span needs.
    let decimals = (-(2.0 * half).log10()).ceil().clamp(0.0, 4.0) as usize + 1;
    let mut o = String::new();
    let title = format!("{} ({})", l.pick(&t.name), t.unit);
    let _ = write!(
        o,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" width=\"100%\" role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\"><text x=\"{LEFT}\" y=\"12\" font-size=\"12\" font-weight=\"bold\">{}</text>",
        esc(&title),
        esc(&title)
    );
    for v in [shown_hi, shown_lo] {
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\">{:.decimals$}</text>",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The value labels of a trend's chart, top first.
    fn labels(points: Vec<(f64, f64)>) -> (Vec<String>, Vec<f64>) {
        let t = Trend { id: "t".into(), name: Text::new("T", "T"), unit: "°C".into(), points };
        let svg = trend_svg(&t, &[], 100.0, Lang::En);
        let texts: Vec<String> = svg
            .split("text-anchor=\"end\" font-size=\"10\">")
            .skip(1)
            .map(|s| s[..s.find('<').unwrap()].to_string())
            .collect();
        let ys: Vec<f64> = svg
            .split("polyline fill=\"none\" stroke=\"#1b2733\" stroke-width=\"1.5\" points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        (texts, ys)
    }

    #[test]
    fn a_steady_variable_is_a_flat_line_with_two_different_labels() {
        // ±0.05 of noise on 120: labelled apart, drawn within a few units of the middle.
        let (texts, ys) =
            labels((0..20).map(|i| (f64::from(i), 120.0 + if i % 2 == 0 { 0.05 } else { -0.05 })).collect());
        assert_eq!(texts.len(), 2);
        assert_ne!(texts[0], texts[1], "{texts:?}");
        let spread =
            ys.iter().copied().fold(f64::MIN, f64::max) - ys.iter().copied().fold(f64::MAX, f64::min);
        assert!(spread < 10.0, "noise fills {spread:.1} of 104 units");
        // A variable that moves fills the chart, labelled at its ends.
        let (texts, ys) = labels(vec![(0.0, 20.0), (50.0, 80.0)]);
        assert_eq!(texts, ["80.0", "20.0"]);
        assert!(ys[0] - ys[1] > 80.0, "{ys:?}");
    }
}
