//! Validation of the PLCs: each PLC's settings, its address map (points and reserved blocks,
//! checked for duplicates and overlaps), where its inputs come from, and the parameters and
//! outputs its logic blocks use.

use std::collections::BTreeMap;

use serde_saphyr::{Location, Spanned};

use super::super::file::*;
use super::super::*;
use super::process::Process;
use super::{Cx, Names, sha256_hex};

/// What the PLCs build together: alarm and interlock tables and which block drives each
/// actuator (an actuator has one controller).
#[derive(Default)]
pub(super) struct PlantBuild {
    /// Every PLC's id, for interlocks that halt another PLC.
    pub(super) plc_names: Names,
    pub(super) alarm_names: Names,
    pub(super) interlock_names: Names,
    pub(super) alarms: Vec<AlarmDef>,
    pub(super) interlocks: Vec<InterlockDef>,
    drivers: BTreeMap<u32, String>,
}

/// One PLC's point namespace.
pub(super) struct Points {
    pub(super) plc: String,
    names: BTreeMap<String, (Table, PointIdx)>,
    /// The PLC's PI blocks by id: their index in its program.
    pub(super) loops: BTreeMap<String, usize>,
}

impl Points {
    fn get(&self, id: &str, table: Table) -> Option<PointIdx> {
        match self.names.get(id) {
            Some((t, i)) if *t == table => Some(*i),
            _ => None,
        }
    }
}

/// Addresses claimed in each table, for the overlap check: start, end (exclusive), what
/// claims them and where.
type Spans = BTreeMap<Table, Vec<(u32, u32, String, Location)>>;

/// One PLC's address map as its file lays it out: the point namespace, the coils, the
/// addresses of the other points in file order, and the reserved blocks.
struct Layout {
    points: Points,
    coils: Vec<CoilDef>,
    discrete_inputs: Vec<u16>,
    input_registers: Vec<u16>,
    holding_registers: Vec<u16>,
    reserved: Vec<Reserved>,
}

