//! `parse_example` and `parse_single_example`: records to tensors, with the semantics of
//! TensorFlow's `ParseExampleV2`.
//!
//! Each record is read in two passes over its own bytes. The first walks the feature map
//! and, for each name the spec has, remembers where its `Feature` is (a later entry with
//! the same name replaces an earlier one: protobuf's last-wins rule). The second goes
//! through the spec in order and writes each remembered feature's values straight into
//! the output column: a fixed-length feature into its row of the preallocated
//! `[batch, ...shape]` buffer, a list feature onto the end of the batch's values. Nothing
//! is allocated per record or per value, and string values are slices of the record.

use bytes::Bytes;
use smallvec::SmallVec;

use super::codec::{for_each_example_feature, FeatureKind, FeatureRef, ListRun, RecordBytes};
use super::spec::{CompiledFeature, FeatureSpec, ParseSpec};
use super::wire::{WireError, WireResult};
use crate::error::{Error, Result};
use crate::value::Tensor;

/// One parsed feature, in the form its spec asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum ParsedFeature {
    /// `FixedLen`: `[batch, ...shape]` from [`parse_example`], `[...shape]` from
    /// [`parse_single_example`]. Also a `Ragged` feature of a single example, which, as in
    /// TensorFlow, is just its 1-D values.
    Dense(Tensor),
    /// `VarLen`: int64 `indices` `[nnz, rank]`, `values` `[nnz]` and int64 `dense_shape`
    /// `[rank]`, where rank is 2 for a batch (`[batch, longest list]`) and 1 for a single
    /// example.
    Sparse {
        indices: Tensor,
        values: Tensor,
        dense_shape: Tensor,
    },
    /// `Ragged` of a batch: flat `values` `[nnz]` and int64 `row_splits` `[batch + 1]`, row
    /// `i` being `values[row_splits[i]..row_splits[i + 1]]`.
    Ragged { values: Tensor, row_splits: Tensor },
}

/// The example name TensorFlow puts in its messages when it was given none.
pub(crate) const UNNAMED: &str = "<unknown>";

/// TensorFlow's `TensorShape::DebugString`: `[]`, `[4]`, `[2,3]`.
pub(crate) fn shape_string(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(","))
}

/// The values of one output: a column for the whole batch.
pub(crate) enum Values {
    Int64(Vec<i64>),
    Float(Vec<f32>),
    Bytes(Vec<Bytes>),
}

/// Copies little-endian float bytes into `dst` (`src.len() == 4 * dst.len()`).
#[inline]
fn copy_le_floats(dst: &mut [f32], src: &[u8]) {
    if cfg!(target_endian = "little") {
        bytemuck::cast_slice_mut::<f32, u8>(dst).copy_from_slice(src);
    } else {
        for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
            *d = f32::from_le_bytes(s.try_into().expect("4 bytes"));
        }
    }
}

impl Values {
    /// `len` zeros (empty strings) of `kind`, to be overwritten in place.
    pub(crate) fn zeroed(kind: FeatureKind, len: usize) -> Values {
        match kind {
            FeatureKind::Int64List => Values::Int64(vec![0; len]),
            FeatureKind::FloatList => Values::Float(vec![0.0; len]),
            FeatureKind::BytesList => Values::Bytes(vec![Bytes::new(); len]),
        }
    }

