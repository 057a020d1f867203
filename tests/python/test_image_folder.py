"""hr.data.image_folder: (path, label) pairs from one subfolder per class."""

import headrace as hr
import pytest


def make_tree(root):
    layout = {"dog": ["b.jpg", "a.PNG", "sub/c.jpeg"], "cat": ["z.png"], "bird": ["notes.txt"]}
    for cls, files in layout.items():
        for f in files:
            path = root / cls / f
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
    return root


def test_classes_sorted_and_files_found_recursively(tmp_path):
    root = make_tree(tmp_path)
    ds = hr.data.image_folder(root, shuffle=False)
    # keras orders classes by name; "bird" has no images but is still a class.
    assert ds.class_names == ["bird", "cat", "dog"]
    got = [(p.decode(), int(label)) for p, label in ds]
    assert got == [
        (str(root / "cat" / "z.png"), 1),
        (str(root / "dog" / "a.PNG"), 2),
        (str(root / "dog" / "b.jpg"), 2),
        (str(root / "dog" / "sub" / "c.jpeg"), 2),
    ]
    assert ds.element_spec == (hr.TensorSpec([], hr.string), hr.TensorSpec([], hr.int64))


def test_shuffled_each_epoch_reproducibly(tmp_path):
    for i in range(30):
        (tmp_path / f"c{i % 3}").mkdir(exist_ok=True)
        (tmp_path / f"c{i % 3}" / f"{i:02d}.jpg").write_bytes(b"x")
    ordered = list(hr.data.image_folder(tmp_path, shuffle=False))
    ds = hr.data.image_folder(tmp_path, seed=7)
    e1, e2 = list(ds), list(ds)
    key = lambda pairs: [(bytes(p), int(label)) for p, label in pairs]  # noqa: E731
    assert key(e1) != key(e2) and key(e1) != key(ordered)
    assert sorted(key(e1)) == sorted(key(ordered))
    again = hr.data.image_folder(tmp_path, seed=7)
    assert key(list(again)) == key(e1)


def test_bad_roots(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        hr.data.image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="no class subfolders"):
        hr.data.image_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        hr.data.image_folder(tmp_path)
