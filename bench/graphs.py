"""Large designs for the benchmarks, built through the graph API."""

from __future__ import annotations

import itertools

from designer.catalog.spec import Catalog
from designer.graph.model import Edge, ModelGraph, Node


def residual_cnn(catalog: Catalog, node_count: int = 1000, filters: int = 16) -> ModelGraph:
    """A deep residual CNN of about `node_count` nodes: a stem, then blocks of
    conv-BN-ReLU-conv-BN-Add-ReLU (7 nodes each), then pooling and a classifier."""
    graph = ModelGraph("residual_cnn")

    def add(type_key: str, params: dict | None = None) -> str:
        node = Node(graph.new_id(), type_key, graph.unique_name(type_key), params or {})
        node.ports = catalog[type_key].ports
        return graph.add_node(node).id

    def chain(*ids: str) -> str:
        for source, target in itertools.pairwise(ids):
            graph.connect(Edge(source, 0, target, 0))
        return ids[-1]

    conv = {"filters": filters, "kernel_size": [3, 3], "padding": "same"}
    current = chain(add("Input", {"shape": [16, 16, 3]}), add("Conv2D", conv), add("ReLU"))
    while len(graph) + 7 + 3 <= node_count:
        body = chain(current, add("Conv2D", conv), add("BatchNormalization"), add("ReLU"))
        body = chain(body, add("Conv2D", conv), add("BatchNormalization"))
        merge = add("Add")
        graph.connect(Edge(body, 0, merge, 0))
        graph.connect(Edge(current, 0, merge, 1))
        current = chain(merge, add("ReLU"))
    head = chain(current, add("GlobalAveragePooling2D"), add("Dense", {"units": 10, "activation": "softmax"}))
    graph.mark_output(head, 0, "label")
    return graph


def middle_node(graph: ModelGraph, type_key: str) -> str:
    """The id of the `type_key` node nearest the middle of the topological order."""
    order = graph.topological_order()
    candidates = [n for n in order if graph.nodes[n].type == type_key]
    return min(candidates, key=lambda n: abs(order.index(n) - len(order) // 2))
