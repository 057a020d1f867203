//! Reading text files line by line, as `tf.data.TextLineDataset` does: each line without
//! its `\n` (or `\r\n`); a last line without a newline is a line; a file ending in a
//! newline has no empty line after it.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;

use super::chunks::ChunkedReader;
use super::compression::Compression;
use super::file::FileSource;
use crate::error::{Error, Result};

pub struct LineReader<R> {
    source: ChunkedReader<R>,
    name: Arc<str>,
    line: u64,
    stopped: bool,
}

impl<R: Read> LineReader<R> {
    /// Reads lines from `inner`; `name` names it in errors; `chunk_size` is the read
    /// buffer's size.
    pub fn new(inner: R, name: &str, chunk_size: usize) -> LineReader<R> {
        LineReader {
            source: ChunkedReader::new(inner, chunk_size),
            name: name.into(),
            line: 0,
            stopped: false,
        }
    }

    /// The offset of the next line in the (decompressed) stream.
    pub fn offset(&self) -> u64 {
        self.source.offset()
    }

    /// The reader underneath.
    pub fn get_ref(&self) -> &R {
        self.source.get_ref()
    }

    /// The next line, `None` at the end (or after an error).
    pub fn read_line(&mut self) -> Option<Result<Bytes>> {
        if self.stopped {
            return None;
        }
        let mut searched = 0;
        loop {
            let available = self.source.available();
            if let Some(at) = memchr::memchr(b'\n', &available[searched..]) {
                let end = searched + at;
                let mut line = self.source.consume(end + 1);
                line.truncate(if line[..end].ends_with(b"\r") {
                    end - 1
                } else {
                    end
                });
                self.line += 1;
                return Some(Ok(line));
            }
            searched = available.len();
            // Ask for more than is buffered: a long line doubles the buffer, not adds to it.
            let want = (searched + 1).max(searched.saturating_mul(2));
            match self.source.fill(want) {
                Ok(n) if n == searched => {
                    self.stopped = true;
                    if n == 0 {
                        return None;
                    }
                    let mut line = self.source.consume(n);
                    if line.ends_with(b"\r") {
                        line.truncate(n - 1);
                    }
                    self.line += 1;
                    return Some(Ok(line));
                }
                Ok(_) => {}
                Err(e) => {
                    self.stopped = true;
                    return Some(Err(Error::data_loss(format!(
                        "{}: line {} at byte offset {}: cannot read: {e}",
                        self.name,
                        self.line,
                        self.source.offset()
                    ))));
                }
            }
        }
    }
}

impl LineReader<FileSource> {
    /// Opens the text file at `path`; `chunk_size` is the read buffer's size.
    pub fn open(
        path: impl AsRef<[u8]>,
        compression: Compression,
        chunk_size: usize,
    ) -> Result<LineReader<FileSource>> {
        let path = path.as_ref();
        let source = FileSource::open(path, compression)?;
        let mut reader = LineReader::new(source, &String::from_utf8_lossy(path), chunk_size);
        reader.source.set_filler(FileSource::fill_spare);
        Ok(reader)
    }
}

impl<R: Read> Iterator for LineReader<R> {
    type Item = Result<Bytes>;

    fn next(&mut self) -> Option<Result<Bytes>> {
        self.read_line()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(data: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        LineReader::new(data, "t", chunk)
            .map(|l| l.unwrap().to_vec())
            .collect()
    }

    #[test]
    fn newlines_and_carriage_returns() {
        let got = lines(b"a\nbb\r\n\nlast", 3);
        assert_eq!(got, [&b"a"[..], b"bb", b"", b"last"]);
        assert_eq!(lines(b"x\n", 64), [b"x"]);
        assert!(lines(b"", 64).is_empty());
        assert_eq!(lines(b"\n", 64), [b""]);
        // A lone \r inside a line stays.
        assert_eq!(lines(b"a\rb\n", 64), [b"a\rb"]);
    }

    proptest! {
        #[test]
        fn the_same_as_splitting_the_whole_text(
            text in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a')], 0..400),
            chunk in 1usize..50,
        ) {
            let mut expected: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(|l| {
                l.strip_suffix(b"\r").unwrap_or(l).to_vec()
            }).collect();
            if text.is_empty() || text.ends_with(b"\n") {
                expected.pop();
            }
            prop_assert_eq!(lines(&text, chunk), expected);
        }
    }
}
