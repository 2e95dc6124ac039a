"""How groups show on the canvas: collapsed blocks, expanded frames, and the inside of one block.

`BlockLayer` belongs to the `GraphScene` and decides, from the graph alone,
what of the design is shown and where each edge is drawn. Outside any block,
a collapsed group is one `BlockItem` at `group_position` (its members hidden)
and an edge crossing its boundary is drawn to the block's port; a group shown
expanded keeps its members, with a `FrameItem` behind them. While editing
inside a block (`inside`), only its members show, and greyed `BoundaryItem`s
stand for where its inputs come from and where its outputs go. Like the
scene, the layer never changes the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF

from designer.engine.results import NodeResult
from designer.graph.groups import group_position, port_labels
from designer.graph.model import Edge, ModelGraph
from designer.graph.validation import Diagnostic
from designer.ui.canvas import labels
from designer.ui.canvas.block_item import (
    BOUNDARY_HEIGHT,
    BOUNDARY_WIDTH,
    BlockItem,
    BoundaryItem,
    FrameItem,
    block_colour,
)
from designer.ui.canvas.node_item import WIDTH, NodeItem

if TYPE_CHECKING:
    from designer.ui.canvas.scene import GraphScene

BOUNDARY_GAP = 90.0  # between the stand-ins and the members they connect to
BOUNDARY_SPACING = BOUNDARY_HEIGHT + 12.0

Anchors = tuple[QPointF, QPointF]


class BlockLayer:
    """The block items, frames and boundary stand-ins of a scene, and where edges attach."""

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self.inside: str | None = None  # the group whose members alone are shown
        self.blocks: dict[str, BlockItem] = {}
        self.frames: dict[str, FrameItem] = {}
        self.stand_ins: list[BoundaryItem] = []
        self._block_inputs: dict[str, dict[tuple[str, int], int]] = {}  # member input -> block input
        self._block_outputs: dict[str, dict[tuple[str, int], int]] = {}  # member output -> block output
        self._sources: dict[tuple[str, int], BoundaryItem] = {}  # inside: outside tensor -> stand-in
        self._targets: dict[tuple[str, int], BoundaryItem] = {}  # inside: member output -> stand-in

    @property
    def graph(self) -> ModelGraph:
        assert self.scene.graph is not None
        return self.scene.graph

    def forget(self) -> None:
        """The scene cleared its items (a new graph): start empty, outside any block."""
        self.inside = None
        self.blocks, self.frames, self.stand_ins = {}, {}, []
        self._block_inputs, self._block_outputs, self._sources, self._targets = {}, {}, {}, {}

    # ------------------------------------------------------------ what shows
    def hider(self, node_id: str) -> str | None:
        """The collapsed block a node is hidden in (outside any block), or None."""
        group = self.graph.group_of(node_id)
        return group.id if group is not None and group.id in self.blocks else None

    def shows(self, node_id: str) -> bool:
        if self.inside is not None:
            group = self.graph.group_of(node_id)
            return group is not None and group.id == self.inside
        return self.hider(node_id) is None

    def shown_items(self) -> Iterator[NodeItem | BlockItem]:
        """The node and block items on view (the overview paints these)."""
        yield from (item for item in self.scene.node_items.values() if item.isVisible())
        yield from self.blocks.values()

    def items_rect(self) -> QRectF:
        rect = QRectF()
        for item in [*self.shown_items(), *self.stand_ins]:
            rect = rect.united(item.sceneBoundingRect())
        return rect

    # ------------------------------------------------------------------ sync
    def sync(self) -> None:
        """Block items and frames for the groups as they are now; stand-ins while inside one."""
        graph = self.graph
        if self.inside is not None and self.inside not in graph.groups:
            self.inside = None
        collapsed = {g.id for g in graph.groups.values() if g.collapsed} if self.inside is None else set()
        expanded = {g.id for g in graph.groups.values() if not g.collapsed} if self.inside is None else set()
        for group_id in [g for g in self.blocks if g not in collapsed]:
            self._drop(self.blocks.pop(group_id))
            self._block_inputs.pop(group_id, None)
            self._block_outputs.pop(group_id, None)
        for group_id in [g for g in self.frames if g not in expanded]:
            self._drop(self.frames.pop(group_id))
        for group_id in collapsed:
            if group_id not in self.blocks:
                self.blocks[group_id] = self._new_block(group_id)
            self.refresh(group_id)
        for group_id in expanded:
            if group_id not in self.frames:
                self.frames[group_id] = FrameItem(group_id)
                self.scene.addItem(self.frames[group_id])
        self.refresh_stand_ins()

    def _new_block(self, group_id: str) -> BlockItem:
        item = BlockItem(group_id)
        item.set_overview(self.scene.far)
        self.scene.addItem(item)
        return item

    def _drop(self, item: BlockItem | FrameItem) -> None:
        if item.scene() is not None:
            item.scene().removeItem(item)

    def refresh(self, group_id: str) -> None:
        """A collapsed block's texts, ports and place, from the graph."""
        item = self.blocks.get(group_id)
        if item is None:
            return
        graph = self.graph
        group = graph.group(group_id)
        inputs, outputs = graph.boundary(group_id)
        input_labels, output_labels = port_labels(graph, group_id)
        item.set_texts(group.name, group.class_name, len(group.nodes))
        item.set_colour(block_colour(self.scene.colors))
        marked = {(o.node, o.port) for o in graph.outputs}
        item.set_ports(
            [
                (label, b.consumers, b.source is not None)
                for label, b in zip(input_labels, inputs, strict=True)
            ],
            [
                (label, (b.node, b.port), bool(b.edges) or (b.node, b.port) in marked)
                for label, b in zip(output_labels, outputs, strict=True)
            ],
        )
        self._block_inputs[group_id] = {end: i for i, b in enumerate(inputs) for end in b.consumers}
        self._block_outputs[group_id] = {(b.node, b.port): i for i, b in enumerate(outputs)}
        self.place(group_id)

    def place(self, group_id: str) -> None:
        """Put a collapsed block where its members are (the mean of their positions)."""
        item = self.blocks.get(group_id)
        if item is not None:
            item.setPos(QPointF(*group_position(self.graph, group_id)))
            self.scene.grow_scene_rect(item.sceneBoundingRect())

    def refresh_frame(self, group_id: str) -> None:
        frame = self.frames.get(group_id)
        if frame is None:
            return
        rect = QRectF()
        for node_id in self.graph.group(group_id).nodes:
            item = self.scene.node_items.get(node_id)
            if item is not None:
                rect = rect.united(item.sceneBoundingRect().adjusted(3, 3, -3, -3))
        frame.set_frame(self.graph.group(group_id).name, rect)

    def refresh_frames(self) -> None:
        for group_id in self.frames:
            self.refresh_frame(group_id)

    def affected(self, node_ids: list[str]) -> set[str]:
        """The groups of these nodes that the canvas shows specially (block, frame, or the inside)."""
        groups = {g.id for g in (self.graph.group_of(n) for n in node_ids if n in self.graph.nodes) if g}
        return {g for g in groups if g in self.blocks or g in self.frames or g == self.inside}

    def affected_groups(self) -> set[str]:
        """The groups the canvas shows specially: a block, a frame, or the inside."""
        return {*self.blocks, *self.frames, *([self.inside] if self.inside is not None else [])}

    def boundary_edges(self, group_id: str) -> list[Edge]:
        """The edges of a group's members with one end outside it (drawn to its block ports or
        stand-ins)."""
        graph = self.graph
        members = set(graph.group(group_id).nodes)
        edges = {e for n in members for e in graph.input_edges(n) + graph.output_edges(n)}
        return sorted(e for e in edges if (e.source in members) != (e.target in members))

    def member_edges(self, group_id: str) -> list[Edge]:
        graph = self.graph
        group = graph.group(group_id)
        return sorted({e for n in group.nodes for e in graph.input_edges(n) + graph.output_edges(n)})

    # ------------------------------------------------------------- stand-ins
    def refresh_stand_ins(self) -> None:
        """While inside a block: a stand-in per boundary input (left) and output (right)."""
        for item in self.stand_ins:
            self._drop_stand_in(item)
        self.stand_ins, self._sources, self._targets = [], {}, {}
        if self.inside is None:
            return
        graph = self.graph
        group = graph.group(self.inside)
        inputs, outputs = graph.boundary(self.inside)
        input_labels, output_labels = port_labels(graph, self.inside)
        left = min(graph.nodes[n].position[0] for n in group.nodes) - BOUNDARY_GAP - BOUNDARY_WIDTH
        right = max(graph.nodes[n].position[0] for n in group.nodes) + WIDTH + BOUNDARY_GAP
        wanted_in = [
            (self._row_of(*b.consumers[0], is_input=True), label)
            for b, label in zip(inputs, input_labels, strict=True)
        ]
        wanted_out = [
            (self._row_of(b.node, b.port, is_input=False), label)
            for b, label in zip(outputs, output_labels, strict=True)
        ]
        for block_input, item in zip(inputs, self._place(wanted_in, left, True), strict=True):
            if block_input.source is not None:
                self._sources[block_input.source] = item
        for block_output, item in zip(outputs, self._place(wanted_out, right, False), strict=True):
            self._targets[(block_output.node, block_output.port)] = item

    def _row_of(self, node_id: str, port: int, is_input: bool) -> float:
        """The y a stand-in would like: level with the member port it connects to."""
        item = self.scene.node_items.get(node_id)
        if item is None:
            return self.graph.nodes[node_id].position[1]
        anchor = item.input_anchor(port) if is_input else item.output_anchor(port)
        return anchor.y() - BOUNDARY_HEIGHT / 2

    def _place(self, wanted: list[tuple[float, str]], x: float, is_input: bool) -> list[BoundaryItem]:
        """Stand-ins at `x`, each as near its wanted y as the ones above it allow."""
        items: list[BoundaryItem | None] = [None] * len(wanted)
        floor = float("-inf")
        for index in sorted(range(len(wanted)), key=lambda i: wanted[i][0]):
            y, label = max(wanted[index][0], floor), wanted[index][1]
            item = BoundaryItem(label, is_input)
            item.setPos(x, y)
            self.scene.addItem(item)
            items[index] = item
            floor = y + BOUNDARY_SPACING
        placed = [item for item in items if item is not None]
        self.stand_ins.extend(placed)
        return placed

    def _drop_stand_in(self, item: BoundaryItem) -> None:
        if item.scene() is not None:
            item.scene().removeItem(item)

    # ----------------------------------------------------------------- edges
    def anchors(self, edge: Edge) -> Anchors | None:
        """Where an edge is drawn from and to, or None when it is not on view."""
        start, end = self._start(edge), self._end(edge)
        return None if start is None or end is None else (start, end)

    def _start(self, edge: Edge) -> QPointF | None:
        if self.inside is not None and not self.shows(edge.source):
            stand_in = self._sources.get((edge.source, edge.source_port)) if self.shows(edge.target) else None
            return stand_in.anchor() if stand_in is not None else None
        group_id = self.hider(edge.source) if self.inside is None else None
        if group_id is not None:
            index = self._block_outputs.get(group_id, {}).get((edge.source, edge.source_port))
            return self.blocks[group_id].output_anchor(index) if index is not None else None
        item = self.scene.node_items.get(edge.source)
        return item.output_anchor(edge.source_port) if item is not None else None

    def _end(self, edge: Edge) -> QPointF | None:
        if self.inside is not None and not self.shows(edge.target):
            stand_in = self._targets.get((edge.source, edge.source_port)) if self.shows(edge.source) else None
            return stand_in.anchor() if stand_in is not None else None
        group_id = self.hider(edge.target) if self.inside is None else None
        if group_id is not None:
            index = self._block_inputs.get(group_id, {}).get((edge.target, edge.target_port))
            return self.blocks[group_id].input_anchor(index) if index is not None else None
        item = self.scene.node_items.get(edge.target)
        return item.input_anchor(edge.target_port) if item is not None else None

    # --------------------------------------------------------------- results
    def apply_results(self, results: dict[str, NodeResult], problems: dict[str, list[Diagnostic]]) -> None:
        """Each block's parameter total (or whose weights it shares) and its members' problems."""
        graph = self.graph
        for group_id, item in self.blocks.items():
            group = graph.group(group_id)
            members = group.nodes
            owner = graph.groups.get(group.shares) if group.shares is not None else None
            total = labels.block_count_text([results.get(n) for n in members])
            item.set_count(f"shares {owner.name}" if owner is not None else total)
            found = [d for n in members for d in problems.get(n, [])]
            severity = "error" if any(d.is_error for d in found) else "warning" if found else ""
            item.set_problems(severity, labels.diagnostic_tooltip(found))
