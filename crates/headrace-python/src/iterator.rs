//! The Python iterator over a running pipeline.

use headrace::dataset::Iter;
use headrace::runtime::wait::with_interrupt_check;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::element_to_py;
use crate::errors::{check_signals, to_py};

/// A running pipeline. `__next__` waits without the GIL, so the pipeline's Python functions
/// can run meanwhile, and Ctrl-C interrupts the wait.
#[pyclass(module = "headrace._native", name = "Iterator", weakref)]
pub struct NativeIterator {
    /// Behind a mutex because Python objects may be shared between threads; `None` once
    /// closed.
    inner: Mutex<Option<Iter>>,
}

impl NativeIterator {
    pub fn new(inner: Iter) -> NativeIterator {
        NativeIterator {
            inner: Mutex::new(Some(inner)),
        }
    }

    fn take(&self) -> Option<Iter> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

#[pymethods]
impl NativeIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let item = py.detach(|| {
            let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let it = guard.as_mut()?;
            with_interrupt_check(check_signals, || it.next())
        });
        match item {
            None => Ok(None),
            Some(Ok(element)) => element_to_py(py, element).map(Some),
            Some(Err(e)) => Err(to_py(py, e)),
        }
    }

    /// Stops the pipeline now: every thread it started is stopped and joined.
    fn close(&self, py: Python<'_>) {
        if let Some(it) = py.detach(|| self.take()) {
            py.detach(move || drop(it));
        }
    }

    /// Each stage's counters: a list of dicts with `stage`, `elements`, `errors`,
    /// `dropped_errors`, `skipped_files`, `skipped_bytes`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let stats = self
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|it| it.stats())
            .unwrap_or_default();
        stats
            .into_iter()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("stage", s.stage)?;
                d.set_item("elements", s.elements)?;
                d.set_item("errors", s.errors)?;
                d.set_item("dropped_errors", s.dropped_errors)?;
                d.set_item("skipped_files", s.skipped_files)?;
                d.set_item("skipped_bytes", s.skipped_bytes)?;
                Ok(d)
            })
            .collect()
    }
}

impl Drop for NativeIterator {
    fn drop(&mut self) {
        if let Some(it) = self.take() {
            // Joining may wait on workers that need the GIL to finish their Python call.
            Python::attach(|py| py.detach(move || drop(it)));
        }
    }
}
