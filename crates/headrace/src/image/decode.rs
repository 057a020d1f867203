//! Decoding JPEG and PNG, as `tf.io.decode_jpeg`/`decode_png` do, and any format by its
//! signature, as `tf.io.decode_image` does (GIF in `gif.rs`, BMP in `bmp.rs`).
//!
//! JPEG goes through libjpeg-turbo's decoder (vendored by mozjpeg-sys, built from source)
//! with TensorFlow's settings: the fast integer IDCT and fancy upsampling. With them the
//! pixels equal TensorFlow's exactly; the pure-Rust decoders tried (zune-jpeg, jpeg-decoder)
//! use the accurate IDCT and differ by up to 17 levels. PNG goes through the `png` crate.
//!
//! Bad input is an `InvalidArgument` error naming the format problem, never a panic, and no
//! image larger than [`max_pixels`] is decoded: its header is refused before any
//! allocation.

use std::cell::Cell;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};

use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr, jpeg_std_error, J_COLOR_SPACE};

use crate::error::{Error, Result};
use crate::value::{DType, Tensor};

/// Images with more pixels than this are refused (a header claiming 60000x60000 would
/// otherwise take 10 GiB). About 268 million: a 16384x16384 image fits.
static MAX_PIXELS: AtomicU64 = AtomicU64::new(1 << 28);

/// The largest image (in pixels) the decoders accept.
pub fn max_pixels() -> u64 {
    MAX_PIXELS.load(Ordering::Relaxed)
}

/// Sets the largest image (in pixels) the decoders accept.
pub fn set_max_pixels(pixels: u64) {
    MAX_PIXELS.store(pixels, Ordering::Relaxed);
}

pub(crate) fn check_size(op: &str, height: usize, width: usize) -> Result<()> {
    let pixels = height as u64 * width as u64;
    if pixels > max_pixels() {
        return Err(Error::invalid_argument(format!(
            "{op}: the image is {width}x{height} ({pixels} pixels), more than the limit of {} \
             (hr.image.set_max_pixels)",
            max_pixels()
        )));
    }
    Ok(())
}

// --- JPEG ---------------------------------------------------------------------------------

thread_local! {
    /// Set when libjpeg warned that the data ended early (it then pads the image with
    /// gray): a truncated JPEG is an error, as in TensorFlow.
    static TRUNCATED: Cell<bool> = const { Cell::new(false) };
}

/// libjpeg's warnings: only "premature end of data" matters.
unsafe extern "C-unwind" fn note_warning(cinfo: &mut jpeg_common_struct, level: i32) {
    // SAFETY: libjpeg calls this with its live error manager.
    let code = unsafe { (*cinfo.err).msg_code };
    if level < 0 && code == mozjpeg_sys::JWRN_JPEG_EOF {
        TRUNCATED.with(|t| t.set(true));
    }
}

/// libjpeg's fatal errors unwind out of the decoder (libjpeg-turbo is built for unwinding)
/// with the message, caught in [`catch_jpeg`].
unsafe extern "C-unwind" fn fail(cinfo: &mut jpeg_common_struct) {
    let mut buffer = [0u8; 80];
    // SAFETY: `format_message` writes at most 80 bytes (JMSG_LENGTH_MAX) into the buffer
    // it is given; bindgen typed that pointer as a shared reference.
    let message = unsafe {
        match (*cinfo.err).format_message {
            Some(format) => {
                let format: unsafe extern "C-unwind" fn(&mut jpeg_common_struct, *mut u8) =
                    std::mem::transmute(format);
                format(cinfo, buffer.as_mut_ptr());
                let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
                String::from_utf8_lossy(&buffer[..end]).into_owned()
            }
            None => format!("libjpeg error {}", (*cinfo.err).msg_code),
        }
    };
    std::panic::resume_unwind(Box::new(message));
}

/// libjpeg's standard error manager with [`fail`] and [`note_warning`]: use it only inside
/// [`catch_jpeg`], which catches the unwinding and checks the truncation flag.
pub(crate) fn error_manager() -> jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills in every field of a zeroed manager.
    let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { jpeg_std_error(&mut err) };
    err.error_exit = Some(fail);
    err.emit_message = Some(note_warning);
    err
}

pub(crate) fn jpeg_error(op: &str, what: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("{op}: invalid JPEG data: {what}"))
}

