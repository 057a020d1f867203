//! Opening a record file: its bytes, decompressed if need be, and its size on disk.

use std::fs::File;
use std::io::{self, Read};

use super::compression::{Compression, Decompressor};
use crate::error::{Error, Result};

/// A file's bytes as the record readers read them.
pub struct FileSource {
    stream: Stream,
    file_size: u64,
}

enum Stream {
    Plain(File),
    Compressed(Decompressor<File>),
}

impl FileSource {
    /// Opens `path`, decompressing as `compression` says. A missing file is `NotFound`
    /// naming the path.
    pub fn open(path: impl AsRef<[u8]>, compression: Compression) -> Result<FileSource> {
        let path = path.as_ref();
        let file: File = crate::fs::open(path)?;
        let file_size = file
            .metadata()
            .map_err(|e| Error::io(&String::from_utf8_lossy(path), e))?
            .len();
        let stream = match compression {
            Compression::None => Stream::Plain(file),
            _ => Stream::Compressed(Decompressor::new(file, compression)),
        };
        Ok(FileSource { stream, file_size })
    }

    /// The file's size on disk.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The size of the stream the readers see, when it is known without reading it (an
    /// uncompressed file).
    pub fn plain_size(&self) -> Option<u64> {
        match self.stream {
            Stream::Plain(_) => Some(self.file_size),
            Stream::Compressed(_) => None,
        }
    }

    /// How many bytes of the file on disk lie at or after `stream_offset`: what is skipped
    /// when reading stops there. For a compressed file, where stream offsets do not map to
    /// file offsets, it counts the bytes not yet handed to the decompressor.
    pub fn bytes_after(&self, stream_offset: u64) -> u64 {
        match &self.stream {
            Stream::Plain(_) => self.file_size.saturating_sub(stream_offset),
            Stream::Compressed(d) => self.file_size.saturating_sub(d.compressed_read()),
        }
    }
}

impl FileSource {
    /// Reads up to `limit` bytes into `buf`'s spare capacity without zeroing it first: a
    /// `File` fills uninitialised memory itself, and so does zlib. Stops early only at the
    /// end of the stream.
    pub fn fill_spare(&mut self, buf: &mut Vec<u8>, limit: u64) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Plain(f) => f.take(limit).read_to_end(buf),
            Stream::Compressed(d) => d.fill_spare(buf, limit),
        }
    }
}

impl Read for FileSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Plain(f) => f.read(buf),
            Stream::Compressed(d) => d.read(buf),
        }
    }
}
