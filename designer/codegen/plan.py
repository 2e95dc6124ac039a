"""The traversal every code style shares: which layers are built, which calls are
made in which order, and the Python names of their tensors.

Only nodes that feed a model output are generated (Keras drops the others
from a Functional model too, and an uncalled layer of a subclassed model
would have no weights); every Input node stays a model input. Calls come in
`graph.topological_order()`, so the same graph always gives the same code.
The plan is flat; `blocks.with_blocks` turns each group's calls into one call
of its block.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from designer.catalog.spec import INPUT_SPEC, LayerSpec
from designer.codegen.errors import CodegenError
from designer.codegen.imports import Imports
from designer.codegen.naming import NameMap, python_names
from designer.codegen.rendering import LayerWriter, find_spec
from designer.graph.model import INPUT_TYPE, ModelGraph, ModelOutput, Node

if TYPE_CHECKING:
    from designer.codegen.blocks import BlockCall

CALL_CONVENTIONS = ("single", "positional", "list")


@dataclass(frozen=True)
class LayerCall:
    """One call of a layer: `targets = callee(arguments)`."""

    node: Node
    owner: Node  # the node whose layer is called (itself unless it shares one)
    spec: LayerSpec
    arguments: str  # the source between the call's parentheses
    targets: tuple[str, ...]  # one variable per output port

    @property
    def assigned(self) -> str:
        """The left-hand side: `dense` or `encoder_z_mean, encoder_z`."""
        return ", ".join(self.targets)


@dataclass(frozen=True)
class ModelPlan:
    graph: ModelGraph
    names: NameMap
    imports: Imports
    writer: LayerWriter
    inputs: tuple[Node, ...]
    calls: tuple[LayerCall | BlockCall, ...]
    outputs: tuple[tuple[ModelOutput, str], ...]  # each output mark with its tensor variable
    constructors: dict[str, str]  # owner node (or block group) id -> `layers.Dense(...)`, in first-call order
    classes: tuple[str, ...] = ()  # the source of each block class, in first-use order

    @property
    def shared(self) -> set[str]:
        """Owner ids of layers that are called more than once."""
        return {
            call.owner.id
            for call in self.calls
            if isinstance(call, LayerCall) and call.owner.id != call.node.id
        }

    @property
    def layer_calls(self) -> tuple[LayerCall, ...]:
        """The calls of single layers: every call of a flat plan (one without block calls)."""
        return tuple(call for call in self.calls if isinstance(call, LayerCall))

    def input_constructor(self, node: Node) -> str:
        spec = self.writer.catalog.get(INPUT_TYPE, INPUT_SPEC)
        return self.writer.input_constructor(spec, node.params, node.name)

    def symbolic_input(self, node: Node, shape: str) -> str:
        """`keras.KerasTensor(<shape>)` with the dtype (and sparseness) of the Input `node`."""
        spec = self.writer.catalog.get(INPUT_TYPE, INPUT_SPEC)
        return self.writer.symbolic_input(spec, node.params, shape)


def plan_model(
    graph: ModelGraph,
    catalog: Mapping[str, LayerSpec],
    *,
    self_contained: bool = False,
    reserved: Iterable[str] = (),
) -> ModelPlan:
    """Resolve specs, imports and names, then the calls in topological order."""
    if not graph.outputs:
        raise CodegenError(f"The model '{graph.name}' has no outputs: mark at least one layer output.")
    imports = Imports(self_contained=self_contained)
    writer = LayerWriter(catalog, imports)
    live = live_nodes(graph)
    order = [node_id for node_id in graph.topological_order() if node_id in live]
    specs = {node_id: _spec_of(graph, catalog, node_id) for node_id in order}
    constructors: dict[str, str] = {}  # written first: they bind the custom classes' names
    for node_id in order:
        owner = graph.layer_owner(node_id)
        if not owner.is_input and owner.id not in constructors:
            constructors[owner.id] = writer.constructor(specs[node_id], owner.params, owner.name)
    names = python_names(graph, reserved={*reserved, *imports.bound_names})
    calls = tuple(
        layer_call(graph, names, graph.node(node_id), specs[node_id])
        for node_id in order
        if not graph.node(node_id).is_input
    )
    outputs = tuple((mark, names.tensor(mark.node, mark.port)) for mark in graph.outputs)
    return ModelPlan(graph, names, imports, writer, tuple(graph.input_nodes()), calls, outputs, constructors)


def live_nodes(graph: ModelGraph) -> set[str]:
    """Every input node and every node some model output depends on."""
    live = {node.id for node in graph.input_nodes()}
    stack = [mark.node for mark in graph.outputs]
    while stack:
        node_id = stack.pop()
        if node_id in live and not graph.node(node_id).is_input:
            continue
        live.add(node_id)
        stack.extend(edge.source for edge in graph.input_edges(node_id) if edge.source not in live)
    return live


def call_convention(spec: LayerSpec) -> str:
    """How a layer takes its inputs: "single", "positional" or "list"."""
    convention = getattr(spec, "call_convention", None)
    if convention in CALL_CONVENTIONS:
        return convention
    if spec.ports.variadic:
        return "list"
    return "positional" if len(spec.ports.inputs) > 1 else "single"


def _spec_of(graph: ModelGraph, catalog: Mapping[str, LayerSpec], node_id: str) -> LayerSpec:
    node = graph.node(node_id)
    if node.is_input:
        return catalog.get(INPUT_TYPE, INPUT_SPEC)
    owner = graph.layer_owner(node_id)
    spec = catalog.get(owner.type) or find_spec(catalog, owner.type)
    if spec is None:
        raise CodegenError(
            f"'{node.name}' is a {owner.type} layer, which the catalog does not know. "
            "Load the module that defines it, or replace the node."
        )
    return spec


def layer_call(graph: ModelGraph, names: NameMap, node: Node, spec: LayerSpec) -> LayerCall:
    """The call of `node`'s layer, its tensors named by `names`."""
    owner = graph.layer_owner(node.id)
    edges = graph.input_edges(node.id)
    if not edges:
        raise CodegenError(f"'{node.name}' ({node.type}) has no input connected; connect one or remove it.")
    tensors = {edge.target_port: names.tensor(edge.source, edge.source_port) for edge in edges}
    arguments = _arguments(node, call_convention(spec), tensors)
    switches = [f"{key}={value!r}" for key, value in spec.call_params(owner.params).items()]
    arguments = ", ".join([arguments, *switches])
    ports = node.ports.outputs or ("output",)
    targets = tuple(names.tensor(node.id, port) for port in range(len(ports)))
    return LayerCall(node, owner, spec, arguments, targets)


