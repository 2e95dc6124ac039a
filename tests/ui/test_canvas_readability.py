"""The canvas stays readable: a floor for node titles on every commanded zoom, simplified nodes
further out, shape labels between their nodes, room made for an inserted layer, the empty-design
hint, and the one sink becoming the model output."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import QMenu
from test_canvas import Canvas, layer_drop, small_catalog

from designer.engine.results import NodeResult, TensorSpec
from designer.graph import project
from designer.graph.model import INPUT_PORTS, MERGE_PORTS, Edge, ModelOutput, PortLayout
from designer.ui.canvas.editor import PendingLink
from designer.ui.canvas.labels import PENDING
from designer.ui.canvas.node_item import FULL, READABLE_PIXELS, SIMPLIFIED, NodeItem, title_pixels
from designer.ui.canvas.port_item import PortItem
from designer.ui.canvas.view import EMPTY_HINT

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.json"))
CANVAS_SIZE = (820, 460)  # the canvas of a 1280x800 window, between its docks
EXTRA_PORTS = {  # the examples' layer types the small catalog lacks
    "Input": INPUT_PORTS,
    "Concatenate": MERGE_PORTS,
    "layers.kl_divergence.KLDivergenceLoss": PortLayout(("z_mean", "z_log_var"), ("z_mean", "z_log_var")),
    "layers.sampling.Sampling": PortLayout(("z_mean", "z_log_var")),
}


def ports_of(key: str) -> PortLayout:
    return EXTRA_PORTS.get(key) or small_catalog().ports_of(key) or PortLayout()


@pytest.fixture
def canvas(qtbot: object) -> Canvas:
    made = Canvas(qtbot)
    made.view.resize(*CANVAS_SIZE)
    return made


def open_example(canvas: Canvas, path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    canvas.document.replace(project.from_dict(data, ports_of, str(path)), path)


def title_on_screen(canvas: Canvas) -> float:
    """How many screen pixels high a node title is drawn at the view's zoom."""
    return title_pixels() * canvas.view.transform().m11()


def nodes_in_view(canvas: Canvas) -> list[NodeItem]:
    visible = canvas.view.visible_scene_rect()
    items = canvas.scene.node_items.values()
    return [item for item in items if item.isVisible() and visible.intersects(item.sceneBoundingRect())]


def assert_readable(canvas: Canvas) -> None:
    """Titles at or above the floor, and what is in view painted in full."""
    assert title_on_screen(canvas) >= READABLE_PIXELS - 1e-6
    canvas.view.grab()
    assert all(item.painted_detail == FULL for item in nodes_in_view(canvas))


def leftmost(canvas: Canvas) -> QRectF:
    blocks = canvas.scene.blocks
    rects = [item.sceneBoundingRect() for item in blocks.shown_items() if item.isVisible()]
    return min(rects, key=lambda rect: rect.left())


# ------------------------------------------------------------ readable floor
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_opening_fit_and_auto_layout_keep_titles_readable(canvas: Canvas, example: Path) -> None:
    open_example(canvas, example)
    canvas.view.show_design()
    assert_readable(canvas)
    assert canvas.view.visible_scene_rect().contains(leftmost(canvas))  # the inputs are in view
    canvas.view.zoom_by(0.2)
    canvas.view.fit_to_view()
    assert_readable(canvas)
    assert canvas.view.visible_scene_rect().contains(leftmost(canvas))
    canvas.view.zoom_by(0.2)
    canvas.editor.auto_layout()
    assert_readable(canvas)
    assert canvas.view.visible_scene_rect().contains(leftmost(canvas))


def test_a_design_that_fits_at_a_readable_zoom_is_shown_whole(canvas: Canvas) -> None:
    ids = [canvas.add("Dense", index * 280, 0) for index in range(3)]
    for source, target in itertools.pairwise(ids):
        assert canvas.editor.connect_edge(Edge(source, 0, target, 0))
    canvas.view.set_scale(0.1)
    canvas.view.show_design()
    visible = canvas.view.visible_scene_rect()
    assert all(visible.contains(item.sceneBoundingRect()) for item in canvas.scene.node_items.values())
    assert title_on_screen(canvas) >= READABLE_PIXELS


