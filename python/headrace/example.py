"""``tf.train.Example`` without TensorFlow: parsing with ``tf.io``'s feature specs, and
encoding and decoding records. Re-exported by ``hr.io``.

``parse_example``/``parse_single_example``/``parse_single_sequence_example`` run the engine's
parser (``crates/headrace/src/example``): eagerly on bytes they return numpy arrays,
``hr.SparseTensor`` (``VarLenFeature``) and ``hr.RaggedTensor`` (``RaggedFeature``); inside a
traced function they are one native op, run without the GIL.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _native, tracing
from .composite import RaggedTensor, SparseTensor
from .dtypes import DType, as_dtype, float32, int64, string


class FixedLenFeature(NamedTuple):
    """Exactly ``prod(shape)`` values per record, parsed to a dense tensor of ``shape``; a
    record without the feature takes ``default_value``, or is an error without one."""

    shape: Any
    dtype: Any
    default_value: Any = None


class VarLenFeature(NamedTuple):
    """Any number of values per record, parsed to an ``hr.SparseTensor``."""

    dtype: Any


class RaggedFeature(NamedTuple):
    """Any number of values per record, parsed to an ``hr.RaggedTensor`` (one ragged
    dimension, int64 row splits); a single example's is its 1-D values."""

    dtype: Any
    row_splits_dtype: Any = int64


class FixedLenSequenceFeature(NamedTuple):
    """A sequence feature: ``prod(shape)`` values per step, parsed to ``[steps, *shape]``;
    a missing feature list is an error unless ``allow_missing``."""

    shape: Any
    dtype: Any
    allow_missing: bool = False
    default_value: Any = None


def _numpy_dtype(dtype: DType) -> Any:
    return object if dtype == string else dtype.as_numpy_dtype


def _default(value: Any, dtype: DType) -> Any:
    if value is None:
        return None
    if dtype == string:
        items = np.asarray(value, dtype=object).reshape(-1)
        return np.array([v.encode() if isinstance(v, str) else bytes(v) for v in items], object)
    return np.asarray(value, dtype=dtype.as_numpy_dtype).reshape(-1)


def _shape(shape: Any) -> list[int]:
    if isinstance(shape, int | np.integer):
        return [int(shape)]
    return [int(d) for d in shape]


def _specs(features: dict[str, Any], allowed: tuple[type, ...], where: str) -> list[tuple]:
    """The features, sorted by name as TensorFlow sorts them (which decides which missing
    feature an error names), encoded for the engine."""
    if not isinstance(features, dict):
        raise TypeError(f"{where}: expected a dict of feature specs, got {type(features).__name__}")
    out = []
    for name in sorted(features):
        f = features[name]
        if not isinstance(f, allowed):
            names = ", ".join(t.__name__ for t in allowed)
            raise TypeError(f"{where}: feature {name!r} must be one of {names}, got {f!r}")
        dtype = as_dtype(f.dtype)
        if dtype not in (int64, float32, string):
            raise ValueError(
                f"{where}: feature {name!r} has dtype {dtype.name}; an Example holds int64, "
                "float32 or string"
            )
        if isinstance(f, FixedLenFeature):
            out.append(
                (
                    name,
                    "fixed",
                    dtype.name,
                    _shape(f.shape),
                    _default(f.default_value, dtype),
                    False,
                )
            )
        elif isinstance(f, FixedLenSequenceFeature):
            out.append(
                (
                    name,
                    "sequence",
                    dtype.name,
                    _shape(f.shape),
                    _default(f.default_value, dtype),
                    bool(f.allow_missing),
                )
            )
        elif isinstance(f, VarLenFeature):
            out.append((name, "var", dtype.name, [], None, False))
        else:
            if as_dtype(f.row_splits_dtype) != int64:
                raise ValueError(f"{where}: feature {name!r}: only int64 row splits are supported")
            out.append((name, "ragged", dtype.name, [], None, False))
    return out


