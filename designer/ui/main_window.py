"""The main window: the canvas in the middle, the panels in docks, the menus and files.

`MainWindow` composes the views of one `Document` and wires them: the palette
adds layers, the diagnostics list selects nodes. It owns the file workflow
(New, Open, Save, recent files, the prompt before unsaved changes are lost,
code export) and implements `WindowServices` for the features installed in it
(blocks, custom layers, inspection). The autosave and the recovery of a
session that did not close cleanly are designer.ui.recovery's. Dialogs go
through small methods (`confirm_discard`, `offer_recovery`, `ask_open_path`...)
that tests replace.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QToolButton,
    QWidget,
)

from designer.catalog.spec import Catalog, LayerSpec
from designer.graph import project
from designer.graph.errors import ProjectError
from designer.graph.model import ModelGraph
from designer.ui.canvas import CanvasEditor, GraphScene, GraphView
from designer.ui.custom_layers import install_custom_layers
from designer.ui.document import Document
from designer.ui.engine_client import EngineClient, EngineSync
from designer.ui.examples import is_example
from designer.ui.groups_ui import install_group_actions
from designer.ui.help import install_help_menu
from designer.ui.lambda_consent import LambdaConsent, is_lambda_refusal
from designer.ui.panels.code_view import CodeView
from designer.ui.panels.diagnostics import DiagnosticsView
from designer.ui.panels.history import HistoryView
from designer.ui.panels.inspection import install_inspection
from designer.ui.panels.inspector import InspectorView
from designer.ui.panels.palette import PaletteView
from designer.ui.panels.summary import SummaryView
from designer.ui.panels.training import TrainingView
from designer.ui.panels.training_config import TrainingConfigView
from designer.ui.recovery import AUTOSAVE_IDLE_MS, Recovery, modified_time, recovery_folder
from designer.ui.theme import THEME_CHOICES, apply_theme
from designer.ui.training_client import TrainingClient
from designer.ui.window_layout import DockLayout

APP_NAME = "Keras Designer"
ORGANISATION = "keras-designer"
RECENT_LIMIT = 10
MESSAGE_MS = 8000
PROJECT_FILTER = "Keras designs (*.json);;All files (*)"


# -------------------------------------------------------------------- window
class MainWindow(QMainWindow):
    """One design: canvas, palette, inspector, diagnostics, summary, code and history."""

    def __init__(
        self,
        document: Document,
        client: EngineClient | None = None,
        settings: QSettings | None = None,
        recovery_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.document, self.client = document, client
        self.settings = settings if settings is not None else QSettings(ORGANISATION, APP_NAME)
        self.catalog_known = len(document.catalog) > 1  # the disk cache's copy will do for most files
        self.engine_catalog_known = False  # the engine's, with the library and custom layers
        self._waiting: list[Callable[[], object]] = []  # what each returns is ignored
        # import requests in flight: the file each imports, and the undo index when it was asked
        self._imports: dict[int, tuple[Path, int]] = {}
        self._busy: set[str] = set()  # what is under way ("engine", "import"...): the busy bar shows
        self.setAcceptDrops(True)
        self.theme_choice = str(self.settings.value("theme", "system"))
        self.scene = GraphScene(document, apply_theme(_application(), self.theme_choice))
        self.editor = CanvasEditor(document, self)
        self.view = GraphView(self.scene, self.editor)
        self.setCentralWidget(self.view)
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._connect()
        self._close_checks: list[Callable[[], bool]] = []
        self.custom_layers = install_custom_layers(self)
        self.lambda_consent = LambdaConsent(self, document, self.reanalyze)
        self.inspector.expression_typed.connect(self.lambda_consent.trust_typed)
        self.block_library = install_group_actions(self, self.view, self.editor)
        self.inspection = install_inspection(
            self, self.scene, self.summary, self.training, self.training_client
        )
        self.help_actions = install_help_menu(self, APP_NAME)
        self.recovery = Recovery(self, self.custom_layers, recovery_dir or recovery_folder(), self)
        self.recovery.recovered.connect(self._update_title)
        if self.recovery.files.problem:
            self.show_message(f"Autosave is off: {self.recovery.files.problem}. Open and Save still work.")
        self._update_title()
        self._arrange_docks()

    def _arrange_docks(self) -> None:
        """The default layout for the screen's size, then the one saved at the last close, if any.
        Docks first: until they are stacked, their minimum widths add up past a small screen's."""
        self.dock_layout = DockLayout(self, self.docks, self.settings)
        self.dock_layout.arrange_default()
        screen = QGuiApplication.primaryScreen()
        if screen is not None:  # the whole screen (app.run maximises it): people live in it for hours
            self.resize(screen.availableGeometry().size())
            self.move(screen.availableGeometry().topLeft())
        else:
            self.resize(1400, 880)
        self.dock_layout.fit_sizes()
        self.dock_layout.restore()

    # ---------------------------------------------------------------- layout
    def _build_docks(self) -> None:
        document = self.document
        self.palette_view = PaletteView(document)
        self.inspector = InspectorView(document)
        self.diagnostics = DiagnosticsView(document)
        self.summary = SummaryView(document)
        self.code = CodeView(document)
        self.history = HistoryView(document)
        self.training_client = TrainingClient(self)
        self.training = TrainingView(document, self.training_client)
        self.training.set_engine(self.client if hasattr(self.client, "answered") else None)
        self.training_config = TrainingConfigView(document)
        left, right, bottom = (
            Qt.DockWidgetArea.LeftDockWidgetArea,
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        self.docks = {
            "palette": self._dock("Layers", self.palette_view, left),
            "inspector": self._dock("Inspector", self.inspector, right),
            "diagnostics": self._dock("Problems", self.diagnostics, bottom),
            "summary": self._dock("Summary", self.summary, bottom),
            "code": self._dock("Code", self.code, bottom),
            "history": self._dock("History", self.history, bottom),
            "training": self._dock("Training", self.training, bottom),
            "training_config": self._dock("Training Setup", self.training_config, right),
        }

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        """A dock for `widget`; `DockLayout.arrange_default` decides where it finally sits."""
        return self._new_dock(f"{title.lower()}_dock", title, widget, area)

    def _new_dock(
        self, object_name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # ------------------------------------------------ services (WindowServices)
    def add_dock(
        self,
        name: str,
        title: str,
        widget: QWidget,
        area: Qt.DockWidgetArea,
        tab_with: str | None = None,
    ) -> QDockWidget:
        """A dock named `name` for `widget`, tabbed behind the dock `tab_with` when it is there."""
        dock = self._new_dock(f"{name}_dock", title, widget, area)
        if tab_with in self.docks:
            self.tabifyDockWidget(self.docks[tab_with], dock)
        self.docks[name] = dock
        return dock

    def dock(self, name: str) -> QDockWidget | None:
        return self.docks.get(name)

    def add_actions(self, menu: str, actions: Mapping[str, QAction], before: QAction | None = None) -> None:
        """Named actions in the menu titled `menu`, set apart by a separator: appended after one,
        or inserted before `before` with one between them and it."""
        target = self.menu(menu)
        if before is None:
            target.addSeparator()
            target.addActions(list(actions.values()))
        else:
            target.insertActions(before, list(actions.values()))
            target.insertSeparator(before)
        self.menu_actions.update(actions)

    def add_menu(self, menu: QMenu, before: str | None = None) -> None:
        bar = self.menuBar()
        titled = next((a for a in bar.actions() if before is not None and a.text() == before), None)
        if titled is not None:
            bar.insertMenu(titled, menu)
        else:
            bar.addMenu(menu)

    def menu(self, title: str) -> QMenu:
        for action in self.menuBar().actions():
            found = action.menu()
            if action.text() == title and isinstance(found, QMenu):
                return found
        raise LookupError(f"The window has no {title} menu.")

    def action(self, name: str) -> QAction | None:
        return self.menu_actions.get(name)

    def add_close_check(self, check: Callable[[], bool]) -> None:
        self._close_checks.append(check)

    def remove_close_check(self, check: Callable[[], bool]) -> None:
        if check in self._close_checks:
            self._close_checks.remove(check)

    def reanalyze(self) -> None:
        sync = self.findChild(EngineSync)
        if sync is not None:
            sync.analyze_now()

    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence.StandardKey | str | list[QKeySequence] | None = None,
        canvas: bool = False,
    ) -> QAction:
        """An action; `canvas` ones answer their shortcut only while the canvas has the focus."""
        action = QAction(text, self)
        action.triggered.connect(lambda _checked=False: slot())
        if isinstance(shortcut, list):
            action.setShortcuts(shortcut)
        elif shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if canvas:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.view.addAction(action)
        return action

    def _build_actions(self) -> None:
        keys = QKeySequence.StandardKey
        stack = self.document.undo_stack
        self.menu_actions: dict[str, QAction] = {
            "new": self._action("&New", self.new_design, keys.New),
            "open": self._action("&Open…", self.open_dialog, keys.Open),
            "save": self._action("&Save", self.save, keys.Save),
            "save_as": self._action("Save &As…", self.save_as, keys.SaveAs),
            "export": self._action("&Export Code…", self.export_code, "Ctrl+E"),
            "import": self._action("&Import Keras Model…", self.import_dialog, "Ctrl+I"),
            "quit": self._action("&Quit", self.close, keys.Quit),
            "undo": stack.createUndoAction(self, "&Undo"),
            "redo": stack.createRedoAction(self, "&Redo"),
            "cut": self._action("Cu&t", self.view.cut_selection, keys.Cut, canvas=True),
            "copy": self._action("&Copy", self.view.copy_selection, keys.Copy, canvas=True),
            "paste": self._action("&Paste", self.view.paste, keys.Paste, canvas=True),
            "duplicate": self._action("D&uplicate", self.view.duplicate_selection, "Ctrl+D", canvas=True),
            "delete": self._action("&Delete", self.view.delete_selection, _delete_keys(), canvas=True),
            "select_all": self._action("Select &All", self.view.select_all, keys.SelectAll, canvas=True),
            "toggle_output": self._action("&Mark as Model Output", self.toggle_output, "Ctrl+Shift+M"),
            "quick_add": self._action("Add &Layer…", self._quick_add_at_centre, "Ctrl+Shift+A"),
            "fit": self._action("&Fit to View", self.view.fit_to_view, "Ctrl+0"),
            "zoom_in": self._action("Zoom &In", self.view.zoom_in, keys.ZoomIn),
            "zoom_out": self._action("Zoom &Out", self.view.zoom_out, keys.ZoomOut),
            "layout": self._action("&Auto-layout", self.editor.auto_layout, "Ctrl+L"),
        }
        self.menu_actions["undo"].setShortcuts(QKeySequence.keyBindings(keys.Undo))
        self.menu_actions["redo"].setShortcuts(_with_ctrl_y(QKeySequence.keyBindings(keys.Redo)))
        self.menu_actions["reset_layout"] = self._action("&Reset Layout", self.reset_layout)

    def _menu_actions(self, *names: str) -> list[QAction]:
        return [self.menu_actions[name] for name in names]

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.menu_actions["new"], self.menu_actions["open"]])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addActions(self._menu_actions("save", "save_as", "import", "export"))
        file_menu.addSeparator()
        file_menu.addAction(self.menu_actions["quit"])
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.menu_actions["undo"], self.menu_actions["redo"]])
        edit_menu.addSeparator()
        edit_menu.addActions(self._menu_actions("cut", "copy", "paste", "duplicate", "delete"))
        edit_menu.addSeparator()
        edit_menu.addActions(self._menu_actions("select_all", "toggle_output", "quick_add"))
        training_menu = bar.addMenu("&Training")
        for text, slot, shortcut in (
            ("&Start", self.training.start, "F5"),
            ("S&top (end of the batch)", self.training.stop, "Shift+F5"),
            ("&Kill", self.training.kill, None),
            ("&Resume", self.training.resume, None),
            ("Check &Data", self.training_config.check_data, None),
        ):
            training_menu.addAction(self._action(text, slot, shortcut))
        view_menu = bar.addMenu("&View")
        view_menu.addActions(self._menu_actions("fit", "zoom_in", "zoom_out", "layout"))
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addAction(self.menu_actions["reset_layout"])
        view_menu.addSeparator()
        self._build_theme_menu(view_menu.addMenu("&Theme"))

    def _build_theme_menu(self, menu: Any) -> None:
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for choice in THEME_CHOICES:
            action = QAction(choice.capitalize() if choice != "system" else "Follow the System", self)
            action.setCheckable(True)
            action.setChecked(choice == self.theme_choice)
            action.triggered.connect(lambda _checked=False, c=choice: self.set_theme(c))
            group.addAction(action)
            menu.addAction(action)
            self.theme_actions[choice] = action

    def _build_status_bar(self) -> None:
        self.engine_label = QLabel("Engine off")
        self.engine_progress = QProgressBar(self)
        self.engine_progress.setRange(0, 0)  # busy: the engine says when it is ready, not how far it is
        self.engine_progress.setMaximumWidth(90)
        self.engine_progress.setTextVisible(False)
        self.engine_progress.hide()
        self.totals_label = QLabel("")
        self.problems_button = QToolButton(self)
        self.problems_button.setAutoRaise(True)
        self.problems_button.setToolTip("Show the Problems list")
        self.problems_button.clicked.connect(lambda _checked=False: self.bring_forward("diagnostics"))
        self.statusBar().addPermanentWidget(self.totals_label)
        self.statusBar().addPermanentWidget(self.problems_button)
        self.statusBar().addPermanentWidget(self.engine_progress)
        self.statusBar().addPermanentWidget(self.engine_label)
        self._update_problems()
        if self.client is not None:
            self._engine_status(
                "Engine ready" if getattr(self.client, "is_ready", False) else "Engine starting..."
            )

    def _connect(self) -> None:
        document = self.document
        self.palette_view.add_requested.connect(self.add_layer_at_centre)
        self.diagnostics.node_activated.connect(self.show_node)
        self.summary.node_activated.connect(self.show_node)
        self.diagnostics.place_fix = self.inspector.place_fix = self.editor.room_for  # fixes make room
        self.code.export_requested.connect(self.export_code)
        self.code.exported.connect(self._exported)
        self.code.export_failed.connect(self._export_failed)
        if self.client is not None and hasattr(self.client, "imported"):
            self.client.imported.connect(self._imported)
            self.client.request_failed.connect(self._import_failed)
        self.editor.message.connect(self.show_message)
        document.undo_stack.cleanChanged.connect(self._clean_changed)
        document.path_changed.connect(self._update_title)
        document.project_replaced.connect(self._project_replaced)
        document.results_changed.connect(self._update_totals)
        document.results_changed.connect(self._update_problems)
        hints = QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.connect(self._follow_system_theme)
        if self.client is not None:
            self.client.status_changed.connect(self._engine_status)
            self.client.crashed.connect(self._engine_crashed)
        for name, panel in (("training", self.training), ("training_config", self.training_config)):
            panel.wants_attention.connect(lambda name=name: self.bring_forward(name))
            panel.message.connect(self.show_message)

    # --------------------------------------------------------------- catalog
    def set_catalog(self, catalog: Catalog) -> None:
        """The engine's catalog arrived: fill the palette, then do what waited for it (opening a file)."""
        self.document.set_catalog(catalog)
        self.catalog_known = self.engine_catalog_known = True
        waiting, self._waiting = self._waiting, []
        for callback in waiting:
            callback()

    def when_catalog_known(self, callback: Callable[[], object]) -> None:
        if self.catalog_known:
            callback()
        else:
            self._waiting.append(callback)

    # ---------------------------------------------------------------- canvas
    def add_layer_at_centre(self, key: str) -> str | None:
        return self.editor.add_layer(
            key, self._free_spot(self.view.mapToScene(self.view.viewport().rect().center()))
        )

    def _free_spot(self, centre: QPointF) -> QPointF:
        """The centre, moved down until no node sits there (repeated adds do not pile up)."""
        spot = QPointF(centre)
        while self.scene.node_at(spot, self.view.transform()) is not None:
            spot += QPointF(24, 36)
        return spot

    def _quick_add_at_centre(self) -> None:
        self.view.open_quick_add(self.view.quick_add_position(), "")

    def toggle_output(self) -> None:
        selected = self.scene.selected_node_ids()
        if len(selected) != 1:
            self.show_message("Select one node to mark (or unmark) as a model output.")
            return
        self.editor.toggle_output(selected[0])

    def show_node(self, node_id: str) -> None:
        self.scene.select_nodes([node_id])
        self.view.centre_on_node(node_id)

    def _engine_status(self, text: str) -> None:
        """The engine's state; while it starts, a busy bar and a word on what waits for it."""
        starting = text.startswith("Engine starting")
        self.engine_label.setText("Engine starting… shapes appear when it is ready" if starting else text)
        self.set_busy("engine", starting)

    def set_busy(self, reason: str, busy: bool) -> None:
        """The status bar's busy bar runs while anything that takes time is under way."""
        (self._busy.add if busy else self._busy.discard)(reason)
        self.engine_progress.setVisible(bool(self._busy))
        self.engine_progress.setToolTip(", ".join(sorted(self._busy)))

    def _engine_crashed(self, report: str) -> None:
        self.show_message(report.splitlines()[0] if report else "The engine stopped")

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, MESSAGE_MS)

    def _update_totals(self) -> None:
        total = sum(result.params for result in self.document.results.values())
        layers = len(self.document.graph)
        self.totals_label.setText(f"{plural(layers, 'layer')} · {total:,} params")

    def _update_problems(self) -> None:
        """The status bar's count of problems: a click opens the list."""
        errors = sum(1 for d in self.document.diagnostics if d.is_error)
        warnings = len(self.document.diagnostics) - errors
        parts = [f"✖ {plural(errors, 'error')}"] if errors else []
        parts += [f"⚠ {plural(warnings, 'warning')}"] if warnings else []
        self.problems_button.setText(" · ".join(parts) if parts else "✓ No problems")
        font = self.problems_button.font()
        font.setBold(errors > 0)
        self.problems_button.setFont(font)

    # ---------------------------------------------------------------- docks
    def bring_forward(self, name: str, height: int | None = None) -> None:
        """Show a panel with its tab in front (the panel that shows an action's result), `height`
        pixels high if given."""
        dock = self.docks.get(name)
        if dock is None:
            return
        dock.show()
        dock.raise_()
        if height is not None:
            self.resizeDocks([dock], [height], Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        self.dock_layout.reset()

    # ----------------------------------------------------------------- theme
    def set_theme(self, choice: str) -> None:
        self.theme_choice = choice
        self.settings.setValue("theme", choice)
        self.scene.set_colors(apply_theme(_application(), choice))
        self.theme_actions[choice].setChecked(True)

    def _follow_system_theme(self, _scheme: object = None) -> None:
        if self.theme_choice == "system":
            self.set_theme("system")

    # ----------------------------------------------------------------- files
    def _project_replaced(self) -> None:
        if self._imports:  # an import still on its way would replace the design now open
            self._imports.clear()
            self.set_busy("import", False)
            self.statusBar().clearMessage()
        self._update_totals()
        self._update_problems()
        QTimer.singleShot(0, self.view.show_design)

    def _update_title(self, _path: object = None) -> None:
        path = self.document.path
        self.setWindowTitle(f"{path.name if path else 'Untitled'}[*] — {APP_NAME}")
        self.setWindowModified(self.document.is_dirty)

    def new_design(self) -> None:
        if self.confirm_discard():
            self.document.replace(project.Project(ModelGraph("model")), None)
            self.recovery.discard()

    # ---------------------------------------------------------------- import
    def import_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path = self.ask_import_path()
        if path is not None:
            self.import_path(path)

    def import_path(self, path: Path) -> bool:
        """Ask the engine to import the Keras model in the file `path` (always a file, whatever its
        name: never module:function); the design is replaced when it answers. A file that holds
        a Lambda is imported again once the person consents to load its code."""
        if self.client is None or not hasattr(self.client, "import_source"):
            self.report_error("Cannot import", "The Keras engine is not running.")
            return False
        self._request_import(Path(path), self.document.undo_stack.index(), lambdas=False)
        return True

    def _request_import(self, path: Path, edits: int, *, lambdas: bool) -> None:
        """Send the import of `path` to the engine; `edits`: the undo index when the person asked.
        `lambdas`: they consented to load its Lambda layers' code (asked when the engine refused)."""
        if self.client is None:
            return
        weights_dir = imports_folder() / path.stem
        source = str(path.resolve())
        if lambdas:
            request = self.client.import_source(source, str(weights_dir), lambdas=True)
        else:
            request = self.client.import_source(source, str(weights_dir))
        self._imports[request] = (path, edits)
        self.set_busy("import", True)
        self.statusBar().showMessage(f"Importing {path.name}…")  # stays until the engine answers

    def _imported(self, request: int, answer: dict[str, Any]) -> None:
        asked = self._imports.pop(request, None)
        if asked is None:
            return
        self.set_busy("import", bool(self._imports))
        source, edits = asked
        if self.document.undo_stack.index() != edits and not self.confirm_discard():
            self.show_message(f"The import of {source.name} was dropped: the design was edited meanwhile.")
            return
        catalog = self.document.catalog.merged([LayerSpec.from_dict(s) for s in answer["specs"]])
        try:
            loaded = project.from_dict(answer["project"], catalog.ports_of, str(source))
        except ProjectError as error:
            self.report_error("Cannot import the model", str(error))
            return
        self.document.set_catalog(catalog)
        self.document.replace(loaded, None)
        for message in answer.get("messages", []):
            self.show_message(message)
        self.show_message(f"Imported {source.name}: {len(loaded.graph)} layers")

    def _import_failed(self, request: int, message: str) -> None:
        asked = self._imports.pop(request, None)
        if asked is not None:
            self.set_busy("import", bool(self._imports))
            self.statusBar().clearMessage()
            if is_lambda_refusal(message) and self.lambda_consent.confirm_file(asked[0]):
                self._request_import(*asked, lambdas=True)
                return
            self.report_error("Cannot import the model", f"{asked[0]}: {message}")

    def ask_import_path(self) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self, "Import a Keras model", self._folder(), IMPORT_FILTER)
        return Path(name) if name else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if _dropped_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        files = _dropped_files(event.mimeData())
        if not files or not self.confirm_discard():
            return
        event.acceptProposedAction()
        path = files[0]
        if path.suffix == ".keras":
            self.import_path(path)
        else:
            self.open_path(path)

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path = self.ask_open_path()
        if path is not None:
            self.open_path(path)

    def open_path(self, path: Path) -> bool:
        """Show the design in `path` once the catalog is known; a bad file is reported, nothing changes."""
        if not self.catalog_known:
            self.show_message(f"Opening {Path(path).name} once the layer catalog is loaded…")
            self._waiting.append(lambda: self.open_path(path) and None)
            return True
        if not self.custom_layers.prepare_open(Path(path), lambda: self.open_path(path) and None):
            return True  # opens once the engine has loaded its custom layers
        try:
            self.document.open(Path(path))
        except ProjectError as error:
            if "unknown layer type" in error.problem and not self.engine_catalog_known:
                # The cached catalog has Keras' layers only: wait for the engine's full one.
                self.catalog_known = False
                return self.open_path(path)
            self.report_error("Cannot open the design", str(error))
            return False
        self.recovery.discard()
        if is_example(path):  # an untitled copy: Save asks where, the installed file stays as it is
            self.document.set_path(None)
            self.show_message(f"Opened the example {Path(path).name} as an untitled copy")
            return True
        self.add_recent(Path(path))
        self.show_message(f"Opened {path}")
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        path = self.ask_save_path()
        return self._save_to(path) if path is not None else False

    def _save_to(self, path: Path) -> bool:
        try:
            saved = self.document.save(path)  # custom layers named relative to the file's folder
        except OSError as error:
            self.report_error("Cannot save the design", f"{path}: {error.strerror or error}")
            return False
        self.recovery.discard()
        self.add_recent(saved)
        self._update_title()
        self.show_message(f"Saved {saved}")
        return True

    def export_code(self) -> bool:
        """Write the model as Python, in the Code panel's style, to a file the person picks; the
        code is generated and written off the GUI thread (`_exported` tells how it went)."""
        errors = [d for d in self.document.diagnostics if d.is_error]
        if errors:
            self.report_error(
                "Cannot export code", f"The design has {len(errors)} error(s): {errors[0].message}"
            )
            return False
        path = self.ask_export_path()
        if path is None or not self.code.start_export(path):
            return False
        self.set_busy("export", True)
        self.statusBar().showMessage(f"Exporting {path.name}…")
        return True

    def _exported(self, path: str) -> None:
        self.set_busy("export", False)
        self.show_message(f"Exported {path}")

    def _export_failed(self, message: str) -> None:
        self.set_busy("export", False)
        self.statusBar().clearMessage()
        self.report_error("Cannot export code", message)

    # ---------------------------------------------------------- recent files
    def recent_files(self) -> list[Path]:
        value = self.settings.value("recent_files", [])
        items = [value] if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else []
        return [Path(item) for item in items if item]

    def add_recent(self, path: Path) -> None:
        resolved = Path(path).resolve()
        recent = [resolved, *(p for p in self.recent_files() if p != resolved)][:RECENT_LIMIT]
        self.settings.setValue("recent_files", [str(p) for p in recent])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(path.name, partial(self._open_recent, path))
            action.setToolTip(str(path))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent files").setEnabled(False)

    def _open_recent(self, path: Path) -> None:
        if self.confirm_discard():
            self.open_path(path)

    # --------------------------------------------------------------- prompts
    def confirm_discard(self) -> bool:
        """Ask before unsaved changes are lost: Save (then go on), Discard, or Cancel."""
        if not self.document.is_dirty:
            return True
        answer = QMessageBox.question(
            self,
            APP_NAME,
            "The design has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def offer_recovery(self, path: Path) -> bool:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(modified_time(path)))
        answer = QMessageBox.question(
            self,
            APP_NAME,
            f"Keras Designer did not close cleanly. Recover the unsaved design autosaved at {when}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    def report_error(self, title: str, text: str) -> None:
        print(f"{title}: {text}", file=sys.stderr)
        QMessageBox.warning(self, title, text)

    def ask_open_path(self) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self, "Open a design", self._folder(), PROJECT_FILTER)
        return Path(name) if name else None

    def ask_save_path(self) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self, "Save the design", self._folder(), PROJECT_FILTER)
        if not name:
            return None
        path = Path(name)
        return path if path.suffix else path.with_suffix(".json")

    def ask_export_path(self) -> Path | None:
        title = f"Export the model code ({self.code.code_style})"
        name, _ = QFileDialog.getSaveFileName(self, title, str(self.code.suggested_path()), "Python (*.py)")
        return Path(name) if name else None

    def _folder(self) -> str:
        path = self.document.path
        return str(path.parent) if path else str(Path.home())

    # -------------------------------------------------------------- recovery
    def check_recovery(self) -> bool:
        """Offer the design of a session that died; True when one is being recovered."""
        return self.recovery.offer_back(self.offer_recovery, self.when_catalog_known)

    def set_autosave_interval(self, milliseconds: int, idle_milliseconds: int = AUTOSAVE_IDLE_MS) -> None:
        """Autosave `idle_milliseconds` after the last edit, and at least every `milliseconds`."""
        self.recovery.set_interval(milliseconds, idle_milliseconds)

    def _clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not all(check() for check in self._close_checks) or not self.confirm_discard():
            event.ignore()
            return
        if self.training_client.running:
            self.training_client.shutdown()  # a run in progress ends with the window
        self.recovery.close()
        self.dock_layout.save()
        event.accept()


IMPORT_FILTER = "Keras models (*.keras *.h5 *.json);;All files (*)"
DROPPABLE = (".keras", ".json")


def imports_folder() -> Path:
    """Where imported models' weights go (next to the recovery files)."""
    return recovery_folder().parent / "imports"


def _dropped_files(mime: QMimeData) -> list[Path]:
    """Local .keras models and .json designs among the dropped URLs."""
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
    return [p for p in paths if p.suffix in DROPPABLE]


def plural(count: int, noun: str) -> str:
    """ "1 error", "2 errors", "0 layers"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _with_ctrl_y(bindings: list[QKeySequence]) -> list[QKeySequence]:
    """Redo answers Ctrl+Y too, as on Windows and in most editors, whatever the platform's standard."""
    ctrl_y = QKeySequence("Ctrl+Y")
    return bindings if ctrl_y in bindings else [*bindings, ctrl_y]


def _delete_keys() -> list[QKeySequence]:
    return [QKeySequence(QKeySequence.StandardKey.Delete), QKeySequence(Qt.Key.Key_Backspace)]


def _application() -> QApplication:
    application = QApplication.instance()
    assert isinstance(application, QApplication), "MainWindow needs a QApplication"
    return application
