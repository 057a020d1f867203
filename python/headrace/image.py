"""``hr.image``: ``tf.image``'s ops on single images (H, W, C) and batches (N, H, W, C).

Eagerly they run the engine's kernels (``crates/headrace/src/image/``) on numpy values and
return numpy; inside a traced ``map`` function they are nodes of its native graph, run
without the GIL. Semantics, dtypes and argument names are ``tf.image``'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _native, math, random, tracing
from .dtypes import as_dtype, float32, int32, string, uint8

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "central_crop",
    "convert_image_dtype",
    "crop_to_bounding_box",
    "decode_and_crop_jpeg",
    "decode_bmp",
    "decode_gif",
    "decode_image",
    "decode_jpeg",
    "decode_png",
    "encode_jpeg",
    "encode_png",
    "extract_jpeg_shape",
    "flip_left_right",
    "flip_up_down",
    "grayscale_to_rgb",
    "hsv_to_rgb",
    "normalize",
    "pad_to_bounding_box",
    "per_image_standardization",
    "random_brightness",
    "random_contrast",
    "random_crop",
    "random_flip_left_right",
    "random_flip_up_down",
    "random_hue",
    "random_resized_crop",
    "random_saturation",
    "resize",
    "resize_with_crop_or_pad",
    "resize_with_pad",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "rot90",
    "set_max_pixels",
    "transpose",
]

_METHODS = (
    "bilinear",
    "nearest",
    "area",
    "bicubic",
    "lanczos3",
    "lanczos5",
    "gaussian",
    "mitchellcubic",
)


def _run(name: str, attrs: Any, image: Any) -> Any:
    if tracing.is_symbolic(image):
        return tracing.image_op(name, attrs, [image])
    return _native.image_op(name, attrs, [image])


def _decode(
    name: str,
    attrs: Any,
    contents: Any,
    dtype: Any,
    channels: int | None,
    size: tuple[int | None, int | None] = (None, None),
) -> Any:
    if tracing.is_symbolic(contents):
        return tracing.decode_op(name, attrs, contents, dtype, (*size, channels))
    return _native.image_op(name, attrs, [contents])


def decode_jpeg(contents: Any, channels: int = 0, ratio: int = 1, name: str | None = None) -> Any:
    """A JPEG's pixels as uint8 (height, width, channels): ``channels`` 0 keeps the file's,
    1 is grayscale, 3 RGB; ``ratio`` 1, 2, 4 or 8 downscales while decoding. The pixels
    equal TensorFlow's (libjpeg-turbo with TensorFlow's settings). A corrupt or truncated
    image raises ``hr.errors.InvalidArgumentError``; so does one larger than
    ``set_max_pixels`` allows, before it is decoded."""
    del name
    return _decode("decode_jpeg", (int(channels), int(ratio)), contents, uint8, channels or None)


def decode_png(
    contents: Any, channels: int = 0, dtype: Any = uint8, name: str | None = None
) -> Any:
    """A PNG's pixels as uint8 or uint16 (height, width, channels): ``channels`` 0 keeps the
    file's, 1 gray, 3 RGB, 4 RGBA."""
    del name
    dt = as_dtype(dtype)
    return _decode("decode_png", (int(channels), dt.name), contents, dt, channels or None)


def decode_image(
    contents: Any,
    channels: int | None = None,
    dtype: Any = uint8,
    name: str | None = None,
    expand_animations: bool = True,
) -> Any:
    """A JPEG, PNG, GIF or BMP (found by its signature) as uint8 (height, width, channels),
    as ``tf.io.decode_image``; other dtypes are converted with ``convert_image_dtype``. A GIF
    gives all its frames, (num_frames, height, width, 3), unless ``expand_animations`` is
    False, which gives its first frame. A GIF takes ``channels`` 0 or 3, a BMP 0, 3 or 4.

    As in TensorFlow, with ``expand_animations=True`` a traced decode has an unknown rank,
    which image ops that need HWC or NHWC cannot take: a function that resizes or crops the
    decoded image then runs as Python. Pass ``expand_animations=False`` to keep it traced."""
    del name
    attrs = (None if channels is None else int(channels), bool(expand_animations))
    dt = as_dtype(dtype)
    if not tracing.is_symbolic(contents):
        image = _native.image_op("decode_image", attrs, [contents])
        return image if dt == uint8 else convert_image_dtype(image, dt)
    shape = None if expand_animations else (None, None, channels or None)
    image = tracing.decode_op("decode_image", attrs, contents, uint8, shape)
    if dt == uint8:
        return image
    # The conversion is element-wise: its declared shape is the decode's, even of unknown
    # rank (which the generic shape inference cannot run on).
    convert = (dt.name, False)
    return tracing.decode_op("convert_image_dtype", convert, image, dt, shape, input_dtype=None)


