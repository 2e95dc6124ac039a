"""Both code styles build, run and take their inputs alike, on TensorFlow and on JAX (#14):
a layer that makes tensors in its build (Normalization, as in EfficientNet and ConvNeXt)
works in a subclassed model too, and a model with several inputs takes a dict by input
name or a list (tuple) in input order, without warnings, in both styles."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from codegen_helpers import GraphBuilder, chain_graph, import_module_from_source, multi_io_graph
from keras_roundtrip import MODELS, input_structures, round_trip

from designer.catalog.spec import Catalog
from designer.codegen import generate_functional, generate_model, generate_subclassed

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOLERANCE = 1e-5


def on_jax(folder: Path, *checks: str) -> dict[str, Any]:
    """The checks of keras_roundtrip.py run in a process of their own on the JAX backend."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed (pip install -e .[test])")
    paths = [str(ROOT), str(HERE), os.environ.get("PYTHONPATH", "")]
    environment = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    finished = subprocess.run(
        [sys.executable, str(HERE / "keras_roundtrip.py"), str(folder), *checks],
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads(finished.stdout.strip().splitlines()[-1])
    assert results["backend"] == "jax"
    return results


def assert_exact_in_both_styles(results: dict[str, dict[str, float]]) -> None:
    for style in ("functional", "subclassed"):
        assert results[style]["parameters"] == results["original"]["parameters"], style
        assert results[style]["difference"] <= TOLERANCE, style


def assert_every_way_agrees(results: dict[str, dict[str, float]]) -> None:
    for style in ("functional", "subclassed"):
        assert set(results[style]) == {"list", "tuple", "predict list", "predict tuple", "predict dict"}
        assert max(results[style].values()) <= TOLERANCE, (style, results[style])


# ------------------------------------------------ layers that make tensors in build
def test_the_subclassed_model_builds_its_layers_on_symbolic_inputs(catalog: Catalog) -> None:
    source = generate_subclassed(chain_graph(catalog), catalog)
    assert "    def build(self, input_shape):\n" in source
    assert "        self.call(keras.KerasTensor(input_shape))\n" in source


def test_symbolic_inputs_keep_the_dtype_of_each_input(catalog: Catalog) -> None:
    b = GraphBuilder("tokens_and_meta", catalog)
    tokens = b.input("tokens", [5], dtype="int32")
    meta = b.input("meta", [3])
    embedded = b.add("Embedding", "embedding", [tokens], input_dim=10, output_dim=3)
    pooled = b.add("GlobalAveragePooling1D", "pool", [embedded])
    b.output(b.add("Concatenate", "joined", [pooled, meta]))
    source = generate_subclassed(b.graph, catalog)
    assert '"tokens": keras.KerasTensor(input_shape["tokens"], dtype="int32"),' in source
    assert '"meta": keras.KerasTensor(input_shape["meta"]),' in source


def test_a_normalization_model_round_trips_in_both_styles(tmp_path: Path) -> None:
    assert_exact_in_both_styles(round_trip(MODELS["normalization"](), tmp_path))


def test_normalization_and_input_structures_in_both_styles_on_jax(tmp_path: Path) -> None:
    """One JAX process for both checks (#14 items 1 and 2): starting one takes a while."""
    results = on_jax(tmp_path, "normalization", "input_structures")
    assert_exact_in_both_styles(results["normalization"])
    assert_every_way_agrees(results["input_structures"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["EfficientNetB0", "ConvNeXtTiny"])
def test_applications_with_normalization_round_trip_in_both_styles(name: str, tmp_path: Path) -> None:
    assert_exact_in_both_styles(round_trip(MODELS[name](), tmp_path))


@pytest.mark.slow
def test_efficientnet_round_trips_in_both_styles_on_jax(tmp_path: Path) -> None:
    assert_exact_in_both_styles(on_jax(tmp_path, "EfficientNetB0")["EfficientNetB0"])


# ---------------------------------------------------------- input structures
def test_several_inputs_are_taken_as_a_dict_or_a_list_in_both_styles(tmp_path: Path) -> None:
    assert_every_way_agrees(input_structures(tmp_path))


@pytest.mark.parametrize("style", ["functional", "subclassed"])
def test_one_input_is_taken_as_an_array(catalog: Catalog, style: str, tmp_path: Path) -> None:
    source = generate_model(chain_graph(catalog), catalog, style)
    model = import_module_from_source(source, tmp_path, f"one_input_{style}").build_model()
    image = np.random.default_rng(2).standard_normal((3, 8, 8, 1)).astype("float32")
    called = keras.ops.convert_to_numpy(model(image, training=False))
    np.testing.assert_allclose(model.predict(image, verbose=0), called, atol=TOLERANCE)


def test_the_functional_model_lists_its_inputs_in_input_order(catalog: Catalog) -> None:
    source = generate_functional(multi_io_graph(catalog), catalog)
    assert "inputs=[image, meta]," in source


def test_the_subclassed_model_turns_a_list_into_a_dict_by_input_name(catalog: Catalog) -> None:
    source = generate_subclassed(multi_io_graph(catalog), catalog)
    turned = '            inputs = dict(zip(("image", "meta"), inputs, strict=True))\n'
    assert "        if not isinstance(inputs, dict):\n" + turned in source
    assert 'image = inputs["image"]' in source and 'meta = inputs["meta"]' in source
