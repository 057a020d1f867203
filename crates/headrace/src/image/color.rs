//! Value and colour ops with `tf.image` semantics: dtype conversion, standardisation,
//! brightness, contrast, grayscale, HSV, saturation, hue, and a per-channel `normalize`.
//!
//! Images hold channels last (HWC or NHWC; several ops accept any rank, as TensorFlow's do).
//! The arithmetic follows TensorFlow's Python wrappers and CPU kernels step by step, in the same
//! precision, so results match to the bit except where noted on an op:
//!
//! - `convert_image_dtype` maps integers to floats by multiplying with `1 / MAX` (rounded to the
//!   float type), floats to integers by multiplying with `MAX + 0.5` and truncating, and
//!   integers to integers by floor division or multiplication with a power of two.
//! - The adjustments (`adjust_*`) work on float32 (float16 stays float16 where TensorFlow keeps
//!   it) and convert back to the input dtype as TensorFlow does.
//!
//! Float-to-integer casts of values outside the target range (NaN included) are
//! implementation-defined in TensorFlow; here they saturate and NaN becomes 0, as
//! [`cast`](crate::ops::cast::cast) does.

use half::{bf16, f16};
use num_traits::Float;

use crate::error::{Error, Result};
use crate::ops::array::assemble;
use crate::ops::cast::cast;
use crate::ops::dispatch::{with_float_type, with_int_type};
use crate::value::{DType, Scalar, Tensor};

fn err(op: &str, message: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("{op}: {message}"))
}

/// The float element types, with exact conversions through f64 and IEEE neighbour stepping.
trait FloatElem: Scalar + Float {
    /// `v` rounded to this type (to nearest, ties to even).
    fn of(v: f64) -> Self;
    /// The value as f64 (exact).
    fn wide(self) -> f64;
    /// The neighbouring value one step closer to zero (`self` finite or infinite, not zero).
    fn toward_zero(self) -> Self;
}

impl FloatElem for f32 {
    fn of(v: f64) -> f32 {
        v as f32
    }
    fn wide(self) -> f64 {
        self as f64
    }
    fn toward_zero(self) -> f32 {
        f32::from_bits(self.to_bits() - 1)
    }
}

impl FloatElem for f64 {
    fn of(v: f64) -> f64 {
        v
    }
    fn wide(self) -> f64 {
        self
    }
    fn toward_zero(self) -> f64 {
        f64::from_bits(self.to_bits() - 1)
    }
}

impl FloatElem for f16 {
    fn of(v: f64) -> f16 {
        f16::from_f64(v)
    }
    fn wide(self) -> f64 {
        f16::to_f64(self)
    }
    fn toward_zero(self) -> f16 {
        f16::from_bits(self.to_bits() - 1)
    }
}

impl FloatElem for bf16 {
    fn of(v: f64) -> bf16 {
        bf16::from_f64(v)
    }
    fn wide(self) -> f64 {
        bf16::to_f64(self)
    }
    fn toward_zero(self) -> bf16 {
        bf16::from_bits(self.to_bits() - 1)
    }
}

fn is_numeric(d: DType) -> bool {
    d.is_integer() || d.is_floating()
}

fn require_numeric(op: &str, images: &Tensor) -> Result<()> {
    if is_numeric(images.dtype()) {
        Ok(())
    } else {
        Err(err(
            op,
            format!(
                "images must be an integer or floating point tensor, got {}",
                images.dtype()
            ),
        ))
    }
}

/// Rank at least `rank` (TensorFlow's kernels treat leading dimensions as a batch).
fn require_rank(op: &str, images: &Tensor, rank: usize) -> Result<()> {
    if images.rank() < rank {
        return Err(err(
            op,
            format!(
                "images must have at least {rank} dimensions, got shape {:?}",
                images.shape()
            ),
        ));
    }
    Ok(())
}

/// Channels last, exactly three of them (RGB or HSV).
fn require_three_channels(op: &str, images: &Tensor) -> Result<()> {
    if images.shape().last() != Some(&3) {
        return Err(err(
            op,
            format!(
                "the last dimension of the images must be 3, got shape {:?}",
                images.shape()
            ),
        ));
    }
    Ok(())
}

/// The smallest and largest value of an integer dtype.
fn int_range(d: DType) -> (i128, i128) {
    with_int_type!(
        d,
        T => (T::MIN as i128, T::MAX as i128),
        unreachable!("int_range of {d}")
    )
}

fn ints_to_i128(x: &Tensor) -> Result<Vec<i128>> {
    with_int_type!(
        x.dtype(),
        T => Ok(x.as_slice::<T>()?.iter().map(|&v| v as i128).collect()),
        unreachable!("ints_to_i128 of {}", x.dtype())
    )
}

/// `values` as a tensor of integer `dtype`, each truncated to its low bits (C's conversion).
fn i128_to_ints(dtype: DType, shape: &[usize], values: &[i128]) -> Result<Tensor> {
    with_int_type!(
        dtype,
        T => Tensor::from_vec(shape, values.iter().map(|&v| v as T).collect::<Vec<T>>()),
        unreachable!("i128_to_ints of {dtype}")
    )
}

/// `x` (of float type `T`) with `f` applied to every element.
fn map_float<T: FloatElem>(x: &Tensor, f: impl Fn(T) -> T) -> Result<Tensor> {
    let v: Vec<T> = x.as_slice::<T>()?.iter().map(|&p| f(p)).collect();
    Tensor::from_vec(x.shape(), v)
}

/// The elements of a float tensor as f32 (exact for float16 and bfloat16).
fn to_f32_values(x: &Tensor) -> Result<Vec<f32>> {
    match x.dtype() {
        DType::Float32 => Ok(x.as_slice::<f32>()?.to_vec()),
        _ => cast(x, DType::Float32).map(|t| t.as_slice::<f32>().unwrap().to_vec()),
    }
}

/// f32 `values` as a tensor of float `dtype` (rounded to nearest).
fn from_f32_values(dtype: DType, shape: &[usize], values: Vec<f32>) -> Result<Tensor> {
    let t = Tensor::from_vec(shape, values)?;
    if dtype == DType::Float32 {
        Ok(t)
    } else {
        cast(&t, dtype)
    }
}

/// Whether `v < bound`, exactly.
fn below(v: f64, bound: i128) -> bool {
    (v.floor() as i128) < bound
}

/// Whether `v > bound`, exactly.
fn above(v: f64, bound: i128) -> bool {
    (v.ceil() as i128) > bound
}

/// The clamp `tf.saturate_cast` applies to float type `S` before casting to an integer type
/// of range `[lo, hi]`: none when `S`'s range lies inside it; otherwise the bounds converted
/// to `S`, each stepped toward zero if rounding carried it outside the range (so float32 to
/// int32 clamps at 2147483520, the largest float32 below 2^31).
fn saturate_limits<S: FloatElem>(lo: i128, hi: i128) -> Option<(S, S)> {
    let (smin, smax) = (S::min_value().wide(), S::max_value().wide());
    if !(below(smin, lo) || above(smax, hi)) {
        return None;
    }
    let mut a = S::of(lo as f64);
    if below(a.wide(), lo) {
        a = a.toward_zero();
    }
    let mut b = S::of(hi as f64);
    if above(b.wide(), hi) {
        b = b.toward_zero();
    }
    Some((a, b))
}

