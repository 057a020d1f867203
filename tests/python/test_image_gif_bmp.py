"""hr.image.decode_gif, decode_bmp and decode_image on GIF and BMP, against TensorFlow's own
output (tests/data/images/gif_bmp.json, made by make_gif_bmp.py): eagerly, traced in a map,
the dispatch of decode_image and its expand_animations, bad files and the pixel limit."""

import json
from pathlib import Path

import headrace as hr
import numpy as np
import pytest
from testdata import reference_dir

DATA = Path(__file__).resolve().parents[1] / "data" / "images"
CASES = json.loads((DATA / "gif_bmp.json").read_text())["cases"]


def read(name):
    return (DATA / name).read_bytes()


def decode(case, contents):
    op = case["op"]
    if op == "decode_gif":
        return hr.io.decode_gif(contents)
    if op == "decode_bmp":
        return hr.io.decode_bmp(contents, channels=case["channels"])
    return hr.io.decode_image(
        contents, channels=case["channels"], expand_animations=case["expand_animations"]
    )


def case_id(case):
    args = "-".join(f"{k}={v}" for k, v in case.items() if k in ("channels", "expand_animations"))
    return f"{case['file']}-{case['op']}-{args}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_decoding_equals_tensorflow(case):
    contents = read(case["file"])
    if "npy" in case:
        want = np.load(DATA / case["npy"])
        got = decode(case, contents)
        assert got.dtype == np.uint8 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    else:
        # Data TensorFlow refuses; a channel count decode_bmp never takes is a ValueError,
        # as decode_jpeg's.
        with pytest.raises((hr.errors.InvalidArgumentError, ValueError)):
            decode(case, contents)


def traced(fn, contents):
    ds = hr.Dataset.from_tensors(contents).map(fn)
    assert "traced" in repr(ds), repr(ds)
    return ds, next(iter(ds))


def test_traced_decoders_declare_tensorflows_shapes():
    gif = read("gif_animated.gif")
    frames = hr.image.decode_gif(gif)
    ds, got = traced(hr.image.decode_gif, gif)
    assert ds.element_spec == hr.TensorSpec([None, None, None, 3], hr.uint8)
    np.testing.assert_array_equal(got, frames)

    bmp = read("bmp_32.bmp")
    for channels, spec in [(0, [None, None, None]), (3, [None, None, 3]), (4, [None, None, 4])]:
        ds, got = traced(lambda c, n=channels: hr.io.decode_bmp(c, channels=n), bmp)
        assert ds.element_spec == hr.TensorSpec(spec, hr.uint8)
        np.testing.assert_array_equal(got, hr.io.decode_bmp(bmp, channels=channels))

    # decode_image: unknown rank with expand_animations (a GIF is 4-D, anything else 3-D),
    # HWC without; float32 converts the same way either way.
    ds, got = traced(hr.image.decode_image, gif)
    assert ds.element_spec == hr.TensorSpec(None, hr.uint8)
    np.testing.assert_array_equal(got, frames)
    ds, got = traced(lambda c: hr.image.decode_image(c, expand_animations=False), gif)
    assert ds.element_spec == hr.TensorSpec([None, None, None], hr.uint8)
    np.testing.assert_array_equal(got, frames[0])
    ds, got = traced(lambda c: hr.image.decode_image(c, channels=3, expand_animations=False), bmp)
    assert ds.element_spec == hr.TensorSpec([None, None, 3], hr.uint8)
    np.testing.assert_array_equal(got, hr.io.decode_bmp(bmp, channels=3))
    ds, got = traced(lambda c: hr.image.decode_image(c, dtype=hr.float32), gif)
    assert ds.element_spec == hr.TensorSpec(None, hr.float32)
    np.testing.assert_allclose(got, frames / np.float32(255), rtol=1e-6)
    eager = hr.image.decode_image(gif, dtype=hr.float32)
    np.testing.assert_array_equal(got, eager)


def test_decode_image_dispatches_on_the_signature():
    shared = reference_dir("images")
    jpeg = (shared / "baseline420.jpg").read_bytes()
    png = (shared / "rgba.png").read_bytes()
    gif, bmp = read("gif_animated.gif"), read("bmp_32_v4_top_down.bmp")
    # expand_animations=False: every format HWC, so one traced function takes them all.
    files = np.array([jpeg, png, gif, bmp], dtype=object)
    ds = hr.Dataset.from_tensor_slices(files).map(
        lambda c: hr.image.decode_image(c, channels=3, expand_animations=False)
    )
    assert "traced" in repr(ds)
    shapes = [x.shape for x in ds]
    assert shapes == [(250, 333, 3), (250, 333, 3), (15, 20, 3), (5, 3, 3)]
    # expand_animations=True (the default): only a GIF gains the frames dimension.
    assert hr.image.decode_image(jpeg).shape == (250, 333, 3)
    assert hr.image.decode_image(png).shape == (250, 333, 4)
    assert hr.image.decode_image(gif).shape == (3, 15, 20, 3)
    assert hr.image.decode_image(read("gif_static.gif")).shape == (1, 17, 23, 3)
    assert hr.image.decode_image(bmp).shape == (5, 3, 4)
    # decode_gif reads a JPEG or PNG as one frame, as TensorFlow's op does.
    np.testing.assert_array_equal(
        hr.image.decode_gif(jpeg), hr.image.decode_jpeg(jpeg, channels=3)[None]
    )


