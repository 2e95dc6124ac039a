"""The training panel: a run's live curves, progress and device, its controls, and the run list.

`RunCurves` turns a run's events into series per metric (plain lists, no Qt):
each batch's own value and its smoothed line, the train and validation value of
each epoch, and the NaN points, on an x axis counted in epochs (epoch + step /
steps). `TrainingView` shows them in one pyqtgraph plot per loss and metric.
Events are buffered as they come; a timer pushes what changed to the curves
with `setData` at most ten times a second (pyqtgraph's scrollingPlots habit:
curves made once, downsampled, clipped to the view), never once per event.

Start, Stop (after the current batch, keeping a checkpoint), Kill (at once) and
Resume (a stopped or interrupted run, from its checkpoint) drive the
`TrainingClient`; with a run selected whose worker outlived an earlier designer,
Stop and Kill reach that worker. Start shows "Starting a run…" at once
(`wants_attention` brings the panel forward, `message` tells the status bar)
while the client prepares the run off the GUI thread. The run list shows the
project's runs with their status, final metrics, duration and config, the
followed run's row as the header and the progress line say it; selecting runs
overlays their epoch curves on the plots. Opening another design resets the
panel: no curve, status or run of the last design stays (a run of it still
training is asked to stop, keeping its checkpoint). The run list (every run's log parsed),
Resume's rewriting and reading of the log (the client's `resuming` brings the curves so far) and
a fix's data check are read and written off the GUI thread (`BackgroundJobs`); their answers show
when they come, and one about a design no longer open is dropped.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from designer.training.config import ConfigError, TrainingConfig
from designer.training.data import check_data, model_output_shapes
from designer.training.launcher import WeightsMatch, weights_note
from designer.training.runs import RunFolder, RunSummary, graph_hash, list_runs
from designer.ui.background import BackgroundJobs
from designer.ui.document import Document
from designer.ui.panels.plot_style import PlotTheme, add_legend_outside
from designer.ui.panels.training_config import CHECKING_TEXT, ProblemList, apply_data_fix, current_config
from designer.ui.training_client import TrainingClient, project_folder, runs_root

ModelIndex = QModelIndex | QPersistentModelIndex
REDRAW_MS = 100  # buffered points reach the plots at most 10 times a second
WEIGHTS_TIMEOUT_S = 600.0  # writing a large imported model's weights for the design
STRAY_REFRESH_MS = 500  # the run list again after killing a stray worker: it shows "interrupted"
SMOOTHING = 0.6  # TensorBoard's default weight
PLOT_COLUMNS = 2
TRAIN_COLOUR, VALIDATION_COLOUR, BATCH_COLOUR, NAN_COLOUR = "#1f77b4", "#ff7f0e", "#9ecae1", "#d62728"
OVERLAY_COLOURS = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
VALIDATION_PREFIX = "val_"
STARTING_TEXT = "Starting a run: checking the data and writing the run folder…"
RUN_COLUMNS = ("Run", "Status", "Epochs", "Final metrics", "Duration", "Config")


# ------------------------------------------------------------------ series
class Smoother:
    """`runs.smooth` carried on value by value: extending it gives what smooth() of the whole gives."""

    def __init__(self, weight: float = SMOOTHING) -> None:
        if not 0 <= weight < 1:
            raise ValueError(f"The smoothing weight must be in [0, 1), got {weight!r}.")
        self.weight, self.last, self.count = weight, 0.0, 0

    def extend(self, values: Iterable[float]) -> list[float]:
        smoothed = []
        for value in values:
            if not math.isfinite(value):
                smoothed.append(value)
                continue
            self.last = self.last * self.weight + (1 - self.weight) * value
            self.count += 1
            smoothed.append(self.last / (1 - self.weight**self.count))
        return smoothed


@dataclass
class MetricSeries:
    """The points of one loss or metric: finite values only; NaN points on their own."""

    batch_x: list[float] = field(default_factory=list)
    batch_y: list[float] = field(default_factory=list)
    smoothed_y: list[float] = field(default_factory=list)
    train_x: list[float] = field(default_factory=list)
    train_y: list[float] = field(default_factory=list)
    validation_x: list[float] = field(default_factory=list)
    validation_y: list[float] = field(default_factory=list)
    nan_x: list[float] = field(default_factory=list)
    nan_y: list[float] = field(default_factory=list)
    smoother: Smoother = field(default_factory=Smoother)
    low: float = math.inf  # the least and greatest value of all the points
    high: float = -math.inf

    def add_batch(self, x: float, value: float) -> None:
        if math.isfinite(value):
            self.batch_x.append(x)
            self.batch_y.append(value)
            self.smoothed_y += self.smoother.extend([value])
            self._widen(value)

    def add_epoch(self, x: float, value: float, validation: bool) -> None:
        if math.isfinite(value):
            xs, ys = (self.validation_x, self.validation_y) if validation else (self.train_x, self.train_y)
            xs.append(x)
            ys.append(value)
            self._widen(value)

    def _widen(self, value: float) -> None:
        self.low, self.high = min(self.low, value), max(self.high, value)

    def add_nan(self, x: float) -> None:
        """A NaN point, drawn at the last finite value seen (0 before any)."""
        finite = self.batch_y or self.train_y or [0.0]
        self.nan_x.append(x)
        self.nan_y.append(finite[-1])


def plot_name(name: str) -> str:
    """The plot a log entry belongs to: val_loss is drawn with loss."""
    return name.removeprefix(VALIDATION_PREFIX)


class RunCurves:
    """What a run's events say, fed one event at a time: series per metric, progress, the end."""

    def __init__(self) -> None:
        self.metrics: dict[str, MetricSeries] = {}
        self.dirty: set[str] = set()
        self.start: dict[str, Any] = {}
        self.epoch, self.step, self.samples_per_second = 0, -1, 0.0
        self.epoch_durations: list[float] = []
        self.status = "waiting"
        self.final: dict[str, Any] | None = None
        self.nan: dict[str, Any] | None = None
        self.last_logs: dict[str, float] = {}

    # -------------------------------------------------------------- events
    def add(self, event: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{event.get('type')}", None)
        if handler is not None:
            handler(event)

    def add_all(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.add(event)

    def _on_start(self, event: dict[str, Any]) -> None:
        self.start, self.status, self.final, self.nan = dict(event), "running", None, None
        self.epoch, self.step, self.epoch_durations = int(event.get("initial_epoch") or 0), -1, []

    def _on_batch(self, event: dict[str, Any]) -> None:
        self.epoch, self.step = int(event["epoch"]), int(event["step"])
        self.samples_per_second = float(event.get("samples_per_second") or 0.0)
        values = {**event.get("running", {}), **event.get("logs", {})}  # own values where Keras has them
        x = self.x(self.epoch, self.step)
        for name, value in values.items():
            self.series(plot_name(name)).add_batch(x, float(value))

    def _on_epoch(self, event: dict[str, Any]) -> None:
        epoch = int(event["epoch"])
        x = self.x(epoch, self.step) if event.get("partial") and self.step >= 0 else float(epoch + 1)
        self.last_logs = dict(event.get("logs", {}))
        for name, value in self.last_logs.items():
            self.series(plot_name(name)).add_epoch(x, float(value), name.startswith(VALIDATION_PREFIX))
        self.epoch_durations.append(float(event.get("duration") or 0.0))
        self.epoch, self.step = epoch + 1, -1

    def _on_nan(self, event: dict[str, Any]) -> None:
        self.nan = dict(event)
        self.series(plot_name(str(event.get("metric", "loss")))).add_nan(
            self.x(event["epoch"], event["step"])
        )

    def _on_finished(self, event: dict[str, Any]) -> None:
        self.status, self.final = "finished", dict(event)

    def _on_stopped(self, event: dict[str, Any]) -> None:
        self.status, self.final = "stopped", dict(event)

    def _on_error(self, event: dict[str, Any]) -> None:
        self.status, self.final = "error", dict(event)

    # ------------------------------------------------------------- reading
    @property
    def epochs(self) -> int:
        return int(self.start.get("epochs") or 0)

    @property
    def steps(self) -> int:
        return int(self.start.get("steps_per_epoch") or 0)

    def x(self, epoch: int, step: int) -> float:
        """Where a batch goes on the x axis: its epoch plus the fraction of the epoch done."""
        return epoch + (step + 1) / self.steps if self.steps else float(epoch + 1)

    def series(self, name: str) -> MetricSeries:
        self.dirty.add(name)
        return self.metrics.setdefault(name, MetricSeries())

    def take_dirty(self) -> list[str]:
        """The metrics changed since the last call, in the order they first appeared."""
        changed = [name for name in self.metrics if name in self.dirty]
        self.dirty.clear()
        return changed

    @property
    def epochs_done(self) -> float:
        return self.epoch + (self.step + 1) / self.steps if self.steps else float(self.epoch)

    def eta_seconds(self) -> float | None:
        """Seconds to the last epoch, from this session's epoch times, else from samples per second."""
        if self.epoch_durations:
            per_epoch = sum(self.epoch_durations) / len(self.epoch_durations)
        elif self.samples_per_second > 0 and self.start.get("samples"):
            per_epoch = float(self.start["samples"]) / self.samples_per_second
        else:
            return None
        return max(0.0, self.epochs - self.epochs_done) * per_epoch


# ------------------------------------------------------------------- texts
def format_duration(seconds: float) -> str:
    """1:02:03, 2:03 or 0:05."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def device_text(start: dict[str, Any]) -> str:
    """ "GPU: NVIDIA H100 x2 (MirroredStrategy) — backend tensorflow" or "CPU — backend jax"."""
    device, backend = str(start.get("device") or ""), str(start.get("backend") or "?")
    if not device or device.startswith("CPU"):
        return f"CPU — backend {backend}"
    names = device.split(": ", 1)[-1].rsplit(" (", 1)[0].split(", ")
    described = ", ".join(
        f"{name} x{names.count(name)}" if names.count(name) > 1 else name for name in dict.fromkeys(names)
    )
    strategy = " (MirroredStrategy)" if int(start.get("replicas") or 1) > 1 else ""
    return f"GPU: {described}{strategy} — backend {backend}"


def epochs_text(count: int) -> str:
    """ "1 epoch", "2 epochs"."""
    return f"{count} epoch{'' if count == 1 else 's'}"


def epochs_done(curves: RunCurves) -> int:
    """The epochs a run has done: as its final event says once it ended."""
    return int((curves.final or {}).get("epochs", curves.epoch))


def progress_text(curves: RunCurves) -> str:
    """ "Epoch 2/20 · step 5/57 · 900 samples/s · ETA 0:40" while it runs, "1 of 20 epochs done" after."""
    if not curves.start:
        return ""
    if curves.status != "running":
        return f"{epochs_done(curves)} of {epochs_text(curves.epochs)} done"
    parts = [f"Epoch {min(curves.epoch + 1, curves.epochs)}/{curves.epochs}"]
    if curves.steps and curves.step >= 0:
        parts.append(f"step {curves.step + 1}/{curves.steps}")
    if curves.samples_per_second:
        parts.append(f"{curves.samples_per_second:,.0f} samples/s")
    eta = curves.eta_seconds()
    if eta is not None:
        parts.append(f"ETA {format_duration(eta)}")
    return " · ".join(parts)


def nan_text(nan: dict[str, Any]) -> str:
    return (
        f"NaN: {nan.get('metric', 'loss')} became {nan.get('value', 'nan')} at epoch "
        f"{int(nan['epoch']) + 1}, batch {int(nan['step']) + 1}. Lower the learning rate?"
    )


def end_text(curves: RunCurves, report: dict[str, Any] | None) -> str:
    """The status line once a run has ended."""
    final = curves.final or {}
    if curves.nan is not None:
        return f"Stopped: {nan_text(curves.nan)}"
    if curves.status == "finished":
        early = " (early stopping)" if final.get("early_stopped") else ""
        return f"Finished after {epochs_text(epochs_done(curves))}{early}."
    if curves.status == "stopped":
        return f"Stopped after {epochs_text(epochs_done(curves))} ({final.get('reason', 'stop')})."
    reason = (report or {}).get("reason") or final.get("message") or "the worker ended"
    crashed = (report or {}).get("exit_code", 1) < 0
    return f"{'Crashed' if crashed else 'Failed'}: {reason}"


def config_summary(config: dict[str, Any]) -> str:
    """ "adam lr 0.001, batch 32, 10 epochs, sklearn digits"."""
    optimizer, data = config.get("optimizer", {}), config.get("data", {})
    source = data.get("name") or Path(str(data.get("path") or "")).name
    rate = optimizer.get("learning_rate", 0)
    return (
        f"{optimizer.get('name')} lr {rate:g}, batch {config.get('batch_size')}, "
        f"{config.get('epochs')} epochs, {data.get('kind')} {source}".rstrip()
    )


def metrics_summary(metrics: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:.4g}" for name, value in metrics.items() if name != "learning_rate")


# ------------------------------------------------------------------- plots
class MetricPlot(pg.PlotWidget):
    """One loss or metric: per-batch values, their smoothed line, epoch values, NaN marks, overlays."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.setTitle(name)
        self.setMinimumHeight(180)
        self.setLabel("bottom", "epoch")
        add_legend_outside(self.getPlotItem())
        item = self.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.enableAutoRange(y=False)  # see fit_y; a grid would also make every update repaint the axes
        self.y_range: tuple[float, float] | None = None
        self.following = True  # until the person zooms or pans
        self.getViewBox().sigRangeChangedManually.connect(self._moved_by_hand)
        self.batch_curve = self.plot(pen=pg.mkPen(BATCH_COLOUR, width=1), name="batch")
        self.smoothed_curve = self.plot(pen=pg.mkPen(TRAIN_COLOUR, width=2), name="batch, smoothed")
        self.train_curve = self.plot(
            pen=pg.mkPen(TRAIN_COLOUR, width=1),
            symbol="o",
            symbolSize=6,
            symbolBrush=TRAIN_COLOUR,
            name="train",
        )
        self.validation_curve = self.plot(
            pen=pg.mkPen(VALIDATION_COLOUR, width=2),
            symbol="s",
            symbolSize=6,
            symbolBrush=VALIDATION_COLOUR,
            name="validation",
        )
        self.nan_marker = pg.ScatterPlotItem(symbol="x", size=16, pen=pg.mkPen(NAN_COLOUR, width=3))
        self.addItem(self.nan_marker)
        self.overlays: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.shown_points: dict[pg.PlotDataItem, int] = {}
        self.epochs = 0
        self.theme = PlotTheme(self)

    def set_epochs(self, epochs: int) -> None:
        """Fix the x axis to the run's epochs: the curves grow into it, and the axis (whose text is
        most of a repaint's cost) is not redrawn with every update."""
        if epochs > 0 and epochs != self.epochs:
            self.epochs = epochs
            self.getPlotItem().enableAutoRange(x=False)
            self.setXRange(0, epochs, padding=0.01)

    def _moved_by_hand(self, *_: object) -> None:
        self.following = False

    def fit_y(self, low: float, high: float) -> None:
        """Widen the y range to hold [low, high] when the points leave it, and only then: pyqtgraph's
        auto-range would reset it (and so repaint both axes) with every update."""
        if not self.following or not math.isfinite(low) or not math.isfinite(high):
            return
        if self.y_range is not None and self.y_range[0] <= low and high <= self.y_range[1]:
            return
        margin = 0.05 * ((high - low) or abs(high) or 1.0)
        self.y_range = (low - margin, high + margin)
        self.setYRange(*self.y_range, padding=0)

    def show_series(self, series: MetricSeries) -> None:
        """Give each curve its points, the curves that gained some only (points are only added)."""
        self.fit_y(series.low, series.high)
        for curve, x, y in (
            (self.batch_curve, series.batch_x, series.batch_y),
            (self.smoothed_curve, series.batch_x, series.smoothed_y),
            (self.train_curve, series.train_x, series.train_y),
            (self.validation_curve, series.validation_x, series.validation_y),
        ):
            if self.shown_points.get(curve) != len(x):
                self.shown_points[curve] = len(x)
                curve.setData(_array(x), _array(y))
        if len(series.nan_x) != len(self.nan_marker.data):
            self.nan_marker.setData(x=_array(series.nan_x), y=_array(series.nan_y))
            self.setTitle(f"{self.name}: NaN at epoch {series.nan_x[-1]:.2f}", color=NAN_COLOUR)

    def set_overlay(self, key: str, label: str, colour: str, series: MetricSeries) -> None:
        """Another run's epoch curves, dashed (train) and dotted (validation)."""
        if key not in self.overlays:
            style = {"width": 1.5, "color": colour}
            self.overlays[key] = (
                self.plot(pen=pg.mkPen(style=Qt.PenStyle.DashLine, **style), name=f"{label} train"),
                self.plot(pen=pg.mkPen(style=Qt.PenStyle.DotLine, **style), name=f"{label} validation"),
            )
        train, validation = self.overlays[key]
        low, high = self.y_range or (math.inf, -math.inf)
        self.fit_y(min(low, series.low), max(high, series.high))
        train.setData(_array(series.train_x), _array(series.train_y))
        validation.setData(_array(series.validation_x), _array(series.validation_y))

    def remove_overlay(self, key: str) -> None:
        for curve in self.overlays.pop(key, ()):
            self.removeItem(curve)


def _array(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=float)


class MetricPlots(QWidget):
    """The plots in a grid, made when their metric first appears, x axes linked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots: dict[str, MetricPlot] = {}
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.epochs = 0

    def plot(self, name: str) -> MetricPlot:
        if name not in self.plots:
            plot = MetricPlot(name)
            plot.set_epochs(self.epochs)
            if self.plots:
                plot.setXLink(next(iter(self.plots.values())))
            row, column = divmod(len(self.plots), PLOT_COLUMNS)
            self.grid.addWidget(plot, row, column)
            self.plots[name] = plot
        return self.plots[name]

    def set_epochs(self, epochs: int) -> None:
        """The x axes span `epochs` (at least): see MetricPlot.set_epochs."""
        if epochs > self.epochs:
            self.epochs = epochs
            for plot in self.plots.values():
                plot.set_epochs(epochs)

    def clear(self) -> None:
        for plot in self.plots.values():
            self.grid.removeWidget(plot)
            plot.deleteLater()
        self.plots, self.epochs = {}, 0


# ---------------------------------------------------------------- run list
class RunTableModel(QAbstractTableModel):
    """One row per run of the project."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunSummary] = []
        self.live: tuple[Path, str, int | None] | None = None  # the followed run, its state and epochs

    def set_runs(self, runs: list[RunSummary]) -> None:
        self.beginResetModel()
        self.runs = runs
        self.endResetModel()

    def set_live(self, path: Path | None, status: str = "", epochs: int | None = None) -> None:
        """The followed run's status and epochs done as the panel knows them (its folder lags: a
        resumed run still reads "stopped" there until its worker logs its start)."""
        live = (path, status, epochs) if path is not None else None
        if live == self.live:
            return
        changed = {entry[0] for entry in (self.live, live) if entry is not None}
        self.live = live
        for row, run in enumerate(self.runs):
            if run.path in changed:
                self.dataChanged.emit(self.index(row, 1), self.index(row, 2))

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's signature
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's signature
        return 0 if parent.isValid() else len(RUN_COLUMNS)

    def headerData(  # noqa: N802 - Qt's name
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return RUN_COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        run = self.runs[index.row()]
        if self.live and self.live[0] == run.path:
            return run_cells(run, self.live[1], self.live[2])[index.column()]
        return run_cells(run)[index.column()]


def run_cells(
    run: RunSummary, live_status: str | None = None, live_epochs: int | None = None
) -> tuple[str, ...]:
    """The row of a run; `live_status` and `live_epochs`: what the panel knows of the run it follows."""
    status = f"{run.status}: {run.reason}" if run.reason and run.status != "finished" else run.status
    total = run.config.get("epochs")
    return (
        run.name,
        live_status or status,
        f"{run.epochs if live_epochs is None else live_epochs}/{total}",
        metrics_summary(run.final_metrics),
        format_duration(run.duration),
        config_summary(run.config),
    )


def resumable(run: RunSummary) -> bool:
    """A run stopped, killed or interrupted before its last epoch, with a checkpoint, not ended by
    a NaN."""
    if run.status not in ("stopped", "error", "interrupted") or run.reason == "nan":
        return False
    completed = RunFolder(run.path).completed_epochs()
    return 0 < completed < int(run.config.get("epochs") or 0)


# -------------------------------------------------------------------- view
class TrainingView(QWidget):
    """The training panel of the open design; `client` runs the workers."""

    wants_attention = Signal()  # Start was pressed: the panel should be in front
    message = Signal(str)  # a line for the window's status bar: a run starting, started, ended, refused
    runs_listed = Signal()  # the run list read off the GUI thread is shown

    def __init__(self, document: Document, client: TrainingClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document, self.client = document, client
        self.engine: Any = None  # the EngineClient: it writes imported weights for the design
        # the engine writing the imported weights for a start: (request, config, the graph's hash)
        self._weights_request: tuple[int, TrainingConfig, str] | None = None
        self.curves = RunCurves()
        self.run: RunFolder | None = None
        self.report: dict[str, Any] | None = None
        self._stopping = False
        self._plots_stale = False  # the plots still show the previous run until the new one logs
        self._detached = False  # the client's run belongs to the design open before this one
        self._weights_note = ""  # shown once a start from imported weights has started
        self._overlaid: set[str] = set()
        self._runs_asked = self._runs_shown = 0  # run-list reads asked for, and the one shown
        self._fix_number = 0  # the latest data check after a fix: older answers are dropped
        self._list_jobs = BackgroundJobs("run-list", self)
        self._check_jobs = BackgroundJobs("fix-check", self)
        self._make_widgets()
        self._lay_out()
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_MS)
        self._redraw_timer.timeout.connect(self.redraw)
        self._connect()
        self.refresh_runs()

    def _make_widgets(self) -> None:
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after this batch; the run keeps a checkpoint and can resume.")
        self.kill_button = QPushButton("Kill")
        self.kill_button.setToolTip("End the worker at once.")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected (or last) stopped run from its checkpoint.")
        self.status_label = QLabel("Ready.")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.device_label = QLabel("Device: not started")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.progress_label = QLabel()
        self.problems = ProblemList()
        self.crash_text = QPlainTextEdit()
        self.crash_text.setReadOnly(True)
        self.crash_text.setMaximumHeight(160)
        self.crash_text.hide()
        self.plots = MetricPlots()
        self.run_model = RunTableModel(self)
        self.run_table = QTableView()
        _set_up_run_table(self.run_table, self.run_model)

    def _lay_out(self) -> None:
        """Buttons, status and device on one line, progress on the next; the plots get the
        rest beside the run list, so they stay readable in a low dock."""
        header = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.kill_button, self.resume_button):
            header.addWidget(button)
        header.addWidget(self.status_label, 1)
        header.addWidget(self.device_label)
        progress = QHBoxLayout()
        progress.addWidget(self.progress_bar, 1)
        progress.addWidget(self.progress_label)
        self.progress_bar.setMaximumHeight(14)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.plots)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self.run_table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([900, 300])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addLayout(header)
        outer.addLayout(progress)
        outer.addWidget(self.problems)
        outer.addWidget(self.crash_text)
        outer.addWidget(splitter, 1)

    def _connect(self) -> None:
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.kill_button.clicked.connect(self.kill)
        self.resume_button.clicked.connect(self.resume)
        self.client.starting.connect(self._starting)
        self.client.resuming.connect(self.show_run)
        self.client.started.connect(self._started)
        self.client.logged.connect(self.add_event)
        self.client.finished.connect(self._finished)
        self.client.refused.connect(self._refused)
        self.problems.fix_requested.connect(self._fix)
        self.run_table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.document.path_changed.connect(lambda *_: self.refresh_runs())
        self.document.project_replaced.connect(self._graph_replaced)

    # ------------------------------------------------------------ actions
    def start(self) -> None:
        """Start a run of the design with the document's training config; the run shows at once as
        starting, and as training once its worker logs (the client prepares it in the background).
        Nothing while Start is disabled (a run in progress: F5 must not talk over it)."""
        if not self.start_button.isEnabled():
            return
        self.problems.clear()
        self._fix_number += 1  # a data check after a fix, still under way, is answered by this start
        self._weights_note = ""
        self.wants_attention.emit()
        try:
            config = current_config(self.document)
        except ConfigError as error:
            self._refused([str(problem) for problem in error.problems], [])
            return
        if config.initial_weights is not None:
            self._match_weights(config)
            return
        self.client.start(self.document, config)

    def _starting(self) -> None:
        """The client took the start: say so here and in the status bar before anything is written."""
        self.crash_text.hide()
        self.status_label.setText(STARTING_TEXT)
        self.progress_label.setText("Starting…")
        self.message.emit(STARTING_TEXT)
        self._update_buttons()

    def set_engine(self, engine: Any) -> None:
        """The engine client that writes the imported weights for the design (None: no engine)."""
        self.engine = engine
        if engine is not None:
            engine.answered.connect(self._weights_answered)
            engine.request_failed.connect(self._weights_failed)

    def _match_weights(self, config: TrainingConfig) -> None:
        """Ask the engine for the imported weights written for the design as it is now; the
        run starts when they come."""
        if self.engine is None:
            self._refused(["Starting from the imported weights needs the engine, which is not running."], [])
            return
        assert config.initial_weights is not None
        source = project_folder(self.document) / config.initial_weights
        target = runs_root(self.document) / ".initial" / f"{self.document.graph.name}.weights.h5"
        fields = {
            "project": self.document.to_project().to_dict(),
            "weights": str(source),
            "path": str(target),
        }
        request = self.engine.request("design_weights", fields, timeout_s=WEIGHTS_TIMEOUT_S)
        self._weights_request = (request, config, graph_hash(self.document.graph))
        self.status_label.setText("Loading the imported weights into the design…")
        self._update_buttons()

    def _weights_answered(self, request: int, _op: str, result: Any) -> None:
        if self._weights_request is None or self._weights_request[0] != request:
            return
        _, config, asked_for = self._weights_request
        self._weights_request = None
        self._update_buttons()
        if graph_hash(self.document.graph) != asked_for:  # weights written for another design
            self.start()
            if self._weights_request is not None:
                self.status_label.setText("The design changed: loading the imported weights into it again…")
            return
        match = WeightsMatch(Path(result["path"]), list(result["loaded"]), list(result["fresh"]))
        self._weights_note = weights_note(match)
        self.client.start(self.document, config.copy(initial_weights=str(match.path)))

    def _weights_failed(self, request: int, message: str) -> None:
        if self._weights_request is not None and self._weights_request[0] == request:
            self._weights_request = None
            self._update_buttons()
            self._refused([f"The imported weights cannot be loaded into the design: {message}"], [])

    def stop(self) -> None:
        """Stop what is under way (Shift+F5 too): nothing while Stop is disabled."""
        if not self.stop_button.isEnabled():
            return
        if self._weights_request is not None and not self.client.running:
            self._weights_request = None  # its answer, when it comes, starts nothing
            self.status_label.setText("Not started: stopped while the imported weights were loading.")
            self._update_buttons()
            return
        if self.client.preparing:
            self.client.cancel_start()
            self.status_label.setText("Not started: stopped before the worker started.")
            self.progress_label.clear()
            self._update_buttons()
            return
        if not self.client.running and (stray := self.stray_run()) is not None:
            RunFolder(stray.path).request_stop()
            self.status_label.setText(f"Asked {stray.name}'s worker to stop after this batch.")
            return
        self._stopping = True
        self.client.stop()
        self.status_label.setText("Stopping after this batch…")
        self._show_live("stopping")
        self._update_buttons()

    def kill(self) -> None:
        """Kill this panel's worker, else the worker of the selected run that another designer
        started (one that outlived it)."""
        if self.client.running:
            self.client.kill()
        elif (stray := self.stray_run()) is not None and RunFolder(stray.path).kill_worker():
            self.status_label.setText(f"Killed {stray.name}'s worker; the run can resume.")
            QTimer.singleShot(STRAY_REFRESH_MS, self.refresh_runs)

    def resume(self) -> bool:
        """Resume the selected run (or the last one) from its checkpoint: the panel follows it at
        once; its curves so far come with the client's `resuming` (its log is read off the GUI thread)."""
        summary = self.resumable_run()
        if summary is None:
            return False
        run = RunFolder(summary.path)
        if self.run is None or self.run.path != run.path:
            self._reset(run)
        self.problems.clear()
        if not self.client.resume(run):
            return False
        self._show_live("starting")  # its folder still says "stopped" until the worker logs
        self._update_buttons()
        return True

    def show_run(self, run: RunFolder, events: list[dict[str, Any]]) -> None:
        """Show a run's curves as the events of its log have them."""
        self._reset(run)
        self.curves.add_all(events)
        self.redraw()

    # ------------------------------------------------------------- events
    def add_event(self, event: dict[str, Any]) -> None:
        """Buffer an event; the redraw timer shows it within REDRAW_MS. A run of the design shown
        before this one (still ending after an Open) is not shown."""
        if self._detached:
            return
        self.curves.add(event)
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def redraw(self) -> None:
        """Push what changed since the last redraw to the plots and labels."""
        self._redraw_timer.stop()
        if self._plots_stale and self.curves.start:
            self._plots_stale = False
            self.plots.clear()
            self._overlaid = set()
            self._show_overlays()
        self.plots.set_epochs(self.curves.epochs)
        for name in self.curves.take_dirty():
            self.plots.plot(name).show_series(self.curves.metrics[name])
        self._show_progress()

    def _show_progress(self) -> None:
        curves = self.curves
        if curves.start:
            self.device_label.setText(device_text(curves.start))
        if curves.epochs:
            self.progress_bar.setValue(round(1000 * min(1.0, curves.epochs_done / curves.epochs)))
        self.progress_label.setText(progress_text(curves))
        if curves.status == "running" and not self._stopping and self.client.running:
            self.status_label.setText(f"Training {self.run.name if self.run else ''}…")
            self._show_live("running")
        if curves.nan is not None:
            self.status_label.setText(nan_text(curves.nan))

    def _started(self, run: RunFolder) -> None:
        """The worker of `run` is starting: a new run keeps the last one's plots until it logs."""
        if self.run is None or self.run.path != run.path:
            self._reset(run, keep_plots=True)
        self.run, self.report, self._stopping, self._detached = run, None, False, False
        self.crash_text.hide()
        text = f"Starting the worker of {run.name}…"
        self.status_label.setText(text)
        self.message.emit(text)
        if self._weights_note:
            self.problems.show_fine(self._weights_note)
        self.refresh_runs()
        self._show_live("starting")

    def _finished(self, report: dict[str, Any]) -> None:
        self._stopping = False
        if self._detached:  # the previous design's run ended
            self._detached = False
            self.status_label.setText("Ready.")
            self.refresh_runs()
            return
        self.report = report
        self.redraw()
        text = end_text(self.curves, report)
        self.status_label.setText(text)
        self.message.emit(f"{self.run.name}: {text}" if self.run is not None else text)
        if report.get("status") == "error":
            self._show_crash(report)
        self.run_model.set_live(None)
        self.refresh_runs()

    def _show_live(self, status: str) -> None:
        """The followed run's state and epochs in its row of the run list, as the header and the
        progress line say them."""
        if self.run is not None:
            epochs = epochs_done(self.curves) if self.curves.start else None
            self.run_model.set_live(self.run.path, status, epochs)

    def _show_crash(self, report: dict[str, Any]) -> None:
        lines = [
            str(report.get("reason")),
            "",
            "Last lines of the worker's stderr:",
            *report.get("stderr", []),
        ]
        self.crash_text.setPlainText("\n".join(lines))
        self.crash_text.show()

    def _refused(self, messages: list[str], problems: list[Any]) -> None:
        if not self.client.running:
            self.run_model.set_live(None)  # a resume refused: its row says what its folder says
        self.status_label.setText("Not started: fix these first.")
        self.progress_label.setText(progress_text(self.curves))
        self.problems.show_problems(messages, problems)
        self.message.emit("Training not started: see the problems in the Training panel.")
        self._update_buttons()

    def _fix(self, fix: dict[str, Any]) -> None:
        """Apply a data problem's fix (one undo step), then check the data again off the GUI thread:
        the answer replaces "Checking the data…" unless the design, or the problems shown, changed
        meanwhile."""
        config = apply_data_fix(self.document, fix)
        self._fix_number += 1
        number, document = self._fix_number, self.document
        self.problems.show_fine(CHECKING_TEXT)
        self._check_jobs.submit(
            functools.partial(check_data, base_dir=project_folder(document)),
            config,
            document.graph.copy(),
            model_output_shapes(document.graph, document.results),
            done=lambda problems: self._fix_checked(number, problems),
            failed=lambda error: self._fix_checked(number, [], str(error)),
        )

    def _fix_checked(self, number: int, problems: list[Any], failure: str = "") -> None:
        if number != self._fix_number:
            return  # about a design or problems no longer shown
        if failure or problems:
            self.problems.show_problems([failure] if failure else [], problems)
        else:
            self.problems.show_fine("Fixed: the data fits the model. Press Start.")

    def _reset(self, run: RunFolder | None, keep_plots: bool = False) -> None:
        """Follow `run` from scratch; with `keep_plots` the plots clear when it first logs."""
        self._plots_stale = keep_plots
        if not keep_plots:
            self.plots.clear()
            self._overlaid = set()
        self.curves, self.run = RunCurves(), run
        self.progress_bar.setValue(0)
        self.progress_label.clear()
        self.run_model.set_live(None)
        if not keep_plots:
            self._show_overlays()

    def _graph_replaced(self) -> None:
        """Another design is open: nothing of the last one stays (its run, if any, is asked to stop
        and keeps its checkpoint; its events are not shown)."""
        if self._weights_request is not None:
            self._weights_request = None
        self.client.cancel_start()
        ending = self._detached = self.client.running
        if ending:
            self.client.stop()
        self._reset(None)
        self.report, self._stopping, self._weights_note = None, False, ""
        self._fix_number += 1  # a data check after a fix is about the last design
        self.problems.clear()
        self.crash_text.hide()
        self.device_label.setText("Device: not started")
        self.status_label.setText("The previous design's run is stopping…" if ending else "Ready.")
        self.run_table.clearSelection()
        self.run_model.set_runs([])  # the last design's runs go at once; this one's come when read
        self.refresh_runs()

    # ----------------------------------------------------------- run list
    @property
    def listing_runs(self) -> bool:
        """Whether the run list is being read (the list shown is the last one read)."""
        return self._runs_shown != self._runs_asked

    def refresh_runs(self) -> None:
        """Read the project's run list off the GUI thread (`list_runs` parses every run's log); it
        shows when it comes, keeping the selection. Only the answer to the latest refresh shows: one
        about the runs of a design no longer open never lands in the next."""
        self._runs_asked += 1
        number, root = self._runs_asked, runs_root(self.document)
        self._list_jobs.submit(
            list_runs,
            root,
            done=lambda runs: self._runs_listed(number, runs),
            failed=lambda error: self._runs_not_listed(number, root, error),
        )
        self._update_buttons()  # for what changed now (a run started or ended); again once listed

    def _runs_listed(self, number: int, runs: list[RunSummary]) -> None:
        if number != self._runs_asked:
            return  # a later refresh (another design, a run started or ended) is on its way
        self._runs_shown = number
        selected = {run.path for run in self.selected_runs()}
        self.run_model.set_runs(runs)
        selection = self.run_table.selectionModel()
        for row, run in enumerate(self.run_model.runs):
            if run.path in selected:
                selection.select(
                    self.run_model.index(row, 0),
                    selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
                )
        self._update_buttons()
        self.runs_listed.emit()

    def _runs_not_listed(self, number: int, root: Path, error: Exception) -> None:
        if number == self._runs_asked:
            self._runs_shown = number
            self.message.emit(f"The runs in {root} cannot be listed: {error}")

    def selected_runs(self) -> list[RunSummary]:
        rows = sorted({index.row() for index in self.run_table.selectionModel().selectedRows()})
        return [self.run_model.runs[row] for row in rows if row < len(self.run_model.runs)]

    def resumable_run(self) -> RunSummary | None:
        """The selected run when one is, else the view's run, if it can resume."""
        selected = self.selected_runs()
        path = selected[0].path if len(selected) == 1 else self.run.path if self.run else None
        run = next((run for run in self.run_model.runs if run.path == path), None)
        return run if run is not None and resumable(run) else None

    def stray_run(self) -> RunSummary | None:
        """The selected run when its worker is alive but not this panel's (it outlived a designer)."""
        selected = self.selected_runs()
        own = self.run.path if self.client.running and self.run is not None else None
        if len(selected) != 1 or selected[0].status != "running" or selected[0].path == own:
            return None
        return selected[0]

    def _selection_changed(self, *_: object) -> None:
        self._show_overlays()
        self._update_buttons()

    def _show_overlays(self) -> None:
        """The epoch curves of the selected runs (other than the one shown live) on the plots."""
        wanted = {
            str(run.path): run for run in self.selected_runs() if not self.run or run.path != self.run.path
        }
        for key in self._overlaid - set(wanted):
            for plot in self.plots.plots.values():
                plot.remove_overlay(key)
        for index, (key, run) in enumerate(wanted.items()):
            curves = RunCurves()
            curves.add_all(RunFolder(run.path).events())
            colour = OVERLAY_COLOURS[index % len(OVERLAY_COLOURS)]
            self.plots.set_epochs(curves.epochs)
            for name, series in curves.metrics.items():
                if series.train_x or series.validation_x:
                    self.plots.plot(name).set_overlay(key, run.name, colour, series)
        self._overlaid = set(wanted)

    def _update_buttons(self) -> None:
        running = self.client.running
        waiting = self._weights_request is not None or self.client.preparing
        self.start_button.setEnabled(not running and not waiting)
        stray = not running and not waiting and self.stray_run() is not None
        self.stop_button.setEnabled((running and not self._stopping) or waiting or stray)
        self.kill_button.setEnabled(running or stray)
        self.resume_button.setEnabled(not running and not waiting and self.resumable_run() is not None)


def _set_up_run_table(table: QTableView, model: RunTableModel) -> None:
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column, width in enumerate((80, 140, 60, 260, 70)):
        header.resizeSection(column, width)
