"""The engine host speaks JSON lines on a private stdout, survives bad requests and re-infers edits."""

from __future__ import annotations

import copy
import itertools
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from designer.engine.host import EngineHost, answer, changed_nodes
from designer.graph.project import PROJECT_FORMAT_VERSION
from designer.trust import TrustStore

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0  # importing TensorFlow on a small, busy machine
REPLY_TIMEOUT_S = 60.0


class HostProcess:
    """A host started as the GUI starts it, with replies read on a thread so no read can block forever."""

    def __init__(self, folder: Path, program: list[str]) -> None:
        self.cache_dir = folder / "cache"
        self.stderr_path = folder / "stderr.txt"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [sys.executable, *program, "--cache-dir", str(self.cache_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=ROOT,
        )
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True)
        self._reader.start()
        self._ids = itertools.count(1)
        self.ready_line = self.read(START_TIMEOUT_S)

    def _pump(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def read(self, timeout: float = REPLY_TIMEOUT_S) -> dict[str, Any]:
        line = self._lines.get(timeout=timeout)
        assert line is not None, f"the host ended; its stderr:\n{self.stderr_path.read_text()[-3000:]}"
        return json.loads(line)

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode("utf-8") + b"\n")
        self.process.stdin.flush()

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        request_id = next(self._ids)
        self.send(json.dumps({"id": request_id, "op": op, **fields}))
        reply = self.read()
        assert reply["id"] == request_id, reply
        return reply

    def close(self) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        self.process.stdout.close()
        self._stderr.close()
        return code


def project_data(units: int = 4, second_units: int = 3) -> dict[str, Any]:
    """Input (8,) -> Dense(units) -> Dense(second_units), the last one the model output."""
    nodes = [
        _node("n1", "Input", "inputs", {"shape": [8]}),
        _node("n2", "Dense", "hidden", {"units": units}),
        _node("n3", "Dense", "scores", {"units": second_units}),
    ]
    edges = [_edge("n1", "n2"), _edge("n2", "n3")]
    return {
        "format_version": PROJECT_FORMAT_VERSION,
        "name": "model",
        "nodes": nodes,
        "edges": edges,
        "outputs": [{"node": "n3", "port": 0, "name": "scores"}],
    }


def _node(node_id: str, type_key: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "type": type_key, "name": name, "params": params, "position": [0.0, 0.0]}


def _edge(source: str, target: str) -> dict[str, Any]:
    return {"source": source, "source_port": 0, "target": target, "target_port": 0}


def output_shape(reply: dict[str, Any], node_id: str) -> list[int | None]:
    assert reply["ok"], reply
    return reply["result"]["results"][node_id]["outputs"][0]["shape"]


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    started = HostProcess(tmp_path_factory.mktemp("host"), ["-m", "designer.engine.host"])
    yield started
    assert started.close() == 0


# ------------------------------------------------------------------ protocol
def test_the_first_line_says_ready(host: HostProcess) -> None:
    assert host.ready_line == {"id": 0, "ok": True, "result": "ready"}


def test_ping_answers_with_the_request_id(host: HostProcess) -> None:
    host.send('{"id": 41, "op": "ping"}')
    assert host.read() == {"id": 41, "ok": True, "result": "pong"}


def test_catalog_is_served_and_stored_in_the_cache(host: HostProcess) -> None:
    reply = host.request("catalog")
    assert reply["ok"], reply
    keys = {spec["key"] for spec in reply["result"]["specs"]}
    assert {"Input", "Dense", "Conv2D", "Add", "layers.sampling.Sampling"} <= keys
    version = reply["result"]["version"]
    cached = json.loads((host.cache_dir / f"catalog-{version}.json").read_text())
    # The cache holds Keras' layers (keyed by its version); the library is read afresh.
    library = {key for key in keys if key.startswith("layers.")}
    assert library and {spec["key"] for spec in cached["specs"]} == keys - library


