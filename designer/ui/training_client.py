"""The GUI's side of training: one worker process per run, started with QProcess, and its events.

`TrainingClient.start(document, config)` checks the design (the engine's errors)
and the config at once, emits `starting`, and leaves the slow half to a worker
thread: the data check (files, a download), Export's code (ruff) and the run
folder (`launcher.prepare_run`) never run on the GUI thread. Every problem comes
back through `refused` before anything is started; otherwise the worker
(`launcher.worker_command`, a fresh interpreter: never a fork of the GUI) trains
the run folder. The client follows the run's `events.jsonl` with `runs.EventTail`,
polled by a timer, and emits `event(dict)` for each event the worker logs.
When the worker ends, however it ends (finished, stopped, NaN, an exception, a
crash, Kill, the out-of-memory killer), the launcher's `record_exit` logs what a
dead worker could not, and `finished(dict)` says how it ended with the last
lines of its stderr. Nothing the worker does can take the design with it.

`stop()` asks the worker to stop after the current batch (it keeps a
checkpoint); `kill()` ends it at once; `resume(run)` continues a stopped run
from its last checkpoint, epochs counting on. Its checkpoint and free disk are
looked at, the records of the epochs it trains again dropped and the log it
keeps read on the worker thread first, as a start's folder is written there;
`resuming(run, events)` hands that log over just before its worker starts.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QIODevice, QObject, QProcess, QProcessEnvironment, QStandardPaths, QTimer, Signal

from designer.catalog.spec import Catalog
from designer.codegen.errors import CodegenError
from designer.graph.model import ModelGraph
from designer.graph.validation import Diagnostic
from designer.training.config import ConfigError, TrainingConfig
from designer.training.data import DataError, DataProblem, check_data, model_output_shapes
from designer.training.launcher import prepare_run, worker_command, worker_environment
from designer.training.runs import (
    MINIMUM_FREE_BYTES,
    TERMINAL_EVENTS,
    EventTail,
    RunFolder,
    default_runs_root,
    disk_shortage,
    tail_lines,
    untitled_runs_root,
    user_runs_folder,
)
from designer.ui.background import BackgroundJobs
from designer.ui.document import Document

Shape = tuple[int | None, ...]
POLL_MS = 50
BATCH_INTERVAL_S = 0.05  # the worker sends at most one batch event per 50 ms
STDERR_LINES = 20
SHUTDOWN_MS = 5000


def project_folder(document: Document) -> Path:
    """The folder relative data paths are read from: the project file's, else the working folder."""
    return Path(document.path).resolve().parent if document.path else Path.cwd()


