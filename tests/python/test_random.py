"""hr.random: per-element streams that do not depend on the parallelism."""

import headrace as hr
import numpy as np


def draws(npc, seed=7):
    ds = hr.Dataset.range(40).map(
        lambda x: (x, hr.random.uniform([5], seed=seed), hr.random.normal([3], seed=seed)),
        num_parallel_calls=npc,
    )
    assert "(traced" in repr(ds)
    return list(ds)


def test_results_do_not_depend_on_parallelism():
    sequential = draws(None)
    for npc in (1, 2, 4):
        parallel = draws(npc)
        for a, b in zip(sequential, parallel, strict=True):
            assert a[0] == b[0]
            np.testing.assert_array_equal(a[1], b[1])
            np.testing.assert_array_equal(a[2], b[2])


def test_elements_and_seeds_get_different_streams():
    got = draws(None)
    firsts = {tuple(g[1].tolist()) for g in got}
    assert len(firsts) == len(got)
    other = draws(None, seed=8)
    assert not np.array_equal(got[0][1], other[0][1])
    # Two ops with one seed in one function still differ.
    ds = hr.Dataset.range(1).map(
        lambda x: (hr.random.uniform([4], seed=1), hr.random.uniform([4], seed=1))
    )
    a, b = next(iter(ds))
    assert not np.array_equal(a, b)


def test_uniform_range_dtype_and_spec():
    ds = hr.Dataset.range(3).map(
        lambda x: hr.random.uniform([2, 50], minval=-2.0, maxval=3.0, dtype=hr.float64, seed=3)
    )
    assert ds.element_spec == hr.TensorSpec((2, 50), hr.float64)
    for v in ds:
        assert v.dtype == np.float64 and v.shape == (2, 50)
        assert v.min() >= -2.0 and v.max() < 3.0
    ints = hr.random.uniform([1000], minval=5, maxval=9, dtype=hr.int32, seed=1)
    assert ints.dtype == np.int32 and set(np.unique(ints)) == {5, 6, 7, 8}


def test_eager_calls_with_a_seed_repeat():
    a = hr.random.normal([10000], mean=1.0, stddev=2.0, seed=5)
    np.testing.assert_array_equal(a, hr.random.normal([10000], mean=1.0, stddev=2.0, seed=5))
    assert abs(a.mean() - 1.0) < 0.1 and abs(a.std() - 2.0) < 0.1
    assert not np.array_equal(hr.random.uniform([4]), hr.random.uniform([4]))


def uniform_map(npc=None, seed=7):
    return hr.Dataset.range(20).map(
        lambda x: hr.random.uniform([3], seed=seed), num_parallel_calls=npc
    )


def epochs(ds, n):
    """``n`` iterations of ``ds``, each a (20, 3) array."""
    return [np.stack(list(ds)) for _ in range(n)]


def test_each_epoch_and_each_iteration_draws_anew():
    """As shuffle reshuffles: augmentations must not repeat every epoch (tf.data's unseeded
    ops differ per epoch too), whether the epochs come from repeat or from iterating again."""
    ds = uniform_map()
    first, second = epochs(ds, 2)
    assert not np.array_equal(first, second)
    repeated = np.stack(list(uniform_map().repeat(2)))
    assert not np.array_equal(repeated[:20], repeated[20:])
    # The first iteration is what the op gives eagerly-alike at epoch 0, and a pipeline
    # built again with the same seed repeats all its epochs.
    np.testing.assert_array_equal(repeated[:20], first)
    np.testing.assert_array_equal(repeated[20:], second)
    again = uniform_map()
    for a, b in zip(epochs(again, 2), (first, second), strict=True):
        np.testing.assert_array_equal(a, b)


def test_every_epoch_is_independent_of_parallelism():
    reference = epochs(uniform_map(None), 3)
    for npc in (1, 3, hr.AUTOTUNE):
        for a, b in zip(epochs(uniform_map(npc), 3), reference, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_random_predicate_decides_per_element_and_epoch():
    """A traced filter predicate draws from its element's stream (it used to draw position
    0's value for every element: all kept or none)."""

    def coin(x):
        return hr.random.uniform([], seed=3) < 0.5

    sequential = hr.Dataset.range(1000).filter(coin)
    kept = [int(x) for x in sequential]
    assert 400 < len(kept) < 600
    # num_parallel_calls runs the same predicate: the same elements kept.
    assert [int(x) for x in hr.Dataset.range(1000).filter(coin, num_parallel_calls=3)] == kept
    assert [int(x) for x in sequential] != kept  # the next iteration draws anew


def test_random_image_ops_draw_anew_each_epoch():
    images = np.arange(64 * 4 * 4 * 3, dtype=np.uint8).reshape(64, 4, 4, 3)
    ds = hr.Dataset.from_tensor_slices(images).map(
        lambda im: hr.image.random_flip_left_right(im, seed=11), num_parallel_calls=2
    )
    flips = [
        [not np.array_equal(x, im) for x, im in zip(ds, images, strict=True)] for _ in range(2)
    ]
    assert 16 < sum(flips[0]) < 48
    assert flips[0] != flips[1]


def test_random_ops_in_interleaved_templates_do_not_depend_on_parallelism():
    """The inner datasets of a traced interleave are opened on whichever thread gets there
    first; their random ops count epochs per inner dataset, so the values do not depend on
    that order."""

    def inner(x):
        return (
            hr.Dataset.from_tensors(hr.cast(x, hr.float32))
            .repeat(4)
            .map(lambda y: y + hr.random.uniform([], seed=1))
        )

    def run(npc):
        ds = hr.Dataset.range(12).interleave(
            inner, cycle_length=4, num_parallel_calls=npc, deterministic=True
        )
        assert "python" not in repr(ds)
        return [float(v) for v in ds]

    reference = run(None)
    for npc in (2, 4, 4, 4):
        assert run(npc) == reference


def test_traced_flat_map_functions_and_their_datasets_draw_per_element_and_epoch():
    """A random op in a traced flat_map function draws from its element's stream (it drew
    position 0's for every element), and the stages of each inner dataset draw their own
    streams (they drew the same values in every inner dataset), anew each epoch."""

    def noise(x):
        return hr.Dataset.from_tensors(hr.random.uniform([], seed=5))

    def inner(x):
        return (
            hr.Dataset.from_tensors(hr.cast(x, hr.float32) * 0)
            .repeat(3)
            .map(lambda y: y + hr.random.uniform([], seed=6))
        )

    for make in (noise, inner):
        ds = hr.Dataset.range(8).flat_map(make)
        assert "python" not in repr(ds)
        first = [float(v) for v in ds]
        assert len(set(first)) == len(first), (make.__name__, first)
        second = [float(v) for v in ds]
        assert not set(first) & set(second)
        # A pipeline traced again with the seeds repeats both iterations.
        again = hr.Dataset.range(8).flat_map(make)
        assert [float(v) for v in again] == first
        assert [float(v) for v in again] == second
        # And interleave, parallel or not, draws what flat_map draws (cycle_length 1).
        for npc in (None, 2):
            one_by_one = hr.Dataset.range(8).interleave(
                make, cycle_length=1, num_parallel_calls=npc
            )
            assert [float(v) for v in one_by_one] == first
