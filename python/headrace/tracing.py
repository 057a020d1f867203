"""Tracing: a function built from ``hr`` ops becomes a native graph.

``map``/``filter`` call the user's function once with symbolic placeholders that carry the
element's structure, dtypes and shapes. Each ``hr`` op (and Python arithmetic on
placeholders) appends a node to a graph and returns a new placeholder; the function's result
says which nodes are the outputs. The graph then runs in the engine, without the GIL.

A function is run as Python instead when it is not built only from ``hr`` ops. Before
calling it, its code is read: every global or closure name it uses must be headrace, a
Python builtin without effects, a value (number, string, numpy value, dtype, or a tuple,
list, dict or set of them: read at trace time, as tf.function reads them) or another
function that passes the same check; and it must not store into a subscript, an attribute,
a global or an enclosing function's variable, nor call a method that changes a container
(``append``, ``update`` …). So a function using ``time``, ``np``, ``random`` or a list it
appends to is never called at trace time. While tracing, a call to
any other C function from user code, handing a placeholder to numpy, or Python control flow
on a traced value (``if x > 0``) also sends it to Python. A shape or dtype error found while
tracing is the user's error and raises at the ``map()`` call.
"""

from __future__ import annotations

import builtins
import dis
import random as _py_random
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _native
from .dtypes import DType, as_dtype, bool_, float32, float64
from .errors import InvalidArgumentError
from .spec import TensorSpec

Shape = tuple[int | None, ...] | None


class NotTraceable(Exception):
    """The function is not built only from hr ops: it runs as Python."""


class ForeignSymbol(NotTraceable):
    """A placeholder of one trace used in another (an inner function using the outer
    function's value): the outer function cannot be traced either."""


# The most ops one traced function may make. A Python loop over a traced value unrolls into
# ops (``for i in range(2_000_000): t += i * x`` would make four million, taking minutes to
# trace); past this, the function runs as Python instead. Real pipelines' functions make
# tens to hundreds.
MAX_TRACED_OPS = 10_000


class _Graph:
    """The nodes a trace appends, in order, and (for a flat_map/interleave function) the
    nodes whose values the inner dataset is made from, its parameters."""

    def __init__(self) -> None:
        self.nodes: list[tuple[Any, ...]] = []
        self.params: list[int] = []

    def add(self, node: tuple[Any, ...], dtype: DType, shape: Shape) -> Symbol:
        if active_graph() is not self:
            raise ForeignSymbol("a value traced by another function")
        if len(self.nodes) >= MAX_TRACED_OPS:
            raise NotTraceable(
                f"the function makes more than {MAX_TRACED_OPS:,} ops (a Python loop unrolled "
                "over a traced value?)"
            )
        self.nodes.append(node)
        return Symbol(self, len(self.nodes) - 1, dtype, shape)


