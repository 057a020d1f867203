//! Encoding JPEG and PNG, as `tf.io.encode_jpeg`/`encode_png` do: libjpeg-turbo's encoder
//! (vendored by mozjpeg-sys, set to plain libjpeg-turbo behaviour: no trellis quantisation,
//! libjpeg's own progressive scans) and the `png` crate.
//!
//! With the same arguments, a JPEG is TensorFlow's byte for byte (baseline, progressive and
//! optimized alike) once the JFIF density is TensorFlow's too: TensorFlow writes its
//! `density_unit`/`x_density`/`y_density` (300 dpi by default), [`encode_jpeg`] writes
//! libjpeg's default (no unit, 1:1) unless [`JpegOptions::density`] says otherwise.

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
/// TensorFlow does by default. Baseline, Huffman tables of the standard, no density.
pub fn encode_jpeg(image: &Tensor, quality: u8, chroma_downsampling: bool) -> Result<Tensor> {
    encode_jpeg_with(
        image,
        &JpegOptions {
            quality,
            chroma_downsampling,
            ..JpegOptions::default()
        },
    )
}

/// The JFIF density unit of [`JpegOptions::density`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DensityUnit {
    Inches,
    Centimeters,
}

/// `tf.io.encode_jpeg`'s arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JpegOptions {
    /// 0..=100.
    pub quality: u8,
    /// 4:2:0 (the default) rather than 4:4:4 for color images.
    pub chroma_downsampling: bool,
    /// libjpeg's progressive scan script (`jpeg_simple_progression`); its Huffman tables are
    /// then always optimized, as in libjpeg.
    pub progressive: bool,
    /// Huffman tables made for the image (`optimize_coding`): smaller, same pixels.
    pub optimize_size: bool,
    /// The JFIF header's pixel density: `None` writes libjpeg's default (no unit, 1:1).
    pub density: Option<(DensityUnit, u16, u16)>,
    /// An XMP packet, written in an APP1 marker after the Adobe namespace, as TensorFlow.
    pub xmp_metadata: Option<Vec<u8>>,
    /// The channels `format` requires ("grayscale" 1, "rgb" 3); `None`: the image's.
    pub format_channels: Option<usize>,
}

impl Default for JpegOptions {
    fn default() -> Self {
        JpegOptions {
            quality: 95,
            chroma_downsampling: true,
            progressive: false,
            optimize_size: false,
            density: None,
            xmp_metadata: None,
            format_channels: None,
        }
    }
}

/// The namespace before an XMP packet in its APP1 marker.
const XMP_NAMESPACE: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// A JPEG marker holds at most this many bytes of data.
const MAX_MARKER_DATA: usize = 65533;

