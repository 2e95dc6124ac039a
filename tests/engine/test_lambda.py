"""A Lambda node (issue 14, item 5): its expression of x is code that runs only once trusted, its
shape comes from Keras, and both exports write `layers.Lambda(lambda x: ...)` that runs."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest

from designer.catalog import lambda_layer
from designer.catalog.expressions import expression_digest, expression_problem
from designer.catalog.spec import Catalog
from designer.codegen import export
from designer.engine.analysis import analyze
from designer.trust import TrustStore

MEAN = "keras.ops.mean(x, axis=-1, keepdims=True)"


@pytest.fixture(autouse=True)
def own_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(lambda_layer, "_ALLOWED", set())


def lambda_design(builder: Callable) -> tuple[object, str, str]:
    b = builder("lambda_model")
    inputs = b.add("Input", "features", shape=[6])
    scaled = b.chain(inputs, b.add("Lambda", "scale", function="x * 2 + 1"))
    mean = b.chain(scaled, b.add("Lambda", "mean", function=MEAN))
    b.output(b.chain(mean, b.add("Dense", "head", units=3)))
    return b.graph, scaled, mean


def test_a_lambda_is_offered_with_its_expression_as_function(catalog: Catalog) -> None:
    spec = catalog["Lambda"]
    assert [param.name for param in spec.params] == ["function", "output_shape"]
    assert spec.params[0].kind == "expression" and spec.initial_params()["function"] == "x"
    assert spec.ports.inputs == ("inputs",) and spec.ports.optional == ()


def test_an_untrusted_lambda_is_an_error_that_says_why_and_how(builder: Callable, catalog: Catalog) -> None:
    graph, scaled, _ = lambda_design(builder)
    analysis = analyze(graph, catalog)
    messages = [d.message for d in analysis.errors if d.node == scaled]
    assert messages and "Python code" in messages[0] and "--trust" in messages[0]
    assert "lambda x: x * 2 + 1" in messages[0]


def test_a_trusted_lambda_infers_its_shape(builder: Callable, catalog: Catalog) -> None:
    graph, scaled, mean = lambda_design(builder)
    lambda_layer.allow_expressions(["x * 2 + 1", MEAN])
    analysis = analyze(graph, catalog)
    assert analysis.errors == []
    assert analysis.results[scaled].outputs[0].shape == (None, 6)
    assert analysis.results[mean].outputs[0].shape == (None, 1)


def test_consent_in_the_store_covers_the_expression_not_the_project(
    builder: Callable, catalog: Catalog, tmp_path: Path
) -> None:
    graph, _, _ = lambda_design(builder)
    TrustStore().trust_expressions(["x * 2 + 1", MEAN])
    assert analyze(graph, catalog).errors == []
    assert not lambda_layer.is_trusted("x * 3")  # an edited expression asks again
    assert expression_digest("x * 2") != expression_digest("x * 3")


def test_an_expression_is_one_python_expression_of_x() -> None:
    assert expression_problem("x * 2") is None
    assert expression_problem("keras.ops.relu(x) + [y for y in range(2)][0]") is None
    assert "not a Python expression" in (expression_problem("x; import os") or "")
    assert "uses os" in (expression_problem("os.system('ls')") or "")


@pytest.mark.parametrize("style", ["functional", "subclassed"])
def test_both_exports_write_the_lambda_and_run(
    builder: Callable, catalog: Catalog, tmp_path: Path, style: str
) -> None:
    graph, _, _ = lambda_design(builder)
    source = export(graph, catalog, style)["model.py"]
    assert "layers.Lambda(lambda x: x * 2 + 1" in source
    assert "lambda x: keras.ops.mean(x, axis=-1, keepdims=True)" in source
    path = tmp_path / f"lambda_{style}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    model = module.build_model()
    features = np.arange(12, dtype="float32").reshape(2, 6)
    scale = model.get_layer("scale") if style == "functional" else None
    output = keras.ops.convert_to_numpy(model(features))
    assert output.shape == (2, 3)
    if scale is not None:
        np.testing.assert_allclose(keras.ops.convert_to_numpy(scale(features)), features * 2 + 1)
