"""Runtime errors, with ``tf.errors``' names. A user function's own exception is re-raised as
it was; bad arguments raise ``ValueError``/``TypeError`` when the transformation is built."""

from ._native import (
    CancelledError,
    DataLossError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    OpError,
    OutOfRangeError,
    ResourceExhaustedError,
    UnimplementedError,
)


class WorkerError(OpError):
    """A worker process running a ``map`` function (``executor="process"``) died (killed,
    crashed, ``os._exit``) while it ran an element. The message names the element's position;
    the pool starts another worker, so iteration can go on (``ignore_errors()`` drops it)."""


__all__ = [
    "CancelledError",
    "DataLossError",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "OpError",
    "OutOfRangeError",
    "ResourceExhaustedError",
    "UnimplementedError",
    "WorkerError",
]
