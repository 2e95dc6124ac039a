"""Data sources: what a source gives, and whether that fits the model, before any run starts.

`describe(source)` reads a data source of the training config (the kinds of
`designer.codegen.training_script`) with numpy, scikit-learn and csv, never
Keras, and says the shape of every array it gives, exactly as the generated
`load_data()` will give it (digits scaled to images, columns to features,
"reshape" applied). Large arrays are not loaded: .npy/.npz headers give their
shapes, only targets are read (to see their labels), and float arrays are
streamed a chunk at a time to count their NaN and infinite values ("features
has 3 NaN values (first at [12, 5])"). Image folders are listed, not decoded;
keras.datasets are looked up in the Keras cache.

`check_against_model(...)` compares a description with the model's inputs and
outputs and names every misfit ("input 'image' expects (None, 8, 8, 1); the
data gives (1797, 64): reshape to (8, 8, 1)?"), with a `fix` where the remedy
is obvious; `apply_fix(config, fix)` applies one.
"""

from __future__ import annotations

import csv
import json
import math
import os
import socket
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from designer.data.sources import KERAS_DATASETS, SEQUENCE_LENGTH, UNKNOWN_DIMENSION
from designer.graph.model import ModelGraph
from designer.graph.shapes import Shape, format_shape
from designer.training.config import TrainingConfig

UNNAMED = ""  # the key of a source's one array, which feeds the model's only input (or output)
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what image_dataset_from_directory reads
CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
SCAN_CHUNK_VALUES = 1 << 20  # values read at a time when looking for NaN and infinity
CLASSIFICATION_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy")
ONE_HOT_LOSSES = ("categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge")
BINARY_LOSSES = ("binary_crossentropy", "binary_focal_crossentropy")


class DataError(ValueError):
    """A data source that cannot be read, with a message naming the file, key or column."""


@dataclass(frozen=True)
class ArrayInfo:
    """One array of a source: its shape (samples first) and, for targets, what its values look like."""

    shape: Shape
    dtype: str
    integer_valued: bool = False  # every value a whole number: class indices
    minimum: float | None = None
    maximum: float | None = None
    one_hot: bool = False  # every row zeros and a single one
    finite: bool = True  # no NaN or infinity among the values
    non_finite: str = ""  # "features has 3 NaN values (first at [12, 5])"; empty when none or not read

    @property
    def samples(self) -> int | None:
        return self.shape[0] if self.shape else None


@dataclass(frozen=True)
class DataDescription:
    """The arrays a source gives, keyed by model input / output name (UNNAMED for a lone array)."""

    kind: str
    inputs: dict[str, ArrayInfo]
    targets: dict[str, ArrayInfo]  # an output missing here is shaped like the model's (synthetic)
    arrays: dict[str, ArrayInfo] = field(default_factory=dict)  # every array of an .npz file
    columns: tuple[str, ...] = ()  # the columns of a CSV file
    classes: tuple[str, ...] = ()  # class names of an image folder or a text label column
    notes: tuple[str, ...] = ()

    @property
    def samples(self) -> int | None:
        counts = [info.samples for info in [*self.inputs.values(), *self.targets.values()]]
        return next((count for count in counts if count is not None), None)


@dataclass(frozen=True)
class DataProblem:
    """One misfit between data and model. `where` is "input", "output" or "data" (the source
    itself); `name` the input or output concerned; `fix` a change `apply_fix` makes, if obvious."""

    where: str
    name: str
    message: str
    expected: Shape | None = None
    got: Shape | None = None
    fix: dict[str, Any] | None = None

    def __str__(self) -> str:
        return self.message


# ------------------------------------------------------------------ describe
def describe(
    source: Mapping[str, Any],
    graph: ModelGraph | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    online: Callable[[], bool] | None = None,
) -> DataDescription:
    """The arrays `source` gives; relative paths are read from `base_dir` (the working folder).

    `graph` is needed by synthetic sources (their shapes are the model's) and gives
    keras.datasets sequences their length. `online` says whether keras.datasets not
    yet cached can be downloaded (by default: try to reach the download host).
    """
    kind = source.get("kind")
    readers: dict[str, Callable[..., DataDescription]] = {
        "sklearn": _describe_sklearn,
        "synthetic": _describe_synthetic,
        "npz": _describe_npz,
        "npy": _describe_npy,
        "csv": _describe_csv,
        "image_folder": _describe_image_folder,
        "keras_dataset": _describe_keras_dataset,
    }
    if kind not in readers:
        raise DataError(f"Unknown data source kind {kind!r}; expected one of {', '.join(readers)}.")
    context = _Context(Path(base_dir or "."), graph, online or is_online)
    return _reshaped(readers[kind](source, context), source.get("reshape") or {})


