"""Sources: range, from_tensor_slices, from_tensors, from_generator, list_files."""

from __future__ import annotations

import headrace as hr
import numpy as np
import pytest
from conftest import values

# ---------------------------------------------------------------------------- range


@pytest.mark.parametrize(
    "args",
    [(5,), (0,), (-3,), (2, 10), (2, 10, 3), (10, 0, -3), (5, 2), (-4, 4, 2), (3, 3), (0, 7, 7)],
)
def test_range_matches_python_range(args):
    ds = hr.Dataset.range(*args)
    expected = list(range(*args))
    assert values(ds) == expected
    assert ds.cardinality() == len(expected)


def test_range_yields_int64_numpy_scalars():
    items = list(hr.Dataset.range(3))
    assert all(type(x) is np.int64 for x in items)
    assert hr.Dataset.range(3).element_spec == hr.TensorSpec((), hr.int64)


def test_range_large_values_do_not_overflow():
    start = 2**62
    assert values(hr.Dataset.range(start, start + 3)) == [start, start + 1, start + 2]


@pytest.mark.parametrize(
    ("dtype", "numpy_type"),
    [(hr.int32, np.int32), (hr.float32, np.float32), (hr.float64, np.float64), ("uint8", np.uint8)],
)
def test_range_with_dtype(dtype, numpy_type):
    items = list(hr.Dataset.range(1, 4, dtype=dtype))
    assert [type(x) for x in items] == [numpy_type] * 3
    assert [x.item() for x in items] == [1, 2, 3]


def test_range_step_zero_is_a_value_error_naming_step():
    with pytest.raises(ValueError, match="step"):
        hr.Dataset.range(0, 10, 0)


@pytest.mark.parametrize("bad", [(), (1, 2, 3, 4)])
def test_range_wrong_argument_count(bad):
    with pytest.raises(TypeError):
        hr.Dataset.range(*bad)


@pytest.mark.parametrize("bad", ["5", 2.5, True, None])
def test_range_non_int_is_a_type_error_naming_stop(bad):
    with pytest.raises(TypeError, match="stop"):
        hr.Dataset.range(bad)


# ---------------------------------------------------------------------------- from_tensor_slices


def test_from_tensor_slices_rows_of_an_array_keep_dtype_and_shape():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64, np.int8, np.uint16, np.int64, np.bool_):
        x = (rng.standard_normal((6, 3, 2)) * 10).astype(dtype)
        rows = list(hr.Dataset.from_tensor_slices(x))
        assert len(rows) == 6
        for i, row in enumerate(rows):
            assert isinstance(row, np.ndarray)
            assert row.dtype == dtype
            assert row.shape == (3, 2)
            np.testing.assert_array_equal(row, x[i])


def test_from_tensor_slices_of_a_vector_yields_numpy_scalars():
    x = np.array([4, 5, 6], dtype=np.int16)
    items = list(hr.Dataset.from_tensor_slices(x))
    assert [type(v) for v in items] == [np.int16] * 3
    assert [int(v) for v in items] == [4, 5, 6]


@pytest.mark.parametrize(
    ("literal", "numpy_type", "expected"),
    [
        ([1, 2, 3], np.int32, [1, 2, 3]),
        ([1, 2**40], np.int64, [1, 2**40]),
        ([1.5, -2.25], np.float32, [1.5, -2.25]),
        ([True, False], np.bool_, [True, False]),
    ],
)
def test_from_tensor_slices_of_python_lists_follows_tf_constant(literal, numpy_type, expected):
    items = list(hr.Dataset.from_tensor_slices(literal))
    assert [type(v) for v in items] == [numpy_type] * len(expected)
    assert [v.item() for v in items] == expected


def test_from_tensor_slices_nested_list_gives_rows():
    ds = hr.Dataset.from_tensor_slices([[1, 2], [3, 4], [5, 6]])
    rows = list(ds)
    assert [r.dtype for r in rows] == [np.int32] * 3
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    assert ds.element_spec == hr.TensorSpec((2,), hr.int32)


def test_from_tensor_slices_of_strings_yields_bytes():
    assert list(hr.Dataset.from_tensor_slices(["a", "bc", "héllo"])) == [
        b"a",
        b"bc",
        "héllo".encode(),
    ]
    assert list(hr.Dataset.from_tensor_slices([b"x", b"yz"])) == [b"x", b"yz"]
    # Trailing NUL bytes are kept (numpy's fixed-width strings would drop them), as in tf.
    assert list(hr.Dataset.from_tensor_slices([b"ab\0", b"\0"])) == [b"ab\0", b"\0"]
    assert list(hr.Dataset.from_tensor_slices(["a\0", "b"])) == [b"a\0", b"b"]
    rows = list(hr.Dataset.from_tensor_slices([[b"a\0", b"c"], [b"d", b""]]))
    assert [list(r) for r in rows] == [[b"a\0", b"c"], [b"d", b""]]


