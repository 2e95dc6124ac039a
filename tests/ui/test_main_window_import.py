"""File > Import and dropping a .keras file: the engine imports the model, the window shows it."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from test_main_window import make_window

from designer.app import stop_engine
from designer.catalog.keras_layers import build_catalog
from designer.ui.engine_client import EngineClient
from designer.ui.main_window import MainWindow


def small_model_file(folder: Path) -> Path:
    inputs = keras.Input(shape=(6,), name="features")
    hidden = keras.layers.Dense(4, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="label")(hidden)
    path = folder / "small.keras"
    keras.Model(inputs, outputs, name="small").save(path)
    return path


@pytest.fixture(scope="module")
def client(qapp: object, tmp_path_factory: pytest.TempPathFactory) -> EngineClient:
    """One engine for the module (its start costs seconds), stopped and waited for at the end."""
    engine = EngineClient(
        cache_dir=tmp_path_factory.mktemp("cache"), request_timeout_s=180.0, analyze_timeout_s=180.0
    )
    engine.start()
    yield engine
    stop_engine(engine, grace_s=10.0)


@pytest.fixture
def window(
    qtbot: object, client: EngineClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> MainWindow:
    monkeypatch.setenv("DESIGNER_RECOVERY_DIR", str(tmp_path / "recovery"))
    qtbot.waitUntil(lambda: client.is_ready, timeout=180_000)  # type: ignore[attr-defined]
    return make_window(qtbot, tmp_path, catalog=build_catalog(), client=client)


def _wait_for_import(qtbot: object, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: len(window.document.graph) == 3, timeout=180_000)  # type: ignore[attr-defined]


def test_import_shows_the_model_as_a_new_design(qtbot: object, window: MainWindow, tmp_path: Path) -> None:
    assert window.import_path(small_model_file(tmp_path))
    assert window.engine_progress.isVisible()  # feedback while the engine imports
    assert window.statusBar().currentMessage() == "Importing small.keras…"
    _wait_for_import(qtbot, window)
    assert not window.engine_progress.isVisible()
    graph = window.document.graph
    assert [n.name for n in graph] == ["features", "hidden", "label"]
    assert [o.name for o in graph.outputs] == ["label"]
    assert window.document.path is None  # a new design: Save asks where
    weights = window.document.to_project().extra["weights"]
    assert Path(weights).name == "small.weights.h5" and Path(weights).exists()


def test_dropping_a_keras_file_on_the_window_imports_it(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(small_model_file(tmp_path)))])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(drop)
    _wait_for_import(qtbot, window)
    assert window.document.graph.node_by_name("hidden") is not None


def test_a_file_that_is_not_a_model_is_reported(qtbot: object, window: MainWindow, tmp_path: Path) -> None:
    errors: list[str] = []
    window.report_error = lambda title, text: errors.append(text)  # type: ignore[method-assign]
    bogus = tmp_path / "notes.keras"
    bogus.write_text("not a model")
    window.import_path(bogus)
    qtbot.waitUntil(lambda: bool(errors), timeout=180_000)  # type: ignore[attr-defined]
    assert "notes.keras" in errors[0] and len(window.document.graph) == 0


def test_a_picked_file_named_like_module_function_is_a_file_and_runs_nothing(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    errors: list[str] = []
    window.report_error = lambda title, text: errors.append(text)  # type: ignore[method-assign]
    marker = tmp_path / "model.py ran"
    (tmp_path / "model.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef build():\n    pass\n")
    picked = tmp_path / "model.py:build"
    picked.write_text("not a model")
    window.import_path(picked)
    qtbot.waitUntil(lambda: bool(errors), timeout=180_000)  # type: ignore[attr-defined]
    assert "expected a .keras or .h5 model file" in errors[0] and not marker.exists()


def imported_for_training(qtbot: object, window: MainWindow, tmp_path: Path) -> keras.Model:
    """An imported design with a frozen layer, saved, set up for a one-epoch run from its weights."""
    inputs = keras.Input(shape=(6,), name="features")
    hidden = keras.layers.Dense(4, activation="relu", name="hidden", trainable=False)(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="label")(hidden)
    original = keras.Model(inputs, outputs, name="frozen")
    original.save(tmp_path / "frozen.keras")
    assert window.import_path(tmp_path / "frozen.keras")
    _wait_for_import(qtbot, window)
    window.document.save(tmp_path / "frozen.json")  # its runs go beside it

    setup = window.training_config
    setup.refresh()
    assert setup.fit.initial_weights.isVisibleTo(setup) and setup.fit.initial_weights.isChecked()
    assert "frozen.weights.h5" in setup.fit.initial_weights.text()
    setup.edit(
        "Train briefly",
        lambda config: config.update(
            epochs=1,
            losses={"label": "sparse_categorical_crossentropy"},
            data={"kind": "synthetic", "task": "classification", "samples": 64, "classes": 2, "seed": 0},
        ),
    )
    return original


def test_training_an_imported_design_starts_from_its_weights(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    """The Training Setup offers the imported weights, ticked; Start has the engine write them
    for the design and the run loads them: a frozen layer ends with the imported kernel."""
    import numpy as np

    original = imported_for_training(qtbot, window, tmp_path)
    setup = window.training_config
    with qtbot.waitSignal(window.training_client.finished, timeout=300_000) as blocker:  # type: ignore[attr-defined]
        assert window.training.start() is None  # it starts once the engine has written the weights
    report = blocker.args[0]
    assert report["status"] == "finished", report
    run = window.training_client.run
    assert (run.path / "initial.weights.h5").exists()
    trained = keras.saving.load_model(run.path / "model.keras")
    np.testing.assert_array_equal(
        trained.get_layer("hidden").get_weights()[0], original.get_layer("hidden").get_weights()[0]
    )

    setup.fit.initial_weights.setChecked(False)  # one undoable edit: the next run starts fresh
    assert setup.config.initial_weights is None
    window.document.undo_stack.undo()
    assert setup.config.initial_weights is not None


def test_stop_cancels_a_start_that_waits_for_the_imported_weights(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    imported_for_training(qtbot, window, tmp_path)
    view, client = window.training, window.training.engine
    started: list[object] = []
    window.training_client.started.connect(started.append)
    with qtbot.waitSignal(client.answered, timeout=180_000):  # type: ignore[attr-defined]
        view.start_button.click()
        assert not view.start_button.isEnabled() and view.stop_button.isEnabled()
        view.stop_button.click()
        assert "Not started" in view.status_label.text()
        assert view.start_button.isEnabled() and not view.stop_button.isEnabled()
    qtbot.wait(200)  # type: ignore[attr-defined]
    assert not started and not window.training_client.running


def test_a_design_changed_while_its_weights_load_asks_for_them_again(
    qtbot: object, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from designer.training.runs import graph_hash
    from designer.ui.commands import SetParams

    imported_for_training(qtbot, window, tmp_path)
    view, client = window.training, window.training.engine
    asked: list[str] = []
    request = client.request

    def recording(op: str, fields: dict | None = None, timeout_s: float | None = None) -> int:
        if op == "design_weights":
            asked.append(graph_hash(window.document.graph))
        return request(op, fields, timeout_s=timeout_s)

    monkeypatch.setattr(client, "request", recording)
    graph = window.document.graph
    hidden = graph.node_by_name("hidden")
    assert hidden is not None
    with qtbot.waitSignal(window.training_client.finished, timeout=300_000) as blocker:  # type: ignore[attr-defined]
        view.start_button.click()
        params = {**graph.node(hidden.id).params, "units": 5}
        window.document.undo_stack.push(SetParams(graph, hidden.id, params))
    assert blocker.args[0]["status"] == "finished", blocker.args[0]
    assert len(asked) == 2 and asked[1] == graph_hash(window.document.graph) != asked[0]
    assert window.training_client.run.graph_hash == asked[1]


def test_an_import_answer_never_replaces_a_design_opened_meanwhile(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    assert window.import_path(small_model_file(tmp_path))
    window.new_design()  # opened while the engine imports
    window.add_layer_at_centre("Dense")
    assert not window.engine_progress.isVisible()
    qtbot.wait(8000)  # type: ignore[attr-defined]  # long enough for the engine's answer
    assert [n.type for n in window.document.graph] == ["Dense"]


def test_an_import_answer_asks_before_it_replaces_edits_made_meanwhile(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    asked: list[bool] = []
    window.confirm_discard = lambda: asked.append(True) or False  # type: ignore[method-assign]  # keep them
    assert window.import_path(small_model_file(tmp_path))
    window.add_layer_at_centre("Dense")  # an edit while the engine imports
    qtbot.waitUntil(lambda: bool(asked), timeout=180_000)  # type: ignore[attr-defined]
    assert [n.type for n in window.document.graph] == ["Dense"] and not window.engine_progress.isVisible()
