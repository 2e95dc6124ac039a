"""Checks that change nothing: each raises the GraphError its mutator would (the error that
trying the edit on a copy of the graph gave), leaves the graph equal and emits no signal."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psygnal import EmissionInfo

from designer.graph.errors import GraphError
from designer.graph.model import INPUT_PORTS, MERGE_PORTS, Edge, Group, ModelGraph, Node, PortLayout

PORTS = {"Input": INPUT_PORTS, "Dense": PortLayout(), "Add": MERGE_PORTS}


def add(graph: ModelGraph, type_key: str, name: str, *sources: str, **fields: Any) -> str:
    node = graph.add_node(Node(graph.new_id(), type_key, name, ports=PORTS[type_key], **fields))
    for port, source in enumerate(sources):
        graph.connect(Edge(source, 0, node.id, port))
    return node.id


def design() -> tuple[ModelGraph, dict[str, str]]:
    """x -> a -> b -> add(b, x) -> head -> tail, a -> mid, y -> side; the block "block"
    is a, b, add; "lone" is side alone, and "again" (head) shares its weights."""
    graph = ModelGraph("design")
    ids = {"x": add(graph, "Input", "x"), "y": add(graph, "Input", "y")}
    ids["a"] = add(graph, "Dense", "a", ids["x"])
    ids["b"] = add(graph, "Dense", "b", ids["a"])
    ids["add"] = add(graph, "Add", "add", ids["b"], ids["x"])
    ids["head"] = add(graph, "Dense", "head", ids["add"])
    ids["tail"] = add(graph, "Dense", "tail", ids["head"])
    ids["mid"] = add(graph, "Dense", "mid", ids["a"])
    ids["side"] = add(graph, "Dense", "side", ids["y"])
    graph.mark_output(ids["head"])
    graph.add_group(Group("g1", "block", (ids["a"], ids["b"], ids["add"])))
    graph.add_group(Group("g2", "lone", (ids["side"],)))
    graph.add_group(Group("g3", "again", (ids["head"],), block="lone", shares="g2"))
    return graph, ids


@pytest.fixture
def graph_and_ids() -> tuple[ModelGraph, dict[str, str]]:
    return design()


def outcome(action: Callable[[], object]) -> tuple[type[GraphError], str] | None:
    try:
        action()
    except GraphError as error:
        return type(error), str(error)
    return None


@pytest.fixture
def unchanged(graph_and_ids: tuple[ModelGraph, dict[str, str]]) -> Iterator[None]:
    """The test's checks leave the graph equal and emit nothing."""
    graph, _ = graph_and_ids
    before, events = graph.copy(), list[EmissionInfo]()
    graph.events.connect(events.append)
    yield
    assert graph == before
    assert events == []


def node(graph: ModelGraph, type_key: str, name: str, node_id: str | None = None, **fields: Any) -> Node:
    return Node(node_id or graph.new_id(), type_key, name, ports=PORTS[type_key], **fields)


# ----------------------------------------------------------------- connecting
CONNECTIONS: dict[str, Callable[[dict[str, str]], tuple[Edge, Edge | None]]] = {
    "an occupied input, replaced": lambda i: (Edge(i["y"], 0, i["a"], 0), Edge(i["x"], 0, i["a"], 0)),
    "an occupied input, not replaced": lambda i: (Edge(i["y"], 0, i["a"], 0), None),
    "into another block": lambda i: (Edge(i["head"], 0, i["side"], 0), Edge(i["y"], 0, i["side"], 0)),
    "from one block into another": lambda i: (Edge(i["a"], 0, i["side"], 0), Edge(i["y"], 0, i["side"], 0)),
    "a cycle inside a block": lambda i: (Edge(i["b"], 0, i["a"], 0), Edge(i["x"], 0, i["a"], 0)),
    "a cycle through the replaced input": lambda i: (
        Edge(i["tail"], 0, i["b"], 0),
        Edge(i["a"], 0, i["b"], 0),
    ),
    "a cycle broken by the replaced edge": lambda i: (
        Edge(i["tail"], 0, i["add"], 2),
        Edge(i["add"], 0, i["head"], 0),
    ),
    "out of the block and back in": lambda i: (Edge(i["mid"], 0, i["add"], 2), None),
    "a self-loop": lambda i: (Edge(i["a"], 0, i["a"], 0), Edge(i["x"], 0, i["a"], 0)),
    "a missing output": lambda i: (Edge(i["a"], 3, i["head"], 0), Edge(i["add"], 0, i["head"], 0)),
    "a missing input": lambda i: (Edge(i["a"], 0, i["head"], 4), None),
    "replacing an edge that is not there": lambda i: (Edge(i["y"], 0, i["a"], 0), Edge(i["y"], 0, i["b"], 0)),
}


