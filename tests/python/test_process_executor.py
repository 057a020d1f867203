"""``map(fn, executor="process")``: Python functions in worker processes (issue 6, first slice).

The whole file runs in well under a minute on 2 cores: worker processes fork from a fork
server that has headrace imported, so a pool starts in a few milliseconds after the first.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import random
import signal
import threading
import time

import headrace as hr
import numpy as np
import pytest
from conftest import backing, needs_dev_shm, shm_entries
from headrace import _auto, _process, _shared_memory

pytestmark = pytest.mark.timeout(30)


def busy(x):
    """A CPU-bound pure-Python function (not traceable: it loops)."""
    t = 0
    for i in range(20_000):
        t += i * int(x)
    return t % 1000 + int(x)


def with_pid(x):
    return int(x), os.getpid()


class Odd(Exception):
    """A picklable exception of this module's own."""


def fail_at_3(x):
    if x == 3:
        raise Odd(f"element {int(x)} is odd")
    return x


def exit_at_3(x):
    if x == 3:
        os._exit(7)
    return x


def kill_at_3(x):
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def map_process(ds, fn, n=2, **kwargs):
    return ds.map(fn, num_parallel_calls=n, executor="process", trace=False, **kwargs)


def workers() -> list:
    return [p for p in multiprocessing.active_children() if p.name.startswith("headrace-map-")]


