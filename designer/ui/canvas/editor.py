"""Edits the canvas asks for, turned into undo commands: the controller between gestures and the model.

Interactions and menu actions call `CanvasEditor`; it checks each edit against
the model first (a refused edit becomes a `message` for the status bar and
changes nothing), then pushes commands on the document's undo stack, each
gesture one step. It never touches items: the scene follows the model's signals.
Blocks are edited here too: group, ungroup, rename, expand or collapse, insert
from the library (a new instance, or one sharing weights), save to the library.
While the canvas shows the inside of a block (`inside_group`), the nodes added
join that block. A layer dropped on a connection makes room for itself: when
it would overlap a layer, it takes the place of the connection's target and
everything from there rightwards moves one column on, in the same step.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QPointF, Signal

from designer.catalog.spec import LayerSpec
from designer.graph import groups
from designer.graph.errors import GraphError, ProjectError
from designer.graph.layout import group_layout, layered_positions
from designer.graph.model import Edge, Group, ModelGraph, ModelOutput, Node
from designer.ui import commands
from designer.ui.canvas import clipboard
from designer.ui.canvas.block_item import BLOCK_WIDTH, block_height
from designer.ui.canvas.node_item import MIN_HEIGHT, PADDING, PORT_SPACING, TITLE_HEIGHT, WIDTH
from designer.ui.document import Document

LAYOUT_COLUMN_WIDTH = 280.0  # a node and room for a shape label between columns
LAYOUT_ROW_HEIGHT = 120.0
PASTE_OFFSET = (40.0, 40.0)
CLEARANCE = 20.0  # the least room an inserted layer keeps from its neighbours

Rect = tuple[float, float, float, float]  # left, top, width, height


@dataclass(frozen=True)
class PendingLink:
    """A link drag that ended on empty canvas: the port it started from waits for a new node."""

    node_id: str
    port: int
    from_input: bool


class CanvasEditor(QObject):
    """Turns canvas gestures into commands on `document.undo_stack`."""

    message = Signal(str)  # why an edit was refused, or what happened
    block_saved = Signal(object)  # the Path a block was saved to in the library
    layout_applied = Signal()  # auto-layout ran (the view fits the design again)

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.inside_group: str | None = None  # the block the canvas shows the inside of (the view sets it)

    @property
    def graph(self) -> ModelGraph:
        return self.document.graph

    # ------------------------------------------------------------------ nodes
    def new_node(self, key: str, centre: QPointF) -> Node | None:
        """A node of layer `key` centred on `centre`: initial params, a unique name, the spec's ports."""
        spec = self.document.catalog.get(key)
        if spec is None:
            self.message.emit(f"Unknown layer type '{key}': it is not in the catalog.")
            return None
        position = (round(centre.x() - WIDTH / 2), round(centre.y() - MIN_HEIGHT / 2))
        name = self.graph.unique_name(_name_base(spec))
        params = spec.initial_params()
        return Node(self.graph.new_id(), key, name, params, position, spec.ports.for_params(params))

    def add_layer(self, key: str, centre: QPointF) -> str | None:
        node = self.new_node(key, centre)
        if node is None:
            return None
        if self.inside_group is None:
            self.document.undo_stack.push(commands.AddNode(self.graph, node))
        else:
            stack = self.document.undo_stack
            try:
                commands.add_nodes(
                    stack, self.graph, [node], [], f"Add {node.name}", group_id=self.inside_group
                )
            except GraphError as error:
                self.message.emit(self._join_refusal(error))
                return None
        self.document.set_selection([node.id])
        return node.id

    def add_layer_linked(self, key: str, centre: QPointF, link: PendingLink) -> str | None:
        """Add a layer and connect it to the port a link drag started from, as one step."""
        node = self.new_node(key, centre)
        if node is None:
            return None
        try:
            commands.check_join(self.graph, self.inside_group, [node])
        except GraphError as error:
            self.message.emit(self._join_refusal(error))
            return None
        edge = _linked_edge(node, link)
        stack = self.document.undo_stack
        with commands.marking_sole_sink(stack, self.graph, f"Add {node.name}"):
            stack.push(commands.AddNode(self.graph, node))
            commands.join_group(stack, self.graph, self.inside_group, [node.id])
            if edge is not None:
                self._connect_if_allowed(edge)
        self.document.set_selection([node.id])
        return node.id

    def insert_layer_on_edge(self, key: str, centre: QPointF, edge: Edge) -> str | None:
        """Add a layer spliced into `edge` (source -> new -> target), as one step."""
        node = self.new_node(key, centre)
        if node is None:
            return None
        if not node.ports.inputs or not node.ports.outputs:
            self.message.emit(f"{key} cannot be inserted into a connection: it needs an input and an output.")
            return None
        node, moves = self.room_for(node, edge)
        try:
            commands.insert_on_edge(
                self.document.undo_stack, self.graph, node, edge, self.inside_group, moves
            )
        except GraphError as error:
            self.message.emit(self._join_refusal(error))
            return None
        self.document.set_selection([node.id])
        return node.id

    def room_for(self, node: Node, edge: Edge) -> tuple[Node, dict[str, tuple[float, float]]]:
        """Where an inserted node goes and which nodes move for it: where it was dropped when that
        is clear of every layer on view; else in the place of the edge's target, with everything
        on view from there rightwards moved one column on."""
        units = self._shown_units()
        if not any(_overlap(_node_rect(node.position, MIN_HEIGHT), rect) for rect in units.values()):
            return node, {}
        target = self.graph.group_of(edge.target)
        unit = target.id if target is not None and target.id in units else edge.target
        left, top = units[unit][:2] if unit in units else self.graph.node(edge.target).position
        moves: dict[str, tuple[float, float]] = {}
        for unit_id, rect in units.items():
            if rect[0] >= left - 1e-6:
                for member in self._members(unit_id):
                    x, y = self.graph.node(member).position
                    moves[member] = (x + LAYOUT_COLUMN_WIDTH, y)
        return dataclasses.replace(node, position=(left, top)), moves

    def _shown_units(self) -> dict[str, Rect]:
        """The rects of what the canvas shows: each node, or each collapsed block as a whole;
        inside a block, its members alone."""
        graph = self.graph
        if self.inside_group is not None:
            return {
                n: _node_rect(graph.node(n).position, _node_height(graph, n))
                for n in graph.group(self.inside_group).nodes
            }
        units: dict[str, Rect] = {}
        for node_id, node in graph.nodes.items():
            group = graph.group_of(node_id)
            if group is not None and group.collapsed:
                x, y = groups.group_position(graph, group.id)
                units[group.id] = (x, y, BLOCK_WIDTH, _unit_height(graph, group.id))
            else:
                units[node_id] = _node_rect(node.position, _node_height(graph, node_id))
        return units

    def _members(self, unit: str) -> tuple[str, ...]:
        return self.graph.group(unit).nodes if unit in self.graph.groups else (unit,)

    def delete(
        self, node_ids: list[str], edges: list[Edge] | None = None, group_ids: list[str] | None = None
    ) -> None:
        """Delete nodes (with their edges, marks and places in blocks), whole blocks and loose
        edges, as one step."""
        members = {node_id for group_id in group_ids or [] for node_id in self.graph.group(group_id).nodes}
        node_ids = [node_id for node_id in self.graph.nodes if node_id in members or node_id in node_ids]
        doomed = set(node_ids)
        loose = [e for e in edges or [] if e.source not in doomed and e.target not in doomed]
        if not node_ids and not loose:
            return
        stack = self.document.undo_stack
        with commands.macro(stack, "Delete"):
            for edge in loose:
                stack.push(commands.Disconnect(self.graph, edge))
            commands.remove_nodes(stack, self.graph, node_ids)

    def move_nodes(
        self,
        positions: dict[str, tuple[float, float]],
        old: dict[str, tuple[float, float]] | None = None,
        drag: object = None,
    ) -> None:
        self.document.undo_stack.push(commands.MoveNodes(self.graph, positions, old, drag))

    def auto_layout(self) -> None:
        """Place every node by the layered layout, a collapsed block as one node, as one step
        (nothing when nothing moves); inside a block, its members among themselves."""
        graph = self.graph
        if self.inside_group is not None:
            positions = group_layout(graph, self.inside_group, LAYOUT_COLUMN_WIDTH, LAYOUT_ROW_HEIGHT)
        else:
            positions = layered_positions(
                graph, LAYOUT_COLUMN_WIDTH, LAYOUT_ROW_HEIGHT, heights=lambda unit: _unit_height(graph, unit)
            )
        changed = {n: p for n, p in positions.items() if tuple(self.graph.node(n).position) != p}
        if changed:
            command = commands.MoveNodes(self.graph, changed)
            command.setText("Auto-layout")
            self.document.undo_stack.push(command)
        self.layout_applied.emit()

    # ------------------------------------------------------------------ edges
    def connect_edge(self, edge: Edge) -> bool:
        """Connect, replacing an occupied input in the same step (and marking the one sink as
        the model output when there is none); a refusal becomes a message."""
        graph = self.graph
        try:
            graph.check_connect(edge, replacing=graph.edge_into(edge.target, edge.target_port))
        except GraphError as error:
            self.message.emit(str(error))
            return False
        text = f"Connect {graph.node(edge.source).name} to {graph.node(edge.target).name}"
        with commands.marking_sole_sink(self.document.undo_stack, graph, text):
            commands.connect_replacing(self.document.undo_stack, graph, edge)
        return True

    def connect_all(self, edges: list[Edge]) -> bool:
        """Connect several edges from one source as one step (a block input feeds every member
        port it stands for). Edges from one source cannot close a cycle through each other, so
        each is checked on its own."""
        if len(edges) == 1:
            return self.connect_edge(edges[0])
        graph = self.graph
        try:
            for edge in edges:
                graph.check_connect(edge, replacing=graph.edge_into(edge.target, edge.target_port))
        except GraphError as error:
            self.message.emit(str(error))
            return False
        stack = self.document.undo_stack
        with commands.marking_sole_sink(
            stack, self.graph, f"Connect {self.graph.node(edges[0].source).name}"
        ):
            for edge in edges:
                commands.connect_replacing(stack, self.graph, edge)
        return True

    def _connect_if_allowed(self, edge: Edge) -> None:
        """Connect within the step being pushed; a refusal becomes a message (and nothing more)."""
        try:
            commands.connect_replacing(self.document.undo_stack, self.graph, edge)
        except GraphError as error:
            self.message.emit(str(error))

    def _join_refusal(self, error: GraphError) -> str:
        """Why new layers cannot join the block the canvas is inside (nothing was added)."""
        name = self.graph.group(self.inside_group).name if self.inside_group in self.graph.groups else "?"
        return f"Cannot add to the block '{name}': {error}"

    # ---------------------------------------------------------------- outputs
    def toggle_output(self, node_id: str, port: int = 0) -> None:
        """Mark the node's output as a model output, or unmark it."""
        graph = self.graph
        node = graph.node(node_id)
        marked = [o for o in graph.outputs if (o.node, o.port) == (node_id, port)]
        if marked:
            kept = [o for o in graph.outputs if o not in marked]
            self.document.undo_stack.push(commands.SetOutputs(graph, kept, f"Unmark output {node.name}"))
            return
        if port >= len(node.ports.outputs):
            self.message.emit(f"'{node.name}' has no output to mark.")
            return
        mark = ModelOutput(node_id, port, _output_name(graph, node, port))
        self.document.undo_stack.push(
            commands.SetOutputs(graph, [*graph.outputs, mark], f"Mark output {mark.name}")
        )

    # ------------------------------------------------------------------ paste
    def copy_data(self, node_ids: list[str]) -> dict[str, Any]:
        """The clipboard data of these nodes, with the blocks wholly among them."""
        return clipboard.selection_data(self.graph, node_ids)

    def paste_data(self, data: dict[str, Any], offset: tuple[float, float] = PASTE_OFFSET) -> list[str]:
        """Add the nodes of clipboard data (new ids, unique names, offset) and their blocks as
        one step; select them. Inside a block they join it, as plain nodes (blocks do not nest)."""
        nodes, edges, new_groups = clipboard.fresh_nodes(self.graph, self.document.catalog, data, offset)
        if not nodes:
            self.message.emit("Nothing to paste: the clipboard holds no layers this catalog knows.")
            return []
        new_groups = self._addable_groups(nodes, edges, [] if self.inside_group else new_groups)
        text = f"Paste {len(nodes)} layer{'s' if len(nodes) != 1 else ''}"
        stack, graph = self.document.undo_stack, self.graph
        try:
            commands.add_nodes(stack, graph, nodes, edges, text, new_groups, self.inside_group)
        except GraphError as error:
            self.message.emit(self._join_refusal(error))
            return []
        node_ids = [node.id for node in nodes]
        self.document.set_selection(node_ids)
        return node_ids

    def duplicate(self, node_ids: list[str]) -> list[str]:
        return self.paste_data(self.copy_data(node_ids)) if node_ids else []

    def _addable_groups(self, nodes: list[Node], edges: list[Edge], candidates: list[Group]) -> list[Group]:
        """The new groups the graph takes once `nodes` and `edges` are in; a refused one is said
        why, and its members come as plain nodes."""
        if not candidates:
            return []
        accepted: list[Group] = []
        for group in candidates:
            try:
                self.graph.check_add_group(group, adding=nodes, edges=edges, beside=accepted)
            except GraphError as error:
                self.message.emit(f"The block '{group.name}' comes as plain layers: {error}")
                continue
            accepted.append(group)
        return accepted

    # ----------------------------------------------------------------- blocks
    def group(self, node_ids: list[str], name: str = "block") -> str | None:
        """Group nodes into a collapsed block, as one step; a refusal becomes a message."""
        if not node_ids:
            self.message.emit("Select the layers to group first.")
            return None
        try:
            group = groups.make_group(self.graph, node_ids, name)
        except GraphError as error:
            self.message.emit(str(error))
            return None
        self.document.undo_stack.push(commands.AddGroup(self.graph, group))
        return group.id

    def ungroup(self, group_ids: list[str]) -> list[str]:
        """Ungroup blocks (their members stay where they are), as one step; returns the members."""
        ordered = sorted(group_ids, key=lambda g: self.graph.group(g).shares is None)  # sharers first
        try:
            self.graph.check_remove_groups(ordered)
        except GraphError as error:
            self.message.emit(str(error))
            return []
        stack = self.document.undo_stack
        members = [n for g in group_ids for n in self.graph.group(g).nodes]
        with commands.macro(stack, "Ungroup " + ", ".join(self.graph.group(g).name for g in group_ids)):
            for group_id in ordered:
                stack.push(commands.RemoveGroup(self.graph, group_id))
        return members

    def rename_group(self, group_id: str, name: str, block: str | None = None) -> bool:
        """Rename a block, and its block type (its class in the code) when `block` is given; one step."""
        try:
            commands.rename_group(self.document.undo_stack, self.graph, group_id, name, block)
        except GraphError as error:
            self.message.emit(str(error))
            return False
        return True

    def set_collapsed(self, group_id: str, collapsed: bool) -> None:
        """Show a block as one node, or its members in a frame, as one step."""
        group = self.graph.group(group_id)
        if group.collapsed != collapsed:
            text = f"{'Collapse' if collapsed else 'Expand'} {group.name}"
            changed = dataclasses.replace(group, collapsed=collapsed)
            self.document.undo_stack.push(commands.UpdateGroup(self.graph, changed, text))

    def insert_block(
        self, data: dict[str, Any], centre: QPointF, shared_with: str | None = None
    ) -> str | None:
        """Add a block from library data centred on `centre` as one step: a new instance, or
        with `shared_with` (a group of the same block) one that reuses its weights."""
        if self.inside_group is not None:
            inside = self.graph.group(self.inside_group).name
            self.message.emit(
                f"Blocks cannot be nested: leave '{inside}' to insert the block '{data.get('name')}'."
            )
            return None
        try:
            corner = _block_corner(data, centre)
            nodes, edges, group = groups.instantiate_block(
                self.graph, data, corner, shared_with, ports_of=self.document.catalog.ports_of
            )
        except (GraphError, ProjectError) as error:
            self.message.emit(f"Cannot insert the block '{data.get('name', '?')}': {error}")
            return None
        if not self._addable_groups(nodes, edges, [group]):
            return None
        text = f"Insert block {group.name}" + (" (shared weights)" if shared_with else "")
        commands.add_nodes(self.document.undo_stack, self.graph, nodes, edges, text, [group])
        return group.id

    def new_instance(self, group_id: str, shared: bool) -> str | None:
        """Another instance of a block below it: a copy, or one sharing its weights."""
        graph = self.graph
        x, y = groups.group_position(graph, group_id)
        height = _unit_height(graph, group_id)
        centre = QPointF(x + BLOCK_WIDTH / 2, y + height * 1.5 + LAYOUT_ROW_HEIGHT / 3)
        return self.insert_block(groups.block_to_dict(graph, group_id), centre, group_id if shared else None)

    def save_block(self, group_id: str, folder: str | os.PathLike[str] | None = None) -> Path | None:
        """Write a block to the block library (`groups.block_dir()` unless `folder`), named after its type."""
        group = self.graph.group(group_id)
        path = groups.block_path(group.block, folder)
        try:
            groups.save_block(path, groups.block_to_dict(self.graph, group_id))
        except (OSError, ProjectError) as error:
            self.message.emit(f"Cannot save the block '{group.name}' to {path}: {error}")
            return None
        self.message.emit(f"Saved the block '{group.block}' to {path}")
        self.block_saved.emit(path)
        return path


