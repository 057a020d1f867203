"""Tracing: functions built from hr ops become native graphs; anything else runs as Python."""

import time

import headrace as hr
import numpy as np
import pytest


def values(ds):
    return [np.asarray(x).tolist() if not isinstance(x, tuple | dict) else x for x in ds]


def is_traced(ds):
    return "(traced" in repr(ds)


def test_arithmetic_lambda_is_traced_and_matches_python():
    ds = hr.Dataset.range(20).map(lambda x: x * 2 + 1)
    assert is_traced(ds)
    assert values(ds) == [x * 2 + 1 for x in range(20)]
    assert ds.element_spec == hr.TensorSpec((), hr.int64)


def test_traced_map_after_batch_runs_on_the_whole_batch():
    ds = hr.Dataset.range(10).batch(4).map(lambda x: hr.cast(x, hr.float32) / 2)
    assert is_traced(ds)
    assert ds.element_spec == hr.TensorSpec((None,), hr.float32)
    got = list(ds)
    assert [g.dtype for g in got] == [np.float32] * 3
    np.testing.assert_array_equal(np.concatenate(got), np.arange(10, dtype=np.float32) / 2)


def test_structures_in_and_out():
    ds = hr.Dataset.from_tensor_slices(
        {"a": np.arange(4, dtype=np.int32), "b": np.arange(4, dtype=np.float64)}
    ).map(lambda d: (d["a"] + 1, {"twice": d["b"] * 2, "big": d["a"] > 1}))
    assert is_traced(ds)
    spec = ds.element_spec
    assert spec[0] == hr.TensorSpec((), hr.int32)
    assert spec[1]["big"] == hr.TensorSpec((), hr.bool)
    first = next(iter(ds))
    assert first[0] == 1 and first[1]["twice"] == 0.0 and not first[1]["big"]


def test_tuple_components_are_positional_arguments():
    ds = hr.Dataset.zip(hr.Dataset.range(3), hr.Dataset.range(10, 13)).map(
        lambda a, b: hr.math.maximum(a, b) - a
    )
    assert is_traced(ds)
    assert values(ds) == [10, 10, 10]


def test_helper_functions_and_constants_are_traced_through():
    scale = np.float32(0.5)

    def normalise(x):
        return (hr.cast(x, hr.float32) - 1.0) * scale

    ds = hr.Dataset.range(3).map(normalise)
    assert is_traced(ds)
    np.testing.assert_allclose(values(ds), [-0.5, 0.0, 0.5])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: np.sqrt(x),  # numpy
        lambda x: x if x > 0 else -x,  # Python control flow on a traced value
        lambda x: time.sleep(0) or x,  # a function outside hr
        lambda x: int(x) + 1,
    ],
)
def test_other_functions_run_as_python_with_the_same_results(fn):
    ds = hr.Dataset.range(4).map(fn)
    assert "(python)" in repr(ds)
    assert values(ds) == [np.asarray(fn(np.int64(i))).tolist() for i in range(4)]


def test_functions_with_effects_are_not_called_at_map_time():
    calls = []
    ds = hr.Dataset.range(3).map(lambda x: calls.append(1) or x)
    assert calls == []
    assert "(python)" in repr(ds)
    assert values(ds) == [0, 1, 2] and len(calls) == 3


def test_a_python_loop_over_a_traced_value_runs_as_python_not_unrolled():
    # The CPU-bound loop: only builtins, so the tracer tries it; each iteration
    # would add ops. Past MAX_TRACED_OPS it gives up at once and the function runs as Python.
    def busy(x):
        t = 0
        for i in range(2_000_000):
            t += i * x
        return t % 1000

    start = time.perf_counter()
    ds = hr.Dataset.range(2).map(busy)
    assert time.perf_counter() - start < 5.0, "tracing gave up early"
    assert "(python)" in repr(ds)
    assert list(ds.take(1)) == [0]

    def small_loop(x):
        for _ in range(3):
            x = x * 2
        return x

    assert "traced" in repr(hr.Dataset.range(3).map(small_loop))
    assert list(hr.Dataset.range(3).map(small_loop)) == [0, 8, 16]


def test_trace_false_forces_python():
    ds = hr.Dataset.range(3).map(lambda x: x + 1, trace=False)
    assert "(python)" in repr(ds)
    assert values(ds) == [1, 2, 3]