/// A JPEG of a uint8 HWC image with 1 or 3 channels, with all of `tf.io.encode_jpeg`'s
/// arguments.
pub fn encode_jpeg_with(image: &Tensor, options: &JpegOptions) -> Result<Tensor> {
    const OP: &str = "encode_jpeg";
    let JpegOptions {
        quality,
        chroma_downsampling,
        progressive,
        optimize_size,
        density,
        ref xmp_metadata,
        format_channels,
    } = *options;
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
    if let Some(want) = format_channels.filter(|&want| want != c) {
        let format = if want == 1 { "grayscale" } else { "rgb" };
        return Err(Error::invalid_argument(format!(
            "{OP}: format {format} expects {want} channels, got {:?}",
            image.shape()
        )));
    }
    let xmp = xmp_metadata
        .as_ref()
        .map(|xmp| [XMP_NAMESPACE, xmp].concat());
    if let Some(xmp) = &xmp {
        if xmp.len() > MAX_MARKER_DATA {
            return Err(Error::argument(
                "xmp_metadata",
                format!(
                    "{} bytes, more than an APP1 marker holds ({} after the namespace)",
                    xmp.len() - XMP_NAMESPACE.len(),
                    MAX_MARKER_DATA - XMP_NAMESPACE.len()
                ),
            ));
        }
    }
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
        // TensorFlow's order: optimize_coding, density, then the progressive script.
        if optimize_size {
            comp.set_optimize_coding(true);
        }
        if let Some((unit, x, y)) = density {
            comp.set_pixel_density(mozjpeg::PixelDensity {
                unit: match unit {
                    DensityUnit::Inches => mozjpeg::PixelDensityUnit::Inches,
                    DensityUnit::Centimeters => mozjpeg::PixelDensityUnit::Centimeters,
                },
                x,
                y,
            });
        }
        if progressive {
            comp.set_progressive_mode();
        }
        let mut started = comp.start_compress(Vec::new())?;
        if let Some(xmp) = &xmp {
            started.write_marker(mozjpeg::Marker::APP(1), xmp);
        }
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

    /// FNV-1a, to pin bytes without storing them.
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    }

    fn jpeg_bytes(t: &Tensor) -> Vec<u8> {
        t.string_values().unwrap()[0].to_vec()
    }

    /// The baseline encoder writes the bytes it wrote before progressive and optimized
    /// coding were added (hashes taken then), low qualities included.
    #[test]
    fn the_baseline_bytes_are_unchanged() {
        for ((h, w, c, quality, chroma), len, hash) in [
            ((48, 64, 3, 95, true), 4005, 0x022d_3918_c3f8_bd49),
            ((48, 64, 3, 95, false), 6976, 0xce24_fc43_b3e7_c41a),
            ((17, 23, 3, 50, true), 811, 0x6c43_919b_1526_c050),
            ((17, 23, 1, 80, true), 549, 0xde4d_18a0_aecb_4d26),
            ((31, 9, 3, 5, true), 790, 0xff88_32f5_d8d7_4cfe),
        ] {
            let bytes = jpeg_bytes(&encode_jpeg(&gradient(h, w, c), quality, chroma).unwrap());
            assert_eq!(
                (bytes.len(), fnv(&bytes)),
                (len, hash),
                "{h}x{w}x{c} q{quality}"
            );
        }
    }

    /// The image of `tests/data/images/make_encode_jpeg.py`.
    fn formula_image(h: usize, w: usize, c: usize) -> Tensor {
        let mut values = Vec::with_capacity(h * w * c);
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    values.push(((x * 8 + y * 5 + ch * 70 + (x * y) % 17) % 256) as u8);
                }
            }
        }
        Tensor::from_vec(&[h, w, c], values).unwrap()
    }

    /// TensorFlow's `encode_jpeg` of a small image with each kind of argument
    /// (`tests/data/images/make_encode_jpeg.py`): the same bytes. The baseline encoder
    /// differs only in the JFIF density (it writes libjpeg's default, 1:1 without unit).
    #[test]
    fn jpegs_are_tensorflows_bytes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/images/encode_jpeg.json");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let (h, w) = (
            json["height"].as_u64().unwrap() as usize,
            json["width"].as_u64().unwrap() as usize,
        );
        let cases = json["cases"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let get = |key: &str| case.get(key);
            let flag =
                |key: &str, default: bool| get(key).map_or(default, |v| v.as_bool().unwrap());
            let c = get("channels").unwrap().as_u64().unwrap() as usize;
            let density = get("density_unit").map(|unit| {
                let unit = match unit.as_str().unwrap() {
                    "in" => DensityUnit::Inches,
                    _ => DensityUnit::Centimeters,
                };
                let xy = |key: &str| get(key).map_or(300, |v| v.as_u64().unwrap() as u16);
                (unit, xy("x_density"), xy("y_density"))
            });
            let options = JpegOptions {
                quality: get("quality").unwrap().as_u64().unwrap() as u8,
                chroma_downsampling: flag("chroma_downsampling", true),
                progressive: flag("progressive", false),
                optimize_size: flag("optimize_size", false),
                // TensorFlow's default density unless the case gives one.
                density: density.or(Some((DensityUnit::Inches, 300, 300))),
                xmp_metadata: get("xmp_metadata").map(|v| v.as_str().unwrap().as_bytes().to_vec()),
                format_channels: get("format").map(|_| 1),
            };
            let want = crate::testdata::hex(case["jpeg_hex"].as_str().unwrap());
            let image = formula_image(h, w, c);
            let got = jpeg_bytes(&encode_jpeg_with(&image, &options).unwrap());
            assert!(
                got == want[..],
                "{case}: {} bytes, TensorFlow {}",
                got.len(),
                want.len()
            );

            let plain = JpegOptions {
                quality: options.quality,
                chroma_downsampling: options.chroma_downsampling,
                ..JpegOptions::default()
            };
            if (JpegOptions {
                density: None,
                ..options.clone()
            }) == plain
            {
                // The baseline encoder: TensorFlow's bytes but for the density (bytes 13..18
                // of the JFIF APP0: unit, x, y).
                let mut want = want.to_vec();
                want[13..18].copy_from_slice(&[0, 0, 1, 0, 1]);
                let got = jpeg_bytes(
                    &encode_jpeg(&image, plain.quality, plain.chroma_downsampling).unwrap(),
                );
                assert!(got == want, "{case}: the baseline encoder");
            }
        }
    }

    /// Whether the marker 0xFF `code` appears in a JPEG.
    fn has_marker(jpeg: &[u8], code: u8) -> bool {
        jpeg.windows(2).any(|m| m == [0xff, code])
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a
            .iter()
            .zip(b)
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0f64.powi(2) / mse).log10()
    }

    #[test]
    fn progressive_and_optimized_jpegs() {
        // A smooth image with some texture (a checkerboard of 4-pixel squares, 8 levels
        // apart): what JPEG is for, so PSNR is meaningful.
        let (h, w) = (64, 96);
        let values = (0..h * w * 3)
            .map(|i| {
                let (y, x, ch) = (i / (w * 3), i / 3 % w, i % 3);
                (x + y + 40 * ch + (x / 4 + y / 4) % 2 * 8) as u8
            })
            .collect();
        let image = Tensor::from_vec(&[h, w, 3], values).unwrap();
        let pixels = image.as_slice::<u8>().unwrap();
        for quality in [50, 75, 95] {
            let encode = |progressive, optimize_size| {
                let options = JpegOptions {
                    quality,
                    progressive,
                    optimize_size,
                    ..JpegOptions::default()
                };
                jpeg_bytes(&encode_jpeg_with(&image, &options).unwrap())
            };
            let baseline = encode(false, false);
            let progressive = encode(true, false);
            let optimized = encode(false, true);
            assert!(has_marker(&baseline, 0xc0) && !has_marker(&baseline, 0xc2));
            assert!(has_marker(&progressive, 0xc2), "SOF2: progressive");
            assert!(!has_marker(&progressive, 0xc0) && !has_marker(&optimized, 0xc2));
            assert!(
                optimized.len() <= baseline.len(),
                "q{quality}: optimized {} > baseline {}",
                optimized.len(),
                baseline.len()
            );
            // Same quantization, other entropy coding: the same pixels back.
            let decode = |jpeg: &[u8]| decode_jpeg(jpeg, 3, 1).unwrap();
            let back = decode(&baseline);
            assert_eq!(decode(&progressive), back, "q{quality}: progressive");
            assert_eq!(decode(&optimized), back, "q{quality}: optimized");
            let db = psnr(back.as_slice::<u8>().unwrap(), pixels);
            // Measured 39.8, 43.1 and 48.0 dB.
            let floor = match quality {
                50 => 38.0,
                75 => 41.0,
                _ => 46.0,
            };
            assert!(db >= floor, "q{quality}: PSNR {db:.1} dB");
        }
        let gray = formula_image(33, 47, 1);
        let options = JpegOptions {
            progressive: true,
            optimize_size: true,
            ..JpegOptions::default()
        };
        let jpeg = jpeg_bytes(&encode_jpeg_with(&gray, &options).unwrap());
        assert!(has_marker(&jpeg, 0xc2));
        assert_eq!(
            decode_jpeg(&jpeg, 0, 1).unwrap(),
            decode_jpeg(&jpeg_bytes(&encode_jpeg(&gray, 95, true).unwrap()), 0, 1).unwrap()
        );
    }

    #[test]
    fn density_xmp_and_format() {
        let image = formula_image(8, 8, 3);
        let options = JpegOptions {
            density: Some((DensityUnit::Centimeters, 118, 59)),
            xmp_metadata: Some(b"<x:xmpmeta/>".to_vec()),
            ..JpegOptions::default()
        };
        let jpeg = jpeg_bytes(&encode_jpeg_with(&image, &options).unwrap());
        assert_eq!(&jpeg[13..18], &[2, 0, 118, 0, 59], "JFIF unit, x, y");
        let app1 = jpeg.windows(2).position(|m| m == [0xff, 0xe1]).unwrap();
        let length = usize::from(u16::from_be_bytes([jpeg[app1 + 2], jpeg[app1 + 3]]));
        assert_eq!(
            &jpeg[app1 + 4..app1 + 2 + length],
            b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"
        );

        let err = encode_jpeg_with(
            &image,
            &JpegOptions {
                format_channels: Some(1),
                ..JpegOptions::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "encode_jpeg: format grayscale expects 1 channels, got [8, 8, 3]"
        );
        let err = encode_jpeg_with(
            &image,
            &JpegOptions {
                xmp_metadata: Some(vec![b'x'; 65505]),
                ..JpegOptions::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Argument, "{err}");
        let most = JpegOptions {
            xmp_metadata: Some(vec![b'x'; 65504]),
            ..JpegOptions::default()
        };
        assert!(encode_jpeg_with(&image, &most).is_ok());
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
