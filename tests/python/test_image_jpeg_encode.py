"""hr.image.encode_jpeg with tf.io.encode_jpeg's arguments: progressive and optimized coding,
density, XMP and format, against TensorFlow's bytes (tests/data/images/encode_jpeg.json, made
by make_encode_jpeg.py), eagerly and traced."""

import json
from pathlib import Path

import headrace as hr
import numpy as np
import pytest

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "images" / "encode_jpeg.json").read_text()
)


def formula_image(height, width, channels):
    """The image of make_encode_jpeg.py."""
    y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(channels), indexing="ij")
    return ((x * 8 + y * 5 + c * 70 + (x * y) % 17) % 256).astype(np.uint8)


def smooth_image():
    y, x, c = np.meshgrid(np.arange(64), np.arange(96), np.arange(3), indexing="ij")
    return (x + y + 40 * c + (x // 4 + y // 4) % 2 * 8).astype(np.uint8)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: json.dumps(c)[:80])
def test_bytes_equal_tensorflows(case):
    kwargs = {k: v for k, v in case.items() if k not in ("channels", "jpeg_hex")}
    image = formula_image(REFERENCE["height"], REFERENCE["width"], case["channels"])
    assert hr.image.encode_jpeg(image, **kwargs) == bytes.fromhex(case["jpeg_hex"])


def test_progressive_and_optimized():
    image = smooth_image()
    baseline = hr.image.encode_jpeg(image, quality=75)
    progressive = hr.io.encode_jpeg(image, quality=75, progressive=True)
    optimized = hr.io.encode_jpeg(image, quality=75, optimize_size=True)
    assert b"\xff\xc0" in baseline and b"\xff\xc2" not in baseline
    assert b"\xff\xc2" in progressive and b"\xff\xc0" not in progressive  # SOF2
    assert len(optimized) <= len(baseline)
    back = hr.image.decode_jpeg(baseline, channels=3)
    assert psnr(back, image) > 41
    # Same quantization, other entropy coding: the same pixels.
    np.testing.assert_array_equal(hr.image.decode_jpeg(progressive, channels=3), back)
    np.testing.assert_array_equal(hr.image.decode_jpeg(optimized, channels=3), back)

    def encode(x):
        return hr.image.encode_jpeg(x, quality=75, progressive=True, optimize_size=True)

    ds = hr.Dataset.from_tensors(image).map(encode)
    assert "traced" in repr(ds) and ds.element_spec == hr.TensorSpec([], hr.string)
    assert next(iter(ds)) == encode(image)


def test_density_xmp_and_format():
    image = formula_image(8, 8, 3)
    jpeg = hr.image.encode_jpeg(image, density_unit="cm", x_density=118, y_density=59)
    assert jpeg[13:18] == bytes([2, 0, 118, 0, 59])  # JFIF unit, x, y
    assert hr.image.encode_jpeg(image, x_density=72)[13:18] == bytes([1, 0, 72, 1, 44])
    # Without a density argument: TensorFlow's 300 dots per inch.
    assert hr.image.encode_jpeg(image)[13:18] == bytes([1, 1, 44, 1, 44])
    jpeg = hr.image.encode_jpeg(image, xmp_metadata="<x:xmpmeta>é</x:xmpmeta>")
    assert b"\xff\xe1" in jpeg and "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>é".encode() in jpeg
    gray = image[..., :1]
    assert hr.image.encode_jpeg(gray, format="grayscale") == hr.image.encode_jpeg(gray)
    with pytest.raises(hr.errors.InvalidArgumentError, match="format rgb expects 3 channels"):
        hr.image.encode_jpeg(gray, format="rgb")
    for kwargs, match in [
        ({"format": "cmyk"}, "format must be"),
        ({"density_unit": "px"}, "density_unit must be 'in' or 'cm'"),
        ({"x_density": 70000}, "x_density must be in 0..65535"),
        ({"y_density": -1}, "y_density must be in 0..65535"),
        ({"y_density": 2.5}, "y_density must be an int"),
        ({"xmp_metadata": "x" * 65505}, "more than an APP1 marker holds"),
        ({"quality": 101}, "quality"),
    ]:
        with pytest.raises(ValueError, match=match):
            hr.image.encode_jpeg(image, **kwargs)
    assert hr.image.encode_jpeg(image, xmp_metadata=b"x" * 65504)