def test_from_tensor_slices_tuple_and_dict():
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    y = np.array([0, 1, 0, 1], dtype=np.int64)
    items = list(hr.Dataset.from_tensor_slices((x, y)))
    assert len(items) == 4
    for i, (a, b) in enumerate(items):
        np.testing.assert_array_equal(a, x[i])
        assert b == y[i] and type(b) is np.int64

    d = list(hr.Dataset.from_tensor_slices({"feat": x, "label": y, "name": ["a", "b", "c", "d"]}))
    assert len(d) == 4
    for i, e in enumerate(d):
        assert set(e) == {"feat", "label", "name"}
        np.testing.assert_array_equal(e["feat"], x[i])
        assert e["label"] == y[i]
        assert e["name"] == "abcd"[i].encode()


def test_from_tensor_slices_nested_structure():
    ds = hr.Dataset.from_tensor_slices(({"a": np.arange(3)}, (np.arange(3) * 2, np.arange(3) * 3)))
    assert values(ds) == [({"a": i}, (2 * i, 3 * i)) for i in range(3)]


def test_from_tensor_slices_cardinality_and_empty():
    assert hr.Dataset.from_tensor_slices(np.zeros((7, 2))).cardinality() == 7
    empty = hr.Dataset.from_tensor_slices(np.zeros((0, 3), dtype=np.float32))
    assert empty.cardinality() == 0
    assert list(empty) == []


def test_from_tensor_slices_mismatched_first_dimensions_fail():
    with pytest.raises((ValueError, hr.errors.InvalidArgumentError)):
        list(hr.Dataset.from_tensor_slices((np.zeros(3), np.zeros(4))))


def test_from_tensor_slices_of_a_scalar_fails():
    with pytest.raises((ValueError, hr.errors.InvalidArgumentError)):
        list(hr.Dataset.from_tensor_slices(np.float32(3.0)))


def test_from_tensor_slices_copies_its_input():
    x = np.arange(5, dtype=np.int64)
    ds = hr.Dataset.from_tensor_slices(x)
    x[:] = -1
    assert values(ds) == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------- from_tensors


def test_from_tensors_is_one_element():
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    ds = hr.Dataset.from_tensors(x)
    assert ds.cardinality() == 1
    items = list(ds)
    assert len(items) == 1
    assert items[0].dtype == np.float64 and items[0].shape == (3, 4)
    np.testing.assert_array_equal(items[0], x)


@pytest.mark.parametrize(
    ("value", "check"),
    [
        (5, lambda v: type(v) is np.int32 and v == 5),
        (2**33, lambda v: type(v) is np.int64 and v == 2**33),
        (-(2**31), lambda v: type(v) is np.int32 and v == -(2**31)),
        (2**31, lambda v: type(v) is np.int64 and v == 2**31),
        (1.25, lambda v: type(v) is np.float32 and v == 1.25),
        (True, lambda v: type(v) is np.bool_ and bool(v) is True),
        ("hi", lambda v: v == b"hi" and type(v) is bytes),
        (b"\x00\xff", lambda v: v == b"\x00\xff" and type(v) is bytes),
        (np.float64(0.5), lambda v: type(v) is np.float64 and v == 0.5),
        (np.uint8(200), lambda v: type(v) is np.uint8 and v == 200),
    ],
)
def test_from_tensors_scalars(value, check):
    (item,) = list(hr.Dataset.from_tensors(value))
    assert check(item), repr(item)


def test_from_tensors_structure():
    ds = hr.Dataset.from_tensors((1, [1.0, 2.0], {"s": "x", "v": np.zeros(2, np.uint8)}))
    (item,) = list(ds)
    a, b, c = item
    assert type(a) is np.int32 and a == 1
    assert b.dtype == np.float32 and b.tolist() == [1.0, 2.0]
    assert c["s"] == b"x"
    assert c["v"].dtype == np.uint8 and c["v"].tolist() == [0, 0]


def test_from_tensors_repeats_the_same_value():
    ds = hr.Dataset.from_tensors(np.array([1, 2], np.int64)).repeat(3)
    assert values(ds) == [[1, 2]] * 3


# ---------------------------------------------------------------------------- from_generator


def test_from_generator_with_output_signature_converts_dtypes():
    def gen():
        for i in range(4):
            yield i, [float(i)] * i

    sig = (hr.TensorSpec((), hr.int64), hr.TensorSpec((None,), hr.float64))
    ds = hr.Dataset.from_generator(gen, output_signature=sig)
    assert ds.element_spec == sig
    items = list(ds)
    assert len(items) == 4
    for i, (a, b) in enumerate(items):
        assert type(a) is np.int64 and a == i
        assert b.dtype == np.float64 and b.shape == (i,)
        assert b.tolist() == [float(i)] * i


