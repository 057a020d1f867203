"""hr.strings and hr.io, eager and traced, against Python's own string handling."""

import headrace as hr
import numpy as np
import pytest

WORDS = [b"", b"a", b"Hello", b"caf\xc3\xa9", b"  two words ", b"123"]


def objs(values):
    return np.array(values, dtype=object)


def test_length_lower_upper_against_python():
    x = objs(WORDS)
    assert hr.strings.length(x).tolist() == [len(w) for w in WORDS]
    assert hr.strings.length(x, unit="UTF8_CHAR").tolist() == [len(w.decode()) for w in WORDS]
    assert hr.strings.lower(x).tolist() == [w.lower() for w in WORDS]
    assert hr.strings.upper(x).tolist() == [w.upper() for w in WORDS]


def test_substr_join_split():
    assert hr.strings.substr(b"hello", 1, 3) == b"ell"
    assert hr.strings.substr(b"hello", -3, 2) == b"ll"
    with pytest.raises(hr.errors.InvalidArgumentError, match="substr"):
        hr.strings.substr(b"abc", 5, 1)
    assert hr.strings.join([objs([b"a", b"b"]), b"x"], separator="/").tolist() == [b"a/x", b"b/x"]
    ragged = hr.strings.split(objs(WORDS))
    assert isinstance(ragged, hr.RaggedTensor)
    assert ragged.to_list() == [w.split() for w in WORDS]
    assert hr.strings.split(b"a,,b", sep=",").tolist() == [b"a", b"", b"b"]


@pytest.mark.parametrize("sep", [None, b",", b"ab"])
def test_traced_split_equals_eager_split(sep):
    texts = [b"", b"a", b" a  b ", b"a,,b", b"abab", b"x ab,y", b",", b"  "]
    eager = [hr.strings.split(t, sep=sep).tolist() for t in texts]
    per_element = hr.Dataset.from_tensor_slices(texts).map(lambda t: hr.strings.split(t, sep=sep))
    assert "(traced" in repr(per_element)
    assert [x.tolist() for x in per_element] == eager
    batched = (
        hr.Dataset.from_tensor_slices(texts).batch(3).map(lambda t: hr.strings.split(t, sep=sep))
    )
    assert batched.element_spec == hr.RaggedTensorSpec((None, None), hr.string, 1)
    rows = [row for b in batched for row in b.to_list()]
    assert rows == eager
    # and back to one row per string
    assert [x.tolist() for x in batched.unbatch()] == eager


def test_to_number_and_regex():
    assert hr.strings.to_number(objs([b"1.5", b" -2 "])).tolist() == [1.5, -2.0]
    assert hr.strings.to_number(b"42", hr.int64) == 42
    with pytest.raises(hr.errors.InvalidArgumentError, match='"abc"'):
        hr.strings.to_number(b"abc")
    assert hr.strings.regex_full_match(objs([b"ab", b"abc"]), "a.").tolist() == [True, False]
    with pytest.raises(hr.errors.InvalidArgumentError, match="regex"):
        hr.strings.regex_full_match(b"a", "a)(")


def test_traced_string_pipeline_matches_eager():
    ds = hr.Dataset.from_tensor_slices(objs(WORDS)).map(
        lambda s: (hr.strings.upper(s), hr.strings.length(s), hr.strings.join([s, s], "+"))
    )
    assert "(traced" in repr(ds)
    for word, (up, n, joined) in zip(WORDS, ds, strict=True):
        assert (up, n, joined) == (word.upper(), len(word), word + b"+" + word)


def test_string_ops_need_strings_when_traced():
    with pytest.raises(hr.errors.InvalidArgumentError, match="length: needs a string"):
        hr.Dataset.range(3).map(lambda x: hr.strings.length(x))


def test_read_file_and_decode_raw(tmp_path):
    data = np.arange(6, dtype=np.int32)
    paths = []
    for i in range(3):
        p = tmp_path / f"f{i}.bin"
        (data * i).tofile(p)
        paths.append(str(p))
    paths.append(str(tmp_path / "missing.bin"))
    ds = hr.Dataset.from_tensor_slices(paths).map(
        lambda p: hr.io.decode_raw(hr.io.read_file(p), hr.int32)
    )
    assert "(traced" in repr(ds)
    assert ds.element_spec == hr.TensorSpec((None,), hr.int32)
    it = iter(ds)
    for i in range(3):
        np.testing.assert_array_equal(next(it), data * i)
    with pytest.raises(hr.errors.NotFoundError, match="missing.bin"):
        next(it)


def test_decode_raw_eager_rules():
    big = hr.io.decode_raw(b"\x00\x01\x00\x02", hr.uint16, little_endian=False)
    assert big.tolist() == [1, 2]
    assert hr.io.decode_raw(objs([b"\x01", b"\x02\x03"]), hr.uint8, fixed_length=2).tolist() == [
        [1, 0],
        [2, 3],
    ]
    with pytest.raises(hr.errors.InvalidArgumentError, match="decode_raw"):
        hr.io.decode_raw(b"\x01\x02\x03", hr.int16)
