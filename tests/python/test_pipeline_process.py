"""``Options(pipeline_process=True)`` (issue 6): the whole pipeline in a child process, its
elements handed over through shared memory; and what it rests on, datasets that pickle as
the calls that built them.

Quick on 2 cores: the child forks from the fork server, which has headrace imported."""

from __future__ import annotations

import copy
import gc
import multiprocessing
import os
import pickle
import signal
import threading
import time

import cloudpickle
import headrace as hr
import numpy as np
import pytest
from conftest import backing, needs_dev_shm, run_python, shm_entries
from headrace import _pipeline_process, _process
from headrace.dataset import Dataset

pytestmark = pytest.mark.timeout(30)

PROCESS = hr.Options(pipeline_process=True)


# ---------------------------------------------------------------- helpers


def same(a, b, where="element"):
    """Asserts two elements are equal: structure, types, dtypes and values."""
    if isinstance(a, tuple | list):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), f"{where}: {a!r} != {b!r}"
        for k in a:
            same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, np.ndarray | np.generic):
        assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), f"{where}: {a!r} != {b!r}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def same_elements(got, expected, name="pipeline"):
    assert len(got) == len(expected), (name, len(got), len(expected))
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        same(g, e, f"{name}: element {i}")


def pipeline_children() -> list:
    return [p for p in multiprocessing.active_children() if p.name == "headrace-pipeline"]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, reaped or not by its new parent, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def assert_clean(pids=(), timeout=5.0):
    """No pipeline child of this process, none of ``pids`` alive, no segment of ours."""
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        left = [p for p in pids if alive(p)]
        if not left and not pipeline_children() and not shm_entries():
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"left behind: processes {left} {pipeline_children()}, "
                f"segments {sorted(shm_entries())}"
            )
        time.sleep(0.02)


def write_tfrecord(path, records):
    with hr.io.TFRecordWriter(str(path)) as w:
        for r in records:
            w.write(r)
    return str(path)


def double(x):
    return x * 2


class Odd(Exception):
    """A picklable exception of this module's own."""


def fail_at_3(x):
    if x == 3:
        raise Odd(f"element {int(x)} is odd")
    return x


def slow(x):
    time.sleep(0.02)
    return x


# ---------------------------------------------------------------- recipes