def test_from_generator_dict_signature():
    def gen():
        yield {"x": 1, "name": "a"}
        yield {"x": 2, "name": "bb"}

    sig = {"x": hr.TensorSpec((), hr.int16), "name": hr.TensorSpec((), hr.string)}
    items = list(hr.Dataset.from_generator(gen, output_signature=sig))
    assert [type(e["x"]) for e in items] == [np.int16, np.int16]
    assert [(int(e["x"]), e["name"]) for e in items] == [(1, b"a"), (2, b"bb")]


def test_from_generator_without_signature_keeps_types():
    def gen():
        yield 1
        yield np.float64(2.5)

    ds = hr.Dataset.from_generator(gen)
    a, b = list(ds)
    assert type(a) is np.int32 and a == 1
    assert type(b) is np.float64 and b == 2.5


def test_from_generator_legacy_output_types_and_shapes():
    def gen():
        yield np.arange(3), 7

    ds = hr.Dataset.from_generator(gen, output_types=(hr.int32, hr.int64), output_shapes=((3,), ()))
    ((a, b),) = list(ds)
    assert a.dtype == np.int32 and a.tolist() == [0, 1, 2]
    assert type(b) is np.int64 and b == 7
    assert ds.element_spec == (hr.TensorSpec((3,), hr.int32), hr.TensorSpec((), hr.int64))


def test_from_generator_args_and_called_anew_each_epoch():
    calls = []

    def gen(n, scale):
        calls.append((n, scale))
        for i in range(n):
            yield i * scale

    ds = hr.Dataset.from_generator(
        gen, args=(3, 10), output_signature=hr.TensorSpec((), hr.int64)
    ).repeat(2)
    assert values(ds) == [0, 10, 20, 0, 10, 20]
    assert calls == [(3, 10), (3, 10)]
    assert values(ds) == [0, 10, 20, 0, 10, 20]
    assert len(calls) == 4


def test_from_generator_cardinality_is_unknown():
    ds = hr.Dataset.from_generator(
        lambda: iter([1, 2]), output_signature=hr.TensorSpec((), hr.int32)
    )
    assert ds.cardinality() == hr.UNKNOWN_CARDINALITY


def test_from_generator_shape_mismatch_is_a_value_error_at_the_element():
    def gen():
        yield np.zeros(3)
        yield np.zeros(4)

    ds = hr.Dataset.from_generator(gen, output_signature=hr.TensorSpec((3,), hr.float32))
    it = iter(ds)
    first = next(it)
    assert first.shape == (3,) and first.dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        next(it)


def test_from_generator_rejects_signature_and_types_together():
    with pytest.raises(TypeError):
        hr.Dataset.from_generator(
            lambda: iter([]), output_types=hr.int32, output_signature=hr.TensorSpec((), hr.int32)
        )


def test_from_generator_non_callable():
    with pytest.raises(TypeError, match="generator"):
        hr.Dataset.from_generator([1, 2, 3])


# ---------------------------------------------------------------------------- list_files


@pytest.fixture
def files(tmp_path):
    paths = []
    for i in range(20):
        p = tmp_path / f"f{i:02d}.txt"
        p.write_text(str(i))
        paths.append(p)
    (tmp_path / "other.bin").write_bytes(b"")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "deep.txt").write_text("x")
    return tmp_path, sorted(str(p).encode() for p in paths)


def test_list_files_unshuffled_is_sorted_bytes(files):
    root, expected = files
    got = list(hr.Dataset.list_files(str(root / "*.txt"), shuffle=False))
    assert all(type(p) is bytes for p in got)
    assert got == expected  # also: '*' does not descend into sub/


def test_list_files_several_patterns(files):
    root, expected = files
    got = list(hr.Dataset.list_files([str(root / "f0*.txt"), str(root / "*.bin")], shuffle=False))
    want = [p for p in expected if b"/f0" in p] + [str(root / "other.bin").encode()]
    assert sorted(got) == sorted(want)
    assert len(got) == len(want)


def test_list_files_seeded_shuffle_repeats_and_is_a_permutation(files):
    root, expected = files
    pattern = str(root / "*.txt")
    a = list(hr.Dataset.list_files(pattern, shuffle=True, seed=7))
    b = list(hr.Dataset.list_files(pattern, shuffle=True, seed=7))
    assert a == b
    assert sorted(a) == expected
    assert a != expected  # 20 files: a seeded shuffle that keeps the order is (1/20!) absurd


def test_list_files_shuffles_by_default_and_each_epoch(files):
    root, expected = files
    ds = hr.Dataset.list_files(str(root / "*.txt"))
    first, second = list(ds), list(ds)
    assert sorted(first) == expected and sorted(second) == expected
    assert first != expected
    assert first != second


def test_list_files_no_match_is_invalid_argument(tmp_path):
    with pytest.raises(hr.errors.InvalidArgumentError):
        list(hr.Dataset.list_files(str(tmp_path / "*.nothing"), shuffle=False))
