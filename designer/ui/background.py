"""Slow work off the GUI thread: one worker thread per owner, answers back on the GUI thread.

`BackgroundJobs.submit(function, *arguments, done=..., failed=...)` runs the
function on the owner's worker thread (jobs run one at a time, in order) and
calls `done(result)` or `failed(error)` on the GUI thread through a queued
signal. The function must touch no widget: give it snapshots (a graph copy, a
config) and let the callbacks show the outcome. A job whose owner is gone by
the time it ends is dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal


class BackgroundJobs(QObject):
    """A worker thread for one view's slow work (file reads, probes, code generation)."""

    _finished = Signal(object, object, object)  # (done, failed), result, error

    def __init__(self, name: str, parent: QObject) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._finished.connect(self._deliver)
        executor = self._executor
        self.destroyed.connect(lambda *_: executor.shutdown(wait=False, cancel_futures=True))

    def submit(
        self,
        function: Callable[..., Any],
        *arguments: Any,
        done: Callable[[Any], None],
        failed: Callable[[Exception], None],
    ) -> None:
        self._executor.submit(self._run, function, arguments, (done, failed))

    def _run(
        self, function: Callable[..., Any], arguments: tuple[Any, ...], callbacks: tuple[Any, Any]
    ) -> None:
        """On the worker thread: never raises, only emits."""
        try:
            result, error = function(*arguments), None
        except Exception as caught:  # handed to `failed` on the GUI thread
            result, error = None, caught
        with contextlib.suppress(RuntimeError):  # the owner was deleted meanwhile
            self._finished.emit(callbacks, result, error)

    def _deliver(self, callbacks: tuple[Any, Any], result: Any, error: Exception | None) -> None:
        done, failed = callbacks
        if error is not None:
            failed(error)
        else:
            done(result)
