"""The GUI thread is never held by slow work: Start, Resume, Export, the run lists and a data fix.

Each test makes the slow step deliberately slow (the real function of the code path, called after
a one-second sleep) and keeps a 10 ms heartbeat timer on the GUI thread while the action runs: the
event loop kept turning when the widest gap between heartbeats stays under 100 ms, however fast
the machine is. Done on the GUI thread, the sleep alone would make a gap of a second. Also: answers
about a design no longer open never land in the next one, and the worker threads never hold the
application when it exits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from stall_helpers import Slowed, assert_loop_kept_turning, heartbeat
from test_main_window import make_window

from designer.catalog.keras_layers import build_catalog
from designer.catalog.spec import Catalog
from designer.graph import project
from designer.graph.model import ModelGraph
from designer.training.config import TrainingConfig
from designer.training.runs import RunFolder, default_runs_root
from designer.ui import training_client
from designer.ui.document import Document
from designer.ui.panels import code_view, inspection_client
from designer.ui.panels import training as training_panel
from designer.ui.panels.inspection_client import InspectionClient, SourcePicker
from designer.ui.panels.training import TrainingView
from designer.ui.panels.training_config import SetTrainingConfig, current_config
from designer.ui.training_client import TrainingClient, runs_root

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
WAIT_MS = 120_000


# ----------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog()


@pytest.fixture
def document(tmp_path: Path, catalog: Catalog) -> Document:
    path = tmp_path / "digits_mlp.json"
    shutil.copy(EXAMPLES / "digits_mlp.json", path)
    document = Document(catalog)
    document.open(path)
    return document


@pytest.fixture
def client(qtbot: QtBot) -> Iterator[TrainingClient]:
    client = TrainingClient()
    yield client
    client.shutdown()


@pytest.fixture
def view(qtbot: QtBot, document: Document, client: TrainingClient) -> TrainingView:
    view = TrainingView(document, client)
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitUntil(lambda: not view.listing_runs, timeout=10_000)
    return view


def configure(document: Document, **changes: Any) -> None:
    data = {**current_config(document).to_dict(), **changes}
    document.undo_stack.push(SetTrainingConfig(document, data, "Configure the test run"))


def finished_run(root: Path, name: str, epochs_done: int, epochs: int) -> RunFolder:
    """A run folder as list_runs reads it, stopped after `epochs_done` epochs with a checkpoint."""
    run = RunFolder(root / name)
    run.checkpoints.mkdir(parents=True)
    run.run_file.write_text(json.dumps({"graph_hash": "0" * 64}))
    run.config_file.write_text(json.dumps(TrainingConfig(epochs=epochs).to_dict()))
    events = [{"type": "start", "time": 0.0, "epochs": epochs, "steps_per_epoch": 10}]
    events += [
        {"type": "epoch", "time": 1.0 + e, "epoch": e, "logs": {"loss": 1.0}} for e in range(epochs_done)
    ]
    events.append({"type": "stopped", "time": 9.0, "epochs": epochs_done, "reason": "stop requested"})
    run.events_file.write_text("".join(json.dumps(event) + "\n" for event in events))
    run.last_checkpoint.write_bytes(b"")
    run.last_state_file.write_text(json.dumps({"epoch": epochs_done}))
    return run


# -------------------------------------------------------------------- Start
def test_start_never_holds_the_gui_thread_while_the_data_is_read(
    qtbot: QtBot, view: TrainingView, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start's data check takes a second (then the real check, codegen with ruff and the run folder
    follow, all on the start's worker thread): the loop turns throughout, until the worker starts."""
    slowed = Slowed(training_client.check_data)
    monkeypatch.setattr(training_client, "check_data", slowed)
    configure(document, epochs=1)
    with heartbeat() as beat, qtbot.waitSignal(view.client.started, timeout=WAIT_MS) as started:
        view.start_button.click()
    assert (started.args[0].path / "train.py").is_file()
    assert_loop_kept_turning(beat, slowed)
    with qtbot.waitSignal(view.client.finished, timeout=WAIT_MS):
        view.client.kill()


