"""The data source kinds of the training config, and what of a design and its config loading reads.

A data source is plain JSON (its keys: designer.codegen.training_script's docstring). The
constants here are the one list of kinds and data sets that the training config, the code
generator, the data check and the loader share.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from designer.graph.model import INPUT_TYPE, ModelGraph

SKLEARN_DATASETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")
KERAS_DATASETS = {  # name -> images are uint8 pixels to scale; sequences to pad
    "mnist": "images", "fashion_mnist": "images", "cifar10": "images", "cifar100": "images",
    "imdb": "sequences", "reuters": "sequences", "boston_housing": "table", "california_housing": "table",
}  # fmt: skip
UNKNOWN_DIMENSION = 8  # what synthetic data uses for a None dimension
SEQUENCE_LENGTH = 200  # what keras.datasets sequences are padded to without an input length
DEFAULT_IMAGE_SIZE = (256, 256)  # image_dataset_from_directory's
COLOR_MODES = ("rgb", "grayscale", "rgba")
DATA_SOURCE_KINDS = ("sklearn", "synthetic", "npz", "npy", "csv", "image_folder", "keras_dataset")

# The training config's defaults for what loading reads (DEFAULT_TRAINING_CONFIG uses them).
DEFAULT_BATCH_SIZE = 32
DEFAULT_SEED = 42
DEFAULT_SHUFFLE = True
DEFAULT_VALIDATION: dict[str, Any] = {"split": 0.2}


class DataSourceError(ValueError):
    """A data source or validation setting that cannot be loaded as written; the message says
    what is wrong and what was expected."""


@dataclass(frozen=True)
class ModelInput:
    """One model input as data loading sees it: its name, its shape without the batch axis
    (None where unknown) and its dtype."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"


@dataclass(frozen=True)
class DataLayout:
    """The model's inputs (in the graph's order) and output names (in mark order): one array
    each, or a dict of arrays keyed by name when there are several."""

    inputs: tuple[ModelInput, ...]
    outputs: tuple[str, ...]

    @classmethod
    def of_graph(cls, graph: ModelGraph) -> DataLayout:
        inputs = [_model_input(node.name, node.params) for node in graph.input_nodes()]
        return cls(tuple(inputs), tuple(mark.name for mark in graph.outputs))

    @classmethod
    def of_project_data(cls, data: Mapping[str, Any]) -> DataLayout:
        """From a project file's data (a run's graph.json), without building a graph."""
        nodes = [node for node in data.get("nodes", []) if node.get("type") == INPUT_TYPE]
        inputs = [_model_input(str(node["name"]), node.get("params") or {}) for node in nodes]
        return cls(tuple(inputs), tuple(str(mark["name"]) for mark in data.get("outputs", [])))

    @property
    def input_names(self) -> list[str]:
        return [model_input.name for model_input in self.inputs]


def _model_input(name: str, params: Mapping[str, Any]) -> ModelInput:
    shape = tuple(None if dim is None else int(dim) for dim in params.get("shape") or [])
    return ModelInput(name, shape, str(params.get("dtype") or "float32"))


