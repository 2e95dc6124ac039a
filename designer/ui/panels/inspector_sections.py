"""The parts of the inspector's form for one node: name, output marks, parameters, inference.

Each section edits the design only through undo commands on the document's
stack and shows the model with its own widgets' signals blocked (the
inspector tells it when to refresh). `ParamsSection` does not push: it says
which parameter was edited, and the inspector pushes the command.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from designer.catalog.spec import LayerSpec, ParamSpec
from designer.engine.results import NodeResult, format_shape
from designer.graph.errors import GraphError
from designer.graph.model import ModelGraph, ModelOutput, Node
from designer.graph.validation import Diagnostic, Fix
from designer.ui.commands import Rename, SetOutputs
from designer.ui.document import Document
from designer.ui.panels.fixes import fix_text
from designer.ui.panels.narrow import wrapping_form
from designer.ui.panels.param_editors import ParamEditor, make_editor, param_tooltip
from designer.ui.panels.param_values import as_json_spec, fits

ERROR_COLOUR = "#c62828"
WARNING_COLOUR = "#b26a00"
HINT_COLOUR = "#666666"


# ------------------------------------------------------------------- helpers
def error_label() -> QLabel:
    """A red, wrapping label that hides itself while it says nothing."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {ERROR_COLOUR};")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def show_message(label: QLabel, message: str) -> None:
    label.setText(message)
    label.setVisible(bool(message))


def diagnostics_html(diagnostics: list[Diagnostic]) -> str:
    items = []
    for diagnostic in diagnostics:
        colour = ERROR_COLOUR if diagnostic.is_error else WARNING_COLOUR
        hint = f"<br><span style='color: {HINT_COLOUR};'>{html.escape(diagnostic.hint)}</span>"
        items.append(
            f"<p><span style='color: {colour};'><b>{html.escape(diagnostic.severity.capitalize())}:</b> "
            f"{html.escape(diagnostic.message)}</span>{hint if diagnostic.hint else ''}</p>"
        )
    return "".join(items)


# ------------------------------------------------------------------ sections
class NameSection(QWidget):
    """The node's type, its name editor and, for a shared node, whose layer it uses."""

    def __init__(self, document: Document, node_id: str, spec: LayerSpec | None) -> None:
        super().__init__()
        self.document, self.node_id = document, node_id
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.line_edit = QLineEdit()
        self.line_edit.setToolTip("The node's name: the variable and layer name in the generated code.")
        self.error = error_label()
        self.shares = QLabel()
        self.shares.setWordWrap(True)
        form = wrapping_form(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.title)
        form.addRow("Name", self.line_edit)
        form.addRow("", self.error)
        form.addRow(self.shares)
        self._spec = spec
        self.line_edit.textEdited.connect(self._check)
        self.line_edit.editingFinished.connect(self.accept)
        self.refresh()

    @property
    def node(self) -> Node:
        return self.document.graph.node(self.node_id)

    def refresh(self) -> None:
        node = self.node
        summary = self._spec.summary if self._spec else "Not in the catalog: edit its parameters as JSON."
        self.title.setText(f"<b>{html.escape(node.type)}</b> &mdash; {html.escape(summary)}")
        if self.line_edit.text() != node.name:
            self.line_edit.setText(node.name)
        show_message(self.error, "")
        owner = self.document.graph.nodes.get(node.shares or "")
        self.shares.setText(f"Shares the layer of {owner.name}: edit it there." if owner else "")
        self.shares.setVisible(owner is not None)

    def accept(self) -> None:
        """Rename the node to the typed name, or show the graph's reason for refusing it."""
        name = self.line_edit.text().strip()
        if self.node_id not in self.document.graph.nodes or name == self.node.name:
            show_message(self.error, "")
            return
        if self._check(name):
            self.document.undo_stack.push(Rename(self.document.graph, self.node_id, name))

    def _check(self, name: str) -> bool:
        try:
            self.document.graph.check_name(name.strip(), self.node_id)
        except GraphError as error:
            show_message(self.error, str(error))
            return False
        show_message(self.error, "")
        return True


