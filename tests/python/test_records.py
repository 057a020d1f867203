"""Record files from Python: TFRecordDataset, TextLineDataset, FixedLengthRecordDataset and
TFRecordWriter, against TensorFlow's files (../shared/testdata/tfrecord)."""

import gzip
import json
import os
import re
import zlib

import headrace as hr
import numpy as np
import pytest
from testdata import reference_dir

DATA = reference_dir("tfrecord")
EXAMPLES = json.loads((DATA / "examples.json").read_text())
CORRUPT = json.loads((DATA / "corrupt.json").read_text())
RECORDS = [bytes.fromhex(h) for h in EXAMPLES["records_hex"]]
FILES = {
    "": DATA / "examples.tfrecord",
    "GZIP": DATA / "examples.tfrecord.gz",
    "ZLIB": DATA / "examples.tfrecord.zlib",
}


def write_records(path, records, options=None):
    with hr.io.TFRecordWriter(path, options) as w:
        for r in records:
            w.write(r)
    return str(path)


def drain(ds):
    """Every outcome of iterating ``ds``: values, and exceptions in their place."""
    out, it = [], iter(ds)
    while True:
        try:
            out.append(next(it))
        except StopIteration:
            return out
        except hr.errors.OpError as e:
            out.append(e)


# --- reading TensorFlow's files ----------------------------------------------------


@pytest.mark.parametrize("compression", ["", "GZIP", "ZLIB"])
def test_every_reference_file_reads_back_the_records(compression):
    ds = hr.TFRecordDataset(str(FILES[compression]), compression_type=compression or None)
    assert ds.element_spec == hr.TensorSpec([], hr.string)
    assert list(ds) == RECORDS


def test_filenames_as_path_list_array_or_dataset():
    path = FILES[""]
    assert list(hr.TFRecordDataset(path)) == RECORDS  # a PathLike
    assert list(hr.TFRecordDataset([str(path), str(path)])) == RECORDS * 2
    assert list(hr.TFRecordDataset(np.array([str(path)]))) == RECORDS
    files = hr.Dataset.list_files(str(DATA / "examples.tfrecord"), shuffle=False)
    assert list(hr.TFRecordDataset(files)) == RECORDS
    assert list(hr.data.TFRecordDataset(files).take(2)) == RECORDS[:2]
    assert isinstance(hr.TFRecordDataset(path), hr.Dataset)
    assert list(hr.TFRecordDataset([])) == []


def test_bad_arguments_raise_at_construction():
    with pytest.raises(
        ValueError, match='compression_type: must be "", "GZIP" or "ZLIB", got "gzip"'
    ):
        hr.TFRecordDataset(str(FILES[""]), compression_type="gzip")
    with pytest.raises(TypeError, match="filenames: expected"):
        hr.TFRecordDataset(3)
    with pytest.raises(TypeError, match="filenames: must be string"):
        hr.TFRecordDataset(hr.Dataset.range(3))
    with pytest.raises(ValueError, match="buffer_size: must be a non-negative"):
        hr.TFRecordDataset(str(FILES[""]), buffer_size=-1)
    with pytest.raises(ValueError, match="num_parallel_reads"):
        hr.TFRecordDataset(str(FILES[""]), num_parallel_reads=0)


def test_a_missing_file_is_not_found_and_reading_goes_on():
    ds = hr.TFRecordDataset(["/no/such.tfrecord", str(FILES[""])])
    out = drain(ds)
    assert isinstance(out[0], hr.errors.NotFoundError)
    assert "/no/such.tfrecord" in str(out[0])
    assert out[1:] == RECORDS


# --- damaged data ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "what"),
    [
        (
            "bad_data_crc_record1",
            r"record 1 at byte offset 154: corrupted record: the data fails its checksum",
        ),
        (
            "bad_length_crc_record1",
            r"record 1 at byte offset 154: corrupted record: the length field fails its checksum",
        ),
        (
            "truncated_mid_record3",
            r"record 2 at byte offset 363: truncated record: its header says 173 bytes",
        ),
        # TensorFlow yields the first record and ends quietly here (tf_error is null).
        (
            "truncated_in_header",
            r"record 1 at byte offset 154: truncated record: "
            r"the file ends inside the record's 12-byte header",
        ),
    ],
)
def test_damaged_files_give_the_records_before_then_data_loss(case, what):
    path = str(DATA / f"corrupt_{case}.tfrecord")
    good = CORRUPT[case]["records_before_error"]
    out = drain(hr.TFRecordDataset(path))
    assert out[:good] == RECORDS[:good]
    assert len(out) == good + 1
    err = out[good]
    assert isinstance(err, hr.errors.DataLossError)
    assert re.fullmatch(re.escape(path) + ": " + what + ".*", str(err)), str(err)