@dataclass(frozen=True)
class _Context:
    base_dir: Path
    graph: ModelGraph | None
    online: Callable[[], bool]

    def path(self, value: Any, what: str = "file") -> Path:
        path = self.base_dir / os.path.expanduser(str(value))
        if not path.exists():
            raise DataError(f"{path}: no such {what}.")
        return path


def target_info(values: np.ndarray) -> ArrayInfo:
    """Shape, dtype and the label facts of a target array."""
    shape = tuple(int(d) for d in values.shape)
    if values.dtype.kind not in "biuf" or values.size == 0:
        return ArrayInfo(shape, str(values.dtype))
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    all_finite = bool(finite.size == values.size)
    integer_valued = bool(all_finite and np.all(np.mod(finite, 1) == 0))
    one_hot = bool(
        values.ndim == 2 and values.shape[1] > 1 and integer_valued and np.all(values.sum(axis=1) == 1)
    ) and bool(np.all((values == 0) | (values == 1)))
    minimum = float(finite.min()) if finite.size else None
    maximum = float(finite.max()) if finite.size else None
    return ArrayInfo(shape, str(values.dtype), integer_valued, minimum, maximum, one_hot, all_finite)


def _describe_sklearn(source: Mapping[str, Any], context: _Context) -> DataDescription:
    from sklearn import datasets

    name = source.get("name")
    loader = getattr(datasets, f"load_{name}", None) if isinstance(name, str) else None
    if loader is None:
        raise DataError(f"Unknown scikit-learn data set {name!r}.")
    bunch = loader()
    shape = bunch.data.shape
    if name == "digits" and source.get("image"):
        shape = (shape[0], 8, 8, 1)
    inputs = {UNNAMED: ArrayInfo(tuple(int(d) for d in shape), "float32")}
    if source.get("targets") == "inputs":  # an autoencoder: the targets are the inputs
        return DataDescription("sklearn", inputs, dict(inputs))
    target = np.asarray(bunch.target, dtype="float32" if name == "diabetes" else None)
    return DataDescription("sklearn", inputs, {UNNAMED: target_info(target)})


def _describe_synthetic(source: Mapping[str, Any], context: _Context) -> DataDescription:
    if context.graph is None:
        raise DataError("A synthetic source takes its shapes from the model: describe it with the graph.")
    samples = int(source.get("samples", 256))
    inputs = {
        node.name: ArrayInfo(
            (samples, *(UNKNOWN_DIMENSION if d is None else int(d) for d in node.params.get("shape") or [])),
            str(node.params.get("dtype") or "float32"),
        )
        for node in context.graph.input_nodes()
    }
    targets = {}
    if source.get("task", "classification") == "classification":
        classes = int(source.get("classes", 10))
        label = ArrayInfo((samples,), "int64", True, 0.0, float(classes - 1))
        targets = {mark.name: label for mark in context.graph.outputs}
    return DataDescription("synthetic", inputs, targets)


def _describe_npz(source: Mapping[str, Any], context: _Context) -> DataDescription:
    path = context.path(source.get("path"))
    arrays = npz_headers(path)
    inputs = {
        name: replace(_npz_array(arrays, path, key), non_finite=_npz_non_finite(path, key))
        for name, key in _mapping(source, "inputs", "x").items()
    }
    targets = {}
    with np.load(path, allow_pickle=False) as loaded:
        for name, key in _mapping(source, "targets", "y").items():
            _npz_array(arrays, path, key)
            targets[name] = replace(target_info(loaded[key]), non_finite=_npz_non_finite(path, key))
    return DataDescription("npz", inputs, targets, arrays=arrays)


def _npz_non_finite(path: Path, key: str) -> str:
    """What `non_finite_text` says of one array of an .npz file, read from the archive in chunks."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as stream:
            return non_finite_text(stream, key)
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise DataError(f"{path}: cannot read array {key!r} ({error}).") from None


def _npy_non_finite(path: Path) -> str:
    """What `non_finite_text` says of an .npy file, read in chunks."""
    try:
        with path.open("rb") as stream:
            return non_finite_text(stream, path.name)
    except (ValueError, OSError) as error:
        raise DataError(f"{path}: cannot read the array ({error}).") from None


def npz_headers(path: Path) -> dict[str, ArrayInfo]:
    """Shape and dtype of every array of an .npz file, read from the headers alone."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {
                member.removesuffix(".npy"): _npy_header(archive.open(member))
                for member in archive.namelist()
                if member.endswith(".npy")
            }
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise DataError(f"{path}: not an .npz file ({error}).") from None


def _npy_header(stream: Any) -> ArrayInfo:
    with stream:
        shape, _, dtype = _read_header(stream)
    return ArrayInfo(tuple(int(d) for d in shape), str(dtype))


def _read_header(stream: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, Fortran order, dtype) of an .npy stream, which is left at the array's first value."""
    version = np.lib.format.read_magic(stream)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return reader(stream)