def test_bad_requests_get_an_error_and_the_host_keeps_serving(host: HostProcess) -> None:
    host.send("this is not JSON")
    assert host.read()["ok"] is False
    host.send("[1, 2]")
    assert host.read() == {"id": None, "ok": False, "error": "A request must be a JSON object, got list."}
    unknown = host.request("no_such_op")
    assert unknown["ok"] is False and "no_such_op" in unknown["error"]
    missing = host.request("analyze")
    assert missing["ok"] is False and "'project'" in missing["error"]
    assert host.request("ping")["result"] == "pong"


def test_a_failing_analysis_is_an_error_reply_then_the_next_one_works(host: HostProcess) -> None:
    broken = project_data()
    broken["nodes"][1]["type"] = "NoSuchLayer"
    reply = host.request("analyze", project=broken)
    assert reply["ok"] is False and "NoSuchLayer" in reply["error"]
    assert output_shape(host.request("analyze", project=project_data(units=5)), "n2") == [None, 5]


# ------------------------------------------------------------------- engine
def test_analyze_gives_shapes_diagnostics_and_totals(host: HostProcess) -> None:
    reply = host.request("analyze", project=project_data(units=4, second_units=3))
    assert output_shape(reply, "n1") == [None, 8]
    assert output_shape(reply, "n2") == [None, 4]
    assert output_shape(reply, "n3") == [None, 3]
    assert reply["result"]["totals"] == [8 * 4 + 4 + 4 * 3 + 3, 0]
    assert reply["result"]["diagnostics"] == []


def test_a_second_analysis_follows_a_params_change(host: HostProcess) -> None:
    host.request("analyze", project=project_data(units=4))
    reply = host.request("analyze", project=project_data(units=6))
    assert output_shape(reply, "n2") == [None, 6]
    assert reply["result"]["totals"] == [8 * 6 + 6 + 6 * 3 + 3, 0]


def test_an_analysis_reports_layer_errors_as_diagnostics(host: HostProcess) -> None:
    data = project_data()
    data["nodes"][0]["params"] = {"shape": [4, 4, 2]}
    data["nodes"][1] = _node("n2", "Conv2D", "hidden", {"filters": 2, "kernel_size": [9, 9]})
    reply = host.request("analyze", project=data)
    assert reply["ok"], reply
    codes = [diagnostic["code"] for diagnostic in reply["result"]["diagnostics"]]
    assert "layer" in codes
    assert reply["result"]["results"]["n3"]["blocked"] is True


def test_an_analysis_carries_keras_message_about_a_param(host: HostProcess) -> None:
    reply = host.request("analyze", project=project_data(units=-3))
    assert reply["ok"], reply
    results = reply["result"]["results"]
    assert "positive integer" in results["n2"]["param_errors"]["units"]
    assert results["n1"]["param_errors"] == {} and results["n3"]["param_errors"] == {}


def test_an_unwritable_cache_still_gives_a_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    in_the_way = tmp_path / "a file"
    in_the_way.write_text("not a folder")
    catalog = EngineHost(cache_dir=in_the_way).handle({"id": 1, "op": "catalog"})
    assert "Dense" in {spec["key"] for spec in catalog["specs"]}
    assert "cannot be written" in capsys.readouterr().err


# ------------------------------------------------------------------- streams
NOISY_HOST = """
import os, sys
import keras
from designer.engine import host

plain_build = keras.layers.Dense.build

def noisy_build(self, input_shape):  # Keras reads the argument's name
    print("print() from a layer")
    sys.__stdout__.write("sys.__stdout__ from a layer\\n")
    sys.__stdout__.flush()
    os.write(1, b"file descriptor 1 from a layer\\n")
    return plain_build(self, input_shape)

keras.layers.Dense.build = noisy_build
sys.exit(host.main(sys.argv[1:]))
"""


