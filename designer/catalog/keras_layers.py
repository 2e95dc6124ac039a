"""Layer specs for every public `keras.layers` class, found by introspection.

This module owns the bridge between Keras layer classes and the plain-data
`LayerSpec`s of `spec.py`: which classes are offered (no hand-kept class list),
each constructor parameter's kind, default and docstring text (from the
signature, the docstring's Args section and a small override table keyed by
parameter name), each layer's ports and call convention, the on-disk catalog
cache, and the way back: JSON params to a constructed layer, or to Keras' own
error message when the params are invalid.

`spec_from_class` works for any `keras.layers.Layer` subclass, so the specs of
layers from user modules are made the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import json
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
from keras.src.layers.merging.base_merge import Merge
from keras.src.utils.naming import to_snake_case

from designer.catalog.expressions import EXPRESSION_KIND, LAMBDA_KEY
from designer.catalog.lambda_layer import lambda_function, lambda_spec
from designer.catalog.spec import CATALOG_CACHE_FORMAT, PROJECT_SOURCE, Catalog, LayerSpec, ParamSpec
from designer.graph.model import MERGE_PORTS, OutputRule, PortLayout

KERAS_MODULE = "keras.layers"

# Public classes that cannot be placed as a node: abstract bases, the input
# layer (the catalog has its own Input spec). Lambda is offered with its own
# spec (`designer.catalog.lambda_layer`): its function is an expression of x.
EXCLUDED_CLASSES = frozenset({"Layer", "Wrapper", "InputLayer"})
_CATEGORY_OF_PACKAGE = {"rnn": "recurrent"}
_TWO_INPUT_MERGES = (keras.layers.Subtract, keras.layers.Dot)

_MISSING = inspect.Parameter.empty
_NOT_JSON = object()  # a default that has no JSON form


# ------------------------------------------------------------------ discovery
def public_layer_classes() -> dict[str, type]:
    """The placeable classes of `keras.layers` by class name, aliases folded."""
    found: dict[str, type] = {}
    for attribute in dir(keras.layers):
        candidate = getattr(keras.layers, attribute)
        if _is_placeable(candidate):
            found[candidate.__name__] = candidate
    return dict(sorted(found.items()))


def _is_placeable(candidate: Any) -> bool:
    return (
        inspect.isclass(candidate)
        and issubclass(candidate, keras.layers.Layer)
        and candidate.__name__ not in EXCLUDED_CLASSES
        and keras_category(candidate) is not None
        and not is_rnn_cell(candidate)
    )


def is_rnn_cell(cls: type) -> bool:
    """An RNN cell (LSTMCell, StackedRNNCells...) steps one timestep: `call(inputs, states)`
    takes and returns a list of states, which no port can carry. Cells go inside an RNN
    node as its `cell` parameter instead of on the canvas."""
    return "states" in _required_call_arguments(cls)


def keras_category(cls: type) -> str | None:
    """The category from Keras' own package (`keras.src.layers.<category>...`).

    None for classes outside `keras.src.layers` (the JAX, Flax, Torch and
    SavedModel wrappers) and for modules directly under it (the `Layer` base).
    """
    parts = cls.__module__.split(".")
    if parts[:3] != ["keras", "src", "layers"] or len(parts) < 5:
        return None
    return _CATEGORY_OF_PACKAGE.get(parts[3], parts[3])


def public_name(cls: type) -> str:
    """The name `keras.layers` offers a class under: its own if exported, else its first alias
    (GroupedQueryAttention is exported as GroupQueryAttention)."""
    if getattr(keras.layers, cls.__name__, None) is cls:
        return cls.__name__
    return next(name for name in sorted(dir(keras.layers)) if getattr(keras.layers, name) is cls)


def layer_aliases(classes: Mapping[str, type]) -> dict[str, str]:
    """The other names `keras.layers` exports these classes under, each to its class' key
    (MaxPool2D -> MaxPooling2D, Convolution2D -> Conv2D, GroupQueryAttention ->
    GroupedQueryAttention)."""
    keys = {cls: key for key, cls in classes.items()}
    exported = {name: getattr(keras.layers, name) for name in dir(keras.layers)}
    return {
        name: keys[candidate]
        for name, candidate in exported.items()
        if isinstance(candidate, type) and candidate in keys and name != keys[candidate]
    }


def build_catalog() -> Catalog:
    """Specs of every placeable `keras.layers` class, plus the Input spec; the classes' other
    exported names are the catalog's aliases."""
    classes = public_layer_classes()
    specs = [
        spec_from_class(
            cls,
            key=key,
            module=KERAS_MODULE,
            category=keras_category(cls) or "other",
            class_name=public_name(cls),
        )
        for key, cls in classes.items()
    ]
    specs = [lambda_spec(spec) if spec.key == LAMBDA_KEY else spec for spec in specs]
    return Catalog(specs, version=f"keras-{keras.__version__}", aliases=layer_aliases(classes))


