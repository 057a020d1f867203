//! The messages of `tf.train.Example` and `tf.train.SequenceExample` on the wire, read
//! lazily and written directly.
//!
//! ```text
//! Example         { Features features = 1; }
//! SequenceExample { Features context = 1; FeatureLists feature_lists = 2; }
//! Features        { map<string, Feature> feature = 1; }
//! FeatureLists    { map<string, FeatureList> feature_list = 1; }
//! FeatureList     { repeated Feature feature = 1; }
//! Feature         { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2;
//!                                Int64List int64_list = 3; } }
//! BytesList { repeated bytes value = 1; }  FloatList { repeated float value = 1 [packed]; }
//! Int64List { repeated int64 value = 1 [packed]; }
//! ```
//!
//! Reading follows protobuf's rules rather than any one writer's habits: fields may come in
//! any order; unknown fields are skipped; packed and unpacked repeated numbers are both
//! accepted, even mixed; a map key given twice keeps its last value; a message field given
//! twice is the merge of its occurrences (for a `Feature`: the lists of the last kind set,
//! concatenated). The parse path works on [`Merged`] views that point into the record, so
//! nothing is copied or allocated until values are written to their output.

use std::cell::Cell;
use std::collections::HashMap;

use bytes::Bytes;

use super::wire::{
    delimited_field_len, put_delimited_header, put_varint, varint_len, wrong_wire_type, Reader,
    WireError, WireErrorKind, WireResult, WireType,
};
use crate::error::{Error, Result};
use crate::value::DType;

/// A serialized record that string values can be cut from.
///
/// For a [`Bytes`] record the string values of a parse are slices of it (no copy); for
/// plain byte slices they are copied.
pub trait RecordBytes {
    fn record_bytes(&self) -> &[u8];
    /// `part`, which lies inside `record_bytes()`, as a `Bytes`.
    fn share(&self, part: &[u8]) -> Bytes;
}

impl RecordBytes for Bytes {
    fn record_bytes(&self) -> &[u8] {
        self
    }
    fn share(&self, part: &[u8]) -> Bytes {
        if part.is_empty() {
            // `slice_ref` of an empty slice may point one past the end; any empty value does.
            return Bytes::new();
        }
        self.slice_ref(part)
    }
}

impl RecordBytes for [u8] {
    fn record_bytes(&self) -> &[u8] {
        self
    }
    fn share(&self, part: &[u8]) -> Bytes {
        Bytes::copy_from_slice(part)
    }
}

impl RecordBytes for Vec<u8> {
    fn record_bytes(&self) -> &[u8] {
        self
    }
    fn share(&self, part: &[u8]) -> Bytes {
        Bytes::copy_from_slice(part)
    }
}

impl<T: RecordBytes + ?Sized> RecordBytes for &T {
    fn record_bytes(&self) -> &[u8] {
        (**self).record_bytes()
    }
    fn share(&self, part: &[u8]) -> Bytes {
        (**self).share(part)
    }
}

/// Which list a `Feature` holds (its `kind` oneof).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum FeatureKind {
    BytesList,
    FloatList,
    Int64List,
}

impl FeatureKind {
    /// The dtype of the tensor this list parses into.
    pub const fn dtype(self) -> DType {
        match self {
            FeatureKind::BytesList => DType::String,
            FeatureKind::FloatList => DType::Float32,
            FeatureKind::Int64List => DType::Int64,
        }
    }

    /// The kind whose values have `dtype`, for the three dtypes an Example can hold.
    pub const fn for_dtype(dtype: DType) -> Option<FeatureKind> {
        match dtype {
            DType::String => Some(FeatureKind::BytesList),
            DType::Float32 => Some(FeatureKind::FloatList),
            DType::Int64 => Some(FeatureKind::Int64List),
            _ => None,
        }
    }