class Symbol:
    """A placeholder for a tensor while a function is traced: it has a dtype and a shape
    (``None`` where unknown) but no values."""

    __slots__ = ("_graph", "_index", "dtype", "shape", "ragged_rows")
    # numpy must hand binary operators back to us rather than convert a Symbol.
    __array_ufunc__ = None

    def __init__(self, graph: _Graph, index: int, dtype: DType, shape: Shape) -> None:
        self._graph = graph
        self._index = index
        self.dtype = dtype
        self.shape = shape
        # Set on a row of a ragged value (a RaggedFeature of one example): returned as is,
        # it stays ragged (ragged rank 0), so that batching gives a RaggedTensor.
        self.ragged_rows = False

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotTraceable("numpy was given a symbolic tensor")

    def __bool__(self) -> bool:
        raise NotTraceable("Python control flow depends on a traced value")

    def __len__(self) -> int:
        raise NotTraceable("len() of a traced value")

    def __iter__(self) -> Any:
        raise NotTraceable("iteration over a traced value")

    def __float__(self) -> float:
        raise NotTraceable("float() of a traced value")

    def __int__(self) -> int:
        raise NotTraceable("int() of a traced value")

    def __index__(self) -> int:
        raise NotTraceable("a traced value used as an index")

    def __getitem__(self, key: Any) -> Symbol:
        return array_op("slice", slice_items(key), [self])

    @property
    def ndim(self) -> int | None:
        """The rank, or None when unknown."""
        return None if self.shape is None else len(self.shape)

    def __repr__(self) -> str:
        return f"<traced {self.dtype.name} {self.shape}>"

    __hash__ = object.__hash__

    # Python operators map to hr.math, as on tf.Tensor.
    def __add__(self, o: Any) -> Symbol:
        return binary("add", self, o)

    def __radd__(self, o: Any) -> Symbol:
        return binary("add", o, self)

    def __sub__(self, o: Any) -> Symbol:
        return binary("subtract", self, o)

    def __rsub__(self, o: Any) -> Symbol:
        return binary("subtract", o, self)

    def __mul__(self, o: Any) -> Symbol:
        return binary("multiply", self, o)

    def __rmul__(self, o: Any) -> Symbol:
        return binary("multiply", o, self)

    def __truediv__(self, o: Any) -> Symbol:
        return binary("divide", self, o)

    def __rtruediv__(self, o: Any) -> Symbol:
        return binary("divide", o, self)

    def __floordiv__(self, o: Any) -> Symbol:
        return binary("floordiv", self, o)

    def __rfloordiv__(self, o: Any) -> Symbol:
        return binary("floordiv", o, self)

    def __mod__(self, o: Any) -> Symbol:
        return binary("mod", self, o)

    def __rmod__(self, o: Any) -> Symbol:
        return binary("mod", o, self)

    def __pow__(self, o: Any) -> Symbol:
        return binary("pow", self, o)

    def __rpow__(self, o: Any) -> Symbol:
        return binary("pow", o, self)

    def __neg__(self) -> Symbol:
        return unary("negative", self)

    def __abs__(self) -> Symbol:
        return unary("abs", self)

    def __lt__(self, o: Any) -> Symbol:
        return binary("less", self, o)

    def __le__(self, o: Any) -> Symbol:
        return binary("less_equal", self, o)

    def __gt__(self, o: Any) -> Symbol:
        return binary("greater", self, o)

    def __ge__(self, o: Any) -> Symbol:
        return binary("greater_equal", self, o)

    def __eq__(self, o: Any) -> Symbol:  # type: ignore[override]
        return binary("equal", self, o)

    def __ne__(self, o: Any) -> Symbol:  # type: ignore[override]
        return binary("not_equal", self, o)

    def __and__(self, o: Any) -> Symbol:
        return binary("logical_and", self, o)

    def __rand__(self, o: Any) -> Symbol:
        return binary("logical_and", o, self)

    def __or__(self, o: Any) -> Symbol:
        return binary("logical_or", self, o)

    def __ror__(self, o: Any) -> Symbol:
        return binary("logical_or", o, self)

    def __invert__(self) -> Symbol:
        return unary("logical_not", self)


def is_symbolic(*values: Any) -> bool:
    """Whether any of ``values`` is a placeholder (the call is being traced)."""
    return any(isinstance(v, Symbol) for v in values)


def is_symbolic_tree(value: Any) -> bool:
    """Whether a (nested tuple/list/dict) value holds a placeholder."""
    if isinstance(value, Symbol):
        return True
    if isinstance(value, tuple | list):
        return any(is_symbolic_tree(v) for v in value)
    if isinstance(value, dict):
        return any(is_symbolic_tree(v) for v in value.values())
    return False


def template_source(kind: str, args: Any) -> Any:
    """A source dataset made from traced values, inside a flat_map/interleave function:
    ``kind`` ("tensors", "slices", "range") of ``args``, whose placeholders (and constants
    beside them) become parameters of the template. Returns the native dataset."""
    graph = active_graph()
    if graph is None:
        raise NotTraceable("a dataset made from a traced value outside a trace")

    def tree(value: Any) -> tuple[Any, Any]:
        if isinstance(value, tuple | list) and not isinstance(value, Symbol):
            pairs = [tree(v) for v in value]
            return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
        if isinstance(value, dict):
            pairs = {k: tree(value[k]) for k in sorted(value)}
            return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
        symbol = value if isinstance(value, Symbol) else _constant(graph, value, None)
        if symbol._graph is not graph:
            raise ForeignSymbol("a dataset made from a value traced by another function")
        graph.params.append(symbol._index)
        return len(graph.params) - 1, TensorSpec(symbol.shape, symbol.dtype)

    indices, spec = tree(args)
    from .spec import spec_to_native

    return _native.param_source(kind, indices, spec_to_native(spec))


