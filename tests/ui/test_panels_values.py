"""Parameter text <-> JSON values (Qt-free), and the Python highlighter's colouring."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QPlainTextEdit
from pytestqt.qtbot import QtBot

from designer.catalog.spec import ParamSpec
from designer.ui.panels.param_values import fits, format_value, parse_value
from designer.ui.panels.python_highlighter import PythonHighlighter

KERNEL = ParamSpec("kernel_size", "tuple", required=True, length=2)
SHAPE = ParamSpec("shape", "shape", required=True)
NOISE = ParamSpec("noise_shape", "shape", nullable=True)
AXES = ParamSpec("axes", "ints", nullable=True)
RATE = ParamSpec("rate", "float", required=True)
MAX_VALUE = ParamSpec("max_value", "float", nullable=True)
RANGE = ParamSpec("value_range", "any", default=[0, 255])
CELL = ParamSpec("cell", "layer", required=True)
EQUATION = ParamSpec("equation", "str", required=True)


@pytest.mark.parametrize(
    ("spec", "text", "value"),
    [
        (KERNEL, "3", 3),
        (KERNEL, "3, 3", [3, 3]),
        (KERNEL, "(5, 1)", [5, 1]),
        (KERNEL, "[2,2]", [2, 2]),
        (SHAPE, "(None, 8)", [None, 8]),
        (SHAPE, "8", [8]),
        (SHAPE, "8,", [8]),
        (SHAPE, "()", []),
        (SHAPE, "28, 28, 1", [28, 28, 1]),
        (SHAPE, "-1", [-1]),
        (NOISE, "", None),
        (NOISE, "None", None),
        (AXES, "1, 2", [1, 2]),
        (RATE, "0.5", 0.5),
        (RATE, "1e-3", 0.001),
        (MAX_VALUE, "None", None),
        (RANGE, "[0, 1]", [0, 1]),
        (RANGE, "(0, 1)", [0, 1]),
        (RANGE, "0.5", 0.5),
        (
            CELL,
            '{"class_name": "GRUCell", "config": {"units": 4}}',
            {"class_name": "GRUCell", "config": {"units": 4}},
        ),
        (EQUATION, "ab,bc->ac", "ab,bc->ac"),
    ],
)
def test_parse_value(spec: ParamSpec, text: str, value: Any) -> None:
    assert parse_value(spec, text) == value


@pytest.mark.parametrize(
    ("spec", "text", "message"),
    [
        (KERNEL, "(3, 3, 3)", "Expected 2 integers such as 3, 3; received 3."),
        (KERNEL, "3, x", "Expected integers separated by commas"),
        (KERNEL, "", "'kernel_size' needs a value"),
        (SHAPE, "x, 8", "Expected integers or None separated by commas"),
        (SHAPE, "", "Expected a shape such as 28, 28, 1"),
        (RATE, "half", "Expected a number such as 0.5"),
        (RATE, "nan", "Expected a finite number"),
        (RANGE, "relu", "quote text"),
        (CELL, '{"units": 4}', 'Expected a layer as {"class_name"'),
        (SHAPE, "1" + "0" * 400, "Expected a smaller value: an integer of about 401 digits is too large"),
        (KERNEL, "3, 12345678901234567890", "an integer of about 20 digits is too large"),
        (RANGE, "[" * 5000 + "]" * 5000, "Expected a JSON value"),
        (RANGE, "[" * 150 + "]" * 150, "Expected a smaller value: nested more than 100 levels deep"),
    ],
)
def test_parse_value_says_what_was_expected(spec: ParamSpec, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=None) as raised:
        parse_value(spec, text)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        (KERNEL, 3),
        (KERNEL, [3, 3]),
        (SHAPE, [None, 8]),
        (SHAPE, [8]),
        (SHAPE, []),
        (NOISE, None),
        (RANGE, [0, 255]),
    ],
)
def test_format_value_reads_back(spec: ParamSpec, value: Any) -> None:
    assert parse_value(spec, format_value(spec, value)) == value


def test_a_one_item_tuple_keeps_its_brackets() -> None:
    one = ParamSpec("kernel_size", "tuple", length=1)
    assert format_value(one, [3]) == "(3,)"
    assert parse_value(one, "(3,)") == [3]


def test_fits_sends_odd_values_to_the_json_editor() -> None:
    initializer = ParamSpec("kernel_initializer", "choice", choices=("zeros",), editable=True)
    assert fits(initializer, "zeros")
    assert not fits(initializer, {"class_name": "Constant", "config": {"value": 1}})
    assert not fits(ParamSpec("units", "int"), None)
    assert fits(ParamSpec("units", "int", nullable=True), None)
    assert not fits(ParamSpec("units", "int"), True)


def colour_at(document: QTextDocument, line: int, column: int) -> str:
    block = document.findBlockByNumber(line)
    for text_range in block.layout().formats():
        if text_range.start <= column < text_range.start + text_range.length:
            return text_range.format.foreground().color().name()
    return ""


def test_highlighter_tells_strings_comments_and_keywords_apart(qtbot: QtBot) -> None:
    editor = QPlainTextEdit()
    qtbot.addWidget(editor)
    document = editor.document()
    highlighter = PythonHighlighter(document)
    editor.setPlainText(
        'def f():\n    x = "# not a comment"  # a comment\n    """open\nstill string"""\n@keras.saving'
    )
    formats = {
        name: text_format.foreground().color().name() for name, text_format in highlighter.formats.items()
    }
    assert colour_at(document, 0, 0) == formats["keyword"]
    assert colour_at(document, 1, 10) == formats["string"]
    assert colour_at(document, 1, 32) == formats["comment"]
    assert colour_at(document, 3, 2) == formats["string"]
    assert colour_at(document, 4, 1) == formats["decorator"]


FUNCTION = ParamSpec("function", "expression", required=True, suggested="x")


def test_a_lambda_expression_is_text_checked_as_python_and_never_run() -> None:
    assert parse_value(FUNCTION, " keras.ops.mean(x, axis=-1) ") == "keras.ops.mean(x, axis=-1)"
    assert format_value(FUNCTION, "x * 2 + 1") == "x * 2 + 1" and fits(FUNCTION, "x * 2")
    with pytest.raises(ValueError, match="not a Python expression"):
        parse_value(FUNCTION, "x; import os")
    with pytest.raises(ValueError, match="uses os"):
        parse_value(FUNCTION, "os.getcwd()")
    with pytest.raises(ValueError, match="needs a value"):
        parse_value(FUNCTION, "")
