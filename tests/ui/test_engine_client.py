"""The engine client starts the host in the background, keeps a document in step, and survives
a killed or hung host."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEventLoop
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from test_canvas import small_catalog

from designer.catalog.spec import IMPORTED_SPECS_KEY, Catalog
from designer.graph import project
from designer.graph.model import Edge, ModelGraph, Node
from designer.ui import engine_client
from designer.ui.document import Document
from designer.ui.engine_client import EngineClient, EngineSync, analysis_data, cached_catalog

START_TIMEOUT_MS = 120_000  # importing TensorFlow on a small, busy machine
REPLY_TIMEOUT_MS = 30_000


def project_data(units: int = 4) -> dict[str, Any]:
    """Input (8,) -> Dense(units), the model output."""
    return {
        "format_version": project.PROJECT_FORMAT_VERSION,
        "name": "model",
        "nodes": [
            {"id": "n1", "type": "Input", "name": "inputs", "params": {"shape": [8]}, "position": [0, 0]},
            {"id": "n2", "type": "Dense", "name": "hidden", "params": {"units": units}, "position": [0, 0]},
        ],
        "edges": [{"source": "n1", "source_port": 0, "target": "n2", "target_port": 0}],
        "outputs": [{"node": "n2", "port": 0, "name": "hidden"}],
    }


def wait_until_stopped(client: EngineClient, timeout_s: float = 10.0) -> None:
    """Run the event loop until the client's processes are gone (no qtbot in module fixtures)."""
    deadline = time.monotonic() + timeout_s
    while client.is_running and time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)
    assert not client.is_running


@dataclass
class SharedEngine:
    """One client for the tests that leave it healthy, with every status it reported."""

    client: EngineClient
    statuses: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine-cache")


@pytest.fixture(scope="module")
def shared(qapp: QApplication, cache_dir: Path) -> Iterator[SharedEngine]:
    engine = SharedEngine(EngineClient(cache_dir))
    engine.client.status_changed.connect(engine.statuses.append)
    engine.client.start()
    yield engine
    engine.client.stop()
    wait_until_stopped(engine.client)


@pytest.fixture
def client(qtbot: QtBot, shared: SharedEngine) -> EngineClient:
    qtbot.waitUntil(lambda: shared.client.is_ready, timeout=START_TIMEOUT_MS)
    return shared.client


@pytest.fixture
def make_client(qtbot: QtBot, cache_dir: Path) -> Iterator[Callable[..., EngineClient]]:
    made: list[EngineClient] = []

    def make(**options: Any) -> EngineClient:
        made.append(EngineClient(cache_dir, **options))
        return made[-1]

    yield make
    for each in made:
        each.stop()
        wait_until_stopped(each)


def fetch_catalog(qtbot: QtBot, client: EngineClient) -> Catalog:
    with qtbot.waitSignal(client.catalog_ready, timeout=REPLY_TIMEOUT_MS) as blocker:
        client.request_catalog()
    return blocker.args[0]


def small_graph(catalog: Catalog, units: int = 4) -> ModelGraph:
    graph = ModelGraph()
    graph.add_node(Node("n1", "Input", "inputs", {"shape": [8]}, ports=catalog["Input"].ports))
    graph.add_node(Node("n2", "Dense", "hidden", {"units": units}, ports=catalog["Dense"].ports))
    graph.connect(Edge("n1", 0, "n2", 0))
    graph.mark_output("n2")
    return graph


def output_shape(results: dict[str, Any], node_id: str) -> tuple[int | None, ...]:
    return results[node_id].outputs[0].shape


# ------------------------------------------------------------------- start
def test_start_reports_ready_and_serves_the_catalog(
    qtbot: QtBot, client: EngineClient, shared: SharedEngine, cache_dir: Path
) -> None:
    assert shared.statuses[:2] == ["Engine starting...", "Engine ready"]
    catalog = fetch_catalog(qtbot, client)
    assert {"Input", "Dense", "Conv2D"} <= set(catalog)
    cached = cached_catalog(cache_dir)
    # The disk cache holds Keras' layers; the library in layers/ comes with the engine's answer.
    assert cached is not None and list(cached) == [key for key in catalog if not key.startswith("layers.")]
    assert cached["Dense"] == catalog["Dense"]
    assert "layers.sampling.Sampling" in catalog


def test_cached_catalog_is_none_without_a_cache_or_a_shipped_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cached_catalog(tmp_path) is not None  # a first start: the snapshot shipped for this Keras
    monkeypatch.setattr(engine_client, "_snapshot_folder", lambda: tmp_path / "no-snapshots")
    assert cached_catalog(tmp_path) is None


def test_the_analysis_brings_keras_message_about_a_param(qtbot: QtBot, client: EngineClient) -> None:
    with qtbot.waitSignal(client.analysis_ready, timeout=REPLY_TIMEOUT_MS) as blocker:
        request_id = client.analyze(project_data(units=-3))
    results, _, serial = blocker.args
    assert serial == request_id
    assert "positive integer" in dict(results["n2"].param_errors)["units"]
    assert results["n1"].param_errors == ()


def test_any_other_op_is_answered_with_its_id_and_op(qtbot: QtBot, client: EngineClient) -> None:
    with qtbot.waitSignal(client.answered, timeout=REPLY_TIMEOUT_MS) as blocker:
        request_id = client.request("ping")
    assert blocker.args == [request_id, "ping", "pong"]
    with qtbot.waitSignal(client.request_failed, timeout=REPLY_TIMEOUT_MS) as failed:
        unknown = client.request("no_such_op", {"x": 1})
    assert failed.args[0] == unknown
    assert "no_such_op" in failed.args[1]


