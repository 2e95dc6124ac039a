"""A full disk stops a run cleanly and resumably; a resume never records an epoch twice.

A full disk is simulated with $DESIGNER_TRAINING_FREE_BYTES (the free bytes a run needs): set
past any disk's size, every check finds the disk full. The runs are real (small synthetic
regressions) and start together in one fixture, like test_worker's.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest
from training_helpers import chain

from designer.catalog.spec import Catalog
from designer.training.config import TrainingConfig
from designer.training.launcher import ExitReport, RunProcess, prepare_run, start_run
from designer.training.runs import FREE_BYTES_ENV, DiskFullError, RunFolder, disk_shortage

TIMEOUT = 300.0
BEYOND_ANY_DISK = str(10**18)


def regression(epochs: int) -> tuple[Any, TrainingConfig]:
    graph = chain("value", ("Input", "features", {"shape": [8]}), ("Dense", "value", {"units": 1}))
    config = TrainingConfig.for_graph(graph).copy(
        epochs=epochs,
        batch_size=16,
        validation=None,
        data={"kind": "synthetic", "task": "regression", "samples": 64, "seed": 0},
    )
    return graph, config


def epoch_numbers(run: RunFolder) -> list[int]:
    return [event["epoch"] for event in run.events() if event["type"] == "epoch"]


def history_epochs(run: RunFolder) -> list[int]:
    with open(run.history_file, newline="", encoding="utf-8") as file:
        return [int(row["epoch"]) for row in csv.DictReader(file)]


def wait_for_epoch(process: RunProcess, epoch: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while process.running() and time.monotonic() < deadline:
        if any(e["type"] == "epoch" and e["epoch"] >= epoch for e in process.new_events()):
            return
        time.sleep(0.02)


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, catalog: Catalog
) -> tuple[dict[str, RunFolder], dict[str, ExitReport], dict[str, int]]:
    """Two runs: one on a full disk, one killed after its third epoch; then both resumed."""
    root = tmp_path_factory.mktemp("runs")
    folders = {
        name: prepare_run(*regression(epochs), catalog, runs_root=root / name)
        for name, epochs in (("full", 3), ("kill", 40))
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(FREE_BYTES_ENV, BEYOND_ANY_DISK)
        full = start_run(folders["full"])  # the worker's checks find the disk full
    kill = start_run(folders["kill"])
    wait_for_epoch(kill, 3)
    kill.kill()
    reports = {"full": full.finish(timeout=TIMEOUT), "kill": kill.finish(timeout=TIMEOUT)}
    checkpointed = {name: folder.completed_epochs() for name, folder in folders.items()}
    reports["full resumed"] = start_run(folders["full"], resume=True).finish(timeout=TIMEOUT)
    reports["kill resumed"] = start_run(folders["kill"], resume=True, epochs=6).finish(timeout=TIMEOUT)
    return folders, reports, checkpointed


def test_a_full_disk_stops_the_run_cleanly_after_the_epoch(runs: Any) -> None:
    _, reports, checkpointed = runs
    report = reports["full"]
    assert (report.returncode, report.status) == (0, "stopped"), report
    assert report.message.startswith("disk full: ") and "needed for the checkpoints" in report.message
    assert checkpointed["full"] == 1


def test_a_run_stopped_by_a_full_disk_resumes_from_its_last_epoch(runs: Any) -> None:
    folders, reports, _ = runs
    assert reports["full resumed"].status == "finished", reports["full resumed"]
    assert epoch_numbers(folders["full"]) == [0, 1, 2]
    assert history_epochs(folders["full"]) == [0, 1, 2]


def test_a_resume_after_a_kill_records_each_epoch_once(runs: Any) -> None:
    folders, reports, checkpointed = runs
    assert reports["kill"].status == "error" and "SIGKILL" in reports["kill"].message
    assert checkpointed["kill"] < 3  # the checkpoint lags the epochs: a resume trains some again
    assert reports["kill resumed"].status == "finished", reports["kill resumed"]
    run = folders["kill"]
    assert epoch_numbers(run) == list(range(6))
    assert history_epochs(run) == list(range(6))
    inspections = [event["epoch"] for event in run.inspection_events()]
    assert inspections == list(range(6))


def test_a_resume_with_no_room_is_refused_before_it_starts(
    runs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = runs[0]["kill"]
    log = run.events_file.read_text(encoding="utf-8")
    monkeypatch.setenv(FREE_BYTES_ENV, BEYOND_ANY_DISK)
    with pytest.raises(DiskFullError) as raised:
        start_run(run, resume=True)
    assert str(raised.value).startswith("disk full: ") and raised.value.filename == str(run.path)
    assert run.events_file.read_text(encoding="utf-8") == log


def test_no_room_for_a_run_is_refused_before_anything_is_written(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FREE_BYTES_ENV, BEYOND_ANY_DISK)
    with pytest.raises(DiskFullError, match=r"disk full: .* MB free on .*, .* MB needed"):
        prepare_run(*regression(1), catalog, runs_root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_the_free_space_check_reads_the_nearest_existing_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert disk_shortage(tmp_path / "not" / "yet", 1) is None
    monkeypatch.setenv(FREE_BYTES_ENV, BEYOND_ANY_DISK)
    shortage = disk_shortage(tmp_path / "not" / "yet", 1)
    assert shortage is not None and f"free on {tmp_path}," in shortage


def write_records(run: RunFolder) -> None:
    """A log and a history of epochs 0-3 from a killed session (the last line cut short)."""
    events: list[dict[str, Any]] = [{"type": "start", "resumed": False}]
    for epoch in range(4):
        events += [
            {"type": "batch", "epoch": epoch, "step": 0},
            {"type": "epoch", "epoch": epoch},
            {"type": "inspection", "epoch": epoch},
        ]
    events.append({"type": "error", "message": "killed"})
    text = "".join(json.dumps(event) + "\n" for event in events) + '{"type": "batch", "ep'
    run.events_file.write_text(text, encoding="utf-8")
    rows = ["epoch,loss", *(f"{epoch},0.{epoch}" for epoch in range(4)), "4,"]
    run.history_file.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_forgetting_epochs_keeps_the_sessions_and_the_epochs_before(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    write_records(run)
    run.forget_epochs_from(2)
    kinds = [(event["type"], event.get("epoch")) for event in run.events()]
    assert kinds == [
        ("start", None),
        *[(kind, epoch) for epoch in (0, 1) for kind in ("batch", "epoch", "inspection")],
        ("error", None),
    ]
    assert run.history_file.read_text(encoding="utf-8") == "epoch,loss\n0,0.0\n1,0.1\n"


def test_a_worker_killed_on_a_full_disk_says_the_likely_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = RunFolder(tmp_path)
    run.append_event({"type": "start", "resumed": False})
    monkeypatch.setenv(FREE_BYTES_ENV, BEYOND_ANY_DISK)
    event = run.record_exit(-11)  # h5py's end on errno 28
    assert event is not None
    assert event["message"].startswith("The training worker was killed by SIGSEGV. Likely cause: disk full: ")
