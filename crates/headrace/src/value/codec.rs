//! A binary encoding of elements, for the file cache (and later, checkpoints).
//!
//! ```text
//! element := 0 tensor | 1 count:u32 element* | 2 count:u32 (keylen:u32 key element)*
//! tensor  := dtype:u8 rank:u32 dim:u64*rank payload
//! payload := zero bytes up to an 8-byte boundary, then the numeric data (row-major)
//!          | (len:u64 bytes)* for strings
//! ```
//!
//! All integers are little-endian; dtype codes are positions in [`DType::ALL`]; dict keys
//! are UTF-8, strictly increasing (the order `Element::dict` keeps). Numeric data starts
//! 8-byte aligned relative to the start of the encoding, so a decoder that reads a record
//! into its own buffer can hand out tensors that share that buffer instead of copying
//! ([`decode_element_from`]).
//!
//! Decoding checks every count and length against the bytes that are left before using
//! it, so garbage or truncated input is a `DataLoss` error naming the byte offset, never
//! a panic or an allocation sized by an unchecked length. Callers that read from a file
//! add the file's name (see `dataset::cache`).

use std::sync::Arc;

use bytes::Bytes;

use super::{DType, Element, RaggedTensor, SparseTensor, Tensor};
use crate::error::{Error, Result};

const TENSOR: u8 = 0;
const TUPLE: u8 = 1;
const DICT: u8 = 2;
/// A ragged value: the number of partitions, then the values and each partition's splits.
const RAGGED: u8 = 3;
/// A sparse value: its indices, values and dense shape.
const SPARSE: u8 = 4;
/// Numeric payloads start at a multiple of this, relative to the start of the encoding.
const ALIGN: usize = 8;
/// Nesting deeper than this is refused when decoding: real elements are a few levels deep,
/// and unbounded recursion on crafted input would overflow the stack.
const MAX_DEPTH: usize = 64;

fn dtype_code(d: DType) -> u8 {
    DType::ALL
        .iter()
        .position(|&x| x == d)
        .expect("every dtype is in DType::ALL") as u8
}

/// Appends the encoding of `element` to `out`. Alignment is relative to where the
/// encoding starts (`out.len()` on entry), so decode from a buffer that starts there.
pub fn encode_element(element: &Element, out: &mut Vec<u8>) {
    let start = out.len();
    encode_at(element, out, start);
}

fn encode_at(element: &Element, out: &mut Vec<u8>, start: usize) {
    match element {
        Element::Tensor(t) => encode_tensor(t, out, start),
        Element::Ragged(r) => {
            out.push(RAGGED);
            out.extend_from_slice(&(r.ragged_rank() as u32).to_le_bytes());
            encode_tensor(r.values(), out, start);
            for s in r.row_splits() {
                encode_tensor(s, out, start);
            }
        }
        Element::Sparse(s) => {
            out.push(SPARSE);
            for t in [s.indices(), s.values(), s.dense_shape()] {
                encode_tensor(t, out, start);
            }
        }
        Element::Tuple(items) => {
            out.push(TUPLE);
            out.extend_from_slice(&(items.len() as u32).to_le_bytes());
            for e in items {
                encode_at(e, out, start);
            }
        }
        Element::Dict(items) => {
            out.push(DICT);
            out.extend_from_slice(&(items.len() as u32).to_le_bytes());
            for (k, e) in items {
                out.extend_from_slice(&(k.len() as u32).to_le_bytes());
                out.extend_from_slice(k.as_bytes());
                encode_at(e, out, start);
            }
        }
    }
}

fn encode_tensor(t: &Tensor, out: &mut Vec<u8>, start: usize) {
    out.push(TENSOR);
    out.push(dtype_code(t.dtype()));
    out.extend_from_slice(&(t.rank() as u32).to_le_bytes());
    for &d in t.shape() {
        out.extend_from_slice(&(d as u64).to_le_bytes());
    }
    match t.data_bytes() {
        Some(bytes) => {
            let pad = (ALIGN - (out.len() - start) % ALIGN) % ALIGN;
            out.resize(out.len() + pad, 0);
            if cfg!(target_endian = "little") {
                out.extend_from_slice(bytes);
            } else {
                for chunk in bytes.chunks(t.dtype().size()) {
                    out.extend(chunk.iter().rev());
                }
            }
        }
        None => {
            for s in t
                .string_values()
                .expect("a tensor without bytes is strings")
            {
                out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                out.extend_from_slice(s);
            }
        }
    }
}

