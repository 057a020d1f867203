//! Writing TFRecord files, byte for byte as `tf.io.TFRecordWriter` writes them.

use std::fs::File;
use std::io::{BufWriter, Write};

use super::compression::{Compression, Compressor};
use super::crc::masked_crc32c;
use crate::error::{Error, Result};

/// The write buffer: large writes, few system calls.
const WRITE_BUFFER: usize = 256 * 1024;

enum Sink<W: Write> {
    Plain(W),
    Compressed(Compressor<W>),
}

/// Writes records to `W`, compressed as asked. Dropping it without
/// [`finish`](RecordWriter::finish) still ends the stream, but cannot report errors.
pub struct RecordWriter<W: Write> {
    sink: Option<Sink<W>>,
    name: String,
}

impl<W: Write> RecordWriter<W> {
    /// Writes to `inner`; `name` names it in errors.
    pub fn new(inner: W, compression: Compression, name: &str) -> RecordWriter<W> {
        let sink = match compression {
            Compression::None => Sink::Plain(inner),
            _ => Sink::Compressed(Compressor::new(inner, compression)),
        };
        RecordWriter {
            sink: Some(sink),
            name: name.to_string(),
        }
    }

    fn sink(&mut self) -> Result<&mut dyn Write> {
        match self.sink.as_mut() {
            Some(Sink::Plain(w)) => Ok(w),
            Some(Sink::Compressed(c)) => Ok(c),
            None => Err(Error::invalid_argument(format!(
                "{}: the writer is closed",
                self.name
            ))),
        }
    }

    /// Appends one record: its length, the length's masked crc32c, the data, the data's.
    pub fn write_record(&mut self, data: &[u8]) -> Result<()> {
        let length = (data.len() as u64).to_le_bytes();
        let mut header = [0u8; 12];
        header[..8].copy_from_slice(&length);
        header[8..].copy_from_slice(&masked_crc32c(&length).to_le_bytes());
        let footer = masked_crc32c(data).to_le_bytes();
        let name = self.name.clone();
        let sink = self.sink()?;
        sink.write_all(&header)
            .and_then(|_| sink.write_all(data))
            .and_then(|_| sink.write_all(&footer))
            .map_err(|e| Error::io(&name, e))
    }

    /// Pushes what was written to the underlying writer. For a compressed stream, as in
    /// TensorFlow, what the compressor still holds stays there until
    /// [`finish`](RecordWriter::finish): a flush point would change the file's bytes.
    pub fn flush(&mut self) -> Result<()> {
        let name = self.name.clone();
        self.sink()?.flush().map_err(|e| Error::io(&name, e))
    }

    /// Ends the stream (a compressed one gets its trailer) and returns the underlying
    /// writer, flushed. Further writes fail.
    pub fn finish(&mut self) -> Result<Option<W>> {
        let Some(sink) = self.sink.take() else {
            return Ok(None);
        };
        let mut inner = match sink {
            Sink::Plain(w) => w,
            Sink::Compressed(c) => c.finish().map_err(|e| Error::io(&self.name, e))?,
        };
        inner.flush().map_err(|e| Error::io(&self.name, e))?;
        Ok(Some(inner))
    }
}

impl<W: Write> Drop for RecordWriter<W> {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

impl RecordWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: &str, compression: Compression) -> Result<RecordWriter<BufWriter<File>>> {
        let file =
            File::create(crate::fs::os_path(path.as_bytes())?).map_err(|e| Error::io(path, e))?;
        Ok(RecordWriter::new(
            BufWriter::with_capacity(WRITE_BUFFER, file),
            compression,
            path,
        ))
    }
}
