#![no_main]
//! Arbitrary bytes through the record readers: [`RecordReader`] (plain, GZIP or ZLIB, with
//! the stream's size known or not), [`LineReader`] and [`FixedLengthReader`], each over a
//! source that hands out its bytes in small pieces and may fail part-way. A plain stream
//! goes through all three readers, a compressed one through one of them.
//!
//! The first [`CONTROL`] bytes of the input choose how the rest (the stream) is read:
//!
//! | byte | meaning |
//! | --- | --- |
//! | 0 | bits 0-1 compression (0 or 3 none, 1 GZIP, 2 ZLIB); bit 2 size known (plain only); bit 3 fail part-way; bits 4-7 `s`: reads of at most `2^(s-1)` bytes (0: unlimited) |
//! | 1, 2 | read-buffer (chunk) size, 1..=4096 (little-endian, modulo 4096, plus 1) |
//! | 3 | bits 0-5 fixed-length `record_bytes`, 1..=64; bits 6-7 the reader of a compressed stream (0 or 3 records, 1 lines, 2 fixed-length) |
//! | 4 | bits 0-4 fixed-length `header_bytes`, 0..=31; bits 5-7 how wrong the known size is (0 right; 1-4 short by 1, 4, 12, 20 bytes: the file grew after it was measured; 5-7 long by 1, 16, 4096: it shrank) |
//! | 5 | fixed-length `footer_bytes`, 0..=31 |
//! | 6, 7 | where the source fails when bit 3 is set: byte offset, modulo stream length + 1 |
//!
//! Missing control bytes read as 0. Checked: no panic; at most one error, and nothing after
//! it; every error is `DataLoss`; on a plain stream of known size the records and their 16
//! framing bytes each fit in the stream and in its stated size, and a stream longer than
//! its stated size ends in an error; a corrupt compressed stream ends in an error; and
//! the records match a straightforward reading of the (decompressed) bytes: exactly, except
//! where a reader may read ahead into a failure (then they are a prefix of it).

use std::io::{self, Read};

use bytes::Bytes;
use headrace::tfrecord::{
    masked_crc32c, Compression, Decompressor, FixedLengthReader, LineReader, RecordReader,
};
use headrace::{ErrorKind, Result};
use libfuzzer_sys::fuzz_target;

const CONTROL: usize = 8;

/// How the stream is read, from the control bytes.
#[derive(Debug)]
struct Control {
    compression: Compression,
    /// The size the reader is told, when it is told one (plain streams only).
    size: Option<u64>,
    /// Reads return at most this many bytes (0: as many as asked).
    step: usize,
    /// The source fails with an I/O error once this many bytes were read.
    fail_at: Option<usize>,
    chunk: usize,
    record_bytes: usize,
    header_bytes: usize,
    footer_bytes: usize,
    /// The reader of a compressed stream (a plain one goes through all three).
    reader: Reader,
}

#[derive(Debug)]
enum Reader {
    Records,
    Lines,
    Fixed,
}

impl Control {
    fn new(c: [u8; CONTROL], stream_len: usize) -> Control {
        let compression = match c[0] & 3 {
            1 => Compression::Gzip,
            2 => Compression::Zlib,
            _ => Compression::None,
        };
        let s = c[0] >> 4;
        Control {
            compression,
            size: (compression == Compression::None && c[0] & 4 != 0).then(|| {
                let len = stream_len as u64;
                match c[4] >> 5 {
                    0 => len,
                    1 => len.saturating_sub(1),
                    2 => len.saturating_sub(4),
                    3 => len.saturating_sub(12),
                    4 => len.saturating_sub(20),
                    5 => len + 1,
                    6 => len + 16,
                    _ => len + 4096,
                }
            }),
            step: if s == 0 { 0 } else { 1 << (s - 1) },
            fail_at: (c[0] & 8 != 0)
                .then(|| usize::from(u16::from_le_bytes([c[6], c[7]])) % (stream_len + 1)),
            chunk: 1 + usize::from(u16::from_le_bytes([c[1], c[2]])) % 4096,
            record_bytes: 1 + usize::from(c[3] & 63),
            header_bytes: usize::from(c[4] & 31),
            footer_bytes: usize::from(c[5]) % 32,
            reader: match c[3] >> 6 {
                1 => Reader::Lines,
                2 => Reader::Fixed,
                _ => Reader::Records,
            },
        }
    }
}

/// The stream's bytes, handed out at most `step` at a time, failing at `fail_at`.
struct Source<'a> {
    data: &'a [u8],
    given: usize,
    step: usize,
    fail_at: Option<usize>,
    /// When reads are limited, every other one is `Interrupted` (readers must retry).
    interrupt: bool,
}

