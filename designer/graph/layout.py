"""Automatic layered layout: left to right by topological generation, crossings reduced.

Each node goes in the column of its generation (longest path from a source);
within a column nodes are ordered by the barycentre of their neighbours in the
previous column, sweeping forward and back a few times (the Sugiyama heuristic).
"""

from __future__ import annotations

import networkx as nx

from designer.graph.model import ModelGraph

COLUMN_WIDTH = 240.0
ROW_HEIGHT = 120.0


def layered_positions(
    graph: ModelGraph, column_width: float = COLUMN_WIDTH, row_height: float = ROW_HEIGHT, sweeps: int = 4
) -> dict[str, tuple[float, float]]:
    """Positions for every node (cycles broken arbitrarily); columns centred on y = 0."""
    columns = _columns(graph)
    for _ in range(sweeps):
        _sweep(graph, columns, forward=True)
        _sweep(graph, columns, forward=False)
    positions = {}
    for index, column in enumerate(columns):
        offset = (len(column) - 1) * row_height / 2
        for row, node_id in enumerate(column):
            positions[node_id] = (index * column_width, row * row_height - offset)
    return positions


def crossings(graph: ModelGraph, positions: dict[str, tuple[float, float]]) -> int:
    """How many pairs of edges cross between adjacent columns (for tests and benches)."""
    edges = [(positions[e.source], positions[e.target]) for e in graph.edges]
    count = 0
    for i, (a0, a1) in enumerate(edges):
        for b0, b1 in edges[i + 1 :]:
            if a0[0] == b0[0] and a1[0] == b1[0] and (a0[1] - b0[1]) * (a1[1] - b1[1]) < 0:
                count += 1
    return count


def _columns(graph: ModelGraph) -> list[list[str]]:
    simple = nx.DiGraph()
    simple.add_nodes_from(graph.nodes)
    simple.add_edges_from((e.source, e.target) for e in graph.edges)
    generation: dict[str, int] = {}
    for node_id in _safe_order(simple, graph):
        parents = [generation[p] for p in simple.predecessors(node_id) if p in generation]
        generation[node_id] = max(parents, default=-1) + 1
    columns: list[list[str]] = [[] for _ in range(max(generation.values(), default=-1) + 1)]
    for node_id in graph.nodes:
        columns[generation[node_id]].append(node_id)
    return columns


def _safe_order(simple: nx.DiGraph, graph: ModelGraph) -> list[str]:
    while not nx.is_directed_acyclic_graph(simple):
        simple.remove_edge(*nx.find_cycle(simple)[0][:2])
    rank = {node_id: index for index, node_id in enumerate(graph.nodes)}
    return list(nx.lexicographical_topological_sort(simple, key=rank.__getitem__))


def _sweep(graph: ModelGraph, columns: list[list[str]], forward: bool) -> None:
    indices = range(1, len(columns)) if forward else range(len(columns) - 2, -1, -1)
    for index in indices:
        reference = columns[index - 1] if forward else columns[index + 1]
        place = {node_id: row for row, node_id in enumerate(reference)}
        current = {node_id: row for row, node_id in enumerate(columns[index])}
        columns[index] = sorted(
            columns[index],
            key=lambda n: _barycentre(graph, n, place, forward, current[n] * len(reference) / len(current)),
        )


def _barycentre(
    graph: ModelGraph, node_id: str, place: dict[str, int], forward: bool, fallback: float
) -> float:
    """The mean row of a node's neighbours in the reference column (its own row if none)."""
    edges = graph.input_edges(node_id) if forward else graph.output_edges(node_id)
    ends = [e.source if forward else e.target for e in edges]
    rows = [place[n] for n in ends if n in place]
    return sum(rows) / len(rows) if rows else fallback
