"""Self-contained export of layer files written the way TensorFlow's tutorials write them
(`from tensorflow import keras`, `from tensorflow.keras import layers`): the copied imports
never clash with the generated code's own `import keras` / `from keras import layers` (#14)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import pytest
from codegen_helpers import GraphBuilder, P, build_test_catalog, import_module_from_source

from designer.catalog.spec import Catalog, LayerSpec
from designer.codegen import CodegenError, generate_model
from designer.codegen.formatting import lint

TUTORIAL_MODULE = "tutorial_style_layers"
TUTORIAL_SOURCE = textwrap.dedent(
    '''
    """A layer as TensorFlow's tutorials write them."""

    import tensorflow as tf
    from tensorflow import keras
    from tensorflow.keras import layers


    class Scale(layers.Layer):
        """Multiplies its input by a learned vector."""

        def __init__(self, stddev=0.5, **kwargs):
            super().__init__(**kwargs)
            self.stddev = stddev

        def build(self, input_shape):
            initializer = keras.initializers.RandomNormal(stddev=self.stddev, seed=1)
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer=initializer, name="scale")

        def call(self, inputs):
            return tf.multiply(inputs, self.scale)

        def get_config(self):
            return {**super().get_config(), "stddev": self.stddev}
    '''
).lstrip()


def spec_of(path: Path, module: str) -> LayerSpec:
    return LayerSpec(
        key=f"{module}.Scale",
        class_name="Scale",
        module=module,
        category="custom",
        source="user",
        file=str(path),
        params=(P("stddev", "float", default=0.5),),
        call_convention="single",
    )


@pytest.fixture(scope="module")
def tutorial_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    folder = tmp_path_factory.mktemp("tutorial_layers")
    path = folder / f"{TUTORIAL_MODULE}.py"
    path.write_text(TUTORIAL_SOURCE, encoding="utf-8")
    sys.path.insert(0, str(folder))
    yield build_test_catalog().merged([spec_of(path, TUTORIAL_MODULE)])
    sys.path.remove(str(folder))


def scaled_graph(catalog: Catalog, type_key: str = f"{TUTORIAL_MODULE}.Scale") -> GraphBuilder:
    b = GraphBuilder("tutorial", catalog)
    x = b.input("features", [4])
    x = b.add(type_key, "scale", [x], stddev=0.1)
    b.output(b.add("Dense", "head", [x], units=2))
    return b


@pytest.mark.parametrize("style", ["functional", "subclassed", "sequential"])
def test_tutorial_imports_get_names_of_their_own(tutorial_catalog: Catalog, style: str) -> None:
    graph = scaled_graph(tutorial_catalog).graph
    source = generate_model(graph, tutorial_catalog, style, self_contained=True)
    assert lint(source) == ""  # no F811: nothing rebinds keras or layers
    assert source.count("import keras\n") == 1 and "from keras import layers\n" in source
    assert "from tensorflow import keras as tensorflow_keras\n" in source
    assert "from tensorflow.keras import layers as tensorflow_keras_layers\n" in source
    assert "class Scale(tensorflow_keras_layers.Layer):" in source
    assert "tensorflow_keras.initializers.RandomNormal(" in source
    assert "return tf.multiply(inputs, self.scale)" in source  # names that clash with nothing stay


@pytest.mark.parametrize("style", ["functional", "subclassed"])
def test_the_inlined_tutorial_layer_runs_as_the_imported_one(
    tutorial_catalog: Catalog, style: str, tmp_path: Path
) -> None:
    graph = scaled_graph(tutorial_catalog).graph
    models = [
        import_module_from_source(
            generate_model(graph, tutorial_catalog, style, self_contained=inlined),
            tmp_path,
            f"tutorial_{style}_{inlined}",
        ).build_model()
        for inlined in (False, True)
    ]
    imported, inlined = models
    assert inlined.count_params() == imported.count_params() == 4 + 10
    inlined.set_weights(imported.get_weights())
    features = np.random.default_rng(3).standard_normal((5, 4)).astype("float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(inlined(features)), keras.ops.convert_to_numpy(imported(features))
    )


def test_a_file_that_also_binds_the_renamed_name_inside_is_refused(tmp_path: Path) -> None:
    source = TUTORIAL_SOURCE.replace("def call(self, inputs):", "def call(self, inputs, keras=None):")
    path = tmp_path / "rebinding_layers.py"
    path.write_text(source, encoding="utf-8")
    catalog = build_test_catalog().merged([spec_of(path, "rebinding_layers")])
    graph = scaled_graph(catalog, "rebinding_layers.Scale").graph
    refused = r"Cannot inline Scale from .*: it binds keras inside its code too"
    with pytest.raises(CodegenError, match=refused):
        generate_model(graph, catalog, "functional", self_contained=True)