def _arguments(node: Node, convention: str, tensors: dict[int, str]) -> str:
    fixed = {port: tensor for port, tensor in tensors.items() if not node.ports.is_optional(port)}
    _, keywords = node.ports.split_arguments(tensors)
    return ", ".join([_fixed_arguments(node, convention, fixed), *_keyword_arguments(keywords)])


def _keyword_arguments(keywords: Mapping[str, str | list[str | None]]) -> list[str]:
    """Optional ports by keyword: `key=value_1`, `initial_state=[lstm_h, lstm_c]`."""
    written = []
    for name, value in keywords.items():
        text = value if isinstance(value, str) else "[" + ", ".join(str(item) for item in value) + "]"
        written.append(f"{name}={text}")
    return written


def _fixed_arguments(node: Node, convention: str, tensors: dict[int, str]) -> str:
    ports = sorted(tensors)
    if convention == "list":
        return "[" + ", ".join(tensors[port] for port in ports) + "]"
    if convention == "single":
        if ports != [0]:
            raise CodegenError(f"'{node.name}' ({node.type}) takes one input, on its first port.")
        return tensors[0]
    arguments: list[str] = []
    for port in ports:  # positional up to the first gap, then by port name
        if port == len(arguments) and all("=" not in a for a in arguments):
            arguments.append(tensors[port])
        else:
            arguments.append(f"{_port_name(node, port)}={tensors[port]}")
    return ", ".join(arguments)


def _port_name(node: Node, port: int) -> str:
    if port >= len(node.ports.inputs):
        raise CodegenError(f"'{node.name}' ({node.type}) has no input port {port}.")
    return node.ports.inputs[port]