def assert_gone(pids, timeout=5.0):
    """No pool worker is alive, and none of ``pids`` exists (reaped, not a zombie)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive and not workers():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"workers left: {workers()}, pids alive: {alive}")
        time.sleep(0.02)


def test_results_equal_threads_in_order():
    ds = hr.Dataset.range(40)
    expected = list(ds.map(busy, num_parallel_calls=2, executor="thread", trace=False))
    got = list(map_process(ds, busy))
    assert got == expected == [busy(i) for i in range(40)]
    # AUTOTUNE and a serial map (one worker) too.
    assert list(map_process(ds, busy, n=hr.AUTOTUNE)) == expected
    assert list(ds.map(busy, executor="process", trace=False)) == expected
    assert "busy (python, processes)" in repr(map_process(ds, busy))


def test_closures_lambdas_and_tuples():
    k = 10
    table = {i: i * i for i in range(8)}
    ds = hr.Dataset.range(8)
    assert list(map_process(ds, lambda x: int(x) + k)) == [i + 10 for i in range(8)]
    assert list(map_process(ds, lambda x: table[int(x)])) == [i * i for i in range(8)]
    pairs = hr.Dataset.zip((hr.Dataset.range(4), hr.Dataset.range(10, 14)))
    out = list(map_process(pairs, lambda a, b: (b, a * 2)))
    assert [(int(b), int(a)) for b, a in out] == [(10 + i, 2 * i) for i in range(4)]


def test_numpy_array_round_trip():
    arrays = np.arange(6 * 4 * 3, dtype=np.float32).reshape(6, 4, 3)
    ds = hr.Dataset.from_tensor_slices(arrays)
    out = list(map_process(ds, lambda a: (a * 2, a.sum(axis=-1))))
    for (doubled, sums), a in zip(out, arrays, strict=True):
        np.testing.assert_array_equal(doubled, a * 2)
        np.testing.assert_array_equal(sums, a.sum(axis=-1))
        assert doubled.dtype == np.float32


def test_exception_type_message_and_traceback():
    it = iter(map_process(hr.Dataset.range(6), fail_at_3))
    assert [int(next(it)) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(Odd, match="element 3 is odd") as info:
        next(it)
    notes = "".join(getattr(info.value, "__notes__", []))
    assert "worker process" in notes and "fail_at_3" in notes and "Odd" in notes
    # The iteration goes on, as with a thread's exception.
    assert [int(x) for x in it] == [4, 5]


def test_unpicklable_exception_keeps_type_name_and_message():
    def raise_local(x):
        class Local(Exception):
            pass

        raise Local(f"local {int(x)}")

    with pytest.raises(RuntimeError, match="Local: local 0"):
        list(map_process(hr.Dataset.range(2), raise_local))


@pytest.mark.parametrize("fn", [exit_at_3, kill_at_3], ids=["os._exit", "SIGKILL"])
def test_dead_worker_gives_worker_error_and_iteration_continues(fn):
    it = iter(map_process(hr.Dataset.range(8), fn))
    got = []
    for _ in range(8):
        try:
            got.append(int(next(it)))
        except hr.errors.WorkerError as e:
            assert "position 3" in str(e) and "died" in str(e)
            got.append("died")
    assert got == [0, 1, 2, "died", 4, 5, 6, 7]
    with pytest.raises(StopIteration):
        next(it)
    ds = map_process(hr.Dataset.range(8), fn).ignore_errors()
    assert [int(x) for x in ds] == [0, 1, 2, 4, 5, 6, 7]
    assert issubclass(hr.errors.WorkerError, hr.errors.OpError)


def test_workers_killed_at_random_points_never_hang():
    """A thread SIGKILLs workers at random moments; every element comes back as its value
    or as a WorkerError, in order, and the run ends."""
    rng = random.Random(6)

    def slow(x):
        time.sleep(0.01)
        return int(x)

    ds = map_process(hr.Dataset.range(120), slow)
    it = iter(ds)
    stop = threading.Event()

    def killer():
        while not stop.wait(rng.uniform(0.02, 0.15)):
            victims = workers()
            if victims:
                try:
                    os.kill(rng.choice(victims).pid, signal.SIGKILL)
                except (ProcessLookupError, TypeError):
                    pass

    thread = threading.Thread(target=killer)
    thread.start()
    got = []
    try:
        while True:
            try:
                got.append(next(it))
            except StopIteration:
                break
            except hr.errors.WorkerError:
                got.append(None)
    finally:
        stop.set()
        thread.join()
    assert len(got) == 120
    assert any(g is None for g in got)
    assert [int(g) for g in got if g is not None] == [i for i, g in enumerate(got) if g is not None]
    del it
    gc.collect()
    assert_gone([])


def test_no_worker_outlives_its_iterator():
    ds = map_process(hr.Dataset.range(50), with_pid)
    it = iter(ds)
    pids = {pid for _, pid in (next(it) for _ in range(10))}
    assert pids and all(pid != os.getpid() for pid in pids)
    del it
    gc.collect()
    assert_gone(pids)

    # Closed explicitly, in the middle of a slow call.
    it = iter(map_process(hr.Dataset.range(10), lambda x: (time.sleep(0.3), os.getpid())[1]))
    pid = int(next(it))
    start = time.monotonic()
    it.close()
    assert time.monotonic() - start < 2
    assert_gone([pid])


def test_no_worker_outlives_an_exception_mid_iteration():
    seen = []

    def consume():
        for x, pid in map_process(hr.Dataset.range(100), with_pid):
            seen.append(pid)
            if x == 5:
                raise ValueError("consumer failed")

    with pytest.raises(ValueError, match="consumer failed"):
        consume()
    gc.collect()
    assert_gone(set(seen))

    # And after the function's own exception ended the loop.
    with pytest.raises(Odd):
        list(map_process(hr.Dataset.range(6), fail_at_3))
    gc.collect()
    assert_gone([])


def test_repeat_reuses_the_pool_across_epochs():
    ds = map_process(hr.Dataset.range(12), with_pid).repeat(3)
    out = list(ds)
    assert [x for x, _ in out] == list(range(12)) * 3
    epochs = [{pid for _, pid in out[k * 12 : (k + 1) * 12]} for k in range(3)]
    pool = set().union(*epochs)
    assert len(pool) <= 2, epochs
    gc.collect()
    assert_gone(pool)


def test_unpicklable_function_fails_at_map_time():
    lock = threading.Lock()
    with pytest.raises(TypeError, match="cannot be pickled") as info:
        hr.Dataset.range(3).map(
            lambda x: (lock, x)[1], num_parallel_calls=2, executor="process", trace=False
        )
    assert "executor='thread'" in str(info.value)
    # With threads it runs.
    assert list(hr.Dataset.range(3).map(lambda x: (lock, x)[1], trace=False)) == [0, 1, 2]


def test_executor_argument_is_checked_and_ignored_by_traced_functions():
    with pytest.raises(ValueError, match="executor"):
        hr.Dataset.range(3).map(lambda x: x, executor="gpu")
    ds = hr.Dataset.range(3).map(lambda x: x + 1, num_parallel_calls=2, executor="process")
    assert "traced" in repr(ds)
    assert list(ds) == [1, 2, 3]


def test_pools_close_at_interpreter_exit_hook():
    it = iter(map_process(hr.Dataset.range(10), with_pid))
    pid = next(it)[1]
    _process._close_live_pools()
    assert_gone([pid])
    # The pipeline's next element finds its pool closed: an error, not a hang.
    with pytest.raises((hr.errors.CancelledError, hr.errors.WorkerError)):
        for _ in it:
            pass
    it.close()


# ---------------------------------------------------------------- shared memory (issue 6)


def assert_no_segments(timeout=5.0):
    deadline = time.monotonic() + timeout
    while shm_entries():
        if time.monotonic() > deadline:
            raise AssertionError(f"segments left in /dev/shm: {sorted(shm_entries())}")
        time.sleep(0.02)


def describe_input(x):
    """Whether the worker's input is backed by shared memory (an ``mmap``), and owns no data."""
    return backing(x) == "mmap", bool(x.flags.owndata), x * 2


