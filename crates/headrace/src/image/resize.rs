//! `tf.image.resize`: TensorFlow's resize kernels, computed in Rust.
//!
//! [`resize`] reproduces TF2's `tf.image.resize(images, [height, width], method, antialias)`
//! on the CPU: the same sampling positions, the same weights and the same order of `f32`
//! operations as TensorFlow's kernels, so that results agree to the last bit or two.
//!
//! | method | `antialias=False` | `antialias=True` |
//! |---|---|---|
//! | `bilinear` | `ResizeBilinear(half_pixel_centers=True)` | `ScaleAndTranslate`, triangle kernel |
//! | `nearest` | `ResizeNearestNeighbor(half_pixel_centers=True)` | (same) |
//! | `bicubic` | `ResizeBicubic(half_pixel_centers=True)` (Keys, a = -0.5) | `ScaleAndTranslate`, Keys cubic |
//! | `area` | `ResizeArea` | (same) |
//! | `lanczos3`, `lanczos5`, `gaussian`, `mitchellcubic` | `ScaleAndTranslate` | `ScaleAndTranslate`, kernel widened when downsampling |
//!
//! Every kernel is separable: the weights of each axis are computed once per call, then
//! applied row by row, in the order of TensorFlow's inner loops where the order changes the
//! rounding (bilinear interpolates along x then y, bicubic along y then x, area sums along x
//! then y, `ScaleAndTranslate` along y then x). The output is `float32`, except for `nearest`,
//! which keeps the input's dtype.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::value::{AlignedBuf, DType, Scalar, Tensor};

/// The interpolation methods of `tf.image.ResizeMethod`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeMethod {
    Bilinear,
    Nearest,
    Area,
    Bicubic,
    Lanczos3,
    Lanczos5,
    Gaussian,
    MitchellCubic,
}

impl ResizeMethod {
    /// Every method, in `tf.image.ResizeMethod`'s order.
    pub const ALL: [ResizeMethod; 8] = [
        ResizeMethod::Bilinear,
        ResizeMethod::Nearest,
        ResizeMethod::Bicubic,
        ResizeMethod::Area,
        ResizeMethod::Lanczos3,
        ResizeMethod::Lanczos5,
        ResizeMethod::Gaussian,
        ResizeMethod::MitchellCubic,
    ];

    /// The method named as TensorFlow names it (`"bilinear"`, `"nearest"`, `"area"`,
    /// `"bicubic"`, `"lanczos3"`, `"lanczos5"`, `"gaussian"`, `"mitchellcubic"`).
    pub fn parse(name: &str) -> Result<ResizeMethod> {
        ResizeMethod::ALL
            .iter()
            .copied()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = ResizeMethod::ALL.iter().map(|m| m.name()).collect();
                Error::argument(
                    "method",
                    format!(
                        "unknown resize method {name:?}; expected one of {}",
                        names.join(", ")
                    ),
                )
            })
    }

    /// TensorFlow's name for the method.
    pub fn name(self) -> &'static str {
        match self {
            ResizeMethod::Bilinear => "bilinear",
            ResizeMethod::Nearest => "nearest",
            ResizeMethod::Area => "area",
            ResizeMethod::Bicubic => "bicubic",
            ResizeMethod::Lanczos3 => "lanczos3",
            ResizeMethod::Lanczos5 => "lanczos5",
            ResizeMethod::Gaussian => "gaussian",
            ResizeMethod::MitchellCubic => "mitchellcubic",
        }
    }
}

/// Resizes `images` (HWC, rank 3, or NHWC, rank 4, any numeric dtype) to `height` x
/// `width`, as `tf.image.resize(images, [height, width], method, antialias=antialias)`.
///
/// The result is `float32`, except for [`ResizeMethod::Nearest`], which keeps the input's
/// dtype. `antialias` widens the filter when downsampling; it has no effect on `nearest`
/// and `area` (which always averages).
///
/// Errors: a rank other than 3 or 4, an empty input image or a string or bool dtype is an
/// invalid argument; a zero `height` or `width` is an argument error.
pub fn resize(
    images: &Tensor,
    height: usize,
    width: usize,
    method: ResizeMethod,
    antialias: bool,
) -> Result<Tensor> {
    let dtype = images.dtype();
    let shape = images.shape();
    if matches!(dtype, DType::String | DType::Bool) {
        return Err(Error::invalid_argument(format!(
            "resize: images must be numeric, got a {dtype} tensor of shape {shape:?}"
        )));
    }
    let (batch, in_h, in_w, channels) = match *shape {
        [h, w, c] => (1, h, w, c),
        [n, h, w, c] => (n, h, w, c),
        _ => {
            return Err(Error::invalid_argument(format!(
                "resize: images must have rank 3 (HWC) or 4 (NHWC), got shape {shape:?}"
            )))
        }
    };
    if height == 0 || width == 0 {
        return Err(Error::argument(
            "size",
            format!("resize: the output size must be positive, got {height}x{width}"),
        ));
    }
    let limit = i32::MAX as usize;
    if height > limit || width > limit || in_h > limit || in_w > limit {
        return Err(Error::invalid_argument(format!(
            "resize: sizes must be below 2^31, got shape {shape:?} to {height}x{width}"
        )));
    }
    if in_h == 0 || in_w == 0 {
        return Err(Error::invalid_argument(format!(
            "resize: the input image must be of non-zero size, got shape {shape:?}"
        )));
    }
    let out_shape: Vec<usize> = if shape.len() == 3 {
        vec![height, width, channels]
    } else {
        vec![batch, height, width, channels]
    };
    let dims = Dims {
        in_h,
        in_w,
        out_h: height,
        out_w: width,
        c: channels,
    };
    if method == ResizeMethod::Nearest {
        return nearest(images, batch, &dims, &out_shape);
    }

    let out_image = dims.out_h * dims.out_w * dims.c;
    if batch * out_image == 0 {
        return Tensor::from_vec(&out_shape, Vec::<f32>::new());
    }
    let in_image = dims.in_h * dims.in_w * dims.c;
    let plan = Plan::new(method, antialias, &dims)?;
    let mut scratch = Vec::new();
    if let Plan::Bilinear { ys, xs } = &plan {
        // Bilinear appends each output row as it computes it, so the output is never
        // zeroed first (that cost 5% of a batched pipeline, whose outputs land in memory
        // not yet in the cache). Decoded images are uint8: they are read as they are rather
        // than converted whole to float32 first (2.25 MB for 500x375x3), which cost a third
        // of the resize. Same arithmetic, same bits.
        let mut out = Vec::with_capacity(batch * out_image);
        if dtype == DType::UInt8 {
            for src in images.as_slice::<u8>()?.chunks_exact(in_image) {
                bilinear(&dims, ys, xs, src, &mut out, &mut scratch);
            }
        } else {
            for src in to_f32(images)?.chunks_exact(in_image) {
                bilinear(&dims, ys, xs, src, &mut out, &mut scratch);
            }
        }
        return Tensor::from_vec(&out_shape, out);
    }
    let mut out = vec![0f32; batch * out_image];
    let input = to_f32(images)?;
    for (src, dst) in input
        .chunks_exact(in_image)
        .zip(out.chunks_exact_mut(out_image))
    {
        plan.run(&dims, src, dst, &mut scratch);
    }
    Tensor::from_vec(&out_shape, out)
}