def test_auto_layout_brings_the_laid_out_design_into_view(canvas: Canvas) -> None:
    ids = [canvas.add("Dense", 5000 + index * 40, 3000) for index in range(3)]
    for source, target in itertools.pairwise(ids):
        assert canvas.editor.connect_edge(Edge(source, 0, target, 0))
    canvas.view.centerOn(-8000, -8000)
    canvas.editor.auto_layout()
    visible = canvas.view.visible_scene_rect()
    assert all(visible.contains(canvas.scene.node_items[n].sceneBoundingRect()) for n in ids)
    assert_readable(canvas)


def test_entering_and_leaving_a_block_land_on_a_readable_zoom(canvas: Canvas) -> None:
    open_example(canvas, next(path for path in EXAMPLES if path.stem == "vae_digits"))
    encoder = next(g.id for g in canvas.graph.groups.values() if g.name == "encoder")
    canvas.view.zoom_by(0.3)
    canvas.view.edit_inside(encoder)
    assert_readable(canvas)
    canvas.view.zoom_by(0.3)
    canvas.view.leave_inside()
    assert_readable(canvas)
    assert canvas.view.visible_scene_rect().intersects(
        canvas.scene.blocks.blocks[encoder].sceneBoundingRect()
    )


def test_zoomed_out_by_hand_a_node_draws_its_name_large_instead_of_tiny_text(canvas: Canvas) -> None:
    dense = canvas.add("Dense", 0, 0)
    item = canvas.scene.node_items[dense]
    canvas.view.set_scale(0.4)
    canvas.view.centerOn(item.sceneBoundingRect().center())
    canvas.view.grab()
    assert item.painted_detail == SIMPLIFIED
    canvas.view.set_scale(1.0)
    canvas.view.grab()
    assert item.painted_detail == FULL


# ------------------------------------------------------------- edge labels
def shaped(canvas: Canvas, source: str, shape: tuple[int | None, ...]) -> None:
    canvas.document.set_results({source: NodeResult(outputs=(TensorSpec(shape, "float32"),))}, [])


def covering(canvas: Canvas, rect: QRectF) -> list[object]:
    return [item for item in canvas.scene.items(rect) if isinstance(item, (NodeItem, PortItem))]


def test_a_shape_label_sits_between_its_nodes_on_a_background(canvas: Canvas) -> None:
    first, second = canvas.add("Conv2D", 0, 0), canvas.add("Dense", 280, 0)
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    shaped(canvas, first, (None, 4, 4, 16))
    edge = canvas.scene.edge_items[Edge(first, 0, second, 0)]
    assert edge.shown_label == "(None, 4, 4, 16)" and edge.toolTip() == ""
    label = edge.label_scene_rect()
    assert not label.isEmpty() and covering(canvas, label) == []
    assert label.contains(edge.path().pointAtPercent(0.5))  # on the curve


def test_a_label_without_room_is_elided_and_whole_in_the_tooltip(canvas: Canvas) -> None:
    first, second = canvas.add("Conv2D", 0, 0), canvas.add("Dense", 200, 0)
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    shaped(canvas, first, (None, 4, 4, 16))
    edge = canvas.scene.edge_items[Edge(first, 0, second, 0)]
    assert edge.shown_label.endswith("\u2026") and edge.shown_label != edge.label
    assert edge.toolTip() == "(None, 4, 4, 16)"
    assert covering(canvas, edge.label_scene_rect()) == []


def test_edges_show_a_pending_label_until_the_engine_answers(canvas: Canvas) -> None:
    first, second = canvas.add("Conv2D", 0, 0), canvas.add("Dense", 280, 0)
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    edge = canvas.scene.edge_items[Edge(first, 0, second, 0)]
    assert edge.shown_label == PENDING
    shaped(canvas, first, (None, 8, 8, 32))
    assert edge.shown_label == "(None, 8, 8, 32)"


# ------------------------------------------------------------ edge insert
def node_rects(canvas: Canvas) -> list[QRectF]:
    return [item.sceneBoundingRect() for item in canvas.scene.node_items.values() if item.isVisible()]


