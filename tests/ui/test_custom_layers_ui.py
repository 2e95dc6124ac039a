"""The user's own layers in the window, with a real engine: File > Load Custom Layers into the
Custom palette group, consent per file content, reloading on change, an engine that hangs on a
layer, paths saved relative to the project, and a design with a custom layer that trains."""

from __future__ import annotations

import json
import os
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, Signal
from pytestqt.qtbot import QtBot
from stall_helpers import Slowed, assert_loop_kept_turning, heartbeat
from test_main_window import FakeClient, make_window

from designer.app import stop_engine
from designer.catalog.keras_layers import build_catalog
from designer.catalog.spec import Catalog
from designer.graph.model import INPUT_TYPE, Edge
from designer.trust import TrustStore
from designer.ui import custom_layers
from designer.ui.custom_layers import consent_text
from designer.ui.engine_client import EngineClient, EngineSync
from designer.ui.main_window import MainWindow
from designer.ui.panels.palette import KEY_ROLE, CatalogModel

ENGINE_MS = 180_000
EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "digits_mlp.json"

THREE_LAYERS = textwrap.dedent(
    '''
    """Three layers, one of them broken."""
    import keras
    import tensorflow as tf


    class TfDense(keras.layers.Layer):
        """A dense layer written with tf.* ops, as in the TensorFlow tutorials.

        Args:
            units: Number of output features.
        """

        def __init__(self, units: int = 4, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units))

        def call(self, inputs):
            return tf.nn.relu(tf.matmul(inputs, self.w))

        def get_config(self):
            return {**super().get_config(), "units": self.units}


    class Split(keras.layers.Layer):
        """Splits its input into mean and log-variance halves."""

        def call(self, inputs):
            z_mean, z_log_var = keras.ops.split(inputs, 2, axis=-1)
            return z_mean, z_log_var


    class Broken(keras.layers.Layer):
        def call(self, inputs)
            return inputs
    '''
)
BROKEN_LINE = THREE_LAYERS.splitlines().index("    def call(self, inputs)") + 1
GOOD_LAYERS = THREE_LAYERS.replace("    def call(self, inputs)\n", "    def call(self, inputs):\n")

HANGING_LAYER = '''
import time
import keras


class Hang(keras.layers.Layer):
    """A layer whose build never ends."""

    def build(self, input_shape):
        time.sleep(3600)

    def call(self, inputs):
        return inputs
'''


# ------------------------------------------------------------------ fixtures
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


@pytest.fixture(scope="module")
def keras_catalog() -> Catalog:
    return build_catalog()


class Consent:
    """Stands in for the consent dialog: records what it was asked and answers from a list."""

    def __init__(self) -> None:
        self.asked: list[list[Path]] = []
        self.answers: list[bool] = []

    def __call__(self, files: list[Path]) -> bool:
        self.asked.append(list(files))
        return self.answers.pop(0) if self.answers else True


@pytest.fixture
def consent() -> Consent:
    return Consent()


@pytest.fixture
def window(
    qtbot: QtBot,
    client: EngineClient,
    keras_catalog: Catalog,
    consent: Consent,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MainWindow]:
    """A window on the engine, with its EngineSync as the app makes it."""
    monkeypatch.setenv("DESIGNER_RECOVERY_DIR", str(tmp_path / "recovery"))
    qtbot.waitUntil(lambda: client.is_ready, timeout=ENGINE_MS)
    window = make_window(qtbot, tmp_path, catalog=keras_catalog, client=client)
    sync = EngineSync(window.document, client, parent=window)
    window.custom_layers.confirm_trust = consent  # type: ignore[method-assign]
    yield window
    sync.close()
    window.custom_layers.close()


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return path


def save_by_rename(path: Path, source: str) -> None:
    """Save as many editors do: write a new file, then rename it over the old one."""
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(source, encoding="utf-8")
    os.replace(temporary, path)