struct Reader<'a> {
    data: &'a Bytes,
    pos: usize,
    /// Where `data` starts in the file it came from, so errors give file offsets.
    base: u64,
}

impl Reader<'_> {
    fn fail(&self, what: &str) -> Error {
        Error::data_loss(format!("{what} at byte {}", self.base + self.pos as u64))
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next `n` bytes as a window on the input (no copy).
    fn take(&mut self, n: usize, what: &str) -> Result<Bytes> {
        if self.remaining() < n {
            return Err(self.fail(&format!(
                "truncated {what}: needs {n} bytes, {} left",
                self.remaining()
            )));
        }
        let s = self.data.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        if self.remaining() < N {
            return Err(self.fail(&format!(
                "truncated {what}: needs {N} bytes, {} left",
                self.remaining()
            )));
        }
        let a = self.data[self.pos..self.pos + N]
            .try_into()
            .expect("length checked");
        self.pos += N;
        Ok(a)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A count of items that each take at least `min_bytes`: one that cannot fit in what
    /// is left is garbage, refused before anything is allocated for it.
    fn count(&mut self, what: &str, min_bytes: usize) -> Result<usize> {
        let at = self.pos;
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_bytes) > self.remaining() {
            self.pos = at;
            return Err(self.fail(&format!("{what} {n} exceeds the data")));
        }
        Ok(n)
    }

    fn element(&mut self, depth: usize) -> Result<Element> {
        if depth > MAX_DEPTH {
            return Err(self.fail("elements nested too deeply"));
        }
        let at = self.pos;
        match self.u8("element tag")? {
            TENSOR => self.tensor().map(Element::Tensor),
            RAGGED => {
                // Each partition is at least a tensor header.
                let partitions = self.count("ragged rank", 6)?;
                let values = self.tagged_tensor()?;
                let splits = (0..partitions)
                    .map(|_| self.tagged_tensor())
                    .collect::<Result<Vec<_>>>()?;
                RaggedTensor::new(values, splits)
                    .map(|r| Element::Ragged(r.into()))
                    .map_err(|e| self.fail(&format!("bad ragged value: {e}")))
            }
            SPARSE => {
                let indices = self.tagged_tensor()?;
                let values = self.tagged_tensor()?;
                let dense_shape = self.tagged_tensor()?;
                SparseTensor::new(indices, values, dense_shape)
                    .map(|s| Element::Sparse(s.into()))
                    .map_err(|e| self.fail(&format!("bad sparse value: {e}")))
            }
            TUPLE => {
                let n = self.count("tuple length", 1)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.element(depth + 1)?);
                }
                Ok(Element::Tuple(items))
            }
            DICT => {
                // A key length and a tag at least.
                let n = self.count("dict length", 5)?;
                let mut items: Vec<(Arc<str>, Element)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let len = self.u32("key length")? as usize;
                    let key_at = self.pos;
                    let raw = self.take(len, "dict key")?;
                    let key = std::str::from_utf8(&raw).map_err(|_| {
                        self.pos = key_at;
                        self.fail("dict key is not UTF-8")
                    })?;
                    // Dicts are kept sorted with unique keys; anything else is not ours.
                    if items.last().is_some_and(|(prev, _)| &**prev >= key) {
                        self.pos = key_at;
                        return Err(self.fail(&format!("dict key {key:?} out of order")));
                    }
                    items.push((key.into(), self.element(depth + 1)?));
                }
                Ok(Element::Dict(items))
            }
            tag => {
                self.pos = at;
                Err(self.fail(&format!("unknown element tag {tag}")))
            }
        }
    }

    /// A tensor with its tag, as a part of a composite value.
    fn tagged_tensor(&mut self) -> Result<Tensor> {
        let at = self.pos;
        if self.u8("tensor tag")? != TENSOR {
            self.pos = at;
            return Err(self.fail("expected a tensor inside a composite value"));
        }
        self.tensor()
    }

    fn tensor(&mut self) -> Result<Tensor> {
        let at = self.pos;
        let code = self.u8("dtype")? as usize;
        let Some(&dtype) = DType::ALL.get(code) else {
            self.pos = at;
            return Err(self.fail(&format!("unknown dtype code {code}")));
        };
        let rank = self.count("rank", 8)?;
        let mut shape = Vec::with_capacity(rank);
        // The element count, and the product of the non-zero dimensions: a shape whose
        // product overflows is garbage even when a zero dimension makes it empty.
        let (mut count, mut nonzero) = (1u64, 1u64);
        for _ in 0..rank {
            let d = self.u64("dimension")?;
            nonzero = match d {
                0 => nonzero,
                d => nonzero
                    .checked_mul(d)
                    .filter(|&n| n <= isize::MAX as u64)
                    .ok_or_else(|| self.fail("shape overflows"))?,
            };
            count = count.saturating_mul(d);
            shape.push(d as usize);
        }
        if dtype == DType::String {
            // Each string takes at least its 8-byte length.
            if count > (self.remaining() / 8) as u64 {
                return Err(self.fail(&format!("{count} strings exceed the data")));
            }
            let mut values = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let len = self.u64("string length")?;
                if len > self.remaining() as u64 {
                    return Err(self.fail(&format!("string length {len} exceeds the data")));
                }
                values.push(self.take(len as usize, "string")?);
            }
            return Tensor::strings(&shape, values);
        }
        let pad = (ALIGN - self.pos % ALIGN) % ALIGN;
        let padding = self.take(pad, "padding")?;
        if padding.iter().any(|&b| b != 0) {
            return Err(self.fail("non-zero padding before tensor data"));
        }
        let nbytes = count
            .checked_mul(dtype.size() as u64)
            .filter(|&n| n <= self.remaining() as u64)
            .ok_or_else(|| {
                self.fail(&format!(
                    "a {dtype} tensor of shape {shape:?} exceeds the data ({} bytes left)",
                    self.remaining()
                ))
            })?;
        let raw = self.take(nbytes as usize, "tensor data")?;
        let raw = if cfg!(target_endian = "big") {
            let mut v = raw.to_vec();
            for chunk in v.chunks_mut(dtype.size()) {
                chunk.reverse();
            }
            Bytes::from(v)
        } else {
            raw
        };
        // Shares `raw` (and so the caller's buffer) when it is aligned for the dtype.
        Tensor::from_bytes(dtype, &shape, raw)
    }
}

