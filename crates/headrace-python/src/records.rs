//! Record files from Python: the reader datasets (`TFRecordDataset`, `TextLineDataset`,
//! `FixedLengthRecordDataset`, built in `python/headrace/readers.py`) and
//! `hr.io.TFRecordWriter`.

use std::fs::File;
use std::io::BufWriter;
use std::sync::Mutex;

use headrace::tfrecord::{Compression, RecordWriter};
use headrace::Dataset;
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;

use crate::dataset::{parallelism, wrap, NativeDataset};
use crate::errors::to_py;

fn compression(py: Python<'_>, name: Option<&str>) -> PyResult<Compression> {
    Compression::parse(name.unwrap_or("")).map_err(|e| to_py(py, e))
}

/// `tfrecord_dataset(filenames, compression_type, buffer_size, num_parallel_reads)`.
#[pyfunction]
#[pyo3(signature = (filenames, compression_type=None, buffer_size=None, num_parallel_reads=None))]
pub fn tfrecord_dataset(
    py: Python<'_>,
    filenames: &NativeDataset,
    compression_type: Option<&str>,
    buffer_size: Option<i64>,
    num_parallel_reads: Option<i64>,
) -> PyResult<NativeDataset> {
    let reads = parallelism(py, "num_parallel_reads", num_parallel_reads)?;
    let format = compression(py, compression_type)?;
    wrap(
        py,
        Dataset::tfrecord(&filenames.inner, format, buffer_size, reads),
    )
}

/// `text_line_dataset(filenames, compression_type, buffer_size, num_parallel_reads)`.
#[pyfunction]
#[pyo3(signature = (filenames, compression_type=None, buffer_size=None, num_parallel_reads=None))]
pub fn text_line_dataset(
    py: Python<'_>,
    filenames: &NativeDataset,
    compression_type: Option<&str>,
    buffer_size: Option<i64>,
    num_parallel_reads: Option<i64>,
) -> PyResult<NativeDataset> {
    let reads = parallelism(py, "num_parallel_reads", num_parallel_reads)?;
    let format = compression(py, compression_type)?;
    wrap(
        py,
        Dataset::text_line(&filenames.inner, format, buffer_size, reads),
    )
}

/// `fixed_length_record_dataset(filenames, record_bytes, header_bytes, footer_bytes,
/// buffer_size, compression_type, num_parallel_reads)`.
#[pyfunction]
#[pyo3(signature = (filenames, record_bytes, header_bytes=0, footer_bytes=0, buffer_size=None, compression_type=None, num_parallel_reads=None))]
#[allow(clippy::too_many_arguments)]
pub fn fixed_length_record_dataset(
    py: Python<'_>,
    filenames: &NativeDataset,
    record_bytes: i64,
    header_bytes: i64,
    footer_bytes: i64,
    buffer_size: Option<i64>,
    compression_type: Option<&str>,
    num_parallel_reads: Option<i64>,
) -> PyResult<NativeDataset> {
    let reads = parallelism(py, "num_parallel_reads", num_parallel_reads)?;
    let format = compression(py, compression_type)?;
    wrap(
        py,
        Dataset::fixed_length_record(
            &filenames.inner,
            record_bytes,
            header_bytes,
            footer_bytes,
            buffer_size,
            format,
            reads,
        ),
    )
}

/// `hr.io.TFRecordWriter(path, compression_type)`: writes records as TensorFlow does.
#[pyclass(module = "headrace._native", name = "TFRecordWriter", frozen)]
pub struct NativeTfRecordWriter {
    writer: Mutex<RecordWriter<BufWriter<File>>>,
}

impl NativeTfRecordWriter {
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut RecordWriter<BufWriter<File>>) -> headrace::Result<T>,
    ) -> PyResult<T> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut writer).map_err(|e| to_py(py, e))
    }
}

/// Records at least this long are written with the GIL released.
const DETACH_ABOVE: usize = 64 * 1024;

#[pymethods]
impl NativeTfRecordWriter {
    #[new]
    #[pyo3(signature = (path, compression_type=None))]
    fn new(py: Python<'_>, path: &str, compression_type: Option<&str>) -> PyResult<Self> {
        let format = compression(py, compression_type)?;
        let writer = RecordWriter::create(path, format).map_err(|e| to_py(py, e))?;
        Ok(NativeTfRecordWriter {
            writer: Mutex::new(writer),
        })
    }

    /// Appends one record (any bytes-like object).
    fn write(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(b) = record.cast::<pyo3::types::PyBytes>() {
            let data = b.as_bytes();
            if data.len() < DETACH_ABOVE {
                return self.with(py, |w| w.write_record(data));
            }
        }
        let buffer = PyBuffer::<u8>::get(record)?;
        // A copy, so that the GIL can be released while it is written.
        let data = buffer.to_vec(py)?;
        py.detach(|| {
            let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            writer.write_record(&data)
        })
        .map_err(|e| to_py(py, e))
    }

    /// Pushes buffered records to the file (for a compressed file, what the compressor has
    /// emitted: the rest follows at `close`, as in TensorFlow).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |w| w.flush())
    }

    /// Finishes the file; later writes raise. Closing twice is allowed.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |w| w.finish().map(drop))
    }
}
