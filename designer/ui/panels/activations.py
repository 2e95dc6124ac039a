"""The Activations panel: one sample through the model, each layer's output for it.

A sample is picked by its index in the design's training data, loaded from an
image or .npy file, or drawn on a small pad (image inputs). The engine's
`inspect_activations` reply carries, for every layer, its output for that
sample as a display image (feature maps tiled in a grid, each scaled to its own
range) or as bars (vectors), a thumbnail, its statistics and, for ReLU outputs,
the fraction of units that are dead for it. The tabs show the selected node's
output, every layer at a glance, and the sample; "Show on canvas" puts each
layer's thumbnail under its node. Selecting another node draws from the reply
already there; only a new sample, source or design asks the engine again.
Thumbnails and tiles are drawn on the theme's colours and redrawn when it changes.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QStyleOptionGraphicsItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from designer.graph.model import ModelGraph
from designer.ui.canvas.node_item import WIDTH, Fonts, NodeItem
from designer.ui.canvas.scene import GraphScene
from designer.ui.panels.inspection_client import InspectionClient, SourcePicker, format_number
from designer.ui.panels.inspection_plots import (
    GRAY,
    NEGATIVE_COLOUR,
    POSITIVE_COLOUR,
    SEQUENTIAL,
    BarsPlot,
    ImagePlot,
    PlotCard,
    cell_at,
    pixmap_of,
    unit_levels,
    with_gaps,
)
from designer.ui.panels.shown import ShownRefresh
from designer.ui.panels.subscription import Debouncer
from designer.ui.panels.weights import load_array, shape_text
from designer.ui.theme import CanvasColors, PlotColors, current_colors, follow_theme
from designer.ui.training_client import project_folder

TABS = ("Layer output", "All layers", "Sample")
IMAGE_FILTER = "Images or arrays (*.png *.jpg *.jpeg *.bmp *.gif *.npy);;All files (*)"
THUMBNAIL_HEIGHT = 56.0
THUMBNAIL_GAP = 6.0
TILE_SIZE = QSize(120, 90)
PAD_SIDE = 168
FULL_INK = 0.75  # cells around the pointer that a stroke fills completely
DESIGN_DELAY_MS = 600
MOSTLY_DEAD = 0.5  # a dead fraction shown in red from here on


def image_input_shape(graph: ModelGraph) -> tuple[int, int, int] | None:
    """(height, width, channels) of the design's first image input, None when it has none."""
    for node in graph.nodes.values():
        shape = node.params.get("shape") if node.is_input else None
        if shape and len(shape) == 3 and all(isinstance(size, int) and size > 0 for size in shape):
            return int(shape[0]), int(shape[1]), int(shape[2])
    return None


def dead_text(fraction: Any) -> str:
    """ "dead ReLU units: 37.5%" for a ReLU output, "" for any other."""
    if fraction is None:
        return ""
    return f"dead ReLU units: {100 * float(fraction):.1f}%"


def _display_image(array: np.ndarray) -> np.ndarray:
    """A sample as an image: (h, w, 1) as (h, w); (h, w, 3) stays RGB."""
    return array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array


