//! Python values ↔ engine elements.
//!
//! In: tuples and dicts keep their nesting; numpy arrays and scalars keep their dtype; Python
//! literals follow `tf.constant` (int → int32, or int64 when it does not fit; float → float32;
//! str and bytes → string). Out: numeric tensors become numpy arrays that borrow the engine's
//! buffer (writable only when nothing else shares it), numeric scalars numpy scalars, string
//! scalars `bytes`, string tensors object arrays of `bytes`.
//!
//! A numpy array coming in is copied (its owner may change it later), unless nothing else
//! refers to it: a worker process's result (`headrace._shared_memory.Adoptable`) or a copy
//! made here. Such an array of `ADOPT_MIN_BYTES` or more becomes the tensor's storage as it
//! is, kept alive by the tensor.

use std::os::raw::{c_int, c_void};

use bytes::Bytes;
use headrace::value::{RaggedTensor, SparseTensor};
use headrace::{DType, Element, ElementSpec, Tensor};
use numpy::npyffi::{self, npy_intp, NpyTypes, PY_ARRAY_API};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// Arrays at least this large are adopted rather than copied when nothing else refers to them
/// (smaller ones are cheaper to copy than to keep a Python object alive for).
const ADOPT_MIN_BYTES: usize = 64 * 1024;

/// A numpy array's buffer as the storage of a tensor, without a copy: the array is kept here,
/// so its buffer lives as long as the tensor. Dropped without the GIL, the reference is
/// released at pyo3's next attach.
struct ArrayBuffer {
    _array: Py<PyAny>,
    data: *const u8,
    len: usize,
}

// SAFETY: `data` points into the buffer that `_array` keeps alive; an array is adopted only
// when nothing else refers to it, so nothing writes to the buffer meanwhile.
unsafe impl Send for ArrayBuffer {}

impl AsRef<[u8]> for ArrayBuffer {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: see `Send` above; `len` is the array's size in bytes.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
}

/// `headrace._shared_memory.Adoptable`, imported once.
static ADOPTABLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Keeps a tensor's buffer alive while a numpy array borrows it.
#[pyclass(module = "headrace._native", frozen)]
pub struct TensorOwner {
    #[allow(dead_code)] // held for its buffer, never read
    tensor: Tensor,
}

fn numpy_typenum(dtype: DType) -> Option<c_int> {
    use npyffi::NPY_TYPES as T;
    let t = match dtype {
        DType::Bool => T::NPY_BOOL,
        DType::Int8 => T::NPY_BYTE,
        DType::Int16 => T::NPY_SHORT,
        DType::Int32 => T::NPY_INT,
        // numpy's int64 is C `long` where that is 8 bytes (LP64), else `long long`.
        DType::Int64 if std::mem::size_of::<std::os::raw::c_long>() == 8 => T::NPY_LONG,
        DType::Int64 => T::NPY_LONGLONG,
        DType::UInt64 if std::mem::size_of::<std::os::raw::c_long>() == 8 => T::NPY_ULONG,
        DType::UInt8 => T::NPY_UBYTE,
        DType::UInt16 => T::NPY_USHORT,
        DType::UInt32 => T::NPY_UINT,
        DType::UInt64 => T::NPY_ULONGLONG,
        DType::Float16 => T::NPY_HALF,
        DType::Float32 => T::NPY_FLOAT,
        DType::Float64 => T::NPY_DOUBLE,
        DType::BFloat16 | DType::String => return None,
    };
    Some(t as c_int)
}

static BFLOAT16: PyOnceLock<Option<Py<PyArrayDescr>>> = PyOnceLock::new();

/// A new reference to the numpy descriptor for `dtype` (bfloat16 needs `ml_dtypes`).
fn descr_ptr(py: Python<'_>, dtype: DType) -> PyResult<*mut npyffi::PyArray_Descr> {
    if let Some(t) = numpy_typenum(dtype) {
        let p = unsafe { PY_ARRAY_API.PyArray_DescrFromType(py, t) };
        if p.is_null() {
            return Err(PyErr::fetch(py));
        }
        return Ok(p);
    }
    if dtype == DType::BFloat16 {
        let d = BFLOAT16.get_or_init(py, || {
            let m = py.import("ml_dtypes").ok()?;
            let np = py.import("numpy").ok()?;
            let d = np
                .call_method1("dtype", (m.getattr("bfloat16").ok()?,))
                .ok()?;
            d.cast_into::<PyArrayDescr>().ok().map(Bound::unbind)
        });
        if let Some(d) = d {
            return Ok(d.clone_ref(py).into_bound(py).into_dtype_ptr());
        }
        return Err(PyTypeError::new_err(
            "bfloat16 values need the ml_dtypes package to become numpy arrays (pip install ml_dtypes)",
        ));
    }
    Err(PyTypeError::new_err(
        "string tensors have no numpy numeric dtype",
    ))
}

