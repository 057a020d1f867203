//! String kernels, as `tf.strings`: length, substr, join, split, to_number,
//! regex_full_match, lower and upper.
//!
//! All but `split` are element-wise over string tensors of any shape. Strings are bytes; only
//! `length(.., unit_utf8: true)` and `regex_full_match` read them as UTF-8. Results that are
//! pieces of an input (`substr`, `split`) share its buffer rather than copying.

use std::cell::RefCell;

use bytes::Bytes;
use regex::bytes::Regex;

use crate::error::{Error, Result};
use crate::value::{DType, Tensor};

/// The elements of `x`, or an error naming `op` when `x` is not a string tensor.
pub(crate) fn string_input<'a>(op: &str, x: &'a Tensor) -> Result<&'a [Bytes]> {
    if x.dtype() != DType::String {
        return Err(Error::invalid_argument(format!(
            "{op}: needs a string tensor, got {}",
            x.dtype()
        )));
    }
    x.string_values()
}

/// `f` applied to every element of the string tensor `x`, keeping its shape.
fn map_strings(op: &str, x: &Tensor, f: impl Fn(&Bytes) -> Result<Bytes>) -> Result<Tensor> {
    let out = string_input(op, x)?
        .iter()
        .map(f)
        .collect::<Result<Vec<_>>>()?;
    Tensor::strings(x.shape(), out)
}

/// `s` for an error message: lossily decoded, and cut short when long.
fn quoted(s: &[u8]) -> String {
    const SHOWN: usize = 64;
    if s.len() <= SHOWN {
        format!("{:?}", String::from_utf8_lossy(s))
    } else {
        format!("{:?}...", String::from_utf8_lossy(&s[..SHOWN]))
    }
}

/// The length of each string: in bytes, or with `unit_utf8` in UTF-8 characters (int32).
///
/// As TensorFlow, a character is counted at each byte that is not a UTF-8 continuation byte,
/// so invalid UTF-8 is counted, not refused.
pub fn length(x: &Tensor, unit_utf8: bool) -> Result<Tensor> {
    let out = string_input("length", x)?
        .iter()
        .map(|s| {
            let n = if unit_utf8 {
                s.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
            } else {
                s.len()
            };
            i32::try_from(n).map_err(|_| {
                Error::invalid_argument(format!(
                    "length: a string of {} bytes is too long for an int32 length",
                    s.len()
                ))
            })
        })
        .collect::<Result<Vec<i32>>>()?;
    Tensor::from_vec(x.shape(), out)
}

/// `len` bytes of each string from byte `pos` (`unit='BYTE'`).
///
/// A negative `pos` counts from the end. `pos` must lie in `[-n, n]` for a string of `n`
/// bytes, else it is an error; a `len` reaching past the end (or negative, as in
/// TensorFlow) takes the rest of the string.
pub fn substr(x: &Tensor, pos: i64, len: i64) -> Result<Tensor> {
    map_strings("substr", x, |s| {
        let n = s.len() as i64;
        let start = if pos < 0 { n + pos } else { pos };
        if !(0..=n).contains(&start) {
            return Err(Error::invalid_argument(format!(
                "substr: position {pos} is out of range for a string of length {n}"
            )));
        }
        let end = if len < 0 {
            n
        } else {
            start.saturating_add(len).min(n)
        };
        Ok(s.slice(start as usize..end as usize))
    })
}

