"""Fixtures of the training tests: example projects (no Keras needed to read them), the Keras
catalog with the library's add_loss layer, and graph builders."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from designer.catalog.spec import Catalog
from designer.graph import project
from designer.graph.model import INPUT_PORTS, MERGE_PORTS, Edge, ModelGraph, Node, PortLayout

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
ADD_LOSS_KEY = "layers.ActivityRegularizationLoss"


def ports_of(type_key: str) -> PortLayout:
    """Ports good enough to read the examples without the Keras catalog."""
    return MERGE_PORTS if type_key in ("Add", "Concatenate") else PortLayout()


def load_example(name: str) -> project.Project:
    return project.load(EXAMPLES / f"{name}.json", ports_of)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """Keras' layers plus ActivityRegularizationLoss from layers/ (it calls add_loss)."""
    from designer.catalog.keras_layers import spec_from_class
    from designer.engine.analysis import default_catalog
    from layers import activity_regularization

    spec = spec_from_class(
        activity_regularization.ActivityRegularizationLoss,
        key=ADD_LOSS_KEY,
        module="layers.activity_regularization",
        category="library",
        source="library",
    )
    return default_catalog().merged([dataclasses.replace(spec, file=activity_regularization.__file__)])


def chain(name: str, *layers: tuple[str, str, dict], output: str | None = None) -> ModelGraph:
    """A graph of layers one after the other: (type, name, params) each; the last is the output."""
    graph = ModelGraph(name)
    previous = None
    for index, (type_key, node_name, params) in enumerate(layers, start=1):
        ports = INPUT_PORTS if type_key == "Input" else PortLayout()
        graph.add_node(Node(f"n{index}", type_key, node_name, dict(params), ports=ports))
        if previous is not None:
            graph.connect(Edge(previous, 0, f"n{index}", 0))
        previous = f"n{index}"
    assert previous is not None
    graph.mark_output(previous, 0, output or layers[-1][1])
    return graph