/// The engine dtype of a numpy descriptor, if it has one.
fn dtype_of_descr(descr: &Bound<'_, PyArrayDescr>) -> Option<DType> {
    let kind = descr.kind();
    let size = descr.itemsize();
    Some(match (kind, size) {
        (b'b', 1) => DType::Bool,
        (b'i', 1) => DType::Int8,
        (b'i', 2) => DType::Int16,
        (b'i', 4) => DType::Int32,
        (b'i', 8) => DType::Int64,
        (b'u', 1) => DType::UInt8,
        (b'u', 2) => DType::UInt16,
        (b'u', 4) => DType::UInt32,
        (b'u', 8) => DType::UInt64,
        (b'f', 2) => DType::Float16,
        (b'f', 4) => DType::Float32,
        (b'f', 8) => DType::Float64,
        (b'S' | b'U' | b'O', _) => DType::String,
        (b'V', 2) if descr.to_string().contains("bfloat16") => DType::BFloat16,
        _ => return None,
    })
}

// ---------------------------------------------------------------- Python → engine

/// A Python value as an element: tuples and dicts nest, anything else is a tensor.
pub fn to_element(obj: &Bound<'_, PyAny>) -> PyResult<Element> {
    element_from(obj, false)
}

/// `to_element`; with `adopt`, nothing else refers to `obj`'s arrays, which then become
/// tensors without a copy.
fn element_from(obj: &Bound<'_, PyAny>, adopt: bool) -> PyResult<Element> {
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Ok(Element::Tuple(
            t.iter()
                .map(|x| element_from(&x, adopt))
                .collect::<PyResult<_>>()?,
        ));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut entries = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "dict keys of an element must be str, got {}",
                    k.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })?;
            entries.push((key, element_from(&v, adopt)?));
        }
        return Element::dict(entries).map_err(|e| PyValueError::new_err(e.to_string()));
    }
    if let Some(composite) = composite_to_element(obj, adopt)? {
        return Ok(composite);
    }
    tensor_from(obj, adopt).map(Element::Tensor)
}

/// `headrace.RaggedTensor` and `headrace.SparseTensor` values (`python/headrace/composite.py`),
/// which name their kind in `_composite_kind` and list their parts in `_components()`.
fn composite_to_element(obj: &Bound<'_, PyAny>, adopt: bool) -> PyResult<Option<Element>> {
    let Ok(kind) = obj.getattr(pyo3::intern!(obj.py(), "_composite_kind")) else {
        return Ok(None);
    };
    let kind: String = kind.extract()?;
    let parts: Vec<Tensor> = obj
        .call_method0(pyo3::intern!(obj.py(), "_components"))?
        .try_iter()?
        .map(|p| tensor_from(&p?, adopt))
        .collect::<PyResult<_>>()?;
    let bad = |e: headrace::Error| PyValueError::new_err(e.to_string());
    Ok(Some(match kind.as_str() {
        "ragged" => {
            let mut parts = parts.into_iter();
            let values = parts
                .next()
                .ok_or_else(|| PyValueError::new_err("a RaggedTensor needs values"))?;
            Element::Ragged(
                RaggedTensor::new(values, parts.collect())
                    .map_err(bad)?
                    .into(),
            )
        }
        "sparse" => {
            let [indices, values, dense_shape]: [Tensor; 3] = parts
                .try_into()
                .map_err(|_| PyValueError::new_err("a SparseTensor has three parts"))?;
            Element::Sparse(
                SparseTensor::new(indices, values, dense_shape)
                    .map_err(bad)?
                    .into(),
            )
        }
        other => {
            return Err(PyTypeError::new_err(format!(
                "unknown composite value kind {other:?}"
            )))
        }
    }))
}

