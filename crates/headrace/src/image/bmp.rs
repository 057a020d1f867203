//! Decoding BMP, as `tf.io.decode_bmp` and `tf.io.decode_image` do.
//!
//! TensorFlow reads four fields at fixed places in the header (the pixel data's offset, the
//! width, the height, the bits per pixel) and copies the rows it finds there: 8 bits a pixel
//! as one gray channel, 24 as BGR, 32 as BGRA. The image crate's decoder (only its "bmp"
//! feature) reads the file here, with TensorFlow's checks and rules around it:
//! - `channels` 0 (the file's: 1, 3 or 4), 3 or 4; 1 is refused, as in TensorFlow.
//! - 8, 24 or 32 bits per pixel, a positive width, a height that is not 0 (negative: the
//!   rows are stored top down), and a file exactly as long as the offset plus the rows
//!   (TensorFlow refuses even bytes left over after them).
//! - The palette of an 8-bit file is not applied: its indices are the gray levels.
//! - The fourth byte of a 32-bit pixel is its alpha whatever the header says (the crate
//!   drops that byte when the header has no alpha mask; it is then read from the rows).
//! - Bitfield masks are not applied: a BI_BITFIELDS file is read as BGR(A), as TensorFlow
//!   reads it (the crate is given the header with BI_RGB in its place).
//!
//! Where TensorFlow's fixed offsets would read another header's fields (a BITMAPCOREHEADER
//! file), or its raw copy would not be the file's pixels (RLE, JPEG or PNG compression, or
//! an unknown compression value), the file is refused rather than decoded either way. So is
//! an 8-bit file too short to hold the palette its header implies (the crate reads it).
//! Every file decoded gives TensorFlow's pixels.

use std::borrow::Cow;
use std::io::Cursor;

use image::codecs::bmp::BmpDecoder;
use image::{ColorType, ImageDecoder};

use crate::error::{Error, Result};
use crate::image::decode::{self, max_pixels};
use crate::value::Tensor;

/// A BMP by its signature, as TensorFlow tells one.
pub(crate) fn is_bmp(contents: &[u8]) -> bool {
    contents.starts_with(b"BM")
}

fn bmp_error(op: &str, what: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("{op}: invalid BMP data: {what}"))
}

fn le32(contents: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(contents[at..at + 4].try_into().expect("4 bytes"))
}

/// Decodes a BMP to uint8 `[height, width, channels]`, as `tf.io.decode_bmp`: `channels`
/// 0 keeps the file's (1 for 8 bits a pixel, 3 for 24, 4 for 32), 3 is RGB, 4 RGBA.
pub fn decode_bmp(contents: &[u8], channels: u8) -> Result<Tensor> {
    const OP: &str = "decode_bmp";
    if !matches!(channels, 0 | 3 | 4) {
        return Err(Error::argument(
            "channels",
            format!("must be 0, 3 or 4 for BMP, got {channels}"),
        ));
    }
    if !is_bmp(contents) {
        let other = if decode::is_jpeg(contents) {
            Some(("a JPEG", "decode_jpeg"))
        } else if decode::is_png(contents) {
            Some(("a PNG", "decode_png"))
        } else if crate::image::gif::is_gif(contents) {
            Some(("a GIF", "decode_gif"))
        } else {
            None
        };
        return Err(match other {
            Some((format, op)) => Error::invalid_argument(format!(
                "{OP}: the data is {format}, which decode_bmp does not read: use {op} or \
                 decode_image"
            )),
            None => bmp_error(OP, "not a BMP (no BM signature)"),
        });
    }
    decode_within(OP, contents, channels, max_pixels())
}

