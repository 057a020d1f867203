"""``map(fn, executor="process")``: a Python function run in a pool of worker processes.

The engine calls ``ProcessMap.start()`` once per running pipeline (the epochs of ``repeat``
share the pool) and ``Pool.close()`` when the pipeline is dropped. Each engine worker thread
takes a worker process for one element: it sends the element (pickled, protocol 5), waits for
the reply without the GIL, and checks all the while that the worker is alive and that the
stage was not cancelled, so a dead worker or a dropped pipeline never leaves a thread hanging.

The function is pickled once, with cloudpickle (lambdas and closures), when ``map()`` is
called, and sent to each worker when it starts.

Large buffers (numpy arrays of 64 KiB or more) do not go through the pipe: they are pickled out
of band into shared memory (``_shared_memory``), and only their place in it travels. Each
worker has one input segment and a few result segments, created, grown and unlinked by this
process only (the worker attaches to them by name).

``executor="auto"`` (``_auto``) starts on threads and moves to a pool of this module's kind.
"""

from __future__ import annotations

import atexit
import mmap
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import pickle
import signal
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from ._shared_memory import Segment, layout, split_buffers, write_buffers
from .errors import CancelledError, WorkerError

# How often a wait for a worker checks the worker's liveness (the sentinel is watched all the
# time) and the stage's cancellation, in seconds.
_POLL_S = 0.05

# Every pool not yet closed, closed at interpreter exit.
_LIVE_POOLS: weakref.WeakSet[Pool] = weakref.WeakSet()
_server_lock = threading.Lock()
_server_started: list[bool] = []

# Result segments per worker: a result's arrays are backed by its segment until they are
# freed (the engine copies them at once), and the worker writes its next result into another.
_RESULT_SEGMENTS = 3


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


def dumps_function(fn: Callable[..., Any], name: str) -> bytes:
    """``fn`` with its closure as bytes for the workers; a clear error at ``map()`` time when
    it cannot be pickled."""
    import cloudpickle

    try:
        return cloudpickle.dumps(fn, protocol=5)
    except Exception as e:
        raise TypeError(
            f"map: executor='process' sends map_func to worker processes, so it must be "
            f"picklable (with cloudpickle), and {name} cannot be pickled: "
            f"{type(e).__name__}: {e}. Use executor='thread' to run it in this process."
        ) from e


class ProcessMap:
    """What ``Dataset.map`` hands the engine for ``executor="process"``."""

    # How the stage describes itself: ``fn (python, processes)``.
    executor = "processes"

    def __init__(self, fn: Callable[..., Any], processes: int) -> None:
        self.name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "function")
        self.processes = processes
        self._fn_bytes = dumps_function(fn, self.name)

    def start(self) -> Pool:
        return Pool(self._fn_bytes, self.processes, self.name)


