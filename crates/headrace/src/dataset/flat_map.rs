//! `flat_map(fn)`: maps each element to a dataset and yields their elements in turn.
//!
//! The function runs in the consumer's thread, and each inner dataset is iterated with
//! `ctx.inner()`, so its stages are counted under this one. An error from the input or
//! from the function surfaces in place of that element's dataset; an error element of an
//! inner dataset surfaces at its position and the inner dataset goes on.

use std::sync::Arc;

use super::function::DatasetClosure;
use super::{BoxIterator, Cardinality, Context, Dataset, DatasetFn, DatasetNode, ElementIterator};
use crate::error::Result;
use crate::runtime::wait::ScanCheck;
use crate::value::{Element, ElementSpec};

struct FlatMapNode {
    input: Dataset,
    f: Arc<dyn DatasetFn>,
    output_spec: ElementSpec,
}

impl DatasetNode for FlatMapNode {
    fn skip_iterations(&self, count: u64) {
        self.f.skip_iterations(count);
    }

    fn kind(&self) -> &'static str {
        "FlatMap"
    }

    fn describe(&self) -> String {
        format!("fn={}", self.f.describe())
    }

    fn inputs(&self) -> Vec<&Dataset> {
        vec![&self.input]
    }

    fn element_spec(&self) -> ElementSpec {
        self.output_spec.clone()
    }

    /// Always unknown, as tf.data reports it: the sizes of the inner datasets are only
    /// known once they are made.
    fn cardinality(&self) -> Cardinality {
        Cardinality::Unknown
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        Ok(Box::new(FlatMapIter {
            input: self.input.make_iterator(ctx)?,
            f: self.f.instantiate(ctx)?.unwrap_or_else(|| self.f.clone()),
            inner_ctx: ctx.inner(),
            current: None,
            next_position: 0,
            scan: ScanCheck::new(ctx.cancel.clone()),
        }))
    }
}

struct FlatMapIter {
    input: BoxIterator,
    f: Arc<dyn DatasetFn>,
    inner_ctx: Context,
    /// The inner dataset being read.
    current: Option<BoxIterator>,
    /// The position of the next input element.
    next_position: u64,
    /// Many empty inner datasets in a row are a long run without yielding.
    scan: ScanCheck,
}

/// Opens the dataset `f` makes from `element`, the input's element at `position` (shared
/// with interleave).
pub(crate) fn open_inner(
    f: &dyn DatasetFn,
    element: Element,
    position: u64,
    ctx: &Context,
) -> Result<BoxIterator> {
    f.call_at(element, position)?.make_iterator(ctx)
}