def test_output_of_layer_code_goes_to_stderr_not_into_the_protocol(tmp_path: Path) -> None:
    noisy = HostProcess(tmp_path, ["-c", NOISY_HOST])
    try:
        assert noisy.ready_line["result"] == "ready"
        assert output_shape(noisy.request("analyze", project=project_data(units=7)), "n2") == [None, 7]
        assert noisy.request("ping")["result"] == "pong"
    finally:
        assert noisy.close() == 0
    stderr = noisy.stderr_path.read_text()
    for text in ("print() from a layer", "sys.__stdout__ from a layer", "file descriptor 1 from a layer"):
        assert text in stderr


# --------------------------------------------------------------- the diff
def test_changed_nodes_without_a_previous_design_asks_for_a_full_pass() -> None:
    assert changed_nodes(None, project_data()) is None


def test_changed_nodes_of_a_params_change_is_the_node() -> None:
    assert changed_nodes(project_data(units=4), project_data(units=5)) == {"n2"}


def test_changed_nodes_ignores_positions() -> None:
    moved = project_data()
    moved["nodes"][1]["position"] = [120.0, 40.0]
    assert changed_nodes(project_data(), moved) == set()


def test_changed_nodes_of_edges_are_their_targets_and_new_nodes_count() -> None:
    before = project_data()
    after = copy.deepcopy(before)
    after["nodes"].append(_node("n4", "Dense", "extra", {"units": 2}))
    after["edges"] = [_edge("n1", "n2"), _edge("n1", "n3"), _edge("n3", "n4")]
    assert changed_nodes(before, after) == {"n3", "n4"}


def test_changed_nodes_of_a_rename_include_the_nodes_it_feeds() -> None:
    renamed = project_data()
    renamed["nodes"][1]["name"] = "features"
    assert changed_nodes(project_data(), renamed) == {"n2", "n3"}


def test_changed_nodes_treats_true_and_one_as_different() -> None:
    before, after = project_data(), project_data()
    before["nodes"][1]["params"]["use_bias"] = 1
    after["nodes"][1]["params"]["use_bias"] = True
    assert changed_nodes(before, after) == {"n2"}


def test_changed_nodes_include_the_sharers_of_a_changed_layer() -> None:
    before = project_data()
    before["nodes"].append({**_node("n4", "Dense", "again", {}), "shares": "n3"})
    before["edges"].append(_edge("n2", "n4"))
    after = copy.deepcopy(before)
    after["nodes"][2]["params"] = {"units": 9}
    assert changed_nodes(before, after) == {"n3", "n4"}


# ------------------------------------------------------------ custom layers
CUSTOM_LAYERS = '''
import keras
import tensorflow as tf


class TfDense(keras.layers.Layer):
    """A dense layer written with tf.* ops."""

    def __init__(self, units: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units))

    def call(self, inputs):
        return tf.nn.relu(tf.matmul(inputs, self.w))


class Broken(keras.layers.Layer):
    def call(self, inputs)
        return inputs
'''
BROKEN_LINE = CUSTOM_LAYERS.splitlines().index("    def call(self, inputs)") + 1

CRASHING_LAYER = """
import os
import keras


class Crash(keras.layers.Layer):
    def build(self, input_shape):
        os._exit(3)

    def call(self, inputs):
        return inputs
"""


def custom_project(*types: str) -> dict[str, Any]:
    """Input (8,) -> one node of each type, in a chain; the last one the output."""
    data = project_data()
    data["nodes"] = [_node("n1", "Input", "inputs", {"shape": [8]})]
    data["edges"], previous = [], "n1"
    for index, type_key in enumerate(types, start=2):
        data["nodes"].append(_node(f"n{index}", type_key, f"layer_{index}", {}))
        data["edges"].append(_edge(previous, f"n{index}"))
        previous = f"n{index}"
    data["outputs"] = [{"node": previous, "port": 0, "name": "out"}]
    return data


def node_messages(reply: dict[str, Any], node_id: str) -> list[str]:
    return [d["message"] for d in reply["results"][node_id]["diagnostics"]]


