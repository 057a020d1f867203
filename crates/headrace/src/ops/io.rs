//! File and byte kernels, as `tf.io`: read_file and decode_raw.

use bytes::Bytes;

use super::strings::string_input;
use crate::error::{Error, Result};
use crate::value::{AlignedBuf, DType, Tensor};

/// The contents of the file at `path` (a string scalar), as a string scalar.
///
/// A missing file is a `NotFound` error naming the path; other I/O failures keep their kind
/// (see [`Error::io`]).
pub fn read_file(path: &Tensor) -> Result<Tensor> {
    let values = string_input("read_file", path)?;
    if path.rank() != 0 {
        return Err(Error::invalid_argument(format!(
            "read_file: needs a scalar path, got shape {:?}",
            path.shape()
        )));
    }
    let raw = &values[0];
    let mut data = Vec::new();
    std::io::Read::read_to_end(
        &mut crate::fs::open(raw).map_err(|e| e.context("read_file"))?,
        &mut data,
    )
    .map_err(|e| Error::io(&String::from_utf8_lossy(raw), e).context("read_file"))?;
    Ok(Tensor::string_scalar(Bytes::from(data)))
}

/// The bytes of each string reinterpreted as a vector of `dtype` numbers, as
/// `tf.io.decode_raw`: a string tensor of shape `S` gives a tensor of shape `S + [n]`.
///
/// Without `fixed_length`, every string must have the same length, a multiple of the dtype's
/// size, and `n` is that length over the size (an empty input gives `n == 0`). With
/// `fixed_length` (a multiple of the size), each string is first cut or zero-padded to that
/// many bytes. `little_endian` says how the input is ordered; bytes are swapped when it
/// differs from the host's. Single-byte dtypes are copied as they are, except that bool bytes
/// other than 0 read as true (stored as 1).
pub fn decode_raw(
    bytes: &Tensor,
    dtype: DType,
    little_endian: bool,
    fixed_length: Option<usize>,
) -> Result<Tensor> {
    let values = string_input("decode_raw", bytes)?;
    if dtype == DType::String {
        return Err(Error::invalid_argument(
            "decode_raw: out_type must be a numeric or bool dtype, got string",
        ));
    }
    let size = dtype.size();
    let row = match fixed_length {
        Some(fixed) => {
            // TensorFlow's fixed_length is an int32; the bound also keeps the size sane.
            if fixed > i32::MAX as usize || fixed % size != 0 {
                return Err(Error::invalid_argument(format!(
                    "decode_raw: fixed_length {fixed} must be a multiple of {size} (the size of {dtype}) and fit in an int32"
                )));
            }
            fixed
        }
        None => {
            let row = values.first().map_or(0, Bytes::len);
            if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| v.len() != row) {
                return Err(Error::invalid_argument(format!(
                    "decode_raw: all strings must have the same length, but element {i} has {} bytes and element 0 has {row}",
                    v.len()
                )));
            }
            if row % size != 0 {
                return Err(Error::invalid_argument(format!(
                    "decode_raw: input length {row} is not a multiple of {size}, the size of {dtype}"
                )));
            }
            row
        }
    };
    let total = row.checked_mul(values.len()).ok_or_else(|| {
        Error::invalid_argument(format!(
            "decode_raw: {} strings of {row} bytes are too large",
            values.len()
        ))
    })?;
    let mut shape = bytes.shape().to_vec();
    shape.push(row / size);
    let mut buf = AlignedBuf::zeroed(total);
    if row > 0 {
        let out = buf.as_mut_bytes();
        for (v, dst) in values.iter().zip(out.chunks_exact_mut(row)) {
            let n = v.len().min(row);
            dst[..n].copy_from_slice(&v[..n]);
        }
        if size > 1 && little_endian != cfg!(target_endian = "little") {
            for e in out.chunks_exact_mut(size) {
                e.reverse();
            }
        }
        if dtype == DType::Bool {
            for b in out.iter_mut() {
                *b = u8::from(*b != 0);
            }
        }
    }
    Tensor::from_aligned(dtype, &shape, buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::value::Bool;

    fn raw(shape: &[usize], v: &[&[u8]]) -> Tensor {
        let v = v.iter().map(|s| Bytes::copy_from_slice(s)).collect();
        Tensor::strings(shape, v).unwrap()
    }

    #[test]
    fn read_file_reads_bytes_and_names_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        std::fs::write(&path, b"\x00\x01hello\xff").unwrap();
        let p = path.to_str().unwrap();
        let t = read_file(&Tensor::string_scalar(p.to_string())).unwrap();
        assert_eq!((t.dtype(), t.rank()), (DType::String, 0));
        assert_eq!(&t.string_values().unwrap()[0][..], b"\x00\x01hello\xff");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        let e = read_file(&Tensor::string_scalar(empty.to_str().unwrap().to_string())).unwrap();
        assert!(e.string_values().unwrap()[0].is_empty());

        let missing = dir.path().join("nope.txt");
        let m = missing.to_str().unwrap().to_string();
        let err = read_file(&Tensor::string_scalar(m.clone())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().starts_with("read_file:") && err.to_string().contains(&m));

        // A directory is an I/O error that names the path.
        let d = dir.path().to_str().unwrap().to_string();
        let err = read_file(&Tensor::string_scalar(d.clone())).unwrap_err();
        assert!(err.to_string().contains(&d), "{err}");

        let two = raw(&[2], &[b"a", b"b"]);
        assert!(read_file(&two).unwrap_err().to_string().contains("[2]"));
        let e = read_file(&Tensor::scalar(1i64)).unwrap_err().to_string();
        assert_eq!(e, "read_file: needs a string tensor, got int64");
    }

    #[test]
    fn decode_raw_little_and_big_endian() {
        let vals = [1i32, -2, 70000];
        let le: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let be: Vec<u8> = vals.iter().flat_map(|v| v.to_be_bytes()).collect();
        let t = decode_raw(&Tensor::string_scalar(le), DType::Int32, true, None).unwrap();
        assert_eq!(t.shape(), &[3]);
        assert_eq!(t.as_slice::<i32>().unwrap(), &vals);
        let t = decode_raw(&Tensor::string_scalar(be), DType::Int32, false, None).unwrap();
        assert_eq!(t.as_slice::<i32>().unwrap(), &vals);

        let f: Vec<u8> = [1.5f64, -0.25]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let x = raw(&[2, 1], &[&f, &f]);
        let t = decode_raw(&x, DType::Float64, false, None).unwrap();
        assert_eq!(t.shape(), &[2, 1, 2]);
        assert_eq!(t.as_slice::<f64>().unwrap(), &[1.5, -0.25, 1.5, -0.25]);

        let h = half::f16::from_f32(0.5).to_be_bytes();
        let t = decode_raw(&raw(&[1], &[&h]), DType::Float16, false, None).unwrap();
        assert_eq!(
            t.as_slice::<half::f16>().unwrap(),
            &[half::f16::from_f32(0.5)]
        );
    }

    #[test]
    fn decode_raw_single_bytes_copy() {
        let x = raw(&[2], &[b"\x01\xff", b"\x00\x80"]);
        let u = decode_raw(&x, DType::UInt8, false, None).unwrap();
        assert_eq!(u.shape(), &[2, 2]);
        assert_eq!(u.as_slice::<u8>().unwrap(), &[1, 255, 0, 128]);
        let i = decode_raw(&x, DType::Int8, true, None).unwrap();
        assert_eq!(i.as_slice::<i8>().unwrap(), &[1, -1, 0, -128]);
        let b = decode_raw(&x, DType::Bool, true, None).unwrap();
        assert_eq!(
            b.as_slice::<Bool>().unwrap(),
            &[Bool(1), Bool(1), Bool(0), Bool(1)]
        );
    }

    #[test]
    fn decode_raw_fixed_length_cuts_and_pads() {
        let x = raw(&[3], &[b"\x01\x00\x02\x00\x03\x00", b"\x04", b""]);
        let t = decode_raw(&x, DType::UInt16, true, Some(4)).unwrap();
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.as_slice::<u16>().unwrap(), &[1, 2, 4, 0, 0, 0]);
        // Big-endian: the padding is at the end of the byte stream.
        let y = raw(&[1], &[b"\x01\x02\x03"]);
        let t = decode_raw(&y, DType::UInt32, false, Some(4)).unwrap();
        assert_eq!(t.as_slice::<u32>().unwrap(), &[0x0102_0300]);
        let z = decode_raw(&y, DType::UInt32, true, Some(0)).unwrap();
        assert_eq!(z.shape(), &[1, 0]);
        let e = decode_raw(&y, DType::Int32, true, Some(6))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("decode_raw:") && e.contains('6') && e.contains("int32"),
            "{e}"
        );
    }

    #[test]
    fn decode_raw_empty_inputs() {
        let t = decode_raw(&raw(&[0], &[]), DType::Float32, true, None).unwrap();
        assert_eq!((t.dtype(), t.shape()), (DType::Float32, &[0, 0][..]));
        let t = decode_raw(&raw(&[2], &[b"", b""]), DType::Int64, true, None).unwrap();
        assert_eq!(t.shape(), &[2, 0]);
        let t = decode_raw(&Tensor::string_scalar(""), DType::Int64, true, None).unwrap();
        assert_eq!(t.shape(), &[0]);
        let t = decode_raw(&raw(&[0, 3], &[]), DType::Int16, true, Some(8)).unwrap();
        assert_eq!(t.shape(), &[0, 3, 4]);
    }

    #[test]
    fn decode_raw_refuses_bad_input() {
        let e = decode_raw(
            &raw(&[2], &[b"abcd", b"abcdefgh"]),
            DType::Int32,
            true,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("decode_raw:") && e.contains('8') && e.contains('4'),
            "{e}"
        );
        let e = decode_raw(&Tensor::string_scalar("abcde"), DType::Float32, true, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains('5') && e.contains("float32"), "{e}");
        let e = decode_raw(&Tensor::string_scalar("a"), DType::String, true, None).unwrap_err();
        assert!(e.to_string().contains("string"));
        let e = decode_raw(&Tensor::scalar(1u8), DType::UInt8, true, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "decode_raw: needs a string tensor, got uint8"
        );
        assert!(decode_raw(
            &Tensor::string_scalar("a"),
            DType::UInt8,
            true,
            Some(usize::MAX)
        )
        .is_err());
    }
}
