"""The designer's children: nothing from the working folder runs in them, and they die with a
killed designer, leaving its run interrupted and resumable.

A GUI-like parent (a script in a temporary folder) starts the real engine host through
`EngineClient` and a real training worker through the launcher, from a working folder (and a
run folder) holding modules named like those Keras imports; each writes a marker if imported.
The host is kept busy on a request that never ends, the worker trains; then the parent is
killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from designer.graph import project
from designer.processes import PACKAGE_ROOT, PARENT_VARIABLE, child_environment, pid_alive, python_command
from designer.training.config import TrainingConfig
from designer.training.runs import RunFolder, RunSummary, list_runs

EXAMPLES = PACKAGE_ROOT / "resources" / "examples"
HOSTILE_NAMES = ("keras", "rich", "numpy")
READY_TIMEOUT_S = 400.0  # two TensorFlow imports and an epoch on a small, busy machine
DEATH_TIMEOUT_S = 10.0

PARENT_SCRIPT = """
import json, sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication, QTimer
from designer.training.launcher import start_run
from designer.training.runs import RunFolder
from designer.ui.engine_client import EngineClient

application = QCoreApplication([])
run = RunFolder(Path(sys.argv[1]))
worker = start_run(run)
client = EngineClient(cache_dir=Path(sys.argv[2]), request_timeout_s=3600.0)
client.started.connect(client.request_catalog)  # the host never answers it: it is busy
client.start()

def report_when_ready() -> None:
    # ready once an epoch's checkpoint is written (the epoch's event comes a moment before it)
    if client.is_ready and run.completed_epochs() >= 1:
        print(json.dumps({"host": client.process_id, "worker": worker.pid}), flush=True)
        timer.stop()

timer = QTimer(interval=100, timeout=report_when_ready)
timer.start()
application.exec()
"""


@dataclass
class Orphans:
    """What the children of the killed parent did."""

    markers: list[str]
    pids: dict[str, int]
    alive_after: dict[str, float | None]  # seconds each child lived on after the kill (None: still alive)
    runs: list[RunSummary]


def write_hostile_modules(folder: Path, markers: Path) -> None:
    """Modules named like those Keras imports; each leaves a marker if it is ever imported."""
    for name in HOSTILE_NAMES:
        code = f"import pathlib\npathlib.Path({str(markers)!r}, {str(folder.name + '-' + name)!r}).touch()\n"
        (folder / f"{name}.py").write_text(code)


def digits_run(root: Path) -> RunFolder:
    from designer.engine.analysis import default_catalog
    from designer.training.launcher import prepare_run

    catalog = default_catalog()
    loaded = project.load(EXAMPLES / "digits_mlp.json", catalog.ports_of)
    config = TrainingConfig.from_dict(loaded.training).copy(epochs=50, batch_size=8)
    return prepare_run(loaded.graph, config, catalog, runs_root=root)


def seconds_until_gone(pid: int, timeout_s: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if not pid_alive(pid):
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def start_parent(tmp_path: Path, working: Path, run: RunFolder) -> subprocess.Popen[str]:
    script = tmp_path / "parent" / "gui_like_parent.py"
    script.parent.mkdir()
    script.write_text(textwrap.dedent(PARENT_SCRIPT))
    environment = {**os.environ, "DESIGNER_ENGINE_TEST_HANG_OP": "catalog", "PYTHONPATH": str(PACKAGE_ROOT)}
    command = [sys.executable, str(script), str(run.path), str(tmp_path / "cache")]
    return subprocess.Popen(command, cwd=working, env=environment, stdout=subprocess.PIPE, text=True)


def first_line(parent: subprocess.Popen[str], markers: Path, timeout_s: float) -> dict[str, int]:
    """The parent's report, written once both children work: {"host": pid, "worker": pid}; {} when
    a hostile module ran first (the children then never get that far) or it never comes."""
    assert parent.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and parent.poll() is None and not any(markers.iterdir()):
        ready, _, _ = select.select([parent.stdout], [], [], 1.0)
        if ready:
            line = parent.stdout.readline()
            return {name: int(pid) for name, pid in json.loads(line).items()} if line else {}
    return {}


def kill_leftovers(pids: dict[str, int]) -> None:
    for pid in pids.values():
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def orphans(tmp_path_factory: pytest.TempPathFactory) -> Orphans:
    tmp_path = tmp_path_factory.mktemp("orphans")
    markers = tmp_path / "markers"
    markers.mkdir()
    run, working = digits_run(tmp_path / "runs"), tmp_path / "working"
    working.mkdir()
    write_hostile_modules(working, markers)
    write_hostile_modules(run.path, markers)
    parent = start_parent(tmp_path, working, run)
    pids: dict[str, int] = {}
    try:
        pids = first_line(parent, markers, READY_TIMEOUT_S)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        alive_after = {name: seconds_until_gone(pid, DEATH_TIMEOUT_S) for name, pid in pids.items()}
    finally:
        kill_leftovers({"parent": parent.pid, **pids})
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
    markers_left = sorted(path.name for path in markers.iterdir())
    return Orphans(markers_left, pids, alive_after, list_runs(run.path.parent))


def test_no_module_of_the_working_folder_runs_in_the_host_or_the_worker(orphans: Orphans) -> None:
    assert orphans.markers == []


def test_the_host_and_the_worker_die_with_a_killed_parent(orphans: Orphans) -> None:
    assert set(orphans.pids) == {"host", "worker"}, "the GUI-like parent's children never got to work"
    assert orphans.alive_after["host"] is not None, "the busy engine host outlived the killed GUI"
    assert orphans.alive_after["worker"] is not None, "the training worker outlived the killed GUI"


def test_the_run_of_a_dead_worker_is_interrupted_and_resumable(orphans: Orphans) -> None:
    from designer.ui.panels.training import resumable

    (summary,) = orphans.runs
    assert summary.status == "interrupted"
    assert "worker is gone" in summary.reason
    assert resumable(summary)


# --------------------------------------------------------------- the pieces
def test_a_child_starts_with_the_designer_but_not_the_working_folder_on_its_path(tmp_path: Path) -> None:
    environment = {**child_environment(), "PYTHONPATH": os.pathsep.join([".", str(tmp_path / "absolute")])}
    result = subprocess.run(
        python_command("site"),
        cwd=tmp_path,
        env=child_environment(environment),
        capture_output=True,
        text=True,
    )
    assert f"{str(PACKAGE_ROOT)!r}," in result.stdout
    assert f"{str(tmp_path / 'absolute')!r}," in result.stdout
    assert f"{str(tmp_path)!r}," not in result.stdout


def test_the_child_environment_names_the_designer_and_the_parent() -> None:
    environment = child_environment({"PYTHONPATH": os.pathsep.join(["/mine", ".", "", "relative/dir"])})
    assert environment["PYTHONPATH"].split(os.pathsep) == [str(PACKAGE_ROOT), "/mine"]
    assert environment[PARENT_VARIABLE] == str(os.getpid())


def test_a_child_whose_parent_died_before_it_looked_ends_at_once(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    environment = {**child_environment(), PARENT_VARIABLE: str(gone.pid)}
    code = "from designer.processes import die_with_parent\ndie_with_parent()\nimport time\ntime.sleep(60)\n"
    child = subprocess.run([sys.executable, "-P", "-c", code], cwd=tmp_path, env=environment, timeout=30)
    assert child.returncode == -signal.SIGKILL