/// The sizes of one image and of its resized copy.
struct Dims {
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
    c: usize,
}

/// The input's values as `f32` (`static_cast<float>` in TensorFlow), borrowed when they
/// already are.
fn to_f32(t: &Tensor) -> Result<Cow<'_, [f32]>> {
    fn convert<T: Scalar>(t: &Tensor, f: impl Fn(T) -> f32) -> Result<Cow<'_, [f32]>> {
        Ok(Cow::Owned(
            t.as_slice::<T>()?.iter().map(|&v| f(v)).collect(),
        ))
    }
    match t.dtype() {
        DType::Float32 => Ok(Cow::Borrowed(t.as_slice::<f32>()?)),
        DType::UInt8 => convert(t, |v: u8| v as f32),
        DType::Int8 => convert(t, |v: i8| v as f32),
        DType::UInt16 => convert(t, |v: u16| v as f32),
        DType::Int16 => convert(t, |v: i16| v as f32),
        DType::UInt32 => convert(t, |v: u32| v as f32),
        DType::Int32 => convert(t, |v: i32| v as f32),
        DType::UInt64 => convert(t, |v: u64| v as f32),
        DType::Int64 => convert(t, |v: i64| v as f32),
        DType::Float64 => convert(t, |v: f64| v as f32),
        DType::Float16 => convert(t, |v: half::f16| v.to_f32()),
        DType::BFloat16 => convert(t, |v: half::bf16| v.to_f32()),
        other => Err(Error::invalid_argument(format!(
            "resize: images must be numeric, got {other}"
        ))),
    }
}

/// `in_size / out_size` in `f32`, TensorFlow's `CalculateResizeScale` without
/// `align_corners`.
fn resize_scale(in_size: usize, out_size: usize) -> f32 {
    in_size as f32 / out_size as f32
}

// ---------------------------------------------------------------------------------------
// Nearest neighbour: a gather of whole pixels, in the input's dtype.

/// `ResizeNearestNeighbor(half_pixel_centers=True)`: source index
/// `floor((i + 0.5) * scale)`, clamped to the image. (No `- 0.5` before the floor, unlike
/// the other half-pixel kernels, so a tie rounds up.)
fn nearest_axis(out: usize, input: usize) -> Vec<usize> {
    let scale = resize_scale(input, out);
    (0..out)
        .map(|i| {
            let pos = ((i as f32 + 0.5) * scale).floor() as i64;
            pos.clamp(0, input as i64 - 1) as usize
        })
        .collect()
}

fn nearest(images: &Tensor, batch: usize, dims: &Dims, out_shape: &[usize]) -> Result<Tensor> {
    let dtype = images.dtype();
    let pixel = dims.c * dtype.size();
    let src = images.data_bytes().expect("a numeric tensor has bytes");
    let in_image = dims.in_h * dims.in_w * pixel;
    let out_row = dims.out_w * pixel;
    let mut buf = AlignedBuf::zeroed(batch * dims.out_h * out_row);
    if pixel > 0 {
        let ys = nearest_axis(dims.out_h, dims.in_h);
        let xs = nearest_axis(dims.out_w, dims.in_w);
        let dst = buf.as_mut_bytes();
        for (b, image) in src.chunks_exact(in_image).enumerate() {
            for (y, &sy) in ys.iter().enumerate() {
                let row = &image[sy * dims.in_w * pixel..][..dims.in_w * pixel];
                let out = &mut dst[(b * dims.out_h + y) * out_row..][..out_row];
                for (o, &sx) in out.chunks_exact_mut(pixel).zip(&xs) {
                    o.copy_from_slice(&row[sx * pixel..][..pixel]);
                }
            }
        }
    }
    Tensor::from_aligned(dtype, out_shape, buf)
}

// ---------------------------------------------------------------------------------------
// The interpolating kernels: per-axis weights, then a separable pass per image.

/// The weights of both axes, computed once for every image of a batch.
enum Plan {
    /// `ResizeBilinear` to the input's own size: a plain cast.
    Copy,
    Bilinear {
        ys: Vec<Lerp>,
        xs: Vec<Lerp>,
    },
    Bicubic {
        ys: Vec<Cubic>,
        xs: Vec<Cubic>,
    },
    Area {
        ys: Vec<AreaSpan>,
        xs: Vec<AreaSpan>,
        /// `1 / (height_scale * width_scale)`.
        scale: f32,
    },
    Sampled {
        rows: Spans,
        cols: Spans,
    },
}

impl Plan {
    fn new(method: ResizeMethod, antialias: bool, d: &Dims) -> Result<Plan> {
        let sampled = |kernel: Kernel| -> Result<Plan> {
            Ok(Plan::Sampled {
                rows: Spans::new(kernel, d.out_h, d.in_h, antialias)?,
                cols: Spans::new(kernel, d.out_w, d.in_w, antialias)?,
            })
        };
        match method {
            ResizeMethod::Bilinear if antialias => sampled(Kernel::Triangle),
            ResizeMethod::Bilinear if d.out_h == d.in_h && d.out_w == d.in_w => Ok(Plan::Copy),
            ResizeMethod::Bilinear => Ok(Plan::Bilinear {
                ys: bilinear_axis(d.out_h, d.in_h),
                xs: bilinear_axis(d.out_w, d.in_w),
            }),
            ResizeMethod::Bicubic if antialias => sampled(Kernel::KeysCubic),
            ResizeMethod::Bicubic => Ok(Plan::Bicubic {
                ys: bicubic_axis(d.out_h, d.in_h),
                xs: bicubic_axis(d.out_w, d.in_w),
            }),
            ResizeMethod::Area => {
                let (hs, ws) = (resize_scale(d.in_h, d.out_h), resize_scale(d.in_w, d.out_w));
                Ok(Plan::Area {
                    ys: area_axis(d.out_h, hs),
                    xs: area_axis(d.out_w, ws),
                    scale: (1.0f64 / (hs * ws) as f64) as f32,
                })
            }
            ResizeMethod::Lanczos3 => sampled(Kernel::Lanczos(3.0)),
            ResizeMethod::Lanczos5 => sampled(Kernel::Lanczos(5.0)),
            ResizeMethod::Gaussian => sampled(Kernel::Gaussian),
            ResizeMethod::MitchellCubic => sampled(Kernel::MitchellCubic),
            ResizeMethod::Nearest => unreachable!("nearest is a gather, not a plan"),
        }
    }

