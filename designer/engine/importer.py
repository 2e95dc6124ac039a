"""Existing Keras models -> designs: a live model, a .keras file, a config JSON or `module:function`.

The walk reads the model's own config (`model.get_config()`): every layer call
in its "inbound_nodes" becomes a node, a second call of the same layer a node
that `shares` the first, an InputLayer an Input node, and a `keras.ops` call on
symbolic tensors a node of type "ops.<name>". Nested Functional and Sequential
models are expanded inline, their node names prefixed with the model's name,
and each is recorded as a group. Layers and operations the catalog does not
know (registered custom layers, keras.ops) get specs made on the fly, returned
in `ImportResult.extra_specs` for the caller to merge into its catalog.

Params are the layer's config reduced to the spec's parameters, made JSON, and
only those that differ from Keras' defaults are kept, so `construct(spec,
params)` gives back a layer with the same config. A `training=` call argument
is dropped, and so is a `mask=` that Keras computed itself (Embedding ->
LSTM): it computes it again when the design is built. What cannot be
represented (a subclassed model, a Lambda layer, a constant or any other
keyword argument in a call, an unregistered class) is refused with an
`ImportRefused` that says why and what to do instead.

Weights are written for the design as `build_model` (and the exported code)
builds it: a Keras `.weights.h5` file that `model.load_weights(path)` reads,
which also records which layer each entry belongs to, so that
`load_weights_by_name` can load it into an edited design.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import functools
import importlib
import importlib.util
import json
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np
from keras.src.models.functional import Functional
from keras.src.saving import saving_lib
from keras.src.utils.naming import to_snake_case

from designer.catalog.keras_layers import construct, layer_class, spec_from_class
from designer.catalog.spec import Catalog, LayerSpec
from designer.engine.build import build_model
from designer.graph import project
from designer.graph.errors import GraphError
from designer.graph.layout import layered_positions
from designer.graph.model import INPUT_PORTS, INPUT_TYPE, Edge, Group, ModelGraph, Node, is_valid_name

WEIGHTS_SUFFIX = ".weights.h5"
LAYER_PATHS_ATTRIBUTE = "designer_layer_paths"  # h5 root attribute: {layer name: path in the file}
PROJECT_WEIGHTS_KEY = "weights"  # project.extra key of the weights file, relative to the project
PROJECT_SPECS_KEY = "imported_specs"  # project.extra key of the specs made during the import
MODEL_FILE_SUFFIXES = (".keras", ".h5")

SUBCLASSED_MESSAGE = (
    "{name} is a subclassed keras.Model: Keras cannot describe its layers as a graph. "
    "Rebuild it with the Functional API, or import a function that returns a functional model."
)
_REGISTER_HINT = (
    "Decorate it with @keras.saving.register_keras_serializable() in a module and import that "
    "module before importing the model (or put the module in layers/)."
)
_SERIALIZABLE_MODULES = {
    "keras.initializers": keras.initializers,
    "keras.regularizers": keras.regularizers,
    "keras.constraints": keras.constraints,
}


class ImportRefused(GraphError):  # noqa: N818 - reads as what happened, like ExportRefused
    """The source cannot be imported as a design; the message says why and what to do instead."""


@dataclass(frozen=True)
class _Ref:
    """Output `port` of call number `call`; a class, so it is never taken for a config structure."""

    call: int
    port: int


@dataclass
class _Call:
    """One layer call found in the model; becomes one node."""

    type: str
    name: str  # the wanted node name, a Python identifier (empty for a sharing call)
    params: dict[str, Any]
    inputs: list[_Ref]
    owner: int | None = None  # the call whose layer this one calls again
    origin: str = ""  # the layer's path in the imported model: "encoder/dense"


@dataclass(frozen=True)
class _Scope:
    """Where a walk is: the name prefix of its nodes and the path of its layers."""

    prefix: str = ""
    path: str = ""

    def child(self, model_name: str) -> _Scope:
        return _Scope(f"{self.prefix}{identifier(model_name)}_", f"{self.path}{model_name}/")

    def node_name(self, layer_name: str) -> str:
        """The layer's name with the prefix, unless it starts with it already."""
        name = identifier(layer_name)
        return name if name.startswith(self.prefix) else f"{self.prefix}{name}"


@dataclass
class ImportResult:
    """A design made from a Keras model, with what the caller needs to use it.

    `extra_specs` are specs of layers and keras.ops the catalog lacked: merge
    them (`catalog(base)`). Each call of a nested model of the imported model
    is a group of the graph (a later call of the same model shares the first's
    weights); `groups` lists them as {"id", "name", "nodes"}. `origins` maps
    node names to the layer paths of the imported model ("encoder/dense"), for
    copying weights. `weights` is the weights file written, if any. `messages`
    are what the import changed or left out.
    """

    graph: ModelGraph
    extra_specs: list[LayerSpec] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    weights: str | None = None

    def catalog(self, base: Catalog) -> Catalog:
        """`base` with the specs made during the import."""
        return base.merged(self.extra_specs) if self.extra_specs else base

    def project(self, folder: Path | None = None) -> project.Project:
        """The design as a project; the weights path relative to `folder` (the project's) if given."""
        extra: dict[str, Any] = {}
        if self.weights is not None:
            extra[PROJECT_WEIGHTS_KEY] = _relative(Path(self.weights), folder)
        if self.extra_specs:
            extra[PROJECT_SPECS_KEY] = [spec.to_dict() for spec in self.extra_specs]
        return project.Project(graph=self.graph, extra=extra)


def _relative(path: Path, folder: Path | None) -> str:
    if folder is None:
        return str(path)
    try:
        return os.path.relpath(path.resolve(), folder.resolve())
    except ValueError:  # another drive on Windows
        return str(path.resolve())


