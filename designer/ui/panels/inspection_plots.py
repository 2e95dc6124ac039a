"""The plots of the inspection panels: images with hover read-outs, bars, histograms, thumbnails.

Each plot sits in a `PlotCard`: a title line with a "Save as PNG…" button, the
plot (its right-click menu has the same entry), and a message in its place
while there is nothing to draw. `ImagePlot` shows a 2-D array (row 0 at the
top) in a colour map with a colour bar and says, under the mouse, what a
`hover_text(row, column)` callback makes of the pixel. Weights use a diverging
map centred on zero (`symmetric_levels`: ±max|x|). The panels draw what the
engine computed and downsampled; nothing here computes a statistic. Every plot
follows the theme (`plot_style.PlotTheme`); legends sit outside the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPen, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.ui.panels.inspection_client import as_number
from designer.ui.panels.plot_style import PlotTheme, add_legend_outside
from designer.ui.theme import PlotColors

DIVERGING = pg.colormap.get("CET-D1")  # blue - white - red, perceptually even
SEQUENTIAL = pg.colormap.get("viridis")
GRAY = pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)])
NEGATIVE_COLOUR, POSITIVE_COLOUR = "#3a6fb0", "#c0392b"
PNG_FILTER = "PNG images (*.png)"
READOUT_HEIGHT = 20
HoverText = Callable[[int, int], str]


# ------------------------------------------------------------------ values
def symmetric_levels(values: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest finite |value|, so that zero sits in the colour map's middle;
    (-1, 1) when there is no finite value other than zero."""
    finite = np.abs(values[np.isfinite(values)]) if values.size else values
    largest = float(finite.max()) if finite.size else 0.0
    return (-largest, largest) if largest > 0 else (-1.0, 1.0)


