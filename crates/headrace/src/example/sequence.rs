//! `parse_single_sequence_example`: a `tf.train.SequenceExample` to tensors, with the
//! semantics of TensorFlow's `ParseSingleSequenceExample`.

use smallvec::SmallVec;

use super::codec::{for_each_sequence_part, FeatureListRef, FeatureRef, RecordBytes};
use super::parse::{
    ragged_from_lists, shape_string, sparse_from_lists, Batch, ParsedFeature, Values, UNNAMED,
};
use super::spec::{CompiledFeature, FeatureSpec, ParseSpec};
use super::wire::WireError;
use crate::error::{Error, Result};

/// The parts of a parsed `SequenceExample`, each in its spec's order.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedSequence {
    /// The context features, parsed as [`super::parse_single_example`] parses features.
    pub context: Vec<(String, ParsedFeature)>,
    /// The feature lists: `FixedLenSequence` as dense `[steps, ...shape]`; `VarLen` as
    /// sparse with dense shape `[steps, longest]`; `Ragged` as values and `steps + 1`
    /// row splits.
    pub sequence: Vec<(String, ParsedFeature)>,
}

/// An error while walking one feature list: malformed bytes, or a step that does not fit
/// its spec.
enum StepError {
    Wire(WireError),
    Parse(Error),
}

impl From<WireError> for StepError {
    fn from(e: WireError) -> Self {
        StepError::Wire(e)
    }
}

fn list_parse_error(key: &str, step: usize, err: WireError) -> Error {
    Error::invalid_argument(format!(
        "Name: {UNNAMED}, Key: {key}, Index: {step}.  Can't parse serialized SequenceExample: {err}"
    ))
}

