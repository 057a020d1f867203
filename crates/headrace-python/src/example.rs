//! `tf.train.Example` from Python: parse specs as the Python layer encodes them
//! (`python/headrace/io.py`), the eager parse op, and Example/SequenceExample encoding and
//! decoding. The codec and parsing are `headrace::example`'s.

use std::sync::Arc;

use bytes::Bytes;
use headrace::example::{
    decode_example, decode_sequence_example, encode_example, encode_sequence_example, Feature,
    FeatureSpec, ParseSpec,
};
use headrace::ops::parse::{parse, ParseOp};
use headrace::{DType, Tensor};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::convert::{tensor_to_py, to_tensor};
use crate::errors::to_py;

fn dtype(name: &str) -> PyResult<DType> {
    DType::from_name(name).ok_or_else(|| PyValueError::new_err(format!("unknown dtype {name:?}")))
}

/// One feature: `(name, kind, dtype, shape, default, allow_missing)`, kind being "fixed",
/// "var", "ragged" or "sequence".
fn feature_spec(item: &Bound<'_, PyAny>) -> PyResult<(String, FeatureSpec)> {
    let t = item.cast::<PyTuple>()?;
    let name: String = t.get_item(0)?.extract()?;
    let kind: String = t.get_item(1)?.extract()?;
    let dtype = dtype(&t.get_item(2)?.extract::<String>()?)?;
    let shape = || -> PyResult<Vec<usize>> { t.get_item(3)?.extract() };
    let default = || -> PyResult<Option<Tensor>> {
        let d = t.get_item(4)?;
        if d.is_none() {
            Ok(None)
        } else {
            to_tensor(&d).map(Some)
        }
    };
    let spec = match kind.as_str() {
        "fixed" => FeatureSpec::FixedLen {
            shape: shape()?,
            dtype,
            default: default()?,
        },
        "var" => FeatureSpec::VarLen { dtype },
        "ragged" => FeatureSpec::Ragged { dtype },
        "sequence" => FeatureSpec::FixedLenSequence {
            shape: shape()?,
            dtype,
            allow_missing: t.get_item(5)?.extract()?,
            default: default()?,
        },
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown feature kind {other:?}"
            )))
        }
    };
    Ok((name, spec))
}

fn parse_spec(py: Python<'_>, features: &Bound<'_, PyAny>) -> PyResult<Arc<ParseSpec>> {
    let features = features
        .try_iter()?
        .map(|f| feature_spec(&f?))
        .collect::<PyResult<Vec<_>>>()?;
    ParseSpec::new(features)
        .map(Arc::new)
        .map_err(|e| to_py(py, e))
}

/// A parse op from `(kind, features…)`: `("example", features)`, `("single", features)` or
/// `("sequence", context_features, sequence_features)`.
pub fn parse_op_from_py(attrs: &Bound<'_, PyAny>) -> PyResult<ParseOp> {
    let py = attrs.py();
    let t = attrs.cast::<PyTuple>()?;
    let kind: String = t.get_item(0)?.extract()?;
    Ok(match kind.as_str() {
        "example" => ParseOp::Example(parse_spec(py, &t.get_item(1)?)?),
        "single" => ParseOp::SingleExample(parse_spec(py, &t.get_item(1)?)?),
        "sequence" => ParseOp::SingleSequenceExample {
            context: parse_spec(py, &t.get_item(1)?)?,
            sequence: parse_spec(py, &t.get_item(2)?)?,
        },
        other => return Err(PyValueError::new_err(format!("unknown parse {other:?}"))),
    })
}

/// Eager parse: the features' tensors, flat, in spec order.
#[pyfunction]
pub fn parse_op<'py>(
    py: Python<'py>,
    attrs: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let op = parse_op_from_py(attrs)?;
    let x = to_tensor(x)?;
    let parts = py
        .detach(move || parse(&op, &x))
        .map_err(|e| to_py(py, e))?;
    let parts = parts
        .into_iter()
        .map(|t| tensor_to_py(py, t))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, parts)
}

