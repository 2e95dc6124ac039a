"""The Inspector and Training Setup fit a narrow dock: no horizontal scroll bar, no editor cut off.

At 1280x800 the side docks are about 300 px wide. Each panel is put in such a
dock of a main window and every editor a person can see must end inside its
scroll area's viewport.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QWidget,
)
from pytestqt.qtbot import QtBot

from designer.catalog.spec import Catalog
from designer.engine.analysis import default_catalog
from designer.graph.model import Edge, Node
from designer.ui.document import Document
from designer.ui.panels import InspectorView
from designer.ui.panels.training_config import TrainingConfigView

DOCK_WIDTH = 300
EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "digits_cnn.json"
EDITORS = (QLineEdit, QComboBox, QAbstractSpinBox, QCheckBox, QPushButton)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def docked(qtbot: QtBot, panel: QWidget, height: int = 800) -> tuple[QMainWindow, QScrollArea]:
    """`panel` in a 300 px dock of a 1280 px wide window: the window (keep it) and the panel's
    scroll area."""
    window = QMainWindow()
    window.setCentralWidget(QWidget())
    dock = QDockWidget("Panel", window)
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    qtbot.addWidget(window)
    window.resize(1280, height)
    window.show()
    qtbot.waitExposed(window)
    window.resizeDocks([dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: abs(dock.width() - DOCK_WIDTH) <= 10)
    [scroll] = [area for area in panel.findChildren(QScrollArea) if area.isVisible()]
    return window, scroll


def cut_off_editors(scroll: QScrollArea) -> list[str]:
    """The visible editors whose right edge lies past the viewport's."""
    viewport = scroll.viewport()
    found = []
    for editor in scroll.widget().findChildren(QWidget):
        if isinstance(editor, EDITORS) and editor.isVisible():
            right = editor.mapTo(viewport, QPoint(editor.width(), 0)).x()
            if right > viewport.width():
                found.append(f"{type(editor).__name__} {editor.objectName()} ends at {right}")
    return found


def test_the_inspector_of_a_conv2d_fits_a_narrow_dock(qtbot: QtBot, catalog: Catalog) -> None:
    document = Document(catalog)
    spec = catalog["Conv2D"]
    conv = Node("n1", "Conv2D", "conv_1", spec.initial_params(), ports=spec.ports)
    image = Node("n0", "Input", "image", {"shape": [28, 28, 1]}, ports=catalog["Input"].ports)
    document.graph.add_node(image)
    document.graph.add_node(conv)
    document.graph.connect(Edge("n0", 0, "n1", 0))
    inspector = InspectorView(document)
    document.set_selection(["n1"])
    _window, scroll = docked(qtbot, inspector, height=500)  # docks stacked: less height
    assert inspector.editor("activity_regularizer") is not None  # a long name, a wide default
    assert not scroll.horizontalScrollBar().isVisible()
    assert scroll.verticalScrollBar().isVisible()  # it scrolls down instead, and that bar takes width
    assert cut_off_editors(scroll) == []


def test_training_setup_fits_a_narrow_dock(qtbot: QtBot, catalog: Catalog, tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    document = Document(catalog)
    document.open(tmp_path / EXAMPLE.name)
    view = TrainingConfigView(document)
    _window, scroll = docked(qtbot, view)
    assert not scroll.horizontalScrollBar().isVisible()
    assert cut_off_editors(scroll) == []
    view.callbacks.reduce_lr.setChecked(True)  # the widest row: a check box, then two spin boxes
    assert cut_off_editors(scroll) == []