    pub(crate) fn empty(kind: FeatureKind) -> Values {
        Values::zeroed(kind, 0)
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Values::Int64(v) => v.len(),
            Values::Float(v) => v.len(),
            Values::Bytes(v) => v.len(),
        }
    }

    /// Writes the values of `feature` (whose list is of this column's kind) to
    /// `[offset, offset + stride)` and returns how many it has; values past `stride` are
    /// counted but not written, so the caller can report the count.
    #[inline]
    pub(crate) fn write_fixed<R: RecordBytes + ?Sized>(
        &mut self,
        offset: usize,
        stride: usize,
        feature: &FeatureRef<'_>,
        run: ListRun,
        record: &R,
    ) -> WireResult<usize> {
        let mut n = 0usize;
        match self {
            Values::Int64(v) => {
                let out = &mut v[offset..offset + stride];
                feature.for_each_int64(run, |x| {
                    if let Some(slot) = out.get_mut(n) {
                        *slot = x;
                    }
                    n += 1;
                })?;
            }
            Values::Float(v) => {
                let out = &mut v[offset..offset + stride];
                feature.for_each_float_chunk(run, |chunk| {
                    let count = chunk.len() / 4;
                    if n < stride {
                        let take = count.min(stride - n);
                        copy_le_floats(&mut out[n..n + take], &chunk[..4 * take]);
                    }
                    n += count;
                })?;
            }
            Values::Bytes(v) => {
                let out = &mut v[offset..offset + stride];
                feature.for_each_bytes(run, |b| {
                    if let Some(slot) = out.get_mut(n) {
                        *slot = record.share(b);
                    }
                    n += 1;
                })?;
            }
        }
        Ok(n)
    }

    /// Appends the values of `feature` (whose list is of this column's kind).
    #[inline]
    pub(crate) fn append<R: RecordBytes + ?Sized>(
        &mut self,
        feature: &FeatureRef<'_>,
        run: ListRun,
        record: &R,
    ) -> WireResult<()> {
        match self {
            Values::Int64(v) => feature.for_each_int64(run, |x| v.push(x)),
            Values::Float(v) => feature.for_each_float_chunk(run, |chunk| {
                let start = v.len();
                v.resize(start + chunk.len() / 4, 0.0);
                copy_le_floats(&mut v[start..], chunk);
            }),
            Values::Bytes(v) => feature.for_each_bytes(run, |b| v.push(record.share(b))),
        }
    }

    /// Copies the values of `default` (of this column's dtype) to `offset`.
    pub(crate) fn fill_from(&mut self, offset: usize, default: &Tensor) -> Result<()> {
        let n = default.num_elements();
        match self {
            Values::Int64(v) => v[offset..offset + n].copy_from_slice(default.as_slice()?),
            Values::Float(v) => v[offset..offset + n].copy_from_slice(default.as_slice()?),
            Values::Bytes(v) => v[offset..offset + n].clone_from_slice(default.string_values()?),
        }
        Ok(())
    }

    pub(crate) fn into_tensor(self, shape: &[usize]) -> Tensor {
        match self {
            Values::Int64(v) => Tensor::from_vec(shape, v),
            Values::Float(v) => Tensor::from_vec(shape, v),
            Values::Bytes(v) => Tensor::strings(shape, v),
        }
        .expect("the column has one value per element of its shape")
    }
}

/// `[batch, ...shape]`.
fn with_batch(batch: usize, shape: &[usize]) -> SmallVec<[usize; 4]> {
    let mut full = SmallVec::with_capacity(shape.len() + 1);
    full.push(batch);
    full.extend_from_slice(shape);
    full
}

/// The sparse tensor of lists whose row `r` ends at `ends[r]` in `values`: indices
/// `(row, position)`, with rank 2 (`[rows, longest]`), or rank 1 for a single list.
pub(crate) fn sparse_from_lists(values: Values, ends: &[usize], rank_one: bool) -> ParsedFeature {
    let nnz = values.len();
    let mut longest = 0;
    let mut indices: Vec<i64> = Vec::with_capacity(if rank_one { nnz } else { 2 * nnz });
    let mut start = 0;
    for (row, &end) in ends.iter().enumerate() {
        longest = longest.max(end - start);
        for position in 0..end - start {
            if !rank_one {
                indices.push(row as i64);
            }
            indices.push(position as i64);
        }
        start = end;
    }
    let (index_shape, dense_shape) = if rank_one {
        ([nnz, 1], vec![longest as i64])
    } else {
        ([nnz, 2], vec![ends.len() as i64, longest as i64])
    };
    let rank = dense_shape.len();
    ParsedFeature::Sparse {
        indices: Tensor::from_vec(&index_shape, indices).expect("two indices per value"),
        values: values.into_tensor(&[nnz]),
        dense_shape: Tensor::from_vec(&[rank], dense_shape).expect("rank dims"),
    }
}

