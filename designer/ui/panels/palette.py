"""The palette: every layer of the document's catalog, by category, searchable and draggable.

`CatalogModel` shows the catalog as a two-level item model (categories, then
layers); a layer item drags out as `LAYER_MIME_TYPE` holding its catalog key.
The user's own layers come first, in the Custom group, which stays open; a
layer of theirs whose code did not run is shown greyed, saying why.
`PaletteView` filters it by key and summary as the person types and asks for a
layer with `add_requested(key)` on double-click or Enter. It rebuilds on the
document's `catalog_changed`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QMimeData, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeView, QVBoxLayout, QWidget

from designer.catalog.spec import Catalog, LayerSpec
from designer.trust import STAND_IN_SOURCE
from designer.ui.document import Document

LAYER_MIME_TYPE = "application/x-designer-layer"
KEY_ROLE = Qt.ItemDataRole.UserRole + 1  # the catalog key of a layer item (None on categories)
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2  # the text the filter matches: key and summary
TOOLTIP_LINES = 8
CUSTOM_CATEGORY = "custom"  # the user's own layers (designer.catalog.user_modules)

ModelIndex = QModelIndex | QPersistentModelIndex


class CatalogModel(QStandardItemModel):
    """Categories with their layers; layer items carry their key and drag out as `LAYER_MIME_TYPE`."""

    def __init__(self, catalog: Catalog | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if catalog is not None:
            self.set_catalog(catalog)

    def set_catalog(self, catalog: Catalog) -> None:
        self.clear()
        root = self.invisibleRootItem()
        categories = sorted(catalog.categories().items(), key=lambda item: item[0] != CUSTOM_CATEGORY)
        for category, specs in categories:
            category_item = _category_item(category, len(specs))
            category_item.appendRows([_layer_item(spec) for spec in specs])
            root.appendRow(category_item)

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return [LAYER_MIME_TYPE]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802 - Qt's name
        data = QMimeData()
        keys = [index.data(KEY_ROLE) for index in indexes if index.data(KEY_ROLE)]
        if keys:
            data.setData(LAYER_MIME_TYPE, keys[0].encode())
            data.setText(keys[0])
        return data

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802 - Qt's name
        return Qt.DropAction.CopyAction


def _category_item(category: str, count: int) -> QStandardItem:
    item = QStandardItem(category.capitalize())
    item.setToolTip(f"{count} layers")
    item.setData(category, SEARCH_ROLE)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
    return item


def _layer_item(spec: LayerSpec) -> QStandardItem:
    stand_in = spec.source == STAND_IN_SOURCE
    item = QStandardItem(f"{spec.key} (not loaded)" if stand_in else spec.key)
    item.setData(spec.key, KEY_ROLE)
    item.setData(f"{spec.key} {spec.summary}", SEARCH_ROLE)
    item.setToolTip(layer_tooltip(spec))
    flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
    item.setFlags(Qt.ItemFlag.NoItemFlags if stand_in else flags)  # greyed: nothing to add
    return item


def layer_tooltip(spec: LayerSpec) -> str:
    """The layer's summary and the first lines of its docstring, as wrapping rich text."""
    lines = spec.doc.strip().splitlines()[:TOOLTIP_LINES]
    body = html.escape("\n".join(lines)).replace("\n\n", "<br><br>").replace("\n", " ")
    origin = "" if spec.source == "keras" else f"<br><i>{html.escape(spec.module)}.{spec.class_name}</i>"
    if spec.file:
        origin += f"<br><i>{html.escape(spec.file)}</i>"
    summary = f"<b>{html.escape(spec.key)}</b>: {html.escape(spec.summary)}"
    return f"<p>{summary}{origin}</p><p>{body}</p>" if body else f"<p>{summary}{origin}</p>"


class LayerFilter(QSortFilterProxyModel):
    """Keeps the layers whose key or summary contains the text (any case), and their categories."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFilterRole(SEARCH_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setRecursiveFilteringEnabled(True)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:  # noqa: N802 - Qt's name
        if not source_parent.isValid():
            return False  # a category shows when one of its layers does (recursive filtering)
        return super().filterAcceptsRow(source_row, source_parent)


class PaletteView(QWidget):
    """A search field over a tree of the catalog; drag a layer out or double-click it to add it."""

    add_requested = Signal(str)  # catalog key

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search layers")
        self.search.setClearButtonEnabled(True)
        self.catalog_model = CatalogModel(parent=self)
        self.filter_model = LayerFilter(self)
        self.filter_model.setSourceModel(self.catalog_model)
        self.tree = _tree(self.filter_model)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self._add_first_match)
        self.tree.activated.connect(self._activated)
        document.catalog_changed.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        """Show the document's catalog again (after `catalog_changed`), keeping the filter."""
        self.catalog_model.set_catalog(self.document.catalog)
        self.set_filter(self.search.text())

    def set_filter(self, text: str) -> None:
        """Show only layers whose key or summary contains `text`; categories open while filtering."""
        self.filter_model.setFilterFixedString(text.strip())
        if text.strip():
            self.tree.expandAll()
        else:
            self.tree.collapseAll()
            self.tree.expand(self.category_index(CUSTOM_CATEGORY))

    def category_index(self, category: str) -> QModelIndex:
        """The tree's index of a category (invalid when it has no layer shown)."""
        model = self.filter_model
        rows = (model.index(row, 0) for row in range(model.rowCount()))
        return next((index for index in rows if index.data(SEARCH_ROLE) == category), QModelIndex())

    def visible_keys(self) -> list[str]:
        """The keys of the layers the filter keeps, top to bottom."""
        keys = []
        model = self.filter_model
        for row in range(model.rowCount()):
            category = model.index(row, 0)
            keys += [
                model.index(child, 0, category).data(KEY_ROLE) for child in range(model.rowCount(category))
            ]
        return keys

    def index_of(self, key: str) -> QModelIndex:
        """The tree's index of a layer (invalid when it is filtered out or unknown)."""
        flags = Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive
        matches = self.filter_model.match(self.filter_model.index(0, 0), KEY_ROLE, key, 1, flags)
        return matches[0] if matches else QModelIndex()

    def _activated(self, index: QModelIndex) -> None:
        key = index.data(KEY_ROLE)
        if key:
            self.add_requested.emit(key)

    def _add_first_match(self) -> None:
        keys = [key for key in self.visible_keys() if self.index_of(key).flags() & Qt.ItemFlag.ItemIsEnabled]
        if self.search.text().strip() and keys:
            self.add_requested.emit(keys[0])


def _tree(model: QSortFilterProxyModel) -> QTreeView:
    tree = QTreeView()
    tree.setModel(model)
    tree.setHeaderHidden(True)
    tree.setUniformRowHeights(True)
    tree.setDragEnabled(True)
    tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
    tree.setDefaultDropAction(Qt.DropAction.CopyAction)
    tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    return tree
