//! Reading TFRecord files.
//!
//! A record is framed as
//! `length: u64 LE | masked_crc32c(length): u32 LE | data[length] | masked_crc32c(data): u32 LE`.
//! Every check failure is a `DataLoss` error naming the file, the record's index and byte
//! offset, and what failed; after it the reader yields nothing more, since the framing of
//! whatever follows cannot be trusted. Unlike TensorFlow, a file cut inside a record's
//! header is an error too: TensorFlow ends such a file quietly and loses its tail.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;

use super::chunks::ChunkedReader;
use super::compression::Compression;
use super::crc::masked_crc32c;
use super::file::FileSource;
use crate::error::{Error, Result};

const HEADER: usize = 12;
const FOOTER: usize = 4;

/// Reads the records of one TFRecord stream.
pub struct RecordReader<R> {
    source: ChunkedReader<R>,
    /// How the stream is named in errors (its path).
    name: Arc<str>,
    /// The stream's size when known (plain files): a length field is checked against it
    /// before anything is read.
    size: Option<u64>,
    /// Where offsets in errors count from: "byte offset" in the file, or in the
    /// decompressed stream.
    offsets_in: &'static str,
    index: u64,
    stopped: bool,
    /// The offset of the record that failed its checks.
    failed_at: Option<u64>,
}

impl<R: Read> RecordReader<R> {
    /// Reads records from `inner`, an uncompressed stream of `size` bytes when known; `name`
    /// names it in errors; `chunk_size` is the read buffer's size.
    pub fn new(inner: R, name: &str, size: Option<u64>, chunk_size: usize) -> RecordReader<R> {
        RecordReader {
            source: ChunkedReader::new(inner, chunk_size),
            name: name.into(),
            size,
            offsets_in: "byte offset",
            index: 0,
            stopped: false,
            failed_at: None,
        }
    }

    /// The offset of the next record in the (decompressed) stream; after an error, of the
    /// record that failed.
    pub fn offset(&self) -> u64 {
        self.failed_at.unwrap_or(self.source.offset())
    }

    /// How many records were read.
    pub fn records_read(&self) -> u64 {
        self.index
    }

    /// The reader underneath.
    pub fn get_ref(&self) -> &R {
        self.source.get_ref()
    }

    fn fail(&mut self, offset: u64, what: impl std::fmt::Display) -> Option<Result<Bytes>> {
        self.stopped = true;
        self.failed_at = Some(offset);
        Some(Err(Error::data_loss(format!(
            "{}: record {} at {} {offset}: {what}",
            self.name, self.index, self.offsets_in
        ))))
    }

    fn io_fail(&mut self, offset: u64, err: std::io::Error) -> Option<Result<Bytes>> {
        self.fail(offset, format!("cannot read: {err}"))
    }

    /// The next record, `None` at a clean end of the stream (or after an error).
    pub fn read_record(&mut self) -> Option<Result<Bytes>> {
        if self.stopped {
            return None;
        }
        let start = self.source.offset();
        let have = match self.source.fill(HEADER) {
            Ok(n) => n,
            Err(e) => return self.io_fail(start, e),
        };
        if have == 0 {
            self.stopped = true;
            return None;
        }
        if have < HEADER {
            return self.fail(
                start,
                format!(
                    "truncated record: the file ends inside the record's {HEADER}-byte header, \
                     after {have} bytes"
                ),
            );
        }
        let header = self.source.available();
        let length = u64::from_le_bytes(header[..8].try_into().expect("8 bytes"));
        let stored = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
        let computed = masked_crc32c(&header[..8]);
        if stored != computed {
            return self.fail(
                start,
                format!(
                    "corrupted record: the length field fails its checksum \
                     (stored {stored:#010x}, computed {computed:#010x})"
                ),
            );
        }
        let framed = length.checked_add((HEADER + FOOTER) as u64);
        let remaining = self.size.map(|s| s.saturating_sub(start));
        if let (Some(remaining), Some(framed)) = (remaining, framed) {
            if framed > remaining {
                return self.fail(
                    start,
                    format!(
                        "truncated record: its header says {length} bytes of data, but only \
                         {} bytes of the file remain after the header",
                        // A file that grew after it was measured may hold the header
                        // beyond the measured end.
                        remaining.saturating_sub(HEADER as u64)
                    ),
                );
            }
        }
        let Some(framed) = framed.and_then(|f| usize::try_from(f).ok()) else {
            return self.fail(
                start,
                format!("corrupted record: length {length} cannot be addressed"),
            );
        };
        let have = match self.source.fill(framed) {
            Ok(n) => n,
            Err(e) => return self.io_fail(start, e),
        };
        if have < framed {
            return self.fail(
                start,
                format!(
                    "truncated record: its header says {length} bytes of data, but the stream \
                     ends {} bytes after the header",
                    have - HEADER
                ),
            );
        }
        let record = self.source.consume(framed);
        let data = record.slice(HEADER..framed - FOOTER);
        let stored = u32::from_le_bytes(record[framed - FOOTER..].try_into().expect("4 bytes"));
        let computed = masked_crc32c(&data);
        if stored != computed {
            return self.fail(
                start,
                format!(
                    "corrupted record: the data fails its checksum \
                     (stored {stored:#010x}, computed {computed:#010x})"
                ),
            );
        }
        self.index += 1;
        Some(Ok(data))
    }
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = Result<Bytes>;

    fn next(&mut self) -> Option<Result<Bytes>> {
        self.read_record()
    }
}

impl RecordReader<FileSource> {
    /// Opens the TFRecord file at `path`; `chunk_size` is the read buffer's size.
    pub fn open(
        path: impl AsRef<[u8]>,
        compression: Compression,
        chunk_size: usize,
    ) -> Result<RecordReader<FileSource>> {
        let path = path.as_ref();
        let source = FileSource::open(path, compression)?;
        let size = source.plain_size();
        let name = String::from_utf8_lossy(path);
        let mut reader = RecordReader::new(source, &name, size, chunk_size);
        reader.source.set_filler(FileSource::fill_spare);
        if compression != Compression::None {
            reader.offsets_in = "decompressed byte offset";
        }
        Ok(reader)
    }
}
