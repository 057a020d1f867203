"""``map(fn, executor="process")`` (and ``filter``'s, ``flat_map``'s): a Python function run
in a pool of worker processes.

The engine calls ``ProcessMap.start()`` once per running pipeline (the epochs of ``repeat``
share the pool) and ``Pool.close()`` when the pipeline is dropped. Each engine worker thread
takes a worker process for one element: it sends the element (pickled, protocol 5), waits for
the reply without the GIL, and checks all the while that the worker is alive and that the
stage was not cancelled, so a dead worker or a dropped pipeline never leaves a thread hanging.

The function is pickled once, with cloudpickle (lambdas and closures), when ``map()`` is
called, and sent to each worker when it starts.

Large buffers (numpy arrays of 64 KiB or more) do not go through the pipe: they are written
into shared memory (``_shared_memory.dumps``), and only their place in it travels. Each worker
has a few segments, created, grown and unlinked by this process only (the worker attaches to
them by name): one takes an element, another its result, and a result that is its input (or a
view of it) stays where it is. The engine keeps the result's arrays without copying them
(``Adoptable``); a segment is reused once no array uses it.

Before each call with a position, the worker seeds ``random`` and numpy's global generator
from (the map's seed, the epoch, the position), so the values a function draws depend on its
element, not on the worker that ran it.

``executor="auto"`` (``_auto``) starts on threads and moves to a pool of this module's kind.
"""

from __future__ import annotations

import atexit
import mmap
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.spawn
import os
import pickle
import random
import select
import signal
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from ._shared_memory import Adoptable, Segment, dumps, loads, mapping_address
from ._shared_memory import attach as attach_segment
from .errors import CancelledError, WorkerError

# How often a wait for a worker checks the worker's liveness (the sentinel is watched all the
# time) and the stage's cancellation, in seconds.
_POLL_S = 0.05
_POLL_MS = int(_POLL_S * 1000)

# Every pool not yet closed, closed at interpreter exit.
_LIVE_POOLS: weakref.WeakSet[Pool] = weakref.WeakSet()
_server_lock = threading.Lock()
_server_started: list[bool] = []

# Segments per worker at most. A result's arrays are backed by a segment until the engine frees
# them, and each request needs two free ones (its element's, its result's).
_SEGMENTS = 6
# A result keeps its segments (the engine adopts its arrays) only while the worker has this
# many free or yet to be made (it may pin two, and the next request needs two); otherwise its
# arrays are copied out at once, as the consumer keeps many results.
_ADOPT_SPARE = 4

_MASK64 = (1 << 64) - 1


def _mix(z: int) -> int:
    """splitmix64's output step: 64 well-mixed bits of ``z``."""
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


@atexit.register
def _close_live_pools() -> None:
    # (The segments left are unlinked by _shared_memory's exit hook, which runs after this
    # one: it was registered first.)
    for pool in list(_LIVE_POOLS):
        pool.close()


def _context() -> Any:
    """The "forkserver" start method: the engine runs threads in this process, and forking a
    process that has threads (plain fork) copies locks that other threads held, which can
    deadlock the child. The fork server is a small single-threaded process that forks each
    worker, with this module (and numpy) already imported, so a worker starts in a few ms."""
    ctx = multiprocessing.get_context("forkserver")
    with _server_lock:
        if not _server_started:
            ctx.set_forkserver_preload([__name__])
            # Python 3.11's fork server ignores the sys.path it is handed: give it ours
            # through PYTHONPATH, so that functions pickled by reference (defined in a module
            # found through sys.path) can be imported in the workers.
            saved = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
            try:
                multiprocessing.forkserver.ensure_running()
            finally:
                if saved is None:
                    del os.environ["PYTHONPATH"]
                else:
                    os.environ["PYTHONPATH"] = saved
            _server_started.append(True)
    return ctx


# Set on the thread starting a worker: its preparation data then leaves the main module out.
_starting_worker = threading.local()
_get_preparation_data = multiprocessing.spawn.get_preparation_data


