//! `cache(filename)`: keeps the elements after the first complete iteration.
//!
//! In memory (`filename` empty): the first iterator to reach the end of its input publishes
//! what it saw, shared through the node; later iterators (and later epochs of `repeat`)
//! replay it without touching the input. An iterator dropped before the end publishes
//! nothing, as in tf.data: a partial cache would silently truncate every later epoch.
//!
//! In a file: if a complete cache file exists at `filename`, every iterator (in this process
//! or a later one) reads it instead of the input. Otherwise an iterator writes
//! `filename.tmp-<pid>-<n>` while passing elements through, and renames it to `filename`
//! when its input ends, so a partial run never leaves a file that looks complete.
//!
//! Error elements are passed through but not cached (tf.data does the same: the cache
//! holds what the input produced, and an error is not a value).
//!
//! File format (little-endian):
//!
//! ```text
//! file    := magic "HRCACHE\0" version:u32 reserved:u32 record* trailer
//! record  := len:u64 element        (len < u64::MAX; element as `value::codec` encodes it)
//! trailer := u64::MAX count:u64     (the number of records)
//! ```
//!
//! A truncated or corrupt file is a `DataLoss` error naming the file, the record and the
//! byte offset. A record that fails to decode is skipped after its error (its length
//! still frames the next one); a broken length ends the read.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::{BoxIterator, Cardinality, Context, Dataset, DatasetNode, ElementIterator};
use crate::error::{Error, Result};
use crate::runtime::CancelToken;
use crate::value::codec::{decode_element_from, encode_element};
use crate::value::{Element, ElementSpec};

const MAGIC: &[u8; 8] = b"HRCACHE\0";
/// The format version this code writes and reads; bump it when the layout changes.
const VERSION: u32 = 1;
const HEADER_LEN: u64 = 16;
/// A record length that marks the trailer.
const TRAILER: u64 = u64::MAX;

/// Numbers the temporary files of this process, so concurrent writers never collide.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What a completed in-memory iteration publishes.
type Shared = Arc<Mutex<Option<Arc<Vec<Element>>>>>;

struct CacheNode {
    input: Dataset,
    filename: String,
    memory: Shared,
}

impl DatasetNode for CacheNode {
    fn kind(&self) -> &'static str {
        "Cache"
    }

    fn describe(&self) -> String {
        if self.filename.is_empty() {
            "memory".into()
        } else {
            format!("filename={:?}", self.filename)
        }
    }

    fn inputs(&self) -> Vec<&Dataset> {
        vec![&self.input]
    }

    fn element_spec(&self) -> ElementSpec {
        self.input.element_spec()
    }

    fn cardinality(&self) -> Cardinality {
        self.input.cardinality()
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        if self.filename.is_empty() {
            // In a template binding, each element's dataset has its own cache.
            let memory = ctx
                .instance_state(self, Shared::default)
                .map(|m| (*m).clone())
                .unwrap_or_else(|| self.memory.clone());
            // Cloned out so the lock is not held while the input's iterator is built.
            let cached = memory.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(cached) = cached {
                return Ok(Box::new(ReplayIter { cached, next: 0 }));
            }
            return Ok(Box::new(MemoryWriteIter {
                input: self.input.make_iterator(ctx)?,
                seen: Some(Vec::new()),
                shared: memory,
                cancel: ctx.cancel.clone(),
            }));
        }
        let path = PathBuf::from(&self.filename);
        if path.exists() {
            let it = FileReadIter::open(&path, self.input.element_spec())?;
            return Ok(Box::new(it));
        }
        let it = FileWriteIter::create(path, self.input.make_iterator(ctx)?, ctx.cancel.clone())?;
        Ok(Box::new(it))
    }
}

struct ReplayIter {
    cached: Arc<Vec<Element>>,
    next: usize,
}

impl ElementIterator for ReplayIter {
    fn next(&mut self) -> Option<Result<Element>> {
        let e = self.cached.get(self.next)?.clone();
        self.next += 1;
        Some(Ok(e))
    }
}

struct MemoryWriteIter {
    input: BoxIterator,
    /// What the input yielded so far; `None` once the end was seen.
    seen: Option<Vec<Element>>,
    shared: Shared,
    cancel: CancelToken,
}

