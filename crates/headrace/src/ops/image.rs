//! Image ops (`tf.image`) as graph nodes and eager calls. Each wraps a kernel of
//! `crate::image` (resize, geometry, color), which hold the semantics and their tests.

use crate::error::{Error, Result};
use crate::image::resize::ResizeMethod;
use rand_pcg::Pcg64;

use crate::image::random_crop::{crop_window, resized_crop_window, Window};
use crate::image::{bmp, color, decode, decode_window, encode, geometry, gif, resize};
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
    /// channels (`None`: the file's); `expand_animations=False`: a GIF gives its first frame.
    DecodeImage(Option<u8>),
    /// `decode_image(..., expand_animations=True)`: a GIF gives all its frames (4-D).
    DecodeImageFrames(Option<u8>),
    /// A GIF's frames, `[frames, height, width, 3]`.
    DecodeGif,
    /// channels (0, 3, 4).
    DecodeBmp(u8),
    /// channels and the crop window (top, left, height, width), as decoding then cropping.
    DecodeAndCropJpeg(u8, [usize; 4]),
    ExtractJpegShape,
    /// A decode (`DecodeJpeg` at ratio 1 or `DecodeImage`) and the crop after it
    /// (`CropToBoundingBox` or `CentralCrop`), fused by the graph rewrite in `fusion.rs`: a
    /// JPEG decodes only the window the crop keeps. Same pixels as the two ops.
    DecodeThenCrop(Box<ImageOp>, Box<ImageOp>),
    /// A decode and the `Resize` after it, rewritten under `approximate_image_ops`
    /// (`fusion.rs`): a JPEG that an antialiased `bilinear` resize shrinks by 4x or more
    /// decodes at a reduced DCT scale (1/2, 1/4, 1/8) that keeps twice the target size,
    /// then resizes from there. Not exact: see `docs/images.md`.
    DecodeScaledThenResize(Box<ImageOp>, Box<ImageOp>),
    /// quality and chroma_downsampling; the output is a string scalar.
    EncodeJpeg(u8, bool),
    /// All of `encode_jpeg`'s arguments (progressive, optimize_size, density, XMP, format).
    EncodeJpegWith(Box<encode::JpegOptions>),
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
            ImageOp::DecodeImage(_) | ImageOp::DecodeImageFrames(_) => "decode_image",
            ImageOp::DecodeGif => "decode_gif",
            ImageOp::DecodeBmp(_) => "decode_bmp",
            ImageOp::DecodeAndCropJpeg(..) => "decode_and_crop_jpeg",
            ImageOp::DecodeThenCrop(decode, _) => decode.name(),
            ImageOp::DecodeScaledThenResize(decode, _) => decode.name(),
            ImageOp::ExtractJpegShape => "extract_jpeg_shape",
            ImageOp::EncodeJpeg(..) | ImageOp::EncodeJpegWith(_) => "encode_jpeg",
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
        ImageOp::DecodeImageFrames(channels) => {
            decode::decode_image_with(contents(op, x)?, *channels, true)
        }
        ImageOp::DecodeGif => gif::decode_gif(contents(op, x)?),
        ImageOp::DecodeBmp(channels) => bmp::decode_bmp(contents(op, x)?, *channels),
        ImageOp::DecodeAndCropJpeg(channels, window) => {
            // Decodes only the window's rows and iMCU columns, with the pixels of decoding
            // then cropping (as documented). TensorFlow's kernel differs from those at the
            // window's left/right column for 4:2:0 colour; `decode_and_crop_jpeg` has its.
            crate::image::decode_window::decode_jpeg_window(contents(op, x)?, *channels, *window)
        }
        ImageOp::DecodeThenCrop(decode, crop) => {
            let bytes = contents(op, x)?;
            if let Some(channels) = jpeg_channels(decode) {
                let window = decode_window(bytes, channels, |shape| fixed_window(crop, &shape));
                if let Some(image) = window {
                    return Ok(image);
                }
            }
            apply(crop, &[&apply(decode, &[x])?])
        }
        ImageOp::DecodeScaledThenResize(decode, resize_op) => {
            let bytes = contents(op, x)?;
            if let Some(resized) = decode_scaled_and_resize(bytes, decode, resize_op) {
                return Ok(resized);
            }
            apply(resize_op, &[&apply(decode, &[x])?])
        }
        ImageOp::ExtractJpegShape => decode::extract_jpeg_shape(contents(op, x)?),
        ImageOp::EncodeJpeg(quality, chroma) => encode::encode_jpeg(x, *quality, *chroma),
        ImageOp::EncodeJpegWith(options) => encode::encode_jpeg_with(x, options),
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
    /// A decode (`DecodeJpeg` at ratio 1 or `DecodeImage`) and the random crop after it
    /// (`RandomCrop` or `RandomResizedCrop`), fused by the graph rewrite in `fusion.rs`: a
    /// JPEG decodes only the window drawn from its header's size. Same draws, same pixels.
    DecodeThenCrop(ImageOp, Box<RandomImageOp>),
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
            RandomImageOp::DecodeThenCrop(_, crop) => crop.name(),
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
    match op {
        RandomImageOp::RandomSaturation(lower, upper) => {
            let factor = lower + (upper - lower) * unit(rng);
            color::adjust_saturation(image, factor)
        }
        RandomImageOp::RandomHue(max_delta) => {
            let delta = max_delta * (2.0 * unit(rng) - 1.0);
            color::adjust_hue(image, delta)
        }
        RandomImageOp::RandomFlip(up_down) => match (unit(rng) < 0.5, up_down) {
            (false, _) => Ok(image.clone()),
            (true, false) => geometry::flip_left_right(image),
            (true, true) => geometry::flip_up_down(image),
        },
        RandomImageOp::RandomCrop(_) | RandomImageOp::RandomResizedCrop { .. } => {
            let win = draw_window(op, image.shape(), rng)?;
            finish_crop(op, crop_to(image, win)?)
        }
        RandomImageOp::DecodeThenCrop(decode, crop) => {
            let bytes = contents(decode, image)?;
            // The window is drawn from the header's size, as the unfused crop draws it from
            // the decoded image's shape: the same draws from the same stream. A shape the
            // crop refuses draws nothing and takes the exact path, which decodes first and
            // so reports a bad file before a bad crop size, as the two ops do.
            let mut drawn = None;
            if let Some(channels) = jpeg_channels(decode) {
                let cropped = decode_window(bytes, channels, |shape| {
                    let win = draw_window(crop, &shape, rng).ok()?;
                    drawn = Some(win);
                    Some(win)
                });
                if let Some(cropped) = cropped {
                    return finish_crop(crop, cropped);
                }
            }
            let decoded = apply(decode, &[image])?;
            match drawn {
                // Drawn before the window decoder gave up: the exact path crops that window.
                Some(win) => finish_crop(crop, crop_to(&decoded, win)?),
                None => apply_random(crop, &decoded, rng),
            }
        }
    }
}

