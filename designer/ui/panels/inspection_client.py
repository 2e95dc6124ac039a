"""The GUI's side of inspection: which weights are looked at, and the engine's replies about them.

`Source` names the weights to inspect: the design's initial (untrained)
weights, or a run and one of its checkpoints (`run_sources` lists them from the
run folders). `InspectionClient` sends the inspection ops of
`designer.engine.host` through the `EngineClient`'s generic `request()` and
hands back only the replies that still matter: for each op the newest request
wins, an older reply is dropped with its files. Every request writes its .npy
files into its own folder of a temporary directory that lives as long as the
client; a folder goes when a newer reply of the same op replaces it. Selection
changes reach the panels folded into one `node_changed` per burst, so clicking
through nodes fast asks the engine once. Nothing here waits on the engine.
The design's runs (`list_runs` parses every run's log) are read off the GUI
thread (`BackgroundJobs`), once per burst of asks (an Open's `path_changed` and
`project_replaced` make one read); only the latest read shows, so a list about
a design no longer open never lands in the next.
`SourcePicker` is the pair of combo boxes (run, epoch) that sets the source.
"""

from __future__ import annotations

import itertools
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from designer.training.runs import RunFolder, RunSummary, list_runs
from designer.ui.background import BackgroundJobs
from designer.ui.document import Document
from designer.ui.panels.subscription import Debouncer
from designer.ui.training_client import runs_root

SELECTION_DELAY_MS = 120
REQUEST_TIMEOUT_S = 180.0  # a run's checkpoints: one model load per epoch
LATEST_OPS = (
    "inspect_weights",
    "weight_slice",
    "inspect_activations",
    "inspect_run",
    "run_health",
    "model_summary",
)
NO_ENGINE = "The Keras engine is not running: inspection needs it."
INITIAL_LABEL = "Initial weights"


# ------------------------------------------------------------------ numbers
def as_number(value: Any) -> float:
    """A statistic as the engine sends it (a number, "nan", "inf", "-inf" or null) as a float."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def format_number(value: Any, digits: int = 4) -> str:
    """A statistic for a person: 0.01234, 1.2e+06, NaN, +inf, -inf."""
    number = as_number(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+inf" if number > 0 else "-inf"
    return f"{number:.{digits}g}"


# ------------------------------------------------------------------ sources
@dataclass(frozen=True)
class Source:
    """The weights to inspect: a run's checkpoint, or with `run` None the design's initial weights."""

    run: Path | None = None
    checkpoint: Path | None = None
    epoch: int | None = None  # the checkpoint's epoch; None for initial weights or the run's last one
    label: str = INITIAL_LABEL

    @property
    def is_initial(self) -> bool:
        return self.run is None

    def fields(self) -> dict[str, str | None]:
        """The request fields that name these weights."""
        return {
            "run": str(self.run) if self.run is not None else None,
            "checkpoint": str(self.checkpoint) if self.checkpoint is not None else None,
        }


INITIAL = Source()


def run_sources(run: RunFolder) -> list[Source]:
    """A run's checkpoints, the latest first: its last epoch's weights (else last.keras), then
    each epoch's."""
    epochs = run.epoch_weights()
    if epochs:
        last_epoch, last_path = epochs[-1]
        latest = [Source(run.path, last_path, None, f"latest (epoch {last_epoch})")]
    elif run.last_checkpoint.exists():
        latest = [Source(run.path, run.last_checkpoint, None, "latest (last checkpoint)")]
    else:
        latest = []
    return latest + [Source(run.path, path, epoch, f"epoch {epoch}") for epoch, path in epochs]


def latest_source(run: RunFolder) -> Source | None:
    """The run's latest checkpoint, None when it has none yet."""
    sources = run_sources(run)
    return sources[0] if sources else None


def describe(source: Source) -> str:
    """ "run_0002 · epoch 3", "run_0002 · latest (epoch 5)" or "Initial weights"."""
    return source.label if source.run is None else f"{source.run.name} · {source.label}"


