"""A stand-in for PyTorch's ``DataLoader`` with Pillow, for the image benchmark.

torch cannot be installed on the project's machines (PyPI carries only its multi-GB CUDA
wheel, and the CPU index is out of reach), so ``bench_images.py`` measures this instead: what
``DataLoader(dataset, batch_size=32, num_workers=2, shuffle=False)`` does over a
torchvision-style dataset, written with the standard library, numpy and Pillow only.

What it does as torch does:
  - a sequential batch sampler: batch ``k`` is samples ``32k .. 32k + 31`` (the last batch may
    be short, ``drop_last=False``);
  - ``num_workers`` worker processes, each with its own index queue; batch indices are handed
    out round-robin, ``prefetch_factor * num_workers`` (2 x 2) batches outstanding, one more
    sent each time the main process yields a batch;
  - each worker loads the 32 samples of a batch itself (``dataset[i]``, one after another) and
    collates them into one float32 array (``np.stack``, as ``default_collate`` does
    ``torch.stack``), then puts ``(index, batch)`` on a result queue shared by the workers;
  - the main process yields the batches in order, keeping those that arrive early;
  - each worker seeds its random generator with ``base_seed + worker_id`` (here
    ``default_rng([base_seed, worker_id])``), ``base_seed`` drawn afresh for each iterator;
  - workers are started for each iterator (``persistent_workers=False``) and shut down at its
    end: each is sent ``None`` and joined, then terminated if it did not exit in time. A worker
    that dies makes the main process raise, and a worker exits by itself when its parent goes.

What differs:
  - torch passes a batch back as a tensor in shared memory (the worker allocates the storage
    in shared memory and ``torch.stack`` writes into it; the queue carries a file descriptor).
    Here, with ``shared_memory=True`` (the default), the worker likewise stacks the batch
    straight into a ``multiprocessing.shared_memory`` segment and the queue carries its name;
    the main process maps the segment, unlinks the name at once, and the array it yields owns
    the mapping (freed with the array). With ``shared_memory=False`` the batch is pickled
    through the queue (a copy into the pipe and another out of it).
  - The start method: torch uses ``fork`` on Linux. Here it is ``forkserver`` (see
    ``START_METHOD``), which forks each worker from a small server process that has already
    imported numpy, Pillow and this module, so a worker starts about as cheaply as a forked one.
    As with any start method but fork, the main script must keep its work under
    ``if __name__ == "__main__":`` (the server imports it once, and each worker runs its
    module body again).
  - numpy's generator draws the random crop and flip, not torch's.
  - Samples are HWC float32 arrays (``np.asarray(img, dtype=np.float32) / 255``), not the CHW
    tensors of ``ToTensor``: the same arithmetic, without the transpose.

The per-sample transforms are torchvision's, on PIL images (``pil_loader`` as torchvision's
``ImageFolder`` opens files):
  - ``resize``: ``Resize((224, 224))`` = ``img.resize((224, 224), BILINEAR)``. Pillow's bilinear
    filter antialiases when it shrinks (its support widens with the scale), whereas TensorFlow's
    ``resize`` (and headrace's by default) does not: Pillow does more work per output pixel.
  - ``train``: ``RandomResizedCrop(224, scale=(0.08, 1), ratio=(3/4, 4/3))`` (the window drawn
    as torchvision's ``get_params`` draws it: 10 attempts, then a centre crop), crop then
    ``resize((224, 224), BILINEAR)``; ``RandomHorizontalFlip(0.5)`` (``ImageOps.mirror``).
    The whole JPEG is decoded, as torchvision does (no ``Image.draft``).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import itertools
import math
import mmap
import multiprocessing
import multiprocessing.forkserver
import os
import queue
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing import resource_tracker, shared_memory
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageOps

SIZE = (224, 224)
SCALE = (0.08, 1.0)
RATIO = (3 / 4, 4 / 3)
BILINEAR = Image.Resampling.BILINEAR
# torch's MP_STATUS_CHECK_INTERVAL: how often a waiting worker checks for its parent, and a
# waiting main process for its workers.
STATUS_INTERVAL = 5.0
# How long shutdown waits for a worker to exit after sending it None (torch: the same 5 s).
SHUTDOWN_TIMEOUT = 5.0
# torch forks its workers on Linux. By the time the benchmark builds a loader, its process runs
# threads (TensorFlow's and headrace's pools, numpy's BLAS): fork copies only the calling
# thread, and a lock another thread held at that moment stays locked in the child for good
# (Python 3.12 warns about fork in a threaded process for that reason). So the workers come
# from the fork server instead: it is started once, single-threaded apart from what its own
# imports start, preloaded with numpy, Pillow and this module, and forks each worker; a
# worker then starts about as fast as a forked one (no fresh interpreter or imports, unlike
# "spawn"), which matters because workers are started anew for every iterator, as in torch.
# Measured on the 2-core machine (busy, so roughly): a worker ran 5 to 10 ms after start()
# (2 to 4 ms forked), and a 300-image epoch came out some 5% slower than with fork.
# ``bench_images.py --pil-start-method fork`` runs the peer as torch would.
START_METHOD = "forkserver"
# Shared-memory segments are named after the process, the iterator and the batch, so that
# whatever a failure leaves behind can be found and unlinked.
SHM_DIR = Path("/dev/shm")

_serial = itertools.count()
_server_ready: list[bool] = []  # non-empty once a process has been forked from the server
# This process's random generator: torchvision draws from torch's global generator, seeded in
# each worker; here the worker loop reseeds this one.
_rng = np.random.default_rng()


# -- samples, the torchvision way -------------------------------------------------------------


def pil_loader(path: str) -> Image.Image:
    """An RGB image, as torchvision's ``ImageFolder`` loads it."""
    with open(path, "rb") as f:
        img = Image.open(f)
        return img.convert("RGB")


