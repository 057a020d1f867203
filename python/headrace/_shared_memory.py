"""Shared memory for the worker processes of ``map(fn, executor="process")``: segments this
process creates and unlinks, and pickling that leaves large buffers out of band.

Large buffers (numpy arrays of ``_SHM_MIN_BYTES`` or more) are pickled with protocol 5's
``buffer_callback``: the pickle keeps their place, and the bytes are written into a segment
(``write_buffers``) that the other side maps and unpickles from (``pickle.loads(...,
buffers=...)``), so its arrays are views of the segment.
"""

from __future__ import annotations

import atexit
import itertools
import mmap
import os
import pickle
import secrets
import sys
import threading
from typing import Any

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


def split_buffers(obj: Any) -> tuple[bytes, list[pickle.PickleBuffer]]:
    """``obj`` pickled (protocol 5) without its large buffers, and those buffers (raw)."""
    large: list[Any] = []

    def callback(buffer: pickle.PickleBuffer) -> bool:
        raw = buffer.raw()
        if raw.nbytes < _SHM_MIN_BYTES:
            return True  # in band
        large.append(raw)
        return False

    return pickle.dumps(obj, protocol=5, buffer_callback=callback), large


def layout(buffers: list[Any]) -> tuple[list[tuple[int, int]], int]:
    """Each buffer's (offset, length) in a segment, and the bytes they need."""
    spans = []
    end = 0
    for b in buffers:
        spans.append((end, b.nbytes))
        end = -(-(end + b.nbytes) // _ALIGN) * _ALIGN
    return spans, end


def write_buffers(segment_map: mmap.mmap, buffers: list[Any], spans: list[tuple[int, int]]) -> None:
    for b, (offset, length) in zip(buffers, spans, strict=True):
        segment_map[offset : offset + length] = b
