"""Slow work off the GUI thread: one worker thread per owner, answers back on the GUI thread.

`BackgroundJobs.submit(function, *arguments, done=..., failed=...)` runs the
function on the owner's worker thread (jobs run one at a time, in order) and
calls `done(result)` or `failed(error)` on the GUI thread through a queued
signal. The function must touch no widget: give it snapshots (a graph copy, a
config) and let the callbacks show the outcome. A job whose owner is gone by
the time it ends is dropped, and so are the jobs still queued behind it.

The worker is a daemon thread: nothing waits for it when the window closes or
the interpreter exits (a data download of minutes would hold the closing app;
concurrent.futures' threads are joined at exit). Jobs therefore must leave
nothing half-written that matters: the run folder a start writes is new, and
every file the app keeps is written atomically.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

Callbacks = tuple[Callable[[Any], None], Callable[[Exception], None]]
Job = tuple[Callable[..., Any], tuple[Any, ...], Callbacks]


def _closer(jobs: queue.SimpleQueue[Job | None], closed: threading.Event) -> Callable[..., None]:
    """What the owner's end does: drop the queued jobs and the answers still to come, end the
    thread (it holds no reference to the QObject, which is gone by then)."""

    def close(*_: object) -> None:
        closed.set()
        jobs.put(None)

    return close


class BackgroundJobs(QObject):
    """A worker thread for one view's slow work (file reads, probes, code generation)."""

    _finished = Signal(object, object, object)  # (done, failed), result, error

    def __init__(self, name: str, parent: QObject) -> None:
        super().__init__(parent)
        self.name = name
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._finished.connect(self._deliver)
        self.destroyed.connect(_closer(self._queue, self._closed))

    def submit(
        self,
        function: Callable[..., Any],
        *arguments: Any,
        done: Callable[[Any], None],
        failed: Callable[[Exception], None],
    ) -> None:
        self._queue.put((function, arguments, (done, failed)))
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name=self.name, daemon=True)
            self._thread.start()

    @property
    def worker_thread(self) -> threading.Thread | None:
        """The worker thread, once a job was submitted (tests look at it)."""
        return self._thread

    def _work(self) -> None:
        """On the worker thread: run the jobs in order until the owner goes."""
        jobs, closed = self._queue, self._closed
        while (job := jobs.get()) is not None and not closed.is_set():
            self._run(*job)

    def _run(self, function: Callable[..., Any], arguments: tuple[Any, ...], callbacks: Callbacks) -> None:
        """Never raises, only emits."""
        try:
            result, error = function(*arguments), None
        except Exception as caught:  # handed to `failed` on the GUI thread
            result, error = None, caught
        if self._closed.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the owner was deleted meanwhile
            self._finished.emit(callbacks, result, error)

    def _deliver(self, callbacks: Callbacks, result: Any, error: Exception | None) -> None:
        done, failed = callbacks
        if error is not None:
            failed(error)
        else:
            done(result)
