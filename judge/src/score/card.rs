//! `Scorer::card`: the parts of a score at one tick, each from what the scorer has read.

use super::{Component, PlanMark, PlanStatus, ScoreCard, Scorer, texts};

/// Rounds to 0.1 (and turns -0 into 0).
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0 + 0.0
}

/// Full marks at 0, none at `target`, linear between.
fn decay(points: f64, elapsed: u64, target: u64) -> f64 {
    if target == 0 {
        return if elapsed == 0 { points } else { 0.0 };
    }
    points * (1.0 - elapsed as f64 / target as f64).clamp(0.0, 1.0)
}

/// A part from its key, words and points.
fn part(
    key: &'static str,
    (label, detail): (icsdrill_engine::scenario::Text, icsdrill_engine::scenario::Text),
    points: f64,
    max: f64,
) -> Component {
    Component { key, label, points, max, detail }
}

/// What detection found: the part, the steps fired and fully detected, the first credited
/// report's tick, and which reports credited something.
struct Detection {
    part: Component,
    fired: usize,
    detected: usize,
    first: Option<u64>,
    useful: Vec<bool>,
}

impl Scorer {
    /// The card at tick `now`.
    pub fn card(&mut self, now: u64) -> ScoreCard {
        let d = self.detection();
        let mut components = vec![d.part];
        components.extend(self.timed_parts(d.first));
        components.extend(self.safety_parts(now));
        components.push(self.report_quality(&d.useful));
        let mut plan = Vec::new();
        if self.plan_scored {
            let (c, marks) = self.plan(now);
            components.push(c);
            plan = marks;
        }
        if self.challenges > 0 {
            components.push(self.flags());
        }
        components.extend(self.penalties(&d.useful));
        for c in &mut components {
            c.points = round1(c.points);
        }
        let total = round1(components.iter().map(|c| c.points).sum());
        if total != self.last_total {
            self.last_total = total;
            self.settled_tick = now;
        }
        ScoreCard {
            tick: now,
            total,
            components,
            plan,
            settled_tick: self.settled_tick,
            steps_fired: d.fired,
            steps_detected: d.detected,
            alerts: self.alerts,
            hints: self.hints.clone(),
        }
    }

    /// Detection: each fired step's best credit.
    fn detection(&self) -> Detection {
        let p = &self.rubric.points;
        let fired: Vec<usize> =
            (0..self.steps.len()).filter(|i| self.steps[*i].first_tick.is_some()).collect();
        let mut credits = vec![0.0f64; self.steps.len()];
        let mut first: Option<u64> = None;
        let mut useful = vec![false; self.reports.len()];
        for &i in &fired {
            for (k, rep) in self.reports.iter().enumerate() {
                let c = self.credit(rep, i);
                if c > 0.0 {
                    useful[k] = true;
                    credits[i] = credits[i].max(c);
                    first = Some(first.map_or(rep.tick, |t: u64| t.min(rep.tick)));
                }
            }
        }
        let detected = fired.iter().filter(|i| credits[**i] >= 1.0).count();
        let partial = fired.iter().filter(|i| credits[**i] > 0.0 && credits[**i] < 1.0).count();
        let points = if fired.is_empty() {
            p.detection
        } else {
            p.detection * fired.iter().map(|i| credits[*i]).sum::<f64>() / fired.len() as f64
        };
        Detection {
            part: part("detection", texts::detection(detected, fired.len(), partial), points, p.detection),
            fired: fired.len(),
            detected,
            first,
            useful,
        }
    }

    /// Minutes of `ticks`.
    fn minutes(&self, ticks: u64) -> f64 {
        ticks as f64 / f64::from(self.tick_hz) / 60.0
    }

    /// A timed part: full marks at once after `from`, none at `target`.
    fn timed(
        &self,
        key: &'static str,
        points: f64,
        from: Option<u64>,
        at: Option<u64>,
        target: u64,
    ) -> Component {
        let (earned, detail) = match (from, at) {
            (None, _) => (points, texts::no_attack()),
            (Some(f), Some(a)) => {
                let dt = a.saturating_sub(f);
                (decay(points, dt, target), texts::took(self.minutes(dt), self.minutes(target)))
            }
            (Some(_), None) => (0.0, texts::never(key)),
        };
        Component { key, label: texts::time_label(key), points: earned, max: points, detail }
    }

