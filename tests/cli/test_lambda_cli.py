"""Lambda layers on the command line (issue 14, item 5): a project's Lambda validates and exports
only with --trust; a .keras file holding `Lambda(lambda x: x * 2)` imports only with --trust, as
an expression node that exports and runs."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from designer.catalog import lambda_layer
from designer.cli import run_command
from designer.engine.analysis import default_catalog
from designer.graph import project
from designer.graph.model import Edge, ModelGraph, Node


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def own_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(lambda_layer, "_ALLOWED", set())


def lambda_project(path: Path) -> Path:
    """Input(4) -> Lambda(x * 2 + 1) -> Dense(2), made with the graph API and saved."""
    catalog = default_catalog()
    graph = ModelGraph("lambda_cli")
    nodes = [
        Node("n1", "Input", "features", {"shape": [4]}, ports=catalog["Input"].ports),
        Node("n2", "Lambda", "affine", {"function": "x * 2 + 1"}, ports=catalog["Lambda"].ports),
        Node("n3", "Dense", "head", {"units": 2}, ports=catalog["Dense"].ports),
    ]
    for node in nodes:
        graph.add_node(node)
    graph.connect(Edge("n1", 0, "n2", 0))
    graph.connect(Edge("n2", 0, "n3", 0))
    graph.mark_output("n3")
    project.save(path, project.Project(graph))
    return path


def load_module(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_a_lambda_validates_only_with_trust(tmp_path: Path) -> None:
    file = lambda_project(tmp_path / "lambda.json")
    code, out, _ = run("validate", str(file))
    assert code == 1 and "error [affine]" in out
    assert "Python code (lambda x: x * 2 + 1)" in out and "--trust" in out
    code, out, err = run("validate", "--trust", str(file))
    assert code == 0, out + err
    assert out.strip().endswith("0 error(s), 0 warning(s)")
    lambda_layer._ALLOWED.clear()  # a later run: the consent was recorded in the trust store
    code, out, err = run("validate", str(file))
    assert code == 0, out + err


@pytest.mark.parametrize("style", ["functional", "subclassed"])
def test_a_trusted_lambda_exports_and_runs(tmp_path: Path, style: str) -> None:
    file = lambda_project(tmp_path / "lambda.json")
    output = tmp_path / f"lambda_{style}.py"
    code, out, _ = run("export", str(file), "--style", style, "-o", str(output))
    assert code == 1 and "export refused" in out
    code, out, err = run("export", "--trust", str(file), "--style", style, "-o", str(output))
    assert code == 0, out + err
    assert "layers.Lambda(lambda x: x * 2 + 1" in output.read_text()
    model = load_module(output).build_model()  # type: ignore[attr-defined]
    assert keras.ops.convert_to_numpy(model(np.ones((3, 4), "float32"))).shape == (3, 2)


def test_a_keras_file_with_a_lambda_imports_only_with_trust(tmp_path: Path) -> None:
    inputs = keras.Input((3,), name="features")
    doubled = keras.layers.Lambda(lambda x: x * 2, name="double")(inputs)
    original = keras.Model(inputs, keras.layers.Dense(2, name="head")(doubled))
    original.save(tmp_path / "lambda.keras")
    output = tmp_path / "imported.json"
    code, _, err = run("import", str(tmp_path / "lambda.keras"), "-o", str(output))
    assert code == 2 and not output.exists()
    assert "holds a Lambda layer" in err and "runs when the model is loaded" in err and "--trust" in err
    code, out, err = run("import", "--trust", str(tmp_path / "lambda.keras"), "-o", str(output))
    assert code == 0, out + err
    nodes = {node["name"]: node for node in json.loads(output.read_text())["nodes"]}
    assert nodes["double"]["type"] == "Lambda" and nodes["double"]["params"]["function"] == "x * 2"
    code, out, err = run("validate", str(output))  # --trust at import trusted the expression
    assert code == 0, out + err
    exported = tmp_path / "imported_model.py"
    code, out, err = run("export", str(output), "--style", "subclassed", "-o", str(exported))
    assert code == 0, out + err
    model = load_module(exported).build_model()  # type: ignore[attr-defined]
    features = np.arange(6, dtype="float32").reshape(2, 3)
    model.set_weights(original.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(features)), keras.ops.convert_to_numpy(original(features)), rtol=1e-6
    )
