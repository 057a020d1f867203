"""Tracing flat_map/interleave functions: the inner dataset becomes a template built once,
whose source reads the traced function's outputs for each element."""

import headrace as hr
import numpy as np
import pytest


def is_traced(ds):
    return "(traced" in repr(ds)


def as_lists(ds):
    return [np.asarray(x).tolist() for x in ds]


INNER_FUNCTIONS = [
    lambda x: hr.Dataset.range(x),
    lambda x: hr.Dataset.range(1, x + 1, 2),
    lambda x: hr.Dataset.from_tensors(x * 10).repeat(2),
    lambda x: hr.Dataset.from_tensor_slices(x * hr.ones([3], hr.int64)).map(lambda v: v + 1),
    lambda x: hr.Dataset.from_tensor_slices(hr.stack([x, x + 1, x + 2])).batch(2),
    lambda x: hr.Dataset.range(x, dtype=hr.float32).filter(lambda v: v > 0.5),
    lambda x: hr.Dataset.range(4).shuffle(4, seed=1).take(2),
]


@pytest.mark.parametrize("fn", INNER_FUNCTIONS)
def test_traced_flat_map_equals_python_flat_map(fn):
    traced = hr.Dataset.range(5).flat_map(fn)
    python = hr.Dataset.range(5).flat_map(fn, trace=False)
    assert is_traced(traced), repr(traced)
    assert not is_traced(python)
    assert as_lists(traced) == as_lists(python)


@pytest.mark.parametrize("fn", INNER_FUNCTIONS)
@pytest.mark.parametrize("parallel", [None, 2])
def test_traced_interleave_equals_python_interleave(fn, parallel):
    def build(trace):
        return hr.Dataset.range(6).interleave(
            fn, cycle_length=3, block_length=2, num_parallel_calls=parallel, trace=trace
        )

    assert is_traced(build(True))
    assert as_lists(build(True)) == as_lists(build(False))


def test_the_inner_spec_is_known():
    ds = hr.Dataset.from_tensor_slices(np.arange(12.0).reshape(3, 4)).flat_map(
        lambda row: hr.Dataset.from_tensor_slices(row).batch(3)
    )
    assert ds.element_spec == hr.TensorSpec((None,), hr.float64)
    ds = hr.Dataset.range(3).flat_map(
        lambda x: hr.Dataset.from_tensors((x, {"y": hr.cast(x, hr.float64) * 0.5}))
    )
    assert ds.element_spec == (
        hr.TensorSpec((), hr.int64),
        {"y": hr.TensorSpec((), hr.float64)},
    )


def test_structured_elements_and_sources():
    ds = hr.Dataset.from_tensor_slices({"n": np.array([1, 2]), "w": np.array([0.5, 2.0])})
    ds = ds.flat_map(
        lambda d: hr.Dataset.from_tensor_slices(
            (d["n"] * hr.ones([2], hr.int64), d["w"] * 2.0 * hr.ones([2], hr.float64))
        )
    )
    assert is_traced(ds)
    got = [(int(a), float(b)) for a, b in ds]
    assert got == [(1, 1.0), (1, 1.0), (2, 4.0), (2, 4.0)]


def test_a_static_inner_dataset_is_traced_too():
    ds = hr.Dataset.range(3).flat_map(lambda _: hr.Dataset.range(2))
    assert is_traced(ds)
    assert as_lists(ds) == [0, 1] * 3


def test_functions_that_are_not_hr_ops_run_as_python():
    calls = []

    def counting(x):
        calls.append(1)
        return hr.Dataset.range(int(x))

    ds = hr.Dataset.range(3).flat_map(counting)
    assert not is_traced(ds)
    assert as_lists(ds) == [0, 0, 1]
    assert len(calls) == 3


def test_a_function_not_returning_a_dataset_is_a_runtime_error_as_in_python():
    ds = hr.Dataset.range(2).flat_map(lambda x: x + 1)
    assert not is_traced(ds)
    with pytest.raises(TypeError):
        list(ds)


def test_bad_inner_arguments_surface_at_their_element():
    # A scalar cannot be sliced: each element's inner dataset fails, iteration goes on.
    ds = hr.Dataset.range(2).flat_map(lambda x: hr.Dataset.from_tensor_slices(x)).ignore_errors()
    assert is_traced(ds)
    assert as_lists(ds) == []
    it = iter(hr.Dataset.range(2).flat_map(lambda x: hr.Dataset.from_tensor_slices(x)))
    with pytest.raises(ValueError, match="tensors"):
        next(it)


def test_a_negative_range_step_of_zero_is_an_error_at_the_element():
    ds = hr.Dataset.range(2).flat_map(lambda x: hr.Dataset.range(0, 5, x))
    it = iter(ds)
    with pytest.raises(ValueError, match="step"):
        next(it)
    assert [int(v) for v in it] == [0, 1, 2, 3, 4]


def test_transformation_arguments_from_traced_values_run_as_python():
    # take(x) needs x's value when the pipeline is built: the function runs as Python.
    ds = hr.Dataset.range(4).flat_map(lambda x: hr.Dataset.range(4).take(x))
    assert not is_traced(ds)
    assert as_lists(ds) == [0, 0, 1, 0, 1, 2]


def test_inner_functions_using_the_outer_value_make_the_outer_run_as_python():
    ds = hr.Dataset.range(3).flat_map(lambda x: hr.Dataset.range(3).map(lambda y: x + y))
    assert "<lambda> (python))" in repr(ds) and "(traced" not in repr(ds)
    assert as_lists(ds) == [0, 1, 2, 1, 2, 3, 2, 3, 4]
    ds = hr.Dataset.range(4).interleave(
        lambda x: hr.Dataset.range(4).filter(lambda y: y < x), cycle_length=2
    )
    assert sorted(as_lists(ds)) == [0, 0, 0, 1, 1, 2]


def test_inner_functions_of_their_own_are_traced_inside_the_template():
    ds = hr.Dataset.range(3).flat_map(
        lambda x: hr.Dataset.from_tensors(x).repeat(2).map(lambda y: y * 10)
    )
    assert "(traced" in repr(ds) and "(python)" not in repr(ds)
    assert as_lists(ds) == [0, 0, 10, 10, 20, 20]


def test_split_in_a_traced_flat_map_yields_the_words():
    lines = hr.Dataset.from_tensor_slices([b"the cat", b"", b"sat on  it"])
    words = lines.flat_map(lambda line: hr.Dataset.from_tensor_slices(hr.strings.split(line)))
    assert is_traced(words)
    assert list(words) == [b"the", b"cat", b"sat", b"on", b"it"]
