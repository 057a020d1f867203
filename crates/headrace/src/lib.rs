//! headrace: tf.data's input pipeline, rebuilt in Rust.
//!
//! A [`Dataset`] describes a pipeline; iterating it runs the pipeline on Rust threads.
//! The names and semantics follow `tf.data`.
//!
//! ```
//! use headrace::{Dataset, Element, Tensor};
//!
//! let ds = Dataset::range(0, 10)
//!     .map(|x: Element| {
//!         let v = x.into_tensor()?.scalar_value::<i64>()?;
//!         Ok(Tensor::scalar(v * v).into())
//!     })
//!     .batch(4, false)?;
//! let batches = ds.collect()?;
//! assert_eq!(batches.len(), 3);
//! assert_eq!(batches[0].as_tensor().unwrap().as_slice::<i64>()?, &[0, 1, 4, 9]);
//! # Ok::<(), headrace::Error>(())
//! ```

pub mod dataset;
pub mod error;
pub mod example;
pub mod fs;
pub mod image;
pub mod ops;
pub mod runtime;
pub mod tfrecord;
pub mod value;

#[cfg(test)]
pub(crate) mod testdata;

pub use dataset::{Cardinality, Dataset, Options, Parallelism};
pub use error::{Error, ErrorKind, Result};
pub use value::{DType, Element, ElementSpec, Tensor};
