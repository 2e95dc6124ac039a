"""Run folders: the code, config and design of one training run, and what the run wrote.

A run folder holds `model.py` and `train.py` exactly as Export writes them for
the design and config, `config.json`, `graph.json` and `run.json` (the graph
hash, the export options, the sample count), `events.jsonl` (the worker's JSON
lines), `checkpoints/` (`last.keras` and `epoch_NNN.weights.h5` after every
epoch, plus what the config asks for), `logs/` (TensorBoard), `history.csv`, and the worker's
`stdout.log` / `stderr.log`, and `worker.json` (the pid of the worker that
trains it now or trained it last). A `stop` file asks the worker to stop after
the current batch. A run whose log says it is training while no worker of it is
alive (the designer was killed, the machine restarted) is "interrupted": it can
resume from its last checkpoint. Before a resume, `forget_epochs_from` drops the
records of the epochs the checkpoint does not hold (a kill outran it), so no
epoch is recorded twice; `disk_shortage` is the free-space check before and
during a run.

The pure functions the UI needs live here too: `per_batch_values` turns Keras'
per-batch running means back into each batch's value, `smooth` is
TensorBoard's smoothing, and `EventTail` reads the event log as it grows.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import errno
import hashlib
import importlib.util
import io
import json
import math
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, overload

from designer.catalog.spec import LayerSpec
from designer.codegen import MODEL_FILE, TRAINING_FILE, export
from designer.graph import project
from designer.graph.model import ModelGraph
from designer.processes import command_line, pid_alive
from designer.training.config import TrainingConfig

CONFIG_FILE = "config.json"
GRAPH_FILE = "graph.json"
RUN_FILE = "run.json"
EVENTS_FILE = "events.jsonl"
HISTORY_FILE = "history.csv"
STOP_FILE = "stop"
WORKER_FILE = "worker.json"
WORKER_MODULE = "designer.training.worker"
STDOUT_FILE = "stdout.log"
STDERR_FILE = "stderr.log"
CHECKPOINTS = "checkpoints"
LOGS = "logs"
LAST_CHECKPOINT = "last.keras"  # in checkpoints/: the model after the last epoch, optimizer included
INITIAL_WEIGHTS_FILE = "initial.weights.h5"  # the weights a run starts from, when it does not start fresh
LAST_STATE = "last.json"  # in checkpoints/: {"epoch": epochs done, "partial": stopped inside it}
TERMINAL_EVENTS = ("finished", "stopped", "error")
INTERRUPTED_REASON = "its worker is gone (the designer was closed or killed while it trained)"
RUN_NAME = re.compile(r"run_(\d+)$")
EPOCH_WEIGHTS = "epoch_{epoch:03d}.weights.h5"  # in checkpoints/: the weights after each epoch (1-based)
EPOCH_CHECKPOINT = re.compile(r"epoch_(\d+)\.(weights\.h5|keras)$")  # those, and the config's epoch_NNN.keras
RUNS_SUFFIX = ".runs"  # digits.json's runs go in digits.runs/ beside it
USER_RUNS_VARIABLE = "DESIGNER_RUNS_DIR"  # overrides the per-user runs folder (tests, a shared disk)
APP_FOLDER = Path("keras-designer") / "Keras Designer"  # Qt's AppDataLocation: organisation / application
INSPECTION_EVENT = "inspection"  # the worker's per-epoch gradient norms and dead-ReLU fractions
EPOCH_EVENTS = ("batch", "epoch", INSPECTION_EVENT, "nan")  # events that belong to one epoch
HISTORY_BEFORE_RESUME = f"{HISTORY_FILE}.before-resume"  # the worker's: history.csv set aside
FREE_BYTES_ENV = "DESIGNER_TRAINING_FREE_BYTES"  # the free bytes a run needs, instead of the estimate
MINIMUM_FREE_BYTES = 64 * 1000**2  # room for a run folder and a small model's checkpoints


def graph_hash(graph: ModelGraph) -> str:
    """sha256 of the design's canonical project JSON, node positions left out (moving a node
    on the canvas does not change what trains)."""
    data = project.to_dict(graph)
    for node in data["nodes"]:
        node.pop("position")
    return hashlib.sha256(project.dumps(data).encode("utf-8")).hexdigest()


def tensorboard_installed() -> bool:
    """Whether the tensorboard package is there: Keras' TensorBoard callback fails without it."""
    return importlib.util.find_spec("tensorboard") is not None