impl Cx<'_> {
    /// Validates one PLC: its settings, address map, points and program.
    pub(super) fn plc(
        &mut self,
        idx: PlcIdx,
        p: &PlcFile,
        tick_hz: u32,
        zones: &Names,
        process: &Process,
        plant: &mut PlantBuild,
    ) -> PlcDef {
        let role =
            self.enum_of(&p.role, "PLC role", &[(PlcRole::Process, "process"), (PlcRole::Safety, "safety")]);
        let zone = ZoneIdx(self.resolve(zones, "zone", &p.zone));
        let unit_id = self.int(&p.unit_id, 0, 255, "unit_id") as u8;
        let scan_ms = self.int(&p.scan_ms, 1, 10_000, "scan_ms");
        // A scan never runs more often than the simulation ticks.
        let scan_ticks = ((scan_ms as f64) * f64::from(tick_hz) / 1000.0).round().max(1.0) as u64;
        let tick_ms = 1000.0 / f64::from(tick_hz);
        if (scan_ms as f64) < tick_ms {
            self.warn(
                &p.scan_ms.referenced,
                format!("`{}`: scan_ms {scan_ms} is faster than the tick ({tick_ms} ms): the PLC scans once per tick; raise tick_hz for a faster scan", p.id.value),
            );
        }
        let layout = self.layout(p);
        let order = p.word_order.as_ref().map_or(WordOrder::HighFirst, |o| {
            self.enum_of(
                o,
                "word order",
                &[(WordOrder::HighFirst, "high_first"), (WordOrder::LowFirst, "low_first")],
            )
        });

        let holding_registers: Vec<HoldingDef> = p
            .holding_registers
            .iter()
            .zip(layout.holding_registers)
            .map(|(h, addr)| self.holding(h, addr, order))
            .collect();
        let input_registers: Vec<InputRegDef> = p
            .input_registers
            .iter()
            .zip(layout.input_registers)
            .map(|(r, addr)| self.input_register(r, addr, process, order))
            .collect();
        let discrete_inputs: Vec<DiscreteDef> = p
            .discrete_inputs
            .iter()
            .zip(layout.discrete_inputs)
            .map(|(d, addr)| self.discrete_input(d, addr, process, plant))
            .collect();

        let points = &layout.points;
        let logic: Vec<Logic> = p.logic.iter().map(|b| self.logic(idx, b, process, points, plant)).collect();
        self.cascades(p, &logic);
        let program_hash = program_hash(idx, &logic, plant);
        let mut def = PlcDef {
            id: p.id.value.clone(),
            name: self.text(&p.name, &p.id),
            role,
            zone,
            unit_id,
            device: Device {
                vendor: p.device.vendor.clone(),
                product: p.device.product.clone(),
                revision: p.device.revision.clone(),
            },
            scan_ticks,
            range_checks: p.range_checks,
            program_backup: p.program_backup,
            coils: layout.coils,
            discrete_inputs,
            input_registers,
            holding_registers,
            reserved: layout.reserved,
            logic,
            program_hash,
            iec104: None,
            opcua: None,
        };
        def.iec104 = p.iec104.as_ref().map(|f| self.iec104(f, &p.id, &def));
        def.opcua = p.opcua.as_ref().map(|f| self.opcua(f, &p.id));
        def
    }

    /// Lays out one PLC's points and reserved blocks, reporting duplicate point ids, bad
    /// addresses and overlapping claims.
    fn layout(&mut self, p: &PlcFile) -> Layout {
        let loops = p
            .logic
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match l {
                LogicFile::Pi(pi) => Some((pi.id.value.clone(), i)),
                _ => None,
            })
            .collect();
        let mut points = Points { plc: p.id.value.clone(), names: BTreeMap::new(), loops };
        let mut spans: Spans = BTreeMap::new();
        let mut add_point = |cx: &mut Self,
                             table: Table,
                             i: usize,
                             id: &Spanned<String>,
                             addr: &Spanned<i64>,
                             words: u32|
         -> u16 {
            if points.names.insert(id.value.clone(), (table, PointIdx(i as u32))).is_some() {
                cx.err(&id.referenced, format!("duplicate point id `{}` in PLC `{}`", id.value, p.id.value));
            }
            let a = cx.int(addr, 0, 65535 - i64::from(words - 1), "address") as u16;
            spans.entry(table).or_default().push((
                u32::from(a),
                u32::from(a) + words,
                format!("`{}`", id.value),
                addr.referenced,
            ));
            a
        };
        let coils: Vec<CoilDef> = p
            .coils
            .iter()
            .enumerate()
            .map(|(i, c)| CoilDef {
                id: c.id.value.clone(),
                addr: add_point(self, Table::Coils, i, &c.id, &c.addr, 1),
                name: self.text(&c.name, &c.id),
                initial: c.initial,
            })
            .collect();
        let discrete_inputs: Vec<u16> = p
            .discrete_inputs
            .iter()
            .enumerate()
            .map(|(i, d)| add_point(self, Table::DiscreteInputs, i, &d.id, &d.addr, 1))
            .collect();
        let input_registers: Vec<u16> = p
            .input_registers
            .iter()
            .enumerate()
            .map(|(i, r)| add_point(self, Table::InputRegisters, i, &r.id, &r.addr, words_of(&r.format)))
            .collect();
        let holding_registers: Vec<u16> = p
            .holding_registers
            .iter()
            .enumerate()
            .map(|(i, h)| add_point(self, Table::HoldingRegisters, i, &h.id, &h.addr, words_of(&h.format)))
            .collect();
        let reserved: Vec<Reserved> = p.reserved.iter().map(|r| self.reserved(r, &mut spans)).collect();
        self.check_overlaps(spans);
        Layout { points, coils, discrete_inputs, input_registers, holding_registers, reserved }
    }

    /// Validates one reserved block, claiming its addresses in `spans`.
    fn reserved(&mut self, r: &ReservedFile, spans: &mut Spans) -> Reserved {
        let tables: [(Table, &str); 4] = [
            (Table::Coils, "coils"),
            (Table::DiscreteInputs, "discrete_inputs"),
            (Table::InputRegisters, "input_registers"),
            (Table::HoldingRegisters, "holding_registers"),
        ];
        let table = self.enum_of(&r.table, "table", &tables);
        let start = self.int(&r.start, 0, 65535, "start address") as u16;
        let count = self.int(&r.count, 1, 65536 - i64::from(start), "count") as u32;
        let label = format!("reserved block {start}..{}", u32::from(start) + count - 1);
        spans.entry(table).or_default().push((
            u32::from(start),
            u32::from(start) + count,
            label,
            r.start.referenced,
        ));
        Reserved { table, start, count, note: r.note.clone(), values: Vec::new() }
    }

    /// Reports every claim that overlaps the one before it in its table, in address order.
    fn check_overlaps(&mut self, spans: Spans) {
        for (table, mut list) in spans {
            list.sort_by_key(|(start, end, _, at)| (*start, *end, at.line(), at.column()));
            for pair in list.windows(2) {
                let (a_start, a_end, a_label, _) = &pair[0];
                let (b_start, _, b_label, b_at) = &pair[1];
                if b_start < a_end {
                    let msg = format!(
                        "{} {b_label} at address {b_start} overlaps {a_label} ({a_start}..{})",
                        table.as_str(),
                        a_end - 1
                    );
                    self.err(b_at, msg);
                }
            }
        }
    }

    /// Validates one input register and where its value comes from.
    fn input_register(
        &mut self,
        r: &InputRegFile,
        addr: u16,
        process: &Process,
        order: WordOrder,
    ) -> InputRegDef {
        let source = match (&r.sensor, &r.actuator) {
            (Some(s), None) => RegisterSource::Sensor(self.analog_sensor(process, s)),
            (None, Some(a)) => RegisterSource::Actuator(self.actuator_ref(process, a)),
            _ => {
                self.err(
                    &r.id.referenced,
                    format!("input register `{}`: give exactly one of sensor, actuator", r.id.value),
                );
                RegisterSource::Sensor(SensorIdx(0))
            }
        };
        let codec = self.codec(&r.format, &r.scale, r.offset, order);
        InputRegDef { id: r.id.value.clone(), addr, name: self.text(&r.name, &r.id), source, codec }
    }

    /// Validates one discrete input and where its bit comes from.
    fn discrete_input(
        &mut self,
        d: &DiscreteFile,
        addr: u16,
        process: &Process,
        plant: &PlantBuild,
    ) -> DiscreteDef {
        let source = match (&d.switch, &d.running, &d.tripped, &d.alarm) {
            (Some(s), None, None, None) => DiscreteSource::Switch(self.switch_sensor(process, s)),
            (None, Some(a), None, None) => DiscreteSource::Running(self.actuator_ref(process, a)),
            (None, None, Some(i), None) => {
                DiscreteSource::Tripped(InterlockIdx(self.resolve(&plant.interlock_names, "interlock", i)))
            }
            (None, None, None, Some(a)) => {
                DiscreteSource::Alarm(AlarmIdx(self.resolve(&plant.alarm_names, "alarm", a)))
            }
            _ => {
                self.err(
                    &d.id.referenced,
                    format!(
                        "discrete input `{}`: give exactly one of switch, running, tripped, alarm",
                        d.id.value
                    ),
                );
                DiscreteSource::Running(ActuatorIdx(0))
            }
        };
        DiscreteDef { id: d.id.value.clone(), addr, name: self.text(&d.name, &d.id), source }
    }

    /// Validates one holding register: its scaling, initial value and declared range.
    fn holding(&mut self, h: &HoldingFile, addr: u16, order: WordOrder) -> HoldingDef {
        let offset = self.finite_plain(h.offset, &h.id, "offset");
        let codec = self.codec(&h.format, &h.scale, offset, order);
        let kind = match codec.format {
            Format::Uint16 => "16-bit",
            Format::Int16 => "signed 16-bit",
            Format::Uint32 => "32-bit",
            Format::Int32 => "signed 32-bit",
            Format::Float32 => "float32",
        };
        let scale = codec.scaling.scale;
        let initial = self.finite(&h.initial, "initial");
        let representable = |x: f64| codec.fits(x);
        if !representable(initial) {
            self.err(
                &h.initial.referenced,
                format!(
                    "initial {initial} does not fit a {kind} register with scale {scale} and offset {}",
                    h.offset
                ),
            );
        }
        let range = h.range.as_ref().map(|r| {
            let w = self.window(r, "range");
            if !representable(w[0]) || !representable(w[1]) {
                self.err(
                    &r.referenced,
                    format!(
                        "range [{}, {}] does not fit a {kind} register with scale {scale} and offset {}",
                        w[0], w[1], h.offset
                    ),
                );
            }
            if initial < w[0] || initial > w[1] {
                self.err(
                    &h.initial.referenced,
                    format!("initial {initial} is outside the declared range [{}, {}]", w[0], w[1]),
                );
            }
            w
        });
        HoldingDef {
            id: h.id.value.clone(),
            addr,
            name: self.text(&h.name, &h.id),
            unit: h.unit.clone(),
            initial_words: codec.encode(initial),
            codec,
            range,
        }
    }

    /// A register point's codec: its format (uint16 by default), its scale (10 by default, 1
    /// for float32), offset, and the device's word order.
    fn codec(
        &mut self,
        format: &Option<Spanned<String>>,
        scale: &Option<Spanned<f64>>,
        offset: f64,
        order: WordOrder,
    ) -> Codec {
        let format =
            format.as_ref().map_or(Format::Uint16, |f| self.enum_of(f, "register format", &Format::ALL));
        let scale = match scale {
            Some(s) => self.positive(s, "scale"),
            None if format == Format::Float32 => 1.0,
            None => 10.0,
        };
        Codec { scaling: Scaling { scale, offset }, format, order }
    }

    /// Claims an actuator for one controlling block.
    pub(super) fn drive(
        &mut self,
        plant: &mut PlantBuild,
        process: &Process,
        output: &Spanned<String>,
        by: String,
    ) -> ActuatorIdx {
        let a = self.actuator_ref(process, output);
        if process.names.contains_key(&output.value)
            && let Some(other) = plant.drivers.insert(a.0, by)
        {
            self.err(&output.referenced, format!("actuator `{}` is already driven by {other}", output.value));
        }
        a
    }

    /// Resolves a point id of the PLC in `table`.
    pub(super) fn point(&mut self, points: &Points, id: &Spanned<String>, table: Table) -> PointIdx {
        match points.get(&id.value, table) {
            Some(i) => i,
            None => {
                let what = match table {
                    Table::Coils => "coil",
                    Table::DiscreteInputs => "discrete input",
                    Table::InputRegisters => "input register",
                    Table::HoldingRegisters => "holding register",
                };
                self.err(&id.referenced, format!("`{}` is not a {what} of PLC `{}`", id.value, points.plc));
                PointIdx(0)
            }
        }
    }

    /// Resolves a logic parameter: a constant, or a holding register of the PLC.
    pub(super) fn param(&mut self, points: &Points, p: &Spanned<ParamFile>) -> Param {
        match &p.value {
            ParamFile::Const(x) if x.is_finite() => Param::Const(*x),
            ParamFile::Const(_) => {
                self.err(&p.referenced, "parameter must be a finite number or a holding register id");
                Param::Const(0.0)
            }
            ParamFile::Register(id) => {
                let spanned = Spanned { value: id.clone(), referenced: p.referenced, defined: p.defined };
                Param::Holding(self.point(points, &spanned, Table::HoldingRegisters))
            }
            ParamFile::Cascade(c) => {
                let Some(block) = points.loops.get(&c.cascade) else {
                    self.err(
                        &p.referenced,
                        format!("no PI block `{}` in PLC `{}` to cascade from", c.cascade, points.plc),
                    );
                    return Param::Const(0.0);
                };
                if !c.lo.is_finite() || !c.hi.is_finite() || c.lo >= c.hi {
                    self.err(
                        &p.referenced,
                        format!("cascade from `{}`: lo must be below hi, both finite", c.cascade),
                    );
                }
                Param::Cascade { block: *block as u32, lo: c.lo, hi: c.hi }
            }
        }
    }
}