@pytest.fixture
def trust_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TrustStore:
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    return TrustStore()


@pytest.fixture
def layer_file(tmp_path: Path) -> Path:
    folder = tmp_path / "design"
    folder.mkdir()
    path = folder / "host_layers.py"
    path.write_text(CUSTOM_LAYERS)
    return path


def test_custom_layer_files_run_only_once_trusted_and_join_catalog_and_analysis(
    trust_store: TrustStore, layer_file: Path
) -> None:
    engine = EngineHost()
    untrusted = engine.handle({"op": "load_custom_layers", "paths": [str(layer_file.parent)]})
    assert untrusted["specs"] == [] and untrusted["loaded"] == []
    assert "not trusted" in untrusted["problems"][0]["message"]
    declined = engine.handle({"op": "analyze", "project": custom_project("host_layers.TfDense")})
    assert "host_layers.py is not trusted" in node_messages(declined, "n2")[0]

    trust_store.trust([layer_file])
    reply = engine.handle({"op": "load_custom_layers", "paths": [str(layer_file)]})
    assert [spec["key"] for spec in reply["specs"]] == ["host_layers.TfDense"]
    assert reply["problems"] == [
        {"file": str(layer_file), "line": BROKEN_LINE, "message": "SyntaxError: expected ':'"}
    ]
    catalog = engine.handle({"op": "catalog"})
    assert "host_layers.TfDense" in {spec["key"] for spec in catalog["specs"]}
    analysis = engine.handle(
        {"op": "analyze", "project": custom_project("host_layers.TfDense", "host_layers.Broken")}
    )
    assert analysis["results"]["n2"]["outputs"][0]["shape"] == [None, 4]
    problem = f"host_layers.py:{BROKEN_LINE}: SyntaxError: expected ':'"
    assert node_messages(analysis, "n3") == [
        f"layer_3: host_layers.py defines no layer class Broken ({problem})."
    ]
    warnings = [d["message"] for d in analysis["diagnostics"] if d["code"] == "custom-layer-file"]
    assert warnings == [f"host_layers.py:{BROKEN_LINE}: SyntaxError: expected ':'"]


RAISING_LAYER = """import keras


class Raising(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = 1 / 0
"""


def test_an_error_in_a_custom_layers_build_names_its_file_and_line_in_the_nodes_diagnostic(
    trust_store: TrustStore, tmp_path: Path
) -> None:
    path = tmp_path / "raising_layers.py"
    path.write_text(RAISING_LAYER)
    trust_store.trust([path])
    engine = EngineHost()
    assert engine.handle({"op": "load_custom_layers", "paths": [str(path)]})["problems"] == []
    analysis = engine.handle({"op": "analyze", "project": custom_project("raising_layers.Raising")})
    assert node_messages(analysis, "n2") == [
        "layer_2 (raising_layers.Raising): raising_layers.py:6: ZeroDivisionError: division by zero"
    ]


