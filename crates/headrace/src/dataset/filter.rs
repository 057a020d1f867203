//! `filter(predicate)`: keeps the elements for which the predicate is true.
//!
//! Runs the predicate in the consumer's thread. An error element from the input, or an
//! error from the predicate, surfaces in place of the element (which is dropped), and the
//! next call goes on with the following element.

use std::sync::Arc;

use super::function::Closure;
use super::{
    BoxIterator, Cardinality, Context, Dataset, DatasetNode, ElementIterator, PredicateFn,
};
use crate::error::Result;
use crate::runtime::wait::ScanCheck;
use crate::value::{Element, ElementSpec};

struct FilterNode {
    input: Dataset,
    predicate: Arc<dyn PredicateFn>,
}

impl DatasetNode for FilterNode {
    fn skip_iterations(&self, count: u64) {
        self.predicate.skip_iterations(count);
    }

    fn kind(&self) -> &'static str {
        "Filter"
    }

    fn describe(&self) -> String {
        format!("predicate={}", self.predicate.describe())
    }

    fn inputs(&self) -> Vec<&Dataset> {
        vec![&self.input]
    }

    fn element_spec(&self) -> ElementSpec {
        self.input.element_spec()
    }

    /// Always unknown, as tf.data reports it: even an infinite input may have no element
    /// left that passes (`range(42).repeat().filter(f).cardinality()` is UNKNOWN in
    /// tf.data's own documentation), and an empty one is not looked at.
    fn cardinality(&self) -> Cardinality {
        Cardinality::Unknown
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        Ok(Box::new(FilterIter {
            input: self.input.make_iterator(ctx)?,
            predicate: self
                .predicate
                .instantiate(ctx)?
                .unwrap_or_else(|| self.predicate.clone()),
            position: 0,
            scan: ScanCheck::new(ctx.cancel.clone()),
        }))
    }
}

struct FilterIter {
    input: BoxIterator,
    predicate: Arc<dyn PredicateFn>,
    /// The position of the next input element.
    position: u64,
    /// A predicate that rejects everything is a long run without yielding.
    scan: ScanCheck,
}

impl ElementIterator for FilterIter {
    fn next(&mut self) -> Option<Result<Element>> {
        loop {
            let position = self.position;
            self.position += 1;
            let element = match self.input.next()? {
                Ok(e) => e,
                Err(e) => return Some(Err(e)),
            };
            match self.predicate.call_at(&element, position) {
                Ok(true) => return Some(Ok(element)),
                Ok(false) => {
                    if let Err(e) = self.scan.tick() {
                        return Some(Err(e));
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Dataset {
    /// Keeps the elements for which `f` returns true (`tf.data.Dataset.filter`), calling
    /// it in the consumer's thread. An error from `f` surfaces in place of the element.
    pub fn filter<F>(&self, f: F) -> Dataset
    where
        F: Fn(&Element) -> Result<bool> + Send + Sync + 'static,
    {
        self.filter_with(Arc::new(Closure(f)))
    }

    /// `filter` with a function object (a traced graph or a Python callable from the
    /// Python layer).
    pub fn filter_with(&self, predicate: Arc<dyn PredicateFn>) -> Dataset {
        Dataset::from_node(FilterNode {
            input: self.clone(),
            predicate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::testing::values;
    use crate::dataset::testing::{expect, outcomes, script, Item::*};
    use crate::error::Error;
    use crate::runtime::wait;
    use proptest::prelude::*;

    fn value(e: &Element) -> Result<i64> {
        e.as_tensor().unwrap().scalar_value::<i64>()
    }

    #[test]
    fn keeps_matching_elements_and_passes_errors() {
        let ds = Dataset::range(0, 10).filter(|e| {
            let v = value(e)?;
            if v == 7 {
                return Err(Error::invalid_argument("seven"));
            }
            Ok(v % 2 == 1)
        });
        assert_eq!(outcomes(&ds), expect(&[V(1), V(3), V(5), E("seven"), V(9)]));
    }

    #[test]
    fn input_errors_and_interruptions_pass_through_uncalled() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = calls.clone();
        let ds = script(&[V(1), E("bad"), Interrupt, V(2), V(3)]).filter(move |e| {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(value(e)? != 2)
        });
        assert_eq!(outcomes(&ds), expect(&[V(1), E("bad"), Interrupt, V(3)]));
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 3);
    }

    #[test]
    fn cardinality_is_unknown_as_in_tf_data() {
        let keep = |_: &Element| Ok(true);
        for input in [
            Dataset::range(0, 10),
            Dataset::range(0, 0),
            Dataset::range(0, 10).repeat(-1).unwrap(),
        ] {
            assert_eq!(input.filter(keep).cardinality(), Cardinality::Unknown);
        }
        assert_eq!(
            Dataset::range(0, 3).filter(keep).element_spec(),
            Dataset::range(0, 3).element_spec()
        );
    }

    #[test]
    fn rejecting_an_endless_input_ends_on_interrupt() {
        let ds = Dataset::range(0, 1)
            .repeat(-1)
            .unwrap()
            .filter(|_| Ok(false));
        let mut it = ds.iter().unwrap();
        let err = wait::with_interrupt_check(|| true, || it.next())
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Interrupted);
    }

    proptest! {
        #[test]
        fn filter_is_vec_retain(v in proptest::collection::vec(0i64..100, 0..50), m in 1i64..5) {
            let items: Vec<_> = v.iter().copied().map(V).collect();
            let ds = script(&items).filter(move |e| Ok(value(e)? % m == 0));
            let want: Vec<i64> = v.into_iter().filter(|x| x % m == 0).collect();
            prop_assert_eq!(values(&ds), want);
        }
    }
}
