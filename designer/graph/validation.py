"""Structural rules of a design: what makes a graph a model Keras can build.

`validate(graph)` runs every rule on the networkx view of the graph and returns
`Diagnostic`s, model-wide ones first, then node by node in topological order
(insertion order where a cycle leaves none). Rules look at structure only
(ports, edges, names, sharing, groups); shapes and layer arguments are the engine's.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from designer.graph.model import Edge, Group, ModelGraph, Node, is_valid_name

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Fix:
    """A fix that is one layer: insert a `insert` layer (with `params`) into `edge`."""

    insert: str
    edge: Edge
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"insert": self.insert, "edge": dataclasses.asdict(self.edge), "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fix:
        return cls(data["insert"], Edge(**data["edge"]), dict(data.get("params") or {}))


@dataclass(frozen=True)
class Diagnostic:
    """One finding: what is wrong and where (`node` id and/or `edge`), and how to fix it.

    `code` is a short stable kind ("cycle", "unconnected-input"...) for tests,
    filters and documentation links; `message` and `hint` are for people; `fix`,
    when the hint is one layer to insert, is that layer as data for a one-click fix.
    """

    severity: str
    message: str
    hint: str
    node: str | None = None
    edge: Edge | None = None
    code: str = ""
    fix: Fix | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict[str, Any]:
        """JSON form, for the engine process and saved reports."""
        edge = None if self.edge is None else dataclasses.asdict(self.edge)
        fix = None if self.fix is None else self.fix.to_dict()
        return {**dataclasses.asdict(self), "edge": edge, "fix": fix}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        edge, fix = data.get("edge"), data.get("fix")
        return cls(
            **{
                **data,
                "edge": None if edge is None else Edge(**edge),
                "fix": None if fix is None else Fix.from_dict(fix),
            }
        )


def validate(graph: ModelGraph) -> list[Diagnostic]:
    """Every structural problem of `graph`, in a deterministic order. An empty design has
    none: it is a blank page, not a broken model (the canvas says how to start)."""
    if not graph.nodes and not graph.outputs:
        return []
    view = _View(graph)
    found: list[Diagnostic] = []
    for rule in _RULES:
        found.extend(rule(view))
    position = view.position
    return sorted(found, key=lambda d: -1 if d.node is None else position.get(d.node, len(position)))


def errors(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Only the diagnostics that stop the model from being built."""
    return [diagnostic for diagnostic in diagnostics if diagnostic.is_error]


class _View:
    """What the rules share: the graph, its networkx form and each node's rank."""

    def __init__(self, graph: ModelGraph) -> None:
        self.graph = graph
        self.network = graph.to_networkx()
        self.position = {node_id: index for index, node_id in enumerate(self._order())}
        self.unfed: set[str] = set()  # nodes reported for missing inputs

    def _order(self) -> list[str]:
        insertion = {node_id: index for index, node_id in enumerate(self.graph.nodes)}
        try:
            return list(nx.lexicographical_topological_sort(self.network, key=insertion.__getitem__))
        except nx.NetworkXUnfeasible:
            return list(insertion)

    def label(self, node_id: str) -> str:
        node = self.graph.nodes[node_id]
        return f"'{node.name}' ({node.type})"

    def names(self, node_ids: Iterable[str]) -> str:
        return " -> ".join(self.graph.nodes[node_id].name for node_id in node_ids)


# ------------------------------------------------------------------ model-wide
def _check_model_name(view: _View) -> Iterator[Diagnostic]:
    name = view.graph.name
    if not is_valid_name(name):
        yield Diagnostic(
            ERROR,
            f"The model name '{name}' is not a Python identifier; it names the generated class.",
            "Rename the model with letters, digits and underscores, not starting with a digit.",
            code="invalid-name",
        )


def _check_has_input(view: _View) -> Iterator[Diagnostic]:
    if not view.graph.input_nodes():
        yield Diagnostic(
            ERROR,
            "The model has no Input node; it needs at least one to know what it is fed.",
            "Add an Input node from the palette and connect it to the first layer.",
            code="no-input",
        )


def _check_has_output(view: _View) -> Iterator[Diagnostic]:
    if not view.graph.outputs:
        yield Diagnostic(
            ERROR,
            "The model has no output; Keras needs at least one output tensor.",
            "Mark the output of the last layer as a model output.",
            code="no-output",
        )