def design(folder: Path, name: str, layer_type: str, custom_layers: list[str], **params: Any) -> Path:
    """Input (8,) -> a custom layer -> output, in a project file naming its layer files."""
    nodes = [
        {"id": "n1", "type": INPUT_TYPE, "name": "features", "params": {"shape": [8]}, "position": [0, 0]},
        {"id": "n2", "type": layer_type, "name": "custom", "params": params, "position": [0, 120]},
    ]
    data = {
        "format_version": 1,
        "name": "model",
        "nodes": nodes,
        "edges": [{"source": "n1", "source_port": 0, "target": "n2", "target_port": 0}],
        "outputs": [{"node": "n2", "port": 0, "name": "custom"}],
        "custom_layers": custom_layers,
    }
    return write(folder / name, json.dumps(data))


def output_shape(window: MainWindow, node_id: str) -> tuple[int | None, ...] | None:
    result = window.document.results.get(node_id)
    return result.outputs[0].shape if result is not None and result.outputs else None


def custom_group(window: MainWindow) -> list[tuple[str, bool]]:
    """(text, enabled) of the palette's Custom group's items, top to bottom."""
    tree, model = window.palette_view.tree, window.palette_view.filter_model
    category = window.palette_view.category_index("custom")
    assert category.isValid() and category.row() == 0 and tree.isExpanded(category)
    items = [model.index(row, 0, category) for row in range(model.rowCount(category))]
    return [(item.data(), bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)) for item in items]


def messages(window: MainWindow, code: str | None = None) -> list[str]:
    return [d.message for d in window.document.diagnostics if code is None or d.code == code]


# --------------------------------------------------------------------- tests
def test_a_file_of_three_layers_loads_the_two_good_ones_into_the_custom_group_and_reports_the_bad_line(
    qtbot: QtBot, window: MainWindow, consent: Consent, tmp_path: Path
) -> None:
    path = write(tmp_path / "my_layers.py", THREE_LAYERS)
    window.custom_layers.ask_layer_files = lambda: [path]  # type: ignore[method-assign]
    window.menu_actions["load_custom_layers"].trigger()
    qtbot.waitUntil(lambda: "my_layers.TfDense" in window.document.catalog, timeout=ENGINE_MS)

    assert consent.asked == [[path]]
    assert custom_group(window) == [("my_layers.Split", True), ("my_layers.TfDense", True)]
    assert "my_layers.Broken" not in window.document.catalog
    assert window.statusBar().currentMessage() == f"my_layers.py:{BROKEN_LINE}: SyntaxError: expected ':'"
    tf_dense, split = window.document.catalog["my_layers.TfDense"], window.document.catalog["my_layers.Split"]
    units = tf_dense.param("units")
    assert units is not None and (units.kind, units.default, units.doc) == (
        "int",
        4,
        "Number of output features.",
    )
    assert split.ports.outputs == ("z_mean", "z_log_var")
    item = window.palette_view.index_of("my_layers.TfDense")
    assert "written with tf.* ops" in item.data(Qt.ItemDataRole.ToolTipRole)
    assert list(window.document.model.custom_layers) == [str(path)]  # untitled: an absolute path
    qtbot.waitUntil(lambda: bool(messages(window, "custom-layer-file")), timeout=ENGINE_MS)
    assert messages(window, "custom-layer-file") == [f"my_layers.py:{BROKEN_LINE}: SyntaxError: expected ':'"]

    features = window.add_layer_at_centre(INPUT_TYPE)
    dense = window.add_layer_at_centre("my_layers.TfDense")
    assert features and dense and window.editor.connect_edge(Edge(features, 0, dense, 0))
    qtbot.waitUntil(lambda: output_shape(window, dense) == (None, 4), timeout=ENGINE_MS)  # tf.matmul ran
    window.document.undo_stack.undo()  # the edge
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()  # the load
    assert list(window.document.model.custom_layers) == []
    qtbot.waitUntil(lambda: "my_layers.TfDense" not in window.document.catalog, timeout=ENGINE_MS)


