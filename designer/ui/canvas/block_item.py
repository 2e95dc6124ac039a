"""A collapsed block on the canvas, and the stand-ins for its boundary while editing inside it.

`BlockItem` draws a group as one node: a card on a card (so it reads as several
layers), its name, its block class and member count, the parameter total of
its members, and its boundary ports, inputs on the left and outputs on the
right, each labelled. Its ports are ordinary `PortItem`s that stand for member
ports: an output port for the member output it gives, an input port for the
member inputs it feeds (`consumers`), so a link drawn to or from a block is an
edge between nodes. `BoundaryItem` is the greyed stand-in for a block input or
output shown while the canvas shows only the block's members. `FrameItem` is
drawn behind the members of a group shown expanded in place.

Like `NodeItem`, both show what the scene tells them and never touch the model.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyle, QStyleOptionGraphicsItem, QWidget

from designer.ui.canvas.node_item import (
    CORNER,
    LINE_HEIGHT,
    MIN_HEIGHT,
    PADDING,
    PORT_SPACING,
    TITLE_HEIGHT,
    BadgeItem,
    Fonts,
)
from designer.ui.canvas.port_item import PortItem
from designer.ui.theme import LIGHT, CanvasColors

BLOCK_WIDTH = 180.0
BLOCK_HUE = "#4a5b7a"
CARD_OFFSET = 5.0
INFO_LINES = 2
PORTS_TOP = TITLE_HEIGHT + 4 + INFO_LINES * LINE_HEIGHT  # port rows start below the info lines
BOUNDARY_WIDTH = 130.0
BOUNDARY_HEIGHT = 26.0
FRAME_MARGIN = 16.0

Consumers = tuple[tuple[str, int], ...]  # (member id, input port) fed by one block input


def block_height(port_rows: int) -> float:
    """The height of a block with `port_rows` rows of ports (the larger of its input and output counts)."""
    return max(MIN_HEIGHT, PORTS_TOP + max(port_rows, 1) * PORT_SPACING + PADDING / 2)


def block_colour(colors: CanvasColors) -> QColor:
    colour = QColor(BLOCK_HUE)
    return colour.darker(125) if colors.dark else colour


class BlockItem(QGraphicsItem):
    """One collapsed group: title, class and member count, parameter total, labelled boundary ports."""

    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id
        self.name = ""
        self.class_text = ""
        self.count_text = "\u2013"
        self.members = 0
        self.input_labels: list[str] = []
        self.output_labels: list[str] = []
        self.inputs: list[PortItem] = []
        self.outputs: list[PortItem] = []
        self._port_ends: tuple[list[tuple[str, Consumers]], list[tuple[str, tuple[str, int]]]] = ([], [])
        self.category_colour = QColor(BLOCK_HUE)  # what the overview paints it with
        self.severity = ""
        self.width = BLOCK_WIDTH
        self.height = block_height(1)
        self._bounds = self._bounds_for(self.height)
        self.overview = False
        self.badge = BadgeItem(self)
        self.badge.setPos(BLOCK_WIDTH - 2, 2)
        self.badge.hide()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(1)

    # ------------------------------------------------------------------- state
    def set_texts(self, name: str, class_name: str, members: int) -> None:
        self.name, self.members = name, members
        self.class_text = f"{class_name} · {members} layer{'s' if members != 1 else ''}"
        self.setToolTip(
            f"<b>{name}</b>: block {class_name} of {members} layers. Double-click to edit inside."
        )
        self.update()

    def set_count(self, text: str) -> None:
        if text != self.count_text:
            self.count_text = text
            self.update()

    def set_colour(self, colour: QColor) -> None:
        self.category_colour = colour
        self.update()

    def set_problems(self, severity: str, tooltip: str) -> None:
        """Outline and badge for the members' "error"/"warning" findings; "" clears them."""
        self.severity = severity
        self.badge.severity = severity
        self.badge.setToolTip(tooltip)
        self.badge.setVisible(bool(severity) and not self.overview)
        self.update()

    def set_ports(
        self,
        inputs: list[tuple[str, Consumers, bool]],
        outputs: list[tuple[str, tuple[str, int], bool]],
    ) -> None:
        """The boundary ports: (label, member ports fed, connected) per input and
        (label, member output, connected) per output, in port order. The port items are
        made again only when the ports themselves change, not their connected state."""
        wanted = ([(label, ends) for label, ends, _ in inputs], [(label, end) for label, end, _ in outputs])
        if wanted == self._port_ends:
            flags = [connected for _, _, connected in inputs] + [connected for _, _, connected in outputs]
            for port, connected in zip(self.inputs + self.outputs, flags, strict=True):
                port.set_connected(connected)
            return
        self._port_ends = wanted
        for port in self.inputs + self.outputs:
            port.setParentItem(None)  # type: ignore[arg-type]  # Qt takes no parent; the stubs omit None
            if port.scene() is not None:
                port.scene().removeItem(port)
        self.inputs = [self._port(label, ends[0], True, connected, ends) for label, ends, connected in inputs]
        self.outputs = [self._port(label, end, False, connected, None) for label, end, connected in outputs]
        self.input_labels = [label for label, _, _ in inputs]
        self.output_labels = [label for label, _, _ in outputs]
        height = block_height(max(len(inputs), len(outputs)))
        if height != self.height:
            self.prepareGeometryChange()
            self.height, self._bounds = height, self._bounds_for(height)
        for ports, x in ((self.inputs, 0.0), (self.outputs, BLOCK_WIDTH)):
            for index, port in enumerate(ports):
                port.setPos(x, _port_row(index))
        self.update()

    def _port(
        self, label: str, end: tuple[str, int], is_input: bool, connected: bool, consumers: Consumers | None
    ) -> PortItem:
        port = PortItem(self, end[0], end[1], is_input, label)
        port.consumers = consumers
        port.set_connected(connected)
        port.setVisible(not self.overview)
        return port

    def set_overview(self, overview: bool) -> None:
        """Far out the block paints nothing itself (the overview item does); near it paints in full."""
        self.overview = overview
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, overview)
        for port in self.inputs + self.outputs:
            port.setVisible(not overview)
        self.badge.setVisible(bool(self.severity) and not overview)

    def set_dimmed(self, dimmed: bool) -> None:
        self.setOpacity(0.3 if dimmed else 1.0)

    def input_anchor(self, index: int) -> QPointF:
        if index < len(self.inputs):
            return self.inputs[index].anchor()
        return self.mapToScene(QPointF(0, self.height / 2))

    def output_anchor(self, index: int) -> QPointF:
        if index < len(self.outputs):
            return self.outputs[index].anchor()
        return self.mapToScene(QPointF(BLOCK_WIDTH, self.height / 2))

    # ---------------------------------------------------------------- painting
    @staticmethod
    def _bounds_for(height: float) -> QRectF:
        return QRectF(-3, -3, BLOCK_WIDTH + CARD_OFFSET + 6, height + CARD_OFFSET + 6)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, BLOCK_WIDTH, self.height), CORNER, CORNER)
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        colors: CanvasColors = getattr(self.scene(), "colors", LIGHT)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        detail = option.levelOfDetailFromTransform(painter.worldTransform())
        outline = colors.selection if selected else _problem_colour(colors, self.severity)
        rect = QRectF(0, 0, BLOCK_WIDTH, self.height)
        if detail < 0.35:
            painter.setPen(QPen(outline, 0) if outline is not None else Qt.PenStyle.NoPen)
            painter.setBrush(self.category_colour)
            painter.drawRect(rect)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colors.node_border, 1))
        painter.setBrush(colors.node_fill.darker(108))
        painter.drawRoundedRect(rect.translated(CARD_OFFSET, CARD_OFFSET), CORNER, CORNER)
        painter.setPen(QPen(outline, 2.5) if outline is not None else QPen(self.category_colour, 1.5))
        painter.setBrush(colors.node_fill)
        painter.drawRoundedRect(rect, CORNER, CORNER)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.category_colour)
        painter.drawPath(TITLE_PATH)
        if detail >= 0.5:
            self._paint_texts(painter, colors)

    def _paint_texts(self, painter: QPainter, colors: CanvasColors) -> None:
        fonts = Fonts.get()
        inner = BLOCK_WIDTH - 2 * PADDING
        painter.setFont(fonts.title)
        painter.setPen(colors.title_text)
        title = fonts.title_metrics.elidedText(self.name, Qt.TextElideMode.ElideRight, inner - 14)
        painter.drawText(QRectF(PADDING, 0, inner, TITLE_HEIGHT), Qt.AlignmentFlag.AlignVCenter, title)
        painter.setFont(fonts.body)
        for row, (text, colour) in enumerate(
            ((self.class_text, colors.node_subtext), (self.count_text, colors.node_text))
        ):
            top = TITLE_HEIGHT + 4 + row * LINE_HEIGHT
            elided = fonts.body_metrics.elidedText(text, Qt.TextElideMode.ElideRight, inner)
            painter.setPen(colour)
            painter.drawText(QRectF(PADDING, top, inner, LINE_HEIGHT), Qt.AlignmentFlag.AlignVCenter, elided)
        self._paint_port_labels(painter, colors, fonts)

    def _paint_port_labels(self, painter: QPainter, colors: CanvasColors, fonts: Fonts) -> None:
        painter.setFont(fonts.small)
        painter.setPen(colors.node_subtext)
        half = BLOCK_WIDTH / 2 - PADDING
        sides = (
            (self.input_labels, PADDING + 2, Qt.AlignmentFlag.AlignLeft),
            (self.output_labels, BLOCK_WIDTH / 2, Qt.AlignmentFlag.AlignRight),
        )
        for labels, left, align in sides:
            for index, label in enumerate(labels):
                text = fonts.small_metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, half - 2)
                rect = QRectF(left, _port_row(index) - LINE_HEIGHT / 2, half - 2, LINE_HEIGHT)
                painter.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, text)


