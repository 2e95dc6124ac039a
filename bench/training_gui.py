"""Benchmark: training from the app against a plain `python train.py`, and the GUI's latency meanwhile.

Two figures, each beside a baseline measured in the same run:
- samples/s of the digits MLP example trained from the app (TrainingView with its
  plots live, per-batch events on, the worker started by TrainingClient) over
  samples/s of the same model and data trained by the exported train.py run
  as a plain script in a subprocess, with no callback of the designer's
  (target >= 0.97); the same run's worker started headless (launcher.start_run,
  no GUI) splits the difference between the worker's own cost and the GUI's;
- the GUI event loop's lateness (p99 of a 5 ms timer) while the app's run
  trains (target < 50 ms), beside the lateness of the idle loop;
- the longest event-loop stall (the widest gap between ticks of a 5 ms timer, less
  5 ms) from pressing Start until the worker's first event (target < 100 ms),
  beside the same measure around the start's checks and run folder done on the
  GUI thread, as Start did before it handed them to a worker thread (both after
  one unmeasured start that reads the data and warms ruff; that cold one is printed too).

samples/s is the training samples of the epochs after the first (which traces
the model) over the wall time from the end of the first epoch to the end of the
last, so everything between epochs (checkpoints, events) counts. Variants
alternate, `--repeat` times each; the best of each is compared. The GUI process
never imports Keras (the catalog is built in a subprocess). Runs offscreen
unless a display is named:

    python bench/training_gui.py [--example digits_mlp] [--epochs 12] [--repeat 3] [--batch-size 32]
                                 [--batch-interval 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from designer.catalog.spec import Catalog
from designer.training.launcher import start_run, worker_environment
from designer.training.runs import RunFolder
from designer.ui.document import Document
from designer.ui.panels.training import TrainingView
from designer.ui.panels.training_config import SetTrainingConfig, current_config
from designer.ui.training_client import TrainingClient, prepare, start_request

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
TICK_MS = 5
RUN_LIMIT_S = 600
SAMPLES_TARGET, LATENCY_TARGET_MS, STALL_TARGET_MS = 0.97, 50.0, 100.0

CATALOG_SCRIPT = (
    "import json, sys\n"
    "from designer.catalog.keras_layers import build_catalog\n"
    "json.dump(build_catalog().to_dict(), sys.stdout)\n"
)
# train.py as Export writes it, with an epoch clock (no per-batch hook) to time it by.
PLAIN_SCRIPT = """
import json, sys, time
import keras
sys.path.insert(0, sys.argv[1])
import train

ends = []
clock = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.time()))
train.main(["--epochs", sys.argv[2], "--output-dir", sys.argv[1]], callbacks=[clock])
print("EPOCH_ENDS " + json.dumps(ends))
"""


# ------------------------------------------------------------------- helpers
def catalog_from_subprocess() -> Catalog:
    """The Keras catalog, built in another process so that this one never imports Keras."""
    output = subprocess.run(
        [sys.executable, "-c", CATALOG_SCRIPT],
        env=worker_environment(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Catalog.from_dict(json.loads(output))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def samples_per_second(epoch_ends: list[float], samples: int) -> float:
    """Samples of the epochs after the first over the time from the first epoch's end to the last's."""
    if len(epoch_ends) < 2:
        raise RuntimeError("Train at least 2 epochs to time them.")
    return samples * (len(epoch_ends) - 1) / (epoch_ends[-1] - epoch_ends[0])


class LoopProbe:
    """A 5 ms timer that records how late each tick comes, and this process' CPU time, while recording."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self.recording = False
        self.cpu_seconds = self.wall_seconds = 0.0
        self._began = (0.0, 0.0)
        self._expected = time.perf_counter()
        self._timer = QTimer(interval=TICK_MS, timeout=self._tick)
        self._timer.setTimerType(self._timer.timerType().PreciseTimer)

    def start(self) -> None:
        self._expected = time.perf_counter() + TICK_MS / 1000
        self._timer.start()

    def begin(self, *_: object) -> None:
        if not self.recording:
            self.recording, self._began = True, (time.process_time(), time.perf_counter())

    def end(self) -> None:
        if self.recording:
            self.recording = False
            self.cpu_seconds += time.process_time() - self._began[0]
            self.wall_seconds += time.perf_counter() - self._began[1]

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.recording:
            self.lateness.append(max(0.0, now - self._expected))
        self._expected = now + TICK_MS / 1000


