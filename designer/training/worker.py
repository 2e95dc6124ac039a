"""The training worker: one process per run, training with the run folder's own train.py.

    python -P -m designer.training.worker RUN_DIR [--events-fd N] [--events-file PATH]
                                       [--resume] [--epochs N] [--batch-interval SECONDS]

It imports RUN_DIR/train.py, the script Export writes, and calls the steps it declares
(designer.training.script: make_model, fit, evaluate, save_model, as its main() does) on
the data designer.data loads the way the script's prepare_data does, with one callback of
its own that streams JSON-line events: start (device, backend, replicas, epochs, steps),
batch (each batch's own values, the running means, samples per second; at most one every
--batch-interval seconds, but always the first and last of an epoch), epoch
(every one, val_* included), inspection (after each epoch, below), nan, and one
of finished / stopped / error. Events go to RUN_DIR/events.jsonl, flushed line by
line, and also to an inherited descriptor (--events-fd, what the GUI reads) or
another file: never to stdout, so what user code prints cannot corrupt them.

Stop: a `stop` file in the run folder, or SIGTERM / SIGINT, ends the run after
the current batch; the epoch still ends (validation, callbacks) and
checkpoints/last.keras is saved. It is saved after the first epoch, then at most
every LAST_SAVE_INTERVAL_S seconds (a kill loses at most that much), after a
stopped epoch and when training ends: saving a whole model every epoch costs a
short epoch a third of its time. Resume: --resume loads
that checkpoint (weights and optimizer state) into the model train.py builds and
compiles, and fit's initial_epoch continues from where it stopped. A NaN or infinite loss
stops the run with a nan event. A disk with no room for one more checkpoint stops
it at the epoch's end, checkpoint saved, with the reason "disk full: ..."
(runs.disk_shortage).

For the weights panel, every epoch also leaves checkpoints/epoch_NNN.weights.h5
(NNN: 1 after the first epoch, counting on across a resume; kept even after a NaN,
so that the NaN can be found) and an inspection event: each layer's gradient
norm and each ReLU layer's dead-unit fraction on one fixed batch of the training
data (at most 64 samples, taken when training begins), computed by
designer.engine.inspection. What cannot be computed is left out with a note.

Several GPUs are used through the config's "mirrored" distribution, which
`launcher.prepare_run` chooses when it sees them.

The only module of designer.training that imports Keras.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import signal
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import FrameType, ModuleType
from typing import IO, Any

import keras
import numpy as np

from designer.data import DataLayout, DataSettings, TrainingData, prepare_data
from designer.engine import inspection
from designer.engine.keras_data import KerasData
from designer.processes import die_with_parent
from designer.training.config import TrainingConfig
from designer.training.runs import (
    EPOCH_WEIGHTS,
    GRAPH_FILE,
    HISTORY_FILE,
    INSPECTION_EVENT,
    LAST_CHECKPOINT,
    LAST_STATE,
    MINIMUM_FREE_BYTES,
    RunFolder,
    disk_shortage,
    is_running_mean,
    next_batch_value,
    open_event_log,
)
from designer.training.script import STEPS, ScriptInterfaceError, TrainingScript, training_script

DEFAULT_BATCH_INTERVAL = 0.05  # seconds between batch events
PROBE_SAMPLES = 64  # the fixed batch of the inspection records
LAST_SAVE_INTERVAL_S = 10.0  # at most this much training is lost to a kill


# ------------------------------------------------------------------- events
class EventWriter:
    """Writes each event as one JSON line to every sink and flushes it at once."""

    def __init__(self, streams: list[IO[str]]) -> None:
        self.streams = streams

    @classmethod
    def open(cls, run: RunFolder, events_fd: int | None, events_file: Path | None) -> EventWriter:
        streams: list[IO[str]] = [open_event_log(run.events_file)]
        if events_file is not None and events_file.resolve() != run.events_file.resolve():
            streams.append(open(events_file, "a", encoding="utf-8", newline="\n"))  # noqa: SIM115
        if events_fd is not None:
            streams.append(os.fdopen(events_fd, "w", encoding="utf-8", newline="\n"))
        return cls(streams)

    def emit(self, event: dict[str, Any]) -> None:
        line = json.dumps({"time": time.time(), **event}) + "\n"
        for stream in list(self.streams):
            try:
                stream.write(line)
                stream.flush()
            except (BrokenPipeError, OSError):  # the reader went away: keep training, keep the file
                self.streams.remove(stream)

    def close(self) -> None:
        for stream in self.streams:
            with contextlib.suppress(OSError):
                stream.close()


class StopRequest:
    """A stop asked for by the run folder's stop file or by SIGTERM / SIGINT."""

    def __init__(self, run: RunFolder) -> None:
        self.run = run
        self.signalled: str | None = None

    def install(self) -> None:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._on_signal)

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        self.signalled = signal.Signals(number).name

    def reason(self) -> str | None:
        if self.signalled:
            return f"stop requested ({self.signalled})"
        return "stop requested" if self.run.stop_file.exists() else None


