"""The training script of a design: `train.py`, next to the exported `model.py`.

The script is plain Keras: it imports `build_model` from the model module,
loads the data into arrays (dicts keyed by input / output name when a model
has several), seeds, compiles, fits with callbacks, evaluates and saves
`model.keras`. It runs from the command line (`python train.py --epochs 5
--output-dir runs/1`) with nothing of the designer installed. `main(argv=None,
callbacks=())` runs its declared steps, `make_model()`, `prepare_data(model)`,
`fit(model, data, epochs, output_dir, callbacks, initial_epoch)`, `evaluate(model, data)`
and `save_model(model, output_dir)`, which the training worker calls itself
(designer.training.script): the code that trains is the code you export. Its inline
loaders give the arrays designer.data gives (tests/codegen/test_training_loaders.py).

The training config is plain JSON; `DEFAULT_TRAINING_CONFIG` shows every key::

    {
      "optimizer": {"name": "adam" | "adamw" | "sgd" | "rmsprop" | "adagrad" | "adadelta"
                            | "adamax" | "nadam" | "ftrl" | "lion" | "lamb" | "adafactor",
                    "learning_rate": 0.001,
                    "schedule": null | {"name": "cosine_decay" | "exponential_decay"
                                        | "polynomial_decay" | "inverse_time_decay"
                                        | "cosine_decay_restarts" | "piecewise_constant_decay",
                                        "decay_steps": 1000, ...other constructor arguments},
                    ...other optimizer arguments ("momentum", "weight_decay", "nesterov"...)},
      "losses": {output_name: "sparse_categorical_crossentropy" | any keras loss name},
      "loss_weights": null | {output_name: 1.0},
      "metrics": {output_name: ["accuracy", ...]},
      "epochs": 10, "batch_size": 32,
      "validation": null | {"split": 0.2} | {"data": <data source>},
      "shuffle": true, "seed": 42,
      "callbacks": {"early_stopping": null | {"monitor": "val_loss", "patience": 5,
                                              "restore_best_weights": true, ...},
                    "reduce_lr_on_plateau": null | {"monitor": "val_loss", "factor": 0.5,
                                                    "patience": 2, ...},
                    "checkpoint": {"every_epoch": false, "best": true},
                    "tensorboard": false, "csv_logger": true},
      "mixed_precision": false, "jit_compile": false,
      "distribution": "none" | "mirrored",
      "initial_weights": null | "file.weights.h5",  loaded into the built model before training
                         (Keras' weights file of this design, e.g. an imported model's weights)
      "data": <data source>
    }

Data sources (each may carry "reshape": {input_name: [dims without the batch axis]}):

    {"kind": "sklearn", "name": "digits" | "iris" | "wine" | "breast_cancer" | "diabetes",
     "image": false}            digits with "image": true are (8, 8, 1) in [0, 1]
    {"kind": "synthetic", "task": "classification" | "regression", "samples": 256,
     "classes": 10, "seed": 0}  input shapes from the model's Input nodes (None -> 8)
    {"kind": "npz", "path": "data.npz", "inputs": {input_name: key}, "targets": {output_name: key}}
    {"kind": "npy", "inputs": {input_name: path}, "targets": {output_name: path}}
    {"kind": "csv", "path": "data.csv", "features": [column, ...], "targets": {output_name: column}}
    {"kind": "image_folder", "path": "images/", "image_size": [h, w], "color_mode": "rgb" | "grayscale"}
    {"kind": "keras_dataset", "name": "mnist" | "fashion_mnist" | "cifar10" | "cifar100" | "imdb"
     | "reuters" | "boston_housing" | "california_housing", "num_words": 10000}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from designer.codegen.errors import CodegenError
from designer.codegen.formatting import finish
from designer.codegen.functional import docstring_name
from designer.codegen.imports import Imports
from designer.codegen.rendering import literal
from designer.codegen.training_data import TAKE, DataLoaderWriter
from designer.data.sources import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SEED,
    DEFAULT_SHUFFLE,
    DEFAULT_VALIDATION,
    kind_of,
    needs_model,
)
from designer.graph.model import ModelGraph

STYLES = ("functional", "subclassed", "sequential")

DEFAULT_TRAINING_CONFIG: dict[str, Any] = {
    "optimizer": {"name": "adam", "learning_rate": 0.001, "schedule": None},
    "losses": {},
    "loss_weights": None,
    "metrics": {},
    "epochs": 10,
    "batch_size": DEFAULT_BATCH_SIZE,
    "validation": dict(DEFAULT_VALIDATION),
    "shuffle": DEFAULT_SHUFFLE,
    "seed": DEFAULT_SEED,
    "callbacks": {
        "early_stopping": None,
        "reduce_lr_on_plateau": None,
        "checkpoint": {"every_epoch": False, "best": True},
        "tensorboard": False,
        "csv_logger": True,
    },
    "mixed_precision": False,
    "jit_compile": False,
    "distribution": "none",
    "initial_weights": None,
    "data": {"kind": "synthetic", "task": "classification", "samples": 256, "classes": 10, "seed": 0},
}

OPTIMIZERS = {
    "adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad",
    "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "ftrl": "Ftrl", "lion": "Lion",
    "lamb": "Lamb", "adafactor": "Adafactor",
}  # fmt: skip
SCHEDULES = {
    "cosine_decay": "CosineDecay",
    "cosine_decay_restarts": "CosineDecayRestarts",
    "exponential_decay": "ExponentialDecay",
    "inverse_time_decay": "InverseTimeDecay",
    "piecewise_constant_decay": "PiecewiseConstantDecay",
    "polynomial_decay": "PolynomialDecay",
}
DISTRIBUTIONS = ("none", "mirrored")


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` over `DEFAULT_TRAINING_CONFIG` (optimizer and callbacks merged key by key)."""
    unknown = sorted(set(config) - set(DEFAULT_TRAINING_CONFIG))
    if unknown:
        raise CodegenError(
            f"Unknown training config key(s): {', '.join(unknown)}; "
            f"expected {', '.join(DEFAULT_TRAINING_CONFIG)}."
        )
    resolved = copy.deepcopy(DEFAULT_TRAINING_CONFIG)
    for key, value in copy.deepcopy(dict(config)).items():
        if key in ("optimizer", "callbacks") and isinstance(value, Mapping):
            resolved[key].update(value)
        else:
            resolved[key] = value
    return resolved


