//! Reading fixed-length records, as `tf.data.FixedLengthRecordDataset` does: skip
//! `header_bytes`, then records of `record_bytes` each up to the last `footer_bytes`.
//!
//! A file whose body is not a whole number of records is an error once the whole records
//! are read: tf.data drops the partial record without a word, and headrace does not lose
//! data silently.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;

use super::chunks::ChunkedReader;
use super::compression::Compression;
use super::file::FileSource;
use crate::error::{Error, Result};

pub struct FixedLengthReader<R> {
    source: ChunkedReader<R>,
    name: Arc<str>,
    record_bytes: usize,
    header_bytes: usize,
    footer_bytes: usize,
    index: u64,
    started: bool,
    stopped: bool,
}

impl<R: Read> FixedLengthReader<R> {
    /// `record_bytes` must be at least 1.
    pub fn new(
        inner: R,
        name: &str,
        record_bytes: usize,
        header_bytes: usize,
        footer_bytes: usize,
        chunk_size: usize,
    ) -> FixedLengthReader<R> {
        assert!(record_bytes > 0, "record_bytes must be positive");
        FixedLengthReader {
            source: ChunkedReader::new(inner, chunk_size.max(record_bytes + footer_bytes)),
            name: name.into(),
            record_bytes,
            header_bytes,
            footer_bytes,
            index: 0,
            started: false,
            stopped: false,
        }
    }

    /// The offset of the next record in the (decompressed) stream.
    pub fn offset(&self) -> u64 {
        self.source.offset()
    }

    /// The reader underneath.
    pub fn get_ref(&self) -> &R {
        self.source.get_ref()
    }

    fn fail(&mut self, what: impl std::fmt::Display) -> Option<Result<Bytes>> {
        self.stopped = true;
        Some(Err(Error::data_loss(format!(
            "{}: record {} at byte offset {}: {what}",
            self.name,
            self.index,
            self.source.offset()
        ))))
    }

    /// The next record, `None` at the end (or after an error).
    pub fn read_record(&mut self) -> Option<Result<Bytes>> {
        if self.stopped {
            return None;
        }
        if !self.started {
            self.started = true;
            match self.source.fill(self.header_bytes) {
                Ok(n) if n < self.header_bytes => {
                    return self.fail(format!(
                        "the file has {n} bytes, fewer than its {}-byte header",
                        self.header_bytes
                    ))
                }
                Ok(_) => {
                    self.source.consume(self.header_bytes);
                }
                Err(e) => return self.fail(format!("cannot read: {e}")),
            }
        }
        // The footer is never a record: a record is only taken with the footer's bytes
        // behind it.
        let want = self.record_bytes + self.footer_bytes;
        match self.source.fill(want) {
            Ok(n) if n >= want => {
                self.index += 1;
                Some(Ok(self.source.consume(self.record_bytes)))
            }
            Ok(n) if n == self.footer_bytes => {
                self.stopped = true;
                None
            }
            Ok(n) if n < self.footer_bytes => self.fail(format!(
                "the file ends {n} bytes after its last whole record, short of its {}-byte footer",
                self.footer_bytes
            )),
            Ok(n) => self.fail(format!(
                "the file ends with {} bytes that are not a whole {}-byte record",
                n - self.footer_bytes,
                self.record_bytes
            )),
            Err(e) => self.fail(format!("cannot read: {e}")),
        }
    }
}

impl FixedLengthReader<FileSource> {
    /// Opens the file at `path`; the sizes are as for [`FixedLengthReader::new`].
    pub fn open(
        path: impl AsRef<[u8]>,
        compression: Compression,
        record_bytes: usize,
        header_bytes: usize,
        footer_bytes: usize,
        chunk_size: usize,
    ) -> Result<FixedLengthReader<FileSource>> {
        let path = path.as_ref();
        let source = FileSource::open(path, compression)?;
        let mut reader = FixedLengthReader::new(
            source,
            &String::from_utf8_lossy(path),
            record_bytes,
            header_bytes,
            footer_bytes,
            chunk_size,
        );
        reader.source.set_filler(FileSource::fill_spare);
        Ok(reader)
    }
}

impl<R: Read> Iterator for FixedLengthReader<R> {
    type Item = Result<Bytes>;

    fn next(&mut self) -> Option<Result<Bytes>> {
        self.read_record()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(data: &[u8], record: usize, header: usize, footer: usize) -> Vec<Result<Bytes>> {
        FixedLengthReader::new(data, "f.bin", record, header, footer, 7).collect()
    }

    #[test]
    fn header_records_footer() {
        let data = b"HHaaabbbcccFF";
        let got: Vec<_> = read(data, 3, 2, 2)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got, [&b"aaa"[..], b"bbb", b"ccc"]);
    }

    #[test]
    fn a_partial_record_is_an_error_after_the_whole_ones() {
        let got = read(b"aaabbbcc", 3, 0, 0);
        assert_eq!(got.len(), 3);
        assert_eq!(&got[1].as_ref().unwrap()[..], b"bbb");
        let err = got[2].as_ref().unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::DataLoss);
        assert_eq!(
            err.to_string(),
            "f.bin: record 2 at byte offset 6: the file ends with 2 bytes that are not a whole 3-byte record"
        );
        let err = read(b"H", 3, 2, 0).pop().unwrap().unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.bin: record 0 at byte offset 0: the file has 1 bytes, fewer than its 2-byte header"
        );
    }

    proptest! {
        #[test]
        fn whole_records_round_trip(
            records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 5), 0..50),
            header in 0usize..9,
            footer in 0usize..9,
        ) {
            let mut data = vec![1u8; header];
            for r in &records {
                data.extend_from_slice(r);
            }
            data.extend(std::iter::repeat_n(2u8, footer));
            let got: Vec<Vec<u8>> = read(&data, 5, header, footer)
                .into_iter()
                .map(|r| r.unwrap().to_vec())
                .collect();
            prop_assert_eq!(got, records);
        }
    }
}
