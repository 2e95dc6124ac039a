"""Crash recovery: the autosave of the window's design and the offer of designs whose session died.

While there are unsaved changes, `Recovery` writes the design to this session's
recovery file two seconds after the edits pause (at least every 30 s while they
go on). The design's data is captured on the GUI thread; the JSON and the atomic,
synced write happen on a `BackgroundJobs` worker, so a slow disk never holds
the event loop. A save, an open or a new design discards the file; a clean
close removes it with the session's lock file. At the next start, the files of
sessions whose process is gone (`RecoveryFiles.orphans`) are offered back
(`offer_back`). A recovery folder that cannot be written turns the autosave
off, said in the status bar; opening and saving go on.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal

from designer.graph import project
from designer.graph.errors import ProjectError
from designer.processes import pid_alive
from designer.ui.background import BackgroundJobs
from designer.ui.custom_layers import CustomLayerFiles
from designer.ui.services import WindowServices

AUTOSAVE_MS = 30_000  # the longest edits wait for the autosave while editing goes on
AUTOSAVE_IDLE_MS = 2_000  # the autosave follows this long after the last edit


def recovery_folder() -> Path:
    """$DESIGNER_RECOVERY_DIR, else a "recovery" folder in the application's data location."""
    configured = os.environ.get("DESIGNER_RECOVERY_DIR")
    if configured:
        return Path(configured)
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(location or Path.home() / ".keras-designer") / "recovery"


def autosave_interval() -> int:
    """$DESIGNER_AUTOSAVE_MS milliseconds, else 30 s: the longest unsaved edits wait for an
    autosave (it comes sooner, AUTOSAVE_IDLE_MS after the edits stop)."""
    try:
        return max(50, int(os.environ.get("DESIGNER_AUTOSAVE_MS", AUTOSAVE_MS)))
    except ValueError:
        return AUTOSAVE_MS


# --------------------------------------------------------------------- files
@dataclass(frozen=True)
class Orphan:
    """A recovery file left by a session whose process is gone."""

    data: Path
    lock: Path
    source: Path | None  # the file the design came from, if any

    def remove(self) -> None:
        _remove(self.data)
        _remove(self.lock)


class RecoveryFiles:
    """This session's lock (pid) file and autosave file, and the orphans of sessions that died.

    A folder that cannot be written (full, read-only, a file in the way) costs the autosave
    only: `problem` says why, and every write tries again. `write` may run on a worker thread:
    a write asked for before the last `discard` or `release` (an older `generation`) writes
    nothing, so a saved design leaves no recovery file behind.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        stem = f"session-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.data = self.folder / f"{stem}.json"
        self.lock = self.folder / f"{stem}.lock"
        self.problem: str | None = None
        self.generation = 0  # moves on with each discard: older writes are dropped
        self._mutex = threading.Lock()
        try:
            self._write_lock(None)
        except OSError as error:
            self.problem = f"cannot write to {self.folder}: {error.strerror or error}"

    def _write_lock(self, source: Path | None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        content = {"pid": os.getpid(), "source": str(source) if source else None}
        self.lock.write_text(json.dumps(content), encoding="utf-8")

    def write(self, data: dict[str, Any], source: Path | None, generation: int | None = None) -> bool:
        """Write the design's data (on any thread); False when a discard came after `generation`."""
        with self._mutex:
            if generation is not None and generation != self.generation:
                return False
            self._write_lock(source)
            project.save(self.data, data)
            self.problem = None
            return True

    def discard(self) -> None:
        with self._mutex:
            self.generation += 1
            _remove(self.data)

    def release(self) -> None:
        """A clean end: nothing left to recover."""
        with self._mutex:
            self.generation += 1
            _remove(self.data)
            _remove(self.lock)

    def orphans(self) -> list[Orphan]:
        """Recovery files whose session's process is no longer alive, newest first."""
        found = []
        for lock in sorted(self.folder.glob("session-*.lock"), key=modified_time, reverse=True):
            if lock == self.lock:
                continue
            pid, source = _read_lock(lock)
            if pid_alive(pid):  # it may not be ours: pid files are a best effort
                continue
            data = lock.with_suffix(".json")
            if data.exists():
                found.append(Orphan(data, lock, source))
            else:
                _remove(lock)
        return found


def _remove(path: Path) -> None:
    """Delete `path` if it is there and may be deleted: a recovery file left behind costs nothing."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _read_lock(lock: Path) -> tuple[int, Path | None]:
    try:
        content = json.loads(lock.read_text(encoding="utf-8"))
        source = content.get("source")
        return int(content["pid"]), Path(source) if source else None
    except (OSError, ValueError, KeyError, TypeError):
        return 0, None


def modified_time(path: Path) -> float:
    """The file's modification time; 0 when it cannot be read."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


