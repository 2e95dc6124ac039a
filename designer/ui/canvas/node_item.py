"""A node on the canvas: a rounded box with a coloured title, its ports, and an error badge.

The item shows what the scene tells it (`set_texts`, `set_input_ports`,
`set_problems`...) and paints it; it never changes the model and the scene
never reads the design back from it. Text has a floor in screen pixels
(`READABLE_PIXELS`): zoomed out below it a node draws less, not smaller, its
colour block with its name in large letters (`detail_level`); far out (zoomed
to see a large graph) it is a plain box, and the overview item paints it.
"""

from __future__ import annotations

from collections.abc import Collection

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontInfo, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyle, QStyleOptionGraphicsItem, QWidget

from designer.ui.canvas.port_item import PortItem
from designer.ui.theme import LIGHT, CanvasColors

WIDTH = 160.0
TITLE_HEIGHT = 24.0
LINE_HEIGHT = 16.0
BODY_LINES = 3
PADDING = 8.0
PORT_SPACING = 18.0
CORNER = 8.0
MIN_HEIGHT = TITLE_HEIGHT + BODY_LINES * LINE_HEIGHT + PADDING
BADGE_RADIUS = 9.0
BADGE_RECT = QRectF(-BADGE_RADIUS, -BADGE_RADIUS, 2 * BADGE_RADIUS, 2 * BADGE_RADIUS)
READABLE_PIXELS = 9.0  # the smallest node title, in screen pixels, a command zooms to
SIMPLE_SCALE = 0.2  # below this zoom a node is a plain box (the overview item takes over from 0.3)
FULL, SIMPLIFIED, BOX = "full", "simplified", "box"


class Fonts:
    """The fonts every node uses, made once the application exists."""

    _made: Fonts | None = None

    def __init__(self) -> None:
        self.title = QFont()
        self.title.setPointSizeF(9.5)
        self.title.setBold(True)
        self.body = QFont()
        self.body.setPointSizeF(8.5)
        self.small = QFont()
        self.small.setPointSizeF(7.5)
        self.title_metrics = QFontMetricsF(self.title)
        self.body_metrics = QFontMetricsF(self.body)
        self.small_metrics = QFontMetricsF(self.small)
        self._large: dict[int, tuple[QFont, QFontMetricsF]] = {}

    def large_title(self, pixels: int) -> tuple[QFont, QFontMetricsF]:
        """The title font `pixels` high (zoomed out, names are drawn this large), made once per size."""
        made = self._large.get(pixels)
        if made is None:
            font = QFont(self.title)
            font.setPixelSize(pixels)
            made = self._large[pixels] = (font, QFontMetricsF(font))
        return made

    @classmethod
    def get(cls) -> Fonts:
        if cls._made is None:
            cls._made = Fonts()
        return cls._made


def title_pixels() -> float:
    """The height of a node title's font in pixels at a zoom of 1."""
    return float(QFontInfo(Fonts.get().title).pixelSize())


def readable_scale() -> float:
    """The smallest zoom at which node titles are `READABLE_PIXELS` high on screen."""
    return READABLE_PIXELS / title_pixels()


def detail_level(scale: float) -> str:
    """What a node draws at this zoom: everything (`FULL`) while its title is readable, its colour
    block and its name in large letters (`SIMPLIFIED`) below that, a plain box (`BOX`) far out."""
    if scale >= readable_scale() - 1e-6:
        return FULL
    return SIMPLIFIED if scale >= SIMPLE_SCALE else BOX