# ------------------------------------------------------------------- drawing
class DrawPad(QWidget):
    """A small grid the size of the image input, drawn on with the mouse (a soft round brush)."""

    drawn = Signal()  # a stroke ended

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros((8, 8), dtype=np.float32)
        self.channels = 1
        self.pen_value = 1.0  # what a full stroke writes: the data's largest value, when known
        self.setFixedSize(PAD_SIDE, PAD_SIDE)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a sample: press and drag. It goes through the model when you let go.")

    def set_size(self, height: int, width: int, channels: int) -> None:
        if self.values.shape != (height, width) or self.channels != channels:
            self.values = np.zeros((height, width), dtype=np.float32)
            self.channels = channels
            self.update()

    def clear(self) -> None:
        self.values[:] = 0
        self.update()

    def array(self) -> np.ndarray:
        """The drawing as one sample (h, w, channels), scaled to `pen_value`."""
        scaled = self.values * self.pen_value
        return np.repeat(scaled[..., np.newaxis], self.channels, axis=2).astype(np.float32)

    def cell_at(self, point: QPointF) -> tuple[float, float]:
        height, width = self.values.shape
        return point.y() / self.height() * height, point.x() / self.width() * width

    def stroke(self, point: QPointF) -> None:
        """Ink around the point: full within FULL_INK cells of it, fading over about a tenth of the pad."""
        height, width = self.values.shape
        row, column = self.cell_at(point)
        radius = max(height, width) / 12 + 0.5
        rows, columns = np.mgrid[0:height, 0:width]
        distance = np.hypot(rows + 0.5 - row, columns + 0.5 - column)
        ink = np.clip(1.0 - (distance - FULL_INK) / radius, 0.0, 1.0)
        np.maximum(self.values, ink.astype(np.float32), out=self.values)
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self.stroke(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.stroke(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self.drawn.emit()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.drawPixmap(self.rect(), pixmap_of(self.values, GRAY, (0.0, 1.0)))
        painter.setPen(QPen(QColor("#888888"), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))


# ------------------------------------------------------------------ canvas
class ThumbnailItem(QGraphicsItem):
    """A layer's output, small, under its node on the canvas: an image, or bars for a vector."""

    def __init__(self, parent: NodeItem) -> None:
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.values = np.zeros(0)
        self.caption = ""
        self.alarming = False
        self.setZValue(2)

    def set_output(self, thumbnail: np.ndarray, caption: str, tooltip: str, alarming: bool = False) -> None:
        """Show a thumbnail (2-D: an image; 1-D: bars) with a caption, red when `alarming`."""
        self.alarming = alarming
        if thumbnail.ndim >= 2:
            self.pixmap, self.values = pixmap_of(thumbnail, SEQUENTIAL, (0.0, 1.0)), np.zeros(0)
        else:
            self.pixmap, self.values = None, np.nan_to_num(thumbnail.astype(np.float64))
        self.caption = caption
        self.setToolTip(tooltip)
        parent = self.parentItem()
        self.prepareGeometryChange()
        self.setPos(0, (parent.height if isinstance(parent, NodeItem) else 0) + THUMBNAIL_GAP)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return QRectF(0, 0, WIDTH, THUMBNAIL_HEIGHT + 14)

    def colors(self) -> PlotColors:
        """The colours of the canvas it is on: the scene repaints it when the theme changes."""
        scene = self.scene()
        return scene.colors.plot if isinstance(scene, GraphScene) else current_colors().plot

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        colors = self.colors()
        area = QRectF(0, 0, WIDTH, THUMBNAIL_HEIGHT)
        painter.fillRect(area, colors.thumbnail_fill)
        if self.pixmap is not None:
            painter.drawPixmap(_fitted(area, self.pixmap.size()), self.pixmap, QRectF(self.pixmap.rect()))
        elif self.values.size:
            _paint_bars(painter, area.adjusted(2, 2, -2, -2), self.values, colors.caption)
        painter.setPen(QPen(colors.thumbnail_border, 0.8))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(area)
        if self.caption:
            painter.setFont(Fonts.get().small)
            painter.setPen(colors.alarm if self.alarming else colors.caption)
            painter.drawText(QRectF(0, THUMBNAIL_HEIGHT, WIDTH, 14), Qt.AlignmentFlag.AlignLeft, self.caption)


def _fitted(area: QRectF, size: QSize) -> QRectF:
    """The largest rectangle of the pixmap's aspect centred in `area`."""
    scale = min(area.width() / max(size.width(), 1), area.height() / max(size.height(), 1))
    width, height = size.width() * scale, size.height() * scale
    return QRectF(area.center().x() - width / 2, area.center().y() - height / 2, width, height)


def _paint_bars(painter: QPainter, area: QRectF, values: np.ndarray, axis: QColor) -> None:
    """Bars from a base line in `axis`, scaled to the largest |value|, negative blue and positive red."""
    largest = float(np.abs(values).max()) or 1.0
    middle = area.center().y() if values.min() < 0 else area.bottom()
    half = area.height() / 2 if values.min() < 0 else area.height()
    width = area.width() / values.size
    painter.setPen(QPen(axis, 0.6))
    painter.drawLine(QLineF(area.left(), middle, area.right(), middle))  # all zeros still show their axis
    painter.setPen(Qt.PenStyle.NoPen)
    for index, value in enumerate(values):
        height = half * float(value) / largest
        painter.setBrush(QColor(NEGATIVE_COLOUR if value < 0 else POSITIVE_COLOUR))
        painter.drawRect(QRectF(area.left() + index * width, middle - height, max(width * 0.85, 0.5), height))


class CanvasThumbnails:
    """Thumbnails under the nodes of a scene, by node id."""

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self.items: dict[str, ThumbnailItem] = {}
        scene.document.project_replaced.connect(self.items.clear)  # the scene dropped them with the nodes

    def show(self, layers: dict[str, dict[str, Any]]) -> None:
        """A thumbnail under each node with an output in `layers`; none under the others."""
        self.clear(keep=set(layers))
        for node_id, layer in layers.items():
            node = self.scene.node_items.get(node_id)
            if node is None or not layer.get("thumbnail"):
                continue
            item = self.items.get(node_id)
            if item is None or item.parentItem() is not node:
                item = self.items[node_id] = ThumbnailItem(node)
            tooltip = f"{shape_text(layer.get('shape', []))} · {layer.get('kind', '')}"
            dead = layer.get("dead_fraction")
            alarming = dead is not None and float(dead) >= MOSTLY_DEAD
            item.set_output(load_array(layer["thumbnail"]), dead_text(dead), tooltip, alarming)

    def clear(self, keep: set[str] | None = None) -> None:
        for node_id in [n for n in self.items if keep is None or n not in keep]:
            item = self.items.pop(node_id)
            if item.scene() is not None:
                item.scene().removeItem(item)


# ---------------------------------------------------------------------- panel
class ActivationsView(QWidget):
    """The Activations panel of one window; thumbnails go on `scene` when asked for."""

    def __init__(
        self, client: InspectionClient, scene: GraphScene | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.thumbnails = CanvasThumbnails(scene) if scene is not None else None
        self.reply: dict[str, Any] | None = None
        self.tiles: dict[str, np.ndarray] = {}  # each listed layer's thumbnail, drawn again on a new theme
        self.sample: dict[str, Any] = {"kind": "data", "index": 0}
        self.active = True
        # shown for the first time: run sample #0 through the model
        self.shown_refresh = ShownRefresh(owed=True)
        self._drawings = itertools.count(1)
        self._make_widgets()
        self._lay_out()
        self._connect()
        self._update_draw_pad()
        self.output_card.show_message("Pick a sample (above) to see what each layer makes of it.")
        follow_theme(self._recolour_tiles)

    # ---------------------------------------------------------- widgets
    def _make_widgets(self) -> None:
        self.source_picker = SourcePicker(self.client)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.index_spin = QSpinBox()
        self.index_spin.setRange(0, 10_000_000)
        self.index_spin.setToolTip("The sample's index in the design's training data.")
        self.data_button = QPushButton("From data")
        self.load_button = QPushButton("Load image…")
        self.canvas_check = QCheckBox("Show on canvas")
        self.canvas_check.setToolTip("Put each layer's output, small, under its node.")
        self.canvas_check.setEnabled(self.thumbnails is not None)
        self.output_image = ImagePlot()
        self.output_bars = BarsPlot("activation", "unit")
        self.output_stack = QStackedWidget()
        self.output_stack.addWidget(self.output_image)
        self.output_stack.addWidget(self.output_bars)
        self.output_card = PlotCard("Layer output", self.output_stack)
        self.output_stats = QLabel()
        self.output_stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layer_list = QListWidget()
        self.layer_list.setViewMode(QListView.ViewMode.IconMode)
        self.layer_list.setIconSize(TILE_SIZE)
        self.layer_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.layer_list.setMovement(QListView.Movement.Static)
        self.layer_list.setSpacing(6)
        self.layer_list.setWordWrap(True)
        self.sample_image = ImagePlot()
        self.sample_bars = BarsPlot("value", "feature")
        self.sample_stack = QStackedWidget()
        self.sample_stack.addWidget(self.sample_image)
        self.sample_stack.addWidget(self.sample_bars)
        self.sample_card = PlotCard("Sample", self.sample_stack)
        self.draw_pad = DrawPad()
        self.clear_button = QPushButton("Clear")
        self.draw_label = QLabel("Draw a sample:")
        self.tabs = QTabWidget()

    def _lay_out(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.source_picker)
        header.addWidget(self.status, 1)
        picker = QHBoxLayout()
        for widget in (QLabel("Sample #"), self.index_spin, self.data_button, self.load_button):
            picker.addWidget(widget)
        picker.addStretch(1)
        picker.addWidget(self.canvas_check)
        output = QWidget()
        column = QVBoxLayout(output)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.output_card, 1)
        column.addWidget(self.output_stats)
        sample = QWidget()
        row = QHBoxLayout(sample)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.sample_card, 1)
        pad = QVBoxLayout()
        pad.addWidget(self.draw_label)
        pad.addWidget(self.draw_pad)
        pad.addWidget(self.clear_button)
        pad.addStretch(1)
        row.addLayout(pad)
        for page, name in zip((output, self.layer_list, sample), TABS, strict=True):
            self.tabs.addTab(page, name)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addLayout(header)
        outer.addLayout(picker)
        outer.addWidget(self.tabs, 1)

    def _connect(self) -> None:
        client = self.client
        client.node_changed.connect(self.show_node)
        client.source_changed.connect(self.refresh)
        client.answered.connect(self._answered)
        client.failed.connect(self._failed)
        client.pending_changed.connect(self._pending_changed)
        client.document.project_replaced.connect(self._graph_replaced)
        self._design_changed = Debouncer(self._refresh_initial, DESIGN_DELAY_MS, self)
        client.document.results_changed.connect(self._design_changed.schedule)
        self.index_spin.editingFinished.connect(self.use_data_sample)
        self.data_button.clicked.connect(self.use_data_sample)
        self.load_button.clicked.connect(self.load_dialog)
        self.draw_pad.drawn.connect(self.use_drawing)
        self.clear_button.clicked.connect(self.draw_pad.clear)
        self.canvas_check.toggled.connect(self._show_thumbnails)
        self.layer_list.itemActivated.connect(self._layer_activated)
        self.layer_list.itemClicked.connect(self._layer_activated)

    # ---------------------------------------------------------- samples
    def use_data_sample(self) -> None:
        self.set_sample({"kind": "data", "index": self.index_spin.value()})

    def use_file(self, path: Path) -> None:
        self.set_sample({"kind": "file", "path": str(path)})

    def use_drawing(self) -> None:
        """Send what is on the pad as the sample (saved as .npy in the session's folder)."""
        path = self.client.out_dir / f"drawn-{next(self._drawings)}.npy"
        np.save(path, self.draw_pad.array())
        self.set_sample({"kind": "array", "path": str(path)})

    def set_sample(self, sample: dict[str, Any]) -> None:
        self.sample = sample
        self.refresh()

    def load_dialog(self) -> None:
        path = self.ask_sample_path()
        if path is not None:
            self.use_file(path)

    def ask_sample_path(self) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self, "Load a sample", str(Path.home()), IMAGE_FILTER)
        return Path(name) if name else None

    # ---------------------------------------------------------- requests
    def set_active(self, active: bool) -> None:
        self.active = active
        if self.shown_refresh.due(active):
            self.refresh()

    def refresh(self, *_: object) -> None:
        """Ask for every layer's output for the sample, from the current source."""
        if self.shown_refresh.hold(self.active):
            return
        if len(self.client.document.graph) == 0:
            self._show_nothing("The design is empty.")
            return
        self._update_draw_pad()
        fields = {**self.client.with_source(), "node": None, "sample": dict(self.sample)}
        if self.client.source.is_initial:  # a run reads its data from its own folder
            fields["base_dir"] = str(project_folder(self.client.document))
        self.client.request("inspect_activations", fields)

    def _refresh_initial(self) -> None:
        if self.client.source.is_initial and self.reply is not None:
            self.refresh()

    def _graph_replaced(self) -> None:
        self.reply = None
        self._update_draw_pad()
        self._show_nothing("Pick a sample (above) to see what each layer makes of it.")

    # ----------------------------------------------------------- replies
    def _answered(self, op: str, reply: dict[str, Any]) -> None:
        if op == "inspect_activations":
            self.show_activations(reply)

    def _failed(self, op: str, message: str) -> None:
        if op == "inspect_activations":
            self.status.setText(f"<span style='color:#c62828'>{message}</span>")

    def _pending_changed(self, op: str, pending: bool) -> None:
        if op == "inspect_activations" and pending:
            self.status.setText("Running the sample through the model…")

    # -------------------------------------------------------------- show
    def _show_nothing(self, text: str) -> None:
        self.output_card.show_message(text)
        self.sample_card.show_message(text)
        self.layer_list.clear()
        self.output_stats.clear()
        if self.thumbnails is not None:
            self.thumbnails.clear()

    def show_activations(self, reply: dict[str, Any]) -> None:
        """A new reply: the sample, the layer list, the selected node's output, the thumbnails."""
        self.reply = reply
        sample = reply.get("sample", {})
        label = f" · label {sample['label']}" if sample.get("label") is not None else ""
        self.status.setText(f"{self._sample_text(sample)}{label}")
        self._show_sample(sample)
        self._fill_layer_list(reply.get("layers", {}))
        self.show_node()
        self._show_thumbnails(self.canvas_check.isChecked())

    def _sample_text(self, sample: dict[str, Any]) -> str:
        kind = self.sample.get("kind")
        if kind == "data":
            return f"Sample #{sample.get('index', self.sample.get('index'))} of the data"
        if kind == "file":
            return f"Sample from {Path(self.sample['path']).name}"
        return "Drawn sample"

    def _show_sample(self, sample: dict[str, Any]) -> None:
        if not sample.get("file"):
            self.sample_card.show_message("The engine sent no copy of the sample.")
            return
        values = load_array(sample["file"])
        shape = shape_text(sample.get("shape", values.shape))
        if values.ndim >= 2:
            image = _display_image(values.astype(np.float64))
            self.sample_image.set_image(
                image,
                GRAY,
                unit_levels(image),
                lock_aspect=True,
                hover_text=lambda r, c: f"pixel ({r}, {c}) = {_pixel_text(image[r, c])}",
                axes=False,
            )
            self.sample_stack.setCurrentWidget(self.sample_image)
            if image.ndim == 2:
                self.draw_pad.pen_value = float(np.nanmax(image)) or 1.0
        else:
            flat = values.ravel()
            self.sample_bars.set_values(flat, 1, lambda i: f"feature {i} = {format_number(flat[i], 5)}")
            self.sample_stack.setCurrentWidget(self.sample_bars)
        label = f", label {sample['label']}" if sample.get("label") is not None else ""
        self.sample_card.show_plot(f"{self._sample_text(sample)}: {shape}{label}")

    def _fill_layer_list(self, layers: dict[str, dict[str, Any]]) -> None:
        graph = self.client.document.graph
        self.layer_list.clear()
        with_tiles = {node_id: layer for node_id, layer in layers.items() if layer.get("thumbnail")}
        self.tiles = {node_id: load_array(layer["thumbnail"]) for node_id, layer in with_tiles.items()}
        for node_id, layer in layers.items():
            name = graph.nodes[node_id].name if node_id in graph.nodes else node_id
            dead = dead_text(layer.get("dead_fraction"))
            item = QListWidgetItem(
                f"{name}\n{shape_text(layer.get('shape', []))}" + (f"\n{dead}" if dead else "")
            )
            item.setData(Qt.ItemDataRole.UserRole, node_id)
            if node_id in self.tiles:
                item.setIcon(QIcon(_tile_pixmap(self.tiles[node_id], current_colors().plot)))
            item.setToolTip(f"{name}: {layer.get('kind', '')} {shape_text(layer.get('shape', []))}")
            self.layer_list.addItem(item)

    def _recolour_tiles(self, colors: CanvasColors) -> None:
        """The layer list's tiles drawn again on the theme's background."""
        for row in range(self.layer_list.count()):
            item = self.layer_list.item(row)
            thumbnail = self.tiles.get(item.data(Qt.ItemDataRole.UserRole))
            if thumbnail is not None:
                item.setIcon(QIcon(_tile_pixmap(thumbnail, colors.plot)))

    def _layer_activated(self, item: QListWidgetItem) -> None:
        node_id = item.data(Qt.ItemDataRole.UserRole)
        if node_id in self.client.document.graph.nodes:
            self.client.document.set_selection([node_id])

    def show_node(self, *_: object) -> None:
        """The selected node's output in the Layer output tab, from the reply already there."""
        node = self.client.node
        graph = self.client.document.graph
        if self.reply is None:
            return
        layer = self.reply.get("layers", {}).get(node) if node is not None else None
        if node is None or layer is None:
            which = graph.nodes[node].name if node in graph.nodes else "the node"
            text = "Select a node to see its output." if node is None else f"No output recorded for {which}."
            self.output_card.show_message(text)
            self.output_stats.clear()
            return
        self._show_output(graph.nodes[node].name if node in graph.nodes else node, layer)

    def _show_output(self, name: str, layer: dict[str, Any]) -> None:
        values = load_array(layer["file"])
        shape, kind = shape_text(layer.get("shape", [])), layer.get("kind")
        if kind == "maps":
            dims = list(layer.get("shape", []))
            grid = len(dims) == 3  # (h, w, channels): tiled maps; else the (steps, channels) matrix
            image = with_gaps(values, dims[:2], int(dims[2])) if grid else values
            self.output_image.set_image(
                image,
                SEQUENTIAL,
                (0.0, 1.0),
                lock_aspect=grid,
                hover_text=lambda r, c: map_hover(image, dims, r, c),
                axes=not grid,
            )
            self.output_stack.setCurrentWidget(self.output_image)
            what = "feature maps, each scaled to its own range" if grid else "steps down, channels across"
        else:
            flat = values.ravel()
            step = _bar_step(layer.get("shape", []), flat.size)
            self.output_bars.set_values(
                flat, step, lambda i: f"unit {i * step} = {format_number(flat[i], 5)}"
            )
            self.output_stack.setCurrentWidget(self.output_bars)
            what = "one value" if kind == "scalar" else "units"
        self.output_card.show_plot(f"{name} output {shape}: {what}")
        stats = layer.get("stats", {})
        figures = " · ".join(
            f"{key} {format_number(stats.get(key))}" for key in ("mean", "std", "min", "max")
        )
        dead = dead_text(layer.get("dead_fraction"))
        self.output_stats.setText(figures + (f" · <b>{dead}</b> for this sample" if dead else ""))

    # ------------------------------------------------------------ canvas
    def _show_thumbnails(self, shown: bool) -> None:
        if self.thumbnails is None:
            return
        if shown and self.reply is not None:
            self.thumbnails.show(self.reply.get("layers", {}))
        else:
            self.thumbnails.clear()

    def _update_draw_pad(self) -> None:
        shape = image_input_shape(self.client.document.graph)
        for widget in (self.draw_pad, self.clear_button, self.draw_label):
            widget.setVisible(shape is not None)
        if shape is not None:
            self.draw_pad.set_size(*shape)


