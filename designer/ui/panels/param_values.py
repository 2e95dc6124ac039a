"""Parameter values as text: parsing what people type into JSON values, and back.

Qt-free. `parse_value(spec, text)` returns the JSON value a `ParamSpec` of that
kind holds (lists for tuples) or raises `ValueError` with a message that says
what was expected and what was received; `format_value` is its inverse;
`fits(spec, value)` says whether the kind's own editor can show a value (a
value that does not fit is edited as JSON instead).
"""

from __future__ import annotations

import ast
import json
from typing import Any

from designer.catalog.expressions import EXPRESSION_KIND, expression_problem
from designer.catalog.spec import ParamSpec
from designer.graph import project
from designer.graph.errors import ProjectError

NONE_TEXT = "None"
DTYPES = (
    "float32",
    "float16",
    "bfloat16",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "string",
    "complex64",
    "complex128",
)
SEQUENCE_KINDS = ("tuple", "shape", "ints")
JSON_KINDS = ("any", "layer")


# ------------------------------------------------------------------- parsing
def parse_value(spec: ParamSpec, text: str) -> Any:
    """The value `text` means for `spec`; raises ValueError saying what is wrong."""
    stripped = text.strip()
    if stripped in ("", NONE_TEXT) and spec.kind != "str":
        return _empty_value(spec, stripped)
    value = _PARSERS.get(spec.kind, _parse_json)(spec, stripped)
    try:
        project.check_limits(value)  # what a project file may hold, so that the design reopens
    except ProjectError as error:
        raise ValueError(f"Expected a smaller value: {error.problem}; received {_shortened(text)}.") from None
    return value


def _shortened(text: str, limit: int = 40) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"… ({len(text):,} characters)"


def _empty_value(spec: ParamSpec, text: str) -> Any:
    if spec.nullable:
        return None
    if spec.kind == "shape" and text == "":
        raise ValueError("Expected a shape such as 28, 28, 1 (None for an unknown size); received nothing.")
    raise ValueError(f"'{spec.name}' needs a value; None is not accepted.")


def _parse_int(spec: ParamSpec, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"Expected an integer such as 8; received {text!r}.") from None


