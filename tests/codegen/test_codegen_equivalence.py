"""The generated functional and subclassed code build the model the engine infers and builds.

For every example and for a few hundred random valid graphs (chains, branches,
merges, several inputs and outputs, shared layers, Dropout, BatchNormalization):
both generated models execute, have the shapes and the trainable / non-trainable
parameter counts that shape inference reported, and, with the weights copied by
layer name, give the same outputs as each other and as engine/build.py's model.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from codegen_helpers import copy_flat_weights
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designer.catalog.spec import Catalog
from designer.codegen import generate_functional, generate_subclassed
from designer.codegen.blocks import layer_paths
from designer.engine.analysis import analyze, default_catalog, load_project
from designer.engine.build import build_model
from designer.graph.model import Edge, ModelGraph, Node

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.json"))
_serial = itertools.count()


def _run_generated(source: str, name: str) -> keras.Model:
    namespace: dict[str, Any] = {"__name__": f"generated_{name}"}
    exec(compile(source, name, "exec"), namespace)
    return namespace["build_model"]()


def _generated_models(graph: ModelGraph, catalog: Catalog) -> tuple[keras.Model, keras.Model]:
    """Functional and subclassed models from generated code; the class renamed so that
    Keras' registry of serializable classes sees a new class each time."""
    serial = next(_serial)
    functional = _run_generated(generate_functional(graph, catalog, format_code=False), f"functional{serial}")
    source = generate_subclassed(graph, catalog, format_code=False)
    class_name = source.split("class ", 1)[1].split("(", 1)[0]
    subclassed = _run_generated(source.replace(class_name, f"{class_name}{serial}"), f"subclassed{serial}")
    return functional, subclassed


def _counts(model: keras.Model) -> tuple[int, int]:
    trainable = sum(math.prod(v.shape) for v in model.trainable_weights)
    return trainable, sum(math.prod(v.shape) for v in model.non_trainable_weights)


def _copy_weights_by_name(source: keras.Model, target: keras.Model, paths: dict[str, str]) -> None:
    """Layer by layer, by name; a layer inside a block is found at "block/layer"."""
    copy_flat_weights(source, target, paths)


def _random_inputs(graph: ModelGraph, seed: int) -> dict[str, np.ndarray]:
    generator = np.random.default_rng(seed)
    return {
        n.name: generator.normal(size=(3, *n.params["shape"])).astype("float32") for n in graph.input_nodes()
    }


def _as_dict(graph: ModelGraph, outputs: Any) -> dict[str, np.ndarray]:
    if isinstance(outputs, dict):
        return {k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}
    [only] = graph.outputs
    return {only.name: keras.ops.convert_to_numpy(outputs)}


