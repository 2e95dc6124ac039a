"""Benchmark: what the training worker costs, and the plots' smoothing.

Trains the digits MLP example's generated train.py in this process, as the
worker does, and prints the time per epoch with the worker's callback (batch
events every 50 ms, and for every batch) as a ratio of the time without it.
Then times `smooth` and `per_batch_values` on 100,000 values against a 16 ms
frame.

    python bench/training.py [--epochs 5] [--repeat 2] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from designer.graph import project
from designer.training.config import TrainingConfig
from designer.training.runs import RunFolder, per_batch_values, smooth

EXAMPLE = Path(__file__).resolve().parent.parent / "resources" / "examples" / "digits_mlp.json"
FRAME_S = 0.016


def make_run(root: Path, epochs: int, batch_size: int) -> RunFolder:
    from designer.engine.analysis import default_catalog

    catalog = default_catalog()
    loaded = project.load(EXAMPLE, catalog.ports_of)
    config = TrainingConfig.from_dict(loaded.training).copy(epochs=epochs, batch_size=batch_size)
    return RunFolder.create(root, loaded.graph, config, catalog, metadata={"samples": 1438})


def epoch_seconds(run: RunFolder, epochs: int, batch_interval: float | None) -> float:
    """Seconds per epoch after the first (which traces), with or without the worker's callback."""
    import keras

    from designer.training import worker

    module = worker.load_training_module(run)
    callbacks = []
    if batch_interval is not None:
        events = worker.EventWriter.open(run, None, None)
        callbacks = [
            worker.RunCallback(
                run,
                events,
                worker.StopRequest(run),
                batch_size=32,
                samples=1438,
                batch_interval=batch_interval,
            )
        ]
    durations, started = [], []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: started.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs: durations.append(time.perf_counter() - started[-1]),
    )
    module.main(["--epochs", str(epochs), "--output-dir", str(run.path)], callbacks=[*callbacks, timer])
    return sum(durations[1:]) / max(1, len(durations) - 1)


def bench_worker(epochs: int, repeat: int, batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        run = make_run(Path(folder), epochs, batch_size)
        variants = {"no callback": None, "events every 50 ms": 0.05, "event every batch": 0.0}
        times = {
            name: min(epoch_seconds(run, epochs, value) for _ in range(repeat))
            for name, value in variants.items()
        }
    baseline = times["no callback"]
    print(f"digits MLP, batch size {batch_size}, {epochs} epochs ({baseline * 1000:.1f} ms per epoch bare):")
    for name, seconds in times.items():
        print(f"  {name:<20} {seconds * 1000:8.1f} ms per epoch   {seconds / baseline:5.2f} x")


def bench_plots(count: int = 100_000) -> None:
    values = [float(index % 97) for index in range(count)]
    for name, function in (
        ("smooth", lambda: smooth(values, 0.6)),
        ("per_batch_values", lambda: per_batch_values(values)),
    ):
        start = time.perf_counter()
        function()
        seconds = time.perf_counter() - start
        print(
            f"{name} of {count:,} values: {seconds * 1000:.1f} ms = {seconds / FRAME_S:.2f} x a 16 ms frame"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    bench_worker(args.epochs, args.repeat, args.batch_size)
    bench_plots()


if __name__ == "__main__":
    main()
