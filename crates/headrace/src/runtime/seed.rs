//! Seeds for the shuffling stages. A seeded stage's k-th iterator draws from a stream derived
//! from (seed, k), so epochs differ while two fresh pipelines with one seed repeat exactly.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use rand_core::SeedableRng;
use rand_pcg::Pcg64;

/// splitmix64's finaliser: spreads nearby inputs (seed, seed + 1) across the whole range.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of a stage: the user's, or one drawn at random when the stage is built.
pub fn stage_seed(seed: Option<u64>) -> u64 {
    seed.unwrap_or_else(|| RandomState::new().hash_one(std::time::Instant::now()))
}

/// Hands each new iterator of a stage its generator.
#[derive(Debug)]
pub struct SeedSequence {
    seed: u64,
    reshuffle: bool,
    iterations: AtomicU64,
}

impl SeedSequence {
    pub fn new(seed: u64, reshuffle_each_iteration: bool) -> SeedSequence {
        SeedSequence {
            seed,
            reshuffle: reshuffle_each_iteration,
            iterations: AtomicU64::new(0),
        }
    }

    /// Moves on by `count` iterators (a reshuffling sequence only).
    pub fn skip(&self, count: u64) {
        if self.reshuffle {
            self.iterations.fetch_add(count, Ordering::Relaxed);
        }
    }

    /// The generator for the next iterator.
    pub fn next_rng(&self) -> Pcg64 {
        let k = if self.reshuffle {
            self.iterations.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        Pcg64::seed_from_u64(mix(self.seed ^ mix(k.wrapping_add(0x9e37_79b9_7f4a_7c15))))
    }
}

/// A uniform index in `0..n` (n > 0), without modulo bias.
pub fn uniform_index(rng: &mut Pcg64, n: usize) -> usize {
    use rand_core::RngCore;
    let n = n as u64;
    // Lemire's multiply-shift with rejection.
    loop {
        let x = rng.next_u64();
        let m = (x as u128) * (n as u128);
        let low = m as u64;
        if low >= n || low >= n.wrapping_neg() % n {
            return (m >> 64) as usize;
        }
    }
}
