"""`designer import` records the custom-layer files an imported model's classes come from, with
their trust, so that the project opens as it was imported (issue 14, item 7)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from designer.cli import run_command

SCALING = """
import keras


@keras.saving.register_keras_serializable(package="import_record")
class {name}(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {{**super().get_config(), "factor": self.factor}}
"""

BUILDER = (
    SCALING.format(name="BuilderScale")
    + """

def build():
    inputs = keras.Input((3,), name="x")
    return keras.Model(inputs, BuilderScale(3.0, name="scale")(keras.layers.Dense(2, name="d")(inputs)))
"""
)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def own_trust_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))


def test_a_module_function_import_records_the_file_defining_its_class(tmp_path: Path) -> None:
    (tmp_path / "scale_builder.py").write_text(BUILDER)
    output = tmp_path / "projects" / "built.json"
    output.parent.mkdir()
    code, out, err = run("import", "--trust", f"{tmp_path / 'scale_builder.py'}:build", "-o", str(output))
    assert code == 0, err
    assert "loads the custom layers of" in out
    data = json.loads(output.read_text())
    assert data["custom_layers"] == ["../scale_builder.py"]
    assert {node["type"] for node in data["nodes"]} >= {"scale_builder.BuilderScale"}
    code, out, err = run("validate", str(output))  # no --layers, no --trust: as it was imported
    assert code == 0, out + err
    assert out.strip().endswith("0 error(s), 0 warning(s)")


def test_a_keras_file_imports_with_layers_and_records_them(tmp_path: Path) -> None:
    import keras

    from designer.catalog.user_modules import load_module

    layers_file = tmp_path / "record_scaling.py"
    layers_file.write_text(SCALING.format(name="RecordScale"))
    scale = load_module(layers_file).module.RecordScale  # type: ignore[union-attr]
    inputs = keras.Input((3,), name="x")
    keras.Model(inputs, scale(3.0, name="scale")(inputs)).save(tmp_path / "scaled.keras")
    forget_module("record_scaling")
    output = tmp_path / "scaled.json"
    source = str(tmp_path / "scaled.keras")
    code, _, err = run("import", source, "--layers", str(layers_file), "-o", str(output))
    assert code == 2 and "record_scaling.py" in err and "--trust" in err and not output.exists()
    code, out, err = run("import", source, "--layers", str(layers_file), "--trust", "-o", str(output))
    assert code == 0, err
    assert json.loads(output.read_text())["custom_layers"] == ["record_scaling.py"]
    code, out, err = run("validate", str(output))
    assert code == 0, out + err


def forget_module(name: str) -> None:
    """Drop a user module the test loaded itself, as a fresh `designer` process would not have it."""
    import sys

    sys.modules.pop(name, None)