def to_array(img: Image.Image) -> np.ndarray:
    """HWC float32 in [0, 1], as ``ToTensor`` computes it (without the move to CHW)."""
    return np.asarray(img, dtype=np.float32) / 255


def crop_window(
    width: int,
    height: int,
    rng: np.random.Generator,
    scale: tuple[float, float] = SCALE,
    ratio: tuple[float, float] = RATIO,
) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of a random crop, drawn as torchvision's
    ``RandomResizedCrop.get_params`` draws it."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect_ratio = math.exp(rng.uniform(log_ratio[0], log_ratio[1]))
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    # Fallback to a central crop.
    in_ratio = width / height
    if in_ratio < min(ratio):
        w = width
        h = int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        h = height
        w = int(round(h * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def resize_sample(path: str) -> np.ndarray:
    """``Resize((224, 224))`` then ``ToTensor``."""
    return to_array(pil_loader(path).resize(SIZE, BILINEAR))


def train_sample(path: str) -> np.ndarray:
    """``RandomResizedCrop(224)``, ``RandomHorizontalFlip()``, then ``ToTensor``."""
    img = pil_loader(path)
    top, left, h, w = crop_window(img.width, img.height, _rng)
    img = img.crop((left, top, left + w, top + h)).resize(SIZE, BILINEAR)
    if _rng.random() < 0.5:
        img = ImageOps.mirror(img)
    return to_array(img)


TRANSFORMS: dict[str, Callable[[str], np.ndarray]] = {
    "resize": resize_sample,
    "train": train_sample,
}


class MapDataset(Protocol):
    """What the loader needs of a dataset: torch's map-style ``Dataset``."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> np.ndarray: ...


@dataclass(frozen=True)
class ImageFiles:
    """Image files, each loaded and transformed by ``TRANSFORMS[transform]``."""

    files: tuple[str, ...]
    transform: str = "resize"

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> np.ndarray:
        return TRANSFORMS[self.transform](self.files[index])


# -- the worker ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shared:
    """A batch left in a shared-memory segment by a worker."""

    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class _Failure:
    """An exception raised in a worker (torch's ``ExceptionWrapper``)."""

    worker_id: int
    text: str


def _stack_shared(samples: Sequence[np.ndarray], name: str) -> _Shared:
    """Stacks ``samples`` into a new shared-memory segment ``name`` (``default_collate``
    stacking into shared storage)."""
    first = samples[0]
    shape = (len(samples), *first.shape)
    nbytes = max(1, math.prod(shape) * first.dtype.itemsize)
    shm = shared_memory.SharedMemory(name=name, create=True, size=nbytes)
    try:
        out = np.ndarray(shape, dtype=first.dtype, buffer=shm.buf)
        np.stack(samples, out=out)
        del out
    except BaseException:
        shm.close()
        shm.unlink()
        raise
    shm.close()
    return _Shared(name, shape, first.dtype.str)


def _worker_loop(
    dataset: MapDataset,
    worker_id: int,
    base_seed: int,
    index_queue: Any,
    result_queue: Any,
    segment_prefix: str | None,
) -> None:
    """One worker: batches of indices in, ``(batch index, batch)`` out, until ``None``."""
    global _rng
    # Ctrl-C reaches the whole process group: the main process handles it and shuts the
    # workers down in order (so that no half-written segment is left); torch's workers
    # likewise leave KeyboardInterrupt to the main process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _rng = np.random.default_rng([base_seed, worker_id])
    parent = os.getppid()
    orphaned = False
    while True:
        try:
            task = index_queue.get(timeout=STATUS_INTERVAL)
        except queue.Empty:
            if os.getppid() != parent:  # the parent (main process or fork server) is gone
                orphaned = True
                break
            continue
        if task is None:
            break
        idx, indices = task
        payload: Any
        try:
            samples = [dataset[i] for i in indices]
            if segment_prefix is None:
                payload = np.stack(samples)
            else:
                payload = _stack_shared(samples, f"{segment_prefix}{idx}")
            del samples
        except Exception:
            payload = _Failure(worker_id, traceback.format_exc())
        result_queue.put((idx, payload))
        del payload
    if orphaned:
        # Nobody reads the queue any more: do not wait at exit to flush it.
        result_queue.cancel_join_thread()
    result_queue.close()


# -- the main process -----------------------------------------------------------------------------


def _attach(batch: _Shared) -> np.ndarray:
    """The batch in segment ``batch.name`` as an array that owns its mapping; the name is
    unlinked (the memory is freed when the array is)."""
    shm = shared_memory.SharedMemory(name=batch.name)
    try:
        # A mapping of our own: SharedMemory cannot close its mapping while an array uses
        # it, so the array gets a separate one, unmapped when the array goes.
        mapping = mmap.mmap(shm._fd, shm.size)  # _fd: SharedMemory has no public accessor
    finally:
        shm.close()
        shm.unlink()
    return np.frombuffer(mapping, dtype=batch.dtype, count=math.prod(batch.shape)).reshape(
        batch.shape
    )


def _unlink(name: str) -> None:
    """Removes segment ``name`` if it is still there."""
    try:
        shm = shared_memory.SharedMemory(name=name)
    except FileNotFoundError:
        return
    shm.close()
    shm.unlink()


def _discard(payload: object) -> None:
    if isinstance(payload, _Shared):
        _unlink(payload.name)


class _Epoch:
    """One iteration of a ``DataLoader``: torch's ``_MultiProcessingDataLoaderIter``."""

    def __init__(self, loader: DataLoader) -> None:
        self.loader = loader
        self.context = multiprocessing.get_context(loader.start_method)
        self.batches = iter(loader.batch_indices())
        self.prefix = f"hrpeer-{os.getpid()}-{next(_serial)}-" if loader.shared_memory else None
        self.result_queue: Any = None
        self.index_queues: list[Any] = []
        self.workers: list[Any] = []
        self.worker_cycle = itertools.cycle(range(loader.num_workers))
        self.ready: dict[int, object] = {}
        self.send_idx = 0
        self.rcvd_idx = 0
        self.closed = False
        self.pipe_broken = False

    def start(self) -> None:
        """Starts the workers and sends the first ``prefetch_factor * num_workers`` batches."""
        warm_up(self.loader.start_method)
        if self.prefix is not None:
            # One tracker for every process (a forked worker would otherwise start its own,
            # which would report the segments the main process unlinked as leaked).
            resource_tracker.ensure_running()
        base_seed = int(self.loader.seed_rng.integers(2**62))
        self.result_queue = self.context.Queue()
        for worker_id in range(self.loader.num_workers):
            index_queue = self.context.Queue()
            worker = self.context.Process(
                target=_worker_loop,
                args=(
                    self.loader.dataset,
                    worker_id,
                    base_seed,
                    index_queue,
                    self.result_queue,
                    self.prefix,
                ),
                daemon=True,
            )
            worker.start()
            self.index_queues.append(index_queue)
            self.workers.append(worker)
        for _ in range(self.loader.prefetch_factor * self.loader.num_workers):
            self._send()

    def _send(self) -> None:
        """Sends the next batch of indices to the next worker, if there is one."""
        indices = next(self.batches, None)
        if indices is None:
            return
        self.index_queues[next(self.worker_cycle)].put((self.send_idx, indices))
        self.send_idx += 1

    def _receive(self) -> tuple[int, object]:
        """The next result from any worker; raises if a worker has died."""
        while True:
            try:
                return self.result_queue.get(timeout=STATUS_INTERVAL)
            except queue.Empty:
                dead = [w for w in self.workers if not w.is_alive()]
                if dead:
                    pids = ", ".join(str(w.pid) for w in dead)
                    raise RuntimeError(
                        f"DataLoader worker (pid(s) {pids}) exited unexpectedly"
                    ) from None

    def next(self) -> np.ndarray | None:
        """The next batch in order, or ``None`` at the end."""
        if self.rcvd_idx == self.send_idx:
            return None
        while self.rcvd_idx not in self.ready:
            idx, payload = self._receive()
            self.ready[idx] = payload
        payload = self.ready.pop(self.rcvd_idx)
        self.rcvd_idx += 1
        self._send()
        if isinstance(payload, _Failure):
            raise RuntimeError(
                f"Caught an exception in DataLoader worker process {payload.worker_id}.\n"
                f"Original {payload.text}"
            )
        if isinstance(payload, _Shared):
            return _attach(payload)
        assert isinstance(payload, np.ndarray)
        return payload

    def _drain(self, timeout: float | None) -> bool:
        """Takes one result off the queue and discards it (``timeout=None``: without
        waiting). False when none came, or when the pipe is out of step: an interrupt that
        lands while a message is half read leaves the rest of it in the pipe."""
        try:
            if timeout is None:
                _, payload = self.result_queue.get(block=False)
            else:
                _, payload = self.result_queue.get(timeout=timeout)
        except queue.Empty:
            return False
        except Exception:
            self.pipe_broken = True
            return False
        _discard(payload)
        return True

    def shutdown(self) -> None:
        """Stops and joins the workers (terminating those that do not exit in time) and
        removes every shared-memory segment not handed to the caller. Idempotent."""
        if self.closed:
            return
        self.closed = True
        terminated = False
        try:
            for index_queue in self.index_queues:
                index_queue.put(None)
            # Read what the workers still send while they finish: a worker flushes its
            # queue before it exits, and a pickled batch does not fit in the pipe.
            deadline = time.monotonic() + SHUTDOWN_TIMEOUT
            while (
                self.result_queue is not None
                and not self.pipe_broken
                and any(w.is_alive() for w in self.workers)
                and time.monotonic() < deadline
            ):
                self._drain(0.05)
        finally:
            for worker in self.workers:
                if worker.is_alive():
                    worker.terminate()
                    terminated = True
                worker.join()
            if self.result_queue is not None and not terminated:
                # The workers are gone: what they sent is whole in the pipe.
                while not self.pipe_broken and self._drain(None):
                    pass
            for payload in self.ready.values():
                _discard(payload)
            self.ready.clear()
            if self.prefix is not None:
                # Segments of batches never received (terminated workers, a broken pipe).
                for path in glob.glob(str(SHM_DIR / f"{self.prefix}*")):
                    _unlink(os.path.basename(path))
            for q in [*self.index_queues, self.result_queue]:
                if q is not None:
                    q.cancel_join_thread()
                    q.close()


class DataLoader:
    """``torch.utils.data.DataLoader(dataset, batch_size, shuffle=False, num_workers,
    prefetch_factor)`` over a map-style dataset of numpy arrays, with worker processes.

    Iterating starts ``num_workers`` workers and yields float32 batches in order. The
    iterator is a generator: its ``close()`` (also run when it is garbage collected, and on
    any exception, Ctrl-C included, raised while it waits) stops and joins the workers and
    removes their shared memory.
    """

    def __init__(
        self,
        dataset: MapDataset,
        batch_size: int = 32,
        num_workers: int = 2,
        prefetch_factor: int = 2,
        drop_last: bool = False,
        shared_memory: bool = True,
        start_method: str = START_METHOD,
        seed: int | None = None,
    ) -> None:
        if num_workers < 1:
            raise ValueError("num_workers must be at least 1 (this loader has no in-process mode)")
        if shared_memory and not SHM_DIR.is_dir():
            raise ValueError(f"shared_memory=True needs POSIX shared memory in {SHM_DIR}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.drop_last = drop_last
        self.shared_memory = shared_memory
        self.start_method = start_method
        self.seed_rng = np.random.default_rng(seed)

    def batch_indices(self) -> list[list[int]]:
        """torch's ``BatchSampler(SequentialSampler(dataset), batch_size, drop_last)``."""
        n = len(self.dataset)
        stop = n - n % self.batch_size if self.drop_last else n
        return [
            list(range(i, min(i + self.batch_size, n))) for i in range(0, stop, self.batch_size)
        ]

    def __len__(self) -> int:
        return len(self.batch_indices())

    def __iter__(self) -> Iterator[np.ndarray]:
        epoch = _Epoch(self)
        try:
            epoch.start()
            while (batch := epoch.next()) is not None:
                yield batch
        finally:
            epoch.shutdown()


def warm_up(start_method: str = START_METHOD, preload: Sequence[str] = ()) -> None:
    """Starts the fork server now (if ``start_method`` is "forkserver" and it is not running),
    preloaded with this module, the main script's imports and the modules named in
    ``preload``, and waits until it serves, so that its one-time start is not counted in a
    timed iteration and a worker forked from it starts without importing anything.

    Two details of Python 3.11's fork server are worked around here. It ignores the
    ``sys.path`` it is handed, so a module found only through the parent's ``sys.path`` (this
    one, when a script in bench/ imports it) would silently not be preloaded: the server is
    given the parent's path in ``PYTHONPATH``. And it never preloads ``__main__`` (the main
    script's path does not reach it), so each worker runs the main script's module body again
    (as ``__mp_main__``), imports included: the server imports the script once as a plain
    module, so that those imports are done. Measured: a worker ran 130 ms after ``start()``
    without this, 5 to 10 ms with it, 2 to 4 ms with ``fork``."""
    if start_method != "forkserver" or _server_ready:
        return
    modules = [m for m in (__name__, *preload) if m != "__main__"]
    main_file = getattr(sys.modules["__main__"], "__file__", None)
    if main_file and main_file.endswith(".py"):
        modules.append(Path(main_file).stem)
    multiprocessing.get_context("forkserver").set_forkserver_preload(modules)
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    # The server imports its preload after ensure_running() returns: wait for it with a
    # first (empty) process.
    process = multiprocessing.get_context("forkserver").Process(target=_nothing)
    process.start()
    process.join()
    _server_ready.append(True)


def _nothing() -> None:
    """The target of the process that waits for the fork server."""


# -- a check of the shutdown ---------------------------------------------------------------------


def _segments(prefix: str = "hrpeer-") -> list[str]:
    return [p.name for p in SHM_DIR.glob(f"{prefix}{os.getpid()}-*")]


def self_check(files: list[str], start_method: str, shared: bool) -> None:
    """Iterates ``files`` and interrupts the iteration three ways (consumer exception, a
    SIGINT while waiting, a failing sample), checking that no worker or segment is left."""

    def left_behind() -> str:
        children = multiprocessing.active_children()
        # The fork server is a child of this process too, and stays.
        workers = [c for c in children if c.name != "ForkServer"]
        return f"workers alive: {len(workers)}, segments: {len(_segments())}"

    def loader(dataset: MapDataset) -> DataLoader:
        return DataLoader(dataset, start_method=start_method, shared_memory=shared, seed=0)

    warm_up(start_method)
    dataset = ImageFiles(tuple(files), "train")
    start = time.perf_counter()
    n = sum(len(b) for b in loader(dataset))
    print(f"full epoch: {n} images, {n / (time.perf_counter() - start):,.0f} images/s")
    print(f"  after it: {left_behind()}")

    # A consumer that fails: the iterator is closed by the ``with`` (torch relies on the
    # iterator's __del__ for the same; a generator is closed when collected too).
    try:
        with contextlib.closing(iter(loader(dataset))) as it:
            for k, _batch in enumerate(it):
                if k == 2:
                    raise ValueError("consumer failed")
    except ValueError as e:
        print(f"consumer raised {e!r}")
    print(f"  after it: {left_behind()}")

    # Ctrl-C, as a SIGINT to this process 10 ms after the first batch.
    signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    try:
        with contextlib.closing(iter(loader(dataset))) as it:
            next(it)
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            for _ in it:
                pass
        print("SIGINT did not arrive before the end")
    except KeyboardInterrupt:
        print("KeyboardInterrupt while iterating")
    print(f"  after it: {left_behind()}")

    # An iterator dropped half-way, without close().
    it = iter(loader(dataset))
    next(it)
    del it
    print(f"iterator dropped after one batch; after it: {left_behind()}")

    broken = ImageFiles((*files[:40], "/nonexistent.jpg", *files[40:]), "resize")
    try:
        for _ in loader(broken):
            pass
    except RuntimeError as e:
        print(f"worker failure raised: {str(e).splitlines()[0]}")
    print(f"  after it: {left_behind()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=self_check.__doc__)
    parser.add_argument("files", nargs="+", help="JPEG files (or one directory of *.jpg)")
    parser.add_argument("--start-method", default=START_METHOD)
    parser.add_argument("--pickle", action="store_true", help="batches through the queue")
    args = parser.parse_args()
    files = args.files
    if len(files) == 1 and os.path.isdir(files[0]):
        files = sorted(glob.glob(os.path.join(files[0], "*.jpg")))
    self_check(files, args.start_method, not args.pickle)
    sys.exit(0)


if __name__ == "__main__":
    main()