# ------------------------------------------------------------------- client
class InspectionClient(QObject):
    """The inspection requests of one window, their replies, their files and the source they read."""

    answered = Signal(str, dict)  # op, reply: the newest request of that op was answered
    failed = Signal(str, str)  # op, message
    exported = Signal(str)  # the path written
    pending_changed = Signal(str, bool)  # op, whether a request of it is in flight
    source_changed = Signal(object)  # Source
    node_changed = Signal(object)  # the selected node id (None: none or several), after a burst
    runs_changed = Signal(list)  # RunSummary list: cleared for another design, or read off the GUI thread

    def __init__(
        self,
        document: Document,
        engine: Any,
        parent: QObject | None = None,
        selection_delay_ms: int = SELECTION_DELAY_MS,
    ) -> None:
        super().__init__(parent)
        self.document, self.engine = document, engine
        self.source = INITIAL
        self.node: str | None = None
        # Removed by close(), when the client is destroyed, or at the latest when Python exits.
        self._folder = tempfile.TemporaryDirectory(prefix="designer-inspect-", ignore_cleanup_errors=True)
        self.out_dir = Path(self._folder.name)
        self.destroyed.connect(self._folder.cleanup)
        self._latest: dict[str, int] = {}  # op -> the id of its newest request
        self._folders: dict[int, Path] = {}  # request id -> its output folder
        self._current: dict[str, Path] = {}  # op -> the folder of the reply shown
        self._numbers = itertools.count(1)  # folder names are never reused
        self._exports: set[int] = set()
        self._closed = False
        self._selection = Debouncer(self._selection_settled, selection_delay_ms, self)
        self.runs: list[RunSummary] = []  # the design's runs as last read, oldest first
        self._runs_asked = self._runs_shown = 0  # run-list reads asked for, and the one shown
        self._runs_listing = Debouncer(self._list_runs, 0, self)  # one read per burst of asks
        self._list_jobs = BackgroundJobs("inspection-runs", self)
        document.selection_changed.connect(self._selection.schedule)
        document.path_changed.connect(self.refresh_runs)  # another runs folder
        document.project_replaced.connect(self._graph_replaced)
        if self.available:
            engine.answered.connect(self._answered)
            engine.request_failed.connect(self._request_failed)
        self.refresh_runs()

    # ------------------------------------------------------------- state
    @property
    def available(self) -> bool:
        """Whether there is an engine that serves generic requests."""
        return self.engine is not None and hasattr(self.engine, "request")

    def pending(self, op: str) -> bool:
        return op in self._latest

    def project_data(self) -> dict[str, Any]:
        return self.document.to_project().to_dict()

    def set_source(self, source: Source) -> None:
        if source != self.source:
            self.source = source
            self.source_changed.emit(source)

    def _selection_settled(self) -> None:
        selection = self.document.selection
        node = selection[0] if len(selection) == 1 else None
        if node != self.node:
            self.node = node
            self.node_changed.emit(node)

    def _graph_replaced(self) -> None:
        """Another design is open: the requests in flight are about the last one, their replies moot."""
        self._forget_requests()
        self.set_source(INITIAL)
        self._selection.cancel()
        self.node = None
        self.node_changed.emit(None)
        self.runs = []  # the last design's runs go at once; this one's come when read
        self.runs_changed.emit([])
        self.refresh_runs()

    # ------------------------------------------------------------ runs
    @property
    def listing_runs(self) -> bool:
        """Whether the run list is being read (`runs` is the last list read)."""
        return self._runs_shown != self._runs_asked

    def refresh_runs(self, *_: object) -> None:
        """Read the design's runs again off the GUI thread (a run started or ended, another design or
        runs folder); `runs_changed` follows. A read still under way is moot from now on."""
        self._runs_asked += 1
        self._runs_listing.schedule()

    def _list_runs(self) -> None:
        number, root = self._runs_asked, runs_root(self.document)
        self._list_jobs.submit(
            list_runs,
            root,
            done=lambda runs: self._runs_listed(number, runs),
            failed=lambda error: self._runs_not_listed(number, root, error),
        )

    def _runs_listed(self, number: int, runs: list[RunSummary]) -> None:
        if number != self._runs_asked:
            return  # about a design or a runs folder no longer shown, or a later read is on its way
        self._runs_shown, self.runs = number, list(runs)
        self.runs_changed.emit(self.runs)

    def _runs_not_listed(self, number: int, root: Path, error: Exception) -> None:
        if number == self._runs_asked:
            self._runs_shown = number
            self.failed.emit("source", f"The runs in {root} cannot be listed: {error}")

    def _forget_requests(self) -> None:
        for op, request_id in list(self._latest.items()):
            del self._latest[op]
            self._drop(request_id)
            self.pending_changed.emit(op, False)

    # ---------------------------------------------------------- requests
    def request(self, op: str, fields: dict[str, Any]) -> int | None:
        """Send `op` with `fields` (an `out_dir` of its own is added); None when there is no engine,
        after `failed`. A newer request of the same op makes this one's reply moot."""
        if not self.available:
            self.failed.emit(op, NO_ENGINE)
            return None
        folder = self.out_dir / f"{op}-{next(self._numbers)}"
        folder.mkdir(parents=True, exist_ok=True)
        request_id = int(self.engine.request(op, {**fields, "out_dir": str(folder)}, REQUEST_TIMEOUT_S))
        self._folders[request_id] = folder
        previous = self._latest.get(op)
        self._latest[op] = request_id
        if previous is not None:
            self._drop(previous)
        else:
            self.pending_changed.emit(op, True)
        return request_id

    def with_source(self, source: Source | None = None) -> dict[str, Any]:
        """The project and the source's fields, as most ops take them."""
        return {"project": self.project_data(), **(source or self.source).fields()}

    def export(self, export_format: str, path: Path, node: str | None = None) -> int | None:
        """Write the source's weights ("weights.h5"), model ("keras") or a node's arrays ("npz")."""
        if not self.available:
            self.failed.emit("export", NO_ENGINE)
            return None
        fields = {**self.with_source(), "format": export_format, "node": node, "path": str(path)}
        request_id = int(self.engine.request("export", fields, REQUEST_TIMEOUT_S))
        self._exports.add(request_id)
        return request_id

    # ----------------------------------------------------------- replies
    def _answered(self, request_id: int, op: str, result: Any) -> None:
        if request_id in self._exports:
            self._exports.discard(request_id)
            self.exported.emit(str(result.get("path", "")))
            return
        if self._latest.get(op) != request_id:
            self._drop(request_id)
            return
        del self._latest[op]
        self._show_folder(op, self._folders.pop(request_id, None))
        self.pending_changed.emit(op, False)
        self.answered.emit(op, dict(result))

    def _request_failed(self, request_id: int, message: str) -> None:
        if request_id in self._exports:
            self._exports.discard(request_id)
            self.failed.emit("export", message)
            return
        op = next((op for op, latest in self._latest.items() if latest == request_id), None)
        if op is None:
            self._drop(request_id)
            return
        del self._latest[op]
        self._drop(request_id)
        self.pending_changed.emit(op, False)
        self.failed.emit(op, message)

    def _show_folder(self, op: str, folder: Path | None) -> None:
        """The reply's folder is now the one shown for `op`; the one before it goes."""
        previous = self._current.pop(op, None)
        if previous is not None and previous != folder:
            shutil.rmtree(previous, ignore_errors=True)
        if folder is not None:
            self._current[op] = folder

    def _drop(self, request_id: int) -> None:
        """Forget a moot request and its files (never those of a reply shown)."""
        folder = self._folders.pop(request_id, None)
        if folder is not None and folder not in self._current.values():
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        """Forget every request and remove the temporary folder (the window is closing)."""
        self._selection.cancel()
        self._runs_listing.cancel()
        self._runs_asked = self._runs_shown  # a read under way shows nothing
        self._latest.clear()
        self._folders.clear()
        self._current.clear()
        if self.available and not self._closed:
            self.engine.answered.disconnect(self._answered)
            self.engine.request_failed.disconnect(self._request_failed)
        self._closed = True
        self._folder.cleanup()


