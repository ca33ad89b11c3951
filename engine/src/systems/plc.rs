//! PLC scan cycle: read inputs into the I/O image, run the program, drive outputs.
//!
//! Each PLC scans every `scan_ticks` ticks, staggered by its index so a large plant does not
//! scan every PLC on the same tick. A PLC that is not in run mode drives the actuators its
//! program controls to their fail positions and evaluates nothing, including interlocks: a
//! stopped safety PLC protects nobody (the attack on it is T0858/T0880).

use bevy_ecs::prelude::*;

use crate::event::{EventKind, EventLog, round4};
use crate::input::PlcMode;
use crate::scenario::*;
use crate::world::{FieldBus, Memory, Plant, PlcState, SimClock};

pub(super) fn scan_plcs(
    clock: Res<'_, SimClock>,
    plant: Res<'_, Plant>,
    mut bus: ResMut<'_, FieldBus>,
    mut q: Query<'_, '_, &mut PlcState>,
    mut log: ResMut<'_, EventLog>,
) {
    let s = &*plant.0;
    let mut last = None;
    for mut plc in &mut q {
        let i = plc.idx.ix();
        // Events must come out in scenario order; see `field::check_limits`.
        assert!(last < Some(i), "PLCs visited out of order");
        last = Some(i);
        let def = &s.plcs[i];
        if !(clock.tick + i as u64).is_multiple_of(def.scan_ticks) {
            continue;
        }
        if let Some(until) = plc.restart_until {
            if clock.tick < until {
                Scan { s, def, bus: &mut bus, log: &mut log, tick: clock.tick, dt_s: 0.0 }.fail_outputs();
                continue;
            }
            plc.restart_until = None;
        }
        let mut cx = Scan {
            s,
            def,
            bus: &mut bus,
            log: &mut log,
            tick: clock.tick,
            dt_s: clock.dt_s * def.scan_ticks as f64,
        };
        cx.read_inputs(&mut plc);
        if plc.mode == PlcMode::Run {
            cx.run_program(&mut plc);
        }
        // Stopped, or its outputs de-energised by another system's trip (a hardwired run
        // permissive): the logic's commands do not reach the field.
        if plc.mode != PlcMode::Run || cx.bus.halted[i] {
            cx.fail_outputs();
        }
    }
}

/// Copies sensor values, actuator feedback, trips and alarms into a PLC's input tables.
pub(crate) fn read_inputs(def: &PlcDef, bus: &FieldBus, memory: &mut Memory) {
    for p in &def.input_registers {
        let v = match p.source {
            RegisterSource::Sensor(sn) => bus.measured[sn.ix()],
            RegisterSource::Actuator(a) => bus.actuator_pos[a.ix()],
        };
        p.store(&mut memory.input, v);
    }
    for p in &def.discrete_inputs {
        memory.discrete[usize::from(p.addr)] = match p.source {
            DiscreteSource::Switch(sn) => bus.measured[sn.ix()] >= 0.5,
            DiscreteSource::Running(a) => bus.actuator_pos[a.ix()] > 0.5,
            DiscreteSource::Tripped(il) => bus.tripped[il.ix()],
            DiscreteSource::Alarm(al) => bus.alarm_active[al.ix()] != 0,
        };
    }
}

struct Scan<'a> {
    s: &'a Scenario,
    def: &'a PlcDef,
    bus: &'a mut FieldBus,
    log: &'a mut EventLog,
    tick: u64,
    /// Seconds since this PLC's previous scan.
    dt_s: f64,
}