def unit_levels(values: np.ndarray) -> tuple[float, float]:
    """The finite range of the values, for maps that are not signed (never an empty range)."""
    finite = values[np.isfinite(values)] if values.size else values
    if not finite.size:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def with_gaps(grid: np.ndarray, cell: Sequence[int], count: int) -> np.ndarray:
    """A grid of `count` cells (tiled as designer.engine.inspection.tile does: ceil(sqrt(count)) a
    row, 1 pixel apart) with NaN in the gaps and the unused cells, which then show as the
    background; unchanged when its size is not that of such a grid (it was downsampled)."""
    height, width = int(cell[0]), int(cell[1])
    columns = math.ceil(math.sqrt(count)) if count > 0 else 0
    rows = math.ceil(count / columns) if columns else 0
    if grid.ndim != 2 or grid.shape != (rows * (height + 1) - 1, columns * (width + 1) - 1):
        return grid
    shown = np.full(grid.shape, np.nan)
    for index in range(count):
        top, left = (index // columns) * (height + 1), (index % columns) * (width + 1)
        shown[top : top + height, left : left + width] = grid[top : top + height, left : left + width]
    return shown


def cell_at(row: int, column: int, cell: Sequence[int], count: int) -> tuple[int, int, int] | None:
    """(which cell, row in it, column in it) of a pixel of such a grid; None on a gap."""
    height, width = int(cell[0]), int(cell[1])
    per_row = math.ceil(math.sqrt(count)) if count > 0 else 1
    (cell_row, y), (cell_column, x) = divmod(row, height + 1), divmod(column, width + 1)
    index = cell_row * per_row + cell_column
    if y >= height or x >= width or cell_column >= per_row or index >= count:
        return None
    return index, y, x


def pixmap_of(image: np.ndarray, colormap: pg.ColorMap, levels: tuple[float, float]) -> QPixmap:
    """A 2-D array (a 1-D one as a single row) as a pixmap in `colormap`; NaN shows transparent.
    An (h, w, 3) array in [levels] shows as RGB."""
    values = np.asarray(image, dtype=np.float64)
    values = values.reshape(1, -1) if values.ndim == 1 else values
    low, high = levels
    scaled = np.clip((values - low) / ((high - low) or 1.0), 0.0, 1.0)
    if values.ndim == 3:
        rgba = np.concatenate(
            [np.nan_to_num(scaled) * 255, np.full((*values.shape[:2], 1), 255.0)], axis=2
        ).astype(np.uint8)
    else:
        rgba = colormap.map(np.nan_to_num(scaled), mode="byte").reshape(*values.shape, 4)
        rgba[..., 3] = np.where(np.isfinite(values), 255, 0)
    rgba = np.ascontiguousarray(rgba)
    height, width = rgba.shape[:2]
    picture = QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
    return QPixmap.fromImage(picture.copy())


def ask_png_path(parent: QWidget, suggested: str) -> Path | None:
    """Where to save a plot, asked in a file dialog; None when the person cancels."""
    name, _ = QFileDialog.getSaveFileName(parent, "Save the plot as PNG", suggested, PNG_FILTER)
    if not name:
        return None
    path = Path(name)
    return path if path.suffix.lower() == ".png" else path.with_name(path.name + ".png")


# ------------------------------------------------------------------- cards
class PlotCard(QWidget):
    """A plot with a title line and a "Save as PNG…" button; a message replaces it while empty."""

    def __init__(self, title: str, plot: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plot
        self.title = QLabel(title)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.controls = QHBoxLayout()
        self.controls.setContentsMargins(0, 0, 0, 0)
        self.save_button = QToolButton()
        self.save_button.setText("Save as PNG…")
        self.save_button.setToolTip("Save this plot as a PNG image.")
        self.save_button.clicked.connect(self.save_dialog)
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title, 1)
        header.addLayout(self.controls)
        header.addWidget(self.save_button)
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(plot)
        self.stack.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        for view_box in _view_boxes(plot):
            view_box.menu.addSeparator()
            view_box.menu.addAction("Save as PNG…", self.save_dialog)

    @property
    def showing_plot(self) -> bool:
        return self.stack.currentWidget() is self.plot

    def show_plot(self, title: str | None = None) -> None:
        if title is not None:
            self.title.setText(title)
        self.stack.setCurrentWidget(self.plot)
        self.save_button.setEnabled(True)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)
        self.save_button.setEnabled(False)

    def save_png(self, path: Path) -> bool:
        """The plot as it shows now, written to `path` as a PNG."""
        return bool(self.plot.grab().save(str(path), "PNG"))

    def save_dialog(self) -> Path | None:
        """Ask where, then save; the path written, None when cancelled or it failed."""
        suggested = "".join(c if c.isalnum() or c in "-_" else "_" for c in self.title.text()) or "plot"
        path = self.ask_png_path(f"{suggested[:60]}.png")
        if path is None:
            return None
        if not self.save_png(path):
            self.title.setText(f"{self.title.text()} — could not write {path}")
            return None
        return path

    def ask_png_path(self, suggested: str) -> Path | None:
        return ask_png_path(self, suggested)


def _view_boxes(widget: QWidget) -> list[pg.ViewBox]:
    """The view boxes of every pyqtgraph view in `widget` (their menus get "Save as PNG…")."""
    views = [widget] if isinstance(widget, pg.GraphicsView) else []
    views += widget.findChildren(pg.GraphicsView)
    boxes = [item for view in views for item in view.scene().items() if isinstance(item, pg.ViewBox)]
    return [box for box in boxes if getattr(box, "menu", None) is not None]


def style_axes(item: pg.PlotItem, left: str = "", bottom: str = "", grid: bool = True) -> None:
    """Axis labels, numbers as they are and a faint grid; `PlotTheme` gives them their colours."""
    for axis, label in (("left", left), ("bottom", bottom)):
        item.getAxis(axis).enableAutoSIPrefix(False)  # weights read as they are, not "x0.001"
        if label:
            item.setLabel(axis, label)
    if grid:
        item.showGrid(x=True, y=True, alpha=0.15)


