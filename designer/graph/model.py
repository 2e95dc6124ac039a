"""The design itself: nodes (layer calls), edges between their ports, model outputs.

`ModelGraph` is the single source of truth of a design. It knows nothing of Qt or
Keras. Every change goes through one mutator, which validates, applies and then
emits one past-tense psygnal signal, and emits only when something really
changed (the orange-canvas habit). Views subscribe to the signals; they never
mutate nodes directly.
"""

from __future__ import annotations

import copy
import itertools
import keyword
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from psygnal import Signal

from designer.graph.errors import (
    CycleError,
    GraphError,
    NameError_,
    PortError,
    PortOccupiedError,
    SharingError,
    UnknownNodeError,
)

INPUT_TYPE = "Input"


@dataclass(frozen=True)
class PortLayout:
    """The ports of a layer call.

    `inputs` names the fixed input ports in call order. A `variadic` layer
    (Add, Concatenate...) takes a list: it has as many ports as are connected,
    at least `min_inputs`. `outputs` names the tensors the call returns.
    """

    inputs: tuple[str, ...] = ("inputs",)
    outputs: tuple[str, ...] = ("output",)
    variadic: bool = False
    min_inputs: int = 1

    def accepts_input_port(self, index: int) -> bool:
        return index >= 0 and (self.variadic or index < len(self.inputs))

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "variadic": self.variadic,
            "min_inputs": self.min_inputs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortLayout:
        return cls(
            inputs=tuple(data["inputs"]),
            outputs=tuple(data["outputs"]),
            variadic=bool(data["variadic"]),
            min_inputs=int(data["min_inputs"]),
        )


INPUT_PORTS = PortLayout(inputs=(), min_inputs=0)
MERGE_PORTS = PortLayout(inputs=("inputs",), variadic=True, min_inputs=2)


@dataclass(frozen=True, order=True)
class Edge:
    """A tensor flowing from output `source_port` of `source` to input `target_port` of `target`."""

    source: str
    source_port: int
    target: str
    target_port: int


@dataclass(frozen=True)
class ModelOutput:
    """Output `port` of `node` is a model output called `name`."""

    node: str
    port: int
    name: str


@dataclass
class Node:
    """One layer call on the canvas.

    `type` is the catalog key of the layer ("Dense", "Input", "layers.Linear").
    `params` are JSON values (lists for tuples). An Input node keeps its tensor
    shape (without the batch axis, None for unknown dims) and dtype in params.
    `shares` names another node whose layer (and weights) this call reuses; such
    a node has no params of its own.
    """

    id: str
    type: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)
    ports: PortLayout = field(default_factory=PortLayout)
    shares: str | None = None

    @property
    def is_input(self) -> bool:
        return self.type == INPUT_TYPE


def is_valid_name(name: str) -> bool:
    """A node name must be usable as a Python identifier in generated code."""
    return (
        isinstance(name, str)
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")  # TensorFlow refuses such layer names as name scopes
    )