def images(n=6):
    rng = np.random.default_rng(6)
    floats = rng.random((n, 224, 224, 3), dtype=np.float32)
    bytes_ = rng.integers(0, 256, (n, 224, 224, 3), dtype=np.uint8)
    return floats, bytes_


@pytest.mark.timeout(30)
def test_images_round_trip_exactly_through_shared_memory():
    floats, bytes_ = images()
    ds = hr.Dataset.from_tensor_slices((floats, bytes_))
    out = list(map_process(ds, lambda f, b: (f, b)))
    for (f, b), ef, eb in zip(out, floats, bytes_, strict=True):
        assert f.dtype == np.float32 and b.dtype == np.uint8
        np.testing.assert_array_equal(f, ef)
        np.testing.assert_array_equal(b, eb)
    # Computed results (new arrays in the worker) too, one worker and two.
    for n in (1, 2):
        out = list(map_process(hr.Dataset.from_tensor_slices(floats), lambda f: f * 2 + 1, n=n))
        for got, f in zip(out, floats, strict=True):
            np.testing.assert_array_equal(got, f * 2 + 1)


@pytest.mark.timeout(30)
def test_worker_input_is_backed_by_shared_memory():
    floats, _ = images(4)
    out = list(map_process(hr.Dataset.from_tensor_slices(floats), describe_input))
    for (in_shm, owndata, doubled), f in zip(out, floats, strict=True):
        assert in_shm and not owndata
        np.testing.assert_array_equal(doubled, f * 2)
    # A small array stays in the pickle: the worker has its own copy.
    small = np.arange(12, dtype=np.float32).reshape(4, 3)
    out = list(map_process(hr.Dataset.from_tensor_slices(small), describe_input))
    assert not any(in_shm for in_shm, _, _ in out)


def kept_results(fn, arrays, n=1):
    """``fn`` over ``arrays`` through one pool's ``run``, every result kept (the values, and
    the pool's workers for inspection); the pool is closed after."""
    pool = _process.ProcessMap(fn, n).start()
    try:
        kept = []
        for i, a in enumerate(arrays):
            out = pool.run(i, lambda: False, (a,))
            assert isinstance(out, _shared_memory.Adoptable)
            kept.append(out.value)
        workers = list(pool._all)
    finally:
        pool.close()
    return kept, workers