# ----------------------------------------------------------- one layer class
def spec_from_class(
    cls: type,
    *,
    key: str,
    module: str,
    category: str,
    source: str = "keras",
    class_name: str | None = None,
) -> LayerSpec:
    """The spec of one Layer subclass, by introspection of its signature and docstring.

    `module` and `class_name` (by default the class' own name) say where generated
    code imports it from.
    """
    doc = inspect.getdoc(cls) or ""
    ports, convention = ports_of_class(cls)
    call_arguments = _call_parameters(cls)
    return LayerSpec(
        key=key,
        class_name=class_name or cls.__name__,
        module=module,
        category=category,
        params=tuple(_param_specs(cls)),
        ports=ports,
        doc=doc,
        summary=doc.strip().splitlines()[0].strip() if doc.strip() else "",
        source=source,
        call_training="training" in call_arguments,
        call_mask="mask" in call_arguments,
        call_convention=convention,
    )


def ports_of_class(cls: type) -> tuple[PortLayout, str]:
    """The ports of a layer class and how its tensors are passed ("single", "positional", "list")."""
    ports, convention = _fixed_ports_of_class(cls)
    if ports.variadic:
        return ports, convention
    optional = _optional_ports(cls)
    rules = _output_rules(cls)
    if not optional and not rules:
        return ports, convention
    return dataclasses.replace(ports, optional=optional, output_rules=rules), convention


def _fixed_ports_of_class(cls: type) -> tuple[PortLayout, str]:
    if issubclass(cls, Merge):
        if issubclass(cls, _TWO_INPUT_MERGES):
            return PortLayout(inputs=("x", "y"), min_inputs=2), "list"
        return MERGE_PORTS, "list"
    if issubclass(cls, (keras.layers.Attention, keras.layers.AdditiveAttention)):  # call([query, value])
        return PortLayout(inputs=("query", "value"), min_inputs=2), "list"
    if issubclass(cls, keras.layers.HashedCrossing):  # call((x, y)): crosses two features
        return PortLayout(inputs=("x", "y"), min_inputs=2), "list"
    required = _required_call_arguments(cls)
    if len(required) > 1:
        return PortLayout(inputs=tuple(required), min_inputs=len(required)), "positional"
    return PortLayout(), "single"


# The recurrent states of the RNN layers whose cell the class fixes, as their outputs are named.
_RNN_STATES: tuple[tuple[type, tuple[str, ...]], ...] = (
    (keras.layers.LSTM, ("state_h", "state_c")),
    (keras.layers.GRU, ("state",)),
    (keras.layers.SimpleRNN, ("state",)),
    (keras.layers.ConvLSTM1D, ("state_h", "state_c")),
    (keras.layers.ConvLSTM2D, ("state_h", "state_c")),
    (keras.layers.ConvLSTM3D, ("state_h", "state_c")),
)


def _rnn_states(cls: type) -> tuple[str, ...]:
    return next((states for base, states in _RNN_STATES if issubclass(cls, base)), ())


