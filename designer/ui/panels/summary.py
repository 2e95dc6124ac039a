"""The summary: the layer table of the design as `model.summary()` prints it, with its totals.

`SummaryModel` holds one row per node in topological order (name (type),
output shape, params, connected to), computed from the graph and
`document.results`; `SummaryView` shows it in a table with the Total /
Trainable / Non-trainable counts below. It refreshes on `results_changed` and,
folded into one refresh per burst, on changes of the graph's structure or names.
Sizes assume 4 bytes per parameter (float32), as the engine's text summary does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from designer.engine.results import NodeResult, format_shape
from designer.graph.model import ModelGraph
from designer.ui.document import Document
from designer.ui.panels.subscription import Debouncer, GraphSubscription

ModelIndex = QModelIndex | QPersistentModelIndex
COLUMNS = ("Layer (type)", "Output Shape", "Param #", "Connected to")
ERROR_COLOUR = QColor("#c62828")
REFRESH_DELAY_MS = 50
STRUCTURE_SIGNALS = (
    "node_added",
    "node_removed",
    "edge_added",
    "edge_removed",
    "node_renamed",
    "sharing_changed",
    "name_changed",
)


@dataclass(frozen=True)
class SummaryRow:
    node_id: str
    cells: tuple[str, str, str, str]
    has_error: bool


@dataclass(frozen=True)
class Totals:
    trainable: int
    non_trainable: int

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable


def summary_rows(graph: ModelGraph, results: dict[str, NodeResult], failing: set[str]) -> list[SummaryRow]:
    """One row per node, sources first; `failing` are the ids of nodes with errors."""
    try:
        order = graph.topological_order()
    except nx.NetworkXUnfeasible:  # a cycle (the diagnostics say so): insertion order then
        order = list(graph.nodes)
    return [_row(graph, node_id, results.get(node_id), node_id in failing) for node_id in order]


def _row(graph: ModelGraph, node_id: str, result: NodeResult | None, failing: bool) -> SummaryRow:
    node = graph.nodes[node_id]
    shapes = ", ".join(format_shape(o.shape) for o in result.outputs) if result and result.outputs else "?"
    count = f"{result.params:,}" if result else "?"
    owner = graph.nodes.get(node.shares or "")
    if owner is not None:
        count = f"0 (shares {owner.name})"
    sources = ", ".join(graph.nodes[e.source].name for e in graph.input_edges(node_id)) or "-"
    return SummaryRow(node_id, (f"{node.name} ({node.type})", shapes, count, sources), failing)


def totals(graph: ModelGraph, results: dict[str, NodeResult]) -> Totals:
    """The parameter counts of the nodes still in the graph (shared calls count nothing)."""
    current = [result for node_id, result in results.items() if node_id in graph.nodes]
    return Totals(sum(r.trainable for r in current), sum(r.non_trainable for r in current))


def readable_size(count: int, bytes_per_param: int = 4) -> str:
    size = float(count * bytes_per_param)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"


def totals_lines(counts: Totals) -> list[str]:
    return [
        f"Total params: {counts.total:,} ({readable_size(counts.total)})",
        f"Trainable params: {counts.trainable:,} ({readable_size(counts.trainable)})",
        f"Non-trainable params: {counts.non_trainable:,} ({readable_size(counts.non_trainable)})",
    ]


class SummaryModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[SummaryRow] = []

    def set_rows(self, rows: list[SummaryRow]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def row(self, index: int) -> SummaryRow:
        return self._rows[index]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802 - Qt's name
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return row.cells[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and row.has_error:
            return ERROR_COLOUR
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None


class SummaryView(QWidget):
    """The layer table and the parameter totals; double-click a row to go to its node."""

    node_activated = Signal(str)  # node id

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.title = QLabel()
        self.table = QTableView()
        self.summary_model = SummaryModel(self)
        _set_up_table(self.table, self.summary_model)
        self.totals_label = QLabel()
        self.totals_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.built_label = QLabel()  # what Keras counts in the built model: see show_built_summary
        self.built_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.built_label.setWordWrap(True)
        self.built_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table)
        layout.addWidget(self.totals_label)
        layout.addWidget(self.built_label)
        self._debouncer = Debouncer(self.refresh, REFRESH_DELAY_MS, self)
        self._subscription = GraphSubscription(
            document,
            self,
            dict.fromkeys(STRUCTURE_SIGNALS, self._debouncer.schedule),
            on_replaced=self.refresh,
        )
        document.results_changed.connect(self.refresh)
        self.table.activated.connect(self._activated)
        self.refresh()

    @property
    def totals(self) -> Totals:
        return totals(self.document.graph, self.document.results)

    def refresh(self) -> None:
        """Rebuild the table and totals from the graph and the latest results."""
        graph, results = self.document.graph, self.document.results
        failing = {d.node for d in self.document.diagnostics if d.is_error and d.node}
        self.summary_model.set_rows(summary_rows(graph, results, failing))
        self.title.setText(f'Model: "{graph.name}"')
        self.totals_label.setText("\n".join(totals_lines(self.totals)))

    def show_built_summary(self, text: str) -> None:
        """A line on the model Keras built (its model.summary() split of trainable and
        non-trainable parameters); "" hides it."""
        self.built_label.setText(text)
        self.built_label.setVisible(bool(text))

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.node_activated.emit(self.summary_model.row(index.row()).node_id)


def _set_up_table(table: QTableView, model: QAbstractTableModel) -> None:
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    for column, width in enumerate((200, 150, 100)):
        header.resizeSection(column, width)