def run_config(config: TrainingConfig) -> TrainingConfig:
    """The config a run trains with: a run always writes its CSV log, and its TensorBoard logs
    when the tensorboard package is installed (`run_notes` says so when it is not)."""
    callbacks = TrainingConfig.from_dict(config.to_dict()).callbacks
    callbacks.csv_logger = True
    callbacks.tensorboard = tensorboard_installed()
    return config.copy(callbacks=callbacks)


def _initial_weights_file(config: TrainingConfig) -> Path | None:
    """The weights file the run starts from, which must exist; None when it starts fresh."""
    if config.initial_weights is None:
        return None
    path = Path(config.initial_weights)
    if not path.is_file():
        raise FileNotFoundError(
            f"The initial weights {path} do not exist: import the model again, or start fresh."
        )
    return path


def user_layer_folders(graph: ModelGraph, catalog: Mapping[str, LayerSpec]) -> list[Path]:
    """The folders of the user's layer files the design uses."""
    specs = [catalog.get(node.type) for node in graph.nodes.values()]
    return sorted({Path(spec.file).parent for spec in specs if spec and spec.source == "user" and spec.file})


def copy_user_modules(run_path: Path, code: Sequence[str], folders: Sequence[Path]) -> None:
    """Copy into the run folder the user's modules the code imports from `folders` (a custom
    layer's helpers, or its file when it is imported rather than inlined), and theirs in turn,
    so that the worker, which runs in the run folder, imports them as the engine did."""
    pending = [name for text in code for name in _imported_modules(text)]
    while pending:
        name = pending.pop()
        target = run_path / f"{name}.py"
        source = next((folder / target.name for folder in folders if (folder / target.name).is_file()), None)
        if source is None or target.exists():
            continue
        shutil.copyfile(source, target)
        pending += _imported_modules(source.read_text(encoding="utf-8", errors="replace"))


def _imported_modules(code: str) -> list[str]:
    """The top-level modules `code` imports (absolute imports only); none when it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    names += [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
    ]
    return [name.split(".")[0] for name in names]


def run_notes(config: TrainingConfig) -> list[str]:
    """What a run changes of `config`, for a person to read."""
    if tensorboard_installed():
        return []
    asked = " although the config asks for them" if config.callbacks.tensorboard else ""
    return [f"TensorBoard is not installed (pip install tensorboard): no TensorBoard logs{asked}."]


def default_runs_root(project_path: str | os.PathLike[str], user_folder: Path | None = None) -> Path:
    """Where the runs of a project file go: <stem>.runs/ beside it (digits.json -> digits.runs/);
    for a file inside the installed package (an example), <user runs folder>/<stem>/ instead,
    `user_folder` or `user_runs_folder()`: nothing is ever written into the package."""
    path = Path(project_path)
    if inside_installed_package(path):
        return (user_folder or user_runs_folder()) / path.stem
    return path.parent / f"{path.stem}{RUNS_SUFFIX}"


def untitled_runs_root(name: str, user_folder: Path | None = None) -> Path:
    """Where the runs of a design without a project file go: <user runs folder>/<name>/."""
    return (user_folder or user_runs_folder()) / (name or "untitled")


def user_runs_folder(data_location: str | os.PathLike[str] | None = None) -> Path:
    """$DESIGNER_RUNS_DIR, else runs/ in `data_location` (the GUI gives Qt's AppDataLocation),
    else in this system's per-user data folder for the app."""
    configured = os.environ.get(USER_RUNS_VARIABLE)
    if configured:
        return Path(configured)
    return Path(data_location or _user_data_folder()) / "runs"


def _user_data_folder() -> Path:
    """What Qt's AppDataLocation is for the app on this system, found without Qt (the CLI's)."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / APP_FOLDER


def inside_installed_package(path: str | os.PathLike[str]) -> bool:
    """Whether `path` lies in the designer's own package or its resources (the examples)."""
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(root) for root in _package_roots())


