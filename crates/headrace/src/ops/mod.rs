//! Native kernels: the ops a traced function is made of, each also callable eagerly.
//!
//! One file per op family. Kernels take and return [`Tensor`](crate::Tensor)s, follow
//! TensorFlow's semantics (binary ops need equal dtypes; numpy-style broadcasting; integer
//! arithmetic wraps), and never panic on bad input: a shape or dtype mismatch is an
//! `InvalidArgument` error naming the op and the shapes.
//!
//! The graph that strings kernels together (tracing) builds on these.

pub mod arithmetic;
pub mod array;
pub mod broadcast;
pub mod cast;
pub mod compare;
pub(crate) mod dispatch;
mod fusion;
pub mod graph;
pub mod image;
pub mod io;
pub mod parse;
pub mod random;
pub mod reduce;
pub mod strings;
pub mod text;
pub mod unary;
