"""The autosave writes off the GUI thread: a slow disk never holds the event loop, and a write
still under way when the design is saved leaves no recovery file behind."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from test_main_window import make_window

from designer.ui.recovery import RecoveryFiles

SLOW_WRITE_S = 1.0


@pytest.fixture
def slow_disk(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every recovery write takes a second (a full or network disk); the list names the threads."""
    threads: list[str] = []
    original = RecoveryFiles.write

    def slow_write(self: RecoveryFiles, *arguments: Any) -> bool:
        threads.append(threading.current_thread().name)
        time.sleep(SLOW_WRITE_S)
        return original(self, *arguments)

    monkeypatch.setattr(RecoveryFiles, "write", slow_write)
    return threads


def test_the_event_loop_keeps_turning_while_a_slow_autosave_writes(
    qtbot: Any, tmp_path: Path, slow_disk: list[str]
) -> None:
    window = make_window(qtbot, tmp_path)
    window.set_autosave_interval(600_000, idle_milliseconds=10)
    ticks: list[float] = []
    timer = QTimer(interval=10, timeout=lambda: ticks.append(time.monotonic()))
    timer.start()
    with qtbot.waitSignal(window.recovery.autosaved, timeout=10_000):
        window.add_layer_at_centre("Dense")
    timer.stop()
    assert slow_disk and slow_disk[0].startswith("autosave")  # the worker's thread, not the GUI's
    saved = json.loads(window.recovery.files.data.read_text(encoding="utf-8"))
    assert [node["type"] for node in saved["nodes"]] == ["Dense"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    assert len(ticks) > 10 and max(gaps) < SLOW_WRITE_S / 2  # the loop kept turning through the write


def test_a_save_during_a_slow_autosave_leaves_no_recovery_file(
    qtbot: Any, tmp_path: Path, slow_disk: list[str]
) -> None:
    window = make_window(qtbot, tmp_path)
    window.set_autosave_interval(600_000, idle_milliseconds=10)
    window.add_layer_at_centre("Dense")
    qtbot.waitUntil(lambda: bool(slow_disk), timeout=5000)  # the write is under way
    window.ask_save_path = lambda: tmp_path / "saved.json"  # type: ignore[method-assign]
    assert window.save()
    qtbot.wait(int(SLOW_WRITE_S * 1500))  # the write has ended meanwhile
    assert not window.recovery.files.data.exists()
    assert not window.isWindowModified()
