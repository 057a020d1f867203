"""Image pipeline figures, headrace beside tf.data on the same JPEGs, from one run (``make bench``).

The corpus is ``--images`` JPEGs of 500x375 at quality 90, cut from the two photographs that
scikit-learn ships (``sklearn/datasets/images/china.jpg`` and ``flower.jpg``, 427x640, the files
behind ``sklearn.datasets.load_sample_images()``; they are read and decoded here with
``hr.image.decode_jpeg`` so that Pillow is not needed): half are random 375x500 windows, half
random 4:3 windows of 375 to 427 rows resized to 375x500 (bilinear), each mirrored with
probability 1/2, encoded with ``hr.image.encode_jpeg(quality=90)``. The script writes them into a
temporary directory under /tmp (deleted at the end), or into ``--data-dir`` (kept, and reused
when it already holds the same number of images), and reads every file once before timing so
that it is in the page cache. Each figure is the median of ``--repeats`` runs; both libraries
hand numpy arrays to Python (tf.data through ``as_numpy_iterator``).

Figures (issue: image pipelines):
  1. ``list_files → read_file → decode_jpeg(channels=3) → resize(224, 224) → / 255 →
     batch(32) → prefetch(AUTOTUNE)``, the map with ``num_parallel_calls=AUTOTUNE``: images/s
     (and a check that both libraries' first batches agree), then the same map sequential
     without prefetch (tf.data's automatic ``map_parallelization`` and ``inject_prefetch``
     turned off, so that it too runs the map on one thread).
  2. The ImageNet training crop: headrace ``decode_jpeg → random_resized_crop(224, 224) →
     random_flip_left_right → / 255 → batch(32)``; tf.data as TensorFlow's ImageNet
     preprocessing does it: ``extract_jpeg_shape → sample_distorted_bounding_box →
     decode_and_crop_jpeg → resize(224, 224) → random_flip_left_right → / 255 → batch(32)``:
     images/s.
  2b. ``approximate_image_ops``: ``decode_jpeg → resize(64, 64, antialias=True) → / 255 →
     batch(32)``, exact and with ``hr.Options(approximate_image_ops=True)`` (a JPEG decoded
     at a reduced DCT scale), beside tf.data's exact pipeline; and the approximation's PSNR
     against the exact path on 200 of the images. (The 224x224 pipeline of figure 1 shrinks
     500x375 by less than 4x, so the approximation does not apply there.)
  3. Pipeline overhead: headrace's ``map(decode → resize)`` on one thread (no
     ``num_parallel_calls``, no prefetch) against ``hr.image.decode_jpeg`` and
     ``hr.image.resize`` called in a plain Python loop on the same bytes, already in memory:
     images/s and the pipeline's share of the bare kernels' rate.
  4. Single-image kernels: ``decode_jpeg`` of a 500x375 JPEG and bilinear ``resize`` of the
     decoded image to 224x224, each library called eagerly: median ms per call.
  5. Beside a stand-in for PyTorch's ``DataLoader(batch_size=32, num_workers=2)`` with PIL
     (``pil_peer.py``: Pillow transforms in 2 worker processes, batches passed back in shared
     memory; torch itself cannot be installed here): headrace's pipelines of figures 1 and 2
     against torchvision's ``Resize((224, 224))`` and ``RandomResizedCrop(224) →
     RandomHorizontalFlip()``, then ``/ 255``, batches of 32; and both resizing with an
     antialiasing filter (Pillow's bilinear filter antialiases when it shrinks, tf.data's and
     headrace's default does not). Workers are started for each run, as torch does without
     ``persistent_workers``. Needs Pillow (``make bench-deps``).

``--profile`` adds sub-pipelines of figures 1 and 2 for both libraries (decode only,
decode + resize, with and without ``/ 255``, crop without flip, flip written as
``where(coin, flip(x), x)``), to tell where the time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.resources
import importlib.util
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import headrace as hr
import numpy as np
from bench_core import load_tf, row, timed
from bench_tfrecord import header, section, warm

BATCH = 32
SIZE = (224, 224)
HEIGHT, WIDTH = 375, 500
QUALITY = 90
SOURCES = ("china.jpg", "flower.jpg")
SEQUENTIAL = {"parallel": False, "batch": False}


# -- corpus -------------------------------------------------------------------------------


def source_images() -> list[np.ndarray]:
    """scikit-learn's two sample photographs, decoded (uint8, 427x640x3)."""
    try:
        folder = importlib.resources.files("sklearn.datasets.images")
    except ModuleNotFoundError:
        raise SystemExit(
            "bench_images.py cuts its JPEGs from scikit-learn's sample images: "
            "make bench-deps (or pip install scikit-learn)"
        ) from None
    return [
        np.asarray(hr.image.decode_jpeg((folder / name).read_bytes(), channels=3))
        for name in SOURCES
    ]


