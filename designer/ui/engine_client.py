"""The GUI's side of the engine process: start it, talk JSON lines to it, supervise it.

The GUI never imports Keras (see ARCHITECTURE.md, "Why the Keras side runs out
of process in the GUI"). `EngineClient` runs `python -P -m designer.engine.host`
(designer.processes: the working folder is never on its path, and it dies with
the GUI) in a QProcess, sends requests without ever waiting on the GUI thread, turns the
replies back into `Catalog`, `NodeResult` and `Diagnostic` objects, and
restarts the host when it crashes or stops answering. `EngineSync` keeps one
`Document`'s results in step with its graph. `cached_catalog` reads the catalog
the host stored on disk, so the palette is there before the host is.
"""

from __future__ import annotations

import gzip
import importlib.resources
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from psygnal import EmissionInfo
from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QStandardPaths, QTimer, Signal

from designer.catalog.spec import CATALOG_CACHE_FORMAT, IMPORTED_SPECS_KEY, Catalog
from designer.engine.results import NodeResult
from designer.graph import project
from designer.graph.model import ModelGraph, changes_design
from designer.graph.validation import Diagnostic
from designer.processes import PACKAGE_ROOT, child_environment, python_command
from designer.ui.document import Document

HOST_MODULE = "designer.engine.host"
READY_ID = 0  # the id of the host's first line
STDERR_LINES = 50
WATCHDOG_INTERVAL_MS = 250
RESTART_WINDOW_S = 60.0


