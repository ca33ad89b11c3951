//! A certification exam as the trainee's console shows it: the tasks set and their points,
//! the pass rule and the time limit while it runs; the grade, task by task, once it is over,
//! with the areas that kept a trainee from passing named.

use icsdrill_engine::scenario::Text;
use icsdrill_engine::scenario::exam::PassRule;
use icsdrill_judge::exam::Grade;
use serde::{Deserialize, Serialize};

/// The exam on a trainee's console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamView {
    /// The tasks set, in order.
    pub tasks: Vec<ExamTask>,
    /// Least share of all points to pass.
    pub pass_overall: f64,
    /// Least share of each skill area's points to pass.
    pub pass_per_area: f64,
    /// The simulated second the exam ends at, if it has a time limit.
    pub end_s: Option<f64>,
    /// The grade, once the exam is over (the hot wash or the end).
    pub result: Option<ExamResult>,
    /// The signed certificate (a pass) or result notice (a fail) is issued and on record:
    /// the trainee's console links to it (`GET /api/teams/{team}/certificate`).
    #[serde(default)]
    pub certified: bool,
}

/// One task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamTask {
    /// Task id.
    pub id: String,
    /// Skill area.
    pub area: String,
    /// What the trainee has to do.
    pub title: Text,
    /// Most points.
    pub max: f64,
    /// Points earned, once the exam is over.
    pub points: Option<f64>,
    /// Why, once the exam is over.
    pub detail: Option<Text>,
}

/// The grade of an exam that is over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamResult {
    /// Points.
    pub total: f64,
    /// Most points.
    pub max: f64,
    /// Passed the rule and the safety gate.
    pub passed: bool,
    /// Each skill area: points, most points, and whether it is under the rule's share.
    pub areas: Vec<AreaResult>,
    /// What the trainee's own actions did to safety, if anything (it fails the gated tasks).
    pub safety_violation: Option<Text>,
}

/// A skill area's part of the grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaResult {
    /// Area.
    pub area: String,
    /// Points.
    pub points: f64,
    /// Most points.
    pub max: f64,
    /// Under the rule's least share of the area: failed the exam whatever the total.
    pub below: bool,
}

/// The console's view of an exam under `rule`: from `grade`, its points shown only when the
/// exam is `over` (the tasks' most points come from any grade, an empty log's included).
pub fn exam_view(grade: &Grade, rule: PassRule, end_s: Option<f64>, over: bool) -> ExamView {
    let tasks = grade
        .tasks
        .iter()
        .map(|t| ExamTask {
            id: t.id.to_string(),
            area: t.area.to_string(),
            title: t.title.clone(),
            max: t.max,
            points: over.then_some(t.points),
            detail: over.then(|| t.detail.clone()),
        })
        .collect();
    let result = over.then(|| ExamResult {
        total: grade.total,
        max: grade.max,
        passed: grade.passed,
        areas: grade
            .areas
            .iter()
            .map(|a| AreaResult {
                area: a.area.to_string(),
                points: a.points,
                max: a.max,
                below: rule.area_below(a.points, a.max),
            })
            .collect(),
        safety_violation: grade.safety_violation.clone(),
    });
    ExamView {
        tasks,
        pass_overall: rule.overall,
        pass_per_area: rule.per_area,
        end_s,
        result,
        certified: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tank_farm() -> icsdrill_engine::Scenario {
        let text = include_str!("../../scenarios/library/petrochem-tank-farm.yaml");
        icsdrill_engine::Scenario::from_yaml("tank-farm.yaml", text).expect("valid")
    }

    #[test]
    fn points_show_only_once_the_exam_is_over_and_the_areas_that_failed_are_named() {
        let s = tank_farm();
        let rule = s.exam.pass;
        let idle = icsdrill_judge::exam::grade_at(&s, &[], rule, 600);
        let live = exam_view(&idle, rule, Some(600.0), false);
        assert_eq!(live.tasks.len(), s.exam.tasks.len());
        assert!(live.tasks.iter().all(|t| t.points.is_none() && t.detail.is_none() && t.max > 0.0));
        assert!(live.result.is_none());
        let over = exam_view(&idle, rule, Some(600.0), true);
        let r = over.result.expect("graded");
        assert!(!r.passed, "an idle trainee does not pass");
        assert_eq!(r.total, idle.total);
        assert!(r.areas.iter().any(|a| a.below), "{r:?}");
        assert!(r.areas.iter().all(|a| a.below == (a.points < rule.per_area * a.max)));
        assert!(over.tasks.iter().all(|t| t.points.is_some()));
    }
}