def test_shape_and_dtype_errors_raise_at_the_map_call():
    four, three = np.ones(4, np.int64), np.ones(3, np.int64)
    with pytest.raises(hr.errors.InvalidArgumentError, match=r"add: shapes \[4\] and \[3\]"):
        hr.Dataset.range(3).map(lambda x: x + four + three)
    with pytest.raises(hr.errors.InvalidArgumentError, match="add: .*int64.*float32"):
        hr.Dataset.range(3).map(lambda x: x + hr.cast(x, hr.float32))
    with pytest.raises(hr.errors.InvalidArgumentError, match="sqrt: not defined for int64"):
        hr.Dataset.range(3).map(lambda x: hr.math.sqrt(x))


def test_runtime_errors_surface_at_their_element():
    ds = hr.Dataset.from_tensor_slices(np.array([4, 0, 2], np.int32)).map(lambda x: 8 // x)
    assert is_traced(ds)
    it = iter(ds)
    assert next(it) == 2
    with pytest.raises(hr.errors.InvalidArgumentError, match="division by zero"):
        next(it)
    assert next(it) == 4


def test_traced_filter():
    ds = hr.Dataset.range(10).filter(lambda x: (x % 3 == 0) | (x == 4))
    assert is_traced(ds)
    assert values(ds) == [0, 3, 4, 6, 9]
    with pytest.raises(TypeError, match="scalar bool"):
        hr.Dataset.range(10).filter(lambda x: x + 1)


def test_traced_parallel_map_keeps_order():
    ds = hr.Dataset.range(1000).map(lambda x: x * x, num_parallel_calls=hr.AUTOTUNE)
    assert is_traced(ds)
    assert values(ds) == [x * x for x in range(1000)]


def test_unknown_input_spec_is_not_traced():
    ds = hr.Dataset.range(3).map(lambda x: np.asarray(x)).map(lambda x: x + 1)
    assert "(python)" in repr(ds).rsplit("->", 1)[1]
    assert values(ds) == [1, 2, 3]


def test_consecutive_traced_maps_fuse_into_one_stage():
    fused = (
        hr.Dataset.range(50)
        .map(lambda x: (x * 2, x))
        .map(lambda a, b: {"s": a + b, "d": a - b})
        .map(lambda d: hr.cast(d["s"], hr.float32) / 2 + hr.cast(d["d"], hr.float32))
    )
    assert repr(fused).count("Map(") == 1
    assert "then" in repr(fused)
    unfused = (
        hr.Dataset.range(50)
        .map(lambda x: (x * 2, x), trace=False)
        .map(lambda a, b: {"s": a + b, "d": a - b}, trace=False)
        .map(lambda d: np.float32(d["s"]) / np.float32(2) + np.float32(d["d"]), trace=False)
    )
    np.testing.assert_array_equal(list(fused), list(unfused))
    assert fused.element_spec == hr.TensorSpec((), hr.float32)


def test_maps_with_different_parallelism_stay_apart():
    ds = hr.Dataset.range(5).map(lambda x: x + 1).map(lambda x: x * 3, num_parallel_calls=2)
    assert repr(ds).count("Map(") == 2
    assert values(ds) == [3, 6, 9, 12, 15]


def test_reshape_of_a_vector_of_unknown_length_is_traced():
    # decode_raw's output length is only known per element; the target shape is the shape.
    ds = hr.Dataset.from_tensor_slices([b"abcd", b"efgh", b"xyz"]).map(
        lambda r: hr.reshape(hr.io.decode_raw(r, hr.uint8), [2, 2])
    )
    assert "traced" in repr(ds)
    assert ds.element_spec == hr.TensorSpec([2, 2], hr.uint8)
    it = iter(ds)
    np.testing.assert_array_equal(next(it), np.frombuffer(b"abcd", np.uint8).reshape(2, 2))
    np.testing.assert_array_equal(next(it), np.frombuffer(b"efgh", np.uint8).reshape(2, 2))
    with pytest.raises(hr.errors.InvalidArgumentError, match="reshape"):
        next(it)
    inferred = hr.Dataset.from_tensor_slices([b"abcdef"]).map(
        lambda r: hr.reshape(hr.io.decode_raw(r, hr.uint8), [-1, 2])
    )
    assert inferred.element_spec == hr.TensorSpec([None, 2], hr.uint8)
    assert next(iter(inferred)).shape == (3, 2)