def test_consent_is_asked_once_per_file_content_and_declined_code_does_not_run(
    qtbot: QtBot, window: MainWindow, consent: Consent, tmp_path: Path
) -> None:
    marker = tmp_path / "it ran"
    source = f"open({str(marker)!r}, 'w').close()\n" + GOOD_LAYERS
    path = write(tmp_path / "consent_layers.py", source)
    window.custom_layers.ask_layer_files = lambda: [path]  # type: ignore[method-assign]
    consent.answers = [False]
    window.menu_actions["load_custom_layers"].trigger()
    assert consent.asked == [[path]] and list(window.document.model.custom_layers) == []
    assert window.statusBar().currentMessage() == "Not loaded: consent_layers.py"

    window.menu_actions["load_custom_layers"].trigger()  # asked again: this content was never trusted
    qtbot.waitUntil(lambda: "consent_layers.TfDense" in window.document.catalog, timeout=ENGINE_MS)
    assert len(consent.asked) == 2 and marker.exists()
    assert TrustStore().is_trusted(path)

    project = design(tmp_path, "uses_it.json", "consent_layers.TfDense", ["consent_layers.py"], units=3)
    window.new_design()
    qtbot.waitUntil(lambda: "consent_layers.TfDense" not in window.document.catalog, timeout=ENGINE_MS)
    assert window.open_path(project)
    qtbot.waitUntil(lambda: output_shape(window, "n2") == (None, 3), timeout=ENGINE_MS)
    assert len(consent.asked) == 2  # remembered by its hash


HELPED_LAYERS = """
import keras
from ui_helper import factor


class Scaled(keras.layers.Layer):
    def call(self, inputs):
        return inputs * factor()
"""


def test_the_modules_a_layer_file_imports_are_named_and_a_change_to_them_asked_about(
    qtbot: QtBot, window: MainWindow, consent: Consent, tmp_path: Path
) -> None:
    marker = tmp_path / "the new helper ran"
    helper = write(tmp_path / "ui_helper.py", "def factor():\n    return 2.0\n")
    path = write(tmp_path / "helped_ui_layers.py", HELPED_LAYERS)
    assert consent_text([path]).splitlines()[2:] == [f"    {path}", f"        imports {helper.resolve()}"]
    assert window.custom_layers.add_paths([path])
    qtbot.waitUntil(lambda: "helped_ui_layers.Scaled" in window.document.catalog, timeout=ENGINE_MS)
    assert consent.asked == [[path]]

    consent.answers = [False]
    save_by_rename(helper, f"open({str(marker)!r}, 'w').close()\ndef factor():\n    return 3.0\n")
    qtbot.waitUntil(lambda: len(consent.asked) == 2, timeout=ENGINE_MS)  # the helper changed: asked again
    assert consent.asked[1] == [path]
    qtbot.waitUntil(lambda: bool(messages(window, "custom-layer-file")), timeout=ENGINE_MS)
    assert "the last trusted version stays in use" in messages(window, "custom-layer-file")[0]
    assert not marker.exists()


