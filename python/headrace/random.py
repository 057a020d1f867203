"""``hr.random``: random tensors with ``tf.random``'s names.

Inside a traced function each op draws from a stream derived from its seed, the element's
position in the stage's input and the epoch, so results are the same whatever
``num_parallel_calls`` is and whichever thread ran the element, and each epoch (of ``repeat``,
or each new iteration of the dataset) draws anew, as ``shuffle`` reshuffles; a pipeline built
again with the same seeds repeats its epochs. Called eagerly, a seeded op returns the same
values each time (those of position 0 in the first epoch).
"""

from __future__ import annotations

from typing import Any

from . import _native, tracing
from .dtypes import as_dtype, float32


def _draw(kind: str, shape: Any, dtype: Any, seed: int | None, a: float, b: float) -> Any:
    dt = as_dtype(dtype)
    if tracing.active_graph() is not None:
        return tracing.random_node(kind, shape, dt, seed, a, b)
    shape_list = [int(d) for d in shape]
    return _native.random_op(
        kind, shape_list, dt.name, tracing.resolve_seed(seed), float(a), float(b)
    )


def uniform(
    shape: Any,
    minval: float = 0,
    maxval: float | None = None,
    dtype: Any = float32,
    seed: int | None = None,
) -> Any:
    """Values uniform in ``[minval, maxval)`` (``maxval`` defaults to 1 for floats and is
    required for int32/int64)."""
    if maxval is None:
        if not as_dtype(dtype).is_floating:
            raise ValueError("maxval: required for integer dtypes")
        maxval = 1.0
    return _draw("uniform", shape, dtype, seed, minval, maxval)


def normal(
    shape: Any,
    mean: float = 0.0,
    stddev: float = 1.0,
    dtype: Any = float32,
    seed: int | None = None,
) -> Any:
    """Normally distributed values."""
    return _draw("normal", shape, dtype, seed, mean, stddev)
