"""The block library panel: the blocks saved for reuse across projects, ready to insert.

`BlockLibraryView` lists the block files of the library folder
(`groups.block_dir()`, or the folder given), each with its layers in its
tooltip. A block drags out onto the canvas as `BLOCK_MIME` holding its file's
path; double-click (or Enter) asks for a new instance with
`insert_requested(path, None)`, and the context menu also offers to insert one
that shares the weights of an instance already in the design
(`insert_requested(path, group_id)`). A file that cannot be read is listed,
greyed, with the reason. The panel never edits the design itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.graph.errors import ProjectError
from designer.graph.groups import block_dir, library_blocks, load_block
from designer.ui.canvas.view import BLOCK_MIME
from designer.ui.document import Document

PATH_ROLE = Qt.ItemDataRole.UserRole + 1  # the block file of an item
BLOCK_ROLE = Qt.ItemDataRole.UserRole + 2  # its block type ("" for a file that cannot be read)
EMPTY_TEXT = "No blocks yet. Right-click a block on the canvas and choose “Save block to library…”."


class BlockList(QListWidget):
    """The list of library blocks; an item drags out as its file's path."""

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return [BLOCK_MIME]

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:  # noqa: N802 - Qt's name
        data = QMimeData()
        paths = [item.data(PATH_ROLE) for item in items if item.data(BLOCK_ROLE)]
        if paths:
            data.setData(BLOCK_MIME, paths[0].encode("utf-8"))
        return data


class BlockLibraryView(QWidget):
    """The library's blocks: drag one onto the canvas, double-click it, or right-click for shared weights."""

    insert_requested = Signal(object, object)  # Path of the block file, id of a group to share weights with

    def __init__(self, document: Document, folder: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.folder = folder
        self.list = BlockList()
        self.list.setDragEnabled(True)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setEnabled(False)
        self.folder_label = QLabel()
        self.folder_label.setEnabled(False)
        self.folder_label.setWordWrap(True)
        refresh = QToolButton()
        refresh.setText("Refresh")
        refresh.clicked.connect(self.refresh)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addWidget(self.empty)
        layout.addWidget(self.folder_label)
        layout.addWidget(refresh, 0, Qt.AlignmentFlag.AlignRight)
        self.list.itemActivated.connect(self._activated)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.refresh()

    def library(self) -> Path:
        return self.folder if self.folder is not None else block_dir()

    def refresh(self) -> None:
        """List the block files of the library folder again."""
        self.list.clear()
        for path in library_blocks(self.library()):
            self.list.addItem(_block_item(path))
        self.empty.setVisible(self.list.count() == 0)
        self.folder_label.setText(f"Folder: {self.library()}")

    def block_names(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())]

    def item_of(self, block: str) -> QListWidgetItem | None:
        """The item of a block type, or None."""
        return next(
            (
                self.list.item(r)
                for r in range(self.list.count())
                if self.list.item(r).data(BLOCK_ROLE) == block
            ),
            None,
        )

    def instances(self, block: str) -> list[tuple[str, str]]:
        """(group id, name) of the design's groups of a block type that an instance can share weights with."""
        return [(g.id, g.name) for g in self.document.graph.groups.values() if g.block == block]

    def _activated(self, item: QListWidgetItem) -> None:
        if item.data(BLOCK_ROLE):
            self.insert_requested.emit(Path(item.data(PATH_ROLE)), None)

    def _context_menu(self, point: QPoint) -> None:
        item = self.list.itemAt(point)
        if item is None or not item.data(BLOCK_ROLE):
            return
        menu = QMenu(self)
        self.fill_menu(menu, item)
        menu.exec(self.list.viewport().mapToGlobal(point))

    def fill_menu(self, menu: QMenu, item: QListWidgetItem) -> None:
        """Insert as a new instance, or sharing the weights of an instance of the block in the design."""
        path = Path(item.data(PATH_ROLE))
        self._add_insert_action(menu, "Insert", path, None)
        sharing = menu.addMenu("Insert sharing weights with")
        instances = self.instances(item.data(BLOCK_ROLE))
        for group_id, name in instances:
            self._add_insert_action(sharing, name, path, group_id)
        sharing.setEnabled(bool(instances))
        if not instances:
            sharing.setToolTip("The design has no instance of this block yet.")

    def _add_insert_action(self, menu: QMenu, text: str, path: Path, group_id: str | None) -> None:
        menu.addAction(text, lambda: self.insert_requested.emit(path, group_id))


def _block_item(path: Path) -> QListWidgetItem:
    """An item for a block file: its name and size, its layers in the tooltip; greyed when unreadable."""
    try:
        data = load_block(path)
    except ProjectError as error:
        item = QListWidgetItem(f"{path.stem} (unreadable)")
        item.setData(BLOCK_ROLE, "")
        item.setToolTip(str(error))
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        return item
    item = QListWidgetItem(data["name"])
    item.setData(PATH_ROLE, str(path))
    item.setData(BLOCK_ROLE, data["block"])
    item.setToolTip(_tooltip(data, path))
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
    return item


def _tooltip(data: dict[str, Any], path: Path) -> str:
    layers = ", ".join(f"{node['name']} ({node['type']})" for node in data["nodes"])
    return (
        f"<b>{data['name']}</b>: {len(data['nodes'])} layers, {len(data['inputs'])} input(s), "
        f"{len(data['outputs'])} output(s)<br>{layers}<br><i>{path}</i>"
    )
