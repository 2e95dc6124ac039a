"""The layer editor: the template, line numbers and marked lines, Check through a real engine
(output shape and weights, or the error's line with the cursor there), Save beside the design
into the palette."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from test_main_window import make_window

from designer.app import stop_engine
from designer.catalog.keras_layers import build_catalog
from designer.catalog.spec import Catalog
from designer.trust import TrustStore
from designer.ui.engine_client import EngineClient, EngineSync
from designer.ui.main_window import MainWindow
from designer.ui.panels.layer_editor import LayerEditor, class_names, layer_template, module_name

ENGINE_MS = 180_000


# ------------------------------------------------------------ without engine
def test_module_names_and_class_names() -> None:
    assert module_name("ScaledDense") == "scaled_dense" and module_name("TfDense2D") == "tf_dense2_d"
    assert class_names("import keras\n\nclass A(keras.layers.Layer):\n    pass\n\nclass B:\n    pass\n") == [
        "A",
        "B",
    ]
    assert class_names("class A(\n") is None


def test_the_template_is_a_complete_registered_layer() -> None:
    source = layer_template("ScaledDense")
    tree = ast.parse(source)
    [layer] = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    methods = [node.name for node in layer.body if isinstance(node, ast.FunctionDef)]
    assert methods == ["__init__", "build", "call", "compute_output_shape", "get_config"]
    assert "super().__init__(**kwargs)" in source and "self.add_weight(" in source and "ops.matmul" in source
    assert '@keras.saving.register_keras_serializable(package="scaled_dense")' in source


def test_an_error_moves_the_cursor_to_its_line_and_marks_it(qtbot: QtBot) -> None:
    editor = LayerEditor()
    qtbot.addWidget(editor)
    editor.new_layer("ScaledDense")
    assert editor.file_label.text() == "<b>scaled_dense.py</b> — not saved"
    assert editor.class_box.currentText() == "ScaledDense"
    editor.show_error("NameError: name 'opz' is not defined", 27)
    assert editor.code.textCursor().blockNumber() + 1 == 27 and editor.code.marked_line() == 27
    assert editor.result_text() == "Line 27: NameError: name 'opz' is not defined"
    editor.show_result(
        {"class_name": "ScaledDense", "output_shapes": [[None, 16]], "weights": [], "warnings": []}
    )
    assert editor.code.marked_line() is None and "Output shape: (None, 16)" in editor.result_text()


def test_check_asks_for_the_class_chosen_and_tab_indents(qtbot: QtBot) -> None:
    editor = LayerEditor()
    qtbot.addWidget(editor)
    editor.new_layer("First")
    editor.code.appendPlainText("\n\nclass Second(keras.layers.Layer):\n    pass\n")
    qtbot.waitUntil(lambda: editor.class_box.count() == 2)
    editor.class_box.setCurrentText("Second")
    editor.shape_field.setText("[(None, 4), (None, 4)]")
    with qtbot.waitSignal(editor.check_requested) as checked:
        qtbot.mouseClick(editor.check_button, Qt.MouseButton.LeftButton)
    assert checked.args == [editor.source(), "Second", "[(None, 4), (None, 4)]"]
    editor.code.moveCursor(editor.code.textCursor().MoveOperation.End)
    qtbot.keyClick(editor.code, Qt.Key.Key_Tab)
    assert editor.source().endswith("    ")


def test_check_without_an_engine_says_it_needs_one(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.custom_layers.editor.new_layer("Offline")
    window.custom_layers.editor.request_check()
    assert window.custom_layers.editor.result_text() == "The Keras engine is not running: Check needs it."


def test_unsaved_layer_code_is_asked_about_before_it_goes(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    files = window.custom_layers
    files.ask_class_name = lambda: "First"  # type: ignore[method-assign]
    files.new_layer()
    assert not files.editor.is_modified  # the template is nothing of the person's yet
    files.editor.code.insertPlainText("# mine\n")
    asked: list[bool] = []
    files.confirm_discard_layer = lambda: asked.append(True) or False  # type: ignore[method-assign]
    files.ask_class_name = lambda: "Second"  # type: ignore[method-assign]
    files.new_layer()
    assert (
        asked == [True]
        and files.editor.source().startswith("# mine")
        and "class First" in files.editor.source()
    )
    assert not window.close() and window.isVisible()
    files.confirm_discard_layer = lambda: True  # type: ignore[method-assign]
    assert window.close()


# --------------------------------------------------------------- with engine
@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
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


@pytest.fixture(scope="module")
def keras_catalog() -> Catalog:
    return build_catalog()


@pytest.fixture
def window(
    qtbot: QtBot,
    client: EngineClient,
    keras_catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MainWindow]:
    monkeypatch.setenv("DESIGNER_RECOVERY_DIR", str(tmp_path / "recovery"))
    qtbot.waitUntil(lambda: client.is_ready, timeout=ENGINE_MS)
    window = make_window(qtbot, tmp_path, catalog=keras_catalog, client=client)
    sync = EngineSync(window.document, client, parent=window)
    window.custom_layers.confirm_trust = lambda files: pytest.fail(f"asked to trust {files}")  # type: ignore[method-assign]
    window.custom_layers.ask_class_name = lambda: "ScaledDense"  # type: ignore[method-assign]
    yield window
    sync.close()
    window.custom_layers.close()


def check(qtbot: QtBot, editor: LayerEditor) -> str:
    editor.result.clear()
    qtbot.mouseClick(editor.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.result_text() not in ("", "Checking…"), timeout=ENGINE_MS)
    return editor.result_text()


def test_the_template_passes_check_with_its_shape_and_weights(qtbot: QtBot, window: MainWindow) -> None:
    window.menu_actions["new_custom_layer"].trigger()
    editor = window.custom_layers.editor
    assert window.docks["layer_editor"].isVisible() and editor.shape_field.text() == "(None, 16)"
    result = check(qtbot, editor)
    assert "ScaledDense(units=16, activation='linear') builds." in result
    assert "Output shape: (None, 16)" in result and "Parameters: 272 trainable, 0 non-trainable" in result
    assert "get_config" not in result and "compute_output_shape" not in result  # no warnings
    assert "kernel(16, 16)trainable" in result.replace("\n", "") and "bias(16,)trainable" in result.replace(
        "\n", ""
    )
    editor.shape_field.setText("(None, 8, 3)")
    assert "Output shape: (None, 8, 16)" in check(qtbot, editor)


def test_a_broken_edit_reports_its_line_and_the_cursor_goes_there(qtbot: QtBot, window: MainWindow) -> None:
    window.custom_layers.new_layer()
    editor = window.custom_layers.editor
    source = editor.source().replace("ops.matmul(inputs, self.kernel)", "ops.matmul(inputs, self.kernal)")
    line = (
        source.splitlines().index(
            "        return self.activation(ops.matmul(inputs, self.kernal) + self.bias)"
        )
        + 1
    )
    editor.code.setPlainText(source)
    result = check(qtbot, editor)
    assert result == f"Line {line}: AttributeError: 'ScaledDense' object has no attribute 'kernal'"
    assert editor.code.textCursor().blockNumber() + 1 == line and editor.code.marked_line() == line

    syntax = source.replace("def build(self, input_shape):", "def build(self, input_shape)")
    editor.code.setPlainText(syntax)
    line = syntax.splitlines().index("    def build(self, input_shape)") + 1
    assert check(qtbot, editor) == f"Line {line}: SyntaxError: expected ':'"
    assert editor.code.marked_line() == line

    editor.code.setPlainText(source.replace("units: int = 16", "units: int = 0"))
    assert "Expected a positive number of units, received units=0." in check(qtbot, editor)


def test_save_writes_the_file_beside_the_design_and_puts_the_layer_in_the_palette(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    project = tmp_path / "design.json"
    window.ask_save_path = lambda: project  # type: ignore[method-assign]
    assert window.save_as()
    window.custom_layers.new_layer()
    editor = window.custom_layers.editor
    editor.code.setPlainText(editor.source().replace("units: int = 16", "units: int = 12"))
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    saved = tmp_path / "scaled_dense.py"
    assert saved.read_text() == editor.source() and TrustStore().is_trusted(saved)
    assert editor.path == saved and editor.file_label.text() == "<b>scaled_dense.py</b>"
    assert list(window.document.model.custom_layers) == [str(saved)]  # absolute while open
    assert window.save()
    assert json.loads(project.read_text())["custom_layers"] == ["scaled_dense.py"]  # relative in the file
    qtbot.waitUntil(lambda: "scaled_dense.ScaledDense" in window.document.catalog, timeout=ENGINE_MS)
    assert window.palette_view.index_of("scaled_dense.ScaledDense").isValid()
    assert window.document.catalog["scaled_dense.ScaledDense"].param("units").default == 12  # type: ignore[union-attr]

    editor.code.setPlainText(editor.source().replace("units: int = 12", "units: int = 10"))
    editor.request_save()  # the app's own edit: trusted without a question, reloaded
    qtbot.waitUntil(
        lambda: window.document.catalog["scaled_dense.ScaledDense"].param("units").default == 10,  # type: ignore[union-attr]
        timeout=ENGINE_MS,
    )
