"""The Weights panel: the selected node's variables, their statistics, and views of them.

For the node selected on the canvas and the source picked (the design's initial
weights, or a run's checkpoint), the engine's `inspect_weights` reply lists the
layer's variables in Keras' order (`layer.weights`: trainable ones flagged) with
their statistics; the table shows them and says how many are trainable. The
variable picked in the table is drawn in tabs: Heatmap (a 2-D slice on a
diverging map centred on zero; spin boxes pick the slice of a higher-rank
kernel), Filters (a convolution kernel's filters for one input channel or
averaged), Bars (1-D weights), Histogram, Over epochs (the run's histograms per
epoch) and Gradient norms (per layer per epoch, as the worker recorded them,
with the dead-ReLU fractions). Every number comes from the engine
(`designer.engine.inspection`); this panel loads the downsampled .npy files it
names and draws them. It asks only while it is shown, and asks for the run's
epochs only while one of the two run tabs is open.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.ui.canvas.labels import NOT_YET, TIMES
from designer.ui.panels.inspection_client import (
    InspectionClient,
    Source,
    SourcePicker,
    as_number,
    format_number,
)
from designer.ui.panels.inspection_plots import (
    GRAY,
    BarsPlot,
    GradientPlot,
    HistogramPlot,
    ImagePlot,
    OverEpochsPlot,
    PlotCard,
    cell_at,
    with_gaps,
)
from designer.ui.panels.shown import ShownRefresh
from designer.ui.panels.subscription import Debouncer
from designer.ui.theme import CanvasColors, current_colors, follow_theme

COLUMNS = (
    "Variable",
    "Shape",
    "Dtype",
    "Trainable",
    "Count",
    "Mean",
    "Std",
    "Min",
    "Max",
    "L2 norm",
    "Zeros",
    "NaN / Inf",
)
TABS = ("Heatmap", "Filters", "Bars", "Histogram", "Over epochs", "Gradient norms")
RUN_TABS = ("Over epochs", "Gradient norms")
HISTOGRAM_BINS = 30
DESIGN_DELAY_MS = 400
SELECT_A_NODE = "Select one node on the canvas to see its weights."


def load_array(path: str | Path) -> np.ndarray:
    """A display file the engine wrote (small: downsampled for drawing)."""
    return np.load(str(path), allow_pickle=False)


def shape_text(shape: Any) -> str:
    return "(" + ", ".join(str(size) for size in shape) + ("," if len(shape) == 1 else "") + ")"


def variable_cells(variable: dict[str, Any]) -> list[str]:
    """A table row: the variable's name, shape, dtype, trainability, count and statistics."""
    stats = variable.get("stats", {})
    return [
        str(variable.get("name", "")),
        shape_text(variable.get("shape", [])),
        str(variable.get("dtype", "")),
        "yes" if variable.get("trainable") else "no",
        f"{int(variable.get('count', 0)):,}",
        *(format_number(stats.get(key)) for key in ("mean", "std", "min", "max", "norm")),
        _percent(stats.get("sparsity")),
        f"{int(stats.get('nan_count') or 0)} / {int(stats.get('inf_count') or 0)}",
    ]


def _percent(value: Any) -> str:
    number = as_number(value)
    return NOT_YET if math.isnan(number) else f"{100 * number:.1f}%"


def has_non_finite(variable: dict[str, Any]) -> bool:
    stats = variable.get("stats", {})
    return bool(stats.get("nan_count") or stats.get("inf_count"))


def variables_line(variables: list[dict[str, Any]], totals: dict[str, Any]) -> str:
    """ "4 variables · 2 trainable (gamma, beta; 32 params) · 2 non-trainable (moving_mean, …)"."""
    trainable = [v["name"] for v in variables if v.get("trainable")]
    frozen = [v["name"] for v in variables if not v.get("trainable")]
    parts = [f"{len(variables)} variable{'s' if len(variables) != 1 else ''}"]
    for kind, names, params in (
        ("trainable", trainable, totals.get("trainable", 0)),
        ("non-trainable", frozen, totals.get("non_trainable", 0)),
    ):
        listed = f" ({', '.join(names)}; {int(params):,} params)" if names else ""
        parts.append(f"{len(names)} {kind}{listed}")
    return " · ".join(parts)


def index_text(start: int, step: int, length: int) -> str:
    """One axis of a downsampled pixel: "12", or the block "12:16" it averages."""
    return str(start) if step <= 1 else f"{start}:{min(start + step, length)}"


