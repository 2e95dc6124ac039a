"""Optional input ports and params-dependent output ports through the engine: shape
inference gives each port its shape, and a Keras model using key=, attention_mask=,
initial_state= and return_state=True imports and round-trips through both exports."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from keras import layers

from designer.catalog.spec import Catalog
from designer.codegen import generate_functional, generate_subclassed
from designer.engine.analysis import analyze
from designer.engine.build import build_model
from designer.engine.importer import import_model, load_weights_by_name
from designer.engine.inference import infer
from designer.graph.errors import PortError
from designer.graph.model import Edge, ModelGraph, Node


def attention_and_states() -> keras.Model:
    """MultiHeadAttention(query, value, key, attention_mask) and an encoder LSTM whose states
    start a decoder LSTM."""
    query = keras.Input((5, 8), name="query")
    value = keras.Input((7, 8), name="value")
    key = keras.Input((7, 6), name="key")
    mask = keras.Input((5, 7), dtype="bool", name="mask")
    attended = layers.MultiHeadAttention(2, key_dim=4, name="attention")(
        query, value, key=key, attention_mask=mask
    )
    _, state_h, state_c = layers.LSTM(8, return_state=True, name="encoder")(value)
    decoded = layers.LSTM(8, name="decoder")(attended, initial_state=[state_h, state_c])
    inputs = {"query": query, "value": value, "key": key, "mask": mask}
    return keras.Model(inputs, {"decoded": decoded, "state": state_c}, name="attention_and_states")


def feed(seed: int = 0) -> dict[str, np.ndarray]:
    generator = np.random.default_rng(seed)
    return {
        "query": generator.normal(size=(2, 5, 8)).astype("float32"),
        "value": generator.normal(size=(2, 7, 8)).astype("float32"),
        "key": generator.normal(size=(2, 7, 6)).astype("float32"),
        "mask": generator.normal(size=(2, 5, 7)) > 0,
    }


def outputs(model: keras.Model) -> list[np.ndarray]:
    result = model(feed())
    values = [result[name] for name in sorted(result)] if isinstance(result, dict) else [result]
    return [keras.ops.convert_to_numpy(value) for value in values]


def load_module(source: str, folder: Path, name: str) -> Any:
    path = folder / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_import_keeps_optional_ports_and_states(catalog: Catalog, tmp_path: Path) -> None:
    original = attention_and_states()
    result = import_model(original, catalog)
    graph = result.graph
    nodes = {node.name: node for node in graph.nodes.values()}
    attention_inputs = {
        e.target_port: graph.nodes[e.source].name for e in graph.input_edges(nodes["attention"].id)
    }
    assert attention_inputs == {0: "query", 1: "value", 2: "key", 6: "mask"}
    assert nodes["encoder"].ports.outputs == ("output", "state_h", "state_c")
    decoder_inputs = [(e.source_port, e.target_port) for e in graph.input_edges(nodes["decoder"].id)]
    assert decoder_inputs == [(0, 0), (1, 1), (2, 2)]
    analysis = analyze(graph, result.catalog(catalog))
    assert [d.message for d in analysis.errors] == []
    assert sum(analysis.totals()) == original.count_params()
    expected = outputs(original)
    rebuilt = build_model(graph, result.catalog(catalog))
    load_weights_by_name(rebuilt, original, result.origins)
    for mine, theirs in zip(outputs(rebuilt), expected, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)
    for style, generate in (("functional", generate_functional), ("subclassed", generate_subclassed)):
        exported = load_module(
            generate(graph, result.catalog(catalog)), tmp_path, f"exported_{style}"
        ).build_model()
        assert exported.count_params() == original.count_params(), style
        load_weights_by_name(exported, original, result.origins)
        for mine, theirs in zip(outputs(exported), expected, strict=True):
            np.testing.assert_allclose(mine, theirs, atol=1e-5)


def test_import_keeps_a_call_switch_and_its_extra_output(catalog: Catalog, tmp_path: Path) -> None:
    sequence = keras.Input((5, 8), name="sequence")
    attended, scores = layers.MultiHeadAttention(2, key_dim=4, name="attention")(
        sequence, sequence, return_attention_scores=True
    )
    original = keras.Model(sequence, [attended, scores], name="scores")
    result = import_model(original, catalog)
    node = next(n for n in result.graph.nodes.values() if n.name == "attention")
    assert node.params["return_attention_scores"] is True
    assert node.ports.outputs == ("output", "attention_scores")
    shapes = infer(result.graph, result.catalog(catalog))[node.id].outputs
    assert [s.shape for s in shapes] == [(None, 5, 8), (None, 2, 5, 5)]
    data = np.random.default_rng(1).normal(size=(2, 5, 8)).astype("float32")
    expected = [keras.ops.convert_to_numpy(t) for t in original(data)]
    for style, generate in (("functional", generate_functional), ("subclassed", generate_subclassed)):
        module = load_module(generate(result.graph, result.catalog(catalog)), tmp_path, f"scores_{style}")
        exported = module.build_model()
        load_weights_by_name(exported, original, result.origins)
        got = exported(data)
        marks = [mark.name for mark in result.graph.outputs]
        values = [got[name] for name in marks] if isinstance(got, dict) else got
        for mine, theirs in zip(values, expected, strict=True):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(mine), theirs, atol=1e-5)


def test_inference_gives_every_port_its_shape(catalog: Catalog) -> None:
    result = import_model(attention_and_states(), catalog)
    graph = result.graph
    nodes = {node.name: node.id for node in graph.nodes.values()}
    results = infer(graph, result.catalog(catalog))
    assert [s.shape for s in results[nodes["attention"]].outputs] == [(None, 5, 8)]
    assert [s.shape for s in results[nodes["encoder"]].outputs] == [(None, 8), (None, 8), (None, 8)]
    assert [s.shape for s in results[nodes["decoder"]].outputs] == [(None, 8)]


def test_return_state_adds_outputs_and_dropping_a_used_one_is_refused(catalog: Catalog) -> None:
    graph = ModelGraph()
    spec = catalog["LSTM"]
    graph.add_node(Node("i", "Input", "sequence", {"shape": [6, 4]}, ports=catalog["Input"].ports))
    graph.add_node(Node("a", "LSTM", "encoder", {"units": 8}, ports=spec.ports.for_params({"units": 8})))
    graph.add_node(Node("b", "LSTM", "decoder", {"units": 8}, ports=spec.ports.for_params({"units": 8})))
    assert graph.node("a").ports.outputs == ("output",)
    assert graph.node("b").ports.optional == ("initial_state[0]", "initial_state[1]", "mask")
    graph.set_params("a", {"units": 8, "return_state": True})
    assert graph.node("a").ports.outputs == ("output", "state_h", "state_c")
    graph.connect(Edge("i", 0, "a", 0))
    graph.connect(Edge("i", 0, "b", 0))
    graph.connect(Edge("a", 2, "b", 2))  # state_c into initial_state[1]
    with pytest.raises(PortError, match="removes output 'state_c' of 'encoder', which feeds decoder"):
        graph.set_params("a", {"units": 8, "return_state": False})
    assert graph.node("a").params["return_state"] is True
    graph.disconnect(Edge("a", 2, "b", 2))
    graph.set_params("a", {"units": 8})
    assert graph.node("a").ports.outputs == ("output",)


def test_a_layer_whose_outputs_only_feed_keyword_arguments_is_imported(catalog: Catalog) -> None:
    """The encoder's states reach the model only through the decoder's initial_state=."""
    value = keras.Input((7, 8), name="value")
    _, state_h, state_c = layers.LSTM(8, return_state=True, name="encoder")(value)
    decoded = layers.LSTM(8, name="decoder")(value, initial_state=[state_h, state_c])
    original = keras.Model(value, decoded, name="states_only")
    graph = import_model(original, catalog).graph
    encoder, decoder = graph.node_by_name("encoder"), graph.node_by_name("decoder")
    assert encoder is not None and decoder is not None
    fed = sorted((edge.source_port, edge.target_port) for edge in graph.input_edges(decoder.id))
    assert [source for source, _ in fed if source] == [1, 2]  # state_h, state_c on initial_state
    assert all(edge.source == encoder.id for edge in graph.input_edges(decoder.id) if edge.target_port)
