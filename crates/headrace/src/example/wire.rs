//! The protobuf wire format, as far as `tf.train.Example` needs it: varints, tags,
//! length-delimited fields, fixed-width numbers and skipping unknown fields.
//!
//! Reading never allocates and never trusts a length: every length prefix is checked
//! against what is left of its enclosing message before anything is sliced, so a corrupt
//! record costs at most one pass over its own bytes. Errors carry the byte offset (from the
//! start of the record) of the item that was bad.

use std::fmt;

/// The kinds of value a field can be encoded as (the low three bits of a tag).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum WireType {
    Varint,
    Fixed64,
    LengthDelimited,
    Fixed32,
}

impl WireType {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            WireType::Varint => "varint",
            WireType::Fixed64 => "64-bit",
            WireType::LengthDelimited => "length-delimited",
            WireType::Fixed32 => "32-bit",
        }
    }
}

/// What was wrong with the bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum WireErrorKind {
    /// The input ended inside a varint.
    TruncatedVarint,
    /// A varint longer than ten bytes, or whose tenth byte sets bits past 64.
    VarintTooLong,
    /// A length prefix larger than what is left of the enclosing message.
    LengthPastEnd { length: u64, remaining: usize },
    /// The input ended inside a fixed-width value.
    TruncatedFixed { width: usize, remaining: usize },
    /// Field number 0, which protobuf reserves.
    FieldZero,
    /// A tag whose value does not fit in 32 bits.
    TagTooLarge,
    /// Wire types 3 and 4 (deprecated groups), 6 and 7 (undefined).
    UnsupportedWireType(u8),
    /// A known field encoded with the wrong wire type.
    WrongWireType {
        field: &'static str,
        expected: &'static str,
        got: WireType,
    },
    /// A packed float list whose length is not a multiple of four.
    PackedFloatLength(usize),
    /// A map key that is not UTF-8 (protobuf `string`s must be).
    KeyNotUtf8,
}

/// A malformed input: what was wrong and the byte offset where it was found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct WireError {
    pub offset: usize,
    pub kind: WireErrorKind,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: ", self.offset)?;
        match self.kind {
            WireErrorKind::TruncatedVarint => f.write_str("the input ends inside a varint"),
            WireErrorKind::VarintTooLong => f.write_str("a varint is longer than 64 bits"),
            WireErrorKind::LengthPastEnd { length, remaining } => write!(
                f,
                "a length of {length} bytes runs past the end of its message ({remaining} bytes left)"
            ),
            WireErrorKind::TruncatedFixed { width, remaining } => write!(
                f,
                "the input ends inside a {width}-byte value ({remaining} bytes left)"
            ),
            WireErrorKind::FieldZero => f.write_str("field number 0 is not allowed"),
            WireErrorKind::TagTooLarge => f.write_str("a field tag does not fit in 32 bits"),
            WireErrorKind::UnsupportedWireType(t) => match t {
                3 | 4 => write!(f, "wire type {t} (group) is not supported"),
                _ => write!(f, "wire type {t} does not exist"),
            },
            WireErrorKind::WrongWireType {
                field,
                expected,
                got,
            } => write!(
                f,
                "field `{field}` has wire type {}, expected {expected}",
                got.name()
            ),
            WireErrorKind::PackedFloatLength(len) => write!(
                f,
                "a packed float list of {len} bytes is not a whole number of floats"
            ),
            WireErrorKind::KeyNotUtf8 => f.write_str("a feature name is not valid UTF-8"),
        }
    }
}

pub(crate) type WireResult<T> = std::result::Result<T, WireError>;

