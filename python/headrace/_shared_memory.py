"""Shared memory for the worker processes of ``map(fn, executor="process")``: segments this
process creates and unlinks, and pickling that leaves large buffers out of band.

``dumps``/``loads``: numpy arrays of ``_SHM_MIN_BYTES`` or more are pickled as a call that
rebuilds them over their place in a segment (``_rebuild``), so the other side, which maps the
segment (``attach``), gets views of it; an array that already lies in one of the segments
named as sources (a worker's result that is its input or a view of it) is not copied at all.
"""

from __future__ import annotations

import atexit
import io
import itertools
import mmap
import os
import pickle
import secrets
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

# A buffer this large or larger goes through shared memory; smaller ones stay in the pickle.
_SHM_MIN_BYTES = 64 * 1024
# Buffers start at multiples of this in a segment (any dtype's alignment, a cache line).
_ALIGN = 64
# A segment is made at least this large, and a quarter larger than what it must hold, so
# that slightly larger elements do not make a new one each time.
_SEGMENT_MIN_BYTES = 1 << 20
# Names of this process's segments start with this, then the pid.
SHM_PREFIX = "hr_"

# Every segment this process created and has not unlinked yet, unlinked at exit whatever
# happened to its pool.
_LIVE_SEGMENTS: dict[str, Segment] = {}
_segment_lock = threading.Lock()
_segment_ids = itertools.count()


@atexit.register
def _unlink_live_segments() -> None:
    with _segment_lock:
        segments = list(_LIVE_SEGMENTS.values())
    for segment in segments:
        segment.unlink()


class Segment:
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


def attach(name: str) -> mmap.mmap:
    """The segment ``name`` (made by the parent process) mapped here, without the resource
    tracker: the parent alone unlinks it."""
    import _posixshmem

    fd = _posixshmem.shm_open(name, os.O_RDWR, mode=0o600)
    try:
        return mmap.mmap(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


# What ``_rebuild`` calls while ``loads`` runs on this thread: the segment's mapping by name.
_loading = threading.local()


def mapping_address(segment_map: mmap.mmap) -> int:
    """Where ``segment_map`` lies in this process's memory."""
    return int(np.frombuffer(segment_map, dtype=np.uint8, count=1).ctypes.data)


class _Pickler(pickle.Pickler):
    """Protocol 5, with numpy arrays of ``_SHM_MIN_BYTES`` or more left out of the pickle:
    referred to where they already lie in a source segment (C-contiguous), else copied into
    the target segment while they fit (any layout: the copy is C-contiguous)."""

    def __init__(
        self,
        file: io.BytesIO,
        target: tuple[str, mmap.mmap] | None,
        sources: list[tuple[str, int, int]],
    ) -> None:
        super().__init__(file, protocol=5)
        self.target = target
        self.sources = sources
        # The end of the last array placed in the target (or that would have been).
        self.end = 0
        self.fits = True

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        # Exact types: a subclass may carry more than its buffer (a mask); np.memmap does not.
        if cls is not np.ndarray and cls is not np.memmap:
            return NotImplemented
        nbytes = obj.nbytes
        if nbytes < _SHM_MIN_BYTES or obj.dtype.hasobject:
            return NotImplemented
        dtype = obj.dtype
        # A builtin dtype as its short string (cheaper to pickle); others (byte-swapped,
        # structured, bfloat16) as themselves, which keeps what the string would lose.
        descr = dtype.str if dtype.isbuiltin == 1 else dtype
        if self.sources and obj.flags.c_contiguous:
            address = obj.ctypes.data
            for name, base, size in self.sources:
                if base <= address and address + nbytes <= base + size:
                    return _rebuild, (name, address - base, descr, obj.shape)
        offset = -(-self.end // _ALIGN) * _ALIGN
        self.end = offset + nbytes
        if self.target is None or not self.fits or self.end > len(self.target[1]):
            # In band; ``end`` goes on counting the bytes a large enough target needs.
            self.fits = False
            return NotImplemented
        name, segment_map = self.target
        np.copyto(np.ndarray(obj.shape, dtype, buffer=segment_map, offset=offset), obj)
        return _rebuild, (name, offset, descr, obj.shape)


def dumps(
    obj: Any,
    target: tuple[str, mmap.mmap] | None = None,
    sources: list[tuple[str, int, int]] | None = None,
) -> tuple[bytes, int]:
    """``obj`` pickled (protocol 5), its large numpy arrays in shared memory: those lying in
    one of ``sources`` ((name, address, size) of mapped segments) where they are, the others
    copied into ``target`` ((name, mapping)). Also the bytes the copies needed when they did
    not all fit (those that did not went in the pickle), else 0."""
    file = io.BytesIO()
    pickler = _Pickler(file, target, sources or [])
    pickler.dump(obj)
    return file.getvalue(), 0 if pickler.fits else pickler.end


def loads(data: bytes, resolve: Callable[[str], mmap.mmap], copy: bool = False) -> Any:
    """``dumps``'s bytes as objects: the arrays are views of the segments (``resolve`` gives
    a segment's mapping by name), or copies of them with ``copy``, which leaves the segments
    free at once."""
    previous = getattr(_loading, "state", None)
    _loading.state = (resolve, copy)
    try:
        return pickle.loads(data)
    finally:
        _loading.state = previous


def _rebuild(name: str, offset: int, descr: Any, shape: tuple[int, ...]) -> np.ndarray:
    resolve, copy = _loading.state
    array = np.ndarray(shape, descr, buffer=resolve(name), offset=offset)
    return array.copy() if copy else array


class Adoptable:
    """A value just unpickled from a worker's reply, which nothing else refers to: the
    engine keeps its large arrays as they are instead of copying them
    (``convert.rs``: ``result_to_element``). Its arrays may be views of a segment, which is
    then reused only once they are freed (``Segment.in_use``), so they never change."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value