def _optional_ports(cls: type) -> tuple[str, ...]:
    """The optional tensor arguments of `call` (those defaulting to None but `training`), as ports.
    A list argument gets one port per item: an RNN's `initial_state` one per state (none where
    the states depend on the params: RNN's cell, Bidirectional's layer), Attention's `mask`
    [query_mask, value_mask]."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names: list[str] = []
    for parameter in list(_call_parameters(cls).values())[1:]:
        if parameter.kind not in positional or parameter.default is not None or parameter.name == "training":
            continue
        if parameter.name == "initial_state":
            names += [f"initial_state[{index}]" for index in range(len(_rnn_states(cls)))]
        elif parameter.name == "mask" and issubclass(
            cls, (keras.layers.Attention, keras.layers.AdditiveAttention)
        ):
            names += ["mask[0]", "mask[1]"]
        else:
            names.append(parameter.name)
    return tuple(names)


def _output_rules(cls: type) -> tuple[OutputRule, ...]:
    """The outputs that follow the params: an RNN's states with `return_state`, an attention
    layer's scores with `return_attention_scores`, a Bidirectional's forward and backward
    states when its layer returns them."""
    states = _rnn_states(cls)
    if states:
        return (OutputRule((("return_state", True),), states),)
    if "return_attention_scores" in _call_parameters(cls):
        return (OutputRule((("return_attention_scores", True),), ("attention_scores",)),)
    if not issubclass(cls, keras.layers.Bidirectional):
        return ()
    return tuple(
        OutputRule(
            (("layer.class_name", base.__name__), ("layer.config.return_state", True)),
            tuple(f"{direction}_{name}" for direction in ("forward", "backward") for name in names),
        )
        for base, names in _RNN_STATES
    )


def _call_parameters(cls: type[keras.layers.Layer]) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(cls.call).parameters)
    except (TypeError, ValueError):
        return {}


def _required_call_arguments(cls: type) -> list[str]:
    """The tensors `call` needs: positional parameters without default, but self, training, mask."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [
        parameter.name
        for parameter in list(_call_parameters(cls).values())[1:]
        if parameter.kind in positional
        and parameter.default is _MISSING
        and parameter.name not in ("training", "mask")
    ]


# ------------------------------------------------------------------ docstrings
_SECTION = re.compile(r"^(\s*)(Args|Arguments):\s*$")
_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(\([^)]*\))?:\s*(.*)$")


def parse_args_section(doc: str) -> dict[str, str]:
    """Argument texts of a Google/Keras style docstring's Args section, by name."""
    lines = doc.expandtabs().splitlines()
    start = next((index for index, line in enumerate(lines) if _SECTION.match(line)), None)
    if start is None:
        return {}
    section_indent = _indent(lines[start])
    texts: dict[str, list[str]] = {}
    item_indent: int | None = None
    current: str | None = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        if _indent(line) <= section_indent:
            break
        item_indent = _indent(line) if item_indent is None else item_indent
        match = _ITEM.match(line.strip())
        if _indent(line) == item_indent and match:
            current = match.group(1)
            texts[current] = [match.group(3)]
        elif current is not None:
            texts[current].append(line.strip())
    return {name: " ".join(part for part in parts if part) for name, parts in texts.items()}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _argument_docs(cls: type) -> dict[str, str]:
    """Args texts of the class, falling back to its bases for undocumented names."""
    docs: dict[str, str] = {}
    for klass in cls.__mro__:
        for name, text in parse_args_section(inspect.cleandoc(klass.__doc__ or "")).items():
            docs.setdefault(name, text)
    return docs


# ------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class _Parameter:
    """One constructor parameter as introspection sees it."""

    name: str
    default: Any  # _MISSING when required
    doc: str
    class_name: str

    @property
    def required(self) -> bool:
        return self.default is _MISSING or (self.default is None and self.name in _REQUIRED_IN_PRACTICE)


def _param_specs(cls: type) -> Iterator[ParamSpec]:
    docs = _argument_docs(cls)
    names = set()
    for parameter in _init_parameters(cls):
        doc = docs.get(parameter.name, "")
        spec = param_spec(_Parameter(parameter.name, parameter.default, doc, cls.__name__))
        if spec is not None:
            names.add(spec.name)
            yield spec
    yield from (spec for spec in _call_param_specs(cls) if spec.name not in names)


def _call_param_specs(cls: type) -> Iterator[ParamSpec]:
    """The switches of `call` (True/False arguments but `training`: MultiHeadAttention's
    `return_attention_scores`, `use_causal_mask`), as params passed to the call."""
    for parameter in list(_call_parameters(cls).values())[1:]:
        if isinstance(parameter.default, bool) and parameter.name != "training":
            doc = f"An argument of the layer's call: `{parameter.name}=True` or False."
            yield ParamSpec(parameter.name, "bool", default=parameter.default, doc=doc, call=True)


def _init_parameters(cls: type[keras.layers.Layer]) -> list[inspect.Parameter]:
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [parameter for parameter in parameters if parameter.kind not in variadic]


