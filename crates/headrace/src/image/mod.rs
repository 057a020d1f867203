//! Image ops, as `tf.image` defines them.

pub mod resize;
