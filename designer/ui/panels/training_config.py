"""The training config editor: `TrainingConfigView` edits the training config of `document.model`.

A design without a stored config shows `TrainingConfig.for_graph` until the
first edit stores it. Every edit is one `SetTrainingConfig` undo command, which
calls the model's `set_training` (typing into one field folds into one step),
so Undo, the history panel and the document's modified state cover the config
like the graph. The view shows the model with its widgets' signals blocked and
refreshes when the model says its training config changed (an edit, Undo, a
fix from the Training panel), when another design replaces it (the answer of
the last Check data goes with it) or when its outputs change. Config problems
are listed live; "Check data" reads the data source and lists each misfit with
the model, with a Fix button where the remedy is obvious.
"""

from __future__ import annotations

import copy
import csv
import functools
import html
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QDoubleValidator, QUndoCommand
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from designer.codegen.training_script import DISTRIBUTIONS, OPTIMIZERS, SCHEDULES
from designer.data.sources import DATA_SOURCE_KINDS, KERAS_DATASETS, SKLEARN_DATASETS
from designer.graph.model import ModelGraph
from designer.project.model import StoredTraining, UnreadableTraining
from designer.training.config import LOSSES, METRICS, ConfigError, TrainingConfig, imported_weights
from designer.training.data import (
    DataError,
    DataProblem,
    apply_fix,
    check_data,
    model_output_shapes,
    npz_headers,
)
from designer.ui.background import BackgroundJobs
from designer.ui.document import Document
from designer.ui.panels.narrow import narrow_combo, narrow_spin_box, vertical_scroll_area, wrapping_form
from designer.ui.panels.subscription import Debouncer, GraphSubscription, ProjectSubscription
from designer.ui.training_client import project_folder

TRAINING_CONFIG_ID = 1001  # QUndoCommand.id() of merging config edits
ERROR_COLOUR = "#c62828"
FINE_COLOUR = "#2e7d32"
NO_LOSS = ""
NO_SCHEDULE = "constant"
SCHEDULE_DEFAULTS: dict[str, dict[str, Any]] = {
    "cosine_decay": {"decay_steps": 1000},
    "cosine_decay_restarts": {"decay_steps": 1000},
    "exponential_decay": {"decay_steps": 1000, "decay_rate": 0.96},
    "inverse_time_decay": {"decay_steps": 1000, "decay_rate": 0.5},
    "polynomial_decay": {"decay_steps": 1000},
}
SOURCE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sklearn": {"kind": "sklearn", "name": "digits", "image": False},
    "synthetic": {"kind": "synthetic", "task": "classification", "samples": 256, "classes": 10, "seed": 0},
    "npz": {"kind": "npz", "path": ""},
    "npy": {"kind": "npy", "inputs": {}, "targets": {}},
    "csv": {"kind": "csv", "path": "", "features": [], "targets": {}},
    "image_folder": {"kind": "image_folder", "path": "", "image_size": [256, 256], "color_mode": "rgb"},
    "keras_dataset": {"kind": "keras_dataset", "name": "mnist"},
}
KIND_LABELS = {
    "sklearn": "scikit-learn sample set",
    "synthetic": "synthetic (random) data",
    "npz": ".npz file",
    "npy": ".npy files",
    "csv": "CSV file",
    "image_folder": "image folder",
    "keras_dataset": "keras.datasets",
}
Edit = Callable[[str, Callable[[dict[str, Any]], None], str | None], None]  # text, change, merge key


# --------------------------------------------------------------- the section
def current_config(document: Document) -> TrainingConfig:
    """The document's training config; defaults for its outputs when it has none.

    Raises ConfigError when the stored section cannot be read."""
    return document.model.training_config(model_output_shapes(document.graph, document.results))


class SetTrainingConfig(QUndoCommand):
    """Replace the model's training config (a config, its JSON, or None for the defaults);
    consecutive edits with the same `merge_key` fold into one step."""

    def __init__(
        self,
        document: Document,
        new: StoredTraining | Mapping[str, Any],
        text: str = "Edit training config",
        merge_key: str | None = None,
    ) -> None:
        super().__init__(text)
        self.model, self.merge_key = document.model, merge_key
        self.old = self.model.training
        self.new = UnreadableTraining.read(new) if isinstance(new, Mapping) else copy.deepcopy(new)

    def id(self) -> int:
        return TRAINING_CONFIG_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, SetTrainingConfig) or other.merge_key != self.merge_key:
            return False
        self.new = copy.deepcopy(other.new)
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        self.model.set_training(self.new)

    def undo(self) -> None:
        self.model.set_training(self.old)


def apply_data_fix(document: Document, fix: Mapping[str, Any]) -> TrainingConfig:
    """Apply a DataProblem's fix to the document's config, as one undo step."""
    config = apply_fix(current_config(document), fix)
    document.undo_stack.push(SetTrainingConfig(document, config, "Fix the training data"))
    return config


# ------------------------------------------------------------------ problems
class ProblemList(QWidget):
    """Config and data problems, one per line, with a Fix button where a problem has a fix."""

    fix_requested = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[QLabel, QPushButton | None]] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.hide()

    def show_problems(self, messages: list[str], problems: list[DataProblem]) -> None:
        self.clear()
        for message in messages:
            self._add(message, None)
        for problem in problems:
            self._add(problem.message, problem.fix)
        self.setVisible(bool(self.rows))

    def show_fine(self, message: str) -> None:
        self.clear()
        label = self._add(message, None)
        label.setStyleSheet(f"color: {FINE_COLOUR};")
        self.show()

    def clear(self) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.deleteLater()
        self.rows = []
        self.hide()

    @property
    def messages(self) -> list[str]:
        return [label.text() for label, _ in self.rows]

    @property
    def fix_buttons(self) -> list[QPushButton]:
        return [button for _, button in self.rows if button is not None]

    def _add(self, message: str, fix: dict[str, Any] | None) -> QLabel:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(message)
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {ERROR_COLOUR};")
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(label, 1)
        button = None
        if fix is not None:
            button = QPushButton("Fix")
            button.setToolTip(f"Change the config: {fix}")
            button.clicked.connect(lambda *_: self.fix_requested.emit(dict(fix)))
            layout.addWidget(button)
        self._layout.addWidget(row)
        self.rows.append((label, button))
        return label


