"""The data loaders of the training script: one `load_data()` per data source kind.

Each loader returns `(x, y)`: arrays, or dicts of arrays keyed by input / output
name when the model has several (an image folder returns tf.data datasets
instead). The source kinds and their keys are listed in `training_script`;
designer.data loads the same arrays (the engine and the training worker use it, and
tests/data holds the two to the same arrays).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from designer.codegen.errors import CodegenError
from designer.codegen.functional import docstring_name
from designer.codegen.imports import Imports
from designer.codegen.rendering import literal, string
from designer.data.sources import (
    DATA_SOURCE_KINDS,
    KERAS_DATASETS,
    SEQUENCE_LENGTH,
    SKLEARN_DATASETS,
    UNKNOWN_DIMENSION,
    DataSourceError,
    kind_of,
    name_mapping,
    needs_model,
)
from designer.graph.model import Node


class DataLoaderWriter:
    """Writes the loader functions of one script; adds the imports and helpers they use."""

    def __init__(
        self,
        inputs: list[Node],
        outputs: list[str],
        imports: Imports,
        helpers: dict[str, list[str]],
        split: float | None,
    ) -> None:
        self.inputs = inputs
        self.outputs = outputs
        self.imports = imports
        self.helpers = helpers  # module-level helper functions of the script, by name
        self.split = split  # the validation split an image folder applies itself

    def loader(self, function: str, source: Any, *, training: bool) -> list[str]:
        kind = kind_of(source)
        write = {
            "sklearn": self._sklearn,
            "synthetic": self._synthetic,
            "npz": self._npz,
            "npy": self._npy,
            "csv": self._csv,
            "image_folder": self._image_folder,
            "keras_dataset": self._keras_dataset,
        }.get(kind or "")  # no kind: no writer
        if write is None:
            raise CodegenError(f"Unknown data source kind {kind!r}; expected {', '.join(DATA_SOURCE_KINDS)}.")
        signature = f"def {function}(model):" if needs_model(source) else f"def {function}():"
        body = write(source, training)
        if kind != "image_folder":
            body += self._reshape(source)
            body.append("    return x, y")
        elif source.get("reshape"):
            raise CodegenError(
                '"reshape" does not apply to an image_folder source: set "image_size" instead.'
            )
        return [signature, *body]

    def _single_arrays(self, source: Mapping[str, Any]) -> None:
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            raise CodegenError(
                f"A {source['kind']} data source gives one input array and one target array, but the "
                f"model has {len(self.inputs)} input(s) and {len(self.outputs)} output(s). Use an npz or "
                "npy source with one array per input and output."
            )

    def _sklearn(self, source: Mapping[str, Any], training: bool) -> list[str]:
        self._single_arrays(source)
        name = source.get("name")
        if name not in SKLEARN_DATASETS:
            raise CodegenError(
                f"Unknown scikit-learn data set {name!r}; expected {', '.join(SKLEARN_DATASETS)}."
            )
        self.imports.add("from sklearn import datasets")
        self.imports.add("import numpy as np")
        lines = [f'    """The scikit-learn {name} data set."""', f"    bunch = datasets.load_{name}()"]
        if name == "digits" and source.get("image"):
            lines.append('    x = (bunch.images / 16.0).reshape(-1, 8, 8, 1).astype("float32")')
        elif name == "digits":
            lines.append('    x = (bunch.data / 16.0).astype("float32")')
        else:
            lines.append("    # Standardized features: each column to mean 0, standard deviation 1.")
            lines.append(
                '    x = ((bunch.data - bunch.data.mean(axis=0)) / bunch.data.std(axis=0)).astype("float32")'
            )
        if source.get("targets") == "inputs":  # an autoencoder learns to give back its input
            lines.append("    y = x")
            return lines
        target = '.astype("float32")' if name == "diabetes" else ""
        lines.append(f"    y = np.asarray(bunch.target){target}")
        return lines

    def _synthetic(self, source: Mapping[str, Any], training: bool) -> list[str]:
        task = source.get("task", "classification")
        if task not in ("classification", "regression"):
            raise CodegenError(
                f"A synthetic source's task is 'classification' or 'regression', got {task!r}."
            )
        self.imports.add("import numpy as np")
        samples = int(source.get("samples", 256))
        classes = int(source.get("classes", 10))
        seed = int(source.get("seed", 0)) + (0 if training else 1)
        lines = [
            f'    """{samples} random samples for a {task} task (shapes from the model\'s inputs)."""',
            f"    samples = {samples}",
            f"    rng = np.random.default_rng({seed})",
        ]
        arrays = {node.name: self._random_input(node.params) for node in self.inputs}
        lines.append(f"    x = {self._structure(arrays, self.input_names)}")
        if task == "classification":
            values = {name: f"rng.integers(0, {classes}, size=samples)" for name in self.outputs}
        else:
            lines.append("    # Targets shaped like the model's outputs, from a call on one sample.")
            first = "x[:1]"
            if len(self.inputs) > 1:
                self.helpers["take"] = TAKE
                first = "take(x, slice(0, 1))"
            lines.append(f"    sample = keras.tree.flatten(model({first}))")
            values = {
                name: f'rng.standard_normal((samples, *tuple(sample[{index}].shape)[1:])).astype("float32")'
                for index, name in enumerate(self.outputs)
            }
        lines.append(f"    y = {self._structure(values, self.outputs)}")
        return lines

    def _random_input(self, params: Mapping[str, Any]) -> str:
        shape = [UNKNOWN_DIMENSION if dim is None else int(dim) for dim in params.get("shape") or []]
        size = "(" + ", ".join(["samples", *map(str, shape)]) + ("," if not shape else "") + ")"
        dtype = params.get("dtype") or "float32"
        if "int" in dtype:
            return f'rng.integers(0, 10, size={size}).astype("{dtype}")'
        if dtype == "bool":
            return f"rng.integers(0, 2, size={size}).astype(bool)"
        return f'rng.standard_normal({size}).astype("{dtype}")'

    def _npz(self, source: Mapping[str, Any], training: bool) -> list[str]:
        path = required(source, "path")
        self.imports.add("import numpy as np")
        inputs = self._mapping(source, "inputs", self.input_names, "x")
        targets = self._mapping(source, "targets", self.outputs, "y")
        x = {name: f"arrays[{string(key)}]" for name, key in inputs.items()}
        y = {name: f"arrays[{string(key)}]" for name, key in targets.items()}
        return [
            f'    """Arrays of {docstring_name(path)}."""',
            f"    with np.load({string(path)}) as arrays:",
            f"        x = {self._structure(x, self.input_names)}",
            f"        y = {self._structure(y, self.outputs)}",
        ]

    def _npy(self, source: Mapping[str, Any], training: bool) -> list[str]:
        self.imports.add("import numpy as np")
        inputs = self._mapping(source, "inputs", self.input_names, None)
        targets = self._mapping(source, "targets", self.outputs, None)
        x = {name: f"np.load({string(path)})" for name, path in inputs.items()}
        y = {name: f"np.load({string(path)})" for name, path in targets.items()}
        return [
            '    """One .npy file per input and per target."""',
            f"    x = {self._structure(x, self.input_names)}",
            f"    y = {self._structure(y, self.outputs)}",
        ]

    def _csv(self, source: Mapping[str, Any], training: bool) -> list[str]:
        path = required(source, "path")
        features = required(source, "features")
        if len(self.inputs) != 1:
            raise CodegenError(
                f"A csv source feeds one input, but the model has {len(self.inputs)}: use npz or npy."
            )
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise CodegenError(f'A csv source\'s "features" is a list of column names, got {features!r}.')
        targets = self._mapping(source, "targets", self.outputs, None)
        self.imports.add("import csv")
        self.imports.add("import numpy as np")
        self.helpers["column_values"] = _COLUMN_VALUES
        y = {name: f"column_values(rows, {string(column)})" for name, column in targets.items()}
        return [
            f'    """Columns of {docstring_name(path)}: features to the input, a column per output."""',
            f'    with open({string(path)}, newline="", encoding="utf-8") as file:',
            "        rows = list(csv.DictReader(file))",
            f"    features = {literal(features)}",
            '    x = np.array([[float(row[name]) for name in features] for row in rows], dtype="float32")',
            f"    y = {self._structure(y, self.outputs)}",
        ]

    def _image_folder(self, source: Mapping[str, Any], training: bool) -> list[str]:
        self._single_arrays(source)
        path = required(source, "path")
        size = source.get("image_size") or [256, 256]
        color_mode = source.get("color_mode", "rgb")
        if color_mode not in ("rgb", "grayscale", "rgba"):
            raise CodegenError(
                f"An image folder's color_mode is 'rgb', 'rgba' or 'grayscale', got {color_mode!r}."
            )
        split = self.split if training else None
        lines = [
            f'    """Images of {docstring_name(path)}, one class per sub-folder (pixels in [0, 255]:',
            '    put a Rescaling layer in the model to scale them)."""',
            "    return keras.utils.image_dataset_from_directory(",
            f"        {string(path)},",
            f"        image_size={literal(size, 'tuple')},",
            f"        color_mode={string(color_mode)},",
            "        batch_size=BATCH_SIZE,",
            "        shuffle=SHUFFLE,",
            "        seed=SEED,",
        ]
        if split is not None:
            lines += ["        validation_split=VALIDATION_SPLIT,", '        subset="both",']
        return [*lines, "    )"]

    def _keras_dataset(self, source: Mapping[str, Any], training: bool) -> list[str]:
        self._single_arrays(source)
        name = source.get("name")
        if name not in KERAS_DATASETS:
            raise CodegenError(
                f"Unknown keras.datasets data set {name!r}; expected {', '.join(KERAS_DATASETS)}."
            )
        kind = KERAS_DATASETS[name]
        part = "train" if training else "test"
        arguments = f"num_words={int(source.get('num_words', 10000))}" if kind == "sequences" else ""
        lines = [
            f'    """The {part} part of keras.datasets.{name}."""',
            f"    (x_train, y_train), (x_test, y_test) = keras.datasets.{name}.load_data({arguments})",
            f"    x, y = x_{part}, y_{part}",
        ]
        if kind == "images":
            lines.append('    x = x.astype("float32") / 255.0  # pixels to [0, 1]')
        elif kind == "sequences":
            shape = self.inputs[0].params.get("shape") or [None]
            length = shape[0] if shape and shape[0] is not None else SEQUENCE_LENGTH
            lines.append(f"    x = keras.utils.pad_sequences(x, maxlen={int(length)})")
        else:
            lines.append('    x = x.astype("float32")')
        return lines

    def _reshape(self, source: Mapping[str, Any]) -> list[str]:
        reshape = source.get("reshape") or {}
        lines = []
        for name, dims in reshape.items():
            if name not in self.input_names:
                raise CodegenError(
                    f'"reshape" names {name!r}, which is not a model input ({", ".join(self.input_names)}).'
                )
            target = "x" if len(self.inputs) == 1 else f"x[{string(name)}]"
            lines.append(f"    {target} = {target}.reshape({literal([-1, *dims], 'shape')})")
        return lines

    def _mapping(
        self, source: Mapping[str, Any], key: str, names: list[str], default: str | None
    ) -> dict[str, str]:
        """source[key] ({model name: array key or path}), checked to cover every name."""
        try:
            return name_mapping(source, key, names, default)
        except DataSourceError as error:
            raise CodegenError(str(error)) from None

    def _structure(self, values: Mapping[str, str], names: list[str]) -> str:
        """One value as it is, several as a dict keyed by name."""
        if len(names) == 1:
            return values[names[0]]
        return "{" + ", ".join(f"{string(name)}: {values[name]}" for name in names) + "}"

    @property
    def input_names(self) -> list[str]:
        return [node.name for node in self.inputs]


def required(source: Mapping[str, Any], key: str) -> Any:
    if key not in source:
        raise CodegenError(f'A {source.get("kind")} data source needs "{key}".')
    return source[key]


TAKE = [
    "def take(data, index):",
    '    """The samples `index` of an array, or of every array of a dict."""',
    "    if isinstance(data, dict):",
    "        return {name: values[index] for name, values in data.items()}",
    "    return data[index]",
]
_COLUMN_VALUES = [
    "def column_values(rows, column):",
    '    """A target column: numbers if every value is one, else class indices (sorted labels)."""',
    "    values = [row[column] for row in rows]",
    "    try:",
    '        return np.array([float(value) for value in values], dtype="float32")',
    "    except ValueError:",
    "        labels = sorted(set(values))",
    "        return np.array([labels.index(value) for value in values])",
]
