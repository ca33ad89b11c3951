//! `SimRng`: the one seed of a run and its named sub-streams.
//!
//! Each consumer (a sensor's noise, later the attacker) draws from its own ChaCha8 stream,
//! seeded from SHA-256 of the run seed and the stream's name. Adding a sensor or reordering
//! systems therefore never shifts another consumer's numbers.

use bevy_ecs::prelude::*;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use sha2::{Digest, Sha256};

/// The run's seed; hands out independent named streams.
#[derive(Resource, Debug, Clone, Copy)]
pub struct SimRng {
    seed: u64,
}

impl SimRng {
    /// Wraps a seed.
    pub fn new(seed: u64) -> SimRng {
        SimRng { seed }
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A generator for the sub-stream called `name`: the same seed and name give the same
    /// numbers on every run.
    pub fn stream(&self, name: &str) -> ChaCha8Rng {
        let mut h = Sha256::new();
        h.update(self.seed.to_le_bytes());
        h.update(name.as_bytes());
        ChaCha8Rng::from_seed(h.finalize().into())
    }
}

/// A standard normal sample (Box-Muller), from two uniforms of `rng`.
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // `random::<f64>()` is in [0, 1); 1 - u is in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    // `libm`, not the platform's maths library, so the same seed gives the same numbers on
    // every platform (`sqrt` is correctly rounded everywhere).
    (-2.0 * libm::log(u1)).sqrt() * libm::cos(std::f64::consts::TAU * u2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a = SimRng::new(7);
        let x: Vec<u64> = (0..4).map(|_| a.stream("sensor:lit101").random()).collect();
        let y: u64 = SimRng::new(7).stream("sensor:lit101").random();
        assert_eq!(x[0], y);
        let z: u64 = a.stream("sensor:lit102").random();
        assert_ne!(y, z);
        let w: u64 = SimRng::new(8).stream("sensor:lit101").random();
        assert_ne!(y, w);
    }

    #[test]
    fn normal_samples_have_unit_spread() {
        let mut rng = SimRng::new(1).stream("test");
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }
}
