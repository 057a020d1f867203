//! Decoding GIF, as `tf.io.decode_gif` and `tf.io.decode_image` do.
//!
//! image-rs's `gif` crate reads the blocks, the LZW data and the interlacing, as palette
//! indices. The frames are then put together by TensorFlow's rules (its `gif_io.cc`, on
//! giflib), which are not the GIF specification's:
//! - The canvas is as wide as the widest frame and as tall as the tallest; the logical
//!   screen size in the header is not used. A frame reaching past the canvas is cut there.
//! - Each frame starts as a copy of the one before (frame 0: black) and its pixels are drawn
//!   over it; the disposal method is ignored.
//! - A pixel of the frame's transparent index keeps what is under it (black in frame 0).
//!   That check comes first: a transparent index past the palette is no error, any other
//!   index past it is.
//! - Damage after the first frame (the file cut short, bad LZW codes, a frame of zero size,
//!   a code size over 8) ends the animation there: the frames before it are returned, as
//!   TensorFlow 2.21 does. Damage in the first frame is an error. A missing trailer is no
//!   damage. A frame counts only once its data blocks are all there, up to the empty block
//!   that ends them, as giflib reads it.
//! - Any version after "GIF8" is read (giflib does not look at it).
//!
//! The limit on pixels ([`max_pixels`]) is checked once the frames' headers are read and
//! before any pixel is decoded: frames x canvas for all the frames, the canvas alone for
//! the first frame (`expand_animations=False`).

use std::borrow::Cow;
use std::num::NonZeroU64;

use gif::{ColorOutput, DecodeOptions, DecodingError, MemoryLimit};

use crate::error::{Error, Result};
use crate::image::decode::{self, max_pixels};
use crate::value::{DType, Tensor};

/// A GIF by its signature, as TensorFlow tells one ("GIF8": the version is not checked).
pub(crate) fn is_gif(contents: &[u8]) -> bool {
    contents.starts_with(b"GIF8")
}

fn gif_error(op: &str, what: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("{op}: invalid GIF data: {what}"))
}

/// The crate's error in words: a cut file says so.
fn describe(e: &DecodingError) -> String {
    match e {
        DecodingError::UnexpectedEof => "the data ends before the image does (truncated)".into(),
        DecodingError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the data ends before the image does (truncated)".into()
        }
        DecodingError::Format(_) if e.to_string().contains("image truncated") => {
            "a frame's LZW data ends before its pixels do".into()
        }
        e => e.to_string(),
    }
}

/// A frame's place on the canvas.
#[derive(Clone, Copy)]
struct Place {
    left: usize,
    top: usize,
    width: usize,
    height: usize,
}

/// A frame decoded to palette indices.
struct Frame {
    place: Place,
    transparent: Option<u8>,
    /// The frame's own palette (RGB triples), else the global one applies.
    palette: Option<Vec<u8>>,
    indices: Vec<u8>,
}

fn options(skip_decoding: bool, memory: u64) -> DecodeOptions {
    let mut options = DecodeOptions::new();
    options.set_color_output(ColorOutput::Indexed);
    options.skip_frame_decoding(skip_decoding);
    options.set_memory_limit(MemoryLimit::Bytes(
        NonZeroU64::new(memory.max(1 << 20)).expect("not zero"),
    ));
    options
}

/// The places of the frames, read from their headers alone (no frame data is kept), up to
/// the first damage; an error when the first frame is damaged or a frame has no palette.
fn places(op: &str, contents: &[u8]) -> Result<Vec<Place>> {
    // Only palettes and metadata blocks are allocated here; the crate's limit bounds those.
    let mut decoder = options(true, 1 << 26)
        .read_info(contents)
        .map_err(|e| gif_error(op, describe(&e)))?;
    let has_global_palette = decoder.global_palette().is_some();
    let mut places = Vec::new();
    loop {
        let k = places.len();
        let damage = match decoder.next_frame_info() {
            Ok(Some(frame)) if frame.width > 0 && frame.height > 0 => {
                places.push(Place {
                    left: frame.left.into(),
                    top: frame.top.into(),
                    width: frame.width.into(),
                    height: frame.height.into(),
                });
                continue;
            }
            Ok(Some(frame)) => format!("frame {k} is {}x{} pixels", frame.width, frame.height),
            Ok(None) => break,
            Err(e) if !has_global_palette && e.to_string().contains("no color table") => {
                // TensorFlow refuses the whole file, not just this frame.
                return Err(gif_error(op, format!("missing color map for frame {k}")));
            }
            Err(e) => describe(&e),
        };
        if k == 0 {
            return Err(gif_error(op, damage));
        }
        break;
    }
    if places.is_empty() {
        return Err(gif_error(op, "the file has no image"));
    }
    Ok(places)
}

