"""``executor`` (and ``num_parallel_calls``) on ``filter`` and ``flat_map``, and ``"auto"`` as
the default executor of Python functions (issue 6).

The reference is always the same pipeline run the plain way: a sequential filter on threads,
a flat_map on threads, numpy.
"""

from __future__ import annotations

import gc
import os
import random
import signal
import subprocess
import sys

import headrace as hr
import numpy as np
import pytest
from conftest import values
from headrace import _auto
from test_process_executor import assert_gone, workers

pytestmark = pytest.mark.timeout(60)


def keep_multiples_of_3(x):
    return bool(int(x) % 3 == 0)


def outside(pid):
    """A predicate true only outside process ``pid``: a filter keeps everything iff it ran
    elsewhere. (A closure: a module global would be this module's, imported again in the
    worker.)"""
    return lambda x: os.getpid() != pid


class Odd(Exception):
    """A picklable exception of this module's own."""


def fail_at_4(x):
    if int(x) == 4:
        raise Odd("element 4 is odd")
    return bool(int(x) % 2 == 0)


def kill_at_4(x):
    if int(x) == 4:
        os.kill(os.getpid(), signal.SIGKILL)
    return True


def repeated(x):
    """A dataset of ``x`` copies of ``x * 10`` (none for 0), made by Python code."""
    n = int(x)
    return hr.Dataset.from_tensor_slices(np.full(n, n * 10, np.int64))


# ---------------------------------------------------------------------- filter


@pytest.mark.parametrize("executor", ["thread", "process", "auto"])
@pytest.mark.parametrize("npc", [None, 1, 3, hr.AUTOTUNE])
def test_filter_equals_the_sequential_filter(executor, npc):
    ds = hr.Dataset.range(40)
    expected = [x for x in range(40) if x % 3 == 0]
    got = ds.filter(keep_multiples_of_3, num_parallel_calls=npc, executor=executor, trace=False)
    assert values(got) == expected
    assert values(ds.filter(keep_multiples_of_3, trace=False)) == expected


@pytest.mark.parametrize("seed", range(4))
def test_parallel_filter_keeps_order_for_any_predicate(seed):
    """Property: for random verdicts, a parallel filter (threads, processes, traced) yields
    exactly the sequential filter's elements in order, and ``deterministic=False`` the same
    multiset."""
    rng = random.Random(seed)
    keep = np.array([rng.random() < 0.4 for _ in range(60)])
    ds = hr.Dataset.from_tensor_slices((np.arange(60), keep))
    expected = [(i, True) for i in range(60) if keep[i]]

    def verdict(i, k):
        return bool(k)

    for executor in ("thread", "process"):
        got = ds.filter(verdict, num_parallel_calls=3, executor=executor, trace=False)
        assert values(got) == expected
        loose = ds.filter(
            verdict, num_parallel_calls=3, deterministic=False, executor=executor, trace=False
        )
        assert sorted(values(loose)) == expected
    traced = ds.filter(lambda i, k: k, num_parallel_calls=3)
    assert "python" not in repr(traced)
    assert values(traced) == expected


def test_process_filter_runs_in_workers_and_keeps_the_element_here():
    image = np.arange(300 * 300, dtype=np.float32).reshape(300, 300)
    ds = hr.Dataset.from_tensors(image).repeat(5)
    got = list(ds.filter(outside(os.getpid()), num_parallel_calls=2, executor="process"))
    assert len(got) == 5
    for x in got:
        np.testing.assert_array_equal(x, image)
    # On threads, the same predicate runs here and keeps nothing.
    assert list(ds.filter(outside(os.getpid()), num_parallel_calls=2, executor="thread")) == []


def test_filter_errors_surface_at_their_element_and_iteration_goes_on():
    for executor in ("thread", "process"):
        it = iter(
            hr.Dataset.range(8).filter(
                fail_at_4, num_parallel_calls=2, executor=executor, trace=False
            )
        )
        assert [int(next(it)) for _ in range(2)] == [0, 2]
        with pytest.raises(Odd, match="element 4 is odd"):
            next(it)
        assert [int(x) for x in it] == [6]


def test_filter_predicate_must_return_a_scalar_bool():
    for executor in ("thread", "process"):
        ds = hr.Dataset.range(3).filter(
            lambda x: 3, num_parallel_calls=2, executor=executor, trace=False
        )
        with pytest.raises(TypeError, match="must return a scalar bool, got a int"):
            list(ds)
    pair = hr.Dataset.range(3).filter(lambda x: (True, False), num_parallel_calls=2, trace=False)
    with pytest.raises(TypeError, match=r"must return a scalar bool, got \(tensor, tensor\)"):
        list(pair)


def test_a_dead_filter_worker_gives_worker_error():
    ds = hr.Dataset.range(8).filter(kill_at_4, num_parallel_calls=2, executor="process")
    it = iter(ds)
    got = []
    with pytest.raises(hr.errors.WorkerError, match="position 4"):
        while True:
            got.append(int(next(it)))
    assert got == [0, 1, 2, 3]
    assert [int(x) for x in it] == [5, 6, 7]