def non_finite_text(stream: Any, name: str) -> str:
    """`features has 3 NaN values (first at [12, 5])` (and its infinite values) for the .npy data
    in `stream`, read a chunk at a time; empty when every value is finite or none can be NaN."""
    shape, fortran, dtype = _read_header(stream)
    if dtype.kind not in "fc" or dtype.hasobject:
        return ""
    count, offset = _NonFiniteCount(shape, "F" if fortran else "C"), 0
    while chunk := stream.read(SCAN_CHUNK_VALUES * dtype.itemsize):
        values = np.frombuffer(chunk, dtype=dtype)
        count.add(values, offset)
        offset += values.size
    return count.text(name)


@dataclass
class _NonFiniteCount:
    """NaN and infinite values seen so far, and the first of each in row-major order (samples
    first, whatever order the file stores them in)."""

    shape: tuple[int, ...]
    order: Literal["C", "F"]  # how the file stores the values
    nan: int = 0
    infinite: int = 0
    first_nan: tuple[int, ...] | None = None
    first_infinite: tuple[int, ...] | None = None

    def add(self, values: np.ndarray, offset: int) -> None:
        nan, infinite = np.flatnonzero(np.isnan(values)), np.flatnonzero(np.isinf(values))
        self.nan += int(nan.size)
        self.infinite += int(infinite.size)
        self.first_nan = self._earliest(self.first_nan, nan + offset)
        self.first_infinite = self._earliest(self.first_infinite, infinite + offset)

    def _earliest(
        self, known: tuple[int, ...] | None, stored: np.ndarray[Any, np.dtype[np.intp]]
    ) -> tuple[int, ...] | None:
        """The earlier of `known` and the positions of the values stored at these flat indices."""
        if not stored.size:
            return known
        if not self.shape:
            return ()
        positions = np.unravel_index(stored, self.shape, order=self.order)
        first = np.unravel_index(int(np.ravel_multi_index(positions, self.shape).min()), self.shape)
        found = tuple(int(axis) for axis in first)
        return found if known is None else min(known, found)

    def text(self, name: str) -> str:
        found = [
            f"{count} {what} value{'s' if count > 1 else ''} (first at [{', '.join(map(str, first))}])"
            for count, what, first in (
                (self.nan, "NaN", self.first_nan),
                (self.infinite, "infinite", self.first_infinite),
            )
            if count and first is not None
        ]
        return f"{name} has {' and '.join(found)}" if found else ""


def _npz_array(arrays: Mapping[str, ArrayInfo], path: Path, key: str) -> ArrayInfo:
    if key not in arrays:
        raise DataError(f"{path} has no array {key!r}; it has {', '.join(arrays) or 'none'}.")
    return arrays[key]


def _mapping(source: Mapping[str, Any], key: str, default: str | None) -> dict[str, str]:
    """{model name: array key, path or column}; a missing mapping is the one array `default`."""
    mapping = source.get(key)
    if mapping is None and default is not None:
        return {UNNAMED: default}
    if not isinstance(mapping, Mapping) or not mapping:
        raise DataError(
            f'A {source.get("kind")} source needs "{key}": {{name: ...}} for each model {key[:-1]}.'
        )
    return {str(name): str(value) for name, value in mapping.items()}


def _describe_npy(source: Mapping[str, Any], context: _Context) -> DataDescription:
    inputs = {}
    for name, value in _mapping(source, "inputs", None).items():
        path = context.path(value)
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        shape = tuple(int(d) for d in array.shape)
        inputs[name] = ArrayInfo(shape, str(array.dtype), non_finite=_npy_non_finite(path))
    targets = {
        name: replace(
            target_info(np.load(context.path(value), allow_pickle=False)),
            non_finite=_npy_non_finite(context.path(value)),
        )
        for name, value in _mapping(source, "targets", None).items()
    }
    return DataDescription("npy", inputs, targets)


