//! Parse ops: `tf.io.parse_example`, `parse_single_example` and
//! `parse_single_sequence_example` as kernels over string tensors, for traced functions and
//! eager calls. The parsing itself is `crate::example`'s; this file turns its results into
//! a flat list of tensors (a dense feature gives one, a sparse one three, a ragged one two),
//! the form a graph's multi-output node has.

use std::sync::Arc;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::example::{
    parse_example, parse_single_example, parse_single_sequence_example, ParseSpec, ParsedFeature,
};
use crate::value::{DType, Tensor};

/// Which parse, with its specs (built once).
#[derive(Clone, Debug)]
pub enum ParseOp {
    /// `parse_example` of a vector of records: features batched.
    Example(Arc<ParseSpec>),
    /// `parse_single_example` of a scalar record.
    SingleExample(Arc<ParseSpec>),
    /// `parse_single_sequence_example` of a scalar record: context, then sequence features.
    SingleSequenceExample {
        context: Arc<ParseSpec>,
        sequence: Arc<ParseSpec>,
    },
}

fn records<'a>(op: &str, x: &'a Tensor, rank: usize) -> Result<&'a [Bytes]> {
    if x.dtype() != DType::String || x.rank() != rank {
        return Err(Error::invalid_argument(format!(
            "{op}: needs a {} of serialized records (string), got {} {:?}",
            if rank == 0 { "scalar" } else { "vector" },
            x.dtype(),
            x.shape()
        )));
    }
    x.string_values()
}

fn flatten(features: Vec<(String, ParsedFeature)>, out: &mut Vec<Tensor>) {
    for (_, f) in features {
        match f {
            ParsedFeature::Dense(t) => out.push(t),
            ParsedFeature::Sparse {
                indices,
                values,
                dense_shape,
            } => out.extend([indices, values, dense_shape]),
            ParsedFeature::Ragged { values, row_splits } => out.extend([values, row_splits]),
        }
    }
}

/// Parses `x`; the features' tensors in spec order (context first for sequences).
pub fn parse(op: &ParseOp, x: &Tensor) -> Result<Vec<Tensor>> {
    let mut out = Vec::new();
    match op {
        ParseOp::Example(spec) => flatten(
            parse_example(records("parse_example", x, 1)?, spec)?,
            &mut out,
        ),
        ParseOp::SingleExample(spec) => {
            let record = &records("parse_single_example", x, 0)?[0];
            flatten(parse_single_example(record, spec)?, &mut out)
        }
        ParseOp::SingleSequenceExample { context, sequence } => {
            let record = &records("parse_single_sequence_example", x, 0)?[0];
            let parsed = parse_single_sequence_example(record, context, sequence)?;
            flatten(parsed.context, &mut out);
            flatten(parsed.sequence, &mut out);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::{encode_example, Feature, FeatureSpec};

    #[test]
    fn batched_parse_flattens_dense_sparse_and_ragged_in_spec_order() {
        let rec = |id: i64, tags: Vec<i64>| {
            Bytes::from(encode_example(&[
                ("id", Feature::Int64List(vec![id])),
                ("tags", Feature::Int64List(tags)),
            ]))
        };
        let spec = ParseSpec::new([
            (
                "id",
                FeatureSpec::FixedLen {
                    shape: vec![],
                    dtype: DType::Int64,
                    default: None,
                },
            ),
            (
                "tags",
                FeatureSpec::VarLen {
                    dtype: DType::Int64,
                },
            ),
            (
                "tags2",
                FeatureSpec::Ragged {
                    dtype: DType::Int64,
                },
            ),
        ])
        .unwrap();
        let x = Tensor::strings(&[2], vec![rec(1, vec![5, 6]), rec(2, vec![])]).unwrap();
        let out = parse(&ParseOp::Example(Arc::new(spec.clone())), &x).unwrap();
        assert_eq!(out.len(), 1 + 3 + 2);
        assert_eq!(out[0].as_slice::<i64>().unwrap(), &[1, 2]);
        assert_eq!(out[2].as_slice::<i64>().unwrap(), &[5, 6]);
        assert_eq!(out[3].as_slice::<i64>().unwrap(), &[2, 2]);
        assert_eq!(out[5].as_slice::<i64>().unwrap(), &[0, 0, 0]);
        let err = parse(&ParseOp::SingleExample(Arc::new(spec)), &x).unwrap_err();
        assert!(err.to_string().contains("scalar"), "{err}");
    }
}