def _call(graph: ModelGraph, model: keras.Model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    argument = inputs if len(inputs) > 1 else next(iter(inputs.values()))
    return _as_dict(graph, model(argument, training=False))


def check_equivalence(graph: ModelGraph, catalog: Catalog, seed: int = 0) -> None:
    analysis = analyze(graph, catalog)
    assert analysis.errors == [], analysis.errors
    functional, subclassed = _generated_models(graph, catalog)
    built = build_model(graph, catalog)
    for model in (functional, subclassed, built):
        assert _counts(model) == analysis.totals()
    paths = layer_paths(graph, catalog)
    _copy_weights_by_name(built, functional, paths)
    _copy_weights_by_name(built, subclassed, paths)
    inputs = _random_inputs(graph, seed)
    expected = _call(graph, built, inputs)
    for model in (functional, subclassed):
        outputs = _call(graph, model, inputs)
        assert outputs.keys() == expected.keys()
        for output in graph.outputs:
            inferred = analysis.results[output.node].outputs[output.port].shape
            assert outputs[output.name].shape[1:] == inferred[1:]
            np.testing.assert_allclose(outputs[output.name], expected[output.name], atol=1e-5, rtol=0)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_generates_equivalent_models(path: Path) -> None:
    catalog = default_catalog()
    check_equivalence(load_project(path, catalog).graph, catalog)


# ----------------------------------------------------------------- random graphs
class _RandomGraph:
    """Builds a valid graph from hypothesis' choices, tracking each tensor's width."""

    def __init__(self, catalog: Catalog, draw: Any) -> None:
        self.catalog, self.draw = catalog, draw
        self.graph = ModelGraph("random")
        self.width: dict[str, int] = {}
        self.consumed: set[str] = set()

    def node(self, type_key: str, sources: list[str], **params: Any) -> str:
        spec = self.catalog[type_key]
        name = self.graph.unique_name(type_key)
        node = self.graph.add_node(Node(self.graph.new_id(), type_key, name, params, ports=spec.ports))
        for port, source in enumerate(sources):
            self.graph.connect(Edge(source, 0, node.id, port))
            self.consumed.add(source)
        return node.id

    def pick(self) -> str:
        return self.draw(st.sampled_from(sorted(self.width)))

    def step(self) -> None:
        kind = self.draw(
            st.sampled_from(["dense", "dense", "dropout", "batchnorm", "concat", "add", "share"])
        )
        getattr(self, f"_{kind}")()

    def _dense(self) -> None:
        units = self.draw(st.integers(2, 6))
        activation = self.draw(st.sampled_from([None, "relu", "tanh"]))
        params = {"units": units} | ({"activation": activation} if activation else {})
        self.width[self.node("Dense", [self.pick()], **params)] = units

    def _dropout(self) -> None:
        source = self.pick()
        self.width[self.node("Dropout", [source], rate=0.3)] = self.width[source]

    def _batchnorm(self) -> None:
        source = self.pick()
        self.width[self.node("BatchNormalization", [source])] = self.width[source]

    def _concat(self) -> None:
        first, second = self.pick(), self.pick()
        if first != second:
            self.width[self.node("Concatenate", [first, second])] = self.width[first] + self.width[second]

    def _add(self) -> None:
        first = self.pick()
        partners = sorted(t for t, w in self.width.items() if w == self.width[first] and t != first)
        if partners:
            self.width[self.node("Add", [first, self.draw(st.sampled_from(partners))])] = self.width[first]

    def _share(self) -> None:
        owners = [n for n in self.graph if n.type == "Dense" and n.shares is None]
        if not owners:
            return
        owner = self.draw(st.sampled_from(owners))
        feeding = self.width[self.graph.input_edges(owner.id)[0].source]
        sources = sorted(t for t, w in self.width.items() if w == feeding)
        sharer = self.node("Dense", [self.draw(st.sampled_from(sources))])
        self.graph.set_shares(sharer, owner.id)
        self.width[sharer] = owner.params["units"]

    def finish(self) -> ModelGraph:
        """Every tensor nobody consumed feeds a model output (one or two of them)."""
        leaves = [t for t in self.width if t not in self.consumed]
        groups = [leaves] if len(leaves) < 2 or not self.draw(st.booleans()) else [leaves[:1], leaves[1:]]
        for index, group in enumerate(groups):
            tensor = group[0] if len(group) == 1 else self.node("Concatenate", group)
            self.graph.mark_output(tensor, 0, f"out_{index}")
        return self.graph


@st.composite
def random_graphs(draw: Any) -> ModelGraph:
    builder = _RandomGraph(default_catalog(), draw)
    for index in range(draw(st.integers(1, 2))):
        width = draw(st.integers(2, 5))
        builder.width[builder.node("Input", [], shape=[width])] = width
        builder.graph.rename(list(builder.graph.nodes)[-1], f"input_{index}")
    for _ in range(draw(st.integers(1, 7))):
        builder.step()
    return builder.finish()


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(graph=random_graphs(), seed=st.integers(0, 2**16))
def test_random_graphs_generate_equivalent_models(graph: ModelGraph, seed: int) -> None:
    keras.backend.clear_session()
    check_equivalence(graph, default_catalog(), seed)
