//! Python callables as engine functions. Each call takes the GIL only while in Python; a
//! chunk of elements is processed under one acquisition (see `MapFn::call_many`).

use std::sync::{Arc, OnceLock};

use headrace::dataset::generator::IteratorFactory;
use headrace::dataset::{
    call_unless_cancelled, BoxIterator, Context, DatasetFn, ElementIterator, MapFn, PredicateFn,
};
use headrace::runtime::CancelToken;
use headrace::{DType, Dataset, Element, Result};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyIterator, PyTuple};

use crate::convert::{element_to_py, result_to_element, to_tensor};
use crate::dataset::NativeDataset;
use crate::errors::from_py;

/// A Python callable and a name for descriptions.
pub struct PyFunction {
    func: Py<PyAny>,
    name: String,
}

impl PyFunction {
    pub fn new(func: &Bound<'_, PyAny>, argument: &str) -> PyResult<PyFunction> {
        if !func.is_callable() {
            return Err(PyTypeError::new_err(format!(
                "{argument}: expected a callable, got {}",
                func.get_type().name()?
            )));
        }
        let name = func
            .getattr("__qualname__")
            .or_else(|_| func.getattr("__name__"))
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "function".into());
        Ok(PyFunction {
            func: func.clone().unbind(),
            name,
        })
    }

    /// Calls the function on an element: a tuple's components become positional arguments,
    /// as tf.data passes them.
    fn invoke<'py>(&self, py: Python<'py>, element: Element) -> PyResult<Bound<'py, PyAny>> {
        let f = self.func.bind(py);
        match element {
            Element::Tuple(items) => {
                let args = items
                    .into_iter()
                    .map(|e| element_to_py(py, e))
                    .collect::<PyResult<Vec<_>>>()?;
                f.call1(PyTuple::new(py, args)?)
            }
            other => f.call1((element_to_py(py, other)?,)),
        }
    }

    fn describe(&self) -> String {
        format!("{} (python)", self.name)
    }
}

/// `map`'s function.
pub struct PyMapFn(pub PyFunction);

impl PyMapFn {
    fn call_in(&self, py: Python<'_>, element: Element) -> Result<Element> {
        self.0
            .invoke(py, element)
            .and_then(|out| result_to_element(&out))
            .map_err(|e| from_py(py, e))
    }
}

impl MapFn for PyMapFn {
    fn call(&self, element: Element) -> Result<Element> {
        Python::attach(|py| self.call_in(py, element))
    }

