"""Starting training workers, and `designer train` on the command line.

`start_run` starts `python -P -m designer.training.worker RUN_DIR` with
subprocess in a session of its own (a fresh interpreter, never a fork of this
process; Ctrl-C in the terminal reaches the CLI, which asks the worker to stop).
designer.processes keeps the working folder off the worker's path and ends the
worker when the process that started it dies.
The GUI starts the same `worker_command` with QProcess. `RunProcess` stops,
kills and waits for the worker; when it ends without a final event (a crash,
Kill, an out-of-memory kill) `finish()` logs the exit status and the last lines
of stderr in the run's event log.

`train_cli` is the whole of `designer train FILE`: load, check the config and
the data against the model before anything starts, write the run folder, train,
print a line per epoch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from designer.catalog.spec import Catalog
from designer.codegen.errors import CodegenError
from designer.graph import project
from designer.graph.errors import GraphError
from designer.graph.model import ModelGraph
from designer.processes import child_environment, python_command
from designer.training.config import ConfigError, TrainingConfig
from designer.training.data import (
    DataError,
    apply_fix,
    check_data,
    inspect_data,
    resolve_config_paths,
    source_from_text,
    training_samples,
)
from designer.training.runs import (
    MINIMUM_FREE_BYTES,
    TERMINAL_EVENTS,
    DiskFullError,
    EventTail,
    RunFolder,
    default_runs_root,
    disk_shortage,
    run_notes,
    tail_lines,
)

Shape = tuple[int | None, ...]
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
POLL_SECONDS = 0.1


# ------------------------------------------------------------------ process
def worker_command(
    run_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    epochs: int | None = None,
    events_fd: int | None = None,
    events_file: str | os.PathLike[str] | None = None,
    batch_interval: float | None = None,
    python: str = sys.executable,
) -> list[str]:
    """The worker's command line (the GUI gives it to QProcess)."""
    command = python_command("designer.training.worker", [str(run_dir)], python)
    if batch_interval is not None:
        command += ["--batch-interval", str(batch_interval)]
    if resume:
        command.append("--resume")
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    if events_fd is not None:
        command += ["--events-fd", str(events_fd)]
    if events_file is not None:
        command += ["--events-file", str(events_file)]
    return command


def worker_environment(backend: str | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process' environment for the worker: KERAS_BACKEND when given (else whatever is set,
    TensorFlow by default), TensorFlow's C++ chatter down to warnings, the designer importable,
    this process named as the parent the worker dies with (designer.processes)."""
    environment = child_environment(base)
    if backend:
        environment["KERAS_BACKEND"] = backend
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


@dataclass
class ExitReport:
    """How a worker ended: its exit status, its final event, and stderr's last lines if it failed."""

    returncode: int
    status: str  # finished, stopped, error
    message: str
    stderr_tail: list[str] = field(default_factory=list)


class RunProcess:
    """One worker process of a run."""

    def __init__(self, run: RunFolder, process: subprocess.Popen[bytes]) -> None:
        self.run = run
        self.process = process
        self.tail = EventTail(run.events_file, offset=run.events_file.stat().st_size)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def new_events(self) -> list[dict[str, Any]]:
        """Events logged since the last call (the worker's, then the launcher's own)."""
        return self.tail.read()

    def stop(self) -> None:
        """Stop after the current batch, keeping a checkpoint."""
        self.run.request_stop()

    def kill(self) -> None:
        """End the worker at once (its whole process group on POSIX)."""
        if not self.running():
            return
        if os.name == "posix":
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.kill()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def finish(self, timeout: float | None = None) -> ExitReport:
        """Wait for the end; log an error event if the worker left none, and say how it ended."""
        returncode = self.wait(timeout)
        self.run.clear_stop()
        stderr = tail_lines(self.run.stderr_file)
        self.run.record_exit(returncode, stderr)
        final = next((e for e in reversed(self.run.events()) if e.get("type") in TERMINAL_EVENTS), {})
        status = str(final.get("type", "error"))
        message = str(final.get("message") or final.get("reason") or status)
        return ExitReport(returncode, status, message, stderr if status == "error" else [])


