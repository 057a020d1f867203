//! Geometric image ops with `tf.image` semantics: flips, transpose, `rot90`, crops and pads.
//!
//! Images are `[height, width, channels]` (HWC, rank 3) or `[batch, height, width, channels]`
//! (NHWC, rank 4); as TensorFlow requires, the height, width and channel counts must be
//! positive (a batch may be empty). Every op only moves data, so it works for every dtype,
//! bool and string included, and keeps it; padding writes zeros (empty strings for strings).
//!
//! One mechanism does the moving: an output pixel is either a source pixel of the same image
//! or padding, and runs of output pixels whose sources are consecutive are copied at once, so a
//! crop or pad copies whole rows and a flip copies pixel by pixel.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::value::{AlignedBuf, DType, Tensor};

fn err(op: &str, message: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("{op}: {message}"))
}

/// The dimensions of an HWC or NHWC image tensor.
#[derive(Clone, Copy, Debug)]
struct Layout {
    batch: usize,
    height: usize,
    width: usize,
    channels: usize,
    /// Rank 4 (a batch dimension is present).
    batched: bool,
}

impl Layout {
    fn of(op: &str, images: &Tensor) -> Result<Layout> {
        let s = images.shape();
        let (batch, batched, hwc) = match s.len() {
            3 => (1, false, s),
            4 => (s[0], true, &s[1..]),
            _ => {
                return Err(err(
                    op,
                    format!(
                        "images must have 3 (HWC) or 4 (NHWC) dimensions, got shape {:?}",
                        s
                    ),
                ))
            }
        };
        if hwc.contains(&0) {
            return Err(err(
                op,
                format!(
                    "the height, width and channels of the image shape {:?} must be > 0",
                    s
                ),
            ));
        }
        Ok(Layout {
            batch,
            height: hwc[0],
            width: hwc[1],
            channels: hwc[2],
            batched,
        })
    }

    /// The shape of an output of `height` x `width` with this layout's batch and channels.
    fn shape(&self, height: usize, width: usize) -> Vec<usize> {
        let mut s = Vec::with_capacity(4);
        if self.batched {
            s.push(self.batch);
        }
        s.extend([height, width, self.channels]);
        s
    }
}

/// Each image of `images` moved into `out_h` x `out_w`: the pixel at (y, x) is the source
/// pixel `src(y, x)` of the same image, or zeros where `src` gives `None`.
fn remap(
    images: &Tensor,
    l: &Layout,
    out_h: usize,
    out_w: usize,
    src: impl Fn(usize, usize) -> Option<(usize, usize)>,
) -> Result<Tensor> {
    // Runs of (destination pixel, source pixel, length) within one image.
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for y in 0..out_h {
        for x in 0..out_w {
            let Some((sy, sx)) = src(y, x) else { continue };
            let (d, s) = (y * out_w + x, sy * l.width + sx);
            match runs.last_mut() {
                Some(r) if r.0 + r.2 == d && r.1 + r.2 == s => r.2 += 1,
                _ => runs.push((d, s, 1)),
            }
        }
    }
    let shape = l.shape(out_h, out_w);
    let (in_px, out_px) = (l.height * l.width, out_h * out_w);
    let c = l.channels;
    if images.dtype() == DType::String {
        let values = images.string_values()?;
        let mut out = vec![Bytes::new(); l.batch * out_px * c];
        for n in 0..l.batch {
            let (src_img, dst_img) = (n * in_px * c, n * out_px * c);
            for &(d, s, len) in &runs {
                out[dst_img + d * c..dst_img + (d + len) * c]
                    .clone_from_slice(&values[src_img + s * c..src_img + (s + len) * c]);
            }
        }
        return Tensor::strings(&shape, out);
    }
    let px = c * images.dtype().size();
    let input = images.data_bytes().expect("numeric tensors have bytes");
    let mut buf = AlignedBuf::zeroed(l.batch * out_px * px);
    let out = buf.as_mut_bytes();
    for n in 0..l.batch {
        let (src_img, dst_img) = (n * in_px * px, n * out_px * px);
        for &(d, s, len) in &runs {
            out[dst_img + d * px..dst_img + (d + len) * px]
                .copy_from_slice(&input[src_img + s * px..src_img + (s + len) * px]);
        }
    }
    Tensor::from_aligned(images.dtype(), &shape, buf)
}

