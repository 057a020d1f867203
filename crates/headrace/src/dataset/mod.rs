//! The logical plan: a [`Dataset`] is an immutable description, a tree of nodes. Iterating
//! it builds one iterator per node and pulls from the last.
//!
//! One file per source or transformation. Each file holds the node (the description, with
//! its cardinality and element spec), its iterator (the running state), and the `Dataset`
//! method that builds it, validating the arguments there so that mistakes raise at the call.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::runtime::stats::StageSnapshot;
use crate::runtime::{CancelToken, StageStats, StatsRegistry};
use crate::value::{Element, ElementSpec};

mod function;
mod options;

pub mod batch;
pub mod cache;
pub mod concatenate;
pub mod enumerate;
pub mod file_records;
pub mod filter;
pub mod fixed_length_record;
pub mod flat_map;
pub mod from_tensors;
pub mod generator;
pub mod ignore_errors;
pub mod interleave;
pub mod list_files;
pub mod map;
pub mod padded_batch;
pub mod prefetch;
pub mod range;
pub mod repeat;
pub mod shard;
pub mod shuffle;
pub mod skip;
pub mod take;
pub mod template;
pub mod tensor_slices;
pub mod text_line;
pub mod tfrecord;
pub mod unbatch;
pub mod zip;

#[cfg(test)]
pub(crate) mod testing;

pub use function::{call_unless_cancelled, DatasetFn, MapFn, PredicateFn};
pub use options::Options;
pub use zip::DatasetStructure;

/// How many elements a dataset has, as `tf.data.Dataset.cardinality()` reports it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cardinality {
    Finite(u64),
    Infinite,
    Unknown,
}

impl Cardinality {
    /// `tf.data.INFINITE_CARDINALITY`.
    pub const INFINITE: i64 = -1;
    /// `tf.data.UNKNOWN_CARDINALITY`.
    pub const UNKNOWN: i64 = -2;

    /// The number tf.data reports: the count, `-1` for infinite, `-2` for unknown.
    pub fn as_i64(self) -> i64 {
        match self {
            Cardinality::Finite(n) => n as i64,
            Cardinality::Infinite => Self::INFINITE,
            Cardinality::Unknown => Self::UNKNOWN,
        }
    }
}

/// How many calls of a function may run at once (`num_parallel_calls`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Parallelism {
    /// Exactly this many (at least 1).
    Fixed(usize),
    /// `AUTOTUNE`: the engine chooses.
    Autotune,
}

impl Parallelism {
    /// The number of calls to run at once.
    pub fn resolve(self) -> usize {
        match self {
            Parallelism::Fixed(n) => n.max(1),
            Parallelism::Autotune => crate::runtime::autotune::parallelism(),
        }
    }

    /// Validates a user-given count for the argument `name`.
    pub fn fixed(name: &str, n: i64) -> Result<Parallelism> {
        if n < 1 {
            return Err(Error::argument(
                name,
                format!("must be a positive integer or AUTOTUNE, got {n}"),
            ));
        }
        Ok(Parallelism::Fixed(n as usize))
    }
}

/// Pulls elements one at a time. `None` is the end; `Some(Err(_))` is an error element,
/// after which the iterator may be asked for more.
pub trait ElementIterator: Send {
    fn next(&mut self) -> Option<Result<Element>>;
}

pub type BoxIterator = Box<dyn ElementIterator>;

/// One node of the plan.
pub trait DatasetNode: Send + Sync + 'static {
    /// The transformation's name, as tf.data names the op (`"Map"`, `"Batch"` …).
    fn kind(&self) -> &'static str;

    /// The arguments worth showing in a description (`"batch_size=32"`).
    fn describe(&self) -> String {
        String::new()
    }

    /// The datasets this node reads.
    fn inputs(&self) -> Vec<&Dataset> {
        Vec::new()
    }

    fn element_spec(&self) -> ElementSpec;

    fn cardinality(&self) -> Cardinality;

    /// Builds this node's iterator (and through `Dataset::make_iterator`, its inputs').
    fn iterate(&self, ctx: &Context) -> Result<BoxIterator>;

    /// Moves this node's per-iteration randomness (a reshuffling shuffle's order, a map's
    /// random ops) on by `count` iterations, as if it had been iterated that many more
    /// times: a copy of the pipeline rebuilt elsewhere (`Options(pipeline_process=True)`)
    /// catches up with the original's iterations.
    fn skip_iterations(&self, count: u64) {
        let _ = count;
    }
}