def _parse_float(spec: ParamSpec, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"Expected a number such as 0.5 or 1e-3; received {text!r}.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"Expected a finite number; received {text!r}.")
    return number


def _parse_str(spec: ParamSpec, text: str) -> str | None:
    if spec.nullable and text in ("", NONE_TEXT):
        return None
    return text


def _parse_tuple(spec: ParamSpec, text: str) -> int | list[int]:
    """'3' (Keras repeats it), '3, 3' or '(3, 3)': ints, `spec.length` of them."""
    items = _sequence_items(text, allow_none=False, example="3, 3")
    if len(items) == 1 and not _bracketed(text):
        return items[0]  # type: ignore[return-value]
    if spec.length is not None and len(items) != spec.length:
        example = ", ".join(["3"] * spec.length)
        raise ValueError(f"Expected {spec.length} integers such as {example}; received {len(items)}.")
    return items  # type: ignore[return-value]


def _parse_shape(spec: ParamSpec, text: str) -> list[int | None]:
    """'28, 28, 1', '(None, 8)', '8' or '()': integers or None (Keras judges the sizes: Reshape takes -1)."""
    return _sequence_items(text, allow_none=True, example="None, 8")


def _parse_ints(spec: ParamSpec, text: str) -> list[int]:
    return _sequence_items(text, allow_none=False, example="1, 2")  # type: ignore[return-value]


def _sequence_items(text: str, allow_none: bool, example: str) -> list[int | None]:
    inner = text[1:-1] if _bracketed(text) else text
    parts = [part.strip() for part in inner.split(",")]
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()  # a trailing comma: "8," or "(8,)"
    if parts == [""]:
        return []
    return [_sequence_item(part, allow_none, example, text) for part in parts]


def _sequence_item(part: str, allow_none: bool, example: str, text: str) -> int | None:
    if allow_none and part == NONE_TEXT:
        return None
    try:
        return int(part)
    except ValueError:
        what = "integers or None" if allow_none else "integers"
        raise ValueError(
            f"Expected {what} separated by commas, such as {example}; received {text!r}."
        ) from None


def _bracketed(text: str) -> bool:
    return len(text) >= 2 and text[0] + text[-1] in ("()", "[]")


def _parse_json(spec: ParamSpec, text: str) -> Any:
    """A JSON value, or a Python literal (tuples become lists, True/None are accepted)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = _python_literal(text)
    value = _as_json(value)
    if spec.kind == "layer":
        _check_layer_config(value)
    return value


def _python_literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(
            f'Expected a JSON value such as 0.5, [0, 255] or "text" (quote text); received {text!r}.'
        ) from None


def _as_json(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_as_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _as_json(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"Expected a JSON value; received a {type(value).__name__}.")


def _check_layer_config(value: Any) -> None:
    configs = value if isinstance(value, list) else [value]
    for config in configs:
        if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
            raise ValueError(
                'Expected a layer as {"class_name": "LSTM", "config": {"units": 8}} (or a list of them); '
                f"received {json.dumps(config)}."
            )


def _parse_expression(spec: ParamSpec, text: str) -> str:
    """A Lambda's function: one Python expression of x, kept as the text typed (never run here)."""
    problem = expression_problem(text)
    if problem is not None:
        raise ValueError(f"{problem[0].upper()}{problem[1:]}.")
    return text


_PARSERS = {
    EXPRESSION_KIND: _parse_expression,
    "int": _parse_int,
    "float": _parse_float,
    "str": _parse_str,
    "tuple": _parse_tuple,
    "shape": _parse_shape,
    "ints": _parse_ints,
    "dtype": _parse_str,
    "choice": _parse_str,
}


# ---------------------------------------------------------------- formatting
def format_value(spec: ParamSpec, value: Any) -> str:
    """The text `parse_value(spec, ...)` reads back as `value`."""
    if value is None:
        return "" if spec.kind in SEQUENCE_KINDS or spec.kind in JSON_KINDS else NONE_TEXT
    if spec.kind in SEQUENCE_KINDS and isinstance(value, (list, tuple)):
        return _format_sequence(spec, value)
    if spec.kind in ("str", "dtype", "choice", EXPRESSION_KIND) and isinstance(value, str):
        return value
    if spec.kind in ("int", "float") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return json.dumps(value)


def _format_sequence(spec: ParamSpec, value: list[Any] | tuple[Any, ...]) -> str:
    inner = ", ".join(NONE_TEXT if item is None else str(item) for item in value)
    if len(value) == 1 and spec.kind == "tuple":
        return f"({inner},)"  # a bare "3" would mean "repeat 3"
    return inner if value else "()"


# --------------------------------------------------------------------- fits
def fits(spec: ParamSpec, value: Any) -> bool:
    """Whether the editor made for `spec.kind` can show `value` faithfully."""
    if value is None:
        return spec.nullable or spec.kind in SEQUENCE_KINDS or spec.kind in JSON_KINDS
    checks = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        EXPRESSION_KIND: lambda v: isinstance(v, str),
        "dtype": lambda v: isinstance(v, str),
        "choice": lambda v: isinstance(v, str) or v in spec.choices,
        "tuple": lambda v: _is_int(v) or _all(v, _is_int),
        "shape": lambda v: _all(v, lambda item: item is None or _is_int(item)),
        "ints": lambda v: _all(v, _is_int),
    }
    check = checks.get(spec.kind)
    return True if check is None else bool(check(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _all(value: Any, check: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(check(item) for item in value)


def as_json_spec(spec: ParamSpec) -> ParamSpec:
    """The same parameter edited as a JSON value (for values its own editor cannot show)."""
    return ParamSpec(
        spec.name, "any", default=spec.default, required=spec.required, nullable=True, doc=spec.doc
    )
