"""ModelGraph: mutators emit one past-tense signal on real change only; checks refuse bad edits."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from designer.graph.errors import (
    CycleError,
    GraphError,
    NameError_,
    PortError,
    PortOccupiedError,
    SharingError,
    UnknownNodeError,
)
from designer.graph.model import (
    INPUT_PORTS,
    MERGE_PORTS,
    Edge,
    ModelGraph,
    ModelOutput,
    Node,
    PortLayout,
    is_valid_name,
)

PORTS = {
    "Input": INPUT_PORTS,
    "Dense": PortLayout(),
    "Add": MERGE_PORTS,
    "Attention": PortLayout(inputs=("query", "value")),
    "Split": PortLayout(outputs=("first", "second")),
}
SIGNALS = (
    "node_added",
    "node_removed",
    "edge_added",
    "edge_removed",
    "params_changed",
    "node_renamed",
    "node_moved",
    "sharing_changed",
    "outputs_changed",
    "name_changed",
)


def add(graph: ModelGraph, type_key: str, name: str, **fields: Any) -> Node:
    return graph.add_node(Node(graph.new_id(), type_key, name, ports=PORTS[type_key], **fields))


def link(graph: ModelGraph, source: Node, target: Node, target_port: int = 0, source_port: int = 0) -> Edge:
    return graph.connect(Edge(source.id, source_port, target.id, target_port))


@pytest.fixture
def graph() -> ModelGraph:
    return ModelGraph("model")


@pytest.fixture
def emitted(graph: ModelGraph) -> list[tuple[str, tuple[Any, ...]]]:
    """Every signal the graph emits, as (signal name, arguments), in order."""
    events: list[tuple[str, tuple[Any, ...]]] = []
    for name in SIGNALS:
        getattr(graph.events, name).connect(lambda *arguments, name=name: events.append((name, arguments)))
    return events


def names_of(events: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    return [name for name, _ in events]


# -------------------------------------------------------------------- signals
def test_add_node_emits_once(graph: ModelGraph, emitted: list) -> None:
    node = add(graph, "Dense", "dense")
    assert emitted == [("node_added", (node,))]


def test_refused_add_node_emits_nothing(graph: ModelGraph) -> None:
    add(graph, "Dense", "dense")
    events: list[object] = []
    graph.events.node_added.connect(events.append)
    with pytest.raises(NameError_, match="'dense' is already used"):
        add(graph, "Dense", "dense")
    with pytest.raises(NameError_, match="'2x' is not a valid name"):
        add(graph, "Dense", "2x")
    assert events == []
    assert len(graph) == 1


def test_connect_and_disconnect_emit_once(graph: ModelGraph, emitted: list) -> None:
    source, target = add(graph, "Input", "x"), add(graph, "Dense", "dense")
    emitted.clear()
    edge = link(graph, source, target)
    graph.disconnect(edge)
    assert emitted == [("edge_added", (edge,)), ("edge_removed", (edge,))]
    with pytest.raises(GraphError, match="There is no edge"):
        graph.disconnect(edge)


def test_set_params_emits_only_on_change(graph: ModelGraph, emitted: list) -> None:
    node = add(graph, "Dense", "dense", params={"units": 4})
    emitted.clear()
    graph.set_params(node.id, {"units": 4})
    assert emitted == []
    new = {"units": 8}
    graph.set_params(node.id, new)
    assert emitted == [("params_changed", (node.id, {"units": 4}, {"units": 8}))]
    new["units"] = 16
    assert graph.node(node.id).params == {"units": 8}


def test_rename_emits_only_on_change(graph: ModelGraph, emitted: list) -> None:
    node = add(graph, "Dense", "dense")
    add(graph, "Dense", "other")
    emitted.clear()
    graph.rename(node.id, "dense")
    with pytest.raises(NameError_, match="'other' is already used"):
        graph.rename(node.id, "other")
    with pytest.raises(NameError_, match="'for' is not a valid name"):
        graph.rename(node.id, "for")
    graph.rename(node.id, "hidden")
    assert emitted == [("node_renamed", (node.id, "dense", "hidden"))]


def test_move_emits_only_on_change(graph: ModelGraph, emitted: list) -> None:
    node = add(graph, "Dense", "dense", position=(1.0, 2.0))
    emitted.clear()
    graph.move(node.id, (1, 2))
    graph.move(node.id, (3, 2))
    assert emitted == [("node_moved", (node.id, (3.0, 2.0)))]


def test_set_name_emits_only_on_change(graph: ModelGraph, emitted: list) -> None:
    graph.set_name("model")
    with pytest.raises(NameError_, match="'my model' is not a valid model name"):
        graph.set_name("my model")
    graph.set_name("classifier")
    assert emitted == [("name_changed", ("classifier",))]


def test_output_marks_emit_only_on_change(graph: ModelGraph, emitted: list) -> None:
    node = add(graph, "Split", "split")
    emitted.clear()
    first = graph.mark_output(node.id, 0)
    graph.mark_output(node.id, 0)
    renamed = graph.mark_output(node.id, 0, "logits")
    graph.unmark_output(node.id, 1)
    graph.set_outputs([renamed])
    graph.unmark_output(node.id, 0)
    assert first == ModelOutput(node.id, 0, "split")
    assert names_of(emitted) == ["outputs_changed"] * 3
    assert emitted[1] == ("outputs_changed", ((renamed,),))
    assert graph.outputs == ()


def test_mark_output_refuses_bad_port_and_taken_name(graph: ModelGraph, emitted: list) -> None:
    node = add(graph, "Split", "split")
    graph.mark_output(node.id, 0, "y")
    emitted.clear()
    with pytest.raises(PortError, match="'split' has no output 2"):
        graph.mark_output(node.id, 2)
    with pytest.raises(NameError_, match="already called 'y'"):
        graph.mark_output(node.id, 1, "y")
    with pytest.raises(NameError_, match="'1y' is not a valid output name"):
        graph.mark_output(node.id, 1, "1y")
    assert emitted == []


def test_remove_node_removes_its_edges_outputs_and_sharers(graph: ModelGraph, emitted: list) -> None:
    source = add(graph, "Input", "x")
    dense = add(graph, "Dense", "dense", params={"units": 3})
    after = add(graph, "Dense", "after")
    sharer = add(graph, "Dense", "again", shares=dense.id)
    edges = [link(graph, source, dense), link(graph, dense, after), link(graph, dense, sharer)]
    graph.mark_output(dense.id)
    graph.mark_output(after.id)
    emitted.clear()
    assert graph.remove_node(dense.id) is dense
    assert emitted[-1] == ("node_removed", (dense,))
    assert sorted(args[0] for name, args in emitted if name == "edge_removed") == sorted(edges)
    assert names_of(emitted).count("outputs_changed") == 1
    assert ("sharing_changed", (sharer.id, None)) in emitted
    assert graph.edges == [] and graph.outputs == (ModelOutput(after.id, 0, "after"),)
    assert graph.node(sharer.id).shares is None
    with pytest.raises(UnknownNodeError, match=f"no node with id '{dense.id}'"):
        graph.node(dense.id)


# ---------------------------------------------------------------- check_connect
def test_self_loop_is_refused_naming_the_node(graph: ModelGraph) -> None:
    node = add(graph, "Dense", "dense")
    with pytest.raises(CycleError, match="Cannot connect 'dense' to itself") as caught:
        graph.check_connect(Edge(node.id, 0, node.id, 0))
    assert caught.value.cycle == [node.id]


def test_cycle_is_refused_naming_the_path(graph: ModelGraph, emitted: list) -> None:
    first, second, third = (add(graph, "Dense", name) for name in ("first", "second", "third"))
    link(graph, first, second)
    link(graph, second, third)
    emitted.clear()
    with pytest.raises(
        CycleError, match="'third' to 'first' would make a cycle: first -> second -> third -> first"
    ):
        link(graph, third, first)
    assert emitted == []
    assert len(graph.edges) == 2


def test_occupied_port_is_refused_naming_the_feeder(graph: ModelGraph) -> None:
    first, second = add(graph, "Input", "first"), add(graph, "Input", "second")
    dense = add(graph, "Dense", "dense")
    existing = link(graph, first, dense)
    with pytest.raises(PortOccupiedError, match="Input 0 of 'dense' is already fed by 'first'") as caught:
        link(graph, second, dense)
    assert caught.value.existing == existing


@pytest.mark.parametrize(
    ("source_port", "target_port", "message"),
    [
        (2, 0, "'split' has 2 output\\(s\\); there is no output 2"),
        (-1, 0, "there is no output -1"),
        (0, 2, "'attention' \\(Attention\\) takes 2 input\\(s\\); there is no input 2"),
        (0, -1, "there is no input -1"),
    ],
)
def test_bad_port_index_is_refused(
    graph: ModelGraph, source_port: int, target_port: int, message: str
) -> None:
    split, attention = add(graph, "Split", "split"), add(graph, "Attention", "attention")
    with pytest.raises(PortError, match=message):
        graph.check_connect(Edge(split.id, source_port, attention.id, target_port))


def test_unknown_node_is_refused(graph: ModelGraph) -> None:
    node = add(graph, "Dense", "dense")
    with pytest.raises(UnknownNodeError, match="'n99'"):
        graph.check_connect(Edge("n99", 0, node.id, 0))


def test_variadic_node_takes_any_port(graph: ModelGraph) -> None:
    source, merge = add(graph, "Input", "x"), add(graph, "Add", "add")
    assert graph.input_port_count(merge.id) == 2
    link(graph, source, merge, target_port=4)
    assert graph.input_port_count(merge.id) == 6
    assert graph.input_port_count(source.id) == 0


# ---------------------------------------------------------------------- sharing
def test_sharing_emits_clears_params_and_refuses_edits(graph: ModelGraph, emitted: list) -> None:
    owner = add(graph, "Dense", "owner", params={"units": 2})
    sharer = add(graph, "Dense", "sharer", params={"units": 5})
    emitted.clear()
    graph.set_shares(sharer.id, owner.id)
    graph.set_shares(sharer.id, owner.id)
    assert emitted == [("sharing_changed", (sharer.id, owner.id))]
    assert sharer.params == {} and graph.layer_owner(sharer.id) is owner
    assert graph.sharers(owner.id) == [sharer]
    with pytest.raises(SharingError, match="'sharer' shares the layer of 'owner': edit 'owner' instead"):
        graph.set_params(sharer.id, {"units": 1})


def test_sharing_refuses_other_types_inputs_and_chains(graph: ModelGraph) -> None:
    owner, sharer = add(graph, "Dense", "owner"), add(graph, "Dense", "sharer", shares=None)
    source, split = add(graph, "Input", "x"), add(graph, "Split", "split")
    graph.set_shares(sharer.id, owner.id)
    with pytest.raises(
        SharingError, match="'split' \\(Split\\) cannot share the layer of 'owner' \\(Dense\\)"
    ):
        graph.set_shares(split.id, owner.id)
    with pytest.raises(SharingError, match="cannot share the layer of 'x' \\(Input\\)"):
        graph.add_node(Node(graph.new_id(), "Input", "y", ports=INPUT_PORTS, shares=source.id))
    third = add(graph, "Dense", "third")
    with pytest.raises(SharingError, match="'sharer' itself shares a layer"):
        graph.set_shares(third.id, sharer.id)
    with pytest.raises(SharingError, match="Other nodes share the layer of 'owner'"):
        graph.set_shares(owner.id, third.id)


def test_downstream_includes_sharers(graph: ModelGraph) -> None:
    source, owner = add(graph, "Input", "x"), add(graph, "Dense", "owner")
    after, sharer = add(graph, "Dense", "after"), add(graph, "Dense", "sharer", shares=owner.id)
    link(graph, source, owner)
    link(graph, owner, after)
    assert graph.downstream([owner.id]) == {owner.id, after.id, sharer.id}
    assert graph.downstream([source.id]) == {source.id, owner.id, after.id, sharer.id}


# ---------------------------------------------------------------------- queries
def test_topological_order_breaks_ties_by_insertion(graph: ModelGraph) -> None:
    late = add(graph, "Dense", "late")
    source = add(graph, "Input", "x")
    other = add(graph, "Dense", "other")
    link(graph, source, late)
    assert graph.topological_order() == [source.id, late.id, other.id]


def test_new_id_skips_taken_and_reserve_ids_moves_past_loaded_ids(graph: ModelGraph) -> None:
    graph.add_node(Node("n2", "Dense", "taken", ports=PORTS["Dense"]))
    assert [graph.new_id(), graph.new_id()] == ["n1", "n3"]
    graph.add_node(Node("n9", "Dense", "loaded", ports=PORTS["Dense"]))
    graph.add_node(Node("custom", "Dense", "custom", ports=PORTS["Dense"]))
    graph.reserve_ids()
    graph.remove_node("n9")
    assert graph.new_id() == "n10"


def test_copy_is_equal_and_independent(graph: ModelGraph) -> None:
    source, dense = add(graph, "Input", "x"), add(graph, "Dense", "dense", params={"units": [1, 2]})
    link(graph, source, dense)
    graph.mark_output(dense.id)
    clone = graph.copy()
    assert clone == graph and clone is not graph
    clone.set_params(dense.id, {"units": [3]})
    assert clone != graph and graph.node(dense.id).params == {"units": [1, 2]}


def test_unique_name_and_valid_names(graph: ModelGraph) -> None:
    add(graph, "Dense", "conv2d")
    assert graph.unique_name("Conv2D") == "conv2d_1"
    assert graph.unique_name("class") == "class_"
    assert graph.unique_name("3x3") == "layer_3x3"
    assert is_valid_name("dense_1") and not is_valid_name("lambda") and not is_valid_name("a-b")


def test_graph_package_imports_without_keras_or_qt() -> None:
    code = (
        "import sys\n"
        "import designer.graph.model, designer.graph.validation, designer.graph.project\n"
        "print(sorted({'keras', 'tensorflow', 'PySide6'} & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_design_signals_are_every_signal_but_moves() -> None:
    from psygnal import EmissionInfo

    from designer.graph.model import changes_design

    events = ModelGraph().events
    signals = set(events.signals)
    assert signals == {*SIGNALS, "group_added", "group_removed", "group_changed"}
    assert {name for name in signals if changes_design(EmissionInfo(events[name], ()))} == signals - {
        "node_moved"
    }


def test_graph_events_hands_every_emission_to_one_callback(graph: ModelGraph) -> None:
    from psygnal import EmissionInfo

    infos: list[EmissionInfo] = []
    graph.events.connect(infos.append)
    source, target = add(graph, "Input", "x"), add(graph, "Dense", "dense")
    edge = link(graph, source, target)
    graph.move(target.id, (5.0, 6.0))
    assert [(info.signal.name, info.args) for info in infos] == [
        ("node_added", (source,)),
        ("node_added", (target,)),
        ("edge_added", (edge,)),
        ("node_moved", (target.id, (5.0, 6.0))),
    ]
    clone = graph.copy()
    clone.rename(target.id, "other")
    assert len(infos) == 4  # a copy has signals of its own, with no one listening


def test_no_op_mutators_emit_nothing(graph: ModelGraph) -> None:
    from designer.graph.model import Group

    source, dense = add(graph, "Input", "x"), add(graph, "Dense", "dense", params={"units": 2})
    other = add(graph, "Dense", "other")
    link(graph, source, dense)
    graph.mark_output(dense.id)
    group = graph.add_group(Group("g1", "block", (dense.id,)))
    infos: list[object] = []
    graph.events.connect(infos.append)
    graph.set_name(graph.name)
    graph.set_params(dense.id, {"units": 2})
    graph.rename(dense.id, "dense")
    graph.move(dense.id, dense.position)
    graph.set_shares(other.id, None)
    graph.mark_output(dense.id)
    graph.unmark_output(other.id)
    graph.set_outputs(graph.outputs)
    graph.update_group(group)
    graph.rename_group(group.id, "block")
    graph.set_group_collapsed(group.id, group.collapsed)
    graph.set_groups(list(graph.groups.values()))
    assert infos == []
