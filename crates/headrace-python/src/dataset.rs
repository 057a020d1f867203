//! `headrace._native.Dataset`: each method translates its arguments and calls the engine.
//! tf.data's flexible signatures (`range(stop)`, `zip(a, b)` …) are sorted out by the
//! Python layer (`python/headrace/dataset.py`), which is what users call.

use std::sync::Arc;

use headrace::dataset::zip::DatasetStructure;
use headrace::dataset::{DatasetFn, MapFn, Parallelism, PredicateFn};
use headrace::value::PartialShape;
use headrace::{Dataset, Options};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::convert::{spec_from_py, spec_to_py, to_element, to_tensor};
use crate::errors::to_py;
use crate::function::{
    dataset_of, generator_factory, KeptByVerdict, PairedElement, PyDatasetFn, PyFunction, PyMapFn,
    PyPredicateFn, PyProcessDatasetFn, PyProcessMapFn, VerdictMapFn,
};
use crate::graph::NativeGraph;
use crate::iterator::NativeIterator;
use crate::template::NativeTemplateFn;

/// `tf.data.AUTOTUNE`.
pub const AUTOTUNE: i64 = -1;

#[pyclass(module = "headrace._native", name = "Dataset", frozen)]
pub struct NativeDataset {
    pub inner: Dataset,
}

pub(crate) fn wrap(py: Python<'_>, r: headrace::Result<Dataset>) -> PyResult<NativeDataset> {
    r.map(|inner| NativeDataset { inner })
        .map_err(|e| to_py(py, e))
}

fn ok(inner: Dataset) -> PyResult<NativeDataset> {
    Ok(NativeDataset { inner })
}

/// `num_parallel_calls`: None (sequential), AUTOTUNE, or a positive count.
pub(crate) fn parallelism(
    py: Python<'_>,
    name: &str,
    n: Option<i64>,
) -> PyResult<Option<Parallelism>> {
    match n {
        None => Ok(None),
        Some(AUTOTUNE) => Ok(Some(Parallelism::Autotune)),
        Some(n) => Parallelism::fixed(name, n)
            .map(Some)
            .map_err(|e| to_py(py, e)),
    }
}

/// A flat_map/interleave function: traced (a `TemplateFn`, whose datasets' spec is
/// known) or Python.
fn dataset_fn(func: &Bound<'_, PyAny>) -> PyResult<(Arc<dyn DatasetFn>, headrace::ElementSpec)> {
    if let Ok(t) = func.cast::<NativeTemplateFn>() {
        let f = t.get().function.clone();
        let spec = f.element_spec();
        return Ok((f, spec));
    }
    let f = PyDatasetFn(PyFunction::new(func, "map_func")?);
    Ok((Arc::new(f), headrace::ElementSpec::Unknown))
}

