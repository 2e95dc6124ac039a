"""The generated train.py's own loaders give the same arrays as designer.data, for every data
source kind: the script keeps its inline loader (it runs with nothing of the designer installed),
the engine and the training worker load through designer.data. Each script is imported from a
temporary folder; np.testing compares values, shapes and dtypes exactly."""

from __future__ import annotations

import copy
import csv
import gzip
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from codegen_helpers import GraphBuilder, multi_io_graph
from loader_helpers import compare_loaders, import_script

from designer.catalog.spec import Catalog
from designer.codegen import DEFAULT_TRAINING_CONFIG, export
from designer.data import DATA_SOURCE_KINDS
from designer.graph import project
from designer.graph.model import ModelGraph

ROOT = Path(__file__).resolve().parents[2]
NPZ = {"kind": "npz", "path": "data.npz", "inputs": {"features": "x"}, "targets": {"label": "y"}}
CASES: dict[str, tuple[str, dict[str, Any]]] = {  # name -> (graph, config changes)
    "sklearn iris": ("table", {"data": {"kind": "sklearn", "name": "iris"}}),
    "sklearn digits reshaped": (
        "table",
        {"data": {"kind": "sklearn", "name": "digits", "reshape": {"features": [4, 16]}}},
    ),
    "sklearn digits images": ("image", {"data": {"kind": "sklearn", "name": "digits", "image": True}}),
    "sklearn diabetes": ("table", {"data": {"kind": "sklearn", "name": "diabetes"}, "validation": None}),
    "sklearn autoencoder": ("table", {"data": {"kind": "sklearn", "name": "wine", "targets": "inputs"}}),
    "synthetic classification": (
        "two_heads",
        {"data": {"kind": "synthetic", "samples": 40, "classes": 3, "seed": 5}},
    ),
    "synthetic regression": (
        "two_heads",
        {"data": {"kind": "synthetic", "task": "regression", "samples": 30}},
    ),
    "synthetic integer input": ("tokens", {"data": {"kind": "synthetic", "samples": 20}, "validation": None}),
    "npz": ("table", {"data": NPZ}),
    "npz two inputs": (
        "two_heads",
        {
            "data": {
                "kind": "npz",
                "path": "two_heads.npz",
                "inputs": {"image": "image", "meta": "meta"},
                "targets": {"label": "label", "score": "score"},
            }
        },
    ),
    "npy": (
        "table",
        {"data": {"kind": "npy", "inputs": {"features": "x.npy"}, "targets": {"label": "y.npy"}}},
    ),
    "csv labels": (
        "table",
        {
            "data": {
                "kind": "csv",
                "path": "data.csv",
                "features": ["a", "b", "c", "d"],
                "targets": {"label": "kind"},
            }
        },
    ),
    "csv numbers, validation data": (
        "table",
        {
            "data": {
                "kind": "csv",
                "path": "data.csv",
                "features": ["a", "b", "c", "d"],
                "targets": {"label": "d"},
            },
            "validation": {"data": NPZ},
        },
    ),
    "image folder split": (
        "image",
        {"data": {"kind": "image_folder", "path": "images", "image_size": [8, 8]}},
    ),
    "image folder grayscale": (
        "image",
        {
            "data": {
                "kind": "image_folder",
                "path": "images",
                "image_size": [8, 8],
                "color_mode": "grayscale",
            },
            "validation": None,
            "shuffle": False,
        },
    ),
}


def graphs(catalog: Catalog) -> dict[str, ModelGraph]:
    table = GraphBuilder("table", catalog)
    table.output(table.add("Dense", "label", [table.input("features", [4])], units=3, activation="softmax"))
    image = GraphBuilder("image", catalog)
    flat = image.add("Flatten", "flatten", [image.input("pixels", [8, 8, 1])])
    image.output(image.add("Dense", "label", [flat], units=3, activation="softmax"))
    tokens = GraphBuilder("tokens", catalog)
    x = tokens.input("tokens", [None, 3], dtype="int32")  # None: UNKNOWN_DIMENSION samples
    tokens.output(tokens.add("Dense", "label", [x], units=3, activation="softmax"))
    return {
        "table": table.graph,
        "image": image.graph,
        "tokens": tokens.graph,
        "two_heads": multi_io_graph(catalog),
    }