def test_a_declined_file_keeps_its_layers_in_the_design_as_not_loaded(
    qtbot: QtBot, window: MainWindow, consent: Consent, tmp_path: Path
) -> None:
    marker = tmp_path / "it ran"
    write(tmp_path / "declined_layers.py", f"open({str(marker)!r}, 'w').close()\n" + GOOD_LAYERS)
    project = design(tmp_path, "declined.json", "declined_layers.TfDense", ["declined_layers.py"], units=5)
    consent.answers = [False]
    assert window.open_path(project)
    qtbot.waitUntil(lambda: window.document.path == project, timeout=ENGINE_MS)
    assert consent.asked == [[tmp_path / "declined_layers.py"]]
    node = window.document.graph.nodes["n2"]
    assert (node.type, node.params) == ("declined_layers.TfDense", {"units": 5})
    assert custom_group(window) == [("declined_layers.TfDense (not loaded)", False)]
    qtbot.waitUntil(lambda: bool(messages(window, "custom-layer-not-loaded")), timeout=ENGINE_MS)
    [message] = messages(window, "custom-layer-not-loaded")
    assert "declined_layers.py is not trusted, so its code was not run" in message
    assert not marker.exists()
    window.save()
    assert json.loads(project.read_text())["nodes"][1]["params"] == {"units": 5}  # nothing lost

    assert window.custom_layers.add_paths([tmp_path / "declined_layers.py"])  # File > Load: trust it now
    qtbot.waitUntil(lambda: output_shape(window, "n2") == (None, 5), timeout=ENGINE_MS)
    assert marker.exists() and len(consent.asked) == 2
    assert ("declined_layers.TfDense", True) in custom_group(window)
    assert list(window.document.model.custom_layers) == [str(tmp_path / "declined_layers.py")]
    assert json.loads(project.read_text())["custom_layers"] == ["declined_layers.py"]  # as it was read


def test_editing_the_file_reloads_it_and_a_broken_save_keeps_the_last_good_version(
    qtbot: QtBot, window: MainWindow, consent: Consent, tmp_path: Path
) -> None:
    path = write(tmp_path / "watched_layers.py", GOOD_LAYERS)
    TrustStore().trust([path])
    project = design(tmp_path, "watched.json", "watched_layers.TfDense", ["watched_layers.py"])
    assert window.open_path(project)
    qtbot.waitUntil(lambda: output_shape(window, "n2") == (None, 4), timeout=ENGINE_MS)

    doubled = GOOD_LAYERS.replace("units: int = 4", "units: int = 6") + textwrap.dedent(
        '''

        class Doubler(keras.layers.Layer):
            """Doubles its input."""

            def call(self, inputs):
                return inputs * 2
        '''
    )
    save_by_rename(path, doubled)
    qtbot.waitUntil(lambda: output_shape(window, "n2") == (None, 6), timeout=ENGINE_MS)
    assert consent.asked == [[path]]  # a new content: asked again
    assert window.document.catalog["watched_layers.TfDense"].param("units").default == 6  # type: ignore[union-attr]
    assert ("watched_layers.Doubler", True) in custom_group(window)

    broken = doubled.replace("return tf.nn.relu(tf.matmul(inputs, self.w))", "return tf.nn.relu(")
    line = broken.splitlines().index("        return tf.nn.relu(") + 1
    path.write_text(broken, encoding="utf-8")
    qtbot.waitUntil(lambda: bool(messages(window, "custom-layer-file")), timeout=ENGINE_MS)
    [problem] = messages(window, "custom-layer-file")
    assert problem.startswith(f"watched_layers.py:{line}: SyntaxError")
    assert window.statusBar().currentMessage().startswith(f"watched_layers.py:{line}: SyntaxError")
    assert output_shape(window, "n2") == (None, 6)  # the last good TfDense is still in use
    assert "watched_layers.TfDense" in window.document.catalog


def test_a_layer_that_hangs_restarts_the_engine_and_the_window_names_it(
    qtbot: QtBot, window: MainWindow, client: EngineClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client, "analyze_timeout_s", 12.0)
    path = write(tmp_path / "hanging_layers.py", HANGING_LAYER)
    TrustStore().trust([path])
    project = design(tmp_path, "hangs.json", "hanging_layers.Hang", ["hanging_layers.py"])
    restarts: list[str] = []
    client.crashed.connect(restarts.append)
    try:
        assert window.open_path(project)
        qtbot.waitUntil(lambda: bool(messages(window, "custom-layer-stopped")), timeout=ENGINE_MS)
    finally:
        client.crashed.disconnect(restarts.append)
    assert restarts and "did not answer" in restarts[0]
    [message] = messages(window, "custom-layer-stopped")
    assert "engine stopped while inferring custom (hanging_layers.Hang in hanging_layers.py)" in message
    assert window.isVisible() and output_shape(window, "n1") == (None, 8)
    qtbot.waitUntil(lambda: "hanging_layers.Hang" in window.statusBar().currentMessage(), timeout=ENGINE_MS)
    assert window.statusBar().currentMessage().startswith("The engine stopped while inferring custom")


