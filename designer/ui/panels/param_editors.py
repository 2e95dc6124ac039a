"""One editor widget per parameter kind, made from a `ParamSpec`.

An editor shows one JSON value and announces what the person does with it:
`edited(value, merge)` with a parsed value (`merge` is True for typing, whose
keystrokes fold into one undo step), `rejected(message)` when the text does
not parse, `finished()` when they leave the field. `set_value` shows a value
from the model without emitting anything, and leaves a field alone whose text
already means that value, so the cursor of someone typing does not jump.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QSpinBox, QWidget

from designer.catalog.spec import ParamSpec
from designer.ui.panels.narrow import narrow_combo, narrow_spin_box
from designer.ui.panels.param_values import DTYPES, NONE_TEXT, as_json_spec, fits, format_value, parse_value

INT_RANGE = (-(2**31), 2**31 - 1)


class ParamEditor(QWidget):
    """Base of the editors: a row of widgets editing the value of `spec`."""

    edited = Signal(object, bool)  # value, merge with the previous edit of this field
    rejected = Signal(str)  # the text does not parse: why
    finished = Signal()  # the person left the field

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.setToolTip(param_tooltip(spec))

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def is_valid(self) -> bool:
        """Whether the field shows a value (not text that fails to parse)."""
        return True


class IntEditor(ParamEditor):
    """A spin box; a "None" check box beside it when the parameter is nullable."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.spin_box = QSpinBox()
        self.spin_box.setRange(*INT_RANGE)
        narrow_spin_box(self.spin_box)
        self.spin_box.setToolTip(self.toolTip())
        self._layout.addWidget(self.spin_box, 1)
        self.spin_box.valueChanged.connect(lambda value: self.edited.emit(value, True))
        self.spin_box.editingFinished.connect(self.finished)
        self.none_box: QCheckBox | None = None
        if spec.nullable:
            self.none_box = QCheckBox(NONE_TEXT)
            self.none_box.setToolTip(f"Leave '{spec.name}' as None.")
            self._layout.addWidget(self.none_box)
            self.none_box.toggled.connect(self._none_toggled)

    def value(self) -> int | None:
        if self.none_box is not None and self.none_box.isChecked():
            return None
        return self.spin_box.value()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.spin_box):
            if value is not None and self.spin_box.value() != value:
                self.spin_box.setValue(int(value))
        if self.none_box is not None:
            with QSignalBlocker(self.none_box):
                self.none_box.setChecked(value is None)
        self.spin_box.setEnabled(value is not None)

    def _none_toggled(self, checked: bool) -> None:
        self.spin_box.setEnabled(not checked)
        self.edited.emit(self.value(), False)


class BoolEditor(ParamEditor):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.check_box = QCheckBox()
        self.check_box.setToolTip(self.toolTip())
        self._layout.addWidget(self.check_box)
        self._layout.addStretch(1)
        self.check_box.toggled.connect(lambda checked: self.edited.emit(checked, False))

    def value(self) -> bool:
        return self.check_box.isChecked()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.check_box):
            self.check_box.setChecked(bool(value))