/// Runs `body`, which drives libjpeg with an [`error_manager`], turning libjpeg's errors
/// (which unwind) and truncation into `InvalidArgument` errors.
pub(crate) fn catch_jpeg<T>(op: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
    TRUNCATED.with(|t| t.set(false));
    let value = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "the decoder failed".into());
        Err(jpeg_error(op, message))
    })?;
    if TRUNCATED.with(|t| t.get()) {
        return Err(jpeg_error(
            op,
            "the data ends before the image does (truncated)",
        ));
    }
    Ok(value)
}

/// Runs `body` on a libjpeg decoder for `contents`, as [`catch_jpeg`].
fn with_jpeg<T>(
    op: &str,
    contents: &[u8],
    body: impl FnOnce(mozjpeg::Decompress<&[u8]>) -> Result<T>,
) -> Result<T> {
    catch_jpeg(op, || {
        let decoder = mozjpeg::Decompress::builder()
            .with_err(error_manager())
            .from_mem(contents)
            .map_err(|e| jpeg_error(op, e))?;
        body(decoder)
    })
}

pub(crate) fn is_jpeg(contents: &[u8]) -> bool {
    contents.starts_with(&[0xff, 0xd8, 0xff])
}

/// `channels` of a JPEG decoder: 0 (the file's), 1 or 3.
pub(crate) fn check_jpeg_channels(channels: u8) -> Result<()> {
    if !matches!(channels, 0 | 1 | 3) {
        return Err(Error::argument(
            "channels",
            format!("must be 0, 1 or 3, got {channels}"),
        ));
    }
    Ok(())
}

/// The channels a JPEG decodes to: `channels` 0 keeps a grayscale file gray, anything else
/// becomes RGB.
pub(crate) fn jpeg_out_channels(channels: u8, file_color_space: J_COLOR_SPACE) -> usize {
    match channels {
        0 if file_color_space == J_COLOR_SPACE::JCS_GRAYSCALE => 1,
        0 => 3,
        c => c as usize,
    }
}

/// Decodes a JPEG to uint8 `[height, width, channels]`: `channels` 0 keeps the file's (1
/// for grayscale, else 3), 1 is grayscale, 3 is RGB. `ratio` (1, 2, 4, 8) downscales while
/// decoding, as libjpeg's DCT scaling does.
pub fn decode_jpeg(contents: &[u8], channels: u8, ratio: u8) -> Result<Tensor> {
    check_jpeg_channels(channels)?;
    if !matches!(ratio, 1 | 2 | 4 | 8) {
        return Err(Error::argument(
            "ratio",
            format!("must be 1, 2, 4 or 8, got {ratio}"),
        ));
    }
    decode_jpeg_scaled_by(contents, channels, |_, _| ratio)
}

/// [`decode_jpeg`] with the `ratio` (1, 2, 4 or 8) chosen by `ratio_for(height, width)`
/// from the header's size, so that a caller sizing the decode to the image reads the header
/// once (`approximate_image_ops`).
pub(crate) fn decode_jpeg_scaled_by(
    contents: &[u8],
    channels: u8,
    ratio_for: impl FnOnce(usize, usize) -> u8,
) -> Result<Tensor> {
    const OP: &str = "decode_jpeg";
    check_jpeg_channels(channels)?;
    if !is_jpeg(contents) {
        return Err(jpeg_error(OP, "not a JPEG (no SOI marker)"));
    }
    with_jpeg(OP, contents, |mut d| {
        let io = |e: std::io::Error| jpeg_error(OP, e);
        let (width, height) = d.size();
        check_size(OP, height, width)?;
        d.dct_method(mozjpeg::DctMethod::IntegerFast);
        d.do_fancy_upsampling(true);
        let ratio = ratio_for(height, width);
        debug_assert!(matches!(ratio, 1 | 2 | 4 | 8), "ratio {ratio}");
        if ratio > 1 {
            d.scale(8 / ratio);
        }
        let out = jpeg_out_channels(channels, d.color_space());
        let mut started = if out == 1 { d.grayscale() } else { d.rgb() }.map_err(io)?;
        let (w, h) = (started.width(), started.height());
        // Into a buffer that is not zeroed first (libjpeg writes every byte): zeroing cost 5%
        // of a batched pipeline, whose images land in memory not yet in the cache.
        let buf: Vec<u8> = started.read_scanlines().map_err(io)?;
        if buf.len() != w * h * out {
            return Err(jpeg_error(OP, "the decoder stopped before the last row"));
        }
        started.finish().map_err(io)?;
        Tensor::from_vec(&[h, w, out], buf)
    })
}

