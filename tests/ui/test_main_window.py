"""The main window without the engine: files, the unsaved-changes prompt, recent files, autosave, docks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QPoint, QPointF, QSettings, Qt, Signal
from test_canvas import small_catalog

from designer.catalog.spec import Catalog
from designer.engine.results import NodeResult
from designer.graph import project
from designer.graph.model import Edge
from designer.ui.document import Document
from designer.ui.main_window import MainWindow
from designer.ui.recovery import RecoveryFiles

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "digits_cnn.json"


class FakeClient(QObject):
    """The engine client's signals, answering nothing by itself."""

    status_changed = Signal(str)
    request_failed = Signal(int, str)
    crashed = Signal(str)


def make_window(
    qtbot: object, tmp_path: Path, catalog: Catalog | None = None, client: object = None
) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    document = Document(catalog if catalog is not None else small_catalog())
    window = MainWindow(document, client, settings=settings, recovery_dir=tmp_path / "recovery")  # type: ignore[arg-type]
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.report_error = lambda title, text: pytest.fail(f"unexpected error box: {title}: {text}")  # type: ignore[method-assign]
    window.confirm_discard = lambda: True  # type: ignore[method-assign]
    window.offer_recovery = lambda path: False  # type: ignore[method-assign]
    window.show()
    return window


@pytest.fixture
def window(qtbot: object, tmp_path: Path) -> MainWindow:
    return make_window(qtbot, tmp_path)


def test_title_shows_the_file_and_the_unsaved_marker(window: MainWindow, tmp_path: Path) -> None:
    assert window.windowTitle() == "Untitled[*] — Keras Designer" and not window.isWindowModified()
    window.add_layer_at_centre("Dense")
    assert window.isWindowModified()
    target = tmp_path / "design.json"
    window.ask_save_path = lambda: target  # type: ignore[method-assign]
    assert window.save()
    assert window.windowTitle() == "design.json[*] — Keras Designer" and not window.isWindowModified()
    assert project.load(target, window.document.catalog.ports_of).graph == window.document.graph
    window.document.undo_stack.undo()
    assert window.isWindowModified()


def test_new_asks_before_unsaved_changes_are_lost(window: MainWindow) -> None:
    window.add_layer_at_centre("Dense")
    answers = [False, True]
    asked: list[bool] = []
    window.confirm_discard = lambda: asked.append(True) or (answers.pop(0) if answers else True)  # type: ignore[method-assign]
    window.new_design()
    assert len(window.document.graph) == 1
    window.new_design()
    assert len(window.document.graph) == 0 and len(asked) == 2
    assert not window.isWindowModified()


def test_closing_with_changes_can_be_cancelled(window: MainWindow) -> None:
    window.add_layer_at_centre("Dense")
    window.confirm_discard = lambda: False  # type: ignore[method-assign]
    assert not window.close()
    assert window.isVisible()
    window.confirm_discard = lambda: True  # type: ignore[method-assign]
    assert window.close()
    assert not window.recovery.files.lock.exists()


def test_opening_a_bad_file_reports_it_and_keeps_the_design(window: MainWindow, tmp_path: Path) -> None:
    window.add_layer_at_centre("Dense")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format_version": 1, "name": "x", "nodes": [{"id": 3}]}', encoding="utf-8")
    reports: list[str] = []
    window.report_error = lambda title, text: reports.append(text)  # type: ignore[method-assign]
    assert not window.open_path(bad)
    assert reports and "bad.json" in reports[0] and "$.nodes[0]" in reports[0]
    assert len(window.document.graph) == 1


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[" * 100_000 + "]" * 100_000, "$: not JSON this designer reads: nested more than 100 levels"),
        ('{"format_version": 1, "imported_specs": [{"key": "k"}]}', "$.imported_specs[0].class_name"),
        ('{"format_version": 1, "x": ' + "9" * 5000 + "}", "$: not JSON this designer reads"),
    ],
)
def test_a_damaged_file_is_a_dialog_not_an_empty_canvas(
    window: MainWindow, tmp_path: Path, text: str, where: str
) -> None:
    window.add_layer_at_centre("Dense")
    damaged = tmp_path / "damaged.json"
    damaged.write_text(text, encoding="utf-8")
    reports: list[str] = []
    window.report_error = lambda title, text: reports.append(f"{title}: {text}")  # type: ignore[method-assign]
    assert not window.open_path(damaged)
    [report] = reports
    assert report.startswith(f"Cannot open the design: {damaged}: ") and where in report
    assert "\n" not in report and len(window.document.graph) == 1


