//! Python callables as engine functions. Each call takes the GIL only while in Python; a
//! chunk of elements is processed under one acquisition (see `MapFn::call_many`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use headrace::dataset::generator::IteratorFactory;
use headrace::dataset::{
    call_unless_cancelled, BoxIterator, Context, DatasetFn, ElementIterator, MapFn, PredicateFn,
};
use headrace::runtime::CancelToken;
use headrace::{DType, Dataset, Element, Result};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyIterator, PyList, PyTuple};

use crate::convert::{element_to_py, result_to_element, to_element, to_tensor};
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
        self.func.bind(py).call1(call_args(py, element)?)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn describe(&self) -> String {
        format!("{} (python)", self.name)
    }
}

/// An element as a Python function's arguments: a tuple's components become positional
/// arguments, as tf.data passes them; anything else is the one argument.
fn call_args<'py>(py: Python<'py>, element: Element) -> PyResult<Bound<'py, PyTuple>> {
    match element {
        Element::Tuple(items) => PyTuple::new(
            py,
            items
                .into_iter()
                .map(|e| element_to_py(py, e))
                .collect::<PyResult<Vec<_>>>()?,
        ),
        other => PyTuple::new(py, [element_to_py(py, other)?]),
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

/// The Python side of a function run in worker processes (`headrace._process.ProcessMap`,
/// or `headrace._auto.AutoMap` for `executor="auto"`): `factory.start()` makes a pool for
/// one running pipeline, `pool.run(position, cancelled, args)` runs one element in a worker
/// (waiting without the GIL), `pool.begin_epoch(factory.next_epoch())` says that the stage
/// was built again, with its build number across pipelines (the seeds of the calls depend on
/// it: each epoch of `repeat` and each iteration draws anew) and `pool.close()` ends the
/// workers.
struct ProcessFactory {
    factory: Py<PyAny>,
    name: String,
    /// "processes" or "auto", for descriptions.
    executor: String,
}

impl ProcessFactory {
    fn new(factory: &Bound<'_, PyAny>) -> PyResult<ProcessFactory> {
        Ok(ProcessFactory {
            factory: factory.clone().unbind(),
            name: factory.getattr("name")?.extract()?,
            executor: factory.getattr("executor")?.extract()?,
        })
    }

    fn describe(&self) -> String {
        format!("{} (python, {})", self.name, self.executor)
    }

    /// The pool of the pipeline being built, started on first use: the epochs of `repeat`
    /// share it, and it ends when the pipeline is dropped. Each call is a new epoch.
    fn pool(&self, ctx: &Context) -> Result<Arc<Pool>> {
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
        Python::attach(|py| {
            let epoch = self
                .factory
                .bind(py)
                .call_method0("next_epoch")
                .map_err(|e| from_py(py, e))?;
            pool.bound(py)
                .call_method1("begin_epoch", (epoch,))
                .map_err(|e| from_py(py, e))?;
            Ok(())
        })?;
        Ok(pool)
    }

    /// Moves the stage's epochs on by `count` (its calls' seeds depend on them).
    fn skip_epochs(&self, count: u64) {
        Python::attach(|py| {
            if let Err(e) = self
                .factory
                .bind(py)
                .getattr("epochs")
                .and_then(|epochs| epochs.call_method1("skip", (count,)))
            {
                e.write_unraisable(py, None);
            }
        });
    }

    fn not_started() -> headrace::Error {
        headrace::Error::internal("a process function ran before its pool was started")
    }
}

/// `map(fn, executor="process")` (or `"auto"`): `fn` runs in a pool of Python worker
/// processes, one pool per running pipeline.
pub struct PyProcessMapFn(ProcessFactory);

impl PyProcessMapFn {
    pub fn new(factory: &Bound<'_, PyAny>) -> PyResult<PyProcessMapFn> {
        Ok(PyProcessMapFn(ProcessFactory::new(factory)?))
    }
}

impl MapFn for PyProcessMapFn {
    fn call(&self, _element: Element) -> Result<Element> {
        Err(ProcessFactory::not_started())
    }

    fn skip_iterations(&self, count: u64) {
        self.0.skip_epochs(count);
    }

    fn instantiate(&self, ctx: &Context) -> Result<Option<Arc<dyn MapFn>>> {
        let pool = self.0.pool(ctx)?;
        let may_settle = Python::attach(|py| pool.bound(py).hasattr("direct").unwrap_or(false));
        Ok(Some(Arc::new(PooledMapFn {
            pool,
            description: self.0.describe(),
            may_settle,
            direct: OnceLock::new(),
        })))
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

/// `flat_map(fn, executor="process")`: `fn` runs in a worker process, which iterates the
/// dataset it returns and sends back its elements (a list); the stage yields them.
pub struct PyProcessDatasetFn(ProcessFactory);

impl PyProcessDatasetFn {
    pub fn new(factory: &Bound<'_, PyAny>) -> PyResult<PyProcessDatasetFn> {
        Ok(PyProcessDatasetFn(ProcessFactory::new(factory)?))
    }
}

impl DatasetFn for PyProcessDatasetFn {
    fn call(&self, _element: Element) -> Result<Dataset> {
        Err(ProcessFactory::not_started())
    }

    fn instantiate(&self, ctx: &Context) -> Result<Option<Arc<dyn DatasetFn>>> {
        Ok(Some(Arc::new(PooledDatasetFn {
            pool: self.0.pool(ctx)?,
            description: self.0.describe(),
            next_position: AtomicU64::new(0),
        })))
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

/// A running pool of worker processes, ended (workers terminated and joined) on drop.
struct Pool(Option<Py<PyAny>>);

impl Pool {
    fn bound<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.0
            .as_ref()
            .expect("a pool is closed only on drop")
            .bind(py)
    }

    /// `fn(*element)` in a worker: the element's components become the arguments.
    fn run<'py>(
        &self,
        py: Python<'py>,
        element: Element,
        position: Option<u64>,
        cancel: &CancelToken,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = call_args(py, element)?;
        let cancelled = Bound::new(
            py,
            CancelFlag {
                token: cancel.clone(),
            },
        )?;
        self.bound(py)
            .call_method1("run", (position, cancelled, args))
    }
}

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
            if self.direct.get().is_none() && self.may_settle {
                let direct = self.pool.bound(py).getattr("direct")?;
                if !direct.is_none() {
                    let _ = self.direct.set(PyFunction::new(&direct, "map_func")?);
                }
            }
            if let Some(f) = self.direct.get() {
                return result_to_element(&f.invoke(py, element)?);
            }
            result_to_element(&self.pool.run(py, element, position, cancel)?)
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

/// The function a process flat_map's stage runs: one element at a time (flat_map is
/// sequential), so the position is a count.
struct PooledDatasetFn {
    pool: Arc<Pool>,
    description: String,
    next_position: AtomicU64,
}

impl DatasetFn for PooledDatasetFn {
    fn call(&self, element: Element) -> Result<Dataset> {
        let position = self.next_position.fetch_add(1, Ordering::Relaxed);
        Python::attach(|py| {
            let out = self
                .pool
                .run(py, element, Some(position), &CancelToken::new())
                .map_err(|e| from_py(py, e))?;
            elements_dataset(&out).map_err(|e| from_py(py, e))
        })
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// The dataset a worker sent back: the list of its elements (or, from a runner that calls
/// the function in this process, the dataset itself).
fn elements_dataset(out: &Bound<'_, PyAny>) -> PyResult<Dataset> {
    let Ok(list) = out.cast::<PyList>() else {
        return dataset_of(out);
    };
    let elements: Arc<[Element]> = list
        .iter()
        .map(|x| to_element(&x))
        .collect::<PyResult<Vec<_>>>()?
        .into();
    Ok(Dataset::from_generator(move || {
        let elements = elements.clone();
        (0..elements.len()).map(move |i| Ok(elements[i].clone()))
    }))
}

/// `filter(predicate, num_parallel_calls=N)`: the predicate runs as a parallel map whose
/// output pairs its verdict with the element, `(keep, element)`; [`KeptByVerdict`] and
/// [`PairedElement`] then keep the elements whose verdict is true, in the map's order.
pub struct VerdictMapFn {
    predicate: Arc<dyn MapFn>,
    name: String,
}

impl VerdictMapFn {
    pub fn new(predicate: Arc<dyn MapFn>, name: String) -> VerdictMapFn {
        VerdictMapFn { predicate, name }
    }

    fn pair(&self, verdict: Element, element: Element) -> Result<Element> {
        match &verdict {
            Element::Tensor(t) if t.dtype() == DType::Bool && t.rank() == 0 => {
                Ok(Element::Tuple(vec![verdict, element]))
            }
            other => {
                let got = match other {
                    Element::Tensor(t) => format!("a {} of shape {:?}", t.dtype(), t.shape()),
                    other => other.structure_name(),
                };
                // A TypeError, as the predicate run by `filter` without parallelism gives.
                Err(Python::attach(|py| {
                    from_py(
                        py,
                        PyTypeError::new_err(format!(
                            "filter: the predicate {} must return a scalar bool, got {got}",
                            self.name
                        )),
                    )
                }))
            }
        }
    }
}

impl MapFn for VerdictMapFn {
    fn call(&self, element: Element) -> Result<Element> {
        let verdict = self.predicate.call(element.clone())?;
        self.pair(verdict, element)
    }

    fn call_at(&self, element: Element, position: u64) -> Result<Element> {
        let verdict = self.predicate.call_at(element.clone(), position)?;
        self.pair(verdict, element)
    }

    fn skip_iterations(&self, count: u64) {
        self.predicate.skip_iterations(count);
    }

    fn instantiate(&self, ctx: &Context) -> Result<Option<Arc<dyn MapFn>>> {
        Ok(self.predicate.instantiate(ctx)?.map(|predicate| {
            Arc::new(VerdictMapFn {
                predicate,
                name: self.name.clone(),
            }) as Arc<dyn MapFn>
        }))
    }

    fn call_many(
        &self,
        elements: Vec<Result<Element>>,
        first_position: u64,
        cancel: &CancelToken,
    ) -> Vec<Result<Element>> {
        let kept: Vec<Option<Element>> =
            elements.iter().map(|e| e.as_ref().ok().cloned()).collect();
        self.predicate
            .call_many(elements, first_position, cancel)
            .into_iter()
            .zip(kept)
            .map(|(verdict, element)| {
                verdict.and_then(|v| match element {
                    Some(e) => self.pair(v, e),
                    None => Err(headrace::Error::internal("a verdict for an error element")),
                })
            })
            .collect()
    }

    fn describe(&self) -> String {
        self.predicate.describe()
    }
}

/// Keeps the `(keep, element)` pairs of [`VerdictMapFn`] whose verdict is true.
pub struct KeptByVerdict;

impl PredicateFn for KeptByVerdict {
    fn call(&self, element: &Element) -> Result<bool> {
        match element {
            Element::Tuple(pair) if pair.len() == 2 => match &pair[0] {
                Element::Tensor(t) => Ok(t.scalar_value::<headrace::value::Bool>()?.0 != 0),
                _ => Err(headrace::Error::internal("a verdict is a tensor")),
            },
            _ => Err(headrace::Error::internal("a verdict comes paired")),
        }
    }

    fn describe(&self) -> String {
        "the predicate's verdict".into()
    }
}

/// The element of a `(keep, element)` pair.
pub struct PairedElement;

impl MapFn for PairedElement {
    fn call(&self, element: Element) -> Result<Element> {
        match element {
            Element::Tuple(mut pair) if pair.len() == 2 => Ok(pair.pop().expect("two items")),
            _ => Err(headrace::Error::internal("a verdict comes paired")),
        }
    }

    fn describe(&self) -> String {
        "the element kept".into()
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
