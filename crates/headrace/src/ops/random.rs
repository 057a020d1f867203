//! Random tensors for traced functions: `random.uniform` and `random.normal`.
//!
//! Deterministic per element: the stream is derived from the op's seed, the element's
//! position in its stage's input and the op's place in the graph, never from which thread
//! ran it, so results do not depend on the parallelism.

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64;

use crate::error::{Error, Result};
use crate::value::{DType, Tensor};

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Distribution {
    /// Uniform in `[low, high)`.
    Uniform {
        low: f64,
        high: f64,
    },
    Normal {
        mean: f64,
        stddev: f64,
    },
}

/// splitmix64's finaliser, to spread (seed, position, op) over the seed space.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator for op `op` of a graph at input `position`.
pub fn stream(seed: u64, position: u64, op: u64) -> Pcg64 {
    Pcg64::seed_from_u64(mix(
        mix(seed ^ mix(position)) ^ op.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    ))
}

/// The seed of epoch `epoch` (> 0) of a stage whose op has seed `seed`: a stream of its own,
/// so that each epoch draws anew.
pub fn epoch_seed(seed: u64, epoch: u64) -> u64 {
    mix(seed ^ mix(epoch.wrapping_add(0x9e37_79b9_7f4a_7c15)))
}

/// A uniform f64 in [0, 1) with 53 random bits.
pub(crate) fn unit(rng: &mut Pcg64) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal value (Box–Muller; the second value of each pair is not kept, so every
/// value costs the same and streams stay aligned).
fn standard_normal(rng: &mut Pcg64) -> f64 {
    let u1 = 1.0 - unit(rng); // (0, 1]: ln(u1) is finite
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A tensor of `shape` and `dtype` drawn from `dist` with `rng`.
pub fn random(
    dist: Distribution,
    shape: &[usize],
    dtype: DType,
    rng: &mut Pcg64,
) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let draw = |rng: &mut Pcg64| match dist {
        Distribution::Uniform { low, high } => low + (high - low) * unit(rng),
        Distribution::Normal { mean, stddev } => mean + stddev * standard_normal(rng),
    };
    match (dtype, dist) {
        // Uniform float32 takes 24 bits per value, two values per 64-bit draw: half the
        // generator calls of the general path (measured: the draw dominates this op).
        (DType::Float32, Distribution::Uniform { low, high }) => {
            let (low, span) = (low as f32, (high - low) as f32);
            let scale = 1.0 / (1u32 << 24) as f32;
            let mut out = Vec::with_capacity(n);
            while out.len() < n {
                let bits = rng.next_u64();
                out.push(low + span * ((bits >> 40) as f32 * scale));
                if out.len() < n {
                    out.push(low + span * (((bits >> 8) & 0xFF_FFFF) as f32 * scale));
                }
            }
            // low + span * u can round up to `high` for u just below 1: keep [low, high).
            for v in &mut out {
                if *v >= high as f32 {
                    *v = low.max(f32::from_bits((high as f32).to_bits() - 1));
                }
            }
            Tensor::from_vec(shape, out)
        }
        (DType::Float32, _) => Tensor::from_vec(shape, (0..n).map(|_| draw(rng) as f32).collect()),
        (DType::Float64, _) => Tensor::from_vec(shape, (0..n).map(|_| draw(rng)).collect()),
        (DType::Float16, _) => Tensor::from_vec(
            shape,
            (0..n).map(|_| half::f16::from_f64(draw(rng))).collect(),
        ),
        (DType::BFloat16, _) => Tensor::from_vec(
            shape,
            (0..n).map(|_| half::bf16::from_f64(draw(rng))).collect(),
        ),
        (DType::Int32 | DType::Int64, Distribution::Uniform { low, high }) => {
            let (low, high) = (low as i64, high as i64);
            if high <= low {
                return Err(Error::invalid_argument(format!(
                    "random.uniform: maxval {high} must be greater than minval {low}"
                )));
            }
            let span = (high - low) as u64;
            let ints: Vec<i64> = (0..n)
                .map(|_| low + (rng.next_u64() % span) as i64)
                .collect();
            if dtype == DType::Int64 {
                Tensor::from_vec(shape, ints)
            } else {
                Tensor::from_vec(shape, ints.into_iter().map(|v| v as i32).collect())
            }
        }
        _ => Err(Error::invalid_argument(format!(
            "random: cannot draw {dtype} values from {dist:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let d = Distribution::Uniform {
            low: 0.0,
            high: 1.0,
        };
        let a = random(d, &[100], DType::Float32, &mut stream(1, 7, 0)).unwrap();
        let b = random(d, &[100], DType::Float32, &mut stream(1, 7, 0)).unwrap();
        let c = random(d, &[100], DType::Float32, &mut stream(1, 8, 0)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .all(|&v| (0.0..1.0).contains(&v)));
    }

    #[test]
    fn normal_moments() {
        let t = random(
            Distribution::Normal {
                mean: 2.0,
                stddev: 3.0,
            },
            &[100_000],
            DType::Float64,
            &mut stream(3, 0, 0),
        )
        .unwrap();
        let v = t.as_slice::<f64>().unwrap();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!((mean - 2.0).abs() < 0.05, "{mean}");
        assert!((var.sqrt() - 3.0).abs() < 0.05, "{var}");
    }
}