def test_custom_layers_that_is_not_a_list_is_a_dialog(window: MainWindow, tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["custom_layers"] = 7
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(data), encoding="utf-8")
    reports: list[str] = []
    window.report_error = lambda title, text: reports.append(text)  # type: ignore[method-assign]
    assert not window.open_path(damaged)
    assert reports == [f"{damaged}: $.custom_layers: expected a list, got int"]


def test_open_remembers_recent_files(window: MainWindow, tmp_path: Path) -> None:
    design = tmp_path / "digits_cnn.json"
    design.write_bytes(EXAMPLE.read_bytes())
    assert window.open_path(design)
    assert window.document.path == design and len(window.document.graph) == 6
    assert window.recent_files()[0] == design.resolve()
    window._fill_recent_menu()
    assert [action.text() for action in window.recent_menu.actions()] == ["digits_cnn.json"]


def test_an_example_opens_as_an_untitled_copy_that_save_never_overwrites(
    window: MainWindow, tmp_path: Path
) -> None:
    before = EXAMPLE.read_bytes()
    assert window.open_path(EXAMPLE)
    assert window.document.path is None and len(window.document.graph) == 6
    assert window.windowTitle().startswith("Untitled")
    assert "untitled copy" in window.statusBar().currentMessage()
    window.add_layer_at_centre("Dense")
    asked: list[bool] = []
    target = tmp_path / "mine.json"
    window.ask_save_path = lambda: asked.append(True) or target  # type: ignore[method-assign]
    assert window.save()
    assert asked and target.exists() and EXAMPLE.read_bytes() == before


def test_a_file_opened_before_the_catalog_waits_for_it(qtbot: object, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path, catalog=Catalog())
    assert not window.catalog_known
    window.open_path(EXAMPLE)
    assert len(window.document.graph) == 0
    window.set_catalog(small_catalog())
    assert len(window.document.graph) == 6
    window.palette_view.set_filter("Dense")
    assert window.palette_view.visible_keys() == ["Dense"]


def test_palette_requests_add_at_the_view_centre_without_piling_up(window: MainWindow) -> None:
    window.palette_view.add_requested.emit("Dense")
    window.palette_view.add_requested.emit("Dense")
    items = list(window.scene.node_items.values())
    assert len(items) == 2 and items[0].pos() != items[1].pos()
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    assert items[0].sceneBoundingRect().contains(centre)
    assert window.document.selection == [items[1].node_id]


def test_diagnostics_activation_selects_the_node(window: MainWindow) -> None:
    window.open_path(EXAMPLE)
    window.diagnostics.node_activated.emit("n4")
    assert window.scene.selected_node_ids() == ["n4"] and window.document.selection == ["n4"]


def test_inspector_edits_are_checked_by_the_engine(qtbot: object, tmp_path: Path) -> None:
    client = FakeClient()
    window = make_window(qtbot, tmp_path, client=client)
    node_id = window.add_layer_at_centre("Dense")
    assert node_id is not None and window.inspector.node_id == node_id
    window.inspector.editor("units").spin_box.setValue(3)  # type: ignore[union-attr]
    assert window.document.graph.node(node_id).params["units"] == 3  # no second request: no check_params
    # the engine's analysis of the edit brings Keras' complaint with the shapes
    window.document.set_results(
        {node_id: NodeResult(param_errors=(("units", "units must be positive"),))}, []
    )
    assert window.inspector.error_text("units") == "units must be positive"
    client.status_changed.emit("Engine ready")
    assert window.engine_label.text() == "Engine ready"


