"""Errors as a person sees them in the Problems list and the Inspector, and their one-click fixes.

The diagnostics come from the real engine (Keras infers every shape); the fix
is applied by clicking its button, and checked on the design and its undo stack.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from designer.catalog.spec import Catalog
from designer.engine.analysis import analyze, default_catalog
from designer.graph.model import Edge, Node
from designer.ui.document import Document
from designer.ui.panels import DiagnosticsView, InspectorView
from designer.ui.panels.diagnostics import HINT_ROLE, MESSAGE_COLUMN


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


@pytest.fixture
def document(catalog: Catalog) -> Document:
    return Document(catalog)


def add(document: Document, type_key: str, name: str, **params: Any) -> str:
    spec = document.catalog[type_key]
    params = {**spec.initial_params(), **params}
    node = Node(document.graph.new_id(), type_key, name, params, ports=spec.ports)
    return document.graph.add_node(node).id


def chain(document: Document, *node_ids: str) -> None:
    for source, target in itertools.pairwise(node_ids):
        document.graph.connect(Edge(source, 0, target, 0))


def reanalyze(document: Document) -> None:
    """What the engine client does after an edit: infer with Keras and hand the results over."""
    analysis = analyze(document.graph, document.catalog)
    document.set_results(analysis.results, analysis.diagnostics)


def dense_after_conv(document: Document) -> tuple[str, str]:
    """image (8, 8, 3) -> conv_1 -> dense_1 (the output): Dense fed a feature map."""
    image = add(document, "Input", "image", shape=[8, 8, 3])
    conv = add(document, "Conv2D", "conv_1", filters=4, kernel_size=3)
    dense = add(document, "Dense", "dense_1", units=10)
    chain(document, image, conv, dense)
    document.graph.mark_output(dense)
    reanalyze(document)
    return conv, dense


def shown(qtbot: QtBot, widget: QWidget, width: int = 900, height: int = 400) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def layers_between(document: Document, source: str, target: str) -> list[str]:
    """The types of the nodes on the path source -> ... -> target (one hop between at most)."""
    graph = document.graph
    [edge] = graph.input_edges(target)
    return [] if edge.source == source else [graph.node(edge.source).type]


def test_the_problems_list_shows_the_message_and_its_hint(qtbot: QtBot, document: Document) -> None:
    _, dense = dense_after_conv(document)
    view = shown(qtbot, DiagnosticsView(document))
    model = view.diagnostics_model
    [row] = [r for r in range(model.rowCount()) if model.diagnostic(r).node == dense]
    message = model.index(row, MESSAGE_COLUMN)
    assert message.data().startswith("dense_1 (Dense) expects a rank-2 input (batch, features)")
    assert "got (None, 6, 6, 4) from conv_1" in message.data()
    assert message.data(HINT_ROLE) == "Insert Flatten or GlobalAveragePooling2D before dense_1."
    assert view.table.rowHeight(row) >= 2 * view.table.fontMetrics().lineSpacing()  # room for both lines
    button = view.fix_button(row)
    assert button is not None and button.isVisible() and button.text() == "Fix: insert Flatten"


def test_the_fix_button_in_the_problems_list_inserts_flatten_as_one_step(
    qtbot: QtBot, document: Document
) -> None:
    conv, dense = dense_after_conv(document)
    view = shown(qtbot, DiagnosticsView(document))
    [row] = [r for r in range(view.diagnostics_model.rowCount()) if view.fix_button(r) is not None]
    steps = document.undo_stack.count()
    qtbot.mouseClick(view.fix_button(row), Qt.MouseButton.LeftButton)
    assert layers_between(document, conv, dense) == ["Flatten"]
    assert document.undo_stack.count() == steps + 1
    reanalyze(document)
    assert view.counts.text() == "No problems"
    document.undo_stack.undo()
    assert layers_between(document, conv, dense) == []
    assert [n.type for n in document.graph.nodes.values()] == ["Input", "Conv2D", "Dense"]


def test_the_inspector_shows_the_hint_under_the_message_and_a_fix_button(
    qtbot: QtBot, document: Document
) -> None:
    conv, dense = dense_after_conv(document)
    inspector = shown(qtbot, InspectorView(document), width=320, height=700)
    document.set_selection([dense])
    assert inspector.form is not None
    section = inspector.form.result_section
    text = section.diagnostics.text()
    assert "dense_1 (Dense) expects a rank-2 input" in text
    assert text.index("Insert Flatten or GlobalAveragePooling2D") > text.index("expects a rank-2 input")
    [button] = section.fix_buttons
    qtbot.waitUntil(button.isVisible)  # a widget added to a shown form shows on the next turn
    assert button.text() == "Fix: insert Flatten"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert layers_between(document, conv, dense) == ["Flatten"]
    [inserted] = document.selection
    assert document.graph.node(inserted).type == "Flatten"


def test_a_reshape_fix_carries_its_target_shape(qtbot: QtBot, document: Document) -> None:
    features = add(document, "Input", "features", shape=[64])
    dense = add(document, "Dense", "dense_1", units=10)
    lstm = add(document, "LSTM", "lstm_1", units=4)
    chain(document, features, dense, lstm)
    document.graph.mark_output(lstm)
    reanalyze(document)
    view = shown(qtbot, DiagnosticsView(document))
    [row] = [r for r in range(view.diagnostics_model.rowCount()) if view.fix_button(r) is not None]
    assert "lstm_1 (LSTM) expects a rank-3 input" in view.diagnostics_model.index(row, MESSAGE_COLUMN).data()
    qtbot.mouseClick(view.fix_button(row), Qt.MouseButton.LeftButton)
    [reshape] = [n for n in document.graph.nodes.values() if n.type == "Reshape"]
    assert reshape.params["target_shape"] == [10, 1]
    reanalyze(document)
    assert view.counts.text() == "No problems"


def test_an_empty_design_shows_no_problems(qtbot: QtBot, document: Document) -> None:
    reanalyze(document)
    view = shown(qtbot, DiagnosticsView(document))
    assert view.counts.text() == "No problems"
    assert view.diagnostics_model.rowCount() == 0