@pytest.mark.parametrize("case", CONNECTIONS)
@pytest.mark.usefixtures("unchanged")
def test_check_connect_replacing_says_what_connecting_on_a_copy_said(
    graph_and_ids: tuple[ModelGraph, dict[str, str]], case: str
) -> None:
    graph, ids = graph_and_ids
    edge, replacing = CONNECTIONS[case](ids)

    def on_a_copy() -> None:
        probe = graph.copy()
        if replacing is not None:
            probe.disconnect(replacing)
        probe.connect(edge)

    expected = outcome(on_a_copy)
    assert outcome(lambda: graph.check_connect(edge, replacing=replacing)) == expected


def test_the_connection_cases_cover_refusals_and_acceptances() -> None:
    graph, ids = design()
    results = {
        case: outcome(lambda c=case: graph.check_connect(*CONNECTIONS[c](ids))) for case in CONNECTIONS
    }
    accepted = {case for case, result in results.items() if result is None}
    assert accepted == {
        "an occupied input, replaced",
        "into another block",
        "from one block into another",
        "a cycle broken by the replaced edge",
    }
    assert "through the block" in results["out of the block and back in"][1]  # type: ignore[index]
    assert "already fed" in results["an occupied input, not replaced"][1]  # type: ignore[index]


# -------------------------------------------------------------------- groups
def group_changes(graph: ModelGraph, ids: dict[str, str]) -> dict[str, Group]:
    block, lone = graph.group("g1"), graph.group("g2")
    return {
        "rename": dataclasses.replace(block, name="residual"),
        "a node's name": dataclasses.replace(block, name="head"),
        "another block's name": dataclasses.replace(block, name="lone"),
        "an invalid block type": dataclasses.replace(block, block="2x"),
        "a class name clash": dataclasses.replace(lone, block="Block"),
        "an Input member": dataclasses.replace(block, nodes=(*block.nodes, ids["x"])),
        "a member of another block": dataclasses.replace(block, nodes=(*block.nodes, ids["side"])),
        "a node between members": dataclasses.replace(block, nodes=(ids["a"], ids["add"])),
        "no members": dataclasses.replace(block, nodes=()),
        "sharing a missing block": dataclasses.replace(lone, shares="g9"),
        "sharing another block type": dataclasses.replace(lone, shares="g1"),
        "collapse": dataclasses.replace(block, collapsed=False),
        "an unknown group": Group("g7", "other", (ids["head"],)),
    }


CHANGES = list(group_changes(*design()))


@pytest.mark.parametrize("case", CHANGES)
@pytest.mark.usefixtures("unchanged")
def test_check_update_group_says_what_updating_a_copy_said(
    graph_and_ids: tuple[ModelGraph, dict[str, str]], case: str
) -> None:
    graph, ids = graph_and_ids
    group = group_changes(graph, ids)[case]
    expected = outcome(lambda: graph.copy().update_group(group))
    assert outcome(lambda: graph.check_update_group(group)) == expected


def test_a_shared_block_keeps_its_type_and_size() -> None:
    graph, ids = design()
    grown = dataclasses.replace(graph.group("g2"), nodes=(ids["side"], ids["mid"]))
    expected = outcome(lambda: graph.copy().update_group(grown))
    assert expected is not None and "shares the weights of 'lone'" in expected[1]
    assert outcome(lambda: graph.check_update_group(grown)) == expected


NEWCOMERS: dict[str, Callable[[ModelGraph], list[Node]]] = {
    "a plain layer": lambda g: [node(g, "Dense", "fresh")],
    "two layers, one sharing the other": lambda g: [
        node(g, "Dense", "fresh", "n50"),
        node(g, "Dense", "fresh_again", "n51", shares="n50"),
    ],
    "an Input layer": lambda g: [node(g, "Input", "fresh")],
    "a taken name": lambda g: [node(g, "Dense", "head")],
    "a name taken by another newcomer": lambda g: [
        node(g, "Dense", "twice", "n50"),
        node(g, "Dense", "twice"),
    ],
    "a taken id": lambda g: [node(g, "Dense", "fresh", "n1")],
    "a group's id": lambda g: [node(g, "Dense", "fresh", "g2")],
    "a block's name": lambda g: [node(g, "Dense", "lone")],
    "sharing an Input": lambda g: [node(g, "Dense", "fresh", shares="n1")],
}


@pytest.mark.parametrize("case", NEWCOMERS)
@pytest.mark.usefixtures("unchanged")
def test_check_update_group_with_new_nodes_says_what_adding_them_to_a_copy_said(
    graph_and_ids: tuple[ModelGraph, dict[str, str]], case: str
) -> None:
    graph, _ = graph_and_ids
    nodes = NEWCOMERS[case](graph)
    block = graph.group("g1")
    joined = dataclasses.replace(block, nodes=(*block.nodes, *(n.id for n in nodes)))

    def on_a_copy() -> None:
        probe = graph.copy()
        for newcomer in nodes:
            probe.add_node(dataclasses.replace(newcomer))
        probe.update_group(joined)

    expected = outcome(on_a_copy)
    assert outcome(lambda: graph.check_update_group(joined, adding=nodes)) == expected