def _pixel_text(value: Any) -> str:
    """A grey pixel's value, or an RGB pixel's three."""
    values = np.atleast_1d(value)
    return ", ".join(format_number(v, 4) for v in values) if values.size > 1 else format_number(values[0], 5)


def map_hover(image: np.ndarray, dims: list[Any], row: int, column: int) -> str:
    """ "map 5 · (2, 3) · 0.42 of its range" over a grid of maps; "(row, column) · …" over a matrix."""
    value = image[row, column]
    if not np.isfinite(value):
        return ""
    scaled = f"{format_number(value, 3)} of its range"
    if len(dims) != 3:
        return f"step {row}, channel {column} · {scaled}"
    found = cell_at(row, column, dims[:2], int(dims[2]))
    return "" if found is None else f"map {found[0]} · ({found[1]}, {found[2]}) · {scaled}"


def _bar_step(shape: list[Any], shown: int) -> int:
    """How many units each bar stands for, when the engine shortened a long vector."""
    units = int(shape[-1]) if shape and isinstance(shape[-1], int) else shown
    return max(1, math.ceil(units / max(shown, 1)))


def _tile_pixmap(thumbnail: np.ndarray, colors: PlotColors) -> QPixmap:
    """A tile of the layer list: the thumbnail image, or its bars, on the plots' background."""
    pixmap = QPixmap(TILE_SIZE)
    pixmap.fill(colors.background)
    painter = QPainter(pixmap)
    area = QRectF(2, 2, TILE_SIZE.width() - 4, TILE_SIZE.height() - 4)
    if thumbnail.ndim >= 2:
        image = pixmap_of(thumbnail, SEQUENTIAL, (0.0, 1.0))
        painter.drawPixmap(_fitted(area, image.size()), image, QRectF(image.rect()))
    elif thumbnail.size:
        _paint_bars(painter, area, np.nan_to_num(thumbnail.astype(np.float64)), colors.caption)
    painter.end()
    return pixmap
