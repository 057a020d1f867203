//! Image ops (`tf.image`) as graph nodes and eager calls. Each wraps a kernel of
//! `crate::image` (resize, geometry, color), which hold the semantics and their tests.

use crate::error::{Error, Result};
use crate::image::resize::ResizeMethod;
use rand_pcg::Pcg64;

use crate::image::random_crop::{crop_window, resized_crop_window};
use crate::image::{color, decode, encode, geometry, resize};
use crate::ops::random::unit;
use crate::value::{DType, Tensor};

/// An image op with its attributes; the image is the single input.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageOp {
    Resize {
        height: usize,
        width: usize,
        method: ResizeMethod,
        antialias: bool,
        /// Scale to fit inside `height` x `width`, keeping the aspect ratio.
        preserve_aspect_ratio: bool,
    },
    FlipLeftRight,
    FlipUpDown,
    Transpose,
    Rot90(i64),
    /// offset_height, offset_width, target_height, target_width.
    CropToBoundingBox([usize; 4]),
    PadToBoundingBox([usize; 4]),
    CentralCrop(f64),
    ResizeWithCropOrPad(usize, usize),
    /// Resize keeping the aspect ratio to fit, then zero-pad to the target, centred.
    ResizeWithPad {
        height: usize,
        width: usize,
        method: ResizeMethod,
        antialias: bool,
    },
    ConvertImageDtype(DType, bool),
    PerImageStandardization,
    AdjustBrightness(f64),
    AdjustContrast(f64),
    AdjustSaturation(f64),
    AdjustHue(f64),
    RgbToGrayscale,
    GrayscaleToRgb,
    RgbToHsv,
    HsvToRgb,
    /// Per-channel mean and standard deviation (one value: every channel).
    Normalize(Vec<f32>, Vec<f32>),
    /// channels (0, 1, 3) and ratio (1, 2, 4, 8); the input is a string scalar.
    DecodeJpeg(u8, u8),
    /// channels (0, 1, 3, 4) and dtype (uint8, uint16).
    DecodePng(u8, DType),
    /// channels (`None`: the file's).
    DecodeImage(Option<u8>),
    /// channels and the crop window (top, left, height, width), as decoding then cropping.
    DecodeAndCropJpeg(u8, [usize; 4]),
    ExtractJpegShape,
    /// quality and chroma_downsampling; the output is a string scalar.
    EncodeJpeg(u8, bool),
    /// compression (-1 or 0..=9).
    EncodePng(i32),
}

impl ImageOp {
    pub fn name(&self) -> &'static str {
        match self {
            ImageOp::Resize { .. } => "resize",
            ImageOp::FlipLeftRight => "flip_left_right",
            ImageOp::FlipUpDown => "flip_up_down",
            ImageOp::Transpose => "transpose",
            ImageOp::Rot90(_) => "rot90",
            ImageOp::CropToBoundingBox(_) => "crop_to_bounding_box",
            ImageOp::PadToBoundingBox(_) => "pad_to_bounding_box",
            ImageOp::CentralCrop(_) => "central_crop",
            ImageOp::ResizeWithCropOrPad(..) => "resize_with_crop_or_pad",
            ImageOp::ResizeWithPad { .. } => "resize_with_pad",
            ImageOp::ConvertImageDtype(..) => "convert_image_dtype",
            ImageOp::PerImageStandardization => "per_image_standardization",
            ImageOp::AdjustBrightness(_) => "adjust_brightness",
            ImageOp::AdjustContrast(_) => "adjust_contrast",
            ImageOp::AdjustSaturation(_) => "adjust_saturation",
            ImageOp::AdjustHue(_) => "adjust_hue",
            ImageOp::RgbToGrayscale => "rgb_to_grayscale",
            ImageOp::GrayscaleToRgb => "grayscale_to_rgb",
            ImageOp::RgbToHsv => "rgb_to_hsv",
            ImageOp::HsvToRgb => "hsv_to_rgb",
            ImageOp::Normalize(..) => "normalize",
            ImageOp::DecodeJpeg(..) => "decode_jpeg",
            ImageOp::DecodePng(..) => "decode_png",
            ImageOp::DecodeImage(_) => "decode_image",
            ImageOp::DecodeAndCropJpeg(..) => "decode_and_crop_jpeg",
            ImageOp::ExtractJpegShape => "extract_jpeg_shape",
            ImageOp::EncodeJpeg(..) => "encode_jpeg",
            ImageOp::EncodePng(_) => "encode_png",
        }
    }
}

