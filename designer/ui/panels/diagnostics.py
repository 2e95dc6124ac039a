"""The diagnostics list: every problem the validator and the engine found in the design.

`DiagnosticsModel` is a table model over `document.diagnostics` (severity,
node, message with its hint on a second line, fix), so a design with
thousands of findings costs one model reset, not thousands of widgets; only
the rows whose diagnostic carries a fix get a "Fix: insert Flatten" button,
which inserts that layer as one undo step (`designer.ui.panels.fixes`).
`DiagnosticsView` refreshes on `results_changed` and asks for a node with
`node_activated(node_id)` when a row is clicked or activated.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from designer.graph.errors import GraphError
from designer.graph.validation import ERROR, WARNING, Diagnostic, Fix
from designer.ui.document import Document
from designer.ui.panels.fixes import Placement, apply_fix, can_apply, fix_text, fix_tooltip
from designer.ui.panels.subscription import GraphSubscription

ModelIndex = QModelIndex | QPersistentModelIndex
SEVERITY_COLOURS = {ERROR: QColor("#c62828"), WARNING: QColor("#b26a00")}
SEVERITY_ICONS = {
    ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
    WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
}
MODEL_WIDE = "(model)"
HINT_ROLE = Qt.ItemDataRole.UserRole + 1  # the Message column's second line
HINT_COLOUR = QColor("#666666")
MESSAGE_COLUMN, FIX_COLUMN = 2, 3


class DiagnosticsModel(QAbstractTableModel):
    """One row per diagnostic: severity, the node's current name, the message over its hint, the fix."""

    COLUMNS = ("Severity", "Node", "Message", "Fix")

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
        if role == HINT_ROLE and index.column() == MESSAGE_COLUMN:
            return diagnostic.hint
        return None

    def _text(self, diagnostic: Diagnostic, column: int) -> str:
        if column == 0:
            return diagnostic.severity.capitalize()
        if column == 1:
            return self.node_name(diagnostic)
        if column == FIX_COLUMN:
            return ""  # a button shows it (see DiagnosticsView)
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


class MessageDelegate(QStyledItemDelegate):
    """Draws a message in its severity's colour with its hint, in grey, on the line below."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        options = QStyleOptionViewItem(option)
        self.initStyleOption(options, index)
        hint = str(index.data(HINT_ROLE) or "")
        options.text = ""
        style = options.widget.style() if options.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, options, painter, options.widget)
        first, second = _lines(option.rect, option.fontMetrics.lineSpacing())
        colour = index.data(Qt.ItemDataRole.ForegroundRole)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text_colour = option.palette.color(QPalette.ColorRole.HighlightedText) if selected else None
        _draw_line(painter, option, first, str(index.data() or ""), text_colour or colour)
        _draw_line(painter, option, second, hint, text_colour or HINT_COLOUR)


def _draw_line(painter: QPainter, option: QStyleOptionViewItem, rect: QRect, text: str, colour: Any) -> None:
    painter.save()
    if colour is not None:
        painter.setPen(colour)
    elided = option.fontMetrics.elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), elided)
    painter.restore()


def _lines(rect: QRect, line_height: int) -> tuple[QRect, QRect]:
    """The two text lines of a cell, with a small margin on the left."""
    inner = rect.adjusted(4, 2, -4, -2)
    top = inner.top() + (inner.height() - 2 * line_height) // 2
    return (
        QRect(inner.left(), top, inner.width(), line_height),
        QRect(inner.left(), top + line_height, inner.width(), line_height),
    )


class DiagnosticsView(QWidget):
    """Every diagnostic of the document; click a row to go to its node, click a Fix to apply it."""

    node_activated = Signal(str)  # node id

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.place_fix: Placement | None = None  # where a fix's layer goes (the window's canvas says)
        self.counts = QLabel()
        self.table = QTableView()
        self.diagnostics_model = DiagnosticsModel(document, self.style(), self)
        self.fix_error = QLabel()
        self.fix_error.setWordWrap(True)
        self.fix_error.setStyleSheet(f"color: {SEVERITY_COLOURS[ERROR].name()};")
        self.fix_error.hide()
        _set_up_table(self.table, self.diagnostics_model)
        self.table.setItemDelegateForColumn(MESSAGE_COLUMN, MessageDelegate(self.table))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.counts)
        layout.addWidget(self.table)
        layout.addWidget(self.fix_error)
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
        for row, diagnostic in enumerate(self.document.diagnostics):
            if diagnostic.fix is not None and can_apply(self.document, diagnostic.fix):
                index = self.diagnostics_model.index(row, FIX_COLUMN)
                self.table.setIndexWidget(index, self._fix_button(diagnostic.fix))

    def fix_button(self, row: int) -> QPushButton | None:
        """The Fix button of a row (None when its diagnostic has no fix)."""
        widget = self.table.indexWidget(self.diagnostics_model.index(row, FIX_COLUMN))
        return widget if isinstance(widget, QPushButton) else None

    def _fix_button(self, fix: Fix) -> QPushButton:
        button = QPushButton(fix_text(fix))
        button.setToolTip(fix_tooltip(fix, self.document.graph))
        button.clicked.connect(lambda *_: self.apply(fix))
        return button

    def apply(self, fix: Fix) -> None:
        """Insert the fix's layer (one undo step), or say why it cannot be done."""
        try:
            apply_fix(self.document, fix, self.place_fix)
        except GraphError as error:
            self.fix_error.setText(str(error))
            self.fix_error.show()
            return
        self.fix_error.hide()

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
    table.verticalHeader().setDefaultSectionSize(2 * table.fontMetrics().lineSpacing() + 10)  # message, hint
    header = table.horizontalHeader()
    header.setSectionResizeMode(MESSAGE_COLUMN, QHeaderView.ResizeMode.Stretch)
    header.resizeSection(0, 90)
    header.resizeSection(1, 140)
    header.resizeSection(FIX_COLUMN, 170)
