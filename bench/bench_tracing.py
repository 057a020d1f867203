"""Traced-function figures, headrace beside tf.data, from one run (``make bench``).

  1. ``range(10**7).map(lambda x: x * 2 + 1).batch(1024)``: traced by both.
  2. The seeds' trivial map, ``range(10000).map(lambda x: x + 1)``, iterated element by element
     from Python.
  4. Words from lines: ``flat_map(lambda line: from_tensor_slices(strings.split(line)))``
     over 20,000 lines of 20 words, batched by 1024: traced (a template) beside the same
     function forced to Python and beside tf.data.
  3. The seeds' CPU-bound map, traced: ``reduce_sum(random.uniform([1000, 1000], seed=1)) +
     cast(x)`` over ``range(1000)``, with 2 parallel calls against 1 (the scaling on 2 cores),
     beside tf.data doing the same.

Medians of ``--repeats`` runs. tf.data's element-at-a-time pipelines are slow enough here that
they run on fewer elements; the figures are rates, which do not depend on the count.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import headrace as hr
from bench_core import count_batched, count_elements, load_tf, row, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    tf = load_tf()
    print(f"cores: {os.cpu_count()}  tensorflow: {tf.__version__ if tf else 'not installed'}")
    print(f"{'figure':<44} {'headrace':>14} {'tf.data':>14} {'unit':<12} {'ratio':>9}  target")
    rows = []

    def ours_affine() -> int:
        ds = hr.Dataset.range(10**7).map(lambda x: x * 2 + 1).batch(1024)
        assert "(traced" in repr(ds)
        return count_batched(ds)

    ours, _ = timed(ours_affine, args.repeats)
    theirs = None
    if tf:

        def tf_affine() -> int:
            return count_batched(tf.data.Dataset.range(10**5).map(lambda x: x * 2 + 1).batch(1024))

        theirs, _ = timed(tf_affine, args.repeats)
    rows.append(
        row(
            "range.map(x * 2 + 1).batch(1024), traced",
            ours,
            theirs,
            "elements/s",
            target=">= 20x tf.data",
        )
    )

    def ours_trivial() -> int:
        ds = hr.Dataset.range(10000).map(lambda x: x + 1)
        assert "(traced" in repr(ds)
        return count_elements(ds)

    ours, _ = timed(ours_trivial, args.repeats)
    theirs = None
    if tf:
        theirs, _ = timed(
            lambda: count_elements(tf.data.Dataset.range(10000).map(lambda x: x + 1)), args.repeats
        )
    rows.append(
        row(
            "range(10000).map(x + 1), element by element",
            ours,
            theirs,
            "elements/s",
            target=">= 100x tf.data",
        )
    )

    def hr_busy(x):
        return hr.math.reduce_sum(hr.random.uniform([1000, 1000], seed=1)) + hr.cast(x, hr.float32)

    def tf_busy(x):
        return tf.reduce_sum(tf.random.uniform([1000, 1000], seed=1)) + tf.cast(x, tf.float32)

    def cpu_bound(lib, npc, n):
        if lib is hr:
            return lambda: count_elements(hr.Dataset.range(n).map(hr_busy, num_parallel_calls=npc))
        return lambda: count_elements(tf.data.Dataset.range(n).map(tf_busy, num_parallel_calls=npc))

    one, _ = timed(cpu_bound(hr, 1, 1000), 1)
    two, _ = timed(cpu_bound(hr, 2, 1000), 1)
    rows.append(
        row(
            "CPU-bound traced map, 2 calls vs 1 (hr)",
            two,
            one,
            "elements/s",
            target=">= 1.8x (column 2: hr with 1 call)",
        )
    )
    if tf:
        tf_one, _ = timed(cpu_bound(tf, 1, 200), 1)
        tf_two, _ = timed(cpu_bound(tf, 2, 200), 1)
        rows.append(row("CPU-bound map, 2 calls vs 1 (tf.data)", tf_two, tf_one, "elements/s"))
        rows.append(row("CPU-bound map with 2 calls, hr vs tf.data", two, tf_two, "elements/s"))
    lines = [" ".join(f"w{(i * 7 + j) % 1000}" for j in range(20)).encode() for i in range(20000)]

    def words(ds, lib, trace=True):
        kwargs = {} if lib is tf else {"trace": trace}
        split = lib.strings.split
        return ds.flat_map(lambda s: lib.data.Dataset.from_tensor_slices(split(s)), **kwargs)

    def ours_words(trace):
        def run() -> int:
            ds = words(hr.Dataset.from_tensor_slices(lines), hr, trace).batch(1024)
            assert ("(traced" in repr(ds)) == trace
            return count_batched(ds)

        return run

    traced_words, _ = timed(ours_words(True), args.repeats)
    python_words, _ = timed(ours_words(False), args.repeats)
    theirs = None
    if tf:
        theirs, _ = timed(
            lambda: count_batched(words(tf.data.Dataset.from_tensor_slices(lines), tf).batch(1024)),
            args.repeats,
        )
    rows.append(row("lines -> split -> flat_map words, traced", traced_words, theirs, "words/s"))
    rows.append(
        row("  the same, traced vs Python flat_map (hr)", traced_words, python_words, "words/s")
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