def decode_gif(contents: Any, name: str | None = None) -> Any:
    """A GIF's frames as uint8 (num_frames, height, width, 3), composited as
    ``tf.io.decode_gif`` does: the canvas is the largest frame, each frame is drawn over the
    one before (transparent pixels keep it; the disposal method is not used), and damage
    after the first frame ends the animation there. Like TensorFlow's it also reads a JPEG or
    PNG, as one frame."""
    del name
    if tracing.is_symbolic(contents):
        return tracing.decode_op("decode_gif", None, contents, uint8, (None, None, None, 3))
    return _native.image_op("decode_gif", None, [contents])


def decode_bmp(contents: Any, channels: int = 0, name: str | None = None) -> Any:
    """A BMP's pixels as uint8 (height, width, channels), as ``tf.io.decode_bmp``:
    ``channels`` 0 keeps the file's (1 for 8 bits a pixel, whose palette indices are the gray
    levels, as in TensorFlow; 3 for 24; 4 for 32), 3 is RGB, 4 RGBA."""
    del name
    return _decode("decode_bmp", int(channels), contents, uint8, channels or None)


def decode_and_crop_jpeg(
    contents: Any, crop_window: Any, channels: int = 0, name: str | None = None
) -> Any:
    """The ``crop_window`` = (top, left, height, width) of a JPEG's pixels: equal to
    decoding then cropping, as ``tf.io.decode_and_crop_jpeg``. The window must be constant
    (not a traced value)."""
    del name
    if tracing.is_symbolic(crop_window):
        raise tracing.NotTraceable("decode_and_crop_jpeg with a traced crop window")
    top, left, height, width = (
        _size("crop_window", int(v)) for v in np.asarray(crop_window).reshape(-1)
    )
    attrs = (int(channels), (top, left, height, width))
    return _decode(
        "decode_and_crop_jpeg", attrs, contents, uint8, channels or None, (height, width)
    )


def extract_jpeg_shape(contents: Any, output_type: Any = int32, name: str | None = None) -> Any:
    """(height, width, channels) of a JPEG, read from its header alone."""
    del name, output_type
    if tracing.is_symbolic(contents):
        return tracing.decode_op("extract_jpeg_shape", None, contents, int32, (3,))
    return _native.image_op("extract_jpeg_shape", None, [contents])


def _encode(name: str, attrs: Any, image: Any) -> Any:
    if tracing.is_symbolic(image):
        return tracing.decode_op(name, attrs, image, string, (), input_dtype=None)
    return _native.image_op(name, attrs, [image])


_JPEG_FORMATS = {"": None, "grayscale": 1, "rgb": 3}
# The XMP packet follows the Adobe namespace (29 bytes) in an APP1 marker of at most 65533.
_MAX_XMP = 65533 - 29


def encode_jpeg(
    image: Any,
    format: str = "",  # noqa: A002  tf's argument name
    quality: int = 95,
    progressive: bool = False,
    optimize_size: bool = False,
    chroma_downsampling: bool = True,
    density_unit: str = "in",
    x_density: int = 300,
    y_density: int = 300,
    xmp_metadata: str | bytes = "",
    name: str | None = None,
) -> Any:
    """A JPEG (bytes) of a uint8 HWC image with 1 or 3 channels, with ``tf.io.encode_jpeg``'s
    arguments: ``format`` "" (the image's channels), "grayscale" (1) or "rgb" (3);
    ``progressive`` writes libjpeg's progressive scans; ``optimize_size`` makes Huffman
    tables for the image (smaller file, same pixels); ``xmp_metadata`` goes in an APP1
    marker; the JFIF density defaults to TensorFlow's 300 x 300 dots per inch. With the same
    arguments, defaults included, the bytes are TensorFlow's."""
    del name
    if format not in _JPEG_FORMATS:
        raise ValueError(f"encode_jpeg: format must be '', 'grayscale' or 'rgb', got {format!r}")
    if density_unit not in ("in", "cm"):
        raise ValueError(f"encode_jpeg: density_unit must be 'in' or 'cm', got {density_unit!r}")
    xy = []
    for arg, value in (("x_density", x_density), ("y_density", y_density)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"encode_jpeg: {arg} must be an int, got {value!r}")
        if not 0 <= value <= 65535:
            raise ValueError(f"encode_jpeg: {arg} must be in 0..65535 (a JFIF field), got {value}")
        xy.append(int(value))
    density = (density_unit, *xy)
    xmp = xmp_metadata.encode() if isinstance(xmp_metadata, str) else bytes(xmp_metadata)
    if len(xmp) > _MAX_XMP:
        raise ValueError(
            f"encode_jpeg: xmp_metadata is {len(xmp)} bytes, more than an APP1 marker holds "
            f"({_MAX_XMP})"
        )
    attrs = (
        int(quality),
        bool(chroma_downsampling),
        bool(progressive),
        bool(optimize_size),
        density,
        xmp or None,
        _JPEG_FORMATS[format],
    )
    return _encode("encode_jpeg", attrs, image)