/// The element-wise concatenation of `inputs`, with `separator` between the parts.
///
/// Scalars broadcast; all other inputs must have one shape (as `tf.strings.join`, a
/// non-scalar is not broadcast). The result is a scalar when every input is.
pub fn join(inputs: &[&Tensor], separator: &[u8]) -> Result<Tensor> {
    if inputs.is_empty() {
        return Err(Error::invalid_argument("join: needs at least one input"));
    }
    let mut shape: Option<&[usize]> = None;
    let mut parts = Vec::with_capacity(inputs.len());
    for x in inputs {
        parts.push(string_input("join", x)?);
        if x.rank() == 0 {
            continue;
        }
        match shape {
            None => shape = Some(x.shape()),
            Some(s) if s != x.shape() => {
                return Err(Error::invalid_argument(format!(
                    "join: inputs must be scalars or all of one shape, got shapes {s:?} and {:?}",
                    x.shape()
                )))
            }
            Some(_) => {}
        }
    }
    let shape = shape.unwrap_or(&[]);
    let n: usize = shape.iter().product();
    fn value(p: &[Bytes], i: usize) -> &[u8] {
        // A scalar (one value) serves every position.
        if p.len() == 1 {
            &p[0]
        } else {
            &p[i]
        }
    }
    let out = (0..n)
        .map(|i| {
            let total = parts.iter().map(|p| value(p, i).len()).sum::<usize>()
                + separator.len() * (parts.len() - 1);
            let mut joined = Vec::with_capacity(total);
            for (k, p) in parts.iter().enumerate() {
                if k > 0 {
                    joined.extend_from_slice(separator);
                }
                joined.extend_from_slice(value(p, i));
            }
            Bytes::from(joined)
        })
        .collect();
    Tensor::strings(shape, out)
}

/// C's `isspace` in the "C" locale, which TensorFlow and Python's `bytes.split` use.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn split_whitespace(s: &Bytes) -> Vec<Bytes> {
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if is_space(s[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < s.len() && !is_space(s[i]) {
            i += 1;
        }
        pieces.push(s.slice(start..i));
    }
    pieces
}

fn split_on(s: &Bytes, sep: &[u8]) -> Vec<Bytes> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= s.len() {
        if &s[i..i + sep.len()] == sep {
            pieces.push(s.slice(start..i));
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    pieces.push(s.slice(start..));
    pieces
}

/// The pieces of each element of a scalar or vector, as `tf.strings.split` (a ragged result:
/// one list per element; one list for a scalar).
///
/// With `sep` `None` (or empty, as in TensorFlow) runs of ASCII whitespace separate pieces and
/// no piece is empty, as Python's `str.split()`; so `""` gives no piece. A given `sep` splits
/// at every occurrence and keeps empty pieces: `"a,,b"` gives `["a", "", "b"]` and `""` gives
/// `[""]`.
pub fn split(x: &Tensor, sep: Option<&[u8]>) -> Result<Vec<Vec<Bytes>>> {
    let values = string_input("split", x)?;
    if x.rank() > 1 {
        return Err(Error::invalid_argument(format!(
            "split: needs a scalar or a vector, got shape {:?}",
            x.shape()
        )));
    }
    let sep = sep.filter(|s| !s.is_empty());
    Ok(values
        .iter()
        .map(|s| match sep {
            None => split_whitespace(s),
            Some(sep) => split_on(s, sep),
        })
        .collect())
}

/// `split` as tensors: a scalar gives its pieces (a vector); a vector gives the pieces of
/// every string, flat, and the row splits that partition them (a ragged value's parts).
pub fn split_to_tensors(x: &Tensor, sep: Option<&[u8]>) -> Result<Vec<Tensor>> {
    let rows = split(x, sep)?;
    let mut splits = Vec::with_capacity(rows.len() + 1);
    splits.push(0i64);
    let mut pieces = Vec::new();
    for row in rows {
        pieces.extend(row);
        splits.push(pieces.len() as i64);
    }
    let values = Tensor::strings(&[pieces.len()], pieces)?;
    if x.rank() == 0 {
        return Ok(vec![values]);
    }
    Ok(vec![values, Tensor::from_vec(&[splits.len()], splits)?])
}

fn parse_number<T: std::str::FromStr>(s: &[u8], out: DType, integer: bool) -> Result<T> {
    let bad = || Error::invalid_argument(format!("to_number: cannot parse {} as {out}", quoted(s)));
    let text = std::str::from_utf8(s).map_err(|_| bad())?;
    let text = text.trim_matches(|c: char| c.is_ascii() && is_space(c as u8));
    // TensorFlow's integer parser takes an optional '-' but no '+'.
    if integer && text.starts_with('+') {
        return Err(bad());
    }
    text.parse::<T>().map_err(|_| bad())
}

fn parse_all<T: crate::value::Scalar + std::str::FromStr>(
    values: &[Bytes],
    shape: &[usize],
    out: DType,
    integer: bool,
) -> Result<Tensor> {
    let v = values
        .iter()
        .map(|s| parse_number::<T>(s, out, integer))
        .collect::<Result<Vec<T>>>()?;
    Tensor::from_vec(shape, v)
}

/// Each string parsed as a number of dtype `out` (float32, float64, int32 or int64), as
/// `tf.strings.to_number`.
///
/// Leading and trailing whitespace is ignored. Integers are decimal with an optional `-`
/// and must fit `out`; floats take decimal and exponent forms, `inf` and `nan` (any case),
/// and out-of-range values become infinities.
pub fn to_number(x: &Tensor, out: DType) -> Result<Tensor> {
    let values = string_input("to_number", x)?;
    let shape = x.shape();
    match out {
        DType::Float32 => parse_all::<f32>(values, shape, out, false),
        DType::Float64 => parse_all::<f64>(values, shape, out, false),
        DType::Int32 => parse_all::<i32>(values, shape, out, true),
        DType::Int64 => parse_all::<i64>(values, shape, out, true),
        other => Err(Error::invalid_argument(format!(
            "to_number: out_type must be float32, float64, int32 or int64, got {other}"
        ))),
    }
}

/// Compiled full-match patterns, most recently used first: kernels run once per element, and
/// compiling a pattern costs far more than matching it.
const REGEX_CACHE: usize = 16;

thread_local! {
    static REGEXES: RefCell<Vec<(String, Regex)>> = const { RefCell::new(Vec::new()) };
}

fn compile_full_match(pattern: &str) -> Result<Regex> {
    let bad = |e: regex::Error| {
        Error::invalid_argument(format!(
            "regex_full_match: invalid pattern {pattern:?}: {e}"
        ))
    };
    // Compiled on its own first, so that a pattern that is only valid inside the anchoring
    // group (`a)(b`) is refused.
    Regex::new(pattern).map_err(bad)?;
    // `\A(?:p)\z` matches exactly the whole string. A pattern that ends inside an `(?x)`
    // comment swallows the closing `)`; a newline ends the comment (and is ignored in x mode).
    Regex::new(&format!(r"\A(?:{pattern})\z"))
        .or_else(|_| Regex::new(&format!("\\A(?:{pattern}\n)\\z")))
        .map_err(bad)
}

fn full_match_regex(pattern: &str) -> Result<Regex> {
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(i) = cache.iter().position(|(p, _)| p == pattern) {
            let entry = cache.remove(i);
            let re = entry.1.clone();
            cache.insert(0, entry);
            return Ok(re);
        }
        let re = compile_full_match(pattern)?;
        cache.truncate(REGEX_CACHE - 1);
        cache.insert(0, (pattern.to_owned(), re.clone()));
        Ok(re)
    })
}

