"""Blocks made of groups: grouping a selection, what deleting nodes does to groups, port
labels, and the block library.

A block in the library is a JSON file holding one group's subgraph: its nodes
(named without the instance prefix, placed relative to the block's top-left
corner), the edges among them and its ports. `instantiate_block` turns such
data into new nodes, edges and a `Group` for a design, which the UI pushes as
one undo step (AddNode..., Connect..., AddGroup); nothing here mutates a graph.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from designer.graph.errors import GroupError, ProjectError
from designer.graph.model import Edge, Group, ModelGraph, Node, is_valid_name
from designer.graph.project import PortsOf, _Reader, atomic_write_text, dumps

BLOCK_FORMAT_VERSION = 1
BLOCK_DIR_VARIABLE = "DESIGNER_BLOCK_DIR"
DEFAULT_BLOCK_DIR = "~/.local/share/keras-designer/blocks"
BLOCK_KEYS = frozenset({"format_version", "name", "block", "nodes", "edges", "inputs", "outputs"})
BLOCK_NODE_KEYS = frozenset({"id", "type", "name", "params", "position", "shares"})
PORT_KEYS = frozenset({"node", "port"})


# ------------------------------------------------------------------- grouping
def make_group(graph: ModelGraph, node_ids: list[str], name: str = "block") -> Group:
    """A new group of `node_ids` (in topological order) with a fresh id and a free
    name; raises the graph's GraphError when they cannot be grouped."""
    chosen = set(node_ids)
    missing = sorted(chosen - set(graph.nodes))
    if missing:
        raise GroupError(f"There is no node with id '{missing[0]}'.")
    members = tuple(node_id for node_id in graph.topological_order() if node_id in chosen)
    group = Group(graph.new_group_id(), graph.unique_name(name), members)
    graph.check_group(group)
    return group


def groups_without(graph: ModelGraph, node_ids: Iterable[str]) -> list[Group]:
    """The graph's groups once `node_ids` are deleted: those members leave, a group left
    empty goes, and a group sharing the weights of one that went or lost members stops
    sharing (their node counts would differ). The UI's delete sets these groups before
    the nodes go, so that undoing it restores the groups as they were."""
    doomed = set(node_ids)
    kept: dict[str, Group] = {}
    for group in graph.groups.values():
        members = tuple(node_id for node_id in group.nodes if node_id not in doomed)
        if members:
            kept[group.id] = group if members == group.nodes else dataclasses.replace(group, nodes=members)
    changed = {group_id for group_id, group in graph.groups.items() if kept.get(group_id) != group}
    return [
        dataclasses.replace(group, shares=None)
        if group.shares is not None and {group.shares, group.id} & changed
        else group
        for group in kept.values()
    ]


def local_name(group: Group, node_name: str) -> str:
    """A member's name inside its block: without the instance prefix ("encoder_dense" -> "dense")."""
    prefix = f"{group.name}_"
    rest = node_name.removeprefix(prefix)
    return rest if node_name.startswith(prefix) and is_valid_name(rest) else node_name


def group_position(graph: ModelGraph, group_id: str) -> tuple[float, float]:
    """Where a collapsed block is drawn: the centre of its members."""
    positions = [graph.nodes[node_id].position for node_id in graph.group(group_id).nodes]
    return (
        sum(x for x, _ in positions) / len(positions),
        sum(y for _, y in positions) / len(positions),
    )


def port_labels(graph: ModelGraph, group_id: str) -> tuple[list[str], list[str]]:
    """Labels of a block's input and output ports, in port order: a connected input
    is named after what feeds it, an open one after the member port; an output after
    its member (and port when the member has several). Members go by their names
    inside the block (`local_name`)."""
    group = graph.group(group_id)
    inputs, outputs = graph.boundary(group_id)
    return (
        [
            _tensor_label(graph, *block_input.source)
            if block_input.source
            else _input_label(graph, group, *block_input.consumers[0])
            for block_input in inputs
        ],
        [_tensor_label(graph, output.node, output.port, group) for output in outputs],
    )


def _tensor_label(graph: ModelGraph, node_id: str, port: int, group: Group | None = None) -> str:
    node = graph.nodes[node_id]
    name = local_name(group, node.name) if group is not None else node.name
    return name if len(node.ports.outputs) == 1 else f"{name}.{node.ports.outputs[port]}"


def _input_label(graph: ModelGraph, group: Group, node_id: str, port: int) -> str:
    node = graph.nodes[node_id]
    names = node.ports.input_names()
    return f"{local_name(group, node.name)}.{names[port] if port < len(names) else port}"


# -------------------------------------------------------------------- library
def block_dir() -> Path:
    """The block library folder: $DESIGNER_BLOCK_DIR, else ~/.local/share/keras-designer/blocks."""
    return Path(os.environ.get(BLOCK_DIR_VARIABLE) or DEFAULT_BLOCK_DIR).expanduser()


