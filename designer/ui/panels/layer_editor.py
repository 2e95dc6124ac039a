"""The layer editor: write a custom Keras layer in the app, check it on an input shape, save it.

`LayerEditor` shows one layer file: Python with line numbers and highlighting,
the layer to check when the file has several, an input-shape field, and what
the last Check said: the output shape and the weights (trainable and not), or
the error with its line, where the cursor then goes. It runs no code itself:
Check and Save are requests (`check_requested`, `save_requested`) that
`designer.ui.custom_layers` sends on to the engine and to the disk.
"""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from designer.graph.shapes import format_shape
from designer.ui.panels.python_highlighter import PythonHighlighter

DEFAULT_INPUT_SHAPE = "(None, 16)"
ERROR_LINE_COLOUR = QColor(198, 40, 40, 60)
INDENT = "    "
CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]*$")

TEMPLATE = '''"""{class_name}: a custom Keras layer."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="{module}")
class {class_name}(keras.layers.Layer):
    """A dense projection: change it into what your layer does.

    Args:
        units: Number of output features.
        activation: Activation applied to the output, e.g. "relu".
    """

    def __init__(self, units: int = 16, activation: str = "linear", **kwargs):
        super().__init__(**kwargs)
        if units < 1:
            raise ValueError(f"Expected a positive number of units, received units={{units}}.")
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return self.activation(ops.matmul(inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        activation = keras.activations.serialize(self.activation)
        return {{**config, "units": self.units, "activation": activation}}
'''


def module_name(class_name: str) -> str:
    """The file stem for a class: "MyLayer" -> "my_layer", "TfDense" -> "tf_dense"."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()


def layer_template(class_name: str) -> str:
    """A new layer's source: __init__, build (add_weight), call (keras.ops), compute_output_shape,
    get_config, registered for serialization."""
    return TEMPLATE.format(class_name=class_name, module=module_name(class_name))


def class_names(source: str) -> list[str] | None:
    """The classes the source defines at top level, in order; None when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    return [node.name for node in tree.body if isinstance(node, ast.ClassDef)]