def _constant(graph: _Graph, value: Any, like: DType | None) -> Symbol:
    """A constant operand: a Python number takes ``like``'s dtype, as in TensorFlow."""
    if type(value) in (int, float, bool) and like is not None:
        converted = np.asarray(value, dtype=like.as_numpy_dtype)
        if like.is_integer and isinstance(value, float) and converted != value:
            raise TypeError(f"cannot convert {value!r} to a tensor of dtype {like.name}")
    else:
        converted = np.asarray(_native.constant(value))
    dtype = as_dtype(converted.dtype)
    return graph.add(("const", converted), dtype, tuple(converted.shape))


def _broadcast(op: str, a: Shape, b: Shape) -> Shape:
    if a is None or b is None:
        return None
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + a
    b = (1,) * (rank - len(b)) + b
    out: list[int | None] = []
    for x, y in zip(a, b, strict=True):
        if x == y:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        else:
            raise InvalidArgumentError(
                f"{op}: shapes {list(a)} and {list(b)} cannot be broadcast together"
            )
    return tuple(out)


_COMPARISONS = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal"}
_LOGICAL = {"logical_and", "logical_or", "logical_not"}
_FLOAT_ONLY = {"sqrt", "exp", "log", "floor", "ceil"}


def binary(op: str, x: Any, y: Any) -> Symbol:
    """Appends ``op(x, y)`` to the trace, checking dtypes and shapes now."""
    symbols = [v for v in (x, y) if isinstance(v, Symbol)]
    graph = symbols[0]._graph
    if any(s._graph is not graph for s in symbols):
        raise ForeignSymbol(f"{op}: operands come from different traced functions")
    like = symbols[0].dtype
    a = x if isinstance(x, Symbol) else _constant(graph, x, like)
    b = y if isinstance(y, Symbol) else _constant(graph, y, like)
    if a.dtype != b.dtype:
        raise InvalidArgumentError(
            f"{op}: operands have different dtypes, {a.dtype.name} {a.shape} and "
            f"{b.dtype.name} {b.shape}: cast one with hr.cast"
        )
    if op in _LOGICAL and a.dtype != bool_:
        raise InvalidArgumentError(f"{op}: needs bool tensors, got {a.dtype.name}")
    shape = _broadcast(op, a.shape, b.shape)
    if op in _COMPARISONS or op in _LOGICAL:
        dtype = bool_
    elif op == "divide" and a.dtype.is_integer:
        dtype = float32 if a.dtype.name in ("int8", "int16", "uint8", "uint16") else float64
    else:
        dtype = a.dtype
    return graph.add(("binary", op, a._index, b._index), dtype, shape)


def unary(op: str, x: Symbol) -> Symbol:
    """Appends ``op(x)`` to the trace."""
    if op in _FLOAT_ONLY and not x.dtype.is_floating:
        raise InvalidArgumentError(
            f"{op}: not defined for {x.dtype.name} tensors (cast to a float first)"
        )
    if op == "logical_not" and x.dtype != bool_:
        raise InvalidArgumentError(f"logical_not: needs a bool tensor, got {x.dtype.name}")
    return x._graph.add(("unary", op, x._index), x.dtype, x.shape)


def cast(x: Symbol, dtype: DType) -> Symbol:
    """Appends ``cast(x, dtype)`` to the trace."""
    if (x.dtype.name == "string") != (dtype.name == "string"):
        raise InvalidArgumentError(f"cast: cannot cast {x.dtype.name} to {dtype.name}")
    return x._graph.add(("cast", x._index, dtype.name), dtype, x.shape)


def slice_items(key: Any) -> list[tuple[Any, ...]]:
    """A Python indexing key as the engine's slice items."""
    items = []
    for k in key if isinstance(key, tuple) else (key,):
        if k is None:
            items.append(("newaxis",))
        elif k is Ellipsis:
            items.append(("ellipsis",))
        elif isinstance(k, slice):
            step = 1 if k.step is None else int(k.step)
            start = None if k.start is None else int(k.start)
            stop = None if k.stop is None else int(k.stop)
            items.append(("range", start, stop, step))
        elif isinstance(k, int | np.integer) and not isinstance(k, bool):
            items.append(("index", int(k)))
        else:
            raise NotTraceable(f"indexing with {type(k).__name__} is not traced")
    return items


def _as_symbol(graph: _Graph, value: Any) -> Symbol:
    if isinstance(value, Symbol):
        if value._graph is not graph:
            raise ForeignSymbol("operands come from different traced functions")
        return value
    return _constant(graph, value, None)


def array_op(name: str, attrs: Any, inputs: list[Any]) -> Symbol:
    """Appends an array op to the trace; see ``_kernel_op``."""
    return _kernel_op("array", _native.array_op, name, attrs, inputs)


