"""Shared helpers for the headrace Python test suite.

numpy is the reference throughout; nothing here imports tensorflow.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PROC_TASKS = Path("/proc/self/task")


def to_py(value):
    """An element as plain Python values (numpy arrays → nested lists, scalars → int/float,
    tuples/dicts kept), for comparing with expected literals."""
    if isinstance(value, tuple):
        return tuple(to_py(v) for v in value)
    if isinstance(value, dict):
        return {k: to_py(v) for k, v in value.items()}
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value


def values(ds):
    """Every element of ``ds`` as plain Python values."""
    return [to_py(x) for x in ds]


def thread_names() -> list[str]:
    """The names of this process's OS threads (Linux: /proc/self/task/*/comm)."""
    names = []
    for task in PROC_TASKS.iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:  # the thread exited while we looked
            pass
    return names


def engine_threads() -> list[str]:
    """The engine's threads now alive in this process (named ``headrace-*``)."""
    return [n for n in thread_names() if n.startswith("headrace")]


def wait_for_engine_threads(expected: int, timeout: float = 3.0) -> list[str]:
    """Polls until exactly ``expected`` engine threads are alive (or ``timeout`` passes);
    returns the names alive at the end."""
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        alive = engine_threads()
        if len(alive) == expected or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


def thread_comm(native_id: int) -> str:
    """The OS name of one of this process's threads, by its native id."""
    return (PROC_TASKS / str(native_id) / "comm").read_text().strip()


# A child started from a shell's background job inherits SIGINT ignored, and then Python
# installs no KeyboardInterrupt handler: restore it, since the tests are about the engine
# honouring that handler.
SIGINT_HANDLER = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"


def child_code(code: str) -> str:
    """``code`` as a child interpreter's program, with Python's Ctrl-C handler installed."""
    return SIGINT_HANDLER + textwrap.dedent(code)


def run_python(code: str, timeout: float = 30.0, **kwargs) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter (the one running the tests)."""
    return subprocess.run(
        [sys.executable, "-c", child_code(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(REPO),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        **kwargs,
    )


needs_proc = pytest.mark.skipif(
    not PROC_TASKS.is_dir(), reason="needs Linux /proc/self/task to count threads"
)


@pytest.fixture
def thread_baseline():
    """The number of engine threads before the test; the test must leave it unchanged."""
    gc.collect()
    before = len(engine_threads())
    yield before
    alive = wait_for_engine_threads(before)
    assert len(alive) == before, f"engine threads left running after the test: {alive}"


def ref_interleave(inputs, make, cycle_length, block_length):
    """tf.data's interleave order (the reference of tf.data's own tests): ``cycle_length``
    open iterators visited in turn, ``block_length`` elements from each; an exhausted one is
    replaced by the next input when its slot comes round again."""
    pending = [iter(make(x)) for x in inputs]
    open_iters = []
    for _ in range(cycle_length):
        open_iters.append(pending.pop(0) if pending else None)
    out = []
    while any(it is not None for it in open_iters) or pending:
        for i in range(cycle_length):
            if open_iters[i] is None:
                if not pending:
                    continue
                open_iters[i] = pending.pop(0)
            for _ in range(block_length):
                try:
                    out.append(next(open_iters[i]))
                except StopIteration:
                    open_iters[i] = None
                    break
    return out


def ref_shard(n: int, num_shards: int, index: int) -> list[int]:
    return list(range(n))[index::num_shards]


# ---------------------------------------------------------------- worker processes


needs_dev_shm = pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm")


def shm_entries(pid: int | None = None) -> set[str]:
    """Segments of process ``pid`` (this one by default) in /dev/shm: ``hr_<pid>_...``."""
    from headrace._shared_memory import SHM_PREFIX

    prefix = f"{SHM_PREFIX}{pid or os.getpid()}_"
    return {n for n in os.listdir("/dev/shm") if n.startswith(prefix)}


def backing(x):
    """What the array's memory belongs to: the object at the end of its base chain."""
    b = x
    while isinstance(b, np.ndarray) and b.base is not None:
        b = b.base
    if isinstance(b, memoryview):
        b = b.obj
    return type(b).__name__
