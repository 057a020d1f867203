//! `Tensor`: a dtype, a shape and a shared buffer.
//!
//! Numeric data lives in a [`Bytes`] buffer that is always aligned for its dtype, so it can
//! be viewed as `&[T]` and lent to numpy without a copy. Slicing along the first axis shares
//! the buffer. Numeric scalars are stored inline (no allocation), which is what keeps
//! element-at-a-time pipelines such as `range().map()` cheap. String tensors hold one
//! [`Bytes`] per element, so a record can be a slice of the buffer it was read into.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use smallvec::SmallVec;

use super::dtype::{DType, Scalar};
use crate::error::{Error, Result};

/// A tensor's dimensions, outermost first.
pub type Shape = SmallVec<[usize; 4]>;

#[derive(Clone)]
pub struct Tensor {
    dtype: DType,
    shape: Shape,
    data: Data,
}

#[derive(Clone)]
enum Data {
    /// A numeric scalar, in its native byte order. Every numeric dtype fits in 8 bytes.
    Inline(InlineScalar),
    /// Numeric data, row-major, aligned to `dtype.size()`.
    Buffer(Buffer),
    /// A string scalar.
    String(Bytes),
    /// A string tensor of any rank, row-major.
    Strings(Arc<[Bytes]>),
}

#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct InlineScalar([u8; 8]);

/// A zeroed, 8-byte-aligned byte buffer that becomes a tensor's storage without a copy.
///
/// Batches are written once into one of these and handed to [`Tensor::from_aligned`].
pub struct AlignedBuf {
    words: Vec<u64>,
    len: usize,
}

impl AlignedBuf {
    pub fn zeroed(len: usize) -> Self {
        AlignedBuf {
            words: vec![0u64; len.div_ceil(8)],
            len,
        }
    }

    /// A buffer holding `pieces` one after another, `len` bytes in all, written once: no
    /// zeroing pass first. For large rows (images) the zeroing was a tenth of a batch's
    /// cost. Panics if the pieces do not add up to `len`.
    pub fn concat<'a>(len: usize, pieces: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let words_len = len.div_ceil(8);
        let mut words: Vec<u64> = Vec::with_capacity(words_len);
        let base = words.as_mut_ptr().cast::<u8>();
        let mut at = 0;
        for piece in pieces {
            assert!(
                at + piece.len() <= len,
                "AlignedBuf::concat: pieces exceed {len} bytes"
            );
            // SAFETY: `at + piece.len() <= len <= words_len * 8`, the capacity in bytes;
            // the source is a live slice that cannot overlap the new allocation.
            unsafe { std::ptr::copy_nonoverlapping(piece.as_ptr(), base.add(at), piece.len()) };
            at += piece.len();
        }
        assert_eq!(
            at, len,
            "AlignedBuf::concat: pieces fill {at} of {len} bytes"
        );
        // SAFETY: bytes 0..len were written above; the padding up to the last word is
        // zeroed here, so every word of the new length is initialised.
        unsafe {
            std::ptr::write_bytes(base.add(len), 0, words_len * 8 - len);
            words.set_len(words_len);
        }
        AlignedBuf { words, len }
    }

    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut(&mut self.words)[..self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.words)[..self.len]
    }
}

/// A shared window on numeric storage. Unlike [`Bytes`], it can tell whether it is the
/// only reference to its storage, which decides whether numpy may write to the array.
#[derive(Clone)]
pub struct Buffer {
    storage: Arc<Storage>,
    offset: usize,
    len: usize,
}

enum Storage {
    Aligned(AlignedBuf),
    /// Bytes from elsewhere (a read buffer); never written through.
    Shared(Bytes),
    Typed(Box<dyn OwnedBytes>),
}

/// Storage a tensor owns outright: readable, and writable while nothing else refers to it.
trait OwnedBytes: Send + Sync {
    fn bytes(&self) -> &[u8];
    fn bytes_mut(&mut self) -> &mut [u8];
}

