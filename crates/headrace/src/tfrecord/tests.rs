//! The readers and the writer against TensorFlow's files (`../shared/testdata/tfrecord`),
//! and properties of the framing: round trips, and what any damage gives.

use std::io::Write;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::error::ErrorKind;
use crate::testdata;

fn reference_path(name: &str) -> String {
    testdata::dir("tfrecord").join(name).display().to_string()
}

fn expected_records() -> Vec<Bytes> {
    testdata::records(&testdata::json("tfrecord", "examples.json"))
}

fn read_file(name: &str, compression: Compression) -> Vec<crate::Result<Bytes>> {
    RecordReader::open(reference_path(name), compression, 1000)
        .unwrap()
        .collect()
}

fn write_all(records: &[Bytes], compression: Compression) -> Vec<u8> {
    let mut w = RecordWriter::new(Vec::new(), compression, "mem");
    for r in records {
        w.write_record(r).unwrap();
    }
    w.finish().unwrap().unwrap()
}

#[test]
fn every_reference_file_reads_back_the_records() {
    let expected = expected_records();
    assert_eq!(expected.len(), 66);
    for (name, compression) in [
        ("examples.tfrecord", Compression::None),
        ("examples.tfrecord.gz", Compression::Gzip),
        ("examples.tfrecord.zlib", Compression::Zlib),
    ] {
        let got: Vec<Bytes> = read_file(name, compression)
            .into_iter()
            .collect::<crate::Result<_>>()
            .unwrap();
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn writing_the_records_again_gives_tensorflows_bytes() {
    let expected = expected_records();
    for (name, compression) in [
        ("examples.tfrecord", Compression::None),
        ("examples.tfrecord.gz", Compression::Gzip),
        ("examples.tfrecord.zlib", Compression::Zlib),
    ] {
        let reference = std::fs::read(reference_path(name)).unwrap();
        let ours = write_all(&expected, compression);
        if ours != reference {
            std::fs::write(format!("/tmp/ours-{name}"), &ours).unwrap();
        }
        assert!(ours == reference, "{name}: not byte-identical");
    }
    // And through a file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.tfrecord.gz").display().to_string();
    let mut w = RecordWriter::create(&path, Compression::Gzip).unwrap();
    for r in &expected {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    w.finish().unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(reference_path("examples.tfrecord.gz")).unwrap()
    );
    assert!(w.write_record(b"late").is_err(), "closed");
}

/// The records before the damage, then a DataLoss error with this text, then nothing.
fn check_damaged(name: &str, good: usize, message: &str) {
    let expected = expected_records();
    let got = read_file(name, Compression::None);
    assert_eq!(got.len(), good + 1, "{name}: {got:?}");
    for (i, r) in got[..good].iter().enumerate() {
        assert_eq!(r.as_ref().unwrap(), &expected[i], "{name} record {i}");
    }
    let err = got[good].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataLoss);
    assert_eq!(
        err.to_string(),
        format!("{}: {message}", reference_path(name)),
        "{name}"
    );
}

#[test]
fn damaged_files_yield_the_records_before_the_damage_then_data_loss() {
    // corrupt.json gives the records TensorFlow yields before its error and the offset
    // it names; the damage is at the same place here.
    let corrupt = testdata::json("tfrecord", "corrupt.json");
    let before = |k: &str| corrupt[k]["records_before_error"].as_u64().unwrap() as usize;
    check_damaged(
        "corrupt_bad_data_crc_record1.tfrecord",
        before("bad_data_crc_record1"),
        "record 1 at byte offset 154: corrupted record: the data fails its checksum \
         (stored 0x61e35917, computed 0xf42b1cd3)",
    );
    check_damaged(
        "corrupt_bad_length_crc_record1.tfrecord",
        before("bad_length_crc_record1"),
        "record 1 at byte offset 154: corrupted record: the length field fails its checksum \
         (stored 0xc87ac003, computed 0xc87ac103)",
    );
    check_damaged(
        "corrupt_truncated_mid_record3.tfrecord",
        before("truncated_mid_record3"),
        "record 2 at byte offset 363: truncated record: its header says 173 bytes of data, \
         but only 107 bytes of the file remain after the header",
    );
    // TensorFlow yields one record and ends quietly (tf_error is null); the file's
    // last 5 bytes are the start of a second header.
    assert!(corrupt["truncated_in_header"]["tf_error"].is_null());
    check_damaged(
        "corrupt_truncated_in_header.tfrecord",
        before("truncated_in_header"),
        "record 1 at byte offset 154: truncated record: the file ends inside the record's \
         12-byte header, after 5 bytes",
    );
}

#[test]
fn a_missing_file_is_not_found() {
    let err = match RecordReader::open("/no/such/file.tfrecord", Compression::None, 10) {
        Err(e) => e,
        Ok(_) => panic!("opened"),
    };
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("/no/such/file.tfrecord"), "{err}");
}