impl ElementIterator for MemoryWriteIter {
    fn next(&mut self) -> Option<Result<Element>> {
        match self.input.next() {
            Some(Ok(e)) => {
                if let Some(seen) = self.seen.as_mut() {
                    // Clones share the tensors' buffers: the cache costs no copy.
                    seen.push(e.clone());
                }
                Some(Ok(e))
            }
            Some(Err(e)) => Some(Err(e)),
            None => {
                let seen = self.seen.take();
                // A stage being torn down may end early: that end is not the input's.
                if let Some(seen) = seen.filter(|_| !self.cancel.is_cancelled()) {
                    let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                    // The first complete iteration wins (tf.data's MemoryCache does the same).
                    if shared.is_none() {
                        *shared = Some(Arc::new(seen));
                    }
                }
                None
            }
        }
    }
}

struct FileWriteIter {
    input: BoxIterator,
    /// `None` once finished or abandoned.
    writer: Option<BufWriter<File>>,
    /// The temporary file, while it exists on disk.
    tmp: Option<PathBuf>,
    path: PathBuf,
    count: u64,
    scratch: Vec<u8>,
    cancel: CancelToken,
}

impl FileWriteIter {
    fn create(path: PathBuf, input: BoxIterator, cancel: CancelToken) -> Result<FileWriteIter> {
        let tmp = PathBuf::from(format!(
            "{}.tmp-{}-{}",
            path.display(),
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp.display().to_string(), e))?;
        let mut it = FileWriteIter {
            input,
            writer: Some(BufWriter::new(file)),
            tmp: Some(tmp),
            path,
            count: 0,
            scratch: Vec::new(),
            cancel,
        };
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        if let Err(e) = it.write_all(&header) {
            it.abandon();
            return Err(e);
        }
        Ok(it)
    }

    fn tmp_name(&self) -> String {
        self.tmp
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let name = self.tmp_name();
        match self.writer.as_mut() {
            Some(w) => w.write_all(bytes).map_err(|e| Error::io(&name, e)),
            None => Ok(()),
        }
    }

    fn write(&mut self, e: &Element) -> Result<()> {
        if self.writer.is_none() {
            return Ok(());
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        encode_element(e, &mut scratch);
        let result = self
            .write_all(&(scratch.len() as u64).to_le_bytes())
            .and_then(|()| self.write_all(&scratch));
        self.scratch = scratch;
        self.count += 1;
        result
    }

    /// Writes the trailer, makes the file durable and renames it into place.
    fn finish(&mut self) -> Result<()> {
        let Some(mut w) = self.writer.take() else {
            return Ok(());
        };
        let Some(tmp) = self.tmp.clone() else {
            return Ok(());
        };
        let name = tmp.display().to_string();
        w.write_all(&TRAILER.to_le_bytes())
            .and_then(|()| w.write_all(&self.count.to_le_bytes()))
            .and_then(|()| w.flush())
            .map_err(|e| Error::io(&name, e))?;
        let file = w
            .into_inner()
            .map_err(|e| Error::io(&name, e.into_error()))?;
        // Synced before the rename: a crash must not leave a complete-looking name on
        // data that never reached the disk.
        file.sync_all().map_err(|e| Error::io(&name, e))?;
        drop(file);
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| Error::io(&self.path.display().to_string(), e))?;
        self.tmp = None;
        Ok(())
    }

