"""The walk over a Keras model's config that makes the design: one node per layer call."""

from __future__ import annotations

import collections
import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
from keras.src.models.functional import Functional
from keras.src.utils.naming import to_snake_case

from designer.catalog.keras_layers import layer_class, spec_from_class
from designer.catalog.spec import Catalog, LayerSpec
from designer.engine.importer.base import (
    PROJECT_SPECS_KEY,
    PROJECT_WEIGHTS_KEY,
    SUBCLASSED_MESSAGE,
    WEIGHTS_SUFFIX,
    ImportRefused,
    identifier,
    is_model,
)
from designer.engine.importer.lambdas import lambda_params
from designer.engine.importer.modules import defining_file
from designer.engine.importer.params import layer_params, policy_name
from designer.engine.importer.weights import save_imported_weights
from designer.graph import project
from designer.graph.errors import GraphError
from designer.graph.layout import layered_positions
from designer.graph.model import INPUT_PORTS, INPUT_TYPE, Edge, Group, ModelGraph, Node, PortLayout


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
    optional: dict[int, _Ref] = field(default_factory=dict)  # tensors passed by keyword, by port


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
    are what the import changed or left out. `custom_layers` are the files (absolute)
    that define the custom classes of its nodes: the project loads them when it opens.
    """

    graph: ModelGraph
    extra_specs: list[LayerSpec] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    weights: str | None = None
    custom_layers: list[str] = field(default_factory=list)

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
        references = list(self.custom_layers)
        if folder is not None:  # named as the project model names them in a file
            references = [Path(_relative(Path(file), folder)).as_posix() for file in references]
        return project.Project(graph=self.graph, custom_layers=references, extra=extra)


def _relative(path: Path, folder: Path | None) -> str:
    if folder is None:
        return str(path)
    try:
        return os.path.relpath(path.resolve(), folder.resolve())
    except ValueError:  # another drive on Windows
        return str(path.resolve())


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
    if not is_model(model):
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
        self.files: dict[str, None] = {}  # the files defining the custom classes used, in order
        self.classes: set[type] = set()  # the layer classes whose file was looked for

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
        keywords = self.keyword_tensors(name, operation, node_data.get("kwargs") or {})
        rescaling = scalar_arithmetic(operation, node_data)
        if rescaling is not None:
            return self.rescaling_call(name, rescaling, _ref_of(rescaling.tensor, produced), scope)
        arguments = [_ref_of(leaf, produced) for leaf in _argument_leaves(name, operation, node_data)]
        if is_model(operation):
            return self.nested(entry, operation, arguments, scope)
        list_call = _is_list_call(node_data)
        index = self.layer_call(name, entry, operation, arguments, list_call, scope)
        call = self.calls[index]
        spec = self.spec(call.type)
        keywords = self.call_params(name, operation, spec, call, keywords)
        ports = spec.ports
        if not ports.variadic:
            extra, call.inputs = call.inputs[len(ports.inputs) :], call.inputs[: len(ports.inputs)]
            call.optional = _optional_refs(name, ports, extra, keywords, produced)
        elif keywords:
            raise ImportRefused(_keyword_message(name, operation, next(iter(keywords))))
        return index

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
            _check_arity(name, spec, len(arguments), list_call)
            self.calls.append(_Call(spec.key, "", {}, arguments, owner=owner))
            return index
        spec = self.spec_of(name, operation, list_call)
        _check_arity(name, spec, len(arguments), list_call)
        if isinstance(operation, keras.layers.Lambda):  # its function is bytecode in the config
            params = lambda_params(name, operation)
        else:
            params = self.params(name, spec, entry["config"])
        self.owners[id(operation)] = index
        self.calls.append(_Call(spec.key, scope.node_name(name), params, arguments, origin=scope.path + name))
        return index

    def rescaling_call(self, name: str, rescaling: _Rescaling, tensor: _Ref, scope: _Scope) -> int:
        """`x + 3.0`, `x * (1 / 6)`, `1.0 - x`...: a keras.ops call with one float constant is a
        Rescaling layer (x * scale + offset), which computes the same values."""
        params, _ = layer_params(
            self.catalog[RESCALING], {"scale": rescaling.scale, "offset": rescaling.offset}
        )
        self.calls.append(_Call(RESCALING, scope.node_name(name), params, [tensor], origin=scope.path + name))
        self.note(f"{name} ({rescaling.expression}) is a Rescaling layer in the design.")
        return len(self.calls) - 1

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
        dtype = policy_name(config.get("dtype"))
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

    def keyword_tensors(self, name: str, operation: Any, keywords: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments of a call that pass tensors (for the optional ports) or a switch
        (for the call's params): None is nothing, `training` and a mask Keras derives itself are
        dropped, another value is refused."""
        kept = {}
        for key, value in keywords.items():
            tensors = [leaf for leaf in _leaves(value) if _is_tensor(leaf)]
            if value is None or (key.endswith("mask") and tensors and self.derived(tensors)):
                continue
            if key == "training":
                if is_model(operation):
                    self.note(
                        f"{name} is called with training={value}; a design does not keep call arguments "
                        "(set trainable=False on its layers to freeze them)."
                    )
                continue
            layer = isinstance(operation, keras.layers.Layer) and not is_model(operation)
            if layer and (tensors or isinstance(value, bool)):  # ports, or params of the call
                kept[key] = value
                continue
            raise ImportRefused(_keyword_message(name, operation, key, bool(tensors)))
        return kept

    def call_params(
        self, name: str, operation: Any, spec: LayerSpec, call: _Call, keywords: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Move the switches of the call (`return_attention_scores=True`) into the params of the
        node whose layer it is; return the other keywords. A switch the spec lacks is refused."""
        switches = {p.name for p in spec.params if p.call}
        rest = {}
        for key, value in keywords.items():
            if not isinstance(value, bool):
                rest[key] = value
            elif key not in switches:
                raise ImportRefused(_keyword_message(name, operation, key, False))
            elif call.owner is None:
                call.params[key] = value
            elif self.calls[call.owner].params.get(key, spec.full_params({}).get(key)) != value:
                raise ImportRefused(
                    f"{name} calls the layer of {self.calls[call.owner].name} with {key}={value}, "
                    "which its first call does not pass; a shared layer's calls take the same switches."
                )
        return rest

    def derived(self, tensors: list[Any]) -> bool:
        """Tensors computed only to be masks (Embedding(mask_zero=True) -> not_equal): Keras
        computes them again when the design is built, so they are not nodes."""
        return not any(isinstance(leaf, _Ref) or _history_key(leaf) in self.needed for leaf in tensors)

    # -- specs
    def spec_of(self, name: str, operation: Any, list_call: bool) -> LayerSpec:
        cls = type(operation)
        if isinstance(operation, keras.layers.Layer):
            self.record_file(cls)
        key = self.type_keys.get(cls)
        if key is not None:
            return self.catalog[key]
        layer = isinstance(operation, keras.layers.Layer)
        key = f"{cls.__module__}.{cls.__name__}" if layer else f"ops.{to_snake_case(cls.__name__)}"
        if key not in self.extra:
            self.extra[key] = self.new_spec(name, cls, key, operation, list_call)
        return self.extra[key]

    def record_file(self, cls: type) -> None:
        """Remember the custom-layer file that defines `cls`, or note why it cannot be named."""
        if cls in self.classes:
            return
        self.classes.add(cls)
        found = defining_file(cls)
        if found.path is not None:
            self.files[str(found.path)] = None
        elif found.note:
            self.note(found.note)

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
            ports = (
                INPUT_PORTS if call.type == INPUT_TYPE else self.spec(call.type).ports.for_params(call.params)
            )
            shares = ids[call.owner] if call.owner is not None else None
            graph.add_node(Node(ids[index], call.type, names[index], call.params, ports=ports, shares=shares))
        for index, call in enumerate(self.calls):
            for port, ref in [*enumerate(call.inputs), *call.optional.items()]:
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
            custom_layers=list(self.files),
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
    """The serialized tensors a call passes, positionally or by keyword (`initial_state=[h, c]`,
    `key=`: optional ports); not masks, which may be computed only to be masks (see `derived`)."""
    keywords = node_data.get("kwargs") or {}
    passed = [
        node_data.get("args", []),
        *(value for key, value in keywords.items() if not key.endswith("mask")),
    ]
    return [leaf for leaf in _leaves(passed) if isinstance(leaf, Mapping) and _is_tensor(leaf)]


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
    """The (layer name, call) pairs that the outputs depend on through call arguments (by
    position or keyword), and the inputs; a computation that only feeds masks is not among them."""
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


RESCALING = "Rescaling"
_ARITHMETIC = {"Add": "+", "Subtract": "-", "Multiply": "*", "Divide": "/", "TrueDivide": "/"}


@dataclass(frozen=True)
class _Rescaling:
    """A float tensor times `scale` plus `offset`: what a keras.ops arithmetic call with one
    constant computes."""

    tensor: Any
    scale: float
    offset: float
    expression: str


def scalar_arithmetic(operation: Any, node_data: Mapping[str, Any]) -> _Rescaling | None:
    """The Rescaling equal to keras.ops add, subtract, multiply or divide of one float tensor and
    one number (in either order), else None."""
    symbol = _ARITHMETIC.get(type(operation).__name__)
    if symbol is None or isinstance(operation, keras.layers.Layer) or node_data.get("kwargs"):
        return None
    leaves = list(_leaves(node_data.get("args", [])))
    if len(leaves) != 2 or sum(_is_tensor(leaf) for leaf in leaves) != 1:
        return None
    first, second = leaves
    tensor, constant = (first, second) if _is_tensor(first) else (second, first)
    dtype = str(tensor["config"].get("dtype") or "")
    if not isinstance(constant, (int, float)) or isinstance(constant, bool) or "float" not in dtype:
        return None
    constant = float(constant)
    left = tensor is first
    expression = f"x {symbol} {constant!r}" if left else f"{constant!r} {symbol} x"
    if symbol == "+":
        return _Rescaling(tensor, 1.0, constant, expression)
    if symbol == "*":
        return _Rescaling(tensor, constant, 0.0, expression)
    if symbol == "-":
        return (
            _Rescaling(tensor, 1.0, -constant, expression)
            if left
            else _Rescaling(tensor, -1.0, constant, expression)
        )
    if left and constant != 0.0:  # x / c; c / x is not a rescaling
        return _Rescaling(tensor, 1.0 / constant, 0.0, expression)
    return None


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


def _check_arity(name: str, spec: LayerSpec, count: int, list_call: bool = False) -> None:
    """A call passes each fixed port a tensor; positionally also optional ones, in order
    (MultiHeadAttention(query, value, key), LSTM(x, [h, c])), unless it passes one list."""
    ports = spec.ports
    fits = count >= ports.min_inputs if ports.variadic else count == len(ports.inputs)
    if not ports.variadic and not list_call:
        fits = len(ports.inputs) <= count <= len(ports.input_names())
    if not fits:
        expected = f"at least {ports.min_inputs}" if ports.variadic else str(len(ports.inputs))
        raise ImportRefused(
            f"{name} ({spec.class_name}) is called with {count} tensor(s), but its node takes {expected} "
            f"({', '.join(ports.inputs)})."
        )


def _keyword_message(name: str, operation: Any, key: str, tensors: bool = True) -> str:
    what = "the tensor" if tensors else "the value"
    return (
        f"{name} ({type(operation).__name__}) is called with {what} `{key}=`; a node takes tensors "
        "through its ports only. Make it a constructor argument of a custom layer, or pass the "
        "tensors positionally."
    )


def _optional_refs(
    name: str,
    ports: PortLayout,
    extra: list[_Ref],
    keywords: Mapping[str, Any],
    produced: Mapping[tuple[str, int], Any],
) -> dict[int, _Ref]:
    """The optional ports a call feeds: the positional tensors past the fixed ports (`extra`,
    in port order) and the keyword tensors, each on the port of its argument (the items of a
    list argument, `initial_state=[h, c]`, on theirs)."""
    first = len(ports.inputs)
    refs = {first + offset: ref for offset, ref in enumerate(extra)}
    for key, value in keywords.items():
        items = value if isinstance(value, (list, tuple)) else None
        wanted = [(key, value)] if items is None else [(f"{key}[{i}]", item) for i, item in enumerate(items)]
        for port_name, item in wanted:
            if item is None:
                continue
            if port_name not in ports.optional:
                known = ", ".join(ports.optional) or "none"
                raise ImportRefused(
                    f"{name} is called with the tensor `{port_name}=`, which its node has no port for "
                    f"(its optional ports: {known})."
                )
            refs[first + ports.optional.index(port_name)] = _ref_of(item, produced)
    return refs


def _output_count(operation: Any) -> int:
    """How many tensors a layer's calls return (1 when it was never called)."""
    nodes = getattr(operation, "_inbound_nodes", None) or []
    return max(len(nodes[0].outputs), 1) if nodes else 1


# ---------------------------------------------------------------------- names
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
    named: list[tuple[str | None, Any]]
    if isinstance(outputs, Mapping):
        named = [(identifier(str(key)), outputs[key]) for key in outputs]
    else:
        named = [(None, ref) for ref in _flatten(outputs)]
    taken: set[str] = set()
    for name, ref in named:
        node = graph.nodes[ids[ref.call]]
        wanted = name or (node.name if ref.port == 0 else f"{node.name}_{ref.port}")
        graph.mark_output(node.id, ref.port, _unique(wanted, taken))