def test_a_reload_keeps_the_last_good_version_of_a_layer_it_breaks(
    trust_store: TrustStore, layer_file: Path
) -> None:
    engine = EngineHost()
    trust_store.trust([layer_file])
    engine.handle({"op": "load_custom_layers", "paths": [str(layer_file)]})
    wider = CUSTOM_LAYERS.replace("units: int = 4", "units: int = 6")
    layer_file.write_text(wider)
    trust_store.trust([layer_file])
    reply = engine.handle({"op": "load_custom_layers", "paths": [str(layer_file)]})
    [spec] = reply["specs"]
    assert [p["default"] for p in spec["params"] if p["name"] == "units"] == [6]
    analysis = engine.handle({"op": "analyze", "project": custom_project("host_layers.TfDense")})
    assert analysis["results"]["n2"]["outputs"][0]["shape"] == [None, 6]

    broken = wider.replace("return tf.nn.relu(tf.matmul(inputs, self.w))", "return tf.nn.relu(")
    layer_file.write_text(broken)
    trust_store.trust([layer_file])
    reply = engine.handle({"op": "load_custom_layers", "paths": [str(layer_file)]})
    assert [s["key"] for s in reply["specs"]] == ["host_layers.TfDense"]  # the last good version
    assert any(p["line"] and "SyntaxError" in p["message"] for p in reply["problems"])
    analysis = engine.handle({"op": "analyze", "project": custom_project("host_layers.TfDense")})
    assert analysis["results"]["n2"]["outputs"][0]["shape"] == [None, 6]

    layer_file.write_text(CUSTOM_LAYERS.replace("units: int = 4", "units: int = 9"))  # not trusted
    reply = engine.handle({"op": "load_custom_layers", "paths": [str(layer_file)]})
    assert "the last trusted version stays in use" in reply["problems"][0]["message"]
    assert [p["default"] for p in reply["specs"][0]["params"] if p["name"] == "units"] == [6]


HELPED_LAYERS = """
import keras
from helped_helper import scale


class Scaled(keras.layers.Layer):
    def call(self, inputs):
        return inputs * scale()
"""


def test_a_changed_helper_of_a_trusted_file_does_not_run_until_trusted_again(
    trust_store: TrustStore, tmp_path: Path
) -> None:
    marker = tmp_path / "the new helper ran"
    layer = tmp_path / "design" / "helped_layers.py"
    layer.parent.mkdir()
    layer.write_text(HELPED_LAYERS)
    helper = layer.parent / "helped_helper.py"
    helper.write_text("def scale():\n    return 2.0\n")
    trust_store.trust([layer])
    engine = EngineHost()
    reply = engine.handle({"op": "load_custom_layers", "paths": [str(layer)]})
    assert [spec["key"] for spec in reply["specs"]] == ["helped_layers.Scaled"] and reply["problems"] == []

    helper.write_text(f"open({str(marker)!r}, 'w').close()\ndef scale():\n    return 3.0\n")
    reply = engine.handle({"op": "load_custom_layers", "paths": [str(layer)]})
    assert "the last trusted version stays in use" in reply["problems"][0]["message"]
    assert not marker.exists()

    trust_store.trust([layer])
    reply = engine.handle({"op": "load_custom_layers", "paths": [str(layer)]})
    assert reply["problems"] == [] and marker.exists()  # the new helper, not the one imported before


def test_the_import_op_reads_a_file_and_runs_module_function_only_when_asked(tmp_path: Path) -> None:
    marker = tmp_path / "model.py ran"
    (tmp_path / "model.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef build():\n    pass\n")
    (tmp_path / "model.py:build").write_text("not a model")
    engine = EngineHost()
    weights = str(tmp_path / "weights")
    picked = {"id": 1, "op": "import", "source": str(tmp_path / "model.py:build"), "weights_dir": weights}
    reply = answer(engine, json.dumps(picked))
    assert "expected a .keras or .h5 model file" in json.loads(reply)["error"]
    assert not marker.exists()
    (tmp_path / "model.py").rename(tmp_path / "builder.py")
    request = {"id": 2, "op": "import", "source": f"{tmp_path / 'builder.py'}:build", "weights_dir": weights}
    reply = answer(engine, json.dumps(request))
    assert "expected a .keras or .h5 model file" in json.loads(reply)["error"]  # a file unless code
    assert not marker.exists()
    reply = answer(engine, json.dumps({**request, "code": True}))
    assert "returned a NoneType, not a keras.Model" in json.loads(reply)["error"] and marker.exists()