    /// Stops writing and removes the temporary file: no partial cache is left.
    fn abandon(&mut self) {
        self.writer = None;
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl ElementIterator for FileWriteIter {
    fn next(&mut self) -> Option<Result<Element>> {
        match self.input.next() {
            Some(Ok(e)) => {
                if let Err(err) = self.write(&e) {
                    // The cache is lost, not the data: report once, then pass elements on.
                    self.abandon();
                    return Some(Err(err.context("cache")));
                }
                Some(Ok(e))
            }
            Some(Err(e)) => Some(Err(e)),
            None if self.cancel.is_cancelled() => {
                self.abandon();
                None
            }
            None => match self.finish() {
                Ok(()) => None,
                Err(e) => {
                    self.abandon();
                    Some(Err(e.context("cache")))
                }
            },
        }
    }
}

impl Drop for FileWriteIter {
    fn drop(&mut self) {
        self.abandon();
    }
}

struct FileReadIter {
    reader: BufReader<File>,
    path: String,
    /// The byte offset of the next read.
    offset: u64,
    file_len: u64,
    /// Records read so far.
    records: u64,
    spec: ElementSpec,
    done: bool,
}

impl FileReadIter {
    fn open(path: &Path, spec: ElementSpec) -> Result<FileReadIter> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::io(&name, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(&name, e))?.len();
        let mut it = FileReadIter {
            reader: BufReader::new(file),
            path: name,
            offset: 0,
            file_len,
            records: 0,
            spec,
            done: false,
        };
        let not_ours = |it: &FileReadIter| {
            Error::data_loss(format!(
                "{}: not a headrace cache file (bad header at byte 0); delete it to rebuild the cache",
                it.path
            ))
        };
        if file_len < HEADER_LEN {
            return Err(not_ours(&it));
        }
        let mut header = [0u8; HEADER_LEN as usize];
        it.read_exact(&mut header)?;
        if &header[..8] != MAGIC {
            return Err(not_ours(&it));
        }
        let version = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(Error::data_loss(format!(
                "{}: cache file format version {version} at byte 8, but this headrace reads version {VERSION}; delete it to rebuild the cache",
                it.path
            )));
        }
        Ok(it)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.reader
            .read_exact(buf)
            .map_err(|e| Error::io(&self.path, e))?;
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn left(&self) -> u64 {
        self.file_len.saturating_sub(self.offset)
    }

    fn read_u64(&mut self, what: &str) -> Result<u64> {
        if self.left() < 8 {
            return Err(Error::data_loss(format!(
                "{}: truncated cache file: {what} at byte {} after {} records (the file ends at byte {}, without its trailer)",
                self.path, self.offset, self.records, self.file_len
            )));
        }
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// The next record: `Ok(None)` at a valid trailer. `Err((error, fatal))`: a fatal
    /// error leaves the framing unknown, so nothing after it can be read.
    fn read_next(&mut self) -> std::result::Result<Option<Element>, (Error, bool)> {
        let fatal = |e| (e, true);
        let start = self.offset;
        let len = self.read_u64("record length").map_err(fatal)?;
        if len == TRAILER {
            let count = self.read_u64("element count").map_err(fatal)?;
            if count != self.records {
                return Err(fatal(Error::data_loss(format!(
                    "{}: cache file trailer at byte {start} says {count} records, but {} were read",
                    self.path, self.records
                ))));
            }
            if self.left() > 0 {
                return Err(fatal(Error::data_loss(format!(
                    "{}: {} stray bytes after the cache file's trailer at byte {}",
                    self.path,
                    self.left(),
                    self.offset
                ))));
            }
            return Ok(None);
        }
        let record = self.records;
        if len > self.left() {
            return Err(fatal(Error::data_loss(format!(
                "{}: truncated cache file: record {record} at byte {start} claims {len} bytes, but {} are left",
                self.path,
                self.left()
            ))));
        }
        // Checked against the file's length above, so this allocation is bounded by it.
        let mut buf = vec![0u8; len as usize];
        let body = self.offset;
        self.read_exact(&mut buf).map_err(fatal)?;
        self.records += 1;
        // The element's tensors are windows on this record's buffer: no further copy.
        let buf = Bytes::from(buf);
        let in_record = |e: Error| (e.context(format!("{}: record {record}", self.path)), false);
        let (element, used) = decode_element_from(&buf, body).map_err(in_record)?;
        if used as u64 != len {
            return Err(in_record(Error::data_loss(format!(
                "{} stray bytes at the end of the record at byte {}",
                len - used as u64,
                body + used as u64
            ))));
        }
        if !self.spec.accepts(&element) {
            return Err((
                Error::invalid_argument(format!(
                    "{}: record {record} at byte {start} is {}, which does not match the dataset's elements {}; the cache file was written by another pipeline (delete it to rebuild the cache)",
                    self.path,
                    ElementSpec::of(&element),
                    self.spec
                )),
                false,
            ));
        }
        Ok(Some(element))
    }
}

impl ElementIterator for FileReadIter {
    fn next(&mut self) -> Option<Result<Element>> {
        if self.done {
            return None;
        }
        match self.read_next() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err((e, fatal)) => {
                self.done = fatal;
                Some(Err(e))
            }
        }
    }
}

impl Dataset {
    /// Caches the elements in memory (`filename` empty) or in the file `filename`, which
    /// later pipelines (and later processes) read instead of the input once it is complete.
    pub fn cache(&self, filename: &str) -> Dataset {
        Dataset::from_node(CacheNode {
            input: self.clone(),
            filename: filename.to_string(),
            memory: Arc::new(Mutex::new(None)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::testing::values;
    use crate::dataset::Options;
    use crate::value::Tensor;
    use crate::ErrorKind;
    use proptest::prelude::*;
    use std::sync::atomic::AtomicUsize;

    /// range(n) as (x, "x") tuples, counting how many elements the map produced.
    fn counted(n: i64) -> (Dataset, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let ds = Dataset::range(0, n).map(move |e| {
            c.fetch_add(1, Ordering::Relaxed);
            Ok(Element::Tuple(vec![e, Tensor::string_scalar("x").into()]))
        });
        (ds, calls)
    }

    fn repeated(v: &[Element], times: usize) -> Vec<Element> {
        (0..times).flat_map(|_| v.iter().cloned()).collect()
    }

    /// range(n) with an error element in place of every multiple of 3 after 0.
    fn with_errors(n: i64) -> Dataset {
        Dataset::range(0, n).map(|e| {
            let v = e.as_tensor().unwrap().scalar_value::<i64>()?;
            if v > 0 && v % 3 == 0 {
                return Err(Error::invalid_argument(format!("bad {v}")));
            }
            Ok(e)
        })
    }

    fn outcomes(ds: &Dataset) -> Vec<std::result::Result<i64, String>> {
        ds.iter()
            .unwrap()
            .map(|r| {
                r.map(|e| e.as_tensor().unwrap().scalar_value::<i64>().unwrap())
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    fn cache_path(dir: &tempfile::TempDir) -> String {
        dir.path().join("c.cache").display().to_string()
    }

    #[test]
    fn memory_cache_replays_without_the_input() {
        let (ds, calls) = counted(10);
        let cached = ds.cache("");
        assert_eq!(cached.cardinality(), Cardinality::Finite(10));
        assert_eq!(cached.element_spec(), ds.element_spec());
        let first = cached.collect().unwrap();
        assert_eq!(first, ds.collect().unwrap());
        assert_eq!(calls.load(Ordering::Relaxed), 20);
        assert_eq!(
            cached.repeat(3).unwrap().collect().unwrap(),
            repeated(&first, 3)
        );
        assert_eq!(cached.collect().unwrap(), first);
        assert_eq!(
            calls.load(Ordering::Relaxed),
            20,
            "replays never ran the map"
        );
    }

    #[test]
    fn a_partial_iteration_publishes_nothing() {
        let (ds, calls) = counted(10);
        let cached = ds.cache("");
        let mut it = cached.iter().unwrap();
        it.next();
        drop(it);
        assert_eq!(cached.collect().unwrap().len(), 10);
        assert_eq!(calls.load(Ordering::Relaxed), 11);
        // take(3) never reaches the end of the cache's input either.
        assert_eq!(cached.take(3).unwrap().collect().unwrap().len(), 3);
        assert_eq!(cached.collect().unwrap().len(), 10);
        assert_eq!(calls.load(Ordering::Relaxed), 11, "the full pass published");
    }

    #[test]
    fn an_end_seen_after_cancellation_publishes_nothing() {
        let (ds, calls) = counted(3);
        let cached = ds.cache("");
        let ctx = Context::root(Arc::new(Options::default()));
        let mut it = cached.make_iterator(&ctx).unwrap();
        it.next().unwrap().unwrap();
        // A stage tearing down cancels first; whatever end its input then reports is not
        // the end of the data.
        ctx.cancel.cancel();
        while it.next().is_some() {}
        drop(it);
        assert_eq!(cached.collect().unwrap().len(), 3);
        assert_eq!(
            calls.load(Ordering::Relaxed),
            6,
            "the cancelled pass was not kept"
        );
    }

    #[test]
    fn errors_pass_through_but_are_not_cached() {
        for file in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let name = if file {
                cache_path(&dir)
            } else {
                String::new()
            };
            let cached = with_errors(8).cache(&name);
            let first = outcomes(&cached);
            assert_eq!(
                first,
                vec![
                    Ok(0),
                    Ok(1),
                    Ok(2),
                    Err("bad 3".into()),
                    Ok(4),
                    Ok(5),
                    Err("bad 6".into()),
                    Ok(7)
                ]
            );
            assert_eq!(values(&cached), vec![0, 1, 2, 4, 5, 7], "file={file}");
        }
    }

    #[test]
    fn file_cache_is_reused_by_a_new_pipeline() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(&dir);
        let (ds, calls) = counted(20);
        let cached = ds.cache(&path);
        assert_eq!(cached.cardinality(), Cardinality::Finite(20));
        let first = cached.collect().unwrap();
        assert_eq!(first, ds.collect().unwrap());
        assert!(Path::new(&path).exists());
        // Later epochs of the same dataset read the file too.
        assert_eq!(
            cached.repeat(2).unwrap().collect().unwrap(),
            repeated(&first, 2)
        );
        let (ds2, calls2) = counted(20);
        assert_eq!(ds2.cache(&path).collect().unwrap(), first);
        assert_eq!(calls.load(Ordering::Relaxed), 40);
        assert_eq!(
            calls2.load(Ordering::Relaxed),
            0,
            "the second pipeline read the file"
        );
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_partial_run_leaves_no_cache_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(&dir);
        let (ds, _) = counted(20);
        let mut it = ds.cache(&path).iter().unwrap();
        it.next();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "the temporary file"
        );
        drop(it);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // And a cancelled run that sees an end writes nothing either.
        let ctx = Context::root(Arc::new(Options::default()));
        let mut it = ds.cache(&path).make_iterator(&ctx).unwrap();
        ctx.cancel.cancel();
        while it.next().is_some() {}
        drop(it);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_unwritable_location_is_an_io_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/c.cache").display().to_string();
        let err = Dataset::range(0, 3).cache(&path).iter().err().unwrap();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains(&path), "{err}");
    }

    /// Writes a complete cache of `counted(n)` at `path` and returns its bytes.
    fn written(path: &str, n: i64) -> Vec<u8> {
        counted(n).0.cache(path).collect().unwrap();
        std::fs::read(path).unwrap()
    }

    /// The outcome of reading the cache at `path` (the input must not be needed).
    fn read_back(path: &str) -> Vec<Result<Element>> {
        let (ds, calls) = counted(5);
        let items = ds.cache(path).iter().unwrap().collect();
        assert_eq!(calls.load(Ordering::Relaxed), 0);
        items
    }

    fn the_error(items: &[Result<Element>]) -> &Error {
        let errs: Vec<&Error> = items.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errs.len(), 1, "{items:?}");
        errs[0]
    }

    #[test]
    fn a_truncated_file_yields_what_it_holds_then_data_loss() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(&dir);
        let bytes = written(&path, 5);
        let record = (bytes.len() - 16 - 16) / 5;
        // Before the trailer, inside a record's length, inside a record's body.
        for cut in [bytes.len() - 16, 16 + 2 * record + 3, 16 + 2 * record + 12] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let items = read_back(&path);
            let good = items.iter().take_while(|r| r.is_ok()).count();
            assert_eq!(good, (cut - 16) / record, "cut at {cut}");
            let err = the_error(&items);
            assert_eq!(err.kind(), ErrorKind::DataLoss);
            let msg = err.to_string();
            assert!(msg.starts_with(&path) && msg.contains("truncated"), "{msg}");
            assert!(
                msg.contains(&format!("at byte {}", 16 + good * record)),
                "{msg}"
            );
        }
        // Inside the trailer: every record comes back first.
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let items = read_back(&path);
        assert_eq!(items.iter().filter(|r| r.is_ok()).count(), 5);
        assert!(the_error(&items).to_string().contains("element count"));
    }

