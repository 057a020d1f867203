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
from headrace import _process

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
    expected = list(ds.map(busy, num_parallel_calls=2, trace=False))
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
