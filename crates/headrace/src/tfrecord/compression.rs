//! GZIP and ZLIB streams, as TensorFlow's record readers and writers use them, through
//! zlib itself (built from the source libz-sys vendors).
//!
//! [`Decompressor`] is a `Read` over a compressed stream that fails (never ends quietly)
//! when the stream stops before its end marker or fails its checksum; GZIP streams may hold
//! several members, read one after the other as gzip(1) does. [`Compressor`] writes with
//! TensorFlow's settings (level 6, memLevel 9, 32 KiB window) so that files are byte-identical
//! with `tf.io.TFRecordWriter`'s.

use std::io::{self, Read, Write};

use crate::error::{Error, Result};

/// How a file's bytes are compressed (`compression_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zlib,
}

impl Compression {
    /// Parses tf.data's `compression_type`: `""` (or `None` upstream), `"GZIP"`, `"ZLIB"`.
    pub fn parse(name: &str) -> Result<Compression> {
        match name {
            "" | "NONE" => Ok(Compression::None),
            "GZIP" => Ok(Compression::Gzip),
            "ZLIB" => Ok(Compression::Zlib),
            other => Err(Error::argument(
                "compression_type",
                format!("must be \"\", \"GZIP\" or \"ZLIB\", got {other:?}"),
            )),
        }
    }

    /// The name tf.data uses (`""` for none).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => "GZIP",
            Compression::Zlib => "ZLIB",
        }
    }

    /// zlib's `windowBits` for this format: 15 is the 32 KiB window, +16 asks for a gzip
    /// wrapper instead of a zlib one.
    fn window_bits(self) -> u8 {
        match self {
            Compression::Gzip => 15 + 16,
            _ => 15,
        }
    }
}

/// How much compressed input is read from the underlying stream at a time.
const INPUT_CHUNK: usize = 256 * 1024;

/// A zlib stream, boxed because zlib's state points back at it: it must not move.
struct ZStream(Box<libz_sys::z_stream>);

// SAFETY: a stream is owned by one value and zlib keeps no thread-local state.
unsafe impl Send for ZStream {}

unsafe extern "C" fn zlib_alloc(
    _: libz_sys::voidpf,
    items: libz_sys::uInt,
    size: libz_sys::uInt,
) -> libz_sys::voidpf {
    // SAFETY: calloc takes any sizes and returns null on failure, which zlib handles.
    unsafe { libc::calloc(items as usize, size as usize) }
}

unsafe extern "C" fn zlib_free(_: libz_sys::voidpf, address: libz_sys::voidpf) {
    // SAFETY: zlib frees only what zlib_alloc returned.
    unsafe { libc::free(address) }
}

impl ZStream {
    fn blank() -> ZStream {
        ZStream(Box::new(libz_sys::z_stream {
            next_in: std::ptr::null_mut(),
            avail_in: 0,
            total_in: 0,
            next_out: std::ptr::null_mut(),
            avail_out: 0,
            total_out: 0,
            msg: std::ptr::null_mut(),
            state: std::ptr::null_mut(),
            zalloc: zlib_alloc,
            zfree: zlib_free,
            opaque: std::ptr::null_mut(),
            data_type: 0,
            adler: 0,
            reserved: 0,
        }))
    }

    /// zlib's message for the last error, or its return code.
    fn message(&self, rc: i32) -> String {
        if self.0.msg.is_null() {
            return format!("zlib error {rc}");
        }
        // SAFETY: zlib's messages are static NUL-terminated strings.
        unsafe { std::ffi::CStr::from_ptr(self.0.msg) }
            .to_string_lossy()
            .into_owned()
    }

    /// Runs `step` (inflate or deflate) over `input` into the `output_len` bytes at
    /// `output` (writable, not necessarily initialised); returns zlib's code and how many
    /// bytes were taken and written.
    fn run(
        &mut self,
        input: &[u8],
        output: *mut u8,
        output_len: usize,
        step: unsafe extern "C" fn(libz_sys::z_streamp, i32) -> i32,
        flush: i32,
    ) -> (i32, usize, usize) {
        let avail_in = input.len().min(u32::MAX as usize) as u32;
        let avail_out = output_len.min(u32::MAX as usize) as u32;
        self.0.next_in = input.as_ptr().cast_mut();
        self.0.avail_in = avail_in;
        self.0.next_out = output;
        self.0.avail_out = avail_out;
        // SAFETY: the stream was initialised by inflateInit2/deflateInit2, and next_in /
        // next_out point into live buffers of the lengths given.
        let rc = unsafe { step(&mut *self.0, flush) };
        let taken = (avail_in - self.0.avail_in) as usize;
        let written = (avail_out - self.0.avail_out) as usize;
        self.0.next_in = std::ptr::null_mut();
        self.0.next_out = std::ptr::null_mut();
        (rc, taken, written)
    }
}

