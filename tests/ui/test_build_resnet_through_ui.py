"""Build the ResNet identity-block example from an empty canvas, only through the UI.

Layers are dropped from the palette (with the palette's own drag data), named
and parametrised in the inspector's widgets, connected by dragging between
ports with the mouse; the output, the design's one sink, is marked by the last
connection, and the inspector's check box shows it.
The saved file must hold the example's graph; undoing every step empties the
canvas and redoing them all brings the same graph back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit
from test_canvas_engine import Engine, Session, start_engine

from designer.app import stop_engine
from designer.graph.model import ModelGraph
from designer.ui.panels.param_editors import ChoiceEditor, IntEditor, TextEditor

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "resnet_block.json"
COLUMNS, COLUMN_WIDTH, ROW_HEIGHT = 4, 240.0, 150.0


@pytest.fixture(scope="module")
def engine(qapp: QApplication, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    started = start_engine(tmp_path_factory.mktemp("engine-cache"))
    yield started
    stop_engine(started.client)


def normalised(data: dict[str, Any]) -> dict[str, Any]:
    """A design as names: ids and positions left out."""
    names = {node["id"]: node["name"] for node in data["nodes"]}
    return {
        "nodes": sorted(
            (node["name"], node["type"], json.dumps(node["params"], sort_keys=True)) for node in data["nodes"]
        ),
        "edges": sorted(
            (names[e["source"]], e["source_port"], names[e["target"]], e["target_port"])
            for e in data["edges"]
        ),
        "outputs": [(names[o["node"]], o["port"], o["name"]) for o in data["outputs"]],
    }


def graph_data(graph: ModelGraph) -> dict[str, Any]:
    from designer.graph.project import to_dict

    return to_dict(graph)


# ------------------------------------------------------------ UI gestures
def type_into(qtbot: Any, line_edit: QLineEdit, text: str) -> None:
    line_edit.setFocus()
    line_edit.selectAll()
    qtbot.keyClicks(line_edit, text)
    qtbot.keyClick(line_edit, Qt.Key.Key_Return)


def choose(qtbot: Any, combo_box: QComboBox, text: str) -> None:
    if combo_box.isEditable():
        type_into(qtbot, combo_box.lineEdit(), text)
        return
    index = combo_box.findText(text)
    assert index >= 0, f"{text!r} is not offered"
    combo_box.setFocus()
    combo_box.setCurrentIndex(index)
    combo_box.activated.emit(index)  # what a click on the item in the open list sends


def set_param(session: Session, name: str, value: Any) -> None:
    editor = session.window.inspector.editor(name)
    qtbot = session.qtbot
    if isinstance(editor, IntEditor):
        type_into(qtbot, editor.spin_box.lineEdit(), str(value))
    elif isinstance(editor, ChoiceEditor):
        choose(qtbot, editor.combo_box, str(value))
    elif isinstance(editor, TextEditor):
        text = ", ".join(str(item) for item in value) if isinstance(value, list) else str(value)
        type_into(qtbot, editor.line_edit, text)
    else:
        raise AssertionError(f"no editor for {name}: {editor!r}")


def rename(session: Session, name: str) -> None:
    form = session.window.inspector.form
    assert form is not None
    type_into(session.qtbot, form.name_section.line_edit, name)


def port_point(session: Session, node_id: str, index: int, is_input: bool) -> QPoint:
    item = session.scene.node_items[node_id]
    anchor = item.input_anchor(index) if is_input else item.output_anchor(index)
    return session.window.view.mapFromScene(anchor)


def drag_link(session: Session, start: QPoint, end: QPoint) -> None:
    viewport, qtbot = session.window.view.viewport(), session.qtbot
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for step in (0.25, 0.5, 0.75, 1.0):
        qtbot.mouseMove(viewport, start + (end - start) * step)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


# ------------------------------------------------------------------ the test
@pytest.fixture
def session(qtbot: Any, engine: Engine, tmp_path: Path) -> Iterator[Session]:
    made = Session(qtbot, engine, tmp_path)
    view = made.window.view
    view.resetTransform()
    view.zoom_by(0.8)
    view.centerOn(QPointF((COLUMNS - 1) * COLUMN_WIDTH / 2, 1.5 * ROW_HEIGHT))
    yield made
    made.sync.close()


def build(session: Session, example: dict[str, Any]) -> dict[str, str]:
    """Every node of the example placed, named, parametrised and connected; ids by example id."""
    ids: dict[str, str] = {}
    for index, node in enumerate(example["nodes"]):
        row, column = divmod(index, COLUMNS)
        session.drop_from_palette(node["type"], QPointF(column * COLUMN_WIDTH, row * ROW_HEIGHT))
        [node_id] = session.document.selection
        ids[node["id"]] = node_id
        assert session.window.inspector.node_id == node_id
        rename(session, node["name"])
        for name, value in node["params"].items():
            if session.document.graph.node(node_id).params.get(name) != value:
                set_param(session, name, value)
    for edge in example["edges"]:
        source, target = ids[edge["source"]], ids[edge["target"]]
        start = port_point(session, source, edge["source_port"], is_input=False)
        drag_link(session, start, port_point(session, target, edge["target_port"], is_input=True))
    for output in example["outputs"]:
        session.window.show_node(ids[output["node"]])
        form = session.window.inspector.form
        assert form is not None
        assert form.output_section.check_boxes[output["port"]].isChecked()
    return ids


def test_build_the_resnet_block_through_the_ui(session: Session, tmp_path: Path) -> None:
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    ids = build(session, example)
    graph = session.document.graph
    assert normalised(graph_data(graph)) == normalised(example)
    head = next(e for e in graph.edges if e.target == ids["n16"])
    session.wait_until(lambda: session.label(head) == "(None, 16)")
    assert not [d for d in session.document.diagnostics if d.is_error]

    target = tmp_path / "resnet_block.json"
    session.window.ask_save_path = lambda: target  # type: ignore[method-assign]
    assert session.window.save()
    assert normalised(json.loads(target.read_text(encoding="utf-8"))) == normalised(example)

    stack = session.document.undo_stack
    steps = stack.count()
    while stack.canUndo():
        stack.undo()
    assert len(graph) == 0 and graph.edges == [] and graph.outputs == ()
    assert session.scene.node_items == {} and session.scene.edge_items == {}
    while stack.canRedo():
        stack.redo()
    assert stack.count() == steps
    assert normalised(graph_data(graph)) == normalised(example)
    assert len(session.scene.node_items) == 16 and len(session.scene.edge_items) == 16