def test_custom_layer_paths_are_saved_relative_to_the_project_and_load_with_it(
    qtbot: QtBot, window: MainWindow, consent: Consent, tmp_path: Path
) -> None:
    path = write(tmp_path / "library" / "relative_layers.py", GOOD_LAYERS + "# not trusted yet\n")
    assert window.custom_layers.add_paths([path])
    qtbot.waitUntil(lambda: "relative_layers.Split" in window.document.catalog, timeout=ENGINE_MS)
    split = window.add_layer_at_centre("relative_layers.Split")
    target = tmp_path / "designs" / "model.json"
    target.parent.mkdir()
    window.ask_save_path = lambda: target  # type: ignore[method-assign]
    assert window.save_as()
    assert json.loads(target.read_text())["custom_layers"] == ["../library/relative_layers.py"]

    window.new_design()
    qtbot.waitUntil(lambda: "relative_layers.Split" not in window.document.catalog, timeout=ENGINE_MS)
    assert window.open_path(target)
    qtbot.waitUntil(lambda: window.document.path == target, timeout=ENGINE_MS)
    assert window.document.graph.nodes[split or ""].type == "relative_layers.Split"
    assert "relative_layers.Split" in window.document.catalog and len(consent.asked) == 1


def test_a_design_with_a_custom_layer_trains_with_its_file(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    write(
        tmp_path / "layer_helpers.py",
        "import tensorflow as tf\n\n\ndef rectify(x):\n    return tf.nn.relu(x)\n",
    )
    helped = GOOD_LAYERS.replace(
        "import tensorflow as tf\n", "import tensorflow as tf\nfrom layer_helpers import rectify\n"
    )
    path = write(tmp_path / "train_layers.py", helped.replace("tf.nn.relu(tf.matmul", "rectify(tf.matmul"))
    TrustStore().trust([path])
    data = json.loads(EXAMPLE.read_text())
    hidden = next(node for node in data["nodes"] if node["name"] == "hidden_2")
    hidden.update(type="train_layers.TfDense", params={"units": 16})
    data["training"]["epochs"] = 1
    data["custom_layers"] = ["train_layers.py"]
    project = write(tmp_path / "train.json", json.dumps(data))
    assert window.open_path(project)
    qtbot.waitUntil(lambda: output_shape(window, hidden["id"]) == (None, 16), timeout=ENGINE_MS)
    qtbot.waitUntil(lambda: window.document.diagnostics == [], timeout=ENGINE_MS)

    with qtbot.waitSignal(window.training_client.finished, timeout=ENGINE_MS) as finished:
        qtbot.mouseClick(window.training.start_button, Qt.MouseButton.LeftButton)
    report = finished.args[0]
    assert report["status"] == "finished", report
    run = Path(report["run"])
    model_code = (run / "model.py").read_text()
    assert (
        "class TfDense(keras.layers.Layer)" in model_code
        and "from layer_helpers import rectify" in model_code
    )
    assert (run / "layer_helpers.py").read_text() == (tmp_path / "layer_helpers.py").read_text()


def test_the_palette_puts_custom_layers_first_and_greys_those_not_loaded(keras_catalog: Catalog) -> None:
    from designer.trust import stand_in_specs

    data = {"nodes": [{"id": "a", "type": "gone.Layer"}], "edges": [], "outputs": []}
    [stand_in] = stand_in_specs(
        data, keras_catalog.__contains__, {"gone"}, "Not loaded: gone.py: not trusted."
    )
    model = CatalogModel(keras_catalog.merged([stand_in]))
    first = model.index(0, 0)
    assert first.data() == "Custom"
    item = model.index(0, 0, first)
    assert item.data() == "gone.Layer (not loaded)" and item.data(KEY_ROLE) == "gone.Layer"
    assert not item.flags() & (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDragEnabled)
    assert "not trusted" in item.data(Qt.ItemDataRole.ToolTipRole)


# ------------------------------------------------------------- without the engine process
class LoadingEngine(FakeClient):
    """The EngineClient's generic request API: records the custom-layer loads; the test answers
    (them, and imports: `imported`)."""

    answered = Signal(int, str, object)
    imported = Signal(int, object)
    started = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[list[str]] = []

    def request(self, op: str, fields: dict[str, Any] | None = None, timeout_s: float | None = None) -> int:
        if op != "load_custom_layers":
            return 0
        self.loads.append(list((fields or {})["paths"]))
        return len(self.loads)

    def answer(self, load: int) -> None:
        self.answered.emit(load, "load_custom_layers", {"specs": [], "problems": [], "stopped": []})

    def import_source(self, source: str, weights_dir: str) -> int:
        return 1


@pytest.fixture
def offline(
    qtbot: QtBot, tmp_path: Path, keras_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MainWindow]:
    """A window whose custom layers nobody loads (no engine): their layers are stand-ins."""
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    window = make_window(qtbot, tmp_path, catalog=keras_catalog)
    window.custom_layers.confirm_trust = lambda files: True  # type: ignore[method-assign]
    yield window
    window.custom_layers.close()


def test_custom_layer_paths_stay_right_after_save_as_elsewhere_undo_redo_and_a_failed_save(
    offline: MainWindow, tmp_path: Path
) -> None:
    window, stack = offline, offline.document.undo_stack
    first, second = tmp_path / "first", tmp_path / "second"
    layers = write(first / "layers.py", GOOD_LAYERS)
    write(second / "layers.py", GOOD_LAYERS)  # the same name beside the new file: not the design's
    window.ask_save_path = lambda: first / "model.json"  # type: ignore[method-assign]
    assert window.save_as()
    assert window.custom_layers.add_paths([layers])
    window.ask_save_path = lambda: second / "model.json"  # type: ignore[method-assign]
    assert window.save_as()
    assert json.loads((second / "model.json").read_text())["custom_layers"] == ["../first/layers.py"]
    stack.undo()
    assert window.custom_layers.paths() == []
    stack.redo()
    assert window.custom_layers.paths() == [layers]

    errors: list[str] = []
    window.report_error = lambda title, text: errors.append(text)  # type: ignore[method-assign]
    window.ask_save_path = lambda: tmp_path / "missing" / "folder" / "model.json"  # type: ignore[method-assign]
    assert not window.save_as() and errors
    assert list(window.document.model.custom_layers) == [str(layers)]
    assert window.custom_layers.paths() == [layers]
    stack.undo()
    stack.redo()
    assert window.custom_layers.paths() == [layers]
    assert window.save()
    assert json.loads((second / "model.json").read_text())["custom_layers"] == ["../first/layers.py"]

    window.new_design()
    assert window.open_path(second / "model.json")
    assert window.document.path == second / "model.json"
    assert window.custom_layers.paths() == [layers]  # read relative to the file, held absolute


def test_a_trust_store_that_cannot_be_written_is_said_and_saving_goes_on(
    offline: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(blocker / "config"))  # no one can make it
    window, layers = offline, write(tmp_path / "layers.py", GOOD_LAYERS)
    errors: list[str] = []
    window.report_error = lambda title, text: errors.append(f"{title}: {text}")  # type: ignore[method-assign]
    window.custom_layers.add_paths([layers])
    assert [error.split("\n")[0] for error in errors] == [
        f"Cannot remember that you trust this code: {blocker / 'config'}: Not a directory"
    ]
    assert "will not run until the trust store can be written" in errors[0]
    window.ask_save_path = lambda: tmp_path / "model.json"  # type: ignore[method-assign]
    assert window.save_as() and (tmp_path / "model.json").exists()


def two_designs(tmp_path: Path) -> tuple[Path, Path]:
    write(tmp_path / "p_layers.py", GOOD_LAYERS)
    write(tmp_path / "q_layers.py", GOOD_LAYERS)
    return (
        design(tmp_path, "p.json", "p_layers.Split", ["p_layers.py"]),
        design(tmp_path, "q.json", "q_layers.Split", ["q_layers.py"]),
    )


@pytest.fixture
def waiting(
    qtbot: QtBot, tmp_path: Path, keras_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MainWindow, LoadingEngine]]:
    """A window on an engine that answers only when the test says so."""
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    engine = LoadingEngine()
    window = make_window(qtbot, tmp_path, catalog=keras_catalog, client=engine)
    window.custom_layers.confirm_trust = lambda files: True  # type: ignore[method-assign]
    yield window, engine
    window.custom_layers.close()


