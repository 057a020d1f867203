"""RaggedTensor and SparseTensor elements: conversion, batch, unbatch, cache, traced
functions, compared with numpy and with tf.data's documented behaviour."""

import headrace as hr
import numpy as np
import pytest

ROWS = [[1, 2], [], [3], [4, 5, 6]]


def test_ragged_constant_and_accessors():
    r = hr.ragged.constant(ROWS)
    assert r.to_list() == ROWS
    assert r.shape == (4, None)
    assert r.ragged_rank == 1 and r.dtype == hr.int64
    np.testing.assert_array_equal(r.row_splits, [0, 2, 2, 3, 6])
    np.testing.assert_array_equal(r.row_lengths(), [2, 0, 1, 3])
    np.testing.assert_array_equal(
        r.to_tensor(-1), [[1, 2, -1], [-1, -1, -1], [3, -1, -1], [4, 5, 6]]
    )
    nested = hr.ragged.constant([[[1], [2, 3]], [[]]])
    assert nested.ragged_rank == 2 and nested[0].to_list() == [[1], [2, 3]]
    assert nested.to_list() == [[[1], [2, 3]], [[]]]


def test_ragged_slices_batch_and_unbatch_like_tf_data():
    ds = hr.Dataset.from_tensor_slices(hr.ragged.constant(ROWS))
    assert ds.element_spec == hr.RaggedTensorSpec((None,), hr.int64, 0)
    assert [x.tolist() for x in ds] == ROWS
    batched = ds.batch(3)
    assert batched.element_spec == hr.RaggedTensorSpec((None, None), hr.int64, 1)
    got = list(batched)
    assert [b.to_list() for b in got] == [ROWS[:3], ROWS[3:]]
    assert [x.tolist() for x in batched.unbatch()] == ROWS
    twice = batched.batch(2)
    assert twice.element_spec.ragged_rank == 2
    assert [b.to_list() for b in twice] == [[ROWS[:3], ROWS[3:]]]
    assert [x.tolist() for x in twice.unbatch().unbatch()] == ROWS


def test_ragged_in_a_structure_next_to_dense_components():
    ds = hr.Dataset.from_tensor_slices(
        {"tokens": hr.ragged.constant(ROWS), "label": np.arange(4)}
    ).batch(2)
    first = next(iter(ds))
    assert first["tokens"].to_list() == ROWS[:2]
    np.testing.assert_array_equal(first["label"], [0, 1])


def test_ragged_mismatched_inner_shapes_cannot_batch():
    with pytest.raises(ValueError):
        hr.RaggedTensor.from_row_splits(np.arange(3), [0, 5])
    a = hr.Dataset.from_tensors(hr.ragged.constant([[1.0]]))
    b = hr.Dataset.from_tensors(hr.ragged.constant([[1]]))
    with pytest.raises(hr.errors.InvalidArgumentError, match="ragged"):
        list(a.concatenate(b.map(lambda r: r, trace=False)).batch(2))


def sparse(idx, values, shape):
    return hr.SparseTensor(np.array(idx, np.int64).reshape(-1, len(shape)), values, shape)


def test_sparse_batch_unbatch_and_dense_equivalence():
    parts = [
        sparse([[0], [2]], np.array([1.0, 2.0], np.float32), [3]),
        sparse([], np.array([], np.float32), [1]),
        sparse([[4]], np.array([5.0], np.float32), [5]),
    ]
    ds = hr.Dataset.from_generator(
        lambda: iter(parts), output_signature=hr.SparseTensorSpec((None,), hr.float32)
    )
    batched = list(ds.batch(3))
    assert len(batched) == 1
    b = batched[0]
    assert b.shape == (3, 5)
    dense = np.zeros((3, 5), np.float32)
    for i, p in enumerate(parts):
        dense[i, : p.shape[0]] = p.to_dense()
    np.testing.assert_array_equal(hr.sparse.to_dense(b), dense)
    back = list(ds.batch(3).unbatch())
    # Rows keep the batch's dense shape, as tf.data's unbatch does.
    for p, row in zip(parts, back, strict=True):
        assert row.shape == (5,)
        np.testing.assert_array_equal(row.to_dense()[: p.shape[0]], p.to_dense())


def test_composites_survive_a_file_cache(tmp_path):
    ds = (
        hr.Dataset.from_tensor_slices(hr.ragged.constant(ROWS))
        .batch(2)
        .map(lambda r: (r, hr.SparseTensor([[0, 1]], [7], [2, 2])))
    )
    path = str(tmp_path / "cache")
    first = list(ds.cache(path))
    again = list(ds.cache(path))
    assert [a[0] for a in first] == [a[0] for a in again]
    assert [a[1] for a in first] == [a[1] for a in again]
    assert again[1][0].to_list() == ROWS[2:]


def test_padded_batch_refuses_composites():
    ds = hr.Dataset.from_tensor_slices(hr.ragged.constant(ROWS)).batch(2)
    with pytest.raises(ValueError, match="padded"):
        ds.padded_batch(2)


def test_traced_functions_take_and_return_ragged_values():
    ds = hr.Dataset.from_tensor_slices(hr.ragged.constant(ROWS)).batch(2)
    doubled = ds.map(lambda r: hr.RaggedTensor.from_row_splits(r.values * 2, r.row_splits))
    assert "(traced" in repr(doubled)
    assert [b.to_list() for b in doubled] == [
        [[2, 4], []],
        [[6], [8, 10, 12]],
    ]
    lengths = ds.map(lambda r: r.row_splits[1:] - r.row_splits[:-1])
    assert [x.tolist() for x in lengths] == [[2, 0], [1, 3]]


def test_bad_composite_values_from_python_name_the_problem():
    with pytest.raises(ValueError, match="outside dense_shape"):
        hr.Dataset.from_tensors(hr.SparseTensor([[3]], [1], [2]))
    with pytest.raises(ValueError, match="row_splits"):
        hr.Dataset.from_tensors(hr.RaggedTensor(np.arange(3), [np.array([0, 2])]))
