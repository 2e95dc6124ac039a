"""Structural validation: each rule fires on a broken graph and stays quiet on a sound one."""

from __future__ import annotations

import time
from typing import Any

import pytest

from designer.graph.model import (
    INPUT_PORTS,
    MERGE_PORTS,
    Edge,
    ModelGraph,
    ModelOutput,
    Node,
    PortLayout,
)
from designer.graph.validation import Diagnostic, errors, validate

PORTS = {
    "Input": INPUT_PORTS,
    "Dense": PortLayout(),
    "Add": MERGE_PORTS,
    "Attention": PortLayout(inputs=("query", "value")),
    "Split": PortLayout(outputs=("first", "second")),
}


def add(graph: ModelGraph, type_key: str, name: str, **fields: Any) -> Node:
    return graph.add_node(Node(graph.new_id(), type_key, name, ports=PORTS[type_key], **fields))


def link(graph: ModelGraph, source: Node, target: Node, target_port: int = 0) -> Edge:
    return graph.connect(Edge(source.id, 0, target.id, target_port))


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [diagnostic.code for diagnostic in diagnostics]


def only(diagnostics: list[Diagnostic], code: str) -> list[Diagnostic]:
    return [diagnostic for diagnostic in diagnostics if diagnostic.code == code]


@pytest.fixture
def graph() -> ModelGraph:
    """x -> dense -> (output), a sound model."""
    graph = ModelGraph("model")
    source, dense = add(graph, "Input", "x"), add(graph, "Dense", "dense")
    link(graph, source, dense)
    graph.mark_output(dense.id)
    return graph


def test_sound_graph_has_no_diagnostics(graph: ModelGraph) -> None:
    assert validate(graph) == []


# ------------------------------------------------------------------ model-wide
def test_an_empty_design_is_a_blank_page_not_an_error() -> None:
    assert validate(ModelGraph("model")) == []


def test_no_input_and_no_output() -> None:
    graph = ModelGraph("model")
    add(graph, "Dense", "dense")
    found = [d for d in validate(graph) if d.node is None]
    assert codes(found) == ["no-input", "no-output"]
    assert all(d.severity == "error" and d.node is None and d.hint for d in found)


def test_invalid_model_name(graph: ModelGraph) -> None:
    graph._name = "my model"  # the mutator refuses it; a file or an old version may not
    (found,) = validate(graph)
    assert found.code == "invalid-name" and "'my model'" in found.message


def test_output_mark_at_missing_node_or_port(graph: ModelGraph) -> None:
    dense = graph.node_by_name("dense")
    assert dense is not None
    graph.set_outputs([ModelOutput("n99", 0, "gone"), ModelOutput(dense.id, 3, "logits")])
    missing, bad_port = only(validate(graph), "bad-output")
    assert missing.node is None and "'gone'" in missing.message and "'n99'" in missing.message
    assert bad_port.node == dense.id
    assert (
        bad_port.message == "The model output 'logits' is output 3 of 'dense' (Dense), which has 1 output(s)."
    )


# ---------------------------------------------------------------------- cycles
def test_cycle_names_its_nodes_for_each_node_on_it(graph: ModelGraph) -> None:
    dense = graph.node_by_name("dense")
    assert dense is not None
    after = add(graph, "Attention", "after")
    link(graph, dense, after)
    back = Edge(after.id, 0, dense.id, 1)
    dense.ports = PortLayout(inputs=("inputs", "state"))
    graph._insert_edge(back)  # connect() refuses cycles; older files or bugs may still hold one
    cycles = only(validate(graph), "cycle")
    assert [d.node for d in cycles] == [dense.id, after.id]
    assert "'dense' (Dense) is on a cycle: dense -> after -> dense." in cycles[0].message
    assert "'after' (Attention) is on a cycle: after -> dense -> after." in cycles[1].message
    assert cycles[1].edge == back


