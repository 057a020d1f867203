//! `interleave(fn, cycle_length, block_length, num_parallel_calls, deterministic)`.
//!
//! tf.data's order: up to `cycle_length` datasets made by `fn` are open at once, in slots;
//! the stage takes `block_length` consecutive elements from one slot, then moves to the
//! next; a slot whose dataset is exhausted is refilled from the next input element when
//! its turn comes; the stage ends when the input and every slot are exhausted.
//!
//! Errors follow tf.data's sequential interleave: an error from the input or from `fn`
//! surfaces at that point and leaves the slot empty for the next input element, and an
//! error element of an inner dataset surfaces at its position without counting towards
//! the block. So the elements that do not fail come in the same order whatever fails.
//!
//! With `num_parallel_calls`, every open dataset is read ahead on a thread of its own into
//! a bounded buffer, and so are the datasets of the next `cycle_length` input elements,
//! which take the slots that come free (tf.data's "future elements"): a refilled slot then
//! has elements ready instead of stalling the consumer. At most `num_parallel_calls`
//! readers call `fn` or an inner iterator at any moment. The readers only run ahead: the
//! consumer still takes elements in the sequential order, so the output is the same. With
//! `deterministic=False` it may instead take an element from any slot that has one ready,
//! so one slow file does not stall the rest.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use super::flat_map::open_inner;
use super::function::DatasetClosure;
use super::prefetch::PrefetchIter;
use super::{
    BoxIterator, Cardinality, Context, Dataset, DatasetFn, DatasetNode, ElementIterator,
    Parallelism,
};
use crate::error::{Error, Result};
use crate::runtime::wait::ScanCheck;
use crate::runtime::{wait, CancelToken};
use crate::value::{Element, ElementSpec};

/// The read-ahead buffer of one open dataset, in elements: enough for a whole block when
/// blocks are small, and a bound on memory when they are not. Elements travel in chunks
/// (see `prefetch.rs`), so the buffer is large enough for chunks to form: handing small
/// elements (records) over one by one cost more than reading them.
const MIN_BUFFER: usize = 128;
const MAX_BUFFER: usize = 256;

struct InterleaveNode {
    input: Dataset,
    f: Arc<dyn DatasetFn>,
    cycle_length: Parallelism,
    block_length: usize,
    num_parallel_calls: Option<Parallelism>,
    deterministic: Option<bool>,
    output_spec: ElementSpec,
}

fn describe_parallelism(p: Parallelism) -> String {
    match p {
        Parallelism::Fixed(n) => n.to_string(),
        Parallelism::Autotune => "AUTOTUNE".into(),
    }
}

impl DatasetNode for InterleaveNode {
    fn skip_iterations(&self, count: u64) {
        self.f.skip_iterations(count);
    }

