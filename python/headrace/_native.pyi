"""Type stubs for ``headrace._native``, the PyO3 module (the engine's thin translation).

Users call ``headrace.Dataset``; this module's names are internal except the exception
classes, which ``headrace.errors`` re-exports.
"""

import collections.abc as abc
from collections.abc import Callable
from typing import Any

AUTOTUNE: int
INFINITE_CARDINALITY: int
UNKNOWN_CARDINALITY: int

def available_cores() -> int:
    """The number of cores the engine uses when told AUTOTUNE."""

def binary_op(name: str, a: Any, b: Any) -> Any:
    """Runs the arithmetic or comparison kernel ``name`` on two values of one dtype."""

def unary_op(name: str, x: Any) -> Any:
    """Runs the unary kernel ``name`` (or ``logical_not``)."""

def reduce_op(name: str, x: Any, axes: list[int], keepdims: bool) -> Any:
    """The reduction ``name`` of ``x`` over ``axes`` (every axis when empty)."""

def arg_op(name: str, x: Any, axis: int) -> Any:
    """argmax or argmin of ``x`` along ``axis``, as int64."""

def random_op(kind: str, shape: list[int], dtype: str, seed: int, a: float, b: float) -> Any:
    """Random values: uniform in [a, b) or normal(mean=a, stddev=b), from ``seed``."""

def array_op(name: str, attrs: Any, inputs: list[Any]) -> Any:
    """The array op ``name`` (reshape, transpose, slice …) with ``attrs`` on ``inputs``."""

def text_op(name: str, attrs: Any, inputs: list[Any]) -> Any:
    """The string or file op ``name`` (length, substr, join, read_file, decode_raw …)."""

def image_op(name: str, attrs: Any, inputs: list[Any]) -> Any:
    """Runs the image op ``name`` (``hr.image``) on one image."""

def set_max_pixels(pixels: int) -> int:
    """Sets the largest image the decoders accept; returns the previous limit."""

def split_op(x: Any, sep: bytes | None = None) -> list[Any]:
    """``strings.split``: ``[pieces]`` for a scalar, ``[pieces, row_splits]`` for a vector."""

def parse_op(attrs: tuple[Any, ...], x: Any) -> list[Any]:
    """Example parsing (``("example" | "single", features)`` or ``("sequence", context,
    sequence)``): each feature's tensors, flat, in spec order."""

def encode_example_op(features: list[tuple[str, tuple[str, Any]]]) -> bytes:
    """A serialized ``tf.train.Example`` of ``[(name, (kind, values))]``, in that order."""

def decode_example_op(record: bytes) -> list[tuple[str, tuple[str, Any]]]:
    """A serialized ``tf.train.Example`` as ``[(name, (kind, values))]``."""

def encode_sequence_example_op(context: Any, feature_lists: Any) -> bytes:
    """A serialized ``tf.train.SequenceExample``."""

def decode_sequence_example_op(record: bytes) -> tuple[Any, Any]:
    """A serialized ``tf.train.SequenceExample`` as (context, feature lists)."""

def param_source(kind: str, args: Any, args_spec: Any) -> Dataset:
    """A template's source ("tensors", "slices" or "range") reading parameters ``args``
    (parameter indices nested like the argument)."""

def tfrecord_dataset(
    filenames: Dataset,
    compression_type: str | None = None,
    buffer_size: int | None = None,
    num_parallel_reads: int | None = None,
) -> Dataset:
    """The records of the TFRecord files ``filenames`` names (AUTOTUNE is -1)."""

def text_line_dataset(
    filenames: Dataset,
    compression_type: str | None = None,
    buffer_size: int | None = None,
    num_parallel_reads: int | None = None,
) -> Dataset:
    """The lines of the text files ``filenames`` names."""

def fixed_length_record_dataset(
    filenames: Dataset,
    record_bytes: int,
    header_bytes: int = 0,
    footer_bytes: int = 0,
    buffer_size: int | None = None,
    compression_type: str | None = None,
    num_parallel_reads: int | None = None,
) -> Dataset:
    """Fixed-length records of the files ``filenames`` names."""

class TFRecordWriter:
    """Writes a TFRecord file as TensorFlow does (``""``, ``"GZIP"`` or ``"ZLIB"``)."""

    def __init__(self, path: str, compression_type: str | None = None) -> None: ...
    def write(self, record: Any) -> None:
        """Appends one record (a bytes-like object)."""
    def flush(self) -> None:
        """Pushes buffered records to the file."""
    def close(self) -> None:
        """Finishes the file; later writes raise."""

class TemplateFn:
    """A traced flat_map/interleave function: a graph computing the template's parameters,
    and the template dataset."""

    def __init__(self, parameters: Graph, template: Dataset) -> None: ...