def library_blocks(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """The block files of the library, by name."""
    root = Path(folder) if folder is not None else block_dir()
    return sorted(root.glob("*.json")) if root.is_dir() else []


def block_path(name: str, folder: str | os.PathLike[str] | None = None) -> Path:
    return (Path(folder) if folder is not None else block_dir()) / f"{name}.json"


def block_to_dict(graph: ModelGraph, group_id: str) -> dict[str, Any]:
    """The block's data for the library: a shared instance is saved with its owner's params."""
    group = graph.group(group_id)
    local_ids = {node_id: f"n{index}" for index, node_id in enumerate(group.nodes, start=1)}
    left = min(graph.nodes[node_id].position[0] for node_id in group.nodes)
    top = min(graph.nodes[node_id].position[1] for node_id in group.nodes)
    inputs, outputs = graph.boundary(group_id)
    return {
        "format_version": BLOCK_FORMAT_VERSION,
        "name": group.name,
        "block": group.block,
        "nodes": [_node_data(graph, group, node_id, local_ids, (left, top)) for node_id in group.nodes],
        "edges": [
            {
                "source": local_ids[e.source],
                "source_port": e.source_port,
                "target": local_ids[e.target],
                "target_port": e.target_port,
            }
            for node_id in group.nodes
            for e in graph.input_edges(node_id)
            if e.source in local_ids
        ],
        "inputs": [
            [{"node": local_ids[node_id], "port": port} for node_id, port in block_input.consumers]
            for block_input in inputs
        ],
        "outputs": [{"node": local_ids[output.node], "port": output.port} for output in outputs],
    }


def _node_data(
    graph: ModelGraph, group: Group, node_id: str, local_ids: dict[str, str], corner: tuple[float, float]
) -> dict[str, Any]:
    node = graph.nodes[node_id]
    owner = graph.layer_owner(node_id)
    inside = owner.id in local_ids and owner.id != node_id
    data = {
        "id": local_ids[node_id],
        "type": node.type,
        "name": local_name(group, node.name),
        "params": {} if inside else copy.deepcopy(owner.params),
        "position": [node.position[0] - corner[0], node.position[1] - corner[1]],
    }
    if inside:
        data["shares"] = local_ids[owner.id]
    return data


def save_block(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Write block data atomically (the folder is made if needed); bad data is refused first."""
    check_block(data, os.fspath(path))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, dumps(data))


def load_block(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a block file; every problem is a ProjectError naming the file and the JSON path."""
    file = os.fspath(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(f"cannot read the block file: {error}", "$", file) from None
    except json.JSONDecodeError as error:
        message = f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise ProjectError(message, "$", file) from None
    check_block(data, file)
    return data


def check_block(data: Any, file: str | None = None) -> None:
    """Raise a ProjectError at the first problem of block data."""
    reader = _Reader(lambda _: None, file)
    reader.expect(data, dict, "$")
    reader.only_keys(data, BLOCK_KEYS, "$")
    version = reader.field(data, "format_version", int, "$")
    if version != BLOCK_FORMAT_VERSION:
        raise reader.fail(
            f"unsupported block format_version {version} (expected {BLOCK_FORMAT_VERSION})",
            "$.format_version",
        )
    for key in ("name", "block"):
        if not is_valid_name(reader.field(data, key, str, "$")):
            raise reader.fail(f"'{data[key]}' is not a Python identifier", f"$.{key}")
    ids = _check_nodes(reader, reader.field(data, "nodes", list, "$"))
    _check_edges(reader, reader.field(data, "edges", list, "$"), ids)
    for index, ports in enumerate(reader.field(data, "inputs", list, "$")):
        for position, port in enumerate(reader.expect(ports, list, f"$.inputs[{index}]")):
            _check_port(reader, port, ids, f"$.inputs[{index}][{position}]")
    for index, port in enumerate(reader.field(data, "outputs", list, "$")):
        _check_port(reader, port, ids, f"$.outputs[{index}]")


def _check_nodes(reader: _Reader, items: list[Any]) -> set[str]:
    if not items:
        raise reader.fail("a block needs at least one node", "$.nodes")
    ids: set[str] = set()
    names: set[str] = set()
    for index, item in enumerate(items):
        path = f"$.nodes[{index}]"
        reader.only_keys(reader.expect(item, dict, path), BLOCK_NODE_KEYS, path)
        node_id, name = reader.field(item, "id", str, path), reader.field(item, "name", str, path)
        if node_id in ids:
            raise reader.fail(f"duplicate node id '{node_id}'", f"{path}.id")
        if not is_valid_name(name) or name in names:
            raise reader.fail(f"'{name}' is not a valid, unique node name", f"{path}.name")
        reader.field(item, "type", str, path)
        reader.field(item, "params", dict, path)
        reader.read_position(item, path)
        ids.add(node_id)
        names.add(name)
    for index, item in enumerate(items):
        shares = reader.optional(item, "shares", str, f"$.nodes[{index}]", None)
        if shares is not None and shares not in ids:
            raise reader.fail(f"shares missing node '{shares}'", f"$.nodes[{index}].shares")
    return ids


def _check_edges(reader: _Reader, items: list[Any], ids: set[str]) -> None:
    for index, item in enumerate(items):
        path = f"$.edges[{index}]"
        reader.expect(item, dict, path)
        reader.only_keys(item, frozenset({"source", "source_port", "target", "target_port"}), path)
        for key in ("source", "target"):
            if reader.field(item, key, str, path) not in ids:
                raise reader.fail(f"edge of missing node '{item[key]}'", f"{path}.{key}")
        for key in ("source_port", "target_port"):
            if reader.field(item, key, int, path) < 0:
                raise reader.fail("a port index cannot be negative", f"{path}.{key}")


def _check_port(reader: _Reader, item: Any, ids: set[str], path: str) -> None:
    reader.only_keys(reader.expect(item, dict, path), PORT_KEYS, path)
    if reader.field(item, "node", str, path) not in ids:
        raise reader.fail(f"port of missing node '{item['node']}'", f"{path}.node")
    if reader.field(item, "port", int, path) < 0:
        raise reader.fail("a port index cannot be negative", f"{path}.port")


# -------------------------------------------------------------- instantiation
def instantiate_block(
    graph: ModelGraph,
    data: dict[str, Any],
    position: tuple[float, float],
    shared_with: str | None = None,
    *,
    ports_of: PortsOf,
    name: str | None = None,
) -> tuple[list[Node], list[Edge], Group]:
    """New nodes (fresh ids, names prefixed with the instance's), the edges among them
    and their group, for `graph`, with the block's top-left corner at `position`.

    With `shared_with` (the id of a group of the same block type) the instance
    reuses that group's weights: its nodes share the layers of their counterparts.
    Nothing is added to `graph`: push AddNode..., Connect..., AddGroup as one step.
    """
    check_block(data)
    owner = _sharing_owner(graph, data, shared_with)
    instance = graph.unique_name(name or data["name"])
    taken = {node.name for node in graph} | {group.name for group in graph.groups.values()} | {instance}
    ids = {item["id"]: graph.new_id() for item in data["nodes"]}
    nodes = [
        _new_node(
            graph, item, index, ids, owner, position, _claim(f"{instance}_{item['name']}", taken), ports_of
        )
        for index, item in enumerate(data["nodes"])
    ]
    edges = [
        Edge(ids[item["source"]], item["source_port"], ids[item["target"]], item["target_port"])
        for item in data["edges"]
    ]
    members = tuple(ids[item["id"]] for item in data["nodes"])
    block = owner.block if owner is not None else data["block"]
    group = Group(graph.new_group_id(), instance, members, block, None if owner is None else owner.id)
    return nodes, edges, group


def _sharing_owner(graph: ModelGraph, data: dict[str, Any], shared_with: str | None) -> Group | None:
    """The group whose weights a new instance reuses (the owner of `shared_with`), checked."""
    if shared_with is None:
        return None
    owner = graph.group(shared_with)
    owner = graph.group(owner.shares) if owner.shares is not None else owner
    types = [graph.nodes[node_id].type for node_id in owner.nodes]
    if owner.block != data["block"] or types != [item["type"] for item in data["nodes"]]:
        raise GroupError(
            f"The block '{owner.name}' ({owner.block}) is not an instance of the block '{data['block']}' "
            "as saved; only an instance of the same block can share its weights."
        )
    return owner


def _new_node(
    graph: ModelGraph,
    item: dict[str, Any],
    index: int,
    ids: dict[str, str],
    owner: Group | None,
    position: tuple[float, float],
    name: str,
    ports_of: PortsOf,
) -> Node:
    ports = ports_of(item["type"])
    if ports is None:
        raise ProjectError(f"unknown layer type '{item['type']}'", f"$.nodes[{index}].type")
    if owner is not None:
        shares: str | None = graph.layer_owner(owner.nodes[index]).id
    else:
        shares = ids[item["shares"]] if item.get("shares") else None
    x, y = item["position"]
    return Node(
        id=ids[item["id"]],
        type=item["type"],
        name=name,
        params={} if shares else copy.deepcopy(item["params"]),
        position=(position[0] + float(x), position[1] + float(y)),
        ports=ports.for_params(item["params"]),
        shares=shares,
    )


def _claim(base: str, taken: set[str]) -> str:
    """`base`, else base_1, base_2... whichever is free (and take it)."""
    candidate, index = base, 0
    while candidate in taken:
        index += 1
        candidate = f"{base}_{index}"
    taken.add(candidate)
    return candidate
