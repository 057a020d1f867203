//! `TextLineDataset(filenames, compression_type, buffer_size, num_parallel_reads)`: the
//! lines of text files as string scalars, without their line endings (see
//! `tfrecord/text_line.rs`).

use std::sync::Arc;

use bytes::Bytes;

use super::file_records::{chunk_size, FileRecords, RecordFormat};
use super::{Dataset, Parallelism};
use crate::error::Result;
use crate::tfrecord::{Compression, FileSource, LineReader};

struct TextLineFormat {
    compression: Compression,
    chunk_size: usize,
}

impl RecordFormat for TextLineFormat {
    fn kind(&self) -> &'static str {
        "TextLine"
    }

    fn describe(&self) -> String {
        format!("compression_type={:?}", self.compression.name())
    }

    fn open(&self, path: &[u8]) -> Result<Box<dyn FileRecords>> {
        Ok(Box::new(LineReader::open(
            path,
            self.compression,
            self.chunk_size,
        )?))
    }
}

impl FileRecords for LineReader<FileSource> {
    fn next_record(&mut self) -> Option<Result<Bytes>> {
        self.read_line()
    }

    fn bytes_unread(&self) -> u64 {
        self.get_ref().bytes_after(self.offset())
    }
}

impl Dataset {
    /// The lines of the text files `filenames` names, as `tf.data.TextLineDataset`: each
    /// line without its `\n` or `\r\n`. `buffer_size` and `num_parallel_reads` are as for
    /// [`Dataset::tfrecord`].
    pub fn text_line(
        filenames: &Dataset,
        compression: Compression,
        buffer_size: Option<i64>,
        num_parallel_reads: Option<Parallelism>,
    ) -> Result<Dataset> {
        let format = TextLineFormat {
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

    #[test]
    fn lines_of_several_files_plain_and_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt").display().to_string();
        let b = dir.path().join("b.txt.gz").display().to_string();
        std::fs::write(&a, "one\r\ntwo\n\nthree").unwrap();
        let mut gz =
            crate::tfrecord::Compressor::new(std::fs::File::create(&b).unwrap(), Compression::Gzip);
        std::io::Write::write_all(&mut gz, b"four\nfive\n").unwrap();
        gz.finish().unwrap();
        let lines = |path: &str, compression| {
            strings(
                &Dataset::text_line(
                    &Dataset::from_tensors(crate::Tensor::string_scalar(path.to_string()).into()),
                    compression,
                    None,
                    None,
                )
                .unwrap(),
            )
        };
        assert_eq!(lines(&a, Compression::None), ["one", "two", "", "three"]);
        assert_eq!(lines(&b, Compression::Gzip), ["four", "five"]);
    }
}
