"""A view's connections to the document's graph signals, kept across New and Open.

`GraphSubscription` connects a view to `graph.events` of the document's current
graph (one callback that takes every emission, or callbacks by signal name),
moves it to the new graph on `project_replaced`, and drops it when the view's
QObject is destroyed, so a graph never calls into a deleted widget. `Debouncer`
folds a burst of signals (a macro, a paste, a drag) into one refresh.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from psygnal import EmissionInfo
from PySide6.QtCore import QObject, QTimer

from designer.graph.model import ModelGraph
from designer.ui.document import Document


class GraphSubscription:
    """A view's callbacks connected to `document.graph.events`: `callbacks` by signal name
    ("node_added", "params_changed"...) get the signal's arguments; a single callable gets
    every emission as an `EmissionInfo`."""

    def __init__(
        self,
        document: Document,
        owner: QObject,
        callbacks: Mapping[str, Callable[..., Any]] | Callable[[EmissionInfo], Any],
        on_replaced: Callable[[], None] | None = None,
    ) -> None:
        if isinstance(callbacks, Mapping):
            unknown = set(callbacks) - set(document.graph.events.signals)
            if unknown:
                raise ValueError(f"The graph has no signal {sorted(unknown)[0]!r}.")
            self._callbacks: dict[str, Callable[..., Any]] = dict(callbacks)
            self._on_event: Callable[[EmissionInfo], Any] = self._dispatch
        else:
            self._callbacks, self._on_event = {}, callbacks
        self._document = document
        self._on_replaced = on_replaced
        self._graph: ModelGraph | None = None
        self.connect()
        document.project_replaced.connect(self._replaced)
        owner.destroyed.connect(lambda *_: self.release())

    def connect(self) -> None:
        """Listen to the document's current graph (and no longer to an older one)."""
        self.disconnect()
        self._graph = self._document.graph
        self._graph.events.connect(self._on_event)

    def disconnect(self) -> None:
        if self._graph is None:
            return
        self._graph.events.disconnect(self._on_event, missing_ok=True)
        self._graph = None

    def _dispatch(self, event: EmissionInfo) -> None:
        callback = self._callbacks.get(event.signal.name)
        if callback is not None:
            callback(*event.args)

    def release(self) -> None:
        """Stop listening for good (the owner is going away)."""
        self.disconnect()
        with contextlib.suppress(RuntimeError, TypeError, RuntimeWarning):  # the document went first
            self._document.project_replaced.disconnect(self._replaced)

    def _replaced(self) -> None:
        self.connect()
        if self._on_replaced is not None:
            self._on_replaced()


class Debouncer(QObject):
    """Calls `callback` once, `delay_ms` after the last `schedule()`; `flush()` runs it now if pending."""

    def __init__(self, callback: Callable[[], None], delay_ms: int, parent: QObject) -> None:
        super().__init__(parent)
        self._callback = callback
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(callback)

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def schedule(self, *_: object) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.stop()

    def flush(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self._callback()