def _check_output_marks(view: _View) -> Iterator[Diagnostic]:
    nodes = view.graph.nodes
    for mark in view.graph.outputs:
        if mark.node not in nodes:
            yield Diagnostic(
                ERROR,
                f"The model output '{mark.name}' points at node id '{mark.node}', which no longer exists.",
                f"Remove the output mark '{mark.name}' and mark an existing layer instead.",
                code="bad-output",
            )
        elif not 0 <= mark.port < len(nodes[mark.node].ports.outputs):
            count = len(nodes[mark.node].ports.outputs)
            yield Diagnostic(
                ERROR,
                f"The model output '{mark.name}' is output {mark.port} of {view.label(mark.node)}, "
                f"which has {count} output(s).",
                f"Mark one of outputs 0 to {count - 1} of '{nodes[mark.node].name}' instead.",
                node=mark.node,
                code="bad-output",
            )


# ---------------------------------------------------------------------- cycles
def _check_cycles(view: _View) -> Iterator[Diagnostic]:
    for component in nx.strongly_connected_components(view.network):
        if len(component) == 1 and not _has_self_loop(view, next(iter(component))):
            continue
        for node_id in component:
            cycle = _cycle_through(view, node_id, component)
            yield Diagnostic(
                ERROR,
                f"{view.label(node_id)} is on a cycle: {view.names(edge.source for edge in cycle)} "
                f"-> {view.graph.nodes[node_id].name}. A model must be acyclic.",
                "Remove one of the connections of the cycle; to reuse a layer, share it instead.",
                node=node_id,
                edge=cycle[0],
                code="cycle",
            )


def _has_self_loop(view: _View, node_id: str) -> bool:
    return view.network.has_edge(node_id, node_id)


def _cycle_through(view: _View, start: str, component: set[str]) -> list[Edge]:
    """The edges of a shortest cycle from `start` back to itself inside `component`."""
    reached_by: dict[str, Edge] = {}
    queue = deque([start])
    while queue:
        node_id = queue.popleft()
        for edge in sorted(key for _, target, key in view.network.out_edges(node_id, keys=True)):
            if edge.target == start:
                return _walk_back(reached_by, start, edge)
            if edge.target in component and edge.target not in reached_by:
                reached_by[edge.target] = edge
                queue.append(edge.target)
    raise AssertionError("a strongly connected component always closes a cycle")


def _walk_back(reached_by: dict[str, Edge], start: str, closing: Edge) -> list[Edge]:
    path = [closing]
    while path[-1].source != start:
        path.append(reached_by[path[-1].source])
    return path[::-1]


# ---------------------------------------------------------------------- inputs
def _check_inputs(view: _View) -> Iterator[Diagnostic]:
    for node in view.graph.nodes.values():
        check = _check_variadic_inputs if node.ports.variadic else _check_fixed_inputs
        for diagnostic in check(view, node):
            view.unfed.add(node.id)
            yield diagnostic


def _check_fixed_inputs(view: _View, node: Node) -> Iterator[Diagnostic]:
    for port, port_name in enumerate(node.ports.inputs):
        if view.graph.edge_into(node.id, port) is None:
            yield Diagnostic(
                ERROR,
                f"Input {port} ('{port_name}') of {view.label(node.id)} is not connected.",
                f"Drag a connection from a layer's output to input {port} of '{node.name}', "
                "or delete the node.",
                node=node.id,
                code="unconnected-input",
            )


def _check_variadic_inputs(view: _View, node: Node) -> Iterator[Diagnostic]:
    connected = sorted(edge.target_port for edge in view.graph.input_edges(node.id))
    if len(connected) < node.ports.min_inputs:
        yield Diagnostic(
            ERROR,
            f"{view.label(node.id)} needs at least {node.ports.min_inputs} inputs, it has {len(connected)}.",
            f"Connect {node.ports.min_inputs - len(connected)} more layer output(s) to '{node.name}'.",
            node=node.id,
            code="arity",
        )
    missing = sorted(set(range(len(connected))) - set(connected))
    if missing:
        yield Diagnostic(
            ERROR,
            f"Inputs of {view.label(node.id)} are numbered with a gap: input {missing[0]} is empty "
            f"while input {connected[-1]} is connected.",
            f"Connect input {missing[0]} of '{node.name}' or move the last connection onto it.",
            node=node.id,
            code="input-gap",
        )


def _check_ports_exist(view: _View) -> Iterator[Diagnostic]:
    nodes = view.graph.nodes
    for edge in sorted(edge for edge in _edges(view) if not _ports_exist(edge, nodes)):
        source, target = nodes[edge.source], nodes[edge.target]
        if not 0 <= edge.source_port < len(source.ports.outputs):
            where = f"output {edge.source_port} of {view.label(source.id)}"
            expected = f"it has {len(source.ports.outputs)} output(s)"
        else:
            where = f"input {edge.target_port} of {view.label(target.id)}"
            expected = f"it takes {len(target.ports.inputs)} input(s)"
        yield Diagnostic(
            ERROR,
            f"A connection uses {where}, but {expected}.",
            f"Delete the connection from '{source.name}' to '{target.name}' and connect existing ports.",
            node=edge.target,
            edge=edge,
            code="bad-port",
        )