class ChoiceEditor(ParamEditor):
    """A combo box of `choices` ("None" first when nullable); free text when `editable`."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None, choices: tuple[Any, ...] = ()) -> None:
        super().__init__(spec, parent)
        self.combo_box = narrow_combo(QComboBox())
        self.combo_box.setToolTip(self.toolTip())
        self.combo_box.setEditable(spec.editable)
        self.combo_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        if spec.nullable:
            self.combo_box.addItem(NONE_TEXT, None)
        for choice in choices or spec.choices:
            self.combo_box.addItem(str(choice), choice)
        self._value: Any = self.combo_box.currentData()
        self._layout.addWidget(self.combo_box, 1)
        self.combo_box.activated.connect(self._activated)
        line_edit = self.combo_box.lineEdit()  # an editable combo box has one
        if spec.editable and line_edit is not None:
            line_edit.editingFinished.connect(self._text_finished)

    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        self._value = value
        with QSignalBlocker(self.combo_box):
            index = self._index_of(value)
            if index < 0 and not self.spec.editable:
                self.combo_box.addItem(str(value), value)
                index = self.combo_box.count() - 1
            if index >= 0:
                self.combo_box.setCurrentIndex(index)
            else:
                self.combo_box.setEditText(format_value(self.spec, value))

    def _index_of(self, value: Any) -> int:
        for index in range(self.combo_box.count()):
            data = self.combo_box.itemData(index)
            if data == value and type(data) is type(value):
                return index
        return -1

    def _activated(self, index: int) -> None:
        self._commit(self.combo_box.itemData(index))

    def _text_finished(self) -> None:
        text = self.combo_box.currentText().strip()
        index = self.combo_box.findText(text)
        if index >= 0:
            self._commit(self.combo_box.itemData(index))
        else:
            try:
                self._commit(parse_value(self.spec, text))
            except ValueError as error:
                self.rejected.emit(str(error))
        self.finished.emit()

    def _commit(self, value: Any) -> None:
        if value != self._value or type(value) is not type(self._value):
            self._value = value
            self.edited.emit(value, False)


class TextEditor(ParamEditor):
    """A line edit whose text `parse_value` reads: tuples, shapes, numbers, text, JSON."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.line_edit = QLineEdit()
        self.line_edit.setToolTip(self.toolTip())
        self.line_edit.setPlaceholderText(_placeholder(spec))
        self._layout.addWidget(self.line_edit, 1)
        self.line_edit.textEdited.connect(self._text_edited)
        self.line_edit.editingFinished.connect(self.finished)

    def value(self) -> Any:
        return parse_value(self.spec, self.line_edit.text())

    def is_valid(self) -> bool:
        try:
            self.value()
        except ValueError:
            return False
        return True

    def set_value(self, value: Any) -> None:
        if self.is_valid() and _same(self.value(), value):
            return
        with QSignalBlocker(self.line_edit):
            self.line_edit.setText(format_value(self.spec, value))

    def _text_edited(self, text: str) -> None:
        try:
            value = parse_value(self.spec, text)
        except ValueError as error:
            self.rejected.emit(str(error))
            return
        self.edited.emit(value, True)


def make_editor(spec: ParamSpec, value: Any, parent: QWidget | None = None) -> ParamEditor:
    """The editor for `spec`, or a JSON editor when `value` does not fit its kind."""
    if not fits(spec, value):
        spec = as_json_spec(spec)
    if spec.kind == "int":
        editor: ParamEditor = IntEditor(spec, parent)
    elif spec.kind == "bool":
        editor = BoolEditor(spec, parent)
    elif spec.kind == "choice":
        editor = ChoiceEditor(spec, parent)
    elif spec.kind == "dtype":
        editor = ChoiceEditor(_editable(spec), parent, DTYPES)
    else:
        editor = TextEditor(spec, parent)
    editor.set_value(value)
    return editor


def _editable(spec: ParamSpec) -> ParamSpec:
    return ParamSpec(**{**spec.to_dict(), "choices": tuple(spec.choices), "editable": True})


def _same(left: Any, right: Any) -> bool:
    """JSON equality: lists and tuples alike, but True is not 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(map(_same, left, right))
    return bool(left == right)


def _placeholder(spec: ParamSpec) -> str:
    examples = {
        "tuple": "3, 3",
        "shape": "None, 8",
        "ints": "1, 2",
        "any": "JSON",
        "layer": '{"class_name": ...}',
    }
    example = examples.get(spec.kind, "")
    return (
        f"{NONE_TEXT} ({example})" if spec.nullable and example else NONE_TEXT if spec.nullable else example
    )


def param_tooltip(spec: ParamSpec) -> str:
    """The docstring text of a parameter, with its Keras default, as wrapping rich text."""
    parts = [f"<b>{html.escape(spec.name)}</b>"]
    if spec.doc:
        parts.append(html.escape(spec.doc))
    if not spec.required:
        parts.append(f"<i>Default: {html.escape(format_value(spec, spec.default) or NONE_TEXT)}</i>")
    return "<p>" + "<br>".join(parts) + "</p>"
