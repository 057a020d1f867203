"""Python functions in worker processes, headrace beside tf.data, from one run.

Figures (issue 6: worker processes):
  1. The seeds' CPU-bound loop ``busy`` over 8 elements: serial (a plain Python loop),
     headrace ``map(busy, num_parallel_calls=2, executor="process")``, and tf.data
     ``map(tf.py_function(busy), num_parallel_calls=AUTOTUNE)``. Target: headrace at least
     1.8x faster than serial with 2 processes on 2 cores (tf.data: about 1.0x: the GIL).
     Each headrace run builds a new iterator, so the time includes starting its 2 workers
     (from the fork server, a few ms each). headrace's threads (``executor="thread"``) are
     shown for reference: they hold the GIL, as tf.py_function does. ``executor="auto"``
     starts on threads, measures, and moves to processes: its first calls (the window, at
     least 0.2 s, and those in flight while the pool starts) run on threads.

  2. A 224x224x3 float32 image to a worker and back (identity function), 500 elements: the
     microseconds per element the trip costs over the function (which costs ~0), with 2
     workers (throughput) and with one (``num_parallel_calls=1``: the round-trip latency).
     Target: at most 100 us. The arrays go through shared memory; the same pipeline with
     ``executor="thread"`` is shown for reference (the engine's own cost: the source, the
     conversions to and from numpy), and tf.data's ``tf.py_function`` (in process too).
     The configurations run side by side, one pass of 500 elements each in turn.

  In figures 1 and 2, a stand-in for PyTorch's ``DataLoader`` (torch cannot be installed
  here: see ``pil_peer.py``): a ``multiprocessing`` pool of 2 workers from the fork server,
  mapping the function in order (``Pool.imap``, one element per task), as DataLoader's
  workers do with ``batch_size=None``. Its elements are pickled through pipes both ways
  (DataLoader would send a torch tensor's storage through shared memory, one way: its
  samples are made in the worker). For ``busy`` a pool is started for each run, as
  DataLoader starts its workers for each epoch (``persistent_workers=False``); for the
  image, one pool is timed once warm, as headrace's pipeline is.

  3. The noisy neighbour (``Options(pipeline_process=True)``): a training loop of pure-Python
     work (``STEP_MS`` per step, holding the GIL) consuming batches of 8 from a pipeline whose
     ``map`` is a CPU-bound Python function (``executor="thread"``, 2 calls). In one process
     the map's threads take the GIL from the loop; with ``pipeline_process=True`` the
     pipeline runs in a child process and hands the batches over through shared memory.
     Training steps per second, each way, run alternately; the ratio is the speed-up.

Each figure is the median of ``--repeats`` runs. ``busy`` uses only builtins, so headrace
first tries to trace it; its loop would unroll into millions of ops, so the tracer gives up
after ``tracing.MAX_TRACED_OPS`` and the function runs as Python, as a user's would.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import headrace as hr
import numpy as np
import pil_peer
from bench_core import load_tf
from headrace import _auto

ELEMENTS = 8
IMAGES = 500


def busy(x):
    t = 0
    for i in range(2_000_000):
        t += i * x
    return t % 1000


def busy_element(x):
    """``busy`` on an element: headrace hands a numpy int64 (numpy scalar arithmetic is some
    twice as slow as Python's), so it is made a Python int first, as the tf.data function
    does with ``int(v.numpy())`` and the serial loop has."""
    return busy(int(x))


def seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row(
    name: str,
    ours: float,
    theirs: float | None,
    serial: float,
    target: str = "",
    peer: float | None = None,
) -> None:
    """A line of figure 1: headrace, tf.data and their ratio (tf.data's time over ours),
    then the DataLoader-style peer's and its ratio, where there is one."""
    ratio = f"{theirs / ours:8.2f}x" if theirs else "     n/a"
    theirs_text = f"{theirs:10.3f}" if theirs else f"{'(no tf)':>10}"
    peer_text = f"{peer:8.3f} {peer / ours:6.2f}x" if peer else f"{'':>15}"
    print(
        f"{name:<52} {ours:10.3f} {theirs_text} {'s':<3} {ratio}  {peer_text}  "
        f"{serial / ours:5.2f}x serial  {target}"
    )


def peer_pool(processes: int = 2) -> multiprocessing.pool.Pool:
    """The DataLoader-style peer's workers, from the fork server."""
    return multiprocessing.get_context(pil_peer.START_METHOD).Pool(processes)


def peer_busy() -> list[int]:
    """``busy`` over the elements with the peer: its workers started for the run."""
    with peer_pool() as pool:
        return list(pool.imap(busy, range(ELEMENTS)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tf = load_tf()
    print(f"cores: {os.cpu_count()}  tensorflow: {tf.__version__ if tf else 'not installed'}")
    # The fork server, started once and untimed, with this script preloaded, so that the
    # peer's workers do not import it again (headrace's leave the main script out).
    pil_peer.warm_up(preload=["headrace._process"])

    serial = seconds(lambda: [busy(x) for x in range(ELEMENTS)], args.repeats)
    print(f"serial Python loop over {ELEMENTS} elements: {serial:.3f} s")
    print(
        f"{'figure':<52} {'headrace':>10} {'tf.data':>10} {'':<3} {'ratio':>9}  "
        f"{'mp.Pool':>8} {'ratio':>6}"
    )

    processes = hr.Dataset.range(ELEMENTS).map(
        busy_element, num_parallel_calls=2, executor="process"
    )
    threads = hr.Dataset.range(ELEMENTS).map(busy_element, num_parallel_calls=2, executor="thread")
    list(processes)  # starts the fork server once, outside the timed runs
    expected = [busy(x) for x in range(ELEMENTS)]
    assert [int(v) for v in processes] == expected

    theirs = None
    if tf:

        def tf_busy(x):
            return tf.py_function(lambda v: busy(int(v.numpy())), [x], tf.int64)

        tf_ds = tf.data.Dataset.range(ELEMENTS).map(tf_busy, num_parallel_calls=tf.data.AUTOTUNE)
        assert [int(v) for v in tf_ds] == expected
        theirs = seconds(lambda: list(tf_ds), args.repeats)

    assert peer_busy() == expected
    row(
        'busy x8: executor="process", 2 workers (tf: AUTOTUNE)',
        seconds(lambda: list(processes), args.repeats),
        theirs,
        serial,
        target=">= 1.8x serial",
        peer=seconds(peer_busy, args.repeats),
    )
    row(
        'busy x8: executor="thread", 2 calls (tf: AUTOTUNE)',
        seconds(lambda: list(threads), args.repeats),
        theirs,
        serial,
    )
    auto = hr.Dataset.range(ELEMENTS).map(busy_element, num_parallel_calls=2, executor="auto")
    on_threads: list[int] = []

    def run_auto() -> None:
        it = iter(auto)
        assert [int(v) for v in it] == expected
        runner = _auto.auto_runners()[-1]
        on_threads.append(runner.calls_on_threads)
        del it, runner

    row(
        'busy x8: executor="auto", 2 calls (tf: AUTOTUNE)',
        seconds(run_auto, args.repeats),
        theirs,
        serial,
    )
    print(f"  auto: calls run on threads before the switch, per run: {on_threads}")
    filtering(tf, args.repeats)
    sleeping(tf, args.repeats)
    transfer(tf, args.repeats)
    noisy_neighbour(args.repeats)


def nap(x):
    time.sleep(0.05)
    return x


def sleeping(tf: object | None, repeats: int) -> None:
    """The seed's I/O-bound function, time.sleep(0.05) over 40 elements, with AUTOTUNE:
    calls that wait use no core, so headrace grows the stage past the core count (tf.data
    runs as many calls as cores). Serial: 40 x 50 ms = 2 s."""
    ours = hr.Dataset.range(40).map(nap, num_parallel_calls=hr.AUTOTUNE)
    assert [int(v) for v in ours] == list(range(40))
    theirs = None
    if tf:
        tf_ds = tf.data.Dataset.range(40).map(
            lambda x: tf.py_function(nap, [x], tf.int64), num_parallel_calls=tf.data.AUTOTUNE
        )
        theirs = seconds(lambda: list(tf_ds), repeats)
    row(
        "sleep(0.05) x40, AUTOTUNE",
        seconds(lambda: list(ours), repeats),
        theirs,
        40 * 0.05,
        target="<= 0.15 s",
    )


def busy_verdict(x):
    """A CPU-bound predicate: ``busy`` decides."""
    return busy(int(x)) % 2 == 0


def filtering(tf: object | None, repeats: int) -> None:
    """``filter`` with a CPU-bound Python predicate over 8 elements: tf.data's filter calls
    it one element at a time; headrace's ``num_parallel_calls`` with worker processes runs
    two at once, sending each worker the element and getting back only the verdict."""
    expected = [x for x in range(ELEMENTS) if busy(x) % 2 == 0]
    ours = hr.Dataset.range(ELEMENTS).filter(busy_verdict, num_parallel_calls=2, executor="process")
    assert [int(v) for v in ours] == expected  # (also starts the pool's fork server)
    serial = seconds(lambda: [x for x in range(ELEMENTS) if busy_verdict(x)], repeats)
    theirs = None
    if tf:
        tf_ds = tf.data.Dataset.range(ELEMENTS).filter(
            lambda x: tf.py_function(busy_verdict, [x], tf.bool)
        )
        assert [int(v) for v in tf_ds] == expected
        theirs = seconds(lambda: list(tf_ds), repeats)
    row(
        'busy filter x8: executor="process", 2 workers',
        seconds(lambda: list(ours), repeats),
        theirs,
        serial,
    )


def identity(x):
    return x


@dataclass(frozen=True)
class SameImage:
    """A map-style dataset whose samples are all ``image``: made in the worker, as a
    DataLoader's samples are, so only the way back is measured."""

    image: np.ndarray
    n: int

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> np.ndarray:
        return self.image


def transfer(tf: object | None, repeats: int) -> None:
    """Figure 2: a 224x224x3 float32 image to a worker process and back."""
    image = np.random.default_rng(6).random((224, 224, 3), dtype=np.float32)
    source = hr.Dataset.from_tensors(image).repeat()
    # Each configuration: a function giving ``n`` elements of one running pipeline.
    runs: dict[str, Callable[[int], Iterator[object]]] = {}

    def elements_of(ds: object) -> Callable[[int], Iterator[object]]:
        it = iter(ds)  # type: ignore[call-overload]
        return lambda n: itertools.islice(it, n)

    for label, kwargs in [
        ('executor="process", 2 workers', {"num_parallel_calls": 2, "executor": "process"}),
        ('executor="process", 1 worker', {"num_parallel_calls": 1, "executor": "process"}),
        (
            'executor="thread", 2 calls (reference)',
            {"num_parallel_calls": 2, "executor": "thread"},
        ),
    ]:
        runs[label] = elements_of(source.map(identity, trace=False, **kwargs))
    if tf:
        tf_ds = tf.data.Dataset.from_tensors(image).repeat()
        tf_ds = tf_ds.map(
            lambda x: tf.py_function(identity, [x], tf.float32),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        runs["tf.data py_function, AUTOTUNE (in process)"] = elements_of(tf_ds)
    pool = peer_pool()
    # imap has no back-pressure: it is handed the elements of one pass at a time.
    runs["mp.Pool(2).imap, forkserver (DataLoader-style)"] = lambda n: pool.imap(
        identity, itertools.repeat(image, n)
    )
    # pil_peer's DataLoader, one sample a batch: made in the worker, back in shared memory.
    loader = pil_peer.DataLoader(SameImage(image, 50 + IMAGES * repeats), batch_size=1)
    runs["DataLoader stand-in, batch_size=1 (one way)"] = elements_of(loader)
    # Each one running, timed once warm (workers started, segments sized).
    for elements in runs.values():
        for x in elements(50):
            assert np.array_equal(np.asarray(x).reshape(image.shape), image)
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(repeats):  # side by side: drifts in the machine hit each alike
        for label, elements in runs.items():
            start = time.perf_counter()
            for _ in elements(IMAGES):
                pass
            times[label].append((time.perf_counter() - start) / IMAGES * 1e6)
    pool.terminate()
    ours = statistics.median(times['executor="process", 2 workers'])
    print(f"224x224x3 float32 to a worker and back (identity), {IMAGES} elements:")
    for label, us in times.items():
        us_m = statistics.median(us)
        note = "target <= 100 us" if 'executor="process"' in label else ""
        if "mp.Pool" in label or "DataLoader" in label:
            note = f"{us_m / ours:.2f}x headrace's 2 workers"
        print(f"  {label:<50} {us_m:8.1f} us per element over the function  {note}")


# Figure 3: milliseconds of pure-Python work per training step, and per element in the map.
STEP_MS = 2.0
ELEMENT_MS = 0.2
BATCH = 8
STEPS = 300


def spin(ms: float) -> None:
    """Pure-Python work holding the GIL for about ``ms`` milliseconds."""
    end = time.perf_counter() + ms / 1000
    t = 0
    while time.perf_counter() < end:
        for i in range(200):
            t += i


def augment(x):
    """The pipeline's Python function: CPU work, then a small image (64x64x3 float32)."""
    spin(ELEMENT_MS)
    return np.full((64, 64, 3), x, np.float32)


def steps_per_second(ds: hr.Dataset) -> float:
    """A training loop over ``ds``: ``STEPS`` steps timed after 20 warm-up steps (the
    pipeline started, its buffers filled)."""
    it = iter(ds)
    try:
        for _ in range(20):
            next(it)
            spin(STEP_MS)
        start = time.perf_counter()
        for _ in range(STEPS):
            batch = next(it)
            spin(STEP_MS)
            assert batch.shape == (BATCH, 64, 64, 3)
        return STEPS / (time.perf_counter() - start)
    finally:
        it.close()


def noisy_neighbour(repeats: int) -> None:
    """Figure 3: training steps per second beside a Python map, in one process and with
    the pipeline in a child process."""
    ds = (
        hr.Dataset.range(10**9)
        .map(augment, num_parallel_calls=2, executor="thread", trace=False)
        .batch(BATCH)
        .prefetch(2)
    )
    child = ds.with_options(hr.Options(pipeline_process=True))
    alone = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(STEPS):
            spin(STEP_MS)
        alone.append(STEPS / (time.perf_counter() - start))
    same, apart = [], []
    for _ in range(repeats):  # alternately, so that drifts in the machine hit both
        same.append(steps_per_second(ds))
        apart.append(steps_per_second(child))
    same_m, apart_m = statistics.median(same), statistics.median(apart)
    print(
        f"noisy neighbour: training steps/s ({STEP_MS} ms of Python each) beside a Python "
        f"map ({ELEMENT_MS} ms x {BATCH} per batch, 2 threads):"
    )
    print(f"  {'no pipeline (the loop alone)':<50} {statistics.median(alone):8.1f} steps/s")
    print(f"  {'pipeline in this process':<50} {same_m:8.1f} steps/s")
    print(
        f"  {'Options(pipeline_process=True)':<50} {apart_m:8.1f} steps/s  "
        f"{apart_m / same_m:5.2f}x in-process"
    )


if __name__ == "__main__":
    main()
