"""Property tests: array ops and slicing on random shapes (empty dimensions included) and
values equal numpy, eagerly and inside a traced map."""

import headrace as hr
import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=60, deadline=None)

DTYPES = st.sampled_from([np.int8, np.int32, np.int64, np.uint16, np.float32, np.float64, np.bool_])


def arrays(min_dims=1, max_dims=4, max_side=4, dtype=DTYPES):
    return dtype.flatmap(
        lambda dt: hnp.arrays(
            dt,
            hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=max_side),
        )
    )


def traced(x, fn):
    ds = hr.Dataset.from_tensors(x).map(fn)
    assert "(traced" in repr(ds), repr(ds)
    return next(iter(ds)), ds.element_spec


def check(x, op, ref):
    want = ref(x)
    eager = op(x)
    np.testing.assert_array_equal(eager, want)
    assert np.asarray(eager).dtype == want.dtype
    got, spec = traced(x, op)
    np.testing.assert_array_equal(got, want)
    assert np.asarray(got).shape == want.shape
    assert spec.shape is None or all(
        s is None or s == w for s, w in zip(spec.shape, want.shape, strict=True)
    )


def slice_item(dim):
    index = st.integers(-dim, dim - 1) if dim > 0 else st.nothing()
    bound = st.none() | st.integers(-dim - 2, dim + 2)
    step = st.none() | st.integers(-3, 3).filter(lambda s: s != 0)
    return index | st.builds(slice, bound, bound, step)


@st.composite
def sliced(draw):
    x = draw(arrays(max_dims=3, dtype=st.just(np.int32)))
    items = [draw(slice_item(d)) for d in x.shape[: draw(st.integers(0, x.ndim))]]
    if draw(st.booleans()) and len(items) < x.ndim:
        items.append(Ellipsis)
        items.append(draw(slice_item(x.shape[-1])))
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    return x, tuple(items)


@SETTINGS
@given(sliced())
def test_slicing(case):
    x, key = case
    check(x, lambda t: t[key], lambda t: t[key])


@SETTINGS
@given(arrays(), st.data())
def test_transpose(x, data):
    perm = data.draw(st.permutations(range(x.ndim)))
    check(x, lambda t: hr.transpose(t, perm), lambda t: np.transpose(t, perm))


@SETTINGS
@given(arrays(), st.data())
def test_reshape_with_an_inferred_dimension(x, data):
    shape = list(reversed(x.shape))
    if x.size > 0:
        shape[data.draw(st.integers(0, len(shape) - 1))] = -1
    check(x, lambda t: hr.reshape(t, shape), lambda t: t.reshape(shape))


@SETTINGS
@given(arrays(max_dims=3), st.data())
def test_expand_dims_and_squeeze(x, data):
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim))
    check(x, lambda t: hr.expand_dims(t, axis), lambda t: np.expand_dims(t, axis))
    check(x, lambda t: hr.squeeze(hr.expand_dims(t, axis), axis), lambda t: t)


@SETTINGS
@given(arrays(max_dims=3), st.data())
def test_stack_and_concat(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check(x, lambda t: hr.concat([t, t, t], axis), lambda t: np.concatenate([t, t, t], axis))
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim))
    check(x, lambda t: hr.stack([t, t], axis), lambda t: np.stack([t, t], axis))


@SETTINGS
@given(arrays(max_dims=3, max_side=3), st.data())
def test_tile(x, data):
    reps = data.draw(st.lists(st.integers(0, 3), min_size=x.ndim, max_size=x.ndim))
    check(x, lambda t: hr.tile(t, reps), lambda t: np.tile(t, reps))


@SETTINGS
@given(arrays(max_dims=3), st.data())
def test_gather(x, data):
    axis = data.draw(st.integers(0, x.ndim - 1))
    if x.shape[axis] == 0:
        return
    idx = data.draw(st.lists(st.integers(0, x.shape[axis] - 1), max_size=5))
    indices = np.array(idx, np.int64)
    check(x, lambda t: hr.gather(t, indices, axis=axis), lambda t: np.take(t, indices, axis))


@SETTINGS
@given(hnp.mutually_broadcastable_shapes(num_shapes=3, min_side=0, max_side=3), st.data())
def test_where_broadcasts_like_numpy(shapes, data):
    cond_shape, a_shape, b_shape = shapes.input_shapes
    cond = data.draw(hnp.arrays(np.bool_, cond_shape))
    a = data.draw(hnp.arrays(np.float32, a_shape, elements=st.floats(-9, 9, width=32)))
    b = data.draw(hnp.arrays(np.float32, b_shape, elements=st.floats(-9, 9, width=32)))
    np.testing.assert_array_equal(hr.where(cond, a, b), np.where(cond, a, b))
    ds = hr.Dataset.from_tensors((cond, a, b)).map(lambda c, x, y: hr.where(c, x, y))
    assert "(traced" in repr(ds)
    np.testing.assert_array_equal(next(iter(ds)), np.where(cond, a, b))


@SETTINGS
@given(arrays(min_dims=0, max_dims=3, dtype=st.just(np.float64)))
def test_shape(x):
    check(x, hr.shape, lambda t: np.array(t.shape, np.int32))
