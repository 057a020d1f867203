"""``hr.io``: file and byte ops, and ``tf.train.Example`` parsing and encoding, with
``tf.io``'s names."""

from __future__ import annotations

from typing import Any

from . import _native, tracing
from .dtypes import as_dtype, string
from .example import (
    FixedLenFeature,
    FixedLenSequenceFeature,
    RaggedFeature,
    VarLenFeature,
    example_to_dict,
    parse_example,
    parse_single_example,
    parse_single_sequence_example,
    sequence_example_to_dict,
    serialize_example,
    serialize_sequence_example,
)
from .image import (
    decode_bmp,
    decode_gif,
    decode_image,
    decode_jpeg,
    decode_png,
    encode_jpeg,
    encode_png,
    extract_jpeg_shape,
)
from .records import TFRecordOptions, TFRecordWriter

__all__ = [
    "FixedLenFeature",
    "FixedLenSequenceFeature",
    "RaggedFeature",
    "TFRecordOptions",
    "TFRecordWriter",
    "VarLenFeature",
    "decode_bmp",
    "decode_gif",
    "decode_image",
    "decode_jpeg",
    "decode_png",
    "decode_raw",
    "encode_jpeg",
    "encode_png",
    "example_to_dict",
    "extract_jpeg_shape",
    "parse_example",
    "parse_single_example",
    "parse_single_sequence_example",
    "read_file",
    "sequence_example_to_dict",
    "serialize_example",
    "serialize_sequence_example",
]


def read_file(filename: Any) -> Any:
    """The bytes of the file named by a string scalar; a missing file raises
    ``hr.errors.NotFoundError`` naming it (inside a pipeline: at that element)."""
    if tracing.is_symbolic(filename):
        return tracing.text_op("read_file", None, [filename], string, ())
    return _native.text_op("read_file", None, [filename])


def decode_raw(
    input_bytes: Any, out_type: Any, little_endian: bool = True, fixed_length: int | None = None
) -> Any:
    """Each string's bytes as numbers of ``out_type``: the output has the input's shape plus
    one axis of ``len(bytes) / itemsize`` (all strings must give the same count, unless
    ``fixed_length`` cuts or zero-pads them to that many bytes first)."""
    dt = as_dtype(out_type)
    attrs = (dt.name, bool(little_endian), None if fixed_length is None else int(fixed_length))
    if tracing.is_symbolic(input_bytes):
        shape = input_bytes.shape
        last = None if fixed_length is None else int(fixed_length) // dt.as_numpy_dtype().itemsize
        out = None if shape is None else (*shape, last)
        return tracing.text_op("decode_raw", attrs, [input_bytes], dt, out)
    return _native.text_op("decode_raw", attrs, [input_bytes])