def _describe_csv(source: Mapping[str, Any], context: _Context) -> DataDescription:
    path = context.path(source.get("path"))
    columns, rows = read_csv(path)
    if not rows:
        raise DataError(f"{path} has no rows of data{' under its header' if columns else ''}.")
    features = list(source.get("features") or [])
    for column in [*features, *_mapping(source, "targets", None).values()]:
        if column not in columns:
            raise DataError(f"{path} has no column {column!r}; its columns: {', '.join(columns)}.")
    for number, row in enumerate(rows, start=2):
        for column in features:
            _number(row[column], path, number, column)
    inputs = {UNNAMED: ArrayInfo((len(rows), len(features)), "float32")}
    targets = {}
    classes: tuple[str, ...] = ()
    for name, column in _mapping(source, "targets", None).items():
        values, labels = column_values(rows, column)
        targets[name] = target_info(values)
        classes = classes or labels
    return DataDescription("csv", inputs, targets, columns=tuple(columns), classes=classes)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV file."""
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _number(text: str, path: Path, row: int, column: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise DataError(f"{path} row {row}, column {column!r}: {text!r} is not a number.") from None
    if not math.isfinite(value):
        raise DataError(
            f"{path} row {row}, column {column!r}: {text!r} is not a finite number; the losses would be "
            "NaN. Fill in or drop the missing values."
        )
    return value


def column_values(rows: list[dict[str, str]], column: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """A target column as the generated code reads it: numbers, else class indices of sorted labels."""
    values = [row[column] for row in rows]
    try:
        return np.array([float(value) for value in values], dtype="float32"), ()
    except ValueError:
        labels = tuple(sorted(set(values)))
        index = {label: position for position, label in enumerate(labels)}
        return np.array([index[value] for value in values]), labels


def _describe_image_folder(source: Mapping[str, Any], context: _Context) -> DataDescription:
    path = context.path(source.get("path"), "folder")
    classes = sorted(entry.name for entry in path.iterdir() if entry.is_dir())
    counts = [sum(1 for _ in _images(path / name)) for name in classes]
    if not classes or not sum(counts):
        raise DataError(
            f"{path}: no images found. Expected one sub-folder per class holding "
            f"{', '.join(IMAGE_SUFFIXES)} files."
        )
    height, width = source.get("image_size") or [256, 256]
    channels = CHANNELS.get(source.get("color_mode", "rgb"), 3)
    samples = sum(counts)
    inputs = {UNNAMED: ArrayInfo((samples, int(height), int(width), channels), "float32")}
    labels = ArrayInfo((samples,), "int32", True, 0.0, float(len(classes) - 1))
    empty = [name for name, count in zip(classes, counts, strict=True) if not count]
    notes = (f"class folder(s) without images: {', '.join(empty)}",) if empty else ()
    return DataDescription("image_folder", inputs, {UNNAMED: labels}, classes=tuple(classes), notes=notes)


def _images(folder: Path) -> Any:
    for root, _, files in os.walk(folder):
        yield from (Path(root, name) for name in files if name.lower().endswith(IMAGE_SUFFIXES))


# ------------------------------------------------------------ keras.datasets
@dataclass(frozen=True)
class KerasDataset:
    """The train part of a keras.datasets set as generated code loads it, and its cache files."""

    features: Shape  # per sample; None for a padded sequence
    samples: int
    classes: int | None  # None for regression
    files: tuple[str, ...]  # under the Keras cache's datasets/ folder
    host: str
    megabytes: int
    label_shape: Shape = ()


GOOGLE_STORAGE = "storage.googleapis.com"
TORONTO = "www.cs.toronto.edu"
KERAS_DATASET_FACTS = {
    "mnist": KerasDataset((28, 28), 60000, 10, ("mnist.npz",), GOOGLE_STORAGE, 11),
    "fashion_mnist": KerasDataset(
        (28, 28), 60000, 10,
        ("fashion-mnist/train-images-idx3-ubyte.gz", "fashion-mnist/train-labels-idx1-ubyte.gz"),
        GOOGLE_STORAGE, 30,
    ),
    "cifar10": KerasDataset((32, 32, 3), 50000, 10, ("cifar-10-batches-py-target",), TORONTO, 163, (1,)),
    "cifar100": KerasDataset((32, 32, 3), 50000, 100, ("cifar-100-python-target",), TORONTO, 161, (1,)),
    "imdb": KerasDataset((None,), 25000, 2, ("imdb.npz",), GOOGLE_STORAGE, 17),
    "reuters": KerasDataset((None,), 8982, 46, ("reuters.npz",), GOOGLE_STORAGE, 2),
    "boston_housing": KerasDataset((13,), 404, None, ("boston_housing.npz",), GOOGLE_STORAGE, 1),
    "california_housing": KerasDataset((8,), 16512, None, ("california_housing.npz",), GOOGLE_STORAGE, 1),
}  # fmt: skip


def keras_cache_dir() -> Path:
    """Where keras.utils.get_file keeps data sets: $KERAS_HOME/datasets or ~/.keras/datasets."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]) / "datasets"
    home = Path.home()
    base = home if os.access(home, os.W_OK) else Path("/tmp")
    return base / ".keras" / "datasets"