/// A typed vector as storage, so the buffer keeps `T`'s alignment without a copy.
struct TypedVec<T: Scalar>(Vec<T>);

impl<T: Scalar> OwnedBytes for TypedVec<T> {
    fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::cast_slice_mut(&mut self.0)
    }
}

impl Buffer {
    fn new(storage: Storage) -> Buffer {
        let len = storage.bytes().len();
        Buffer {
            storage: Arc::new(storage),
            offset: 0,
            len,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.storage.bytes()[self.offset..self.offset + self.len]
    }

    fn slice(&self, range: std::ops::Range<usize>) -> Buffer {
        Buffer {
            storage: self.storage.clone(),
            offset: self.offset + range.start,
            len: range.len(),
        }
    }

    /// True when nothing else refers to the storage, so its owner may write to it.
    pub fn is_exclusive(&self) -> bool {
        !matches!(*self.storage, Storage::Shared(_)) && Arc::strong_count(&self.storage) == 1
    }

    /// This buffer's window, writable, when nothing else refers to the storage; `None`
    /// when the storage is shared with another buffer or is borrowed [`Bytes`] (which are
    /// never written through). Only the window is lent, never the rest of the storage.
    pub fn as_mut_bytes(&mut self) -> Option<&mut [u8]> {
        let bytes = match Arc::get_mut(&mut self.storage)? {
            Storage::Aligned(a) => a.as_mut_bytes(),
            Storage::Shared(_) => return None,
            Storage::Typed(t) => t.bytes_mut(),
        };
        bytes.get_mut(self.offset..self.offset + self.len)
    }
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Aligned(a) => a.as_ref(),
            Storage::Shared(b) => b,
            Storage::Typed(t) => t.bytes(),
        }
    }
}

