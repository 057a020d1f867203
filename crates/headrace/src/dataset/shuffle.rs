//! `shuffle(buffer_size, seed, reshuffle_each_iteration)`: tf.data's buffered shuffle.
//!
//! Fill a buffer with `buffer_size` elements; then repeatedly yield a uniformly chosen slot
//! and refill it from the input; when the input ends, drain the buffer in random order. So
//! the element yielded at position `p` is one of the first `p + buffer_size` inputs.
//!
//! The generator is a PCG64 seeded per iterator by `runtime::seed`: from the user's seed, or
//! one drawn when the stage is built. With `reshuffle_each_iteration` the k-th iterator of
//! this stage (the k-th epoch under `repeat`) draws from a stream derived from (seed, k), so
//! epochs differ while two pipelines built with one seed repeat exactly; without it every
//! iterator draws the same order. The numbers differ from TensorFlow's (its generator is
//! Philox), so a seeded order matches tf.data's in distribution, not element for element.
//!
//! An error element from the input surfaces as soon as it is read (the buffer keeps what it
//! holds), as tf.data surfaces it while filling the buffer.

use std::sync::Arc;

use rand_pcg::Pcg64;

use super::{BoxIterator, Cardinality, Context, Dataset, DatasetNode, ElementIterator};
use crate::error::{Error, Result};
use crate::runtime::seed::{stage_seed, uniform_index, SeedSequence};
use crate::value::{Element, ElementSpec};

struct ShuffleNode {
    input: Dataset,
    buffer_size: usize,
    seeds: Arc<SeedSequence>,
    seed: Option<u64>,
    reshuffle: bool,
}

impl DatasetNode for ShuffleNode {
    fn skip_iterations(&self, count: u64) {
        self.seeds.skip(count);
    }

    fn kind(&self) -> &'static str {
        "Shuffle"
    }

    fn describe(&self) -> String {
        let seed = self.seed.map_or("None".to_string(), |s| s.to_string());
        format!(
            "buffer_size={}, seed={seed}, reshuffle_each_iteration={}",
            self.buffer_size, self.reshuffle
        )
    }

    fn inputs(&self) -> Vec<&Dataset> {
        vec![&self.input]
    }

    fn element_spec(&self) -> ElementSpec {
        self.input.element_spec()
    }

    fn cardinality(&self) -> Cardinality {
        self.input.cardinality()
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        Ok(Box::new(ShuffleIter {
            input: Some(self.input.make_iterator(ctx)?),
            buffer: Vec::with_capacity(self.buffer_size.min(1 << 16)),
            buffer_size: self.buffer_size,
            rng: match ctx.instance_state(self, || {
                // A new dataset per binding: seeded, it repeats the seed's orders; unseeded,
                // it draws its own seed, as each tf.data dataset made by a function does.
                SeedSequence::new(stage_seed(self.seed), self.reshuffle)
            }) {
                Some(seeds) => seeds.next_rng(),
                None => self.seeds.next_rng(),
            },
        }))
    }
}

struct ShuffleIter {
    /// `None` once the input has ended (dropping it stops its threads).
    input: Option<BoxIterator>,
    /// The elements waiting; their order within the buffer does not matter, since each
    /// draw picks uniformly among all of them.
    buffer: Vec<Element>,
    buffer_size: usize,
    rng: Pcg64,
}

impl ElementIterator for ShuffleIter {
    fn next(&mut self) -> Option<Result<Element>> {
        while self.buffer.len() < self.buffer_size {
            let Some(input) = self.input.as_mut() else {
                break;
            };
            match input.next() {
                Some(Ok(e)) => self.buffer.push(e),
                Some(Err(e)) => return Some(Err(e)),
                None => self.input = None,
            }
        }
        if self.buffer.is_empty() {
            return None;
        }
        let i = uniform_index(&mut self.rng, self.buffer.len());
        // Taking the chosen element out with swap_remove and refilling the buffer on the
        // next call is tf.data's "refill the slot" in O(1): every element in the buffer
        // stays equally likely to be drawn next. The refill waits for the next call, as in
        // tf.data.
        Some(Ok(self.buffer.swap_remove(i)))
    }
}