class StallProbe:
    """A 5 ms timer that keeps the widest gap between its ticks, less the 5 ms: the longest time
    the event loop was held."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = time.perf_counter()
        self._timer = QTimer(interval=TICK_MS, timeout=self._tick)
        self._timer.setTimerType(self._timer.timerType().PreciseTimer)

    def __enter__(self) -> StallProbe:
        self._last = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._tick()
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last - TICK_MS / 1000)
        self._last = now


def settle(milliseconds: int) -> None:
    """Let the loop run (and a StallProbe tick) for a while."""
    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def wait(condition: Callable[[], bool], limit_s: float) -> None:
    loop = QEventLoop()
    poll = QTimer(interval=20, timeout=lambda: loop.quit() if condition() else None)
    poll.start()
    QTimer.singleShot(int(limit_s * 1000), loop.quit)
    loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError(f"Not done within {limit_s} s.")


# ---------------------------------------------------------------- variants
def app_run(view: TrainingView, probe: LoopProbe, start_times: list[float]) -> float:
    """Train from the panel's Start button; samples/s from the run's epoch events."""
    reports: list[dict[str, Any]] = []
    view.client.finished.connect(reports.append)
    events: list[dict[str, Any]] = []
    view.client.logged.connect(events.append)
    view.client.logged.connect(probe.begin)  # from the worker's first event on
    with StallProbe() as stall:
        settle(50)
        view.start_button.click()
        wait(lambda: bool(events) or bool(reports), RUN_LIMIT_S)
    start_times.append(stall.longest)
    view.client.logged.disconnect(events.append)
    wait(lambda: bool(reports), RUN_LIMIT_S)
    probe.end()
    view.client.finished.disconnect(reports.append)
    view.client.logged.disconnect(probe.begin)
    if reports[0]["status"] != "finished":
        raise RuntimeError(f"The app's run ended {reports[0]}")
    return run_samples_per_second(RunFolder(reports[0]["run"]))


def synchronous_start_stall(view: TrainingView) -> float:
    """The longest stall when a start's checks and run folder run on the GUI thread (as before)."""
    with StallProbe() as stall:
        settle(50)
        preparation = prepare(start_request(view.document, current_config(view.document)))
        settle(50)
    if preparation.run is None:
        raise RuntimeError(f"The start was refused: {preparation.messages} {preparation.problems}")
    return stall.longest


def run_samples_per_second(run: RunFolder) -> float:
    ends = [event["time"] for event in run.events() if event["type"] == "epoch"]
    return samples_per_second(ends, int(run.metadata()["samples"]))


def plain_run(run: RunFolder, epochs: int, folder: Path) -> float:
    """The run's own model.py and train.py, run as a plain script in a fresh folder."""
    folder.mkdir()
    for file in (run.model_file, run.training_file):
        shutil.copy(file, folder)
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_SCRIPT, str(folder), str(epochs)],
        cwd=folder,
        env=worker_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("EPOCH_ENDS "))
    return samples_per_second(json.loads(line.removeprefix("EPOCH_ENDS ")), int(run.metadata()["samples"]))


def headless_run(run: RunFolder, folder: Path, batch_interval: float) -> float:
    """The same run's code and config in a new run folder, trained by the worker without a GUI."""
    copy = RunFolder(folder)
    copy.checkpoints.mkdir(parents=True)
    (copy.path / "logs").mkdir()
    for name in ("model.py", "train.py", "config.json", "graph.json", "run.json"):
        shutil.copy(run.path / name, copy.path)
    copy.events_file.touch()
    start_run(copy, batch_interval=batch_interval).finish(RUN_LIMIT_S)
    return run_samples_per_second(copy)