    fn call_many(
        &self,
        elements: Vec<Result<Element>>,
        _first_position: u64,
        cancel: &CancelToken,
    ) -> Vec<Result<Element>> {
        Python::attach(|py| {
            elements
                .into_iter()
                .map(|e| call_unless_cancelled(e, cancel, |e| self.call_in(py, e)))
                .collect()
        })
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

/// `filter`'s predicate: must return a scalar bool (Python, numpy or a 0-d array).
pub struct PyPredicateFn(pub PyFunction);

impl PredicateFn for PyPredicateFn {
    fn call(&self, element: &Element) -> Result<bool> {
        Python::attach(|py| {
            let out = self
                .0
                .invoke(py, element.clone())
                .map_err(|e| from_py(py, e))?;
            let t = to_tensor(&out).map_err(|e| from_py(py, e))?;
            if t.dtype() != DType::Bool || t.rank() != 0 {
                return Err(from_py(
                    py,
                    PyTypeError::new_err(format!(
                        "filter: the predicate {} must return a scalar bool, got a {} of shape {:?}",
                        self.0.name,
                        t.dtype(),
                        t.shape()
                    )),
                ));
            }
            Ok(t.scalar_value::<headrace::value::Bool>()?.0 != 0)
        })
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

/// `flat_map`'s and `interleave`'s function: must return a headrace Dataset.
pub struct PyDatasetFn(pub PyFunction);

impl DatasetFn for PyDatasetFn {
    fn call(&self, element: Element) -> Result<Dataset> {
        Python::attach(|py| {
            let out = self.0.invoke(py, element).map_err(|e| from_py(py, e))?;
            dataset_of(&out).map_err(|e| from_py(py, e))
        })
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

/// The engine dataset behind a Python `headrace.Dataset` (or a bare native one).
pub fn dataset_of(obj: &Bound<'_, PyAny>) -> PyResult<Dataset> {
    let native = if obj.is_instance_of::<NativeDataset>() {
        obj.clone()
    } else {
        obj.getattr("_native").map_err(|_| {
            PyTypeError::new_err(format!(
                "expected a headrace.Dataset, got {}",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?
    };
    Ok(native.cast::<NativeDataset>()?.get().inner.clone())
}

/// `from_generator`'s source: `factory()` returns a fresh Python iterator for each epoch,
/// whose items are already in element form (the Python layer conforms them to the spec).
pub fn generator_factory(factory: Py<PyAny>) -> IteratorFactory {
    let factory = Arc::new(factory);
    Arc::new(move || {
        Python::attach(|py| {
            let it = factory
                .bind(py)
                .call0()
                .and_then(|g| g.try_iter())
                .map_err(|e| from_py(py, e))?;
            Ok(Box::new(PyIterSource { it: it.unbind() }) as BoxIterator)
        })
    })
}

struct PyIterSource {
    it: Py<PyIterator>,
}

impl ElementIterator for PyIterSource {
    fn next(&mut self) -> Option<Result<Element>> {
        Python::attach(|py| {
            let mut it = self.it.bind(py).clone();
            match it.next()? {
                Ok(v) => Some(crate::convert::to_element(&v).map_err(|e| from_py(py, e))),
                Err(e) => Some(Err(from_py(py, e))),
            }
        })
    }
}

/// `map(fn, executor="process")`: `fn` runs in a pool of Python worker processes, one pool
/// per running pipeline. `factory` is the Python side (`headrace._process.ProcessMap`):
/// `factory.start()` makes a pool, `pool.run(position, cancelled, args)` runs one element
/// in a worker (waiting without the GIL) and `pool.close()` ends the workers.
pub struct PyProcessMapFn {
    factory: Py<PyAny>,
    name: String,
    /// "processes" or "auto", for descriptions.
    executor: String,
}

impl PyProcessMapFn {
    pub fn new(factory: &Bound<'_, PyAny>) -> PyResult<PyProcessMapFn> {
        let name = factory.getattr("name")?.extract()?;
        let executor = factory.getattr("executor")?.extract()?;
        Ok(PyProcessMapFn {
            factory: factory.clone().unbind(),
            name,
            executor,
        })
    }

    fn not_started() -> headrace::Error {
        headrace::Error::internal("a process map ran before its pool was started")
    }
}

impl MapFn for PyProcessMapFn {
    fn call(&self, _element: Element) -> Result<Element> {
        Err(Self::not_started())
    }

    /// The pool of the pipeline being built, started on first use: the epochs of `repeat`
    /// share it, and it ends when the pipeline is dropped.
    fn instantiate(&self, ctx: &Context) -> Result<Option<Arc<dyn MapFn>>> {
        let key = self as *const Self as usize;
        let pool = ctx.pipeline_state(key, || {
            Python::attach(|py| {
                let pool = self
                    .factory
                    .bind(py)
                    .call_method0("start")
                    .map_err(|e| from_py(py, e))?;
                Ok(Pool(Some(pool.unbind())))
            })
        })?;
        let may_settle = Python::attach(|py| {
            let pool = pool.0.as_ref().expect("a pool is closed only on drop");
            pool.bind(py).hasattr("direct").unwrap_or(false)
        });
        Ok(Some(Arc::new(PooledMapFn {
            pool,
            description: format!("{} (python, {})", self.name, self.executor),
            may_settle,
            direct: OnceLock::new(),
        })))
    }

    fn describe(&self) -> String {
        format!("{} (python, {})", self.name, self.executor)
    }
}

/// A running pool of worker processes, ended (workers terminated and joined) on drop.
struct Pool(Option<Py<PyAny>>);

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            Python::attach(|py| {
                // Dropped maybe while an exception propagates (the iterator freed as it
                // unwinds): keep it aside while calling into Python.
                let pending = PyErr::take(py);
                if let Err(e) = pool.bind(py).call_method0("close") {
                    e.write_unraisable(py, None);
                }
                if let Some(e) = pending {
                    e.restore(py);
                }
            });
        }
    }
}

/// The function a process map's stage runs: hands each element to the pipeline's pool.
struct PooledMapFn {
    pool: Arc<Pool>,
    /// `fn (python, processes)` or `fn (python, auto)`.
    description: String,
    /// Whether the pool is an `executor="auto"` runner, which may settle on threads for
    /// good (its `direct` attribute is then the function itself).
    may_settle: bool,
    /// The function, once the runner has settled on threads: called here directly, as
    /// `executor="thread"` calls it, without the runner's per-call cost in Python.
    direct: OnceLock<PyFunction>,
}

impl PooledMapFn {
    fn call_in(
        &self,
        py: Python<'_>,
        element: Element,
        position: Option<u64>,
        cancel: &CancelToken,
    ) -> Result<Element> {
        let run = || -> PyResult<Element> {
            let pool = self.pool.0.as_ref().expect("a pool is closed only on drop");
            if self.direct.get().is_none() && self.may_settle {
                let direct = pool.bind(py).getattr("direct")?;
                if !direct.is_none() {
                    let _ = self.direct.set(PyFunction::new(&direct, "map_func")?);
                }
            }
            if let Some(f) = self.direct.get() {
                return result_to_element(&f.invoke(py, element)?);
            }
            let args = match element {
                Element::Tuple(items) => PyTuple::new(
                    py,
                    items
                        .into_iter()
                        .map(|e| element_to_py(py, e))
                        .collect::<PyResult<Vec<_>>>()?,
                )?,
                other => PyTuple::new(py, [element_to_py(py, other)?])?,
            };
            let cancelled = Bound::new(
                py,
                CancelFlag {
                    token: cancel.clone(),
                },
            )?;
            let out = pool
                .bind(py)
                .call_method1("run", (position, cancelled, args))?;
            result_to_element(&out)
        };
        run().map_err(|e| from_py(py, e))
    }
}

impl MapFn for PooledMapFn {
    fn call(&self, element: Element) -> Result<Element> {
        Python::attach(|py| self.call_in(py, element, None, &CancelToken::new()))
    }

    fn call_at(&self, element: Element, position: u64) -> Result<Element> {
        Python::attach(|py| self.call_in(py, element, Some(position), &CancelToken::new()))
    }

    fn call_many(
        &self,
        elements: Vec<Result<Element>>,
        first_position: u64,
        cancel: &CancelToken,
    ) -> Vec<Result<Element>> {
        Python::attach(|py| {
            elements
                .into_iter()
                .zip(first_position..)
                .map(|(e, p)| {
                    call_unless_cancelled(e, cancel, |e| self.call_in(py, e, Some(p), cancel))
                })
                .collect()
        })
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// Tells a worker-process wait that its stage was cancelled (the pipeline is being
/// dropped), so that it stops waiting for a result nobody will read.
#[pyclass(frozen, module = "headrace._native")]
pub struct CancelFlag {
    token: CancelToken,
}

#[pymethods]
impl CancelFlag {
    fn __call__(&self) -> bool {
        self.token.is_cancelled()
    }
}
