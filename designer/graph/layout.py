"""Automatic layered layout: left to right by topological generation, crossings reduced, blocks collapsed.

Each unit goes in the column of its generation (longest path from a source);
within a column units are ordered by the barycentre of their neighbours in the
previous column, sweeping forward and back a few times (the Sugiyama heuristic).
A unit is a node, or a collapsed group placed as one node: its members are laid
out among themselves the same way, centred on the block (the canvas draws a
block at the mean of its members' positions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import networkx as nx

from designer.graph.model import ModelGraph

COLUMN_WIDTH = 240.0
ROW_HEIGHT = 120.0

Heights = Callable[[str], float]  # the height of a unit's item on the canvas, by node or group id


def layered_positions(
    graph: ModelGraph,
    column_width: float = COLUMN_WIDTH,
    row_height: float = ROW_HEIGHT,
    sweeps: int = 4,
    heights: Heights | None = None,
) -> dict[str, tuple[float, float]]:
    """Positions for every node (cycles broken arbitrarily); columns centred on y = 0.

    Collapsed groups take one place each. With `heights` a unit taller than two
    thirds of a row gets the room it needs, so tall blocks do not overlap.
    """
    unit_of = {
        node_id: group.id for group in graph.groups.values() if group.collapsed for node_id in group.nodes
    }
    units = list(dict.fromkeys(unit_of.get(node_id, node_id) for node_id in graph.nodes))
    links = [(unit_of.get(e.source, e.source), unit_of.get(e.target, e.target)) for e in graph.edges]
    placed = _layered(units, [(s, t) for s, t in links if s != t], column_width, row_height, sweeps, heights)
    positions: dict[str, tuple[float, float]] = {}
    for unit, corner in placed.items():
        if unit in graph.nodes:
            positions[unit] = corner
        else:
            positions.update(_members_around(graph, unit, corner, column_width, row_height, sweeps))
    return positions


def group_layout(
    graph: ModelGraph,
    group_id: str,
    column_width: float = COLUMN_WIDTH,
    row_height: float = ROW_HEIGHT,
    sweeps: int = 4,
) -> dict[str, tuple[float, float]]:
    """Positions for the members of a group, laid out among themselves around where the block is now."""
    members = graph.group(group_id).nodes
    centre = (
        sum(graph.nodes[node_id].position[0] for node_id in members) / len(members),
        sum(graph.nodes[node_id].position[1] for node_id in members) / len(members),
    )
    return _members_around(graph, group_id, centre, column_width, row_height, sweeps)


def _members_around(
    graph: ModelGraph,
    group_id: str,
    centre: tuple[float, float],
    column_width: float,
    row_height: float,
    sweeps: int,
) -> dict[str, tuple[float, float]]:
    """The members of a group laid out among themselves, shifted so that their mean is `centre`."""
    members = graph.group(group_id).nodes
    inside = set(members)
    links = [(e.source, e.target) for m in members for e in graph.output_edges(m) if e.target in inside]
    placed = _layered(list(members), links, column_width, row_height, sweeps, None)
    shift_x = centre[0] - sum(x for x, _ in placed.values()) / len(placed)
    shift_y = centre[1] - sum(y for _, y in placed.values()) / len(placed)
    return {node_id: (x + shift_x, y + shift_y) for node_id, (x, y) in placed.items()}


def crossings(graph: ModelGraph, positions: dict[str, tuple[float, float]]) -> int:
    """How many pairs of edges cross between adjacent columns (for tests and benches)."""
    edges = [(positions[e.source], positions[e.target]) for e in graph.edges]
    count = 0
    for i, (a0, a1) in enumerate(edges):
        for b0, b1 in edges[i + 1 :]:
            if a0[0] == b0[0] and a1[0] == b1[0] and (a0[1] - b0[1]) * (a1[1] - b1[1]) < 0:
                count += 1
    return count


# ------------------------------------------------------------- the layering
def _layered(
    units: list[str],
    links: list[tuple[str, str]],
    column_width: float,
    row_height: float,
    sweeps: int,
    heights: Heights | None,
) -> dict[str, tuple[float, float]]:
    """Top-left corners of `units` (in their given order) joined by `links` (source, target)."""
    parents: dict[str, list[str]] = {unit: [] for unit in units}
    children: dict[str, list[str]] = {unit: [] for unit in units}
    for source, target in links:
        parents[target].append(source)
        children[source].append(target)
    columns = _columns(units, links)
    for _ in range(sweeps):
        _sweep(columns, parents, forward=True)
        _sweep(columns, children, forward=False)
    positions = {}
    for index, column in enumerate(columns):
        rooms = [_room(unit, row_height, heights) for unit in column]
        top = -(sum(rooms) - rooms[-1]) / 2 if rooms else 0.0
        for unit, room in zip(column, rooms, strict=True):
            positions[unit] = (index * column_width, top)
            top += room
    return positions


def _room(unit: str, row_height: float, heights: Heights | None) -> float:
    """The vertical room a unit takes in its column: a row, or its height plus a third of a row."""
    return row_height if heights is None else max(row_height, heights(unit) + row_height / 3)


def _columns(units: list[str], links: Iterable[tuple[str, str]]) -> list[list[str]]:
    simple = nx.DiGraph()
    simple.add_nodes_from(units)
    simple.add_edges_from(links)
    generation: dict[str, int] = {}
    for unit in _safe_order(simple, units):
        parents = [generation[p] for p in simple.predecessors(unit) if p in generation]
        generation[unit] = max(parents, default=-1) + 1
    columns: list[list[str]] = [[] for _ in range(max(generation.values(), default=-1) + 1)]
    for unit in units:
        columns[generation[unit]].append(unit)
    return columns


def _safe_order(simple: nx.DiGraph, units: list[str]) -> list[str]:
    while not nx.is_directed_acyclic_graph(simple):
        simple.remove_edge(*nx.find_cycle(simple)[0][:2])
    rank = {unit: index for index, unit in enumerate(units)}
    return list(nx.lexicographical_topological_sort(simple, key=rank.__getitem__))


def _sweep(columns: list[list[str]], neighbours: dict[str, list[str]], forward: bool) -> None:
    indices = range(1, len(columns)) if forward else range(len(columns) - 2, -1, -1)
    for index in indices:
        reference = columns[index - 1] if forward else columns[index + 1]
        place = {unit: row for row, unit in enumerate(reference)}
        current = {unit: row for row, unit in enumerate(columns[index])}
        columns[index] = sorted(
            columns[index],
            key=lambda u: _barycentre(neighbours[u], place, current[u] * len(reference) / len(current)),
        )


def _barycentre(ends: list[str], place: dict[str, int], fallback: float) -> float:
    """The mean row of a unit's neighbours in the reference column (its own row if none)."""
    rows = [place[unit] for unit in ends if unit in place]
    return sum(rows) / len(rows) if rows else fallback
