"""Helpers of the training tests: example projects (no Keras needed to read them) and graph
builders. (A module of its own: `from conftest import` finds whichever conftest came first.)"""

from __future__ import annotations

from pathlib import Path

from designer.graph import project
from designer.graph.model import INPUT_PORTS, MERGE_PORTS, Edge, ModelGraph, Node, PortLayout

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
ADD_LOSS_KEY = "layers.ActivityRegularizationLoss"


def ports_of(type_key: str) -> PortLayout:
    """Ports good enough to read the examples without the Keras catalog."""
    return MERGE_PORTS if type_key in ("Add", "Concatenate") else PortLayout()


def load_example(name: str) -> project.Project:
    return project.load(EXAMPLES / f"{name}.json", ports_of)


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