class BadgeItem(QGraphicsItem):
    """A round "!" on the node's corner; its tooltip gives the diagnostics' messages and hints."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.severity = "error"
        self.setZValue(3)
        self.setAcceptHoverEvents(True)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return BADGE_RECT

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        colors: CanvasColors = getattr(self.scene(), "colors", LIGHT)
        colour = colors.error if self.severity == "error" else colors.warning
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colors.node_fill, 1.5))
        painter.setBrush(colour)
        painter.drawEllipse(self.boundingRect().adjusted(1, 1, -1, -1))
        painter.setPen(QPen(QColor("white")))
        painter.setFont(Fonts.get().title)
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, "!")


HEALTH_TEXTS = {  # the short names of a training run's health flags (designer.engine.inspection)
    "nan-or-inf": "NaN",
    "exploding-gradients": "\u2207\u2191",
    "vanishing-gradients": "\u2207\u2193",
    "mostly-dead-relu": "dead",
}
SERIOUS_HEALTH = ("nan-or-inf", "exploding-gradients")
HEALTH_HEIGHT = 14.0


class HealthBadgeItem(QGraphicsItem):
    """A pill on the node's top edge naming what a training run found (NaN, exploding or vanishing
    gradients, dead ReLUs): red for the serious ones, amber else; its tooltip says it in words."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.health_flags: list[str] = []  # not `flags`: QGraphicsItem.flags() is Qt's
        self.text = ""
        self.setZValue(3)
        self.setAcceptHoverEvents(True)

    def set_flags(self, flags: list[str]) -> None:
        self.prepareGeometryChange()
        self.health_flags = list(flags)
        self.text = " ".join(HEALTH_TEXTS.get(flag, flag) for flag in flags)
        self.setPos(WIDTH - BADGE_RADIUS * 2 - 4 - self.boundingRect().width(), -HEALTH_HEIGHT / 2)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        width = Fonts.get().small_metrics.horizontalAdvance(self.text) + 10
        return QRectF(0, 0, width, HEALTH_HEIGHT)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        colors: CanvasColors = getattr(self.scene(), "colors", LIGHT)
        serious = any(flag in SERIOUS_HEALTH for flag in self.health_flags)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colors.node_fill, 1.2))
        painter.setBrush(colors.error if serious else colors.warning)
        rect = self.boundingRect().adjusted(0.5, 0.5, -0.5, -0.5)
        painter.drawRoundedRect(rect, HEALTH_HEIGHT / 2, HEALTH_HEIGHT / 2)
        painter.setPen(QPen(QColor("white")))
        painter.setFont(Fonts.get().small)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.text)


