"""Blocks in generated code: one Layer subclass per block type, one object per group, and the
same model as the flat one the engine builds (shapes, parameter counts, outputs)."""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from codegen_helpers import copy_flat_weights

from designer.catalog.spec import Catalog
from designer.codegen import generate_functional, generate_sequential, generate_subclassed
from designer.codegen.blocks import layer_paths
from designer.codegen.errors import CodegenError
from designer.codegen.formatting import finish, lint
from designer.engine.analysis import analyze, default_catalog
from designer.engine.build import build_model
from designer.graph.groups import block_to_dict, instantiate_block, make_group
from designer.graph.model import Edge, ModelGraph, Node
from designer.graph.project import from_dict, to_dict

_serial = itertools.count()


@pytest.fixture(scope="module")
def keras_catalog() -> Catalog:
    return default_catalog()


class Builder:
    """Adds nodes with fresh graph ids (so that block instances can be added in between)."""

    def __init__(self, name: str, catalog: Catalog) -> None:
        self.graph = ModelGraph(name)
        self.catalog = catalog

    def input(self, name: str, shape: list[int]) -> str:
        return self.add("Input", name, [], shape=shape)

    def add(self, type_key: str, name: str, sources: list[str], **params: Any) -> str:
        node = Node(self.graph.new_id(), type_key, name, params, ports=self.catalog[type_key].ports)
        self.graph.add_node(node)
        for port, source in enumerate(sources):
            self.graph.connect(Edge(source, 0, node.id, port))
        return node.id

    def output(self, node_id: str, name: str | None = None) -> None:
        self.graph.mark_output(node_id, 0, name)


def encoder_pair(catalog: Catalog, shared: bool) -> ModelGraph:
    """Two inputs through an encoder block each (the second a new or a shared instance), then a
    two-input, two-output mixer block, a head and a second model output inside the mixer."""
    b = Builder("pair", catalog)
    left, right = b.input("left", [6]), b.input("right", [6])
    hidden = b.add("Dense", "encoder_hidden", [left], units=8, activation="relu")
    norm = b.add("BatchNormalization", "encoder_norm", [hidden], momentum=0.9)
    dropout = b.add("Dropout", "encoder_dropout", [norm], rate=0.25)
    code = b.add("Dense", "encoder_code", [dropout], units=4)
    graph = b.graph
    encoder = graph.add_group(make_group(graph, [hidden, norm, dropout, code], "encoder"))
    other = _instance(graph, encoder.id, shared, right)
    concat = b.add("Concatenate", "mixer_concat", [code, other])
    mixed = b.add("Dense", "mixer_dense", [concat], units=4, activation="tanh")
    total = b.add("Add", "mixer_add", [code, other])
    graph.add_group(make_group(graph, [concat, mixed, total], "mixer"))
    head = b.add("Concatenate", "head", [mixed, total])
    score = b.add("Dense", "score", [head], units=1, activation="sigmoid")
    b.output(score, "score")
    b.output(total, "total")
    return graph


def _instance(graph: ModelGraph, owner: str, shared: bool, source: str) -> str:
    """A second instance of block `owner` fed by `source`; returns the id of its last node."""
    nodes, edges, group = instantiate_block(
        graph,
        block_to_dict(graph, owner),
        (0.0, 300.0),
        owner if shared else None,
        ports_of=default_catalog().ports_of,
    )
    for node in nodes:
        graph.add_node(node)
    for edge in [*edges, Edge(source, 0, nodes[0].id, 0)]:
        graph.connect(edge)
    graph.add_group(group)
    return nodes[-1].id


def _run(source: str) -> keras.Model:
    namespace: dict[str, Any] = {"__name__": f"generated_blocks_{next(_serial)}"}
    exec(compile(source, "generated", "exec"), namespace)
    return namespace["build_model"]()


def _counts(model: keras.Model) -> tuple[int, int]:
    trainable = sum(math.prod(v.shape) for v in model.trainable_weights)
    return trainable, sum(math.prod(v.shape) for v in model.non_trainable_weights)