def _package_roots() -> list[Path]:
    roots = [Path(__file__).resolve().parents[1], Path(__file__).resolve().parents[2] / "resources"]
    spec = importlib.util.find_spec("resources")
    if spec is not None and spec.submodule_search_locations:
        roots += [Path(location).resolve() for location in spec.submodule_search_locations]
    return roots


def _write_text(path: Path, text: str) -> None:
    """UTF-8 with the text's own newlines on every system: the code is byte for byte Export's."""
    path.write_bytes(text.encode("utf-8"))


def _write_json(path: Path, data: Any) -> None:
    _write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


class DiskFullError(OSError):
    """The disk of a run folder has too little room left for the run's checkpoints."""

    def __init__(self, message: str, folder: Path) -> None:
        super().__init__(errno.ENOSPC, message, str(folder))

    def __str__(self) -> str:
        return str(self.strerror)


def disk_shortage(folder: Path, needed: int) -> str | None:
    """'disk full: ...' when the disk of `folder` (or of its nearest existing parent) has fewer
    than `needed` bytes free ($DESIGNER_TRAINING_FREE_BYTES instead, when set); else None."""
    needed = int(os.environ.get(FREE_BYTES_ENV) or needed)
    existing = next((path for path in [folder, *folder.parents] if path.exists()), folder)
    try:
        free = shutil.disk_usage(existing).free
    except OSError:
        return None  # a disk that cannot say: the writes will tell
    if free >= needed:
        return None
    return (
        f"disk full: {_megabytes(free)} free on {existing}, {_megabytes(needed)} needed for the checkpoints"
    )


def _megabytes(count: int) -> str:
    return f"{count / 1000**2:,.1f} MB"


# What a run folder holds, by the RunFolder attribute that names it: run.events_file is
# run.path / "events.jsonl". One table, one accessor (RunPath), instead of a property each.
RUN_PATHS = {
    "model_file": MODEL_FILE,
    "training_file": TRAINING_FILE,
    "events_file": EVENTS_FILE,
    "history_file": HISTORY_FILE,
    "history_before_resume": HISTORY_BEFORE_RESUME,
    "stdout_file": STDOUT_FILE,
    "stderr_file": STDERR_FILE,
    "stop_file": STOP_FILE,
    "worker_file": WORKER_FILE,
    "config_file": CONFIG_FILE,
    "graph_file": GRAPH_FILE,
    "run_file": RUN_FILE,
    "checkpoints": CHECKPOINTS,
    "last_checkpoint": f"{CHECKPOINTS}/{LAST_CHECKPOINT}",
    "last_state_file": f"{CHECKPOINTS}/{LAST_STATE}",
}


class RunPath:
    """A RunFolder attribute that is a path in the run folder, as RUN_PATHS names it."""

    relative = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.relative = RUN_PATHS[name]

    @overload
    def __get__(self, run: None, owner: type) -> RunPath: ...

    @overload
    def __get__(self, run: RunFolder, owner: type) -> Path: ...

    def __get__(self, run: RunFolder | None, owner: type) -> Path | RunPath:
        return self if run is None else run.path / self.relative


