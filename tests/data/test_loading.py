"""designer.data on its own: numpy-level (no Keras, no Qt, no codegen), the split of the
training script, layouts from a graph or its file, and clear refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from designer.data import (
    DataLayout,
    DataSettings,
    DataSourceError,
    ModelInput,
    load_source,
    prepare_data,
    split,
)
from designer.graph import project
from designer.graph.model import ModelGraph, Node, PortLayout

ROOT = Path(__file__).resolve().parents[2]


def two_input_graph() -> ModelGraph:
    graph = ModelGraph("two")
    for index, (name, params) in enumerate(
        [("image", {"shape": [None, 4, 1]}), ("count", {"shape": [2], "dtype": "int32"})], start=1
    ):
        graph.add_node(Node(f"n{index}", "Input", name, params, ports=PortLayout(inputs=())))
    graph.add_node(Node("n3", "Dense", "dense", {"units": 1}))
    graph.mark_output("n3", 0, "value")
    return graph


def test_the_package_imports_no_keras_qt_or_codegen() -> None:
    code = (
        "import sys\n"
        "import designer.data\n"
        "forbidden = ('keras', 'tensorflow', 'PySide6', 'pyqtgraph', 'sklearn', 'designer.codegen',\n"
        "             'designer.engine', 'designer.training')\n"
        "bad = sorted(m for m in forbidden if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_a_layout_reads_the_same_from_a_graph_and_from_its_file() -> None:
    graph = two_input_graph()
    layout = DataLayout.of_graph(graph)
    assert layout == DataLayout.of_project_data(project.to_dict(graph))
    assert layout.inputs == (ModelInput("image", (None, 4, 1)), ModelInput("count", (2,), "int32"))
    assert layout.outputs == ("value",)


def test_split_holds_out_a_seeded_fraction_of_every_array() -> None:
    x = {"a": np.arange(10), "b": np.arange(10) * 10}
    (train_x, train_y), (held_x, held_y) = split(x, np.arange(10), 0.25, seed=3)
    assert len(train_y) == 8 and len(held_y) == 2  # round(2.5) is 2, as Python rounds in train.py
    np.testing.assert_array_equal(train_x["b"], train_x["a"] * 10)
    np.testing.assert_array_equal(held_x["a"], held_y)
    np.testing.assert_array_equal(np.sort(np.concatenate([train_y, held_y])), np.arange(10))
    again = split(x, np.arange(10), 0.25, seed=3)
    np.testing.assert_array_equal(again[1][1], held_y)


def test_synthetic_data_follows_the_inputs_shapes_and_dtypes(tmp_path: Path) -> None:
    layout = DataLayout.of_graph(two_input_graph())
    settings = DataSettings({"kind": "synthetic", "samples": 10, "classes": 4}, validation={"split": 0.2})
    data = prepare_data(settings, layout)
    x, y = data.train
    assert x["image"].shape == (8, 8, 4, 1) and x["image"].dtype == np.float32
    assert x["count"].shape == (8, 2) and x["count"].dtype == np.int32
    assert data.validation[1].shape == (2,) and data.test is None
    assert set(np.unique(y)) <= {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"kind": "parquet"}, "Unknown data source kind 'parquet'; expected sklearn, synthetic, npz"),
        ({"kind": "npz"}, 'A npz data source needs "path".'),
        ({"kind": "npy", "inputs": {"image": "a.npy"}, "targets": {"value": "b.npy"}}, "missing: count"),
        ({"kind": "synthetic", "task": "regression"}, "needs Keras (a KerasSide)"),
        ({"kind": "image_folder", "path": "x"}, "gives one input array and one target array"),
        (
            {"kind": "synthetic", "reshape": {"other": [4]}},
            "\"reshape\" names 'other', which is not a model input",
        ),
    ],
)
def test_a_source_that_cannot_be_loaded_says_why(source: dict, message: str) -> None:
    layout = DataLayout.of_graph(two_input_graph())
    with pytest.raises(DataSourceError) as raised:
        load_source(source, layout, training=True)
    assert message in str(raised.value)


def test_relative_paths_are_read_from_the_base_folder(tmp_path: Path) -> None:
    np.savez(tmp_path / "data.npz", x=np.ones((3, 2), "float32"), y=np.arange(3))
    layout = DataLayout((ModelInput("features", (2,)),), ("label",))
    x, y = load_source({"kind": "npz", "path": "data.npz"}, layout, training=True, base_dir=tmp_path)
    assert x.shape == (3, 2) and list(y) == [0, 1, 2]


def test_a_bad_validation_setting_is_refused() -> None:
    settings = DataSettings.of_config({"data": {"kind": "synthetic"}, "validation": {"split": 1.5}})
    with pytest.raises(DataSourceError, match=r"fraction between 0 and 1, got 1\.5"):
        prepare_data(settings, DataLayout((ModelInput("features", (2,)),), ("label",)))