def encode_png(image: Any, compression: int = -1, name: str | None = None) -> Any:
    """A PNG (bytes) of a uint8 or uint16 HWC image with 1 to 4 channels."""
    del name
    return _encode("encode_png", int(compression), image)


def set_max_pixels(pixels: int) -> int:
    """Sets the largest image (in pixels) the decoders accept, 2**28 by default; returns
    the previous limit. A header claiming more is refused before any allocation."""
    return _native.set_max_pixels(int(pixels))


def _size(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name}: expected a non-negative int, got {value!r}")
    return int(value)


def resize(
    images: Any,
    size: Any,
    method: str = "bilinear",
    preserve_aspect_ratio: bool = False,
    antialias: bool = False,
    name: str | None = None,
) -> Any:
    """Resizes to ``size`` = (height, width), as ``tf.image.resize``: float32 output except
    for ``"nearest"``, which keeps the dtype. ``method`` is ``"bilinear"``, ``"nearest"``,
    ``"area"``, ``"bicubic"``, ``"lanczos3"``, ``"lanczos5"``, ``"gaussian"`` or
    ``"mitchellcubic"`` (``tf.image.ResizeMethod`` values are these strings)."""
    del name
    method = str(getattr(method, "value", method)).lower()
    if method == "nearest_neighbor":
        method = "nearest"
    if method not in _METHODS:
        raise ValueError(f"resize: method must be one of {', '.join(_METHODS)}; got {method!r}")
    height, width = (int(v) for v in np.asarray(size).reshape(-1))
    attrs = (
        _size("size", height),
        _size("size", width),
        method,
        bool(antialias),
        bool(preserve_aspect_ratio),
    )
    return _run("resize", attrs, images)


def resize_with_pad(
    image: Any,
    target_height: int,
    target_width: int,
    method: str = "bilinear",
    antialias: bool = False,
) -> Any:
    """Resizes to fit inside the target keeping the aspect ratio, then zero-pads to it
    (centred), as ``tf.image.resize_with_pad``; float32 out as ``resize``."""
    method = str(getattr(method, "value", method)).lower()
    if method not in _METHODS:
        raise ValueError(f"resize_with_pad: method must be one of {', '.join(_METHODS)}")
    attrs = (
        _size("target_height", target_height),
        _size("target_width", target_width),
        method,
        bool(antialias),
    )
    return _run("resize_with_pad", attrs, image)


def flip_left_right(image: Any) -> Any:
    """Mirrors the width axis."""
    return _run("flip_left_right", None, image)


def flip_up_down(image: Any) -> Any:
    """Mirrors the height axis."""
    return _run("flip_up_down", None, image)


def transpose(image: Any, name: str | None = None) -> Any:
    """Swaps height and width."""
    del name
    return _run("transpose", None, image)


def rot90(image: Any, k: int = 1, name: str | None = None) -> Any:
    """Rotates by ``k`` quarter turns counter-clockwise."""
    del name
    return _run("rot90", int(k), image)


def _box(offset_height: int, offset_width: int, target_height: int, target_width: int) -> Any:
    """The bounding-box arguments, checked, as the kernels take them."""
    return (
        _size("offset_height", offset_height),
        _size("offset_width", offset_width),
        _size("target_height", target_height),
        _size("target_width", target_width),
    )


def crop_to_bounding_box(
    image: Any, offset_height: int, offset_width: int, target_height: int, target_width: int
) -> Any:
    """The ``target_height`` x ``target_width`` box whose top-left is at the offsets."""
    box = _box(offset_height, offset_width, target_height, target_width)
    return _run("crop_to_bounding_box", box, image)