/// An `out_h` x `out_w` window whose pixel (y, x) is the source pixel
/// (y + offset_y, x + offset_x), zero where that lies outside the image.
fn window(
    images: &Tensor,
    l: &Layout,
    out_h: usize,
    out_w: usize,
    offset_y: i64,
    offset_x: i64,
) -> Result<Tensor> {
    let (h, w) = (l.height as i64, l.width as i64);
    remap(images, l, out_h, out_w, |y, x| {
        let (sy, sx) = (y as i64 + offset_y, x as i64 + offset_x);
        ((0..h).contains(&sy) && (0..w).contains(&sx)).then_some((sy as usize, sx as usize))
    })
}

/// Mirrors the images along the width (`tf.image.flip_left_right`).
pub fn flip_left_right(images: &Tensor) -> Result<Tensor> {
    let l = Layout::of("flip_left_right", images)?;
    remap(images, &l, l.height, l.width, |y, x| {
        Some((y, l.width - 1 - x))
    })
}

/// Mirrors the images along the height (`tf.image.flip_up_down`).
pub fn flip_up_down(images: &Tensor) -> Result<Tensor> {
    let l = Layout::of("flip_up_down", images)?;
    remap(images, &l, l.height, l.width, |y, x| {
        Some((l.height - 1 - y, x))
    })
}

/// `flip_up_down` (`up_down`) or `flip_left_right` written over `images` when nothing else
/// holds its buffer (the graph hands over an image at its last use), else a flipped copy.
/// Same result either way; in place it neither allocates nor writes to memory not yet in
/// the cache.
pub fn flip_owned(mut images: Tensor, up_down: bool) -> Result<Tensor> {
    let op = if up_down {
        "flip_up_down"
    } else {
        "flip_left_right"
    };
    let l = Layout::of(op, &images)?;
    let pixel = l.channels * images.dtype().size();
    let row = l.width * pixel;
    let Some(bytes) = images.data_bytes_mut() else {
        return if up_down {
            flip_up_down(&images)
        } else {
            flip_left_right(&images)
        };
    };
    for image in bytes.chunks_exact_mut(l.height * row) {
        if up_down {
            let (top, bottom) = image.split_at_mut(l.height / 2 * row);
            // The middle row of an odd height stays.
            let bottom = &mut bottom[(l.height % 2) * row..];
            for (a, b) in top
                .chunks_exact_mut(row)
                .zip(bottom.chunks_exact_mut(row).rev())
            {
                a.swap_with_slice(b);
            }
        } else {
            for line in image.chunks_exact_mut(row) {
                reverse_pixels(line, pixel);
            }
        }
    }
    Ok(images)
}

/// Reverses the order of the `pixel`-byte pixels of `line`, as whole fixed-size pixels
/// for the common sizes (uint8 and float32 gray, RGB, RGBA).
fn reverse_pixels(line: &mut [u8], pixel: usize) {
    fn by<const N: usize>(line: &mut [u8]) {
        bytemuck::cast_slice_mut::<u8, [u8; N]>(line).reverse();
    }
    match pixel {
        1 => line.reverse(),
        3 => by::<3>(line),
        4 => by::<4>(line),
        12 => by::<12>(line),
        16 => by::<16>(line),
        _ => {
            let width = line.len() / pixel;
            for x in 0..width / 2 {
                let (left, right) = line.split_at_mut((width - 1 - x) * pixel);
                left[x * pixel..(x + 1) * pixel].swap_with_slice(&mut right[..pixel]);
            }
        }
    }
}

