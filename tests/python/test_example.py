"""tf.train.Example parsing and encoding against TensorFlow's own output
(../shared/testdata/tfrecord), eagerly and inside traced functions."""

import json

import headrace as hr
import numpy as np
import pytest
from testdata import reference_dir

DATA = reference_dir("tfrecord")
EXAMPLES = json.loads((DATA / "examples.json").read_text())
SEQUENCES = json.loads((DATA / "sequence.json").read_text())
RECORDS = [bytes.fromhex(h) for h in EXAMPLES["records_hex"]]
SPEC = {
    "id": hr.io.FixedLenFeature([], hr.int64),
    "emb": hr.io.FixedLenFeature([4], hr.float32),
    "score": hr.io.FixedLenFeature([], hr.float32, default_value=-1.0),
    "tags": hr.io.VarLenFeature(hr.int64),
    "names": hr.io.RaggedFeature(hr.string),
    "raw": hr.io.FixedLenFeature([], hr.string, default_value=b""),
}


def check_against_tensorflow(parsed):
    want = EXAMPLES["parse_example_first_64"]
    np.testing.assert_array_equal(parsed["id"], np.array(want["id"], np.int64))
    np.testing.assert_array_equal(parsed["emb"], np.array(want["emb"], np.float32))
    np.testing.assert_array_equal(parsed["score"], np.array(want["score"], np.float32))
    assert [bytes(r) for r in parsed["raw"]] == [bytes.fromhex(h) for h in want["raw"]]
    tags = parsed["tags"]
    assert isinstance(tags, hr.SparseTensor)
    np.testing.assert_array_equal(tags.indices, want["tags"]["indices"])
    np.testing.assert_array_equal(tags.values, want["tags"]["values"])
    np.testing.assert_array_equal(tags.dense_shape, want["tags"]["dense_shape"])
    names = parsed["names"]
    assert isinstance(names, hr.RaggedTensor)
    assert [bytes(v) for v in names.flat_values] == [
        bytes.fromhex(h) for h in want["names"]["ragged"]
    ]
    np.testing.assert_array_equal(names.nested_row_splits, want["names"]["row_splits"])


def test_parse_example_equals_tensorflow_eagerly():
    check_against_tensorflow(hr.io.parse_example(RECORDS[:64], SPEC))


def test_parse_example_equals_tensorflow_traced():
    ds = hr.Dataset.from_tensor_slices(np.array(RECORDS[:64], object)).batch(64)
    ds = ds.map(lambda r: hr.io.parse_example(r, SPEC))
    assert "(traced" in repr(ds)
    assert ds.element_spec["tags"] == hr.SparseTensorSpec((None, None), hr.int64)
    assert ds.element_spec["names"] == hr.RaggedTensorSpec((None, None), hr.string, 1)
    check_against_tensorflow(next(iter(ds)))


def test_parse_single_example_then_batch_equals_parse_example():
    ds = hr.Dataset.from_tensor_slices(np.array(RECORDS[:64], object))
    ds = ds.map(lambda r: hr.io.parse_single_example(r, SPEC)).batch(64)
    assert "(traced" in repr(ds)
    check_against_tensorflow(next(iter(ds)))
    # and unbatching gives each example back
    rows = list(ds.unbatch())
    for record, row in zip(RECORDS[:64], rows, strict=True):
        single = hr.io.parse_single_example(record, SPEC)
        np.testing.assert_array_equal(row["emb"], single["emb"])
        np.testing.assert_array_equal(row["names"], np.array(single["names"], object))


def test_decode_raw_of_the_raw_feature_equals_tensorflow():
    raw = hr.io.parse_example(RECORDS[:64], SPEC)["raw"]
    got = hr.io.decode_raw(raw, hr.float32)
    np.testing.assert_array_equal(got, np.array(EXAMPLES["decode_raw_float32_of_raw"], np.float32))


def test_a_missing_required_feature_is_named_as_tensorflow_names_it():
    with pytest.raises(hr.errors.InvalidArgumentError) as e:
        hr.io.parse_example(RECORDS[-2:], SPEC)  # the empty record has no feature
    assert "Feature: emb (data type: float) is required but could not be found." in str(e.value)
    assert "emb (data type: float) is required" in EXAMPLES["parse_example_missing_required_error"]
    ds = hr.Dataset.from_tensor_slices(np.array(RECORDS, object)).map(
        lambda r: hr.io.parse_single_example(r, SPEC)
    )
    results = []
    it = iter(ds)
    for _ in RECORDS:
        try:
            results.append(next(it)["id"])
        except hr.errors.InvalidArgumentError as err:
            results.append(str(err))
    assert all(isinstance(r, np.int64) for r in results[:64])
    assert all("emb" in r for r in results[64:])