def cast_op(x: Any, dtype: str) -> Any:
    """``x`` converted to the dtype named ``dtype``."""

def constant(value: Any) -> Any:
    """``value`` converted as ``tf.constant`` converts it, as numpy."""

class OpError(Exception):
    """The base of headrace's runtime errors (tf.errors.OpError)."""

class InvalidArgumentError(OpError): ...
class NotFoundError(OpError): ...
class DataLossError(OpError): ...
class OutOfRangeError(OpError): ...
class ResourceExhaustedError(OpError): ...
class UnimplementedError(OpError): ...
class InternalError(OpError): ...
class CancelledError(OpError): ...

class CancelFlag:
    """True once a process map's stage is cancelled (its pipeline is being dropped)."""

    def __call__(self) -> bool: ...

class Graph:
    """A traced function (see ``headrace.tracing``), run by the engine without the GIL."""

    def __init__(self, nodes: list[tuple[Any, ...]], output: Any, name: str) -> None: ...

class TensorOwner:
    """Keeps an engine buffer alive while a numpy array borrows it (the array's ``base``)."""

class Iterator:
    """A running pipeline."""

    def __iter__(self) -> Iterator: ...
    def __next__(self) -> Any: ...
    def close(self) -> None:
        """Stops the pipeline now: every thread it started is stopped and joined."""
    def stats(self) -> list[dict[str, Any]]:
        """Each stage's counters: ``stage``, ``elements``, ``errors``, ``dropped_errors``,
        ``skipped_files``, ``skipped_bytes``."""

SpecTree = Any  # (shape, dtype_name) per tensor, lists for tuples, dicts; None if unknown

class Dataset:
    """The engine's plan. Methods mirror ``headrace.Dataset`` with checked, plain arguments."""

    @staticmethod
    def range(start: int, stop: int, step: int) -> Dataset: ...
    @staticmethod
    def from_tensors(value: Any) -> Dataset: ...
    @staticmethod
    def from_tensor_slices(value: Any) -> Dataset: ...
    @staticmethod
    def from_generator(
        factory: Callable[[], abc.Iterator[Any]], spec: SpecTree = None
    ) -> Dataset: ...
    @staticmethod
    def list_files(patterns: list[str], shuffle: bool, seed: int | None = None) -> Dataset: ...
    @staticmethod
    def zip(datasets: Any) -> Dataset: ...
    def map(
        self,
        func: Callable[..., Any] | Graph,
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        output_spec: SpecTree = None,
        processes: bool = False,
    ) -> Dataset:
        """With ``processes``, ``func`` is a ``headrace._process.ProcessMap``: its ``start()``
        makes a pool of worker processes for each running pipeline."""
    def filter(self, predicate: Callable[..., Any] | Graph) -> Dataset: ...
    def filter_parallel(
        self,
        predicate: Callable[..., Any] | Graph | Any,
        num_parallel_calls: int | None,
        deterministic: bool | None,
        processes: bool,
    ) -> Dataset: ...
    def flat_map(
        self, func: Callable[..., Any] | TemplateFn | Any, processes: bool = False
    ) -> Dataset: ...
    def interleave(
        self,
        func: Callable[..., Any] | TemplateFn,
        cycle_length: int,
        block_length: int,
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
    ) -> Dataset: ...
    def batch(self, batch_size: int, drop_remainder: bool) -> Dataset: ...
    def padded_batch(
        self,
        batch_size: int,
        padded_shapes: list[list[int | None] | None] | None,
        padding_values: list[Any] | None,
        drop_remainder: bool,
    ) -> Dataset: ...
    def unbatch(self) -> Dataset: ...
    def shuffle(
        self, buffer_size: int, seed: int | None = None, reshuffle_each_iteration: bool = True
    ) -> Dataset: ...
    def repeat(self, count: int) -> Dataset: ...
    def take(self, count: int) -> Dataset: ...
    def skip(self, count: int) -> Dataset: ...
    def shard(self, num_shards: int, index: int) -> Dataset: ...
    def enumerate(self, start: int) -> Dataset: ...
    def concatenate(self, other: Dataset) -> Dataset: ...
    def prefetch(self, buffer_size: int) -> Dataset: ...
    def cache(self, filename: str) -> Dataset: ...
    def ignore_errors(self, log_warning: bool) -> Dataset: ...
    def with_options(
        self,
        deterministic: bool | None = None,
        approximate_image_ops: bool | None = None,
        pipeline_process: bool | None = None,
    ) -> Dataset: ...
    def options(self) -> dict[str, Any]: ...
    def cardinality(self) -> int: ...
    def skip_iterations(self, count: int) -> None: ...
    def element_spec(self) -> SpecTree: ...
    def __iter__(self) -> Iterator: ...