# ------------------------------------------------------------------ images
class ImagePlot(pg.GraphicsLayoutWidget):
    """A 2-D array as an image (row 0 at the top) with a colour bar and a read-out under the mouse."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 160)
        self.plot_item: pg.PlotItem = self.addPlot(row=0, col=0)
        self.plot_item.invertY(True)
        style_axes(self.plot_item, grid=False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.plot_item.addItem(self.image_item)
        self.colour_bar = pg.ColorBarItem(
            values=(-1, 1), colorMap=DIVERGING, interactive=False, width=14, colorMapMenu=False
        )
        self.addItem(self.colour_bar, row=0, col=1)
        self.readout = pg.LabelItem("", justify="left")
        self.readout.setMaximumHeight(READOUT_HEIGHT)  # the image does not move as the text changes
        self.addItem(self.readout, row=1, col=0, colspan=2)
        self.image = np.zeros((0, 0))
        self.hover_text: HoverText | None = None
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.theme = PlotTheme(self, [self.plot_item, self.colour_bar], self._restyle)

    def _restyle(self, colors: PlotColors) -> None:
        self.plot_item.getViewBox().setBackgroundColor(colors.image_gap)  # gaps and NaN show it
        self.readout.setText(self.readout.text, color=colors.text.name())

    def set_image(
        self,
        image: np.ndarray,
        colormap: pg.ColorMap = DIVERGING,
        levels: tuple[float, float] | None = None,
        lock_aspect: bool = False,
        hover_text: HoverText | None = None,
        rect: QRectF | None = None,
        axes: bool = True,
    ) -> None:
        """Show `image` (rows, columns) or (rows, columns, 3) for RGB; levels default to ±max|x|.
        `rect`: where the image lies in the plot's coordinates (default: a unit per pixel);
        `axes`: False for grids of small images, whose pixel numbers mean little."""
        self.image = np.asarray(image, dtype=np.float64)
        self.hover_text = hover_text
        rgb = self.image.ndim == 3
        low, high = levels or (unit_levels(self.image) if rgb else symmetric_levels(self.image))
        self.image_item.setImage(self.image, autoLevels=False, levels=(low, high))
        self.image_item.setRect(rect or QRectF(0, 0, self.image.shape[1], self.image.shape[0]))
        self.image_item.setColorMap(None if rgb else colormap)
        self.colour_bar.setVisible(not rgb)
        self.colour_bar.setColorMap(colormap)
        self.colour_bar.setLevels((low, high))
        self.plot_item.setAspectLocked(lock_aspect)
        for axis in ("left", "bottom"):
            self.plot_item.showAxis(axis, axes)
        self.plot_item.autoRange(padding=0.02)
        self.readout.setText("")

    @property
    def levels(self) -> tuple[float, float]:
        low, high = self.image_item.getLevels()
        return float(low), float(high)

    def pixel_at(self, scene_position: QPointF) -> tuple[int, int] | None:
        """(row, column) of the image under a scene point, None outside it."""
        if self.image.ndim < 2:
            return None
        point = self.image_item.mapFromScene(scene_position)
        row, column = math.floor(point.y()), math.floor(point.x())
        if 0 <= row < self.image.shape[0] and 0 <= column < self.image.shape[1]:
            return row, column
        return None

    def scene_position(self, row: int, column: int) -> QPointF:
        """The scene point at the centre of a pixel (what a test moves the mouse to)."""
        return self.image_item.mapToScene(QPointF(column + 0.5, row + 0.5))

    def _mouse_moved(self, scene_position: QPointF) -> None:
        pixel = self.pixel_at(scene_position)
        text = self.hover_text(*pixel) if pixel is not None and self.hover_text is not None else ""
        self.readout.setText(text)
        self.setToolTip(text)


# -------------------------------------------------------------------- bars
class BarsPlot(pg.PlotWidget):
    """One bar per value, negative ones blue and positive ones red; the mouse reads a bar."""

    def __init__(self, left: str = "value", bottom: str = "index", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style_axes(self.getPlotItem(), left, bottom)
        self.setMinimumHeight(160)
        self.bars = pg.BarGraphItem(x=[], height=[], width=1.0)
        self.addItem(self.bars)
        self.readout = pg.TextItem("", anchor=(0, 0))
        self.readout.setZValue(5)
        self.addItem(self.readout, ignoreBounds=True)
        self.x = np.zeros(0)
        self.values = np.zeros(0)
        self.hover_text: Callable[[int], str] | None = None
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.theme = PlotTheme(self, restyle=self._restyle)

    def _restyle(self, colors: PlotColors) -> None:
        self.readout.setColor(colors.text)

    def set_values(
        self,
        values: Sequence[float] | np.ndarray,
        step: int = 1,
        hover_text: Callable[[int], str] | None = None,
    ) -> None:
        """Bars at 0, step, 2·step...: `values` were taken every `step` elements."""
        self.values = np.asarray(values, dtype=np.float64).ravel()
        self.x = np.arange(self.values.size, dtype=np.float64) * step
        self.hover_text = hover_text
        finite = np.nan_to_num(self.values, nan=0.0, posinf=0.0, neginf=0.0)
        brushes = [pg.mkBrush(NEGATIVE_COLOUR if v < 0 else POSITIVE_COLOUR) for v in finite]
        self.bars.setOpts(x=self.x, height=finite, width=0.8 * step, brushes=brushes, pen=pg.mkPen(None))
        self.readout.setText("")
        self.getPlotItem().autoRange()

    def index_at(self, scene_position: QPointF) -> int | None:
        """Which bar (its position among the values) is under a scene point."""
        if not self.values.size:
            return None
        x = self.getPlotItem().getViewBox().mapSceneToView(scene_position).x()
        step = self.x[1] - self.x[0] if self.x.size > 1 else 1.0
        index = round(x / step)
        return index if 0 <= index < self.values.size else None

    def _mouse_moved(self, scene_position: QPointF) -> None:
        index = self.index_at(scene_position)
        text = self.hover_text(index) if index is not None and self.hover_text is not None else ""
        self.readout.setText(text)
        view = self.getPlotItem().getViewBox().viewRange()
        self.readout.setPos(view[0][0], view[1][1])
        self.setToolTip(text)


# ---------------------------------------------------------------- histograms
class HistogramPlot(pg.PlotWidget):
    """Counts per bin as a filled step curve, with a line at zero."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style_axes(self.getPlotItem(), "count", "value")
        self.setMinimumHeight(160)
        self.curve = self.plot(
            [0, 1], [0], stepMode="center", fillLevel=0, brush=QColor(91, 139, 208, 120), pen="#2f5d9b"
        )
        self.zero = pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#999", style=Qt.PenStyle.DashLine))
        self.addItem(self.zero, ignoreBounds=True)
        self.theme = PlotTheme(self)

    def set_histogram(self, counts: Sequence[float], edges: Sequence[float]) -> None:
        self.curve.setData(np.asarray(edges, dtype=np.float64), np.asarray(counts, dtype=np.float64))
        self.getPlotItem().autoRange()