def test_resume_rewrites_the_runs_records_off_the_gui_thread(
    qtbot: QtBot, view: TrainingView, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = finished_run(runs_root(document), "run_0001", epochs_done=1, epochs=3)
    with run.events_file.open("a") as log:  # an epoch the checkpoint does not hold: the resume forgets it
        log.write(json.dumps({"type": "epoch", "time": 10.0, "epoch": 1, "logs": {"loss": 0.5}}) + "\n")
    slowed = Slowed(RunFolder.forget_epochs_from)
    monkeypatch.setattr(RunFolder, "forget_epochs_from", lambda run, epoch: slowed(run, epoch))
    with heartbeat() as beat, qtbot.waitSignal(view.client.started, timeout=WAIT_MS):
        assert view.client.resume(run)
        assert view.client.preparing and not view.client.running
    assert_loop_kept_turning(beat, slowed)
    assert [e["epoch"] for e in run.events() if e.get("type") == "epoch"] == [0]
    with qtbot.waitSignal(view.client.finished, timeout=WAIT_MS):
        view.client.kill()


def test_resume_from_the_panel_reads_the_runs_log_off_the_gui_thread(
    qtbot: QtBot, view: TrainingView, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pressing Resume: the checkpoint, the free disk and the log (made a second slow to read) are
    looked at on the client's worker thread; the curves so far show before the worker starts."""
    run = finished_run(runs_root(document), "run_0001", epochs_done=1, epochs=3)
    view.refresh_runs()
    qtbot.waitUntil(lambda: len(view.run_model.runs) == 1, timeout=10_000)
    view.run_table.selectRow(0)
    slowed = Slowed(RunFolder.events)
    monkeypatch.setattr(RunFolder, "events", lambda run: slowed(run))
    with heartbeat() as beat, qtbot.waitSignal(view.client.started, timeout=WAIT_MS):
        view.resume_button.click()
        assert view.client.preparing and not view.client.running
        assert view.run is not None and view.run.path == run.path
    assert_loop_kept_turning(beat, slowed)
    assert (view.curves.epochs, view.curves.epoch, view.curves.status) == (3, 1, "stopped")
    assert view.plots.plots["loss"].train_curve.getOriginalDataset()[0].tolist() == [1.0]
    with qtbot.waitSignal(view.client.finished, timeout=WAIT_MS):
        view.client.kill()


# ------------------------------------------------------------------- Export
def test_export_from_the_code_view_never_holds_the_gui_thread(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(qtbot, tmp_path)
    assert window.open_path(EXAMPLES / "digits_cnn.json")
    qtbot.waitUntil(lambda: "keras.Model(" in window.code.text(), timeout=WAIT_MS)
    slowed = Slowed(code_view.generate_model)
    monkeypatch.setattr(code_view, "generate_model", slowed)
    target = tmp_path / "model.py"
    window.ask_export_path = lambda: target  # type: ignore[method-assign]
    with heartbeat() as beat, qtbot.waitSignal(window.code.exported, timeout=WAIT_MS):
        window.code.export_button.click()
    assert "keras.Model(" in target.read_text(encoding="utf-8")
    assert_loop_kept_turning(beat, slowed)


def test_export_code_of_the_window_never_holds_the_gui_thread(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(qtbot, tmp_path)
    assert window.open_path(EXAMPLES / "digits_cnn.json")
    qtbot.waitUntil(lambda: "keras.Model(" in window.code.text(), timeout=WAIT_MS)
    slowed = Slowed(code_view.generate_model)
    monkeypatch.setattr(code_view, "generate_model", slowed)
    target = tmp_path / "exported.py"
    window.ask_export_path = lambda: target  # type: ignore[method-assign]
    with heartbeat() as beat, qtbot.waitSignal(window.code.exported, timeout=WAIT_MS):
        assert window.export_code()
    assert target.is_file()
    assert_loop_kept_turning(beat, slowed)


# ----------------------------------------------------------------- run list
def test_the_run_list_is_read_off_the_gui_thread(
    qtbot: QtBot, view: TrainingView, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished_run(runs_root(document), "run_0001", epochs_done=1, epochs=3)
    slowed = Slowed(training_panel.list_runs)
    monkeypatch.setattr(training_panel, "list_runs", slowed)
    with heartbeat() as beat, qtbot.waitSignal(view.runs_listed, timeout=WAIT_MS):
        view.refresh_runs()
        assert view.listing_runs
    assert_loop_kept_turning(beat, slowed)
    assert [run.name for run in view.run_model.runs] == ["run_0001"] and not view.listing_runs
    view.run_table.selectRow(0)
    assert view.resume_button.isEnabled()


def test_a_run_list_of_the_last_design_never_lands_in_the_next(
    qtbot: QtBot, view: TrainingView, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished_run(runs_root(document), "run_0001", epochs_done=1, epochs=3)
    view.refresh_runs()
    qtbot.waitUntil(lambda: len(view.run_model.runs) == 1, timeout=10_000)
    slowed = Slowed(training_panel.list_runs)
    monkeypatch.setattr(training_panel, "list_runs", slowed)
    view.refresh_runs()  # the last design's runs are read on the worker thread...
    document.replace(project.Project(ModelGraph("other")), None)  # ...while another design opens
    assert view.run_model.rowCount() == 0 and not view.resume_button.isEnabled()
    qtbot.waitUntil(lambda: len(slowed.calls) >= 2 and not view.listing_runs, timeout=WAIT_MS)
    qtbot.wait(100)
    assert view.run_model.rowCount() == 0  # the other design has no runs; the last one's never show


def run_names(picker: SourcePicker) -> list[str]:
    return [picker.run_combo.itemText(index) for index in range(picker.run_combo.count())]


@pytest.fixture
def picker(qtbot: QtBot, document: Document) -> Iterator[SourcePicker]:
    """The Weights/Activations run picker of a client without an engine, its first list read."""
    client = InspectionClient(document, None)
    picker = SourcePicker(client)
    qtbot.addWidget(picker)
    qtbot.waitUntil(lambda: not client.listing_runs, timeout=10_000)
    yield picker
    client.close()


def test_the_run_pickers_list_is_read_off_the_gui_thread(
    qtbot: QtBot, picker: SourcePicker, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished_run(runs_root(document), "run_0001", epochs_done=1, epochs=3)
    slowed = Slowed(inspection_client.list_runs)
    monkeypatch.setattr(inspection_client, "list_runs", slowed)
    with heartbeat() as beat:
        picker.client.refresh_runs()
        assert picker.client.listing_runs
        qtbot.waitUntil(lambda: run_names(picker) == ["Initial weights", "run_0001"], timeout=WAIT_MS)
    assert_loop_kept_turning(beat, slowed)
    assert not picker.client.listing_runs


def test_a_run_pickers_list_of_the_last_design_never_lands_in_the_next(
    qtbot: QtBot, picker: SourcePicker, document: Document, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished_run(runs_root(document), "run_0001", epochs_done=1, epochs=3)
    other = tmp_path / "other" / "digits_mlp.json"
    other.parent.mkdir()
    shutil.copy(EXAMPLES / "digits_mlp.json", other)
    finished_run(default_runs_root(other), "run_0002", epochs_done=1, epochs=3)
    slowed = Slowed(inspection_client.list_runs)
    monkeypatch.setattr(inspection_client, "list_runs", slowed)
    shown: list[list[str]] = []
    picker.client.runs_changed.connect(lambda runs: shown.append([run.name for run in runs]))
    picker.client.refresh_runs()  # the last design's runs are read on the worker thread...
    qtbot.wait(50)
    document.open(other)  # ...while another design opens (its path and its model: one read)
    assert run_names(picker) == ["Initial weights"]
    qtbot.waitUntil(lambda: run_names(picker) == ["Initial weights", "run_0002"], timeout=WAIT_MS)
    assert shown == [[], ["run_0002"]] and len(slowed.calls) == 2


# ----------------------------------------------------------------- data fix
@pytest.fixture
def refused_for_the_data(qtbot: QtBot, view: TrainingView, document: Document) -> TrainingView:
    """The panel after a Start refused for data that needs a reshape (a Fix button shown)."""
    configure(document, data={"kind": "sklearn", "name": "digits", "image": True})
    with qtbot.waitSignal(view.client.refused, timeout=WAIT_MS):
        view.start_button.click()
    assert view.problems.fix_buttons
    return view


def test_the_data_check_after_a_fix_runs_off_the_gui_thread(
    qtbot: QtBot, refused_for_the_data: TrainingView, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = refused_for_the_data
    slowed = Slowed(training_panel.check_data)
    monkeypatch.setattr(training_panel, "check_data", slowed)
    fixed = ["Fixed: the data fits the model. Press Start."]
    with heartbeat() as beat:
        view.problems.fix_buttons[0].click()
        assert view.problems.messages == ["Checking the data…"]
        qtbot.waitUntil(lambda: view.problems.messages == fixed, timeout=WAIT_MS)
    assert_loop_kept_turning(beat, slowed)


def test_a_data_check_after_a_fix_never_lands_in_the_next_design(
    qtbot: QtBot, refused_for_the_data: TrainingView, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = refused_for_the_data
    slowed = Slowed(training_panel.check_data)
    monkeypatch.setattr(training_panel, "check_data", slowed)
    view.problems.fix_buttons[0].click()
    document.replace(project.Project(ModelGraph("other")), None)
    assert view.problems.messages == []
    qtbot.waitUntil(lambda: bool(slowed.calls), timeout=WAIT_MS)
    qtbot.wait(100)
    assert view.problems.messages == []


# ------------------------------------------------------------- closing
CLOSING_SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow
    from designer.ui.background import BackgroundJobs

    application = QApplication([])
    window = QMainWindow()
    jobs = BackgroundJobs("download", window)
    forever = threading.Event()
    jobs.submit(forever.wait, done=print, failed=print)  # a download that never ends
    jobs.submit(print, "never run", done=print, failed=print)
    window.show()
    QTimer.singleShot(200, window.close)
    application.setQuitOnLastWindowClosed(True)
    application.exec()
    print("closed", jobs.worker_thread.daemon, jobs.worker_thread.is_alive(), flush=True)
    """
)


def test_closing_the_window_never_waits_for_a_job_still_running() -> None:
    """A job that never ends (a download that hangs) does not hold the closing application: its
    thread is a daemon, nothing joins it at exit. Joined (as concurrent.futures' threads are), the
    process would never end and the timeout below would fail the test."""
    began = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-c", CLOSING_SCRIPT],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == ["closed True True"]
    assert time.perf_counter() - began < 60