def test_mark_output_action_marks_the_selected_node(window: MainWindow) -> None:
    node_id = window.add_layer_at_centre("Dense")
    window.menu_actions["toggle_output"].trigger()
    assert [o.node for o in window.document.graph.outputs] == [node_id]
    assert window.scene.node_items[node_id].output_text == "dense"


def test_autosave_writes_a_recovery_file_until_the_design_is_saved(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    window.set_autosave_interval(50)
    window.add_layer_at_centre("Dense")
    qtbot.waitUntil(window.recovery.files.data.exists, timeout=3000)  # type: ignore[attr-defined]
    saved = json.loads(window.recovery.files.data.read_text(encoding="utf-8"))
    assert [node["type"] for node in saved["nodes"]] == ["Dense"]
    window.ask_save_path = lambda: tmp_path / "saved.json"  # type: ignore[method-assign]
    window.save()
    assert not window.recovery.files.data.exists()


def test_autosave_follows_shortly_after_the_edits_stop(qtbot: object, window: MainWindow) -> None:
    window.set_autosave_interval(600_000, idle_milliseconds=50)  # the periodic one is far off
    window.add_layer_at_centre("Dense")
    qtbot.waitUntil(window.recovery.files.data.exists, timeout=5000)  # type: ignore[attr-defined]


def test_autosave_comes_within_the_longest_interval_while_edits_go_on(
    qtbot: object, window: MainWindow
) -> None:
    window.set_autosave_interval(50, idle_milliseconds=600_000)  # no pause ever long enough
    window.add_layer_at_centre("Dense")
    qtbot.waitUntil(window.recovery.files.data.exists, timeout=5000)  # type: ignore[attr-defined]


def test_recovery_of_a_dead_session_is_offered_and_marks_the_design_unsaved(
    qtbot: object, tmp_path: Path
) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    folder = tmp_path / "recovery"
    folder.mkdir()
    graph = project.load(EXAMPLE, small_catalog().ports_of).graph
    graph.remove_node("n6")
    project.save(folder / "session-1-1.json", graph)
    (folder / "session-1-1.lock").write_text(json.dumps({"pid": int(dead.stdout), "source": None}))
    window = make_window(qtbot, tmp_path)
    offered: list[Path] = []
    window.offer_recovery = lambda path: offered.append(path) or True  # type: ignore[method-assign]
    assert window.check_recovery()
    assert offered == [folder / "session-1-1.json"]
    assert len(window.document.graph) == 5 and window.document.is_dirty and window.isWindowModified()
    assert not (folder / "session-1-1.json").exists()
    qtbot.waitUntil(window.recovery.files.data.exists, timeout=3000)  # type: ignore[attr-defined]


def _orphan(tmp_path: Path, data: object) -> Path:
    """A recovery file of a session whose process is gone."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    folder = tmp_path / "recovery"
    folder.mkdir(exist_ok=True)
    (folder / "session-1-1.json").write_text(json.dumps(data))
    (folder / "session-1-1.lock").write_text(json.dumps({"pid": int(dead.stdout), "source": None}))
    return folder / "session-1-1.json"


def test_a_recovered_import_brings_its_keras_ops_specs(qtbot: object, tmp_path: Path) -> None:
    spec = small_catalog()["Dense"].to_dict()
    spec.update(key="ops.add", class_name="Add", module="keras.src.ops.numpy", category="ops")
    data = project.to_dict(project.load(EXAMPLE, small_catalog().ports_of).graph)
    data["nodes"][-1]["type"] = "ops.add"
    data["imported_specs"] = [spec]
    _orphan(tmp_path, data)
    window = make_window(qtbot, tmp_path)
    window.offer_recovery = lambda path: True  # type: ignore[method-assign]
    assert window.check_recovery()
    assert window.document.graph.nodes[data["nodes"][-1]["id"]].type == "ops.add"
    assert "ops.add" in window.document.catalog


def test_a_recovery_file_that_cannot_be_read_is_reported_and_kept(qtbot: object, tmp_path: Path) -> None:
    recovery_file = _orphan(tmp_path, {"format_version": 1, "nodes": "not a list"})
    window = make_window(qtbot, tmp_path)
    errors: list[str] = []
    window.report_error = lambda title, text: errors.append(f"{title}: {text}")  # type: ignore[method-assign]
    window.offer_recovery = lambda path: True  # type: ignore[method-assign]
    window.check_recovery()
    assert errors and "Cannot recover the design" in errors[0] and str(recovery_file) in errors[0]
    assert recovery_file.exists()


def test_a_live_session_is_not_an_orphan(tmp_path: Path) -> None:
    first = RecoveryFiles(tmp_path)
    first.write({"format_version": 1}, None)
    second = RecoveryFiles(tmp_path)
    assert second.orphans() == []
    first.release()
    assert list(tmp_path.iterdir()) == [second.lock]


def test_theme_can_be_overridden(window: MainWindow) -> None:
    window.set_theme("dark")
    assert window.scene.colors.dark and window.settings.value("theme") == "dark"
    window.set_theme("light")
    assert not window.scene.colors.dark


def test_export_code_writes_the_functional_model(qtbot: object, window: MainWindow, tmp_path: Path) -> None:
    window.open_path(EXAMPLE)
    target = tmp_path / "model.py"
    window.ask_export_path = lambda: target  # type: ignore[method-assign]
    with qtbot.waitSignal(window.code.exported, timeout=60_000):  # type: ignore[attr-defined]
        assert window.export_code()
        assert window.engine_progress.isVisible()  # the busy bar while it is written
    text = target.read_text(encoding="utf-8")
    assert "layers.Conv2D(" in text and "keras.Model(" in text
    assert (
        window.statusBar().currentMessage() == f"Exported {target}" and not window.engine_progress.isVisible()
    )


def test_export_writes_the_style_shown_off_the_gui_thread(
    qtbot: object, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from designer.ui.panels import code_view

    threads: list[str] = []
    generate = code_view.generate_model

    def recording(*arguments: object) -> str:
        threads.append(threading.current_thread().name)
        return generate(*arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(code_view, "generate_model", recording)
    window.open_path(EXAMPLE)
    window.code.set_code_style("subclassed")
    target = tmp_path / "model.py"
    window.ask_export_path = lambda: target  # type: ignore[method-assign]
    window.code.export_button.click()  # the panel's button takes the same path as File > Export Code
    qtbot.waitUntil(target.exists, timeout=60_000)  # type: ignore[attr-defined]
    assert "class DigitsCnn(keras.Model)" in target.read_text(encoding="utf-8")
    assert threads and threading.main_thread().name not in threads


def test_undo_and_redo_are_in_the_edit_menu(window: MainWindow) -> None:
    first = window.editor.add_layer("Dense", QPointF(0, 0))
    second = window.editor.add_layer("Dense", QPointF(300, 0))
    assert first and second
    window.editor.connect_edge(Edge(first, 0, second, 0))
    window.menu_actions["undo"].trigger()
    assert window.document.graph.edges == []
    window.menu_actions["redo"].trigger()
    assert len(window.document.graph.edges) == 1


def test_delete_and_backspace_keys_delete_on_the_canvas(qtbot: object, window: MainWindow) -> None:
    first = window.add_layer_at_centre("Dense")
    second = window.add_layer_at_centre("Dense")
    window.activateWindow()
    window.view.setFocus()
    qtbot.waitUntil(window.view.hasFocus)  # type: ignore[attr-defined]
    window.scene.select_nodes([first])
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)  # type: ignore[attr-defined]
    assert list(window.document.graph.nodes) == [second]
    window.scene.select_nodes([second])
    qtbot.keyClick(window.view, Qt.Key.Key_Backspace)  # type: ignore[attr-defined]
    assert len(window.document.graph) == 0


def test_middle_button_drag_pans_the_canvas(qtbot: object, window: MainWindow) -> None:
    viewport = window.view.viewport()
    before = window.view.mapToScene(viewport.rect().center())
    start = viewport.rect().center()
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=start)  # type: ignore[attr-defined]
    qtbot.mouseMove(viewport, start + QPoint(120, 60))  # type: ignore[attr-defined]
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=start + QPoint(120, 60))  # type: ignore[attr-defined]
    after = window.view.mapToScene(viewport.rect().center())
    assert (before.x() - after.x(), before.y() - after.y()) == pytest.approx((120, 60), abs=2)


def test_a_file_with_library_layers_waits_for_the_engine_catalog(qtbot: object, tmp_path: Path) -> None:
    # The disk cache has Keras' layers only; the VAE example needs the library in layers/.
    from designer.catalog.keras_layers import build_catalog
    from designer.catalog.user_modules import library_specs

    keras_only = build_catalog()
    window = make_window(qtbot, tmp_path, catalog=keras_only)
    vae = EXAMPLE.parent / "vae_digits.json"
    window.open_path(vae)
    assert len(window.document.graph) == 0 and not window.catalog_known
    window.set_catalog(keras_only.merged(library_specs()))
    assert window.document.path is None and len(window.document.graph) == 8  # an example: untitled


def test_the_window_has_training_docks_and_menu(window: MainWindow) -> None:
    assert {"training", "training_config"} <= set(window.docks)
    menus = [action.text() for action in window.menuBar().actions()]
    assert "&Training" in menus
    training_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Training")
    assert [a.text() for a in training_menu.actions()][:4] == [
        "&Start",
        "S&top (end of the batch)",
        "&Kill",
        "&Resume",
    ]


# ------------------------------------------------------------ training (real runs)
RUN_TIMEOUT_MS = 120_000
FAST = {"name": "adam", "learning_rate": 0.01, "schedule": None}
DIGITS_MLP = ROOT / "resources" / "examples" / "digits_mlp.json"


@pytest.fixture
def training_window(qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    """A window with the Keras catalog and the installed digits_mlp example open; the per-user
    runs folder in tmp_path."""
    from designer.catalog.keras_layers import build_catalog

    monkeypatch.setenv("DESIGNER_RUNS_DIR", str(tmp_path / "user runs"))
    window = make_window(qtbot, tmp_path, catalog=build_catalog())
    assert window.open_path(DIGITS_MLP)
    yield window
    window.training_client.shutdown()


def configure_training(document: Document, **changes: object) -> None:
    from designer.ui.panels.training_config import SetTrainingConfig, current_config

    data = {**current_config(document).to_dict(), **changes}
    document.undo_stack.push(SetTrainingConfig(document, data, "Configure the test run"))


def training_action(window: MainWindow, text: str) -> object:
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Training")
    return next(action for action in menu.actions() if action.text() == text)


def in_front(widget: object) -> bool:
    """Whether a person sees some of the widget (a dock behind another tab is "visible" to Qt)."""
    return not widget.visibleRegion().isEmpty()  # type: ignore[attr-defined]


def run_cell(window: MainWindow, name: str, column: int) -> str:
    """A cell of a run's row in the training panel's run list."""
    model = window.training.run_model
    row = next(row for row, run in enumerate(model.runs) if run.name == name)
    return str(model.data(model.index(row, column)))


def listed(qtbot: object, window: MainWindow) -> None:
    """Wait for the training panel's run list, read off the GUI thread, to be shown."""
    qtbot.waitUntil(lambda: not window.training.listing_runs, timeout=10_000)  # type: ignore[attr-defined]


def run_status_cell(window: MainWindow, name: str) -> str:
    return run_cell(window, name, 1)


def test_training_start_shows_the_run_at_once_and_stop_says_one_epoch(
    qtbot: object, training_window: MainWindow, tmp_path: Path
) -> None:
    from designer.ui.panels.training import STARTING_TEXT

    window, view = training_window, training_window.training
    configure_training(window.document, epochs=3, batch_size=8, optimizer=FAST)
    said: list[str] = []
    view.message.connect(said.append)
    window.docks["diagnostics"].raise_()  # the Training dock is behind another tab
    qtbot.waitUntil(lambda: not in_front(view), timeout=2000)  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.training_client.started, timeout=RUN_TIMEOUT_MS) as started:  # type: ignore[attr-defined]
        training_action(window, "&Start").trigger()
        qtbot.waitUntil(lambda: in_front(view), timeout=500)  # type: ignore[attr-defined]
        assert view.status_label.text() == STARTING_TEXT
        assert window.statusBar().currentMessage() == STARTING_TEXT
    run = started.args[0]
    assert run.path.parent == tmp_path / "user runs" / "digits_mlp"  # not in the installed examples
    assert view.status_label.text() == "Starting the worker of run_0001…"
    listed(qtbot, window)
    assert run_status_cell(window, "run_0001") == "starting"

    with qtbot.waitSignal(window.training_client.finished, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: view.status_label.text() == "Training run_0001…", timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]
        assert view.progress_label.text().startswith("Epoch 1/3")  # before the first epoch ends
        assert run_status_cell(window, "run_0001") == "running"
        assert run_cell(window, "run_0001", 2) == "0/3"
        view.stop_button.click()
        assert run_status_cell(window, "run_0001") == "stopping"

    assert view.status_label.text() == "Stopped after 1 epoch (stop requested)."
    assert view.progress_label.text() == "1 of 3 epochs done"
    listed(qtbot, window)
    assert run_status_cell(window, "run_0001") == "stopped: stop requested"
    assert run_cell(window, "run_0001", 2) == "1/3"
    assert "run_0001: Stopped after 1 epoch (stop requested)." in said  # in the status bar
    assert not (DIGITS_MLP.parent / "runs").exists() and not (DIGITS_MLP.parent / "digits_mlp.runs").exists()