def is_online(host: str = GOOGLE_STORAGE, timeout: float = 2.0) -> bool:
    """Whether `host` answers on port 443 within `timeout` seconds."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _describe_keras_dataset(source: Mapping[str, Any], context: _Context) -> DataDescription:
    name = source.get("name")
    if name not in KERAS_DATASET_FACTS:
        raise DataError(
            f"Unknown keras.datasets data set {name!r}; expected one of {', '.join(KERAS_DATASETS)}."
        )
    facts = KERAS_DATASET_FACTS[name]
    cache = keras_cache_dir()
    missing = [file for file in facts.files if not _cached(cache / file)]
    notes: tuple[str, ...] = ()
    if missing:
        if not context.online():
            raise DataError(_offline_message(name, facts, cache / missing[0]))
        notes = (f"keras.datasets.{name} is downloaded once (about {facts.megabytes} MB) into {cache}.",)
    features = tuple(_sequence_length(context.graph) if d is None else d for d in facts.features)
    inputs = {
        UNNAMED: ArrayInfo((facts.samples, *features), "int32" if None in facts.features else "float32")
    }
    return DataDescription("keras_dataset", inputs, {UNNAMED: _keras_labels(facts)}, notes=notes)


def _cached(path: Path) -> bool:
    """A download (or, for archives, its extraction folder) is there."""
    return path.exists() or path.with_name(f"{path.name}_archive").exists()


def _offline_message(name: str, facts: KerasDataset, path: Path) -> str:
    return (
        f"keras.datasets.{name} is not in the Keras cache ({path}) and this machine cannot reach "
        f"{facts.host} to download it. Connect to the internet once and run again (it is downloaded "
        f"once, about {facts.megabytes} MB), or copy the file to {path}."
    )


def _sequence_length(graph: ModelGraph | None) -> int:
    inputs = graph.input_nodes() if graph is not None else []
    shape = (inputs[0].params.get("shape") or [None]) if inputs else [None]
    return int(shape[0]) if shape and shape[0] is not None else SEQUENCE_LENGTH


def _keras_labels(facts: KerasDataset) -> ArrayInfo:
    shape = (facts.samples, *facts.label_shape)
    if facts.classes is None:
        return ArrayInfo(shape, "float32")
    return ArrayInfo(shape, "uint8", True, 0.0, float(facts.classes - 1))


# ------------------------------------------------------------------- reshape
def _reshaped(description: DataDescription, reshape: Mapping[str, Any]) -> DataDescription:
    """The description after the source's "reshape" of inputs (generated code: x.reshape(-1, *dims))."""
    if not reshape:
        return description
    inputs = dict(description.inputs)
    for name, dims in reshape.items():
        key = name if name in inputs else UNNAMED
        if key not in inputs:
            raise DataError(f'"reshape" names input {name!r}, but the data has no array for it.')
        info = inputs[key]
        if _size(info.shape[1:]) != _size(tuple(dims)):
            raise DataError(
                f"The data for input {name!r} is {format_shape(info.shape)}: {_size(info.shape[1:])} "
                f"values per sample do not reshape to {format_shape(tuple(dims))}."
            )
        inputs[key] = replace(info, shape=(info.shape[0], *(int(d) for d in dims)))
    return replace(description, inputs=inputs)


def _size(dims: Shape) -> int | None:
    return None if any(d is None for d in dims) else math.prod(dims)  # type: ignore[arg-type]


# --------------------------------------------------------------------- check
def check_against_model(
    description: DataDescription,
    graph: ModelGraph,
    input_shapes: Mapping[str, Shape] | None = None,
    output_shapes: Mapping[str, Shape] | None = None,
    losses: Mapping[str, str] | None = None,
) -> list[DataProblem]:
    """Every misfit between the data and the model's inputs and outputs.

    Shapes have the batch axis first (None), as Keras and the engine write them;
    `input_shapes` defaults to the Input nodes' shapes. Outputs without a shape
    in `output_shapes` are not checked against their targets; `losses` (by output)
    tells what the targets must look like.
    """
    input_shapes = {**_declared_input_shapes(graph), **(input_shapes or {})}
    input_names = [node.name for node in graph.input_nodes()]
    output_names = [mark.name for mark in graph.outputs]
    inputs, problems = _pair(description.inputs, input_names, "input", description.kind)
    targets, target_problems = _pair(description.targets, output_names, "output", description.kind)
    problems += target_problems
    if description.samples == 0:
        return [*problems, DataProblem("data", "", f"the {description.kind} source has no samples.")]
    for name, info in inputs.items():
        problems += _input_problems(name, input_shapes.get(name), info)
        problems += _input_value_problems(name, info)
    for name, info in targets.items():
        shape = (output_shapes or {}).get(name)
        problems += _target_problems(name, info, shape, (losses or {}).get(name), description.kind)
    return problems + _sample_count_problems(inputs, targets)


def _declared_input_shapes(graph: ModelGraph) -> dict[str, Shape]:
    return {node.name: (None, *(node.params.get("shape") or [])) for node in graph.input_nodes()}


