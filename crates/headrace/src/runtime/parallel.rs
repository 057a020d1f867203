//! Runs a function over a stream of elements on N worker threads, in order or as completed.
//!
//! Workers take turns pulling a chunk of consecutive input elements, call the function on
//! the chunk, and put the results in sequence slots; the consumer takes slot after slot
//! (or, unordered, whatever finished first). At most `capacity` elements are claimed but
//! not yet consumed: that bound is the backpressure.
//!
//! Chunks amortise a per-call entry cost (taking the GIL for a Python function) over
//! several elements. The chunk size adapts to the measured cost of one call, aiming at
//! about [`TARGET_CHUNK`] of work per chunk: cheap functions run in chunks of up to
//! [`MAX_CHUNK`], expensive ones one element at a time, so parallelism is not lost.
//!
//! With `AUTOTUNE` the stage starts with one worker per core and grows when its calls wait
//! (sleep, network, disk) rather than compute: see [`Grow`].

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::autotune;
use super::cancel::CancelToken;
use super::threads::Workers;
use super::wait;
use crate::dataset::{BoxIterator, ElementIterator, Parallelism};
use crate::error::{Error, Result};
use crate::value::Element;

/// Work per chunk the adaptive chunk size aims at.
pub const TARGET_CHUNK: Duration = Duration::from_micros(100);
/// The largest chunk.
pub const MAX_CHUNK: usize = 64;

/// The function a parallel stage applies to a chunk of elements, in order.
/// It gets the chunk, the input position of its first element, and the stage's token: it
/// must start no call once the token is cancelled.
pub type ChunkFn =
    Arc<dyn Fn(Vec<Result<Element>>, u64, &CancelToken) -> Vec<Result<Element>> + Send + Sync>;

struct State {
    /// `None` while a worker is pulling from it.
    input: Option<BoxIterator>,
    input_done: bool,
    /// Elements taken from the input (sequence numbers `0..claimed`).
    claimed: u64,
    /// Elements handed to the consumer.
    consumed: u64,
    /// Ordered mode: the results for sequence numbers `consumed..claimed`.
    slots: VecDeque<Option<Result<Element>>>,
    /// Unordered mode: results as they finish.
    ready: VecDeque<Result<Element>>,
    /// Smoothed nanoseconds per element of the function.
    ns_per_element: f64,
    /// Workers running (started and not yet stopped or retired).
    live_workers: usize,
    /// Workers wanted: a worker that finds more running retires at its next claim.
    target_workers: usize,
    /// Elements whose results are in (ordered slots or the ready queue).
    done: u64,
    grow: Option<Grow>,
}

/// `AUTOTUNE`'s growth of a parallel stage whose calls wait.
///
/// A call that waits (in `time.sleep`, on a socket, on a disk) does not use a core, so more
/// of them than there are cores can run at once. Each chunk's wall time is measured beside
/// the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`); their decayed sums give the
/// fraction `r` of a call's time spent on a core. When the consumer waits for a result (the
/// stage is the bottleneck) and its input is not finished, the stage grows at once to the
/// number of calls that together keep at most [`WAIT_BUDGET_CORES`] busy — `budget / r` —
/// up to [`max_workers`].
///
/// The budget is in cores for the whole stage, not per call, so a CPU-bound Python function
/// never grows the stage: its calls queue on the GIL, so with N threads each call is on a
/// core about 1/N of its time, and `budget / r` is about N/2, fewer than are running. The
/// same holds for Rust functions slowed down by a busy machine.
///
/// After growing, the stage measures its throughput once the new workers had time to finish
/// a few calls, against what the workers before managed (their number over the time of one
/// call): if it did not rise by [`MIN_GAIN`] (the calls wait on something that does
/// not scale, such as a fixed pool of worker processes), the extra workers retire and the
/// stage stops growing.
struct Grow {
    max_workers: usize,
    /// Decayed sums of call CPU time and call wall time, in ns.
    cpu_ns: f64,
    wall_ns: f64,
    /// When the last growth happened, and `done` then.
    window: (Instant, u64),
    /// After a growth: the workers before it, the throughput (elements/s) before it, and
    /// how long to let the new workers run before judging.
    probe: Option<(usize, f64, Duration)>,
    frozen: bool,
}