impl ElementIterator for FlatMapIter {
    fn next(&mut self) -> Option<Result<Element>> {
        loop {
            if let Some(inner) = self.current.as_mut() {
                match inner.next() {
                    Some(item) => return Some(item),
                    None => self.current = None,
                }
                if let Err(e) = self.scan.tick() {
                    return Some(Err(e));
                }
            }
            let item = self.input.next()?;
            let position = self.next_position;
            if !matches!(&item, Err(e) if e.is_interruption()) {
                self.next_position += 1;
            }
            match item {
                Ok(e) => match open_inner(&*self.f, e, position, &self.inner_ctx) {
                    Ok(it) => self.current = Some(it),
                    Err(e) => return Some(Err(e)),
                },
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Dataset {
    /// Maps each element to a dataset with `f` and yields their elements one dataset after
    /// another (`tf.data.Dataset.flat_map`). `f` runs in the consumer's thread; an error
    /// from it surfaces in place of that element's dataset.
    pub fn flat_map<F>(&self, f: F) -> Dataset
    where
        F: Fn(Element) -> Result<Dataset> + Send + Sync + 'static,
    {
        self.flat_map_with(Arc::new(DatasetClosure(f)), ElementSpec::Unknown)
    }

    /// `flat_map` with a function object; `output_spec` is the inner datasets' element
    /// spec when the caller knows it (`ElementSpec::Unknown` otherwise).
    pub fn flat_map_with(&self, f: Arc<dyn DatasetFn>, output_spec: ElementSpec) -> Dataset {
        Dataset::from_node(FlatMapNode {
            input: self.clone(),
            f,
            output_spec,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::testing::values;
    use crate::dataset::testing::{expect, outcomes, script, Item, Item::*};
    use crate::error::Error;
    use proptest::prelude::*;

    fn scalar(e: &Element) -> Result<i64> {
        e.as_tensor().unwrap().scalar_value::<i64>()
    }

    /// A function whose instances count the iterators built: instance k makes datasets
    /// of k elements.
    struct PerIterator {
        built: std::sync::atomic::AtomicI64,
    }

    struct Instance(i64);

    impl DatasetFn for Instance {
        fn call(&self, _element: Element) -> Result<Dataset> {
            Ok(Dataset::range(0, self.0))
        }

        fn describe(&self) -> String {
            "instance".into()
        }
    }

    impl DatasetFn for PerIterator {
        fn call(&self, _element: Element) -> Result<Dataset> {
            Err(Error::internal("the uninstantiated function ran"))
        }

        fn instantiate(&self, _ctx: &Context) -> Result<Option<Arc<dyn DatasetFn>>> {
            let k = self.built.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            Ok(Some(Arc::new(Instance(k))))
        }

        fn describe(&self) -> String {
            "per iterator".into()
        }
    }

    #[test]
    fn each_iterator_runs_its_own_instance_of_the_function() {
        let f = Arc::new(PerIterator {
            built: Default::default(),
        });
        let ds = Dataset::range(0, 2).flat_map_with(f.clone(), ElementSpec::Unknown);
        assert_eq!(values(&ds), vec![0, 0]);
        // `repeat` builds the stage again each epoch: instances 2 and 3.
        assert_eq!(
            values(&ds.repeat(2).unwrap()),
            vec![0, 1, 0, 1, 0, 1, 2, 0, 1, 2]
        );
        let interleaved = Dataset::range(0, 2)
            .interleave_with(
                f,
                crate::dataset::Parallelism::Fixed(1),
                1,
                None,
                None,
                ElementSpec::Unknown,
            )
            .unwrap();
        assert_eq!(values(&interleaved), vec![0, 1, 2, 3, 0, 1, 2, 3]);
    }

    #[test]
    fn concatenates_inner_datasets() {
        let ds = Dataset::range(0, 4).flat_map(|e| Ok(Dataset::range(0, scalar(&e)?)));
        assert_eq!(values(&ds), vec![0, 0, 1, 0, 1, 2]);
        assert_eq!(ds.cardinality(), Cardinality::Unknown);
        assert_eq!(
            Dataset::range(0, 0)
                .flat_map(|_| Ok(Dataset::range(0, 1)))
                .cardinality(),
            Cardinality::Unknown,
            "tf.data does not look at the input"
        );
    }

    #[test]
    fn errors_surface_where_they_happen() {
        // Input: 1, error, 2, 3; f fails on 2; the dataset made from 3 holds an error.
        let ds = script(&[V(1), E("input"), V(2), V(3)]).flat_map(|e| match scalar(&e)? {
            2 => Err(Error::invalid_argument("f")),
            3 => Ok(script(&[V(30), E("inner"), V(31)])),
            v => Ok(script(&[V(v * 10), V(v * 10 + 1)])),
        });
        assert_eq!(
            outcomes(&ds),
            expect(&[V(10), V(11), E("input"), E("f"), V(30), E("inner"), V(31)])
        );
    }

    #[test]
    fn an_interruption_keeps_the_inner_dataset() {
        let ds = Dataset::range(0, 2).flat_map(|_| Ok(script(&[V(1), Interrupt, V(2)])));
        assert_eq!(
            outcomes(&ds),
            expect(&[V(1), Interrupt, V(2), V(1), Interrupt, V(2)])
        );
    }

    #[test]
    fn inner_stages_are_counted_under_the_flat_map() {
        let ds = Dataset::range(0, 3).flat_map(|e| Ok(Dataset::range(0, scalar(&e)?)));
        let mut it = ds.iter().unwrap();
        assert_eq!(it.by_ref().count(), 3);
        let stages: Vec<(String, u64)> = it
            .stats()
            .into_iter()
            .map(|s| (s.stage, s.elements))
            .collect();
        assert_eq!(
            stages,
            [
                ("FlatMap".to_string(), 3),
                ("Range".to_string(), 3),
                ("FlatMap/Range".to_string(), 3)
            ]
        );
    }

    proptest! {
        #[test]
        fn flat_map_concatenates(sizes in proptest::collection::vec(0i64..5, 0..10)) {
            let items: Vec<Item> = sizes.iter().copied().map(V).collect();
            let ds = script(&items).flat_map(|e| {
                let n = scalar(&e)?;
                Ok(Dataset::range(n * 100, n * 100 + n))
            });
            let want: Vec<i64> = sizes.iter().flat_map(|&n| n * 100..n * 100 + n).collect();
            prop_assert_eq!(values(&ds), want);
        }
    }
}