/// The ragged tensor of lists whose row `r` ends at `ends[r]` in `values`.
pub(crate) fn ragged_from_lists(values: Values, ends: &[usize]) -> ParsedFeature {
    let nnz = values.len();
    let mut row_splits = Vec::with_capacity(ends.len() + 1);
    row_splits.push(0i64);
    row_splits.extend(ends.iter().map(|&e| e as i64));
    ParsedFeature::Ragged {
        values: values.into_tensor(&[nnz]),
        row_splits: Tensor::from_vec(&[ends.len() + 1], row_splits).expect("rows + 1 splits"),
    }
}

/// One output column and, for list features, where each row ends in it.
struct Column {
    values: Values,
    ends: Vec<usize>,
}

/// The columns of a batch being parsed; rows are filled in any order, each once.
pub(crate) struct Batch<'s> {
    spec: &'s ParseSpec,
    rows: usize,
    columns: Vec<Column>,
}

/// What went wrong with one feature of one record, in TensorFlow's words.
fn feature_error(key: &str, index: usize, what: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!(
        "Name: {UNNAMED}, Key: {key}, Index: {index}.  {what}"
    ))
}

fn feature_parse_error(key: &str, index: usize, err: WireError) -> Error {
    feature_error(
        key,
        index,
        format_args!("Can't parse serialized Example: {err}"),
    )
}

