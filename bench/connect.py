"""Benchmark: one connection on the canvas of a 300-node design.

Times `CanvasEditor.connect_edge` (check on the model, then the undo commands) for
two gestures: a link into an occupied input, which replaces its edge, and a
link that would make a cycle, which is refused. The baseline, measured in the
same run on the same design, is the way connect worked before it checked
without a copy: the whole graph copied to try the edge, and copied again by
the reconnect command. Prints the medians and new / old as a ratio (below 1 is
faster). Keras-free and offscreen; `python bench/connect.py [--nodes 300]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtWidgets import QApplication

from bench.graphs import middle_node, residual_cnn
from designer.catalog.spec import Catalog, LayerSpec
from designer.graph.errors import GraphError
from designer.graph.model import MERGE_PORTS, Edge
from designer.ui import commands
from designer.ui.canvas.editor import CanvasEditor
from designer.ui.document import Document


def catalog() -> Catalog:
    names = ("Conv2D", "BatchNormalization", "ReLU", "GlobalAveragePooling2D", "Dense")
    specs = [LayerSpec(name, name, "keras.layers", "bench") for name in names]
    specs.append(
        LayerSpec("Add", "Add", "keras.layers", "merging", ports=MERGE_PORTS, call_convention="list")
    )
    return Catalog(specs)


def copying_connect(editor: CanvasEditor, edge: Edge) -> bool:
    """`CanvasEditor.connect_edge` as it was: the edge tried on a copy of the graph, and the
    reconnect checked on a second copy."""
    graph = editor.graph
    probe = graph.copy()
    try:
        existing = probe.edge_into(edge.target, edge.target_port)
        if existing is not None:
            probe.disconnect(existing)
        probe.check_connect(edge)
    except GraphError:
        return False
    stack = editor.document.undo_stack
    with commands.marking_sole_sink(stack, graph, f"Connect {edge.source} to {edge.target}"):
        existing = graph.edge_into(edge.target, edge.target_port)
        if existing is None:
            graph.check_connect(edge)
            stack.push(commands.Connect(graph, edge))
            return True
        second = graph.copy()
        second.disconnect(existing)
        second.check_connect(edge)
        with commands.macro(stack, f"Reconnect {edge.target}"):
            stack.push(commands.Disconnect(graph, existing))
            stack.push(commands.Connect(graph, edge))
    return True


def median_gesture(
    editor: CanvasEditor, connect: Callable[[CanvasEditor, Edge], bool], edge: Edge, repeat: int
) -> float:
    """The median seconds one connect takes; an accepted one is undone after each, untimed."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        accepted = connect(editor, edge)
        times.append(time.perf_counter() - start)
        if accepted:
            editor.document.undo_stack.undo()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=200)
    arguments = parser.parse_args()
    _application = QApplication.instance() or QApplication([])
    graph = residual_cnn(catalog(), arguments.nodes)
    editor = CanvasEditor(Document(catalog(), graph))
    merge = middle_node(graph, "Add")
    feeder = graph.edge_into(merge, 0)
    assert feeder is not None
    early = graph.topological_order()[2]
    gestures = {
        "reconnect an occupied input": Edge(early, 0, merge, 0),
        "refuse a cycle": Edge(merge, 0, graph.topological_order()[1], 0),
    }
    print(f"CanvasEditor.connect_edge on a {len(graph)}-node design, median of {arguments.repeat}:")
    for label, edge in gestures.items():
        new = median_gesture(editor, CanvasEditor.connect_edge, edge, arguments.repeat)
        old = median_gesture(editor, copying_connect, edge, arguments.repeat)
        print(
            f"  {label:30s} {new * 1e3:7.3f} ms, copying the graph {old * 1e3:7.3f} ms: ratio {new / old:.2f}"
        )


if __name__ == "__main__":
    main()
