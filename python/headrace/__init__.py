"""headrace: tf.data's input pipeline, rebuilt in Rust.

Port a pipeline by changing ``tf.`` to ``hr.``::

    import headrace as hr

    ds = (hr.Dataset.range(1000)
            .map(lambda x: x * 2, num_parallel_calls=hr.AUTOTUNE)
            .batch(32)
            .prefetch(hr.AUTOTUNE))
    for batch in ds:          # numpy arrays
        ...
"""

from . import data, errors, image, io, math, ragged, random, sparse, strings
from .array_ops import (
    concat,
    expand_dims,
    fill,
    gather,
    one_hot,
    ones,
    reshape,
    shape,
    squeeze,
    stack,
    tile,
    transpose,
    where,
    zeros,
)
from .composite import RaggedTensor, SparseTensor
from .dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset
from .dtypes import (
    DType,
    as_dtype,
    bfloat16,
    bool_,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    string,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .math import cast
from .options import Options
from .records import FixedLengthRecordDataset, TextLineDataset, TFRecordDataset
from .spec import RaggedTensorSpec, SparseTensorSpec, TensorSpec

bool = bool_  # noqa: A001  tf.bool; the builtin stays reachable as builtins.bool

__version__ = "0.1.0"

__all__ = [
    "concat",
    "expand_dims",
    "fill",
    "gather",
    "one_hot",
    "ones",
    "reshape",
    "shape",
    "squeeze",
    "stack",
    "tile",
    "transpose",
    "where",
    "zeros",
    "AUTOTUNE",
    "INFINITE_CARDINALITY",
    "UNKNOWN_CARDINALITY",
    "DType",
    "Dataset",
    "FixedLengthRecordDataset",
    "Options",
    "TFRecordDataset",
    "TextLineDataset",
    "RaggedTensor",
    "RaggedTensorSpec",
    "SparseTensor",
    "SparseTensorSpec",
    "TensorSpec",
    "as_dtype",
    "cast",
    "bfloat16",
    "bool",
    "data",
    "errors",
    "image",
    "float16",
    "float32",
    "float64",
    "int8",
    "io",
    "math",
    "ragged",
    "random",
    "sparse",
    "strings",
    "int16",
    "int32",
    "int64",
    "string",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]