# ------------------------------------------------------------------- picker
class SourcePicker(QWidget):
    """Two combo boxes: Initial weights or a run; then the run's latest checkpoint or an epoch.
    Kept in step with the client's source (several pickers may show the same client)."""

    def __init__(self, client: InspectionClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.run_combo = QComboBox()
        self.run_combo.setToolTip("Inspect the design's initial weights, or a training run's.")
        self.epoch_combo = QComboBox()
        self.epoch_combo.setToolTip("Which checkpoint of the run: its latest, or one epoch's.")
        self.run_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.epoch_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Weights:"))
        layout.addWidget(self.run_combo)
        layout.addWidget(self.epoch_combo)
        self._updating = False
        self.run_combo.activated.connect(self._run_picked)
        self.epoch_combo.activated.connect(self._epoch_picked)
        client.source_changed.connect(self._show)
        client.runs_changed.connect(self._show_runs)
        self._show_runs(client.runs)

    def _show_runs(self, runs: list[RunSummary]) -> None:
        """Initial weights and `runs` in the run box, and the client's source."""
        self._fill(self.run_combo, [(INITIAL_LABEL, "")] + [(run.name, str(run.path)) for run in runs])
        self._show(self.client.source)

    def _show(self, source: Source) -> None:
        self._updating = True
        try:
            index = self.run_combo.findData(str(source.run) if source.run else "")
            if index < 0 and source.run is not None:
                self.run_combo.addItem(source.run.name, str(source.run))
                index = self.run_combo.count() - 1
            self.run_combo.setCurrentIndex(max(index, 0))
            sources = run_sources(RunFolder(source.run)) if source.run is not None else []
            self._fill(self.epoch_combo, [(s.label, s) for s in sources])
            self.epoch_combo.setCurrentIndex(
                max(0, next((i for i, s in enumerate(sources) if s == source), 0))
            )
            self.epoch_combo.setVisible(bool(sources))
        finally:
            self._updating = False

    def _run_picked(self, index: int) -> None:
        path = self.run_combo.itemData(index)
        if not path:
            self.client.set_source(INITIAL)
            return
        latest = latest_source(RunFolder(Path(path)))
        if latest is None:
            self.client.failed.emit("source", f"{Path(path).name} has no checkpoint yet.")
            self._show(self.client.source)
            return
        self.client.set_source(latest)

    def _epoch_picked(self, index: int) -> None:
        source = self.epoch_combo.itemData(index)
        if isinstance(source, Source) and not self._updating:
            self.client.set_source(source)

    @staticmethod
    def _fill(combo: QComboBox, items: list[tuple[str, Any]]) -> None:
        combo.blockSignals(True)
        combo.clear()
        for text, data in items:
            combo.addItem(text, data)
        combo.blockSignals(False)
