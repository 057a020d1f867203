//! A read buffer that hands out records as slices of itself.
//!
//! Bytes are read in large chunks; a record that lies inside the current chunk is returned
//! as a [`Bytes`] slice of it, so records reach the pipeline without a copy (a chunk lives
//! as long as any of its records does). Only the tail of a chunk that a record straddles is
//! copied into the next one.

use std::io::{self, Read};

use bytes::Bytes;

/// The read buffer's size when the caller does not choose one (tf.data's default too).
pub const DEFAULT_CHUNK: usize = 256 * 1024;

/// Reads up to `limit` bytes into `buf`'s spare capacity, stopping early only at the end
/// of the stream; returns how many it read.
pub type Filler<R> = fn(&mut R, &mut Vec<u8>, u64) -> io::Result<usize>;

/// The filler for any `Read`. `read` needs initialised memory, so std zeroes the spare
/// capacity first (13% of reading 16 KiB records); sources that can fill uninitialised
/// memory bring their own (see `FileSource::fill_spare`).
fn fill_by_read<R: Read>(inner: &mut R, buf: &mut Vec<u8>, limit: u64) -> io::Result<usize> {
    inner.take(limit).read_to_end(buf)
}

pub struct ChunkedReader<R> {
    inner: R,
    filler: Filler<R>,
    chunk: Bytes,
    /// The unread part of `chunk` starts here.
    pos: usize,
    chunk_size: usize,
    eof: bool,
    /// A read error met after the bytes asked for had arrived: returned by the next fill
    /// that needs more, so that the good bytes before it are used first.
    error: Option<io::Error>,
    /// Stream offset of `chunk[pos]`.
    offset: u64,
}

impl<R: Read> ChunkedReader<R> {
    pub fn new(inner: R, chunk_size: usize) -> ChunkedReader<R> {
        ChunkedReader {
            inner,
            filler: fill_by_read::<R>,
            chunk: Bytes::new(),
            pos: 0,
            chunk_size: chunk_size.max(1),
            eof: false,
            error: None,
            offset: 0,
        }
    }

    /// Fills with `filler` rather than through `Read::read`.
    pub fn set_filler(&mut self, filler: Filler<R>) {
        self.filler = filler;
    }

    /// The stream offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The buffered, unread bytes.
    pub fn available(&self) -> &[u8] {
        &self.chunk[self.pos..]
    }

    /// The reader underneath.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Makes at least `n` bytes available, unless the stream ends first; returns how many
    /// are available (fewer than `n` only at the end of the stream).
    ///
    /// Memory grows with the bytes that actually arrive, never with `n` alone: a corrupt
    /// length field asking for petabytes of a short stream costs only that stream's size.
    pub fn fill(&mut self, n: usize) -> io::Result<usize> {
        let have = self.chunk.len() - self.pos;
        if have >= n || self.eof {
            return Ok(have);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let target = n.max(self.chunk_size);
        // Start with room for the carried bytes and one chunk; double while data keeps
        // coming and `n` is not reached.
        let mut capacity = target.min(have.saturating_mul(2).max(have + self.chunk_size));
        let mut buf = Vec::with_capacity(capacity);
        buf.extend_from_slice(&self.chunk[self.pos..]);
        let result = loop {
            let want = capacity - buf.len();
            let before = buf.len();
            if let Err(e) = (self.filler)(&mut self.inner, &mut buf, want as u64) {
                if buf.len() >= n {
                    self.error = Some(e);
                    break Ok(());
                }
                break Err(e);
            }
            if buf.len() - before < want {
                self.eof = true;
                break Ok(());
            }
            if buf.len() >= n {
                break Ok(());
            }
            capacity = target.min(capacity.saturating_mul(2));
            buf.reserve_exact(capacity - buf.len());
        };
        // On an error, keep what was read: the caller reports the error at this offset.
        let filled = buf.len();
        self.chunk = Bytes::from(buf);
        self.pos = 0;
        result.map(|()| filled)
    }

    /// Takes the next `n` buffered bytes (`n` must not exceed [`available`](Self::available)).
    pub fn consume(&mut self, n: usize) -> Bytes {
        let taken = self.chunk.slice(self.pos..self.pos + n);
        self.pos += n;
        self.offset += n as u64;
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reader that returns at most `step` bytes per call, as pipes and decompressors do.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(self.step).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn records_inside_a_chunk_share_its_memory() {
        let data: Vec<u8> = (0..100).collect();
        let mut r = ChunkedReader::new(&data[..], 64);
        assert_eq!(r.fill(10).unwrap(), 64);
        let a = r.consume(10);
        let b = r.consume(10);
        assert_eq!(a.as_ptr().wrapping_add(10), b.as_ptr(), "one buffer");
        assert_eq!(r.offset(), 20);
    }

    #[test]
    fn a_huge_request_on_a_short_stream_allocates_only_what_arrives() {
        let data = vec![7u8; 1000];
        let mut r = ChunkedReader::new(&data[..], 16);
        assert_eq!(r.fill(usize::MAX / 2).unwrap(), 1000);
        assert_eq!(r.available().len(), 1000);
    }

    proptest! {
        #[test]
        fn consuming_in_any_pieces_gives_back_the_stream(
            data in proptest::collection::vec(any::<u8>(), 0..3000),
            pieces in proptest::collection::vec(1usize..700, 1..40),
            chunk in 1usize..600,
            step in 1usize..900,
        ) {
            let mut r = ChunkedReader::new(Trickle { data: &data, step }, chunk);
            let mut got = Vec::new();
            for p in pieces.iter().cycle().take(200) {
                let n = r.fill(*p).unwrap();
                prop_assert!(n >= *p || got.len() + n == data.len());
                let take = n.min(*p);
                got.extend_from_slice(&r.consume(take));
                prop_assert_eq!(r.offset() as usize, got.len());
                if got.len() == data.len() {
                    break;
                }
            }
            prop_assert_eq!(&got[..], &data[..got.len()]);
        }
    }
}