def test_check_layer_reports_shapes_and_weights_or_the_error_line(trust_store: TrustStore) -> None:
    engine = EngineHost()
    source = CUSTOM_LAYERS.replace("    def call(self, inputs)\n", "    def call(self, inputs):\n")
    good = engine.handle(
        {"op": "check_layer", "source": source, "class_name": "TfDense", "input_shape": "(None, 16)"}
    )
    assert good["output_shape"] == [None, 4] and good["params"] == {"units": 4}
    assert [(w["shape"], w["trainable"]) for w in good["weights"]] == [([16, 4], True)]
    assert (good["trainable"], good["non_trainable"]) == (64, 0)
    wrong = source.replace("tf.matmul(inputs, self.w)", "tf.matmul(inputs, self.kernel)")
    failed = engine.handle(
        {"op": "check_layer", "source": wrong, "class_name": "TfDense", "input_shape": "(None, 16)"}
    )
    assert (
        failed["line"]
        == wrong.splitlines().index("        return tf.nn.relu(tf.matmul(inputs, self.kernel))") + 1
    )
    assert failed["error"] == "AttributeError: 'TfDense' object has no attribute 'kernel'"
    syntax = engine.handle({"op": "check_layer", "source": CUSTOM_LAYERS, "input_shape": "(None, 16)"})
    assert (syntax["error"], syntax["line"]) == ("SyntaxError: expected ':'", BROKEN_LINE)
    shape = engine.handle({"op": "check_layer", "source": source, "input_shape": "(None, sixteen)"})
    assert shape["field"] == "input_shape" and "(None, 16)" in shape["error"]


def test_a_layer_that_crashes_the_engine_is_not_run_again_by_the_next_one(
    tmp_path: Path, trust_store: TrustStore
) -> None:
    path = tmp_path / "crashing.py"
    path.write_text(CRASHING_LAYER)
    trust_store.trust([path])
    guard = str(tmp_path / "guard.json")
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = HostProcess(tmp_path / "first", ["-m", "designer.engine.host"])
    assert first.request("load_custom_layers", paths=[str(path)], guard=guard)["ok"]
    first.send(
        json.dumps({"id": 99, "op": "analyze", "project": custom_project("crashing.Crash", "Flatten")})
    )
    assert first.process.wait(timeout=REPLY_TIMEOUT_S) == 3  # the layer's build ended the process
    first.close()

    second = HostProcess(tmp_path / "second", ["-m", "designer.engine.host"])
    try:
        loaded = second.request("load_custom_layers", paths=[str(path)], guard=guard)["result"]
        assert [(e["kind"], e["key"], e["name"]) for e in loaded["stopped"]] == [
            ("layer", "crashing.Crash", "layer_2")
        ]
        reply = second.request("analyze", project=custom_project("crashing.Crash", "Flatten"))
        [diagnostic] = reply["result"]["results"]["n2"]["diagnostics"]
        assert (
            diagnostic["code"] == "custom-layer-stopped"
            and "engine stopped while inferring" in diagnostic["message"]
        )
        assert reply["result"]["results"]["n3"]["blocked"]
        path.write_text(CRASHING_LAYER.replace("os._exit(3)", "pass"))  # fixed: it runs again
        trust_store.trust([path])
        assert second.request("load_custom_layers", paths=[str(path)], guard=guard)["result"]["stopped"] == []
        fixed = second.request("analyze", project=custom_project("crashing.Crash", "Flatten"))
        assert output_shape(fixed, "n2") == [None, 8]
    finally:
        assert second.close() == 0


def test_editor_code_that_crashed_the_engine_is_refused_by_the_next_one(tmp_path: Path) -> None:
    guard = str(tmp_path / "guard.json")
    crashing = CRASHING_LAYER.replace("os._exit(3)", "os._exit(4)")
    for folder in ("first", "second"):
        (tmp_path / folder).mkdir()
    first = HostProcess(tmp_path / "first", ["-m", "designer.engine.host"])
    first.send(
        json.dumps(
            {"id": 5, "op": "check_layer", "source": crashing, "input_shape": "(None, 4)", "guard": guard}
        )
    )
    assert first.process.wait(timeout=REPLY_TIMEOUT_S) == 4
    first.close()
    second = HostProcess(tmp_path / "second", ["-m", "designer.engine.host"])
    try:
        again = second.request("check_layer", source=crashing, input_shape="(None, 4)", guard=guard)["result"]
        assert again["error"].startswith("The engine stopped while checking this code (it crashed or hung)")
        fixed = second.request(
            "check_layer",
            source=crashing.replace("os._exit(4)", "pass"),
            input_shape="(None, 4)",
            guard=guard,
        )
        assert fixed["result"]["output_shape"] == [None, 4]  # changed code runs
    finally:
        assert second.close() == 0