impl<'a> Source<'a> {
    fn new(data: &'a [u8], control: &Control) -> Source<'a> {
        Source {
            data,
            given: 0,
            step: control.step,
            fail_at: control.fail_at,
            interrupt: false,
        }
    }
}

impl Read for Source<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.step != 0 {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
        }
        let mut n = out.len().min(self.data.len());
        if self.step != 0 {
            n = n.min(self.step);
        }
        if let Some(at) = self.fail_at {
            if self.given >= at && !out.is_empty() {
                return Err(io::Error::other("injected failure"));
            }
            n = n.min(at - self.given);
        }
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.given += n;
        Ok(n)
    }
}

/// What a reader yielded: its records, and whether it stopped on an error.
#[derive(PartialEq)]
struct Outcome {
    records: Vec<Bytes>,
    failed: bool,
}

/// Short, for assertion messages: the number of records, the first few lengths.
impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lengths: Vec<usize> = self.records.iter().take(8).map(Bytes::len).collect();
        write!(
            f,
            "{} records (lengths {lengths:?}{}), failed: {}",
            self.records.len(),
            if self.records.len() > 8 { "..." } else { "" },
            self.failed
        )
    }
}

/// Drains `reader`, checking that an error is `DataLoss`, comes at most once and last.
fn drain(reader: impl Iterator<Item = Result<Bytes>>) -> Outcome {
    let mut records = Vec::new();
    let mut failed = false;
    for item in reader {
        assert!(!failed, "an item after an error");
        match item {
            Ok(record) => records.push(record),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::DataLoss, "{e}");
                failed = true;
            }
        }
    }
    Outcome { records, failed }
}

/// TFRecord framing read the plain way: the valid records at the start of `data`, and
/// whether anything but a clean end follows them.
fn reference_records(data: &[u8]) -> Outcome {
    let mut records = Vec::new();
    let mut rest = data;
    loop {
        if rest.is_empty() {
            return Outcome {
                records,
                failed: false,
            };
        }
        let failed = Outcome {
            records: records.clone(),
            failed: true,
        };
        if rest.len() < 12 {
            return failed;
        }
        let length = u64::from_le_bytes(rest[..8].try_into().unwrap());
        if u32::from_le_bytes(rest[8..12].try_into().unwrap()) != masked_crc32c(&rest[..8]) {
            return failed;
        }
        let Some(end) = usize::try_from(length)
            .ok()
            .and_then(|l| l.checked_add(16))
            .filter(|&end| end <= rest.len())
        else {
            return failed;
        };
        let record = &rest[12..end - 4];
        if u32::from_le_bytes(rest[end - 4..end].try_into().unwrap()) != masked_crc32c(record) {
            return failed;
        }
        records.push(Bytes::copy_from_slice(record));
        rest = &rest[end..];
    }
}

/// Lines read the plain way: split at `\n`, less a `\r` before it, no empty last line.
fn reference_lines(data: &[u8]) -> Outcome {
    let mut records: Vec<Bytes> = data
        .split(|&b| b == b'\n')
        .map(|l| Bytes::copy_from_slice(l.strip_suffix(b"\r").unwrap_or(l)))
        .collect();
    if data.is_empty() || data.ends_with(b"\n") {
        records.pop();
    }
    Outcome {
        records,
        failed: false,
    }
}

/// Fixed-length records read the plain way: a clean end only when the body is a whole
/// number of records.
fn reference_fixed(data: &[u8], record: usize, header: usize, footer: usize) -> Outcome {
    let Some(body) = data.len().checked_sub(header) else {
        return Outcome {
            records: Vec::new(),
            failed: true,
        };
    };
    let count = body.checked_sub(footer).map_or(0, |b| b / record);
    let records = (0..count)
        .map(|i| {
            let at = header + i * record;
            Bytes::copy_from_slice(&data[at..at + record])
        })
        .collect();
    Outcome {
        records,
        failed: body.checked_sub(footer).is_none_or(|b| b % record != 0),
    }
}

/// What a reader must yield from a source that fails at `fail_at`: what the plain reading
/// of the bytes before it gives, cut short by an error. `exact` says whether every such
/// record must come out (false when reading ahead may meet the failure first).
fn expect_with_failure(reference: Outcome, got: &Outcome, exact: bool) {
    assert!(got.failed, "a failing source ends in an error");
    if exact {
        assert_records(&got.records, &reference.records);
    } else {
        assert_prefix(got, &reference);
    }
}

