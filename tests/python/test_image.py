"""hr.image: resizing against TensorFlow's own output (../shared/testdata/images), the other
ops against numpy, eagerly and inside traced map functions (which must agree)."""

import json

import headrace as hr
import numpy as np
import pytest
from testdata import reference_dir

IMAGES = reference_dir("images")
EXPECTED = json.loads((IMAGES / "expected.json").read_text())
NAMES = sorted(EXPECTED["images"])


def decoded(name):
    return np.load(IMAGES / f"{name}.decoded_rgb.npy")


def traced(fn, x):
    """``fn`` run inside a traced map over a one-element dataset."""
    ds = hr.Dataset.from_tensors(x).map(fn)
    assert "traced" in repr(ds), repr(ds)
    (out,) = list(ds)
    return out


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", ["bilinear", "nearest", "area", "bicubic"])
def test_resize_matches_tensorflow(name, method):
    reference = IMAGES / f"{name}.resize_224x160_{method}.npy"
    if not reference.exists():
        pytest.skip(f"no reference {reference.name}")
    want = np.load(reference)
    image = decoded(name)
    got = hr.image.resize(image, (224, 160), method=method)
    assert got.shape == want.shape == (224, 160, 3)
    # tf.image.resize: float32, except nearest, which keeps uint8.
    assert got.dtype == (np.uint8 if method == "nearest" else np.float32)
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), atol=1e-3)
    np.testing.assert_array_equal(
        traced(lambda x: hr.image.resize(x, [224, 160], method=method), image), got
    )


@pytest.mark.parametrize("name", NAMES)
def test_antialiased_downscale_matches_tensorflow(name):
    reference = IMAGES / f"{name}.resize_96x96_bilinear_antialias.npy"
    if not reference.exists():
        pytest.skip(f"no reference {reference.name}")
    got = hr.image.resize(decoded(name), (96, 96), antialias=True)
    np.testing.assert_allclose(got, np.load(reference), atol=1e-3)


def test_resize_a_batch_and_preserve_aspect_ratio():
    batch = np.stack([decoded(n) for n in NAMES[:3]])
    got = hr.image.resize(batch, (224, 160))
    assert got.shape == (3, 224, 160, 3)
    for i, n in enumerate(NAMES[:3]):
        np.testing.assert_array_equal(got[i], hr.image.resize(decoded(n), (224, 160)))
    # 250x333 into 224x224 keeps the ratio: the width limits.
    assert hr.image.resize(batch[0], (224, 224), preserve_aspect_ratio=True).shape == (168, 224, 3)
    with pytest.raises(ValueError, match="method must be one of"):
        hr.image.resize(batch, (2, 2), method="cubic")


def test_resize_of_a_decoded_image_of_unknown_size_is_traced():
    # A vector decoded from bytes has an unknown length; reshaped and resized, the size is
    # known again (the traced graph finds it by running the kernel).
    raw = decoded(NAMES[0])
    ds = hr.Dataset.from_tensors(raw.tobytes()).map(
        lambda r: hr.image.resize(hr.reshape(hr.io.decode_raw(r, hr.uint8), raw.shape), (32, 32))
    )
    assert ds.element_spec == hr.TensorSpec([32, 32, 3], hr.float32)
    np.testing.assert_array_equal(next(iter(ds)), hr.image.resize(raw, (32, 32)))


GEOMETRY = [
    (lambda x: hr.image.flip_left_right(x), lambda x: x[..., :, ::-1, :]),
    (lambda x: hr.image.flip_up_down(x), lambda x: x[..., ::-1, :, :]),
    (lambda x: hr.image.transpose(x), lambda x: np.swapaxes(x, -3, -2)),
    (lambda x: hr.image.rot90(x), lambda x: np.rot90(x, 1, axes=(-3, -2))),
    (lambda x: hr.image.rot90(x, k=3), lambda x: np.rot90(x, 3, axes=(-3, -2))),
    (
        lambda x: hr.image.crop_to_bounding_box(x, 10, 20, 100, 50),
        lambda x: x[..., 10:110, 20:70, :],
    ),
    (
        lambda x: hr.image.resize_with_crop_or_pad(x, 200, 400),
        # Height 250 → 200: crop 25 from the top; width 333 → 400: pad 33 on the left.
        lambda x: np.pad(
            x[..., 25:225, :, :],
            [(0, 0)] * (x.ndim - 3) + [(0, 0), (33, 34), (0, 0)],
        ),
    ),
]