static NEXT_NODE_ID: AtomicU64 = AtomicU64::new(1);

/// An immutable description of a pipeline. Cloning is cheap (the nodes are shared).
#[derive(Clone)]
pub struct Dataset {
    node: Arc<dyn DatasetNode>,
    id: u64,
    options: Arc<Options>,
}

/// What a node's iterator is built with.
#[derive(Clone)]
pub struct Context {
    /// Cancelled when the iterator that owns this stage is dropped.
    pub cancel: CancelToken,
    pub options: Arc<Options>,
    registry: Arc<StatsRegistry>,
    /// Set for the inner datasets of flat_map/interleave: their stages share counters.
    inner_of: Option<Arc<str>>,
    /// The counters of the stage being built.
    stats: Option<Arc<StageStats>>,
    /// The parameters bound to a template (see `template.rs`): set while building the
    /// dataset a traced flat_map/interleave function made from one element.
    pub(crate) params: Option<Arc<[Element]>>,
    /// The dataset instance a template's binding makes (see [`InstanceState`]).
    instance: Option<Arc<InstanceState>>,
    /// State that lives as long as the running pipeline (see [`Context::pipeline_state`]).
    pipeline: Arc<InstanceState>,
}

/// The state that nodes keep across their iterators (shuffle's epoch count, cache's
/// elements) belongs to one dataset. A template (`template.rs`) is one node tree that
/// stands for a new dataset per element, so inside a binding that state lives here, one
/// per binding, rather than in the node.
#[derive(Default)]
pub(crate) struct InstanceState {
    states:
        std::sync::Mutex<std::collections::HashMap<usize, Arc<dyn std::any::Any + Send + Sync>>>,
    /// Which binding this is, for the random streams of the stages it builds: derived from
    /// the template stage's epoch and the element's position (0: not said).
    pub(crate) id: u64,
}

impl InstanceState {
    pub(crate) fn with_id(id: u64) -> InstanceState {
        InstanceState {
            id,
            ..InstanceState::default()
        }
    }
}

impl Context {
    pub(crate) fn root(options: Arc<Options>) -> Context {
        Context {
            cancel: CancelToken::new(),
            options,
            registry: Arc::new(StatsRegistry::default()),
            inner_of: None,
            stats: None,
            params: None,
            instance: None,
            pipeline: Arc::default(),
        }
    }

    /// The same context with a child cancellation token, for a stage that runs its input
    /// on threads and must be able to stop it.
    pub fn child(&self) -> Context {
        Context {
            cancel: self.cancel.child(),
            ..self.clone()
        }
    }

    /// The context for datasets that a function made from one element (flat_map,
    /// interleave): their stages are counted under the stage that made them.
    pub fn inner(&self) -> Context {
        let owner = self
            .stats
            .as_ref()
            .map(|s| s.stage.clone())
            .unwrap_or_default();
        Context {
            inner_of: Some(owner.into()),
            ..self.clone()
        }
    }

    /// The same context with a template's parameters bound, for the dataset instance
    /// `instance`.
    pub(crate) fn bind(&self, params: Arc<[Element]>, instance: Arc<InstanceState>) -> Context {
        Context {
            params: Some(params),
            instance: Some(instance),
            ..self.clone()
        }
    }