    /// Resizes one image, `src` (in_h x in_w x c) into `dst` (out_h x out_w x c).
    fn run(&self, d: &Dims, src: &[f32], dst: &mut [f32], scratch: &mut Vec<f32>) {
        match self {
            Plan::Copy => dst.copy_from_slice(src),
            Plan::Bilinear { .. } => unreachable!("bilinear appends its rows (see resize)"),
            Plan::Bicubic { ys, xs } => bicubic(d, ys, xs, src, dst, scratch),
            Plan::Area { ys, xs, scale } => area(d, ys, xs, *scale, src, dst, scratch),
            Plan::Sampled { rows, cols } => sampled(d, rows, cols, src, dst, scratch),
        }
    }
}

// Bilinear ------------------------------------------------------------------------------

/// One output position of `ResizeBilinear`: the two sources and the fraction between them.
struct Lerp {
    lower: usize,
    upper: usize,
    lerp: f32,
}

/// `ResizeBilinear(half_pixel_centers=True)`'s weights: source position
/// `(i + 0.5) * scale - 0.5`, its floor and ceiling clamped to the image.
fn bilinear_axis(out: usize, input: usize) -> Vec<Lerp> {
    let scale = resize_scale(input, out);
    let last = input as i64 - 1;
    (0..out)
        .map(|i| {
            let pos = (i as f32 + 0.5) * scale - 0.5;
            let floor = pos.floor();
            Lerp {
                lower: (floor as i64).clamp(0, last) as usize,
                upper: (pos.ceil() as i64).clamp(0, last) as usize,
                lerp: pos - floor,
            }
        })
        .collect()
}

/// A pixel type the interpolating kernels read (`static_cast<float>` in TensorFlow).
trait Sample: Copy {
    /// `row` as `f32`: borrowed for float32, else converted into `buffer`.
    fn as_f32<'a>(row: &'a [Self], buffer: &'a mut Vec<f32>) -> &'a [f32];
}

impl Sample for f32 {
    fn as_f32<'a>(row: &'a [f32], _: &'a mut Vec<f32>) -> &'a [f32] {
        row
    }
}

impl Sample for u8 {
    fn as_f32<'a>(row: &'a [u8], buffer: &'a mut Vec<f32>) -> &'a [f32] {
        buffer.clear();
        buffer.extend(row.iter().map(|&v| v as f32));
        buffer
    }
}

/// Interpolates input row `row` along x: `left + (right - left) * x_lerp`.
fn bilinear_row(row: &[f32], xs: &[Lerp], c: usize, out: &mut [f32]) {
    if c == 3 {
        // RGB, the common case: a fixed-size pixel lets the compiler drop the inner loop's
        // bounds checks and keep the three channels in registers.
        for (o, l) in out.chunks_exact_mut(3).zip(xs) {
            let left: &[f32; 3] = row[l.lower * 3..][..3].try_into().expect("3 channels");
            let right: &[f32; 3] = row[l.upper * 3..][..3].try_into().expect("3 channels");
            for k in 0..3 {
                o[k] = left[k] + (right[k] - left[k]) * l.lerp;
            }
        }
        return;
    }
    for (o, l) in out.chunks_exact_mut(c).zip(xs) {
        let left = &row[l.lower * c..][..c];
        let right = &row[l.upper * c..][..c];
        for ((o, &a), &b) in o.iter_mut().zip(left).zip(right) {
            *o = a + (b - a) * l.lerp;
        }
    }
}

/// Input row `y` as `f32`, converted one row at a time for integer images so that it
/// stays in the L1 cache (converting the whole image first cost a third of the resize).
fn source_row<'a, T: Sample>(
    src: &'a [T],
    y: usize,
    width: usize,
    buffer: &'a mut Vec<f32>,
) -> &'a [f32] {
    T::as_f32(&src[y * width..][..width], buffer)
}

/// TensorFlow's `top + (bottom - top) * y_lerp` over x-interpolated rows, appended to `dst`: the x pass runs
/// once per input row (kept while consecutive output rows share it), the y pass per output.
fn bilinear<T: Sample>(
    d: &Dims,
    ys: &[Lerp],
    xs: &[Lerp],
    src: &[T],
    dst: &mut Vec<f32>,
    scratch: &mut Vec<f32>,
) {
    let in_row = d.in_w * d.c;
    let out_row = d.out_w * d.c;
    scratch.clear();
    scratch.resize(2 * out_row, 0.0);
    let (mut top, mut bottom) = scratch.split_at_mut(out_row);
    let mut converted = Vec::new();
    // The input rows now in `top` and `bottom`.
    let mut held: (Option<usize>, Option<usize>) = (None, None);
    for l in ys {
        if held.0 != Some(l.lower) {
            if held.1 == Some(l.lower) {
                std::mem::swap(&mut top, &mut bottom);
                held = (held.1, held.0);
            } else {
                bilinear_row(
                    source_row(src, l.lower, in_row, &mut converted),
                    xs,
                    d.c,
                    top,
                );
                held.0 = Some(l.lower);
            }
        }
        if held.1 != Some(l.upper) {
            bilinear_row(
                source_row(src, l.upper, in_row, &mut converted),
                xs,
                d.c,
                bottom,
            );
            held.1 = Some(l.upper);
        }
        dst.extend(
            top.iter()
                .zip(bottom.iter())
                .map(|(&t, &b)| t + (b - t) * l.lerp),
        );
    }
}

// Bicubic -------------------------------------------------------------------------------

/// One output position of `ResizeBicubic`: four sources and their weights.
struct Cubic {
    index: [usize; 4],
    weight: [f32; 4],
}

const CUBIC_TABLE_SIZE: usize = 1 << 10;

