"""GraphSubscription: a view's callbacks on `graph.events`, moved to a replaced graph, dropped
with the view."""

from __future__ import annotations

from typing import Any

import pytest
import shiboken6
from psygnal import EmissionInfo
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from designer.catalog.spec import Catalog
from designer.graph.model import ModelGraph, Node
from designer.graph.project import Project
from designer.ui.document import Document
from designer.ui.panels.subscription import GraphSubscription


def dense(graph: ModelGraph, name: str) -> Node:
    return graph.add_node(Node(graph.new_id(), "Dense", name))


def test_callbacks_by_name_follow_the_document_graph_and_stop_with_the_view(qtbot: QtBot) -> None:
    document, view = Document(Catalog([])), QWidget()
    qtbot.addWidget(view)
    calls: list[tuple[str, tuple[Any, ...]]] = []
    GraphSubscription(
        document,
        view,
        {"node_added": lambda *args: calls.append(("added", args)), "node_renamed": lambda *a: None},
    )
    old = document.graph
    node = dense(old, "first")
    old.move(node.id, (1.0, 2.0))  # not subscribed
    assert calls == [("added", (node,))]
    document.replace(Project(ModelGraph()), None)
    dense(old, "ignored")
    second = dense(document.graph, "second")
    assert calls[-1] == ("added", (second,)) and len(calls) == 2
    view.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(view))
    dense(document.graph, "after")
    assert len(calls) == 2


def test_one_callback_gets_every_emission(qtbot: QtBot) -> None:
    document, view = Document(Catalog([])), QWidget()
    qtbot.addWidget(view)
    events: list[EmissionInfo] = []
    GraphSubscription(document, view, events.append)
    node = dense(document.graph, "first")
    document.graph.move(node.id, (3.0, 4.0))
    assert [(event.signal.name, event.args) for event in events] == [
        ("node_added", (node,)),
        ("node_moved", (node.id, (3.0, 4.0))),
    ]


def test_a_signal_the_graph_does_not_have_is_refused(qtbot: QtBot) -> None:
    view = QWidget()
    qtbot.addWidget(view)
    with pytest.raises(ValueError, match="no signal 'node_add'"):
        GraphSubscription(Document(Catalog([])), view, {"node_add": print})