# --------------------------------------------------------------- inspection
class InspectionRecorder:
    """What the weights panel reads of each epoch: the weights as checkpoints/epoch_NNN.weights.h5,
    and an inspection event with the layers' gradient norms and dead-ReLU fractions on one fixed
    batch of the training data (the first samples of the data's training part). Nothing it does
    can fail the run: what it cannot compute becomes a note in the event."""

    def __init__(self, run: RunFolder, loss_weights: Mapping[str, float] | None = None) -> None:
        self.run = run
        self.loss_weights = dict(loss_weights or {})
        self._train: Any = None  # the training part of the data: (x, y), or a dataset
        self._batch: tuple[Any, Any] | None = None
        self._probe: keras.Model | None = None
        self._notes: list[str] = []

    def keep(self, data: TrainingData) -> None:
        """The data the run trains on: its training part gives the fixed batch."""
        self._train = data.train

    def begin(self, model: keras.Model) -> None:
        """Take the fixed batch and build the ReLU probe, once, when training begins."""
        self._notes = []
        try:
            self._batch = probe_batch(self._train, PROBE_SAMPLES)
        except Exception as error:  # the user's data: any failure only costs the records
            self._notes.append(f"no batch for gradient norms and dead ReLUs: {_describe(error)}")
        relu = inspection.relu_layers(model)
        if self._batch is not None and relu:
            try:
                self._probe = inspection.activation_probe(model, relu)
            except (AttributeError, ValueError) as error:  # a subclassed model has no graph to probe
                self._notes.append(f"no dead-ReLU fractions: {_describe(error)}")

    def record(self, model: keras.Model, epoch: int) -> dict[str, Any]:
        """Save this epoch's weights and return its inspection event (epoch: 0-based, as the epoch
        event's; the weights file's number is epoch + 1)."""
        notes = list(self._notes)
        try:
            self._save_weights(model, epoch + 1)
        except Exception as error:  # a full disk must not end the run
            notes.append(f"the epoch's weights were not saved: {_describe(error)}")
        event: dict[str, Any] = {
            "type": INSPECTION_EVENT,
            "epoch": epoch,
            "gradient_norms": {},
            "dead_relu": {},
        }
        if self._batch is not None:
            x, y = self._batch
            event["samples"] = _sample_count(x)
            try:
                norms = inspection.gradient_norms(model, x, y, model.loss, self.loss_weights)
                event["gradient_norms"] = {name: inspection.json_number(norm) for name, norm in norms.items()}
            except Exception as error:  # a loss that cannot be called on (x, y) this way
                notes.append(f"no gradient norms: {_describe(error)}")
            if self._probe is not None:
                try:
                    fractions = inspection.relu_dead_fractions(model, x, self._probe)
                    event["dead_relu"] = {name: inspection.json_number(f) for name, f in fractions.items()}
                except Exception as error:  # a layer that fails in inference mode
                    notes.append(f"no dead-ReLU fractions: {_describe(error)}")
        if notes:
            event["note"] = " ".join(f"{note.rstrip('.')}." for note in notes)
        return event

    def _save_weights(self, model: keras.Model, number: int) -> None:
        """checkpoints/epoch_NNN.weights.h5, replaced in one step."""
        folder = self.run.checkpoints
        folder.mkdir(exist_ok=True)
        name = EPOCH_WEIGHTS.format(epoch=number)
        temporary = folder / f".{name}.partial.weights.h5"
        try:
            model.save_weights(str(temporary))
            os.replace(temporary, folder / name)
        finally:
            temporary.unlink(missing_ok=True)


