"""Light and dark looks: the application palette and the colours everything paints with.

The theme follows the system colour scheme (`QStyleHints.colorScheme`) unless
the user picks one in View > Theme. `CanvasColors` is plain data the canvas
items read when they paint, with the colours of the plots (`PlotColors`) and of
highlighted code (`CodeColors`) beside them: one source for every colour that
depends on the theme. `apply_theme` sets the Fusion palette and returns them;
when that changes the theme, `theme_changes()` announces the new colours, and
views that paint with them subscribe through `follow_theme`. Every text colour
here keeps a contrast of at least 4.5:1 (WCAG) with what it is drawn on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEME_CHOICES = ("system", "light", "dark")

CATEGORY_HUES: dict[str, str] = {
    "input": "#2e9d62",
    "core": "#3d7dd8",
    "convolutional": "#1f9c9c",
    "pooling": "#3aa7c9",
    "normalization": "#8a63d2",
    "activations": "#e0862f",
    "merging": "#d2558f",
    "reshaping": "#8c7a5b",
    "regularization": "#c9a227",
    "recurrent": "#4caf50",
    "attention": "#5c6bc0",
    "preprocessing": "#6b7b8c",
}
DEFAULT_HUE = "#7a8694"


@dataclass(frozen=True)
class PlotColors:
    """What the pyqtgraph plots and the activation thumbnails paint with."""

    background: QColor
    axis: QColor
    text: QColor
    image_gap: QColor  # the gaps between tiles and NaN pixels of an image plot
    thumbnail_fill: QColor
    thumbnail_border: QColor
    caption: QColor  # on the canvas background, under a thumbnail
    alarm: QColor


@dataclass(frozen=True)
class CodeColors:
    """The colours of Python tokens in the code views, on the palette's Base colour."""

    keyword: QColor
    builtin: QColor
    decorator: QColor
    number: QColor
    definition: QColor
    string: QColor
    comment: QColor


LIGHT_PLOT = PlotColors(
    background=QColor("#ffffff"),
    axis=QColor("#555555"),
    text=QColor("#222222"),
    image_gap=QColor("#dfe4ea"),
    thumbnail_fill=QColor(255, 255, 255, 235),
    thumbnail_border=QColor("#9aa3ad"),
    caption=QColor("#5d6675"),
    alarm=QColor("#c62828"),
)

DARK_PLOT = PlotColors(
    background=QColor("#1e2127"),
    axis=QColor("#8c96a5"),
    text=QColor("#e6e9ef"),
    image_gap=QColor("#3a3f4a"),
    thumbnail_fill=QColor(43, 48, 57, 235),
    thumbnail_border=QColor("#4b5361"),
    caption=QColor("#a3acb9"),
    alarm=QColor("#ff6b6b"),
)

LIGHT_CODE = CodeColors(
    keyword=QColor("#0033b3"),
    builtin=QColor("#7a1fc2"),
    decorator=QColor("#7d6608"),
    number=QColor("#1750eb"),
    definition=QColor("#00627a"),
    string=QColor("#067d17"),
    comment=QColor("#6a737d"),
)

DARK_CODE = CodeColors(  # One Dark's hues on the dark palette's Base (#1e2127)
    keyword=QColor("#c678dd"),
    builtin=QColor("#56b6c2"),
    decorator=QColor("#e5c07b"),
    number=QColor("#d19a66"),
    definition=QColor("#61afef"),
    string=QColor("#98c379"),
    comment=QColor("#8b949e"),
)


@dataclass(frozen=True)
class CanvasColors:
    """What the canvas paints with; one instance per theme."""

    dark: bool
    background: QColor
    grid: QColor
    node_fill: QColor
    node_border: QColor
    node_text: QColor
    node_subtext: QColor
    title_text: QColor
    selection: QColor
    error: QColor
    warning: QColor
    edge: QColor
    edge_hover: QColor
    label_fill: QColor
    label_text: QColor
    port: QColor
    port_hover: QColor
    output_mark: QColor
    plot: PlotColors
    code: CodeColors
    categories: dict[str, QColor] = field(default_factory=dict)

    def category(self, name: str) -> QColor:
        return self.categories.get(name, QColor(DEFAULT_HUE))


def _categories(dark: bool) -> dict[str, QColor]:
    colours = {name: QColor(hue) for name, hue in CATEGORY_HUES.items()}
    return {name: colour.darker(125) if dark else colour for name, colour in colours.items()}