    /// TensorFlow's `DataTypeString` of the dtype, which its parse errors use (`float`,
    /// not `float32`), so that messages read the same as TensorFlow's.
    pub const fn tf_type_name(self) -> &'static str {
        match self {
            FeatureKind::BytesList => "string",
            FeatureKind::FloatList => "float",
            FeatureKind::Int64List => "int64",
        }
    }

    /// The word TensorFlow's count errors use for the values ("bytes", "float", "int64").
    pub(crate) const fn tf_value_word(self) -> &'static str {
        match self {
            FeatureKind::BytesList => "bytes",
            FeatureKind::FloatList => "float",
            FeatureKind::Int64List => "int64",
        }
    }

    const fn field_number(self) -> u32 {
        match self {
            FeatureKind::BytesList => 1,
            FeatureKind::FloatList => 2,
            FeatureKind::Int64List => 3,
        }
    }

    const fn from_field_number(field: u32) -> Option<FeatureKind> {
        match field {
            1 => Some(FeatureKind::BytesList),
            2 => Some(FeatureKind::FloatList),
            3 => Some(FeatureKind::Int64List),
            _ => None,
        }
    }

    const fn field_name(self) -> &'static str {
        match self {
            FeatureKind::BytesList => "bytes_list",
            FeatureKind::FloatList => "float_list",
            FeatureKind::Int64List => "int64_list",
        }
    }
}

/// One `tf.train.Feature`, decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum Feature {
    /// A `Feature` with no list set. Parsing treats it as absent for `FixedLen` features
    /// and as an empty list otherwise, as TensorFlow does.
    Unset,
    BytesList(Vec<Bytes>),
    FloatList(Vec<f32>),
    Int64List(Vec<i64>),
}

impl Feature {
    pub fn kind(&self) -> Option<FeatureKind> {
        match self {
            Feature::Unset => None,
            Feature::BytesList(_) => Some(FeatureKind::BytesList),
            Feature::FloatList(_) => Some(FeatureKind::FloatList),
            Feature::Int64List(_) => Some(FeatureKind::Int64List),
        }
    }

