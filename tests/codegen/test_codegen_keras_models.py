"""Generated model code run with Keras: same shapes, parameter counts and outputs
as a model written by hand; subclassed models train, infer, save and load."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import keras
import numpy as np
import pytest
from codegen_helpers import (
    GRAPHS,
    GraphBuilder,
    custom_graph,
    import_module_from_source,
    multi_io_graph,
)
from keras import layers

from designer.catalog.spec import Catalog
from designer.codegen import can_be_sequential, generate_model
from designer.codegen.naming import MODEL_ATTRIBUTES
from designer.graph.model import ModelGraph

_modules = itertools.count()


def load_generated(source: str, folder: Path) -> ModuleType:
    return import_module_from_source(source, folder, f"generated_model_{next(_modules)}")


# ------------------------------------------------------- hand-written models
def reference_chain() -> keras.Model:
    inputs = keras.Input(shape=(8, 8, 1), name="image")
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = layers.MaxPooling2D(name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(16, activation="relu", name="hidden")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    x = layers.BatchNormalization(momentum=0.9, name="norm")(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax", name="label")(x))


def reference_branch() -> keras.Model:
    features = keras.Input(shape=(12,), name="features")
    left = layers.Dense(12, activation="tanh", name="left")(features)
    right = layers.Dense(12, use_bias=False, name="right")(features)
    added = layers.Add(name="sum_branches")([left, right])
    joined = layers.Concatenate(name="joined")([added, features])
    return keras.Model(features, layers.Dense(1, name="score")(joined))


def reference_multi_io() -> keras.Model:
    image = keras.Input(shape=(8, 8, 1), name="image")
    meta = keras.Input(shape=(4,), name="meta")
    x = layers.Flatten(name="flatten")(image)
    m = layers.Dense(8, activation="relu", name="meta_dense")(meta)
    x = layers.Concatenate(name="merged")([x, m])
    x = layers.Dense(16, activation="relu", name="trunk")(x)
    x = layers.BatchNormalization(name="trunk_norm")(x)
    x = layers.Dropout(0.25, name="trunk_dropout")(x)
    label = layers.Dense(3, activation="softmax", name="label_head")(x)
    score = layers.Dense(1, name="score_head")(x)
    return keras.Model({"image": image, "meta": meta}, {"label": label, "score": score})


def reference_shared() -> keras.Model:
    left = keras.Input(shape=(6,), name="left")
    right = keras.Input(shape=(6,), name="right")
    encoder = layers.Dense(5, activation="relu", name="encoder")
    pair = layers.Concatenate(name="pair")([encoder(left), encoder(right)])
    same = layers.Dense(1, activation="sigmoid", name="same")(pair)
    return keras.Model({"left": left, "right": right}, same)


def reference_clash() -> keras.Model:
    inputs = keras.Input(shape=(6,), name="input")
    x = inputs
    for name in ("list", "keras", "layers", "model", "name", "list_"):
        x = layers.Dense(4, name=name)(x)
    return keras.Model(inputs, layers.Dense(2, name="dense")(x))


def reference_attention() -> keras.Model:
    tokens = keras.Input(shape=(10,), dtype="int32", name="tokens")
    embedded = layers.Embedding(20, 8, name="embedding")(tokens)
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="self_attention")(embedded, embedded)
    added = layers.Add(name="residual")([embedded, attended])
    normed = layers.LayerNormalization(epsilon=1e-6, name="layer_norm")(added)
    pooled = layers.GlobalAveragePooling1D(name="pool")(normed)
    return keras.Model(tokens, layers.Dense(2, activation="softmax", name="label")(pooled))


REFERENCES: dict[str, Callable[[], keras.Model]] = {
    "chain": reference_chain,
    "branch": reference_branch,
    "multi_io": reference_multi_io,
    "shared": reference_shared,
    "clash": reference_clash,
    "attention": reference_attention,
}


# ----------------------------------------------------------------- helpers
def sample_inputs(graph: ModelGraph, batch: int = 3, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    arrays = {}
    for node in graph.input_nodes():
        shape = (batch, *node.params["shape"])
        if "int" in node.params.get("dtype", "float32"):
            arrays[node.name] = rng.integers(0, 10, size=shape).astype("int32")
        else:
            arrays[node.name] = rng.standard_normal(shape).astype("float32")
    return arrays if len(arrays) > 1 else next(iter(arrays.values()))


def as_numpy(outputs: Any) -> Any:
    if isinstance(outputs, dict):
        return {name: keras.ops.convert_to_numpy(value) for name, value in outputs.items()}
    return keras.ops.convert_to_numpy(outputs)


def copy_weights_by_name(source: keras.Model, target: keras.Model) -> None:
    for layer in source.layers:
        if layer.weights:
            target.get_layer(layer.name).set_weights(layer.get_weights())


def assert_same_outputs(actual: Any, expected: Any) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected)
        for name in expected:
            np.testing.assert_allclose(actual[name], expected[name], rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------- tests
@pytest.mark.parametrize("graph_name", sorted(GRAPHS))
def test_generated_models_match_hand_written_keras(catalog: Catalog, graph_name: str, tmp_path: Path) -> None:
    graph = GRAPHS[graph_name](catalog)
    reference = REFERENCES[graph_name]()
    inputs = sample_inputs(graph)
    expected = as_numpy(reference(inputs, training=False))
    styles = ["functional", "subclassed"] + (["sequential"] if can_be_sequential(graph) else [])
    for style in styles:
        model = load_generated(generate_model(graph, catalog, style), tmp_path).build_model()
        assert model.count_params() == reference.count_params(), style
        assert model.name == graph.name
        node_layers = {node.name for node in graph if not node.is_input and node.shares is None}
        assert {
            layer.name for layer in model.layers if not isinstance(layer, layers.InputLayer)
        } == node_layers
        copy_weights_by_name(reference, model)
        assert_same_outputs(as_numpy(model(inputs, training=False)), expected)


def test_subclassed_dropout_is_active_only_in_training(catalog: Catalog, tmp_path: Path) -> None:
    b = GraphBuilder("dropout_only", catalog)
    x = b.input("x", [400])
    b.output(b.add("Dropout", "drop", [x], rate=0.5))
    model = load_generated(generate_model(b.graph, catalog, "subclassed"), tmp_path).build_model()
    inputs = np.random.default_rng(1).uniform(1.0, 2.0, size=(4, 400)).astype("float32")
    np.testing.assert_array_equal(as_numpy(model(inputs, training=False)), inputs)
    np.testing.assert_array_equal(as_numpy(model(inputs)), inputs)
    trained = as_numpy(model(inputs, training=True))
    dropped = trained == 0.0
    assert 0.35 < dropped.mean() < 0.65
    np.testing.assert_allclose(trained[~dropped], 2.0 * inputs[~dropped], rtol=1e-6)


def test_subclassed_batch_normalization_uses_batch_statistics_only_in_training(
    catalog: Catalog, tmp_path: Path
) -> None:
    b = GraphBuilder("norm_only", catalog)
    x = b.input("x", [3])
    b.output(b.add("BatchNormalization", "norm", [x]))
    model = load_generated(generate_model(b.graph, catalog, "subclassed"), tmp_path).build_model()
    inputs = (5.0 + 3.0 * np.random.default_rng(2).standard_normal((256, 3))).astype("float32")
    inference = as_numpy(model(inputs, training=False))
    np.testing.assert_allclose(inference, inputs / np.sqrt(1.0 + 1e-3), rtol=1e-5)  # moving stats: 0 and 1
    training = as_numpy(model(inputs, training=True))
    np.testing.assert_allclose(training.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(training.std(axis=0), 1.0, atol=1e-2)


@pytest.mark.parametrize("style", ["functional", "subclassed"])
def test_generated_models_save_and_load(catalog: Catalog, style: str, tmp_path: Path) -> None:
    graph = multi_io_graph(catalog)
    module = load_generated(generate_model(graph, catalog, style), tmp_path)
    model = module.build_model()
    inputs = sample_inputs(graph, batch=5)
    model.compile(optimizer="adam", loss={"label": "sparse_categorical_crossentropy", "score": "mse"})
    targets = {"label": np.array([0, 1, 2, 1, 0]), "score": np.ones((5, 1), "float32")}
    model.fit(inputs, targets, epochs=1, verbose=0)  # moves BatchNormalization's moving statistics
    path = tmp_path / f"{style}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert_same_outputs(as_numpy(loaded(inputs, training=False)), as_numpy(model(inputs, training=False)))


@pytest.mark.parametrize("self_contained", [False, True])
def test_custom_layers_imported_or_inlined_run(
    custom_catalog: Catalog, self_contained: bool, tmp_path: Path
) -> None:
    import codegen_custom_layers as custom  # written by the custom_layers_file fixture

    graph = custom_graph(custom_catalog)
    features = keras.Input(shape=(6,), name="features")
    first, second = custom.Split(name="split")(custom.Scale(0.5, name="scale")(features))
    reference = keras.Model(features, {"first": layers.Dense(2, name="first_head")(first), "second": second})
    inputs = sample_inputs(graph)
    for style in ("functional", "subclassed"):
        source = generate_model(graph, custom_catalog, style, self_contained=self_contained)
        model = load_generated(source, tmp_path).build_model()
        assert model.count_params() == reference.count_params() == 8
        copy_weights_by_name(reference, model)
        assert_same_outputs(as_numpy(model(inputs)), as_numpy(reference(inputs)))


def test_reserved_names_cover_the_public_attributes_of_keras_model(catalog: Catalog, tmp_path: Path) -> None:
    public = {name for name in dir(keras.Model) if not name.startswith("_")}
    model = load_generated(
        generate_model(GRAPHS["chain"](catalog), catalog, "subclassed"), tmp_path
    ).build_model()
    node_attributes = {"conv", "pool", "flatten", "hidden", "dropout", "norm", "label"}
    instance = {name for name in vars(model) if not name.startswith("_")} - node_attributes
    assert public - MODEL_ATTRIBUTES == set()
    assert instance - MODEL_ATTRIBUTES == set()


def test_the_keras_catalog_gives_the_same_models(tmp_path: Path) -> None:
    keras_layers = pytest.importorskip("designer.catalog.keras_layers")
    catalog = keras_layers.build_catalog()
    for graph_name in ("chain", "multi_io", "shared", "attention"):
        graph = GRAPHS[graph_name](catalog)
        reference = REFERENCES[graph_name]()
        for style in ("functional", "subclassed"):
            model = load_generated(generate_model(graph, catalog, style), tmp_path).build_model()
            assert model.count_params() == reference.count_params(), (graph_name, style)