#[test]
fn a_length_beyond_the_file_is_refused_before_reading() {
    // A valid length checksum for 2^60 bytes, in a 16-byte file.
    let length = (1u64 << 60).to_le_bytes();
    let mut data = length.to_vec();
    data.extend(masked_crc32c(&length).to_le_bytes());
    data.extend([0; 4]);
    let mut r = RecordReader::new(&data[..], "huge", Some(data.len() as u64), 64);
    let err = r.next().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "huge: record 0 at byte offset 0: truncated record: its header says \
         1152921504606846976 bytes of data, but only 4 bytes of the file remain after the header"
    );
    assert!(r.next().is_none(), "nothing after the error");
    // Without a known size (a compressed stream) memory follows what arrives.
    let mut r = RecordReader::new(&data[..], "huge", None, 64);
    let err = r.next().unwrap().unwrap_err();
    assert!(
        err.to_string().contains("the stream ends 4 bytes after"),
        "{err}"
    );
}

#[test]
fn damaged_compressed_streams_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let expected = expected_records();
    for (compression, ext) in [(Compression::Gzip, "gz"), (Compression::Zlib, "zlib")] {
        let full = write_all(&expected, compression);
        let path = dir.path().join(format!("cut.{ext}")).display().to_string();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&full[..full.len() / 2])
            .unwrap();
        let got = RecordReader::open(&path, compression, 1000)
            .unwrap()
            .collect::<Vec<_>>();
        let (last, good) = got.split_last().unwrap();
        assert!(!good.is_empty() && good.iter().all(|r| r.is_ok()));
        let err = last.as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataLoss);
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "{path}: record {} at decompressed byte offset",
                good.len()
            )) && text.contains(&format!("{} stream ends early", compression.name())),
            "{text}"
        );
    }
}

/// A source that hands out `data`, then fails.
struct FailsAfter<'a>(&'a [u8]);

impl std::io::Read for FailsAfter<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() {
            return Err(std::io::Error::other("disk gone"));
        }
        let n = out.len().min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn what_was_read_before_a_failure_comes_out_before_the_error() {
    // Found by fuzz/tfrecord_reader (minimised): one byte, then an I/O error, read as
    // 1-byte fixed-length records with a 2177-byte chunk.
    let got: Vec<_> = FixedLengthReader::new(FailsAfter(&[0xff]), "f", 1, 0, 0, 2177).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(&got[0].as_ref().unwrap()[..], [0xff]);
    assert_eq!(got[1].as_ref().unwrap_err().kind(), ErrorKind::DataLoss);

    // A GZIP file cut short: every record that decompresses comes out, then DataLoss.
    let gz = std::fs::read(reference_path("examples.tfrecord.gz")).unwrap();
    let expected = expected_records();
    for (cut, whole) in [(gz.len() / 2, 31), (gz.len() - 1, 66)] {
        let source = Decompressor::new(&gz[..cut], Compression::Gzip);
        let got: Vec<_> = RecordReader::new(source, "cut.gz", None, DEFAULT_CHUNK).collect();
        assert_eq!(got.len(), whole + 1, "cut at {cut}");
        for (g, e) in got.iter().zip(&expected[..whole]) {
            assert_eq!(g.as_ref().unwrap(), e);
        }
        assert_eq!(got[whole].as_ref().unwrap_err().kind(), ErrorKind::DataLoss);
    }
}

#[test]
fn a_stream_longer_than_its_stated_size_is_an_error_not_a_panic() {
    // Found by fuzz/tfrecord_reader: one empty record (16 bytes) read with a stated size
    // of 4, as when a file grows after it was measured.
    let file = write_all(&[Bytes::new()], Compression::None);
    let got: Vec<_> = RecordReader::new(&file[..], "grown.tfrecord", Some(4), 64).collect();
    assert_eq!(got.len(), 1);
    let err = got[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataLoss);
    assert!(!err.to_string().contains("18446744073709551"), "{err}");
}