def cut(source: np.ndarray, rng: np.random.Generator, resized: bool) -> np.ndarray:
    """A 375x500 window of ``source``: cut as it is, or a larger 4:3 window resized down."""
    rows, cols = source.shape[:2]
    height = int(rng.integers(HEIGHT, rows + 1)) if resized else HEIGHT
    width = min(round(height * WIDTH / HEIGHT), cols) if resized else WIDTH
    top = int(rng.integers(0, rows - height + 1))
    left = int(rng.integers(0, cols - width + 1))
    window = source[top : top + height, left : left + width]
    if resized:
        scaled = np.asarray(hr.image.resize(window, (HEIGHT, WIDTH)))
        window = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        window = window[:, ::-1]
    return np.ascontiguousarray(window)


def make_corpus(data: Path, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` JPEGs in ``data`` (kept if ``data`` already holds exactly ``count``)."""
    existing = sorted(str(p) for p in data.glob("img-*.jpg"))
    if len(existing) == count:
        return existing
    for path in existing:
        os.remove(path)
    sources = source_images()
    files = []
    for i in range(count):
        image = cut(sources[i % len(sources)], rng, resized=bool(i // 2 % 2))
        path = data / f"img-{i:05d}.jpg"
        path.write_bytes(hr.image.encode_jpeg(image, quality=QUALITY))
        files.append(str(path))
    return files


# -- pipelines ------------------------------------------------------------------------------


def count_images(it: Any) -> int:
    """Images handed to Python by an iterator of batches (rank 4) or of single images."""
    n = 0
    for x in it:
        n += len(x) if x.ndim == 4 else 1
    return n


def hr_dataset(
    pattern: str,
    fn: Callable[[Any], Any],
    parallel: bool = True,
    batch: bool = True,
    prefetch: bool = False,
) -> Any:
    ds = hr.Dataset.list_files(pattern, shuffle=False).map(
        fn, num_parallel_calls=hr.AUTOTUNE if parallel else None
    )
    if "(traced" not in repr(ds):
        raise SystemExit(f"headrace did not trace the map: {ds!r}")
    if batch:
        ds = ds.batch(BATCH)
    if prefetch:
        ds = ds.prefetch(hr.AUTOTUNE)
    return ds


def tf_dataset(
    tf: Any,
    pattern: str,
    fn: Callable[[Any], Any],
    parallel: bool = True,
    batch: bool = True,
    prefetch: bool = False,
) -> Any:
    ds = tf.data.Dataset.list_files(pattern, shuffle=False).map(
        fn, num_parallel_calls=tf.data.AUTOTUNE if parallel else None
    )
    if not parallel:
        # By default tf.data rewrites a sequential map into a parallel one and appends a
        # prefetch: off here, so that "sequential" means one map thread in both libraries.
        options = tf.data.Options()
        options.experimental_optimization.map_parallelization = False
        options.experimental_optimization.inject_prefetch = False
        ds = ds.with_options(options)
    if batch:
        ds = ds.batch(BATCH)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def hr_decode(path: Any) -> Any:
    return hr.image.decode_jpeg(hr.io.read_file(path), channels=3)


def hr_resized(path: Any) -> Any:
    return hr.image.resize(hr_decode(path), SIZE)


def hr_scaled(path: Any) -> Any:
    return hr_resized(path) / 255.0


def hr_crop(path: Any) -> Any:
    return hr.image.random_resized_crop(hr_decode(path), SIZE, seed=7)


def hr_train(path: Any) -> Any:
    return hr.image.random_flip_left_right(hr_crop(path), seed=11) / 255.0


THUMBNAIL = (64, 64)


def hr_thumbnail(path: Any) -> Any:
    return hr.image.resize(hr_decode(path), THUMBNAIL, antialias=True) / 255.0


def hr_train_where(path: Any) -> Any:
    """``hr_train`` with the flip written as ``where(coin, flip(x), x)``: the flip always
    computed."""
    image = hr_crop(path)
    coin = hr.random.uniform([], seed=11) < 0.5
    return hr.where(coin, hr.image.flip_left_right(image), image) / 255.0


def tf_functions(tf: Any) -> dict[str, Callable[[Any], Any]]:
    """tf.data's map functions, by the name of their headrace counterpart."""

    def decode(path: Any) -> Any:
        return tf.io.decode_jpeg(tf.io.read_file(path), channels=3)

    def resized(path: Any) -> Any:
        return tf.image.resize(decode(path), SIZE)

    def scaled(path: Any) -> Any:
        return resized(path) / 255.0

    def crop(path: Any) -> Any:
        """TensorFlow's ImageNet training crop: only the sampled window is decoded."""
        contents = tf.io.read_file(path)
        shape = tf.image.extract_jpeg_shape(contents)
        begin, size, _ = tf.image.sample_distorted_bounding_box(
            shape,
            bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
            min_object_covered=0.1,
            aspect_ratio_range=(3 / 4, 4 / 3),
            area_range=(0.08, 1.0),
            max_attempts=10,
            use_image_if_no_bounding_boxes=True,
        )
        top, left, _ = tf.unstack(begin)
        height, width, _ = tf.unstack(size)
        window = tf.stack([top, left, height, width])
        image = tf.image.decode_and_crop_jpeg(contents, window, channels=3)
        return tf.image.resize(image, SIZE)

    def train(path: Any) -> Any:
        return tf.image.random_flip_left_right(crop(path)) / 255.0

    def thumbnail(path: Any) -> Any:
        return tf.image.resize(decode(path), THUMBNAIL, antialias=True) / 255.0

    return {
        "decode": decode,
        "resized": resized,
        "scaled": scaled,
        "crop": crop,
        "train": train,
        "thumbnail": thumbnail,
    }


def rates(
    args: argparse.Namespace, ours: Callable[[], Any], theirs: Callable[[], Any] | None
) -> tuple[float, float | None]:
    """Median images/s of the headrace and tf.data datasets that ``ours`` and ``theirs``
    make, each iterated to the end. The two alternate, run by run, so that a slow spell of
    this shared machine (runs of one pipeline vary by up to 15% over minutes) falls on
    both."""
    mine: list[float] = []
    other: list[float] = []
    for _ in range(args.repeats):
        mine += timed(lambda: count_images(ours()), 1)[1]
        if theirs is not None:
            other += timed(lambda: count_images(theirs().as_numpy_iterator()), 1)[1]
    return statistics.median(mine), statistics.median(other) if other else None


def check_first_batch(ours: Any, theirs: Any) -> float:
    a = np.asarray(next(iter(ours)))
    b = next(theirs.as_numpy_iterator())
    if a.shape != b.shape:
        raise SystemExit(f"headrace and tf.data disagree on the shape: {a.shape} != {b.shape}")
    return float(np.max(np.abs(a - b)))


def resize_figures(args: argparse.Namespace, tf: Any, pattern: str) -> list[dict[str, object]]:
    section(f"decode → resize{SIZE} → / 255 → batch({BATCH}), exact")
    tff = tf_functions(tf) if tf else {}
    rows = []
    if tf:
        diff = check_first_batch(
            hr_dataset(pattern, hr_scaled), tf_dataset(tf, pattern, tff["scaled"])
        )
        print(f"   first batch: max |headrace - tf.data| = {diff:.2e}")
    mine, theirs = rates(
        args,
        lambda: hr_dataset(pattern, hr_scaled, prefetch=True),
        (lambda: tf_dataset(tf, pattern, tff["scaled"], prefetch=True)) if tf else None,
    )
    rows.append(
        row(
            "map(AUTOTUNE).batch(32).prefetch",
            mine,
            theirs,
            "images/s",
            target=">= 1.3x tf.data",
        )
    )
    mine, theirs = rates(
        args,
        lambda: hr_dataset(pattern, hr_scaled, parallel=False),
        (lambda: tf_dataset(tf, pattern, tff["scaled"], parallel=False)) if tf else None,
    )
    rows.append(row("map (sequential).batch(32)", mine, theirs, "images/s"))
    if args.profile:
        for name, ours, theirs_name, kwargs in (
            ("  decode only, AUTOTUNE, unbatched", hr_decode, "decode", {"batch": False}),
            ("  decode + resize, AUTOTUNE, unbatched", hr_resized, "resized", {"batch": False}),
            ("  decode + resize, AUTOTUNE, batch", hr_resized, "resized", {}),
            ("  decode + resize + /255, AUTOTUNE, batch", hr_scaled, "scaled", {}),
            ("  decode only, sequential, unbatched", hr_decode, "decode", SEQUENTIAL),
            ("  decode + resize, sequential, unbatched", hr_resized, "resized", SEQUENTIAL),
            ("  decode + resize, sequential, batch", hr_resized, "resized", {"parallel": False}),
        ):
            theirs_fn = tff.get(theirs_name)
            mine, theirs = rates(
                args,
                lambda ours=ours, kw=kwargs: hr_dataset(pattern, ours, **kw),
                (lambda t=theirs_fn, kw=kwargs: tf_dataset(tf, pattern, t, **kw))
                if theirs_fn
                else None,
            )
            row(name, mine, theirs, "images/s")
    return rows


def crop_figures(args: argparse.Namespace, tf: Any, pattern: str) -> list[dict[str, object]]:
    section(
        "training crop: random_resized_crop / sample_distorted_bounding_box → flip → / 255 → "
        f"batch({BATCH})"
    )
    tff = tf_functions(tf) if tf else {}
    mine, theirs = rates(
        args,
        lambda: hr_dataset(pattern, hr_train),
        (lambda: tf_dataset(tf, pattern, tff["train"])) if tf else None,
    )
    rows = [
        row(
            "ImageNet crop, map(AUTOTUNE).batch(32)",
            mine,
            theirs,
            "images/s",
            target=">= 1.5x tf.data",
        )
    ]
    if args.profile:
        for name, ours, theirs_name, kwargs in (
            ("  crop + resize only, AUTOTUNE, unbatched", hr_crop, "crop", {"batch": False}),
            ("  crop + resize only, AUTOTUNE, batch", hr_crop, "crop", {}),
            ("  crop, flip as where(coin, flip, x), batch", hr_train_where, None, {}),
            ("  crop + flip + /255, with prefetch", hr_train, "train", {"prefetch": True}),
        ):
            theirs_fn = tff.get(theirs_name) if theirs_name else None
            mine, theirs = rates(
                args,
                lambda ours=ours, kw=kwargs: hr_dataset(pattern, ours, **kw),
                (lambda t=theirs_fn, kw=kwargs: tf_dataset(tf, pattern, t, **kw))
                if theirs_fn
                else None,
            )
            row(name, mine, theirs, "images/s")
    return rows


def approximate_figures(
    args: argparse.Namespace, tf: Any, pattern: str, files: list[str]
) -> list[dict[str, object]]:
    section(
        f"approximate_image_ops: decode → resize{THUMBNAIL}, antialias → / 255 → batch({BATCH})"
    )
    tff = tf_functions(tf) if tf else {}
    approximate = hr.Options(approximate_image_ops=True)
    rows = []
    for name, options in (("exact", None), ("approximate_image_ops=True", approximate)):

        def ours(options: Any = options) -> Any:
            ds = hr_dataset(pattern, hr_thumbnail, prefetch=True)
            return ds.with_options(options) if options else ds

        mine, theirs = rates(
            args,
            ours,
            (lambda: tf_dataset(tf, pattern, tff["thumbnail"], prefetch=True)) if tf else None,
        )
        rows.append(row(f"thumbnails, {name}", mine, theirs, "images/s"))
    # The approximation's quality against the exact path, per image.
    sample = hr.Dataset.from_tensor_slices(files[:200]).map(hr_thumbnail)
    psnr = [
        10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2))
        for a, b in zip(sample.with_options(approximate), sample, strict=True)
    ]
    print(
        f"   PSNR against the exact path, {len(psnr)} images: min {min(psnr):.1f} dB, "
        f"median {statistics.median(psnr):.1f} dB"
    )
    return rows


def overhead_figures(args: argparse.Namespace, files: list[str]) -> list[dict[str, object]]:
    section(
        "pipeline overhead, one thread: second column is hr kernels in a Python loop (not tf.data)"
    )
    blobs = [Path(f).read_bytes() for f in files]
    pattern = str(Path(files[0]).parent / "img-*.jpg")

    def bare() -> int:
        decode, resize = hr.image.decode_jpeg, hr.image.resize
        for blob in blobs:
            resize(decode(blob, channels=3), SIZE)
        return len(blobs)

    def from_memory() -> Any:
        ds = hr.Dataset.from_tensor_slices(blobs).map(
            lambda b: hr.image.resize(hr.image.decode_jpeg(b, channels=3), SIZE)
        )
        if "(traced" not in repr(ds):
            raise SystemExit(f"headrace did not trace the map: {ds!r}")
        return ds

    kernels, _ = timed(bare, args.repeats)
    rows = []
    for name, make in (
        ("files, map(decode + resize)", lambda: hr_dataset(pattern, hr_resized, False, False)),
        ("files, map(decode + resize).batch(32)", lambda: hr_dataset(pattern, hr_resized, False)),
        ("bytes in memory, map(decode + resize)", from_memory),
    ):
        mine, _ = timed(lambda make=make: count_images(make()), args.repeats)
        rows.append(row(name, mine, kernels, "images/s", target=">= 90% of bare kernels"))
        print(f"   {'pipeline / bare kernels':<41} {100 * mine / kernels:13.1f}%")
    return rows


def per_call(fn: Callable[[int], object], calls: int) -> float:
    """Median seconds of ``fn(i)`` over ``calls`` calls (after a few to warm up)."""
    for i in range(5):
        fn(i)
    times = []
    for i in range(calls):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ms_row(name: str, ours: float, theirs: float | None, target: str = "") -> dict[str, object]:
    """A row of seconds per call, printed as ms (lower is better; the ratio is tf / headrace)."""
    ratio = theirs / ours if theirs else None
    theirs_text = f"{theirs * 1e3:14.3f}" if theirs else f"{'(no tf)':>14}"
    ratio_text = f"{ratio:8.2f}x" if ratio else "     n/a"
    print(f"{name:<44} {ours * 1e3:14.3f} {theirs_text} {'ms/image':<12} {ratio_text}  {target}")
    return {
        "figure": name,
        "headrace": ours * 1e3,
        "tf_data": theirs * 1e3 if theirs else None,
        "unit": "ms/image",
        "ratio": ratio,
    }


def kernel_figures(args: argparse.Namespace, tf: Any, files: list[str]) -> list[dict[str, object]]:
    section(
        f"single-image kernels, eager, median of {args.kernel_calls} calls "
        "(ratio: tf time / headrace time)"
    )
    blobs = [Path(f).read_bytes() for f in files[:64]]
    images = [np.asarray(hr.image.decode_jpeg(b, channels=3)) for b in blobs]
    k = len(blobs)
    rows = []
    tf_blobs = [tf.constant(b) for b in blobs] if tf else []
    tf_images = [tf.constant(x) for x in images] if tf else []
    ours = per_call(lambda i: hr.image.decode_jpeg(blobs[i % k], channels=3), args.kernel_calls)
    theirs = None
    if tf:
        theirs = per_call(
            lambda i: tf.io.decode_jpeg(tf_blobs[i % k], channels=3), args.kernel_calls
        )
    rows.append(ms_row(f"decode_jpeg {WIDTH}x{HEIGHT} q{QUALITY}", ours, theirs))
    ours = per_call(lambda i: hr.image.resize(images[i % k], SIZE), args.kernel_calls)
    theirs = None
    if tf:
        theirs = per_call(lambda i: tf.image.resize(tf_images[i % k], SIZE), args.kernel_calls)
    rows.append(ms_row(f"resize {WIDTH}x{HEIGHT} → 224x224 bilinear", ours, theirs))
    return rows


PIL_PEER = "PIL, 2 worker processes (DataLoader-style stand-in)"


def hr_antialiased(path: Any) -> Any:
    return hr.image.resize(hr_decode(path), SIZE, antialias=True) / 255.0


def pil_figures(
    args: argparse.Namespace, pattern: str, files: list[str]
) -> list[dict[str, object]]:
    """Headrace against ``pil_peer.DataLoader``: the peer column is the stand-in, not tf.data."""
    if importlib.util.find_spec("PIL") is None:
        print(
            "-- PIL / DataLoader-style stand-in: skipped, Pillow is not installed (make bench-deps)"
        )
        return []
    import pil_peer

    method = args.pil_start_method
    section(f"second column: {PIL_PEER}, not tf.data; batch({BATCH}), workers by {method}")
    pil_peer.warm_up(method)

    def loader(transform: str) -> Callable[[], int]:
        dataset = pil_peer.ImageFiles(tuple(files), transform)

        def run() -> int:
            peer = pil_peer.DataLoader(dataset, start_method=method, seed=2026)
            with contextlib.closing(iter(peer)) as it:
                return count_images(it)

        return run

    # What the peer computes: its first batch beside headrace's, resized without and with
    # antialiasing (Pillow's bilinear filter antialiases when it shrinks).
    first = pil_peer.DataLoader(
        pil_peer.ImageFiles(tuple(files[:BATCH]), "resize"), start_method=method
    )
    with contextlib.closing(iter(first)) as it:
        theirs_batch = next(it)
    for name, fn in (("bilinear", hr_scaled), ("bilinear, antialias=True", hr_antialiased)):
        ours_batch = np.asarray(next(iter(hr_dataset(pattern, fn))))
        diff = np.abs(ours_batch - theirs_batch)
        print(
            f"   first batch: |headrace {name} - PIL bilinear|: max {diff.max():.3f}, "
            f"mean {diff.mean():.4f}"
        )
    rows = []
    for name, ours, transform, prefetch in (
        ("PIL peer: resize, map(AUTOTUNE).prefetch", hr_scaled, "resize", True),
        ("PIL peer: ImageNet crop, flip, map(AUTOTUNE)", hr_train, "train", False),
        ("PIL peer: resize, both antialiased", hr_antialiased, "resize", True),
    ):
        mine, _ = timed(
            lambda ours=ours, prefetch=prefetch: count_images(
                hr_dataset(pattern, ours, prefetch=prefetch)
            ),
            args.repeats,
        )
        theirs, _ = timed(loader(transform), args.repeats)
        target = ">= 2.5x DataLoader (issue)" if ours is hr_scaled else ""
        result = row(name, mine, theirs, "images/s", target=target)
        result["peer"] = PIL_PEER
        rows.append(result)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--data-dir", type=Path, help="write the JPEGs here (kept) not in /tmp")
    parser.add_argument("--images", type=int, default=2000, help="JPEGs in the corpus")
    parser.add_argument("--kernel-calls", type=int, default=300, help="calls per kernel figure")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["resize", "crop", "approximate", "overhead", "kernels", "pil"],
        default=["resize", "crop", "approximate", "overhead", "kernels", "pil"],
    )
    parser.add_argument("--profile", action="store_true", help="add sub-pipelines")
    parser.add_argument(
        "--pil-start-method",
        choices=["forkserver", "fork"],
        default="forkserver",
        help="how the PIL peer starts its workers (torch forks; see bench/pil_peer.py)",
    )
    args = parser.parse_args()
    tf = load_tf()
    if tf:
        tf.random.set_seed(2026)
    print(f"cores: {os.cpu_count()}  tensorflow: {tf.__version__ if tf else 'not installed'}")
    rng = np.random.default_rng(2026)
    if args.data_dir:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        data = args.data_dir
    else:
        data = Path(tempfile.mkdtemp(prefix="headrace-bench-images-", dir="/tmp"))
    rows: list[dict[str, object]] = []
    try:
        files = make_corpus(data, args.images, rng)
        warm(files)
        size = sum(os.path.getsize(f) for f in files)
        print(
            f"corpus: {len(files):,} JPEGs of {WIDTH}x{HEIGHT}, quality {QUALITY} "
            f"(hr.image.encode_jpeg), {size / len(files) / 1024:.1f} KiB each on average, "
            f"cut from scikit-learn's {' and '.join(SOURCES)}"
        )
        header()
        pattern = str(data / "img-*.jpg")
        if "resize" in args.only:
            rows += resize_figures(args, tf, pattern)
        if "crop" in args.only:
            rows += crop_figures(args, tf, pattern)
        if "approximate" in args.only:
            rows += approximate_figures(args, tf, pattern, files)
        if "overhead" in args.only:
            rows += overhead_figures(args, files)
        if "kernels" in args.only:
            rows += kernel_figures(args, tf, files)
        if "pil" in args.only:
            rows += pil_figures(args, pattern, files)
    finally:
        if not args.data_dir:
            shutil.rmtree(data, ignore_errors=True)
    torch = "installed" if importlib.util.find_spec("torch") else "not installed"
    print(
        f"PyTorch DataLoader (a peer named in the issue): not measured (torch {torch} here); "
        'the "PIL peer" rows measure a stand-in for it (bench/pil_peer.py)'
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