    /// The number of values in the list (0 when unset).
    pub fn len(&self) -> usize {
        match self {
            Feature::Unset => 0,
            Feature::BytesList(v) => v.len(),
            Feature::FloatList(v) => v.len(),
            Feature::Int64List(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A decoded `tf.train.SequenceExample`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SequenceExample {
    /// The `context` features, in the order of their first appearance in the record.
    pub context: Vec<(String, Feature)>,
    /// The `feature_lists`, in the order of their first appearance in the record; each
    /// list holds one `Feature` per time step.
    pub feature_lists: Vec<(String, Vec<Feature>)>,
}

// --- lazy views --------------------------------------------------------------------

/// The payload of a message-typed field. A message field set more than once is, to
/// protobuf, the merge of its occurrences, which on the wire is their concatenation; the
/// view keeps the common single occurrence as one slice and finds the others only when
/// there are several.
#[derive(Clone, Copy)]
pub(crate) enum Merged<'a> {
    /// Never set: an empty message.
    Absent,
    /// Set once: its payload.
    Once(Reader<'a>),
    /// Set several times: every `field` payload of `container`, in order.
    Many { container: Reader<'a>, field: u32 },
}

impl<'a> Merged<'a> {
    /// Records one more occurrence (`payload`) of `field` in `container`.
    #[inline]
    fn add(&mut self, container: Reader<'a>, field: u32, payload: Reader<'a>) {
        *self = match *self {
            Merged::Absent => Merged::Once(payload),
            _ => Merged::Many {
                container: container.at(0),
                field,
            },
        };
    }

    /// Calls `f` with each occurrence's payload, in order.
    #[inline]
    fn for_each_part<E: From<WireError>>(
        &self,
        mut f: impl FnMut(Reader<'a>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match *self {
            Merged::Absent => Ok(()),
            Merged::Once(payload) => f(payload),
            Merged::Many {
                mut container,
                field,
            } => {
                while !container.is_at_end() {
                    let (number, wire_type) = container.tag()?;
                    if number == field {
                        // The first pass checked the wire type.
                        f(container.length_delimited()?)?;
                    } else {
                        container.skip(wire_type)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Where the values of a `Feature` are: the kind of the last list field set, and the
/// occurrence and position from which fields of that kind count (an earlier field of
/// another kind was replaced by the later one, as a oneof is).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ListRun {
    pub kind: Option<FeatureKind>,
    part: usize,
    pos: usize,
}

/// A `Feature` inside a record, not yet decoded.
#[derive(Clone, Copy)]
pub(crate) struct FeatureRef<'a>(pub(crate) Merged<'a>);

impl<'a> FeatureRef<'a> {
    /// Finds the kind of list this feature holds, checking the wire types on the way.
    #[inline]
    pub(crate) fn run(&self) -> WireResult<ListRun> {
        let mut run = ListRun {
            kind: None,
            part: 0,
            pos: 0,
        };
        let mut part = 0;
        self.0.for_each_part(|mut r: Reader<'a>| {
            while !r.is_at_end() {
                let pos = r.position();
                let at = r.offset();
                let (field, wire_type) = r.tag()?;
                match FeatureKind::from_field_number(field) {
                    Some(kind) => {
                        if wire_type != WireType::LengthDelimited {
                            return Err(wrong_wire_type(
                                at,
                                kind.field_name(),
                                WireType::LengthDelimited.name(),
                                wire_type,
                            ));
                        }
                        r.length_delimited()?;
                        if run.kind != Some(kind) {
                            run = ListRun {
                                kind: Some(kind),
                                part,
                                pos,
                            };
                        }
                    }
                    None => r.skip(wire_type)?,
                }
            }
            part += 1;
            Ok::<(), WireError>(())
        })?;
        Ok(run)
    }

    /// Calls `f` with each list message of `run` (usually one).
    #[inline]
    fn for_each_list(
        &self,
        run: ListRun,
        mut f: impl FnMut(Reader<'a>) -> WireResult<()>,
    ) -> WireResult<()> {
        let Some(kind) = run.kind else {
            return Ok(());
        };
        let wanted = kind.field_number();
        let mut part = 0;
        self.0.for_each_part(|r: Reader<'a>| {
            let this = part;
            part += 1;
            if this < run.part {
                return Ok(());
            }
            let mut r = if this == run.part { r.at(run.pos) } else { r };
            while !r.is_at_end() {
                let (field, wire_type) = r.tag()?;
                if field == wanted {
                    f(r.length_delimited()?)?;
                } else {
                    r.skip(wire_type)?;
                }
            }
            Ok(())
        })
    }

    /// Calls `f` with every value of an `int64_list` run.
    #[inline]
    pub(crate) fn for_each_int64(&self, run: ListRun, mut f: impl FnMut(i64)) -> WireResult<()> {
        self.for_each_list(run, |mut list| {
            while !list.is_at_end() {
                let at = list.offset();
                let (field, wire_type) = list.tag()?;
                if field != 1 {
                    list.skip(wire_type)?;
                    continue;
                }
                match wire_type {
                    WireType::Varint => f(list.varint()? as i64),
                    WireType::LengthDelimited => {
                        let mut packed = list.length_delimited()?;
                        while !packed.is_at_end() {
                            f(packed.varint()? as i64);
                        }
                    }
                    other => {
                        return Err(wrong_wire_type(
                            at,
                            "int64_list.value",
                            "varint or length-delimited (packed)",
                            other,
                        ))
                    }
                }
            }
            Ok(())
        })
    }

    /// Calls `f` with the little-endian bytes of the values of a `float_list` run, in
    /// chunks of whole floats (a packed field is one chunk, so it can be copied at once).
    #[inline]
    pub(crate) fn for_each_float_chunk(
        &self,
        run: ListRun,
        mut f: impl FnMut(&'a [u8]),
    ) -> WireResult<()> {
        self.for_each_list(run, |mut list| {
            while !list.is_at_end() {
                let at = list.offset();
                let (field, wire_type) = list.tag()?;
                if field != 1 {
                    list.skip(wire_type)?;
                    continue;
                }
                match wire_type {
                    WireType::Fixed32 => {
                        let start = list.position();
                        list.fixed32()?;
                        f(&list.bytes()[start..start + 4]);
                    }
                    WireType::LengthDelimited => {
                        let packed = list.length_delimited()?;
                        let bytes = packed.bytes();
                        if bytes.len() % 4 != 0 {
                            return Err(WireError {
                                offset: packed.base(),
                                kind: WireErrorKind::PackedFloatLength(bytes.len()),
                            });
                        }
                        f(bytes);
                    }
                    other => {
                        return Err(wrong_wire_type(
                            at,
                            "float_list.value",
                            "32-bit or length-delimited (packed)",
                            other,
                        ))
                    }
                }
            }
            Ok(())
        })
    }

    /// Calls `f` with every value of a `bytes_list` run, as a slice of the record.
    #[inline]
    pub(crate) fn for_each_bytes(
        &self,
        run: ListRun,
        mut f: impl FnMut(&'a [u8]),
    ) -> WireResult<()> {
        self.for_each_list(run, |mut list| {
            while !list.is_at_end() {
                let at = list.offset();
                let (field, wire_type) = list.tag()?;
                if field != 1 {
                    list.skip(wire_type)?;
                    continue;
                }
                if wire_type != WireType::LengthDelimited {
                    return Err(wrong_wire_type(
                        at,
                        "bytes_list.value",
                        WireType::LengthDelimited.name(),
                        wire_type,
                    ));
                }
                f(list.length_delimited()?.bytes());
            }
            Ok(())
        })
    }

    /// The feature as an owned value; bytes values are cut from `record` by `share`.
    pub(crate) fn decode<R: RecordBytes + ?Sized>(&self, record: &R) -> WireResult<Feature> {
        let run = self.run()?;
        Ok(match run.kind {
            None => Feature::Unset,
            Some(FeatureKind::BytesList) => {
                let mut values = Vec::new();
                self.for_each_bytes(run, |b| values.push(record.share(b)))?;
                Feature::BytesList(values)
            }
            Some(FeatureKind::FloatList) => {
                let mut values = Vec::new();
                self.for_each_float_chunk(run, |chunk| {
                    values.extend(
                        chunk
                            .chunks_exact(4)
                            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))),
                    )
                })?;
                Feature::FloatList(values)
            }
            Some(FeatureKind::Int64List) => {
                let mut values = Vec::new();
                self.for_each_int64(run, |v| values.push(v))?;
                Feature::Int64List(values)
            }
        })
    }
}

/// A `FeatureList` inside a record, not yet decoded.
#[derive(Clone, Copy)]
pub(crate) struct FeatureListRef<'a>(pub(crate) Merged<'a>);

impl<'a> FeatureListRef<'a> {
    /// Calls `f` with each `Feature` of the list (one per time step), in order.
    pub(crate) fn for_each_feature<E: From<WireError>>(
        &self,
        mut f: impl FnMut(FeatureRef<'a>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.0.for_each_part(|mut r: Reader<'a>| {
            while !r.is_at_end() {
                let at = r.offset();
                let (field, wire_type) = r.tag()?;
                if field != 1 {
                    r.skip(wire_type)?;
                    continue;
                }
                if wire_type != WireType::LengthDelimited {
                    return Err(wrong_wire_type(
                        at,
                        "feature_list.feature",
                        WireType::LengthDelimited.name(),
                        wire_type,
                    )
                    .into());
                }
                f(FeatureRef(Merged::Once(r.length_delimited()?)))?;
            }
            Ok(())
        })
    }
}

/// Checks that a known field is length-delimited and returns its payload.
#[inline]
fn expect_delimited<'a>(
    r: &mut Reader<'a>,
    at: usize,
    field: &'static str,
    wire_type: WireType,
) -> WireResult<Reader<'a>> {
    if wire_type != WireType::LengthDelimited {
        return Err(wrong_wire_type(
            at,
            field,
            WireType::LengthDelimited.name(),
            wire_type,
        ));
    }
    r.length_delimited()
}

/// Calls `f(key, value)` for each entry of a `map<string, Message>` message (`Features`
/// or `FeatureLists`), in the order of the record. A missing key is "" and a missing
/// value an empty message, as protobuf has it.
#[inline]
fn for_each_map_entry<'a>(
    mut map: Reader<'a>,
    entry_name: &'static str,
    mut f: impl FnMut(&'a [u8], Merged<'a>),
) -> WireResult<()> {
    while !map.is_at_end() {
        let at = map.offset();
        let (field, wire_type) = map.tag()?;
        if field != 1 {
            map.skip(wire_type)?;
            continue;
        }
        let mut entry = expect_delimited(&mut map, at, entry_name, wire_type)?;
        let start = entry;
        let mut key: &'a [u8] = &[];
        let mut value = Merged::Absent;
        while !entry.is_at_end() {
            let at = entry.offset();
            let (field, wire_type) = entry.tag()?;
            match field {
                1 => key = expect_delimited(&mut entry, at, "key", wire_type)?.bytes(),
                2 => {
                    let payload = expect_delimited(&mut entry, at, "value", wire_type)?;
                    value.add(start, 2, payload);
                }
                _ => entry.skip(wire_type)?,
            }
        }
        f(key, value);
    }
    Ok(())
}

/// Calls `f(name, feature)` for each entry of an `Example`'s features, in record order
/// (a name given twice is reported twice; the last one is the one that counts).
#[inline]
pub(crate) fn for_each_example_feature<'a>(
    record: &'a [u8],
    mut f: impl FnMut(&'a [u8], FeatureRef<'a>),
) -> WireResult<()> {
    let mut r = Reader::new(record, 0);
    while !r.is_at_end() {
        let at = r.offset();
        let (field, wire_type) = r.tag()?;
        if field == 1 {
            let features = expect_delimited(&mut r, at, "features", wire_type)?;
            for_each_map_entry(features, "features.feature", |k, v| f(k, FeatureRef(v)))?;
        } else {
            r.skip(wire_type)?;
        }
    }
    Ok(())
}

/// Calls `context(name, feature)` for each context feature and `list(name, feature_list)`
/// for each feature list of a `SequenceExample`, in record order.
pub(crate) fn for_each_sequence_part<'a>(
    record: &'a [u8],
    mut context: impl FnMut(&'a [u8], FeatureRef<'a>),
    mut list: impl FnMut(&'a [u8], FeatureListRef<'a>),
) -> WireResult<()> {
    let mut r = Reader::new(record, 0);
    while !r.is_at_end() {
        let at = r.offset();
        let (field, wire_type) = r.tag()?;
        match field {
            1 => {
                let features = expect_delimited(&mut r, at, "context", wire_type)?;
                for_each_map_entry(features, "context.feature", |k, v| {
                    context(k, FeatureRef(v))
                })?;
            }
            2 => {
                let lists = expect_delimited(&mut r, at, "feature_lists", wire_type)?;
                for_each_map_entry(lists, "feature_lists.feature_list", |k, v| {
                    list(k, FeatureListRef(v))
                })?;
            }
            _ => r.skip(wire_type)?,
        }
    }
    Ok(())
}

/// The error for a record that is not a well-formed message of type `what`.
pub(crate) fn malformed(what: &str, err: WireError) -> Error {
    Error::invalid_argument(format!("malformed {what}: {err}"))
}

// --- decoding to owned values ----------------------------------------------------------

/// Keeps the last value of each key at the position where the key first appeared.
struct LastWins<'a, V> {
    entries: Vec<(String, V)>,
    positions: HashMap<&'a [u8], usize>,
}