/// TensorFlow's table of Keys cubic coefficients (a = -0.5) at 1/1024 steps: entry `2i` is
/// the weight at distance `i/1024`, entry `2i + 1` the weight at `1 + i/1024`, computed in
/// `f64` and stored as `f32`.
fn keys_cubic_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let a = -0.5f64;
        let mut table = vec![0f32; (CUBIC_TABLE_SIZE + 1) * 2];
        for i in 0..=CUBIC_TABLE_SIZE {
            let x = (i as f64 * 1.0 / CUBIC_TABLE_SIZE as f64) as f32;
            let xd = x as f64;
            table[i * 2] = (((a + 2.0) * xd - (a + 3.0)) * xd * xd + 1.0) as f32;
            let x1 = (x as f64 + 1.0) as f32 as f64;
            table[i * 2 + 1] = (((a * x1 - 5.0 * a) * x1 + 8.0 * a) * x1 - 4.0 * a) as f32;
        }
        table
    })
}

/// `ResizeBicubic(half_pixel_centers=True)`'s weights: the table entry nearest the
/// fractional position (`lrintf(delta * 1024)`), taps outside the image given weight zero
/// and the rest renormalized to sum to one (TensorFlow's Keys-cubic edge handling).
fn bicubic_axis(out: usize, input: usize) -> Vec<Cubic> {
    let scale = resize_scale(input, out);
    let table = keys_cubic_table();
    let last = input as i64 - 1;
    (0..out)
        .map(|i| {
            let pos = (i as f32 + 0.5) * scale - 0.5;
            let base = pos.floor() as i64;
            let delta = pos - base as f32;
            let offset = (delta * CUBIC_TABLE_SIZE as f32).round_ties_even() as usize;
            let taps = [
                table[offset * 2 + 1],
                table[offset * 2],
                table[(CUBIC_TABLE_SIZE - offset) * 2],
                table[(CUBIC_TABLE_SIZE - offset) * 2 + 1],
            ];
            let mut index = [0usize; 4];
            let mut weight = [0f32; 4];
            for k in 0..4 {
                let want = base - 1 + k as i64;
                let bounded = want.clamp(0, last);
                index[k] = bounded as usize;
                weight[k] = if bounded == want { taps[k] } else { 0.0 };
            }
            let sum = weight[0] + weight[1] + weight[2] + weight[3];
            if sum.abs() >= 1000.0 * f32::MIN_POSITIVE {
                let inv = 1.0 / sum;
                for w in &mut weight {
                    *w *= inv;
                }
            }
            Cubic { index, weight }
        })
        .collect()
}

/// Along y first (every input column of the four source rows), then along x, each a sum
/// of four products in tap order, as TensorFlow's cached bicubic loop computes them.
fn bicubic(
    d: &Dims,
    ys: &[Cubic],
    xs: &[Cubic],
    src: &[f32],
    dst: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let in_row = d.in_w * d.c;
    let out_row = d.out_w * d.c;
    let c = d.c;
    scratch.clear();
    scratch.resize(in_row, 0.0);
    let column = &mut scratch[..];
    for (wy, out) in ys.iter().zip(dst.chunks_exact_mut(out_row)) {
        let [r0, r1, r2, r3] = wy.index.map(|r| &src[r * in_row..][..in_row]);
        let [w0, w1, w2, w3] = wy.weight;
        for (i, v) in column.iter_mut().enumerate() {
            *v = r0[i] * w0 + r1[i] * w1 + r2[i] * w2 + r3[i] * w3;
        }
        for (o, wx) in out.chunks_exact_mut(c).zip(xs) {
            let [i0, i1, i2, i3] = wx.index.map(|x| x * c);
            let [w0, w1, w2, w3] = wx.weight;
            for (ch, o) in o.iter_mut().enumerate() {
                *o = column[i0 + ch] * w0
                    + column[i1 + ch] * w1
                    + column[i2 + ch] * w2
                    + column[i3 + ch] * w3;
            }
        }
    }
}

// Area ----------------------------------------------------------------------------------

/// The input cells `[start, end)` an output cell of `ResizeArea` covers, with the covered
/// fractions of the first and last (the cells between count whole).
struct AreaSpan {
    start: i64,
    end: i64,
    start_scale: f32,
    end_scale: f32,
}

/// How much of input cell `v` the output cell `[lo, hi)` covers, in input units, as
/// TensorFlow's `ResizeArea` computes it.
fn area_cover(v: i64, lo: f32, hi: f32, scale: f32) -> f32 {
    let next = (v + 1) as f32;
    if (v as f32) < lo {
        if next > hi {
            scale
        } else {
            next - lo
        }
    } else if next > hi {
        hi - v as f32
    } else {
        1.0
    }
}

/// `ResizeArea`'s cells (no half-pixel offset): output cell `i` spans
/// `[i * scale, (i + 1) * scale)` of the input.
fn area_axis(out: usize, scale: f32) -> Vec<AreaSpan> {
    (0..out)
        .map(|i| {
            let lo = i as f32 * scale;
            let hi = (i + 1) as f32 * scale;
            let start = lo.floor() as i64;
            let end = hi.ceil() as i64;
            AreaSpan {
                start,
                end,
                start_scale: area_cover(start, lo, hi, scale),
                end_scale: area_cover(end - 1, lo, hi, scale),
            }
        })
        .collect()
}

/// Sums every input row along x (first and last cell scaled, the cells between added
/// whole), then accumulates those row sums along y with their covered fractions and
/// scales by `1 / (height_scale * width_scale)`: TensorFlow's order of operations.
fn area(
    d: &Dims,
    ys: &[AreaSpan],
    xs: &[AreaSpan],
    scale: f32,
    src: &[f32],
    dst: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let c = d.c;
    let in_row = d.in_w * c;
    let out_row = d.out_w * c;
    let bound = |v: i64, n: usize| v.clamp(0, n as i64 - 1) as usize;
    scratch.clear();
    scratch.resize(d.in_h * out_row, 0.0);
    for (row, sums) in src
        .chunks_exact(in_row)
        .zip(scratch.chunks_exact_mut(out_row))
    {
        for (s, span) in sums.chunks_exact_mut(c).zip(xs) {
            let first = &row[bound(span.start, d.in_w) * c..][..c];
            for (s, &v) in s.iter_mut().zip(first) {
                *s = v * span.start_scale;
            }
            if span.start + 1 != span.end {
                for x in span.start + 1..span.end - 1 {
                    let cell = &row[bound(x, d.in_w) * c..][..c];
                    for (s, &v) in s.iter_mut().zip(cell) {
                        *s += v;
                    }
                }
                let last = &row[bound(span.end - 1, d.in_w) * c..][..c];
                for (s, &v) in s.iter_mut().zip(last) {
                    *s += v * span.end_scale;
                }
            }
        }
    }
    let row_sums = &scratch[..];
    let hs = (d.in_h as f32) / (d.out_h as f32);
    for (y, (span, out)) in ys.iter().zip(dst.chunks_exact_mut(out_row)).enumerate() {
        let lo = y as f32 * hs;
        let hi = (y + 1) as f32 * hs;
        out.fill(0.0);
        for i in span.start..span.end {
            let scale_y = area_cover(i, lo, hi, hs);
            let sums = &row_sums[bound(i, d.in_h) * out_row..][..out_row];
            for (o, &s) in out.iter_mut().zip(sums) {
                *o += s * scale_y;
            }
        }
        for o in out.iter_mut() {
            *o *= scale;
        }
    }
}