def offered(qtbot: QtBot, engine: LoadingEngine, count: int) -> None:
    """Wait until the engine was offered `count` loads (the files are hashed off the GUI thread first)."""
    qtbot.waitUntil(lambda: len(engine.loads) >= count, timeout=10_000)


def test_opening_another_design_while_the_first_ones_layers_load_opens_only_the_last(
    qtbot: QtBot, waiting: tuple[MainWindow, LoadingEngine], tmp_path: Path
) -> None:
    window, engine = waiting
    p, q = two_designs(tmp_path)
    assert window.open_path(p) and window.open_path(q)
    offered(qtbot, engine, 2)
    assert len(engine.loads) == 2 and window.document.path is None
    engine.answer(1)  # P's files: P is not wanted any more
    assert len(engine.loads) == 2 and window.document.path is None
    engine.answer(2)
    assert window.document.path == q and len(engine.loads) == 2
    assert window.document.graph.nodes["n2"].type == "q_layers.Split"


def test_a_design_edited_while_an_open_waits_is_asked_about_again(
    qtbot: QtBot, waiting: tuple[MainWindow, LoadingEngine], tmp_path: Path
) -> None:
    window, engine = waiting
    p, q = two_designs(tmp_path)
    answers: list[bool] = [False, True]
    asked: list[bool] = []

    def confirm_discard() -> bool:
        asked.append(True)
        return answers.pop(0) if answers else True

    assert window.open_path(p)
    window.confirm_discard = confirm_discard  # type: ignore[method-assign]
    dense = window.add_layer_at_centre("Dense")
    offered(qtbot, engine, 1)
    engine.answer(1)
    assert len(asked) == 1 and window.document.path is None and dense in window.document.graph.nodes
    assert window.open_path(q)
    window.add_layer_at_centre("Dense")
    offered(qtbot, engine, 2)
    engine.answer(2)  # asked again: this time the edits may go
    assert len(asked) == 2 and window.document.path == q

    assert window.open_path(p)  # nothing edited while it waits: not asked
    offered(qtbot, engine, 3)
    engine.answer(3)
    assert window.document.path == p and len(asked) == 2