@pytest.mark.timeout(30)
def test_results_are_backed_by_a_segment_until_freed():
    """Pool.run's result arrays use the worker's segments; while one is alive the worker
    writes its next results elsewhere, so a kept result never changes. With too few
    segments left, results are copied out at once."""
    floats, _ = images(8)
    kept, _ = kept_results(lambda f: f + 1, floats)
    for got, f in zip(kept, floats, strict=True):
        np.testing.assert_array_equal(got, f + 1)
    # The first result sizes the result segments (in band); then one segment per kept result
    # while enough are left for the next request, then copies.
    owners = [backing(k) for k in kept]
    assert owners[0] != "mmap" and owners[1] == "mmap", owners
    assert 1 <= owners.count("mmap") <= _process._SEGMENTS - 2, owners
    assert owners[-1] != "mmap", owners
    assert_no_segments()
    # Still readable after the pool unlinked the segments: the mapping lives with the arrays.
    np.testing.assert_array_equal(kept[1], floats[1] + 1)


def add_in_place(f):
    f += 1
    return f


def first_half(f):
    return f[: len(f) // 2]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fn", [lambda f: f, add_in_place, first_half])
def test_a_result_lying_in_its_input_is_not_copied_by_the_worker(fn):
    """A result that is the worker's input (or a contiguous view of it) is sent as its place
    in the input segment: no result segment is ever needed, and a kept result is not
    overwritten by the next elements (they go to other segments)."""
    floats, _ = images(8)
    expected = [fn(f.copy()) for f in floats]
    kept, (worker,) = kept_results(fn, floats)
    assert worker.result_need == 0  # never sent in band: nothing needed a result segment
    owners = [backing(k) for k in kept]
    assert owners[0] == "mmap", owners
    for got, want in zip(kept, expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.timeout(30)
def test_large_and_small_arrays_mixed_in_tuples_and_dicts():
    floats, bytes_ = images(3)

    def mix(f, b):
        return {
            "big": f,
            "pair": (b, np.float32(f[0, 0, 0])),
            "small": f[:2, :2, 0].copy(),
            "view": f[::2, ::2],  # not contiguous: pickled in band
            "text": b"abc",
        }

    out = list(map_process(hr.Dataset.from_tensor_slices((floats, bytes_)), mix))
    for got, f, b in zip(out, floats, bytes_, strict=True):
        np.testing.assert_array_equal(got["big"], f)
        np.testing.assert_array_equal(got["pair"][0], b)
        assert got["pair"][1] == f[0, 0, 0]
        np.testing.assert_array_equal(got["small"], f[:2, :2, 0])
        np.testing.assert_array_equal(got["view"], f[::2, ::2])
        assert got["text"] == b"abc"


def strided(f):
    return f[::2, ::2]


def pair_of_views(f):
    return f, f[:10]


def fresh_dict(f):
    return {"doubled": f * 2, "sum": f.sum(dtype=np.float64), "rows": f[3]}


def as_list(f):
    return [f, f * 2]  # taken as a tuple, as tf.data does; not adopted (copied)


EXACT_CASES = [lambda f: f, add_in_place, first_half, strided, pair_of_views, fresh_dict, as_list]


def assert_same(got, want):
    """Equal values of the same structure (tuples and dicts of arrays)."""
    assert type(got) is type(want)
    if isinstance(want, dict):
        assert sorted(got) == sorted(want)
        for k in want:
            assert_same(got[k], want[k])
    elif isinstance(want, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_same(g, w)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fn", EXACT_CASES, ids=lambda f: getattr(f, "__name__", "fn"))
@pytest.mark.parametrize("n", [1, 2])
def test_fast_paths_give_the_thread_results_and_kept_results_never_change(fn, n):
    """The worker's zero-copy result, the result segments and the engine adopting arrays
    give exactly what executor="thread" gives (which copies everything), whether the
    consumer keeps every result (the segments run out: copies) or drops each at once."""
    floats = np.random.default_rng(7).random((30, 224, 224, 3), dtype=np.float32)
    source = hr.Dataset.from_tensor_slices(floats)
    if fn is add_in_place:
        # The engine's own arrays are read-only (shared); a worker's input is its own copy.
        want = [fn(f.copy()) for f in floats]
    else:
        want = list(source.map(fn, trace=False))
    got = list(map_process(source, fn, n=n))
    # Checked only now: a later element overwriting an earlier result would show here.
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert_same(g, w)
    # Dropped at once, a few kept (every 7th) and checked at the end.
    kept = {}
    for i, g in enumerate(map_process(source, fn, n=n)):
        if i % 7 == 0:
            kept[i] = g
    for i, g in kept.items():
        assert_same(g, want[i])
    del got, kept
    gc.collect()
    assert_no_segments()


def test_adopted_results_are_read_only_and_outlive_the_pipeline():
    floats, _ = images(4)
    it = iter(map_process(hr.Dataset.from_tensor_slices(floats), lambda f: f, n=1))
    first = next(it)
    assert not first.flags.writeable  # shared with the engine's tensor: never written
    rest = list(it)
    del it
    gc.collect()
    assert_no_segments()
    for got, f in zip([first, *rest], floats, strict=True):
        np.testing.assert_array_equal(got, f)


@pytest.mark.timeout(30)
def test_without_shared_memory_everything_goes_through_the_pipe(monkeypatch):
    """Segments that cannot be made (a full /dev/shm) leave the arrays in the pickle, at
    any size, and the results are the same."""

    def full(size):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_process, "Segment", full)
    sizes = [300, 2_000, 50, 4_000]
    arrays = [np.full(s * 256, s, dtype=np.float32) for s in sizes]
    kept, (worker,) = kept_results(lambda a: a * 2, arrays)
    assert worker.segments == [] and worker.need > 0
    for got, a in zip(kept, arrays, strict=True):
        np.testing.assert_array_equal(got, a * 2)


@pytest.mark.timeout(30)
def test_growing_elements_get_larger_segments():
    sizes = [1, 300, 2_000, 50, 4_000]  # KiB-ish: below, above and well above a segment
    arrays = [np.full(s * 256, s, dtype=np.float32) for s in sizes]
    ds = hr.Dataset.from_generator(
        lambda: iter(arrays), output_signature=hr.TensorSpec([None], hr.float32)
    )
    out = list(map_process(ds, lambda a: a * 2, n=1))
    for got, a in zip(out, arrays, strict=True):
        np.testing.assert_array_equal(got, a * 2)
    gc.collect()
    assert_no_segments()


@needs_dev_shm
@pytest.mark.timeout(30)
def test_no_segment_outlives_its_pipeline():
    floats, _ = images(8)
    source = hr.Dataset.from_tensor_slices(floats)
    assert_no_segments()

    # Iterated to the end.
    assert len(list(map_process(source, lambda f: f + 1))) == 8
    gc.collect()
    assert_no_segments()

    # Dropped in the middle.
    it = iter(map_process(source, lambda f: f + 1))
    next(it)
    assert shm_entries()  # in use while the pipeline runs
    del it
    gc.collect()
    assert_no_segments()

    # An exception in the consumer, then one in the function.
    with pytest.raises(ValueError):
        for i, _ in enumerate(map_process(source, lambda f: f + 1)):
            if i == 3:
                raise ValueError("consumer failed")
    gc.collect()
    assert_no_segments()

    def fail(f):
        if f[0, 0, 0] == floats[3][0, 0, 0]:
            raise Odd("odd image")
        return f

    with pytest.raises(Odd):
        list(map_process(source, fail))
    gc.collect()
    assert_no_segments()


def kill_on_fourth(f):
    if f[0, 0, 0] == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return f


@needs_dev_shm
@pytest.mark.timeout(30)
def test_no_segment_outlives_a_killed_worker():
    floats = np.stack([np.full((224, 224, 3), i, dtype=np.float32) for i in range(8)])
    got = []
    for x in map_process(hr.Dataset.from_tensor_slices(floats), kill_on_fourth).ignore_errors():
        got.append(int(x[0, 0, 0]))
    assert got == [0, 1, 2, 4, 5, 6, 7]
    gc.collect()
    assert_no_segments()


CHILD = r"""
import gc, multiprocessing, os, signal, sys, threading, time
import numpy as np
import headrace as hr

def f(x):
    time.sleep(0.01)
    return x + 1

def workers():
    return [p.pid for p in multiprocessing.active_children() if p.name.startswith("headrace-map-")]

def segments():
    prefix = f"hr_{os.getpid()}_"
    return [n for n in os.listdir("/dev/shm") if n.startswith(prefix)]

if __name__ == "__main__":
    mode = sys.argv[1]
    image = np.zeros((224, 224, 3), np.float32)
    ds = hr.Dataset.from_tensors(image).repeat(200).map(
        f, num_parallel_calls=2, executor="process", trace=False)
    it = iter(ds)
    next(it)
    # Everything this process started: the workers, the fork server, the resource tracker.
    helpers = [multiprocessing.forkserver._forkserver._forkserver_pid,
               multiprocessing.resource_tracker._resource_tracker._pid]
    print("pids", os.getpid(), *workers(), *helpers, flush=True)
    if mode.startswith("sigint"):
        # Ctrl-C: the terminal signals the whole process group (this one is a session of
        # its own), workers and fork server included.
        threading.Timer(0.2, lambda: os.killpg(os.getpgrp(), signal.SIGINT)).start()
    if mode == "sigint":
        try:
            for _ in it:
                pass
        except KeyboardInterrupt:
            pass
        del it
        gc.collect()
        # Caught: the pool ended at once, not only at exit.
        print("interrupted", len(workers()), len(segments()), flush=True)
    elif mode == "sigint-uncaught":
        for _ in it:
            pass
        print("not interrupted", flush=True)
    elif mode == "exit":
        next(it)
        sys.exit(0)  # the iterator still open: the atexit hook ends the pool
    else:
        assert len(list(it)) == 199
    print("done", flush=True)
"""


def gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie not yet reaped by its new parent counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@needs_dev_shm
@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["full", "sigint", "sigint-uncaught", "exit"])
def test_nothing_left_after_a_fresh_interpreter_ends(tmp_path, mode):
    """A script iterating a process map to the end, interrupted by Ctrl-C (caught, or ending
    it with KeyboardInterrupt), or exiting mid-iteration: no worker, fork server or resource
    tracker outlives it, nothing is left in /dev/shm, and the tracker warns about nothing."""
    import subprocess
    import sys

    script = tmp_path / "child.py"
    script.write_text(CHILD)
    result = subprocess.run(
        [sys.executable, str(script), mode],
        capture_output=True,
        text=True,
        timeout=50,
        start_new_session=True,
    )
    lines = result.stdout.splitlines()
    pids = [int(p) for p in next(line for line in lines if line.startswith("pids")).split()[1:]]
    # The script, its two workers, the fork server, the resource tracker.
    assert len(pids) == 5, lines
    script_pid, started = pids[0], pids[1:]
    if mode == "sigint-uncaught":
        # Python ends an uncaught KeyboardInterrupt by SIGINT, after its exit hooks.
        assert result.returncode == -signal.SIGINT, (result.returncode, result.stderr)
        assert "KeyboardInterrupt" in result.stderr and "not interrupted" not in result.stdout
        assert result.stderr.count("Traceback") == 1, result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        assert ("done" in lines) == (mode != "exit"), lines
    if mode == "sigint":
        assert "interrupted 0 0" in lines, lines
    assert "resource_tracker" not in result.stderr and "leaked" not in result.stderr, result.stderr
    deadline = time.monotonic() + 5
    while not all(gone(p) for p in started):
        assert time.monotonic() < deadline, [p for p in started if not gone(p)]
        time.sleep(0.02)
    prefix = f"{_shared_memory.SHM_PREFIX}{script_pid}_"
    assert not [n for n in os.listdir("/dev/shm") if n.startswith(prefix)]


# ---------------------------------------------------------------- seeds (issue 6)


def draw(x):
    """What a function draws from the global generators, with its element."""
    return int(x), np.float64(random.random()), np.float64(np.random.rand())


def draws(ds) -> dict[int, tuple[float, float]]:
    return {int(x): (float(a), float(b)) for x, a, b in ds}


def seeded_map(n, seed=0, elements=12, **kwargs):
    random.seed(seed)  # the map's seed is drawn when map() is called
    return map_process(hr.Dataset.range(elements), draw, n=n, **kwargs)


@pytest.mark.timeout(60)
def test_seeds_depend_on_the_element_not_on_the_worker():
    one = draws(seeded_map(1))
    assert draws(seeded_map(3)) == one
    assert draws(seeded_map(3, deterministic=False)) == one
    # Each generator gives each element its own values.
    assert len({a for a, _ in one.values()}) == 12
    assert len({b for _, b in one.values()}) == 12
    # A dataset built again with the seed repeats its iterations; each iteration draws anew
    # (as shuffle reshuffles); another seed before map() draws otherwise.
    ds = seeded_map(2)
    first, second = draws(ds), draws(ds)
    assert first == one and second != one
    again = seeded_map(3)
    assert draws(again) == one and draws(again) == second
    assert draws(seeded_map(2, seed=1)) != one


@pytest.mark.timeout(60)
def test_each_epoch_of_repeat_draws_anew():
    random.seed(0)
    ds = map_process(hr.Dataset.range(6), draw, n=2).repeat(2)
    out = [(int(x), float(a), float(b)) for x, a, b in ds]
    first, second = out[:6], out[6:]
    assert [x for x, _, _ in first] == [x for x, _, _ in second] == list(range(6))
    assert not {a for _, a, _ in first} & {a for _, a, _ in second}
    assert not {b for _, _, b in first} & {b for _, _, b in second}
    # The next iteration draws anew (its stage builds are epochs 2 and 3), and a dataset
    # built again with the seed repeats both iterations.
    later = [(int(x), float(a), float(b)) for x, a, b in ds]
    assert not {a for _, a, _ in later} & {a for _, a, _ in out}
    random.seed(0)
    rebuilt = map_process(hr.Dataset.range(6), draw, n=2).repeat(2)
    assert [(int(x), float(a), float(b)) for x, a, b in rebuilt] == out
    assert [(int(x), float(a), float(b)) for x, a, b in rebuilt] == later


@pytest.mark.timeout(60)
def test_calls_without_a_position_are_not_reseeded():
    """Pool.run(None, ...) (a call that has no position) leaves the worker's generators as
    they are: two such calls draw different values."""
    pool = _process.ProcessMap(draw, 1).start()
    try:
        a = pool.run(None, lambda: False, (0,)).value
        b = pool.run(None, lambda: False, (0,)).value
        c = pool.run(5, lambda: False, (0,)).value
        d = pool.run(5, lambda: False, (0,)).value
    finally:
        pool.close()
    assert a[1:] != b[1:]
    assert c[1:] == d[1:]


@pytest.mark.skipif(not _auto.auto_can_switch(), reason="executor='auto' stays on threads")
@pytest.mark.timeout(60)
def test_auto_runner_counts_epochs_and_seeds_its_pool_as_a_process_map():
    """An auto runner counts the epochs while on threads and hands the count to the pool it
    starts; its calls there draw what a process map's draw at that epoch and position."""
    random.seed(0)
    runner = _auto.AutoMap(draw, 1).start()
    random.seed(0)
    pool = _process.ProcessMap(draw, 1).start()
    try:
        for _ in range(2):
            runner.begin_epoch()
            pool.begin_epoch()
        runner._switch()
        assert runner.mode == "process-trial" and runner._pool.epoch == 2
        runner.begin_epoch()
        pool.begin_epoch()
        assert runner._pool.epoch == 3
        never = lambda: False  # noqa: E731
        assert runner.run(4, never, (4,)).value == pool.run(4, never, (4,)).value
    finally:
        runner.close()
        pool.close()