def test_every_cycle_is_found_including_self_loops() -> None:
    graph = ModelGraph("model")
    nodes = [add(graph, "Dense", f"d{index}") for index in range(5)]
    for source, target in [(0, 1), (1, 0), (2, 3), (3, 4), (4, 2)]:
        graph._insert_edge(Edge(nodes[source].id, 0, nodes[target].id, 0))
    loop = add(graph, "Add", "loop")
    graph._insert_edge(Edge(loop.id, 0, loop.id, 0))
    graph._insert_edge(Edge(nodes[0].id, 0, loop.id, 1))
    cycles = only(validate(graph), "cycle")
    assert len(cycles) == 6
    assert "is on a cycle: loop -> loop." in cycles[-1].message
    assert "d2 -> d3 -> d4 -> d2" in cycles[2].message


def test_acyclic_graph_has_no_cycle(graph: ModelGraph) -> None:
    assert only(validate(graph), "cycle") == []


# ---------------------------------------------------------------------- inputs
def test_unconnected_fixed_input(graph: ModelGraph) -> None:
    source = graph.node_by_name("x")
    assert source is not None
    attention = add(graph, "Attention", "attention")
    link(graph, source, attention, target_port=0)
    graph.mark_output(attention.id)
    (found,) = validate(graph)
    assert found.code == "unconnected-input" and found.node == attention.id
    assert found.message == "Input 1 ('value') of 'attention' (Attention) is not connected."
    link(graph, source, attention, target_port=1)
    assert validate(graph) == []


def test_variadic_arity(graph: ModelGraph) -> None:
    source = graph.node_by_name("x")
    assert source is not None
    merge = add(graph, "Add", "add")
    link(graph, source, merge)
    graph.mark_output(merge.id)
    (found,) = validate(graph)
    assert found.code == "arity" and found.message == "'add' (Add) needs at least 2 inputs, it has 1."
    link(graph, source, merge, target_port=1)
    assert validate(graph) == []


def test_variadic_gap_in_port_numbers(graph: ModelGraph) -> None:
    source, dense = graph.node_by_name("x"), graph.node_by_name("dense")
    assert source is not None and dense is not None
    merge = add(graph, "Add", "add")
    link(graph, source, merge, target_port=0)
    link(graph, dense, merge, target_port=2)
    graph.mark_output(merge.id)
    (found,) = validate(graph)
    assert found.code == "input-gap" and "input 1 is empty while input 2 is connected" in found.message
    link(graph, source, merge, target_port=1)
    assert validate(graph) == []


def test_edge_at_a_port_the_node_no_longer_has(graph: ModelGraph) -> None:
    dense = graph.node_by_name("dense")
    assert dense is not None
    dense.ports = PortLayout(inputs=())  # as after a custom layer changed its call signature
    found = only(validate(graph), "bad-port")
    assert [d.edge for d in found] == graph.edges
    assert "input 0 of 'dense' (Dense), but it takes 0 input(s)" in found[0].message


# ---------------------------------------------------------------- reachability
def test_unreachable_from_any_input(graph: ModelGraph) -> None:
    orphan, after = add(graph, "Dense", "orphan"), add(graph, "Dense", "after")
    link(graph, orphan, after)
    graph.mark_output(after.id)
    found = validate(graph)
    assert codes(found) == ["unconnected-input", "unreachable"]
    assert found[0].node == orphan.id and found[1].node == after.id
    assert "'after' (Dense) is not fed by any Input node" in found[1].message


def test_dead_end_is_a_warning(graph: ModelGraph) -> None:
    source = graph.node_by_name("x")
    assert source is not None
    side = add(graph, "Dense", "side")
    link(graph, source, side)
    (found,) = validate(graph)
    assert (found.code, found.severity, found.node) == ("dead-end", "warning", side.id)
    assert "'side' (Dense) reaches no model output" in found.message
    assert errors([found]) == []
    graph.mark_output(side.id)
    assert validate(graph) == []


