"""``hr.sparse``: sparse values, as ``tf.sparse``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .composite import SparseTensor


def to_dense(sp_input: SparseTensor, default_value: Any = None) -> np.ndarray:
    """The dense array of ``sp_input``, ``default_value`` (0 or ``b""``) where it has no
    value."""
    if default_value is None:
        default_value = b"" if sp_input.values.dtype == object else 0
    return sp_input.to_dense(default_value)


__all__ = ["SparseTensor", "to_dense"]
