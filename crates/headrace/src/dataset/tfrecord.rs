//! `TFRecordDataset(filenames, compression_type, buffer_size, num_parallel_reads)`: the
//! records of TFRecord files as string scalars, sliced from the read buffer without a copy
//! (see `tfrecord/` for the format and its checks, `file_records.rs` for the reading).

use std::sync::Arc;

use bytes::Bytes;

use super::file_records::{chunk_size, FileRecords, RecordFormat};
use super::{Dataset, Parallelism};
use crate::error::Result;
use crate::tfrecord::{Compression, FileSource, RecordReader};

struct TfRecordFormat {
    compression: Compression,
    chunk_size: usize,
}

impl RecordFormat for TfRecordFormat {
    fn kind(&self) -> &'static str {
        "TFRecord"
    }

    fn describe(&self) -> String {
        format!("compression_type={:?}", self.compression.name())
    }

    fn open(&self, path: &[u8]) -> Result<Box<dyn FileRecords>> {
        Ok(Box::new(RecordReader::open(
            path,
            self.compression,
            self.chunk_size,
        )?))
    }
}

impl FileRecords for RecordReader<FileSource> {
    fn next_record(&mut self) -> Option<Result<Bytes>> {
        self.read_record()
    }

    fn bytes_unread(&self) -> u64 {
        self.get_ref().bytes_after(self.offset())
    }
}

impl Dataset {
    /// The records of the TFRecord files that `filenames` (a dataset of string scalars or
    /// vectors) names, as `tf.data.TFRecordDataset`. `buffer_size` is the read buffer's
    /// size in bytes (`None` or 0: 256 KiB). With `num_parallel_reads`, that many files are
    /// read at once by threads and their records interleaved one by one.
    ///
    /// Damaged data gives a `DataLoss` error naming the file, the record and its offset,
    /// after the records before it; the rest of that file is skipped.
    pub fn tfrecord(
        filenames: &Dataset,
        compression: Compression,
        buffer_size: Option<i64>,
        num_parallel_reads: Option<Parallelism>,
    ) -> Result<Dataset> {
        let format = TfRecordFormat {
            compression,
            chunk_size: chunk_size(buffer_size)?,
        };
        Dataset::read_files(filenames, Arc::new(format), num_parallel_reads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::tfrecord::RecordWriter;
    use crate::value::{Element, Tensor};
    use crate::Cardinality;

    fn paths(names: &[String]) -> Dataset {
        let values = names.iter().map(|n| Bytes::from(n.clone())).collect();
        Dataset::from_tensor_slices(Element::Tensor(
            Tensor::strings(&[names.len()], values).unwrap(),
        ))
        .unwrap()
    }

    /// `files` files of `per_file` records each, "f{i}-r{j}", in a temporary directory.
    fn write_files(
        files: usize,
        per_file: usize,
        compression: Compression,
    ) -> (tempfile::TempDir, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let names = (0..files)
            .map(|i| {
                let path = dir
                    .path()
                    .join(format!("f{i}.tfrecord"))
                    .display()
                    .to_string();
                let mut w = RecordWriter::create(&path, compression).unwrap();
                for j in 0..per_file {
                    w.write_record(format!("f{i}-r{j}").as_bytes()).unwrap();
                }
                w.finish().unwrap();
                path
            })
            .collect();
        (dir, names)
    }

    fn strings(items: Vec<Result<Element>>) -> Vec<std::result::Result<String, ErrorKind>> {
        items
            .into_iter()
            .map(|e| match e {
                Ok(e) => {
                    let t = e.into_tensor().unwrap();
                    assert_eq!((t.dtype(), t.rank()), (crate::DType::String, 0));
                    Ok(String::from_utf8(t.string_values().unwrap()[0].to_vec()).unwrap())
                }
                Err(e) => Err(e.kind()),
            })
            .collect()
    }

    #[test]
    fn files_are_read_in_order_and_records_are_string_scalars() {
        for compression in [Compression::None, Compression::Gzip, Compression::Zlib] {
            let (_dir, names) = write_files(3, 4, compression);
            let ds = Dataset::tfrecord(&paths(&names), compression, None, None).unwrap();
            assert_eq!(ds.cardinality(), Cardinality::Unknown);
            let expected: Vec<_> = (0..3)
                .flat_map(|i| (0..4).map(move |j| Ok(format!("f{i}-r{j}"))))
                .collect();
            assert_eq!(strings(ds.iter().unwrap().collect()), expected);
        }
    }

    #[test]
    fn parallel_reads_interleave_one_record_from_each_file() {
        let (_dir, names) = write_files(3, 2, Compression::None);
        let ds = Dataset::tfrecord(
            &paths(&names),
            Compression::None,
            Some(100),
            Some(Parallelism::Fixed(2)),
        )
        .unwrap();
        let got: Vec<String> = strings(ds.iter().unwrap().collect())
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        // tf.data: cycle_length = block... = num_parallel_reads, block_length 1.
        assert_eq!(got, ["f0-r0", "f1-r0", "f0-r1", "f1-r1", "f2-r0", "f2-r1"]);
    }

    #[test]
    fn a_damaged_file_gives_one_error_then_the_next_file_and_counts_what_was_skipped() {
        let (dir, mut names) = write_files(2, 3, Compression::None);
        let damaged = dir.path().join("damaged.tfrecord").display().to_string();
        let mut bytes = std::fs::read(&names[0]).unwrap();
        let len = bytes.len();
        bytes[len - 6] ^= 0xff; // inside the last record's data
        std::fs::write(&damaged, &bytes).unwrap();
        names.insert(0, damaged.clone());
        names.insert(1, "/no/such.tfrecord".into());
        let ds = Dataset::tfrecord(&paths(&names), Compression::None, None, None).unwrap();
        let got = strings(ds.iter().unwrap().collect());
        assert_eq!(
            got,
            [
                Ok("f0-r0".into()),
                Ok("f0-r1".into()),
                Err(ErrorKind::DataLoss),
                Err(ErrorKind::NotFound),
                Ok("f0-r0".into()),
                Ok("f0-r1".into()),
                Ok("f0-r2".into()),
                Ok("f1-r0".into()),
                Ok("f1-r1".into()),
                Ok("f1-r2".into()),
            ]
        );
        // With ignore_errors the good records pass, and the statistics show the skipping.
        let ds = ds.ignore_errors(false);
        let mut it = ds.iter().unwrap();
        assert_eq!(it.by_ref().filter(|r| r.is_ok()).count(), 8);
        let stats = it.stats();
        let reader = stats.iter().find(|s| s.stage == "TFRecord").unwrap();
        assert_eq!((reader.skipped_files, reader.skipped_bytes), (2, 21));
        let ignore = stats.iter().find(|s| s.stage == "IgnoreErrors").unwrap();
        assert_eq!(ignore.dropped_errors, 2);
    }

    #[test]
    fn bad_arguments() {
        let err =
            Dataset::tfrecord(&Dataset::range(0, 3), Compression::None, None, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Type);
        assert!(
            err.to_string().starts_with("filenames: must be string"),
            "{err}"
        );
        let err = Dataset::tfrecord(&paths(&[]), Compression::None, Some(-1), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "buffer_size: must be a non-negative number of bytes, got -1"
        );
    }
}
