//! The native kernels, called eagerly on Python values: each converts its operands
//! (`convert`), runs the kernel without the GIL, and returns numpy values.

use headrace::ops::arithmetic::{binary, BinaryOp};
use headrace::ops::array::apply;
use headrace::ops::cast::cast;
use headrace::ops::compare::{compare, logical_not, CompareOp};
use headrace::ops::random::{random, stream, Distribution};
use headrace::ops::reduce::{arg_reduce, reduce, Reduction};
use headrace::ops::unary::{unary, UnaryOp};
use headrace::{DType, Tensor};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::convert::{tensor_to_py, to_tensor};
use crate::errors::to_py;
use crate::graph::{array_op_from_py, text_op_from_py};

fn run<'py>(
    py: Python<'py>,
    kernel: impl FnOnce() -> headrace::Result<Tensor> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    let out = py.detach(kernel).map_err(|e| to_py(py, e))?;
    tensor_to_py(py, out)
}

/// `name(a, b)` for an arithmetic or comparison op, both operands already of one dtype.
#[pyfunction]
pub fn binary_op<'py>(
    py: Python<'py>,
    name: &str,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (a, b) = (to_tensor(a)?, to_tensor(b)?);
    if let Some(op) = BinaryOp::from_name(name) {
        return run(py, move || binary(op, &a, &b));
    }
    if let Some(op) = CompareOp::from_name(name) {
        return run(py, move || compare(op, &a, &b));
    }
    Err(PyValueError::new_err(format!(
        "no binary op named {name:?}"
    )))
}

/// `name(x)` for a unary op.
#[pyfunction]
pub fn unary_op<'py>(
    py: Python<'py>,
    name: &str,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let x = to_tensor(x)?;
    if name == "logical_not" {
        return run(py, move || logical_not(&x));
    }
    let op = UnaryOp::from_name(name)
        .ok_or_else(|| PyValueError::new_err(format!("no unary op named {name:?}")))?;
    run(py, move || unary(op, &x))
}

/// The reduction `name` of `x` over `axes` (all when empty).
#[pyfunction]
pub fn reduce_op<'py>(
    py: Python<'py>,
    name: &str,
    x: &Bound<'py, PyAny>,
    axes: Vec<i64>,
    keepdims: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let r = Reduction::from_name(name)
        .ok_or_else(|| PyValueError::new_err(format!("no reduction named {name:?}")))?;
    let x = to_tensor(x)?;
    run(py, move || reduce(r, &x, &axes, keepdims))
}

/// argmax or argmin of `x` along `axis`.
#[pyfunction]
pub fn arg_op<'py>(
    py: Python<'py>,
    name: &str,
    x: &Bound<'py, PyAny>,
    axis: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let max = name == "argmax";
    let x = to_tensor(x)?;
    run(py, move || arg_reduce(max, &x, axis))
}

/// Random values (eagerly: as the element at position 0 of a stage).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn random_op<'py>(
    py: Python<'py>,
    kind: &str,
    shape: Vec<usize>,
    dtype: &str,
    seed: u64,
    a: f64,
    b: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let dist = match kind {
        "uniform" => Distribution::Uniform { low: a, high: b },
        "normal" => Distribution::Normal { mean: a, stddev: b },
        other => {
            return Err(PyValueError::new_err(format!(
                "no random distribution {other:?}"
            )))
        }
    };
    let dtype = DType::from_name(dtype)
        .ok_or_else(|| PyValueError::new_err(format!("dtype: unknown dtype {dtype:?}")))?;
    run(py, move || {
        random(dist, &shape, dtype, &mut stream(seed, 0, 0))
    })
}

/// The array op `name` with attributes `attrs` on `inputs`.
#[pyfunction]
pub fn array_op<'py>(
    py: Python<'py>,
    name: &str,
    attrs: &Bound<'py, PyAny>,
    inputs: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = array_op_from_py(name, attrs)?;
    run_on(py, &inputs, move |args| apply(&op, args))
}

/// Converts `inputs` and runs a kernel over all of them without the GIL.
pub(crate) fn run_on<'py>(
    py: Python<'py>,
    inputs: &[Bound<'py, PyAny>],
    kernel: impl FnOnce(&[&Tensor]) -> headrace::Result<Tensor> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    let tensors = inputs
        .iter()
        .map(|x| to_tensor(x))
        .collect::<PyResult<Vec<_>>>()?;
    run(py, move || {
        let refs: Vec<&Tensor> = tensors.iter().collect();
        kernel(&refs)
    })
}

/// The string or file op `name` with attributes `attrs` on `inputs`.
#[pyfunction]
pub fn text_op<'py>(
    py: Python<'py>,
    name: &str,
    attrs: &Bound<'py, PyAny>,
    inputs: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = text_op_from_py(name, attrs)?;
    run_on(py, &inputs, move |args| {
        headrace::ops::text::apply(&op, args)
    })
}

/// `strings.split`: `[pieces]` for a scalar, `[pieces, row_splits]` for a vector.
#[pyfunction]
#[pyo3(signature = (x, sep=None))]
pub fn split_op<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    sep: Option<Vec<u8>>,
) -> PyResult<Bound<'py, PyAny>> {
    let x = to_tensor(x)?;
    let parts = py
        .detach(move || headrace::ops::strings::split_to_tensors(&x, sep.as_deref()))
        .map_err(|e| to_py(py, e))?;
    let parts = parts
        .into_iter()
        .map(|t| tensor_to_py(py, t))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(pyo3::types::PyList::new(py, parts)?.into_any())
}

/// `x` as `dtype` (a TensorFlow dtype name).
#[pyfunction]
pub fn cast_op<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    dtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let to = DType::from_name(dtype)
        .ok_or_else(|| PyValueError::new_err(format!("dtype: unknown dtype {dtype:?}")))?;
    let x = to_tensor(x)?;
    run(py, move || cast(&x, to))
}

/// `value` converted as `tf.constant` converts it, as numpy.
#[pyfunction]
pub fn constant<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    tensor_to_py(py, to_tensor(value)?)
}
