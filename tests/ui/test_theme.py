"""Both themes as a person sees them: code, plots and thumbnails follow View > Theme at once, every
text keeps a contrast of at least 4.5:1 (WCAG 2 relative luminance) with what it is drawn on, and
plot legends sit outside the data.

Colours are read from what is drawn: the formats the highlighter gave each line of the editor,
pixels of a plot's grab and of a thumbnail rendered from the scene, the pens of axis text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot
from test_canvas import small_catalog
from test_inspection_panels import (
    CONV,
    EXAMPLE,
    RecordingEngine,
    activations_reply,
    select,
    variable,
    weights_reply,
)
from test_main_window import make_window

from designer.graph import project
from designer.ui.canvas.scene import GraphScene
from designer.ui.document import Document
from designer.ui.main_window import MainWindow
from designer.ui.panels.activations import THUMBNAIL_HEIGHT, ActivationsView, ThumbnailItem
from designer.ui.panels.inspection_client import InspectionClient
from designer.ui.panels.inspection_plots import (
    BarsPlot,
    GradientPlot,
    HistogramPlot,
    ImagePlot,
    OverEpochsPlot,
)
from designer.ui.panels.layer_editor import CodeEditor
from designer.ui.panels.training import MetricPlot
from designer.ui.panels.weights import WeightsView
from designer.ui.theme import DARK, DARK_CODE, LIGHT, LIGHT_CODE, apply_theme, current_colors

THEMES = ("light", "dark")
LEAST_CONTRAST = 4.5
SOURCE = '''"""A layer."""
import math


@keras.saving.register_keras_serializable()
class Scale(layers.Layer):
    def call(self, inputs):  # scale by a constant
        return inputs * 2.5 + len("ab") if True else None
'''


# ------------------------------------------------------------------ helpers
def luminance(colour: QColor) -> float:
    """WCAG 2 relative luminance."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in (colour.redF(), colour.greenF(), colour.blueF()))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: QColor, second: QColor) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def use_theme(choice: str) -> None:
    apply_theme(QApplication.instance(), choice)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def light_afterwards(qapp: QApplication) -> Iterator[None]:
    """Every test has an application and leaves it in the light theme it found."""
    yield
    use_theme("light")


def drawn_token_colours(editor: QPlainTextEdit) -> set[str]:
    """The colours the highlighter gave the text, as drawn in the editor's lines."""
    colours = set()
    block = editor.document().begin()
    while block.isValid():
        colours |= {r.format.foreground().color().name() for r in block.layout().formats()}
        block = block.next()
    return colours


def shown(qtbot: QtBot, widget: QWidget, width: int = 520, height: int = 340) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def corner_pixel(widget: QWidget) -> QColor:
    """A pixel of the background a plot is drawn on (its view's corner, outside the axes)."""
    return widget.grab().toImage().pixelColor(QPoint(widget.width() - 3, 2))


def background_of(plot: QWidget) -> QColor:
    return view_of(plot).backgroundBrush().color()


# ------------------------------------------------------------------ code
@pytest.mark.parametrize("choice", THEMES)
def test_every_code_token_reads_on_the_editor_background(qtbot: QtBot, choice: str) -> None:
    use_theme(choice)
    editor = shown(qtbot, CodeEditor())
    editor.setPlainText(SOURCE)
    background = editor.palette().color(QPalette.ColorRole.Base)
    drawn = drawn_token_colours(editor)
    expected = DARK_CODE if choice == "dark" else LIGHT_CODE
    assert drawn == {getattr(expected, kind).name() for kind in expected.__dataclass_fields__}
    low = {colour: round(contrast(QColor(colour), background), 2) for colour in drawn}
    assert min(low.values()) >= LEAST_CONTRAST, f"on {background.name()}: {low}"