def _outputs(model: keras.Model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    results = model(inputs, training=False)
    return {name: keras.ops.convert_to_numpy(value) for name, value in results.items()}


def check_blocks_match_flat(graph: ModelGraph, catalog: Catalog) -> None:
    analysis = analyze(graph, catalog)
    assert analysis.errors == [], analysis.errors
    flat = build_model(graph, catalog)
    paths = layer_paths(graph, catalog)
    rng = np.random.default_rng(0)
    inputs = {node.name: rng.normal(size=(5, 6)).astype("float32") for node in graph.input_nodes()}
    expected = _outputs(flat, inputs)
    for generate in (generate_functional, generate_subclassed):
        model = _run(generate(graph, catalog))
        assert _counts(model) == _counts(flat) == analysis.totals()
        copy_flat_weights(flat, model, paths)
        outputs = _outputs(model, inputs)
        assert outputs.keys() == expected.keys()
        for name, values in expected.items():
            np.testing.assert_allclose(outputs[name], values, atol=1e-5, rtol=0)


# ----------------------------------------------------------------- the code
def test_a_block_becomes_a_layer_subclass_written_once(keras_catalog: Catalog) -> None:
    graph = encoder_pair(keras_catalog, shared=False)
    functional = generate_functional(graph, keras_catalog)
    subclassed = generate_subclassed(graph, keras_catalog)
    for source in (functional, subclassed):
        assert source.count("class Encoder(keras.layers.Layer):") == 1
        assert source.count("class Mixer(keras.layers.Layer):") == 1
        assert 'Encoder(name="encoder")' in source and 'Encoder(name="encoder_1")' in source
        assert "    def call(self, encoder_code, encoder_1_code, training=None):" in source
        assert "        return mixer_concat, mixer_add" not in source  # local names inside
        assert "        return dense, add" in source
    assert "    encoder_code, = " not in functional
    assert '    encoder = Encoder(name="encoder")\n    encoder_code = encoder(left)\n' in functional
    assert "    mixer_dense, mixer_add = mixer(encoder_code, encoder_1_code)\n" in functional
    assert "        encoder_code = self.encoder(left, training=training)\n" in subclassed
    block_class = functional.split("class Encoder(keras.layers.Layer):")[1].split("\n\n\n")[0]
    assert 'self.hidden = layers.Dense(8, activation="relu", name="hidden")' in block_class
    assert "        norm = self.norm(hidden, training=training)" in block_class
    assert "        return {**base_config}" in block_class


def test_generated_blocks_are_ruff_clean_and_format_stable(keras_catalog: Catalog) -> None:
    graph = encoder_pair(keras_catalog, shared=True)
    for generate in (generate_functional, generate_subclassed):
        source = generate(graph, keras_catalog)
        assert lint(source) == ""
        assert finish(source) == source


def test_blocks_build_the_flat_model_with_the_same_counts_and_outputs(keras_catalog: Catalog) -> None:
    check_blocks_match_flat(encoder_pair(keras_catalog, shared=False), keras_catalog)


def test_a_shared_block_is_one_object_called_twice_and_counted_once(keras_catalog: Catalog) -> None:
    shared = encoder_pair(keras_catalog, shared=True)
    check_blocks_match_flat(shared, keras_catalog)
    source = generate_functional(shared, keras_catalog)
    assert source.count("Encoder(name=") == 1
    assert "    encoder_1_code = encoder(right)\n" in source
    separate = encoder_pair(keras_catalog, shared=False)
    unshared_count = analyze(separate, keras_catalog).totals()[0]
    assert analyze(shared, keras_catalog).totals()[0] == unshared_count - (6 * 8 + 8 + 2 * 8 + 8 * 4 + 4)


def test_unused_members_and_outputs_are_left_out_of_the_block(keras_catalog: Catalog) -> None:
    b = Builder("unused", keras_catalog)
    b.graph = graph = encoder_pair(keras_catalog, shared=False)
    unused = b.add("Dense", "encoder_unused", [graph.node_by_name("encoder_hidden").id], units=3)
    encoder = graph.group("g1")
    graph.update_group(dataclasses.replace(encoder, nodes=(*encoder.nodes, unused)))
    source = generate_functional(graph, keras_catalog)
    assert "unused" not in source
    model = _run(source)
    assert _counts(model) == _counts(build_model(graph, keras_catalog))


def test_an_instance_wired_otherwise_gets_a_class_of_its_own(keras_catalog: Catalog) -> None:
    graph = encoder_pair(keras_catalog, shared=False)
    graph.set_params(graph.node_by_name("encoder_1_code").id, {"units": 4, "use_bias": False})
    source = generate_functional(graph, keras_catalog)
    assert "class Encoder(keras.layers.Layer):" in source and "class Encoder2(keras.layers.Layer):" in source
    assert 'Encoder2(name="encoder_1")' in source
    check_blocks_match_flat(graph, keras_catalog)


def test_block_class_and_variable_names_avoid_clashes(keras_catalog: Catalog) -> None:
    b = Builder("encoder", keras_catalog)
    x = b.input("x", [4])
    dense = b.add("Dense", "dense", [x], units=2)
    b.output(dense)
    b.graph.add_group(make_group(b.graph, [dense], "encoder"))
    subclassed = generate_subclassed(b.graph, keras_catalog)
    assert "class Encoder(keras.Model):" in subclassed
    assert "class EncoderBlock(keras.layers.Layer):" in subclassed
    b.graph.rename_group("g1", "model")
    functional = generate_functional(b.graph, keras_catalog)
    assert 'model_ = Model(name="model")' in functional
    assert _counts(_run(functional)) == (10, 0)


def test_sequential_export_writes_a_grouped_chain_flat(keras_catalog: Catalog) -> None:
    b = Builder("chain", keras_catalog)
    x = b.input("x", [4])
    first = b.add("Dense", "first", [x], units=3)
    second = b.add("Dense", "second", [first], units=2)
    b.output(second)
    b.graph.add_group(make_group(b.graph, [first, second], "body"))
    source = generate_sequential(b.graph, keras_catalog)
    assert "class " not in source and 'layers.Dense(3, name="first")' in source


# ------------------------------------------------------ round trips and saving
def test_grouping_round_trips_through_save_load_undo_and_export(keras_catalog: Catalog) -> None:
    graph = encoder_pair(keras_catalog, shared=True)
    grouped = generate_functional(graph, keras_catalog)
    loaded = from_dict(to_dict(graph), keras_catalog.ports_of).graph
    assert loaded == graph and generate_functional(loaded, keras_catalog) == grouped
    flat = graph.copy()
    for group in reversed(list(flat.groups.values())):
        flat.remove_group(group.id)
    for style in (generate_functional, generate_subclassed):
        code = style(flat, keras_catalog)
        assert "keras.layers.Layer" not in code
        ungrouped = loaded.copy()
        groups = list(ungrouped.groups.values())
        for group in reversed(groups):
            ungrouped.remove_group(group.id)
        assert style(ungrouped, keras_catalog) == code
        ungrouped.set_groups(groups)  # what undoing the ungroup does
        assert ungrouped == graph and style(ungrouped, keras_catalog) == style(graph, keras_catalog)


def test_a_model_with_blocks_saves_and_loads(keras_catalog: Catalog, tmp_path: Path) -> None:
    graph = encoder_pair(keras_catalog, shared=True)
    model = _run(generate_functional(graph, keras_catalog))
    inputs = {"left": np.ones((2, 6), "float32"), "right": np.zeros((2, 6), "float32")}
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    for name, values in _outputs(model, inputs).items():
        np.testing.assert_allclose(_outputs(restored, inputs)[name], values, atol=1e-6)


def test_sharing_a_layer_across_a_block_boundary_is_refused(keras_catalog: Catalog) -> None:
    graph = encoder_pair(keras_catalog, shared=False)
    score, code = graph.node_by_name("score").id, graph.node_by_name("encoder_code").id
    graph.set_shares(score, code)
    with pytest.raises(CodegenError, match="'score' shares the layer of 'encoder_code', which is inside"):
        generate_functional(graph, keras_catalog)
    graph.set_shares(score, None)
    graph.set_params(score, {"units": 1})
    graph.set_shares(code, score)
    with pytest.raises(CodegenError, match="shares the layer of 'score', outside the block"):
        generate_subclassed(graph, keras_catalog)