fn float_to_int<S: FloatElem>(x: &Tensor, to: DType, saturate: bool) -> Result<Tensor> {
    let (lo, hi) = int_range(to);
    // Python's `dtype.max + 0.5`, in float64, then converted to the image's float type.
    let scale = S::of(hi as f64 + 0.5);
    let limits = if saturate {
        saturate_limits::<S>(lo, hi)
    } else {
        None
    };
    let scaled = map_float::<S>(x, |p| {
        let s = p * scale;
        match limits {
            Some((a, _)) if s < a => a,
            Some((_, b)) if s > b => b,
            _ => s,
        }
    })?;
    cast(&scaled, to)
}

fn int_to_int(x: &Tensor, to: DType, saturate: bool) -> Result<Tensor> {
    let (_, in_max) = int_range(x.dtype());
    let (out_min, out_max) = int_range(to);
    let clamp = |v: i128| {
        if saturate {
            v.clamp(out_min, out_max)
        } else {
            v
        }
    };
    let values = ints_to_i128(x)?;
    let out: Vec<i128> = if in_max > out_max {
        // Scaling down: floor-divide in the source type, then cast.
        let scale = (in_max + 1) / (out_max + 1);
        values.iter().map(|&v| clamp(v.div_euclid(scale))).collect()
    } else {
        // Scaling up: cast, then multiply in the target type (wrapping, as C++ does; the
        // low bits of the exact product are the wrapped product).
        let scale = (out_max + 1) / (in_max + 1);
        values.iter().map(|&v| clamp(v) * scale).collect()
    };
    i128_to_ints(to, x.shape(), &out)
}

/// `images` converted to `dtype`, rescaling values as `tf.image.convert_image_dtype` does.
///
/// Floats are taken to span [0, 1) and integers [0, MAX]:
/// - int to float: `cast(x) * (1 / MAX_in)`, the scale rounded to the float type;
/// - float to int: `cast(x * (MAX_out + 0.5))`, truncating toward zero; with `saturate` the
///   product is first clamped to the target range (as `tf.saturate_cast` clamps);
/// - int to int: down `x // ((MAX_in + 1) / (MAX_out + 1))` then cast; up
///   `cast(x) * ((MAX_out + 1) / (MAX_in + 1))`; with `saturate` the cast clamps instead of
///   wrapping;
/// - float to float: a plain cast.
///
/// The same dtype returns the images unchanged. Bool and string are rejected.
pub fn convert_image_dtype(images: &Tensor, dtype: DType, saturate: bool) -> Result<Tensor> {
    const OP: &str = "convert_image_dtype";
    if !is_numeric(dtype) {
        return Err(err(
            OP,
            format!("dtype must be an integer or floating point type, got {dtype}"),
        ));
    }
    require_numeric(OP, images)?;
    let from = images.dtype();
    if from == dtype {
        return Ok(images.clone());
    }
    match (from.is_integer(), dtype.is_integer()) {
        (true, true) => int_to_int(images, dtype, saturate),
        (false, false) => cast(images, dtype),
        (true, false) => {
            let casted = cast(images, dtype)?;
            // Python's `1. / image.dtype.max`, in float64.
            let scale = 1.0 / int_range(from).1 as f64;
            with_float_type!(
                dtype,
                T => {
                    let s = T::of(scale);
                    map_float::<T>(&casted, |p| p * s)
                },
                unreachable!()
            )
        }
        (false, true) => with_float_type!(
            from,
            S => float_to_int::<S>(images, dtype, saturate),
            unreachable!()
        ),
    }
}

/// Each image scaled to mean 0 and variance 1 (`tf.image.per_image_standardization`), as
/// float32: `(x - mean) / max(stddev, 1 / sqrt(N))` with N the number of elements of one
/// image (height x width x channels).
///
/// Images are the last three dimensions (rank >= 3; leading dimensions are a batch) and must
/// be non-empty. The input is cast to float32 (not rescaled), so uint8 images stay in 0..255
/// before standardising. The sums are accumulated in f64 (TensorFlow sums float32 in a tree),
/// so results can differ from TensorFlow's in the last bit.
pub fn per_image_standardization(images: &Tensor) -> Result<Tensor> {
    const OP: &str = "per_image_standardization";
    require_rank(OP, images, 3)?;
    let s = images.shape();
    let hwc = &s[s.len() - 3..];
    if hwc.contains(&0) {
        return Err(err(
            OP,
            format!("the last three dimensions of the shape {s:?} must be > 0"),
        ));
    }
    if images.dtype() == DType::String {
        return Err(err(OP, "images must be numeric, got string"));
    }
    let n: usize = hwc.iter().product();
    let x = cast(images, DType::Float32)?;
    let v = x.as_slice::<f32>()?;
    let min_stddev = 1.0 / (n as f32).sqrt();
    let mut out = Vec::with_capacity(v.len());
    for image in v.chunks_exact(n) {
        let mean = (image.iter().map(|&p| p as f64).sum::<f64>() / n as f64) as f32;
        let variance = (image
            .iter()
            .map(|&p| {
                let d = p - mean;
                (d * d) as f64
            })
            .sum::<f64>()
            / n as f64) as f32;
        let adjusted = variance.sqrt().max(min_stddev);
        out.extend(image.iter().map(|&p| (p - mean) / adjusted));
    }
    Tensor::from_vec(s, out)
}

/// `images` converted to the float type TensorFlow's adjustments work in: float16 and float32
/// stay, everything else goes through `convert_image_dtype(_, float32)`.
fn to_working_float(images: &Tensor) -> Result<Tensor> {
    match images.dtype() {
        DType::Float16 | DType::Float32 => Ok(images.clone()),
        _ => convert_image_dtype(images, DType::Float32, false),
    }
}

/// `delta` added to every element (`tf.image.adjust_brightness`).
///
/// Float16 and float32 images add `delta` (rounded to float32, then to their type) in their own
/// type and are not clipped. Other dtypes are converted to float32 with
/// [`convert_image_dtype`], adjusted, and converted back with saturation, so uint8 images clip
/// at 0 and 255. Any shape.
pub fn adjust_brightness(images: &Tensor, delta: f64) -> Result<Tensor> {
    require_numeric("adjust_brightness", images)?;
    let flt = to_working_float(images)?;
    // TensorFlow converts the Python float to a float32 tensor, then casts it.
    let delta = delta as f32 as f64;
    let adjusted = with_float_type!(
        flt.dtype(),
        T => {
            let d = T::of(delta);
            map_float::<T>(&flt, |p| p + d)?
        },
        unreachable!()
    );
    convert_image_dtype(&adjusted, images.dtype(), true)
}