fn framed(records: &[Vec<u8>]) -> Vec<u8> {
    let records: Vec<Bytes> = records.iter().map(|r| Bytes::from(r.clone())).collect();
    write_all(&records, Compression::None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn records_round_trip(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..30),
        chunk in 1usize..400,
        compression in prop_oneof![Just(Compression::None), Just(Compression::Gzip), Just(Compression::Zlib)],
    ) {
        let owned: Vec<Bytes> = records.iter().map(|r| Bytes::from(r.clone())).collect();
        let data = write_all(&owned, compression);
        let plain = (compression == Compression::None).then_some(data.len() as u64);
        let stream: Box<dyn std::io::Read> = match compression {
            Compression::None => Box::new(&data[..]),
            _ => Box::new(Decompressor::new(&data[..], compression)),
        };
        let got: Vec<Bytes> = RecordReader::new(stream, "p", plain, chunk)
            .collect::<crate::Result<_>>()
            .unwrap();
        prop_assert_eq!(got, owned);
    }

    /// Cutting a file anywhere gives the whole records before the cut, then (unless the
    /// cut falls between records) one DataLoss error: never a panic, never silence.
    #[test]
    fn a_cut_anywhere_is_reported(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 1..8),
        cut_at in any::<prop::sample::Index>(),
        known_size: bool,
    ) {
        let data = framed(&records);
        let cut = cut_at.index(data.len());
        let cut_data = &data[..cut];
        let size = known_size.then_some(cut as u64);
        let got: Vec<_> = RecordReader::new(cut_data, "c", size, 16).collect();
        let mut boundaries = vec![0usize];
        for r in &records {
            boundaries.push(boundaries.last().unwrap() + 16 + r.len());
        }
        let whole = boundaries.iter().filter(|b| **b <= cut).count() - 1;
        for (i, r) in got.iter().take(whole).enumerate() {
            prop_assert_eq!(&r.as_ref().unwrap()[..], &records[i][..]);
        }
        if boundaries.contains(&cut) {
            prop_assert_eq!(got.len(), whole);
        } else {
            prop_assert_eq!(got.len(), whole + 1);
            let err = got[whole].as_ref().unwrap_err();
            prop_assert_eq!(err.kind(), ErrorKind::DataLoss);
            let expected_prefix = format!("c: record {} at byte offset {}: truncated record", whole, boundaries[whole]);
            prop_assert!(err.to_string().starts_with(&expected_prefix), "{}", err);
        }
    }

    /// Flipping any bit is caught: the records before it are yielded intact, then an error.
    #[test]
    fn a_flipped_bit_anywhere_is_caught(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 1..8),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut data = framed(&records);
        let i = at.index(data.len());
        data[i] ^= 1 << bit;
        let size = data.len() as u64;
        let got: Vec<_> = RecordReader::new(&data[..], "f", Some(size), 16).collect();
        let oks = got.iter().take_while(|r| r.is_ok()).count();
        prop_assert_eq!(got.len(), oks + 1, "exactly one error, last");
        for (k, r) in got[..oks].iter().enumerate() {
            prop_assert_eq!(&r.as_ref().unwrap()[..], &records[k][..]);
        }
        prop_assert_eq!(got[oks].as_ref().unwrap_err().kind(), ErrorKind::DataLoss);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The file readers fill their buffers without zeroing them (`FileSource::fill_spare`):
    /// they must read exactly what the plain `Read` path reads, damaged files included.
    #[test]
    fn the_file_fast_path_reads_what_the_read_path_reads(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..20),
        chunk in 1usize..5000,
        cut in any::<prop::sample::Index>(),
        compression in prop_oneof![Just(Compression::None), Just(Compression::Gzip), Just(Compression::Zlib)],
    ) {
        let owned: Vec<Bytes> = records.iter().map(|r| Bytes::from(r.clone())).collect();
        let mut data = write_all(&owned, compression);
        data.truncate(cut.index(data.len() + 1));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f").display().to_string();
        std::fs::write(&path, &data).unwrap();
        let outcome = |r: crate::Result<Bytes>| r.map_err(|e| e.to_string());

        let fast: Vec<_> = RecordReader::open(&path, compression, chunk)
            .unwrap()
            .map(outcome)
            // `new` does not know the stream is decompressed: its offsets say so less.
            .map(|r| r.map_err(|e| e.replace("decompressed byte offset", "byte offset")))
            .collect();
        let source = FileSource::open(&path, compression).unwrap();
        let size = source.plain_size();
        let exact: Vec<_> = RecordReader::new(source, &path, size, chunk).map(outcome).collect();
        prop_assert_eq!(&fast, &exact);

        let lines_fast: Vec<_> = LineReader::open(&path, compression, chunk).unwrap().map(outcome).collect();
        let lines_exact: Vec<_> = LineReader::new(FileSource::open(&path, compression).unwrap(), &path, chunk).map(outcome).collect();
        prop_assert_eq!(lines_fast, lines_exact);
    }
}
