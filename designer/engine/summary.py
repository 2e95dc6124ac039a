"""The layer table of a design, as `model.summary()` prints it, from inference results."""

from __future__ import annotations

from designer.engine.analysis import Analysis
from designer.engine.inference import format_shape
from designer.graph.model import ModelGraph

_COLUMNS = ("Layer (type)", "Output Shape", "Param #", "Connected to")


def summary_rows(graph: ModelGraph, analysis: Analysis) -> list[tuple[str, str, str, str]]:
    """One row per node in topological order: name (type), output shape(s), params, sources."""
    results = analysis.results
    rows = []
    for node_id in graph.topological_order():
        node, result = graph.nodes[node_id], results.get(node_id)
        shapes = (
            ", ".join(format_shape(o.shape) for o in result.outputs) if result and result.outputs else "?"
        )
        count = f"{result.params:,}" if result else "?"
        if result is not None and result.shared:
            count = f"0 (shares {graph.nodes[node.shares].name})"  # type: ignore[index]
        sources = ", ".join(graph.nodes[e.source].name for e in graph.input_edges(node_id)) or "-"
        rows.append((f"{node.name} ({node.type})", shapes, count, sources))
    return rows


def summary_table(graph: ModelGraph, analysis: Analysis) -> str:
    rows = summary_rows(graph, analysis)
    widths = [max(len(r[i]) for r in [_COLUMNS, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    text = [f'Model: "{graph.name}"', line, _format_row(_COLUMNS, widths), line]
    text += [_format_row(r, widths) for r in rows]
    trainable, frozen = analysis.totals()
    text += [
        line,
        f" Total params: {trainable + frozen:,} ({_size(trainable + frozen)})",
        f" Trainable params: {trainable:,} ({_size(trainable)})",
        f" Non-trainable params: {frozen:,} ({_size(frozen)})",
    ]
    return "\n".join(text)


def _format_row(row: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()


def _size(count: int, bytes_per_param: int = 4) -> str:
    size = float(count * bytes_per_param)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"
