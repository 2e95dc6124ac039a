"""The code panel: the design as Python, regenerated live, in the style the person picks.

`CodeView` regenerates the model module ~300 ms after the last change of the
graph (and on `results_changed`), off the GUI thread on a snapshot of the
graph, because code generation runs ruff. It never raises: when the code
cannot be generated it shows why, as Python comments. Copy puts the code on
the clipboard. Export is the one way the window writes code: the window asks
where (File > Export Code or the panel's Export button, `export_requested`),
`start_export` generates and writes the file atomically off the GUI thread in
the style shown, and `exported` or `export_failed` tells the window. It is
refused while the design has errors, as the CLI refuses it.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from pathlib import Path

from psygnal import EmissionInfo
from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.catalog.spec import LayerSpec
from designer.codegen import CodegenError, ExportRefused, can_be_sequential, generate_model
from designer.graph.model import ModelGraph, changes_design
from designer.graph.project import atomic_write_text
from designer.graph.validation import Diagnostic
from designer.ui.background import BackgroundJobs
from designer.ui.document import Document
from designer.ui.panels.python_highlighter import PythonHighlighter
from designer.ui.panels.shown import ShownRefresh
from designer.ui.panels.subscription import Debouncer, GraphSubscription

FUNCTIONAL, SUBCLASSED, SEQUENTIAL = "functional", "subclassed", "sequential"
STYLE_LABELS = {FUNCTIONAL: "Functional", SUBCLASSED: "Subclassed", SEQUENTIAL: "Sequential"}
REGENERATE_DELAY_MS = 300
EMPTY_DESIGN_CODE = "# Drag layers onto the canvas: the model's code appears here as you draw.\n"


def generated_code(
    graph: ModelGraph, catalog: Mapping[str, LayerSpec], style: str, errors: list[Diagnostic]
) -> str:
    """The model module in `style`, or comments saying why there is none. Never raises."""
    if len(graph) == 0:
        return EMPTY_DESIGN_CODE
    try:
        return generate_model(graph, catalog, style)
    except CodegenError as error:
        reason = str(error)
    except Exception:  # a generator bug must not take the window down: show it instead
        reason = "Code generation failed unexpectedly:\n" + traceback.format_exc()
    return failure_comment(reason, errors)


def failure_comment(reason: str, errors: list[Diagnostic]) -> str:
    lines = [
        "# The code cannot be generated yet.",
        "#",
        *(f"# {line}".rstrip() for line in reason.splitlines()),
    ]
    if errors:
        lines += ["#", f"# The design has {len(errors)} error(s):"]
        lines += [f"#   - {error.message}" for error in errors]
    return "\n".join(lines) + "\n"


def _write_module(graph: ModelGraph, catalog: Mapping[str, LayerSpec], style: str, path: Path) -> Path:
    """On the worker thread: generate (ruff included) and write the file atomically."""
    atomic_write_text(path, generate_model(graph, catalog, style))
    return path


class CodeView(QWidget):
    """The generated model code, read-only and highlighted, with a style switch, Copy and Export."""

    code_changed = Signal(str)  # the code now shown
    export_requested = Signal()  # the Export button: the window asks where, then calls start_export
    exported = Signal(str)  # a file written by start_export
    export_failed = Signal(str)  # why start_export wrote nothing

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.code_style = FUNCTIONAL
        self._generation = 0
        self.shown_refresh = ShownRefresh()
        self._jobs = BackgroundJobs("codegen", self)
        self.editor = _code_editor()
        self.highlighter = PythonHighlighter(self.editor.document())
        self.style_buttons = QButtonGroup(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._toolbar())
        self.actions_row = QHBoxLayout()  # Copy and Export move here when one row is too narrow
        self.actions_row.addStretch(1)
        layout.addLayout(self.actions_row)
        layout.addWidget(self.editor)
        self._debouncer = Debouncer(self.regenerate, REGENERATE_DELAY_MS, self)
        self._subscription = GraphSubscription(document, self, self._graph_event, on_replaced=self.regenerate)
        document.results_changed.connect(self._debouncer.schedule)
        document.catalog_changed.connect(self._debouncer.schedule)
        self.regenerate()

    def _toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        for index, (style, label) in enumerate(STYLE_LABELS.items()):
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setChecked(style == self.code_style)
            self.style_buttons.addButton(button, index)
            bar.addWidget(button)
        self.style_buttons.idClicked.connect(lambda index: self.set_code_style(list(STYLE_LABELS)[index]))
        bar.addStretch(1)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the code to the clipboard.")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.export_button = QToolButton()
        self.export_button.setText("Export…")
        self.export_button.setToolTip("Write the model module to a .py file.")
        self.export_button.clicked.connect(self.export_requested.emit)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.export_button)
        self.style_row = bar
        return bar

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        """Copy and Export share the style buttons' row when it has room, else take their own
        row below it: nothing is cut short in a narrow side panel."""
        super().resizeEvent(event)
        buttons = (self.copy_button, self.export_button)
        needed = sum(b.sizeHint().width() for b in (*self.style_buttons.buttons(), *buttons)) + 40
        row, other = (self.style_row, self.actions_row)
        if event.size().width() < needed:
            row, other = other, row
        if row.indexOf(self.copy_button) < 0:
            for button in buttons:
                other.removeWidget(button)
                row.addWidget(button)

    # ------------------------------------------------------------ public API
    def text(self) -> str:
        """The code shown now."""
        return self.editor.toPlainText()

    def style_button(self, style: str) -> QToolButton:
        return self.style_buttons.button(list(STYLE_LABELS).index(style))  # type: ignore[return-value]

    def set_code_style(self, style: str) -> None:
        """Show the code in "functional", "subclassed" or "sequential" style."""
        if style not in STYLE_LABELS:
            raise ValueError(f"Unknown code style {style!r}; expected one of {', '.join(STYLE_LABELS)}.")
        self.code_style = style
        self.style_button(style).setChecked(True)
        self.regenerate()

    def _graph_event(self, event: EmissionInfo) -> None:
        if changes_design(event):  # groups too: they become block classes in the code
            self._debouncer.schedule()

    def regenerate(self) -> None:
        """Generate the code again now (in the background); `code_changed` says when it is shown.
        While the view is hidden in a shown window (another tab of its dock is in front), it
        only notes that the code is stale and generates it when it is shown."""
        self._debouncer.cancel()
        if self.shown_refresh.hold(self._is_shown()):
            return
        graph = self.document.graph
        sequential = can_be_sequential(graph)
        self.style_button(SEQUENTIAL).setEnabled(sequential)
        self.style_button(SEQUENTIAL).setToolTip("" if sequential else "Only a single chain of layers.")
        if self.code_style == SEQUENTIAL and not sequential:
            self.code_style = FUNCTIONAL
            self.style_button(FUNCTIONAL).setChecked(True)
        self._generation += 1
        generation, errors = self._generation, [d for d in self.document.diagnostics if d.is_error]
        self._jobs.submit(
            generated_code,  # never raises: a failure becomes comments
            graph.copy(),
            self.document.catalog,
            self.code_style,
            errors,
            done=lambda code: self._show(generation, code),
            failed=lambda error: self._show(generation, failure_comment(str(error), errors)),
        )

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.shown_refresh.due(True):
            self.regenerate()

    def _is_shown(self) -> bool:
        """Hidden only in a shown window (another tab of its dock in front): alone, it always generates."""
        window = self.window()
        return window is self or not window.isVisible() or self.isVisible()

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(self.text())

    def start_export(self, path: str | Path) -> bool:
        """Write the model module in the current style to `path` off the GUI thread; `exported`
        or `export_failed` says how it went. False (and `export_failed`) when refused at once."""
        errors = [d for d in self.document.diagnostics if d.is_error]
        if errors:
            self.export_failed.emit(str(ExportRefused(errors)))
            return False
        target = Path(path)
        self._jobs.submit(
            _write_module,
            self.document.graph.copy(),
            self.document.catalog,
            self.code_style,
            target,
            done=lambda written: self.exported.emit(str(written)),
            failed=lambda error: self.export_failed.emit(f"{target}: {error}"),
        )
        return True

    def suggested_path(self) -> Path:
        """<model name>.py beside the project file, else in the home folder."""
        folder = self.document.path.parent if self.document.path else Path.home()
        return folder / f"{self.document.graph.name or 'model'}.py"

    # -------------------------------------------------------------- internal
    def _show(self, generation: int, code: str) -> None:
        if generation != self._generation or code == self.text():
            return
        scroll = self.editor.verticalScrollBar().value()
        self.editor.setPlainText(code)
        self.editor.verticalScrollBar().setValue(scroll)
        self.code_changed.emit(code)


def _code_editor() -> QPlainTextEdit:
    editor = QPlainTextEdit()
    editor.setReadOnly(True)
    editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    return editor
