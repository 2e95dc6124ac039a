"""A custom layer whose own code raises: the node's diagnostic names the file and the line."""

from __future__ import annotations

from pathlib import Path

from designer.catalog.user_modules import load_paths
from designer.engine.analysis import analyze
from tests.engine.conftest import GraphBuilder

RAISING_LAYERS = """import keras


class Dividing(keras.layers.Layer):
    def call(self, inputs):
        return inputs * self.factor()

    def factor(self):
        return 1 / 0
"""


def test_an_error_in_a_custom_layers_call_names_its_file_and_line(tmp_path: Path, catalog) -> None:
    file = tmp_path / "raising_layers.py"
    file.write_text(RAISING_LAYERS)
    loaded = load_paths([file])
    assert not loaded.problems
    builder = GraphBuilder(catalog.merged(loaded.specs))
    inputs = builder.add("Input", shape=[4])
    dividing = builder.chain(inputs, builder.add("raising_layers.Dividing", "divide"))
    builder.output(dividing)

    analysis = analyze(builder.graph, builder.catalog)

    (error,) = [d for d in analysis.errors if d.node == dividing]
    assert "raising_layers.py:9: ZeroDivisionError: division by zero" in error.message
    assert error.message.startswith("divide (raising_layers.Dividing): ")
    assert f"Fix line 9 of {file.resolve()}" in error.hint