def _layout(specs: list[tuple], batched: bool, sequence: bool, rows: Any) -> list[Any]:
    """Per feature: how many tensors it gives and their (dtype, shape) for tracing."""
    layout = []
    for _name, kind, dtype_name, shape, _default_value, _allow in specs:
        dtype = as_dtype(dtype_name)
        lead = (rows,) if batched else ((None,) if sequence else ())
        if kind in ("fixed", "sequence"):
            layout.append(("dense", [(dtype, (*lead, *shape))]))
        elif kind == "var":
            rank = 2 if batched or sequence else 1
            layout.append(("sparse", [(int64, (None, rank)), (dtype, (None,)), (int64, (rank,))]))
        elif batched or sequence:
            layout.append(("ragged", [(dtype, (None,)), (int64, (None,))]))
        else:
            layout.append(("rows", [(dtype, (None,))]))
    return layout


def _assemble(specs: list[tuple], layout: list[Any], parts: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    at = 0
    for spec, (kind, tensors) in zip(specs, layout, strict=True):
        chunk = parts[at : at + len(tensors)]
        at += len(tensors)
        if kind == "dense":
            out[spec[0]] = chunk[0]
        elif kind == "rows":
            # A single example's ragged feature: its values, which batch into a RaggedTensor.
            if tracing.is_symbolic(chunk[0]):
                chunk[0].ragged_rows = True
            out[spec[0]] = chunk[0]
        elif kind == "sparse":
            out[spec[0]] = SparseTensor(*chunk)
        else:
            out[spec[0]] = RaggedTensor(chunk[0], [chunk[1]])
    return out


def _run(attrs: tuple, layouts: list[list[Any]], serialized: Any) -> list[Any]:
    """The parse's flat outputs: placeholders in a trace, numpy values eagerly."""
    outputs = [t for layout in layouts for _, tensors in layout for t in tensors]
    if not outputs:
        return []
    if tracing.is_symbolic(serialized):
        return tracing.multi_op("parse", attrs, [serialized], outputs)
    return list(_native.parse_op(attrs, _records(serialized)))


def _records(serialized: Any) -> Any:
    if isinstance(serialized, str):
        return serialized.encode()
    if isinstance(serialized, bytes):
        return serialized
    return np.asarray(serialized, dtype=object)


def parse_example(serialized: Any, features: dict[str, Any]) -> dict[str, Any]:
    """Parses a vector of serialized ``tf.train.Example`` records at once, as
    ``tf.io.parse_example``: ``FixedLenFeature`` → ``[batch, *shape]``, ``VarLenFeature`` →
    ``hr.SparseTensor`` of dense shape ``[batch, longest]``, ``RaggedFeature`` →
    ``hr.RaggedTensor``."""
    specs = _specs(features, (FixedLenFeature, VarLenFeature, RaggedFeature), "parse_example")
    rows = serialized.shape[0] if tracing.is_symbolic(serialized) and serialized.shape else None
    layout = _layout(specs, batched=True, sequence=False, rows=rows)
    return _assemble(specs, layout, _run(("example", specs), [layout], serialized))


def parse_single_example(serialized: Any, features: dict[str, Any]) -> dict[str, Any]:
    """Parses one serialized ``tf.train.Example``, as ``tf.io.parse_single_example``:
    ``FixedLenFeature`` → ``shape``, ``VarLenFeature`` → 1-D ``hr.SparseTensor``,
    ``RaggedFeature`` → its values."""
    specs = _specs(
        features, (FixedLenFeature, VarLenFeature, RaggedFeature), "parse_single_example"
    )
    layout = _layout(specs, batched=False, sequence=False, rows=None)
    return _assemble(specs, layout, _run(("single", specs), [layout], serialized))


def parse_single_sequence_example(
    serialized: Any,
    context_features: dict[str, Any] | None = None,
    sequence_features: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parses one serialized ``tf.train.SequenceExample`` into (context, sequence) dicts, as
    ``tf.io.parse_single_sequence_example``: sequence features are ``[steps, *shape]``
    (``FixedLenSequenceFeature``), sparse ``[steps, longest]`` (``VarLenFeature``) or ragged
    by step (``RaggedFeature``)."""
    context = _specs(
        context_features or {},
        (FixedLenFeature, VarLenFeature, RaggedFeature),
        "context_features",
    )
    sequence = _specs(
        sequence_features or {},
        (FixedLenSequenceFeature, VarLenFeature, RaggedFeature),
        "sequence_features",
    )
    context_layout = _layout(context, batched=False, sequence=False, rows=None)
    sequence_layout = _layout(sequence, batched=False, sequence=True, rows=None)
    parts = _run(("sequence", context, sequence), [context_layout, sequence_layout], serialized)
    n = sum(len(t) for _, t in context_layout)
    return (
        _assemble(context, context_layout, parts[:n]),
        _assemble(sequence, sequence_layout, parts[n:]),
    )


# ---------------------------------------------------------------------- encoding


def _as_bytes(name: str, v: Any) -> bytes:
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, bytes | np.bytes_):
        return bytes(v)
    raise TypeError(f"serialize_example: feature {name!r} mixes bytes/str with {type(v).__name__}")


def _feature(name: str, value: Any) -> tuple[str, Any]:
    """A Python or numpy value as a Feature: bytes/str → bytes_list, ints and bools →
    int64_list, floats → float_list; arrays and lists by their element type."""
    if isinstance(value, bytes | str):
        return ("bytes", [_as_bytes(name, value)])
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError(
                f"serialize_example: feature {name!r} is an empty list, whose type cannot be "
                "told: give a numpy array with a dtype"
            )
        if any(isinstance(v, bytes | str) for v in value):
            # Not through numpy: a fixed-width bytes array drops trailing NUL bytes.
            return ("bytes", [_as_bytes(name, v) for v in value])
    arr = np.asarray(value)
    flat = arr.reshape(-1)
    if arr.dtype.kind in "iub":
        return ("int64", flat.astype(np.int64).tolist())
    if arr.dtype.kind == "f":
        return ("float", flat.astype(np.float32).tolist())
    if arr.dtype.kind in "SUO":
        return ("bytes", [_as_bytes(name, v) for v in flat])
    raise TypeError(f"serialize_example: feature {name!r}: unsupported dtype {arr.dtype}")


def _features(features: dict[str, Any]) -> list[tuple[str, Any]]:
    if not isinstance(features, dict):
        raise TypeError(f"expected a dict of features, got {type(features).__name__}")
    return [(str(k), _feature(str(k), v)) for k, v in features.items()]


def serialize_example(features: dict[str, Any]) -> bytes:
    """A serialized ``tf.train.Example`` of ``features`` (name → value), in the dict's
    order: bytes/str → bytes_list, ints/bools → int64_list, floats → float_list, numpy
    arrays by dtype (flattened), lists of them."""
    return _native.encode_example_op(_features(features))


def _values(kind: str, values: Any) -> Any:
    if kind == "float":
        return np.asarray(values, np.float32)
    if kind == "int64":
        return np.asarray(values, np.int64)
    return list(values)


def example_to_dict(record: bytes) -> dict[str, Any]:
    """A serialized ``tf.train.Example`` as name → values: int64 and float32 arrays, lists
    of bytes (the inverse of ``serialize_example``)."""
    return {name: _values(kind, v) for name, (kind, v) in _native.decode_example_op(record)}


def serialize_sequence_example(
    context: dict[str, Any] | None = None, feature_lists: dict[str, list[Any]] | None = None
) -> bytes:
    """A serialized ``tf.train.SequenceExample``: ``context`` as in ``serialize_example``,
    ``feature_lists`` name → a list of per-step values."""
    lists = []
    for name, steps in (feature_lists or {}).items():
        lists.append((str(name), [_feature(str(name), s) for s in steps]))
    return _native.encode_sequence_example_op(_features(context or {}), lists)


def sequence_example_to_dict(record: bytes) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """A serialized ``tf.train.SequenceExample`` as (context, feature lists), values as in
    ``example_to_dict``."""
    context, lists = _native.decode_sequence_example_op(record)
    return (
        {name: _values(kind, v) for name, (kind, v) in context},
        {name: [_values(kind, v) for kind, v in steps] for name, steps in lists},
    )


__all__ = [
    "FixedLenFeature",
    "FixedLenSequenceFeature",
    "RaggedFeature",
    "VarLenFeature",
    "example_to_dict",
    "parse_example",
    "parse_single_example",
    "parse_single_sequence_example",
    "sequence_example_to_dict",
    "serialize_example",
    "serialize_sequence_example",
]
