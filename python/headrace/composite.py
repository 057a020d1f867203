"""``RaggedTensor`` and ``SparseTensor``: values with rows of varying length, and values
given by coordinates, as ``tf.RaggedTensor`` and ``tf.sparse.SparseTensor``.

Datasets yield them with numpy components; inside a traced function their components are
placeholders. They batch and unbatch as tf.data's do: a batch of ragged values is ragged
one level deeper, a batch of sparse values gains a leading batch dimension.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dtypes import DType, as_dtype


def _array(value: Any, dtype: Any = None) -> Any:
    """numpy for concrete values; placeholders (while tracing) pass through."""
    if hasattr(value, "_graph"):
        return value
    return np.asarray(value, dtype=dtype)


class RaggedTensor:
    """Rows of varying length: ``flat_values`` partitioned by ``nested_row_splits``
    (outermost first); row ``i`` of a partition is ``splits[i]:splits[i + 1]`` of the
    level below."""

    __slots__ = ("flat_values", "nested_row_splits")
    _composite_kind = "ragged"

    def __init__(self, flat_values: Any, nested_row_splits: Any) -> None:
        self.flat_values = _array(flat_values)
        self.nested_row_splits = tuple(_array(s, np.int64) for s in nested_row_splits)
        if not self.nested_row_splits:
            raise ValueError("a RaggedTensor needs at least one row partition")
        if not hasattr(self.flat_values, "_graph"):
            self._check()

    def _check(self) -> None:
        """Each partition starts at 0, never decreases, and ends at the number of rows of
        the level below (as the engine checks)."""
        if self.flat_values.ndim == 0:
            raise ValueError("a RaggedTensor's values need rank >= 1, got a scalar")
        for level, splits in enumerate(self.nested_row_splits):
            if hasattr(splits, "_graph"):
                return
            below = (
                len(self.nested_row_splits[level + 1]) - 1
                if level + 1 < len(self.nested_row_splits)
                else len(self.flat_values)
            )
            if (
                splits.ndim != 1
                or len(splits) == 0
                or splits[0] != 0
                or np.any(np.diff(splits) < 0)
                or splits[-1] != below
            ):
                raise ValueError(
                    f"row_splits (partition {level}) must start at 0, never decrease and end "
                    f"at {below}, the number of rows below; got {splits.tolist()[:16]}"
                )

    # ------------------------------------------------------------------ construction

    @staticmethod
    def from_row_splits(values: Any, row_splits: Any) -> RaggedTensor:
        """Rows ``values[row_splits[i]:row_splits[i + 1]]``; ``values`` may itself be a
        RaggedTensor."""
        if isinstance(values, RaggedTensor):
            return RaggedTensor(values.flat_values, (row_splits, *values.nested_row_splits))
        return RaggedTensor(values, (row_splits,))

    @staticmethod
    def from_nested_row_splits(flat_values: Any, nested_row_splits: Any) -> RaggedTensor:
        """The values partitioned by each splits vector in turn, outermost first."""
        return RaggedTensor(flat_values, nested_row_splits)

    @staticmethod
    def from_row_lengths(values: Any, row_lengths: Any) -> RaggedTensor:
        """Rows of the given lengths, taken from ``values`` in order."""
        lengths = np.asarray(row_lengths, dtype=np.int64)
        splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return RaggedTensor.from_row_splits(values, splits)

    # ------------------------------------------------------------------ structure

    def _components(self) -> list[Any]:
        return [self.flat_values, *self.nested_row_splits]

    @property
    def ragged_rank(self) -> int:
        """How many dimensions are ragged."""
        return len(self.nested_row_splits)

    @property
    def row_splits(self) -> Any:
        """The outermost partition."""
        return self.nested_row_splits[0]

    @property
    def values(self) -> Any:
        """The level below the outermost partition: a RaggedTensor, or the flat values."""
        if self.ragged_rank == 1:
            return self.flat_values
        return RaggedTensor(self.flat_values, self.nested_row_splits[1:])

    @property
    def dtype(self) -> DType:
        return as_dtype(self.flat_values.dtype)

    @property
    def shape(self) -> tuple[int | None, ...]:
        """``(nrows, None, …, inner dimensions of the flat values)``."""
        inner = tuple(self.flat_values.shape)[1:]
        return (self.nrows(), *([None] * self.ragged_rank), *inner)

    def nrows(self) -> int:
        """The number of rows."""
        return int(len(self.row_splits) - 1)

    def row_lengths(self) -> np.ndarray:
        """The length of each row."""
        return np.diff(np.asarray(self.row_splits))

    def __len__(self) -> int:
        return self.nrows()

    def __getitem__(self, index: int) -> Any:
        """Row ``index``: a RaggedTensor one level less ragged, or an array."""
        n = self.nrows()
        if not -n <= index < n:
            raise IndexError(f"row {index} is out of range for {n} rows")
        index %= n
        lo, hi = int(self.row_splits[index]), int(self.row_splits[index + 1])
        inner_splits = []
        for splits in self.nested_row_splits[1:]:
            inner_splits.append(np.asarray(splits[lo : hi + 1]) - splits[lo])
            lo, hi = int(splits[lo]), int(splits[hi])
        rows = self.flat_values[lo:hi]
        return RaggedTensor(rows, inner_splits) if inner_splits else rows

    def to_list(self) -> list[Any]:
        """Nested Python lists, as ``tf.RaggedTensor.to_list``."""
        return [r.to_list() if isinstance(r, RaggedTensor) else r.tolist() for r in self]

    def to_tensor(self, default_value: Any = 0) -> np.ndarray:
        """A dense array padded with ``default_value`` to the longest row at each level."""
        rows = self.to_list()

        def depth_shape(x: Any, level: int, shape: list[int]) -> None:
            if level == self.ragged_rank + 1:
                return
            if len(shape) <= level:
                shape.append(0)
            shape[level] = max(shape[level], len(x))
            for item in x:
                depth_shape(item, level + 1, shape)

        shape: list[int] = []
        depth_shape(rows, 0, shape)
        inner = tuple(self.flat_values.shape)[1:]
        out = np.full((*shape, *inner), default_value, dtype=self.flat_values.dtype)

        def fill(x: Any, prefix: tuple[int, ...]) -> None:
            if len(prefix) == self.ragged_rank:
                if len(x):
                    out[prefix][: len(x)] = np.asarray(x, dtype=self.flat_values.dtype)
                return
            for i, item in enumerate(x):
                fill(item, (*prefix, i))

        fill(rows, ())
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RaggedTensor) or other.ragged_rank != self.ragged_rank:
            return False
        return bool(
            np.array_equal(self.flat_values, other.flat_values)
            and all(
                np.array_equal(a, b)
                for a, b in zip(self.nested_row_splits, other.nested_row_splits, strict=True)
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if hasattr(self.flat_values, "_graph"):
            return f"<traced RaggedTensor {self.dtype.name} {self.shape}>"
        return f"<hr.RaggedTensor {self.to_list()!r}>"


def ragged_constant(pylist: Any, dtype: Any = None, ragged_rank: int | None = None) -> RaggedTensor:
    """A RaggedTensor from nested Python lists (``tf.ragged.constant``): every level but
    the innermost is ragged unless ``ragged_rank`` says fewer."""

    def depth(x: Any) -> int:
        return 1 + max((depth(i) for i in x), default=0) if isinstance(x, list | tuple) else 0

    total = depth(pylist)
    rank = total - 1 if ragged_rank is None else ragged_rank
    if rank < 1:
        raise ValueError("ragged.constant needs at least two levels of nesting")
    splits = []
    level_items: list[Any] = list(pylist)
    for _ in range(rank):
        row_splits = [0]
        next_items: list[Any] = []
        for item in level_items:
            next_items.extend(item)
            row_splits.append(len(next_items))
        splits.append(row_splits)
        level_items = next_items
    flat = level_items
    dt = None if dtype is None else as_dtype(dtype).as_numpy_dtype
    values = np.asarray(flat, dtype=dt)
    if values.dtype.kind in "US":
        values = np.asarray([v.encode() if isinstance(v, str) else v for v in flat], dtype=object)
    return RaggedTensor(values, [np.asarray(s, np.int64) for s in splits])


class SparseTensor:
    """``values`` at ``indices`` (int64 ``[nnz, rank]``) of a dense tensor of shape
    ``dense_shape``, as ``tf.sparse.SparseTensor``."""

    __slots__ = ("indices", "values", "dense_shape")
    _composite_kind = "sparse"

    def __init__(self, indices: Any, values: Any, dense_shape: Any) -> None:
        self.indices = _array(indices, np.int64)
        self.values = _array(values)
        self.dense_shape = _array(dense_shape, np.int64)

    def _components(self) -> list[Any]:
        return [self.indices, self.values, self.dense_shape]

    @property
    def dtype(self) -> DType:
        return as_dtype(self.values.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.dense_shape)

    def to_dense(self, default_value: Any = 0) -> np.ndarray:
        """The dense array, ``default_value`` where no value is given."""
        out = np.full(self.shape, default_value, dtype=self.values.dtype)
        if len(self.values):
            out[tuple(np.asarray(self.indices).T)] = self.values
        return out

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SparseTensor)
            and np.array_equal(self.indices, other.indices)
            and np.array_equal(self.values, other.values)
            and np.array_equal(self.dense_shape, other.dense_shape)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"hr.SparseTensor(indices={self.indices!r}, values={self.values!r}, "
            f"dense_shape={self.dense_shape!r})"
        )