def param_spec(parameter: _Parameter) -> ParamSpec | None:
    """The spec of one parameter; None when it has no JSON form and is left out."""
    default = _json_default(parameter.default)
    if default is _NOT_JSON or parameter.name in _LEFT_OUT:
        return None
    fields = _kind_fields(parameter)
    suggested = _suggested(parameter, fields) if parameter.required else None
    nullable = fields.pop("nullable", False) or parameter.default is None
    return ParamSpec(
        name=parameter.name,
        default=None if parameter.required else default,
        required=parameter.required,
        nullable=nullable,
        suggested=suggested,
        doc=parameter.doc,
        **fields,
    )


def _json_default(value: Any) -> Any:
    """A default as JSON: tuples become lists, functions their name; else _NOT_JSON."""
    if value is _MISSING or value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else _NOT_JSON
    if isinstance(value, (tuple, list)):
        items = [_json_default(item) for item in value]
        return _NOT_JSON if any(item is _NOT_JSON for item in items) else items
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        entries = {key: _json_default(item) for key, item in value.items()}
        return _NOT_JSON if any(item is _NOT_JSON for item in entries.values()) else entries
    name = getattr(value, "__name__", None)
    return name if isinstance(name, str) else _NOT_JSON


def _kind_fields(parameter: _Parameter) -> dict[str, Any]:
    """kind (and choices, editable, length, nullable) by name, then by default, then by doc."""
    for rule in (_named_rule, _default_rule):
        fields = rule(parameter)
        if fields is not None:
            return fields
    return _doc_rule(parameter)


# The override table, keyed by parameter name (or its suffix).
_LEFT_OUT = frozenset({"name", "weights", "quantization_config", "input_tensor", "function"})
# Optional in the signature, but the layer cannot be made without them (CategoryEncoding,
# Discretization): a new node starts with a suggested value; None stays allowed.
_REQUIRED_IN_PRACTICE = frozenset({"num_tokens", "num_bins"})
_LAYER_NAMES = frozenset({"layer", "backward_layer", "cell", "cells", "layers"})
_SHAPE_NAMES = frozenset(
    {"target_shape", "output_shape", "noise_shape", "input_shape", "batch_shape", "shape"}
)
_INTS_NAMES = frozenset({"dims", "shared_axes", "attention_axes"})
_TUPLE_NAMES = frozenset(
    {
        "kernel_size",
        "strides",
        "pool_size",
        "dilation_rate",
        "size",
        "cropping",
        "padding",
        "output_padding",
        "output_size",
        "tile_grid_size",
    }
)
_ANY_NAMES = frozenset({"value_range", "scale_range"})
_STR_NAMES = frozenset({"equation", "bias_axes"})
_DATA_FORMATS = ("channels_last", "channels_first")
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")


def _named_rule(parameter: _Parameter) -> dict[str, Any] | None:
    name = parameter.name
    if name in ("activation", "recurrent_activation"):
        return _choice(activation_names(), parameter, editable=True, nullable=True)
    if name.endswith("_initializer"):
        return _choice(initializer_names(), parameter, editable=True)
    if name.endswith("_regularizer"):
        return _choice(regularizer_names(), parameter, nullable=True)
    if name.endswith("_constraint"):
        return _choice(constraint_names(), parameter, nullable=True)
    if name == "data_format":
        return _choice(_DATA_FORMATS, parameter, nullable=True)
    if name == "padding" and not isinstance(parameter.default, (int, tuple, list)):
        return _choice(_paddings(parameter.doc), parameter)
    if name == "interpolation":
        return _choice(_quoted_words(parameter.doc) or _INTERPOLATIONS, parameter, editable=True)
    return _shape_like_rule(parameter)


def _shape_like_rule(parameter: _Parameter) -> dict[str, Any] | None:
    name = parameter.name
    if name == "dtype" or name.endswith("_dtype"):
        return {"kind": "dtype"}
    if name in _LAYER_NAMES:
        return {"kind": "layer"}
    if name in _SHAPE_NAMES:
        return {"kind": "shape"}
    if name in _INTS_NAMES or (name in ("axis", "axes") and not isinstance(parameter.default, int)):
        return _axes_fields(parameter)
    if name in _TUPLE_NAMES:
        return _tuple_fields(parameter)
    if name in _ANY_NAMES:
        return {"kind": "any"}
    if name in _STR_NAMES:
        return {"kind": "str"}
    if name == "seed":
        return {"kind": "int"}
    return None