def training_config(graph: ModelGraph, changes: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(DEFAULT_TRAINING_CONFIG)
    outputs = [mark.name for mark in graph.outputs]
    config["losses"] = {
        name: "mse" if name == "score" else "sparse_categorical_crossentropy" for name in outputs
    }
    config.update(copy.deepcopy(changes))
    return config


def write_data_files(folder: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 4)).astype("float32"), rng.integers(0, 3, 40)
    np.savez(folder / "data.npz", x=x, y=y)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    with open(folder / "data.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["a", "b", "c", "d", "kind"])
        for row, label in zip(x, y, strict=True):
            writer.writerow([*row, ["cat", "dog", "eel"][label]])
    np.savez(
        folder / "two_heads.npz",
        image=rng.standard_normal((24, 8, 8, 1)).astype("float32"),
        meta=rng.standard_normal((24, 4)).astype("float32"),
        label=rng.integers(0, 3, 24),
        score=rng.standard_normal((24, 1)).astype("float32"),
    )
    import tensorflow as tf

    for label in ("cats", "dogs"):
        (folder / "images" / label).mkdir(parents=True)
        for index in range(5):
            pixels = rng.integers(0, 255, (8, 8, 3)).astype("uint8")
            tf.io.write_file(str(folder / "images" / label / f"{index}.png"), tf.io.encode_png(pixels))


def test_the_cases_cover_every_data_source_kind() -> None:
    covered = {changes["data"]["kind"] for _, changes in CASES.values()}
    assert covered | {"keras_dataset"} == set(DATA_SOURCE_KINDS)  # keras_dataset: the test below


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_scripts_loaders_and_designer_data_give_the_same_arrays(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    graph_name, changes = CASES[case]
    graph = graphs(catalog)[graph_name]
    config = training_config(graph, changes)
    write_data_files(tmp_path)
    files = export(graph, catalog, with_training=True, training_config=config)
    script = import_script(tmp_path, files, f"train_{abs(hash(case))}")
    monkeypatch.chdir(tmp_path)  # the script reads relative paths from its working folder
    compare_loaders(script, config, project.to_dict(graph), tmp_path)


def test_a_keras_dataset_loads_the_same_arrays(catalog: Catalog, tmp_path: Path) -> None:
    """fashion_mnist from a Keras cache written here (KERAS_HOME, read when Keras is imported:
    in a child process), so that no download is needed."""
    rng = np.random.default_rng(1)
    cache = tmp_path / "keras_home" / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for part, count in (("train", 12), ("t10k", 5)):
        labels = rng.integers(0, 10, count).astype("uint8")
        images = rng.integers(0, 255, (count, 28, 28)).astype("uint8")
        (cache / f"{part}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(8) + labels.tobytes()))
        (cache / f"{part}-images-idx3-ubyte.gz").write_bytes(gzip.compress(bytes(16) + images.tobytes()))
    graph = graphs(catalog)["table"]
    changes = {"data": {"kind": "keras_dataset", "name": "fashion_mnist", "reshape": {"features": [784]}}}
    config = training_config(graph, changes)
    files = export(graph, catalog, with_training=True, training_config=config)
    driver = textwrap.dedent(
        f"""
        import json, os, sys
        from pathlib import Path

        from loader_helpers import compare_loaders, import_script

        folder = Path({str(tmp_path)!r})
        files, config, graph = json.loads(Path("case.json").read_text())
        script = import_script(folder, files, "train")
        compare_loaders(script, config, graph, folder)
        print("same arrays")
        """
    )
    (tmp_path / "case.json").write_text(
        __import__("json").dumps([files, config, project.to_dict(graph)]), encoding="utf-8"
    )
    (tmp_path / "driver.py").write_text(driver, encoding="utf-8")
    environment = {
        **os.environ,
        "KERAS_HOME": str(tmp_path / "keras_home"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "codegen")]),
    }
    result = subprocess.run(
        [sys.executable, "driver.py"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "same arrays" in result.stdout