impl Scan<'_> {
    fn read_inputs(&mut self, plc: &mut PlcState) {
        read_inputs(self.def, self.bus, &mut plc.memory);
    }

    /// Sends one output to its fail position (a latching one stays where it is).
    fn fail(&mut self, a: ActuatorIdx) {
        let i = a.ix();
        self.bus.actuator_cmd[i] = self.s.actuators[i].fail.unwrap_or(self.bus.actuator_pos[i]);
    }

    fn fail_outputs(&mut self) {
        for block in &self.def.logic {
            let output = match block {
                Logic::OnOff { output, .. } | Logic::Follow { output, .. } | Logic::Select { output, .. } => {
                    *output
                }
                Logic::Pi { output, split, .. } => {
                    for a in output.iter().chain(split.iter().map(|(a, _, _)| a)) {
                        self.fail(*a);
                    }
                    continue;
                }
                Logic::Sequence { steps, .. } => {
                    for (a, _) in steps.iter().flat_map(|st| &st.set) {
                        self.fail(*a);
                    }
                    continue;
                }
                Logic::Alarm(_) | Logic::Interlock(_) => continue,
            };
            self.fail(output);
        }
    }

    fn param(&self, plc: &PlcState, p: Param) -> f64 {
        match p {
            Param::Const(x) => x,
            Param::Holding(i) => self.def.holding_registers[i.ix()].value(&plc.memory.holding),
            Param::Cascade { block, lo, hi } => lo + plc.pi_out[block as usize] * (hi - lo),
        }
    }

    /// Runs a PI block: error, feed-forward, anti-windup, bumpless manual mode; the output
    /// goes to its actuator, its split-range actuators, and to loops cascaded from it.
    fn pi(&mut self, plc: &mut PlcState, b: usize, block: &Logic) {
        let Logic::Pi {
            pv,
            setpoint,
            kp,
            ki,
            bias,
            output,
            reverse,
            manual,
            manual_output,
            split,
            feedforward,
            ..
        } = block
        else {
            return;
        };
        let x = self.bus.measured[pv.ix()];
        let sp = self.param(plc, *setpoint);
        let error = if *reverse { x - sp } else { sp - x };
        let (kp, ki) = (self.param(plc, *kp), self.param(plc, *ki));
        let out = if manual.is_some_and(|m| self.coil(plc, m)) {
            let out = manual_output.map_or(0.0, |p| self.param(plc, p)).clamp(0.0, 1.0);
            // Bumpless return to automatic: the integrator tracks the manual output.
            plc.pi_integral[b] = out - bias - kp * error;
            out
        } else {
            let integral = plc.pi_integral[b] + ki * error * self.dt_s;
            let ff = feedforward
                .map_or(0.0, |(sn, gain, reference)| gain * (self.bus.measured[sn.ix()] - reference));
            let unclamped = bias + kp * error + integral + ff;
            let out = unclamped.clamp(0.0, 1.0);
            // Anti-windup: integrate only while the output is not saturated, or
            // when the error drives it back from saturation.
            if unclamped == out
                || (unclamped > 1.0 && error * ki < 0.0)
                || (unclamped < 0.0 && error * ki > 0.0)
            {
                plc.pi_integral[b] = integral;
            }
            out
        };
        let out = if out.is_finite() { out } else { 0.0 };
        plc.pi_out[b] = out;
        if let Some(output) = output {
            self.bus.actuator_cmd[output.ix()] = out;
        }
        for (a, from, to) in split {
            self.bus.actuator_cmd[a.ix()] = ((out - from) / (to - from)).clamp(0.0, 1.0);
        }
    }

    /// Whether permissives hold: all of `all`, and one of `any` when there is any.
    fn permitted(&self, plc: &PlcState, p: &Permit) -> bool {
        let holds = |c: &Cond| match *c {
            Cond::Sensor(sn, above, x) => {
                let v = self.bus.measured[sn.ix()];
                if above { v >= x } else { v <= x }
            }
            Cond::Coil(coil) => self.coil(plc, coil),
        };
        p.all.iter().all(holds) && (p.any.is_empty() || p.any.iter().any(holds))
    }

    fn coil(&self, plc: &PlcState, c: PointIdx) -> bool {
        plc.memory.coils[self.def.coil_addr(c)]
    }

    fn run_program(&mut self, plc: &mut PlcState) {
        for (b, block) in self.def.logic.iter().enumerate() {
            if plc.disabled[b] {
                // An interlock a downloaded program left out trips nothing, as one bypassed: its
                // demand is logged all the same (`InterlockDefeated`), once until it is back.
                if let Logic::Interlock(il) = block {
                    self.interlock_removed(plc, *il, b);
                }
                continue;
            }
            match block {
                Logic::OnOff { pv, low, high, output, action, manual, manual_command, .. } => {
                    let on = if manual.is_some_and(|m| self.coil(plc, m)) {
                        manual_command.is_some_and(|c| self.coil(plc, c))
                    } else {
                        let x = self.bus.measured[pv.ix()];
                        let (low, high) = (self.param(plc, *low), self.param(plc, *high));
                        let was = plc.onoff_on[b];
                        match action {
                            OnOffAction::Fill => (x <= low) || (was && x < high),
                            OnOffAction::Drain => (x >= high) || (was && x > low),
                        }
                    };
                    plc.onoff_on[b] = on;
                    self.bus.actuator_cmd[output.ix()] = if on { 1.0 } else { 0.0 };
                }
                Logic::Pi { .. } => self.pi(plc, b, block),
                Logic::Follow { coil, output, permit, on_delay_s, off_delay_s } => {
                    let demand = self.coil(plc, *coil) && self.permitted(plc, permit);
                    // On- and off-delay timers: a change of demand takes effect once it has held
                    // for its delay (without delays, at once).
                    if demand == plc.onoff_on[b] {
                        plc.held_s[b] = 0.0;
                    } else {
                        plc.held_s[b] += self.dt_s;
                        let delay = if demand { *on_delay_s } else { *off_delay_s };
                        if plc.held_s[b] + 1e-9 >= delay {
                            plc.onoff_on[b] = demand;
                            plc.held_s[b] = 0.0;
                        }
                    }
                    self.bus.actuator_cmd[output.ix()] = if plc.onoff_on[b] { 1.0 } else { 0.0 };
                }
                Logic::Alarm(a) => self.alarm(plc, *a),
                Logic::Interlock(il) => self.interlock(plc, *il, b),
                Logic::Sequence { id, start, steps } => self.sequence(plc, b, id, *start, steps),
                Logic::Select { low, from, output, .. } => {
                    let outs = from.iter().map(|k| plc.pi_out[*k as usize]);
                    let v = if *low { outs.fold(1.0, f64::min) } else { outs.fold(0.0, f64::max) };
                    self.bus.actuator_cmd[output.ix()] = v;
                }
            }
        }
        // Blocks a download added run last, so they win over the PLC's own logic.
        for (a, value, from) in &plc.implants {
            if self.tick >= *from {
                self.bus.actuator_cmd[a.ix()] = *value;
            }
        }
    }

    /// Runs a sequence block: a press of its start coil starts it at its first step; the
    /// active step sets its outputs and hands over when its time and condition hold.
    fn sequence(&mut self, plc: &mut PlcState, b: usize, id: &str, start: PointIdx, steps: &[SeqStep]) {
        let addr = self.def.coil_addr(start);
        if plc.memory.coils[addr] {
            // A pushbutton: it clears itself, and pressing it again while running does nothing.
            plc.memory.coils[addr] = false;
            if plc.seq_step[b].is_none() && !steps.is_empty() {
                plc.seq_step[b] = Some(0);
                plc.held_s[b] = 0.0;
                self.log_step(id, &steps[0].id);
            }
        }
        let Some(k) = plc.seq_step[b] else { return };
        let step = &steps[k];
        for (a, v) in &step.set {
            self.bus.actuator_cmd[a.ix()] = *v;
        }
        plc.held_s[b] += self.dt_s;
        let timed = plc.held_s[b] + 1e-9 >= step.after_s;
        let holds = step.until.is_none_or(|(sn, above, x)| {
            let v = self.bus.measured[sn.ix()];
            if above { v >= x } else { v <= x }
        });
        if !(timed && holds) {
            return;
        }
        plc.held_s[b] = 0.0;
        if k + 1 < steps.len() {
            plc.seq_step[b] = Some(k + 1);
            self.log_step(id, &steps[k + 1].id);
        } else {
            plc.seq_step[b] = None;
            let e = EventKind::SequenceEnded { plc: self.def.id.clone(), sequence: id.to_string() };
            self.log.push(self.tick, e);
        }
    }

    fn log_step(&mut self, sequence: &str, step: &str) {
        let e = EventKind::SequenceStep {
            plc: self.def.id.clone(),
            sequence: sequence.to_string(),
            step: step.to_string(),
        };
        self.log.push(self.tick, e);
    }

    fn alarm(&mut self, plc: &PlcState, a: AlarmIdx) {
        let def = &self.s.alarms[a.ix()];
        let x = self.bus.measured[def.pv.ix()];
        for (k, level) in AlarmLevel::ALL.iter().enumerate() {
            let Some(limit) = def.limits[k].map(|p| self.param(plc, p)) else {
                continue;
            };
            let bit = 1u8 << k;
            let active = self.bus.alarm_active[a.ix()] & bit != 0;
            let high = matches!(level, AlarmLevel::Hi | AlarmLevel::HiHi);
            let passed = if high { x >= limit } else { x <= limit };
            let held = &mut self.bus.alarm_held_s[a.ix()][k];
            *held = if passed { *held + self.dt_s } else { 0.0 };
            // A scan's rounding must not postpone an alarm by a whole scan.
            let raise = passed && *held + 1e-9 >= def.on_delay_s;
            let clear = if high { x < limit - def.deadband } else { x > limit + def.deadband };
            if !active && raise {
                self.bus.alarm_active[a.ix()] |= bit;
                self.bus.alarm_acked[a.ix()] = false;
                self.bus.alarm_since[a.ix()] = Some(self.tick);
                let e = EventKind::AlarmRaised {
                    plc: self.def.id.clone(),
                    alarm: def.id.clone(),
                    level: *level,
                    value: round4(x),
                    limit,
                };
                self.log.push(self.tick, e);
            } else if active && clear {
                self.bus.alarm_active[a.ix()] &= !bit;
                let e = EventKind::AlarmCleared {
                    plc: self.def.id.clone(),
                    alarm: def.id.clone(),
                    level: *level,
                    value: round4(x),
                };
                self.log.push(self.tick, e);
            }
        }
    }

    /// Whether one sensor of an interlock is in its trip condition.
    fn trip_vote(&self, plc: &PlcState, def: &InterlockDef, sensor: SensorIdx) -> bool {
        let x = self.bus.measured[sensor.ix()];
        match self.s.sensors[sensor.ix()].kind {
            SensorKind::Analog { .. } => {
                def.above.is_some_and(|p| x >= self.param(plc, p))
                    || def.below.is_some_and(|p| x <= self.param(plc, p))
            }
            SensorKind::SwitchAbove(_) | SensorKind::SwitchBelow(_) => x >= 0.5,
        }
    }

    /// Whether interlock `il` (logic block `block`) is in its trip condition this scan: M out of
    /// N of its sensors voting to trip, held for its delay.
    fn trip_condition(&self, plc: &mut PlcState, il: InterlockIdx, block: usize) -> bool {
        let def = &self.s.interlocks[il.ix()];
        let votes = std::iter::once(def.pv)
            .chain(def.voters.iter().copied())
            .filter(|s| self.trip_vote(plc, def, *s))
            .count();
        let voted = votes >= def.need;
        plc.held_s[block] = if voted { plc.held_s[block] + self.dt_s } else { 0.0 };
        // A tick's rounding must not postpone a trip by a whole scan.
        voted && plc.held_s[block] + 1e-9 >= def.delay_s
    }

    /// An interlock left out of the running program: its demand logged once, as a bypassed
    /// one's, until the program has it again.
    fn interlock_removed(&mut self, plc: &mut PlcState, il: InterlockIdx, block: usize) {
        let condition = self.trip_condition(plc, il, block);
        if condition && !self.bus.tripped[il.ix()] && !self.bus.defeated[il.ix()] {
            self.log_defeated(il);
            self.bus.defeated[il.ix()] = true;
        }
    }

    /// Logs interlock `il`'s demand while it could not trip (bypassed, or left out).
    fn log_defeated(&mut self, il: InterlockIdx) {
        let def = &self.s.interlocks[il.ix()];
        let event = EventKind::InterlockDefeated {
            plc: self.def.id.clone(),
            interlock: def.id.clone(),
            value: round4(self.bus.measured[def.pv.ix()]),
        };
        self.log.push(self.tick, event);
    }

    fn interlock(&mut self, plc: &mut PlcState, il: InterlockIdx, block: usize) {
        let def = &self.s.interlocks[il.ix()];
        let x = self.bus.measured[def.pv.ix()];
        let condition = self.trip_condition(plc, il, block);
        let tripped = self.bus.tripped[il.ix()];
        if let Some(r) = def.reset {
            let addr = self.def.coil_addr(r);
            if plc.memory.coils[addr] {
                // The reset coil is a pushbutton: it clears itself whether or not the reset works.
                plc.memory.coils[addr] = false;
                if tripped && !condition {
                    self.bus.tripped[il.ix()] = false;
                    self.bus.refresh_forced(self.s);
                    self.log.push(
                        self.tick,
                        EventKind::InterlockReset { plc: self.def.id.clone(), interlock: def.id.clone() },
                    );
                    return;
                }
            }
        }
        let bypassed = def.bypass.is_some_and(|b| self.coil(plc, b));
        if bypassed != self.bus.bypassed[il.ix()] {
            self.bus.bypassed[il.ix()] = bypassed;
            self.log.push(
                self.tick,
                EventKind::InterlockBypass {
                    plc: self.def.id.clone(),
                    interlock: def.id.clone(),
                    on: bypassed,
                },
            );
        }
        // Demanded while bypassed: said once a bypass (a noisy reading that crosses its trip
        // level again and again is the one demand), until the bypass comes off.
        let defeated = !tripped && condition && bypassed;
        if defeated && !self.bus.defeated[il.ix()] {
            self.log_defeated(il);
        }
        self.bus.defeated[il.ix()] = bypassed && (self.bus.defeated[il.ix()] || defeated);
        if !tripped && condition && !bypassed {
            for (c, v) in &def.set_coils {
                plc.memory.coils[self.def.coil_addr(*c)] = *v;
            }
            self.bus.tripped[il.ix()] = true;
            self.bus.refresh_forced(self.s);
            self.log.push(
                self.tick,
                EventKind::InterlockTripped {
                    plc: self.def.id.clone(),
                    interlock: def.id.clone(),
                    value: round4(x),
                },
            );
        }
    }
}