/// A cursor over one message's bytes. `base` is the offset of `buf[0]` in the record, so
/// errors and sub-readers report offsets from the start of the record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Reader<'a> {
        Reader { buf, pos: 0, base }
    }

    #[inline]
    pub(crate) fn is_at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The record offset of the next byte to read.
    #[inline]
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    pub(crate) fn error(&self, kind: WireErrorKind) -> WireError {
        WireError {
            offset: self.offset(),
            kind,
        }
    }

    #[inline]
    pub(crate) fn varint(&mut self) -> WireResult<u64> {
        // Most varints in an Example (tags, short lengths, small ints) are one byte.
        match self.buf.get(self.pos) {
            Some(&b) if b < 0x80 => {
                self.pos += 1;
                Ok(u64::from(b))
            }
            _ => self.varint_slow(),
        }
    }

    #[cold]
    fn varint_slow(&mut self) -> WireResult<u64> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(start + i) else {
                return Err(WireError {
                    offset: self.base + start,
                    kind: WireErrorKind::TruncatedVarint,
                });
            };
            // The tenth byte holds bit 63 only; anything more is not a 64-bit varint.
            if i == 9 && b > 1 {
                break;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.pos = start + i + 1;
                return Ok(value);
            }
        }
        Err(WireError {
            offset: self.base + start,
            kind: WireErrorKind::VarintTooLong,
        })
    }

    /// The next field's number and wire type.
    #[inline]
    pub(crate) fn tag(&mut self) -> WireResult<(u32, WireType)> {
        let at = self.offset();
        let tag = self.varint()?;
        let error = |kind| WireError { offset: at, kind };
        if tag > u64::from(u32::MAX) {
            return Err(error(WireErrorKind::TagTooLarge));
        }
        let field = (tag >> 3) as u32;
        if field == 0 {
            return Err(error(WireErrorKind::FieldZero));
        }
        let wire_type = match tag & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::LengthDelimited,
            5 => WireType::Fixed32,
            other => return Err(error(WireErrorKind::UnsupportedWireType(other as u8))),
        };
        Ok((field, wire_type))
    }

    /// A length-delimited payload, as a reader positioned at its start.
    #[inline]
    pub(crate) fn length_delimited(&mut self) -> WireResult<Reader<'a>> {
        let at = self.offset();
        let length = self.varint()?;
        let remaining = self.remaining();
        if length > remaining as u64 {
            return Err(WireError {
                offset: at,
                kind: WireErrorKind::LengthPastEnd { length, remaining },
            });
        }
        let start = self.pos;
        self.pos += length as usize;
        Ok(Reader::new(&self.buf[start..self.pos], self.base + start))
    }

    #[inline]
    fn fixed<const N: usize>(&mut self) -> WireResult<[u8; N]> {
        match self.buf.get(self.pos..self.pos + N) {
            Some(bytes) => {
                self.pos += N;
                Ok(bytes.try_into().expect("slice of N bytes"))
            }
            None => Err(self.error(WireErrorKind::TruncatedFixed {
                width: N,
                remaining: self.remaining(),
            })),
        }
    }

    #[inline]
    pub(crate) fn fixed32(&mut self) -> WireResult<[u8; 4]> {
        self.fixed::<4>()
    }

    /// Skips the value of a field this codec does not know (protobuf keeps going past
    /// unknown fields, so a newer writer's extra fields do not break an older reader).
    pub(crate) fn skip(&mut self, wire_type: WireType) -> WireResult<()> {
        match wire_type {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.fixed::<8>().map(drop),
            WireType::LengthDelimited => self.length_delimited().map(drop),
            WireType::Fixed32 => self.fixed::<4>().map(drop),
        }
    }

    /// The whole message this reader walks, read or not.
    #[inline]
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The record offset of this message's first byte.
    #[inline]
    pub(crate) fn base(&self) -> usize {
        self.base
    }

    /// A reader over the same message positioned `pos` bytes in.
    #[inline]
    pub(crate) fn at(&self, pos: usize) -> Reader<'a> {
        Reader {
            buf: self.buf,
            pos,
            base: self.base,
        }
    }

    /// Bytes read so far.
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}

/// The error for a known field that came with the wrong wire type; `expected` names the
/// wire types it may have (`WireType::name`, or several for packable fields).
pub(crate) fn wrong_wire_type(
    offset: usize,
    field: &'static str,
    expected: &'static str,
    got: WireType,
) -> WireError {
    WireError {
        offset,
        kind: WireErrorKind::WrongWireType {
            field,
            expected,
            got,
        },
    }
}

