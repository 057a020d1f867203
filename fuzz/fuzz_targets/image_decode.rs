#![no_main]
//! Arbitrary bytes through the image decoders: `decode_image` (JPEG, PNG, GIF or BMP by
//! signature, with and without `expand_animations`), `decode_jpeg` with each channel count
//! and DCT ratio, `decode_png` to uint8 and uint16, `extract_jpeg_shape`, `decode_gif` and
//! `decode_bmp` with each channel count. The first byte chooses the decoder (its value mod
//! 6) and the options (the value divided by 6); the rest is the file.
//! Checked: no panic, errors are `InvalidArgument` (or `Argument` for a channel count the
//! file's format does not take, e.g. 4 for a JPEG), a decoded image has the rank and
//! channels its options say, and nothing larger than the pixel limit (set low here, so that
//! a forged header cannot make the fuzzer allocate gigabytes) is decoded: for a GIF, frames
//! times the canvas.

use headrace::image::bmp::decode_bmp;
use headrace::image::decode::{
    decode_image_with, decode_jpeg, decode_png, extract_jpeg_shape, set_max_pixels,
};
use headrace::image::gif::decode_gif;
use headrace::{DType, ErrorKind};
use libfuzzer_sys::fuzz_target;

const MAX_PIXELS: u64 = 1 << 22;

/// `ranks`: the ranks the image may have; `channels`: its last dimension, when known.
fn check(result: headrace::Result<headrace::Tensor>, ranks: &[usize], channels: Option<usize>) {
    match result {
        Ok(t) => {
            let shape = t.shape();
            assert!(
                ranks.contains(&shape.len()),
                "rank of {shape:?}, expected {ranks:?}"
            );
            let (pixels, last) = shape.split_at(shape.len() - 1);
            assert!(
                pixels.iter().product::<usize>() as u64 <= MAX_PIXELS,
                "{shape:?}"
            );
            if let Some(c) = channels {
                assert_eq!(last, [c]);
            }
        }
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::Argument),
            "{e:?}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    set_max_pixels(MAX_PIXELS);
    let Some((&control, contents)) = data.split_first() else {
        return;
    };
    let options = usize::from(control / 6);
    match control % 6 {
        0 => {
            let channels = [None, Some(1u8), Some(3), Some(4)][options % 4];
            let expand = options & 4 != 0;
            let ranks: &[usize] = if expand { &[3, 4] } else { &[3] };
            check(
                decode_image_with(contents, channels, expand),
                ranks,
                channels.map(usize::from),
            );
        }
        1 => {
            let channels = [0u8, 1, 3][options % 3];
            let ratio = [1u8, 2, 4, 8][(options / 3) % 4];
            let want = (channels != 0).then_some(channels as usize);
            check(decode_jpeg(contents, channels, ratio), &[3], want);
        }
        2 => {
            let channels = [0u8, 1, 3, 4][options % 4];
            let dtype = if options & 4 != 0 {
                DType::UInt16
            } else {
                DType::UInt8
            };
            let want = (channels != 0).then_some(channels as usize);
            check(decode_png(contents, channels, dtype), &[3], want);
        }
        3 => {
            if let Err(e) = extract_jpeg_shape(contents) {
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e:?}");
            }
        }
        4 => check(decode_gif(contents), &[4], Some(3)),
        _ => {
            let channels = [0u8, 3, 4][options % 3];
            let want = (channels != 0).then_some(channels as usize);
            check(decode_bmp(contents, channels), &[3], want);
        }
    }
});
