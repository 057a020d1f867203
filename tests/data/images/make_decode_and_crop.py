"""Writes TensorFlow's `tf.io.decode_and_crop_jpeg` of a few windows of the reference JPEGs.

Run from the repository root with TensorFlow installed (`.venv/bin/python
tests/data/images/make_decode_and_crop.py`). The JPEGs are the shared reference images
(`../shared/testdata/images`, or `$HEADRACE_TESTDATA/images`). Output, beside this script:
`decode_and_crop.json` (TensorFlow's version and, per case, the file, window, channels and
the .npy holding the uint8 result) and the `decode_and_crop_*.npy` files. The windows touch
each edge, sit on and off iMCU boundaries (8 and 16 pixels) and include 1x1, full-width rows
and windows whose cropped rows are at most 2 pixels wide (libjpeg then drops fancy
upsampling), while keeping the files small.
"""

import os
import pathlib

import numpy as np
import tensorflow as tf
from reference_json import write_cases

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SHARED = (
    pathlib.Path(os.environ.get("HEADRACE_TESTDATA", ROOT.parent / "shared" / "testdata"))
    / "images"
)

# [top, left, height, width] on the 250x333 (height x width) reference images.
WINDOWS = [
    [0, 0, 1, 1],
    [249, 332, 1, 1],
    [0, 0, 16, 16],
    [17, 33, 40, 50],
    [7, 15, 9, 17],
    [16, 32, 32, 48],
    [170, 253, 80, 80],  # touches the bottom and right edges
    [0, 301, 60, 32],  # top and right
    [233, 0, 17, 90],  # bottom and left
    [121, 0, 3, 333],  # full-width rows
    [0, 161, 250, 3],  # full-height columns
    [40, 32, 6, 2],  # a 2-wide window on an iMCU boundary: cropped rows 2 wide
    [9, 17, 4, 1],  # cropped rows 2 wide again
]
# (file, channels, every window or every other): channels 0 is 3 on the color files and 1
# on the gray one, so it is only run on the gray one.
CASES = [
    (name, channels, all_windows)
    for name in ["baseline420.jpg", "baseline444.jpg", "progressive.jpg"]
    for channels, all_windows in [(3, True), (1, False)]
] + [("gray.jpg", 0, True), ("gray.jpg", 3, False)]


def main():
    cases = []
    for name, channels, all_windows in CASES:
        contents = tf.constant((SHARED / name).read_bytes())
        for i, window in enumerate(WINDOWS):
            if not all_windows and i % 2:
                continue
            got = tf.io.decode_and_crop_jpeg(contents, window, channels=channels).numpy()
            assert got.dtype == np.uint8 and got.shape[:2] == tuple(window[2:]), got.shape
            npy = f"decode_and_crop_{name.split('.')[0]}_c{channels}_w{i}.npy"
            np.save(HERE / npy, got)
            cases.append({"file": name, "window": window, "channels": channels, "npy": npy})
    errors = {}
    contents = tf.constant((SHARED / "baseline420.jpg").read_bytes())
    for window in [[200, 0, 51, 10], [0, 0, 0, 5], [0, 330, 10, 4]]:
        try:
            tf.io.decode_and_crop_jpeg(contents, window)
        except tf.errors.InvalidArgumentError as e:
            errors[str(window)] = e.message
    write_cases(HERE / "decode_and_crop.json", cases, after={"invalid_window_errors": errors})


if __name__ == "__main__":
    main()