def probe_batch(train: Any, samples: int) -> tuple[Any, Any]:
    """The first `samples` samples (x, y) of the training data: arrays, or a tf.data dataset
    (an image folder), whose first batch gives them."""
    if train is None:
        raise LookupError("no training data was loaded")
    if isinstance(train, tuple) and len(train) == 2 and not _is_dataset(train[0]):
        x, y = train
    else:
        x, y = next(iter(train.take(1)))
    return _first(x, samples), _first(y, samples)


def _is_dataset(value: Any) -> bool:
    """Whether `value` is a tf.data dataset (what an image folder's load_data() gives)."""
    return hasattr(value, "element_spec")


def _first(data: Any, count: int) -> Any:
    if isinstance(data, Mapping):
        return {name: values[:count] for name, values in data.items()}
    return data[:count]


def _sample_count(x: Any) -> int:
    return len(next(iter(x.values())) if isinstance(x, Mapping) else x)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".rstrip(": ")


# ----------------------------------------------------------------- callback
class RunCallback(keras.callbacks.Callback):
    """Streams the run's events, stops on request or on a NaN loss, keeps the last checkpoint,
    and on resume restores it before the first epoch."""

    def __init__(
        self,
        run: RunFolder,
        events: EventWriter,
        stop: StopRequest,
        *,
        batch_size: int,
        samples: int | None,
        resume_epoch: int = 0,
        batch_interval: float = DEFAULT_BATCH_INTERVAL,
        device: str = "",
        recorder: InspectionRecorder | None = None,
    ) -> None:
        super().__init__()
        self.run, self.events, self.stop, self.recorder = run, events, stop, recorder
        self.batch_size, self.samples = batch_size, samples
        self.resume_epoch, self.batch_interval, self.device = resume_epoch, batch_interval, device
        self.stop_reason: str | None = None
        self.nan: dict[str, Any] | None = None
        self.last_logs: dict[str, float] = {}
        self.epochs_done = resume_epoch
        self._epoch, self._epoch_start, self._last_sent = resume_epoch, 0.0, 0.0
        self._previous: dict[str, float] = {}
        self._steps_done = 0
        self._saved_epochs: int | None = None  # the epochs last.keras holds, once saved in this run
        self._saved_at = 0.0

    # -- train
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.resume_epoch:
            self._restore()
        if self.recorder is not None:
            self.recorder.begin(self.model)
        strategy = getattr(self.model, "distribute_strategy", None)
        self.events.emit(
            {
                "type": "start",
                "pid": os.getpid(),
                "device": self.device,
                "backend": keras.backend.backend(),
                "replicas": int(getattr(strategy, "num_replicas_in_sync", 1)),
                "epochs": self.params.get("epochs"),
                "initial_epoch": self.resume_epoch,
                "steps_per_epoch": self.params.get("steps"),
                "batch_size": self.batch_size,
                "samples": self.samples,
                "resumed": bool(self.resume_epoch),
            }
        )

    def _restore(self) -> None:
        """Load the last checkpoint's state (fit was given its epoch as initial_epoch)."""
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self.model.load_weights(str(self.run.last_checkpoint))
        for epoch, path in self.run.epoch_weights():  # epochs a kill lost: they are trained again
            if epoch > self.resume_epoch:
                path.unlink(missing_ok=True)

    # -- batches
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch, self._epoch_start = epoch, time.perf_counter()
        self._previous, self._steps_done = {}, 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        running = {name: float(value) for name, value in (logs or {}).items() if _is_number(value)}
        values, samples_done = self._batch_values(batch + 1, running)
        bad = next(
            (name for name, mean in running.items() if name.endswith("loss") and not math.isfinite(mean)),
            None,
        )
        if bad is not None:
            self._stop_on_nan(batch, bad, running[bad])
        elif self.stop_reason is None and (reason := self.stop.reason()):
            self.stop_reason = reason
            self.model.stop_training = True
        if bad is not None or self._should_send(batch):
            elapsed = max(time.perf_counter() - self._epoch_start, 1e-9)
            self._last_sent = time.perf_counter()
            event = {"type": "batch", "epoch": self._epoch, "step": batch, "logs": values, "running": running}
            self.events.emit({**event, "samples_per_second": samples_done / elapsed})

    def _batch_values(self, steps_done: int, running: dict[str, float]) -> tuple[dict[str, float], float]:
        """Each running mean turned back into this batch's own value; and the samples seen so far."""
        before, after = self._samples_done(self._steps_done), self._samples_done(steps_done)
        size = after - before if after > before else float(self.batch_size)
        values = {
            name: next_batch_value(mean, self._previous.get(name, 0.0), before, size)
            for name, mean in running.items()
            if is_running_mean(name)
        }
        self._previous, self._steps_done = running, steps_done
        return values, after

    def _samples_done(self, steps: int) -> float:
        done = steps * self.batch_size
        return float(min(done, self.samples) if self.samples else done)

    def _should_send(self, batch: int) -> bool:
        last = self.params.get("steps")
        due = time.perf_counter() - self._last_sent >= self.batch_interval
        return batch == 0 or (last is not None and batch + 1 >= last) or due

    def _stop_on_nan(self, batch: int, metric: str, value: float) -> None:
        self.nan = {"type": "nan", "epoch": self._epoch, "step": batch, "metric": metric, "value": str(value)}
        self.events.emit(self.nan)
        self.model.stop_training = True

    # -- epochs
    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.last_logs = {name: float(value) for name, value in (logs or {}).items() if _is_number(value)}
        steps = self.params.get("steps")
        partial = steps is not None and self._steps_done < steps
        duration = time.perf_counter() - self._epoch_start
        event = {
            "type": "epoch",
            "epoch": epoch,
            "logs": self.last_logs,
            "duration": duration,
            "partial": partial,
        }
        self.events.emit(event)
        self.epochs_done = epoch + 1
        self._stop_when_disk_full()
        if self.nan is None and self._checkpoint_due(epoch, partial):
            self._save_last(epoch, partial)
        if self.recorder is not None:
            self.events.emit(self.recorder.record(self.model, epoch))

    def _stop_when_disk_full(self) -> None:
        """Stop cleanly while the disk still holds one more checkpoint (h5py dies on a full one),
        so that the run resumes from this epoch."""
        if self.stop_reason is None and (shortage := disk_shortage(self.run.path, self._needed_bytes())):
            self.stop_reason = shortage
            self.model.stop_training = True

    def _needed_bytes(self) -> int:
        """Room for last.keras written beside the old one (weights and optimizer state, twice) and
        one epoch's weights."""
        optimizer = getattr(self.model.optimizer, "variables", [])
        state = sum(_variable_bytes(variable) for variable in [*self.model.weights, *optimizer])
        weights = sum(_variable_bytes(variable) for variable in self.model.weights)
        return 2 * state + weights + MINIMUM_FREE_BYTES

    def _checkpoint_due(self, epoch: int, partial: bool) -> bool:
        """Whether this epoch's end saves last.keras: the first, a stopped one, the last one,
        and otherwise once LAST_SAVE_INTERVAL_S has passed since the previous save."""
        last = epoch + 1 >= int(self.params.get("epochs") or 0)
        stopping = partial or bool(self.model.stop_training) or self.stop_reason is not None
        late = time.perf_counter() - self._saved_at >= LAST_SAVE_INTERVAL_S
        return self._saved_epochs is None or last or stopping or late

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Early stopping ends training without a last epoch: keep what it trained."""
        if self.nan is None and self.epochs_done > (self._saved_epochs or self.resume_epoch):
            self._save_last(self.epochs_done - 1, partial=False)

    def _save_last(self, epoch: int, partial: bool) -> None:
        """checkpoints/last.keras, replaced in one step so a kill never leaves half a file."""
        folder = self.run.checkpoints
        folder.mkdir(exist_ok=True)
        temporary = folder / f".{LAST_CHECKPOINT}"
        self.model.save(str(temporary))
        os.replace(temporary, folder / LAST_CHECKPOINT)
        state = json.dumps({"epoch": epoch + 1, "partial": partial})
        (folder / LAST_STATE).write_text(state + "\n", encoding="utf-8")
        self._saved_epochs, self._saved_at = epoch + 1, time.perf_counter()

    # -- the end
    def final_event(self, total_epochs: int) -> dict[str, Any]:
        done = {"epochs": self.epochs_done, "logs": self.last_logs}
        if self.nan is not None:
            return {"type": "stopped", "reason": "nan", **done, "metric": self.nan["metric"]}
        if self.stop_reason is not None:
            return {"type": "stopped", "reason": self.stop_reason, **done}
        return {"type": "finished", **done, "early_stopped": self.epochs_done < total_epochs}


def _variable_bytes(variable: Any) -> int:
    size = math.prod(int(dimension) for dimension in variable.shape)
    try:
        return size * np.dtype(str(variable.dtype)).itemsize
    except TypeError:
        return size * 4  # bfloat16 and other dtypes numpy does not know: as float32


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ------------------------------------------------------------------ devices
def gpu_names(backend: str) -> list[str]:
    """The GPUs the backend sees, by name."""
    if backend == "tensorflow":
        import tensorflow as tf

        devices = tf.config.list_physical_devices("GPU")
        return [tf.config.experimental.get_device_details(d).get("device_name", d.name) for d in devices]
    if backend == "jax":
        import jax

        return [device.device_kind for device in jax.devices() if device.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    return []


def device_line(backend: str, gpus: list[str]) -> str:
    """'2 GPUs: NVIDIA H100, NVIDIA H100 (tensorflow)' or 'CPU (jax)'."""
    if not gpus:
        return f"CPU ({backend})"
    return f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''}: {', '.join(gpus)} ({backend})"


def check_distribution(backend: str, gpus: list[str], configured: str) -> None:
    """MirroredStrategy needs TensorFlow; several GPUs without it train on one (said on stderr)."""
    if configured == "mirrored" and backend != "tensorflow":
        raise RuntimeError(
            "The config asks for MirroredStrategy, which needs the TensorFlow backend; "
            f"KERAS_BACKEND is {backend}."
        )
    if len(gpus) > 1 and configured != "mirrored":
        note = f"note: {len(gpus)} GPUs are visible; the distribution 'mirrored' would use them all."
        print(note, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- train.py
def load_training_module(run: RunFolder) -> ModuleType:
    """Import the run's train.py (its `from model import build_model` finds the run's model.py)."""
    sys.path.insert(0, str(run.path))
    specification = importlib.util.spec_from_file_location("train", run.training_file)
    if specification is None or specification.loader is None:
        raise ImportError(f"Cannot import {run.training_file}.")
    module = importlib.util.module_from_spec(specification)
    sys.modules["train"] = module
    specification.loader.exec_module(module)
    return module


class HistoryKeeper:
    """Keeps history.csv whole across a resume: train.py's CSVLogger starts the file anew, so the
    earlier rows wait aside and are put back in front when the session ends."""

    def __init__(self, run: RunFolder) -> None:
        self.history = run.path / HISTORY_FILE
        self.earlier = run.path / f"{HISTORY_FILE}.before-resume"

    def set_aside(self) -> None:
        if not self.history.exists():
            return
        if self.earlier.exists():  # a killed resumed session left both
            self._append(self.earlier, self.history)
            self.history.unlink()
        else:
            os.replace(self.history, self.earlier)

    def put_back(self) -> None:
        if not self.earlier.exists():
            return
        if self.history.exists():
            self._append(self.earlier, self.history)
        os.replace(self.earlier, self.history)

    @staticmethod
    def _append(target: Path, source: Path) -> None:
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        with open(target, "a", encoding="utf-8", newline="") as file:
            file.writelines(lines[1:])  # the header is already there


def load_run_data(run: RunFolder, config: TrainingConfig, model: keras.Model) -> TrainingData:
    """The data the run's train.py would prepare, loaded by designer.data (relative paths from
    the working folder, the run folder, as the script reads them)."""
    graph = json.loads((run.path / GRAPH_FILE).read_text(encoding="utf-8"))
    settings = DataSettings.of_config(config.to_dict())
    return prepare_data(settings, DataLayout.of_project_data(graph), KerasData(model))


def train(run: RunFolder, arguments: argparse.Namespace, events: EventWriter, stop: StopRequest) -> int:
    """Train with train.py's declared steps and the worker's callback; emit the final event."""
    config = run.config()
    epochs = arguments.epochs or config.epochs
    resume_epoch = run.completed_epochs() if arguments.resume else 0
    if arguments.resume and not resume_epoch:
        raise FileNotFoundError(f"{run.last_checkpoint}: no checkpoint to resume from.")
    backend = keras.backend.backend()
    gpus = gpu_names(backend)
    check_distribution(backend, gpus, config.distribution)
    callback = RunCallback(
        run,
        events,
        stop,
        batch_size=config.batch_size,
        samples=run.metadata().get("samples"),
        resume_epoch=resume_epoch,
        batch_interval=arguments.batch_interval,
        device=device_line(backend, gpus),
        recorder=(recorder := InspectionRecorder(run, config.loss_weights)),
    )
    history = HistoryKeeper(run)
    if resume_epoch:
        history.set_aside()
    try:
        script = run_script(run, resume_epoch)
        model = script.make_model()
        data = load_run_data(run, config, model)
        recorder.keep(data)
        script.fit(model, data, epochs, run.path, callbacks=[callback], initial_epoch=resume_epoch)
        script.evaluate(model, data)
        script.save_model(model, run.path)
    finally:
        history.put_back()
    final = callback.final_event(epochs)
    events.emit(final)
    return 0


def run_script(run: RunFolder, resume_epoch: int) -> TrainingScript:
    """The run's own train.py through its declared steps. A run folder written by a designer
    from before the steps were declared cannot be resumed; the message says what can be done."""
    try:
        return training_script(load_training_module(run), run.training_file)
    except ScriptInterfaceError as error:
        if not resume_epoch:
            raise
        raise ScriptInterfaceError(
            f"{run.path.name} was written by an earlier version of the designer: its train.py "
            f"does not declare the steps a resume calls ({', '.join(STEPS)}), so it cannot be "
            "resumed. Start a new run instead; this run's curves and checkpoints stay as they are."
        ) from error


# --------------------------------------------------------------------- main
def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m designer.training.worker", description=__doc__.splitlines()[0]
    )
    parser.add_argument("run_dir", type=Path, help="the run folder (RunFolder.create wrote it)")
    parser.add_argument("--events-fd", type=int, default=None, help="an inherited descriptor for the events")
    parser.add_argument("--events-file", type=Path, default=None, help="another file to append the events to")
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints/last.keras")
    parser.add_argument("--epochs", type=int, default=None, help="total epochs (default: the config's)")
    parser.add_argument(
        "--batch-interval", type=float, default=DEFAULT_BATCH_INTERVAL, help="seconds between batch events"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    die_with_parent()  # the run is interrupted, and resumable, when the designer dies
    run = RunFolder(arguments.run_dir.resolve())
    run.record_worker(os.getpid())
    events_file = arguments.events_file.resolve() if arguments.events_file else None
    events = EventWriter.open(run, arguments.events_fd, events_file)
    stop = StopRequest(run)
    stop.install()
    print(f"designer training worker, pid {os.getpid()}: {run.path}", file=sys.stderr, flush=True)
    os.chdir(run.path)
    try:
        return train(run, arguments, events, stop)
    except Exception as error:
        traceback.print_exc()
        message = f"{type(error).__name__}: {error}"
        events.emit({"type": "error", "message": message, "traceback": traceback.format_exc()})
        return 1
    finally:
        events.close()


if __name__ == "__main__":
    sys.exit(main())