/// Decompresses a GZIP or ZLIB stream read from `inner`.
pub struct Decompressor<R> {
    inner: R,
    format: Compression,
    stream: ZStream,
    input: Box<[u8]>,
    /// The unread part of `input` is `input[start..end]`.
    start: usize,
    end: usize,
    input_ended: bool,
    /// The stream's end marker was read (and, for GZIP, nothing follows it), or it failed.
    finished: bool,
    /// Compressed bytes taken from `inner` so far.
    compressed_read: u64,
    /// Decompressed bytes produced so far.
    produced: u64,
    /// An error met after some output of the same call: returned by the next call, so
    /// that the good bytes before it are delivered first.
    deferred: Option<io::Error>,
}

impl<R: Read> Decompressor<R> {
    /// `format` must be GZIP or ZLIB.
    pub fn new(inner: R, format: Compression) -> Decompressor<R> {
        debug_assert_ne!(format, Compression::None);
        Decompressor {
            inner,
            format,
            stream: Self::inflater(format),
            input: vec![0; INPUT_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            input_ended: false,
            finished: false,
            compressed_read: 0,
            produced: 0,
            deferred: None,
        }
    }

    fn inflater(format: Compression) -> ZStream {
        let mut stream = ZStream::blank();
        // SAFETY: the stream is initialised as inflateInit2_ requires; the version and
        // size are those of the zlib linked in.
        let rc = unsafe {
            libz_sys::inflateInit2_(
                &mut *stream.0,
                i32::from(format.window_bits()),
                libz_sys::zlibVersion(),
                std::mem::size_of::<libz_sys::z_stream>() as i32,
            )
        };
        // Only a bad parameter or no memory can fail, and the parameters are constants.
        assert_eq!(rc, libz_sys::Z_OK, "inflateInit2 failed");
        stream
    }

    /// Compressed bytes read from the underlying stream so far.
    pub fn compressed_read(&self) -> u64 {
        self.compressed_read
    }

    fn refill(&mut self) -> io::Result<()> {
        let n = loop {
            match self.inner.read(&mut self.input) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        self.start = 0;
        self.end = n;
        self.input_ended = n == 0;
        self.compressed_read += n as u64;
        Ok(())
    }

    fn failure(&self, kind: io::ErrorKind, what: &str) -> io::Error {
        io::Error::new(
            kind,
            format!(
                "{} stream {what} (after {} decompressed bytes)",
                self.format.name(),
                self.produced
            ),
        )
    }
}

impl<R> Drop for Decompressor<R> {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised and is ended once.
        unsafe {
            libz_sys::inflateEnd(&mut *self.stream.0);
        }
    }
}

impl<R: Read> Decompressor<R> {
    /// Decompresses up to `limit` bytes into `buf`'s spare capacity (zlib writes it; it
    /// need not be initialised). Stops early only at the end of the stream; on an error,
    /// the bytes decompressed before it stay in `buf`.
    pub fn fill_spare(&mut self, buf: &mut Vec<u8>, limit: u64) -> io::Result<usize> {
        let want = usize::try_from(limit).unwrap_or(usize::MAX);
        let start = buf.len();
        loop {
            let done = buf.len() - start;
            if done >= want {
                return Ok(done);
            }
            if buf.len() == buf.capacity() {
                buf.reserve((want - done).min(INPUT_CHUNK));
            }
            let room = (buf.capacity() - buf.len()).min(want - done);
            let spare = buf.spare_capacity_mut();
            // On an error, what was decompressed stays in `buf`, as `read_to_end` leaves it.
            let written = match self.inflate_into(spare.as_mut_ptr().cast(), room)? {
                0 => return Ok(done),
                n => n,
            };
            // SAFETY: zlib wrote (never read) the first `written` bytes of the spare
            // capacity, so they are initialised.
            unsafe { buf.set_len(buf.len() + written) };
        }
    }
}

impl<R: Read> Read for Decompressor<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.inflate_into(out.as_mut_ptr(), out.len())
    }
}