def _unit_height(graph: ModelGraph, unit: str) -> float:
    """The height of what the canvas draws for a unit of the layout: a node, or a collapsed block."""
    if unit not in graph.groups:
        return MIN_HEIGHT
    inputs, outputs = graph.boundary(unit)
    return block_height(max(len(inputs), len(outputs)))


def _node_height(graph: ModelGraph, node_id: str) -> float:
    """The height the canvas draws a node at: taller than the least for many ports."""
    ports = max(graph.input_port_count(node_id), len(graph.node(node_id).ports.outputs), 1)
    return max(MIN_HEIGHT, TITLE_HEIGHT + ports * PORT_SPACING + PADDING)


def _node_rect(position: tuple[float, float], height: float) -> Rect:
    return (position[0], position[1], WIDTH, height)


def _overlap(first: Rect, second: Rect) -> bool:
    """Whether two rects come closer than `CLEARANCE`."""
    return (
        first[0] < second[0] + second[2] + CLEARANCE
        and second[0] < first[0] + first[2] + CLEARANCE
        and first[1] < second[1] + second[3] + CLEARANCE
        and second[1] < first[1] + first[3] + CLEARANCE
    )


def _block_corner(data: dict[str, Any], centre: QPointF) -> tuple[float, float]:
    """Where a block's top-left corner goes for the block item to be centred on `centre`
    (the item is drawn at the mean of its members' positions)."""
    groups.check_block(data)
    positions = [item["position"] for item in data["nodes"]]
    mean_x = sum(float(x) for x, _ in positions) / len(positions)
    mean_y = sum(float(y) for _, y in positions) / len(positions)
    height = block_height(max(len(data["inputs"]), len(data["outputs"])))
    return (round(centre.x() - BLOCK_WIDTH / 2 - mean_x), round(centre.y() - height / 2 - mean_y))


def _name_base(spec: LayerSpec) -> str:
    return spec.class_name if spec.class_name else spec.key.rsplit(".", 1)[-1]


def _linked_edge(node: Node, link: PendingLink) -> Edge | None:
    if link.from_input:
        return Edge(node.id, 0, link.node_id, link.port) if node.ports.outputs else None
    return Edge(link.node_id, link.port, node.id, 0) if node.ports.inputs or node.ports.variadic else None


def _output_name(graph: ModelGraph, node: Node, port: int) -> str:
    taken = {o.name for o in graph.outputs}
    base = node.name if port == 0 else f"{node.name}_{port}"
    name, index = base, 1
    while name in taken:
        name = f"{base}_{index}"
        index += 1
    return name
