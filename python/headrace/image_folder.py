"""``hr.data.image_folder``: a labelled image dataset from a directory tree, as keras'
``image_dataset_from_directory`` lays it out (one subfolder per class)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .dataset import Dataset, _flag, _seed, recorded

# What keras' image_dataset_from_directory accepts.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


class ImageFolder(Dataset):
    """``(path, label)`` pairs; ``class_names`` are the subfolders' names, sorted, and a
    label is its class's index there."""

    class_names: list[str]

    def __init__(self, native: object, class_names: list[str]) -> None:
        super().__init__(native)
        self.class_names = class_names


@recorded
def image_folder(
    root: str | os.PathLike[str], shuffle: bool = True, seed: int | None = None
) -> ImageFolder:
    """The images under ``root``, one subfolder per class, as ``(path, label)`` pairs
    (bytes path, int64 label): classes are the subfolders' names in sorted order, as keras'
    ``image_dataset_from_directory`` orders them, and files are found recursively by their
    extension (.bmp, .gif, .jpeg, .jpg, .png, any case). With ``shuffle`` (the default) the
    pairs come in a new order each epoch, the same orders for the same ``seed``; otherwise
    class by class, files sorted. No class folder, or no image, raises ``ValueError``.
    """
    base = Path(root)
    if not base.is_dir():
        raise ValueError(f"image_folder: {base} is not a directory")
    classes = sorted(p.name for p in base.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"image_folder: {base} has no class subfolders")
    paths: list[bytes] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        found = sorted(
            p
            for p in (base / name).rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        paths.extend(os.fsencode(p) for p in found)
        labels.extend([label] * len(found))
    if not paths:
        raise ValueError(f"image_folder: no images ({', '.join(IMAGE_EXTENSIONS)}) under {base}")
    ds = Dataset.from_tensor_slices(
        (np.array(paths, dtype=object), np.array(labels, dtype=np.int64))
    )
    if _flag("shuffle", shuffle):
        ds = ds.shuffle(len(paths), seed=_seed(seed), reshuffle_each_iteration=True)
    return ImageFolder(ds._native, classes)
