"""Design rules: graphs Keras accepts but that are almost always a mistake.

They run after inference on the whole graph (they look downstream, or add up the
whole model), so they stay out of the per-node inference cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from designer.engine.results import NodeResult, TensorSpec
from designer.graph.model import ModelGraph, Node
from designer.graph.validation import Diagnostic, Fix

_FEATURE_MAP_RANK = 4  # (batch, height, width, channels) and above
WEIGHT_BYTES = {"float64": 8, "float16": 2, "bfloat16": 2}  # by a layer's dtype; else float32's 4
DEFAULT_WEIGHT_BYTES = 4


def design_rules(
    graph: ModelGraph, results: Mapping[str, NodeResult], memory_bytes: int | None = None
) -> Iterator[Diagnostic]:
    """Every rule's findings; `memory_bytes` is the memory the weights must fit in (by default
    this machine's physical memory)."""
    for node in graph:
        yield from _dense_on_feature_map(graph, node, results)
    yield from _weights_beyond_memory(graph, results, memory_bytes or machine_memory())


def machine_memory() -> int | None:
    """This machine's physical memory in bytes; None where the system does not say (Windows)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def _weights_beyond_memory(
    graph: ModelGraph, results: Mapping[str, NodeResult], memory_bytes: int | None
) -> list[Diagnostic]:
    """A design whose weights alone outgrow the memory cannot be built: an error on the node
    holding the most of them."""
    sizes = {
        node_id: result.params * _weight_bytes(graph.nodes[node_id])
        for node_id, result in results.items()
        if node_id in graph.nodes and not result.shared
    }
    total = sum(sizes.values())
    if memory_bytes is None or not sizes or total <= memory_bytes:
        return []
    node = graph.nodes[max(sizes, key=lambda node_id: sizes[node_id])]
    message = _memory_message(node, results[node.id].params, sizes[node.id], total, memory_bytes)
    hint = f"Make {node.name} smaller (fewer units, filters or inputs) or reduce its input first."
    return [Diagnostic("error", message, hint, node=node.id, code="weights-beyond-memory")]


def _memory_message(node: Node, params: int, size: int, total: int, memory_bytes: int) -> str:
    """Names the node's own size when it alone is too big, else the model's in all."""
    counted = f"{params:,} parameters"
    if size > memory_bytes:
        what = f"{node.name} ({node.type}) would need {byte_size(size)} of weights ({counted})"
    else:
        what = f"the model would need {byte_size(total)} of weights, the most for {node.name} ({counted})"
    return f"{what}; this machine has {byte_size(memory_bytes)}."


def _weight_bytes(node: Node) -> int:
    dtype = node.params.get("dtype")
    return WEIGHT_BYTES.get(dtype, DEFAULT_WEIGHT_BYTES) if isinstance(dtype, str) else DEFAULT_WEIGHT_BYTES


def byte_size(count: int) -> str:
    """'4.0 TB', '24 GB', '512 B': decimal units, one decimal below 10."""
    size, unit = float(count), "B"
    for unit in ("B", "KB", "MB", "GB", "TB", "PB", "EB"):
        if size < 1000 or unit == "EB":
            break
        size /= 1000
    if unit == "B":
        return f"{count} B"
    return f"{size:.1f} {unit}" if size < 10 else f"{size:,.0f} {unit}"


def _dense_on_feature_map(
    graph: ModelGraph, node: Node, results: Mapping[str, NodeResult]
) -> list[Diagnostic]:
    """Dense fed a feature map applies to every position separately. That is meant (a
    pointwise Dense in ConvNeXt) when a later layer reduces the map; it is a mistake
    when the model outputs downstream are still feature maps, or there are none yet."""
    edges = graph.input_edges(node.id)
    if graph.layer_owner(node.id).type != "Dense" or not edges:
        return []
    fed = _tensor(results, edges[0].source, edges[0].source_port)
    if fed is None or len(fed.shape) < _FEATURE_MAP_RANK or _reduced_downstream(graph, node.id, results):
        return []
    message = (
        f"{node.name} (Dense) expects a rank-2 input (batch, features), got {fed} from "
        f"{graph.nodes[edges[0].source].name}: it would apply to every position of the feature map "
        "separately."
    )
    hint = f"Insert Flatten or GlobalAveragePooling{len(fed.shape) - 2}D before {node.name}."
    fix = Fix("Flatten", edges[0])
    return [
        Diagnostic("error", message, hint, node=node.id, edge=edges[0], code="dense-feature-map", fix=fix)
    ]


def _tensor(results: Mapping[str, NodeResult], node_id: str, port: int) -> TensorSpec | None:
    result = results.get(node_id)
    if result is None or port >= len(result.outputs):
        return None
    return result.outputs[port]


def _reduced_downstream(graph: ModelGraph, node_id: str, results: Mapping[str, NodeResult]) -> bool:
    """Some model output downstream of the node is no longer a feature map."""
    reachable = graph.downstream([node_id])
    outputs = [_tensor(results, o.node, o.port) for o in graph.outputs if o.node in reachable]
    return any(t is not None and len(t.shape) < _FEATURE_MAP_RANK for t in outputs)