def test_switching_the_theme_recolours_code_already_shown(qtbot: QtBot) -> None:
    editor = shown(qtbot, CodeEditor())
    editor.setPlainText(SOURCE)
    assert LIGHT_CODE.keyword.name() in drawn_token_colours(editor)
    use_theme("dark")
    drawn = drawn_token_colours(editor)
    assert DARK_CODE.keyword.name() in drawn and LIGHT_CODE.keyword.name() not in drawn
    qtbot.waitUntil(lambda: editor.palette().color(QPalette.ColorRole.Base).lightness() < 60)
    assert editor.toPlainText() == SOURCE


# ------------------------------------------------------------------ plots
def gradient_plot() -> GradientPlot:
    plot = GradientPlot()
    norms = {"conv_1": [0.5, 0.3, 0.2], "digit": [1.5, 1.1, 0.8]}
    plot.set_series([1, 2, 3], norms, {"conv_1": [0.0, 0.1, 0.2]})
    return plot


PLOTS: dict[str, Callable[[], QWidget]] = {
    "training": lambda: MetricPlot("loss"),
    "bars": BarsPlot,
    "histogram": HistogramPlot,
    "image": ImagePlot,
    "gradient norms": gradient_plot,
    "over epochs": OverEpochsPlot,
}


def view_of(plot: QWidget) -> pg.GraphicsView:
    """The pyqtgraph view shown: the plot itself, or the current page of a stack of them."""
    return plot if isinstance(plot, pg.GraphicsView) else plot.currentWidget()  # type: ignore[attr-defined]


def plot_items(plot: QWidget) -> list[pg.PlotItem]:
    return [item for item in view_of(plot).scene().items() if isinstance(item, pg.PlotItem)]


@pytest.mark.parametrize("kind", PLOTS)
def test_plots_are_light_in_the_light_theme_and_follow_a_switch(qtbot: QtBot, kind: str) -> None:
    plot = shown(qtbot, PLOTS[kind]())
    assert corner_pixel(plot).lightness() > 230
    use_theme("dark")
    assert corner_pixel(plot).lightness() < 60
    use_theme("light")
    assert corner_pixel(plot).lightness() > 230


@pytest.mark.parametrize("choice", THEMES)
@pytest.mark.parametrize("kind", PLOTS)
def test_axis_text_titles_and_legends_read_on_the_plot(qtbot: QtBot, kind: str, choice: str) -> None:
    use_theme(choice)
    plot = shown(qtbot, PLOTS[kind]())
    background = background_of(plot)
    assert background == current_colors().plot.background
    texts = []
    for item in plot_items(plot):
        axes = [item.getAxis(name) for name in ("left", "bottom", "right", "top")]
        texts += [axis.textPen().color() for axis in axes if axis.isVisible()]
        texts += [QColor(item.titleLabel.opts["color"])] if item.titleLabel.text else []
        legend = item.legend
        texts += [QColor(label.opts["color"]) for _, label in legend.items] if legend is not None else []
    assert texts
    assert min(contrast(text, background) for text in texts) >= LEAST_CONTRAST


@pytest.mark.parametrize("kind", ["training", "gradient norms"])
def test_legends_sit_outside_the_data(qtbot: QtBot, kind: str) -> None:
    plot = shown(qtbot, PLOTS[kind]())
    (item,) = [i for i in plot_items(plot) if i.legend is not None]
    legend, data = item.legend.sceneBoundingRect(), item.getViewBox().sceneBoundingRect()
    assert item.legend.items and legend.height() > 10 and data.height() > 50
    assert not legend.intersects(data), f"legend {legend} over the data {data}"
    assert QRectF(plot.rect()).contains(legend)  # and it is on screen


def test_closed_plots_are_left_alone_when_the_theme_changes(qtbot: QtBot) -> None:
    """pyqtgraph's close() takes a view's scene apart and deletion ends the C++ object: a theme
    change then reaches neither (an exception in a slot would fail the test), only the open plot."""
    closed, deleted, open_plot = BarsPlot(), BarsPlot(), shown(qtbot, BarsPlot())
    closed.close()
    deleted.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    use_theme("dark")
    assert background_of(open_plot) == DARK.plot.background
    assert closed.closed and closed.plotItem is None


