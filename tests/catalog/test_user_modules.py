"""Layers from the user's .py files and from layers/: specs, ports, and broken files reported by line."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from designer.catalog.keras_layers import build_catalog, construct
from designer.catalog.user_modules import (
    library_specs,
    load_file,
    load_module,
    load_paths,
    top_level_blocks,
    with_last_good,
)
from designer.cli import run_command
from designer.engine.inference import infer
from designer.graph import project
from designer.graph.model import Edge, ModelGraph, Node
from designer.trust import STAND_IN_SOURCE, TrustStore, layer_files, stand_in_specs

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


def test_a_reload_that_fails_keeps_the_last_good_version_of_what_it_lost(three_layers: Path) -> None:
    first = load_module(three_layers)
    three_layers.write_text(THREE_LAYERS.replace("return tf.nn.relu(tf.matmul(inputs, self.w))", "return ("))
    second = with_last_good(load_module(three_layers), first)
    assert [spec.key for spec in second.specs] == ["my_layers.Split", "my_layers.TfDense"]
    assert any(problem.message.startswith("SyntaxError") for problem in second.problems)
    tf_dense = construct(second.specs[1], {"units": 3})  # the class of the first version, found in the module
    assert type(tf_dense) is first.module.TfDense and sys.modules["my_layers"] is second.module
    three_layers.write_text(THREE_LAYERS.replace("class Split", "class Halves"))
    third = with_last_good(load_module(three_layers), second)
    # Split stays: the file still has a problem, and a class it lacks may be one that failed.
    assert [spec.class_name for spec in third.specs] == ["Halves", "Split", "TfDense"]
    assert with_last_good(load_module(three_layers), None).module is not None


def test_file_names_that_are_no_module_names_or_clash_are_refused_before_running(tmp_path: Path) -> None:
    ran = tmp_path / "ran.txt"
    for name in ("my-layers.py", "math.py", "layers.py", "class.py"):
        path = tmp_path / name
        path.write_text(f"open({str(ran)!r}, 'w').write('ran')\n")
        specs, [problem] = load_file(path)
        assert specs == [] and ("rename the file" in problem.message), problem
    assert not ran.exists()
    assert "clashes with the module 'math'" in load_file(tmp_path / "math.py")[1][0].message


def test_stand_ins_give_the_layers_of_files_that_did_not_run_the_ports_the_design_uses() -> None:
    data = {
        "nodes": [
            {"id": "a", "type": "Input"},
            {"id": "b", "type": "my_layers.Split"},
            {"id": "c", "type": "my_layers.Join"},
            {"id": "d", "type": "other.Layer"},
        ],
        "edges": [
            {"source": "a", "source_port": 0, "target": "b", "target_port": 0},
            {"source": "b", "source_port": 1, "target": "c", "target_port": 1},
            {"source": "b", "source_port": 0, "target": "c", "target_port": 0},
        ],
        "outputs": [{"node": "c", "port": 0, "name": "out"}],
    }
    specs = {s.key: s for s in stand_in_specs(data, lambda key: key == "Input", {"my_layers"}, "Not loaded.")}
    assert set(specs) == {"my_layers.Split", "my_layers.Join"}  # other.Layer is no file's
    assert specs["my_layers.Split"].ports.outputs == ("output_0", "output_1")
    assert specs["my_layers.Join"].ports.inputs == ("inputs_0", "inputs_1")
    assert (
        specs["my_layers.Join"].summary == "Not loaded." and specs["my_layers.Join"].source == STAND_IN_SOURCE
    )


def test_layer_files_takes_files_and_the_public_py_files_of_folders(
    tmp_path: Path, three_layers: Path
) -> None:
    (tmp_path / "_helpers.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "extra.py").write_text("")
    single = tmp_path / "elsewhere.py"
    assert layer_files([tmp_path, single]) == [tmp_path / "extra.py", three_layers, single]


def test_the_cli_loads_extra_layer_files_with_trust(
    tmp_path: Path, three_layers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    design = tmp_path / "design.json"
    graph = ModelGraph("model")
    graph.add_node(Node("n1", "Input", "x", {"shape": [6]}, ports=build_catalog()["Input"].ports))
    graph.add_node(Node("n2", "my_layers.TfDense", "dense", {"units": 3}))
    graph.connect(Edge("n1", 0, "n2", 0))
    graph.mark_output("n2", 0, "dense")
    project.save(design, graph)
    out, err = io.StringIO(), io.StringIO()
    refused = run_command(["summary", str(design), "--layers", str(three_layers)], out, err)
    assert refused == 2 and "--trust" in err.getvalue() and "my_layers.py" in err.getvalue()
    code = run_command(["summary", str(design), "--layers", str(three_layers), "--trust"], out, err)
    assert code == 0, out.getvalue()
    assert f"warning: {three_layers}:{BROKEN_LINE}: SyntaxError" in out.getvalue()
    assert "Total params: 18 " in out.getvalue()  # TfDense's 6 x 3 kernel


def test_a_layer_whose_call_takes_several_tensors_gets_an_input_port_for_each(tmp_path: Path) -> None:
    path = tmp_path / "two_inputs.py"
    path.write_text(
        textwrap.dedent(
            '''
            import keras


            class Gate(keras.layers.Layer):
                """Multiplies a signal by a sigmoid gate."""

                def call(self, signal, gate, training=None):
                    return signal * keras.ops.sigmoid(gate)
            '''
        )
    )
    [spec] = load_file(path)[0]
    assert spec.ports.inputs == ("signal", "gate") and spec.ports.min_inputs == 2 and spec.call_training
    catalog = build_catalog().merged([spec])
    graph = ModelGraph()
    for node_id in ("a", "b"):
        graph.add_node(Node(node_id, "Input", node_id, {"shape": [3]}, ports=catalog["Input"].ports))
    graph.add_node(Node("g", spec.key, "gate", {}, ports=spec.ports))
    graph.connect(Edge("a", 0, "g", 0))
    graph.connect(Edge("b", 0, "g", 1))
    assert infer(graph, catalog)["g"].outputs[0].shape == (None, 3)