/// TensorFlow's AdjustContrastv2 CPU kernel on float32 `values` shaped
/// `[batch, pixels, channels]`: per image and channel, `mean + factor * (x - mean)`, the mean
/// summed pairwise as the kernel sums it (halving the pixel range each round).
fn contrast_kernel(values: &mut [f32], pixels: usize, channels: usize, factor: f32) {
    let plane = pixels * channels;
    let mut sum = vec![0f32; plane];
    let scaling = 1.0f32 / pixels as f32;
    for image in values.chunks_exact_mut(plane) {
        let mut remaining = pixels;
        let mut round = 0;
        loop {
            let right = remaining / 2;
            let left = remaining - right;
            if round == 0 {
                for j in 0..right * channels {
                    sum[j] = image[left * channels + j] + image[j];
                }
                if left > right {
                    let mid = right * channels;
                    sum[mid..mid + channels].copy_from_slice(&image[mid..mid + channels]);
                }
            } else {
                for j in 0..right * channels {
                    sum[j] += sum[left * channels + j];
                }
            }
            remaining = left;
            round += 1;
            if remaining <= 1 {
                break;
            }
        }
        for (i, p) in image.iter_mut().enumerate() {
            let mean = sum[i % channels] * scaling;
            *p = mean + factor * (*p - mean);
        }
    }
}

/// Contrast scaled by `contrast_factor` around each channel's mean, per image
/// (`tf.image.adjust_contrast`): `(x - mean) * contrast_factor + mean`, the mean over height
/// and width.
///
/// Rank >= 3 (the last three dimensions are HWC, leading ones a batch). Float16 and float32
/// images are adjusted in float32 and keep their type, unclipped; other dtypes are converted to
/// float32, adjusted, and converted back with saturation. `contrast_factor` is rounded to
/// float32, as the kernel takes it.
pub fn adjust_contrast(images: &Tensor, contrast_factor: f64) -> Result<Tensor> {
    const OP: &str = "adjust_contrast";
    require_numeric(OP, images)?;
    require_rank(OP, images, 3)?;
    let s = images.shape();
    let (pixels, channels) = (s[s.len() - 3] * s[s.len() - 2], s[s.len() - 1]);
    let flt = to_working_float(images)?;
    let mut v = to_f32_values(&flt)?;
    if !v.is_empty() {
        contrast_kernel(&mut v, pixels, channels, contrast_factor as f32);
    }
    let adjusted = from_f32_values(flt.dtype(), s, v)?;
    convert_image_dtype(&adjusted, images.dtype(), true)
}

/// RGB to grayscale with the weights 0.2989, 0.5870, 0.1140 (`tf.image.rgb_to_grayscale`):
/// the last dimension 3 becomes 1 and the dtype is kept.
///
/// As TensorFlow does it: `convert_image_dtype(_, float32)`, the weighted sum in float32
/// (`r*0.2989 + g*0.5870 + b*0.1140`, left to right), then `convert_image_dtype` back without
/// saturation (so uint8 white stays 255: 0.9999 * 255.5 truncates to 255). Any rank >= 1.
pub fn rgb_to_grayscale(images: &Tensor) -> Result<Tensor> {
    const OP: &str = "rgb_to_grayscale";
    require_numeric(OP, images)?;
    require_three_channels(OP, images)?;
    let flt = convert_image_dtype(images, DType::Float32, false)?;
    let (wr, wg, wb) = (0.2989f32, 0.5870f32, 0.1140f32);
    let gray: Vec<f32> = flt
        .as_slice::<f32>()?
        .chunks_exact(3)
        .map(|p| p[0] * wr + p[1] * wg + p[2] * wb)
        .collect();
    let mut shape = images.shape().to_vec();
    *shape.last_mut().unwrap() = 1;
    convert_image_dtype(&Tensor::from_vec(&shape, gray)?, images.dtype(), false)
}

/// The single channel repeated three times (`tf.image.grayscale_to_rgb`). Rank >= 2, last
/// dimension 1; any dtype, kept.
pub fn grayscale_to_rgb(images: &Tensor) -> Result<Tensor> {
    const OP: &str = "grayscale_to_rgb";
    let s = images.shape();
    if s.len() < 2 {
        return Err(err(
            OP,
            format!("a grayscale image must be at least two-dimensional, got shape {s:?}"),
        ));
    }
    if s[s.len() - 1] != 1 {
        return Err(err(
            OP,
            format!("the last dimension of a grayscale image must be 1, got shape {s:?}"),
        ));
    }
    let mut shape = s.to_vec();
    *shape.last_mut().unwrap() = 3;
    let picks: Vec<(usize, usize)> = (0..images.num_elements())
        .flat_map(|i| [(0, i); 3])
        .collect();
    assemble(&[images], &shape, &picks)
}

fn require_float(op: &str, images: &Tensor) -> Result<()> {
    if !images.dtype().is_floating() {
        return Err(err(
            op,
            format!(
                "images must be floating point (convert integer images with convert_image_dtype first), got {}",
                images.dtype()
            ),
        ));
    }
    Ok(())
}

fn rgb_to_hsv_typed<T: FloatElem>(x: &Tensor) -> Result<Tensor> {
    let mut out = Vec::with_capacity(x.num_elements());
    for p in x.as_slice::<T>()?.chunks_exact(3) {
        // TensorFlow's kernel works in double and rounds each result to T.
        let (r, g, b) = (p[0].wide(), p[1].wide(), p[2].wide());
        let v = r.max(g).max(b);
        let range = v - r.min(g).min(b);
        let s = if v > 0.0 { range / v } else { 0.0 };
        let mut h = 0.0;
        if range > 0.0 {
            h = if v == r {
                (g - b) / range
            } else if v == g {
                2.0 + (b - r) / range
            } else {
                4.0 + (r - g) / range
            };
            h /= 6.0;
            if h < 0.0 {
                h += 1.0;
            }
        }
        out.extend([T::of(h), T::of(s), T::of(v)]);
    }
    Tensor::from_vec(x.shape(), out)
}

/// RGB to HSV (`tf.image.rgb_to_hsv`), all three in [0, 1] for inputs in [0, 1]: V is the
/// largest component, S = (V - min) / V (0 when V is 0), H the hue as a fraction of a turn
/// (0 for grays). Float dtypes only, last dimension 3, any rank >= 1.
pub fn rgb_to_hsv(images: &Tensor) -> Result<Tensor> {
    const OP: &str = "rgb_to_hsv";
    require_float(OP, images)?;
    require_three_channels(OP, images)?;
    with_float_type!(images.dtype(), T => rgb_to_hsv_typed::<T>(images), unreachable!())
}

fn hsv_to_rgb_typed<T: FloatElem>(x: &Tensor) -> Result<Tensor> {
    let (zero, one, two, three, four, six) = (
        T::of(0.0),
        T::of(1.0),
        T::of(2.0),
        T::of(3.0),
        T::of(4.0),
        T::of(6.0),
    );
    let clip = |v: T| v.max(zero).min(one);
    let mut out = Vec::with_capacity(x.num_elements());
    for p in x.as_slice::<T>()?.chunks_exact(3) {
        let (h, s, v) = (p[0], p[1], p[2]);
        let dh = h * six;
        let dr = clip((dh - three).abs() - one);
        let dg = clip(two - (dh - two).abs());
        let db = clip(two - (dh - four).abs());
        let one_s = one - s;
        out.extend([
            (one_s + s * dr) * v,
            (one_s + s * dg) * v,
            (one_s + s * db) * v,
        ]);
    }
    Tensor::from_vec(x.shape(), out)
}