# ------------------------------------------------------------------ the cache
def default_cache_dir() -> Path:
    """Where the host stores the catalog: Qt's cache location, else ~/.cache/keras-designer."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    return Path(location) if location else Path.home() / ".cache" / "keras-designer"


def cached_catalog(cache_dir: Path | None = None) -> Catalog | None:
    """The catalog the host stored for the installed Keras version; else the snapshot shipped with
    the designer for this Keras release (a first start); None when there is neither."""
    try:
        version = metadata.version("keras")
    except metadata.PackageNotFoundError:
        return None
    path = Path(cache_dir or default_cache_dir()) / f"catalog-keras-{version}.json"
    try:
        return _catalog_from_text(path.read_text(encoding="utf-8"), {version})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return bundled_catalog(version)


def bundled_catalog(version: str) -> Catalog | None:
    """The shipped snapshot (resources/catalog/) of the same Keras release (major.minor)."""
    release = ".".join(version.split(".")[:2])
    snapshots = _snapshot_folder().glob(f"catalog-keras-{release}.*.json.gz")
    for snapshot in sorted(snapshots, key=_snapshot_version, reverse=True):  # the newest patch first
        try:
            text = gzip.decompress(snapshot.read_bytes()).decode("utf-8")
            snapshot_version = snapshot.name.removeprefix("catalog-keras-").removesuffix(".json.gz")
            return _catalog_from_text(text, {snapshot_version})
        except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return None


def _snapshot_version(snapshot: Path) -> tuple[int, ...]:
    """(3, 15, 10) for catalog-keras-3.15.10.json.gz: 3.15.10 sorts after 3.15.9."""
    version = snapshot.name.removeprefix("catalog-keras-").removesuffix(".json.gz")
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def _catalog_from_text(text: str, versions: set[str]) -> Catalog:
    data = json.loads(text)
    if data.get("format") != CATALOG_CACHE_FORMAT or data.get("version") not in {
        f"keras-{v}" for v in versions
    }:
        raise ValueError("another format or Keras version")
    return Catalog.from_dict(data)


def _snapshot_folder() -> Path:
    try:
        return Path(str(importlib.resources.files("resources").joinpath("catalog")))
    except ModuleNotFoundError:
        return PACKAGE_ROOT / "resources" / "catalog"


# ------------------------------------------------------------------ the client
@dataclass
class _Request:
    """One request to the host and the time by which its reply is due."""

    id: int
    op: str
    fields: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 60.0
    deadline: float = 0.0

    def line(self) -> bytes:
        return (json.dumps({"id": self.id, "op": self.op, **self.fields}) + "\n").encode("utf-8")


class EngineClient(QObject):
    """Runs and supervises the engine host process and speaks its JSON-lines protocol.

    `started` is emitted each time a host is up and answering: after `start()`
    and after every restart. Requests made before then wait for it. Analyses
    are "latest wins": while one is in flight only the newest pending one is
    kept, and sent when the first is answered. When the host exits, fails to
    start or leaves a request unanswered past its timeout, the client reports
    it (`crashed`, `status_changed`), starts a fresh host (with a growing delay,
    at most `max_restarts_per_minute` times a minute) and resends the last
    unanswered analysis, unless that analysis was the request that hung.
    """

    started = Signal()
    catalog_ready = Signal(object)  # Catalog
    analysis_ready = Signal(object, object, int)  # {node id: NodeResult}, [Diagnostic], request serial
    imported = Signal(int, object)  # request id, {"project", "specs", "messages"}
    answered = Signal(int, str, object)  # request id, op, result: replies to `request()`
    request_failed = Signal(int, str)  # request id, the host's error message
    status_changed = Signal(str)  # a line for the status bar
    crashed = Signal(str)  # what happened, with the end of the host's stderr

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        analyze_timeout_s: float = 20.0,
        request_timeout_s: float = 60.0,
        start_timeout_s: float = 120.0,
        max_restarts_per_minute: int = 5,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.analyze_timeout_s = analyze_timeout_s
        self.request_timeout_s = request_timeout_s
        self.start_timeout_s = start_timeout_s
        self.max_restarts_per_minute = max_restarts_per_minute
        self.totals: tuple[int, int] = (0, 0)  # parameters of the last analysed design
        self._process: QProcess | None = None
        self._retiring: set[QProcess] = set()  # killed or told to stop, not yet gone
        self._wanted = False  # start() was called and stop() was not
        self._ready = False
        self._ids = itertools.count(READY_ID + 1)
        self._in_flight: dict[int, _Request] = {}
        self._queued: list[_Request] = []  # waiting for a host to be ready
        self._pending_analyze: _Request | None = None
        self._analyzing: int | None = None
        self._last_analyze: _Request | None = None
        self._last_analyze_answered = False
        self._buffer = bytearray()
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._restart_times: deque[float] = deque()
        self._start_deadline = 0.0
        self._restart_timer = QTimer(self, singleShot=True)
        self._restart_timer.timeout.connect(self._launch)
        self._watchdog = QTimer(self, interval=WATCHDOG_INTERVAL_MS)
        self._watchdog.timeout.connect(self._check_deadlines)

    # ------------------------------------------------------------------- state
    @property
    def is_ready(self) -> bool:
        return self._ready

    @property
    def is_running(self) -> bool:
        """Whether a host process of this client is still alive (stopping ones included)."""
        return self._process is not None or bool(self._retiring)

    @property
    def process_id(self) -> int | None:
        pid = self._process.processId() if self._process is not None else 0
        return pid or None

    @property
    def stderr_tail(self) -> str:
        """The last lines the host wrote to stderr."""
        return "\n".join(self._stderr)

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Start the host in the background; `started` follows when it is ready."""
        if self._wanted and (self._process is not None or self._restart_timer.isActive()):
            return
        self._wanted = True
        self._restart_times.clear()
        self.status_changed.emit("Engine starting...")
        self._launch()

    def stop(self) -> None:
        """Let the host end (end of its input; killed if it is still there after 2 s). Never waits."""
        self._wanted = False
        self._restart_timer.stop()
        self._watchdog.stop()
        self._retire(self._process, gently=True)
        self._process, self._ready = None, False
        self._in_flight.clear()
        self._queued.clear()
        self._pending_analyze, self._analyzing = None, None
        self.status_changed.emit("Engine stopped")

    def _launch(self) -> None:
        process = QProcess(self)
        program, *arguments = python_command(HOST_MODULE, ["--cache-dir", str(self.cache_dir)])
        process.setProgram(program)
        process.setArguments(arguments)
        process.setProcessEnvironment(host_environment())
        process.readyReadStandardOutput.connect(lambda: self._read_replies(process))
        process.readyReadStandardError.connect(lambda: self._read_errors(process))
        process.finished.connect(lambda code, status: self._on_finished(process, code, status))
        process.errorOccurred.connect(lambda error: self._on_error(process, error))
        self._process, self._ready = process, False
        self._buffer.clear()
        self._start_deadline = time.monotonic() + self.start_timeout_s
        process.start()
        self._watchdog.start()

    def _retire(self, process: QProcess | None, gently: bool = False) -> None:
        """Get rid of a process that is no longer the client's: it is deleted once it has ended."""
        if process is None:
            return
        if process.state() == QProcess.ProcessState.NotRunning:
            process.deleteLater()
            return
        self._retiring.add(process)
        if gently:
            process.closeWriteChannel()
            QTimer.singleShot(2000, process, process.kill)
        else:
            process.kill()

    # ---------------------------------------------------------------- requests
    def request_catalog(self) -> int:
        """Ask for the catalog; `catalog_ready` brings it."""
        return self._submit(_Request(next(self._ids), "catalog", timeout_s=self.request_timeout_s))

    def import_source(self, source: str, weights_dir: str, *, lambdas: bool = False) -> int:
        """Import the Keras model in the file `source` (a path, whatever its name: the host runs
        no module:function for it) in the engine; `imported` brings {"project", "specs", "messages"}.
        `lambdas`: the user consented to load the file's Lambda layers (their code)."""
        fields = {"source": source, "weights_dir": weights_dir, "code": False, "lambdas": lambdas}
        return self._submit(_Request(next(self._ids), "import", fields, self.request_timeout_s))

    def request(self, op: str, fields: dict[str, Any] | None = None, timeout_s: float | None = None) -> int:
        """Send any other op to the host; `answered` brings (id, op, result), or `request_failed`
        (id, message). Large arrays come back as .npy files named in the result."""
        request = _Request(next(self._ids), op, dict(fields or {}), timeout_s or self.request_timeout_s)
        return self._submit(request)

    def analyze(self, project_data: dict[str, Any]) -> int:
        """Ask for the shapes and diagnostics of a design (project data); returns the serial
        that `analysis_ready` will carry. A newer call replaces one not yet sent."""
        request = _Request(next(self._ids), "analyze", {"project": project_data}, self.analyze_timeout_s)
        self._last_analyze, self._last_analyze_answered = request, False
        self._pending_analyze = request
        self._ensure_running()
        self._send_pending_analyze()
        return request.id

    def _submit(self, request: _Request) -> int:
        if self._ready and self._process is not None:
            self._send(request)
        else:
            self._queued.append(request)
            self._ensure_running()
        return request.id

    def _send(self, request: _Request) -> None:
        assert self._process is not None
        request.deadline = time.monotonic() + request.timeout_s
        self._in_flight[request.id] = request
        self._process.write(request.line())

    def _send_pending_analyze(self) -> None:
        request = self._pending_analyze
        if request is None or not self._ready or self._process is None or self._analyzing is not None:
            return
        self._pending_analyze, self._analyzing = None, request.id
        self._send(request)

    def _ensure_running(self) -> None:
        """Start again a host that was given up after too many restarts, now that it is wanted."""
        if self._wanted and self._process is None and not self._restart_timer.isActive():
            self._restart_times.clear()
            self.status_changed.emit("Engine starting...")
            self._launch()

    # ----------------------------------------------------------------- replies
    def _read_replies(self, process: QProcess) -> None:
        if process is not self._process:
            return
        self._buffer += bytes(process.readAllStandardOutput().data())
        while process is self._process and b"\n" in self._buffer:
            line, _, rest = self._buffer.partition(b"\n")
            self._buffer = bytearray(rest)
            self._handle_line(bytes(line))

    def _read_errors(self, process: QProcess) -> None:
        text = bytes(process.readAllStandardError().data()).decode("utf-8", errors="replace")
        self._stderr.extend(line for line in text.splitlines() if line.strip())

    def _handle_line(self, line: bytes) -> None:
        try:
            reply = json.loads(line)
        except ValueError:
            self._stderr.append(f"(not a reply) {line[:200]!r}")
            return
        if reply.get("id") == READY_ID and reply.get("ok"):
            self._on_ready()
            return
        request = self._in_flight.pop(reply.get("id"), None)
        if request is None:
            return
        if request.op == "analyze":
            self._analyzing = None
        try:
            if reply.get("ok"):
                self._deliver(request, reply.get("result"))
            else:
                self._refuse(request, str(reply.get("error")))
        finally:
            self._send_pending_analyze()

    def _on_ready(self) -> None:
        self._ready = True
        self.status_changed.emit("Engine ready")
        queued, self._queued = self._queued, []
        for request in queued:
            self._send(request)
        self.started.emit()
        self._send_pending_analyze()

    def _deliver(self, request: _Request, result: Any) -> None:
        if request.op == "catalog":
            self.catalog_ready.emit(Catalog.from_dict(result))
        elif request.op == "analyze":
            self._deliver_analysis(request, result)
        elif request.op == "import":
            self.imported.emit(request.id, dict(result))
        else:
            self.answered.emit(request.id, request.op, result)

    def _deliver_analysis(self, request: _Request, result: dict[str, Any]) -> None:
        if request is self._last_analyze:
            self._last_analyze_answered = True
        results = {node_id: NodeResult.from_dict(data) for node_id, data in result["results"].items()}
        diagnostics = [Diagnostic.from_dict(data) for data in result["diagnostics"]]
        self.totals = (int(result["totals"][0]), int(result["totals"][1]))
        self.analysis_ready.emit(results, diagnostics, request.id)

    def _refuse(self, request: _Request, message: str) -> None:
        if request is self._last_analyze:
            self._last_analyze_answered = True
        if request.op == "analyze":
            self.status_changed.emit(f"The engine could not analyse the design: {message}")
        self.request_failed.emit(request.id, message)

    # ------------------------------------------------------------- supervision
    def _on_finished(self, process: QProcess, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        if process is not self._process:
            self._retiring.discard(process)
            process.deleteLater()
            return
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        self._recover(f"Engine crashed (exit code {-exit_code if crashed else exit_code})")

    def _on_error(self, process: QProcess, error: QProcess.ProcessError) -> None:
        if process is self._process and error == QProcess.ProcessError.FailedToStart:
            self._recover(f"Engine failed to start ({process.errorString()})")

    def _check_deadlines(self) -> None:
        if self._process is None:
            return
        now = time.monotonic()
        if not self._ready and now > self._start_deadline:
            self._recover(f"Engine did not start in {self.start_timeout_s:g} s")
            return
        overdue = next((r for r in self._in_flight.values() if now > r.deadline), None)
        if overdue is not None:
            self._recover(f"Engine did not answer in {overdue.timeout_s:g} s", hung=overdue)

    def _recover(self, reason: str, hung: _Request | None = None) -> None:
        """Drop the host, keep what it was asked, and start another one unless it failed too often."""
        self._retire(self._process)
        self._process, self._ready = None, False
        self._watchdog.stop()
        self._keep_unanswered(hung)
        restarted = self._schedule_restart()
        suffix = (
            "restarted" if restarted else f"stopped after {len(self._restart_times)} restarts in a minute"
        )
        report = f"{reason}: {suffix}"
        self.status_changed.emit(report)
        self.crashed.emit(f"{report}\n{self.stderr_tail}".rstrip())
        if hung is not None:
            self.request_failed.emit(hung.id, reason)

    def _keep_unanswered(self, hung: _Request | None) -> None:
        """Queue the unanswered requests again for the next host, except the one that hung."""
        if hung is not None and hung is self._last_analyze:
            self._last_analyze_answered = True
        unanswered = [r for r in self._in_flight.values() if r is not hung and r.op != "analyze"]
        self._queued = unanswered + self._queued
        self._in_flight.clear()
        self._analyzing = None
        last = self._last_analyze
        if self._pending_analyze is None and last is not None and not self._last_analyze_answered:
            self._pending_analyze = last

    def _schedule_restart(self) -> bool:
        now = time.monotonic()
        while self._restart_times and now - self._restart_times[0] > RESTART_WINDOW_S:
            self._restart_times.popleft()
        recent = len(self._restart_times)
        if recent >= self.max_restarts_per_minute:
            return False
        self._restart_times.append(now)
        self._restart_timer.start(0 if recent == 0 else min(500 * 2 ** (recent - 1), 8000))
        return True


def host_environment() -> QProcessEnvironment:
    """The GUI's environment, with TensorFlow quiet, output unbuffered, this designer importable
    (and nothing relative on PYTHONPATH), and the GUI named as the parent the host dies with."""
    environment = QProcessEnvironment()
    for name, value in child_environment().items():
        environment.insert(name, value)
    environment.insert("TF_CPP_MIN_LOG_LEVEL", "3")
    environment.insert("PYTHONUNBUFFERED", "1")
    return environment


# -------------------------------------------------------------------- syncing
def analysis_data(document: Document) -> dict[str, Any]:
    """What the engine's "analyze" needs of a design: the graph, its custom-layer files and the
    specs its import made; not the training settings nor the keys this designer does not know
    (a file may carry megabytes of them, and every edit sends this)."""
    extra, references = document.model.extra, list(document.model.custom_layers)
    specs = {IMPORTED_SPECS_KEY: extra[IMPORTED_SPECS_KEY]} if IMPORTED_SPECS_KEY in extra else {}
    return project.to_dict(document.graph, custom_layers=references, extra=specs)


class EngineSync(QObject):
    """Keeps a document's results in step with its graph through an engine client.

    Every graph change that can change a shape schedules an analysis (debounced);
    a reply is applied only when it answers the latest request.
    """

    analysis_applied = Signal()

    def __init__(
        self, document: Document, client: EngineClient, debounce_ms: int = 40, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.document, self.client = document, client
        self._graph: ModelGraph | None = None
        self._serial: int | None = None
        self._timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self._timer.timeout.connect(self.analyze_now)
        document.project_replaced.connect(self._on_graph_replaced)
        client.started.connect(self.analyze_now)
        client.analysis_ready.connect(self._on_analysis_ready)
        self._follow(document.graph)
        if client.is_ready:
            self.analyze_now()

    def schedule(self) -> None:
        """Analyse once the edits pause for the debounce interval."""
        self._timer.start()

    def analyze_now(self) -> None:
        self._timer.stop()
        self._serial = self.client.analyze(analysis_data(self.document))

    def close(self) -> None:
        """Stop following the document and the client."""
        self._timer.stop()
        self._follow(None)
        self.document.project_replaced.disconnect(self._on_graph_replaced)
        self.client.started.disconnect(self.analyze_now)
        self.client.analysis_ready.disconnect(self._on_analysis_ready)

    def _follow(self, graph: ModelGraph | None) -> None:
        """Listen to `graph.events` (and no longer to the previous graph's)."""
        if self._graph is not None:
            self._graph.events.disconnect(self._graph_event)
        if graph is not None:
            graph.events.connect(self._graph_event)
        self._graph = graph

    def _graph_event(self, event: EmissionInfo) -> None:
        if changes_design(event):  # groups too: their rules are part of the analysis
            self.schedule()

    def _on_graph_replaced(self) -> None:
        self._follow(self.document.graph)
        self.analyze_now()

    def _on_analysis_ready(
        self, results: dict[str, NodeResult], diagnostics: list[Diagnostic], serial: int
    ) -> None:
        if serial != self._serial:
            return
        self.document.set_results(results, diagnostics)
        self.analysis_applied.emit()
