"""``map(fn, executor="auto")``: a Python function that starts on the engine's threads and
moves to a pool of worker processes (``_process``) when the GIL serialises its calls.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from ._process import _POLL_S, Pool, PoolFactory, _context, dumps_function, function_name
from .errors import CancelledError


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
# Once the pool has started, the stage measures the rate at which calls finish on it, then on
# threads again (the pool idle), each over a trial from the first call to finish of at least
# _AUTO_TRIAL_S and _AUTO_TRIAL_CALLS calls, and goes back to threads for good unless the pool
# was at least _AUTO_MIN_GAIN times as fast: moving large results between processes can cost
# more than the GIL did (a PIL decode and resize to 224x224 float32: 663 images/s on
# threads, 512 on processes). The threads are measured again rather than in the window,
# where the fork server booting beside them slowed them down.
_AUTO_TRIAL_S = 0.3
_AUTO_TRIAL_CALLS = 4
_AUTO_MIN_GAIN = 1.1

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


class AutoMap(PoolFactory):
    """What ``Dataset.map`` hands the engine for ``executor="auto"``: the same interface as
    ``ProcessMap`` (``start()`` per running pipeline), but each pipeline's runner starts on
    the engine threads and moves to a pool of ``processes`` workers only when it measures
    that the GIL serialises the calls. ``fn`` is pickled only then; a function that cannot
    be pickled stays on threads."""

    executor = "auto"

    def __init__(self, fn: Callable[..., Any], processes: int) -> None:
        super().__init__(function_name(fn), processes)
        self._fn = fn
        self._fn_bytes: bytes | None = None
        self._unpicklable = False
        self._lock = threading.Lock()
        # What the first pipeline to decide found ("thread" or "process"): later iterations
        # of the dataset (the next epochs of a training loop) start there, without the
        # window and the trials.
        self.verdict: str | None = None

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


def _start_fork_server() -> None:
    """Starts the workers' fork server ahead of a switch (no-op once it runs)."""
    try:
        _context()
    except Exception:
        pass  # the switch will try again, and stay on threads if it cannot


