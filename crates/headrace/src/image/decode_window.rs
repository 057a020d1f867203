//! Decoding only a window of a JPEG, as `tf.io.decode_and_crop_jpeg` does.
//!
//! libjpeg-turbo's partial decoding: `jpeg_crop_scanline` narrows each row to the iMCU
//! columns the window touches (its left edge moves left to an iMCU boundary),
//! `jpeg_skip_scanlines` passes over the rows above the window without the IDCT, only the
//! window's rows are read, and the decoder is dropped without touching the rows below. The
//! settings are [`decode_jpeg`](super::decode::decode_jpeg)'s (fast integer IDCT, fancy
//! upsampling).
//!
//! Two flavours, differing only at the window's left and right columns of subsampled-colour
//! RGB output: [`decode_jpeg_window`] gives the pixels of decoding everything then cropping;
//! [`decode_and_crop_jpeg`] gives TensorFlow's `DecodeAndCropJpeg` pixels, which do not
//! (see [`Edges`]).

use std::marker::PhantomData;

use mozjpeg_sys::{
    jpeg_crop_scanline, jpeg_decompress_struct, jpeg_destroy_decompress, jpeg_error_mgr,
    jpeg_mem_src, jpeg_read_header, jpeg_read_scanlines, jpeg_skip_scanlines,
    jpeg_start_decompress, J_COLOR_SPACE, J_DCT_METHOD,
};

use super::decode::{
    catch_jpeg, check_jpeg_channels, check_size, error_manager, is_jpeg, jpeg_error,
    jpeg_out_channels,
};
use crate::error::{Error, Result};
use crate::value::Tensor;

const OP: &str = "decode_and_crop_jpeg";

/// A libjpeg decompressor reading `contents`, destroyed when dropped, including while a
/// libjpeg error unwinds through its owner. Boxed: libjpeg keeps pointers to `err` and to
/// the struct itself.
struct Decompressor<'a> {
    cinfo: jpeg_decompress_struct,
    err: jpeg_error_mgr,
    contents: PhantomData<&'a [u8]>,
}

impl<'a> Decompressor<'a> {
    /// Creates the decompressor and reads the header. libjpeg errors unwind: call inside
    /// `catch_jpeg`.
    fn new(contents: &'a [u8]) -> Box<Self> {
        let mut d = Box::new(Decompressor {
            // SAFETY: an all-zero struct is what jpeg_create_decompress expects (and what
            // jpeg_destroy_decompress skips, should creating fail).
            cinfo: unsafe { std::mem::zeroed() },
            err: error_manager(),
            contents: PhantomData,
        });
        d.cinfo.common.err = &mut d.err;
        // SAFETY: `cinfo` points to the boxed `err`, which lives as long as it; the memory
        // source borrows `contents`, which outlives `'a` and so the decompressor.
        unsafe {
            mozjpeg_sys::jpeg_create_decompress(&mut d.cinfo);
            jpeg_mem_src(&mut d.cinfo, contents.as_ptr(), contents.len() as _);
            jpeg_read_header(&mut d.cinfo, 1);
        }
        d
    }
}

impl Drop for Decompressor<'_> {
    fn drop(&mut self) {
        // SAFETY: destroying is allowed in any state (it frees libjpeg's pools, nothing when
        // creation never got that far) and nothing uses the struct afterwards. The rows below
        // the window are never decoded: destroying aborts the decompression.
        unsafe { jpeg_destroy_decompress(&mut self.cinfo) };
    }
}

/// Decodes the window `[top, left, height, width]` of a JPEG to uint8
/// `[height, width, channels]` (`channels` as in `decode_jpeg`: 0 keeps the file's, 1 gray,
/// 3 RGB), decoding only the rows and iMCU columns the window needs, with the pixels of
/// `decode_jpeg` then `crop_to_bounding_box`. The window must lie inside the image and not
/// be empty.
pub fn decode_jpeg_window(contents: &[u8], channels: u8, window: [usize; 4]) -> Result<Tensor> {
    decode_window(contents, channels, Edges::AsFullDecode, |_| Ok(window))
}

