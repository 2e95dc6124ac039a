"""A port on the side of a node: inputs on the left, outputs on the right.

A port knows which node and which index it stands for (a block's port stands
for a member's: an output, or the member inputs it feeds, `consumers`); it paints a small disc
that grows and takes the accent colour under the mouse or while a link drag
could end on it; an optional input is hollow, dotted and dimmed. Links are drawn by interactions, not here.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneHoverEvent, QStyleOptionGraphicsItem, QWidget

from designer.ui.theme import LIGHT, CanvasColors

PORT_RADIUS = 5.0
HOVER_RADIUS = 7.0
HIT_RADIUS = 9.0
HIT_RECT = QRectF(-HIT_RADIUS, -HIT_RADIUS, 2 * HIT_RADIUS, 2 * HIT_RADIUS)
HIT_SHAPE = QPainterPath()
HIT_SHAPE.addEllipse(HIT_RECT)


class PortItem(QGraphicsItem):
    """One input or output port of the node item it belongs to (its parent)."""

    def __init__(self, parent: QGraphicsItem, node_id: str, index: int, is_input: bool, name: str) -> None:
        super().__init__(parent)
        self.node_id = node_id
        self.index = index
        self.is_input = is_input
        self.name = name
        self.consumers: tuple[tuple[str, int], ...] | None = None  # a block input: the member ports it feeds
        self.connected = False
        self.highlighted = False
        self._hovered = False
        self.setAcceptHoverEvents(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.optional = False  # an optional call argument (MultiHeadAttention's key, an RNN's initial_state)
        self.set_optional(False)
        self.setZValue(2)

    # ------------------------------------------------------------------- state
    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.update()

    def set_optional(self, optional: bool) -> None:
        """An optional port is drawn hollow and dimmed, and its tooltip says so."""
        self.optional = optional
        suffix = " (optional)" if optional else ""
        self.setToolTip(f"{'input' if self.is_input else 'output'}: {self.name}{suffix}")
        self.update()

    def set_highlighted(self, highlighted: bool) -> None:
        if highlighted != self.highlighted:
            self.highlighted = highlighted
            self.update()

    def anchor(self) -> QPointF:
        """Where links attach, in scene coordinates."""
        return self.scenePos()

    # ---------------------------------------------------------------- painting
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return HIT_RECT

    def shape(self) -> QPainterPath:
        return HIT_SHAPE

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.3:
            return
        colors = self._colors()
        active = self._hovered or self.highlighted
        radius = HOVER_RADIUS if active else PORT_RADIUS
        colour = colors.port_hover if active else colors.port
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(colour, 1.5)
        if self.optional and not (self.connected or active):
            pen.setStyle(Qt.PenStyle.DotLine)  # hollow and dotted: may stay unconnected
            painter.setOpacity(0.6)
        painter.setPen(pen)
        painter.setBrush(QBrush(colour if (self.connected or active) else colors.node_fill))
        painter.drawEllipse(QPointF(0, 0), radius, radius)

    def _colors(self) -> CanvasColors:
        scene = self.scene()
        return getattr(scene, "colors", LIGHT)

    # ------------------------------------------------------------------ hover
    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802 - Qt's name
        self._hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802 - Qt's name
        self._hovered = False
        self.update()
        super().hoverLeaveEvent(event)
