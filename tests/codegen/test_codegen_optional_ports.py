"""Optional tensor arguments (MultiHeadAttention's key and attention_mask, an RNN's
initial_state) and outputs that follow the params (LSTM's return_state), in both styles:
the generated model equals a hand-written Keras model with the same weights."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import ModuleType

import keras
import numpy as np
import pytest
from codegen_helpers import GraphBuilder, import_module_from_source
from keras import layers

from designer.catalog.spec import Catalog
from designer.codegen import CodegenError, generate_model
from designer.graph.model import Edge, ModelGraph

keras_layers = pytest.importorskip("designer.catalog.keras_layers")

_modules = itertools.count()


@pytest.fixture(scope="module")
def keras_catalog() -> Catalog:
    return keras_layers.build_catalog()


def load_generated(source: str, folder: Path) -> ModuleType:
    return import_module_from_source(source, folder, f"generated_optional_{next(_modules)}")


def attention_graph(catalog: Catalog) -> ModelGraph:
    """query, value, key and an attention mask into one MultiHeadAttention."""
    b = GraphBuilder("masked_attention", catalog)
    query = b.input("query", [5, 8])
    value = b.input("value", [7, 8])
    key = b.input("key", [7, 6])
    mask = b.input("mask", [5, 7], dtype="bool")
    attention = b.add("MultiHeadAttention", "attention", [query, value], num_heads=2, key_dim=4)
    b.graph.connect(Edge(key, 0, attention, 2))  # key: the first optional port
    b.graph.connect(Edge(mask, 0, attention, 6))  # attention_mask: the fifth
    b.output(attention, "attended")
    return b.graph


def reference_attention() -> keras.Model:
    query = keras.Input((5, 8), name="query")
    value = keras.Input((7, 8), name="value")
    key = keras.Input((7, 6), name="key")
    mask = keras.Input((5, 7), dtype="bool", name="mask")
    attention = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="attention")
    attended = attention(query, value, key=key, attention_mask=mask)
    inputs = {"query": query, "value": value, "key": key, "mask": mask}
    return keras.Model(inputs, attended)


def state_graph(catalog: Catalog) -> ModelGraph:
    """An encoder LSTM returning its states, which start a decoder LSTM."""
    b = GraphBuilder("encoder_decoder", catalog)
    source = b.input("source", [6, 4])
    target = b.input("target", [5, 3])
    encoder = b.add("LSTM", "encoder", [source], units=8, return_state=True)
    decoder = b.add("LSTM", "decoder", [target], units=8, return_sequences=True)
    b.graph.connect(Edge(encoder, 1, decoder, 1))  # initial_state[0] <- state_h
    b.graph.connect(Edge(encoder, 2, decoder, 2))  # initial_state[1] <- state_c
    b.output(decoder, "decoded")
    b.output(encoder, "encoded_h", port=1)
    return b.graph


def reference_states() -> keras.Model:
    source = keras.Input((6, 4), name="source")
    target = keras.Input((5, 3), name="target")
    _, state_h, state_c = layers.LSTM(8, return_state=True, name="encoder")(source)
    decoded = layers.LSTM(8, return_sequences=True, name="decoder")(target, initial_state=[state_h, state_c])
    return keras.Model({"source": source, "target": target}, {"decoded": decoded, "encoded_h": state_h})


def scores_graph(catalog: Catalog) -> ModelGraph:
    """Self-attention returning its scores too: a call param adds an output."""
    b = GraphBuilder("self_attention", catalog)
    sequence = b.input("sequence", [5, 8])
    attention = b.add(
        "MultiHeadAttention",
        "attention",
        [sequence, sequence],
        num_heads=2,
        key_dim=4,
        return_attention_scores=True,
    )
    b.output(attention, "attended")
    b.output(attention, "scores", port=1)
    return b.graph


def reference_scores() -> keras.Model:
    sequence = keras.Input((5, 8), name="sequence")
    attention = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="attention")
    attended, scores = attention(sequence, sequence, return_attention_scores=True)
    return keras.Model(sequence, {"attended": attended, "scores": scores})


def sample(shapes: dict[str, tuple[tuple[int, ...], str]]) -> dict[str, np.ndarray]:
    generator = np.random.default_rng(0)
    data = {}
    for name, (shape, dtype) in shapes.items():
        values = generator.normal(size=(2, *shape))
        data[name] = values > 0 if dtype == "bool" else values.astype("float32")
    return data


ATTENTION_INPUTS = {
    "query": ((5, 8), "float32"),
    "value": ((7, 8), "float32"),
    "key": ((7, 6), "float32"),
    "mask": ((5, 7), "bool"),
}
STATE_INPUTS = {"source": ((6, 4), "float32"), "target": ((5, 3), "float32")}
CASES = {
    "attention": (attention_graph, reference_attention, ATTENTION_INPUTS),
    "states": (state_graph, reference_states, STATE_INPUTS),
    "scores": (scores_graph, reference_scores, {"sequence": ((5, 8), "float32")}),
}


@pytest.mark.parametrize("style", ["functional", "subclassed"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_optional_ports_export_equals_hand_written_keras(
    keras_catalog: Catalog, case: str, style: str, tmp_path: Path
) -> None:
    make_graph, make_reference, shapes = CASES[case]
    source = generate_model(make_graph(keras_catalog), keras_catalog, style)
    model = load_generated(source, tmp_path).build_model()
    reference = make_reference()
    assert model.count_params() == reference.count_params()
    for layer in reference.layers:
        if layer.weights:
            next(m for m in _layers(model) if m.name == layer.name).set_weights(layer.get_weights())
    data = sample(shapes)
    data = data if len(data) > 1 else next(iter(data.values()))
    actual, expected = model(data), reference(data)
    for got, want in zip(keras.tree.flatten(actual), keras.tree.flatten(expected), strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), atol=1e-6
        )


def _layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model._flatten_layers(include_self=False)]


def test_optional_ports_are_passed_by_keyword(keras_catalog: Catalog) -> None:
    attention = generate_model(attention_graph(keras_catalog), keras_catalog, "functional")
    assert "query, value, key=key, attention_mask=mask_" in " ".join(attention.split())
    states = generate_model(state_graph(keras_catalog), keras_catalog, "functional")
    assert "initial_state=[encoder_state_h, encoder_state_c]" in " ".join(states.split())


def test_a_call_param_is_passed_to_the_call_not_the_constructor(keras_catalog: Catalog) -> None:
    source = generate_model(scores_graph(keras_catalog), keras_catalog, "functional")
    flat = " ".join(source.split())
    assert 'key_dim=4, name="attention" )(sequence, sequence, return_attention_scores=True)' in flat
    assert scores_graph(keras_catalog).nodes["n2"].ports.outputs == ("output", "attention_scores")


def test_sequential_export_refuses_a_call_param_it_cannot_pass(keras_catalog: Catalog) -> None:
    b = GraphBuilder("tied", keras_catalog)
    features = b.input("features", [4])
    logits = b.add("ReversibleEmbedding", "logits", [features], input_dim=10, output_dim=4, reverse=True)
    b.output(logits)
    with pytest.raises(CodegenError, match="'logits' is called with reverse=True"):
        generate_model(b.graph, keras_catalog, "sequential")
    assert "features, reverse=True" in generate_model(b.graph, keras_catalog, "functional")
