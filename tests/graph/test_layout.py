"""The layered layout: columns by generation, rows centred, collapsed blocks placed as one node."""

from __future__ import annotations

import pytest

from designer.graph.groups import group_position
from designer.graph.layout import COLUMN_WIDTH, ROW_HEIGHT, crossings, group_layout, layered_positions
from designer.graph.model import INPUT_PORTS, MERGE_PORTS, Edge, Group, ModelGraph, Node, PortLayout


def add(graph: ModelGraph, name: str, *sources: str, ports: PortLayout | None = None) -> str:
    """A node fed by `sources` (an Input when there are none)."""
    node_id = graph.new_id()
    kind, layout = ("Dense", ports or PortLayout()) if sources else ("Input", INPUT_PORTS)
    graph.add_node(Node(node_id, kind, name, ports=layout))
    for port, source in enumerate(sources):
        graph.connect(Edge(source, 0, node_id, port))
    return node_id


def residual() -> tuple[ModelGraph, dict[str, str]]:
    """x -> a -> b -> add(b, x) -> head; the block is a, b, add."""
    graph = ModelGraph("residual")
    ids = {"x": add(graph, "x")}
    ids["a"] = add(graph, "a", ids["x"])
    ids["b"] = add(graph, "b", ids["a"])
    ids["add"] = add(graph, "add", ids["b"], ids["x"], ports=MERGE_PORTS)
    ids["head"] = add(graph, "head", ids["add"])
    return graph, ids


def test_a_flat_graph_goes_left_to_right_by_generation_with_centred_columns() -> None:
    graph, ids = residual()
    side = add(graph, "side", ids["x"])
    positions = layered_positions(graph)
    assert positions[ids["x"]] == (0.0, 0.0)
    assert {positions[ids["a"]][0], positions[side][0]} == {COLUMN_WIDTH}
    assert sorted(y for node_id, (_, y) in positions.items() if node_id in (ids["a"], side)) == [
        -ROW_HEIGHT / 2,
        ROW_HEIGHT / 2,
    ]
    assert positions[ids["head"]] == (4 * COLUMN_WIDTH, 0.0)
    assert all(positions[e.source][0] < positions[e.target][0] for e in graph.edges)


def test_a_collapsed_block_takes_one_column_and_its_members_centre_on_it() -> None:
    graph, ids = residual()
    graph.add_group(Group("g1", "block", (ids["a"], ids["b"], ids["add"])))
    positions = layered_positions(graph)
    assert positions[ids["x"]] == (0.0, 0.0) and positions[ids["head"]] == (2 * COLUMN_WIDTH, 0.0)
    for node_id, position in positions.items():
        graph.move(node_id, position)
    assert group_position(graph, "g1") == pytest.approx((COLUMN_WIDTH, 0.0))
    members = [positions[ids[name]][0] for name in ("a", "b", "add")]
    assert members[0] < members[1] < members[2] and members[1] - members[0] == COLUMN_WIDTH


def test_an_expanded_block_is_laid_out_as_its_nodes() -> None:
    graph, ids = residual()
    flat = layered_positions(graph)
    graph.add_group(Group("g1", "block", (ids["a"], ids["b"], ids["add"]), collapsed=False))
    assert layered_positions(graph) == flat


def test_blocks_of_an_import_go_left_to_right_without_crossings() -> None:
    """x -> [inner: a, b] -> [inner_1: a, b] -> head, and a skip from x to head: nested models as the
    importer groups them."""
    graph = ModelGraph("imported")
    x = add(graph, "x")
    a1 = add(graph, "inner_a", x)
    b1 = add(graph, "inner_b", a1)
    a2 = add(graph, "inner_1_a", b1)
    b2 = add(graph, "inner_1_b", a2)
    head = add(graph, "head", b2, x, ports=MERGE_PORTS)
    graph.add_group(Group("g1", "inner", (a1, b1)))
    graph.add_group(Group("g2", "inner_1", (a2, b2), block="inner"))
    positions = layered_positions(graph)
    for node_id, position in positions.items():
        graph.move(node_id, position)
    units = [graph.nodes[x].position, group_position(graph, "g1"), group_position(graph, "g2")]
    units.append(graph.nodes[head].position)
    assert [u[0] for u in units] == [index * COLUMN_WIDTH for index in range(4)]
    assert crossings(graph, positions) == 0


def test_heights_give_a_tall_block_the_room_it_needs() -> None:
    graph, ids = residual()
    side = add(graph, "side", ids["x"])
    graph.add_group(Group("g1", "block", (ids["a"], ids["b"], ids["add"])))
    tall = 300.0
    positions = layered_positions(graph, heights=lambda unit: tall if unit == "g1" else 80.0)
    for node_id, position in positions.items():
        graph.move(node_id, position)
    block_y, side_y = group_position(graph, "g1")[1], positions[side][1]
    top, bottom = sorted([(block_y, tall), (side_y, 80.0)])
    assert bottom[0] - top[0] >= top[1] + ROW_HEIGHT / 3
    assert layered_positions(graph, heights=lambda unit: 80.0) == layered_positions(graph)


def test_group_layout_arranges_the_members_around_the_block() -> None:
    graph, ids = residual()
    group = graph.add_group(Group("g1", "block", (ids["a"], ids["b"], ids["add"])))
    for index, name in enumerate(("a", "b", "add")):
        graph.move(ids[name], (500.0 - 200 * index, 300.0 + 50 * index))  # scrambled, mean (300, 350)
    positions = group_layout(graph, group.id)
    assert set(positions) == set(group.nodes)
    assert positions[ids["a"]][0] < positions[ids["b"]][0] < positions[ids["add"]][0]
    for node_id, position in positions.items():
        graph.move(node_id, position)
    assert group_position(graph, group.id) == pytest.approx((300.0, 350.0))
