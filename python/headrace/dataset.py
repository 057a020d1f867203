"""``Dataset``: tf.data's Dataset API over the headrace engine.

Each method validates and translates its arguments and returns a new ``Dataset`` wrapping
the engine's plan; iterating runs the plan on Rust threads. Differences from tf.data:
iteration yields numpy values (arrays that borrow the engine's buffers, numpy scalars,
``bytes``), and a Python function passed to ``map``/``filter``/``flat_map``/``interleave``
runs as Python on engine threads (holding the GIL only while in Python), or in worker
processes (``executor``; the default, ``"auto"``, moves a parallel ``map`` or ``filter`` there
when the GIL serialises its calls and the workers prove faster).
"""

from __future__ import annotations

import atexit
import functools
import inspect
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import _auto, _native, _process, math, tracing
from .composite import RaggedTensor, SparseTensor
from .dtypes import DType, as_dtype, int64
from .options import Options
from .spec import (
    RaggedTensorSpec,
    SparseTensorSpec,
    TensorSpec,
    spec_from_native,
    spec_to_native,
)

AUTOTUNE: int = _native.AUTOTUNE
INFINITE_CARDINALITY: int = _native.INFINITE_CARDINALITY
UNKNOWN_CARDINALITY: int = _native.UNKNOWN_CARDINALITY

# Every live iterator, closed at interpreter exit so that no engine thread is left calling
# into a finalizing interpreter.
_LIVE_ITERATORS: weakref.WeakSet[Any] = weakref.WeakSet()


@atexit.register
def _close_live_iterators() -> None:
    for it in list(_LIVE_ITERATORS):
        it.close()