// ScaleAndTranslate ---------------------------------------------------------------------

/// The sampling kernels of TensorFlow's `ScaleAndTranslate` (`sampling_kernels.h`).
#[derive(Clone, Copy, Debug)]
enum Kernel {
    Lanczos(f32),
    Gaussian,
    Triangle,
    KeysCubic,
    MitchellCubic,
}

impl Kernel {
    fn radius(self) -> f32 {
        match self {
            Kernel::Lanczos(r) => r,
            Kernel::Gaussian => 1.5,
            Kernel::Triangle => 1.0,
            Kernel::KeysCubic | Kernel::MitchellCubic => 2.0,
        }
    }

    /// The kernel at distance `x`, with TensorFlow's constants and precision.
    fn at(self, x: f32) -> f32 {
        let x = x.abs();
        match self {
            Kernel::Lanczos(radius) => {
                // TensorFlow's `3.14159265359f` rounds to this same f32.
                const PI: f32 = std::f32::consts::PI;
                if x > radius {
                    0.0
                } else if (x as f64) <= 1e-3 {
                    1.0
                } else {
                    radius * (PI * x).sin() * (PI * x / radius).sin() / (PI * PI * x * x)
                }
            }
            Kernel::Gaussian => {
                const RADIUS: f32 = 1.5;
                const SIGMA: f32 = RADIUS / 3.0;
                if x >= RADIUS {
                    0.0
                } else {
                    let sigma = SIGMA as f64;
                    ((-x * x) as f64 / (2.0 * sigma * sigma)).exp() as f32
                }
            }
            Kernel::Triangle => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Kernel::KeysCubic => {
                if x >= 2.0 {
                    0.0
                } else if x >= 1.0 {
                    ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
                } else {
                    ((1.5 * x - 2.5) * x) * x + 1.0
                }
            }
            Kernel::MitchellCubic => {
                if x >= 2.0 {
                    0.0
                } else if x >= 1.0 {
                    (((-7.0 / 18.0) * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0
                } else {
                    (((7.0 / 6.0) * x - 2.0) * x) * x + 8.0 / 9.0
                }
            }
        }
    }
}

/// `ScaleAndTranslate`'s spans along one axis: for output `i`, the weights of inputs
/// `starts[i]..starts[i] + size` (zero past the span it really has).
struct Spans {
    size: usize,
    starts: Vec<usize>,
    weights: Vec<f32>,
}

impl Spans {
    /// The spans of `tf.image.resize`'s `ScaleAndTranslate` call: scale
    /// `out / in` (in `f32`), no translation. The kernel is stretched by the inverse scale
    /// when `antialias` and downsampling; the weights of each output are normalized to sum
    /// to one.
    fn new(kernel: Kernel, out: usize, input: usize, antialias: bool) -> Result<Spans> {
        let scale = out as f32 / input as f32;
        let inv_scale = (1.0f64 / scale as f64) as f32;
        let inv_translate = -inv_scale * 0.0f32;
        let kernel_scale = if antialias { inv_scale.max(1.0) } else { 1.0 };
        let support = kernel.radius() * kernel_scale;
        let size = (2 * support.ceil() as usize + 1).min(input);
        let one_over_kernel_scale = 1.0f32 / kernel_scale;
        let mut starts = vec![0usize; out];
        let mut weights = vec![0f32; size * out];
        let mut temp = Vec::with_capacity(size);
        let last = input as i64 - 1;
        for (x, (start_out, weights_out)) in starts
            .iter_mut()
            .zip(weights.chunks_exact_mut(size.max(1)))
            .enumerate()
        {
            let sample = (x as f32 + 0.5) * inv_scale + inv_translate;
            if sample < 0.0 || sample > input as f32 {
                continue;
            }
            let start = ((sample - support - 0.5).ceil() as i64).clamp(0, last);
            let end = ((sample + support - 0.5).floor() as i64).clamp(0, last) + 1;
            let this_size = (end - start) as usize;
            if this_size > size {
                return Err(Error::internal(format!(
                    "resize: span is too large: {this_size} vs {size}"
                )));
            }
            temp.clear();
            let mut total = 0.0f32;
            for source in start..end {
                let pos = source as f32 + 0.5 - sample;
                let w = kernel.at((pos * one_over_kernel_scale).abs());
                total += w;
                temp.push(w);
            }
            if total.abs() >= 1000.0 * f32::MIN_POSITIVE {
                let inv = 1.0 / total;
                for (o, &w) in weights_out.iter_mut().zip(&temp) {
                    *o = w * inv;
                }
            }
            *start_out = start as usize;
        }
        Ok(Spans {
            size,
            starts,
            weights,
        })
    }

    /// The start and weights of output `i`, cut where the image ends.
    fn span(&self, i: usize, input: usize) -> (usize, &[f32]) {
        let start = self.starts[i];
        let real = (start + self.size).min(input) - start;
        (start, &self.weights[i * self.size..][..real])
    }
}

/// `ScaleAndTranslate`'s `GatherRows` then `GatherColumns`, one output row at a time:
/// each output row of the intermediate is `sum(w * input_row)` over its span, each output
/// pixel `sum(w * intermediate_pixel)`, both accumulated from zero in span order.
fn sampled(
    d: &Dims,
    rows: &Spans,
    cols: &Spans,
    src: &[f32],
    dst: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let c = d.c;
    let in_row = d.in_w * c;
    let out_row = d.out_w * c;
    scratch.clear();
    scratch.resize(in_row, 0.0);
    let inter = &mut scratch[..];
    for (y, out) in dst.chunks_exact_mut(out_row).enumerate() {
        let (start, weights) = rows.span(y, d.in_h);
        inter.fill(0.0);
        for (k, &w) in weights.iter().enumerate() {
            let row = &src[(start + k) * in_row..][..in_row];
            for (o, &v) in inter.iter_mut().zip(row) {
                *o += w * v;
            }
        }
        for (x, o) in out.chunks_exact_mut(c).enumerate() {
            let (start, weights) = cols.span(x, d.in_w);
            o.fill(0.0);
            for (k, &w) in weights.iter().enumerate() {
                let pixel = &inter[(start + k) * c..][..c];
                for (o, &v) in o.iter_mut().zip(pixel) {
                    *o += w * v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use proptest::prelude::*;
    use std::path::Path;

    /// A `.npy` file (format 1.x or 2.x, C order) as a tensor: `|u1` or `<f4` data.
    fn read_npy(path: &Path) -> Tensor {
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("the reference {}: {e}", path.display()));
        assert_eq!(
            &bytes[..6],
            b"\x93NUMPY",
            "{}: not a .npy file",
            path.display()
        );
        let (header_len, offset) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 => (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            ),
            v => panic!("{}: .npy version {v}", path.display()),
        };
        let header = std::str::from_utf8(&bytes[offset..offset + header_len]).unwrap();
        let field = |key: &str| -> &str {
            let at = header
                .find(&format!("'{key}':"))
                .unwrap_or_else(|| panic!("{}: no {key} in {header}", path.display()));
            header[at + key.len() + 3..].trim_start()
        };
        let descr = field("descr");
        let descr = &descr[1..descr[1..].find('\'').unwrap() + 1];
        assert!(
            field("fortran_order").starts_with("False"),
            "{}: Fortran order",
            path.display()
        );
        let shape_text = field("shape");
        let shape: Vec<usize> = shape_text[1..shape_text.find(')').unwrap()]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let data = &bytes[offset + header_len..];
        match descr {
            "|u1" => Tensor::from_vec(&shape, data.to_vec()).unwrap(),
            "<f4" => Tensor::from_vec(
                &shape,
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect(),
            )
            .unwrap(),
            other => panic!("{}: dtype {other}", path.display()),
        }
    }

    fn as_f32(t: &Tensor) -> Vec<f32> {
        to_f32(t).unwrap().into_owned()
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// The references: `tf.image.resize` of each decoded image (TensorFlow 2.21, float32).
    const REFERENCES: [(&str, ResizeMethod, bool); 5] = [
        ("resize_224x160_area", ResizeMethod::Area, false),
        ("resize_224x160_bicubic", ResizeMethod::Bicubic, false),
        ("resize_224x160_bilinear", ResizeMethod::Bilinear, false),
        ("resize_224x160_nearest", ResizeMethod::Nearest, false),
        (
            "resize_96x96_bilinear_antialias",
            ResizeMethod::Bilinear,
            true,
        ),
    ];

    #[test]
    fn matches_tensorflow_on_the_reference_images() {
        let expected = crate::testdata::json("images", "expected.json");
        let dir = crate::testdata::dir("images");
        let images = expected["images"].as_object().unwrap();
        assert!(!images.is_empty());
        let mut failures = Vec::new();
        for name in images.keys() {
            let input = read_npy(&dir.join(format!("{name}.decoded_rgb.npy")));
            assert_eq!(input.dtype(), DType::UInt8);
            for (suffix, method, antialias) in REFERENCES {
                let reference = read_npy(&dir.join(format!("{name}.{suffix}.npy")));
                let (h, w) = (reference.shape()[0], reference.shape()[1]);
                let got = resize(&input, h, w, method, antialias).unwrap();
                assert_eq!(got.shape(), reference.shape(), "{name} {suffix}");
                let expected_dtype = if method == ResizeMethod::Nearest {
                    DType::UInt8
                } else {
                    DType::Float32
                };
                assert_eq!(got.dtype(), expected_dtype, "{name} {suffix}");
                let err = max_abs_diff(&as_f32(&got), reference.as_slice::<f32>().unwrap());
                eprintln!("{name} {suffix}: max |error| = {err:e}");
                if err > 1e-3 {
                    failures.push(format!("{name} {suffix}: {err}"));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "off TensorFlow by more than 1e-3: {failures:?}"
        );
    }

    /// A quick timing (`cargo test --release -p headrace --lib resize_timing -- --ignored
    /// --nocapture`); nothing is asserted.
    #[test]
    #[ignore]
    fn resize_timing() {
        let dir = crate::testdata::dir("images");
        let input = read_npy(&dir.join("baseline420.jpg.decoded_rgb.npy"));
        for (method, antialias) in [
            (ResizeMethod::Bilinear, false),
            (ResizeMethod::Nearest, false),
            (ResizeMethod::Area, false),
            (ResizeMethod::Bicubic, false),
            (ResizeMethod::Bilinear, true),
            (ResizeMethod::Lanczos3, false),
            (ResizeMethod::Lanczos5, true),
        ] {
            let n = 200;
            let t = std::time::Instant::now();
            for _ in 0..n {
                std::hint::black_box(resize(&input, 224, 160, method, antialias).unwrap());
            }
            eprintln!(
                "250x333x3 u8 -> 224x160 {} antialias={antialias}: {:?} per image",
                method.name(),
                t.elapsed() / n
            );
        }
        // The benchmark's case: a 500x375 photograph to 224x224, from uint8 and float32.
        let big: Vec<u8> = (0..375 * 500 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let big = Tensor::from_vec(&[375, 500, 3], big).unwrap();
        let big_f32 = Tensor::from_vec(&[375, 500, 3], as_f32(&big)).unwrap();
        for (name, input) in [("u8", &big), ("f32", &big_f32)] {
            let n = 300;
            let t = std::time::Instant::now();
            for _ in 0..n {
                std::hint::black_box(
                    resize(input, 224, 224, ResizeMethod::Bilinear, false).unwrap(),
                );
            }
            eprintln!(
                "375x500x3 {name} -> 224x224 bilinear: {:?} per image",
                t.elapsed() / n
            );
        }
    }

    /// The examples of `tf.image.resize`'s docstring, to the bit.
    #[test]
    fn tensorflow_docstring_examples() {
        let mut eye = vec![0i32; 25];
        for i in 0..5 {
            eye[i * 5 + i] = 1;
        }
        let image = Tensor::from_vec(&[1, 5, 5, 1], eye).unwrap();

        let out = resize(&image, 3, 5, ResizeMethod::Bilinear, false).unwrap();
        assert_eq!(out.shape(), &[1, 3, 5, 1]);
        assert_eq!(out.dtype(), DType::Float32);
        #[rustfmt::skip]
        let want: [f32; 15] = [
            0.6666667, 0.3333333, 0.0, 0.0, 0.0,
            0.0, 0.0, 1.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 0.3333335, 0.6666665,
        ];
        assert_eq!(out.as_slice::<f32>().unwrap(), &want);

        let nn = resize(&image, 5, 7, ResizeMethod::Nearest, false).unwrap();
        assert_eq!(nn.dtype(), DType::Int32);
        #[rustfmt::skip]
        let want: [i32; 35] = [
            1, 0, 0, 0, 0, 0, 0,
            0, 1, 1, 0, 0, 0, 0,
            0, 0, 0, 1, 0, 0, 0,
            0, 0, 0, 0, 1, 1, 0,
            0, 0, 0, 0, 0, 0, 1,
        ];
        assert_eq!(nn.as_slice::<i32>().unwrap(), &want);

        // antialias has no effect when upsampling.
        let a = resize(&image, 5, 10, ResizeMethod::Bilinear, false).unwrap();
        let b = resize(&image, 5, 10, ResizeMethod::Bilinear, true).unwrap();
        assert_eq!(a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
    }

    #[test]
    fn method_names_round_trip() {
        for m in ResizeMethod::ALL {
            assert_eq!(ResizeMethod::parse(m.name()).unwrap(), m);
        }
        let err = ResizeMethod::parse("cubic").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Argument);
        assert!(err.message().starts_with("method:"), "{err}");
    }

    #[test]
    fn bad_arguments_are_refused() {
        let image = Tensor::zeros(DType::UInt8, &[4, 4, 3]);
        let flat = Tensor::zeros(DType::UInt8, &[4, 4]);
        let err = resize(&flat, 2, 2, ResizeMethod::Bilinear, false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(
            err.message().contains("resize") && err.message().contains("[4, 4]"),
            "{err}"
        );
        let deep = Tensor::zeros(DType::UInt8, &[1, 1, 4, 4, 3]);
        let err = resize(&deep, 2, 2, ResizeMethod::Area, false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);

        for (h, w) in [(0, 2), (2, 0)] {
            let err = resize(&image, h, w, ResizeMethod::Bilinear, false).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Argument, "{err}");
        }

        let strings = Tensor::zeros(DType::String, &[2, 2, 1]);
        let bools = Tensor::zeros(DType::Bool, &[2, 2, 1]);
        for t in [&strings, &bools] {
            for m in ResizeMethod::ALL {
                let err = resize(t, 2, 2, m, false).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
            }
        }

        let empty = Tensor::zeros(DType::UInt8, &[0, 4, 3]);
        let err = resize(&empty, 2, 2, ResizeMethod::Bilinear, false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn empty_batches_and_channels_give_empty_outputs() {
        for m in ResizeMethod::ALL {
            let none = Tensor::zeros(DType::UInt8, &[0, 4, 4, 3]);
            assert_eq!(resize(&none, 2, 3, m, true).unwrap().shape(), &[0, 2, 3, 3]);
            let no_channels = Tensor::zeros(DType::Float32, &[4, 4, 0]);
            assert_eq!(
                resize(&no_channels, 2, 3, m, false).unwrap().shape(),
                &[2, 3, 0]
            );
        }
    }

    #[test]
    fn every_numeric_dtype_is_accepted() {
        let values: Vec<u8> = (0..2 * 3 * 2).map(|v| v as u8).collect();
        let base = Tensor::from_vec(&[2, 3, 2], values.clone()).unwrap();
        let want = resize(&base, 3, 2, ResizeMethod::Bicubic, false).unwrap();
        let tensors = [
            DType::Int8,
            DType::UInt16,
            DType::Int64,
            DType::Float64,
            DType::Float16,
            DType::BFloat16,
        ]
        .map(|dtype| crate::ops::cast::cast(&base, dtype).unwrap());
        for t in &tensors {
            let got = resize(t, 3, 2, ResizeMethod::Bicubic, false).unwrap();
            assert_eq!(got.dtype(), DType::Float32);
            assert_eq!(
                got.as_slice::<f32>().unwrap(),
                want.as_slice::<f32>().unwrap()
            );
            let nn = resize(t, 5, 1, ResizeMethod::Nearest, false).unwrap();
            assert_eq!(nn.dtype(), t.dtype());
            assert_eq!(nn.shape(), &[5, 1, 2]);
        }
    }

    /// Every method, with and without antialias, on a 5x4 image taken to 2x6 (down in
    /// height, up in width), against TensorFlow 2.21's output. Made with
    /// ```python
    /// x = np.array([[((i * 4 + j) * 53) % 251 for j in range(4)] for i in range(5)],
    ///              np.uint8)[..., None]
    /// tf.image.resize(x, [2, 6], method=m, antialias=aa).numpy().astype(np.float32).ravel()
    /// ```
    /// (A wider sweep, 256 cases of every method and antialias setting over u8, i16, f32,
    /// batches, upsampling and downsampling, agreed with TensorFlow to the bit when this
    /// was written.)
    #[test]
    fn every_method_matches_tensorflow_on_a_small_image() {
        let pixels: Vec<u8> = (0..5 * 4).map(|k| ((k * 53) % 251) as u8).collect();
        let image = Tensor::from_vec(&[5, 4, 1], pixels).unwrap();
        #[rustfmt::skip]
        let references: [(&str, bool, [f32; 12]); 16] = [
        ("bilinear", false, [159.0, 91.375, 32.583336, 67.91667, 103.25, 129.75, 124.25, 150.75, 186.08334, 221.41667, 131.25, 32.25]),
        ("bilinear", true, [132.13637, 107.295456, 81.78031, 79.08334, 99.204544, 120.0, 134.0, 154.79546, 174.91666, 172.21968, 106.77272, 41.999992]),
        ("nearest", false, [212.0, 14.0, 14.0, 67.0, 120.0, 120.0, 134.0, 187.0, 187.0, 240.0, 42.0, 42.0]),
        ("nearest", true, [212.0, 14.0, 14.0, 67.0, 120.0, 120.0, 134.0, 187.0, 187.0, 240.0, 42.0, 42.0]),
        ("area", false, [119.4, 95.7, 71.99999, 74.8, 101.30002, 127.79997, 126.2, 152.7, 179.19998, 182.00002, 108.09999, 34.19999]),
        ("area", true, [119.4, 95.7, 71.99999, 74.8, 101.30002, 127.79997, 126.2, 152.7, 179.19998, 182.00002, 108.09999, 34.19999]),
        ("bicubic", false, [178.26918, 88.47284, 6.677895, 64.91131, 110.50383, 134.80508, 119.19491, 143.49619, 189.73402, 250.54143, 136.11047, 16.504826]),
        ("bicubic", true, [133.84113, 106.73109, 74.70078, 69.21319, 99.97591, 129.10767, 133.26106, 158.18112, 185.3408, 184.25006, 101.14613, 27.306335]),
        ("lanczos3", false, [177.50343, 81.844666, -5.9819107, 63.981342, 123.971405, 134.46649, 119.5335, 128.61728, 192.82722, 266.91724, 136.8728, 6.45368]),
        ("lanczos3", true, [135.26102, 110.68746, 71.23855, 62.601788, 101.64609, 133.44214, 136.91241, 158.63728, 193.6691, 191.71219, 94.77054, 21.719242]),
        ("lanczos5", false, [178.01096, 81.195786, -13.314549, 62.755745, 134.03165, 132.14565, 131.61046, 119.04311, 195.28862, 275.81345, 136.1851, 0.008394241]),
        ("lanczos5", true, [134.81866, 113.81, 68.45608, 58.136795, 103.71829, 134.77924, 142.25432, 154.07178, 199.95903, 196.03459, 92.7398, 19.135614]),
        ("gaussian", false, [147.55757, 93.59135, 46.76842, 69.77625, 102.2507, 125.30733, 128.69266, 151.7493, 184.22377, 203.83667, 127.84186, 45.540478]),
        ("gaussian", true, [126.46793, 109.19572, 90.550644, 87.46255, 100.512375, 114.02592, 136.96321, 151.8776, 166.36961, 159.33185, 105.30597, 53.667767]),
        ("mitchellcubic", false, [160.48715, 89.55725, 27.506847, 66.49406, 107.10483, 131.15198, 122.84805, 146.89519, 187.97838, 226.90045, 131.70976, 29.683033]),
        ("mitchellcubic", true, [130.17223, 108.45015, 83.30647, 78.61116, 99.99704, 121.321815, 136.06767, 155.74115, 175.98749, 171.20317, 102.57287, 40.02201]),
        ];
        for (name, antialias, want) in references {
            let method = ResizeMethod::parse(name).unwrap();
            let got = as_f32(&resize(&image, 2, 6, method, antialias).unwrap());
            let err = max_abs_diff(&got, &want);
            assert!(
                err <= 1e-3,
                "{name} antialias={antialias}: {got:?} vs {want:?}"
            );
        }
    }

    fn any_method() -> impl Strategy<Value = ResizeMethod> {
        proptest::sample::select(ResizeMethod::ALL.to_vec())
    }

    /// An image of `h x w x c` bytes, with its sizes.
    fn image() -> impl Strategy<Value = (usize, usize, usize, Vec<u8>)> {
        (1usize..9, 1usize..9, 1usize..4).prop_flat_map(|(h, w, c)| {
            proptest::collection::vec(any::<u8>(), h * w * c).prop_map(move |data| (h, w, c, data))
        })
    }

    proptest! {
        #[test]
        fn resizing_to_the_same_size_is_the_identity(
            (h, w, c, data) in image(),
            method in proptest::sample::select(vec![
                ResizeMethod::Bilinear, ResizeMethod::Nearest, ResizeMethod::Area, ResizeMethod::Bicubic,
            ]),
        ) {
            let t = Tensor::from_vec(&[h, w, c], data.clone()).unwrap();
            let out = resize(&t, h, w, method, false).unwrap();
            prop_assert_eq!(out.shape(), &[h, w, c]);
            if method == ResizeMethod::Nearest {
                prop_assert_eq!(out.as_slice::<u8>().unwrap(), &data[..]);
            } else {
                let want: Vec<f32> = data.iter().map(|&v| v as f32).collect();
                prop_assert_eq!(out.as_slice::<f32>().unwrap(), &want[..]);
            }
        }

        #[test]
        fn a_constant_image_stays_constant(
            (h, w, c) in (1usize..10, 1usize..10, 1usize..4),
            (out_h, out_w) in (1usize..13, 1usize..13),
            value in -1000f32..1000f32,
            method in any_method(),
            antialias in any::<bool>(),
        ) {
            let t = Tensor::from_vec(&[h, w, c], vec![value; h * w * c]).unwrap();
            let out = resize(&t, out_h, out_w, method, antialias).unwrap();
            prop_assert_eq!(out.shape(), &[out_h, out_w, c]);
            let tolerance = 1e-5 * value.abs().max(1.0);
            for &v in out.as_slice::<f32>().unwrap() {
                prop_assert!((v - value).abs() <= tolerance, "{} for {} by {}", v, value, method.name());
            }
        }

        #[test]
        fn bilinear_from_uint8_equals_bilinear_from_its_float32_copy(
            (h, w, c, data) in image(),
            out_h in 1usize..40,
            out_w in 1usize..40,
        ) {
            let input = Tensor::from_vec(&[h, w, c], data).unwrap();
            let as_float = Tensor::from_vec(&[h, w, c], as_f32(&input)).unwrap();
            let fast = resize(&input, out_h, out_w, ResizeMethod::Bilinear, false).unwrap();
            let exact = resize(&as_float, out_h, out_w, ResizeMethod::Bilinear, false).unwrap();
            prop_assert_eq!(fast.shape(), exact.shape());
            let (fast, exact) = (fast.as_slice::<f32>().unwrap(), exact.as_slice::<f32>().unwrap());
            prop_assert!(fast.iter().zip(exact).all(|(a, b)| a.to_bits() == b.to_bits()));
        }

        #[test]
        fn a_batch_resizes_as_its_images_do(
            (n, h, w, c) in (1usize..4, 1usize..9, 1usize..9, 1usize..4),
            (out_h, out_w) in (1usize..12, 1usize..12),
            seed in any::<u64>(),
            method in any_method(),
            antialias in any::<bool>(),
        ) {
            let mut state = seed;
            let data: Vec<u8> = (0..n * h * w * c)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (state >> 56) as u8
                })
                .collect();
            let batch = Tensor::from_vec(&[n, h, w, c], data).unwrap();
            let out = resize(&batch, out_h, out_w, method, antialias).unwrap();
            prop_assert_eq!(out.shape(), &[n, out_h, out_w, c]);
            for b in 0..n {
                let one = resize(&batch.row(b).unwrap(), out_h, out_w, method, antialias).unwrap();
                let row = out.row(b).unwrap();
                prop_assert_eq!(row.shape(), one.shape());
                prop_assert_eq!(row.data_bytes().unwrap(), one.data_bytes().unwrap());
            }
        }
    }
}
