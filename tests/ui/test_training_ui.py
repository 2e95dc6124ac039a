"""The training panel with real worker processes: live curves, Stop and Resume, NaN, a killed worker,
the 10 Hz redraw limit, data problems blocking a start, and the config editor's undoable edits."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from designer.catalog.keras_layers import build_catalog
from designer.catalog.spec import Catalog
from designer.graph import project
from designer.graph.model import ModelGraph
from designer.graph.validation import Diagnostic
from designer.training import runs
from designer.training.config import TrainingConfig
from designer.training.runs import RunFolder, smooth
from designer.ui import training_client
from designer.ui.commands import Rename
from designer.ui.document import Document
from designer.ui.panels.training import REDRAW_MS, STARTING_TEXT, Smoother, TrainingView
from designer.ui.panels.training_config import SetTrainingConfig, TrainingConfigView, current_config
from designer.ui.training_client import TrainingClient, runs_root

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "digits_mlp.json"
RUN_TIMEOUT_MS = 120_000
FAST = {"name": "adam", "learning_rate": 0.01, "schedule": None}
RESHAPE_PROBLEM = "input 'pixels' expects (None, 64); the data gives (1797, 8, 8, 1): reshape to (64,)?"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog()


@pytest.fixture
def document(tmp_path: Path, catalog: Catalog) -> Document:
    path = tmp_path / "digits_mlp.json"
    shutil.copy(EXAMPLE, path)
    document = Document(catalog)
    document.open(path)
    return document


@pytest.fixture
def client(qtbot: QtBot) -> Any:
    client = TrainingClient()
    yield client
    client.shutdown()


@pytest.fixture
def view(qtbot: QtBot, document: Document, client: TrainingClient) -> TrainingView:
    view = TrainingView(document, client)
    qtbot.addWidget(view)
    view.resize(900, 900)
    view.show()
    return view


def configure(document: Document, **changes: Any) -> None:
    data = {**current_config(document).to_dict(), **changes}
    document.undo_stack.push(SetTrainingConfig(document, data, "Configure the test run"))


def stored_training(document: Document) -> dict[str, Any]:
    """The training config the project model stores, as its JSON."""
    training = document.model.training
    assert isinstance(training, TrainingConfig)
    return training.to_dict()


def click(qtbot: QtBot, button: Any) -> None:
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def run_until_end(qtbot: QtBot, view: TrainingView, button: Any) -> dict[str, Any]:
    with qtbot.waitSignal(view.client.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        click(qtbot, button)
    return blocker.args[0]


def listed(qtbot: QtBot, view: TrainingView) -> None:
    """Wait for the run list read off the GUI thread to be shown."""
    qtbot.waitUntil(lambda: not view.listing_runs, timeout=10_000)


def curve(view: TrainingView, metric: str, which: str = "train_curve") -> tuple[list[float], list[float]]:
    """The points a curve was given (getData() gives those left after clipping to the view)."""
    x, y = getattr(view.plots.plots[metric], which).getOriginalDataset()
    return ([] if x is None else x.tolist()), ([] if y is None else y.tolist())


def epochs_seen(view: TrainingView) -> int:
    series = view.curves.metrics.get("loss")
    return len(series.train_x) if series else 0


def status_cell(view: TrainingView, name: str) -> str:
    """The Status cell of a run's row in the run list."""
    row = next(row for row, run in enumerate(view.run_model.runs) if run.name == name)
    return str(view.run_model.data(view.run_model.index(row, 1)))


def shown(view: TrainingView, metric: str, which: str = "train_curve") -> int:
    """How many points the curve draws."""
    x, _ = getattr(view.plots.plots[metric], which).getData()
    return 0 if x is None else len(x)


