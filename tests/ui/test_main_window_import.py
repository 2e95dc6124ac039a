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
    _wait_for_import(qtbot, window)
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


def test_training_an_imported_design_starts_from_its_weights(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    """The Training Setup offers the imported weights, ticked; Start has the engine write them
    for the design and the run loads them: a frozen layer ends with the imported kernel."""
    import numpy as np

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
