"""The inspector: the one selected node's name, output marks and layer parameters, and what
the engine says of it; or the one selected block's name, class, members and parameter total.

Widget -> model: every edit is an undo command on `document.undo_stack`
(`Rename`, `SetOutputs`, `EditParam`); typing in one field folds into one
step. Model -> widget: the inspector listens to the graph and the document
and updates its fields with their signals blocked, so nothing loops. Text that
does not parse is shown in red beside its field and never reaches the model;
Keras' own complaints about the params come with each analysis, in the node's
result (`NodeResult.param_errors`), beside their fields. A diagnostic's hint
shows under its message, and a fix it carries is a button that inserts the
layer as one undo step (`designer.ui.panels.fixes`). The form scrolls down,
never sideways, so it fits a narrow dock (`designer.ui.panels.narrow`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QGroupBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from designer.catalog.expressions import EXPRESSION_KIND
from designer.catalog.spec import LayerSpec
from designer.graph.errors import GraphError
from designer.graph.groups import port_labels
from designer.graph.model import Group, ModelGraph, Node, block_class_name
from designer.graph.validation import Fix
from designer.ui.canvas.labels import block_count_text
from designer.ui.commands import SetParams, rename_group
from designer.ui.document import Document
from designer.ui.panels.fixes import Placement, apply_fix, can_apply
from designer.ui.panels.inspector_sections import (
    NameSection,
    OutputSection,
    ParamsSection,
    ResultSection,
    show_message,
)
from designer.ui.panels.narrow import vertical_scroll_area, wrapping_form
from designer.ui.panels.param_editors import ParamEditor
from designer.ui.panels.subscription import GraphSubscription


class EditParam(SetParams):
    """Set one parameter of a node. Typing in the same field during one visit of it (`gesture`)
    folds into one undo step; another field, or coming back to the field, starts a new step."""

    def __init__(
        self, graph: ModelGraph, node_id: str, params: dict[str, Any], field: str, gesture: int | None
    ) -> None:
        super().__init__(graph, node_id, params, merge=gesture is not None)
        self.field, self.gesture = field, gesture
        self.setText(f"Edit {graph.node(node_id).name}.{field}")

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, EditParam) or not self.merge or not other.merge:
            return False
        if (other.node_id, other.field, other.gesture) != (self.node_id, self.field, self.gesture):
            return False
        self.new = other.new
        self.setObsolete(self.new == self.old)  # typed back to where it started: no step at all
        return True


class NodeForm(QWidget):
    """Every section for one node, top to bottom."""

    def __init__(self, document: Document, node_id: str) -> None:
        super().__init__()
        node = document.graph.node(node_id)
        spec = document.catalog.get(node.type)
        self.name_section = NameSection(document, node_id, spec)
        self.output_section = OutputSection(document, node_id)
        owner = document.graph.layer_owner(node_id)
        values = node_values(spec, owner)
        self.params_section = ParamsSection(node_id, spec, values, read_only=node.shares is not None)
        self.result_section = ResultSection()
        layout = QVBoxLayout(self)
        layout.addWidget(self.name_section)
        layout.addWidget(self.output_section)
        layout.addWidget(_group("Parameters", self.params_section))
        layout.addWidget(_group("Inferred", self.result_section))
        layout.addStretch(1)


class BlockForm(QWidget):
    """A collapsed block: its name and block type (renamed as one undo step each), its class in
    the code, its members, its boundary ports and its parameter total."""

    def __init__(self, document: Document, group_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document, self.group_id = document, group_id
        self.name_edit, self.block_edit = QLineEdit(), QLineEdit()
        self.class_label, self.members_label, self.ports_label, self.params_label = (
            QLabel() for _ in range(4)
        )
        for label in (self.members_label, self.ports_label):
            label.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        form = wrapping_form(self)
        for text, widget in (
            ("Block", self.name_edit),
            ("Block type", self.block_edit),
            ("Class", self.class_label),
            ("Layers", self.members_label),
            ("Ports", self.ports_label),
            ("Parameters", self.params_label),
            ("", self.error_label),
        ):
            form.addRow(text, widget)
        self._shown = {self.name_edit: "", self.block_edit: ""}  # the model's value each field last showed
        self.name_edit.editingFinished.connect(self._rename)
        self.block_edit.editingFinished.connect(self._retype)
        self.refresh()

    def refresh(self) -> None:
        graph = self.document.graph
        if self.group_id not in graph.groups:
            return
        group = graph.group(self.group_id)
        for edit, text in ((self.name_edit, group.name), (self.block_edit, group.block)):
            # A field being edited keeps what is typed, unless the model changed under it
            # (renaming the block changes its type too): then it shows the model's value.
            if edit.text() != text and (not edit.hasFocus() or self._shown[edit] != text):
                edit.setText(text)
            self._shown[edit] = text
        self.class_label.setText(block_class_name(group.block))
        names = [graph.node(node_id).name for node_id in group.nodes]
        self.members_label.setText(f"{len(names)}: {', '.join(names)}")
        inputs, outputs = port_labels(graph, self.group_id)
        self.ports_label.setText(f"in: {', '.join(inputs) or 'none'}; out: {', '.join(outputs) or 'none'}")
        owner = graph.groups.get(group.shares) if group.shares else None
        results = [self.document.results.get(node_id) for node_id in group.nodes]
        self.params_label.setText(f"shares {owner.name}'s weights" if owner else block_count_text(results))

    def _rename(self) -> None:
        """The name field was edited: rename the block (its type follows as the graph decides)."""
        self._apply(self.name_edit, lambda group, text: (text, None))

    def _retype(self) -> None:
        """The block type field was edited: change the type only, keeping the name."""
        self._apply(self.block_edit, lambda group, text: (group.name, text))

    def _apply(self, edit: QLineEdit, names: Callable[[Group, str], tuple[str, str | None]]) -> None:
        graph = self.document.graph
        if self.group_id not in graph.groups:
            return
        group = graph.group(self.group_id)
        text = edit.text().strip()
        if text == (group.name if edit is self.name_edit else group.block):
            return
        name, block = names(group, text)
        try:
            rename_group(self.document.undo_stack, graph, self.group_id, name, block)
        except GraphError as error:
            self.error_label.setText(str(error))
            edit.setText(group.name if edit is self.name_edit else group.block)
            return
        self.error_label.setText("")
        self.refresh()


def _group(title: str, content: QWidget) -> QGroupBox:
    group = QGroupBox(title)
    layout = QVBoxLayout(group)
    layout.addWidget(content)
    return group


def node_values(spec: LayerSpec | None, node: Node) -> dict[str, Any]:
    """Every parameter's current value: the node's params over Keras' defaults."""
    return spec.full_params(node.params) if spec else dict(node.params)