def _edges(view: _View) -> Iterator[Edge]:
    return (key for _, _, key in view.network.edges(keys=True))


def _ports_exist(edge: Edge, nodes: dict[str, Node]) -> bool:
    source_exists = 0 <= edge.source_port < len(nodes[edge.source].ports.outputs)
    return source_exists and nodes[edge.target].ports.accepts_input_port(edge.target_port)


# ---------------------------------------------------------------- reachability
def _check_reachable(view: _View) -> Iterator[Diagnostic]:
    """Nodes no Input feeds (those already missing an input are reported for that)."""
    inputs = [node.id for node in view.graph.input_nodes()]
    if not inputs:
        return
    reached = _reach(inputs, view.network.successors)
    for node_id in view.graph.nodes:
        if node_id not in reached and node_id not in view.unfed:
            yield Diagnostic(
                ERROR,
                f"{view.label(node_id)} is not fed by any Input node, so the model cannot compute it.",
                f"Connect the layers upstream of '{view.graph.nodes[node_id].name}' to an Input, "
                "or delete them.",
                node=node_id,
                code="unreachable",
            )


def _check_dead_ends(view: _View) -> Iterator[Diagnostic]:
    outputs = [mark.node for mark in view.graph.outputs if mark.node in view.graph.nodes]
    if not outputs:
        return
    used = _reach(outputs, view.network.predecessors)
    for node_id in view.graph.nodes:
        if node_id not in used:
            yield Diagnostic(
                WARNING,
                f"The output of {view.label(node_id)} reaches no model output; it is left out of the model.",
                f"Connect '{view.graph.nodes[node_id].name}' towards an output, mark it as an output, "
                "or delete it.",
                node=node_id,
                code="dead-end",
            )


def _reach(starts: Iterable[str], neighbours: Callable[[str], Iterator[str]]) -> set[str]:
    seen = set(starts)
    stack = list(seen)
    while stack:
        for neighbour in neighbours(stack.pop()):
            if neighbour not in seen:
                seen.add(neighbour)
                stack.append(neighbour)
    return seen


# ----------------------------------------------------------------------- names
def _check_names(view: _View) -> Iterator[Diagnostic]:
    counts = Counter(node.name for node in view.graph.nodes.values())
    for node in view.graph.nodes.values():
        if not is_valid_name(node.name):
            yield Diagnostic(
                ERROR,
                f"The name '{node.name}' of a {node.type} node is not a Python identifier.",
                "Rename it with letters, digits and underscores, not starting with a digit "
                "and not a Python keyword.",
                node=node.id,
                code="invalid-name",
            )
        if counts[node.name] > 1:
            yield Diagnostic(
                ERROR,
                f"{counts[node.name]} nodes are called '{node.name}'; names must be unique "
                "because they become variable and layer names.",
                f"Rename this {node.type} node to a name no other node uses.",
                node=node.id,
                code="duplicate-name",
            )


# --------------------------------------------------------------------- sharing
def _check_sharing(view: _View) -> Iterator[Diagnostic]:
    nodes = view.graph.nodes
    for node in nodes.values():
        if node.shares is None:
            continue
        owner = nodes.get(node.shares)
        problem = _sharing_problem(node, owner)
        if problem:
            yield Diagnostic(
                ERROR,
                f"{view.label(node.id)} shares the layer of {problem}.",
                f"Make '{node.name}' share a {node.type} node that owns its layer, or stop sharing.",
                node=node.id,
                code="shared-layer",
            )


def _sharing_problem(node: Node, owner: Node | None) -> str:
    if owner is None:
        return f"node id '{node.shares}', which does not exist"
    if owner.is_input or owner.type != node.type:
        return f"'{owner.name}', a {owner.type}; expected another {node.type}"
    if owner.shares is not None:
        return f"'{owner.name}', which itself shares a layer; expected the node that owns it"
    return ""


# ---------------------------------------------------------------------- groups
def _check_groups(view: _View) -> Iterator[Diagnostic]:
    for group in view.graph.groups.values():
        yield from _group_shape(view, group)
        if group.shares is not None:
            yield from _group_shared_instance(view, group)