def _axes_fields(parameter: _Parameter) -> dict[str, Any]:
    if parameter.name == "axes":  # Dot: an int or one axis per input
        return {"kind": "tuple", "length": 2}
    return {"kind": "ints"}


def _tuple_fields(parameter: _Parameter) -> dict[str, Any]:
    """A window, stride or padding: a tuple of ints, unless its doc says a plain int."""
    default = parameter.default
    if isinstance(default, (tuple, list)):
        if any(isinstance(item, (tuple, list)) for item in default):
            return {"kind": "any"}  # ((top, bottom), (left, right)) and the like
        return {"kind": "tuple", "length": len(default)}
    if _looks_integer(parameter.doc) and not _mentions_sequence(parameter.doc):
        return {"kind": "int"}
    return {"kind": "tuple", "length": _tuple_length(parameter)}


def _tuple_length(parameter: _Parameter) -> int | None:
    """Items of a tuple parameter: the default's, the doc's "length N", the class' N-D, the doc's."""
    if isinstance(parameter.default, (tuple, list)):
        return len(parameter.default)
    explicit = re.search(r"length (\d)", parameter.doc)
    if explicit:
        return int(explicit.group(1))
    dimensions = re.search(r"(\d)D", parameter.class_name)
    if dimensions:
        return int(dimensions.group(1))
    counted = re.search(r"(?:tuple|list)\S* of (\d) int", parameter.doc)
    return int(counted.group(1)) if counted else None


def _default_rule(parameter: _Parameter) -> dict[str, Any] | None:
    default = parameter.default
    if isinstance(default, bool):
        return {"kind": "bool"}
    if isinstance(default, int):
        return {"kind": "int"}
    if isinstance(default, float):
        return {"kind": "float"}
    if isinstance(default, str):
        words = _quoted_words(parameter.doc)
        if default in words and len(words) > 1:
            return _choice(words, parameter, editable=True)
        return {"kind": "str"}
    if isinstance(default, (tuple, list)):
        flat_ints = all(isinstance(item, int) and not isinstance(item, bool) for item in default)
        return {"kind": "tuple", "length": len(default)} if flat_ints and default else {"kind": "any"}
    return None


_INT_NAME = re.compile(r"^num_|_dim$|_size$|_length$|_rank$|^max_(?!freq)|_heads$|_bins$|_tokens$|_window$")


def _doc_rule(parameter: _Parameter) -> dict[str, Any]:
    """Kind of a parameter without a typed default, from the doc's first sentence or its name."""
    sentence = _first_sentence(parameter.doc)
    integer = _looks_integer(parameter.doc)
    if _mentions_sequence(sentence):
        return _sequence_kind(parameter, sentence, integer)
    if integer:
        return {"kind": "int"}
    for word, kind in (("float", "float"), ("bool", "bool"), ("string", "str")):
        if re.search(rf"\b{word}", sentence):
            return {"kind": kind}
    if _INT_NAME.search(parameter.name):
        return {"kind": "int"}
    return {"kind": "any"}


def _sequence_kind(parameter: _Parameter, sentence: str, integer: bool) -> dict[str, Any]:
    if re.search(r"\bfloats?\b", sentence) or not integer:
        return {"kind": "any"}
    if sentence.startswith(("tuple", "list")):
        return {"kind": "ints"}
    return {"kind": "tuple", "length": _tuple_length(parameter)}


def _first_sentence(doc: str) -> str:
    return re.split(r"\.(?:\s|$)", doc.strip(), maxsplit=1)[0].lower()


def _looks_integer(doc: str) -> bool:
    return re.search(r"\b(int|ints|integer|integers)\b", _first_sentence(doc)) is not None


def _mentions_sequence(doc: str) -> bool:
    return re.search(r"\b(tuple|list)", _first_sentence(doc)) is not None


def _quoted_words(doc: str) -> tuple[str, ...]:
    """Distinct "word" literals a doc names, in order (the values it allows)."""
    return tuple(dict.fromkeys(re.findall(r"\"([A-Za-z][\w-]*)\"", doc)))


def _paddings(doc: str) -> tuple[str, ...]:
    return ("valid", "same", "causal") if "causal" in doc else ("valid", "same")


def _choice(
    choices: tuple[str, ...], parameter: _Parameter, *, editable: bool = False, nullable: bool = False
) -> dict[str, Any]:
    default = parameter.default
    extra = (default,) if isinstance(default, str) and default not in choices else ()
    return {"kind": "choice", "choices": (*choices, *extra), "editable": editable, "nullable": nullable}