def test_training_panel_is_reset_when_another_design_opens(
    qtbot: object, training_window: MainWindow, tmp_path: Path
) -> None:
    window, view = training_window, training_window.training
    configure_training(window.document, epochs=1, optimizer=FAST)
    with qtbot.waitSignal(window.training_client.finished, timeout=RUN_TIMEOUT_MS) as finished:  # type: ignore[attr-defined]
        view.start_button.click()
    assert finished.args[0]["status"] == "finished", finished.args[0]
    assert "loss" in view.plots.plots and view.status_label.text().startswith("Finished after 1 epoch")

    other = tmp_path / "other.json"
    other.write_bytes(DIGITS_MLP.read_bytes())
    assert window.open_path(other)

    assert view.plots.plots == {} and view.run is None
    assert view.status_label.text() == "Ready." and view.progress_label.text() == ""
    assert view.device_label.text() == "Device: not started" and view.progress_bar.value() == 0
    assert view.run_model.rowCount() == 0  # other.json has no runs (they would be in other.runs/)
    assert not view.resume_button.isEnabled() and view.start_button.isEnabled()


def test_training_check_data_brings_its_answer_into_view(qtbot: object, training_window: MainWindow) -> None:
    window, setup = training_window, training_window.training_config
    window.docks["inspector"].raise_()  # Training Setup is behind the Inspector's tab
    qtbot.waitUntil(lambda: not in_front(setup), timeout=2000)  # type: ignore[attr-defined]
    training_action(window, "Check &Data").trigger()
    qtbot.waitUntil(lambda: in_front(setup.data.problems), timeout=2000)  # type: ignore[attr-defined]
    assert setup.data.problems.messages == ["The data fits the model."]
    assert window.statusBar().currentMessage() == "Check data: the data fits the model."


def test_training_of_the_last_design_stops_and_stays_out_of_the_new_ones_panel(
    qtbot: object, training_window: MainWindow
) -> None:
    window, view = training_window, training_window.training
    configure_training(window.document, epochs=50, optimizer=FAST)
    view.start_button.click()
    qtbot.waitUntil(lambda: view.curves.step >= 0, timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.training_client.finished, timeout=RUN_TIMEOUT_MS) as finished:  # type: ignore[attr-defined]
        window.new_design()
        assert view.status_label.text() == "The previous design's run is stopping…"
        assert view.plots.plots == {} and view.progress_label.text() == ""
    assert finished.args[0]["status"] == "stopped"  # it keeps its checkpoint and can resume
    qtbot.wait(300)  # type: ignore[attr-defined]  # a redraw's worth: its last events show nowhere
    assert view.status_label.text() == "Ready." and view.plots.plots == {}
    assert view.run_model.rowCount() == 0 and view.start_button.isEnabled()