def image_op(name: str, attrs: Any, inputs: list[Any]) -> Symbol:
    """Appends an image op (``hr.image``) to the trace; see ``_kernel_op``."""
    return _kernel_op("image", _native.image_op, name, attrs, inputs)


def _kernel_op(
    kind: str, kernel: Callable[..., Any], name: str, attrs: Any, inputs: list[Any]
) -> Symbol:
    """Appends a ``kind`` op to the trace. Its output shape and dtype are found by running the
    kernel on zeros of the input shapes (twice, with different sizes standing in for unknown
    dimensions: dimensions of the output that differ are unknown), so shape rules live in one
    place, the kernel, and a shape error raises now, naming the op."""
    graph = next(v for v in inputs if isinstance(v, Symbol))._graph
    symbols = [_as_symbol(graph, v) for v in inputs]
    if any(s.shape is None for s in symbols):
        raise NotTraceable(f"{name} on a tensor of unknown rank")
    if kind == "array" and name == "reshape" and None in symbols[0].shape:
        # Zeros of a stand-in size cannot be reshaped to the target (a decoded vector of
        # unknown length to [32, 32, 3]): the target is the shape, -1 unknown; the kernel
        # checks the element count on each element.
        if list(attrs).count(-1) > 1:
            raise InvalidArgumentError("reshape: only one dimension may be -1")
        shape = tuple(None if d == -1 else d for d in attrs)
        return graph.add((kind, name, attrs, [s._index for s in symbols]), symbols[0].dtype, shape)

    def run(stand_ins: tuple[int, int]) -> list[np.ndarray]:
        trials = []
        for stand_in in stand_ins:
            zeros = [
                np.zeros(
                    [stand_in if d is None else d for d in s.shape],
                    dtype=object if s.dtype.name == "string" else s.dtype.as_numpy_dtype,
                )
                for s in symbols
            ]
            for z, s in zip(zeros, symbols, strict=True):
                if s.dtype.name == "string":
                    z.fill(b"")
            trials.append(np.asarray(kernel(name, attrs, zeros)))
            if all(None not in s.shape for s in symbols):
                break
        return trials

    try:
        trials = run((5, 7))
    except InvalidArgumentError:
        # A crop of a decoded image (unknown height and width) to a window larger than the
        # small stand-ins: try sizes that hold any window a photograph's crop would take.
        if all(None not in s.shape for s in symbols):
            raise
        trials = run((1021, 1031))
    first = trials[0]
    shape: Shape = tuple(first.shape)
    if len(trials) == 2:
        other = trials[1].shape
        shape = tuple(a if a == b else None for a, b in zip(first.shape, other, strict=False))
        if len(first.shape) != len(other):
            shape = None
    dtype = as_dtype("string" if first.dtype == object else first.dtype)
    return graph.add((kind, name, attrs, [s._index for s in symbols]), dtype, shape)


def decode_op(
    name: str,
    attrs: Any,
    contents: Symbol,
    dtype: DType,
    shape: Shape,
    input_dtype: str | None = "string",
) -> Symbol:
    """Appends an image decoder or encoder to the trace: its output's dtype and shape (for a
    decoder, height and width unknown) are declared, since no stand-in input decodes."""
    if input_dtype is not None and contents.dtype.name != input_dtype:
        raise InvalidArgumentError(
            f"{name}: needs a {input_dtype} tensor, got {contents.dtype.name}"
        )
    return contents._graph.add(("image", name, attrs, [contents._index]), dtype, shape)


def random_image_op(
    name: str, attrs: Any, image: Symbol, seed: int | None, dtype: DType, shape: Shape
) -> Symbol:
    """Appends a random image op (``random_crop`` …) to the trace; it draws from the
    element's own stream for ``seed`` (one is drawn now when ``None``, as ``random_node``)."""
    node = ("random_image", name, attrs, [image._index], resolve_seed(seed))
    return image._graph.add(node, dtype, shape)


def text_op(name: str, attrs: Any, inputs: list[Any], dtype: DType, shape: Shape) -> Symbol:
    """Appends a string or file op to the trace; the caller knows its output dtype and shape
    (string inputs must be strings, checked now)."""
    graph = next(v for v in inputs if isinstance(v, Symbol))._graph
    symbols = [_as_symbol(graph, v) for v in inputs]
    for s in symbols:
        if s.dtype.name != "string":
            raise InvalidArgumentError(f"{name}: needs a string tensor, got {s.dtype.name}")
    return graph.add(("text", name, attrs, [s._index for s in symbols]), dtype, shape)