class NodeItem(QGraphicsItem):
    """One node: title (its name), type, key parameters, parameter count; ports on the sides."""

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id
        self.name = ""
        self.type_text = ""
        self.params_text = ""
        self.count_text = "\u2013"
        self.output_text = ""
        self.category_colour = QColor("#7a8694")
        self.severity = ""  # "error", "warning" or "" (no problem)
        self.height = MIN_HEIGHT
        self._bounds = QRectF(-3, -3, WIDTH + 6, MIN_HEIGHT + 6)
        self.overview = False  # zoomed far out: the overview item paints this node
        self.painted_detail = ""  # the detail level of the last paint (FULL, SIMPLIFIED or BOX)
        self.inputs: list[PortItem] = []
        self.outputs: list[PortItem] = []
        self.badge = BadgeItem(self)
        self.badge.setPos(WIDTH - 2, 2)
        self.badge.hide()
        self.health = HealthBadgeItem(self)
        self.health.hide()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(1)

    # ------------------------------------------------------------------- state
    def set_texts(self, name: str, type_text: str, params_text: str) -> None:
        self.name, self.type_text, self.params_text = name, type_text, params_text
        self.update()

    def set_count(self, text: str) -> None:
        if text != self.count_text:
            self.count_text = text
            self.update()

    def set_output_text(self, text: str) -> None:
        """The model output name(s) this node provides, "" when it is no output."""
        if text != self.output_text:
            self.output_text = text
            self.update()

    def set_category_colour(self, colour: QColor) -> None:
        self.category_colour = colour
        self.update()

    def set_problems(self, severity: str, tooltip: str) -> None:
        """Outline and badge for "error"/"warning" findings; "" clears them."""
        if severity == self.severity and tooltip == self.badge.toolTip():
            return
        self.severity = severity
        self.badge.severity = severity
        self.badge.setToolTip(tooltip)
        self.badge.setVisible(bool(severity) and not self.overview)
        self.update()

    def set_health(self, flags: list[str], tooltip: str) -> None:
        """A pill for what a training run found wrong (health flags); no flags hide it."""
        if flags == self.health.health_flags and tooltip == self.health.toolTip():
            return
        self.health.set_flags(flags)
        self.health.setToolTip(tooltip)
        self.health.setVisible(bool(flags) and not self.overview)

    def set_overview(self, overview: bool) -> None:
        """Far out the node paints nothing itself (it stays selectable); near it paints in full."""
        self.overview = overview
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, overview)
        for port in self.inputs + self.outputs:
            port.setVisible(not overview)
        self.badge.setVisible(bool(self.severity) and not overview)
        self.health.setVisible(bool(self.health.health_flags) and not overview)

    def set_input_ports(self, names: list[str], optional: Collection[int] = ()) -> None:
        """Show input ports called `names`; those at the `optional` indexes may stay unconnected."""
        self.inputs = self._replace_ports(self.inputs, names, is_input=True)
        for port in self.inputs:
            port.set_optional(port.index in optional)
        self._relayout()

    def set_output_ports(self, names: list[str]) -> None:
        self.outputs = self._replace_ports(self.outputs, names, is_input=False)
        self._relayout()

    def _replace_ports(self, ports: list[PortItem], names: list[str], is_input: bool) -> list[PortItem]:
        if [port.name for port in ports] == names:
            return ports
        for port in ports[len(names) :]:
            port.setParentItem(None)  # type: ignore[arg-type]  # Qt takes no parent; the stubs omit None
            if port.scene() is not None:
                port.scene().removeItem(port)
        kept = ports[: len(names)]
        for port, name in zip(kept, names, strict=False):
            port.name = name
            port.set_optional(port.optional)  # the tooltip names the port
        extra = [
            PortItem(self, self.node_id, index, is_input, names[index])
            for index in range(len(kept), len(names))
        ]
        for port in extra:
            port.setVisible(not self.overview)
        return kept + extra

    def _relayout(self) -> None:
        count = max(len(self.inputs), len(self.outputs), 1)
        height = max(MIN_HEIGHT, TITLE_HEIGHT + count * PORT_SPACING + PADDING)
        if height != self.height:
            self.prepareGeometryChange()
            self.height = height
            self._bounds = QRectF(-3, -3, WIDTH + 6, height + 6)
        for ports, x in ((self.inputs, 0.0), (self.outputs, WIDTH)):
            for port, y in zip(ports, _port_rows(len(ports), self.height), strict=True):
                port.setPos(x, y)

    def input_anchor(self, index: int) -> QPointF:
        if index < len(self.inputs):
            return self.inputs[index].anchor()
        return self.mapToScene(QPointF(0, self.height / 2))

    def output_anchor(self, index: int) -> QPointF:
        if index < len(self.outputs):
            return self.outputs[index].anchor()
        return self.mapToScene(QPointF(WIDTH, self.height / 2))

    def set_dimmed(self, dimmed: bool) -> None:
        self.setOpacity(0.3 if dimmed else 1.0)

    # ---------------------------------------------------------------- painting
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, WIDTH, self.height), CORNER, CORNER)
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        colors: CanvasColors = getattr(self.scene(), "colors", LIGHT)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        scale = option.levelOfDetailFromTransform(painter.worldTransform())
        self.painted_detail = detail_level(scale)
        if self.painted_detail == BOX:
            self._paint_far(painter, colors, selected)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.painted_detail == SIMPLIFIED:
            self._paint_simplified(painter, colors, selected, scale)
            return
        self._paint_box(painter, colors, selected)
        self._paint_texts(painter, colors)

    def _paint_far(self, painter: QPainter, colors: CanvasColors, selected: bool) -> None:
        outline = self._outline_colour(colors, selected)
        painter.setPen(QPen(outline, 0) if outline is not None else Qt.PenStyle.NoPen)
        painter.setBrush(self.category_colour)
        painter.drawRect(QRectF(0, 0, WIDTH, self.height))

    def _paint_simplified(
        self, painter: QPainter, colors: CanvasColors, selected: bool, scale: float
    ) -> None:
        """Draw less, not smaller: the colour block and the name, at least `READABLE_PIXELS` high."""
        rect = QRectF(0, 0, WIDTH, self.height)
        outline = self._outline_colour(colors, selected)
        painter.setPen(QPen(outline, 2.5 / scale) if outline is not None else Qt.PenStyle.NoPen)
        painter.setBrush(self.category_colour)
        painter.drawRoundedRect(rect, CORNER, CORNER)
        font, metrics = Fonts.get().large_title(max(1, round(max(READABLE_PIXELS / scale, title_pixels()))))
        inner = rect.adjusted(PADDING / 2, 0, -PADDING / 2, 0)
        name = metrics.elidedText(self.name, Qt.TextElideMode.ElideRight, inner.width())
        painter.setFont(font)
        painter.setPen(colors.title_text)
        painter.drawText(inner, Qt.AlignmentFlag.AlignCenter, name)

    def _paint_box(self, painter: QPainter, colors: CanvasColors, selected: bool) -> None:
        rect = QRectF(0, 0, WIDTH, self.height)
        outline = self._outline_colour(colors, selected)
        painter.setPen(QPen(outline, 2.5) if outline is not None else QPen(colors.node_border, 1))
        painter.setBrush(colors.node_fill)
        painter.drawRoundedRect(rect, CORNER, CORNER)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(self.category_colour))
        painter.drawPath(TITLE_PATH)

    def _outline_colour(self, colors: CanvasColors, selected: bool) -> QColor | None:
        if selected:
            return colors.selection
        if self.severity == "error":
            return colors.error
        if self.severity == "warning":
            return colors.warning
        return None

    def _paint_texts(self, painter: QPainter, colors: CanvasColors) -> None:
        fonts = Fonts.get()
        inner = WIDTH - 2 * PADDING
        painter.setFont(fonts.title)
        painter.setPen(colors.title_text)
        title = fonts.title_metrics.elidedText(self.name, Qt.TextElideMode.ElideRight, inner - 14)
        painter.drawText(QRectF(PADDING, 0, inner, TITLE_HEIGHT), Qt.AlignmentFlag.AlignVCenter, title)
        painter.setFont(fonts.body)
        lines = [
            (self.type_text, colors.node_subtext),
            (self.params_text, colors.node_text),
            (self.count_text, colors.node_subtext),
        ]
        for row, (text, colour) in enumerate(lines):
            top = TITLE_HEIGHT + 4 + row * LINE_HEIGHT
            painter.setPen(colour)
            elided = fonts.body_metrics.elidedText(text, Qt.TextElideMode.ElideRight, inner)
            painter.drawText(QRectF(PADDING, top, inner, LINE_HEIGHT), Qt.AlignmentFlag.AlignVCenter, elided)
        if self.output_text:
            self._paint_output_mark(painter, colors, fonts)

    def _paint_output_mark(self, painter: QPainter, colors: CanvasColors, fonts: Fonts) -> None:
        painter.setFont(fonts.small)
        painter.setPen(colors.output_mark)
        rect = QRectF(PADDING, TITLE_HEIGHT + 4 + 2 * LINE_HEIGHT, WIDTH - 2 * PADDING, LINE_HEIGHT)
        painter.drawText(
            rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, f"→ {self.output_text}"
        )


def _title_path() -> QPainterPath:
    """The title band: the box's top with its rounded corners, square at the bottom."""
    rounded = QPainterPath()
    rounded.addRoundedRect(QRectF(0.75, 0.75, WIDTH - 1.5, TITLE_HEIGHT + CORNER), CORNER, CORNER)
    clip = QPainterPath()
    clip.addRect(QRectF(0, 0, WIDTH, TITLE_HEIGHT))
    return rounded.intersected(clip)


TITLE_PATH = _title_path()


def _port_rows(count: int, height: float) -> list[float]:
    """The y of each port, spread evenly over the body below the title."""
    if count == 0:
        return []
    body = height - TITLE_HEIGHT
    step = body / (count + 1)
    return [TITLE_HEIGHT + step * (index + 1) for index in range(count)]