@dataclass(frozen=True)
class DataSettings:
    """What of a training config loading reads, its defaults filled in."""

    data: Mapping[str, Any]
    validation: Mapping[str, Any] | None = field(default_factory=lambda: dict(DEFAULT_VALIDATION))
    batch_size: int = DEFAULT_BATCH_SIZE
    shuffle: bool = DEFAULT_SHUFFLE
    seed: int = DEFAULT_SEED

    @classmethod
    def of_config(cls, config: Mapping[str, Any]) -> DataSettings:
        """From a training config (its JSON); a missing key takes the config's default."""
        if not isinstance(config.get("data"), Mapping):
            raise DataSourceError("The training config has no data source.")
        return cls(
            data=copy.deepcopy(dict(config["data"])),
            validation=copy.deepcopy(config.get("validation", DEFAULT_VALIDATION)),
            batch_size=int(config.get("batch_size", DEFAULT_BATCH_SIZE)),
            shuffle=bool(config.get("shuffle", DEFAULT_SHUFFLE)),
            seed=int(config.get("seed", DEFAULT_SEED)),
        )

    @property
    def validation_split(self) -> float | None:
        """The fraction held out of the training data; None without validation or with its own data."""
        validation = self.validation
        if validation is None:
            return None
        if not isinstance(validation, Mapping) or set(validation) not in ({"split"}, {"data"}):
            raise DataSourceError(
                '"validation" must be null, {"split": 0.2} or {"data": <data source>}; '
                f"got {validation!r}."
            )
        if "data" in validation:
            return None
        split = validation["split"]
        if not isinstance(split, int | float) or isinstance(split, bool) or not 0 < split < 1:
            raise DataSourceError(f"The validation split must be a fraction between 0 and 1, got {split!r}.")
        return float(split)

    @property
    def validation_source(self) -> Mapping[str, Any] | None:
        """The validation data's own source, when it has one."""
        if isinstance(self.validation, Mapping) and "data" in self.validation:
            return self.validation["data"]
        return None


# ------------------------------------------------------------------ checks
def kind_of(source: Any) -> str | None:
    return source.get("kind") if isinstance(source, Mapping) else None


def needs_model(source: Any) -> bool:
    """Synthetic regression targets take their shapes from a call of the model."""
    return kind_of(source) == "synthetic" and source.get("task") == "regression"


def checked_kind(source: Any) -> str:
    kind = kind_of(source)
    if kind not in DATA_SOURCE_KINDS:
        raise DataSourceError(f"Unknown data source kind {kind!r}; expected {', '.join(DATA_SOURCE_KINDS)}.")
    return str(kind)


def required(source: Mapping[str, Any], key: str) -> Any:
    if key not in source:
        raise DataSourceError(f'A {source.get("kind")} data source needs "{key}".')
    return source[key]


def check_single_arrays(source: Mapping[str, Any], layout: DataLayout) -> None:
    """Sources of one input array and one target array refuse a model with several."""
    if len(layout.inputs) != 1 or len(layout.outputs) != 1:
        raise DataSourceError(
            f"A {source['kind']} data source gives one input array and one target array, but the "
            f"model has {len(layout.inputs)} input(s) and {len(layout.outputs)} output(s). Use an npz or "
            "npy source with one array per input and output."
        )


def name_mapping(
    source: Mapping[str, Any], key: str, names: Sequence[str], default: str | None
) -> dict[str, str]:
    """source[key] ({model name: array key or path}), checked to cover every name."""
    mapping = source.get(key)
    if mapping is None and default is not None and len(names) == 1:
        return {names[0]: default}
    if not isinstance(mapping, Mapping):
        raise DataSourceError(
            f'A {source.get("kind")} source needs "{key}": {{name: ...}} for {", ".join(names)}.'
        )
    missing = [name for name in names if name not in mapping]
    extra = [name for name in mapping if name not in names]
    if missing or extra:
        raise DataSourceError(
            f'The {source.get("kind")} source\'s "{key}" must name exactly {", ".join(names)}; '
            f"missing: {', '.join(missing) or 'none'}, unknown: {', '.join(extra) or 'none'}."
        )
    return {name: str(mapping[name]) for name in names}


def checked_reshape(source: Mapping[str, Any], layout: DataLayout) -> dict[str, list[int]]:
    """The source's "reshape" ({input name: dims without the batch axis}), checked."""
    reshape = source.get("reshape") or {}
    for name in reshape:
        if name not in layout.input_names:
            raise DataSourceError(
                f'"reshape" names {name!r}, which is not a model input ({", ".join(layout.input_names)}).'
            )
    return {name: [int(dim) for dim in dims] for name, dims in reshape.items()}