def test_analyses_are_latest_wins(qtbot: QtBot, client: EngineClient) -> None:
    answered: list[int] = []
    client.analysis_ready.connect(lambda results, diagnostics, serial: answered.append(serial))
    first, skipped, latest = (client.analyze(project_data(units)) for units in (3, 5, 6))
    qtbot.waitUntil(lambda: latest in answered, timeout=REPLY_TIMEOUT_MS)
    assert answered == [first, latest]
    assert skipped not in answered


def test_a_failed_analysis_is_reported(qtbot: QtBot, client: EngineClient) -> None:
    broken = project_data()
    broken["nodes"][1]["type"] = "NoSuchLayer"
    with qtbot.waitSignal(client.request_failed, timeout=REPLY_TIMEOUT_MS) as blocker:
        serial = client.analyze(broken)
    assert blocker.args[0] == serial and "NoSuchLayer" in blocker.args[1]


# -------------------------------------------------------------------- sync
def test_engine_sync_applies_the_shapes_of_each_edit(qtbot: QtBot, client: EngineClient) -> None:
    catalog = fetch_catalog(qtbot, client)
    document = Document(catalog, small_graph(catalog))
    with qtbot.waitSignal(client.analysis_ready, timeout=REPLY_TIMEOUT_MS):
        sync = EngineSync(document, client)
    qtbot.waitUntil(lambda: "n2" in document.results, timeout=REPLY_TIMEOUT_MS)
    assert output_shape(document.results, "n2") == (None, 4)

    with qtbot.waitSignal(sync.analysis_applied, timeout=REPLY_TIMEOUT_MS):
        document.graph.set_params("n2", {"units": 7})
    assert output_shape(document.results, "n2") == (None, 7)

    with qtbot.assertNotEmitted(sync.analysis_applied, wait=300):
        document.graph.move("n2", (120.0, 40.0))
    sync.close()


def test_engine_sync_follows_a_replaced_graph(qtbot: QtBot, client: EngineClient) -> None:
    catalog = fetch_catalog(qtbot, client)
    document = Document(catalog, small_graph(catalog))
    sync = EngineSync(document, client)
    with qtbot.waitSignal(sync.analysis_applied, timeout=REPLY_TIMEOUT_MS):
        document.replace(project.Project(small_graph(catalog, units=2)), None)
    assert output_shape(document.results, "n2") == (None, 2)
    with qtbot.waitSignal(sync.analysis_applied, timeout=REPLY_TIMEOUT_MS):
        document.graph.set_params("n2", {"units": 9})
    assert output_shape(document.results, "n2") == (None, 9)
    sync.close()


# ------------------------------------------------------------- supervision
def test_a_killed_engine_is_reported_restarted_and_answers_the_last_analysis(
    qtbot: QtBot, make_client: Callable[..., EngineClient]
) -> None:
    engine = make_client()
    statuses: list[str] = []
    engine.status_changed.connect(statuses.append)
    with qtbot.waitSignal(engine.started, timeout=START_TIMEOUT_MS):
        engine.start()
    process_id = engine.process_id
    assert process_id is not None

    with qtbot.waitSignal(engine.crashed, timeout=REPLY_TIMEOUT_MS) as crash:
        serial = engine.analyze(project_data(units=5))
        os.kill(process_id, signal.SIGKILL)
    assert "Engine crashed (exit code -9): restarted" in statuses
    assert crash.args[0].startswith("Engine crashed (exit code -9): restarted")

    with qtbot.waitSignal(
        engine.analysis_ready, timeout=START_TIMEOUT_MS, check_params_cb=lambda *args: args[2] == serial
    ) as answer:
        pass
    assert output_shape(answer.args[0], "n2") == (None, 5)
    assert engine.is_ready and engine.process_id not in (None, process_id)


def test_a_hung_engine_is_killed_restarted_and_reported(
    qtbot: QtBot, make_client: Callable[..., EngineClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGNER_ENGINE_TEST_HANG_OP", "analyze")  # the host's documented test hook
    engine = make_client(analyze_timeout_s=3)
    statuses: list[str] = []
    engine.status_changed.connect(statuses.append)
    with qtbot.waitSignal(engine.started, timeout=START_TIMEOUT_MS):
        engine.start()

    with qtbot.waitSignal(engine.request_failed, timeout=REPLY_TIMEOUT_MS) as failure:
        serial = engine.analyze(project_data())
    assert failure.args == [serial, "Engine did not answer in 3 s"]
    assert "Engine did not answer in 3 s: restarted" in statuses

    with qtbot.waitSignal(engine.started, timeout=START_TIMEOUT_MS):
        pass
    assert "Dense" in fetch_catalog(qtbot, engine)  # the request that hung is not sent again


def test_the_analysis_sends_the_graph_and_imported_specs_but_not_unknown_keys() -> None:
    catalog = small_catalog()
    imported = [{**catalog["Dense"].to_dict(), "key": "ops.dense_copy"}]
    loaded = project.Project(
        small_graph(catalog),
        training={"epochs": 3},
        custom_layers=["layers.py"],
        extra={"notes": "x" * 5_000_000, IMPORTED_SPECS_KEY: imported},
    )
    document = Document(catalog)
    document.replace(loaded, None)
    data = analysis_data(document)
    assert "notes" not in data and data["training"] is None
    assert data[IMPORTED_SPECS_KEY] == imported and data["custom_layers"] == ["layers.py"]
    assert project.from_dict(data, catalog.with_project_specs(data).ports_of).graph == document.graph
    assert len(json.dumps(data)) < 100_000
