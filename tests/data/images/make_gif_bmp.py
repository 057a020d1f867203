"""Writes small GIF and BMP files and TensorFlow's decoding of them.

Run from the repository root with TensorFlow installed (`.venv/bin/python
tests/data/images/make_gif_bmp.py`). Pillow is not needed: the files are written byte by byte
here (a GIF with a real LZW encoder, a BMP row by row), which also lets them hold what a
general encoder would not write (a frame larger than the logical screen, a transparent index
outside the palette, a 32-bit BI_RGB alpha byte).

Output, beside this script:
- `gif_*.gif`, `bmp_*.bmp`: the files;
- `gif_bmp.json`: TensorFlow's version and, per case, the file, the op (`decode_gif`,
  `decode_bmp` with `channels`, `decode_image` with `channels` and `expand_animations`) and
  either the `.npy` holding TensorFlow's uint8 output or TensorFlow's error message;
- `gif_bmp_*.npy`: those outputs.
"""

import pathlib
import struct

import numpy as np
import tensorflow as tf
from reference_json import write_cases

HERE = pathlib.Path(__file__).resolve().parent

# --- GIF ------------------------------------------------------------------------------------


def lzw(indices, min_code_size):
    """GIF's LZW: variable-width codes (up to 12 bits), packed least significant bit first,
    with a clear code first and whenever the table is full, and the end code last. A code is
    written at the current width, which then grows once the next free code no longer fits
    (the classic compress/GIF rule, no "early change")."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    out = []
    state = {"width": min_code_size + 1, "next": end + 1}

    def emit(code, reset=False):
        out.append((code, state["width"]))
        if reset:
            state["width"], state["next"] = min_code_size + 1, end + 1
        elif state["next"] >= (1 << state["width"]) and state["width"] < 12:
            state["width"] += 1

    emit(clear, reset=True)
    table = {(i,): i for i in range(clear)}
    prefix = ()
    for index in indices:
        candidate = (*prefix, index)
        if candidate in table:
            prefix = candidate
            continue
        emit(table[prefix])
        if state["next"] < 4096:
            table[candidate] = state["next"]
            state["next"] += 1
        else:
            emit(clear, reset=True)
            table = {(i,): i for i in range(clear)}
        prefix = (index,)
    emit(table[prefix])
    emit(end)
    bits, nbits, data = 0, 0, bytearray()
    for code, w in out:
        bits |= code << nbits
        nbits += w
        while nbits >= 8:
            data.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        data.append(bits & 0xFF)
    return bytes(data)


def sub_blocks(data):
    out = bytearray()
    for i in range(0, len(data), 255):
        chunk = data[i : i + 255]
        out += bytes([len(chunk)]) + chunk
    return bytes(out + b"\x00")


def palette_bytes(colors):
    """A color table of 2**n entries (padded with black) and its size field n - 1."""
    n = 1
    while (1 << n) < len(colors):
        n += 1
    table = list(colors) + [(0, 0, 0)] * ((1 << n) - len(colors))
    return bytes(c for rgb in table for c in rgb), n - 1


def interlaced_rows(height):
    return [
        *range(0, height, 8),
        *range(4, height, 8),
        *range(2, height, 4),
        *range(1, height, 2),
    ]


def gif(screen, global_colors, frames, trailer=True):
    """A GIF89a. `frames`: dicts with `pixels` (2-D indices), and optionally `left`, `top`,
    `colors` (a local table), `transparent` (an index), `disposal`, `interlace`."""
    width, height = screen
    out = bytearray(b"GIF89a")
    flags = 0
    table = b""
    if global_colors is not None:
        table, size = palette_bytes(global_colors)
        flags = 0x80 | (7 << 4) | size
    out += struct.pack("<HHBBB", width, height, flags, 0, 0) + table
    for frame in frames:
        pixels = np.asarray(frame["pixels"], dtype=np.uint8)
        fh, fw = pixels.shape
        transparent = frame.get("transparent")
        disposal = frame.get("disposal", 0)
        if transparent is not None or disposal:
            packed = (disposal << 2) | (1 if transparent is not None else 0)
            out += b"\x21\xf9\x04" + struct.pack("<BHB", packed, 10, transparent or 0) + b"\x00"
        local, lflags = b"", 0
        if "colors" in frame:
            local, size = palette_bytes(frame["colors"])
            lflags = 0x80 | size
        rows = list(range(fh))
        if frame.get("interlace"):
            lflags |= 0x40
            rows = interlaced_rows(fh)
        out += b"\x2c" + struct.pack(
            "<HHHHB", frame.get("left", 0), frame.get("top", 0), fw, fh, lflags
        )
        out += local
        ordered = pixels[rows].reshape(-1).tolist()
        min_code_size = max(2, int(max(ordered)).bit_length())
        out += bytes([min_code_size]) + sub_blocks(lzw(ordered, min_code_size))
    if trailer:
        out += b"\x3b"
    return bytes(out)


def pattern(h, w, colors, seed):
    rng = np.random.default_rng(seed)
    base = (np.add.outer(np.arange(h), np.arange(w)) // 2) % colors
    noise = rng.integers(0, colors, (h, w))
    return np.where(rng.random((h, w)) < 0.3, noise, base).astype(np.uint8)


PALETTE = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
PALETTE += [(255, 0, 255), (200, 200, 200), (90, 30, 160), (17, 99, 241)]
LOCAL = [(250, 128, 114), (34, 139, 34), (70, 130, 180), (255, 215, 0)]


def gifs():
    files = {}
    files["gif_static.gif"] = gif((23, 17), PALETTE, [{"pixels": pattern(17, 23, 10, 1)}])
    # Three frames on a 20x15 canvas: a full one, a smaller one at an offset with its own
    # palette, some transparent pixels and disposal "restore to background" (which
    # TensorFlow ignores: each frame starts from the one before), and a full interlaced one
    # whose transparent pixels keep the frame before.
    small = pattern(6, 9, 4, 2)
    small[::2, ::3] = 3
    third = pattern(15, 20, 10, 3)
    third[4:9, 6:14] = 9
    files["gif_animated.gif"] = gif(
        (20, 15),
        PALETTE,
        [
            {"pixels": pattern(15, 20, 10, 4)},
            {
                "pixels": small,
                "left": 5,
                "top": 4,
                "colors": LOCAL,
                "transparent": 3,
                "disposal": 2,
            },
            {"pixels": third, "transparent": 9, "interlace": True},
        ],
    )
    # A first frame smaller than the canvas, which is the largest frame (the logical screen,
    # here 40x40, is ignored): the rest of frame 0 is black; its transparent pixels are black.
    first = pattern(6, 8, 10, 5)
    first[0, :] = 7
    files["gif_partial_first.gif"] = gif(
        (40, 40),
        PALETTE,
        [
            {"pixels": first, "left": 2, "top": 2, "transparent": 7},
            {"pixels": pattern(8, 10, 4, 6)[:, :10], "left": 0, "top": 0, "colors": LOCAL},
        ],
    )
    # A frame reaching past the canvas (the largest width and height) is cut at its edge.
    files["gif_offset.gif"] = gif(
        (12, 10),
        PALETTE,
        [
            {"pixels": pattern(10, 12, 10, 7)},
            {"pixels": pattern(4, 5, 10, 8), "left": 9, "top": 8},
        ],
    )
    # A GIF without its trailer: TensorFlow decodes the complete frames.
    files["gif_no_trailer.gif"] = gif(
        (8, 6),
        PALETTE,
        [{"pixels": pattern(6, 8, 10, 9)}, {"pixels": pattern(6, 8, 10, 10)}],
        trailer=False,
    )
    # 256 colors, 12-bit codes and a full table (the encoder starts over with a clear code).
    rng = np.random.default_rng(14)
    colors = [tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(256)]
    files["gif_256_colors.gif"] = gif(
        (64, 48), colors, [{"pixels": rng.integers(0, 256, (48, 64))}]
    )
    # A transparent index past the palette is not an error: the check for transparency
    # comes first (frame 0's transparent pixels are black).
    clear = pattern(5, 6, 4, 15)
    clear[1:3, 2:5] = 6
    files["gif_transparent_past_palette.gif"] = gif(
        (6, 5), PALETTE[:4], [{"pixels": clear, "transparent": 6}]
    )
    # Any version after "GIF8" (giflib does not look at it).
    files["gif_odd_version.gif"] = b"GIF8xa" + files["gif_static.gif"][6:]
    # Damage after the first frame: TensorFlow keeps the frames before the damaged one.
    three = [
        {"pixels": pattern(10, 12, 10, 16)},
        {"pixels": pattern(10, 12, 10, 17), "transparent": 2},
        {"pixels": pattern(10, 12, 10, 18), "transparent": 3},
    ]
    one = len(gif((12, 10), PALETTE, three[:1], trailer=False))
    two = len(gif((12, 10), PALETTE, three[:2], trailer=False))
    whole = gif((12, 10), PALETTE, three)
    files["gif_cut_in_second_frame.gif"] = whole[: (one + two) // 2]
    files["gif_cut_before_third_frame.gif"] = whole[: two + 4]  # inside its control block
    garbage = bytearray(whole)
    garbage[one + 20 : one + 40] = b"\xff" * 20  # codes past the table in frame 1
    files["gif_damaged_second_frame.gif"] = bytes(garbage)
    # Bad files: a color index past the table, no color table, the first frame cut, a frame
    # of zero width, no frame at all.
    bad = pattern(6, 8, 8, 11)
    bad[3, 3] = 12
    files["gif_bad_index.gif"] = gif((8, 6), PALETTE[:8], [{"pixels": bad}])
    files["gif_no_palette.gif"] = gif((8, 6), None, [{"pixels": pattern(6, 8, 4, 12)}])
    whole = gif((16, 16), PALETTE, [{"pixels": pattern(16, 16, 10, 13)}])
    files["gif_truncated.gif"] = whole[: len(whole) // 2 + 20]
    zero = bytearray(gif((8, 6), PALETTE, [{"pixels": pattern(6, 8, 10, 19)}]))
    zero[13 + 48 + 5 : 13 + 48 + 7] = b"\x00\x00"  # the frame's width
    files["gif_zero_width.gif"] = bytes(zero)
    files["gif_no_frames.gif"] = gif((8, 6), PALETTE, [])
    return files


# --- BMP ------------------------------------------------------------------------------------


def bmp(pixels, bits, top_down=False, header=40, palette=None, masks=None, extra=b""):
    """A BMP of `pixels` ((h, w) indices for 8 bits, else (h, w, 3|4) RGB(A)): the pixel
    data follows the headers (BITMAPINFOHEADER, or V4 with `masks` for BI_BITFIELDS)."""
    pixels = np.asarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    row_size = (bits * w + 31) // 32 * 4
    rows = []
    for r in range(h):
        row = pixels[r]
        if bits == 8:
            data = row.tobytes()
        elif bits == 24:
            data = row[:, [2, 1, 0]].tobytes()
        else:
            data = row[:, [2, 1, 0, 3]].tobytes()
        rows.append(data + b"\x00" * (row_size - len(data)))
    if not top_down:
        rows.reverse()
    table = b""
    if palette is not None:
        table = b"".join(bytes([b, g, r, 0]) for r, g, b in palette)
    compression = 3 if masks else 0
    info = struct.pack(
        "<IiiHHIIiiII",
        header,
        w,
        -h if top_down else h,
        1,
        bits,
        compression,
        row_size * h,
        2835,
        2835,
        len(palette or []),
        0,
    )
    if header > 40:
        info += struct.pack("<4I", *(masks or (0, 0, 0, 0)))
        info += b"BGRs" + b"\x00" * (header - 40 - 20)
    offset = 14 + len(info) + len(table)
    data = b"".join(rows)
    file_header = b"BM" + struct.pack("<IHHI", offset + len(data) + len(extra), 0, 0, offset)
    return file_header + info + table + data + extra


def rgb(h, w, seed, alpha=False):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, 4 if alpha else 3))
    return image.astype(np.uint8)


def bmps():
    files = {}
    files["bmp_24.bmp"] = bmp(rgb(5, 7, 1), 24)  # rows padded to 4 bytes
    files["bmp_24_top_down.bmp"] = bmp(rgb(6, 5, 2), 24, top_down=True)
    files["bmp_32.bmp"] = bmp(rgb(4, 6, 3, alpha=True), 32)  # BI_RGB: the 4th byte is alpha
    files["bmp_32_v4_top_down.bmp"] = bmp(
        rgb(5, 3, 4, alpha=True),
        32,
        top_down=True,
        header=108,
        masks=(0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000),
    )
    # Masks in RGBA order: TensorFlow does not apply them, it reads BGRA as always.
    files["bmp_32_v4_rgba_masks.bmp"] = bmp(
        rgb(3, 4, 8, alpha=True),
        32,
        header=108,
        masks=(0x000000FF, 0x0000FF00, 0x00FF0000, 0xFF000000),
    )
    gray = [(i, i, i) for i in range(256)]
    files["bmp_8_gray.bmp"] = bmp(np.arange(35).reshape(5, 7) * 7, 8, palette=gray)
    # An 8-bit file with a color palette: TensorFlow gives the indices, as gray.
    files["bmp_8_palette.bmp"] = bmp(np.arange(12).reshape(3, 4) % 4, 8, palette=LOCAL)
    # Bad files: bytes after the pixels, a cut file, 16 bits per pixel.
    files["bmp_trailing_bytes.bmp"] = bmp(rgb(3, 4, 5), 24, extra=b"\x00\x00")
    whole = bmp(rgb(8, 8, 6), 24)
    files["bmp_truncated.bmp"] = whole[:-10]
    sixteen = bytearray(bmp(rgb(2, 2, 7), 24))
    sixteen[28:30] = struct.pack("<H", 16)
    files["bmp_16.bmp"] = bytes(sixteen)
    return files


# --- TensorFlow's outputs --------------------------------------------------------------------


def run(op, contents, **kwargs):
    fn = {
        "decode_gif": tf.io.decode_gif,
        "decode_bmp": tf.io.decode_bmp,
        "decode_image": tf.io.decode_image,
    }[op]
    try:
        return fn(tf.constant(contents), **kwargs).numpy(), None
    except (tf.errors.InvalidArgumentError, ValueError) as e:
        return None, getattr(e, "message", str(e))


def main():
    files = {**gifs(), **bmps()}
    for pattern_ in ("gif_*.gif", "bmp_*.bmp", "gif_bmp_*.npy"):
        for old in HERE.glob(pattern_):
            old.unlink()
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    cases = []
    for name, data in files.items():
        if name.endswith(".gif"):
            ops = [("decode_gif", {})] + [
                ("decode_image", {"channels": c, "expand_animations": e})
                for c in (0, 3)
                for e in (True, False)
            ]
            if name == "gif_static.gif":
                ops.append(("decode_image", {"channels": 1, "expand_animations": True}))
        else:
            ops = [("decode_bmp", {"channels": c}) for c in (0, 3, 4)] + [
                ("decode_image", {"channels": c, "expand_animations": e})
                for c in (0, 4)
                for e in (True, False)
            ]
            if name == "bmp_24.bmp":
                ops.append(("decode_bmp", {"channels": 1}))
                ops.append(("decode_image", {"channels": 1, "expand_animations": False}))
        for op, kwargs in ops:
            got, error = run(op, data, **kwargs)
            case = {"file": name, "op": op, **kwargs}
            if error is None:
                assert got.dtype == np.uint8, got.dtype
                suffix = "_".join(f"{k[0]}{int(v)}" for k, v in kwargs.items())
                npy = f"gif_bmp_{name.split('.')[0]}_{op}{'_' + suffix if suffix else ''}.npy"
                # Equal outputs share one file.
                for other in cases:
                    if "npy" in other and np.array_equal(np.load(HERE / other["npy"]), got):
                        npy = other["npy"]
                        break
                else:
                    np.save(HERE / npy, got)
                case["npy"] = npy
                case["shape"] = list(got.shape)
            else:
                case["error"] = error
            cases.append(case)
    write_cases(HERE / "gif_bmp.json", cases)


if __name__ == "__main__":
    main()