# ------------------------------------------------------------- the code editor
class CodeEditor(QPlainTextEdit):
    """A plain-text Python editor with line numbers; Tab indents with spaces."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * len(INDENT))
        self.highlighter = PythonHighlighter(self.document())
        self.gutter = _LineNumbers(self)
        self.blockCountChanged.connect(self._update_margin)
        self.updateRequest.connect(self._follow_scroll)
        self._update_margin()

    def gutter_width(self) -> int:
        digits = len(str(max(1, self.blockCount())))
        return 12 + self.fontMetrics().horizontalAdvance("9") * max(2, digits)

    def go_to_line(self, line: int, mark: bool = False) -> None:
        """Put the cursor at the start of `line` (1-based) and show it; `mark` colours it as an error."""
        block = self.document().findBlockByNumber(max(0, line - 1))
        cursor = QTextCursor(block)
        self.setTextCursor(cursor)
        self.centerCursor()
        selections = []
        if mark:
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(ERROR_LINE_COLOUR)
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            selection.cursor = cursor
            selections.append(selection)
        self.setExtraSelections(selections)

    def marked_line(self) -> int | None:
        """The line marked as an error (1-based), if any."""
        selections = self.extraSelections()
        return selections[0].cursor.blockNumber() + 1 if selections else None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Tab and not event.modifiers():
            self.insertPlainText(INDENT)
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        area = self.contentsRect()
        self.gutter.setGeometry(QRect(area.left(), area.top(), self.gutter_width(), area.height()))

    def paint_gutter(self, event: QPaintEvent) -> None:
        """The line numbers of the visible blocks."""
        painter = QPainter(self.gutter)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.alternateBase())
        painter.setPen(palette.placeholderText().color())
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            bottom = top + round(self.blockBoundingRect(block).height())
            if block.isVisible() and bottom >= event.rect().top():
                number = str(block.blockNumber() + 1)
                painter.drawText(0, top, self.gutter.width() - 6, height, Qt.AlignmentFlag.AlignRight, number)
            block, top = block.next(), bottom
        painter.end()

    def _update_margin(self, _count: int = 0) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _follow_scroll(self, rect: QRect, scrolled: int) -> None:
        if scrolled:
            self.gutter.scroll(0, scrolled)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_margin()


class _LineNumbers(QWidget):
    """The gutter beside a CodeEditor; the editor paints it."""

    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        self.editor.paint_gutter(event)


# -------------------------------------------------------------- the editor
class LayerEditor(QWidget):
    """One layer file being written: its code, a Check on an input shape, and Save."""

    check_requested = Signal(str, str, str)  # source, class name ("" for the first), input shape
    save_requested = Signal(str)  # source

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self.suggested_name = ""
        self.file_label = QLabel()
        self.class_box = QComboBox()
        self.class_box.setToolTip("The layer class that Check builds")
        self.class_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.shape_field = QLineEdit(DEFAULT_INPUT_SHAPE)
        self.shape_field.setToolTip(
            "The input shape, batch axis first: (None, 16); several: [(None, 16), (None, 8)]"
        )
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip(
            "Build the layer on the input shape in the engine: output shape and weights"
        )
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Write the file beside the design and load its layers into the palette")
        self.code = CodeEditor()
        self.result = QTextBrowser()
        self.result.setOpenLinks(False)
        self._class_timer = QTimer(self, singleShot=True, interval=300)
        self._class_timer.timeout.connect(self._refresh_classes)
        self._build_layout()
        self.check_button.clicked.connect(self.request_check)
        self.shape_field.returnPressed.connect(self.request_check)
        self.save_button.clicked.connect(self.request_save)
        self.code.textChanged.connect(self._class_timer.start)
        self.code.document().modificationChanged.connect(self._update_label)
        self._set_result("<p>Write a layer, then <b>Check</b> it on an input shape.</p>")
        self._update_label()

    def _build_layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.file_label, 1)
        bar.addWidget(QLabel("Layer:"))
        bar.addWidget(self.class_box)
        bar.addWidget(QLabel("Input shape:"))
        self.shape_field.setMinimumWidth(
            self.shape_field.fontMetrics().horizontalAdvance("(None, 32, 32, 3)") + 16
        )
        bar.addWidget(self.shape_field)
        bar.addWidget(self.check_button)
        bar.addWidget(self.save_button)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.code)
        splitter.addWidget(self.result)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([700, 280])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)

    # ----------------------------------------------------------------- content
    def new_layer(self, class_name: str) -> None:
        """Start a new layer class from the template (not saved yet)."""
        self._show(layer_template(class_name), None)
        self.suggested_name = f"{module_name(class_name)}.py"
        self._update_label()

    def open_file(self, path: Path) -> None:
        """Edit an existing file; raises OSError or UnicodeDecodeError when it cannot be read."""
        self._show(Path(path).read_text(encoding="utf-8"), Path(path))

    def _show(self, source: str, path: Path | None) -> None:
        self.path = path
        self.suggested_name = path.name if path else ""
        self.code.setPlainText(source)
        self.code.document().setModified(False)  # nothing of the person's yet
        self.code.setExtraSelections([])
        self._refresh_classes()
        self._set_result("<p>Write a layer, then <b>Check</b> it on an input shape.</p>")
        self._update_label()

    def source(self) -> str:
        return self.code.toPlainText()

    def saved_as(self, path: Path) -> None:
        """The file was written to `path`: the editor now edits it."""
        self.path, self.suggested_name = Path(path), Path(path).name
        self.code.document().setModified(False)
        self._update_label()

    @property
    def is_modified(self) -> bool:
        return self.code.document().isModified()

    # ---------------------------------------------------------------- requests
    def request_check(self) -> None:
        self.code.setExtraSelections([])
        self._set_result("<p>Checking…</p>")
        self.check_requested.emit(
            self.source(), self.class_box.currentText(), self.shape_field.text().strip()
        )

    def request_save(self) -> None:
        self.save_requested.emit(self.source())

    # ----------------------------------------------------------------- results
    def show_result(self, result: dict[str, Any]) -> None:
        """What the engine's Check said (designer.engine.custom_ops.check_layer)."""
        if result.get("error"):
            self.show_error(str(result["error"]), result.get("line"))
            if result.get("field") == "input_shape":
                self.shape_field.setFocus()
            return
        self.code.setExtraSelections([])
        self._set_result(_result_html(result))
        warnings = [w for w in result.get("warnings", []) if w.get("line")]
        if warnings:
            self.code.go_to_line(int(warnings[0]["line"]), mark=True)

    def show_error(self, message: str, line: int | None = None) -> None:
        """An error, with its line (the cursor goes there and the line is marked)."""
        located = _located({"message": message, "line": line})
        self._set_result(f'<p style="color:#c62828; white-space:pre-wrap">{located}</p>')
        if line:
            self.code.go_to_line(int(line), mark=True)
            self.code.setFocus()

    def result_text(self) -> str:
        return self.result.toPlainText()

    def _set_result(self, text: str) -> None:
        self.result.setHtml(text)

    def _refresh_classes(self) -> None:
        names = class_names(self.source())
        if names is None or names == [self.class_box.itemText(i) for i in range(self.class_box.count())]:
            return
        current = self.class_box.currentText()
        self.class_box.clear()
        self.class_box.addItems(names)
        if current in names:
            self.class_box.setCurrentText(current)

    def _update_label(self, _modified: bool = False) -> None:
        name = self.path.name if self.path else (self.suggested_name or "untitled.py")
        state = " — not saved" if self.path is None else (" — modified" if self.is_modified else "")
        self.file_label.setText(f"<b>{html.escape(name)}</b>{state}")
        self.file_label.setToolTip(str(self.path) if self.path else "Save writes it beside the design")


def _result_html(result: dict[str, Any]) -> str:
    """Output shape, parameters and weights of a successful Check, then its warnings."""
    shapes = result.get("output_shapes") or [result.get("output_shape", [])]
    outputs = ", ".join(format_shape(shape) for shape in shapes)
    params = ", ".join(f"{name}={value!r}" for name, value in (result.get("params") or {}).items())
    rows = "".join(
        f"<tr><td>{html.escape(str(w['name']))}</td><td>{format_shape(w['shape'])}</td>"
        f"<td>{'trainable' if w['trainable'] else 'non-trainable'}</td></tr>"
        for w in result.get("weights", [])
    )
    weights = (
        f'<p>Weights:</p><table cellspacing="0" cellpadding="2">{rows}</table>'
        if rows
        else "<p>No weights.</p>"
    )
    warnings = "".join(
        f'<p style="color:#b26a00; white-space:pre-wrap">{_located(w)}</p>'
        for w in result.get("warnings", [])
    )
    return (
        f"<p><b>{html.escape(str(result.get('class_name', '')))}</b>({html.escape(params)}) builds.</p>"
        f"<p>Output shape: <b>{outputs}</b></p>"
        f"<p>Parameters: {int(result.get('trainable', 0)):,} trainable, "
        f"{int(result.get('non_trainable', 0)):,} non-trainable</p>"
        f"{weights}{warnings}"
    )


def _located(warning: dict[str, Any]) -> str:
    """ "<b>Line N</b>: message" (HTML), or the message alone when it has no line."""
    where = f"<b>Line {warning['line']}</b>: " if warning.get("line") else ""
    return where + html.escape(str(warning.get("message", "")))
