"""How the pyqtgraph plots look in the theme: background, axes, titles, and legends outside the data.

`PlotTheme` keeps a pyqtgraph view and its plot items in the theme's
`PlotColors`, now and after every change of theme. `add_legend_outside` gives a
plot item a legend in its own row under the x axis, where it never covers a
curve (pyqtgraph's `addLegend` floats it over the data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyqtgraph as pg
from PySide6.QtCore import QObject
from PySide6.QtGui import QColor

from designer.ui.theme import DARK_PLOT, LIGHT_PLOT, CanvasColors, PlotColors, follow_theme, theme_changes

AXES = ("left", "bottom", "top", "right")
LEGEND_ROW = 4  # the row under a PlotItem's bottom axis (rows 0-3: title, top axis, view, bottom axis)
LEGEND_COLUMNS = 4
THEME_TEXT = {LIGHT_PLOT.text.name(), DARK_PLOT.text.name()}


class OutsideLegend(pg.LegendItem):
    """A legend laid out by its plot item's grid, in a row of its own, that stays where it is put."""

    def updateSize(self) -> None:  # noqa: N802 - pyqtgraph's name
        self.updateGeometry()  # the plot item's layout gives it the height it asks for

    def mouseDragEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        pass  # it is not dragged over the curves


def add_legend_outside(item: pg.PlotItem, columns: int = LEGEND_COLUMNS) -> OutsideLegend:
    """A legend for `item` under its x axis, `columns` entries a row; named curves join it."""
    legend = OutsideLegend(colCount=columns, frame=False)
    item.layout.addItem(legend, LEGEND_ROW, 1)
    item.legend = legend
    return legend


def style_plot(item: pg.PlotItem, colors: PlotColors) -> None:
    """The axes, their labels and ticks, the title and the legend of `item` in `colors`."""
    for name in AXES:
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(colors.axis))
        axis.setTextPen(pg.mkPen(colors.text))
        if axis.labelText:
            axis.setLabel(axis.labelText, axis.labelUnits, color=colors.text.name())
    _style_title(item.titleLabel, colors.text)
    if isinstance(item.legend, pg.LegendItem):
        _style_legend(item.legend, colors.text)


def _style_legend(legend: pg.LegendItem, colour: QColor) -> None:
    """Labels there now and to come in `colour` (pyqtgraph's setLabelTextColor leaves the ones
    already drawn as they were)."""
    legend.setLabelTextColor(colour)
    for _sample, label in legend.items:
        label.setText(label.text, color=colour.name())


def _style_title(label: pg.LabelItem, colour: QColor) -> None:
    """The title in the text colour, unless it was given a colour of its own (a warning)."""
    current = label.opts.get("color")
    if current is None or QColor(current).name() in THEME_TEXT:
        label.setText(label.text, color=colour.name())


class PlotTheme(QObject):
    """Keeps a view's background and its plot items' axes, titles and legends in the theme's colours;
    `restyle` callbacks redraw whatever else of the view depends on them. Lives as long as the view."""

    def __init__(
        self,
        view: pg.GraphicsView,
        items: Sequence[pg.PlotItem] = (),
        restyle: Callable[[PlotColors], None] | None = None,
    ) -> None:
        super().__init__(view)
        self.view = view
        self.items = list(items) or [view.getPlotItem()]
        self.restyle = restyle
        follow_theme(self.set_colors)

    def set_colors(self, colors: CanvasColors) -> None:
        if getattr(self.view, "closed", False):  # pyqtgraph's close() took the scene apart
            theme_changes().colors_changed.disconnect(self.set_colors)
            return
        self.view.setBackground(colors.plot.background)
        for item in self.items:
            style_plot(item, colors.plot)
        if self.restyle is not None:
            self.restyle(colors.plot)
