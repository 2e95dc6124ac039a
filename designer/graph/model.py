"""The design itself: nodes (layer calls), edges between their ports, model outputs, groups.

`ModelGraph` is the single source of truth of a design. It knows nothing of Qt or
Keras. Every change goes through one mutator, which validates, applies and then
emits one past-tense psygnal signal, and emits only when something really
changed (the orange-canvas habit). Views subscribe to the signals; they never
mutate nodes directly.

A `Group` gathers nodes into a block (drawn as one node, written as one
`keras.layers.Layer` subclass). The graph stays flat: a group only names its
members, so shape inference and the engine's build see through blocks.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import keyword
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import networkx as nx
from psygnal import Signal

from designer.graph.errors import (
    CycleError,
    GraphError,
    GroupError,
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


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, tuples of plain values), several times faster
    than copy.deepcopy on the small params of a thousand nodes; anything else is deep-copied."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    if isinstance(value, tuple):
        return tuple(copy_json(item) for item in value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)


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


@dataclass(frozen=True)
class Group:
    """Nodes drawn and generated as one block.

    `nodes` are the member ids in the block's order (its layers in `__init__`,
    its ports). `block` is the block type: instances of one library block, or
    copies, share it and with it one generated class (named after it in
    CamelCase); it defaults to `name`. `shares` is the id of another group
    whose weights this instance reuses: each member then shares the layer of
    the owner's member at the same index. `collapsed` is how the canvas shows
    the block (one node, or its members in a frame); it is saved with the design.
    """

    id: str
    name: str
    nodes: tuple[str, ...]
    block: str = ""
    shares: str | None = None
    collapsed: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if not self.block:
            object.__setattr__(self, "block", self.name)

    @property
    def class_name(self) -> str:
        return block_class_name(self.block)


@dataclass(frozen=True)
class BoundaryInput:
    """One input port of a block: the member input ports it feeds, and what feeds them.

    Member ports fed by the same outside tensor make one block input; a member
    port that nothing feeds is a block input of its own (`source` None).
    """

    consumers: tuple[tuple[str, int], ...]  # (member id, input port), in block order
    source: tuple[str, int] | None  # (node id, output port) outside the block, or None


@dataclass(frozen=True)
class BoundaryOutput:
    """One output port of a block: output `port` of member `node`, and its edges leaving the block."""

    node: str
    port: int
    edges: tuple[Edge, ...]


class Boundary(NamedTuple):
    """The ports of a block, in block order (member by member, port by port)."""

    inputs: tuple[BoundaryInput, ...]
    outputs: tuple[BoundaryOutput, ...]


def block_class_name(block: str) -> str:
    """The class a block type becomes in generated code ("conv_block" -> "ConvBlock")."""
    words = [word for word in re.split(r"[^0-9A-Za-z]+", block) if word]
    name = "".join(word[:1].upper() + word[1:] for word in words) or "Block"
    return f"Block{name}" if name[0].isdigit() else name


def is_valid_name(name: str) -> bool:
    """A node name must be usable as a Python identifier in generated code."""
    return (
        isinstance(name, str)
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")  # TensorFlow refuses such layer names as name scopes
    )


# The signals that change what the model is (every one but node_moved: a position
# changes no shape and no line of code). Views that re-analyse or regenerate listen to these.
DESIGN_SIGNALS = (
    "node_added",
    "node_removed",
    "edge_added",
    "edge_removed",
    "params_changed",
    "node_renamed",
    "sharing_changed",
    "outputs_changed",
    "name_changed",
    "group_added",
    "group_removed",
    "group_changed",
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
    group_added = Signal(object)  # Group
    group_removed = Signal(object)  # Group
    group_changed = Signal(object)  # the Group as it is now (same id)

    def __init__(self, name: str = "model") -> None:
        self._name = name
        self._nodes: dict[str, Node] = {}
        self._edges: set[Edge] = set()
        self._incoming: dict[str, dict[int, Edge]] = {}
        self._outgoing: dict[str, set[Edge]] = {}
        self._outputs: list[ModelOutput] = []
        self._ids = itertools.count(1)
        self._sharers: dict[str, set[str]] = {}
        self._groups: dict[str, Group] = {}
        self._group_of: dict[str, str] = {}  # member node id -> group id
        self._group_ids = itertools.count(1)
        self.structure_version = 0  # bumped by every change of nodes, edges, sharing or group members

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

    # ------------------------------------------------------------ group queries
    @property
    def groups(self) -> dict[str, Group]:
        """Groups by id, in insertion order. Read only: change them through the graph."""
        return self._groups

    def group(self, group_id: str) -> Group:
        try:
            return self._groups[group_id]
        except KeyError:
            raise GroupError(f"There is no group with id '{group_id}'.") from None

    def group_of(self, node_id: str) -> Group | None:
        group_id = self._group_of.get(node_id)
        return None if group_id is None else self._groups[group_id]

    def group_sharers(self, group_id: str) -> list[Group]:
        """The groups that reuse the weights of `group_id`."""
        return [group for group in self._groups.values() if group.shares == group_id]

    def boundary(self, group_id: str) -> Boundary:
        """The ports of a block: its inputs (member input ports not fed from inside,
        those fed by one outside tensor together) and its outputs (member outputs
        used outside, marked as model outputs, or used nowhere inside)."""
        group = self.group(group_id)
        members = set(group.nodes)
        return Boundary(self._boundary_inputs(group, members), self._boundary_outputs(group, members))

    def _boundary_inputs(self, group: Group, members: set[str]) -> tuple[BoundaryInput, ...]:
        inputs: list[tuple[tuple[str, int] | None, list[tuple[str, int]]]] = []
        fed_by: dict[tuple[str, int], int] = {}  # outside tensor -> its index in inputs
        for node_id in group.nodes:
            for port in self._fed_ports(node_id):
                edge = self.edge_into(node_id, port)
                if edge is not None and edge.source in members:
                    continue
                source = None if edge is None else (edge.source, edge.source_port)
                if source is not None and source in fed_by:
                    inputs[fed_by[source]][1].append((node_id, port))
                    continue
                if source is not None:
                    fed_by[source] = len(inputs)
                inputs.append((source, [(node_id, port)]))
        return tuple(BoundaryInput(tuple(consumers), source) for source, consumers in inputs)

    def _fed_ports(self, node_id: str) -> list[int]:
        """The input ports a block declares for a member: all fixed ones; for a
        variadic member the connected ones and at least `min_inputs`."""
        node = self._nodes[node_id]
        if not node.ports.variadic:
            return list(range(len(node.ports.inputs)))
        used = set(self._incoming.get(node_id, {}))
        return sorted(used | set(range(node.ports.min_inputs)))

    def _boundary_outputs(self, group: Group, members: set[str]) -> tuple[BoundaryOutput, ...]:
        found = []
        for node_id in group.nodes:
            marked = self.output_names(node_id)
            for port in range(len(self._nodes[node_id].ports.outputs)):
                edges = [e for e in self.output_edges(node_id) if e.source_port == port]
                leaving = tuple(e for e in edges if e.target not in members)
                if leaving or port in marked or not edges:
                    found.append(BoundaryOutput(node_id, port, leaving))
        return tuple(found)

    def new_group_id(self) -> str:
        while True:
            candidate = f"g{next(self._group_ids)}"
            if candidate not in self._groups and candidate not in self._nodes:
                return candidate

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
        groups = (
            int(group_id[1:]) for group_id in self._groups if group_id[:1] == "g" and group_id[1:].isdigit()
        )
        self._group_ids = itertools.count(max(next(self._group_ids), max(groups, default=0) + 1))

    def unique_name(self, base: str, exclude: str | None = None) -> str:
        """`base` if free among node and group names, else base_1, base_2...;
        `exclude` is a node or group id whose own name does not count as taken."""
        stem = _identifier_stem(base)
        taken = {n.name for n in self._nodes.values() if n.id != exclude}
        taken |= {g.name for g in self._groups.values() if g.id != exclude}
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
        for node in self._nodes.values():  # params are JSON values: copied without deepcopy's bookkeeping
            clone._insert_node(dataclasses.replace(node, params=copy_json(node.params)))
        for edge in self._edges:
            clone._insert_edge(edge)
        clone._outputs = list(self._outputs)
        for group in self._groups.values():
            clone._insert_group(group)
        return clone

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelGraph):
            return NotImplemented
        return (
            self._name == other._name
            and self._nodes == other._nodes
            and self._edges == other._edges
            and self._outputs == other._outputs
            and list(self._groups.values()) == list(other._groups.values())
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
        if node.id in self._groups:
            raise GraphError(f"A group has the id '{node.id}'; give the node another id.")
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
        group = next((g for g in self._groups.values() if g.name == name), None)
        if group is not None and group.id != node_id:
            raise NameError_(f"The name '{name}' is already used by the block '{name}'.")

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
        self._check_block_cycle(edge)
        existing = self.edge_into(edge.target, edge.target_port)
        if existing is not None:
            raise PortOccupiedError(
                f"Input {edge.target_port} of '{target.name}' is already fed by "
                f"'{self._nodes[existing.source].name}'.",
                existing,
            )

    def _check_block_cycle(self, edge: Edge) -> None:
        """Refuse an edge that would let a tensor leave a block and come back into it:
        a block is called as one layer, so the graph of blocks must stay acyclic."""
        source_group, target_group = self._group_of.get(edge.source), self._group_of.get(edge.target)
        if not self._groups or (source_group is not None and source_group == target_group):
            return
        goal = set(self._unit(edge.source, self._groups, self._group_of))
        path = self._unit_path([edge.target], goal, self._groups, self._group_of)
        if path is not None:
            blocks = sorted({self._groups[self._group_of[n]].name for n in path if n in self._group_of})
            names = " -> ".join(self._nodes[n].name for n in [edge.source, *path])
            raise CycleError(
                f"Connecting '{self._nodes[edge.source].name}' to '{self._nodes[edge.target].name}' would "
                f"make a cycle through the block '{blocks[0]}': {names}. A block is called as one layer, "
                "so nothing may flow out of it and back in.",
                [edge.source, *path],
            )

    @staticmethod
    def _unit(node_id: str, groups: dict[str, Group], group_of: dict[str, str]) -> tuple[str, ...]:
        """The node ids called together with `node_id`: its block's members, or itself."""
        group_id = group_of.get(node_id)
        return (node_id,) if group_id is None else groups[group_id].nodes

    def _unit_path(
        self, start: Iterable[str], goal: set[str], groups: dict[str, Group], group_of: dict[str, str]
    ) -> list[str] | None:
        """Node ids on a path from `start` to a node of `goal`, each block entered as a whole; or None."""
        return _walk_units(
            start,
            goal,
            lambda node_id: sorted(edge.target for edge in self._outgoing.get(node_id, ())),
            lambda node_id: self._unit(node_id, groups, group_of),
        )

    def check_group(self, group: Group, groups: dict[str, Group] | None = None) -> None:
        """Raise a GraphError saying why `group` cannot sit in the graph beside
        `groups` (by default the graph's own), else return."""
        others = {k: g for k, g in (self._groups if groups is None else groups).items() if k != group.id}
        self._check_group_names(group, others)
        self._check_group_members(group, others)
        self._check_group_sharing(group, others)
        self._check_group_cycle(group, others)

    def _check_group_names(self, group: Group, others: dict[str, Group]) -> None:
        if not group.id or group.id in self._nodes:
            raise GroupError(f"'{group.id}' cannot be a group id: it is empty or a node's id.")
        for text, what in ((group.name, "name"), (group.block, "block type")):
            if not is_valid_name(text):
                raise NameError_(
                    f"'{text}' is not a valid block {what}: use letters, digits and underscores, "
                    "not starting with a digit or an underscore, and not a Python keyword."
                )
        if self.node_by_name(group.name) is not None:
            raise NameError_(
                f"The name '{group.name}' is already used by a node; blocks and nodes need distinct names."
            )
        for other in others.values():
            if other.name == group.name:
                raise NameError_(f"The name '{group.name}' is already used by another block.")
            if other.block != group.block and other.class_name == group.class_name:
                raise NameError_(
                    f"The block types '{group.block}' and '{other.block}' would both become the class "
                    f"{group.class_name}; rename one of them."
                )

    def _check_group_members(self, group: Group, others: dict[str, Group]) -> None:
        if not group.nodes:
            raise GroupError(f"The block '{group.name}' has no nodes; select at least one node to group.")
        if len(set(group.nodes)) != len(group.nodes):
            raise GroupError(f"The block '{group.name}' lists a node twice.")
        taken = {node_id: other for other in others.values() for node_id in other.nodes}
        for node_id in group.nodes:
            node = self.node(node_id)
            if node.is_input:
                raise GroupError(
                    f"'{node.name}' is an Input node; a block takes its inputs from outside, so leave "
                    "Input nodes out of it."
                )
            if node_id in taken:
                raise GroupError(
                    f"'{node.name}' is already in the block '{taken[node_id].name}'; blocks cannot be "
                    "nested or overlap. Ungroup it first."
                )

    def _check_group_sharing(self, group: Group, others: dict[str, Group]) -> None:
        if group.shares is None:
            return
        owner = others.get(group.shares)
        if owner is None:
            raise GroupError(
                f"The block '{group.name}' shares the weights of group '{group.shares}', "
                "which does not exist."
            )
        if owner.shares is not None:
            raise GroupError(
                f"The block '{owner.name}' itself shares weights; make '{group.name}' share "
                f"'{owner.shares}' instead."
            )
        if owner.block != group.block or len(owner.nodes) != len(group.nodes):
            raise GroupError(
                f"The block '{group.name}' ({group.block}, {len(group.nodes)} nodes) cannot share the "
                f"weights of '{owner.name}' ({owner.block}, {len(owner.nodes)} nodes): expected the same "
                "block type and node count."
            )

    def _check_group_cycle(self, group: Group, others: dict[str, Group]) -> None:
        groups = {**others, group.id: group}
        group_of = {node_id: g.id for g in groups.values() for node_id in g.nodes}
        members = set(group.nodes)
        leaving = [e.target for m in group.nodes for e in self.output_edges(m) if e.target not in members]
        path = self._unit_path(leaving, members, groups, group_of)
        if path is not None:
            outside = next(self._nodes[n].name for n in path if n not in members)
            raise CycleError(
                f"'{outside}' lies between nodes of the block '{group.name}': the block would feed "
                "itself. Add it to the block, or leave out the nodes after it.",
                path,
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
        """Remove a node with its edges, its output marks, the nodes' sharing of it
        and its place in a group (a group left empty is removed)."""
        node = self.node(node_id)
        for edge in self.input_edges(node_id) + self.output_edges(node_id):
            self.disconnect(edge)
        for sharer in self.sharers(node_id):
            self.set_shares(sharer.id, None)
        for output in [o for o in self._outputs if o.node == node_id]:
            self.unmark_output(output.node, output.port)
        group = self.group_of(node_id)
        if group is not None:
            self._leave_group(group, node_id)
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

    def add_group(self, group: Group) -> Group:
        """Group existing nodes into a block; the nodes, edges and params stay as they are."""
        if group.id in self._groups:
            raise GroupError(f"A group with id '{group.id}' already exists.")
        self.check_group(group)
        self._insert_group(group)
        self.group_added.emit(group)
        return group

    def remove_group(self, group_id: str) -> Group:
        """Ungroup: the members stay, as plain nodes."""
        group = self.group(group_id)
        sharers = self.group_sharers(group_id)
        if sharers:
            raise GroupError(
                f"The block '{sharers[0].name}' shares the weights of '{group.name}'; ungroup it first."
            )
        self._delete_group(group)
        self.group_removed.emit(group)
        return group

    def update_group(self, group: Group) -> None:
        """Replace the group with the same id (members, name, block type, sharing, collapsed)."""
        old = self.group(group.id)
        if group == old:
            return
        self.check_group(group)
        sharers = self.group_sharers(group.id)
        if sharers and (
            group.shares is not None or (group.block, len(group.nodes)) != (old.block, len(old.nodes))
        ):
            raise GroupError(
                f"The block '{sharers[0].name}' shares the weights of '{old.name}': its block type, "
                "node count and sharing cannot change."
            )
        self._replace_group(group)
        self.group_changed.emit(group)

    def rename_group(self, group_id: str, name: str) -> None:
        """Rename a block; its block type follows when it was the name and no other block has it."""
        group = self.group(group_id)
        alone = all(other.block != group.block for other in self._groups.values() if other.id != group_id)
        block = name if alone and group.block == group.name else group.block
        self.update_group(dataclasses.replace(group, name=name, block=block))

    def set_group_collapsed(self, group_id: str, collapsed: bool) -> None:
        self.update_group(dataclasses.replace(self.group(group_id), collapsed=bool(collapsed)))

    def set_groups(self, groups: Iterable[Group]) -> None:
        """Replace every group at once (keeps their order); used by undo."""
        new = {group.id: group for group in groups}
        if list(new.values()) == list(self._groups.values()):
            return
        for group in new.values():
            self.check_group(group, new)
        old = dict(self._groups)
        self._groups, self._group_of = {}, {}
        for group in new.values():
            self._insert_group(group)
        for group in old.values():
            if group.id not in new:
                self.group_removed.emit(group)
        for group in new.values():
            if group.id not in old:
                self.group_added.emit(group)
            elif old[group.id] != group:
                self.group_changed.emit(group)

    # ---------------------------------------------------------------- internal
    def _insert_group(self, group: Group) -> None:
        self._groups[group.id] = group
        self._group_of.update(dict.fromkeys(group.nodes, group.id))
        self.structure_version += 1

    def _delete_group(self, group: Group) -> None:
        del self._groups[group.id]
        for node_id in group.nodes:
            self._group_of.pop(node_id, None)
        self.structure_version += 1

    def _replace_group(self, group: Group) -> None:
        """Put `group` in the place of the group with its id (the order of groups is kept)."""
        old = self._groups[group.id]
        for node_id in old.nodes:
            self._group_of.pop(node_id, None)
        self._groups[group.id] = group
        self._group_of.update(dict.fromkeys(group.nodes, group.id))
        if old.nodes != group.nodes:
            self.structure_version += 1

    def _leave_group(self, group: Group, node_id: str) -> None:
        """A removed node leaves its group; a group left empty goes, and its sharers stop sharing it."""
        remaining = tuple(n for n in group.nodes if n != node_id)
        if remaining:
            changed = dataclasses.replace(group, nodes=remaining)
            self._replace_group(changed)
            self.group_changed.emit(changed)
            return
        for sharer in self.group_sharers(group.id):
            unshared = dataclasses.replace(sharer, shares=None)
            self._replace_group(unshared)
            self.group_changed.emit(unshared)
        self._delete_group(group)
        self.group_removed.emit(group)

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


def _walk_units(
    start: Iterable[str],
    goal: set[str],
    successors: Callable[[str], Iterable[str]],
    unit: Callable[[str], Iterable[str]],
) -> list[str] | None:
    """A path from `start` to a node of `goal`, where reaching a node reaches its whole
    unit (its block) at once; None when there is none."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []

    def enter(node_id: str, parent: str | None) -> None:
        parents[node_id] = parent
        stack.append(node_id)
        for member in unit(node_id):
            if member not in parents:
                parents[member] = node_id
                stack.append(member)

    for node_id in start:
        enter(node_id, None)
    while stack:
        node_id = stack.pop()
        for target in successors(node_id):
            if target in goal:
                path = [target, node_id]
                while parents[path[-1]] is not None:
                    path.append(parents[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            if target not in parents:
                enter(target, node_id)
    return None


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