class OutputSection(QWidget):
    """One "model output" check box and output name per output port of the node."""

    def __init__(self, document: Document, node_id: str) -> None:
        super().__init__()
        self.document, self.node_id = document, node_id
        self.check_boxes: list[QCheckBox] = []
        self.name_edits: list[QLineEdit] = []
        self.errors: list[QLabel] = []
        form = wrapping_form(self)
        form.setContentsMargins(0, 0, 0, 0)
        ports = document.graph.node(node_id).ports.outputs
        for port, port_name in enumerate(ports):
            form.addRow(self._row(port, port_name if len(ports) > 1 else ""))
        self.refresh()

    def _row(self, port: int, port_name: str) -> QWidget:
        check_box = QCheckBox(f"Model output '{port_name}'" if port_name else "Model output")
        check_box.setToolTip("Make this tensor an output of the model.")
        name_edit = QLineEdit()
        name_edit.setToolTip("The output's name (a key of the model's output dict, a Python identifier).")
        error = error_label()
        check_box.toggled.connect(lambda checked: self._toggled(port, checked))
        name_edit.editingFinished.connect(lambda: self._rename(port))
        self.check_boxes.append(check_box)
        self.name_edits.append(name_edit)
        self.errors.append(error)
        row = QWidget()
        layout = QVBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        line = QHBoxLayout()
        line.addWidget(check_box)
        line.addWidget(name_edit, 1)
        layout.addLayout(line)
        layout.addWidget(error)
        return row

    def refresh(self) -> None:
        names = self.document.graph.output_names(self.node_id)
        for port, (check_box, name_edit) in enumerate(zip(self.check_boxes, self.name_edits, strict=True)):
            with QSignalBlocker(check_box):
                check_box.setChecked(port in names)
            name_edit.setEnabled(port in names)
            name_edit.setText(names.get(port, ""))
            show_message(self.errors[port], "")

    def _toggled(self, port: int, checked: bool) -> None:
        graph = self.document.graph
        if self.node_id not in graph.nodes:
            return
        node = graph.node(self.node_id)
        kept = [o for o in graph.outputs if (o.node, o.port) != (self.node_id, port)]
        if checked:
            taken = {o.name for o in kept}
            name = _free_name(node.name if port == 0 else f"{node.name}_{port}", taken)
            outputs, text = [*kept, ModelOutput(self.node_id, port, name)], f"Mark {node.name} as output"
        else:
            outputs, text = kept, f"Unmark output of {node.name}"
        self.document.undo_stack.push(SetOutputs(graph, outputs, text))

    def _rename(self, port: int) -> None:
        graph = self.document.graph
        name = self.name_edits[port].text().strip()
        current = graph.output_names(self.node_id).get(port) if self.node_id in graph.nodes else None
        if current is None or name == current:
            return
        problem = _output_name_problem(graph, self.node_id, port, name)
        show_message(self.errors[port], problem)
        if not problem:
            outputs = [_renamed(o, self.node_id, port, name) for o in graph.outputs]
            self.document.undo_stack.push(SetOutputs(graph, outputs, f"Rename output {current} to {name}"))


def _renamed(output: ModelOutput, node_id: str, port: int, name: str) -> ModelOutput:
    return ModelOutput(node_id, port, name) if (output.node, output.port) == (node_id, port) else output


def _free_name(base: str, taken: set[str]) -> str:
    name, index = base, 1
    while name in taken:
        name, index = f"{base}_{index}", index + 1
    return name


def _output_name_problem(graph: ModelGraph, node_id: str, port: int, name: str) -> str:
    """The graph's own reason for refusing an output name; "" when it is fine."""
    try:
        graph.check_output(node_id, port, name)
    except GraphError as error:
        return str(error)
    return ""


class ParamRow:
    """One parameter's editor and the message beside it (a parse error before Keras' complaint)."""

    def __init__(self, editor: ParamEditor) -> None:
        self.editor = editor
        self.label = error_label()
        self.parse_error = ""
        self.engine_error = ""

    def show_errors(self) -> None:
        show_message(self.label, self.parse_error or self.engine_error)