def _pair(
    arrays: Mapping[str, ArrayInfo], names: list[str], where: str, kind: str
) -> tuple[dict[str, ArrayInfo], list[DataProblem]]:
    """The arrays by model name, and the problems of names without data or data without a name."""
    if UNNAMED in arrays:
        if len(names) == 1:
            return {names[0]: arrays[UNNAMED]}, []
        message = (
            f"The model has {len(names)} {where}s ({', '.join(names)}), but a {kind} source gives one "
            f"{'input' if where == 'input' else 'target'} array: use an npz or npy source with one array "
            f"per {where}."
        )
        return {}, [DataProblem("data", "", message)]
    problems = [
        DataProblem(where, name, f"{where} {name!r} has no data.") for name in names if name not in arrays
    ]
    if where == "output":  # synthetic regression targets are shaped like the model's outputs
        problems = [problem for problem in problems if kind != "synthetic"]
    problems += [
        DataProblem(
            "data",
            name,
            f"the data names {where} {name!r}, which the model does not have ({', '.join(names)}).",
        )
        for name in arrays
        if name not in names
    ]
    return {name: arrays[name] for name in names if name in arrays}, problems


def _fits(expected: Shape, got: Shape) -> bool:
    return len(expected) == len(got) and all(
        e is None or e == g for e, g in zip(expected[1:], got[1:], strict=True)
    )


def _input_problems(name: str, expected: Shape | None, info: ArrayInfo) -> list[DataProblem]:
    if expected is None or _fits(expected, info.shape):
        return []
    message = f"input {name!r} expects {format_shape(expected)}; the data gives {format_shape(info.shape)}"
    target = expected[1:]
    if _size(target) is not None and _size(target) == _size(info.shape[1:]):
        fix = {"reshape": {name: list(target)}}
        return [
            DataProblem(
                "input", name, f"{message}: reshape to {format_shape(target)}?", expected, info.shape, fix
            )
        ]
    return [DataProblem("input", name, f"{message}.", expected, info.shape)]


def _input_value_problems(name: str, info: ArrayInfo) -> list[DataProblem]:
    if not info.non_finite:
        return []
    message = (
        f"input {name!r}: {info.non_finite}; the losses would be NaN. Fill in or drop the missing values."
    )
    return [DataProblem("input", name, message, None, info.shape)]


def _target_problems(
    name: str, info: ArrayInfo, shape: Shape | None, loss: str | None, kind: str
) -> list[DataProblem]:
    if not info.finite:
        which = f": {info.non_finite}" if info.non_finite else ""
        message = (
            f"the targets of output {name!r} hold NaN or infinite values{which}; the losses would be NaN."
        )
        return [DataProblem("output", name, message, shape, info.shape)]
    if shape is None:
        return []
    if loss == "sparse_categorical_crossentropy":
        return _sparse_label_problems(name, info, shape, kind)
    if loss in ONE_HOT_LOSSES:
        return _one_hot_problems(name, info, shape, loss)
    if loss in BINARY_LOSSES and info.minimum is not None and (info.minimum < 0 or (info.maximum or 0) > 1):
        message = (
            f"output {name!r} uses {loss}, which expects targets between 0 and 1, but they go from "
            f"{info.minimum:g} to {info.maximum:g}: for several classes use a softmax output with one unit "
            "per class and sparse_categorical_crossentropy."
        )
        return [DataProblem("output", name, message, shape, info.shape)]
    return _same_shape_problems(name, info, shape)


def _labels_shape(info: ArrayInfo, shape: Shape) -> bool:
    """Class indices: the output's shape without its class axis (a trailing 1 allowed)."""
    per_sample = info.shape[1:]
    return per_sample in (tuple(shape[1:-1]), (*shape[1:-1], 1))


def _sparse_label_problems(name: str, info: ArrayInfo, shape: Shape, kind: str) -> list[DataProblem]:
    units = shape[-1]
    if info.one_hot and info.shape[1:] == tuple(shape[1:]):
        message = (
            f"output {name!r} uses sparse_categorical_crossentropy, which expects class indices, but the "
            f"targets {format_shape(info.shape)} are one-hot: use categorical_crossentropy?"
        )
        return [
            DataProblem(
                "output", name, message, shape, info.shape, {"loss": {name: "categorical_crossentropy"}}
            )
        ]
    if not _labels_shape(info, shape):
        message = (
            f"output {name!r} gives {format_shape(shape)} and uses sparse_categorical_crossentropy, which "
            f"expects class indices of shape {format_shape((None, *shape[1:-1]))}; the targets are "
            f"{format_shape(info.shape)}."
        )
        return [DataProblem("output", name, message, shape, info.shape)]
    if not info.integer_valued:
        message = (
            f"output {name!r} uses sparse_categorical_crossentropy, which expects whole class indices, "
            f"but the labels are not whole numbers (they go from {info.minimum:g} to {info.maximum:g})."
        )
        return [DataProblem("output", name, message, shape, info.shape)]
    return _label_range_problems(name, info, units, kind)