@pytest.mark.parametrize(("ours", "reference"), GEOMETRY)
@pytest.mark.parametrize("batched", [False, True])
def test_geometry_equals_numpy(ours, reference, batched):
    image = decoded(NAMES[0])
    if batched:
        image = np.stack([image, decoded(NAMES[1])])
    want = reference(image)
    np.testing.assert_array_equal(ours(image), want)
    np.testing.assert_array_equal(traced(ours, image), want)


def test_pad_and_central_crop():
    image = np.arange(4 * 6 * 1, dtype=np.uint8).reshape(4, 6, 1)
    padded = hr.image.pad_to_bounding_box(image, 1, 2, 7, 9)
    want = np.zeros((7, 9, 1), np.uint8)
    want[1:5, 2:8] = image
    np.testing.assert_array_equal(padded, want)
    # tf.image.central_crop: start = int((size - size * fraction) / 2), and the box is
    # size - 2 * start: for 4x6 at 0.5, starts (1, 1) and a 2x4 box.
    np.testing.assert_array_equal(hr.image.central_crop(image, 0.5), image[1:3, 1:5])
    with pytest.raises(hr.errors.InvalidArgumentError, match="crop_to_bounding_box"):
        hr.image.crop_to_bounding_box(image, 2, 0, 3, 6)