def test_missing_inputs_or_outputs_do_not_flood_every_node() -> None:
    graph = ModelGraph("model")
    first, second = add(graph, "Dense", "first"), add(graph, "Dense", "second")
    link(graph, first, second)
    assert codes(validate(graph)) == ["no-input", "no-output", "unconnected-input"]


# ----------------------------------------------------------------------- names
def test_duplicate_names(graph: ModelGraph) -> None:
    source = graph.node_by_name("x")
    assert source is not None
    twin = add(graph, "Dense", "twin")
    link(graph, source, twin)
    graph.mark_output(twin.id)
    assert validate(graph) == []
    twin.name = "dense"  # rename() refuses it; a hand-edited file may not
    found = only(validate(graph), "duplicate-name")
    assert len(found) == 2 and "2 nodes are called 'dense'" in found[0].message


def test_invalid_names(graph: ModelGraph) -> None:
    dense = graph.node_by_name("dense")
    assert dense is not None
    dense.name = "not valid"
    (found,) = validate(graph)
    assert found.code == "invalid-name" and found.node == dense.id
    assert "'not valid' of a Dense node is not a Python identifier" in found.message


# --------------------------------------------------------------------- sharing
def shared_graph(graph: ModelGraph) -> Node:
    source, dense = graph.node_by_name("x"), graph.node_by_name("dense")
    assert source is not None and dense is not None
    again = add(graph, "Dense", "again", shares=dense.id)
    link(graph, dense, again)
    graph.mark_output(again.id)
    return again


def test_sound_sharing(graph: ModelGraph) -> None:
    shared_graph(graph)
    assert validate(graph) == []


@pytest.mark.parametrize(
    ("owner_type", "owner_id", "message"),
    [
        ("Dense", "n99", "shares the layer of node id 'n99', which does not exist"),
        ("Split", None, "shares the layer of 'dense', a Split; expected another Dense"),
        ("Input", None, "shares the layer of 'dense', a Input; expected another Dense"),
    ],
)
def test_broken_sharing(graph: ModelGraph, owner_type: str, owner_id: str | None, message: str) -> None:
    again = shared_graph(graph)
    owner = graph.node_by_name("dense")
    assert owner is not None
    owner.type = owner_type
    again.shares = owner_id or again.shares
    (found,) = only(validate(graph), "shared-layer")
    assert found.node == again.id and message in found.message


def test_sharing_a_sharer(graph: ModelGraph) -> None:
    again = shared_graph(graph)
    third = add(graph, "Dense", "third")
    link(graph, again, third)
    graph.mark_output(third.id)
    third.shares = again.id
    (found,) = validate(graph)
    assert found.code == "shared-layer" and "'again', which itself shares a layer" in found.message


# ----------------------------------------------------------------- order, speed
def test_order_is_model_wide_first_then_topological(graph: ModelGraph) -> None:
    late = add(graph, "Dense", "late")
    early = add(graph, "Input", "early")
    link(graph, early, late)
    graph.set_outputs([])
    found = validate(graph)
    assert [d.code for d in found] == ["no-output"]
    graph.set_outputs([ModelOutput(graph.node_by_name("dense").id, 0, "y")])  # type: ignore[union-attr]
    found = validate(graph)
    assert [d.node for d in found] == [early.id, late.id]
    assert found == validate(graph)


def large_graph(size: int) -> ModelGraph:
    """A chain of Dense layers with a residual Add every ten nodes."""
    graph = ModelGraph("large")
    previous = add(graph, "Input", "x")
    for index in range(1, size):
        if index % 10 == 0:
            node = add(graph, "Add", f"add_{index}")
            link(graph, previous, node)
            link(graph, graph.node(f"n{index - 4}"), node, target_port=1)
        else:
            node = add(graph, "Dense", f"dense_{index}")
            link(graph, previous, node)
        previous = node
    graph.mark_output(previous.id)
    return graph


def test_thousand_nodes_validate_well_under_fifty_milliseconds() -> None:
    graph = large_graph(1000)
    assert validate(graph) == []
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        validate(graph)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.05