def _preparation_data(name: str) -> dict[str, Any]:
    """``multiprocessing.spawn.get_preparation_data``, without the main module for headrace's
    workers: a spawned or fork-server child otherwise runs the user's script again as
    ``__mp_main__``, so a script without an ``if __name__ == "__main__":`` guard would build
    and iterate its pipeline again in every worker (tf.data users never needed the guard).
    The workers need nothing from it: ``fn`` is pickled with cloudpickle, which sends what
    the main module defines by value."""
    data = _get_preparation_data(name)
    if getattr(_starting_worker, "active", False):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


multiprocessing.spawn.get_preparation_data = _preparation_data


def start_process(process: Any) -> None:
    """Starts a worker ``process`` of the fork-server context without the main module."""
    _starting_worker.active = True
    try:
        process.start()
    finally:
        _starting_worker.active = False


def how_it_ended(process: Any) -> str:
    """How a child process that stopped answering ended, for an error message: its signal,
    its exit code, or (still running) a broken pipe. Waits a second for it to end."""
    process.join(1)
    code = process.exitcode
    if code is None:
        return "its pipe broke"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def dumps_function(fn: Callable[..., Any], name: str, op: str = "map") -> bytes:
    """``fn`` with its closure as bytes for the workers; a clear error at ``map()`` time when
    it cannot be pickled. ``op``: the transformation it was given to, for the message."""
    import cloudpickle

    argument = "predicate" if op == "filter" else "map_func"
    try:
        return cloudpickle.dumps(fn, protocol=5)
    except Exception as e:
        raise TypeError(
            f"{op}: executor='process' sends {argument} to worker processes, so it must be "
            f"picklable (with cloudpickle), and {name} cannot be pickled: "
            f"{type(e).__name__}: {e}. Use executor='thread' to run it in this process."
        ) from e


class Epochs:
    """The builds of one map stage, across all the pipelines running it: each build (an epoch
    of ``repeat``, or a new iteration of the dataset) takes the next number, so that the
    calls' seeds change from epoch to epoch, as ``shuffle`` reshuffles."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0

    def take(self) -> int:
        with self._lock:
            epoch = self._next
            self._next += 1
            return epoch

    def skip(self, count: int) -> None:
        """Skips ``count`` epochs (a pipeline rebuilt in a child process catches up with the
        iterations the dataset already had)."""
        with self._lock:
            self._next += count


def function_name(fn: Callable[..., Any]) -> str:
    """The name a stage running ``fn`` shows: ``fn (python, processes)``."""
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "function")


class PoolFactory:
    """What the engine holds for a Python function run in worker processes (``ProcessMap``,
    ``_auto.AutoMap``): its name, the pool size, the seed of its calls and the stage's
    epochs. The engine calls ``start()`` once per running pipeline and ``next_epoch()`` each
    time it builds the stage."""

    # How the stage describes itself: ``fn (python, processes)``.
    executor = "processes"

    def __init__(self, name: str, processes: int) -> None:
        self.name = name
        self.processes = processes
        # Drawn now, as an unseeded traced op's seed (tracing.resolve_seed): random.seed(n)
        # before building the pipeline makes its runs repeat.
        self.seed = random.getrandbits(64)
        self.epochs = Epochs()

    def next_epoch(self) -> int:
        """The epoch of the stage the engine is building (see ``Epochs``)."""
        return self.epochs.take()


class ProcessMap(PoolFactory):
    """What ``Dataset.map`` (``filter``, ``flat_map``) hands the engine for
    ``executor="process"``: ``fn`` pickled now, a pool per running pipeline. ``op`` names
    the transformation in errors; ``name`` is ``fn``'s name by default."""

    def __init__(
        self, fn: Callable[..., Any], processes: int, op: str = "map", name: str | None = None
    ) -> None:
        name = name or function_name(fn)
        self._fn_bytes = dumps_function(fn, name, op)
        super().__init__(name, processes)

    def start(self) -> Pool:
        return Pool(self._fn_bytes, self.processes, self.name, self.seed)