def test_color_ops_follow_tf_formulas():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(8, 5, 3), dtype=np.uint8)
    as_float = hr.image.convert_image_dtype(image, hr.float32)
    assert as_float.dtype == np.float32
    np.testing.assert_allclose(as_float, image / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(hr.image.convert_image_dtype(as_float, hr.uint8), image)

    gray = hr.image.rgb_to_grayscale(as_float)
    np.testing.assert_allclose(
        gray[..., 0], as_float @ np.array([0.2989, 0.5870, 0.1140], np.float32), rtol=1e-5
    )
    np.testing.assert_array_equal(hr.image.grayscale_to_rgb(gray), np.repeat(gray, 3, axis=-1))

    std = hr.image.per_image_standardization(image)
    x = image.astype(np.float32)
    want = (x - x.mean()) / max(x.std(), 1 / np.sqrt(x.size))
    np.testing.assert_allclose(std, want, rtol=1e-4, atol=1e-5)

    np.testing.assert_allclose(
        hr.image.normalize(image, [10.0, 20.0, 30.0], [2.0, 4.0, 8.0]),
        (x - np.array([10, 20, 30], np.float32)) / np.array([2, 4, 8], np.float32),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        hr.image.hsv_to_rgb(hr.image.rgb_to_hsv(as_float)), as_float, atol=1e-5
    )
    bright = hr.image.adjust_brightness(as_float, 0.1)
    np.testing.assert_allclose(bright, as_float + 0.1, atol=1e-6)

    def pipeline(x):
        f = hr.image.convert_image_dtype(x, hr.float32)
        return hr.image.normalize(hr.image.flip_left_right(f), [0.5], [0.25])

    np.testing.assert_allclose(traced(pipeline, image), pipeline(image), rtol=1e-6)


def test_random_ops_depend_on_the_seed_and_the_element_not_the_thread():
    image = decoded(NAMES[0])[:32, :48]

    def augment(x):
        x = hr.image.random_flip_left_right(x, seed=1)
        x = hr.image.random_flip_up_down(x, seed=2)
        x = hr.image.random_brightness(x, 0.2, seed=3)
        return hr.image.random_contrast(x, 0.5, 1.5, seed=4)

    ds = hr.Dataset.from_tensors(image).repeat(64)
    serial = list(ds.map(augment))
    parallel = list(ds.map(augment, num_parallel_calls=4, deterministic=True))
    assert "traced" in repr(ds.map(augment))
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(out.dtype == np.uint8 and out.shape == image.shape for out in serial)
    # Each flip happens about half the time (64 draws; 10..54 is far outside chance).
    flips = sum(
        np.array_equal(hr.image.random_flip_left_right(image, seed=s), image[:, ::-1])
        for s in range(64)
    )
    assert 10 < flips < 54
    # Brightness moves every pixel by the same delta, within max_delta (before saturation).
    f = image.astype(np.float32) / 255
    out = hr.image.random_brightness(f, 0.2, seed=5)
    delta = out - f
    assert np.ptp(delta) < 1e-6 and abs(delta.flat[0]) <= 0.2
    with pytest.raises(ValueError, match="lower < upper"):
        hr.image.random_contrast(f, 1.5, 0.5)


@pytest.mark.parametrize("name", NAMES)
def test_decoding_equals_tensorflow(name):
    contents = (IMAGES / name).read_bytes()
    want = decoded(name)
    got = hr.image.decode_image(contents, channels=3)
    assert got.dtype == np.uint8 and got.shape == want.shape
    # PNG exactly, JPEG within 1 (libjpeg-turbo with TensorFlow's settings gives 0).
    assert np.abs(got.astype(int) - want.astype(int)).max() == 0
    decode = hr.image.decode_jpeg if name.endswith(".jpg") else hr.image.decode_png
    np.testing.assert_array_equal(decode(contents, channels=3), want)
    # In a traced map: height and width unknown, channels known.
    ds = hr.Dataset.from_tensors(contents).map(lambda c: decode(c, channels=3))
    assert "traced" in repr(ds)
    assert ds.element_spec == hr.TensorSpec([None, None, 3], hr.uint8)
    np.testing.assert_array_equal(next(iter(ds)), want)


def test_decode_errors_and_the_pixel_limit():
    jpeg = (IMAGES / "baseline420.jpg").read_bytes()
    assert hr.io.extract_jpeg_shape(jpeg).tolist() == [250, 333, 3]
    assert hr.image.decode_jpeg(jpeg, ratio=4).shape == (63, 84, 3)
    with pytest.raises(hr.errors.InvalidArgumentError, match="truncated"):
        hr.image.decode_jpeg(jpeg[: len(jpeg) // 2])
    with pytest.raises(hr.errors.InvalidArgumentError, match="unknown image file format"):
        hr.image.decode_image(b"not an image")
    old = hr.image.set_max_pixels(1000)
    try:
        with pytest.raises(hr.errors.InvalidArgumentError, match="more than the limit of 1000"):
            hr.image.decode_jpeg(jpeg)
    finally:
        hr.image.set_max_pixels(old)
    # Inside a pipeline a bad image is an error at its element; the others decode.
    ds = hr.Dataset.from_tensor_slices([jpeg, b"junk", jpeg]).map(
        lambda c: hr.image.decode_jpeg(c, channels=3)
    )
    it = iter(ds)
    assert next(it).shape == (250, 333, 3)
    with pytest.raises(hr.errors.InvalidArgumentError, match="decode_jpeg"):
        next(it)
    assert next(it).shape == (250, 333, 3)


def test_random_crops():
    image = decoded(NAMES[0])
    crop = hr.image.random_crop(image, [100, 120, 3], seed=5)
    assert crop.shape == (100, 120, 3) and crop.dtype == np.uint8
    # The crop is a window of the image: find it.
    matches = [
        (i, j)
        for i in range(251 - 100)
        for j in range(334 - 120)
        if np.array_equal(image[i : i + 100, j : j + 120], crop)
    ]
    assert matches, "a window of the image"
    np.testing.assert_array_equal(hr.image.random_crop(image, [100, 120, 3], seed=5), crop)
    with pytest.raises(hr.errors.InvalidArgumentError, match="larger than the image"):
        hr.image.random_crop(image, [300, 10, 3], seed=1)

    def train(x):
        x = hr.image.random_resized_crop(x, (224, 224), seed=9)
        return hr.image.random_flip_left_right(x, seed=10) / 255.0

    ds = hr.Dataset.from_tensors(image).repeat(16)
    serial = list(ds.map(train))
    parallel = list(ds.map(train, num_parallel_calls=4))
    assert "traced" in repr(ds.map(train))
    assert ds.map(train).element_spec == hr.TensorSpec([224, 224, 3], hr.float32)
    for a, b in zip(serial, parallel, strict=True):
        assert a.shape == (224, 224, 3) and a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(serial[0], s) for s in serial[1:]), "a new crop per element"


def test_encoders_round_trip():
    image = decoded("rgb.png")
    png = hr.image.encode_png(image)
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")
    np.testing.assert_array_equal(hr.io.decode_png(png), image)
    jpeg = hr.io.encode_jpeg(image, quality=95)
    back = hr.image.decode_jpeg(jpeg, channels=3)
    assert back.shape == image.shape
    assert np.abs(back.astype(float) - image).mean() < 4
    ds = hr.Dataset.from_tensors(image).map(lambda x: hr.image.encode_png(x))
    assert "traced" in repr(ds) and ds.element_spec == hr.TensorSpec([], hr.string)
    assert next(iter(ds)) == png
    with pytest.raises(hr.errors.InvalidArgumentError, match="encode_jpeg"):
        hr.image.encode_jpeg(image.astype(np.float32))


def test_resize_with_pad_decode_and_crop_and_random_color():
    image = decoded(NAMES[0])  # 250 x 333
    padded = hr.image.resize_with_pad(image, 224, 224)
    assert padded.shape == (224, 224, 3) and padded.dtype == np.float32
    # TensorFlow's float32 rule (checked against tf.image.resize_with_pad, equal to the
    # bit): ratio 333/224; 250/ratio = 168.17 → 168 rows, padded by floor(55.83 / 2) = 27
    # above; 333/ratio = 223.99998 in float32 → 223 columns, none padded on the left.
    np.testing.assert_array_equal(padded[:27], 0)
    np.testing.assert_array_equal(padded[27 + 168 :], 0)
    np.testing.assert_array_equal(padded[:, 223:], 0)
    np.testing.assert_array_equal(padded[27 : 27 + 168, :223], hr.image.resize(image, (168, 223)))

    jpeg = (IMAGES / "baseline420.jpg").read_bytes()
    crop = hr.image.decode_and_crop_jpeg(jpeg, [10, 20, 100, 150], channels=3)
    np.testing.assert_array_equal(crop, decoded("baseline420.jpg")[10:110, 20:170])
    ds = hr.Dataset.from_tensors(jpeg).map(
        lambda c: hr.image.decode_and_crop_jpeg(c, [10, 20, 100, 150], channels=3)
    )
    assert ds.element_spec == hr.TensorSpec([100, 150, 3], hr.uint8)
    np.testing.assert_array_equal(next(iter(ds)), crop)

    f = image.astype(np.float32) / 255
    sat = hr.image.random_saturation(f, 0.5, 1.5, seed=3)
    hue = hr.image.random_hue(f, 0.1, seed=3)
    assert sat.shape == hue.shape == f.shape
    np.testing.assert_array_equal(hr.image.random_saturation(f, 0.5, 1.5, seed=3), sat)
    augmented = (
        hr.Dataset.from_tensors(f)
        .repeat(8)
        .map(
            lambda x: hr.image.random_hue(
                hr.image.random_saturation(x, 0.5, 1.5, seed=1), 0.2, seed=2
            )
        )
    )
    assert "traced" in repr(augmented)
    outs = list(augmented)
    assert not np.array_equal(outs[0], outs[1])
    with pytest.raises(ValueError, match="max_delta"):
        hr.image.random_hue(f, 0.7)


JPEGS = [n for n in NAMES if n.endswith(".jpg")]


@pytest.mark.parametrize("name", JPEGS)
def test_a_fused_decode_and_crop_equals_decoding_then_cropping(name):
    # A traced decode whose only use is a crop decodes just the window (ops/fusion.rs).
    # Returning the decoded image too keeps the two ops apart: the exact path, same seeds.
    contents = (IMAGES / name).read_bytes()

    def decoded_and_cropped(x):
        # Each crop with its own decode (random ops draw from streams tied to their place
        # in the graph, so both functions below have the same nodes in the same order).
        pairs = []
        for crop in (
            lambda i: hr.image.crop_to_bounding_box(i, 17, 33, 120, 201),
            lambda i: hr.image.central_crop(i, 0.5),
            lambda i: hr.image.random_crop(i, [100, 150, 3], seed=3),
            lambda i: hr.image.random_resized_crop(i, (64, 64), seed=4),
        ):
            image = hr.image.decode_jpeg(x, channels=3)
            pairs.append((image, crop(image)))
        return pairs

    def fused(x):
        return tuple(c for _, c in decoded_and_cropped(x))

    def crops(x):
        pairs = decoded_and_cropped(x)
        return tuple(c for _, c in pairs) + tuple(i for i, _ in pairs)

    ds = hr.Dataset.from_tensors(contents).repeat(8)
    for a, b in zip(ds.map(fused), ds.map(crops), strict=True):
        for x, y in zip(a, b[:4], strict=True):
            np.testing.assert_array_equal(x, y)
    image = decoded(name)
    first = next(iter(ds.map(fused)))
    np.testing.assert_array_equal(first[0], image[17:137, 33:234])


def test_a_fused_crop_of_a_bad_file_raises_as_the_two_ops_do():
    contents = (IMAGES / "baseline420.jpg").read_bytes()

    def crop(x):
        return hr.image.random_resized_crop(hr.image.decode_jpeg(x, channels=3), (32, 32), seed=1)

    for bad, match in [
        (contents[: len(contents) // 2], "truncated"),
        (b"not an image", "not a JPEG"),
    ]:
        with pytest.raises(hr.errors.InvalidArgumentError, match=match):
            list(hr.Dataset.from_tensors(bad).map(crop))


def test_approximate_image_ops_is_close_and_only_when_asked():
    def thumbnail(x):
        return hr.image.resize(hr.image.decode_jpeg(x, channels=3), (48, 64), antialias=True)

    def aliased(x):
        return hr.image.resize(hr.image.decode_jpeg(x, channels=3), (48, 64))

    options = hr.Options(approximate_image_ops=True)
    assert options.approximate_image_ops is True
    for name in JPEGS:
        ds = hr.Dataset.from_tensors((IMAGES / name).read_bytes())
        exact = next(iter(ds.map(thumbnail)))
        approx = next(iter(ds.map(thumbnail).with_options(options)))
        assert ds.map(thumbnail).with_options(options).options() == options
        assert approx.shape == exact.shape == (48, 64, 3)
        mse = np.mean((approx.astype(np.float64) - exact) ** 2)
        psnr = 10 * np.log10(255.0**2 / mse)
        assert 38.0 <= psnr < 80, (name, psnr)  # close, and not the exact path
        # Without antialias the resize aliases and the approximation is not used.
        np.testing.assert_array_equal(
            next(iter(ds.map(aliased).with_options(options))), next(iter(ds.map(aliased)))
        )


def test_a_bad_image_in_a_pipeline_names_the_element():
    good = (IMAGES / "baseline420.jpg").read_bytes()
    contents = np.array([good, good, b"not an image", good], dtype=object)

    def decode(x):
        return hr.image.decode_jpeg(x, channels=3)

    for npc in (None, 2):
        ds = hr.Dataset.from_tensor_slices(contents).map(decode, num_parallel_calls=npc)
        with pytest.raises(hr.errors.InvalidArgumentError) as caught:
            list(ds)
        message = str(caught.value)
        assert "decode on element 2: decode_jpeg: invalid JPEG data: not a JPEG" in message
        assert len(list(ds.ignore_errors())) == 3
