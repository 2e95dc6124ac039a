"""The training configuration: `TrainingConfig`, its checks and its defaults for a design.

`TrainingConfig.to_dict()` / `from_dict()` read and write exactly the JSON schema
of `designer.codegen.training_script` (the "training" section of a project file,
what `generate_training_script` takes). `problems()` checks every field and
names it in each message ("optimizer.learning_rate: ..."), so the UI can point
at the widget and the CLI can print it; `for_graph()` guesses a loss and
metrics per output from the output layer's activation and units.
"""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from designer.codegen.training_script import DEFAULT_TRAINING_CONFIG, DISTRIBUTIONS, OPTIMIZERS, SCHEDULES
from designer.data.sources import DATA_SOURCE_KINDS, KERAS_DATASETS, SKLEARN_DATASETS
from designer.graph import project
from designer.graph.model import ModelGraph, ModelOutput

Shape = tuple[int | None, ...]

# Loss and metric names Keras 3 accepts as strings (tests check them against keras).
LOSSES = (
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
    "binary_focal_crossentropy", "categorical_focal_crossentropy", "mse", "mae", "mape", "msle",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "hinge", "squared_hinge", "categorical_hinge",
    "kl_divergence", "kld", "poisson", "cosine_similarity", "dice", "tversky", "circle", "ctc",
)  # fmt: skip
METRICS = (
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "precision", "recall",
    "f1_score", "r2_score", "mse", "mae", "mape", "msle", "root_mean_squared_error",
    "mean_squared_error", "mean_absolute_error", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge", "squared_hinge",
    "categorical_hinge", "cosine_similarity",
)  # fmt: skip
SCHEDULES_WITHOUT_DECAY_STEPS = ("piecewise_constant_decay",)


WEIGHTS_SUFFIX = ".weights.h5"


def imported_weights(extra: Mapping[str, Any]) -> str | None:
    """The imported model's weights file a project refers to (relative to the project), if any."""
    weights = extra.get(project.IMPORTED_WEIGHTS_KEY)
    return weights if isinstance(weights, str) and weights.endswith(WEIGHTS_SUFFIX) else None


class ConfigError(ValueError):
    """A training config that cannot be used; `problems` names each bad field."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class ConfigProblem:
    """One bad field: `field` is its dotted path ("callbacks.early_stopping.patience")."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _default(key: str) -> Any:
    return copy.deepcopy(DEFAULT_TRAINING_CONFIG[key])


@dataclass
class OptimizerConfig:
    """The optimizer by its lower-case name, its learning rate (or schedule) and other arguments."""

    name: str = "adam"
    learning_rate: float = 0.001
    schedule: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)  # momentum, weight_decay, nesterov...

    def to_dict(self) -> dict[str, Any]:
        schedule = copy.deepcopy(self.schedule)
        return {"name": self.name, "learning_rate": self.learning_rate, "schedule": schedule, **self.options}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OptimizerConfig:
        data = {**_default("optimizer"), **copy.deepcopy(dict(data))}
        name, rate, schedule = data.pop("name"), data.pop("learning_rate"), data.pop("schedule")
        return cls(name=name, learning_rate=rate, schedule=schedule, options=data)


@dataclass
class CallbacksConfig:
    """The callbacks of the training script; None turns EarlyStopping / ReduceLROnPlateau off."""

    early_stopping: dict[str, Any] | None = None
    reduce_lr_on_plateau: dict[str, Any] | None = None
    checkpoint: dict[str, bool] = field(default_factory=lambda: _default("callbacks")["checkpoint"])
    tensorboard: bool = False
    csv_logger: bool = True

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "early_stopping": self.early_stopping,
                "reduce_lr_on_plateau": self.reduce_lr_on_plateau,
                "checkpoint": self.checkpoint,
                "tensorboard": self.tensorboard,
                "csv_logger": self.csv_logger,
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallbacksConfig:
        merged = {**_default("callbacks"), **copy.deepcopy(dict(data))}
        _refuse_unknown(merged, _default("callbacks"), "callbacks")
        return cls(**merged)


