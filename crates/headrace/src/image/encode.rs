//! Encoding JPEG and PNG, as `tf.io.encode_jpeg`/`encode_png` do: libjpeg-turbo's encoder
//! (vendored by mozjpeg-sys, set to plain libjpeg-turbo behaviour: baseline, no trellis
//! quantisation) and the `png` crate.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Result};
use crate::value::{DType, Tensor};

/// The image's height, width and channels (HWC), checked for an encoder.
fn hwc(op: &str, image: &Tensor, channels: &[usize]) -> Result<(usize, usize, usize)> {
    match image.shape() {
        [h, w, c] if channels.contains(c) && *h > 0 && *w > 0 => Ok((*h, *w, *c)),
        shape => Err(Error::invalid_argument(format!(
            "{op}: needs a non-empty image of shape [height, width, channels] with channels \
             in {channels:?}, got {shape:?}"
        ))),
    }
}

/// A JPEG of a uint8 HWC image with 1 or 3 channels: `quality` 0..=100 (TensorFlow's
/// default is 95); `chroma_downsampling` halves the color resolution (4:2:0), as
/// TensorFlow does by default.
pub fn encode_jpeg(image: &Tensor, quality: u8, chroma_downsampling: bool) -> Result<Tensor> {
    const OP: &str = "encode_jpeg";
    if image.dtype() != DType::UInt8 {
        return Err(Error::invalid_argument(format!(
            "{OP}: needs a uint8 image, got {}",
            image.dtype()
        )));
    }
    if quality > 100 {
        return Err(Error::argument(
            "quality",
            format!("must be 0..=100, got {quality}"),
        ));
    }
    let (h, w, c) = hwc(OP, image, &[1, 3])?;
    if h > 65_500 || w > 65_500 {
        return Err(Error::invalid_argument(format!(
            "{OP}: JPEG images are at most 65500 pixels a side, got {w}x{h}"
        )));
    }
    let pixels = image.as_slice::<u8>()?;
    let encoded = catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
        let space = if c == 1 {
            mozjpeg::ColorSpace::JCS_GRAYSCALE
        } else {
            mozjpeg::ColorSpace::JCS_RGB
        };
        let mut comp = mozjpeg::Compress::new(space);
        comp.set_fastest_defaults();
        comp.set_size(w, h);
        comp.set_quality(f32::from(quality));
        if c == 3 && !chroma_downsampling {
            comp.set_chroma_sampling_pixel_sizes((1, 1), (1, 1));
        }
        let mut started = comp.start_compress(Vec::new())?;
        started.write_scanlines(pixels)?;
        started.finish()
    }));
    match encoded {
        Ok(Ok(bytes)) => Ok(Tensor::string_scalar(bytes)),
        Ok(Err(e)) => Err(Error::invalid_argument(format!("{OP}: {e}"))),
        Err(panic) => Err(Error::internal(format!(
            "{OP}: libjpeg failed: {}",
            panic
                .downcast_ref::<String>()
                .map_or("unknown error", |s| s)
        ))),
    }
}

/// A PNG of a uint8 or uint16 HWC image with 1 to 4 channels; `compression` -1 (default)
/// or 0..=9 chooses the zlib effort, as in TensorFlow.
pub fn encode_png(image: &Tensor, compression: i32) -> Result<Tensor> {
    const OP: &str = "encode_png";
    let (h, w, c) = hwc(OP, image, &[1, 2, 3, 4])?;
    if !(-1..=9).contains(&compression) {
        return Err(Error::argument(
            "compression",
            format!("must be -1..=9, got {compression}"),
        ));
    }
    let (depth, data): (png::BitDepth, Vec<u8>) = match image.dtype() {
        DType::UInt8 => (png::BitDepth::Eight, image.as_slice::<u8>()?.to_vec()),
        DType::UInt16 => (
            png::BitDepth::Sixteen,
            image
                .as_slice::<u16>()?
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect(),
        ),
        other => {
            return Err(Error::invalid_argument(format!(
                "{OP}: needs a uint8 or uint16 image, got {other}"
            )))
        }
    };
    let color = match c {
        1 => png::ColorType::Grayscale,
        2 => png::ColorType::GrayscaleAlpha,
        3 => png::ColorType::Rgb,
        _ => png::ColorType::Rgba,
    };
    let mut out = Vec::new();
    let fail = |e: png::EncodingError| Error::invalid_argument(format!("{OP}: {e}"));
    {
        let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
        encoder.set_color(color);
        encoder.set_depth(depth);
        encoder.set_compression(match compression {
            0..=2 => png::Compression::Fast,
            7..=9 => png::Compression::High,
            _ => png::Compression::Balanced,
        });
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(&data).map_err(fail)?;
        writer.finish().map_err(fail)?;
    }
    Ok(Tensor::string_scalar(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::decode::{decode_jpeg, decode_png};

    fn gradient(h: usize, w: usize, c: usize) -> Tensor {
        let values = (0..h * w * c).map(|i| ((i * 7) % 251) as u8).collect();
        Tensor::from_vec(&[h, w, c], values).unwrap()
    }

    #[test]
    fn png_round_trips_exactly() {
        for c in 1..=4 {
            let image = gradient(17, 23, c);
            let encoded = encode_png(&image, -1).unwrap();
            let decoded =
                decode_png(&encoded.string_values().unwrap()[0], 0, DType::UInt8).unwrap();
            assert_eq!(decoded, image, "{c} channels");
        }
        let wide = Tensor::from_vec(&[2, 3, 1], vec![0u16, 1, 256, 4096, 65535, 7]).unwrap();
        let encoded = encode_png(&wide, 9).unwrap();
        let decoded = decode_png(&encoded.string_values().unwrap()[0], 0, DType::UInt16).unwrap();
        assert_eq!(decoded, wide);
    }

    #[test]
    fn jpeg_round_trips_closely_at_high_quality() {
        // A smooth image (JPEG's case): mean error small at quality 95.
        let values: Vec<u8> = (0..64 * 48 * 3)
            .map(|i| {
                let (p, ch) = (i / 3, i % 3);
                ((p % 64) * 2 + (p / 64) + ch * 20) as u8
            })
            .collect();
        let image = Tensor::from_vec(&[48, 64, 3], values.clone()).unwrap();
        for chroma in [true, false] {
            let encoded = encode_jpeg(&image, 95, chroma).unwrap();
            let back = decode_jpeg(&encoded.string_values().unwrap()[0], 3, 1).unwrap();
            let back = back.as_slice::<u8>().unwrap();
            let mean = back
                .iter()
                .zip(&values)
                .map(|(a, b)| (*a as f64 - *b as f64).abs())
                .sum::<f64>()
                / values.len() as f64;
            assert!(
                mean < 2.0,
                "chroma_downsampling={chroma}: mean error {mean}"
            );
        }
    }

    #[test]
    fn bad_images_are_errors() {
        let err = encode_jpeg(&gradient(4, 4, 2), 95, true).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("encode_jpeg: needs a non-empty image"),
            "{err}"
        );
        let floats = Tensor::from_vec(&[1, 1, 3], vec![0f32; 3]).unwrap();
        assert!(encode_jpeg(&floats, 95, true).is_err());
        assert!(encode_png(&floats, -1).is_err());
        assert!(encode_jpeg(&gradient(4, 4, 3), 101, true).is_err());
        assert!(encode_png(&gradient(4, 4, 3), 10).is_err());
    }
}
