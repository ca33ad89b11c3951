//! Validation of a scenario's rubric (`scoring:`) and hints.

use serde_saphyr::Spanned;

use super::super::file::*;
use super::{Cx, Names};
use crate::scenario::{Hint, PlanStep, Rubric};

impl Cx<'_> {
    /// A number of points: finite and at least 0.
    fn points(&mut self, v: &Option<Spanned<f64>>, default: f64, what: &str) -> f64 {
        let Some(v) = v else { return default };
        let x = self.finite(v, what);
        if x < 0.0 {
            self.err(&v.referenced, format!("{what} must be at least 0 (penalties are subtracted), got {x}"));
            return default;
        }
        x
    }

    pub(super) fn scoring(
        &mut self,
        f: &ScoringFile,
        tick_hz: u32,
        interlocks: &[crate::scenario::InterlockDef],
    ) -> Rubric {
        let mut r = Rubric::defaults(tick_hz);
        let ticks = |s: f64| (s * f64::from(tick_hz)).round().max(0.0) as u64;
        let secs = |cx: &mut Self, v: &Option<Spanned<f64>>, default: u64, what: &str| match v {
            Some(v) => ticks(cx.positive(v, what)),
            None => default,
        };
        r.detect_window_ticks = secs(self, &f.detect_window_s, r.detect_window_ticks, "detect_window_s");
        r.detect_target_ticks = secs(self, &f.detect_target_s, r.detect_target_ticks, "detect_target_s");
        r.contain_target_ticks = secs(self, &f.contain_target_s, r.contain_target_ticks, "contain_target_s");
        r.recover_target_ticks = secs(self, &f.recover_target_s, r.recover_target_ticks, "recover_target_s");
        r.downtime_budget_ticks =
            secs(self, &f.downtime_budget_s, r.downtime_budget_ticks, "downtime_budget_s");
        let p = &f.points;
        let d = r.points.clone();
        r.points = crate::scenario::Points {
            detection: self.points(&p.detection, d.detection, "detection"),
            time_to_detect: self.points(&p.time_to_detect, d.time_to_detect, "time_to_detect"),
            time_to_contain: self.points(&p.time_to_contain, d.time_to_contain, "time_to_contain"),
            time_to_recover: self.points(&p.time_to_recover, d.time_to_recover, "time_to_recover"),
            trip_avoided: self.points(&p.trip_avoided, d.trip_avoided, "trip_avoided"),
            damage_avoided: self.points(&p.damage_avoided, d.damage_avoided, "damage_avoided"),
            uptime: self.points(&p.uptime, d.uptime, "uptime"),
            report_quality: self.points(&p.report_quality, d.report_quality, "report_quality"),
            response_plan: self.points(&p.response_plan, d.response_plan, "response_plan"),
            false_positive: self.points(&p.false_positive, d.false_positive, "false_positive"),
            destructive: self.points(&p.destructive, d.destructive, "destructive"),
            flag: self.points(&p.flag, d.flag, "flag"),
        };
        let mut names = Names::default();
        r.response_plan = f
            .response_plan
            .iter()
            .map(|st| {
                self.define(&mut names, "response plan step", &st.id);
                if st.done_by.is_empty() {
                    self.err(
                        &st.id.referenced,
                        format!("response plan step `{}` lists no action in `done_by`", st.id.value),
                    );
                }
                for k in &st.done_by {
                    // `kind` or `kind:target`.
                    let (kind, target) = k.value.split_once(':').unwrap_or((&k.value, "-"));
                    if kind == PlanStep::BYPASS_OFF {
                        self.bypass_off(k, target, interlocks);
                        continue;
                    }
                    self.defender_kind(&Spanned { value: kind.to_string(), ..k.clone() });
                    if target.is_empty() {
                        self.err(&k.referenced, format!("`{}` names no target after `:`", k.value));
                    }
                }
                PlanStep {
                    id: st.id.value.clone(),
                    name: self.text(&st.name, &st.id),
                    done_by: st.done_by.iter().map(|k| k.value.clone()).collect(),
                    all: st.all,
                    within_ticks: ticks(self.positive(&st.within_s, "within_s")),
                }
            })
            .collect();
        r
    }

    /// `bypass_off:<interlock>`: an interlock of the plant that has a bypass coil.
    fn bypass_off(
        &mut self,
        k: &Spanned<String>,
        target: &str,
        interlocks: &[crate::scenario::InterlockDef],
    ) {
        match interlocks.iter().find(|i| i.id == target) {
            Some(i) if i.bypass.is_some() => {}
            Some(_) => self.err(
                &k.referenced,
                format!("`{}`: interlock `{target}` has no bypass coil to take off", k.value),
            ),
            None => self.err(
                &k.referenced,
                format!("`{}` names no interlock of the plant (`bypass_off:<interlock id>`)", k.value),
            ),
        }
    }

    pub(super) fn hints(&mut self, hints: &[HintFile]) -> Vec<Hint> {
        let mut names = Names::default();
        hints
            .iter()
            .map(|h| {
                self.define(&mut names, "hint", &h.id);
                Hint {
                    id: h.id.value.clone(),
                    cost: self.points(&Some(h.cost.clone()), 0.0, "cost"),
                    text: self.text(&h.text, &h.id),
                }
            })
            .collect()
    }
}

impl Cx<'_> {
    pub(super) fn exam(&mut self, f: Option<&ExamFile>, tick_hz: u32) -> crate::scenario::ExamSpec {
        use crate::scenario::ExamSpec;
        use crate::scenario::exam::{AREAS, TASKS};
        let mut spec = ExamSpec::default();
        let Some(f) = f else { return spec };
        if let Some(tasks) = &f.tasks {
            for t in &tasks.value {
                if !TASKS.iter().any(|(id, _)| id == t) {
                    let known: Vec<&str> = TASKS.iter().map(|(id, _)| *id).collect();
                    self.err(
                        &tasks.referenced,
                        format!("unknown exam task `{t}` (one of {})", known.join(", ")),
                    );
                }
            }
            for area in AREAS {
                let covered = tasks.value.iter().any(|t| TASKS.iter().any(|(id, a)| id == t && *a == area));
                if !covered {
                    self.err(
                        &tasks.referenced,
                        format!("the exam's tasks must span the five skill areas: none for `{area}`"),
                    );
                }
            }
            spec.tasks = tasks.value.clone();
        }
        let share = |cx: &mut Self, v: &Option<Spanned<f64>>, default: f64, what: &str| match v {
            Some(v) if v.value.is_finite() && (0.0..=1.0).contains(&v.value) => v.value,
            Some(v) => {
                cx.err(&v.referenced, format!("{what} must be a share between 0 and 1, got {}", v.value));
                default
            }
            None => default,
        };
        spec.pass.overall = share(self, &f.pass_overall, spec.pass.overall, "pass_overall");
        spec.pass.per_area = share(self, &f.pass_per_area, spec.pass.per_area, "pass_per_area");
        spec.time_limit_ticks = f
            .time_limit_s
            .as_ref()
            .map(|t| (self.positive(t, "time_limit_s") * f64::from(tick_hz)).round() as u64);
        if let Some(y) = &f.valid_years {
            let max = crate::scenario::exam::MAX_VALID_YEARS;
            if y.value.fract() == 0.0 && (0.0..=f64::from(max)).contains(&y.value) {
                spec.valid_years = y.value as u32;
            } else {
                self.err(
                    &y.referenced,
                    format!(
                        "valid_years must be a whole number of years from 0 (no end) to {max}, got {}",
                        y.value
                    ),
                );
            }
        }
        spec
    }
}