class BoundaryItem(QGraphicsItem):
    """A greyed stand-in for where a block input comes from (left of the members) or where a
    block output goes (right of them), shown while editing inside the block."""

    def __init__(self, label: str, is_input: bool) -> None:
        super().__init__()
        self.label = label
        self.is_input = is_input
        self.setToolTip(f"Block {'input' if is_input else 'output'}: {label}")
        self.setOpacity(0.75)
        self.setZValue(1)

    def anchor(self) -> QPointF:
        """Where the edges of this boundary port attach: the right end of an input, the left of an output."""
        return self.mapToScene(QPointF(BOUNDARY_WIDTH if self.is_input else 0.0, BOUNDARY_HEIGHT / 2))

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return QRectF(-2, -2, BOUNDARY_WIDTH + 4, BOUNDARY_HEIGHT + 4)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        colors: CanvasColors = getattr(self.scene(), "colors", LIGHT)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(0, 0, BOUNDARY_WIDTH, BOUNDARY_HEIGHT)
        painter.setPen(QPen(colors.node_border, 1.2, Qt.PenStyle.DashLine))
        painter.setBrush(colors.background.darker(104))
        painter.drawRoundedRect(rect, BOUNDARY_HEIGHT / 2, BOUNDARY_HEIGHT / 2)
        fonts = Fonts.get()
        painter.setFont(fonts.body)
        painter.setPen(colors.node_subtext)
        arrow = f"{self.label}  \u25b8" if self.is_input else f"\u25b8  {self.label}"
        text = fonts.body_metrics.elidedText(arrow, Qt.TextElideMode.ElideMiddle, BOUNDARY_WIDTH - 16)
        painter.drawText(rect.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignCenter, text)


