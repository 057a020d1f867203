"""``hr.strings``: string ops with ``tf.strings``' names, element-wise over string tensors.

Eagerly they return numpy (object arrays of ``bytes`` for strings); inside a traced function
they add native kernels to its graph.
"""

from __future__ import annotations

from typing import Any

from . import _native, tracing
from .composite import RaggedTensor
from .dtypes import as_dtype, bool_, float32, int32, string


def _op(name: str, attrs: Any, inputs: list[Any], dtype: Any, keep_shape: bool = True) -> Any:
    if tracing.is_symbolic(*inputs):
        shapes = [getattr(v, "shape", ()) for v in inputs]
        shape = next((s for s in shapes if s != ()), ()) if keep_shape else None
        return tracing.text_op(name, attrs, inputs, dtype, shape)
    return _native.text_op(name, attrs, inputs)


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def length(input: Any, unit: str = "BYTE") -> Any:  # noqa: A002
    """The length of each string, in bytes or (``unit="UTF8_CHAR"``) characters, as int32."""
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"unit: expected 'BYTE' or 'UTF8_CHAR', got {unit!r}")
    return _op("length", unit == "UTF8_CHAR", [input], int32)


def substr(input: Any, pos: int, len: int, unit: str = "BYTE") -> Any:  # noqa: A002
    """``len`` bytes of each string from ``pos`` (negative: from the end); a position past
    the end raises."""
    if unit != "BYTE":
        raise ValueError("unit: only 'BYTE' is supported")
    return _op("substr", (int(pos), int(len)), [input], string)


def join(inputs: Any, separator: str | bytes = "") -> Any:
    """Concatenates the strings of ``inputs`` element-wise, with ``separator`` between; scalar
    inputs broadcast."""
    return _op("join", _bytes(separator), list(inputs), string)


def split(input: Any, sep: str | bytes | None = None) -> Any:  # noqa: A002
    """The pieces of each string, on runs of whitespace (``sep=None``) or exactly on
    ``sep``: a scalar gives a vector of pieces, a vector a ``RaggedTensor`` (one row of
    pieces per string), as ``tf.strings.split``."""
    separator = None if sep is None else _bytes(sep)
    if tracing.is_symbolic(input):
        return tracing.split_op(input, separator)
    parts = _native.split_op(input, separator)
    if len(parts) == 1:
        return parts[0]
    return RaggedTensor(parts[0], [parts[1]])


def to_number(string_tensor: Any, out_type: Any = float32) -> Any:
    """Parses each string as a number of ``out_type`` (float32, float64, int32 or int64)."""
    dt = as_dtype(out_type)
    return _op("to_number", dt.name, [string_tensor], dt)


def regex_full_match(input: Any, pattern: str) -> Any:  # noqa: A002
    """Whether each whole string matches ``pattern`` (RE2-like syntax), as bool."""
    return _op("regex_full_match", str(pattern), [input], bool_)


def lower(input: Any) -> Any:  # noqa: A002
    """ASCII lower case."""
    return _op("lower", None, [input], string)


def upper(input: Any) -> Any:  # noqa: A002
    """ASCII upper case."""
    return _op("upper", None, [input], string)