@dataclass
class TrainingConfig:
    """Everything a run needs besides the design; the defaults are codegen's defaults."""

    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    losses: dict[str, str] = field(default_factory=dict)
    loss_weights: dict[str, float] | None = None
    metrics: dict[str, list[str]] = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 32
    validation: dict[str, Any] | None = field(default_factory=lambda: _default("validation"))
    shuffle: bool = True
    seed: int = 42
    callbacks: CallbacksConfig = field(default_factory=CallbacksConfig)
    mixed_precision: bool = False
    jit_compile: bool = False
    distribution: str = "none"
    initial_weights: str | None = None  # a .weights.h5 file of this design, loaded before training
    data: dict[str, Any] = field(default_factory=lambda: _default("data"))

    # ------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """The codegen schema, keys in the order of DEFAULT_TRAINING_CONFIG."""
        values = {
            "optimizer": self.optimizer.to_dict(),
            "callbacks": self.callbacks.to_dict(),
            **{key: copy.deepcopy(getattr(self, key)) for key in _PLAIN_KEYS},
        }
        return {key: values[key] for key in DEFAULT_TRAINING_CONFIG}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TrainingConfig:
        """Read the codegen schema; missing keys take their defaults, unknown keys are refused."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigError([ConfigProblem("training", f"expected an object, got {_json_type(data)}")])
        _refuse_unknown(data, DEFAULT_TRAINING_CONFIG, "training")
        for key in ("optimizer", "callbacks"):
            if key in data and not isinstance(data[key], Mapping):
                raise ConfigError([ConfigProblem(key, f"expected an object, got {_json_type(data[key])}")])
        plain = {key: copy.deepcopy(data[key]) for key in _PLAIN_KEYS if key in data}
        return cls(
            optimizer=OptimizerConfig.from_dict(data.get("optimizer", {})),
            callbacks=CallbacksConfig.from_dict(data.get("callbacks", {})),
            **plain,
        )

    def copy(self, **changes: Any) -> TrainingConfig:
        """A deep copy with `changes` applied."""
        return replace(TrainingConfig.from_dict(self.to_dict()), **changes)

    # ----------------------------------------------------------- checks
    def problems(self, graph: ModelGraph | None = None) -> list[ConfigProblem]:
        """Every bad field; with a graph, the per-output fields are checked against its outputs."""
        outputs = [mark.name for mark in graph.outputs] if graph is not None else None
        return [
            *_optimizer_problems(self.optimizer, self.callbacks),
            *_loss_problems(self.losses, outputs),
            *_metric_problems(self.metrics, outputs),
            *_loss_weight_problems(self.loss_weights, outputs),
            *_number_problems(self),
            *_validation_problems(self.validation),
            *_callback_problems(self.callbacks, has_validation=self.validation is not None),
            *_switch_problems(self),
            *data_source_problems(self.data, "data"),
        ]

    def check(self, graph: ModelGraph | None = None) -> None:
        """Raise ConfigError listing every problem, if there is one."""
        problems = self.problems(graph)
        if problems:
            raise ConfigError(problems)

    # --------------------------------------------------------- defaults
    @classmethod
    def for_project(
        cls, loaded: project.Project, output_shapes: Mapping[str, Shape] | None = None
    ) -> TrainingConfig:
        """The project's stored config; without one, `for_graph`'s defaults, starting from the
        imported weights when the project has them."""
        if loaded.training is not None:
            return cls.from_dict(loaded.training)
        return cls.for_graph(loaded.graph, output_shapes).copy(initial_weights=imported_weights(loaded.extra))

    @classmethod
    def for_graph(cls, graph: ModelGraph, output_shapes: Mapping[str, Shape] | None = None) -> TrainingConfig:
        """Codegen's defaults with a loss and metrics per output and synthetic data to match."""
        guesses = {
            mark.name: guess_loss(graph, mark, (output_shapes or {}).get(mark.name)) for mark in graph.outputs
        }
        classes = [units for loss, _, units in guesses.values() if loss != "mse" and units]
        data = _default("data")
        if classes:
            data["classes"] = max(2, min(classes))
        else:
            data["task"] = "regression"
            data.pop("classes")
        return cls(
            losses={name: loss for name, (loss, _, _) in guesses.items()},
            metrics={name: metrics for name, (_, metrics, _) in guesses.items()},
            data=data,
        )


_PLAIN_KEYS = tuple(key for key in DEFAULT_TRAINING_CONFIG if key not in ("optimizer", "callbacks"))