impl<'s> Batch<'s> {
    pub(crate) fn new(spec: &'s ParseSpec, rows: usize) -> Batch<'s> {
        let columns = spec
            .features()
            .iter()
            .map(|f| match f.spec {
                FeatureSpec::FixedLen { .. } => Column {
                    values: Values::zeroed(f.kind, rows * f.stride),
                    ends: Vec::new(),
                },
                _ => Column {
                    values: Values::empty(f.kind),
                    ends: Vec::with_capacity(rows),
                },
            })
            .collect();
        Batch {
            spec,
            rows,
            columns,
        }
    }

    /// Writes row `row` from the features found in its record (`found[d]` is spec
    /// feature `d`'s last entry in the record, if any). List rows must be filled in order.
    pub(crate) fn fill_row<R: RecordBytes + ?Sized>(
        &mut self,
        row: usize,
        record: &R,
        found: &[Option<FeatureRef<'_>>],
    ) -> Result<()> {
        for ((feature, column), found) in self
            .spec
            .features()
            .iter()
            .zip(&mut self.columns)
            .zip(found)
        {
            fill_feature(feature, column, row, record, found.as_ref())?;
        }
        Ok(())
    }

    /// The parsed tensors, in spec order; `single` drops the batch dimension of a batch
    /// of one, as `parse_single_example` does.
    pub(crate) fn finish(self, single: bool) -> Vec<(String, ParsedFeature)> {
        let rows = self.rows;
        self.spec
            .features()
            .iter()
            .zip(self.columns)
            .map(|(feature, column)| {
                let parsed = match feature.spec {
                    FeatureSpec::FixedLen { ref shape, .. } => {
                        if single {
                            ParsedFeature::Dense(column.values.into_tensor(shape))
                        } else {
                            ParsedFeature::Dense(
                                column.values.into_tensor(&with_batch(rows, shape)),
                            )
                        }
                    }
                    FeatureSpec::Ragged { .. } if single => {
                        let nnz = column.values.len();
                        ParsedFeature::Dense(column.values.into_tensor(&[nnz]))
                    }
                    FeatureSpec::Ragged { .. } => ragged_from_lists(column.values, &column.ends),
                    FeatureSpec::VarLen { .. } | FeatureSpec::FixedLenSequence { .. } => {
                        sparse_from_lists(column.values, &column.ends, single)
                    }
                };
                (feature.name.clone(), parsed)
            })
            .collect()
    }
}

/// The run of a found feature, or `None` when the feature is absent or has no list set
/// (TensorFlow treats both the same).
#[inline]
fn present<'a>(
    feature: &CompiledFeature,
    row: usize,
    found: Option<&FeatureRef<'a>>,
) -> Result<Option<(FeatureRef<'a>, ListRun, FeatureKind)>> {
    let Some(f) = found else {
        return Ok(None);
    };
    let run = f
        .run()
        .map_err(|e| feature_parse_error(&feature.name, row, e))?;
    Ok(run.kind.map(|kind| (*f, run, kind)))
}

#[inline]
fn fill_feature<R: RecordBytes + ?Sized>(
    feature: &CompiledFeature,
    column: &mut Column,
    row: usize,
    record: &R,
    found: Option<&FeatureRef<'_>>,
) -> Result<()> {
    let present = present(feature, row, found)?;
    match &feature.spec {
        FeatureSpec::FixedLen { shape, default, .. } => {
            let stride = feature.stride;
            let Some((f, run, kind)) = present else {
                return match default {
                    Some(default) => column.values.fill_from(row * stride, default),
                    None => Err(Error::invalid_argument(format!(
                        "Name: {UNNAMED}, Feature: {} (data type: {}) is required but could not be found.",
                        feature.name,
                        feature.kind.tf_type_name()
                    ))),
                };
            };
            if kind != feature.kind {
                return Err(feature_error(
                    &feature.name,
                    row,
                    format_args!(
                        "Data types don't match. Data type: {} but expected type: {}",
                        kind.tf_type_name(),
                        feature.kind.tf_type_name()
                    ),
                ));
            }
            let count = column
                .values
                .write_fixed(row * stride, stride, &f, run, record)
                .map_err(|e| feature_parse_error(&feature.name, row, e))?;
            if count != stride {
                return Err(feature_error(
                    &feature.name,
                    row,
                    format_args!(
                        "Number of {} values != expected.  Values size: {count} but output shape: {}",
                        feature.kind.tf_value_word(),
                        shape_string(shape)
                    ),
                ));
            }
            Ok(())
        }
        _ => {
            if let Some((f, run, kind)) = present {
                if kind != feature.kind {
                    return Err(feature_error(
                        &feature.name,
                        row,
                        format_args!(
                            "Data types don't match. Expected type: {}, Actual type: {}",
                            feature.kind.tf_type_name(),
                            kind.tf_type_name()
                        ),
                    ));
                }
                column
                    .values
                    .append(&f, run, record)
                    .map_err(|e| feature_parse_error(&feature.name, row, e))?;
            }
            column.ends.push(column.values.len());
            Ok(())
        }
    }
}

/// Finds the spec's features in one Example record: `found[d]` becomes the last entry
/// named like spec feature `d`, or `None`.
#[inline]
fn find_features<'a>(
    spec: &ParseSpec,
    record: &'a [u8],
    found: &mut [Option<FeatureRef<'a>>],
) -> WireResult<()> {
    found.fill(None);
    for_each_example_feature(record, |key, feature| {
        if let Some(d) = spec.find(key) {
            found[d] = Some(feature);
        }
    })
}

fn record_error(index: usize, err: WireError) -> Error {
    Error::invalid_argument(format!(
        "Name: {UNNAMED}, Index: {index}.  Could not parse example input: {err}"
    ))
}

fn check_example_spec(spec: &ParseSpec) -> Result<()> {
    spec.check_kinds("parse_example", |s| {
        !matches!(s, FeatureSpec::FixedLenSequence { .. })
    })
}

/// Parses a batch of serialized `tf.train.Example`s, as `tf.io.parse_example` does:
/// `FixedLen` features become dense `[batch, ...shape]` tensors, `VarLen` ones sparse
/// tensors with dense shape `[batch, longest list]`, `Ragged` ones flat values with
/// `batch + 1` row splits. Features come back in spec order.
///
/// Errors (`InvalidArgument`) name the feature and record as TensorFlow's do: a required
/// feature that is missing, a fixed-length feature with the wrong number of values, a list
/// of the wrong type, or a malformed record (with the byte offset).
pub fn parse_example<R: RecordBytes>(
    records: &[R],
    spec: &ParseSpec,
) -> Result<Vec<(String, ParsedFeature)>> {
    check_example_spec(spec)?;
    let mut batch = Batch::new(spec, records.len());
    let mut found: Vec<Option<FeatureRef<'_>>> = vec![None; spec.len()];
    for (row, record) in records.iter().enumerate() {
        find_features(spec, record.record_bytes(), &mut found).map_err(|e| record_error(row, e))?;
        batch.fill_row(row, record, &found)?;
    }
    Ok(batch.finish(false))
}

/// Parses one serialized `tf.train.Example`, as `tf.io.parse_single_example` does:
/// `FixedLen` features are dense tensors of their shape; `VarLen` ones sparse tensors of
/// rank 1 (indices `[n, 1]`, dense shape `[n]`); `Ragged` ones, which have no ragged
/// dimension left without a batch, are their 1-D values as a [`ParsedFeature::Dense`].
pub fn parse_single_example<R: RecordBytes + ?Sized>(
    record: &R,
    spec: &ParseSpec,
) -> Result<Vec<(String, ParsedFeature)>> {
    check_example_spec(spec)?;
    let mut batch = Batch::new(spec, 1);
    let mut found: SmallVec<[Option<FeatureRef<'_>>; 16]> = SmallVec::from_elem(None, spec.len());
    find_features(spec, record.record_bytes(), &mut found).map_err(|e| record_error(0, e))?;
    batch.fill_row(0, record, &found)?;
    Ok(batch.finish(true))
}

#[cfg(test)]
mod tests {
    use super::super::codec::{encode_example, Feature};
    use super::*;
    use crate::value::DType;

    fn spec() -> ParseSpec {
        ParseSpec::new([
            (
                "id",
                FeatureSpec::FixedLen {
                    shape: vec![],
                    dtype: DType::Int64,
                    default: None,
                },
            ),
            (
                "emb",
                FeatureSpec::FixedLen {
                    shape: vec![2],
                    dtype: DType::Float32,
                    default: Some(Tensor::from_vec(&[2], vec![-1.0f32, -2.0]).unwrap()),
                },
            ),
            (
                "tags",
                FeatureSpec::VarLen {
                    dtype: DType::String,
                },
            ),
            (
                "r",
                FeatureSpec::Ragged {
                    dtype: DType::Int64,
                },
            ),
        ])
        .unwrap()
    }

    fn record(features: &[(&str, Feature)]) -> Bytes {
        Bytes::from(encode_example(features))
    }

    fn dense(parsed: &[(String, ParsedFeature)], i: usize) -> &Tensor {
        match &parsed[i].1 {
            ParsedFeature::Dense(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_batch_fills_defaults_lists_and_zero_copy_strings() {
        let records = [
            record(&[
                ("id", Feature::Int64List(vec![7])),
                ("emb", Feature::FloatList(vec![0.5, 1.5])),
                ("tags", Feature::BytesList(vec![Bytes::from_static(b"ab")])),
                ("other", Feature::FloatList(vec![3.0])),
            ]),
            record(&[
                ("id", Feature::Int64List(vec![8])),
                ("r", Feature::Int64List(vec![1, 2, 3])),
                ("tags", Feature::Unset),
            ]),
        ];
        let parsed = parse_example(&records, &spec()).unwrap();
        let names: Vec<&str> = parsed.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["id", "emb", "tags", "r"]);
        assert_eq!(dense(&parsed, 0).as_slice::<i64>().unwrap(), &[7, 8]);
        assert_eq!(dense(&parsed, 0).shape(), &[2]);
        assert_eq!(
            dense(&parsed, 1).as_slice::<f32>().unwrap(),
            &[0.5, 1.5, -1.0, -2.0]
        );
        assert_eq!(dense(&parsed, 1).shape(), &[2, 2]);
        let ParsedFeature::Sparse {
            indices,
            values,
            dense_shape,
        } = &parsed[2].1
        else {
            panic!()
        };
        assert_eq!(indices.as_slice::<i64>().unwrap(), &[0, 0]);
        assert_eq!(dense_shape.as_slice::<i64>().unwrap(), &[2, 1]);
        let tag = &values.string_values().unwrap()[0];
        assert_eq!(tag, "ab");
        let range = records[0].as_ptr_range();
        assert!(
            range.contains(&tag.as_ptr()),
            "the string is a slice of the record"
        );
        let ParsedFeature::Ragged { values, row_splits } = &parsed[3].1 else {
            panic!()
        };
        assert_eq!(values.as_slice::<i64>().unwrap(), &[1, 2, 3]);
        assert_eq!(row_splits.as_slice::<i64>().unwrap(), &[0, 0, 3]);
    }

    #[test]
    fn a_single_example_has_no_batch_dimension() {
        let r = record(&[
            ("id", Feature::Int64List(vec![7])),
            (
                "tags",
                Feature::BytesList(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]),
            ),
            ("r", Feature::Int64List(vec![4, 5])),
        ]);
        let parsed = parse_single_example(&r, &spec()).unwrap();
        assert_eq!(dense(&parsed, 0), &Tensor::scalar(7i64));
        assert_eq!(dense(&parsed, 1).shape(), &[2]);
        let ParsedFeature::Sparse {
            indices,
            dense_shape,
            ..
        } = &parsed[2].1
        else {
            panic!()
        };
        assert_eq!(indices.shape(), &[2, 1]);
        assert_eq!(indices.as_slice::<i64>().unwrap(), &[0, 1]);
        assert_eq!(dense_shape.as_slice::<i64>().unwrap(), &[2]);
        assert_eq!(dense(&parsed, 3).as_slice::<i64>().unwrap(), &[4, 5]);
        // A &[u8] record works too; its strings are copies.
        assert_eq!(parse_single_example(&r[..], &spec()).unwrap(), parsed);
    }

    #[test]
    fn errors_read_like_tensorflows() {
        let s = spec();
        let missing = parse_single_example(&record(&[]), &s).unwrap_err();
        assert_eq!(
            missing.message(),
            "Name: <unknown>, Feature: id (data type: int64) is required but could not be found."
        );
        let unset = record(&[("id", Feature::Unset)]);
        assert!(parse_single_example(&unset, &s)
            .unwrap_err()
            .message()
            .contains("is required"));

        let short = record(&[
            ("id", Feature::Int64List(vec![1])),
            ("emb", Feature::FloatList(vec![1.0, 2.0, 3.0])),
        ]);
        let good = record(&[("id", Feature::Int64List(vec![1]))]);
        let err = parse_example(&[good.clone(), short], &s).unwrap_err();
        assert_eq!(
            err.message(),
            "Name: <unknown>, Key: emb, Index: 1.  Number of float values != expected.  \
             Values size: 3 but output shape: [2]"
        );
        let wrong_type = record(&[("id", Feature::FloatList(vec![1.0]))]);
        assert_eq!(
            parse_single_example(&wrong_type, &s).unwrap_err().message(),
            "Name: <unknown>, Key: id, Index: 0.  Data types don't match. Data type: float but \
             expected type: int64"
        );
        let wrong_list = record(&[
            ("id", Feature::Int64List(vec![1])),
            ("tags", Feature::Int64List(vec![1])),
        ]);
        assert_eq!(
            parse_single_example(&wrong_list, &s).unwrap_err().message(),
            "Name: <unknown>, Key: tags, Index: 0.  Data types don't match. Expected type: \
             string, Actual type: int64"
        );
        let mut truncated = good.to_vec();
        truncated.pop();
        let err = parse_example(&[good, Bytes::from(truncated)], &s).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert!(
            err.message()
                .starts_with("Name: <unknown>, Index: 1.  Could not parse example input: at byte"),
            "{err}"
        );
    }

    #[test]
    fn the_last_duplicate_wins_even_over_a_bad_earlier_one() {
        let r = record(&[
            ("id", Feature::FloatList(vec![1.0, 2.0])),
            ("id", Feature::Int64List(vec![3])),
            ("r", Feature::Int64List(vec![1])),
            ("r", Feature::Int64List(vec![2, 2])),
        ]);
        let parsed = parse_single_example(&r, &spec()).unwrap();
        assert_eq!(dense(&parsed, 0), &Tensor::scalar(3i64));
        assert_eq!(dense(&parsed, 3).as_slice::<i64>().unwrap(), &[2, 2]);
    }

    #[test]
    fn an_empty_batch_has_empty_outputs() {
        let parsed = parse_example::<Bytes>(&[], &spec()).unwrap();
        assert_eq!(dense(&parsed, 1).shape(), &[0, 2]);
        let ParsedFeature::Ragged { row_splits, .. } = &parsed[3].1 else {
            panic!()
        };
        assert_eq!(row_splits.as_slice::<i64>().unwrap(), &[0]);
    }

    #[test]
    fn sequence_specs_are_refused() {
        let s = ParseSpec::new([(
            "x",
            FeatureSpec::FixedLenSequence {
                shape: vec![],
                dtype: DType::Int64,
                allow_missing: true,
                default: None,
            },
        )])
        .unwrap();
        let err = parse_single_example(&[][..], &s).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Argument);
    }
}