    /// `node`'s state in the template binding being iterated, made by `init` on first use;
    /// `None` outside a binding, where the node keeps its own.
    pub(crate) fn instance_state<S: Send + Sync + 'static>(
        &self,
        node: &impl DatasetNode,
        init: impl FnOnce() -> S,
    ) -> Option<Arc<S>> {
        self.binding_state(node as *const _ as *const () as usize, init)
    }

    /// The id of the template binding being iterated (see [`InstanceState`]); `None` outside
    /// a binding.
    pub(crate) fn binding_id(&self) -> Option<u64> {
        self.instance.as_ref().map(|i| i.id)
    }

    /// The state under `key` (an address) in the template binding being iterated, made by
    /// `init` on first use; `None` outside a binding.
    pub(crate) fn binding_state<S: Send + Sync + 'static>(
        &self,
        key: usize,
        init: impl FnOnce() -> S,
    ) -> Option<Arc<S>> {
        let instance = self.instance.as_ref()?;
        let mut states = instance.states.lock().unwrap_or_else(|e| e.into_inner());
        let state = states.entry(key).or_insert_with(|| Arc::new(init()));
        Some(
            state
                .clone()
                .downcast::<S>()
                .expect("one node keeps one type of state"),
        )
    }

    /// The state under `key` that lives as long as the running pipeline (the root
    /// iterator and all its stages, across the epochs of `repeat`), made by `init` on first
    /// use: a Python map's pool of worker processes. Dropped with the last stage iterator.
    pub fn pipeline_state<S: Send + Sync + 'static>(
        &self,
        key: usize,
        init: impl FnOnce() -> Result<S>,
    ) -> Result<Arc<S>> {
        let mut states = self
            .pipeline
            .states
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let state = match states.get(&key) {
            Some(state) => state.clone(),
            None => {
                let state: Arc<dyn std::any::Any + Send + Sync> = Arc::new(init()?);
                states.insert(key, state.clone());
                state
            }
        };
        Ok(state
            .downcast::<S>()
            .expect("one key holds one type of state"))
    }

    /// The counters of the stage being built.
    pub fn stats(&self) -> Arc<StageStats> {
        self.stats
            .clone()
            .expect("Dataset::make_iterator sets the stage's counters")
    }

    /// Whether a stage given `deterministic` keeps order (the Options decide when `None`).
    pub fn deterministic(&self, deterministic: Option<bool>) -> bool {
        deterministic.or(self.options.deterministic).unwrap_or(true)
    }
}

/// Counts what a stage yields. Elements are counted locally and added to the shared
/// counters every [`FLUSH_EVERY`] elements, at the end and on drop: an atomic add per
/// element per stage was a measurable part of a cheap pipeline's cost.
struct Counted {
    inner: BoxIterator,
    stats: Arc<StageStats>,
    pending: u64,
}

const FLUSH_EVERY: u64 = 64;

impl Counted {
    fn flush(&mut self) {
        if self.pending > 0 {
            self.stats.add_elements(self.pending);
            self.pending = 0;
        }
    }
}