/// `[height, width, channels]` of a JPEG from its header alone, as int32 (TensorFlow's
/// `extract_jpeg_shape`).
pub fn extract_jpeg_shape(contents: &[u8]) -> Result<Tensor> {
    const OP: &str = "extract_jpeg_shape";
    if !is_jpeg(contents) {
        return Err(jpeg_error(OP, "not a JPEG (no SOI marker)"));
    }
    let (w, h, c) = with_jpeg(OP, contents, |d| {
        let (w, h) = d.size();
        Ok((w, h, d.components().len()))
    })?;
    Tensor::from_vec(&[3], vec![h as i32, w as i32, c as i32])
}

// --- PNG ----------------------------------------------------------------------------------

fn png_error(what: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("decode_png: invalid PNG data: {what}"))
}

pub(crate) fn is_png(contents: &[u8]) -> bool {
    contents.starts_with(b"\x89PNG\r\n\x1a\n")
}

/// Converts interleaved samples of `from` channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA)
/// to `to` channels; `opaque` is the alpha of an added alpha channel.
fn convert_channels<T: Copy + Into<u32> + TryFrom<u32>>(
    samples: &[T],
    from: usize,
    to: usize,
    opaque: T,
) -> Vec<T> {
    if from == to {
        return samples.to_vec();
    }
    let to_sample = |v: u32| T::try_from(v).ok().expect("a weighted mean fits the type");
    let mut out = Vec::with_capacity(samples.len() / from * to);
    for px in samples.chunks_exact(from) {
        let (gray, rgb, alpha) = match from {
            1 => (px[0], [px[0]; 3], opaque),
            2 => (px[0], [px[0]; 3], px[1]),
            _ => {
                let [r, g, b] = [px[0].into(), px[1].into(), px[2].into()];
                // libpng's default RGB→gray weights (Rec. 709 in 15-bit fixed point), which
                // TensorFlow's decode_png(channels=1) uses.
                let y = (6968 * r + 23434 * g + 2366 * b + 16384) >> 15;
                let alpha = if from == 4 { px[3] } else { opaque };
                (to_sample(y), [px[0], px[1], px[2]], alpha)
            }
        };
        match to {
            1 => out.push(gray),
            2 => out.extend([gray, alpha]),
            3 => out.extend(rgb),
            _ => out.extend([rgb[0], rgb[1], rgb[2], alpha]),
        }
    }
    out
}

