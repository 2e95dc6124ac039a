"""The features installed in the main window reach it only through `WindowServices`: no module
of designer/ui but main_window.py touches a window's private members, and each installer
works against the `MainWindow` through the interface."""

from __future__ import annotations

import ast
from pathlib import Path

from PySide6.QtWidgets import QApplication, QLabel
from test_main_window import make_window

import designer.ui
from designer.ui.services import WindowServices

UI_FOLDER = Path(designer.ui.__file__).parent


def private_window_accesses(source: str) -> list[str]:
    """`window._x`, `self.window._x`: a private member of something called window."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
        ):
            continue
        owner = node.value
        name = (
            owner.id
            if isinstance(owner, ast.Name)
            else owner.attr
            if isinstance(owner, ast.Attribute)
            else ""
        )
        if name in {"window", "main_window"}:
            found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return sorted(found, key=lambda text: int(text.rsplit(" ", 1)[1].rstrip(")")))


def test_the_check_finds_a_private_access() -> None:
    assert private_window_accesses("window._dock('x')\nself.window._busy\nwindow.docks") == [
        "window._dock (line 1)",
        "self.window._busy (line 2)",
    ]


def test_nothing_outside_main_window_touches_a_windows_private_members() -> None:
    offenders = {
        str(path.relative_to(UI_FOLDER)): found
        for path in sorted(UI_FOLDER.rglob("*.py"))
        if path.name != "main_window.py"
        and (found := private_window_accesses(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_installers_take_services_not_the_window() -> None:
    for module in ("custom_layers.py", "groups_ui.py", "panels/inspection.py"):
        source = (UI_FOLDER / module).read_text(encoding="utf-8")
        assert "MainWindow" not in source, module


def test_the_main_window_is_window_services(qtbot: object, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    services: WindowServices = window  # mypy checks the protocol here
    label = QLabel("extra")
    dock = services.add_dock(
        "extra", "Extra", label, window.dockWidgetArea(window.docks["code"]), tab_with="code"
    )
    assert services.dock("extra") is dock and dock.objectName() == "extra_dock" and dock.widget() is label
    assert window.dockWidgetArea(dock) == window.dockWidgetArea(window.docks["code"])
    services.bring_forward("extra")
    QApplication.processEvents()
    assert dock.isVisible()
    assert services.menu("&Edit") is not None and services.action("quit") is window.menu_actions["quit"]
    services.show_message("hello")
    assert window.statusBar().currentMessage() == "hello"


def test_installed_features_are_in_the_window_through_services(qtbot: object, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    assert {"blocks", "layer_editor", "weights", "activations"} <= window.docks.keys()
    edit = [a.text() for a in window.menu("&Edit").actions()]
    assert edit[-6:] == [
        "&Group",
        "&Ungroup",
        "Re&name Block…",
        "Edit &Inside Block",
        "&Back to the Whole Design",
        "Save Block to &Library…",
    ]
    file_menu = [a.text() for a in window.menu("&File").actions()]
    quit_at = file_menu.index("&Quit")
    assert file_menu[quit_at - 5 : quit_at] == [
        "Load Custom &Layers…",
        "Load Custom Layer Fol&der…",
        "New C&ustom Layer…",
        "Edit Custom Layer &File…",
        "",
    ]
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus.index("&Inspect") == menus.index("&View") - 1
    view_menu = [a.text() for a in window.menu("&View").actions()]
    assert view_menu.index("Blocks") == view_menu.index("Inspector") - 1
    assert view_menu.index("Layer Editor") == view_menu.index("&Reset Layout") - 1


def test_a_close_check_can_keep_the_window_open(qtbot: object, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    asked: list[bool] = []

    def refuse() -> bool:
        asked.append(True)
        return False

    window.add_close_check(refuse)
    assert not window.close() and asked == [True]
    window.remove_close_check(refuse)
    assert window.close()
