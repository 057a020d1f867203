"""``map(fn, executor="process")``: a Python function run in a pool of worker processes.

The engine calls ``ProcessMap.start()`` once per running pipeline (the epochs of ``repeat``
share the pool) and ``Pool.close()`` when the pipeline is dropped. Each engine worker thread
takes a worker process for one element: it sends the element (pickled, protocol 5), waits for
the reply without the GIL, and checks all the while that the worker is alive and that the
stage was not cancelled, so a dead worker or a dropped pipeline never leaves a thread hanging.

The function is pickled once, with cloudpickle (lambdas and closures), when ``map()`` is
called, and sent to each worker when it starts.

Large buffers (numpy arrays of ``_SHM_MIN_BYTES`` or more) do not go through the pipe: they are
pickled out of band (protocol 5's ``buffer_callback``) into shared memory, and only their place
in it travels. Each worker has one input segment and a few result segments, created, grown and
unlinked by this process only (the worker attaches to them by name); see ``_Segment``.
"""

from __future__ import annotations

import atexit
import itertools
import mmap
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import pickle
import secrets
import signal
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from .errors import CancelledError, WorkerError

# How often a wait for a worker checks the worker's liveness (the sentinel is watched all the
# time) and the stage's cancellation, in seconds.
_POLL_S = 0.05

# Every pool not yet closed, closed at interpreter exit.
_LIVE_POOLS: weakref.WeakSet[Pool] = weakref.WeakSet()
_server_lock = threading.Lock()
_server_started: list[bool] = []

# A buffer this large or larger goes through shared memory; smaller ones stay in the pickle.
_SHM_MIN_BYTES = 64 * 1024
# Buffers start at multiples of this in a segment (any dtype's alignment, a cache line).
_ALIGN = 64
# A segment is made at least this large, and a quarter larger than what it must hold, so
# that slightly larger elements do not make a new one each time.
_SEGMENT_MIN_BYTES = 1 << 20
# Result segments per worker: a result's arrays are backed by its segment until they are
# freed (the engine copies them at once), and the worker writes its next result into another.
_RESULT_SEGMENTS = 3
# Names of this process's segments start with this, then the pid.
SHM_PREFIX = "hr_"

# Every segment this process created and has not unlinked yet, unlinked at exit whatever
# happened to its pool.
_LIVE_SEGMENTS: dict[str, _Segment] = {}
_segment_lock = threading.Lock()
_segment_ids = itertools.count()


@atexit.register
def _close_live_pools() -> None:
    for pool in list(_LIVE_POOLS):
        pool.close()
    with _segment_lock:
        segments = list(_LIVE_SEGMENTS.values())
    for segment in segments:
        segment.unlink()


class _Segment:
    """A POSIX shared-memory segment, created (and unlinked) by this process.

    Not ``multiprocessing.shared_memory.SharedMemory``: its ``close()`` raises while arrays
    still use the mapping, and on Python < 3.13 attaching registers the segment with the
    resource tracker, which then warns about (and unlinks) segments the worker did not create.
    Here the name is unlinked as soon as the segment is retired, and the mapping lives on as
    long as arrays use it (``mmap`` is unmapped when its last view is freed). The segment is
    registered with the resource tracker, so that it is unlinked even if this process is
    killed."""

    __slots__ = ("name", "size", "mmap", "_unlinked")

    def __init__(self, size: int) -> None:
        import _posixshmem
        from multiprocessing import resource_tracker

        size = max(_SEGMENT_MIN_BYTES, -(-size * 5 // 4 // mmap.PAGESIZE) * mmap.PAGESIZE)
        name = f"/{SHM_PREFIX}{os.getpid()}_{next(_segment_ids)}_{secrets.token_hex(3)}"
        fd = _posixshmem.shm_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode=0o600)
        self.name = name
        self._unlinked = False
        try:
            with _segment_lock:
                _LIVE_SEGMENTS[name] = self
            resource_tracker.register(name, "shared_memory")
            # Reserves the memory now: on a full /dev/shm this raises, where a plain
            # ftruncate would let the first write past the end kill the process (SIGBUS).
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, size)
            else:  # pragma: no cover (macOS)
                os.ftruncate(fd, size)
            self.mmap = mmap.mmap(fd, size)
            self.size = size
        except BaseException:
            self.unlink()
            raise
        finally:
            os.close(fd)

    def in_use(self) -> bool:
        """Whether a view of the mapping (an array handed out) is still alive: each keeps a
        reference to the ``mmap``, besides this object's own and ``getrefcount``'s."""
        return sys.getrefcount(self.mmap) > 2

    def unlink(self) -> None:
        """Removes the name (idempotent); the mapping stays valid while views use it."""
        import _posixshmem
        from multiprocessing import resource_tracker

        with _segment_lock:
            if self._unlinked:
                return
            self._unlinked = True
            _LIVE_SEGMENTS.pop(self.name, None)
        try:
            _posixshmem.shm_unlink(self.name)
        except FileNotFoundError:
            pass
        resource_tracker.unregister(self.name, "shared_memory")


