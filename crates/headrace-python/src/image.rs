//! `hr.image` ops from Python: eager calls on numpy values, and the nodes of traced
//! functions (built by `python/headrace/image.py`).

use headrace::image::encode::{DensityUnit, JpegOptions};
use headrace::image::resize::ResizeMethod;
use headrace::ops::image::{apply, apply_random, ImageOp, RandomImageOp};
use headrace::DType;
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::graph::bad;
use crate::ops::run_on;

/// The image op `name` from its attributes, as `python/headrace/image.py` passes them.
pub fn image_op_from_py(py: Python<'_>, name: &str, attrs: &Bound<'_, PyAny>) -> PyResult<ImageOp> {
    let box4 = |attrs: &Bound<'_, PyAny>| -> PyResult<[usize; 4]> {
        let (a, b, c, d): (usize, usize, usize, usize) = attrs.extract()?;
        Ok([a, b, c, d])
    };
    Ok(match name {
        "resize" => {
            let (height, width, method, antialias, preserve_aspect_ratio): (
                usize,
                usize,
                String,
                bool,
                bool,
            ) = attrs.extract()?;
            ImageOp::Resize {
                height,
                width,
                method: ResizeMethod::parse(&method).map_err(|e| to_py(py, e))?,
                antialias,
                preserve_aspect_ratio,
            }
        }
        "resize_with_pad" => {
            let (height, width, method, antialias): (usize, usize, String, bool) =
                attrs.extract()?;
            ImageOp::ResizeWithPad {
                height,
                width,
                method: ResizeMethod::parse(&method).map_err(|e| to_py(py, e))?,
                antialias,
            }
        }
        "decode_and_crop_jpeg" => {
            let (channels, window): (u8, (usize, usize, usize, usize)) = attrs.extract()?;
            ImageOp::DecodeAndCropJpeg(channels, [window.0, window.1, window.2, window.3])
        }
        "flip_left_right" => ImageOp::FlipLeftRight,
        "flip_up_down" => ImageOp::FlipUpDown,
        "transpose" => ImageOp::Transpose,
        "rot90" => ImageOp::Rot90(attrs.extract()?),
        "crop_to_bounding_box" => ImageOp::CropToBoundingBox(box4(attrs)?),
        "pad_to_bounding_box" => ImageOp::PadToBoundingBox(box4(attrs)?),
        "central_crop" => ImageOp::CentralCrop(attrs.extract()?),
        "resize_with_crop_or_pad" => {
            let (h, w): (usize, usize) = attrs.extract()?;
            ImageOp::ResizeWithCropOrPad(h, w)
        }
        "convert_image_dtype" => {
            let (d, saturate): (String, bool) = attrs.extract()?;
            let dtype = DType::from_name(&d)
                .ok_or_else(|| bad(format!("convert_image_dtype: unknown dtype {d:?}")))?;
            ImageOp::ConvertImageDtype(dtype, saturate)
        }
        "per_image_standardization" => ImageOp::PerImageStandardization,
        "adjust_brightness" => ImageOp::AdjustBrightness(attrs.extract()?),
        "adjust_contrast" => ImageOp::AdjustContrast(attrs.extract()?),
        "adjust_saturation" => ImageOp::AdjustSaturation(attrs.extract()?),
        "adjust_hue" => ImageOp::AdjustHue(attrs.extract()?),
        "rgb_to_grayscale" => ImageOp::RgbToGrayscale,
        "grayscale_to_rgb" => ImageOp::GrayscaleToRgb,
        "rgb_to_hsv" => ImageOp::RgbToHsv,
        "hsv_to_rgb" => ImageOp::HsvToRgb,
        "normalize" => {
            let (mean, std): (Vec<f32>, Vec<f32>) = attrs.extract()?;
            ImageOp::Normalize(mean, std)
        }
        "decode_jpeg" => {
            let (channels, ratio): (u8, u8) = attrs.extract()?;
            ImageOp::DecodeJpeg(channels, ratio)
        }
        "decode_png" => {
            let (channels, d): (u8, String) = attrs.extract()?;
            let dtype = DType::from_name(&d)
                .ok_or_else(|| bad(format!("decode_png: unknown dtype {d:?}")))?;
            ImageOp::DecodePng(channels, dtype)
        }
        "decode_image" => {
            let (channels, expand_animations): (Option<u8>, bool) = attrs.extract()?;
            if expand_animations {
                ImageOp::DecodeImageFrames(channels)
            } else {
                ImageOp::DecodeImage(channels)
            }
        }
        "decode_gif" => ImageOp::DecodeGif,
        "decode_bmp" => ImageOp::DecodeBmp(attrs.extract()?),
        "extract_jpeg_shape" => ImageOp::ExtractJpegShape,
        "encode_jpeg" => {
            // (quality, chroma_downsampling, progressive, optimize_size, density (unit
            // "in"/"cm", x, y) or None, xmp_metadata bytes or None, format channels or None).
            #[allow(clippy::type_complexity)]
            let (quality, chroma, progressive, optimize_size, density, xmp, format): (
                u8,
                bool,
                bool,
                bool,
                Option<(String, u16, u16)>,
                Option<Vec<u8>>,
                Option<usize>,
            ) = attrs.extract()?;
            let density = match density {
                None => None,
                Some((unit, x, y)) => Some((
                    match unit.as_str() {
                        "in" => DensityUnit::Inches,
                        "cm" => DensityUnit::Centimeters,
                        other => {
                            return Err(bad(format!(
                                "encode_jpeg: density_unit must be 'in' or 'cm', got {other:?}"
                            )))
                        }
                    },
                    x,
                    y,
                )),
            };
            let options = JpegOptions {
                quality,
                chroma_downsampling: chroma,
                progressive,
                optimize_size,
                density,
                xmp_metadata: xmp,
                format_channels: format,
            };
            if options
                == (JpegOptions {
                    quality,
                    chroma_downsampling: chroma,
                    ..JpegOptions::default()
                })
            {
                ImageOp::EncodeJpeg(quality, chroma)
            } else {
                ImageOp::EncodeJpegWith(Box::new(options))
            }
        }
        "encode_png" => ImageOp::EncodePng(attrs.extract()?),
        other => return Err(bad(format!("no image op named {other:?}"))),
    })
}