/// [`apply_random`] for an image at its last use in a graph: a flip is written over it when
/// nothing else holds its buffer. Same draws, same result.
pub fn apply_random_owned(op: &RandomImageOp, image: Tensor, rng: &mut Pcg64) -> Result<Tensor> {
    match op {
        RandomImageOp::RandomFlip(up_down) if unit(rng) < 0.5 => {
            geometry::flip_owned(image, *up_down)
        }
        RandomImageOp::RandomFlip(_) => Ok(image),
        _ => apply_random(op, &image, rng),
    }
}

/// The window a random crop op draws for an image of `shape`, after checking the shape.
fn draw_window(op: &RandomImageOp, shape: &[usize], rng: &mut Pcg64) -> Result<Window> {
    let name = op.name();
    let (h, w) = match shape {
        [.., h, w, _] if matches!(shape.len(), 3 | 4) => (*h, *w),
        _ => {
            return Err(Error::invalid_argument(format!(
                "{name}: needs an image of rank 3 (HWC) or 4 (NHWC), got shape {shape:?}"
            )))
        }
    };
    match op {
        RandomImageOp::RandomCrop(size) => {
            let rank = shape.len();
            if size.len() != rank {
                return Err(Error::invalid_argument(format!(
                    "{name}: size {size:?} must have the image's rank ({rank})"
                )));
            }
            for (axis, (&s, &d)) in size.iter().zip(shape).enumerate() {
                let spatial = axis == rank - 3 || axis == rank - 2;
                if !spatial && s != d {
                    return Err(Error::invalid_argument(format!(
                        "{name}: size {size:?} must keep dimension {axis} ({d}) of the image \
                         {shape:?}; only height and width are cropped"
                    )));
                }
            }
            crop_window(h, w, size[rank - 3], size[rank - 2], rng)
        }
        RandomImageOp::RandomResizedCrop { scale, ratio, .. } => {
            if shape.len() != 3 {
                return Err(Error::invalid_argument(format!(
                    "{name}: crops one HWC image at a time (map it before batch), got shape \
                     {shape:?}"
                )));
            }
            Ok(resized_crop_window(h, w, *scale, *ratio, rng))
        }
        _ => Err(Error::internal(format!("{name} draws no crop window"))),
    }
}