class _Worker:
    """A worker process, its pipe and its shared-memory segments (for elements and results
    alike), used only by the thread that has checked the worker out."""

    __slots__ = (
        "process",
        "conn",
        "poller",
        "_lock",
        "_stopped",
        "segments",
        "need",
        "result_need",
        "drop",
    )

    def __init__(self, process: Any, conn: Any) -> None:
        self.process = process
        self.conn = conn
        # Watches the pipe and the process's sentinel (made once: a wait is per element).
        self.poller = select.poll()
        self.poller.register(conn.fileno(), select.POLLIN)
        self.poller.register(process.sentinel, select.POLLIN)
        self._lock = threading.Lock()
        self._stopped = False
        self.segments: list[Segment] = []
        # The bytes the largest element or result needed: segments are made as large.
        self.need = 0
        # The bytes the last result that did not fit needed (0: results have needed none).
        self.result_need = 0
        # Names of segments retired since the last request: the worker lets go of them.
        self.drop: list[str] = []

    def free_segment(self, need: int, exclude: Segment | None = None) -> Segment | None:
        """A segment of at least ``need`` bytes that no array uses (free ones too small are
        retired), made when there is none and the worker has fewer than ``_SEGMENTS``; None
        then, or when shared memory is short (the arrays go through the pipe)."""
        chosen = None
        for segment in list(self.segments):
            if segment is exclude or segment.in_use():
                continue
            if segment.size < need:
                self.segments.remove(segment)
                self.retire(segment)
            elif chosen is None:
                chosen = segment
        if chosen is None and need and len(self.segments) < _SEGMENTS:
            chosen = self.new_segment(max(need, self.need))
        return chosen

    def spare(self) -> int:
        """Segments free or yet to be made."""
        return _SEGMENTS - sum(1 for s in self.segments if s.in_use())

    def mapping(self, name: str) -> mmap.mmap:
        for segment in self.segments:
            if segment.name == name:
                return segment.mmap
        raise KeyError(f"no segment {name}")

    def new_segment(self, size: int) -> Segment | None:
        """A segment for this worker, or None when shared memory is short (the buffers then
        go through the pipe) or the worker was stopped meanwhile."""
        try:
            segment = Segment(size)
        except OSError:
            return None
        with self._lock:
            # Listed under the lock: stop() unlinks every segment listed once it has run.
            if not self._stopped:
                self.segments.append(segment)
                return segment
        segment.unlink()
        return None

    def retire(self, segment: Segment) -> None:
        segment.unlink()
        self.drop.append(segment.name)

    def stop(self) -> None:
        """Ends the process (it may be in the middle of a call), reaps it, and unlinks its
        segments. Idempotent: the pool's close and a thread giving the worker back may both
        call it."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            segments = list(self.segments)
        for segment in segments:
            segment.unlink()
        self.conn.close()
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
        self.process.join()


class Pool:
    """``processes`` worker processes for one running pipeline. A worker serves one element at
    a time; one that dies is replaced on the next call that needs it."""

    def __init__(self, fn_bytes: bytes, processes: int, name: str, seed: int | None = None) -> None:
        self._ctx = _context()
        self._fn_bytes = fn_bytes
        self._size = processes
        self._name = name
        self._seed = random.getrandbits(64) if seed is None else seed & _MASK64
        self.begin_epoch(0)
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._closed = False
        _LIVE_POOLS.add(self)
        try:
            for _ in range(processes):
                self._idle.append(self._spawn())
        except BaseException:
            self.close()
            raise

    def begin_epoch(self, epoch: int | None = None) -> None:
        """The engine built the stage again: the calls' seeds change. ``epoch`` is the stage's
        build number (``ProcessMap.next_epoch``: each epoch of ``repeat`` and each iteration
        of the dataset); without it, the next. A call's seed is
        ``_mix(_mix(_mix(seed) ^ epoch) ^ position)``."""
        self.epoch = self.epoch + 1 if epoch is None else epoch
        self._epoch_key = _mix(_mix(self._seed) ^ self.epoch)

    def pids(self) -> list[int]:
        """The workers' process ids (for tests)."""
        with self._cond:
            return sorted(w.process.pid for w in self._all)

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main,
            args=(child, self._fn_bytes),
            name=f"headrace-map-{self._name}",
            # Daemonic: multiprocessing ends it at exit even if nothing else did.
            daemon=True,
        )
        start_process(process)
        child.close()
        worker = _Worker(process, parent)
        with self._cond:
            if self._closed:
                worker.stop()
                raise CancelledError("map: the pool of worker processes was closed")
            self._all.add(worker)
        return worker

    def _checkout(self, cancelled: Callable[[], bool]) -> _Worker:
        with self._cond:
            while True:
                if self._closed or cancelled():
                    raise CancelledError("map: the pipeline was cancelled")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < self._size:
                    break  # a worker died: start its replacement (outside the lock)
                self._cond.wait(_POLL_S)
        return self._spawn()

    def _checkin(self, worker: _Worker, healthy: bool) -> None:
        with self._cond:
            if healthy and not self._closed:
                self._idle.append(worker)
                self._cond.notify()
                return
            self._all.discard(worker)
            self._cond.notify()
        worker.stop()

    def run(self, position: int | None, cancelled: Callable[[], bool], args: tuple) -> Any:
        """``fn(*args)`` in a worker process: its value (as ``Adoptable``, but for a list),
        or its exception raised here."""
        seed = None if position is None else _mix(self._epoch_key ^ (position & _MASK64))
        worker = self._checkout(cancelled)
        healthy = False
        try:
            request = self._request(worker, seed, args)
            reply = self._exchange(worker, position, cancelled, request)
            healthy = True
            # Unpickled before the worker is given back: its arrays may be backed by its
            # segments, which its next call must then leave alone (``in_use``).
            ok, value = self._unpack(worker, reply)
        except (OSError, ValueError):
            if not self._closed:
                raise
            # The pool was closed (interpreter exit) while this call used its worker.
            raise CancelledError("map: the pool of worker processes was closed") from None
        finally:
            self._checkin(worker, healthy)
        if not ok:
            raise _rebuild_exception(value)
        # Nothing else refers to what was just unpickled: the engine may keep its arrays.
        # A list is handed back as it is: flat_map(executor="process") reads its worker's
        # elements as one (function.rs, elements_dataset), and copies them.
        return value if type(value) is list else Adoptable(value)

    def _request(self, worker: _Worker, seed: int | None, args: tuple) -> bytes:
        """The message for ``worker``: the element's large arrays written to a free segment
        (made or grown when needed), and the segment its result may use."""
        in_segment = worker.free_segment(worker.need)
        payload, need = self._dump(args, in_segment)
        if need:
            # Larger arrays than the segments (or the first ones): once more, in one as large
            # (the one too small may have been retired), or in band when none can be had.
            worker.need = max(worker.need, need)
            in_segment = worker.free_segment(need)
            payload, _ = self._dump(args, in_segment)
        out_segment = None
        if worker.result_need:
            out_segment = worker.free_segment(worker.result_need, exclude=in_segment)
        drop, worker.drop = worker.drop, []
        return pickle.dumps(
            (seed, out_segment.name if out_segment else None, drop, payload), protocol=5
        )

    @staticmethod
    def _dump(args: tuple, segment: Segment | None) -> tuple[bytes, int]:
        return dumps(args, (segment.name, segment.mmap) if segment is not None else None)

    def _unpack(self, worker: _Worker, reply: bytes) -> tuple:
        need = int.from_bytes(reply[:8], "little")
        if need:
            worker.result_need = need
            worker.need = max(worker.need, need)
        # The result's arrays stay in their segments while the worker has enough others.
        copy = worker.spare() < _ADOPT_SPARE
        return loads(memoryview(reply)[8:], worker.mapping, copy)

    def _exchange(
        self, worker: _Worker, position: int | None, cancelled: Callable[[], bool], data: bytes
    ) -> bytes:
        try:
            worker.conn.send_bytes(data)
        except OSError:
            raise self._died(worker, position) from None
        pipe = worker.conn.fileno()
        while True:
            # Waits without the GIL, waking when the reply comes or the worker ends.
            ready = worker.poller.poll(_POLL_MS)
            if any(fd == pipe for fd, _ in ready):
                try:
                    return worker.conn.recv_bytes()
                except (EOFError, OSError):
                    raise self._died(worker, position) from None
            if ready:
                raise self._died(worker, position)
            if self._closed or cancelled():
                raise CancelledError("map: the pipeline was cancelled")

    def _died(self, worker: _Worker, position: int | None) -> WorkerError:
        how = how_it_ended(worker.process)
        where = "an element" if position is None else f"the element at position {position}"
        return WorkerError(
            f"map: the worker process (pid {worker.process.pid}) running {self._name} on "
            f"{where} died ({how}); another worker takes its place"
        )

    def close(self) -> None:
        """Ends every worker (terminated and reaped). Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        _LIVE_POOLS.discard(self)
        for worker in workers:
            worker.stop()


# ---------------------------------------------------------------------- in the worker


def _worker_main(conn: Any, fn_bytes: bytes) -> None:
    """A worker's loop: one element in, one reply out, until the pipe closes."""
    # Ctrl-C reaches the whole process group: the parent handles it and ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fn: Callable[..., Any] | None = None
    load_error: tuple | None = None
    try:
        fn = pickle.loads(fn_bytes)
    except BaseException as e:
        load_error = _pack_exception(e)
    # The parent's segments this worker has mapped, by name: (mapping, address, size).
    # Attached without the resource tracker: the parent alone unlinks them.
    segments: dict[str, tuple[mmap.mmap, int, int]] = {}
    # The segments the element's arrays lie in: its result may lie there too.
    used: list[str] = []

    def attach(name: str) -> tuple[mmap.mmap, int, int]:
        entry = segments.get(name)
        if entry is None:
            m = attach_segment(name)
            entry = segments[name] = (m, mapping_address(m), len(m))
        return entry

    def resolve(name: str) -> mmap.mmap:
        m = attach(name)[0]
        if name not in used:
            used.append(name)
        return m

    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        seed, out, drop, payload = pickle.loads(message)
        for name in drop:
            # Unmapped when the last array using it is freed (fn must not keep its inputs).
            segments.pop(name, None)
        used.clear()
        try:
            if fn is None:
                reply: tuple = (False, load_error)
            else:
                args = loads(payload, resolve)
                if seed is not None:
                    _seed_generators(seed)
                reply = (True, fn(*args))
                del args
        except BaseException as e:
            reply = (False, _pack_exception(e))
        sources = [(name, *segments[name][1:]) for name in used]
        conn.send_bytes(_reply_bytes(reply, out, attach, sources))
        del reply


