"""``Options(pipeline_process=True)``: the whole pipeline runs in one child process.

Iterating such a dataset starts a child process (from ``_process``'s fork server), sends it
the dataset pickled (``Dataset.__reduce__``: the calls that built it, functions by value with
cloudpickle), and the child rebuilds the dataset and iterates it natively. The engine's
threads and the pipeline's Python functions then take the child's GIL, never this process's,
so a training loop here is not slowed by them (the "noisy neighbour" effect).

Each element comes back pickled as the pool's results are (``_shared_memory.dumps``): its
large arrays (64 KiB or more) in a shared-memory segment that this process created and lent
to the child for that element, so the arrays handed out here are views of the segment,
without a copy.
The child runs ahead by a few elements: this process keeps that many requests outstanding
(``_AHEAD``; ``_AHEAD_SMALL`` while elements have no large buffers), each naming the segment
its element may use. A segment is lent only while no
array backed by it is alive (``Segment.in_use``); with all of them in use (the consumer keeps
its elements), the element goes through the pipe instead.

Lifetimes: the child ends when the iterator is exhausted, closed, dropped or interrupted
(Ctrl-C), and at interpreter exit; the segments are unlinked then (the mappings live on with
the arrays). The child ignores Ctrl-C (the whole process group gets it; this process handles
it), and ends on its own when this process dies (its pipe closes).
"""

from __future__ import annotations

import collections
import mmap
import multiprocessing.connection
import pickle
import signal
import threading
import weakref
from typing import Any

from . import _process
from ._shared_memory import Segment, dumps, loads
from ._shared_memory import attach as attach_segment
from .errors import WorkerError

# Elements the child may produce ahead of the consumer (requests outstanding), once elements
# have large buffers (each request then holds a segment)...
_AHEAD = 2
# ... and while they have none: the child then waits less often for a request (a wake-up of
# each process per element); 15 us per small element on 2 cores against 35 us with 2.
_AHEAD_SMALL = 8
# Segments at most: one per outstanding request, the element just handed out and the one
# before it (a ``for`` loop still holds it while asking for the next).
_SEGMENTS = _AHEAD + 2
# How long a stopping child may take to close its pipeline before it is killed, in seconds.
_STOP_S = 2.0