fn check_plain(stream: &[u8], control: &Control) {
    let size = control.size;
    // A stated size short of the stream's: the reader may stop at it.
    let understated = size.is_some_and(|s| s < stream.len() as u64);
    let name = "fuzz.tfrecord";
    let readable = &stream[..control.fail_at.unwrap_or(stream.len())];

    let got = drain(RecordReader::new(
        Source::new(stream, control),
        name,
        size,
        control.chunk,
    ));
    if let Some(size) = size {
        let framed: usize = got.records.iter().map(|r| r.len() + 16).sum();
        assert!(
            framed <= stream.len(),
            "{framed} framed bytes of {}",
            stream.len()
        );
        assert!(
            framed as u64 <= size,
            "{framed} framed bytes of a stated {size}"
        );
    }
    let reference = reference_records(readable);
    if understated {
        // Bytes past the stated end are never a clean end.
        assert!(
            got.failed,
            "a stream longer than its stated size read without an error"
        );
        assert_prefix(&got, &reference);
    } else {
        match control.fail_at {
            // Every record wholly before the failure comes out (reads stop once a record
            // is whole), then an error.
            Some(_) => expect_with_failure(reference, &got, true),
            None => assert_eq!(got, reference),
        }
    }

    let got = drain(LineReader::new(
        Source::new(stream, control),
        name,
        control.chunk,
    ));
    let reference = reference_lines(readable);
    match control.fail_at {
        // A line reader reads ahead for the end of a line, and may meet the failure while
        // whole lines are still buffered.
        Some(_) => expect_with_failure(reference, &got, false),
        None => assert_eq!(got, reference),
    }

    let got = drain(FixedLengthReader::new(
        Source::new(stream, control),
        name,
        control.record_bytes,
        control.header_bytes,
        control.footer_bytes,
        control.chunk,
    ));
    let reference = reference_fixed(
        readable,
        control.record_bytes,
        control.header_bytes,
        control.footer_bytes,
    );
    match control.fail_at {
        Some(_) => expect_with_failure(reference, &got, true),
        None => assert_eq!(got, reference),
    }
}

/// Asserts that two lists of records are the same, saying where they part if not.
fn assert_records(got: &[Bytes], expected: &[Bytes]) {
    if got != expected {
        let at = got
            .iter()
            .zip(expected)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(expected.len()));
        panic!(
            "{} records where {} were expected; they differ from record {at}",
            got.len(),
            expected.len()
        );
    }
}

/// Asserts that `got` starts like `reference` and has no more records.
fn assert_prefix(got: &Outcome, reference: &Outcome) {
    let n = got.records.len().min(reference.records.len());
    assert_records(&got.records, &reference.records[..n]);
}

fn check_compressed(stream: &[u8], control: &Control) {
    let format = control.compression;
    let name = "fuzz.tfrecord.z";
    // The whole stream decompressed at once, or as much of it as decompresses before it
    // fails; bounded by the input (about 1000:1 at most), so a few MiB.
    let mut plain = Vec::new();
    let whole = Decompressor::new(stream, format)
        .read_to_end(&mut plain)
        .is_ok();
    let source = Decompressor::new(Source::new(stream, control), format);

    // One reader a run: decompressing is what costs.
    match control.reader {
        Reader::Records => {
            let got = drain(RecordReader::new(source, name, None, control.chunk));
            let reference = reference_records(&plain);
            if control.fail_at.is_some() {
                // The decompressor may stop on the failure with output still inside zlib.
                assert_prefix(&got, &reference);
            } else {
                // Every byte that decompresses reaches the reader before the error.
                assert_records(&got.records, &reference.records);
                assert_eq!(got.failed, reference.failed || !whole);
            }
        }
        Reader::Lines => {
            let got = drain(LineReader::new(source, name, control.chunk));
            if whole && control.fail_at.is_none() {
                assert_eq!(got, reference_lines(&plain));
            } else {
                // Reading ahead for a line's end may meet the error with whole lines
                // still buffered.
                assert_prefix(&got, &reference_lines(&plain));
            }
            assert!(
                whole || got.failed,
                "a corrupt stream read without an error"
            );
        }
        Reader::Fixed => {
            let got = drain(FixedLengthReader::new(
                source,
                name,
                control.record_bytes,
                control.header_bytes,
                control.footer_bytes,
                control.chunk,
            ));
            let reference = reference_fixed(
                &plain,
                control.record_bytes,
                control.header_bytes,
                control.footer_bytes,
            );
            if control.fail_at.is_some() {
                assert_prefix(&got, &reference);
            } else {
                assert_records(&got.records, &reference.records);
                assert_eq!(got.failed, reference.failed || !whole);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = [0u8; CONTROL];
    let n = data.len().min(CONTROL);
    c[..n].copy_from_slice(&data[..n]);
    let stream = &data[n..];
    let control = Control::new(c, stream.len());
    if control.compression == Compression::None {
        check_plain(stream, &control);
    } else {
        check_compressed(stream, &control);
    }
});