def test_check_layer_warns_when_compute_output_shape_or_get_config_disagree(trust_store: TrustStore) -> None:
    source = """
import keras


class Widen(keras.layers.Layer):
    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return keras.ops.concatenate([inputs] * self.factor, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return super().get_config()
"""
    reply = EngineHost().handle({"op": "check_layer", "source": source, "input_shape": "(None, 3)"})
    assert reply["output_shape"] == [None, 3]  # what compute_output_shape says, as the designer shows
    shape, config = reply["warnings"]
    assert shape["message"].startswith("compute_output_shape gives (None, 3), but call returns (2, 6)")
    assert config["message"].startswith(
        "get_config does not return factor: a saved model would load with the default"
    )


def test_an_imported_registered_layer_analyses_in_the_same_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import's specs of a registered class (source "user") stay in the catalog: only layers
    of custom-layer files are dropped when their files go."""
    import keras

    (tmp_path / "registered_scale.py").write_text(
        "import keras\n\n\n"
        '@keras.saving.register_keras_serializable(package="host_tests")\n'
        "class Scale(keras.layers.Layer):\n"
        "    def call(self, inputs):\n"
        "        return inputs * 2.0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import registered_scale

    inputs = keras.Input((3,), name="x")
    keras.Model(inputs, registered_scale.Scale(name="scale")(inputs)).save(tmp_path / "scaled.keras")
    engine = EngineHost()
    answer = engine.handle(
        {"op": "import", "source": str(tmp_path / "scaled.keras"), "weights_dir": str(tmp_path / "w")}
    )
    assert [spec["key"] for spec in answer["specs"]] == ["registered_scale.Scale"]
    for _ in range(2):
        analysis = engine.handle({"op": "analyze", "project": answer["project"]})
        assert [d for d in analysis["diagnostics"] if d["severity"] == "error"] == []


def test_an_import_records_the_custom_layer_files_its_classes_come_from(
    trust_store: TrustStore, tmp_path: Path
) -> None:
    """The GUI imports in the engine: a model using a class of a loaded custom-layer file gives a
    project that names that file (absolutely: the design has no folder yet), so the design
    keeps loading it (issue 14, item 7)."""
    import keras

    layer_file = tmp_path / "recorded_scaling.py"
    layer_file.write_text(
        "import keras\n\n\n"
        '@keras.saving.register_keras_serializable(package="host_record")\n'
        "class RecordedScale(keras.layers.Layer):\n"
        "    def call(self, inputs):\n"
        "        return inputs * 2.0\n"
    )
    trust_store.trust([layer_file])
    engine = EngineHost()
    assert engine.handle({"op": "load_custom_layers", "paths": [str(layer_file)]})["problems"] == []
    scale = sys.modules["recorded_scaling"].RecordedScale
    inputs = keras.Input((3,), name="x")
    keras.Model(inputs, scale(name="scale")(inputs)).save(tmp_path / "scaled.keras")
    answer = engine.handle(
        {"op": "import", "source": str(tmp_path / "scaled.keras"), "weights_dir": str(tmp_path / "w")}
    )
    assert answer["specs"] == []  # the loaded file's layer, not a class of the import's own
    assert answer["project"]["custom_layers"] == [str(layer_file.resolve())]
    assert answer["project"]["nodes"][1]["type"] == "recorded_scaling.RecordedScale"
