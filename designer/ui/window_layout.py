"""Where the main window's docks sit: the default arrangement, its persistence and its reset.

The canvas gets most of the window. The default puts the palette (and the
block library) on the left, the Inspector and Training Setup at the top right,
the Code and History tabs below them, and the wide panels (Problems and
Summary, whose tables need the width, and those that matter during and after a
run: Training, Weights, Activations, the Layer Editor) along the bottom, hidden
until they are asked for (the status bar's problem count opens Problems). Whatever a
person makes of it is saved with the window geometry when the window closes
and restored at the next start; View > Reset Layout brings the default back.
Dock names are the keys of `MainWindow.docks`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

if TYPE_CHECKING:
    from collections.abc import Mapping

LEFT = ("palette", "blocks")
RIGHT_TOP = ("inspector", "training_config")
RIGHT_BOTTOM = ("code", "history")
BOTTOM = ("diagnostics", "summary", "training", "weights", "activations", "layer_editor")  # wide tables
SHOWN_FIRST = ("palette", "inspector", "code")  # the tab in front in each group
HIDDEN_AT_FIRST = frozenset(BOTTOM)
LEFT_WIDTH, RIGHT_WIDTH = 0.16, 0.25  # of the window's width
LEFT_MIN, RIGHT_MIN = 190, 300
PANEL_MIN_WIDTH = 220
PANEL_MIN_HEIGHT = 80
BOTTOM_HEIGHT = 0.36  # of the window's height, once a bottom panel is shown
STATE_VERSION = 2  # bump when the dock set changes: older saved states are then ignored
STATE_KEY, GEOMETRY_KEY = "window/state", "window/geometry"


class DockLayout(QObject):
    """Arranges, saves, restores and resets the docks of one main window."""

    def __init__(self, window: QMainWindow, docks: Mapping[str, QDockWidget], settings: QSettings) -> None:
        super().__init__(window)
        self.window, self.docks, self.settings = window, docks, settings
        self.default_state = QByteArray()
        self.restored = self._shown = False
        window.installEventFilter(self)

    def arrange_default(self) -> None:
        """Put every dock in its default place and size; remember it for Reset Layout."""
        right = Qt.DockWidgetArea.RightDockWidgetArea
        for name, dock in self.docks.items():
            dock.setVisible(name not in HIDDEN_AT_FIRST)
        self._stack(LEFT, Qt.DockWidgetArea.LeftDockWidgetArea)
        top_right, below = self._present(RIGHT_TOP), self._present(RIGHT_BOTTOM)
        for dock in top_right + below:  # their own wish (the code's longest line) must not widen the column
            dock.widget().setMinimumWidth(PANEL_MIN_WIDTH)
        for dock in self.docks.values():  # a person can drag any panel small; the canvas gets the room
            dock.widget().setMinimumHeight(PANEL_MIN_HEIGHT)
        if top_right:
            self._place(top_right[0], right)
        if top_right and below:
            # Split before tabifying: a dock already in a tab group takes a split as one more tab.
            self.window.splitDockWidget(top_right[0], below[0], Qt.Orientation.Vertical)
        self._tabify(top_right)
        self._tabify(below)
        self._stack(BOTTOM, Qt.DockWidgetArea.BottomDockWidgetArea)
        for name in SHOWN_FIRST:
            if name in self.docks:
                self.docks[name].raise_()
        self.fit_sizes()
        self.default_state = self.window.saveState(STATE_VERSION)

    def fit_sizes(self) -> None:
        """Side columns as a share of the window's width, with floors that keep the panels usable."""
        width, height = max(self.window.width(), 800), max(self.window.height(), 600)
        columns = {LEFT[0]: max(LEFT_MIN, int(width * LEFT_WIDTH))}
        columns[RIGHT_TOP[0]] = max(RIGHT_MIN, int(width * RIGHT_WIDTH))
        self._resize(columns, Qt.Orientation.Horizontal)
        self._resize(
            {RIGHT_TOP[0]: int(height * 0.5), RIGHT_BOTTOM[0]: int(height * 0.5)}, Qt.Orientation.Vertical
        )
        self._resize({BOTTOM[0]: int(height * BOTTOM_HEIGHT)}, Qt.Orientation.Vertical)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """At the first show, size the default for the window as it really is (unless restored)."""
        if watched is self.window and event.type() == QEvent.Type.Show and not self._shown:
            self._shown = True
            if not self.restored:
                self.fit_sizes()
                self.default_state = self.window.saveState(STATE_VERSION)
        return False

    def restore(self) -> bool:
        """The layout and geometry saved at the last close, when there is one of this version."""
        geometry, state = self.settings.value(GEOMETRY_KEY), self.settings.value(STATE_KEY)
        if isinstance(geometry, QByteArray):
            self.window.restoreGeometry(geometry)
        self.restored = isinstance(state, QByteArray) and self.window.restoreState(state, STATE_VERSION)
        return self.restored

    def save(self) -> None:
        self.settings.setValue(GEOMETRY_KEY, self.window.saveGeometry())
        self.settings.setValue(STATE_KEY, self.window.saveState(STATE_VERSION))

    def reset(self) -> None:
        """The default arrangement again (every dock back in place, the bottom ones hidden)."""
        if not self.window.restoreState(self.default_state, STATE_VERSION):
            self.arrange_default()
        self.fit_sizes()

    # ---------------------------------------------------------------- helpers
    def _present(self, names: tuple[str, ...]) -> list[QDockWidget]:
        return [self.docks[name] for name in names if name in self.docks]

    def _stack(self, names: tuple[str, ...], area: Qt.DockWidgetArea) -> list[QDockWidget]:
        docks = self._present(names)
        for dock in docks:
            self._place(dock, area)
        self._tabify(docks)
        return docks

    def _place(self, dock: QDockWidget, area: Qt.DockWidgetArea) -> None:
        dock.setFloating(False)
        self.window.addDockWidget(area, dock)

    def _resize(self, sizes: dict[str, int], orientation: Qt.Orientation) -> None:
        present = [(self.docks[name], size) for name, size in sizes.items() if name in self.docks]
        if len(present) == len(sizes):
            self.window.resizeDocks([d for d, _ in present], [s for _, s in present], orientation)

    def _tabify(self, docks: list[QDockWidget]) -> None:
        for dock in docks[1:]:
            self.window.tabifyDockWidget(docks[0], dock)