class ModelGraph:
    """A directed graph of layer calls with ordered, indexed ports."""

    node_added = Signal(object)  # Node
    node_removed = Signal(object)  # Node
    edge_added = Signal(object)  # Edge
    edge_removed = Signal(object)  # Edge
    params_changed = Signal(str, object, object)  # node id, old params, new params
    node_renamed = Signal(str, str, str)  # node id, old name, new name
    node_moved = Signal(str, object)  # node id, new position
    sharing_changed = Signal(str, object)  # node id, id of the node it shares or None
    outputs_changed = Signal(object)  # tuple of ModelOutput
    name_changed = Signal(str)  # the model's name

    def __init__(self, name: str = "model") -> None:
        self._name = name
        self._nodes: dict[str, Node] = {}
        self._edges: set[Edge] = set()
        self._incoming: dict[str, dict[int, Edge]] = {}
        self._outgoing: dict[str, set[Edge]] = {}
        self._outputs: list[ModelOutput] = []
        self._ids = itertools.count(1)
        self._sharers: dict[str, set[str]] = {}
        self.structure_version = 0  # bumped by every change of nodes, edges or sharing

    # ----------------------------------------------------------------- queries
    @property
    def name(self) -> str:
        return self._name

    @property
    def nodes(self) -> dict[str, Node]:
        """Nodes by id, in insertion order. Read only: mutate through the graph."""
        return self._nodes

    @property
    def edges(self) -> list[Edge]:
        return sorted(self._edges)

    @property
    def outputs(self) -> tuple[ModelOutput, ...]:
        return tuple(self._outputs)

    def node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise UnknownNodeError(f"There is no node with id '{node_id}'.") from None

    def node_by_name(self, name: str) -> Node | None:
        return next((n for n in self._nodes.values() if n.name == name), None)

    def input_edges(self, node_id: str) -> list[Edge]:
        """The edges into `node_id`, ordered by input port."""
        incoming = self._incoming.get(node_id, {})
        return [incoming[port] for port in sorted(incoming)]

    def output_edges(self, node_id: str) -> list[Edge]:
        return sorted(self._outgoing.get(node_id, ()))

    def edge_into(self, node_id: str, port: int) -> Edge | None:
        return self._incoming.get(node_id, {}).get(port)

    def input_nodes(self) -> list[Node]:
        return [n for n in self._nodes.values() if n.is_input]

    def input_port_count(self, node_id: str) -> int:
        """Ports shown for a node: its fixed ports, or for a variadic one every
        connected port plus one free port (and at least `min_inputs`)."""
        node = self.node(node_id)
        if not node.ports.variadic:
            return len(node.ports.inputs)
        used = max(self._incoming.get(node_id, {}), default=-1) + 1
        return max(node.ports.min_inputs, used + 1)

    def layer_owner(self, node_id: str) -> Node:
        """The node whose params define this node's layer (itself unless shared)."""
        node = self.node(node_id)
        return self._nodes[node.shares] if node.shares else node

    def sharers(self, node_id: str) -> list[Node]:
        return [self._nodes[n] for n in sorted(self._sharers.get(node_id, ()), key=self._order_key)]

    def _order_key(self, node_id: str) -> int:
        return list(self._nodes).index(node_id)

    def output_names(self, node_id: str) -> dict[int, str]:
        return {o.port: o.name for o in self._outputs if o.node == node_id}

    def to_networkx(self) -> nx.MultiDiGraph:
        """The graph as networkx sees it: node ids, one edge per Edge (keyed by it)."""
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(self._nodes)
        for edge in self._edges:
            graph.add_edge(edge.source, edge.target, key=edge)
        return graph

    def topological_order(self) -> list[str]:
        """Node ids, sources first; ties broken by insertion order (deterministic)."""
        order = {node_id: index for index, node_id in enumerate(self._nodes)}
        graph = nx.DiGraph()
        graph.add_nodes_from(self._nodes)
        graph.add_edges_from((e.source, e.target) for e in self._edges)
        return list(nx.lexicographical_topological_sort(graph, key=order.__getitem__))

    def downstream(self, node_ids: Iterable[str]) -> set[str]:
        """The given nodes and every node reachable from them (sharers included:
        a shared layer's params change every call of it)."""
        stack = list(node_ids)
        seen: set[str] = set()
        while stack:
            node_id = stack.pop()
            if node_id in seen or node_id not in self._nodes:
                continue
            seen.add(node_id)
            stack.extend(e.target for e in self._outgoing.get(node_id, ()))
            stack.extend(n.id for n in self.sharers(node_id))
        return seen

    def reaches(self, source: str, target: str) -> list[str] | None:
        """A path of node ids from source to target, or None."""
        parents: dict[str, str | None] = {source: None}
        stack = [source]
        while stack:
            node_id = stack.pop()
            if node_id == target:
                path = [node_id]
                while parents[path[-1]] is not None:
                    path.append(parents[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            for edge in self._outgoing.get(node_id, ()):
                if edge.target not in parents:
                    parents[edge.target] = node_id
                    stack.append(edge.target)
        return None

    def new_id(self) -> str:
        while True:
            candidate = f"n{next(self._ids)}"
            if candidate not in self._nodes:
                return candidate

    def reserve_ids(self) -> None:
        """Move the id counter past every "nN" id held, so that new_id never hands
        out the id of a loaded node, even after that node is removed (undo needs it)."""
        held = (int(node_id[1:]) for node_id in self._nodes if node_id[:1] == "n" and node_id[1:].isdigit())
        following = max(next(self._ids), max(held, default=0) + 1)
        self._ids = itertools.count(following)

    def unique_name(self, base: str, exclude: str | None = None) -> str:
        """`base` if free, else base_1, base_2...; `exclude` is a node id whose own
        name does not count as taken."""
        stem = _identifier_stem(base)
        taken = {n.name for n in self._nodes.values() if n.id != exclude}
        if stem not in taken:
            return stem
        for index in itertools.count(1):
            candidate = f"{stem}_{index}"
            if candidate not in taken:
                return candidate
        raise AssertionError("unreachable")

    def copy(self) -> ModelGraph:
        """A deep copy without signal connections."""
        clone = ModelGraph(self._name)
        for node in self._nodes.values():
            clone._insert_node(copy.deepcopy(node))
        for edge in self._edges:
            clone._insert_edge(edge)
        clone._outputs = list(self._outputs)
        return clone

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelGraph):
            return NotImplemented
        return (
            self._name == other._name
            and self._nodes == other._nodes
            and self._edges == other._edges
            and self._outputs == other._outputs
        )

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Iterator[Node]:
        return iter(self._nodes.values())

    def __len__(self) -> int:
        return len(self._nodes)

    # ------------------------------------------------------------------ checks
    def check_node(self, node: Node) -> None:
        if node.id in self._nodes:
            raise GraphError(f"A node with id '{node.id}' already exists.")
        self.check_name(node.name)
        if node.shares is not None:
            self._check_share(node, node.shares)

    def check_name(self, name: str, node_id: str | None = None) -> None:
        if not is_valid_name(name):
            raise NameError_(
                f"'{name}' is not a valid name: use letters, digits and underscores, "
                "not starting with a digit or an underscore, and not a Python keyword."
            )
        other = self.node_by_name(name)
        if other is not None and other.id != node_id:
            raise NameError_(f"The name '{name}' is already used by another node.")

    def check_connect(self, edge: Edge) -> None:
        """Raise a GraphError saying why `edge` cannot be added, else return."""
        source, target = self.node(edge.source), self.node(edge.target)
        if not 0 <= edge.source_port < len(source.ports.outputs):
            raise PortError(
                f"'{source.name}' has {len(source.ports.outputs)} output(s); "
                f"there is no output {edge.source_port}."
            )
        if not target.ports.accepts_input_port(edge.target_port):
            count = len(target.ports.inputs)
            raise PortError(
                f"'{target.name}' ({target.type}) takes {count} input(s); "
                f"there is no input {edge.target_port}."
            )
        if edge.source == edge.target:
            raise CycleError(
                f"Cannot connect '{source.name}' to itself: a layer cannot feed its own input.",
                [edge.source],
            )
        path = self.reaches(edge.target, edge.source)
        if path is not None:
            names = " -> ".join(self._nodes[n].name for n in [*path, edge.target])
            raise CycleError(
                f"Connecting '{source.name}' to '{target.name}' would make a cycle: {names}.",
                path,
            )
        existing = self.edge_into(edge.target, edge.target_port)
        if existing is not None:
            raise PortOccupiedError(
                f"Input {edge.target_port} of '{target.name}' is already fed by "
                f"'{self._nodes[existing.source].name}'.",
                existing,
            )

    def _check_share(self, node: Node, owner_id: str) -> None:
        owner = self.node(owner_id)
        if owner.shares is not None:
            raise SharingError(f"'{owner.name}' itself shares a layer; share '{owner.shares}' instead.")
        if owner.type != node.type or owner.is_input:
            raise SharingError(
                f"'{node.name}' ({node.type}) cannot share the layer of '{owner.name}' ({owner.type})."
            )

    # ---------------------------------------------------------------- mutators
    def set_name(self, name: str) -> None:
        if not is_valid_name(name):
            raise NameError_(f"'{name}' is not a valid model name: use a Python identifier.")
        if name != self._name:
            self._name = name
            self.name_changed.emit(name)

    def add_node(self, node: Node) -> Node:
        self.check_node(node)
        self._insert_node(node)
        self.node_added.emit(node)
        return node

    def remove_node(self, node_id: str) -> Node:
        """Remove a node with its edges, its output marks and the nodes' sharing of it."""
        node = self.node(node_id)
        for edge in self.input_edges(node_id) + self.output_edges(node_id):
            self.disconnect(edge)
        for sharer in self.sharers(node_id):
            self.set_shares(sharer.id, None)
        for output in [o for o in self._outputs if o.node == node_id]:
            self.unmark_output(output.node, output.port)
        self._unlink_sharer(node)
        del self._nodes[node_id]
        self._sharers.pop(node_id, None)
        self.structure_version += 1
        self._incoming.pop(node_id, None)
        self._outgoing.pop(node_id, None)
        self.node_removed.emit(node)
        return node

    def connect(self, edge: Edge) -> Edge:
        self.check_connect(edge)
        self._insert_edge(edge)
        self.edge_added.emit(edge)
        return edge

    def disconnect(self, edge: Edge) -> None:
        if edge not in self._edges:
            raise GraphError(f"There is no edge {edge}.")
        self._edges.discard(edge)
        self.structure_version += 1
        del self._incoming[edge.target][edge.target_port]
        self._outgoing[edge.source].discard(edge)
        self.edge_removed.emit(edge)

    def set_params(self, node_id: str, params: dict[str, Any]) -> None:
        node = self.node(node_id)
        if node.shares is not None:
            owner = self._nodes[node.shares].name
            raise SharingError(f"'{node.name}' shares the layer of '{owner}': edit '{owner}' instead.")
        if params == node.params:
            return
        old, node.params = node.params, copy.deepcopy(params)
        self.params_changed.emit(node_id, old, node.params)

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        if name == node.name:
            return
        self.check_name(name, node_id)
        old, node.name = node.name, name
        self.node_renamed.emit(node_id, old, name)

    def move(self, node_id: str, position: tuple[float, float]) -> None:
        node = self.node(node_id)
        position = (float(position[0]), float(position[1]))
        if position == node.position:
            return
        node.position = position
        self.node_moved.emit(node_id, position)

    def set_shares(self, node_id: str, owner_id: str | None) -> None:
        node = self.node(node_id)
        if owner_id == node.shares:
            return
        if owner_id is not None:
            if self.sharers(node_id):
                raise SharingError(f"Other nodes share the layer of '{node.name}'.")
            self._check_share(node, owner_id)
            node.params = {}
        self._unlink_sharer(node)
        node.shares = owner_id
        self._link_sharer(node)
        self.structure_version += 1
        self.sharing_changed.emit(node_id, owner_id)

    def mark_output(self, node_id: str, port: int = 0, name: str | None = None) -> ModelOutput:
        node = self.node(node_id)
        if not 0 <= port < len(node.ports.outputs):
            raise PortError(f"'{node.name}' has no output {port}.")
        name = name or node.name
        if not is_valid_name(name):
            raise NameError_(f"'{name}' is not a valid output name: use a Python identifier.")
        clash = next(
            (o for o in self._outputs if o.name == name and (o.node, o.port) != (node_id, port)), None
        )
        if clash is not None:
            raise NameError_(f"Another model output is already called '{name}'.")
        mark = ModelOutput(node_id, port, name)
        current = [o for o in self._outputs if (o.node, o.port) == (node_id, port)]
        if current == [mark]:
            return mark
        if current:
            self._outputs[self._outputs.index(current[0])] = mark
        else:
            self._outputs.append(mark)
        self.outputs_changed.emit(self.outputs)
        return mark

    def unmark_output(self, node_id: str, port: int = 0) -> None:
        before = len(self._outputs)
        self._outputs = [o for o in self._outputs if (o.node, o.port) != (node_id, port)]
        if len(self._outputs) != before:
            self.outputs_changed.emit(self.outputs)

    def set_outputs(self, outputs: Iterable[ModelOutput]) -> None:
        """Replace every output mark at once (keeps their order); used by undo."""
        outputs = list(outputs)
        if outputs != self._outputs:
            self._outputs = outputs
            self.outputs_changed.emit(self.outputs)

    # ---------------------------------------------------------------- internal
    def _insert_node(self, node: Node) -> None:
        self._nodes[node.id] = node
        self._incoming.setdefault(node.id, {})
        self._outgoing.setdefault(node.id, set())
        self._link_sharer(node)
        self.structure_version += 1

    def _link_sharer(self, node: Node) -> None:
        if node.shares is not None:
            self._sharers.setdefault(node.shares, set()).add(node.id)

    def _unlink_sharer(self, node: Node) -> None:
        if node.shares is not None:
            self._sharers.get(node.shares, set()).discard(node.id)

    def _insert_edge(self, edge: Edge) -> None:
        self._edges.add(edge)
        self._incoming[edge.target][edge.target_port] = edge
        self._outgoing[edge.source].add(edge)
        self.structure_version += 1


def _identifier_stem(base: str) -> str:
    """Turn any text into a snake_case identifier stem ("Conv2D" -> "conv2d")."""
    chars = []
    for index, char in enumerate(base):
        if char.isupper() and index and (base[index - 1].islower()):
            chars.append("_")
        chars.append(char.lower() if char.isalnum() else "_")
    stem = "".join(chars).strip("_") or "node"
    while "__" in stem:
        stem = stem.replace("__", "_")
    if stem[0].isdigit():
        stem = f"layer_{stem}"
    if keyword.iskeyword(stem):
        stem = f"{stem}_"
    return stem
