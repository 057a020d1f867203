"""``hr.ragged``: building ragged values, as ``tf.ragged``."""

from __future__ import annotations

from .composite import RaggedTensor, ragged_constant

constant = ragged_constant

__all__ = ["RaggedTensor", "constant"]