class PipelineProcessIterator:
    """An iterator over a dataset run in a child process (``Options(pipeline_process=True)``),
    with the native iterator's surface: ``__next__``, ``close()`` and ``stats()``."""

    def __init__(self, dataset: Any, iterations: int = 0) -> None:
        # (The child's copy catches up with the iterations ``dataset`` had before this one,
        # so that a reshuffling shuffle and random ops draw anew, as in this process.)
        data = _dumps_dataset((dataset, iterations))
        ctx = _process._context()
        conn, child_conn = ctx.Pipe()
        self._lock = threading.Lock()
        self._closed = False
        self._done = False
        self._conn = conn
        self._position = 0
        # Segments made for the child's elements, and those lent to the outstanding requests,
        # in request order (None: that request has none).
        self._segments: list[Segment] = []
        self._lent: collections.deque[Segment | None] = collections.deque()
        # Names of segments retired since the last request: the child lets go of them.
        self._drop: list[str] = []
        # The bytes the largest element that did not fit needed: segments are made as large.
        self._need = 0
        # Messages received while waiting for a stats reply, handed out first.
        self._pending: collections.deque[tuple] = collections.deque()
        self._final_stats: list[dict[str, Any]] = []
        self._process = ctx.Process(
            target=_child_main,
            args=(child_conn, data),
            name="headrace-pipeline",
            # Not daemonic: the pipeline may start worker processes of its own
            # (executor="process"). It is ended by close(), the finalizer below, or its pipe
            # closing when this process dies.
            daemon=False,
        )
        try:
            # Without the main module, as the pool's workers (the script is not run again).
            _process.start_process(self._process)
        except BaseException:
            conn.close()
            raise
        finally:
            child_conn.close()
        # Runs on close(), when the iterator is dropped, and at interpreter exit.
        self._finalizer = weakref.finalize(
            self, _shutdown, self._process, self._conn, self._segments
        )
        try:
            # One request first: its element tells the size segments need (it comes through
            # the pipe); the others follow it, with segments.
            self._request()
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        """The child process's id."""
        return self._process.pid

    def __iter__(self) -> PipelineProcessIterator:
        return self

    def __next__(self) -> Any:
        with self._lock:
            if self._done or self._closed:
                raise StopIteration
            try:
                value, error = self._next_element()
            except BaseException:
                # Ctrl-C (or close() from another thread) in the middle of an exchange: the
                # stream's state is unknown, so the pipeline ends here.
                self._finish()
                if self._closed:
                    raise StopIteration from None
                raise
        if error is not None:
            raise error
        return value

    def stats(self) -> list[dict[str, Any]]:
        """The child pipeline's counters, as the native iterator's ``stats()``: a list of dicts
        with ``stage``, ``elements``, ``errors``, ``dropped_errors``, ``skipped_files``,
        ``skipped_bytes``. Waits for the child's current element; once the iteration ended,
        the counters at its end."""
        with self._lock:
            if self._done or self._closed:
                return self._final_stats
            try:
                return self._ask_stats()
            except BaseException:
                self._finish()  # interrupted in the middle of an exchange, as in __next__
                raise

    def _ask_stats(self) -> list[dict[str, Any]]:
        try:
            self._conn.send_bytes(pickle.dumps(("stats",), protocol=5))
        except OSError:
            return self._final_stats
        while True:
            message = self._receive()
            if message[0] == "stats":
                return message[1]
            # An element (or the end) came first: kept for __next__.
            self._pending.append(message)
            if message[0] == "end":
                return message[1]
            if message[0] in ("died", "fatal"):
                return self._final_stats

    def close(self) -> None:
        """Stops the pipeline now: the child process is ended and reaped, and the segments
        are unlinked (arrays handed out stay valid). Idempotent; ``next()`` then raises
        ``StopIteration``."""
        self._closed = True
        self._finalizer()

    # ------------------------------------------------------------------ internals

    def _finish(self) -> None:
        self._done = True
        self._finalizer()

    def _next_element(self) -> tuple[Any, BaseException | None]:
        """The next element, or the exception to raise in its place."""
        message = self._pending.popleft() if self._pending else self._receive()
        kind = message[0]
        if self._closed:
            return None, StopIteration()
        if kind == "end":
            self._final_stats = message[1]
            # The child is exiting on its own, closing its pipeline: let it.
            self._process.join(_STOP_S)
            self._finish()
            return None, StopIteration()
        if kind == "died":
            self._finish()
            return None, message[1]
        if kind == "fatal":
            self._finish()
            return None, _process._rebuild_exception(message[1])
        segment = self._lent.popleft()
        self._position += 1
        if kind == "error":
            self._top_up()
            return None, _process._rebuild_exception(message[1])
        try:
            value = _unpack(message, segment)
        finally:
            self._need = max(self._need, message[2])
            # Requested after the element is unpickled, so that the segment it uses is in
            # use and not lent again.
            self._top_up()
        return value, None

    def _top_up(self) -> None:
        ahead = _AHEAD if self._need else _AHEAD_SMALL
        while len(self._lent) < ahead:
            self._request()

    def _receive(self) -> tuple:
        """The child's next message, or ("died", WorkerError) when it ended without one."""
        conn = self._conn
        watched = [conn, self._process.sentinel]
        # Waits without the GIL; Ctrl-C interrupts it (KeyboardInterrupt).
        ready = multiprocessing.connection.wait(watched)
        if conn in ready:
            try:
                return pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                pass
        return ("died", self._died())

    def _died(self) -> WorkerError:
        how = _process.how_it_ended(self._process)
        return WorkerError(
            f"pipeline_process: the child process (pid {self._process.pid}) running the "
            f"pipeline died ({how}) before the element at position {self._position}; the "
            "iteration ends here"
        )

    def _request(self) -> None:
        """Asks the child for one more element, lending it a free segment when there is one."""
        segment = self._free_segment()
        drop, self._drop = self._drop, []
        where = (segment.name, segment.size) if segment is not None else None
        self._lent.append(segment)
        try:
            self._conn.send_bytes(pickle.dumps(("next", where, drop), protocol=5))
        except OSError:
            pass  # the child is gone: the next receive reports it

    def _free_segment(self) -> Segment | None:
        lent = {id(s) for s in self._lent if s is not None}
        chosen = None
        for segment in list(self._segments):
            if id(segment) in lent:
                continue
            if segment.size < self._need:
                # Too small for the elements now: retired (its arrays keep the mapping).
                self._segments.remove(segment)
                segment.unlink()
                self._drop.append(segment.name)
            elif chosen is None and not segment.in_use():
                chosen = segment
        if chosen is None and self._need and len(self._segments) < _SEGMENTS:
            try:
                chosen = Segment(self._need)
            except OSError:
                return None  # /dev/shm is full: the element goes through the pipe
            self._segments.append(chosen)
        return chosen


