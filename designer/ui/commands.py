"""Undo commands: each captures the old state in its constructor and calls one graph mutator.

Compound gestures (paste, insert a layer into an edge, replace an occupied
input, delete a selection, insert a block) are QUndoStack macros of these
commands, so every gesture is one step in the history. Typing in a parameter field and dragging
nodes fold into one step through `id()`/`mergeWith()`. A gesture that leaves a
design without model outputs and with one sink marks that sink as the output
in the same step (`marking_sole_sink`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack

from designer.graph.block_rules import renamed_group
from designer.graph.groups import groups_without
from designer.graph.model import Edge, Group, ModelGraph, ModelOutput, Node

MOVE_ID, PARAMS_ID = 1, 2


class AddNode(QUndoCommand):
    def __init__(self, graph: ModelGraph, node: Node) -> None:
        super().__init__(f"Add {node.name}")
        self.graph, self.node = graph, copy.deepcopy(node)

    def redo(self) -> None:
        self.graph.add_node(copy.deepcopy(self.node))

    def undo(self) -> None:
        self.graph.remove_node(self.node.id)


class RemoveNode(QUndoCommand):
    """Remove one node that has no edges, marks or sharers left (see `remove_nodes`)."""

    def __init__(self, graph: ModelGraph, node_id: str) -> None:
        node = graph.node(node_id)
        super().__init__(f"Delete {node.name}")
        self.graph, self.node = graph, copy.deepcopy(node)

    def redo(self) -> None:
        self.graph.remove_node(self.node.id)

    def undo(self) -> None:
        self.graph.add_node(copy.deepcopy(self.node))


class Connect(QUndoCommand):
    def __init__(self, graph: ModelGraph, edge: Edge) -> None:
        super().__init__(f"Connect {graph.node(edge.source).name} to {graph.node(edge.target).name}")
        self.graph, self.edge = graph, edge

    def redo(self) -> None:
        self.graph.connect(self.edge)

    def undo(self) -> None:
        self.graph.disconnect(self.edge)


class Disconnect(QUndoCommand):
    def __init__(self, graph: ModelGraph, edge: Edge) -> None:
        super().__init__(f"Disconnect {graph.node(edge.source).name} from {graph.node(edge.target).name}")
        self.graph, self.edge = graph, edge

    def redo(self) -> None:
        self.graph.disconnect(self.edge)

    def undo(self) -> None:
        self.graph.connect(self.edge)


class SetParams(QUndoCommand):
    """Set a node's params; consecutive edits of the same node merge into one step."""

    def __init__(self, graph: ModelGraph, node_id: str, params: dict[str, Any], merge: bool = False) -> None:
        node = graph.node(node_id)
        super().__init__(f"Edit {node.name}")
        self.graph, self.node_id, self.merge = graph, node_id, merge
        self.old, self.new = copy.deepcopy(node.params), copy.deepcopy(params)

    def id(self) -> int:
        return PARAMS_ID if self.merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, SetParams) or other.node_id != self.node_id or not other.merge:
            return False
        self.new = other.new
        return True

    def redo(self) -> None:
        self.graph.set_params(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.set_params(self.node_id, self.old)


class Rename(QUndoCommand):
    def __init__(self, graph: ModelGraph, node_id: str, name: str) -> None:
        self.graph, self.node_id = graph, node_id
        self.old, self.new = graph.node(node_id).name, name
        super().__init__(f"Rename {self.old} to {name}")

    def redo(self) -> None:
        self.graph.rename(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.rename(self.node_id, self.old)


class MoveNodes(QUndoCommand):
    """Move nodes; the moves of one drag merge into one step (`drag` is the gesture's key)."""

    def __init__(
        self,
        graph: ModelGraph,
        positions: dict[str, tuple[float, float]],
        old: dict[str, tuple[float, float]] | None = None,
        drag: object = None,
    ) -> None:
        super().__init__("Move" if len(positions) != 1 else f"Move {graph.node(next(iter(positions))).name}")
        self.graph, self.drag = graph, drag
        self.new = dict(positions)
        self.old = old if old is not None else {n: graph.node(n).position for n in positions}

    def id(self) -> int:
        return MOVE_ID if self.drag is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, MoveNodes) or other.drag is not self.drag:
            return False
        self.new.update(other.new)
        self.old = {**other.old, **self.old}
        return True

    def redo(self) -> None:
        for node_id, position in self.new.items():
            self.graph.move(node_id, position)

    def undo(self) -> None:
        for node_id, position in self.old.items():
            self.graph.move(node_id, position)


class SetOutputs(QUndoCommand):
    def __init__(
        self, graph: ModelGraph, outputs: list[ModelOutput], text: str = "Change model outputs"
    ) -> None:
        super().__init__(text)
        self.graph, self.old, self.new = graph, list(graph.outputs), list(outputs)

    def redo(self) -> None:
        self.graph.set_outputs(self.new)

    def undo(self) -> None:
        self.graph.set_outputs(self.old)


class SetShares(QUndoCommand):
    def __init__(self, graph: ModelGraph, node_id: str, owner_id: str | None) -> None:
        super().__init__("Share layer" if owner_id else "Stop sharing layer")
        node = graph.node(node_id)
        self.graph, self.node_id = graph, node_id
        self.old_owner, self.new_owner = node.shares, owner_id
        self.old_params = copy.deepcopy(node.params)

    def redo(self) -> None:
        self.graph.set_shares(self.node_id, self.new_owner)

    def undo(self) -> None:
        self.graph.set_shares(self.node_id, self.old_owner)
        if self.old_owner is None:
            self.graph.set_params(self.node_id, self.old_params)


class AddGroup(QUndoCommand):
    """Group existing nodes into a block (the nodes and edges stay as they are)."""

    def __init__(self, graph: ModelGraph, group: Group, text: str | None = None) -> None:
        super().__init__(text or f"Group {group.name}")
        self.graph, self.group = graph, group

    def redo(self) -> None:
        self.graph.add_group(self.group)

    def undo(self) -> None:
        self.graph.remove_group(self.group.id)


class RemoveGroup(QUndoCommand):
    """Ungroup: the members stay as plain nodes; undo puts the group back in its place."""

    def __init__(self, graph: ModelGraph, group_id: str) -> None:
        group = graph.group(group_id)
        super().__init__(f"Ungroup {group.name}")
        self.graph, self.group_id = graph, group_id
        self.old = list(graph.groups.values())

    def redo(self) -> None:
        self.graph.remove_group(self.group_id)

    def undo(self) -> None:
        self.graph.set_groups(self.old)


class UpdateGroup(QUndoCommand):
    """Change a group (name, block type, members, collapsed) to `group`, which has its id."""

    def __init__(self, graph: ModelGraph, group: Group, text: str | None = None) -> None:
        self.graph, self.old, self.new = graph, graph.group(group.id), group
        super().__init__(text or f"Change block {self.old.name}")

    def redo(self) -> None:
        self.graph.update_group(self.new)

    def undo(self) -> None:
        self.graph.update_group(self.old)


def rename_group(
    stack: QUndoStack, graph: ModelGraph, group_id: str, name: str, block: str | None = None
) -> None:
    """Rename a block, and its block type (its class in the code) when `block` is given, as one
    step; raises GraphError (nothing changes) when the graph refuses the names."""
    group = graph.group(group_id)
    renamed = renamed_group(graph, group_id, name)
    if renamed != group:
        graph.check_update_group(renamed)
    if block is not None and block != renamed.block:
        renamed = dataclasses.replace(renamed, block=block)
        graph.check_group(renamed)
    if renamed != group:
        text = f"Rename block {group.name} to {name}" if name != group.name else f"Rename block type {block}"
        stack.push(UpdateGroup(graph, renamed, text))


class SetGroups(QUndoCommand):
    """Replace every group at once (deleting members, undoing several changes together)."""

    def __init__(self, graph: ModelGraph, groups: Iterable[Group], text: str = "Change blocks") -> None:
        super().__init__(text)
        self.graph, self.old, self.new = graph, list(graph.groups.values()), list(groups)

    def redo(self) -> None:
        self.graph.set_groups(self.new)

    def undo(self) -> None:
        self.graph.set_groups(self.old)


# ------------------------------------------------------------ compound gestures
@contextlib.contextmanager
def macro(stack: QUndoStack, text: str) -> Iterator[None]:
    """One undo step of the commands pushed in the block. The macro always closes; when the
    block raises, what it pushed is undone and dropped from the history, and the error goes on."""
    stack.beginMacro(text)
    try:
        yield
    except BaseException:
        stack.endMacro()
        _drop_last(stack)
        raise
    stack.endMacro()


def _drop_last(stack: QUndoStack) -> None:
    """Undo the step just pushed and remove it from the history (an obsolete command is
    removed, not redone, when the stack redoes it)."""
    if not stack.canUndo():
        return
    with contextlib.suppress(Exception):  # the error that got here is the one worth raising
        stack.undo()
    command = stack.command(stack.index())
    if command is not None:
        command.setObsolete(True)
        stack.redo()


def connect_replacing(stack: QUndoStack, graph: ModelGraph, edge: Edge) -> None:
    """Connect; an occupied input is freed first, all in one undo step.

    Raises the graph's typed error (a cycle, a bad port) before anything changes.
    """
    existing = graph.edge_into(edge.target, edge.target_port)
    if existing is None:
        graph.check_connect(edge)
        stack.push(Connect(graph, edge))
        return
    graph.check_connect(edge, replacing=existing)
    with macro(stack, f"Reconnect {graph.node(edge.target).name}"):
        stack.push(Disconnect(graph, existing))
        stack.push(Connect(graph, edge))


def remove_nodes(stack: QUndoStack, graph: ModelGraph, node_ids: list[str]) -> None:
    """Delete nodes with their edges, output marks, sharing and places in groups, as one undo step.

    The groups lose their deleted members (`SetGroups`) after the edges go and before
    the nodes do, so undo brings the nodes back first and then the groups as they were.
    """
    if not node_ids:
        return
    names = ", ".join(graph.node(n).name for n in node_ids[:3]) + ("..." if len(node_ids) > 3 else "")
    with macro(stack, f"Delete {names}"):
        doomed = set(node_ids)
        kept_outputs = [o for o in graph.outputs if o.node not in doomed]
        if len(kept_outputs) != len(graph.outputs):
            stack.push(SetOutputs(graph, kept_outputs))
        edges = {e for n in node_ids for e in graph.input_edges(n) + graph.output_edges(n)}
        for edge in sorted(edges):
            stack.push(Disconnect(graph, edge))
        for node_id in node_ids:
            for sharer in graph.sharers(node_id):
                if sharer.id not in doomed:
                    stack.push(SetShares(graph, sharer.id, None))
        groups = groups_without(graph, doomed)
        if groups != list(graph.groups.values()):
            stack.push(SetGroups(graph, groups))
        for node_id in node_ids:
            stack.push(RemoveNode(graph, node_id))


def sole_sink(graph: ModelGraph) -> Node | None:
    """The one layer that feeds nothing (an Input layer is no sink), or None when there are
    none or several."""
    fed = {edge.source for edge in graph.edges}
    sinks = [n for n in graph.nodes.values() if n.id not in fed and n.ports.outputs and not n.is_input]
    return sinks[0] if len(sinks) == 1 else None


@contextlib.contextmanager
def marking_sole_sink(stack: QUndoStack, graph: ModelGraph, text: str) -> Iterator[None]:
    """One undo step of the commands pushed in the block and, when they leave the design with
    exactly one sink, the mark that makes it the model's output: when there was no output, or
    when the one output was the sink these commands extended (a chain grows past its end)."""
    extended = _output_on_sink(graph)
    with macro(stack, text):
        yield
        sink = sole_sink(graph)
        if sink is None or (graph.outputs and tuple(graph.outputs) != (extended,)):
            return
        if extended is not None and not graph.output_edges(extended.node):
            return  # the marked sink is still a sink: nothing was extended
        same_name = extended is None or extended.name == graph.node(extended.node).name
        mark = ModelOutput(sink.id, 0, sink.name if extended is None or same_name else extended.name)
        stack.push(SetOutputs(graph, [mark], f"Mark output {sink.name}"))


def _output_on_sink(graph: ModelGraph) -> ModelOutput | None:
    """The design's one model output when it is on a layer that feeds nothing, else None."""
    outputs = tuple(graph.outputs)
    if len(outputs) != 1 or graph.output_edges(outputs[0].node):
        return None
    return outputs[0]


def join_group(stack: QUndoStack, graph: ModelGraph, group_id: str | None, node_ids: list[str]) -> None:
    """Make new nodes members of `group_id` (nothing when it is None): a node added while
    editing inside a block joins it before it is connected to the block's members.

    Raises GraphError, pushing nothing, when the block cannot take them; callers check first
    with `check_join` before they open a macro."""
    if group_id is None or not node_ids:
        return
    group = graph.group(group_id)
    joined = dataclasses.replace(group, nodes=(*group.nodes, *node_ids))
    graph.check_update_group(joined)
    stack.push(UpdateGroup(graph, joined, f"Add to {group.name}"))


def check_join(graph: ModelGraph, group_id: str | None, nodes: Iterable[Node]) -> None:
    """Raise the graph's GraphError when the new `nodes` cannot join group `group_id` (an
    Input layer; a block that shares weights or whose weights are shared); changes nothing."""
    nodes = list(nodes)
    if group_id is None or not nodes:
        return
    group = graph.group(group_id)
    joined = dataclasses.replace(group, nodes=(*group.nodes, *(node.id for node in nodes)))
    graph.check_update_group(joined, adding=nodes)


def insert_on_edge(
    stack: QUndoStack,
    graph: ModelGraph,
    node: Node,
    edge: Edge,
    group_id: str | None = None,
    moves: dict[str, tuple[float, float]] | None = None,
) -> None:
    """Move nodes out of the way (`moves`), add `node` (to group `group_id`, if any) and splice it
    into `edge` (source -> node -> target), as one step. Raises GraphError, changing nothing,
    when the group cannot take the node."""
    check_join(graph, group_id, [node])
    with macro(stack, f"Insert {node.name}"):
        if moves:
            stack.push(MoveNodes(graph, moves))
        stack.push(AddNode(graph, node))
        join_group(stack, graph, group_id, [node.id])
        stack.push(Disconnect(graph, edge))
        stack.push(Connect(graph, Edge(edge.source, edge.source_port, node.id, 0)))
        stack.push(Connect(graph, Edge(node.id, 0, edge.target, edge.target_port)))


def add_nodes(
    stack: QUndoStack,
    graph: ModelGraph,
    nodes: list[Node],
    edges: list[Edge],
    text: str,
    groups: Iterable[Group] = (),
    group_id: str | None = None,
) -> None:
    """Add several nodes, the edges among them and the groups of them (paste, duplicate, a
    block from the library) as one step; with `group_id` the nodes join that group. Raises
    GraphError, changing nothing, when that group cannot take them."""
    check_join(graph, group_id, nodes)
    with macro(stack, text):
        for node in nodes:
            stack.push(AddNode(graph, node))
        join_group(stack, graph, group_id, [node.id for node in nodes])
        for edge in edges:
            stack.push(Connect(graph, edge))
        for group in groups:
            stack.push(AddGroup(graph, group))