# --------------------------------------------------------------------- sources
def import_source(source: str, catalog: Catalog, weights_dir: Path | None = None) -> ImportResult:
    """Import a .keras (or legacy .h5) file, a .json model config, or `module:function`
    (`path/to/file.py:function` too); weights go to `weights_dir` when given."""
    model = load_source(source)
    return import_model(model, catalog, weights_dir=weights_dir)


def load_source(source: str) -> keras.Model:
    """The Keras model a source names, or an ImportRefused saying what is wrong with it."""
    suffix = Path(source).suffix.lower()
    if suffix in MODEL_FILE_SUFFIXES:
        return _load_model_file(Path(source))
    if suffix == ".json":
        return _load_json(Path(source))
    if ":" in source:
        return _load_attribute(source)
    raise ImportRefused(
        f"Cannot import {source!r}: expected a .keras file, a .json model config "
        "(model.to_json() or model.get_config()), or module:function."
    )


def _load_model_file(path: Path) -> keras.Model:
    _require_file(path)
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise ImportRefused(
            f"{path} is not a Keras model file: a .keras file is a zip archive written by model.save()."
        )
    return _deserialized(path, lambda: keras.saving.load_model(path, compile=False, safe_mode=True))


def _load_json(path: Path) -> keras.Model:
    _require_file(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ImportRefused(f"{path} is not a JSON file: {error}.") from None
    return _deserialized(path, lambda: model_from_config_data(data, str(path)))


def model_from_config_data(data: Any, where: str = "the config") -> keras.Model:
    """A model from `model.to_json()` data ({"class_name", "config"}) or `model.get_config()` data."""
    if isinstance(data, dict) and isinstance(data.get("class_name"), str) and "config" in data:
        model = keras.saving.deserialize_keras_object(data, safe_mode=True)
    elif isinstance(data, dict) and isinstance(data.get("layers"), list):
        model_class = keras.Model if "input_layers" in data else keras.Sequential
        model = model_class.from_config(data)
    else:
        raise ImportRefused(
            f"{where} is not a Keras model config: expected the output of model.to_json() "
            '({"class_name": ..., "config": ...}) or of model.get_config() ({"layers": [...], ...}).'
        )
    if not isinstance(model, keras.Model):
        raise ImportRefused(f"{where} describes a {type(model).__name__}, not a keras.Model.")
    return model


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file.")


def _deserialized(path: Path, load: Callable[[], keras.Model]) -> keras.Model:
    """Run a Keras load; its errors become ImportRefused naming the file (and the unknown class)."""
    try:
        return load()
    except ImportRefused:
        raise
    except Exception as error:  # Keras raises TypeError, ValueError, KeyError...; the text is what counts
        raise ImportRefused(_load_failure(path, error)) from error


_UNKNOWN_CLASS = re.compile(r"Could not locate (class|function) '([^']+)'")
_UNKNOWN_MODULE = re.compile(r"'module': '([^']+)'")


def _load_failure(path: Path, error: Exception) -> str:
    text = str(error)
    unknown = _UNKNOWN_CLASS.search(text)
    if unknown is not None:
        module = _UNKNOWN_MODULE.search(text[unknown.end() :])
        where = f" (module {module.group(1)})" if module else ""
        return (
            f"{path} uses the {unknown.group(1)} '{unknown.group(2)}'{where}, which Keras does not know. "
            + _REGISTER_HINT
        )
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return f"Cannot load {path} as a Keras model: {type(error).__name__}: {first_line}"


def _load_attribute(source: str) -> keras.Model:
    """Import `module:attribute` (or `file.py:attribute`) and call it when it is a function."""
    module_name, _, attribute = source.rpartition(":")
    module = _import_module(module_name, source)
    target = getattr(module, attribute, None)
    if target is None:
        raise ImportRefused(f"{source}: module {module_name!r} has no attribute {attribute!r}.")
    model = target if isinstance(target, keras.Model) else _call_builder(target, source)
    if not isinstance(model, keras.Model):
        raise ImportRefused(f"{source} returned a {type(model).__name__}, not a keras.Model.")
    return model


def _import_module(module_name: str, source: str) -> Any:
    try:
        if module_name.endswith(".py"):
            return _import_file(Path(module_name))
        return importlib.import_module(module_name)
    except ImportRefused:
        raise
    except Exception as error:  # the module's own code may raise anything
        raise ImportRefused(
            f"{source}: cannot import {module_name!r}: {type(error).__name__}: {error}"
        ) from error


def _import_file(path: Path) -> Any:
    _require_file(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportRefused(f"{path}: not a Python module.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _call_builder(target: Any, source: str) -> Any:
    if not callable(target):
        raise ImportRefused(
            f"{source} is a {type(target).__name__}: expected a function that returns a model."
        )
    try:
        return target()
    except Exception as error:  # the user's builder may raise anything
        raise ImportRefused(f"{source}: calling it raised {type(error).__name__}: {error}") from error


# ------------------------------------------------------------------ the model
def import_model(model: keras.Model, catalog: Catalog, *, weights_dir: Path | None = None) -> ImportResult:
    """The design of a Functional or Sequential model, laid out in layers; its weights are
    written to `weights_dir`/<name>.weights.h5 when `weights_dir` is given."""
    config = structured_config(model)
    walker = _Walker(catalog)
    outputs = walker.model(config, model, _Scope(), None)
    result = walker.result(model.name, outputs)
    if weights_dir is not None:
        path = Path(weights_dir) / f"{result.graph.name}{WEIGHTS_SUFFIX}"
        result.weights = str(save_imported_weights(result, model, catalog, path))
    return result


def structured_config(model: keras.Model) -> dict[str, Any]:
    """The config of a Functional or Sequential model; a subclassed model is refused."""
    if not _is_model(model):
        raise ImportRefused(SUBCLASSED_MESSAGE.format(name=type(model).__name__))
    try:
        config = model.get_config()
    except NotImplementedError as error:
        raise ImportRefused(
            f"{model.name}: a layer cannot describe itself ({error}). Give every custom layer a "
            "get_config() that returns its constructor arguments."
        ) from error
    _check_structured(model, config)
    return config


def _is_model(operation: Any) -> bool:
    return isinstance(operation, (Functional, keras.Sequential))


def _check_structured(model: Any, config: Mapping[str, Any]) -> None:
    functional = isinstance(model, Functional) and "input_layers" in config
    sequential = isinstance(model, keras.Sequential)
    if not isinstance(config.get("layers"), list) or not (functional or sequential):
        raise ImportRefused(SUBCLASSED_MESSAGE.format(name=type(model).__name__))


def layer_type_keys(catalog: Catalog) -> dict[type, str]:
    """The catalog key of each layer class the catalog offers."""
    keys: dict[type, str] = {}
    for key, spec in catalog.items():
        if spec.is_input:
            continue
        try:
            keys.setdefault(layer_class(spec), key)
        except (ImportError, AttributeError):  # a user module that is gone: its layers stay unknown
            continue
    return keys


_TYPE_KEYS: dict[int, tuple[Catalog, dict[type, str]]] = {}  # id(catalog) -> (catalog, its keys)


def _cached_type_keys(catalog: Catalog) -> dict[type, str]:
    """`layer_type_keys` of a catalog, kept for the few catalogs a process uses."""
    cached = _TYPE_KEYS.get(id(catalog))
    if cached is None or cached[0] is not catalog:
        if len(_TYPE_KEYS) >= 4:
            _TYPE_KEYS.clear()
        cached = _TYPE_KEYS[id(catalog)] = (catalog, layer_type_keys(catalog))
    return cached[1]


class _Walker:
    """Walks a model's config once, collecting calls, specs, groups and messages."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.type_keys = _cached_type_keys(catalog)
        self.calls: list[_Call] = []
        self.extra: dict[str, LayerSpec] = {}
        self.groups: list[tuple[Any, list[int]]] = []  # (nested model, its calls), outermost calls only
        self.messages: dict[str, None] = {}
        self.owners: dict[int, int] = {}  # id(layer) -> the call that owns it
        self.needed: set[tuple[str, int]] = set()  # the calls the outputs of the model walked need

    def spec(self, key: str) -> LayerSpec:
        return self.extra.get(key) or self.catalog[key]

    def note(self, message: str) -> None:
        self.messages[message] = None

    # -- models
    def model(
        self, config: Mapping[str, Any], model: Any, scope: _Scope, arguments: list[_Ref] | None
    ) -> Any:
        """The model's output refs (structured as its outputs) after adding its calls."""
        if isinstance(model, keras.Sequential):
            return self.sequential(config, model, scope, arguments)
        return self.functional(config, model, scope, arguments)

    def functional(
        self, config: Mapping[str, Any], model: Any, scope: _Scope, arguments: list[_Ref] | None
    ) -> Any:
        operations = {operation.name: operation for operation in model.operations}
        entries = {entry["name"]: entry for entry in config["layers"]}
        produced = self.inputs(config, entries, scope, arguments)
        self.needed = _needed_calls(config, entries, operations)
        for entry, index, node_data in _ready_calls(config, self.needed, produced, model.name):
            operation = operations[entry["name"]]
            produced[(entry["name"], index)] = self.call(entry, operation, node_data, produced, scope)
        return _map_histories(
            config["output_layers"], lambda history: _resolve(produced, _output_history(history, operations))
        )

    def inputs(
        self,
        config: Mapping[str, Any],
        entries: Mapping[str, Any],
        scope: _Scope,
        arguments: list[_Ref] | None,
    ) -> dict[tuple[str, int], Any]:
        """Where each model input comes from: a new Input node, or the caller's tensors."""
        histories = _flatten(_map_histories(config["input_layers"], lambda history: history))
        if arguments is None:
            return {(name, index): self.input_call(entries[name], scope) for name, index, _ in histories}
        if len(arguments) != len(histories):
            raise ImportRefused(
                f"{config['name']} takes {len(histories)} input(s) but is called with {len(arguments)}."
            )
        return {
            (name, index): [argument] for (name, index, _), argument in zip(histories, arguments, strict=True)
        }

    def sequential(
        self, config: Mapping[str, Any], model: Any, scope: _Scope, arguments: list[_Ref] | None
    ) -> list[_Ref]:
        entries = config["layers"]
        layers = {layer.name: layer for layer in model.layers}
        current = self.sequential_input(config, model, scope, arguments)
        for entry in entries:
            if entry["class_name"] == "InputLayer":
                continue
            node_data = {"args": [current], "kwargs": {}}
            result = self.call(entry, layers[_entry_name(entry)], node_data, {}, scope)
            current = _single(result, _entry_name(entry)) if isinstance(result, list) else _Ref(result, 0)
        return [current]

    def sequential_input(
        self, config: Mapping[str, Any], model: Any, scope: _Scope, arguments: list[_Ref] | None
    ) -> _Ref:
        if arguments is not None:
            return _single(arguments, model.name)
        entries = config["layers"]
        if not entries or entries[0]["class_name"] != "InputLayer":
            raise ImportRefused(
                f"The Sequential model {model.name} has no input shape: start it with "
                "keras.Input(shape=...) or build it before importing it."
            )
        return _Ref(self.input_call(entries[0], scope), 0)

    # -- calls
    def call(
        self,
        entry: Mapping[str, Any],
        operation: Any,
        node_data: Mapping[str, Any],
        produced: Mapping[tuple[str, int], Any],
        scope: _Scope,
    ) -> int | list[_Ref]:
        """Add one call; a nested model's calls are added inline and its output refs returned."""
        name = _entry_name(entry)
        self.check_keywords(name, operation, node_data.get("kwargs") or {})
        arguments = [_ref_of(leaf, produced) for leaf in _argument_leaves(name, operation, node_data)]
        if _is_model(operation):
            return self.nested(entry, operation, arguments, scope)
        list_call = _is_list_call(node_data)
        return self.layer_call(name, entry, operation, arguments, list_call, scope)

    def nested(
        self, entry: Mapping[str, Any], model: Any, arguments: list[_Ref], scope: _Scope
    ) -> list[_Ref]:
        _check_structured(model, entry["config"])
        first, needed = len(self.calls), self.needed
        outputs = self.model(entry["config"], model, scope.child(model.name), arguments)
        self.needed = needed
        if not scope.path:  # groups cannot nest: a model inside a nested model joins its group
            self.groups.append((model, list(range(first, len(self.calls)))))
        return _flatten(outputs)

    def layer_call(
        self,
        name: str,
        entry: Mapping[str, Any],
        operation: Any,
        arguments: list[_Ref],
        list_call: bool,
        scope: _Scope,
    ) -> int:
        owner = self.owners.get(id(operation))
        index = len(self.calls)
        if owner is not None:
            spec = self.spec(self.calls[owner].type)
            _check_arity(name, spec, len(arguments))
            self.calls.append(_Call(spec.key, "", {}, arguments, owner=owner))
            return index
        spec = self.spec_of(name, operation, list_call)
        _check_arity(name, spec, len(arguments))
        params = self.params(name, spec, entry["config"])
        self.owners[id(operation)] = index
        self.calls.append(_Call(spec.key, scope.node_name(name), params, arguments, origin=scope.path + name))
        return index

    def input_call(self, entry: Mapping[str, Any], scope: _Scope) -> int:
        name = _entry_name(entry)
        params = self.input_params(name, entry["config"])
        self.calls.append(_Call(INPUT_TYPE, scope.node_name(name), params, [], origin=scope.path + name))
        return len(self.calls) - 1

    def input_params(self, name: str, config: Mapping[str, Any]) -> dict[str, Any]:
        batch_shape = config.get("batch_shape") or config.get("batch_input_shape")
        if config.get("ragged"):
            raise ImportRefused(
                f"The input {name} is ragged; the designer's inputs are dense or sparse tensors."
            )
        if batch_shape is None:
            raise ImportRefused(f"The input {name} has no shape.")
        if batch_shape[0] is not None:
            self.note(
                f"The input {name} had a fixed batch size ({batch_shape[0]}); the design leaves it open."
            )
        params: dict[str, Any] = {"shape": list(batch_shape[1:])}
        dtype = _policy_name(config.get("dtype"))
        if dtype not in (None, "float32"):
            params["dtype"] = dtype
        if config.get("sparse"):
            params["sparse"] = True
        return params

    def params(self, name: str, spec: LayerSpec, config: Mapping[str, Any]) -> dict[str, Any]:
        try:
            params, dropped = layer_params(spec, config)
        except TypeError as error:
            raise ImportRefused(f"{name} ({spec.class_name}): {error}") from None
        if dropped:
            self.note(
                f"{name} ({spec.class_name}): left out {', '.join(dropped)}, which the constructor "
                "of the class does not take."
            )
        return params

    def check_keywords(self, name: str, operation: Any, keywords: Mapping[str, Any]) -> None:
        """Keyword arguments of a call: None is nothing, `training` and a mask Keras derives
        itself are dropped, anything else is refused."""
        for key, value in keywords.items():
            tensors = [leaf for leaf in _leaves(value) if _is_tensor(leaf)]
            if value is None or (key == "mask" and tensors and self.derived(tensors)):
                continue
            if key == "training":
                if _is_model(operation):
                    self.note(
                        f"{name} is called with training={value}; a design does not keep call arguments "
                        "(set trainable=False on its layers to freeze them)."
                    )
                continue
            what = "the tensor" if tensors else "the value"
            raise ImportRefused(
                f"{name} ({type(operation).__name__}) is called with {what} `{key}=`; a node takes tensors "
                "through its ports only. Make it a constructor argument of a custom layer, or pass the "
                "tensors positionally."
            )

    def derived(self, tensors: list[Any]) -> bool:
        """Tensors computed only to be masks (Embedding(mask_zero=True) -> not_equal): Keras
        computes them again when the design is built, so they are not nodes."""
        return not any(isinstance(leaf, _Ref) or _history_key(leaf) in self.needed for leaf in tensors)

    # -- specs
    def spec_of(self, name: str, operation: Any, list_call: bool) -> LayerSpec:
        cls = type(operation)
        key = self.type_keys.get(cls)
        if key is not None:
            return self.catalog[key]
        if isinstance(operation, keras.layers.Lambda):
            raise ImportRefused(
                f"{name} is a Lambda layer: its Python function cannot be kept in a design. Rewrite it "
                "as a Layer subclass registered with @keras.saving.register_keras_serializable(), or as "
                "keras.ops calls, and import again."
            )
        layer = isinstance(operation, keras.layers.Layer)
        key = f"{cls.__module__}.{cls.__name__}" if layer else f"ops.{to_snake_case(cls.__name__)}"
        if key not in self.extra:
            self.extra[key] = self.new_spec(name, cls, key, operation, list_call)
        return self.extra[key]

    def new_spec(self, name: str, cls: type, key: str, operation: Any, list_call: bool) -> LayerSpec:
        if isinstance(operation, keras.layers.Layer):
            spec = spec_from_class(cls, key=key, module=cls.__module__, category="custom", source="user")
            if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
                self.note(f"{name}: generated code cannot import {cls.__qualname__}; move it to a module.")
        else:
            spec = spec_from_class(cls, key=key, module=cls.__module__, category="ops")
        if list_call:
            spec = dataclasses.replace(
                spec, ports=dataclasses.replace(spec.ports, inputs=("inputs",), variadic=True, min_inputs=1)
            )
            spec = dataclasses.replace(spec, call_convention="list")
        count = _output_count(operation)
        if count != len(spec.ports.outputs):
            outputs = tuple(f"output_{index}" for index in range(count))
            spec = dataclasses.replace(spec, ports=dataclasses.replace(spec.ports, outputs=outputs))
        return spec

    # -- the result
    def result(self, model_name: str, outputs: Any) -> ImportResult:
        graph = ModelGraph(identifier(model_name))
        ids = [f"n{index + 1}" for index in range(len(self.calls))]
        names = _node_names(self.calls)
        for index, call in enumerate(self.calls):
            ports = INPUT_PORTS if call.type == INPUT_TYPE else self.spec(call.type).ports
            shares = ids[call.owner] if call.owner is not None else None
            graph.add_node(Node(ids[index], call.type, names[index], call.params, ports=ports, shares=shares))
        for index, call in enumerate(self.calls):
            for port, ref in enumerate(call.inputs):
                self.check_port(graph, ids[ref.call], ref.port)
                graph.connect(Edge(ids[ref.call], ref.port, ids[index], port))
        _mark_outputs(graph, outputs, ids)
        graph.reserve_ids()
        self.add_groups(graph, ids)
        for node_id, position in layered_positions(graph).items():
            graph.move(node_id, position)
        return ImportResult(
            graph=graph,
            extra_specs=list(self.extra.values()),
            groups=[{"id": g.id, "name": g.name, "nodes": list(g.nodes)} for g in graph.groups.values()],
            origins={names[index]: call.origin for index, call in enumerate(self.calls) if call.origin},
            messages=list(self.messages),
        )

    def add_groups(self, graph: ModelGraph, ids: list[str]) -> None:
        """One group per call of a nested model; a later call shares the first call's group."""
        first_groups: dict[int, Group] = {}
        for model, calls in self.groups:
            if not calls:
                continue
            owner = first_groups.get(id(model))
            block = owner.block if owner is not None else identifier(model.name)
            taken = {node.name for node in graph.nodes.values()} | {g.name for g in graph.groups.values()}
            members = tuple(ids[index] for index in calls)
            shares = owner.id if owner is not None else None
            group = Group(graph.new_group_id(), _unique(block, taken), members, block=block, shares=shares)
            try:
                graph.add_group(group)
            except GraphError as error:
                self.note(f"The layers of {model.name} stay ungrouped: {error}")
                continue
            first_groups.setdefault(id(model), group)

    def check_port(self, graph: ModelGraph, node_id: str, port: int) -> None:
        node = graph.nodes[node_id]
        if port >= len(node.ports.outputs):
            raise ImportRefused(
                f"{node.name} returns several tensors and output {port} is used, but a {node.type} node "
                f"has {len(node.ports.outputs)} output(s). Split the layer, or wrap it in a custom layer "
                "that returns what the model uses."
            )


# ----------------------------------------------------------- config details
def _entry_name(entry: Mapping[str, Any]) -> str:
    return entry.get("name") or entry["config"]["name"]


def _node_data(entry: Mapping[str, Any], index: int) -> Mapping[str, Any]:
    data = entry["inbound_nodes"][index]
    if not isinstance(data, Mapping):
        raise ImportRefused(
            f"{entry['name']}: the config is in the legacy (Keras 2) format; load the model in Keras 3 "
            "and save it again."
        )
    return data


def _is_history(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and isinstance(value[0], str)
        and all(isinstance(item, int) for item in value[1:])
    )


def _output_history(history: list[Any], operations: Mapping[str, Any]) -> list[Any]:
    """A model output's history with the node index that call arguments use.

    Keras numbers the calls of a layer among this model's calls in both, except
    that in "output_layers" a nested Functional model's calls start at 1 (its
    own graph's node comes first), while call arguments count from 0.
    """
    name, node_index, tensor_index = history
    offset = 1 if isinstance(operations[name], Functional) else 0
    return [name, node_index - offset, tensor_index]


def _map_histories(structure: Any, function: Callable[[list[Any]], Any]) -> Any:
    """Apply `function` to every [layer name, node index, tensor index] of an inputs/outputs structure."""
    if _is_history(structure):
        return function(list(structure))
    if isinstance(structure, Mapping):
        return {key: _map_histories(value, function) for key, value in structure.items()}
    return [_map_histories(item, function) for item in structure]


def _flatten(structure: Any) -> list[Any]:
    """The leaves in Keras' order (dicts by sorted key), as keras.tree.flatten gives a call's outputs."""
    if isinstance(structure, Mapping):
        return [leaf for key in sorted(structure) for leaf in _flatten(structure[key])]
    if isinstance(structure, list) and not _is_history(structure):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _leaves(value: Any) -> Iterator[Any]:
    """The leaves of serialized call arguments, in call order."""
    if isinstance(value, Mapping) and value.get("class_name") == "__tuple__":
        yield from _leaves(value["config"]["value"])
    elif isinstance(value, Mapping) and not _is_tensor(value):
        for key in sorted(value):
            yield from _leaves(value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _is_tensor(value: Any) -> bool:
    if isinstance(value, _Ref):
        return True
    return isinstance(value, Mapping) and value.get("class_name") == "__keras_tensor__"


def _argument_tensors(node_data: Mapping[str, Any]) -> list[Any]:
    """The serialized tensors a call passes positionally."""
    return [
        leaf for leaf in _leaves(node_data.get("args", [])) if isinstance(leaf, Mapping) and _is_tensor(leaf)
    ]


def _ready_calls(
    config: Mapping[str, Any],
    needed: set[tuple[str, int]],
    produced: Mapping[tuple[str, int], Any],
    model: str,
) -> Iterator[tuple[Mapping[str, Any], int, Mapping[str, Any]]]:
    """The needed calls (entry, index, call data), each once its arguments are in `produced`:
    in config order where that allows (the caller adds each call's outputs before the next)."""
    pending = collections.deque(
        (entry, index)
        for entry in config["layers"]
        for index in range(len(entry["inbound_nodes"]))
        if (entry["name"], index) in needed
    )
    waited = 0
    while pending:
        entry, index = pending.popleft()
        node_data = _node_data(entry, index)
        if all(_history_key(leaf) in produced for leaf in _argument_tensors(node_data)):
            waited = 0
            yield entry, index, node_data
            continue
        pending.append((entry, index))
        waited += 1
        if waited > len(pending):
            raise ImportRefused(f"{model}: the config's layer calls do not connect up.")


def _needed_calls(
    config: Mapping[str, Any], entries: Mapping[str, Any], operations: Mapping[str, Any]
) -> set[tuple[str, int]]:
    """The (layer name, call) pairs that the outputs depend on through call arguments, and the
    inputs; a computation that only feeds `mask=` keyword arguments is not among them."""
    histories = _flatten(_map_histories(config["output_layers"], lambda history: history))
    stack = [tuple(_output_history(history, operations)[:2]) for history in histories]
    inputs = _flatten(_map_histories(config["input_layers"], lambda history: history))
    needed = {(name, index) for name, index, _ in inputs}
    while stack:
        name, index = stack.pop()
        if (name, index) in needed:
            continue
        needed.add((name, index))
        stack.extend(_history_key(leaf) for leaf in _argument_tensors(_node_data(entries[name], index)))
    return needed


def _history_key(tensor: Mapping[str, Any]) -> tuple[str, int]:
    name, index, _ = tensor["config"]["keras_history"]
    return (name, index)


def _argument_leaves(name: str, operation: Any, node_data: Mapping[str, Any]) -> list[Any]:
    """The tensors a call passes positionally; a constant among them is refused."""
    leaves = list(_leaves(node_data.get("args", [])))
    for leaf in leaves:
        if not _is_tensor(leaf):
            raise ImportRefused(_constant_message(name, operation, leaf))
    return leaves


def _constant_message(name: str, operation: Any, value: Any) -> str:
    callee = type(operation).__name__
    if not isinstance(operation, keras.layers.Layer):
        callee = f"keras.ops.{to_snake_case(callee)}"
    return (
        f"{name} ({callee}) is called with the constant {value!r}; a node takes tensors only. Write that "
        "step as a layer (a keras.layers class, or a custom layer registered with "
        "@keras.saving.register_keras_serializable() that holds the constant as a parameter)."
    )


def _is_list_call(node_data: Mapping[str, Any]) -> bool:
    """The call passes one list of tensors (Concatenate([a, b]), keras.ops.concatenate([a, b]))."""
    arguments = node_data.get("args", [])
    if isinstance(arguments, Mapping) and arguments.get("class_name") == "__tuple__":
        arguments = arguments["config"]["value"]
    return len(arguments) == 1 and isinstance(arguments[0], (list, tuple))


def _ref_of(leaf: Any, produced: Mapping[tuple[str, int], Any]) -> _Ref:
    if isinstance(leaf, _Ref):
        return leaf
    return _resolve(produced, leaf["config"]["keras_history"])


def _resolve(produced: Mapping[tuple[str, int], Any], history: list[Any]) -> _Ref:
    name, node_index, tensor_index = history
    made = produced[(name, node_index)]
    if isinstance(made, int):
        return _Ref(made, tensor_index)
    return made[tensor_index]


def _single(refs: list[_Ref], name: str) -> _Ref:
    if len(refs) != 1:
        raise ImportRefused(f"{name} passes {len(refs)} tensors where a Sequential model passes one.")
    return refs[0]


def _check_arity(name: str, spec: LayerSpec, count: int) -> None:
    ports = spec.ports
    fits = count >= ports.min_inputs if ports.variadic else count == len(ports.inputs)
    if not fits:
        expected = f"at least {ports.min_inputs}" if ports.variadic else str(len(ports.inputs))
        raise ImportRefused(
            f"{name} ({spec.class_name}) is called with {count} tensor(s), but its node takes {expected} "
            f"({', '.join(ports.inputs)})."
        )


def _output_count(operation: Any) -> int:
    """How many tensors a layer's calls return (1 when it was never called)."""
    nodes = getattr(operation, "_inbound_nodes", None) or []
    return max(len(nodes[0].outputs), 1) if nodes else 1


# ---------------------------------------------------------------------- names
def identifier(name: str) -> str:
    """A Keras name as a node name: kept when it is a Python identifier, else made one."""
    text = re.sub(r"\W", "_", name) or "layer"
    if text[0].isdigit():
        text = f"layer_{text}"
    return f"{text}_" if not is_valid_name(text) else text


def _node_names(calls: list[_Call]) -> list[str]:
    """Unique names: layers keep theirs first, then each further call is `<layer>_<n>`."""
    names = [""] * len(calls)
    taken: set[str] = set()
    for index, call in enumerate(calls):
        if call.owner is None:
            names[index] = _unique(call.name, taken)
    counts: dict[int, int] = collections.Counter()
    for index, call in enumerate(calls):
        if call.owner is not None:
            counts[call.owner] += 1
            names[index] = _unique(f"{names[call.owner]}_{counts[call.owner]}", taken)
    return names


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 0
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    taken.add(candidate)
    return candidate


def _mark_outputs(graph: ModelGraph, outputs: Any, ids: list[str]) -> None:
    """Mark the model outputs: named by their dict key, else by their node."""
    if isinstance(outputs, Mapping):
        named = [(identifier(str(key)), outputs[key]) for key in outputs]
    else:
        named = [(None, ref) for ref in _flatten(outputs)]
    taken: set[str] = set()
    for name, ref in named:
        node = graph.nodes[ids[ref.call]]
        wanted = name or (node.name if ref.port == 0 else f"{node.name}_{ref.port}")
        graph.mark_output(node.id, ref.port, _unique(wanted, taken))


# --------------------------------------------------------------------- params
def layer_params(spec: LayerSpec, config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A layer's node params from its Keras config, and the config keys it loses.

    Values become JSON; `trainable` is kept when False and `dtype` when not
    float32; of the spec's parameters only those are kept without which the
    layer would not have the same config (so an activation "linear" where the
    default is None goes, and the strides of a pooling whose window is not
    the default stay). Config keys the spec lacks are lost; they are listed
    when the layer made from the params has another value for them. A value
    with no JSON form raises TypeError.
    """
    known = {param.name for param in spec.params}
    params: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for key, value in config.items():
        if key == "dtype":
            value = _policy_name(value)
            if value not in (None, "float32"):
                params[key] = value
        elif key == "trainable":
            if value is False:
                params[key] = False
        elif key in known:
            params[key] = json_value(value, key)
        elif key != "name" and value is not None:
            others[key] = value
    kept, made = _reduced(spec, params)
    return kept, [key for key, value in others.items() if not _reproduced(made, key, value)]


def _reproduced(made: Mapping[str, Any], key: str, value: Any) -> bool:
    try:
        return _same_json(made.get(key, _ABSENT), json_value(value, key))
    except TypeError:
        return False


_ABSENT = object()
_REDUCED: dict[tuple[str, str, str], tuple[dict[str, Any], dict[str, Any]]] = {}


def _reduced(spec: LayerSpec, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`params` without those the layer gets anyway, and the config of the layer made from
    what is kept (cached: many layers of a model are alike)."""
    key = (spec.module, spec.class_name, json.dumps(params, sort_keys=True, default=str))
    if key not in _REDUCED:
        _REDUCED[key] = _reduce(spec, params)
    kept, made = _REDUCED[key]
    return copy.deepcopy(kept), made


def _reduce(spec: LayerSpec, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Drop what a layer made from the required params alone has too, then put back whatever
    the layer made from the rest does not reproduce."""
    required = {param.name for param in spec.params if param.required}
    defaults = _made_config(spec, {name: params[name] for name in required if name in params})
    kept = {
        key
        for key, value in params.items()
        if key in required or not _same_json(defaults.get(key, _ABSENT), value)
    }
    made = _made_config(spec, {key: params[key] for key in kept})
    if not made:
        return dict(params), {}
    kept |= {key for key, value in params.items() if not _same_json(made.get(key, _ABSENT), value)}
    return spec.non_default_params({key: value for key, value in params.items() if key in kept}), made


def _made_config(spec: LayerSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON config of the layer made from `params` ({} if it cannot be made)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = construct(spec, params).get_config()
        return {key: json_value(value, key) for key, value in config.items() if key not in ("dtype", "name")}
    except Exception:  # a layer that cannot be made this way: keep every param
        return {}


def _same_json(first: Any, second: Any) -> bool:
    if first is _ABSENT or second is _ABSENT:
        return False
    return json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def json_value(value: Any, key: str = "") -> Any:
    """A config value as JSON: lists for tuples and arrays, the short name of a default
    initializer, regularizer or constraint ("glorot_uniform"); TypeError if it has none."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [json_value(item, key) for item in value]
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, Mapping):
        return _json_mapping(value, key)
    raise TypeError(f"the value of `{key}` ({type(value).__name__}) has no JSON form")


def _json_mapping(value: Mapping[str, Any], key: str) -> Any:
    class_name = value.get("class_name")
    if class_name in ("__tuple__", "__numpy__"):
        return json_value(value["config"]["value"], key)
    converted = {str(name): json_value(item, key) for name, item in value.items()}
    if value.get("module") in _SERIALIZABLE_MODULES and value.get("registered_name") is None:
        return _short_name(json.dumps(converted, sort_keys=True)) or converted
    return converted


@functools.cache
def _short_name(serialized: str) -> str | None:
    """The identifier Keras takes for a serialized initializer/regularizer/constraint
    when the serialized config is that identifier's default, else None."""
    value = json.loads(serialized)
    identifier_name = to_snake_case(value["class_name"])
    try:
        instance = _SERIALIZABLE_MODULES[value["module"]].get(identifier_name)
        default = keras.saving.serialize_keras_object(instance)
    except (ValueError, TypeError, KeyError):
        return None
    same = json.dumps(default, sort_keys=True, default=str) == serialized
    return identifier_name if same else None


def _policy_name(value: Any) -> Any:
    """A serialized DTypePolicy as its name ("float32"); any other value unchanged."""
    if isinstance(value, Mapping) and value.get("class_name") == "DTypePolicy":
        return (value.get("config") or {}).get("name")
    return json_value(value, "dtype")


# -------------------------------------------------------------------- weights
def save_imported_weights(result: ImportResult, model: keras.Model, catalog: Catalog, path: Path) -> Path:
    """Write the imported model's weights for the design: the `.weights.h5` file of the model
    `build_model(result.graph)` builds (and the exported code), with the layer names recorded."""
    path = Path(path)
    if not path.name.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"expected a file name ending in {WEIGHTS_SUFFIX}, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    built = build_model(result.graph, result.catalog(catalog))
    load_weights_by_name(built, model, result.origins)
    built.save_weights(path)
    _record_layer_paths(built, path, result.origins)
    return path


def _record_layer_paths(model: keras.Model, path: Path, origins: Mapping[str, str]) -> None:
    """Store where each layer's weights are in the file (Keras addresses them by class, in
    order), by node name and by the layer's path in the imported model (which exported code
    with blocks reproduces: "encoder/dense")."""
    paths = keras_layer_paths(model)
    with h5py.File(path, "a") as file:
        if all(paths[layer.name] in file for layer in model.layers if layer.weights):
            by_origin = {origin: paths[name] for name, origin in origins.items() if name in paths}
            file.attrs[LAYER_PATHS_ATTRIBUTE] = json.dumps({**by_origin, **paths})


def keras_layer_paths(model: keras.Model) -> dict[str, str]:
    """Layer name -> its group in a Functional model's `.weights.h5` file: Keras names each
    group after the layer's class, numbered in layer order ("layers/dense", "layers/dense_1")."""
    counts: dict[str, int] = {}
    paths = {}
    for layer in model.layers:
        base = to_snake_case(type(layer).__name__)
        counts[base] = counts.get(base, -1) + 1
        paths[layer.name] = f"layers/{base}" if counts[base] == 0 else f"layers/{base}_{counts[base]}"
    return paths


def load_weights_by_name(
    target: keras.Model,
    source: keras.Model | str | os.PathLike[str],
    names: Mapping[str, str] | None = None,
    *,
    strict: bool = True,
) -> list[str]:
    """Copy weights into `target` layer by layer, matched by name; returns the names loaded.

    `source` is a model (its nested models' layers are "model/layer"; `names`
    maps a target layer name to a source path, as `ImportResult.origins` does)
    or a weights file written by `save_imported_weights` (a plain Keras
    weights file is loaded with `target.load_weights`, by structure).
    `strict` refuses a target layer with weights that the source lacks.
    """
    if isinstance(source, keras.Model):
        loaded, missing = _copy_layers(target, _from_model(source, names or {}))
    else:
        loaded, missing = _load_file(target, Path(source))
    if strict and missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ImportRefused(f"No weights for {len(missing)} layer(s) of {target.name}: {shown}.")
    return loaded


def layers_by_path(model: keras.Model, prefix: str = "") -> Iterator[tuple[str, keras.layers.Layer]]:
    """Every layer at every depth with its path ("encoder/dense"): the layers of nested models,
    and the sublayers of layers made only of sublayers (a block of exported code, a
    Bidirectional) after the layer itself. Models themselves are left out."""
    for layer in _members(model):
        path = f"{prefix}{layer.name}"
        if not _is_model(layer):
            yield path, layer
        yield from layers_by_path(layer, f"{path}/")


def _members(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """A model's layers, a block's sublayers, else nothing."""
    if _is_model(layer):
        return list(layer.layers)
    sublayers = list(getattr(layer, "_layers", []))
    owned = sum(len(sublayer.weights) for sublayer in sublayers)
    return sublayers if sublayers and owned == len(layer.weights) else []


_Copy = Callable[[str, keras.layers.Layer], bool]  # loads one layer's weights; False if there are none


def _copy_layers(target: keras.Model, copy: _Copy) -> tuple[list[str], list[str]]:
    """(loaded, missing) paths of the target's layers with weights: each layer is matched as a
    whole, else through its members (the layers of a block exported code made of a group)."""
    loaded: list[str] = []
    missing: list[str] = []

    def visit(layer: keras.layers.Layer, path: str) -> None:
        if not layer.weights:
            return
        if not _is_model(layer) and copy(path, layer):
            loaded.append(path)
            return
        members = _members(layer)
        if not members:
            missing.append(path)
        for member in members:
            visit(member, f"{path}/{member.name}")

    for layer in _members(target):
        visit(layer, layer.name)
    return loaded, missing


def _from_model(source: keras.Model, names: Mapping[str, str]) -> _Copy:
    sources = dict(layers_by_path(source))

    def copy(name: str, layer: keras.layers.Layer) -> bool:
        found = sources.get(names.get(name, name))
        if found is None or not found.weights:
            return False
        try:
            layer.set_weights(found.get_weights())
        except ValueError as error:
            raise ImportRefused(f"Cannot copy the weights of {name}: {error}") from error
        return True

    return copy


def _load_file(target: keras.Model, path: Path) -> tuple[list[str], list[str]]:
    if not path.is_file():
        raise ImportRefused(f"{path}: no such weights file.")
    with h5py.File(path, "r") as file:
        recorded = file.attrs.get(LAYER_PATHS_ATTRIBUTE)
    if recorded is None:
        target.load_weights(path)
        return [layer.name for layer in _members(target) if layer.weights], []
    store = saving_lib.H5IOStore(path, mode="r")
    try:
        return _copy_layers(target, _from_store(store, json.loads(recorded)))
    finally:
        store.close()


def _from_store(store: Any, paths: Mapping[str, str]) -> _Copy:
    """Loads a layer from its group of a Keras weights file with Keras' own per-layer reader."""

    def copy(name: str, layer: keras.layers.Layer) -> bool:
        if name not in paths:
            return False
        try:
            saving_lib._load_state(layer, store, None, inner_path=paths[name], visited_saveables=set())
        except ValueError as error:
            raise ImportRefused(f"Cannot load the weights of {name}: {error}") from error
        return True

    return copy


# -------------------------------------------------------------------- project
def import_to_project(
    source: str,
    output: Path,
    catalog: Catalog,
    weights_dir: Path | None = None,
    on_message: Callable[[str], None] | None = None,
) -> Path:
    """Import `source` and save it as the project file `output`; the weights go to
    `weights_dir` (by default next to the project) and the project refers to them."""
    output = Path(output)
    folder = Path(weights_dir) if weights_dir is not None else output.parent
    result = import_source(source, catalog, folder)
    for message in result.messages if on_message is not None else ():
        on_message(message)
    project.save(output, result.project(output.parent))
    return output


def load_imported_project(path: Path, catalog: Catalog) -> tuple[project.Project, Catalog]:
    """Read a project file with the specs its import made; returns it and the catalog it needs."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ImportRefused(f"Cannot read {path}: {error}") from error
    specs = data.get(PROJECT_SPECS_KEY) if isinstance(data, dict) else None
    merged = catalog.merged([LayerSpec.from_dict(spec) for spec in specs]) if specs else catalog
    return project.from_dict(data, merged.ports_of, str(path)), merged


def project_weights(loaded: project.Project, project_file: Path) -> Path | None:
    """The weights file a project refers to, resolved against the project's folder."""
    weights = loaded.extra.get(PROJECT_WEIGHTS_KEY)
    return (Path(project_file).parent / weights) if isinstance(weights, str) else None