/// HSV to RGB (`tf.image.hsv_to_rgb`), TensorFlow's piecewise-linear formula in the input's
/// type: with `dh = 6h`, R = (1 - s + s * clip(|dh - 3| - 1)) * v, G and B likewise with
/// clip(2 - |dh - 2|) and clip(2 - |dh - 4|), clip to [0, 1]. Float dtypes only, last
/// dimension 3, any rank >= 1.
pub fn hsv_to_rgb(images: &Tensor) -> Result<Tensor> {
    const OP: &str = "hsv_to_rgb";
    require_float(OP, images)?;
    require_three_channels(OP, images)?;
    with_float_type!(images.dtype(), T => hsv_to_rgb_typed::<T>(images), unreachable!())
}

/// The per-pixel float32 adjustments (saturation, hue): checks, conversion to the working
/// float type, `f` on every RGB pixel, and conversion back (without saturation, as
/// TensorFlow converts back after these two).
fn adjust_pixels(op: &str, images: &Tensor, f: impl Fn([f32; 3]) -> [f32; 3]) -> Result<Tensor> {
    require_numeric(op, images)?;
    require_rank(op, images, 3)?;
    require_three_channels(op, images)?;
    let flt = to_working_float(images)?;
    let mut v = to_f32_values(&flt)?;
    for p in v.chunks_exact_mut(3) {
        p.copy_from_slice(&f([p[0], p[1], p[2]]));
    }
    let adjusted = from_f32_values(flt.dtype(), images.shape(), v)?;
    convert_image_dtype(&adjusted, images.dtype(), false)
}

/// The AdjustSaturation kernel's RGB to HSV, in float32 (H in [0, 1)).
fn kernel_rgb_to_hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let vv = r.max(g.max(b));
    let range = vv - r.min(g.min(b));
    let s = if vv > 0.0 { range / vv } else { 0.0 };
    let norm = 1.0f32 / (6.0f32 * range);
    // The constants 2.0 / 6.0 and 4.0 / 6.0 are doubles in the C++: the sum is taken in
    // double and rounded to float.
    let mut h = if r == vv {
        norm * (g - b)
    } else if g == vv {
        ((norm * (b - r)) as f64 + 2.0 / 6.0) as f32
    } else {
        ((norm * (r - g)) as f64 + 4.0 / 6.0) as f32
    };
    if range <= 0.0 {
        h = 0.0;
    }
    if h < 0.0 {
        h += 1.0;
    }
    (h, s, vv)
}

/// C++'s `static_cast<int>` of a float as x86 does it: out of range and NaN give `INT_MIN`.
fn trunc_to_int(v: f32) -> i32 {
    if v.is_finite() && v > i32::MIN as f32 && v < i32::MAX as f32 {
        v as i32
    } else {
        i32::MIN
    }
}

/// The AdjustSaturation kernel's HSV to RGB, in float32.
fn kernel_hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let c = s * v;
    let m = v - c;
    let dh = h * 6.0;
    let category = trunc_to_int(dh);
    let mut fmodu = dh;
    // The kernel's loops, which would never end for an infinite hue.
    if fmodu.is_finite() {
        while fmodu <= 0.0 {
            fmodu += 2.0;
        }
        while fmodu >= 2.0 {
            fmodu -= 2.0;
        }
    }
    let x = c * (1.0 - (fmodu - 1.0).abs());
    let (r, g, b) = match category {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        5 => (c, 0.0, x),
        _ => (0.0, 0.0, 0.0),
    };
    [r + m, g + m, b + m]
}

/// Saturation multiplied by `saturation_factor` and clipped to [0, 1], hue and value kept
/// (`tf.image.adjust_saturation`).
///
/// TensorFlow's AdjustSaturation kernel per pixel, in float32 (`saturation_factor` rounded to
/// float32). Rank >= 3, last dimension 3; float16 and float32 keep their type, other dtypes go
/// through float32 and back with `convert_image_dtype` (no saturation).
pub fn adjust_saturation(images: &Tensor, saturation_factor: f64) -> Result<Tensor> {
    let scale = saturation_factor as f32;
    adjust_pixels("adjust_saturation", images, |[r, g, b]| {
        let (h, s, v) = kernel_rgb_to_hsv(r, g, b);
        let s = 1.0f32.min(0.0f32.max(s * scale));
        kernel_hsv_to_rgb(h, s, v)
    })
}

/// The AdjustHue kernel's RGB to (hue in [0, 6), min, max).
fn rgb_to_hue_range(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let (v_max, v_mid, v_min, category) = if r < g {
        if b < r {
            (g, r, b, 1)
        } else if b > g {
            (b, g, r, 3)
        } else {
            (g, b, r, 2)
        }
    } else if b < g {
        (r, g, b, 0)
    } else if b > r {
        (b, r, g, 4)
    } else {
        (r, b, g, 5)
    };
    if v_max == v_min {
        return (0.0, v_min, v_max);
    }
    let ratio = (v_mid - v_min) / (v_max - v_min);
    let increase = category & 1 == 0;
    let h = category as f32 + if increase { ratio } else { 1.0 - ratio };
    (h, v_min, v_max)
}

/// The AdjustHue kernel's (hue in [0, 6), min, max) to RGB.
fn hue_range_to_rgb(h: f32, v_min: f32, v_max: f32) -> [f32; 3] {
    let category = trunc_to_int(h);
    let mut ratio = h - category as f32;
    if category & 1 != 0 {
        ratio = 1.0 - ratio;
    }
    let v_mid = v_min + ratio * (v_max - v_min);
    match category {
        0 => [v_max, v_mid, v_min],
        1 => [v_mid, v_max, v_min],
        2 => [v_min, v_max, v_mid],
        3 => [v_min, v_mid, v_max],
        4 => [v_mid, v_min, v_max],
        _ => [v_max, v_min, v_mid],
    }
}

/// `h` brought into [0, 6) by adding or subtracting 6, as the AdjustHue kernel's loops do.
///
/// Below 2^24 every step of those loops is exact but the last, so the bulk of the steps is
/// taken at once (exactly, in f64) and the loops finish; far beyond, where the kernel's loops
/// would stall or never end (and for infinities), a remainder stands in.
fn wrap_hue(h: f32) -> f32 {
    if !h.is_finite() {
        return h;
    }
    let mut h = h;
    if h.abs() >= 16_777_216.0 {
        h = (h as f64).rem_euclid(6.0) as f32;
    } else if h.abs() >= 12.0 {
        // Stop one step short of the end, on a value the kernel's loop passes through.
        let steps = (h as f64 / 6.0).trunc() - (h as f64).signum();
        h = (h as f64 - 6.0 * steps) as f32;
    }
    while h < 0.0 {
        h += 6.0;
    }
    while h >= 6.0 {
        h -= 6.0;
    }
    h
}

/// Hue rotated by `delta` turns (`tf.image.adjust_hue`); `delta` is meant to lie in [-1, 1].
///
/// TensorFlow's AdjustHue kernel per pixel, in float32: the hue on a [0, 6) scale from the
/// sorted components, plus `6 * delta`, wrapped, and the components rebuilt keeping min and
/// max. Rank >= 3, last dimension 3; float16 and float32 keep their type, other dtypes go
/// through float32 and back with `convert_image_dtype` (no saturation).
pub fn adjust_hue(images: &Tensor, delta: f64) -> Result<Tensor> {
    let delta = delta as f32;
    adjust_pixels("adjust_hue", images, |[r, g, b]| {
        let (h, v_min, v_max) = rgb_to_hue_range(r, g, b);
        let h = wrap_hue(h + delta * 6.0);
        hue_range_to_rgb(h, v_min, v_max)
    })
}