# --------------------------------------------------------------------- main
def open_view(folder: Path, catalog: Catalog, args: argparse.Namespace) -> TrainingView:
    """The example open in a document, its config set for the benchmark, in a shown TrainingView."""
    path = folder / f"{args.example}.json"
    shutil.copy(EXAMPLES / path.name, path)
    document = Document(catalog)
    document.open(path)
    config = current_config(document).copy(epochs=args.epochs, batch_size=args.batch_size)
    document.undo_stack.push(SetTrainingConfig(document, config.to_dict(), "Benchmark config"))
    view = TrainingView(document, TrainingClient(batch_interval=args.batch_interval))
    view.resize(1200, 900)
    view.show()
    return view


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="digits_mlp", help="a design of resources/examples")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batch-interval", type=float, default=0.05, help="seconds between batch events")
    args = parser.parse_args()
    application = QApplication.instance() or QApplication([])
    catalog = catalog_from_subprocess()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        view = open_view(folder, catalog, args)
        probe = LoopProbe()
        probe.start()
        probe.begin()
        wait(lambda: len(probe.lateness) > 200, 10)
        idle, probe.lateness = probe.lateness, []
        probe.end()
        probe.cpu_seconds = probe.wall_seconds = 0.0
        figures: dict[str, list[float]] = {"plain": [], "headless": [], "app": [], "start": [], "sync": []}
        cold = synchronous_start_stall(view)  # the data read once, ruff in the OS cache: then alike
        for index in range(args.repeat):
            figures["sync"].append(synchronous_start_stall(view))
            figures["app"].append(app_run(view, probe, figures["start"]))
            run = RunFolder(view.run.path) if view.run else None
            assert run is not None
            figures["plain"].append(plain_run(run, args.epochs, folder / f"plain_{index}"))
            figures["headless"].append(headless_run(run, folder / f"headless_{index}", args.batch_interval))
        report(args, figures, idle, probe, view)
        print(f"    (the first start of the session, on the GUI thread, cold: {cold * 1000:.0f} ms)")
        view.client.shutdown()
        view.close()
    del application


def report(
    args: argparse.Namespace,
    figures: dict[str, list[float]],
    idle: list[float],
    probe: LoopProbe,
    view: TrainingView,
) -> None:
    lateness = probe.lateness
    best = {name: max(values) for name, values in figures.items() if name in ("plain", "headless", "app")}
    ratio = best["app"] / best["plain"]
    p99 = percentile(lateness, 0.99) * 1000
    print(
        f"{args.example}, batch size {args.batch_size}, {args.epochs} epochs, batch events every "
        f"{args.batch_interval * 1000:.0f} ms, {len(view.plots.plots)} live plots, {os.cpu_count()} CPUs"
    )
    for name, label in (("plain", "plain train.py"), ("headless", "worker, no GUI"), ("app", "from the app")):
        print(f"  {label:<20} {' '.join(f'{value:9,.0f}' for value in figures[name])} samples/s")
    verdict = "meets" if ratio >= SAMPLES_TARGET else "misses"
    print(f"  app / plain (best of each): {ratio:.3f} ({verdict} the target >= {SAMPLES_TARGET})")
    print(
        f"    of which the worker (headless / plain) {best['headless'] / best['plain']:.3f}, "
        f"the GUI (app / headless) {best['app'] / best['headless']:.3f}"
    )
    print(
        f"  GUI event loop lateness while training: p99 {p99:.1f} ms (p50 "
        f"{percentile(lateness, 0.5) * 1000:.1f}, max {max(lateness, default=0) * 1000:.1f}; "
        f"{len(lateness)} ticks; idle p99 {percentile(idle, 0.99) * 1000:.1f} ms) "
        f"({'meets' if p99 < LATENCY_TARGET_MS else 'misses'} the target < {LATENCY_TARGET_MS:.0f} ms)"
    )
    share = probe.cpu_seconds / max(probe.wall_seconds, 1e-9)
    print(
        f"  GUI process CPU while training: {share:.1%} of one core "
        f"({probe.cpu_seconds:.2f} s over {probe.wall_seconds:.1f} s; the machine has {os.cpu_count()})"
    )
    report_start(figures["start"], figures["sync"])


def report_start(starts: list[float], synchronous: list[float]) -> None:
    """The longest stall pressing Start, beside the checks and run folder done on the GUI thread."""
    worst, baseline = max(starts) * 1000, max(synchronous) * 1000
    verdict = "meets" if worst < STALL_TARGET_MS else "misses"
    print(
        f"  longest event-loop stall pressing Start (until the worker's first event): "
        f"{', '.join(f'{s * 1000:.0f}' for s in starts)} ms"
    )
    print(
        f"    baseline, the same checks and run folder on the GUI thread: "
        f"{', '.join(f'{s * 1000:.0f}' for s in synchronous)} ms; "
        f"ratio (worst of each) {worst / baseline:.3f} ({verdict} the target < {STALL_TARGET_MS:.0f} ms)"
    )


if __name__ == "__main__":
    main()