/// [`decode_jpeg_window`] with the window chosen by `choose` from the shape the full
/// decode would have (`[height, width, channels]`, from the header), so that a fused
/// decode-and-crop reads the header once. An error from `choose` is returned as it is.
pub(crate) fn decode_jpeg_window_chosen(
    contents: &[u8],
    channels: u8,
    choose: impl FnOnce([usize; 3]) -> Result<[usize; 4]>,
) -> Result<Tensor> {
    decode_window(contents, channels, Edges::AsFullDecode, choose)
}

/// `tf.io.decode_and_crop_jpeg`: [`decode_jpeg_window`] with TensorFlow's pixels, which
/// differ from decoding everything then cropping at the window's left and right edges when
/// the colour is subsampled across (4:2:0, 4:2:2) and the output is RGB.
pub fn decode_and_crop_jpeg(contents: &[u8], channels: u8, window: [usize; 4]) -> Result<Tensor> {
    decode_window(contents, channels, Edges::TensorFlow, |_| Ok(window))
}

/// Which pixels the window's left and right columns get.
#[derive(Clone, Copy, PartialEq)]
enum Edges {
    /// Crop the rows exactly at the window, as TensorFlow does. libjpeg's fancy upsampling
    /// then treats the cropped rows' ends as the image's: a window starting on an iMCU
    /// boundary misses the chroma sample to its left, one ending at an even column misses
    /// the one to its right, and rows cropped to 1 or 2 pixels (1 chroma sample) are not
    /// interpolated at all.
    TensorFlow,
    /// Crop the rows one pixel wider on the left and two on the right (where the image
    /// goes on), so that every chroma sample the window's pixels interpolate from is
    /// decoded: the pixels of the full decode, for at most one more iMCU column each side.
    AsFullDecode,
}

