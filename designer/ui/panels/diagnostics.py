"""The diagnostics list: every problem the validator and the engine found in the design.

`DiagnosticsModel` is a table model over `document.diagnostics` (severity,
node, message; the hint as the tool tip), so a design with thousands of
findings costs one model reset, not thousands of widgets. `DiagnosticsView`
refreshes it on `results_changed` and asks for a node with
`node_activated(node_id)` when a row is clicked or activated.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QStyle, QTableView, QVBoxLayout, QWidget

from designer.graph.validation import ERROR, WARNING, Diagnostic
from designer.ui.document import Document
from designer.ui.panels.subscription import GraphSubscription

ModelIndex = QModelIndex | QPersistentModelIndex
SEVERITY_COLOURS = {ERROR: QColor("#c62828"), WARNING: QColor("#b26a00")}
SEVERITY_ICONS = {
    ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
    WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
}
MODEL_WIDE = "(model)"


class DiagnosticsModel(QAbstractTableModel):
    """One row per diagnostic: severity, the node's current name, the message."""

    COLUMNS = ("Severity", "Node", "Message")

    def __init__(self, document: Document, style: QStyle, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._diagnostics: list[Diagnostic] = []
        self._icons = {severity: style.standardIcon(pixmap) for severity, pixmap in SEVERITY_ICONS.items()}
        self._information = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)

    def set_diagnostics(self, diagnostics: list[Diagnostic]) -> None:
        self.beginResetModel()
        self._diagnostics = list(diagnostics)
        self.endResetModel()

    def diagnostic(self, row: int) -> Diagnostic:
        return self._diagnostics[row]

    def names_changed(self) -> None:
        """Node names are read when shown; tell the view to read them again."""
        if self._diagnostics:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self._diagnostics) - 1, 1))

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's signature
        return 0 if parent.isValid() else len(self._diagnostics)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's signature
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(  # noqa: N802 - Qt's name
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        diagnostic = self._diagnostics[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(diagnostic, index.column())
        if role == Qt.ItemDataRole.DecorationRole and index.column() == 0:
            return self._icon(diagnostic)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() != 1:
            return SEVERITY_COLOURS.get(diagnostic.severity)
        if role == Qt.ItemDataRole.ToolTipRole:
            return diagnostic_tooltip(diagnostic)
        return None

    def _text(self, diagnostic: Diagnostic, column: int) -> str:
        if column == 0:
            return diagnostic.severity.capitalize()
        if column == 1:
            return self.node_name(diagnostic)
        return diagnostic.message

    def _icon(self, diagnostic: Diagnostic) -> QIcon:
        return self._icons.get(diagnostic.severity, self._information)

    def node_name(self, diagnostic: Diagnostic) -> str:
        node = self.document.graph.nodes.get(diagnostic.node or "")
        return node.name if node else MODEL_WIDE


def diagnostic_tooltip(diagnostic: Diagnostic) -> str:
    hint = f"<br><br><b>How to fix it:</b> {html.escape(diagnostic.hint)}" if diagnostic.hint else ""
    return f"<p>{html.escape(diagnostic.message)}{hint}</p>"


def count_text(diagnostics: list[Diagnostic]) -> str:
    """ "2 errors, 1 warning" (or "No problems")."""
    errors = sum(1 for d in diagnostics if d.is_error)
    others = len(diagnostics) - errors
    parts = [f"{errors} error{'s' * (errors != 1)}"] if errors else []
    parts += [f"{others} warning{'s' * (others != 1)}"] if others else []
    return ", ".join(parts) or "No problems"


class DiagnosticsView(QWidget):
    """Every diagnostic of the document; click a row to go to its node."""

    node_activated = Signal(str)  # node id

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.counts = QLabel()
        self.table = QTableView()
        self.diagnostics_model = DiagnosticsModel(document, self.style(), self)
        _set_up_table(self.table, self.diagnostics_model)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.counts)
        layout.addWidget(self.table)
        self.table.clicked.connect(self._activated)
        self.table.activated.connect(self._activated)
        document.results_changed.connect(self.refresh)
        self._subscription = GraphSubscription(
            document,
            self,
            {"node_renamed": self._names_changed},
            on_replaced=self.refresh,
        )
        self.refresh()

    def refresh(self) -> None:
        """Show the document's diagnostics again."""
        self.diagnostics_model.set_diagnostics(self.document.diagnostics)
        self.counts.setText(count_text(self.document.diagnostics))

    def activate_row(self, row: int) -> None:
        """Go to the node of a row (what a click does); model-wide rows have none."""
        node_id = self.diagnostics_model.diagnostic(row).node
        if node_id is not None and node_id in self.document.graph.nodes:
            self.node_activated.emit(node_id)

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.activate_row(index.row())

    def _names_changed(self, *_: object) -> None:
        self.diagnostics_model.names_changed()


def _set_up_table(table: QTableView, model: QAbstractTableModel) -> None:
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.setShowGrid(False)
    table.verticalHeader().hide()
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.resizeSection(0, 90)
    header.resizeSection(1, 140)