impl ElementIterator for Counted {
    fn next(&mut self) -> Option<Result<Element>> {
        let item = self.inner.next();
        match &item {
            Some(Ok(_)) => {
                self.pending += 1;
                if self.pending == FLUSH_EVERY {
                    self.flush();
                }
            }
            Some(Err(e)) if !e.is_interruption() => {
                self.flush();
                self.stats.record_error();
            }
            Some(Err(_)) => {}
            None => self.flush(),
        }
        item
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Dataset {
    /// Wraps a node; its options are those of its inputs, merged.
    pub fn from_node(node: impl DatasetNode) -> Dataset {
        let options = node
            .inputs()
            .iter()
            .fold(Options::default(), |acc, d| acc.merge(&d.options));
        Dataset {
            node: Arc::new(node),
            id: NEXT_NODE_ID.fetch_add(1, Ordering::Relaxed),
            options: Arc::new(options),
        }
    }

    pub fn node(&self) -> &dyn DatasetNode {
        &*self.node
    }

    pub fn element_spec(&self) -> ElementSpec {
        self.node.element_spec()
    }

    pub fn cardinality(&self) -> Cardinality {
        self.node.cardinality()
    }

    /// [`DatasetNode::skip_iterations`] on every node of the pipeline (a node read twice,
    /// as by `zip(a, a)`, is built twice per iteration, and skipped twice).
    pub fn skip_iterations(&self, count: u64) {
        self.node.skip_iterations(count);
        for input in self.node.inputs() {
            input.skip_iterations(count);
        }
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The dataset with `options` merged into its own (`tf.data.Dataset.with_options`).
    pub fn with_options(&self, options: &Options) -> Dataset {
        Dataset {
            node: self.node.clone(),
            id: self.id,
            options: Arc::new(self.options.merge(options)),
        }
    }

    /// Builds this node's iterator within a running pipeline (used by nodes for their
    /// inputs). The stage gets its counters here.
    pub fn make_iterator(&self, ctx: &Context) -> Result<BoxIterator> {
        let kind = self.node.kind();
        let stats = match &ctx.inner_of {
            Some(owner) => {
                let key = format!("{owner}/{kind}");
                ctx.registry.register(&key, &key)
            }
            None => ctx.registry.register(&self.id.to_string(), kind),
        };
        let ctx = Context {
            stats: Some(stats.clone()),
            ..ctx.clone()
        };
        let inner = self.node.iterate(&ctx)?;
        Ok(Box::new(Counted {
            inner,
            stats,
            pending: 0,
        }))
    }

    /// Starts iterating: the root of a running pipeline.
    pub fn iter(&self) -> Result<Iter> {
        let ctx = Context::root(self.options.clone());
        let cancel = ctx.cancel.clone();
        let registry = ctx.registry.clone();
        let root = self.make_iterator(&ctx)?;
        Ok(Iter {
            root: Some(root),
            cancel,
            registry,
        })
    }

    /// Every element, or the first error.
    pub fn collect(&self) -> Result<Vec<Element>> {
        self.iter()?.collect()
    }
}

impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Dataset {
    /// The plan, sources first: `Range(stop=10) -> Map(fn=…) -> Batch(batch_size=4)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inputs = self.node.inputs();
        match inputs.len() {
            0 => {}
            1 => write!(f, "{} -> ", inputs[0])?,
            _ => {
                f.write_str("[")?;
                for (i, d) in inputs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                }
                f.write_str("] -> ")?;
            }
        }
        write!(f, "{}({})", self.node.kind(), self.node.describe())
    }
}

/// A running pipeline. Dropping it cancels and joins every thread it started.
pub struct Iter {
    root: Option<BoxIterator>,
    cancel: CancelToken,
    registry: Arc<StatsRegistry>,
}

impl Iter {
    /// Each stage's counters so far.
    pub fn stats(&self) -> Vec<StageSnapshot> {
        self.registry.snapshot()
    }

    /// Stops the pipeline now: cancels and joins its threads. Later calls yield nothing.
    pub fn close(&mut self) {
        self.cancel.cancel();
        self.root = None;
    }
}

impl Iterator for Iter {
    type Item = Result<Element>;

    fn next(&mut self) -> Option<Result<Element>> {
        self.root.as_mut()?.next()
    }
}

impl Drop for Iter {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_counters_are_exact_at_the_end_and_after_a_drop() {
        let ds = Dataset::range(0, 1000).batch(7, false).unwrap();
        let mut it = ds.iter().unwrap();
        assert_eq!(it.by_ref().count(), 143);
        let stats = it.stats();
        assert_eq!(
            stats
                .iter()
                .map(|s| (s.stage.as_str(), s.elements))
                .collect::<Vec<_>>(),
            [("Batch", 143), ("Range", 1000)]
        );

        let registry = {
            let mut it = Dataset::range(0, 1000).iter().unwrap();
            for _ in 0..10 {
                it.next();
            }
            it.registry.clone()
        };
        assert_eq!(
            registry.snapshot()[0].elements,
            10,
            "dropping flushes the local count"
        );
    }

    #[test]
    fn display_shows_the_plan() {
        let ds = Dataset::range(0, 3).batch(2, true).unwrap();
        assert_eq!(
            ds.to_string(),
            "Range(start=0, stop=3, step=1) -> Batch(batch_size=2, drop_remainder=true)"
        );
    }
}