def runs_root(document: Document) -> Path:
    """<project>.runs/ beside the project file; for an untitled design or an example (a file in the
    installed package), <per-user data folder>/runs/<name>/ ($DESIGNER_RUNS_DIR overrides it)."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    user_folder = user_runs_folder(location or None)
    if document.path:
        return default_runs_root(Path(document.path).resolve(), user_folder)
    return untitled_runs_root(document.graph.name, user_folder)


def design_errors(document: Document) -> list[Diagnostic]:
    """The errors the engine found in the design (a design with errors does not train)."""
    return [diagnostic for diagnostic in document.diagnostics if diagnostic.is_error]


def exit_report(run: RunFolder, exit_code: int, final: dict[str, Any] | None) -> dict[str, Any]:
    """How a worker ended: its exit code, its final event's type and reason, stderr's last lines."""
    final = final or {}
    status = str(final.get("type", "error"))
    return {
        "run": str(run.path),
        "exit_code": exit_code,
        "status": status,
        "reason": str(final.get("reason") or final.get("message") or status),
        "stderr": tail_lines(run.stderr_file, STDERR_LINES),
    }


def design_and_config_problems(document: Document, config: TrainingConfig) -> list[str]:
    """The design's errors and the config's problems: quick checks, no file is read."""
    messages = [f"{error.message} {error.hint}".strip() for error in design_errors(document)]
    return messages + [str(problem) for problem in config.problems(document.graph)]


@dataclass(frozen=True)
class StartRequest:
    """What a start needs from the document, copied on the GUI thread (the worker thread reads no Qt
    object)."""

    graph: ModelGraph
    config: TrainingConfig
    catalog: Catalog
    output_shapes: dict[str, Shape]
    base_dir: Path
    runs_root: Path


def start_request(document: Document, config: TrainingConfig) -> StartRequest:
    return StartRequest(
        graph=document.graph.copy(),
        config=config,
        catalog=document.catalog,
        output_shapes=dict(model_output_shapes(document.graph, document.results)),
        base_dir=project_folder(document),
        runs_root=runs_root(document),
    )


@dataclass(frozen=True)
class Preparation:
    """What the background half of a start found: the run folder written, or why not."""

    run: RunFolder | None
    messages: list[str] = field(default_factory=list)
    problems: list[DataProblem] = field(default_factory=list)


def prepare(request: StartRequest) -> Preparation:
    """The data's misfits with the design, else the run folder written (Export's code, the config,
    the design). It reads the data (files, a download), runs ruff and writes files: never on the GUI
    thread."""
    try:
        problems = check_data(request.config, request.graph, request.output_shapes, base_dir=request.base_dir)
        if problems:
            return Preparation(None, [], problems)
        run = prepare_run(
            request.graph,
            request.config,
            request.catalog,
            output_shapes=request.output_shapes,
            base_dir=request.base_dir,
            runs_root=request.runs_root,
        )
    except (ConfigError, DataError, CodegenError, OSError, ValueError) as error:
        return Preparation(None, [str(error)], [])
    return Preparation(run)


@dataclass(frozen=True)
class Resumption:
    """What the background half of a resume found: the events the run's log keeps, or why it
    cannot resume."""

    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def prepare_resume(run: RunFolder) -> Resumption:
    """Whether `run` can resume (a checkpoint, room for more), then its log and history.csv without
    the epochs the checkpoint does not hold (`forget_epochs_from`), and the events the log keeps. It
    reads and rewrites the log: never on the GUI thread."""
    completed = run.completed_epochs()
    if not completed:
        return Resumption(messages=[f"{run.name} has no checkpoint to resume from."])
    if shortage := disk_shortage(run.path, MINIMUM_FREE_BYTES):
        return Resumption(messages=[f"Cannot resume {run.name}: {shortage}."])
    run.forget_epochs_from(completed)  # records of epochs the resume trains again go, before the tail starts
    return Resumption(run.events())


def _unprepared(error: Exception) -> Preparation:
    """What went wrong while preparing a start, as its refusal: the panel never waits on it."""
    return Preparation(None, [f"The run could not be prepared: {type(error).__name__}: {error}"])


def _ignore(_outcome: object) -> None:
    """For background work whose outcome no one waits for."""


class TrainingClient(QObject):
    """Starts, follows, stops and kills the training worker of one run at a time."""

    starting = Signal()  # a start was accepted: its data check and run folder are under way
    resuming = Signal(object, list)  # RunFolder, the events its log keeps: a resume's worker starts next
    started = Signal(object)  # RunFolder: its worker is starting (a new run or a resumed one)
    logged = Signal(dict)  # each event the worker logs, in order
    finished = Signal(dict)  # exit report: run, exit_code, status, reason, stderr (last lines)
    refused = Signal(list, list)  # messages (config, run folder) and DataProblems: nothing started

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        batch_interval: float = BATCH_INTERVAL_S,
        python: str = sys.executable,
    ) -> None:
        super().__init__(parent)
        self.batch_interval, self.python = batch_interval, python
        self.run: RunFolder | None = None
        self.process: QProcess | None = None
        self._tail: EventTail | None = None
        self._final: dict[str, Any] | None = None
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self.poll)
        self._generation = 0
        self._preparing: int | None = None  # the start whose preparation is awaited
        self._jobs = BackgroundJobs("training-start", self)

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self.process is not None

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        if self.process is None:
            return None
        return int(self.process.processId()) or None

    # ------------------------------------------------------------------ start
    def start(self, document: Document, config: TrainingConfig) -> bool:
        """Check the design and the config here, then the data and the run folder in the background;
        `starting` says so at once, `started` (or `refused`) when that is done. False after `refused`."""
        if self.running or self.preparing:
            self.refused.emit(["A run is in progress: stop it before starting another."], [])
            return False
        messages = design_and_config_problems(document, config)
        if messages:
            self.refused.emit(messages, [])
            return False
        self._generation += 1
        self._preparing = self._generation
        self.starting.emit()
        generation = self._generation
        self._jobs.submit(
            prepare,
            start_request(document, config),
            done=lambda preparation: self._prepared(generation, preparation),
            failed=lambda error: self._prepared(generation, _unprepared(error)),  # never lost
        )
        return True

    @property
    def preparing(self) -> bool:
        """Whether a start is checking the data and writing its run folder, or a resume rewriting
        its records (no worker yet)."""
        return self._preparing is not None

    def cancel_start(self) -> None:
        """Forget the start being prepared: its run folder, once written, is removed, nothing starts."""
        self._preparing = None

    def _prepared(self, generation: int, preparation: Preparation) -> None:
        """Back on the GUI thread: start the worker of the prepared run, or say why not."""
        if generation != self._preparing:
            if preparation.run is not None:  # cancelled meanwhile: the folder never ran
                self._jobs.submit(shutil.rmtree, preparation.run.path, True, done=_ignore, failed=_ignore)
            return
        self._preparing = None
        if preparation.run is None:
            self.refused.emit(preparation.messages, preparation.problems)
            return
        self._launch(preparation.run, resume=False)

    def resume(self, run: RunFolder, epochs: int | None = None) -> bool:
        """Continue `run` from its last checkpoint (to `epochs` in all, by default its config's).
        Off the GUI thread (`prepare_resume`): its checkpoint and free disk are looked at, its log
        and history.csv lose the epochs the checkpoint does not hold, and its log is read; then
        `resuming` and `started` follow, or `refused`. False when refused at once (a run in
        progress)."""
        if self.running or self.preparing:
            self.refused.emit(["A run is in progress: stop it before resuming another."], [])
            return False
        self._generation += 1
        self._preparing = generation = self._generation
        self._jobs.submit(
            prepare_resume,
            run,
            done=lambda resumption: self._resumable(generation, run, epochs, resumption),
            failed=lambda error: self._prepared(generation, _unprepared(error)),
        )
        return True

    def _resumable(self, generation: int, run: RunFolder, epochs: int | None, resumption: Resumption) -> None:
        """Back on the GUI thread: the run's records end at its checkpoint; start its worker, or say
        why not."""
        if generation != self._preparing:
            return  # cancelled meanwhile: the epochs forgotten were not checkpointed anyway
        self._preparing = None
        if resumption.messages:
            self.refused.emit(resumption.messages, [])
            return
        self.resuming.emit(run, resumption.events)
        self._launch(run, resume=True, epochs=epochs)

    def _launch(self, run: RunFolder, *, resume: bool, epochs: int | None = None) -> None:
        run.clear_stop()
        self.run, self._final = run, None
        self._tail = EventTail(run.events_file, offset=run.events_file.stat().st_size)
        self.process = self._worker_process(run, resume, epochs)
        self.started.emit(run)
        self.process.start()
        self._poll_timer.start()

    def _worker_process(self, run: RunFolder, resume: bool, epochs: int | None) -> QProcess:
        program, *arguments = worker_command(
            run.path, resume=resume, epochs=epochs, batch_interval=self.batch_interval, python=self.python
        )
        process = QProcess(self)
        process.setProgram(program)
        process.setArguments(arguments)
        process.setProcessEnvironment(_environment(worker_environment()))
        process.setWorkingDirectory(str(run.path))
        process.setStandardInputFile(QProcess.nullDevice())
        process.setStandardOutputFile(str(run.stdout_file), QIODevice.OpenModeFlag.Append)
        process.setStandardErrorFile(str(run.stderr_file), QIODevice.OpenModeFlag.Append)
        if os.name == "posix":  # its own session: Ctrl-C in the GUI's terminal does not reach it
            process.setUnixProcessParameters(QProcess.UnixProcessFlag.CreateNewSession)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        return process

    # ------------------------------------------------------------ stop, kill
    def stop(self) -> None:
        """Ask the worker to stop after the current batch; it saves a checkpoint and ends."""
        if self.running and self.run is not None:
            self.run.request_stop()

    def kill(self) -> None:
        """End the worker at once (SIGKILL); the run keeps its last epoch's checkpoint."""
        if self.process is not None:
            self.process.kill()

    def shutdown(self, timeout_ms: int = SHUTDOWN_MS) -> None:
        """Forget a start being prepared, kill a running worker and wait for it (the window is closing)."""
        self.cancel_start()
        process = self.process
        if process is not None:
            process.kill()
            process.waitForFinished(timeout_ms)

    # ---------------------------------------------------------------- events
    def poll(self) -> None:
        """Emit the events logged since the last poll."""
        if self._tail is None:
            return
        for event in self._tail.read():
            if event.get("type") == "start":
                self._final = None
            elif event.get("type") in TERMINAL_EVENTS:
                self._final = event
            self.logged.emit(event)

    def _on_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        self._end(-exit_code if crashed and os.name == "posix" else exit_code)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error != QProcess.ProcessError.FailedToStart or self.run is None or self.process is None:
            return  # a crash ends in finished() as well
        message = f"The training worker did not start: {self.process.errorString()}"
        self.run.append_event({"type": "error", "message": message})
        self._end(-1)

    def _end(self, exit_code: int) -> None:
        """Drain the events, log what a dead worker could not, and report the end."""
        run, process = self.run, self.process
        if run is None or process is None:
            return
        self._poll_timer.stop()
        self.poll()
        run.clear_stop()
        run.record_exit(exit_code, tail_lines(run.stderr_file, STDERR_LINES))
        self.poll()
        self.process = None
        process.deleteLater()
        self.finished.emit(exit_report(run, exit_code, self._final))


def _environment(variables: dict[str, str]) -> QProcessEnvironment:
    environment = QProcessEnvironment()
    for name, value in variables.items():
        environment.insert(name, value)
    return environment
