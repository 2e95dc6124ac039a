"""Layers from the user's .py files and from layers/: specs, ports, and broken files reported by line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from designer.catalog.keras_layers import build_catalog, construct
from designer.catalog.user_modules import library_specs, load_file, load_paths, top_level_blocks
from designer.engine.inference import infer
from designer.graph.model import Edge, ModelGraph, Node
from designer.trust import TrustStore

THREE_LAYERS = textwrap.dedent(
    '''
    """Three layers, one of them broken."""
    import keras
    import tensorflow as tf


    class TfDense(keras.layers.Layer):
        """A dense layer written with tf.* ops, as in the TensorFlow tutorials.

        Args:
            units: Number of output features.
        """

        def __init__(self, units: int = 4, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units))

        def call(self, inputs):
            return tf.nn.relu(tf.matmul(inputs, self.w))

        def compute_output_shape(self, input_shape):
            return (*input_shape[:-1], self.units)


    class Split(keras.layers.Layer):
        """Splits its input into mean and log-variance halves."""

        def call(self, inputs):
            z_mean, z_log_var = keras.ops.split(inputs, 2, axis=-1)
            return z_mean, z_log_var


    class Broken(keras.layers.Layer):
        def call(self, inputs)
            return inputs
    '''
)


BROKEN_LINE = THREE_LAYERS.splitlines().index("    def call(self, inputs)") + 1


@pytest.fixture
def three_layers(tmp_path: Path) -> Path:
    path = tmp_path / "my_layers.py"
    path.write_text(THREE_LAYERS)
    return path


def test_a_file_with_a_syntax_error_loads_its_good_layers_and_reports_the_line(three_layers: Path) -> None:
    specs, problems = load_file(three_layers)
    assert [s.key for s in specs] == ["my_layers.Split", "my_layers.TfDense"]
    [problem] = problems
    assert problem.file == str(three_layers) and problem.line == BROKEN_LINE
    assert "SyntaxError" in problem.message and str(problem).startswith(f"{three_layers}:{BROKEN_LINE}:")


def test_user_specs_have_params_docs_ports_and_outputs(three_layers: Path) -> None:
    specs = {s.class_name: s for s in load_file(three_layers)[0]}
    dense, split = specs["TfDense"], specs["Split"]
    units = dense.param("units")
    assert units is not None and units.kind == "int" and units.default == 4
    assert units.doc == "Number of output features."
    assert dense.summary.startswith("A dense layer written with tf.* ops")
    assert dense.source == "user" and dense.category == "custom" and dense.file == str(three_layers)
    assert split.ports.outputs == ("z_mean", "z_log_var")


def test_user_layers_infer_and_run_on_tensorflow(three_layers: Path) -> None:
    specs = load_file(three_layers)[0]
    catalog = build_catalog().merged(specs)
    graph = ModelGraph()
    source = graph.add_node(Node("n1", "Input", "x", {"shape": [6]}, ports=catalog["Input"].ports))
    dense = graph.add_node(
        Node("n2", "my_layers.TfDense", "dense", {"units": 8}, ports=catalog["my_layers.TfDense"].ports)
    )
    split = graph.add_node(Node("n3", "my_layers.Split", "split", {}, ports=catalog["my_layers.Split"].ports))
    graph.connect(Edge(source.id, 0, dense.id, 0))
    graph.connect(Edge(dense.id, 0, split.id, 0))
    results = infer(graph, catalog)
    assert results["n2"].outputs[0].shape == (None, 8) and results["n2"].trainable == 48
    assert [o.shape for o in results["n3"].outputs] == [(None, 4), (None, 4)]
    layer = construct(catalog["my_layers.TfDense"], {"units": 3})
    assert layer(np.ones((2, 5), "float32")).shape == (2, 3)


def test_a_folder_loads_every_file_and_an_import_error_names_its_line(
    tmp_path: Path, three_layers: Path
) -> None:
    (tmp_path / "failing.py").write_text("import keras\n\nraise RuntimeError('no GPU here')\n")
    loaded = load_paths([tmp_path])
    assert {s.key for s in loaded.specs} == {"my_layers.Split", "my_layers.TfDense"}
    lines = {(Path(p.file).name, p.line) for p in loaded.problems}
    assert lines == {("failing.py", 3), ("my_layers.py", BROKEN_LINE)}


def test_top_level_blocks_keep_decorators_with_their_class() -> None:
    blocks = top_level_blocks("import keras\n\n@decorator\nclass A:\n    x = 1\n\ny = (\n    2\n)\n")
    assert [start for start, _ in blocks] == [1, 3, 7]


def test_the_library_in_layers_is_offered() -> None:
    specs = {s.class_name: s for s in library_specs()}
    assert {"Linear", "Sampling", "ResNetIdentityBlock", "MaskedGlobalAverage"} <= set(specs)
    assert specs["Linear"].key == "layers.linear.Linear" and specs["Linear"].source == "library"
    assert specs["ResNetIdentityBlock"].call_training
    assert specs["MaskedGlobalAverage"].call_mask


def test_trust_is_remembered_per_file_content(tmp_path: Path, three_layers: Path) -> None:
    store = TrustStore(tmp_path / "trust.json")
    assert store.untrusted([three_layers]) == [three_layers]
    store.trust([three_layers])
    assert TrustStore(tmp_path / "trust.json").is_trusted(three_layers)
    three_layers.write_text(THREE_LAYERS + "\n# edited\n")
    assert not TrustStore(tmp_path / "trust.json").is_trusted(three_layers)
