"""The canvas with the real engine process: shape labels on edges and error badges on nodes.

One engine client serves the whole module (its first start takes seconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEventLoop, QMimeData, QPointF, QSettings, Qt, QTimer, SignalInstance
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from designer.app import stop_engine
from designer.catalog.spec import Catalog
from designer.graph.model import Edge
from designer.ui.document import Document
from designer.ui.engine_client import EngineClient, EngineSync
from designer.ui.main_window import MainWindow
from designer.ui.panels.palette import KEY_ROLE

ENGINE_TIMEOUT_MS = 180_000
ANALYSIS_TIMEOUT_MS = 120_000


def wait_for_signal(signal: SignalInstance, timeout_ms: int) -> list[tuple[Any, ...]]:
    """Run the event loop until `signal` fires (or the time is up); what it carried."""
    loop, received = QEventLoop(), []

    def got(*arguments: Any) -> None:
        received.append(arguments)
        loop.quit()

    signal.connect(got)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(got)
    return received


class Engine:
    """A started engine client and the catalog it served."""

    def __init__(self, client: EngineClient, catalog: Catalog) -> None:
        self.client, self.catalog = client, catalog


def start_engine(cache_dir: Path) -> Engine:
    client = EngineClient(cache_dir=cache_dir, analyze_timeout_s=120)  # generous on a loaded machine
    client.start()
    client.request_catalog()
    received = wait_for_signal(client.catalog_ready, ENGINE_TIMEOUT_MS)
    assert received, f"the engine sent no catalog: {client.stderr_tail}"
    return Engine(client, received[0][0])


@pytest.fixture(scope="module")
def engine(qapp: QApplication, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    started = start_engine(tmp_path_factory.mktemp("engine-cache"))
    yield started
    stop_engine(started.client)


class Session:
    """A main window on a fresh document, kept in step with the engine."""

    def __init__(self, qtbot: Any, engine: Engine, folder: Path) -> None:
        self.qtbot = qtbot
        self.document = Document(engine.catalog)
        settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
        self.window = MainWindow(self.document, engine.client, settings, recovery_dir=folder / "recovery")
        self.window.confirm_discard = lambda: True  # type: ignore[method-assign]
        self.sync = EngineSync(self.document, engine.client, parent=self.window)
        qtbot.addWidget(self.window)
        self.window.resize(1500, 950)
        self.window.show()
        qtbot.waitExposed(self.window)

    @property
    def scene(self) -> Any:
        return self.window.scene

    def add(self, key: str, x: float, y: float, **params: Any) -> str:
        node_id = self.window.editor.add_layer(key, QPointF(x, y))
        assert node_id is not None
        if params:
            graph = self.document.graph
            from designer.ui.commands import SetParams

            self.document.undo_stack.push(SetParams(graph, node_id, {**graph.node(node_id).params, **params}))
        return node_id

    def wait_until(self, condition: Any) -> None:
        self.qtbot.waitUntil(condition, timeout=ANALYSIS_TIMEOUT_MS)

    def label(self, edge: Edge) -> str:
        return self.scene.edge_items[edge].label

    def drop_from_palette(self, key: str, scene_point: QPointF) -> None:
        """Drop a layer as the palette drags it out: with the palette model's own mime data."""
        model = self.window.palette_view.catalog_model
        index = model.match(model.index(0, 0), KEY_ROLE, key, 1, Qt.MatchFlag.MatchRecursive)[0]
        mime: QMimeData = model.mimeData([index])
        view = self.window.view
        position = QPointF(view.mapFromScene(scene_point))
        event = QDropEvent(
            position,
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        view.dropEvent(event)


@pytest.fixture
def session(qtbot: Any, engine: Engine, tmp_path: Path) -> Iterator[Session]:
    made = Session(qtbot, engine, tmp_path)
    yield made
    made.sync.close()


def test_edges_show_inferred_shapes_that_follow_parameter_edits(session: Session) -> None:
    image = session.add("Input", -250, 0, shape=[8, 8, 1])
    conv = session.add("Conv2D", 50, 0, filters=16, kernel_size=[3, 3], padding="same")
    relu = session.add("ReLU", 350, 0)
    session.window.editor.connect_edge(Edge(image, 0, conv, 0))
    session.window.editor.connect_edge(Edge(conv, 0, relu, 0))
    session.wait_until(lambda: session.label(Edge(conv, 0, relu, 0)) == "(None, 8, 8, 16)")
    assert session.label(Edge(image, 0, conv, 0)) == "(None, 8, 8, 1)"
    assert session.scene.node_items[conv].count_text == "160 params"
    session.window.show_node(conv)
    filters = session.window.inspector.editor("filters")
    filters.spin_box.setValue(4)  # type: ignore[union-attr]
    session.wait_until(lambda: session.label(Edge(conv, 0, relu, 0)) == "(None, 8, 8, 4)")
    assert session.scene.node_items[conv].count_text == "40 params"


def test_an_error_badge_shows_until_a_flatten_is_dropped_on_the_edge(session: Session) -> None:
    image = session.add("Input", -300, 0, shape=[8, 8, 1])
    conv = session.add("Conv2D", 0, 0, filters=4, kernel_size=[3, 3])
    dense = session.add("Dense", 300, 0, units=10)
    session.window.editor.connect_edge(Edge(image, 0, conv, 0))
    session.window.editor.connect_edge(Edge(conv, 0, dense, 0))
    dense_item = session.scene.node_items[dense]
    session.wait_until(lambda: dense_item.severity == "error")
    assert dense_item.badge.isVisible()
    assert "Flatten" in dense_item.badge.toolTip()
    middle = session.scene.edge_items[Edge(conv, 0, dense, 0)].path().pointAtPercent(0.5)
    session.drop_from_palette("Flatten", middle)
    flatten = next(n.id for n in session.document.graph.nodes.values() if n.type == "Flatten")
    assert Edge(flatten, 0, dense, 0) in session.document.graph.edges
    session.wait_until(lambda: dense_item.severity == "")
    assert not dense_item.badge.isVisible()
    assert session.label(Edge(flatten, 0, dense, 0)) == "(None, 144)"


def test_a_bad_parameter_shows_its_error_with_one_analysis(session: Session) -> None:
    """One engine round trip per edit: the analysis brings the shapes and Keras' complaint."""
    image = session.add("Input", -250, 0, shape=[8])
    dense = session.add("Dense", 50, 0, units=4)
    session.window.editor.connect_edge(Edge(image, 0, dense, 0))
    session.wait_until(lambda: session.scene.node_items[dense].count_text == "36 params")
    session.window.show_node(dense)
    client = session.window.client
    assert client is not None
    analyses: list[tuple[Any, ...]] = []
    others: list[tuple[Any, ...]] = []

    def count_analysis(*arguments: Any) -> None:
        analyses.append(arguments)

    def count_other(*arguments: Any) -> None:
        others.append(arguments)

    client.analysis_ready.connect(count_analysis)
    client.answered.connect(count_other)
    try:
        session.window.inspector.editor("units").spin_box.setValue(-3)  # type: ignore[union-attr]
        session.wait_until(lambda: "positive integer" in session.window.inspector.error_text("units"))
        QApplication.processEvents()
    finally:
        client.analysis_ready.disconnect(count_analysis)
        client.answered.disconnect(count_other)
    assert len(analyses) == 1 and others == []
    assert session.document.results[dense].param_errors  # from the document's results


def test_a_layer_keras_would_refuse_to_build_shows_an_error_badge(session: Session) -> None:
    image = session.add("Input", -300, 0, shape=[8, 8, 1])
    conv = session.add("Conv2D", 0, 0, filters=4, kernel_size=[3, 3], kernel_initializer="identity")
    session.window.editor.connect_edge(Edge(image, 0, conv, 0))
    conv_item = session.scene.node_items[conv]
    session.wait_until(lambda: conv_item.severity == "error")
    assert conv_item.badge.isVisible()
    assert "Identity matrix initializer" in conv_item.badge.toolTip()
    assert "kernel_initializer" in conv_item.badge.toolTip()
    graph = session.document.graph
    from designer.ui.commands import SetParams

    params = {**graph.node(conv).params, "kernel_initializer": "glorot_uniform"}
    session.document.undo_stack.push(SetParams(graph, conv, params))
    session.wait_until(lambda: conv_item.severity == "")
    assert session.label(Edge(image, 0, conv, 0)) == "(None, 8, 8, 1)"
