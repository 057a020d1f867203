"""``Options``: pipeline-wide settings with ``tf.data.Options``' attribute style."""

from __future__ import annotations

from typing import Any

_FIELDS: dict[str, type] = {
    "deterministic": bool,
    "approximate_image_ops": bool,
    "pipeline_process": bool,
}


class Options:
    """Pipeline-wide settings, as ``tf.data.Options``.

    Set attributes (``o.deterministic = False``) or pass them as keyword arguments
    (``hr.Options(deterministic=False)``), then apply with ``ds.with_options(o)``. An unset
    attribute is ``None``: the engine's default applies.

    Attributes:
        deterministic: whether parallel stages keep element order when their own
            ``deterministic`` argument is not given (default: True).
        approximate_image_ops: whether traced ``map`` functions may trade exactness for
            speed in image ops (default: False). A JPEG decode whose result is only resized
            with ``antialias=True`` (bilinear) to a quarter of its size or less decodes at a
            reduced DCT scale (1/2, 1/4 or 1/8) that keeps twice the target size, then
            resizes from there. The pixels differ from the exact path's by 39 to 44 dB PSNR
            on photographs (docs/images.md).
        pipeline_process: whether iterating runs the whole pipeline in one child process
            (default: False), which hands each element to this process through shared
            memory: numpy arrays of 64 KiB or more arrive as read-write views of a
            shared-memory segment, without a copy, so the pipeline's threads and Python
            functions never take this process's GIL from the training loop. The dataset
            is pickled (with cloudpickle) when iterating starts, so its functions must be
            picklable. Errors are raised at their element as usual; a child that dies
            gives ``hr.errors.WorkerError`` and ends the iteration. The child and its
            segments end with the iterator (closed, dropped, Ctrl-C, interpreter exit).
    """

    __slots__ = tuple(_FIELDS)

    def __init__(self, **kwargs: Any) -> None:
        for name in _FIELDS:
            object.__setattr__(self, name, None)
        for name, value in kwargs.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _FIELDS:
            raise AttributeError(
                f"Options has no attribute {name!r}; known: {', '.join(sorted(_FIELDS))}"
            )
        if value is not None and not isinstance(value, _FIELDS[name]):
            raise TypeError(
                f"Options.{name} must be {_FIELDS[name].__name__} or None, "
                f"got {type(value).__name__}"
            )
        object.__setattr__(self, name, value)

    def _set_fields(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in _FIELDS if getattr(self, n) is not None}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Options) and self._set_fields() == other._set_fields()

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._set_fields().items())
        return f"Options({fields})"