fn structure_of(obj: &Bound<'_, PyAny>) -> PyResult<DatasetStructure> {
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Ok(DatasetStructure::Tuple(
            t.iter()
                .map(|x| structure_of(&x))
                .collect::<PyResult<_>>()?,
        ));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut items = Vec::new();
        for (k, v) in d.iter() {
            items.push((k.extract::<String>()?.into(), structure_of(&v)?));
        }
        return Ok(DatasetStructure::Dict(items));
    }
    dataset_of(obj).map(DatasetStructure::Dataset).map_err(|_| {
        PyTypeError::new_err(format!(
            "zip: datasets must be headrace Datasets or (nested) tuples or dicts of them, got {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

#[pymethods]
impl NativeDataset {
    #[staticmethod]
    fn range(py: Python<'_>, start: i64, stop: i64, step: i64) -> PyResult<Self> {
        wrap(py, Dataset::range_with_step(start, stop, step))
    }

    #[staticmethod]
    fn from_tensors(value: &Bound<'_, PyAny>) -> PyResult<Self> {
        ok(Dataset::from_tensors(to_element(value)?))
    }

    #[staticmethod]
    fn from_tensor_slices(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        let element = to_element(value)?;
        wrap(py, Dataset::from_tensor_slices(element))
    }

    /// `factory()` must return a fresh iterator of elements; `spec` is the declared
    /// output signature as `(shape, dtype_name)` trees, or None.
    #[staticmethod]
    #[pyo3(signature = (factory, spec=None))]
    fn from_generator(
        factory: &Bound<'_, PyAny>,
        spec: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let spec = match spec {
            Some(s) => spec_from_py(s)?,
            None => headrace::ElementSpec::Unknown,
        };
        ok(Dataset::from_iterator_factory(
            generator_factory(factory.clone().unbind()),
            spec,
        ))
    }

    #[staticmethod]
    #[pyo3(signature = (patterns, shuffle, seed=None))]
    fn list_files(
        py: Python<'_>,
        patterns: Vec<String>,
        shuffle: bool,
        seed: Option<u64>,
    ) -> PyResult<Self> {
        wrap(py, Dataset::list_files(&patterns, shuffle, seed))
    }

    #[staticmethod]
    fn zip(py: Python<'_>, datasets: &Bound<'_, PyAny>) -> PyResult<Self> {
        wrap(py, Dataset::zip(structure_of(datasets)?))
    }

    /// With `processes`, `func` is a `headrace._process.ProcessMap`: the function runs in
    /// worker processes.
    #[pyo3(signature = (func, num_parallel_calls=None, deterministic=None, output_spec=None, processes=false))]
    fn map(
        &self,
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        num_parallel_calls: Option<i64>,
        deterministic: Option<bool>,
        output_spec: Option<&Bound<'_, PyAny>>,
        processes: bool,
    ) -> PyResult<Self> {
        let f: Arc<dyn MapFn> = match func.cast::<NativeGraph>() {
            Ok(g) => g.get().graph.clone(),
            Err(_) if processes => Arc::new(PyProcessMapFn::new(func)?),
            Err(_) => Arc::new(PyMapFn(PyFunction::new(func, "map_func")?)),
        };
        let parallel = parallelism(py, "num_parallel_calls", num_parallel_calls)?;
        let spec = match output_spec {
            Some(s) => spec_from_py(s)?,
            None => headrace::ElementSpec::Unknown,
        };
        ok(self.inner.map_with(f, parallel, deterministic, spec))
    }

    fn filter(&self, predicate: &Bound<'_, PyAny>) -> PyResult<Self> {
        let f: Arc<dyn PredicateFn> = match predicate.cast::<NativeGraph>() {
            Ok(g) => g.get().graph.clone(),
            Err(_) => Arc::new(PyPredicateFn(PyFunction::new(predicate, "predicate")?)),
        };
        ok(self.inner.filter_with(f))
    }

    /// `filter` with `num_parallel_calls` or worker processes: the predicate runs as a
    /// parallel map pairing each element with its verdict, then the pairs kept are
    /// unpaired (see `VerdictMapFn`). `processes`: `predicate` is a `ProcessMap`/`AutoMap`.
    fn filter_parallel(
        &self,
        py: Python<'_>,
        predicate: &Bound<'_, PyAny>,
        num_parallel_calls: Option<i64>,
        deterministic: Option<bool>,
        processes: bool,
    ) -> PyResult<Self> {
        let (f, name): (Arc<dyn MapFn>, String) = match predicate.cast::<NativeGraph>() {
            Ok(g) => (g.get().graph.clone(), "(traced)".into()),
            Err(_) if processes => {
                let name = predicate.getattr("name")?.extract()?;
                (Arc::new(PyProcessMapFn::new(predicate)?), name)
            }
            Err(_) => {
                let f = PyFunction::new(predicate, "predicate")?;
                let name = f.name().to_string();
                (Arc::new(PyMapFn(f)), name)
            }
        };
        let parallel = parallelism(py, "num_parallel_calls", num_parallel_calls)?;
        let spec = self.inner.element_spec();
        let paired = self.inner.map_with(
            Arc::new(VerdictMapFn::new(f, name)),
            parallel,
            deterministic,
            headrace::ElementSpec::Unknown,
        );
        ok(paired.filter_with(Arc::new(KeptByVerdict)).map_with(
            Arc::new(PairedElement),
            None,
            None,
            spec,
        ))
    }

    /// `flat_map`; `processes`: `func` is a `ProcessMap` whose workers send back the
    /// elements of the datasets the function makes.
    #[pyo3(signature = (func, processes=false))]
    fn flat_map(&self, func: &Bound<'_, PyAny>, processes: bool) -> PyResult<Self> {
        if processes {
            let f = Arc::new(PyProcessDatasetFn::new(func)?);
            return ok(self.inner.flat_map_with(f, headrace::ElementSpec::Unknown));
        }
        let (f, spec) = dataset_fn(func)?;
        ok(self.inner.flat_map_with(f, spec))
    }

    #[pyo3(signature = (func, cycle_length, block_length, num_parallel_calls=None, deterministic=None))]
    fn interleave(
        &self,
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        cycle_length: i64,
        block_length: i64,
        num_parallel_calls: Option<i64>,
        deterministic: Option<bool>,
    ) -> PyResult<Self> {
        let (f, spec) = dataset_fn(func)?;
        let cycle = parallelism(py, "cycle_length", Some(cycle_length))?.unwrap();
        let parallel = parallelism(py, "num_parallel_calls", num_parallel_calls)?;
        wrap(
            py,
            self.inner
                .interleave_with(f, cycle, block_length, parallel, deterministic, spec),
        )
    }

    fn batch(&self, py: Python<'_>, batch_size: i64, drop_remainder: bool) -> PyResult<Self> {
        wrap(py, self.inner.batch(batch_size, drop_remainder))
    }

    /// `padded_shapes` and `padding_values` come flattened per component by the Python layer.
    #[pyo3(signature = (batch_size, padded_shapes, padding_values, drop_remainder))]
    fn padded_batch(
        &self,
        py: Python<'_>,
        batch_size: i64,
        padded_shapes: Option<Vec<Option<Vec<Option<usize>>>>>,
        padding_values: Option<Vec<Bound<'_, PyAny>>>,
        drop_remainder: bool,
    ) -> PyResult<Self> {
        let shapes = padded_shapes.map(|v| v.into_iter().map(PartialShape).collect());
        let values = padding_values
            .map(|v| v.iter().map(|x| to_tensor(x)).collect::<PyResult<Vec<_>>>())
            .transpose()?;
        wrap(
            py,
            self.inner
                .padded_batch(batch_size, shapes, values, drop_remainder),
        )
    }

    fn unbatch(&self) -> PyResult<Self> {
        ok(self.inner.unbatch())
    }

    #[pyo3(signature = (buffer_size, seed=None, reshuffle_each_iteration=true))]
    fn shuffle(
        &self,
        py: Python<'_>,
        buffer_size: i64,
        seed: Option<u64>,
        reshuffle_each_iteration: bool,
    ) -> PyResult<Self> {
        wrap(
            py,
            self.inner
                .shuffle(buffer_size, seed, reshuffle_each_iteration),
        )
    }

    fn repeat(&self, py: Python<'_>, count: i64) -> PyResult<Self> {
        wrap(py, self.inner.repeat(count))
    }

    fn take(&self, py: Python<'_>, count: i64) -> PyResult<Self> {
        wrap(py, self.inner.take(count))
    }

    fn skip(&self, py: Python<'_>, count: i64) -> PyResult<Self> {
        wrap(py, self.inner.skip(count))
    }

    fn shard(&self, py: Python<'_>, num_shards: i64, index: i64) -> PyResult<Self> {
        wrap(py, self.inner.shard(num_shards, index))
    }

    fn enumerate(&self, start: i64) -> PyResult<Self> {
        ok(self.inner.enumerate(start))
    }

    fn concatenate(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        let other = dataset_of(other)?;
        wrap(py, self.inner.concatenate(&other))
    }

    fn prefetch(&self, py: Python<'_>, buffer_size: i64) -> PyResult<Self> {
        let size = Dataset::buffer_size(buffer_size).map_err(|e| to_py(py, e))?;
        ok(self.inner.prefetch(size))
    }

    fn cache(&self, filename: &str) -> PyResult<Self> {
        ok(self.inner.cache(filename))
    }

    fn ignore_errors(&self, log_warning: bool) -> PyResult<Self> {
        ok(self.inner.ignore_errors(log_warning))
    }

    #[pyo3(signature = (deterministic=None, approximate_image_ops=None, pipeline_process=None))]
    fn with_options(
        &self,
        deterministic: Option<bool>,
        approximate_image_ops: Option<bool>,
        pipeline_process: Option<bool>,
    ) -> PyResult<Self> {
        ok(self.inner.with_options(&Options {
            deterministic,
            approximate_image_ops,
            pipeline_process,
        }))
    }

    /// The merged options, as a dict of the fields that are set.
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let options = self.inner.options();
        if let Some(v) = options.deterministic {
            d.set_item("deterministic", v)?;
        }
        if let Some(v) = options.approximate_image_ops {
            d.set_item("approximate_image_ops", v)?;
        }
        if let Some(v) = options.pipeline_process {
            d.set_item("pipeline_process", v)?;
        }
        Ok(d)
    }

    fn cardinality(&self) -> i64 {
        self.inner.cardinality().as_i64()
    }

    /// Moves the pipeline's per-iteration randomness on by `count` iterations (a copy
    /// rebuilt in a child process catches up with the original).
    fn skip_iterations(&self, count: u64) {
        self.inner.skip_iterations(count);
    }

    fn element_spec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        spec_to_py(py, &self.inner.element_spec())
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<NativeIterator> {
        let inner = self.inner.clone();
        let it = py.detach(move || inner.iter()).map_err(|e| to_py(py, e))?;
        Ok(NativeIterator::new(it))
    }

    fn __repr__(&self) -> String {
        self.inner.to_string()
    }
}