/// `(kind, values)` with kind "bytes", "float" or "int64" → a Feature.
fn feature_from_py(item: &Bound<'_, PyAny>) -> PyResult<Feature> {
    let t = item.cast::<PyTuple>()?;
    let kind: String = t.get_item(0)?.extract()?;
    let values = t.get_item(1)?;
    Ok(match kind.as_str() {
        "bytes" => Feature::BytesList(
            values
                .try_iter()?
                .map(|v| Ok(Bytes::from(v?.extract::<Vec<u8>>()?)))
                .collect::<PyResult<_>>()?,
        ),
        "float" => Feature::FloatList(values.extract()?),
        "int64" => Feature::Int64List(values.extract()?),
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown feature kind {other:?}"
            )))
        }
    })
}

fn features_from_py(items: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Feature)>> {
    items
        .try_iter()?
        .map(|item| {
            let item = item?;
            let t = item.cast::<PyTuple>()?;
            Ok((t.get_item(0)?.extract()?, feature_from_py(&t.get_item(1)?)?))
        })
        .collect()
}

/// A Feature as `(kind, values)`: bytes as a list, numbers as numpy arrays.
fn feature_to_py<'py>(py: Python<'py>, f: Feature) -> PyResult<Bound<'py, PyAny>> {
    let (kind, values) = match f {
        Feature::Unset => ("none", PyList::empty(py).into_any()),
        Feature::BytesList(v) => (
            "bytes",
            PyList::new(py, v.iter().map(|b| PyBytes::new(py, b)))?.into_any(),
        ),
        Feature::FloatList(v) => (
            "float",
            tensor_to_py(
                py,
                Tensor::from_vec(&[v.len()], v).map_err(|e| to_py(py, e))?,
            )?,
        ),
        Feature::Int64List(v) => (
            "int64",
            tensor_to_py(
                py,
                Tensor::from_vec(&[v.len()], v).map_err(|e| to_py(py, e))?,
            )?,
        ),
    };
    Ok(PyTuple::new(py, [kind.into_pyobject(py)?.into_any(), values])?.into_any())
}

fn features_to_py<'py>(
    py: Python<'py>,
    features: Vec<(String, Feature)>,
) -> PyResult<Bound<'py, PyList>> {
    let items = features
        .into_iter()
        .map(|(name, f)| {
            PyTuple::new(
                py,
                [name.into_pyobject(py)?.into_any(), feature_to_py(py, f)?],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// Serializes `[(name, (kind, values))]` as a `tf.train.Example`, features in that order.
#[pyfunction]
pub fn encode_example_op<'py>(
    py: Python<'py>,
    features: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(
        py,
        &encode_example(&features_from_py(features)?),
    ))
}

/// Serializes a `tf.train.SequenceExample`: context features, and `[(name, [feature…])]`.
#[pyfunction]
pub fn encode_sequence_example_op<'py>(
    py: Python<'py>,
    context: &Bound<'py, PyAny>,
    feature_lists: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let lists = feature_lists
        .try_iter()?
        .map(|item| {
            let item = item?;
            let t = item.cast::<PyTuple>()?;
            let steps = t
                .get_item(1)?
                .try_iter()?
                .map(|f| feature_from_py(&f?))
                .collect::<PyResult<Vec<_>>>()?;
            Ok((t.get_item(0)?.extract::<String>()?, steps))
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyBytes::new(
        py,
        &encode_sequence_example(&features_from_py(context)?, &lists),
    ))
}

/// A serialized `tf.train.Example` as `[(name, (kind, values))]`, in record order.
#[pyfunction]
pub fn decode_example_op<'py>(py: Python<'py>, record: &[u8]) -> PyResult<Bound<'py, PyList>> {
    let features = decode_example(&Bytes::copy_from_slice(record)).map_err(|e| to_py(py, e))?;
    features_to_py(py, features)
}

/// A serialized `tf.train.SequenceExample` as (context, `[(name, [feature…])]`).
#[pyfunction]
pub fn decode_sequence_example_op<'py>(
    py: Python<'py>,
    record: &[u8],
) -> PyResult<Bound<'py, PyTuple>> {
    let parsed =
        decode_sequence_example(&Bytes::copy_from_slice(record)).map_err(|e| to_py(py, e))?;
    let lists = parsed
        .feature_lists
        .into_iter()
        .map(|(name, steps)| {
            let steps = steps
                .into_iter()
                .map(|f| feature_to_py(py, f))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(
                py,
                [
                    name.into_pyobject(py)?.into_any(),
                    PyList::new(py, steps)?.into_any(),
                ],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(
        py,
        [
            features_to_py(py, parsed.context)?.into_any(),
            PyList::new(py, lists)?.into_any(),
        ],
    )
}
