//! A team's historian: what its operator station showed (each sensor's value, none while the
//! station showed nothing) and its score, once a second of plant time, for the console's
//! trends, so that they survive the page being opened again, as a real HMI's do. Bounded: the
//! newest `MAX_SAMPLES` samples of the first `MAX_SENSORS` sensors, as `f32` (a plant's
//! transmitters read to a few digits).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// At most this many samples are kept (15 minutes of plant time at one a second).
pub const MAX_SAMPLES: usize = 900;
/// At most this many sensors are kept (a large synthetic plant has thousands): at most
/// 900 kB a team.
pub const MAX_SENSORS: usize = 256;

/// A team's samples, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Historian {
    at_s: VecDeque<f64>,
    score: VecDeque<f64>,
    /// A column a sensor (in the scenario's order); NaN: nothing shown.
    sensors: Vec<VecDeque<f32>>,
}

/// The trends as the API serves them: column-wise, as the chart library takes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendsView {
    /// Plant time of each sample (s).
    pub at_s: Vec<f64>,
    /// The team's total at each sample.
    pub score: Vec<f64>,
    /// Each sensor's values, by sensor id, in the scenario's order.
    pub sensors: Vec<SensorTrend>,
}

/// One sensor's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorTrend {
    /// Sensor id.
    pub id: String,
    /// As the operator station showed it (none: it showed nothing).
    pub values: Vec<Option<f64>>,
}

impl Historian {
    /// Takes a sample at plant time `at_s` (each sensor's value, none where the station showed
    /// nothing); one not after the newest is ignored.
    pub fn record(&mut self, at_s: f64, score: f64, sensors: &[Option<f64>]) {
        if self.at_s.back().is_some_and(|&t| at_s <= t) {
            return;
        }
        if self.at_s.len() == MAX_SAMPLES {
            self.at_s.pop_front();
            self.score.pop_front();
            for column in &mut self.sensors {
                column.pop_front();
            }
        }
        let n = self.at_s.len();
        let sensors = &sensors[..sensors.len().min(MAX_SENSORS)];
        self.sensors.resize_with(sensors.len(), || VecDeque::from(vec![f32::NAN; n]));
        for (column, v) in self.sensors.iter_mut().zip(sensors) {
            column.push_back(v.map_or(f32::NAN, |v| v as f32));
        }
        self.at_s.push_back(at_s);
        self.score.push_back(score);
    }

    /// How many samples it holds.
    pub fn len(&self) -> usize {
        self.at_s.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.at_s.is_empty()
    }

    /// The samples, each sensor named by `ids` (the scenario's sensor ids, in order).
    pub fn view<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> TrendsView {
        TrendsView {
            at_s: self.at_s.iter().copied().collect(),
            score: self.score.iter().copied().collect(),
            sensors: ids
                .into_iter()
                .zip(&self.sensors)
                .map(|(id, c)| SensorTrend {
                    id: id.to_string(),
                    values: c.iter().map(|&v| (!v.is_nan()).then_some(f64::from(v))).collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_keeps_the_newest_samples_in_order() {
        let mut h = Historian::default();
        for t in 0..(MAX_SAMPLES + 10) {
            let t = t as f64;
            h.record(t, 10.0 * t, &[Some(t), (t > 5.0).then_some(-t)]);
            assert!(h.len() <= MAX_SAMPLES);
        }
        // A sample from before the newest (a resumed clock) is not history.
        h.record(3.0, 0.0, &[None, None]);
        let v = h.view(["lt", "pt"]);
        assert_eq!(v.at_s.len(), MAX_SAMPLES);
        assert_eq!((v.at_s[0], v.score[0]), (10.0, 100.0), "the oldest went");
        assert_eq!(v.at_s.last(), Some(&((MAX_SAMPLES + 9) as f64)));
        assert_eq!(v.sensors[0].id, "lt");
        assert_eq!(v.sensors[1].values[0], Some(-10.0));
        assert!(v.sensors.iter().all(|s| s.values.len() == MAX_SAMPLES));
    }

    #[test]
    fn a_blank_station_shows_nothing() {
        let mut h = Historian::default();
        h.record(1.0, 5.0, &[Some(1.0)]);
        h.record(2.0, 5.0, &[None]);
        assert_eq!(h.view(["lt"]).sensors[0].values, [Some(1.0), None]);
        // A plant of thousands of sensors keeps the first `MAX_SENSORS`.
        let mut big = Historian::default();
        big.record(1.0, 0.0, &vec![Some(1.0); MAX_SENSORS + 100]);
        let ids: Vec<String> = (0..MAX_SENSORS + 100).map(|i| format!("s{i}")).collect();
        assert_eq!(big.view(ids.iter().map(String::as_str)).sensors.len(), MAX_SENSORS);
    }
}