/// What a function returned, as an element: as tf.data does, a list is taken as a tuple. An
/// `Adoptable` (a worker process's result) stands for its value, whose arrays are adopted.
pub fn result_to_element(obj: &Bound<'_, PyAny>) -> PyResult<Element> {
    let py = obj.py();
    let adoptable = ADOPTABLE.import(py, "headrace._shared_memory", "Adoptable")?;
    let (obj, adopt) = if obj.get_type().is(adoptable) {
        (obj.getattr(pyo3::intern!(py, "value"))?, true)
    } else {
        (obj.clone(), false)
    };
    if let Ok(l) = obj.cast::<PyList>() {
        return Ok(Element::Tuple(
            l.iter()
                .map(|x| element_from(&x, adopt))
                .collect::<PyResult<_>>()?,
        ));
    }
    element_from(&obj, adopt)
}

/// A Python value as a tensor, with `tf.constant`'s dtype rules for Python literals.
pub fn to_tensor(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    tensor_from(obj, false)
}

fn tensor_from(obj: &Bound<'_, PyAny>, adopt: bool) -> PyResult<Tensor> {
    let py = obj.py();
    // The commonest cases first: these are the per-element hot path of Python functions.
    // Exact type checks: numpy's float64 is a subclass of float, and must keep its dtype.
    if obj.is_exact_instance_of::<PyBool>() {
        return Ok(Tensor::bool_scalar(obj.extract::<bool>()?));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        let v: i64 = obj
            .extract()
            .map_err(|_| PyValueError::new_err(format!("integer {obj} does not fit in int64")))?;
        return Ok(match i32::try_from(v) {
            Ok(v) => Tensor::scalar(v),
            Err(_) => Tensor::scalar(v),
        });
    }
    if obj.is_exact_instance_of::<PyFloat>() {
        return Ok(Tensor::scalar(obj.extract::<f64>()? as f32));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Tensor::string_scalar(Bytes::copy_from_slice(b.as_bytes())));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Tensor::string_scalar(Bytes::copy_from_slice(
            s.to_str()?.as_bytes(),
        )));
    }
    if is_numpy_scalar(obj) {
        return numpy_scalar_to_tensor(obj);
    }
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        return array_tensor(a, adopt);
    }
    if obj.is_instance_of::<PyList>() {
        return list_to_tensor(obj);
    }
    // Anything else that numpy understands (array-likes such as torch tensors).
    if obj.hasattr("__array__")? || obj.hasattr("__array_interface__")? {
        let np = py.import("numpy")?;
        let arr = np.call_method1("asarray", (obj,))?;
        return array_to_tensor(arr.cast::<PyUntypedArray>()?);
    }
    Err(PyTypeError::new_err(format!(
        "cannot convert a value of type {} to a tensor: expected a number, str, bytes, a numpy array, or a list, tuple or dict of them",
        obj.get_type().name()?
    )))
}

fn is_numpy_scalar(obj: &Bound<'_, PyAny>) -> bool {
    let py = obj.py();
    unsafe {
        let generic = npyffi::get_type_object(py, NpyTypes::PyGenericArrType_Type);
        pyo3::ffi::PyObject_TypeCheck(obj.as_ptr(), generic) != 0
    }
}

fn numpy_scalar_to_tensor(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let py = obj.py();
    let descr = unsafe {
        let p = PY_ARRAY_API.PyArray_DescrFromScalar(py, obj.as_ptr());
        if p.is_null() {
            return Err(PyErr::fetch(py));
        }
        Bound::from_owned_ptr(py, p as *mut pyo3::ffi::PyObject)
            .cast_into_unchecked::<PyArrayDescr>()
    };
    match dtype_of_descr(&descr) {
        Some(DType::String) | None => {
            // np.bytes_/np.str_ and exotic scalars: go through an array.
            let np = py.import("numpy")?;
            array_to_tensor(
                np.call_method1("asarray", (obj,))?
                    .cast::<PyUntypedArray>()?,
            )
        }
        Some(dtype) => {
            let mut buf = [0u64; 1];
            unsafe {
                PY_ARRAY_API.PyArray_ScalarAsCtype(
                    py,
                    obj.as_ptr(),
                    buf.as_mut_ptr() as *mut c_void,
                )
            };
            let bytes: &[u8] = bytemuck_bytes(&buf);
            Tensor::from_bytes(dtype, &[], Bytes::copy_from_slice(&bytes[..dtype.size()]))
                .map_err(|e| PyValueError::new_err(e.to_string()))
        }
    }
}

fn bytemuck_bytes(words: &[u64; 1]) -> &[u8] {
    // SAFETY: u64 has no padding; viewing it as bytes is always valid.
    unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, 8) }
}

