"""Benchmark: the editor with a 1,000-node design.

Three figures, each beside a baseline measured in the same run:
- time to first paint of the window showing the design (engine excluded),
  against the first paint of the same window with an empty design (target < 2 s);
- a full repaint of the visible scene fitted to the view, against the repaint
  of an empty scene (target < 30 ms, median of several);
- the GUI event loop's lateness (p99) while the engine process infers the whole
  design, against the lateness of an idle loop (target < 50 ms).
Runs offscreen unless a display is named; `python bench/editor.py`.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from bench.graphs import residual_cnn
from designer.app import keep_collections_short, stop_engine
from designer.catalog.keras_layers import build_catalog
from designer.catalog.spec import Catalog
from designer.graph import project
from designer.graph.layout import layered_positions
from designer.ui.canvas.editor import LAYOUT_COLUMN_WIDTH, LAYOUT_ROW_HEIGHT
from designer.ui.commands import SetParams
from designer.ui.document import Document
from designer.ui.engine_client import EngineClient, EngineSync
from designer.ui.main_window import MainWindow

NODE_COUNT = 1000
REPAINTS = 15
TICK_MS = 5
AFTERMATH_S = 1.0  # keep measuring this long after the results are shown
WORK = Path(tempfile.mkdtemp(prefix="designer-bench-"))


class PaintWatch(QObject):
    """Notes when a widget gets its first paint event."""

    def __init__(self) -> None:
        super().__init__()
        self.painted = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            self.painted = True
        return False


def new_window(catalog: Catalog, client: EngineClient | None = None) -> MainWindow:
    """A window set up as `designer.app` sets it up, with its settings in the bench's folder."""
    settings = QSettings(str(WORK / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Document(catalog), client, settings, recovery_dir=WORK / "recovery")
    keep_collections_short(window.document)
    window.confirm_discard = lambda: True  # type: ignore[method-assign]
    window.resize(1400, 880)
    return window


def first_paint(catalog: Catalog, path: Path | None) -> tuple[float, MainWindow]:
    """Seconds from nothing to the canvas painted: window, open (when `path`), show, paint."""
    application = QApplication.instance()
    start = time.perf_counter()
    window = new_window(catalog)
    if path is not None:
        window.open_path(path)
    watch = PaintWatch()
    window.view.viewport().installEventFilter(watch)
    window.show()
    while not watch.painted:
        application.processEvents()
    elapsed = time.perf_counter() - start
    window.view.viewport().removeEventFilter(watch)
    return elapsed, window


def repaint_time(window: MainWindow, fit: bool = True) -> float:
    """Median seconds of a synchronous repaint of the view's viewport, fitted to the design
    (else at 100 % around the middle of the design, every node drawn in full)."""
    view = window.view
    view.fit_to_view()
    if not fit:
        view.zoom_by(1 / view.transform().m11())
        view.centerOn(view.graph_scene.items_rect().center())
    QApplication.instance().processEvents()
    times = []
    for _ in range(REPAINTS):
        start = time.perf_counter()
        window.view.viewport().repaint()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def loop_lateness(run_until: Callable[[], bool], limit_s: float) -> list[float]:
    """Lateness (s) of a 5 ms timer while the event loop runs, until `run_until()` or `limit_s`."""
    late: list[float] = []
    expected = [time.perf_counter() + TICK_MS / 1000]
    loop = QEventLoop()

    def tick() -> None:
        now = time.perf_counter()
        late.append(max(0.0, now - expected[0]))
        expected[0] = now + TICK_MS / 1000
        if run_until():
            loop.quit()

    timer = QTimer(interval=TICK_MS, timeout=tick)
    timer.setTimerType(timer.timerType().PreciseTimer)
    timer.start()
    QTimer.singleShot(int(limit_s * 1000), loop.quit)
    loop.exec()
    timer.stop()
    return late


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def wait_for(condition: Callable[[], bool], limit_s: float) -> bool:
    deadline = time.perf_counter() + limit_s
    while not condition() and time.perf_counter() < deadline:
        QApplication.instance().processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.005)  # leave the engine process the CPU
    return condition()


@dataclass
class Latency:
    """Event-loop lateness samples (s) and how long the analysis took (s)."""

    samples: list[float]
    took: float


