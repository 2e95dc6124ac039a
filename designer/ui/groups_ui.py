"""Blocks in the main window: the Edit menu's group actions and the block library dock.

`install_group_actions(window)` adds to a `MainWindow` what groups need
beyond the canvas itself: Group (Ctrl+G), Ungroup (Ctrl+Shift+G), Rename
Block (F2), Edit Inside / Back to the Whole Design and Save Block to Library
in the Edit menu, and a "Blocks" dock, tabbed with the layer palette, listing
the block library. Each action calls the view; the view and the editor turn
it into undo commands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu

from designer.ui.panels.block_library import BlockLibraryView

if TYPE_CHECKING:
    from designer.ui.main_window import MainWindow


def install_group_actions(window: MainWindow) -> BlockLibraryView:
    """Add the group actions to the Edit menu and the block library dock next to the palette;
    returns the library's view."""
    view = window.view
    actions = {
        "group": _action(window, "&Group", view.group_selection, "Ctrl+G"),
        "ungroup": _action(window, "&Ungroup", view.ungroup_selection, "Ctrl+Shift+G"),
        "rename_block": _action(window, "Re&name Block…", view.rename_block, "F2"),
        "edit_inside": _action(window, "Edit &Inside Block", lambda: _edit_inside(window)),
        "leave_block": _action(window, "&Back to the Whole Design", view.leave_inside),
        "save_block": _action(window, "Save Block to &Library…", view.save_block),
    }
    window.actions.update(actions)
    edit_menu = _menu(window, "&Edit")
    edit_menu.addSeparator()
    edit_menu.addActions(list(actions.values()))
    library = BlockLibraryView(window.document)
    dock = QDockWidget("Blocks", window)
    dock.setObjectName("blocks_dock")
    dock.setWidget(library)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    window.tabifyDockWidget(window.docks["palette"], dock)
    window.docks["palette"].raise_()
    window.docks["blocks"] = dock
    view_menu = _menu(window, "&View")
    view_menu.insertAction(window.docks["inspector"].toggleViewAction(), dock.toggleViewAction())
    library.insert_requested.connect(lambda path, shared: _insert(window, path, shared))
    window.editor.block_saved.connect(lambda _path: library.refresh())
    return library


def _action(
    window: MainWindow, text: str, slot: Callable[[], object], shortcut: str | None = None
) -> QAction:
    """An action answering its shortcut while the canvas has the focus (as the window's canvas actions do)."""
    action = QAction(text, window)
    action.triggered.connect(lambda _checked=False: slot())
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        window.view.addAction(action)
    return action


def _menu(window: MainWindow, title: str) -> QMenu:
    for action in window.menuBar().actions():
        menu = action.menu()
        if action.text() == title and isinstance(menu, QMenu):
            return menu
    raise LookupError(f"The window has no {title} menu.")


def _edit_inside(window: MainWindow) -> None:
    group_id = window.view.selected_block()
    if group_id is not None:
        window.view.edit_inside(group_id)


def _insert(window: MainWindow, path: Path, shared_with: str | None) -> None:
    """Insert a library block at the middle of the canvas."""
    view = window.view
    view.insert_block_file(path, view.mapToScene(view.viewport().rect().center()), shared_with)
