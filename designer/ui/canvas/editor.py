"""Edits the canvas asks for, turned into undo commands: the controller between gestures and the model.

Interactions and menu actions call `CanvasEditor`; it checks each edit against
the model first (a refused edit becomes a `message` for the status bar and
changes nothing), then pushes commands on the document's undo stack, each
gesture one step. It never touches items: the scene follows the model's signals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QPointF, Signal

from designer.catalog.spec import LayerSpec
from designer.graph.errors import GraphError
from designer.graph.layout import layered_positions
from designer.graph.model import Edge, ModelGraph, ModelOutput, Node
from designer.ui import commands
from designer.ui.canvas import clipboard
from designer.ui.canvas.node_item import MIN_HEIGHT, WIDTH
from designer.ui.document import Document

LAYOUT_COLUMN_WIDTH = 260.0
LAYOUT_ROW_HEIGHT = 120.0
PASTE_OFFSET = (40.0, 40.0)


@dataclass(frozen=True)
class PendingLink:
    """A link drag that ended on empty canvas: the port it started from waits for a new node."""

    node_id: str
    port: int
    from_input: bool


class CanvasEditor(QObject):
    """Turns canvas gestures into commands on `document.undo_stack`."""

    message = Signal(str)  # why an edit was refused, or what happened

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document

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
        return Node(self.graph.new_id(), key, name, spec.initial_params(), position, spec.ports)

    def add_layer(self, key: str, centre: QPointF) -> str | None:
        node = self.new_node(key, centre)
        if node is None:
            return None
        self.document.undo_stack.push(commands.AddNode(self.graph, node))
        self.document.set_selection([node.id])
        return node.id

    def add_layer_linked(self, key: str, centre: QPointF, link: PendingLink) -> str | None:
        """Add a layer and connect it to the port a link drag started from, as one step."""
        node = self.new_node(key, centre)
        if node is None:
            return None
        edge = _linked_edge(node, link)
        if edge is not None and self._refusal(edge, extra=node) is not None:
            edge = None
        stack = self.document.undo_stack
        stack.beginMacro(f"Add {node.name}")
        stack.push(commands.AddNode(self.graph, node))
        if edge is not None:
            commands.connect_replacing(stack, self.graph, edge)
        stack.endMacro()
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
        commands.insert_on_edge(self.document.undo_stack, self.graph, node, edge)
        self.document.set_selection([node.id])
        return node.id

    def delete(self, node_ids: list[str], edges: list[Edge] | None = None) -> None:
        """Delete nodes (with their edges and marks) and loose edges, as one step."""
        doomed = set(node_ids)
        loose = [e for e in edges or [] if e.source not in doomed and e.target not in doomed]
        if not node_ids and not loose:
            return
        stack = self.document.undo_stack
        stack.beginMacro("Delete")
        for edge in loose:
            stack.push(commands.Disconnect(self.graph, edge))
        commands.remove_nodes(stack, self.graph, node_ids)
        stack.endMacro()

    def move_nodes(
        self,
        positions: dict[str, tuple[float, float]],
        old: dict[str, tuple[float, float]] | None = None,
        drag: object = None,
    ) -> None:
        self.document.undo_stack.push(commands.MoveNodes(self.graph, positions, old, drag))

    def auto_layout(self) -> None:
        """Place every node by the layered layout, as one step (nothing when nothing moves)."""
        positions = layered_positions(self.graph, LAYOUT_COLUMN_WIDTH, LAYOUT_ROW_HEIGHT)
        changed = {n: p for n, p in positions.items() if tuple(self.graph.node(n).position) != p}
        if changed:
            command = commands.MoveNodes(self.graph, changed)
            command.setText("Auto-layout")
            self.document.undo_stack.push(command)

    # ------------------------------------------------------------------ edges
    def connect(self, edge: Edge) -> bool:
        """Connect, replacing an occupied input in the same step; a refusal becomes a message."""
        try:
            commands.connect_replacing(self.document.undo_stack, self.graph, edge)
        except GraphError as error:
            self.message.emit(str(error))
            return False
        return True

    def _refusal(self, edge: Edge, extra: Node) -> str | None:
        probe = self.graph.copy()
        probe.add_node(extra)
        try:
            existing = probe.edge_into(edge.target, edge.target_port)
            if existing is not None:
                probe.disconnect(existing)
            probe.check_connect(edge)
        except GraphError as error:
            self.message.emit(str(error))
            return str(error)
        return None

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
        return clipboard.selection_data(self.graph, node_ids)

    def paste_data(self, data: dict[str, Any], offset: tuple[float, float] = PASTE_OFFSET) -> list[str]:
        """Add the nodes of clipboard data (new ids, unique names, offset) as one step; select them."""
        nodes, edges = clipboard.fresh_nodes(self.graph, self.document.catalog, data, offset)
        if not nodes:
            self.message.emit("Nothing to paste: the clipboard holds no layers this catalog knows.")
            return []
        text = f"Paste {len(nodes)} layer{'s' if len(nodes) != 1 else ''}"
        commands.add_nodes(self.document.undo_stack, self.graph, nodes, edges, text)
        node_ids = [node.id for node in nodes]
        self.document.set_selection(node_ids)
        return node_ids

    def duplicate(self, node_ids: list[str]) -> list[str]:
        return self.paste_data(self.copy_data(node_ids)) if node_ids else []


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