def _group_diagnostic(group: Group, severity: str, message: str, hint: str) -> Diagnostic:
    return Diagnostic(severity, message, hint, node=group.nodes[0], code="group")


def _group_shape(view: _View, group: Group) -> Iterator[Diagnostic]:
    """A block should be one connected piece that gives something to the model."""
    if not nx.is_weakly_connected(view.network.subgraph(group.nodes)):
        yield _group_diagnostic(
            group,
            WARNING,
            f"The block '{group.name}' is made of pieces that are not connected to each other.",
            "Group connected nodes only: make one block per piece, or connect the pieces.",
        )
    graph = view.graph
    used = [
        out
        for out in graph.boundary(group.id).outputs
        if out.edges or out.port in graph.output_names(out.node)
    ]
    if not used:
        yield _group_diagnostic(
            group,
            WARNING,
            f"No output of the block '{group.name}' is used outside it, so the block gives nothing to "
            "the model.",
            f"Connect an output of '{group.name}' to a layer after it, or mark one as a model output.",
        )


def _check_block_layers(view: _View) -> Iterator[Diagnostic]:
    """A block owns its layers: a node may share a layer within its own block (or its block
    may share a whole block), never across a block's boundary."""
    graph = view.graph
    for node in graph.nodes.values():
        if node.shares is None or node.shares not in graph.nodes:
            continue
        mine, theirs = graph.group_of(node.id), graph.group_of(node.shares)
        if mine == theirs or (mine is not None and theirs is not None and mine.shares == theirs.id):
            continue
        owner = graph.nodes[node.shares].name
        where = f"inside the block '{theirs.name}'" if theirs else f"outside the block '{_name(mine)}'"
        yield Diagnostic(
            ERROR,
            f"{view.label(node.id)} shares the layer of '{owner}', which is {where}; "
            "a block owns its layers.",
            f"Stop sharing, put '{node.name}' and '{owner}' in one block, or share the whole block.",
            node=node.id,
            code="group",
        )


def _name(group: Group | None) -> str:
    return "" if group is None else group.name


def _group_shared_instance(view: _View, group: Group) -> Iterator[Diagnostic]:
    """A block that reuses another's weights must be wired as that block, member by member."""
    graph = view.graph
    owner = graph.groups.get(group.shares or "")
    if owner is None or len(owner.nodes) != len(group.nodes):
        return
    problem = _instance_difference(graph, owner, group)
    if problem:
        yield _group_diagnostic(
            group,
            ERROR,
            f"The block '{group.name}' shares the weights of '{owner.name}', but {problem}.",
            f"Make '{group.name}' a copy of '{owner.name}' again (ungroup it and instantiate the block "
            "shared), or stop sharing.",
        )


def _instance_difference(graph: ModelGraph, owner: Group, group: Group) -> str:
    """How `group` differs from the block it shares, or ""."""
    for mine, theirs in zip(group.nodes, owner.nodes, strict=True):
        if graph.layer_owner(mine).id != graph.layer_owner(theirs).id:
            return (
                f"'{graph.nodes[mine].name}' does not share the layer of '{graph.nodes[theirs].name}', "
                "its counterpart"
            )
    if _internal_wiring(graph, group) != _internal_wiring(graph, owner):
        return "its nodes are connected differently inside"
    connected = all(block_input.source is not None for block_input in graph.boundary(group.id).inputs)
    if connected and _input_wiring(graph, group) != _input_wiring(graph, owner):
        return "its inputs feed other nodes"  # (open inputs are reported as unconnected)
    return ""


def _internal_wiring(graph: ModelGraph, group: Group) -> set[tuple[int, int, int, int]]:
    index = {node_id: position for position, node_id in enumerate(group.nodes)}
    return {
        (index[e.source], e.source_port, index[e.target], e.target_port)
        for node_id in group.nodes
        for e in graph.input_edges(node_id)
        if e.source in index
    }


def _input_wiring(graph: ModelGraph, group: Group) -> list[tuple[tuple[int, int], ...]]:
    index = {node_id: position for position, node_id in enumerate(group.nodes)}
    return [
        tuple((index[node_id], port) for node_id, port in block_input.consumers)
        for block_input in graph.boundary(group.id).inputs
    ]


_RULES: tuple[Callable[[_View], Iterable[Diagnostic]], ...] = (
    _check_model_name,
    _check_has_input,
    _check_has_output,
    _check_output_marks,
    _check_cycles,
    _check_inputs,
    _check_ports_exist,
    _check_reachable,
    _check_dead_ends,
    _check_names,
    _check_sharing,
    _check_groups,
    _check_block_layers,
)