/// What a random crop op does with its window's pixels: `random_resized_crop` resizes them.
fn finish_crop(op: &RandomImageOp, cropped: Tensor) -> Result<Tensor> {
    match op {
        RandomImageOp::RandomResizedCrop {
            height,
            width,
            method,
            ..
        } => resize::resize(&cropped, *height, *width, *method, false),
        _ => Ok(cropped),
    }
}

fn crop_to(image: &Tensor, win: Window) -> Result<Tensor> {
    geometry::crop_to_bounding_box(image, win.top, win.left, win.height, win.width)
}

// --- The fused decode and crop (`DecodeThenCrop`) ------------------------------------------

/// The `channels` argument of a decode op the window decoder can stand in for.
fn jpeg_channels(decode: &ImageOp) -> Option<u8> {
    match decode {
        ImageOp::DecodeJpeg(channels, 1) => Some(*channels),
        ImageOp::DecodeImage(channels) => Some(channels.unwrap_or(0)),
        _ => None,
    }
}

/// The window of a deterministic crop op on an image of `shape`, `None` when the crop would
/// refuse the shape (the exact path then gives its error) or keeps the whole image.
fn fixed_window(crop: &ImageOp, shape: &[usize; 3]) -> Option<Window> {
    let [h, w, _] = *shape;
    let win = match crop {
        ImageOp::CropToBoundingBox([top, left, height, width]) => Window {
            top: *top,
            left: *left,
            height: *height,
            width: *width,
        },
        ImageOp::CentralCrop(fraction) if *fraction > 0.0 && *fraction < 1.0 => {
            let (sh, sw) = (
                geometry::central_crop_start(h, *fraction),
                geometry::central_crop_start(w, *fraction),
            );
            Window {
                top: sh,
                left: sw,
                height: h - 2 * sh,
                width: w - 2 * sw,
            }
        }
        _ => return None,
    };
    let fits = win.height > 0
        && win.width > 0
        && win.top.checked_add(win.height).is_some_and(|end| end <= h)
        && win.left.checked_add(win.width).is_some_and(|end| end <= w);
    fits.then_some(win)
}

/// The DCT scaling (in eighths: 1, 2 or 4; 8 is none) that decodes an image of `height` x
/// `width` as small as it can while keeping at least twice the resize's target size along
/// both axes. The margin keeps the result close to the exact path: measured on the
/// benchmark's photographs, resizing from an image only just above the target lost 3 to
/// 6 dB of PSNR against the exact resize.
fn reduced_scale(height: usize, width: usize, target: (usize, usize)) -> u8 {
    // libjpeg's scaled size is ceil(size * eighths / 8).
    let scaled = |size: usize, eighths: u8| (size * eighths as usize).div_ceil(8);
    [1u8, 2, 4]
        .into_iter()
        .find(|&e| scaled(height, e) >= 2 * target.0 && scaled(width, e) >= 2 * target.1)
        .unwrap_or(8)
}

/// Whether the approximation is close enough for this resize: `bilinear` with antialias
/// (a tent over the source pixels, much as a DCT-scaled decode averages them) stays at 39
/// to 44 dB PSNR from the exact path on photographs. The others do not reach 38 dB: `area`
/// 37, sharper kernels keep detail the scaled decode has lost (bicubic 38, lanczos3 37),
/// and `nearest` or `bilinear` without antialias sample a few pixels per output and alias
/// (20 to 29).
fn resize_filters(method: ResizeMethod, antialias: bool) -> bool {
    antialias && method == ResizeMethod::Bilinear
}