# ------------------------------------------------------------ suggested values
_NESTED_DENSE = {"class_name": "Dense", "config": {"units": 8}}
_NESTED_LSTM = {"class_name": "LSTM", "config": {"units": 8}}
_NESTED_CELL = {"class_name": "LSTMCell", "config": {"units": 8}}

# The value a required parameter starts with, so a new node is valid.
_SUGGESTED: dict[str, Any] = {
    "units": 32,
    "filters": 32,
    "kernel_size": 3,
    "pool_size": 2,
    "output_size": 4,
    "rate": 0.5,
    "stddev": 0.1,
    "num_heads": 2,
    "key_dim": 16,
    "head_dim": 16,
    "num_query_heads": 4,
    "num_key_value_heads": 2,
    "input_dim": 1000,
    "output_dim": 64,
    "n": 2,
    "target_shape": [-1],
    "output_shape": [16],
    "dims": [2, 1],
    "axes": -1,
    "height": 64,
    "width": 64,
    "scale": 1 / 255,
    "num_bins": 16,
    "num_tokens": 10,
    "max_number": 10,
    "equation": "ab,bc->ac",
    "activation": "relu",
    "factor": 0.1,
    "height_factor": 0.1,
    "width_factor": 0.1,
    "cell": _NESTED_CELL,
    "cells": [_NESTED_CELL, _NESTED_CELL],
    "layers": [{"class_name": "Identity", "config": {}}],
}
_SUGGESTED_BY_KIND: dict[str, Any] = {
    "int": 8,
    "float": 0.1,
    "bool": False,
    "str": "",
    "tuple": 2,
    "shape": [-1],
    "ints": [1],
    "dtype": "float32",
    "layer": _NESTED_DENSE,
    "any": None,
}


def _suggested(parameter: _Parameter, fields: Mapping[str, Any]) -> Any:
    kind = fields["kind"]
    value = _SUGGESTED.get(parameter.name)
    if value is not None and _fits(value, kind):
        return value
    if kind == "layer" and "RNN" in parameter.doc:
        return _NESTED_LSTM
    if kind == "choice":
        return fields["choices"][0] if fields["choices"] else None
    return _SUGGESTED_BY_KIND.get(kind)


def _fits(value: Any, kind: str) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "tuple": lambda v: isinstance(v, (int, list)),
        "shape": lambda v: isinstance(v, list),
        "ints": lambda v: isinstance(v, list),
        "str": lambda v: isinstance(v, str),
        "choice": lambda v: isinstance(v, str),
        "layer": lambda v: isinstance(v, (dict, list)),
    }
    return checks.get(kind, lambda v: True)(value)


# ---------------------------------------------------------- Keras' own names
@functools.cache
def activation_names() -> tuple[str, ...]:
    skipped = {"get", "serialize", "deserialize"}
    return tuple(
        name
        for name in dir(keras.activations)
        if not name.startswith("_") and name not in skipped and callable(getattr(keras.activations, name))
    )


@functools.cache
def initializer_names() -> tuple[str, ...]:
    return _identifiers(keras.initializers, keras.initializers.Initializer)


@functools.cache
def regularizer_names() -> tuple[str, ...]:
    return _identifiers(keras.regularizers, keras.regularizers.Regularizer)


@functools.cache
def constraint_names() -> tuple[str, ...]:
    return _identifiers(keras.constraints, keras.constraints.Constraint)


def _identifiers(namespace: Any, base: type) -> tuple[str, ...]:
    """The string identifiers `namespace.get` accepts for its public classes ("glorot_uniform", "l1l2")."""
    classes = [
        getattr(namespace, name)
        for name in dir(namespace)
        if not name.startswith("_") and inspect.isclass(getattr(namespace, name))
    ]
    candidates = {to_snake_case(cls.__name__) for cls in classes if issubclass(cls, base) and cls is not base}
    return tuple(sorted(name for name in candidates if _accepted(namespace, name)))


def _accepted(namespace: Any, identifier: str) -> bool:
    try:
        namespace.get(identifier)
    except Exception:  # an identifier Keras cannot make without more arguments
        return False
    return True


# ----------------------------------------------------------------- the cache
def catalog_cache_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / f"catalog-keras-{keras.__version__}.json"


