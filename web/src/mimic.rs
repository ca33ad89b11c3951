//! The plant's mimic diagram: an SVG drawn from the scenario, one panel per PLC with the
//! measured values it reads, its actuators and its interlocks. The team console fills in the
//! values live by element id (`v-SENSOR`, `b-SENSOR` bar, `a-ACTUATOR`, `i-INTERLOCK`,
//! `m-PLC` mode); names carry `data-en`/`data-zh` so the language switch needs no reload.

use std::fmt::Write as _;

use icsdrill_engine::Scenario;
use icsdrill_engine::scenario::{RegisterSource, SensorKind, Text};

const W: usize = 330;
const ROW: usize = 22;
const COLS: usize = 3;

use crate::escape_html as esc;

fn label(x: usize, y: usize, t: &Text, class: &str) -> String {
    format!(
        r#"<text x="{x}" y="{y}" class="{class} i18n" data-en="{}" data-zh="{}">{}</text>"#,
        esc(&t.en),
        esc(&t.zh),
        esc(&t.en)
    )
}

/// The diagram.
pub fn svg(s: &Scenario) -> String {
    let mut panels = Vec::new();
    for (pi, plc) in s.plcs.iter().enumerate() {
        let mut rows = String::new();
        let mut y = 44;
        for ir in &plc.input_registers {
            match ir.source {
                RegisterSource::Sensor(sn) => {
                    let sensor = &s.sensors[sn.ix()];
                    let var = &s.vars[sensor.var.ix()];
                    let (lo, hi) = match sensor.kind {
                        SensorKind::Analog { lo, hi } => (lo, hi),
                        _ => (0.0, 1.0),
                    };
                    rows.push_str(&label(10, y, &sensor.name, "name"));
                    let _ = write!(
                        rows,
                        r#"<rect x="170" y="{}" width="80" height="10" class="track"/><rect id="b-{id}" x="170" y="{}" width="0" height="10" class="bar" data-lo="{lo}" data-hi="{hi}"/><text id="v-{id}" x="320" y="{y}" class="value" text-anchor="end">–</text><text x="322" y="{y}" class="unit">{unit}</text>"#,
                        y - 9,
                        y - 9,
                        id = esc(&sensor.id),
                        unit = esc(&var.unit),
                    );
                    y += ROW;
                }
                RegisterSource::Actuator(a) => {
                    let act = &s.actuators[a.ix()];
                    rows.push_str(&label(10, y, &act.name, "name"));
                    let _ = write!(
                        rows,
                        r#"<text id="a-{id}" x="320" y="{y}" class="value" text-anchor="end">–</text>"#,
                        id = esc(&act.id)
                    );
                    y += ROW;
                }
            }
        }
        for il in s.interlocks.iter().filter(|i| i.plc.ix() == pi) {
            let _ = write!(
                rows,
                r#"<circle id="i-{id}" cx="16" cy="{}" r="6" class="ok"/><text x="28" y="{y}" class="name">SIS {id}</text><text id="is-{id}" x="120" y="{y}" class="mode"></text>"#,
                y - 4,
                id = esc(&il.id)
            );
            y += ROW;
        }
        panels.push((plc, rows, y + 6));
    }
    let rows_per_line: Vec<usize> =
        panels.chunks(COLS).map(|c| c.iter().map(|(_, _, h)| *h).max().unwrap_or(0)).collect();
    let height: usize = rows_per_line.iter().sum::<usize>() + 10 * (rows_per_line.len() + 1);
    let width = COLS.min(panels.len().max(1)) * (W + 10) + 10;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" style="width:100%;max-width:{width}px;height:auto" role="img" aria-label="{}">"#,
        esc(&s.meta.title.en)
    );
    out.push_str("<style>.panel{fill:#10212e;stroke:#3b6e8f}.safety{stroke:#d08a2c}.title{fill:#e8f1f7;font:bold 14px sans-serif}.name{fill:#b9cfdd;font:12px sans-serif}.value{fill:#7fe0a0;font:bold 13px monospace}.unit{fill:#8aa;font:11px sans-serif}.track{fill:#1d3647}.bar{fill:#3fa7d6}.ok{fill:#2f9e44}.tripped{fill:#e03131}.bypassed{fill:#f59f00}.unknown{fill:#555}.alarm{fill:#f59f00}.mode{fill:#9fc;font:11px monospace}</style>");
    let mut y0 = 10;
    for (line, chunk) in panels.chunks(COLS).enumerate() {
        for (col, (plc, rows, h)) in chunk.iter().enumerate() {
            let x0 = 10 + col * (W + 10);
            let class = match plc.role {
                icsdrill_engine::scenario::PlcRole::Safety => "panel safety",
                icsdrill_engine::scenario::PlcRole::Process => "panel",
            };
            let _ = write!(
                out,
                r#"<g transform="translate({x0},{y0})"><rect width="{W}" height="{h}" rx="6" class="{class}"/>{}<text id="m-{id}" x="{}" y="20" class="mode" text-anchor="end">{id}</text>{rows}</g>"#,
                label(10, 20, &plc.name, "title"),
                W - 8,
                id = esc(&plc.id),
            );
        }
        y0 += rows_per_line[line] + 10;
    }
    out.push_str("</svg>");
    out
}