impl<'a, V> LastWins<'a, V> {
    fn new() -> Self {
        LastWins {
            entries: Vec::new(),
            positions: HashMap::new(),
        }
    }

    fn insert(&mut self, record: &[u8], key: &'a [u8], value: V) -> WireResult<()> {
        if let Some(&i) = self.positions.get(key) {
            self.entries[i].1 = value;
            return Ok(());
        }
        let name = std::str::from_utf8(key).map_err(|_| WireError {
            offset: key.as_ptr() as usize - record.as_ptr() as usize,
            kind: WireErrorKind::KeyNotUtf8,
        })?;
        self.positions.insert(key, self.entries.len());
        self.entries.push((name.to_owned(), value));
        Ok(())
    }
}

/// Decodes a serialized `tf.train.Example` into its features, in the order in which their
/// names first appear in the record. A name given more than once keeps its last value,
/// as protobuf's maps do. Bytes values are slices of `record` when it is a [`Bytes`].
///
/// Malformed input is an `InvalidArgument` error naming the problem and its byte offset.
pub fn decode_example<R: RecordBytes + ?Sized>(record: &R) -> Result<Vec<(String, Feature)>> {
    let bytes = record.record_bytes();
    let mut features = LastWins::new();
    let mut failed = None;
    let walked = for_each_example_feature(bytes, |key, feature| {
        if failed.is_none() {
            if let Err(e) = feature
                .decode(record)
                .and_then(|f| features.insert(bytes, key, f))
            {
                failed = Some(e);
            }
        }
    });
    // A bad feature comes before anything the walk found later in the record.
    failed
        .map_or(walked, Err)
        .map_err(|e| malformed("tf.train.Example", e))?;
    Ok(features.entries)
}

