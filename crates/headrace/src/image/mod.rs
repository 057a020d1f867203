//! Image ops, as `tf.image` defines them.

pub mod bmp;
pub mod color;
pub mod decode;
pub mod decode_window;
pub mod encode;
pub mod geometry;
pub mod gif;
pub mod random_crop;
pub mod resize;