// --- writing -------------------------------------------------------------------------

pub(crate) const fn varint_len(mut value: u64) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The one-byte tag of a length-delimited field numbered below 16.
pub(crate) const fn delimited_tag(field: u8) -> u8 {
    (field << 3) | 2
}

/// Bytes a length-delimited field of `len` payload bytes takes, tag included (fields
/// below 16 have one-byte tags).
pub(crate) const fn delimited_field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

#[inline]
pub(crate) fn put_delimited_header(out: &mut Vec<u8>, field: u8, len: usize) {
    out.push(delimited_tag(field));
    put_varint(out, len as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    #[test]
    fn varints_round_trip_at_every_length() {
        for shift in 0..64 {
            for v in [1u64 << shift, (1u64 << shift) - 1, u64::MAX >> shift] {
                let bytes = encoded(v);
                assert_eq!(bytes.len(), varint_len(v));
                let mut r = Reader::new(&bytes, 0);
                assert_eq!(r.varint().unwrap(), v);
                assert!(r.is_at_end());
            }
        }
    }

    #[test]
    fn truncated_and_overlong_varints_are_errors_with_their_offset() {
        let mut r = Reader::new(&[0x05, 0x80, 0x80], 10);
        assert_eq!(r.varint().unwrap(), 5);
        let err = r.varint().unwrap_err();
        assert_eq!(err.offset, 11);
        assert_eq!(err.kind, WireErrorKind::TruncatedVarint);

        let eleven = [0xffu8; 11];
        let err = Reader::new(&eleven, 0).varint().unwrap_err();
        assert_eq!(err.kind, WireErrorKind::VarintTooLong);
        // Ten bytes whose last one sets bits beyond 64.
        let mut too_big = [0xffu8; 10];
        too_big[9] = 0x02;
        assert_eq!(
            Reader::new(&too_big, 0).varint().unwrap_err().kind,
            WireErrorKind::VarintTooLong
        );
        too_big[9] = 0x01;
        assert_eq!(Reader::new(&too_big, 0).varint().unwrap(), u64::MAX);
    }

    #[test]
    fn a_length_past_the_end_is_an_error_not_an_allocation() {
        let mut bytes = vec![0x0a];
        put_varint(&mut bytes, u64::MAX >> 1);
        let mut r = Reader::new(&bytes, 0);
        r.tag().unwrap();
        let err = r.length_delimited().unwrap_err();
        assert_eq!(err.offset, 1);
        assert!(matches!(err.kind, WireErrorKind::LengthPastEnd { .. }));
        assert!(err.to_string().starts_with("at byte 1: a length of"));
    }

    #[test]
    fn bad_tags_are_errors() {
        assert_eq!(
            Reader::new(&[0x00], 0).tag().unwrap_err().kind,
            WireErrorKind::FieldZero
        );
        assert_eq!(
            Reader::new(&[0x0b], 0).tag().unwrap_err().kind,
            WireErrorKind::UnsupportedWireType(3)
        );
        assert_eq!(
            Reader::new(&[0x0f], 0).tag().unwrap_err().kind,
            WireErrorKind::UnsupportedWireType(7)
        );
        let big = encoded(1 << 40);
        assert_eq!(
            Reader::new(&big, 0).tag().unwrap_err().kind,
            WireErrorKind::TagTooLarge
        );
    }

    #[test]
    fn skipping_covers_every_wire_type() {
        // varint 300, fixed64, "ab", fixed32, then a varint 7 that must still be readable.
        let bytes = [
            0xac, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 2, b'a', b'b', 9, 9, 9, 9, 7,
        ];
        let mut r = Reader::new(&bytes, 0);
        r.skip(WireType::Varint).unwrap();
        r.skip(WireType::Fixed64).unwrap();
        r.skip(WireType::LengthDelimited).unwrap();
        r.skip(WireType::Fixed32).unwrap();
        assert_eq!(r.varint().unwrap(), 7);
        assert!(r.skip(WireType::Fixed32).is_err());
    }
}