def test_ignore_errors_skips_the_rest_of_a_damaged_file_and_counts_it():
    damaged = str(DATA / "corrupt_bad_data_crc_record1.tfrecord")
    ds = hr.TFRecordDataset([damaged, "/no/such.tfrecord", str(FILES[""])]).ignore_errors()
    it = iter(ds)
    got = list(it)
    assert got == RECORDS[:1] + RECORDS
    stats = {s["stage"]: s for s in it.stats()}
    reader = stats["TFRecord"]
    # The damaged file from record 1 (byte 154) to its end, and the missing file.
    assert reader["skipped_files"] == 2
    assert reader["skipped_bytes"] == os.path.getsize(damaged) - 154
    assert stats["IgnoreErrors"]["dropped_errors"] == 2


def test_a_length_beyond_the_file_is_an_error_not_an_allocation(tmp_path):
    length = (1 << 62).to_bytes(8, "little")
    # The masked crc32c of the length, computed with the writer: write a record whose
    # header we then patch is simpler — take a real header and check the refusal.
    path = tmp_path / "huge.tfrecord"
    write_records(path, [b"x"])
    data = bytearray(path.read_bytes())
    data[:8] = length
    path.write_bytes(bytes(data))
    (err,) = drain(hr.TFRecordDataset(str(path)))
    # The length's checksum no longer matches; either way it is DataLoss, at once.
    assert isinstance(err, hr.errors.DataLossError)
    assert "record 0 at byte offset 0" in str(err)