/// Parses one serialized `tf.train.SequenceExample`: `context_spec` (`FixedLen`,
/// `VarLen`, `Ragged`) applies to its context features, `sequence_spec`
/// (`FixedLenSequence`, `VarLen`, `Ragged`) to its feature lists.
///
/// A `FixedLenSequence` list that is absent is an error unless `allow_missing`; every step
/// must hold exactly the shape's number of values of the spec's type. Errors are
/// `InvalidArgument` and read as TensorFlow's do.
pub fn parse_single_sequence_example<R: RecordBytes + ?Sized>(
    record: &R,
    context_spec: &ParseSpec,
    sequence_spec: &ParseSpec,
) -> Result<ParsedSequence> {
    context_spec.check_kinds("the context of a SequenceExample", |s| {
        !matches!(s, FeatureSpec::FixedLenSequence { .. })
    })?;
    sequence_spec.check_kinds("the feature lists of a SequenceExample", |s| {
        !matches!(s, FeatureSpec::FixedLen { .. })
    })?;
    let mut context_found: SmallVec<[Option<FeatureRef<'_>>; 16]> =
        SmallVec::from_elem(None, context_spec.len());
    let mut lists_found: SmallVec<[Option<FeatureListRef<'_>>; 16]> =
        SmallVec::from_elem(None, sequence_spec.len());
    for_each_sequence_part(
        record.record_bytes(),
        |key, feature| {
            if let Some(d) = context_spec.find(key) {
                context_found[d] = Some(feature);
            }
        },
        |key, list| {
            if let Some(d) = sequence_spec.find(key) {
                lists_found[d] = Some(list);
            }
        },
    )
    .map_err(|e| {
        Error::invalid_argument(format!(
            "Name: {UNNAMED}.  Could not parse sequence example input: {e}"
        ))
    })?;

    let mut context = Batch::new(context_spec, 1);
    context.fill_row(0, record, &context_found)?;
    let sequence = sequence_spec
        .features()
        .iter()
        .zip(&lists_found)
        .map(|(feature, list)| {
            parse_feature_list(feature, list.as_ref(), record).map(|p| (feature.name.clone(), p))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ParsedSequence {
        context: context.finish(true),
        sequence,
    })
}

fn parse_feature_list<R: RecordBytes + ?Sized>(
    feature: &CompiledFeature,
    list: Option<&FeatureListRef<'_>>,
    record: &R,
) -> Result<ParsedFeature> {
    let key = feature.name.as_str();
    if let FeatureSpec::FixedLenSequence {
        shape,
        allow_missing,
        ..
    } = &feature.spec
    {
        if list.is_none() && !allow_missing {
            return Err(Error::invalid_argument(format!(
                "Name: {UNNAMED}, Feature list '{key}' is required but could not be found.  \
                 Did you mean to include it in feature_list_dense_missing_assumed_empty or \
                 feature_list_dense_defaults?"
            )));
        }
        let mut steps = 0;
        if let Some(list) = list {
            list.for_each_feature(|_| {
                steps += 1;
                Ok::<(), WireError>(())
            })
            .map_err(|e| list_parse_error(key, steps, e))?;
        }
        let stride = feature.stride;
        let mut values = Values::zeroed(feature.kind, steps * stride);
        if let Some(list) = list {
            let mut step = 0;
            list.for_each_feature(|f| {
                let run = f.run()?;
                let count = match run.kind {
                    None => 0,
                    Some(kind) if kind != feature.kind => {
                        return Err(StepError::Parse(Error::invalid_argument(format!(
                            "Name: {UNNAMED}, Feature list: {key}, Index: {step}.  Data types \
                             don't match. Expected type: {}, Actual type: {}",
                            feature.kind.tf_type_name(),
                            kind.tf_type_name()
                        ))));
                    }
                    Some(_) => values.write_fixed(step * stride, stride, &f, run, record)?,
                };
                if count != stride {
                    return Err(StepError::Parse(Error::invalid_argument(format!(
                        "Name: {UNNAMED}, Key: {key}, Index: {step}.  Number of {} values != \
                         expected.  values size: {count} but output shape: {}",
                        feature.kind.tf_value_word(),
                        shape_string(shape)
                    ))));
                }
                step += 1;
                Ok(())
            })
            .map_err(|e| match e {
                StepError::Wire(e) => list_parse_error(key, step, e),
                StepError::Parse(e) => e,
            })?;
        }
        let mut full = vec![steps];
        full.extend_from_slice(shape);
        return Ok(ParsedFeature::Dense(values.into_tensor(&full)));
    }

    // VarLen and Ragged: one list of any length per step.
    let mut values = Values::empty(feature.kind);
    let mut ends = Vec::new();
    if let Some(list) = list {
        list.for_each_feature(|f| {
            let run = f.run()?;
            match run.kind {
                None => {}
                Some(kind) if kind != feature.kind => {
                    return Err(StepError::Parse(Error::invalid_argument(format!(
                        "Name: {UNNAMED}, Feature list: {key}, Index: {}.  Data types don't \
                         match. Expected type: {}, Actual type: {}",
                        ends.len(),
                        feature.kind.tf_type_name(),
                        kind.tf_type_name()
                    ))));
                }
                Some(_) => values.append(&f, run, record)?,
            }
            ends.push(values.len());
            Ok(())
        })
        .map_err(|e| match e {
            StepError::Wire(e) => list_parse_error(key, ends.len(), e),
            StepError::Parse(e) => e,
        })?;
    }
    Ok(match feature.spec {
        FeatureSpec::Ragged { .. } => ragged_from_lists(values, &ends),
        _ => sparse_from_lists(values, &ends, false),
    })
}

#[cfg(test)]
mod tests {
    use super::super::codec::{encode_sequence_example, Feature};
    use super::*;
    use crate::value::{DType, Tensor};

    fn fixed_seq(shape: Vec<usize>, dtype: DType, allow_missing: bool) -> FeatureSpec {
        FeatureSpec::FixedLenSequence {
            shape,
            dtype,
            allow_missing,
            default: None,
        }
    }

    fn no_context() -> ParseSpec {
        ParseSpec::new(Vec::<(String, FeatureSpec)>::new()).unwrap()
    }

    #[test]
    fn lists_parse_to_dense_sparse_and_ragged() {
        let record = encode_sequence_example(
            &[("len", Feature::Int64List(vec![2]))],
            &[
                (
                    "vec",
                    vec![
                        Feature::FloatList(vec![1.0, 2.0]),
                        Feature::FloatList(vec![3.0, 4.0]),
                    ],
                ),
                (
                    "words",
                    vec![
                        Feature::BytesList(vec!["a".into(), "b".into()]),
                        Feature::Unset,
                    ],
                ),
                (
                    "ids",
                    vec![Feature::Int64List(vec![]), Feature::Int64List(vec![5])],
                ),
            ],
        );
        let context = ParseSpec::new([(
            "len",
            FeatureSpec::FixedLen {
                shape: vec![],
                dtype: DType::Int64,
                default: None,
            },
        )])
        .unwrap();
        let sequence = ParseSpec::new([
            ("vec", fixed_seq(vec![2], DType::Float32, false)),
            (
                "words",
                FeatureSpec::VarLen {
                    dtype: DType::String,
                },
            ),
            (
                "ids",
                FeatureSpec::Ragged {
                    dtype: DType::Int64,
                },
            ),
            ("absent", fixed_seq(vec![3], DType::Int64, true)),
        ])
        .unwrap();
        let parsed = parse_single_sequence_example(&record[..], &context, &sequence).unwrap();
        assert_eq!(
            parsed.context[0].1,
            ParsedFeature::Dense(Tensor::scalar(2i64))
        );
        assert_eq!(
            parsed.sequence[0].1,
            ParsedFeature::Dense(Tensor::from_vec(&[2, 2], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap())
        );
        let ParsedFeature::Sparse {
            indices,
            dense_shape,
            ..
        } = &parsed.sequence[1].1
        else {
            panic!()
        };
        assert_eq!(indices.as_slice::<i64>().unwrap(), &[0, 0, 0, 1]);
        assert_eq!(dense_shape.as_slice::<i64>().unwrap(), &[2, 2]);
        let ParsedFeature::Ragged { row_splits, .. } = &parsed.sequence[2].1 else {
            panic!()
        };
        assert_eq!(row_splits.as_slice::<i64>().unwrap(), &[0, 0, 1]);
        let ParsedFeature::Dense(absent) = &parsed.sequence[3].1 else {
            panic!()
        };
        assert_eq!(absent.shape(), &[0, 3]);
    }

    #[test]
    fn list_errors_read_like_tensorflows() {
        let record = encode_sequence_example::<&str, &str>(
            &[],
            &[(
                "a",
                vec![
                    Feature::Int64List(vec![1, 2]),
                    Feature::Int64List(vec![1, 2, 3]),
                ],
            )],
        );
        let run = |spec: FeatureSpec| {
            let spec = ParseSpec::new([("a", spec)]).unwrap();
            parse_single_sequence_example(&record[..], &no_context(), &spec)
                .unwrap_err()
                .message()
                .to_string()
        };
        assert_eq!(
            run(fixed_seq(vec![2], DType::Int64, false)),
            "Name: <unknown>, Key: a, Index: 1.  Number of int64 values != expected.  values \
             size: 3 but output shape: [2]"
        );
        assert_eq!(
            run(fixed_seq(vec![2], DType::Float32, false)),
            "Name: <unknown>, Feature list: a, Index: 0.  Data types don't match. Expected \
             type: float, Actual type: int64"
        );
        let spec = ParseSpec::new([("b", fixed_seq(vec![2], DType::Int64, false))]).unwrap();
        assert_eq!(
            parse_single_sequence_example(&record[..], &no_context(), &spec)
                .unwrap_err()
                .message(),
            "Name: <unknown>, Feature list 'b' is required but could not be found.  Did you mean \
             to include it in feature_list_dense_missing_assumed_empty or \
             feature_list_dense_defaults?"
        );
        // Every truncation is an error, never a panic.
        let spec = ParseSpec::new([(
            "a",
            FeatureSpec::VarLen {
                dtype: DType::Int64,
            },
        )])
        .unwrap();
        for cut in 1..record.len() {
            assert!(parse_single_sequence_example(&record[..cut], &no_context(), &spec).is_err());
        }
    }
}
