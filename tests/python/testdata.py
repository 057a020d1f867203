"""Where TensorFlow's reference vectors are: $HEADRACE_TESTDATA, else ../shared/testdata
beside the checkout, else the workplace's copy."""

import os
from pathlib import Path

_CANDIDATES = [
    os.environ.get("HEADRACE_TESTDATA", ""),
    str(Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata"),
    "/work/shared/testdata",
]


def reference_dir(kind: str) -> Path:
    """The reference directory ``kind`` (e.g. ``tfrecord``)."""
    return next(
        (Path(d) / kind for d in _CANDIDATES if d and (Path(d) / kind).is_dir()),
        Path(_CANDIDATES[1]) / kind,
    )