/// Whether each string matches `pattern` as a whole (bool), as `tf.strings.regex_full_match`.
///
/// Patterns use the `regex` crate's syntax, which is RE2's (no backreferences or look-around).
pub fn regex_full_match(x: &Tensor, pattern: &str) -> Result<Tensor> {
    let values = string_input("regex_full_match", x)?;
    let re = full_match_regex(pattern)?;
    let out = values
        .iter()
        .map(|s| crate::value::Bool::from(re.is_match(s)))
        .collect();
    Tensor::from_vec(x.shape(), out)
}

fn map_ascii(
    op: &str,
    x: &Tensor,
    keep: fn(&u8) -> bool,
    f: fn(&[u8]) -> Vec<u8>,
) -> Result<Tensor> {
    map_strings(op, x, |s| {
        // Strings with nothing to change are shared, not copied.
        Ok(if s.iter().all(keep) {
            s.clone()
        } else {
            Bytes::from(f(s))
        })
    })
}

/// Each string with ASCII letters lowercased (other bytes kept), as `tf.strings.lower`.
pub fn lower(x: &Tensor) -> Result<Tensor> {
    map_ascii(
        "lower",
        x,
        |b| !b.is_ascii_uppercase(),
        <[u8]>::to_ascii_lowercase,
    )
}