/// Decodes a PNG to `[height, width, channels]` of `dtype` (uint8 or uint16): `channels` 0
/// keeps the file's, 1 gray, 3 RGB, 4 RGBA. Palette and low-bit images are expanded; a
/// 16-bit image decoded to uint8 keeps the high byte of each sample.
pub fn decode_png(contents: &[u8], channels: u8, dtype: DType) -> Result<Tensor> {
    if !matches!(channels, 0 | 1 | 3 | 4) {
        return Err(Error::argument(
            "channels",
            format!("must be 0, 1, 3 or 4, got {channels}"),
        ));
    }
    if !matches!(dtype, DType::UInt8 | DType::UInt16) {
        return Err(Error::argument(
            "dtype",
            format!("must be uint8 or uint16, got {dtype}"),
        ));
    }
    if !is_png(contents) {
        return Err(png_error("not a PNG (no signature)"));
    }
    let mut decoder = png::Decoder::new(Cursor::new(contents));
    let mut transformations = png::Transformations::EXPAND;
    if dtype == DType::UInt8 {
        transformations |= png::Transformations::STRIP_16;
    }
    decoder.set_transformations(transformations);
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (width, height) = reader.info().size();
    check_size("decode_png", height as usize, width as usize)?;
    let mut buf = vec![
        0u8;
        reader
            .output_buffer_size()
            .ok_or_else(|| png_error("too large"))?
    ];
    let frame = reader.next_frame(&mut buf).map_err(png_error)?;
    buf.truncate(frame.buffer_size());
    let (color, depth) = reader.output_color_type();
    let from = color.samples();
    let to = if channels == 0 {
        from
    } else {
        channels as usize
    };
    let shape = [height as usize, width as usize, to];
    match (dtype, depth) {
        (DType::UInt8, png::BitDepth::Eight) => {
            Tensor::from_vec(&shape, convert_channels(&buf, from, to, u8::MAX))
        }
        (DType::UInt16, png::BitDepth::Sixteen) => {
            let samples: Vec<u16> = buf
                .chunks_exact(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect();
            Tensor::from_vec(&shape, convert_channels(&samples, from, to, u16::MAX))
        }
        (DType::UInt16, png::BitDepth::Eight) => {
            // An 8-bit image as uint16 scales to the full range, as libpng's 8→16 does.
            let samples: Vec<u16> = buf.iter().map(|&v| u16::from(v) * 257).collect();
            Tensor::from_vec(&shape, convert_channels(&samples, from, to, u16::MAX))
        }
        (_, depth) => Err(png_error(format!("unexpected output bit depth {depth:?}"))),
    }
}

// --- any format -----------------------------------------------------------------------------

/// Decodes a JPEG, PNG, GIF or BMP by its signature to uint8, as `tf.io.decode_image(...,
/// expand_animations=False)`: always `[height, width, channels]`, a GIF's first frame.
/// `channels` `None` keeps the file's.
pub fn decode_image(contents: &[u8], channels: Option<u8>) -> Result<Tensor> {
    decode_image_with(contents, channels, false)
}

/// `tf.io.decode_image` with its `expand_animations`: when true a GIF gives all its frames,
/// `[frames, height, width, 3]` (even just one); the other formats are `[height, width,
/// channels]` either way. A GIF takes `channels` 0 or 3 and a BMP 0, 3 or 4, as in
/// TensorFlow (other values are errors for that file, not for the op).
pub fn decode_image_with(
    contents: &[u8],
    channels: Option<u8>,
    expand_animations: bool,
) -> Result<Tensor> {
    const OP: &str = "decode_image";
    if is_jpeg(contents) {
        return decode_jpeg(contents, channels.unwrap_or(0), 1);
    }
    if is_png(contents) {
        return decode_png(contents, channels.unwrap_or(0), DType::UInt8);
    }
    if super::gif::is_gif(contents) {
        if let Some(c @ (1 | 2 | 4..)) = channels {
            return Err(Error::invalid_argument(format!(
                "{OP}: channels must be 0 or 3 for GIF, got {c}"
            )));
        }
        return super::gif::decode_frames(OP, contents, expand_animations);
    }
    if super::bmp::is_bmp(contents) {
        let channels = channels.unwrap_or(0);
        if !matches!(channels, 0 | 3 | 4) {
            return Err(Error::invalid_argument(format!(
                "{OP}: channels must be 0, 3 or 4 for BMP, got {channels}"
            )));
        }
        return super::bmp::decode_within(OP, contents, channels, max_pixels());
    }
    Err(Error::invalid_argument(format!(
        "{OP}: unknown image file format: one of JPEG, PNG, GIF or BMP is required"
    )))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testdata;
    use proptest::prelude::*;

    /// The uint8 pixels of a reference `.npy` (v1 header, `|u1`).
    pub(crate) fn npy_u8(path: &std::path::Path) -> (Vec<usize>, Vec<u8>) {
        let data = std::fs::read(path).unwrap();
        assert_eq!(&data[..6], b"\x93NUMPY");
        let header_len = u16::from_le_bytes([data[8], data[9]]) as usize;
        let header = std::str::from_utf8(&data[10..10 + header_len]).unwrap();
        assert!(header.contains("'|u1'"), "{header}");
        let shape_text = header
            .split("'shape': (")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap();
        let shape = shape_text
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse().unwrap())
            .collect();
        (shape, data[10 + header_len..].to_vec())
    }

    #[test]
    fn every_reference_image_decodes_as_tensorflow_decodes_it() {
        let dir = testdata::dir("images");
        let expected = testdata::json("images", "expected.json");
        for (name, _) in expected["images"].as_object().unwrap() {
            let contents = std::fs::read(dir.join(name)).unwrap();
            let (shape, want) = npy_u8(&dir.join(format!("{name}.decoded_rgb.npy")));
            // The references are tf.io.decode_image(channels=3).
            let got = decode_image(&contents, Some(3)).unwrap();
            assert_eq!(got.shape(), &shape[..], "{name}");
            let got = got.as_slice::<u8>().unwrap();
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (*a as i32 - *b as i32).abs())
                .max()
                .unwrap();
            // PNG exactly; JPEG within 1 (the bound). With TensorFlow's IDCT the
            // JPEGs are exact too.
            assert_eq!(worst, 0, "{name}: max difference {worst}");
        }
    }

    #[test]
    fn channels_ratio_and_shape() {
        let dir = testdata::dir("images");
        let jpeg = std::fs::read(dir.join("baseline420.jpg")).unwrap();
        assert_eq!(decode_jpeg(&jpeg, 0, 1).unwrap().shape(), &[250, 333, 3]);
        assert_eq!(decode_jpeg(&jpeg, 1, 1).unwrap().shape(), &[250, 333, 1]);
        // DCT scaling rounds the size up.
        assert_eq!(decode_jpeg(&jpeg, 3, 2).unwrap().shape(), &[125, 167, 3]);
        assert_eq!(decode_jpeg(&jpeg, 3, 8).unwrap().shape(), &[32, 42, 3]);
        let shape = extract_jpeg_shape(&jpeg).unwrap();
        assert_eq!(shape.as_slice::<i32>().unwrap(), &[250, 333, 3]);
        let gray = std::fs::read(dir.join("gray.jpg")).unwrap();
        assert_eq!(decode_jpeg(&gray, 0, 1).unwrap().shape(), &[250, 333, 1]);

        let rgba = std::fs::read(dir.join("rgba.png")).unwrap();
        let four = decode_png(&rgba, 0, DType::UInt8).unwrap();
        assert_eq!(four.shape(), &[250, 333, 4]);
        let three = decode_png(&rgba, 3, DType::UInt8).unwrap();
        let (four, three) = (
            four.as_slice::<u8>().unwrap(),
            three.as_slice::<u8>().unwrap(),
        );
        for (px4, px3) in four.chunks_exact(4).zip(three.chunks_exact(3)) {
            assert_eq!(&px4[..3], px3, "channels=3 drops the alpha");
        }
        let wide = decode_png(&rgba, 0, DType::UInt16).unwrap();
        let wide = wide.as_slice::<u16>().unwrap();
        assert!(wide
            .iter()
            .zip(four)
            .all(|(w, n)| *w == u16::from(*n) * 257));
    }

    #[test]
    fn bad_input_is_an_error_naming_the_problem() {
        let dir = testdata::dir("images");
        let jpeg = std::fs::read(dir.join("baseline420.jpg")).unwrap();
        let err = decode_jpeg(&jpeg[..jpeg.len() / 2], 3, 1).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("truncated"), "{err}");
        let err = decode_jpeg(b"hello", 3, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "decode_jpeg: invalid JPEG data: not a JPEG (no SOI marker)"
        );
        let err = decode_image(b"hello", None).unwrap_err();
        assert!(
            err.to_string().contains("unknown image file format"),
            "{err}"
        );
        let png = std::fs::read(dir.join("rgb.png")).unwrap();
        let err = decode_png(&png[..png.len() / 2], 3, DType::UInt8).unwrap_err();
        assert!(
            err.to_string().starts_with("decode_png: invalid PNG data"),
            "{err}"
        );
        assert!(decode_jpeg(&jpeg, 2, 1).is_err());
        assert!(decode_jpeg(&jpeg, 3, 3).is_err());
    }

    #[test]
    fn a_header_beyond_the_pixel_limit_is_refused_before_decoding() {
        // A JPEG whose SOF0 claims 60000x60000: patch a real file's frame header.
        let dir = testdata::dir("images");
        let mut jpeg = std::fs::read(dir.join("baseline444.jpg")).unwrap();
        let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0xea, 0x60, 0xea, 0x60]);
        let err = decode_jpeg(&jpeg, 3, 1).unwrap_err();
        assert!(err.to_string().contains("60000x60000"), "{err}");
        assert!(err.to_string().contains("more than the limit"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Damaged images give errors or images, never a panic.
        #[test]
        fn damaged_images_never_panic(at in any::<prop::sample::Index>(), byte: u8, png: bool) {
            let dir = testdata::dir("images");
            let name = if png { "gray.png" } else { "progressive.jpg" };
            let mut data = std::fs::read(dir.join(name)).unwrap();
            let i = at.index(data.len());
            data[i] = byte;
            let _ = decode_image(&data, Some(3));
            let _ = decode_image(&data[..i], None);
        }
    }
}