# ----------------------------------------------------------- over the epochs
OLD_EPOCH_COLOUR, NEW_EPOCH_COLOUR = QColor("#fdd0a2"), QColor("#a63603")  # TensorBoard's oranges
RIDGE_GAP = 0.6
MAX_EPOCH_TICKS = 20  # the offset between two epochs' curves, in units of the tallest bin


def blend(first: QColor, second: QColor, fraction: float) -> QColor:
    """The colour `fraction` of the way from `first` to `second`."""
    return QColor(*(round(a + (b - a) * fraction) for a, b in zip(_rgb(first), _rgb(second), strict=True)))


def _rgb(colour: QColor) -> tuple[int, int, int]:
    return colour.red(), colour.green(), colour.blue()


class OverEpochsPlot(QStackedWidget):
    """A variable's histograms, one per epoch, as TensorBoard shows them: offset curves (older
    ones behind and above, the newest in front) or an image of epochs by bins."""

    MODES = ("Offset curves", "Image")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves = pg.PlotWidget()
        style_axes(self.curves.getPlotItem(), "epoch", "value")
        self.image = ImagePlot()
        self.image.plot_item.setLabel("left", "epoch")
        self.image.plot_item.setLabel("bottom", "value")
        self.addWidget(self.curves)
        self.addWidget(self.image)
        self.setMinimumHeight(160)
        self.epochs: list[int] = []
        self.counts = np.zeros((0, 0))
        self.edges = np.zeros(0)
        self.fill = QColor("white")  # each curve hides the older ones behind it
        self.theme = PlotTheme(self.curves, restyle=self._restyle)

    def _restyle(self, colors: PlotColors) -> None:
        self.fill = colors.background
        self._draw_curves()

    def set_mode(self, mode: str) -> None:
        self.setCurrentWidget(self.image if mode == "Image" else self.curves)

    def set_histograms(self, epochs: Sequence[int], counts: np.ndarray, edges: np.ndarray) -> None:
        """`counts` (epochs, bins) over the shared bin `edges`."""
        self.epochs = list(epochs)
        self.counts, self.edges = np.asarray(counts, dtype=np.float64), np.asarray(edges, dtype=np.float64)
        self._draw_curves()
        self._draw_image()

    def _draw_curves(self) -> None:
        item = self.curves.getPlotItem()
        item.clear()
        total = len(self.counts)
        peak = float(self.counts.max()) if self.counts.size and self.counts.max() > 0 else 1.0
        centres = (self.edges[:-1] + self.edges[1:]) / 2
        ticks = []
        for row, counts in enumerate(self.counts):
            base = (total - 1 - row) * RIDGE_GAP
            colour = blend(OLD_EPOCH_COLOUR, NEW_EPOCH_COLOUR, row / max(total - 1, 1))
            curve = pg.PlotDataItem(
                centres,
                base + counts / peak,
                pen=pg.mkPen(colour, width=1.5),
                fillLevel=base,
                brush=self.fill,
            )
            curve.setZValue(row)
            item.addItem(curve)
            ticks.append((base, str(self.epochs[row]) if row < len(self.epochs) else str(row + 1)))
        every = max(1, math.ceil(len(ticks) / 12))
        item.getAxis("left").setTicks([ticks[::-every][::-1] if ticks else []])
        item.autoRange()

    def _draw_image(self) -> None:
        if not self.counts.size:
            return
        low, high = float(self.edges[0]), float(self.edges[-1])
        rect = QRectF(low, 0, (high - low) or 1.0, len(self.counts))
        self.image.set_image(
            self.counts,
            SEQUENTIAL,
            (0.0, float(self.counts.max()) or 1.0),
            hover_text=self._hover_text,
            rect=rect,
        )

    def _hover_text(self, row: int, column: int) -> str:
        epoch = self.epochs[row] if row < len(self.epochs) else row + 1
        low, high = self.edges[column], self.edges[column + 1]
        return f"epoch {epoch} · [{low:.4g}, {high:.4g}) · {int(self.counts[row, column])} values"


