"""The far-away picture of a large design: every node a coloured box, every edge a line, in one paint.

Zoomed out past `OVERVIEW_SCALE`, node and edge items stop painting
themselves (they stay selectable and hit-testable) and this one item draws
them all with a few batched calls, so fitting a thousand nodes in the view
repaints in milliseconds. It reads only the items' geometry and looks; the
scene tells it when either changed (`invalidate`), and it gathers them again,
once, before the next paint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from designer.ui.canvas.block_item import BlockItem
from designer.ui.canvas.edge_item import EdgeItem
from designer.ui.canvas.node_item import WIDTH, NodeItem
from designer.ui.theme import LIGHT, CanvasColors

OVERVIEW_SCALE = 0.3
MARKS = ("selected", "error", "warning")


class OverviewItem(QGraphicsItem):
    """Paints the boxes of `nodes()` (nodes and blocks) and the lines of `edges()` while the view
    is zoomed far out."""

    def __init__(
        self,
        nodes: Callable[[], Iterable[NodeItem | BlockItem]],
        edges: Callable[[], Iterable[EdgeItem]],
    ) -> None:
        super().__init__()
        self._nodes, self._edges = nodes, edges
        self._stale_geometry = self._stale_looks = True
        self._bounds = QRectF()
        self._rects: list[tuple[NodeItem | BlockItem, QRectF]] = []
        self._lines: list[QLineF] = []
        self._boxes: dict[int, tuple[QColor, list[QRectF]]] = {}
        self._outlines: dict[str, list[QRectF]] = {}
        self.setZValue(-1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def invalidate(self, geometry: bool = True) -> None:
        """Nodes or edges moved, came or went (`geometry`), or only their colours or marks changed."""
        if geometry and not self._stale_geometry:
            if self.isVisible():
                self.prepareGeometryChange()
            self._stale_geometry = True
        if not self._stale_looks:
            self._stale_looks = True
            self.update()

    def set_shown(self, shown: bool) -> None:
        self.prepareGeometryChange()
        self._stale_geometry = self._stale_looks = True
        self.setVisible(shown)
        self.update()

    def _gather_geometry(self) -> None:
        self._rects = [
            (
                node,
                QRectF(
                    node.pos().x(),
                    node.pos().y(),
                    node.width if isinstance(node, BlockItem) else WIDTH,
                    node.height,
                ),
            )
            for node in self._nodes()
        ]
        self._lines = [QLineF(edge.start, edge.end) for edge in self._edges()]
        bounds = QRectF()
        for _, rect in self._rects:
            bounds = bounds.united(rect)
        self._bounds = bounds.adjusted(-WIDTH, -WIDTH, WIDTH, WIDTH)
        self._stale_geometry, self._stale_looks = False, True

    def _gather_looks(self) -> None:
        self._boxes, self._outlines = {}, {mark: [] for mark in MARKS}
        for node, rect in self._rects:
            colour = node.category_colour
            self._boxes.setdefault(colour.rgba(), (colour, []))[1].append(rect)
            mark = "selected" if node.isSelected() else node.severity
            if mark:
                self._outlines[mark].append(rect)
        self._stale_looks = False

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        if self._stale_geometry:
            self._gather_geometry()
        return self._bounds

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self._stale_geometry:
            self._gather_geometry()
        if self._stale_looks:
            self._gather_looks()
        colors: CanvasColors = getattr(self.scene(), "colors", LIGHT)
        painter.setPen(QPen(colors.edge, 0))
        painter.drawLines(self._lines)
        painter.setPen(Qt.PenStyle.NoPen)
        for colour, rects in self._boxes.values():
            painter.setBrush(colour)
            painter.drawRects(rects)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        outline = {"selected": colors.selection, "error": colors.error, "warning": colors.warning}
        for mark, rects in self._outlines.items():
            if rects:
                pen = QPen(outline[mark], 2)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.drawRects(rects)