def training_section_problems(loaded: project.Project) -> list[ConfigProblem]:
    """What `designer train` refuses in a project's training section, in its words; [] when the
    project has none (a run then starts from `TrainingConfig.for_graph`'s defaults)."""
    if loaded.training is None:
        return []
    try:
        config = TrainingConfig.from_dict(loaded.training)
    except ConfigError as error:
        return list(error.problems)
    return config.problems(loaded.graph)


# ------------------------------------------------------------------ defaults
def guess_loss(
    graph: ModelGraph, mark: ModelOutput, shape: Shape | None = None
) -> tuple[str, list[str], int | None]:
    """(loss, metrics, classes) for one output, from its layer's last activation and units.

    softmax with more than one unit -> sparse categorical cross-entropy and accuracy;
    sigmoid -> binary cross-entropy and accuracy; anything else -> mse and mae.
    """
    node = graph.layer_owner(mark.node)
    activation = "softmax" if node.type == "Softmax" else node.params.get("activation")
    if node.type == "Activation":
        activation = node.params.get("activation")
    units = node.params.get("units")
    if not isinstance(units, int) or isinstance(units, bool):
        units = shape[-1] if shape and isinstance(shape[-1], int) else None
    if activation == "softmax" and (units is None or units > 1):
        return "sparse_categorical_crossentropy", ["accuracy"], units
    if activation == "sigmoid":
        return "binary_crossentropy", ["accuracy"], 2
    return "mse", ["mae"], None


