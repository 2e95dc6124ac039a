"""Optional input ports and outputs that follow the params, on the canvas and in the inspector:
MultiHeadAttention shows its key and masks as optional ports a link can reach; turning on an
LSTM's return_state adds its state outputs, and turning it off while a state is used is refused."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QCheckBox
from pytestqt.qtbot import QtBot

from designer.catalog.keras_layers import build_catalog
from designer.catalog.spec import Catalog
from designer.graph.model import Edge
from designer.ui.canvas import CanvasEditor, GraphScene, GraphView
from designer.ui.document import Document
from designer.ui.panels import InspectorView
from designer.ui.panels.param_editors import BoolEditor


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog()


class Canvas:
    def __init__(self, qtbot: QtBot, catalog: Catalog) -> None:
        self.document = Document(catalog)
        self.scene = GraphScene(self.document)
        self.editor = CanvasEditor(self.document)
        self.view = GraphView(self.scene, self.editor)
        qtbot.addWidget(self.view)
        self.view.resize(1000, 700)
        self.view.show()
        qtbot.waitExposed(self.view)
        self.view.centerOn(0, 0)

    def add(self, key: str, x: float, y: float) -> str:
        node_id = self.editor.add_layer(key, QPointF(x, y))
        assert node_id is not None
        return node_id

    def port_point(self, node_id: str, index: int, is_input: bool) -> QPoint:
        item = self.scene.node_items[node_id]
        anchor = item.input_anchor(index) if is_input else item.output_anchor(index)
        return self.view.mapFromScene(anchor)


def drag(qtbot: QtBot, canvas: Canvas, start: QPoint, end: QPoint, steps: int = 4) -> None:
    viewport = canvas.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, steps + 1):
        qtbot.mouseMove(viewport, start + (end - start) * (step / steps))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


def test_optional_ports_are_shown_as_such_and_take_a_link(qtbot: QtBot, catalog: Catalog) -> None:
    canvas = Canvas(qtbot, catalog)
    source = canvas.add("Dense", -300, 0)
    attention = canvas.add("MultiHeadAttention", 100, 0)
    ports = canvas.scene.node_items[attention].inputs
    assert [p.name for p in ports] == [
        "query",
        "value",
        "key",
        "query_mask",
        "value_mask",
        "key_mask",
        "attention_mask",
    ]
    assert [p.optional for p in ports] == [False, False, True, True, True, True, True]
    assert ports[2].toolTip() == "input: key (optional)" and ports[0].toolTip() == "input: query"
    drag(qtbot, canvas, canvas.port_point(source, 0, False), canvas.port_point(attention, 2, True))
    assert canvas.document.graph.edges == [Edge(source, 0, attention, 2)]
    assert canvas.scene.node_items[attention].inputs[2].connected


def test_return_state_adds_outputs_and_a_used_one_cannot_go(qtbot: QtBot, catalog: Catalog) -> None:
    canvas = Canvas(qtbot, catalog)
    encoder, decoder = canvas.add("LSTM", -300, 0), canvas.add("LSTM", 100, 0)
    inspector = InspectorView(canvas.document)
    qtbot.addWidget(inspector)
    canvas.document.set_selection([encoder])
    editor = inspector.editor("return_state")
    assert isinstance(editor, BoolEditor)
    editor.findChild(QCheckBox).setChecked(True)
    graph = canvas.document.graph
    assert graph.node(encoder).ports.outputs == ("output", "state_h", "state_c")
    assert [p.name for p in canvas.scene.node_items[encoder].outputs] == ["output", "state_h", "state_c"]
    assert inspector.form is not None and len(inspector.form.output_section.check_boxes) == 3
    editor = inspector.editor("return_state")
    assert isinstance(editor, BoolEditor)
    assert [p.name for p in canvas.scene.node_items[decoder].inputs][1:3] == [
        "initial_state[0]",
        "initial_state[1]",
    ]
    assert canvas.editor.connect_edge(Edge(encoder, 1, decoder, 1))
    editor.findChild(QCheckBox).setChecked(False)
    assert graph.node(encoder).params["return_state"] is True  # refused: state_h feeds the decoder
    assert len(canvas.scene.node_items[encoder].outputs) == 3
    assert inspector.form is not None
    assert "removes output 'state_h'" in inspector.form.result_section.fix_error.text()
    canvas.document.undo_stack.undo()  # the link
    canvas.document.undo_stack.undo()  # return_state
    assert graph.node(encoder).ports.outputs == ("output",)
    assert [p.name for p in canvas.scene.node_items[encoder].outputs] == ["output"]