impl Dataset {
    /// Shuffles with a buffer of `buffer_size` elements (`tf.data.Dataset.shuffle`).
    ///
    /// With a `seed` the orders repeat from run to run; without one a seed is drawn when the
    /// stage is built. Each iterator (each epoch of a `repeat` after it) draws a new order
    /// unless `reshuffle_each_iteration` is false. Fails with an argument error naming
    /// `buffer_size` unless it is at least 1.
    pub fn shuffle(
        &self,
        buffer_size: i64,
        seed: Option<u64>,
        reshuffle_each_iteration: bool,
    ) -> Result<Dataset> {
        if buffer_size < 1 {
            return Err(Error::argument(
                "buffer_size",
                format!("must be a positive integer, got {buffer_size}"),
            ));
        }
        Ok(Dataset::from_node(ShuffleNode {
            input: self.clone(),
            buffer_size: buffer_size as usize,
            seeds: Arc::new(SeedSequence::new(
                stage_seed(seed),
                reshuffle_each_iteration,
            )),
            seed,
            reshuffle: reshuffle_each_iteration,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::testing::{outcomes, script, Item, Item::*};
    use proptest::prelude::*;

    use crate::dataset::testing::values;

    #[test]
    fn a_copy_that_skips_iterations_catches_up() {
        let build = || {
            Dataset::range(0, 50)
                .shuffle(50, Some(3), true)
                .unwrap()
                .map(Ok)
        };
        let original = build();
        let orders: Vec<_> = (0..3).map(|_| values(&original)).collect();
        for (k, order) in orders.iter().enumerate() {
            let copy = build();
            copy.skip_iterations(k as u64);
            assert_eq!(&values(&copy), order, "iteration {k}");
        }
        // Without reshuffling, every iteration has the first order, skipped or not.
        let fixed = Dataset::range(0, 50).shuffle(50, Some(3), false).unwrap();
        let first = values(&fixed);
        fixed.skip_iterations(5);
        assert_eq!(values(&fixed), first);
    }

    #[test]
    fn seeded_runs_repeat_and_epochs_differ() {
        let build = || Dataset::range(0, 100).shuffle(100, Some(7), true).unwrap();
        let a = build();
        let (a1, a2) = (values(&a), values(&a));
        assert_eq!(a1, values(&build()), "fresh pipelines with one seed repeat");
        assert_ne!(a1, a2, "each iteration reshuffles");
        let epochs = values(&build().repeat(3).unwrap());
        assert_eq!(epochs, values(&build().repeat(3).unwrap()));
        assert_ne!(epochs[..100], epochs[100..200]);
        assert_eq!(epochs[..100], a1, "the first epoch is the first iteration");
    }

    #[test]
    fn without_reshuffling_every_iteration_has_one_order() {
        for seed in [Some(7), None] {
            let ds = Dataset::range(0, 50).shuffle(50, seed, false).unwrap();
            let first = values(&ds);
            assert_ne!(first, (0..50).collect::<Vec<_>>());
            assert_eq!(values(&ds), first);
            let epochs = values(&ds.repeat(2).unwrap());
            assert_eq!(epochs[..50], epochs[50..]);
        }
    }

    #[test]
    fn unseeded_stages_draw_their_own_seed() {
        let a = Dataset::range(0, 100).shuffle(100, None, true).unwrap();
        let b = Dataset::range(0, 100).shuffle(100, None, true).unwrap();
        assert_ne!(values(&a), values(&b));
    }

    #[test]
    fn bad_buffer_size_is_an_argument_error() {
        for bad in [0, -1] {
            let err = Dataset::range(0, 1).shuffle(bad, None, true).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Argument);
            assert!(err.to_string().starts_with("buffer_size"), "{err}");
        }
    }

    #[test]
    fn keeps_spec_and_cardinality() {
        let ds = Dataset::range(0, 9).shuffle(4, None, true).unwrap();
        assert_eq!(ds.cardinality(), Cardinality::Finite(9));
        assert_eq!(ds.element_spec(), Dataset::range(0, 1).element_spec());
        let inf = Dataset::range(0, 9)
            .repeat(-1)
            .unwrap()
            .shuffle(4, None, true);
        assert_eq!(inf.unwrap().cardinality(), Cardinality::Infinite);
    }

    #[test]
    fn buffer_of_one_keeps_order() {
        let ds = Dataset::range(0, 20).shuffle(1, None, true).unwrap();
        assert_eq!(values(&ds), (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn full_buffer_is_roughly_uniform() {
        // Position of element 0 over many seeds: each of 4 positions about 1/4 of the time.
        let mut counts = [0usize; 4];
        for seed in 0..4000 {
            let v = values(&Dataset::range(0, 4).shuffle(4, Some(seed), false).unwrap());
            counts[v.iter().position(|&x| x == 0).unwrap()] += 1;
        }
        for c in counts {
            assert!((850..1150).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn errors_surface_when_read_and_lose_nothing() {
        // Buffer of 2: the first call reads 0, 1; the second refills and meets the error
        // after yielding one element; nothing already buffered is lost.
        let ds = script(&[V(0), V(1), E("bad"), V(2), Interrupt, V(3)])
            .shuffle(2, Some(1), true)
            .unwrap();
        let got = outcomes(&ds);
        assert_eq!(got.len(), 6);
        assert!(got[0].is_ok());
        assert_eq!(got[1], Err("bad".to_string()));
        assert!(got.contains(&Err("<interrupted>".to_string())));
        let mut ok: Vec<i64> = got.into_iter().filter_map(|o| o.ok()).collect();
        ok.sort();
        assert_eq!(ok, [0, 1, 2, 3]);
    }

    proptest! {
        #[test]
        fn is_a_permutation(n in 0i64..200, buffer in 1i64..300, seed in any::<u64>()) {
            let mut v = values(&Dataset::range(0, n).shuffle(buffer, Some(seed), true).unwrap());
            v.sort();
            prop_assert_eq!(v, (0..n).collect::<Vec<_>>());
        }

        #[test]
        fn output_p_is_among_the_first_p_plus_buffer_inputs(
            n in 0i64..150, buffer in 1i64..40, seed in any::<u64>()
        ) {
            let v = values(&Dataset::range(0, n).shuffle(buffer, Some(seed), true).unwrap());
            for (p, x) in v.iter().enumerate() {
                prop_assert!(*x < p as i64 + buffer, "position {} holds {}", p, x);
            }
        }

        #[test]
        fn errors_do_not_change_which_elements_come(
            items in proptest::collection::vec(
                prop_oneof![4 => (0i64..1000).prop_map(V), 1 => Just(E("e"))], 0..40),
            buffer in 1i64..10,
        ) {
            let got = outcomes(&script(&items).shuffle(buffer, Some(3), true).unwrap());
            let mut ok: Vec<i64> = got.iter().filter_map(|o| o.clone().ok()).collect();
            let mut want: Vec<i64> = items
                .iter()
                .filter_map(|i: &Item| match i { V(v) => Some(*v), _ => None })
                .collect();
            ok.sort();
            want.sort();
            prop_assert_eq!(ok, want);
            prop_assert_eq!(
                got.iter().filter(|o| o.is_err()).count(),
                items.iter().filter(|i| matches!(i, E(_))).count()
            );
        }
    }
}