/// Decodes a serialized `tf.train.SequenceExample`; see [`decode_example`] for the rules.
pub fn decode_sequence_example<R: RecordBytes + ?Sized>(record: &R) -> Result<SequenceExample> {
    let bytes = record.record_bytes();
    let mut context = LastWins::new();
    let mut lists = LastWins::new();
    // Both closures record the first error; a Cell lets them share it.
    let failed: Cell<Option<WireError>> = Cell::new(None);
    let walked = for_each_sequence_part(
        bytes,
        |key, feature| {
            if failed.get().is_none() {
                if let Err(e) = feature
                    .decode(record)
                    .and_then(|f| context.insert(bytes, key, f))
                {
                    failed.set(Some(e));
                }
            }
        },
        |key, list| {
            if failed.get().is_none() {
                let mut steps = Vec::new();
                let decoded = list
                    .for_each_feature(|f| {
                        steps.push(f.decode(record)?);
                        Ok::<(), WireError>(())
                    })
                    .and_then(|()| lists.insert(bytes, key, steps));
                if let Err(e) = decoded {
                    failed.set(Some(e));
                }
            }
        },
    );
    failed
        .get()
        .map_or(walked, Err)
        .map_err(|e| malformed("tf.train.SequenceExample", e))?;
    Ok(SequenceExample {
        context: context.entries,
        feature_lists: lists.entries,
    })
}

