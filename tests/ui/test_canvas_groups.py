"""Blocks on the canvas: group and ungroup, the collapsed block, editing inside it, the block library,
and grouping round-tripping through save, load, undo and export."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEventLoop, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMenu
from test_canvas import Canvas, drag
from test_main_window import make_window

from designer.engine.results import NodeResult, TensorSpec
from designer.graph import project
from designer.graph.groups import BLOCK_DIR_VARIABLE, block_path, group_position, load_block
from designer.graph.layout import COLUMN_WIDTH, layered_positions
from designer.graph.model import INPUT_PORTS, Edge, Group, ModelGraph, Node, PortLayout
from designer.graph.validation import Diagnostic
from designer.ui.canvas.block_item import BlockItem
from designer.ui.canvas.block_widgets import BlockNameDialog
from designer.ui.canvas.editor import PendingLink
from designer.ui.canvas.view import BLOCK_MIME
from designer.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
VAE = ROOT / "resources" / "examples" / "vae_digits.json"


@pytest.fixture
def canvas(qtbot: object) -> Canvas:
    return Canvas(qtbot)


@pytest.fixture(autouse=True)
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty block library of its own."""
    folder = tmp_path / "blocks"
    monkeypatch.setenv(BLOCK_DIR_VARIABLE, str(folder))
    return folder


def chain(canvas: Canvas, count: int = 4) -> list[str]:
    """Dense layers left to right, each feeding the next."""
    ids = [canvas.add("Dense", index * 260, 0) for index in range(count)]
    for source, target in itertools.pairwise(ids):
        assert canvas.editor.connect_edge(Edge(source, 0, target, 0))
    return ids


def grouped(canvas: Canvas, node_ids: list[str]) -> str:
    canvas.scene.select_nodes(node_ids)
    group_id = canvas.view.group_selection()
    assert group_id is not None, canvas.messages
    return group_id


def block(canvas: Canvas, group_id: str) -> BlockItem:
    return canvas.scene.blocks.blocks[group_id]


def shown(canvas: Canvas) -> set[str]:
    return {node_id for node_id, item in canvas.scene.node_items.items() if item.isVisible()}


def shown_edges(canvas: Canvas) -> set[Edge]:
    return {edge for edge, item in canvas.scene.edge_items.items() if item.isVisible()}


def block_point(canvas: Canvas, group_id: str) -> QPoint:
    return canvas.view.mapFromScene(block(canvas, group_id).sceneBoundingRect().center())


# ------------------------------------------------------------ group, ungroup
def test_grouping_collapses_the_selection_into_a_block_with_labelled_ports(canvas: Canvas) -> None:
    first, second, third, fourth = chain(canvas)
    steps = canvas.stack.count()
    group_id = grouped(canvas, [second, third])
    assert canvas.stack.count() == steps + 1
    assert canvas.graph.group(group_id).nodes == (second, third)
    item = block(canvas, group_id)
    assert shown(canvas) == {first, fourth} and item.isVisible() and item.isSelected()
    assert (item.name, item.class_text) == ("block", "Block · 2 layers")
    assert (item.input_labels, item.output_labels) == (["dense"], ["dense_2"])
    assert item.pos() == QPointF(*group_position(canvas.graph, group_id))
    into, out_of, inside = Edge(first, 0, second, 0), Edge(third, 0, fourth, 0), Edge(second, 0, third, 0)
    assert shown_edges(canvas) == {into, out_of}
    assert canvas.scene.edge_items[into].end == item.input_anchor(0)
    assert canvas.scene.edge_items[out_of].start == item.output_anchor(0)
    assert not canvas.scene.edge_items[inside].isVisible()
    canvas.stack.undo()
    assert canvas.graph.groups == {} and canvas.scene.blocks.blocks == {}
    assert shown(canvas) == {first, second, third, fourth} and len(shown_edges(canvas)) == 3
    canvas.stack.redo()
    assert set(canvas.scene.blocks.blocks) == {group_id} and shown(canvas) == {first, fourth}


def test_a_selection_that_cannot_be_a_block_is_refused_with_the_graphs_reason(canvas: Canvas) -> None:
    first, second, third, _ = chain(canvas)
    steps = canvas.stack.count()
    canvas.scene.select_nodes([first, third])
    assert canvas.view.group_selection() is None
    assert canvas.stack.count() == steps and canvas.graph.groups == {}
    assert "'dense_1' lies between nodes of the block" in canvas.messages[-1]
    canvas.scene.select_nodes([])
    assert canvas.view.group_selection() is None and "Select the layers" in canvas.messages[-1]
    group_id = grouped(canvas, [second])
    canvas.scene.select_nodes([first])
    block(canvas, group_id).setSelected(True)
    assert canvas.view.group_selection() is None
    assert "already in the block 'block'; blocks cannot be nested" in canvas.messages[-1]
    assert list(canvas.graph.groups) == [group_id]


def test_ungroup_restores_the_members_where_they_were(canvas: Canvas) -> None:
    ids = chain(canvas)
    positions = {node_id: canvas.graph.node(node_id).position for node_id in ids}
    group_id = grouped(canvas, ids[1:3])
    before = canvas.graph.copy()
    steps = canvas.stack.count()
    assert canvas.view.ungroup_selection() == ids[1:3]
    assert canvas.stack.count() == steps + 1 and canvas.graph.groups == {}
    assert shown(canvas) == set(ids) and canvas.scene.selected_node_ids() == ids[1:3]
    assert {n: canvas.graph.node(n).position for n in ids} == positions
    assert all(canvas.scene.node_items[n].pos() == QPointF(*positions[n]) for n in ids)
    canvas.stack.undo()
    assert canvas.graph == before and set(canvas.scene.blocks.blocks) == {group_id}
    canvas.stack.redo()
    assert canvas.graph.groups == {}


