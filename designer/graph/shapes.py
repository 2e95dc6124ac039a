"""Tensor shapes as plain data, and as people read them."""

from __future__ import annotations

from collections.abc import Sequence

Shape = tuple[int | None, ...]  # batch axis first, None where unknown


def format_shape(shape: Sequence[int | None]) -> str:
    """(None, 8, 8, 1) as people read it; a 1-tuple keeps its comma."""
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"