def multi_op(
    name: str, attrs: Any, inputs: list[Any], outputs: list[tuple[DType, Shape]]
) -> list[Symbol]:
    """Appends an op with several outputs (``outputs``: their dtypes and shapes): a "multi"
    node giving the first, and a "part" node for each other."""
    graph = next(v for v in inputs if isinstance(v, Symbol))._graph
    symbols = [_as_symbol(graph, v) for v in inputs]
    (dtype, shape), rest = outputs[0], outputs[1:]
    first = graph.add(("multi", name, attrs, [s._index for s in symbols]), dtype, shape)
    parts = [graph.add(("part", first._index, k + 1), d, sh) for k, (d, sh) in enumerate(rest)]
    return [first, *parts]


def split_op(x: Symbol, sep: bytes | None) -> Any:
    """``strings.split`` in a trace: a scalar gives a vector of pieces, a vector a
    RaggedTensor of them."""
    from .composite import RaggedTensor
    from .dtypes import int64, string

    if x.dtype.name != "string":
        raise InvalidArgumentError(f"split: needs a string tensor, got {x.dtype.name}")
    if x.shape is None or len(x.shape) > 1:
        raise InvalidArgumentError(f"split: needs a scalar or a vector, got shape {x.shape}")
    if len(x.shape) == 0:
        return multi_op("split", sep, [x], [(string, (None,))])[0]
    values, splits = multi_op("split", sep, [x], [(string, (None,)), (int64, (None,))])
    return RaggedTensor(values, [splits])


def _axes(op: str, axis: Any, rank: int | None) -> list[int]:
    """``axis`` (None, an int or a sequence) as a list; [] means every axis."""
    if axis is None:
        return []
    axes = [int(axis)] if isinstance(axis, int | np.integer) else [int(a) for a in axis]
    if rank is not None:
        for a in axes:
            if not -rank <= a < rank:
                raise InvalidArgumentError(
                    f"{op}: axis {a} is out of range for a tensor of rank {rank}"
                )
    return axes


def reduce(op: str, x: Symbol, axis: Any, keepdims: bool) -> Symbol:
    """Appends a reduction to the trace."""
    axes = _axes(op, axis, x.ndim)
    shape: Shape = None
    if x.shape is not None:
        rank = len(x.shape)
        reduced = {a % rank for a in axes} if axes else set(range(rank))
        shape = tuple(
            1 if i in reduced else d for i, d in enumerate(x.shape) if keepdims or i not in reduced
        )
    if x.dtype.name in ("bool", "string"):
        raise InvalidArgumentError(f"{op}: not defined for {x.dtype.name} tensors")
    return x._graph.add(("reduce", op, x._index, axes, bool(keepdims)), x.dtype, shape)


def arg_reduce(op: str, x: Symbol, axis: int) -> Symbol:
    """Appends argmax/argmin along ``axis`` to the trace."""
    (a,) = _axes(op, axis, x.ndim)
    shape: Shape = None
    if x.shape is not None:
        shape = tuple(d for i, d in enumerate(x.shape) if i != a % len(x.shape))
    return x._graph.add(("arg", op, x._index, a), as_dtype("int64"), shape)


# ---------------------------------------------------------------------- tracing a function

# Builtins that act on the world: a function calling them is not a pure computation.
_IMPURE_BUILTINS = {"print", "open", "input", "exec", "eval", "__import__", "breakpoint"}


def _watch_calls(untraceable: list[str]) -> Callable[..., Any]:
    """A profile hook noting C functions called from user code that hr cannot trace. Calls
    made while inside headrace (which uses numpy to build constants) are not the user's."""
    inside_headrace = [0]

    def in_headrace(frame: Any) -> bool:
        return str(frame.f_globals.get("__name__", "")).startswith("headrace")

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "return") and in_headrace(frame):
            inside_headrace[0] += 1 if event == "call" else -1
            return
        if event != "c_call" or untraceable or inside_headrace[0] > 0 or in_headrace(frame):
            return
        module = getattr(arg, "__module__", None)
        name = getattr(arg, "__name__", "?")
        if module == "builtins" and name not in _IMPURE_BUILTINS:
            return
        untraceable.append(f"{module or type(getattr(arg, '__self__', None)).__name__}.{name}")

    return hook