/// CPU the waiting calls of one stage may use together, in cores.
pub const WAIT_BUDGET_CORES: f64 = 0.5;
/// Throughput gain a growth must bring to be kept.
pub const MIN_GAIN: f64 = 1.25;

/// The most workers `AUTOTUNE` grows a stage to: 64, or the core count where that is more.
/// Each worker is a thread (a Python function gets a thread state on it) and two chunks of
/// claimed elements; 64 waiting calls at once cover the usual I/O (a remote store's requests,
/// files on a network disk) without letting one stage hold hundreds of elements.
pub fn max_workers() -> usize {
    autotune::available_cores().max(64)
}

/// The calling thread's CPU time in ns, where the platform tells it.
pub fn thread_cpu_ns() -> Option<u64> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "macos"))]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec for the call to fill.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
        }
    }
    None
}

struct Shared {
    state: Mutex<State>,
    /// Workers wait here for the input to be free and for room.
    work: Condvar,
    /// The consumer waits here for results.
    out: Condvar,
    cancel: CancelToken,
    ordered: bool,
    f: ChunkFn,
    name: String,
}

impl Shared {
    fn chunk_size(&self, st: &State) -> usize {
        if st.ns_per_element <= 0.0 {
            return 1;
        }
        let n = TARGET_CHUNK.as_nanos() as f64 / st.ns_per_element;
        (n as usize).clamp(1, MAX_CHUNK)
    }

    /// Claimed-but-unconsumed elements allowed: two chunks per worker.
    fn capacity(&self, st: &State) -> u64 {
        (2 * st.target_workers * self.chunk_size(st)) as u64
    }

    /// Records a chunk's times; after a growth, judges whether it paid off.
    fn measure(&self, st: &mut State, wall_ns: u64, cpu_ns: Option<u64>) {
        let done = st.done;
        let Some(g) = st.grow.as_mut() else {
            return;
        };
        let Some(cpu_ns) = cpu_ns else {
            g.frozen = true; // the platform cannot tell: never grow
            return;
        };
        g.cpu_ns = 0.8 * g.cpu_ns + cpu_ns as f64;
        g.wall_ns = 0.8 * g.wall_ns + wall_ns as f64;
        let Some((before, rate_before, settle)) = g.probe else {
            return;
        };
        let (since, done_then) = g.window;
        let elapsed = since.elapsed();
        if elapsed < settle {
            return;
        }
        let rate = (done - done_then) as f64 / elapsed.as_secs_f64();
        g.probe = None;
        g.window = (Instant::now(), done);
        if rate < MIN_GAIN * rate_before {
            g.frozen = true;
            st.target_workers = before;
        }
    }

