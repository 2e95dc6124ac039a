"""Every data source kind loaded into arrays, the way the generated train.py loads it.

`load_source` is the script's `load_data()` (training=True), `load_validation_data()` and
`load_test_data()` (training=False); `split` is its `split()`; `prepare_data` is its
`prepare_data(model)`: what its `fit()` and `evaluate()` take. They give the same arrays
(tests/data holds them to it). Relative paths are read from `base_dir` (the script reads them
from its working folder).

Arrays are numpy arrays, or dicts of them keyed by input / output name when the model has
several. An image folder gives tf.data datasets instead, which its `KerasSide` makes.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from designer.data.sources import (
    COLOR_MODES,
    DEFAULT_IMAGE_SIZE,
    KERAS_DATASETS,
    SEQUENCE_LENGTH,
    SKLEARN_DATASETS,
    UNKNOWN_DIMENSION,
    DataLayout,
    DataSettings,
    DataSourceError,
    ModelInput,
    check_single_arrays,
    checked_kind,
    checked_reshape,
    kind_of,
    name_mapping,
    required,
)

Arrays = Any  # np.ndarray, or dict[str, np.ndarray] for several inputs or outputs
Pair = tuple[Arrays, Arrays]  # (x, y)


class KerasSide(Protocol):
    """What of Keras some sources need; the engine and the training worker pass one
    (designer.engine.keras_data), so that this package imports no Keras."""

    def keras_dataset(self, name: str, num_words: int | None) -> tuple[Pair, Pair]:
        """keras.datasets.<name>.load_data(), with num_words for the sequence data sets."""
        ...

    def pad_sequences(self, sequences: Any, maxlen: int) -> np.ndarray:
        """keras.utils.pad_sequences(sequences, maxlen=maxlen)."""
        ...

    def image_dataset(
        self,
        path: str,
        *,
        image_size: tuple[int, int],
        color_mode: str,
        batch_size: int,
        shuffle: bool,
        seed: int,
        validation_split: float | None,
    ) -> Any:
        """keras.utils.image_dataset_from_directory; both subsets with a validation split."""
        ...

    def model_output_shapes(self, sample: Arrays) -> list[tuple[int, ...]]:
        """The shapes of the model's outputs (flattened) called on `sample`, one sample's batch."""
        ...


class TrainingData(NamedTuple):
    """What the script's fit() and evaluate() take: the training data, the validation data
    (None without) and the test data (None unless the source has a test part); each (x, y),
    or a dataset for an image folder."""

    train: Any
    validation: Any
    test: Any


# --------------------------------------------------------------------- the data of a config
def prepare_data(
    settings: DataSettings,
    layout: DataLayout,
    keras: KerasSide | None = None,
    base_dir: Path | None = None,
) -> TrainingData:
    """The script's prepare_data(model): the training source split as configured, the
    validation source, the test part of a keras.datasets source."""
    split_fraction = settings.validation_split
    load = _Loader(layout, settings, keras, base_dir)
    training = load.source(settings.data, training=True)
    if kind_of(settings.data) == "image_folder":
        train, validation = training if split_fraction is not None else (training, None)
    elif split_fraction is not None:
        x, y = training
        train, validation = split(x, y, split_fraction, settings.seed)
    else:
        train, validation = training, None
    if settings.validation_source is not None:
        validation = load.source(settings.validation_source, training=False)
    test = load.source(settings.data, training=False) if kind_of(settings.data) == "keras_dataset" else None
    return TrainingData(train, validation, test)


def load_source(
    source: Mapping[str, Any],
    layout: DataLayout,
    *,
    training: bool,
    settings: DataSettings | None = None,
    keras: KerasSide | None = None,
    base_dir: Path | None = None,
) -> Any:
    """(x, y) of one source, as the script's load_data() (training) or its load_validation_data()
    and load_test_data() give them; an image folder's dataset (two, training and validation,
    when the settings hold out a split)."""
    loader = _Loader(layout, settings or DataSettings(source), keras, base_dir)
    return loader.source(source, training=training)


def split(x: Arrays, y: Arrays, fraction: float, seed: int) -> tuple[Pair, Pair]:
    """Shuffle with the seed, then hold out `fraction` of the samples for validation."""
    count = len(next(iter(x.values())) if isinstance(x, dict) else x)
    order = np.random.default_rng(seed).permutation(count)
    cut = count - max(1, round(count * fraction))
    train, held_out = order[:cut], order[cut:]
    return (take(x, train), take(y, train)), (take(x, held_out), take(y, held_out))


def take(data: Arrays, index: Any) -> Arrays:
    """The samples `index` of an array, or of every array of a dict."""
    if isinstance(data, dict):
        return {name: values[index] for name, values in data.items()}
    return data[index]


# --------------------------------------------------------------------------- the sources
class _Loader:
    """Loads the sources of one design and config; one method per source kind."""

    def __init__(
        self, layout: DataLayout, settings: DataSettings, keras: KerasSide | None, base_dir: Path | None
    ) -> None:
        self.layout = layout
        self.settings = settings
        self.keras = keras
        self.base_dir = base_dir

    def source(self, source: Mapping[str, Any], *, training: bool) -> Any:
        kind = checked_kind(source)
        if kind == "image_folder":
            if source.get("reshape"):
                raise DataSourceError(
                    '"reshape" does not apply to an image_folder source: set "image_size" instead.'
                )
            return self._image_folder(source, training)
        loaders: dict[str, Callable[[Mapping[str, Any], bool], Pair]] = {
            "sklearn": self._sklearn,
            "synthetic": self._synthetic,
            "npz": self._npz,
            "npy": self._npy,
            "csv": self._csv,
            "keras_dataset": self._keras_dataset,
        }
        x, y = loaders[kind](source, training)
        return self._reshaped(source, x), y

    def _sklearn(self, source: Mapping[str, Any], training: bool) -> Pair:
        check_single_arrays(source, self.layout)
        name = source.get("name")
        if name not in SKLEARN_DATASETS:
            raise DataSourceError(
                f"Unknown scikit-learn data set {name!r}; expected {', '.join(SKLEARN_DATASETS)}."
            )
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")()
        if name == "digits" and source.get("image"):
            x = (bunch.images / 16.0).reshape(-1, 8, 8, 1).astype("float32")
        elif name == "digits":
            x = (bunch.data / 16.0).astype("float32")
        else:  # standardized features: each column to mean 0, standard deviation 1
            x = ((bunch.data - bunch.data.mean(axis=0)) / bunch.data.std(axis=0)).astype("float32")
        if source.get("targets") == "inputs":  # an autoencoder learns to give back its input
            return x, x
        y = np.asarray(bunch.target)
        return x, y.astype("float32") if name == "diabetes" else y

    def _synthetic(self, source: Mapping[str, Any], training: bool) -> Pair:
        task = source.get("task", "classification")
        if task not in ("classification", "regression"):
            raise DataSourceError(
                f"A synthetic source's task is 'classification' or 'regression', got {task!r}."
            )
        samples = int(source.get("samples", 256))
        classes = int(source.get("classes", 10))
        rng = np.random.default_rng(int(source.get("seed", 0)) + (0 if training else 1))
        x = self._inputs(
            {model_input.name: _random_input(rng, model_input, samples) for model_input in self.layout.inputs}
        )
        if task == "classification":
            values = {name: rng.integers(0, classes, size=samples) for name in self.layout.outputs}
        else:  # targets shaped like the model's outputs, from a call on one sample
            shapes = self._keras(source).model_output_shapes(take(x, slice(0, 1)))
            values = {
                name: rng.standard_normal((samples, *tuple(shapes[index])[1:])).astype("float32")
                for index, name in enumerate(self.layout.outputs)
            }
        return x, self._targets(values)

    def _npz(self, source: Mapping[str, Any], training: bool) -> Pair:
        path = self._path(required(source, "path"))
        inputs = name_mapping(source, "inputs", self.layout.input_names, "x")
        targets = name_mapping(source, "targets", self.layout.outputs, "y")
        with np.load(path) as arrays:
            x = self._inputs({name: arrays[key] for name, key in inputs.items()})
            y = self._targets({name: arrays[key] for name, key in targets.items()})
        return x, y

    def _npy(self, source: Mapping[str, Any], training: bool) -> Pair:
        inputs = name_mapping(source, "inputs", self.layout.input_names, None)
        targets = name_mapping(source, "targets", self.layout.outputs, None)
        x = self._inputs({name: np.load(self._path(path)) for name, path in inputs.items()})
        y = self._targets({name: np.load(self._path(path)) for name, path in targets.items()})
        return x, y

    def _csv(self, source: Mapping[str, Any], training: bool) -> Pair:
        path = self._path(required(source, "path"))
        features = required(source, "features")
        if len(self.layout.inputs) != 1:
            raise DataSourceError(
                f"A csv source feeds one input, but the model has {len(self.layout.inputs)}: use npz or npy."
            )
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise DataSourceError(f'A csv source\'s "features" is a list of column names, got {features!r}.')
        targets = name_mapping(source, "targets", self.layout.outputs, None)
        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        x = np.array([[float(row[name]) for name in features] for row in rows], dtype="float32")
        return x, self._targets({name: column_values(rows, column) for name, column in targets.items()})

    def _image_folder(self, source: Mapping[str, Any], training: bool) -> Any:
        check_single_arrays(source, self.layout)
        path = self._path(required(source, "path"))
        color_mode = source.get("color_mode", "rgb")
        if color_mode not in COLOR_MODES:
            raise DataSourceError(
                f"An image folder's color_mode is 'rgb', 'rgba' or 'grayscale', got {color_mode!r}."
            )
        size = source.get("image_size") or DEFAULT_IMAGE_SIZE
        return self._keras(source).image_dataset(
            path,
            image_size=(int(size[0]), int(size[1])),
            color_mode=str(color_mode),
            batch_size=self.settings.batch_size,
            shuffle=self.settings.shuffle,
            seed=self.settings.seed,
            validation_split=self.settings.validation_split if training else None,
        )

    def _keras_dataset(self, source: Mapping[str, Any], training: bool) -> Pair:
        check_single_arrays(source, self.layout)
        name = source.get("name")
        if name not in KERAS_DATASETS:
            raise DataSourceError(
                f"Unknown keras.datasets data set {name!r}; expected {', '.join(KERAS_DATASETS)}."
            )
        kind = KERAS_DATASETS[name]
        num_words = int(source.get("num_words", 10000)) if kind == "sequences" else None
        keras = self._keras(source)
        train, test = keras.keras_dataset(name, num_words)
        x, y = train if training else test
        if kind == "images":
            return x.astype("float32") / 255.0, y  # pixels to [0, 1]
        if kind == "sequences":
            shape = self.layout.inputs[0].shape or (None,)
            length = shape[0] if shape[0] is not None else SEQUENCE_LENGTH
            return keras.pad_sequences(x, maxlen=int(length)), y
        return x.astype("float32"), y

    # -- helpers
    def _reshaped(self, source: Mapping[str, Any], x: Arrays) -> Arrays:
        for name, dims in checked_reshape(source, self.layout).items():
            if len(self.layout.inputs) == 1:
                x = x.reshape((-1, *dims))
            else:
                x[name] = x[name].reshape((-1, *dims))
        return x

    def _inputs(self, values: Mapping[str, Any]) -> Arrays:
        return _structure(values, self.layout.input_names)

    def _targets(self, values: Mapping[str, Any]) -> Arrays:
        return _structure(values, self.layout.outputs)

    def _path(self, path: Any) -> str:
        return str(Path(self.base_dir, str(path)) if self.base_dir is not None else Path(str(path)))

    def _keras(self, source: Mapping[str, Any]) -> KerasSide:
        if self.keras is None:
            raise DataSourceError(f"Loading a {source.get('kind')} source needs Keras (a KerasSide).")
        return self.keras


def _structure(values: Mapping[str, Any], names: Sequence[str]) -> Arrays:
    """One value as it is, several as a dict keyed by name."""
    if len(names) == 1:
        return values[names[0]]
    return {name: values[name] for name in names}


def _random_input(rng: np.random.Generator, model_input: ModelInput, samples: int) -> np.ndarray:
    size = (samples, *(UNKNOWN_DIMENSION if dim is None else dim for dim in model_input.shape))
    dtype = model_input.dtype
    if "int" in dtype:
        return rng.integers(0, 10, size=size).astype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, size=size).astype(bool)
    return rng.standard_normal(size).astype(dtype)


def column_values(rows: Sequence[Mapping[str, str]], column: str) -> np.ndarray:
    """A target column: numbers if every value is one, else class indices (sorted labels)."""
    values = [row[column] for row in rows]
    try:
        return np.array([float(value) for value in values], dtype="float32")
    except ValueError:
        labels = sorted(set(values))
        return np.array([labels.index(value) for value in values])
