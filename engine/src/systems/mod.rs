//! The systems of one tick and the schedule that chains them.
//!
//! Order, every tick: apply queued inputs -> scheduled faults -> attacker -> background
//! traffic -> routine traffic -> actuators move -> relief devices lift or reseat -> physics integrates -> limits
//! and damage -> sensors measure -> PLCs scan -> samples -> clock. The
//! chain is total, so no two systems are ever ambiguous; `tests::schedule_has_no_ambiguity`
//! builds it with ambiguity detection set to error.

pub mod attacker;
pub mod defence;
mod field;
pub mod ids;
pub(crate) mod inputs;
pub(crate) mod plc;
pub mod routine;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings};

use crate::event::{EventKind, EventLog, round4};
use crate::world::{FieldBus, Plant, Process, SimClock};

/// The schedule of one tick.
pub fn tick_schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.set_build_settings(ScheduleBuildSettings {
        ambiguity_detection: LogLevel::Error,
        ..ScheduleBuildSettings::new()
    });
    schedule.add_systems(
        (
            inputs::apply_inputs,
            inputs::run_faults,
            attacker::run_attack,
            attacker::run_background,
            routine::run_routine,
            field::move_actuators,
            field::relieve,
            field::integrate,
            field::check_limits,
            field::measure,
            plc::scan_plcs,
            sample,
            advance_clock,
        )
            .chain(),
    );
    schedule
}

/// Logs true and measured values every `sample_ticks`.
fn sample(
    clock: Res<'_, SimClock>,
    plant: Res<'_, Plant>,
    process: Res<'_, Process>,
    bus: Res<'_, FieldBus>,
    mut log: ResMut<'_, EventLog>,
) {
    let s = &plant.0;
    if !clock.tick.is_multiple_of(s.sample_ticks) {
        return;
    }
    let vars = s.vars.iter().zip(&process.values).map(|(d, v)| (d.id.clone(), round4(*v))).collect();
    let sensors = s.sensors.iter().zip(&bus.measured).map(|(d, v)| (d.id.clone(), round4(*v))).collect();
    log.push(clock.tick, EventKind::Sample { vars, sensors });
}

fn advance_clock(mut clock: ResMut<'_, SimClock>) {
    clock.tick += 1;
}

#[cfg(test)]
mod tests {
    #[test]
    fn schedule_has_no_ambiguity() {
        let mut world = bevy_ecs::world::World::new();
        let mut schedule = super::tick_schedule();
        schedule
            .initialize(&mut world)
            .expect("the tick schedule builds with ambiguity detection at error level");
    }
}