def engine_latency(catalog: Catalog, path: Path) -> tuple[Latency, Latency, Latency]:
    """Lateness while idle, while opening the design (first inference), and while the engine
    re-infers the whole design after an edit of its input shape."""
    client = EngineClient(cache_dir=WORK / "cache", analyze_timeout_s=300)  # a loaded machine is slow
    client.start()
    assert wait_for(lambda: client.is_ready, 180), client.stderr_tail
    window = new_window(catalog, client)
    sync = EngineSync(window.document, client, parent=window)
    window.show()
    idle = Latency(loop_lateness(lambda: False, 1.0), 1.0)
    opening = measure_analysis(sync, window, lambda: window.open_path(path))
    loop_lateness(lambda: False, 0.5)  # let the opening settle
    image = next(node for node in window.document.graph.nodes.values() if node.is_input)
    edit = SetParams(window.document.graph, image.id, {**image.params, "shape": [32, 32, 3]})
    reinference = measure_analysis(sync, window, lambda: window.document.undo_stack.push(edit))
    sync.close()
    window.close()
    stop_engine(client)
    return idle, opening, reinference


def measure_analysis(sync: EngineSync, window: MainWindow, action: Callable[[], object]) -> Latency:
    """Run `action`, then measure the loop's lateness until the engine's answer is shown (and 1 s on)."""
    applied: list[float] = []
    sync.analysis_applied.connect(lambda: applied.append(time.perf_counter()))
    start = time.perf_counter()
    action()

    def answered() -> bool:  # the results are shown, and what follows them (code, summary) has run
        shown = bool(applied) and len(window.document.results) >= NODE_COUNT - 5
        return shown and time.perf_counter() - applied[-1] > AFTERMATH_S

    samples = loop_lateness(answered, 180)
    return Latency(samples, (applied[-1] if applied else time.perf_counter()) - start)


def latency_line(name: str, latency: Latency) -> str:
    samples, ms = latency.samples, 1e3
    return (
        f"event loop lateness {name}: p99 {percentile(samples, 0.99) * ms:6.1f} ms"
        f" (p50 {percentile(samples, 0.5) * ms:.1f}, max {max(samples, default=0) * ms:.1f};"
        f" {len(samples)} ticks over {latency.took:.2f} s)"
    )


def main() -> None:
    application = QApplication.instance() or QApplication([sys.argv[0]])
    catalog = build_catalog()
    graph = residual_cnn(catalog, NODE_COUNT)
    for node_id, position in layered_positions(graph, LAYOUT_COLUMN_WIDTH, LAYOUT_ROW_HEIGHT).items():
        graph.move(node_id, position)  # a saved design has its nodes laid out
    path = WORK / "residual_cnn.json"
    project.save(path, graph)
    first_paint(catalog, None)[1].close()  # warm Qt up (fonts, style) before timing
    empty_paint, empty_window = first_paint(catalog, None)
    big_paint, big_window = first_paint(catalog, path)
    empty_repaint, big_repaint = repaint_time(empty_window), repaint_time(big_window)
    near_repaint = repaint_time(big_window, fit=False)
    empty_window.close()
    big_window.close()
    idle, opening, reinference = engine_latency(catalog, path)
    ms = 1e3
    print(f"design: {len(graph)} nodes, {len(graph.edges)} edges ({application.platformName()} platform)")
    print(f"first paint, empty window (baseline): {empty_paint * ms:8.1f} ms")
    print(
        f"first paint, {len(graph)} nodes:          {big_paint * ms:8.1f} ms"
        f"  = {big_paint / empty_paint:.1f}x empty (target < 2000 ms)"
    )
    print(f"repaint, empty scene (baseline):      {empty_repaint * ms:8.2f} ms")
    print(
        f"repaint, {len(graph)} nodes fitted:       {big_repaint * ms:8.2f} ms"
        f"  = {big_repaint / max(empty_repaint, 1e-9):.1f}x empty (target < 30 ms)"
    )
    print(
        f"repaint, {len(graph)} nodes at 100 %:     {near_repaint * ms:8.2f} ms"
        f"  = {near_repaint / max(empty_repaint, 1e-9):.1f}x empty (nodes, labels and ports in full)"
    )
    print(latency_line("idle (baseline)", idle))
    print(latency_line("re-inferring the whole design after an edit (target p99 < 50 ms)", reinference))
    print(latency_line("opening the design, first inference included", opening))


if __name__ == "__main__":
    main()