/// A list follows `tf.constant`: Python ints → int32 (int64 if any does not fit), floats →
/// float32, str/bytes → string; a list holding numpy values takes numpy's dtype.
fn list_to_tensor(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let py = obj.py();
    let np = py.import("numpy")?;
    let mut arr = np.call_method1("asarray", (obj,))?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    if matches!(kind.as_str(), "O" | "S" | "U") {
        // Strings (of mixed types, bytes and str), or ragged lists. numpy's fixed-width
        // strings ("S", "U") drop trailing NUL bytes (b"ab\0" becomes b"ab"): those are made
        // again as objects, keeping each string whole, as tf.constant does.
        if kind != "O" {
            let kwargs = PyDict::new(py);
            kwargs.set_item("dtype", py.import("builtins")?.getattr("object")?)?;
            arr = np.call_method("asarray", (obj,), Some(&kwargs))?;
        }
        return object_array_to_tensor(arr.cast::<PyUntypedArray>()?);
    }
    if only_python_literals(obj)? {
        let narrowed = match kind.as_str() {
            "i" => {
                let empty = arr.getattr("size")?.extract::<usize>()? == 0;
                let fits = empty || {
                    let lo: i64 = arr.call_method0("min")?.extract()?;
                    let hi: i64 = arr.call_method0("max")?.extract()?;
                    i32::try_from(lo).is_ok() && i32::try_from(hi).is_ok()
                };
                fits.then_some("int32")
            }
            "f" => Some("float32"),
            _ => None,
        };
        if let Some(dt) = narrowed {
            let arr = arr.call_method1("astype", (dt,))?;
            return array_to_tensor(arr.cast::<PyUntypedArray>()?);
        }
    }
    array_to_tensor(arr.cast::<PyUntypedArray>()?)
}

