//! Grading: the proposed security level of an enterprise from its industry, scale and risk
//! answers.

use super::*;

/// The self-grading rules (illustrative).
#[derive(Debug, Clone, Deserialize)]
pub struct GradingRules {
    /// Always true: the official table is not public.
    pub illustrative: bool,
    /// What to show with every result.
    pub notice: icsdrill_engine::scenario::Text,
    /// Industry -> class 1-3.
    pub industry_class: BTreeMap<String, u8>,
    /// Points by factor.
    pub points: GradingPoints,
    /// Risk questions.
    pub risk_questions: Vec<RiskQuestion>,
    /// Level -> least score.
    pub cutoffs: BTreeMap<u8, i64>,
    /// Least level of a class-III industry at large scale.
    pub floor_large_class3: u8,
}

/// Points of the industry class and the scale.
#[derive(Debug, Clone, Deserialize)]
pub struct GradingPoints {
    /// By class.
    pub industry_class: BTreeMap<u8, i64>,
    /// By scale (micro, small, medium, large).
    pub scale: BTreeMap<String, i64>,
}

/// A yes/no risk question.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RiskQuestion {
    /// Id.
    pub id: String,
    /// Points for yes.
    pub points: i64,
    /// English.
    pub en: String,
    /// Chinese.
    pub zh: String,
}

/// A proposed level.
#[derive(Debug, Clone, Serialize)]
pub struct Grade {
    /// Proposed level.
    pub level: u8,
    /// Score.
    pub score: i64,
    /// Industry class.
    pub industry_class: u8,
    /// Points by factor.
    pub breakdown: Vec<(String, i64)>,
    /// The rules are illustrative.
    pub illustrative: bool,
    /// What that means.
    pub notice: icsdrill_engine::scenario::Text,
}

impl GradingRules {
    /// The rules shipped in `data/grading.yaml`.
    pub fn defaults() -> GradingRules {
        serde_saphyr::from_str(include_str!("../../../data/grading.yaml")).expect("data/grading.yaml parses")
    }

    /// Proposes a level from the industry, scale and the ids of the risk questions answered yes.
    pub fn grade(&self, industry: &str, scale: &str, yes: &[String]) -> Result<Grade> {
        let class = *self.industry_class.get(industry).ok_or_else(|| {
            Error::invalid(format!(
                "unknown industry `{industry}` (one of {})",
                self.industry_class.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let scale_points = *self.points.scale.get(scale).ok_or_else(|| {
            Error::invalid(format!("unknown scale `{scale}`: micro, small, medium or large"))
        })?;
        let mut breakdown = vec![
            ("industry_class".to_string(), self.points.industry_class[&class]),
            ("scale".to_string(), scale_points),
        ];
        for y in yes {
            let q = self.risk_questions.iter().find(|q| q.id == *y).ok_or_else(|| {
                Error::invalid(format!(
                    "unknown risk question `{y}` (one of {})",
                    self.risk_questions.iter().map(|q| q.id.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            breakdown.push((q.id.clone(), q.points));
        }
        let score: i64 = breakdown.iter().map(|(_, p)| p).sum();
        let mut level = 1;
        for (l, cut) in &self.cutoffs {
            if score >= *cut {
                level = level.max(*l);
            }
        }
        if class == 3 && scale == "large" {
            level = level.max(self.floor_large_class3);
        }
        Ok(Grade {
            level,
            score,
            industry_class: class,
            breakdown,
            illustrative: self.illustrative,
            notice: self.notice.clone(),
        })
    }
}