# ---------------------------------------------------------------- real runs
def test_a_run_started_from_the_panel_plots_its_curves_and_joins_the_run_list(
    qtbot: QtBot, view: TrainingView, document: Document
) -> None:
    configure(document, epochs=3, optimizer=FAST)
    report = run_until_end(qtbot, view, view.start_button)

    assert report["status"] == "finished", report
    x, loss = curve(view, "loss")
    assert x == [1.0, 2.0, 3.0]
    assert loss[-1] < loss[0]
    assert shown(view, "loss") > 0 and shown(view, "loss", "batch_curve") > 0
    assert curve(view, "loss", "batch_curve")[0] and curve(view, "loss", "smoothed_curve")[0]
    assert len(curve(view, "loss", "validation_curve")[1]) == 3
    assert curve(view, "accuracy")[1][-1] > 0.5
    assert "CPU — backend tensorflow" in view.device_label.text()
    assert view.progress_bar.value() == 1000
    assert "Finished after 3 epochs" in view.status_label.text()
    run = RunFolder(report["run"])
    for file in ("model.py", "train.py", "config.json", "graph.json", "run.json", "history.csv"):
        assert (run.path / file).is_file(), file
    assert run.last_checkpoint.is_file() and (run.path / "model.keras").is_file()
    listed(qtbot, view)
    summary = view.run_model.runs[-1]
    assert (summary.name, summary.status, summary.epochs) == (run.name, "finished", 3)
    assert "accuracy" in view.run_model.data(view.run_model.index(0, 3))
    assert view.start_button.isEnabled() and not view.stop_button.isEnabled()


def test_stop_after_the_first_epoch_then_resume_continues_the_epochs(
    qtbot: QtBot, view: TrainingView, document: Document
) -> None:
    configure(document, epochs=3, batch_size=8, optimizer=FAST)
    with qtbot.waitSignal(view.client.finished, timeout=RUN_TIMEOUT_MS) as stopped:
        click(qtbot, view.start_button)
        qtbot.waitUntil(lambda: epochs_seen(view) > 0, timeout=RUN_TIMEOUT_MS)
        assert view.kill_button.isEnabled() and not view.start_button.isEnabled()
        click(qtbot, view.stop_button)
        assert not view.stop_button.isEnabled()
    assert stopped.args[0]["status"] == "stopped"
    stopped_at = max(curve(view, "loss")[0])
    assert stopped_at < 3
    name = view.run.name
    listed(qtbot, view)
    assert status_cell(view, name).startswith("stopped: stop requested")

    with qtbot.waitSignal(view.client.finished, timeout=RUN_TIMEOUT_MS) as resumed:
        click(qtbot, view.resume_button)
        assert status_cell(view, name) == "starting"  # not the folder's "stopped" any more
        qtbot.waitUntil(lambda: view.status_label.text() == f"Training {name}…", timeout=RUN_TIMEOUT_MS)
        assert status_cell(view, name) == "running" and view.progress_label.text().startswith("Epoch ")
    report = resumed.args[0]

    assert report["status"] == "finished", report
    x = curve(view, "loss")[0]
    assert x == sorted(x) and x[-1] == 3.0 and len(x) >= 3
    batch_x = curve(view, "loss", "batch_curve")[0]
    assert batch_x == sorted(batch_x) and batch_x[-1] > stopped_at + 1
    listed(qtbot, view)
    assert view.run_model.runs[-1].status == "finished"


def test_a_nan_loss_is_marked_on_the_plot_and_named_in_the_status(
    qtbot: QtBot, view: TrainingView, document: Document
) -> None:
    configure(document, epochs=2, optimizer={**FAST, "learning_rate": 1e10})
    report = run_until_end(qtbot, view, view.start_button)

    assert (report["status"], report["reason"]) == ("stopped", "nan")
    assert len(view.plots.plots["loss"].nan_marker.data) == 1
    assert "NaN" in view.status_label.text()
    assert "Lower the learning rate" in view.status_label.text()