# --------------------------------------------------------------------- view
class InspectorView(QWidget):
    """Edits the single selected node of `document`; shows a hint when none or several are selected."""

    expression_typed = Signal(str)  # a Lambda's expression the person typed, before it is committed

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.place_fix: Placement | None = None  # where a fix's layer goes (the window's canvas says)
        self.node_id: str | None = None
        self.form: NodeForm | None = None
        self.block_form: BlockForm | None = None
        self._gesture = 0
        self._placeholder = QLabel("Select one node to edit it.")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._scroll = vertical_scroll_area()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._placeholder)
        layout.addWidget(self._scroll)
        self._subscription = GraphSubscription(
            document,
            self,
            {
                "params_changed": self._params_changed,
                "node_renamed": self._node_renamed,
                "node_removed": self._node_removed,
                "outputs_changed": self._outputs_changed,
                "sharing_changed": self._sharing_changed,
                "group_changed": self._group_changed,
                "group_removed": self._group_changed,
            },
            on_replaced=self._graph_replaced,
        )
        document.selection_changed.connect(self._selection_changed)
        document.results_changed.connect(self._refresh_results)
        document.results_changed.connect(self._group_changed)
        document.catalog_changed.connect(self._rebuild)
        self._selection_changed(document.selection)

    # ------------------------------------------------------------ public API
    def show_node(self, node_id: str | None) -> None:
        """Edit `node_id` (None: nothing). The inspector follows the selection by itself."""
        if node_id is not None and node_id not in self.document.graph.nodes:
            node_id = None
        self.node_id = node_id
        self._gesture += 1
        self._rebuild()

    def editor(self, param: str) -> ParamEditor | None:
        """The editor of one parameter of the shown node."""
        row = self.form.params_section.rows.get(param) if self.form else None
        return row.editor if row else None

    def error_text(self, param: str) -> str:
        """The message shown beside a parameter ("" when none)."""
        row = self.form.params_section.rows.get(param) if self.form else None
        return (row.parse_error or row.engine_error) if row else ""

    # -------------------------------------------------------------- building
    def _rebuild(self) -> None:
        if self.form is not None:
            self._scroll.takeWidget()
            self.form.deleteLater()  # later: this may run inside one of its own signals
            self.form = None
        if self.node_id is not None and self.node_id in self.document.graph.nodes:
            self.form = NodeForm(self.document, self.node_id)
            self.form.params_section.edited.connect(self._push_param)
            self.form.params_section.finished.connect(self._field_finished)
            self.form.result_section.fix_requested.connect(self._apply_fix)
            self._scroll.setWidget(self.form)
            self._refresh_results()
        self._placeholder.setVisible(self.form is None and self.block_form is None)
        self._scroll.setVisible(self.form is not None)

    def _refresh_params(self) -> None:
        if self.form is None or self.node_id is None:
            return
        graph = self.document.graph
        spec = self.document.catalog.get(graph.node(self.node_id).type)
        if not self.form.params_section.refresh(node_values(spec, graph.layer_owner(self.node_id))):
            self._rebuild()

    def _refresh_results(self) -> None:
        if self.form is None or self.node_id is None:
            return
        node = self.document.graph.node(self.node_id)
        result = self.document.results.get(self.node_id)
        diagnostics = self.document.node_diagnostics(self.node_id)
        fixes = [d.fix for d in diagnostics if d.fix is not None and can_apply(self.document, d.fix)]
        self.form.result_section.refresh(node, result, diagnostics, fixes)
        self.form.params_section.set_engine_errors(dict(result.param_errors) if result is not None else {})

    # ------------------------------------------------------------ the model
    def _push_param(self, node_id: str, name: str, value: Any, merge: bool) -> None:
        graph = self.document.graph
        if node_id not in graph.nodes or graph.node(node_id).shares is not None:
            return
        params = {**graph.node(node_id).params, name: value}
        if params == graph.node(node_id).params:
            return
        try:
            graph.check_params(node_id, params)  # would remove a connected output port
        except GraphError as error:
            if self.form is not None:
                show_message(self.form.result_section.fix_error, str(error))
            self._refresh_params()  # the editor shows the value the node kept
            return
        spec = self.document.catalog.get(graph.node(node_id).type)
        param = spec.param(name) if spec is not None else None
        if param is not None and param.kind == EXPRESSION_KIND and isinstance(value, str):
            self.expression_typed.emit(value)  # the person's own code: trusted before it is analysed
        command = EditParam(graph, node_id, params, name, self._gesture if merge else None)
        self.document.undo_stack.push(command)

    def _apply_fix(self, fix: Fix) -> None:
        """Insert the layer a diagnostic suggests (one undo step); the selection moves to it."""
        try:
            apply_fix(self.document, fix, self.place_fix)
        except GraphError as error:
            if self.form is not None:
                show_message(self.form.result_section.fix_error, str(error))

    def _field_finished(self, _name: str) -> None:
        self._gesture += 1

    def _params_changed(self, node_id: str, _old: object = None, _new: object = None) -> None:
        if self.node_id is not None and node_id == self.document.graph.layer_owner(self.node_id).id:
            self._refresh_params()
            outputs = self.document.graph.node(self.node_id).ports.outputs
            if self.form is not None and len(self.form.output_section.check_boxes) != len(outputs):
                self._rebuild()  # the params changed the outputs (return_state): one row per output

    def _node_renamed(self, *_: object) -> None:
        if self.form is not None:
            self.form.name_section.refresh()

    def _node_removed(self, node: Node) -> None:
        if node.id == self.node_id:
            self.show_node(None)

    def _outputs_changed(self, *_: object) -> None:
        if self.form is not None:
            self.form.output_section.refresh()

    def _sharing_changed(self, node_id: str, _owner: object = None) -> None:
        if node_id == self.node_id:
            self._rebuild()

    def _selection_changed(self, node_ids: list[str]) -> None:
        chosen = node_ids[0] if len(node_ids) == 1 else None
        if chosen != self.node_id:
            self.show_node(chosen)
        groups = self.document.selected_groups
        self.show_block(groups[0] if not node_ids and len(groups) == 1 else None)
        count = len(node_ids) + len(groups)
        several = f"{count} items selected: select one to edit it."
        self._placeholder.setText(several if count > 1 else "Select one node to edit it.")

    def show_block(self, group_id: str | None) -> None:
        """Show a collapsed block's form (None: none)."""
        if self.block_form is not None and self.block_form.group_id == group_id:
            return
        if self.block_form is not None:
            self.block_form.hide()
            self.block_form.deleteLater()
            self.block_form = None
        if group_id is not None and group_id in self.document.graph.groups:
            self.block_form = BlockForm(self.document, group_id)
            layout = self.layout()
            if layout is not None:
                layout.addWidget(self.block_form)
        self._placeholder.setVisible(self.form is None and self.block_form is None)

    def _group_changed(self, *_: object) -> None:
        if self.block_form is None:
            return
        if self.block_form.group_id in self.document.graph.groups:
            self.block_form.refresh()
        else:
            self.show_block(None)

    def _graph_replaced(self) -> None:
        self.show_node(None)
