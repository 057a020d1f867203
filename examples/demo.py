"""A demonstration pipeline on data it generates (``make demo``).

Writes a few hundred small "images" as .npy files with a label in each name, then reads them
the way a tf.data user would: list the files, load and normalise them with a Python function
on engine threads, cache, shuffle, batch and prefetch. Prints the plan, what each epoch
yielded, the throughput and each stage's counters.

Then the same images as tf.train.Examples in TFRecord shards written by headrace, read back
by a pipeline that runs without Python (TFRecordDataset, a traced parse and decode), and what
a damaged shard gives.

Then the seeds' CPU-bound pure-Python function: with threads it is no faster than a
loop (the GIL); headrace's default ``executor="auto"`` measures that and moves it to worker
processes, and ``executor="process"`` asks for them outright.

Last, the image pipeline of the seeds: a folder of JPEGs (one subfolder per class) →
TFRecord shards written by headrace → parse → decode → random_resized_crop → flip →
normalise → batch → prefetch, all traced into native code, printing images/s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import headrace as hr
import numpy as np

NUM_FILES = 512
IMAGE_SHAPE = (32, 32, 3)
BATCH = 64


def make_data(root: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(NUM_FILES):
        label = i % 10
        image = rng.integers(0, 256, size=IMAGE_SHAPE, dtype=np.uint8)
        np.save(root / f"img{i:04d}_label{label}.npy", image)


def load(path: bytes) -> tuple[np.ndarray, np.int64]:
    """Python code: reads the file and normalises it; runs on engine threads."""
    name = path.decode()
    image = np.load(name).astype(np.float32) / 255.0
    label = np.int64(name.rsplit("label", 1)[1].split(".")[0])
    return image, label


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="headrace-demo-") as tmp:
        root = Path(tmp)
        make_data(root)
        print(f"generated {NUM_FILES} images of shape {IMAGE_SHAPE} in {root}")

        ds = (
            hr.Dataset.list_files(str(root / "*.npy"), shuffle=False)
            .map(load, num_parallel_calls=hr.AUTOTUNE)
            .cache()
            .shuffle(256, seed=42)
            .batch(BATCH, drop_remainder=True)
            .prefetch(hr.AUTOTUNE)
        )
        print(f"plan: {ds!r}")
        print(f"batches per epoch: {ds.cardinality()}")

        for epoch in range(3):
            start = time.perf_counter()
            it = iter(ds)
            images = 0
            first_labels = None
            for batch_images, labels in it:
                assert batch_images.shape == (BATCH, *IMAGE_SHAPE)
                assert batch_images.dtype == np.float32
                if first_labels is None:
                    first_labels = labels[:8].tolist()
                images += len(batch_images)
            elapsed = time.perf_counter() - start
            source = "files + Python map" if epoch == 0 else "the in-memory cache"
            print(
                f"epoch {epoch}: {images} images in {elapsed * 1000:.1f} ms "
                f"({images / elapsed:,.0f} images/s, from {source}); "
                f"first labels {first_labels}"
            )
            if epoch == 0:
                for s in it.stats():
                    print(
                        f"    stage {s['stage']:<12} elements={s['elements']:<6} "
                        f"errors={s['errors']}"
                    )

        # Errors are elements: a bad file surfaces at its position, and ignore_errors drops it.
        (root / "img9999_label3.npy").write_bytes(b"not a numpy file")
        robust = (
            hr.Dataset.list_files(str(root / "*.npy"), shuffle=False)
            .map(load, num_parallel_calls=hr.AUTOTUNE)
            .ignore_errors()
        )
        it = iter(robust)
        kept = sum(1 for _ in it)
        dropped = sum(s["dropped_errors"] for s in it.stats())
        print(
            f"with a corrupt file added: {kept} images kept, {dropped} dropped by ignore_errors()"
        )

        tfrecord_demo(root)
        python_demo()
        image_demo(root / "photos")


def tfrecord_demo(root: Path) -> None:
    """Images as Examples in TFRecord shards, parsed and decoded by a traced function."""
    rng = np.random.default_rng(1)
    shards = [str(root / f"train-{k:02d}-of-04.tfrecord") for k in range(4)]
    for k, shard in enumerate(shards):
        with hr.io.TFRecordWriter(shard) as writer:
            for i in range(k, NUM_FILES, 4):
                image = rng.integers(0, 256, size=IMAGE_SHAPE, dtype=np.uint8)
                writer.write(hr.io.serialize_example({"image": image.tobytes(), "label": i % 10}))
    spec = {
        "image": hr.io.FixedLenFeature([], hr.string),
        "label": hr.io.FixedLenFeature([], hr.int64),
    }

    def decode(record: object) -> tuple[object, object]:
        features = hr.io.parse_single_example(record, spec)
        pixels = hr.io.decode_raw(features["image"], hr.uint8)
        image = hr.cast(hr.reshape(pixels, IMAGE_SHAPE), hr.float32) / 255.0
        return image, features["label"]

    files = hr.Dataset.list_files(str(root / "train-*.tfrecord"), shuffle=True, seed=0)
    ds = (
        hr.TFRecordDataset(files, num_parallel_reads=hr.AUTOTUNE)
        .map(decode, num_parallel_calls=hr.AUTOTUNE)
        .batch(BATCH, drop_remainder=True)
        .prefetch(hr.AUTOTUNE)
    )
    print(f"\nTFRecord plan: {ds!r}")
    start = time.perf_counter()
    images = sum(len(batch_images) for batch_images, _ in ds)
    elapsed = time.perf_counter() - start
    print(
        f"read {images} images from {len(shards)} TFRecord shards in {elapsed * 1000:.1f} ms "
        f"({images / elapsed:,.0f} images/s, no Python in the pipeline)"
    )

    # Damage one record of a shard: the records before it are read, then DataLossError
    # names the file, the record and its offset; ignore_errors() reads the other shards.
    damaged = bytearray(Path(shards[1]).read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    Path(shards[1]).write_bytes(bytes(damaged))
    try:
        for _ in hr.TFRecordDataset(shards[1]):
            pass
    except hr.errors.DataLossError as e:
        print(f"a damaged shard: DataLossError: {e}")
    it = iter(hr.TFRecordDataset(shards).ignore_errors())
    kept = sum(1 for _ in it)
    reader = next(s for s in it.stats() if s["stage"] == "TFRecord")
    print(
        f"with ignore_errors(): {kept} records kept; skipped {reader['skipped_files']} file "
        f"({reader['skipped_bytes']} bytes)"
    )


def image_demo(root: Path) -> None:
    """JPEGs in class folders → TFRecord shards → the ImageNet-style training pipeline."""
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:240, 0:320]
    for i in range(120):
        label = f"class{i % 4}"
        (root / label).mkdir(parents=True, exist_ok=True)
        # A smooth picture (JPEG's kind of image): gradients and a disc, varied per image.
        r, g, b = rng.uniform(0.2, 1.0, 3)
        cx, cy = rng.integers(60, 260), rng.integers(60, 180)
        disc = ((xx - cx) ** 2 + (yy - cy) ** 2 < 50**2) * 80
        pixels = np.stack([xx * r * 0.6 + disc, yy * g + disc / 2, (xx + yy) * b * 0.4], -1)
        jpeg = hr.image.encode_jpeg(np.clip(pixels, 0, 255).astype(np.uint8), quality=90)
        (root / label / f"img{i:03d}.jpg").write_bytes(jpeg)

    folder = hr.data.image_folder(root, shuffle=False)
    shards = [str(root / f"images-{k}.tfrecord") for k in range(4)]
    writers = [hr.io.TFRecordWriter(s) for s in shards]
    for k, (path, label) in enumerate(folder):
        record = {"image/encoded": Path(path.decode()).read_bytes(), "label": int(label)}
        writers[k % 4].write(hr.io.serialize_example(record))
    for w in writers:
        w.close()
    print(
        f"\n{len(list(folder))} JPEGs in {len(folder.class_names)} classes → {len(shards)} shards"
    )

    spec = {
        "image/encoded": hr.io.FixedLenFeature([], hr.string),
        "label": hr.io.FixedLenFeature([], hr.int64),
    }

    def train(record: object) -> tuple[object, object]:
        features = hr.io.parse_single_example(record, spec)
        image = hr.image.decode_jpeg(features["image/encoded"], channels=3)
        image = hr.image.random_resized_crop(image, (224, 224), seed=1)
        image = hr.image.random_flip_left_right(image, seed=2)
        image = hr.image.normalize(image, [123.7, 116.3, 103.5], [58.4, 57.1, 57.4])
        return image, features["label"]

    ds = (
        hr.TFRecordDataset(shards)
        .map(train, num_parallel_calls=hr.AUTOTUNE)
        .batch(32)
        .prefetch(hr.AUTOTUNE)
    )
    print(f"image plan: {ds!r}")
    for epoch in range(2):
        start = time.perf_counter()
        images = sum(len(batch) for batch, _ in ds)
        elapsed = time.perf_counter() - start
        rate = images / elapsed
        print(f"epoch {epoch}: {images} images in {elapsed * 1000:.0f} ms ({rate:,.0f} images/s)")


def busy(x: np.int64) -> int:
    """A CPU-bound pure-Python loop (the seeds' example): holds the GIL throughout."""
    t = 0
    for i in range(1_000_000):
        t += i * int(x)
    return t % 1000


def python_demo() -> None:
    elements = 16
    start = time.perf_counter()
    expected = [busy(np.int64(x)) for x in range(elements)]
    serial = time.perf_counter() - start
    print(f"\na CPU-bound Python function over {elements} elements: {serial:.2f} s in a loop")
    for executor in ("thread", "auto", "process"):
        ds = hr.Dataset.range(elements).map(busy, num_parallel_calls=hr.AUTOTUNE, executor=executor)
        start = time.perf_counter()
        assert [int(v) for v in ds] == expected
        elapsed = time.perf_counter() - start
        print(
            f"  map(busy, num_parallel_calls=AUTOTUNE, executor={executor!r}): "
            f"{elapsed:.2f} s ({serial / elapsed:.2f}x the loop)"
        )


if __name__ == "__main__":
    main()
