"""Benchmark: from process start to an interactive window with the example drawn.

Each figure is the median of a few fresh processes, against a baseline measured
in the same run: a bare PySide6 process that shows an empty QMainWindow and
answers its first event-loop turn. The designer's process runs `designer` as a
person would (the real engine starts beside it), with the catalog cache warm
and with no cache at all (a first start on this machine: the shipped snapshot
fills the palette). "Drawn" is the first event-loop turn after the example's
nodes are on the canvas and the window has painted; "shapes" is when the
engine's shapes have reached every node. Offscreen unless a display is named;
`python bench/startup.py`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3
TIMEOUT_S = 240

BARE = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
window = QMainWindow(); window.resize(1280, 800); window.show()
QTimer.singleShot(0, lambda: (print("drawn", flush=True), app.quit()))
app.exec()
"""

DESIGNER = """
import sys, time
from PySide6.QtCore import QTimer
from designer import app as designer_app

def watch(window):
    state = {"drawn": False}

    def check():
        graph, scene = window.document.graph, window.scene
        if not state["drawn"] and len(graph) and len(scene.node_items) == len(graph) and window.isVisible():
            state["drawn"] = True
            print("drawn", flush=True)
        results = window.document.results
        if state["drawn"] and graph.nodes and all(n in results for n in graph.nodes):
            print("shapes", flush=True)
            window.confirm_discard = lambda: True
            window.close()
            return
        QTimer.singleShot(5, check)

    QTimer.singleShot(0, check)

sys.exit(designer_app.run(designer_app.Options(), on_window=watch))
"""


def timed_process(code: str, environment: dict[str, str]) -> dict[str, float]:
    """Seconds from the process start to each line it prints ("drawn", "shapes")."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
        cwd=ROOT,
    )
    marks: dict[str, float] = {}
    assert process.stdout is not None
    for line in process.stdout:
        marks.setdefault(line.strip(), time.perf_counter() - start)
    process.wait(TIMEOUT_S)
    return marks


def median_marks(code: str, environments: list[dict[str, str]]) -> dict[str, float]:
    runs = [timed_process(code, environment) for environment in environments]
    keys = set.intersection(*(set(run) for run in runs))
    return {key: statistics.median(run[key] for run in runs) for key in keys}


def environment(cache: Path, data: Path) -> dict[str, str]:
    settings = dict(os.environ)
    settings.setdefault("QT_QPA_PLATFORM", "offscreen")
    settings.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        XDG_CACHE_HOME=str(cache),
        XDG_DATA_HOME=str(data),
        XDG_CONFIG_HOME=str(data / "config"),
        PYTHONPATH=str(ROOT),
    )
    return settings


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="designer-startup-"))
    warm = environment(work / "cache", work / "data")
    timed_process(DESIGNER, warm)  # fills the catalog cache: the runs below start warm
    bare = median_marks(BARE, [warm] * RUNS)["drawn"]
    warm_marks = median_marks(DESIGNER, [warm] * RUNS)
    cold = [environment(work / f"cold-{run}", work / f"data-cold-{run}") for run in range(RUNS)]
    cold_marks = median_marks(DESIGNER, cold)  # each with a cache folder of its own, empty
    print(json.dumps({"bare_window_s": round(bare, 3)}))
    for name, marks in (("warm cache", warm_marks), ("no cache (first start)", cold_marks)):
        drawn, shapes = marks.get("drawn", float("nan")), marks.get("shapes", float("nan"))
        print(
            f"{name}: example drawn, interactive {drawn:.2f} s ({drawn / bare:.1f}x a bare PySide6 window, "
            f"{bare:.2f} s); shapes on every node {shapes:.2f} s ({shapes / bare:.1f}x)"
        )


if __name__ == "__main__":
    main()
