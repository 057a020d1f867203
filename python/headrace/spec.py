"""``TensorSpec``: the dtype and shape of one component of a dataset's elements."""

from __future__ import annotations

from typing import Any

from .dtypes import DType, as_dtype, float32

Shape = tuple[int | None, ...] | None


class TensorSpec:
    """Describes a tensor, as ``tf.TensorSpec``: ``shape`` is a tuple whose entries are ints
    or ``None`` (unknown), or ``None`` for an unknown rank."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape: Any, dtype: Any = float32, name: str | None = None) -> None:
        self.shape: Shape = (
            None
            if shape is None
            else tuple(None if d is None or d == -1 else int(d) for d in shape)
        )
        self.dtype: DType = as_dtype(dtype)
        self.name = name

    def is_compatible_with(self, value: Any) -> bool:
        """Whether ``value`` (a spec, or anything with ``.shape`` and ``.dtype``) fits."""
        shape = getattr(value, "shape", None)
        dtype = getattr(value, "dtype", None)
        if dtype is None or as_dtype(dtype) != self.dtype:
            return False
        if self.shape is None or shape is None:
            return True
        shape = tuple(shape)
        return len(shape) == len(self.shape) and all(
            a is None or b is None or a == b for a, b in zip(self.shape, shape, strict=True)
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TensorSpec)
            and self.shape == other.shape
            and self.dtype == other.dtype
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype!r}, name={self.name!r})"


class RaggedTensorSpec:
    """Describes a ragged component, as ``tf.RaggedTensorSpec``: its shape (``None`` for
    ragged dimensions), dtype and how many dimensions are ragged."""

    __slots__ = ("shape", "dtype", "ragged_rank")

    def __init__(
        self, shape: Any = None, dtype: Any = float32, ragged_rank: int | None = None
    ) -> None:
        self.shape: Shape = (
            None
            if shape is None
            else tuple(None if d is None or d == -1 else int(d) for d in shape)
        )
        self.dtype: DType = as_dtype(dtype)
        if ragged_rank is None:
            ragged_rank = 1 if self.shape is None else max(len(self.shape) - 1, 0)
        self.ragged_rank = int(ragged_rank)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RaggedTensorSpec)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.ragged_rank == other.ragged_rank
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.ragged_rank))

    def __repr__(self) -> str:
        return (
            f"RaggedTensorSpec(shape={self.shape}, dtype={self.dtype!r}, "
            f"ragged_rank={self.ragged_rank})"
        )


class SparseTensorSpec:
    """Describes a sparse component, as ``tf.SparseTensorSpec``: its dense shape and
    dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: Any = None, dtype: Any = float32) -> None:
        self.shape: Shape = (
            None
            if shape is None
            else tuple(None if d is None or d == -1 else int(d) for d in shape)
        )
        self.dtype: DType = as_dtype(dtype)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SparseTensorSpec) and (self.shape, self.dtype) == (
            other.shape,
            other.dtype,
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        return f"SparseTensorSpec(shape={self.shape}, dtype={self.dtype!r})"


def spec_from_native(tree: Any) -> Any:
    """Native spec trees: ``(shape, dtype_name)`` per tensor, lists for tuples, dicts."""
    if tree is None:
        return None
    if isinstance(tree, list):
        return tuple(spec_from_native(t) for t in tree)
    if isinstance(tree, dict):
        return {k: spec_from_native(v) for k, v in tree.items()}
    if len(tree) == 4:
        return RaggedTensorSpec(tree[0], tree[1], tree[3])
    if len(tree) == 3:
        return SparseTensorSpec(tree[0], tree[1])
    shape, dtype = tree
    return TensorSpec(shape, dtype)


def spec_to_native(spec: Any) -> Any:
    """The inverse of :func:`spec_from_native`."""
    if spec is None:
        return None
    if isinstance(spec, TensorSpec):
        return (None if spec.shape is None else list(spec.shape), spec.dtype.name)
    if isinstance(spec, RaggedTensorSpec):
        shape = None if spec.shape is None else list(spec.shape)
        return (shape, spec.dtype.name, "ragged", spec.ragged_rank)
    if isinstance(spec, SparseTensorSpec):
        return (None if spec.shape is None else list(spec.shape), spec.dtype.name, "sparse")
    if isinstance(spec, tuple):
        return [spec_to_native(s) for s in spec]
    if isinstance(spec, dict):
        return {k: spec_to_native(v) for k, v in spec.items()}
    raise TypeError(f"output_signature: expected TensorSpecs in tuples/dicts, got {spec!r}")