    fn kind(&self) -> &'static str {
        match self.num_parallel_calls {
            None => "Interleave",
            Some(_) => "ParallelInterleave",
        }
    }

    fn describe(&self) -> String {
        let mut s = format!(
            "fn={}, cycle_length={}, block_length={}",
            self.f.describe(),
            describe_parallelism(self.cycle_length),
            self.block_length
        );
        if let Some(p) = self.num_parallel_calls {
            s.push_str(&format!(", num_parallel_calls={}", describe_parallelism(p)));
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

    /// Always unknown, as tf.data reports it: the inner datasets are only known once made.
    fn cardinality(&self) -> Cardinality {
        Cardinality::Unknown
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        let cycle_length = self.cycle_length.resolve();
        // A token of its own, cancelled when this stage is dropped: it stops the readers,
        // and whatever async stages the input and the inner datasets run.
        let ctx = ctx.child();
        let ahead = self.num_parallel_calls.map(|p| Ahead {
            permits: Arc::new(Permits::new(p.resolve().min(cycle_length))),
            buffer: self.block_length.clamp(MIN_BUFFER, MAX_BUFFER),
            lookahead: cycle_length,
        });
        Ok(Box::new(InterleaveIter {
            input: Some(self.input.make_iterator(&ctx)?),
            f: self.f.instantiate(&ctx)?.unwrap_or_else(|| self.f.clone()),
            inner_ctx: ctx.inner(),
            slots: (0..cycle_length).map(|_| None).collect(),
            open: 0,
            current: 0,
            block_index: 0,
            block_length: self.block_length,
            ordered: ctx.deterministic(self.deterministic),
            ahead,
            future: VecDeque::new(),
            scan: ScanCheck::new(ctx.cancel.clone()),
            cancel: ctx.cancel,
            next_position: 0,
        }))
    }
}

/// A counting semaphore whose waits are cancellable: at most `n` readers produce at once.
struct Permits {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Permits {
    fn new(n: usize) -> Permits {
        Permits {
            free: Mutex::new(n.max(1)),
            cv: Condvar::new(),
        }
    }

    fn acquire(&self, cancel: &CancelToken) -> Result<()> {
        let guard = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let (mut guard, ()) =
            wait::wait_until(guard, &self.cv, cancel, |free| (*free > 0).then_some(()))?;
        *guard -= 1;
        Ok(())
    }

    fn release(&self) {
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cv.notify_one();
    }
}

/// The settings of a stage with `num_parallel_calls`.
struct Ahead {
    permits: Arc<Permits>,
    /// Elements each reader may hold ready.
    buffer: usize,
    /// Input elements opened ahead of the slots.
    lookahead: usize,
}

/// What a reader thread runs: it makes the dataset from its input element with `fn`, then
/// reads it, calling `fn` or the inner iterator only while it holds a permit.
struct Reader {
    state: ReaderState,
    f: Arc<dyn DatasetFn>,
    ctx: Context,
    permits: Arc<Permits>,
    /// Set when `fn` (or building the iterator) failed: the one error this reader yields
    /// is then `fn`'s, which leaves the slot empty rather than counting as an element.
    open_failed: Arc<AtomicBool>,
}

enum ReaderState {
    /// The input element and its position.
    Unopened(Element, u64),
    Open(BoxIterator),
    Done,
}

impl Reader {
    fn step(&mut self) -> Option<Result<Element>> {
        let mut it = match std::mem::replace(&mut self.state, ReaderState::Done) {
            ReaderState::Unopened(element, position) => {
                match open_inner(&*self.f, element, position, &self.ctx) {
                    Ok(it) => it,
                    Err(e) => {
                        self.open_failed.store(true, Ordering::Release);
                        return Some(Err(e));
                    }
                }
            }
            ReaderState::Open(it) => it,
            ReaderState::Done => return None,
        };
        let item = it.next();
        if item.is_some() {
            self.state = ReaderState::Open(it);
        }
        item
    }
}

impl ElementIterator for Reader {
    fn next(&mut self) -> Option<Result<Element>> {
        if matches!(self.state, ReaderState::Done) {
            return None;
        }
        if let Err(e) = self.permits.acquire(&self.ctx.cancel) {
            return Some(Err(e));
        }
        let opening = matches!(self.state, ReaderState::Unopened(..));
        // A panic in `fn` or an inner iterator would end this thread and make the dataset
        // look exhausted, losing its elements silently: it becomes an error element.
        let item = match catch_unwind(AssertUnwindSafe(|| self.step())) {
            Ok(item) => item,
            Err(panic) => {
                self.state = ReaderState::Done;
                if opening {
                    self.open_failed.store(true, Ordering::Release);
                }
                Some(Err(panic_error(panic)))
            }
        };
        self.permits.release();
        item
    }
}

fn panic_error(panic: Box<dyn std::any::Any + Send>) -> Error {
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    Error::internal(format!("the interleave function panicked: {msg}"))
}

/// One open dataset.
enum Slot {
    /// Read in the consumer's thread (no `num_parallel_calls`).
    Direct(BoxIterator),
    /// Read ahead by a thread of its own.
    Ahead {
        reader: PrefetchIter,
        open_failed: Arc<AtomicBool>,
    },
}

/// An input element taken ahead of the slots: its reader, or the input's error, which
/// surfaces when its turn comes.
enum Future {
    Slot(Slot),
    Error(Error),
}

/// What reading a slot gave.
enum Read {
    Item(Result<Element>),
    /// `fn` failed for this slot's element.
    OpenFailed(Error),
    End,
    /// The wait for the slot was interrupted or cancelled: nothing was taken.
    Interrupted(Error),
}

struct InterleaveIter {
    /// `None` once the input has ended.
    input: Option<BoxIterator>,
    f: Arc<dyn DatasetFn>,
    inner_ctx: Context,
    slots: Vec<Option<Slot>>,
    /// How many slots are `Some`.
    open: usize,
    current: usize,
    /// Elements taken from the current slot in its block.
    block_index: usize,
    block_length: usize,
    ordered: bool,
    ahead: Option<Ahead>,
    /// Input elements opened ahead, in input order (only with `num_parallel_calls`).
    future: VecDeque<Future>,
    /// Many empty inner datasets in a row are a long run without yielding.
    scan: ScanCheck,
    cancel: CancelToken,
    /// The position of the next input element.
    next_position: u64,
}

impl InterleaveIter {
    /// The position of the input element just read.
    fn take_position(&mut self) -> u64 {
        self.next_position += 1;
        self.next_position - 1
    }

    fn advance(&mut self) {
        self.block_index = 0;
        self.current = (self.current + 1) % self.slots.len();
    }

    /// Counts an element taken from the current slot; the block may be complete.
    fn count_in_block(&mut self) {
        self.block_index += 1;
        if self.block_index >= self.block_length {
            self.advance();
        }
    }

    fn close(&mut self, i: usize) {
        // Dropping a reader cancels and joins its thread.
        self.slots[i] = None;
        self.open -= 1;
        if i == self.current {
            self.block_index = 0;
        }
    }

    /// Opens the dataset `fn` makes from `element`: at once in this thread, or on a reader
    /// thread that starts reading it ahead.
    fn open_slot(&self, element: Element, position: u64) -> Result<Slot> {
        let Some(ahead) = &self.ahead else {
            return Ok(Slot::Direct(open_inner(
                &*self.f,
                element,
                position,
                &self.inner_ctx,
            )?));
        };
        // Each reader gets a token of its own, so dropping it stops what it runs.
        let cancel = self.cancel.child();
        let mut ctx = self.inner_ctx.clone();
        ctx.cancel = cancel.clone();
        let open_failed = Arc::new(AtomicBool::new(false));
        let reader = Reader {
            state: ReaderState::Unopened(element, position),
            f: self.f.clone(),
            ctx,
            permits: ahead.permits.clone(),
            open_failed: open_failed.clone(),
        };
        Ok(Slot::Ahead {
            reader: PrefetchIter::start("interleave", Box::new(reader), ahead.buffer, cancel),
            open_failed,
        })
    }

    /// Opens input elements ahead until `lookahead` are waiting (with `num_parallel_calls`).
    /// An input error waits in line too, so it surfaces where the sequential stage would
    /// meet it; an interrupted wait on the input is returned at once.
    fn top_up(&mut self) -> Result<()> {
        let lookahead = self.ahead.as_ref().map_or(0, |a| a.lookahead);
        while self.future.len() < lookahead {
            let Some(input) = self.input.as_mut() else {
                break;
            };
            match input.next() {
                Some(Ok(element)) => {
                    let position = self.take_position();
                    let slot = self.open_slot(element, position)?;
                    self.future.push_back(Future::Slot(slot));
                }
                Some(Err(e)) if e.is_interruption() => return Err(e),
                Some(Err(e)) => {
                    self.take_position();
                    self.future.push_back(Future::Error(e));
                }
                None => self.input = None,
            }
        }
        Ok(())
    }

    /// The next input element's dataset, for an empty slot: `Ok(None)` when the input has
    /// ended, `Err` for an error from the input or from `fn` (surfacing here).
    fn next_dataset(&mut self) -> Result<Option<Slot>> {
        if self.ahead.is_none() {
            return match self.input.as_mut().and_then(|it| it.next()) {
                Some(Err(e)) if e.is_interruption() => Err(e),
                Some(element) => {
                    let position = self.take_position();
                    Ok(Some(self.open_slot(element?, position)?))
                }
                None => {
                    self.input = None;
                    Ok(None)
                }
            };
        }
        if self.future.is_empty() {
            self.top_up()?;
        }
        let Some(next) = self.future.pop_front() else {
            return Ok(None);
        };
        // Keep the line full, so that the slot that frees up next finds its dataset already
        // read. An interruption there puts `next` back: the next call takes it again.
        if let Err(e) = self.top_up() {
            self.future.push_front(next);
            return Err(e);
        }
        match next {
            Future::Slot(slot) => Ok(Some(slot)),
            Future::Error(e) => Err(e),
        }
    }

    fn read(&mut self, i: usize) -> Read {
        match self.slots[i].as_mut() {
            None => Read::End,
            Some(Slot::Direct(it)) => match it.next() {
                Some(Err(e)) if e.is_interruption() => Read::Interrupted(e),
                Some(item) => Read::Item(item),
                None => Read::End,
            },
            Some(Slot::Ahead {
                reader,
                open_failed,
            }) => match reader.recv() {
                Ok(Some(Err(e))) if open_failed.load(Ordering::Acquire) => Read::OpenFailed(e),
                Ok(Some(item)) => Read::Item(item),
                Ok(None) => Read::End,
                Err(e) => Read::Interrupted(e),
            },
        }
    }

    /// tf.data's sequential order (with or without readers running ahead).
    fn next_in_order(&mut self) -> Option<Result<Element>> {
        loop {
            if self.input.is_none() && self.future.is_empty() && self.open == 0 {
                return None;
            }
            let i = self.current;
            if self.slots[i].is_none() {
                match self.next_dataset() {
                    Ok(Some(slot)) => {
                        self.slots[i] = Some(slot);
                        self.open += 1;
                    }
                    // The input has ended: skip the empty slot.
                    Ok(None) => self.advance(),
                    // The slot stays empty for the next input element.
                    Err(e) => return Some(Err(e)),
                }
                continue;
            }
            match self.read(i) {
                Read::Item(Ok(element)) => {
                    self.count_in_block();
                    return Some(Ok(element));
                }
                Read::Item(Err(e)) | Read::Interrupted(e) => return Some(Err(e)),
                Read::OpenFailed(e) => {
                    self.close(i);
                    return Some(Err(e));
                }
                Read::End => {
                    self.close(i);
                    self.advance();
                    if let Err(e) = self.scan.tick() {
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    /// `deterministic=False` with readers: every slot stays open, and the consumer takes
    /// an element from whichever slot has one ready, preferring the current block.
    fn next_unordered(&mut self) -> Option<Result<Element>> {
        loop {
            for i in 0..self.slots.len() {
                if self.slots[i].is_some() {
                    continue;
                }
                match self.next_dataset() {
                    Ok(Some(slot)) => {
                        self.slots[i] = Some(slot);
                        self.open += 1;
                    }
                    Ok(None) => break,
                    Err(e) => return Some(Err(e)),
                }
            }
            if let Some(item) = self.take_ready() {
                return Some(item);
            }
            if self.input.is_none() && self.future.is_empty() && self.open == 0 {
                return None;
            }
            // Sleep until a reader has an element or has finished; only a wait that times
            // out looks at cancellation and Ctrl-C (the check may take the GIL).
            let mut select = crossbeam_channel::Select::new();
            for slot in self.slots.iter().flatten() {
                if let Slot::Ahead { reader, .. } = slot {
                    if let Some(rx) = reader.receiver() {
                        select.recv(rx);
                    }
                }
            }
            if select.ready_timeout(wait::POLL).is_err() {
                if let Err(e) = wait::check(&self.cancel) {
                    return Some(Err(e));
                }
            }
        }
    }

    /// Unordered mode: an element some open slot has ready now, looking at the current
    /// slot first so that a block stays together when it can.
    fn take_ready(&mut self) -> Option<Result<Element>> {
        let n = self.slots.len();
        for k in 0..n {
            let i = (self.current + k) % n;
            let Some(Slot::Ahead { reader, .. }) = self.slots[i].as_mut() else {
                continue;
            };
            match reader.try_next() {
                None => {}
                Some(None) => self.close(i),
                Some(Some(item)) => {
                    if i != self.current {
                        self.current = i;
                        self.block_index = 0;
                    }
                    if item.is_ok() {
                        self.count_in_block();
                    }
                    return Some(item);
                }
            }
        }
        None
    }
}

impl ElementIterator for InterleaveIter {
    fn next(&mut self) -> Option<Result<Element>> {
        if !self.ordered && self.ahead.is_some() {
            return self.next_unordered();
        }
        self.next_in_order()
    }
}

impl Drop for InterleaveIter {
    fn drop(&mut self) {
        // Stop every reader and nested stage first, so that dropping the slots (which
        // joins the readers' threads) is prompt.
        self.cancel.cancel();
    }
}

impl Dataset {
    /// Interleaves the datasets `f` makes from the elements (`tf.data.Dataset.interleave`):
    /// see the module documentation for the order.
    ///
    /// `cycle_length` datasets are open at once (`AUTOTUNE`: one per core), and
    /// `block_length` consecutive elements are taken from each in turn. Without
    /// `num_parallel_calls` everything runs in the consumer's thread; with it, the open
    /// datasets are read ahead by threads, at most `num_parallel_calls` (capped at
    /// `cycle_length`) at once, in the same order unless `deterministic` (or, when `None`,
    /// the options) is false. `output_spec` is the inner datasets' element spec when the
    /// caller knows it.
    ///
    /// Fails with an argument error naming `cycle_length`, `block_length` or
    /// `num_parallel_calls` when one is below 1.
    pub fn interleave_with(
        &self,
        f: Arc<dyn DatasetFn>,
        cycle_length: Parallelism,
        block_length: i64,
        num_parallel_calls: Option<Parallelism>,
        deterministic: Option<bool>,
        output_spec: ElementSpec,
    ) -> Result<Dataset> {
        if cycle_length == Parallelism::Fixed(0) {
            return Err(Error::argument(
                "cycle_length",
                "must be a positive integer or AUTOTUNE, got 0",
            ));
        }
        if block_length < 1 {
            return Err(Error::argument(
                "block_length",
                format!("must be a positive integer, got {block_length}"),
            ));
        }
        if num_parallel_calls == Some(Parallelism::Fixed(0)) {
            return Err(Error::argument(
                "num_parallel_calls",
                "must be a positive integer or AUTOTUNE, got 0",
            ));
        }
        Ok(Dataset::from_node(InterleaveNode {
            input: self.clone(),
            f,
            cycle_length,
            block_length: block_length as usize,
            num_parallel_calls,
            deterministic,
            output_spec,
        }))
    }

    /// Interleaves the datasets the closure `f` makes, sequentially in the consumer's
    /// thread: `cycle_length` open at once, `block_length` elements from each in turn.
    /// Fails with an argument error naming `cycle_length` or `block_length` when it is 0.
    pub fn interleave<F>(&self, f: F, cycle_length: usize, block_length: usize) -> Result<Dataset>
    where
        F: Fn(Element) -> Result<Dataset> + Send + Sync + 'static,
    {
        self.interleave_with(
            Arc::new(DatasetClosure(f)),
            Parallelism::Fixed(cycle_length),
            i64::try_from(block_length).unwrap_or(i64::MAX),
            None,
            None,
            ElementSpec::Unknown,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::Options;
    use super::*;
    use crate::dataset::testing::values;
    use crate::dataset::testing::{expect, outcomes, script, Item, Item::*, Outcome};
    use crate::value::Tensor;
    use proptest::prelude::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

    fn scalar(e: &Element) -> Result<i64> {
        e.as_tensor().unwrap().scalar_value::<i64>()
    }

    fn repeat_six(e: Element) -> Result<Dataset> {
        Dataset::from_tensors(e).repeat(6)
    }

    const TF_DOC_EXAMPLE: [i64; 30] = [
        1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 4, 4, 5, 5, 5, 5, 5, 5,
    ];

    fn parallel(
        ds: &Dataset,
        f: impl Fn(Element) -> Result<Dataset> + Send + Sync + 'static,
        cycle: usize,
        block: i64,
        npc: usize,
        deterministic: Option<bool>,
    ) -> Dataset {
        ds.interleave_with(
            Arc::new(DatasetClosure(f)),
            Parallelism::Fixed(cycle),
            block,
            Some(Parallelism::Fixed(npc)),
            deterministic,
            ElementSpec::Unknown,
        )
        .unwrap()
    }

    /// tf.data's sequential interleave over datasets given as lists (the reference).
    fn reference(datasets: &[Vec<Item>], cycle: usize, block: usize) -> Vec<Outcome> {
        let mut input = datasets.iter();
        let mut slots: Vec<Option<std::vec::IntoIter<Item>>> = vec![None; cycle];
        let (mut current, mut in_block, mut input_done) = (0, 0, false);
        let mut out = Vec::new();
        loop {
            if input_done && slots.iter().all(Option::is_none) {
                return expect(&out);
            }
            match slots[current].as_mut() {
                None if input_done => {
                    current = (current + 1) % cycle;
                    in_block = 0;
                }
                None => match input.next() {
                    Some(items) => slots[current] = Some(items.clone().into_iter()),
                    None => input_done = true,
                },
                Some(it) => match it.next() {
                    Some(item) => {
                        out.push(item);
                        if matches!(item, V(_)) {
                            in_block += 1;
                            if in_block == block {
                                current = (current + 1) % cycle;
                                in_block = 0;
                            }
                        }
                    }
                    None => {
                        slots[current] = None;
                        current = (current + 1) % cycle;
                        in_block = 0;
                    }
                },
            }
        }
    }

    /// Datasets by index: element `i` of the input makes `script(&datasets[i])`.
    fn by_index(datasets: Vec<Vec<Item>>) -> impl Fn(Element) -> Result<Dataset> + Send + Sync {
        move |e| Ok(script(&datasets[scalar(&e)? as usize]))
    }

    #[test]
    fn matches_tf_documentation_example() {
        let ds = Dataset::range(1, 6).interleave(repeat_six, 2, 4).unwrap();
        assert_eq!(values(&ds), TF_DOC_EXAMPLE);
        assert_eq!(ds.cardinality(), Cardinality::Unknown);
    }

    #[test]
    fn parallel_deterministic_has_the_same_order() {
        for npc in [1, 2, 4] {
            let ds = parallel(&Dataset::range(1, 6), repeat_six, 2, 4, npc, None);
            assert_eq!(values(&ds), TF_DOC_EXAMPLE, "num_parallel_calls={npc}");
            let ds = parallel(&Dataset::range(1, 6), repeat_six, 2, 4, npc, Some(true));
            let ds = ds.with_options(&Options {
                deterministic: Some(false),
                ..Options::default()
            });
            assert_eq!(values(&ds), TF_DOC_EXAMPLE, "the argument wins");
        }
    }

    #[test]
    fn autotune_cycle_length_is_one_per_core() {
        let cores = crate::runtime::autotune::parallelism() as i64;
        let ds = Dataset::range(0, 2 * cores)
            .interleave_with(
                Arc::new(DatasetClosure(|e| Dataset::from_tensors(e).repeat(2))),
                Parallelism::Autotune,
                1,
                None,
                None,
                ElementSpec::Unknown,
            )
            .unwrap();
        let got = values(&ds);
        // The first `cores` elements open one slot each, and each yields twice in turn.
        let first: Vec<i64> = (0..cores).chain(0..cores).collect();
        assert_eq!(got[..2 * cores as usize], first);
        assert!(ds.to_string().contains("cycle_length=AUTOTUNE"));
    }

    #[test]
    fn unordered_yields_everything() {
        let make = |e: Element| {
            let v = scalar(&e)?;
            Ok(Dataset::range(v * 100, v * 100 + 50))
        };
        let mut expected: Vec<i64> = (0..8).flat_map(|v| v * 100..v * 100 + 50).collect();
        expected.sort();
        let ds = parallel(&Dataset::range(0, 8), make, 3, 2, 4, Some(false));
        let mut got = values(&ds);
        got.sort();
        assert_eq!(got, expected);
        // deterministic=None follows the options.
        let ds = parallel(&Dataset::range(0, 8), make, 3, 2, 4, None).with_options(&Options {
            deterministic: Some(false),
            ..Options::default()
        });
        let mut got = values(&ds);
        got.sort();
        assert_eq!(got, expected);
    }

    #[test]
    fn unordered_lets_ready_slots_overtake_a_slow_one() {
        // Slot 0's dataset is slow; the others are fast. In order, its elements hold up
        // every block after them; unordered, the fast ones come first.
        let make = |e: Element| {
            let v = scalar(&e)?;
            let inner = Dataset::range(v * 10, v * 10 + 3);
            Ok(if v == 0 {
                inner.map(|x| {
                    std::thread::sleep(Duration::from_millis(30));
                    Ok(x)
                })
            } else {
                inner
            })
        };
        let got = values(&parallel(&Dataset::range(0, 4), make, 4, 1, 4, Some(false)));
        assert_eq!(got.len(), 12);
        let first_slow = got.iter().position(|&v| v < 10).unwrap();
        assert!(first_slow > 3, "{got:?}");
    }

    #[test]
    fn bad_arguments() {
        let ds = Dataset::range(0, 3);
        for (result, name) in [
            (ds.interleave(repeat_six, 0, 1), "cycle_length"),
            (ds.interleave(repeat_six, 1, 0), "block_length"),
            (
                ds.interleave_with(
                    Arc::new(DatasetClosure(repeat_six)),
                    Parallelism::Fixed(2),
                    -3,
                    None,
                    None,
                    ElementSpec::Unknown,
                ),
                "block_length",
            ),
            (
                ds.interleave_with(
                    Arc::new(DatasetClosure(repeat_six)),
                    Parallelism::Fixed(2),
                    1,
                    Some(Parallelism::Fixed(0)),
                    None,
                    ElementSpec::Unknown,
                ),
                "num_parallel_calls",
            ),
        ] {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Argument);
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }

    #[test]
    fn errors_surface_in_place_sequential_and_parallel() {
        // Input: 0, error, 1, 2, 3. f fails on 1; dataset 2 holds an error element.
        let datasets = [
            vec![V(0), V(1), V(2)],
            vec![],
            vec![V(20), E("inner"), V(21), V(22)],
            vec![V(30), V(31)],
        ];
        let f = move |e: Element| match scalar(&e)? {
            1 => Err(Error::invalid_argument("f")),
            i => Ok(script(&datasets[i as usize])),
        };
        let f = Arc::new(f);
        let input = script(&[V(0), E("input"), V(1), V(2), V(3)]);
        // Slot 0: dataset 0; slot 1: the input error, f's error, then dataset 2; dataset 3
        // takes slot 0 when dataset 0 ends.
        let want = expect(&[
            V(0),
            V(1),
            E("input"),
            E("f"),
            V(20),
            E("inner"),
            V(21),
            V(2),
            V(22),
            V(30),
            V(31),
        ]);
        let g = f.clone();
        let seq = input.interleave(move |e| g(e), 2, 2).unwrap();
        assert_eq!(outcomes(&seq), want);
        for npc in [1, 2] {
            let g = f.clone();
            let par = parallel(&input, move |e| g(e), 2, 2, npc, None);
            assert_eq!(outcomes(&par), want, "num_parallel_calls={npc}");
        }
    }

    #[test]
    fn a_panicking_function_is_an_error_in_parallel_mode() {
        let ds = parallel(
            &Dataset::range(0, 3),
            |e| {
                if scalar(&e)? == 1 {
                    panic!("boom");
                }
                Ok(Dataset::from_tensors(e))
            },
            2,
            1,
            2,
            None,
        );
        let got = outcomes(&ds);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Ok(0));
        assert!(got[1].as_ref().unwrap_err().contains("boom"), "{got:?}");
        assert_eq!(got[2], Ok(2));
    }

    /// Inner datasets that count their live iterators and the calls running at once.
    struct Gauge {
        live: AtomicUsize,
        running: AtomicUsize,
        most_running: AtomicUsize,
    }

    struct GaugeNode(Arc<Gauge>, Duration);

    struct GaugeIter(Arc<Gauge>, Duration, i64);

    impl DatasetNode for GaugeNode {
        fn kind(&self) -> &'static str {
            "Gauge"
        }
        fn element_spec(&self) -> ElementSpec {
            ElementSpec::Unknown
        }
        fn cardinality(&self) -> Cardinality {
            Cardinality::Infinite
        }
        fn iterate(&self, _ctx: &Context) -> Result<BoxIterator> {
            self.0.live.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(GaugeIter(self.0.clone(), self.1, 0)))
        }
    }

    impl ElementIterator for GaugeIter {
        fn next(&mut self) -> Option<Result<Element>> {
            let now = self.0.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.0.most_running.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(self.1);
            self.0.running.fetch_sub(1, Ordering::SeqCst);
            self.2 += 1;
            Some(Ok(Tensor::scalar(self.2).into()))
        }
    }

    impl Drop for GaugeIter {
        fn drop(&mut self) {
            self.0.live.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn gauged(
        gauge: &Arc<Gauge>,
        pause: Duration,
        cycle: usize,
        npc: usize,
        ordered: bool,
    ) -> Dataset {
        let g = gauge.clone();
        parallel(
            &Dataset::range(0, 1000),
            move |_| Ok(Dataset::from_node(GaugeNode(g.clone(), pause))),
            cycle,
            1,
            npc,
            Some(ordered),
        )
    }

    fn gauge() -> Arc<Gauge> {
        Arc::new(Gauge {
            live: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            most_running: AtomicUsize::new(0),
        })
    }

    #[test]
    fn at_most_num_parallel_calls_read_at_once() {
        for ordered in [true, false] {
            let g = gauge();
            let mut it = gauged(&g, Duration::from_millis(2), 6, 2, ordered)
                .iter()
                .unwrap();
            for _ in 0..60 {
                it.next().unwrap().unwrap();
            }
            assert!(
                g.live.load(Ordering::SeqCst) > 2,
                "every open dataset reads ahead"
            );
            assert!(g.most_running.load(Ordering::SeqCst) <= 2);
            drop(it);
        }
    }

    #[test]
    fn dropping_stops_every_reader() {
        for ordered in [true, false] {
            let g = gauge();
            let mut it = gauged(&g, Duration::ZERO, 4, 2, ordered).iter().unwrap();
            for _ in 0..100 {
                it.next().unwrap().unwrap();
            }
            drop(it);
            // The readers own the inner iterators: all are gone once the drop returned,
            // so every thread was joined.
            assert_eq!(g.live.load(Ordering::SeqCst), 0);
        }
    }

    #[test]
    fn take_after_interleave_stops_the_readers() {
        let g = gauge();
        let ds = gauged(&g, Duration::ZERO, 3, 3, true).take(10).unwrap();
        let mut it = ds.iter().unwrap();
        assert_eq!(it.by_ref().count(), 10);
        assert_eq!(g.live.load(Ordering::SeqCst), 0, "take dropped the stage");
    }

    #[test]
    fn ctrl_c_while_waiting_for_a_reader_and_resuming_loses_nothing() {
        let slow = |e: Element| {
            Ok(Dataset::from_tensors(e).repeat(2)?.map(|x| {
                std::thread::sleep(Duration::from_millis(40));
                Ok(x)
            }))
        };
        let ds = parallel(&Dataset::range(0, 3), slow, 2, 1, 2, None);
        let mut it = ds.iter().unwrap();
        let started = Instant::now();
        let err = wait::with_interrupt_check(|| true, || it.next())
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Interrupted);
        assert!(started.elapsed() < Duration::from_millis(500));
        let rest: Vec<i64> = it.map(|r| scalar(&r.unwrap()).unwrap()).collect();
        assert_eq!(rest, [0, 1, 0, 1, 2, 2]);
    }

    #[test]
    fn parallel_reads_overlap() {
        // Four datasets of three 40 ms elements: read one after another that is 480 ms;
        // with four readers about a quarter of it.
        let slow = |e: Element| {
            Ok(Dataset::from_tensors(e).repeat(3)?.map(|x| {
                std::thread::sleep(Duration::from_millis(40));
                Ok(x)
            }))
        };
        let started = Instant::now();
        let got = values(&parallel(&Dataset::range(0, 4), slow, 4, 1, 4, None));
        assert_eq!(got, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
        assert!(
            started.elapsed() < Duration::from_millis(360),
            "{:?}",
            started.elapsed()
        );
    }

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![6 => (0i64..1000).prop_map(V), 1 => Just(E("e"))]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn cycle_length_one_is_flat_map(sizes in proptest::collection::vec(0i64..6, 0..8), block in 1usize..4) {
            let s = sizes.clone();
            let make = move |e: Element| {
                let i = scalar(&e)?;
                Ok(Dataset::range(i * 10, i * 10 + s[i as usize]))
            };
            let n = sizes.len() as i64;
            let inter = Dataset::range(0, n).interleave(make.clone(), 1, block).unwrap();
            let flat = Dataset::range(0, n).flat_map(make);
            prop_assert_eq!(values(&inter), values(&flat));
        }

        #[test]
        fn sequential_and_deterministic_parallel_match_the_reference(
            datasets in proptest::collection::vec(proptest::collection::vec(item(), 0..7), 0..9),
            cycle in 1usize..5,
            block in 1usize..4,
            npc in 1usize..5,
        ) {
            let want = reference(&datasets, cycle, block);
            let input = Dataset::range(0, datasets.len() as i64);
            let seq = input.interleave(by_index(datasets.clone()), cycle, block).unwrap();
            prop_assert_eq!(outcomes(&seq), want.clone());
            let par = parallel(&input, by_index(datasets.clone()), cycle, block as i64, npc, None);
            prop_assert_eq!(outcomes(&par), want.clone());
            let unordered = parallel(&input, by_index(datasets), cycle, block as i64, npc, Some(false));
            let mut got = outcomes(&unordered);
            let mut want = want;
            got.sort();
            want.sort();
            prop_assert_eq!(got, want);
        }
    }
}
