"""The scene that shows one Document: a NodeItem per node, an EdgeItem per edge, a block per collapsed group.

`GraphScene` subscribes to the graph's past-tense signals in one place
(`_bind`), keeps node id -> NodeItem and Edge -> EdgeItem dicts, and updates
items from those signals and from the document's results (shape labels,
parameter counts, error badges). Its `BlockLayer` decides what groups hide
and where edges attach: a collapsed group is one block whose members are
hidden, and `enter_group` shows the members of one block alone, until
`leave_group`. It never mutates the model: gestures go through the view's
interactions to the `CanvasEditor`, which pushes commands. Selection is the
one thing it writes back, to the document, not the graph.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

import shiboken6
from psygnal import EmissionInfo
from PySide6.QtCore import QPointF, QRect, QRectF, QTimer, Signal
from PySide6.QtGui import QPainter, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from designer.graph.model import Edge, Group, ModelGraph, ModelOutput, Node
from designer.graph.validation import Diagnostic
from designer.ui.canvas import labels
from designer.ui.canvas.block_item import BlockItem, FrameItem
from designer.ui.canvas.block_layer import BlockLayer
from designer.ui.canvas.edge_item import EdgeItem
from designer.ui.canvas.node_item import NodeItem
from designer.ui.canvas.overview_item import OVERVIEW_SCALE, OverviewItem
from designer.ui.canvas.port_item import PortItem
from designer.ui.document import Document
from designer.ui.theme import LIGHT, CanvasColors

GRID_STEP = 20.0
MIN_GRID_PIXELS = 9.0
SCENE_MARGIN = 2000.0


class GraphScene(QGraphicsScene):
    """Items for every node, edge and collapsed group of `document.graph`, kept in step with its signals."""

    inside_changed = Signal(object)  # the group whose members alone are shown (or None), or it changed

    def __init__(self, document: Document, colors: CanvasColors = LIGHT) -> None:
        super().__init__()
        self.colors = colors
        self.document = document
        self.graph: ModelGraph | None = None
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[Edge, EdgeItem] = {}
        self.blocks = BlockLayer(self)
        self._syncing_selection = False
        self._moved_groups: set[str] = set()  # blocks whose members moved, placed once per batch
        self._moved_flush = QTimer(self)
        self._moved_flush.setSingleShot(True)
        self._moved_flush.setInterval(0)
        self._moved_flush.timeout.connect(self.flush_moved_groups)
        self.far = False  # zoomed out past OVERVIEW_SCALE: the overview item paints the design
        self.overview = self._new_overview()
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.setSceneRect(QRectF(-SCENE_MARGIN, -SCENE_MARGIN, 2 * SCENE_MARGIN, 2 * SCENE_MARGIN))
        self.selectionChanged.connect(self._selection_to_document)
        document.project_replaced.connect(self._graph_replaced)
        document.results_changed.connect(self.apply_results)
        document.catalog_changed.connect(self._refresh_all_nodes)
        document.selection_changed.connect(self._selection_from_document)
        document.undo_stack.indexChanged.connect(_after_each_command(self))
        self._handlers = self._event_handlers()
        self._bind(document.graph)

    # ------------------------------------------------------------ subscription
    def _bind(self, graph: ModelGraph) -> None:
        """Follow `graph`: the one place the scene subscribes to the model."""
        self._unbind()
        self.graph = graph
        graph.events.connect(self._graph_event)
        self._rebuild()

    def _unbind(self) -> None:
        if self.graph is not None:
            self.graph.events.disconnect(self._graph_event)
            self.graph = None

    def _graph_event(self, event: EmissionInfo) -> None:
        """Hand one emission of `graph.events` to the handler of its signal."""
        handler = self._handlers.get(event.signal.name)
        if handler is not None:
            handler(*event.args)

    def _event_handlers(self) -> dict[str, Callable[..., None]]:
        """The scene's handler of each graph signal (the model's name draws nothing)."""
        return {
            "node_added": self._node_added,
            "node_removed": self._node_removed,
            "edge_added": self._edge_added,
            "edge_removed": self._edge_removed,
            "params_changed": self._params_changed,
            "node_renamed": self._node_renamed,
            "node_moved": self._node_moved,
            "sharing_changed": self._sharing_changed,
            "outputs_changed": self._outputs_changed,
            "group_added": self._groups_changed,
            "group_removed": self._groups_changed,
            "group_changed": self._groups_changed,
        }

    def _graph_replaced(self) -> None:
        was_inside = self.blocks.inside is not None
        self._bind(self.document.graph)
        if was_inside:
            self.inside_changed.emit(None)

    def _rebuild(self) -> None:
        self._moved_groups.clear()
        self.clear()
        self.node_items.clear()
        self.edge_items.clear()
        self.blocks.forget()
        self.overview = self._new_overview()
        graph = self.graph
        assert graph is not None
        self.blocks.sync()  # blocks first: the nodes they hide are added hidden, edges go to their ports
        for node in graph.nodes.values():
            self._node_added(node, refresh_ports=False)
        for edge in graph.edges:
            self._edge_added(edge, refresh_ports=False)
        for node_id in graph.nodes:
            self._refresh_ports(node_id)
        self._outputs_changed(graph.outputs)
        self.blocks.refresh_frames()
        self.apply_results()

    def _new_overview(self) -> OverviewItem:
        overview = OverviewItem(self.blocks.shown_items, self._shown_edges)
        overview.setVisible(self.far)
        self.addItem(overview)
        return overview

    # ----------------------------------------------------------------- signals
    def _node_added(self, node: Node, refresh_ports: bool = True) -> None:
        item = NodeItem(node.id)
        self.node_items[node.id] = item
        self._refresh_node(node.id, refresh_ports)
        item.set_output_ports(list(node.ports.outputs))
        item.setPos(QPointF(*node.position))
        item.set_overview(self.far)
        item.setVisible(self.blocks.shows(node.id))
        self.addItem(item)
        self.grow_scene_rect(item.sceneBoundingRect())
        self.overview.invalidate()

    def _node_removed(self, node: Node) -> None:
        item = self.node_items.pop(node.id, None)
        if item is not None:
            self.removeItem(item)
        self.overview.invalidate()

    def _edge_added(self, edge: Edge, refresh_ports: bool = True) -> None:
        item = EdgeItem(edge)
        item.set_overview(self.far)
        self.edge_items[edge] = item
        if refresh_ports:
            self._refresh_ports(edge.target)
            self._refresh_ports(edge.source)
        self.addItem(item)
        self._route(edge)
        item.set_label(labels.edge_label(edge, self.document.results))
        if refresh_ports:
            self._refresh_groups_of([edge.source, edge.target])

    def _edge_removed(self, edge: Edge) -> None:
        item = self.edge_items.pop(edge, None)
        if item is not None:
            self.removeItem(item)
        self._refresh_ports(edge.target)
        self._refresh_ports(edge.source)
        self._refresh_groups_of([edge.source, edge.target])
        self.overview.invalidate()

    def _params_changed(self, node_id: str, old: object, new: object) -> None:
        for changed in (node_id, *(sharer.id for sharer in self._model.sharers(node_id))):
            self._refresh_node(changed)
            item = self.node_items.get(changed)
            if item is not None:  # outputs follow the params (LSTM's return_state)
                item.set_output_ports(list(self._model.node(changed).ports.outputs))
                self._refresh_ports(changed)

    def _node_renamed(self, node_id: str, old: str, new: str) -> None:
        self._refresh_node(node_id)
        for sharer in self._model.sharers(node_id):
            self._refresh_node(sharer.id)
        graph = self._model
        neighbours = [e.target for e in graph.output_edges(node_id)]  # blocks label inputs by their source
        self._refresh_groups_of([node_id, *neighbours])

    def _node_moved(self, node_id: str, position: tuple[float, float]) -> None:
        item = self.node_items.get(node_id)
        if item is None:
            return
        item.setPos(QPointF(*position))
        self.grow_scene_rect(item.sceneBoundingRect())
        for edge in self._model.input_edges(node_id) + self._model.output_edges(node_id):
            self._route(edge)
        affected = self.blocks.affected([node_id])
        if affected:
            # A block follows its members once per batch of moves (a move command, or at
            # the latest when the event loop turns), not once per member.
            self._moved_groups |= affected
            if not self._moved_flush.isActive():
                self._moved_flush.start()

    def _sharing_changed(self, node_id: str, owner_id: object) -> None:
        self._refresh_node(node_id)

    def _outputs_changed(self, outputs: tuple[ModelOutput, ...]) -> None:
        names: dict[str, list[str]] = {}
        for output in outputs:
            names.setdefault(output.node, []).append(output.name)
        for node_id, item in self.node_items.items():
            item.set_output_text(", ".join(names.get(node_id, [])))
        if self._model.groups:
            self._refresh_groups_of(list(self._model.nodes))

    def _groups_changed(self, group: Group) -> None:
        """A group came, went or changed: blocks, what is hidden, and where every edge goes
        (and `inside_changed` again when the block being edited changed, its name say)."""
        inside = self.blocks.inside
        self._show_groups(inside)
        if inside is not None and group.id == inside == self.blocks.inside:
            self.inside_changed.emit(inside)

    def _show_groups(self, was_inside: str | None) -> None:
        """Blocks, what is hidden and where every edge goes, for the groups and the inside as they are;
        `inside_changed` when the inside is no longer `was_inside`."""
        self.blocks.sync()
        for node_id, item in self.node_items.items():
            item.setVisible(self.blocks.shows(node_id))
        for edge in self.edge_items:
            self._route(edge)
        self.blocks.refresh_frames()
        self.apply_results()
        if self.blocks.inside != was_inside:
            self.inside_changed.emit(self.blocks.inside)

    def _refresh_groups_of(self, node_ids: list[str]) -> None:
        """The blocks, frames and stand-ins around these nodes follow a change of their edges,
        names or marks, and so do the edges drawn to them."""
        affected = self.blocks.affected(node_ids)
        if not affected:
            return
        for group_id in affected:
            self.blocks.refresh(group_id)
            self.blocks.refresh_frame(group_id)
        if self.blocks.inside in affected:
            self.blocks.refresh_stand_ins()
        for group_id in affected:
            for edge in self.blocks.member_edges(group_id):
                self._route(edge)
        self.overview.invalidate()

    def flush_moved_groups(self) -> None:
        """The blocks, frames and stand-ins whose members moved follow them, once: a block is
        placed again and the edges crossing its boundary re-routed (the moved nodes' own edges
        were routed as they moved)."""
        self._moved_flush.stop()
        pending, self._moved_groups = self._moved_groups, set()
        if self.graph is None or not pending:
            return
        affected = {g for g in pending if g in self._model.groups} & self.blocks.affected_groups()
        if not affected:
            return
        for group_id in affected:
            self.blocks.place(group_id)
            self.blocks.refresh_frame(group_id)
        if self.blocks.inside in affected:
            self.blocks.refresh_stand_ins()
        for group_id in affected:
            for edge in self.blocks.boundary_edges(group_id):
                self._route(edge)
        self.overview.invalidate()

    # ----------------------------------------------------------------- inside
    @property
    def inside(self) -> str | None:
        """The group whose members alone are shown (editing inside a block), or None."""
        return self.blocks.inside

    def enter_group(self, group_id: str) -> None:
        """Show only the members of `group_id`, with stand-ins for its boundary."""
        self._model.group(group_id)  # an unknown group raises here, before anything changes
        if self.blocks.inside == group_id:
            return
        self.clearSelection()
        was_inside, self.blocks.inside = self.blocks.inside, group_id
        self._show_groups(was_inside)

    def leave_group(self) -> None:
        """Show the whole design again, with the block that was being edited selected."""
        group_id = self.blocks.inside
        if group_id is None:
            return
        self.clearSelection()
        self.blocks.inside = None
        self._show_groups(group_id)
        block = self.blocks.blocks.get(group_id)
        if block is not None:
            block.setSelected(True)

    # ------------------------------------------------------------------ items
    @property
    def _model(self) -> ModelGraph:
        assert self.graph is not None
        return self.graph

    def _refresh_node(self, node_id: str, refresh_ports: bool = True) -> None:
        item = self.node_items.get(node_id)
        if item is None:
            return
        graph, catalog = self._model, self.document.catalog
        node = graph.node(node_id)
        spec = catalog.get(node.type)
        owner = graph.nodes.get(node.shares) if node.shares else None
        item.set_texts(node.name, node.type, labels.parameter_summary(node, spec, owner))
        item.set_category_colour(self.colors.category(labels.category_of(node, catalog)))
        self.overview.invalidate(geometry=False)
        item.setToolTip(labels.node_tooltip(node, spec))
        if refresh_ports:
            self._refresh_ports(node_id)

    def _refresh_ports(self, node_id: str) -> None:
        item = self.node_items.get(node_id)
        if item is None:
            return
        graph = self._model
        node = graph.node(node_id)
        before = len(item.inputs)
        names = labels.input_port_names(node, graph.input_port_count(node_id))
        item.set_input_ports(names, {port for port in range(len(names)) if node.ports.is_optional(port)})
        connected_inputs = {edge.target_port for edge in graph.input_edges(node_id)}
        for port in item.inputs:
            port.set_connected(port.index in connected_inputs)
        connected_outputs = {edge.source_port for edge in graph.output_edges(node_id)}
        for port in item.outputs:
            port.set_connected(port.index in connected_outputs)
        if len(item.inputs) != before:
            for edge in graph.input_edges(node_id) + graph.output_edges(node_id):
                self._route(edge)

    def _refresh_all_nodes(self) -> None:
        for node_id in self.node_items:
            self._refresh_node(node_id)

    def _route(self, edge: Edge) -> None:
        item = self.edge_items.get(edge)
        if item is None:
            return
        anchors = self.blocks.anchors(edge)
        item.setVisible(anchors is not None)
        if anchors is not None:
            item.route(*anchors)
        self.overview.invalidate()

    def _shown_edges(self) -> list[EdgeItem]:
        return [item for item in self.edge_items.values() if item.isVisible()]

    def grow_scene_rect(self, rect: QRectF) -> None:
        """Keep room around the design to pan into; the rect only grows while editing."""
        wanted = rect.adjusted(-SCENE_MARGIN, -SCENE_MARGIN, SCENE_MARGIN, SCENE_MARGIN)
        current = self.sceneRect()
        if not current.contains(wanted):
            self.setSceneRect(current.united(wanted))

    # ----------------------------------------------------------------- results
    def apply_results(self) -> None:
        """Shape labels, parameter counts and problem badges from the document's latest results."""
        results = self.document.results
        problems = _problems_by_node(self.document.diagnostics)
        for node_id, item in self.node_items.items():
            item.set_count(labels.count_text(results.get(node_id)))
            found = problems.get(node_id, [])
            severity = "error" if any(d.is_error for d in found) else "warning" if found else ""
            item.set_problems(severity, labels.diagnostic_tooltip(found))
        for edge, edge_item in self.edge_items.items():
            edge_item.set_label(labels.edge_label(edge, results))
        self.blocks.apply_results(results, problems)
        self.overview.invalidate(geometry=False)

    def set_view_scale(self, scale: float) -> None:
        """The view's zoom changed: far out, let the overview item paint the design."""
        far = scale < OVERVIEW_SCALE
        if far == self.far:
            return
        self.far = far
        nodes: list[NodeItem | BlockItem] = [*self.node_items.values(), *self.blocks.blocks.values()]
        for node in nodes:
            node.set_overview(far)
        for edge in self.edge_items.values():
            edge.set_overview(far)
        self.overview.set_shown(far)

    def set_colors(self, colors: CanvasColors) -> None:
        self.colors = colors
        self._refresh_all_nodes()
        for group_id in self.blocks.blocks:
            self.blocks.refresh(group_id)
        self.update()

    # ---------------------------------------------------------------- lookups
    def port_at(self, position: QPointF, transform: QTransform) -> PortItem | None:
        for item in self.items(position, deviceTransform=transform):
            if isinstance(item, PortItem):
                return item
        return None

    def node_at(self, position: QPointF, transform: QTransform) -> NodeItem | BlockItem | None:
        """The node or block under a point."""
        for item in self.items(position, deviceTransform=transform):
            node = node_item_of(item) or block_item_of(item)
            if node is not None:
                return node
        return None

    def block_at(self, position: QPointF, transform: QTransform) -> str | None:
        """The id of the group under a point: its block, or the frame of an expanded one."""
        for item in self.items(position, deviceTransform=transform):
            block = block_item_of(item)
            if block is not None:
                return block.group_id
            if isinstance(item, FrameItem):
                return item.group_id
        return None

    def edge_at(self, position: QPointF, transform: QTransform) -> EdgeItem | None:
        for item in self.items(position, deviceTransform=transform):
            if isinstance(item, EdgeItem):
                return item
        return None

    def items_rect(self) -> QRectF:
        """The bounds of what is on view: nodes, blocks, and the stand-ins while inside a block."""
        return self.blocks.items_rect()

    # -------------------------------------------------------------- selection
    def selected_node_ids(self) -> list[str]:
        selected = {item.node_id for item in self.selectedItems() if isinstance(item, NodeItem)}
        return [node_id for node_id in self._model.nodes if node_id in selected]

    def selected_group_ids(self) -> list[str]:
        """The groups whose blocks are selected, in the graph's order."""
        selected = {item.group_id for item in self.selectedItems() if isinstance(item, BlockItem)}
        return [group_id for group_id in self._model.groups if group_id in selected]

    def selected_members(self) -> list[str]:
        """The selected nodes and the members of the selected blocks, in the graph's order."""
        chosen = set(self.selected_node_ids())
        for group_id in self.selected_group_ids():
            chosen.update(self._model.group(group_id).nodes)
        return [node_id for node_id in self._model.nodes if node_id in chosen]

    def select_all(self) -> None:
        """Select every node and block on view."""
        self.select_nodes([node_id for node_id, item in self.node_items.items() if item.isVisible()])
        for block in self.blocks.blocks.values():
            block.setSelected(True)

    def select_groups(self, group_ids: list[str]) -> None:
        """Select exactly these blocks."""
        self.select_nodes([])
        for group_id in group_ids:
            block = self.blocks.blocks.get(group_id)
            if block is not None:
                block.setSelected(True)

    def selected_edges(self) -> list[Edge]:
        return sorted(item.edge for item in self.selectedItems() if isinstance(item, EdgeItem))

    def select_nodes(self, node_ids: list[str]) -> None:
        """Select exactly these nodes (one document update at the end); a node hidden in a
        collapsed block selects the block."""
        wanted = set(node_ids)
        hiders = {block for n in node_ids if n in self.node_items and (block := self.blocks.hider(n))}
        self._syncing_selection = True
        try:
            for item in self.selectedItems():
                kept = isinstance(item, NodeItem) and item.node_id in wanted
                if not kept and not (isinstance(item, BlockItem) and item.group_id in hiders):
                    item.setSelected(False)
            for node_id in node_ids:
                node_item = self.node_items.get(node_id)
                if node_item is not None and node_item.isVisible():
                    node_item.setSelected(True)
            for group_id in hiders:
                self.blocks.blocks[group_id].setSelected(True)
        finally:
            self._syncing_selection = False
        self._selection_to_document()

    def _selection_to_document(self) -> None:
        self.overview.invalidate(geometry=False)
        if not self._syncing_selection:
            self.document.set_selection(self.selected_node_ids(), self.selected_group_ids())

    def _selection_from_document(self, node_ids: list[str]) -> None:
        if self._syncing_selection or set(node_ids) == set(self.selected_node_ids()):
            return
        self.select_nodes(node_ids)

    # ------------------------------------------------------------- background
    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802 - Qt's name
        painter.fillRect(rect, self.colors.background)
        scale = painter.worldTransform().m11()
        if (scale < OVERVIEW_SCALE) != self.far:  # a zoom the view did not announce
            QTimer.singleShot(0, lambda: self.set_view_scale(scale))
        step = GRID_STEP
        while step * scale < MIN_GRID_PIXELS:
            step *= 5
        if (rect.width() / step) * (rect.height() / step) > 40_000:
            return
        pen = QPen(self.colors.grid, 2.0)
        pen.setCosmetic(True)
        painter.setPen(pen)
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        points = [
            QPointF(x, y)
            for x in _frange(left, rect.right(), step)
            for y in _frange(top, rect.bottom(), step)
        ]
        painter.drawPoints(points)