def _label_range_problems(name: str, info: ArrayInfo, units: int | None, kind: str) -> list[DataProblem]:
    if info.minimum is not None and info.minimum < 0:
        highest = f"{units - 1}" if units is not None else "the number of classes - 1"
        message = (
            f"output {name!r} expects class indices from 0 to {highest}, but the labels go down to "
            f"{info.minimum:g}: relabel or drop the negative ones."
        )
        return [DataProblem("output", name, message)]
    if units is None or info.maximum is None or info.maximum < units:
        return []
    classes = int(info.maximum) + 1
    message = (
        f"output {name!r} has {units} units, but the labels go from {info.minimum:g} to {info.maximum:g} "
        f"({classes} classes): give {name!r} {classes} units"
    )
    if kind == "synthetic":
        return [
            DataProblem(
                "output", name, f"{message}, or draw {units} classes?", fix={"data": {"classes": units}}
            )
        ]
    return [DataProblem("output", name, f"{message}.")]


def _one_hot_problems(name: str, info: ArrayInfo, shape: Shape, loss: str) -> list[DataProblem]:
    if info.shape[1:] == tuple(shape[1:]):
        return []
    if _labels_shape(info, shape) and info.integer_valued:
        message = (
            f"output {name!r} uses {loss}, which expects one-hot targets {format_shape(shape)}, but the "
            f"targets {format_shape(info.shape)} are class indices: use sparse_categorical_crossentropy?"
        )
        fix = {"loss": {name: "sparse_categorical_crossentropy"}}
        return [DataProblem("output", name, message, shape, info.shape, fix)]
    message = f"output {name!r} gives {format_shape(shape)}; the targets are {format_shape(info.shape)}."
    return [DataProblem("output", name, message, shape, info.shape)]


def _same_shape_problems(name: str, info: ArrayInfo, shape: Shape) -> list[DataProblem]:
    """Targets shaped like the output; (n,) fits an output of (None, 1) and the other way round."""
    expected, got = tuple(shape[1:]), info.shape[1:]
    if _fits((None, *expected), (None, *got)) or (*got, 1) == expected or got == (*expected, 1):
        return []
    message = f"output {name!r} gives {format_shape(shape)}; the targets are {format_shape(info.shape)}."
    return [DataProblem("output", name, message, shape, info.shape)]


def _sample_count_problems(
    inputs: Mapping[str, ArrayInfo], targets: Mapping[str, ArrayInfo]
) -> list[DataProblem]:
    counts = {f"input {name!r}": info.samples for name, info in inputs.items()}
    counts.update({f"target {name!r}": info.samples for name, info in targets.items()})
    if len({count for count in counts.values() if count is not None}) <= 1:
        return []
    listed = ", ".join(f"{what} has {count}" for what, count in counts.items())
    return [DataProblem("data", "", f"the arrays disagree on the number of samples: {listed}.")]


# ---------------------------------------------------------- config and fixes
@dataclass(frozen=True)
class DataReport:
    """The descriptions of a config's sources by role ("data", "validation") and their problems."""

    descriptions: dict[str, DataDescription]
    problems: list[DataProblem]


def inspect_data(
    config: TrainingConfig,
    graph: ModelGraph,
    output_shapes: Mapping[str, Shape] | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    online: Callable[[], bool] | None = None,
) -> DataReport:
    """Describe the training data and a separate validation source, and check both against the model."""
    sources = {"data": config.data}
    if isinstance(config.validation, Mapping) and isinstance(config.validation.get("data"), Mapping):
        sources["validation"] = config.validation["data"]
    descriptions, problems = {}, []
    for role, source in sources.items():
        try:
            descriptions[role] = describe(source, graph, base_dir=base_dir, online=online)
        except DataError as error:
            problems.append(_for_source(DataProblem("data", "", str(error)), role))
            continue
        found = check_against_model(descriptions[role], graph, None, output_shapes, config.losses)
        problems += [_for_source(problem, role) for problem in found]
    return DataReport(descriptions, problems)


def check_data(
    config: TrainingConfig,
    graph: ModelGraph,
    output_shapes: Mapping[str, Shape] | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    online: Callable[[], bool] | None = None,
) -> list[DataProblem]:
    """The problems of the training data and of a separate validation source, read or fit."""
    return inspect_data(config, graph, output_shapes, base_dir=base_dir, online=online).problems


def _for_source(problem: DataProblem, role: str) -> DataProblem:
    """A problem of the validation source: its message says so and its fix applies there."""
    if role == "data":
        return problem
    fix = (
        {**problem.fix, "source": "validation"} if problem.fix and "loss" not in problem.fix else problem.fix
    )
    return replace(problem, message=f"validation data: {problem.message}", fix=fix)


