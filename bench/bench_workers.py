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
     Target: at most 100 us. The arrays go through shared memory (pickle protocol 5, out of
     band); the same pipeline with ``executor="thread"`` is shown for reference (the
     engine's own cost: the source, the conversions to and from numpy).

Each figure is the median of ``--repeats`` runs. ``busy`` uses only builtins, so headrace
first tries to trace it; its loop would unroll into millions of ops, so the tracer gives up
after ``tracing.MAX_TRACED_OPS`` and the function runs as Python, as a user's would.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import headrace as hr
import numpy as np
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


def row(name: str, ours: float, theirs: float | None, serial: float, target: str = "") -> None:
    ratio = f"{theirs / ours:8.2f}x" if theirs else "     n/a"
    theirs_text = f"{theirs:10.3f}" if theirs else f"{'(no tf)':>10}"
    print(
        f"{name:<52} {ours:10.3f} {theirs_text} {'s':<3} {ratio}  "
        f"{serial / ours:5.2f}x serial  {target}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tf = load_tf()
    print(f"cores: {os.cpu_count()}  tensorflow: {tf.__version__ if tf else 'not installed'}")

    serial = seconds(lambda: [busy(x) for x in range(ELEMENTS)], args.repeats)
    print(f"serial Python loop over {ELEMENTS} elements: {serial:.3f} s")
    print(f"{'figure':<52} {'headrace':>10} {'tf.data':>10} {'':<3} {'ratio':>9}")

    processes = hr.Dataset.range(ELEMENTS).map(
        busy_element, num_parallel_calls=2, executor="process"
    )
    threads = hr.Dataset.range(ELEMENTS).map(busy_element, num_parallel_calls=2)
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

    row(
        'busy x8: executor="process", 2 workers (tf: AUTOTUNE)',
        seconds(lambda: list(processes), args.repeats),
        theirs,
        serial,
        target=">= 1.8x serial",
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
    sleeping(tf, args.repeats)
    transfer(args.repeats)


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


def identity(x):
    return x


def transfer(repeats: int) -> None:
    """Figure 2: a 224x224x3 float32 image to a worker process and back."""
    image = np.random.default_rng(6).random((224, 224, 3), dtype=np.float32)
    source = hr.Dataset.from_tensors(image).repeat()
    print(f"224x224x3 float32 to a worker and back (identity), {IMAGES} elements:")
    for label, kwargs in [
        ('executor="process", 2 workers', {"num_parallel_calls": 2, "executor": "process"}),
        ('executor="process", 1 worker', {"num_parallel_calls": 1, "executor": "process"}),
        ('executor="thread", 2 calls (reference)', {"num_parallel_calls": 2}),
    ]:
        # One running pipeline, timed once warm (workers started, segments sized).
        it = iter(source.map(identity, trace=False, **kwargs))
        for _ in range(50):
            assert np.array_equal(next(it), image)

        def take(it=it) -> None:
            for _ in range(IMAGES):
                next(it)

        us = seconds(take, repeats) / IMAGES * 1e6
        target = "target <= 100 us" if "process" in label else ""
        print(f"  {label:<50} {us:8.1f} us per element over the function  {target}")
        del it


if __name__ == "__main__":
    main()