def _count(name: str, value: Any, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    return int(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
    return bool(value)


def _seed(value: Any) -> int | None:
    if value is None:
        return None
    seed = _count("seed", value)
    assert seed is not None
    return seed & 0xFFFF_FFFF_FFFF_FFFF


def _callable(name: str, fn: Any) -> Callable[..., Any]:
    if not callable(fn):
        raise TypeError(f"{name}: expected a callable, got {type(fn).__name__}")
    return fn


class Dataset:
    """A pipeline description, as ``tf.data.Dataset``: immutable, built by chaining
    transformations, run by iterating it (``for x in ds``)."""

    __slots__ = ("_native", "_fusable", "_recipe", "_iterations", "__weakref__")

    def __init__(self, native: Any, fusable: Any = None) -> None:
        self._native = native
        # For a traced map: (its input, the traced function, num_parallel_calls,
        # deterministic), so that a following traced map fuses with it.
        self._fusable = fusable
        # How this dataset was built, (factory, args, kwargs), set by the public method or
        # constructor that made it (``recorded``): pickling replays it. None: built from a
        # native dataset directly, which cannot cross processes.
        self._recipe: tuple[Callable[..., Any], tuple, dict] | None = None
        # How many times this dataset was iterated: a copy rebuilt in a child process
        # (``pipeline_process``) skips as many iterations of its randomness.
        self._iterations = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass's constructor (TFRecordDataset(...)) records its call like the methods.
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _recorded_init(init)  # type: ignore[method-assign]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles the dataset as the calls that built it (its functions by value with
        cloudpickle), so unpickling, in this process or another, rebuilds the same
        pipeline: ``Options(pipeline_process=True)`` sends a dataset to its child process
        this way."""
        if self._recipe is None:
            raise TypeError(
                f"cannot pickle {type(self).__name__} {self!r}: it was made from a native "
                "dataset directly (Dataset(native)), not by a public Dataset method or "
                "constructor, so there is no recipe to rebuild it from"
            )
        if self._recipe[0] is _READ_BACK:
            source = self._recipe[1]
            return (_rebuild, (getattr(Dataset, source), (_read_back(self, source),), {}))
        return (_rebuild, self._recipe)

    def __copy__(self) -> Dataset:
        # Immutable: a copy is the same pipeline (rather than a replay of its recipe).
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Dataset:
        return self

    # ------------------------------------------------------------------ sources

    @staticmethod
    def range(*args: int, dtype: Any = int64) -> Dataset:
        """``range(stop)``, ``range(start, stop)`` or ``range(start, stop, step)``, as int64
        scalars (or ``dtype``)."""
        if not 1 <= len(args) <= 3:
            raise TypeError(f"range: expected 1 to 3 arguments, got {len(args)}")
        if tracing.is_symbolic_tree(args):
            # Inside a traced flat_map/interleave function: a template source.
            full = {1: lambda: (0, args[0], 1), 2: lambda: (*args, 1), 3: lambda: args}
            bounds = tuple(
                a if tracing.is_symbolic(a) else np.int64(_count("range", a))
                for a in full[len(args)]()
            )
            ds = Dataset(tracing.template_source("range", bounds))
            target = as_dtype(dtype)
            return ds if target == int64 else ds.map(lambda x: math.cast(x, target))
        names = {1: ("stop",), 2: ("start", "stop"), 3: ("start", "stop", "step")}[len(args)]
        values = [_count(n, a) for n, a in zip(names, args, strict=True)]
        start, stop, step = {
            1: lambda: (0, values[0], 1),
            2: lambda: (*values, 1),
            3: lambda: tuple(values),
        }[len(args)]()
        ds = Dataset(_native.Dataset.range(start, stop, step))
        target = as_dtype(dtype)
        if target != int64:
            ds = ds.map(lambda x: math.cast(x, target))
        return ds

    @staticmethod
    def from_tensors(tensors: Any) -> Dataset:
        """A dataset of one element, ``tensors`` (a value, or tuples/dicts of values)."""
        if tracing.is_symbolic_tree(tensors):
            return Dataset(tracing.template_source("tensors", tensors))
        return Dataset(_native.Dataset.from_tensors(tensors))

    @staticmethod
    def from_tensor_slices(tensors: Any) -> Dataset:
        """The slices of ``tensors`` along their first axis: one element per row. Every
        component must have the same first dimension."""
        if tracing.is_symbolic_tree(tensors):
            return Dataset(tracing.template_source("slices", tensors))
        return Dataset(_native.Dataset.from_tensor_slices(tensors))

    @staticmethod
    def from_generator(
        generator: Callable[..., Any],
        output_types: Any = None,
        output_shapes: Any = None,
        args: tuple[Any, ...] | None = None,
        output_signature: Any = None,
    ) -> Dataset:
        """The items of ``generator(*args)``, called anew for each iteration (each epoch).

        With ``output_signature`` (``TensorSpec``s in tuples/dicts), or the older
        ``output_types``/``output_shapes``, each item is converted to the declared dtypes
        and checked against the shapes; without either, items keep the types they have.
        The generator runs in the engine's thread holding the GIL.
        """
        _callable("generator", generator)
        if output_signature is not None and (output_types is not None or output_shapes is not None):
            raise TypeError(
                "from_generator: give output_signature, or output_types/output_shapes, not both"
            )
        if output_signature is None and output_types is not None:
            output_signature = _legacy_signature(output_types, output_shapes)
        call_args = tuple(args) if args is not None else ()

        if output_signature is None:

            def factory() -> Iterator[Any]:
                return iter(generator(*call_args))

            native_spec = None
        else:
            signature = output_signature

            def factory() -> Iterator[Any]:
                return (_conform(item, signature, "") for item in generator(*call_args))

            native_spec = spec_to_native(signature)
        return Dataset(_native.Dataset.from_generator(factory, native_spec))

    @staticmethod
    def list_files(
        file_pattern: str | list[str] | tuple[str, ...],
        shuffle: bool | None = None,
        seed: int | None = None,
    ) -> Dataset:
        """The files matching ``file_pattern`` (a glob or a list of them; ``*`` does not
        cross ``/``), as string elements: sorted, or shuffled each epoch when ``shuffle``
        (the default). No match is an ``InvalidArgumentError``."""
        patterns = [file_pattern] if isinstance(file_pattern, str | bytes) else list(file_pattern)
        patterns = [p.decode() if isinstance(p, bytes) else str(p) for p in patterns]
        do_shuffle = True if shuffle is None else _flag("shuffle", shuffle)
        return Dataset(_native.Dataset.list_files(patterns, do_shuffle, _seed(seed)))

    @staticmethod
    def zip(*datasets: Any) -> Dataset:
        """Elements of several datasets side by side: ``zip(a, b)`` yields ``(a_i, b_i)``;
        a single (nested) tuple or dict of datasets gives elements of that structure. Ends
        with the shortest."""
        if len(datasets) == 1 and isinstance(datasets[0], tuple | dict):
            structure = datasets[0]
        elif len(datasets) == 1:
            structure = (datasets[0],)
        else:
            structure = tuple(datasets)
        return Dataset(_native.Dataset.zip(structure))

    # ------------------------------------------------------------------ transformations

    def map(
        self,
        map_func: Callable[..., Any],
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        name: str | None = None,
        trace: bool = True,
        executor: str = "auto",
    ) -> Dataset:
        """Applies ``map_func`` to each element (a tuple's components are passed as separate
        arguments). ``num_parallel_calls`` (an int or ``AUTOTUNE``) runs that many calls at
        once; order is kept unless ``deterministic=False``.

        A function built from ``hr`` ops is traced once into a native graph that runs
        without the GIL (see ``headrace.tracing``); any other function, or any function with
        ``trace=False``, runs as Python. ``repr(ds)`` shows which.

        ``executor`` says where a Python function runs:

        - ``"auto"`` (the default): starts as ``"thread"`` and moves the stage to
          ``"process"`` (a pool as below) when it measures that the GIL serialises the
          calls. Over a first window (at least 0.2 s or 50 calls, ended by a call
          finishing) it times each call's thread CPU time; it switches when two or more
          calls were in flight at once, their threads used at least 0.4 of a core together
          (less: they mostly wait, I/O or sleep), the whole process at most 1.3 cores
          (more: the calls release the GIL, numpy-style) and each call used at least 1 ms of
          CPU (a worker process costs some 100-300 us per element). Once switched, it runs a
          short trial on the pool and another on threads, and keeps the pool only if it
          finished calls at least 1.1 times as fast. Otherwise the stage stays on (or goes
          back to) threads for good, and the engine then calls ``map_func`` directly, at
          ``"thread"``'s cost. Later iterations of the dataset (the next epochs) start
          where the first one decided, without measuring. ``map_func`` is pickled only
          when switching; one that cannot be stays on threads, without error. With one
          call at a time (``num_parallel_calls`` None or 1, or one core) or on a
          free-threaded Python without the GIL, it is ``"thread"``. A function with side
          effects in this process (appending to a list, counting in a global) should say
          ``executor="thread"``: in a worker process they happen in the worker.
        - ``"thread"``: on engine threads in this process, holding the GIL while in Python,
          so a CPU-bound pure-Python function does not run faster with more calls.
        - ``"process"``: in a pool of ``num_parallel_calls`` worker processes (``AUTOTUNE``:
          one per core; none given: one), started once per iterator (with the "forkserver"
          start method) and ended when the iterator is dropped or closed; the epochs of
          ``repeat`` share it. ``map_func`` with its closure is pickled with cloudpickle here,
          so a function that cannot be pickled raises ``TypeError`` now; numpy arrays of 64
          KiB or more travel through shared memory, the rest is pickled. Before each call
          the worker seeds ``random`` and numpy's global generator from the element's
          position, so what ``map_func`` draws does not depend on which worker ran it. An
          exception in ``map_func`` is raised at its element as with threads (the worker's
          traceback added as a note); a worker that dies gives ``hr.errors.WorkerError`` at
          its element, and a new worker takes its place.

        A traced function ignores ``executor``: it never takes the GIL.
        """
        _callable("map_func", map_func)
        npc = _count("num_parallel_calls", num_parallel_calls, allow_none=True)
        det = None if deterministic is None else _flag("deterministic", deterministic)
        _check_executor("map", executor)
        traced = tracing.trace(map_func, self.element_spec, "map") if trace else None
        if traced is None:
            runner = _python_runner("map", map_func, npc, executor)
            if runner is not None:
                return Dataset(self._native.map(runner, npc, det, None, True))
            return Dataset(self._native.map(map_func, npc, det))
        base = self
        if self._fusable is not None and self._fusable[2:] == (npc, det):
            # Consecutive traced maps with the same parallelism run as one stage.
            base, first = self._fusable[0], self._fusable[1]
            traced = tracing.fuse(first, traced)
        native = base._native.map(traced.native(), npc, det, spec_to_native(traced.spec))
        return Dataset(native, fusable=(base, traced, npc, det))

    def filter(
        self,
        predicate: Callable[..., Any],
        name: str | None = None,
        trace: bool = True,
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        executor: str = "auto",
    ) -> Dataset:
        """Keeps the elements for which ``predicate`` returns True (a scalar bool). Traced
        into a native graph when built from ``hr`` ops, as in ``map``.

        headrace adds ``num_parallel_calls`` (an int or ``AUTOTUNE``; tf.data's filter runs
        one call at a time): that many predicate calls run at once, each element waiting
        beside its verdict, and the elements kept come out in order unless
        ``deterministic=False``. ``executor`` says where a Python predicate runs, as in
        ``map``: ``"auto"`` (the default), ``"thread"`` or ``"process"`` (worker processes
        that send back only the verdict; the element stays in this process)."""
        _callable("predicate", predicate)
        npc = _count("num_parallel_calls", num_parallel_calls, allow_none=True)
        det = None if deterministic is None else _flag("deterministic", deterministic)
        _check_executor("filter", executor)
        traced = tracing.trace(predicate, self.element_spec, "filter") if trace else None
        if traced is None:
            runner = _python_runner("filter", predicate, npc, executor)
            if runner is not None:
                return Dataset(self._native.filter_parallel(runner, npc, det, True))
            if npc is None:
                return Dataset(self._native.filter(predicate))
            return Dataset(self._native.filter_parallel(predicate, npc, det, False))
        out_spec = traced.spec
        if not (
            isinstance(out_spec, TensorSpec)
            and out_spec.dtype.name == "bool"
            and out_spec.shape == ()
        ):
            raise TypeError(f"filter: the predicate must return a scalar bool, got {out_spec}")
        if npc is None:
            return Dataset(self._native.filter(traced.native()))
        return Dataset(self._native.filter_parallel(traced.native(), npc, det, False))

    def flat_map(
        self,
        map_func: Callable[..., Any],
        name: str | None = None,
        trace: bool = True,
        executor: str = "auto",
    ) -> Dataset:
        """Maps each element to a Dataset and yields their elements one dataset after the
        other.

        A function that builds its dataset from ``hr`` ops (``from_tensor_slices``,
        ``from_tensors`` or ``range`` of traced values, then any transformations) is
        traced: the dataset is built once as a template and each element binds its values,
        without the GIL. Anything else runs as Python (``trace=False`` forces it).

        ``executor`` says where a Python ``map_func`` runs: ``"auto"`` (the default) and
        ``"thread"`` run it in this process (flat_map calls it one element at a time, so
        the GIL cannot serialise its calls); ``"process"`` runs it in one worker process
        (as ``map``'s, see there), which iterates the dataset it returns and sends back
        its elements, so the work of making them holds no GIL here. The dataset must then
        be finite."""
        _callable("map_func", map_func)
        _check_executor("flat_map", executor)
        template = tracing.trace_dataset_fn(map_func, self.element_spec) if trace else None
        if template is not None:
            return Dataset(self._native.flat_map(template))
        if executor == "process":
            name = _process.function_name(map_func)
            runner = _process.ProcessMap(_ElementsOf(map_func), 1, "flat_map", name)
            return Dataset(self._native.flat_map(runner, True))
        return Dataset(self._native.flat_map(map_func))

    def interleave(
        self,
        map_func: Callable[..., Any],
        cycle_length: int | None = None,
        block_length: int | None = None,
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        name: str | None = None,
        trace: bool = True,
    ) -> Dataset:
        """Maps each element to a Dataset and interleaves them: ``cycle_length`` datasets
        open at once (default: AUTOTUNE, the number of cores), ``block_length`` consecutive
        elements from each in turn (default 1). ``num_parallel_calls`` reads the open
        datasets ahead on engine threads; order is kept unless ``deterministic=False``.
        ``map_func`` is traced as in ``flat_map``."""
        _callable("map_func", map_func)
        template = tracing.trace_dataset_fn(map_func, self.element_spec) if trace else None
        cycle = AUTOTUNE if cycle_length is None else _count("cycle_length", cycle_length)
        block = 1 if block_length is None else _count("block_length", block_length)
        npc = _count("num_parallel_calls", num_parallel_calls, allow_none=True)
        det = None if deterministic is None else _flag("deterministic", deterministic)
        func = template if template is not None else map_func
        return Dataset(self._native.interleave(func, cycle, block, npc, det))

    def batch(
        self,
        batch_size: int,
        drop_remainder: bool = False,
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        name: str | None = None,
    ) -> Dataset:
        """Stacks ``batch_size`` consecutive elements into one; the last batch is smaller
        unless ``drop_remainder``. Components must have equal shapes (see
        ``padded_batch``). ``num_parallel_calls`` is accepted for tf.data compatibility."""
        _count("num_parallel_calls", num_parallel_calls, allow_none=True)
        return Dataset(
            self._native.batch(
                _count("batch_size", batch_size), _flag("drop_remainder", drop_remainder)
            )
        )

    def padded_batch(
        self,
        batch_size: int,
        padded_shapes: Any = None,
        padding_values: Any = None,
        drop_remainder: bool = False,
        name: str | None = None,
    ) -> Dataset:
        """Like ``batch``, padding each component to a common shape: ``padded_shapes``
        (per component; ``None``/-1 dimensions pad to the largest in the batch; default:
        all of them) with ``padding_values`` (per component or one scalar; default 0 or
        ``b""``)."""
        spec = self.element_spec
        shapes = None
        if padded_shapes is not None:
            shapes = [_shape_list(s) for s in _flatten_shapes(padded_shapes, spec)]
        values = None
        if padding_values is not None:
            values = _flatten_values(padding_values, spec)
        return Dataset(
            self._native.padded_batch(
                _count("batch_size", batch_size),
                shapes,
                values,
                _flag("drop_remainder", drop_remainder),
            )
        )

    def unbatch(self, name: str | None = None) -> Dataset:
        """Splits each element along its first axis into that many elements."""
        return Dataset(self._native.unbatch())

    def shuffle(
        self,
        buffer_size: int,
        seed: int | None = None,
        reshuffle_each_iteration: bool = True,
        name: str | None = None,
    ) -> Dataset:
        """Shuffles with a buffer of ``buffer_size`` elements (uniform when the buffer holds
        the whole dataset). A ``seed`` makes the order repeat across runs; each iteration
        (epoch) draws a new order unless ``reshuffle_each_iteration=False``."""
        return Dataset(
            self._native.shuffle(
                _count("buffer_size", buffer_size),
                _seed(seed),
                _flag("reshuffle_each_iteration", reshuffle_each_iteration),
            )
        )

    def repeat(self, count: int | None = None, name: str | None = None) -> Dataset:
        """Repeats the dataset ``count`` times (forever when ``None`` or -1)."""
        n = -1 if count is None else _count("count", count)
        return Dataset(self._native.repeat(n))

    def take(self, count: int, name: str | None = None) -> Dataset:
        """The first ``count`` elements (all of them when -1)."""
        return Dataset(self._native.take(_count("count", count)))

    def skip(self, count: int, name: str | None = None) -> Dataset:
        """All but the first ``count`` elements (none when -1)."""
        return Dataset(self._native.skip(_count("count", count)))

    def shard(self, num_shards: int, index: int, name: str | None = None) -> Dataset:
        """Every ``num_shards``-th element, starting at ``index``: one worker's share."""
        return Dataset(self._native.shard(_count("num_shards", num_shards), _count("index", index)))

    def enumerate(self, start: int = 0, name: str | None = None) -> Dataset:
        """Pairs each element with its int64 index: ``(i, element)``."""
        return Dataset(self._native.enumerate(_count("start", start)))

    def concatenate(self, dataset: Dataset, name: str | None = None) -> Dataset:
        """This dataset's elements, then ``dataset``'s (same structure and dtypes)."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"dataset: expected a headrace Dataset, got {type(dataset).__name__}")
        return Dataset(self._native.concatenate(dataset._native))

    def prefetch(self, buffer_size: int, name: str | None = None) -> Dataset:
        """Produces up to ``buffer_size`` elements ahead of the consumer on an engine thread
        (``AUTOTUNE``: the engine chooses)."""
        return Dataset(self._native.prefetch(_count("buffer_size", buffer_size)))

    def cache(self, filename: str = "", name: str | None = None) -> Dataset:
        """Keeps the elements after the first complete iteration: in memory, or in
        ``filename``, which later runs (other processes too) read instead of recomputing."""
        if not isinstance(filename, str):
            raise TypeError(f"filename: expected a str, got {type(filename).__name__}")
        return Dataset(self._native.cache(filename))

    def ignore_errors(self, log_warning: bool = False, name: str | None = None) -> Dataset:
        """Drops error elements (counted in the iterator's ``stats()``)."""
        return Dataset(self._native.ignore_errors(_flag("log_warning", log_warning)))

    def with_options(self, options: Options, name: str | None = None) -> Dataset:
        """This dataset with ``options`` applied (merged over the options already set)."""
        if not isinstance(options, Options):
            raise TypeError(f"options: expected hr.Options, got {type(options).__name__}")
        return Dataset(self._native.with_options(**options._set_fields()))

    def options(self) -> Options:
        """The options in effect for this dataset."""
        return Options(**self._native.options())

    # ------------------------------------------------------------------ inspection

    def cardinality(self) -> int:
        """The number of elements, or ``INFINITE_CARDINALITY`` (-1) / ``UNKNOWN_CARDINALITY``
        (-2)."""
        return self._native.cardinality()

    @property
    def element_spec(self) -> Any:
        """The ``TensorSpec`` of each component, nested like the elements; ``None`` where a
        Python function's output is only known when it runs."""
        return spec_from_native(self._native.element_spec())

    def __len__(self) -> int:
        n = self.cardinality()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self) -> bool:
        return True

    def __iter__(self) -> Iterator[Any]:
        iterations = self._iterations
        self._iterations += 1
        if self._native.options().get("pipeline_process"):
            from ._pipeline_process import PipelineProcessIterator

            it: Any = PipelineProcessIterator(self, iterations)
        else:
            it = iter(self._native)
        _LIVE_ITERATORS.add(it)
        return it

    def as_numpy_iterator(self) -> Iterator[Any]:
        """An iterator of numpy values (what iterating yields already)."""
        return iter(self)

    def __repr__(self) -> str:
        return f"<headrace.Dataset {self._native!r}>"


# ---------------------------------------------------------------------- recipes


def recorded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (a function returning a Dataset) made to record its call, ``(fn, args,
    kwargs)``, on the dataset it returns, so that pickling the dataset replays the call.
    The outermost recorded call wins: a method built from others records itself."""

    @functools.wraps(fn)
    def recording(*args: Any, **kwargs: Any) -> Any:
        ds = fn(*args, **kwargs)
        # (A dataset handed back unchanged keeps its own recipe: recording it as its own
        # argument would make the recipe refer to itself.)
        if isinstance(ds, Dataset) and not any(ds is a for a in args):
            if fn.__name__ in _READ_BACK_SOURCES and _large_arrays(args, kwargs):
                ds._recipe = (_READ_BACK, fn.__name__, {})
            else:
                ds._recipe = (recording, args, kwargs)
        return ds

    return recording


# A tensor source given large numpy arrays records no arguments (they would stay alive with
# the dataset, beside the engine's own copy, doubling the memory of a
# ``from_tensor_slices((images, labels))`` whose arrays the caller drops): pickling reads
# the values back from the engine instead.
_READ_BACK = object()
_READ_BACK_SOURCES = ("from_tensors", "from_tensor_slices")
_READ_BACK_MIN_BYTES = 1 << 20


def _large_arrays(args: tuple, kwargs: dict) -> bool:
    """Whether the arguments are numpy arrays in tuples and dicts only (values the engine
    gives back exactly), 1 MiB or more of them."""
    leaves: list[Any] = []

    def collect(value: Any) -> bool:
        if isinstance(value, tuple):
            return all(collect(v) for v in value)
        if isinstance(value, dict):
            return all(collect(v) for v in value.values())
        leaves.append(value)
        return isinstance(value, np.ndarray) and value.dtype.kind in "biufcSO"

    if not all(collect(v) for v in (*args, *kwargs.values())):
        return False
    return sum(a.nbytes for a in leaves) >= _READ_BACK_MIN_BYTES


def _read_back(ds: Dataset, source: str) -> Any:
    """The value a tensor source was made from, read from the engine: its one element, or
    all its slices batched together."""
    if source == "from_tensors":
        return next(iter(ds._native))
    return next(iter(ds._native.batch(max(ds.cardinality(), 1), False)))


def _recorded_init(init: Callable[..., None]) -> Callable[..., None]:
    """A Dataset subclass's ``__init__`` made to record ``(type(self), args, kwargs)``; not
    when it is given a native dataset, which cannot be pickled (the dataset then has no
    recipe, and pickling it says so)."""

    @functools.wraps(init)
    def recording_init(self: Dataset, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        native = any(isinstance(a, _native.Dataset) for a in (*args, *kwargs.values()))
        self._recipe = None if native else (type(self), args, kwargs)

    return recording_init


def _rebuild(factory: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """A pickled dataset's recipe, replayed."""
    return factory(*args, **kwargs)


def _record_dataset_methods(cls: type) -> None:
    """Every public method or static method of ``cls`` declared to return a Dataset
    records its calls (new methods too, without a decorator on each)."""
    for name, attr in list(vars(cls).items()):
        fn = attr.__func__ if isinstance(attr, staticmethod) else attr
        if name.startswith("_") or not inspect.isfunction(fn):
            continue
        if fn.__annotations__.get("return") not in ("Dataset", cls):
            continue
        wrapped = recorded(fn)
        setattr(cls, name, staticmethod(wrapped) if isinstance(attr, staticmethod) else wrapped)


_record_dataset_methods(Dataset)


# ---------------------------------------------------------------------- helpers


def _check_executor(op: str, executor: Any) -> None:
    if executor not in ("thread", "process", "auto"):
        raise ValueError(f"{op}: executor must be 'thread', 'process' or 'auto', got {executor!r}")


def _python_runner(op: str, fn: Callable[..., Any], npc: int | None, executor: str) -> Any:
    """What runs a Python ``fn`` outside the engine threads: a pool of worker processes
    (``executor="process"``), a runner that may move to one (``"auto"``), or None for
    engine threads. One worker per call that may run at once (``AUTOTUNE``: the engine's
    core count; None: one)."""
    if executor == "thread":
        return None
    processes = 1 if npc is None else _native.available_cores() if npc == AUTOTUNE else npc
    if processes < 1:
        raise ValueError(
            f"{op}: num_parallel_calls: expected a positive count or AUTOTUNE, got {npc}"
        )
    if executor == "process":
        return _process.ProcessMap(fn, processes, op)
    if processes > 1 and _auto.auto_can_switch():
        return _auto.AutoMap(fn, processes)
    # One call at a time, or no GIL: the GIL cannot serialise calls; threads.
    return None


class _ElementsOf:
    """``flat_map(fn, executor="process")``'s function in the worker: the elements of the
    dataset ``fn`` makes, as a list (a Dataset cannot cross processes; its elements can)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, *args: Any) -> list[Any]:
        ds = self.fn(*args)
        if not isinstance(ds, Dataset):
            raise TypeError(
                f"flat_map: map_func must return a headrace.Dataset, got {type(ds).__name__}"
            )
        return list(ds)


def _legacy_signature(types: Any, shapes: Any) -> Any:
    if isinstance(types, tuple):
        shapes = shapes if shapes is not None else (None,) * len(types)
        return tuple(_legacy_signature(t, s) for t, s in zip(types, shapes, strict=True))
    if isinstance(types, dict):
        shapes = shapes if shapes is not None else {}
        return {k: _legacy_signature(t, shapes.get(k)) for k, t in types.items()}
    return TensorSpec(shapes, types)


def _conform(value: Any, spec: Any, path: str) -> Any:
    """``value`` converted to the structure and dtypes of ``spec`` (from_generator)."""
    where = path or "element"
    if isinstance(spec, tuple):
        if not isinstance(value, tuple | list) or len(value) != len(spec):
            raise TypeError(
                f"from_generator: {where} should be a tuple of {len(spec)}, "
                f"got {type(value).__name__}"
            )
        return tuple(
            _conform(v, s, f"{path}[{i}]") for i, (v, s) in enumerate(zip(value, spec, strict=True))
        )
    if isinstance(spec, dict):
        if not isinstance(value, dict) or set(value) != set(spec):
            raise TypeError(f"from_generator: {where} should be a dict with keys {sorted(spec)}")
        return {k: _conform(value[k], s, f"{path}[{k!r}]") for k, s in spec.items()}
    if isinstance(spec, RaggedTensorSpec | SparseTensorSpec):
        return _conform_composite(value, spec, where)
    dtype: DType = spec.dtype
    arr = np.asarray(value, dtype=object if dtype.name == "string" else dtype.as_numpy_dtype)
    if spec.shape is not None and not spec.is_compatible_with(TensorSpec(arr.shape, dtype)):
        raise ValueError(
            f"from_generator: {where} has shape {arr.shape}, which is not "
            f"compatible with the declared shape {spec.shape}"
        )
    return arr


def _conform_composite(value: Any, spec: Any, where: str) -> Any:
    """A generator's RaggedTensor or SparseTensor, its values cast to the spec's dtype."""
    np_dtype = object if spec.dtype.name == "string" else spec.dtype.as_numpy_dtype
    if isinstance(spec, SparseTensorSpec):
        if not isinstance(value, SparseTensor):
            raise TypeError(
                f"from_generator: {where} should be an hr.SparseTensor, got {type(value).__name__}"
            )
        return SparseTensor(value.indices, np.asarray(value.values, np_dtype), value.dense_shape)
    if spec.ragged_rank == 0:
        raise TypeError(
            "from_generator: a RaggedTensorSpec needs ragged_rank >= 1 (give a TensorSpec "
            "with None dimensions for arrays of varying shape)"
        )
    if not isinstance(value, RaggedTensor):
        raise TypeError(
            f"from_generator: {where} should be an hr.RaggedTensor, got {type(value).__name__}"
        )
    if value.ragged_rank != spec.ragged_rank:
        raise ValueError(
            f"from_generator: {where} has ragged_rank {value.ragged_rank}, the spec "
            f"declares {spec.ragged_rank}"
        )
    return RaggedTensor(np.asarray(value.flat_values, np_dtype), value.nested_row_splits)


def _is_shape(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, list)
        or (
            isinstance(value, tuple)
            and all(d is None or isinstance(d, int | np.integer) for d in value)
        )
    )


def _flatten_shapes(shapes: Any, spec: Any) -> list[Any]:
    """padded_shapes as one shape per component, following the element structure."""
    if isinstance(spec, dict):
        if not isinstance(shapes, dict):
            raise TypeError("padded_shapes: expected a dict matching the elements")
        return [s for k in sorted(spec) for s in _flatten_shapes(shapes[k], spec[k])]
    if isinstance(spec, tuple):
        if not isinstance(shapes, tuple) or len(shapes) != len(spec):
            raise TypeError(f"padded_shapes: expected a tuple of {len(spec)} shapes")
        return [s for sh, sp in zip(shapes, spec, strict=True) for s in _flatten_shapes(sh, sp)]
    if spec is None and isinstance(shapes, dict):
        return [s for k in sorted(shapes) for s in _flatten_shapes(shapes[k], None)]
    if spec is None and isinstance(shapes, tuple) and not _is_shape(shapes):
        return [s for sh in shapes for s in _flatten_shapes(sh, None)]
    return [shapes]


def _shape_list(shape: Any) -> list[int | None] | None:
    if shape is None:
        return None
    if isinstance(shape, int | np.integer):
        shape = [shape]
    return [None if d is None or d == -1 else _count("padded_shapes", d) for d in shape]


def _flatten_values(values: Any, spec: Any) -> list[Any]:
    """padding_values as one scalar per component (one scalar applies to all), Python
    scalars converted to their component's dtype as tf.data converts them."""
    leaves = _spec_leaves(spec)
    if isinstance(values, dict | tuple):
        flat = _flatten_structure(values)
    else:
        flat = [values] * len(leaves)
    if len(leaves) != len(flat):
        return flat
    out = []
    for value, leaf in zip(flat, leaves, strict=True):
        if isinstance(leaf, TensorSpec) and not isinstance(value, np.ndarray | np.generic):
            numpy_type = object if leaf.dtype.name == "string" else leaf.dtype.as_numpy_dtype
            value = np.asarray(value, dtype=numpy_type)[()]
        out.append(value)
    return out


def _flatten_structure(values: Any) -> list[Any]:
    if isinstance(values, dict):
        return [v for k in sorted(values) for v in _flatten_structure(values[k])]
    if isinstance(values, tuple):
        return [v for x in values for v in _flatten_structure(x)]
    return [values]


def _spec_leaves(spec: Any) -> list[Any]:
    if isinstance(spec, dict):
        return [leaf for k in sorted(spec) for leaf in _spec_leaves(spec[k])]
    if isinstance(spec, tuple):
        return [leaf for s in spec for leaf in _spec_leaves(s)]
    return [spec]