fn only_python_literals(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    if let Ok(l) = obj.cast::<PyList>() {
        for item in l.iter() {
            if !only_python_literals(&item)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        for item in t.iter() {
            if !only_python_literals(&item)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    Ok(obj.is_exact_instance_of::<PyInt>()
        || obj.is_exact_instance_of::<PyFloat>()
        || obj.is_exact_instance_of::<PyBool>())
}

/// A numpy array as a tensor (one copy into the engine's buffer: the engine may outlive the
/// array, and the caller may change it).
pub fn array_to_tensor(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Tensor> {
    array_tensor(arr, false)
}

/// `array_to_tensor`; with `adopt`, nothing else refers to `arr`, which a large tensor then
/// keeps as its storage instead of a copy (as it keeps a contiguous copy made here).
fn array_tensor(arr: &Bound<'_, PyUntypedArray>, adopt: bool) -> PyResult<Tensor> {
    let py = arr.py();
    let shape: Vec<usize> = arr.shape().to_vec();
    let descr = arr.dtype();
    let Some(dtype) = dtype_of_descr(&descr) else {
        return Err(PyTypeError::new_err(format!(
            "numpy dtype {} has no headrace equivalent",
            descr
        )));
    };
    if dtype == DType::String {
        return object_array_to_tensor(arr);
    }
    let native_order = descr.byteorder() != b'>' || cfg!(target_endian = "big");
    let (arr, adopt) = if arr.is_c_contiguous() && native_order {
        (arr.clone(), adopt)
    } else {
        let np = py.import("numpy")?;
        let native = descr.call_method1("newbyteorder", ("=",))?;
        let copy = np
            .call_method1("ascontiguousarray", (arr, native))?
            .cast_into::<PyUntypedArray>()?;
        // A copy that owns its buffer was just made here: nothing else refers to it.
        let owns = unsafe { (*copy.as_array_ptr()).fields.flags } & npyffi::NPY_ARRAY_OWNDATA != 0;
        let fresh = owns && !copy.is(arr);
        (copy, fresh)
    };
    let nbytes = shape.iter().product::<usize>() * dtype.size();
    let data = unsafe { (*arr.as_array_ptr()).fields.data as *const u8 };
    let bytes = if nbytes == 0 {
        Bytes::new()
    } else if adopt && nbytes >= ADOPT_MIN_BYTES {
        Bytes::from_owner(ArrayBuffer {
            _array: arr.clone().into_any().unbind(),
            data,
            len: nbytes,
        })
    } else {
        Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(data, nbytes) })
    };
    Tensor::from_bytes(dtype, &shape, bytes).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// An array of bytes, str or objects holding them, as a string tensor (str as UTF-8).
fn object_array_to_tensor(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Tensor> {
    let shape: Vec<usize> = arr.shape().to_vec();
    // ravel() is 1-d even for a 0-d array, so tolist() is always a list.
    let flat = arr.call_method0("ravel")?.call_method0("tolist")?;
    let items: Vec<Bound<'_, PyAny>> = flat.cast::<PyList>()?.iter().collect();
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        if let Ok(b) = item.cast::<PyBytes>() {
            values.push(Bytes::copy_from_slice(b.as_bytes()));
        } else if let Ok(s) = item.cast::<PyString>() {
            values.push(Bytes::copy_from_slice(s.to_str()?.as_bytes()));
        } else {
            return Err(PyTypeError::new_err(format!(
                "cannot make a tensor from a list or object array holding {}: elements must be numbers, or all str/bytes, with equal lengths along each axis",
                item.get_type().name()?
            )));
        }
    }
    Tensor::strings(&shape, values).map_err(|e| PyValueError::new_err(e.to_string()))
}

// ---------------------------------------------------------------- engine → Python

/// An element as Python values.
pub fn element_to_py(py: Python<'_>, element: Element) -> PyResult<Bound<'_, PyAny>> {
    match element {
        Element::Tensor(t) => tensor_to_py(py, t),
        Element::Ragged(r) if r.ragged_rank() == 0 => tensor_to_py(py, r.values().clone()),
        Element::Ragged(r) => {
            let splits = r
                .row_splits()
                .iter()
                .map(|s| tensor_to_py(py, s.clone()))
                .collect::<PyResult<Vec<_>>>()?;
            RAGGED_TENSOR
                .import(py, "headrace.composite", "RaggedTensor")?
                .call_method1(
                    "from_nested_row_splits",
                    (tensor_to_py(py, r.values().clone())?, splits),
                )
        }
        Element::Sparse(s) => SPARSE_TENSOR
            .import(py, "headrace.composite", "SparseTensor")?
            .call1((
                tensor_to_py(py, s.indices().clone())?,
                tensor_to_py(py, s.values().clone())?,
                tensor_to_py(py, s.dense_shape().clone())?,
            )),
        Element::Tuple(items) => {
            let items = items
                .into_iter()
                .map(|e| element_to_py(py, e))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyTuple::new(py, items)?.into_any())
        }
        Element::Dict(items) => {
            let d = PyDict::new(py);
            for (k, v) in items {
                d.set_item(&*k, element_to_py(py, v)?)?;
            }
            Ok(d.into_any())
        }
    }
}

/// The Python classes of composite values, imported once (not per element).
static RAGGED_TENSOR: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
static SPARSE_TENSOR: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// A tensor as a numpy scalar, a numpy array borrowing its buffer, `bytes`, or an object
/// array of `bytes`.
pub fn tensor_to_py(py: Python<'_>, tensor: Tensor) -> PyResult<Bound<'_, PyAny>> {
    if tensor.dtype() == DType::String {
        let values = tensor.string_values().expect("string dtype");
        if tensor.rank() == 0 {
            return Ok(PyBytes::new(py, &values[0]).into_any());
        }
        let list = PyList::new(py, values.iter().map(|v| PyBytes::new(py, v)))?;
        let np = py.import("numpy")?;
        let arr = np.call_method1("empty", (values.len(), "object"))?;
        arr.set_item(pyo3::types::PySlice::full(py), list)?;
        return arr.call_method1("reshape", (PyTuple::new(py, tensor.shape())?,));
    }
    let descr = descr_ptr(py, tensor.dtype())?;
    if tensor.rank() == 0 {
        let mut word = [0u64; 1];
        let bytes = tensor.data_bytes().expect("numeric");
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                word.as_mut_ptr() as *mut u8,
                bytes.len(),
            );
            let p = PY_ARRAY_API.PyArray_Scalar(
                py,
                word.as_mut_ptr() as *mut c_void,
                descr,
                std::ptr::null_mut(),
            );
            pyo3::ffi::Py_DECREF(descr as *mut pyo3::ffi::PyObject);
            return Bound::from_owned_ptr_or_err(py, p);
        }
    }
    let mut dims: Vec<npy_intp> = tensor.shape().iter().map(|&d| d as npy_intp).collect();
    let writable = tensor.is_exclusive();
    let data = tensor.data_bytes().expect("numeric").as_ptr() as *mut c_void;
    let mut flags = npyffi::NPY_ARRAY_C_CONTIGUOUS | npyffi::NPY_ARRAY_ALIGNED;
    if writable {
        flags |= npyffi::NPY_ARRAY_WRITEABLE;
    }
    let owner = Bound::new(py, TensorOwner { tensor })?;
    unsafe {
        let array_type = npyffi::get_type_object(py, NpyTypes::PyArray_Type);
        // PyArray_NewFromDescr steals the descriptor reference.
        let arr = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            array_type,
            descr,
            dims.len() as c_int,
            dims.as_mut_ptr(),
            std::ptr::null_mut(),
            data,
            flags,
            std::ptr::null_mut(),
        );
        let arr = Bound::from_owned_ptr_or_err(py, arr)?;
        // SetBaseObject steals the owner reference: the array now keeps the tensor alive.
        let rc = PY_ARRAY_API.PyArray_SetBaseObject(
            py,
            arr.as_ptr() as *mut npyffi::PyArrayObject,
            owner.into_ptr(),
        );
        if rc != 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(arr)
    }
}

/// A spec as nested Python values: `(shape, dtype_name)` per tensor, with `None` for an
/// unknown rank or dimension; `None` for a spec unknown until the pipeline runs.
pub fn spec_to_py<'py>(py: Python<'py>, spec: &ElementSpec) -> PyResult<Bound<'py, PyAny>> {
    Ok(match spec {
        ElementSpec::Unknown => py.None().into_bound(py),
        ElementSpec::Tensor(t) => {
            PyTuple::new(py, shape_and_dtype(py, &t.shape, t.dtype)?)?.into_any()
        }
        ElementSpec::Ragged(r) => {
            let mut parts = shape_and_dtype(py, &r.shape, r.dtype)?;
            parts.push("ragged".into_pyobject(py)?.into_any());
            parts.push(r.ragged_rank.into_pyobject(py)?.into_any());
            PyTuple::new(py, parts)?.into_any()
        }
        ElementSpec::Sparse(t) => {
            let mut parts = shape_and_dtype(py, &t.shape, t.dtype)?;
            parts.push("sparse".into_pyobject(py)?.into_any());
            PyTuple::new(py, parts)?.into_any()
        }
        ElementSpec::Tuple(items) => {
            let items = items
                .iter()
                .map(|s| spec_to_py(py, s))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        ElementSpec::Dict(items) => {
            let d = PyDict::new(py);
            for (k, s) in items {
                d.set_item(&**k, spec_to_py(py, s)?)?;
            }
            d.into_any()
        }
    })
}

