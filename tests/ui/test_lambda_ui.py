"""Lambda layers in the window (issue 14, item 5), with a real engine: importing a .keras file that
holds a Lambda asks for consent and then loads it; a design's untrusted expression is asked about
once; the Inspector edits the expression as text, and the person's own expression needs no asking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keras
import pytest
from pytestqt.qtbot import QtBot
from test_main_window import make_window

from designer.app import stop_engine
from designer.catalog.keras_layers import build_catalog
from designer.graph import project
from designer.graph.model import Edge, ModelGraph, Node
from designer.ui.engine_client import EngineClient, EngineSync
from designer.ui.main_window import MainWindow
from designer.ui.panels.param_editors import TextEditor

ENGINE_MS = 180_000


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One trust store for the GUI and the engine process (which reads it at its start)."""
    folder = tmp_path_factory.mktemp("config")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESIGNER_CONFIG_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def client(
    qapp: object, config_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineClient]:
    engine = EngineClient(
        cache_dir=tmp_path_factory.mktemp("cache"), request_timeout_s=180.0, analyze_timeout_s=180.0
    )
    engine.start()
    yield engine
    stop_engine(engine, grace_s=10.0)


@pytest.fixture
def window(
    qtbot: QtBot, client: EngineClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MainWindow]:
    """A window on the engine, with its EngineSync as the app makes it."""
    monkeypatch.setenv("DESIGNER_RECOVERY_DIR", str(tmp_path / "recovery"))
    qtbot.waitUntil(lambda: client.is_ready, timeout=ENGINE_MS)
    window = make_window(qtbot, tmp_path, catalog=build_catalog(), client=client)
    sync = EngineSync(window.document, client, parent=window)
    yield window
    sync.close()
    window.custom_layers.close()


def output_shape(window: MainWindow, name: str) -> tuple[int | None, ...] | None:
    node = window.document.graph.node_by_name(name)
    result = window.document.results.get(node.id) if node is not None else None
    return result.outputs[0].shape if result is not None and result.outputs else None


def test_importing_a_keras_file_with_a_lambda_asks_and_then_loads_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    inputs = keras.Input((3,), name="features")
    doubled = keras.layers.Lambda(lambda x: x * 2, name="double")(inputs)
    keras.Model(inputs, keras.layers.Dense(2, name="head")(doubled)).save(tmp_path / "lambda.keras")
    asked: list[Path] = []

    def consent(source: Path) -> bool:
        asked.append(source)
        return True

    window.lambda_consent.confirm_file = consent  # type: ignore[method-assign]
    window.lambda_consent.confirm_lambdas = lambda texts: pytest.fail(f"asked again about {texts}")  # type: ignore[method-assign]
    assert window.import_path(tmp_path / "lambda.keras")
    qtbot.waitUntil(lambda: len(window.document.graph) == 3, timeout=ENGINE_MS)
    assert asked == [tmp_path / "lambda.keras"]
    node = window.document.graph.node_by_name("double")
    assert node is not None and node.type == "Lambda" and node.params["function"] == "x * 2"
    qtbot.waitUntil(lambda: output_shape(window, "head") == (None, 2), timeout=ENGINE_MS)


def test_declining_a_keras_file_with_a_lambda_says_why(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    inputs = keras.Input((3,), name="features")
    keras.Model(inputs, keras.layers.Lambda(lambda x: x + 1, name="shift")(inputs)).save(
        tmp_path / "shift.keras"
    )
    errors: list[str] = []
    window.report_error = lambda title, text: errors.append(text)  # type: ignore[method-assign]
    window.lambda_consent.confirm_file = lambda source: False  # type: ignore[method-assign]
    assert window.import_path(tmp_path / "shift.keras")
    qtbot.waitUntil(lambda: bool(errors), timeout=ENGINE_MS)
    assert "holds a Lambda layer" in errors[0] and "runs when the model is loaded" in errors[0]
    assert window.document.graph.node_by_name("shift") is None


def lambda_design(path: Path, expression: str) -> Path:
    catalog = build_catalog()
    graph = ModelGraph("lambda_ui")
    graph.add_node(Node("n1", "Input", "features", {"shape": [4]}, ports=catalog["Input"].ports))
    graph.add_node(Node("n2", "Lambda", "mean", {"function": expression}, ports=catalog["Lambda"].ports))
    graph.connect(Edge("n1", 0, "n2", 0))
    graph.mark_output("n2")
    project.save(path, project.Project(graph))
    return path


def test_a_designs_lambda_runs_once_trusted_and_the_inspector_edits_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    asked: list[list[str]] = []
    answers = [False, True]

    def consent(expressions: list[str]) -> bool:
        asked.append(list(expressions))
        return answers.pop(0)

    window.lambda_consent.confirm_lambdas = consent  # type: ignore[method-assign]
    qtbot.waitUntil(lambda: window.catalog_known, timeout=ENGINE_MS)
    path = lambda_design(tmp_path / "mean.json", "keras.ops.mean(x, axis=-1, keepdims=True)")
    assert window.open_path(path)
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=ENGINE_MS)
    qtbot.waitUntil(lambda: bool(window.document.diagnostics), timeout=ENGINE_MS)
    assert any("holds Python code" in d.message for d in window.document.diagnostics)
    assert window.open_path(path)  # the same expression, declined in this window: not asked again
    qtbot.wait(200)
    assert len(asked) == 1
    window.lambda_consent.declined.clear()
    window.lambda_consent.ask()
    assert asked[-1] == ["keras.ops.mean(x, axis=-1, keepdims=True)"]
    qtbot.waitUntil(lambda: output_shape(window, "mean") == (None, 1), timeout=ENGINE_MS)

    node = window.document.graph.node_by_name("mean")
    assert node is not None
    window.inspector.show_node(node.id)
    editor = window.inspector.editor("function")
    assert isinstance(editor, TextEditor)
    assert editor.line_edit.text() == "keras.ops.mean(x, axis=-1, keepdims=True)"
    editor.line_edit.setText("keras.ops.concatenate([x, x * 2], axis=-1)")
    editor.line_edit.textEdited.emit(editor.line_edit.text())  # as typing does
    assert (
        window.document.graph.node(node.id).params["function"] == "keras.ops.concatenate([x, x * 2], axis=-1)"
    )
    qtbot.waitUntil(lambda: output_shape(window, "mean") == (None, 8), timeout=ENGINE_MS)
    assert len(asked) == 2  # the person's own expression: trusted as typed, not asked about
