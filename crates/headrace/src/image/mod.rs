//! Image ops, as `tf.image` defines them.

pub mod color;
pub mod decode;
pub mod decode_window;
pub mod encode;
pub mod geometry;
pub mod random_crop;
pub mod resize;