fn num_elements(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn shape_mismatch(what: &str, shape: &[usize], expected: usize, got: usize) -> Error {
    Error::invalid_argument(format!(
        "{what}: shape {shape:?} needs {expected} elements but {got} were given"
    ))
}

impl Tensor {
    /// A 0-d tensor holding `value`.
    pub fn scalar<T: Scalar>(value: T) -> Tensor {
        let mut inline = InlineScalar([0; 8]);
        let bytes = bytemuck::bytes_of(&value);
        inline.0[..bytes.len()].copy_from_slice(bytes);
        Tensor {
            dtype: T::DTYPE,
            shape: Shape::new(),
            data: Data::Inline(inline),
        }
    }

    /// A 0-d boolean tensor.
    pub fn bool_scalar(value: bool) -> Tensor {
        Tensor::scalar(super::dtype::Bool::from(value))
    }

    /// A tensor of `shape` holding `values` in row-major order, without copying them.
    pub fn from_vec<T: Scalar>(shape: &[usize], values: Vec<T>) -> Result<Tensor> {
        let expected = num_elements(shape);
        if values.len() != expected {
            return Err(shape_mismatch(
                "Tensor::from_vec",
                shape,
                expected,
                values.len(),
            ));
        }
        if shape.is_empty() {
            return Ok(Tensor::scalar(values[0]));
        }
        Ok(Tensor {
            dtype: T::DTYPE,
            shape: Shape::from_slice(shape),
            data: Data::Buffer(Buffer::new(Storage::Typed(Box::new(TypedVec(values))))),
        })
    }

    /// A numeric tensor over `bytes` (row-major, native byte order). The buffer is shared
    /// when it is aligned for `dtype`, and copied into an aligned one when it is not.
    pub fn from_bytes(dtype: DType, shape: &[usize], bytes: Bytes) -> Result<Tensor> {
        if dtype == DType::String {
            return Err(Error::invalid_argument(
                "Tensor::from_bytes: string tensors are built with Tensor::strings",
            ));
        }
        let expected = num_elements(shape) * dtype.size();
        if bytes.len() != expected {
            return Err(Error::invalid_argument(format!(
                "Tensor::from_bytes: a {dtype} tensor of shape {shape:?} needs {expected} bytes, got {}",
                bytes.len()
            )));
        }
        if shape.is_empty() {
            let mut inline = InlineScalar([0; 8]);
            inline.0[..bytes.len()].copy_from_slice(&bytes);
            return Ok(Tensor {
                dtype,
                shape: Shape::new(),
                data: Data::Inline(inline),
            });
        }
        let storage = if (bytes.as_ptr() as usize).is_multiple_of(dtype.size()) {
            Storage::Shared(bytes)
        } else {
            let mut buf = AlignedBuf::zeroed(bytes.len());
            buf.as_mut_bytes().copy_from_slice(&bytes);
            Storage::Aligned(buf)
        };
        Tensor::from_buffer(dtype, shape, Buffer::new(storage))
    }

    /// A numeric tensor whose storage is `buf`, written by the caller (no copy).
    pub fn from_aligned(dtype: DType, shape: &[usize], buf: AlignedBuf) -> Result<Tensor> {
        Tensor::from_buffer(dtype, shape, Buffer::new(Storage::Aligned(buf)))
    }

    fn from_buffer(dtype: DType, shape: &[usize], buffer: Buffer) -> Result<Tensor> {
        let expected = num_elements(shape) * dtype.size();
        if buffer.len != expected || dtype == DType::String {
            return Err(Error::invalid_argument(format!(
                "a {dtype} tensor of shape {shape:?} needs {expected} bytes, got {}",
                buffer.len
            )));
        }
        if shape.is_empty() {
            let mut inline = InlineScalar([0; 8]);
            inline.0[..expected].copy_from_slice(buffer.as_bytes());
            return Ok(Tensor {
                dtype,
                shape: Shape::new(),
                data: Data::Inline(inline),
            });
        }
        Ok(Tensor {
            dtype,
            shape: Shape::from_slice(shape),
            data: Data::Buffer(buffer),
        })
    }

    /// A tensor of zeros (empty strings for `String`).
    pub fn zeros(dtype: DType, shape: &[usize]) -> Tensor {
        let n = num_elements(shape);
        if dtype == DType::String {
            return Tensor::strings(shape, vec![Bytes::new(); n]).expect("count matches shape");
        }
        Tensor::from_aligned(dtype, shape, AlignedBuf::zeroed(n * dtype.size()))
            .expect("size matches shape")
    }

    /// A 0-d string tensor.
    pub fn string_scalar(value: impl Into<Bytes>) -> Tensor {
        Tensor {
            dtype: DType::String,
            shape: Shape::new(),
            data: Data::String(value.into()),
        }
    }

    /// A string tensor of `shape` holding `values` in row-major order.
    pub fn strings(shape: &[usize], values: Vec<Bytes>) -> Result<Tensor> {
        let expected = num_elements(shape);
        if values.len() != expected {
            return Err(shape_mismatch(
                "Tensor::strings",
                shape,
                expected,
                values.len(),
            ));
        }
        if shape.is_empty() {
            return Ok(Tensor::string_scalar(values.into_iter().next().unwrap()));
        }
        Ok(Tensor {
            dtype: DType::String,
            shape: Shape::from_slice(shape),
            data: Data::Strings(values.into()),
        })
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn num_elements(&self) -> usize {
        num_elements(&self.shape)
    }

    /// Bytes of payload: the numeric buffer, or the sum of the strings' lengths.
    pub fn nbytes(&self) -> usize {
        match &self.data {
            Data::Inline(_) => self.dtype.size(),
            Data::Buffer(b) => b.len,
            Data::String(s) => s.len(),
            Data::Strings(v) => v.iter().map(Bytes::len).sum(),
        }
    }

    /// The raw bytes of a numeric tensor (row-major, native byte order); `None` for strings.
    pub fn data_bytes(&self) -> Option<&[u8]> {
        match &self.data {
            Data::Inline(inline) => Some(&inline.0[..self.dtype.size()]),
            Data::Buffer(b) => Some(b.as_bytes()),
            Data::String(_) | Data::Strings(_) => None,
        }
    }

    /// The shared buffer behind a non-scalar numeric tensor, for zero-copy hand-off.
    pub fn buffer(&self) -> Option<&Buffer> {
        match &self.data {
            Data::Buffer(b) => Some(b),
            _ => None,
        }
    }

    /// The elements of a numeric tensor as `&[T]`; an error if `T` is not its dtype.
    pub fn as_slice<T: Scalar>(&self) -> Result<&[T]> {
        if self.dtype != T::DTYPE {
            return Err(Error::invalid_argument(format!(
                "expected a {} tensor, got {}",
                T::DTYPE,
                self.dtype
            )));
        }
        let bytes = self.data_bytes().expect("numeric dtype has bytes");
        Ok(bytemuck::cast_slice(bytes))
    }

    /// The elements of a numeric tensor as `&mut [T]`, for writing results in place.
    ///
    /// `Some` only when `T` is the tensor's dtype and nothing else can see the data: the
    /// buffer is not shared with another tensor (a clone, a row, numpy) and is not
    /// borrowed [`Bytes`]. Inline scalars are always the tensor's own. `None` rather than
    /// a panic if the bytes are not aligned for `T`.
    pub fn as_mut_slice<T: Scalar>(&mut self) -> Option<&mut [T]> {
        if self.dtype != T::DTYPE {
            return None;
        }
        let size = self.dtype.size();
        let bytes = match &mut self.data {
            Data::Inline(inline) => &mut inline.0[..size],
            Data::Buffer(b) => b.as_mut_bytes()?,
            Data::String(_) | Data::Strings(_) => return None,
        };
        bytemuck::try_cast_slice_mut(bytes).ok()
    }

    /// The bytes of a numeric tensor, for writing in place: `Some` under the conditions of
    /// [`Tensor::as_mut_slice`].
    pub fn data_bytes_mut(&mut self) -> Option<&mut [u8]> {
        let size = self.dtype.size();
        match &mut self.data {
            Data::Inline(inline) => Some(&mut inline.0[..size]),
            Data::Buffer(b) => b.as_mut_bytes(),
            Data::String(_) | Data::Strings(_) => None,
        }
    }

    /// The value of a 0-d numeric tensor.
    pub fn scalar_value<T: Scalar>(&self) -> Result<T> {
        if self.rank() != 0 {
            return Err(Error::invalid_argument(format!(
                "expected a scalar, got shape {:?}",
                self.shape()
            )));
        }
        Ok(self.as_slice::<T>()?[0])
    }

    /// The elements of a string tensor, row-major.
    pub fn string_values(&self) -> Result<&[Bytes]> {
        match &self.data {
            Data::String(s) => Ok(std::slice::from_ref(s)),
            Data::Strings(v) => Ok(v),
            _ => Err(Error::invalid_argument(format!(
                "expected a string tensor, got {}",
                self.dtype
            ))),
        }
    }

    /// The same data viewed with another shape of the same number of elements.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if num_elements(shape) != self.num_elements() {
            return Err(Error::invalid_argument(format!(
                "cannot reshape a tensor of shape {:?} ({} elements) to {:?}",
                self.shape(),
                self.num_elements(),
                shape
            )));
        }
        match &self.data {
            Data::Inline(_) | Data::String(_) if shape.iter().all(|&d| d == 1) => {
                if shape.is_empty() {
                    return Ok(self.clone());
                }
                let mut t = self.clone().detach_scalar();
                t.shape = Shape::from_slice(shape);
                Ok(t)
            }
            Data::Buffer(b) if shape.is_empty() => {
                Tensor::from_buffer(self.dtype, shape, b.clone())
            }
            Data::Strings(v) if shape.is_empty() => Ok(Tensor::string_scalar(v[0].clone())),
            _ => {
                let mut t = self.clone();
                t.shape = Shape::from_slice(shape);
                Ok(t)
            }
        }
    }

    /// Moves an inline scalar into a buffer, so it can take a non-scalar shape.
    fn detach_scalar(self) -> Tensor {
        match self.data {
            Data::Inline(inline) => {
                let mut buf = AlignedBuf::zeroed(self.dtype.size());
                buf.as_mut_bytes()
                    .copy_from_slice(&inline.0[..self.dtype.size()]);
                Tensor {
                    dtype: self.dtype,
                    shape: self.shape,
                    data: Data::Buffer(Buffer::new(Storage::Aligned(buf))),
                }
            }
            Data::String(s) => Tensor {
                dtype: self.dtype,
                shape: self.shape,
                data: Data::Strings(vec![s].into()),
            },
            _ => self,
        }
    }

    /// Row `index` along the first axis; shares the buffer.
    pub fn row(&self, index: usize) -> Result<Tensor> {
        let Some((&rows, inner)) = self.shape.split_first() else {
            return Err(Error::invalid_argument(
                "cannot slice a scalar: from_tensor_slices and unbatch need rank >= 1",
            ));
        };
        if index >= rows {
            return Err(Error::invalid_argument(format!(
                "row {index} is out of range for a tensor of shape {:?}",
                self.shape()
            )));
        }
        let per_row = num_elements(inner);
        match &self.data {
            Data::Buffer(b) => {
                let size = self.dtype.size();
                let slice = b.slice(index * per_row * size..(index + 1) * per_row * size);
                Tensor::from_buffer(self.dtype, inner, slice)
            }
            Data::Strings(v) => {
                Tensor::strings(inner, v[index * per_row..(index + 1) * per_row].to_vec())
            }
            Data::Inline(_) | Data::String(_) => unreachable!("scalars have rank 0"),
        }
    }

    /// Rows `range` along the first axis, as one tensor of `range.len()` rows; shares the
    /// buffer.
    pub fn rows(&self, range: std::ops::Range<usize>) -> Result<Tensor> {
        let Some((&rows, inner)) = self.shape.split_first() else {
            return Err(Error::invalid_argument("cannot take rows of a scalar"));
        };
        if range.start > range.end || range.end > rows {
            return Err(Error::invalid_argument(format!(
                "rows {range:?} are out of range for a tensor of shape {:?}",
                self.shape()
            )));
        }
        let per_row = num_elements(inner);
        let mut shape = Shape::from_slice(self.shape());
        shape[0] = range.len();
        match &self.data {
            Data::Buffer(b) => {
                let size = self.dtype.size() * per_row;
                Tensor::from_buffer(
                    self.dtype,
                    &shape,
                    b.slice(range.start * size..range.end * size),
                )
            }
            Data::Strings(v) => Tensor::strings(
                &shape,
                v[range.start * per_row..range.end * per_row].to_vec(),
            ),
            Data::Inline(_) | Data::String(_) => unreachable!("scalars have rank 0"),
        }
    }

    /// Joins tensors of one dtype along their first axis; their other dimensions must
    /// match.
    pub fn concat<T: std::borrow::Borrow<Tensor>>(parts: &[T]) -> Result<Tensor> {
        let Some(first) = parts.first().map(Borrow::borrow) else {
            return Err(Error::invalid_argument("cannot concatenate zero tensors"));
        };
        let inner = first.shape().get(1..).ok_or_else(|| {
            Error::invalid_argument("cannot concatenate scalars along their first axis")
        })?;
        let mut rows = 0;
        for (i, p) in parts.iter().map(Borrow::borrow).enumerate() {
            if p.dtype != first.dtype || p.rank() == 0 || &p.shape()[1..] != inner {
                return Err(Error::invalid_argument(format!(
                    "cannot concatenate tensors with different inner shapes or dtypes: part 0 is {} {:?} and part {i} is {} {:?}",
                    first.dtype,
                    first.shape(),
                    p.dtype,
                    p.shape()
                )));
            }
            rows += p.shape()[0];
        }
        let mut shape = Shape::from_slice(first.shape());
        shape[0] = rows;
        if first.dtype == DType::String {
            let mut values = Vec::with_capacity(num_elements(&shape));
            for p in parts {
                values.extend_from_slice(p.borrow().string_values()?);
            }
            return Tensor::strings(&shape, values);
        }
        let buf = AlignedBuf::concat(
            num_elements(&shape) * first.dtype.size(),
            parts
                .iter()
                .map(|p| p.borrow().data_bytes().expect("numeric")),
        );
        Tensor::from_aligned(first.dtype, &shape, buf)
    }

    /// Stacks tensors of one dtype and shape along a new first axis, writing each once
    /// into the result's buffer.
    pub fn stack<T: std::borrow::Borrow<Tensor>>(parts: &[T]) -> Result<Tensor> {
        let Some(first) = parts.first().map(Borrow::borrow) else {
            return Err(Error::invalid_argument("cannot stack zero tensors"));
        };
        for (i, p) in parts.iter().map(Borrow::borrow).enumerate().skip(1) {
            if p.dtype != first.dtype || p.shape != first.shape {
                return Err(Error::invalid_argument(format!(
                    "cannot batch tensors with different shapes or dtypes: element 0 is {} {:?} and element {i} is {} {:?}",
                    first.dtype,
                    first.shape(),
                    p.dtype,
                    p.shape()
                )));
            }
        }
        let mut shape = Shape::with_capacity(first.rank() + 1);
        shape.push(parts.len());
        shape.extend_from_slice(first.shape());
        if first.dtype == DType::String {
            let mut values = Vec::with_capacity(parts.len() * first.num_elements());
            for p in parts {
                values.extend_from_slice(p.borrow().string_values()?);
            }
            return Tensor::strings(&shape, values);
        }
        let row = first.num_elements() * first.dtype.size();
        if row > 8 {
            // Rows of any size: written once, without zeroing the buffer first.
            let rows = parts
                .iter()
                .map(|p| p.borrow().data_bytes().expect("numeric"));
            let buf = AlignedBuf::concat(row * parts.len(), rows);
            return Tensor::from_aligned(first.dtype, &shape, buf);
        }
        let mut buf = AlignedBuf::zeroed(row * parts.len());
        let out = buf.as_mut_bytes();
        // Scalars get a fixed-size copy: a memcpy call per element costs more than the copy.
        fn copy_rows<const N: usize, T: Borrow<Tensor>>(parts: &[T], out: &mut [u8]) {
            for (p, dst) in parts.iter().zip(out.chunks_exact_mut(N)) {
                let src: &[u8; N] = p
                    .borrow()
                    .data_bytes()
                    .expect("numeric")
                    .try_into()
                    .unwrap();
                dst.copy_from_slice(src);
            }
        }
        match row {
            0 => {}
            1 => copy_rows::<1, T>(parts, out),
            2 => copy_rows::<2, T>(parts, out),
            4 => copy_rows::<4, T>(parts, out),
            8 => copy_rows::<8, T>(parts, out),
            _ => {
                // Odd small rows (3, 5, 6, 7 bytes).
                for (p, dst) in parts.iter().zip(out.chunks_exact_mut(row)) {
                    dst.copy_from_slice(p.borrow().data_bytes().expect("numeric"));
                }
            }
        }
        Tensor::from_aligned(first.dtype, &shape, buf)
    }

    /// True when no other tensor shares this one's buffer, so a consumer may write to it.
    pub fn is_exclusive(&self) -> bool {
        match &self.data {
            Data::Buffer(b) => b.is_exclusive(),
            _ => true,
        }
    }
}

