//! The values a pipeline carries: tensors, nested elements and their specs.

pub mod codec;
mod composite;
mod dtype;
mod element;
mod spec;
mod tensor;

pub use composite::{RaggedTensor, SparseTensor};
pub use dtype::{Bool, DType, Scalar};
pub use element::Element;
pub use spec::{ElementSpec, PartialShape, RaggedSpec, TensorSpec};
pub use tensor::{AlignedBuf, Buffer, Shape, Tensor};