/// The size `resize(preserve_aspect_ratio=True)` gives an image of `height` x `width`: the
/// largest that fits in the target with the same aspect ratio, computed as TensorFlow
/// does (in float32, scaled by the smaller factor, rounded half to even).
fn fit_inside(height: usize, width: usize, target: (usize, usize)) -> (usize, usize) {
    let scale = f32::min(
        target.0 as f32 / height as f32,
        target.1 as f32 / width as f32,
    );
    let fit = |d: usize| (scale * d as f32).round_ties_even() as usize;
    (fit(height), fit(width))
}

/// Runs `op` on `inputs` (one image tensor, HWC or NHWC).
pub fn apply(op: &ImageOp, inputs: &[&Tensor]) -> Result<Tensor> {
    let [x] = inputs else {
        return Err(Error::invalid_argument(format!(
            "{}: takes one image tensor, got {} inputs",
            op.name(),
            inputs.len()
        )));
    };
    match op {
        ImageOp::Resize {
            height,
            width,
            method,
            antialias,
            preserve_aspect_ratio,
        } => {
            let (mut h, mut w) = (*height, *width);
            if *preserve_aspect_ratio && matches!(x.rank(), 3 | 4) {
                let s = x.shape();
                let (ih, iw) = (s[s.len() - 3], s[s.len() - 2]);
                if ih > 0 && iw > 0 {
                    (h, w) = fit_inside(ih, iw, (h, w));
                }
            }
            resize::resize(x, h, w, *method, *antialias)
        }
        ImageOp::FlipLeftRight => geometry::flip_left_right(x),
        ImageOp::FlipUpDown => geometry::flip_up_down(x),
        ImageOp::Transpose => geometry::transpose(x),
        ImageOp::Rot90(k) => geometry::rot90(x, *k),
        ImageOp::CropToBoundingBox([oh, ow, th, tw]) => {
            geometry::crop_to_bounding_box(x, *oh, *ow, *th, *tw)
        }
        ImageOp::PadToBoundingBox([oh, ow, th, tw]) => {
            geometry::pad_to_bounding_box(x, *oh, *ow, *th, *tw)
        }
        ImageOp::CentralCrop(fraction) => geometry::central_crop(x, *fraction),
        ImageOp::ResizeWithCropOrPad(h, w) => geometry::resize_with_crop_or_pad(x, *h, *w),
        ImageOp::ResizeWithPad {
            height,
            width,
            method,
            antialias,
        } => {
            // TensorFlow's rule, in float32: scale by the larger ratio, round the size down,
            // and pad by half the float difference, rounded down.
            let (ih, iw) = height_width(op.name(), x)?;
            let ratio = f32::max(iw as f32 / *width as f32, ih as f32 / *height as f32);
            let (rh, rw) = (ih as f32 / ratio, iw as f32 / ratio);
            let pad =
                |target: usize, size: f32| ((target as f32 - size) / 2.0).floor().max(0.0) as usize;
            let resized = resize::resize(x, rh as usize, rw as usize, *method, *antialias)?;
            geometry::pad_to_bounding_box(
                &resized,
                pad(*height, rh),
                pad(*width, rw),
                *height,
                *width,
            )
        }
        ImageOp::ConvertImageDtype(dtype, saturate) => {
            color::convert_image_dtype(x, *dtype, *saturate)
        }
        ImageOp::PerImageStandardization => color::per_image_standardization(x),
        ImageOp::AdjustBrightness(delta) => color::adjust_brightness(x, *delta),
        ImageOp::AdjustContrast(factor) => color::adjust_contrast(x, *factor),
        ImageOp::AdjustSaturation(factor) => color::adjust_saturation(x, *factor),
        ImageOp::AdjustHue(delta) => color::adjust_hue(x, *delta),
        ImageOp::RgbToGrayscale => color::rgb_to_grayscale(x),
        ImageOp::GrayscaleToRgb => color::grayscale_to_rgb(x),
        ImageOp::RgbToHsv => color::rgb_to_hsv(x),
        ImageOp::HsvToRgb => color::hsv_to_rgb(x),
        // Integer images are normalised as the numbers they hold (0..255 stays 0..255):
        // `normalize` casts to float32 itself.
        ImageOp::Normalize(mean, std) => color::normalize(x, mean, std),
        ImageOp::DecodeJpeg(channels, ratio) => {
            decode::decode_jpeg(contents(op, x)?, *channels, *ratio)
        }
        ImageOp::DecodePng(channels, dtype) => {
            decode::decode_png(contents(op, x)?, *channels, *dtype)
        }
        ImageOp::DecodeImage(channels) => decode::decode_image(contents(op, x)?, *channels),
        ImageOp::DecodeAndCropJpeg(channels, window) => {
            // Decodes only the window's rows and iMCU columns, with the pixels of decoding
            // then cropping (as documented). TensorFlow's kernel differs from those at the
            // window's left/right column for 4:2:0 colour; `decode_and_crop_jpeg` has its.
            crate::image::decode_window::decode_jpeg_window(contents(op, x)?, *channels, *window)
        }
        ImageOp::ExtractJpegShape => decode::extract_jpeg_shape(contents(op, x)?),
        ImageOp::EncodeJpeg(quality, chroma) => encode::encode_jpeg(x, *quality, *chroma),
        ImageOp::EncodePng(compression) => encode::encode_png(x, *compression),
    }
}