impl PartialEq for Tensor {
    fn eq(&self, other: &Tensor) -> bool {
        if self.dtype != other.dtype || self.shape != other.shape {
            return false;
        }
        match (self.data_bytes(), other.data_bytes()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.string_values().ok() == other.string_values().ok(),
            _ => false,
        }
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({}, {:?}", self.dtype, self.shape())?;
        const SHOWN: usize = 8;
        macro_rules! show {
            ($t:ty) => {{
                let v = self.as_slice::<$t>().map_err(|_| fmt::Error)?;
                write!(f, ", {:?}", &v[..v.len().min(SHOWN)])?;
            }};
        }
        match self.dtype {
            DType::Bool => show!(super::dtype::Bool),
            DType::Int8 => show!(i8),
            DType::Int16 => show!(i16),
            DType::Int32 => show!(i32),
            DType::Int64 => show!(i64),
            DType::UInt8 => show!(u8),
            DType::UInt16 => show!(u16),
            DType::UInt32 => show!(u32),
            DType::UInt64 => show!(u64),
            DType::Float16 => show!(half::f16),
            DType::BFloat16 => show!(half::bf16),
            DType::Float32 => show!(f32),
            DType::Float64 => show!(f64),
            DType::String => {
                let v = self.string_values().map_err(|_| fmt::Error)?;
                write!(f, ", {:?}", &v[..v.len().min(SHOWN)])?;
            }
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The unzeroed batch buffer holds exactly the pieces, and stacking through it
        /// equals stacking row by row.
        #[test]
        fn concat_equals_copying_into_a_zeroed_buffer(
            pieces in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), 0..12),
        ) {
            let len = pieces.iter().map(Vec::len).sum();
            let buf = AlignedBuf::concat(len, pieces.iter().map(Vec::as_slice));
            let mut zeroed = AlignedBuf::zeroed(len);
            let mut at = 0;
            for p in &pieces {
                zeroed.as_mut_bytes()[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
            proptest::prop_assert_eq!(buf.as_ref(), zeroed.as_ref());
            proptest::prop_assert_eq!(&buf.words, &zeroed.words, "the padding is zero too");

            let rows: Vec<Tensor> = (0..pieces.len() as u8)
                .map(|i| Tensor::from_vec(&[3, 5], vec![i as f32; 15]).unwrap())
                .collect();
            if !rows.is_empty() {
                let stacked = Tensor::stack(&rows).unwrap();
                let values: Vec<f32> = (0..rows.len()).flat_map(|i| vec![i as f32; 15]).collect();
                proptest::prop_assert_eq!(stacked.as_slice::<f32>().unwrap(), &values[..]);
                let joined = Tensor::concat(&rows).unwrap();
                proptest::prop_assert_eq!(joined.as_slice::<f32>().unwrap(), &values[..]);
            }
        }
    }

    #[test]
    fn scalars_are_inline_and_readable() {
        let t = Tensor::scalar(42i64);
        assert_eq!(t.dtype(), DType::Int64);
        assert_eq!(t.shape(), &[] as &[usize]);
        assert_eq!(t.scalar_value::<i64>().unwrap(), 42);
        assert!(t.buffer().is_none());
        assert!(t.scalar_value::<i32>().is_err());
    }

    #[test]
    fn rows_share_the_buffer() {
        let t = Tensor::from_vec(&[3, 2], vec![1i32, 2, 3, 4, 5, 6]).unwrap();
        let r = t.row(1).unwrap();
        assert_eq!(r.as_slice::<i32>().unwrap(), &[3, 4]);
        assert!(!t.is_exclusive(), "the row holds a reference");
        assert!(t.row(3).is_err());
        assert!(Tensor::scalar(1i32).row(0).is_err());
    }

    #[test]
    fn stack_then_row_round_trips() {
        let parts: Vec<Tensor> = (0..5)
            .map(|i| Tensor::from_vec(&[2], vec![i as f32, -(i as f32)]).unwrap())
            .collect();
        let s = Tensor::stack(&parts).unwrap();
        assert_eq!(s.shape(), &[5, 2]);
        assert!(s.is_exclusive());
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(&s.row(i).unwrap(), p);
        }
        let bad = [
            parts[0].clone(),
            Tensor::from_vec(&[3], vec![0f32; 3]).unwrap(),
        ];
        let err = Tensor::stack(&bad).unwrap_err().to_string();
        assert!(err.contains("element 1"), "{err}");
    }

    #[test]
    fn strings_stack_and_slice() {
        let parts = [Tensor::string_scalar("a"), Tensor::string_scalar("bc")];
        let s = Tensor::stack(&parts).unwrap();
        assert_eq!(s.shape(), &[2]);
        assert_eq!(s.row(1).unwrap(), parts[1]);
        assert_eq!(s.nbytes(), 3);
    }

    #[test]
    fn misaligned_bytes_are_realigned() {
        let raw = Bytes::from(vec![0u8; 24]).slice(0..17);
        let t = Tensor::from_bytes(DType::Float64, &[2], raw.slice(1..17)).unwrap();
        assert_eq!(t.as_slice::<f64>().unwrap(), &[0.0, 0.0]);
        assert!(Tensor::from_bytes(DType::Float64, &[3], raw.slice(1..17)).is_err());
    }

    #[test]
    fn as_mut_slice_only_when_exclusive() {
        let mut t = Tensor::from_vec(&[3], vec![1i32, 2, 3]).unwrap();
        assert!(t.as_mut_slice::<f32>().is_none(), "wrong dtype");
        t.as_mut_slice::<i32>().unwrap()[1] = 20;
        assert_eq!(t.as_slice::<i32>().unwrap(), &[1, 20, 3]);

        let held = t.clone();
        assert!(
            t.as_mut_slice::<i32>().is_none(),
            "a clone shares the buffer"
        );
        drop(held);
        assert!(t.as_mut_slice::<i32>().is_some());

        // A row is a window: only its bytes are lent, once the batch is gone.
        let batch = Tensor::from_vec(&[3, 2], vec![1u16, 2, 3, 4, 5, 6]).unwrap();
        let mut row = batch.row(1).unwrap();
        assert!(
            row.as_mut_slice::<u16>().is_none(),
            "the batch still refers to it"
        );
        drop(batch);
        let w = row.as_mut_slice::<u16>().unwrap();
        assert_eq!(w, &[3, 4]);
        w[0] = 30;
        assert_eq!(row.as_slice::<u16>().unwrap(), &[30, 4]);

        let mut s = Tensor::scalar(2.5f64);
        s.as_mut_slice::<f64>().unwrap()[0] = 3.5;
        assert_eq!(s.scalar_value::<f64>().unwrap(), 3.5);
        assert!(Tensor::string_scalar("x").as_mut_slice::<u8>().is_none());

        let mut z = Tensor::zeros(DType::Float32, &[2]);
        assert_eq!(
            z.as_mut_slice::<f32>().unwrap(),
            &[0.0, 0.0],
            "aligned storage"
        );
    }

    #[test]
    fn bytes_are_never_lent_for_writing() {
        let bytes = Bytes::from(vec![0u8; 16]);
        let mut t = Tensor::from_bytes(DType::UInt8, &[16], bytes.clone()).unwrap();
        assert_eq!(
            t.data_bytes().unwrap().as_ptr(),
            bytes.as_ptr(),
            "shared, not copied"
        );
        assert!(t.as_mut_slice::<u8>().is_none());
        drop(bytes);
        assert!(!t.is_exclusive());
        assert!(
            t.as_mut_slice::<u8>().is_none(),
            "even as the only reference"
        );
    }

    #[test]
    fn reshape_keeps_data() {
        let t = Tensor::from_vec(&[2, 3], (0..6i64).collect()).unwrap();
        let r = t.reshape(&[3, 2]).unwrap();
        assert_eq!(r.as_slice::<i64>().unwrap(), t.as_slice::<i64>().unwrap());
        assert!(t.reshape(&[4]).is_err());
        let s = Tensor::scalar(7u8).reshape(&[1, 1]).unwrap();
        assert_eq!(s.shape(), &[1, 1]);
        assert_eq!(s.reshape(&[]).unwrap(), Tensor::scalar(7u8));
    }
}
