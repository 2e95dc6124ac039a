"""Keras models through the designer and back in both code styles, on whichever Keras
backend this process runs: import a model, export it, copy its weights in and compare the
outputs; feed a model with several inputs every way the styles promise.

Run as a script (`python keras_roundtrip.py FOLDER CHECK...`) it prints the results as
JSON, so that a test can run the same checks on another backend (KERAS_BACKEND=jax).
"""

from __future__ import annotations

import itertools
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
from codegen_helpers import build_test_catalog, copy_flat_weights, import_module_from_source, multi_io_graph

from designer.codegen import generate_model
from designer.codegen.blocks import layer_paths
from designer.engine.analysis import default_catalog
from designer.engine.build import build_model
from designer.engine.importer import ImportResult, import_model, load_weights_by_name

STYLES = ("functional", "subclassed")
_modules = itertools.count()


# ------------------------------------------------------------ the originals
def normalization_model() -> keras.Model:
    """Input -> Normalization -> Dense, the smallest model with a layer that makes tensors in
    its build: one Normalization from weights (as EfficientNet's), one from constants (as
    ConvNeXt's)."""
    features = keras.Input(shape=(4,), name="features")
    x = keras.layers.Normalization(name="from_weights")(features)
    x = keras.layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 9.0, 16.0], name="fixed")(x)
    return keras.Model(features, keras.layers.Dense(2, name="head")(x), name="normalized")


SMALL: dict[str, Any] = {"input_shape": (32, 32, 3), "classes": 10}
MODELS: dict[str, Callable[[], keras.Model]] = {
    "normalization": normalization_model,
    "EfficientNetB0": lambda: keras.applications.EfficientNetB0(weights=None, **SMALL),
    "ConvNeXtTiny": lambda: keras.applications.ConvNeXtTiny(weights=None, **SMALL),
    "EfficientNetV2B0": lambda: keras.applications.EfficientNetV2B0(weights=None, **SMALL),
    "MobileNetV3Small": lambda: keras.applications.MobileNetV3Small(weights=None, **SMALL),
}


# ------------------------------------------------------------------ helpers
def load_generated(source: str, folder: Path) -> Any:
    return import_module_from_source(source, folder, f"roundtrip_model_{next(_modules)}")


def as_arrays(outputs: Any) -> list[np.ndarray]:
    values = [outputs[key] for key in sorted(outputs)] if isinstance(outputs, dict) else [outputs]
    return [np.asarray(keras.ops.convert_to_numpy(value)) for value in values]


def largest_difference(first: list[np.ndarray], second: list[np.ndarray]) -> float:
    assert [a.shape for a in first] == [b.shape for b in second]
    return max(float(np.abs(a - b).max()) for a, b in zip(first, second, strict=True))


# ----------------------------------------------------------------- checks
def round_trip(
    original: keras.Model, folder: Path, imported: ImportResult | None = None
) -> dict[str, dict[str, float]]:
    """Each style's parameter count and largest output difference from `original`, the
    exported model given the original's weights (through the engine's flat model, whose
    layers keep the original's names); `imported` spares importing it again."""
    catalog = default_catalog()
    result = imported or import_model(original, catalog)
    merged = result.catalog(catalog)
    flat = build_model(result.graph, merged)
    load_weights_by_name(flat, original, result.origins)
    paths = layer_paths(result.graph, merged)
    generator = np.random.default_rng(0)
    batch = generator.standard_normal((2, *original.inputs[0].shape[1:])).astype("float32")
    expected = as_arrays(original(batch, training=False))
    results = {}
    for style in STYLES:
        exported = load_generated(generate_model(result.graph, merged, style), folder).build_model()
        copy_flat_weights(flat, exported, paths)
        results[style] = {
            "parameters": exported.count_params(),
            "difference": largest_difference(as_arrays(exported(batch, training=False)), expected),
        }
    results["original"] = {"parameters": original.count_params(), "difference": 0.0}
    return results


def input_structures(folder: Path) -> dict[str, dict[str, float]]:
    """Per style, how far the outputs for each way of feeding a model with two inputs
    are from those for a dict by input name; a UserWarning (Keras' "The structure of
    `inputs` doesn't match") raises."""
    catalog = build_test_catalog()
    graph = multi_io_graph(catalog)
    generator = np.random.default_rng(1)
    image = generator.standard_normal((3, 8, 8, 1)).astype("float32")
    meta = generator.standard_normal((3, 4)).astype("float32")
    results = {}
    for style in STYLES:
        model = load_generated(generate_model(graph, catalog, style), folder).build_model()
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            expected = as_arrays(model({"image": image, "meta": meta}, training=False))
            fed = {
                "list": model([image, meta], training=False),
                "tuple": model((image, meta), training=False),
                "predict list": model.predict([image, meta], verbose=0),
                "predict tuple": model.predict((image, meta), verbose=0),
                "predict dict": model.predict({"meta": meta, "image": image}, verbose=0),
            }
        results[style] = {way: largest_difference(as_arrays(out), expected) for way, out in fed.items()}
    return results


def main(arguments: list[str]) -> None:
    folder, *checks = arguments
    results: dict[str, Any] = {"backend": keras.backend.backend()}
    for check in checks:
        if check == "input_structures":
            results[check] = input_structures(Path(folder))
        else:
            results[check] = round_trip(MODELS[check](), Path(folder))
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