impl Cx<'_> {
    /// Reports PI blocks that drive nothing: no output, and no other loop's set point.
    fn cascades(&mut self, p: &PlcFile, logic: &[Logic]) {
        let masters: Vec<u32> = logic
            .iter()
            .flat_map(|l| match l {
                Logic::Pi { setpoint: Param::Cascade { block, .. }, .. } => vec![*block],
                Logic::Select { from, .. } => from.clone(),
                _ => Vec::new(),
            })
            .collect();
        for (i, (l, file)) in logic.iter().zip(&p.logic).enumerate() {
            if let (Logic::Pi { output: None, split, .. }, LogicFile::Pi(f)) = (l, file)
                && split.is_empty()
                && !masters.contains(&(i as u32))
            {
                self.err(
                    &f.id.referenced,
                    format!("PI `{}` drives nothing: give `output` or `split`, select it, or use it as another loop's set point (`setpoint: {{ cascade: {}, lo, hi }}`)", f.id.value, f.id.value),
                );
            }
        }
    }
}

/// Addresses a register point of this format takes (an unknown format is reported elsewhere).
fn words_of(format: &Option<Spanned<String>>) -> u32 {
    let f = format.as_ref().and_then(|f| Format::ALL.iter().find(|(_, s)| *s == f.value));
    f.map_or(1, |(f, _)| f.words() as u32)
}

/// The hash of PLC `idx`'s program: its logic and the alarm and interlock blocks it owns. An
/// engineer compares it with the backup's to see whether the program was changed.
fn program_hash(idx: PlcIdx, logic: &[Logic], plant: &PlantBuild) -> String {
    let mut program = format!("{logic:?}");
    for a in plant.alarms.iter().filter(|a| a.plc == idx) {
        // Field by field as the block read before it had an on-delay: a program without one
        // hashes as it always did (the hash is in recorded logs).
        let AlarmDef { id, plc, pv, limits, deadband, on_delay_s } = a;
        program.push_str(&format!(
            "AlarmDef {{ id: {id:?}, plc: {plc:?}, pv: {pv:?}, limits: {limits:?}, deadband: {deadband:?} }}"
        ));
        if *on_delay_s != 0.0 {
            program.push_str(&format!("on_delay_s: {on_delay_s:?}"));
        }
    }
    for i in plant.interlocks.iter().filter(|i| i.plc == idx) {
        program.push_str(&format!("{i:?}"));
    }
    sha256_hex(program.as_bytes())
}
