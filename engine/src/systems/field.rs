//! The field: actuators moving, relief devices lifting, the lumped process model integrating,
//! limits and damage (instant and by dose), and sensors measuring (dead time, lag, noise,
//! drift, freeze, bias).

use bevy_ecs::prelude::*;

use crate::event::{EventKind, EventLog, Side, round4};
use crate::rng::standard_normal;
use crate::scenario::{ReliefKind, SensorKind, Signal};
use crate::world::{
    ActuatorState, FieldBus, Forgeries, ForgeryKind, Plant, Process, SensorState, SimClock, VarState,
};

/// Moves every actuator toward its target (a tripped interlock's forced position, else the
/// hand setting of a local field panel, else the logic's command) at its stroke rate. Stuck actuators stay put.
pub(super) fn move_actuators(
    clock: Res<'_, SimClock>,
    plant: Res<'_, Plant>,
    mut bus: ResMut<'_, FieldBus>,
    q: Query<'_, '_, &ActuatorState>,
) {
    let bus = &mut *bus;
    for a in &q {
        let i = a.idx.ix();
        if a.stuck {
            continue;
        }
        let target = bus.forced[i].or(bus.local[i]).unwrap_or(bus.actuator_cmd[i]).clamp(0.0, 1.0);
        let pos = bus.actuator_pos[i];
        let stroke_s = plant.0.actuators[i].stroke_s;
        bus.actuator_pos[i] = if stroke_s <= 0.0 {
            target
        } else {
            let step = clock.dt_s / stroke_s;
            pos + (target - pos).clamp(-step, step)
        };
    }
}

/// Opens and closes the relief devices on the true values: a PSV lifts at its set value and
/// reseats at its reseat value; a rupture disc bursts at its set value and stays open; a weir
/// overflows above its crest (and is logged closed again once the value is a deadband below).
pub(super) fn relieve(
    clock: Res<'_, SimClock>,
    plant: Res<'_, Plant>,
    mut process: ResMut<'_, Process>,
    mut log: ResMut<'_, EventLog>,
) {
    let p = &mut *process;
    for (k, r) in plant.0.reliefs.iter().enumerate() {
        let x = p.values[r.var.ix()];
        let open = p.relief_open[k];
        let now = match r.kind {
            ReliefKind::Psv { reseat } => (open && x > reseat) || x >= r.set,
            ReliefKind::RuptureDisc => open || x >= r.set,
            ReliefKind::Weir => x > r.set || (open && x > r.set - plant.0.vars[r.var.ix()].limit_deadband),
        };
        if now != open {
            p.relief_open[k] = now;
            let (relief, value) = (r.id.clone(), round4(x));
            log.push(
                clock.tick,
                if now {
                    EventKind::ReliefOpened { relief, value }
                } else {
                    EventKind::ReliefClosed { relief, value }
                },
            );
        }
    }
}

/// One explicit Euler step of every variable: all rates from the same state, then all values.
pub(super) fn integrate(
    clock: Res<'_, SimClock>,
    plant: Res<'_, Plant>,
    mut process: ResMut<'_, Process>,
    bus: Res<'_, FieldBus>,
) {
    let p = &mut *process;
    for (i, v) in plant.0.vars.iter().enumerate() {
        let mut rate = 0.0;
        for t in &v.terms {
            let mut term = t.gain;
            for s in &t.of {
                term *= match s {
                    Signal::Var(j) => p.values[j.ix()],
                    Signal::Actuator(a) => bus.actuator_pos[a.ix()],
                };
            }
            if let Some(e) = &t.expr {
                term *= e.eval(&p.values, &bus.actuator_pos, &plant.0.tables);
            }
            rate += term;
        }
        if let Some((tau_s, toward)) = v.relax {
            rate += (toward - p.values[i]) / tau_s;
        }
        p.rates[i] = rate;
    }
    for (k, r) in plant.0.reliefs.iter().enumerate() {
        let i = r.var.ix();
        p.rates[i] -= match r.kind {
            ReliefKind::Weir => r.capacity * (p.values[i] - r.set).max(0.0),
            _ if p.relief_open[k] => r.capacity,
            _ => 0.0,
        };
    }
    for (i, v) in plant.0.vars.iter().enumerate() {
        let x = p.values[i] + p.rates[i] * clock.dt_s;
        // A non-finite rate is a scenario the validator let through: stop loudly.
        assert!(x.is_finite(), "variable `{}` became {x} at tick {}", v.id, clock.tick);
        p.values[i] = x.clamp(v.bounds[0], v.bounds[1]);
    }
}