def pad_to_bounding_box(
    image: Any, offset_height: int, offset_width: int, target_height: int, target_width: int
) -> Any:
    """Zero-pads to ``target_height`` x ``target_width``, the image at the offsets."""
    box = _box(offset_height, offset_width, target_height, target_width)
    return _run("pad_to_bounding_box", box, image)


def central_crop(image: Any, central_fraction: float) -> Any:
    """The central ``central_fraction`` (in (0, 1]) of each side."""
    return _run("central_crop", float(central_fraction), image)


def resize_with_crop_or_pad(image: Any, target_height: int, target_width: int) -> Any:
    """Crops or zero-pads around the centre to ``target_height`` x ``target_width``."""
    attrs = (_size("target_height", target_height), _size("target_width", target_width))
    return _run("resize_with_crop_or_pad", attrs, image)


def convert_image_dtype(
    image: Any, dtype: Any, saturate: bool = False, name: str | None = None
) -> Any:
    """Converts between image dtypes, rescaling: integers span 0..max, floats 0..1."""
    del name
    return _run("convert_image_dtype", (as_dtype(dtype).name, bool(saturate)), image)


def per_image_standardization(image: Any) -> Any:
    """``(x - mean) / max(stddev, 1 / sqrt(N))`` per image, as float32."""
    return _run("per_image_standardization", None, image)


def adjust_brightness(image: Any, delta: float) -> Any:
    """Adds ``delta`` (in the float image's 0..1 scale)."""
    return _run("adjust_brightness", float(delta), image)


def adjust_contrast(images: Any, contrast_factor: float) -> Any:
    """Scales each channel's distance from its mean by ``contrast_factor``."""
    return _run("adjust_contrast", float(contrast_factor), images)


def adjust_saturation(image: Any, saturation_factor: float, name: str | None = None) -> Any:
    """Scales saturation (in HSV) by ``saturation_factor``."""
    del name
    return _run("adjust_saturation", float(saturation_factor), image)


def adjust_hue(image: Any, delta: float, name: str | None = None) -> Any:
    """Rotates hue (in HSV) by ``delta``, in [-1, 1] of a full turn."""
    del name
    return _run("adjust_hue", float(delta), image)


def rgb_to_grayscale(images: Any, name: str | None = None) -> Any:
    """One channel: 0.2989 R + 0.5870 G + 0.1140 B."""
    del name
    return _run("rgb_to_grayscale", None, images)


def grayscale_to_rgb(images: Any, name: str | None = None) -> Any:
    """Three equal channels from one."""
    del name
    return _run("grayscale_to_rgb", None, images)


def rgb_to_hsv(images: Any, name: str | None = None) -> Any:
    """RGB floats in 0..1 to HSV."""
    del name
    return _run("rgb_to_hsv", None, images)


def hsv_to_rgb(images: Any, name: str | None = None) -> Any:
    """HSV floats to RGB."""
    del name
    return _run("hsv_to_rgb", None, images)


def normalize(image: Any, mean: Any, std: Any) -> Any:
    """``(x - mean) / std`` per channel, as float32 (one value applies to every channel);
    integer images are taken as the numbers they hold."""
    means = [float(v) for v in np.asarray(mean, dtype=np.float64).reshape(-1)]
    stds = [float(v) for v in np.asarray(std, dtype=np.float64).reshape(-1)]
    return _run("normalize", (means, stds), image)


# Random ops. Each draws from ``hr.random`` with the op's ``seed``: inside a traced map the
# draw comes from the element's own stream, so results do not depend on which thread ran the
# element (see ``docs/engine.md``); eagerly a seed makes the draw repeat.


def _dtype_of(image: Any) -> Any:
    return image.dtype if tracing.is_symbolic(image) else as_dtype(np.asarray(image).dtype)


def _flip_shape(image: Any) -> Any:
    return image.shape if tracing.is_symbolic(image) else None


def random_flip_left_right(image: Any, seed: int | None = None) -> Any:
    """Mirrors the width axis with probability 1/2."""
    dtype = _dtype_of(image)
    return _random_op("random_flip_left_right", None, image, seed, dtype, _flip_shape(image))


def random_flip_up_down(image: Any, seed: int | None = None) -> Any:
    """Mirrors the height axis with probability 1/2."""
    dtype = _dtype_of(image)
    return _random_op("random_flip_up_down", None, image, seed, dtype, _flip_shape(image))