/// How many of the first `frames` frames have all their data, up to the empty block that
/// ends it, and an LZW code size giflib takes (at most 8); an error when the first has not.
/// The LZW data is copied, not decoded (the caller has checked the frames' sizes).
fn whole_frames(op: &str, contents: &[u8], frames: usize) -> Result<usize> {
    let mut decoder = options(true, 1 << 26)
        .read_info(contents)
        .map_err(|e| gif_error(op, describe(&e)))?;
    for k in 0..frames {
        let damage = match decoder.read_next_frame() {
            // The crate passes the LZW minimum code size first.
            Ok(Some(frame)) => match frame.buffer.first().copied().unwrap_or(0) {
                1..=8 => continue,
                size => format!("frame {k} has an LZW code size of {size} (1 to 8 are read)"),
            },
            Ok(None) => "the file has no image".into(),
            Err(e) => describe(&e),
        };
        if k == 0 {
            return Err(gif_error(op, damage));
        }
        return Ok(k);
    }
    Ok(frames)
}

/// The canvas (height, width) of frames: the tallest and the widest.
fn canvas(places: impl Iterator<Item = Place>) -> (usize, usize) {
    places.fold((0, 0), |(h, w), p| (h.max(p.height), w.max(p.width)))
}

/// Decodes a GIF to uint8 RGB: all its frames, `[frames, height, width, 3]`, or
/// (`all_frames` false, `decode_image(expand_animations=False)`) the first, `[height,
/// width, 3]`. The caller has checked the signature ([`is_gif`]).
pub(crate) fn decode_frames(op: &str, contents: &[u8], all_frames: bool) -> Result<Tensor> {
    decode_frames_within(op, contents, all_frames, max_pixels())
}

/// [`decode_frames`], refusing an output of more than `limit` pixels (frames x canvas).
fn decode_frames_within(op: &str, contents: &[u8], all_frames: bool, limit: u64) -> Result<Tensor> {
    // giflib reads any version; the crate only "87a" and "89a".
    let contents: Cow<[u8]> = match contents.get(..6) {
        Some(b"GIF87a" | b"GIF89a") | None => Cow::Borrowed(contents),
        Some(_) => {
            let mut patched = contents.to_vec();
            patched[3..6].copy_from_slice(b"89a");
            Cow::Owned(patched)
        }
    };
    let places = places(op, &contents)?;

    // The limit, from the headers alone: the output is at most this large.
    let (height, width) = canvas(places.iter().copied());
    let frames_out = if all_frames { places.len() } else { 1 };
    let pixels = (frames_out * height * width) as u64;
    if pixels > limit {
        return Err(Error::invalid_argument(format!(
            "{op}: the GIF is {frames_out} frame(s) of {width}x{height} ({pixels} pixels), \
             more than the limit of {limit} (hr.image.set_max_pixels)"
        )));
    }

    // Decode the frames whose blocks are whole, keeping the indices of those drawn. A frame
    // the LZW decoder refuses ends the animation as other damage does.
    let whole = whole_frames(op, &contents, places.len())?;
    let mut decoder = options(false, (height * width) as u64)
        .read_info(&contents[..])
        .map_err(|e| gif_error(op, describe(&e)))?;
    let global = decoder.global_palette().map(<[u8]>::to_vec);
    let mut kept: Vec<Place> = Vec::with_capacity(places.len());
    let mut drawn: Vec<Frame> = Vec::with_capacity(frames_out);
    for &place in &places[..whole] {
        match decoder.read_next_frame() {
            Ok(Some(frame)) => {
                if all_frames || drawn.is_empty() {
                    drawn.push(Frame {
                        place,
                        transparent: frame.transparent,
                        palette: frame.palette.clone(),
                        indices: frame.buffer.to_vec(),
                    });
                }
                kept.push(place);
            }
            Ok(None) => break,
            Err(e) if kept.is_empty() => return Err(gif_error(op, describe(&e))),
            Err(_) => break,
        }
    }
    if kept.is_empty() {
        return Err(gif_error(op, "the file has no image"));
    }
    drawn.truncate(kept.len());
    let (height, width) = canvas(kept.iter().copied());

    let frame_len = height * width * 3;
    let mut out = vec![0u8; drawn.len() * frame_len];
    for (k, frame) in drawn.iter().enumerate() {
        if k > 0 {
            out.copy_within((k - 1) * frame_len..k * frame_len, k * frame_len);
        }
        let palette = frame
            .palette
            .as_deref()
            .or(global.as_deref())
            .ok_or_else(|| gif_error(op, format!("missing color map for frame {k}")))?;
        let dst = &mut out[k * frame_len..(k + 1) * frame_len];
        let Place {
            left,
            top,
            width: fw,
            height: fh,
        } = frame.place;
        let (right, bottom) = ((left + fw).min(width), (top + fh).min(height));
        for y in top..bottom {
            let row = &frame.indices[(y - top) * fw..(y - top + 1) * fw];
            for x in left..right {
                let index = row[x - left];
                if Some(index) == frame.transparent {
                    continue;
                }
                let at = 3 * usize::from(index);
                let Some(rgb) = palette.get(at..at + 3) else {
                    return Err(gif_error(
                        op,
                        format!(
                            "found color index {index} outside of color map range {} \
                             (frame {k})",
                            palette.len() / 3
                        ),
                    ));
                };
                dst[(y * width + x) * 3..][..3].copy_from_slice(rgb);
            }
        }
    }
    if all_frames {
        Tensor::from_vec(&[drawn.len(), height, width, 3], out)
    } else {
        Tensor::from_vec(&[height, width, 3], out)
    }
}

