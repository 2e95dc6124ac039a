"""Design rules: graphs Keras accepts but that are almost always a mistake.

They run after inference on the whole graph (they look downstream), so they stay
out of the per-node inference cache.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from designer.engine.results import NodeResult, TensorSpec
from designer.graph.model import ModelGraph, Node
from designer.graph.validation import Diagnostic, Fix

_FEATURE_MAP_RANK = 4  # (batch, height, width, channels) and above


def design_rules(graph: ModelGraph, results: Mapping[str, NodeResult]) -> Iterator[Diagnostic]:
    for node in graph:
        yield from _dense_on_feature_map(graph, node, results)


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
