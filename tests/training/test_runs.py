"""Run folders, the run list, and the pure functions the live plots use."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from training_helpers import load_example

from designer.catalog.spec import Catalog
from designer.codegen import export
from designer.codegen.errors import CodegenError
from designer.graph import project
from designer.training.config import TrainingConfig
from designer.training.runs import (
    RUN_PATHS,
    EventTail,
    RunFolder,
    exit_message,
    graph_hash,
    list_runs,
    per_batch_values,
    run_config,
    smooth,
)


def example_run(root: Path, catalog: Catalog, name: str = "digits_mlp", **options: object) -> RunFolder:
    loaded = load_example(name)
    config = TrainingConfig.from_dict(loaded.training)
    return RunFolder.create(root, loaded.graph, config, catalog, **options)  # type: ignore[arg-type]


# ----------------------------------------------------------------- folders
def test_each_path_of_a_run_folder_is_one_entry_of_its_table(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "run_0001")
    assert run.events_file == tmp_path / "run_0001" / "events.jsonl"
    assert run.last_checkpoint == tmp_path / "run_0001" / "checkpoints" / "last.keras"
    assert run.stop_file == tmp_path / "run_0001" / "stop"
    for name, relative in RUN_PATHS.items():
        assert getattr(run, name) == run.path / relative


@pytest.mark.parametrize(("style", "self_contained"), [("functional", True), ("subclassed", False)])
def test_the_code_of_a_run_is_byte_for_byte_what_export_writes(
    tmp_path: Path, catalog: Catalog, style: str, self_contained: bool
) -> None:
    loaded = load_example("digits_cnn")
    config = TrainingConfig.from_dict(loaded.training)
    run = RunFolder.create(
        tmp_path, loaded.graph, config, catalog, style=style, self_contained=self_contained
    )
    trained = run_config(config).to_dict()
    files = export(
        loaded.graph,
        catalog,
        style,
        self_contained=self_contained,
        with_training=True,
        training_config=trained,
    )
    assert run.model_file.read_bytes() == files["model.py"].encode("utf-8")
    assert run.training_file.read_bytes() == files["train.py"].encode("utf-8")
    assert json.loads((run.path / "config.json").read_text()) == trained
    assert run.config() == run_config(config)
    assert json.loads((run.path / "graph.json").read_text()) == project.to_dict(loaded.graph)
    assert run.metadata()["style"] == style
    assert run.graph_hash == graph_hash(loaded.graph)


def test_a_run_always_logs_to_csv(tmp_path: Path, catalog: Catalog) -> None:
    loaded = load_example("digits_mlp")
    config = TrainingConfig.from_dict(loaded.training)
    config.callbacks.csv_logger = False
    assert run_config(config).callbacks.csv_logger is True
    assert config.callbacks.csv_logger is False


def test_a_new_run_folder_is_complete_and_numbered(tmp_path: Path, catalog: Catalog) -> None:
    first = example_run(tmp_path, catalog, metadata={"samples": 1438})
    second = example_run(tmp_path, catalog)
    assert (first.name, second.name) == ("run_0001", "run_0002")
    names = {
        "model.py",
        "train.py",
        "config.json",
        "graph.json",
        "run.json",
        "events.jsonl",
        "checkpoints",
        "logs",
    }
    assert {entry.name for entry in first.path.iterdir()} == names
    assert first.metadata()["samples"] == 1438
    assert first.completed_epochs() == 0


def test_a_run_folder_must_be_new(tmp_path: Path, catalog: Catalog) -> None:
    loaded = load_example("digits_mlp")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="is not empty"):
        RunFolder.create_at(
            tmp_path / "taken", loaded.graph, TrainingConfig.from_dict(loaded.training), catalog
        )


def test_a_design_codegen_refuses_leaves_no_folder(tmp_path: Path, catalog: Catalog) -> None:
    loaded = load_example("digits_mlp")
    with pytest.raises(CodegenError):
        RunFolder.create_at(tmp_path / "run", loaded.graph, TrainingConfig(), catalog)  # no loss for digit
    assert not (tmp_path / "run").exists()


def test_the_graph_hash_ignores_positions_but_not_params() -> None:
    graph = load_example("digits_mlp").graph
    before = graph_hash(graph)
    graph.move("n3", (999.0, 5.0))
    assert graph_hash(graph) == before
    graph.set_params("n3", {"units": 65, "activation": "relu"})
    assert graph_hash(graph) != before
    assert len(before) == 64


# --------------------------------------------------------------- run list
def write_events(run: RunFolder, *events: dict) -> None:
    run.events_file.write_text("".join(json.dumps(event) + "\n" for event in events))


@pytest.fixture
def worker_like() -> Iterator[subprocess.Popen[bytes]]:
    """A live process whose command line names the worker module, as a worker's does."""
    command = [sys.executable, "-c", "import time; time.sleep(120)", "designer.training.worker"]
    process = subprocess.Popen(command)
    yield process
    process.kill()
    process.wait()