class AutoRunner:
    """One running pipeline's ``executor="auto"`` stage.

    ``mode`` is "measuring" (calls run on the calling engine thread, each timed), then
    "thread" for good, or "switching" while the pool starts (new calls wait for it, without
    the GIL, so that starting it does not queue on the GIL behind the calls; they run on
    threads if it cannot start), "process-trial" and "thread-trial" while the rates on the
    pool and on threads are compared, then "process" or (``reverted``) "thread". Calls on
    threads are exactly ``executor="thread"``'s: the same results and exceptions."""

    def __init__(self, auto: AutoMap) -> None:
        self._auto = auto
        self._fn = auto._fn
        self._lock = threading.Lock()
        # Signalled when a switch ends (the pool started, or the stage stays on threads).
        self._switched = threading.Condition(self._lock)
        # Whether the fork server was started ahead of a likely switch.
        self._server_asked = False
        self.mode = "measuring"
        self._pool: Pool | None = None
        # Times the engine built the stage (the epochs of repeat), for the pool's seeds.
        self.epoch = 0
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
        # calls_on_threads when the stage decided to switch (the calls then in flight
        # finish on threads; later ones wait for the pool).
        self.calls_when_decided: int | None = None
        # The trials: the calls' rate (calls/s) on the pool, then on threads, whether the
        # stage went back to threads, and the running trial's progress.
        self.thread_rate = 0.0
        self.process_rate = 0.0
        self.reverted = False
        self._trial_first: float | None = None
        self._trial_done = 0
        # Calls running on the current or a retired pool; the pool given up after a failed
        # trial, closed when its last call returns.
        self._pool_calls = 0
        self._retired: Pool | None = None
        self.serial = next(_auto_serials)
        _AUTO_RUNNERS.add(self)
        # An earlier iteration of the dataset decided: start where it ended.
        if auto.verdict == "thread":
            self.mode = "thread"
        elif auto.verdict == "process":
            self.mode = "switching"
            threading.Thread(
                target=self._switch, args=(False,), name=f"headrace-auto-{auto.name}", daemon=True
            ).start()

    def _reset_window(self) -> None:
        self._start: float | None = None
        self._first_done: float | None = None
        self._process_cpu = 0.0
        self._cpu = 0.0
        self._done = 0
        self._inflight: dict[int, tuple[int, float]] = {}
        self._most = 0
        self._keys = itertools.count()

    def run(self, position: int | None, cancelled: Callable[[], bool], args: tuple) -> Any:
        if self.mode == "switching":
            self._await_switch(cancelled)
        pool = self._pool
        if pool is not None and self.mode in ("process", "process-trial"):
            with self._lock:
                self._pool_calls += 1
            try:
                return pool.run(position, cancelled, args)
            finally:
                self._pool_call_done(pool)
        if self.mode == "measuring":
            return self._measured(args)
        if self.mode == "thread-trial":
            return self._thread_trial_call(args)
        self.calls_on_threads += 1
        return self._fn(*args)

    def _await_switch(self, cancelled: Callable[[], bool]) -> Pool | None:
        """Waits (without the GIL) while the pool starts: its pool, or None when the stage
        stays on threads. Calls running meanwhile would hold the GIL, which the thread
        starting the pool takes dozens of times (a 5 ms wait each with CPU-bound threads
        about): 0.2-0.8 s to start 2 workers on 2 vCPUs, against some 30 ms alone."""
        with self._switched:
            while self.mode == "switching":
                if self._closed or cancelled():
                    raise CancelledError("map: the pipeline was cancelled")
                self._switched.wait(_POLL_S)
            return self._pool

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
            warm_up = False
            with self._lock:
                self.calls_on_threads += 1
                if self._inflight.pop(key, None) is not None:
                    self._cpu += used
                    self._done += 1
                    if self._first_done is None:
                        self._first_done = time.perf_counter()
                    if self.mode == "measuring":
                        switch = self._decide(time.perf_counter())
                # Overlapping calls that use CPU may well be switched at the window's end:
                # the fork server (a new interpreter importing headrace) boots meanwhile.
                if self.mode == "measuring" and not self._server_asked:
                    warm_up = self._most >= 2 and used >= _AUTO_MIN_CALL_CPU_S
                    self._server_asked = warm_up
            if warm_up:
                threading.Thread(target=_start_fork_server, daemon=True).start()
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
        if not serialised:
            self._auto.verdict = "thread"
        if serialised:
            self.calls_when_decided = self.calls_on_threads
        return serialised

    def _trial_tick(self) -> float | None:
        """Counts a call finished in the running trial (under the lock): the trial's rate
        once it is long enough, else None."""
        now = time.perf_counter()
        if self._trial_first is None:
            self._trial_first = now
            return None
        self._trial_done += 1
        span = now - self._trial_first
        if span < _AUTO_TRIAL_S or self._trial_done < _AUTO_TRIAL_CALLS:
            return None
        rate = self._trial_done / span
        self._trial_first, self._trial_done = None, 0
        return rate

    def _pool_call_done(self, pool: Pool) -> None:
        """Counts a call the pool finished (the pool's trial, then threads' trial), and
        closes a retired pool once its last call is back."""
        with self._lock:
            self._pool_calls -= 1
            if pool is self._pool and self.mode == "process-trial":
                rate = self._trial_tick()
                if rate is not None:
                    self.process_rate = rate
                    self.mode = "thread-trial"
            close = self._idle_retired()
        if close is not None:
            close.close()

    def _idle_retired(self) -> Pool | None:
        """The retired pool, taken, once no call runs on it any more (under the lock): the
        caller closes it outside the lock."""
        if self._retired is None or self._pool_calls:
            return None
        retired, self._retired = self._retired, None
        return retired

    def _thread_trial_call(self, args: tuple) -> Any:
        """A call on threads during the threads' trial; the last one decides."""
        try:
            return self._fn(*args)
        finally:
            close = None
            with self._lock:
                self.calls_on_threads += 1
                if self.mode == "thread-trial":
                    rate = self._trial_tick()
                    if rate is not None:
                        self.thread_rate = rate
                        if self.process_rate >= rate * _AUTO_MIN_GAIN:
                            self.mode = "process"
                            self._auto.verdict = "process"
                        else:
                            self._auto.verdict = "thread"
                            # Back to threads for good; calls still in the pool finish.
                            self.mode = "thread"
                            self.reverted = True
                            self._retired, self._pool = self._pool, None
                            close = self._idle_retired()
            if close is not None:
                close.close()

    def _switch(self, trial: bool = True) -> None:
        """Starts the pool (outside the lock: new calls wait meanwhile, those in flight finish
        on threads) and routes the later calls to it, for its trial (without one when an
        earlier iteration decided); stays on threads if ``fn`` cannot be pickled or the pool
        cannot start."""
        fn_bytes = self._auto.fn_bytes()
        pool = None
        if fn_bytes is not None:
            try:
                pool = Pool(fn_bytes, self._auto.processes, self._auto.name, self._auto.seed)
            except Exception:
                pool = None
        with self._lock:
            self._switched.notify_all()
            if pool is not None and not self._closed:
                pool.begin_epoch(self.epoch)
                self._pool = pool
                self.mode = "process-trial" if trial else "process"
                return
            self.mode = "thread"
        if pool is not None:
            pool.close()

    def begin_epoch(self, epoch: int | None = None) -> None:
        """The engine built the stage again (``epoch``: its build number; without it, the
        next): kept, and passed on to the pool (calls on threads are not seeded: the threads
        share one generator)."""
        with self._lock:
            self.epoch = self.epoch + 1 if epoch is None else epoch
            if self._pool is not None:
                self._pool.begin_epoch(self.epoch)

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
            self._switched.notify_all()
            pools = [p for p in (self._pool, self._retired) if p is not None]
            self._retired = None
        for pool in pools:
            pool.close()