/// Decodes one element from the start of `data`, copying what it keeps; returns it and the
/// number of bytes it took. Errors give offsets within `data`.
pub fn decode_element(data: &[u8]) -> Result<(Element, usize)> {
    decode_element_from(&Bytes::copy_from_slice(data), 0)
}

/// Decodes one element from the start of `data` without copying: its tensors are windows
/// on `data`. `offset` is where `data` starts in its file, added to the offsets that
/// errors report. Returns the element and the number of bytes it took.
pub fn decode_element_from(data: &Bytes, offset: u64) -> Result<(Element, usize)> {
    let mut r = Reader {
        data,
        pos: 0,
        base: offset,
    };
    let e = r.element(0)?;
    Ok((e, r.pos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use proptest::prelude::*;

    fn sample() -> Element {
        Element::Tuple(vec![
            Tensor::from_vec(&[2, 3], vec![1.5f32, -2.0, 0.0, 4.0, 5.0, 6.0])
                .unwrap()
                .into(),
            Element::dict([
                ("label", Element::from(Tensor::scalar(7i64))),
                (
                    "name",
                    Tensor::strings(&[2], vec!["a".into(), "".into()])
                        .unwrap()
                        .into(),
                ),
            ])
            .unwrap(),
            Tensor::bool_scalar(true).into(),
            Tensor::from_vec::<u8>(&[0], vec![]).unwrap().into(),
            Tensor::from_vec(&[1], vec![u64::MAX]).unwrap().into(),
        ])
    }

    fn encoded(e: &Element) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_element(e, &mut buf);
        buf
    }

    #[test]
    fn round_trips_and_reports_its_length() {
        let mut buf = b"prefix".to_vec();
        encode_element(&sample(), &mut buf);
        let (e, used) = decode_element(&buf[6..]).unwrap();
        assert_eq!(e, sample());
        assert_eq!(used, buf.len() - 6);
    }

    #[test]
    fn the_layout_is_as_documented() {
        let buf = encoded(&Tensor::from_vec(&[2], vec![1i16, -2]).unwrap().into());
        #[rustfmt::skip]
        let expected = [
            0, 2, // tensor, int16 (DType::ALL[2])
            1, 0, 0, 0, // rank 1
            2, 0, 0, 0, 0, 0, 0, 0, // dim 2
            0, 0, // padding to byte 16
            1, 0, 0xfe, 0xff, // 1, -2
        ];
        assert_eq!(buf, expected);
    }

    #[test]
    fn decoded_tensors_share_the_buffer() {
        let t = Tensor::from_vec(&[1000], (0..1000).map(|i| i as f64).collect()).unwrap();
        let data = Bytes::from(encoded(&t.clone().into()));
        let (e, _) = decode_element_from(&data, 0).unwrap();
        let got = e.as_tensor().unwrap();
        assert_eq!(got, &t);
        // Vec allocations of this size are at least 8-aligned, so the window is used as is.
        let window = got.data_bytes().unwrap().as_ptr() as usize;
        let start = data.as_ptr() as usize;
        assert!(
            (start..start + data.len()).contains(&window),
            "decoded data was copied"
        );
    }

    #[test]
    fn truncation_is_data_loss_with_the_file_offset() {
        let buf = encoded(&sample());
        for cut in 0..buf.len() {
            let err = decode_element_from(&Bytes::copy_from_slice(&buf[..cut]), 1000).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DataLoss);
            let at: u64 = err
                .message()
                .rsplit("at byte ")
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                (1000..=1000 + cut as u64).contains(&at),
                "{err} (cut at {cut})"
            );
        }
    }

    #[test]
    fn garbage_is_refused_with_what_is_wrong() {
        let check = |data: &[u8], what: &str| {
            let err = decode_element(data).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DataLoss);
            assert!(err.message().contains(what), "{err}");
        };
        check(&[9], "unknown element tag 9 at byte 0");
        check(&[0, 200], "unknown dtype code 200 at byte 1");
        // A tuple claiming four billion items in five bytes.
        check(
            &[1, 0xff, 0xff, 0xff, 0xff],
            "tuple length 4294967295 exceeds",
        );
        // A rank far beyond the data.
        check(&[0, 4, 0xff, 0xff, 0, 0], "rank 65535 exceeds");
        // A shape whose product overflows, even though a zero dimension makes it empty.
        let mut huge = vec![0u8, 4, 3, 0, 0, 0];
        for d in [0u64, 1 << 40, 1 << 40] {
            huge.extend_from_slice(&d.to_le_bytes());
        }
        check(&huge, "shape overflows");
        // Nesting deeper than any real element.
        check(&[1, 1, 0, 0, 0].repeat(100), "nested too deeply");
        // Dict keys out of order (`Element::dict` would have sorted them).
        let unsorted = Element::Dict(vec![
            ("b".into(), Tensor::scalar(1u8).into()),
            ("a".into(), Tensor::scalar(2u8).into()),
        ]);
        check(&encoded(&unsorted), "dict key \"a\" out of order");
        // A string length beyond the data.
        let mut s = vec![0u8, 13, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        s.extend_from_slice(&u64::MAX.to_le_bytes());
        check(&s, "string length");
    }

    /// Any element: numeric tensors of every dtype (raw bytes, so every bit pattern),
    /// string tensors, tuples and dicts, a few levels deep.
    fn any_element() -> impl Strategy<Value = Element> {
        let numeric = (
            0..DType::ALL.len() - 1,
            proptest::collection::vec(0usize..4, 0..4),
            any::<u64>(),
        )
            .prop_map(|(code, shape, seed)| {
                let dtype = DType::ALL[code];
                let n: usize = shape.iter().product::<usize>() * dtype.size();
                let bytes: Vec<u8> = (0..n)
                    .map(|i| (seed.rotate_left(i as u32 % 64) >> 3) as u8)
                    .collect();
                Tensor::from_bytes(dtype, &shape, Bytes::from(bytes)).unwrap()
            });
        let strings = proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..6), 0..5)
            .prop_map(|v| {
                let shape = if v.len() == 1 { vec![] } else { vec![v.len()] };
                Tensor::strings(&shape, v.into_iter().map(Bytes::from).collect()).unwrap()
            });
        let leaf = prop_oneof![numeric, strings].prop_map(Element::Tensor);
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Element::Tuple),
                proptest::collection::btree_map("[a-z]{0,3}", inner, 0..4)
                    .prop_map(|m| Element::dict(m).unwrap()),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Err(e) = decode_element(&data) {
                prop_assert_eq!(e.kind(), ErrorKind::DataLoss);
            }
        }

        #[test]
        fn corrupting_an_encoding_never_panics(e in any_element(), at in any::<usize>(), byte in any::<u8>()) {
            let mut buf = encoded(&e);
            if !buf.is_empty() {
                let i = at % buf.len();
                buf[i] = byte;
            }
            let _ = decode_element(&buf);
        }

        #[test]
        fn random_elements_round_trip(e in any_element()) {
            let buf = encoded(&e);
            let (back, used) = decode_element(&buf).unwrap();
            prop_assert_eq!(used, buf.len());
            prop_assert_eq!(back, e);
        }
    }
}