def test_the_run_list_gives_status_final_metrics_and_duration(
    tmp_path: Path, catalog: Catalog, worker_like: subprocess.Popen[bytes]
) -> None:
    finished, stopped, running, created = (example_run(tmp_path, catalog) for _ in range(4))
    running.record_worker(worker_like.pid)
    start = {"type": "start", "time": 100.0, "device": "CPU (tensorflow)"}
    epoch = {"type": "epoch", "epoch": 0, "time": 105.0, "logs": {"loss": 0.5, "val_loss": 0.6}}
    write_events(finished, start, epoch, {"type": "finished", "time": 106.0, "epochs": 1})
    write_events(
        stopped,
        start,
        {**epoch, "time": 102.0},
        {"type": "stopped", "reason": "stop requested", "time": 103.0},
        {**start, "time": 200.0},
        {**epoch, "epoch": 1, "time": 210.0},
        {"type": "stopped", "reason": "nan", "time": 211.0},
    )
    write_events(running, start, epoch)
    summaries = {summary.name: summary for summary in list_runs(tmp_path)}
    assert [summary.name for summary in list_runs(tmp_path)] == [
        "run_0001",
        "run_0002",
        "run_0003",
        "run_0004",
    ]
    first = summaries[finished.name]
    assert (first.status, first.final_metrics, first.duration, first.epochs) == (
        "finished",
        {"loss": 0.5, "val_loss": 0.6},
        6.0,
        1,
    )
    assert (first.device, first.started, first.graph_hash) == ("CPU (tensorflow)", 100.0, finished.graph_hash)
    assert first.config["epochs"] == 20
    assert (summaries[stopped.name].status, summaries[stopped.name].reason) == ("stopped", "nan")
    assert summaries[stopped.name].duration == 3.0 + 11.0
    assert summaries[stopped.name].epochs == 2
    assert summaries[running.name].status == "running"
    assert summaries[created.name].status == "created"
    assert list_runs(tmp_path / "nothing") == []


