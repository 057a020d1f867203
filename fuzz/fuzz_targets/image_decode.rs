#![no_main]
//! Arbitrary bytes through the image decoders: `decode_image` (JPEG or PNG by signature),
//! `decode_jpeg` with each channel count and DCT ratio, `decode_png` to uint8 and uint16,
//! and `extract_jpeg_shape`. The first byte chooses the options; the rest is the file.
//! Checked: no panic, errors are `InvalidArgument` (or `Unimplemented` for GIF/BMP), a
//! decoded image has the shape its options say, and nothing larger than the pixel limit
//! (set low here, so that a forged header cannot make the fuzzer allocate gigabytes) is
//! decoded.

use headrace::image::decode::{
    decode_image, decode_jpeg, decode_png, extract_jpeg_shape, set_max_pixels,
};
use headrace::{DType, ErrorKind};
use libfuzzer_sys::fuzz_target;

const MAX_PIXELS: u64 = 1 << 22;

fn check(result: headrace::Result<headrace::Tensor>, channels: Option<usize>) {
    match result {
        Ok(t) => {
            let shape = t.shape();
            assert_eq!(shape.len(), 3, "an image is HxWxC: {shape:?}");
            assert!((shape[0] * shape[1]) as u64 <= MAX_PIXELS);
            if let Some(c) = channels {
                assert_eq!(shape[2], c);
            }
        }
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::Unimplemented),
            "{e:?}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    set_max_pixels(MAX_PIXELS);
    let Some((&control, contents)) = data.split_first() else {
        return;
    };
    match control % 4 {
        0 => {
            let channels = [None, Some(1u8), Some(3), Some(4)][(control as usize >> 2) % 4];
            check(decode_image(contents, channels), channels.map(usize::from));
        }
        1 => {
            let channels = [0u8, 1, 3][(control as usize >> 2) % 3];
            let ratio = [1u8, 2, 4, 8][(control as usize >> 4) % 4];
            let want = (channels != 0).then_some(channels as usize);
            check(decode_jpeg(contents, channels, ratio), want);
        }
        2 => {
            let channels = [0u8, 1, 3, 4][(control as usize >> 2) % 4];
            let dtype = if control & 0x40 != 0 { DType::UInt16 } else { DType::UInt8 };
            let want = (channels != 0).then_some(channels as usize);
            check(decode_png(contents, channels, dtype), want);
        }
        _ => {
            if let Err(e) = extract_jpeg_shape(contents) {
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e:?}");
            }
        }
    }
});
