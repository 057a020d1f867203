//! The functions that map, filter, flat_map and interleave call: Rust closures, or (from
//! the Python layer) Python callables, behind one set of traits.

use std::sync::Arc;

use super::{Context, Dataset, Options};
use crate::error::{Error, Result};
use crate::runtime::CancelToken;
use crate::value::Element;

/// A function from one element to one element.
pub trait MapFn: Send + Sync {
    fn call(&self, element: Element) -> Result<Element>;

    /// Calls the function on the element at `position` in its stage's input (0, 1, …).
    /// Functions whose random ops must not depend on which thread ran them derive their
    /// streams from the position.
    fn call_at(&self, element: Element, position: u64) -> Result<Element> {
        let _ = position;
        self.call(element)
    }

    /// The function to run under the pipeline's `options`, when they change it (a traced
    /// graph applies `approximate_image_ops`); `None` keeps this one.
    fn specialize(&self, options: &Options) -> Option<Arc<dyn MapFn>> {
        let _ = options;
        None
    }

    /// The function to run in the pipeline `ctx` belongs to, called each time an iterator
    /// builds the stage. A function that needs state per running pipeline (a pool of worker
    /// processes) keeps it in `ctx.pipeline_state`, so that the epochs of `repeat` share
    /// it and dropping the pipeline ends it. By default, [`MapFn::specialize`].
    fn instantiate(&self, ctx: &Context) -> Result<Option<Arc<dyn MapFn>>> {
        Ok(self.specialize(&ctx.options))
    }

    /// Calls the function on several elements in order. Implementations with a per-call
    /// entry cost (the GIL) override this to pay it once per chunk. Error elements pass
    /// through uncalled; once `cancel` is cancelled, no further call starts (the rest come
    /// back as cancelled errors, which nobody will read). `first_position` is the
    /// position of the first element.
    fn call_many(
        &self,
        elements: Vec<Result<Element>>,
        first_position: u64,
        cancel: &CancelToken,
    ) -> Vec<Result<Element>> {
        elements
            .into_iter()
            .zip(first_position..)
            .map(|(e, p)| call_unless_cancelled(e, cancel, |e| self.call_at(e, p)))
            .collect()
    }

    /// Moves the function's per-iteration randomness on by `count` iterations (see
    /// [`DatasetNode::skip_iterations`](super::DatasetNode::skip_iterations)).
    fn skip_iterations(&self, count: u64) {
        let _ = count;
    }

    /// What the function is, for descriptions (`"<lambda> (python, threads)"`).
    fn describe(&self) -> String;
}

/// `f(element)`, unless the element is an error or the stage is cancelled.
pub fn call_unless_cancelled(
    element: Result<Element>,
    cancel: &CancelToken,
    f: impl FnOnce(Element) -> Result<Element>,
) -> Result<Element> {
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    element.and_then(f)
}

/// A function deciding whether to keep an element.
pub trait PredicateFn: Send + Sync {
    fn call(&self, element: &Element) -> Result<bool>;

    /// Decides for the element at `position` in the stage's input (random ops derive their
    /// streams from it, as in [`MapFn::call_at`]).
    fn call_at(&self, element: &Element, position: u64) -> Result<bool> {
        let _ = position;
        self.call(element)
    }

    /// The predicate to run in the pipeline `ctx` belongs to, called each time an iterator
    /// builds the stage (as [`MapFn::instantiate`]); `None` keeps this one.
    fn instantiate(&self, ctx: &Context) -> Result<Option<Arc<dyn PredicateFn>>> {
        let _ = ctx;
        Ok(None)
    }

    /// As [`MapFn::skip_iterations`].
    fn skip_iterations(&self, count: u64) {
        let _ = count;
    }

    fn describe(&self) -> String;
}

/// A function making a dataset from an element.
pub trait DatasetFn: Send + Sync {
    fn call(&self, element: Element) -> Result<Dataset>;

    /// Makes the dataset of the element at `position` in the stage's input (a traced
    /// function's random ops derive their streams from it, as in [`MapFn::call_at`]).
    fn call_at(&self, element: Element, position: u64) -> Result<Dataset> {
        let _ = position;
        self.call(element)
    }

    /// The function to run in the pipeline `ctx` belongs to, called each time an iterator
    /// builds the stage (as [`MapFn::instantiate`]: a pool of worker processes lives in
    /// `ctx.pipeline_state`); `None` keeps this one.
    fn instantiate(&self, ctx: &Context) -> Result<Option<Arc<dyn DatasetFn>>> {
        let _ = ctx;
        Ok(None)
    }

    /// As [`MapFn::skip_iterations`].
    fn skip_iterations(&self, count: u64) {
        let _ = count;
    }

    fn describe(&self) -> String;
}

/// A Rust closure as a function of the engine.
pub(crate) struct Closure<F>(pub F);

impl<F> MapFn for Closure<F>
where
    F: Fn(Element) -> Result<Element> + Send + Sync,
{
    fn call(&self, element: Element) -> Result<Element> {
        (self.0)(element)
    }

    fn describe(&self) -> String {
        "rust closure".into()
    }
}

impl<F> PredicateFn for Closure<F>
where
    F: Fn(&Element) -> Result<bool> + Send + Sync,
{
    fn call(&self, element: &Element) -> Result<bool> {
        (self.0)(element)
    }

    fn describe(&self) -> String {
        "rust closure".into()
    }
}

/// Wraps a closure that makes datasets (kept apart from `Closure` because its signature
/// overlaps `MapFn`'s).
pub(crate) struct DatasetClosure<F>(pub F);

impl<F> DatasetFn for DatasetClosure<F>
where
    F: Fn(Element) -> Result<Dataset> + Send + Sync,
{
    fn call(&self, element: Element) -> Result<Dataset> {
        (self.0)(element)
    }

    fn describe(&self) -> String {
        "rust closure".into()
    }
}