def generate_training_script(
    graph: ModelGraph,
    config: Mapping[str, Any],
    *,
    model_module: str = "model",
    style: str = "functional",
    format_code: bool = True,
) -> str:
    """Python source of train.py for `graph` trained as `config` says."""
    if style not in STYLES:
        raise CodegenError(f"Unknown code style {style!r}; expected one of {', '.join(STYLES)}.")
    if not model_module.isidentifier():
        raise CodegenError(
            f"The model module {model_module!r} must be a Python identifier (its file name without .py)."
        )
    writer = _ScriptWriter(graph, resolve_config(config), model_module, style)
    source = writer.source()
    return finish(source, local_modules=writer.imports.local_modules) if format_code else source


class _ScriptWriter:
    """Writes one training script; each method returns the lines of one part."""

    def __init__(self, graph: ModelGraph, config: dict[str, Any], model_module: str, style: str) -> None:
        self.graph = graph
        self.config = config
        self.model_module = model_module
        self.style = style
        self.imports = Imports()
        self.inputs = graph.input_nodes()
        self.outputs = [mark.name for mark in graph.outputs]
        if not self.inputs or not self.outputs:
            raise CodegenError(
                f"The model '{graph.name}' needs at least one input and one output to be trained."
            )
        self.helpers: dict[str, list[str]] = {}  # module-level helper functions, by name
        self.data = config["data"]
        self.validation = config["validation"]
        self.dataset_mode = kind_of(self.data) == "image_folder"
        split = self.validation_split()
        self.loaders = DataLoaderWriter(self.inputs, self.outputs, self.imports, self.helpers, split)

    # -------------------------------------------------------------- module
    def source(self) -> str:
        self.imports.add("import argparse")
        self.imports.add("import pathlib")
        self.imports.keras()
        self.imports.add_local(self.model_module, "build_model")
        # First: they tell which helpers and loaders the script needs.
        steps = [self.make_model(), self.prepare_data(), self.fit(), self.evaluate(), self.save_model()]
        parts = [
            self.constants(),
            self.loaders.loader("load_data", self.data, training=True),
            *self.validation_loaders(),
            *(self.helpers[name] for name in sorted(self.helpers)),
            self.optimizer(),
            self.compile(),
            self.callbacks(),
            self.strategy(),
            *steps,
            self.main(),
        ]
        body: list[str] = []
        for part in parts:
            if part:
                body += ["", "", *part] if part[0].startswith("def ") else ["", *part]
        environment = self.environment()
        lines = [*self.docstring(), "", *environment, *self.imports.lines(), *body, "", ""]
        lines += ['if __name__ == "__main__":', "    main()", ""]
        return "\n".join(lines)

    def docstring(self) -> list[str]:
        name = docstring_name(self.graph.name)
        return [
            f'"""Train the "{name}" model ({self.style} style), generated by Keras Designer.',
            "",
            "Usage: python train.py [--epochs N] [--output-dir DIR]",
            "",
            "Writes DIR/model.keras, and as configured DIR/checkpoints/, DIR/logs/ (TensorBoard)",
            "and DIR/history.csv.",
            "",
            "main() runs make_model(), prepare_data(model), fit(model, data, epochs, output_dir,",
            "callbacks, initial_epoch), evaluate(model, data) and save_model(model, output_dir): the",
            "steps that Keras Designer's training worker calls itself (with its own callbacks, on data",
            "it loads the same way).",
            '"""',
        ]

    def environment(self) -> list[str]:
        """MirroredStrategy needs the TensorFlow backend, chosen before Keras is imported."""
        if self.config["distribution"] != "mirrored":
            return []
        self.imports.add("import tensorflow as tf")
        return ["import os", "", 'os.environ["KERAS_BACKEND"] = "tensorflow"', ""]

    def constants(self) -> list[str]:
        config = self.config
        for key in ("epochs", "batch_size", "seed"):
            if not isinstance(config[key], int) or isinstance(config[key], bool) or config[key] < 0:
                raise CodegenError(
                    f"The training config's {key!r} must be a whole number, got {config[key]!r}."
                )
        lines = [
            f"EPOCHS = {config['epochs']}",
            f"BATCH_SIZE = {config['batch_size']}",
            f"SEED = {config['seed']}",
            f"SHUFFLE = {bool(config['shuffle'])}",
        ]
        split = self.validation_split()
        if split is not None:
            lines.append(f"VALIDATION_SPLIT = {literal(split)}")
        weights = config["initial_weights"]
        if weights is not None:
            if not isinstance(weights, str) or not weights.endswith(".weights.h5"):
                raise CodegenError(
                    f"The training config's 'initial_weights' must name a .weights.h5 file, got {weights!r}."
                )
            lines.append(f"INITIAL_WEIGHTS = {literal(weights)}")
        return lines

    # ---------------------------------------------------------------- data
    def validation_split(self) -> float | None:
        validation = self.validation
        if validation is None:
            return None
        if not isinstance(validation, Mapping) or not (
            {"split"} == set(validation) or {"data"} == set(validation)
        ):
            raise CodegenError(
                '"validation" must be null, {"split": 0.2} or {"data": <data source>}; '
                f"got {validation!r}."
            )
        if "data" in validation:
            return None
        split = validation["split"]
        if not isinstance(split, (int, float)) or isinstance(split, bool) or not 0 < split < 1:
            raise CodegenError(f"The validation split must be a fraction between 0 and 1, got {split!r}.")
        return float(split)

    def validation_loaders(self) -> list[list[str]]:
        if isinstance(self.validation, Mapping) and "data" in self.validation:
            return [self.loaders.loader("load_validation_data", self.validation["data"], training=False)]
        return []

    # ------------------------------------------------------------- compile
    def optimizer(self) -> list[str]:
        config = dict(self.config["optimizer"] or {})
        name = str(config.pop("name", "adam")).lower()
        if name not in OPTIMIZERS:
            raise CodegenError(f"Unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}.")
        schedule = config.pop("schedule", None)
        learning_rate = config.pop("learning_rate", 0.001)
        lines = ["def make_optimizer():", f'    """{OPTIMIZERS[name]} as configured."""']
        if schedule:
            schedule = dict(schedule)
            schedule_name = schedule.pop("name", None)
            if schedule_name not in SCHEDULES:
                raise CodegenError(
                    f"Unknown learning-rate schedule {schedule_name!r}; expected {', '.join(SCHEDULES)}."
                )
            if (self.config["callbacks"] or {}).get("reduce_lr_on_plateau"):
                raise CodegenError(
                    "ReduceLROnPlateau cannot change a scheduled learning rate: use one or the other."
                )
            if schedule_name == "cosine_decay_restarts" and "decay_steps" in schedule:
                schedule["first_decay_steps"] = schedule.pop("decay_steps")  # Keras' name for it there
            if schedule_name != "piecewise_constant_decay":
                schedule = {"initial_learning_rate": learning_rate, **schedule}
            arguments = ", ".join(f"{key}={literal(value)}" for key, value in schedule.items())
            lines.append(
                f"    learning_rate = keras.optimizers.schedules.{SCHEDULES[schedule_name]}({arguments})"
            )
            rate = "learning_rate"
        else:
            rate = literal(float(learning_rate))
        arguments = ", ".join(
            [f"learning_rate={rate}", *(f"{key}={literal(value)}" for key, value in config.items())]
        )
        lines.append(f"    return keras.optimizers.{OPTIMIZERS[name]}({arguments})")
        return lines

    def compile(self) -> list[str]:
        losses = self.config["losses"] or {}
        unknown = [name for name in losses if name not in self.outputs]
        missing = [name for name in self.outputs if not losses.get(name)]
        if unknown or missing:
            raise CodegenError(
                f"The training config needs one loss per model output ({', '.join(self.outputs)}); "
                f"missing: {', '.join(missing) or 'none'}, unknown: {', '.join(unknown) or 'none'}."
            )
        arguments = ["optimizer=make_optimizer()", f"loss={self._per_output(losses)}"]
        weights = self.config["loss_weights"]
        if weights:
            self._check_outputs(weights, "loss_weights")
            arguments.append(f"loss_weights={self._per_output({k: float(v) for k, v in weights.items()})}")
        metrics = {name: list(values) for name, values in (self.config["metrics"] or {}).items() if values}
        if metrics:
            self._check_outputs(metrics, "metrics")
            arguments.append(f"metrics={self._per_output(metrics)}")
        arguments.append(f"jit_compile={bool(self.config['jit_compile'])}")
        return [
            "def compile_model(model):",
            "    model.compile(",
            *(f"        {argument}," for argument in arguments),
            "    )",
        ]

    def _per_output(self, values: Mapping[str, Any]) -> str:
        if len(self.outputs) == 1:
            return literal(values[self.outputs[0]])
        return literal({name: values[name] for name in self.outputs if name in values})

    def _check_outputs(self, values: Mapping[str, Any], key: str) -> None:
        unknown = [name for name in values if name not in self.outputs]
        if unknown:
            raise CodegenError(
                f'"{key}" names {", ".join(unknown)}, not outputs of the model ({", ".join(self.outputs)}).'
            )

    # ----------------------------------------------------------- callbacks
    def callbacks(self) -> list[str]:
        config = self.config["callbacks"] or {}
        has_validation = self.validation is not None
        monitor = "val_loss" if has_validation else "loss"
        lines = [
            "def make_callbacks(output_dir):",
            f'    """Callbacks writing into output_dir; they watch "{monitor}"."""',
            "    callbacks = []",
        ]
        for key, class_name in (
            ("early_stopping", "EarlyStopping"),
            ("reduce_lr_on_plateau", "ReduceLROnPlateau"),
        ):
            options = config.get(key)
            if options is not None and options is not False:  # {} or true: Keras defaults
                options = {"monitor": monitor, **(options if isinstance(options, Mapping) else {})}
                if str(options["monitor"]).startswith("val_") and not has_validation:
                    raise CodegenError(
                        f"{class_name} watches {options['monitor']!r}, but there is no validation data."
                    )
                arguments = ", ".join(f"{name}={literal(value)}" for name, value in options.items())
                lines.append(f"    callbacks.append(keras.callbacks.{class_name}({arguments}))")
        checkpoint = config.get("checkpoint") or {}
        if checkpoint.get("every_epoch") or checkpoint.get("best"):
            lines += [
                '    checkpoints = output_dir / "checkpoints"',
                "    checkpoints.mkdir(parents=True, exist_ok=True)",
            ]
        if checkpoint.get("every_epoch"):
            lines.append(
                '    every_epoch = str(checkpoints / "epoch_{epoch:03d}.keras")\n'
                "    callbacks.append(keras.callbacks.ModelCheckpoint(every_epoch))"
            )
        if checkpoint.get("best"):
            lines.append(
                '    callbacks.append(keras.callbacks.ModelCheckpoint(str(checkpoints / "best.keras"), '
                f'monitor="{monitor}", save_best_only=True))'
            )
        if config.get("tensorboard"):
            lines.append(
                '    callbacks.append(keras.callbacks.TensorBoard(log_dir=str(output_dir / "logs")))'
            )
        if config.get("csv_logger"):
            lines.append('    callbacks.append(keras.callbacks.CSVLogger(str(output_dir / "history.csv")))')
        return [*lines, "    return callbacks"]

    # ---------------------------------------------------------------- main
    def strategy(self) -> list[str]:
        distribution = self.config["distribution"]
        if distribution not in DISTRIBUTIONS:
            raise CodegenError(
                f"Unknown distribution {distribution!r}; expected {' or '.join(DISTRIBUTIONS)}."
            )
        if distribution != "mirrored":
            return []
        return [
            "def make_strategy():",
            '    """Data parallel over every GPU of this machine, else over every logical CPU."""',
            '    devices = tf.config.list_logical_devices("GPU")',
            '    devices = devices or tf.config.list_logical_devices("CPU")',
            "    return tf.distribute.MirroredStrategy([device.name for device in devices])",
        ]

    def main(self) -> list[str]:
        name = docstring_name(self.graph.name)
        return [
            "def main(argv=None, callbacks=()):",
            '    """Train, evaluate and save the model; `callbacks` are added to the configured ones."""',
            f'    parser = argparse.ArgumentParser(description="Train the {name} model.")',
            '    parser.add_argument("--epochs", type=int, default=EPOCHS)',
            '    parser.add_argument("--output-dir", type=pathlib.Path, default=pathlib.Path("."))',
            "    args = parser.parse_args(argv)",
            "    args.output_dir.mkdir(parents=True, exist_ok=True)",
            "    model = make_model()",
            "    data = prepare_data(model)",
            "    history = fit(model, data, args.epochs, args.output_dir, callbacks)",
            "    evaluate(model, data)",
            "    save_model(model, args.output_dir)",
            "    return history",
        ]

    def make_model(self) -> list[str]:
        lines = [
            "def make_model():",
            '    """The model: seeded, built, compiled."""',
            "    keras.utils.set_random_seed(SEED)",
        ]
        if self.config["mixed_precision"]:
            lines.append('    keras.config.set_dtype_policy("mixed_float16")')
        indent = "    "
        if self.mirrored:
            lines += [
                "    strategy = make_strategy()",
                '    print(f"Replicas in sync: {strategy.num_replicas_in_sync}")',
                "    with strategy.scope():",
            ]
            indent = "        "
        lines.append(f"{indent}model = build_model()")
        if self.config["initial_weights"] is not None:
            lines.append(f"{indent}model.load_weights(INITIAL_WEIGHTS)")
        lines.append(f"{indent}compile_model(model)")
        return [*lines, "    return model"]

    def save_model(self) -> list[str]:
        return [
            "def save_model(model, output_dir):",
            '    """Write output_dir/model.keras."""',
            '    model.save(str(output_dir / "model.keras"))',
        ]

    @property
    def mirrored(self) -> bool:
        return self.config["distribution"] == "mirrored"

    @property
    def validation_is_dataset(self) -> bool:
        if isinstance(self.validation, Mapping) and "data" in self.validation:
            return kind_of(self.validation["data"]) == "image_folder"
        return self.dataset_mode

    @property
    def train_target(self) -> str:
        """How fit() and evaluate() name the training part of the data."""
        return "train_data" if self.dataset_mode else "(x, y)"

    def prepare_data(self) -> list[str]:
        split = self.validation_split()
        model_argument = "model" if needs_model(self.data) else ""
        lines = [
            "def prepare_data(model):",
            '    """The data fit() and evaluate() take: (training, validation, test), each (x, y)',
            '    or a dataset, and None where there is none."""',
        ]
        validation = "None"
        if self.dataset_mode:
            target = "train_data, validation_data" if split is not None else "train_data"
            lines.append(f"    {target} = load_data({model_argument})")
            validation = "validation_data" if split is not None else validation
        else:
            lines.append(f"    x, y = load_data({model_argument})")
            if split is not None:
                self.helpers["split"] = _SPLIT
                self.imports.add("import numpy as np")
                self._use_take()
                lines.append("    (x, y), validation_data = split(x, y, VALIDATION_SPLIT)")
                validation = "validation_data"
        if self.validation is not None and split is None:
            argument = "model" if needs_model(self.validation.get("data")) else ""
            lines.append(f"    validation_data = load_validation_data({argument})")
            validation = "validation_data"
        test = "None"
        if kind_of(self.data) == "keras_dataset":
            self.helpers["load_test_data"] = self.loaders.loader("load_test_data", self.data, training=False)
            test = "load_test_data()"
        return [*lines, f"    return {self.train_target}, {validation}, {test}"]

    def fit(self) -> list[str]:
        arguments = ["train_data"] if self.dataset_mode else ["x", "y", "batch_size=BATCH_SIZE"]
        arguments.append("epochs=epochs")
        lines = [
            "def fit(",
            '    model, data, epochs=EPOCHS, output_dir=pathlib.Path("."), callbacks=(), initial_epoch=0',
            "):",
            '    """Fit on the training part of `data`, validating on its validation part; `callbacks`',
            '    are added to the configured ones, `initial_epoch` continues a run."""',
            f"    {self.train_target}, {'_' if self.validation is None else 'validation_data'}, _ = data",
        ]
        if self.mirrored and self.validation is not None:
            lines += self.replica_lines()
            lines.append(f"    validation_data = {self._even('validation_data', self.validation_is_dataset)}")
        if self.validation is not None:
            arguments.append("validation_data=validation_data")
            if self.mirrored and not self.validation_is_dataset:
                arguments.append("validation_batch_size=evaluation_batch_size")
        if not self.dataset_mode:
            arguments.append("shuffle=SHUFFLE")
        arguments.append("callbacks=[*make_callbacks(output_dir), *callbacks]")
        arguments.append("initial_epoch=initial_epoch")
        return [*lines, "    return model.fit(", *(f"        {argument}," for argument in arguments), "    )"]

    def replica_lines(self) -> list[str]:
        """Keras 3.15 under MirroredStrategy fails to evaluate a batch that does not split
        evenly across the replicas: evaluate in batches of a multiple of the replica count,
        on a multiple of it of samples."""
        return [
            "    # Evaluating under MirroredStrategy needs batches that split evenly across replicas.",
            "    replicas = model.distribute_strategy.num_replicas_in_sync",
            "    evaluation_batch_size = max(replicas, BATCH_SIZE - BATCH_SIZE % replicas)",
        ]

    def evaluate(self) -> list[str]:
        """Evaluate on the test part when the data source has one, else on the validation
        data, else on the training data."""
        if kind_of(self.data) == "keras_dataset":
            data, dataset, parts = "test_data", False, "_, _, test_data"
        elif self.validation is None:
            data, dataset, parts = self.train_target, self.dataset_mode, f"{self.train_target}, _, _"
        else:
            data, dataset, parts = "validation_data", self.validation_is_dataset, "_, validation_data, _"
        lines = [
            "def evaluate(model, data):",
            '    """Evaluate on the test part of `data`, else on its validation part, else on its',
            '    training part; print and return the results."""',
            f"    {parts} = data",
        ]
        if self.mirrored:
            lines += self.replica_lines()
        evaluated = self._even(data, dataset) if self.mirrored else data
        if not dataset:
            batch_size = "evaluation_batch_size" if self.mirrored else "BATCH_SIZE"
            evaluated = "x, y" if evaluated == "(x, y)" else f"*{evaluated}"
            evaluated += f", batch_size={batch_size}"
        return [
            *lines,
            f"    results = model.evaluate({evaluated}, return_dict=True)",
            '    print("Evaluation:", results)',
            "    return results",
        ]

    def _even(self, data: str, dataset: bool) -> str:
        """`data` evened out across the replicas."""
        if dataset:
            self.helpers["even_batches"] = _EVEN_BATCHES
            return f"even_batches({data}, evaluation_batch_size)"
        self.helpers["even_samples"] = _EVEN_SAMPLES
        self._use_take()
        return f"even_samples({data}, replicas)"

    def _use_take(self) -> None:
        self.helpers["take"] = TAKE


_SPLIT = [
    "def split(x, y, fraction):",
    '    """Shuffle with the seed, then hold out `fraction` of the samples for validation."""',
    "    count = len(next(iter(x.values())) if isinstance(x, dict) else x)",
    "    order = np.random.default_rng(SEED).permutation(count)",
    "    cut = count - max(1, round(count * fraction))",
    "    train, held_out = order[:cut], order[cut:]",
    "    return (take(x, train), take(y, train)), (take(x, held_out), take(y, held_out))",
]
_EVEN_SAMPLES = [
    "def even_samples(data, replicas):",
    '    """(x, y) without its last samples (fewer than `replicas`), so every batch splits evenly."""',
    "    x, y = data",
    "    count = len(next(iter(x.values())) if isinstance(x, dict) else x)",
    "    kept = slice(0, count - count % replicas)",
    "    return take(x, kept), take(y, kept)",
]
_EVEN_BATCHES = [
    "def even_batches(dataset, batch_size):",
    '    """The dataset in batches of `batch_size`, the last partial batch dropped."""',
    "    return dataset.unbatch().batch(batch_size, drop_remainder=True)",
]