/// An image op that draws random numbers: a graph node gives it the element's own stream
/// (see `graph.rs`), so its result depends on the seed and the element, not the thread.
#[derive(Clone, Debug, PartialEq)]
pub enum RandomImageOp {
    /// `random_crop(value, size)`: `size` has the image's rank; the window is drawn over
    /// height and width, the other dimensions must be the image's.
    RandomCrop(Vec<usize>),
    /// `random_resized_crop(image, (height, width), scale, ratio)` of an HWC image,
    /// resized with `method` (float32 out, as `resize`).
    RandomResizedCrop {
        height: usize,
        width: usize,
        scale: (f64, f64),
        ratio: (f64, f64),
        method: ResizeMethod,
    },
    /// `random_saturation(image, lower, upper)`: a factor uniform in [lower, upper).
    RandomSaturation(f64, f64),
    /// `random_hue(image, max_delta)`: a delta uniform in [-max_delta, max_delta).
    RandomHue(f64),
    /// `random_flip_left_right` (false) or `random_flip_up_down` (true): flips with
    /// probability 1/2; the other half of the time the image passes as it is (no copy).
    RandomFlip(bool),
}

impl RandomImageOp {
    pub fn name(&self) -> &'static str {
        match self {
            RandomImageOp::RandomCrop(_) => "random_crop",
            RandomImageOp::RandomResizedCrop { .. } => "random_resized_crop",
            RandomImageOp::RandomSaturation(..) => "random_saturation",
            RandomImageOp::RandomHue(_) => "random_hue",
            RandomImageOp::RandomFlip(false) => "random_flip_left_right",
            RandomImageOp::RandomFlip(true) => "random_flip_up_down",
        }
    }
}

/// Height and width of an HWC or NHWC image.
fn height_width(op: &str, x: &Tensor) -> Result<(usize, usize)> {
    match x.shape() {
        [.., h, w, _] if matches!(x.rank(), 3 | 4) => Ok((*h, *w)),
        shape => Err(Error::invalid_argument(format!(
            "{op}: needs an image of rank 3 (HWC) or 4 (NHWC), got shape {shape:?}"
        ))),
    }
}

