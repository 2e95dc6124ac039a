"""Benchmark: import the largest keras.applications model, lay it out, validate it and infer it.

The largest model available offline (weights=None) is the one with the most
operations: in Keras 3.15 NASNetLarge (1,041), then EfficientNetV2L (1,031),
EfficientNetB7 (816), InceptionResNetV2 (782). The import (which includes the
layered layout) plus validation and shape inference is printed as a ratio to
`keras.Model.from_config` of the same config in this same run, both for the
first import of the process (cold caches) and for later ones. Target: at most
0.5x, cold.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras

from bench.timing import timed
from designer.engine.analysis import default_catalog
from designer.engine.importer import import_model
from designer.engine.inference import ShapeInference
from designer.graph.validation import validate

MODEL = "NASNetLarge"
TARGET = 0.5


def main() -> None:
    catalog = default_catalog()
    model = getattr(keras.applications, MODEL)(weights=None)
    config = model.get_config()

    def from_config() -> None:
        keras.Model.from_config(copy.deepcopy(config))  # from_config consumes its argument

    def import_pass() -> None:
        result = import_model(model, catalog)
        validate(result.graph)
        ShapeInference(result.catalog(catalog)).infer(result.graph)

    baseline = timed(from_config, repeat=2)
    cold = timed(import_pass, repeat=1)  # the first import of the process: its caches are empty
    warm = timed(import_pass, repeat=3)
    imported = timed(lambda: import_model(model, catalog), repeat=3)
    nodes = len(import_model(model, catalog).graph)
    print(f"model: {model.name}, {len(model.operations)} operations -> {nodes} nodes")
    print(f"keras.Model.from_config (baseline):      {baseline * 1e3:9.1f} ms")
    report("import + layout (warm)", imported, baseline)
    report("import + layout + validate + infer", cold, baseline, f"target <= {TARGET}x")
    report("the same, caches warm", warm, baseline)
    print("verdict:", "ok" if cold / baseline <= TARGET else "MISSED")


def report(label: str, seconds: float, baseline: float, target: str = "") -> None:
    note = f" ({target})" if target else ""
    print(f"{label + ':':<41}{seconds * 1e3:9.1f} ms = {seconds / baseline:.3f}x keras{note}")


if __name__ == "__main__":
    main()
