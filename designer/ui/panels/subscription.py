"""A view's connections to the open design's signals, kept across New and Open.

`GraphSubscription` connects a view to `graph.events` of the document's current
graph (one callback that takes every emission, or callbacks by signal name),
`ProjectSubscription` to the project model's `events` (the training config, the
custom-layer references); both move to the new design on `project_replaced` and
drop their connections when the view's QObject is destroyed, so a design never
calls into a deleted widget. `Debouncer`
folds a burst of signals (a macro, a paste, a drag) into one refresh.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from psygnal import EmissionInfo, SignalGroup
from PySide6.QtCore import QObject, QTimer

from designer.ui.document import Document


class EventsSubscription:
    """A view's callbacks connected to a psygnal SignalGroup of the document's open design
    (`events_of(document)`): callbacks by signal name get the signal's arguments (as many as they
    take), a single callable gets every emission as an `EmissionInfo`. On `project_replaced` they
    move to the new design's group (then `on_replaced` runs); they are dropped when the view's
    QObject is destroyed."""

    def __init__(
        self,
        document: Document,
        owner: QObject,
        events_of: Callable[[Document], SignalGroup],
        callbacks: Mapping[str, Callable[..., Any]] | Callable[[EmissionInfo], Any],
        on_replaced: Callable[[], None] | None = None,
    ) -> None:
        self._events_of = events_of
        if isinstance(callbacks, Mapping):
            unknown = set(callbacks) - set(events_of(document).signals)
            if unknown:
                raise ValueError(f"There is no signal {sorted(unknown)[0]!r}.")
            self._callbacks: dict[str, Callable[..., Any]] = dict(callbacks)
            self._on_event: Callable[[EmissionInfo], Any] | None = None
        else:
            self._callbacks, self._on_event = {}, callbacks
        self._document = document
        self._on_replaced = on_replaced
        self._events: SignalGroup | None = None
        self._released = False
        self.connect()
        document.project_replaced.connect(self._replaced)
        owner.destroyed.connect(lambda *_: self.release())

    def connect(self) -> None:
        """Listen to the open design's group (and no longer to an older one)."""
        self.disconnect()
        self._events = self._events_of(self._document)
        if self._on_event is not None:
            self._events.connect(self._on_event)
        for name, callback in self._callbacks.items():
            self._events[name].connect(callback)

    def disconnect(self) -> None:
        if self._events is None:
            return
        if self._on_event is not None:
            self._events.disconnect(self._on_event, missing_ok=True)
        for name, callback in self._callbacks.items():
            self._events[name].disconnect(callback, missing_ok=True)
        self._events = None

    def release(self) -> None:
        """Stop listening for good (the owner is going away); once is enough."""
        self.disconnect()
        if self._released:
            return
        self._released = True
        with contextlib.suppress(RuntimeError, TypeError, RuntimeWarning):  # the document went first
            self._document.project_replaced.disconnect(self._replaced)

    def _replaced(self) -> None:
        self.connect()
        if self._on_replaced is not None:
            self._on_replaced()


class GraphSubscription(EventsSubscription):
    """`EventsSubscription` to `document.graph.events` ("node_added", "params_changed"...)."""

    def __init__(
        self,
        document: Document,
        owner: QObject,
        callbacks: Mapping[str, Callable[..., Any]] | Callable[[EmissionInfo], Any],
        on_replaced: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(document, owner, lambda document: document.graph.events, callbacks, on_replaced)


class ProjectSubscription(EventsSubscription):
    """`EventsSubscription` to `document.model.events` ("training_changed"...)."""

    def __init__(
        self,
        document: Document,
        owner: QObject,
        callbacks: Mapping[str, Callable[..., Any]],
        on_replaced: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(document, owner, lambda document: document.model.events, callbacks, on_replaced)


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