// --- encoding ------------------------------------------------------------------------

/// Bytes of a `BytesList`/`FloatList`/`Int64List` message.
fn list_len(feature: &Feature) -> usize {
    match feature {
        Feature::Unset => 0,
        Feature::BytesList(values) => values.iter().map(|v| delimited_field_len(v.len())).sum(),
        // Packed, as TensorFlow writes them; an empty packed field is left out.
        Feature::FloatList(values) if values.is_empty() => 0,
        Feature::FloatList(values) => delimited_field_len(4 * values.len()),
        Feature::Int64List(values) if values.is_empty() => 0,
        Feature::Int64List(values) => delimited_field_len(packed_int64_len(values)),
    }
}

fn packed_int64_len(values: &[i64]) -> usize {
    values.iter().map(|&v| varint_len(v as u64)).sum()
}

/// Bytes of a `Feature` message.
fn feature_len(feature: &Feature) -> usize {
    match feature {
        Feature::Unset => 0,
        _ => delimited_field_len(list_len(feature)),
    }
}

fn put_feature(out: &mut Vec<u8>, feature: &Feature) {
    let Some(kind) = feature.kind() else {
        return;
    };
    put_delimited_header(out, kind.field_number() as u8, list_len(feature));
    match feature {
        Feature::Unset => {}
        Feature::BytesList(values) => {
            for v in values {
                put_delimited_header(out, 1, v.len());
                out.extend_from_slice(v);
            }
        }
        Feature::FloatList(values) if !values.is_empty() => {
            put_delimited_header(out, 1, 4 * values.len());
            for v in values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        Feature::Int64List(values) if !values.is_empty() => {
            put_delimited_header(out, 1, packed_int64_len(values));
            for &v in values {
                put_varint(out, v as u64);
            }
        }
        Feature::FloatList(_) | Feature::Int64List(_) => {}
    }
}

/// Bytes of a map entry message with `key` and a value message of `value_len` bytes.
fn entry_len(key: &str, value_len: usize) -> usize {
    delimited_field_len(key.len()) + delimited_field_len(value_len)
}

fn features_len<K: AsRef<str>>(features: &[(K, Feature)]) -> usize {
    features
        .iter()
        .map(|(k, f)| delimited_field_len(entry_len(k.as_ref(), feature_len(f))))
        .sum()
}

fn put_features<K: AsRef<str>>(out: &mut Vec<u8>, features: &[(K, Feature)]) {
    for (key, feature) in features {
        let key = key.as_ref();
        let value_len = feature_len(feature);
        put_delimited_header(out, 1, entry_len(key, value_len));
        put_delimited_header(out, 1, key.len());
        out.extend_from_slice(key.as_bytes());
        put_delimited_header(out, 2, value_len);
        put_feature(out, feature);
    }
}

fn feature_list_len(steps: &[Feature]) -> usize {
    steps
        .iter()
        .map(|f| delimited_field_len(feature_len(f)))
        .sum()
}

/// Serializes a `tf.train.Example` with `features` as its feature map.
///
/// Entries are written in the order given, each with its key then its value; float and
/// int64 lists are packed, and an empty one is an empty list message; no features at all is
/// the empty record. These are the bytes TensorFlow writes for the same entries in the same
/// order. TensorFlow itself has no fixed order: its Python protobuf runtime (upb) writes a
/// map in hash-table order, with a hash seeded per process from an address, so the same
/// Example can serialize differently from one run to the next. Pass the features sorted by
/// name for deterministic output (what protobuf's deterministic serialization does).
pub fn encode_example<K: AsRef<str>>(features: &[(K, Feature)]) -> Vec<u8> {
    if features.is_empty() {
        return Vec::new();
    }
    let len = features_len(features);
    let mut out = Vec::with_capacity(delimited_field_len(len));
    put_delimited_header(&mut out, 1, len);
    put_features(&mut out, features);
    out
}

/// Serializes a `tf.train.SequenceExample`: the `context` features, then the
/// `feature_lists`, each in the order given (see [`encode_example`] on order). An empty
/// part is left out.
pub fn encode_sequence_example<K: AsRef<str>, L: AsRef<str>>(
    context: &[(K, Feature)],
    feature_lists: &[(L, Vec<Feature>)],
) -> Vec<u8> {
    let context_len = features_len(context);
    let lists_len: usize = feature_lists
        .iter()
        .map(|(k, steps)| delimited_field_len(entry_len(k.as_ref(), feature_list_len(steps))))
        .sum();
    let mut out = Vec::new();
    if !context.is_empty() {
        out.reserve(delimited_field_len(context_len));
        put_delimited_header(&mut out, 1, context_len);
        put_features(&mut out, context);
    }
    if !feature_lists.is_empty() {
        out.reserve(delimited_field_len(lists_len));
        put_delimited_header(&mut out, 2, lists_len);
        for (key, steps) in feature_lists {
            let key = key.as_ref();
            let value_len = feature_list_len(steps);
            put_delimited_header(&mut out, 1, entry_len(key, value_len));
            put_delimited_header(&mut out, 1, key.len());
            out.extend_from_slice(key.as_bytes());
            put_delimited_header(&mut out, 2, value_len);
            for step in steps {
                put_delimited_header(&mut out, 1, feature_len(step));
                put_feature(&mut out, step);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int64s(v: &[i64]) -> Feature {
        Feature::Int64List(v.to_vec())
    }

    #[test]
    fn round_trips_each_kind() {
        let features = vec![
            (
                "b".to_string(),
                Feature::BytesList(vec![Bytes::from_static(b"xy"), Bytes::new()]),
            ),
            (
                "f".to_string(),
                Feature::FloatList(vec![1.5, -0.0, f32::INFINITY]),
            ),
            ("i".to_string(), int64s(&[0, -1, i64::MIN, i64::MAX, 300])),
            ("e".to_string(), int64s(&[])),
            ("u".to_string(), Feature::Unset),
        ];
        let bytes = Bytes::from(encode_example(&features));
        assert_eq!(decode_example(&bytes).unwrap(), features);
        assert!(encode_example::<&str>(&[]).is_empty());
        assert!(decode_example(&[][..]).unwrap().is_empty());
    }

    #[test]
    fn unpacked_values_unknown_fields_and_merged_lists_decode() {
        // Feature { int64_list { value: 5 (unpacked), value: [6, 7] (packed), field 9 } }
        let list = [0x08, 5, 0x0a, 2, 6, 7, 0x48, 1];
        let mut feature = vec![0x1a, list.len() as u8];
        feature.extend_from_slice(&list);
        // The same Feature given twice in the entry: the two merge.
        let mut entry = vec![0x0a, 1, b'k', 0x12, feature.len() as u8];
        entry.extend_from_slice(&feature);
        entry.extend_from_slice(&[0x12, feature.len() as u8]);
        entry.extend_from_slice(&feature);
        entry.extend_from_slice(&[0x18, 3]); // an unknown varint field in the entry
        let mut features = vec![0x0a, entry.len() as u8];
        features.extend_from_slice(&entry);
        let mut record = vec![0x0a, features.len() as u8];
        record.extend_from_slice(&features);
        record.extend_from_slice(&[0x15, 0, 0, 0, 0]); // an unknown fixed32 field
        assert_eq!(
            decode_example(&record[..]).unwrap(),
            vec![("k".to_string(), int64s(&[5, 6, 7, 5, 6, 7]))]
        );
    }

    #[test]
    fn the_last_list_kind_and_the_last_duplicate_key_win() {
        // Feature { float_list {1.0}, int64_list {4} }: the oneof keeps the int64 list.
        let feature = [0x12, 6, 0x0a, 4, 0, 0, 0x80, 0x3f, 0x1a, 3, 0x0a, 1, 4];
        let mut entry = vec![0x0a, 1, b'k', 0x12, feature.len() as u8];
        entry.extend_from_slice(&feature);
        let mut features = vec![0x0a, entry.len() as u8];
        features.extend_from_slice(&entry);
        let later = encode_example(&[("a", int64s(&[1])), ("k", int64s(&[9]))]);
        let mut record = vec![0x0a, features.len() as u8];
        record.extend_from_slice(&features);
        record.extend_from_slice(&later); // a second `features` field merges its map in
        assert_eq!(
            decode_example(&record[..]).unwrap(),
            vec![
                ("k".to_string(), int64s(&[9])),
                ("a".to_string(), int64s(&[1]))
            ]
        );
        let first_only = &record[..2 + features.len()];
        assert_eq!(
            decode_example(first_only).unwrap(),
            vec![("k".to_string(), int64s(&[4]))]
        );
    }

    #[test]
    fn malformed_records_are_invalid_argument_errors_with_offsets() {
        let good = encode_example(&[("k", Feature::FloatList(vec![1.0, 2.0]))]);
        // Every truncation of a good record is an error, never a panic.
        for cut in 1..good.len() {
            let err = decode_example(&good[..cut]).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument, "{err}");
            assert!(err
                .message()
                .starts_with("malformed tf.train.Example: at byte"));
        }
        let cases: &[(&[u8], &str)] = &[
            (&[0x0a, 0x80], "at byte 1: the input ends inside a varint"),
            (
                &[0x0a, 0x05, 0x0a],
                "at byte 1: a length of 5 bytes runs past the end",
            ),
            (&[0x10, 0x01], ""), // an unknown varint field: skipped
            (
                &[0x11, 1, 2],
                "at byte 1: the input ends inside a 8-byte value",
            ),
            (
                &[0x15, 1, 2],
                "at byte 1: the input ends inside a 4-byte value",
            ),
            (&[0x0b], "group"),
            (&[0x0e, 0], "wire type 6 does not exist"),
            (
                &[0x15, 0, 0, 0, 0, 0x15],
                "at byte 6: the input ends inside a 4-byte value",
            ),
            (&[0x10, 0x01, 0x0a, 0x00, 0x00], "at byte 4: field number 0"),
            (
                &[
                    0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
                ],
                "at byte 1: a varint is longer than 64 bits",
            ),
            (
                &[0x08, 1],
                "at byte 0: field `features` has wire type varint",
            ),
            // an entry whose value is a fixed32
            (
                &[0x0a, 0x07, 0x0a, 0x05, 0x15, 0, 0, 0, 0],
                "at byte 4: field `value` has wire type 32-bit",
            ),
            // a packed float list of 3 bytes
            (
                &[
                    0x0a, 0x0b, 0x0a, 0x09, 0x12, 0x07, 0x12, 0x05, 0x0a, 0x03, 0, 0, 0,
                ],
                "at byte 10: a packed float list of 3 bytes",
            ),
            // an int64 value as a fixed64
            (
                &[
                    0x0a, 0x0f, 0x0a, 0x0d, 0x12, 0x0b, 0x1a, 0x09, 0x09, 1, 2, 3, 4, 5, 6, 7, 8,
                ],
                "at byte 8: field `int64_list.value` has wire type 64-bit",
            ),
            // a bad feature followed by a bad top-level field: the first error is reported
            (
                &[
                    0x0a, 0x08, 0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x0a, 0x01, 0x00,
                ],
                "at byte 9: a length of 1 bytes",
            ),
            (
                &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
                "at byte 1: a length of 4294967295 bytes",
            ),
            (
                &[0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff],
                "at byte 6: a feature name is not valid UTF-8",
            ),
        ];
        for (bytes, expected) in cases {
            match decode_example(*bytes) {
                Ok(_) => assert!(expected.is_empty(), "{bytes:02x?} decoded"),
                Err(e) => {
                    assert!(e.message().contains(expected), "{bytes:02x?}: {e}");
                    assert!(!expected.is_empty(), "{bytes:02x?}: {e}");
                }
            }
        }
    }

    #[test]
    fn sequence_examples_round_trip() {
        let context = vec![("len".to_string(), int64s(&[2]))];
        let lists = vec![
            ("tok".to_string(), vec![int64s(&[3]), int64s(&[4])]),
            ("none".to_string(), vec![]),
            (
                "mixed".to_string(),
                vec![Feature::Unset, Feature::FloatList(vec![0.5])],
            ),
        ];
        let bytes = encode_sequence_example(&context, &lists);
        let decoded = decode_sequence_example(&bytes[..]).unwrap();
        assert_eq!(decoded.context, context);
        assert_eq!(decoded.feature_lists, lists);
        assert_eq!(
            decode_sequence_example(&[][..]).unwrap(),
            SequenceExample::default()
        );
        // Cut anywhere but between the two parts, the record is malformed.
        let context_only = encode_sequence_example::<_, &str>(&context, &[]);
        for cut in 1..bytes.len() {
            let decoded = decode_sequence_example(&bytes[..cut]);
            assert_eq!(decoded.is_ok(), cut == context_only.len(), "cut at {cut}");
        }
    }
}