def test_a_killed_worker_shows_its_stderr_and_the_design_still_edits(
    qtbot: QtBot, view: TrainingView, document: Document
) -> None:
    configure(document, epochs=50)
    with qtbot.waitSignal(view.client.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        click(qtbot, view.start_button)
        qtbot.waitUntil(lambda: view.curves.step >= 0, timeout=RUN_TIMEOUT_MS)
        os.kill(view.client.pid, signal.SIGKILL)

    assert blocker.args[0]["exit_code"] == -signal.SIGKILL
    assert view.status_label.text().startswith("Crashed: The training worker was killed by SIGKILL")
    assert view.crash_text.isVisibleTo(view)
    text = view.crash_text.toPlainText()
    assert "Last lines of the worker's stderr:" in text and "designer training worker, pid" in text
    assert view.start_button.isEnabled() and not view.kill_button.isEnabled()
    document.undo_stack.push(Rename(document.graph, "n3", "hidden_first"))
    assert document.graph.node("n3").name == "hidden_first"
    document.undo_stack.undo()
    assert document.graph.node("n3").name == "hidden_1"


# ------------------------------------------------------------- no worker
def test_the_plots_redraw_at_most_ten_times_a_second(
    qtbot: QtBot, view: TrainingView, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: dict[int, int] = {}  # setData calls by curve (one of them when the curve is made)
    original = pg.PlotDataItem.setData

    def counted(curve: pg.PlotDataItem, *args: Any, **options: Any) -> None:
        calls[id(curve)] = calls.get(id(curve), 0) + 1
        original(curve, *args, **options)

    monkeypatch.setattr(pg.PlotDataItem, "setData", counted)
    view.add_event({"type": "start", "epochs": 5, "steps_per_epoch": 100, "samples": 3200, "device": "CPU"})
    started = time.perf_counter()
    for index in range(500):
        epoch, step = divmod(index, 100)
        logs = {"loss": 2.0 / (1 + index), "accuracy": index / 500}
        view.add_event({"type": "batch", "epoch": epoch, "step": step, "logs": logs, "running": logs})
        if index % 5 == 4:
            qtbot.wait(2)
    qtbot.wait(REDRAW_MS + 50)
    duration = time.perf_counter() - started

    assert set(view.plots.plots) == {"loss", "accuracy"}
    assert len(curve(view, "loss", "batch_curve")[0]) == 500
    assert 3 <= max(calls.values()) <= duration * 10 + 2, (calls, duration)


def fake_run(root: Path, name: str, losses: list[float]) -> None:
    """A finished run folder as list_runs reads it, with an epoch event per loss."""
    folder = root / name
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"graph_hash": "0" * 64}))
    (folder / "config.json").write_text(json.dumps(TrainingConfig(epochs=len(losses)).to_dict()))
    events = [{"type": "start", "time": 0.0, "epochs": len(losses), "steps_per_epoch": 10}]
    events += [
        {"type": "epoch", "time": 1.0 + epoch, "epoch": epoch, "logs": {"loss": loss, "val_loss": loss + 0.1}}
        for epoch, loss in enumerate(losses)
    ]
    events.append({"type": "finished", "time": 9.0, "epochs": len(losses)})
    (folder / "events.jsonl").write_text("".join(json.dumps(event) + "\n" for event in events))


def test_selected_runs_overlay_their_epoch_curves(
    qtbot: QtBot, view: TrainingView, document: Document
) -> None:
    root = runs_root(document)
    fake_run(root, "run_0001", [1.0, 0.5])
    fake_run(root, "run_0002", [0.9, 0.4, 0.2])
    view.refresh_runs()
    listed(qtbot, view)
    assert [run.name for run in view.run_model.runs] == ["run_0001", "run_0002"]
    assert view.run_model.data(view.run_model.index(1, 2)) == "3/3"

    view.run_table.selectAll()

    overlays = view.plots.plots["loss"].overlays
    assert len(overlays) == 2
    train, validation = overlays[str(root / "run_0002")]
    assert train.getOriginalDataset()[1].tolist() == [0.9, 0.4, 0.2]
    assert validation.getOriginalDataset()[1].tolist() == pytest.approx([1.0, 0.5, 0.3])
    view.run_table.clearSelection()
    assert not view.plots.plots["loss"].overlays
    assert not view.resume_button.isEnabled()


def orphaned_run(root: Path, name: str, worker_pid: int) -> RunFolder:
    """A run folder whose log says it trains (one epoch of five, checkpointed) with `worker_pid`."""
    fake_run(root, name, [1.0])
    run = RunFolder(root / name)
    events = run.events_file.read_text().splitlines(keepends=True)
    run.events_file.write_text("".join(events[:-1]))  # no final event: it was still training
    (run.checkpoints / "last.keras").write_bytes(b"")
    (run.checkpoints / "last.json").write_text(json.dumps({"epoch": 1}))
    (run.path / "config.json").write_text(json.dumps(TrainingConfig(epochs=5).to_dict()))
    run.record_worker(worker_pid)
    return run


def test_a_worker_that_outlived_its_designer_can_be_stopped_killed_and_then_resumed(
    qtbot: QtBot, view: TrainingView, document: Document
) -> None:
    # A live process with the worker module on its command line, as an orphaned worker has.
    stand_in = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "designer.training.worker"]
    )
    try:
        run = orphaned_run(runs_root(document), "run_0001", stand_in.pid)
        view.refresh_runs()
        listed(qtbot, view)
        view.run_table.selectRow(0)
        assert view.run_model.data(view.run_model.index(0, 1)) == "running"
        assert view.stop_button.isEnabled() and view.kill_button.isEnabled()
        assert not view.resume_button.isEnabled()

        click(qtbot, view.stop_button)
        assert run.stop_file.exists()  # the worker's own stop request, as if this panel had started it
        click(qtbot, view.kill_button)
        assert stand_in.wait(timeout=10) == -signal.SIGKILL
        status = view.run_model.index(0, 1)
        qtbot.waitUntil(lambda: str(view.run_model.data(status)).startswith("interrupted"), timeout=5000)
        assert view.resume_button.isEnabled()
        assert not view.kill_button.isEnabled() and not view.stop_button.isEnabled()
    finally:
        stand_in.kill()
        stand_in.wait()


