//! `FixedLengthRecordDataset(filenames, record_bytes, header_bytes, footer_bytes,
//! buffer_size, compression_type, num_parallel_reads)`: fixed-size records of binary files
//! as string scalars (see `tfrecord/fixed_length.rs`).

use std::sync::Arc;

use bytes::Bytes;

use super::file_records::{chunk_size, FileRecords, RecordFormat};
use super::{Dataset, Parallelism};
use crate::error::{Error, Result};
use crate::tfrecord::{Compression, FileSource, FixedLengthReader};

struct FixedLengthFormat {
    record_bytes: usize,
    header_bytes: usize,
    footer_bytes: usize,
    compression: Compression,
    chunk_size: usize,
}

impl RecordFormat for FixedLengthFormat {
    fn kind(&self) -> &'static str {
        "FixedLengthRecord"
    }

    fn describe(&self) -> String {
        format!(
            "record_bytes={}, header_bytes={}, footer_bytes={}, compression_type={:?}",
            self.record_bytes,
            self.header_bytes,
            self.footer_bytes,
            self.compression.name()
        )
    }

    fn open(&self, path: &[u8]) -> Result<Box<dyn FileRecords>> {
        Ok(Box::new(FixedLengthReader::open(
            path,
            self.compression,
            self.record_bytes,
            self.header_bytes,
            self.footer_bytes,
            self.chunk_size,
        )?))
    }
}

impl FileRecords for FixedLengthReader<FileSource> {
    fn next_record(&mut self) -> Option<Result<Bytes>> {
        self.read_record()
    }

    fn bytes_unread(&self) -> u64 {
        self.get_ref().bytes_after(self.offset())
    }
}

fn size_argument(name: &str, value: i64, minimum: i64) -> Result<usize> {
    if value < minimum {
        return Err(Error::argument(
            name,
            format!("must be at least {minimum}, got {value}"),
        ));
    }
    usize::try_from(value).map_err(|_| Error::argument(name, format!("{value} is too large")))
}

impl Dataset {
    /// Records of `record_bytes` bytes from the files `filenames` names, after
    /// `header_bytes` and up to the last `footer_bytes` of each, as
    /// `tf.data.FixedLengthRecordDataset`. A file whose body is not a whole number of
    /// records gives a `DataLoss` error after its whole records (tf.data drops the partial
    /// record silently).
    #[allow(clippy::too_many_arguments)]
    pub fn fixed_length_record(
        filenames: &Dataset,
        record_bytes: i64,
        header_bytes: i64,
        footer_bytes: i64,
        buffer_size: Option<i64>,
        compression: Compression,
        num_parallel_reads: Option<Parallelism>,
    ) -> Result<Dataset> {
        let format = FixedLengthFormat {
            record_bytes: size_argument("record_bytes", record_bytes, 1)?,
            header_bytes: size_argument("header_bytes", header_bytes, 0)?,
            footer_bytes: size_argument("footer_bytes", footer_bytes, 0)?,
            compression,
            chunk_size: chunk_size(buffer_size)?,
        };
        Dataset::read_files(filenames, Arc::new(format), num_parallel_reads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::testing::strings;
    use crate::Tensor;

    #[test]
    fn records_between_header_and_footer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.bin").display().to_string();
        std::fs::write(&path, "HDRaaaabbbbccccFOOT").unwrap();
        let files = Dataset::from_tensors(Tensor::string_scalar(path.clone()).into());
        let ds =
            Dataset::fixed_length_record(&files, 4, 3, 4, None, Compression::None, None).unwrap();
        assert_eq!(strings(&ds), ["aaaa", "bbbb", "cccc"]);
        let err = Dataset::fixed_length_record(&files, 0, 0, 0, None, Compression::None, None)
            .unwrap_err();
        assert_eq!(err.to_string(), "record_bytes: must be at least 1, got 0");
        let err = Dataset::fixed_length_record(&files, 4, -1, 0, None, Compression::None, None)
            .unwrap_err();
        assert_eq!(err.to_string(), "header_bytes: must be at least 0, got -1");
    }
}