# ------------------------------------------------------------------ thumbnails
@pytest.fixture
def document() -> Document:
    document = Document(small_catalog())
    document.replace(project.load(EXAMPLE, document.catalog.ports_of), None)
    return document


def rendered(scene: GraphScene, area: QRectF) -> QImage:
    image = QImage(int(area.width()), int(area.height()), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    scene.render(painter, QRectF(image.rect()), area)
    painter.end()
    return image


def test_thumbnails_under_nodes_follow_the_canvas_theme(document: Document) -> None:
    scene = GraphScene(document, LIGHT)
    thumbnail = ThumbnailItem(scene.node_items[next(iter(scene.node_items))])
    thumbnail.set_output(np.linspace(0, 1, 80).reshape(2, 40), "", "")  # wide: blank above and below
    area = thumbnail.mapRectToScene(QRectF(0, 0, 40, THUMBNAIL_HEIGHT / 4))
    assert rendered(scene, area).pixelColor(20, 4).lightness() > 230
    scene.set_colors(DARK)
    assert rendered(scene, area).pixelColor(20, 4).lightness() < 70


def test_layer_tiles_follow_the_theme(qtbot: QtBot, tmp_path: Path, document: Document) -> None:
    engine = RecordingEngine()
    client = InspectionClient(document, engine, selection_delay_ms=10)
    view = shown(qtbot, ActivationsView(client), 1000, 520)
    view.refresh()
    engine.answer("inspect_activations", activations_reply(tmp_path))
    dense = view.layer_list.item(view.layer_list.count() - 1)  # bars on the tile's background

    def tile_corner() -> QColor:
        return dense.icon().pixmap(view.layer_list.iconSize()).toImage().pixelColor(1, 1)

    assert tile_corner().lightness() > 230
    use_theme("dark")
    assert tile_corner().lightness() < 60
    client.close()


def test_weights_with_nan_stay_marked_and_readable_in_both_themes(
    qtbot: QtBot, tmp_path: Path, document: Document
) -> None:
    engine = RecordingEngine()
    client = InspectionClient(document, engine, selection_delay_ms=10)
    view = shown(qtbot, WeightsView(client), 1200, 520)
    broken = np.array([1, np.nan, 1], np.float32)
    variables = [
        variable(tmp_path, "bn", "gamma", np.ones(3, np.float32)),
        variable(tmp_path, "bn", "beta", broken),
    ]
    select(qtbot, client, CONV)
    engine.answer("inspect_weights", weights_reply(tmp_path, CONV, "bn", "BatchNormalization", variables))
    for choice in THEMES:
        use_theme(choice)
        qtbot.waitUntil(lambda: view.table.palette() == QApplication.palette())
        base = view.table.palette().color(QPalette.ColorRole.Base)
        marked, plain = view.table.item(1, 0).foreground().color(), view.table.item(0, 0).foreground()
        assert marked == current_colors().plot.alarm and plain.style() == Qt.BrushStyle.NoBrush
        assert contrast(marked, base) >= LEAST_CONTRAST
    client.close()


# ------------------------------------------------------------------ the window
@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    return make_window(qtbot, tmp_path)


def test_view_theme_restyles_the_open_views(qtbot: QtBot, window: MainWindow) -> None:
    window.code.editor.setPlainText(SOURCE)  # what the highlighter colours, generated or not
    plot = window.training.plots.plot("loss")
    window.theme_actions["dark"].trigger()
    assert background_of(plot) == DARK.plot.background
    assert DARK_CODE.keyword.name() in drawn_token_colours(window.code.editor)
    window.theme_actions["light"].trigger()
    assert background_of(plot) == LIGHT.plot.background
    assert LIGHT_CODE.keyword.name() in drawn_token_colours(window.code.editor)