def test_a_run_whose_worker_is_gone_is_interrupted(
    tmp_path: Path, catalog: Catalog, worker_like: subprocess.Popen[bytes]
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    unrecorded, dead, not_a_worker, alive = (example_run(tmp_path, catalog) for _ in range(4))
    dead.record_worker(gone.pid)
    not_a_worker.record_worker(os.getpid())  # this test: alive, but no worker
    alive.record_worker(worker_like.pid)
    start = {"type": "start", "time": 100.0}
    for run in (unrecorded, dead, not_a_worker, alive):
        write_events(run, start, {"type": "epoch", "epoch": 0, "time": 105.0, "logs": {"loss": 0.5}})
    statuses = {summary.name: summary.status for summary in list_runs(tmp_path)}
    assert [statuses[run.name] for run in (unrecorded, dead, not_a_worker)] == ["interrupted"] * 3
    assert "worker is gone" in dead.summary().reason
    assert statuses[alive.name] == "running" and alive.worker_pid() == worker_like.pid

    assert alive.kill_worker()  # a worker that outlived its designer can still be killed
    assert worker_like.wait(timeout=10) == -signal.SIGKILL
    assert alive.summary().status == "interrupted" and not alive.kill_worker()


def test_an_exit_without_a_final_event_is_logged_with_stderr(tmp_path: Path, catalog: Catalog) -> None:
    run = example_run(tmp_path, catalog)
    write_events(run, {"type": "start", "time": 1.0})
    event = run.record_exit(-signal.SIGKILL, ["Traceback", "MemoryError"])
    assert event is not None
    assert (
        event["message"]
        == "The training worker was killed by SIGKILL (Kill, or the system ran out of memory)."
    )
    assert run.summary().status == "error"
    assert run.events()[-1]["stderr"] == ["Traceback", "MemoryError"]
    assert run.record_exit(-signal.SIGKILL) is None  # logged once


def test_a_worker_that_ended_properly_gets_no_exit_event(tmp_path: Path, catalog: Catalog) -> None:
    run = example_run(tmp_path, catalog)
    write_events(run, {"type": "start"}, {"type": "finished"})
    assert run.record_exit(0) is None
    assert exit_message(3) == "The training worker exited with code 3 before the run ended."


def test_stop_requests_are_files(tmp_path: Path, catalog: Catalog) -> None:
    run = example_run(tmp_path, catalog)
    run.request_stop()
    assert run.stop_file.exists()
    run.clear_stop()
    assert not run.stop_file.exists()


def test_the_event_tail_returns_complete_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.read() == []
    path.write_text('{"type": "start"}\n{"type": "ep')
    assert tail.read() == [{"type": "start"}]
    with open(path, "a") as file:
        file.write('och", "epoch": 0}\nnot json\n')
    assert tail.read() == [{"type": "epoch", "epoch": 0}]
    assert tail.read() == []


# ------------------------------------------------------------ batch values
def running_means(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """What Keras logs: the size-weighted mean of the batches so far."""
    return np.cumsum(values * sizes) / np.cumsum(sizes)


def test_per_batch_values_undo_keras_running_means() -> None:
    values = np.random.default_rng(0).uniform(0, 3, size=50)
    recovered = per_batch_values(list(running_means(values, np.ones(50))))
    np.testing.assert_allclose(recovered, values, rtol=1e-9)


def test_per_batch_values_weigh_a_smaller_last_batch() -> None:
    values = np.random.default_rng(1).normal(size=10)
    sizes = np.array([32.0] * 9 + [5.0])
    means = running_means(values, sizes)
    np.testing.assert_allclose(per_batch_values(list(means), list(sizes)), values, rtol=1e-9)
    assert not np.allclose(per_batch_values(list(means)), values)
    with pytest.raises(ValueError, match="10 running means but 2 batch sizes"):
        per_batch_values(list(means), [1, 2])


def tensorboard_smoothing(values: list[float], weight: float) -> list[float]:
    """TensorBoard's own algorithm, as in its scalar dashboard."""
    last, result = 0.0, []
    for count, value in enumerate(values, start=1):
        last = last * weight + (1 - weight) * value
        result.append(last / (1 - weight**count))
    return result


def test_smoothing_is_tensorboards_debiased_moving_average() -> None:
    values = list(np.random.default_rng(2).normal(size=30))
    np.testing.assert_allclose(smooth(values, 0.6), tensorboard_smoothing(values, 0.6))
    assert smooth(values, 0.0) == pytest.approx(values)
    assert smooth([4.0, 4.0, 4.0], 0.9) == pytest.approx([4.0, 4.0, 4.0])
    assert smooth(values, 0.99)[0] == pytest.approx(values[0])


def test_smoothing_keeps_nan_and_refuses_a_weight_of_one() -> None:
    smoothed = smooth([1.0, float("nan"), 3.0], 0.5)
    assert np.isnan(smoothed[1])
    assert smoothed[2] == pytest.approx(tensorboard_smoothing([1.0, 3.0], 0.5)[1])
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        smooth([1.0], 1.0)


def test_a_line_cut_short_by_a_kill_does_not_swallow_the_next_event(tmp_path: Path, catalog: Catalog) -> None:
    run = example_run(tmp_path, catalog)
    run.events_file.write_text('{"type": "start"}\n{"type": "bat')
    run.append_event({"type": "error", "message": "killed"})
    assert [event["type"] for event in run.events()] == ["start", "error"]