impl<R: Read> Decompressor<R> {
    /// Decompresses into the `len` bytes at `out`, which need not be initialised.
    fn inflate_into(&mut self, out: *mut u8, len: usize) -> io::Result<usize> {
        if len == 0 {
            return Ok(0);
        }
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        loop {
            if self.finished {
                return Ok(0);
            }
            if self.start == self.end && !self.input_ended {
                self.refill()?;
            }
            let (rc, taken, written) = self.stream.run(
                &self.input[self.start..self.end],
                out,
                len,
                libz_sys::inflate,
                libz_sys::Z_NO_FLUSH,
            );
            self.start += taken;
            self.produced += written as u64;
            match rc {
                libz_sys::Z_STREAM_END => {
                    // A GZIP file may be several members one after another (gzip(1)
                    // reads them all); a ZLIB stream is one.
                    if self.format == Compression::Gzip {
                        if self.start == self.end && !self.input_ended {
                            if let Err(e) = self.refill() {
                                // Deliver this call's output before the error.
                                self.finished = true;
                                if written == 0 {
                                    return Err(e);
                                }
                                self.deferred = Some(e);
                                return Ok(written);
                            }
                        }
                        if self.start < self.end {
                            // SAFETY: the stream was initialised; reset keeps its settings.
                            unsafe { libz_sys::inflateReset(&mut *self.stream.0) };
                        } else {
                            self.finished = true;
                        }
                    } else {
                        self.finished = true;
                    }
                }
                libz_sys::Z_OK => {}
                libz_sys::Z_BUF_ERROR
                    if written == 0 && self.start == self.end && self.input_ended =>
                {
                    self.finished = true;
                    return Err(self.failure(
                        io::ErrorKind::UnexpectedEof,
                        "ends early: the file stops before the stream's end",
                    ));
                }
                libz_sys::Z_BUF_ERROR => {}
                rc => {
                    // The output before the error is good: deliver it first.
                    let err = self.failure(
                        io::ErrorKind::InvalidData,
                        &format!("is corrupt: {}", self.stream.message(rc)),
                    );
                    self.finished = true;
                    if written == 0 {
                        return Err(err);
                    }
                    self.deferred = Some(err);
                    return Ok(written);
                }
            }
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

/// Compresses into `inner` with TensorFlow's settings, through zlib itself (see the
/// crate's Cargo.toml for why zlib).
pub struct Compressor<W: Write> {
    /// Taken by `finish`.
    inner: Option<W>,
    stream: ZStream,
    output: Vec<u8>,
}

impl<W: Write> Compressor<W> {
    /// `format` must be GZIP or ZLIB.
    pub fn new(inner: W, format: Compression) -> Compressor<W> {
        debug_assert_ne!(format, Compression::None);
        let mut stream = ZStream::blank();
        // TensorFlow's ZlibCompressionOptions: default level (6), deflate, a 32 KiB window,
        // memLevel 9 (zlib's default is 8, and it changes the output), default strategy.
        // SAFETY: the stream is initialised as deflateInit2_ requires; the version and
        // size are those of the zlib linked in.
        let rc = unsafe {
            libz_sys::deflateInit2_(
                &mut *stream.0,
                libz_sys::Z_DEFAULT_COMPRESSION,
                libz_sys::Z_DEFLATED,
                i32::from(format.window_bits()),
                9,
                libz_sys::Z_DEFAULT_STRATEGY,
                libz_sys::zlibVersion(),
                std::mem::size_of::<libz_sys::z_stream>() as i32,
            )
        };
        // Only a bad parameter or no memory can fail, and the parameters are constants.
        assert_eq!(rc, libz_sys::Z_OK, "deflateInit2 failed");
        Compressor {
            inner: Some(inner),
            stream,
            output: vec![0; INPUT_CHUNK],
        }
    }

    fn run(&mut self, mut input: &[u8], flush: i32) -> io::Result<()> {
        loop {
            let (rc, taken, written) = self.stream.run(
                input,
                self.output.as_mut_ptr(),
                self.output.len(),
                libz_sys::deflate,
                flush,
            );
            input = &input[taken..];
            self.inner
                .as_mut()
                .expect("the writer is there until finish")
                .write_all(&self.output[..written])?;
            match rc {
                libz_sys::Z_STREAM_END => return Ok(()),
                libz_sys::Z_OK | libz_sys::Z_BUF_ERROR => {}
                rc => {
                    return Err(io::Error::other(format!(
                        "compression failed: {}",
                        self.stream.message(rc)
                    )))
                }
            }
            // More to do while input is left, the output filled up, or (finishing) until
            // the stream's end.
            if flush != libz_sys::Z_FINISH && input.is_empty() && written < self.output.len() {
                return Ok(());
            }
        }
    }

    /// Ends the stream (its trailer holds the checksum) and returns the underlying writer,
    /// flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.run(&[], libz_sys::Z_FINISH)?;
        let mut inner = self.inner.take().expect("finish is called once");
        inner.flush()?;
        Ok(inner)
    }
}

impl<W: Write> Drop for Compressor<W> {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised and is ended once.
        unsafe {
            libz_sys::deflateEnd(&mut *self.stream.0);
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.run(data, libz_sys::Z_NO_FLUSH)?;
        Ok(data.len())
    }

    /// Hands what the compressor has emitted so far to the underlying writer, as
    /// TensorFlow's writer does: no zlib flush point is added (that would change the bytes),
    /// so the tail of what was written may stay inside the compressor until `finish`.
    fn flush(&mut self) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(inner) => inner.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn compress(data: &[u8], format: Compression, piece: usize) -> Vec<u8> {
        let mut c = Compressor::new(Vec::new(), format);
        for chunk in data.chunks(piece.max(1)) {
            c.write_all(chunk).unwrap();
        }
        c.finish().unwrap()
    }

    fn decompress(data: &[u8], format: Compression) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Decompressor::new(data, format).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn compression_names() {
        assert_eq!(Compression::parse("").unwrap(), Compression::None);
        assert_eq!(Compression::parse("GZIP").unwrap(), Compression::Gzip);
        assert_eq!(Compression::parse("ZLIB").unwrap(), Compression::Zlib);
        let err = Compression::parse("gzip").unwrap_err();
        assert_eq!(
            err.to_string(),
            "compression_type: must be \"\", \"GZIP\" or \"ZLIB\", got \"gzip\""
        );
    }

    #[test]
    fn gzip_header_is_zlibs() {
        // zlib's gzip header: no name, mtime 0, OS 3 (Unix), which TensorFlow's files have.
        let gz = compress(b"hello", Compression::Gzip, 5);
        assert_eq!(gz[..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
        let z = compress(b"hello", Compression::Zlib, 5);
        assert_eq!(z[..2], [0x78, 0x9c]);
    }

    #[test]
    fn several_gzip_members_read_as_one_stream() {
        let mut data = compress(b"first ", Compression::Gzip, 3);
        data.extend(compress(b"second", Compression::Gzip, 3));
        assert_eq!(
            decompress(&data, Compression::Gzip).unwrap(),
            b"first second"
        );
    }

    #[test]
    fn a_cut_or_damaged_stream_is_an_error() {
        let payload: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for format in [Compression::Gzip, Compression::Zlib] {
            let full = compress(&payload, format, 4096);
            for cut in [1, 10, full.len() / 2, full.len() - 1] {
                let err = decompress(&full[..cut], format).unwrap_err();
                assert!(
                    err.to_string().contains("ends early")
                        || err.to_string().contains("is corrupt"),
                    "{format:?} cut at {cut}: {err}"
                );
            }
            // The trailer's checksum: flip a bit of it.
            let mut bad = full.clone();
            let at = if format == Compression::Gzip {
                full.len() - 8
            } else {
                full.len() - 1
            };
            bad[at] ^= 1;
            let err = decompress(&bad, format).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
            assert!(err.to_string().contains("check"), "{err}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn round_trip_whatever_the_write_sizes(
            data in proptest::collection::vec(any::<u8>(), 0..20_000),
            piece in 1usize..5000,
            gzip: bool,
        ) {
            let format = if gzip { Compression::Gzip } else { Compression::Zlib };
            let once = compress(&data, format, data.len().max(1));
            let pieces = compress(&data, format, piece);
            prop_assert_eq!(&once, &pieces, "the bytes do not depend on how writes were cut");
            prop_assert_eq!(decompress(&pieces, format).unwrap(), data);
        }
    }
}