def start_run(
    run: RunFolder,
    *,
    resume: bool = False,
    epochs: int | None = None,
    backend: str | None = None,
    events_file: str | os.PathLike[str] | None = None,
    events_fd: int | None = None,
    batch_interval: float | None = None,
    python: str = sys.executable,
) -> RunProcess:
    """Start the worker of `run` in a new session; its stdout and stderr go to the run folder.

    `events_fd` (POSIX) is a descriptor the worker inherits and writes the events to as well,
    the write end of a pipe the caller reads; `events_file` another file it appends them to.
    A resume on a disk with no room for a checkpoint raises DiskFullError (a new run's folder
    was checked by `prepare_run`)."""
    run.clear_stop()
    if resume and (shortage := disk_shortage(run.path, MINIMUM_FREE_BYTES)):
        raise DiskFullError(shortage, run.path)
    if resume:
        run.forget_epochs_from(run.completed_epochs())  # before the tail below starts at the log's end
    command = worker_command(
        run.path,
        resume=resume,
        epochs=epochs,
        events_fd=events_fd,
        events_file=events_file,
        batch_interval=batch_interval,
        python=python,
    )
    with open(run.stdout_file, "ab") as stdout, open(run.stderr_file, "ab") as stderr:
        process = subprocess.Popen(
            command,
            cwd=run.path,
            env=worker_environment(backend),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            pass_fds=(events_fd,) if events_fd is not None else (),
            **_new_session(),
        )
    return RunProcess(run, process)


def _new_session() -> dict[str, Any]:
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]


# ---------------------------------------------------------------- before run
@dataclass(frozen=True)
class WeightsMatch:
    """Imported weights written for the design as it is now: `loaded` layers got theirs by
    name, `fresh` layers (new since the import) keep their initial values."""

    path: Path
    loaded: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)


def weights_note(match: WeightsMatch) -> str:
    """A line for a person: how much of the model starts from the imported weights."""
    text = f"Starting from the imported weights: {len(match.loaded)} layer(s) loaded"
    if not match.fresh:
        return text + "."
    shown = ", ".join(match.fresh[:5]) + (", ..." if len(match.fresh) > 5 else "")
    return f"{text}; {len(match.fresh)} new layer(s) start fresh: {shown}."


@dataclass(frozen=True)
class ModelCheck:
    """What the engine says of a design before it trains: its errors and its output shapes."""

    errors: list[str] = field(default_factory=list)
    output_shapes: dict[str, Shape] = field(default_factory=dict)


def prepare_run(
    graph: ModelGraph,
    config: TrainingConfig,
    catalog: Catalog,
    *,
    output_shapes: Mapping[str, Shape] | None = None,
    base_dir: str | os.PathLike[str] = ".",
    runs_root: str | os.PathLike[str] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    style: str = "functional",
    online: Callable[[], bool] | None = None,
    gpus: int | None = None,
    backend: str | None = None,
) -> RunFolder:
    """Check the config and the data, then write the run folder (under `runs_root`, or at `run_dir`).

    With several GPUs (`gpus`, by default those the driver lists) on the TensorFlow backend, the
    run trains with the "mirrored" distribution. Raises ConfigError or DataError (every problem
    in the message), or DiskFullError when the disk has no room for the run, before anything is
    written.
    """
    folder = Path(run_dir or runs_root or Path(base_dir) / "runs")
    if shortage := disk_shortage(folder, MINIMUM_FREE_BYTES):
        raise DiskFullError(shortage, folder)
    gpus = visible_gpu_count() if gpus is None else gpus
    config = with_distribution(resolve_config_paths(config, base_dir), gpus, backend)
    config.check(graph)
    report = inspect_data(config, graph, output_shapes, online=online)
    if report.problems:
        raise DataError("\n".join(str(problem) for problem in report.problems))
    metadata = {"samples": training_samples(report.descriptions["data"], config.validation)}
    if run_dir is not None:
        return RunFolder.create_at(run_dir, graph, config, catalog, style=style, metadata=metadata)
    runs = runs_root or Path(base_dir) / "runs"
    return RunFolder.create(runs, graph, config, catalog, style=style, metadata=metadata)