def _dumps_dataset(dataset: Any) -> bytes:
    """The dataset as bytes for the child; a clear error when it cannot be pickled."""
    import cloudpickle

    try:
        return cloudpickle.dumps(dataset, protocol=5)
    except Exception as e:
        raise TypeError(
            "Options(pipeline_process=True) sends the pipeline to a child process, so it "
            "must be picklable (with cloudpickle), and it cannot be pickled: "
            f"{type(e).__name__}: {e}"
        ) from e


def _unpack(message: tuple, segment: Segment | None) -> Any:
    """An element from the child: its large arrays views of ``segment`` when it used it."""

    def lent(name: str) -> mmap.mmap:
        if segment is None or segment.name != name:
            raise RuntimeError("pipeline_process: the child used a segment it was not lent")
        return segment.mmap

    return loads(message[1], lent)


def _shutdown(process: Any, conn: Any, segments: list[Segment]) -> None:
    """Ends the child (its pipe closed, then SIGTERM, which it turns into a clean exit that
    closes its pipeline; SIGKILL when that takes too long), reaps it, and unlinks the
    segments."""
    for segment in segments:
        segment.unlink()
    segments.clear()
    conn.close()
    if process.is_alive():
        process.terminate()
        process.join(_STOP_S)
        if process.is_alive():
            process.kill()
    process.join()


# ---------------------------------------------------------------------- in the child


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    # Raised in the main thread, even while it waits in the native iterator (which checks
    # for signals), so the pipeline and any worker pools it started are closed on the way out.
    raise SystemExit(0)


def _child_main(conn: Any, data: bytes) -> None:
    """The child's loop: one element per request, until the end or until the pipe closes."""
    # Ctrl-C reaches the whole process group: the parent handles it and ends this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        dataset, iterations = pickle.loads(data)
        del data
        dataset._native.skip_iterations(iterations)
        # The native iterator: this process runs the pipeline itself (no recursion).
        it = iter(dataset._native)
    except BaseException as e:
        try:
            conn.send_bytes(pickle.dumps(("fatal", _process._pack_exception(e)), protocol=5))
        except OSError:
            pass
        return
    # The parent's segments this process has mapped, by name. Attached without the resource
    # tracker: the parent alone unlinks them.
    segments: dict[str, mmap.mmap] = {}

    def attach(name: str, size: int) -> mmap.mmap:
        m = segments.get(name)
        if m is None:
            m = segments[name] = attach_segment(name)
        return m

    position = 0
    try:
        while True:
            try:
                request = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                return  # the parent closed the pipe, or died
            if request[0] == "stats":
                conn.send_bytes(pickle.dumps(("stats", it.stats()), protocol=5))
                continue
            _, where, drop = request
            for name in drop:
                segments.pop(name, None)
            try:
                value = next(it)
            except StopIteration:
                conn.send_bytes(pickle.dumps(("end", it.stats()), protocol=5))
                return
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as e:
                # An error element: raised at this position in the parent; iteration goes on.
                conn.send_bytes(pickle.dumps(("error", _process._pack_exception(e)), protocol=5))
            else:
                conn.send_bytes(_element_message(value, where, attach, position))
                del value  # the engine's buffers go back before the next element
            position += 1
    except (BrokenPipeError, ConnectionResetError):
        return  # the parent is gone
    finally:
        it.close()


def _element_message(value: Any, where: tuple | None, attach: Any, position: int) -> bytes:
    """The element pickled, its large arrays written to the lent segment when they fit;
    otherwise all in the message, with the bytes they need (the parent makes segments that
    large)."""
    try:
        target = (where[0], attach(*where)) if where is not None else None
    except OSError:
        target = None
    try:
        payload, need = dumps(value, target)
    except Exception as e:
        error = TypeError(
            f"pipeline_process: the element at position {position} cannot be pickled to send "
            f"it to the training process: {type(e).__name__}: {e}"
        )
        return pickle.dumps(("error", _process._pack_exception(error)), protocol=5)
    return pickle.dumps(("item", payload, need), protocol=5)