def _pure_value(value: Any, depth: int) -> bool:
    """Whether a global, closure or default value may appear in a traced function. Lists,
    dicts and sets are read at trace time, as tf.function reads them; ``_pure_code``
    refuses code that could change one."""
    if value is None or value is Ellipsis:
        return True
    if isinstance(value, int | float | bool | str | bytes | np.generic):
        return True
    if isinstance(value, slice):
        return all(_pure_value(v, depth) for v in (value.start, value.stop, value.step))
    if isinstance(value, np.ndarray | DType):
        return True
    if isinstance(value, tuple | list | set | frozenset):
        return len(value) <= 10_000 and all(_pure_value(v, depth) for v in value)
    if isinstance(value, dict):
        return len(value) <= 10_000 and all(
            _pure_value(k, depth) and _pure_value(v, depth) for k, v in value.items()
        )
    if isinstance(value, types.ModuleType):
        return value.__name__.split(".")[0] == "headrace"
    if str(getattr(value, "__module__", "") or "").startswith("headrace"):
        return True
    if isinstance(value, types.FunctionType):
        return depth < 8 and _pure_function(value, depth + 1)
    return False


# Instructions that change something outside the call: never in a traced function.
_EFFECT_OPS = {
    "STORE_SUBSCR",
    "DELETE_SUBSCR",
    "STORE_ATTR",
    "DELETE_ATTR",
    "STORE_GLOBAL",
    "DELETE_GLOBAL",
    "STORE_NAME",
}
# Methods that change a list, dict or set.
_MUTATING_METHODS = {
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "clear",
    "update",
    "setdefault",
    "popitem",
    "add",
    "discard",
    "sort",
    "reverse",
    "__setitem__",
    "__delitem__",
    "__iadd__",
}


def _pure_code(code: types.CodeType, fn: types.FunctionType, depth: int) -> bool:
    cells = dict(zip(code.co_freevars, fn.__closure__ or (), strict=False))
    for ins in dis.get_instructions(code):
        if ins.opname in _EFFECT_OPS:
            return False
        if ins.opname in ("STORE_DEREF", "DELETE_DEREF") and ins.argval in code.co_freevars:
            return False  # rebinding (or += on) an enclosing function's variable
        if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and ins.argval in _MUTATING_METHODS:
            return False
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            name = ins.argval
            if name in fn.__globals__:
                if not _pure_value(fn.__globals__[name], depth):
                    return False
            elif name in _IMPURE_BUILTINS or not hasattr(builtins, name):
                return False
        elif ins.opname in ("LOAD_DEREF", "LOAD_CLASSDEREF") and ins.argval in cells:
            try:
                value = cells[ins.argval].cell_contents
            except ValueError:  # an empty cell: a variable not yet bound
                return False
            if not _pure_value(value, depth):
                return False
    return all(_pure_code(c, fn, depth) for c in code.co_consts if isinstance(c, types.CodeType))


def _pure_function(fn: Any, depth: int = 0) -> bool:
    """Whether ``fn``'s code uses only names a traced function may use (see the module
    documentation). Callables that are not plain functions are not traced."""
    if not isinstance(fn, types.FunctionType):
        return False
    defaults = (fn.__defaults__ or ()) + tuple((fn.__kwdefaults__ or {}).values())
    return all(_pure_value(d, depth) for d in defaults) and _pure_code(fn.__code__, fn, depth)


_ACTIVE = threading.local()


def active_graph() -> _Graph | None:
    """The graph being traced on this thread, for ops without tensor inputs (random)."""
    return getattr(_ACTIVE, "graph", None)


def resolve_seed(seed: int | None) -> int:
    """An op's seed as the engine takes it (64 bits); without one, one drawn now, so the
    traced function is fixed but differs between traces (as an unseeded TF op)."""
    return _py_random.getrandbits(63) if seed is None else int(seed) & (2**64 - 1)


def random_node(
    kind: str, shape: Any, dtype: DType, seed: int | None, a: float, b: float
) -> Symbol:
    """Appends a random op to the active trace. Without a seed, one is drawn now, so the
    traced function is fixed but differs between traces (as an unseeded TF op)."""
    graph = active_graph()
    assert graph is not None
    dims = [int(d) for d in shape]
    node = ("random", kind, dims, dtype.name, resolve_seed(seed), float(a), float(b))
    return graph.add(node, dtype, tuple(dims))