def _split_buffers(obj: Any) -> tuple[bytes, list[pickle.PickleBuffer]]:
    """``obj`` pickled (protocol 5) without its large buffers, and those buffers (raw)."""
    large: list[Any] = []

    def callback(buffer: pickle.PickleBuffer) -> bool:
        raw = buffer.raw()
        if raw.nbytes < _SHM_MIN_BYTES:
            return True  # in band
        large.append(raw)
        return False

    return pickle.dumps(obj, protocol=5, buffer_callback=callback), large


def _layout(buffers: list[Any]) -> tuple[list[tuple[int, int]], int]:
    """Each buffer's (offset, length) in a segment, and the bytes they need."""
    spans = []
    end = 0
    for b in buffers:
        spans.append((end, b.nbytes))
        end = -(-(end + b.nbytes) // _ALIGN) * _ALIGN
    return spans, end


def _write(segment_map: mmap.mmap, buffers: list[Any], spans: list[tuple[int, int]]) -> None:
    for b, (offset, length) in zip(buffers, spans, strict=True):
        segment_map[offset : offset + length] = b


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


def gil_enabled() -> bool:
    """False on a free-threaded CPython (3.13t and later) running without the GIL."""
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


# executor="auto": the measurement window ends at the first call to finish once both
# _AUTO_MIN_WINDOW_S have passed since the first call started (or _AUTO_MAX_CALLS calls have
# finished) and at least one call has finished.
_AUTO_MIN_WINDOW_S = 0.2
_AUTO_MAX_CALLS = 50
# The stage moves to processes when, over the window, calls overlapped (two or more in flight
# at once), their threads used at least _AUTO_CORES_LOW cores together (below: they mostly
# wait, on I/O or a sleep), and the whole process at most _AUTO_CORES_HIGH: about one core
# of Python while several calls wanted it is the GIL serialising them. More means that the
# calls release the GIL and already run in parallel (numpy, and the BLAS threads it starts,
# whose time the calling thread's clock does not see). On 2 vCPUs the GIL's hand-offs
# between two CPU-bound threads leave the calls some 0.75 to 0.95 of a core.
_AUTO_CORES_LOW = 0.4
_AUTO_CORES_HIGH = 1.3
# ... and each call used at least this much CPU on average: a worker process costs some
# 100-300 us per element (pickling, pipe, wake-ups), more than a short call could gain.
_AUTO_MIN_CALL_CPU_S = 0.001
# Windows without overlapping calls (the consumer is slower than the stage) are measured
# again, this many times at most; then the stage stays on threads.
_AUTO_MAX_WINDOWS = 10

# Every live auto runner (for tests: their ``mode``).
_AUTO_RUNNERS: weakref.WeakSet[AutoRunner] = weakref.WeakSet()
_auto_serials = itertools.count()


def auto_can_switch() -> bool:
    """Whether ``executor="auto"`` could ever move a stage to processes here: the GIL is on,
    and other threads' CPU clocks can be read (Linux, macOS)."""
    return gil_enabled() and hasattr(time, "pthread_getcpuclockid")


def auto_runners() -> list[AutoRunner]:
    """The auto runners of the running pipelines, oldest first (for tests)."""
    return sorted(_AUTO_RUNNERS, key=lambda r: r.serial)


class AutoMap:
    """What ``Dataset.map`` hands the engine for ``executor="auto"``: the same interface as
    ``ProcessMap`` (``start()`` per running pipeline), but each pipeline's runner starts on
    the engine threads and moves to a pool of ``processes`` workers only when it measures
    that the GIL serialises the calls. ``fn`` is pickled only then; a function that cannot
    be pickled stays on threads."""

    executor = "auto"

    def __init__(self, fn: Callable[..., Any], processes: int) -> None:
        self.name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "function")
        self.processes = processes
        self._fn = fn
        self._fn_bytes: bytes | None = None
        self._unpicklable = False
        self._lock = threading.Lock()

    def fn_bytes(self) -> bytes | None:
        """``fn`` pickled (once, for every pipeline), or None when it cannot be."""
        with self._lock:
            if self._fn_bytes is None and not self._unpicklable:
                try:
                    self._fn_bytes = dumps_function(self._fn, self.name)
                except TypeError:
                    self._unpicklable = True
            return self._fn_bytes

    def start(self) -> AutoRunner:
        return AutoRunner(self)