/// Swaps the height and width dimensions (`tf.image.transpose`).
pub fn transpose(images: &Tensor) -> Result<Tensor> {
    let l = Layout::of("transpose", images)?;
    remap(images, &l, l.width, l.height, |y, x| Some((x, y)))
}

/// Rotates the images counter-clockwise by `k` quarter turns (`tf.image.rot90`); `k` is
/// taken modulo 4, so it may be negative.
///
/// As TensorFlow builds them: k = 1 is `transpose(flip_left_right(x))`, k = 2 reverses both
/// axes, k = 3 is `flip_left_right(transpose(x))`.
pub fn rot90(images: &Tensor, k: i64) -> Result<Tensor> {
    let l = Layout::of("rot90", images)?;
    let (h, w) = (l.height, l.width);
    match k.rem_euclid(4) {
        0 => Ok(images.clone()),
        1 => remap(images, &l, w, h, |y, x| Some((x, w - 1 - y))),
        2 => remap(images, &l, h, w, |y, x| Some((h - 1 - y, w - 1 - x))),
        _ => remap(images, &l, w, h, |y, x| Some((h - 1 - x, y))),
    }
}

/// Refuses an empty target size.
fn positive_target(op: &str, target_height: usize, target_width: usize) -> Result<()> {
    for (name, v) in [
        ("target_height", target_height),
        ("target_width", target_width),
    ] {
        if v == 0 {
            return Err(err(op, format!("{name} must be > 0, got 0")));
        }
    }
    Ok(())
}

/// The `target_height` x `target_width` box whose top-left corner is at
/// (`offset_height`, `offset_width`) in each image (`tf.image.crop_to_bounding_box`).
///
/// The box must be non-empty and lie inside the image.
pub fn crop_to_bounding_box(
    images: &Tensor,
    offset_height: usize,
    offset_width: usize,
    target_height: usize,
    target_width: usize,
) -> Result<Tensor> {
    const OP: &str = "crop_to_bounding_box";
    let l = Layout::of(OP, images)?;
    positive_target(OP, target_height, target_width)?;
    for (what, offset, target, size) in [
        ("height", offset_height, target_height, l.height),
        ("width", offset_width, target_width, l.width),
    ] {
        let end = offset as u128 + target as u128;
        if end > size as u128 {
            return Err(err(
                OP,
                format!("offset_{what} + target_{what} ({end}) exceeds the image {what} ({size})"),
            ));
        }
    }
    window(
        images,
        &l,
        target_height,
        target_width,
        offset_height as i64,
        offset_width as i64,
    )
}

/// Each image placed at (`offset_height`, `offset_width`) in a `target_height` x
/// `target_width` image of zeros (`tf.image.pad_to_bounding_box`).
///
/// The image must fit: `offset + size <= target` along both axes. Strings pad with empty
/// strings, bools with false.
pub fn pad_to_bounding_box(
    images: &Tensor,
    offset_height: usize,
    offset_width: usize,
    target_height: usize,
    target_width: usize,
) -> Result<Tensor> {
    const OP: &str = "pad_to_bounding_box";
    let l = Layout::of(OP, images)?;
    for (what, offset, size, target) in [
        ("height", offset_height, l.height, target_height),
        ("width", offset_width, l.width, target_width),
    ] {
        let end = offset as u128 + size as u128;
        if end > target as u128 {
            return Err(err(
                OP,
                format!(
                    "offset_{what} + the image {what} ({end}) exceeds target_{what} ({target})"
                ),
            ));
        }
    }
    window(
        images,
        &l,
        target_height,
        target_width,
        -(offset_height as i64),
        -(offset_width as i64),
    )
}

