"""Mouse workflows on the canvas, one object per gesture (orange-canvas' NewLinkAction habit).

The view hands mouse events to the interaction in progress until it ends.
`NewLinkInteraction` draws a link from a port (forwards from an output,
backwards from an input), dims the nodes the model would refuse, and on release
asks the editor to connect, or opens the quick-add box on empty canvas; a
block's port stands for member ports, so a link to a block input feeds every
member port it stands for. `MoveInteraction` moves the selection (a block moves
its members) as one undo step; `PanInteraction` scrolls the view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from designer.graph.model import Edge, ModelGraph
from designer.ui.canvas.block_item import BlockItem
from designer.ui.canvas.edge_item import LinkCurveItem
from designer.ui.canvas.editor import PendingLink
from designer.ui.canvas.node_item import NodeItem
from designer.ui.canvas.port_item import PortItem

if TYPE_CHECKING:
    from designer.ui.canvas.view import GraphView


class Interaction:
    """A gesture in progress on `view`; `end()` hands the mouse back to the view."""

    def __init__(self, view: GraphView) -> None:
        self.view = view

    def mouse_press(self, event: QMouseEvent) -> None:
        """A press while the gesture runs (another button): ignored by default."""

    def mouse_move(self, event: QMouseEvent) -> None:
        """The pointer moved."""

    def mouse_release(self, event: QMouseEvent) -> None:
        self.end()

    def cancel(self) -> None:
        self.end()

    def end(self) -> None:
        self.view.end_interaction(self)

    def scene_position(self, event: QMouseEvent) -> QPointF:
        return self.view.mapToScene(event.position().toPoint())


# ------------------------------------------------------------------- linking
class NewLinkInteraction(Interaction):
    """Drag a new edge out of `origin` and drop it on a port (or a node) of the other kind."""

    def __init__(self, view: GraphView, origin: PortItem) -> None:
        super().__init__(view)
        self.origin = origin
        self.target: PortItem | None = None
        self.curve = LinkCurveItem(view.graph_scene.colors)
        view.graph_scene.addItem(self.curve)
        self.refused = refused_nodes(view.graph_scene.graph, origin.node_id, origin.is_input)
        self._dim(True)
        origin.set_highlighted(True)
        self._draw_to(origin.anchor())

    def mouse_move(self, event: QMouseEvent) -> None:
        position = self.scene_position(event)
        self._set_target(self.port_for(position))
        self._draw_to(self.target.anchor() if self.target is not None else position)

    def mouse_release(self, event: QMouseEvent) -> None:
        position = self.scene_position(event)
        target = self.port_for(position)
        over_node = self.view.graph_scene.node_at(position, self.view.transform()) is not None
        self.end()
        if target is not None:
            self.view.editor.connect_all(self.edges_to(target))
        elif not over_node:
            link = PendingLink(self.origin.node_id, self.origin.index, self.origin.is_input)
            self.view.open_quick_add(position, "", link)

    def end(self) -> None:
        self._dim(False)
        self._set_target(None)
        self.origin.set_highlighted(False)
        if self.curve.scene() is not None:
            self.curve.scene().removeItem(self.curve)
        super().end()

    def edges_to(self, target: PortItem) -> list[Edge]:
        """The edges the link makes: one, or one per member port a block input stands for."""
        output, block_input = (target, self.origin) if self.origin.is_input else (self.origin, target)
        ends = block_input.consumers or ((block_input.node_id, block_input.index),)
        return [Edge(output.node_id, output.index, node_id, port) for node_id, port in ends]

    def port_for(self, position: QPointF) -> PortItem | None:
        """The port of the other kind under the cursor, or the best port of the node under it."""
        scene, transform = self.view.graph_scene, self.view.transform()
        port = scene.port_at(position, transform)
        if port is not None:
            return port if port.is_input != self.origin.is_input else None
        node = scene.node_at(position, transform)
        if node is None or node is self.origin.parentItem():
            return None
        return self._best_port(node)

    def _best_port(self, node: NodeItem | BlockItem) -> PortItem | None:
        if self.origin.is_input:
            return node.outputs[0] if node.outputs else None
        free = [port for port in node.inputs if not port.connected]
        return free[0] if free else (node.inputs[0] if node.inputs else None)

    def _set_target(self, target: PortItem | None) -> None:
        if self.target is not None and self.target is not target:
            self.target.set_highlighted(False)
        self.target = target
        if target is not None:
            target.set_highlighted(True)

    def _draw_to(self, point: QPointF) -> None:
        start = self.origin.anchor()
        if self.origin.is_input:
            self.curve.follow(point, start)
        else:
            self.curve.follow(start, point)

    def _dim(self, dimmed: bool) -> None:
        items = self.view.graph_scene.node_items
        for node_id in self.refused:
            item = items.get(node_id)
            if item is not None:
                item.set_dimmed(dimmed)
        for block in self.view.graph_scene.blocks.blocks.values():
            ports = block.outputs if self.origin.is_input else block.inputs
            if all(port.node_id in self.refused for port in ports):
                block.set_dimmed(dimmed)


def refused_nodes(graph: ModelGraph | None, node_id: str, from_input: bool) -> set[str]:
    """The nodes a link from `node_id` cannot reach without a cycle, and those without a port to take it.

    From an output: the node itself, everything upstream of it, and nodes with
    no inputs. From an input: the node, everything downstream, and nodes with no
    outputs. (An occupied input is not refused: connecting replaces its edge.)
    """
    if graph is None:
        return set()
    refused = _reachable(graph, node_id, upstream=not from_input)
    for node in graph.nodes.values():
        needed = node.ports.outputs if from_input else (node.ports.inputs or node.ports.variadic)
        if not needed:
            refused.add(node.id)
    return refused


def _reachable(graph: ModelGraph, start: str, upstream: bool) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        current = stack.pop()
        edges = graph.input_edges(current) if upstream else graph.output_edges(current)
        for edge in edges:
            following = edge.source if upstream else edge.target
            if following not in seen:
                seen.add(following)
                stack.append(following)
    return seen


# -------------------------------------------------------------------- moving
class MoveInteraction(Interaction):
    """Drag the selected nodes; every move of one drag merges into one MoveNodes step."""

    def __init__(self, view: GraphView, press: QMouseEvent) -> None:
        super().__init__(view)
        self.press_view = press.position().toPoint()
        self.press_scene = self.scene_position(press)
        graph = view.graph_scene.graph
        node_ids = view.graph_scene.selected_members()
        self.start = {node_id: graph.node(node_id).position for node_id in node_ids} if graph else {}
        self.moving = False

    def mouse_move(self, event: QMouseEvent) -> None:
        if not self.start:
            return
        if not self.moving:
            distance = (event.position().toPoint() - self.press_view).manhattanLength()
            if distance < QApplication.startDragDistance():
                return
            self.moving = True
        delta = self.scene_position(event) - self.press_scene
        positions = {
            node_id: (float(round(x + delta.x())), float(round(y + delta.y())))
            for node_id, (x, y) in self.start.items()
        }
        self.view.editor.move_nodes(positions, old=self.start, drag=self)


# ------------------------------------------------------------------- panning
class PanInteraction(Interaction):
    """Scroll the view by dragging (middle button, or space + left button)."""

    def __init__(self, view: GraphView, press: QMouseEvent) -> None:
        super().__init__(view)
        self.last = press.position().toPoint()
        view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouse_move(self, event: QMouseEvent) -> None:
        point = event.position().toPoint()
        delta: QPoint = point - self.last
        self.last = point
        horizontal, vertical = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
        horizontal.setValue(horizontal.value() - delta.x())
        vertical.setValue(vertical.value() - delta.y())

    def end(self) -> None:
        self.view.viewport().unsetCursor()
        super().end()
