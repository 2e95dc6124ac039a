"""The canvas without the engine: the scene mirrors the model, gestures become undoable commands."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent, QGuiApplication, QUndoStack
from PySide6.QtWidgets import QApplication, QGraphicsItem

from designer.catalog.spec import Catalog, LayerSpec, ParamSpec
from designer.engine.results import NodeResult, TensorSpec
from designer.graph.model import MERGE_PORTS, Edge, ModelGraph
from designer.graph.validation import Diagnostic
from designer.ui.canvas import LAYER_MIME, CanvasEditor, GraphScene, GraphView
from designer.ui.canvas.clipboard import NODES_MIME
from designer.ui.canvas.interactions import NewLinkInteraction
from designer.ui.canvas.node_item import readable_scale
from designer.ui.document import Document


def small_catalog() -> Catalog:
    """A few layers, enough for the canvas and the digits_cnn example, without Keras."""
    units = ParamSpec("units", "int", required=True, suggested=32)
    activation = ParamSpec("activation", "choice", default=None, nullable=True, choices=("relu", "softmax"))
    filters = ParamSpec("filters", "int", required=True, suggested=32)
    kernel = ParamSpec("kernel_size", "tuple", required=True, suggested=3, length=2)
    padding = ParamSpec("padding", "choice", default="valid", choices=("valid", "same"))
    return Catalog(
        [
            LayerSpec("Dense", "Dense", "keras.layers", "core", (units, activation)),
            LayerSpec("Conv2D", "Conv2D", "keras.layers", "convolutional", (filters, kernel, padding)),
            LayerSpec("Flatten", "Flatten", "keras.layers", "reshaping"),
            LayerSpec("ReLU", "ReLU", "keras.layers", "activations"),
            LayerSpec("Add", "Add", "keras.layers", "merging", ports=MERGE_PORTS, call_convention="list"),
            LayerSpec("MaxPooling2D", "MaxPooling2D", "keras.layers", "pooling"),
            LayerSpec("GlobalAveragePooling2D", "GlobalAveragePooling2D", "keras.layers", "pooling"),
        ]
    )


class Canvas:
    """A document with its scene, editor and view, shown at a known size."""

    def __init__(self, qtbot: object) -> None:
        self.document = Document(small_catalog())
        self.scene = GraphScene(self.document)
        self.editor = CanvasEditor(self.document)
        self.view = GraphView(self.scene, self.editor)
        self.messages: list[str] = []
        self.editor.message.connect(self.messages.append)
        qtbot.addWidget(self.view)  # type: ignore[attr-defined]
        self.view.resize(1000, 700)
        self.view.show()
        qtbot.waitExposed(self.view)  # type: ignore[attr-defined]
        self.view.centerOn(0, 0)

    @property
    def graph(self) -> ModelGraph:
        return self.document.graph

    @property
    def stack(self) -> QUndoStack:
        return self.document.undo_stack

    def add(self, key: str, x: float, y: float) -> str:
        node_id = self.editor.add_layer(key, QPointF(x, y))
        assert node_id is not None
        return node_id

    def port_point(self, node_id: str, index: int, is_input: bool) -> QPoint:
        item = self.scene.node_items[node_id]
        anchor = item.input_anchor(index) if is_input else item.output_anchor(index)
        return self.view.mapFromScene(anchor)

    def node_point(self, node_id: str) -> QPoint:
        return self.view.mapFromScene(self.scene.node_items[node_id].sceneBoundingRect().center())


@pytest.fixture
def canvas(qtbot: object) -> Canvas:
    return Canvas(qtbot)


def drag(qtbot: object, canvas: Canvas, start: QPoint, end: QPoint, steps: int = 4) -> None:
    viewport = canvas.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)  # type: ignore[attr-defined]
    for step in range(1, steps + 1):
        point = start + (end - start) * (step / steps)
        qtbot.mouseMove(viewport, point)  # type: ignore[attr-defined]
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)  # type: ignore[attr-defined]


# ------------------------------------------------------------------- mirror
def test_scene_follows_the_model_and_undo(canvas: Canvas) -> None:
    dense = canvas.add("Dense", 0, 0)
    assert set(canvas.scene.node_items) == {dense}
    node = canvas.graph.node(dense)
    assert node.name == "dense" and node.params == {"units": 32}
    item = canvas.scene.node_items[dense]
    assert item.name == "dense" and "units 32" in item.params_text
    canvas.stack.undo()
    assert canvas.scene.node_items == {} and len(canvas.graph) == 0
    canvas.stack.redo()
    assert set(canvas.scene.node_items) == {dense}


def test_variadic_node_shows_its_connected_ports_and_one_free(canvas: Canvas) -> None:
    first, second = canvas.add("Dense", -300, -100), canvas.add("Dense", -300, 100)
    add = canvas.add("Add", 0, 0)
    assert len(canvas.scene.node_items[add].inputs) == 2
    assert canvas.editor.connect_edge(Edge(first, 0, add, 0))
    assert canvas.editor.connect_edge(Edge(second, 0, add, 1))
    ports = canvas.scene.node_items[add].inputs
    assert len(ports) == 3 and [p.connected for p in ports] == [True, True, False]


# ------------------------------------------------------------------ linking
def test_connect_by_dragging_from_an_output_to_an_input(qtbot: object, canvas: Canvas) -> None:
    source, target = canvas.add("Dense", -200, 0), canvas.add("Dense", 200, 0)
    drag(qtbot, canvas, canvas.port_point(source, 0, False), canvas.port_point(target, 0, True))
    assert canvas.graph.edges == [Edge(source, 0, target, 0)]
    assert Edge(source, 0, target, 0) in canvas.scene.edge_items
    assert canvas.view.interaction is None
    assert not [item for item in canvas.scene.items() if type(item).__name__ == "LinkCurveItem"]


def test_connect_backwards_from_an_input(qtbot: object, canvas: Canvas) -> None:
    source, target = canvas.add("Dense", -200, 0), canvas.add("Dense", 200, 0)
    drag(qtbot, canvas, canvas.port_point(target, 0, True), canvas.port_point(source, 0, False))
    assert canvas.graph.edges == [Edge(source, 0, target, 0)]


def test_a_cycle_is_refused_with_a_message_and_adds_nothing(qtbot: object, canvas: Canvas) -> None:
    first, second = canvas.add("Dense", -200, 0), canvas.add("Dense", 200, 0)
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    steps = canvas.stack.count()
    drag(qtbot, canvas, canvas.port_point(second, 0, False), canvas.port_point(first, 0, True))
    assert canvas.graph.edges == [Edge(first, 0, second, 0)]
    assert canvas.stack.count() == steps
    assert canvas.messages and "cycle" in canvas.messages[-1]


def test_nodes_a_link_cannot_reach_are_dimmed_while_dragging(qtbot: object, canvas: Canvas) -> None:
    first, second, third = (canvas.add("Dense", x, 0) for x in (-300, 0, 300))
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    viewport = canvas.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=canvas.port_point(second, 0, False))
    qtbot.mouseMove(viewport, canvas.node_point(third))
    assert isinstance(canvas.view.interaction, NewLinkInteraction)
    opacity = {node_id: canvas.scene.node_items[node_id].opacity() for node_id in (first, second, third)}
    assert opacity[first] < 1 and opacity[second] < 1 and opacity[third] == 1
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=canvas.node_point(third))
    assert all(item.opacity() == 1 for item in canvas.scene.node_items.values())
    assert Edge(second, 0, third, 0) in canvas.graph.edges  # dropped on the body: its free input


def test_connecting_into_an_occupied_input_replaces_it_in_one_step(qtbot: object, canvas: Canvas) -> None:
    first, second, target = (
        canvas.add("Dense", -300, -150),
        canvas.add("Dense", -300, 150),
        canvas.add("Dense", 200, 0),
    )
    canvas.editor.connect_edge(Edge(first, 0, target, 0))
    steps = canvas.stack.count()
    drag(qtbot, canvas, canvas.port_point(second, 0, False), canvas.port_point(target, 0, True))
    assert canvas.graph.edges == [Edge(second, 0, target, 0)]
    assert canvas.stack.count() == steps + 1
    canvas.stack.undo()
    assert canvas.graph.edges == [Edge(first, 0, target, 0)]
    assert set(canvas.scene.edge_items) == {Edge(first, 0, target, 0)}


def test_a_link_released_on_empty_canvas_offers_quick_add_and_connects(qtbot: object, canvas: Canvas) -> None:
    source = canvas.add("Dense", -200, 0)
    drag(qtbot, canvas, canvas.port_point(source, 0, False), canvas.view.mapFromScene(QPointF(250, 50)))
    popup = canvas.view.quick_add
    assert popup is not None and popup.isVisible()
    steps = canvas.stack.count()
    qtbot.keyClicks(popup.search, "relu")  # type: ignore[attr-defined]
    assert popup.current_key() == "ReLU"
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    relu = next(n for n in canvas.graph.nodes.values() if n.type == "ReLU")
    assert canvas.graph.edges == [Edge(source, 0, relu.id, 0)]
    assert canvas.stack.count() == steps + 1
    canvas.stack.undo()
    assert len(canvas.graph) == 1 and canvas.graph.edges == []


def test_typing_a_letter_or_tab_opens_quick_add(qtbot: object, canvas: Canvas) -> None:
    canvas.view.setFocus()
    qtbot.keyClick(canvas.view, "f")  # type: ignore[attr-defined]
    popup = canvas.view.quick_add
    assert popup is not None and popup.isVisible() and popup.search.text() == "f"
    assert popup.current_key() == "Flatten"
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert [n.type for n in canvas.graph.nodes.values()] == ["Flatten"]
    canvas.view.setFocus()
    qtbot.keyClick(canvas.view, Qt.Key.Key_Tab)  # type: ignore[attr-defined]
    assert canvas.view.quick_add is not popup and canvas.view.quick_add.isVisible()
    canvas.view.quick_add.close()


# ------------------------------------------------------------------- moving
def test_dragging_moves_every_selected_node_in_one_step(qtbot: object, canvas: Canvas) -> None:
    first, second = canvas.add("Dense", 0, 0), canvas.add("Dense", 0, 200)
    canvas.scene.select_nodes([first, second])
    before = {n: canvas.graph.node(n).position for n in (first, second)}
    steps = canvas.stack.count()
    start = canvas.node_point(first)
    drag(qtbot, canvas, start, start + QPoint(100, 40), steps=6)
    assert canvas.stack.count() == steps + 1
    for node_id in (first, second):
        x, y = canvas.graph.node(node_id).position
        assert (x - before[node_id][0], y - before[node_id][1]) == pytest.approx((100, 40), abs=2)
        assert canvas.scene.node_items[node_id].pos() == QPointF(x, y)
    assert canvas.scene.selected_node_ids() == [first, second]
    canvas.stack.undo()
    assert {n: canvas.graph.node(n).position for n in (first, second)} == before


def test_auto_layout_is_one_step(canvas: Canvas) -> None:
    first, second = canvas.add("Dense", 500, 500), canvas.add("Dense", -500, 0)
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    steps = canvas.stack.count()
    canvas.editor.auto_layout()
    assert canvas.stack.count() == steps + 1
    assert canvas.graph.node(first).position[0] < canvas.graph.node(second).position[0]


def test_wheel_zoom_keeps_the_point_under_the_cursor(canvas: Canvas) -> None:
    anchor = QPoint(700, 200)
    before = canvas.view.mapToScene(anchor)
    canvas.view.zoom_by(2.0, anchor)
    after = canvas.view.mapToScene(anchor)
    assert canvas.view.transform().m11() == pytest.approx(2.0)
    assert (after.x(), after.y()) == pytest.approx((before.x(), before.y()), abs=1.0)


# ------------------------------------------------------------------- editing
def test_delete_key_removes_the_selection_in_one_step(qtbot: object, canvas: Canvas) -> None:
    first, second, third = (canvas.add("Dense", x, 0) for x in (-300, 0, 300))
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    canvas.editor.connect_edge(Edge(second, 0, third, 0))
    canvas.scene.select_nodes([second])
    steps = canvas.stack.count()
    canvas.view.delete_selection()
    assert set(canvas.graph.nodes) == {first, third} and canvas.graph.edges == []
    assert canvas.stack.count() == steps + 1
    canvas.stack.undo()
    assert len(canvas.graph.edges) == 2 and len(canvas.scene.edge_items) == 2


def test_copy_and_paste_make_new_ids_unique_names_and_an_offset(canvas: Canvas) -> None:
    first, second = canvas.add("Dense", 0, 0), canvas.add("ReLU", 300, 0)
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    canvas.scene.select_nodes([first, second])
    assert canvas.view.copy_selection()
    assert QGuiApplication.clipboard().mimeData().hasFormat(NODES_MIME)
    pasted = canvas.view.paste()
    assert len(pasted) == 2 and not set(pasted) & {first, second}
    names = sorted(canvas.graph.node(n).name for n in pasted)
    assert names == ["dense_1", "re_lu_1"] or len(set(names) & {"dense", "re_lu"}) == 0
    new_first = next(n for n in pasted if canvas.graph.node(n).type == "Dense")
    (x, y), (new_x, new_y) = canvas.graph.node(first).position, canvas.graph.node(new_first).position
    assert (new_x - x, new_y - y) == (40.0, 40.0)
    assert len(canvas.graph.edges) == 2
    assert canvas.scene.selected_node_ids() == pasted
    canvas.stack.undo()
    assert set(canvas.graph.nodes) == {first, second}


def test_cut_duplicate_and_select_all(canvas: Canvas) -> None:
    first = canvas.add("Dense", 0, 0)
    canvas.scene.select_nodes([first])
    duplicates = canvas.view.duplicate_selection()
    assert len(duplicates) == 1 and len(canvas.graph) == 2
    canvas.view.select_all()
    assert set(canvas.scene.selected_node_ids()) == set(canvas.graph.nodes)
    assert canvas.document.selection == canvas.scene.selected_node_ids()
    canvas.view.cut_selection()
    assert len(canvas.graph) == 0
    assert len(canvas.view.paste()) == 2


# --------------------------------------------------------------------- drops
def layer_drop(canvas: Canvas, key: str, scene_point: QPointF) -> None:
    mime = QMimeData()
    mime.setData(LAYER_MIME, key.encode())
    position = QPointF(canvas.view.mapFromScene(scene_point))
    event = QDropEvent(
        position, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    canvas.view.dropEvent(event)


def test_a_dropped_layer_lands_at_the_drop_point(canvas: Canvas) -> None:
    layer_drop(canvas, "Conv2D", QPointF(120, 80))
    node = next(iter(canvas.graph.nodes.values()))
    assert node.type == "Conv2D" and node.params == {"filters": 32, "kernel_size": 3}
    assert canvas.scene.node_items[node.id].sceneBoundingRect().contains(QPointF(120, 80))


def test_a_layer_dropped_on_an_edge_is_inserted_into_it(canvas: Canvas) -> None:
    first, second = canvas.add("Conv2D", -300, 0), canvas.add("Dense", 300, 0)
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    middle = canvas.scene.edge_items[Edge(first, 0, second, 0)].path().pointAtPercent(0.5)
    steps = canvas.stack.count()
    layer_drop(canvas, "Flatten", middle)
    flatten = next(n.id for n in canvas.graph.nodes.values() if n.type == "Flatten")
    assert canvas.graph.edges == sorted([Edge(first, 0, flatten, 0), Edge(flatten, 0, second, 0)])
    assert canvas.stack.count() == steps + 1


# ------------------------------------------------------------------- results
def test_results_become_labels_counts_and_badges(canvas: Canvas) -> None:
    first, second = canvas.add("Conv2D", -300, 0), canvas.add("Dense", 300, 0)
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    error = Diagnostic("error", "Dense expects a rank-2 input.", "Insert Flatten.", node=second)
    results = {
        first: NodeResult(outputs=(TensorSpec((None, 8, 8, 16), "float32"),), trainable=160),
        second: NodeResult(diagnostics=(error,)),
    }
    canvas.document.set_results(results, [error])
    assert canvas.scene.edge_items[Edge(first, 0, second, 0)].label == "(None, 8, 8, 16)"
    assert canvas.scene.node_items[first].count_text == "160 params"
    badge = canvas.scene.node_items[second].badge
    assert badge.isVisible() and "rank-2" in badge.toolTip() and "Insert Flatten" in badge.toolTip()
    assert canvas.scene.node_items[second].severity == "error"
    canvas.document.set_results({}, [])
    assert not badge.isVisible()


def test_the_scene_follows_a_replaced_graph(canvas: Canvas) -> None:
    from designer.graph.project import Project

    canvas.add("Dense", 0, 0)
    other = Document(small_catalog()).graph
    canvas.document.replace(Project(other), None)
    assert canvas.scene.node_items == {}
    canvas.add("ReLU", 0, 0)
    assert len(canvas.scene.node_items) == 1


def test_clipboard_text_that_is_not_nodes_pastes_nothing(canvas: Canvas) -> None:
    QApplication.clipboard().setText("hello")
    assert canvas.view.paste() == []
    assert canvas.messages[-1].startswith("The clipboard holds no layers")


def test_zoomed_far_out_one_overview_item_paints_and_nodes_stay_selectable(
    qtbot: object, canvas: Canvas
) -> None:
    first, second = canvas.add("Dense", -300, 0), canvas.add("Dense", 300, 0)
    canvas.editor.connect_edge(Edge(first, 0, second, 0))
    canvas.view.zoom_by(0.1)
    assert canvas.scene.far and canvas.scene.overview.isVisible()
    item = canvas.scene.node_items[first]
    assert item.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
    assert not any(port.isVisible() for port in item.inputs + item.outputs)
    around = canvas.scene.node_items[second].sceneBoundingRect().adjusted(-100, -100, 100, 100)
    view = canvas.view
    drag(qtbot, canvas, view.mapFromScene(around.topLeft()), view.mapFromScene(around.bottomRight()))
    assert canvas.scene.selected_node_ids() == [second]
    canvas.view.grab()  # paints through the overview
    canvas.view.zoom_by(10)
    assert not canvas.scene.far and not canvas.scene.overview.isVisible()
    assert all(port.isVisible() for port in item.inputs + item.outputs)
    assert not item.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents


def test_fit_to_view_shows_every_node_when_they_fit_at_a_readable_zoom(canvas: Canvas) -> None:
    nodes = [canvas.add("Dense", x, y) for x, y in ((-500, 0), (600, 300), (0, -200))]
    canvas.view.fit_to_view()
    visible = canvas.view.visible_scene_rect()
    assert all(visible.contains(canvas.scene.node_items[n].sceneBoundingRect()) for n in nodes)


def test_fit_to_view_shows_the_start_of_a_design_too_large_to_read_whole(canvas: Canvas) -> None:
    nodes = [canvas.add("Dense", x, y) for x, y in ((-2000, 0), (2500, 900), (0, -1500))]
    canvas.view.fit_to_view()
    visible = canvas.view.visible_scene_rect()
    assert canvas.view.transform().m11() == pytest.approx(readable_scale())
    left = canvas.scene.node_items[nodes[0]].sceneBoundingRect()
    assert visible.left() < left.left() < visible.left() + 100
    assert not visible.contains(canvas.scene.node_items[nodes[1]].sceneBoundingRect())