# ------------------------------------------------------------------ autosave
class Recovery(QObject):
    """The autosave timers and recovery files of one window's design."""

    autosaved = Signal()  # a recovery file was written
    recovered = Signal()  # a dead session's design is shown

    def __init__(
        self, services: WindowServices, custom_layers: CustomLayerFiles, folder: Path, parent: QObject
    ) -> None:
        super().__init__(parent)
        self.services, self.document, self.custom_layers = services, services.document, custom_layers
        self.files = RecoveryFiles(folder)
        self.jobs = BackgroundJobs("autosave", self)
        self._changed = False  # edits no autosave holds yet
        self._writing = False
        self.timer = QTimer(self, interval=autosave_interval())
        self.idle_timer = QTimer(self, singleShot=True, interval=min(AUTOSAVE_IDLE_MS, autosave_interval()))
        self.timer.timeout.connect(self.autosave)
        self.idle_timer.timeout.connect(self.autosave)
        self.document.undo_stack.indexChanged.connect(self._index_changed)
        self.document.undo_stack.cleanChanged.connect(self._clean_changed)
        self.timer.start()

    def set_interval(self, milliseconds: int, idle_milliseconds: int = AUTOSAVE_IDLE_MS) -> None:
        """Autosave `idle_milliseconds` after the last edit, and at least every `milliseconds`."""
        self.timer.setInterval(milliseconds)
        self.idle_timer.setInterval(min(idle_milliseconds, milliseconds))

    def autosave(self, force: bool = False) -> None:
        """Write the recovery file, off the GUI thread, when there are changes no save or
        autosave holds yet (`force`: whether or not there are)."""
        if not self.document.is_dirty or not (force or self._changed):
            return
        if self._writing:  # one write at a time: the next tick writes what came meanwhile
            self._changed = True
            return
        data, source = self.document.to_project().to_dict(), self.document.path  # a snapshot
        self._changed, self._writing = False, True
        self.jobs.submit(
            self.files.write, data, source, self.files.generation, done=self._written, failed=self._failed
        )

    def _written(self, written: object) -> None:
        self._writing = False
        if written:
            self.autosaved.emit()

    def _failed(self, error: Exception) -> None:
        self._writing, self._changed = False, True  # the next tick tries again
        self.services.show_message(f"Autosave failed: {getattr(error, 'strerror', None) or error}")

    def discard(self) -> None:
        """The design is saved, or another one is shown: nothing of it to recover."""
        self.files.discard()

    def close(self) -> None:
        """A clean end: no more autosaves, and nothing left to recover."""
        self.timer.stop()
        self.idle_timer.stop()
        self.files.release()

    def _index_changed(self, _index: int) -> None:
        self._changed = True
        self.idle_timer.start()  # restarts: the autosave waits for a pause in the edits

    def _clean_changed(self, clean: bool) -> None:
        if clean:
            self.files.discard()

    # ----------------------------------------------------------------- offers
    def offer_back(
        self, offer: Callable[[Path], bool], when_ready: Callable[[Callable[[], None]], None]
    ) -> bool:
        """Offer the design of a session that died (`offer` asks the person); True when one is
        being recovered (`when_ready` runs it once the catalog is known). Declined ones go."""
        chosen: Orphan | None = None
        for orphan in self.files.orphans():
            if chosen is None and offer(orphan.data):
                chosen = orphan
            elif chosen is None:
                orphan.remove()
        if chosen is None:
            return False
        when_ready(partial(self._recover_quietly, chosen))
        return True

    def _recover_quietly(self, orphan: Orphan) -> None:
        self.recover(orphan)

    def recover(self, orphan: Orphan) -> bool:
        """Show the orphan's design as an unsaved change of the file it came from, once its
        custom layers are loaded; a recovery file that cannot be read is kept for another try."""
        document = self.document
        try:
            data = project.read_data(orphan.data)
            folder = orphan.source.parent if orphan.source is not None else orphan.data.parent
            if not self.custom_layers.prepare_data(
                data, folder, orphan.data, partial(self._recover_quietly, orphan)
            ):
                return True
            catalog = document.catalog.with_project_specs(data)
            loaded = project.from_dict(data, catalog.ports_of, str(orphan.data))
        except (ProjectError, KeyError, TypeError, ValueError) as error:
            self.services.report_error(
                "Cannot recover the design", f"{error}\nThe recovery file stays in {orphan.data}."
            )
            return False
        if catalog is not document.catalog:
            document.set_catalog(catalog)
        document.replace(loaded, orphan.source)
        document.undo_stack.resetClean()
        self.recovered.emit()
        self.autosave(force=True)
        orphan.remove()
        self.services.show_message("Recovered the unsaved design")
        return True
