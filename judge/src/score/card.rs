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
    Component { key, label, points, max, detail, withheld: false }
}

/// What detection found: the part, the steps fired and fully detected, the first credited
/// report's tick, which reports credited something and which steps the card counts as fired.
struct Detection {
    part: Component,
    fired: usize,
    detected: usize,
    first: Option<u64>,
    useful: Vec<bool>,
    counted: Vec<bool>,
    /// Each step's first crediting report's tick.
    credited: Vec<Option<u64>>,
}

/// Which attack steps a card counts as fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sight {
    /// Every step that fired: the judged card.
    All,
    /// Only the steps the team's reports have matched: what a team sees of a blind drill
    /// before the hot wash (the rest would tell it that, and when, it is attacked).
    Reported,
}

impl Scorer {
    /// The card at tick `now`.
    pub fn card(&mut self, now: u64) -> ScoreCard {
        self.card_as(now, Sight::All)
    }

    /// The card a team sees of a blind drill until the hot wash: the points earned so far from
    /// what its reports found. Only the attack steps its reports have matched count, as they
    /// stood when matched (the hosts they had come from): detection against the most steps one
    /// run can fire. The timed parts are withheld with process safety, judged at the hot
    /// wash: timed from the attack's start, they would tell when it began (timed from each
    /// reported step instead, they promised points the hot wash took back: 61 for time to
    /// detect, 0 at the end), and process safety what false data hides from its displays. So
    /// its points move only with what the team does (its alert count grows with what its
    /// monitoring sees). Its tie-break tick is its own.
    pub fn provisional_card(&mut self, now: u64) -> ScoreCard {
        self.card_as(now, Sight::Reported)
    }

    fn card_as(&mut self, now: u64, sight: Sight) -> ScoreCard {
        let d = self.detection(sight);
        let attack_start = match sight {
            Sight::All => self.attack_start,
            Sight::Reported => self.first_reported_start(&d),
        };
        let mut components = vec![d.part];
        let judged_later = self.timed_parts(d.first).into_iter().chain(self.safety_parts(now));
        if sight == Sight::All {
            components.extend(judged_later);
        } else {
            components.extend(judged_later.map(|c| Component {
                points: 0.0,
                detail: texts::withheld(),
                withheld: true,
                ..c
            }));
        }
        components.push(self.report_quality(&d.useful));
        let mut plan = Vec::new();
        if self.plan_scored {
            let (c, marks) = self.plan(now, attack_start);
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
        let (last, settled) = match sight {
            Sight::All => (&mut self.last_total, &mut self.settled_tick),
            Sight::Reported => (&mut self.provisional_total, &mut self.provisional_settled),
        };
        if total != *last {
            *last = total;
            *settled = now;
        }
        ScoreCard {
            tick: now,
            total,
            components,
            plan,
            settled_tick: *settled,
            steps_fired: d.fired,
            steps_detected: d.detected,
            alerts: self.alerts,
            hints: self.hints.clone(),
            solved: self.solved.clone(),
            provisional: None,
        }
    }

    /// Detection: each counted step's best credit.
    fn detection(&self, sight: Sight) -> Detection {
        let p = &self.rubric.points;
        let as_filed = sight == Sight::Reported;
        let n = self.steps.len();
        let fired: Vec<usize> = (0..n).filter(|i| self.steps[*i].first_tick.is_some()).collect();
        let mut credits = vec![0.0f64; n];
        let mut credited: Vec<Option<u64>> = vec![None; n];
        let mut first: Option<u64> = None;
        let mut useful = vec![false; self.reports.len()];
        for &i in &fired {
            for (k, rep) in self.reports.iter().enumerate() {
                let c = self.credit(rep, i, as_filed);
                if c > 0.0 {
                    useful[k] = true;
                    credits[i] = credits[i].max(c);
                    credited[i] = Some(credited[i].map_or(rep.tick, |t| t.min(rep.tick)));
                    first = Some(first.map_or(rep.tick, |t: u64| t.min(rep.tick)));
                }
            }
        }
        let fired: Vec<usize> = match sight {
            Sight::All => fired,
            Sight::Reported => fired.into_iter().filter(|i| credits[*i] > 0.0).collect(),
        };
        let mut counted = vec![false; n];
        for &i in &fired {
            counted[i] = true;
        }
        let detected = fired.iter().filter(|i| credits[**i] >= 1.0).count();
        let partial = fired.iter().filter(|i| credits[**i] > 0.0 && credits[**i] < 1.0).count();
        let credit: f64 = fired.iter().map(|i| credits[*i]).sum();
        let (points, words) = match sight {
            Sight::All if fired.is_empty() => (p.detection, texts::detection(detected, 0, partial)),
            Sight::All => {
                (p.detection * credit / fired.len() as f64, texts::detection(detected, fired.len(), partial))
            }
            Sight::Reported => (
                (p.detection * credit / self.most_steps.max(1) as f64).min(p.detection),
                texts::detection_reported(detected, partial),
            ),
        };
        Detection {
            part: part("detection", words, points, p.detection),
            fired: fired.len(),
            detected,
            first,
            useful,
            counted,
            credited,
        }
    }

    /// A provisional card's attack start: the first tick of the step the first matching
    /// report found, which no later report moves. Only the response plan reads it (the timed
    /// parts are withheld), and a plan is scored in enterprise drills, which are blind only
    /// when asked.
    fn first_reported_start(&self, d: &Detection) -> Option<u64> {
        let anchor = (0..self.steps.len()).filter(|i| d.counted[*i]).min_by_key(|i| d.credited[*i]);
        anchor.and_then(|i| self.steps[i].first_tick)
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
                (decay(points, dt, target), texts::took(key, self.minutes(dt), self.minutes(target)))
            }
            (Some(_), None) => (0.0, texts::never(key)),
        };
        part(key, (texts::time_label(key), detail), earned, points)
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
            part(
                "time_to_recover",
                (texts::time_label("time_to_recover"), texts::nothing_to_recover()),
                p.time_to_recover,
                p.time_to_recover,
            )
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
                texts::trips(self.trips, self.damage > 0, self.defeated),
                // A trip a bypass prevented (its condition met, no trip; then, maybe, damage)
                // was not avoided: the plant ran without its protection.
                if self.trips == 0 && self.damage == 0 && self.defeated == 0 { p.trip_avoided } else { 0.0 },
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
    fn plan(&self, now: u64, attack_start: Option<u64>) -> (Component, Vec<PlanMark>) {
        let (r, p) = (&self.rubric, &self.rubric.points);
        let mut earned = 0.0;
        let mut plan = Vec::new();
        for (st, first) in r.response_plan.iter().zip(&self.plan_first) {
            let done = st.done_at(first);
            let deadline = attack_start.map(|s| s + st.within_ticks);
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