@pytest.mark.parametrize("compression", ["GZIP", "ZLIB"])
def test_a_cut_or_damaged_compressed_file_names_the_file(tmp_path, compression):
    data = FILES[compression].read_bytes()
    cut = tmp_path / "cut"
    cut.write_bytes(data[: len(data) // 2])
    out = drain(hr.TFRecordDataset(str(cut), compression))
    assert all(isinstance(r, bytes) for r in out[:-1]) and out[:-1] == RECORDS[: len(out) - 1]
    assert isinstance(out[-1], hr.errors.DataLossError)
    assert str(out[-1]).startswith(f"{cut}: record {len(out) - 1} at decompressed byte offset")
    assert f"{compression} stream ends early" in str(out[-1])

    bad = tmp_path / "bad"
    damaged = bytearray(data)
    damaged[-8 if compression == "GZIP" else -1] ^= 1  # the trailer's checksum
    bad.write_bytes(bytes(damaged))
    out = drain(hr.TFRecordDataset(str(bad), compression))
    assert out[:-1] == RECORDS
    assert isinstance(out[-1], hr.errors.DataLossError)
    assert str(out[-1]).startswith(str(bad)) and "incorrect" in str(out[-1])


# --- parallel reads and traced interleave -----------------------------------------------


def test_parallel_reads_interleave_like_tf_data(tmp_path):
    files = [
        write_records(tmp_path / f"f{i}", [f"{i}-{j}".encode() for j in range(3 + i)])
        for i in range(4)
    ]
    ds = hr.TFRecordDataset(files, num_parallel_reads=2)
    # tf.data: interleave(cycle_length=2, block_length=1), files replacing each other in
    # their slot as they end.
    expected = hr.Dataset.from_tensor_slices(files).interleave(
        lambda f: hr.TFRecordDataset(f), cycle_length=2, block_length=1
    )
    assert list(ds) == list(expected)
    assert sorted(hr.TFRecordDataset(files, num_parallel_reads=hr.AUTOTUNE)) == sorted(
        r for f in files for r in hr.TFRecordDataset(f)
    )


def test_interleave_of_tfrecord_datasets_is_traced(tmp_path):
    files = [
        write_records(tmp_path / f"f{i}.gz", [f"{i}-{j}".encode() for j in range(5)], "GZIP")
        for i in range(3)
    ]
    ds = hr.Dataset.from_tensor_slices(files).interleave(
        lambda f: hr.TFRecordDataset(f, compression_type="GZIP"),
        cycle_length=3,
        num_parallel_calls=3,
    )
    assert "traced" in repr(ds) and "TFRecord" in repr(ds)
    assert list(ds) == [f"{i}-{j}".encode() for j in range(5) for i in range(3)]


def test_parse_in_the_pipeline_equals_eager_parse():
    spec = {
        "id": hr.io.FixedLenFeature([], hr.int64),
        "emb": hr.io.FixedLenFeature([4], hr.float32),
    }
    ds = (
        hr.TFRecordDataset(str(FILES["GZIP"]), "GZIP")
        .batch(64)
        .map(lambda x: hr.io.parse_example(x, spec))
    )
    first = next(iter(ds))
    want = EXAMPLES["parse_example_first_64"]
    np.testing.assert_array_equal(first["id"], np.array(want["id"], np.int64))
    np.testing.assert_array_equal(first["emb"], np.array(want["emb"], np.float32))


# --- writing ----------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["", "GZIP", "ZLIB"])
def test_writing_the_records_gives_tensorflows_bytes(tmp_path, compression):
    path = write_records(tmp_path / "out", RECORDS, compression or None)
    assert open(path, "rb").read() == FILES[compression].read_bytes()
    options = hr.io.TFRecordOptions(compression_type=compression)
    path = write_records(tmp_path / "out2", RECORDS, options)
    assert open(path, "rb").read() == FILES[compression].read_bytes()


def test_the_writers_output_reads_back_with_standard_tools(tmp_path):
    records = [b"", b"a", os.urandom(100_000), "text ☃"]
    write_records(tmp_path / "p", records)
    write_records(tmp_path / "g", records, "GZIP")
    write_records(tmp_path / "z", records, "ZLIB")
    plain = (tmp_path / "p").read_bytes()
    assert gzip.decompress((tmp_path / "g").read_bytes()) == plain
    assert zlib.decompress((tmp_path / "z").read_bytes()) == plain
    want = [r.encode() if isinstance(r, str) else r for r in records]
    for name, c in [("p", None), ("g", "GZIP"), ("z", "ZLIB")]:
        assert list(hr.TFRecordDataset(str(tmp_path / name), c)) == want


def test_writer_lifecycle(tmp_path):
    w = hr.io.TFRecordWriter(tmp_path / "w.tfrecord")
    w.write(b"one")
    w.flush()
    assert list(hr.TFRecordDataset(str(tmp_path / "w.tfrecord"))) == [b"one"]
    w.write(memoryview(b"two"))
    w.close()
    w.close()
    with pytest.raises(hr.errors.InvalidArgumentError, match="closed"):
        w.write(b"three")
    assert list(hr.TFRecordDataset(str(tmp_path / "w.tfrecord"))) == [b"one", b"two"]
    with pytest.raises(hr.errors.NotFoundError):
        hr.io.TFRecordWriter(tmp_path / "no" / "dir" / "w.tfrecord")
    with pytest.raises(ValueError, match="compression_type"):
        hr.io.TFRecordWriter(tmp_path / "x", "LZ4")


# --- text lines and fixed-length records -------------------------------------------------


def test_text_lines_match_python_splitting(tmp_path):
    text = "alpha\r\nbeta\n\ngamma ☃\nlast without newline"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8", newline="")
    with gzip.open(tmp_path / "b.txt.gz", "wt", encoding="utf-8", newline="") as f:
        f.write("x\ny\n")
    want = [line.encode() for line in text.replace("\r\n", "\n").split("\n")]
    assert list(hr.TextLineDataset(str(tmp_path / "a.txt"))) == want
    assert list(hr.data.TextLineDataset(str(tmp_path / "b.txt.gz"), "GZIP")) == [b"x", b"y"]
    both = hr.TextLineDataset(
        [str(tmp_path / "a.txt"), str(tmp_path / "a.txt")], num_parallel_reads=2
    )
    assert sorted(both) == sorted(want * 2)


def test_fixed_length_records(tmp_path):
    body = np.arange(60, dtype=np.uint8).tobytes()
    (tmp_path / "r.bin").write_bytes(b"HEAD" + body + b"FT")
    ds = hr.FixedLengthRecordDataset(str(tmp_path / "r.bin"), 12, header_bytes=4, footer_bytes=2)
    assert list(ds) == [body[i : i + 12] for i in range(0, 60, 12)]
    decoded = ds.map(lambda r: hr.io.decode_raw(r, hr.uint8))
    np.testing.assert_array_equal(np.stack(list(decoded)).reshape(-1), np.arange(60))
    # A partial last record is an error after the whole ones, not silence.
    (tmp_path / "p.bin").write_bytes(body + b"xyz")
    out = drain(hr.FixedLengthRecordDataset(str(tmp_path / "p.bin"), 12))
    assert out[:5] == [body[i : i + 12] for i in range(0, 60, 12)]
    assert isinstance(out[5], hr.errors.DataLossError)
    assert "3 bytes that are not a whole 12-byte record" in str(out[5])
    with pytest.raises(ValueError, match="record_bytes: must be at least 1"):
        hr.FixedLengthRecordDataset(str(tmp_path / "p.bin"), 0)
