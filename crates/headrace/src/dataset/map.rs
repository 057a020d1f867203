//! `map(fn, num_parallel_calls, deterministic)`.
//!
//! Without `num_parallel_calls` the function runs in the consumer's thread, one element at
//! a time. With it, the function runs on worker threads (`runtime::parallel`), in chunks
//! whose size adapts to the function's cost, keeping order unless `deterministic=False`.

use std::sync::Arc;

use super::function::Closure;
use super::{
    BoxIterator, Cardinality, Context, Dataset, DatasetNode, ElementIterator, MapFn, Parallelism,
};
use crate::error::Result;
use crate::runtime::parallel::ParallelIter;
use crate::value::{Element, ElementSpec};

struct MapNode {
    input: Dataset,
    f: Arc<dyn MapFn>,
    parallelism: Option<Parallelism>,
    deterministic: Option<bool>,
    output_spec: ElementSpec,
}

impl DatasetNode for MapNode {
    fn skip_iterations(&self, count: u64) {
        self.f.skip_iterations(count);
    }

    fn kind(&self) -> &'static str {
        match self.parallelism {
            None => "Map",
            Some(_) => "ParallelMap",
        }
    }

    fn describe(&self) -> String {
        let mut s = format!("fn={}", self.f.describe());
        match self.parallelism {
            Some(Parallelism::Fixed(n)) => s.push_str(&format!(", num_parallel_calls={n}")),
            Some(Parallelism::Autotune) => s.push_str(", num_parallel_calls=AUTOTUNE"),
            None => {}
        }
        if let Some(d) = self.deterministic {
            s.push_str(&format!(", deterministic={d}"));
        }
        s
    }

    fn inputs(&self) -> Vec<&Dataset> {
        vec![&self.input]
    }

    fn element_spec(&self) -> ElementSpec {
        self.output_spec.clone()
    }

    fn cardinality(&self) -> Cardinality {
        self.input.cardinality()
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        // The function as the pipeline's options want it (a traced graph may rewrite
        // itself), with any state it keeps per running pipeline (worker processes).
        let f = self.f.instantiate(ctx)?.unwrap_or_else(|| self.f.clone());
        let Some(parallelism) = self.parallelism else {
            return Ok(Box::new(MapIter {
                input: self.input.make_iterator(ctx)?,
                f,
                position: 0,
            }));
        };
        let ctx = ctx.child();
        let input = self.input.make_iterator(&ctx)?;
        Ok(Box::new(ParallelIter::start(
            "map",
            input,
            Arc::new(move |chunk, first, cancel| f.call_many(chunk, first, cancel)),
            parallelism,
            ctx.deterministic(self.deterministic),
            ctx.cancel.clone(),
        )))
    }
}

struct MapIter {
    input: BoxIterator,
    f: Arc<dyn MapFn>,
    /// The input position of the next element, as the parallel stage numbers them.
    position: u64,
}

impl ElementIterator for MapIter {
    fn next(&mut self) -> Option<Result<Element>> {
        let item = self.input.next()?;
        if matches!(&item, Err(e) if e.is_interruption()) {
            return Some(item);
        }
        let position = self.position;
        self.position += 1;
        Some(item.and_then(|e| self.f.call_at(e, position)))
    }
}

impl Dataset {
    /// Applies `f` to each element, in the consumer's thread.
    pub fn map<F>(&self, f: F) -> Dataset
    where
        F: Fn(Element) -> Result<Element> + Send + Sync + 'static,
    {
        self.map_with(Arc::new(Closure(f)), None, None, ElementSpec::Unknown)
    }

    /// Applies `f` to each element with `parallelism` calls at once (`None`: in the
    /// consumer's thread), keeping order unless `deterministic` is false. `output_spec` is
    /// what `f` returns, when the caller knows it.
    pub fn map_with(
        &self,
        f: Arc<dyn MapFn>,
        parallelism: Option<Parallelism>,
        deterministic: Option<bool>,
        output_spec: ElementSpec,
    ) -> Dataset {
        Dataset::from_node(MapNode {
            input: self.clone(),
            f,
            parallelism,
            deterministic,
            output_spec,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::value::Tensor;
    use std::time::Duration;

    fn add(k: i64) -> impl Fn(Element) -> Result<Element> + Send + Sync + 'static {
        move |e| {
            let v = e.into_tensor()?.scalar_value::<i64>()?;
            Ok(Tensor::scalar(v + k).into())
        }
    }

    use crate::dataset::testing::values;

    #[test]
    fn sequential_and_parallel_agree_in_order() {
        let seq = Dataset::range(0, 1000).map(add(1));
        let expected: Vec<i64> = (1..1001).collect();
        assert_eq!(values(&seq), expected);
        for n in [1, 2, 3, 8] {
            let par = Dataset::range(0, 1000).map_with(
                Arc::new(Closure(add(1))),
                Some(Parallelism::Fixed(n)),
                None,
                ElementSpec::Unknown,
            );
            assert_eq!(values(&par), expected, "num_parallel_calls={n}");
        }
    }

    #[test]
    fn unordered_yields_every_element_once() {
        let slow_evens = |e: Element| {
            let v = e.into_tensor()?.scalar_value::<i64>()?;
            if v % 2 == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
            Ok(Tensor::scalar(v).into())
        };
        let ds = Dataset::range(0, 200).map_with(
            Arc::new(Closure(slow_evens)),
            Some(Parallelism::Fixed(4)),
            Some(false),
            ElementSpec::Unknown,
        );
        let mut got = values(&ds);
        got.sort();
        assert_eq!(got, (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn errors_surface_at_their_position_and_iteration_continues() {
        let fail_on_3 = |e: Element| {
            let v = e.into_tensor()?.scalar_value::<i64>()?;
            if v == 3 {
                return Err(Error::invalid_argument("three"));
            }
            Ok(Tensor::scalar(v).into())
        };
        for parallelism in [None, Some(Parallelism::Fixed(3))] {
            let ds = Dataset::range(0, 6).map_with(
                Arc::new(Closure(fail_on_3)),
                parallelism,
                None,
                ElementSpec::Unknown,
            );
            let items: Vec<Result<Element>> = ds.iter().unwrap().collect();
            assert_eq!(items.len(), 6);
            assert!(items[3].is_err());
            assert!(items
                .iter()
                .enumerate()
                .all(|(i, r)| (i == 3) == r.is_err()));
        }
    }

    #[test]
    fn a_panic_becomes_an_error_element() {
        let ds = Dataset::range(0, 4).map_with(
            Arc::new(Closure(|e: Element| {
                if e.as_tensor().unwrap().scalar_value::<i64>().unwrap() == 1 {
                    panic!("boom");
                }
                Ok(e)
            })),
            Some(Parallelism::Fixed(2)),
            None,
            ElementSpec::Unknown,
        );
        let items: Vec<Result<Element>> = ds.iter().unwrap().collect();
        assert_eq!(items.len(), 4);
        assert!(items[1].as_ref().unwrap_err().to_string().contains("boom"));
    }

    #[test]
    fn dropping_early_stops_the_workers() {
        let ds = Dataset::range(0, i64::MAX).map_with(
            Arc::new(Closure(add(0))),
            Some(Parallelism::Fixed(4)),
            None,
            ElementSpec::Unknown,
        );
        let mut it = ds.iter().unwrap();
        for _ in 0..10 {
            it.next().unwrap().unwrap();
        }
        drop(it); // joins; a leaked worker would hang the test run
    }
}