def pipelines(tmp_path):
    """A spread of pipelines: sources, traced and Python functions, and the transformations."""
    k = 3
    images = np.arange(4 * 8 * 8 * 3, dtype=np.float32).reshape(4, 8, 8, 3)
    tfrecord = write_tfrecord(tmp_path / "a.tfrecord", [b"rec%d" % i for i in range(5)])
    text = tmp_path / "lines.txt"
    text.write_text("one\ntwo\nthree\n")
    fixed = tmp_path / "fixed.bin"
    fixed.write_bytes(bytes(range(24)))
    for name in ("b.txt", "a.txt"):
        (tmp_path / "listed").mkdir(exist_ok=True)
        (tmp_path / "listed" / name).write_text("x")
    for cls in ("cat", "dog"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        (tmp_path / "imgs" / cls / f"{cls}.png").write_bytes(b"x")

    def gen():
        for i in range(4):
            yield i, np.full((i + 1,), i, np.int32)

    r = hr.Dataset.range
    return {
        "range": r(10),
        "range_dtype": r(2, 12, 3, dtype=hr.int32),
        "from_tensors": hr.Dataset.from_tensors({"a": np.eye(3), "b": b"text"}),
        "slices": hr.Dataset.from_tensor_slices((images, np.arange(4))),
        "strings": hr.Dataset.from_tensor_slices([b"a", b"bc", b"def"]),
        "generator": hr.Dataset.from_generator(
            gen,
            output_signature=(hr.TensorSpec([], hr.int64), hr.TensorSpec([None], hr.int32)),
        ),
        "list_files": hr.Dataset.list_files(str(tmp_path / "listed" / "*.txt"), shuffle=False),
        "map_traced": r(8).map(lambda x: x * k + 1),
        "map_traced_fused": r(8).map(lambda x: x + 1).map(lambda x: x * 2),
        "map_python": r(8).map(lambda x: int(x) * k, trace=False),
        "map_parallel": r(8).map(double, num_parallel_calls=2, trace=False),
        "filter_traced": r(10).filter(lambda x: x % 3 == 0),
        "filter_python": r(10).filter(lambda x: int(x) % 2 == 0, trace=False),
        "flat_map": r(4).flat_map(lambda x: hr.Dataset.range(x)),
        "interleave": r(4).interleave(
            lambda x: hr.Dataset.from_tensors(x).repeat(2), cycle_length=2, block_length=1
        ),
        "interleave_python": r(3).interleave(
            lambda x: hr.Dataset.range(int(x) + 1), cycle_length=2, trace=False
        ),
        "batch": r(10).batch(4),
        "batch_drop": r(10).batch(4, drop_remainder=True),
        "padded_batch": r(5).map(lambda x: hr.fill([x], x)).padded_batch(2, padded_shapes=[4]),
        "unbatch": r(6).batch(4).unbatch(),
        "shuffle_seed": r(20).shuffle(8, seed=4),
        "repeat_take_skip": r(5).repeat(3).skip(2).take(9),
        "shard_enumerate": r(10).shard(3, 1).enumerate(start=5),
        "zip": hr.Dataset.zip((r(4), r(10, 20))),
        "zip_dict": hr.Dataset.zip({"x": r(3), "y": r(3).map(double, trace=False)}),
        "concatenate": r(3).concatenate(r(7, 9)),
        "prefetch_cache": r(6).cache().prefetch(2),
        "ignore_errors": r(6).map(fail_at_3, trace=False).ignore_errors(),
        "with_options": r(6).with_options(hr.Options(deterministic=False)),
        "tfrecord": hr.TFRecordDataset(tfrecord),
        "tfrecord_of_files": hr.TFRecordDataset(hr.Dataset.from_tensor_slices([tfrecord] * 2)),
        "tfrecord_interleave": hr.Dataset.from_tensor_slices([tfrecord, tfrecord]).interleave(
            lambda f: hr.TFRecordDataset(f), cycle_length=2
        ),
        "text_lines": hr.TextLineDataset(str(text)),
        "fixed_length": hr.FixedLengthRecordDataset(str(fixed), 4, header_bytes=4),
        "image_folder": hr.data.image_folder(tmp_path / "imgs", shuffle=False),
    }


def test_datasets_pickle_as_their_recipe_and_rebuild_the_same_pipeline(tmp_path):
    for name, ds in pipelines(tmp_path).items():
        rebuilt = pickle.loads(cloudpickle.dumps(ds))
        again = pickle.loads(cloudpickle.dumps(rebuilt))  # a rebuilt dataset pickles too
        assert type(rebuilt) is type(ds), name
        assert repr(rebuilt) == repr(ds), name
        # (First iterations each: a shuffle draws a new order for each iteration.)
        expected = list(ds)
        same_elements(list(rebuilt), expected, name)
        same_elements(list(again), expected, name)
    folder = pickle.loads(cloudpickle.dumps(hr.data.image_folder(tmp_path / "imgs")))
    assert folder.class_names == ["cat", "dog"]


def test_every_public_dataset_method_records_its_call():
    for name, attr in vars(Dataset).items():
        fn = attr.__func__ if isinstance(attr, staticmethod) else attr
        if name.startswith("_") or not callable(fn):
            continue
        if getattr(fn, "__annotations__", {}).get("return") == "Dataset":
            assert hasattr(fn, "__wrapped__"), f"Dataset.{name} does not record its calls"
    ds = hr.Dataset.range(4).map(double, num_parallel_calls=2, trace=False)
    fn, args, kwargs = ds._recipe
    assert (
        fn is Dataset.map
        and args[1] is double
        and kwargs == {"num_parallel_calls": 2, "trace": False}
    )


def test_large_source_arrays_are_not_kept_alive_and_are_read_back_to_pickle():
    import weakref

    images = np.random.default_rng(0).random((300, 32, 32), np.float32)  # 1.2 MB
    labels = np.arange(300) % 7
    ref = weakref.ref(images)
    slices = hr.Dataset.from_tensor_slices({"image": images, "label": labels})
    whole = hr.Dataset.from_tensors((images, b"tag"))  # bytes: recorded as given
    del images
    gc.collect()
    assert whole._recipe[1][0][0] is ref()  # kept by the dataset that records it
    del whole
    gc.collect()
    assert ref() is None, "the engine has its own copy; the recipe must not keep another"
    rebuilt = pickle.loads(cloudpickle.dumps(slices.batch(64)))
    same_elements(list(rebuilt), list(slices.batch(64)))
    one = hr.Dataset.from_tensors(np.zeros((600, 600), np.float32))
    same_elements(list(pickle.loads(cloudpickle.dumps(one))), list(one))


def test_a_dataset_without_recipe_names_what_it_was_built_from():
    ds = Dataset(hr.Dataset.range(3)._native)
    with pytest.raises(TypeError, match="native dataset directly"):
        pickle.dumps(ds)
    # A pipeline built on it cannot cross processes either, and iterating says why.
    with pytest.raises(TypeError, match="pipeline_process"):
        iter(ds.with_options(PROCESS))


def test_copies_are_the_same_immutable_dataset():
    ds = hr.Dataset.range(3).map(lambda x: x + 1)
    assert copy.copy(ds) is ds and copy.deepcopy(ds) is ds


# ---------------------------------------------------------------- the child process


def test_options_merge_and_report_pipeline_process():
    ds = hr.Dataset.range(3).with_options(PROCESS).with_options(hr.Options(deterministic=False))
    assert ds.options() == hr.Options(pipeline_process=True, deterministic=False)
    assert hr.Dataset.range(3).with_options(PROCESS).with_options(
        hr.Options(pipeline_process=False)
    ).options() == hr.Options(pipeline_process=False)
    with pytest.raises(TypeError, match="pipeline_process"):
        hr.Options(pipeline_process=1)


def test_elements_equal_the_in_process_pipeline(tmp_path):
    rng = np.random.default_rng(6)
    big = rng.random((6, 128, 128, 3), dtype=np.float32)  # 192 KiB each: shared memory
    small = rng.integers(0, 9, (6, 5), dtype=np.int64)
    cases = {
        "scalars": hr.Dataset.range(20),
        "tuples": hr.Dataset.from_tensor_slices((big, small, [b"s%d" % i for i in range(6)])),
        "dicts": hr.Dataset.from_tensor_slices({"image": big, "label": np.arange(6)}),
        "python_map": hr.Dataset.from_tensor_slices(big).map(
            lambda a: {"x": a * 2, "n": float(a[0, 0, 0])}, trace=False
        ),
        "batches": hr.Dataset.from_tensor_slices((big, small)).repeat(3).batch(4),
        "strings_batched": hr.Dataset.from_tensor_slices([b"a", b"bc", b"def"]).batch(2),
        "padded": hr.Dataset.range(5).map(lambda x: hr.fill([x], x)).padded_batch(2),
        "tfrecord": hr.TFRecordDataset(write_tfrecord(tmp_path / "r.tfrecord", [b"x", b"yz"])),
        "empty": hr.Dataset.range(0),
    }
    for name, ds in cases.items():
        expected = list(ds)
        got = list(ds.with_options(PROCESS))
        same_elements(got, expected)
        assert isinstance(iter(ds.with_options(PROCESS)), _pipeline_process.PipelineProcessIterator)
        assert not isinstance(iter(ds), _pipeline_process.PipelineProcessIterator), name
    assert_clean()


@needs_dev_shm
def test_arrays_are_views_of_shared_memory_and_kept_ones_never_change():
    images = np.stack([np.full((128, 128, 3), i, np.float32) for i in range(12)])
    ds = hr.Dataset.from_tensor_slices(images).with_options(PROCESS)
    owners = []
    for x in ds:
        owners.append(backing(x))
    # The first element comes through the pipe (it tells the size segments need).
    assert owners[0] != "mmap" and set(owners[1:]) == {"mmap"}, owners
    # Elements kept while iterating stay intact: a segment is lent again only when free.
    kept = list(ds)
    for i, x in enumerate(kept):
        assert (x == i).all(), i
    assert sum(backing(x) == "mmap" for x in kept) == _pipeline_process._SEGMENTS
    assert_clean()
    np.testing.assert_array_equal(kept[2], images[2])  # still readable after unlinking


def test_growing_elements_get_larger_segments():
    sizes = [300, 20, 2_000, 50, 4_000, 100]  # KiB-ish
    arrays = [np.full(s * 256, s, dtype=np.float32) for s in sizes]
    ds = hr.Dataset.from_generator(
        lambda: iter(arrays), output_signature=hr.TensorSpec([None], hr.float32)
    )
    got = list(ds.with_options(PROCESS))
    same_elements(got, arrays)
    assert_clean()


def test_errors_are_raised_at_their_element_and_iteration_goes_on():
    ds = hr.Dataset.range(6).map(fail_at_3, trace=False).with_options(PROCESS)
    it = iter(ds)
    assert [int(next(it)) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(Odd, match="element 3 is odd") as info:
        next(it)
    assert "fail_at_3" in "".join(getattr(info.value, "__notes__", []))
    assert [int(x) for x in it] == [4, 5]
    # An engine error (shapes that cannot be batched) keeps its hr.errors type.
    ragged = hr.Dataset.range(1, 4).map(lambda x: hr.fill([x], x)).batch(3)
    with pytest.raises(hr.errors.InvalidArgumentError) as native:
        list(ragged)
    with pytest.raises(hr.errors.InvalidArgumentError) as child:
        list(ragged.with_options(PROCESS))
    assert str(child.value) == str(native.value)
    assert_clean()


def test_an_unpicklable_function_fails_when_iterating_starts():
    lock = threading.Lock()
    ds = hr.Dataset.range(3).map(lambda x: (lock, x)[1], trace=False)
    with pytest.raises(TypeError, match="pipeline_process.*picklable"):
        iter(ds.with_options(PROCESS))
    assert [int(x) for x in ds] == [0, 1, 2]
    assert_clean()


def test_an_element_that_cannot_be_pickled_is_an_error_at_its_position():
    # (Engine elements are tensors, which always pickle: this guards the message itself.)
    kind, packed = pickle.loads(_pipeline_process._element_message(threading.Lock(), None, None, 1))
    assert kind == "error"
    with pytest.raises(TypeError, match="position 1 cannot be pickled"):
        raise _process._rebuild_exception(packed)


def test_a_killed_child_gives_worker_error_then_the_end():
    ds = hr.Dataset.range(1000).map(slow, trace=False).with_options(PROCESS)
    it = iter(ds)
    assert int(next(it)) == 0
    os.kill(it.pid, signal.SIGKILL)
    got = []
    start = time.monotonic()
    with pytest.raises(hr.errors.WorkerError, match=r"child process .* died \(killed by SIGKILL\)"):
        while True:
            got.append(int(next(it)))
    assert time.monotonic() - start < 5
    assert got == list(range(1, len(got) + 1))  # what it had sent before, in order
    with pytest.raises(StopIteration):
        next(it)
    assert_clean([it.pid])


def test_no_child_or_segment_outlives_its_iterator():
    images = np.zeros((50, 128, 128, 3), np.float32)
    ds = hr.Dataset.from_tensor_slices(images).map(slow, trace=False).with_options(PROCESS)

    # Iterated to the end.
    it = iter(hr.Dataset.from_tensor_slices(images[:4]).with_options(PROCESS))
    assert len(list(it)) == 4
    assert_clean([it.pid])

    # Dropped in the middle.
    it = iter(ds)
    next(it), next(it)
    pid = it.pid
    assert alive(pid) and shm_entries()
    del it
    assert_clean([pid])

    # Closed in the middle of a slow element.
    it = iter(
        hr.Dataset.range(10)
        .map(lambda x: (time.sleep(0.5), x)[1], trace=False)
        .with_options(PROCESS)
    )
    next(it)
    start = time.monotonic()
    it.close()
    assert time.monotonic() - start < 3
    assert_clean([it.pid])
    with pytest.raises(StopIteration):
        next(it)

    # An exception in the consumer.
    def consume():
        for i, _ in enumerate(ds):
            if i == 3:
                raise ValueError("consumer failed")

    with pytest.raises(ValueError, match="consumer failed"):
        consume()
    assert_clean()

    # The interpreter-exit hook (atexit) closes what is still open.
    it = iter(ds)
    next(it)
    from headrace import dataset

    dataset._close_live_iterators()
    assert_clean([it.pid])


def test_stats_come_from_the_child_pipeline():
    ds = hr.Dataset.range(10).map(fail_at_3, trace=False).ignore_errors().with_options(PROCESS)
    it = iter(ds)
    assert int(next(it)) == 0
    stats = it.stats()
    assert {s["stage"] for s in stats} >= {"Range"}
    assert list(it) == [1, 2, 4, 5, 6, 7, 8, 9]  # elements received during stats() kept
    final = it.stats()
    ignore = next(s for s in final if s["dropped_errors"])
    assert ignore["dropped_errors"] == 1 and ignore["elements"] == 9


def test_worker_processes_inside_the_pipeline_process():
    ds = hr.Dataset.range(8).map(double, num_parallel_calls=2, executor="process", trace=False)
    assert [int(x) for x in ds.with_options(PROCESS)] == [2 * i for i in range(8)]
    assert_clean()


def test_threads_can_share_an_iterator():
    it = iter(hr.Dataset.range(200).with_options(PROCESS))
    got = []

    def drain():
        for x in it:
            got.append(int(x))

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(200))
    assert_clean()


# ---------------------------------------------------------------- a fresh interpreter

CHILD = r"""
import os, signal, sys, threading, time
import numpy as np
import headrace as hr

mode = sys.argv[1] if len(sys.argv) > 1 else MODE
image = np.zeros((128, 128, 3), np.float32)
ds = hr.Dataset.from_tensors(image).repeat(1000).map(
    lambda x: (time.sleep(0.005), x)[1], trace=False
).with_options(hr.Options(pipeline_process=True))
it = iter(ds)
next(it)
print("parent", os.getpid(), "child", it.pid, flush=True)
if mode == "sigint":
    threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    try:
        for _ in it:
            pass
    except KeyboardInterrupt:
        print("interrupted", flush=True)
elif mode == "exception":
    try:
        for i, _ in enumerate(it):
            if i == 5:
                raise ValueError("consumer failed")
    except ValueError:
        print("raised", flush=True)
elif mode == "exit":
    next(it)
    sys.exit(0)  # the iterator still open: the atexit hook ends the child
elif mode == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
print("done", flush=True)
"""


@needs_dev_shm
@pytest.mark.parametrize("mode", ["exit", "sigint", "exception", "killed"])
def test_nothing_outlives_the_interpreter(mode):
    result = run_python(f"MODE = {mode!r}\n" + CHILD, timeout=25)
    lines = result.stdout.split()
    parent, pid = int(lines[lines.index("parent") + 1]), int(lines[lines.index("child") + 1])
    if mode == "killed":
        assert result.returncode == -signal.SIGKILL
    else:
        assert result.returncode == 0, result.stderr
        assert ("done" in result.stdout) == (mode != "exit")
        assert "Traceback" not in result.stderr, result.stderr
        assert "resource_tracker" not in result.stderr, result.stderr
    if mode == "sigint":
        assert "interrupted" in result.stdout
    # The child and the segments end with the interpreter; a killed parent's child ends on
    # its own (its pipe closed), and the resource tracker unlinks the segments.
    deadline = time.monotonic() + 10
    while (alive(pid) or shm_entries(parent)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), f"the pipeline's child process {pid} outlived its interpreter"
    assert not shm_entries(parent), sorted(shm_entries(parent))


def test_each_iteration_draws_anew_as_the_pipeline_in_process_does():
    """A reshuffling shuffle and seeded random ops give each iteration its own order and
    values; the child's copy catches up with the iterations the dataset had, so iterating in
    a child process gives what iterating here gives, iteration by iteration."""

    def build():
        return (
            hr.Dataset.range(30)
            .shuffle(30, seed=4)
            .map(lambda x: (x, hr.random.uniform([], seed=2)))
            .filter(lambda x, r: hr.random.uniform([], seed=3) < 0.7)
        )

    here = build()
    there = build().with_options(PROCESS)
    runs = [list(here) for _ in range(3)]
    assert runs[0] != runs[1] and runs[1] != runs[2]
    for run in runs:
        same_elements(list(there), run)
