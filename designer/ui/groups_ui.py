"""Blocks in the main window: the Edit menu's group actions and the block library dock.

`install_group_actions(services, view, editor)` adds to a window (through
its `WindowServices`) what groups need beyond the canvas itself: Group
(Ctrl+G), Ungroup (Ctrl+Shift+G), Rename Block (F2), Edit Inside / Back to the
Whole Design and Save Block to Library in the Edit menu, and a "Blocks" dock,
tabbed with the layer palette, listing the block library. Each action calls
the view; the view and the editor turn it into undo commands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from designer.ui.canvas import CanvasEditor, GraphView
from designer.ui.panels.block_library import BlockLibraryView
from designer.ui.services import WindowServices


def install_group_actions(
    services: WindowServices, view: GraphView, editor: CanvasEditor
) -> BlockLibraryView:
    """Add the group actions to the Edit menu and the block library dock next to the palette;
    returns the library's view."""
    actions = {
        "group": _action(services, view, "&Group", view.group_selection, "Ctrl+G"),
        "ungroup": _action(services, view, "&Ungroup", view.ungroup_selection, "Ctrl+Shift+G"),
        "rename_block": _action(services, view, "Re&name Block…", view.rename_block, "F2"),
        "edit_inside": _action(services, view, "Edit &Inside Block", lambda: _edit_inside(view)),
        "leave_block": _action(services, view, "&Back to the Whole Design", view.leave_inside),
        "save_block": _action(services, view, "Save Block to &Library…", view.save_block),
    }
    services.add_actions("&Edit", actions)
    library = BlockLibraryView(services.document)
    dock = services.add_dock(
        "blocks", "Blocks", library, Qt.DockWidgetArea.LeftDockWidgetArea, tab_with="palette"
    )
    services.bring_forward("palette")
    inspector, view_menu = services.dock("inspector"), services.menu("&View")
    if inspector is not None:
        view_menu.insertAction(inspector.toggleViewAction(), dock.toggleViewAction())
    else:
        view_menu.addAction(dock.toggleViewAction())
    library.insert_requested.connect(lambda path, shared: _insert(view, path, shared))
    editor.block_saved.connect(lambda _path: library.refresh())
    return library


def _action(
    services: WindowServices,
    view: GraphView,
    text: str,
    slot: Callable[[], object],
    shortcut: str | None = None,
) -> QAction:
    """An action answering its shortcut while the canvas has the focus (as the window's canvas actions do)."""
    action = QAction(text, services.window())
    action.triggered.connect(lambda _checked=False: slot())
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        view.addAction(action)
    return action


def _edit_inside(view: GraphView) -> None:
    group_id = view.selected_block()
    if group_id is not None:
        view.edit_inside(group_id)


def _insert(view: GraphView, path: Path, shared_with: str | None) -> None:
    """Insert a library block at the middle of the canvas."""
    view.insert_block_file(path, view.mapToScene(view.viewport().rect().center()), shared_with)
