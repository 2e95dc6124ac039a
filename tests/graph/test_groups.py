"""Groups: mutators and signals, boundary ports, project files, validation, the block library."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from designer.graph.errors import CycleError, GraphError, GroupError, NameError_, ProjectError
from designer.graph.groups import (
    block_dir,
    block_path,
    block_to_dict,
    groups_without,
    instantiate_block,
    library_blocks,
    load_block,
    local_name,
    make_group,
    port_labels,
    save_block,
)
from designer.graph.model import (
    INPUT_PORTS,
    MERGE_PORTS,
    BoundaryInput,
    Edge,
    Group,
    ModelGraph,
    Node,
    PortLayout,
)
from designer.graph.project import from_dict, load, save, to_dict
from designer.graph.validation import validate

PORTS = {
    "Input": INPUT_PORTS,
    "Dense": PortLayout(),
    "Add": MERGE_PORTS,
    "Split": PortLayout(outputs=("first", "second")),
}
GROUP_SIGNALS = ("group_added", "group_removed", "group_changed")


def ports_of(type_key: str) -> PortLayout | None:
    return PORTS.get(type_key)


def add(graph: ModelGraph, type_key: str, name: str, *sources: str, **fields: Any) -> str:
    node = graph.add_node(Node(graph.new_id(), type_key, name, ports=PORTS[type_key], **fields))
    for port, source in enumerate(sources):
        graph.connect(Edge(source, 0, node.id, port))
    return node.id


def residual_graph() -> tuple[ModelGraph, dict[str, str]]:
    """x -> dense_1 -> dense_2 -> add(dense_2, x) -> head; the block is dense_1, dense_2, add."""
    graph = ModelGraph("residual")
    ids = {"x": add(graph, "Input", "x", params={"shape": [4]})}
    ids["dense_1"] = add(graph, "Dense", "dense_1", ids["x"], params={"units": 4})
    ids["dense_2"] = add(graph, "Dense", "dense_2", ids["dense_1"], params={"units": 4})
    ids["add"] = add(graph, "Add", "add", ids["dense_2"], ids["x"])
    ids["head"] = add(graph, "Dense", "head", ids["add"], params={"units": 2})
    graph.mark_output(ids["head"])
    return graph, ids


def block_of(graph: ModelGraph, ids: dict[str, str], name: str = "block") -> Group:
    return graph.add_group(make_group(graph, [ids["add"], ids["dense_1"], ids["dense_2"]], name))


@pytest.fixture
def emitted() -> list[tuple[str, tuple[Any, ...]]]:
    return []


def listen(graph: ModelGraph, events: list[tuple[str, tuple[Any, ...]]]) -> None:
    for name in GROUP_SIGNALS:
        getattr(graph.events, name).connect(lambda *arguments, name=name: events.append((name, arguments)))


# ------------------------------------------------------------------ mutators
def test_group_then_ungroup_emits_once_each_and_restores_an_equal_graph(emitted: list) -> None:
    graph, ids = residual_graph()
    before = graph.copy()
    listen(graph, emitted)
    version = graph.structure_version
    group = block_of(graph, ids)
    assert group == Group("g1", "block", (ids["dense_1"], ids["dense_2"], ids["add"]))
    assert (group.block, group.class_name, group.collapsed) == ("block", "Block", True)
    assert graph.group_of(ids["add"]) == group and graph.group_of(ids["head"]) is None
    assert graph.structure_version > version and graph != before
    graph.remove_group(group.id)
    assert emitted == [("group_added", (group,)), ("group_removed", (group,))]
    assert graph == before and graph.group_of(ids["add"]) is None


def test_changes_emit_group_changed_only_when_something_changes(emitted: list) -> None:
    graph, ids = residual_graph()
    group = block_of(graph, ids)
    listen(graph, emitted)
    graph.set_group_collapsed(group.id, True)
    graph.update_group(group)
    assert emitted == []
    graph.set_group_collapsed(group.id, False)
    graph.rename_group(group.id, "residual_block")
    renamed = graph.group(group.id)
    assert (renamed.name, renamed.block, renamed.collapsed) == ("residual_block", "residual_block", False)
    assert [name for name, _ in emitted] == ["group_changed", "group_changed"]
    assert emitted[-1][1] == (renamed,)


def test_a_renamed_instance_keeps_a_block_type_that_other_instances_have() -> None:
    graph, ids = residual_graph()
    block_of(graph, ids)
    head = Group("g9", "head_block", (ids["head"],), block="block")
    graph.add_group(head)
    graph.rename_group("g9", "classifier")
    assert graph.group("g9").block == "block"


def test_set_groups_replaces_all_groups_as_undo_needs(emitted: list) -> None:
    graph, ids = residual_graph()
    group = block_of(graph, ids)
    old = list(graph.groups.values())
    head = Group("g2", "head_block", (ids["head"],))
    listen(graph, emitted)
    graph.set_groups([dataclasses.replace(group, collapsed=False), head])
    assert [name for name, _ in emitted] == ["group_changed", "group_added"]
    emitted.clear()
    graph.set_groups(old)
    assert [name for name, _ in emitted] == ["group_removed", "group_changed"]
    assert list(graph.groups.values()) == old


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda ids: Group("g5", "inputs", (ids["x"], ids["dense_1"])), GroupError, "is an Input node"),
        (lambda ids: Group("g5", "again", (ids["add"],)), GroupError, "already in the block 'block'"),
        (lambda ids: Group("g5", "head", (ids["head"],)), NameError_, "already used by a node"),
        (lambda ids: Group("g5", "block", (ids["head"],)), NameError_, "already used by another block"),
        (lambda ids: Group("g5", "2nd", (ids["head"],)), NameError_, "not a valid block name"),
        (lambda ids: Group("g5", "b", (ids["head"],), block="block_"), NameError_, "both become the class"),
        (lambda ids: Group("g5", "empty", ()), GroupError, "has no nodes"),
        (lambda ids: Group("g5", "ghost", ("n99",)), GraphError, "no node with id 'n99'"),
        (lambda ids: Group("g1", "twice", (ids["head"],)), GroupError, "already exists"),
        (lambda ids: Group(ids["head"], "clash", (ids["head"],)), GroupError, "a node's id"),
    ],
)
def test_add_group_refusals_say_why(change: Any, error: type, message: str) -> None:
    graph, ids = residual_graph()
    block_of(graph, ids)
    before = graph.copy()
    with pytest.raises(error, match=message):
        graph.add_group(change(ids))
    assert graph == before


def test_a_block_cannot_surround_an_outside_node() -> None:
    graph, ids = residual_graph()
    with pytest.raises(CycleError, match="'dense_2' lies between nodes of the block 'block'"):
        graph.add_group(Group("g1", "block", (ids["dense_1"], ids["add"])))


def test_an_edge_that_leaves_a_block_and_comes_back_is_refused() -> None:
    graph, ids = residual_graph()
    side = add(graph, "Dense", "side")
    graph.add_group(Group("g1", "block", (ids["dense_1"], ids["dense_2"])))
    graph.connect(Edge(ids["dense_1"], 0, side, 0))
    with pytest.raises(CycleError, match="through the block 'block'"):
        graph.connect(Edge(side, 0, graph.node_by_name("dense_2").id, 0))  # occupied port checked later
    inner = add(graph, "Dense", "inner")
    graph.update_group(Group("g1", "block", (ids["dense_1"], ids["dense_2"], inner)))
    with pytest.raises(CycleError, match="side -> inner"):
        graph.connect(Edge(side, 0, inner, 0))


def test_node_and_block_names_are_one_namespace() -> None:
    graph, ids = residual_graph()
    block_of(graph, ids)
    with pytest.raises(NameError_, match="already used by the block 'block'"):
        graph.rename(ids["head"], "block")
    assert graph.unique_name("block") == "block_1"


def test_removing_a_member_leaves_its_group_and_the_last_one_removes_it(emitted: list) -> None:
    graph, ids = residual_graph()
    group = block_of(graph, ids)
    listen(graph, emitted)
    graph.remove_node(ids["add"])
    assert graph.group(group.id).nodes == (ids["dense_1"], ids["dense_2"])
    graph.remove_node(ids["dense_1"])
    graph.remove_node(ids["dense_2"])
    assert [name for name, _ in emitted] == ["group_changed", "group_changed", "group_removed"]
    assert graph.groups == {}


def test_undoing_a_deletion_inside_a_block_restores_the_groups_with_set_groups() -> None:
    """The UI's delete macro: Disconnect..., SetGroups(without the nodes), RemoveNode...; its
    undo re-adds the nodes, then the groups, then the edges (an edge back into a block whose
    member is not yet restored would be a cycle through the block)."""
    graph, ids = residual_graph()
    block_of(graph, ids)
    before, groups = graph.copy(), list(graph.groups.values())
    node = copy.deepcopy(graph.node(ids["dense_2"]))
    edges = graph.input_edges(node.id) + graph.output_edges(node.id)
    for edge in edges:
        graph.disconnect(edge)
    graph.set_groups(
        [dataclasses.replace(g, nodes=tuple(n for n in g.nodes if n != node.id)) for g in groups]
    )
    graph.remove_node(node.id)
    graph.add_node(node)
    graph.set_groups(groups)
    for edge in edges:
        graph.connect(edge)
    assert graph == before
    with pytest.raises(CycleError):
        graph.set_groups([dataclasses.replace(groups[0], nodes=(ids["dense_1"], ids["add"]))])


def test_instantiating_a_block_and_undoing_it_restores_the_graph() -> None:
    graph, ids = residual_graph()
    owner = block_of(graph, ids)
    before = graph.copy()
    nodes, edges, group = instantiate_block(
        graph, block_to_dict(graph, owner.id), (0.0, 0.0), ports_of=ports_of
    )
    for node in nodes:
        graph.add_node(node)
    for edge in edges:
        graph.connect(edge)
    graph.add_group(group)
    assert graph.check_group(group) is None and len(graph.groups) == 2
    graph.remove_group(group.id)
    for edge in reversed(edges):
        graph.disconnect(edge)
    for node in reversed(nodes):
        graph.remove_node(node.id)
    assert graph == before


def test_removing_the_owner_block_stops_its_sharers_sharing() -> None:
    graph, ids = residual_graph()
    owner = graph.add_group(Group("g1", "owner", (ids["head"],)))
    other = add(graph, "Dense", "other", ids["add"], shares=ids["head"])
    graph.add_group(Group("g2", "copy", (other,), block="owner", shares=owner.id))
    with pytest.raises(GroupError, match="'copy' shares the weights of 'owner'; ungroup it first"):
        graph.remove_group(owner.id)
    graph.remove_node(ids["head"])
    assert graph.group("g2").shares is None and graph.node(other).shares is None


def test_groups_without_deleted_nodes_is_what_removing_them_does_to_the_groups() -> None:
    graph, ids = residual_graph()
    block = block_of(graph, ids)
    head = graph.add_group(Group("g2", "head_block", (ids["head"],)))
    kept = groups_without(graph, [ids["dense_2"]])
    assert kept == [dataclasses.replace(block, nodes=(ids["dense_1"], ids["add"])), head]
    assert kept[1] is head  # untouched groups are the same objects
    assert groups_without(graph, [ids["head"], ids["x"]]) == [block]
    probe = graph.copy()
    for node_id in (ids["dense_1"], ids["dense_2"], ids["add"]):
        probe.remove_node(node_id)
    assert groups_without(graph, [ids["dense_1"], ids["dense_2"], ids["add"]]) == list(probe.groups.values())


def test_groups_without_stops_sharing_a_block_that_went_or_changed() -> None:
    graph, ids = residual_graph()
    owner = graph.add_group(Group("g1", "owner", (ids["head"],)))
    other = add(graph, "Dense", "other", ids["add"], shares=ids["head"])
    sharer = graph.add_group(Group("g2", "copy", (other,), block="owner", shares=owner.id))
    assert groups_without(graph, [ids["head"]]) == [dataclasses.replace(sharer, shares=None)]
    assert groups_without(graph, [ids["x"]]) == [owner, sharer]
    graph.set_groups(groups_without(graph, [ids["head"]]))  # the graph takes them as they are
    assert graph.group("g2").shares is None


# ------------------------------------------------------------------ boundary
def test_boundary_merges_ports_fed_by_one_tensor_and_lists_used_and_final_outputs() -> None:
    graph, ids = residual_graph()
    group = graph.add_group(Group("g1", "block", (ids["dense_1"], ids["dense_2"], ids["add"])))
    inputs, outputs = graph.boundary(group.id)
    assert inputs == (BoundaryInput(((ids["dense_1"], 0), (ids["add"], 1)), (ids["x"], 0)),)
    assert [(o.node, o.port, o.edges) for o in outputs] == [
        (ids["add"], 0, (Edge(ids["add"], 0, ids["head"], 0),))
    ]
    graph.disconnect(Edge(ids["x"], 0, ids["add"], 1))
    inputs, _ = graph.boundary(group.id)
    assert [(i.consumers, i.source) for i in inputs] == [
        (((ids["dense_1"], 0),), (ids["x"], 0)),
        (((ids["add"], 1),), None),
    ]
    assert port_labels(graph, group.id) == (["x", "add.1"], ["add"])
    graph.rename(ids["add"], "block_add")  # members go by their names inside the block
    assert port_labels(graph, group.id) == (["x", "add.1"], ["add"])


def test_a_member_marked_as_model_output_is_a_block_output() -> None:
    graph, ids = residual_graph()
    graph.mark_output(ids["dense_1"], 0, "hidden")
    group = graph.add_group(Group("g1", "block", (ids["dense_1"], ids["dense_2"])))
    assert [(o.node, o.port) for o in graph.boundary(group.id).outputs] == [
        (ids["dense_1"], 0),
        (ids["dense_2"], 0),
    ]


# ---------------------------------------------------------------- save, load
def test_groups_round_trip_through_a_project_file(tmp_path: Path) -> None:
    graph, ids = residual_graph()
    block_of(graph, ids)
    graph.add_group(Group("g2", "classifier", (ids["head"],), block="head", collapsed=False))
    save(tmp_path / "design.json", graph)
    data = json.loads((tmp_path / "design.json").read_text(encoding="utf-8"))
    assert data["groups"][1] == {
        "id": "g2",
        "name": "classifier",
        "nodes": [ids["head"]],
        "block": "head",
        "shares": None,
        "collapsed": False,
    }
    loaded = load(tmp_path / "design.json", ports_of).graph
    assert loaded == graph
    assert loaded.new_group_id() == "g3"


def test_a_shared_block_loads_whichever_comes_first() -> None:
    graph, ids = residual_graph()
    other = add(graph, "Dense", "other", ids["add"], shares=ids["head"])
    graph.add_group(Group("g1", "owner", (ids["head"],)))
    graph.add_group(Group("g2", "copy", (other,), block="owner", shares="g1"))
    data = to_dict(graph)
    data["groups"].reverse()
    loaded = from_dict(data, ports_of).graph
    assert loaded.group("g2").shares == "g1"


def group_data() -> dict[str, Any]:
    graph, ids = residual_graph()
    block_of(graph, ids)
    graph.add_group(Group("g2", "classifier", (ids["head"],)))
    return to_dict(graph)


def setting(path: tuple[Any, ...], value: Any) -> Any:
    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return data

    return mutate


MALFORMED = [
    (setting(("groups", 0, "nodes", 2), "n9"), "$.groups[0].nodes[2]", "group of missing node 'n9'"),
    (setting(("groups", 0, "nodes", 2), 3), "$.groups[0].nodes[2]", "expected a string, got int"),
    (setting(("groups", 1, "nodes", 0), "n2"), "$.groups[1].nodes[0]", "node 'n2' is in the group 'g1'"),
    (setting(("groups", 0, "nodes", 1), "n2"), "$.groups[0].nodes[1]", "is in this group already"),
    (setting(("groups", 1, "id"), "g1"), "$.groups[1].id", "duplicate group id 'g1'"),
    (setting(("groups", 0, "name"), "my block"), "$.groups[0].name", "not a valid block name"),
    (setting(("groups", 1, "name"), "head"), "$.groups[1]", "already used by a node"),
    (setting(("groups", 0, "colour"), "red"), "$.groups[0].colour", "unexpected key 'colour'"),
    (setting(("groups", 0, "collapsed"), "yes"), "$.groups[0].collapsed", "expected true or false"),
    (setting(("groups", 1, "shares"), "g7"), "$.groups[1].shares", "shares missing group 'g7'"),
    (setting(("groups", 1, "shares"), "g1"), "$.groups[1].shares", "expected the same block type"),
    (setting(("groups", 0), []), "$.groups[0]", "expected an object, got list"),
]


@pytest.mark.parametrize(
    ("mutate", "path", "message"), MALFORMED, ids=[case[1] + case[2] for case in MALFORMED]
)
def test_malformed_groups_name_the_json_path(mutate: Any, path: str, message: str) -> None:
    with pytest.raises(ProjectError) as caught:
        from_dict(mutate(group_data()), ports_of)
    assert caught.value.path == path
    assert message in caught.value.problem


# ---------------------------------------------------------------- validation
def group_codes(graph: ModelGraph) -> list[tuple[str, str, str | None]]:
    return [(d.severity, d.message, d.node) for d in validate(graph) if d.code == "group"]


def test_a_block_in_pieces_or_giving_nothing_is_reported_on_its_first_node() -> None:
    graph, ids = residual_graph()
    side = add(graph, "Dense", "side", ids["x"])
    graph.mark_output(side)
    graph.add_group(Group("g1", "pieces", (ids["dense_1"], side)))
    [(severity, message, node)] = group_codes(graph)
    assert (severity, node) == ("warning", ids["dense_1"]) and "not connected to each other" in message
    graph.remove_group("g1")
    lonely = add(graph, "Dense", "lonely", ids["x"])
    graph.add_group(Group("g1", "unused", (lonely,)))
    assert graph.boundary("g1").outputs[0].edges == ()
    [(severity, message, node)] = group_codes(graph)
    assert (severity, node) == ("warning", lonely) and "gives nothing to the model" in message
    assert group_codes(residual_graph()[0]) == []


def test_a_member_sharing_a_layer_across_blocks_is_an_error() -> None:
    graph, ids = residual_graph()
    graph.set_shares(ids["dense_2"], ids["head"])
    graph.add_group(Group("g1", "block", (ids["dense_1"], ids["dense_2"])))
    [(severity, message, node)] = group_codes(graph)
    assert (severity, node) == ("error", ids["dense_2"])
    assert "shares the layer of 'head', which is outside the block 'block'" in message
    graph.set_shares(ids["dense_2"], None)
    graph.set_shares(ids["head"], ids["dense_2"])
    [(_, message, node)] = group_codes(graph)
    assert (
        node == ids["head"] and "shares the layer of 'dense_2', which is inside the block 'block'" in message
    )


def test_a_shared_instance_wired_otherwise_is_an_error() -> None:
    graph, ids = residual_graph()
    owner = block_of(graph, ids)
    nodes, edges, copy = instantiate_block(
        graph, block_to_dict(graph, owner.id), (0.0, 0.0), owner.id, ports_of=ports_of
    )
    for node in nodes:
        graph.add_node(node)
    for edge in edges:
        graph.connect(edge)
    graph.add_group(copy)
    graph.connect(Edge(ids["head"], 0, nodes[0].id, 0))
    graph.connect(Edge(ids["head"], 0, nodes[2].id, 1))
    graph.mark_output(nodes[2].id, 0, "again")
    assert group_codes(graph) == []
    graph.disconnect(Edge(nodes[1].id, 0, nodes[2].id, 0))
    graph.connect(Edge(nodes[0].id, 0, nodes[2].id, 0))
    [(severity, message, node)] = group_codes(graph)
    assert (severity, node) == ("error", nodes[0].id)
    assert "shares the weights of 'block', but its nodes are connected differently inside" in message


# ------------------------------------------------------------- block library
def test_make_group_orders_members_and_names_freely() -> None:
    graph, ids = residual_graph()
    group = make_group(graph, [ids["add"], ids["dense_2"], ids["dense_1"]], "head")
    assert (group.name, group.nodes) == ("head_1", (ids["dense_1"], ids["dense_2"], ids["add"]))
    with pytest.raises(GroupError, match="is an Input node"):
        make_group(graph, [ids["x"]])


def test_block_data_holds_the_subgraph_with_local_names_and_relative_positions() -> None:
    graph, ids = residual_graph()
    graph.rename(ids["dense_1"], "block_dense_1")
    graph.move(ids["dense_1"], (100.0, 50.0))
    graph.move(ids["dense_2"], (300.0, 80.0))
    graph.move(ids["add"], (500.0, 50.0))
    group = block_of(graph, ids)
    assert local_name(group, "block_dense_1") == "dense_1" and local_name(group, "block_2") == "block_2"
    data = block_to_dict(graph, group.id)
    assert [(n["id"], n["name"], n["position"]) for n in data["nodes"]] == [
        ("n1", "dense_1", [0.0, 0.0]),
        ("n2", "dense_2", [200.0, 30.0]),
        ("n3", "add", [400.0, 0.0]),
    ]
    assert data["edges"] == [
        {"source": "n1", "source_port": 0, "target": "n2", "target_port": 0},
        {"source": "n2", "source_port": 0, "target": "n3", "target_port": 0},
    ]
    assert data["inputs"] == [[{"node": "n1", "port": 0}, {"node": "n3", "port": 1}]]
    assert data["outputs"] == [{"node": "n3", "port": 0}]
    assert (data["name"], data["block"], data["format_version"]) == ("block", "block", 1)


def test_a_saved_block_is_reused_as_a_new_instance_in_another_design(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGNER_BLOCK_DIR", str(tmp_path / "blocks"))
    graph, ids = residual_graph()
    group = block_of(graph, ids, "residual")
    save_block(block_path("residual"), block_to_dict(graph, group.id))
    assert library_blocks() == [tmp_path / "blocks" / "residual.json"] == [block_path("residual")]
    assert block_dir() == tmp_path / "blocks"
    data = load_block(block_path("residual"))
    assert data == block_to_dict(graph, group.id)

    other = residual_graph()[0]
    nodes, edges, instance = instantiate_block(other, data, (1000.0, 10.0), ports_of=ports_of)
    assert [node.name for node in nodes] == ["residual_dense_1", "residual_dense_2", "residual_add"]
    assert {node.id for node in nodes}.isdisjoint(other.nodes)
    assert nodes[0].position == (1000.0, 10.0) and nodes[0].params == {"units": 4}
    assert (instance.name, instance.block, instance.shares) == ("residual", "residual", None)
    for node in nodes:
        other.add_node(node)
    for edge in edges:
        other.connect(edge)
    other.add_group(instance)
    assert [(i.consumers, i.source) for i in other.boundary(instance.id).inputs] == [
        (((nodes[0].id, 0),), None),
        (((nodes[2].id, 1),), None),
    ]
    again = instantiate_block(other, data, (0.0, 0.0), ports_of=ports_of)[2]
    assert again.name == "residual_1" and again.id != instance.id


def test_a_shared_instance_reuses_the_weights_of_the_owner() -> None:
    graph, ids = residual_graph()
    owner = block_of(graph, ids)
    data = block_to_dict(graph, owner.id)
    nodes, _, shared = instantiate_block(graph, data, (0.0, 0.0), owner.id, ports_of=ports_of)
    assert [node.shares for node in nodes] == list(owner.nodes)
    assert all(node.params == {} for node in nodes)
    assert (shared.shares, shared.block) == (owner.id, "block")
    other_block = dict(data, block="other")
    with pytest.raises(GroupError, match="only an instance of the same block can share"):
        instantiate_block(graph, other_block, (0.0, 0.0), owner.id, ports_of=ports_of)


BAD_BLOCKS = [
    (lambda data: data["edges"][0].update(target="n7"), "$.edges[0].target", "edge of missing node 'n7'"),
    (lambda data: data["inputs"][0][0].update(port=-1), "$.inputs[0][0].port", "cannot be negative"),
    (lambda data: data["nodes"][1].update(name="dense_1"), "$.nodes[1].name", "unique node name"),
    (lambda data: data.update(format_version=7), "$.format_version", "unsupported block format_version 7"),
    (lambda data: data.pop("outputs"), "$.outputs", "missing key 'outputs'"),
    (lambda data: data["nodes"][0].update(shares="n9"), "$.nodes[0].shares", "shares missing node 'n9'"),
]


@pytest.mark.parametrize(("damage", "path", "message"), BAD_BLOCKS, ids=[case[1] for case in BAD_BLOCKS])
def test_a_bad_block_file_is_a_project_error_with_its_path(
    tmp_path: Path, damage: Any, path: str, message: str
) -> None:
    graph, ids = residual_graph()
    data = block_to_dict(graph, block_of(graph, ids).id)
    damage(data)
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProjectError) as caught:
        load_block(file)
    assert (caught.value.path, caught.value.file) == (path, str(file))
    assert message in caught.value.problem
    with pytest.raises(ProjectError):
        save_block(tmp_path / "refused.json", data)
    assert not (tmp_path / "refused.json").exists()


def test_a_block_file_that_is_not_json_or_names_an_unknown_layer_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "broken.json"
    file.write_text("{", encoding="utf-8")
    with pytest.raises(ProjectError, match=r"broken.json: \$: not JSON"):
        load_block(file)
    graph, ids = residual_graph()
    data = block_to_dict(graph, block_of(graph, ids).id)
    data["nodes"][0]["type"] = "Dens"
    with pytest.raises(ProjectError, match=r"\$.nodes\[0\].type: unknown layer type 'Dens'"):
        instantiate_block(graph, data, (0.0, 0.0), ports_of=ports_of)