def log_ticks(low: float, high: float, most: int = 7) -> list[tuple[float, str]]:
    """Ticks for a log axis from `low` to `high` (both > 0) at 1, 2 and 5 times a power of ten,
    thinned to whole decades when there would be more than `most`; positions in log10 units,
    as pyqtgraph's log mode wants them."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))

    def inside(steps: tuple[float, ...]) -> list[float]:
        values = [m * 10.0**e for e in range(first, last + 1) for m in steps]
        return [v for v in values if low / 1.001 <= v <= high * 1.001]

    chosen = inside((1.0, 2.0, 5.0))
    if len(chosen) > most:
        chosen = inside((1.0,))
    return [(math.log10(v), f"{v:g}") for v in chosen or [10.0**first, 10.0**last]]


class GradientPlot(pg.GraphicsLayoutWidget):
    """Each layer's gradient norm per epoch (log scale), and below, its dead-ReLU fraction."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(220)
        self.norms = self.addPlot(row=0, col=0)
        style_axes(self.norms, "gradient norm", "epoch")
        self.norms.setLogMode(y=True)
        self.legend = add_legend_outside(self.norms)
        self.dead = self.addPlot(row=1, col=0)
        style_axes(self.dead, "dead ReLU", "epoch")
        self.dead.setXLink(self.norms)
        self.zero_floor: float | None = None  # where norms of 0 are drawn on the log axis, if any
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 2)
        self.lines: dict[str, pg.PlotDataItem] = {}
        self.theme = PlotTheme(self, [self.norms, self.dead])

    def set_series(
        self,
        epochs: Sequence[int],
        norms: dict[str, Sequence[float]],
        dead: dict[str, Sequence[float]],
        highlight: str | None = None,
    ) -> None:
        """One line per layer in each plot; the `highlight` layer's drawn thicker, the rest lighter.
        A norm of 0 has no place on a log axis: it is drawn at `zero_floor`, a tenth of the
        smallest positive norm, its points marked with a cross."""
        self.norms.clear()
        self.legend.clear()
        self.dead.clear()
        self.lines = {}
        series = {name: np.asarray([as_number(v) for v in values]) for name, values in norms.items()}
        positive = [v[(v > 0) & np.isfinite(v)] for v in series.values()]
        smallest = min((float(v.min()) for v in positive if v.size), default=1.0)
        has_zero = any((v == 0).any() for v in series.values())
        self.zero_floor = smallest / 10 if has_zero else None
        names = list(dict.fromkeys([*norms, *dead]))
        for index, name in enumerate(names):
            colour = pg.intColor(index, hues=max(len(names), 6), values=1, maxValue=200)
            width = 3 if name == highlight else 1.5
            if name != highlight and highlight in names:
                colour.setAlpha(110)
            pen = pg.mkPen(colour, width=width)
            if name in series:
                self.lines[name] = self._norm_line(epochs, series[name], name, pen)
            if name in dead:
                values = np.asarray([as_number(v) for v in dead[name]])
                self.dead.plot(_epoch_axis(epochs, values.size), values, pen=pen, connect="finite")
        self.dead.setVisible(bool(dead))
        self.dead.setYRange(0, 1, padding=0.05)
        finite = np.concatenate([v for v in positive if v.size]) if any(v.size for v in positive) else None
        low = (
            self.zero_floor
            if self.zero_floor is not None
            else (float(finite.min()) if finite is not None else None)
        )
        ticks = log_ticks(low, float(finite.max())) if finite is not None and low is not None else None
        self.norms.getAxis("left").setTicks([ticks] if ticks else None)
        shown = list(epochs) if 0 < len(epochs) <= MAX_EPOCH_TICKS else None
        for plot in (self.norms, self.dead):  # whole epochs, not 1.5
            plot.getAxis("bottom").setTicks([[(e, str(e)) for e in shown]] if shown else None)
        self.norms.autoRange()

    def _norm_line(self, epochs: Sequence[int], values: np.ndarray, name: str, pen: QPen) -> pg.PlotDataItem:
        """The layer's line; its norms of 0 at `zero_floor`, each marked with a cross."""
        x, zero = _epoch_axis(epochs, values.size), values == 0
        drawable = np.isfinite(values) & (values > 0)
        shown = np.where(zero, self.zero_floor or np.nan, np.where(drawable, values, np.nan))
        if zero.any():
            self.norms.plot(x[zero], shown[zero], pen=None, symbol="x", symbolPen=pen, symbolSize=9)
        return self.norms.plot(x, shown, pen=pen, name=name, connect="finite")


def _epoch_axis(epochs: Sequence[int], count: int) -> np.ndarray:
    """The epochs of `count` values: the run's epoch numbers, else 1, 2, 3..."""
    numbers = list(epochs)[:count]
    return np.asarray(numbers if len(numbers) == count else range(1, count + 1), dtype=np.float64)