/// The central `central_fraction` of each image along height and width
/// (`tf.image.central_crop`).
///
/// As TensorFlow computes the box: `start = int((size - size * fraction) / 2)` in float64
/// (truncated), and the crop keeps `size - 2 * start`, so the kept part is centred and never
/// empty. `central_fraction` must lie in (0, 1]; at exactly 1 the images are returned as they
/// are, without looking at their shape (as TensorFlow does).
pub fn central_crop(images: &Tensor, central_fraction: f64) -> Result<Tensor> {
    const OP: &str = "central_crop";
    if !(central_fraction > 0.0 && central_fraction <= 1.0) {
        return Err(err(
            OP,
            format!("central_fraction must be within (0, 1], got {central_fraction}"),
        ));
    }
    if central_fraction == 1.0 {
        return Ok(images.clone());
    }
    let l = Layout::of(OP, images)?;
    let (sh, sw) = (
        central_crop_start(l.height, central_fraction),
        central_crop_start(l.width, central_fraction),
    );
    window(
        images,
        &l,
        l.height - 2 * sh,
        l.width - 2 * sw,
        sh as i64,
        sw as i64,
    )
}

/// Where `central_crop` starts along an axis of `size` pixels (it keeps `size - 2 * start`).
pub fn central_crop_start(size: usize, central_fraction: f64) -> usize {
    let s = size as f64;
    ((s - s * central_fraction) / 2.0) as usize
}