/// `resize(decode(bytes))` from a JPEG decoded at a reduced DCT scale (`approximate_image_ops`)
/// chosen from its header (read once), at full scale where no reduction applies (then the
/// exact result); `None` to take the exact path (not a JPEG, a resize the approximation
/// does not cover, or an error, which the exact path reports in its own words).
fn decode_scaled_and_resize(bytes: &[u8], decode: &ImageOp, resize_op: &ImageOp) -> Option<Tensor> {
    let ImageOp::Resize {
        height,
        width,
        method,
        antialias,
        preserve_aspect_ratio,
    } = resize_op
    else {
        return None;
    };
    if !resize_filters(*method, *antialias) {
        return None;
    }
    let channels = jpeg_channels(decode)?;
    let mut target = (*height, *width);
    let small = decode::decode_jpeg_scaled_by(bytes, channels, |h, w| {
        // The target comes from the full-size image, as the exact resize computes it.
        if *preserve_aspect_ratio {
            target = fit_inside(h, w, target);
        }
        8 / reduced_scale(h, w, target)
    })
    .ok()?;
    resize::resize(&small, target.0, target.1, *method, *antialias).ok()
}

/// The window of a JPEG decoded alone, the window chosen by `choose` from the shape the full
/// decode would have (read from the header, once); `None` to take the exact path (decode
/// everything, then crop), which also reports any error in TensorFlow's words: when `choose`
/// gives no window, or the file is not a JPEG the window decoder takes.
///
/// A file without its end-of-image marker takes the exact path too (before `choose` runs):
/// the window decoder stops below the window, so it would not notice a file cut short there,
/// where decoding the whole image refuses it.
fn decode_window(
    bytes: &[u8],
    channels: u8,
    choose: impl FnOnce([usize; 3]) -> Option<Window>,
) -> Option<Tensor> {
    if !bytes.ends_with(&[0xff, 0xd9]) {
        return None;
    }
    decode_window::decode_jpeg_window_chosen(bytes, channels, |shape| {
        let win = choose(shape).ok_or_else(|| Error::internal("no window: the exact path"))?;
        Ok([win.top, win.left, win.height, win.width])
    })
    .ok()
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

    /// The fused path decodes the window itself for a whole JPEG, and leaves a cut one to
    /// the exact path.
    #[test]
    fn the_window_decoder_takes_whole_jpegs_only() {
        let pixels: Vec<u8> = (0..64 * 80 * 3).map(|i| (i % 251) as u8).collect();
        let image = Tensor::from_vec(&[64, 80, 3], pixels).unwrap();
        let encoded = encode::encode_jpeg(&image, 90, true).unwrap();
        let bytes = &encoded.string_values().unwrap()[0];
        let win = Window {
            top: 9,
            left: 17,
            height: 30,
            width: 41,
        };
        let mut seen = None;
        let window = decode_window(bytes, 0, |shape| {
            seen = Some(shape);
            Some(win)
        })
        .expect("a whole JPEG decodes its window");
        // The window is chosen from the full decode's shape, read from the header.
        assert_eq!(seen, Some([64, 80, 3]));
        let full = decode::decode_jpeg(bytes, 0, 1).unwrap();
        assert_eq!(window, crop_to(&full, win).unwrap());
        // A cut file, and no window chosen, take the exact path; so does a non-JPEG.
        let cut = decode_window(&bytes[..bytes.len() - 1], 3, |_| panic!("not asked"));
        assert!(cut.is_none());
        assert!(decode_window(bytes, 3, |_| None).is_none());
        assert!(decode_window(b"\xff\xd8\xff\xd9", 3, |_| Some(win)).is_none());
    }

    #[test]
    fn an_owned_random_flip_draws_and_flips_as_the_borrowed_one() {
        use crate::ops::random::stream;
        let pixels: Vec<f32> = (0..6 * 5 * 3).map(|i| i as f32).collect();
        let image = Tensor::from_vec(&[6, 5, 3], pixels).unwrap();
        for op in [
            RandomImageOp::RandomFlip(false),
            RandomImageOp::RandomFlip(true),
        ] {
            let mut flipped = 0;
            for position in 0..32 {
                let want = apply_random(&op, &image, &mut stream(1, position, 2)).unwrap();
                let owned = Tensor::concat(&[&image]).unwrap();
                let got = apply_random_owned(&op, owned, &mut stream(1, position, 2)).unwrap();
                assert_eq!(got, want, "{op:?} at {position}");
                flipped += usize::from(want != image);
            }
            assert!(
                (4..28).contains(&flipped),
                "{op:?}: {flipped} of 32 flipped"
            );
        }
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