def _placeholders(graph: _Graph, spec: Any, counter: list[int]) -> Any:
    if isinstance(spec, dict):
        return {k: _placeholders(graph, spec[k], counter) for k in sorted(spec)}
    if isinstance(spec, tuple):
        return tuple(_placeholders(graph, s, counter) for s in spec)
    from .composite import RaggedTensor, SparseTensor
    from .dtypes import int64
    from .spec import RaggedTensorSpec, SparseTensorSpec

    def leaf(dtype: DType, shape: Shape) -> Symbol:
        counter[0] += 1
        return graph.add(("input", counter[0] - 1), dtype, shape)

    if isinstance(spec, RaggedTensorSpec):
        inner = None if spec.shape is None else tuple(spec.shape[1 + spec.ragged_rank :])
        values = leaf(spec.dtype, None if inner is None else (None, *inner))
        if spec.ragged_rank == 0:
            return values
        return RaggedTensor(values, [leaf(int64, (None,)) for _ in range(spec.ragged_rank)])
    if isinstance(spec, SparseTensorSpec):
        rank = None if spec.shape is None else len(spec.shape)
        return SparseTensor(
            leaf(int64, (None, rank)), leaf(spec.dtype, (None,)), leaf(int64, (rank,))
        )
    assert isinstance(spec, TensorSpec)
    return leaf(spec.dtype, spec.shape)


def _spec_known(spec: Any) -> bool:
    if spec is None:
        return False
    if isinstance(spec, dict):
        return all(_spec_known(s) for s in spec.values())
    if isinstance(spec, tuple):
        return all(_spec_known(s) for s in spec)
    return True


def _outputs(graph: _Graph, result: Any) -> tuple[Any, Any]:
    """The output tree (node indices; lists for tuples; ("ragged" | "sparse", nodes) for
    composite values) and its spec."""
    from .composite import RaggedTensor, SparseTensor
    from .spec import RaggedTensorSpec, SparseTensorSpec

    if isinstance(result, RaggedTensor):
        parts = [_outputs(graph, p)[0] for p in result._components()]
        values = result.flat_values
        shape = (
            None
            if values.shape is None
            else (None, *([None] * result.ragged_rank), *values.shape[1:])
        )
        return ("ragged", parts), RaggedTensorSpec(shape, values.dtype, result.ragged_rank)
    if isinstance(result, SparseTensor):
        parts = [_outputs(graph, p)[0] for p in result._components()]
        rank = result.dense_shape.shape[0] if result.dense_shape.shape else None
        shape = None if rank is None else (None,) * rank
        return ("sparse", parts), SparseTensorSpec(shape, result.values.dtype)
    if isinstance(result, tuple | list):
        pairs = [_outputs(graph, r) for r in result]
        return [p[0] for p in pairs], tuple(p[1] for p in pairs)
    if isinstance(result, dict):
        pairs = {k: _outputs(graph, v) for k, v in result.items()}
        return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
    if not isinstance(result, Symbol):
        if result is None:
            raise NotTraceable("the function returned None")
        if hasattr(result, "_native"):
            raise NotTraceable("the function returned a dataset")
        result = _constant(graph, result, None)
    elif result._graph is not graph:
        raise ForeignSymbol("the function returned a value traced by another function")
    if result.ragged_rows:
        return ("ragged", [result._index]), RaggedTensorSpec(result.shape, result.dtype, 0)
    return result._index, TensorSpec(result.shape, result.dtype)


class Traced:
    """A traced function: its nodes, output tree (node indices; lists for tuples), name and
    output spec."""

    __slots__ = ("nodes", "output", "name", "spec")

    def __init__(self, nodes: list[tuple[Any, ...]], output: Any, name: str, spec: Any) -> None:
        self.nodes = nodes
        self.output = output
        self.name = name
        self.spec = spec

    def native(self) -> Any:
        """The engine's graph."""
        return _native.Graph(self.nodes, self.output, self.name)


def _flatten_output(output: Any) -> list[int]:
    if isinstance(output, tuple):  # ("ragged" | "sparse", [component nodes])
        return list(output[1])
    if isinstance(output, list):
        return [i for o in output for i in _flatten_output(o)]
    if isinstance(output, dict):
        return [i for k in sorted(output) for i in _flatten_output(output[k])]
    return [output]


# Where each node kind keeps its operand indices.
_OPERANDS = {
    "binary": (2, 3),
    "unary": (2,),
    "cast": (1,),
    "reduce": (2,),
    "arg": (2,),
    "part": (1,),
}
# Node kinds whose operands are a list at position 3.
_OPERAND_LISTS = ("array", "text", "image", "random_image", "multi")