/// Each string with ASCII letters uppercased (other bytes kept), as `tf.strings.upper`.
pub fn upper(x: &Tensor) -> Result<Tensor> {
    map_ascii(
        "upper",
        x,
        |b| !b.is_ascii_lowercase(),
        <[u8]>::to_ascii_uppercase,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Bool;

    fn strs(shape: &[usize], v: &[&str]) -> Tensor {
        let v = v.iter().map(|s| Bytes::from(s.to_string())).collect();
        Tensor::strings(shape, v).unwrap()
    }

    fn texts(t: &Tensor) -> Vec<String> {
        t.string_values()
            .unwrap()
            .iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect()
    }

    fn pieces(v: Vec<Vec<Bytes>>) -> Vec<Vec<String>> {
        v.into_iter()
            .map(|p| {
                p.into_iter()
                    .map(|b| String::from_utf8(b.to_vec()).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn length_counts_bytes_or_characters() {
        let x = strs(&[2, 2], &["", "abc", "héllo", "日本語"]);
        let b = length(&x, false).unwrap();
        assert_eq!(b.shape(), &[2, 2]);
        assert_eq!(b.as_slice::<i32>().unwrap(), &[0, 3, 6, 9]);
        let c = length(&x, true).unwrap();
        assert_eq!(c.as_slice::<i32>().unwrap(), &[0, 3, 5, 3]);
        let s = length(&Tensor::string_scalar("🙂"), true).unwrap();
        assert_eq!(s.scalar_value::<i32>().unwrap(), 1);
        let empty = length(&strs(&[0, 3], &[]), true).unwrap();
        assert_eq!((empty.dtype(), empty.shape()), (DType::Int32, &[0, 3][..]));
        // Invalid UTF-8: every non-continuation byte counts.
        let bad = Tensor::string_scalar(Bytes::from_static(b"\xff\x80a"));
        assert_eq!(
            length(&bad, true).unwrap().scalar_value::<i32>().unwrap(),
            2
        );
    }

    #[test]
    fn non_strings_are_refused_by_name() {
        let x = Tensor::scalar(1i32);
        for (op, r) in [
            ("length", length(&x, false).err()),
            ("substr", substr(&x, 0, 1).err()),
            ("join", join(&[&x], b"").err()),
            ("split", split(&x, None).err()),
            ("to_number", to_number(&x, DType::Float32).err()),
            ("regex_full_match", regex_full_match(&x, "a").err()),
            ("lower", lower(&x).err()),
            ("upper", upper(&x).err()),
        ] {
            let e = r.unwrap().to_string();
            assert_eq!(e, format!("{op}: needs a string tensor, got int32"));
        }
    }

    #[test]
    fn substr_follows_tensorflow_bounds() {
        let x = strs(&[3], &["hello", "abc", ""]);
        assert_eq!(texts(&substr(&x, 0, 2).unwrap()), ["he", "ab", ""]);
        // len past the end clips; pos == len gives "".
        let y = strs(&[2], &["hello", "abc"]);
        assert_eq!(texts(&substr(&y, 1, 100).unwrap()), ["ello", "bc"]);
        assert_eq!(texts(&substr(&y, 3, 1).unwrap()), ["l", ""]);
        // Negative pos counts from the end; negative len takes the rest.
        assert_eq!(texts(&substr(&y, -2, 1).unwrap()), ["l", "b"]);
        assert_eq!(texts(&substr(&y, -3, -1).unwrap()), ["llo", "abc"]);
        assert_eq!(texts(&substr(&y, 0, 0).unwrap()), ["", ""]);
        let e = substr(&Tensor::string_scalar("abc"), 5, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "substr: position 5 is out of range for a string of length 3"
        );
        assert!(substr(&Tensor::string_scalar("abc"), -4, 1).is_err());
        assert!(substr(&x, 4, 1).is_err(), "too long for \"abc\"");
        let empty = substr(&strs(&[0], &[]), 7, 1).unwrap();
        assert_eq!(empty.shape(), &[0]);
        // The result shares the input's buffer.
        let s = Tensor::string_scalar("shared buffer");
        let sub = substr(&s, 7, 6).unwrap();
        let (a, b) = (
            &s.string_values().unwrap()[0],
            &sub.string_values().unwrap()[0],
        );
        assert_eq!(b.as_ptr(), a[7..].as_ptr());
    }

    #[test]
    fn join_broadcasts_scalars_only() {
        let a = strs(&[2], &["a", "b"]);
        let b = strs(&[2], &["x", ""]);
        let dash = Tensor::string_scalar("-");
        let j = join(&[&a, &dash, &b], b"|").unwrap();
        assert_eq!(j.shape(), &[2]);
        assert_eq!(texts(&j), ["a|-|x", "b|-|"]);
        let s = join(&[&dash, &Tensor::string_scalar("z")], b"").unwrap();
        assert_eq!((s.rank(), texts(&s)), (0, vec!["-z".to_string()]));
        assert_eq!(texts(&join(&[&a], b",").unwrap()), ["a", "b"]);
        let empty = join(&[&strs(&[0, 2], &[]), &dash], b",").unwrap();
        assert_eq!(empty.shape(), &[0, 2]);
        // A [1] input is not a scalar: it does not broadcast against [2].
        let one = strs(&[1], &["q"]);
        let e = join(&[&a, &one], b"").unwrap_err().to_string();
        assert!(
            e.starts_with("join:") && e.contains("[2]") && e.contains("[1]"),
            "{e}"
        );
        let j1 = join(&[&one, &dash], b"").unwrap();
        assert_eq!((j1.shape(), texts(&j1)), (&[1][..], vec!["q-".to_string()]));
        assert!(join(&[], b"").is_err());
    }

    #[test]
    fn split_with_and_without_separator() {
        let x = strs(&[4], &["  hello   world ", "", " \t\n", "a\x0bb"]);
        assert_eq!(
            pieces(split(&x, None).unwrap()),
            vec![
                vec!["hello".to_string(), "world".to_string()],
                vec![],
                vec![],
                vec!["a".to_string(), "b".to_string()],
            ]
        );
        // An empty separator means whitespace, as in TensorFlow.
        assert_eq!(split(&x, Some(b"")).unwrap(), split(&x, None).unwrap());
        let y = strs(&[4], &["1,,2", "", ",", "1<>2<><>3"]);
        assert_eq!(
            pieces(split(&y, Some(b",")).unwrap())[..3],
            [
                vec!["1".to_string(), "".into(), "2".into()],
                vec!["".to_string()],
                vec!["".to_string(), "".into()],
            ]
        );
        assert_eq!(
            pieces(split(&y, Some(b"<>")).unwrap())[3],
            ["1", "2", "", "3"]
        );
        // Overlapping candidates: "aaa" split on "aa" is ["", "a"], as in Python.
        let z = Tensor::string_scalar("aaa");
        assert_eq!(pieces(split(&z, Some(b"aa")).unwrap()), [["", "a"]]);
        assert_eq!(split(&strs(&[0], &[]), None).unwrap().len(), 0);
        let e = split(&strs(&[1, 1], &["a"]), None).unwrap_err().to_string();
        assert!(e.starts_with("split:") && e.contains("[1, 1]"), "{e}");
    }

    #[test]
    fn to_number_parses_or_names_the_string() {
        let x = strs(&[5], &["1.5", " -2 ", "1e3", "inf", "NaN"]);
        let f = to_number(&x, DType::Float32).unwrap();
        let v = f.as_slice::<f32>().unwrap();
        assert_eq!(&v[..4], &[1.5, -2.0, 1000.0, f32::INFINITY]);
        assert!(v[4].is_nan());
        let d = to_number(&Tensor::string_scalar("0.1"), DType::Float64).unwrap();
        assert_eq!(d.scalar_value::<f64>().unwrap(), 0.1);
        let i = to_number(&strs(&[3], &["7", "-2147483648", "\t42\n"]), DType::Int32).unwrap();
        assert_eq!(i.as_slice::<i32>().unwrap(), &[7, i32::MIN, 42]);
        let l = to_number(&strs(&[1], &["9007199254740993"]), DType::Int64).unwrap();
        assert_eq!(l.as_slice::<i64>().unwrap(), &[9_007_199_254_740_993]);
        let e = to_number(&strs(&[2], &["1", "abc"]), DType::Float32).unwrap_err();
        assert_eq!(e.to_string(), r#"to_number: cannot parse "abc" as float32"#);
        for bad in ["", "1.5", "2147483648", "+1", "1 2", "0x10"] {
            let e = to_number(&Tensor::string_scalar(bad), DType::Int32).unwrap_err();
            assert!(e.to_string().contains("as int32"), "{bad}: {e}");
        }
        assert!(to_number(&Tensor::string_scalar(""), DType::Float32).is_err());
        assert!(to_number(&Tensor::string_scalar("1.5x"), DType::Float64).is_err());
        let invalid = Tensor::string_scalar(Bytes::from_static(b"\xff1"));
        assert!(to_number(&invalid, DType::Float32).is_err());
        let e = to_number(&x, DType::Int8).unwrap_err().to_string();
        assert!(e.contains("int8"), "{e}");
        let empty = to_number(&strs(&[0], &[]), DType::Int64).unwrap();
        assert_eq!((empty.dtype(), empty.shape()), (DType::Int64, &[0][..]));
    }

    #[test]
    fn regex_full_match_is_anchored() {
        let x = strs(&[2, 2], &["abc", "xabc", "", "ab"]);
        let m = regex_full_match(&x, "a.c|ab").unwrap();
        assert_eq!(m.shape(), &[2, 2]);
        let want = [true, false, false, true].map(Bool::from);
        assert_eq!(m.as_slice::<Bool>().unwrap(), &want);
        // Alternation is matched as a whole, not leftmost-first.
        let alt = regex_full_match(&Tensor::string_scalar("ab"), "a|ab").unwrap();
        assert_eq!(alt.as_slice::<Bool>().unwrap(), &[Bool(1)]);
        // `$` must not match before a trailing newline.
        let nl = regex_full_match(&Tensor::string_scalar("a\n"), "a$").unwrap();
        assert_eq!(nl.as_slice::<Bool>().unwrap(), &[Bool(0)]);
        let empty = regex_full_match(&Tensor::string_scalar(""), ".*").unwrap();
        assert_eq!(empty.as_slice::<Bool>().unwrap(), &[Bool(1)]);
        let uni = regex_full_match(&Tensor::string_scalar("日本"), "..").unwrap();
        assert_eq!(uni.as_slice::<Bool>().unwrap(), &[Bool(1)]);
        // A pattern ending in an x-mode comment.
        let x_mode = regex_full_match(&Tensor::string_scalar("ab"), "(?x) a b # c").unwrap();
        assert_eq!(x_mode.as_slice::<Bool>().unwrap(), &[Bool(1)]);
        for bad in ["(", "a)(b", "[a", r"\"] {
            let e = regex_full_match(&x, bad).unwrap_err().to_string();
            assert!(
                e.starts_with("regex_full_match: invalid pattern")
                    && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
        // Cached patterns keep answering correctly.
        for _ in 0..3 {
            for (p, want) in [("a+", true), ("b+", false)] {
                let r = regex_full_match(&Tensor::string_scalar("aa"), p).unwrap();
                assert_eq!(r.as_slice::<Bool>().unwrap(), &[Bool::from(want)]);
            }
        }
        let e = regex_full_match(&strs(&[0], &[]), "x").unwrap();
        assert_eq!((e.dtype(), e.shape()), (DType::Bool, &[0][..]));
    }

    #[test]
    fn lower_and_upper_change_ascii_only() {
        let x = strs(&[3], &["Hello World", "", "ÀÉ straße 1"]);
        assert_eq!(
            texts(&lower(&x).unwrap()),
            ["hello world", "", "ÀÉ straße 1"]
        );
        assert_eq!(
            texts(&upper(&x).unwrap()),
            ["HELLO WORLD", "", "ÀÉ STRAßE 1"]
        );
        let s = upper(&Tensor::string_scalar("abc")).unwrap();
        assert_eq!((s.rank(), texts(&s)), (0, vec!["ABC".to_string()]));
        assert_eq!(lower(&strs(&[2, 0], &[])).unwrap().shape(), &[2, 0]);
    }
}