def _seed_generators(seed: int) -> None:
    """Seeds ``random`` and, when the function uses numpy, its legacy global generator."""
    random.seed(seed)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(seed % 2**32)


def _reply_bytes(
    reply: tuple,
    out: str | None,
    attach: Callable[[str], tuple[mmap.mmap, int, int]],
    sources: list[tuple[str, int, int]],
) -> bytes:
    """The reply pickled after 8 bytes saying what its arrays needed: they stay where they
    are when they lie in the element's segment, else go to the result segment ``out`` while
    they fit, else in band (the bytes they need then make the parent's next segments)."""
    target = None
    if out is not None:
        try:
            target = (out, attach(out)[0])
        except OSError:
            target = None
    try:
        payload, need = dumps(reply, target, sources)
    except BaseException as e:
        payload, need = dumps((False, _pack_exception(e))), 0
    return need.to_bytes(8, "little") + payload


def _pack_exception(e: BaseException) -> tuple:
    """The exception (pickled, when it can be), its type's name, message and traceback."""
    try:
        pickled: bytes | None = pickle.dumps(e, protocol=5)
    except BaseException:
        pickled = None
    name = f"{type(e).__module__}.{type(e).__qualname__}"
    # The traceback from the function down (the worker loop's own frame left out).
    tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
    text = "".join(traceback.format_exception(type(e), e, tb))
    return pickled, name, str(e), text


def _rebuild_exception(packed: tuple) -> BaseException:
    """The worker's exception as it was raised there (or a RuntimeError naming its type when
    it does not unpickle), with the worker's traceback as a note."""
    pickled, name, message, text = packed
    exc: BaseException | None = None
    if pickled is not None:
        try:
            exc = pickle.loads(pickled)
        except BaseException:
            exc = None
    if not isinstance(exc, BaseException):
        exc = RuntimeError(f"{name}: {message}")
    exc.add_note(f"\nTraceback in the worker process:\n{text.rstrip()}")
    return exc
