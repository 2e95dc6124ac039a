"""A heartbeat on the GUI thread and a deliberately slow step: how the tests show that slow work
never holds the event loop (the widest gap between 10 ms ticks stays under 100 ms while a step of a
second runs), whatever the speed of the machine."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QTimer

HEARTBEAT_MS = 10
STALL_LIMIT_S = 0.100
SLOW_S = 1.0  # the slow step's own sleep: ten times the stall limit


# ------------------------------------------------------------------ helpers
class Heartbeat:
    """A 10 ms timer on the GUI thread; `longest` is the widest gap between its ticks."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._timer = QTimer(interval=HEARTBEAT_MS, timeout=self._tick)
        self._timer.setTimerType(self._timer.timerType().PreciseTimer)

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())

    @property
    def longest(self) -> float:
        gaps = [later - earlier for earlier, later in zip(self.ticks, self.ticks[1:], strict=False)]
        return max(gaps, default=0.0)

    @property
    def span(self) -> tuple[float, float]:
        return self.ticks[0], self.ticks[-1]


@contextmanager
def heartbeat() -> Iterator[Heartbeat]:
    beat = Heartbeat()
    beat._tick()
    beat._timer.start()
    try:
        yield beat
    finally:
        beat._tick()
        beat._timer.stop()


class Slowed:
    """A real function called after a sleep of SLOW_S; records where and when each call ran."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.calls: list[tuple[str, float, float]] = []  # thread, began, ended

    def __call__(self, *arguments: Any, **options: Any) -> Any:
        began = time.perf_counter()
        time.sleep(SLOW_S)
        try:
            return self.function(*arguments, **options)
        finally:
            self.calls.append((threading.current_thread().name, began, time.perf_counter()))


def assert_loop_kept_turning(beat: Heartbeat, slowed: Slowed) -> None:
    """The slow step ran, off the GUI thread, while the heartbeat was kept; no gap reached 100 ms."""
    first, last = beat.span
    assert any(first <= began and ended <= last for _, began, ended in slowed.calls), "it never ran"
    assert threading.main_thread().name not in {thread for thread, _, _ in slowed.calls}
    assert beat.longest < STALL_LIMIT_S, f"the GUI thread was held {beat.longest * 1000:.0f} ms"