/// The image op `name` with attributes `attrs` on `inputs` (one image).
#[pyfunction]
pub fn image_op<'py>(
    py: Python<'py>,
    name: &str,
    attrs: &Bound<'py, PyAny>,
    inputs: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = image_op_from_py(py, name, attrs)?;
    run_on(py, &inputs, move |args| apply(&op, args))
}

/// `hr.image.set_max_pixels(n)`: the largest image the decoders accept; returns the old.
#[pyfunction]
pub fn set_max_pixels(pixels: u64) -> u64 {
    let old = headrace::image::decode::max_pixels();
    headrace::image::decode::set_max_pixels(pixels);
    old
}

/// The random image op `name` from its attributes.
pub fn random_image_op_from_py(
    py: Python<'_>,
    name: &str,
    attrs: &Bound<'_, PyAny>,
) -> PyResult<RandomImageOp> {
    Ok(match name {
        "random_crop" => RandomImageOp::RandomCrop(attrs.extract()?),
        "random_resized_crop" => {
            let (height, width, scale, ratio, method): (
                usize,
                usize,
                (f64, f64),
                (f64, f64),
                String,
            ) = attrs.extract()?;
            RandomImageOp::RandomResizedCrop {
                height,
                width,
                scale,
                ratio,
                method: ResizeMethod::parse(&method).map_err(|e| to_py(py, e))?,
            }
        }
        "random_saturation" => {
            let (lower, upper): (f64, f64) = attrs.extract()?;
            RandomImageOp::RandomSaturation(lower, upper)
        }
        "random_hue" => RandomImageOp::RandomHue(attrs.extract()?),
        "random_flip_left_right" => RandomImageOp::RandomFlip(false),
        "random_flip_up_down" => RandomImageOp::RandomFlip(true),
        other => return Err(bad(format!("no random image op named {other:?}"))),
    })
}

/// The random image op `name` on one image, eagerly: the draw comes from `seed`'s stream
/// (as a traced map's first element would).
#[pyfunction]
pub fn random_image_op<'py>(
    py: Python<'py>,
    name: &str,
    attrs: &Bound<'py, PyAny>,
    image: Bound<'py, PyAny>,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let op = random_image_op_from_py(py, name, attrs)?;
    run_on(py, &[image], move |args| {
        let mut rng = headrace::ops::random::stream(seed, 0, 0);
        apply_random(&op, args[0], &mut rng)
    })
}
