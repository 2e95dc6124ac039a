"""Graph -> live `keras.Model`, by the same traversal the generated functional code follows.

Every layer is named after its node (a shared layer after the node that owns
it), so weights can be matched by name between this model and the models the
generated code builds. Several inputs or outputs become dicts keyed by name.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import keras

from designer.catalog.keras_layers import construct
from designer.catalog.spec import Catalog
from designer.engine.inference import call_layer
from designer.graph.errors import GraphError
from designer.graph.model import ModelGraph, Node


class BuildError(GraphError):
    """The graph cannot be built as a Keras model; the message names the node."""


def build_model(graph: ModelGraph, catalog: Catalog) -> keras.Model:
    """A keras.Model (functional) with the graph's inputs, layers and outputs."""
    if not graph.outputs:
        raise BuildError("The model has no output: mark a node as a model output.")
    tensors: dict[str, list[Any]] = {}
    layers: dict[str, keras.layers.Layer] = {}
    for node_id in graph.topological_order():
        node = graph.nodes[node_id]
        tensors[node_id] = _call_node(graph, catalog, node, tensors, layers)
    inputs = {n.name: tensors[n.id][0] for n in graph.input_nodes()}
    outputs = {o.name: tensors[o.node][o.port] for o in graph.outputs}
    with deep_recursion(len(graph)):
        return keras.Model(inputs=_single_or_dict(inputs), outputs=_single_or_dict(outputs), name=graph.name)


@contextlib.contextmanager
def deep_recursion(node_count: int) -> Iterator[None]:
    """Keras walks a functional graph recursively: deep models need a higher limit."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, 1000 + 20 * node_count))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _call_node(
    graph: ModelGraph,
    catalog: Catalog,
    node: Node,
    tensors: dict[str, list[Any]],
    layers: dict[str, keras.layers.Layer],
) -> list[Any]:
    spec = catalog[node.type]
    if node.is_input:
        shape = tuple(node.params["shape"])
        dtype = node.params.get("dtype") or "float32"
        return [
            keras.Input(shape=shape, dtype=dtype, name=node.name, sparse=node.params.get("sparse", False))
        ]
    owner = graph.layer_owner(node.id)
    if owner.id not in layers:
        layers[owner.id] = construct(spec, owner.params, name=owner.name)
    arguments = {e.target_port: tensors[e.source][e.source_port] for e in graph.input_edges(node.id)}
    try:
        result = call_layer(layers[owner.id], spec, arguments, owner.params)
    except Exception as error:  # re-raised with the node's name
        raise BuildError(f"{node.name} ({node.type}): {error}") from error
    return list(keras.tree.flatten(result))


def _single_or_dict(tensors: dict[str, Any]) -> Any:
    return next(iter(tensors.values())) if len(tensors) == 1 else tensors