/// Runs the random op `op` on `image`, drawing from `rng`.
pub fn apply_random(op: &RandomImageOp, image: &Tensor, rng: &mut Pcg64) -> Result<Tensor> {
    let name = op.name();
    match op {
        RandomImageOp::RandomSaturation(lower, upper) => {
            let factor = lower + (upper - lower) * unit(rng);
            return color::adjust_saturation(image, factor);
        }
        RandomImageOp::RandomHue(max_delta) => {
            let delta = max_delta * (2.0 * unit(rng) - 1.0);
            return color::adjust_hue(image, delta);
        }
        RandomImageOp::RandomFlip(up_down) => {
            return match (unit(rng) < 0.5, up_down) {
                (false, _) => Ok(image.clone()),
                (true, false) => geometry::flip_left_right(image),
                (true, true) => geometry::flip_up_down(image),
            };
        }
        _ => {}
    }
    let (h, w) = height_width(name, image)?;
    match op {
        RandomImageOp::RandomCrop(size) => {
            let rank = image.rank();
            if size.len() != rank {
                return Err(Error::invalid_argument(format!(
                    "{name}: size {size:?} must have the image's rank ({rank})"
                )));
            }
            for (axis, (&s, &d)) in size.iter().zip(image.shape()).enumerate() {
                let spatial = axis == rank - 3 || axis == rank - 2;
                if !spatial && s != d {
                    return Err(Error::invalid_argument(format!(
                        "{name}: size {size:?} must keep dimension {axis} ({d}) of the image                          {:?}; only height and width are cropped",
                        image.shape()
                    )));
                }
            }
            let win = crop_window(h, w, size[rank - 3], size[rank - 2], rng)?;
            geometry::crop_to_bounding_box(image, win.top, win.left, win.height, win.width)
        }
        RandomImageOp::RandomResizedCrop {
            height,
            width,
            scale,
            ratio,
            method,
        } => {
            if image.rank() != 3 {
                return Err(Error::invalid_argument(format!(
                    "{name}: crops one HWC image at a time (map it before batch), got shape {:?}",
                    image.shape()
                )));
            }
            let win = resized_crop_window(h, w, *scale, *ratio, rng);
            let crop =
                geometry::crop_to_bounding_box(image, win.top, win.left, win.height, win.width)?;
            resize::resize(&crop, *height, *width, *method, false)
        }
        RandomImageOp::RandomSaturation(..)
        | RandomImageOp::RandomHue(_)
        | RandomImageOp::RandomFlip(_) => unreachable!("handled above"),
    }
}

/// The bytes of an encoded image: a string scalar.
fn contents<'t>(op: &ImageOp, x: &'t Tensor) -> Result<&'t [u8]> {
    if x.dtype() != DType::String || x.rank() != 0 {
        return Err(Error::invalid_argument(format!(
            "{}: needs the encoded image as a string scalar, got {} of shape {:?}",
            op.name(),
            x.dtype(),
            x.shape()
        )));
    }
    Ok(&x.string_values()?[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_inside_keeps_the_aspect_ratio() {
        // 250x333 into 224x224: the width limits, 224/333.
        assert_eq!(fit_inside(250, 333, (224, 224)), (168, 224));
        assert_eq!(fit_inside(100, 100, (50, 200)), (50, 50));
        // 0.01 * 1 rounds to 0, which resize then refuses, as in TensorFlow.
        assert_eq!(fit_inside(1, 1000, (10, 10)), (0, 10));
    }

    #[test]
    fn one_input_only() {
        let t = Tensor::zeros(DType::UInt8, &[2, 2, 3]);
        let err = apply(&ImageOp::FlipUpDown, &[&t, &t]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "flip_up_down: takes one image tensor, got 2 inputs"
        );
    }
}