class ParamsSection(QWidget):
    """An editor per parameter of the layer (from its `ParamSpec`s), then any extra params as JSON."""

    edited = Signal(str, str, object, bool)  # node id, param name, value, merge
    finished = Signal(str)  # param name

    def __init__(self, node_id: str, spec: LayerSpec | None, params: dict[str, Any], read_only: bool) -> None:
        super().__init__()
        self.node_id = node_id
        self.rows: dict[str, ParamRow] = {}
        self.general_error = error_label()
        form = wrapping_form(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.general_error)
        for param_spec in _param_specs(spec, params):
            form.addRow(self._label(param_spec), self._field(param_spec, params.get(param_spec.name)))
        self.setEnabled(not read_only)

    def _label(self, spec: ParamSpec) -> QLabel:
        label = QLabel(f"<b>{spec.name}</b>" if spec.required else spec.name)
        label.setToolTip(param_tooltip(spec))
        return label

    def _field(self, spec: ParamSpec, value: Any) -> QWidget:
        row = ParamRow(make_editor(spec, value))
        self.rows[spec.name] = row
        row.editor.edited.connect(lambda value, merge: self._edited(spec.name, value, merge))
        row.editor.rejected.connect(lambda message: self._rejected(spec.name, message))
        row.editor.finished.connect(lambda: self.finished.emit(spec.name))
        field = QWidget()
        layout = QVBoxLayout(field)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(row.editor)
        layout.addWidget(row.label)
        return field

    def refresh(self, params: dict[str, Any]) -> bool:
        """Show new values; False when one no longer fits its editor (the caller rebuilds)."""
        if set(params) - set(self.rows) or not all(
            fits(r.editor.spec, params.get(n)) for n, r in self.rows.items()
        ):
            return False
        for name, row in self.rows.items():
            row.editor.set_value(params.get(name))
            if row.editor.is_valid():
                row.parse_error = ""
            row.show_errors()
        return True

    def set_engine_errors(self, errors: dict[str, str]) -> None:
        for name, row in self.rows.items():
            row.engine_error = errors.get(name, "")
            row.show_errors()
        unplaced = [message for name, message in errors.items() if name not in self.rows]
        show_message(self.general_error, "\n".join(unplaced))

    def _edited(self, name: str, value: Any, merge: bool) -> None:
        row = self.rows[name]
        row.parse_error = ""
        row.show_errors()
        self.edited.emit(self.node_id, name, value, merge)

    def _rejected(self, name: str, message: str) -> None:
        row = self.rows[name]
        row.parse_error = message
        row.show_errors()


def _param_specs(spec: LayerSpec | None, params: dict[str, Any]) -> list[ParamSpec]:
    known = list(spec.params) if spec else []
    names = {p.name for p in known}
    extra = [as_json_spec(ParamSpec(name, "any")) for name in params if name not in names]
    return known + extra


class ResultSection(QWidget):
    """The node's inferred output shape(s), its parameter counts, its diagnostics with their hints
    under them, and a "Fix: insert Flatten" button per fix they carry (`fix_requested`)."""

    fix_requested = Signal(object)  # the Fix of the button clicked

    def __init__(self) -> None:
        super().__init__()
        self.shapes = QLabel()
        self.counts = QLabel()
        self.diagnostics = QLabel()
        for label in (self.shapes, self.counts, self.diagnostics):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix_buttons: list[QPushButton] = []
        self._fixes = QVBoxLayout()
        self._fixes.setContentsMargins(0, 0, 0, 0)
        self.fix_error = error_label()
        form = wrapping_form(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Output", self.shapes)
        form.addRow("Parameters", self.counts)
        form.addRow(self.diagnostics)
        form.addRow(self._fixes)
        form.addRow(self.fix_error)

    def refresh(
        self, node: Node, result: NodeResult | None, diagnostics: list[Diagnostic], fixes: list[Fix]
    ) -> None:
        """Show what the engine says of `node`; `fixes` are the ones that still apply."""
        self.shapes.setText(_shapes_text(node, result))
        self.counts.setText(_counts_text(result))
        self.diagnostics.setText(diagnostics_html(diagnostics))
        self.diagnostics.setVisible(bool(diagnostics))
        self._show_fixes(fixes)
        show_message(self.fix_error, "")

    def _show_fixes(self, fixes: list[Fix]) -> None:
        for button in self.fix_buttons:
            self._fixes.removeWidget(button)
            button.deleteLater()  # later: this may run inside the button's own click
        self.fix_buttons = [self._fix_button(fix) for fix in fixes]
        for button in self.fix_buttons:
            self._fixes.addWidget(button)

    def _fix_button(self, fix: Fix) -> QPushButton:
        button = QPushButton(fix_text(fix))
        button.clicked.connect(lambda *_: self.fix_requested.emit(fix))
        return button


def _shapes_text(node: Node, result: NodeResult | None) -> str:
    if result is None:
        return "not inferred yet"
    if not result.outputs:
        return "waiting for the layers upstream to be fixed" if result.blocked else "unknown (see below)"
    names = node.ports.outputs
    lines = []
    for index, output in enumerate(result.outputs):
        prefix = f"{names[index]}: " if len(result.outputs) > 1 and index < len(names) else ""
        lines.append(f"{prefix}{format_shape(output.shape)} {output.dtype}")
    return "\n".join(lines)


def _counts_text(result: NodeResult | None) -> str:
    if result is None:
        return "?"
    if result.shared:
        return "none of its own: it uses the weights of the layer it shares"
    return f"{result.params:,} ({result.trainable:,} trainable, {result.non_trainable:,} non-trainable)"