fn decode_window(
    contents: &[u8],
    channels: u8,
    edges: Edges,
    choose: impl FnOnce([usize; 3]) -> Result<[usize; 4]>,
) -> Result<Tensor> {
    check_jpeg_channels(channels)?;
    if !is_jpeg(contents) {
        return Err(jpeg_error(OP, "not a JPEG (no SOI marker)"));
    }
    catch_jpeg(OP, || {
        let mut d = Decompressor::new(contents);
        let cinfo = &mut d.cinfo;
        let (image_height, image_width) = (cinfo.image_height as usize, cinfo.image_width as usize);
        // The window is inside the image, so checking the image checks the window too.
        check_size(OP, image_height, image_width)?;
        let out = jpeg_out_channels(channels, cinfo.jpeg_color_space);
        let [top, left, height, width] = choose([image_height, image_width, out])?;
        let inside = |start: usize, len: usize, size: usize| {
            len > 0 && start.checked_add(len).is_some_and(|end| end <= size)
        };
        if !inside(top, height, image_height) || !inside(left, width, image_width) {
            return Err(Error::invalid_argument(format!(
                "{OP}: crop window is not valid: [top {top}, left {left}, height {height}, \
                 width {width}] is not a non-empty window inside the image of height \
                 {image_height} and width {image_width}"
            )));
        }
        // As decode_jpeg: CMYK/YCCK files to RGB make libjpeg refuse the conversion there
        // and here alike.
        cinfo.out_color_space = if out == 1 {
            J_COLOR_SPACE::JCS_GRAYSCALE
        } else {
            J_COLOR_SPACE::JCS_RGB
        };
        cinfo.dct_method = J_DCT_METHOD::JDCT_IFAST;
        cinfo.do_fancy_upsampling = 1;
        // SAFETY (this and the calls below): `cinfo` is a live decompressor with its header
        // read; libjpeg errors unwind to `catch_jpeg`, dropping `d` on the way.
        unsafe { jpeg_start_decompress(cinfo) };
        if cinfo.output_components as usize != out {
            return Err(jpeg_error(OP, "unexpected output channel count"));
        }

        // The columns to decode; libjpeg moves their start left to an iMCU boundary. The
        // decoded rows then start `shift` columns left of the window.
        let (start, end) = match edges {
            Edges::TensorFlow => (left, left + width),
            Edges::AsFullDecode => (left.saturating_sub(1), (left + width + 2).min(image_width)),
        };
        let (mut x, mut w) = (start as u32, (end - start) as u32);
        unsafe { jpeg_crop_scanline(cinfo, &mut x, &mut w) };
        let shift = left - x as usize;
        let decoded_width = cinfo.output_width as usize;
        debug_assert!(decoded_width >= shift + width);

        // Vertically nothing is lost: skipping decodes the context rows the window's first
        // row interpolates from, and reading its last row decodes the rows below it needs.
        if unsafe { jpeg_skip_scanlines(cinfo, top as u32) } as usize != top {
            return Err(jpeg_error(OP, "could not skip to the window's first row"));
        }

        // Read the rows at their decoded width into the output buffer, then close up each
        // row to the window's columns in place (rows only move towards the front).
        // The buffer is not zeroed first: libjpeg writes every byte of every row, and the
        // length is set only once all rows are in (zeroing cost 5% of a batched pipeline).
        let decoded_row = decoded_width * out;
        let mut buf: Vec<u8> = Vec::with_capacity(height * decoded_row);
        let base = buf.as_mut_ptr();
        // SAFETY: row `r` starts `r * decoded_row` bytes into the capacity, in bounds.
        let mut rows: Vec<*mut u8> = (0..height)
            .map(|r| unsafe { base.add(r * decoded_row) })
            .collect();
        let mut done = 0;
        while done < height {
            // SAFETY: each pointer is a distinct `decoded_row`-byte row of `buf`.
            let read = unsafe {
                jpeg_read_scanlines(cinfo, rows[done..].as_mut_ptr(), (height - done) as u32)
            } as usize;
            if read == 0 {
                // A memory source never suspends; libjpeg pads missing data (and warns),
                // so this is not expected.
                return Err(jpeg_error(OP, "the decoder stopped early"));
            }
            done += read;
        }
        drop(rows);
        // SAFETY: libjpeg wrote all `height` rows of `decoded_row` bytes.
        unsafe { buf.set_len(height * decoded_row) };
        let row = width * out;
        if decoded_row != row {
            for r in 0..height {
                let from = r * decoded_row + shift * out;
                buf.copy_within(from..from + row, r * row);
            }
        }
        buf.truncate(height * row);
        Tensor::from_vec(&[height, width, out], buf)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;
    use crate::image::decode::tests::npy_u8;
    use crate::image::decode::{decode_jpeg, max_pixels};
    use crate::image::encode::encode_jpeg;
    use crate::image::geometry::crop_to_bounding_box;
    use crate::testdata;

    /// A JPEG to test on: its name, bytes, and whether its chroma is halved across (4:2:0,
    /// 16-pixel iMCU columns).
    struct Source {
        name: String,
        jpeg: Vec<u8>,
        subsampled: bool,
    }

    /// A smooth image with noise on top (the noise makes neighbouring chroma samples
    /// differ, so edge effects show), 375x500, as a quality-90 JPEG.
    fn synthetic(chroma_downsampling: bool) -> Vec<u8> {
        let (height, width) = (375, 500);
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut pixels = Vec::with_capacity(height * width * 3);
        for y in 0..height {
            for x in 0..width {
                for c in 0..3 {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let (fy, fx, fc) = (y as f64, x as f64, c as f64);
                    let smooth = 128.0
                        + 60.0 * ((fx / 37.0 + fc).sin() * (fy / 23.0).cos())
                        + 40.0 * ((fx + fy) / 91.0 - fc).sin();
                    let noise = (state % 41) as f64 - 20.0;
                    pixels.push((smooth + noise).clamp(0.0, 255.0) as u8);
                }
            }
        }
        let image = Tensor::from_vec(&[height, width, 3], pixels).unwrap();
        let encoded = encode_jpeg(&image, 90, chroma_downsampling).unwrap();
        encoded.string_values().unwrap()[0].to_vec()
    }

    fn sources() -> &'static [Source] {
        static SOURCES: OnceLock<Vec<Source>> = OnceLock::new();
        SOURCES.get_or_init(|| {
            let dir = testdata::dir("images");
            let mut sources: Vec<Source> = [
                ("baseline420", true),
                ("baseline444", false),
                ("progressive", true),
                ("gray", false),
            ]
            .into_iter()
            .map(|(name, subsampled)| Source {
                name: name.into(),
                jpeg: std::fs::read(dir.join(format!("{name}.jpg"))).unwrap(),
                subsampled,
            })
            .collect();
            for subsampled in [true, false] {
                sources.push(Source {
                    name: format!("synthetic{}", if subsampled { 420 } else { 444 }),
                    jpeg: synthetic(subsampled),
                    subsampled,
                });
            }
            sources
        })
    }

    /// decode_jpeg of source `i` with `channels` (0, 1, 3), decoded once.
    fn full(i: usize, channels: u8) -> &'static Tensor {
        static FULL: OnceLock<Vec<[Tensor; 3]>> = OnceLock::new();
        let full = FULL.get_or_init(|| {
            sources()
                .iter()
                .map(|s| [0, 1, 3].map(|c| decode_jpeg(&s.jpeg, c, 1).unwrap()))
                .collect()
        });
        &full[i][[0, 1, 3].iter().position(|&c| c == channels).unwrap()]
    }

    /// How a window decode compares with decoding everything and cropping.
    #[derive(Debug, Default)]
    struct Comparison {
        /// Differing samples in columns where the difference is expected (see below).
        edge: usize,
        /// Differing samples anywhere else.
        other: usize,
        worst: i32,
    }

    /// Compares a window decode of source `i` with decode + crop. With TensorFlow's edges,
    /// where the chroma is halved across and the output is RGB, libjpeg's fancy upsampling
    /// treats the ends of the cropped rows as the image's ends: the window's first column
    /// when the window starts on an iMCU boundary inside the image (it misses the chroma
    /// sample to its left), and its last column when the window ends at an even column
    /// inside the image (it misses the one to its right). Those are the `edge` columns; so
    /// is every column of a window whose cropped rows are at most 2 pixels wide.
    fn compare(i: usize, channels: u8, window: [usize; 4], edges: Edges) -> Comparison {
        let source = &sources()[i];
        let [top, left, height, width] = window;
        let got = decode_window(&source.jpeg, channels, edges, |_| Ok(window)).unwrap();
        let want = crop_to_bounding_box(full(i, channels), top, left, height, width).unwrap();
        assert_eq!(got.shape(), want.shape(), "{} {window:?}", source.name);
        let image_width = full(i, channels).shape()[1];
        let c = got.shape()[2];
        let right = left + width;
        // Cropped rows of at most 2 pixels have 1 chroma sample: libjpeg then upsamples
        // without interpolating at all, across or down.
        let narrow = left % 16 + width <= 2;
        let edge_column = |x: usize| {
            edges == Edges::TensorFlow
                && source.subsampled
                && c == 3
                && (narrow
                    || (x == left && left > 0 && left % 16 == 0)
                    || (x == right - 1 && right % 2 == 0 && right < image_width))
        };
        let mut comparison = Comparison::default();
        let (got, want) = (
            got.as_slice::<u8>().unwrap(),
            want.as_slice::<u8>().unwrap(),
        );
        for (at, (a, b)) in got.iter().zip(want).enumerate() {
            let difference = (*a as i32 - *b as i32).abs();
            if difference > 0 {
                if edge_column(left + at / c % width) {
                    comparison.edge += 1;
                } else {
                    comparison.other += 1;
                }
                comparison.worst = comparison.worst.max(difference);
            }
        }
        comparison
    }

    /// Windows on and off the iMCU grid, touching each edge, 1x1 and the whole image.
    fn sweep(height: usize, width: usize) -> Vec<[usize; 4]> {
        let starts = |size: usize| [0, 1, 8, 16, 17, size / 2, size - 1];
        let mut windows = vec![];
        for top in starts(height) {
            for left in starts(width) {
                for (h, w) in [
                    (1, 1),
                    (height - top, width - left),
                    (5, 40),
                    (40, 5),
                    (17, 33),
                    (32, 64),
                    (height - top, 3),
                    (2, width - left),
                ] {
                    if (1..=height - top).contains(&h) && (1..=width - left).contains(&w) {
                        windows.push([top, left, h, w]);
                    }
                }
            }
        }
        windows
    }

    /// Every sweep window of every source, both flavours: `decode_jpeg_window` equals
    /// decode + crop exactly; `decode_and_crop_jpeg` differs only in the predicted columns.
    /// One thread per flavour, source and channels (a few seconds instead of half a minute).
    #[test]
    fn windows_equal_decode_then_crop_but_tensorflows_edges() {
        let mut cases = vec![];
        for edges in [Edges::AsFullDecode, Edges::TensorFlow] {
            for i in 0..sources().len() {
                for channels in [0, 1, 3] {
                    cases.push((edges, i, channels));
                }
            }
        }
        let sweep_one = |(edges, i, channels): (Edges, usize, u8)| {
            let source = &sources()[i];
            let shape = full(i, channels).shape();
            let windows = sweep(shape[0], shape[1]);
            let (mut exact, mut worst, mut differing, mut samples) = (0, 0, 0, 0);
            for &window in &windows {
                let comparison = compare(i, channels, window, edges);
                assert_eq!(
                    comparison.other, 0,
                    "{} channels={channels} {window:?}: {comparison:?}",
                    source.name
                );
                differing += comparison.edge;
                samples += window[2] * window[3] * shape[2];
                exact += usize::from(comparison.edge == 0);
                worst = worst.max(comparison.worst);
            }
            let subsampled_rgb = source.subsampled && channels != 1;
            if edges == Edges::TensorFlow && subsampled_rgb {
                // The edge effect is real (TensorFlow has it too): some windows differ.
                assert!(exact < windows.len(), "{}", source.name);
            } else {
                assert_eq!(exact, windows.len(), "{}", source.name);
            }
            let flavour = match edges {
                Edges::AsFullDecode => "decode_jpeg_window",
                Edges::TensorFlow => "decode_and_crop_jpeg",
            };
            format!(
                "{flavour} {} channels={channels}: {exact}/{} windows exact, \
                 {differing}/{samples} samples differ, worst difference {worst}",
                source.name,
                windows.len()
            )
        };
        let reports: Vec<String> = std::thread::scope(|scope| {
            let threads: Vec<_> = cases
                .into_iter()
                .map(|case| scope.spawn(move || sweep_one(case)))
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for report in reports {
            eprintln!("{report}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Any window: `decode_jpeg_window` exact, `decode_and_crop_jpeg` exact but for the
        /// predicted edge columns.
        #[test]
        fn any_window_equals_decode_then_crop_but_tensorflows_edges(
            i in 0..6usize,
            channels in prop::sample::select(vec![0u8, 1, 3]),
            at in any::<[prop::sample::Index; 4]>(),
        ) {
            let shape = full(i, channels).shape();
            let (top, left) = (at[0].index(shape[0]), at[1].index(shape[1]));
            let window = [
                top,
                left,
                1 + at[2].index(shape[0] - top),
                1 + at[3].index(shape[1] - left),
            ];
            let name = &sources()[i].name;
            let exact = compare(i, channels, window, Edges::AsFullDecode);
            prop_assert_eq!(exact.edge + exact.other, 0, "{} {:?}: {:?}", name, window, exact);
            let tensorflow = compare(i, channels, window, Edges::TensorFlow);
            prop_assert_eq!(tensorflow.other, 0, "{} {:?}: {:?}", name, window, tensorflow);
        }
    }

    /// The directory of TensorFlow's decode_and_crop_jpeg outputs
    /// (`tests/data/images/make_decode_and_crop.py`).
    fn tensorflow_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/images")
    }

    #[test]
    fn windows_equal_tensorflows_decode_and_crop_jpeg() {
        let dir = tensorflow_dir();
        let text = std::fs::read_to_string(dir.join("decode_and_crop.json")).unwrap();
        let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
        let images = testdata::dir("images");
        let cases = expected["cases"].as_array().unwrap();
        let (mut exact, mut exact_as_full_decode) = (0, 0);
        for case in cases {
            let file = case["file"].as_str().unwrap();
            let channels = case["channels"].as_u64().unwrap() as u8;
            let window: Vec<usize> = case["window"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let window: [usize; 4] = window.try_into().unwrap();
            let jpeg = std::fs::read(images.join(file)).unwrap();
            let (shape, want) = npy_u8(&dir.join(case["npy"].as_str().unwrap()));
            let worst = |got: Tensor| {
                assert_eq!(got.shape(), &shape[..], "{file} {window:?}");
                let got = got.as_slice::<u8>().unwrap();
                let difference = |(a, b): (&u8, &u8)| (*a as i32 - *b as i32).abs();
                got.iter().zip(&want).map(difference).max().unwrap()
            };
            let tensorflow = worst(decode_and_crop_jpeg(&jpeg, channels, window).unwrap());
            assert!(
                tensorflow <= 1,
                "{file} channels={channels} {window:?}: {tensorflow}"
            );
            exact += usize::from(tensorflow == 0);
            let full_decode = worst(decode_jpeg_window(&jpeg, channels, window).unwrap());
            exact_as_full_decode += usize::from(full_decode == 0);
        }
        eprintln!(
            "{exact}/{} TensorFlow windows exact with decode_and_crop_jpeg, \
             {exact_as_full_decode} with decode_jpeg_window",
            cases.len()
        );
        // Measured: all of them, edge columns included.
        assert_eq!(exact, cases.len());
        // TensorFlow's own edges differ from its full decode in some of these windows.
        assert!(exact_as_full_decode < cases.len());
    }

    fn baseline() -> Vec<u8> {
        std::fs::read(testdata::dir("images").join("baseline420.jpg")).unwrap()
    }

    #[test]
    fn a_window_outside_the_image_or_empty_is_refused() {
        let jpeg = baseline(); // 250 high, 333 wide
        for window in [
            [200, 0, 51, 10],
            [0, 330, 10, 4],
            [250, 0, 1, 1],
            [0, 333, 1, 1],
            [0, 0, 0, 5],
            [0, 0, 5, 0],
            [usize::MAX, 0, 2, 1],
            [0, 1, 1, usize::MAX],
        ] {
            for decode in [decode_jpeg_window, decode_and_crop_jpeg] {
                let err = decode(&jpeg, 3, window).unwrap_err();
                assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
                let [top, left, height, width] = window;
                assert_eq!(
                    err.to_string(),
                    format!(
                        "decode_and_crop_jpeg: crop window is not valid: [top {top}, left \
                         {left}, height {height}, width {width}] is not a non-empty window \
                         inside the image of height 250 and width 333"
                    )
                );
            }
        }
        for decode in [decode_jpeg_window, decode_and_crop_jpeg] {
            assert!(decode(&jpeg, 3, [249, 332, 1, 1]).is_ok());
            assert!(decode(&jpeg, 3, [0, 0, 250, 333]).is_ok());
        }
    }

    #[test]
    fn bad_data_is_an_error_naming_the_problem() {
        let jpeg = baseline();
        let window = [0, 0, 250, 333];
        let err = decode_jpeg_window(b"hello", 3, window).unwrap_err();
        assert_eq!(
            err.to_string(),
            "decode_and_crop_jpeg: invalid JPEG data: not a JPEG (no SOI marker)"
        );
        let err = decode_jpeg_window(&jpeg[..jpeg.len() / 2], 3, window).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("truncated"), "{err}");
        // Cut in the middle of its header.
        let err = decode_jpeg_window(&jpeg[..300], 3, [0, 0, 1, 1]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("decode_and_crop_jpeg: invalid JPEG data:"),
            "{err}"
        );
        // A frame header claiming 7-bit samples: libjpeg's own message.
        let mut corrupt = jpeg.clone();
        let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        corrupt[sof + 4] = 7;
        let err = decode_jpeg_window(&corrupt, 3, [0, 0, 1, 1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "decode_and_crop_jpeg: invalid JPEG data: Unsupported JPEG data precision 7"
        );
        assert!(decode_jpeg_window(&jpeg, 2, window)
            .unwrap_err()
            .to_string()
            .contains("channels"));

        // As in TensorFlow, only the data the window needs is read: a baseline file cut
        // below the window still gives the window (and a progressive one, whose every
        // scan is read first, does not).
        for decode in [decode_jpeg_window, decode_and_crop_jpeg] {
            let top_rows = decode(&jpeg[..jpeg.len() / 2], 3, [0, 0, 16, 333]);
            assert_eq!(
                top_rows.unwrap(),
                decode(&jpeg, 3, [0, 0, 16, 333]).unwrap()
            );
        }
        let progressive = std::fs::read(testdata::dir("images").join("progressive.jpg")).unwrap();
        let cut = &progressive[..progressive.len() * 9 / 10];
        let err = decode_jpeg_window(cut, 3, [0, 0, 16, 16]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn a_header_beyond_the_pixel_limit_is_refused_before_decoding() {
        let mut jpeg = std::fs::read(testdata::dir("images").join("baseline444.jpg")).unwrap();
        let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0xea, 0x60, 0xea, 0x60]);
        assert!((60_000u64 * 60_000) > max_pixels());
        let err = decode_jpeg_window(&jpeg, 3, [0, 0, 1, 1]).unwrap_err();
        assert!(err.to_string().contains("60000x60000"), "{err}");
        assert!(err.to_string().contains("more than the limit"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Damaged files give errors or windows, never a panic.
        #[test]
        fn damaged_files_never_panic(
            at in any::<prop::sample::Index>(),
            byte: u8,
            progressive: bool,
            window in any::<[prop::sample::Index; 4]>(),
        ) {
            let name = if progressive { "progressive.jpg" } else { "baseline420.jpg" };
            let mut data = std::fs::read(testdata::dir("images").join(name)).unwrap();
            let i = at.index(data.len());
            data[i] = byte;
            let (top, left) = (window[0].index(260), window[1].index(340));
            let window = [top, left, window[2].index(260), window[3].index(340)];
            if let Ok(image) = decode_jpeg_window(&data, 3, window) {
                prop_assert_eq!(image.shape(), &[window[2], window[3], 3]);
            }
            let _ = decode_and_crop_jpeg(&data[..i], 0, window);
        }
    }

    /// A quick timing (`cargo test --release -p headrace --lib decode_window_timing --
    /// --ignored --nocapture`); nothing is asserted.
    #[test]
    #[ignore]
    fn decode_window_timing() {
        let jpeg = synthetic(true); // 375x500, quality 90, 4:2:0
        let time = |f: &dyn Fn() -> Tensor| {
            let n = 200;
            f();
            let t = std::time::Instant::now();
            for _ in 0..n {
                std::hint::black_box(f());
            }
            t.elapsed().as_secs_f64() * 1e3 / n as f64
        };
        let full = time(&|| decode_jpeg(&jpeg, 3, 1).unwrap());
        eprintln!("375x500 q90 4:2:0: decode_jpeg {full:.3} ms");
        for (label, fraction) in [("100%", 1.0f64), ("50%", 0.5), ("25%", 0.25)] {
            // A centred window of that area, the image's aspect ratio.
            let side = fraction.sqrt();
            let (h, w) = ((375.0 * side) as usize, (500.0 * side) as usize);
            let window = [(375 - h) / 2, (500 - w) / 2, h, w];
            let windowed = time(&|| decode_jpeg_window(&jpeg, 3, window).unwrap());
            let tensorflow = time(&|| decode_and_crop_jpeg(&jpeg, 3, window).unwrap());
            let cropped = time(&|| {
                let image = decode_jpeg(&jpeg, 3, 1).unwrap();
                crop_to_bounding_box(&image, window[0], window[1], h, w).unwrap()
            });
            eprintln!(
                "{label} area {window:?}: decode_jpeg_window {windowed:.3} ms, \
                 decode_and_crop_jpeg {tensorflow:.3} ms, decode + crop {cropped:.3} ms"
            );
        }
    }
}
