"""The worker in its own process: real runs of the examples, events, stop and resume, NaN, add_loss, Kill.

The runs start together in one fixture (they share the two cores) and each test reads what its
run left behind.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from training_helpers import ADD_LOSS_KEY, chain, load_example

from designer.catalog.spec import Catalog
from designer.codegen import export
from designer.graph.model import ModelGraph
from designer.training.config import OptimizerConfig, TrainingConfig
from designer.training.launcher import ExitReport, RunProcess, prepare_run, start_run
from designer.training.runs import RunFolder, per_batch_values, run_config, tensorboard_installed

TIMEOUT = 300.0
DIGITS_TRAINING_SAMPLES = 1797 - round(1797 * 0.2)


@dataclass
class Runs:
    folders: dict[str, RunFolder]
    reports: dict[str, ExitReport]
    pipe_text: str
    events_file: Path

    def events(self, name: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.folders[name].events() if kind is None or e["type"] == kind]


def digits_config(name: str, **changes: Any) -> tuple[ModelGraph, TrainingConfig]:
    loaded = load_example(name)
    return loaded.graph, TrainingConfig.from_dict(loaded.training).copy(**changes)


def add_loss_graph(with_penalty: bool) -> ModelGraph:
    layers = [("Input", "features", {"shape": [8]}), ("Dense", "hidden", {"units": 4})]
    if with_penalty:
        layers.append((ADD_LOSS_KEY, "penalty", {"rate": 1.0}))
    return chain("penalized", *layers, ("Dense", "value", {"units": 1}))


def regression_config() -> TrainingConfig:
    return TrainingConfig.for_graph(add_loss_graph(False)).copy(
        epochs=1, validation=None, data={"kind": "synthetic", "task": "regression", "samples": 64, "seed": 0}
    )


def prepared(root: Path, catalog: Catalog) -> dict[str, RunFolder]:
    fast = OptimizerConfig(learning_rate=0.01)
    designs = {
        "mlp": digits_config("digits_mlp", epochs=3, optimizer=fast),
        "cnn": digits_config("digits_cnn", epochs=3, optimizer=fast),
        "stop": digits_config("digits_mlp", epochs=5, batch_size=8, optimizer=fast),
        "nan": digits_config("digits_mlp", epochs=2, optimizer=OptimizerConfig(learning_rate=1e10)),
        "kill": digits_config("digits_mlp", epochs=50),
        "add_loss": (add_loss_graph(True), regression_config()),
        "plain": (add_loss_graph(False), regression_config()),
    }
    return {
        name: prepare_run(graph, config, catalog, runs_root=root / name)
        for name, (graph, config) in designs.items()
    }


def read_all(descriptor: int, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with os.fdopen(descriptor, "rb") as stream:
            into.append(stream.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def drive(processes: dict[str, RunProcess], actions: dict[str, Callable[[RunProcess, dict], None]]) -> None:
    """Wait for every process, handing each new event to its action."""
    deadline = time.monotonic() + TIMEOUT
    while any(process.running() for process in processes.values()) and time.monotonic() < deadline:
        for name, process in processes.items():
            for event in process.new_events():
                actions.get(name, lambda process, event: None)(process, event)
        time.sleep(0.05)


def stop_after_first_epoch(process: RunProcess, event: dict) -> None:
    if event["type"] == "epoch" and event["epoch"] == 0:
        process.stop()


def kill_after_first_epoch(process: RunProcess, event: dict) -> None:
    if event["type"] == "epoch":
        process.kill()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Runs:
    root = tmp_path_factory.mktemp("runs")
    folders = prepared(root, catalog)
    read_end, write_end = os.pipe()
    events_file = root / "mlp-events.jsonl"
    processes = {"cnn": start_run(folders["cnn"], events_fd=write_end)}
    os.close(write_end)
    piped: list[bytes] = []
    reader = read_all(read_end, piped)
    processes["mlp"] = start_run(folders["mlp"], events_file=events_file, batch_interval=0)
    processes.update(
        {name: start_run(folders[name]) for name in ("stop", "nan", "kill", "add_loss", "plain")}
    )
    drive(processes, {"stop": stop_after_first_epoch, "kill": kill_after_first_epoch})
    reports = {name: process.finish(timeout=10) for name, process in processes.items()}
    reports["resume"] = start_run(folders["stop"], resume=True).finish(timeout=TIMEOUT)
    reader.join(timeout=10)
    return Runs(folders, reports, b"".join(piped).decode("utf-8"), events_file)


# ------------------------------------------------------------------ digits
def test_the_digits_mlp_learns(runs: Runs) -> None:
    assert runs.reports["mlp"].status == "finished", runs.reports["mlp"]
    epochs = runs.events("mlp", "epoch")
    losses = [event["logs"]["loss"] for event in epochs]
    assert [event["epoch"] for event in epochs] == [0, 1, 2]
    assert losses[0] > losses[1] > losses[2]
    assert epochs[-1]["logs"]["accuracy"] > 0.5
    assert epochs[-1]["logs"]["val_accuracy"] > 0.5
    assert set(epochs[-1]["logs"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_the_event_log_has_start_batches_epochs_and_the_end(runs: Runs) -> None:
    kinds = [event["type"] for event in runs.events("mlp")]
    assert kinds[0] == "start"
    assert kinds[-1] == "finished"
    assert kinds.count("epoch") == 3
    assert kinds.count("batch") == 3 * 45  # --batch-interval 0: every batch
    start = runs.events("mlp", "start")[0]
    assert start["device"] == "CPU (tensorflow)"
    assert (start["backend"], start["replicas"], start["epochs"]) == ("tensorflow", 1, 3)
    assert (start["steps_per_epoch"], start["batch_size"], start["samples"]) == (
        45,
        32,
        DIGITS_TRAINING_SAMPLES,
    )
    assert runs.events("mlp", "finished")[0]["epochs"] == 3


def test_batch_events_carry_each_batchs_own_values(runs: Runs) -> None:
    batches = [event for event in runs.events("mlp", "batch") if event["epoch"] == 1]
    assert [event["step"] for event in batches] == list(range(45))
    sizes = [32] * 44 + [DIGITS_TRAINING_SAMPLES - 44 * 32]
    running = [event["running"]["loss"] for event in batches]
    values = [event["logs"]["loss"] for event in batches]
    np.testing.assert_allclose(values, per_batch_values(running, sizes), rtol=1e-6)
    epoch_loss = runs.events("mlp", "epoch")[1]["logs"]["loss"]
    assert np.average(values, weights=sizes) == pytest.approx(epoch_loss, rel=1e-4)
    assert running[-1] == pytest.approx(epoch_loss)
    assert all(event["samples_per_second"] > 0 for event in batches)


def test_the_events_file_and_the_run_log_agree(runs: Runs) -> None:
    assert runs.events_file.read_text() == runs.folders["mlp"].events_file.read_text()


def test_the_run_folder_is_complete(runs: Runs) -> None:
    run = runs.folders["mlp"]
    for name in (
        "model.py",
        "train.py",
        "config.json",
        "graph.json",
        "model.keras",
        "stdout.log",
        "stderr.log",
    ):
        assert (run.path / name).is_file(), name
    assert len(run.graph_hash) == 64
    checkpoints = {entry.name for entry in run.checkpoints.iterdir()}
    assert {"last.keras", "last.json", "best.keras", "epoch_001.keras", "epoch_003.keras"} <= checkpoints
    assert run.completed_epochs() == 3
    rows = run.history_file.read_text().splitlines()
    assert rows[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1", "2"]
    assert (run.path / "logs").is_dir()
    if tensorboard_installed():
        assert any((run.path / "logs").rglob("events.out.tfevents.*"))
    summary = run.summary()
    assert (summary.status, summary.epochs) == ("finished", 3)
    assert summary.final_metrics == runs.events("mlp", "epoch")[-1]["logs"]


def test_the_trained_code_is_what_export_writes(runs: Runs, catalog: Catalog) -> None:
    run = runs.folders["mlp"]
    graph, config = digits_config("digits_mlp", epochs=3, optimizer=OptimizerConfig(learning_rate=0.01))
    files = export(
        graph,
        catalog,
        "functional",
        self_contained=True,
        with_training=True,
        training_config=run_config(config).to_dict(),
    )
    assert run.model_file.read_text() == files["model.py"]
    assert run.training_file.read_text() == files["train.py"]


def test_prints_of_the_training_code_stay_out_of_the_events(runs: Runs) -> None:
    assert "Evaluation:" in runs.folders["mlp"].stdout_file.read_text()
    assert all(json.loads(line)["type"] for line in runs.events_file.read_text().splitlines())


def test_the_digits_cnn_learns_and_streams_on_the_descriptor(runs: Runs) -> None:
    assert runs.reports["cnn"].status == "finished", runs.reports["cnn"]
    epochs = runs.events("cnn", "epoch")
    assert epochs[0]["logs"]["loss"] > epochs[-1]["logs"]["loss"]
    assert epochs[-1]["logs"]["accuracy"] > 0.5
    assert runs.pipe_text == runs.folders["cnn"].events_file.read_text()


# ------------------------------------------------------------ stop, resume
def test_a_stopped_run_ends_after_the_batch_and_keeps_a_checkpoint(runs: Runs) -> None:
    events = runs.events("stop")
    first_session = events[: next(i for i, e in enumerate(events) if e["type"] == "stopped") + 1]
    stopped = first_session[-1]
    assert stopped["reason"] == "stop requested"
    epochs = [event for event in first_session if event["type"] == "epoch"]
    assert 2 <= len(epochs) < 5
    assert epochs[-1]["partial"] is True
    assert stopped["epochs"] == len(epochs)


def test_resume_continues_the_epochs_from_the_checkpoint(runs: Runs) -> None:
    assert runs.reports["resume"].status == "finished", runs.reports["resume"]
    events = runs.events("stop")
    starts = [event for event in events if event["type"] == "start"]
    assert [start["resumed"] for start in starts] == [False, True]
    epochs = [event["epoch"] for event in events if event["type"] == "epoch"]
    assert epochs == [0, 1, 2, 3, 4]
    assert starts[1]["initial_epoch"] == next(e for e in events if e["type"] == "stopped")["epochs"]
    losses = {event["epoch"]: event["logs"]["loss"] for event in events if event["type"] == "epoch"}
    assert losses[starts[1]["initial_epoch"]] < losses[0]  # the weights came back, not fresh ones
    rows = runs.folders["stop"].history_file.read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1", "2", "3", "4"]
    summary = runs.folders["stop"].summary()
    assert (summary.status, summary.epochs) == ("finished", 5)


# ------------------------------------------------------------------- faults
def test_a_nan_loss_stops_the_run_with_a_nan_event(runs: Runs) -> None:
    [nan] = runs.events("nan", "nan")
    assert (nan["epoch"], nan["metric"]) == (0, "loss")
    assert nan["value"] in ("nan", "inf")
    final = runs.events("nan")[-1]
    assert (final["type"], final["reason"]) == ("stopped", "nan")
    assert len(runs.events("nan", "epoch")) == 1
    assert not runs.folders["nan"].last_checkpoint.exists()  # NaN weights are not kept
    assert runs.folders["nan"].summary().reason == "nan"


def test_a_killed_worker_is_reported_with_the_last_lines_of_stderr(runs: Runs) -> None:
    report = runs.reports["kill"]
    assert report.returncode == -9
    assert report.status == "error"
    assert "killed by SIGKILL" in report.message
    assert any("designer training worker, pid" in line for line in report.stderr_tail)
    assert runs.folders["kill"].summary().status == "error"


def test_losses_that_layers_add_count_in_the_logged_loss(runs: Runs) -> None:
    penalized = runs.events("add_loss", "epoch")[0]["logs"]
    plain = runs.events("plain", "epoch")[0]["logs"]
    assert penalized["loss"] > 2 * plain["loss"]
    assert "penalty" in runs.folders["add_loss"].model_file.read_text()


# ------------------------------------------------------------ inspection records
def test_each_epoch_leaves_its_weights_and_an_inspection_record(runs: Runs) -> None:
    import keras

    run = runs.folders["mlp"]
    assert [(epoch, path.name) for epoch, path in run.epoch_weights()] == [
        (1, "epoch_001.weights.h5"),
        (2, "epoch_002.weights.h5"),
        (3, "epoch_003.weights.h5"),
    ]
    records = run.inspection_events()
    assert [record["epoch"] for record in records] == [0, 1, 2]
    for record in records:
        assert set(record["gradient_norms"]) == {"hidden_1", "hidden_2", "digit"}
        assert all(0 < norm < 100 for norm in record["gradient_norms"].values())
        assert set(record["dead_relu"]) == {"hidden_1", "hidden_2"}
        assert all(0 <= fraction <= 1 for fraction in record["dead_relu"].values())
        assert record["samples"] == 64
        assert "note" not in record
    kinds = [event["type"] for event in runs.events("mlp") if event["type"] != "batch"]
    assert kinds[1:-1] == ["epoch", "inspection"] * 3  # each record right after its epoch
    last = keras.saving.load_model(run.last_checkpoint, compile=False)
    after_three = keras.models.clone_model(last)
    after_three.load_weights(run.epoch_weights()[-1][1])
    for mine, theirs in zip(after_three.get_weights(), last.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_convolutions_and_added_losses_get_gradient_norms(runs: Runs) -> None:
    cnn = runs.folders["cnn"].inspection_events()
    assert len(cnn) == 3
    assert set(cnn[-1]["gradient_norms"]) == {"conv_1", "conv_2", "digit"}
    assert set(cnn[-1]["dead_relu"]) == {"conv_1", "conv_2"}
    penalized = runs.folders["add_loss"].inspection_events()[0]["gradient_norms"]
    plain = runs.folders["plain"].inspection_events()[0]["gradient_norms"]
    assert set(penalized) == set(plain) == {"hidden", "value"}
    assert penalized["hidden"] != plain["hidden"]  # the penalty's gradient counts


def test_a_resumed_run_numbers_its_epoch_weights_on(runs: Runs) -> None:
    run = runs.folders["stop"]
    assert [epoch for epoch, _ in run.epoch_weights()] == [1, 2, 3, 4, 5]
    assert [record["epoch"] for record in run.inspection_events()] == [0, 1, 2, 3, 4]


def test_a_nan_epoch_keeps_its_weights_and_its_record_is_strict_json(runs: Runs) -> None:
    run = runs.folders["nan"]
    assert [(epoch, path.name) for epoch, path in run.epoch_weights()] == [(1, "epoch_001.weights.h5")]
    [record] = run.inspection_events()
    assert record["epoch"] == 0
    assert any(isinstance(norm, str) for norm in record["gradient_norms"].values())
    assert all(float(norm) != 0 for norm in record["gradient_norms"].values())

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the event log")

    for line in run.events_file.read_text().splitlines():
        if '"type": "inspection"' in line:
            json.loads(line, parse_constant=refuse)


def test_epoch_weights_fall_back_to_the_configs_keras_checkpoints(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    assert run.epoch_weights() == []
    run.checkpoints.mkdir()
    for name in ("epoch_001.keras", "epoch_001.weights.h5", "epoch_002.keras", "best.keras", "last.keras"):
        (run.checkpoints / name).touch()
    assert run.epoch_weights() == [
        (1, run.checkpoints / "epoch_001.weights.h5"),
        (2, run.checkpoints / "epoch_002.keras"),
    ]


def test_last_checkpoint_is_saved_first_then_by_interval_and_at_the_end(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saving a whole model each epoch costs a short epoch a third of its time: last.keras is
    written after the first epoch, once the interval has passed, and after the last epoch."""
    import keras

    from designer.training import worker

    monkeypatch.setattr(worker, "LAST_SAVE_INTERVAL_S", 3600.0)  # a slow machine never reaches it
    graph = chain("tiny", ("Input", "x", {"shape": [4]}), ("Dense", "y", {"units": 2}))
    run = RunFolder.create_at(tmp_path / "run", graph, TrainingConfig(losses={"y": "mse"}), catalog)
    with open(run.events_file, "a", encoding="utf-8") as events:
        callback = worker.RunCallback(
            run, worker.EventWriter([events]), worker.StopRequest(run), batch_size=4, samples=8
        )
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile("adam", "mse")
        model.fit(np.zeros((4, 4)), np.zeros((4, 2)), verbose=0)  # the optimizer has its state
        callback.set_model(model)
        callback.set_params({"epochs": 5, "steps": None})
        saved = []
        for epoch in range(5):
            callback.on_epoch_begin(epoch)
            callback.on_epoch_end(epoch, {"loss": 1.0})
            saved.append(json.loads((run.checkpoints / "last.json").read_text())["epoch"])
        assert saved == [1, 1, 1, 1, 5]  # the interval never passed in between
        callback._saved_at -= worker.LAST_SAVE_INTERVAL_S  # as if the interval had passed
        callback.set_params({"epochs": 9, "steps": None})
        callback.on_epoch_begin(5)
        callback.on_epoch_end(5, {"loss": 1.0})
        assert json.loads((run.checkpoints / "last.json").read_text())["epoch"] == 6
        callback.on_epoch_begin(6)
        callback.on_epoch_end(6, {"loss": 1.0})
        callback.on_train_end()  # early stopping ended it before epoch 9: what it trained is kept
        assert json.loads((run.checkpoints / "last.json").read_text())["epoch"] == 7
    assert run.completed_epochs() == 7
    for epoch in (7, 8, 9):  # 7 is in last.keras; 8 and 9 a kill lost after the last save
        (run.checkpoints / f"epoch_{epoch:03d}.weights.h5").write_bytes(b"")
    with open(run.events_file, "a", encoding="utf-8") as events:
        resumed = worker.RunCallback(
            run,
            worker.EventWriter([events]),
            worker.StopRequest(run),
            batch_size=4,
            samples=8,
            resume_epoch=7,
        )
        resumed.set_model(model)
        resumed._restore()
    assert [epoch for epoch, _ in run.epoch_weights()] == [7]  # 8 and 9 are trained again
