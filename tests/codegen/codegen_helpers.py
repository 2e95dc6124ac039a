"""Shared by the codegen tests: a small hand-written catalog (Keras defaults as in
Keras 3.15), graph builders, and helpers that load generated modules."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import keras

from designer.catalog.spec import Catalog, LayerSpec, ParamSpec
from designer.graph.model import MERGE_PORTS, Edge, ModelGraph, Node, PortLayout

P = ParamSpec
ACTIVATION = P("activation", "choice", default=None, nullable=True, editable=True)


def keras_spec(
    class_name: str, params: tuple[ParamSpec, ...] = (), ports: PortLayout | None = None, **kw: Any
) -> LayerSpec:
    ports = ports or PortLayout()
    if "call_convention" not in kw:
        kw["call_convention"] = (
            "list" if ports.variadic else "positional" if len(ports.inputs) > 1 else "single"
        )
    return LayerSpec(
        key=class_name,
        class_name=class_name,
        module="keras.layers",
        category="test",
        params=params,
        ports=ports,
        **kw,
    )


def build_test_catalog() -> Catalog:
    return Catalog(
        [
            keras_spec(
                "Dense",
                (
                    P("units", "int", required=True, suggested=8),
                    ACTIVATION,
                    P("use_bias", "bool", default=True),
                    P("kernel_initializer", "choice", default="glorot_uniform"),
                ),
            ),
            keras_spec(
                "Dropout",
                (
                    P("rate", "float", required=True, suggested=0.5),
                    P("noise_shape", "shape", default=None, nullable=True),
                    P("seed", "int", default=None, nullable=True),
                ),
                call_training=True,
            ),
            keras_spec(
                "BatchNormalization",
                (
                    P("axis", "int", default=-1),
                    P("momentum", "float", default=0.99),
                    P("epsilon", "float", default=0.001),
                ),
                call_training=True,
            ),
            keras_spec("Flatten", (P("data_format", "choice", default=None, nullable=True),)),
            keras_spec(
                "Conv2D",
                (
                    P("filters", "int", required=True, suggested=8),
                    P("kernel_size", "tuple", required=True, suggested=[3, 3], length=2),
                    P("strides", "tuple", default=[1, 1], length=2),
                    P("padding", "choice", default="valid", choices=("valid", "same")),
                    ACTIVATION,
                ),
            ),
            keras_spec(
                "MaxPooling2D",
                (
                    P("pool_size", "tuple", default=[2, 2], length=2),
                    P("strides", "tuple", default=None, nullable=True, length=2),
                    P("padding", "choice", default="valid"),
                ),
            ),
            keras_spec("Add", (), MERGE_PORTS),
            keras_spec("Concatenate", (P("axis", "int", default=-1),), MERGE_PORTS),
            keras_spec(
                "MultiHeadAttention",
                (
                    P("num_heads", "int", required=True, suggested=2),
                    P("key_dim", "int", required=True, suggested=4),
                    P("dropout", "float", default=0.0),
                ),
                PortLayout(inputs=("query", "value", "key")),
                call_training=True,
            ),
            keras_spec("LayerNormalization", (P("epsilon", "float", default=0.001),)),
            keras_spec("Reshape", (P("target_shape", "shape", required=True, suggested=[8]),)),
            keras_spec(
                "Embedding",
                (
                    P("input_dim", "int", required=True, suggested=100),
                    P("output_dim", "int", required=True, suggested=8),
                    P("mask_zero", "bool", default=False),
                ),
            ),
            keras_spec(
                "LSTM",
                (
                    P("units", "int", required=True, suggested=8),
                    P("return_sequences", "bool", default=False),
                ),
                call_training=True,
            ),
            keras_spec(
                "Bidirectional",
                (
                    P("layer", "layer", required=True),
                    P("merge_mode", "choice", default="concat"),
                ),
                call_training=True,
            ),
            keras_spec("GlobalAveragePooling1D"),
            keras_spec("Activation", (P("activation", "choice", required=True, suggested="relu"),)),
        ],
        version="test",
    )


CUSTOM_LAYERS_SOURCE = textwrap.dedent(
    '''
    """Custom layers used by the codegen tests (imported or inlined by generated code)."""

    import keras
    from keras import ops

    PACKAGE = "codegen_tests"
    DEFAULT_FACTOR = 2.0


    def _halves(size):
        return size // 2, size - size // 2


    @keras.saving.register_keras_serializable(package=PACKAGE)
    class Scale(keras.layers.Layer):
        """Multiplies its input by a constant factor."""

        def __init__(self, factor=DEFAULT_FACTOR, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs):
            return inputs * self.factor

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}


    @keras.saving.register_keras_serializable(package=PACKAGE)
    class Split(keras.layers.Layer):
        """Splits the last axis in two: two outputs."""

        def call(self, inputs):
            first, _ = _halves(inputs.shape[-1])
            return inputs[..., :first], inputs[..., first:]

        def compute_output_shape(self, input_shape):
            first, second = _halves(input_shape[-1])
            return (*input_shape[:-1], first), (*input_shape[:-1], second)
    '''
).lstrip()

CUSTOM_MODULE = "codegen_custom_layers"


def write_custom_layers(folder: Path) -> Path:
    path = folder / f"{CUSTOM_MODULE}.py"
    path.write_text(CUSTOM_LAYERS_SOURCE, encoding="utf-8")
    return path


def custom_specs(path: Path) -> list[LayerSpec]:
    common = {
        "module": CUSTOM_MODULE,
        "category": "custom",
        "source": "user",
        "file": str(path),
        "call_convention": "single",
    }
    return [
        LayerSpec(
            key=f"{CUSTOM_MODULE}.Scale",
            class_name="Scale",
            params=(P("factor", "float", default=2.0),),
            **common,
        ),
        LayerSpec(
            key=f"{CUSTOM_MODULE}.Split",
            class_name="Split",
            ports=PortLayout(outputs=("first", "second")),
            **common,
        ),
    ]


class GraphBuilder:
    """Builds ModelGraphs tersely: `b.add("Dense", "dense", [source], units=8)`."""

    def __init__(self, name: str, catalog: Catalog) -> None:
        self.graph = ModelGraph(name)
        self.catalog = catalog
        self._ids = itertools.count(1)

    def input(self, name: str, shape: list[Any], dtype: str = "float32") -> str:
        node = Node(
            f"n{next(self._ids)}",
            "Input",
            name,
            {"shape": shape, "dtype": dtype},
            ports=PortLayout(inputs=()),
        )
        return self.graph.add_node(node).id

    def add(
        self,
        type_: str,
        name: str,
        sources: list[str | tuple[str, int]],
        shares: str | None = None,
        **params: Any,
    ) -> str:
        spec = self.catalog[type_]
        node = Node(
            f"n{next(self._ids)}",
            type_,
            name,
            {} if shares else params,
            ports=spec.ports.for_params(params),
            shares=shares,
        )
        self.graph.add_node(node)
        for port, source in enumerate(sources):
            source_id, source_port = source if isinstance(source, tuple) else (source, 0)
            self.graph.connect(Edge(source_id, source_port, node.id, port))
        return node.id

    def output(self, node_id: str, name: str | None = None, port: int = 0) -> None:
        self.graph.mark_output(node_id, port, name)


def import_module_from_source(source: str, folder: Path, module_name: str) -> ModuleType:
    """Write `source` as folder/module_name.py and import it under that name."""
    path = folder / f"{module_name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ graph zoo
def chain_graph(catalog: Catalog) -> ModelGraph:
    """A small convnet: a single chain (Sequential-able) with Dropout and BatchNormalization."""
    b = GraphBuilder("digits_cnn", catalog)
    x = b.input("image", [8, 8, 1])
    x = b.add("Conv2D", "conv", [x], filters=4, kernel_size=[3, 3], activation="relu", padding="same")
    x = b.add("MaxPooling2D", "pool", [x], pool_size=[2, 2])
    x = b.add("Flatten", "flatten", [x])
    x = b.add("Dense", "hidden", [x], units=16, activation="relu")
    x = b.add("Dropout", "dropout", [x], rate=0.3)
    x = b.add("BatchNormalization", "norm", [x], momentum=0.9)
    x = b.add("Dense", "label", [x], units=10, activation="softmax")
    b.output(x)
    return b.graph


def branch_graph(catalog: Catalog) -> ModelGraph:
    """Branches and merges: two Dense branches added, then concatenated with the input."""
    b = GraphBuilder("branches", catalog)
    x = b.input("features", [12])
    left = b.add("Dense", "left", [x], units=12, activation="tanh")
    right = b.add("Dense", "right", [x], units=12, use_bias=False)
    added = b.add("Add", "sum_branches", [left, right])
    joined = b.add("Concatenate", "joined", [added, x])
    out = b.add("Dense", "score", [joined], units=1)
    b.output(out)
    return b.graph


def multi_io_graph(catalog: Catalog) -> ModelGraph:
    """Two inputs, two outputs (dicts keyed by name), Dropout and BatchNormalization."""
    b = GraphBuilder("two_heads", catalog)
    image = b.input("image", [8, 8, 1])
    meta = b.input("meta", [4])
    x = b.add("Flatten", "flatten", [image])
    m = b.add("Dense", "meta_dense", [meta], units=8, activation="relu")
    x = b.add("Concatenate", "merged", [x, m])
    x = b.add("Dense", "trunk", [x], units=16, activation="relu")
    x = b.add("BatchNormalization", "trunk_norm", [x])
    x = b.add("Dropout", "trunk_dropout", [x], rate=0.25)
    label = b.add("Dense", "label_head", [x], units=3, activation="softmax")
    score = b.add("Dense", "score_head", [x], units=1)
    b.output(label, "label")
    b.output(score, "score")
    return b.graph


def shared_graph(catalog: Catalog) -> ModelGraph:
    """A siamese pair: one Dense layer called on two inputs, then a head."""
    b = GraphBuilder("siamese", catalog)
    left = b.input("left", [6])
    right = b.input("right", [6])
    encoder = b.add("Dense", "encoder", [left], units=5, activation="relu")
    encoder_right = b.add("Dense", "encoder_right", [right], shares=encoder)
    joined = b.add("Concatenate", "pair", [encoder, encoder_right])
    out = b.add("Dense", "same", [joined], units=1, activation="sigmoid")
    b.output(out)
    return b.graph


def clash_graph(catalog: Catalog) -> ModelGraph:
    """Node names that clash with builtins, generated code's names and keras.Model attributes."""
    b = GraphBuilder("clashes", catalog)
    x = b.input("input", [6])
    x = b.add("Dense", "list", [x], units=4)
    x = b.add("Dense", "keras", [x], units=4)
    x = b.add("Dense", "layers", [x], units=4)
    x = b.add("Dense", "model", [x], units=4)
    x = b.add("Dense", "name", [x], units=4)
    x = b.add("Dense", "list_", [x], units=4)
    x = b.add("Dense", "dense", [x], units=2)
    b.output(x, "outputs")
    return b.graph