class AutoRunner:
    """One running pipeline's ``executor="auto"`` stage.

    ``mode`` is "measuring" (calls run on the calling engine thread, each timed), then
    "thread" for good, or "process" once the pool has started ("switching" while it starts:
    calls still run on threads). Calls on threads are exactly ``executor="thread"``'s: the
    same results and exceptions."""

    def __init__(self, auto: AutoMap) -> None:
        self._auto = auto
        self._fn = auto._fn
        self._lock = threading.Lock()
        self.mode = "measuring"
        self._pool: Pool | None = None
        self._closed = False
        # The window: when its first call started, the CPU time and count of the calls that
        # finished in it, the calls in flight (key -> thread CPU clock, CPU time at start)
        # and the most in flight at once.
        self._windows = 0
        self._reset_window()
        # What the decision saw (for tests and the benchmark).
        self.cores = 0.0
        self.process_cores = 0.0
        self.calls_on_threads = 0
        self.serial = next(_auto_serials)
        _AUTO_RUNNERS.add(self)

    def _reset_window(self) -> None:
        self._start: float | None = None
        self._process_cpu = 0.0
        self._cpu = 0.0
        self._done = 0
        self._inflight: dict[int, tuple[int, float]] = {}
        self._most = 0
        self._keys = itertools.count()

    def run(self, position: int | None, cancelled: Callable[[], bool], args: tuple) -> Any:
        pool = self._pool
        if pool is not None:
            return pool.run(position, cancelled, args)
        if self.mode != "measuring":
            self.calls_on_threads += 1
            return self._fn(*args)
        return self._measured(args)

    def _measured(self, args: tuple) -> Any:
        clock = time.pthread_getcpuclockid(threading.get_ident())
        wall = time.perf_counter()
        cpu = time.clock_gettime(clock)
        with self._lock:
            key = next(self._keys)
            if self._start is None:
                self._start = wall
                self._process_cpu = time.process_time()
            self._inflight[key] = (clock, cpu)
            self._most = max(self._most, len(self._inflight))
        try:
            return self._fn(*args)
        finally:
            used = time.clock_gettime(clock) - cpu
            switch = False
            with self._lock:
                self.calls_on_threads += 1
                if self._inflight.pop(key, None) is not None:
                    self._cpu += used
                    self._done += 1
                    if self.mode == "measuring":
                        switch = self._decide(time.perf_counter())
            if switch:
                # Started aside, so that this call's element is not held up meanwhile.
                threading.Thread(
                    target=self._switch, name=f"headrace-auto-{self._auto.name}", daemon=True
                ).start()

    def _decide(self, now: float) -> bool:
        """At the end of a window (under the lock): whether to move to processes; sets
        ``mode`` to "thread" (for good) or "switching", or starts a new window."""
        assert self._start is not None
        elapsed = now - self._start
        if self._done < _AUTO_MAX_CALLS and elapsed < _AUTO_MIN_WINDOW_S:
            return False
        # The calls still in flight count with the CPU time they have used so far.
        cpu = self._cpu
        for clock, start in self._inflight.values():
            try:
                cpu += time.clock_gettime(clock) - start
            except OSError:
                pass
        self.cores = cpu / elapsed if elapsed > 0 else 0.0
        self.process_cores = (time.process_time() - self._process_cpu) / elapsed if elapsed else 0.0
        if self._most < 2:
            # The calls never overlapped: the GIL cannot have been in their way. Measured
            # again (the consumer may speed up), a few times.
            self._windows += 1
            if self._windows >= _AUTO_MAX_WINDOWS:
                self.mode = "thread"
            else:
                self._reset_window()
            return False
        serialised = (
            self.cores >= _AUTO_CORES_LOW
            and self.process_cores <= _AUTO_CORES_HIGH
            and self._cpu / self._done >= _AUTO_MIN_CALL_CPU_S
        )
        self.mode = "switching" if serialised else "thread"
        return serialised

    def _switch(self) -> None:
        """Starts the pool (outside the lock: other calls go on on threads meanwhile) and
        routes the later calls to it; stays on threads if ``fn`` cannot be pickled or the
        pool cannot start."""
        fn_bytes = self._auto.fn_bytes()
        pool = None
        if fn_bytes is not None:
            try:
                pool = Pool(fn_bytes, self._auto.processes, self._auto.name)
            except Exception:
                pool = None
        with self._lock:
            if pool is not None and not self._closed:
                self._pool = pool
                self.mode = "process"
                return
            self.mode = "thread"
        if pool is not None:
            pool.close()

    @property
    def direct(self) -> Callable[..., Any] | None:
        """The function itself once the stage has settled on threads for good: the engine
        then calls it directly, without this runner (``calls_on_threads`` stops counting);
        ``None`` while measuring or on processes."""
        return self._fn if self.mode == "thread" and self._pool is None else None

    def pids(self) -> list[int]:
        """The worker processes' ids (none while on threads)."""
        pool = self._pool
        return pool.pids() if pool is not None else []

    def close(self) -> None:
        """Ends the pool, if one started. Idempotent."""
        with self._lock:
            self._closed = True
            pool = self._pool
        if pool is not None:
            pool.close()


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
        self.input: _Segment | None = None
        self.results: list[_Segment] = []
        # The bytes the last result that did not fit needed: result segments are made as large.
        self.result_need = 0
        # Names of segments retired since the last request: the worker lets go of them.
        self.drop: list[str] = []

    def new_segment(self, size: int) -> _Segment | None:
        """A segment for this worker, or None when shared memory is short (the buffers then
        go through the pipe) or the worker was stopped meanwhile."""
        try:
            segment = _Segment(size)
        except OSError:
            return None
        with self._lock:
            if not self._stopped:
                return segment
        segment.unlink()
        return None

    def retire(self, segment: _Segment) -> None:
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
        payload, large = _split_buffers(args)
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
            spans, need = _layout(large)
            in_segment = worker.input
            if in_segment is None or in_segment.size < need:
                if in_segment is not None:
                    worker.retire(in_segment)
                in_segment = worker.input = worker.new_segment(need)
            if in_segment is None:
                payload = pickle.dumps(args, protocol=5)  # no shared memory: all in band
            else:
                _write(in_segment.mmap, large, spans)
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
        payload, large = _split_buffers(reply)
    except BaseException as e:
        payload, large = pickle.dumps((False, _pack_exception(e)), protocol=5), []
    if not large:
        return pickle.dumps((payload, None, 0), protocol=5)
    spans, need = _layout(large)
    if where_out is not None and need <= where_out[1]:
        try:
            _write(attach(*where_out), large, spans)
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
