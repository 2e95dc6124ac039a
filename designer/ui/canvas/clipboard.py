"""Copy and paste of nodes: a selection as JSON, and fresh nodes (new ids, unique names) from it.

The clipboard holds `{"nodes": [...], "edges": [...]}` under the mime type
`application/x-designer-nodes` (and as plain text, so it can be pasted into a
text editor and back). Pasting makes new nodes with new ids and names that do
not clash, keeps the edges among them, and shifts them by an offset.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from PySide6.QtCore import QMimeData

from designer.catalog.spec import Catalog
from designer.graph.model import Edge, ModelGraph, Node

NODES_MIME = "application/x-designer-nodes"


def selection_data(graph: ModelGraph, node_ids: list[str]) -> dict[str, Any]:
    """The chosen nodes and the edges among them, as JSON data."""
    chosen = set(node_ids)
    nodes = [_node_data(graph.node(node_id)) for node_id in graph.nodes if node_id in chosen]
    edges = [
        {"source": e.source, "source_port": e.source_port, "target": e.target, "target_port": e.target_port}
        for e in graph.edges
        if e.source in chosen and e.target in chosen
    ]
    return {"nodes": nodes, "edges": edges}


def _node_data(node: Node) -> dict[str, Any]:
    data = {
        "id": node.id,
        "type": node.type,
        "name": node.name,
        "params": copy.deepcopy(node.params),
        "position": list(node.position),
    }
    if node.shares is not None:
        data["shares"] = node.shares
    return data


def to_mime(data: dict[str, Any]) -> QMimeData:
    text = json.dumps(data, indent=1)
    mime = QMimeData()
    mime.setData(NODES_MIME, text.encode("utf-8"))
    mime.setText(text)
    return mime


def from_mime(mime: QMimeData | None) -> dict[str, Any] | None:
    """The node data on the clipboard, or None when it holds something else."""
    if mime is None:
        return None
    if mime.hasFormat(NODES_MIME):
        text = bytes(mime.data(NODES_MIME).data()).decode("utf-8")
    elif mime.hasText():
        text = mime.text()
    else:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    valid = (
        isinstance(data, dict) and isinstance(data.get("nodes"), list) and isinstance(data.get("edges"), list)
    )
    return data if valid else None


def fresh_nodes(
    graph: ModelGraph, catalog: Catalog, data: dict[str, Any], offset: tuple[float, float]
) -> tuple[list[Node], list[Edge]]:
    """New nodes (new ids, unique names, shifted) and their edges from clipboard data.

    Nodes of unknown layer types and edges to them are left out.
    """
    ids: dict[str, str] = {}
    taken = {node.name for node in graph.nodes.values()}
    nodes = []
    for item in data["nodes"]:
        node = _fresh_node(graph, catalog, item, offset, taken)
        if node is not None:
            ids[str(item["id"])] = node.id
            nodes.append(node)
    for node in nodes:
        if node.shares is not None:
            node.shares = ids.get(node.shares, node.shares if node.shares in graph.nodes else None)
    edges = [
        Edge(ids[e["source"]], int(e["source_port"]), ids[e["target"]], int(e["target_port"]))
        for e in data["edges"]
        if e.get("source") in ids and e.get("target") in ids
    ]
    return nodes, edges


def _fresh_node(
    graph: ModelGraph, catalog: Catalog, item: dict[str, Any], offset: tuple[float, float], taken: set[str]
) -> Node | None:
    try:
        ports = catalog.ports_of(str(item["type"]))
        x, y = (float(value) for value in item.get("position", (0.0, 0.0)))
        name = _unique_name(graph, str(item.get("name") or item["type"]), taken)
    except (KeyError, TypeError, ValueError):
        return None
    if ports is None:
        return None
    taken.add(name)
    params = copy.deepcopy(item.get("params")) if isinstance(item.get("params"), dict) else {}
    shares = item.get("shares") if isinstance(item.get("shares"), str) else None
    position = (x + offset[0], y + offset[1])
    return Node(graph.new_id(), str(item["type"]), name, params, position, ports, shares)


def _unique_name(graph: ModelGraph, base: str, taken: set[str]) -> str:
    """A name not used in the graph nor among the nodes of this paste."""
    name = graph.unique_name(base)
    stem, index = name, 1
    while name in taken:
        name = f"{stem}_{index}"
        index += 1
    return name