def fuse(first: Traced, second: Traced) -> Traced:
    """One graph computing ``second(first(x))``: ``second``'s inputs become ``first``'s
    outputs, so two consecutive traced maps run as one stage."""
    nodes = list(first.nodes)
    leaves = _flatten_output(first.output)
    remap: list[int] = []
    for node in second.nodes:
        kind = node[0]
        if kind == "input":
            remap.append(leaves[node[1]])
            continue
        new = list(node)
        for pos in _OPERANDS.get(kind, ()):
            new[pos] = remap[new[pos]]
        if kind in _OPERAND_LISTS:
            new[3] = [remap[i] for i in new[3]]
        nodes.append(tuple(new))
        remap.append(len(nodes) - 1)

    def relink(o: Any) -> Any:
        if isinstance(o, tuple):
            return (o[0], [remap[i] for i in o[1]])
        if isinstance(o, list):
            return [relink(x) for x in o]
        if isinstance(o, dict):
            return {k: relink(v) for k, v in o.items()}
        return remap[o]

    return Traced(nodes, relink(second.output), f"{first.name} then {second.name}", second.spec)


def _run_traced(fn: Callable[..., Any], spec: Any) -> tuple[_Graph, Any] | None:
    """Calls ``fn`` on placeholders for elements of ``spec``: the graph and the result, or
    None when ``fn`` must run as Python. Traces nest (a flat_map function's inner map)."""
    if not _spec_known(spec) or not _pure_function(fn):
        return None
    graph = _Graph()
    untraceable: list[str] = []
    previous_profile = sys.getprofile()
    previous_graph = active_graph()
    _ACTIVE.graph = graph
    try:
        args = _placeholders(graph, spec, [0])
        sys.setprofile(_watch_calls(untraceable))
        result = fn(*args) if isinstance(args, tuple) else fn(args)
    except ForeignSymbol:
        if previous_graph is not None:
            raise  # the enclosing function uses its own value in this one: not traceable
        return None
    except InvalidArgumentError:
        raise
    except Exception:
        return None
    finally:
        _ACTIVE.graph = previous_graph
        sys.setprofile(previous_profile)
    if untraceable:
        return None
    return graph, result


def _captures_symbol(fn: Any) -> bool:
    """Whether ``fn``'s closure or defaults hold a placeholder of an enclosing trace."""
    cells = [c.cell_contents for c in (getattr(fn, "__closure__", None) or ()) if _bound(c)]
    defaults = list(getattr(fn, "__defaults__", None) or ())
    return any(is_symbolic_tree(v) for v in cells + defaults)


def _bound(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _untraced(fn: Any) -> None:
    """``fn`` runs as Python. Inside an enclosing trace, a Python function holding that
    trace's placeholders could never run: the enclosing function runs as Python too."""
    if active_graph() is not None and _captures_symbol(fn):
        raise ForeignSymbol("a Python function inside a traced one uses its traced values")


def _qualname(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", getattr(fn, "__name__", "function")))


def trace(fn: Callable[..., Any], spec: Any, name: str) -> Traced | None:
    """Traces ``fn`` on placeholders for elements of ``spec``, or returns None when ``fn``
    must run as Python."""
    run = _run_traced(fn, spec)
    if run is None:
        _untraced(fn)
        return None
    graph, result = run
    try:
        output, out_spec = _outputs(graph, result)
    except ForeignSymbol:
        if active_graph() is not None:
            raise
        return None
    except NotTraceable:
        _untraced(fn)
        return None
    return Traced(graph.nodes, output, _qualname(fn), out_spec)


def trace_dataset_fn(fn: Callable[..., Any], spec: Any) -> Any:
    """Traces a flat_map/interleave function: when ``fn`` builds its dataset from ``hr``
    ops and template sources (``from_tensors``, ``from_tensor_slices``, ``range`` of traced
    values), returns the native ``TemplateFn`` (a graph computing the parameters, and the
    inner pipeline built once); otherwise None, and ``fn`` runs as Python."""
    run = _run_traced(fn, spec)
    if run is None:
        _untraced(fn)
        return None
    graph, result = run
    native = getattr(result, "_native", None)
    if native is None or not isinstance(native, _native.Dataset):
        _untraced(fn)
        return None
    parameters = Traced(graph.nodes, list(graph.params), _qualname(fn), None)
    return _native.TemplateFn(parameters.native(), native)
