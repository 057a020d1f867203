"""Record files, as ``tf.data``'s readers and ``tf.io.TFRecordWriter``.

``TFRecordDataset``, ``TextLineDataset`` and ``FixedLengthRecordDataset`` read on engine
threads without the GIL; records are ``bytes`` when they reach Python. Inside a traced
``interleave``/``flat_map`` function (``lambda f: hr.TFRecordDataset(f)``) they become part
of the native template. ``TFRecordWriter`` writes the bytes TensorFlow writes.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

import numpy as np

from . import _native, tracing
from .dataset import Dataset, _count

__all__ = [
    "FixedLengthRecordDataset",
    "TFRecordDataset",
    "TFRecordOptions",
    "TFRecordWriter",
    "TextLineDataset",
]


def _filenames(filenames: Any) -> Any:
    """The native dataset of paths: from a Dataset of string scalars (e.g.
    ``Dataset.list_files``), a path, a list of paths, or a traced string value."""
    if isinstance(filenames, Dataset):
        return filenames._native
    if tracing.is_symbolic(filenames):
        return tracing.template_source("tensors", filenames)
    if isinstance(filenames, str | bytes | os.PathLike):
        names = [filenames]
    elif isinstance(filenames, np.ndarray):
        names = filenames.reshape(-1).tolist()
    else:
        try:
            names = list(filenames)
        except TypeError:
            raise TypeError(
                "filenames: expected a path, a list of paths or a Dataset of paths, got "
                f"{type(filenames).__name__}"
            ) from None
    paths = []
    for name in names:
        if not isinstance(name, str | bytes | os.PathLike):
            raise TypeError(f"filenames: expected paths, got {type(name).__name__} {name!r}")
        paths.append(os.fsencode(name))
    return _native.Dataset.from_tensor_slices(np.array(paths, dtype=object))


def _compression(compression_type: Any) -> str:
    if isinstance(compression_type, TFRecordOptions):
        return compression_type.compression_type
    if compression_type is None:
        return ""
    if not isinstance(compression_type, str):
        kind = type(compression_type).__name__
        raise TypeError(f'compression_type: expected "", "GZIP" or "ZLIB", got {kind}')
    return compression_type


def _reader_args(
    filenames: Any, compression_type: Any, buffer_size: Any, num_parallel_reads: Any
) -> tuple[Any, str, int | None, int | None]:
    """The arguments the record readers share, checked, in the native functions' order."""
    return (
        _filenames(filenames),
        _compression(compression_type),
        _count("buffer_size", buffer_size, allow_none=True),
        _count("num_parallel_reads", num_parallel_reads, allow_none=True),
    )


class TFRecordDataset(Dataset):
    """The records of TFRecord files, as ``tf.data.TFRecordDataset``.

    ``filenames`` is a path, a list of paths, or a Dataset of paths. ``compression_type``
    is ``None``/``""``, ``"GZIP"`` or ``"ZLIB"``; ``buffer_size`` the read buffer in bytes
    (default 256 KiB). With ``num_parallel_reads`` (a count or ``AUTOTUNE``) that many files
    are read at once and their records interleaved one by one, as in tf.data.

    Damaged data raises ``hr.errors.DataLossError`` naming the file, the record's index and
    byte offset, and whether the length or the data failed its checksum, after the records
    before it; a file cut inside a record header is an error too (tf.data drops that tail).
    Iteration can go on: the rest of that file is skipped, and ``ignore_errors()`` reads on
    past it, counting the file in the iterator's ``stats()`` (``skipped_files``,
    ``skipped_bytes``).
    """

    def __init__(
        self,
        filenames: Any,
        compression_type: str | None = None,
        buffer_size: int | None = None,
        num_parallel_reads: int | None = None,
        name: str | None = None,
    ) -> None:
        del name
        super().__init__(
            _native.tfrecord_dataset(
                *_reader_args(filenames, compression_type, buffer_size, num_parallel_reads)
            )
        )


class TextLineDataset(Dataset):
    """The lines of text files, as ``tf.data.TextLineDataset``: each line as ``bytes``
    without its ``\\n`` or ``\\r\\n``. Arguments as for ``TFRecordDataset``."""

    def __init__(
        self,
        filenames: Any,
        compression_type: str | None = None,
        buffer_size: int | None = None,
        num_parallel_reads: int | None = None,
        name: str | None = None,
    ) -> None:
        del name
        super().__init__(
            _native.text_line_dataset(
                *_reader_args(filenames, compression_type, buffer_size, num_parallel_reads)
            )
        )


class FixedLengthRecordDataset(Dataset):
    """Records of ``record_bytes`` bytes from binary files, after ``header_bytes`` and
    before the last ``footer_bytes`` of each, as ``tf.data.FixedLengthRecordDataset``.

    A file whose body is not a whole number of records raises ``hr.errors.DataLossError``
    after its whole records, where tf.data drops the partial record silently."""

    def __init__(
        self,
        filenames: Any,
        record_bytes: int,
        header_bytes: int | None = None,
        footer_bytes: int | None = None,
        buffer_size: int | None = None,
        compression_type: str | None = None,
        num_parallel_reads: int | None = None,
        name: str | None = None,
    ) -> None:
        del name
        files, compression, buffer, reads = _reader_args(
            filenames, compression_type, buffer_size, num_parallel_reads
        )
        super().__init__(
            _native.fixed_length_record_dataset(
                files,
                _count("record_bytes", record_bytes),
                _count("header_bytes", 0 if header_bytes is None else header_bytes),
                _count("footer_bytes", 0 if footer_bytes is None else footer_bytes),
                buffer,
                compression,
                reads,
            )
        )


class TFRecordOptions:
    """Options for ``TFRecordWriter``, as ``tf.io.TFRecordOptions``: the compression."""

    def __init__(self, compression_type: str | None = None) -> None:
        self.compression_type = _compression(compression_type)

    @staticmethod
    def get_compression_type_string(options: TFRecordOptions | str | None) -> str:
        """The compression name of ``options`` (``""``, ``"GZIP"`` or ``"ZLIB"``)."""
        return _compression(options)


class TFRecordWriter:
    """Writes records to a TFRecord file, as ``tf.io.TFRecordWriter``: the same records
    give the same bytes, plain, GZIP or ZLIB (``options`` is a compression name or a
    ``TFRecordOptions``). Use it in a ``with`` block, or call ``close()``."""

    def __init__(self, path: str | os.PathLike[str], options: TFRecordOptions | str | None = None):
        self._native = _native.TFRecordWriter(os.fspath(path), _compression(options))

    def write(self, record: bytes | str) -> None:
        """Appends one record (bytes, or text written as UTF-8)."""
        if isinstance(record, str):
            record = record.encode()
        self._native.write(record)

    def flush(self) -> None:
        """Pushes written records to the file. For a compressed file, as in TensorFlow, the
        compressor may keep the tail until ``close``."""
        self._native.flush()

    def close(self) -> None:
        """Finishes the file. Writing afterwards raises; closing again does nothing."""
        self._native.close()

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
