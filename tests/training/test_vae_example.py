"""The variational autoencoder example: an encoder and a decoder block, Sampling and a KL term
added by a layer. It validates, builds, exports in both styles and trains on the digits, with a
loss that goes down and holds the KL term."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from sklearn import datasets

from designer.catalog.spec import Catalog
from designer.codegen import generate_functional, generate_subclassed, generate_training_script
from designer.codegen.blocks import layer_paths
from designer.engine.analysis import analyze, default_catalog, load_project
from designer.engine.build import build_model
from designer.graph.project import save

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "vae_digits.json"
_serial = itertools.count()


@pytest.fixture(scope="module")
def vae_catalog() -> Catalog:
    """Keras' layers and the library's, Sampling and KLDivergenceLoss among them."""
    return default_catalog()


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    """The digits as the sklearn loader of the training script gives them: 64 pixels in [0, 1]."""
    return (datasets.load_digits().data / 16.0).astype("float32")


def _run(source: str) -> keras.Model:
    namespace: dict[str, Any] = {"__name__": f"generated_vae_{next(_serial)}"}
    exec(compile(source, "generated", "exec"), namespace)
    return namespace["build_model"]()


def _counts(model: keras.Model) -> tuple[int, int]:
    trainable = sum(math.prod(v.shape) for v in model.trainable_weights)
    return trainable, sum(math.prod(v.shape) for v in model.non_trainable_weights)


def _layer_at(model: keras.Model, path: str) -> keras.layers.Layer:
    outer, _, inner = path.partition("/")
    layer = model.get_layer(outer)
    if not inner:
        return layer
    return next(
        sub for sub in layer._flatten_layers(include_self=False, recursive=False) if sub.name == inner
    )


def test_the_example_validates_builds_and_round_trips(vae_catalog: Catalog, tmp_path: Path) -> None:
    project = load_project(EXAMPLE, vae_catalog)
    graph = project.graph
    groups = {group.name: [graph.nodes[n].name for n in group.nodes] for group in graph.groups.values()}
    assert groups == {
        "encoder": ["encoder_hidden", "z_mean", "z_log_var"],
        "decoder": ["decoder_hidden", "reconstruction"],
    }
    analysis = analyze(graph, vae_catalog)
    assert analysis.diagnostics == []
    assert _counts(build_model(graph, vae_catalog)) == analysis.totals()
    assert analysis.results[graph.node_by_name("reconstruction").id].outputs[0].shape == (None, 64)
    save(tmp_path / "vae.json", project)
    assert load_project(tmp_path / "vae.json", vae_catalog).graph == graph
    assert (tmp_path / "vae.json").read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")


def test_the_example_exports_in_both_styles(vae_catalog: Catalog, pixels: np.ndarray) -> None:
    graph = load_project(EXAMPLE, vae_catalog).graph
    flat = build_model(graph, vae_catalog)
    paths = layer_paths(graph, vae_catalog)
    assert paths["z_mean"] == "encoder/z_mean" and paths["decoder_hidden"] == "decoder/hidden"
    expected = keras.ops.convert_to_numpy(flat(pixels[:8]))
    for generate in (generate_functional, generate_subclassed):
        source = generate(graph, vae_catalog)
        assert source.count("class Encoder(keras.layers.Layer):") == 1
        assert source.count("class Decoder(keras.layers.Layer):") == 1
        model = _run(source)
        assert _counts(model) == _counts(flat)
        for layer in flat.layers:
            if layer.weights:
                _layer_at(model, paths.get(layer.name, layer.name)).set_weights(layer.get_weights())
        outputs = keras.ops.convert_to_numpy(model(pixels[:8]))  # Sampling is seeded: the same noise
        np.testing.assert_allclose(outputs, expected, atol=1e-5, rtol=0)
        assert len(model.losses) == 1


def test_the_exported_model_trains_on_digits_with_the_kl_term(
    vae_catalog: Catalog, pixels: np.ndarray
) -> None:
    project = load_project(EXAMPLE, vae_catalog)
    keras.utils.set_random_seed(0)
    model = _run(generate_functional(project.graph, vae_catalog))
    loss = project.training["losses"]["reconstruction"]  # one output: one loss, as train.py compiles it
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss=loss)
    history = model.fit(pixels, pixels, epochs=4, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    reconstruction = model(pixels, training=False)  # an eager call: its KL term is a number
    assert len(model.losses) == 1
    kl_term = float(keras.ops.convert_to_numpy(model.losses[0]))
    reconstruction_loss = float(keras.ops.mean(keras.losses.binary_crossentropy(pixels, reconstruction)))
    total = model.evaluate(pixels, pixels, verbose=0)
    assert kl_term > 0.001
    assert total > reconstruction_loss + kl_term / 2


def test_the_subclassed_export_trains_too(vae_catalog: Catalog, pixels: np.ndarray) -> None:
    project = load_project(EXAMPLE, vae_catalog)
    model = _run(generate_subclassed(project.graph, vae_catalog))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(pixels, pixels, epochs=2, batch_size=64, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    assert len(model.losses) == 1


def test_the_training_script_trains_the_autoencoder_on_its_inputs(vae_catalog: Catalog) -> None:
    project = load_project(EXAMPLE, vae_catalog)
    script = generate_training_script(project.graph, project.training)
    assert "    y = x\n" in script