class FrameItem(QGraphicsItem):
    """A tinted frame with the block's name behind the members of a group shown expanded."""

    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id
        self.label = ""
        self.rect = QRectF()
        self.setZValue(-0.5)
        self.setAcceptedMouseButtons(Qt.MouseButton.RightButton)

    def set_frame(self, label: str, members: QRectF) -> None:
        """Frame `members` (their items' bounds in the scene), named `label` above them."""
        self.prepareGeometryChange()
        self.label = label
        self.rect = members.adjusted(-FRAME_MARGIN, -FRAME_MARGIN - TITLE_HEIGHT, FRAME_MARGIN, FRAME_MARGIN)
        self.setToolTip(f"Block {label}, expanded: right-click to collapse it")
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self.rect.adjusted(-2, -2, 2, 2)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        colors: CanvasColors = getattr(self.scene(), "colors", LIGHT)
        colour = block_colour(colors)
        fill = QColor(colour)
        fill.setAlpha(28)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, 1.5, Qt.PenStyle.DashLine))
        painter.setBrush(fill)
        painter.drawRoundedRect(self.rect, CORNER * 1.5, CORNER * 1.5)
        fonts = Fonts.get()
        painter.setFont(fonts.title)
        painter.setPen(colour if not colors.dark else colour.lighter(170))
        title = QRectF(
            self.rect.left() + PADDING, self.rect.top(), self.rect.width() - 2 * PADDING, TITLE_HEIGHT
        )
        painter.drawText(title, Qt.AlignmentFlag.AlignVCenter, self.label)


def _problem_colour(colors: CanvasColors, severity: str) -> QColor | None:
    return colors.error if severity == "error" else colors.warning if severity == "warning" else None


def _port_row(index: int) -> float:
    """The y of the port in row `index`, below the title and the info lines."""
    return PORTS_TOP + PORT_SPACING * (index + 0.5)


def _title_path() -> QPainterPath:
    rounded = QPainterPath()
    rounded.addRoundedRect(QRectF(0.75, 0.75, BLOCK_WIDTH - 1.5, TITLE_HEIGHT + CORNER), CORNER, CORNER)
    clip = QPainterPath()
    clip.addRect(QRectF(0, 0, BLOCK_WIDTH, TITLE_HEIGHT))
    return rounded.intersected(clip)


TITLE_PATH = _title_path()