def test_the_smoothed_line_is_runs_smooth() -> None:
    values = [1.0, 0.5, float("nan"), 0.25, 2.0, 0.1]
    smoother = Smoother(0.6)
    assert smoother.extend(values[:3]) + smoother.extend(values[3:]) == pytest.approx(
        smooth(values, 0.6), nan_ok=True
    )


def test_data_that_does_not_fit_blocks_the_start_until_fixed(
    qtbot: QtBot, view: TrainingView, document: Document, tmp_path: Path
) -> None:
    configure(document, data={"kind": "sklearn", "name": "digits", "image": True})
    with qtbot.assertNotEmitted(view.client.started), qtbot.waitSignal(view.client.refused):
        click(qtbot, view.start_button)
    assert RESHAPE_PROBLEM in view.problems.messages
    assert view.status_label.text() == "Not started: fix these first."
    assert not (tmp_path / "digits_mlp.runs").exists()

    click(qtbot, view.problems.fix_buttons[0])

    assert stored_training(document)["data"]["reshape"] == {"pixels": [64]}
    assert view.problems.messages == ["Checking the data…"]  # read again off the GUI thread
    fixed = ["Fixed: the data fits the model. Press Start."]
    qtbot.waitUntil(lambda: view.problems.messages == fixed, timeout=60_000)
    document.undo_stack.undo()
    assert "reshape" not in stored_training(document)["data"]


# ------------------------------------------------------------ config view
@pytest.fixture
def config_view(qtbot: QtBot, document: Document) -> TrainingConfigView:
    view = TrainingConfigView(document)
    qtbot.addWidget(view)
    return view


def checked_data(view: TrainingConfigView) -> list[Any]:
    """Check data as the button does, waiting for its answer from the worker thread."""
    answers: list[list[Any]] = []
    view.data_checked.connect(answers.append)
    view.check_data()
    deadline = time.monotonic() + 60
    while not answers and time.monotonic() < deadline:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    assert answers, "Check data gave no answer"
    return answers[-1]


def test_config_edits_are_stored_and_undoable(config_view: TrainingConfigView, document: Document) -> None:
    config_view.fit.epochs.setValue(7)
    config_view.fit.epochs.setValue(8)  # one step: typing folds
    assert stored_training(document)["epochs"] == 8
    config_view.optimizer.learning_rate.setText("1e-4")
    config_view.optimizer.learning_rate.editingFinished.emit()
    assert stored_training(document)["optimizer"]["learning_rate"] == pytest.approx(1e-4)
    loss, _, _ = config_view.outputs.rows["digit"]
    loss.setCurrentIndex(loss.findData("categorical_crossentropy"))
    assert stored_training(document)["losses"] == {"digit": "categorical_crossentropy"}
    config_view.callbacks.early_stopping.setChecked(True)
    assert stored_training(document)["callbacks"]["early_stopping"]["patience"] == 5
    assert document.is_dirty

    for _ in range(4):
        document.undo_stack.undo()
    assert stored_training(document)["epochs"] == 20
    assert config_view.fit.epochs.value() == 20
    assert config_view.optimizer.learning_rate.text() == "0.001"


def test_check_data_shows_the_problem_and_fix_applies_the_reshape(
    config_view: TrainingConfigView, document: Document, qtbot: QtBot
) -> None:
    page = config_view.data.pages["sklearn"]
    page.image.setChecked(True)
    assert stored_training(document)["data"]["image"] is True
    with qtbot.waitSignal(config_view.data_checked, timeout=60_000):  # read on a worker thread
        click(qtbot, config_view.data.check_button)
    assert RESHAPE_PROBLEM in config_view.data.problems.messages

    with qtbot.waitSignal(config_view.data_checked, timeout=60_000):  # the fix checks again
        click(qtbot, config_view.data.problems.fix_buttons[0])

    assert stored_training(document)["data"]["reshape"] == {"pixels": [64]}
    assert config_view.data.problems.messages == ["The data fits the model."]
    assert config_view.data.reshape.text() == "Reshape: pixels → (64,)"