def test_expand_animations_and_image_ops_in_a_trace():
    gif = read("gif_animated.gif")

    def thumbnail(c):
        image = hr.image.decode_image(c, channels=3, expand_animations=False)
        return hr.image.resize(image, (8, 8))

    ds = hr.Dataset.from_tensors(gif).map(thumbnail)
    assert "traced" in repr(ds)
    assert ds.element_spec == hr.TensorSpec([8, 8, 3], hr.float32)
    # With expand_animations (unknown rank, as in TensorFlow) the function cannot be traced:
    # it runs as Python, and still gives the frames resized.
    ds = hr.Dataset.from_tensors(gif).map(
        lambda c: hr.image.resize(hr.image.decode_image(c), (8, 8))
    )
    assert "traced" not in repr(ds)
    assert next(iter(ds)).shape == (3, 8, 8, 3)


def test_bad_files_say_what_is_wrong():
    with pytest.raises(hr.errors.InvalidArgumentError, match="one of JPEG, PNG, GIF or BMP"):
        hr.image.decode_image(b"not an image")
    with pytest.raises(
        hr.errors.InvalidArgumentError, match="found color index 12 outside of color map range 8"
    ):
        hr.image.decode_gif(read("gif_bad_index.gif"))
    with pytest.raises(hr.errors.InvalidArgumentError, match="missing color map for frame 0"):
        hr.image.decode_gif(read("gif_no_palette.gif"))
    with pytest.raises(hr.errors.InvalidArgumentError, match="truncated"):
        hr.image.decode_gif(read("gif_truncated.gif"))
    with pytest.raises(hr.errors.InvalidArgumentError, match="channels must be 0 or 3 for GIF"):
        hr.image.decode_image(read("gif_static.gif"), channels=1)
    with pytest.raises(hr.errors.InvalidArgumentError, match="TensorFlow requires them equal"):
        hr.image.decode_bmp(read("bmp_trailing_bytes.bmp"))
    with pytest.raises(hr.errors.InvalidArgumentError, match="16 bits per pixel"):
        hr.image.decode_bmp(read("bmp_16.bmp"))
    with pytest.raises(ValueError, match="must be 0, 3 or 4 for BMP"):
        hr.image.decode_bmp(read("bmp_24.bmp"), channels=1)
    with pytest.raises(hr.errors.InvalidArgumentError, match="use decode_gif or decode_image"):
        hr.image.decode_bmp(read("gif_static.gif"))
    # Damage after the first frame: the frames before it, as TensorFlow.
    assert hr.image.decode_gif(read("gif_cut_in_second_frame.gif")).shape == (1, 10, 12, 3)
    # Inside a pipeline a bad file is an error at its element; the others decode. (An
    # object array: a list of bytes would become numpy "S" strings, which drop the BMP's
    # final zero bytes.)
    files = np.array(
        [read("gif_static.gif"), read("gif_truncated.gif"), read("bmp_24.bmp")], dtype=object
    )
    ds = hr.Dataset.from_tensor_slices(files).map(
        lambda c: hr.image.decode_image(c, channels=3, expand_animations=False)
    )
    it = iter(ds)
    assert next(it).shape == (17, 23, 3)
    with pytest.raises(hr.errors.InvalidArgumentError, match="decode_image: invalid GIF data"):
        next(it)
    assert next(it).shape == (5, 7, 3)


def test_the_pixel_limit():
    gif, bmp = read("gif_animated.gif"), read("bmp_24.bmp")  # 3 frames of 20x15; 7x5
    old = hr.image.set_max_pixels(899)
    try:
        with pytest.raises(
            hr.errors.InvalidArgumentError, match=r"3 frame\(s\) of 20x15 \(900 pixels\)"
        ):
            hr.image.decode_gif(gif)
        # The first frame alone (expand_animations=False) is 300 pixels.
        assert hr.image.decode_image(gif, expand_animations=False).shape == (15, 20, 3)
        hr.image.set_max_pixels(34)
        with pytest.raises(hr.errors.InvalidArgumentError, match="more than the limit of 34"):
            hr.image.decode_bmp(bmp)
        hr.image.set_max_pixels(35)
        assert hr.image.decode_bmp(bmp).shape == (5, 7, 3)
    finally:
        assert hr.image.set_max_pixels(old) == 35
    assert hr.image.decode_gif(gif).shape == (3, 15, 20, 3)