/// Logs true values leaving or re-entering their safe window, and damage (once per side).
pub(super) fn check_limits(
    clock: Res<'_, SimClock>,
    plant: Res<'_, Plant>,
    process: Res<'_, Process>,
    mut q: Query<'_, '_, &mut VarState>,
    mut log: ResMut<'_, EventLog>,
) {
    let mut last = None;
    for mut state in &mut q {
        let i = state.idx.ix();
        // Events must come out in scenario order: entities are spawned in that order and never
        // change archetype, so table order is index order.
        assert!(last < Some(i), "variables visited out of order");
        last = Some(i);
        let def = &plant.0.vars[i];
        let x = process.values[i];
        if let Some([lo, hi]) = def.safe {
            // Hysteresis: once outside, the value must come back a deadband inside to clear.
            let band = def.limit_deadband;
            let side = match state.outside {
                Some(Side::High) if x > hi - band => Some((Side::High, hi)),
                Some(Side::Low) if x < lo + band => Some((Side::Low, lo)),
                _ if x > hi => Some((Side::High, hi)),
                _ if x < lo => Some((Side::Low, lo)),
                _ => None,
            };
            match (state.outside, side) {
                (None, Some((side, limit))) => {
                    state.outside = Some(side);
                    log.push(
                        clock.tick,
                        EventKind::LimitExceeded { var: def.id.clone(), side, value: round4(x), limit },
                    );
                }
                (Some(_), None) => {
                    state.outside = None;
                    log.push(clock.tick, EventKind::LimitCleared { var: def.id.clone(), value: round4(x) });
                }
                _ => {}
            }
        }
        for (k, side, limit) in [(0, Side::High, def.damage_above), (1, Side::Low, def.damage_below)] {
            let Some(limit) = limit else { continue };
            let reached = match side {
                Side::High => x >= limit,
                Side::Low => x <= limit,
            };
            if reached && !state.damaged[k] {
                state.damaged[k] = true;
                log.push(
                    clock.tick,
                    EventKind::Damage { var: def.id.clone(), side, value: round4(x), limit, dose_s: None },
                );
            }
        }
        if let Some(dose) = def.damage_dose {
            for (k, side, limit) in [(0, Side::High, dose.above), (1, Side::Low, dose.below)] {
                let Some(limit) = limit else { continue };
                let at = match side {
                    Side::High => x >= limit,
                    Side::Low => x <= limit,
                };
                if !at {
                    continue;
                }
                state.dose_s[k] += clock.dt_s;
                if !state.dosed && state.dose_s[k] >= dose.for_s {
                    state.dosed = true;
                    let dose_s = Some(round4(state.dose_s[k]));
                    log.push(
                        clock.tick,
                        EventKind::Damage { var: def.id.clone(), side, value: round4(x), limit, dose_s },
                    );
                }
            }
        }
    }
}

/// Every sensor measures its variable: true value + drift + bias + noise, clamped to the
/// transmitter range, or a switch state. A frozen sensor keeps its last reading.
pub(super) fn measure(
    clock: Res<'_, SimClock>,
    plant: Res<'_, Plant>,
    process: Res<'_, Process>,
    mut bus: ResMut<'_, FieldBus>,
    mut forgeries: ResMut<'_, Forgeries>,
    mut q: Query<'_, '_, &mut SensorState>,
) {
    for mut s in &mut q {
        let i = s.idx.ix();
        let def = &plant.0.sensors[i];
        // The element: dead time (a delay line of true values), then first-order lag.
        let truth = process.values[def.var.ix()];
        let delayed = match s.delay.pop_front() {
            Some(old) => {
                s.delay.push_back(truth);
                old
            }
            None => truth,
        };
        s.element = if def.lag_s > 0.0 {
            let alpha = 1.0 - libm::exp(-clock.dt_s / def.lag_s);
            s.element + alpha * (delayed - s.element)
        } else {
            delayed
        };
        if s.fault.frozen {
            continue;
        }
        s.drift += (def.drift_per_h + s.fault.drift_per_h) / 3600.0 * clock.dt_s;
        let sd = def.noise + s.fault.noise;
        let noise = if sd > 0.0 { sd * standard_normal(&mut s.rng) } else { 0.0 };
        let mut v = s.element + s.drift + s.fault.bias + noise;
        // A reading gone non-finite is a burnt-out transmitter: it fails upscale, so trips on
        // high values still fire (fail-safe), rather than comparing NaN false forever.
        if !v.is_finite() {
            v = f64::MAX;
        }
        bus.measured[i] = match def.kind {
            SensorKind::Analog { lo, hi } => v.clamp(lo, hi),
            SensorKind::SwitchAbove(t) => f64::from(u8::from(v >= t)),
            SensorKind::SwitchBelow(t) => f64::from(u8::from(v <= t)),
        };
    }
    // Forged signals: what the PLCs read, whatever the sensors measure.
    for (i, f) in forgeries.0.iter_mut().enumerate() {
        let Some(f) = f else { continue };
        match &mut f.kind {
            ForgeryKind::Constant(v) => bus.measured[i] = *v,
            ForgeryKind::Replay { recorded, len, pos } => {
                if recorded.len() < *len {
                    recorded.push(bus.measured[i]);
                } else {
                    bus.measured[i] = recorded[*pos];
                    *pos = (*pos + 1) % *len;
                }
            }
        }
    }
}
