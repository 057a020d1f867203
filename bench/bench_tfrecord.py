"""TFRecord figures, headrace beside tf.data on the same files, from one run (``make bench``).

The script writes its data set into a temporary directory under /tmp (deleted at the end), or
into ``--data-dir`` (kept), and reads every file once before timing so that it is in the page
cache. Each figure is the median of ``--repeats`` runs; tf.data's per-record parsing runs on
fewer records (``take``) and is reported as a rate, which does not depend on the count.

Figures (issue: TFRecord reading and writing):
  1. Raw records from 8 files (``--raw-mib`` MiB of random payload each for 1 KiB and 16 KiB
     records), ``TFRecordDataset(files, num_parallel_reads=None | AUTOTUNE).batch(1024)``,
     handed to Python as numpy object arrays of ``bytes`` (tf.data: ``as_numpy_iterator``):
     MB/s of record payload, every configuration and the best per library.
  2. ``batch(1024).map(lambda x: parse_example(x, spec))`` over ``tf.train.Example`` records of
     32 float32, 8 int64 and an int64 label: records/s.
  3. ``map(lambda x: parse_single_example(x, spec)).batch(1024)``, the map sequential and with
     ``num_parallel_calls=AUTOTUNE``: records/s.
  4. GZIP files of compressible 1 KiB text records, read as in 1: records/s and MB/s of
     (decompressed) payload.
  5. Writing 1 KiB records with ``TFRecordWriter.write`` called from Python, plain and GZIP:
     MB/s, and a check that both libraries' files are byte for byte the same.

``--profile`` adds headrace-only figures of sub-pipelines (records without ``batch``, batches
reduced to their shape by a traced map so that no ``bytes`` reach Python), to tell where the
time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import headrace as hr
import numpy as np
from bench_core import load_tf, row, timed

MB = 1e6
NUM_FILES = 8
BATCH = 1024


def header() -> None:
    print(f"{'figure':<44} {'headrace':>14} {'tf.data':>14} {'unit':<12} {'ratio':>9}  target")


def section(title: str) -> None:
    print(f"-- {title}")


def warm(files: list[str]) -> None:
    """Reads each file once, so that the timed runs find it in the page cache."""
    for path in files:
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


def write_files(
    directory: Path, stem: str, records: Callable[[int], list[bytes]], options: str | None = None
) -> list[str]:
    """``NUM_FILES`` TFRecord files, the i-th holding ``records(i)``."""
    files = []
    for i in range(NUM_FILES):
        path = directory / f"{stem}-{i:02d}.tfrecord{'.gz' if options else ''}"
        with hr.io.TFRecordWriter(path, options) as w:
            for record in records(i):
                w.write(record)
        files.append(str(path))
    return files


def random_records(rng: np.random.Generator, size: int, count: int) -> list[bytes]:
    blob = rng.bytes(size * count)
    return [blob[k * size : (k + 1) * size] for k in range(count)]


def text_records(rng: np.random.Generator, size: int, count: int) -> list[bytes]:
    """``count`` records of ``size`` bytes of words from a 2,000-word vocabulary (gzip shrinks
    them to about a third)."""
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    vocab = [letters[rng.integers(0, 26, int(n))].tobytes() for n in rng.integers(3, 11, size=2000)]
    words = rng.integers(0, len(vocab), size=size * count // 5 + 1024)
    blob = b" ".join(vocab[w] for w in words)
    assert len(blob) >= size * count
    return [blob[k * size : (k + 1) * size] for k in range(count)]


def example_records(rng: np.random.Generator, count: int) -> list[bytes]:
    floats = rng.standard_normal((count, 32), dtype=np.float32)
    ints = rng.integers(0, 1 << 20, size=(count, 8))
    labels = rng.integers(0, 1000, size=count)
    return [
        hr.io.serialize_example({"floats": floats[k], "ints": ints[k], "label": labels[k]})
        for k in range(count)
    ]


def count_records(ds: Any) -> int:
    """Records handed to Python by a dataset of batches of records (or of parsed dicts)."""
    n = 0
    for batch in ds:
        n += len(batch["label"]) if isinstance(batch, dict) else len(batch)
    return n


def reads_name(reads: Any) -> str:
    return "None" if reads is None else "AUTOTUNE"


def check_same_records(hr_ds: Any, tf_ds: Any) -> None:
    ours = next(iter(hr_ds))
    theirs = next(tf_ds.as_numpy_iterator())
    if isinstance(ours, dict):
        same = (
            all(np.array_equal(ours[k], theirs[k]) for k in ours) and ours.keys() == theirs.keys()
        )
    else:
        same = list(ours) == list(theirs)
    if not same:
        raise SystemExit("headrace and tf.data disagree on the first batch")


def raw_reading(
    args: argparse.Namespace, tf: Any, rng: np.random.Generator, data: Path
) -> list[dict[str, object]]:
    rows = []
    for size in (1024, 16 * 1024):
        rows += raw_reading_size(args, tf, rng, data, size)
    return rows


def raw_reading_size(
    args: argparse.Namespace, tf: Any, rng: np.random.Generator, data: Path, size: int
) -> list[dict[str, object]]:
    per_file = args.raw_mib * 2**20 // size // NUM_FILES
    files = write_files(data, f"raw{size}", lambda i: random_records(rng, size, per_file))
    warm(files)
    section(f"raw read: {NUM_FILES} files, {per_file * NUM_FILES:,} records of {size} B")
    rows = compare_reads(args, tf, files, None, size, f"{size // 1024} KiB", ">= 3x tf.data")
    if args.profile:
        profile_raw(args, files, size)
    if not args.data_dir:
        for path in files:
            os.remove(path)
    return rows


def compare_reads(
    args: argparse.Namespace,
    tf: Any,
    files: list[str],
    compression: str | None,
    size: int,
    label: str,
    target: str,
    records_too: bool = False,
) -> list[dict[str, object]]:
    """``TFRecordDataset(files, compression, num_parallel_reads).batch(1024)`` handed to Python,
    with ``num_parallel_reads`` None and AUTOTUNE, then each library's best: MB/s of payload
    (and records/s with ``records_too``)."""
    rows = []
    best: dict[str, tuple[float, str]] = {}
    for hr_reads, tf_reads in ((None, None), (hr.AUTOTUNE, tf.data.AUTOTUNE if tf else None)):

        def ours(reads: Any = hr_reads) -> float:
            ds = hr.TFRecordDataset(files, compression, num_parallel_reads=reads)
            return count_records(ds.batch(BATCH)) * size / MB

        def tf_run(reads: Any = tf_reads) -> float:
            ds = tf.data.TFRecordDataset(files, compression, num_parallel_reads=reads)
            return count_records(ds.batch(BATCH).as_numpy_iterator()) * size / MB

        if tf and hr_reads is None:
            check_same_records(
                hr.TFRecordDataset(files, compression).batch(BATCH),
                tf.data.TFRecordDataset(files, compression).batch(BATCH),
            )
        mine, _ = timed(ours, args.repeats)
        theirs = timed(tf_run, args.repeats)[0] if tf else None
        for lib, rate in (("hr", mine), ("tf", theirs)):
            if rate and rate > best.get(lib, (0.0, ""))[0]:
                best[lib] = (rate, reads_name(hr_reads))
        name = f"{label}, reads={reads_name(hr_reads)}"
        if records_too:
            per_record = MB / size
            rows.append(
                row(
                    name,
                    mine * per_record,
                    theirs * per_record if theirs else None,
                    "records/s",
                    target=target,
                )
            )
        rows.append(row(name, mine, theirs, "MB/s", target=target))
    tf_best = best.get("tf")
    name = f"{label} best: hr {best['hr'][1]}"
    if tf_best:
        name += f", tf {tf_best[1]}"
    rows.append(row(name, best["hr"][0], tf_best[0] if tf_best else None, "MB/s", target=target))
    return rows


def parsing(
    args: argparse.Namespace, tf: Any, rng: np.random.Generator, data: Path
) -> list[dict[str, object]]:
    per_file = args.examples // NUM_FILES
    records = example_records(rng, per_file * NUM_FILES)
    size = sum(len(r) for r in records) / len(records)
    files = write_files(data, "examples", lambda i: records[i * per_file : (i + 1) * per_file])
    warm(files)
    section(
        f"parse: {NUM_FILES} files, {per_file * NUM_FILES:,} Examples of {size:.0f} B "
        "(32 float32, 8 int64, int64 label)"
    )
    spec = {
        "floats": hr.io.FixedLenFeature([32], hr.float32),
        "ints": hr.io.FixedLenFeature([8], hr.int64),
        "label": hr.io.FixedLenFeature([], hr.int64),
    }
    tf_spec = None
    if tf:
        tf_spec = {
            "floats": tf.io.FixedLenFeature([32], tf.float32),
            "ints": tf.io.FixedLenFeature([8], tf.int64),
            "label": tf.io.FixedLenFeature([], tf.int64),
        }
    rows = []

    def ours_batched() -> int:
        ds = hr.TFRecordDataset(files).batch(BATCH).map(lambda x: hr.io.parse_example(x, spec))
        assert "(traced" in repr(ds)
        return count_records(ds)

    def tf_batched() -> int:
        ds = (
            tf.data.TFRecordDataset(files)
            .batch(BATCH)
            .map(lambda x: tf.io.parse_example(x, tf_spec))
        )
        return count_records(ds.as_numpy_iterator())

    if tf:
        check_same_records(
            hr.TFRecordDataset(files).batch(BATCH).map(lambda x: hr.io.parse_example(x, spec)),
            tf.data.TFRecordDataset(files)
            .batch(BATCH)
            .map(lambda x: tf.io.parse_example(x, tf_spec)),
        )
    mine, _ = timed(ours_batched, args.repeats)
    theirs = timed(tf_batched, args.repeats)[0] if tf else None
    rows.append(
        row("batch(1024).map(parse_example)", mine, theirs, "records/s", target=">= 3x tf.data")
    )

    tf_count = min(args.tf_single_examples, per_file * NUM_FILES)
    for hr_calls, tf_calls in ((None, None), (hr.AUTOTUNE, tf.data.AUTOTUNE if tf else None)):

        def ours_single(calls: Any = hr_calls) -> int:
            ds = (
                hr.TFRecordDataset(files)
                .map(lambda x: hr.io.parse_single_example(x, spec), num_parallel_calls=calls)
                .batch(BATCH)
            )
            assert "(traced" in repr(ds)
            return count_records(ds)

        def tf_single(calls: Any = tf_calls) -> int:
            ds = (
                tf.data.TFRecordDataset(files)
                .take(tf_count)
                .map(lambda x: tf.io.parse_single_example(x, tf_spec), num_parallel_calls=calls)
                .batch(BATCH)
            )
            return count_records(ds.as_numpy_iterator())

        mine, _ = timed(ours_single, args.repeats)
        theirs = timed(tf_single, args.repeats)[0] if tf else None
        calls_text = "" if hr_calls is None else ", AUTOTUNE"
        rows.append(
            row(
                f"map(parse_single_example{calls_text}).batch",
                mine,
                theirs,
                "records/s",
                target=">= 10x tf.data",
            )
        )
    if args.profile:
        profile_parsing(args, files, spec)
    if not args.data_dir:
        for path in files:
            os.remove(path)
    return rows


def gzip_reading(
    args: argparse.Namespace, tf: Any, rng: np.random.Generator, data: Path
) -> list[dict[str, object]]:
    size = 1024
    per_file = args.gzip_mib * 2**20 // size // NUM_FILES
    files = write_files(data, "text", lambda i: text_records(rng, size, per_file), "GZIP")
    warm(files)
    total = per_file * NUM_FILES
    compressed = sum(os.path.getsize(f) for f in files)
    section(
        f"GZIP read: {NUM_FILES} files, {total:,} text records of {size} B "
        f"({total * size / MB:,.0f} MB, {compressed / MB:,.0f} MB compressed)"
    )
    rows = compare_reads(args, tf, files, "GZIP", size, "GZIP 1 KiB", ">= tf.data", True)
    if not args.data_dir:
        for path in files:
            os.remove(path)
    return rows


def writing(
    args: argparse.Namespace, tf: Any, rng: np.random.Generator, data: Path
) -> list[dict[str, object]]:
    size = 1024
    records = text_records(rng, size, args.write_records)
    payload = len(records) * size / MB
    section(f"write: {len(records):,} text records of {size} B from Python")
    rows = []
    for options in (None, "GZIP"):
        ours_path = data / f"write-hr{'.gz' if options else ''}.tfrecord"
        tf_path = data / f"write-tf{'.gz' if options else ''}.tfrecord"

        def ours(path: Path = ours_path, options: str | None = options) -> float:
            with hr.io.TFRecordWriter(path, options) as w:
                write = w.write
                for record in records:
                    write(record)
            return payload

        def tf_run(path: Path = tf_path, options: str | None = options) -> float:
            with tf.io.TFRecordWriter(str(path), options) as w:
                write = w.write
                for record in records:
                    write(record)
            return payload

        mine, _ = timed(ours, args.repeats)
        theirs = timed(tf_run, args.repeats)[0] if tf else None
        rows.append(row(f"write 1 KiB, {options or 'plain'}", mine, theirs, "MB/s", target=">= tf"))
        if tf:
            same = ours_path.read_bytes() == tf_path.read_bytes()
            print(
                f"   {options or 'plain'} files {'byte-identical' if same else 'DIFFER'}: "
                f"{ours_path.stat().st_size:,} B (headrace), {tf_path.stat().st_size:,} B (tf)"
            )
            rows[-1]["identical"] = same
        os.remove(ours_path)
        if tf:
            os.remove(tf_path)
    return rows


def profile_parsing(args: argparse.Namespace, files: list[str], spec: dict[str, Any]) -> None:
    """headrace-only sub-pipelines of the parse figures."""

    def reduced(ds: Any) -> int:
        n = 0
        for shape in ds:
            n += int(shape[0])
        return n

    for name, make in (
        ("  records only, batch(1024).map(shape)", lambda: hr.TFRecordDataset(files).batch(BATCH)),
        (
            "  parse_example, then shape of label",
            lambda: (
                hr.TFRecordDataset(files)
                .batch(BATCH)
                .map(lambda x: hr.io.parse_example(x, spec)["label"])
            ),
        ),
        (
            "  parse_single_example, then shape",
            lambda: (
                hr.TFRecordDataset(files)
                .map(lambda x: hr.io.parse_single_example(x, spec)["label"])
                .batch(BATCH)
            ),
        ),
    ):

        def run(make: Callable[[], Any] = make) -> int:
            return reduced(make().map(lambda x: hr.shape(x)))

        rate, _ = timed(run, args.repeats)
        print(f"{name:<44} {rate:14,.0f} {'':>14} records/s")


def profile_raw(args: argparse.Namespace, files: list[str], size: int) -> None:
    """headrace-only sub-pipelines of the raw read figures."""

    def per_record() -> float:
        n = 0
        for _ in hr.TFRecordDataset(files):
            n += 1
        return n * size / MB

    def no_python(reads: Any = None) -> float:
        ds = hr.TFRecordDataset(files, num_parallel_reads=reads).batch(BATCH)
        n = 0
        for shape in ds.map(lambda x: hr.shape(x)):
            n += int(shape[0])
        return n * size / MB

    def prefetched() -> float:
        ds = hr.TFRecordDataset(files).batch(BATCH).prefetch(hr.AUTOTUNE)
        return count_records(ds) * size / MB

    for name, fn in (
        (f"  {size // 1024} KiB records one by one", per_record),
        (f"  {size // 1024} KiB batch.prefetch(AUTOTUNE), None", prefetched),
        (f"  {size // 1024} KiB batch.map(shape), None", no_python),
        (f"  {size // 1024} KiB batch.map(shape), AUTOTUNE", lambda: no_python(hr.AUTOTUNE)),
    ):
        rate, _ = timed(fn, args.repeats)
        print(f"{name:<44} {rate:14,.0f} {'':>14} MB/s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--data-dir", type=Path, help="write the data here (kept) not in /tmp")
    parser.add_argument("--raw-mib", type=int, default=1024, help="MiB per raw read data set")
    parser.add_argument("--gzip-mib", type=int, default=256, help="MiB of GZIP read payload")
    parser.add_argument("--examples", type=int, default=500_000, help="Example records to parse")
    parser.add_argument(
        "--tf-single-examples",
        type=int,
        default=100_000,
        help="records for tf.data's parse_single_example figures",
    )
    parser.add_argument("--write-records", type=int, default=200_000)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["raw", "parse", "gzip", "write"],
        default=["raw", "parse", "gzip", "write"],
    )
    parser.add_argument("--profile", action="store_true", help="add headrace sub-pipelines")
    args = parser.parse_args()
    tf = load_tf()
    print(f"cores: {os.cpu_count()}  tensorflow: {tf.__version__ if tf else 'not installed'}")
    header()
    rng = np.random.default_rng(2026)
    if args.data_dir:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        data = args.data_dir
    else:
        data = Path(tempfile.mkdtemp(prefix="headrace-bench-tfrecord-", dir="/tmp"))
    rows: list[dict[str, object]] = []
    try:
        if "raw" in args.only:
            rows += raw_reading(args, tf, rng, data)
        if "parse" in args.only:
            rows += parsing(args, tf, rng, data)
        if "gzip" in args.only:
            rows += gzip_reading(args, tf, rng, data)
        if "write" in args.only:
            rows += writing(args, tf, rng, data)
    finally:
        if not args.data_dir:
            shutil.rmtree(data, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