/// `(x - mean[c]) / std[c]` per channel `c` (the last dimension), as float32.
///
/// `mean` and `std` hold one value per channel, or one value for every channel. The images
/// (any rank >= 1, any integer, float or bool dtype) are cast to float32 without rescaling,
/// so uint8 images are normalised in 0..255. Errors when a length matches neither 1 nor the
/// channel count, or a `std` is 0.
pub fn normalize(images: &Tensor, mean: &[f32], std: &[f32]) -> Result<Tensor> {
    const OP: &str = "normalize";
    require_rank(OP, images, 1)?;
    let channels = *images.shape().last().unwrap();
    for (name, v) in [("mean", mean), ("std", std)] {
        if v.len() != 1 && v.len() != channels {
            return Err(err(
                OP,
                format!(
                    "{name} has {} values but the images have {channels} channels (shape {:?}); give one value or one per channel",
                    v.len(),
                    images.shape()
                ),
            ));
        }
    }
    if let Some(i) = std.iter().position(|&s| s == 0.0) {
        return Err(err(OP, format!("std[{i}] is 0")));
    }
    let x = cast(images, DType::Float32).map_err(|e| err(OP, e))?;
    let pick = |v: &[f32], c: usize| if v.len() == 1 { v[0] } else { v[c] };
    let out: Vec<f32> = x
        .as_slice::<f32>()?
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let c = i % channels.max(1);
            (p - pick(mean, c)) / pick(std, c)
        })
        .collect();
    Tensor::from_vec(images.shape(), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f32s(x: &Tensor) -> Vec<f32> {
        x.as_slice::<f32>().unwrap().to_vec()
    }

    fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    /// TensorFlow's docstring image: 2x2x3 holding 1.0..12.0.
    fn doc_image() -> Tensor {
        Tensor::from_vec(&[2, 2, 3], (1..=12).map(|v| v as f32).collect()).unwrap()
    }

    #[test]
    fn uint8_to_float32_and_back() {
        let x = Tensor::from_vec(&[4], vec![0u8, 1, 128, 255]).unwrap();
        let f = convert_image_dtype(&x, DType::Float32, false).unwrap();
        // cast(x) * float32(1 / 255).
        let s = (1.0f64 / 255.0) as f32;
        assert_eq!(f32s(&f), vec![0.0, s, 128.0 * s, 255.0 * s]);
        assert_eq!(f32s(&f)[3], 1.0, "255 * f32(1/255) rounds to exactly 1");
        let back = convert_image_dtype(&f, DType::UInt8, false).unwrap();
        assert_eq!(back, x);
        // Every uint8 value round-trips through float16, float32 and float64 (bfloat16's
        // 8-bit significand cannot hold 255 distinct levels near 1).
        let all = Tensor::from_vec(&[256], (0..=255u8).collect()).unwrap();
        for d in [DType::Float16, DType::Float32, DType::Float64] {
            let f = convert_image_dtype(&all, d, false).unwrap();
            assert_eq!(f.dtype(), d);
            assert_eq!(
                convert_image_dtype(&f, DType::UInt8, true).unwrap(),
                all,
                "{d}"
            );
        }
    }

    #[test]
    fn float32_to_uint8_edges() {
        let x = Tensor::from_vec(
            &[8],
            vec![0.0f32, 1.0, 0.5, -0.5, 1.5, 0.999, 0.001, -0.001],
        )
        .unwrap();
        // x * 255.5, truncated: 0 -> 0; 1 -> 255.5 -> 255; 0.5 -> 127.75 -> 127;
        // -0.5 -> -127.75 (clamped to 0 with saturate); 1.5 -> 383.25 (clamped to 255);
        // 0.999 -> 255.2445 -> 255; 0.001 -> 0.2555 -> 0; -0.001 -> -0.2555 -> 0 (toward zero).
        let sat = convert_image_dtype(&x, DType::UInt8, true).unwrap();
        assert_eq!(
            sat.as_slice::<u8>().unwrap(),
            &[0, 255, 127, 0, 255, 255, 0, 0]
        );
        // Without saturate the out-of-range cast is implementation-defined in TensorFlow;
        // here it saturates like `cast`.
        let raw = convert_image_dtype(&x, DType::UInt8, false).unwrap();
        assert_eq!(
            raw.as_slice::<u8>().unwrap(),
            &[0, 255, 127, 0, 255, 255, 0, 0]
        );
    }

    #[test]
    fn float_to_wide_ints_saturate_like_tf() {
        let x = Tensor::from_vec(&[3], vec![1.0f32, -1.0, 0.5]).unwrap();
        // scale = f32(2147483647.5) = 2^31. saturate_cast clamps at the largest float32
        // below 2^31, 2147483520 (and at -2^31, exact); 0.5 * 2^31 = 2^30.
        let sat = convert_image_dtype(&x, DType::Int32, true).unwrap();
        assert_eq!(
            sat.as_slice::<i32>().unwrap(),
            &[2_147_483_520, -2_147_483_648, 1 << 30]
        );
        let raw = convert_image_dtype(&x, DType::Int32, false).unwrap();
        assert_eq!(
            raw.as_slice::<i32>().unwrap(),
            &[i32::MAX, i32::MIN, 1 << 30]
        );
        // float64 to int64: scale 2^63 (float64 of 2^63 - 1 + 0.5); the clamp steps below
        // 2^63 to 2^63 - 1024.
        let d = Tensor::from_vec(&[1], vec![1.0f64]).unwrap();
        let sat = convert_image_dtype(&d, DType::Int64, true).unwrap();
        assert_eq!(sat.as_slice::<i64>().unwrap(), &[i64::MAX - 1023]);
        // float16 to int16: f16(32767) rounds up to 32768, so the clamp is 32752.
        let h = Tensor::from_vec(&[1], vec![f16::ONE]).unwrap();
        let sat = convert_image_dtype(&h, DType::Int16, true).unwrap();
        assert_eq!(sat.as_slice::<i16>().unwrap(), &[32752]);
    }

    #[test]
    fn int_to_int_scales_by_powers_of_two() {
        // uint16 -> uint8: scale (65535 + 1) / (255 + 1) = 256, floor division.
        let x = Tensor::from_vec(&[5], vec![0u16, 255, 256, 32768, 65535]).unwrap();
        let y = convert_image_dtype(&x, DType::UInt8, false).unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[0, 0, 1, 128, 255]);
        // uint8 -> uint16: multiply by 256.
        let x = Tensor::from_vec(&[3], vec![0u8, 1, 255]).unwrap();
        let y = convert_image_dtype(&x, DType::UInt16, false).unwrap();
        assert_eq!(y.as_slice::<u16>().unwrap(), &[0, 256, 65280]);
        // uint8 -> int32: multiply by 2^31 / 2^8 = 2^23; 255 * 2^23 = 2139095040.
        let y = convert_image_dtype(&x, DType::Int32, false).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[0, 1 << 23, 2_139_095_040]);
        // int32 -> uint8: floor-divide by 2^23; -1 // 2^23 = -1, which wraps to 255 or
        // saturates to 0.
        let x = Tensor::from_vec(&[3], vec![-1i32, i32::MAX, 1 << 23]).unwrap();
        let raw = convert_image_dtype(&x, DType::UInt8, false).unwrap();
        assert_eq!(raw.as_slice::<u8>().unwrap(), &[255, 255, 1]);
        let sat = convert_image_dtype(&x, DType::UInt8, true).unwrap();
        assert_eq!(sat.as_slice::<u8>().unwrap(), &[0, 255, 1]);
        // int8 -> uint8 scales up by 256 / 128 = 2: -1 casts to 255 (or 0 saturated), then
        // 255 * 2 = 510 wraps to 254; 127 * 2 = 254.
        let x = Tensor::from_vec(&[2], vec![-1i8, 127]).unwrap();
        let raw = convert_image_dtype(&x, DType::UInt8, false).unwrap();
        assert_eq!(raw.as_slice::<u8>().unwrap(), &[254, 254]);
        let sat = convert_image_dtype(&x, DType::UInt8, true).unwrap();
        assert_eq!(sat.as_slice::<u8>().unwrap(), &[0, 254]);
        // uint64 -> int64: (2^64) / (2^63) = 2.
        let x = Tensor::from_vec(&[2], vec![u64::MAX, 3]).unwrap();
        let y = convert_image_dtype(&x, DType::Int64, false).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[i64::MAX, 1]);
    }

    #[test]
    fn int32_to_float64_and_float_casts() {
        let x = Tensor::from_vec(&[4], vec![0i32, 1, i32::MAX, i32::MIN]).unwrap();
        let y = convert_image_dtype(&x, DType::Float64, false).unwrap();
        let s = 1.0 / 2_147_483_647.0f64;
        assert_eq!(
            y.as_slice::<f64>().unwrap(),
            &[0.0, s, 2_147_483_647.0 * s, -2_147_483_648.0 * s]
        );
        assert!((y.as_slice::<f64>().unwrap()[2] - 1.0).abs() < 1e-15);
        assert!((y.as_slice::<f64>().unwrap()[3] + 1.0000000004656613).abs() < 1e-15);
        // float -> float is a cast.
        let f = Tensor::from_vec(&[2], vec![0.25f32, 3.0]).unwrap();
        let h = convert_image_dtype(&f, DType::Float16, false).unwrap();
        assert_eq!(
            h.as_slice::<f16>().unwrap(),
            &[f16::from_f32(0.25), f16::from_f32(3.0)]
        );
        assert_eq!(convert_image_dtype(&f, DType::Float32, true).unwrap(), f);
        let e = convert_image_dtype(&f, DType::Bool, false)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("convert_image_dtype: dtype must be"), "{e}");
        let e = convert_image_dtype(&Tensor::string_scalar("x"), DType::Float32, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("got string"), "{e}");
    }

    #[test]
    fn per_image_standardization_by_hand() {
        // [1, 2, 3, 4]: mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25,
        // stddev sqrt(1.25) = 1.1180340 > 1 / sqrt(4) = 0.5.
        let x = Tensor::from_vec(&[2, 2, 1], vec![1u8, 2, 3, 4]).unwrap();
        let y = per_image_standardization(&x).unwrap();
        assert_eq!(y.dtype(), DType::Float32);
        let sd = 1.25f32.sqrt();
        assert_eq!(f32s(&y), vec![-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd]);
        // A uniform image: stddev 0 is replaced by 1 / sqrt(N), so everything is 0.
        let u = Tensor::from_vec(&[1, 2, 2, 1], vec![5.0f32; 4]).unwrap();
        assert_eq!(f32s(&per_image_standardization(&u).unwrap()), vec![0.0; 4]);
        // Each image of a batch on its own: [0, 2] -> mean 1, stddev 1 -> [-1, 1];
        // [10, 10] -> [0, 0].
        let b = Tensor::from_vec(&[2, 1, 2, 1], vec![0i32, 2, 10, 10]).unwrap();
        assert_eq!(
            f32s(&per_image_standardization(&b).unwrap()),
            vec![-1.0, 1.0, 0.0, 0.0]
        );
        let e = per_image_standardization(&Tensor::zeros(DType::Float32, &[4, 4]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 3 dimensions"), "{e}");
    }

    #[test]
    fn adjust_brightness_by_hand() {
        // The docstring: float32 plus 0.1.
        let y = adjust_brightness(&doc_image(), 0.1).unwrap();
        let want: Vec<f32> = (1..=12).map(|v| v as f32 + 0.1f32).collect();
        assert_eq!(f32s(&y), want);
        // uint8: (x * f32(1/255) + 0.1) * 255.5, clipped, truncated.
        // 0 -> 0.1 * 255.5 = 25.55 -> 25; 100 -> (0.392157 + 0.1) * 255.5 = 125.75 -> 125;
        // 250 -> (0.980392 + 0.1) * 255.5 = 276.04 -> 255.
        let x = Tensor::from_vec(&[1, 3, 1], vec![0u8, 100, 250]).unwrap();
        let y = adjust_brightness(&x, 0.1).unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[25, 125, 255]);
        // A negative delta clips at 0: 100 -> 0.392157 - 0.5 < 0 -> 0;
        // 250 -> (0.980392 - 0.5) * 255.5 = 122.74 -> 122.
        let y = adjust_brightness(&x, -0.5).unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[0, 0, 122]);
        // float64 goes through float32: 0.25 + 0.5 = 0.75 exactly.
        let d = Tensor::from_vec(&[1], vec![0.25f64]).unwrap();
        let y = adjust_brightness(&d, 0.5).unwrap();
        assert_eq!(y.as_slice::<f64>().unwrap(), &[0.75]);
    }

    #[test]
    fn adjust_contrast_by_hand() {
        // The docstring, factor 2: channel 0 holds 1, 4, 7, 10 (mean 5.5), so
        // 1 -> 5.5 + 2 * (1 - 5.5) = -3.5, and so on.
        let y = adjust_contrast(&doc_image(), 2.0).unwrap();
        assert_eq!(
            f32s(&y),
            vec![-3.5, -2.5, -1.5, 2.5, 3.5, 4.5, 8.5, 9.5, 10.5, 14.5, 15.5, 16.5]
        );
        // uint8 [0, 255], factor 2: floats [0, 1], mean 0.5 -> [-0.5, 1.5] -> clipped
        // [0, 255].
        let x = Tensor::from_vec(&[1, 2, 1], vec![0u8, 255]).unwrap();
        let y = adjust_contrast(&x, 2.0).unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[0, 255]);
        // Factor 0 flattens every channel to its mean: [1, 2, 3, 6] -> mean 3.
        let z = Tensor::from_vec(&[2, 2, 1], vec![1.0f32, 2.0, 3.0, 6.0]).unwrap();
        assert_eq!(f32s(&adjust_contrast(&z, 0.0).unwrap()), vec![3.0; 4]);
        assert!(adjust_contrast(&Tensor::zeros(DType::Float32, &[2, 3]), 1.0).is_err());
    }

    #[test]
    fn contrast_sums_pairwise_like_the_kernel() {
        // Five pixels of one channel: round 0 sums [p3 + p0, p4 + p1] and copies p2; round 1
        // adds the second half [p2] onto the first: [p3 + p0 + p2, p4 + p1]; round 2 adds
        // those two. A sequential sum would round differently for these values.
        let p = [1.0e8f32, 1.0, 1.0, -1.0e8, 1.0];
        let mut v = p.to_vec();
        contrast_kernel(&mut v, 5, 1, 0.0);
        let sum = (p[3] + p[0] + p[2]) + (p[4] + p[1]);
        assert_eq!(v, vec![sum * (1.0 / 5.0); 5]);
    }

    #[test]
    fn grayscale_by_hand() {
        // The docstring: 1 * 0.2989 + 2 * 0.5870 + 3 * 0.1140 = 1.8149.
        let x = Tensor::from_vec(&[1, 1, 3], vec![1.0f32, 2.0, 3.0]).unwrap();
        let g = rgb_to_grayscale(&x).unwrap();
        assert_eq!(g.shape(), &[1, 1, 1]);
        assert_eq!(f32s(&g), vec![0.2989f32 + 2.0 * 0.5870 + 3.0 * 0.1140]);
        assert!((f32s(&g)[0] - 1.8149).abs() < 1e-6);
        // uint8: white -> 0.9999 * 255.5 = 255.47 -> 255; red -> 0.2989 * 255.5 = 76.4 -> 76;
        // green -> 0.587 * 255.5 = 149.98 -> 149; blue -> 0.114 * 255.5 = 29.1 -> 29.
        #[rustfmt::skip]
        let x = Tensor::from_vec(
            &[2, 2, 3],
            vec![255u8, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255],
        )
        .unwrap();
        let g = rgb_to_grayscale(&x).unwrap();
        assert_eq!(g.shape(), &[2, 2, 1]);
        assert_eq!(g.as_slice::<u8>().unwrap(), &[255, 76, 149, 29]);
        // Back to three channels, any dtype.
        let rgb = grayscale_to_rgb(&g).unwrap();
        assert_eq!(rgb.shape(), &[2, 2, 3]);
        assert_eq!(
            rgb.as_slice::<u8>().unwrap(),
            &[255, 255, 255, 76, 76, 76, 149, 149, 149, 29, 29, 29]
        );
        let s = Tensor::strings(&[1, 1], vec![bytes::Bytes::from("a")]).unwrap();
        let s3 = grayscale_to_rgb(&s).unwrap();
        assert_eq!(s3.shape(), &[1, 3]);
        assert!(grayscale_to_rgb(&x)
            .unwrap_err()
            .to_string()
            .contains("last dimension of a grayscale image must be 1"));
        assert!(grayscale_to_rgb(&Tensor::zeros(DType::UInt8, &[1])).is_err());
        assert!(rgb_to_grayscale(&g)
            .unwrap_err()
            .to_string()
            .contains("last dimension of the images must be 3"));
    }

    /// (r, g, b) -> (h, s, v), worked by hand.
    fn hsv_cases() -> Vec<([f32; 3], [f32; 3])> {
        vec![
            // Red, green, blue: hue 0, 1/3, 2/3, saturation 1, value 1.
            ([1.0, 0.0, 0.0], [0.0, 1.0, 1.0]),
            ([0.0, 1.0, 0.0], [1.0 / 3.0, 1.0, 1.0]),
            ([0.0, 0.0, 1.0], [2.0 / 3.0, 1.0, 1.0]),
            // Gray: no hue or saturation.
            ([0.5, 0.5, 0.5], [0.0, 0.0, 0.5]),
            ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
            // (0.2, 0.4, 0.8): v 0.8, range 0.6, s 0.75, h = (4 + (0.2 - 0.4) / 0.6) / 6
            // = (4 - 1/3) / 6 = 0.6111.
            ([0.2, 0.4, 0.8], [11.0 / 18.0, 0.75, 0.8]),
            // (1, 0, 0.5): red is largest, h = (0 - 0.5) / 1 / 6 = -1/12 -> 11/12.
            ([1.0, 0.0, 0.5], [11.0 / 12.0, 1.0, 1.0]),
        ]
    }

    #[test]
    fn hsv_by_hand() {
        let (rgb, hsv): (Vec<[f32; 3]>, Vec<[f32; 3]>) = hsv_cases().into_iter().unzip();
        let n = rgb.len();
        let rgb = Tensor::from_vec(&[n, 3], rgb.concat()).unwrap();
        let hsv = Tensor::from_vec(&[n, 3], hsv.concat()).unwrap();
        assert!(close(&f32s(&rgb_to_hsv(&rgb).unwrap()), &f32s(&hsv), 1e-6));
        assert!(close(&f32s(&hsv_to_rgb(&hsv).unwrap()), &f32s(&rgb), 1e-6));
        // float64 and float16 keep their type.
        let d = cast(&rgb, DType::Float64).unwrap();
        assert_eq!(rgb_to_hsv(&d).unwrap().dtype(), DType::Float64);
        let h = cast(&hsv, DType::Float16).unwrap();
        assert_eq!(hsv_to_rgb(&h).unwrap().dtype(), DType::Float16);
        let e = rgb_to_hsv(&Tensor::zeros(DType::UInt8, &[1, 3]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be floating point"), "{e}");
    }

    #[test]
    fn adjust_saturation_by_hand() {
        // The docstring, factor 0.5. Pixel (1, 2, 3): v 3, range 2, s 2/3, hue 7/12 (blue
        // largest: (1 - 2) / 2 / 6 + 4/6). s -> 1/3, so c = s * v = 1, m = v - c = 2,
        // dh = 3.5 (category 3), x = c * (1 - |1.5 - 1|) = 0.5 -> (m, m + x, m + c)
        // = (2, 2.5, 3).
        let y = adjust_saturation(&doc_image(), 0.5).unwrap();
        assert_eq!(
            f32s(&y),
            vec![2.0, 2.5, 3.0, 5.0, 5.5, 6.0, 8.0, 8.5, 9.0, 11.0, 11.5, 12.0]
        );
        // Factor 0: no saturation, every component becomes v.
        let y = adjust_saturation(&doc_image(), 0.0).unwrap();
        assert_eq!(
            f32s(&y),
            vec![3.0, 3.0, 3.0, 6.0, 6.0, 6.0, 9.0, 9.0, 9.0, 12.0, 12.0, 12.0]
        );
        // uint8 pure red stays red at factor 2 (s clips at 1).
        let x = Tensor::from_vec(&[1, 1, 3], vec![255u8, 0, 0]).unwrap();
        assert_eq!(
            adjust_saturation(&x, 2.0)
                .unwrap()
                .as_slice::<u8>()
                .unwrap(),
            &[255, 0, 0]
        );
    }

    #[test]
    fn adjust_hue_matches_the_tf_docstrings() {
        // Float32, delta 0.2 (TensorFlow's printed output).
        let y = adjust_hue(&doc_image(), 0.2).unwrap();
        assert_eq!(
            f32s(&y),
            vec![2.3999996, 1.0, 3.0, 5.3999996, 4.0, 6.0, 8.4, 7.0, 9.0, 11.4, 10.0, 12.0]
        );
        // Int32 3x2x3 holding 1..18, delta 0.2.
        let x = Tensor::from_vec(&[3, 2, 3], (1..=18).collect::<Vec<i32>>()).unwrap();
        let y = adjust_hue(&x, 0.2).unwrap();
        assert_eq!(
            y.as_slice::<i32>().unwrap(),
            &[2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 18]
        );
    }

    #[test]
    fn adjust_hue_by_hand() {
        // (1, 2, 3): r < g < b, category 3, ratio (2 - 1) / (3 - 1) = 0.5, odd so
        // h = 3 + (1 - 0.5) = 3.5.
        let x = Tensor::from_vec(&[1, 1, 3], vec![1.0f32, 2.0, 3.0]).unwrap();
        // delta 0 and whole turns give the pixel back: 3.5 - 6 = -2.5 -> 3.5.
        for d in [0.0, 1.0, -1.0, 3.0] {
            assert_eq!(
                f32s(&adjust_hue(&x, d).unwrap()),
                vec![1.0, 2.0, 3.0],
                "{d}"
            );
        }
        // delta 0.5: h = 6.5 -> 0.5, category 0, ratio 0.5: (max, mid, min) = (3, 2, 1).
        assert_eq!(f32s(&adjust_hue(&x, 0.5).unwrap()), vec![3.0, 2.0, 1.0]);
        // delta 1/6: h = 4.5, category 4 (even: ratio 0.5 kept), mid = 2 -> (mid, min, max)
        // = (2, 1, 3).
        assert_eq!(
            f32s(&adjust_hue(&x, 1.0 / 6.0).unwrap()),
            vec![2.0, 1.0, 3.0]
        );
        // Grays have no hue to turn.
        let g = Tensor::from_vec(&[1, 1, 3], vec![0.5f32; 3]).unwrap();
        assert_eq!(f32s(&adjust_hue(&g, 0.3).unwrap()), vec![0.5; 3]);
        assert!(adjust_hue(&Tensor::zeros(DType::Float32, &[2, 3]), 0.1).is_err());
        assert!(adjust_hue(&Tensor::zeros(DType::Float32, &[1, 2, 4]), 0.1).is_err());
    }

    #[test]
    fn wrap_hue_follows_the_kernel_loops() {
        assert_eq!(wrap_hue(6.5), 0.5);
        assert_eq!(wrap_hue(-2.5), 3.5);
        assert_eq!(wrap_hue(6.0), 0.0);
        // -1e-9 + 6 rounds to 6.0 in float32; the second loop then takes it to 0.
        assert_eq!(wrap_hue(-1e-9), 0.0);
        // Far values land where stepping by 6 lands: 6003.25 - 6 * 1000 = 3.25.
        assert_eq!(wrap_hue(6003.25), 3.25);
        assert_eq!(wrap_hue(-6003.25), 2.75);
        assert!(wrap_hue(f32::NAN).is_nan());
    }

    #[test]
    fn normalize_per_channel() {
        // (x - mean[c]) / std[c]: (0 - 0.5) / 0.25 = -2, (128 - 0.5) / 0.5 = 255,
        // (255 - 0.5) / 1 = 254.5.
        let x = Tensor::from_vec(&[1, 1, 3], vec![0u8, 128, 255]).unwrap();
        let y = normalize(&x, &[0.5, 0.5, 0.5], &[0.25, 0.5, 1.0]).unwrap();
        assert_eq!(y.dtype(), DType::Float32);
        assert_eq!(f32s(&y), vec![-2.0, 255.0, 254.5]);
        // One value for every channel.
        let y = normalize(&x, &[1.0], &[2.0]).unwrap();
        assert_eq!(f32s(&y), vec![-0.5, 63.5, 127.0]);
        let e = normalize(&x, &[0.0, 0.0], &[1.0]).unwrap_err().to_string();
        assert!(
            e.starts_with("normalize: mean has 2 values but the images have 3 channels"),
            "{e}"
        );
        let e = normalize(&x, &[0.0], &[1.0, 0.0, 1.0])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "normalize: std[1] is 0");
        assert!(normalize(
            &Tensor::string_scalar("a").reshape(&[1]).unwrap(),
            &[0.0],
            &[1.0]
        )
        .is_err());
    }

    fn unit_rgb(max_n: usize) -> impl Strategy<Value = (Vec<f32>, usize)> {
        (1usize..max_n).prop_flat_map(|n| (proptest::collection::vec(0.0f32..=1.0, n * 3), Just(n)))
    }

    /// A batch of 1..3 images of 1..4 x 1..4 pixels with 3 channels, as uint8.
    fn rgb_batch() -> impl Strategy<Value = Tensor> {
        (1usize..4, 1usize..5, 1usize..5).prop_flat_map(|(n, h, w)| {
            proptest::collection::vec(any::<u8>(), n * h * w * 3)
                .prop_map(move |v| Tensor::from_vec(&[n, h, w, 3], v).unwrap())
        })
    }

    fn per_image(x: &Tensor, op: &dyn Fn(&Tensor) -> Result<Tensor>) -> bool {
        let whole = op(x).unwrap();
        let parts: Vec<Tensor> = (0..x.shape()[0])
            .map(|i| op(&x.row(i).unwrap()).unwrap())
            .collect();
        whole == Tensor::stack(&parts).unwrap()
    }

    proptest! {
        #[test]
        fn hsv_round_trips((v, n) in unit_rgb(40)) {
            let x = Tensor::from_vec(&[n, 3], v.clone()).unwrap();
            let back = hsv_to_rgb(&rgb_to_hsv(&x).unwrap()).unwrap();
            prop_assert!(close(&f32s(&back), &v, 1e-5), "{:?} -> {:?}", v, f32s(&back));
        }

        #[test]
        fn uint8_float_round_trip(v in proptest::collection::vec(any::<u8>(), 1..64)) {
            let x = Tensor::from_vec(&[v.len(), 1, 1], v).unwrap();
            for d in [DType::Float16, DType::Float32, DType::Float64] {
                let f = convert_image_dtype(&x, d, false).unwrap();
                prop_assert_eq!(&convert_image_dtype(&f, DType::UInt8, false).unwrap(), &x);
            }
        }

        #[test]
        fn saturation_and_hue_identities((v, n) in unit_rgb(20)) {
            let x = Tensor::from_vec(&[n, 1, 3], v.clone()).unwrap();
            let s = adjust_saturation(&x, 1.0).unwrap();
            prop_assert!(close(&f32s(&s), &v, 1e-5));
            let h = adjust_hue(&x, 0.0).unwrap();
            prop_assert!(close(&f32s(&h), &v, 1e-6));
        }

        #[test]
        fn batches_equal_per_image_results(x in rgb_batch(), f in -2.0f64..2.0) {
            prop_assert!(per_image(&x, &per_image_standardization));
            prop_assert!(per_image(&x, &|t| adjust_contrast(t, f)));
            prop_assert!(per_image(&x, &|t| adjust_brightness(t, f / 4.0)));
            prop_assert!(per_image(&x, &|t| adjust_saturation(t, f.abs())));
            prop_assert!(per_image(&x, &|t| adjust_hue(t, f / 2.0)));
            prop_assert!(per_image(&x, &rgb_to_grayscale));
            prop_assert!(per_image(&x, &|t| convert_image_dtype(t, DType::Float32, false)));
            prop_assert!(per_image(&x, &|t| normalize(t, &[1.0, 2.0, 3.0], &[0.5])));
        }
    }
}
