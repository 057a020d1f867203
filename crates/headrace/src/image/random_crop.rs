//! Choosing random crop windows: `random_crop`'s uniform offset, and the Inception-style
//! window of `random_resized_crop` (an area fraction and an aspect ratio drawn at random,
//! retried up to ten times, then a centred fallback), as torchvision's `RandomResizedCrop`
//! and TensorFlow's Inception preprocessing sample it.

use rand_pcg::Pcg64;

use crate::error::{Error, Result};
use crate::ops::random::unit;
use crate::runtime::seed::uniform_index;

/// A crop window: top-left corner and size, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub top: usize,
    pub left: usize,
    pub height: usize,
    pub width: usize,
}

/// A `height` x `width` window at a uniform position inside an `image_height` x
/// `image_width` image (`tf.image.random_crop`).
pub fn crop_window(
    image_height: usize,
    image_width: usize,
    height: usize,
    width: usize,
    rng: &mut Pcg64,
) -> Result<Window> {
    if height > image_height || width > image_width {
        return Err(Error::invalid_argument(format!(
            "random_crop: the crop ({height}x{width}) is larger than the image \
             ({image_height}x{image_width})"
        )));
    }
    Ok(Window {
        top: uniform_index(rng, image_height - height + 1),
        left: uniform_index(rng, image_width - width + 1),
        height,
        width,
    })
}

/// The window of `random_resized_crop`: up to ten draws of an area (a fraction of the
/// image's in `scale`) and an aspect ratio (log-uniform in `ratio`) until one fits; then
/// the whole image, cropped centrally to the nearest ratio in range.
pub fn resized_crop_window(
    image_height: usize,
    image_width: usize,
    scale: (f64, f64),
    ratio: (f64, f64),
    rng: &mut Pcg64,
) -> Window {
    let (h, w) = (image_height as f64, image_width as f64);
    let area = h * w;
    let (log_low, log_high) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target_area = area * (scale.0 + (scale.1 - scale.0) * unit(rng));
        let aspect = (log_low + (log_high - log_low) * unit(rng)).exp();
        let cw = (target_area * aspect).sqrt().round() as usize;
        let ch = (target_area / aspect).sqrt().round() as usize;
        if cw > 0 && ch > 0 && cw <= image_width && ch <= image_height {
            return Window {
                top: uniform_index(rng, image_height - ch + 1),
                left: uniform_index(rng, image_width - cw + 1),
                height: ch,
                width: cw,
            };
        }
    }
    let image_ratio = w / h;
    let (ch, cw) = if image_ratio < ratio.0 {
        ((w / ratio.0).round() as usize, image_width)
    } else if image_ratio > ratio.1 {
        (image_height, (h * ratio.1).round() as usize)
    } else {
        (image_height, image_width)
    };
    let (ch, cw) = (ch.clamp(1, image_height), cw.clamp(1, image_width));
    Window {
        top: (image_height - ch) / 2,
        left: (image_width - cw) / 2,
        height: ch,
        width: cw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::random::stream;
    use proptest::prelude::*;

    #[test]
    fn a_crop_larger_than_the_image_is_an_error() {
        let mut rng = stream(1, 0, 0);
        let err = crop_window(10, 10, 11, 5, &mut rng).unwrap_err();
        assert_eq!(
            err.to_string(),
            "random_crop: the crop (11x5) is larger than the image (10x10)"
        );
        assert_eq!(
            crop_window(10, 10, 10, 10, &mut rng).unwrap(),
            Window {
                top: 0,
                left: 0,
                height: 10,
                width: 10
            }
        );
    }

    #[test]
    fn the_fallback_is_central_with_the_ratio_clamped() {
        // A scale range no draw can meet (area above the image's) forces the fallback.
        let mut rng = stream(2, 0, 0);
        let wide = resized_crop_window(100, 400, (2.0, 3.0), (0.75, 4.0 / 3.0), &mut rng);
        // 400/100 = 4 > 4/3: full height, width 100 * 4/3 = 133, centred.
        assert_eq!(
            wide,
            Window {
                top: 0,
                left: 133,
                height: 100,
                width: 133
            }
        );
        let square = resized_crop_window(50, 50, (2.0, 3.0), (0.75, 4.0 / 3.0), &mut rng);
        assert_eq!(
            square,
            Window {
                top: 0,
                left: 0,
                height: 50,
                width: 50
            }
        );
    }

    #[test]
    fn areas_and_ratios_follow_the_ranges() {
        let (mut small, mut n) = (0, 0);
        for position in 0..500 {
            let mut rng = stream(3, position, 0);
            let w = resized_crop_window(375, 500, (0.08, 1.0), (0.75, 4.0 / 3.0), &mut rng);
            let fraction = (w.height * w.width) as f64 / (375.0 * 500.0);
            let aspect = w.width as f64 / w.height as f64;
            assert!((0.07..=1.01).contains(&fraction), "{w:?}");
            assert!((0.7..=1.4).contains(&aspect), "{w:?}");
            small += usize::from(fraction < 0.5);
            n += 1;
        }
        // Area uniform in [0.08, 1] puts 46% of draws under half the image; large areas
        // with a tall ratio do not fit a 375x500 image and are drawn again, which moves
        // the share up (about 58% here).
        assert!(
            (n * 45 / 100..n * 70 / 100).contains(&small),
            "{small} of {n}"
        );
    }

    proptest! {
        #[test]
        fn windows_lie_inside_the_image(
            h in 1usize..600, w in 1usize..600, seed: u64,
            lo in 0.01f64..1.0, ratio_lo in 0.2f64..1.0,
        ) {
            let mut rng = stream(seed, 0, 0);
            let win = resized_crop_window(h, w, (lo, 1.0), (ratio_lo, 1.0 / ratio_lo), &mut rng);
            prop_assert!(win.height >= 1 && win.width >= 1);
            prop_assert!(win.top + win.height <= h && win.left + win.width <= w);
            let c = crop_window(h, w, h / 2 + 1, w / 3 + 1, &mut rng).unwrap();
            prop_assert!(c.top + c.height <= h && c.left + c.width <= w);
        }
    }
}