def _in_float(image: Any, fn: Any) -> Any:
    """``fn`` on the image as float32 (integer images rescaled to 0..1 and back, saturating),
    as TensorFlow's adjust_* ops do."""
    dtype = _dtype_of(image)
    if dtype.is_floating:
        return fn(image)
    out = fn(convert_image_dtype(image, float32))
    return convert_image_dtype(out, dtype, saturate=True)


def random_brightness(image: Any, max_delta: float, seed: int | None = None) -> Any:
    """``adjust_brightness`` by a delta uniform in ``[-max_delta, max_delta)``."""
    if max_delta < 0:
        raise ValueError(f"random_brightness: max_delta must be non-negative, got {max_delta}")
    delta = random.uniform([], -float(max_delta), float(max_delta), seed=seed)
    return _in_float(image, lambda x: x + delta)


def random_contrast(image: Any, lower: float, upper: float, seed: int | None = None) -> Any:
    """``adjust_contrast`` by a factor uniform in ``[lower, upper)``: each channel's distance
    from its mean (over height and width) is scaled by it."""
    if not 0 <= lower < upper:
        raise ValueError(f"random_contrast: needs 0 <= lower < upper, got {lower}, {upper}")
    factor = random.uniform([], float(lower), float(upper), seed=seed)

    def scale(x: Any) -> Any:
        mean = math.reduce_mean(x, axis=[-3, -2], keepdims=True)
        return (x - mean) * factor + mean

    return _in_float(image, scale)


def _random_op(name: str, attrs: Any, image: Any, seed: int | None, dtype: Any, shape: Any) -> Any:
    if tracing.is_symbolic(image):
        return tracing.random_image_op(name, attrs, image, seed, dtype, shape)
    return _native.random_image_op(name, attrs, image, tracing.resolve_seed(seed))


def random_crop(value: Any, size: Any, seed: int | None = None, name: str | None = None) -> Any:
    """A ``size`` crop at a uniform position (``size`` has the image's rank; only height and
    width may be smaller than the image's)."""
    del name
    dims = [_size("size", int(d)) for d in np.asarray(size).reshape(-1)]
    return _random_op("random_crop", dims, value, seed, _dtype_of(value), tuple(dims))


def random_resized_crop(
    image: Any,
    size: Any,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    seed: int | None = None,
    method: str = "bilinear",
) -> Any:
    """The Inception-style training crop of one HWC image: a window covering a fraction of
    the image drawn from ``scale`` with an aspect ratio drawn log-uniformly from ``ratio``
    (up to ten tries, then a central crop), resized to ``size`` (float32, as ``resize``)."""
    height, width = (_size("size", int(v)) for v in np.asarray(size).reshape(-1))
    lo, hi = (float(v) for v in scale)
    r_lo, r_hi = (float(v) for v in ratio)
    if not 0 < lo <= hi:
        raise ValueError(f"random_resized_crop: scale must satisfy 0 < low <= high, got {scale}")
    if not 0 < r_lo <= r_hi:
        raise ValueError(f"random_resized_crop: ratio must satisfy 0 < low <= high, got {ratio}")
    method = str(method).lower()
    if method not in _METHODS:
        raise ValueError(f"random_resized_crop: method must be one of {', '.join(_METHODS)}")
    channels = image.shape[-1] if tracing.is_symbolic(image) and image.shape else None
    out_dtype = _dtype_of(image) if method == "nearest" else float32
    attrs = (height, width, (lo, hi), (r_lo, r_hi), method)
    return _random_op(
        "random_resized_crop",
        attrs,
        image,
        seed,
        out_dtype,
        (height, width, channels),
    )


def random_saturation(image: Any, lower: float, upper: float, seed: int | None = None) -> Any:
    """``adjust_saturation`` by a factor uniform in ``[lower, upper)``."""
    if not 0 <= lower < upper:
        raise ValueError(f"random_saturation: needs 0 <= lower < upper, got {lower}, {upper}")
    shape = image.shape if tracing.is_symbolic(image) else None
    attrs = (float(lower), float(upper))
    return _random_op("random_saturation", attrs, image, seed, _dtype_of(image), shape)


def random_hue(image: Any, max_delta: float, seed: int | None = None) -> Any:
    """``adjust_hue`` by a delta uniform in ``[-max_delta, max_delta)`` (at most 0.5)."""
    if not 0 <= max_delta <= 0.5:
        raise ValueError(f"random_hue: max_delta must be in [0, 0.5], got {max_delta}")
    shape = image.shape if tracing.is_symbolic(image) else None
    return _random_op("random_hue", float(max_delta), image, seed, _dtype_of(image), shape)
