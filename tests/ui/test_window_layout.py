"""The main window as a new user meets it: room for the canvas, docks that move and come back,
standard keys, a Help menu, a compact problem count and a full palette from the first start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication
from test_canvas import small_catalog
from test_main_window import FakeClient, make_window

from designer.catalog.spec import Catalog
from designer.graph.validation import Diagnostic, Fix
from designer.ui.document import Document
from designer.ui.engine_client import bundled_catalog, cached_catalog
from designer.ui.help import ShortcutsDialog, about_text, shortcut_rows, version
from designer.ui.main_window import MainWindow, _with_ctrl_y

SCREENS = [(1280, 800), (1920, 1080)]


def sized_window(qtbot: object, tmp_path: Path, width: int, height: int) -> MainWindow:
    window = make_window(qtbot, tmp_path)
    window.resize(width, height)
    window.reset_layout()
    QApplication.processEvents()
    return window


def visible_area(widget: object) -> int:
    size = widget.size()  # type: ignore[attr-defined]
    return size.width() * size.height()


@pytest.mark.parametrize(("width", "height"), SCREENS)
def test_the_canvas_gets_most_of_the_window(qtbot: object, tmp_path: Path, width: int, height: int) -> None:
    window = sized_window(qtbot, tmp_path, width, height)
    canvas = visible_area(window.view)
    assert canvas > 0.5 * width * height
    shown = [dock for dock in window.docks.values() if dock.isVisible()]
    assert shown and all(visible_area(dock) < canvas for dock in shown)
    assert not window.docks["training"].isVisible()  # the big run panels wait until asked for


def test_a_new_window_fits_the_screen(qtbot: object, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    screen = QApplication.primaryScreen().availableGeometry()
    assert window.width() <= screen.width() and window.height() <= screen.height()


def test_every_dock_can_be_closed_moved_and_made_small(qtbot: object, tmp_path: Path) -> None:
    window = sized_window(qtbot, tmp_path, 1280, 800)
    features = window.docks["diagnostics"].features()
    for dock in window.docks.values():
        assert dock.features() & features.DockWidgetClosable and dock.features() & features.DockWidgetMovable
    code, above = window.docks["code"], window.docks["inspector"]
    total = code.height() + above.height()
    window.resizeDocks([above, code], [total - 100, 100], Qt.Orientation.Vertical)  # the splitter dragged
    QApplication.processEvents()
    assert code.height() <= 120  # down: smaller
    window.resizeDocks([above, code], [total - 500, 500], Qt.Orientation.Vertical)
    QApplication.processEvents()
    assert code.height() >= 480  # up: larger
    problems = window.docks["diagnostics"]
    window.bring_forward("diagnostics")
    for height in (100, 450):  # the bottom panels too, against the canvas
        window.resizeDocks([problems], [height], Qt.Orientation.Vertical)
        QApplication.processEvents()
        assert abs(problems.height() - height) <= 30


def test_the_layout_persists_and_reset_brings_the_default_back(qtbot: object, tmp_path: Path) -> None:
    window = sized_window(qtbot, tmp_path, 1280, 800)
    window.docks["palette"].close()
    window.bring_forward("training")
    window.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    again = MainWindow(Document(small_catalog()), None, settings=settings, recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(again)  # type: ignore[attr-defined]
    again.show()
    QApplication.processEvents()
    assert not again.docks["palette"].isVisible() and again.docks["training"].isVisible()
    view_menu = next(a.menu() for a in again.menuBar().actions() if a.text() == "&View")
    reset = next(a for a in view_menu.actions() if a.text() == "&Reset Layout")
    reset.trigger()
    QApplication.processEvents()
    assert again.docks["palette"].isVisible() and again.docks["inspector"].isVisible()
    assert not again.docks["training"].isVisible()


def test_redo_answers_ctrl_y_where_the_platform_binds_only_ctrl_shift_z() -> None:
    xcb_bindings = [QKeySequence("Ctrl+Shift+Z")]  # X11's standard Redo
    assert [k.toString() for k in _with_ctrl_y(xcb_bindings)] == ["Ctrl+Shift+Z", "Ctrl+Y"]


def test_ctrl_y_redoes_like_ctrl_shift_z(qtbot: object, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.add_layer_at_centre("Dense")
    window.document.undo_stack.undo()
    assert len(window.document.graph) == 0
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # type: ignore[attr-defined]
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert len(window.document.graph) == 1
    window.document.undo_stack.undo()
    qtbot.keyClick(  # type: ignore[attr-defined]
        window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert len(window.document.graph) == 1


def test_help_lists_the_shortcuts_and_says_the_version(qtbot: object, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert [a.text() for a in help_menu.actions()] == ["&Keyboard Shortcuts…", "&About Keras Designer"]
    rows = {(menu, command): keys for menu, command, keys in shortcut_rows(window)}
    assert "Ctrl+Y" in rows[("Edit", "Redo")] and rows[("File", "Save")] == "Ctrl+S"
    assert rows[("Training", "Start")] == "F5" and rows[("Training", "Stop (end of the batch)")] == "Shift+F5"
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    texts = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert {"Undo", "Redo", "Fit to View", "Keyboard Shortcuts"} <= texts
    assert version() != "unknown" and f"Keras Designer {version()}" in about_text("Keras Designer")


def test_the_status_bar_counts_problems_and_opens_the_list(qtbot: object, tmp_path: Path) -> None:
    window = sized_window(qtbot, tmp_path, 1280, 800)
    assert window.problems_button.text() == "✓ No problems"
    node = window.add_layer_at_centre("Dense")
    window.document.set_results(
        {},
        [
            Diagnostic("error", "dense (Dense) has no input", node),
            Diagnostic("warning", "dense (Dense) is never used", node),
            Diagnostic("warning", "another", node),
        ],
    )
    assert window.problems_button.text() == "✖ 1 error · ⚠ 2 warnings"
    window.docks["code"].raise_()
    QApplication.processEvents()
    assert window.docks["diagnostics"].visibleRegion().isEmpty()
    window.problems_button.click()
    QApplication.processEvents()
    assert not window.docks["diagnostics"].visibleRegion().isEmpty()
    assert window.totals_label.text() == "1 layer · 0 params"


def test_the_engine_start_shows_progress_until_it_is_ready(qtbot: object, tmp_path: Path) -> None:
    client = FakeClient()
    window = make_window(qtbot, tmp_path, client=client)
    assert window.engine_progress.isVisible() and "shapes appear" in window.engine_label.text()
    client.status_changed.emit("Engine ready")
    assert not window.engine_progress.isVisible() and window.engine_label.text() == "Engine ready"


def test_a_first_start_has_the_full_palette_from_the_shipped_snapshot(tmp_path: Path) -> None:
    catalog = cached_catalog(tmp_path / "an-empty-cache")  # no cache yet: the very first start
    assert catalog is not None and len(catalog) > 100
    assert {"Conv2D", "Dense", "MultiHeadAttention", "LSTM", "Input"} <= set(catalog.keys())
    assert bundled_catalog("0.0.1") is None  # another Keras release: no snapshot, the engine decides


def test_a_project_naming_layers_by_their_aliases_opens_and_saves_under_the_keys(tmp_path: Path) -> None:
    """The shipped catalog carries Keras' other names (MaxPool2D...), so the GUI reads them too."""
    catalog = cached_catalog(tmp_path / "an-empty-cache")
    assert catalog is not None and catalog.canonical_key("MaxPool2D") == "MaxPooling2D"
    example = Path(__file__).resolve().parents[2] / "resources" / "examples" / "digits_cnn.json"
    data = json.loads(example.read_text())
    aliases = {"Conv2D": "Convolution2D", "MaxPooling2D": "MaxPool2D"}
    for node in data["nodes"]:
        node["type"] = aliases.get(node["type"], node["type"])
    (tmp_path / "aliased.json").write_text(json.dumps(data))
    document = Document(catalog)
    document.open(tmp_path / "aliased.json")
    document.save(tmp_path / "saved.json")
    saved = json.loads((tmp_path / "saved.json").read_text())
    original = json.loads(example.read_text())
    assert [node["type"] for node in saved["nodes"]] == [node["type"] for node in original["nodes"]]


