"""The design itself: nodes (layer calls), edges between their ports, model outputs, groups.

`ModelGraph` is the single source of truth of a design. It knows nothing of Qt or
Keras. Every change goes through one mutator, which validates, applies and then
emits one past-tense psygnal signal, and emits only when something really
changed (the orange-canvas habit). A gesture is validated before its commands
are pushed by a check that raises the mutator's `GraphError` and changes
nothing (`check_node`, `check_name`, `check_connect(edge, replacing=...)`,
`check_output`, `check_group`, `check_add_group`, `check_update_group`,
`check_remove_groups`; some also about nodes and edges not added yet), never
by trying it on a copy of the graph.

The signals are the `GraphEvents` group `graph.events`, the one way to
subscribe: `graph.events.connect(callback)` gets every emission as an
`EmissionInfo` (`info.signal.name`, `info.args`; `changes_design(info)` is False
only for moves), `graph.events.node_added.connect(callback)` gets one signal's
arguments. Views never mutate nodes directly.

    node_added(node)                      node_removed(node)
    edge_added(edge)                      edge_removed(edge)
    params_changed(node_id, old, new)     node_renamed(node_id, old_name, new_name)
    node_moved(node_id, position)         sharing_changed(node_id, owner_id or None)
    outputs_changed(outputs)              name_changed(name)
    group_added(group)                    group_removed(group)
    group_changed(group)                  (the group as it is now, same id)

A `Group` gathers nodes into a block (drawn as one node, written as one
`keras.layers.Layer` subclass). The graph stays flat: a group only names its
members, so shape inference and the engine's build see through blocks. The
rules of blocks live in `block_rules`.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import keyword
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import networkx as nx
from psygnal import EmissionInfo, Signal, SignalGroup

from designer.graph import block_rules
from designer.graph.block_rules import Boundary as Boundary  # re-exported: callers import them from here
from designer.graph.block_rules import BoundaryInput as BoundaryInput
from designer.graph.block_rules import BoundaryOutput as BoundaryOutput
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
from designer.graph.errors import (
    is_valid_name as is_valid_name,
)

INPUT_TYPE = "Input"
T = TypeVar("T")


@dataclass(frozen=True)
class OutputRule:
    """Output ports a layer adds when its params say so (LSTM's `return_state`).

    `when` pairs a param with the value it must have: a key of the node's params,
    or a dotted path into a nested layer ("layer.config.return_state"); when all
    hold, `outputs` follow the layout's own outputs."""

    when: tuple[tuple[str, Any], ...]
    outputs: tuple[str, ...]

    def matches(self, params: Mapping[str, Any]) -> bool:
        return all(_param_at(params, path) == value for path, value in self.when)

    def to_dict(self) -> dict[str, Any]:
        return {"when": [[path, value] for path, value in self.when], "outputs": list(self.outputs)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutputRule:
        return cls(tuple((str(path), value) for path, value in data["when"]), tuple(data["outputs"]))


def _param_at(params: Mapping[str, Any], path: str) -> Any:
    value: Any = params
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


@dataclass(frozen=True)
class PortLayout:
    """The ports of a layer call.

    `inputs` names the fixed input ports in call order. A `variadic` layer
    (Add, Concatenate...) takes a list: it has as many ports as are connected,
    at least `min_inputs`. `outputs` names the tensors the call returns.

    `optional` names the optional tensor arguments of `call`, ports that follow
    `inputs` and may stay unconnected; each is passed by keyword: "key" as
    `key=tensor`, "initial_state[1]" as item 1 of `initial_state=[...]` (None where
    an item is unconnected). `output_rules` add outputs that depend on the params;
    `for_params` applies them (a node's own layout is the one for its params).
    """

    inputs: tuple[str, ...] = ("inputs",)
    outputs: tuple[str, ...] = ("output",)
    variadic: bool = False
    min_inputs: int = 1
    optional: tuple[str, ...] = ()
    output_rules: tuple[OutputRule, ...] = ()

    def accepts_input_port(self, index: int) -> bool:
        return index >= 0 and (self.variadic or index < len(self.inputs) + len(self.optional))

    def is_optional(self, index: int) -> bool:
        """Whether input port `index` is an optional argument (it may stay unconnected)."""
        return not self.variadic and len(self.inputs) <= index < len(self.inputs) + len(self.optional)

    def input_names(self) -> tuple[str, ...]:
        """The fixed input ports then the optional ones, in port order."""
        return (*self.inputs, *self.optional)

    def for_params(self, params: Mapping[str, Any]) -> PortLayout:
        """This layout with the outputs its rules add for `params`."""
        if not self.output_rules:
            return self
        added_names = {name for rule in self.output_rules for name in rule.outputs}
        base = [name for name in self.outputs if name not in added_names]  # a layout for other params
        added = [name for rule in self.output_rules if rule.matches(params) for name in rule.outputs]
        return dataclasses.replace(self, outputs=(*base, *added))

    def split_arguments(self, tensors: Mapping[int, T]) -> tuple[list[T], dict[str, T | list[T | None]]]:
        """The tensors by port, as a call takes them: the fixed ports' in port order, and
        the optional ports' by keyword (items of a list argument in their places)."""
        fixed = [tensors[port] for port in sorted(tensors) if not self.is_optional(port)]
        keywords: dict[str, T | list[T | None]] = {}
        for port in sorted(tensors):
            if not self.is_optional(port):
                continue
            name, index = _argument_item(self.optional[port - len(self.inputs)])
            if index is None:
                keywords[name] = tensors[port]
                continue
            items = keywords.setdefault(name, [None] * self._list_length(name))
            assert isinstance(items, list)
            items[index] = tensors[port]
        return fixed, keywords

    def _list_length(self, argument: str) -> int:
        indexes = [_argument_item(name)[1] for name in self.optional if _argument_item(name)[0] == argument]
        return max((i for i in indexes if i is not None), default=0) + 1

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "variadic": self.variadic,
            "min_inputs": self.min_inputs,
        }
        if self.optional:
            data["optional"] = list(self.optional)
        if self.output_rules:
            data["output_rules"] = [rule.to_dict() for rule in self.output_rules]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortLayout:
        return cls(
            inputs=tuple(data["inputs"]),
            outputs=tuple(data["outputs"]),
            variadic=bool(data["variadic"]),
            min_inputs=int(data["min_inputs"]),
            optional=tuple(data.get("optional", ())),
            output_rules=tuple(OutputRule.from_dict(rule) for rule in data.get("output_rules", ())),
        )


_ITEM = re.compile(r"^(\w+)\[(\d+)\]$")


def _argument_item(port_name: str) -> tuple[str, int | None]:
    """("initial_state", 1) for "initial_state[1]", ("key", None) for "key"."""
    match = _ITEM.match(port_name)
    return (match.group(1), int(match.group(2))) if match else (port_name, None)


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


def block_class_name(block: str) -> str:
    """The class a block type becomes in generated code ("conv_block" -> "ConvBlock")."""
    words = [word for word in re.split(r"[^0-9A-Za-z]+", block) if word]
    name = "".join(word[:1].upper() + word[1:] for word in words) or "Block"
    return f"Block{name}" if name[0].isdigit() else name


class GraphEvents(SignalGroup):
    """The past-tense signals of one ModelGraph (see the module docstring)."""

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


def changes_design(event: EmissionInfo) -> bool:
    """Whether an emission of `graph.events` changes what the model is: every signal but
    node_moved (a position changes no shape and no line of code). Views that re-analyse
    or regenerate listen to these."""
    return event.signal.name != "node_moved"


class ModelGraph:
    """A directed graph of layer calls with ordered, indexed ports; `events` announces its changes."""

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
        self.events = GraphEvents()
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
            return len(node.ports.inputs) + len(node.ports.optional)
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
        return self._path(source, target)

    def _path(self, source: str, target: str, avoiding: Edge | None = None) -> list[str] | None:
        """A path of node ids from source to target not along the edge `avoiding`, or None."""
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
                if edge.target not in parents and edge != avoiding:
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
        """The ports of a block (`block_rules.boundary`)."""
        return block_rules.boundary(self, self.group(group_id))

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
    def check_node(self, node: Node, added: Iterable[Node] = ()) -> None:
        """Raise the GraphError `add_node(node)` would, changing nothing; `added` are new
        nodes taken as added before it."""
        before = {other.id: other for other in added}
        if node.id in self._nodes or node.id in before:
            raise GraphError(f"A node with id '{node.id}' already exists.")
        if node.id in self._groups:
            raise GraphError(f"A group has the id '{node.id}'; give the node another id.")
        self.check_name(node.name, others=before.values())
        if node.shares is not None:
            self._check_share(node, before.get(node.shares) or self.node(node.shares))

    def check_name(self, name: str, node_id: str | None = None, others: Iterable[Node] = ()) -> None:
        """Raise a NameError_ when node `node_id` (or a new node) cannot be called `name`;
        `others` are new nodes whose names count as taken."""
        if not is_valid_name(name):
            raise NameError_(
                f"'{name}' is not a valid name: use letters, digits and underscores, "
                "not starting with a digit or an underscore, and not a Python keyword."
            )
        other = self.node_by_name(name) or next((n for n in others if n.name == name), None)
        if other is not None and other.id != node_id:
            raise NameError_(f"The name '{name}' is already used by another node.")
        group = next((g for g in self._groups.values() if g.name == name), None)
        if group is not None and group.id != node_id:
            raise NameError_(f"The name '{name}' is already used by the block '{name}'.")

    def check_connect(self, edge: Edge, replacing: Edge | None = None) -> None:
        """Raise a GraphError saying why `edge` cannot be added, else return; with
        `replacing`, as if that edge were disconnected first. Changes nothing."""
        if replacing is not None and replacing not in self._edges:
            raise GraphError(f"There is no edge {replacing}.")
        source, target = self.node(edge.source), self.node(edge.target)
        if not 0 <= edge.source_port < len(source.ports.outputs):
            raise PortError(
                f"'{source.name}' has {len(source.ports.outputs)} output(s); "
                f"there is no output {edge.source_port}."
            )
        if not target.ports.accepts_input_port(edge.target_port):
            count = len(target.ports.inputs)
            optional = f" and {len(target.ports.optional)} optional one(s)" if target.ports.optional else ""
            raise PortError(
                f"'{target.name}' ({target.type}) takes {count} input(s){optional}; "
                f"there is no input {edge.target_port}."
            )
        if edge.source == edge.target:
            raise CycleError(
                f"Cannot connect '{source.name}' to itself: a layer cannot feed its own input.",
                [edge.source],
            )
        path = self._path(edge.target, edge.source, avoiding=replacing)
        if path is not None:
            names = " -> ".join(self._nodes[n].name for n in [*path, edge.target])
            raise CycleError(
                f"Connecting '{source.name}' to '{target.name}' would make a cycle: {names}.",
                path,
            )
        block_rules.check_block_cycle(self, edge, self._group_of, replacing)
        existing = self.edge_into(edge.target, edge.target_port)
        if existing is not None and existing != replacing:
            raise PortOccupiedError(
                f"Input {edge.target_port} of '{target.name}' is already fed by "
                f"'{self._nodes[existing.source].name}'.",
                existing,
            )

    def check_params(self, node_id: str, params: dict[str, Any]) -> None:
        """Raise a PortError when `params` would remove an output port of the node (or of a
        node sharing its layer) that feeds a layer or is a model output (LSTM's states
        when `return_state` is turned off): such a change is refused, not half-applied."""
        for user in (self.node(node_id), *self.sharers(node_id)):
            count = len(user.ports.for_params(params).outputs)
            used = {e.source_port: self._nodes[e.target].name for e in self.output_edges(user.id)}
            used.update({o.port: f"the model output '{o.name}'" for o in self._outputs if o.node == user.id})
            lost = sorted(port for port in used if port >= count)
            if lost:
                port = lost[0]
                raise PortError(
                    f"This change removes output '{user.ports.outputs[port]}' of '{user.name}', "
                    f"which feeds {used[port]}. Disconnect it first."
                )

    def check_output(self, node_id: str, port: int = 0, name: str | None = None) -> str:
        """Raise the GraphError `mark_output` would, changing nothing; else return the name the
        mark gets (the node's name by default)."""
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
        return name

    def check_group(self, group: Group, groups: dict[str, Group] | None = None) -> None:
        """Raise a GraphError saying why `group` cannot sit in the graph beside
        `groups` (by default the graph's own), else return."""
        block_rules.check_group(self, group, groups)

    def check_add_group(
        self,
        group: Group,
        adding: Iterable[Node] = (),
        edges: Iterable[Edge] = (),
        beside: Iterable[Group] = (),
    ) -> None:
        """Raise the GraphError `add_group(group)` would, changing nothing; as if the new nodes
        `adding`, then `edges` and the new groups `beside` were added first (they are taken as
        valid: check them with `check_node` and `check_connect`)."""
        groups = {**self._groups, **{other.id: other for other in beside}}
        if group.id in groups:
            raise GroupError(f"A group with id '{group.id}' already exists.")
        block_rules.check_group(self, group, groups, adding, edges)

    def check_update_group(self, group: Group, adding: Iterable[Node] = ()) -> None:
        """Raise the GraphError `update_group(group)` would, changing nothing; with `adding`,
        as if those new nodes (without edges) were added first, as `add_node` checks them."""
        added: list[Node] = []
        for node in adding:
            self.check_node(node, added)
            added.append(node)
        block_rules.check_update_group(self, group, added)

    def check_remove_groups(self, group_ids: Iterable[str]) -> None:
        """Raise the GraphError removing these groups in this order would, changing nothing."""
        block_rules.check_remove_groups(self, group_ids)

    def _check_share(self, node: Node, owner: Node) -> None:
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
            self.events.name_changed.emit(name)

    def add_node(self, node: Node) -> Node:
        self.check_node(node)
        self._insert_node(node)
        self.events.node_added.emit(node)
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
        self.events.node_removed.emit(node)
        return node

    def connect(self, edge: Edge) -> Edge:
        self.check_connect(edge)
        self._insert_edge(edge)
        self.events.edge_added.emit(edge)
        return edge

    def disconnect(self, edge: Edge) -> None:
        if edge not in self._edges:
            raise GraphError(f"There is no edge {edge}.")
        self._edges.discard(edge)
        self.structure_version += 1
        del self._incoming[edge.target][edge.target_port]
        self._outgoing[edge.source].discard(edge)
        self.events.edge_removed.emit(edge)

    def set_params(self, node_id: str, params: dict[str, Any]) -> None:
        node = self.node(node_id)
        if node.shares is not None:
            owner = self._nodes[node.shares].name
            raise SharingError(f"'{node.name}' shares the layer of '{owner}': edit '{owner}' instead.")
        if params == node.params:
            return
        self.check_params(node_id, params)
        old, node.params = node.params, copy.deepcopy(params)
        for user in (node, *self.sharers(node_id)):
            user.ports = user.ports.for_params(node.params)
        self.events.params_changed.emit(node_id, old, node.params)

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        if name == node.name:
            return
        self.check_name(name, node_id)
        old, node.name = node.name, name
        self.events.node_renamed.emit(node_id, old, name)

    def move(self, node_id: str, position: tuple[float, float]) -> None:
        node = self.node(node_id)
        position = (float(position[0]), float(position[1]))
        if position == node.position:
            return
        node.position = position
        self.events.node_moved.emit(node_id, position)

    def set_shares(self, node_id: str, owner_id: str | None) -> None:
        node = self.node(node_id)
        if owner_id == node.shares:
            return
        if owner_id is not None:
            if self.sharers(node_id):
                raise SharingError(f"Other nodes share the layer of '{node.name}'.")
            self._check_share(node, self.node(owner_id))
            node.params = {}
        self._unlink_sharer(node)
        node.shares = owner_id
        self._link_sharer(node)
        self.structure_version += 1
        self.events.sharing_changed.emit(node_id, owner_id)

    def mark_output(self, node_id: str, port: int = 0, name: str | None = None) -> ModelOutput:
        name = self.check_output(node_id, port, name)
        mark = ModelOutput(node_id, port, name)
        current = [o for o in self._outputs if (o.node, o.port) == (node_id, port)]
        if current == [mark]:
            return mark
        if current:
            self._outputs[self._outputs.index(current[0])] = mark
        else:
            self._outputs.append(mark)
        self.events.outputs_changed.emit(self.outputs)
        return mark

    def unmark_output(self, node_id: str, port: int = 0) -> None:
        before = len(self._outputs)
        self._outputs = [o for o in self._outputs if (o.node, o.port) != (node_id, port)]
        if len(self._outputs) != before:
            self.events.outputs_changed.emit(self.outputs)

    def set_outputs(self, outputs: Iterable[ModelOutput]) -> None:
        """Replace every output mark at once (keeps their order); used by undo."""
        outputs = list(outputs)
        if outputs != self._outputs:
            self._outputs = outputs
            self.events.outputs_changed.emit(self.outputs)

    def add_group(self, group: Group) -> Group:
        """Group existing nodes into a block; the nodes, edges and params stay as they are."""
        self.check_add_group(group)
        self._insert_group(group)
        self.events.group_added.emit(group)
        return group

    def remove_group(self, group_id: str) -> Group:
        """Ungroup: the members stay, as plain nodes."""
        group = self.group(group_id)
        self.check_remove_groups([group_id])
        self._delete_group(group)
        self.events.group_removed.emit(group)
        return group

    def update_group(self, group: Group) -> None:
        """Replace the group with the same id (members, name, block type, sharing, collapsed)."""
        if group == self.group(group.id):
            return
        self.check_update_group(group)
        self._replace_group(group)
        self.events.group_changed.emit(group)

    def rename_group(self, group_id: str, name: str) -> None:
        """Rename a block; its block type follows when it was the name and no other block has it."""
        self.update_group(block_rules.renamed_group(self, group_id, name))

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
                self.events.group_removed.emit(group)
        for group in new.values():
            if group.id not in old:
                self.events.group_added.emit(group)
            elif old[group.id] != group:
                self.events.group_changed.emit(group)

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
            self.events.group_changed.emit(changed)
            return
        for sharer in self.group_sharers(group.id):
            unshared = dataclasses.replace(sharer, shares=None)
            self._replace_group(unshared)
            self.events.group_changed.emit(unshared)
        self._delete_group(group)
        self.events.group_removed.emit(group)

    def _insert_node(self, node: Node) -> None:
        self._nodes[node.id] = node
        self._incoming.setdefault(node.id, {})
        self._outgoing.setdefault(node.id, set())
        self._link_sharer(node)
        self.structure_version += 1

    def _link_sharer(self, node: Node) -> None:
        if node.shares is not None:
            self._sharers.setdefault(node.shares, set()).add(node.id)
            owner = self._nodes.get(node.shares)
            if owner is not None:  # the owner's outputs (return_state...)
                node.ports = node.ports.for_params(owner.params)

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