/// [`decode_bmp`] of a file with the BMP signature, for `op`, refusing images of more than
/// `limit` pixels from the header. `channels` is 0, 3 or 4 (the caller checks).
pub(crate) fn decode_within(op: &str, contents: &[u8], channels: u8, limit: u64) -> Result<Tensor> {
    // TensorFlow's view of the header.
    if contents.len() < 32 {
        return Err(bmp_error(
            op,
            format!(
                "the file is {} bytes, too short for a header (32)",
                contents.len()
            ),
        ));
    }
    let offset = le32(contents, 10);
    let width = le32(contents, 18);
    let height = le32(contents, 22);
    let bits = i16::from_le_bytes([contents[28], contents[29]]);
    let file_channels = match bits / 8 {
        c @ (1 | 3 | 4) => c as usize,
        _ => {
            return Err(bmp_error(
                op,
                format!("{bits} bits per pixel; 8, 24 and 32 are read"),
            ))
        }
    };
    if width <= 0 {
        return Err(bmp_error(op, format!("the width is {width}, not positive")));
    }
    if height == 0 {
        return Err(bmp_error(op, "the height is 0"));
    }
    if offset < 0 {
        return Err(bmp_error(
            op,
            format!("the pixel data's offset is negative ({offset})"),
        ));
    }
    let (w, h) = (width as usize, height.unsigned_abs() as usize);
    let pixels = w as u64 * h as u64;
    if pixels > limit {
        return Err(Error::invalid_argument(format!(
            "{op}: the image is {w}x{h} ({pixels} pixels), more than the limit of {limit} \
             (hr.image.set_max_pixels)"
        )));
    }
    // TensorFlow's own bound (a pixel's bytes must be countable in an int32).
    if pixels >= (i32::MAX / 8) as u64 {
        return Err(bmp_error(
            op,
            format!("the image is {w}x{h}, more than BMP's 2^28 - 1 pixels"),
        ));
    }
    let row_size = (file_channels * w).div_ceil(4) * 4;
    let expected = offset as u64 + (row_size * h) as u64;
    if contents.len() as u64 != expected {
        return Err(bmp_error(
            op,
            format!(
                "the file is {} bytes, but its header says {expected} (the pixel data at \
                 {offset}, then {h} rows of {row_size} bytes): TensorFlow requires them equal",
                contents.len()
            ),
        ));
    }
    // Headers where TensorFlow's offsets are not the fields, or its raw rows not the pixels.
    let header_size = le32(contents, 14);
    if header_size < 40 {
        return Err(bmp_error(
            op,
            format!("a {header_size}-byte info header (BITMAPCOREHEADER) is not read"),
        ));
    }
    let compression = le32(contents, 30);
    let file: Cow<[u8]> = match compression {
        0 => Cow::Borrowed(contents),
        // TensorFlow ignores the masks: the crate is told the rows are plain BGR(A).
        3 => {
            let mut plain = contents.to_vec();
            plain[30..34].copy_from_slice(&0u32.to_le_bytes());
            Cow::Owned(plain)
        }
        _ => {
            return Err(bmp_error(
                op,
                format!(
                    "compression {compression} (1, 2: RLE; 4, 5: JPEG, PNG) is not read; \
                     TensorFlow would copy the compressed bytes as pixels"
                ),
            ))
        }
    };

    // The crate's decoding, rows top down.
    let mut decoder = BmpDecoder::new(Cursor::new(&file[..])).map_err(|e| bmp_error(op, e))?;
    if file_channels == 1 {
        // The palette indices themselves, as TensorFlow's gray levels.
        decoder.set_indexed_color(true);
    }
    let (cw, ch) = decoder.dimensions();
    let color = decoder.color_type();
    let agrees = (cw as usize, ch as usize) == (w, h)
        && match file_channels {
            1 => color == ColorType::L8,
            3 => color == ColorType::Rgb8,
            _ => matches!(color, ColorType::Rgb8 | ColorType::Rgba8),
        };
    if !agrees {
        return Err(bmp_error(
            op,
            format!(
                "the decoder reads a {cw}x{ch} {color:?} image where the header's fields say \
                 {w}x{h} at {bits} bits"
            ),
        ));
    }
    let mut decoded = vec![0u8; decoder.total_bytes() as usize];
    decoder
        .read_image(&mut decoded)
        .map_err(|e| bmp_error(op, e))?;
    let decoded_channels = color.channel_count() as usize;

    // A 32-bit pixel's fourth byte, where the crate dropped it: from the rows as stored.
    let alpha_of = |y: usize, x: usize| -> u8 {
        let stored_row = if height < 0 { y } else { h - 1 - y };
        contents[offset as usize + stored_row * row_size + x * 4 + 3]
    };
    let out_channels = if channels == 0 {
        file_channels
    } else {
        channels as usize
    };
    let mut out = Vec::with_capacity(w * h * out_channels);
    for (p, px) in decoded.chunks_exact(decoded_channels).enumerate() {
        let (r, g, b) = match decoded_channels {
            1 => (px[0], px[0], px[0]),
            _ => (px[0], px[1], px[2]),
        };
        let alpha = || match (file_channels, decoded_channels) {
            (4, 4) => px[3],
            (4, _) => alpha_of(p / w, p % w),
            _ => u8::MAX,
        };
        match out_channels {
            1 => out.push(r),
            3 => out.extend([r, g, b]),
            _ => out.extend([r, g, b, alpha()]),
        }
    }
    Tensor::from_vec(&[h, w, out_channels], out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::decode::decode_image_with;
    use crate::image::gif::tests::{check_cases, dir};
    use proptest::prelude::*;

    #[test]
    fn every_reference_bmp_decodes_as_tensorflow_decodes_it() {
        check_cases("bmp_", |op, case, contents| {
            let channels = case["channels"].as_u64().unwrap() as u8;
            match op {
                "decode_bmp" => decode_bmp(contents, channels),
                _ => {
                    let expand = case["expand_animations"].as_bool().unwrap();
                    decode_image_with(contents, Some(channels), expand)
                }
            }
        });
    }

    #[test]
    fn bad_bmps_say_what_is_wrong() {
        let read = |name: &str| std::fs::read(dir().join(name)).unwrap();
        let message = |name: &str| decode_bmp(&read(name), 0).unwrap_err().to_string();
        assert_eq!(
            message("bmp_trailing_bytes.bmp"),
            "decode_bmp: invalid BMP data: the file is 92 bytes, but its header says 90 (the \
             pixel data at 54, then 3 rows of 12 bytes): TensorFlow requires them equal"
        );
        assert!(message("bmp_truncated.bmp").contains("but its header says"));
        assert_eq!(
            message("bmp_16.bmp"),
            "decode_bmp: invalid BMP data: 16 bits per pixel; 8, 24 and 32 are read"
        );
        let bmp = read("bmp_24.bmp");
        let err = decode_bmp(&bmp, 1).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Argument);
        let err = decode_image_with(&bmp, Some(1), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "decode_image: channels must be 0, 3 or 4 for BMP, got 1"
        );
        assert!(decode_bmp(&bmp[..20], 0)
            .unwrap_err()
            .to_string()
            .contains("too short"));
        assert_eq!(
            decode_bmp(b"hello", 0).unwrap_err().to_string(),
            "decode_bmp: invalid BMP data: not a BMP (no BM signature)"
        );
        let gif = read("gif_static.gif");
        assert!(decode_bmp(&gif, 0)
            .unwrap_err()
            .to_string()
            .contains("use decode_gif"));
        // A compressed (RLE8) file TensorFlow would copy raw is refused.
        let mut rle = read("bmp_8_gray.bmp");
        rle[30] = 1;
        assert!(decode_bmp(&rle, 0)
            .unwrap_err()
            .to_string()
            .contains("compression 1"));
    }

    #[test]
    fn the_limit_is_checked_from_the_header() {
        let bmp = std::fs::read(dir().join("bmp_24.bmp")).unwrap(); // 7x5
        let err = decode_within("decode_bmp", &bmp, 0, 34).unwrap_err();
        assert!(
            err.to_string()
                .contains("7x5 (35 pixels), more than the limit of 34"),
            "{err}"
        );
        assert!(decode_within("decode_bmp", &bmp, 0, 35).is_ok());
        // A header claiming 60000x60000 is refused before anything is read or allocated.
        let mut huge = bmp.clone();
        huge[18..22].copy_from_slice(&60000i32.to_le_bytes());
        huge[22..26].copy_from_slice(&60000i32.to_le_bytes());
        let err = decode_bmp(&huge, 0).unwrap_err();
        assert!(err.to_string().contains("60000x60000"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Damaged BMPs give errors or images, never a panic.
        #[test]
        fn damaged_bmps_never_panic(at in any::<prop::sample::Index>(), byte: u8, pick: usize) {
            let names = ["bmp_32_v4_top_down.bmp", "bmp_8_palette.bmp", "bmp_24.bmp"];
            let mut data = std::fs::read(dir().join(names[pick % names.len()])).unwrap();
            let i = at.index(data.len());
            data[i] = byte;
            for channels in [0, 3, 4] {
                for result in [decode_bmp(&data, channels), decode_bmp(&data[..i], channels)] {
                    if let Err(e) = result {
                        prop_assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
                    }
                }
            }
        }
    }
}
