//! The phase machine: briefing → live ⇄ paused → hot wash → ended (ended from anywhere).

use crate::vocab::{Control, Phase, name_of};

/// A control that does not apply in the drill's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a drill that is {}", name_of(.control), name_of(.from))]
pub struct PhaseError {
    /// The control asked for.
    pub control: Control,
    /// The phase the drill is in.
    pub from: Phase,
}

/// Where a view stood when it was made: how many phase changes and which ticks of the ranges
/// it follows it saw. Whoever waits for the next change says what it last saw, so a change between
/// making a view and waiting is never missed (a held clock sends no tick to catch it up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// Phase changes the drill had made.
    pub phases: u64,
    /// The ticks its ranges had published (a team's range's; summed over the instructor's).
    pub tick: u64,
}

impl PhaseError {
    /// What it says, in Chinese.
    pub fn zh(&self) -> String {
        format!("演练当前{}，无法{}", self.from.said_zh(), self.control.zh())
    }
}

impl Phase {
    /// How a sentence says a drill is in it: `the drill is {}`.
    pub fn said(self) -> &'static str {
        match self {
            Phase::Briefing => "in briefing",
            Phase::Live => "live",
            Phase::Paused => "paused",
            Phase::HotWash => "in hot wash",
            Phase::Ended => "ended",
        }
    }

    /// The same in Chinese: `演练当前{}`.
    pub fn said_zh(self) -> &'static str {
        match self {
            Phase::Briefing => "处于简报阶段",
            Phase::Live => "进行中",
            Phase::Paused => "已暂停",
            Phase::HotWash => "处于复盘讲评阶段",
            Phase::Ended => "已结束",
        }
    }

    /// The phase `control` leads to from this one, or why it cannot be applied.
    pub fn after(self, control: Control) -> Result<Phase, PhaseError> {
        match (control, self) {
            (Control::Start, Phase::Briefing) => Ok(Phase::Live),
            (Control::Pause, Phase::Live) => Ok(Phase::Paused),
            (Control::Resume, Phase::Paused) => Ok(Phase::Live),
            (Control::HotWash, Phase::Live | Phase::Paused) => Ok(Phase::HotWash),
            (Control::End, p) if p != Phase::Ended => Ok(Phase::Ended),
            (control, from) => Err(PhaseError { control, from }),
        }
    }

    /// The controls that apply in this phase, in the white cell's order.
    pub fn controls(self) -> Vec<Control> {
        [Control::Start, Control::Pause, Control::Resume, Control::HotWash, Control::End]
            .into_iter()
            .filter(|c| self.after(*c).is_ok())
            .collect()
    }

    /// Whether play is over (the hot wash, or the end): teams may read their reports and see
    /// the scores as they are.
    pub fn is_over(self) -> bool {
        matches!(self, Phase::HotWash | Phase::Ended)
    }

    /// Whether the plant's clock runs in this phase.
    pub fn clock_runs(self) -> bool {
        self == Phase::Live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phases_follow_the_white_cell_in_order() {
        let mut p = Phase::Briefing;
        for (c, next) in [
            (Control::Start, Phase::Live),
            (Control::Pause, Phase::Paused),
            (Control::Resume, Phase::Live),
            (Control::HotWash, Phase::HotWash),
            (Control::End, Phase::Ended),
        ] {
            p = p.after(c).unwrap();
            assert_eq!(p, next);
        }
        assert_eq!(
            Phase::Briefing.after(Control::Pause).unwrap_err().to_string(),
            "cannot pause a drill that is briefing"
        );
        assert!(Phase::Ended.after(Control::End).is_err());
        assert_eq!(Phase::Briefing.controls(), [Control::Start, Control::End]);
        assert_eq!(Phase::Live.controls(), [Control::Pause, Control::HotWash, Control::End]);
        assert_eq!(Phase::Paused.controls(), [Control::Resume, Control::HotWash, Control::End]);
        assert!(Phase::Ended.controls().is_empty());
        assert_eq!(Phase::Paused.after(Control::End), Ok(Phase::Ended));
    }
}