    #[test]
    fn a_corrupt_record_is_reported_and_the_rest_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(&dir);
        let mut bytes = written(&path, 5);
        let record = (bytes.len() - 32) / 5;
        // Record 2's element tag (after its 8-byte length) becomes garbage.
        let at = 16 + 2 * record + 8;
        bytes[at] = 0xee;
        std::fs::write(&path, &bytes).unwrap();
        let items = read_back(&path);
        assert_eq!(items.len(), 5);
        let err = items[2].as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataLoss);
        assert_eq!(
            err.to_string(),
            format!("{path}: record 2: unknown element tag 238 at byte {at}")
        );
        let good: Vec<Element> = items.into_iter().filter_map(|r| r.ok()).collect();
        let all = counted(5).0.collect().unwrap();
        assert_eq!(good, [&all[..2], &all[3..]].concat());
    }

    #[test]
    fn bad_headers_lengths_and_trailers_are_data_loss() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(&dir);
        let bytes = written(&path, 2);
        let open_err = |data: &[u8]| {
            std::fs::write(&path, data).unwrap();
            Dataset::range(0, 1).cache(&path).iter().err().unwrap()
        };
        let err = open_err(b"garbage");
        assert_eq!(err.kind(), ErrorKind::DataLoss);
        assert!(
            err.to_string().contains("not a headrace cache file"),
            "{err}"
        );
        let mut v2 = bytes.clone();
        v2[8] = 2;
        let err = open_err(&v2);
        assert!(err.to_string().contains("version 2 at byte 8"), "{err}");

        let read_err = |data: &[u8]| {
            std::fs::write(&path, data).unwrap();
            the_error(&read_back(&path)).clone()
        };
        // A length claiming far more than the file holds: refused before allocating.
        let mut huge = bytes[..16].to_vec();
        huge.extend_from_slice(&(1u64 << 60).to_le_bytes());
        let err = read_err(&huge);
        assert!(
            err.to_string()
                .contains("record 0 at byte 16 claims 1152921504606846976 bytes"),
            "{err}"
        );
        // A trailer that disagrees with the records.
        let mut wrong_count = bytes.clone();
        let n = wrong_count.len();
        wrong_count[n - 8] = 7;
        let err = read_err(&wrong_count);
        assert!(err.to_string().contains("says 7 records, but 2"), "{err}");
        // Bytes after the trailer.
        let mut stray = bytes.clone();
        stray.push(0);
        assert!(read_err(&stray).to_string().contains("1 stray bytes"));
        // A file that stops right after the header.
        let err = read_err(&bytes[..16]);
        assert!(err.to_string().contains("without its trailer"), "{err}");
    }

    #[test]
    fn a_cache_of_another_pipeline_is_refused_per_element() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(&dir);
        written(&path, 2);
        let strings = Dataset::from_tensors(Tensor::string_scalar("s").into()).cache(&path);
        let items: Vec<_> = strings.iter().unwrap().collect();
        assert_eq!(items.len(), 2);
        let err = items[0].as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("another pipeline"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn cache_replays_exactly(items in proptest::collection::vec((any::<i32>(), "[a-z]{0,4}", 0usize..4), 0..30)) {
            let dir = tempfile::tempdir().unwrap();
            let items = Arc::new(items);
            let make = move || {
                Vec::clone(&items).into_iter().map(|(v, s, n)| {
                    Ok(Element::Tuple(vec![
                        Tensor::scalar(v).into(),
                        Tensor::string_scalar(s).into(),
                        Tensor::from_vec(&[n], vec![v as f64; n]).unwrap().into(),
                    ]))
                })
            };
            let input = Dataset::from_generator(make.clone()).collect().unwrap();
            for name in [String::new(), cache_path(&dir)] {
                let cached = Dataset::from_generator(make.clone()).cache(&name);
                prop_assert_eq!(&cached.collect().unwrap(), &input);
                prop_assert_eq!(&cached.collect().unwrap(), &input);
                prop_assert_eq!(&Dataset::from_generator(make.clone()).cache(&name).repeat(2).unwrap().collect().unwrap(), &repeated(&input, 2));
            }
        }
    }
}