    /// Called while the consumer waits: how many workers to add now.
    fn grow_by(&self, st: &mut State) -> usize {
        let (done, input_done, live) = (st.done, st.input_done, st.target_workers);
        let ns_per_element = st.ns_per_element;
        // Judged after a few calls as long as those before the growth (a call measured
        // later includes its wait for whatever it waits on, which more workers lengthen).
        let settle =
            Duration::from_nanos((3.0 * st.ns_per_element) as u64).max(Duration::from_millis(10));
        let Some(g) = st.grow.as_mut() else {
            return 0;
        };
        if g.frozen || g.probe.is_some() || input_done || g.wall_ns <= 0.0 || ns_per_element <= 0.0
        {
            return 0;
        }
        let ratio = (g.cpu_ns / g.wall_ns).max(1e-6);
        let want = ((WAIT_BUDGET_CORES / ratio) as usize).min(g.max_workers);
        if want <= live {
            return 0;
        }
        // With every worker busy (the consumer is waiting), the stage finishes `live` calls
        // per call time (Little's law): the throughput a growth must beat.
        let rate_before = live as f64 * 1e9 / ns_per_element;
        g.probe = Some((live, rate_before, settle));
        g.window = (Instant::now(), done);
        st.target_workers = want;
        let add = want.saturating_sub(st.live_workers);
        st.live_workers += add;
        add
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The iterator of a parallel stage.
pub struct ParallelIter {
    shared: Arc<Shared>,
    workers: Workers,
}

impl ParallelIter {
    /// Starts `parallelism` workers applying `f` to `input`'s elements (`AUTOTUNE`: one per
    /// core, more while calls wait, see [`Grow`]).
    pub fn start(
        name: &str,
        input: BoxIterator,
        f: ChunkFn,
        parallelism: Parallelism,
        ordered: bool,
        cancel: CancelToken,
    ) -> ParallelIter {
        let grow = match parallelism {
            Parallelism::Autotune => Some(Grow {
                max_workers: max_workers(),
                cpu_ns: 0.0,
                wall_ns: 0.0,
                window: (Instant::now(), 0),
                probe: None,
                frozen: false,
            }),
            Parallelism::Fixed(_) => None,
        };
        let parallelism = parallelism.resolve().max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                input: Some(input),
                input_done: false,
                claimed: 0,
                consumed: 0,
                slots: VecDeque::new(),
                ready: VecDeque::new(),
                ns_per_element: 0.0,
                live_workers: parallelism,
                target_workers: parallelism,
                done: 0,
                grow,
            }),
            work: Condvar::new(),
            out: Condvar::new(),
            cancel,
            ordered,
            f,
            name: name.to_string(),
        });
        let mut it = ParallelIter {
            shared,
            workers: Workers::new(),
        };
        it.spawn(parallelism);
        it
    }

    /// Starts `n` more workers; `live_workers` already counts them.
    fn spawn(&mut self, n: usize) {
        for _ in 0..n {
            let shared = self.shared.clone();
            let i = self.workers.len();
            self.workers
                .spawn(format!("headrace-{}-{i}", self.shared.name), move || {
                    let retired = worker(&shared);
                    let mut st = shared.lock();
                    if !retired {
                        st.live_workers -= 1;
                    }
                    drop(st);
                    shared.out.notify_all();
                });
        }
    }

    /// The workers running now.
    pub fn workers(&self) -> usize {
        self.shared.lock().live_workers
    }
}

