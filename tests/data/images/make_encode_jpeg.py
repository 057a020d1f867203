"""Writes TensorFlow's `tf.io.encode_jpeg` of a small image with each kind of argument.

Run from the repository root with TensorFlow installed (`.venv/bin/python
tests/data/images/make_encode_jpeg.py`). The image is a formula (`image()` below, also in
`crates/headrace/src/image/encode.rs`'s tests), so no pixels are stored. Output, beside this
script: `encode_jpeg.json`, TensorFlow's version and per case the arguments and the JPEG's
bytes in hex.
"""

import pathlib

import numpy as np
import tensorflow as tf
from reference_json import write_cases

HERE = pathlib.Path(__file__).resolve().parent
HEIGHT, WIDTH = 24, 40


def image(channels):
    y, x, c = np.meshgrid(np.arange(HEIGHT), np.arange(WIDTH), np.arange(channels), indexing="ij")
    return ((x * 8 + y * 5 + c * 70 + (x * y) % 17) % 256).astype(np.uint8)


CASES = [
    {"channels": 3, "quality": 95},
    {"channels": 3, "quality": 95, "chroma_downsampling": False},
    {"channels": 3, "quality": 30},
    {"channels": 3, "quality": 75, "progressive": True},
    {"channels": 3, "quality": 75, "progressive": True, "chroma_downsampling": False},
    {"channels": 3, "quality": 90, "optimize_size": True},
    {"channels": 3, "quality": 90, "progressive": True, "optimize_size": True},
    {"channels": 3, "quality": 50, "density_unit": "cm", "x_density": 72, "y_density": 96},
    {"channels": 3, "quality": 95, "xmp_metadata": "<x:xmpmeta>headrace</x:xmpmeta>"},
    {"channels": 1, "quality": 85},
    {"channels": 1, "quality": 85, "progressive": True},
    {"channels": 1, "quality": 85, "optimize_size": True, "format": "grayscale"},
]


def main():
    cases = []
    for case in CASES:
        kwargs = {k: v for k, v in case.items() if k != "channels"}
        jpeg = tf.io.encode_jpeg(image(case["channels"]), **kwargs).numpy()
        cases.append({**case, "jpeg_hex": jpeg.hex()})
    write_cases(HERE / "encode_jpeg.json", cases, before={"height": HEIGHT, "width": WIDTH})


if __name__ == "__main__":
    main()