@pytest.mark.parametrize("order", [("g2", "g3"), ("g3", "g2"), ("g1",), ("g9",)])
@pytest.mark.usefixtures("unchanged")
def test_check_remove_groups_says_what_removing_them_from_a_copy_said(
    graph_and_ids: tuple[ModelGraph, dict[str, str]], order: tuple[str, ...]
) -> None:
    graph, _ = graph_and_ids

    def on_a_copy() -> None:
        probe = graph.copy()
        for group_id in order:
            probe.remove_group(group_id)

    expected = outcome(on_a_copy)
    assert outcome(lambda: graph.check_remove_groups(order)) == expected


@pytest.mark.parametrize(
    ("port", "name"), [(0, "out"), (0, None), (1, "out"), (0, "2x"), (0, "head"), (0, "lambda")]
)
@pytest.mark.usefixtures("unchanged")
def test_check_output_says_what_marking_a_copy_said(
    graph_and_ids: tuple[ModelGraph, dict[str, str]], port: int, name: str | None
) -> None:
    graph, ids = graph_and_ids
    expected = outcome(lambda: graph.copy().mark_output(ids["b"], port, name))
    assert outcome(lambda: graph.check_output(ids["b"], port, name)) == expected


def pasted(graph: ModelGraph) -> tuple[list[Node], list[Edge]]:
    """New nodes p -> q -> r and p -> r (as a paste brings them), none in the graph yet."""
    nodes = [node(graph, "Dense", name, f"n{60 + index}") for index, name in enumerate(("p", "q", "r"))]
    nodes[2] = dataclasses.replace(nodes[2], ports=MERGE_PORTS, type="Add")
    p, q, r = (n.id for n in nodes)
    return nodes, [Edge(p, 0, q, 0), Edge(q, 0, r, 0), Edge(p, 0, r, 1)]


NEW_GROUPS: dict[str, Callable[[list[str]], list[Group]]] = {
    "a block of new nodes": lambda n: [Group("g10", "pasted", tuple(n))],
    "two blocks of new nodes": lambda n: [Group("g10", "front", (n[0],)), Group("g11", "back", tuple(n[1:]))],
    "a new node between members": lambda n: [Group("g10", "pasted", (n[0], n[2]))],
    "a taken group id": lambda n: [Group("g1", "pasted", tuple(n))],
    "an id taken by a block before it": lambda n: [Group("g10", "a1", (n[0],)), Group("g10", "a2", (n[1],))],
    "a node's name": lambda n: [Group("g10", "head", tuple(n))],
    "a new node's name": lambda n: [Group("g10", "q", tuple(n))],
    "the name of a block before it": lambda n: [Group("g10", "twin", (n[0],)), Group("g11", "twin", (n[1],))],
    "sharing an existing block": lambda n: [Group("g10", "copy", (n[0],), block="lone", shares="g2")],
    "sharing a block before it": lambda n: [
        Group("g10", "one", (n[0],), block="unit"),
        Group("g11", "two", (n[1],), block="unit", shares="g10"),
    ],
    "sharing a block of another size": lambda n: [
        Group("g10", "copy", tuple(n[:2]), block="lone", shares="g2")
    ],
    "a member of a block before it": lambda n: [Group("g10", "a1", tuple(n)), Group("g11", "a2", (n[0],))],
}


@pytest.mark.parametrize("case", NEW_GROUPS)
@pytest.mark.usefixtures("unchanged")
def test_check_add_group_with_new_nodes_and_edges_says_what_adding_them_to_a_copy_said(
    graph_and_ids: tuple[ModelGraph, dict[str, str]], case: str
) -> None:
    graph, _ = graph_and_ids
    nodes, edges = pasted(graph)
    groups = NEW_GROUPS[case]([n.id for n in nodes])

    def on_a_copy() -> list[tuple[type[GraphError], str] | None]:
        probe = graph.copy()
        for newcomer in nodes:
            probe.add_node(dataclasses.replace(newcomer))
        for edge in edges:
            probe.connect(edge)
        return [outcome(lambda group=group: probe.add_group(group)) for group in groups]

    expected = on_a_copy()
    results, accepted = [], list[Group]()
    for group in groups:
        result = outcome(lambda group=group: graph.check_add_group(group, nodes, edges, accepted))
        results.append(result)
        if result is None:
            accepted.append(group)
    assert results == expected
