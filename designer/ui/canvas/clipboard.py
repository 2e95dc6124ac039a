"""Copy and paste of nodes: a selection as JSON, and fresh nodes (new ids, unique names) from it.

The clipboard holds `{"nodes": [...], "edges": [...], "groups": [...]}` under
the mime type `application/x-designer-nodes` (and as plain text, so it can be
pasted into a text editor and back). Pasting makes new nodes with new ids and
names that do not clash, keeps the edges among them, and shifts them by an
offset. A group copied whole comes back as a new instance of its block: a free
instance name, its members named after it, the same block type.
"""

from __future__ import annotations

import copy
import json
from typing import Any, NamedTuple

from PySide6.QtCore import QMimeData

from designer.catalog.spec import Catalog
from designer.graph.groups import local_name
from designer.graph.model import Edge, Group, ModelGraph, Node

NODES_MIME = "application/x-designer-nodes"


class Fresh(NamedTuple):
    """What a paste adds: new nodes, the edges among them, and new groups of them."""

    nodes: list[Node]
    edges: list[Edge]
    groups: list[Group]


def selection_data(graph: ModelGraph, node_ids: list[str]) -> dict[str, Any]:
    """The chosen nodes, the edges among them and the groups wholly among them, as JSON data."""
    chosen = set(node_ids)
    nodes = [_node_data(graph.node(node_id)) for node_id in graph.nodes if node_id in chosen]
    edges = [
        {"source": e.source, "source_port": e.source_port, "target": e.target, "target_port": e.target_port}
        for e in graph.edges
        if e.source in chosen and e.target in chosen
    ]
    groups = [
        {"id": g.id, "name": g.name, "block": g.block, "nodes": list(g.nodes), "shares": g.shares}
        for g in graph.groups.values()
        if chosen.issuperset(g.nodes)
    ]
    return {"nodes": nodes, "edges": edges, "groups": groups}


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
) -> Fresh:
    """New nodes (new ids, unique names, shifted), their edges and their groups from clipboard data.

    Nodes of unknown layer types and edges to them are left out, and so are
    groups that lost a member that way.
    """
    ids: dict[str, str] = {}
    taken = {node.name for node in graph.nodes.values()} | {group.name for group in graph.groups.values()}
    groups, bases = _group_names(graph, data, taken)
    nodes = []
    for item in data["nodes"]:
        node = _fresh_node(graph, catalog, item, offset, taken, bases.get(str(item.get("id"))))
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
    return Fresh(nodes, edges, _fresh_groups(graph, groups, ids))


def _group_names(
    graph: ModelGraph, data: dict[str, Any], taken: set[str]
) -> tuple[list[tuple[dict[str, Any], str]], dict[str, str]]:
    """Each well-formed group of the data with its new instance name, and the base name of
    each member: the instance name and its name inside the block ("encoder_1_hidden")."""
    names = {
        str(node.get("id")): str(node.get("name", "")) for node in data["nodes"] if isinstance(node, dict)
    }
    groups, bases = [], {}
    listed = data.get("groups")
    for item in listed if isinstance(listed, list) else []:
        try:
            old = Group(
                str(item["id"]), str(item["name"]), tuple(str(n) for n in item["nodes"]), str(item["block"])
            )
        except (KeyError, TypeError):
            continue
        instance = _unique_name(graph, old.name, taken)
        taken.add(instance)
        groups.append((item, instance))
        for node_id in old.nodes:
            bases[node_id] = f"{instance}_{local_name(old, names.get(node_id, ''))}"
    return groups, bases


def _fresh_groups(
    graph: ModelGraph, groups: list[tuple[dict[str, Any], str]], ids: dict[str, str]
) -> list[Group]:
    """New groups of the pasted members, owners before the groups sharing their weights: a copy
    of a sharing group shares the pasted owner, else the design's own, else nothing."""
    complete = [(item, name) for item, name in groups if all(str(n) in ids for n in item["nodes"])]
    new_ids = {str(item["id"]): graph.new_group_id() for item, _ in complete}
    fresh = []
    for item, instance in sorted(complete, key=lambda pair: str(pair[0].get("shares")) in new_ids):
        shares = item.get("shares")
        shares = new_ids.get(str(shares), shares if shares in graph.groups else None)
        members = tuple(ids[str(n)] for n in item["nodes"])
        fresh.append(Group(new_ids[str(item["id"])], instance, members, str(item["block"]), shares))
    return fresh


def _fresh_node(
    graph: ModelGraph,
    catalog: Catalog,
    item: dict[str, Any],
    offset: tuple[float, float],
    taken: set[str],
    base: str | None = None,
) -> Node | None:
    try:
        ports = catalog.ports_of(str(item["type"]))
        x, y = (float(value) for value in item.get("position", (0.0, 0.0)))
        name = _unique_name(graph, base or str(item.get("name") or item["type"]), taken)
    except (KeyError, TypeError, ValueError):
        return None
    if ports is None:
        return None
    taken.add(name)
    params = item.get("params")
    params = copy.deepcopy(params) if isinstance(params, dict) else {}
    shares = item.get("shares") if isinstance(item.get("shares"), str) else None
    position = (x + offset[0], y + offset[1])
    return Node(graph.new_id(), str(item["type"]), name, params, position, ports.for_params(params), shares)


def _unique_name(graph: ModelGraph, base: str, taken: set[str]) -> str:
    """A name not used in the graph nor among the nodes of this paste."""
    name = graph.unique_name(base)
    stem, index = name, 1
    while name in taken:
        name = f"{stem}_{index}"
        index += 1
    return name