# -------------------------------------------------------------------- checks
def _refuse_unknown(data: Mapping[str, Any], known: Mapping[str, Any], where: str) -> None:
    unknown = [key for key in data if key not in known]
    if unknown:
        raise ConfigError(
            [
                ConfigProblem(f"{where}.{key}", f"unknown key; expected one of {', '.join(known)}")
                for key in unknown
            ]
        )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }
    return names.get(type(value), type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unknown_name(value: Any, known: tuple[str, ...] | Mapping[str, Any], what: str) -> str:
    """'unknown loss 'msee'; did you mean 'mse'?' or the list of names when nothing is close."""
    close = difflib.get_close_matches(str(value), list(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(known)}"
    return f"unknown {what} {value!r}; {hint}"


def _optimizer_problems(optimizer: OptimizerConfig, callbacks: CallbacksConfig) -> list[ConfigProblem]:
    problems = []
    if str(optimizer.name).lower() not in OPTIMIZERS:
        problems.append(
            ConfigProblem("optimizer.name", _unknown_name(optimizer.name, OPTIMIZERS, "optimizer"))
        )
    if not _is_number(optimizer.learning_rate) or optimizer.learning_rate <= 0:
        message = f"expected a positive number, got {optimizer.learning_rate!r}"
        problems.append(ConfigProblem("optimizer.learning_rate", message))
    problems += _schedule_problems(optimizer.schedule, callbacks)
    for key, value in optimizer.options.items():
        if not (_is_number(value) or isinstance(value, bool | str) or value is None):
            problems.append(
                ConfigProblem(f"optimizer.{key}", f"expected a number or a boolean, got {value!r}")
            )
        elif key in ("momentum", "weight_decay") and (not _is_number(value) or value < 0):
            problems.append(
                ConfigProblem(f"optimizer.{key}", f"expected a number of at least 0, got {value!r}")
            )
    return problems


def _schedule_problems(schedule: Any, callbacks: CallbacksConfig) -> list[ConfigProblem]:
    if schedule is None:
        return []
    if not isinstance(schedule, Mapping):
        return [
            ConfigProblem("optimizer.schedule", f"expected null or an object, got {_json_type(schedule)}")
        ]
    name = schedule.get("name")
    if name not in SCHEDULES:
        return [ConfigProblem("optimizer.schedule.name", _unknown_name(name, SCHEDULES, "schedule"))]
    problems = []
    steps = schedule.get("decay_steps", schedule.get("first_decay_steps"))  # CosineDecayRestarts' name
    if name not in SCHEDULES_WITHOUT_DECAY_STEPS and (not _is_whole(steps) or steps < 1):
        message = f"{name} needs a whole number of at least 1, got {steps!r}"
        problems.append(ConfigProblem("optimizer.schedule.decay_steps", message))
    if callbacks.reduce_lr_on_plateau not in (None, False):
        message = "ReduceLROnPlateau cannot change a scheduled learning rate: turn one of them off"
        problems.append(ConfigProblem("optimizer.schedule", message))
    return problems


def _per_output_problems(
    values: Any, outputs: list[str] | None, key: str, required: bool
) -> tuple[list[ConfigProblem], dict[str, Any]]:
    """Problems of the keys of a per-output mapping, and the mapping to check value by value."""
    if not isinstance(values, Mapping):
        return [ConfigProblem(key, f"expected an object keyed by output name, got {_json_type(values)}")], {}
    problems = []
    if outputs is not None:
        problems += [
            ConfigProblem(
                f"{key}.{name}", f"the model has no output {name!r} (its outputs: {', '.join(outputs)})"
            )
            for name in values
            if name not in outputs
        ]
        if required:
            problems += [
                ConfigProblem(key, f"the model's output {name!r} has no loss")
                for name in outputs
                if not values.get(name)
            ]
    return problems, dict(values)


def _loss_problems(losses: Any, outputs: list[str] | None) -> list[ConfigProblem]:
    problems, values = _per_output_problems(losses, outputs, "losses", required=True)
    for name, loss in values.items():
        if loss not in LOSSES:
            problems.append(ConfigProblem(f"losses.{name}", _unknown_name(loss, LOSSES, "loss")))
    return problems


def _metric_problems(metrics: Any, outputs: list[str] | None) -> list[ConfigProblem]:
    problems, values = _per_output_problems(metrics, outputs, "metrics", required=False)
    for name, names in values.items():
        if not isinstance(names, list):
            problems.append(
                ConfigProblem(f"metrics.{name}", f"expected a list of names, got {_json_type(names)}")
            )
            continue
        problems += [
            ConfigProblem(f"metrics.{name}", _unknown_name(metric, METRICS, "metric"))
            for metric in names
            if metric not in METRICS
        ]
    return problems


def _loss_weight_problems(weights: Any, outputs: list[str] | None) -> list[ConfigProblem]:
    if weights is None:
        return []
    problems, values = _per_output_problems(weights, outputs, "loss_weights", required=False)
    problems += [
        ConfigProblem(f"loss_weights.{name}", f"expected a number of at least 0, got {weight!r}")
        for name, weight in values.items()
        if not _is_number(weight) or weight < 0
    ]
    return problems


def _number_problems(config: TrainingConfig) -> list[ConfigProblem]:
    problems = []
    for key, least in (("epochs", 1), ("batch_size", 1), ("seed", 0)):
        value = getattr(config, key)
        if not _is_whole(value) or value < least:
            problems.append(ConfigProblem(key, f"expected a whole number of at least {least}, got {value!r}"))
    return problems


def _switch_problems(config: TrainingConfig) -> list[ConfigProblem]:
    problems = [
        ConfigProblem(key, f"expected true or false, got {getattr(config, key)!r}")
        for key in ("shuffle", "mixed_precision", "jit_compile")
        if not isinstance(getattr(config, key), bool)
    ]
    if config.distribution not in DISTRIBUTIONS:
        message = f"expected {' or '.join(map(repr, DISTRIBUTIONS))}, got {config.distribution!r}"
        problems.append(ConfigProblem("distribution", message))
    weights = config.initial_weights
    if weights is not None and (not isinstance(weights, str) or not weights.endswith(WEIGHTS_SUFFIX)):
        problems.append(
            ConfigProblem("initial_weights", f"expected null or a {WEIGHTS_SUFFIX} file, got {weights!r}")
        )
    return problems


def _validation_problems(validation: Any) -> list[ConfigProblem]:
    if validation is None:
        return []
    if not isinstance(validation, Mapping) or set(validation) not in ({"split"}, {"data"}):
        message = f'expected null, {{"split": 0.2}} or {{"data": <data source>}}, got {validation!r}'
        return [ConfigProblem("validation", message)]
    if "data" in validation:
        return data_source_problems(validation["data"], "validation.data")
    split = validation["split"]
    if not _is_number(split) or not 0 < split < 1:
        return [ConfigProblem("validation.split", f"expected a fraction between 0 and 1, got {split!r}")]
    return []


def _callback_problems(callbacks: CallbacksConfig, has_validation: bool) -> list[ConfigProblem]:
    problems = []
    for key in ("early_stopping", "reduce_lr_on_plateau"):
        problems += _watcher_problems(getattr(callbacks, key), f"callbacks.{key}", has_validation)
    checkpoint = callbacks.checkpoint
    if not isinstance(checkpoint, Mapping) or not set(checkpoint) <= {"every_epoch", "best"}:
        message = f'expected {{"every_epoch": bool, "best": bool}}, got {checkpoint!r}'
        problems.append(ConfigProblem("callbacks.checkpoint", message))
    for key in ("tensorboard", "csv_logger"):
        if not isinstance(getattr(callbacks, key), bool):
            problems.append(
                ConfigProblem(f"callbacks.{key}", f"expected true or false, got {getattr(callbacks, key)!r}")
            )
    return problems


def _watcher_problems(options: Any, key: str, has_validation: bool) -> list[ConfigProblem]:
    """EarlyStopping / ReduceLROnPlateau: null, true (Keras defaults) or an object of arguments."""
    if options is None or isinstance(options, bool):
        return []
    if not isinstance(options, Mapping):
        return [ConfigProblem(key, f"expected null or an object, got {_json_type(options)}")]
    problems = []
    monitor = options.get("monitor", "val_loss" if has_validation else "loss")
    if str(monitor).startswith("val_") and not has_validation:
        problems.append(
            ConfigProblem(f"{key}.monitor", f"watches {monitor!r}, but there is no validation data")
        )
    patience = options.get("patience", 0)
    if not _is_whole(patience) or patience < 0:
        problems.append(
            ConfigProblem(f"{key}.patience", f"expected a whole number of at least 0, got {patience!r}")
        )
    factor = options.get("factor", 0.1)
    if not _is_number(factor) or not 0 < factor < 1:
        problems.append(ConfigProblem(f"{key}.factor", f"expected a number between 0 and 1, got {factor!r}"))
    return problems


# -------------------------------------------------------------- data sources
_REQUIRED_KEYS = {
    "sklearn": ("name",),
    "synthetic": (),
    "npz": ("path",),
    "npy": ("inputs", "targets"),
    "csv": ("path", "features", "targets"),
    "image_folder": ("path",),
    "keras_dataset": ("name",),
}


def data_source_problems(source: Any, key: str = "data") -> list[ConfigProblem]:
    """The problems of a data source's own fields (the files themselves are data.py's business)."""
    if not isinstance(source, Mapping):
        return [ConfigProblem(key, f"expected a data source object, got {_json_type(source)}")]
    kind = source.get("kind")
    if kind not in DATA_SOURCE_KINDS:
        return [ConfigProblem(f"{key}.kind", _unknown_name(kind, DATA_SOURCE_KINDS, "data source kind"))]
    problems = [
        ConfigProblem(key, f"{kind} sources need {required!r}")
        for required in _REQUIRED_KEYS[kind]
        if source.get(required) in (None, "", [], {})
    ]
    name = source.get("name")
    if kind == "sklearn" and name is not None and name not in SKLEARN_DATASETS:
        problems.append(
            ConfigProblem(f"{key}.name", _unknown_name(name, SKLEARN_DATASETS, "scikit-learn data set"))
        )
    if kind == "sklearn" and source.get("targets", "labels") not in ("labels", "inputs"):
        problems.append(
            ConfigProblem(f"{key}.targets", f"expected 'labels' or 'inputs', got {source['targets']!r}")
        )
    if kind == "keras_dataset" and name is not None and name not in KERAS_DATASETS:
        problems.append(
            ConfigProblem(f"{key}.name", _unknown_name(name, KERAS_DATASETS, "keras.datasets data set"))
        )
    if kind == "synthetic" and source.get("task", "classification") not in ("classification", "regression"):
        problems.append(
            ConfigProblem(f"{key}.task", f"expected 'classification' or 'regression', got {source['task']!r}")
        )
    return problems + _reshape_problems(source.get("reshape"), f"{key}.reshape")


def _reshape_problems(reshape: Any, key: str) -> list[ConfigProblem]:
    if reshape is None:
        return []
    if not isinstance(reshape, Mapping):
        return [ConfigProblem(key, f"expected an object {{input name: [dims]}}, got {_json_type(reshape)}")]
    return [
        ConfigProblem(f"{key}.{name}", f"expected a list of positive whole numbers, got {dims!r}")
        for name, dims in reshape.items()
        if not isinstance(dims, list) or not all(_is_whole(d) and d > 0 for d in dims)
    ]