LIGHT = CanvasColors(
    dark=False,
    background=QColor("#f5f6f8"),
    grid=QColor("#c5cad3"),
    node_fill=QColor("#ffffff"),
    node_border=QColor("#9aa3af"),
    node_text=QColor("#1d2330"),
    node_subtext=QColor("#5d6675"),
    title_text=QColor("#ffffff"),
    selection=QColor("#f0a500"),
    error=QColor("#d93025"),
    warning=QColor("#e37400"),
    edge=QColor("#6f7a89"),
    edge_hover=QColor("#1a73e8"),
    label_fill=QColor(255, 255, 255, 225),
    label_text=QColor("#2b3340"),
    port=QColor("#56606e"),
    port_hover=QColor("#1a73e8"),
    output_mark=QColor("#2e9d62"),
    plot=LIGHT_PLOT,
    code=LIGHT_CODE,
    categories=_categories(dark=False),
)

DARK = CanvasColors(
    dark=True,
    background=QColor("#1e2127"),
    grid=QColor("#3a3f4a"),
    node_fill=QColor("#2b3039"),
    node_border=QColor("#4b5361"),
    node_text=QColor("#e6e9ef"),
    node_subtext=QColor("#a3acb9"),
    title_text=QColor("#ffffff"),
    selection=QColor("#ffb300"),
    error=QColor("#ff5f56"),
    warning=QColor("#ffa94d"),
    edge=QColor("#8c96a5"),
    edge_hover=QColor("#6ea8ff"),
    label_fill=QColor(40, 44, 52, 225),
    label_text=QColor("#dde2ea"),
    port=QColor("#a3acb9"),
    port_hover=QColor("#6ea8ff"),
    output_mark=QColor("#5cc98b"),
    plot=DARK_PLOT,
    code=DARK_CODE,
    categories=_categories(dark=True),
)


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark


def resolve_dark(choice: str) -> bool:
    """Whether a theme choice ("system", "light", "dark") means dark now."""
    if choice == "dark":
        return True
    if choice == "light":
        return False
    return system_prefers_dark()


def canvas_colors(dark: bool) -> CanvasColors:
    return DARK if dark else LIGHT


def application_palette(dark: bool) -> QPalette:
    """A Fusion palette; the light one is Fusion's own."""
    if not dark:
        return QApplication.style().standardPalette() if QApplication.instance() else QPalette()
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#25282e",
        QPalette.ColorRole.WindowText: "#e6e9ef",
        QPalette.ColorRole.Base: "#1e2127",
        QPalette.ColorRole.AlternateBase: "#2b3039",
        QPalette.ColorRole.ToolTipBase: "#2b3039",
        QPalette.ColorRole.ToolTipText: "#e6e9ef",
        QPalette.ColorRole.Text: "#e6e9ef",
        QPalette.ColorRole.Button: "#2f333b",
        QPalette.ColorRole.ButtonText: "#e6e9ef",
        QPalette.ColorRole.BrightText: "#ff5f56",
        QPalette.ColorRole.Highlight: "#3d7dd8",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6ea8ff",
        QPalette.ColorRole.PlaceholderText: "#7d8694",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7280"))
    return palette


class ThemeChanges(QObject):
    """Announces the colours of a theme when `apply_theme` changes to it."""

    colors_changed = Signal(object)  # the new CanvasColors


_THEME_CHANGES: list[ThemeChanges] = []


def theme_changes() -> ThemeChanges:
    """The one announcer of theme changes."""
    if not _THEME_CHANGES:
        _THEME_CHANGES.append(ThemeChanges())
    return _THEME_CHANGES[0]


def current_colors() -> CanvasColors:
    """The colours of the theme the application's palette shows now (light before any is applied)."""
    application = QApplication.instance()
    palette = application.palette() if isinstance(application, QApplication) else QPalette()
    return canvas_colors(palette.color(QPalette.ColorRole.Window).lightness() < 128)


def follow_theme(apply_colors: Callable[[CanvasColors], None]) -> None:
    """Call `apply_colors` with the current colours now and with the new ones on every change of
    theme. Pass a method of a QObject: the connection then ends when the object is destroyed."""
    apply_colors(current_colors())
    theme_changes().colors_changed.connect(apply_colors)


def apply_theme(application: QApplication, choice: str) -> CanvasColors:
    """Set the Fusion style and the palette of `choice`; return the colours to use, and announce
    them on `theme_changes()` when they differ from the ones shown before."""
    dark = resolve_dark(choice)
    before = current_colors()
    if application.style().name().lower() != "fusion":
        application.setStyle("Fusion")
    application.setPalette(application_palette(dark))
    colors = canvas_colors(dark)
    if colors is not before:
        theme_changes().colors_changed.emit(colors)
    return colors