fn shape_and_dtype<'py>(
    py: Python<'py>,
    shape: &headrace::value::PartialShape,
    dtype: DType,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let shape = match &shape.0 {
        None => py.None().into_bound(py),
        Some(dims) => PyTuple::new(py, dims.iter().copied())?.into_any(),
    };
    Ok(vec![shape, dtype.name().into_pyobject(py)?.into_any()])
}

/// Reads a `(shape, dtype_name[, "ragged", ragged_rank | "sparse"])` spec tree built by the
/// Python layer (the inverse of [`spec_to_py`]; tuples of specs are lists there, to tell
/// them from a component's tuple).
pub fn spec_from_py(obj: &Bound<'_, PyAny>) -> PyResult<ElementSpec> {
    use headrace::value::{PartialShape, TensorSpec};
    if obj.is_none() {
        return Ok(ElementSpec::Unknown);
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return Ok(ElementSpec::Tuple(
            l.iter()
                .map(|x| spec_from_py(&x))
                .collect::<PyResult<_>>()?,
        ));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut items: Vec<(std::sync::Arc<str>, ElementSpec)> = Vec::new();
        for (k, v) in d.iter() {
            items.push((k.extract::<String>()?.into(), spec_from_py(&v)?));
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(ElementSpec::Dict(items));
    }
    let t = obj.cast::<PyTuple>()?;
    let shape: Option<Vec<Option<usize>>> = t.get_item(0)?.extract()?;
    let dtype: String = t.get_item(1)?.extract()?;
    let dtype = DType::from_name(&dtype)
        .ok_or_else(|| PyValueError::new_err(format!("unknown dtype {dtype:?}")))?;
    let spec = TensorSpec {
        dtype,
        shape: PartialShape(shape),
    };
    Ok(match t.len() {
        2 => ElementSpec::Tensor(spec),
        3 => ElementSpec::Sparse(spec),
        _ => ElementSpec::Ragged(headrace::value::RaggedSpec {
            dtype: spec.dtype,
            shape: spec.shape,
            ragged_rank: t.get_item(3)?.extract()?,
        }),
    })
}