# -------------------------------------------------------------------- slices
class SlicePicker(QWidget):
    """A spin box per leading axis of a rank > 2 variable: which 2-D slice the heatmap shows."""

    changed = Signal(list)  # [int]: the index of the leading axes

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("slice")
        self.layout_.addWidget(self.label)
        self.spins: list[QSpinBox] = []

    def set_shape(self, shape: list[int], index: list[int]) -> None:
        """Spin boxes for the axes before the last two; hidden for a matrix or a vector."""
        for spin in self.spins:
            self.layout_.removeWidget(spin)
            spin.deleteLater()
        self.spins = []
        for axis, size in enumerate(shape[:-2]):
            spin = QSpinBox()
            spin.setRange(0, max(size - 1, 0))
            spin.setValue(index[axis] if axis < len(index) else 0)
            spin.setToolTip(f"Index on axis {axis} (of {size})")
            spin.valueChanged.connect(lambda _value: self.changed.emit(self.index()))
            self.layout_.addWidget(spin)
            self.spins.append(spin)
        self.setVisible(bool(self.spins))

    def index(self) -> list[int]:
        return [spin.value() for spin in self.spins]


# --------------------------------------------------------------------- panel
class WeightsView(QWidget):
    """The Weights panel of one window; `client` talks to the engine."""

    export_requested = Signal()  # the node's arrays as .npz

    def __init__(self, client: InspectionClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.reply: dict[str, Any] | None = None
        self.run_reply: dict[str, Any] | None = None
        self.variable: dict[str, Any] | None = None
        self.active = True
        self.shown_refresh = ShownRefresh()
        self._run_asked: tuple[str, Source] | None = None  # the node and source of the run reply asked for
        self._make_widgets()
        self._lay_out()
        self._connect()
        self.show_message(SELECT_A_NODE)
        follow_theme(self._recolour_problems)

    # ---------------------------------------------------------- widgets
    def _make_widgets(self) -> None:
        self.title = QLabel("Weights")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.source_picker = SourcePicker(self.client)
        self.status = QLabel()
        self.export_button = QToolButton()
        self.export_button.setText("Export .npz…")
        self.export_button.setToolTip("Save this layer's arrays (kernel, bias…) in one .npz file.")
        self.table = QTableWidget(0, len(COLUMNS))
        _set_up_table(self.table)
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.heatmap = ImagePlot()
        self.slice_picker = SlicePicker()
        self.filters = ImagePlot()
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("Show each filter for one input channel, or averaged over them.")
        self.bars = BarsPlot()
        self.histogram = HistogramPlot()
        self.over_epochs = OverEpochsPlot()
        self.epochs_mode = QComboBox()
        self.epochs_mode.addItems(OverEpochsPlot.MODES)
        self.gradients = GradientPlot()
        self.cards = {
            "Heatmap": PlotCard("Heatmap", self.heatmap),
            "Filters": PlotCard("Filters", self.filters),
            "Bars": PlotCard("Bars", self.bars),
            "Histogram": PlotCard("Histogram", self.histogram),
            "Over epochs": PlotCard("Histograms over the epochs", self.over_epochs),
            "Gradient norms": PlotCard("Gradient norms per layer", self.gradients),
        }
        self.cards["Heatmap"].controls.addWidget(self.slice_picker)
        self.cards["Filters"].controls.addWidget(self.channel_combo)
        self.cards["Over epochs"].controls.addWidget(self.epochs_mode)
        self.tabs = QTabWidget()
        for name in TABS:
            self.tabs.addTab(self.cards[name], name)

    def _lay_out(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.source_picker)
        header.addWidget(self.status, 1)
        header.addWidget(self.export_button)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table, 1)
        column.addWidget(self.totals)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([620, 680])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addLayout(header)
        outer.addWidget(splitter, 1)

    def _connect(self) -> None:
        client = self.client
        client.node_changed.connect(self.refresh)
        client.source_changed.connect(self.refresh)
        client.answered.connect(self._answered)
        client.failed.connect(self._failed)
        client.pending_changed.connect(self._pending_changed)
        self._design_changed = Debouncer(self._refresh_initial, DESIGN_DELAY_MS, self)
        client.document.results_changed.connect(self._design_changed.schedule)
        self.table.itemSelectionChanged.connect(self._row_picked)
        self.slice_picker.changed.connect(self._request_slice)
        self.channel_combo.activated.connect(lambda _index: self._request_slice(self.slice_picker.index()))
        self.epochs_mode.currentTextChanged.connect(self.over_epochs.set_mode)
        self.tabs.currentChanged.connect(lambda _index: self._request_run())
        self.export_button.clicked.connect(self.export_requested.emit)

    # ---------------------------------------------------------- requests
    def set_active(self, active: bool) -> None:
        """Shown (ask the engine) or hidden (remember to ask once shown)."""
        self.active = active
        if self.shown_refresh.due(active):
            self.refresh()

    def refresh(self, *_: object) -> None:
        """Ask for the selected node's weights from the current source (and its run's epochs)."""
        if self.shown_refresh.hold(self.active):
            return
        node = self.client.node
        if self._run_asked != (node, self.client.source):
            self.run_reply = None  # another node's or source's epochs
        if node is None or node not in self.client.document.graph.nodes:
            self.reply = None
            self.show_message(SELECT_A_NODE)
            return
        self.client.request("inspect_weights", {**self.client.with_source(), "node": node})
        self._request_run()

    def _refresh_initial(self) -> None:
        """The design changed: initial weights follow it (a run's checkpoints do not)."""
        if self.client.source.is_initial and self.client.node is not None:
            self.refresh()

    def _request_run(self) -> None:
        """Ask for the run's epochs of the node, once per (node, source), while a run tab is open."""
        source, node = self.client.source, self.client.node
        wanted = self.tabs.tabText(self.tabs.currentIndex()) in RUN_TABS
        if not wanted or not self.active or node is None or self._run_asked == (node, source):
            return
        if source.run is None:
            for name in RUN_TABS:
                self.cards[name].show_message(
                    "Pick a training run as the source (above) to see how the weights changed "
                    "over its epochs and the gradient norms its worker recorded."
                )
            return
        self._run_asked = (node, source)
        self.client.request("inspect_run", {"run": str(source.run), "node": node, "bins": HISTOGRAM_BINS})
        for name in RUN_TABS:
            self.cards[name].show_message(f"Reading the checkpoints of {source.run.name}…")

    def _request_slice(self, index: list[int]) -> None:
        if self.variable is None:
            return
        fields = {
            "array": self.variable["array"],
            "index": index,
            "channel": self.channel_combo.currentData(),
        }
        self.client.request("weight_slice", fields)

    # ----------------------------------------------------------- replies
    def _answered(self, op: str, reply: dict[str, Any]) -> None:
        if op == "inspect_weights":
            self.show_weights(reply)
        elif op == "weight_slice" and self.variable is not None:
            self._show_heatmap(self.variable, reply.get("heatmap"))
            if reply.get("filters") is not None:
                self._show_filters(self.variable, reply["filters"], keep_channel=True)
        elif op == "inspect_run":
            self.show_run(reply)

    def _failed(self, op: str, message: str) -> None:
        if op == "inspect_weights":
            self.reply = None
            self.show_message(f"The engine could not read the weights: {message}")
        elif op == "inspect_run":
            self._run_asked = None
            for name in RUN_TABS:
                self.cards[name].show_message(f"The engine could not read the run: {message}")
        elif op in ("weight_slice", "source", "export"):
            self.status.setText(message)

    def _pending_changed(self, op: str, pending: bool) -> None:
        if op == "inspect_weights":
            self.status.setText("Reading the weights…" if pending else "")

    # -------------------------------------------------------------- show
    def show_message(self, text: str) -> None:
        """Nothing to draw: an empty table and `text` in every view of the node."""
        self.title.setText("Weights")
        self.table.setRowCount(0)
        self.totals.setText(text)
        self.variable = None
        for card in self.cards.values():
            card.show_message(text)

    def show_weights(self, reply: dict[str, Any]) -> None:
        """The layer's variables in the table; the one picked before (by name), else the first, drawn."""
        previous = self.variable["name"] if self.variable else None
        self.reply = reply
        variables = list(reply.get("variables", []))
        layer, kind = reply.get("layer", ""), reply.get("class", "")
        if not variables:
            self.show_message(f"{layer} ({kind}) has no weights.")
        self.title.setText(f"<b>{layer}</b> ({kind})")
        if not variables:
            return
        self._fill_table(variables)
        self.totals.setText(variables_line(variables, reply.get("totals", {})))
        names = [variable["name"] for variable in variables]
        self.table.selectRow(names.index(previous) if previous in names else 0)

    def _fill_table(self, variables: list[dict[str, Any]]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(variables))
        for row, variable in enumerate(variables):
            problem = has_non_finite(variable)
            for column, text in enumerate(variable_cells(variable)):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{variable.get('path', '')}: {text}")
                if column >= 4:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if problem:
                    item.setForeground(current_colors().plot.alarm)
                self.table.setItem(row, column, item)
        self.table.clearSelection()
        self.table.blockSignals(False)

    def _recolour_problems(self, colors: CanvasColors) -> None:
        """The rows of variables with NaN or Inf in the theme's alarm colour."""
        variables = self.reply.get("variables", []) if self.reply is not None else []
        for row in range(min(self.table.rowCount(), len(variables))):
            if has_non_finite(variables[row]):
                for column in range(self.table.columnCount()):
                    if (item := self.table.item(row, column)) is not None:
                        item.setForeground(colors.plot.alarm)

    def _row_picked(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and self.reply is not None:
            self.show_variable(self.reply["variables"][rows[0].row()])

    def show_variable(self, variable: dict[str, Any]) -> None:
        """Draw one variable in every view that suits it; the others say why they are empty."""
        self.variable = variable
        name = variable["name"]
        self.slice_picker.set_shape([], [])
        heatmap = variable.get("heatmap")
        if heatmap is not None:
            self.slice_picker.set_shape(list(variable["shape"]), list(heatmap.get("index") or []))
        self._show_heatmap(variable, heatmap)
        self._show_filters(variable, variable.get("filters"))
        self._show_bars(variable)
        self._show_histogram(variable)
        self._show_over_epochs()
        self._show_gradients()
        self.cards["Heatmap"].title.setToolTip(f"{name} {shape_text(variable['shape'])}")

    def _show_heatmap(self, variable: dict[str, Any], heatmap: dict[str, Any] | None) -> None:
        card, name = self.cards["Heatmap"], variable["name"]
        if heatmap is None:
            card.show_message(f"{name} {shape_text(variable['shape'])} has no 2-D view: see Bars.")
            return
        image = load_array(heatmap["file"])
        leading = list(heatmap.get("index") or [])
        rank = len(variable["shape"])
        self.heatmap.set_image(image, hover_text=lambda r, c: self._heatmap_hover(heatmap, image, rank, r, c))
        where = f"[{', '.join([*map(str, leading), ':', ':'])}]" if leading else ""
        steps = (int(heatmap.get("row_step", 1)), int(heatmap.get("col_step", 1)))
        shrunk = f" · shown as block means of {steps[0]}{TIMES}{steps[1]}" if max(steps) > 1 else ""
        _, high = self.heatmap.levels
        size = f"{heatmap['rows']}{TIMES}{heatmap['cols']}"
        card.show_plot(f"{name}{where} — {size}{shrunk} · colours ±{format_number(high)}")

    def _heatmap_hover(
        self, heatmap: dict[str, Any], image: np.ndarray, rank: int, row: int, column: int
    ) -> str:
        """ "kernel[0, 1, 12, 3] = 0.0421" for a pixel (the block it stands for when downsampled)."""
        row_step, col_step = int(heatmap.get("row_step", 1)), int(heatmap.get("col_step", 1))
        columns = index_text(column * col_step, col_step, int(heatmap["cols"]))
        rows = index_text(row * row_step, row_step, int(heatmap["rows"]))
        parts = [*map(str, heatmap.get("index") or []), rows, columns] if rank >= 2 else [columns]
        equals = "≈" if row_step * col_step > 1 else "="
        name = self.variable["name"] if self.variable else ""
        return f"{name}[{', '.join(parts)}] {equals} {format_number(image[row, column], 5)}"

    def _show_filters(
        self, variable: dict[str, Any], filters: dict[str, Any] | None, keep_channel: bool = False
    ) -> None:
        card, shape = self.cards["Filters"], list(variable["shape"])
        if filters is None:
            card.show_message(
                f"{variable['name']} {shape_text(shape)} is not a convolution kernel (kh, kw, in, out)."
            )
            self.channel_combo.clear()
            return
        if not keep_channel:
            self._fill_channels(shape[-2], filters)
        grid = with_gaps(load_array(filters["file"]), filters["cell"], int(filters["count"]))
        mode = mode_text(filters, shape[-2])
        self.filters.set_image(
            grid,
            GRAY,
            (0.0, 1.0),
            lock_aspect=True,
            hover_text=lambda r, c: filter_hover(filters, mode, r, c),
            axes=False,
        )
        cell = f"{filters['cell'][0]}{TIMES}{filters['cell'][1]}"
        card.show_plot(
            f"{variable['name']}: {filters['count']} filters of {cell}, {mode}, each scaled to its own range"
        )

    def _fill_channels(self, inputs: int, filters: dict[str, Any]) -> None:
        """None first (the RGB image of 3 inputs, else their mean), then each input; one input: itself."""
        combo = self.channel_combo
        combo.clear()
        if inputs == 1:
            combo.addItem("The one input channel", None)
        else:
            combo.addItem("RGB colours" if inputs == 3 else f"Average of the {inputs} inputs", None)
            for channel in range(inputs):
                combo.addItem(f"Input channel {channel}", channel)
        if filters.get("channel") is not None:
            combo.setCurrentIndex(int(filters["channel"]) + 1)
        combo.setVisible(inputs > 1)

    def _show_bars(self, variable: dict[str, Any]) -> None:
        card, bars, name = self.cards["Bars"], variable.get("bars"), variable["name"]
        if bars is None:
            card.show_message(f"{name} {shape_text(variable['shape'])} is not 1-D: see Heatmap.")
            return
        values, step = load_array(bars["file"]), int(bars.get("step", 1))
        self.bars.set_values(values, step, lambda i: f"{name}[{i * step}] = {format_number(values[i], 5)}")
        every = f" (every {step}th of {variable['count']})" if step > 1 else ""
        card.show_plot(f"{name}: {values.size} values{every}")

    def _show_histogram(self, variable: dict[str, Any]) -> None:
        histogram, stats = variable.get("histogram") or {}, variable.get("stats", {})
        if not histogram.get("counts"):
            self.cards["Histogram"].show_message(f"{variable['name']} has no finite value to count.")
            return
        self.histogram.set_histogram(histogram["counts"], histogram["edges"])
        figures = " · ".join(
            f"{key} {format_number(stats.get(key))}" for key in ("mean", "std", "min", "max")
        )
        self.cards["Histogram"].show_plot(f"{variable['name']}: {figures}")

    # ---------------------------------------------------------------- run
    def show_run(self, reply: dict[str, Any]) -> None:
        self.run_reply = reply
        self._show_over_epochs()
        self._show_gradients()

    def _show_over_epochs(self) -> None:
        card, reply, variable = self.cards["Over epochs"], self.run_reply, self.variable
        if reply is None or variable is None:
            if reply is not None:
                card.show_message("The layer has no weights to follow over the epochs.")
            return
        found = reply.get("variables", {}).get(variable.get("path"))
        if found is None:
            card.show_message(f"The run's checkpoints do not hold {variable.get('path')}.")
            return
        epochs = list(reply.get("epochs", []))
        self.over_epochs.set_histograms(epochs, load_array(found["counts"]), np.asarray(found["edges"]))
        card.show_plot(f"{variable['name']}: its distribution at each of {len(epochs)} epochs")

    def _show_gradients(self) -> None:
        card, reply = self.cards["Gradient norms"], self.run_reply
        if reply is None:
            return
        norms, dead = reply.get("gradient_norms") or {}, reply.get("dead_relu") or {}
        if not norms and not dead:
            card.show_message("The run recorded no gradient norms (runs before this version did not).")
            return
        nodes = reply.get("layer_nodes") or {}
        layer = next((name for name, node in nodes.items() if node == self.client.node), None)
        self.gradients.set_series(list(reply.get("epochs", [])), norms, dead, highlight=layer)
        zeros = " · a norm of 0 is a cross at the bottom" if self.gradients.zero_floor is not None else ""
        card.show_plot(f"Gradient norm per layer and epoch (log scale){zeros}; below, dead ReLU fractions")


def mode_text(filters: dict[str, Any], inputs: int) -> str:
    """What each filter image shows: "input channel 2", "RGB", "averaged over the 16 inputs"."""
    if filters.get("channel") is not None:
        return f"input channel {filters['channel']}"
    if filters.get("mode") == "rgb":
        return "RGB"
    return "one input channel" if inputs == 1 else f"averaged over the {inputs} inputs"


def filter_hover(filters: dict[str, Any], mode: str, row: int, column: int) -> str:
    """ "filter 5 · (1, 2) · input channel 0" for a pixel of the filter grid; nothing on the gaps."""
    found = cell_at(row, column, filters["cell"], int(filters["count"]))
    return "" if found is None else f"filter {found[0]} · ({found[1]}, {found[2]}) · {mode}"


def _set_up_table(table: QTableWidget) -> None:
    table.setHorizontalHeaderLabels(list(COLUMNS))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