/// Runs one worker until the input ends or the stage is cancelled (`false`), or until it
/// retires because the stage has more workers than it wants (`true`: it is no longer
/// counted in `live_workers`).
fn worker(shared: &Shared) -> bool {
    loop {
        // Claim a chunk of input.
        let st = shared.lock();
        let waited = wait::wait_until(st, &shared.work, &shared.cancel, |st| {
            if st.input_done {
                return Some(None);
            }
            if st.live_workers > st.target_workers {
                st.live_workers -= 1;
                return Some(Some(None));
            }
            let in_flight = st.claimed - st.consumed;
            let capacity = shared.capacity(st);
            if st.input.is_some() && in_flight < capacity {
                let want = (shared.chunk_size(st) as u64).min(capacity - in_flight) as usize;
                return Some(Some(Some((st.input.take().unwrap(), st.claimed, want))));
            }
            None
        });
        let (st, claim) = match waited {
            Ok((st, Some(claim))) => (st, claim),
            _ => return false,
        };
        drop(st);
        let Some((mut input, base, want)) = claim else {
            return true; // retired
        };

        let mut chunk = Vec::with_capacity(want);
        let mut ended = false;
        while chunk.len() < want {
            match input.next() {
                Some(item) => chunk.push(item),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        let got = chunk.len();
        {
            let mut st = shared.lock();
            st.input = Some(input);
            st.claimed += got as u64;
            st.input_done |= ended;
            if shared.ordered {
                st.slots.extend((0..got).map(|_| None));
            }
        }
        shared.work.notify_all();
        if ended {
            shared.out.notify_all();
        }
        if got == 0 {
            continue;
        }

        let started = Instant::now();
        let cpu_started = thread_cpu_ns();
        let results = catch_unwind(AssertUnwindSafe(|| (shared.f)(chunk, base, &shared.cancel)))
            .unwrap_or_else(|panic| {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                (0..got)
                    .map(|_| Err(Error::internal(format!("the function panicked: {msg}"))))
                    .collect()
            });
        let wall_ns = started.elapsed().as_nanos() as u64;
        let cpu_ns = cpu_started.and_then(|c0| Some(thread_cpu_ns()?.saturating_sub(c0)));
        let elapsed = wall_ns as f64 / got as f64;

        let mut st = shared.lock();
        st.done += got as u64;
        shared.measure(&mut st, wall_ns, cpu_ns);
        st.ns_per_element = if st.ns_per_element <= 0.0 {
            elapsed
        } else {
            0.8 * st.ns_per_element + 0.2 * elapsed
        };
        if shared.ordered {
            let offset = (base - st.consumed) as usize;
            for (i, r) in results.into_iter().enumerate() {
                st.slots[offset + i] = Some(r);
            }
        } else {
            st.ready.extend(results);
        }
        drop(st);
        shared.out.notify_all();
    }
}

impl ElementIterator for ParallelIter {
    fn next(&mut self) -> Option<Result<Element>> {
        loop {
            match self.take() {
                Taken::Item(item) => return item,
                Taken::Grow(n) => self.spawn(n),
            }
        }
    }
}

enum Taken {
    Item(Option<Result<Element>>),
    /// Start this many workers, then wait again.
    Grow(usize),
}

impl ParallelIter {
    fn take(&mut self) -> Taken {
        let shared = &self.shared;
        let st = shared.lock();
        let taken = wait::wait_until(st, &shared.out, &shared.cancel, |st| {
            let item = if shared.ordered {
                match st.slots.front() {
                    Some(Some(_)) => st.slots.pop_front().flatten(),
                    _ => None,
                }
            } else {
                st.ready.pop_front()
            };
            if let Some(item) = item {
                st.consumed += 1;
                return Some(Taken::Item(Some(item)));
            }
            if st.input_done && st.consumed == st.claimed {
                return Some(Taken::Item(None));
            }
            if st.live_workers == 0 {
                return Some(Taken::Item(Some(Err(Error::internal(
                    "every worker of a parallel stage stopped before its input ended",
                )))));
            }
            // The consumer waits: the stage is the bottleneck. Grow if its calls wait.
            match shared.grow_by(st) {
                0 => None,
                n => Some(Taken::Grow(n)),
            }
        });
        match taken {
            Ok((st, taken)) => {
                drop(st);
                shared.work.notify_all();
                taken
            }
            Err(e) => Taken::Item(Some(Err(e))),
        }
    }
}

impl Drop for ParallelIter {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
        self.shared.work.notify_all();
        self.shared.out.notify_all();
        self.workers.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Tensor;
    use std::collections::HashSet;
    use std::thread::ThreadId;

    struct Count(i64, i64);

    impl ElementIterator for Count {
        fn next(&mut self) -> Option<Result<Element>> {
            if self.0 >= self.1 {
                return None;
            }
            self.0 += 1;
            Some(Ok(Tensor::scalar(self.0 - 1).into()))
        }
    }

    /// A stage over `0..n` calling `call` per element; it records the threads that ran calls.
    fn stage(
        n: i64,
        parallelism: Parallelism,
        call: impl Fn() + Send + Sync + 'static,
    ) -> (ParallelIter, Arc<Mutex<HashSet<ThreadId>>>) {
        let threads = Arc::new(Mutex::new(HashSet::new()));
        let seen = threads.clone();
        let f: ChunkFn = Arc::new(move |chunk, _, _| {
            seen.lock().unwrap().insert(std::thread::current().id());
            chunk.into_iter().inspect(|_| call()).collect()
        });
        let it = ParallelIter::start(
            "test",
            Box::new(Count(0, n)),
            f,
            parallelism,
            true,
            CancelToken::new(),
        );
        (it, threads)
    }

    fn drain(it: &mut ParallelIter) -> Vec<i64> {
        std::iter::from_fn(|| it.next())
            .map(|e| crate::dataset::testing::outcome(e).unwrap())
            .collect()
    }

    fn sleep_5ms() {
        std::thread::sleep(Duration::from_millis(5));
    }

    fn spin_2ms() {
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(2) {
            std::hint::black_box(0);
        }
    }

    #[test]
    fn autotune_grows_while_calls_wait_and_keeps_order() {
        if thread_cpu_ns().is_none() {
            return;
        }
        let cores = autotune::available_cores();
        let (mut it, threads) = stage(400, Parallelism::Autotune, sleep_5ms);
        let started = Instant::now();
        assert_eq!(drain(&mut it), (0..400).collect::<Vec<_>>());
        let took = started.elapsed();
        let used = threads.lock().unwrap().len();
        assert!(used > cores, "{used} threads ran calls on {cores} cores");
        assert!(used <= max_workers());
        // 400 x 5 ms on `cores` threads would take 2 s / cores.
        assert!(
            took < Duration::from_millis(2000 / cores as u64).max(Duration::from_millis(300)),
            "{took:?}"
        );
    }

    #[test]
    fn autotune_does_not_grow_for_calls_that_compute() {
        let cores = autotune::available_cores();
        let (mut it, threads) = stage(200, Parallelism::Autotune, spin_2ms);
        assert_eq!(drain(&mut it), (0..200).collect::<Vec<_>>());
        assert!(threads.lock().unwrap().len() <= cores);
        assert!(it.workers() <= cores);
    }

    #[test]
    fn a_fixed_count_never_grows() {
        let (mut it, threads) = stage(100, Parallelism::Fixed(2), sleep_5ms);
        assert_eq!(drain(&mut it), (0..100).collect::<Vec<_>>());
        assert!(threads.lock().unwrap().len() <= 2);
    }

    #[test]
    fn a_growth_that_does_not_pay_is_undone() {
        if thread_cpu_ns().is_none() {
            return;
        }
        // Calls wait on a pool of two "processes": more threads only queue.
        let pool = Arc::new((Mutex::new(2usize), Condvar::new()));
        let call = move || {
            let (free, cv) = &*pool;
            let mut n = cv.wait_while(free.lock().unwrap(), |n| *n == 0).unwrap();
            *n -= 1;
            drop(n);
            std::thread::sleep(Duration::from_millis(5));
            *free.lock().unwrap() += 1;
            cv.notify_one();
        };
        let cores = autotune::available_cores();
        let (mut it, _) = stage(300, Parallelism::Autotune, call);
        let got = drain(&mut it);
        assert_eq!(got, (0..300).collect::<Vec<_>>());
        let st = it.shared.lock();
        assert!(st.grow.as_ref().unwrap().frozen, "the growth was kept");
        assert_eq!(st.target_workers, cores);
    }

    #[test]
    fn dropping_a_grown_stage_joins_every_worker() {
        if thread_cpu_ns().is_none() {
            return;
        }
        let cores = autotune::available_cores();
        let (mut it, _) = stage(i64::MAX, Parallelism::Autotune, sleep_5ms);
        let started = Instant::now();
        for i in 0..60 {
            let v = it.next().unwrap().unwrap().into_tensor().unwrap();
            assert_eq!(v.scalar_value::<i64>().unwrap(), i);
        }
        assert!(it.workers() > cores || cores >= max_workers());
        drop(it); // cancels and joins; a leaked worker would hang here
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