def apply_fix(config: TrainingConfig, fix: Mapping[str, Any]) -> TrainingConfig:
    """A new config with `fix` applied: {"reshape": {input: dims}}, {"loss": {output: loss}} or
    {"data": {key: value}}; "source": "validation" sends a reshape or data change to the validation source."""
    data = config.to_dict()
    source = data["validation"]["data"] if fix.get("source") == "validation" else data["data"]
    if fix.get("reshape"):
        source["reshape"] = {
            **(source.get("reshape") or {}),
            **{k: list(v) for k, v in fix["reshape"].items()},
        }
    source.update(fix.get("data") or {})
    data["losses"] = {**data["losses"], **(fix.get("loss") or {})}
    return TrainingConfig.from_dict(data)


def training_samples(description: DataDescription, validation: Any) -> int | None:
    """How many samples fit trains on, after a validation split as generated code makes it."""
    count = description.samples
    if count is None or not isinstance(validation, Mapping) or "split" not in validation:
        return count
    if description.kind == "image_folder":  # image_dataset_from_directory holds out int(count * split)
        return count - int(validation["split"] * count)
    return count - max(1, round(count * validation["split"]))


# --------------------------------------------------------------------- paths
PATH_KEYS = {"npz": ("path",), "csv": ("path",), "image_folder": ("path",)}


def resolve_paths(source: Mapping[str, Any], base_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The source with relative file paths made absolute from `base_dir` (a run's code runs elsewhere)."""
    resolved = json.loads(json.dumps(source))
    base = Path(base_dir).resolve()

    def absolute(value: Any) -> str:
        return str(base / os.path.expanduser(str(value)))

    for key in PATH_KEYS.get(resolved.get("kind"), ()):
        if key in resolved:
            resolved[key] = absolute(resolved[key])
    if resolved.get("kind") == "npy":
        for key in ("inputs", "targets"):
            if isinstance(resolved.get(key), dict):
                resolved[key] = {name: absolute(path) for name, path in resolved[key].items()}
    return resolved


def resolve_config_paths(config: TrainingConfig, base_dir: str | os.PathLike[str]) -> TrainingConfig:
    """The config with the paths of its data and validation sources and its initial weights made
    absolute."""
    validation = config.validation
    if isinstance(validation, Mapping) and isinstance(validation.get("data"), Mapping):
        validation = {"data": resolve_paths(validation["data"], base_dir)}
    data = resolve_paths(config.data, base_dir) if isinstance(config.data, Mapping) else config.data
    weights = config.initial_weights
    if isinstance(weights, str) and not os.path.isabs(weights):
        weights = str(Path(base_dir) / weights)
    return config.copy(data=data, validation=validation, initial_weights=weights)


def source_from_text(text: str, graph: ModelGraph, base_dir: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """A data source from the command line: JSON, sklearn:NAME[:image], keras:NAME,
    synthetic[:regression], a .npz file (arrays x and y), a .csv file (the last column is the
    target, the others the features) or an image folder."""
    text = text.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise DataError(f"--data is not JSON: {error.msg} at column {error.colno}.") from None
    kind, _, rest = text.partition(":")
    if kind == "sklearn":
        name, _, option = rest.partition(":")
        return {"kind": "sklearn", "name": name, "image": option == "image"}
    if kind == "keras":
        return {"kind": "keras_dataset", "name": rest}
    if kind == "synthetic":
        return {**json.loads(json.dumps(_SYNTHETIC)), "task": rest or "classification"}
    return _file_source(Path(base_dir) / os.path.expanduser(text), graph)


_SYNTHETIC = {"kind": "synthetic", "task": "classification", "samples": 256, "classes": 10, "seed": 0}


def _file_source(path: Path, graph: ModelGraph) -> dict[str, Any]:
    if path.is_dir():
        return {"kind": "image_folder", "path": str(path)}
    if path.suffix == ".npz":
        return {"kind": "npz", "path": str(path)}
    if path.suffix == ".csv":
        columns, _ = read_csv(path) if path.exists() else ([], [])
        if len(columns) < 2 or len(graph.outputs) != 1:
            raise DataError(f"{path}: give a JSON csv source with its features and targets.")
        targets = {graph.outputs[0].name: columns[-1]}
        return {"kind": "csv", "path": str(path), "features": columns[:-1], "targets": targets}
    raise DataError(
        f"--data {path}: expected JSON, sklearn:NAME, keras:NAME, synthetic, a .npz or .csv file "
        "or an image folder."
    )


def model_output_shapes(graph: ModelGraph, results: Mapping[str, Any]) -> dict[str, Shape]:
    """{output name: shape} from the engine's node results (anything with .outputs[port].shape)."""
    shapes = {}
    for mark in graph.outputs:
        result = results.get(mark.node)
        outputs = getattr(result, "outputs", ())
        if mark.port < len(outputs):
            shapes[mark.name] = tuple(outputs[mark.port].shape)
    return shapes
