//! Record files: TFRecord framing with masked crc32c ([`RecordReader`], [`RecordWriter`]),
//! GZIP/ZLIB compression, and the line ([`LineReader`]) and fixed-length
//! ([`FixedLengthReader`]) readers. Pure readers and writers over `Read`/`Write`; the
//! datasets that use them live in `dataset/`.
//!
//! Readers hand out each record as a [`bytes::Bytes`] slice of a large read buffer (see
//! `chunks.rs`), without copying it.

mod chunks;
mod compression;
mod crc;
mod file;
mod fixed_length;
mod reader;
mod text_line;
mod writer;

#[cfg(test)]
mod tests;

pub use chunks::DEFAULT_CHUNK;
pub use compression::{Compression, Compressor, Decompressor};
pub use crc::{mask, masked_crc32c, unmask};
pub use file::FileSource;
pub use fixed_length::FixedLengthReader;
pub use reader::RecordReader;
pub use text_line::LineReader;
pub use writer::RecordWriter;
