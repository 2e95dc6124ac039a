"""Slow work off the GUI thread: one worker thread per owner, answers back on the GUI thread.

`BackgroundJobs.submit(function, *arguments, done=..., failed=...)` runs the
function on the owner's worker thread (jobs run one at a time, in order) and
calls `done(result)` or `failed(error)` on the GUI thread through a queued
signal. The function must touch no widget and hold no Qt object: give it snapshots
(a graph copy, a config) and let the callbacks show the outcome. A job whose owner is gone by
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
Job = tuple[int, Callable[..., Any], tuple[Any, ...]]


def _closer(
    jobs: queue.SimpleQueue[Job | None], closed: threading.Event, callbacks: dict[int, Callbacks]
) -> Callable[..., None]:
    """What the owner's end does, on the GUI thread: drop the callbacks (they may hold the last
    reference to a Qt object, which must not be deleted on the worker thread), the queued jobs and
    the answers still to come, and end the thread."""

    def close(*_: object) -> None:
        closed.set()
        callbacks.clear()
        jobs.put(None)

    return close


class BackgroundJobs(QObject):
    """A worker thread for one view's slow work (file reads, probes, code generation).

    The worker thread only ever holds the functions and their arguments (plain data, no Qt object);
    the callbacks stay with the GUI thread, keyed by job number, so that nothing a callback refers
    to is ever released, and so deleted, on the worker thread."""

    _finished = Signal(int, object, object)  # job number, result, error

    def __init__(self, name: str, parent: QObject) -> None:
        super().__init__(parent)
        self.name = name
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._callbacks: dict[int, Callbacks] = {}
        self._submitted = 0
        self._thread: threading.Thread | None = None
        self._finished.connect(self._deliver)
        self.destroyed.connect(_closer(self._queue, self._closed, self._callbacks))

    def submit(
        self,
        function: Callable[..., Any],
        *arguments: Any,
        done: Callable[[Any], None],
        failed: Callable[[Exception], None],
    ) -> None:
        self._submitted += 1
        self._callbacks[self._submitted] = (done, failed)
        self._queue.put((self._submitted, function, arguments))
        if self._thread is None:
            self._thread = threading.Thread(
                target=_work,
                args=(self._queue, self._closed, self._finished.emit),
                name=self.name,
                daemon=True,
            )
            self._thread.start()

    @property
    def worker_thread(self) -> threading.Thread | None:
        """The worker thread, once a job was submitted (tests look at it)."""
        return self._thread

    def _deliver(self, number: int, result: Any, error: Exception | None) -> None:
        callbacks = self._callbacks.pop(number, None)
        if callbacks is None:
            return
        done, failed = callbacks
        if error is not None:
            failed(error)
        else:
            done(result)


def _work(jobs: queue.SimpleQueue[Job | None], closed: threading.Event, emit: Callable[..., None]) -> None:
    """The worker thread: run the jobs in order until the owner goes; never raises, only emits."""
    while (job := jobs.get()) is not None and not closed.is_set():
        number, function, arguments = job
        try:
            result, error = function(*arguments), None
        except Exception as caught:  # handed to `failed` on the GUI thread
            result, error = None, caught
        del job, function, arguments
        if closed.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the owner was deleted meanwhile
            emit(number, result, error)