def test_an_example_opened_at_start_is_readable_before_the_engine(qtbot: object, tmp_path: Path) -> None:
    """The window, the palette and the design are there at once, with the shipped catalog."""
    catalog = cached_catalog(tmp_path / "an-empty-cache") or Catalog()
    window = make_window(qtbot, tmp_path, catalog=catalog, client=FakeClient())
    from designer.app import open_example

    assert window.catalog_known and open_example(window)
    assert len(window.document.graph) == 6 and len(window.scene.node_items) == 6
    assert window.palette_view.visible_keys()  # the palette is full


@pytest.mark.parametrize(("width", "height"), SCREENS)
def test_the_code_panel_buttons_are_never_cut_short(
    qtbot: object, tmp_path: Path, width: int, height: int
) -> None:
    window = sized_window(qtbot, tmp_path, width, height)
    code = window.code
    buttons = [*code.style_buttons.buttons(), code.copy_button, code.export_button]
    for button in buttons:
        assert button.width() >= button.sizeHint().width(), button.text()
        assert code.rect().contains(button.geometry())


def test_a_one_click_fix_makes_room_like_a_drop_on_the_edge(qtbot: object, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    example = Path(__file__).resolve().parents[2] / "resources" / "examples" / "digits_cnn.json"
    assert window.open_path(example)
    graph = window.document.graph
    edge = next(e for e in graph.edges if graph.node(e.source).name == "conv_2")
    fix = Fix("Flatten", edge)
    window.document.set_results(
        {}, [Diagnostic("error", "pool_2 needs a flat input", "Insert Flatten.", edge.target, fix=fix)]
    )
    window.bring_forward("diagnostics")
    before = {n: tuple(graph.node(n).position) for n in graph.nodes}
    window.diagnostics.fix_button(0).click()
    rects = [item.sceneBoundingRect() for item in window.scene.node_items.values()]
    assert len(rects) == 7
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    window.document.undo_stack.undo()  # one step takes the layer and the moves back
    assert {n: tuple(graph.node(n).position) for n in graph.nodes} == before
