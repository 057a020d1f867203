//! The node shared by the file readers (`TFRecordDataset`, `TextLineDataset`,
//! `FixedLengthRecordDataset`): reads each file its input names, in order, yielding the
//! records as string scalars; with `num_parallel_reads`, files are read concurrently
//! through `interleave`, as tf.data does.
//!
//! A file that cannot be opened, or whose data is damaged, gives one error element; the
//! rest of that file is skipped (counted in the stage's `skipped_files`/`skipped_bytes`)
//! and reading goes on with the next file.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use super::{
    BoxIterator, Cardinality, Context, Dataset, DatasetFn, DatasetNode, ElementIterator,
    Parallelism,
};
use crate::error::{Error, Result};
use crate::runtime::StageStats;
use crate::tfrecord::DEFAULT_CHUNK;
use crate::value::{DType, Element, ElementSpec, PartialShape, Tensor, TensorSpec};

/// One kind of record file.
pub(crate) trait RecordFormat: Send + Sync + 'static {
    /// The dataset's name, as tf.data names the op (`"TFRecord"`).
    fn kind(&self) -> &'static str;
    fn describe(&self) -> String;
    /// Opens the file at `path` for reading its records.
    fn open(&self, path: &[u8]) -> Result<Box<dyn FileRecords>>;
}

/// The records of one open file.
pub(crate) trait FileRecords: Send {
    /// The next record; `None` at the end. After an error, nothing more.
    fn next_record(&mut self) -> Option<Result<Bytes>>;
    /// How many bytes of the file are left unread (when reading stops at an error).
    fn bytes_unread(&self) -> u64;
}

/// The read buffer's size from tf.data's `buffer_size` argument (`None` or 0: the
/// default).
pub(crate) fn chunk_size(buffer_size: Option<i64>) -> Result<usize> {
    match buffer_size {
        None | Some(0) => Ok(DEFAULT_CHUNK),
        Some(n) if n < 0 => Err(Error::argument(
            "buffer_size",
            format!("must be a non-negative number of bytes, got {n}"),
        )),
        Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

fn string_scalar_spec() -> ElementSpec {
    ElementSpec::Tensor(TensorSpec {
        dtype: DType::String,
        shape: PartialShape::known(&[]),
    })
}

struct FileRecordsNode {
    filenames: Dataset,
    format: Arc<dyn RecordFormat>,
}

impl DatasetNode for FileRecordsNode {
    fn kind(&self) -> &'static str {
        self.format.kind()
    }

    fn describe(&self) -> String {
        self.format.describe()
    }

    fn inputs(&self) -> Vec<&Dataset> {
        vec![&self.filenames]
    }

    fn element_spec(&self) -> ElementSpec {
        string_scalar_spec()
    }

    fn cardinality(&self) -> Cardinality {
        Cardinality::Unknown
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        Ok(Box::new(FileRecordsIter {
            filenames: self.filenames.make_iterator(ctx)?,
            pending: VecDeque::new(),
            current: None,
            format: self.format.clone(),
            stats: ctx.stats(),
        }))
    }
}

struct FileRecordsIter {
    filenames: BoxIterator,
    /// Paths of the last filenames element not yet opened (an element may be a vector).
    pending: VecDeque<Bytes>,
    current: Option<Box<dyn FileRecords>>,
    format: Arc<dyn RecordFormat>,
    stats: Arc<StageStats>,
}

impl FileRecordsIter {
    /// The paths in one element of the filenames dataset: a string scalar or vector.
    fn paths(element: Element) -> Result<Vec<Bytes>> {
        match element.into_tensor() {
            Ok(t) if t.dtype() == DType::String && t.rank() <= 1 => Ok(t.string_values()?.to_vec()),
            _ => Err(Error::invalid_argument(
                "filenames: each element must be a string scalar or vector of paths",
            )),
        }
    }
}

impl ElementIterator for FileRecordsIter {
    fn next(&mut self) -> Option<Result<Element>> {
        loop {
            if let Some(file) = self.current.as_mut() {
                match file.next_record() {
                    Some(Ok(record)) => return Some(Ok(Tensor::string_scalar(record).into())),
                    Some(Err(e)) => {
                        self.stats.record_skipped_file(file.bytes_unread());
                        self.current = None;
                        return Some(Err(e));
                    }
                    None => self.current = None,
                }
            }
            let path = match self.pending.pop_front() {
                Some(path) => path,
                None => match self.filenames.next()?.and_then(Self::paths) {
                    Ok(paths) => {
                        self.pending.extend(paths);
                        continue;
                    }
                    Err(e) => return Some(Err(e)),
                },
            };
            match self.format.open(&path) {
                Ok(file) => self.current = Some(file),
                Err(e) => {
                    self.stats.record_skipped_file(0);
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Makes the dataset of one file's records, for `interleave`.
struct OneFile(Arc<dyn RecordFormat>);

impl DatasetFn for OneFile {
    fn call(&self, element: Element) -> Result<Dataset> {
        Ok(Dataset::from_node(FileRecordsNode {
            filenames: Dataset::from_tensors(element),
            format: self.0.clone(),
        }))
    }

    fn describe(&self) -> String {
        format!("{}({})", self.0.kind(), self.0.describe())
    }
}

impl Dataset {
    /// The records of the files `filenames` names (string scalars or vectors), read by
    /// `format`; see the module documentation.
    pub(crate) fn read_files(
        filenames: &Dataset,
        format: Arc<dyn RecordFormat>,
        num_parallel_reads: Option<Parallelism>,
    ) -> Result<Dataset> {
        match filenames.element_spec() {
            ElementSpec::Unknown => {}
            ElementSpec::Tensor(t)
                if t.dtype == DType::String && t.shape.0.as_ref().is_none_or(|d| d.len() <= 1) => {}
            other => {
                return Err(Error::type_error(
                    "filenames",
                    format!("must be string scalars or vectors of paths, got elements {other}"),
                ))
            }
        }
        match num_parallel_reads {
            None => Ok(Dataset::from_node(FileRecordsNode {
                filenames: filenames.clone(),
                format,
            })),
            Some(n) => filenames.interleave_with(
                Arc::new(OneFile(format)),
                n,
                1,
                Some(n),
                None,
                string_scalar_spec(),
            ),
        }
    }
}