def test_a_layer_dropped_on_an_edge_makes_room_in_one_step(canvas: Canvas) -> None:
    open_example(canvas, next(path for path in EXAMPLES if path.stem == "digits_cnn"))
    graph = canvas.graph
    before = {node_id: node.position for node_id, node in graph.nodes.items()}
    steps = canvas.stack.count()
    edge = graph.edges[1]
    middle = canvas.scene.edge_items[edge].path().pointAtPercent(0.5)
    canvas.view.centerOn(middle)
    layer_drop(canvas, "MaxPooling2D", middle)
    assert len(graph) == len(before) + 1 and canvas.stack.count() == steps + 1
    rects = node_rects(canvas)
    assert not any(a.intersects(b) for a, b in itertools.combinations(rects, 2))
    new = next(node_id for node_id in graph.nodes if node_id not in before)
    source_x, new_x = graph.node(edge.source).position[0], graph.node(new).position[0]
    assert source_x < new_x < graph.node(edge.target).position[0]
    canvas.stack.undo()
    assert {node_id: node.position for node_id, node in graph.nodes.items()} == before
    assert edge in graph.edges


def test_a_layer_dropped_where_there_is_room_moves_nothing(canvas: Canvas) -> None:
    first, second = canvas.add("Dense", 0, 0), canvas.add("Dense", 800, 0)
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    before = canvas.graph.node(second).position
    middle = canvas.scene.edge_items[Edge(first, 0, second, 0)].path().pointAtPercent(0.5)
    layer_drop(canvas, "ReLU", middle)
    assert len(canvas.graph) == 3 and canvas.graph.node(second).position == before
    assert not any(a.intersects(b) for a, b in itertools.combinations(node_rects(canvas), 2))


# ------------------------------------------------------------ empty design
def test_an_empty_design_shows_how_to_begin_until_a_layer_is_added(canvas: Canvas) -> None:
    canvas.view.grab()
    assert canvas.view.painted_hint == EMPTY_HINT
    canvas.add("Dense", 0, 0)
    canvas.view.grab()
    assert canvas.view.painted_hint == ""
    canvas.stack.undo()
    canvas.view.grab()
    assert canvas.view.painted_hint == EMPTY_HINT


# ------------------------------------------------------------ model output
def test_connecting_the_one_sink_marks_it_as_the_output_in_the_same_step(canvas: Canvas) -> None:
    first, second = canvas.add("Dense", 0, 0), canvas.add("Dense", 280, 0)
    steps = canvas.stack.count()
    assert canvas.editor.connect_edge(Edge(first, 0, second, 0))
    name = canvas.graph.node(second).name
    assert canvas.graph.outputs == (ModelOutput(second, 0, name),)
    assert canvas.scene.node_items[second].output_text == name
    assert canvas.stack.count() == steps + 1
    canvas.stack.undo()
    assert canvas.graph.outputs == () and canvas.graph.edges == []


def test_extending_the_chain_past_its_output_moves_the_output_to_the_new_end(canvas: Canvas) -> None:
    first, second = canvas.add("Dense", 0, 0), canvas.add("Dense", 280, 0)
    assert canvas.editor.connect_edge(Edge(first, 0, second, 0))
    assert [output.node for output in canvas.graph.outputs] == [second]
    link = PendingLink(second, 0, from_input=False)
    third = canvas.editor.add_layer_linked("Dense", QPointF(640, 40), link)
    assert third is not None
    assert canvas.graph.outputs == (ModelOutput(third, 0, canvas.graph.node(third).name),)
    canvas.stack.undo()
    assert [output.node for output in canvas.graph.outputs] == [second] and third not in canvas.graph.nodes


def test_no_output_is_marked_while_there_are_several_sinks_or_an_output(canvas: Canvas) -> None:
    first, second, third = (canvas.add("Dense", x, 0) for x in (0, 280, 560))
    assert canvas.editor.connect_edge(Edge(first, 0, second, 0))
    assert canvas.graph.outputs == ()  # second and third both feed nothing
    canvas.editor.toggle_output(first)
    assert canvas.editor.connect_edge(Edge(second, 0, third, 0))
    assert [output.node for output in canvas.graph.outputs] == [first]


def test_the_node_menu_marks_and_unmarks_the_model_output(canvas: Canvas) -> None:
    dense = canvas.add("Dense", 0, 0)
    menu = QMenu()
    canvas.view._node_menu(menu, dense)
    mark = next(action for action in menu.actions() if action.text() == "Mark as Model Output")
    mark.trigger()
    assert [output.node for output in canvas.graph.outputs] == [dense]
    menu = QMenu()
    canvas.view._node_menu(menu, dense)
    unmark = next(action for action in menu.actions() if action.text() == "Unmark Model Output")
    unmark.trigger()
    assert canvas.graph.outputs == ()