def test_unpicklable_predicate_fails_at_filter_time():
    lock = __import__("threading").Lock()
    with pytest.raises(TypeError, match="filter: executor='process' sends predicate.*'thread'"):
        hr.Dataset.range(3).filter(lambda x: lock is not None, executor="process")
    with pytest.raises(TypeError, match="flat_map: executor='process' sends map_func"):
        hr.Dataset.range(3).flat_map(lambda x: lock, executor="process", trace=False)


def test_filter_pool_ends_with_its_iterator():
    it = iter(
        hr.Dataset.range(1000).filter(
            outside(os.getpid()), num_parallel_calls=2, executor="process"
        )
    )
    next(it)
    pids = [p.pid for p in workers()]
    assert len(pids) == 2
    del it
    gc.collect()
    assert_gone(pids)


# ---------------------------------------------------------------------- flat_map


@pytest.mark.parametrize("executor", ["thread", "process", "auto"])
def test_flat_map_equals_threads(executor):
    ds = hr.Dataset.range(5)
    expected = [n * 10 for n in range(5) for _ in range(n)]
    got = ds.flat_map(repeated, executor=executor, trace=False)
    assert values(got) == expected
    # Epochs of repeat share the worker and give the same elements again.
    assert values(got.repeat(2)) == expected * 2


def test_process_flat_map_structures_strings_and_large_arrays():
    def make(x):
        n = int(x)
        return hr.Dataset.from_tensor_slices(
            {
                "image": np.full((n, 200, 200), n, np.float32),
                "label": np.full(n, f"label-{n}".encode()),
                "pair": (np.arange(n), np.arange(n) * 2.5),
            }
        )

    ds = hr.Dataset.range(4)
    here = list(ds.flat_map(make, executor="thread", trace=False))
    there = list(ds.flat_map(make, executor="process", trace=False))
    assert len(there) == len(here) == 6
    for a, b in zip(here, there, strict=True):
        assert a.keys() == b.keys()
        np.testing.assert_array_equal(a["image"], b["image"])
        assert a["label"] == b["label"]
        np.testing.assert_array_equal(a["pair"][0], b["pair"][0])
        np.testing.assert_array_equal(a["pair"][1], b["pair"][1])


def test_process_flat_map_runs_in_a_worker():
    def where(x):
        return hr.Dataset.from_tensors(np.int64(os.getpid()))

    pids = [int(p) for p in hr.Dataset.range(3).flat_map(where, executor="process", trace=False)]
    assert len(set(pids)) == 1 and pids[0] != os.getpid()


def test_process_flat_map_errors():
    def fail(x):
        if int(x) == 1:
            raise Odd("no dataset for 1")
        return hr.Dataset.from_tensors(x)

    it = iter(hr.Dataset.range(3).flat_map(fail, executor="process", trace=False))
    assert int(next(it)) == 0
    with pytest.raises(Odd, match="no dataset for 1"):
        next(it)
    assert [int(x) for x in it] == [2]
    with pytest.raises(TypeError, match="must return a headrace.Dataset, got int"):
        list(hr.Dataset.range(2).flat_map(lambda x: 3, executor="process", trace=False))


def test_executor_argument_is_checked():
    for op in ("map", "filter", "flat_map"):
        with pytest.raises(ValueError, match=f"{op}: executor must be"):
            getattr(hr.Dataset.range(3), op)(lambda x: x, executor="processes")


# ---------------------------------------------------------------------- "auto" by default


def test_auto_is_the_default_executor_for_python_functions():
    def slow_python(x):
        return x

    ds = hr.Dataset.range(10).map(slow_python, num_parallel_calls=2, trace=False)
    expected = "(python, auto)" if _auto.auto_can_switch() else "(python)"
    assert expected in repr(ds)
    assert values(ds) == list(range(10))
    # One call at a time: plain threads, no runner.
    assert "(python)" in repr(hr.Dataset.range(3).map(slow_python, trace=False))


SCRIPT_WITHOUT_MAIN_GUARD = """
import headrace as hr

def double(x):
    return x * 2

print("module ran", flush=True)
ds = hr.Dataset.range(6).map(double, num_parallel_calls=2, executor="process", trace=False)
print(sorted(int(x) for x in ds), flush=True)
ds = hr.Dataset.range(6).filter(lambda x: x > 2, num_parallel_calls=2, executor="process")
print([int(x) for x in ds], flush=True)
"""


def test_a_script_without_a_main_guard_is_not_run_again_in_the_workers(tmp_path):
    """tf.data users never needed ``if __name__ == "__main__":``; the workers must not import
    the user's script (as spawn and forkserver children do by default)."""
    script = tmp_path / "unguarded.py"
    script.write_text(SCRIPT_WITHOUT_MAIN_GUARD)
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=50
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["module ran", "[0, 2, 4, 6, 8, 10]", "[3, 4, 5]"]
    assert "Traceback" not in result.stderr, result.stderr