def load_or_build_catalog(cache_dir: Path) -> Catalog:
    """The catalog from the cache of this Keras version, built and stored when missing or stale."""
    path = catalog_cache_path(cache_dir)
    cached = _read_cached_catalog(path)
    if cached is not None:
        return cached
    catalog = build_catalog()
    _write_atomically(path, json.dumps({"format": CATALOG_CACHE_FORMAT, **catalog.to_dict()}))
    return catalog


def _read_cached_catalog(path: Path) -> Catalog | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != CATALOG_CACHE_FORMAT or data.get("version") != f"keras-{keras.__version__}":
            return None
        return Catalog.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ---------------------------------------------------- from a spec to a layer
def layer_class(spec: LayerSpec) -> type:
    """The class a spec describes (`keras.layers.InputLayer` for the Input spec)."""
    if spec.is_input:
        return keras.layers.InputLayer
    if spec.source == PROJECT_SOURCE and spec.module not in sys.modules:
        raise ImportError(
            f"{spec.class_name} comes from the module {spec.module}, which is not loaded: load the file "
            "that defines it (File > Load Custom Layers, or --layers) to use it."
        )
    found = getattr(importlib.import_module(spec.module), spec.class_name)
    if not (isinstance(found, type) and issubclass(found, keras.Operation)):  # a Layer is an Operation
        raise TypeError(f"{spec.module}.{spec.class_name} is not a Keras layer or operation class.")
    return found


def to_keras_kwargs(spec: LayerSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """JSON params as Keras takes them: tuples for tuple kinds, layers for layer kinds."""
    kwargs = {}
    for name, value in params.items():
        param = spec.param(name)
        kwargs[name] = _to_keras_value(param.kind, value) if param is not None else value
    return kwargs


def _to_keras_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("tuple", "shape", "ints"):
        return _as_tuples(value)
    if kind == "layer" and isinstance(value, list):
        return [_deserialize_layer(item) for item in value]
    if kind == "layer":
        return _deserialize_layer(value)
    if kind == EXPRESSION_KIND:
        return lambda_function(value)
    return value


def _as_tuples(value: Any) -> Any:
    return tuple(_as_tuples(item) for item in value) if isinstance(value, (list, tuple)) else value


def _deserialize_layer(value: Any) -> Any:
    """A nested layer from {"class_name": ..., "config": {...}}; built-ins need no "module"."""
    if not isinstance(value, Mapping):
        return value
    return keras.layers.deserialize(_with_module(value))


def _with_module(value: Any) -> Any:
    """A layer config with "module" set to keras.layers where it names none, nested layers too."""
    if isinstance(value, list):
        return [_with_module(item) for item in value]
    if not isinstance(value, Mapping) or "class_name" not in value:
        return value
    config = value.get("config")
    if isinstance(config, Mapping):
        config = {key: _with_module(item) if key in _LAYER_NAMES else item for key, item in config.items()}
    return {"module": KERAS_MODULE, **value, "config": config}


def construct(spec: LayerSpec, params: Mapping[str, Any], name: str | None = None) -> keras.layers.Layer:
    """The layer a node describes, constructed but not built (no weights); the params of its
    call are left for the call."""
    kwargs = to_keras_kwargs(spec, spec.constructor_params(params))
    if name is not None:
        kwargs["name"] = name
    return layer_class(spec)(**kwargs)


def check_params(spec: LayerSpec, params: Mapping[str, Any]) -> dict[str, str]:
    """Keras' own complaint about these params, keyed by the parameter it names ("" if none); {} if valid."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            construct(spec, params)
    except Exception as error:  # Keras raises ValueError, TypeError and others; the message is what counts
        message = str(error).strip() or type(error).__name__
        return {_param_named_in(message, spec, params): message}
    return {}


def _param_named_in(message: str, spec: LayerSpec, params: Mapping[str, Any]) -> str:
    """The parameter a message names first (`units`, units=, 'units'), else the one whose value it quotes."""
    names = list(dict.fromkeys([*params, *(param.name for param in spec.params)]))
    positions = {}
    for name in names:
        match = re.search(rf"`{re.escape(name)}`|\b{re.escape(name)}=|'{re.escape(name)}'", message)
        if match:
            positions[name] = match.start()
    if positions:
        return min(positions, key=positions.__getitem__)
    for name, value in params.items():
        if isinstance(value, str) and value and re.search(rf"(?<!\w){re.escape(value)}(?!\w)", message):
            return name
    return ""