/// Decodes a GIF to uint8 `[frames, height, width, 3]`, as `tf.io.decode_gif`. Like
/// TensorFlow's op it also takes a JPEG or a PNG, as one frame of RGB.
pub fn decode_gif(contents: &[u8]) -> Result<Tensor> {
    const OP: &str = "decode_gif";
    if is_gif(contents) {
        return decode_frames(OP, contents, true);
    }
    let image = if decode::is_jpeg(contents) {
        decode::decode_jpeg(contents, 3, 1)?
    } else if decode::is_png(contents) {
        decode::decode_png(contents, 3, DType::UInt8)?
    } else if contents.starts_with(b"BM") {
        return Err(Error::invalid_argument(format!(
            "{OP}: the data is a BMP, which decode_gif does not read: use decode_bmp or \
             decode_image"
        )));
    } else {
        return Err(Error::invalid_argument(format!(
            "{OP}: unknown image file format: one of GIF, JPEG or PNG is required"
        )));
    };
    let mut shape = vec![1];
    shape.extend_from_slice(image.shape());
    image.reshape(&shape)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::image::decode::decode_image_with;
    use crate::image::decode::tests::npy_u8;
    use proptest::prelude::*;
    use serde_json::Value;
    use std::path::PathBuf;

    /// The GIF and BMP files and TensorFlow's decoding of them
    /// (`tests/data/images/make_gif_bmp.py`).
    pub(crate) fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/images")
    }

    pub(crate) fn cases() -> Vec<Value> {
        let text = std::fs::read_to_string(dir().join("gif_bmp.json")).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        json["cases"].as_array().unwrap().clone()
    }

    /// Runs every reference case of `files` (a name prefix) through `decode` (the op name,
    /// the case and the file's bytes): TensorFlow's pixels exactly, and an
    /// `InvalidArgument` error where TensorFlow gave one.
    pub(crate) fn check_cases(
        prefix: &str,
        decode: impl Fn(&str, &Value, &[u8]) -> Result<Tensor>,
    ) {
        let mut checked = 0;
        for case in cases() {
            let file = case["file"].as_str().unwrap();
            if !file.starts_with(prefix) {
                continue;
            }
            let contents = std::fs::read(dir().join(file)).unwrap();
            let op = case["op"].as_str().unwrap();
            let got = decode(op, &case, &contents);
            match case.get("npy") {
                Some(npy) => {
                    let (shape, want) = npy_u8(&dir().join(npy.as_str().unwrap()));
                    let got = got.unwrap_or_else(|e| panic!("{case}: {e}"));
                    assert_eq!(got.shape(), &shape[..], "{case}");
                    assert!(
                        got.as_slice::<u8>().unwrap() == want,
                        "{case}: pixels differ"
                    );
                }
                None => {
                    // Data TensorFlow refuses is an InvalidArgument; a channel count the op
                    // never takes (decode_bmp's 1) an Argument error, as decode_jpeg's.
                    let err = got.expect_err(&case.to_string());
                    assert!(
                        matches!(
                            err.kind(),
                            crate::ErrorKind::InvalidArgument | crate::ErrorKind::Argument
                        ),
                        "{case}: {err}"
                    );
                }
            }
            checked += 1;
        }
        assert!(checked > 20, "only {checked} cases of {prefix}");
    }

    #[test]
    fn every_reference_gif_decodes_as_tensorflow_decodes_it() {
        check_cases("gif_", |op, case, contents| match op {
            "decode_gif" => decode_gif(contents),
            _ => {
                let channels = case["channels"].as_u64().unwrap() as u8;
                let expand = case["expand_animations"].as_bool().unwrap();
                decode_image_with(contents, Some(channels), expand)
            }
        });
    }

    #[test]
    fn bad_gifs_say_what_is_wrong() {
        let read = |name: &str| std::fs::read(dir().join(name)).unwrap();
        let message = |name: &str| decode_gif(&read(name)).unwrap_err().to_string();
        assert_eq!(
            message("gif_bad_index.gif"),
            "decode_gif: invalid GIF data: found color index 12 outside of color map range 8 \
             (frame 0)"
        );
        assert_eq!(
            message("gif_no_palette.gif"),
            "decode_gif: invalid GIF data: missing color map for frame 0"
        );
        assert!(message("gif_truncated.gif").contains("truncated"));
        assert!(message("gif_zero_width.gif").contains("frame 0 is 0x6 pixels"));
        assert!(message("gif_no_frames.gif").starts_with("decode_gif: invalid GIF data"));
        let err = decode_image_with(&read("gif_static.gif"), Some(1), true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "decode_image: channels must be 0 or 3 for GIF, got 1"
        );
        assert!(decode_gif(b"BM....")
            .unwrap_err()
            .to_string()
            .contains("decode_bmp"));
        assert!(decode_gif(b"hello")
            .unwrap_err()
            .to_string()
            .contains("unknown image file format"));
    }

    #[test]
    fn decode_gif_takes_a_jpeg_or_png_as_one_frame() {
        let shared = crate::testdata::dir("images");
        for name in ["baseline420.jpg", "gray.png", "rgba.png"] {
            let contents = std::fs::read(shared.join(name)).unwrap();
            let got = decode_gif(&contents).unwrap();
            let want = decode_image_with(&contents, Some(3), true).unwrap();
            assert_eq!(got.shape(), &[1, 250, 333, 3], "{name}");
            assert_eq!(
                got.as_slice::<u8>().unwrap(),
                want.as_slice::<u8>().unwrap()
            );
        }
    }

    #[test]
    fn the_limit_counts_frames_times_the_canvas_before_decoding() {
        let contents = std::fs::read(dir().join("gif_animated.gif")).unwrap();
        // 3 frames of 20x15 = 900 pixels; the first frame alone 300.
        let err = decode_frames_within("decode_gif", &contents, true, 899).unwrap_err();
        assert!(
            err.to_string()
                .contains("3 frame(s) of 20x15 (900 pixels), more than the limit of 899"),
            "{err}"
        );
        assert!(decode_frames_within("decode_gif", &contents, true, 900).is_ok());
        let first = decode_frames_within("decode_image", &contents, false, 300).unwrap();
        assert_eq!(first.shape(), &[15, 20, 3]);

        // A frame header claiming 65535x65535 is refused before anything is decoded.
        let mut huge = std::fs::read(dir().join("gif_static.gif")).unwrap();
        let descriptor = 13 + 3 * 16; // after the header and the global palette
        assert_eq!(huge[descriptor], 0x2c);
        huge[descriptor + 5..descriptor + 9].copy_from_slice(&[0xff; 4]);
        let err = decode_gif(&huge).unwrap_err();
        assert!(err.to_string().contains("65535x65535"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Damaged GIFs give errors or images, never a panic.
        #[test]
        fn damaged_gifs_never_panic(at in any::<prop::sample::Index>(), byte: u8, pick: usize) {
            let names = ["gif_animated.gif", "gif_256_colors.gif", "gif_partial_first.gif"];
            let mut data = std::fs::read(dir().join(names[pick % names.len()])).unwrap();
            let i = at.index(data.len());
            data[i] = byte;
            for result in [decode_gif(&data), decode_image_with(&data, None, false),
                           decode_gif(&data[..i])] {
                if let Err(e) = result {
                    prop_assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
                }
            }
        }
    }
}
