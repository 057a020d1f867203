"""The JSON layout of the reference files the `make_*.py` scripts beside this one write: one
case a line, so that a regenerated file diffs well."""

import json
import pathlib

import tensorflow as tf


def write_cases(
    path: pathlib.Path, cases: list, before: dict | None = None, after: dict | None = None
) -> None:
    """Writes `{"tensorflow_version", *before, "cases", *after}` to `path`, `cases` one a
    line and the other fields as `json.dumps(..., indent=2)` gives them."""
    fields = [f' "tensorflow_version": {json.dumps(tf.__version__)}']
    fields += [f' "{k}": {json.dumps(v, indent=2)}' for k, v in (before or {}).items()]
    lines = ",\n  ".join(json.dumps(case) for case in cases)
    fields.append(f' "cases": [\n  {lines}\n ]')
    fields += [f' "{k}": {json.dumps(v, indent=2)}' for k, v in (after or {}).items()]
    text = "{\n" + ",\n".join(fields) + "\n}\n"
    json.loads(text)
    path.write_text(text)
