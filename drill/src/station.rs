//! What the operator stations read: which PLCs they still reach (a PLC they cannot read is a
//! communication failure), and each sensor as they show it (the input register a PLC maps it
//! to, spoofed values included; nothing of what a lost PLC reports or moves).

use icsdrill_engine::network::NetState;
use icsdrill_engine::scenario::{ActuatorIdx, DiscreteSource, PlcIdx, RegisterSource, SensorIdx};
use icsdrill_engine::snapshot::{Field, Readings, Screen};
use icsdrill_engine::{Scenario, Snapshot};

/// A sensor's value as an operator station reads it: from the input register a PLC maps it
/// to (spoofed values included), scaled, where `sources` (`sensor_sources`) says; the field
/// value for a sensor no PLC reports.
pub fn hmi_value(
    s: &Scenario,
    readings: &Readings,
    sensor: usize,
    sources: &[Option<(usize, usize)>],
) -> f64 {
    read_sensor(s, sources[sensor], sensor, |p| &readings.inputs[p], &readings.field)
}

/// Which PLCs the operator stations read now, by `PlcIdx`, on a live screen: those that answer
/// and that a station's polls reach through the conduits as they did at the start (a PLC the
/// plant's own conduits keep from the stations is not lost: it was never theirs to read). A
/// frozen or blank screen shows what it shows: all.
pub fn operator_reads(s: &Scenario, snap: &Snapshot) -> Vec<bool> {
    if !matches!(snap.screen, Screen::Live) {
        return vec![true; snap.plcs.len()];
    }
    let mut start: Option<NetState> = None;
    snap.plcs
        .iter()
        .enumerate()
        .map(|(p, v)| {
            let plc = PlcIdx(p as u32);
            let reached = snap.net.station_reaches(s, plc)
                || !start.get_or_insert_with(|| NetState::new(s)).station_reaches(s, plc);
            reached && v.silence().is_none() && !v.listen_only
        })
        .collect()
}

/// Whether an operator station sees sensor `sensor`, read where `source` (`sensor_sources`)
/// says, with the PLCs it `reads`: it reads the PLC whose input register reports it, else one
/// whose discrete input a switch is wired to, else nobody reports it (a field value). A
/// high-high level switch wired to the SIS is lost with the SIS.
pub(crate) fn sensor_seen(
    s: &Scenario,
    sensor: usize,
    source: Option<(usize, usize)>,
    reads: &[bool],
) -> bool {
    if let Some((p, _)) = source {
        return reads[p];
    }
    let switch = DiscreteSource::Switch(SensorIdx(sensor as u32));
    let mut wired =
        (0..s.plcs.len()).filter(|p| s.plcs[*p].discrete_inputs.iter().any(|d| d.source == switch));
    match wired.next() {
        None => true,
        Some(first) => reads[first] || wired.any(|p| reads[p]),
    }
}

/// Whether PLC `p` moves actuator `a`: its logic drives it, or one of its interlocks does
/// when it trips (an SIS's blowdown valve).
pub(crate) fn moves(s: &Scenario, p: usize, a: ActuatorIdx) -> bool {
    s.plcs[p].drives(a)
        || s.interlocks.iter().any(|il| il.plc.ix() == p && il.actions.iter().any(|(o, _)| *o == a))
}

/// A sensor's value read where `source` says, from the PLCs' input registers (`inputs` by
/// PLC) or the field.
fn read_sensor<'a>(
    s: &Scenario,
    source: Option<(usize, usize)>,
    sensor: usize,
    inputs: impl Fn(usize) -> &'a [u16],
    field: &Field,
) -> f64 {
    match source {
        Some((p, r)) => s.plcs[p].input_registers[r].value(inputs(p)),
        None => field.sensors[sensor],
    }
}

/// Where the operator station reads each sensor: the PLC and input register it is mapped to
/// (the first), or none (the field value). In one pass over the PLCs' input registers (a
/// search a sensor was sensors x registers: seconds of a 1000-PLC plant's view, which the
/// consoles ask for twice a second).
pub fn sensor_sources(s: &Scenario) -> Vec<Option<(usize, usize)>> {
    let mut out = vec![None; s.sensors.len()];
    for (p, plc) in s.plcs.iter().enumerate() {
        for (r, ir) in plc.input_registers.iter().enumerate() {
            if let RegisterSource::Sensor(k) = ir.source
                && let Some(slot) = out.get_mut(k.ix())
            {
                slot.get_or_insert((p, r));
            }
        }
    }
    out
}

/// Each sensor as the operator station shows it in `snap` (none: it shows nothing), read
/// where `sources` (`sensor_sources`) says, copying no table.
pub fn shown_values(s: &Scenario, snap: &Snapshot, sources: &[Option<(usize, usize)>]) -> Vec<Option<f64>> {
    fn read<'a>(
        s: &Scenario,
        sources: &[Option<(usize, usize)>],
        inputs: impl Fn(usize) -> &'a [u16],
        field: &Field,
    ) -> Vec<Option<f64>> {
        sources.iter().enumerate().map(|(i, src)| Some(read_sensor(s, *src, i, &inputs, field))).collect()
    }
    match &snap.screen {
        Screen::Blank => vec![None; sources.len()],
        Screen::Live => {
            // What a PLC the stations cannot read reports is not seen (a gap in the trend).
            let reads = operator_reads(s, snap);
            let mut values = read(s, sources, |p| &snap.plcs[p].memory.input, &snap.field);
            if !reads.iter().all(|r| *r) {
                for (i, (v, src)) in values.iter_mut().zip(sources).enumerate() {
                    if !sensor_seen(s, i, *src, &reads) {
                        *v = None;
                    }
                }
            }
            values
        }
        Screen::Frozen(seen) => read(s, sources, |p| &seen.inputs[p], &seen.field),
    }
}
