"""Shapes as people read them: one format for the canvas, the summary, the data check and the layer editor."""

from __future__ import annotations

from designer.graph.shapes import format_shape


def test_a_shape_reads_as_a_tuple_with_none_for_unknown_dimensions() -> None:
    assert format_shape((None, 8, 8, 1)) == "(None, 8, 8, 1)"
    assert format_shape([None, 16]) == "(None, 16)"
    assert format_shape(()) == "()"


def test_a_one_axis_shape_keeps_its_comma() -> None:
    assert format_shape((None,)) == "(None,)"
    assert format_shape([3]) == "(3,)"