    /// Time to detect, contain and recover.
    fn timed_parts(&self, first_detect: Option<u64>) -> [Component; 3] {
        let (r, p) = (&self.rubric, &self.rubric.points);
        let start = self.attack_start;
        let recover = if self.first_effect.is_some() {
            self.timed(
                "time_to_recover",
                p.time_to_recover,
                self.first_effect,
                self.first_recover_after_effect,
                r.recover_target_ticks,
            )
        } else {
            Component {
                key: "time_to_recover",
                label: texts::time_label("time_to_recover"),
                points: p.time_to_recover,
                max: p.time_to_recover,
                detail: texts::nothing_to_recover(),
            }
        };
        [
            self.timed("time_to_detect", p.time_to_detect, start, first_detect, r.detect_target_ticks),
            self.timed(
                "time_to_contain",
                p.time_to_contain,
                start,
                self.first_contain.map(|c| c.max(start.unwrap_or(0))),
                r.contain_target_ticks,
            ),
            recover,
        ]
    }

    /// Process safety: no trip, no damage, little downtime (counted up to `now`).
    fn safety_parts(&self, now: u64) -> [Component; 3] {
        let p = &self.rubric.points;
        let downtime = self.downtime + self.down_since.map_or(0, |s| now.saturating_sub(s));
        [
            part(
                "trip_avoided",
                texts::trips(self.trips),
                if self.trips == 0 { p.trip_avoided } else { 0.0 },
                p.trip_avoided,
            ),
            part(
                "damage_avoided",
                texts::damage(self.damage),
                if self.damage == 0 { p.damage_avoided } else { 0.0 },
                p.damage_avoided,
            ),
            part(
                "uptime",
                texts::uptime(self.minutes(downtime)),
                decay(p.uptime, downtime, self.rubric.downtime_budget_ticks),
                p.uptime,
            ),
        ]
    }

    /// The fields of the best report that matched an attack step (a false positive earns no
    /// quality, however complete).
    fn report_quality(&self, useful: &[bool]) -> Component {
        let p = &self.rubric.points;
        let best =
            self.reports.iter().zip(useful).filter(|(_, u)| **u).map(|(r, _)| r.fields).max().unwrap_or(0);
        part(
            "report_quality",
            texts::report_quality(best),
            p.report_quality * best as f64 / 6.0,
            p.report_quality,
        )
    }

    /// The response plan's steps: done, late, missed or pending at `now`.
    fn plan(&self, now: u64) -> (Component, Vec<PlanMark>) {
        let (r, p) = (&self.rubric, &self.rubric.points);
        let mut earned = 0.0;
        let mut plan = Vec::new();
        for st in &r.response_plan {
            let done = st.done_by.iter().filter_map(|k| self.defender_first.get(k.as_str()).copied()).min();
            let deadline = self.attack_start.map(|s| s + st.within_ticks);
            let status = match (done, deadline) {
                (Some(d), Some(dl)) if d <= dl => PlanStatus::Done,
                (Some(_), Some(_)) => PlanStatus::Late,
                (Some(_), None) => PlanStatus::Done,
                (None, Some(dl)) if now > dl => PlanStatus::Missed,
                (None, _) => PlanStatus::Pending,
            };
            earned += match status {
                PlanStatus::Done => 1.0,
                PlanStatus::Late => 0.5,
                _ => 0.0,
            };
            plan.push(PlanMark {
                id: st.id.clone(),
                name: st.name.clone(),
                status,
                done_tick: done,
                deadline_tick: deadline,
            });
        }
        let n = r.response_plan.len();
        let done = plan.iter().filter(|m| m.status == PlanStatus::Done).count();
        let late = plan.iter().filter(|m| m.status == PlanStatus::Late).count();
        let points = if n == 0 { p.response_plan } else { p.response_plan * earned / n as f64 };
        (part("response_plan", texts::plan(done, n, late), points, p.response_plan), plan)
    }

    /// Contest flags solved.
    fn flags(&self) -> Component {
        let p = &self.rubric.points;
        part(
            "flags",
            texts::flags(self.solved.len(), self.challenges, self.foreign_flags),
            p.flag * self.solved.len() as f64,
            p.flag * self.challenges as f64,
        )
    }

    /// False positives, destructive actions and hints taken.
    fn penalties(&self, useful: &[bool]) -> [Component; 3] {
        let p = &self.rubric.points;
        let false_positives = useful.iter().filter(|u| !**u).count();
        [
            part(
                "false_positives",
                texts::false_positives(false_positives),
                -(false_positives as f64) * p.false_positive,
                0.0,
            ),
            part(
                "destructive",
                texts::destructive(self.destructive),
                -(self.destructive as f64) * p.destructive,
                0.0,
            ),
            part("hints", texts::hints(self.hints.len()), -self.hint_cost, 0.0),
        ]
    }
}
