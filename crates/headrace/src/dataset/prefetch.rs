//! `prefetch(buffer_size)`: a producer thread runs the input ahead, into a bounded buffer.

use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver};

use super::{BoxIterator, Cardinality, Context, Dataset, DatasetNode, ElementIterator};
use crate::error::{Error, Result};
use crate::runtime::threads::Workers;
use crate::runtime::{autotune, wait, CancelToken};
use crate::value::{Element, ElementSpec};

/// A buffer size that may be left to the engine.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BufferSize {
    Fixed(usize),
    Autotune,
}

struct PrefetchNode {
    input: Dataset,
    buffer_size: BufferSize,
}

impl DatasetNode for PrefetchNode {
    fn kind(&self) -> &'static str {
        "Prefetch"
    }

    fn describe(&self) -> String {
        match self.buffer_size {
            BufferSize::Fixed(n) => format!("buffer_size={n}"),
            BufferSize::Autotune => "buffer_size=AUTOTUNE".into(),
        }
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
        let size = match self.buffer_size {
            BufferSize::Fixed(0) => return self.input.make_iterator(ctx),
            BufferSize::Fixed(n) => n,
            BufferSize::Autotune => autotune::PREFETCH_BUFFER,
        };
        let ctx = ctx.child();
        Ok(Box::new(PrefetchIter::start(
            "prefetch",
            self.input.make_iterator(&ctx)?,
            size,
            ctx.cancel.clone(),
        )))
    }
}

/// Elements travel between threads in chunks: a channel handoff (and the wakeup it may
/// take) costs about a microsecond, as much as reading a small record. Elements gather into
/// chunks of up to half the buffer, [`MAX_CHUNK_BYTES`], or [`MAX_CHUNK_DELAY`] since the
/// chunk's first element: fast elements travel by the dozen, slow ones one by one without
/// being held back. (Sending as soon as the consumer waits was tried: an in-order consumer
/// waiting on one reader then pulls every reader down to one element per handoff.)
const MAX_CHUNK_BYTES: usize = 1 << 20;
const MAX_CHUNK_DELAY: Duration = Duration::from_micros(200);

type Chunk = Vec<Result<Element>>;

/// Runs an iterator on its own thread, about `size` elements ahead of the consumer.
pub(crate) struct PrefetchIter {
    rx: Option<Receiver<Chunk>>,
    /// The rest of the chunk last received.
    pending: std::vec::IntoIter<Result<Element>>,
    cancel: CancelToken,
    workers: Workers,
}

impl PrefetchIter {
    pub fn start(
        name: &str,
        mut input: BoxIterator,
        size: usize,
        cancel: CancelToken,
    ) -> PrefetchIter {
        // Up to `size` elements queued, in chunks of up to half of it, plus the chunk
        // being gathered.
        let max_chunk = (size / 2).max(1);
        let (tx, rx) = bounded::<Chunk>((size / max_chunk).max(1));
        let mut workers = Workers::new();
        let producer_cancel = cancel.clone();
        workers.spawn(format!("headrace-{name}"), move || {
            let mut chunk = Vec::with_capacity(max_chunk);
            let mut bytes = 0;
            let mut first_at = Instant::now();
            while !producer_cancel.is_cancelled() {
                let Some(item) = input.next() else { break };
                bytes += item.as_ref().map_or(0, Element::nbytes);
                if chunk.is_empty() {
                    first_at = Instant::now();
                }
                chunk.push(item);
                if chunk.len() >= max_chunk
                    || bytes >= MAX_CHUNK_BYTES
                    || first_at.elapsed() >= MAX_CHUNK_DELAY
                {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(max_chunk));
                    bytes = 0;
                    if tx.send(full).is_err() {
                        return;
                    }
                }
            }
            if !chunk.is_empty() {
                let _ = tx.send(chunk);
            }
        });
        PrefetchIter {
            rx: Some(rx),
            pending: Vec::new().into_iter(),
            cancel,
            workers,
        }
    }

    /// The buffer's receiving end, to wait on several prefetchers at once. Only for use
    /// when [`try_next`](Self::try_next) has found nothing ready: elements already received
    /// are not in the channel.
    pub fn receiver(&self) -> Option<&Receiver<Chunk>> {
        self.rx.as_ref()
    }

    fn take_chunk(&mut self, chunk: Chunk) -> Option<Result<Element>> {
        self.pending = chunk.into_iter();
        self.pending.next()
    }

    /// An element if one is ready now: `Some(None)` when the producer has finished and the
    /// buffer is empty, `None` when nothing is ready yet.
    pub fn try_next(&mut self) -> Option<Option<Result<Element>>> {
        if let Some(item) = self.pending.next() {
            return Some(Some(item));
        }
        match self.rx.as_ref()?.try_recv() {
            Ok(chunk) => Some(self.take_chunk(chunk)),
            Err(crossbeam_channel::TryRecvError::Empty) => None,
            Err(crossbeam_channel::TryRecvError::Disconnected) => Some(None),
        }
    }

    /// The next element, waiting for it: `Ok(None)` at the end, `Err` when this wait was
    /// interrupted or cancelled (nothing was taken).
    pub fn recv(&mut self) -> Result<Option<Result<Element>>> {
        if let Some(item) = self.pending.next() {
            return Ok(Some(item));
        }
        let Some(rx) = self.rx.as_ref() else {
            return Ok(None);
        };
        let Some(chunk) = wait::recv(rx, &self.cancel)? else {
            return Ok(None);
        };
        // A chunk is never empty.
        Ok(self.take_chunk(chunk))
    }
}

impl ElementIterator for PrefetchIter {
    fn next(&mut self) -> Option<Result<Element>> {
        self.recv().unwrap_or_else(|e| Some(Err(e)))
    }
}

impl Drop for PrefetchIter {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.rx = None;
        self.workers.join();
    }
}

impl Dataset {
    /// Produces up to `buffer_size` elements ahead of the consumer, on a thread of its own.
    pub fn prefetch(&self, buffer_size: BufferSize) -> Dataset {
        Dataset::from_node(PrefetchNode {
            input: self.clone(),
            buffer_size,
        })
    }

    /// Validates a `buffer_size` given as a number (`-1` is AUTOTUNE, as in tf.data).
    pub fn buffer_size(value: i64) -> Result<BufferSize> {
        match value {
            -1 => Ok(BufferSize::Autotune),
            n if n >= 0 => Ok(BufferSize::Fixed(n as usize)),
            n => Err(Error::argument(
                "buffer_size",
                format!("must be non-negative or AUTOTUNE, got {n}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_elements_as_input() {
        for size in [
            BufferSize::Fixed(0),
            BufferSize::Fixed(1),
            BufferSize::Fixed(5),
            BufferSize::Autotune,
        ] {
            let got = Dataset::range(0, 100).prefetch(size).collect().unwrap();
            assert_eq!(got, Dataset::range(0, 100).collect().unwrap());
        }
        assert!(Dataset::buffer_size(-2).is_err());
    }

    #[test]
    fn dropping_early_stops_the_producer() {
        let mut it = Dataset::range(0, i64::MAX)
            .prefetch(BufferSize::Fixed(4))
            .iter()
            .unwrap();
        it.next().unwrap().unwrap();
        drop(it);
    }
}