def test_example_to_dict_and_back_reproduces_tensorflows_bytes():
    for record, features in zip(RECORDS, EXAMPLES["features"] + [{}, {}], strict=False):
        decoded = hr.io.example_to_dict(record)
        assert set(decoded) == set(features)
        for name, values in features.items():
            got = decoded[name]
            if isinstance(got, list):
                assert got == [bytes.fromhex(v) for v in values]
            else:
                np.testing.assert_array_equal(got, values)
        # TensorFlow writes features in no fixed order; in the record's order the bytes match.
        typed = {
            k: (v if isinstance(v, list) and (not v or isinstance(v[0], bytes)) else v)
            for k, v in decoded.items()
        }
        if all(not (isinstance(v, list) and not v) for v in typed.values()):
            assert hr.io.serialize_example(typed) == record


def test_serialize_example_value_types():
    record = hr.io.serialize_example(
        {
            "s": "héllo",
            "b": b"\x00\xff",
            "i": 7,
            "flag": True,
            "f": 0.5,
            "ints": np.arange(3, dtype=np.int32),
            "floats": np.ones((2, 2), np.float64),
            "words": ["a", b"b"],
            "empty_ints": np.zeros(0, np.int64),
        }
    )
    d = hr.io.example_to_dict(record)
    assert d["s"] == ["héllo".encode()] and d["b"] == [b"\x00\xff"]
    np.testing.assert_array_equal(d["i"], [7])
    np.testing.assert_array_equal(d["flag"], [1])
    np.testing.assert_array_equal(d["f"], np.array([0.5], np.float32))
    np.testing.assert_array_equal(d["ints"], [0, 1, 2])
    np.testing.assert_array_equal(d["floats"], np.ones(4, np.float32))
    assert d["words"] == [b"a", b"b"]
    assert d["empty_ints"].dtype == np.int64 and d["empty_ints"].size == 0
    with pytest.raises(ValueError, match="empty list"):
        hr.io.serialize_example({"x": []})
    with pytest.raises(TypeError):
        hr.io.serialize_example({"x": [b"a", 1]})


def test_parse_single_sequence_example_equals_tensorflow():
    records = [bytes.fromhex(h) for h in SEQUENCES["records_hex"]]
    context_spec = {"len": hr.io.FixedLenFeature([], hr.int64)}
    sequence_spec = {
        "tok": hr.io.FixedLenSequenceFeature([], hr.int64),
        "vec": hr.io.FixedLenSequenceFeature([2], hr.float32),
    }
    ds = hr.Dataset.from_tensor_slices(np.array(records, object)).map(
        lambda r: hr.io.parse_single_sequence_example(r, context_spec, sequence_spec)
    )
    assert "(traced" in repr(ds)
    for record, (context, sequence), want in zip(records, ds, SEQUENCES["parsed"], strict=True):
        eager = hr.io.parse_single_sequence_example(record, context_spec, sequence_spec)
        for got in (eager, (context, sequence)):
            assert int(got[0]["len"]) == want["context"]["len"]
            np.testing.assert_array_equal(got[1]["tok"], want["sequence"]["tok"])
            np.testing.assert_array_equal(
                got[1]["vec"], np.array(want["sequence"]["vec"], np.float32).reshape(-1, 2)
            )
        ctx, lists = hr.io.sequence_example_to_dict(record)
        again = hr.io.serialize_sequence_example(ctx, lists)
        assert hr.io.sequence_example_to_dict(again)[1].keys() == lists.keys()


@pytest.mark.parametrize(
    "bad",
    [b"\x0a", b"\x0a\xff\xff\xff\xff\x0f", b"\x0a\x05\x0a\x03abc", b"\xff" * 8],
)
def test_malformed_records_raise_invalid_argument(bad):
    with pytest.raises(hr.errors.InvalidArgumentError):
        hr.io.parse_single_example(bad, SPEC)
    with pytest.raises(hr.errors.InvalidArgumentError):
        hr.io.example_to_dict(bad)


def test_bad_specs_raise_at_the_call():
    with pytest.raises(ValueError, match="float32"):
        hr.io.parse_example(RECORDS[:1], {"x": hr.io.FixedLenFeature([], hr.float64)})
    with pytest.raises(TypeError, match="FixedLenSequenceFeature"):
        hr.io.parse_example(RECORDS[:1], {"x": hr.io.FixedLenSequenceFeature([], hr.int64)})
    with pytest.raises(ValueError, match="default"):
        hr.io.parse_example(
            RECORDS[:1], {"x": hr.io.FixedLenFeature([2], hr.int64, default_value=[1])}
        )