def test_ungrouping_a_block_whose_weights_are_shared_says_why(canvas: Canvas) -> None:
    ids = chain(canvas, 3)
    group_id = grouped(canvas, ids[1:2])
    shared = canvas.editor.new_instance(group_id, shared=True)
    assert shared is not None and canvas.graph.group(shared).shares == group_id
    steps = canvas.stack.count()
    canvas.scene.select_groups([group_id])
    assert canvas.view.ungroup_selection() == []
    assert canvas.stack.count() == steps and "shares the weights of 'block'" in canvas.messages[-1]
    canvas.scene.select_groups([group_id, shared])
    assert len(canvas.view.ungroup_selection()) == 2 and canvas.graph.groups == {}


# ------------------------------------------------------------ edit inside
def test_double_click_edits_inside_under_a_breadcrumb_and_escape_leaves(
    qtbot: object, canvas: Canvas
) -> None:
    first, second, third, fourth = chain(canvas)
    group_id = grouped(canvas, [second, third])
    qtbot.mouseDClick(canvas.view.viewport(), Qt.MouseButton.LeftButton, pos=block_point(canvas, group_id))  # type: ignore[attr-defined]
    scene = canvas.scene
    assert scene.inside == group_id and canvas.editor.inside_group == group_id
    assert canvas.view.breadcrumb.isVisible() and canvas.view.breadcrumb.crumbs() == ["model", "block"]
    assert shown(canvas) == {second, third} and scene.blocks.blocks == {}
    assert [item.label for item in scene.blocks.stand_ins] == ["dense", "dense_2"]
    into, out_of = Edge(first, 0, second, 0), Edge(third, 0, fourth, 0)
    assert shown_edges(canvas) == {into, Edge(second, 0, third, 0), out_of}
    stand_in, stand_out = scene.blocks.stand_ins
    assert scene.edge_items[into].start == stand_in.anchor()
    assert scene.edge_items[out_of].end == stand_out.anchor()
    assert all(not item.isSelected() for item in scene.selectedItems())
    qtbot.keyClick(canvas.view, Qt.Key.Key_Escape)  # type: ignore[attr-defined]
    assert scene.inside is None and not canvas.view.breadcrumb.isVisible()
    assert shown(canvas) == {first, fourth} and scene.blocks.stand_ins == []
    assert block(canvas, group_id).isSelected()
    qtbot.keyClick(canvas.view, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert scene.inside == group_id
    canvas.graph.rename_group(group_id, "encoder")  # as an undo would, while inside
    assert canvas.view.breadcrumb.crumbs() == ["model", "encoder"]
    qtbot.mouseClick(canvas.view.breadcrumb.model_crumb, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert scene.inside is None


def test_nodes_added_inside_a_block_join_it_in_the_same_step(canvas: Canvas) -> None:
    _, second, third, _ = chain(canvas)
    group_id = grouped(canvas, [second, third])
    canvas.view.edit_inside(group_id)
    steps = canvas.stack.count()
    relu = canvas.add("ReLU", 260, 200)
    assert canvas.stack.count() == steps + 1
    assert canvas.graph.group(group_id).nodes == (second, third, relu) and relu in shown(canvas)
    flatten = canvas.editor.insert_layer_on_edge("Flatten", QPointF(400, 0), Edge(second, 0, third, 0))
    assert flatten is not None and canvas.graph.group(group_id).nodes[-1] == flatten
    assert canvas.stack.count() == steps + 2
    canvas.stack.undo()
    canvas.stack.undo()
    assert canvas.graph.group(group_id).nodes == (second, third) and relu not in canvas.graph.nodes
    canvas.view.leave_inside()
    plain = canvas.add("ReLU", 0, 300)
    assert canvas.graph.group_of(plain) is None and plain in shown(canvas)


def test_gestures_are_checked_on_the_model_without_copying_it(
    canvas: Canvas, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third, fourth = chain(canvas)
    source = canvas.add("Input", -260, 200)
    group_id, last = grouped(canvas, [second, third]), grouped(canvas, [fourth])
    shared = canvas.editor.new_instance(last, shared=True)
    assert shared is not None

    def refuse_to_copy(graph: ModelGraph) -> ModelGraph:
        raise AssertionError("a gesture copied the whole graph to check itself")

    monkeypatch.setattr(ModelGraph, "copy", refuse_to_copy)
    assert canvas.editor.connect_edge(Edge(source, 0, first, 0))
    assert canvas.editor.connect_edge(Edge(first, 0, fourth, 0))  # replaces third -> fourth
    assert not canvas.editor.connect_edge(Edge(fourth, 0, first, 0))
    assert "would make a cycle" in canvas.messages[-1]
    assert canvas.editor.rename_group(group_id, "encoder")
    assert canvas.graph.group(group_id).name == "encoder"
    assert canvas.editor.ungroup([last]) == []
    assert "shares the weights of 'block_1'" in canvas.messages[-1]
    canvas.view.edit_inside(group_id)
    relu = canvas.add("ReLU", 260, 200)
    assert canvas.graph.group_of(relu) == canvas.graph.group(group_id)
    linked = canvas.editor.add_layer_linked("ReLU", QPointF(0, 300), PendingLink(third, 0, False))
    assert linked is not None and canvas.graph.edge_into(linked, 0) == Edge(third, 0, linked, 0)
    canvas.view.leave_inside()
    assert len(canvas.editor.ungroup([shared, last])) == 2


def refused_inside(canvas: Canvas, group_id: str, key: str, reason: str) -> None:
    """Every way of adding a `key` layer inside the block is refused with `reason`; nothing changes."""
    canvas.view.edit_inside(group_id)
    before, steps, index = canvas.graph.copy(), canvas.stack.count(), canvas.stack.index()
    member = canvas.graph.group(group_id).nodes[0]
    assert canvas.editor.add_layer(key, QPointF(260, 300)) is None
    assert reason in canvas.messages[-1]
    assert canvas.editor.add_layer_linked(key, QPointF(0, 300), PendingLink(member, 0, False)) is None
    assert reason in canvas.messages[-1]
    edges = canvas.graph.input_edges(member)
    if edges and key != "Input":
        assert canvas.editor.insert_layer_on_edge(key, QPointF(0, 300), edges[0]) is None
        assert reason in canvas.messages[-1]
    canvas.messages.clear()
    assert canvas.view.paste() == [] and reason in canvas.messages[-1]
    assert canvas.graph == before and (canvas.stack.count(), canvas.stack.index()) == (steps, index)
    assert shown(canvas) == set(canvas.graph.group(group_id).nodes)
    canvas.view.leave_inside()


def test_an_input_layer_added_inside_a_block_is_refused_and_undo_still_works(canvas: Canvas) -> None:
    source = canvas.add("Input", -260, 0)
    ids = chain(canvas)
    canvas.scene.select_nodes([source])
    assert canvas.view.copy_selection()
    group_id = grouped(canvas, ids[1:3])
    refused_inside(canvas, group_id, "Input", "is an Input node")
    canvas.stack.undo()  # the grouping: no macro was left open
    assert canvas.graph.groups == {} and len(canvas.graph) == 5
    canvas.stack.redo()
    assert canvas.graph.group(group_id).nodes == tuple(ids[1:3])


def test_a_layer_added_inside_a_block_sharing_weights_is_refused_and_undo_still_works(
    canvas: Canvas,
) -> None:
    ids = chain(canvas, 3)
    canvas.scene.select_nodes([ids[0]])
    assert canvas.view.copy_selection()
    group_id = grouped(canvas, ids[1:2])
    shared = canvas.editor.new_instance(group_id, shared=True)
    assert shared is not None
    refused_inside(canvas, shared, "ReLU", "cannot share the weights of 'block'")  # it shares weights
    refused_inside(canvas, group_id, "ReLU", "node count and sharing cannot change")  # its are shared
    canvas.stack.undo()  # the shared instance: no macro was left open
    assert list(canvas.graph.groups) == [group_id] and len(canvas.graph) == 3
    canvas.view.edit_inside(group_id)
    relu = canvas.add("ReLU", 260, 300)  # alone, the block takes new layers again
    assert canvas.graph.group(group_id).nodes == (ids[1], relu)
    canvas.stack.undo()
    assert canvas.graph.group(group_id).nodes == (ids[1],) and relu not in canvas.graph.nodes


def test_deleting_inside_a_block_and_undoing_restores_its_members(canvas: Canvas) -> None:
    ids = chain(canvas)
    group_id = grouped(canvas, ids[1:3])
    before = canvas.graph.copy()
    canvas.view.edit_inside(group_id)
    canvas.scene.select_nodes([ids[2]])
    canvas.view.delete_selection()
    assert canvas.graph.group(group_id).nodes == (ids[1],)
    assert [item.label for item in canvas.scene.blocks.stand_ins] == ["dense", "dense_1"]
    canvas.stack.undo()
    assert canvas.graph == before
    canvas.scene.select_nodes([ids[1], ids[2]])
    canvas.view.delete_selection()  # the last members: the block goes, and the canvas leaves it
    assert canvas.graph.groups == {} and canvas.scene.inside is None
    assert not canvas.view.breadcrumb.isVisible() and shown(canvas) == {ids[0], ids[3]}
    canvas.stack.undo()
    assert canvas.graph == before and set(canvas.scene.blocks.blocks) == {group_id}


# ------------------------------------------------------------ rename, move, delete
def test_f2_renames_a_block_and_its_class(qtbot: object, canvas: Canvas) -> None:
    ids = chain(canvas, 3)
    group_id = grouped(canvas, ids[1:2])
    canvas.view.ask_block_names = lambda group: ("encoder", "dense_encoder")  # type: ignore[method-assign]
    qtbot.keyClick(canvas.view, Qt.Key.Key_F2)  # type: ignore[attr-defined]
    group = canvas.graph.group(group_id)
    assert (group.name, group.block, group.class_name) == ("encoder", "dense_encoder", "DenseEncoder")
    assert (block(canvas, group_id).name, block(canvas, group_id).class_text) == (
        "encoder",
        "DenseEncoder · 1 layer",
    )
    canvas.view.ask_block_names = lambda group: ("dense", "dense_encoder")  # type: ignore[method-assign]
    steps = canvas.stack.count()
    assert not canvas.view.rename_block(group_id)
    assert canvas.stack.count() == steps and "already used by a node" in canvas.messages[-1]
    canvas.stack.undo()
    assert canvas.graph.group(group_id).name == "block" and block(canvas, group_id).name == "block"


def test_dragging_a_block_moves_its_members_in_one_step(qtbot: object, canvas: Canvas) -> None:
    ids = chain(canvas)
    group_id = grouped(canvas, ids[1:3])
    before = {n: canvas.graph.node(n).position for n in ids}
    steps = canvas.stack.count()
    start = block_point(canvas, group_id)
    drag(qtbot, canvas, start, start + QPoint(60, 120), steps=6)
    assert canvas.stack.count() == steps + 1
    for node_id in ids[1:3]:
        x, y = canvas.graph.node(node_id).position
        assert (x - before[node_id][0], y - before[node_id][1]) == pytest.approx((60, 120), abs=2)
    assert {n: canvas.graph.node(n).position for n in (ids[0], ids[3])} == {
        n: before[n] for n in (ids[0], ids[3])
    }
    item = block(canvas, group_id)
    assert item.pos() == QPointF(*group_position(canvas.graph, group_id))
    assert canvas.scene.edge_items[Edge(ids[0], 0, ids[1], 0)].end == item.input_anchor(0)
    canvas.stack.undo()
    assert {n: canvas.graph.node(n).position for n in ids} == before


def large_block(canvas: Canvas, count: int) -> tuple[str, str, list[str]]:
    """A Dense layer feeding a chain of `count` Dense layers grouped into one block."""
    source = canvas.add("Dense", -400, 0)
    ids = [canvas.add("Dense", (index % 10) * 260, (index // 10) * 120) for index in range(count)]
    for edge_source, target in itertools.pairwise([source, *ids]):
        canvas.graph.connect(Edge(edge_source, 0, target, 0))
    return source, grouped(canvas, ids), ids


@pytest.mark.parametrize("shown_as", ["collapsed", "expanded", "inside"])
def test_moving_every_member_of_a_large_block_places_it_once(
    canvas: Canvas, monkeypatch: pytest.MonkeyPatch, shown_as: str
) -> None:
    source, group_id, ids = large_block(canvas, 100)
    if shown_as == "expanded":
        canvas.editor.set_collapsed(group_id, False)
    elif shown_as == "inside":
        canvas.view.edit_inside(group_id)
    layer, calls = canvas.scene.blocks, {"place": 0, "refresh_frame": 0, "refresh_stand_ins": 0}
    for name in calls:

        def counted(*args: object, name: str = name, method: object = getattr(layer, name)) -> object:
            calls[name] += 1
            return method(*args)  # type: ignore[operator]

        monkeypatch.setattr(layer, name, counted)
    before = {n: canvas.graph.node(n).position for n in ids}
    canvas.editor.move_nodes({n: (x + 50, y + 30) for n, (x, y) in before.items()})
    into = canvas.scene.edge_items[Edge(source, 0, ids[0], 0)]
    if shown_as == "collapsed":
        assert calls["place"] == 1
        item = block(canvas, group_id)
        assert item.pos() == QPointF(*group_position(canvas.graph, group_id))
        assert into.end == item.input_anchor(0)
    elif shown_as == "expanded":
        assert calls["refresh_frame"] == 1
        frame = canvas.scene.blocks.frames[group_id]
        assert frame.rect.contains(canvas.scene.node_items[ids[-1]].sceneBoundingRect().center())
        assert into.end == canvas.scene.node_items[ids[0]].input_anchor(0)
    else:
        assert calls["refresh_stand_ins"] == 1
        stand_in = canvas.scene.blocks.stand_ins[0]  # the input's, then the output's
        assert into.start == stand_in.anchor()
        assert into.end == canvas.scene.node_items[ids[0]].input_anchor(0)
    canvas.stack.undo()
    assert {n: canvas.graph.node(n).position for n in ids} == before
    if shown_as == "collapsed":
        assert block(canvas, group_id).pos() == QPointF(*group_position(canvas.graph, group_id))


def test_deleting_a_block_deletes_its_members_and_undo_restores_all(canvas: Canvas) -> None:
    ids = chain(canvas)
    group_id = grouped(canvas, ids[1:3])
    canvas.graph.mark_output(ids[2])
    before = canvas.graph.copy()
    steps = canvas.stack.count()
    canvas.scene.select_groups([group_id])
    canvas.view.delete_selection()
    assert canvas.stack.count() == steps + 1
    assert set(canvas.graph.nodes) == {ids[0], ids[3]} and canvas.graph.groups == {}
    assert canvas.graph.edges == [] and canvas.scene.blocks.blocks == {}
    canvas.stack.undo()
    assert canvas.graph == before and set(canvas.scene.blocks.blocks) == {group_id}
    assert shown(canvas) == {ids[0], ids[3]}


def test_a_copied_block_pastes_as_a_new_instance_of_it(canvas: Canvas) -> None:
    ids = chain(canvas, 3)
    group_id = grouped(canvas, ids[:2])
    canvas.editor.rename_group(group_id, "encoder")
    canvas.scene.select_groups([group_id])
    assert canvas.view.copy_selection()
    steps = canvas.stack.count()
    pasted = canvas.view.paste()
    assert canvas.stack.count() == steps + 1
    copy = next(g for g in canvas.graph.groups.values() if g.id != group_id)
    assert (copy.name, copy.block, copy.shares) == ("encoder_1", "encoder", None)
    assert copy.nodes == tuple(pasted)
    assert [canvas.graph.node(n).name for n in pasted] == ["encoder_1_dense", "encoder_1_dense_1"]
    assert Edge(pasted[0], 0, pasted[1], 0) in canvas.graph.edges
    assert set(canvas.scene.blocks.blocks) == {group_id, copy.id} and canvas.scene.selected_group_ids() == [
        copy.id
    ]
    canvas.stack.undo()
    assert list(canvas.graph.groups) == [group_id] and len(canvas.graph) == 3


def test_a_plain_copy_pasted_inside_a_block_joins_it(canvas: Canvas) -> None:
    ids = chain(canvas, 3)
    group_id = grouped(canvas, ids[1:])
    canvas.scene.select_nodes([ids[0]])
    assert canvas.view.copy_selection()
    canvas.view.edit_inside(group_id)
    pasted = canvas.view.paste()
    assert canvas.graph.group(group_id).nodes == (*ids[1:], *pasted)


# ------------------------------------------------------------ results and layout
def test_a_block_shows_its_members_parameter_total_and_problems(canvas: Canvas) -> None:
    ids = chain(canvas, 3)
    group_id = grouped(canvas, ids[1:])
    spec = (TensorSpec((None, 32), "float32"),)
    results = {ids[0]: NodeResult(spec, 100), ids[1]: NodeResult(spec, 1056), ids[2]: NodeResult(spec, 1056)}
    canvas.document.set_results(results, [])
    assert block(canvas, group_id).count_text == "2,112 params"
    assert canvas.scene.edge_items[Edge(ids[0], 0, ids[1], 0)].label == "(None, 32)"
    warning = Diagnostic("warning", "dense_2 is never used.", "Connect it or delete it.", node=ids[2])
    canvas.document.set_results(
        {**results, ids[2]: NodeResult(spec, 1056, diagnostics=(warning,))}, [warning]
    )
    item = block(canvas, group_id)
    assert item.severity == "warning" and item.badge.isVisible() and "never used" in item.badge.toolTip()


def test_auto_layout_places_a_collapsed_block_as_one_node(canvas: Canvas) -> None:
    ids = chain(canvas, 4)
    group_id = grouped(canvas, ids[1:3])
    for index, node_id in enumerate(ids):
        canvas.graph.move(node_id, (-index * 300.0, index * 90.0))  # scrambled
    steps = canvas.stack.count()
    canvas.editor.auto_layout()
    assert canvas.stack.count() == steps + 1
    x = [
        canvas.graph.node(ids[0]).position[0],
        block(canvas, group_id).pos().x(),
        canvas.graph.node(ids[3]).position[0],
    ]
    assert x[1] - x[0] == x[2] - x[1] > 0  # three columns: the block is one of them
    canvas.view.edit_inside(group_id)
    canvas.editor.auto_layout()  # inside: the members among themselves, around the block
    first, second = (canvas.graph.node(n).position for n in ids[1:3])
    assert second[0] > first[0] and group_position(canvas.graph, group_id)[0] == pytest.approx(x[1])


def test_fit_to_view_frames_blocks_and_select_all_takes_them(canvas: Canvas) -> None:
    ids = chain(canvas, 3)
    group_id = grouped(canvas, ids[1:])
    canvas.view.fit_to_view()
    visible = canvas.view.visible_scene_rect()
    assert visible.contains(block(canvas, group_id).sceneBoundingRect())
    canvas.view.select_all()
    assert canvas.scene.selected_node_ids() == [ids[0]] and canvas.scene.selected_group_ids() == [group_id]


def test_expanding_a_block_frames_its_members_and_collapsing_hides_them(canvas: Canvas) -> None:
    ids = chain(canvas, 3)
    group_id = grouped(canvas, ids[1:])
    canvas.editor.set_collapsed(group_id, False)
    frame = canvas.scene.blocks.frames[group_id]
    assert shown(canvas) == set(ids) and canvas.scene.blocks.blocks == {}
    members = (
        canvas.scene.node_items[ids[1]]
        .sceneBoundingRect()
        .united(canvas.scene.node_items[ids[2]].sceneBoundingRect())
    )
    assert frame.rect.contains(members.adjusted(3, 3, -3, -3)) and frame.label == "block"
    assert canvas.scene.block_at(frame.rect.topLeft() + QPointF(4, 4), canvas.view.transform()) == group_id
    canvas.stack.undo()
    assert canvas.scene.blocks.frames == {} and shown(canvas) == {ids[0]}


# ------------------------------------------------------------ links to block ports
def test_a_link_dragged_to_a_block_input_feeds_the_member(qtbot: object, canvas: Canvas) -> None:
    ids = chain(canvas, 3)
    group_id = grouped(canvas, ids[1:])
    source = canvas.add("Dense", -300, 300)
    item = block(canvas, group_id)
    drag(qtbot, canvas, canvas.port_point(source, 0, False), canvas.view.mapFromScene(item.input_anchor(0)))
    assert (
        Edge(source, 0, ids[1], 0) in canvas.graph.edges
        and Edge(ids[0], 0, ids[1], 0) not in canvas.graph.edges
    )
    assert canvas.scene.edge_items[Edge(source, 0, ids[1], 0)].end == block(canvas, group_id).input_anchor(0)
    target = canvas.add("Dense", 900, 300)
    out = canvas.view.mapFromScene(block(canvas, group_id).output_anchor(0))
    drag(qtbot, canvas, out, canvas.port_point(target, 0, True))
    assert Edge(ids[2], 0, target, 0) in canvas.graph.edges


# ------------------------------------------------------------ the block library
def test_a_block_saved_to_the_library_is_inserted_as_a_new_instance_or_sharing_weights(
    qtbot: object, tmp_path: Path, library: Path
) -> None:
    window, ids = window_chain(qtbot, tmp_path, 3)
    scene, graph = window.scene, window.document.graph
    scene.select_nodes(ids[1:])
    window.menu_actions["group"].trigger()
    (group_id,) = graph.groups
    window.editor.rename_group(group_id, "head")
    assert window.block_library.block_names() == []
    scene.select_groups([group_id])
    window.menu_actions["save_block"].trigger()
    assert block_path("head", library).exists() and load_block(library / "head.json")["name"] == "head"
    assert window.block_library.block_names() == ["head"]
    item = window.block_library.item_of("head")
    assert item is not None
    steps = window.document.undo_stack.count()
    window.block_library.list.itemActivated.emit(item)
    assert window.document.undo_stack.count() == steps + 1
    fresh = next(g for g in graph.groups.values() if g.id != group_id)
    assert (fresh.name, fresh.block, fresh.shares) == ("head_1", "head", None) and len(graph) == 5
    assert scene.selected_group_ids() == [fresh.id]
    menu = QMenu()
    window.block_library.fill_menu(menu, item)
    sharing = next(a.menu() for a in menu.actions() if a.text() == "Insert sharing weights with")
    assert [a.text() for a in sharing.actions()] == ["head", "head_1"]
    sharing.actions()[0].trigger()
    shared = list(graph.groups.values())[-1]
    assert shared.shares == group_id and all(graph.node(n).shares for n in shared.nodes)
    assert window.scene.blocks.blocks[shared.id].count_text == "shares head"
    window.document.undo_stack.undo()
    assert len(graph.groups) == 2 and len(graph) == 5


def test_a_library_block_dropped_on_the_canvas_lands_there(canvas: Canvas, library: Path) -> None:
    ids = chain(canvas, 2)
    group_id = grouped(canvas, ids)
    path = canvas.view.save_block(group_id)
    assert path == library / "block.json"
    canvas.view.confirm_overwrite = lambda path: False  # type: ignore[method-assign]
    assert canvas.view.save_block(group_id) is None  # asked first, and told no
    mime = QMimeData()
    mime.setData(BLOCK_MIME, str(path).encode())
    target = QPointF(200, 400)
    event = QDropEvent(
        QPointF(canvas.view.mapFromScene(target)),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    steps = canvas.stack.count()
    canvas.view.dropEvent(event)
    assert canvas.stack.count() == steps + 1
    new = list(canvas.graph.groups)[-1]
    assert new != group_id and block(canvas, new).sceneBoundingRect().contains(target)
    canvas.view.edit_inside(new)
    mime_event = QDropEvent(
        QPointF(100, 100),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    canvas.view.dropEvent(mime_event)
    assert "Blocks cannot be nested" in canvas.messages[-1] and len(canvas.graph.groups) == 2


def test_a_bad_library_file_is_listed_greyed_with_its_reason(
    qtbot: object, tmp_path: Path, library: Path
) -> None:
    library.mkdir()
    (library / "broken.json").write_text('{"format_version": 1, "name": "broken"}', encoding="utf-8")
    window = make_window(qtbot, tmp_path)
    assert window.block_library.block_names() == ["broken (unreadable)"]
    item = window.block_library.list.item(0)
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled and "broken.json" in item.toolTip()


# ------------------------------------------------------------ the window
def test_ctrl_g_and_ctrl_shift_g_group_and_ungroup_in_the_window(qtbot: object, tmp_path: Path) -> None:
    window, ids = window_chain(qtbot, tmp_path, 4)
    window.activateWindow()
    window.view.setFocus()
    qtbot.waitUntil(window.view.hasFocus)  # type: ignore[attr-defined]
    window.scene.select_nodes(ids[1:3])
    qtbot.keyClick(window.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert [g.nodes for g in window.document.graph.groups.values()] == [tuple(ids[1:3])]
    qtbot.keyClick(  # type: ignore[attr-defined]
        window.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert window.document.graph.groups == {}
    window.document.undo_stack.undo()
    assert len(window.document.graph.groups) == 1


def test_the_vae_example_opens_with_encoder_and_decoder_collapsed(qtbot: object, tmp_path: Path) -> None:
    data = json.loads(VAE.read_text(encoding="utf-8"))
    window = make_window(qtbot, tmp_path)
    window.document.replace(project.from_dict(data, VAE_PORTS.get), VAE)
    graph = window.document.graph
    assert {graph.group(g).name for g in window.scene.blocks.blocks} == {"encoder", "decoder"}
    assert shown_names(window) == {"image", "kl_loss", "z"}
    encoder = window.scene.blocks.blocks[next(g.id for g in graph.groups.values() if g.name == "encoder")]
    assert (encoder.input_labels, encoder.output_labels) == (["image"], ["z_mean", "z_log_var"])


def test_an_import_with_nested_models_opens_collapsed_and_left_to_right(
    qtbot: object, tmp_path: Path
) -> None:
    graph = _imported_like()
    for node_id, position in layered_positions(graph).items():  # what the importer does
        graph.move(node_id, position)
    window = make_window(qtbot, tmp_path)
    window.document.replace(project.Project(graph), None)
    blocks = window.scene.blocks.blocks
    assert set(blocks) == set(graph.groups) and shown_names(window) == {"x", "head"}
    x = {name: window.scene.node_items[graph.node_by_name(name).id].pos().x() for name in ("x", "head")}
    first, second = (blocks[g].pos().x() for g in graph.groups)
    assert x["x"] < first < second < x["head"] and second - first == pytest.approx(COLUMN_WIDTH)


def window_chain(qtbot: object, tmp_path: Path, count: int) -> tuple[MainWindow, list[str]]:
    """A window showing Dense layers left to right, each feeding the next."""
    window = make_window(qtbot, tmp_path)
    ids = [window.editor.add_layer("Dense", QPointF(index * 260, 0)) or "" for index in range(count)]
    for source, target in itertools.pairwise(ids):
        assert window.editor.connect_edge(Edge(source, 0, target, 0))
    return window, ids


def shown_names(window: MainWindow) -> set[str]:
    graph = window.document.graph
    return {graph.node(n).name for n, item in window.scene.node_items.items() if item.isVisible()}


VAE_PORTS = {  # the example's layer types (the small catalog lacks its library layers)
    "Input": INPUT_PORTS,
    "Dense": PortLayout(),
    "layers.kl_divergence.KLDivergenceLoss": PortLayout(("z_mean", "z_log_var"), ("z_mean", "z_log_var")),
    "layers.sampling.Sampling": PortLayout(("z_mean", "z_log_var")),
}


def _imported_like() -> ModelGraph:
    """x -> [inner: a -> b] -> [inner_1: a -> b, sharing] -> head, as the importer makes nested models."""
    graph = ModelGraph("imported")
    graph.add_node(Node("n1", "Input", "x", {"shape": [4]}, ports=INPUT_PORTS))
    names = ["inner_a", "inner_b", "inner_1_a", "inner_1_b", "head"]
    previous = "n1"
    for index, name in enumerate(names, start=2):
        graph.add_node(Node(f"n{index}", "Dense", name, {"units": 4}, ports=PortLayout()))
        graph.connect(Edge(previous, 0, f"n{index}", 0))
        previous = f"n{index}"
    graph.add_group(Group("g1", "inner", ("n2", "n3")))
    graph.add_group(Group("g2", "inner_1", ("n4", "n5"), block="inner"))
    return graph


# ------------------------------------------------------------ the round trip
def test_grouping_and_ungrouping_round_trip_through_save_load_undo_and_export(
    qtbot: object, tmp_path: Path
) -> None:
    graph = _design()
    window = _window(qtbot, tmp_path, "first", graph.copy())
    original_code = _export(window, tmp_path / "original.py")
    ids = [n.id for n in graph.nodes.values() if n.name.startswith("dense")]
    window.scene.select_nodes(ids[:2])
    window.menu_actions["group"].trigger()
    (group_id,) = window.document.graph.groups
    assert window.editor.rename_group(group_id, "encoder")
    grouped_code = _export(window, tmp_path / "grouped.py")
    assert "class Encoder(keras.layers.Layer):" in grouped_code and "encoder = Encoder(" in grouped_code
    saved = tmp_path / "grouped.json"
    window.ask_save_path = lambda: saved  # type: ignore[method-assign]
    assert window.save()

    loaded = _window(qtbot, tmp_path, "second", ModelGraph())
    assert loaded.open_path(saved)
    assert loaded.document.graph == window.document.graph
    assert {loaded.document.graph.group(g).name for g in loaded.scene.blocks.blocks} == {"encoder"}
    assert shown_names(loaded) == {"x", "dense_2"}
    assert _export(loaded, tmp_path / "loaded.py") == grouped_code

    loaded.scene.select_groups([group_id])
    loaded.menu_actions["ungroup"].trigger()
    assert loaded.document.graph.groups == {} and _export(loaded, tmp_path / "ungrouped.py") == original_code
    loaded.document.undo_stack.undo()  # ungroup undone
    assert _export(loaded, tmp_path / "regrouped.py") == grouped_code
    assert set(loaded.scene.blocks.blocks) == {group_id}

    window.document.undo_stack.undo()  # the rename
    window.document.undo_stack.undo()  # the grouping
    assert window.document.graph == graph and _export(window, tmp_path / "undone.py") == original_code
    assert window.scene.blocks.blocks == {} and shown_names(window) == {n.name for n in graph.nodes.values()}
    window.document.undo_stack.redo()
    window.document.undo_stack.redo()
    assert _export(window, tmp_path / "redone.py") == grouped_code


def _design() -> ModelGraph:
    graph = ModelGraph("model")
    graph.add_node(Node("n1", "Input", "x", {"shape": [8]}, ports=INPUT_PORTS))
    for index, units in enumerate((16, 8, 2), start=2):
        graph.add_node(
            Node(
                f"n{index}",
                "Dense",
                f"dense_{index - 2}" if index > 2 else "dense",
                {"units": units},
                (index * 260.0, 0.0),
            )
        )
        graph.connect(Edge(f"n{index - 1}", 0, f"n{index}", 0))
    graph.mark_output("n4")
    return graph


def _window(qtbot: object, tmp_path: Path, name: str, graph: ModelGraph) -> MainWindow:
    folder = tmp_path / name
    folder.mkdir()
    window = make_window(qtbot, folder)
    window.document.replace(project.Project(graph), None)
    return window


def _export(window: MainWindow, path: Path) -> str:
    window.ask_export_path = lambda: path  # type: ignore[method-assign]
    written: list[str] = []
    window.code.exported.connect(written.append)
    assert window.export_code()
    deadline = time.monotonic() + 60
    while not written and time.monotonic() < deadline:  # written off the GUI thread
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    assert written == [str(path)]
    return path.read_text(encoding="utf-8")


def test_pasting_keeps_a_copied_pair_of_sharing_blocks_consistent(canvas: Canvas) -> None:
    ids = chain(canvas, 2)
    owner = grouped(canvas, ids[1:])
    sharer = canvas.editor.new_instance(owner, shared=True)
    assert sharer is not None
    canvas.scene.select_groups([owner, sharer])
    assert canvas.view.copy_selection()
    canvas.view.paste()
    new_owner, new_sharer = list(canvas.graph.groups.values())[2:]
    assert new_owner.shares is None and new_sharer.shares == new_owner.id
    assert canvas.graph.node(new_sharer.nodes[0]).shares == new_owner.nodes[0]


def test_a_link_to_a_block_input_feeding_two_members_connects_both_in_one_step(
    qtbot: object, canvas: Canvas
) -> None:
    source = canvas.add("Dense", -300, 0)
    left, right = canvas.add("Dense", 0, -100), canvas.add("Dense", 0, 100)
    merge = canvas.add("Add", 300, 0)
    for edge in (Edge(source, 0, left, 0), Edge(source, 0, right, 0), Edge(left, 0, merge, 0)):
        assert canvas.editor.connect_edge(edge)
    assert canvas.editor.connect_edge(Edge(right, 0, merge, 1))
    group_id = grouped(canvas, [left, right, merge])
    assert block(canvas, group_id).inputs[0].consumers == ((left, 0), (right, 0))
    other = canvas.add("Dense", -300, 400)
    steps = canvas.stack.count()
    drag(
        qtbot,
        canvas,
        canvas.port_point(other, 0, False),
        canvas.view.mapFromScene(block(canvas, group_id).input_anchor(0)),
    )
    assert canvas.stack.count() == steps + 1
    assert {Edge(other, 0, left, 0), Edge(other, 0, right, 0)} <= set(canvas.graph.edges)
    assert canvas.graph.output_edges(source) == []
    canvas.stack.undo()
    assert {Edge(source, 0, left, 0), Edge(source, 0, right, 0)} <= set(canvas.graph.edges)


def test_a_block_a_link_cannot_reach_is_dimmed_while_dragging(qtbot: object, canvas: Canvas) -> None:
    ids = chain(canvas, 4)
    group_id = grouped(canvas, ids[1:3])
    viewport = canvas.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=canvas.port_point(ids[3], 0, False))  # type: ignore[attr-defined]
    qtbot.mouseMove(viewport, canvas.port_point(ids[3], 0, False) + QPoint(80, 80))  # type: ignore[attr-defined]
    assert block(canvas, group_id).opacity() < 1  # upstream of the drag's start: a cycle
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=canvas.port_point(ids[3], 0, False))  # type: ignore[attr-defined]
    assert block(canvas, group_id).opacity() == 1


def test_showing_a_node_hidden_in_a_block_selects_the_block(qtbot: object, tmp_path: Path) -> None:
    window, ids = window_chain(qtbot, tmp_path, 3)
    window.scene.select_nodes(ids[1:])
    window.menu_actions["group"].trigger()
    (group_id,) = window.document.graph.groups
    window.show_node(ids[2])
    assert window.scene.selected_group_ids() == [group_id]
    item = window.scene.blocks.blocks[group_id]
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    assert item.sceneBoundingRect().contains(centre)


def test_the_rename_dialog_shows_the_class_and_refuses_names_that_are_not_identifiers(qtbot: object) -> None:
    dialog = BlockNameDialog(Group("g1", "block", ("n1",)))
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.class_label.text() == "Block" and ok.isEnabled()
    dialog.block_edit.setText("conv_block")
    assert dialog.class_label.text() == "ConvBlock" and dialog.names() == ("block", "conv_block")
    dialog.name_edit.setText("2nd")
    assert not ok.isEnabled() and "name must be a Python identifier" in dialog.problem.text()


def test_the_inspector_shows_a_selected_block_and_renames_it(qtbot: object, canvas: Canvas) -> None:
    from designer.ui.panels.inspector import InspectorView

    inspector = InspectorView(canvas.document)
    qtbot.addWidget(inspector)  # type: ignore[attr-defined]
    first, second, third, _ = chain(canvas)
    group_id = grouped(canvas, [second, third])
    canvas.scene.clearSelection()
    block(canvas, group_id).setSelected(True)
    assert canvas.document.selected_groups == [group_id]
    form = inspector.block_form
    assert form is not None and form.name_edit.text() == canvas.graph.group(group_id).name
    assert form.members_label.text().startswith("2: ")
    steps = canvas.stack.count()
    form.name_edit.setText("stem")
    form.name_edit.editingFinished.emit()
    assert canvas.graph.group(group_id).name == "stem" and canvas.stack.count() == steps + 1
    form.name_edit.setText(canvas.graph.node(first).name)  # a node's name: refused, nothing changes
    form.name_edit.editingFinished.emit()
    assert canvas.graph.group(group_id).name == "stem" and form.error_label.text()
    assert form.name_edit.text() == "stem"
    canvas.stack.undo()
    assert form.name_edit.text() == canvas.graph.group(group_id).name != "stem"
    canvas.scene.clearSelection()
    assert inspector.block_form is None


def test_tabbing_from_the_block_name_to_its_type_keeps_the_type_the_graph_gave(
    qtbot: object, canvas: Canvas
) -> None:
    from designer.ui.panels.inspector import InspectorView

    inspector = InspectorView(canvas.document)
    qtbot.addWidget(inspector)  # type: ignore[attr-defined]
    _, second, third, _ = chain(canvas)
    group_id = grouped(canvas, [second, third])
    canvas.scene.clearSelection()
    block(canvas, group_id).setSelected(True)
    form = inspector.block_form
    assert form is not None and (form.name_edit.text(), form.block_edit.text()) == ("block", "block")
    steps = canvas.stack.count()
    canvas.view.hide()  # the inspector's window takes the focus
    inspector.show()
    inspector.activateWindow()
    form.name_edit.setFocus()
    qtbot.waitUntil(form.name_edit.hasFocus)  # type: ignore[attr-defined]
    form.name_edit.selectAll()
    qtbot.keyClicks(form.name_edit, "encoder")  # type: ignore[attr-defined]
    qtbot.keyClick(form.name_edit, Qt.Key.Key_Tab)  # type: ignore[attr-defined]
    qtbot.waitUntil(form.block_edit.hasFocus)  # type: ignore[attr-defined]
    group = canvas.graph.group(group_id)
    assert (group.name, group.block) == ("encoder", "encoder") and form.block_edit.text() == "encoder"
    form.name_edit.setFocus()  # the type field loses focus unchanged: nothing more happens
    qtbot.waitUntil(form.name_edit.hasFocus)  # type: ignore[attr-defined]
    assert (canvas.graph.group(group_id).block, canvas.stack.count()) == ("encoder", steps + 1)
    form.block_edit.setText("stem_block")  # the type alone changes, the name stays
    form.block_edit.editingFinished.emit()
    group = canvas.graph.group(group_id)
    assert (group.name, group.block, canvas.stack.count()) == ("encoder", "stem_block", steps + 2)
    canvas.stack.undo()
    canvas.stack.undo()
    assert (form.name_edit.text(), form.block_edit.text()) == ("block", "block")