def _after_each_command(scene: GraphScene) -> Callable[[int], None]:
    """A slot for the undo stack's indexChanged: once a command is pushed, undone or redone, the
    blocks follow the members it moved. It holds the scene weakly and does nothing once the
    scene is gone (the document, and its stack, may outlive it)."""
    ref = weakref.ref(scene)

    def done(_index: int) -> None:
        alive = ref()
        if alive is not None and shiboken6.isValid(alive):
            alive.flush_moved_groups()

    return done


def node_item_of(item: QGraphicsItem | None) -> NodeItem | None:
    """The node item an item belongs to (itself, or the parent of a port or badge)."""
    while item is not None and not isinstance(item, NodeItem):
        item = item.parentItem()
    return item


def block_item_of(item: QGraphicsItem | None) -> BlockItem | None:
    """The block item an item belongs to (itself, or the parent of a port or badge)."""
    while item is not None and not isinstance(item, BlockItem):
        item = item.parentItem()
    return item


def _problems_by_node(diagnostics: list[Diagnostic]) -> dict[str, list[Diagnostic]]:
    found: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        if diagnostic.node is not None:
            found.setdefault(diagnostic.node, []).append(diagnostic)
    return found


def _frange(start: float, stop: float, step: float) -> list[float]:
    count = max(0, math.ceil((stop - start) / step))
    return [start + index * step for index in range(count + 1)]