def attention_graph(catalog: Catalog) -> ModelGraph:
    """MultiHeadAttention (positional query, value) on a token sequence, with a residual."""
    b = GraphBuilder("attention", catalog)
    tokens = b.input("tokens", [10], dtype="int32")
    embedded = b.add("Embedding", "embedding", [tokens], input_dim=20, output_dim=8)
    attended = b.add("MultiHeadAttention", "self_attention", [embedded, embedded], num_heads=2, key_dim=4)
    added = b.add("Add", "residual", [embedded, attended])
    normed = b.add("LayerNormalization", "layer_norm", [added], epsilon=1e-6)
    pooled = b.add("GlobalAveragePooling1D", "pool", [normed])
    out = b.add("Dense", "label", [pooled], units=2, activation="softmax")
    b.output(out)
    return b.graph


def custom_graph(catalog: Catalog) -> ModelGraph:
    """Custom layers: Scale, and Split with two outputs, both marked as model outputs."""
    b = GraphBuilder("custom", catalog)
    x = b.input("features", [6])
    scaled = b.add(f"{CUSTOM_MODULE}.Scale", "scale", [x], factor=0.5)
    split = b.add(f"{CUSTOM_MODULE}.Split", "split", [scaled])
    first = b.add("Dense", "first_head", [(split, 0)], units=2)
    b.output(first, "first")
    b.output(split, "second", port=1)
    return b.graph


GRAPHS = {
    "chain": chain_graph,
    "branch": branch_graph,
    "multi_io": multi_io_graph,
    "shared": shared_graph,
    "clash": clash_graph,
    "attention": attention_graph,
}


def layer_at(model: keras.Model, path: str) -> keras.layers.Layer:
    """The layer at "block/inner" (or a top-level "name") of a model with blocks."""
    outer, _, inner = path.partition("/")
    layer = model.get_layer(outer)
    if not inner:
        return layer
    return next(
        sub for sub in layer._flatten_layers(include_self=False, recursive=False) if sub.name == inner
    )


def copy_flat_weights(flat: keras.Model, target: keras.Model, paths: dict[str, str]) -> None:
    """Copy the engine's flat model's weights into a model with blocks, by inner layer name."""
    for layer in flat.layers:
        if layer.weights:
            layer_at(target, paths.get(layer.name, layer.name)).set_weights(layer.get_weights())