def test_a_check_answer_goes_with_the_config_it_was_about_when_undo_changes_it(
    config_view: TrainingConfigView, document: Document, qtbot: QtBot
) -> None:
    page = config_view.data.pages["sklearn"]
    page.image.setChecked(True)
    with qtbot.waitSignal(config_view.data_checked, timeout=60_000):
        click(qtbot, config_view.data.check_button)
    assert RESHAPE_PROBLEM in config_view.data.problems.messages and config_view.data.problems.fix_buttons

    document.undo_stack.undo()  # flat data again: the reshape it proposed no longer fits

    assert stored_training(document)["data"]["image"] is False
    assert config_view.data.problems.messages == [] and config_view.data.problems.fix_buttons == []


def test_switching_the_data_source_kind_keeps_the_last_source_of_each_kind(
    config_view: TrainingConfigView, document: Document
) -> None:
    kind = config_view.data.kind
    kind.setCurrentIndex(kind.findData("synthetic"))
    assert stored_training(document)["data"]["kind"] == "synthetic"
    config_view.data.pages["synthetic"].samples.setValue(64)
    kind.setCurrentIndex(kind.findData("sklearn"))
    assert stored_training(document)["data"] == {"kind": "sklearn", "name": "digits", "image": False}
    kind.setCurrentIndex(kind.findData("synthetic"))
    assert stored_training(document)["data"]["samples"] == 64


def choose(combo: Any, value: str) -> None:
    """Pick an item as a person does (activated is what a click emits)."""
    combo.setCurrentIndex(combo.findData(value))
    combo.activated.emit(combo.currentIndex())


