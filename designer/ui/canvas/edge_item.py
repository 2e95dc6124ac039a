"""A connection on the canvas: a cubic Bézier from an output port to an input port, with a shape label.

`EdgeItem` stands for one `Edge` of the model; the scene routes it (`route`)
when either end moves and sets its label (the inferred shape of the tensor it
carries). The label sits on the curve's middle, on a background, within the
room between its two nodes' ports: a shape too long for it is elided and the
edge's tooltip holds it whole. Until the engine has answered the label is a
muted `labels.PENDING`. `LinkCurveItem` is the loose curve a link drag pulls
behind the cursor.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsSceneHoverEvent,
    QStyle,
    QStyleOptionGraphicsItem,
    QWidget,
)

from designer.graph.model import Edge
from designer.ui.canvas.labels import PENDING
from designer.ui.canvas.node_item import Fonts, readable_scale
from designer.ui.canvas.port_item import HOVER_RADIUS
from designer.ui.theme import LIGHT, CanvasColors

HIT_WIDTH = 12.0
LABEL_PADDING = 3.0
PORT_CLEARANCE = HOVER_RADIUS + 2.0  # the label keeps this far from the ports' centres


def bezier_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal S-curve from `start` (an output, on the left) to `end` (an input)."""
    reach = max(40.0, abs(end.x() - start.x()) * 0.5, abs(end.y() - start.y()) * 0.25)
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + reach, start.y()), QPointF(end.x() - reach, end.y()), end)
    return path


class EdgeItem(QGraphicsPathItem):
    """One model edge, drawn between the anchors the scene gives it."""

    def __init__(self, edge: Edge) -> None:
        super().__init__()
        self.edge = edge
        self.label = ""
        self.shown_label = ""  # the label as drawn: elided when there is no room for all of it
        self._label_rect = QRectF()
        self._bounds = QRectF()
        self._middle = QPointF()
        self.start, self.end = QPointF(), QPointF()
        self._hovered = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)

    def set_overview(self, overview: bool) -> None:
        """Far out the overview item draws this edge; the item stays selectable."""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, overview)

    def route(self, start: QPointF, end: QPointF) -> None:
        self.prepareGeometryChange()
        path = bezier_path(start, end)
        self.start, self.end = QPointF(start), QPointF(end)
        self.setPath(path)
        self._middle = path.pointAtPercent(0.5)
        self._place_label()

    def set_label(self, text: str) -> None:
        if text != self.label:
            self.prepareGeometryChange()
            self.label = text
            self._place_label()
            self.update()

    def _place_label(self) -> None:
        """Centre the label on the curve's middle, elided to the room between the ports; keep the
        bounds Qt asks for often."""
        bounds = self.path().boundingRect().adjusted(-HIT_WIDTH, -HIT_WIDTH, HIT_WIDTH, HIT_WIDTH)
        self.shown_label = self._fitted_label()
        self.setToolTip(self.label if self.shown_label != self.label else "")
        if not self.shown_label:
            self._label_rect, self._bounds = QRectF(), bounds
            return
        metrics = Fonts.get().small_metrics
        width = metrics.horizontalAdvance(self.shown_label) + 2 * LABEL_PADDING
        height = metrics.height() + 2
        middle = self._middle
        self._label_rect = QRectF(middle.x() - width / 2, middle.y() - height / 2, width, height)
        self._bounds = bounds.united(self._label_rect)

    def label_room(self) -> float:
        """How wide a label may be: the gap between the two ends, less the ports on either side."""
        return self.end.x() - self.start.x() - 2 * PORT_CLEARANCE

    def _fitted_label(self) -> str:
        """The label, elided to `label_room` ("" when not even an ellipsis fits)."""
        if not self.label:
            return ""
        metrics = Fonts.get().small_metrics
        room = self.label_room() - 2 * LABEL_PADDING
        if metrics.horizontalAdvance(self.label) <= room:
            return self.label
        elided = metrics.elidedText(self.label, Qt.TextElideMode.ElideRight, room)
        return elided if elided and metrics.horizontalAdvance(elided) <= room else ""

    def label_scene_rect(self) -> QRectF:
        """Where the label is drawn, in scene coordinates (empty when none is)."""
        return self.mapRectToScene(self._label_rect) if self.shown_label else QRectF()

    # ---------------------------------------------------------------- painting
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._bounds

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(HIT_WIDTH)
        shape = stroker.createStroke(self.path())
        if self.shown_label:
            shape.addRect(self._label_rect)
        return shape

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        colors: CanvasColors = getattr(self.scene(), "colors", LIGHT)
        detail = option.levelOfDetailFromTransform(painter.worldTransform())
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if detail < 0.35:
            painter.setPen(QPen(colors.edge, 0))
            painter.drawPath(self.path())
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = colors.selection if selected else colors.edge_hover if self._hovered else colors.edge
        painter.setPen(QPen(colour, 2.5 if (selected or self._hovered) else 1.6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        if self.shown_label and detail >= readable_scale() - 1e-6:
            self._paint_label(painter, colors)

    def _paint_label(self, painter: QPainter, colors: CanvasColors) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colors.label_fill)
        painter.drawRoundedRect(self._label_rect, 4, 4)
        painter.setFont(Fonts.get().small)
        painter.setPen(_muted(colors.label_text) if self.label == PENDING else colors.label_text)
        painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.shown_label)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802 - Qt's name
        self._hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802 - Qt's name
        self._hovered = False
        self.update()
        super().hoverLeaveEvent(event)


def _muted(colour: QColor) -> QColor:
    """The label colour, half see-through: a label still waiting for the engine."""
    muted = QColor(colour)
    muted.setAlphaF(0.6)
    return muted


class LinkCurveItem(QGraphicsPathItem):
    """The dashed curve that follows the cursor while a link is being drawn."""

    def __init__(self, colors: CanvasColors) -> None:
        super().__init__()
        pen = QPen(colors.edge_hover, 2.0, Qt.PenStyle.DashLine)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.setPen(pen)
        self.setZValue(5)

    def follow(self, output_end: QPointF, input_end: QPointF) -> None:
        self.setPath(bezier_path(output_end, input_end))