RECORDED_LAYERS = """
import keras


@keras.saving.register_keras_serializable(package="ui_record")
class RecordedScale(keras.layers.Layer):
    def call(self, inputs):
        return inputs * 2.0
"""


def test_an_imported_model_keeps_the_custom_layer_file_its_class_comes_from(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """Issue 14, item 7: importing a model whose class comes from a loaded custom-layer file gives
    a design that names that file, so it still builds, and a saved project that opens as imported."""
    import sys

    import keras

    from designer.catalog.user_modules import load_module

    path = write(tmp_path / "ui_recorded_layers.py", RECORDED_LAYERS)
    assert window.custom_layers.add_paths([path])
    qtbot.waitUntil(lambda: "ui_recorded_layers.RecordedScale" in window.document.catalog, timeout=ENGINE_MS)
    scale = load_module(path).module.RecordedScale  # type: ignore[union-attr]  # to save a model here
    sys.modules.pop("ui_recorded_layers")
    inputs = keras.Input((8,), name="features")
    keras.Model(inputs, scale(name="scaled")(inputs)).save(tmp_path / "scaled.keras")
    assert window.import_path(tmp_path / "scaled.keras")
    qtbot.waitUntil(lambda: len(window.document.graph) == 2, timeout=ENGINE_MS)
    assert window.document.model.custom_layers == (str(path.resolve()),)
    qtbot.waitUntil(lambda: output_shape(window, "n2") == (None, 8), timeout=ENGINE_MS)
    (tmp_path / "designs").mkdir()
    saved = window.document.save(tmp_path / "designs" / "scaled.json")
    assert json.loads(saved.read_text())["custom_layers"] == ["../ui_recorded_layers.py"]


def test_a_changed_layer_file_is_hashed_with_its_imports_off_the_gui_thread(
    qtbot: QtBot, window: MainWindow, consent: Consent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that changed on disk is read, hashed with its local imports and looked up in the trust
    store on a worker thread (made a second slow here): the event loop turns until the consent
    dialog asks about the new content."""
    helper = write(tmp_path / "slow_helper.py", "def factor():\n    return 2.0\n")
    path = write(tmp_path / "slow_layers.py", HELPED_LAYERS.replace("ui_helper", "slow_helper"))
    assert window.custom_layers.add_paths([path])
    qtbot.waitUntil(lambda: "slow_layers.Scaled" in window.document.catalog, timeout=ENGINE_MS)
    slowed = Slowed(custom_layers.survey_consent)
    monkeypatch.setattr(custom_layers, "survey_consent", slowed)
    with heartbeat() as beat:
        save_by_rename(helper, "def factor():\n    return 3.0\n")
        qtbot.waitUntil(lambda: len(consent.asked) == 2, timeout=ENGINE_MS)
    assert consent.asked[1] == [path]
    assert_loop_kept_turning(beat, slowed)


def test_a_survey_under_way_when_another_design_is_shown_is_dropped_and_the_new_ones_files_offered(
    qtbot: QtBot, waiting: tuple[MainWindow, LoadingEngine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Design 1's file changes on disk and is surveyed again; before the survey answers, an import
    shows design 2, which names another file. Design 1's file is neither asked about nor offered
    (nothing of it lands in design 2's catalog); design 2's file is asked about and offered."""
    window, engine = waiting
    consent = Consent()
    window.custom_layers.confirm_trust = consent  # type: ignore[method-assign]
    p, _ = two_designs(tmp_path)
    p_layers = tmp_path / "p_layers.py"
    q_layers = write(tmp_path / "q_layers.py", GOOD_LAYERS + "\n# design 2's: never trusted yet\n")
    assert window.open_path(p)
    offered(qtbot, engine, 1)
    engine.answer(1)
    assert window.document.path == p and consent.asked == [[p_layers]]

    entered, release = threading.Event(), threading.Event()
    survey = custom_layers.survey_consent

    def held(files: list[Path]) -> Any:
        entered.set()
        release.wait(30)
        return survey(files)

    monkeypatch.setattr(custom_layers, "survey_consent", held)
    save_by_rename(p_layers, GOOD_LAYERS + "\n# changed: asked about again\n")
    qtbot.waitUntil(entered.is_set, timeout=10_000)  # design 1's files are being surveyed...
    imported = json.loads(design(tmp_path, "imported.json", "Dense", [str(q_layers)], units=2).read_text())
    assert window.import_path(tmp_path / "model.keras")
    engine.imported.emit(1, {"specs": [], "project": imported})  # ...when design 2 is shown
    assert window.document.model.custom_layers == (str(q_layers),)
    release.set()
    offered(qtbot, engine, 2)
    qtbot.wait(300)  # a reload, a question or a load of design 1 would come by now
    assert consent.asked == [[p_layers], [q_layers]]
    assert engine.loads == [[str(p_layers)], [str(q_layers)]]
    engine.answer(2)
    assert not any(key.startswith("p_layers.") for key in window.document.catalog)
