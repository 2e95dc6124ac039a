"""The Help menu: a list of the keyboard shortcuts and an About box with the versions.

The shortcut list is read from the window's menus when it opens, so it always
shows the keys that are really bound (including the platform's standard keys
and the second binding of an action, such as Ctrl+Y beside Ctrl+Shift+Z).
"""

from __future__ import annotations

import platform
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

DISTRIBUTION = "keras-designer"


def version(distribution: str = DISTRIBUTION) -> str:
    """The installed version of a distribution, or "unknown" when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def about_text(app_name: str) -> str:
    return (
        f"<h3>{app_name} {version()}</h3>"
        "<p>Draw Keras models as graphs, see every shape as you draw, export the code and train it.</p>"
        f"<p>Keras {version('keras')} · PySide6 {pyside_version} · Python {platform.python_version()}</p>"
    )


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(menu, command, keys) for every menu action that has a shortcut, in menu order."""
    rows: list[tuple[str, str, str]] = []
    for top in window.menuBar().actions():
        menu = top.menu()
        if isinstance(menu, QMenu):
            rows.extend(_menu_rows(_plain(top.text()), menu))
    return rows


def _menu_rows(title: str, menu: QMenu) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for action in menu.actions():
        submenu = action.menu()
        if isinstance(submenu, QMenu):
            rows.extend(_menu_rows(f"{title} > {_plain(action.text())}", submenu))
        elif keys := _keys(action):
            rows.append((title, _plain(action.text()), keys))
    return rows


def _keys(action: QAction) -> str:
    texts = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts()]
    return ", ".join(t for t in texts if t)


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


class ShortcutsDialog(QDialog):
    """A table of the window's keyboard shortcuts."""

    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Menu", "Command", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 520)


def install_help_menu(window: QMainWindow, app_name: str) -> dict[str, QAction]:
    """Help > Keyboard Shortcuts (F1) and About; returns the two actions."""
    menu = window.menuBar().addMenu("&Help")
    shortcuts = QAction("&Keyboard Shortcuts…", window)
    shortcuts.setShortcut(QKeySequence(Qt.Key.Key_F1))
    shortcuts.triggered.connect(lambda _checked=False: ShortcutsDialog(window).exec())
    about = QAction(f"&About {app_name}", window)
    about.setMenuRole(QAction.MenuRole.AboutRole)
    about.triggered.connect(
        lambda _checked=False: QMessageBox.about(window, f"About {app_name}", about_text(app_name))
    )
    menu.addActions([shortcuts, about])
    return {"shortcuts": shortcuts, "about": about}