def test_an_npz_file_feeds_each_input_and_output_from_a_chosen_array(
    config_view: TrainingConfigView, document: Document, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "digits.npz"
    np.savez(path, features=rng.random((50, 64)), labels=rng.integers(0, 10, 50), other=np.zeros(3))
    choose(config_view.data.kind, "npz")
    page = config_view.data.pages["npz"]
    page.path.line_edit.setText(str(path))
    page.path.line_edit.editingFinished.emit()
    assert "features (50, 64)" in page.note.text()

    choose(page.combos[("inputs", "pixels")], "features")
    choose(page.combos[("targets", "digit")], "labels")

    source = stored_training(document)["data"]
    assert source == {
        "kind": "npz",
        "path": str(path),
        "inputs": {"pixels": "features"},
        "targets": {"digit": "labels"},
    }
    assert checked_data(config_view) == []


def test_a_csv_file_feeds_the_checked_feature_columns(
    config_view: TrainingConfigView, document: Document, tmp_path: Path
) -> None:
    path = tmp_path / "table.csv"
    path.write_text("a,b,label\n1,2,0\n3,4,1\n")
    choose(config_view.data.kind, "csv")
    page = config_view.data.pages["csv"]
    page.path.line_edit.setText(str(path))
    page.path.line_edit.editingFinished.emit()
    for row in (0, 1):
        page.features.item(row).setCheckState(Qt.CheckState.Checked)
    choose(page.targets[("targets", "digit")], "label")

    source = stored_training(document)["data"]
    assert (source["features"], source["targets"]) == (["a", "b"], {"digit": "label"})
    assert "input 'pixels' expects (None, 64); the data gives (2, 2)." in [
        str(problem) for problem in checked_data(config_view)
    ]


def test_check_data_reads_the_data_off_the_gui_thread(
    qtbot: QtBot, config_view: TrainingConfigView, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Check data reads files and may probe the network: the real check runs on another thread,
    the panel says it is checking meanwhile, and the answer lands on the GUI thread."""
    from designer.ui.panels import training_config

    threads: list[str] = []
    real = training_config.check_data

    def recording(*arguments: Any, **options: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(*arguments, **options)

    monkeypatch.setattr(training_config, "check_data", recording)
    with qtbot.waitSignal(config_view.data_checked, timeout=60_000):
        config_view.check_data()
        assert config_view.data.problems.messages == ["Checking the data…"]
    assert threads and threading.main_thread().name not in threads
    assert config_view.data.problems.messages == ["The data fits the model."]


def test_a_design_with_errors_does_not_start(qtbot: QtBot, view: TrainingView, document: Document) -> None:
    error = Diagnostic("error", "hidden_1 has no input.", "Connect it.", node="n3")
    document.set_results({}, [error])
    with qtbot.assertNotEmitted(view.client.started):
        click(qtbot, view.start_button)
    assert view.problems.messages == ["hidden_1 has no input. Connect it."]
    assert view.status_label.text() == "Not started: fix these first."


# ----------------------------------------------------- where and how a start runs
def test_the_slow_half_of_start_runs_off_the_gui_thread(
    qtbot: QtBot, view: TrainingView, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data check (files, a download), Export's code (ruff) and the run folder's files each run on
    a thread other than the GUI's: Start never holds the event loop for them (bench/training_gui.py
    times it). The real functions run; each records the thread it ran on."""
    threads: dict[str, set[str]] = {}

    def recorded(name: str, function: Any) -> Any:
        def call(*arguments: Any, **options: Any) -> Any:
            threads.setdefault(name, set()).add(threading.current_thread().name)
            return function(*arguments, **options)

        return call

    monkeypatch.setattr(training_client, "check_data", recorded("data check", training_client.check_data))
    monkeypatch.setattr(runs, "export", recorded("code generation", runs.export))
    monkeypatch.setattr(RunFolder, "create_at", recorded("run folder", RunFolder.create_at))
    configure(document, epochs=1)
    with qtbot.waitSignal(view.client.started, timeout=RUN_TIMEOUT_MS) as started:
        click(qtbot, view.start_button)
        assert view.status_label.text() == STARTING_TEXT  # at once, before any of them ran
        assert view.stop_button.isEnabled() and not view.start_button.isEnabled()
    gui_thread = threading.main_thread().name
    assert set(threads) == {"data check", "code generation", "run folder"}
    assert all(gui_thread not in names for names in threads.values()), threads
    assert (started.args[0].path / "train.py").is_file()
    with qtbot.waitSignal(view.client.finished, timeout=RUN_TIMEOUT_MS):
        view.client.kill()


def test_stop_before_the_worker_starts_starts_nothing(
    qtbot: QtBot, view: TrainingView, document: Document
) -> None:
    configure(document, epochs=1)
    with qtbot.assertNotEmitted(view.client.started, wait=2000):
        click(qtbot, view.start_button)
        click(qtbot, view.stop_button)
        assert view.status_label.text() == "Not started: stopped before the worker started."
        assert view.start_button.isEnabled() and not view.client.preparing
    qtbot.waitUntil(lambda: not list(runs_root(document).glob("run_*")), timeout=5000)


def test_runs_live_beside_the_project_or_in_the_user_folder_never_in_the_package(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGNER_RUNS_DIR", str(tmp_path / "user runs"))
    saved = Document(catalog)
    saved.open(shutil.copy(EXAMPLE, tmp_path / "digits.json"))
    assert runs_root(saved) == tmp_path / "digits.runs"
    example = Document(catalog)
    example.open(EXAMPLE)  # the installed example, as File > Examples opens it
    assert runs_root(example) == tmp_path / "user runs" / "digits_mlp"
    untitled = Document(catalog)
    assert runs_root(untitled) == tmp_path / "user runs" / untitled.graph.name
    package = EXAMPLE.parents[2]
    assert not any(runs_root(document).resolve().is_relative_to(package) for document in (example, untitled))


def test_a_start_that_fails_in_the_background_is_refused_not_lost(
    qtbot: QtBot, view: TrainingView, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run folder cannot be written (its parent is a file): the panel says why and can start again."""
    blocker = runs_root(document).parent / "blocked"
    blocker.write_text("a file where the runs folder would go\n")
    monkeypatch.setattr(training_client, "runs_root", lambda _document: blocker / "runs")
    with (
        qtbot.assertNotEmitted(view.client.started),
        qtbot.waitSignal(view.client.refused, timeout=RUN_TIMEOUT_MS),
    ):
        click(qtbot, view.start_button)
    assert view.status_label.text() == "Not started: fix these first."
    assert view.problems.messages and view.start_button.isEnabled() and not view.client.preparing


def test_a_check_data_answer_about_the_last_design_never_reaches_the_next(
    qtbot: QtBot, config_view: TrainingConfigView, document: Document
) -> None:
    answers: list[list[Any]] = []
    config_view.data_checked.connect(answers.append)
    config_view.check_data()  # the answer is read on a worker thread...
    document.replace(project.Project(ModelGraph("other")), None)  # ...while another design opens
    assert config_view.data.problems.messages == []
    qtbot.wait(3000)
    assert answers == [] and config_view.data.problems.messages == []
    assert checked_data(config_view) is not None  # a check of the design shown still answers