def visible_gpu_count() -> int:
    """NVIDIA GPUs a worker would see, found without importing a framework: the driver's list
    (/proc/driver/nvidia/gpus on Linux) narrowed by CUDA_VISIBLE_DEVICES."""
    driver = Path("/proc/driver/nvidia/gpus")
    count = sum(1 for _ in driver.iterdir()) if driver.is_dir() else 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        entries = [entry.strip() for entry in visible.split(",")]
        count = min(count, sum(1 for entry in entries if entry and not entry.startswith("-")))
    return count


def with_distribution(config: TrainingConfig, gpus: int, backend: str | None = None) -> TrainingConfig:
    """The config to train on `gpus` GPUs: "mirrored" for several on TensorFlow (train.py then opens
    MirroredStrategy itself), else as it is."""
    backend = backend or os.environ.get("KERAS_BACKEND", "tensorflow")
    if gpus > 1 and backend == "tensorflow" and config.distribution == "none":
        return config.copy(distribution="mirrored")
    return config


# ---------------------------------------------------------------------- CLI
def train_cli(
    project_path: str | os.PathLike[str],
    *,
    catalog: Catalog,
    check_model: Callable[[ModelGraph], ModelCheck] | None = None,
    epochs: int | None = None,
    data: str | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    fix: bool = False,
    fresh: bool = False,
    match_weights: Callable[[ModelGraph, str], WeightsMatch] | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """`designer train FILE [--epochs N] [--data SOURCE] [--run-dir DIR] [--fix] [--fresh]`: a line
    per epoch. A project with imported weights starts from them (unless `fresh`): `match_weights`
    (the engine's) writes them for the design as it is now, by layer name.

    Returns 0 when the run finished, 1 when the design, the data or the run failed,
    2 for an unusable project or config, 130 when stopped with Ctrl-C.
    """
    try:
        loaded = project.load(project_path, catalog.ports_of, type_key=catalog.canonical_key)
        config = _cli_config(loaded, epochs, data, fresh)
    except (GraphError, ConfigError, DataError) as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    check = check_model(loaded.graph) if check_model is not None else ModelCheck()
    if check.errors:
        err.write("".join(f"{line}\n" for line in check.errors))
        err.write(f"{project_path}: the design has errors; fix them before training.\n")
        return EXIT_FAILED
    if config.initial_weights is not None:
        if match_weights is None:
            err.write("error: starting from the imported weights needs the engine; use --fresh.\n")
            return EXIT_FAILED
        source = str(Path(project_path).resolve().parent / config.initial_weights)
        try:
            match = match_weights(loaded.graph, source)
        except (OSError, ValueError, GraphError) as error:
            err.write(f"error: cannot use the weights {source}: {error} (--fresh starts without them)\n")
            return EXIT_FAILED
        out.write(weights_note(match) + "\n")
        config = config.copy(initial_weights=str(match.path))
    run = _cli_prepare(loaded, config, catalog, check, project_path, run_dir, fix, err)
    if run is None:
        return EXIT_FAILED
    for note in run_notes(config):
        out.write(f"note: {note}\n")
    out.write(f"{loaded.graph.name}: run folder {run.path}\n")
    return follow(start_run(run), out, err)


def _cli_config(
    loaded: project.Project, epochs: int | None, data: str | None, fresh: bool = False
) -> TrainingConfig:
    """The project's training config (or defaults for its outputs) with the command line's changes."""
    config = TrainingConfig.for_project(loaded)
    if fresh:
        config = config.copy(initial_weights=None)
    if epochs is not None:
        config = config.copy(epochs=epochs)
    if data is not None:
        config = config.copy(data=source_from_text(data, loaded.graph, Path.cwd()))
    config.check(loaded.graph)
    return config


def _cli_prepare(
    loaded: project.Project,
    config: TrainingConfig,
    catalog: Catalog,
    check: ModelCheck,
    project_path: str | os.PathLike[str],
    run_dir: str | os.PathLike[str] | None,
    fix: bool,
    err: TextIO,
) -> RunFolder | None:
    """The run folder, or None after printing why not (with `fix`, obvious data fixes are applied)."""
    base_dir = Path(project_path).resolve().parent
    if fix:
        config = _fixed(config, loaded.graph, check.output_shapes, base_dir, err)
    try:
        return prepare_run(
            loaded.graph,
            config,
            catalog,
            output_shapes=check.output_shapes,
            base_dir=base_dir,
            runs_root=default_runs_root(Path(project_path).resolve()),
            run_dir=run_dir,
        )
    except (ConfigError, DataError, CodegenError, FileExistsError) as error:
        hint = "" if fix else "\n(--fix applies the suggested fixes)"
        err.write(f"error: {error}{hint if isinstance(error, DataError) else ''}\n")
        return None


def _fixed(
    config: TrainingConfig, graph: ModelGraph, output_shapes: Mapping[str, Shape], base_dir: Path, err: TextIO
) -> TrainingConfig:
    for problem in check_data(config, graph, output_shapes, base_dir=base_dir):
        if problem.fix is not None:
            err.write(f"fixed: {problem}\n")
            config = apply_fix(config, problem.fix)
    return config


def follow(process: RunProcess, out: TextIO, err: TextIO) -> int:
    """Print the run's progress until the worker ends; Ctrl-C stops it, a second Ctrl-C kills it."""
    interrupted, total = False, None
    while True:
        try:
            for event in process.new_events():
                total = event.get("epochs", total) if event.get("type") == "start" else total
                _print_event(event, out, total)
            if not process.running():
                break
            time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            if interrupted:
                process.kill()
                continue
            interrupted = True
            process.stop()
            err.write("stopping after this batch (Ctrl-C again to kill)\n")
    report = process.finish()
    for event in process.new_events():
        _print_event(event, out, total)
    return _report_exit(report, interrupted, err)


def _report_exit(report: ExitReport, interrupted: bool, err: TextIO) -> int:
    if report.status == "finished":
        return EXIT_OK
    if report.status == "stopped":
        return EXIT_INTERRUPTED if interrupted else EXIT_FAILED if report.message == "nan" else EXIT_OK
    err.write(f"error: {report.message}\n")
    if report.stderr_tail:
        err.write("last lines of the worker's stderr:\n")
        err.write("".join(f"    {line}\n" for line in report.stderr_tail))
    return EXIT_FAILED


def _print_event(event: Mapping[str, Any], out: TextIO, total: int | None) -> None:
    line = format_event(event, total)
    if line:
        out.write(line + "\n")
        out.flush()


def format_event(event: Mapping[str, Any], total: int | None = None) -> str:
    """One line for a person (nothing for batch events); `total` epochs as the start event said."""
    kind = event.get("type")
    if kind == "start":
        resumed = f", resuming at epoch {event['initial_epoch'] + 1}" if event.get("resumed") else ""
        return f"training on {event.get('device')}, {event.get('epochs')} epochs{resumed}"
    if kind == "epoch":
        metrics = "  ".join(f"{name} {value:.4f}" for name, value in event.get("logs", {}).items())
        partial = ", stopped inside it" if event.get("partial") else ""
        of = f"/{total}" if total else ""
        return f"epoch {event['epoch'] + 1}{of}  {metrics}  ({event.get('duration', 0):.1f} s{partial})"
    if kind == "nan":
        where = f"epoch {event['epoch'] + 1}, batch {event['step'] + 1}"
        return f"{event.get('metric')} became {event.get('value')} at {where}"
    if kind == "finished":
        early = " (early stopping)" if event.get("early_stopped") else ""
        return f"finished after {event.get('epochs')} epochs{early}"
    if kind == "stopped":
        return f"stopped after {event.get('epochs')} epochs: {event.get('reason')}"
    return ""
