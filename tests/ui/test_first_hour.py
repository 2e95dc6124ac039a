"""The first hour, as a new user lives it, through the real window and the real engine.

A new design: Input, Dense, Dropout and Dense dragged from the palette,
connected by dragging between ports, parameters typed into the inspector; the
shapes appear on the edges, the last layer becomes the output by itself, the
status bar counts no problems and the Code panel shows the model.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication
from test_build_resnet_through_ui import drag_link, port_point, rename, set_param
from test_canvas_engine import Engine, Session, start_engine

from designer.app import stop_engine
from designer.graph.model import Edge


@pytest.fixture(scope="module")
def engine(qapp: QApplication, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    started = start_engine(tmp_path_factory.mktemp("engine-cache"))
    yield started
    stop_engine(started.client)


@pytest.fixture
def session(qtbot: Any, engine: Engine, tmp_path: Path) -> Iterator[Session]:
    made = Session(qtbot, engine, tmp_path)
    made.window.resize(1280, 800)
    made.window.reset_layout()
    yield made
    made.sync.close()


def place(session: Session, key: str, x: float, name: str, **params: Any) -> str:
    session.drop_from_palette(key, QPointF(x, 0))
    [node_id] = session.document.selection
    assert session.window.inspector.node_id == node_id  # the new layer is selected, its form shown
    rename(session, name)
    for param, value in params.items():
        set_param(session, param, value)
    return node_id


def test_a_new_user_draws_an_mlp_and_sees_shapes_and_code(session: Session) -> None:
    window = session.window
    window.new_design()
    ids = [
        place(session, "Input", 0, "pixels", shape=[64]),
        place(session, "Dense", 260, "hidden", units=32, activation="relu"),
        place(session, "Dropout", 520, "dropout", rate=0.2),
        place(session, "Dense", 780, "digit", units=10, activation="softmax"),
    ]
    edges = [Edge(source, 0, target, 0) for source, target in itertools.pairwise(ids)]
    for edge in edges:
        drag_link(
            session,
            port_point(session, edge.source, 0, is_input=False),
            port_point(session, edge.target, 0, is_input=True),
        )
    graph = session.document.graph
    assert set(graph.edges) == set(edges)
    assert [output.node for output in graph.outputs] == [ids[-1]]  # the sink became the output
    session.wait_until(lambda: session.label(edges[-1]) == "(None, 32)")
    assert [session.label(edge) for edge in edges] == ["(None, 64)", "(None, 32)", "(None, 32)"]
    assert session.scene.node_items[ids[1]].count_text == "2,080 params"
    session.wait_until(lambda: window.problems_button.text() == "✓ No problems")
    assert window.totals_label.text() == "4 layers · 2,410 params"
    window.bring_forward("code")
    session.wait_until(lambda: "layers.Dense(10" in window.code.text())
    code = window.code.text()
    assert 'name="hidden"' in code and "layers.Dropout(0.2" in code and 'activation="softmax"' in code
