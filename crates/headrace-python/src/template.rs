//! `headrace._native.TemplateFn` and template sources: a traced flat_map/interleave
//! function (see `headrace::dataset::template`), built by `python/headrace/tracing.py`.

use std::sync::Arc;

use headrace::dataset::template::{ParamSourceKind, ParamTree, TemplateFn};
use headrace::Dataset;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::convert::spec_from_py;
use crate::dataset::NativeDataset;
use crate::graph::NativeGraph;

/// A parameter tree from Python: ints (parameter indices) in tuples and dicts.
fn param_tree(obj: &Bound<'_, PyAny>) -> PyResult<ParamTree> {
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Ok(ParamTree::Tuple(
            t.iter().map(|x| param_tree(&x)).collect::<PyResult<_>>()?,
        ));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut items = Vec::new();
        for (k, v) in d.iter() {
            items.push((k.extract::<String>()?.into(), param_tree(&v)?));
        }
        items.sort_by(|a: &(Arc<str>, ParamTree), b| a.0.cmp(&b.0));
        return Ok(ParamTree::Dict(items));
    }
    Ok(ParamTree::Leaf(obj.extract()?))
}

/// `param_source(kind, args, args_spec)`: a template's source dataset; `kind` is
/// "tensors", "slices" or "range".
#[pyfunction]
pub fn param_source(
    kind: &str,
    args: &Bound<'_, PyAny>,
    args_spec: &Bound<'_, PyAny>,
) -> PyResult<NativeDataset> {
    let kind = match kind {
        "tensors" => ParamSourceKind::Tensors,
        "slices" => ParamSourceKind::Slices,
        "range" => ParamSourceKind::Range,
        other => {
            return Err(PyValueError::new_err(format!(
                "no template source {other:?}"
            )))
        }
    };
    let spec = if args_spec.is_none() {
        headrace::ElementSpec::Unknown
    } else {
        spec_from_py(args_spec)?
    };
    Ok(NativeDataset {
        inner: Dataset::param_source(kind, param_tree(args)?, spec),
    })
}

#[pyclass(module = "headrace._native", name = "TemplateFn", frozen)]
pub struct NativeTemplateFn {
    pub function: Arc<TemplateFn>,
}

#[pymethods]
impl NativeTemplateFn {
    /// `TemplateFn(parameters, template)`: `parameters` is a traced graph computing the
    /// template's parameters (a tuple) from an element.
    #[new]
    fn new(parameters: &Bound<'_, NativeGraph>, template: &Bound<'_, NativeDataset>) -> Self {
        NativeTemplateFn {
            function: Arc::new(TemplateFn::new(
                parameters.get().graph.clone(),
                template.get().inner.clone(),
            )),
        }
    }
}
