"""What can be placed on the canvas, as plain frozen data (no Keras, no Qt).

A `LayerSpec` describes one layer class: where it is imported from, its
parameters (`ParamSpec`), its ports and how its `call` behaves. Specs are built
from Keras by introspection (`keras_layers.py`) or from the user's modules
(`user_modules.py`) in the engine process, and travel to the GUI and codegen as
JSON (`Catalog.to_dict`), so nothing here may import Keras.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from designer.graph.errors import ProjectError
from designer.graph.model import INPUT_PORTS, INPUT_TYPE, PortLayout

IMPORTED_SPECS_KEY = "imported_specs"  # a project's specs made by an import (keras.ops nodes, ...)
# The format of the catalog's disk cache and shipped snapshots (keras_layers writes them, the GUI
# reads them without Keras): bump when the specs keras_layers makes change for the same Keras.
CATALOG_CACHE_FORMAT = 4  # 2: the catalog carries its aliases; 3: optional ports, output rules; 4: Lambda


PROJECT_SOURCE = "project"  # a spec a project file carries for a class outside Keras


def is_keras_spec(spec: LayerSpec) -> bool:
    """Whether a spec names a class of Keras itself. A project file is data: building a node
    imports the spec's module and calls its class, so the specs a file carries for any other
    module get source PROJECT_SOURCE, and the engine builds them only once that module has
    been imported by other means (its custom-layer file loaded with consent, or the import
    that made the design in this session); until then their nodes keep their ports and
    params and say what to load."""
    return spec.module == "keras" or spec.module.startswith("keras.")


# Parameter kinds. "choice" has `choices` (and may be free text when `editable`).
PARAM_KINDS = (
    "int",
    "float",
    "bool",
    "str",
    "choice",
    "tuple",  # a tuple of ints (`length` items) or a single int that Keras expands
    "shape",  # a tuple of ints or None, any length (Input shape, Reshape target)
    "ints",  # a list of ints of any length (axes, dims)
    "dtype",
    "any",  # a JSON value taken as it is
    "layer",  # a nested layer {"class_name": ..., "config": {...}}, or a list of them
    "expression",  # Python code: an expression of x, a Lambda's function (catalog.expressions)
)

# How a layer's call takes the tensors of its input ports.
CALL_CONVENTIONS = (
    "single",  # one tensor: layer(x)
    "positional",  # one positional argument per port: layer(query, value)
    "list",  # all ports as one list: layer([a, b])
)


@dataclass(frozen=True)
class ParamSpec:
    """One constructor parameter of a layer.

    `default` is Keras' default (a JSON value). `required` parameters have no
    default; `suggested` is the value a new node starts with. `nullable`
    parameters accept None. `doc` is the docstring's Args text. A `call`
    parameter is an argument of the layer's call, not of its constructor
    (MultiHeadAttention's `return_attention_scores`).
    """

    name: str
    kind: str
    default: Any = None
    required: bool = False
    nullable: bool = False
    choices: tuple[Any, ...] = ()
    editable: bool = False
    length: int | None = None
    suggested: Any = None
    doc: str = ""
    call: bool = False

    def initial_value(self) -> Any:
        return self.suggested if self.required else self.default

    def to_dict(self) -> dict[str, Any]:
        data = {
            "name": self.name,
            "kind": self.kind,
            "default": self.default,
            "required": self.required,
            "nullable": self.nullable,
            "choices": list(self.choices),
            "editable": self.editable,
            "length": self.length,
            "suggested": self.suggested,
            "doc": self.doc,
        }
        if self.call:
            data["call"] = True
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParamSpec:
        return cls(**{**data, "choices": tuple(data.get("choices", ()))})


@dataclass(frozen=True)
class LayerSpec:
    """One layer class as the designer sees it.

    `key` identifies the spec in project files: the class name for Keras layers,
    "module.Class" for layers from other modules. `module` and `class_name` say
    how generated code imports it (`keras.layers` for built-ins).
    """

    key: str
    class_name: str
    module: str
    category: str
    params: tuple[ParamSpec, ...] = ()
    ports: PortLayout = field(default_factory=PortLayout)
    doc: str = ""
    summary: str = ""
    source: str = "keras"  # "keras", "library" (layers/), "user"
    call_training: bool = False  # call(...) accepts `training`
    call_mask: bool = False  # call(...) accepts `mask`
    file: str | None = None  # the .py file of a custom layer
    call_convention: str = "positional"  # one of CALL_CONVENTIONS

    @property
    def is_input(self) -> bool:
        return self.key == INPUT_TYPE

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def initial_params(self) -> dict[str, Any]:
        """The params a new node starts with: required ones at their suggested value."""
        return {p.name: p.suggested for p in self.params if p.required}

    def full_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter's value: the given ones over the defaults."""
        return {**{p.name: p.default for p in self.params if not p.required}, **params}

    def call_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The given params that are arguments of the call, not the constructor, without
        those equal to Keras' default."""
        names = {p.name for p in self.params if p.call}
        return {k: v for k, v in self.non_default_params(params).items() if k in names}

    def constructor_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The given params without the call's."""
        names = {p.name for p in self.params if p.call}
        return {k: v for k, v in params.items() if k not in names}

    def non_default_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The given params without those equal to Keras' default, in spec order."""
        known = {p.name: p for p in self.params}
        kept = {}
        for name in [p.name for p in self.params] + [n for n in params if n not in known]:
            if name not in params:
                continue
            spec = known.get(name)
            if spec is not None and not spec.required and _same_value(params[name], spec.default):
                continue
            kept[name] = params[name]
        return kept

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "class_name": self.class_name,
            "module": self.module,
            "category": self.category,
            "params": [p.to_dict() for p in self.params],
            "ports": self.ports.to_dict(),
            "doc": self.doc,
            "summary": self.summary,
            "source": self.source,
            "call_training": self.call_training,
            "call_mask": self.call_mask,
            "file": self.file,
            "call_convention": self.call_convention,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LayerSpec:
        return cls(
            **{
                **data,
                "params": tuple(ParamSpec.from_dict(p) for p in data["params"]),
                "ports": PortLayout.from_dict(data["ports"]),
            }
        )


def _same_value(value: Any, default: Any) -> bool:
    """Equality that treats JSON lists and tuples alike, and 1 == 1.0 but not True == 1."""
    if isinstance(value, bool) or isinstance(default, bool):
        return type(value) is type(default) and value == default
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return len(value) == len(default) and all(map(_same_value, value, default))
    return value == default


INPUT_SPEC = LayerSpec(
    key=INPUT_TYPE,
    class_name="Input",
    module="keras",
    category="core",
    params=(
        ParamSpec(
            "shape",
            "shape",
            required=True,
            suggested=[8],
            doc="Shape without the batch axis; None for unknown.",
        ),
        ParamSpec("dtype", "dtype", default="float32", doc="The tensor's dtype."),
        ParamSpec("sparse", "bool", default=False, doc="Whether the input is a sparse tensor."),
    ),
    ports=INPUT_PORTS,
    doc="A symbolic model input (keras.Input).",
    summary="A model input.",
)


class Catalog(Mapping[str, LayerSpec]):
    """Layer specs by key, in a stable order, grouped by category.

    `aliases` maps the other names Keras exports a class under to its key (MaxPool2D ->
    MaxPooling2D). They are not keys: reading a project turns them into keys (`canonical_key`).
    """

    def __init__(
        self,
        specs: Mapping[str, LayerSpec] | Iterable[LayerSpec] = (),
        version: str = "",
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        items = specs.values() if isinstance(specs, Mapping) else specs
        self._specs: dict[str, LayerSpec] = {s.key: s for s in items}
        self._specs.setdefault(INPUT_TYPE, INPUT_SPEC)
        self.version = version
        self.aliases: dict[str, str] = dict(sorted((aliases or {}).items()))

    def __getitem__(self, key: str) -> LayerSpec:
        return self._specs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def categories(self) -> dict[str, list[LayerSpec]]:
        grouped: dict[str, list[LayerSpec]] = {}
        for spec in sorted(self._specs.values(), key=lambda s: (s.category, s.key)):
            grouped.setdefault(spec.category, []).append(spec)
        return grouped

    def ports_of(self, key: str) -> PortLayout | None:
        """The port layout of a layer key, None if unknown (project loading uses this)."""
        spec = self._specs.get(key)
        return spec.ports if spec else None

    def canonical_key(self, key: str) -> str:
        """The key a layer type is kept under: `key` itself, or the key its alias stands for."""
        return key if key in self._specs else self.aliases.get(key, key)

    def merged(self, specs: list[LayerSpec]) -> Catalog:
        return Catalog([*self._specs.values(), *specs], self.version, self.aliases)

    def with_project_specs(self, data: Any, file: str | None = None) -> Catalog:
        """This catalog plus the specs a project file carries (an import's keras.ops nodes and
        registered classes, under IMPORTED_SPECS_KEY); itself when they add nothing new.
        A malformed spec is a ProjectError at its JSON path in `file`."""
        specs = data.get(IMPORTED_SPECS_KEY) if isinstance(data, Mapping) else None
        if specs is None:
            return self
        if not isinstance(specs, list):
            raise ProjectError("expected a list of layer specs", f"$.{IMPORTED_SPECS_KEY}", file)
        made = [
            imported_spec(spec, f"$.{IMPORTED_SPECS_KEY}[{index}]", file) for index, spec in enumerate(specs)
        ]
        new = [
            spec if is_keras_spec(spec) else replace(spec, source=PROJECT_SOURCE)
            for spec in made
            if spec.key not in self._specs
        ]
        return self.merged(new) if new else self

    def to_dict(self) -> dict[str, Any]:
        specs = [s.to_dict() for s in self._specs.values()]
        return {"version": self.version, "specs": specs, "aliases": dict(self.aliases)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        specs = [LayerSpec.from_dict(s) for s in data["specs"]]
        return cls(specs, data.get("version", ""), dict(data.get("aliases", {})))


# --------------------------------------------------------- specs in a project file
SPEC_TEXT_FIELDS = ("key", "class_name", "module", "category")
PORT_FIELDS: dict[str, type] = {"inputs": list, "outputs": list, "variadic": bool, "min_inputs": int}


def imported_spec(data: Any, path: str, file: str | None) -> LayerSpec:
    """A LayerSpec from a project file's imported spec, checked field by field: every problem
    is a ProjectError at its JSON path, so a damaged file never reaches the catalog."""
    if not isinstance(data, Mapping):
        raise ProjectError("expected a layer spec object", path, file)
    for name in (*SPEC_TEXT_FIELDS, "params", "ports"):
        if name not in data:
            raise ProjectError(f"missing key '{name}'", f"{path}.{name}", file)
    for name in SPEC_TEXT_FIELDS:
        _check_type(data[name], str, f"{path}.{name}", file)
    _check_type(data["params"], list, f"{path}.params", file)
    for index, param in enumerate(data["params"]):
        _check_param(param, f"{path}.params[{index}]", file)
    _check_ports(data["ports"], f"{path}.ports", file)
    try:
        return LayerSpec.from_dict(data)
    except (TypeError, ValueError) as error:
        raise ProjectError(f"not a layer spec: {error}", path, file) from None


def _check_param(data: Any, path: str, file: str | None) -> None:
    _check_type(data, Mapping, path, file)
    for name in ("name", "kind"):
        _check_type(data.get(name), str, f"{path}.{name}", file)
    if data["kind"] not in PARAM_KINDS:
        raise ProjectError(f"unknown parameter kind '{data['kind']}'", f"{path}.kind", file)
    if not isinstance(data.get("choices", []), list):
        raise ProjectError("expected a list", f"{path}.choices", file)


def _check_ports(data: Any, path: str, file: str | None) -> None:
    _check_type(data, Mapping, path, file)
    for name, kind in PORT_FIELDS.items():
        _check_type(data.get(name), kind, f"{path}.{name}", file)
    for name in ("inputs", "outputs", "optional"):
        _check_type(data.get(name, []), list, f"{path}.{name}", file)
        for index, port in enumerate(data.get(name, [])):
            _check_type(port, str, f"{path}.{name}[{index}]", file)
    _check_type(data.get("output_rules", []), list, f"{path}.output_rules", file)
    for index, rule in enumerate(data.get("output_rules", [])):
        _check_output_rule(rule, f"{path}.output_rules[{index}]", file)


def _check_output_rule(data: Any, path: str, file: str | None) -> None:
    _check_type(data, Mapping, path, file)
    _check_type(data.get("when"), list, f"{path}.when", file)
    for index, condition in enumerate(data["when"]):
        if not (isinstance(condition, list) and len(condition) == 2 and isinstance(condition[0], str)):
            raise ProjectError("expected [param, value]", f"{path}.when[{index}]", file)
    _check_type(data.get("outputs"), list, f"{path}.outputs", file)
    for index, name in enumerate(data["outputs"]):
        _check_type(name, str, f"{path}.outputs[{index}]", file)


def _check_type(value: Any, kind: type, path: str, file: str | None) -> None:
    is_bool = isinstance(value, bool)
    if not isinstance(value, kind) or (is_bool and kind is not bool):
        expected = {str: "a string", list: "a list", bool: "true or false", int: "an integer"}
        raise ProjectError(f"expected {expected.get(kind, 'an object')}", path, file)
