"""Python source for parameter values, layer constructors and layer calls.

Values are JSON (what a project file holds); they are written as Python
literals: `None`/`True`/`False`, stable float reprs, double-quoted strings,
and tuples where the parameter kind says Keras takes a tuple.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Mapping
from typing import Any

from designer.catalog.expressions import EXPRESSION_KIND, expression_problem, free_names, lambda_source
from designer.catalog.spec import LayerSpec, ParamSpec
from designer.codegen.errors import CodegenError
from designer.codegen.imports import Imports

TUPLE_KINDS = frozenset({"tuple", "shape", "ints"})  # what the engine passes as tuples too

# Keys of a nested layer's Keras config that generated code leaves out when they
# hold these values (an auto-generated name is never worth keeping).
_NESTED_DEFAULTS: dict[str, Any] = {"trainable": True, "dtype": "float32"}

# The parameters of an Input that a `keras.KerasTensor` takes too.
_SYMBOLIC_INPUT_PARAMS = ("dtype", "sparse")


def literal(value: Any, kind: str | None = None) -> str:
    """`value` (JSON) as a Python literal; lists become tuples for tuple kinds."""
    if kind in TUPLE_KINDS and isinstance(value, (list, tuple)):
        return _tuple(value, nested=True)
    return _literal(value)


def _literal(value: Any) -> str:
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_literal, value)) + "]"
    if isinstance(value, tuple):
        return _tuple(value, nested=False)
    if isinstance(value, Mapping):
        items = (f"{string(str(key))}: {_literal(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    raise CodegenError(
        f"Cannot write {value!r} ({type(value).__name__}) as Python: parameter values must be "
        "JSON (numbers, strings, booleans, null, lists and objects)."
    )


def _tuple(values: list[Any] | tuple[Any, ...], *, nested: bool) -> str:
    items = [
        _tuple(v, nested=True) if nested and isinstance(v, (list, tuple)) else _literal(v) for v in values
    ]
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"


def _float(value: float) -> str:
    if math.isnan(value):
        return 'float("nan")'
    if math.isinf(value):
        return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(value)


def string(text: str) -> str:
    """A double-quoted string literal (the quote style ruff format keeps)."""
    if '"' in text:
        return repr(text)
    return json.dumps(text, ensure_ascii=False)


class LayerWriter:
    """Writes layer constructor expressions for one generated module."""

    def __init__(self, catalog: Mapping[str, LayerSpec], imports: Imports) -> None:
        self.catalog = catalog
        self.imports = imports

    def constructor(self, spec: LayerSpec, params: Mapping[str, Any], name: str) -> str:
        """`layers.Dense(10, activation="relu", name="dense")`: parameters equal to
        Keras' defaults left out, a required first one positional."""
        callee = self.imports.layer_class(spec)
        constructor = spec.constructor_params(params)
        arguments = self.arguments(spec, {k: v for k, v in constructor.items() if k != "name"})
        arguments.append(f"name={string(name)}")
        return f"{callee}({', '.join(arguments)})"

    def input_constructor(self, spec: LayerSpec, params: Mapping[str, Any], name: str) -> str:
        """`keras.Input(shape=(8, 8, 1), name="image")`; dtype only when not float32."""
        values = spec.non_default_params({k: v for k, v in params.items() if k != "name"})
        arguments = [f"{key}={self.value(spec.param(key), value)}" for key, value in values.items()]
        arguments.append(f"name={string(name)}")
        return f"{self.imports.keras()}.Input({', '.join(arguments)})"

    def symbolic_input(self, spec: LayerSpec, params: Mapping[str, Any], shape: str) -> str:
        """`keras.KerasTensor(shape)`, the source `shape` its shape (batch axis included),
        with the Input's other parameters (dtype, sparse) where they are not the defaults."""
        kept = {k: v for k, v in params.items() if k in _SYMBOLIC_INPUT_PARAMS}
        values = spec.non_default_params(kept)
        arguments = [shape, *(f"{key}={self.value(spec.param(key), value)}" for key, value in values.items())]
        return f"{self.imports.keras()}.KerasTensor({', '.join(arguments)})"

    def arguments(self, spec: LayerSpec, params: Mapping[str, Any]) -> list[str]:
        values = spec.non_default_params(params)
        arguments = []
        positional = True
        for index, (key, value) in enumerate(values.items()):
            if not key.isidentifier():
                raise CodegenError(f"{spec.class_name} has a parameter {key!r}, which is not a Python name.")
            param = spec.param(key)
            positional = positional and _is_leading_required(spec, index, key)
            text = self.value(param, value)
            arguments.append(text if positional else f"{key}={text}")
        return arguments

    def value(self, param: ParamSpec | None, value: Any) -> str:
        if param is not None and param.kind == "layer":
            return self.layer_value(value)
        if param is not None and param.kind == EXPRESSION_KIND:
            return self.function_value(value)
        return literal(value, param.kind if param else None)

    def function_value(self, expression: Any) -> str:
        """A Lambda's expression as `lambda x: <expression>`; `keras` imported where it uses it."""
        problem = expression_problem(expression)
        if problem is not None:
            raise CodegenError(f"A Lambda's function: {problem}.")
        if "keras" in free_names(ast.parse(expression.strip(), mode="eval")):
            self.imports.keras()
        return lambda_source(expression)

    def layer_value(self, value: Any) -> str:
        """A nested layer ({"class_name", "config"}) as `layers.LSTM(8)`; a list of them as a list."""
        if isinstance(value, list):
            return "[" + ", ".join(map(self.layer_value, value)) + "]"
        if not is_serialized_layer(value):
            return literal(value)
        class_name = value["class_name"]
        spec = find_spec(self.catalog, class_name)
        if spec is None:
            raise CodegenError(
                f"The nested layer {class_name!r} is not in the catalog; expected a layer class "
                "name such as 'LSTM'."
            )
        config = nested_config(value.get("config") or {})
        callee = self.imports.layer_class(spec)
        return f"{callee}({', '.join(self.arguments(spec, config))})"


def is_serialized_layer(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("class_name"), str) and "config" in value


def _is_leading_required(spec: LayerSpec, index: int, key: str) -> bool:
    """Only a required first parameter is positional, as in Keras' own examples
    (`layers.Dense(64, activation="relu")`, `layers.Conv2D(32, kernel_size=3)`)."""
    return index == 0 and bool(spec.params) and spec.params[0].name == key and spec.params[0].required


def nested_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A nested layer's Keras config without its name and default bookkeeping keys."""
    kept = {}
    for key, item in config.items():
        item = _policy_name(item) if key == "dtype" else item
        if key == "name" or (key in _NESTED_DEFAULTS and item in (None, _NESTED_DEFAULTS[key])):
            continue
        kept[key] = item
    return kept


def _policy_name(value: Any) -> Any:
    """A serialized DTypePolicy as its name ("float32"); anything else unchanged."""
    if isinstance(value, Mapping) and value.get("class_name") == "DTypePolicy":
        return (value.get("config") or {}).get("name", value)
    return value


def find_spec(catalog: Mapping[str, LayerSpec], class_name: str) -> LayerSpec | None:
    """The spec keyed `class_name`, else the one whose class is called that."""
    spec = catalog.get(class_name)
    if spec is not None:
        return spec
    return next((s for s in catalog.values() if s.class_name == class_name), None)
