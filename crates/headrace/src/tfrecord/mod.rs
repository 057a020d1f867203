//! TFRecord files: record framing with masked crc32c, GZIP/ZLIB compression, the writer,
//! and the line and fixed-length record readers. Pure readers and writers; the datasets
//! that use them live in `dataset/`.