# ------------------------------------------------------------ widget helpers
def spin_box(minimum: int, maximum: int, tooltip: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setToolTip(tooltip)
    box.setKeyboardTracking(False)
    narrow_spin_box(box)
    return box


def double_spin_box(minimum: float, maximum: float, step: float, decimals: int = 3) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setKeyboardTracking(False)
    narrow_spin_box(box)
    return box


def combo_box(items: list[str] | tuple[str, ...], labels: Mapping[str, str] | None = None) -> QComboBox:
    combo = narrow_combo(QComboBox())
    for item in items:
        combo.addItem((labels or {}).get(item, item) or "(none)", item)
    return combo


def wrapping_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def labelled(*fields: tuple[str, QWidget]) -> QWidget:
    """Widgets in a row, each after its label."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for label, widget in fields:
        layout.addWidget(QLabel(label))
        layout.addWidget(widget, 1)
    return row


def set_value(box: QSpinBox | QDoubleSpinBox, value: Any) -> None:
    with QSignalBlocker(box):
        box.setValue(value)


def set_checked(box: QCheckBox, checked: bool) -> None:
    with QSignalBlocker(box):
        box.setChecked(checked)


def set_text(edit: QLineEdit, text: str) -> None:
    if edit.text() != text:
        with QSignalBlocker(edit):
            edit.setText(text)


def set_choice(combo: QComboBox, value: Any) -> None:
    """Select the item whose data is `value`, adding it when the list lacks it."""
    with QSignalBlocker(combo):
        index = combo.findData(value)
        if index < 0:
            combo.addItem(str(value), value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)


def set_items(combo: QComboBox, items: list[str], value: Any) -> None:
    """Offer `items` (and `value` when they lack it), refilled only when they change, and select `value`."""
    wanted = [*items, *([] if value in items else [value])]
    if [combo.itemData(index) for index in range(combo.count())] != wanted:
        with QSignalBlocker(combo):
            combo.clear()
            for item in wanted:
                combo.addItem(str(item), item)
    set_choice(combo, value)


# ------------------------------------------------------------- data sources
class PathEdit(QWidget):
    """A path field with a Browse button; `chosen` when a path is typed or picked."""

    chosen = Signal(str)

    def __init__(self, folder: bool = False, file_filter: str = "") -> None:
        super().__init__()
        self.folder, self.file_filter = folder, file_filter
        self.line_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.line_edit.editingFinished.connect(lambda: self.chosen.emit(self.line_edit.text().strip()))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line_edit, 1)
        layout.addWidget(browse)

    def set_path(self, path: str) -> None:
        set_text(self.line_edit, path)

    def _browse(self) -> None:
        if self.folder:
            path = QFileDialog.getExistingDirectory(self, "Choose the image folder", self.line_edit.text())
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, "Choose the data", self.line_edit.text(), self.file_filter
            )
        if path:
            self.line_edit.setText(path)
            self.chosen.emit(path)


class SourcePage(QWidget):
    """The fields of one data source kind; edits go through `edit` as changes of config["data"]."""

    kind = ""

    def __init__(self, edit: Edit) -> None:
        super().__init__()
        self._edit = edit
        self.form = wrapping_form(self)
        self.form.setContentsMargins(0, 0, 0, 0)

    def change(self, text: str, values: Mapping[str, Any], merge_key: str | None = None) -> None:
        self._edit(text, lambda config: config["data"].update(copy.deepcopy(dict(values))), merge_key)

    def show_source(self, source: Mapping[str, Any], graph: ModelGraph, base_dir: Path) -> None:
        raise NotImplementedError


class SklearnPage(SourcePage):
    kind = "sklearn"

    def __init__(self, edit: Edit) -> None:
        super().__init__(edit)
        self.name = combo_box(SKLEARN_DATASETS)
        self.image = QCheckBox("digits as images of shape (8, 8, 1)")
        self.form.addRow("Data set", self.name)
        self.form.addRow("", self.image)
        self.name.currentIndexChanged.connect(
            lambda *_: self.change("Set the data set", {"name": self.name.currentData()})
        )
        self.image.toggled.connect(lambda on: self.change("Set digits as images", {"image": on}))

    def show_source(self, source: Mapping[str, Any], graph: ModelGraph, base_dir: Path) -> None:
        set_choice(self.name, source.get("name", "digits"))
        set_checked(self.image, bool(source.get("image")))
        self.image.setEnabled(source.get("name") == "digits")


class SyntheticPage(SourcePage):
    kind = "synthetic"

    def __init__(self, edit: Edit) -> None:
        super().__init__(edit)
        self.task = combo_box(("classification", "regression"))
        self.samples = spin_box(1, 10_000_000, "How many random samples to draw.")
        self.classes = spin_box(2, 100_000, "Class labels are drawn from 0 to classes - 1.")
        self.seed = spin_box(0, 2**31 - 1)
        for label, widget in (("Task", self.task), ("Samples", self.samples), ("Classes", self.classes)):
            self.form.addRow(label, widget)
        self.form.addRow("Seed", self.seed)
        self.task.currentIndexChanged.connect(lambda *_: self._set_task(self.task.currentData()))
        for key, box in (("samples", self.samples), ("classes", self.classes), ("seed", self.seed)):
            box.valueChanged.connect(
                lambda value, key=key: self.change(f"Set synthetic {key}", {key: value}, f"data.{key}")
            )

    def _set_task(self, task: str) -> None:
        self._edit("Set the synthetic task", lambda config: _replace_task(config["data"], task), None)

    def show_source(self, source: Mapping[str, Any], graph: ModelGraph, base_dir: Path) -> None:
        set_choice(self.task, source.get("task", "classification"))
        set_value(self.samples, int(source.get("samples", 256)))
        set_value(self.classes, int(source.get("classes", 10)))
        set_value(self.seed, int(source.get("seed", 0)))
        self.classes.setEnabled(source.get("task", "classification") == "classification")


def _replace_task(source: dict[str, Any], task: str) -> None:
    """The synthetic source's task; classification draws the classes shown (10 unless set)."""
    source["task"] = task
    if task == "classification":
        source["classes"] = int(source.get("classes", 10))
    else:
        source.pop("classes", None)


class NamedArraysPage(SourcePage):
    """Pages that feed each model input and output from a named array, file or column."""

    def _rows(self, graph: ModelGraph) -> list[tuple[str, str]]:
        """(role key, name): ("inputs", input name)... then ("targets", output name)..."""
        return [("inputs", node.name) for node in graph.input_nodes()] + [
            ("targets", mark.name) for mark in graph.outputs
        ]

    def _rebuild(
        self, grid: QGridLayout, rows: list[tuple[str, str]], make: Callable[[str, str], QWidget]
    ) -> None:
        while grid.count():
            item = grid.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.deleteLater()
        for row, (role, name) in enumerate(rows):
            label = QLabel(f"{'input' if role == 'inputs' else 'target'} {name}")
            label.setWordWrap(True)
            grid.addWidget(label, row, 0)
            grid.addWidget(make(role, name), row, 1)
        grid.setColumnStretch(1, 1)

    def set_mapping(self, role: str, name: str, value: str) -> None:
        def update(config: dict[str, Any]) -> None:
            config["data"][role] = {**(config["data"].get(role) or {}), name: value}

        self._edit(f"Choose the data of {name}", update, None)


class NpzPage(NamedArraysPage):
    kind = "npz"

    def __init__(self, edit: Edit) -> None:
        super().__init__(edit)
        self.path = PathEdit(file_filter="NumPy archives (*.npz);;All files (*)")
        self.arrays_grid = QGridLayout()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.form.addRow("File", self.path)
        self.form.addRow(self.arrays_grid)
        self.form.addRow(self.note)
        self.combos: dict[tuple[str, str], QComboBox] = {}
        self.path.chosen.connect(lambda path: self.change("Choose the .npz file", {"path": path}))

    def show_source(self, source: Mapping[str, Any], graph: ModelGraph, base_dir: Path) -> None:
        self.path.set_path(str(source.get("path") or ""))
        arrays, note = _npz_arrays(source.get("path"), base_dir)
        self.note.setText(note)
        rows = self._rows(graph)
        if set(self.combos) != set(rows):
            self.combos = {}
            self._rebuild(self.arrays_grid, rows, self._combo)
        single = len(graph.input_nodes()) == 1 and len(graph.outputs) == 1
        for (role, name), combo in self.combos.items():
            default = ("x" if role == "inputs" else "y") if single else ""
            set_items(combo, arrays, (source.get(role) or {}).get(name, default))

    def _combo(self, role: str, name: str) -> QComboBox:
        combo = narrow_combo(QComboBox())
        combo.activated.connect(lambda *_: self.set_mapping(role, name, combo.currentData()))
        self.combos[(role, name)] = combo
        return combo


def _npz_arrays(path: Any, base_dir: Path) -> tuple[list[str], str]:
    """The arrays of an .npz file with their shapes said in a note; nothing while there is no file."""
    if not path:
        return [], "Choose an .npz file."
    try:
        arrays = npz_headers(base_dir / str(path))
    except (DataError, OSError) as error:
        return [], str(error)
    described = ", ".join(f"{name} {info.shape}" for name, info in arrays.items())
    return list(arrays), f"Arrays: {described}"


class NpyPage(NamedArraysPage):
    kind = "npy"

    def __init__(self, edit: Edit) -> None:
        super().__init__(edit)
        self.paths_grid = QGridLayout()
        self.form.addRow(self.paths_grid)
        self.paths: dict[tuple[str, str], PathEdit] = {}

    def show_source(self, source: Mapping[str, Any], graph: ModelGraph, base_dir: Path) -> None:
        rows = self._rows(graph)
        if set(self.paths) != set(rows):
            self.paths = {}
            self._rebuild(self.paths_grid, rows, self._path_edit)
        for (role, name), edit in self.paths.items():
            edit.set_path(str((source.get(role) or {}).get(name, "")))

    def _path_edit(self, role: str, name: str) -> PathEdit:
        edit = PathEdit(file_filter="NumPy arrays (*.npy);;All files (*)")
        edit.chosen.connect(lambda path: self.set_mapping(role, name, path))
        self.paths[(role, name)] = edit
        return edit


class CsvPage(NamedArraysPage):
    kind = "csv"

    def __init__(self, edit: Edit) -> None:
        super().__init__(edit)
        self.path = PathEdit(file_filter="CSV files (*.csv);;All files (*)")
        self.features = QListWidget()
        self.features.setToolTip("The feature columns, in order, that make up the input.")
        self.targets_grid = QGridLayout()
        self.form.addRow("File", self.path)
        self.form.addRow("Features", self.features)
        self.form.addRow(self.targets_grid)
        self.targets: dict[tuple[str, str], QComboBox] = {}
        self.path.chosen.connect(lambda path: self.change("Choose the CSV file", {"path": path}))
        self.features.itemChanged.connect(lambda *_: self._features_changed())

    def show_source(self, source: Mapping[str, Any], graph: ModelGraph, base_dir: Path) -> None:
        self.path.set_path(str(source.get("path") or ""))
        columns = _csv_columns(source.get("path"), base_dir)
        chosen = list(source.get("features") or [])
        self._show_features(list(dict.fromkeys([*columns, *chosen])), chosen)
        rows = [(role, name) for role, name in self._rows(graph) if role == "targets"]
        if set(self.targets) != set(rows):
            self.targets = {}
            self._rebuild(self.targets_grid, rows, self._combo)
        for (role, name), combo in self.targets.items():
            set_items(combo, columns, (source.get(role) or {}).get(name, ""))

    def _show_features(self, columns: list[str], chosen: list[str]) -> None:
        """A checkable item per column (made anew only when the columns change)."""
        with QSignalBlocker(self.features):
            if [self.features.item(row).text() for row in range(self.features.count())] != columns:
                self.features.clear()
                for column in columns:
                    item = QListWidgetItem(column)
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    self.features.addItem(item)
            for row in range(self.features.count()):
                item = self.features.item(row)
                checked = item.text() in chosen
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def _features_changed(self) -> None:
        items = [self.features.item(row) for row in range(self.features.count())]
        chosen = [item.text() for item in items if item.checkState() == Qt.CheckState.Checked]
        self.change("Choose the feature columns", {"features": chosen})

    def _combo(self, role: str, name: str) -> QComboBox:
        combo = narrow_combo(QComboBox())
        combo.activated.connect(lambda *_: self.set_mapping(role, name, combo.currentData()))
        self.targets[(role, name)] = combo
        return combo


def _csv_columns(path: Any, base_dir: Path) -> list[str]:
    """The header of a CSV file (nothing when it cannot be read)."""
    if not path:
        return []
    try:
        with open(base_dir / str(path), newline="", encoding="utf-8") as file:
            return next(csv.reader(file), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


class ImageFolderPage(SourcePage):
    kind = "image_folder"

    def __init__(self, edit: Edit) -> None:
        super().__init__(edit)
        self.path = PathEdit(folder=True)
        self.image_height, self.image_width = spin_box(1, 8192), spin_box(1, 8192)  # not QWidget's height()
        self.color_mode = combo_box(("rgb", "grayscale", "rgba"))
        size = QHBoxLayout()
        size.addWidget(self.image_height)
        size.addWidget(QLabel("by"))
        size.addWidget(self.image_width)
        self.form.addRow("Folder", self.path)
        self.form.addRow("Image size", size)
        self.form.addRow("Colours", self.color_mode)
        self.path.chosen.connect(lambda path: self.change("Choose the image folder", {"path": path}))
        for box in (self.image_height, self.image_width):
            box.valueChanged.connect(lambda *_: self._size_changed())
        self.color_mode.currentIndexChanged.connect(
            lambda *_: self.change("Set the colour mode", {"color_mode": self.color_mode.currentData()})
        )

    def _size_changed(self) -> None:
        self.change(
            "Set the image size",
            {"image_size": [self.image_height.value(), self.image_width.value()]},
            "size",
        )

    def show_source(self, source: Mapping[str, Any], graph: ModelGraph, base_dir: Path) -> None:
        self.path.set_path(str(source.get("path") or ""))
        height, width = source.get("image_size") or [256, 256]
        set_value(self.image_height, int(height))
        set_value(self.image_width, int(width))
        set_choice(self.color_mode, source.get("color_mode", "rgb"))


class KerasDatasetPage(SourcePage):
    kind = "keras_dataset"

    def __init__(self, edit: Edit) -> None:
        super().__init__(edit)
        self.name = combo_box(tuple(KERAS_DATASETS))
        self.words = spin_box(1, 1_000_000, "Keep the most frequent words (imdb, reuters).")
        self.form.addRow("Data set", self.name)
        self.form.addRow("Words", self.words)
        self.name.currentIndexChanged.connect(
            lambda *_: self.change("Set the data set", {"name": self.name.currentData()})
        )
        self.words.valueChanged.connect(
            lambda value: self.change("Set the vocabulary size", {"num_words": value}, "num_words")
        )

    def show_source(self, source: Mapping[str, Any], graph: ModelGraph, base_dir: Path) -> None:
        set_choice(self.name, source.get("name", "mnist"))
        set_value(self.words, int(source.get("num_words", 10000)))
        self.words.setEnabled(KERAS_DATASETS.get(str(source.get("name"))) == "sequences")


PAGES: tuple[type[SourcePage], ...] = (
    SklearnPage,
    SyntheticPage,
    NpzPage,
    NpyPage,
    CsvPage,
    ImageFolderPage,
    KerasDatasetPage,
)


# ------------------------------------------------------------------ sections
class ConfigSection(QGroupBox):
    """A group of the form; `show_config` shows the config dict, edits go through `edit`."""

    def __init__(self, title: str, edit: Edit) -> None:
        super().__init__(title)
        self._edit = edit
        self.form = wrapping_form(self)

    def set_key(self, text: str, key: str, value: Any, merge: bool = False) -> None:
        """Set config[key] (a dotted path: "callbacks.checkpoint.best")."""

        def update(config: dict[str, Any]) -> None:
            *path, last = key.split(".")
            target = config
            for part in path:
                target = target[part]
            target[last] = copy.deepcopy(value)

        self._edit(text, update, key if merge else None)

    def show_config(self, config: dict[str, Any], graph: ModelGraph) -> None:
        raise NotImplementedError


class OptimizerSection(ConfigSection):
    def __init__(self, edit: Edit) -> None:
        super().__init__("Optimizer", edit)
        self.name = combo_box(tuple(OPTIMIZERS), OPTIMIZERS)
        self.learning_rate = QLineEdit()
        validator = QDoubleValidator(0.0, 1e30, 12)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        self.learning_rate.setValidator(validator)
        self.schedule = combo_box((NO_SCHEDULE, *SCHEDULES), {NO_SCHEDULE: "constant", **SCHEDULES})
        self.decay_steps = spin_box(1, 1_000_000_000, "Steps over which the schedule decays the rate.")
        for label, widget in (
            ("Optimizer", self.name),
            ("Learning rate", self.learning_rate),
            ("Schedule", self.schedule),
            ("Decay steps", self.decay_steps),
        ):
            self.form.addRow(label, widget)
        self.name.currentIndexChanged.connect(
            lambda *_: self.set_key("Set the optimizer", "optimizer.name", self.name.currentData())
        )
        self.learning_rate.editingFinished.connect(self._rate_edited)
        self.schedule.currentIndexChanged.connect(
            lambda *_: self._schedule_chosen(self.schedule.currentData())
        )
        self.decay_steps.valueChanged.connect(
            lambda steps: self.set_key("Set the decay steps", "optimizer.schedule.decay_steps", steps, True)
        )

    def _rate_edited(self) -> None:
        try:
            rate = float(self.learning_rate.text())
        except ValueError:
            return
        self.set_key("Set the learning rate", "optimizer.learning_rate", rate, merge=True)

    def _schedule_chosen(self, name: str) -> None:
        def update(config: dict[str, Any]) -> None:
            optimizer = config["optimizer"]
            optimizer["schedule"] = _schedule(name, float(optimizer["learning_rate"]))

        self._edit("Set the learning-rate schedule", update, None)

    def show_config(self, config: dict[str, Any], graph: ModelGraph) -> None:
        optimizer = config["optimizer"]
        set_choice(self.name, optimizer["name"])
        if not self.learning_rate.hasFocus():
            set_text(self.learning_rate, f"{optimizer['learning_rate']:g}")
        schedule = optimizer.get("schedule") or {}
        set_choice(self.schedule, schedule.get("name", NO_SCHEDULE))
        self.decay_steps.setEnabled("decay_steps" in schedule)
        set_value(self.decay_steps, int(schedule.get("decay_steps", 1000)))


def _schedule(name: str, learning_rate: float) -> dict[str, Any] | None:
    if name == NO_SCHEDULE:
        return None
    if name == "piecewise_constant_decay":
        return {"name": name, "boundaries": [1000], "values": [learning_rate, learning_rate / 10]}
    return {"name": name, **SCHEDULE_DEFAULTS.get(name, {"decay_steps": 1000})}


class OutputsSection(ConfigSection):
    """Per model output, its name over its loss, loss weight and metrics (stacked, so a narrow
    dock never needs a fourth column)."""

    def __init__(self, edit: Edit) -> None:
        super().__init__("Losses and metrics", edit)
        self.outputs = wrapping_form()
        self.outputs.setContentsMargins(0, 0, 0, 0)
        self.form.addRow(self.outputs)
        self.rows: dict[str, tuple[QComboBox, QDoubleSpinBox, QLineEdit]] = {}

    def show_config(self, config: dict[str, Any], graph: ModelGraph) -> None:
        names = [mark.name for mark in graph.outputs]
        if list(self.rows) != names:
            self._rebuild(names)
        weights = config.get("loss_weights") or {}
        for name, (loss, weight, metrics) in self.rows.items():
            set_choice(loss, config["losses"].get(name, NO_LOSS))
            set_value(weight, float(weights.get(name, 1.0)))
            if not metrics.hasFocus():
                set_text(metrics, ", ".join(config["metrics"].get(name, [])))

    def _rebuild(self, names: list[str]) -> None:
        while self.outputs.rowCount():
            self.outputs.removeRow(0)
        self.rows = {}
        if not names:
            self.outputs.addRow(wrapping_label("Mark a layer's output as a model output to train."))
        for name in names:
            self.rows[name] = self._row(name)
            self.outputs.addRow(wrapping_label(f"<b>{html.escape(name)}</b>"))
            for title, widget in zip(("Loss", "Weight", "Metrics"), self.rows[name], strict=True):
                self.outputs.addRow(title, widget)

    def _row(self, name: str) -> tuple[QComboBox, QDoubleSpinBox, QLineEdit]:
        loss = combo_box((NO_LOSS, *LOSSES))
        weight = double_spin_box(0.0, 1000.0, 0.1)
        metrics = QLineEdit()
        metrics.setToolTip("Comma-separated metric names: " + ", ".join(METRICS))
        loss.currentIndexChanged.connect(lambda *_: self._set_loss(name, loss.currentData()))
        weight.valueChanged.connect(lambda value: self._set_weight(name, value))
        metrics.editingFinished.connect(lambda: self._set_metrics(name, metrics.text()))
        return loss, weight, metrics

    def _set_loss(self, name: str, loss: str) -> None:
        def update(config: dict[str, Any]) -> None:
            config["losses"].pop(name, None)
            if loss != NO_LOSS:
                config["losses"][name] = loss

        self._edit(f"Set the loss of {name}", update, None)

    def _set_weight(self, name: str, value: float) -> None:
        def update(config: dict[str, Any]) -> None:
            weights = config.get("loss_weights") or dict.fromkeys(self.rows, 1.0)
            config["loss_weights"] = {**weights, name: value}

        self._edit(f"Set the loss weight of {name}", update, f"loss_weights.{name}")

    def _set_metrics(self, name: str, text: str) -> None:
        names = [part.strip() for part in text.split(",") if part.strip()]

        def update(config: dict[str, Any]) -> None:
            config["metrics"][name] = names

        self._edit(f"Set the metrics of {name}", update, None)


class FitSection(ConfigSection):
    def __init__(self, edit: Edit) -> None:
        super().__init__("Fit", edit)
        self.epochs = spin_box(1, 1_000_000)
        self.batch_size = spin_box(1, 1_048_576)
        self.validation = double_spin_box(0.0, 0.95, 0.05, 2)
        self.validation.setSpecialValueText("none")
        self.validation.setToolTip("The fraction of the data held out for validation (none: no validation).")
        self.shuffle = QCheckBox("shuffle every epoch")
        self.seed = spin_box(0, 2**31 - 1)
        self.imported: str | None = None  # the project's imported weights file
        self.initial_weights = QCheckBox("start from the imported weights")
        self.initial_weights.setToolTip(
            "Load the imported model's weights, by layer name, before training; layers added since "
            "the import start fresh."
        )
        for label, widget in (
            ("Epochs", self.epochs),
            ("Batch size", self.batch_size),
            ("Validation split", self.validation),
            ("", self.shuffle),
            ("Seed", self.seed),
            ("", self.initial_weights),
        ):
            self.form.addRow(label, widget)
        self.initial_weights.toggled.connect(self._initial_weights_toggled)
        for key, box in (("epochs", self.epochs), ("batch_size", self.batch_size), ("seed", self.seed)):
            box.valueChanged.connect(
                lambda value, key=key: self.set_key(f"Set {key.replace('_', ' ')}", key, value, merge=True)
            )
        self.validation.valueChanged.connect(self._split_changed)
        self.shuffle.toggled.connect(lambda on: self.set_key("Set shuffle", "shuffle", on))

    def _initial_weights_toggled(self, on: bool) -> None:
        text = "Start from the imported weights" if on else "Start from fresh weights"
        self.set_key(text, "initial_weights", self.imported if on else None)

    def show_imported_weights(self, imported: str | None, config: dict[str, Any]) -> None:
        """Offer the imported weights when the project has them (or the config names some)."""
        self.imported = imported or config.get("initial_weights")
        self.initial_weights.setVisible(self.imported is not None)
        if self.imported is not None:
            self.initial_weights.setText(f"start from the imported weights ({Path(self.imported).name})")
        set_checked(self.initial_weights, config.get("initial_weights") is not None)

    def _split_changed(self, split: float) -> None:
        validation = {"split": round(split, 4)} if split > 0 else None
        self.set_key("Set the validation split", "validation", validation, merge=True)

    def show_config(self, config: dict[str, Any], graph: ModelGraph) -> None:
        set_value(self.epochs, int(config["epochs"]))
        set_value(self.batch_size, int(config["batch_size"]))
        set_value(self.validation, float((config.get("validation") or {}).get("split", 0.0)))
        set_checked(self.shuffle, bool(config["shuffle"]))
        set_value(self.seed, int(config["seed"]))


class CallbacksSection(ConfigSection):
    def __init__(self, edit: Edit) -> None:
        super().__init__("Callbacks and speed", edit)
        self.early_stopping = QCheckBox("early stopping")
        self.early_patience = spin_box(0, 10_000, "Epochs without improvement before stopping.")
        self.reduce_lr = QCheckBox("reduce the learning rate on plateau")
        self.reduce_patience = spin_box(0, 10_000, "Epochs without improvement before reducing.")
        self.reduce_factor = double_spin_box(0.01, 0.99, 0.05, 2)
        self.reduce_factor.setToolTip("The learning rate is multiplied by this factor.")
        self.every_epoch = QCheckBox("checkpoint every epoch")
        self.best = QCheckBox("keep the best checkpoint")
        self.mixed_precision = QCheckBox("mixed precision (float16 compute)")
        self.jit_compile = QCheckBox("XLA jit_compile")
        self.distribution = combo_box(DISTRIBUTIONS, {"none": "one device", "mirrored": "MirroredStrategy"})
        self.form.addRow(self.early_stopping, labelled(("patience", self.early_patience)))
        self.form.addRow(
            self.reduce_lr, labelled(("patience", self.reduce_patience), ("factor", self.reduce_factor))
        )
        for widget in (self.every_epoch, self.best, self.mixed_precision, self.jit_compile):
            self.form.addRow(widget)
        self.form.addRow("Distribution", self.distribution)
        self._connect()

    def _connect(self) -> None:
        self.early_stopping.toggled.connect(lambda on: self._watcher("early_stopping", on))
        self.reduce_lr.toggled.connect(lambda on: self._watcher("reduce_lr_on_plateau", on))
        self.early_patience.valueChanged.connect(
            lambda value: self._option("early_stopping", "patience", value)
        )
        self.reduce_patience.valueChanged.connect(
            lambda value: self._option("reduce_lr_on_plateau", "patience", value)
        )
        self.reduce_factor.valueChanged.connect(
            lambda value: self._option("reduce_lr_on_plateau", "factor", round(value, 4))
        )
        for key, box in (("every_epoch", self.every_epoch), ("best", self.best)):
            box.toggled.connect(
                lambda on, key=key: self.set_key("Set checkpoints", f"callbacks.checkpoint.{key}", on)
            )
        for key, box in (("mixed_precision", self.mixed_precision), ("jit_compile", self.jit_compile)):
            box.toggled.connect(lambda on, key=key: self.set_key(f"Set {key.replace('_', ' ')}", key, on))
        self.distribution.currentIndexChanged.connect(
            lambda *_: self.set_key("Set the distribution", "distribution", self.distribution.currentData())
        )

    def _watcher(self, key: str, on: bool) -> None:
        options: dict[str, Any] | None = None
        if on and key == "early_stopping":
            options = {"patience": self.early_patience.value(), "restore_best_weights": True}
        elif on:
            options = {
                "factor": round(self.reduce_factor.value(), 4),
                "patience": self.reduce_patience.value(),
            }
        self.set_key(f"Turn {key.replace('_', ' ')} {'on' if on else 'off'}", f"callbacks.{key}", options)

    def _option(self, key: str, option: str, value: Any) -> None:
        def update(config: dict[str, Any]) -> None:
            current = config["callbacks"].get(key)
            if current not in (None, False):
                config["callbacks"][key] = {**(current if isinstance(current, dict) else {}), option: value}

        self._edit(f"Set the {key.replace('_', ' ')} {option}", update, f"callbacks.{key}.{option}")

    def show_config(self, config: dict[str, Any], graph: ModelGraph) -> None:
        callbacks = config["callbacks"]
        for key, box, spins in (
            ("early_stopping", self.early_stopping, (self.early_patience,)),
            ("reduce_lr_on_plateau", self.reduce_lr, (self.reduce_patience, self.reduce_factor)),
        ):
            options = callbacks.get(key)
            set_checked(box, options not in (None, False))
            for spin in spins:
                spin.setEnabled(options not in (None, False))
            options = options if isinstance(options, dict) else {}
            set_value(spins[0], int(options.get("patience", 5 if key == "early_stopping" else 2)))
        reduce = callbacks.get("reduce_lr_on_plateau")
        set_value(self.reduce_factor, float((reduce if isinstance(reduce, dict) else {}).get("factor", 0.5)))
        set_checked(self.every_epoch, bool(callbacks["checkpoint"].get("every_epoch")))
        set_checked(self.best, bool(callbacks["checkpoint"].get("best")))
        set_checked(self.mixed_precision, bool(config["mixed_precision"]))
        set_checked(self.jit_compile, bool(config["jit_compile"]))
        set_choice(self.distribution, config["distribution"])


class DataSection(ConfigSection):
    """The data source: its kind, the page of its fields, a reshape it carries and "Check data"."""

    check_requested = Signal()

    def __init__(self, edit: Edit) -> None:
        super().__init__("Data", edit)
        self.kind = combo_box(DATA_SOURCE_KINDS, KIND_LABELS)
        self.pages = {page.kind: page(edit) for page in PAGES}
        self.stack = QStackedWidget()
        for page in self.pages.values():
            self.stack.addWidget(page)
        self.reshape = QLabel()
        self.clear_reshape = QPushButton("Clear reshape")
        self.check_button = QPushButton("Check data")
        self.problems = ProblemList()
        self.form.addRow("Source", self.kind)
        self.form.addRow(self.stack)
        self.form.addRow(self.reshape, self.clear_reshape)
        self.form.addRow(self.check_button)
        self.form.addRow(self.problems)
        self._sources: dict[str, dict[str, Any]] = {}
        self.kind.currentIndexChanged.connect(lambda *_: self._kind_chosen(self.kind.currentData()))
        self.clear_reshape.clicked.connect(self._clear_reshape)
        self.check_button.clicked.connect(self.check_requested.emit)

    def _kind_chosen(self, kind: str) -> None:
        source = self._sources.get(kind) or SOURCE_DEFAULTS[kind]

        def update(config: dict[str, Any]) -> None:
            self._sources[config["data"].get("kind")] = copy.deepcopy(config["data"])
            config["data"] = copy.deepcopy(source)

        self._edit(f"Use a {KIND_LABELS[kind]}", update, None)

    def _clear_reshape(self) -> None:
        self._edit("Clear the reshape", lambda config: config["data"].pop("reshape", None), None)

    def show_source(self, config: dict[str, Any], graph: ModelGraph, base_dir: Path) -> None:
        source = config["data"] if isinstance(config.get("data"), dict) else {}
        kind = source.get("kind", "synthetic")
        set_choice(self.kind, kind)
        page = self.pages.get(kind)
        for other in self.pages.values():  # the stack takes the size of the page shown
            policy = QSizePolicy.Policy.Preferred if other is page else QSizePolicy.Policy.Ignored
            other.setSizePolicy(policy, policy)
        if page is not None:
            self.stack.setCurrentWidget(page)
            page.show_source(source, graph, base_dir)
        reshape = source.get("reshape") or {}
        text = ", ".join(f"{name} → {tuple(dims)}" for name, dims in reshape.items())
        self.reshape.setText(f"Reshape: {text}" if text else "")
        self.reshape.setVisible(bool(text))
        self.clear_reshape.setVisible(bool(text))

    def show_config(self, config: dict[str, Any], graph: ModelGraph) -> None:
        self.show_source(config, graph, Path.cwd())


# ---------------------------------------------------------------------- view
GRAPH_SIGNALS = ("outputs_changed", "node_added", "node_removed", "node_renamed")


CHECKING_TEXT = "Checking the data…"


class TrainingConfigView(QWidget):
    """The training config form of the open design."""

    wants_attention = Signal()  # Check data answered: the panel should be in front
    message = Signal(str)  # Check data's answer in a line, for the window's status bar
    data_checked = Signal(list)  # Check data's answer: DataProblems ([] when the data fits)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.shown: dict[str, Any] = {}
        self._check_number = 0  # the latest Check data: older answers are dropped
        self._jobs = BackgroundJobs("check-data", self)
        self.config_problems = ProblemList()
        self.optimizer = OptimizerSection(self.edit)
        self.outputs = OutputsSection(self.edit)
        self.fit = FitSection(self.edit)
        self.callbacks = CallbacksSection(self.edit)
        self.data = DataSection(self.edit)
        self._lay_out()
        self.data.check_requested.connect(self.check_data)
        self.data.problems.fix_requested.connect(self.apply_fix)
        self._debouncer = Debouncer(self.refresh, 50, self)
        self._graph_subscription = GraphSubscription(
            document, self, dict.fromkeys(GRAPH_SIGNALS, self._design_changed)
        )
        self._project_subscription = ProjectSubscription(
            document,
            self,
            {"training_changed": self._training_changed, "extra_changed": self.refresh},
            on_replaced=self._project_replaced,
        )
        document.results_changed.connect(self._results_changed)
        self.refresh()

    def _lay_out(self) -> None:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.config_problems)
        for section in (self.optimizer, self.outputs, self.fit, self.callbacks, self.data):
            layout.addWidget(section)
        layout.addStretch(1)
        scroll = vertical_scroll_area(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # --------------------------------------------------------------- model
    @property
    def config(self) -> TrainingConfig:
        """The config the form shows."""
        return TrainingConfig.from_dict(self.shown)

    def edit(self, text: str, change: Callable[[dict[str, Any]], None], merge_key: str | None = None) -> None:
        """Apply `change` to a copy of the shown config and push it as one undo step."""
        new = copy.deepcopy(self.shown)
        change(new)
        if new == self.shown:
            return
        self._forget_check()
        self.document.undo_stack.push(SetTrainingConfig(self.document, new, text, merge_key))

    def apply_fix(self, fix: dict[str, Any]) -> None:
        apply_data_fix(self.document, fix)
        self.check_data()

    def check_data(self) -> None:
        """Read the data source off the GUI thread (files, a network probe) and list its misfits
        with the design; `data_checked` carries them, and the answer comes into view (the panel in
        front, scrolled to it, a line in the status bar)."""
        self._check_number += 1
        number, document = self._check_number, self.document
        try:
            config = self.config
        except ConfigError as error:
            self._data_checked(number, [DataProblem("data", "", str(error))], str(error))
            return
        shapes = model_output_shapes(document.graph, document.results)
        self.data.problems.show_fine(CHECKING_TEXT)
        self.message.emit(CHECKING_TEXT)
        self._jobs.submit(
            functools.partial(check_data, base_dir=project_folder(document)),
            config,
            document.graph.copy(),
            shapes,
            done=lambda problems: self._data_checked(number, problems),
            failed=lambda error: self._data_checked(
                number, [DataProblem("data", "", str(error))], str(error)
            ),
        )

    def _forget_check(self) -> None:
        """The design or its data changed: an answer still on its way is about what was, so it is
        dropped (its fixes would write into what is now) and "Checking the data…" goes."""
        if self.data.problems.messages == [CHECKING_TEXT]:
            self.data.problems.clear()
        self._check_number += 1

    def _data_checked(self, number: int, problems: list[DataProblem], failure: str = "") -> None:
        if number != self._check_number:
            return  # about an older design or config: a newer check, or none, is wanted
        if failure:
            self.data.problems.show_problems([failure], [])
            self._show_check_answer(f"Check data: {failure.splitlines()[0]}")
        elif problems:
            self.data.problems.show_problems([], problems)
            count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
            self._show_check_answer(f"Check data: {count} with the data (see Training Setup).")
        else:
            self.data.problems.show_fine("The data fits the model.")
            self._show_check_answer("Check data: the data fits the model.")
        self.data_checked.emit(problems)

    def _show_check_answer(self, line: str) -> None:
        self.wants_attention.emit()
        self.message.emit(line)
        QTimer.singleShot(0, self._scroll_to_check_answer)  # once the panel in front has its size

    def _scroll_to_check_answer(self) -> None:
        scroll = self.findChild(QScrollArea)
        if scroll is not None:
            scroll.ensureWidgetVisible(self.data.problems)

    # ------------------------------------------------------------- refresh
    def refresh(self) -> None:
        """Show the document's config (signals blocked) and its problems."""
        graph, messages = self.document.graph, []
        try:
            config = current_config(self.document)
        except ConfigError as error:
            config, messages = TrainingConfig.for_graph(graph), [f"The stored config is unusable: {error}"]
        self.shown = config.to_dict()
        for section in (self.optimizer, self.outputs, self.fit, self.callbacks):
            section.show_config(self.shown, graph)
        self.data.show_source(self.shown, graph, project_folder(self.document))
        self.fit.show_imported_weights(imported_weights(self.document.model.extra), self.shown)
        messages += [str(problem) for problem in config.problems(graph)]
        self.config_problems.show_problems(messages, [])

    def _training_changed(self) -> None:
        """The stored config changed (an edit, Undo, Redo, a Fix): an answer of Check data, shown
        or on its way, was about the config as it was, so it goes with its Fix buttons."""
        self._drop_check_answer()
        self.refresh()

    def _design_changed(self, *_args: object) -> None:
        self._drop_check_answer()
        self._debouncer.schedule()

    def _drop_check_answer(self) -> None:
        self._forget_check()
        self.data.problems.clear()

    def _project_replaced(self) -> None:
        """Another design is open: its config shows, and no answer of Check data about the last
        one stays (nor does one still on its way)."""
        self._drop_check_answer()
        self.refresh()

    def _results_changed(self) -> None:
        if self.document.model.training is None:
            self._debouncer.schedule()
