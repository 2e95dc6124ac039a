"""The rules of blocks (groups) in a graph: what a group may be, its ports, and why an edge
may not leave a block and come back into it.

`ModelGraph` keeps its groups and calls these functions from its checks and
queries (`check_group`, `check_update_group`, `boundary`, the block part of
`check_connect`); they read the graph and change nothing. A block is called as
one layer, so the graph of blocks ("units": a block's members together, or a
node alone) must stay acyclic. Checks can be asked about a graph that is not
there yet: `adding` names new nodes (without edges) taken as already added,
`replacing` an edge taken as already gone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from designer.graph.errors import CycleError, GroupError, NameError_, is_valid_name

if TYPE_CHECKING:
    from designer.graph.model import Edge, Group, ModelGraph, Node


@dataclass(frozen=True)
class BoundaryInput:
    """One input port of a block: the member input ports it feeds, and what feeds them.

    Member ports fed by the same outside tensor make one block input; a member
    port that nothing feeds is a block input of its own (`source` None).
    """

    consumers: tuple[tuple[str, int], ...]  # (member id, input port), in block order
    source: tuple[str, int] | None  # (node id, output port) outside the block, or None


@dataclass(frozen=True)
class BoundaryOutput:
    """One output port of a block: output `port` of member `node`, and its edges leaving the block."""

    node: str
    port: int
    edges: tuple[Edge, ...]


class Boundary(NamedTuple):
    """The ports of a block, in block order (member by member, port by port)."""

    inputs: tuple[BoundaryInput, ...]
    outputs: tuple[BoundaryOutput, ...]


# ------------------------------------------------------------------- boundary
def boundary(graph: ModelGraph, group: Group) -> Boundary:
    """The ports of a block: its inputs (member input ports not fed from inside,
    those fed by one outside tensor together) and its outputs (member outputs
    used outside, marked as model outputs, or used nowhere inside)."""
    members = set(group.nodes)
    return Boundary(_boundary_inputs(graph, group, members), _boundary_outputs(graph, group, members))


def _boundary_inputs(graph: ModelGraph, group: Group, members: set[str]) -> tuple[BoundaryInput, ...]:
    inputs: list[tuple[tuple[str, int] | None, list[tuple[str, int]]]] = []
    fed_by: dict[tuple[str, int], int] = {}  # outside tensor -> its index in inputs
    for node_id in group.nodes:
        for port in _fed_ports(graph, node_id):
            edge = graph.edge_into(node_id, port)
            if edge is not None and edge.source in members:
                continue
            source = None if edge is None else (edge.source, edge.source_port)
            if source is not None and source in fed_by:
                inputs[fed_by[source]][1].append((node_id, port))
                continue
            if source is not None:
                fed_by[source] = len(inputs)
            inputs.append((source, [(node_id, port)]))
    return tuple(BoundaryInput(tuple(consumers), source) for source, consumers in inputs)


def _fed_ports(graph: ModelGraph, node_id: str) -> list[int]:
    """The input ports a block declares for a member: all fixed ones and the connected
    optional ones; for a variadic member the connected ones and at least `min_inputs`."""
    node = graph.nodes[node_id]
    used = {edge.target_port for edge in graph.input_edges(node_id)}
    if not node.ports.variadic:
        return sorted(used | set(range(len(node.ports.inputs))))
    return sorted(used | set(range(node.ports.min_inputs)))


def _boundary_outputs(graph: ModelGraph, group: Group, members: set[str]) -> tuple[BoundaryOutput, ...]:
    found = []
    for node_id in group.nodes:
        marked = graph.output_names(node_id)
        for port in range(len(graph.nodes[node_id].ports.outputs)):
            edges = [e for e in graph.output_edges(node_id) if e.source_port == port]
            leaving = tuple(e for e in edges if e.target not in members)
            if leaving or port in marked or not edges:
                found.append(BoundaryOutput(node_id, port, leaving))
    return tuple(found)


# --------------------------------------------------------------- group checks
def check_group(
    graph: ModelGraph,
    group: Group,
    groups: Mapping[str, Group] | None = None,
    adding: Iterable[Node] = (),
    edges: Iterable[Edge] = (),
) -> None:
    """Raise a GraphError saying why `group` cannot sit in `graph` beside `groups` (by
    default the graph's own), with the nodes `adding` and then `edges` added first; else return."""
    others = {k: g for k, g in (graph.groups if groups is None else groups).items() if k != group.id}
    added = {node.id: node for node in adding}
    new_edges: dict[str, list[Edge]] = {}
    for edge in edges:
        new_edges.setdefault(edge.source, []).append(edge)
    _check_group_names(graph, group, others, added)
    _check_group_members(graph, group, others, added)
    _check_group_sharing(group, others)
    _check_group_cycle(graph, group, others, added, new_edges)


def check_update_group(graph: ModelGraph, group: Group, adding: Iterable[Node] = ()) -> None:
    """Raise a GraphError saying why the group with `group.id` cannot become `group`
    (with the nodes `adding` added first); else return."""
    old = graph.group(group.id)
    check_group(graph, group, adding=adding)
    sharers = graph.group_sharers(group.id)
    if sharers and (
        group.shares is not None or (group.block, len(group.nodes)) != (old.block, len(old.nodes))
    ):
        raise GroupError(
            f"The block '{sharers[0].name}' shares the weights of '{old.name}': its block type, "
            "node count and sharing cannot change."
        )


def check_remove_groups(graph: ModelGraph, group_ids: Iterable[str]) -> None:
    """Raise a GroupError when removing the groups one after the other would leave a block
    sharing the weights of one that is gone; else return."""
    removed: set[str] = set()
    for group_id in group_ids:
        group = graph.group(group_id)
        sharers = [sharer for sharer in graph.group_sharers(group_id) if sharer.id not in removed]
        if sharers:
            raise GroupError(
                f"The block '{sharers[0].name}' shares the weights of '{group.name}'; ungroup it first."
            )
        removed.add(group_id)


def renamed_group(graph: ModelGraph, group_id: str, name: str) -> Group:
    """The group renamed; its block type follows when it was the name and no other block has it."""
    group = graph.group(group_id)
    alone = all(other.block != group.block for other in graph.groups.values() if other.id != group_id)
    block = name if alone and group.block == group.name else group.block
    return dataclasses.replace(group, name=name, block=block)


def _check_group_names(
    graph: ModelGraph, group: Group, others: dict[str, Group], added: dict[str, Node]
) -> None:
    if not group.id or group.id in graph.nodes or group.id in added:
        raise GroupError(f"'{group.id}' cannot be a group id: it is empty or a node's id.")
    for text, what in ((group.name, "name"), (group.block, "block type")):
        if not is_valid_name(text):
            raise NameError_(
                f"'{text}' is not a valid block {what}: use letters, digits and underscores, "
                "not starting with a digit or an underscore, and not a Python keyword."
            )
    if graph.node_by_name(group.name) is not None or any(n.name == group.name for n in added.values()):
        raise NameError_(
            f"The name '{group.name}' is already used by a node; blocks and nodes need distinct names."
        )
    for other in others.values():
        if other.name == group.name:
            raise NameError_(f"The name '{group.name}' is already used by another block.")
        if other.block != group.block and other.class_name == group.class_name:
            raise NameError_(
                f"The block types '{group.block}' and '{other.block}' would both become the class "
                f"{group.class_name}; rename one of them."
            )


def _check_group_members(
    graph: ModelGraph, group: Group, others: dict[str, Group], added: dict[str, Node]
) -> None:
    if not group.nodes:
        raise GroupError(f"The block '{group.name}' has no nodes; select at least one node to group.")
    if len(set(group.nodes)) != len(group.nodes):
        raise GroupError(f"The block '{group.name}' lists a node twice.")
    taken = {node_id: other for other in others.values() for node_id in other.nodes}
    for node_id in group.nodes:
        node = added[node_id] if node_id in added else graph.node(node_id)
        if node.is_input:
            raise GroupError(
                f"'{node.name}' is an Input node; a block takes its inputs from outside, so leave "
                "Input nodes out of it."
            )
        if node_id in taken:
            raise GroupError(
                f"'{node.name}' is already in the block '{taken[node_id].name}'; blocks cannot be "
                "nested or overlap. Ungroup it first."
            )


def _check_group_sharing(group: Group, others: dict[str, Group]) -> None:
    if group.shares is None:
        return
    owner = others.get(group.shares)
    if owner is None:
        raise GroupError(
            f"The block '{group.name}' shares the weights of group '{group.shares}', which does not exist."
        )
    if owner.shares is not None:
        raise GroupError(
            f"The block '{owner.name}' itself shares weights; make '{group.name}' share "
            f"'{owner.shares}' instead."
        )
    if owner.block != group.block or len(owner.nodes) != len(group.nodes):
        raise GroupError(
            f"The block '{group.name}' ({group.block}, {len(group.nodes)} nodes) cannot share the "
            f"weights of '{owner.name}' ({owner.block}, {len(owner.nodes)} nodes): expected the same "
            "block type and node count."
        )


def _check_group_cycle(
    graph: ModelGraph,
    group: Group,
    others: dict[str, Group],
    added: dict[str, Node],
    new_edges: dict[str, list[Edge]],
) -> None:
    groups = {**others, group.id: group}
    group_of = {node_id: g.id for g in groups.values() for node_id in g.nodes}
    members = set(group.nodes)
    leaving = [
        e.target
        for m in group.nodes
        for e in [*graph.output_edges(m), *new_edges.get(m, ())]
        if e.target not in members
    ]
    path = unit_path(graph, leaving, members, groups, group_of, new_edges=new_edges)
    if path is not None:
        outside = next((added.get(n) or graph.nodes[n]).name for n in path if n not in members)
        raise CycleError(
            f"'{outside}' lies between nodes of the block '{group.name}': the block would feed "
            "itself. Add it to the block, or leave out the nodes after it.",
            path,
        )


# ---------------------------------------------------------------- edge checks
def check_block_cycle(
    graph: ModelGraph, edge: Edge, group_of: Mapping[str, str], replacing: Edge | None = None
) -> None:
    """Refuse an edge that would let a tensor leave a block and come back into it (with
    `replacing` gone): a block is called as one layer, so the graph of blocks must stay acyclic.
    `group_of` maps every member node id to its group id."""
    groups = graph.groups
    source_group, target_group = group_of.get(edge.source), group_of.get(edge.target)
    if not groups or (source_group is not None and source_group == target_group):
        return
    goal = set(unit(edge.source, groups, group_of))
    path = unit_path(graph, [edge.target], goal, groups, group_of, replacing)
    if path is not None:
        nodes = graph.nodes
        blocks = sorted({groups[group_of[n]].name for n in path if n in group_of})
        names = " -> ".join(nodes[n].name for n in [edge.source, *path])
        raise CycleError(
            f"Connecting '{nodes[edge.source].name}' to '{nodes[edge.target].name}' would "
            f"make a cycle through the block '{blocks[0]}': {names}. A block is called as one layer, "
            "so nothing may flow out of it and back in.",
            [edge.source, *path],
        )


def unit(node_id: str, groups: Mapping[str, Group], group_of: Mapping[str, str]) -> tuple[str, ...]:
    """The node ids called together with `node_id`: its block's members, or itself."""
    group_id = group_of.get(node_id)
    return (node_id,) if group_id is None else groups[group_id].nodes


def unit_path(
    graph: ModelGraph,
    start: Iterable[str],
    goal: set[str],
    groups: Mapping[str, Group],
    group_of: Mapping[str, str],
    avoiding: Edge | None = None,
    new_edges: Mapping[str, list[Edge]] | None = None,
) -> list[str] | None:
    """Node ids on a path from `start` to a node of `goal`, each block entered as a whole,
    not along the edge `avoiding` and also along `new_edges` (by source); or None."""

    def successors(node_id: str) -> list[str]:
        edges = graph.output_edges(node_id)
        if new_edges and node_id in new_edges:
            edges = [*edges, *new_edges[node_id]]
        return sorted(e.target for e in edges if e != avoiding)

    return walk_units(start, goal, successors, lambda node_id: unit(node_id, groups, group_of))


def walk_units(
    start: Iterable[str],
    goal: set[str],
    successors: Callable[[str], Iterable[str]],
    unit_of: Callable[[str], Iterable[str]],
) -> list[str] | None:
    """A path from `start` to a node of `goal`, where reaching a node reaches its whole
    unit (its block) at once; None when there is none."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []

    def enter(node_id: str, parent: str | None) -> None:
        parents[node_id] = parent
        stack.append(node_id)
        for member in unit_of(node_id):
            if member not in parents:
                parents[member] = node_id
                stack.append(member)

    for node_id in start:
        enter(node_id, None)
    while stack:
        node_id = stack.pop()
        for target in successors(node_id):
            if target in goal:
                path = [target, node_id]
                while parents[path[-1]] is not None:
                    path.append(parents[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            if target not in parents:
                enter(target, node_id)
    return None