/// Each image centred in `target_height` x `target_width`: cropped centrally along an axis
/// that is too long, padded with zeros evenly along one that is too short
/// (`tf.image.resize_with_crop_or_pad`).
///
/// TensorFlow's centring rule: the crop offset is `(size - target) // 2` and the pad offset
/// `(target - size) // 2`, so an odd excess is cropped or padded more at the bottom/right.
pub fn resize_with_crop_or_pad(
    images: &Tensor,
    target_height: usize,
    target_width: usize,
) -> Result<Tensor> {
    const OP: &str = "resize_with_crop_or_pad";
    let l = Layout::of(OP, images)?;
    positive_target(OP, target_height, target_width)?;
    // Source offset: + the crop offset (too long) or - the pad offset (too short).
    let offset = |size: usize, target: usize| {
        if size >= target {
            ((size - target) / 2) as i64
        } else {
            -(((target - size) / 2) as i64)
        }
    };
    window(
        images,
        &l,
        target_height,
        target_width,
        offset(l.height, target_height),
        offset(l.width, target_width),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Bool;
    use proptest::prelude::*;

    fn t(shape: &[usize], v: Vec<i32>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }

    fn iota(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        t(shape, (1..=n as i32).collect())
    }

    fn vals(x: &Tensor) -> Vec<i32> {
        x.as_slice::<i32>().unwrap().to_vec()
    }

    /// TensorFlow's docstring image: 2x2x3 holding 1..12.
    fn doc_image() -> Tensor {
        iota(&[2, 2, 3])
    }

    #[test]
    fn flips_and_transpose_match_the_tf_docstrings() {
        let x = doc_image();
        let lr = flip_left_right(&x).unwrap();
        assert_eq!(lr.shape(), &[2, 2, 3]);
        assert_eq!(vals(&lr), vec![4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]);
        let ud = flip_up_down(&x).unwrap();
        assert_eq!(vals(&ud), vec![7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6]);
        let tr = transpose(&x).unwrap();
        assert_eq!(vals(&tr), vec![1, 2, 3, 7, 8, 9, 4, 5, 6, 10, 11, 12]);
        // The second docstring example: 3x2x2 -> 2x3x2.
        let y = iota(&[3, 2, 2]);
        let ty = transpose(&y).unwrap();
        assert_eq!(ty.shape(), &[2, 3, 2]);
        assert_eq!(vals(&ty), vec![1, 2, 5, 6, 9, 10, 3, 4, 7, 8, 11, 12]);
    }

    #[test]
    fn rot90_matches_the_tf_docstring() {
        // a = [[1, 2], [3, 4]] (one channel); counter-clockwise.
        let a = t(&[2, 2, 1], vec![1, 2, 3, 4]);
        assert_eq!(vals(&rot90(&a, 1).unwrap()), vec![2, 4, 1, 3]);
        assert_eq!(vals(&rot90(&a, 2).unwrap()), vec![4, 3, 2, 1]);
        assert_eq!(vals(&rot90(&a, 3).unwrap()), vec![3, 1, 4, 2]);
        assert_eq!(rot90(&a, -1).unwrap(), rot90(&a, 3).unwrap());
        assert_eq!(rot90(&a, 4).unwrap(), a);
        // A 2x3 image turns into 3x2: the right column becomes the top row.
        // [[1, 2, 3], [4, 5, 6]] -> [[3, 6], [2, 5], [1, 4]].
        let b = t(&[2, 3, 1], vec![1, 2, 3, 4, 5, 6]);
        let r = rot90(&b, 1).unwrap();
        assert_eq!(r.shape(), &[3, 2, 1]);
        assert_eq!(vals(&r), vec![3, 6, 2, 5, 1, 4]);
        // k = 3: [[4, 1], [5, 2], [6, 3]].
        assert_eq!(vals(&rot90(&b, 3).unwrap()), vec![4, 1, 5, 2, 6, 3]);
    }

    #[test]
    fn crop_and_pad_by_hand() {
        // 4x4 image holding 1..16; the 2x3 box at (1, 1) is rows 1-2, columns 1-3.
        let x = iota(&[4, 4, 1]);
        let c = crop_to_bounding_box(&x, 1, 1, 2, 3).unwrap();
        assert_eq!(c.shape(), &[2, 3, 1]);
        assert_eq!(vals(&c), vec![6, 7, 8, 10, 11, 12]);
        // The pad_to_bounding_box docstring: 2x2x3 at (1, 1) in 4x4.
        let p = pad_to_bounding_box(&doc_image(), 1, 1, 4, 4).unwrap();
        assert_eq!(p.shape(), &[4, 4, 3]);
        let mut want = vec![0; 48];
        for (i, v) in [(5usize, 1), (6, 4), (9, 7), (10, 10)] {
            // Pixel i of the 4x4 output holds the three channels starting at v.
            want[i * 3..i * 3 + 3].copy_from_slice(&[v, v + 1, v + 2]);
        }
        assert_eq!(vals(&p), want);
        // No-op pad and full crop.
        assert_eq!(pad_to_bounding_box(&x, 0, 0, 4, 4).unwrap(), x);
        assert_eq!(crop_to_bounding_box(&x, 0, 0, 4, 4).unwrap(), x);
    }

    #[test]
    fn crop_and_pad_errors_name_the_op_and_values() {
        let x = Tensor::zeros(DType::UInt8, &[250, 4, 3]);
        let e = crop_to_bounding_box(&x, 100, 0, 200, 4)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "crop_to_bounding_box: offset_height + target_height (300) exceeds the image height (250)"
        );
        let e = crop_to_bounding_box(&x, 0, 1, 10, 4)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("offset_width + target_width (5) exceeds the image width (4)"),
            "{e}"
        );
        let e = crop_to_bounding_box(&x, 0, 0, 0, 4)
            .unwrap_err()
            .to_string();
        assert!(e.contains("target_height must be > 0"), "{e}");
        let e = pad_to_bounding_box(&x, 1, 0, 250, 4)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "pad_to_bounding_box: offset_height + the image height (251) exceeds target_height (250)"
        );
        let e = flip_left_right(&Tensor::zeros(DType::UInt8, &[4, 3]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("flip_left_right: images must have 3 (HWC) or 4 (NHWC) dimensions"),
            "{e}"
        );
        let e = rot90(&Tensor::zeros(DType::UInt8, &[2, 0, 3]), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be > 0"), "{e}");
        // An empty batch is fine.
        let empty = Tensor::zeros(DType::Float32, &[0, 2, 3, 1]);
        assert_eq!(flip_up_down(&empty).unwrap().shape(), &[0, 2, 3, 1]);
        assert_eq!(
            pad_to_bounding_box(&empty, 1, 1, 4, 5).unwrap().shape(),
            &[0, 4, 5, 1]
        );
    }

    #[test]
    fn central_crop_follows_tf_rounding() {
        // The docstring: 4x4x3 holding 1..48, fraction 0.5: start = int((4 - 2) / 2) = 1,
        // size 4 - 2 = 2.
        let x = iota(&[4, 4, 3]);
        let c = central_crop(&x, 0.5).unwrap();
        assert_eq!(c.shape(), &[2, 2, 3]);
        assert_eq!(
            vals(&c),
            vec![16, 17, 18, 19, 20, 21, 28, 29, 30, 31, 32, 33]
        );
        let shape_after = |h: usize, w: usize, f: f64| {
            central_crop(&Tensor::zeros(DType::UInt8, &[h, w, 1]), f)
                .unwrap()
                .shape()
                .to_vec()
        };
        // h = 5, 0.5: int((5 - 2.5) / 2) = int(1.25) = 1 -> 5 - 2 = 3.
        // h = 3, 0.5: int((3 - 1.5) / 2) = int(0.75) = 0 -> 3 (nothing cropped).
        assert_eq!(shape_after(5, 3, 0.5), vec![3, 3, 1]);
        // h = 7, 0.33: int((7 - 2.31) / 2) = int(2.345) = 2 -> 3;
        // w = 10: int((10 - 3.3) / 2) = int(3.35) = 3 -> 4.
        assert_eq!(shape_after(7, 10, 0.33), vec![3, 4, 1]);
        // h = 1 never empties: int((1 - 0.01) / 2) = 0 -> 1.
        assert_eq!(shape_after(1, 100, 0.01), vec![1, 2, 1]);
        assert_eq!(central_crop(&x, 1.0).unwrap(), x);
        for bad in [0.0, -0.5, 1.5, f64::NAN] {
            let e = central_crop(&x, bad).unwrap_err().to_string();
            assert!(
                e.starts_with("central_crop: central_fraction must be within (0, 1]"),
                "{e}"
            );
        }
        // A batch crops every image alike.
        let b = iota(&[2, 4, 4, 1]);
        let cb = central_crop(&b, 0.5).unwrap();
        assert_eq!(cb.shape(), &[2, 2, 2, 1]);
        assert_eq!(vals(&cb), vec![6, 7, 10, 11, 22, 23, 26, 27]);
    }

    #[test]
    fn resize_with_crop_or_pad_centres() {
        // 5x4 -> 3x6: height crops (5 - 3) // 2 = 1 row off the top (rows 1..4 kept);
        // width pads (6 - 4) // 2 = 1 column on the left and 1 on the right.
        let x = iota(&[5, 4, 1]);
        let r = resize_with_crop_or_pad(&x, 3, 6).unwrap();
        assert_eq!(r.shape(), &[3, 6, 1]);
        #[rustfmt::skip]
        let want = vec![
            0, 5, 6, 7, 8, 0,
            0, 9, 10, 11, 12, 0,
            0, 13, 14, 15, 16, 0,
        ];
        assert_eq!(vals(&r), want);
        // 2x2 -> 5x1: pad height (5 - 2) // 2 = 1 on top (2 at the bottom); crop width
        // (2 - 1) // 2 = 0, keeping column 0.
        let y = iota(&[2, 2, 1]);
        let r = resize_with_crop_or_pad(&y, 5, 1).unwrap();
        assert_eq!(vals(&r), vec![0, 1, 3, 0, 0]);
        // 3 -> 2 crops (3 - 2) // 2 = 0 from the top: the odd row goes at the bottom.
        let z = iota(&[3, 1, 1]);
        assert_eq!(
            vals(&resize_with_crop_or_pad(&z, 2, 1).unwrap()),
            vec![1, 2]
        );
        assert_eq!(resize_with_crop_or_pad(&x, 5, 4).unwrap(), x);
        assert!(resize_with_crop_or_pad(&x, 0, 4)
            .unwrap_err()
            .to_string()
            .contains("target_height must be > 0"));
    }

    #[test]
    fn strings_bools_and_floats_move_too() {
        let s = Tensor::strings(
            &[1, 2, 1],
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")],
        )
        .unwrap();
        let f = flip_left_right(&s).unwrap();
        assert_eq!(
            f.string_values().unwrap(),
            &[Bytes::from("b"), Bytes::from("a")]
        );
        let p = pad_to_bounding_box(&s, 0, 1, 1, 3).unwrap();
        assert_eq!(
            p.string_values().unwrap(),
            &[Bytes::new(), Bytes::from("a"), Bytes::from("b")]
        );
        let b = Tensor::from_vec(&[1, 2, 1], vec![Bool(1), Bool(0)]).unwrap();
        let r = rot90(&b, 1).unwrap();
        assert_eq!(r.dtype(), DType::Bool);
        assert_eq!(r.as_slice::<Bool>().unwrap(), &[Bool(0), Bool(1)]);
        let h = Tensor::from_vec(&[1, 1, 2, 2], vec![half::f16::ONE; 4]).unwrap();
        let c = resize_with_crop_or_pad(&h, 2, 2).unwrap();
        assert_eq!(c.dtype(), DType::Float16);
        assert_eq!(
            c.as_slice::<half::f16>().unwrap(),
            &[
                half::f16::ONE,
                half::f16::ONE,
                half::f16::ONE,
                half::f16::ONE,
                half::f16::ZERO,
                half::f16::ZERO,
                half::f16::ZERO,
                half::f16::ZERO
            ]
        );
    }

    /// An image tensor (HWC or NHWC) of distinct i32 values.
    fn images() -> impl Strategy<Value = Tensor> {
        (prop::option::of(1usize..4), 1usize..7, 1usize..7, 1usize..4).prop_map(|(n, h, w, c)| {
            let mut shape = vec![h, w, c];
            if let Some(n) = n {
                shape.insert(0, n);
            }
            iota(&shape)
        })
    }

    fn hw(x: &Tensor) -> (usize, usize) {
        let s = x.shape();
        (s[s.len() - 3], s[s.len() - 2])
    }

    /// `op` on a batch equals `op` on each image, stacked.
    fn per_image(x: &Tensor, op: &dyn Fn(&Tensor) -> Result<Tensor>) -> bool {
        if x.rank() != 4 {
            return true;
        }
        let whole = op(x).unwrap();
        let parts: Vec<Tensor> = (0..x.shape()[0])
            .map(|i| op(&x.row(i).unwrap()).unwrap())
            .collect();
        whole == Tensor::stack(&parts).unwrap()
    }

    /// An image of `c` channels of `dtype` (pixels of 1 to 24 bytes: the fixed-size and
    /// the general in-place paths) with distinct values, HWC or NHWC.
    fn typed_images() -> impl Strategy<Value = Tensor> {
        let dtypes = prop::sample::select(vec![
            DType::UInt8,
            DType::Int16,
            DType::Float32,
            DType::Float64,
        ]);
        (images(), dtypes, 1usize..5).prop_map(|(x, dtype, c)| {
            let mut shape = x.shape().to_vec();
            *shape.last_mut().unwrap() = c;
            let n: usize = shape.iter().product();
            crate::ops::cast::cast(&iota(&[n]), dtype)
                .unwrap()
                .reshape(&shape)
                .unwrap()
        })
    }

    proptest! {
        #[test]
        fn flipping_in_place_equals_the_copy(x in typed_images(), up_down in any::<bool>()) {
            let copy = if up_down { flip_up_down(&x) } else { flip_left_right(&x) }.unwrap();
            // Shared (a clone held): a copy, the held tensor untouched.
            let held = x.clone();
            let values_before = Tensor::concat(&[&x]).unwrap();
            prop_assert_eq!(&flip_owned(x, up_down).unwrap(), &copy);
            prop_assert_eq!(&held, &values_before);
            // Exclusive: written over the same buffer.
            let exclusive = Tensor::concat(&[&held]).unwrap();
            let at = exclusive.data_bytes().unwrap().as_ptr();
            let flipped = flip_owned(exclusive, up_down).unwrap();
            prop_assert_eq!(&flipped, &copy);
            if held.num_elements() > 1 {
                prop_assert_eq!(flipped.data_bytes().unwrap().as_ptr(), at);
            }
        }

        #[test]
        fn flips_are_involutions(x in images()) {
            prop_assert_eq!(&flip_left_right(&flip_left_right(&x).unwrap()).unwrap(), &x);
            prop_assert_eq!(&flip_up_down(&flip_up_down(&x).unwrap()).unwrap(), &x);
            prop_assert_eq!(&transpose(&transpose(&x).unwrap()).unwrap(), &x);
        }

        #[test]
        fn rot90_composes(x in images(), k in -6i64..6) {
            let mut r = x.clone();
            for _ in 0..4 {
                r = rot90(&r, 1).unwrap();
            }
            prop_assert_eq!(&r, &x);
            // TensorFlow's identity: one quarter turn is a transpose, then an up-down flip.
            prop_assert_eq!(
                rot90(&x, 1).unwrap(),
                flip_up_down(&transpose(&x).unwrap()).unwrap()
            );
            prop_assert_eq!(
                rot90(&x, 2).unwrap(),
                flip_up_down(&flip_left_right(&x).unwrap()).unwrap()
            );
            prop_assert_eq!(
                rot90(&x, k).unwrap(),
                rot90(&rot90(&x, k - 1).unwrap(), 1).unwrap()
            );
        }

        #[test]
        fn crop_then_pad_restores_the_region(
            x in images(),
            a in 0.0f64..1.0, b in 0.0f64..1.0, c in 0.0f64..1.0, d in 0.0f64..1.0,
        ) {
            let (h, w) = hw(&x);
            let oh = (a * h as f64) as usize;
            let ow = (b * w as f64) as usize;
            let th = 1 + (c * (h - oh) as f64) as usize;
            let tw = 1 + (d * (w - ow) as f64) as usize;
            let cropped = crop_to_bounding_box(&x, oh, ow, th, tw).unwrap();
            let back = pad_to_bounding_box(&cropped, oh, ow, h, w).unwrap();
            prop_assert_eq!(back.shape(), x.shape());
            let c = x.shape()[x.rank() - 1];
            let (xv, bv) = (vals(&x), vals(&back));
            for (i, (&orig, &got)) in xv.iter().zip(&bv).enumerate() {
                let px = i / c;
                let (y, xx) = ((px / w) % h, px % w);
                let inside = (oh..oh + th).contains(&y) && (ow..ow + tw).contains(&xx);
                prop_assert_eq!(got, if inside { orig } else { 0 });
            }
        }

        #[test]
        fn crop_or_pad_reaches_the_target(x in images(), th in 1usize..9, tw in 1usize..9) {
            let r = resize_with_crop_or_pad(&x, th, tw).unwrap();
            prop_assert_eq!(hw(&r), (th, tw));
            let (h, w) = hw(&x);
            // Going back restores the original where nothing was lost.
            if th >= h && tw >= w {
                prop_assert_eq!(&resize_with_crop_or_pad(&r, h, w).unwrap(), &x);
            }
        }

        #[test]
        fn batches_equal_per_image_results(x in images(), k in 0i64..4, f in 0.05f64..1.0) {
            let (h, w) = hw(&x);
            prop_assert!(per_image(&x, &flip_left_right));
            prop_assert!(per_image(&x, &flip_up_down));
            prop_assert!(per_image(&x, &transpose));
            prop_assert!(per_image(&x, &|t| rot90(t, k)));
            prop_assert!(per_image(&x, &|t| central_crop(t, f)));
            prop_assert!(per_image(&x, &|t| crop_to_bounding_box(t, h / 2, 0, h - h / 2, w)));
            prop_assert!(per_image(&x, &|t| pad_to_bounding_box(t, 1, 2, h + 3, w + 2)));
            prop_assert!(per_image(&x, &|t| resize_with_crop_or_pad(t, h + 1, w / 2 + 1)));
        }
    }
}
