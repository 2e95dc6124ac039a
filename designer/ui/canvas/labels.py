"""The words and numbers the canvas shows: short parameter summaries, counts, shapes, tooltips.

Plain functions of the model, the catalog and the engine's results; no Qt, so
they are easy to test and the items stay about painting.
"""

from __future__ import annotations

import json
from typing import Any

from designer.catalog.spec import Catalog, LayerSpec
from designer.engine.results import NodeResult, format_shape
from designer.graph.model import Edge, Node
from designer.graph.validation import Diagnostic

TIMES = "\u00d7"  # the multiplication sign of 3x3
NOT_YET = "\u2013"  # an en dash: no answer yet
PENDING = "\u2026"  # an ellipsis: the engine has not sent this edge's shape yet

SUMMARY_CACHE_SIZE = 4096
_SUMMARIES: dict[tuple[int, str, str], str] = {}  # many nodes share their type and params

SHORT_NAMES = {
    "kernel_size": "kernel",
    "strides": "stride",
    "pool_size": "pool",
    "activation": "act",
    "dilation_rate": "dilation",
    "padding": "pad",
    "use_bias": "bias",
}


def short_value(value: Any) -> str:
    """A parameter value in a few characters: [3, 3] -> 3 by 3, 0.25 -> 0.25, a layer -> its class."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(item, int) and not isinstance(item, bool) for item in value):
            return TIMES.join(str(item) for item in value)
        return "(" + ", ".join(short_value(item) for item in value) + ")"
    if isinstance(value, dict):
        return str(value.get("class_name", "{…}"))
    return "None" if value is None else str(value)


def parameter_summary(node: Node, spec: LayerSpec | None, owner: Node | None = None) -> str:
    """The node's non-default parameters, shortest form first ("filters 16 · kernel 3 by 3")."""
    if node.shares is not None:
        return f"shares {owner.name}" if owner is not None else "shared layer"
    key = (id(spec), node.type, json.dumps(node.params, sort_keys=True, default=str))
    summary = _SUMMARIES.get(key)
    if summary is None:
        if len(_SUMMARIES) > SUMMARY_CACHE_SIZE:
            _SUMMARIES.clear()
        summary = _SUMMARIES[key] = _summary(node, spec)
    return summary


def _summary(node: Node, spec: LayerSpec | None) -> str:
    params = spec.non_default_params(node.params) if spec is not None else dict(node.params)
    if node.is_input:
        params = {key: value for key, value in params.items() if key != "dtype" or value != "float32"}
    parts = [f"{SHORT_NAMES.get(name, name)} {short_value(value)}" for name, value in params.items()]
    return " · ".join(parts)


def count_text(result: NodeResult | None) -> str:
    """ "1,234 params", "no params", or a dash while the engine has not answered."""
    if result is None or (not result.outputs and not result.diagnostics):
        return NOT_YET
    if result.params == 0:
        return "no params"
    return f"{result.params:,} params"


def block_count_text(results: list[NodeResult | None]) -> str:
    """The parameter total of a block's members ("1,234 params"), a dash until every member is known."""
    if not results or any(r is None or (not r.outputs and not r.diagnostics) for r in results):
        return NOT_YET
    total = sum(r.params for r in results if r is not None)
    return "no params" if total == 0 else f"{total:,} params"


def edge_label(edge: Edge, results: dict[str, NodeResult]) -> str:
    """The inferred shape of the tensor an edge carries: `PENDING` until the engine has sent
    results for its source, "" when they hold no shape for it."""
    result = results.get(edge.source)
    if result is None:
        return PENDING
    if edge.source_port >= len(result.outputs):
        return ""
    return format_shape(result.outputs[edge.source_port].shape)


def diagnostic_tooltip(diagnostics: list[Diagnostic]) -> str:
    """Each finding's message and hint, as rich text for a tooltip."""
    parts = []
    for diagnostic in diagnostics:
        text = f"<b>{diagnostic.severity.capitalize()}:</b> {_escape(diagnostic.message)}"
        if diagnostic.hint:
            text += f"<br><i>Hint:</i> {_escape(diagnostic.hint)}"
        parts.append(text)
    return "<br><br>".join(parts)


def node_tooltip(node: Node, spec: LayerSpec | None) -> str:
    summary = spec.summary if spec is not None and spec.summary else ""
    return f"<b>{_escape(node.name)}</b> ({_escape(node.type)})" + (
        f"<br>{_escape(summary)}" if summary else ""
    )


def category_of(node: Node, catalog: Catalog) -> str:
    if node.is_input:
        return "input"
    spec = catalog.get(node.type)
    return spec.category if spec is not None else ""


def input_port_names(node: Node, count: int) -> list[str]:
    """The names of the ports shown: the fixed ones, or inputs[0], inputs[1]... for variadic nodes."""
    if node.ports.variadic:
        return [
            f"{node.ports.inputs[0] if node.ports.inputs else 'inputs'}[{index}]" for index in range(count)
        ]
    return list(node.ports.input_names()[:count])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
