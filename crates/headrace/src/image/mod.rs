//! Image ops, as `tf.image` defines them.

pub mod color;
pub mod decode;
pub mod geometry;
pub mod resize;