class _Worker:
    """A worker process, its pipe and its shared-memory segments: ``input`` (the elements'
    large buffers) and ``results`` (the replies'), used only by the thread that has checked
    the worker out."""

    __slots__ = ("process", "conn", "_lock", "_stopped", "input", "results", "result_need", "drop")

    def __init__(self, process: Any, conn: Any) -> None:
        self.process = process
        self.conn = conn
        self._lock = threading.Lock()
        self._stopped = False
        self.input: Segment | None = None
        self.results: list[Segment] = []
        # The bytes the last result that did not fit needed: result segments are made as large.
        self.result_need = 0
        # Names of segments retired since the last request: the worker lets go of them.
        self.drop: list[str] = []

    def new_segment(self, size: int) -> Segment | None:
        """A segment for this worker, or None when shared memory is short (the buffers then
        go through the pipe) or the worker was stopped meanwhile."""
        try:
            segment = Segment(size)
        except OSError:
            return None
        with self._lock:
            if not self._stopped:
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
            segments = [s for s in [self.input, *self.results] if s is not None]
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

    def __init__(self, fn_bytes: bytes, processes: int, name: str) -> None:
        self._ctx = _context()
        self._fn_bytes = fn_bytes
        self._size = processes
        self._name = name
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
        process.start()
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
        """``fn(*args)`` in a worker process: its value, or its exception raised here."""
        payload, large = split_buffers(args)
        worker = self._checkout(cancelled)
        healthy = False
        try:
            request = self._request(worker, args, payload, large)
            reply = self._exchange(worker, position, cancelled, request)
            healthy = True
            # Unpickled before the worker is given back: its arrays may be backed by a result
            # segment, which the worker's next call must then leave alone (``in_use``).
            ok, value = self._unpack(worker, reply)
        except (OSError, ValueError):
            if not self._closed:
                raise
            # The pool was closed (interpreter exit) while this call used its worker.
            raise CancelledError("map: the pool of worker processes was closed") from None
        finally:
            self._checkin(worker, healthy)
        if ok:
            return value
        raise _rebuild_exception(value)

    def _request(self, worker: _Worker, args: tuple, payload: bytes, large: list[Any]) -> bytes:
        """The message for ``worker``: the element's large buffers written to its input
        segment (made or grown when needed), and the result segment its reply may use."""
        in_segment = None
        spans: list[tuple[int, int]] = []
        if large:
            spans, need = layout(large)
            in_segment = worker.input
            if in_segment is None or in_segment.size < need:
                if in_segment is not None:
                    worker.retire(in_segment)
                in_segment = worker.input = worker.new_segment(need)
            if in_segment is None:
                payload = pickle.dumps(args, protocol=5)  # no shared memory: all in band
            else:
                write_buffers(in_segment.mmap, large, spans)
        out_segment = None
        for segment in list(worker.results):
            if segment.size < worker.result_need:
                worker.results.remove(segment)
                worker.retire(segment)
            elif out_segment is None and not segment.in_use():
                out_segment = segment
        if out_segment is None and worker.result_need and len(worker.results) < _RESULT_SEGMENTS:
            out_segment = worker.new_segment(worker.result_need)
            if out_segment is not None:
                worker.results.append(out_segment)
        drop, worker.drop = worker.drop, []
        return pickle.dumps(
            (
                payload,
                (in_segment.name, in_segment.size, spans) if in_segment else None,
                (out_segment.name, out_segment.size) if out_segment else None,
                drop,
            ),
            protocol=5,
        )

    def _unpack(self, worker: _Worker, reply: bytes) -> tuple:
        payload, where, need = pickle.loads(reply)
        if need:
            worker.result_need = need
        if where is None:
            return pickle.loads(payload)
        name, spans = where
        segment = next(s for s in worker.results if s.name == name)
        view = memoryview(segment.mmap)
        return pickle.loads(payload, buffers=[view[o : o + n] for o, n in spans])

    def _exchange(
        self, worker: _Worker, position: int | None, cancelled: Callable[[], bool], data: bytes
    ) -> bytes:
        try:
            worker.conn.send_bytes(data)
        except OSError:
            raise self._died(worker, position) from None
        watched = [worker.conn, worker.process.sentinel]
        while True:
            # Waits without the GIL, waking when the reply comes or the worker ends.
            ready = multiprocessing.connection.wait(watched, _POLL_S)
            if worker.conn in ready:
                try:
                    return worker.conn.recv_bytes()
                except (EOFError, OSError):
                    raise self._died(worker, position) from None
            if ready:
                raise self._died(worker, position)
            if self._closed or cancelled():
                raise CancelledError("map: the pipeline was cancelled")

    def _died(self, worker: _Worker, position: int | None) -> WorkerError:
        worker.process.join(1)
        code = worker.process.exitcode
        if code is None:
            how = "its pipe broke"
        elif code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit code {code}"
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
    # The parent's segments this worker has mapped, by name. Attached without the resource
    # tracker: the parent alone unlinks them.
    segments: dict[str, mmap.mmap] = {}

    def attach(name: str, size: int) -> mmap.mmap:
        m = segments.get(name)
        if m is None:
            import _posixshmem

            fd = _posixshmem.shm_open(name, os.O_RDWR, mode=0o600)
            try:
                m = segments[name] = mmap.mmap(fd, size)
            finally:
                os.close(fd)
        return m

    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        payload, where_in, where_out, drop = pickle.loads(message)
        for name in drop:
            # Unmapped when the last array using it is freed (fn must not keep its inputs).
            segments.pop(name, None)
        try:
            if fn is None:
                reply: tuple = (False, load_error)
            elif where_in is None:
                reply = (True, fn(*pickle.loads(payload)))
            else:
                name, size, spans = where_in
                view = memoryview(attach(name, size))
                args = pickle.loads(payload, buffers=[view[o : o + n] for o, n in spans])
                del view
                reply = (True, fn(*args))
                del args
        except BaseException as e:
            reply = (False, _pack_exception(e))
        conn.send_bytes(_reply_bytes(reply, where_out, attach))
        del reply


def _reply_bytes(reply: tuple, where_out: tuple | None, attach: Callable[..., Any]) -> bytes:
    """The reply pickled, its large buffers in the result segment when there is one and they
    fit; otherwise in band, with the bytes they need (the parent makes a segment that large)."""
    try:
        payload, large = split_buffers(reply)
    except BaseException as e:
        payload, large = pickle.dumps((False, _pack_exception(e)), protocol=5), []
    if not large:
        return pickle.dumps((payload, None, 0), protocol=5)
    spans, need = layout(large)
    if where_out is not None and need <= where_out[1]:
        try:
            write_buffers(attach(*where_out), large, spans)
            return pickle.dumps((payload, (where_out[0], spans), 0), protocol=5)
        except OSError:
            pass
    del payload, large
    try:
        payload = pickle.dumps(reply, protocol=5)
    except BaseException as e:
        payload = pickle.dumps((False, _pack_exception(e)), protocol=5)
    return pickle.dumps((payload, None, need), protocol=5)


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