@dataclass(frozen=True)
class RunSummary:
    """One line of a project's run list."""

    path: Path
    name: str
    status: str  # created, running, interrupted, finished, stopped or error
    reason: str  # why it stopped or failed ("nan", "stop requested", the error message)
    config: dict[str, Any]
    graph_hash: str
    final_metrics: dict[str, float]  # the logs of the last epoch, val_* included
    epochs: int  # epochs done
    duration: float  # seconds of training, summed over resumed sessions
    started: float | None  # Unix time of the first start
    device: str = ""


@dataclass(frozen=True)
class RunFolder:
    """The folder of one run; `create` writes it, the worker and the launcher fill it."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    # ----------------------------------------------------------- create
    @classmethod
    def create(
        cls,
        runs_root: str | os.PathLike[str],
        graph: ModelGraph,
        config: TrainingConfig,
        catalog: Mapping[str, LayerSpec],
        *,
        style: str = "functional",
        self_contained: bool = True,
        metadata: Mapping[str, Any] | None = None,
    ) -> RunFolder:
        """A new folder run_NNNN under `runs_root` (the next free number), written as `create_at`."""
        root = Path(runs_root)
        root.mkdir(parents=True, exist_ok=True)
        while True:
            path = root / next_run_name(root)
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return cls.create_at(
                path, graph, config, catalog, style=style, self_contained=self_contained, metadata=metadata
            )

    @classmethod
    def create_at(
        cls,
        path: str | os.PathLike[str],
        graph: ModelGraph,
        config: TrainingConfig,
        catalog: Mapping[str, LayerSpec],
        *,
        style: str = "functional",
        self_contained: bool = True,
        metadata: Mapping[str, Any] | None = None,
    ) -> RunFolder:
        """Write the run's code (Export's own output), config, design and metadata into `path`,
        which must be new or empty. The code is generated first: a design codegen refuses
        leaves no folder behind."""
        config = run_config(config)
        initial_weights = _initial_weights_file(config)
        if initial_weights is not None:  # the run keeps its own copy, so train.py finds it beside itself
            config = config.copy(initial_weights=INITIAL_WEIGHTS_FILE)
        files = export(
            graph,
            catalog,
            style,
            self_contained=self_contained,
            with_training=True,
            training_config=config.to_dict(),
        )
        run = cls(Path(path))
        if run.path.exists() and any(run.path.iterdir()):
            raise FileExistsError(f"{run.path} is not empty: a run folder must be new.")
        run.path.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            _write_text(run.path / name, text)
        copy_user_modules(run.path, list(files.values()), user_layer_folders(graph, catalog))
        if initial_weights is not None:
            shutil.copyfile(initial_weights, run.path / INITIAL_WEIGHTS_FILE)
        _write_json(run.config_file, config.to_dict())
        _write_json(run.graph_file, project.to_dict(graph))
        options = {"style": style, "self_contained": self_contained}
        _write_json(
            run.run_file,
            {**dict(metadata or {}), **options, "graph_hash": graph_hash(graph), "created": time.time()},
        )
        for folder in (CHECKPOINTS, LOGS):
            (run.path / folder).mkdir(exist_ok=True)
        run.events_file.touch()
        return run

    # ------------------------------------------------------------ files
    model_file, training_file, events_file, history_file = RunPath(), RunPath(), RunPath(), RunPath()
    stdout_file, stderr_file, stop_file, worker_file = RunPath(), RunPath(), RunPath(), RunPath()
    config_file, graph_file, run_file, history_before_resume = RunPath(), RunPath(), RunPath(), RunPath()
    checkpoints, last_checkpoint, last_state_file = RunPath(), RunPath(), RunPath()

    @property
    def name(self) -> str:
        return self.path.name

    def config(self) -> TrainingConfig:
        return TrainingConfig.from_dict(json.loads(self.config_file.read_text(encoding="utf-8")))

    def metadata(self) -> dict[str, Any]:
        return json.loads(self.run_file.read_text(encoding="utf-8"))

    @property
    def graph_hash(self) -> str:
        return str(self.metadata()["graph_hash"])

    def completed_epochs(self) -> int:
        """Epochs whose weights `last.keras` holds (0 without a checkpoint): where a resume starts."""
        state = self.last_state_file
        if not state.exists() or not self.last_checkpoint.exists():
            return 0
        return int(json.loads(state.read_text(encoding="utf-8"))["epoch"])

    def epoch_weights(self) -> list[tuple[int, Path]]:
        """(epoch, file) of each epoch's checkpoint, by epoch (1 after the first): the worker's
        epoch_NNN.weights.h5 where there is one, else the config's epoch_NNN.keras."""
        chosen: dict[int, Path] = {}
        files = self.checkpoints.iterdir() if self.checkpoints.is_dir() else iter(())
        for path in files:
            match = EPOCH_CHECKPOINT.fullmatch(path.name)
            if match and (int(match.group(1)) not in chosen or match.group(2) == "weights.h5"):
                chosen[int(match.group(1))] = path
        return sorted(chosen.items())

    def forget_epochs_from(self, epoch: int) -> None:
        """Before a resume from `epoch` epochs: drop what the log and history.csv hold of epoch
        `epoch` (0-based) on, which a kill left without a checkpoint and the resume trains again,
        so that no epoch is recorded twice."""
        if self.events_file.exists():
            lines = self.events_file.read_bytes().splitlines(keepends=True)
            kept = [line for line in lines if not _of_epoch_from(line, epoch)]
            if len(kept) < len(lines):
                project.atomic_write_text(self.events_file, b"".join(kept).decode("utf-8", "replace"))
        for history in (self.history_file, self.history_before_resume):
            if history.exists():
                _keep_history_before(history, epoch)

    def inspection_events(self) -> list[dict[str, Any]]:
        """The worker's inspection events, one per epoch: {"type": "inspection", "epoch": 0-based
        like the epoch events, "gradient_norms": {layer: norm}, "dead_relu": {layer: fraction},
        "samples", and "note" when something could not be computed}. Non-finite values are the
        strings "nan", "inf", "-inf" (float() reads them)."""
        return [event for event in self.events() if event.get("type") == INSPECTION_EVENT]

    # ----------------------------------------------------------- worker
    def record_worker(self, pid: int) -> None:
        """Note the pid of the worker training this run (the worker does, as it starts)."""
        _write_json(self.worker_file, {"pid": pid, "time": time.time()})

    def worker_pid(self) -> int | None:
        """The pid of this run's worker while it is alive; None when it is gone (or never started)."""
        try:
            pid = int(json.loads(self.worker_file.read_text(encoding="utf-8"))["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        arguments = command_line(pid) if pid_alive(pid) else []
        if arguments is None:  # no /proc: alive is all that can be told
            return pid
        return pid if WORKER_MODULE in arguments else None

    def kill_worker(self) -> bool:
        """Kill this run's worker, wherever it was started from; False when none is alive."""
        pid = self.worker_pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        return True

    def request_stop(self) -> None:
        """Ask the worker to stop after the current batch (it keeps a checkpoint)."""
        self.stop_file.touch()

    def clear_stop(self) -> None:
        self.stop_file.unlink(missing_ok=True)

    # ----------------------------------------------------------- events
    def events(self) -> list[dict[str, Any]]:
        """Every complete event of the log (a line cut short by a killed worker is skipped)."""
        return EventTail(self.events_file).read()

    def append_event(self, event: Mapping[str, Any]) -> None:
        """Add an event to the log (the launcher's, after the worker is gone)."""
        with open_event_log(self.events_file) as file:
            file.write(json.dumps({"time": time.time(), **event}) + "\n")

    def record_exit(self, returncode: int, stderr_lines: Sequence[str] = ()) -> dict[str, Any] | None:
        """After the worker ended: when its last session has no final event (a crash, Kill, an
        out-of-memory kill), log an error event with the exit and the last lines of stderr."""
        events = self.events()
        last_start = max((i for i, e in enumerate(events) if e.get("type") == "start"), default=-1)
        if any(e.get("type") in TERMINAL_EVENTS for e in events[last_start + 1 :]) or (
            last_start < 0 and returncode == 0
        ):
            return None
        message = exit_message(returncode)
        if returncode != 0 and (shortage := disk_shortage(self.path, MINIMUM_FREE_BYTES)):
            message += f" Likely cause: {shortage}."  # h5py dies on a full disk (errno 28)
        event = {
            "type": "error",
            "message": message,
            "returncode": returncode,
            "stderr": list(stderr_lines),
        }
        self.append_event(event)
        return event

    def summary(self) -> RunSummary:
        return _summarize(self, self.events())


def next_run_name(root: Path) -> str:
    """run_0001, run_0002... one past the highest number in `root`."""
    numbers = [int(match.group(1)) for entry in root.iterdir() if (match := RUN_NAME.match(entry.name))]
    return f"run_{max(numbers, default=0) + 1:04d}"


def exit_message(returncode: int) -> str:
    """What a worker's exit status means to a person."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        cause = " (Kill, or the system ran out of memory)" if name == "SIGKILL" else ""
        return f"The training worker was killed by {name}{cause}."
    return f"The training worker exited with code {returncode} before the run ended."


def tail_lines(path: Path, count: int = 20) -> list[str]:
    """The last `count` lines of a text file (nothing when it does not exist)."""
    if not path.exists():
        return []
    with open(path, "rb") as file:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - 64 * 1024))
        text = file.read().decode("utf-8", errors="replace")
    return text.splitlines()[-count:]


# --------------------------------------------------------------- run list
def list_runs(root: str | os.PathLike[str]) -> list[RunSummary]:
    """The runs under `root`, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    folders = sorted(entry for entry in root.iterdir() if (entry / RUN_FILE).is_file())
    return [RunFolder(folder).summary() for folder in folders]


def _summarize(run: RunFolder, events: list[dict[str, Any]]) -> RunSummary:
    starts = [e for e in events if e.get("type") == "start"]
    terminal = next((e for e in reversed(events) if e.get("type") in TERMINAL_EVENTS), None)
    epochs = [e for e in events if e.get("type") == "epoch"]
    status, reason = "created", ""
    if starts:
        status = "running"
    if terminal is not None and (not starts or events.index(terminal) > events.index(starts[-1])):
        status, reason = terminal["type"], str(terminal.get("reason") or terminal.get("message") or "")
    elif status == "running" and run.worker_pid() is None:
        status, reason = "interrupted", INTERRUPTED_REASON
    return RunSummary(
        path=run.path,
        name=run.name,
        status=status,
        reason=reason,
        config=run.config().to_dict(),
        graph_hash=run.graph_hash,
        final_metrics=dict(epochs[-1].get("logs", {})) if epochs else {},
        epochs=epochs[-1]["epoch"] + 1 if epochs else 0,
        duration=_duration(events),
        started=starts[0].get("time") if starts else None,
        device=str(starts[-1].get("device", "")) if starts else "",
    )


def _duration(events: list[dict[str, Any]]) -> float:
    """Seconds from each start to the last event of its session, summed."""
    sessions: list[list[float]] = []
    for event in events:
        if event.get("type") == "start":
            sessions.append([])
        if sessions and isinstance(event.get("time"), int | float):
            sessions[-1].append(float(event["time"]))
    return sum(times[-1] - times[0] for times in sessions if times)


# ---------------------------------------------------------------- event log
def _of_epoch_from(line: bytes, epoch: int) -> bool:
    event = _parse_event(line)
    number = event.get("epoch") if event is not None else None
    is_epoch_event = event is not None and event.get("type") in EPOCH_EVENTS
    return is_epoch_event and isinstance(number, int) and number >= epoch


def _keep_history_before(path: Path, epoch: int) -> None:
    """history.csv (CSVLogger's, an `epoch` column 0-based) without the rows of `epoch` on."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    if not rows or "epoch" not in rows[0]:
        return
    column = rows[0].index("epoch")
    kept = [rows[0], *(row for row in rows[1:] if _history_epoch(row, column) < epoch)]
    if len(kept) < len(rows):
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(kept)
        project.atomic_write_text(path, text.getvalue())


def _history_epoch(row: list[str], column: int) -> float:
    try:
        return float(row[column])
    except (IndexError, ValueError):
        return math.inf  # a row cut short by the kill


def open_event_log(path: Path) -> TextIO:
    """The event log opened for appending, after ending a line a killed writer left cut short."""
    with open(path, "ab+") as raw:
        if raw.seek(0, os.SEEK_END) > 0:
            raw.seek(-1, os.SEEK_END)
            if raw.read(1) != b"\n":
                raw.write(b"\n")  # append mode: at the end
    return open(path, "a", encoding="utf-8", newline="\n")


@dataclass
class EventTail:
    """Reads a JSON-lines event log as it grows: each `read()` returns the new complete lines."""

    path: Path
    offset: int = 0
    _partial: bytes = field(default=b"", repr=False)

    def read(self) -> list[dict[str, Any]]:
        if not Path(self.path).exists():
            return []
        with open(self.path, "rb") as file:
            file.seek(self.offset)
            data = self._partial + file.read()
            self.offset = file.tell()
        *lines, self._partial = data.split(b"\n")
        return [event for line in lines if (event := _parse_event(line)) is not None]


def _parse_event(line: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return event if isinstance(event, dict) else None


# ------------------------------------------------------------- batch values
NOT_MEANS = (
    "auc",
    "precision",
    "recall",
    "f1_score",
    "fbeta",
    "r2_score",
    "iou",
    "correlation",
    "learning_rate",
)


def is_running_mean(name: str) -> bool:
    """Whether Keras logs `name` as a mean over the epoch's batches (loss, accuracy, mae...),
    which `per_batch_values` can undo; AUC, precision, recall and the like accumulate otherwise."""
    return not any(word in name for word in NOT_MEANS)


def next_batch_value(
    running_mean: float, previous_mean: float, weight_before: float, batch_size: float
) -> float:
    """The value of one batch from the running mean after it and the one before it."""
    return (running_mean * (weight_before + batch_size) - previous_mean * weight_before) / batch_size


def per_batch_values(
    running_means: Sequence[float], batch_sizes: Sequence[float] | None = None
) -> list[float]:
    """Each batch's own value from Keras' running means over the epoch.

    Keras logs the mean of batches 1..k after batch k, weighted by batch size:
    m_k = (w_1 v_1 + ... + w_k v_k) / (w_1 + ... + w_k), so
    v_k = (W_k m_k - W_(k-1) m_(k-1)) / w_k; with equal batches v_k = k m_k - (k-1) m_(k-1).
    """
    sizes = list(batch_sizes) if batch_sizes is not None else [1.0] * len(running_means)
    if len(sizes) != len(running_means):
        raise ValueError(f"{len(running_means)} running means but {len(sizes)} batch sizes.")
    values, weight, previous = [], 0.0, 0.0
    for mean, size in zip(running_means, sizes, strict=True):
        values.append(next_batch_value(mean, previous, weight, size))
        weight, previous = weight + size, mean
    return values


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so that it starts at
    the first value. `weight` in [0, 1): 0 leaves the values as they are. NaN/Inf stay as they are."""
    if not 0 <= weight < 1:
        raise ValueError(f"The smoothing weight must be in [0, 1), got {weight!r}.")
    smoothed, last, count = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            smoothed.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        smoothed.append(last / (1 - weight**count))
    return smoothed
