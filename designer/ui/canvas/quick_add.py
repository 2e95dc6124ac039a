"""The quick-add box: type a few letters of a layer's name, press Enter, and it is on the canvas.

`QuickAddPopup` is a search field over a list of the catalog's layers, ranked
by how well they match. It only says which layer was chosen (`chosen`); the
view decides where it goes and what it connects to.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from designer.catalog.spec import Catalog, LayerSpec

MAX_SHOWN = 60
KEY_ROLE = Qt.ItemDataRole.UserRole


def rank(spec: LayerSpec, text: str) -> int | None:
    """How well `spec` matches the typed text: lower is better, None when it does not match."""
    needle = text.strip().lower()
    key = spec.key.lower()
    if not needle:
        return 5
    if key == needle:
        return 0
    if key.startswith(needle):
        return 1
    if needle in key:
        return 2
    if needle in spec.category.lower():
        return 3
    if needle in spec.summary.lower():
        return 4
    return None


def matching_specs(catalog: Catalog, text: str) -> list[LayerSpec]:
    ranked = [(rank(spec, text), spec.key, spec) for spec in catalog.values()]
    return [spec for score, _, spec in sorted((r for r in ranked if r[0] is not None), key=lambda r: r[:2])]


class QuickAddPopup(QFrame):
    """A popup search box over the catalog; Enter picks the highlighted layer."""

    chosen = Signal(str)  # layer key

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.catalog = catalog
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add a layer…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(300, 320)
        self.search.textChanged.connect(self.filter)
        self.search.installEventFilter(self)
        self.list.itemActivated.connect(self._activate)
        self.filter("")

    def open_at(self, global_position: QPoint, text: str = "") -> None:
        self.move(global_position)
        self.show()
        self.search.setText(text)
        self.filter(text)
        self.search.setFocus()

    def filter(self, text: str) -> None:
        self.list.clear()
        for spec in matching_specs(self.catalog, text)[:MAX_SHOWN]:
            item = QListWidgetItem(f"{spec.key}    ·  {spec.category}")
            item.setData(KEY_ROLE, spec.key)
            item.setToolTip(spec.summary or spec.doc[:200])
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def current_key(self) -> str | None:
        item = self.list.currentItem()
        return item.data(KEY_ROLE) if item is not None else None

    def accept_current(self) -> None:
        key = self.current_key()
        self.close()
        if key is not None:
            self.chosen.emit(key)

    def _activate(self, item: QListWidgetItem) -> None:
        self.list.setCurrentItem(item)
        self.accept_current()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            return self._search_key(event)  # type: ignore[arg-type]
        return super().eventFilter(watched, event)

    def _search_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept_current()
            return True
        if key == Qt.Key.Key_Escape:
            self.close()
            return True
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            self.list.keyPressEvent(event)
            return True
        return False
